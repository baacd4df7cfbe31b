# Sourced by scripts/test.sh (and scripts/test.d/required-check.sh, which tests it): running suites, recording
# each as PASS / FAIL / SKIP with its time or reason, and the closing table with 'suites: N passed, N failed,
# N skipped'. Needs KEYROLL_KIND and KEYROLL_KIND_WHY set, and run_start (SECONDS at the start) for the total.
#
# The suites a run must not skip: .ci/run names them per kind of machine (KEYROLL_REQUIRED_SUITES_RUST,
# KEYROLL_REQUIRED_SUITES_DOTNET, suite ids as in the table); a required suite that is skipped fails the run,
# so a missing tool can never hide a suite in CI. Unset outside CI: then a skip is only reported.
required_suites() {
  case "$KEYROLL_KIND" in
    rust) echo "${KEYROLL_REQUIRED_SUITES_RUST:-}" ;;
    dotnet) echo "${KEYROLL_REQUIRED_SUITES_DOTNET:-}" ;;
  esac
}
is_required() { [[ " $(required_suites) " == *" $1 "* ]]; }

passed=0; failed=0; skipped=0
results=(); seen_ids=()
record_skip() { # id, name, reason
  seen_ids+=("$1")
  if is_required "$1"; then
    failed=$((failed+1)); results+=("FAIL|$1|$2|skipped, but .ci/run requires it: $3")
  else
    skipped=$((skipped+1)); results+=("SKIP|$1|$2|$3")
  fi
}
suite() { # id, name, command...: runs a suite; exit 77 means it skipped itself, with its reason on a SKIPPED line
  local id="$1" name="$2"; shift 2
  echo "=== $name ($id)"
  local start=$SECONDS log rc
  log="$(mktemp)"
  "$@" 2>&1 | tee "$log"
  rc="${PIPESTATUS[0]}"
  if [ "$rc" = 0 ]; then
    seen_ids+=("$id"); passed=$((passed+1)); results+=("PASS|$id|$name|$((SECONDS-start)) s")
  elif [ "$rc" = 77 ]; then
    record_skip "$id" "$name" "$(grep -m1 '^SKIPPED' "$log" | sed 's/^SKIPPED: //')"
  else
    seen_ids+=("$id"); failed=$((failed+1)); results+=("FAIL|$id|$name|exit $rc after $((SECONDS-start)) s")
  fi
  rm -f "$log"
}
skip() { # id, name, reason: a suite this kind of machine cannot run
  record_skip "$1" "$2" "$3"
}
finish() {
  local r id
  # A required id that names no suite is a mistake in .ci/run, not a pass.
  for id in $(required_suites); do
    if [[ " ${seen_ids[*]} " != *" $id "* ]]; then
      failed=$((failed+1)); results+=("FAIL|$id|(unknown)|.ci/run requires a suite with this id, and this run has none")
    fi
  done
  echo
  echo "machine: $KEYROLL_KIND ($KEYROLL_KIND_WHY)"
  [ -n "$(required_suites)" ] && echo "required by .ci/run: $(required_suites)"
  printf '%-6s %-15s %-34s %s\n' "result" "id" "suite" "detail"
  for r in "${results[@]}"; do
    IFS='|' read -r status id name detail <<<"$r"
    printf '%-6s %-15s %-34s %s\n' "$status" "$id" "$name" "$detail"
  done
  echo "total: $((SECONDS-run_start)) s"
  echo "suites: $passed passed, $failed failed, $skipped skipped"
  [ "$failed" = 0 ]
  exit $?
}
