#!/usr/bin/env bash
# Pester 5 tests of the PowerShell module (pwsh-module/tests), against the packaged module and the emulator.
# They need PowerShell 7 (`pwsh`) with Pester 5; without them this suite says so and is skipped (exit 77). The
# grammar, contract and packaging tests of the module run without PowerShell in tests/python/test_pwsh_module.py.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
if ! command -v pwsh >/dev/null 2>&1; then
  echo "SKIPPED: the Pester tests in pwsh-module/tests need PowerShell ('pwsh' is not on the PATH); the module's grammar, contract and packaging tests ran in the pytest suite"
  exit 77
fi
if ! pwsh -NoProfile -Command 'if (-not (Get-Module -ListAvailable Pester | Where-Object Version -ge 5.0)) { exit 1 }'; then
  echo "SKIPPED: Pester 5 is not installed for pwsh (Install-Module Pester -MinimumVersion 5.0 -Scope CurrentUser)"
  exit 77
fi
out="$here/target/pwsh-test-out"
dest="$(cargo xtask package --profile debug --out "$out")" || exit 1
export ENTRAKEYROLL_MODULE="$dest/EntraKeyRoll.psd1"
export KEYROLL_BIN="${KEYROLL_BIN:-$here/target/debug/keyroll}"
exec pwsh -NoProfile -NonInteractive -Command '
  $c = New-PesterConfiguration; $c.Run.Path = "pwsh-module/tests"; $c.Run.Exit = $true; $c.Output.Verbosity = "Detailed"
  Invoke-Pester -Configuration $c'
