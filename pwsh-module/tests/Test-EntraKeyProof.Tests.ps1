BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
}

Describe 'Test-EntraKeyProof' {
    BeforeAll {
        $script:cert = New-KrSelfSignedCertificate
        $script:oid = [guid]::NewGuid().ToString()
        $script:proof = New-EntraKeyProof -Certificate $cert -ObjectId $oid
    }

    It 'returns $true / $false with -Quiet' {
        Test-EntraKeyProof -Proof $proof -ObjectId $oid -Certificate $cert -Quiet | Should -BeTrue
        Test-EntraKeyProof -Proof $proof -ObjectId ([guid]::NewGuid()) -Certificate $cert -Quiet | Should -BeFalse
    }

    It 'returns findings as objects for a proof made for another object' {
        $f = Test-EntraKeyProof -Proof $proof -ObjectId ([guid]::NewGuid()) -Certificate $cert
        $f.PSObject.TypeNames | Should -Contain 'EntraKeyRoll.ProofFinding'
        @($f).Where({ -not $_.Accepted }).Count | Should -BeGreaterThan 0
    }

    It 'takes the proof from the pipeline and certificates from files' {
        $path = Join-Path $TestDrive 'c.cer'
        [System.IO.File]::WriteAllBytes($path, $cert.RawData)
        $proof | Test-EntraKeyProof -ObjectId $oid -CertificatePath $path -Quiet | Should -BeTrue
    }
}
