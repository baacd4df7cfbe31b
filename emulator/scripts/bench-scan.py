#!/usr/bin/env python3
"""Inventory-scan benchmark of the emulator: starts `keyroll-emulator --seed-count N` (N applications, each with its
service principal, a certificate on both and a client secret on the application), then pages both collections by
raw HTTPS with $select=id,appId,displayName,keyCredentials,passwordCredentials&$top=999, as a scanner does, and
prints the seed time, the scan time, the pages and bytes, and the emulator's RSS (VmRSS and the peak, VmHWM).

Usage: bench-scan.py --keyroll target/debug/keyroll [--count 50000] [--read-budget 3500/10]
Loopback only; the emulator is stopped at the end."""
import argparse, json, os, signal, ssl, subprocess, sys, tempfile, time, urllib.request

p = argparse.ArgumentParser()
p.add_argument("--keyroll", required=True)
p.add_argument("--count", type=int, default=50000)
p.add_argument("--read-budget", default="3500/10")
a = p.parse_args()
work = tempfile.mkdtemp(prefix="keyroll-scan-")
ca = os.path.join(work, "ca.pem")
started = time.time()
emu = subprocess.Popen([os.environ.get("KEYROLL_EMULATOR_BIN") or os.path.join(os.path.dirname(a.keyroll), "keyroll-emulator"), "--listen", "127.0.0.1:0", "--ca-file", ca,
                        "--seed-count", str(a.count), "--read-budget", a.read_budget],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    line = emu.stdout.readline()
    ready = time.time() - started
    graph = json.loads(line)["graph_url"]
    print(emu.stderr.readline().strip())
    print(f"emulator ready with the seed after {ready:.2f} s (process start included)")
    ctx = ssl.create_default_context(cafile=ca)

    def call(method, url, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, context=ctx, timeout=600) as r:
            return dict(r.headers), r.read()

    def rss():
        with open(f"/proc/{emu.pid}/status") as f:
            v = {l.split(":")[0]: l.split(":")[1].strip() for l in f if l.startswith(("VmRSS", "VmHWM"))}
        return f"VmRSS {v['VmRSS']}, peak VmHWM {v['VmHWM']}"

    _, b = call("POST", graph + "/_emulator/applications",
                {"displayName": "scanner", "roles": ["Application.Read.All"]})
    _, b = call("POST", graph + "/_emulator/tokens", {"appId": json.loads(b)["appId"]})
    auth = {"Authorization": "Bearer " + json.loads(b)["access_token"]}
    print("after the seed:", rss())
    sel = "id,appId,displayName,keyCredentials,passwordCredentials"
    t0 = time.time()
    for coll in ["applications", "servicePrincipals"]:
        url = f"{graph}/v1.0/{coll}?$select={sel}&$top=999"
        t, n, pages, size, units = time.time(), 0, 0, 0, 0
        while url:
            h, b = call("GET", url, headers=auth)
            v = json.loads(b)
            size, pages, n = size + len(b), pages + 1, n + len(v["value"])
            units += int(h.get("x-ms-resource-unit", "0"))
            url = v.get("@odata.nextLink")
        print(f"{coll}: {n} objects, {pages} pages, {size / 1e6:.1f} MB, {units} resource units, {time.time() - t:.2f} s")
    print(f"full scan: {time.time() - t0:.2f} s; after the scan: {rss()}")
finally:
    emu.send_signal(signal.SIGTERM)
    emu.wait(timeout=30)
