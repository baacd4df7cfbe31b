#!/usr/bin/env bash
# Every Pester file in pwsh-module/tests, under PowerShell 7 against the packaged module and the emulator, through
# build.ps1 (-Task Package, Test) exactly as a developer runs it. The module is packaged from the debug builds, or,
# on a machine that cannot build Rust, from the verified prebuilt xtask, libkeyroll.so and keyroll named by
# KEYROLL_PREBUILT_DIR (scripts/test.sh). Skipped (exit 77) only where there is no PowerShell: the rust kind of
# machine cannot install it.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
if ! command -v pwsh >/dev/null 2>&1; then
  echo "SKIPPED: no PowerShell on this machine ('pwsh' is not on the PATH; scripts/setup.sh installs it where the .NET SDK is)"
  exit 77
fi
out="$here/target/pwsh-test-out"
if [ -n "${KEYROLL_PREBUILT_DIR:-}" ]; then
  p="$KEYROLL_PREBUILT_DIR"
  exec pwsh -NoProfile -NonInteractive -Command "& ./build.ps1 -Task Package, Test -Configuration release -OutputPath '$out' \
    -XtaskPath '$p/xtask' -Native 'linux-x64=$p/libkeyroll.so' -KeyrollPath '$p/keyroll'; exit \$LASTEXITCODE"
fi
cargo build --quiet -p keyroll-cli --bin keyroll || exit 1
exec pwsh -NoProfile -NonInteractive -Command "& ./build.ps1 -Task Package, Test -Configuration debug -OutputPath '$out' \
  -KeyrollPath '$here/target/debug/keyroll'; exit \$LASTEXITCODE"
