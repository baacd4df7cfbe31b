#!/usr/bin/env bash
# Sets up and runs every test this machine can run, chosen by what it can do (scripts/lib/machine.sh), and ends
# with a table of every suite — ran, or skipped and why — and the closing line 'N passed, N failed'.
#
#   rust kind    build everything from source: Rust (unit, integration, end-to-end against the emulator over real
#                sockets), the independent oracles in Python (PyJWT, MSAL, msgraph-sdk), the C, Mono C#, Python
#                and .NET suites of the native library, rustfmt, clippy, and the Pester suites wherever pwsh is.
#   dotnet kind  the Rust code cannot be built: the release builds of the landed main in ../shared/prebuilt/<rid>/
#                stand in for it, only while the Rust sources are exactly those they were built from; then the C
#                suite, the .NET facade suite (xunit on .NET 10) and the Pester suites run against them.
# Exits non-zero when anything failed.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
KEYROLL_ROOT="$here"
# shellcheck source=lib/machine.sh
source "$here/scripts/lib/machine.sh"
export CARGO_TERM_COLOR=never DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

passed=0; failed=0; skipped=0
results=()
suite() { # name, command...: runs a suite; exit 77 means it skipped itself, with its reason on its last line
  local name="$1"; shift
  echo "=== $name"
  local start=$SECONDS log rc
  log="$(mktemp)"
  "$@" 2>&1 | tee "$log"
  rc="${PIPESTATUS[0]}"
  if [ "$rc" = 0 ]; then
    passed=$((passed+1)); results+=("PASS|$name|$((SECONDS-start)) s")
  elif [ "$rc" = 77 ]; then
    skipped=$((skipped+1)); results+=("SKIP|$name|$(grep -m1 '^SKIPPED' "$log" | sed 's/^SKIPPED: //')")
  else
    failed=$((failed+1)); results+=("FAIL|$name|exit $rc after $((SECONDS-start)) s")
  fi
  rm -f "$log"
}
skip() { # name, reason: a suite this kind of machine cannot run
  skipped=$((skipped+1)); results+=("SKIP|$1|$2")
}
finish() {
  echo
  echo "machine: $KEYROLL_KIND ($KEYROLL_KIND_WHY)"
  printf '%-6s %-34s %s\n' "result" "suite" "detail"
  local r
  for r in "${results[@]}"; do
    IFS='|' read -r status name detail <<<"$r"
    printf '%-6s %-34s %s\n' "$status" "$name" "$detail"
  done
  echo "suites: $passed passed, $failed failed, $skipped skipped"
  [ "$failed" = 0 ]
  exit $?
}

detect_machine_kind
export KEYROLL_KIND KEYROLL_KIND_WHY
echo "machine: $KEYROLL_KIND ($KEYROLL_KIND_WHY)"
if ! bash scripts/setup.sh; then
  failed=$((failed+1)); results+=("FAIL|setup|scripts/setup.sh failed (its last lines say why)")
  finish
fi
# PowerShell and Pester as scripts/setup.sh installs them (where the .NET SDK is).
[ -x "$here/.tools/pwsh/pwsh" ] && export PATH="$here/.tools/pwsh:$PATH"
[ -d "$here/.tools/modules" ] && export PSModulePath="$here/.tools/modules${PSModulePath:+:$PSModulePath}"

rust_kind() {
  export KEYROLL_BIN="$here/target/debug/keyroll" KEYROLL_LIB_DIR="$here/target/debug"
  suite "cargo build" cargo build --workspace --all-targets --locked
  suite "rust tests (nextest)" cargo nextest run --workspace --no-fail-fast --locked
  suite "python oracles (pytest)" bash -c '
    "'"$here"'/.venv/bin/python" -m pytest -q tests/python; rc=$?
    [ $rc = 5 ] && { echo "no python tests collected"; exit 0; }; exit $rc'
  suite "prebuilt guard (shell)" bash scripts/test.d/prebuilt-check.sh
  suite "ffi-c (C ABI from C)" bash scripts/test.d/ffi-c.sh
  suite "ffi-csharp (Mono, net472)" bash scripts/test.d/ffi-csharp.sh
  suite "ffi-python (ctypes + PyJWT)" bash scripts/test.d/ffi-python.sh
  suite "dotnet-facade (xunit, .NET 10)" bash scripts/test.d/dotnet-facade.sh
  suite "pwsh (Pester, packaged module)" bash scripts/test.d/pwsh.sh
  suite "rustfmt" cargo fmt --all -- --check
  suite "clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
}

dotnet_kind() {
  local prebuilt="$here/../shared/prebuilt/$(host_rid)"
  echo "=== prebuilt Rust binaries ($prebuilt)"
  if ! verify_prebuilt "$prebuilt"; then
    failed=$((failed+1)); results+=("FAIL|prebuilt Rust binaries|they do not match the sources or MANIFEST.json (see above); nothing was tested")
    return
  fi
  prebuilt="$(cd "$prebuilt" && pwd)"
  passed=$((passed+1)); results+=("PASS|prebuilt Rust binaries|built from the Rust sources of HEAD ($(jq -r .commit "$prebuilt/MANIFEST.json" | cut -c1-12))")
  export KEYROLL_PREBUILT_DIR="$prebuilt" KEYROLL_BIN="$prebuilt/keyroll" KEYROLL_LIB_DIR="$prebuilt"
  local why="the Rust code cannot be built here (no Rust registry)"
  skip "cargo build" "$why"
  skip "rust tests (nextest)" "$why; they ran on the machine that built $prebuilt"
  skip "python oracles (pytest)" "no PyPI here: PyJWT, MSAL, msgraph-sdk cannot be installed"
  suite "prebuilt guard (shell)" bash scripts/test.d/prebuilt-check.sh
  suite "ffi-c (C ABI from C)" bash scripts/test.d/ffi-c.sh
  if command -v mono >/dev/null 2>&1; then
    suite "ffi-csharp (Mono, net472)" bash scripts/test.d/ffi-csharp.sh
  else
    skip "ffi-csharp (Mono, net472)" "Mono is installed on the rust kind only; here the same facade runs on .NET 10 (dotnet-facade)"
  fi
  skip "ffi-python (ctypes + PyJWT)" "no PyPI here: PyJWT cannot be installed"
  suite "dotnet-facade (xunit, .NET 10)" bash scripts/test.d/dotnet-facade.sh
  suite "pwsh (Pester, packaged module)" bash scripts/test.d/pwsh.sh
  skip "rustfmt" "$why"
  skip "clippy" "$why"
}

case "$KEYROLL_KIND" in
  rust) rust_kind ;;
  dotnet) dotnet_kind ;;
esac
finish
