#!/usr/bin/env bash
# The cost of a signature made by a key the host holds (SigningIdentity.OpenExternal: the library asks, the facade
# signs with the .NET key object on the calling thread and answers), against the same key held by the library, on
# the emulator over HTTPS, from PowerShell 7 (.NET's key objects). Prints one JSON line per comparison, medians:
#   facade  roll pairs (there and back, -RemoveOld, both certificates external vs both in the library; a background
#           roll waited on, its signature requests answered by RollOperation.Wait) and proof mints (a blocking call:
#           the worker thread waits in the library while the calling thread signs);
#   module  Invoke-EntraKeyRollover there and back with -Certificate/-NewCertificate (key objects, never exported)
#           vs -CertificatePath/-NewCertificatePath (PFX files read by the library).
# The Mono suite measures the same with Mono's key objects: KR_EXTERNAL_ROLLS=11 scripts/test.d/ffi-csharp.sh.
# Usage: scripts/bench-external-signer.sh [N] (default 15 roll pairs, 20N mints). Needs pwsh (scripts/setup.sh)
# and a packaged module (ENTRAKEYROLL_MODULE, default the one scripts/test.d/pwsh.sh packages), keyroll (KEYROLL_BIN).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
n="${1:-15}"
[ -x "$here/.tools/pwsh/pwsh" ] && export PATH="$here/.tools/pwsh:$PATH"
module="${ENTRAKEYROLL_MODULE:-$(ls "$here"/target/pwsh-test-out/EntraKeyRoll/*/EntraKeyRoll.psd1 2>/dev/null | head -1)}"
[ -f "$module" ] || { echo "no packaged module (bash scripts/test.d/pwsh.sh packages one; or set ENTRAKEYROLL_MODULE)" >&2; exit 1; }
export ENTRAKEYROLL_MODULE="$module" KEYROLL_BIN="${KEYROLL_BIN:-$here/target/debug/keyroll}" KR_HERE="$here"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cat >"$work/bench.ps1" <<'PS'
param([int] $N)
$TestDrive = Join-Path ([System.IO.Path]::GetTempPath()) ('krbench-' + [guid]::NewGuid().ToString('n').Substring(0, 8))
$null = New-Item -ItemType Directory -Path $TestDrive
. (Join-Path $env:KR_HERE 'pwsh-module/tests/Common.ps1')
Import-BuiltEntraKeyRoll
$emu = Open-KrTestEmulator
$median = { param($v) ($v | Sort-Object)[[int]($v.Count / 2)] }
try {
    $a = Get-KrTestCertificate 'CN=bench a'; $b = Get-KrTestCertificate 'CN=bench b'
    $app = Register-KrTestApp $emu $a
    $key = { param($c) [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($c) }
    $public = { param($c) [System.Security.Cryptography.X509Certificates.X509Certificate2]::new($c.RawData) }
    $la = [Keyroll.SigningIdentity]::Open($a.Export('Pfx', 'pw'), 'pw'); $lb = [Keyroll.SigningIdentity]::Open($b.Export('Pfx', 'pw'), 'pw')
    $xa = [Keyroll.SigningIdentity]::OpenExternal((& $public $a), (& $key $a), 0)
    $xb = [Keyroll.SigningIdentity]::OpenExternal((& $public $b), (& $key $b), 0)
    $settings = @{ graphUrl = $emu.GraphUrl; loginUrl = $emu.LoginUrl; caFile = $emu.CaCert; tenantId = $emu.TenantId; clientId = $app.appId } | ConvertTo-Json -Compress
    $rs = @{ target = @{ objectId = $app.id }; removeOld = $true; tenantId = $emu.TenantId; verifyTimeoutSecs = 60 } | ConvertTo-Json -Compress
    $roll = {
        param($x, $y)
        $c = [Keyroll.Connection]::Open($settings, $x)
        try {
            $op = $c.StartRoll($rs, $x, $y)
            try { do { $w = $op.Wait(30000) | ConvertFrom-Json } until ($w.done); if (-not $w.report.success) { throw 'the roll failed' } }
            finally { $op.Dispose() }
        }
        finally { $c.Dispose() }
    }
    $pair = { param($x, $y) $sw = [Diagnostics.Stopwatch]::StartNew(); & $roll $x $y; & $roll $y $x; $sw.Elapsed.TotalMilliseconds }
    $null = & $pair $la $lb; $null = & $pair $xa $xb
    $local = @(); $external = @(); $lm = @(); $xm = @()
    for ($i = 0; $i -lt $N; $i++) { $local += & $pair $la $lb; $external += & $pair $xa $xb }
    for ($i = 0; $i -lt 20 * $N; $i++) {
        $sw = [Diagnostics.Stopwatch]::StartNew(); $null = $la.MintProof($app.id, 0, $null); $lm += $sw.Elapsed.TotalMilliseconds
        $sw = [Diagnostics.Stopwatch]::StartNew(); $null = $xa.MintProof($app.id, 0, $null); $xm += $sw.Elapsed.TotalMilliseconds
    }
    $rsa = & $key $a; $data = [byte[]]::new(700); $sw = [Diagnostics.Stopwatch]::StartNew()
    for ($i = 0; $i -lt 200; $i++) { $null = $rsa.SignData($data, 'SHA256', [System.Security.Cryptography.RSASignaturePadding]::Pkcs1) }
    $sign = $sw.Elapsed.TotalMilliseconds / 200
    '{{"facade_roll_pairs": {0}, "local_median_ms": {1:F1}, "external_median_ms": {2:F1}, "ratio": {3:F2}, "mints": {4}, "mint_local_median_ms": {5:F2}, "mint_external_median_ms": {6:F2}, "key_object_sign_ms": {7:F2}}}' -f $N, (& $median $local), (& $median $external), ((& $median $external) / (& $median $local)), (20 * $N), (& $median $lm), (& $median $xm), $sign
    foreach ($i in $la, $lb, $xa, $xb) { $i.Dispose() }

    $pa = Join-Path $TestDrive 'a.pfx'; [IO.File]::WriteAllBytes($pa, $a.Export('Pfx', 'pw'))
    $pb = Join-Path $TestDrive 'b.pfx'; [IO.File]::WriteAllBytes($pb, $b.Export('Pfx', 'pw'))
    $pw = ConvertTo-KrTestSecureString 'pw'
    $automation = Invoke-KrEmulatorAdmin $emu 'POST' 'applications' @{ displayName = 'automation'; certificates = @(); roles = @('Application.ReadWrite.All') }
    Connect-EntraKeyRoll -AccessToken (ConvertTo-KrTestSecureString (Get-KrTestToken $emu $automation)) -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
    $cmdPair = {
        param($files)
        $sw = [Diagnostics.Stopwatch]::StartNew()
        if ($files) {
            $r1 = Invoke-EntraKeyRollover -ObjectId $app.id -CertificatePath $pa -CertificatePassword $pw -NewCertificatePath $pb -NewCertificatePassword $pw -RemoveOld -TenantId $emu.TenantId
            $r2 = Invoke-EntraKeyRollover -ObjectId $app.id -CertificatePath $pb -CertificatePassword $pw -NewCertificatePath $pa -NewCertificatePassword $pw -RemoveOld -TenantId $emu.TenantId
        }
        else {
            $r1 = Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $a -NewCertificate $b -RemoveOld -TenantId $emu.TenantId
            $r2 = Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $b -NewCertificate $a -RemoveOld -TenantId $emu.TenantId
        }
        if (-not ($r1.Success -and $r2.Success)) { throw 'the roll failed' }
        $sw.Elapsed.TotalMilliseconds
    }
    $null = & $cmdPair $true; $null = & $cmdPair $false
    $files = @(); $objects = @()
    for ($i = 0; $i -lt $N; $i++) { $files += & $cmdPair $true; $objects += & $cmdPair $false }
    '{{"module_roll_pairs": {0}, "pfx_files_median_ms": {1:F1}, "key_objects_median_ms": {2:F1}, "ratio": {3:F2}}}' -f $N, (& $median $files), (& $median $objects), ((& $median $objects) / (& $median $files))
}
finally { Disconnect-EntraKeyRoll; Close-KrTestEmulator $emu; Remove-Item -Recurse -Force $TestDrive }
PS
pwsh -NoProfile -NonInteractive -File "$work/bench.ps1" -N "$n"
