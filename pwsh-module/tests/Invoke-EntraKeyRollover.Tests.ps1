BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
    $script:emu = Open-KrTestEmulator
}
AfterAll { Disconnect-EntraKeyRoll; Close-KrTestEmulator $script:emu }

Describe 'Invoke-EntraKeyRollover' {
    BeforeEach {
        $script:current = Get-KrTestCertificate 'CN=current'
        $script:next = Get-KrTestCertificate 'CN=next'
        $script:app = Register-KrTestApp $emu $script:current
        Connect-EntraKeyRoll -TenantId $emu.TenantId -ClientId $app.appId -Certificate $current -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
    }

    It 'rolls to the new certificate, verifies it and removes the old one' {
        $r = Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $current -NewCertificate $next -RemoveOld -TenantId $emu.TenantId
        $r.PSObject.TypeNames[0] | Should -Be 'EntraKeyRoll.RollReport'
        $r.success | Should -BeTrue
        $keys = Get-KrTestKeys $emu $app.id
        $keys.Count | Should -Be 1
        Connect-KrTestEmulatorAsApp $emu $app | Out-Null
        (Get-EntraMSApplicationKey -ObjectId $app.id).Thumbprint | Should -Be $next.Thumbprint
    }

    It 'asks ShouldProcess for the removal apart from the roll: -WhatIf names both steps and changes nothing' {
        $log = Join-Path $TestDrive 'whatif.txt'
        Start-Transcript -LiteralPath $log | Out-Null
        try {
            $out = Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $current -NewCertificate $next -RemoveOld -WhatIf
        }
        finally { Stop-Transcript | Out-Null }
        $out | Should -BeNullOrEmpty
        $text = Get-Content -LiteralPath $log -Raw
        $text | Should -Match 'What if: .*Add the new certificate and verify that it works'
        $text | Should -Match 'What if: .*Remove the old certificate once the new one works'
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
    }

    It 'without -RemoveOld adds and verifies the new key and keeps the old one' {
        $r = Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $current -NewCertificate $next -TenantId $emu.TenantId
        $r.success | Should -BeTrue
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 2
    }

    It 'refuses a roll to the certificate in use before any write, naming its own parameters' {
        Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $current -NewCertificate $current -TenantId $emu.TenantId -ErrorVariable all -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $all 'Invoke-EntraKeyRollover'
        $e.Count | Should -Be 1
        $e[0].Exception.Message | Should -Match 'certificate in use now'
        $e[0].ErrorDetails.RecommendedAction | Should -Match '-NewCertificate'
        ($e[0].Exception.Message + $e[0].ErrorDetails.RecommendedAction) | Should -Not -Match '--[a-z]'
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
    }

    It 'refuses two current certificates, as an ErrorRecord' {
        Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $current -CertificatePath x.pfx -NewCertificate $next -ErrorVariable all -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $all 'Invoke-EntraKeyRollover'
        $e[0].FullyQualifiedErrorId | Should -BeLike 'RolloverCertificates*'
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
    }
}
