BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
    $script:emu = Start-KrEmulator
}
AfterAll { Disconnect-EntraKeyRoll; Stop-KrEmulator $script:emu }

Describe 'Connect-EntraKeyRoll' {
    It 'connects with an access token and describes the connection without secrets' {
        $app = New-KrEmulatorApp $emu (New-KrSelfSignedCertificate)
        $token = (Invoke-KrEmulatorAdmin $emu 'tokens' @{ appId = $app.appId }).access_token
        $c = Connect-EntraKeyRoll -AccessToken (ConvertTo-SecureString $token -AsPlainText -Force) -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert -Verbose 4>&1
        ($c | Out-String) | Should -Not -Match ([regex]::Escape($token.Substring(0, 20)))
        ($c | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }).GraphUrl | Should -Be $emu.GraphUrl
    }

    It 'connects as the app with its certificate and gets a token on first use' {
        $cert = New-KrSelfSignedCertificate
        $app = New-KrEmulatorApp $emu $cert
        Connect-EntraKeyRoll -TenantId $emu.Info.tenantId -ClientId $app.appId -Certificate $cert -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
        (Get-EntraMSApplicationKey -ObjectId $app.id).Thumbprint | Should -Be $cert.Thumbprint
    }

    It 'refuses an unknown cloud as an ErrorRecord' {
        { Connect-EntraKeyRoll -AccessToken (ConvertTo-SecureString 't' -AsPlainText -Force) -Environment Atlantis -ErrorAction Stop } | Should -Throw -ErrorId 'settings*'
    }
}
