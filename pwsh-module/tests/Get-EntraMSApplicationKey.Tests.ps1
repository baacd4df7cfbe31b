BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
    $script:emu = Start-KrEmulator
}
AfterAll { Disconnect-EntraKeyRoll; Stop-KrEmulator $script:emu }

Describe 'Get-EntraMSApplicationKey' {
    It 'lists keys with thumbprint, validity and days left, by object id and by appId' {
        $cert = New-KrSelfSignedCertificate
        $app = New-KrEmulatorApp $emu $cert
        Connect-KrEmulatorAsApp $emu $app | Out-Null
        $k = Get-EntraMSApplicationKey -ObjectId $app.id
        $k.Thumbprint | Should -Be $cert.Thumbprint
        $k.Status | Should -Be 'valid'
        $k.DaysLeft | Should -BeGreaterThan 80
        $k.PSObject.TypeNames | Should -Contain 'EntraKeyRoll.KeyInfo'
        (Get-EntraMSApplicationKey -AppId $app.appId).KeyId | Should -Be $k.KeyId
    }

    It 'is a clear terminating error when not connected' {
        Disconnect-EntraKeyRoll
        { Get-EntraMSApplicationKey -ObjectId ([guid]::NewGuid()) -ErrorAction Stop } | Should -Throw -ErrorId 'NotConnected*'
    }

    It 'reports an unknown object as ObjectNotFound with the object as target' {
        $cert = New-KrSelfSignedCertificate
        Connect-KrEmulatorAsApp $emu (New-KrEmulatorApp $emu $cert) | Out-Null
        $id = [guid]::NewGuid().ToString()
        Get-EntraMSApplicationKey -ObjectId $id -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $e[0].TargetObject | Should -Be $id
    }
}
