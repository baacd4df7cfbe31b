#!/usr/bin/env bash
# Builds the binding assembly Keyroll.dll (the generated bindings in ffi/bindings/csharp + the facade in
# ffi/csharp) for .NET Framework 4.7.2 with Mono's mcs, against the reference assemblies of Debian's Mono —
# Windows PowerShell 5.1 loads it natively and PowerShell 7 through .NET's mscorlib facade.
# Usage: ffi/csharp/build.sh [OUT_DIR]   (default: target/csharp). Prints the assembly's path.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$root/target/csharp}"
api="${MONO_API_DIR:-/usr/lib/mono/4.7.2-api}"
command -v mcs >/dev/null || { echo "mcs not found: apt-get install mono-complete (scripts/setup.sh does)" >&2; exit 77; }
[ -f "$api/mscorlib.dll" ] || { echo "no .NET Framework 4.7.2 reference assemblies at $api" >&2; exit 77; }
mkdir -p "$out"
mcs -nologo -nostdlib -target:library -langversion:6 -optimize+ -warnaserror+ -nowarn:1591 \
  -r:"$api/mscorlib.dll" -r:"$api/System.dll" -r:"$api/System.Core.dll" \
  -r:"$api/System.Runtime.Serialization.dll" -r:"$api/System.Xml.dll" -r:"$api/Facades/netstandard.dll" \
  -out:"$out/Keyroll.dll" "$root"/ffi/bindings/csharp/*.cs "$root"/ffi/csharp/*.cs >&2
echo "$out/Keyroll.dll"
