#!/usr/bin/env bash
# The guard of the prebuilt Rust binaries (verify_prebuilt in scripts/lib/machine.sh) refuses, naming the cause:
# a missing file, a file whose sha256 differs, a source path whose tree differs from the manifest, uncommitted
# changes in a source path, and a missing manifest; and accepts a faithful copy. Runs on copies in a temporary
# folder (the manifest's files are replaced by small stand-ins with their own sha256), so it needs no real build.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KEYROLL_ROOT="$here"
source "$here/scripts/lib/machine.sh"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
passed=0; failed=0
check() { # name, expected (ok|fail), pattern, dir
  local out rc
  out="$(verify_prebuilt "$4" 2>&1)"; rc=$?
  if { [ "$2" = ok ] && [ $rc = 0 ]; } || { [ "$2" = fail ] && [ $rc != 0 ] && grep -q -- "$3" <<<"$out"; }; then
    echo "ok   $1"; passed=$((passed+1))
  else
    echo "FAIL $1 (exit $rc): $out"; failed=$((failed+1))
  fi
}
# A faithful manifest for HEAD's sources, with stand-in files.
make_copy() {
  local d="$work/$1"; mkdir -p "$d"
  printf 'keyroll stand-in\n' >"$d/keyroll"; printf 'lib stand-in\n' >"$d/libkeyroll.so"
  local sources="{}" p
  for p in Cargo.toml Cargo.lock .cargo core emulator cli ffi/Cargo.toml ffi/src ffi/bindings xtask; do
    sources="$(jq --arg p "$p" --arg v "$(git -C "$here" rev-parse "HEAD:$p")" '. + {($p): $v}' <<<"$sources")"
  done
  jq -n --argjson s "$sources" --arg k "$(sha256sum "$d/keyroll" | cut -d' ' -f1)" --arg l "$(sha256sum "$d/libkeyroll.so" | cut -d' ' -f1)" \
    '{commit: "test", sources: $s, files: {keyroll: {sha256: $k}, "libkeyroll.so": {sha256: $l}}}' >"$d/MANIFEST.json"
  echo "$d"
}
dirty_rust_sources="$(git -C "$here" status --porcelain -- Cargo.toml Cargo.lock .cargo core emulator cli ffi/Cargo.toml ffi/src ffi/bindings xtask)"
good="$(make_copy good)"
if [ -z "$dirty_rust_sources" ]; then
  check "a faithful copy is accepted" ok "" "$good"
else
  echo "ok   a faithful copy is accepted: not checked, the Rust sources have uncommitted changes"
fi
d="$(make_copy missing)"; rm "$d/libkeyroll.so"
check "a missing file is named" fail "libkeyroll.so named in MANIFEST.json is missing" "$d"
d="$(make_copy tampered)"; printf 'x' >>"$d/keyroll"
check "a file that does not match its sha256 is named" fail "keyroll does not match MANIFEST.json" "$d"
d="$(make_copy other-sources)"; jq '.sources.core = "0000000000000000000000000000000000000000"' "$d/MANIFEST.json" >"$d/m" && mv "$d/m" "$d/MANIFEST.json"
check "a source path built from another tree is named, with the way out" fail "changed: core (HEAD" "$d"
check "... and the message says where to build" fail "reaches" "$d"
d="$work/none"; mkdir -p "$d"
check "a missing manifest is named" fail "MANIFEST.json does not exist" "$d"
echo "prebuilt-check: $passed passed, $failed failed"
[ "$failed" = 0 ]
