#!/usr/bin/env bash
# Runs keyroll's demo on the embedded default: no arguments, no network, no tenant. First the CLI (`keyroll demo`:
# the emulator binary keyroll-emulator started for it, a fresh application, a whole roll over HTTPS, narrated); then, where PowerShell is
# available (scripts/setup.sh --demo unpacks it from ../shared/toolchains on a machine without it), the module's
# face: Microsoft's documented `New-EntraMSApplicationKey @params` example run as written against the same kind of
# emulator, with the proof minted by New-EntraKeyProof (scripts/demo.ps1).
# Where the Rust code builds it is built from source; on a machine that cannot build Rust (scripts/lib/machine.sh),
# the prebuilt release build of the landed main in ../shared/prebuilt/<rid>/ runs, once checked to be built from
# exactly these sources.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
KEYROLL_ROOT="$here"
# shellcheck source=lib/machine.sh
source "$here/scripts/lib/machine.sh"
detect_machine_kind
export KEYROLL_KIND KEYROLL_KIND_WHY
bash scripts/setup.sh --demo
case "$KEYROLL_KIND" in
  rust)
    cargo build -q -p keyroll-cli -p keyroll-emulator --locked
    keyroll="$here/target/debug/keyroll"
    emulator="$here/target/debug/keyroll-emulator"
    package() { cargo -q xtask package --profile debug --out "$here/target/demo-module"; }
    ;;
  dotnet)
    prebuilt="$here/../shared/prebuilt/$(host_rid)"
    verify_prebuilt "$prebuilt" || exit 1
    prebuilt="$(cd "$prebuilt" && pwd)"
    echo "(this machine cannot build Rust: running the prebuilt keyroll of the landed main, built from these sources)" >&2
    keyroll="$prebuilt/keyroll"
    emulator="$prebuilt/keyroll-emulator"
    package() { "$prebuilt/xtask" package --native "linux-x64=$prebuilt/libkeyroll.so" --out "$here/target/demo-module"; }
    ;;
  *)
    echo "error: this machine can neither build the Rust code nor use a prebuilt keyroll: $KEYROLL_KIND_WHY" >&2
    exit 1
    ;;
esac

KEYROLL_EMULATOR_BIN="$emulator" "$keyroll" demo "$@"

if ! pwsh_cmd="$(find_pwsh)"; then
  echo
  echo "(the PowerShell part of the demo needs PowerShell 7.4+; none is on the PATH and scripts/setup.sh found none to install)"
  exit 0
fi
echo
echo "=============================================================================================="
echo " The same job from PowerShell: the EntraKeyRoll module ($("$pwsh_cmd" -NoProfile -Command '$PSVersionTable.PSVersion.ToString()'))"
echo "=============================================================================================="
pack_log="$(mktemp)"
trap 'rm -f "$pack_log"' EXIT
if ! module_dir="$(package 2>"$pack_log" | tail -1)" || [ ! -f "$module_dir/EntraKeyRoll.psd1" ]; then
  cat "$pack_log" >&2
  echo "error: packaging the module failed (see above)" >&2
  exit 1
fi
"$pwsh_cmd" -NoProfile -NonInteractive -File "$here/scripts/demo.ps1" -EmulatorPath "$emulator" -Module "$module_dir/EntraKeyRoll.psd1"
