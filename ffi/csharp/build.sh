#!/usr/bin/env bash
# Builds the binding assembly Keyroll.dll (the generated bindings in ffi/bindings/csharp + the facade in
# ffi/csharp) for .NET Framework 4.7.2 with Mono's mcs — Windows PowerShell 5.1 loads it natively and PowerShell 7
# through .NET's mscorlib facade. The recipe is xtask's (`cargo xtask assembly`, the one `cargo xtask package`
# uses for the module), so both carry the workspace version; $KEYROLL_XTASK names a built xtask instead of cargo.
# Usage: ffi/csharp/build.sh [OUT_DIR]   (default: target/csharp). Prints the assembly's path.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$root/target/csharp}"
api="${MONO_API_DIR:-/usr/lib/mono/4.7.2-api}"
command -v mcs >/dev/null || { echo "mcs not found: apt-get install mono-complete (scripts/setup.sh does)" >&2; exit 77; }
[ -f "$api/mscorlib.dll" ] || { echo "no .NET Framework 4.7.2 reference assemblies at $api" >&2; exit 77; }
if [ -n "${KEYROLL_XTASK:-}" ]; then
  (cd "$root" && "$KEYROLL_XTASK" assembly --framework net472 --profile release --out "$out") | tail -1
else
  (cd "$root" && cargo -q xtask assembly --framework net472 --profile release --out "$out") | tail -1
fi
