#!/usr/bin/env bash
# N rollovers on the emulator (over HTTPS), the same work three ways, each timed end to end:
#   pwsh-loop   one pwsh process: Import-Module, then `foreach` over N object ids, Invoke-EntraKeyRollover each
#               (only the loop is timed);
#   pwsh-bulk   the same N rows piped as objects: `$rows | Invoke-EntraKeyRollover -ThrottleLimit 8` (one bulk
#               operation in the library);
#   cli-loop    `keyroll roll` N times in a bash loop (a process, a TLS connection and a token per roll);
#   cli-plan    `keyroll roll --plan` with the N rows (one process, --concurrency 8).
# Each way rolls its own N fresh applications (current -> next, -RemoveOld, verified), signed in as one
# automation identity (Application.ReadWrite.All), as a runbook would. Prints the seconds of each.
# Usage: scripts/bench-pwsh-rollover.sh [N] (default 50). MODES="pwsh-bulk cli-plan" runs only those ways;
# BUDGET=100/10 gives the emulator that write budget (writes/seconds per app and tenant) and prints the floor it
# imposes on N rolls (2 writes each: floor((2N-1)/writes)*seconds, see scripts/bench-bulk-roll.sh) and each way's
# ratio to it; THROTTLE=16 sets -ThrottleLimit / --concurrency (default 8). Needs: pwsh (scripts/setup.sh), a packaged module
# (ENTRAKEYROLL_MODULE, default the one scripts/test.d/pwsh.sh packages), keyroll (KEYROLL_BIN) and keyroll-emulator (KEYROLL_EMULATOR_BIN, else beside keyroll), openssl, jq, curl.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
n="${1:-50}"
modes="${MODES:-pwsh-loop pwsh-bulk cli-loop cli-plan}"
throttle="${THROTTLE:-8}"
budget_args=()
[ -n "${BUDGET:-}" ] && budget_args=(--write-budget "$BUDGET")
want() { case " $modes " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
floor_s=""
if [ -n "${BUDGET:-}" ]; then
  floor_s=$(awk -v n="$n" -v b="$BUDGET" 'BEGIN{split(b,p,"/"); printf "%.1f", int((2*n-1)/p[1])*p[2]}')
  echo "write budget $BUDGET: $((2*n)) writes need at least $floor_s s"
fi
ratio() { [ -n "$floor_s" ] && awk -v t="$1" -v f="$floor_s" 'BEGIN{if (f>0) printf " = %.3fx the budget floor", t/f}'; true; }
[ -x "$here/.tools/pwsh/pwsh" ] && export PATH="$here/.tools/pwsh:$PATH"
module="${ENTRAKEYROLL_MODULE:-$(ls "$here"/target/pwsh-test-out/EntraKeyRoll/*/EntraKeyRoll.psd1 2>/dev/null | head -1)}"
bin="${KEYROLL_BIN:-$here/target/debug/keyroll}"
[ -f "$module" ] || { echo "no packaged module (bash scripts/test.d/pwsh.sh packages one; or set ENTRAKEYROLL_MODULE)" >&2; exit 1; }
work="$(mktemp -d)"; emu_pid=""
trap '[ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null; rm -rf "$work"' EXIT
"${KEYROLL_EMULATOR_BIN:-$(dirname "$bin")/keyroll-emulator}" --listen 127.0.0.1:0 --ca-file "$work/ca.pem" "${budget_args[@]}" >"$work/emu.json" 2>/dev/null & emu_pid=$!
for _ in $(seq 1 100); do grep -q '}' "$work/emu.json" 2>/dev/null && break; sleep 0.05; done
graph="$(jq -r .graph_url "$work/emu.json")"; login="$(jq -r .login_url "$work/emu.json")"
admin() { curl -sf --cacert "$work/ca.pem" -H 'Content-Type: application/json' "$@"; }
tenant="$(admin "$graph/_emulator/info" | jq -r .tenantId)"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/cur.key" -out "$work/cur.crt" -days 30 -subj /CN=current 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/next.key" -out "$work/next.crt" -days 30 -subj /CN=next 2>/dev/null
openssl pkcs12 -export -inkey "$work/cur.key" -in "$work/cur.crt" -out "$work/cur.pfx" -passout pass:bench
openssl pkcs12 -export -inkey "$work/next.key" -in "$work/next.crt" -out "$work/next.pfx" -passout pass:bench
cur_der="$(openssl x509 -in "$work/cur.crt" -outform DER | base64 -w0)"
auto="$(admin -d '{"displayName":"automation","certificates":[],"roles":["Application.ReadWrite.All"]}' "$graph/_emulator/applications" | jq -r .appId)"
token="$(admin -d "{\"appId\":\"$auto\"}" "$graph/_emulator/tokens" | jq -r .access_token)"
apps() { # $1: file of object ids
  : >"$1"; for _ in $(seq 1 "$n"); do admin -d "{\"displayName\":\"bench\",\"certificates\":[\"$cur_der\"]}" "$graph/_emulator/applications" | jq -r .id >>"$1"; done
}
pwsh_run() { # $1: file of object ids, $2: loop | bulk
  KR_TOKEN="$token" pwsh -NoProfile -NonInteractive -Command "
    Import-Module '$module' -ErrorAction Stop
    \$pw = ConvertTo-SecureString bench -AsPlainText -Force
    Connect-EntraKeyRoll -AccessToken (ConvertTo-SecureString \$env:KR_TOKEN -AsPlainText -Force) -GraphUrl '$graph' -LoginUrl '$login' -CaCertificate '$work/ca.pem' | Out-Null
    \$ids = Get-Content '$1'
    \$sw = [System.Diagnostics.Stopwatch]::StartNew()
    if ('$2' -eq 'loop') {
      \$each = foreach (\$id in \$ids) { \$one = [System.Diagnostics.Stopwatch]::StartNew(); \$r = Invoke-EntraKeyRollover -ObjectId \$id -CertificatePath '$work/cur.pfx' -CertificatePassword \$pw -NewCertificatePath '$work/next.pfx' -NewCertificatePassword \$pw -RemoveOld -TenantId '$tenant' -ErrorAction Stop; if (-not \$r.Success) { throw 'failed' }; \$one.Elapsed.TotalMilliseconds }
      \$median = @(\$each | Sort-Object)[[int][Math]::Floor(\$each.Count / 2)]
    } else {
      \$rows = \$ids | ForEach-Object { [pscustomobject]@{ ObjectId = \$_; CertificatePath = '$work/cur.pfx'; NewCertificatePath = '$work/next.pfx'; TenantId = '$tenant' } }
      \$r = @(\$rows | Invoke-EntraKeyRollover -RemoveOld -ThrottleLimit $throttle -CertificatePassword \$pw -NewCertificatePassword \$pw -ErrorAction Stop)
      if (@(\$r | Where-Object { -not \$_.Success }).Count -or \$r.Count -ne \$ids.Count) { throw 'failed' }
    }
    if ('$2' -eq 'loop') { '{0:N2} s, median {1:N0} ms per rollover' -f \$sw.Elapsed.TotalSeconds, \$median } else { '{0:N2} s' -f \$sw.Elapsed.TotalSeconds }"
}
if want pwsh-loop; then apps "$work/a"; echo "pwsh-loop  $(pwsh_run "$work/a" loop)  ($n x Invoke-EntraKeyRollover)"; fi
if want pwsh-bulk; then
  # The last line is the time (a throttled run also prints the module's warning).
  apps "$work/b"; t="$(pwsh_run "$work/b" bulk | tail -1)"
  echo "pwsh-bulk  $t$(ratio "${t% s}")  (rows piped, -ThrottleLimit $throttle)"
fi
export KR_TOKEN="$token" KR_PW=bench
if want cli-loop; then
apps "$work/c"
s=$(date +%s%N); : >"$work/each"
while read -r oid; do
  t=$(date +%s%N)
  "$bin" roll --object-id "$oid" --cert "$work/cur.pfx" --cert-password-env KR_PW --new-cert "$work/next.pfx" \
    --new-cert-password-env KR_PW --remove-old --tenant-id "$tenant" --access-token-env KR_TOKEN \
    --graph-url "$graph" --login-url "$login" --ca-cert "$work/ca.pem" >/dev/null 2>&1
  echo $(( ($(date +%s%N) - t) / 1000000 )) >>"$work/each"
done <"$work/c"
e=$(date +%s%N)
med="$(sort -n "$work/each" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')"
echo "cli-loop   $(awk "BEGIN{printf \"%.2f\", ($e-$s)/1e9}") s, median $med ms per rollover  ($n x keyroll roll)"
fi
want cli-plan || exit 0
apps "$work/d"
{ echo "objectId,cert,certPasswordEnv,newCert,newCertPasswordEnv,tenantId"
  while read -r oid; do echo "$oid,$work/cur.pfx,KR_PW,$work/next.pfx,KR_PW,$tenant"; done <"$work/d"; } >"$work/plan.csv"
s=$(date +%s%N)
"$bin" roll --plan "$work/plan.csv" --concurrency "$throttle" --remove-old --access-token-env KR_TOKEN \
  --graph-url "$graph" --login-url "$login" --ca-cert "$work/ca.pem" >"$work/plan.out" 2>"$work/plan.err" \
  || { echo "keyroll roll --plan failed:" >&2; tail -n 5 "$work/plan.out" >&2; tail -n 5 "$work/plan.err" >&2; exit 1; }
e=$(date +%s%N); t=$(awk "BEGIN{printf \"%.2f\", ($e-$s)/1e9}")
echo "cli-plan   $t s$(ratio "$t")  (keyroll roll --plan, $n rows, --concurrency $throttle)"
