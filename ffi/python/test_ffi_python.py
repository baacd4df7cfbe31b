"""The generated ctypes binding (ffi/bindings/python/keyroll.py) against the native library and the emulator:
mint a proof and check it with PyJWT (an independent implementation), then addKey over HTTPS.

Run by scripts/test.d/ffi-python.sh, which builds the library, starts the emulator, makes the certificates and
registers the application; settings arrive in KR_* variables."""

import base64
import ctypes
import datetime
import hashlib
import json
import os
import re
import ssl
import sys
import urllib.request

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

if "KR_OBJECT_ID" not in os.environ or "KEYROLL_LIB_DIR" not in os.environ:
    pytest.skip("run through scripts/test.d/ffi-python.sh, which sets up the emulator", allow_module_level=True)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "ffi", "bindings", "python"))
import keyroll as kr  # noqa: E402

kr.init_lib(os.path.join(os.environ["KEYROLL_LIB_DIR"], "libkeyroll.so"))
ENV = os.environ
GRAPH_AUDIENCE = "00000002-0000-0000-c000-000000000000"


def buf(data):
    """A byte input as the binding takes it."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return (ctypes.c_uint8 * len(data)).from_buffer_copy(data)


def call(fn, *args):
    """Calls a binding function that ends with an output; returns (status, text)."""
    out = kr.KeyrollOutput()
    status = kr.KeyrollStatus.Ok
    try:
        fn(*args, ctypes.byref(out))
    except Exception as e:  # the binding raises on any status but Ok; the output is the error object
        status = int(re.search(r"(\d+)$", str(e)).group(1))
    text = ""
    if out.handle:
        dst = (ctypes.c_uint8 * out.len)()
        kr.keyroll_output_take(out.handle, dst)
        text = bytes(dst).decode("utf-8")
    return status, text


@pytest.fixture(scope="module")
def identity():
    handle = ctypes.c_uint64(0)
    with open(ENV["KR_CURRENT_PFX"], "rb") as f:
        status, text = call(kr.keyroll_identity_open, buf(f.read()), buf(ENV["KR_PASSWORD"]), ctypes.byref(handle))
    assert status == kr.KeyrollStatus.Ok, text
    yield handle.value, json.loads(text)
    kr.keyroll_identity_close(handle.value)


def test_mint_is_verified_by_pyjwt(identity):
    handle, described = identity
    object_id = ENV["KR_OBJECT_ID"]
    status, proof = call(kr.keyroll_proof_mint, handle, buf(object_id), 300, buf(""))
    assert status == kr.KeyrollStatus.Ok, proof
    with open(ENV["KR_CURRENT_CER"], "rb") as f:
        der = f.read()
    cert = x509.load_der_x509_certificate(der)
    claims = jwt.decode(proof, cert.public_key(), algorithms=["RS256"], audience=GRAPH_AUDIENCE, issuer=object_id)
    assert claims["exp"] - claims["nbf"] == 300
    header = jwt.get_unverified_header(proof)
    sha1 = hashlib.sha1(der).digest()
    assert header["kid"] == sha1.hex().upper() == described["thumbprint"]
    assert header["x5t"] == base64.urlsafe_b64encode(sha1).rstrip(b"=").decode()
    assert header["typ"] == "JWT"


def test_errors_are_objects(identity):
    handle, _ = identity
    status, text = call(kr.keyroll_proof_mint, handle, buf("not-a-guid"), 0, buf(""))
    assert status == kr.KeyrollStatus.InvalidInput
    error = json.loads(text)
    assert error["kind"] == "input" and error["code"] == "proof" and "object id" in error["message"]


def test_add_key_against_the_emulator(identity):
    handle, _ = identity
    settings = {
        "graphUrl": ENV["KR_GRAPH_URL"],
        "loginUrl": ENV["KR_LOGIN_URL"],
        "caFile": ENV["KR_CA_CERT"],
        "tenantId": ENV["KR_TENANT_ID"],
        "clientId": ENV["KR_APP_ID"],
    }
    connection = ctypes.c_uint64(0)
    status, text = call(kr.keyroll_connect, buf(json.dumps(settings)), handle, ctypes.byref(connection))
    assert status == kr.KeyrollStatus.Ok, text
    try:
        with open(ENV["KR_OTHER_CER"], "rb") as f:
            other = f.read()
        request = {
            "target": {"kind": "application", "objectId": ENV["KR_OBJECT_ID"]},
            "certificate": base64.b64encode(other).decode(),
            "displayName": "added from Python",
        }
        status, text = call(kr.keyroll_key_add, connection.value, buf(json.dumps(request)), handle)
        assert status == kr.KeyrollStatus.Ok, text
        added = json.loads(text)
        assert added["thumbprint"] == hashlib.sha1(other).hexdigest().upper()

        # What the emulator itself holds now, read through its admin API.
        ctx = ssl.create_default_context(cafile=ENV["KR_CA_CERT"])
        url = f"{ENV['KR_GRAPH_URL']}/_emulator/applications/{ENV['KR_OBJECT_ID']}"
        with urllib.request.urlopen(url, context=ctx) as r:
            keys = json.loads(r.read())["keyCredentials"]
        assert {k["keyId"] for k in keys} >= {added["keyId"]}
        assert any(k.get("displayName") == "added from Python" for k in keys)

        # The same certificate again is refused locally, before anything is sent.
        status, text = call(kr.keyroll_key_add, connection.value, buf(json.dumps(request)), handle)
        assert status == kr.KeyrollStatus.Rejected
        assert json.loads(text)["code"] == "already_present"
    finally:
        kr.keyroll_disconnect(connection.value)


def test_bulk_roll_waited_on_to_its_end(identity):
    """One bulk operation (keyroll_bulk_start) waited on (keyroll_roll_wait): each answer returns with news, the
    row's report is handed out as it ends, and the end comes with the summary, long before the waits' timeout."""
    import time

    handle, _ = identity
    settings = {"graphUrl": ENV["KR_GRAPH_URL"], "loginUrl": ENV["KR_LOGIN_URL"], "caFile": ENV["KR_CA_CERT"],
                "tenantId": ENV["KR_TENANT_ID"], "clientId": ENV["KR_APP_ID"]}
    connection = ctypes.c_uint64(0)
    status, text = call(kr.keyroll_connect, buf(json.dumps(settings)), handle, ctypes.byref(connection))
    assert status == kr.KeyrollStatus.Ok, text
    other = ctypes.c_uint64(0)
    with open(ENV["KR_OTHER_PFX"], "rb") as f:
        status, text = call(kr.keyroll_identity_open, buf(f.read()), buf(ENV["KR_PASSWORD"]), ctypes.byref(other))
    assert status == kr.KeyrollStatus.Ok, text
    operation = ctypes.c_uint64(0)
    try:
        plan = {"rows": [{"roll": {"target": {"objectId": ENV["KR_OBJECT_ID"]}, "tenantId": ENV["KR_TENANT_ID"],
                                   "verifyTimeoutSecs": 30},
                          "current": handle, "next": other.value}], "concurrency": 2}
        status, text = call(kr.keyroll_bulk_start, connection.value, buf(json.dumps(plan)), ctypes.byref(operation))
        assert status == kr.KeyrollStatus.Ok, text
        assert json.loads(text)["rows"] == 1
        rows, started = [], time.monotonic()
        while True:
            status, text = call(kr.keyroll_roll_wait, operation.value, 20000)
            assert status == kr.KeyrollStatus.Ok, text
            answer = json.loads(text)
            rows += answer["rows"]
            if answer["done"]:
                break
            assert answer["events"] or answer["rows"] or answer["waiting"] or answer["retries"], answer
        assert time.monotonic() - started < 15
        assert [r["row"] for r in rows] == [0]
        assert rows[0]["report"]["success"] is True, rows
        assert answer["report"]["total"] == 1 and answer["report"]["failed"] == 0, answer
        # Stopping an operation that ended is no error (the binding raises on any status but Ok).
        kr.keyroll_roll_stop(operation.value)
    finally:
        if operation.value:
            kr.keyroll_roll_close(operation.value)
        kr.keyroll_identity_close(other.value)
        kr.keyroll_disconnect(connection.value)


def _key_of(pfx_path):
    """The private key of a PFX, held by Python (`cryptography`): the host's key the library never sees."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    with open(pfx_path, "rb") as f:
        key, cert, _ = pkcs12.load_key_and_certificates(f.read(), ENV["KR_PASSWORD"].encode())
    from cryptography.hazmat.primitives.serialization import Encoding

    return key, cert.public_bytes(Encoding.DER)


