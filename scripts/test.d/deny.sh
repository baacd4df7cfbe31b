#!/usr/bin/env bash
# cargo deny check licenses bans sources against deny.toml: every crate's licence is one deny.toml allows, no
# banned crate (a second TLS stack, SQLite outside the emulator), crates only from crates.io. The advisories
# check needs the RustSec database from the network and is not run here (README, "Releasing").
# cargo-deny is the one scripts/setup.sh builds into .tools/cargo (cargo install --locked), else one on the PATH.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
deny="$here/.tools/cargo/bin/cargo-deny"
[ -x "$deny" ] || deny="$(command -v cargo-deny || true)"
if [ -z "$deny" ]; then
  echo "SKIPPED: no cargo-deny (scripts/setup.sh builds it into .tools/cargo with cargo install --locked)"
  exit 77
fi
echo "$("$deny" --version) ($deny)"
exec "$deny" --log-level error check licenses bans sources
