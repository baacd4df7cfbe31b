#!/usr/bin/env bash
# A bulk `keyroll roll --plan` of APPS applications (default 500) against a local emulator whose write budget
# (default 100 writes per 10 s, per calling app and tenant) is low enough that throttling dominates. One shared
# automation identity (an app holding Application.ReadWrite.All, token via --access-token-env) rolls every
# application; each roll adds the new key, verifies it by getting a token with it and, with REMOVE_OLD=1,
# removes the old key. Afterwards every application is read through the emulator's admin API: zero failures,
# zero duplicates, nothing lost.
#
# The budget's own floor: the emulator keeps a sliding log of writes and admits one when fewer than WRITES
# happened in the last WINDOW seconds (emulator/src/faults.rs). A client with no overhead therefore completes
# write k (1-based) no earlier than floor((k-1)/WRITES)*WINDOW seconds after the first, so N writes need at
# least floor((N-1)/WRITES)*WINDOW seconds. The figure is elapsed / that floor; the target is <= 1.2.
#
#   scripts/bench-bulk-roll.sh                         # 500 apps, 100/10, add + verify  (~45 s)
#   APPS=200 BUDGET=50/5 REMOVE_OLD=1 scripts/bench-bulk-roll.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
apps="${APPS:-500}"
budget="${BUDGET:-100/10}"
concurrency="${CONCURRENCY:-16}"
remove_old="${REMOVE_OLD:-0}"
py="${PYTHON:-$here/.venv/bin/python}"
bin="$here/target/release/keyroll"

[ -x "$py" ] || py=python3
"$py" -c 'import httpx' 2>/dev/null || { echo "needs Python with httpx (scripts/setup.sh creates .venv)" >&2; exit 2; }
[ -x "$bin" ] || cargo build --release -q -p keyroll-cli

work="$(mktemp -d)"
emu_pid=""
cleanup() {
  [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" emulator --listen 127.0.0.1:0 --write-budget "$budget" --ca-file "$work/ca.pem" \
  >"$work/emu.out" 2>"$work/emu.err" &
emu_pid=$!
for _ in $(seq 100); do [ -s "$work/emu.out" ] && break; sleep 0.05; done
graph=$("$py" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["graph_url"])' "$work/emu.out")
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"

"$bin" cert new --subject "bulk current" --out "$work/current.pem" >/dev/null 2>&1
"$bin" cert new --subject "bulk next" --out "$work/next.pem" >/dev/null 2>&1

# The automation identity and the applications; the plan; the token.
"$py" - "$graph" "$work" "$apps" "$remove_old" <<'PY'
import base64, json, subprocess, sys
import httpx
graph, work, n, remove_old = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
der = subprocess.run(["openssl", "x509", "-in", f"{work}/current.pem", "-outform", "DER"],
                     capture_output=True, check=True).stdout
with httpx.Client(verify=f"{work}/ca.pem", base_url=graph, timeout=30) as c:
    admin = c.post("/_emulator/applications",
                   json={"displayName": "bulk automation", "roles": ["Application.ReadWrite.All"]}).json()
    token = c.post("/_emulator/tokens", json={"appId": admin["appId"]}).json()["access_token"]
    ids = []
    for i in range(n):
        a = c.post("/_emulator/applications",
                   json={"displayName": f"bulk {i}", "certificates": [base64.b64encode(der).decode()]}).json()
        ids.append(a["id"])
with open(f"{work}/plan.csv", "w") as f:
    f.write("objectId,cert,newCert,removeOld\n")
    for i in ids:
        f.write(f"{i},current.pem,next.pem,{str(remove_old).lower()}\n")
json.dump({"ids": ids, "tenant": admin["tenantId"]}, open(f"{work}/apps.json", "w"))
open(f"{work}/token", "w").write(token)
PY

tenant=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["tenant"])' "$work/apps.json")
export KEYROLL_BENCH_TOKEN="$(cat "$work/token")"
t0=$(date +%s%N)
set +e
"$bin" roll --plan "$work/plan.csv" --results "$work/results.json" --concurrency "$concurrency" \
  --tenant-id "$tenant" --access-token-env KEYROLL_BENCH_TOKEN \
  --graph-url "$graph" --login-url "$graph" --ca-cert "$work/ca.pem" >"$work/roll.out" 2>"$work/roll.err"
code=$?
set -e
t1=$(date +%s%N)
unset KEYROLL_BENCH_TOKEN
tail -n 3 "$work/roll.out"

"$py" - "$graph" "$work" "$budget" "$remove_old" "$(( (t1 - t0) / 1000000 ))" "$code" <<'PY'
import json, subprocess, sys, hashlib, base64
import httpx
graph, work, budget, remove_old, elapsed_ms, code = sys.argv[1:7]
remove_old, elapsed, code = remove_old == "1", int(elapsed_ms) / 1000, int(code)
writes_per, window = budget.split("/")
writes_per, window = int(writes_per), float(window)
der = lambda p: subprocess.run(["openssl", "x509", "-in", p, "-outform", "DER"], capture_output=True, check=True).stdout
old, new = hashlib.sha1(der(f"{work}/current.pem")).hexdigest(), hashlib.sha1(der(f"{work}/next.pem")).hexdigest()
ids = json.load(open(f"{work}/apps.json"))["ids"]
results = json.load(open(f"{work}/results.json"))
failed = [r for r in results if not r["success"]]
dup = lost = 0
with httpx.Client(verify=f"{work}/ca.pem", base_url=graph, timeout=30) as c:
    for i in ids:
        keys = c.get(f"/_emulator/applications/{i}").json()["keyCredentials"]
        thumbs = [hashlib.sha1(base64.b64decode(k["key"])).hexdigest() for k in keys]
        dup += thumbs.count(new) > 1
        want_old = 0 if remove_old else 1
        lost += thumbs.count(new) != 1 or thumbs.count(old) != want_old
writes = len(ids) * (2 if remove_old else 1)
floor = ((writes - 1) // writes_per) * window
ratio = elapsed / floor if floor > 0 else float("nan")
print(f"applications rolled     : {len(ids)} ({'add + verify + remove old' if remove_old else 'add + verify'}), exit code {code}")
print(f"failures / duplicates   : {len(failed)} / {dup} (objects not in the expected state: {lost})")
print(f"write budget            : {writes_per} per {window:g} s per app+tenant; {writes} writes")
print(f"time the budget imposes : {floor:.1f} s (floor((writes-1)/{writes_per}) x {window:g} s)")
print(f"elapsed                 : {elapsed:.1f} s")
print(f"ratio                   : {ratio:.2f}x the budget's floor")
ok = code == 0 and not failed and dup == 0 and lost == 0 and ratio <= 1.2
sys.exit(0 if ok else 1)
PY
