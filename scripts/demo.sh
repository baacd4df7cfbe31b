#!/usr/bin/env bash
# Runs keyroll's demo on the embedded default: no arguments, no network, no tenant. Where the Rust code builds it
# is built from source; on a machine that cannot build Rust (scripts/lib/machine.sh), the prebuilt release build
# of the landed main in ../shared/prebuilt/<rid>/ runs, once checked to be built from exactly these sources.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
KEYROLL_ROOT="$here"
# shellcheck source=lib/machine.sh
source "$here/scripts/lib/machine.sh"
detect_machine_kind
case "$KEYROLL_KIND" in
  rust)
    cargo build -q -p keyroll-cli --locked
    exec ./target/debug/keyroll demo "$@"
    ;;
  dotnet)
    command -v jq >/dev/null 2>&1 || KEYROLL_KIND="$KEYROLL_KIND" bash scripts/setup.sh
    prebuilt="$here/../shared/prebuilt/$(host_rid)"
    verify_prebuilt "$prebuilt" || exit 1
    echo "(this machine cannot build Rust: running the prebuilt keyroll of the landed main, built from these sources)" >&2
    exec "$prebuilt/keyroll" demo "$@"
    ;;
  *)
    echo "error: this machine can neither build the Rust code nor use a prebuilt keyroll: $KEYROLL_KIND_WHY" >&2
    exit 1
    ;;
esac
