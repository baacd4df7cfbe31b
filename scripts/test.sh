#!/usr/bin/env bash
# Sets up and runs every test of the project: Rust (unit, integration, end-to-end against the emulator over real
# sockets), the independent oracles in Python (PyJWT, MSAL, msgraph-sdk), and the cross-language suites.
# Prints a closing line 'N passed, N failed' and exits non-zero when anything failed.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
export CARGO_TERM_COLOR=never

passed=0; failed=0; skipped=0
results=()
suite() { # name, command...
  local name="$1"; shift
  echo "=== $name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed+1)); results+=("PASS $name ($((SECONDS-start)) s)")
  else
    local rc=$?
    if [ "$rc" = 77 ]; then skipped=$((skipped+1)); results+=("SKIP $name")
    else failed=$((failed+1)); results+=("FAIL $name (exit $rc)"); fi
  fi
}

bash scripts/setup.sh || { echo "setup failed"; exit 1; }
export KEYROLL_BIN="$here/target/debug/keyroll"

suite "cargo build" cargo build --workspace --all-targets --locked
suite "rust tests (nextest)" cargo nextest run --workspace --no-fail-fast --locked
suite "python oracles (pytest)" bash -c '
  "'"$here"'/.venv/bin/python" -m pytest -q tests/python; rc=$?
  [ $rc = 5 ] && { echo "no python tests collected"; exit 0; }; exit $rc'
for extra in scripts/test.d/*.sh; do
  [ -e "$extra" ] || continue
  suite "$(basename "$extra" .sh)" bash "$extra"
done
suite "rustfmt" cargo fmt --all -- --check
suite "clippy" cargo clippy --workspace --all-targets --locked -- -D warnings

echo
printf '%s\n' "${results[@]}"
echo "suites: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
