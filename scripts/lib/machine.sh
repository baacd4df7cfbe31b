# Sourced by scripts/setup.sh, scripts/test.sh and scripts/demo.sh: what this machine can do, decided by trying,
# never by a flag that could silently skip work.
#
#   rust    cargo can fetch every crate of Cargo.lock: the Rust code builds here, and everything is built from
#           source (PowerShell, where present, is extra).
#   dotnet  no Rust registry, but the .NET SDK: the Rust parts come from the release builds of the landed main in
#           ../shared/prebuilt/<rid>/, valid only while the Rust sources are exactly those they were built from
#           (verify_prebuilt below), and the PowerShell and .NET suites run against them.
#   none    neither: nothing can be built.

# Sets KEYROLL_KIND and KEYROLL_KIND_WHY.
detect_machine_kind() {
  KEYROLL_KIND=none
  KEYROLL_KIND_WHY=""
  local fetch_err
  if command -v cargo >/dev/null 2>&1; then
    # One try, no retries: a registry that answers does so at once; a closed network fails in seconds.
    if fetch_err="$(cd "$KEYROLL_ROOT" && CARGO_NET_RETRY=0 timeout 600 cargo fetch --locked -q 2>&1)"; then
      KEYROLL_KIND=rust
      KEYROLL_KIND_WHY="cargo fetches the crates of Cargo.lock"
      return 0
    fi
    KEYROLL_KIND_WHY="cargo cannot fetch the crates of Cargo.lock ($(printf '%s' "$fetch_err" | grep -m1 -iE 'error|could not' | cut -c1-160))"
  else
    KEYROLL_KIND_WHY="no cargo on the PATH"
  fi
  if command -v dotnet >/dev/null 2>&1; then
    KEYROLL_KIND=dotnet
    KEYROLL_KIND_WHY="$KEYROLL_KIND_WHY; the .NET SDK is present"
  fi
}

# The .NET runtime identifier of this machine (the folder of ../shared/prebuilt/).
host_rid() {
  local os arch
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=osx ;; *) os=unknown ;; esac
  case "$(uname -m)" in x86_64 | amd64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
  echo "$os-$arch"
}

# verify_prebuilt DIR: succeeds when DIR holds MANIFEST.json and every file it names with its sha256, and the Rust
# sources of HEAD (and of the work tree) are exactly those the files were built from. Otherwise prints why, naming
# each changed path or bad file, and fails.
verify_prebuilt() {
  local dir="$1" manifest="$1/MANIFEST.json" bad=0 path want have changed=() files=()
  if [ ! -f "$manifest" ]; then
    echo "error: no prebuilt Rust binaries: $manifest does not exist." >&2
    echo "  This machine cannot build the Rust code; ../shared/prebuilt/$(host_rid)/ must hold the release builds of the landed main." >&2
    return 1
  fi
  command -v jq >/dev/null 2>&1 || { echo "error: jq is needed to read $manifest (scripts/setup.sh installs it)" >&2; return 1; }
  if ! jq -e '.sources and .files' "$manifest" >/dev/null 2>&1; then
    echo "error: $manifest is not a prebuilt manifest (no sources/files)" >&2
    return 1
  fi
  while IFS=$'\t' read -r path want; do
    have="$(git -C "$KEYROLL_ROOT" rev-parse -q --verify "HEAD:$path" 2>/dev/null || echo missing)"
    if [ "$have" != "$want" ]; then
      changed+=("$path (HEAD $have, built from $want)")
    elif [ -n "$(git -C "$KEYROLL_ROOT" status --porcelain -- "$path")" ]; then
      changed+=("$path (uncommitted changes in the work tree)")
    fi
  done < <(jq -r '.sources | to_entries[] | "\(.key)\t\(.value)"' "$manifest")
  while IFS=$'\t' read -r path want; do
    files+=("$path")
    if [ ! -f "$dir/$path" ]; then
      echo "error: the prebuilt file $dir/$path named in MANIFEST.json is missing" >&2; bad=1; continue
    fi
    have="$(sha256sum "$dir/$path" | cut -d' ' -f1)"
    if [ "$have" != "$want" ]; then
      echo "error: the prebuilt file $dir/$path does not match MANIFEST.json (sha256 $have, expected $want)" >&2; bad=1
    fi
  done < <(jq -r '.files | to_entries[] | "\(.key)\t\(.value.sha256)"' "$manifest")
  if [ "${#changed[@]}" -gt 0 ]; then
    echo "error: the Rust sources are not those the prebuilt binaries in $dir were built from (commit $(jq -r .commit "$manifest")):" >&2
    printf '  changed: %s\n' "${changed[@]}" >&2
    echo "  The prebuilt ${files[*]} cannot stand for them. Build and test the Rust part on a machine that reaches" >&2
    echo "  the Rust registry (scripts/test.sh there builds everything from source), or restore these paths." >&2
    bad=1
  fi
  [ "$bad" = 0 ]
}

# PowerShell for the Pester suites, in this order: a `pwsh` already on the PATH at version 7.4 or later (the
# user's own), else the one scripts/setup.sh put in .tools/pwsh (unpacked from ../shared/toolchains, or installed
# as a dotnet tool). Prints the pwsh command to use, or nothing.
pwsh_min_version="7.4"
pwsh_version_of() { # pwsh command -> its version (Major.Minor.Patch), or nothing
  "$1" -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()' 2>/dev/null | tr -d '\r' | tail -1
}
version_at_least() { # have, want: succeeds when have >= want (dotted numbers)
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]
}
find_pwsh() {
  local own have
  own="$(command -v pwsh 2>/dev/null || true)"
  if [ -n "$own" ] && [ "$own" != "$KEYROLL_ROOT/.tools/pwsh/pwsh" ]; then
    have="$(pwsh_version_of "$own")"
    if [ -n "$have" ] && version_at_least "$have" "$pwsh_min_version"; then
      echo "$own"; return 0
    fi
  fi
  if [ -x "$KEYROLL_ROOT/.tools/pwsh/pwsh" ]; then
    echo "$KEYROLL_ROOT/.tools/pwsh/pwsh"; return 0
  fi
  return 1
}

# The folder with the PowerShell and Pester archives for machines without .NET (../shared/toolchains).
toolchains_dir() { echo "${KEYROLL_TOOLCHAINS:-$KEYROLL_ROOT/../shared/toolchains}"; }
