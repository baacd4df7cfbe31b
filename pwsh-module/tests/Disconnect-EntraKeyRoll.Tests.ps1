BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
}

Describe 'Disconnect-EntraKeyRoll' {
    It 'forgets the connection' {
        Connect-EntraKeyRoll -AccessToken (ConvertTo-SecureString 't' -AsPlainText -Force) -GraphUrl https://127.0.0.1:9 | Out-Null
        Disconnect-EntraKeyRoll
        { Get-EntraMSApplicationKey -ObjectId ([guid]::NewGuid()) -ErrorAction Stop } | Should -Throw -ErrorId 'NotConnected*'
    }

    It 'is harmless when not connected' {
        { Disconnect-EntraKeyRoll } | Should -Not -Throw
    }

    It 'imports without compiling C#, exporting exactly the manifest''s functions' {
        $m = Get-Module EntraKeyRoll
        @($m.ExportedFunctions.Keys | Sort-Object) | Should -Be @((Import-PowerShellDataFile $env:ENTRAKEYROLL_MODULE).FunctionsToExport | Sort-Object)
        Get-Help New-EntraMSApplicationKey -Examples | Out-String | Should -Match 'New-EntraMSApplicationKey @params'
    }
}
