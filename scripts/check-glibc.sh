#!/usr/bin/env bash
# check-glibc.sh MAX FILE...: prints the highest GLIBC_ symbol version each ELF file needs (from its dynamic
# symbol table, objdump -T; readelf --version-info where objdump is missing) and fails when one needs more than
# MAX (e.g. 2.17: RHEL 7/8, Ubuntu 20.04 and Azure Automation's older Linux workers load it). A file that needs
# no versioned glibc symbol counts as 2.0. `cargo xtask release` runs it on the Linux natives it builds.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 MAX FILE..." >&2; exit 2; }
max="$1"; shift
versions() {
  if command -v objdump >/dev/null 2>&1; then
    objdump -T "$1"
  else
    readelf --version-info --wide "$1"
  fi | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV
}
bad=0
for f in "$@"; do
  [ -f "$f" ] || { echo "error: $f does not exist" >&2; bad=1; continue; }
  highest="$(versions "$f" | tail -1)"
  highest="${highest:-2.0}"
  if [ "$(printf '%s\n%s\n' "$highest" "$max" | sort -V | tail -1)" = "$max" ]; then
    echo "ok    GLIBC_$highest  $f"
  else
    echo "FAIL  GLIBC_$highest  $f (needs more than GLIBC_$max; build it with cargo zigbuild --target <triple>.$max)"
    bad=1
  fi
done
exit "$bad"
