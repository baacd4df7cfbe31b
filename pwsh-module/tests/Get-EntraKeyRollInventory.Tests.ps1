BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
    $script:emu = Open-KrTestEmulator
}
AfterAll { Disconnect-EntraKeyRoll; Close-KrTestEmulator $script:emu }

Describe 'Get-EntraKeyRollInventory' {
    BeforeAll {
        $script:cert = Get-KrTestCertificate -Days 20
        $script:app = Register-KrTestApp $emu $cert
        $soon = [DateTime]::UtcNow.AddDays(5).ToString('yyyy-MM-ddTHH:mm:ssZ')
        $later = [DateTime]::UtcNow.AddDays(300).ToString('yyyy-MM-ddTHH:mm:ssZ')
        $script:withSecrets = Invoke-KrEmulatorAdmin $emu 'POST' 'applications' @{
            displayName         = 'pester secrets'
            passwordCredentials = @(
                @{ displayName = 'soon'; secretText = 'Ab1~soon-secret-value'; endDateTime = $soon },
                @{ displayName = 'later'; secretText = 'Cd2~later-secret-value'; endDateTime = $later }
            )
        }
        $reader = Invoke-KrEmulatorAdmin $emu 'POST' 'applications' @{ displayName = 'pester reader'; roles = @('Application.Read.All') }
        Connect-KrTestEmulatorAsApp $emu $reader | Out-Null
    }

    It 'streams one typed object per credential, certificates and secrets, with days left and a view' {
        $all = @(Get-EntraKeyRollInventory -Type Application -PageSize 2)
        $all.Count | Should -Be 3
        $c = $all | Where-Object CredentialType -eq 'Certificate'
        $c.ObjectId | Should -Be $app.id
        $c.Thumbprint | Should -Be $cert.Thumbprint
        $c.DaysLeft | Should -BeLessThan 21
        $c.LastValidCertificate | Should -BeTrue
        $c.EndDateTime.Kind | Should -Be 'Utc'
        $c.PSObject.TypeNames[0] | Should -Be 'Keyroll.InventoryItem'
        $c.KeyId | Should -BeOfType [guid]
        $s = @($all | Where-Object CredentialType -eq 'Secret')
        $s.Count | Should -Be 2
        ($s | Where-Object KeyDisplayName -eq 'soon').Hint | Should -Not -BeNullOrEmpty
        # No secret's value anywhere in the output.
        ($all | Out-String -Width 300) | Should -Not -Match 'secret-value'
        ($all | Out-String -Width 300) | Should -Match 'Days\s+Status\s+LastValid'
    }

    It 'filters by expiry and by credential type, and the service principals are scanned too' {
        $soon = @(Get-EntraKeyRollInventory -ExpiringWithin 10)
        $soon.Count | Should -Be 1
        $soon[0].KeyDisplayName | Should -Be 'soon'
        @(Get-EntraKeyRollInventory -ExpiringWithin 30 -CredentialType Certificate).Count | Should -Be 1
        @(Get-EntraKeyRollInventory -Type ServicePrincipal).Count | Should -Be 0
    }

    It 'exports a plan that names the certificate files by rule' {
        $plan = Join-Path $TestDrive 'plan.csv'
        Get-EntraKeyRollInventory -CredentialType Certificate -CertificatePathRule 'current/{appId}.pfx' -NewCertificatePathRule 'next/{appId}.pfx' |
            Export-Csv -Path $plan -NoTypeInformation
        $rows = @(Import-Csv $plan)
        $rows.Count | Should -Be 1
        $rows[0].ObjectId | Should -Be $app.id
        $rows[0].TargetType | Should -Be 'Application'
        $rows[0].CertificatePath | Should -Be "current/$($app.appId).pfx"
        $rows[0].NewCertificatePath | Should -Be "next/$($app.appId).pfx"
    }

    It 'names the parameter of a bad naming rule, and the permission a scan needs' {
        Get-EntraKeyRollInventory -NewCertificatePathRule 'next.pfx' -ErrorVariable e1 -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $e1 'Get-EntraKeyRollInventory'
        $e.Count | Should -Be 1
        $e[0].Exception.Message | Should -Match '-NewCertificatePathRule'
        $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'

        $nobody = Invoke-KrEmulatorAdmin $emu 'POST' 'applications' @{ displayName = 'pester nobody' }
        Connect-KrTestEmulatorAsApp $emu $nobody | Out-Null
        Get-EntraKeyRollInventory -ErrorVariable e2 -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $e2 'Get-EntraKeyRollInventory'
        $e.Count | Should -Be 1
        $e[0].Exception.Message | Should -Match 'Application\.Read\.All'
    }
}
