"""Microsoft's own clients against the emulator: MSAL Python gets a token, the Graph Python SDK calls addKey
with a proof minted by PyJWT; and each proof rule broken one at a time is refused."""

import asyncio
import base64
import json
import time
import uuid

import httpx
import jwt
import msal
import pytest

GRAPH_AUD = "00000002-0000-0000-c000-000000000000"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pyjwt_proof(cert, object_id, **overrides):
    now = int(time.time())
    claims = {"aud": GRAPH_AUD, "iss": object_id, "nbf": now, "exp": now + 600, "iat": now}
    claims.update(overrides)
    headers = {"x5t": b64url(cert.sha1), "kid": cert.sha1.hex().upper()}
    return jwt.encode(claims, cert.key_pem, algorithm="RS256", headers=headers)


def msal_token(emu, cert, app, monkeypatch):
    # requests lets REQUESTS_CA_BUNDLE override verify=, so point it at the emulator's CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_cert)
    client = msal.ConfidentialClientApplication(
        app["appId"],
        authority=f"{emu.login_url}/{emu.tenant_id}",
        client_credential={"private_key": cert.key_pem, "thumbprint": cert.sha1.hex()},
        instance_discovery=False,
    )
    result = client.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    return result


def test_msal_token_then_graph_sdk_add_key(keyroll_emulator, make_cert, monkeypatch):
    from azure.core.credentials import AccessToken
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph_core import GraphClientFactory
    from msgraph.generated.applications.item.add_key.add_key_post_request_body import AddKeyPostRequestBody
    from msgraph.generated.models.key_credential import KeyCredential

    emu = keyroll_emulator
    cert = make_cert()
    app = emu.create_app(cert.der)
    result = msal_token(emu, cert, app, monkeypatch)
    assert "access_token" in result, result
    token = result["access_token"]

    class StaticCredential:
        async def get_token(self, *scopes, **kwargs):
            return AccessToken(token, int(time.time()) + 3000)

        async def close(self):
            pass

    new = make_cert(days_ago=0, days=10)
    auth = AzureIdentityAuthenticationProvider(
        StaticCredential(), scopes=["https://graph.microsoft.com/.default"], allowed_hosts=["127.0.0.1"]
    )
    http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(verify=emu.ca_cert))
    adapter = GraphRequestAdapter(auth, http)
    adapter.base_url = f"{emu.graph_url}/v1.0"
    graph = GraphServiceClient(request_adapter=adapter)

    async def add():
        body = AddKeyPostRequestBody(
            key_credential=KeyCredential(type="AsymmetricX509Cert", usage="Verify", key=new.der),
            password_credential=None,
            proof=pyjwt_proof(cert, app["id"]),
        )
        return await graph.applications.by_application_id(app["id"]).add_key.post(body)

    added = asyncio.run(add())
    assert added.key_id is not None
    assert added.custom_key_identifier == new.sha1
    assert len(emu.keys(app["id"])) == 2


BROKEN = [
    ("aud is Graph's app id", {"aud": "00000003-0000-0000-c000-000000000000"}),
    ("iss is the appId", "APPID"),
    ("lifetime over 600 s", {"exp": int(time.time()) + 3600}),
    ("expired", {"nbf": int(time.time()) - 1200, "exp": int(time.time()) - 900}),
    ("not yet valid", {"nbf": int(time.time()) + 900, "exp": int(time.time()) + 1200}),
    ("padding", "PAD"),
    ("signed by an unregistered key", "STRANGER"),
]


