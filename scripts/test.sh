#!/usr/bin/env bash
# Sets up and runs every test this machine can run, chosen by what it can do (scripts/lib/machine.sh), and ends
# with a table of every suite — ran, or skipped and why — and the closing line 'N passed, N failed'.
#
#   rust kind    build everything from source: Rust (unit, integration, end-to-end against the emulator over real
#                sockets), the independent oracles in Python (PyJWT, MSAL, msgraph-sdk), the C, Mono C#, Python
#                and .NET suites of the native library, rustfmt, clippy, cargo deny (licences, bans, sources), and
#                the Pester suites wherever pwsh is.
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

# The table of suites (suite, skip, finish) and the required-suites rule: scripts/lib/suites.sh.
# shellcheck source=lib/suites.sh
source "$here/scripts/lib/suites.sh"
run_start=$SECONDS

detect_machine_kind
export KEYROLL_KIND KEYROLL_KIND_WHY
echo "machine: $KEYROLL_KIND ($KEYROLL_KIND_WHY)"
setup_start=$SECONDS
if ! bash scripts/setup.sh; then
  failed=$((failed+1)); results+=("FAIL|setup|scripts/setup.sh|failed after $((SECONDS-setup_start)) s (its last lines say why)")
  finish
fi
results+=("DONE|setup|scripts/setup.sh (not a suite)|$((SECONDS-setup_start)) s")
# PowerShell and Pester as scripts/setup.sh left them: the user's pwsh 7.4+, else .tools/pwsh (machine.sh).
if pwsh_cmd="$(find_pwsh)"; then export PATH="$(dirname "$pwsh_cmd"):$PATH"; fi
[ -d "$here/.tools/modules" ] && export PSModulePath="$here/.tools/modules${PSModulePath:+:$PSModulePath}"

rust_kind() {
  # The binaries the suites run: `cargo build --workspace` below makes both, so the Rust suites use this
  # emulator instead of building it again (keyroll-testkit's emulator_bin).
  export KEYROLL_BIN="$here/target/debug/keyroll" KEYROLL_EMULATOR_BIN="$here/target/debug/keyroll-emulator" \
    KEYROLL_LIB_DIR="$here/target/debug"
  suite build "cargo build" cargo build --workspace --all-targets --locked
  suite nextest "rust tests (nextest)" cargo nextest run --workspace --no-fail-fast --locked
  suite pytest "python oracles (pytest)" bash -c '
    "'"$here"'/.venv/bin/python" -m pytest -q tests/python; rc=$?
    [ $rc = 5 ] && { echo "no python tests collected"; exit 0; }; exit $rc'
  suite prebuilt-guard "prebuilt guard (shell)" bash scripts/test.d/prebuilt-check.sh
  suite required-check "required-suites rule (shell)" bash scripts/test.d/required-check.sh
  suite ffi-c "ffi-c (C ABI from C)" bash scripts/test.d/ffi-c.sh
  suite ffi-csharp "ffi-csharp (Mono, net472)" bash scripts/test.d/ffi-csharp.sh
  suite ffi-python "ffi-python (ctypes + PyJWT)" bash scripts/test.d/ffi-python.sh
  suite dotnet-facade "dotnet-facade (xunit, .NET 10)" bash scripts/test.d/dotnet-facade.sh
  suite pwsh "pwsh (Pester, packaged module)" bash scripts/test.d/pwsh.sh
  suite rustfmt "rustfmt" cargo fmt --all -- --check
  suite clippy "clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
  suite deny "cargo deny (licenses bans sources)" bash scripts/test.d/deny.sh
  suite glibc "glibc 2.17 route (zig, check)" bash scripts/test.d/glibc.sh
}

dotnet_kind() {
  local prebuilt="$here/../shared/prebuilt/$(host_rid)"
  echo "=== prebuilt Rust binaries ($prebuilt)"
  if ! verify_prebuilt "$prebuilt"; then
    failed=$((failed+1)); results+=("FAIL|prebuilt|prebuilt Rust binaries|they do not match the sources or MANIFEST.json (see above); nothing was tested")
    return
  fi
  prebuilt="$(cd "$prebuilt" && pwd)"
  seen_ids+=(prebuilt); passed=$((passed+1)); results+=("PASS|prebuilt|prebuilt Rust binaries|built from the Rust sources of HEAD ($(jq -r .commit "$prebuilt/MANIFEST.json" | cut -c1-12))")
  export KEYROLL_PREBUILT_DIR="$prebuilt" KEYROLL_BIN="$prebuilt/keyroll" \
    KEYROLL_EMULATOR_BIN="$prebuilt/keyroll-emulator" KEYROLL_LIB_DIR="$prebuilt"
  local why="the Rust code cannot be built here (no Rust registry)"
  skip build "cargo build" "$why"
  skip nextest "rust tests (nextest)" "$why; they ran on the machine that built $prebuilt"
  skip pytest "python oracles (pytest)" "no PyPI here: PyJWT, MSAL, msgraph-sdk cannot be installed"
  suite prebuilt-guard "prebuilt guard (shell)" bash scripts/test.d/prebuilt-check.sh
  suite required-check "required-suites rule (shell)" bash scripts/test.d/required-check.sh
  suite ffi-c "ffi-c (C ABI from C)" bash scripts/test.d/ffi-c.sh
  if command -v mono >/dev/null 2>&1; then
    suite ffi-csharp "ffi-csharp (Mono, net472)" bash scripts/test.d/ffi-csharp.sh
  else
    skip ffi-csharp "ffi-csharp (Mono, net472)" "Mono is installed on the rust kind only; here the same facade runs on .NET 10 (dotnet-facade)"
  fi
  skip ffi-python "ffi-python (ctypes + PyJWT)" "no PyPI here: PyJWT cannot be installed"
  suite dotnet-facade "dotnet-facade (xunit, .NET 10)" bash scripts/test.d/dotnet-facade.sh
  suite pwsh "pwsh (Pester, packaged module)" bash scripts/test.d/pwsh.sh
  skip rustfmt "rustfmt" "$why"
  skip clippy "clippy" "$why"
  skip deny "cargo deny (licenses bans sources)" "$why (cargo-deny reads cargo metadata)"
  skip glibc "glibc 2.17 route (zig, check)" "$why (the release builds the natives with cargo zigbuild)"
}

case "$KEYROLL_KIND" in
  rust) rust_kind ;;
  dotnet) dotnet_kind ;;
esac
finish
