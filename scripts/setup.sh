#!/usr/bin/env bash
# Installs everything the demo and the test suite need on a fresh machine of this kind (Debian, root, Rust).
# Idempotent: every step checks first, so a second run costs seconds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${KEYROLL_VENV:-$here/.venv}"

log() { printf '[setup] %s\n' "$*" >&2; }

apt_need=()
command -v openssl >/dev/null 2>&1 || apt_need+=(openssl)
command -v mcs >/dev/null 2>&1 || apt_need+=(mono-complete)
command -v gcc >/dev/null 2>&1 || apt_need+=(gcc)
# The cross-language suites of the native library (scripts/test.d/ffi-*.sh): Mono's .NET Framework 4.7.2
# reference assemblies for the binding assembly, and jq / curl to drive the emulator.
[ -f /usr/lib/mono/4.7.2-api/mscorlib.dll ] || apt_need+=(mono-complete)
command -v jq >/dev/null 2>&1 || apt_need+=(jq)
command -v curl >/dev/null 2>&1 || apt_need+=(curl)
if [ "${#apt_need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "apt-get install ${apt_need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${apt_need[@]}" >/dev/null
  else
    log "missing ${apt_need[*]} and not root: install them with your package manager"
    exit 1
  fi
fi

if [ ! -x "$venv/bin/python" ]; then
  log "creating Python venv at $venv"
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import jwt, cryptography, msal, msgraph, azure.identity, tree_sitter, tree_sitter_powershell, pytest' 2>/dev/null; then
  log "installing Python peer packages (PyJWT, cryptography, msal, msgraph-sdk, azure-identity, tree-sitter-powershell, pytest)"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/tests/python/requirements.txt"
fi
log "ready"
