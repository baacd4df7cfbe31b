BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
    $script:emu = Start-KrEmulator
}
AfterAll { Disconnect-EntraKeyRoll; Stop-KrEmulator $script:emu }

Describe 'New-EntraMSApplicationKey' {
    BeforeEach {
        $script:current = New-KrSelfSignedCertificate 'CN=current'
        $script:next = New-KrSelfSignedCertificate 'CN=next'
        $script:app = New-KrEmulatorApp $script:emu $script:current
        Connect-KrEmulatorAsApp $script:emu $script:app | Out-Null
    }

    It 'runs the documented syntax unchanged (@params with DER bytes and a proof)' {
        $params = @{
            ObjectId      = $app.id
            KeyCredential = @{ Key = $next.RawData; Type = 'AsymmetricX509Cert'; Usage = 'Verify' }
            Proof         = New-EntraKeyProof -Certificate $current -ObjectId $app.id
        }
        $k = New-EntraMSApplicationKey @params
        $k.PSObject.TypeNames | Should -Contain 'Microsoft.Open.MSGraph.Model.KeyCredential'
        $k.Thumbprint | Should -Be $next.Thumbprint
        $k.KeyId | Should -Not -BeNullOrEmpty
    }

    It 'accepts an X509Certificate2, a PSCustomObject and pipeline input, and the alias' {
        $proof = New-EntraKeyProof -Certificate $current -ObjectId $app.id
        $k = [pscustomobject]@{ Id = $app.id } | New-EntraApplicationKey -KeyCredential ([pscustomobject]@{ Key = $next }) -Proof $proof
        $k.Thumbprint | Should -Be $next.Thumbprint
    }

    It 'corrects the double encoding with a warning' {
        $ascii = [System.Text.Encoding]::ASCII.GetBytes([Convert]::ToBase64String($next.RawData))
        $proof = New-EntraKeyProof -Certificate $current -ObjectId $app.id
        $k = New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $ascii } -Proof $proof -WarningVariable w 3>$null
        $w | Should -Match 'double encoding'
        $k.Thumbprint | Should -Be $next.Thumbprint
    }

    It 'does nothing with -WhatIf' {
        New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next } -Proof 'x' -WhatIf | Should -BeNullOrEmpty
        (Get-EntraMSApplicationKey -ObjectId $app.id).Count | Should -Be 1
    }

    It 'mints the proof when connected with the object certificate, addressed by appId' {
        Connect-EntraKeyRoll -TenantId $emu.Info.tenantId -ClientId $app.appId -Certificate $current -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
        $k = New-EntraMSApplicationKey -AppId $app.appId -KeyCredential @{ Key = $next }
        $k.Thumbprint | Should -Be $next.Thumbprint
    }

    It 'reports a bad proof as an ErrorRecord with Graph''s code and request-id' {
        $other = New-KrSelfSignedCertificate 'CN=stranger'
        $proof = New-EntraKeyProof -Certificate $other -ObjectId $app.id
        New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next } -Proof $proof -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'Authentication_MissingOrMalformed*'
        $e[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
        $e[0].TargetObject | Should -Be $app.id
        $e[0].Exception.Data['RequestId'] | Should -Not -BeNullOrEmpty
    }

    It 'refuses a PasswordCredential without SecretText rather than dropping it' {
        New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next } -PasswordCredential @{ DisplayName = 'x' } -Proof 'x' -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'PasswordCredentialWithoutSecret*'
    }

    It 'refuses a PasswordCredential on an AsymmetricX509Cert key with the library''s rule' {
        New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next; Type = 'AsymmetricX509Cert'; Usage = 'Verify' } -PasswordCredential @{ SecretText = 'x' } -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].Exception.Message | Should -Match 'passwordCredential'
    }
}
