BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
    $script:emu = Start-KrEmulator
}
AfterAll { Disconnect-EntraKeyRoll; Stop-KrEmulator $script:emu }

Describe 'Remove-EntraMSApplicationKey' {
    BeforeEach {
        $script:current = New-KrSelfSignedCertificate 'CN=current'
        $script:next = New-KrSelfSignedCertificate 'CN=next'
        $script:app = New-KrEmulatorApp $script:emu $script:current
        Connect-KrEmulatorAsApp $script:emu $script:app | Out-Null
        $script:added = New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next } -Proof (New-EntraKeyProof -Certificate $current -ObjectId $app.id)
    }

    It 'removes a key with a proof' {
        Remove-EntraMSApplicationKey -ObjectId $app.id -KeyId $added.KeyId -Proof (New-EntraKeyProof -Certificate $current -ObjectId $app.id) -Confirm:$false
        (Get-EntraMSApplicationKey -ObjectId $app.id).KeyId | Should -Not -Contain $added.KeyId
    }

    It 'takes ObjectId and KeyId from Get-EntraMSApplicationKey through the pipeline, and the alias' {
        $proof = New-EntraKeyProof -Certificate $current -ObjectId $app.id
        Get-EntraMSApplicationKey -ObjectId $app.id | Where-Object Thumbprint -eq $next.Thumbprint | Remove-EntraApplicationKey -Proof $proof -Confirm:$false
        (Get-EntraMSApplicationKey -ObjectId $app.id).Thumbprint | Should -Not -Contain $next.Thumbprint
    }

    It 'refuses to remove the last valid certificate without -Force' {
        $proof = New-EntraKeyProof -Certificate $next -ObjectId $app.id
        $old = (Get-EntraMSApplicationKey -ObjectId $app.id | Where-Object Thumbprint -eq $current.Thumbprint).KeyId
        Remove-EntraMSApplicationKey -ObjectId $app.id -KeyId $old -Proof $proof -Confirm:$false
        Remove-EntraMSApplicationKey -ObjectId $app.id -KeyId $added.KeyId -Proof $proof -Confirm:$false -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'refused*'
        (Get-EntraMSApplicationKey -ObjectId $app.id).KeyId | Should -Contain $added.KeyId
        Remove-EntraMSApplicationKey -ObjectId $app.id -KeyId $added.KeyId -Proof $proof -Confirm:$false -Force
        @(Get-EntraMSApplicationKey -ObjectId $app.id).Count | Should -Be 0
    }

    It 'declares ConfirmImpact High and changes nothing with -WhatIf' {
        (Get-Command Remove-EntraMSApplicationKey).ScriptBlock.Attributes.Where({ $_ -is [System.Management.Automation.CmdletBindingAttribute] })[0].ConfirmImpact | Should -Be 'High'
        Remove-EntraMSApplicationKey -ObjectId $app.id -KeyId $added.KeyId -Proof 'x' -WhatIf
        (Get-EntraMSApplicationKey -ObjectId $app.id).KeyId | Should -Contain $added.KeyId
    }
}
