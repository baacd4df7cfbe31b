#!/usr/bin/env python3
"""Round trips of the emulated Key Vault, the calls a roll with vault-held keys makes: starts `keyroll-emulator`,
puts a certificate into the vault, grants an application, and times on one kept-alive HTTPS connection (as a
client's pool does) GET /certificates/{name}, POST /keys/{name}/{version}/sign (RS256) and the certificate
creation (POST create, then GET pending until completed, then GET the certificate). Prints the median and p90 of
each in milliseconds.

Usage: bench-vault.py --keyroll target/debug/keyroll [--rounds 200] [--key-size 2048]
Loopback only; the emulator is stopped at the end."""
import argparse, base64, hashlib, http.client, json, os, ssl, statistics, subprocess, tempfile, time

p = argparse.ArgumentParser()
p.add_argument("--keyroll", required=True)
p.add_argument("--rounds", type=int, default=200)
p.add_argument("--key-size", type=int, default=2048)
a = p.parse_args()
work = tempfile.mkdtemp(prefix="keyroll-vault-")
ca = os.path.join(work, "ca.pem")
emu = subprocess.Popen([os.environ.get("KEYROLL_EMULATOR_BIN") or os.path.join(os.path.dirname(a.keyroll), "keyroll-emulator"), "--listen", "127.0.0.1:0", "--ca-file", ca],
                       stdout=subprocess.PIPE, text=True)
try:
    info = json.loads(emu.stdout.readline())
    host, port = info["vault_url"].removeprefix("https://").split(":")
    conn = http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(cafile=ca))

    def call(method, path, body=None, token=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = conn.getresponse()
        data = r.read()
        assert r.status < 300, (r.status, data)
        return json.loads(data or b"null")

    # An application with no certificate of its own is enough: the admin API mints its token.
    app = call("POST", "/_emulator/applications", {"displayName": "bench", "certificates": []})
    call("POST", "/_emulator/vault/grants", {"principal": app["servicePrincipalId"], "permissions": ["keys/all", "certificates/all"]})
    token = call("POST", "/_emulator/tokens", {"appId": app["appId"], "resource": "https://vault.azure.net"})["access_token"]
    put = call("POST", "/_emulator/vault/certificates", {"name": "bench", "keySize": a.key_size})
    digest = base64.urlsafe_b64encode(hashlib.sha256(b"header.payload").digest()).rstrip(b"=").decode()

    def timed(f, n):
        out = []
        for _ in range(n):
            t = time.perf_counter()
            f()
            out.append((time.perf_counter() - t) * 1000)
        out.sort()
        return statistics.median(out), out[int(len(out) * 0.9) - 1]

    q = "api-version=7.4"
    get = timed(lambda: call("GET", f"/certificates/bench?{q}", token=token), a.rounds)
    sign = timed(lambda: call("POST", f"/keys/bench/{put['version']}/sign?{q}", {"alg": "RS256", "value": digest}, token), a.rounds)
    policy = {"policy": {"key_props": {"kty": "RSA", "key_size": a.key_size, "exportable": False},
                         "x509_props": {"subject": "CN=bench next"}, "issuer": {"name": "Self"}}}
    polls = []

    def create():
        call("POST", f"/certificates/next/create?{q}", policy, token)
        n = 0
        while call("GET", f"/certificates/next/pending?{q}", token=token)["status"] != "completed":
            n += 1
        polls.append(n)
        call("GET", f"/certificates/next?{q}", token=token)

    created = timed(create, max(5, a.rounds // 20))
    print(f"GET /certificates/{{name}}         median {get[0]:.2f} ms, p90 {get[1]:.2f} ms ({a.rounds} calls)")
    print(f"POST /keys/{{name}}/{{version}}/sign median {sign[0]:.2f} ms, p90 {sign[1]:.2f} ms ({a.rounds} calls, RSA {a.key_size})")
    print(f"create + pending until completed + GET: median {created[0]:.1f} ms, p90 {created[1]:.1f} ms "
          f"({len(polls)} creations, RSA {a.key_size} generated each time, {polls[0]} pending read(s) in progress)")
finally:
    emu.terminate()
    emu.wait(timeout=10)