def _sign(key, request):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return key.sign(base64.b64decode(request["input"]), padding.PKCS1v15(), hashes.SHA256())


def _open_external(der):
    handle = ctypes.c_uint64(0)
    status, text = call(kr.keyroll_signer_open_external, buf(der), 0, ctypes.byref(handle))
    assert status == kr.KeyrollStatus.Ok, text
    return handle.value


def test_keys_held_by_python_sign_a_blocking_call_and_a_background_roll():
    """Identities whose keys Python holds (keyroll_signer_open_external): a blocking call (keyroll_keys_list) runs on
    a worker thread while this thread answers its signature requests (keyroll_signer_wait, keyroll_signature_answer);
    a background roll with both keys held here lists its requests in its wait answers; a refusal comes back in the
    host's words."""
    import threading
    import time

    current_key, current_der = _key_of(ENV["KR_CURRENT_PFX"])
    other_key, other_der = _key_of(ENV["KR_OTHER_PFX"])
    current, other = _open_external(current_der), _open_external(other_der)
    keys = {current: current_key, other: other_key}
    settings = {"graphUrl": ENV["KR_GRAPH_URL"], "loginUrl": ENV["KR_LOGIN_URL"], "caFile": ENV["KR_CA_CERT"],
                "tenantId": ENV["KR_TENANT_ID"], "clientId": ENV["KR_APP_ID"]}
    target = json.dumps({"objectId": ENV["KR_OBJECT_ID"]})
    connection = ctypes.c_uint64(0)
    status, text = call(kr.keyroll_connect, buf(json.dumps(settings)), current, ctypes.byref(connection))
    assert status == kr.KeyrollStatus.Ok, text
    operation = ctypes.c_uint64(0)
    try:
        # A blocking call: the worker thread is inside the library while this thread signs.
        result = {}
        worker = threading.Thread(target=lambda: result.update(
            answer=call(kr.keyroll_keys_list, connection.value, buf(target), current)))
        worker.start()
        handles = (ctypes.c_uint64 * 1)(current)
        purposes = []
        while worker.is_alive():
            status, text = call(kr.keyroll_signer_wait, handles, 50)
            assert status == kr.KeyrollStatus.Ok, text
            request = json.loads(text)
            if request is not None:
                assert request["signer"] == current and request["algorithm"] == "RS256", request
                purposes.append(request["purpose"])
                sig = _sign(current_key, request)
                status, text = call(kr.keyroll_signature_answer, current, request["id"], buf(sig))
                assert status == kr.KeyrollStatus.Ok, text
        worker.join()
        status, text = result["answer"]
        assert status == kr.KeyrollStatus.Ok, text
        assert purposes == ["clientAssertion"]
        assert any(k["signs"] for k in json.loads(text)["keys"]), text

        # A background roll with both keys held here: its waits list the requests and return as they come.
        roll = {"target": {"objectId": ENV["KR_OBJECT_ID"]}, "tenantId": ENV["KR_TENANT_ID"], "verifyTimeoutSecs": 30}
        status, text = call(kr.keyroll_roll_start, connection.value, buf(json.dumps(roll)), current, other,
                            ctypes.byref(operation))
        assert status == kr.KeyrollStatus.Ok, text
        answered, started = [], time.monotonic()
        while True:
            status, text = call(kr.keyroll_roll_wait, operation.value, 20000)
            assert status == kr.KeyrollStatus.Ok, text
            answer = json.loads(text)
            if answer["done"]:
                break
            for request in answer["signatures"]:
                status, text = call(kr.keyroll_signature_answer, request["signer"], request["id"],
                                    buf(_sign(keys[request["signer"]], request)))
                assert status == kr.KeyrollStatus.Ok, text
                answered.append((request["signer"], request["purpose"]))
        assert time.monotonic() - started < 15
        assert answer["report"]["success"] is True, answer
        assert (other, "clientAssertion") in answered, answered

        # Refused: the roll's error carries the host's words.
        kr.keyroll_roll_close(operation.value)
        operation = ctypes.c_uint64(0)
        status, text = call(kr.keyroll_roll_start, connection.value, buf(json.dumps(roll)), other, current,
                            ctypes.byref(operation))
        assert status == kr.KeyrollStatus.Ok, text
        while True:
            status, text = call(kr.keyroll_roll_wait, operation.value, 20000)
            answer = json.loads(text)
            if answer["done"]:
                break
            for request in answer["signatures"]:
                call(kr.keyroll_signature_refuse, request["signer"], request["id"], buf("the PIN prompt was cancelled"))
        assert "the PIN prompt was cancelled" in json.dumps(answer["report"]), answer

        # A bulk operation lists the requests of its rows' keys too.
        kr.keyroll_roll_close(operation.value)
        operation = ctypes.c_uint64(0)
        plan = {"rows": [{"roll": roll, "current": current, "next": other}], "concurrency": 2}
        status, text = call(kr.keyroll_bulk_start, connection.value, buf(json.dumps(plan)), ctypes.byref(operation))
        assert status == kr.KeyrollStatus.Ok, text
        bulk_answered = []
        while True:
            status, text = call(kr.keyroll_roll_wait, operation.value, 20000)
            answer = json.loads(text)
            if answer["done"]:
                break
            for request in answer["signatures"]:
                call(kr.keyroll_signature_answer, request["signer"], request["id"],
                     buf(_sign(keys[request["signer"]], request)))
                bulk_answered.append(request["signer"])
        assert answer["report"]["failed"] == 0 and answer["report"]["succeeded"] == 1, answer
        assert other in bulk_answered, bulk_answered
    finally:
        if operation.value:
            kr.keyroll_roll_close(operation.value)
        kr.keyroll_disconnect(connection.value)
        kr.keyroll_identity_close(current)
        kr.keyroll_identity_close(other)
