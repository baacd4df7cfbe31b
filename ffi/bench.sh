#!/usr/bin/env bash
# The two figures of the native library, measured on this machine in one run:
#   1. minting through the C# facade under Mono vs core in-process (same key, one thread, release builds),
#      as a ratio that must stay at or above 0.90;
#   2. the size of the stripped release cdylib, which must stay under 8 MB.
# Usage: ffi/bench.sh [COUNT] [ROUNDS]  (defaults 3000 mints, 3 rounds; the best round of each side counts).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
count="${1:-3000}"; rounds="${2:-3}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT

cargo build --quiet --release -p keyroll-ffi --lib --example mint_rate
lib="$root/target/release/libkeyroll.so"
assembly="$(ffi/csharp/build.sh "$work/bin")"
mcs -nologo -langversion:6 -optimize+ -r:"$assembly" -out:"$work/bin/MintRate.exe" ffi/csharp/bench/MintRate.cs
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/k.pem" -out "$work/c.pem" -days 2 -subj "/CN=keyroll bench" 2>/dev/null
openssl pkcs12 -export -inkey "$work/k.pem" -in "$work/c.pem" -out "$work/bench.pfx" -passout pass:bench

best_rust=0; best_cs=0
for r in $(seq 1 "$rounds"); do
  rust="$(target/release/examples/mint_rate "$work/bench.pfx" bench "$count" | jq .per_second)"
  cs="$(LD_LIBRARY_PATH="$root/target/release" mono "$work/bin/MintRate.exe" "$work/bench.pfx" bench "$count" | jq .per_second)"
  echo "round $r: core in-process $rust/s, C# facade under Mono $cs/s"
  best_rust="$(jq -n "[$best_rust, $rust] | max")"; best_cs="$(jq -n "[$best_cs, $cs] | max")"
done
ratio="$(jq -n "$best_cs / $best_rust * 1000 | round / 1000")"
size="$(stat -c %s "$lib")"
size_mb="$(jq -n "$size / 1048576 * 100 | round / 100")"
echo "core in-process: $best_rust mints/s"
echo "C# facade (Mono): $best_cs mints/s"
echo "ratio: $ratio (must be >= 0.90)"
echo "stripped release cdylib: $size bytes ($size_mb MiB; must be < 8 MB)"
ok=1
jq -e -n "$ratio >= 0.90" >/dev/null || { echo "FAIL: the boundary costs more than 10%"; ok=0; }
[ "$size" -lt 8000000 ] || { echo "FAIL: the cdylib is 8 MB or more"; ok=0; }
[ "$ok" = 1 ]
