# The module installed as users install modules: the packaged folder published to a folder repository with
# PSResourceGet (which ships with PowerShell 7.4+), installed from there by name into a fresh user profile, imported
# by name, and the documented New-EntraMSApplicationKey example run against the emulator. Everything runs in a
# child PowerShell whose HOME (and so its CurrentUser module folder and its PSResourceGet repository list) is a
# folder under $TestDrive, so nothing of the user running the tests is read or changed.

BeforeDiscovery {
    # PSResourceGet ships with PowerShell 7.4+; Windows PowerShell 5.1 has it only when installed.
    $hasPSResourceGet = [bool](Get-Module -ListAvailable -Name Microsoft.PowerShell.PSResourceGet)
}
BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
    $script:emu = Open-KrTestEmulator
    $script:packaged = Split-Path -Parent $env:ENTRAKEYROLL_MODULE
}
AfterAll { Close-KrTestEmulator $script:emu }

Describe 'Installing EntraKeyRoll' {
    It 'publishes to a folder repository, installs by name into a fresh profile, imports by name and runs the documented example' -Skip:(-not $hasPSResourceGet) {
        $current = Get-KrTestCertificate 'CN=current'
        $next = Get-KrTestCertificate 'CN=next'
        $app = Register-KrTestApp $emu $current
        $profileHome = Join-Path $TestDrive 'home'
        $repository = Join-Path $TestDrive 'repository'
        # The profile's XDG folders must exist: .NET answers '' for a special folder that does not (and
        # PSResourceGet would then write its repository list into the current folder).
        $null = New-Item -ItemType Directory -Path $repository, (Join-Path $profileHome '.local/share'), (Join-Path $profileHome '.config'), (Join-Path $profileHome '.cache')
        $child = Join-Path $TestDrive 'install.ps1'
        Set-Content -LiteralPath $child -Encoding UTF8 -Value @'
param([string] $Repository, [string] $Packaged, [string] $GraphUrl, [string] $LoginUrl, [string] $CaCert, [string] $ObjectId, [string] $NewCertificate)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
Register-PSResourceRepository -Name EntraKeyRollTest -Uri $Repository -Trusted
Publish-PSResource -Path $Packaged -Repository EntraKeyRollTest
Install-PSResource -Name EntraKeyRoll -Repository EntraKeyRollTest -Scope CurrentUser -TrustRepository -Quiet
Import-Module EntraKeyRoll
$module = Get-Module EntraKeyRoll
$token = ConvertTo-SecureString -String $env:KR_TEST_TOKEN -AsPlainText -Force
Connect-EntraKeyRoll -AccessToken $token -GraphUrl $GraphUrl -LoginUrl $LoginUrl -CaCertificate $CaCert | Out-Null
# Microsoft's example with its placeholders filled in.
$base64cert = $NewCertificate
$params = @{
    ObjectId = $ObjectId
    KeyCredential = @{ key=[System.Convert]::FromBase64String("$base64cert") }
    PasswordCredential = @{ DisplayName = 'mypassword' }
    Proof = "$env:KR_TEST_PROOF"
}
$key = New-EntraMSApplicationKey @params 3>$null
[pscustomobject]@{
    ModuleBase = $module.ModuleBase
    Version    = $module.Version.ToString()
    KeyId      = $key.KeyId.ToString()
    Thumbprint = $key.Thumbprint
    Packages   = @(Get-ChildItem -LiteralPath $Repository -Filter '*.nupkg' | ForEach-Object { $_.Name })
} | ConvertTo-Json -Compress
'@
        $saved = @{}
        foreach ($name in 'HOME', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'PSModulePath', 'KR_TEST_TOKEN', 'KR_TEST_PROOF') {
            $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        }
        try {
            # A fresh profile: PowerShell's CurrentUser module folder and PSResourceGet's repository list live
            # under HOME (XDG); PSModulePath empty, so only the defaults of that profile and $PSHOME are searched.
            [Environment]::SetEnvironmentVariable('HOME', $profileHome)
            [Environment]::SetEnvironmentVariable('XDG_DATA_HOME', (Join-Path $profileHome '.local/share'))
            [Environment]::SetEnvironmentVariable('XDG_CONFIG_HOME', (Join-Path $profileHome '.config'))
            [Environment]::SetEnvironmentVariable('XDG_CACHE_HOME', (Join-Path $profileHome '.cache'))
            [Environment]::SetEnvironmentVariable('PSModulePath', $null)
            [Environment]::SetEnvironmentVariable('KR_TEST_TOKEN', (Get-KrTestToken $emu $app))
            [Environment]::SetEnvironmentVariable('KR_TEST_PROOF', (New-EntraKeyProof -Certificate $current -ObjectId $app.id))
            $exe = (Get-Process -Id $PID).Path
            $prefix = @()
            if ([System.IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { $prefix = @(Join-Path $PSHOME 'pwsh.dll') }
            $argv = $prefix + @('-NoProfile', '-NonInteractive', '-File', $child, '-Repository', $repository, '-Packaged', $packaged,
                '-GraphUrl', $emu.GraphUrl, '-LoginUrl', $emu.LoginUrl, '-CaCert', $emu.CaCert, '-ObjectId', $app.id,
                '-NewCertificate', [Convert]::ToBase64String($next.RawData))
            # The child runs in a folder of its own, which must stay empty: nothing it does may land beside it.
            $cwd = Join-Path $TestDrive 'cwd'
            $null = New-Item -ItemType Directory -Path $cwd
            Push-Location -LiteralPath $cwd
            try {
                $output = @(& $exe @argv 2>&1)
                $exit = $LASTEXITCODE
            }
            finally {
                Pop-Location
            }
        }
        finally {
            foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        }
        $text = ($output | ForEach-Object { "$_" }) -join "`n"
        $exit | Should -Be 0 -Because $text
        @(Get-ChildItem -LiteralPath (Join-Path $TestDrive 'cwd') -Force).Count | Should -Be 0
        $result = ($output | Select-Object -Last 1 | ForEach-Object { "$_" }) | ConvertFrom-Json
        $manifest = Import-PowerShellDataFile -LiteralPath $env:ENTRAKEYROLL_MODULE
        $result.Version | Should -Be $manifest.ModuleVersion
        # Installed into the fresh profile's CurrentUser folder, not imported from the packaged folder.
        $result.ModuleBase | Should -BeLike "$profileHome*"
        $result.ModuleBase | Should -Not -BeLike "$packaged*"
        @($result.Packages) | Should -Be @("EntraKeyRoll.$($manifest.ModuleVersion).nupkg")
        $result.Thumbprint | Should -Be $next.Thumbprint
        $keys = Get-KrTestKeys $emu $app.id
        $keys.Count | Should -Be 2
        @($keys | Where-Object { $_.keyId -eq $result.KeyId }).Count | Should -Be 1
        # The installed folder holds what the packaged one does, native library included.
        $installed = @(Get-ChildItem -LiteralPath $result.ModuleBase -Recurse -File | ForEach-Object { $_.FullName.Substring($result.ModuleBase.Length).Replace('\', '/') })
        foreach ($f in @(Get-ChildItem -LiteralPath $packaged -Recurse -File | ForEach-Object { $_.FullName.Substring($packaged.Length).Replace('\', '/') })) {
            $installed | Should -Contain $f
        }
    }
}
