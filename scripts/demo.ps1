<#
.SYNOPSIS
The PowerShell half of the demo: Microsoft's documented New-EntraMSApplicationKey example, run as written with
the EntraKeyRoll module against a local emulator, narrated.

.DESCRIPTION
Starts `keyroll-emulator` on a free loopback port with one application seeded (it holds the current certificate),
signs in as that application with its certificate, mints the proof with New-EntraKeyProof, runs the documented
example, and lists the application's keys. Nothing leaves this machine; the certificates and the emulator's files
live in a temporary folder removed at the end. The proof and the token are secrets: only the proof's claims are
shown. scripts/demo.sh runs this after the CLI's demo, where PowerShell is available.

.PARAMETER EmulatorPath
The keyroll-emulator binary.

.PARAMETER Module
The packaged module's manifest (EntraKeyRoll.psd1).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $EmulatorPath,
    [Parameter(Mandatory)] [string] $Module
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
# Paths as given relative to the current folder (Import-Module would take a bare relative path for a name).
$EmulatorPath = (Resolve-Path -LiteralPath $EmulatorPath).ProviderPath
$Module = (Resolve-Path -LiteralPath $Module).ProviderPath

function Write-DemoStep([string] $Text) { Write-Host ''; Write-Host "== $Text" -ForegroundColor Cyan }
function Write-DemoNote([string] $Text) { Write-Host "   $Text" }

