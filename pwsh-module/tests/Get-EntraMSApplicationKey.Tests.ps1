BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
    $script:emu = Open-KrTestEmulator
}
AfterAll { Disconnect-EntraKeyRoll; Close-KrTestEmulator $script:emu }

Describe 'Get-EntraMSApplicationKey' {
    It 'lists keys with thumbprint, validity and days left, by object id, by appId and from the pipeline' {
        $cert = Get-KrTestCertificate -Days 90
        $app = Register-KrTestApp $emu $cert
        Connect-KrTestEmulatorAsApp $emu $app | Out-Null
        $k = Get-EntraMSApplicationKey -ObjectId $app.id
        @($k).Count | Should -Be 1
        $k.Thumbprint | Should -Be $cert.Thumbprint
        $k.Status | Should -Be 'valid'
        $k.DaysLeft | Should -BeGreaterThan 80
        $k.DaysLeft | Should -BeLessThan 91
        $k.KeyId | Should -BeOfType [guid]
        $k.EndDateTime.Kind | Should -Be 'Utc'
        $k.PSObject.TypeNames[0] | Should -Be 'EntraKeyRoll.KeyInfo'
        (Get-EntraMSApplicationKey -AppId $app.appId).KeyId | Should -Be $k.KeyId
        ($app.id | Get-EntraMSApplicationKey).KeyId | Should -Be $k.KeyId
        ($k | Out-String -Width 250) | Should -Match 'Days\s+Status'
    }

    It 'is a clear terminating error when not connected' {
        Disconnect-EntraKeyRoll
        $err = $null
        try { Get-EntraMSApplicationKey -ObjectId ([guid]::NewGuid()) -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'NotConnected*'
        $err.CategoryInfo.Category | Should -Be 'ConnectionError'
    }

    It 'reports an unknown object as ObjectNotFound with the object as target' {
        Connect-KrTestEmulatorAsApp $emu (Register-KrTestApp $emu (Get-KrTestCertificate)) | Out-Null
        $id = [guid]::NewGuid().ToString()
        Get-EntraMSApplicationKey -ObjectId $id -ErrorVariable all -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $all 'Get-EntraMSApplicationKey'
        $e.Count | Should -Be 1
        $e[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $e[0].TargetObject | Should -Be $id
        $e[0].Exception.Data['HttpStatus'] | Should -Be 404
    }
}
