"""keyroll's JSON output against its published JSON Schema, with an independent validator (python-jsonschema).

The CLI's Rust suite checks every command's output with a small validator of its own; this checks the schema
file is a valid draft 2020-12 schema and that real documents pass (and a wrong one fails) the reference
implementation, so the two readings of the schema cannot drift apart.
"""

import base64
import json
import os
import subprocess
from pathlib import Path

import jsonschema
import pytest
from cryptography.hazmat.primitives import serialization

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "schema" / "keyroll-output-v1.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


@pytest.fixture(scope="module")
def keyroll_bin() -> str:
    path = Path(os.environ.get("KEYROLL_BIN", REPO / "target" / "debug" / "keyroll"))
    if not path.is_file():
        pytest.fail(f"keyroll binary not found at {path}: build it (cargo build -p keyroll-cli) or set KEYROLL_BIN")
    return str(path)


def keyroll(binary, *args, env=None, code=0):
    r = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "NO_PROXY": "127.0.0.1", **(env or {})})
    assert r.returncode == code, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    VALIDATOR.validate(doc)
    assert next(iter(doc)) == "schemaVersion" and doc["schemaVersion"] == 1
    return doc


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_offline_documents_and_errors(keyroll_bin, tmp_path):
    out = tmp_path / "n.pem"
    doc = keyroll(keyroll_bin, "cert", "new", "--out", str(out), "--output", "json")
    assert doc["command"] == "cert new"
    doc = keyroll(keyroll_bin, "cert", "inspect", str(out), "--json")
    assert doc["certificate"]["privateKey"] == "present"
    oid = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    token = keyroll(keyroll_bin, "proof", "mint", "--cert", str(out), "--object-id", oid, "--output", "json")["proof"]["token"]
    assert keyroll(keyroll_bin, "proof", "inspect", token, "--object-id", oid, "--output", "json")["inspection"]["accepted"]
    doc = keyroll(keyroll_bin, "proof", "inspect", "garbage", "--output", "json", code=1)
    assert not doc["inspection"]["accepted"] and "error" not in doc
    doc = keyroll(keyroll_bin, "cert", "inspect", str(tmp_path / "missing.pem"), "--output", "json", code=2)
    assert doc["error"]["kind"] == "input" and doc["error"]["exitCode"] == 2
    doc = keyroll(keyroll_bin, "key", "list", "--nonsense", "--output", "json", code=2)
    assert doc["error"]["code"] == "usage"


def test_key_list_and_roll_against_the_emulator(keyroll_bin, keyroll_emulator, make_cert, tmp_path):
    emu = keyroll_emulator
    old, new = make_cert(), make_cert()
    files = []
    for name, c in (("old.pem", old), ("new.pem", new)):
        p = tmp_path / name
        p.write_text(c.cert.public_bytes(serialization.Encoding.PEM).decode() + c.key_pem)
        files.append(str(p))
    app = emu.create_app(old.der)
    token = emu.post("/_emulator/tokens", {"appId": app["appId"]})["access_token"]
    conn = ["--graph-url", emu.graph_url, "--login-url", emu.login_url, "--ca-cert", emu.ca_cert,
            "--access-token-env", "KEYROLL_PYTEST_TOKEN"]
    env = {"KEYROLL_PYTEST_TOKEN": token}
    doc = keyroll(keyroll_bin, "key", "list", "--object-id", app["id"], *conn, "--output", "json", env=env)
    assert len(doc["keys"]) == 1
    doc = keyroll(keyroll_bin, "roll", "--object-id", app["id"], "--cert", files[0], "--new-cert", files[1],
                  *conn, "--output", "json", env=env)
    assert [r["state"] for r in doc["rolls"]] == ["keptOld"]
    # The reference validator refuses what the schema forbids: a state that is not one of the enum.
    doc["rolls"][0]["state"] = "done"
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(doc)
    # ... and a single roll given as an object instead of an array.
    doc["rolls"] = doc["rolls"][0]
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(doc)