def admin(method, path, body=None):
    """The emulator's admin API."""
    ctx = ssl.create_default_context(cafile=ENV["KR_CA_CERT"])
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{ENV['KR_GRAPH_URL']}/_emulator/{path}", data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, context=ctx) as r:
        return json.loads(r.read() or b"null")


def test_key_vault_identities_roll_with_no_private_key_out_of_the_vault():
    vault = ENV["KR_GRAPH_URL"]  # the emulated vault is served at the emulator's root
    made = admin("POST", "vault/certificates", {"name": "py-vault"})
    app = admin("POST", "applications", {"displayName": "py vault", "certificates": [made["cer"]]})
    admin("POST", "vault/grants", {"principal": app["appId"], "permissions": [
        "keys/get", "keys/sign", "certificates/get", "certificates/create"]})
    vault_token = admin("POST", "tokens", {"appId": app["appId"], "resource": "https://vault.azure.net"})["access_token"]
    graph_token = admin("POST", "tokens", {"appId": app["appId"]})["access_token"]
    settings = {"graphUrl": ENV["KR_GRAPH_URL"], "loginUrl": ENV["KR_LOGIN_URL"], "caFile": ENV["KR_CA_CERT"],
                "accessToken": graph_token}
    connection = ctypes.c_uint64(0)
    status, text = call(kr.keyroll_connect, buf(json.dumps(settings)), 0, ctypes.byref(connection))
    assert status == kr.KeyrollStatus.Ok, text
    url = f"{vault}/certificates/py-vault"
    current, new = ctypes.c_uint64(0), ctypes.c_uint64(0)
    try:
        opened = {"certificate": f"{url}/{made['version']}", "vaultAccessToken": vault_token}
        status, text = call(kr.keyroll_signer_open_keyvault, connection.value, buf(json.dumps(opened)),
                            ctypes.byref(current))
        assert status == kr.KeyrollStatus.Ok, text
        described = json.loads(text)
        assert described["keyVault"]["keyUrl"] == made["kid"]
        assert vault_token not in text

        create = {"certificate": url, "vaultAccessToken": vault_token,
                  "target": {"kind": "application", "objectId": app["id"]}}
        status, text = call(kr.keyroll_keyvault_create_certificate, connection.value, buf(json.dumps(create)),
                            current.value)
        assert status == kr.KeyrollStatus.Ok, text
        created = json.loads(text)
        assert created["source"] == "created" and created["keyVault"]["version"] != made["version"]

        opened = {"certificate": created["keyVault"]["certificateUrl"], "vaultAccessToken": vault_token}
        status, text = call(kr.keyroll_signer_open_keyvault, connection.value, buf(json.dumps(opened)),
                            ctypes.byref(new))
        assert status == kr.KeyrollStatus.Ok, text

        roll = {"target": {"kind": "application", "objectId": app["id"]}, "removeOld": True,
                "tenantId": ENV["KR_TENANT_ID"]}
        status, text = call(kr.keyroll_roll, connection.value, buf(json.dumps(roll)), current.value, new.value)
        assert status == kr.KeyrollStatus.Ok, text
        keys = admin("GET", f"applications/{app['id']}")["keyCredentials"]
        held = [hashlib.sha1(base64.b64decode(k["key"])).hexdigest().upper() for k in keys]
        assert held == [created["thumbprint"]], held

        # A certificate the vault does not have: the error object names the vault and the name.
        missing = {"certificate": f"{vault}/certificates/nothing-here", "vaultAccessToken": vault_token}
        handle = ctypes.c_uint64(0)
        status, text = call(kr.keyroll_signer_open_keyvault, connection.value, buf(json.dumps(missing)),
                            ctypes.byref(handle))
        error = json.loads(text)
        assert status != kr.KeyrollStatus.Ok and error["code"] == "vault_not_found", text
        assert "nothing-here" in error["message"] and vault_token not in text
    finally:
        for h in (current, new):
            if h.value:
                kr.keyroll_identity_close(h.value)
        kr.keyroll_disconnect(connection.value)