function New-DemoCertificate([string] $Subject, [int] $Days) {
    # A self-signed RSA-2048 certificate with an exportable key, made by .NET.
    $rsa = [System.Security.Cryptography.RSA]::Create(2048)
    $request = New-Object System.Security.Cryptography.X509Certificates.CertificateRequest $Subject, $rsa, ([System.Security.Cryptography.HashAlgorithmName]::SHA256), ([System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
    $request.CreateSelfSigned([datetimeoffset]::UtcNow.AddMinutes(-5), [datetimeoffset]::UtcNow.AddDays($Days))
}

function ConvertFrom-DemoBase64Url([string] $Text) {
    $t = $Text.Replace('-', '+').Replace('_', '/')
    switch ($t.Length % 4) { 2 { $t += '==' } 3 { $t += '=' } }
    [System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($t))
}

$work = Join-Path ([System.IO.Path]::GetTempPath()) ('entrakeyroll-demo-' + [guid]::NewGuid().ToString('n').Substring(0, 8))
$null = New-Item -ItemType Directory -Path $work
$emulator = $null
try {
    Write-DemoStep 'Two certificates, made by .NET: the current one (the application holds it) and the next one'
    $current = New-DemoCertificate 'CN=contoso-billing current' 30
    $next = New-DemoCertificate 'CN=contoso-billing next' 365
    # The current certificate with its key, as a PFX file under a one-time password (as a runbook keeps it).
    $pfxPassword = New-Object System.Security.SecureString
    foreach ($c in ([guid]::NewGuid().ToString('n')).ToCharArray()) { $pfxPassword.AppendChar($c) }
    $pfxPath = Join-Path $work 'current.pfx'
    [System.IO.File]::WriteAllBytes($pfxPath, $current.Export('Pfx', $pfxPassword))
    Write-DemoNote "current  $($current.Thumbprint)  valid until $($current.NotAfter.ToUniversalTime().ToString('u'))  ($pfxPath)"
    Write-DemoNote "next     $($next.Thumbprint)  valid until $($next.NotAfter.ToUniversalTime().ToString('u'))"

    Write-DemoStep 'The emulator (a local identity platform and Graph over HTTPS), with the application seeded'
    $tenantId = [guid]::NewGuid().ToString()
    $objectId = [guid]::NewGuid().ToString()
    $appId = [guid]::NewGuid().ToString()
    $seed = @{ tenants = @($tenantId); applications = @(@{
                displayName = 'contoso-billing'; id = $objectId; appId = $appId; tenantId = $tenantId
                certificates = @([Convert]::ToBase64String($current.RawData))
            })
    }
    $seedPath = Join-Path $work 'seed.json'
    Set-Content -LiteralPath $seedPath -Value (ConvertTo-Json -InputObject $seed -Depth 5) -Encoding UTF8
    $stdout = Join-Path $work 'emulator.out'
    $stderr = Join-Path $work 'emulator.err'
    $argv = @('--listen', '127.0.0.1:0', '--ca-file', (Join-Path $work 'ca.pem'), '--seed', $seedPath)
    $emulator = Start-Process -FilePath $EmulatorPath -ArgumentList $argv -RedirectStandardOutput $stdout -RedirectStandardError $stderr -PassThru -NoNewWindow
    $line = $null
    $deadline = (Get-Date).AddSeconds(30)
    while (-not $line -and (Get-Date) -lt $deadline -and -not $emulator.HasExited) {
        Start-Sleep -Milliseconds 50
        if (Test-Path -LiteralPath $stdout) {
            $text = [System.IO.File]::ReadAllText($stdout)
            $end = $text.IndexOf("`n")
            if ($end -ge 0) { $line = $text.Substring(0, $end).Trim() }
        }
    }
    if (-not $line) { throw "keyroll-emulator did not start: $(Get-Content -LiteralPath $stderr -Raw -ErrorAction Ignore)" }
    $endpoints = $line | ConvertFrom-Json
    Write-DemoNote "Graph $($endpoints.graph_url), sign-in $($endpoints.login_url)"
    Write-DemoNote "application contoso-billing: object id $objectId, appId $appId"

    Write-DemoStep 'Import-Module EntraKeyRoll'
    $started = Get-Date
    Import-Module $Module -Force
    $loaded = Get-Module EntraKeyRoll
    Write-DemoNote "EntraKeyRoll $($loaded.Version) from $($loaded.ModuleBase) in $([int]((Get-Date) - $started).TotalMilliseconds) ms"

    Write-DemoStep 'Connect-EntraKeyRoll as the application itself (client credentials, signed with its current certificate)'
    $connection = Connect-EntraKeyRoll -TenantId $tenantId -ClientId $appId -CertificatePath $pfxPath -CertificatePassword $pfxPassword `
        -GraphUrl $endpoints.graph_url -LoginUrl $endpoints.login_url -CaCertificate $endpoints.ca_cert
    Write-DemoNote "connected to $($connection.GraphUrl) as $($connection.Credential)"

    Write-DemoStep 'New-EntraKeyProof: the proof of possession, signed with the current certificate'
    $token = New-EntraKeyProof -CertificatePath $pfxPath -CertificatePassword $pfxPassword -ObjectId $objectId
    $parts = $token.Split('.')
    Write-DemoNote "header  $(ConvertFrom-DemoBase64Url $parts[0])"
    Write-DemoNote "claims  $(ConvertFrom-DemoBase64Url $parts[1])"
    Write-DemoNote '(the proof itself is a credential for ten minutes: it is not shown)'

    Write-DemoStep "Microsoft's documented example, as written (New-EntraMSApplicationKey @params)"
    $base64cert = [Convert]::ToBase64String($next.RawData)
    Write-DemoNote '$params = @{'
    Write-DemoNote "    ObjectId = '$objectId'"
    Write-DemoNote '    KeyCredential = @{ key=[System.Convert]::FromBase64String("{base64cert}") }'
    Write-DemoNote "    PasswordCredential = @{ DisplayName = 'mypassword' }"
    Write-DemoNote '    Proof = "{token}"'
    Write-DemoNote '}'
    Write-DemoNote 'New-EntraMSApplicationKey @params'
    $params = @{
        ObjectId = $objectId
        KeyCredential = @{ key=[System.Convert]::FromBase64String("$base64cert") }
        PasswordCredential = @{ DisplayName = 'mypassword' }
        Proof = "$token"
    }
    $added = New-EntraMSApplicationKey @params
    $added | Format-Table -AutoSize | Out-String -Width 160 | Write-Host

    Write-DemoStep "The application's keys now (Get-EntraMSApplicationKey)"
    Get-EntraMSApplicationKey -ObjectId $objectId | Format-Table -AutoSize | Out-String -Width 160 | Write-Host
    Write-DemoNote 'Next in a real roll: sign in with the new certificate, then Remove-EntraMSApplicationKey the old one'
    Write-DemoNote '(Invoke-EntraKeyRollover does all of it, and never removes the last valid certificate).'
}
finally {
    if (Get-Module EntraKeyRoll) { Disconnect-EntraKeyRoll -ErrorAction Ignore }
    if ($emulator -and -not $emulator.HasExited) { Stop-Process -Id $emulator.Id -Force; $null = $emulator.WaitForExit(5000) }
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction Ignore
}
