#!/usr/bin/env bash
# Proof minting rate beside `openssl speed rsa2048` on the same machine, in one run (ratios, not absolute times,
# are what this shared machine can measure). Prints one line per figure and the ratio; exits 1 below 95%.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
secs="${BENCH_SECS:-5}"

cargo bench -q -p keyroll-proto --bench proof --no-run >/dev/null 2>&1
openssl_rate() {
  # single-core RSA-2048 private-key operations per second (sign/s column)
  openssl speed -seconds "$secs" rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6}'
}
keyroll_rate() {
  cargo bench -q -p keyroll-proto --bench proof -- --noplot --measurement-time "$secs" mint_rs256_2048 >/dev/null 2>&1
  python3 - "$here/target/criterion/mint_rs256_2048/new/estimates.json" <<'PY'
import json, sys
est = json.load(open(sys.argv[1]))
print(f"{1e9 / est['median']['point_estimate']:.0f}")
PY
}
# Interleave the two so that load from other tenants of the machine hits both alike.
o1=$(openssl_rate); k1=$(keyroll_rate); o2=$(openssl_rate); k2=$(keyroll_rate)
python3 - "$o1" "$o2" "$k1" "$k2" <<'PY'
import sys, statistics
o = [float(x) for x in sys.argv[1:3]]; k = [float(x) for x in sys.argv[3:5]]
om, km = statistics.median(o), statistics.median(k)
ratio = km / om
print(f"openssl speed rsa2048: {om:.0f} sign/s (runs: {', '.join(f'{x:.0f}' for x in o)})")
print(f"keyroll proof mint   : {km:.0f} proofs/s (criterion median; runs: {', '.join(f'{x:.0f}' for x in k)})")
print(f"ratio                : {ratio:.1%} of openssl")
sys.exit(0 if ratio >= 0.95 else 1)
PY