def test_repair_goes_through_the_abi_and_names_its_permission(identity):
    """keyroll_key_repair: settings are judged (no proof with a repair), and an application's own sign-in, which
    may addKey but not PATCH its keys, is refused by the service with the permission named; nothing changes."""
    handle, _ = identity
    settings = {
        "graphUrl": ENV["KR_GRAPH_URL"],
        "loginUrl": ENV["KR_LOGIN_URL"],
        "caFile": ENV["KR_CA_CERT"],
        "tenantId": ENV["KR_TENANT_ID"],
        "clientId": ENV["KR_APP_ID"],
    }
    connection = ctypes.c_uint64(0)
    status, text = call(kr.keyroll_connect, buf(json.dumps(settings)), handle, ctypes.byref(connection))
    assert status == kr.KeyrollStatus.Ok, text
    ctx = ssl.create_default_context(cafile=ENV["KR_CA_CERT"])
    url = f"{ENV['KR_GRAPH_URL']}/_emulator/applications/{ENV['KR_OBJECT_ID']}"

    def key_ids():
        with urllib.request.urlopen(url, context=ctx) as r:
            return sorted(k["keyId"] for k in json.loads(r.read())["keyCredentials"])

    before = key_ids()
    try:
        with open(ENV["KR_OTHER_CER"], "rb") as f:
            other = f.read()
        request = {
            "target": {"kind": "application", "objectId": ENV["KR_OBJECT_ID"]},
            "certificate": base64.b64encode(other).decode(),
        }
        status, text = call(kr.keyroll_key_repair, connection.value, buf(json.dumps({**request, "proof": "a.b.c"})))
        assert status == kr.KeyrollStatus.InvalidInput, text
        assert "proof" in json.loads(text)["message"]

        # A fresh certificate (the other one may have been added by an earlier test).
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "repair")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256())
        )
        request["certificate"] = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        status, text = call(kr.keyroll_key_repair, connection.value, buf(json.dumps(request)))
        error = json.loads(text)
        assert error["kind"] == "service", text
        assert error["httpStatus"] == 403, text
        assert "Application.ReadWrite.All" in error["message"], text
        assert key_ids() == before
    finally:
        kr.keyroll_disconnect(connection.value)


