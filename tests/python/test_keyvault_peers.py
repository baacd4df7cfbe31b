"""Microsoft's own Key Vault clients against the emulated vault, unchanged but for the vault URL,
`verify_challenge_resource=False` (the vault is not under vault.azure.net) and the CA to trust:
azure-keyvault-certificates reads, creates (and polls) and lists certificate versions, azure-keyvault-keys'
CryptographyClient signs a digest with a key that never leaves the vault, and `cryptography` verifies the
signature with the certificate's public key. azure-identity gets the vault tokens from the emulator's login
URL (a client certificate) or its managed-identity endpoint, after the vault's 401 challenge. The Node clients
(@azure/keyvault-certificates, @azure/keyvault-keys, tests/node) do the same from node."""

import base64
import hashlib
import json
import os
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

import azure.identity as azure_identity
import azure.keyvault.certificates as certificates
import azure.keyvault.keys.crypto as crypto
from azure.core.exceptions import HttpResponseError

ALL = ["keys/get", "keys/sign", "certificates/get", "certificates/list", "certificates/create"]


def credential_for(emu, cert, app):
    """A client-certificate credential signing in at the emulator, as a runbook's or a pipeline's would."""
    pem = cert.key_pem.encode() + cert.cert.public_bytes(serialization.Encoding.PEM)
    return azure_identity.CertificateCredential(
        emu.tenant_id,
        app["appId"],
        certificate_data=pem,
        authority=emu.login_url,
        disable_instance_discovery=True,
        connection_verify=emu.ca_cert,
    )


def vault_clients(emu, credential):
    options = {"verify_challenge_resource": False, "connection_verify": emu.ca_cert}
    return certificates.CertificateClient(emu.vault_url, credential, **options), options


def put_vault_certificate(emu, name, **extra):
    body = {"name": name}
    body.update(extra)
    return emu.post("/_emulator/vault/certificates", body)


def grant(emu, principal, permissions):
    emu.post("/_emulator/vault/grants", {"principal": principal, "permissions": permissions})


@pytest.fixture
def vault(keyroll_emulator, make_cert, monkeypatch):
    emu = keyroll_emulator
    # MSAL inside azure-identity uses requests, which takes REQUESTS_CA_BUNDLE over its own default.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_cert)
    cert = make_cert()
    app = emu.create_app(cert.der)
    grant(emu, app["servicePrincipalId"], ALL)
    return emu, cert, app


def test_certificate_client_reads_creates_and_lists_versions(vault):
    emu, cert, app = vault
    put = put_vault_certificate(emu, "imported", subject="CN=imported")
    client, _ = vault_clients(emu, credential_for(emu, cert, app))

    got = client.get_certificate("imported")
    assert bytes(got.cer) == base64.b64decode(put["cer"])
    assert got.properties.x509_thumbprint.hex().upper() == put["thumbprint"]
    assert got.key_id == put["kid"]
    assert got.properties.version == put["version"]
    assert got.properties.enabled is True

    policy = certificates.CertificatePolicy(
        issuer_name="Self",
        subject="CN=rolled",
        key_type=certificates.KeyType.rsa,
        key_size=2048,
        exportable=False,
        reuse_key=False,
        validity_in_months=12,
    )
    first = client.begin_create_certificate("rolled", policy, _polling_interval=0).result()
    parsed = x509.load_der_x509_certificate(bytes(first.cer))
    assert parsed.subject.rfc4514_string() == "CN=rolled"
    assert first.policy.key_size == 2048 and first.policy.exportable is False
    second = client.begin_create_certificate("rolled", policy, _polling_interval=0).result()
    assert second.properties.version != first.properties.version
    # The latest version is the new one.
    assert client.get_certificate("rolled").properties.version == second.properties.version
    versions = {p.version for p in client.list_properties_of_certificate_versions("rolled", max_page_size=1)}
    assert versions == {first.properties.version, second.properties.version}

    # Issuer Unknown: the poller ends on the pending operation, not yet issued.
    unknown = certificates.CertificatePolicy(issuer_name="Unknown", subject="CN=ca issued")
    operation = client.begin_create_certificate("ca-issued", unknown, _polling_interval=0).result()
    assert isinstance(operation, certificates.CertificateOperation)
    assert operation.status == "inProgress"
    assert operation.status_details == "Pending certificate created. Please Perform Merge to complete the request."
    assert client.get_certificate("ca-issued").cer is None


