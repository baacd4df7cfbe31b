BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
    $script:emu = Open-KrTestEmulator
}
AfterAll { Disconnect-EntraKeyRoll; Close-KrTestEmulator $script:emu }

Describe 'Remove-EntraMSApplicationKey' {
    BeforeEach {
        $script:current = Get-KrTestCertificate 'CN=current'
        $script:next = Get-KrTestCertificate 'CN=next'
        $script:app = Register-KrTestApp $script:emu $script:current
        Connect-KrTestEmulatorAsApp $script:emu $script:app | Out-Null
        $script:added = New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next } -Proof (New-EntraKeyProof -Certificate $current -ObjectId $app.id)
    }

    It 'removes a key with a proof, as documented, without prompting' {
        Remove-EntraMSApplicationKey -ObjectId $app.id -KeyId $added.KeyId -Proof (New-EntraKeyProof -Certificate $current -ObjectId $app.id)
        $keys = Get-KrTestKeys $emu $app.id
        $keys.keyId | Should -Not -Contain $added.KeyId.ToString()
        $keys.Count | Should -Be 1
    }

    It 'writes what was removed with -PassThru, and nothing without it' {
        $out = Remove-EntraMSApplicationKey -ObjectId $app.id -KeyId $added.KeyId -Proof (New-EntraKeyProof -Certificate $current -ObjectId $app.id) -PassThru
        $out.PSObject.TypeNames | Should -Contain 'EntraKeyRoll.RemovedKey'
        $out.KeyId | Should -Be $added.KeyId
        $out.ObjectId | Should -Be $app.id
        $out.Removed | Should -BeTrue
        (Get-KrTestKeys $emu $app.id).keyId | Should -Not -Contain $added.KeyId.ToString()
    }

    It 'takes the object id from the pipeline by value' {
        $app.id | Remove-EntraMSApplicationKey -KeyId $added.KeyId -Proof (New-EntraKeyProof -Certificate $current -ObjectId $app.id)
        (Get-KrTestKeys $emu $app.id).keyId | Should -Not -Contain $added.KeyId.ToString()
    }

    It 'takes ObjectId and KeyId from Get-EntraMSApplicationKey through the pipeline' {
        $proof = New-EntraKeyProof -Certificate $current -ObjectId $app.id
        Get-EntraMSApplicationKey -ObjectId $app.id | Where-Object Thumbprint -eq $next.Thumbprint | Remove-EntraMSApplicationKey -Proof $proof
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
        (Get-EntraMSApplicationKey -ObjectId $app.id).Thumbprint | Should -Be $current.Thumbprint
    }

    It 'refuses to remove the last valid certificate without -Force, and removes it with -Force' {
        $proof = New-EntraKeyProof -Certificate $next -ObjectId $app.id
        $old = (Get-EntraMSApplicationKey -ObjectId $app.id | Where-Object Thumbprint -eq $current.Thumbprint).KeyId
        Remove-EntraMSApplicationKey -ObjectId $app.id -KeyId $old -Proof $proof
        Remove-EntraMSApplicationKey -ObjectId $app.id -KeyId $added.KeyId -Proof $proof -ErrorVariable all -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $all 'Remove-EntraMSApplicationKey'
        $e.Count | Should -Be 1
        $e[0].Exception.Message | Should -Match 'without a currently valid certificate'
        $e[0].ErrorDetails.RecommendedAction | Should -Match '-Force'
        $e[0].TargetObject | Should -Be $added.KeyId.ToString()
        (Get-KrTestKeys $emu $app.id).keyId | Should -Contain $added.KeyId.ToString()
        Remove-EntraMSApplicationKey -ObjectId $app.id -KeyId $added.KeyId -Proof $proof -Force
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 0
    }

    It 'declares ConfirmImpact Medium (no prompt at the default $ConfirmPreference) and changes nothing with -WhatIf' {
        $binding = (Get-Command Remove-EntraMSApplicationKey).ScriptBlock.Attributes | Where-Object { $_ -is [System.Management.Automation.CmdletBindingAttribute] }
        $binding.ConfirmImpact | Should -Be 'Medium'
        $binding.SupportsShouldProcess | Should -BeTrue
        $out = Remove-EntraMSApplicationKey -ObjectId $app.id -KeyId $added.KeyId -Proof 'x.y.z' -WhatIf -ErrorVariable e
        $e.Count | Should -Be 0
        $out | Should -BeNullOrEmpty
        (Get-KrTestKeys $emu $app.id).keyId | Should -Contain $added.KeyId.ToString()
    }

    It 'refuses a KeyId that is not a GUID at binding' {
        { Remove-EntraMSApplicationKey -ObjectId $app.id -KeyId 'cert-1' -Proof 'x' -ErrorAction Stop } | Should -Throw -ExpectedMessage '*KeyId must be*GUID*'
    }

    It 'refuses an unknown keyId locally and changes nothing' {
        $unknown = [guid]::NewGuid()
        Remove-EntraMSApplicationKey -ObjectId $app.id -KeyId $unknown -Proof (New-EntraKeyProof -Certificate $current -ObjectId $app.id) -ErrorVariable all -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $all 'Remove-EntraMSApplicationKey'
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'key_not_found,*'
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 2
    }
}