@pytest.mark.parametrize("name,change", BROKEN, ids=[b[0] for b in BROKEN])
def test_each_broken_proof_rule_is_refused(keyroll_emulator, make_cert, name, change):
    emu = keyroll_emulator
    cert = make_cert()
    app = emu.create_app(cert.der)
    token = emu.post("/_emulator/tokens", {"appId": app["appId"]})["access_token"]
    if change == "APPID":
        proof = pyjwt_proof(cert, app["appId"])
    elif change == "PAD":
        proof = pyjwt_proof(cert, app["id"]) + "="
    elif change == "STRANGER":
        proof = pyjwt_proof(make_cert(), app["id"])
    else:
        proof = pyjwt_proof(cert, app["id"], **change)
    new = make_cert(days_ago=0, days=10)
    body = {
        "keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.b64encode(new.der).decode()},
        "passwordCredential": None,
        "proof": proof,
    }
    r = httpx.post(
        f"{emu.graph_url}/v1.0/applications/{app['id']}/addKey",
        json=body,
        headers={"Authorization": f"Bearer {token}", "client-request-id": str(uuid.uuid4())},
        verify=emu.ca_cert,
    )
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "Authentication_MissingOrMalformed"
    assert r.headers["x-keyroll-emulator-diagnostic"]
    assert len(emu.keys(app["id"])) == 1


def test_graph_sdk_add_password_then_msal_client_secret(keyroll_emulator, make_cert, monkeypatch):
    """Microsoft's Graph SDK adds and removes a client secret; the secret it got signs in through MSAL's
    client-secret flow, and no longer once removed."""
    from azure.core.credentials import AccessToken
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph_core import GraphClientFactory
    from msgraph.generated.applications.item.add_password.add_password_post_request_body import (
        AddPasswordPostRequestBody,
    )
    from msgraph.generated.applications.item.remove_password.remove_password_post_request_body import (
        RemovePasswordPostRequestBody,
    )
    from msgraph.generated.service_principals.item.add_password.add_password_post_request_body import (
        AddPasswordPostRequestBody as SpAddPasswordPostRequestBody,
    )
    from msgraph.generated.models.password_credential import PasswordCredential

    emu = keyroll_emulator
    admin_cert = make_cert()
    admin = emu.create_app(admin_cert.der, roles=["Application.ReadWrite.All"])
    target = emu.post("/_emulator/applications", {"displayName": "secret target"})
    result = msal_token(emu, admin_cert, admin, monkeypatch)
    assert "access_token" in result, result
    token = result["access_token"]

    class StaticCredential:
        async def get_token(self, *scopes, **kwargs):
            return AccessToken(token, int(time.time()) + 3000)

        async def close(self):
            pass

    auth = AzureIdentityAuthenticationProvider(
        StaticCredential(), scopes=["https://graph.microsoft.com/.default"], allowed_hosts=["127.0.0.1"]
    )
    http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(verify=emu.ca_cert))
    adapter = GraphRequestAdapter(auth, http)
    adapter.base_url = f"{emu.graph_url}/v1.0"
    graph = GraphServiceClient(request_adapter=adapter)

    def secret_sign_in(secret):
        client = msal.ConfidentialClientApplication(
            target["appId"],
            authority=f"{emu.login_url}/{emu.tenant_id}",
            client_credential=secret,
            instance_discovery=False,
        )
        return client.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])

    async def scenario():
        app = graph.applications.by_application_id(target["id"])
        added = await app.add_password.post(
            AddPasswordPostRequestBody(password_credential=PasswordCredential(display_name="sdk"))
        )
        secret = added.secret_text
        assert added.key_id is not None
        assert 16 <= len(secret) <= 64
        assert added.hint == secret[:3]
        assert added.display_name == "sdk"
        listed = emu.get(f"/_emulator/applications/{target['id']}")["passwordCredentials"]
        assert [str(added.key_id)] == [p["keyId"] for p in listed]
        assert secret not in json.dumps(listed)

        signed_in = secret_sign_in(secret)
        assert "access_token" in signed_in, signed_in

        await app.remove_password.post(RemovePasswordPostRequestBody(key_id=added.key_id))
        assert emu.get(f"/_emulator/applications/{target['id']}")["passwordCredentials"] == []
        refused = secret_sign_in(secret)
        assert refused.get("error") == "invalid_client", refused
        assert "7000215" in refused.get("error_description", ""), refused
        assert secret not in json.dumps(refused)

        sp = graph.service_principals.by_service_principal_id(target["servicePrincipalId"])
        sp_added = await sp.add_password.post(
            SpAddPasswordPostRequestBody(password_credential=PasswordCredential(display_name="sp"))
        )
        assert sp_added.secret_text and sp_added.hint == sp_added.secret_text[:3]

    asyncio.run(scenario())
