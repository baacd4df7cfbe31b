BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
}

Describe 'New-EntraKeyProof' {
    BeforeAll {
        $script:cert = New-KrSelfSignedCertificate
        $script:oid = [guid]::NewGuid().ToString()
    }

    It 'mints a proof from an X509Certificate2 that the inspector accepts' {
        $proof = New-EntraKeyProof -Certificate $cert -ObjectId $oid
        $proof | Should -Match '^[\w-]+\.[\w-]+\.[\w-]+$'
        Test-EntraKeyProof -Proof $proof -ObjectId $oid -Certificate $cert -Quiet | Should -BeTrue
    }

    It 'mints from a PFX file with a SecureString password' {
        $path = Join-Path $TestDrive 'c.pfx'
        [System.IO.File]::WriteAllBytes($path, $cert.Export('Pfx', 'secret'))
        $proof = New-EntraKeyProof -CertificatePath $path -CertificatePassword (ConvertTo-SecureString 'secret' -AsPlainText -Force) -ObjectId $oid -Lifetime 300
        Test-EntraKeyProof -Proof $proof -ObjectId $oid -Certificate $cert -Quiet | Should -BeTrue
    }

    It 'refuses a lifetime above the service limit as an ErrorRecord' {
        New-EntraKeyProof -Certificate $cert -ObjectId $oid -Lifetime 3600 -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'never writes the password to the verbose stream' {
        $path = Join-Path $TestDrive 'v.pfx'
        [System.IO.File]::WriteAllBytes($path, $cert.Export('Pfx', 'Sup3rSecret!'))
        $verbose = New-EntraKeyProof -CertificatePath $path -CertificatePassword (ConvertTo-SecureString 'Sup3rSecret!' -AsPlainText -Force) -ObjectId $oid -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose.Message -join "`n") | Should -Not -Match 'Sup3rSecret'
    }
}
