"""Shared fixtures: a `keyroll-emulator` process on a free port, and throw-away certificates."""

import datetime
import json
import os
import subprocess
import urllib.request
import ssl
import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class Emulator:
    """A running emulator: its URLs, CA file and admin helpers."""

    def __init__(self, proc, info):
        self.proc = proc
        self.graph_url = info["graph_url"]
        self.login_url = info["login_url"]
        self.vault_url = info["vault_url"]
        self.ca_cert = info["ca_cert"]
        self._ctx = ssl.create_default_context(cafile=self.ca_cert) if self.ca_cert else None
        self.info = self.get("/_emulator/info")
        self.tenant_id = self.info["tenantId"]

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.graph_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, context=self._ctx) as resp:
            return json.loads(resp.read() or b"null")

    def get(self, path):
        return self._call("GET", path)

    def post(self, path, body):
        return self._call("POST", path, body)

    def create_app(self, cert_der, **extra):
        body = {"displayName": "pytest app", "certificates": [base64.b64encode(cert_der).decode()]}
        body.update(extra)
        return self.post("/_emulator/applications", body)

    def keys(self, object_id):
        return self.get(f"/_emulator/applications/{object_id}")["keyCredentials"]


def start_emulator(*args):
    """Starts `keyroll-emulator` on a free loopback port and reads its first JSON line."""
    binary = os.environ.get("KEYROLL_EMULATOR_BIN", os.path.join(ROOT, "target", "debug", "keyroll-emulator"))
    proc = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError(f"{binary} printed nothing")
    return Emulator(proc, json.loads(line))


@pytest.fixture
def keyroll_emulator():
    """A fresh HTTPS emulator for one test; stopped with SIGTERM afterwards."""
    emu = start_emulator()
    try:
        yield emu
    finally:
        emu.proc.terminate()
        emu.proc.wait(timeout=10)


class Cert:
    """An RSA key and a self-signed certificate."""

    def __init__(self, days_ago=1, days=30):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.datetime.now(datetime.timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pytest")])
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=days_ago))
            .not_valid_after(now - datetime.timedelta(days=days_ago) + datetime.timedelta(days=days))
            .sign(self.key, hashes.SHA256())
        )
        self.der = self.cert.public_bytes(serialization.Encoding.DER)
        self.key_pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.sha1 = self.cert.fingerprint(hashes.SHA1())


@pytest.fixture
def make_cert():
    return Cert
