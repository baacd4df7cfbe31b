#!/usr/bin/env python3
"""Device-code sign-in to the first addKey, whole process, against `keyroll-emulator`.

Each run: a fresh application and an empty token cache, then `keyroll key add --device-code -v` (sign in as a
user, read the keys, mint the proof with the object's certificate, addKey) while a second thread plays the user
and approves the code the moment the emulator lists it. Reported per polling interval the emulator hands out
(`--intervals`, default 0 and 5: the service's own is 5 s): the median wall time of the process, and the share
of it the CLI spent sleeping for the interval (its `-v` line says how long it waited between polls).

    scripts/bench-device-code.py --keyroll target/release/keyroll --runs 7 --intervals 0,1,5
"""

import argparse
import base64
import json
import os
import re
import ssl
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


class Emulator:
    def __init__(self, binary, work):
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--ca-file", os.path.join(work, "ca.pem")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        info = json.loads(self.proc.stdout.readline())
        self.url, self.ca = info["graph_url"], info["ca_cert"]
        self.ctx = ssl.create_default_context(cafile=self.ca)
        self.tenant = self.call("GET", "/_emulator/info")["tenantId"]

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, context=self.ctx) as r:
            return json.loads(r.read() or b"null")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def approver(emu, stop):
    """Approves each code as soon as it is listed (polling the admin API every 5 ms)."""
    while not stop.is_set():
        for c in emu.call("GET", "/_emulator/devicecodes")["value"]:
            if c["status"] == "pending":
                emu.call("POST", f"/_emulator/devicecodes/{c['userCode']}", {
                    "action": "approve", "grantedScopes": ["Application.ReadWrite.All"],
                    "user": {"userPrincipalName": "bench@contoso.example", "directoryRoles": ["Application Administrator"]},
                })
        time.sleep(0.005)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keyroll", default=os.path.join(ROOT, "target", "release", "keyroll"))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--intervals", default="0,5")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bench-devcode-")
    env = dict(os.environ, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    for name in ("current", "next"):
        subprocess.run([args.keyroll, "cert", "new", "--subject", f"bench {name}", "--out", f"{work}/{name}.pem"],
                       check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-in", f"{work}/next.pem", "-out", f"{work}/next.cer"], check=True)
    der = subprocess.run(["openssl", "x509", "-in", f"{work}/current.pem", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    emulator = os.environ.get("KEYROLL_EMULATOR_BIN") or os.path.join(os.path.dirname(args.keyroll), "keyroll-emulator")
    emu = Emulator(emulator, work)
    stop = threading.Event()
    t = threading.Thread(target=approver, args=(emu, stop), daemon=True)
    t.start()
    try:
        for interval in [int(i) for i in args.intervals.split(",")]:
            emu.call("PUT", "/_emulator/devicecode-settings", {"intervalSecs": interval})
            walls, waits, polls = [], [], []
            for run in range(args.runs):
                app = emu.call("POST", "/_emulator/applications", {
                    "displayName": "bench", "certificates": [base64.b64encode(der).decode()]})
                cache = os.path.join(work, f"cache-{interval}-{run}.json")
                t0 = time.perf_counter()
                r = subprocess.run([
                    args.keyroll, "key", "add", "--object-id", app["id"], "--new-cert", f"{work}/next.cer",
                    "--cert", f"{work}/current.pem", "--device-code", "--tenant-id", emu.tenant,
                    "--token-cache", cache, "--graph-url", emu.url, "--login-url", emu.url, "--ca-cert", emu.ca, "-v",
                ], capture_output=True, text=True, env=env)
                wall = time.perf_counter() - t0
                if r.returncode != 0:
                    raise SystemExit(f"keyroll failed: {r.stderr}")
                m = re.search(r"approved after (\d+) ms: (\d+) polls, (\d+) ms of it waiting", r.stderr)
                if not m:
                    raise SystemExit(f"no timing line in: {r.stderr}")
                walls.append(wall * 1000)
                polls.append(int(m.group(2)))
                waits.append(int(m.group(3)))
            med = statistics.median(walls)
            share = statistics.median(w / x for w, x in zip(waits, walls))
            print(f"interval {interval} s: median {med:.0f} ms whole process (runs: "
                  f"{', '.join(f'{w:.0f}' for w in walls)}), {statistics.median(polls):.0f} polls, "
                  f"{100 * share:.1f} % of it waiting for the polling interval")
    finally:
        stop.set()
        emu.stop()


if __name__ == "__main__":
    main()
