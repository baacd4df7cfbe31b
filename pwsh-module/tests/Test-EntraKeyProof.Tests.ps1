BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
}

Describe 'Test-EntraKeyProof' {
    BeforeAll {
        $script:cert = Get-KrTestCertificate
        $script:oid = [guid]::NewGuid().ToString()
        $script:proof = New-EntraKeyProof -Certificate $cert -ObjectId $oid
    }

    It 'returns $true / $false with -Quiet' {
        Test-EntraKeyProof -Proof $proof -ObjectId $oid -Certificate $cert -Quiet | Should -BeTrue
        Test-EntraKeyProof -Proof $proof -ObjectId ([guid]::NewGuid()) -Certificate $cert -Quiet | Should -BeFalse
    }

    It 'returns a finding per problem for a proof made for another object with another certificate' {
        $other = Get-KrTestCertificate 'CN=other'
        $f = @(Test-EntraKeyProof -Proof $proof -ObjectId ([guid]::NewGuid()) -Certificate $other)
        $f[0].PSObject.TypeNames | Should -Contain 'EntraKeyRoll.ProofFinding'
        $f.Count | Should -BeGreaterThan 1
        ($f | Where-Object { -not $_.Accepted }).Count | Should -Be $f.Count
        ($f.Message -join "`n") | Should -Match 'iss|object'
    }

    It 'takes the proof from the pipeline and certificates from files' {
        $path = Join-Path $TestDrive 'c.cer'
        [System.IO.File]::WriteAllBytes($path, $cert.RawData)
        $proof | Test-EntraKeyProof -ObjectId $oid -CertificatePath $path -Quiet | Should -BeTrue
    }

    It 'recognises the appId used as iss by mistake' {
        $appId = [guid]::NewGuid().ToString()
        $wrong = New-EntraKeyProof -Certificate $cert -ObjectId $appId
        $f = @(Test-EntraKeyProof -Proof $wrong -ObjectId $oid -AppId $appId -Certificate $cert)
        ($f.Message -join "`n") | Should -Match 'appId'
    }
}
