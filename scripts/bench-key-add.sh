#!/usr/bin/env bash
# Whole-process cost of adding one key: `keyroll key add` beside tests/python/peer_key_add.py (MSAL for the
# token, PyJWT for the proof, the Graph SDK for addKey), against the same local emulator over HTTPS on
# loopback, interleaved, RUNS times each (default 7). Both authenticate as the app with its certificate, get a
# token, mint a proof and call addKey. Prints the medians and the ratio; exits 1 when keyroll is not at least
# 10x faster per invocation.
#
#   scripts/bench-key-add.sh            # RUNS=7
#   RUNS=11 scripts/bench-key-add.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
runs="${RUNS:-7}"
py="${PYTHON:-$here/.venv/bin/python}"
bin="$here/target/release/keyroll"

[ -x "$py" ] || { echo "no Python venv at $py: run scripts/setup.sh (or set PYTHON)" >&2; exit 2; }
{ [ -x "$bin" ] && [ -x "$(dirname "$bin")/keyroll-emulator" ]; } || cargo build --release -q -p keyroll-cli -p keyroll-emulator

work="$(mktemp -d)"
emu_pid=""
cleanup() {
  [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The emulator, on a free loopback port, with its first line (the endpoints) in a file.
"${KEYROLL_EMULATOR_BIN:-$(dirname "$bin")/keyroll-emulator}" --listen 127.0.0.1:0 --ca-file "$work/ca.pem" >"$work/emu.out" 2>"$work/emu.err" &
emu_pid=$!
for _ in $(seq 100); do [ -s "$work/emu.out" ] && break; sleep 0.05; done
graph=$("$py" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["graph_url"])' "$work/emu.out")
ca="$work/ca.pem"
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"

"$bin" cert new --subject "bench current" --out "$work/current.pem" >/dev/null 2>&1
"$bin" cert new --subject "bench next" --out "$work/next.pem" >/dev/null 2>&1
openssl x509 -in "$work/next.pem" -out "$work/next.cer"
cur_b64=$(openssl x509 -in "$work/current.pem" -outform DER | base64 -w0)

# One fresh application per run and per client (the same certificate cannot be added twice to one object).
create_app() {
  curl -sS --noproxy '*' --cacert "$ca" -H 'content-type: application/json' \
    --data "{\"displayName\":\"bench\",\"certificates\":[\"$cur_b64\"]}" "$graph/_emulator/applications"
}
field() { "$py" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

now_ns() { date +%s%N; }
keyroll_ms=()
python_ms=()
for i in $(seq "$runs"); do
  a=$(create_app); id=$(field "$a" id); app=$(field "$a" appId); tenant=$(field "$a" tenantId)
  t0=$(now_ns)
  "$bin" key add --object-id "$id" --new-cert "$work/next.cer" --cert "$work/current.pem" \
    --tenant-id "$tenant" --client-id "$app" \
    --graph-url "$graph" --login-url "$graph" --ca-cert "$ca" >/dev/null
  t1=$(now_ns)
  keyroll_ms+=("$(( (t1 - t0) / 1000 ))")

  a=$(create_app); id=$(field "$a" id); app=$(field "$a" appId); tenant=$(field "$a" tenantId)
  t0=$(now_ns)
  "$py" "$here/tests/python/peer_key_add.py" --graph-url "$graph" --login-url "$graph" --ca-cert "$ca" \
    --tenant-id "$tenant" --client-id "$app" --object-id "$id" \
    --cert "$work/current.pem" --new-cert "$work/next.cer" >/dev/null
  t1=$(now_ns)
  python_ms+=("$(( (t1 - t0) / 1000 ))")
done

"$py" - "${keyroll_ms[*]}" "${python_ms[*]}" <<'PY'
import statistics, sys
k = [int(x) / 1000 for x in sys.argv[1].split()]
p = [int(x) / 1000 for x in sys.argv[2].split()]
km, pm = statistics.median(k), statistics.median(p)
fmt = lambda v: ", ".join(f"{x:.1f}" for x in v)
print(f"keyroll key add (release)     : median {km:.1f} ms over {len(k)} runs ({fmt(k)})")
print(f"Python MSAL + msgraph-sdk peer: median {pm:.1f} ms over {len(p)} runs ({fmt(p)})")
print(f"ratio                         : keyroll is {pm / km:.1f}x faster per invocation")
sys.exit(0 if pm / km >= 10 else 1)
PY
