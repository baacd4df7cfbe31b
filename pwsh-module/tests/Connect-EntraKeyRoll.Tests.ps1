BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
    $script:emu = Open-KrTestEmulator
}
AfterAll { Disconnect-EntraKeyRoll; Close-KrTestEmulator $script:emu }

Describe 'Connect-EntraKeyRoll' {
    AfterEach { Disconnect-EntraKeyRoll }

    It 'connects with an access token on its first call and describes the connection without secrets' {
        $app = Register-KrTestApp $emu (Get-KrTestCertificate)
        $token = Get-KrTestToken $emu $app
        $c = Connect-EntraKeyRoll -AccessToken (ConvertTo-KrTestSecureString $token) -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert -Verbose 4>&1
        $connection = @($c | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
        $connection.Count | Should -Be 1
        $connection[0].PSObject.TypeNames[0] | Should -Be 'EntraKeyRoll.Connection'
        $connection[0].GraphUrl | Should -Be $emu.GraphUrl
        ($c | Out-String) + ($c | Format-List * | Out-String) | Should -Not -Match ([regex]::Escape($token.Substring(0, 24)))
        @(Get-EntraMSApplicationKey -ObjectId $app.id).Count | Should -Be 1
    }

    It 'connects as the app with -TenantId, -ClientId and -Certificate, and gets a token on first use' {
        $cert = Get-KrTestCertificate
        $app = Register-KrTestApp $emu $cert
        Connect-EntraKeyRoll -TenantId $emu.TenantId -ClientId $app.appId -Certificate $cert -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
        (Get-EntraMSApplicationKey -ObjectId $app.id).Thumbprint | Should -Be $cert.Thumbprint
    }

    It 'connects with -CertificatePath (PFX and password) and with the AppId alias of -ClientId' {
        $cert = Get-KrTestCertificate
        $app = Register-KrTestApp $emu $cert
        $path = Join-Path $TestDrive 'app.pfx'
        [System.IO.File]::WriteAllBytes($path, $cert.Export('Pfx', 'pfx-pw'))
        Connect-EntraKeyRoll -TenantId $emu.TenantId -AppId $app.appId -CertificatePath $path -CertificatePassword (ConvertTo-KrTestSecureString 'pfx-pw') -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
        (Get-EntraMSApplicationKey -AppId $app.appId).Thumbprint | Should -Be $cert.Thumbprint
    }

    It 'connects with -CertificateThumbprint from the CurrentUser\My store' {
        $cert = Get-KrTestCertificate 'CN=EntraKeyRoll store test'
        $app = Register-KrTestApp $emu $cert
        $store = New-Object System.Security.Cryptography.X509Certificates.X509Store 'My', 'CurrentUser'
        $store.Open('ReadWrite')
        try {
            $store.Add($cert)
            Connect-EntraKeyRoll -TenantId $emu.TenantId -ClientId $app.appId -CertificateThumbprint $cert.Thumbprint -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
            (Get-EntraMSApplicationKey -ObjectId $app.id).Signs | Should -BeTrue
        }
        finally {
            $store.Remove($cert)
            $store.Close()
        }
    }

    It 'keeps the previous connection when a new one fails' {
        $app = Register-KrTestApp $emu (Get-KrTestCertificate)
        Connect-KrTestEmulatorAsApp $emu $app | Out-Null
        { Connect-EntraKeyRoll -AccessToken (ConvertTo-KrTestSecureString 't') -Environment Atlantis -ErrorAction Stop } | Should -Throw
        @(Get-EntraMSApplicationKey -ObjectId $app.id).Count | Should -Be 1
    }

    It 'refuses an unknown cloud as an ErrorRecord with the library''s code' {
        $err = $null
        try { Connect-EntraKeyRoll -AccessToken (ConvertTo-KrTestSecureString 't') -Environment Atlantis -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'settings*'
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.Exception.Message | Should -Match 'Atlantis'
    }

    It 'refuses an empty SecureString token instead of connecting without one' {
        $err = $null
        try { Connect-EntraKeyRoll -AccessToken (New-Object System.Security.SecureString) -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'EmptyAccessToken*'
    }

    It '-Identity without IDENTITY_ENDPOINT speaks Azure''s instance metadata protocol, at its overridden address' {
        # A VM, not an Automation account: only the IMDS address is set, as azure-identity's override names it.
        # (An emulator of its own: its managed identity must be the only one.)
        $vm = Open-KrTestEmulator
        $identity = Invoke-KrEmulatorAdmin $vm 'POST' 'applications' @{ displayName = 'vm identity'; managedIdentity = $true; roles = @('Application.ReadWrite.All') }
        $app = Register-KrTestApp $vm (Get-KrTestCertificate 'CN=read by a vm')
        $saved = @{ IDENTITY_ENDPOINT = $env:IDENTITY_ENDPOINT; IDENTITY_HEADER = $env:IDENTITY_HEADER; AZURE_POD_IDENTITY_AUTHORITY_HOST = $env:AZURE_POD_IDENTITY_AUTHORITY_HOST }
        try {
            $env:IDENTITY_ENDPOINT = $null; $env:IDENTITY_HEADER = $null
            $env:AZURE_POD_IDENTITY_AUTHORITY_HOST = $vm.VaultUrl
            Connect-EntraKeyRoll -Identity -ClientId $identity.appId -GraphUrl $vm.GraphUrl -LoginUrl $vm.LoginUrl -CaCertificate $vm.CaCert | Out-Null
            (Get-EntraMSApplicationKey -ObjectId $app.id).Count | Should -Be 1
        }
        finally {
            foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) }
            Disconnect-EntraKeyRoll
            Close-KrTestEmulator $vm
        }
    }

    It 'completes -Environment with the clouds of the library''s table, Connect-MgGraph''s names' {
        $line = 'Connect-EntraKeyRoll -Environment '
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @('Global', 'USGov', 'USGovDoD', 'China')
        $line = 'Connect-EntraKeyRoll -Environment usg'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @('USGov', 'USGovDoD')
    }

    It 'takes a cloud by Connect-MgGraph''s or Azure''s name, with its endpoints' {
        $c = Connect-EntraKeyRoll -AccessToken (ConvertTo-KrTestSecureString 'not-sent') -Environment USGov
        $c.GraphUrl | Should -Be 'https://graph.microsoft.us'
        $c.LoginUrl | Should -Be 'https://login.microsoftonline.us'
        (Connect-EntraKeyRoll -AccessToken (ConvertTo-KrTestSecureString 'not-sent') -Environment AzureChinaCloud).GraphUrl | Should -Be 'https://microsoftgraph.chinacloudapi.cn'
        Disconnect-EntraKeyRoll
    }

    It 'refuses an unknown -Environment, naming the parameter and the clouds' {
        $err = $null
        try { Connect-EntraKeyRoll -AccessToken (ConvertTo-KrTestSecureString 'not-sent') -Environment Mars -ErrorAction Stop } catch { $err = $_ }
        $err.ErrorDetails.Message | Should -Be '-Environment: "Mars" is not a cloud: give one of Global, USGov, USGovDoD, China'
        $err.FullyQualifiedErrorId | Should -BeLike 'settings*'
    }

    It 'refuses -Scopes without -UseDeviceCode (an interactive sign-in), naming the ways that work' {
        $err = $null
        try { Connect-EntraKeyRoll -Scopes 'Application.ReadWrite.All' -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'DelegatedSignInNotAvailable*'
        $err.Exception.Message | Should -Match 'Connect-MgGraph'
        $err.Exception.Message | Should -Match '-UseDeviceCode'
        $err.Exception.Message | Should -Match '-CertificatePath'
        $err.Exception.Message | Should -Match '-Identity'
    }
}

Describe 'Connect-EntraKeyRoll -UseDeviceCode' {
    BeforeAll {
        # The user at the browser: another runspace polls the emulator's admin API for the code shown and decides it.
        function Start-KrTestApprover([object] $Emulator, [hashtable] $Decision) {
            $ps = [powershell]::Create()
            $null = $ps.AddScript({
                    param($client, $base, $decision)
                    $deadline = (Get-Date).AddSeconds(30)
                    while ((Get-Date) -lt $deadline) {
                        $list = $client.GetStringAsync("$base/_emulator/devicecodes").GetAwaiter().GetResult() | ConvertFrom-Json
                        $code = @($list.value | Where-Object { $_.status -eq 'pending' })[0].userCode
                        if ($code) {
                            $content = New-Object System.Net.Http.StringContent $decision, ([System.Text.Encoding]::UTF8), 'application/json'
                            $r = $client.PostAsync("$base/_emulator/devicecodes/$code", $content).GetAwaiter().GetResult()
                            if (-not $r.IsSuccessStatusCode) { throw "the decision was refused: $([int]$r.StatusCode)" }
                            return $code
                        }
                        Start-Sleep -Milliseconds 50
                    }
                    throw 'no device code appeared'
                }).AddArgument($Emulator.Client).AddArgument($Emulator.GraphUrl).AddArgument((ConvertTo-Json -InputObject $Decision -Depth 5 -Compress))
            [pscustomobject]@{ PowerShell = $ps; Handle = $ps.BeginInvoke() }
        }
        function Wait-KrTestApprover([object] $Approver) {
            try { @($Approver.PowerShell.EndInvoke($Approver.Handle))[0] } finally { $Approver.PowerShell.Dispose() }
        }
        $script:approve = @{ action = 'approve'; grantedScopes = @('Application.ReadWrite.All'); user = @{ userPrincipalName = 'ada@contoso.example'; directoryRoles = @('Application Administrator') } }
        $script:cache = Join-Path $TestDrive 'profile/keyroll/token-cache.json'
        $env:KEYROLL_TOKEN_CACHE = $cache
        $null = Invoke-KrEmulatorAdmin $emu 'PUT' 'devicecode-settings' @{ intervalSecs = 0 }
        $script:dc = @{ UseDeviceCode = $true; TenantId = $emu.TenantId; Scopes = 'Application.ReadWrite.All'; GraphUrl = $emu.GraphUrl; LoginUrl = $emu.LoginUrl; CaCertificate = $emu.CaCert }
    }
    AfterAll { Disconnect-EntraKeyRoll; Remove-Item Env:KEYROLL_TOKEN_CACHE -ErrorAction Ignore }
    # Disconnect-EntraKeyRoll signs the user out (tested below): the tests that reuse the cache keep the sign-in.
    AfterEach { Disconnect-EntraKeyRoll -KeepSignIn }

    It 'shows the code as Connect-MgGraph does, waits for the approval, then lists keys and adds one' {
        $current = Get-KrTestCertificate 'CN=device code current'
        $next = Get-KrTestCertificate 'CN=device code next'
        $app = Register-KrTestApp $emu $current
        $approver = Start-KrTestApprover $emu $approve
        $out = Connect-EntraKeyRoll @dc -InformationVariable shown
        $code = Wait-KrTestApprover $approver
        ($shown | Out-String) | Should -Match ([regex]::Escape($code))
        ($shown | Out-String) | Should -Match 'https://www.microsoft.com/link'
        @($out).Count | Should -Be 1
        @($out)[0].PSObject.TypeNames[0] | Should -Be 'EntraKeyRoll.Connection'
        @($out)[0].Credential | Should -Match 'ada@contoso.example.*delegated'
        ($out | Out-String) | Should -Not -Match $code
        @(Get-EntraMSApplicationKey -ObjectId $app.id).Count | Should -Be 1
        # The proof is still signed by the object's own certificate.
        New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next.RawData } -Proof (New-EntraKeyProof -Certificate $current -ObjectId $app.id) | Out-Null
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 2
    }

    It 'keeps the sign-in in a private cache file, and a second Connect reuses it without a new code' {
        Test-Path -LiteralPath $cache | Should -BeTrue
        if ([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Unix) {
            (& stat -c '%a' $cache) | Should -Be '600'
            (& stat -c '%a' (Split-Path $cache)) | Should -Be '700'
        }
        $text = [System.IO.File]::ReadAllText($cache)
        $token = ($text | ConvertFrom-Json).entries.PSObject.Properties.Value[0].access_token
        $out = Connect-EntraKeyRoll @dc -InformationVariable shown -Verbose 4>&1
        ($shown | Out-String) | Should -Not -Match 'To sign in'
        @((Invoke-KrEmulatorAdmin $emu 'GET' 'devicecodes').value).Count | Should -Be 0
        ($out | Out-String) | Should -Not -Match ([regex]::Escape($token.Substring(0, 30)))
        @($out | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })[0].Credential | Should -Match 'ada@contoso.example'
    }

    It 'signs the user out on Disconnect-EntraKeyRoll, as Disconnect-MgGraph does: the next sign-in asks for a code' {
        $null = Connect-EntraKeyRoll @dc -InformationAction SilentlyContinue
        (([System.IO.File]::ReadAllText($cache) | ConvertFrom-Json).entries.PSObject.Properties | Measure-Object).Count | Should -Be 1
        Disconnect-EntraKeyRoll -WhatIf
        (([System.IO.File]::ReadAllText($cache) | ConvertFrom-Json).entries.PSObject.Properties | Measure-Object).Count | Should -Be 1
        $out = Disconnect-EntraKeyRoll -Verbose 4>&1
        ($out | Out-String) | Should -Match 'signed out: 1 sign-in'
        # Counted without .Count on a value an if-statement may have unrolled to $null (StrictMode).
        $left = 0
        if (Test-Path -LiteralPath $cache) { $left = (([System.IO.File]::ReadAllText($cache) | ConvertFrom-Json).entries.PSObject.Properties | Measure-Object).Count }
        $left | Should -Be 0
        $approver = Start-KrTestApprover $emu $approve
        $null = Connect-EntraKeyRoll @dc -InformationVariable shown
        $code = Wait-KrTestApprover $approver
        ($shown | Out-String) | Should -Match ([regex]::Escape($code))
    }

    It 'says clearly when the code is declined or expires, naming -UseDeviceCode' {
        Remove-Item -LiteralPath $cache -ErrorAction Ignore
        foreach ($case in @(@{ action = 'deny'; id = 'authorization_declined'; word = 'declined' }, @{ action = 'expire'; id = 'expired_token'; word = 'expired' })) {
            $approver = Start-KrTestApprover $emu @{ action = $case.action }
            $err = $null
            try { Connect-EntraKeyRoll @dc -InformationAction SilentlyContinue -ErrorAction Stop } catch { $err = $_ }
            $null = Wait-KrTestApprover $approver
            $err | Should -Not -BeNullOrEmpty
            $err.FullyQualifiedErrorId | Should -BeLike "$($case.id)*"
            $err.Exception.Message | Should -Match $case.word
            $err.ErrorDetails.RecommendedAction | Should -Match '-UseDeviceCode'
            ($err.Exception.Message + $err.ErrorDetails.RecommendedAction) | Should -Not -Match '--[a-z]'
        }
        Test-Path -LiteralPath $cache | Should -BeFalse
    }

    It 'stops at once when stopped (Ctrl+C) while waiting for the user, and connects nothing' {
        Remove-Item -LiteralPath $cache -ErrorAction Ignore
        $ps = [powershell]::Create()
        $null = $ps.AddScript({
                param($module, $parameters, $cachePath)
                $env:KEYROLL_TOKEN_CACHE = $cachePath
                Import-Module $module
                Connect-EntraKeyRoll @parameters -InformationAction SilentlyContinue
            }).AddArgument($env:ENTRAKEYROLL_MODULE).AddArgument($dc).AddArgument($cache)
        $handle = $ps.BeginInvoke()
        $deadline = (Get-Date).AddSeconds(30)
        while ((Get-Date) -lt $deadline -and -not @((Invoke-KrEmulatorAdmin $emu 'GET' 'devicecodes').value | Where-Object { $_.status -eq 'pending' })) {
            Start-Sleep -Milliseconds 50
        }
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        $ps.Stop()
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 3
        $handle.IsCompleted | Should -BeTrue
        $ps.Dispose()
        Test-Path -LiteralPath $cache | Should -BeFalse
        # The code was never redeemed: nobody approved it, and the stopped command took nothing.
        @((Invoke-KrEmulatorAdmin $emu 'GET' 'devicecodes').value | Where-Object { $_.status -eq 'pending' }).Count | Should -BeGreaterOrEqual 1
    }

    It 'refuses a corrupt token cache by name, without its contents' {
        $null = New-Item -ItemType Directory -Force -Path (Split-Path $cache)
        [System.IO.File]::WriteAllText($cache, '{"version":1,"entries":{"k":{"refresh_token":"rt-PESTER-SECRET"}}}')
        if ([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Unix) { & chmod 600 $cache }
        $err = $null
        try { Connect-EntraKeyRoll @dc -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'token_cache*'
        $err.Exception.Message | Should -Match ([regex]::Escape($cache))
        ($err | Out-String) + $err.ErrorDetails.RecommendedAction | Should -Not -Match 'rt-PESTER-SECRET'
        Remove-Item -LiteralPath $cache
    }
}

Describe 'Connect-EntraKeyRoll -KeyVaultCertificateId' {
    BeforeAll { $script:automation = New-KrTestVaultIdentity $emu }
    AfterAll { Disconnect-EntraKeyRoll; Restore-KrTestEnvironment }

    It 'signs in as the application with its certificate in Key Vault, and its proofs are signed there too' {
        $name = 'connect-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $v1 = New-KrTestVaultCertificate $emu $name
        $app = Register-KrTestVaultApp $emu $v1
        $c = Connect-EntraKeyRoll -TenantId $emu.TenantId -ClientId $app.appId -KeyVaultCertificateId "$($emu.VaultUrl)/certificates/$name" -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert
        $c.Credential | Should -Match $v1.thumbprint
        # The application adds a key to itself: the token's assertion and the proof are both signed by the vault.
        $next = Get-KrTestCertificate 'CN=added by the vault-signed proof'
        $added = New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next.RawData; Usage = 'Verify'; Type = 'AsymmetricX509Cert' }
        $added | Should -Not -BeNullOrEmpty
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 2
    }

    It 'names -KeyVaultCertificateId when the vault has no such certificate' {
        $err = $null
        try {
            Connect-EntraKeyRoll -TenantId $emu.TenantId -ClientId ([guid]::NewGuid()) -KeyVaultCertificateId "$($emu.VaultUrl)/certificates/missing-one" -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert -ErrorAction Stop
        }
        catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.ErrorDetails.Message | Should -Match '^-KeyVaultCertificateId: '
        $err.ErrorDetails.Message | Should -Match 'missing-one'
    }
}

Describe 'Connect-EntraKeyRoll with a key that refuses export' {
    BeforeAll { Initialize-KrTestNoExportRsa }
    BeforeEach {
        [KrTest.NoExportRsa]::Reset()
        Mock -ModuleName EntraKeyRoll Get-KrCertificateKey {
            [KrTest.NoExportRsa]::new([System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($Certificate))
        }
    }
    AfterEach { Disconnect-EntraKeyRoll }

    It 'signs in with -Certificate through the key object, and adds and removes a key with proofs it signs, never exporting it' {
        $cert = Get-KrTestCertificate
        $other = Get-KrTestCertificate 'CN=other'
        $app = Register-KrTestApp $emu $cert
        Connect-EntraKeyRoll -TenantId $emu.TenantId -ClientId $app.appId -Certificate $cert -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
        (Get-EntraMSApplicationKey -ObjectId $app.id).Signs | Should -BeTrue
        $added = New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $other.RawData }
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 2
        Remove-EntraMSApplicationKey -ObjectId $app.id -KeyId $added.KeyId -Confirm:$false
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
        # The sign-in and two proofs.
        [KrTest.NoExportRsa]::Signatures | Should -BeGreaterOrEqual 3
        [KrTest.NoExportRsa]::ExportAttempts | Should -Be 0
    }

    It 'signs in with -CertificateThumbprint from the store through the key object' {
        $cert = Get-KrTestCertificate 'CN=EntraKeyRoll store key test'
        $app = Register-KrTestApp $emu $cert
        $store = New-Object System.Security.Cryptography.X509Certificates.X509Store 'My', 'CurrentUser'
        $store.Open('ReadWrite')
        try {
            $store.Add($cert)
            Connect-EntraKeyRoll -TenantId $emu.TenantId -ClientId $app.appId -CertificateThumbprint $cert.Thumbprint -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
            (Get-EntraMSApplicationKey -ObjectId $app.id).Signs | Should -BeTrue
        }
        finally {
            $store.Remove($cert)
            $store.Close()
        }
        [KrTest.NoExportRsa]::Signatures | Should -BeGreaterOrEqual 1
        [KrTest.NoExportRsa]::ExportAttempts | Should -Be 0
    }

    It 'says the key object''s own words when it refuses to sign' {
        $cert = Get-KrTestCertificate
        $app = Register-KrTestApp $emu $cert
        Connect-EntraKeyRoll -TenantId $emu.TenantId -ClientId $app.appId -Certificate $cert -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
        [KrTest.NoExportRsa]::RefuseToSign = $true
        Get-EntraMSApplicationKey -ObjectId $app.id -ErrorVariable all -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $all 'Get-EntraMSApplicationKey'
        $e.Count | Should -Be 1
        $e[0].Exception.Message | Should -Match 'The operation was canceled by the user'
        $e[0].FullyQualifiedErrorId | Should -BeLike 'signer_refused*'
        $e[0].ErrorDetails.RecommendedAction | Should -Match '-CertificatePath'
    }

    It 'a key object that is not the certificate''s key: the signature does not verify, and nothing is sent' {
        Mock -ModuleName EntraKeyRoll Get-KrCertificateKey { [System.Security.Cryptography.RSA]::Create(2048) }
        $cert = Get-KrTestCertificate
        $app = Register-KrTestApp $emu $cert
        Connect-EntraKeyRoll -TenantId $emu.TenantId -ClientId $app.appId -Certificate $cert -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
        # A key that is not the certificate's: the signature does not verify, and nothing is sent.
        Get-EntraMSApplicationKey -ObjectId $app.id -ErrorVariable all -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $all 'Get-EntraMSApplicationKey'
        $e.Count | Should -Be 1
        $e[0].Exception.Message | Should -Match 'signature'
    }

    It 'refuses an ECDSA certificate, naming -Certificate and the fix' {
        Mock -ModuleName EntraKeyRoll Get-KrCertificateKey { [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($Certificate) }
        $ec = Get-KrTestEcdsaCertificate
        $e = { Connect-EntraKeyRoll -TenantId $emu.TenantId -ClientId ([guid]::NewGuid()) -Certificate $ec -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert } | Should -Throw -PassThru
        $e.Exception.Message | Should -Match '^-Certificate: .* not RSA; .*give an RSA certificate'
        $e.FullyQualifiedErrorId | Should -BeLike 'CertificateNotRsa*'
    }
}

Describe 'the session of Connect-MgGraph / Connect-Entra' {
    BeforeAll {
        # A stand-in for Microsoft.Graph.Authentication (the real module is not installed here): the three
        # commands EntraKeyRoll uses, answering as the real ones do. Invoke-MgGraphRequest returns the
        # HttpResponseMessage whose request carries the session's bearer token.
        $script:standIn = New-Module -Name 'Microsoft.Graph.Authentication' -ScriptBlock {
            $script:context = $null
            $script:environment = $null
            $script:requests = 0
            function Set-StandInSession([object] $Context, [object] $Environment, [string] $Token) {
                $script:context = $Context; $script:environment = $Environment; $script:token = $Token
            }
            function Get-StandInRequestCount { $script:requests }
            function Get-MgContext { $script:context }
            function Get-MgEnvironment([string] $Name) { if ($script:environment -and $script:environment.Name -eq $Name) { $script:environment } }
            function Invoke-MgGraphRequest([string] $Method, [string] $Uri, [string] $OutputType) {
                $script:requests++
                $request = New-Object System.Net.Http.HttpRequestMessage ([System.Net.Http.HttpMethod]::new($Method)), $Uri
                $request.Headers.Authorization = New-Object System.Net.Http.Headers.AuthenticationHeaderValue 'Bearer', $script:token
                $response = New-Object System.Net.Http.HttpResponseMessage ([System.Net.HttpStatusCode]::OK)
                $response.RequestMessage = $request
                $response
            }
            Export-ModuleMember -Function *
        } | Import-Module -PassThru -Force
        $env:ENTRAKEYROLL_CA_CERT = $emu.CaCert
    }
    AfterAll {
        Remove-Module -Name 'Microsoft.Graph.Authentication' -Force -ErrorAction Ignore
        Remove-Item Env:ENTRAKEYROLL_CA_CERT -ErrorAction Ignore
    }

    It 'uses the session''s token and environment when no EntraKeyRoll connection was made' {
        Disconnect-EntraKeyRoll
        $current = Get-KrTestCertificate 'CN=current'
        $next = Get-KrTestCertificate 'CN=next'
        $app = Register-KrTestApp $emu $current
        Set-StandInSession -Context ([pscustomobject]@{ Environment = 'KeyrollEmulator'; AuthType = 'AppOnly'; ClientId = $app.appId }) `
            -Environment ([pscustomobject]@{ Name = 'KeyrollEmulator'; GraphEndpoint = $emu.GraphUrl; AzureADEndpoint = $emu.LoginUrl }) `
            -Token (Get-KrTestToken $emu $app)
        $before = Get-StandInRequestCount
        $params = @{
            ObjectId      = $app.id
            KeyCredential = @{ key = $next.RawData }
            Proof         = New-EntraKeyProof -Certificate $current -ObjectId $app.id
        }
        $k = New-EntraMSApplicationKey @params
        $k.Thumbprint | Should -Be $next.Thumbprint
        (Get-StandInRequestCount) | Should -BeGreaterThan $before
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 2
    }

    It 'is not used while an EntraKeyRoll connection exists' {
        $app = Register-KrTestApp $emu (Get-KrTestCertificate)
        Connect-KrTestEmulatorAsApp $emu $app | Out-Null
        $before = Get-StandInRequestCount
        @(Get-EntraMSApplicationKey -ObjectId $app.id).Count | Should -Be 1
        (Get-StandInRequestCount) | Should -Be $before
        Disconnect-EntraKeyRoll
    }

    It 'without a signed-in session, the cmdlets say how to connect' {
        Disconnect-EntraKeyRoll
        Set-StandInSession -Context $null -Environment $null -Token ''
        $err = $null
        try { Get-EntraMSApplicationKey -ObjectId ([guid]::NewGuid()) -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'NotConnected*'
        $err.Exception.Message | Should -Match 'Connect-MgGraph'
    }
}
