#!/usr/bin/env bash
# Import-Module EntraKeyRoll and the first New-EntraMSApplicationKey (the documented example, against the emulator
# over HTTPS) in fresh pwsh processes, beside a bare `pwsh -NoProfile -Command exit`, interleaved. Prints the
# median wall time of each and the difference. Usage: scripts/bench-pwsh-import.sh [RUNS] (default 5).
# Needs: pwsh (scripts/setup.sh), a packaged module (ENTRAKEYROLL_MODULE, default target/pwsh-test-out/...) and
# keyroll (KEYROLL_BIN) and keyroll-emulator (KEYROLL_EMULATOR_BIN, else beside keyroll).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-5}"
[ -x "$here/.tools/pwsh/pwsh" ] && export PATH="$here/.tools/pwsh:$PATH"
module="${ENTRAKEYROLL_MODULE:-$here/target/pwsh-test-out/EntraKeyRoll/0.1.0/EntraKeyRoll.psd1}"
bin="${KEYROLL_BIN:-$here/target/debug/keyroll}"
[ -f "$module" ] || { echo "no packaged module at $module (bash scripts/test.d/pwsh.sh packages one)" >&2; exit 1; }
work="$(mktemp -d)"; emu_pid=""
trap '[ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null; rm -rf "$work"' EXIT
"${KEYROLL_EMULATOR_BIN:-$(dirname "$bin")/keyroll-emulator}" --listen 127.0.0.1:0 --ca-file "$work/ca.pem" >"$work/emu.json" 2>/dev/null & emu_pid=$!
for _ in $(seq 1 100); do grep -q '}' "$work/emu.json" 2>/dev/null && break; sleep 0.05; done
graph="$(jq -r .graph_url "$work/emu.json")"
tenant="$(curl -sf --cacert "$work/ca.pem" "$graph/_emulator/info" | jq -r .tenantId)"
# Each run: a fresh application with a current certificate, the new certificate's base64 and a proof minted
# with openssl (outside the measured process), and a token for the app.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/cur.key" -out "$work/cur.crt" -days 30 -subj /CN=current 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/next.key" -out "$work/next.crt" -days 30 -subj /CN=next 2>/dev/null
openssl pkcs12 -export -inkey "$work/cur.key" -in "$work/cur.crt" -out "$work/cur.pfx" -passout pass:bench
cur_der="$(openssl x509 -in "$work/cur.crt" -outform DER | base64 -w0)"
next_der="$(openssl x509 -in "$work/next.crt" -outform DER | base64 -w0)"
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
: >"$work/bare"; : >"$work/first"; : >"$work/inproc"
for i in $(seq 1 "$runs"); do
  app="$(curl -sf --cacert "$work/ca.pem" -H 'Content-Type: application/json' -d "{\"displayName\":\"bench\",\"certificates\":[\"$cur_der\"]}" "$graph/_emulator/applications")"
  oid="$(jq -r .id <<<"$app")"; appid="$(jq -r .appId <<<"$app")"
  token="$(curl -sf --cacert "$work/ca.pem" -H 'Content-Type: application/json' -d "{\"appId\":\"$appid\"}" "$graph/_emulator/tokens" | jq -r .access_token)"
  proof="$(BENCH_PW=bench "$bin" proof mint --cert "$work/cur.pfx" --cert-password-env BENCH_PW --object-id "$oid")"
  ms pwsh -NoProfile -Command exit >>"$work/bare"
  export KR_TOKEN="$token" KR_PROOF="$proof"
  start=$(date +%s%N)
  pwsh -NoProfile -NonInteractive -Command "
    \$sw = [System.Diagnostics.Stopwatch]::StartNew()
    Import-Module '$module'
    \$import = \$sw.ElapsedMilliseconds
    \$t = New-Object System.Security.SecureString; foreach (\$c in \$env:KR_TOKEN.ToCharArray()) { \$t.AppendChar(\$c) }
    Connect-EntraKeyRoll -AccessToken \$t -GraphUrl '$graph' -LoginUrl '$graph' -CaCertificate '$work/ca.pem' | Out-Null
    \$params = @{
        ObjectId = '$oid'
        KeyCredential = @{ key=[System.Convert]::FromBase64String('$next_der') }
        PasswordCredential = @{ DisplayName = 'mypassword' }
        Proof = \$env:KR_PROOF
    }
    \$k = New-EntraMSApplicationKey @params -WarningAction SilentlyContinue
    if (-not \$k.KeyId) { exit 1 }
    '{0} {1}' -f \$import, (\$sw.ElapsedMilliseconds - \$import)" >>"$work/inproc"
  end=$(date +%s%N); echo $(( (end - start) / 1000000 )) >>"$work/first"
done
b="$(median <"$work/bare")"; f="$(median <"$work/first")"
echo "bare pwsh -NoProfile -Command exit: median $b ms ($(tr '\n' ' ' <"$work/bare"))"
echo "Import-Module EntraKeyRoll + Connect + first New-EntraMSApplicationKey: median $f ms ($(tr '\n' ' ' <"$work/first"))"
echo "module import + first call beyond a bare pwsh: $((f - b)) ms"
echo "inside the process: Import-Module median $(cut -d' ' -f1 <"$work/inproc" | median) ms, Connect + first New-EntraMSApplicationKey median $(cut -d' ' -f2 <"$work/inproc" | median) ms"
