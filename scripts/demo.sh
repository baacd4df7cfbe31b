#!/usr/bin/env bash
# Builds keyroll and runs its demo on the embedded default: no arguments, no network, no tenant.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build -q -p keyroll-cli --locked
exec ./target/debug/keyroll demo "$@"
