"""Independent oracles for keyroll's proofs of possession.

Proofs minted by the ``keyroll`` binary are verified by PyJWT and ``cryptography`` (code this project did not
write), and tokens minted by PyJWT — good ones and ones breaking one rule each — are judged by
``keyroll proof inspect --json``, checking its exit code (0 accepted, 1 rejected) and finding codes.

The binary is taken from ``KEYROLL_BIN`` (default: ``<repo>/target/debug/keyroll``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

REPO = Path(__file__).resolve().parents[2]
GRAPH_AUDIENCE = "00000002-0000-0000-c000-000000000000"
MS_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
OBJECT_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
APP_ID = "0b8f1c2e-7a9d-4e55-9c1a-2f3e4d5c6b7a"
PASSWORD = "Oracle-Pa55word-91c3"
PW_VAR = "KEYROLL_ORACLE_PFX_PASSWORD"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(segment: str) -> bytes:
    assert "=" not in segment
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@pytest.fixture(scope="session")
def keyroll_bin() -> str:
    path = Path(os.environ.get("KEYROLL_BIN", REPO / "target" / "debug" / "keyroll"))
    if not path.is_file():
        pytest.fail(f"keyroll binary not found at {path}: build it (cargo build -p keyroll-cli) or set KEYROLL_BIN")
    return str(path)


def run(keyroll_bin: str, *args: str, stdin: str | None = None, env: dict[str, str] | None = None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [keyroll_bin, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


class Identity:
    """A certificate made by `keyroll cert new`, read back with `cryptography`."""

    def __init__(self, bundle: Path, public: Path):
        self.bundle = bundle
        self.public = public
        text = bundle.read_bytes()
        self.cert = x509.load_der_x509_certificate(public.read_bytes())
        self.key = serialization.load_pem_private_key(text, password=None)
        self.public_key = self.cert.public_key()
        sha1 = self.cert.fingerprint(hashes.SHA1())
        self.kid = sha1.hex().upper()
        self.x5t = b64url(sha1)

    def headers(self, **overrides) -> dict:
        h = {"kid": self.kid, "x5t": self.x5t, "typ": "JWT"}
        h.update(overrides)
        return h


@pytest.fixture(scope="session")
def identity(keyroll_bin, tmp_path_factory) -> Identity:
    d = tmp_path_factory.mktemp("keyroll")
    bundle, public = d / "current.pem", d / "current.cer"
    r = run(keyroll_bin, "cert", "new", "--subject", "oracle", "--out", str(bundle), "--public-out", str(public))
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    return Identity(bundle, public)


@pytest.fixture(scope="session")
def pfx(keyroll_bin, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("keyroll-pfx")
    out = d / "current.pfx"
    r = run(keyroll_bin, "cert", "new", "--format", "pfx", "--password-env", PW_VAR, "--out", str(out),
            env={PW_VAR: PASSWORD})
    assert r.returncode == 0, r.stderr
    assert PASSWORD not in r.stdout + r.stderr
    return out


def mint(keyroll_bin, *args, env=None) -> str:
    r = run(keyroll_bin, "proof", "mint", *args, env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1, f"stdout must hold the token alone: {r.stdout!r}"
    return lines[0]


# ------------------------------------------------------------------------------------------------------------
# keyroll mints, PyJWT verifies


def test_minted_proof_verifies_with_pyjwt(keyroll_bin, identity):
    before = int(time.time())
    token = mint(keyroll_bin, "--cert", str(identity.bundle), "--object-id", OBJECT_ID)
    after = int(time.time())
    claims = jwt.decode(
        token,
        identity.public_key,
        algorithms=["RS256"],
        audience=GRAPH_AUDIENCE,
        options={"require": ["aud", "iss", "nbf", "exp", "iat"], "verify_signature": True},
    )
    assert claims["iss"] == OBJECT_ID
    assert before <= claims["nbf"] <= after
    assert claims["iat"] == claims["nbf"]
    assert claims["exp"] == claims["nbf"] + 600
    assert all(type(claims[k]) is int for k in ("nbf", "exp", "iat"))


def test_minted_proof_raw_header_and_claims(keyroll_bin, identity):
    token = mint(keyroll_bin, "--cert", str(identity.bundle), "--object-id", OBJECT_ID.upper())
    assert "=" not in token
    header_b64, claims_b64, sig_b64 = token.split(".")
    header_text = b64url_decode(header_b64).decode()
    assert header_text == json.dumps(
        {"alg": "RS256", "kid": identity.kid, "x5t": identity.x5t, "typ": "JWT"}, separators=(",", ":")
    )
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": identity.kid, "x5t": identity.x5t, "typ": "JWT"}
    claims = json.loads(b64url_decode(claims_b64))
    assert list(claims) == ["aud", "iss", "nbf", "exp", "iat"]
    assert claims["aud"] == GRAPH_AUDIENCE
    assert claims["iss"] == OBJECT_ID, "iss is the lowercase object id"
    # The signature checked with cryptography directly: RSASSA-PKCS1-v1_5 + SHA-256 over header.payload.
    identity.public_key.verify(
        b64url_decode(sig_b64), f"{header_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    # x5t / kid are the SHA-1 of the certificate's DER bytes.
    der = identity.cert.public_bytes(serialization.Encoding.DER)
    assert identity.kid == hashlib.sha1(der).hexdigest().upper()


def test_lifetime_audience_and_pfx(keyroll_bin, identity, pfx):
    token = mint(keyroll_bin, "--cert", str(identity.bundle), "--object-id", OBJECT_ID, "--lifetime", "120",
                 "--audience", MS_GRAPH_APP_ID)
    claims = jwt.decode(token, identity.public_key, algorithms=["RS256"], audience=MS_GRAPH_APP_ID)
    assert claims["exp"] - claims["nbf"] == 120
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, identity.public_key, algorithms=["RS256"], audience=GRAPH_AUDIENCE)

    token = mint(keyroll_bin, "--cert", str(pfx), "--cert-password-env", PW_VAR, "--object-id", OBJECT_ID,
                 env={PW_VAR: PASSWORD})
    header = jwt.get_unverified_header(token)
    from cryptography.hazmat.primitives.serialization import pkcs12

    _key, cert, _ = pkcs12.load_key_and_certificates(pfx.read_bytes(), PASSWORD.encode())
    assert header["kid"] == cert.fingerprint(hashes.SHA1()).hex().upper()
    claims = jwt.decode(token, cert.public_key(), algorithms=["RS256"], audience=GRAPH_AUDIENCE)
    assert claims["iss"] == OBJECT_ID


def test_pyjwt_rejects_a_tampered_keyroll_proof(keyroll_bin, identity):
    token = mint(keyroll_bin, "--cert", str(identity.bundle), "--object-id", OBJECT_ID)
    h, c, s = token.split(".")
    forged = json.loads(b64url_decode(c))
    forged["iss"] = APP_ID
    tampered = f"{h}.{b64url(json.dumps(forged).encode())}.{s}"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(tampered, identity.public_key, algorithms=["RS256"], audience=GRAPH_AUDIENCE)


def test_mint_refuses_over_600_seconds(keyroll_bin, identity):
    r = run(keyroll_bin, "proof", "mint", "--cert", str(identity.bundle), "--object-id", OBJECT_ID, "--lifetime", "601")
    assert r.returncode == 2
    assert r.stdout == ""
    assert "600" in r.stderr


# ------------------------------------------------------------------------------------------------------------
# PyJWT mints, keyroll judges


def inspect(keyroll_bin, identity, token, *extra, stdin=False):
    args = ["proof", "inspect", "-" if stdin else token, "--cert", str(identity.public), "--object-id", OBJECT_ID,
            "--app-id", APP_ID, "--json", *extra]
    r = run(keyroll_bin, *args, stdin=token + "\n" if stdin else None)
    assert r.returncode in (0, 1), r.stderr
    doc = json.loads(r.stdout)
    assert doc["schemaVersion"] == 1 and doc["command"] == "proof inspect", doc
    report = doc["inspection"]
    assert report["accepted"] == (r.returncode == 0)
    # The report shows the decoded parts, never the token or its signature.
    sig = token.rsplit(".", 1)[-1]
    if len(sig) > 16:
        assert sig not in r.stdout + r.stderr
    errors = sorted(f["code"] for f in report["findings"] if f["severity"] == "error")
    return r.returncode, errors, report


def claims(now=None, **overrides):
    now = int(time.time()) - 5 if now is None else now
    c = {"aud": GRAPH_AUDIENCE, "iss": OBJECT_ID, "nbf": now, "exp": now + 600, "iat": now}
    c.update(overrides)
    return {k: v for k, v in c.items() if v is not None}


def test_pyjwt_minted_good_proof_is_accepted(keyroll_bin, identity):
    token = jwt.encode(claims(), identity.key, algorithm="RS256", headers=identity.headers())
    code, errors, report = inspect(keyroll_bin, identity, token)
    assert (code, errors) == (0, [])
    assert report["signer"] == 0
    code, errors, _ = inspect(keyroll_bin, identity, token, stdin=True)
    assert (code, errors) == (0, [])


@pytest.fixture(scope="module")
def stranger_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


BAD_CASES = {
    "aud_graph_app_id": (lambda i, s: jwt.encode(claims(aud=MS_GRAPH_APP_ID), i.key, "RS256", i.headers()),
                         ["audience_graph_app_id"]),
    "aud_wrong": (lambda i, s: jwt.encode(claims(aud="https://graph.microsoft.com"), i.key, "RS256", i.headers()),
                  ["audience_wrong"]),
    "aud_missing": (lambda i, s: jwt.encode(claims(aud=None), i.key, "RS256", i.headers()), ["audience_missing"]),
    "iss_app_id": (lambda i, s: jwt.encode(claims(iss=APP_ID), i.key, "RS256", i.headers()), ["issuer_is_app_id"]),
    "iss_other": (lambda i, s: jwt.encode(claims(iss=str(uuid.uuid4())), i.key, "RS256", i.headers()),
                  ["issuer_mismatch"]),
    "iss_not_guid": (lambda i, s: jwt.encode(claims(iss="my-app"), i.key, "RS256", i.headers()), ["issuer_not_guid"]),
    "lifetime": (lambda i, s: jwt.encode(claims(exp=int(time.time()) + 3600), i.key, "RS256", i.headers()),
                 ["lifetime"]),
    "expired": (lambda i, s: jwt.encode(claims(now=int(time.time()) - 1000), i.key, "RS256", i.headers()),
                ["expired"]),
    "not_yet_valid": (lambda i, s: jwt.encode(claims(now=int(time.time()) + 300), i.key, "RS256", i.headers()),
                      ["not_yet_valid"]),
    "nbf_string": (lambda i, s: jwt.encode(claims(nbf=str(int(time.time()) - 5)), i.key, "RS256", i.headers()),
                   ["time_claim"]),
    "ps256": (lambda i, s: jwt.encode(claims(), i.key, "PS256", i.headers()), ["algorithm"]),
    "hs256": (lambda i, s: jwt.encode(claims(), "a-shared-secret-of-32-bytes-long!", "HS256", i.headers()),
              ["algorithm"]),
    "none": (lambda i, s: jwt.encode(claims(), None, "none", i.headers()), ["algorithm"]),
    "other_key": (lambda i, s: jwt.encode(claims(), s, "RS256", i.headers()), ["signature"]),
    "kid_mismatch": (lambda i, s: jwt.encode(claims(), i.key, "RS256", i.headers(kid="00" * 20)), ["kid_mismatch"]),
    "x5t_mismatch": (lambda i, s: jwt.encode(claims(), i.key, "RS256", i.headers(x5t=b64url(b"\0" * 20))),
                     ["x5t_mismatch"]),
    "padded": (lambda i, s: jwt.encode(claims(), i.key, "RS256", i.headers()) + "==", ["padding"]),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_pyjwt_minted_bad_proof_is_rejected_for_exactly_its_reason(keyroll_bin, identity, stranger_key, case):
    make, expected = BAD_CASES[case]
    token = make(identity, stranger_key)
    code, errors, report = inspect(keyroll_bin, identity, token)
    assert code == 1, report
    assert errors == expected, report["findings"]
    for finding in report["findings"]:
        assert finding["message"], finding


def test_garbage_is_malformed_with_exit_1(keyroll_bin, identity):
    for token in ["garbage", "a.b", "x" * 50_000, "e30.e30.!!"]:
        code, errors, report = inspect(keyroll_bin, identity, token, stdin=len(token) > 1000)
        assert (code, errors) == (1, ["malformed"]), report
        assert report["header"] is None
