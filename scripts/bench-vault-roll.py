#!/usr/bin/env python3
"""A roll in which neither private key ever leaves Azure Key Vault, against the same roll with local PFX keys,
end to end through `keyroll roll` on a local emulator (loopback, HTTPS).

Vault roll: the app's current certificate is a certificate of the emulated vault (registered on the app); the run
creates the next version in the vault (`--create-in-vault`), signs the client assertion and the addKey proof with
the current version's vault key and the verification assertion and removeKey proof with the new one
(`--remove-old`). The vault requests are counted by keyroll (`key vault: N requests` on stderr).
Local roll: the same roll with both certificates as PFX files.

Each of RUNS runs (default 7) uses a fresh application; the figures are medians of the wall time of the keyroll
process (start to exit) and the ratio vault / local.

    scripts/bench-vault-roll.py [--keyroll target/debug/keyroll] [--runs 7]
"""
import argparse
import base64
import json
import os
import re
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request


def api(base, ctx, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + "/_emulator/" + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
        return json.loads(r.read() or b"null")


def make_pfx(work, name):
    key, crt, pfx = (os.path.join(work, f"{name}.{e}") for e in ("key", "crt", "pfx"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "30", "-subj", f"/CN=bench {name}"], check=True, capture_output=True)
    subprocess.run(["openssl", "pkcs12", "-export", "-inkey", key, "-in", crt, "-out", pfx,
                    "-passout", "pass:bench"], check=True, capture_output=True)
    der = subprocess.run(["openssl", "x509", "-in", crt, "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return pfx, base64.b64encode(der).decode()


def run(cmd, env):
    t = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.monotonic() - t
    if p.returncode != 0:
        sys.exit(f"keyroll failed ({p.returncode}): {' '.join(cmd[:2])}\n{p.stdout}\n{p.stderr}")
    return elapsed, p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keyroll", default="target/debug/keyroll")
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bench-vault-")
    emu = subprocess.Popen([os.environ.get("KEYROLL_EMULATOR_BIN") or os.path.join(os.path.dirname(a.keyroll), "keyroll-emulator"), "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    try:
        info = json.loads(emu.stdout.readline())
        graph, vault, ca = info["graph_url"], info["vault_url"], info["ca_cert"]
        ctx = ssl.create_default_context(cafile=ca)
        conn = ["--graph-url", graph, "--login-url", info.get("login_url", graph), "--ca-cert", ca]
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AZURE_", "IDENTITY_")) and "PROXY" not in k.upper()}
        env["PFX_PASSWORD"] = "bench"
        local, vaulted, calls, signing, signing_calls = [], [], [], [], []
        for i in range(a.runs):
            # Local keys.
            cur, cur_der = make_pfx(work, f"cur{i}")
            new, _ = make_pfx(work, f"new{i}")
            app = api(graph, ctx, "POST", "applications",
                      {"displayName": f"bench local {i}", "certificates": [cur_der]})
            t, p_local = run([a.keyroll, "roll", "--object-id", app["id"], "--cert", cur, "--cert-password-env",
                        "PFX_PASSWORD", "--new-cert", new, "--new-cert-password-env", "PFX_PASSWORD",
                        "--remove-old", "--tenant-id", app["tenantId"], "--client-id", app["appId"]] + conn, env)
            if "state: rolled" not in p_local.stdout:
                sys.exit(f"local roll {i} did not roll:\n{p_local.stdout}\n{p_local.stderr}")
            local.append(t)
            # Keys in the vault.
            name = f"bench-{i}"
            vc = api(graph, ctx, "POST", "vault/certificates", {"name": name})
            app = api(graph, ctx, "POST", "applications",
                      {"displayName": f"bench vault {i}", "certificates": [vc["cer"]]})
            api(graph, ctx, "POST", "vault/grants", {"principal": app["appId"], "permissions": [
                "keys/get", "keys/sign", "certificates/get", "certificates/create"]})
            token = api(graph, ctx, "POST", "tokens",
                        {"appId": app["appId"], "resource": "https://vault.azure.net"})["access_token"]
            venv = dict(env, KV_TOKEN=token)
            url = f"{vault}/certificates/{name}"
            t, p = run([a.keyroll, "roll", "--object-id", app["id"], "--cert", f"{url}/{vc['version']}",
                        "--new-cert", url, "--create-in-vault", "--remove-old", "--tenant-id", app["tenantId"],
                        "--client-id", app["appId"], "--vault-access-token-env", "KV_TOKEN"] + conn, venv)
            m = re.search(r"key vault: (\d+) requests", p.stderr)
            if not m:
                sys.exit(f"no vault request count in:\n{p.stderr}")
            vaulted.append(t)
            calls.append(int(m.group(1)))
            if "state: rolled" not in p.stdout:
                sys.exit(f"vault roll {i} did not roll:\n{p.stdout}\n{p.stderr}")
            # Both versions already in the vault: the signatures' round trips without the creation.
            name2 = f"bench-pre-{i}"
            v1 = api(graph, ctx, "POST", "vault/certificates", {"name": name2})
            v2 = api(graph, ctx, "POST", "vault/certificates", {"name": name2})
            app2 = api(graph, ctx, "POST", "applications",
                       {"displayName": f"bench vault pre {i}", "certificates": [v1["cer"]]})
            api(graph, ctx, "POST", "vault/grants", {"principal": app2["appId"], "permissions": [
                "keys/get", "keys/sign", "certificates/get"]})
            token2 = api(graph, ctx, "POST", "tokens",
                         {"appId": app2["appId"], "resource": "https://vault.azure.net"})["access_token"]
            url2 = f"{vault}/certificates/{name2}"
            t2, p2 = run([a.keyroll, "roll", "--object-id", app2["id"], "--cert", f"{url2}/{v1['version']}",
                          "--new-cert", f"{url2}/{v2['version']}", "--remove-old", "--tenant-id",
                          app2["tenantId"], "--client-id", app2["appId"], "--vault-access-token-env",
                          "KV_TOKEN"] + conn, dict(env, KV_TOKEN=token2))
            m2 = re.search(r"key vault: (\d+) requests", p2.stderr)
            if "state: rolled" not in p2.stdout or not m2:
                sys.exit(f"vault roll (versions made) {i}:\n{p2.stdout}\n{p2.stderr}")
            signing.append(t2)
            signing_calls.append(int(m2.group(1)))
            keys = api(graph, ctx, "GET", f"applications/{app['id']}")
            n = len(keys.get("keyCredentials", []))
            if n != 1:
                sys.exit(f"vault roll {i}: {n} keys left, expected 1")
        ml, mv = statistics.median(local), statistics.median(vaulted)
        print(f"runs: {a.runs} (fresh application each; keyroll process wall time, start to exit)")
        print(f"local PFX keys: median {ml * 1000:.0f} ms (min {min(local) * 1000:.0f}, max {max(local) * 1000:.0f})")
        print(f"Key Vault keys: median {mv * 1000:.0f} ms (min {min(vaulted) * 1000:.0f}, max {max(vaulted) * 1000:.0f}),"
              f" vault requests per roll: median {statistics.median(calls):.0f} (all: {sorted(set(calls))})")
        ms = statistics.median(signing)
        print(f"Key Vault keys, both versions already made (no creation): median {ms * 1000:.0f} ms"
              f" (min {min(signing) * 1000:.0f}, max {max(signing) * 1000:.0f}),"
              f" vault requests: median {statistics.median(signing_calls):.0f}")
        print(f"ratio vault (with creation) / local: {mv / ml:.2f}; vault (versions made) / local: {ms / ml:.2f}")
        print(f"creation (create + /pending polls + new version read): {(mv - ms) * 1000:.0f} ms of the {mv * 1000:.0f}")
    finally:
        emu.terminate()
        emu.wait()


if __name__ == "__main__":
    main()
