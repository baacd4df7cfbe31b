BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
}

Describe 'Disconnect-EntraKeyRoll' {
    It 'forgets the connection' {
        Connect-EntraKeyRoll -AccessToken (ConvertTo-KrTestSecureString 't') -GraphUrl https://127.0.0.1:9 | Out-Null
        Disconnect-EntraKeyRoll
        $err = $null
        try { Get-EntraMSApplicationKey -ObjectId ([guid]::NewGuid()) -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'NotConnected*'
    }

    It 'is harmless when not connected' {
        Disconnect-EntraKeyRoll
        { Disconnect-EntraKeyRoll -ErrorAction Stop } | Should -Not -Throw
    }
}
