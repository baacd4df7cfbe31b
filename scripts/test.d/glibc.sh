#!/usr/bin/env bash
# The glibc 2.17 route of the release, without the release's own build (a fat-LTO compile of every shipped
# binary, left to `cargo xtask release`, which runs scripts/check-glibc.sh on what it built and stops on a
# failure). Here: the zig toolchain scripts/setup.sh installs links a program against glibc 2.17, and
# scripts/check-glibc.sh passes it, while the same program linked by this machine's gcc (glibc 2.34+:
# pthread_create@GLIBC_2.34) and the debug keyroll are refused. Natives a release left in target/ are checked too.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
py="$here/.venv/bin/python"
if ! "$py" -m ziglang version >/dev/null 2>&1; then
  echo "SKIPPED: no zig (scripts/setup.sh installs ziglang into .venv from scripts/release-tools.txt)"
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail=0
cat >"$work/t.c" <<'C'
#include <pthread.h>
#include <stdio.h>
static void *run(void *arg) { return arg; }
int main(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, run, NULL) != 0) return 1;
  pthread_join(t, NULL);
  puts("ok");
  return 0;
}
C
"$py" -m ziglang cc -target x86_64-linux-gnu.2.17 -o "$work/t-217" "$work/t.c" -lpthread || { echo "FAIL: zig cc for glibc 2.17"; exit 1; }
[ "$("$work/t-217")" = ok ] || { echo "FAIL: the glibc 2.17 program does not run here"; fail=1; }
bash scripts/check-glibc.sh 2.17 "$work/t-217" || { echo "FAIL: the zig-built program is refused"; fail=1; }

host_glibc="$(getconf GNU_LIBC_VERSION | awk '{print $2}')"
if [ "$(printf '%s\n2.34\n' "$host_glibc" | sort -V | head -1)" = 2.34 ]; then
  gcc -o "$work/t-host" "$work/t.c" -lpthread
  for f in "$work/t-host" target/debug/keyroll; do
    [ -x "$f" ] || continue
    if verdict="$(bash scripts/check-glibc.sh 2.17 "$f")"; then
      echo "FAIL: $f, linked against this machine's glibc $host_glibc, passed the check: $verdict"; fail=1
    else
      echo "refused as it must be (this machine's glibc $host_glibc): ${verdict%% (*}"
    fi
  done
else
  echo "(this machine's glibc $host_glibc is older than 2.34: the refusal half is not checked here)"
fi

release_dir="target/x86_64-unknown-linux-gnu/release"
found=()
for f in libkeyroll.so keyroll keyroll-emulator; do [ -f "$release_dir/$f" ] && found+=("$release_dir/$f"); done
if [ "${#found[@]}" -gt 0 ]; then
  echo "natives of an earlier cargo xtask release:"
  bash scripts/check-glibc.sh 2.17 "${found[@]}" || fail=1
fi
exit "$fail"
