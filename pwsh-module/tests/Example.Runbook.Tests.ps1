# examples/runbook/Update-AppCertificate.ps1, run as Azure Automation runs a runbook: a fresh PowerShell process
# whose managed identity is reached through IDENTITY_ENDPOINT / IDENTITY_HEADER (the emulator's), with the
# module installed on the module path, against the emulator's Graph and vault.

BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
    $script:emu = Open-KrTestEmulator
    $script:automation = New-KrTestVaultIdentity $emu
    $script:runbook = Join-Path (Split-Path (Split-Path $PSScriptRoot)) 'examples/runbook/Update-AppCertificate.ps1'
    # The packaged module's folder on the module path, as an Automation account's imported module is.
    $script:savedModulePath = $env:PSModulePath
    $modules = Split-Path (Split-Path (Split-Path $env:ENTRAKEYROLL_MODULE))
    $env:PSModulePath = $modules + [System.IO.Path]::PathSeparator + $env:PSModulePath

    function Invoke-Runbook([string] $AppId, [string] $Name) {
        # The runbook in a child process; each output object as one line: TEXT:<string> or STATE:<roll state>.
        $command = "& '$runbook' -AppId '$AppId' -VaultUrl '$($emu.VaultUrl)' -CertificateName '$Name' -RenewWithinDays 30 " +
        "-GraphUrl '$($emu.GraphUrl)' -LoginUrl '$($emu.LoginUrl)' -CaCertificate '$($emu.CaCert)' 2>&1 | " +
        "ForEach-Object { if (`$_ -is [string]) { 'TEXT:' + `$_ } elseif (`$_ -is [System.Management.Automation.ErrorRecord]) { 'ERROR:' + `$_ } else { 'STATE:' + `$_.State } }"
        @(Invoke-KrTestChildShell $command)
    }
}
AfterAll {
    $env:PSModulePath = $script:savedModulePath
    Restore-KrTestEnvironment
    Close-KrTestEmulator $script:emu
}

Describe 'the Key Vault runbook example' {
    It 'rolls an expiring certificate to a new version made in the vault, then finds nothing to do' {
        $name = 'runbook-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        # The application's certificate, in the vault only, ending in 20 days.
        $v1 = New-KrTestVaultCertificate $emu $name -DaysValid 20
        $app = Register-KrTestVaultApp $emu $v1
        $old = (Get-KrTestKeys $emu $app.id)[0].customKeyIdentifier

        $out = Invoke-Runbook -AppId $app.appId -Name $name
        $out | Should -Contain 'STATE:rolled' -Because ($out -join "`n")
        $keys = Get-KrTestKeys $emu $app.id
        $keys.Count | Should -Be 1
        $keys[0].customKeyIdentifier | Should -Not -Be $old
        ([datetime]$keys[0].endDateTime - (Get-Date).ToUniversalTime()).TotalDays | Should -BeGreaterThan 300
        # Nothing the runbook wrote holds key material, a token or a proof.
        ($out -join "`n") | Should -Not -Match 'PRIVATE KEY|eyJ[A-Za-z0-9_-]{10,}\.'

        # The next run finds the new certificate far from its end.
        $again = Invoke-Runbook -AppId $app.appId -Name $name
        ($again -join "`n") | Should -Match 'nothing to do'
        (Get-KrTestKeys $emu $app.id)[0].customKeyIdentifier | Should -Be $keys[0].customKeyIdentifier
    }
}
