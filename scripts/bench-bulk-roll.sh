#!/usr/bin/env bash
# A bulk `keyroll roll --plan` of APPS applications (default 500) against a local emulator whose write budget
# (default 100 writes per 10 s, per calling app and tenant) is low enough that throttling dominates. One shared
# automation identity (an app holding Application.ReadWrite.All, token via --access-token-env) rolls every
# application; each roll adds the new key, verifies it by getting a token with it and, with REMOVE_OLD=1 (the
# default), removes the old key. Progress is on, as an operator sees it: plain per-row lines on stderr (stderr a
# file), or with TTY=1 the live bar (the roll runs on a pseudo-terminal under `script`). Afterwards every
# application is read through the emulator's admin API: zero failures, zero duplicates, nothing lost.
#
# Then the finished plan is run again RERUNS times (default 3) as it is, and RERUNS times with --resume of its
# journal: every row must come back alreadyRolled (exit 0) with no write (every application's keys are the same
# before and after); the figure is the median (target < 2 s).
#
# The budget's own floor: the emulator keeps a sliding log of writes and admits one when fewer than WRITES
# happened in the last WINDOW seconds (emulator/src/faults.rs). A client with no overhead therefore completes
# write k (1-based) no earlier than floor((k-1)/WRITES)*WINDOW seconds after the first, so N writes need at
# least floor((N-1)/WRITES)*WINDOW seconds. The figure is elapsed / that floor; the target is <= 1.05.
#
#   scripts/bench-bulk-roll.sh                         # 500 apps, 100/10, add + verify + remove old (~95 s)
#   TTY=1 BIN=target/debug/keyroll scripts/bench-bulk-roll.sh
#   APPS=200 BUDGET=50/5 REMOVE_OLD=0 RERUNS=5 scripts/bench-bulk-roll.sh
#   KEEP=1 ...                                         # keep the work folder (plan, journal, outputs)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
apps="${APPS:-500}"
budget="${BUDGET:-100/10}"
concurrency="${CONCURRENCY:-16}"
remove_old="${REMOVE_OLD:-1}"
tty="${TTY:-0}"
reruns="${RERUNS:-3}"
py="${PYTHON:-$here/.venv/bin/python}"
bin="${BIN:-$here/target/release/keyroll}"
case "$bin" in /*) ;; *) bin="$here/$bin" ;; esac

[ -x "$py" ] || py=python3
"$py" -c 'import httpx' 2>/dev/null || { echo "needs Python with httpx (scripts/setup.sh creates .venv)" >&2; exit 2; }
if [ ! -x "$bin" ]; then
  [ -n "${BIN:-}" ] && { echo "BIN=$bin is not an executable" >&2; exit 2; }
  cargo build --release -q -p keyroll-cli -p keyroll-emulator
fi
[ "$tty" = 1 ] && ! command -v script >/dev/null && { echo "TTY=1 needs script(1) (util-linux)" >&2; exit 2; }

work="$(mktemp -d)"
emu_pid=""
cleanup() {
  [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

"${KEYROLL_EMULATOR_BIN:-$(dirname "$bin")/keyroll-emulator}" --listen 127.0.0.1:0 --write-budget "$budget" --ca-file "$work/ca.pem" \
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

# roll LABEL [extra args]: one `keyroll roll --plan`, timed; sets ms and code; output in $work/LABEL.{out,err}
# (on a terminal both are the one pseudo-terminal, recorded in LABEL.out).
roll() {
  local label="$1"; shift
  local cmd=("$bin" roll --plan "$work/plan.csv" --results "$work/$label.json" --concurrency "$concurrency"
    --tenant-id "$tenant" --access-token-env KEYROLL_BENCH_TOKEN
    --graph-url "$graph" --login-url "$graph" --ca-cert "$work/ca.pem" "$@")
  local t0 t1
  t0=$(date +%s%N)
  set +e
  if [ "$tty" = 1 ]; then
    script -qefc "$(printf '%q ' "${cmd[@]}")" /dev/null </dev/null >"$work/$label.out" 2>"$work/$label.err"
  else
    "${cmd[@]}" >"$work/$label.out" 2>"$work/$label.err"
  fi
  code=$?
  set -e
  t1=$(date +%s%N)
  ms=$(( (t1 - t0) / 1000000 ))
}

# keys: every application's key ids, one line each (to show that the re-runs wrote nothing).
keys() {
  "$py" - "$graph" "$work" <<'PY'
import json, sys
import httpx
graph, work = sys.argv[1:3]
with httpx.Client(verify=f"{work}/ca.pem", base_url=graph, timeout=30) as c:
    for i in json.load(open(f"{work}/apps.json"))["ids"]:
        ks = c.get(f"/_emulator/applications/{i}").json()["keyCredentials"]
        print(i, " ".join(sorted(k["keyId"] for k in ks)))
PY
}

roll first
first_ms=$ms first_code=$code
tr '\r' '\n' <"$work/first.out" | grep -a "rolls in" | tail -n 1 || true
keys >"$work/keys.before"

rerun_ms=() resume_ms=() rerun_codes=()
for n in $(seq "$reruns"); do
  roll "rerun$n"
  rerun_ms+=("$ms"); rerun_codes+=("$code")
  roll "resume$n" --resume "$work/plan.csv.journal"
  resume_ms+=("$ms"); rerun_codes+=("$code")
done
keys >"$work/keys.after"
unchanged=1
cmp -s "$work/keys.before" "$work/keys.after" || unchanged=0
unset KEYROLL_BENCH_TOKEN

"$py" - "$graph" "$work" "$budget" "$remove_old" "$first_ms" "$first_code" "$tty" "$unchanged" \
  "${rerun_ms[*]}" "${resume_ms[*]}" "${rerun_codes[*]}" <<'PY'
import json, subprocess, sys, hashlib, base64, statistics
import httpx
graph, work, budget, remove_old, elapsed_ms, code, tty, unchanged = sys.argv[1:9]
rerun_ms, resume_ms, rerun_codes = sys.argv[9:12]
remove_old, elapsed, code = remove_old == "1", int(elapsed_ms) / 1000, int(code)
rerun = [int(x) / 1000 for x in rerun_ms.split()]
resume = [int(x) / 1000 for x in resume_ms.split()]
writes_per, window = budget.split("/")
writes_per, window = int(writes_per), float(window)
der = lambda p: subprocess.run(["openssl", "x509", "-in", p, "-outform", "DER"], capture_output=True, check=True).stdout
old, new = hashlib.sha1(der(f"{work}/current.pem")).hexdigest(), hashlib.sha1(der(f"{work}/next.pem")).hexdigest()
ids = json.load(open(f"{work}/apps.json"))["ids"]
results = json.load(open(f"{work}/first.json"))
failed = [r for r in results if not r["success"]]
dup = lost = 0
with httpx.Client(verify=f"{work}/ca.pem", base_url=graph, timeout=30) as c:
    for i in ids:
        keys = c.get(f"/_emulator/applications/{i}").json()["keyCredentials"]
        thumbs = [hashlib.sha1(base64.b64decode(k["key"])).hexdigest() for k in keys]
        dup += thumbs.count(new) > 1
        want_old = 0 if remove_old else 1
        lost += thumbs.count(new) != 1 or thumbs.count(old) != want_old
# Every re-run: exit 0 and every row alreadyRolled.
n_reruns = len(rerun)
states = []
for name in [f"rerun{k}" for k in range(1, n_reruns + 1)] + [f"resume{k}" for k in range(1, n_reruns + 1)]:
    rows = json.load(open(f"{work}/{name}.json"))
    states.append({s: sum(1 for r in rows if r["state"] == s) for s in sorted({r["state"] for r in rows})})
rerun_ok = all(c == "0" for c in rerun_codes.split()) and all(s == {"alreadyRolled": len(ids)} for s in states)
writes = len(ids) * (2 if remove_old else 1)
floor = ((writes - 1) // writes_per) * window
ratio = elapsed / floor if floor > 0 else float("nan")
fmt = lambda xs: " / ".join(f"{x:.2f}" for x in xs)
print(f"applications rolled     : {len(ids)} ({'add + verify + remove old' if remove_old else 'add + verify'}), exit code {code}")
print(f"progress                : {'live bar (pseudo-terminal)' if tty == '1' else 'plain lines (stderr not a terminal)'}")
print(f"failures / duplicates   : {len(failed)} / {dup} (objects not in the expected state: {lost})")
print(f"write budget            : {writes_per} per {window:g} s per app+tenant; {writes} writes")
print(f"time the budget imposes : {floor:.1f} s (floor((writes-1)/{writes_per}) x {window:g} s)")
print(f"elapsed                 : {elapsed:.1f} s")
print(f"ratio                   : {ratio:.3f}x the budget's floor")
print(f"re-run of the plan      : median {statistics.median(rerun):.2f} s ({fmt(rerun)})")
print(f"re-run with --resume    : median {statistics.median(resume):.2f} s ({fmt(resume)})")
print(f"re-runs                 : exit codes {rerun_codes}; states {states[0]}{'' if all(x == states[0] for x in states) else ' (not all alike: ' + str(states) + ')'}; keys unchanged: {unchanged == '1'}")
ok = (code == 0 and not failed and dup == 0 and lost == 0 and ratio <= 1.05 and rerun_ok and unchanged == "1"
      and statistics.median(rerun) < 2 and statistics.median(resume) < 2)
if not ok:
    print("FAIL: a count is not zero, a re-run wrote or did not exit 0, or a figure is over its target")
sys.exit(0 if ok else 1)
PY
