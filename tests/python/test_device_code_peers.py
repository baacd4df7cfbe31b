"""Microsoft's own clients as the oracle of delegated sign-in: MSAL Python's device flow
(initiate_device_flow / acquire_token_by_device_flow, then acquire_token_by_refresh_token and
acquire_token_silent) against the emulator, and the token keyroll's CLI keeps in its cache accepted by the Graph
Python SDK."""

import asyncio
import json
import os
import stat
import subprocess
import threading
import time

import httpx
import msal

from conftest import ROOT

GRAPH_SCOPE = "https://graph.microsoft.com/Application.ReadWrite.All"
ADMIN = {"userPrincipalName": "ada@contoso.example", "directoryRoles": ["Application Administrator"]}


def approve_when_shown(emu, decision):
    """Plays the user at the browser: waits for a pending code, then decides it; returns the thread."""

    def run():
        deadline = time.time() + 30
        while time.time() < deadline:
            pending = [c for c in emu.get("/_emulator/devicecodes")["value"] if c["status"] == "pending"]
            if pending:
                emu.post(f"/_emulator/devicecodes/{pending[0]['userCode']}", decision)
                return
            time.sleep(0.05)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_msal_device_flow_then_refresh_and_silent(keyroll_emulator, make_cert, monkeypatch):
    emu = keyroll_emulator
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_cert)
    emu._call("PUT", "/_emulator/devicecode-settings", {"intervalSecs": 1})
    cert = make_cert()
    app = emu.create_app(cert.der)
    client = msal.PublicClientApplication(
        "14d82eec-204b-4c2f-b7e8-296a70dab67e",
        authority=f"{emu.login_url}/{emu.tenant_id}",
        instance_discovery=False,
    )
    flow = client.initiate_device_flow(scopes=[GRAPH_SCOPE])
    assert flow.get("user_code"), flow
    assert flow["user_code"] in flow["message"] and flow["verification_uri"] in flow["message"]
    assert flow["interval"] == 1 and flow["expires_in"] == 900
    t = approve_when_shown(emu, {"action": "approve", "grantedScopes": ["Application.ReadWrite.All"], "user": ADMIN})
    result = client.acquire_token_by_device_flow(flow)
    t.join()
    assert "access_token" in result, result
    assert "refresh_token" in result and "id_token_claims" in result, sorted(result)
    assert result["id_token_claims"]["preferred_username"] == "ada@contoso.example"
    assert "Application.ReadWrite.All" in result["scope"]

    # The user's token reads the application's keys from Graph.
    r = httpx.get(
        f"{emu.graph_url}/v1.0/applications/{app['id']}?$select=keyCredentials",
        headers={"Authorization": f"Bearer {result['access_token']}"},
        verify=emu.ca_cert,
    )
    assert r.status_code == 200, r.text

    # Refresh: a new access token and a new refresh token; the old one is spent.
    again = client.acquire_token_by_refresh_token(result["refresh_token"], scopes=[GRAPH_SCOPE])
    assert "access_token" in again, again
    assert again["refresh_token"] != result["refresh_token"]
    spent = client.acquire_token_by_refresh_token(result["refresh_token"], scopes=[GRAPH_SCOPE])
    assert spent.get("error") == "invalid_grant", spent

    # Silent: MSAL's own cache, keyed by the account from the ID token.
    accounts = client.get_accounts()
    assert [a["username"] for a in accounts] == ["ada@contoso.example"]
    silent = client.acquire_token_silent([GRAPH_SCOPE], account=accounts[0], force_refresh=True)
    assert silent and "access_token" in silent, silent

    # A declined code: MSAL stops with the service's error.
    flow = client.initiate_device_flow(scopes=[GRAPH_SCOPE])
    t = approve_when_shown(emu, {"action": "deny"})
    declined = client.acquire_token_by_device_flow(flow)
    t.join()
    assert declined.get("error") == "authorization_declined", declined


def test_keyroll_cached_token_is_accepted_by_the_graph_sdk(keyroll_emulator, make_cert, tmp_path):
    from azure.core.credentials import AccessToken
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph_core import GraphClientFactory

    emu = keyroll_emulator
    emu._call("PUT", "/_emulator/devicecode-settings", {"intervalSecs": 0})
    cert = make_cert()
    app = emu.create_app(cert.der)
    cache = tmp_path / "cache" / "tokens.json"
    binary = os.environ.get("KEYROLL_BIN", os.path.join(ROOT, "target", "debug", "keyroll"))
    t = approve_when_shown(emu, {"action": "approve", "grantedScopes": ["Application.ReadWrite.All"], "user": ADMIN})
    run = subprocess.run(
        [binary, "auth", "login", "--device-code", "--tenant-id", emu.tenant_id, "--token-cache", str(cache),
         "--graph-url", emu.graph_url, "--login-url", emu.login_url, "--ca-cert", emu.ca_cert],
        capture_output=True, text=True, timeout=60,
    )
    t.join()
    assert run.returncode == 0, run.stderr
    assert "signed in as ada@contoso.example" in run.stdout
    assert "To sign in" in run.stderr and "To sign in" not in run.stdout
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    entry = next(iter(json.loads(cache.read_text())["entries"].values()))
    token = entry["access_token"]
    assert token not in run.stdout + run.stderr and entry["refresh_token"] not in run.stdout + run.stderr

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
    got = asyncio.run(graph.applications.by_application_id(app["id"]).get())
    assert got.id == app["id"]
    assert len(got.key_credentials or []) == 1
