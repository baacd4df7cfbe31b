BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
    $script:emu = Open-KrTestEmulator
    $script:admin = Invoke-KrEmulatorAdmin $script:emu 'POST' 'applications' @{ displayName = 'secrets admin'; roles = @('Application.ReadWrite.All') }
}
AfterAll { Disconnect-EntraKeyRoll; Close-KrTestEmulator $script:emu }

Describe 'Remove-EntraMSApplicationPassword' {
    BeforeEach {
        $script:app = Invoke-KrEmulatorAdmin $script:emu 'POST' 'applications' @{ displayName = 'secret target' }
        Connect-KrTestEmulatorAsApp $script:emu $script:admin | Out-Null
        $script:added = New-EntraMSApplicationPassword -ObjectId $app.id -PasswordCredential @{ DisplayName = 'old' }
    }

    It 'removes a secret by keyId, with the documented parameter names' {
        Remove-EntraMSApplicationPassword -ApplicationId $app.id -KeyId $added.KeyId
        @((Invoke-KrEmulatorAdmin $emu 'GET' "applications/$($app.id)").passwordCredentials).Count | Should -Be 0
    }

    It 'writes nothing without -PassThru, and what it removed with it' {
        Remove-EntraMSApplicationPassword -ObjectId $app.id -KeyId $added.KeyId | Should -BeNullOrEmpty
        $another = New-EntraMSApplicationPassword -ObjectId $app.id -PasswordCredential @{ DisplayName = 'another' }
        $out = Remove-EntraMSApplicationPassword -ObjectId $app.id -KeyId $another.KeyId -PassThru
        $out.PSObject.TypeNames[0] | Should -Be 'EntraKeyRoll.RemovedPassword'
        $out.KeyId | Should -Be ([guid]$another.KeyId)
        $out.ObjectId | Should -Be $app.id
        $out.Removed | Should -BeTrue
        @((Invoke-KrEmulatorAdmin $emu 'GET' "applications/$($app.id)").passwordCredentials).Count | Should -Be 0
    }

    It 'takes ObjectId, TargetType and KeyId from the pipeline (New-EntraMSApplicationPassword''s object), for a service principal too' {
        $sp = New-EntraMSApplicationPassword -ObjectId $app.servicePrincipalId -TargetType ServicePrincipal
        $sp | Remove-EntraMSApplicationPassword
        @((Invoke-KrEmulatorAdmin $emu 'GET' "applications/$($app.servicePrincipalId)").passwordCredentials).Count | Should -Be 0
        $added | Remove-EntraMSApplicationPassword
        @((Invoke-KrEmulatorAdmin $emu 'GET' "applications/$($app.id)").passwordCredentials).Count | Should -Be 0
    }

    It 'refuses a keyId the object does not have with one error naming it' {
        $missing = [guid]::NewGuid().ToString()
        Remove-EntraMSApplicationPassword -ObjectId $app.id -KeyId $missing -ErrorVariable all -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $all 'Remove-EntraMSApplicationPassword'
        $e.Count | Should -Be 1
        $e[0].Exception.Message | Should -Match $missing
        $e[0].Exception.Message | Should -Match 'client secret'
        $e[0].TargetObject | Should -Be $missing
        @((Invoke-KrEmulatorAdmin $emu 'GET' "applications/$($app.id)").passwordCredentials).Count | Should -Be 1
    }

    It 'refuses a keyId that is not a GUID, speaking of a key id' {
        { Remove-EntraMSApplicationPassword -ObjectId $app.id -KeyId 'nope' -ErrorAction Stop } | Should -Throw '*KeyId*'
    }

    It 'supports -WhatIf and -Confirm (ConfirmImpact Medium), removing nothing with -WhatIf' {
        $binding = (Get-Command Remove-EntraMSApplicationPassword).ScriptBlock.Attributes | Where-Object { $_ -is [System.Management.Automation.CmdletBindingAttribute] }
        $binding.SupportsShouldProcess | Should -BeTrue
        $binding.ConfirmImpact | Should -Be 'Medium'
        Remove-EntraMSApplicationPassword -ObjectId $app.id -KeyId $added.KeyId -WhatIf
        @((Invoke-KrEmulatorAdmin $emu 'GET' "applications/$($app.id)").passwordCredentials).Count | Should -Be 1
    }
}
