#!/usr/bin/env python3
"""A bulk `keyroll roll --plan` (add, verify, remove old) of APPS applications against an emulator that lags
like the real directory, with lost answers and 429s, compared with the same roll against a delay-free one.

Each run starts its own emulator (loopback, HTTPS) with the same faults — FAULTS addKey answers dropped after
commit (--drop-after-commit) and THROTTLE requests answered 429 (--throttle, Retry-After 0.5 s) — and, for
the lagging run, reads lagging writes by READ_MS and new keys signing in TOKEN_MS after they were added. Then
every application is read through the admin API (which sees every write at once) and counted:

  duplicates  the new certificate registered more than once
  losses      the new certificate missing, or the old one still there
  lock-outs   neither certificate there: the application can no longer sign in

    scripts/bench-bulk-roll-replication.py [--keyroll target/debug/keyroll] [--apps 200] [--faults 10]
        [--throttle 20] [--read-ms 1000] [--token-ms 3000] [--concurrency 16]

Stops by itself (each roll is bounded by --timeout-s, default 600 s).
"""
import argparse
import base64
import hashlib
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request


def der_of(keyroll, pem):
    out = subprocess.run(["openssl", "x509", "-in", pem, "-outform", "DER"], capture_output=True, check=True)
    return out.stdout


def api(base, ctx, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
        return json.loads(r.read() or b"null")


def run(a, work, lagging):
    ca = os.path.join(work, f"ca-{int(lagging)}.pem")
    flags = ["--write-budget", "off", "--drop-after-commit", str(a.faults), "--throttle", str(a.throttle),
             "--retry-after", "0.5"]
    if lagging:
        flags += ["--replication-delay-ms", str(a.read_ms), "--key-activation-delay-ms", str(a.token_ms)]
    emu = subprocess.Popen([os.environ.get("KEYROLL_EMULATOR_BIN") or os.path.join(os.path.dirname(a.keyroll), "keyroll-emulator"), "--listen", "127.0.0.1:0", "--ca-file", ca, *flags],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        base = json.loads(emu.stdout.readline())["graph_url"]
        assert base.startswith("https://127.0.0.1:"), base
        ctx = ssl.create_default_context(cafile=ca)
        old_der = der_of(a.keyroll, os.path.join(work, "old.pem"))
        new_der = der_of(a.keyroll, os.path.join(work, "new.pem"))
        admin = api(base, ctx, "POST", "/_emulator/applications",
                    {"displayName": "bulk automation", "roles": ["Application.ReadWrite.All"]})
        token = api(base, ctx, "POST", "/_emulator/tokens", {"appId": admin["appId"]})["access_token"]
        ids = [api(base, ctx, "POST", "/_emulator/applications",
                   {"displayName": f"bulk {i}", "certificates": [base64.b64encode(old_der).decode()]})["id"]
               for i in range(a.apps)]
        plan = os.path.join(work, f"plan-{int(lagging)}.csv")
        with open(plan, "w") as f:
            f.write("objectId,cert,newCert,removeOld\n")
            for i in ids:
                f.write(f"{i},old.pem,new.pem,true\n")
        results = os.path.join(work, f"results-{int(lagging)}.json")
        env = dict(os.environ, KEYROLL_BENCH_TOKEN=token, NO_PROXY="127.0.0.1,localhost",
                   no_proxy="127.0.0.1,localhost")
        t0 = time.monotonic()
        roll = subprocess.run([a.keyroll, "roll", "--plan", plan, "--results", results, "--concurrency",
                               str(a.concurrency), "--tenant-id", admin["tenantId"], "--access-token-env",
                               "KEYROLL_BENCH_TOKEN", "--graph-url", base, "--login-url", base, "--ca-cert", ca],
                              capture_output=True, text=True, env=env, timeout=a.timeout_s)
        elapsed = time.monotonic() - t0
        rows = json.load(open(results)) if os.path.exists(results) else []
        failed = sum(1 for r in rows if not r.get("success")) + max(0, len(ids) - len(rows))
        old_t, new_t = hashlib.sha1(old_der).hexdigest(), hashlib.sha1(new_der).hexdigest()
        dup = lost = locked = 0
        for i in ids:
            keys = api(base, ctx, "GET", f"/_emulator/applications/{i}")["keyCredentials"]
            thumbs = [hashlib.sha1(base64.b64decode(k["key"])).hexdigest() for k in keys]
            n_new, n_old = thumbs.count(new_t), thumbs.count(old_t)
            dup += n_new > 1
            lost += n_new == 0 or n_old != 0
            locked += n_new == 0 and n_old == 0
        return {"elapsed": elapsed, "exit": roll.returncode, "failed": failed, "dup": dup, "lost": lost,
                "locked": locked, "tail": roll.stdout.strip().splitlines()[-2:]}
    finally:
        emu.terminate()
        try:
            emu.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emu.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keyroll", default="target/debug/keyroll")
    ap.add_argument("--apps", type=int, default=200)
    ap.add_argument("--faults", type=int, default=10, help="addKey answers dropped after commit")
    ap.add_argument("--throttle", type=int, default=20, help="requests answered 429")
    ap.add_argument("--read-ms", type=int, default=1000)
    ap.add_argument("--token-ms", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--timeout-s", type=int, default=600)
    a = ap.parse_args()
    a.keyroll = os.path.abspath(a.keyroll)
    work = tempfile.mkdtemp(prefix="kr-bulk-repl-")
    for name in ("old", "new"):
        subprocess.run([a.keyroll, "cert", "new", "--subject", f"bulk {name}", "--out",
                        os.path.join(work, f"{name}.pem")], capture_output=True, check=True)
    out = {}
    for lagging in (False, True):
        r = run(a, work, lagging)
        out[lagging] = r
        label = f"reads lag {a.read_ms} ms, keys sign in after {a.token_ms} ms" if lagging else "no replication delay"
        print(f"{label:45s}: {a.apps} apps, {a.faults} lost answers, {a.throttle} x 429 -> exit {r['exit']}, "
              f"{r['elapsed']:.1f} s; failed {r['failed']}, duplicates {r['dup']}, losses {r['lost']}, "
              f"lock-outs {r['locked']}")
    print(f"wall time with delay / without: {out[True]['elapsed'] / out[False]['elapsed']:.2f}x")
    ok = all(r["failed"] == r["dup"] == r["lost"] == r["locked"] == 0 for r in out.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
