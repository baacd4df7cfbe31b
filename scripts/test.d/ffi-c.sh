#!/usr/bin/env bash
# C against the generated header ffi/bindings/c/keyroll.h: mint + inspect and the error paths (ffi/c/test_keyroll.c).
source "$(dirname "${BASH_SOURCE[0]}")/../../ffi/tests/support/common.sh"
command -v gcc >/dev/null || { echo "SKIPPED: gcc is not installed (scripts/setup.sh installs it)"; exit 77; }
build_native
gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I ffi/bindings/c ffi/c/test_keyroll.c \
  -L "$KEYROLL_LIB_DIR" -lkeyroll -lcrypto -pthread -Wl,-rpath,"$KEYROLL_LIB_DIR" -o "$work/test_keyroll"
make_cert signer "c-test-password"
"$work/test_keyroll" "$work/signer.pfx" "c-test-password" "$work/signer.pem" "$work/signer.cer"
