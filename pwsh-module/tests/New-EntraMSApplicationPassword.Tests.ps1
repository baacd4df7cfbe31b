BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
    $script:emu = Open-KrTestEmulator
    $script:admin = Invoke-KrEmulatorAdmin $script:emu 'POST' 'applications' @{ displayName = 'secrets admin'; roles = @('Application.ReadWrite.All') }

    function Get-TestPlain([System.Security.SecureString] $Secure) {
        [System.Net.NetworkCredential]::new('', $Secure).Password
    }

    function Get-TestSecretSignIn([object] $App, [string] $Secret) {
        # Client credentials with the secret, as MSAL sends them: the HTTP status.
        $form = New-Object 'System.Collections.Generic.Dictionary[string,string]'
        $form['client_id'] = $App.appId
        $form['scope'] = 'https://graph.microsoft.com/.default'
        $form['grant_type'] = 'client_credentials'
        $form['client_secret'] = $Secret
        $content = New-Object System.Net.Http.FormUrlEncodedContent $form
        $response = $script:emu.Client.PostAsync("$($script:emu.LoginUrl)/$($script:emu.TenantId)/oauth2/v2.0/token", $content).GetAwaiter().GetResult()
        [int]$response.StatusCode
    }
}
AfterAll { Disconnect-EntraKeyRoll; Close-KrTestEmulator $script:emu }

Describe 'New-EntraMSApplicationPassword' {
    BeforeEach {
        $script:app = Invoke-KrEmulatorAdmin $script:emu 'POST' 'applications' @{ displayName = 'secret target' }
        Connect-KrTestEmulatorAsApp $script:emu $script:admin | Out-Null
    }

    It 'adds a secret returned once as a read-only SecureString, which signs in' {
        $s = New-EntraMSApplicationPassword -ObjectId $app.id -PasswordCredential @{ DisplayName = 'pester' }
        $s.PSObject.TypeNames | Should -Contain 'EntraKeyRoll.PasswordCredential'
        $s.SecretText | Should -BeOfType ([System.Security.SecureString])
        $s.SecretText.IsReadOnly() | Should -BeTrue
        $plain = Get-TestPlain $s.SecretText
        $plain.Length | Should -BeGreaterOrEqual 16
        $s.Hint | Should -Be $plain.Substring(0, 3)
        $s.DisplayName | Should -Be 'pester'
        $s.ObjectId | Should -Be $app.id
        ($s.EndDateTime - $s.StartDateTime).TotalDays | Should -Be 730
        $listed = (Invoke-KrEmulatorAdmin $emu 'GET' "applications/$($app.id)").passwordCredentials
        @($listed).keyId | Should -Be @($s.KeyId)
        Get-TestSecretSignIn $app $plain | Should -Be 200
    }

    It 'takes the object id from the pipeline, $null as the defaults, and the documented alias ApplicationId' {
        $a = $app.id | New-EntraMSApplicationPassword -PasswordCredential $null
        $b = New-EntraMSApplicationPassword -ApplicationId $app.id
        (Invoke-KrEmulatorAdmin $emu 'GET' "applications/$($app.id)").passwordCredentials.Count | Should -Be 2
        $a.KeyId | Should -Not -Be $b.KeyId
    }

    It 'adds a secret to a service principal, and by appId' {
        $sp = New-EntraMSApplicationPassword -ObjectId $app.servicePrincipalId -TargetType ServicePrincipal -PasswordCredential @{ EndDateTime = (Get-Date).AddDays(90) }
        $sp.TargetType | Should -Be 'ServicePrincipal'
        ((Invoke-KrEmulatorAdmin $emu 'GET' "applications/$($app.servicePrincipalId)").passwordCredentials).keyId | Should -Be $sp.KeyId
        $byAppId = New-EntraMSApplicationPassword -AppId $app.appId
        $byAppId.ObjectId | Should -Be $app.id
    }

    It 'never writes the secret in plain text: output, Verbose, a transcript' {
        $log = Join-Path $TestDrive 'transcript.txt'
        Start-Transcript -Path $log | Out-Null
        try {
            $all = New-EntraMSApplicationPassword -ObjectId $app.id -PasswordCredential @{ DisplayName = 'quiet' } -Verbose 4>&1
        }
        finally { Stop-Transcript | Out-Null }
        $s = @($all | Where-Object { $_.PSObject.TypeNames -contains 'EntraKeyRoll.PasswordCredential' })[0]
        $verbose = @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
        $verbose.Count | Should -BeGreaterThan 0
        $plain = Get-TestPlain $s.SecretText
        $shown = ($s | Format-List * | Out-String) + ($s | ConvertTo-Json -Depth 4) + ($verbose | Out-String) + [System.IO.File]::ReadAllText($log)
        $shown.Contains($plain) | Should -BeFalse
    }

    It 'refuses SecretText, an unknown property and an end before the start, each with one error naming the object, and adds nothing' {
        foreach ($case in @(
                @{ pc = @{ SecretText = 'mine' }; match = 'generates every client secret' },
                @{ pc = @{ EndDate = (Get-Date).AddDays(1) }; match = 'EndDateTime' },
                @{ pc = @{ StartDateTime = '2030-01-02T00:00:00Z'; EndDateTime = '2030-01-01T00:00:00Z' }; match = 'end' })) {
            New-EntraMSApplicationPassword -ObjectId $app.id -PasswordCredential $case.pc -ErrorVariable all -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $e = Get-KrWrittenError $all 'New-EntraMSApplicationPassword'
            $e.Count | Should -Be 1
            $e[0].Exception.Message | Should -Match $case.match
            $e[0].Exception.Message | Should -Not -Match 'mine'
            $e[0].TargetObject | Should -Be $app.id
        }
        @((Invoke-KrEmulatorAdmin $emu 'GET' "applications/$($app.id)").passwordCredentials).Count | Should -Be 0
    }

    It 'says what permission is missing when the app adds a secret to itself without one' {
        Connect-KrTestEmulatorAsApp $script:emu $script:app | Out-Null
        New-EntraMSApplicationPassword -ObjectId $app.id -ErrorVariable all -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $all 'New-EntraMSApplicationPassword'
        $e.Count | Should -Be 1
        $e[0].Exception.Message | Should -Match 'Authorization_RequestDenied'
    }

    It 'supports -WhatIf and -Confirm (ConfirmImpact Medium), adding nothing with -WhatIf' {
        $binding = (Get-Command New-EntraMSApplicationPassword).ScriptBlock.Attributes | Where-Object { $_ -is [System.Management.Automation.CmdletBindingAttribute] }
        $binding.SupportsShouldProcess | Should -BeTrue
        $binding.ConfirmImpact | Should -Be 'Medium'
        New-EntraMSApplicationPassword -ObjectId $app.id -WhatIf | Should -BeNullOrEmpty
        @((Invoke-KrEmulatorAdmin $emu 'GET' "applications/$($app.id)").passwordCredentials).Count | Should -Be 0
    }
}
