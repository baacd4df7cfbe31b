#!/usr/bin/env bash
# C# under Mono: the binding assembly (generated bindings + facade, built for .NET Framework 4.7.2 by
# ffi/csharp/build.sh) -> the native library -> the emulator over HTTPS. Mint, inspect, two-phase signing, key
# credentials, list/addKey/removeKey, roll (and a background roll polled to its end), error objects (Graph's
# code and request-id), use after dispose, 16 threads at once, and a panic inside core surfacing as an exception.
# Exit 77 (skip) without Mono.
source "$(dirname "${BASH_SOURCE[0]}")/../../ffi/tests/support/common.sh"
command -v mono >/dev/null || { echo "SKIPPED: mono is not installed (scripts/setup.sh installs mono-complete)"; exit 77; }
build_native
if [ -n "${KEYROLL_PACKAGED_MODULE:-}" ]; then
  # The same tests against a laid-out EntraKeyRoll module: its assembly and its native library.
  # (copied beside the test program, where Mono looks for it; byte for byte the packaged file)
  mkdir -p "$work/bin"
  cp "$KEYROLL_PACKAGED_MODULE/bin/Keyroll.dll" "$work/bin/Keyroll.dll"
  assembly="$work/bin/Keyroll.dll"
  KEYROLL_LIB_DIR="$(dirname "$(ls "$KEYROLL_PACKAGED_MODULE"/runtimes/linux-*/native/libkeyroll.so | head -1)")"
  echo "testing the packaged module at $KEYROLL_PACKAGED_MODULE" >&2
else
  assembly="$(ffi/csharp/build.sh "$work/bin")"
fi
mcs -nologo -langversion:6 -r:"$assembly" -r:System.dll -r:System.Core.dll -out:"$work/bin/FacadeTests.exe" \
  ffi/csharp/tests/FacadeTests.cs
start_emulator
password="ffi-test-password"
for c in current next other; do make_cert "$c" "$password"; done
app="$(register_app current)"
export KR_GRAPH_URL="$GRAPH_URL" KR_LOGIN_URL="$LOGIN_URL" KR_CA_CERT="$CA_CERT" KR_TENANT_ID="$TENANT_ID"
export KR_OBJECT_ID="$(jq -r .id <<<"$app")" KR_APP_ID="$(jq -r .appId <<<"$app")" KR_PASSWORD="$password"
export KR_CURRENT_PFX="$work/current.pfx" KR_CURRENT_CER="$work/current.cer" KR_CURRENT_KEY="$work/current.key" \
  KR_CURRENT_PFX_3DES="$work/current-3des.pfx"
export KR_NEXT_PFX="$work/next.pfx" KR_NEXT_PFX_3DES="$work/next-3des.pfx" KR_OTHER_CER="$work/other.cer"
# A certificate in the emulated vault, registered on an application that may read, sign and create there.
admin() { curl -sf --cacert "$CA_CERT" -H 'Content-Type: application/json' -d "$2" "$GRAPH_URL/_emulator/$1"; }
vault_cert="$(admin vault/certificates '{"name":"cs-vault"}')"
vault_app="$(admin applications "{\"displayName\":\"cs vault\",\"certificates\":[\"$(jq -r .cer <<<"$vault_cert")\"]}")"
vault_app_id="$(jq -r .appId <<<"$vault_app")"
admin vault/grants "{\"principal\":\"$vault_app_id\",\"permissions\":[\"keys/get\",\"keys/sign\",\"certificates/get\",\"certificates/create\"]}" >/dev/null
export KR_VAULT_CERT_URL="$GRAPH_URL/certificates/cs-vault/$(jq -r .version <<<"$vault_cert")" \
  KR_VAULT_KID="$(jq -r .kid <<<"$vault_cert")" KR_VAULT_OBJECT_ID="$(jq -r .id <<<"$vault_app")" \
  KR_VAULT_TOKEN="$(admin tokens "{\"appId\":\"$vault_app_id\",\"resource\":\"https://vault.azure.net\"}" | jq -r .access_token)" \
  KR_VAULT_GRAPH_TOKEN="$(admin tokens "{\"appId\":\"$vault_app_id\"}" | jq -r .access_token)"
# An identity allowed to add client secrets to other objects (addPassword needs a permission, not a proof).
secrets_admin="$(admin applications '{"displayName":"cs secrets admin","roles":["Application.ReadWrite.All"]}')"
export KR_SECRETS_GRAPH_TOKEN="$(admin tokens "{\"appId\":\"$(jq -r .appId <<<"$secrets_admin")\"}" | jq -r .access_token)"
LD_LIBRARY_PATH="$KEYROLL_LIB_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" mono --debug "$work/bin/FacadeTests.exe"
