BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
}

Describe 'New-EntraKeyProof' {
    BeforeAll {
        $script:cert = Get-KrTestCertificate
        $script:oid = [guid]::NewGuid().ToString()
    }

    It 'mints a proof from an X509Certificate2 that the inspector accepts' {
        $proof = New-EntraKeyProof -Certificate $cert -ObjectId $oid
        $proof | Should -Match '^[\w-]+\.[\w-]+\.[\w-]+$'
        Test-EntraKeyProof -Proof $proof -ObjectId $oid -Certificate $cert -Quiet | Should -BeTrue
    }

    It 'puts RS256, x5t, the object id as iss and Graph''s aud in the token, with the lifetime asked for' {
        $proof = New-EntraKeyProof -Certificate $cert -ObjectId $oid -Lifetime 300
        $parts = $proof.Split('.')
        $decode = { param($s) $t = $s.Replace('-', '+').Replace('_', '/'); while ($t.Length % 4) { $t += '=' }; [System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($t)) | ConvertFrom-Json }
        $header = & $decode $parts[0]
        $claims = & $decode $parts[1]
        $header.alg | Should -Be 'RS256'
        $header.x5t | Should -Not -BeNullOrEmpty
        $claims.iss | Should -Be $oid
        $claims.aud | Should -Be '00000002-0000-0000-c000-000000000000'
        ($claims.exp - $claims.nbf) | Should -Be 300
    }

    It 'mints from a PFX file with a SecureString password' {
        $path = Join-Path $TestDrive 'c.pfx'
        [System.IO.File]::WriteAllBytes($path, $cert.Export('Pfx', 'secret'))
        $proof = New-EntraKeyProof -CertificatePath $path -CertificatePassword (ConvertTo-KrTestSecureString 'secret') -ObjectId $oid
        Test-EntraKeyProof -Proof $proof -ObjectId $oid -Certificate $cert -Quiet | Should -BeTrue
    }

    It 'refuses a lifetime above the service limit at binding' {
        { New-EntraKeyProof -Certificate $cert -ObjectId $oid -Lifetime 3600 } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }

    It 'refuses a certificate without its private key, naming the fix' {
        $public = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList (, $cert.RawData)
        New-EntraKeyProof -Certificate $public -ObjectId $oid -ErrorVariable all -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $all 'New-EntraKeyProof'
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'CertificateWithoutPrivateKey*'
        $e[0].Exception.Message | Should -Match 'private key'
    }

    It 'refuses a wrong PFX password with the library''s code, never echoing it' {
        $path = Join-Path $TestDrive 'w.pfx'
        [System.IO.File]::WriteAllBytes($path, $cert.Export('Pfx', 'right-password'))
        New-EntraKeyProof -CertificatePath $path -CertificatePassword (ConvertTo-KrTestSecureString 'Wr0ng-pa55') -ObjectId $oid -ErrorVariable all -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $all 'New-EntraKeyProof'
        $e.Count | Should -Be 1
        $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        ($e | Out-String) | Should -Not -Match 'Wr0ng'
    }

    It 'says which parameter gives a missing PFX password, in PowerShell''s words (the library names no CLI flag)' {
        $path = Join-Path $TestDrive 'p.pfx'
        [System.IO.File]::WriteAllBytes($path, $cert.Export('Pfx', 'right-password'))
        New-EntraKeyProof -CertificatePath $path -ObjectId $oid -ErrorVariable all -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $all 'New-EntraKeyProof'
        $e.Count | Should -Be 1
        $e[0].Exception.Message | Should -Match 'protected by a password'
        $e[0].ErrorDetails.RecommendedAction | Should -Match '-CertificatePassword'
        ($e[0] | Out-String) | Should -Not -Match '--[a-z]'
    }

    It 'mints one proof per object piped in, and closes the identity when the pipeline stops early' {
        $ids = 1..3 | ForEach-Object { [guid]::NewGuid().ToString() }
        $proofs = @($ids | New-EntraKeyProof -Certificate $cert)
        $proofs.Count | Should -Be 3
        Test-EntraKeyProof -Proof $proofs[2] -ObjectId $ids[2] -Certificate $cert -Quiet | Should -BeTrue
        $first = $ids | New-EntraKeyProof -Certificate $cert | Select-Object -First 1
        Test-EntraKeyProof -Proof $first -ObjectId $ids[0] -Certificate $cert -Quiet | Should -BeTrue
    }

    It 'never writes the password to the verbose stream' {
        $path = Join-Path $TestDrive 'v.pfx'
        [System.IO.File]::WriteAllBytes($path, $cert.Export('Pfx', 'Sup3rSecret!'))
        $verbose = New-EntraKeyProof -CertificatePath $path -CertificatePassword (ConvertTo-KrTestSecureString 'Sup3rSecret!') -ObjectId $oid -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        @($verbose).Count | Should -BeGreaterThan 0
        ($verbose.Message -join "`n") | Should -Not -Match 'Sup3rSecret'
    }
}

Describe 'New-EntraKeyProof with a key that refuses export' {
    BeforeAll { Initialize-KrTestNoExportRsa }
    BeforeEach {
        [KrTest.NoExportRsa]::Reset()
        Mock -ModuleName EntraKeyRoll Get-KrCertificateKey {
            [KrTest.NoExportRsa]::new([System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($Certificate))
        }
    }

    It 'signs with the certificate''s key object, never exporting it' {
        $cert = Get-KrTestCertificate
        $oid = [guid]::NewGuid().ToString()
        $proof = New-EntraKeyProof -Certificate $cert -ObjectId $oid
        Test-EntraKeyProof -Proof $proof -ObjectId $oid -Certificate $cert -Quiet | Should -BeTrue
        [KrTest.NoExportRsa]::Signatures | Should -Be 1
        [KrTest.NoExportRsa]::ExportAttempts | Should -Be 0
    }

    It 'refuses an ECDSA certificate, naming -Certificate and the fix' {
        Mock -ModuleName EntraKeyRoll Get-KrCertificateKey { [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($Certificate) }
        New-EntraKeyProof -Certificate (Get-KrTestEcdsaCertificate) -ObjectId ([guid]::NewGuid()) -ErrorVariable all -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $all 'New-EntraKeyProof'
        $e.Count | Should -Be 1
        $e[0].Exception.Message | Should -Match '^-Certificate: .* not RSA; .*give an RSA certificate'
    }
}
