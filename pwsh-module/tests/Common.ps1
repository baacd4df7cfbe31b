# Shared by the Pester files: imports the *built* module ($env:ENTRAKEYROLL_MODULE, set by scripts/test.d/pwsh.sh
# and build.ps1 -Task Test) and starts the emulator (keyroll emulator) on a free port.

function Import-BuiltEntraKeyRoll {
    if (-not $env:ENTRAKEYROLL_MODULE) { throw 'set ENTRAKEYROLL_MODULE to the packaged EntraKeyRoll.psd1 (cargo xtask package)' }
    Import-Module $env:ENTRAKEYROLL_MODULE -Force -ErrorAction Stop
}

function Start-KrEmulator {
    $bin = if ($env:KEYROLL_BIN) { $env:KEYROLL_BIN } else { 'keyroll' }
    $stdout = New-TemporaryFile
    $process = Start-Process -FilePath $bin -ArgumentList 'emulator', '--listen', '127.0.0.1:0' -RedirectStandardOutput $stdout -PassThru -NoNewWindow
    $deadline = (Get-Date).AddSeconds(30)
    while (-not (Get-Content $stdout -TotalCount 1) -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 100 }
    $info = Get-Content $stdout -TotalCount 1 | ConvertFrom-Json
    [pscustomobject]@{ Process = $process; GraphUrl = $info.graph_url; LoginUrl = $info.login_url; CaCert = $info.ca_cert; Info = $info }
}

function Stop-KrEmulator([object] $Emulator) {
    if ($Emulator -and -not $Emulator.Process.HasExited) { Stop-Process -Id $Emulator.Process.Id }
}


function New-KrSelfSignedCertificate([string] $Subject = 'CN=EntraKeyRoll test') {
    # A self-signed RSA-2048 certificate with an exportable key, made by .NET (no tools needed).
    $rsa = [System.Security.Cryptography.RSA]::Create(2048)
    $req = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new($Subject, $rsa,
        [System.Security.Cryptography.HashAlgorithmName]::SHA256, [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
    $cert = $req.CreateSelfSigned([datetimeoffset]::UtcNow.AddDays(-1), [datetimeoffset]::UtcNow.AddDays(90))
    $pfx = $cert.Export('Pfx', 'pw')
    [System.Security.Cryptography.X509Certificates.X509Certificate2]::new($pfx, 'pw', 'Exportable')
}

function Invoke-KrEmulatorAdmin([object] $Emulator, [string] $Path, [object] $Body) {
    Invoke-RestMethod -Method Post -Uri "$($Emulator.GraphUrl)/_emulator/$Path" -ContentType 'application/json' `
        -Body ($Body | ConvertTo-Json -Depth 5) -SkipCertificateCheck
}

function New-KrEmulatorApp([object] $Emulator, [System.Security.Cryptography.X509Certificates.X509Certificate2] $Certificate) {
    Invoke-KrEmulatorAdmin $Emulator 'applications' @{ displayName = 'pester'; certificates = @([Convert]::ToBase64String($Certificate.RawData)) }
}

function Connect-KrEmulatorAsApp([object] $Emulator, [object] $App) {
    $token = (Invoke-KrEmulatorAdmin $Emulator 'tokens' @{ appId = $App.appId }).access_token
    Connect-EntraKeyRoll -AccessToken (ConvertTo-SecureString $token -AsPlainText -Force) -GraphUrl $Emulator.GraphUrl -LoginUrl $Emulator.LoginUrl -CaCertificate $Emulator.CaCert
}
