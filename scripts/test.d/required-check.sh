#!/usr/bin/env bash
# The required-suites rule of scripts/lib/suites.sh, proven on stand-in suites: a suite .ci/run requires that is
# skipped (by the machine, or by itself with exit 77) fails the run and says why; a skip nobody requires is only
# reported; a required id that names no suite fails the run; the closing line counts all of it.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ok=0; bad=0
check() { # description, expected exit (0 or non-0), words the table must show...
  local what="$1" want="$2" out rc w; shift 2
  out="$(cat)"; rc="$(tail -1 <<<"$out")"; out="$(sed '$d' <<<"$out")"
  if { [ "$want" = 0 ] && [ "$rc" != 0 ]; } || { [ "$want" != 0 ] && [ "$rc" = 0 ]; }; then
    echo "FAIL $what: exit $rc"; echo "$out" | sed 's/^/     /'; bad=$((bad+1)); return
  fi
  for w in "$@"; do
    if ! grep -qF -- "$w" <<<"$out"; then
      echo "FAIL $what: the table lacks '$w'"; echo "$out" | sed 's/^/     /'; bad=$((bad+1)); return
    fi
  done
  echo "ok   $what"; ok=$((ok+1))
}
run() { # required ids, then a script of suite/skip calls; prints the table and, last, finish's exit code
  local required="$1" body="$2"
  (
    KEYROLL_KIND=rust KEYROLL_KIND_WHY="stand-in" KEYROLL_REQUIRED_SUITES_RUST="$required" run_start=$SECONDS
    # shellcheck source=../lib/suites.sh
    source "$here/scripts/lib/suites.sh"
    eval "$body"
    finish
  ) 2>&1
  echo "$?"
}
check "a skip nobody requires is reported and passes" 0 "SKIP   b" "no tool here" "suites: 1 passed, 0 failed, 1 skipped" < <(run "" 'suite a "suite a" true; skip b "suite b" "no tool here"')
check "a required suite the machine skips fails the run" 1 "FAIL   b" "skipped, but .ci/run requires it: no tool here" "suites: 1 passed, 1 failed, 0 skipped" < <(run "a b" 'suite a "suite a" true; skip b "suite b" "no tool here"')
check "a required suite that skips itself fails the run" 1 "FAIL   a" "requires it: nothing to run with" < <(run "a" 'suite a "suite a" bash -c "echo SKIPPED: nothing to run with; exit 77"')
check "a required id that names no suite fails the run" 1 "FAIL   typo" "has none" < <(run "a typo" 'suite a "suite a" true')
check "a failing suite fails the run" 1 "FAIL   a" "exit 1" < <(run "a" 'suite a "suite a" false')
echo "required-check: $ok passed, $bad failed"
[ "$bad" = 0 ]
