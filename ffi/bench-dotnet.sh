#!/usr/bin/env bash
# Minting through the netstandard2.0 facade on .NET 10 vs the C ABI directly (same key, one thread, release
# builds), measured on this machine in one run, as a ratio facade / C that must stay at or above 0.90.
#   facade: ffi/csharp/bench/MintRate.cs on .NET 10 (ffi/csharp/bench/dotnet/MintRate.csproj, -c Release), which
#           calls SigningIdentity.MintProof of the binding assembly built by ffi/csharp/Keyroll.csproj;
#   C:      ffi/c/bench_mint.c, keyroll_identity_open_file once, then keyroll_proof_mint + keyroll_output_take.
# Both load the same libkeyroll.so. Rounds alternate the two sides, and which goes first, so that a machine that
# slows down or speeds up during the run weighs on both; the median round of each side counts.
# The native library: $KEYROLL_LIB_DIR, else $KEYROLL_PREBUILT_DIR (release builds for machines without Rust),
# else `cargo build --release -p keyroll-ffi` (target/release).
# Usage: ffi/bench-dotnet.sh [COUNT] [ROUNDS]  (defaults 2000 mints, 5 rounds per side).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
count="${1:-2000}"; rounds="${2:-5}"
for tool in dotnet gcc openssl jq; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is needed" >&2; exit 1; }
done
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT

if [ -n "${KEYROLL_LIB_DIR:-}" ]; then
  lib_dir="$KEYROLL_LIB_DIR"
elif [ -n "${KEYROLL_PREBUILT_DIR:-}" ]; then
  lib_dir="$KEYROLL_PREBUILT_DIR"
else
  cargo build --quiet --release -p keyroll-ffi --lib
  lib_dir="$root/target/release"
fi
lib_dir="$(cd "$lib_dir" && pwd)"
[ -f "$lib_dir/libkeyroll.so" ] || { echo "FAIL: no libkeyroll.so in $lib_dir" >&2; exit 1; }
echo "native library: $lib_dir/libkeyroll.so"

gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I ffi/bindings/c ffi/c/bench_mint.c \
  -L "$lib_dir" -lkeyroll -Wl,-rpath,"$lib_dir" -o "$work/bench_mint"
dotnet build ffi/csharp/bench/dotnet/MintRate.csproj -c Release --nologo -o "$work/dotnet" >"$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; exit 1; }
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/k.pem" -out "$work/c.pem" -days 2 -subj "/CN=keyroll bench" 2>/dev/null
openssl pkcs12 -export -inkey "$work/k.pem" -in "$work/c.pem" -out "$work/bench.pfx" -passout pass:bench

c_side() { "$work/bench_mint" "$work/bench.pfx" bench "$count" | jq .per_second; }
# .NET finds DllImport("keyroll") through the loader's search path (MintRate.cs does not call KeyrollNative.Load).
facade_side() { LD_LIBRARY_PATH="$lib_dir" dotnet "$work/dotnet/MintRate.dll" "$work/bench.pfx" bench "$count" | jq .per_second; }

c_rates=(); cs_rates=()
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then c="$(c_side)"; cs="$(facade_side)"; else cs="$(facade_side)"; c="$(c_side)"; fi
  c_rates+=("$c"); cs_rates+=("$cs")
  echo "round $r: C ABI $c/s, .NET 10 facade $cs/s"
done
median() { printf '%s\n' "$@" | jq -s 'sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end'; }
c_median="$(median "${c_rates[@]}")"
cs_median="$(median "${cs_rates[@]}")"
ratio="$(jq -n "$cs_median / $c_median * 1000 | round / 1000")"
echo "C ABI directly: median $c_median mints/s"
echo ".NET 10 facade (netstandard2.0): median $cs_median mints/s"
echo "ratio facade / C: $ratio (must be >= 0.90)"
jq -e -n "$ratio >= 0.90" >/dev/null || { echo "FAIL: the facade costs more than 10%"; exit 1; }
