#!/usr/bin/env bash
# C# on .NET 10: the binding assembly built for netstandard2.0 (ffi/csharp/Keyroll.csproj) -> the native library ->
# the emulator over HTTPS, as xunit facts (ffi/csharp/tests/dotnet): every check of the Mono suite (mint, inspect,
# two-phase signing, key credentials, list/addKey/removeKey, roll and a background roll polled to its end, error
# objects with Graph's code and request-id, use after dispose, 16 threads at once, a panic inside core), plus
# KeyrollNative.Load's reasons for a library it cannot load and its refusal of a library of another ABI.
# Builds no Rust: the native library comes from $KEYROLL_LIB_DIR (e.g. target/debug after `cargo build -p
# keyroll-ffi`), else from $KEYROLL_PREBUILT_DIR (release builds for machines without Rust); the emulator from
# $KEYROLL_EMULATOR_BIN, else $KEYROLL_PREBUILT_DIR/keyroll-emulator, else target/debug/keyroll-emulator. With $KEYROLL_PACKAGED_MODULE (a laid-out
# EntraKeyRoll module), its bin/Keyroll.dll and native library are tested instead. Exit 77 (skip) without dotnet.
source "$(dirname "${BASH_SOURCE[0]}")/../../ffi/tests/support/common.sh"
command -v dotnet >/dev/null || { echo "SKIPPED: dotnet is not installed (the .NET SDK 10 runs these tests)"; exit 77; }
for tool in gcc openssl jq curl; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is needed (scripts/setup.sh installs it)" >&2; exit 1; }
done

# Relative paths are taken from the repository root, where the other suites and test.sh run.
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$root/$1" ;; esac; }
assembly_args=()
if [ -n "${KEYROLL_PACKAGED_MODULE:-}" ]; then
  # The same tests against a laid-out EntraKeyRoll module: its assembly and its native library.
  module="$(absolute "$KEYROLL_PACKAGED_MODULE")"
  assembly_args=("-p:KeyrollAssembly=$module/bin/Keyroll.dll")
  lib_dir="$(dirname "$(ls "$module"/runtimes/linux-*/native/libkeyroll.so | head -1)")"
  echo "testing the packaged module at $module" >&2
elif [ -n "${KEYROLL_LIB_DIR:-}" ]; then
  lib_dir="$(absolute "$KEYROLL_LIB_DIR")"
elif [ -n "${KEYROLL_PREBUILT_DIR:-}" ]; then
  lib_dir="$(absolute "$KEYROLL_PREBUILT_DIR")"
else
  echo "FAIL: no native library: set KEYROLL_LIB_DIR (e.g. target/debug after cargo build -p keyroll-ffi)" \
    "or KEYROLL_PREBUILT_DIR (a folder with the release libkeyroll.so and keyroll-emulator)" >&2
  exit 1
fi
lib="$lib_dir/libkeyroll.so"
[ -f "$lib" ] || { echo "FAIL: no native library at $lib" >&2; exit 1; }
if [ -z "${KEYROLL_EMULATOR_BIN:-}" ] && [ -n "${KEYROLL_PREBUILT_DIR:-}" ]; then
  KEYROLL_EMULATOR_BIN="$KEYROLL_PREBUILT_DIR/keyroll-emulator"
fi
export KEYROLL_EMULATOR_BIN="$(absolute "${KEYROLL_EMULATOR_BIN:-target/debug/keyroll-emulator}")"
[ -x "$KEYROLL_EMULATOR_BIN" ] || { echo "FAIL: no emulator binary at $KEYROLL_EMULATOR_BIN (set KEYROLL_EMULATOR_BIN)" >&2; exit 1; }
echo "native library $lib, emulator $KEYROLL_EMULATOR_BIN" >&2

# The helper libraries of LoadTests.cs: one of another ABI, and one whose dependency is gone after linking
# (--no-as-needed keeps the dependency although nothing in it is used).
tests=ffi/csharp/tests/dotnet
gcc -std=c11 -Wall -Wextra -Werror -shared -fPIC -I ffi/bindings/c "$tests/other_abi.c" -o "$work/libother-abi.so"
gone=libkeyroll-test-gone.so
gcc -shared -fPIC -x c /dev/null -o "$work/$gone"
gcc -std=c11 -shared -fPIC -I ffi/bindings/c "$tests/other_abi.c" -L "$work" -Wl,--no-as-needed -l:"$gone" \
  -o "$work/libneeds-gone.so"
rm "$work/$gone"

start_emulator
# The emulator leaves the CA file it generated behind when it stops; it is this run's, so it goes too.
trap 'cleanup; rm -f "$CA_CERT"' EXIT
password="ffi-test-password"
for c in current next other; do make_cert "$c" "$password"; done
export KR_NATIVE_LIB="$lib" KR_GRAPH_URL="$GRAPH_URL" KR_LOGIN_URL="$LOGIN_URL" KR_CA_CERT="$CA_CERT" \
  KR_PASSWORD="$password" KR_CERTS="$work" KR_OTHER_ABI_LIB="$work/libother-abi.so" \
  KR_MISSING_DEP_LIB="$work/libneeds-gone.so" KR_MISSING_DEP="$gone"

# The console logger at normal verbosity prints one line per test; its summary gives the plain closing line.
set +e
dotnet test "$tests/Keyroll.Facade.Tests.csproj" "${assembly_args[@]}" --nologo --logger "console;verbosity=normal" 2>&1 | tee "$work/test.log"
status=${PIPESTATUS[0]}
set -e
# The summary block: "Total tests: N", then "Passed: N" and "Failed: N" (when any) on lines of their own.
total="$(sed -nE 's/^Total tests: +([0-9]+)\s*$/\1/p' "$work/test.log" | tail -1)"
passed="$(sed -nE 's/^ +Passed: +([0-9]+)\s*$/\1/p' "$work/test.log" | tail -1)"
failed="$(sed -nE 's/^ +Failed: +([0-9]+)\s*$/\1/p' "$work/test.log" | tail -1)"
echo "dotnet-facade: ${passed:-0} passed, ${failed:-0} failed"
[ "$status" = 0 ] || { echo "FAIL: dotnet test exited $status" >&2; exit 1; }
# A run that found no tests exits 0 too.
[ -n "$total" ] && [ "${passed:-0}" -gt 0 ] && [ "${passed:-0}" = "$total" ] ||
  { echo "FAIL: not every test passed (total ${total:-none}, passed ${passed:-0}), or the summary is missing" >&2; exit 1; }
