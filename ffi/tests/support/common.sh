# Shared by the cross-language suites in scripts/test.d/ffi-*.sh: build what they need, start an emulator on a
# free port, make throw-away certificates, register an application. Source it; it sets `set -euo pipefail`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"
work="$(mktemp -d "${TMPDIR:-/tmp}/keyroll-ffi-test.XXXXXX")"
emulator_pid=""
cleanup() {
  if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The native library and the emulator binary: the debug builds (target/debug), or, on a machine that cannot build
# Rust, the verified release builds scripts/test.sh names in KEYROLL_PREBUILT_DIR (libkeyroll.so, keyroll-emulator).
build_native() {
  if [ -n "${KEYROLL_PREBUILT_DIR:-}" ]; then
    export KEYROLL_LIB_DIR="$KEYROLL_PREBUILT_DIR" KEYROLL_EMULATOR_BIN="$KEYROLL_PREBUILT_DIR/keyroll-emulator"
    echo "using the prebuilt native library and emulator in $KEYROLL_PREBUILT_DIR" >&2
    return 0
  fi
  cargo build --quiet -p keyroll-ffi >&2
  [ -x target/debug/keyroll-emulator ] || cargo build --quiet -p keyroll-emulator --bin keyroll-emulator >&2
  export KEYROLL_LIB_DIR="$root/target/debug"
}

# Starts `keyroll-emulator` over HTTPS and sets GRAPH_URL, LOGIN_URL, CA_CERT, TENANT_ID.
start_emulator() {
  local bin="${KEYROLL_EMULATOR_BIN:-$root/target/debug/keyroll-emulator}"
  "$bin" --listen 127.0.0.1:0 >"$work/emulator.out" 2>"$work/emulator.err" &
  emulator_pid=$!
  for _ in $(seq 1 200); do
    [ -s "$work/emulator.out" ] && break
    kill -0 "$emulator_pid" 2>/dev/null || { cat "$work/emulator.err" >&2; return 1; }
    sleep 0.05
  done
  local info; info="$(head -1 "$work/emulator.out")"
  GRAPH_URL="$(jq -r .graph_url <<<"$info")"
  LOGIN_URL="$(jq -r .login_url <<<"$info")"
  CA_CERT="$(jq -r .ca_cert <<<"$info")"
  TENANT_ID="$(curl -sf --cacert "$CA_CERT" "$GRAPH_URL/_emulator/info" | jq -r .tenantId)"
  export GRAPH_URL LOGIN_URL CA_CERT TENANT_ID
}

# make_cert NAME PASSWORD: $work/NAME.pfx (AES-256, with key), NAME-3des.pfx (the older encryption Mono's X509
# reader needs), NAME.pem (cert + key), NAME.key, NAME.cer (DER), NAME.crt (PEM cert).
make_cert() {
  local name="$1" password="$2"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/$name.key" -out "$work/$name.crt" -days 30 \
    -subj "/CN=keyroll ffi test $name" 2>/dev/null
  openssl pkcs12 -export -inkey "$work/$name.key" -in "$work/$name.crt" -out "$work/$name.pfx" -passout "pass:$password"
  openssl pkcs12 -export -inkey "$work/$name.key" -in "$work/$name.crt" -out "$work/$name-3des.pfx" -passout "pass:$password" \
    -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1
  openssl x509 -in "$work/$name.crt" -outform DER -out "$work/$name.cer"
  cat "$work/$name.crt" "$work/$name.key" >"$work/$name.pem"
}

# register_app CERT_NAME: registers an application with that certificate; prints {id, appId, tenantId, ...}.
register_app() {
  local der; der="$(base64 -w0 "$work/$1.cer")"
  curl -sf --cacert "$CA_CERT" -H 'Content-Type: application/json' \
    -d "{\"displayName\":\"ffi test\",\"certificates\":[\"$der\"]}" "$GRAPH_URL/_emulator/applications"
}
