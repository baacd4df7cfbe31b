BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
    $script:emu = Start-KrEmulator
}
AfterAll { Disconnect-EntraKeyRoll; Stop-KrEmulator $script:emu }

Describe 'Invoke-EntraKeyRollover' {
    It 'rolls to the new certificate and removes the old one' {
        $current = New-KrSelfSignedCertificate 'CN=current'
        $next = New-KrSelfSignedCertificate 'CN=next'
        $app = New-KrEmulatorApp $emu $current
        Connect-EntraKeyRoll -TenantId $emu.Info.tenantId -ClientId $app.appId -Certificate $current -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
        $r = Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $current -NewCertificate $next -RemoveOld -TenantId $emu.Info.tenantId -Confirm:$false
        $r.success | Should -BeTrue
        Connect-KrEmulatorAsApp $emu $app | Out-Null
        (Get-EntraMSApplicationKey -ObjectId $app.id).Thumbprint | Should -Be @($next.Thumbprint)
    }

    It 'does nothing with -WhatIf and refuses two current certificates' {
        $a = New-KrSelfSignedCertificate
        Invoke-EntraKeyRollover -ObjectId ([guid]::NewGuid()) -Certificate $a -NewCertificate $a -WhatIf | Should -BeNullOrEmpty
        Invoke-EntraKeyRollover -ObjectId ([guid]::NewGuid()) -Certificate $a -CertificatePath x.pfx -NewCertificate $a -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'RolloverCertificates*'
    }
}
