#!/usr/bin/env bash
# Python through the generated ctypes binding: mint (verified by PyJWT) and addKey against the emulator
# (ffi/python/test_ffi_python.py).
source "$(dirname "${BASH_SOURCE[0]}")/../../ffi/tests/support/common.sh"
python="${KEYROLL_VENV:-$root/.venv}/bin/python"
"$python" -c 'import jwt, cryptography, pytest' 2>/dev/null || { echo "SKIPPED: the Python venv lacks PyJWT/cryptography/pytest (scripts/setup.sh installs them)"; exit 77; }
build_native
start_emulator
password="py-test-password"
for c in current other; do make_cert "$c" "$password"; done
app="$(register_app current)"
export KR_GRAPH_URL="$GRAPH_URL" KR_LOGIN_URL="$LOGIN_URL" KR_CA_CERT="$CA_CERT" KR_TENANT_ID="$TENANT_ID"
export KR_OBJECT_ID="$(jq -r .id <<<"$app")" KR_APP_ID="$(jq -r .appId <<<"$app")" KR_PASSWORD="$password"
export KR_CURRENT_PFX="$work/current.pfx" KR_CURRENT_CER="$work/current.cer" KR_OTHER_CER="$work/other.cer" KR_OTHER_PFX="$work/other.pfx"
"$python" -m pytest -q -p no:cacheprovider ffi/python
