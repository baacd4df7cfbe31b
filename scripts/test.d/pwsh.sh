#!/usr/bin/env bash
# Every Pester file in pwsh-module/tests, under PowerShell 7 against the packaged module and the emulator, through
# build.ps1 (-Task Package, Test) exactly as a developer runs it. The module is packaged from the debug builds, or,
# on a machine that cannot build Rust, from the verified prebuilt xtask, libkeyroll.so and keyroll-emulator named by
# KEYROLL_PREBUILT_DIR (scripts/test.sh). The package step also makes the .nupkg (build.ps1 -Task Publish) that
# EntraKeyRoll.Install.Tests.ps1's flow installs from. Skipped (exit 77) only where there is no PowerShell 7.4+
# (scripts/setup.sh unpacks one from ../shared/toolchains where no .NET SDK is); .ci/run makes that skip a failure.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
if ! command -v pwsh >/dev/null 2>&1; then
  echo "SKIPPED: no PowerShell on this machine ('pwsh' is not on the PATH, and scripts/setup.sh found neither the .NET SDK nor ../shared/toolchains/pwsh-*.tar.xz to install it from)"
  exit 77
fi
out="$here/target/pwsh-test-out"
if [ -n "${KEYROLL_PREBUILT_DIR:-}" ]; then
  p="$KEYROLL_PREBUILT_DIR"
  exec pwsh -NoProfile -NonInteractive -Command "& ./build.ps1 -Task Package, Publish, Test -Configuration release -OutputPath '$out' \
    -XtaskPath '$p/xtask' -Native 'linux-x64=$p/libkeyroll.so' -EmulatorPath '$p/keyroll-emulator'; exit \$LASTEXITCODE"
fi
cargo build --quiet -p keyroll-emulator --bin keyroll-emulator || exit 1
exec pwsh -NoProfile -NonInteractive -Command "& ./build.ps1 -Task Package, Publish, Test -Configuration debug -OutputPath '$out' \
  -EmulatorPath '$here/target/debug/keyroll-emulator'; exit \$LASTEXITCODE"
