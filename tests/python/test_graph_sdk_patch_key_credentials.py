"""An oracle for the repair: Microsoft's Graph Python SDK PATCHes an application's keyCredentials against the
emulator the way its own docs do it (existing keys sent back by keyId without their bytes, the new one with its
public certificate), and the emulator keeps what the service keeps."""

import asyncio
import base64
import time
import uuid

import httpx
import pytest


def graph_for(emu, token):
    from azure.core.credentials import AccessToken
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph_core import GraphClientFactory

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
    return GraphServiceClient(request_adapter=adapter)


def token_of(emu, app):
    return emu.post("/_emulator/tokens", {"appId": app["appId"]})["access_token"]


def patch(emu, token, object_id, credentials):
    """One PATCH with its own client: an httpx.AsyncClient belongs to the event loop it was first used on."""
    from msgraph.generated.models.application import Application

    async def go():
        graph = graph_for(emu, token)
        return await graph.applications.by_application_id(object_id).patch(Application(key_credentials=credentials))

    return asyncio.run(go())


def test_graph_sdk_patch_keeps_existing_keys_sent_back_by_key_id(keyroll_emulator, make_cert):
    from msgraph.generated.models.key_credential import KeyCredential

    emu = keyroll_emulator
    expired = make_cert(days_ago=40, days=30)
    app = emu.create_app(expired.der)
    admin = emu.create_app(make_cert().der, roles=["Application.ReadWrite.All"])
    token = token_of(emu, admin)
    before = emu.keys(app["id"])
    assert len(before) == 1
    old = before[0]
    new = make_cert(days_ago=0, days=10)

    patch(
        emu,
        token,
        app["id"],
        [
            # The existing key, by keyId, without its bytes: kept as it is.
            KeyCredential(key_id=uuid.UUID(old["keyId"]), type=old["type"], usage=old["usage"]),
            KeyCredential(type="AsymmetricX509Cert", usage="Verify", key=new.der, display_name="repaired"),
        ],
    )

    after = emu.keys(app["id"])
    assert len(after) == 2
    kept = next(k for k in after if k["keyId"] == old["keyId"])
    assert kept["key"] == old["key"], "the existing key's bytes are kept"
    added = next(k for k in after if k["keyId"] != old["keyId"])
    assert base64.b64decode(added["key"]) == new.der
    assert added["displayName"] == "repaired"


def test_graph_sdk_patch_refusals_match_the_service(keyroll_emulator, make_cert):
    from msgraph.generated.models.key_credential import KeyCredential
    from kiota_abstractions.api_error import APIError

    emu = keyroll_emulator
    cert = make_cert()
    app = emu.create_app(cert.der)
    admin = emu.create_app(make_cert().der, roles=["Application.ReadWrite.All"])
    token = token_of(emu, admin)

    # A key the object does not have, without bytes: "KeyValue cannot be null or empty".
    with pytest.raises(APIError) as e:
        patch(emu, token, app["id"], [KeyCredential(key_id=uuid.uuid4(), type="AsymmetricX509Cert", usage="Verify")])
    assert e.value.response_status_code == 400
    assert e.value.error.code == "KeyCredentialsInvalidValue"

    # Private key material in key is refused as addKey refuses it.
    from cryptography.hazmat.primitives import serialization

    pkcs8 = cert.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(APIError) as e:
        patch(emu, token, app["id"], [KeyCredential(type="AsymmetricX509Cert", usage="Verify", key=pkcs8)])
    assert e.value.response_status_code == 400
    assert e.value.error.code == "KeyCredentialsInvalidValue"

    # The application itself, without a write permission: 403, whatever addKey allows it.
    own = token_of(emu, app)
    with pytest.raises(APIError) as e:
        patch(emu, own, app["id"], [KeyCredential(type="AsymmetricX509Cert", usage="Verify", key=make_cert().der)])
    assert e.value.response_status_code == 403
    assert e.value.error.code == "Authorization_RequestDenied"
    assert len(emu.keys(app["id"])) == 1