def _admin(method, path, body=None):
    ctx = ssl.create_default_context(cafile=ENV["KR_CA_CERT"])
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{ENV['KR_GRAPH_URL']}/_emulator/{path}", data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, context=ctx) as r:
        return json.loads(r.read() or b"null")


def test_device_code_in_two_steps_with_no_callback(tmp_path):
    """keyroll_device_code_start answers what to show and a handle; the user approves elsewhere;
    keyroll_device_code_wait answers the connection; a second start finds the cached sign-in; sign out."""
    import threading

    _admin("PUT", "devicecode-settings", {"intervalSecs": 0})
    settings = {
        "graphUrl": ENV["KR_GRAPH_URL"],
        "loginUrl": ENV["KR_LOGIN_URL"],
        "caFile": ENV["KR_CA_CERT"],
        "tenantId": ENV["KR_TENANT_ID"],
        "scopes": ["Application.ReadWrite.All"],
        "tokenCache": str(tmp_path / "tokens.json"),
    }
    sign_in = ctypes.c_uint64(0)
    status, text = call(kr.keyroll_device_code_start, buf(json.dumps(settings)), ctypes.byref(sign_in))
    assert status == kr.KeyrollStatus.Ok, text
    shown = json.loads(text)
    assert shown["pending"] is True and shown["userCode"] in shown["message"], shown
    approver = threading.Thread(target=_admin, args=("POST", f"devicecodes/{shown['userCode']}", {
        "action": "approve", "grantedScopes": ["Application.ReadWrite.All"],
        "user": {"userPrincipalName": "py@contoso.example", "directoryRoles": ["Application Administrator"]}}))
    approver.start()
    connection = ctypes.c_uint64(0)
    status, text = call(kr.keyroll_device_code_wait, sign_in.value, ctypes.byref(connection))
    approver.join()
    assert status == kr.KeyrollStatus.Ok, text
    assert "py@contoso.example" in json.loads(text)["credential"]
    try:
        target = {"kind": "application", "objectId": ENV["KR_OBJECT_ID"]}
        status, text = call(kr.keyroll_keys_list, connection.value, buf(json.dumps(target)), 0)
        assert status == kr.KeyrollStatus.Ok, text
        assert json.loads(text)["id"] == ENV["KR_OBJECT_ID"]
    finally:
        kr.keyroll_disconnect(connection.value)
    # The wait closed the sign-in handle.
    status, text = call(kr.keyroll_device_code_wait, sign_in.value, ctypes.byref(connection))
    assert status == kr.KeyrollStatus.UnknownHandle, text
    # Cached: no code to show.
    status, text = call(kr.keyroll_device_code_start, buf(json.dumps(settings)), ctypes.byref(sign_in))
    assert status == kr.KeyrollStatus.Ok and json.loads(text)["pending"] is False, text
    kr.keyroll_device_code_cancel(sign_in.value)
    status, text = call(kr.keyroll_device_code_wait, sign_in.value, ctypes.byref(connection))
    kr.keyroll_disconnect(connection.value) if status == kr.KeyrollStatus.Ok else None
    status, text = call(kr.keyroll_sign_out, buf(json.dumps(settings)), 0)
    assert status == kr.KeyrollStatus.Ok and json.loads(text)["removed"] == 1, text
    assert not (tmp_path / "tokens.json").exists()