def test_cryptography_client_signs_a_digest_that_verifies_over_the_message(vault):
    emu, cert, app = vault
    credential = credential_for(emu, cert, app)
    client, options = vault_clients(emu, credential)
    put = put_vault_certificate(emu, "signer")
    kv_cert = client.get_certificate("signer")
    public = x509.load_der_x509_certificate(bytes(kv_cert.cer)).public_key()
    signer = crypto.CryptographyClient(kv_cert.key_id, credential, **options)

    message = b"eyJhbGciOiJSUzI1NiIsIng1dCI6IngifQ.eyJhdWQiOiIwMDAwMDAwMi0wMDAwIn0"
    digest = hashlib.sha256(message).digest()
    result = signer.sign(crypto.SignatureAlgorithm.rs256, digest)
    assert result.key_id == put["kid"]
    public.verify(result.signature, message, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        public.verify(result.signature, message + b"x", padding.PKCS1v15(), hashes.SHA256())

    result = signer.sign(crypto.SignatureAlgorithm.ps256, digest)
    public.verify(
        result.signature,
        message,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
        hashes.SHA256(),
    )

    # An EC key asked for RS256: the service's refusal.
    ec = put_vault_certificate(emu, "ec-signer", kty="EC")
    with pytest.raises(HttpResponseError) as refused:
        crypto.CryptographyClient(ec["kid"], credential, **options).sign(crypto.SignatureAlgorithm.rs256, digest)
    assert refused.value.status_code == 400
    assert "Key and signing algorithm are incompatible." in refused.value.message


def test_the_challenge_and_a_403_without_the_permission(vault, make_cert):
    emu, cert, app = vault
    put_vault_certificate(emu, "guarded")

    # The 401 challenge, exactly.
    request = urllib.request.Request(f"{emu.vault_url}/certificates/guarded?api-version=7.5")
    with pytest.raises(urllib.error.HTTPError) as challenged:
        urllib.request.urlopen(request, context=ssl.create_default_context(cafile=emu.ca_cert))
    assert challenged.value.code == 401
    assert challenged.value.headers["WWW-Authenticate"] == (
        f'Bearer authorization="{emu.login_url}/{emu.tenant_id}", resource="https://vault.azure.net"'
    )
    assert json.loads(challenged.value.read())["error"]["message"] == (
        "AKV10000: Request is missing a Bearer or PoP token."
    )

    # Another application, signed in fine, but without the vault's permissions.
    other_cert = make_cert()
    other = emu.create_app(other_cert.der, displayName="no vault access")
    credential = credential_for(emu, other_cert, other)
    client, options = vault_clients(emu, credential)
    with pytest.raises(HttpResponseError) as forbidden:
        client.get_certificate("guarded")
    assert forbidden.value.status_code == 403
    assert forbidden.value.error.code == "Forbidden"
    assert "does not have certificates get permission on key vault" in forbidden.value.message
    assert f"appid={other['appId']};oid={other['servicePrincipalId']}" in forbidden.value.message

    grant(emu, other["servicePrincipalId"], ["certificates/get"])
    kv_cert = client.get_certificate("guarded")
    signer = crypto.CryptographyClient(kv_cert.key_id, credential, **options)
    with pytest.raises(HttpResponseError) as forbidden:
        signer.sign(crypto.SignatureAlgorithm.rs256, hashlib.sha256(b"m").digest())
    assert forbidden.value.status_code == 403
    assert "does not have keys sign permission on key vault" in forbidden.value.message


def test_managed_identity_credential_signs_through_the_vault(vault, monkeypatch):
    emu, _, _ = vault
    identity = emu.create_app(
        # A managed identity has no certificate of its own; the admin API takes an empty list.
        b"",
        managedIdentity=True,
        certificates=[],
        displayName="runbook identity",
    )
    grant(emu, identity["servicePrincipalId"], ["certificates/get", "keys/sign"])
    monkeypatch.setenv("IDENTITY_ENDPOINT", emu.info["identityEndpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", emu.info["identityHeader"])
    credential = azure_identity.ManagedIdentityCredential(connection_verify=emu.ca_cert)
    client, options = vault_clients(emu, credential)
    put_vault_certificate(emu, "runbook")
    kv_cert = client.get_certificate("runbook")
    result = crypto.CryptographyClient(kv_cert.key_id, credential, **options).sign(
        crypto.SignatureAlgorithm.rs256, hashlib.sha256(b"proof input").digest()
    )
    public = x509.load_der_x509_certificate(bytes(kv_cert.cer)).public_key()
    public.verify(result.signature, b"proof input", padding.PKCS1v15(), hashes.SHA256())


NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "node")


def test_node_clients_read_create_list_and_sign(vault, tmp_path):
    """The same with Microsoft's Node clients (tests/node, installed by scripts/setup.sh)."""
    emu, cert, app = vault
    node = shutil.which("node")
    assert node, "node is needed for the Node Key Vault clients: run scripts/setup.sh"
    assert os.path.isdir(os.path.join(NODE_DIR, "node_modules", "@azure", "keyvault-keys")), (
        "tests/node has no node_modules: run scripts/setup.sh (npm ci in tests/node)"
    )
    put = put_vault_certificate(emu, "node-signer")
    pem = tmp_path / "client.pem"
    pem.write_bytes(cert.key_pem.encode() + cert.cert.public_bytes(serialization.Encoding.PEM))
    env = dict(
        os.environ,
        NODE_EXTRA_CA_CERTS=emu.ca_cert,
        VAULT_URL=emu.vault_url,
        LOGIN_URL=emu.login_url,
        TENANT_ID=emu.tenant_id,
        CLIENT_ID=app["appId"],
        CLIENT_CERT_PEM=str(pem),
        CERT_NAME="node-signer",
        NEW_CERT_NAME="node-rolled",
        MESSAGE="eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJub2RlIn0",
    )
    run = subprocess.run(
        [node, os.path.join(NODE_DIR, "keyvault_peer.mjs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["existing"]["keyId"] == put["kid"]
    assert out["existing"]["cer"] == put["cer"]
    assert out["created"]["subject"] == "CN=node rolled"
    assert out["versions"] == [out["created"]["version"]]
    assert out["sign"] == {"keyId": put["kid"], "verifies": True, "verifiesOtherMessage": False}
