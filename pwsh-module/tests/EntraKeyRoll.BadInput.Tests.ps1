# Runs the bad-input table (BadInput.Cases.ps1) against the packaged module and the emulator: every case gets a
# fresh application on the emulator, and its one error record is checked for category, error id, a message that
# names the parameter and the fix, no CLI flag (the library's messages are for every host) and no secret.

BeforeDiscovery {
    $script:cases = @(. "$PSScriptRoot/BadInput.Cases.ps1")
    $script:caseRows = @($script:cases | ForEach-Object { @{ Case = $_; Id = $_.Id; Command = $_.Command } })
}

BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
    $script:emu = Open-KrTestEmulator
    $info = Invoke-KrEmulatorAdmin $script:emu 'GET' 'info'

    function New-KrBadInputCertificate([string] $Subject, [int] $FromDays, [int] $ToDays) {
        $rsa = [System.Security.Cryptography.RSA]::Create(2048)
        $req = New-Object System.Security.Cryptography.X509Certificates.CertificateRequest $Subject, $rsa, ([System.Security.Cryptography.HashAlgorithmName]::SHA256), ([System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
        $made = $req.CreateSelfSigned([datetimeoffset]::UtcNow.AddDays($FromDays), [datetimeoffset]::UtcNow.AddDays($ToDays))
        New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList (@(, $made.Export('Pfx', 'pw')) + @('pw', 'Exportable'))
    }
    function Write-KrBadInputFile([string] $Name, [byte[]] $Bytes) {
        $path = Join-Path $TestDrive $Name
        [System.IO.File]::WriteAllBytes($path, $Bytes)
        $path
    }

    $pfxPasswordText = 'Pfx-Secret-1'
    # A password outside the Basic Multilingual Plane: a surrogate pair in .NET's strings.
    $emojiPasswordText = 'p' + [char]::ConvertFromUtf32(0x1F600) + 'w-Secret'
    # Ten bytes a copy: PKCS#12's 64-byte password string ends between the halves of the pair, which .NET keys
    # with U+FFFD in place of the high half (vendor/README.md).
    $emojiCutPasswordText = 'p' + [char]::ConvertFromUtf32(0x1F600) + 'w'
    $cert = New-KrBadInputCertificate 'CN=badinput current' -1 90
    $next = New-KrBadInputCertificate 'CN=badinput next' -1 120
    $third = New-KrBadInputCertificate 'CN=badinput third' -1 120
    $expired = New-KrBadInputCertificate 'CN=badinput expired' -60 -1
    $pfxBytes = $cert.Export('Pfx', $pfxPasswordText)
    $pfxNoPasswordBytes = $cert.Export('Pfx')
    $ctx = @{
        Emulator = $script:emu; GraphUrl = $script:emu.GraphUrl; LoginUrl = $script:emu.LoginUrl; CaCert = $script:emu.CaCert
        GraphUrlHttp = $script:emu.GraphUrl -replace '^https:', 'http:'
        TenantId = $script:emu.TenantId; IdentityEndpoint = $info.identityEndpoint
        Cert = $cert; NextCert = $next; ThirdCert = $third; ExpiredCert = $expired; EcdsaCert = Get-KrTestEcdsaCertificate
        PublicCert = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList (, $cert.RawData)
        PublicNext = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList (, $next.RawData)
        CurrentCertRaw = $cert.RawData
        PfxPasswordText = $pfxPasswordText; PfxPassword = ConvertTo-KrTestSecureString $pfxPasswordText
        WrongPasswordText = 'Wr0ng-Secret-9'; WrongPassword = ConvertTo-KrTestSecureString 'Wr0ng-Secret-9'
        EmojiPasswordText = $emojiPasswordText; EmojiPassword = ConvertTo-KrTestSecureString $emojiPasswordText
        EmojiCutPassword = ConvertTo-KrTestSecureString $emojiCutPasswordText
        EmptySecure = New-Object System.Security.SecureString
        PfxBytes = $pfxBytes; PfxNoPasswordBytes = $pfxNoPasswordBytes
        Pfx = Write-KrBadInputFile 'current.pfx' $pfxBytes
        PfxNoPassword = Write-KrBadInputFile 'current-nopassword.pfx' $pfxNoPasswordBytes
        PfxEmojiDotNet = Write-KrBadInputFile 'current-emoji-dotnet.pfx' $cert.Export('Pfx', $emojiPasswordText)
        PfxEmojiCutDotNet = Write-KrBadInputFile 'current-emoji-cut-dotnet.pfx' $cert.Export('Pfx', $emojiCutPasswordText)
        NextPfx = Write-KrBadInputFile 'next.pfx' $next.Export('Pfx', $pfxPasswordText)
        NextPfxNoPassword = Write-KrBadInputFile 'next-nopassword.pfx' $next.Export('Pfx')
        ExpiredPfx = Write-KrBadInputFile 'expired.pfx' $expired.Export('Pfx', $pfxPasswordText)
        CerFile = Write-KrBadInputFile 'current.cer' $cert.RawData
        GarbageFile = Write-KrBadInputFile 'garbage.txt' ([System.Text.Encoding]::ASCII.GetBytes("this is not a certificate`n"))
        EmptyFile = Write-KrBadInputFile 'empty.pfx' ([byte[]]@())
        MissingPath = Join-Path $TestDrive 'no-such.pfx'
        MissingDirJournal = Join-Path (Join-Path $TestDrive 'no-such-dir') 'journal.jsonl'
        TempDir = [string]$TestDrive
        OtherGuid = [guid]::NewGuid().ToString()
    }
    # The same certificate and key in a PFX made by OpenSSL with the non-BMP password (UTF-16 with a surrogate
    # pair, as OpenSSL 3 and .NET both encode it).
    $ctx.PfxEmoji = $null
    $openssl = Get-Command openssl -CommandType Application -ErrorAction Ignore | Select-Object -First 1
    if ($openssl) {
        $pem = Join-Path $TestDrive 'current.pem'
        $ctx.PfxEmoji = Join-Path $TestDrive 'current-emoji-openssl.pfx'
        $env:KR_BADINPUT_IN = $pfxPasswordText
        $env:KR_BADINPUT_OUT = $emojiPasswordText
        try {
            & $openssl.Source pkcs12 -in $ctx.Pfx -passin env:KR_BADINPUT_IN -nodes -out $pem 2>$null
            & $openssl.Source pkcs12 -export -in $pem -passout env:KR_BADINPUT_OUT -out $ctx.PfxEmoji 2>$null
            $keyPem = (Get-Content -LiteralPath $pem -Raw) -replace '(?s)^.*?(-----BEGIN PRIVATE KEY-----.*?-----END PRIVATE KEY-----).*$', '$1'
            $ctx.PemKeyOnlyText = $keyPem
            $ctx.PemKeyOnly = Write-KrBadInputFile 'key-only.pem' ([System.Text.Encoding]::ASCII.GetBytes($keyPem))
        }
        finally { foreach ($name in 'KR_BADINPUT_IN', 'KR_BADINPUT_OUT') { [Environment]::SetEnvironmentVariable($name, $null) } }
    }
    $script:ctx = $ctx

    function Initialize-KrBadInputCase([hashtable] $Case, [hashtable] $Context) {
        # A fresh application whose one key is the current certificate, and the connection the case asks for.
        Disconnect-EntraKeyRoll
        $app = Register-KrTestApp $Context.Emulator $Context.Cert
        $Context.ObjectId = $app.id
        $Context.AppId = $app.appId
        $Context.CurrentKeyId = (Get-KrTestKeys $Context.Emulator $app.id)[0].keyId
        $Context.Token = Get-KrTestToken $Context.Emulator $app
        $Context.TokenSecure = ConvertTo-KrTestSecureString $Context.Token
        $Context.ProofFor = New-EntraKeyProof -Certificate $Context.Cert -ObjectId $app.id
        $Context.ProofOther = New-EntraKeyProof -Certificate $Context.NextCert -ObjectId $app.id
        $Context.ProofOtherObject = New-EntraKeyProof -Certificate $Context.Cert -ObjectId $Context.OtherGuid
        $connection = if ($Case['Connection']) { $Case['Connection'] } else { 'Token' }
        switch ($connection) {
            'Token' { Connect-KrTestEmulatorAsApp $Context.Emulator $app | Out-Null }
            'Certificate' {
                Connect-EntraKeyRoll -TenantId $Context.TenantId -ClientId $app.appId -Certificate $Context.Cert -GraphUrl $Context.GraphUrl -LoginUrl $Context.LoginUrl -CaCertificate $Context.CaCert | Out-Null
            }
        }
    }

    function Invoke-KrBadInputCase([hashtable] $Case, [hashtable] $Context) {
        # Runs the case's command (and its second command) and answers what happened: output, error records,
        # warnings, seconds.
        $saved = @{}
        if ($Case['Environment']) {
            $vars = & $Case['Environment'] $Context
            foreach ($name in $vars.Keys) {
                $saved[$name] = [Environment]::GetEnvironmentVariable($name)
                [Environment]::SetEnvironmentVariable($name, $vars[$name])
            }
        }
        $records = New-Object System.Collections.ArrayList
        $warnings = New-Object System.Collections.ArrayList
        $output = $null
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        try {
            $steps = @(@{ Command = $Case['Command']; Params = $Case['Params'] })
            if ($Case['Command2']) { $steps += @{ Command = $Case['Command2']; Params = $Case['Params2'] } }
            foreach ($step in $steps) {
                $p = & $step.Params $Context
                $ev = $null
                $wv = $null
                $thrown = $null
                try {
                    $output = & $step.Command @p -ErrorAction SilentlyContinue -ErrorVariable ev -WarningVariable wv -WarningAction SilentlyContinue
                }
                catch { $thrown = $_ }
                foreach ($w in @($wv)) { if ($w) { [void]$warnings.Add($w) } }
                foreach ($r in @($ev)) { if ($r -is [System.Management.Automation.ErrorRecord]) { [void]$records.Add($r) } }
                if ($thrown -and -not ($records | Where-Object { [object]::ReferenceEquals($_, $thrown) -or ($_.FullyQualifiedErrorId -eq $thrown.FullyQualifiedErrorId -and $_.Exception.Message -eq $thrown.Exception.Message) })) {
                    [void]$records.Add($thrown)
                }
                if ($records.Count) { break }
            }
        }
        finally {
            $watch.Stop()
            foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        }
        @{ Output = $output; Records = @($records); Warnings = @($warnings); Seconds = $watch.Elapsed.TotalSeconds }
    }

    function Get-KrBadInputText([System.Management.Automation.ErrorRecord] $Record) {
        # What a user reads of an error: the message shown, the exception's, the recommended action.
        $parts = @($Record.Exception.Message)
        if ($Record.ErrorDetails) { $parts += $Record.ErrorDetails.Message; $parts += $Record.ErrorDetails.RecommendedAction }
        ($parts | Where-Object { $_ }) -join "`n"
    }
    $script:allTexts = New-Object System.Collections.ArrayList
}

AfterAll {
    Disconnect-EntraKeyRoll
    Close-KrTestEmulator $script:emu
}

Describe 'the bad-input table' {
    It '<Id> <Command>' -ForEach $caseRows {
        if ($Case['Id'] -in 'CO-05', 'NP-05', 'NK-04', 'NP-22' -and -not $ctx.PfxEmoji) { Set-ItResult -Skipped -Because 'openssl is not installed'; return }
        if ($Case['Open']) { Set-ItResult -Skipped -Because "open: $($Case['Open'])"; return }
        Initialize-KrBadInputCase $Case $ctx
        $result = Invoke-KrBadInputCase $Case $ctx
        $records = $result.Records
        $expect = if ($Case['Expect']) { $Case['Expect'] } else { 'Error' }
        $secrets = @($ctx.PfxPasswordText, $ctx.EmojiPasswordText, $ctx.WrongPasswordText, $ctx.Token)
        if ($Case['Secrets']) { $secrets += @(& $Case['Secrets'] $ctx) }
        $shown = (@($records | ForEach-Object { ($_ | Out-String -Width 400) + ($_ | Format-List * -Force | Out-String -Width 400) + (Get-KrBadInputText $_) }) + @($result.Warnings | ForEach-Object { $_.Message })) -join "`n"
        foreach ($s in $secrets) { if ($s) { $shown.Contains($s) | Should -BeFalse -Because "$($Case['Id']) must not show a secret" } }
        foreach ($r in $records) { [void]$script:allTexts.Add("$($Case['Id']): $(Get-KrBadInputText $r)") }
        if ($expect -eq 'Success') {
            ($records | ForEach-Object { "$($_.FullyQualifiedErrorId): $(Get-KrBadInputText $_)" }) -join '; ' | Should -BeNullOrEmpty
        }
        else {
            $records.Count | Should -Be 1 -Because "$($Case['Id']) must leave exactly one error record: $(($records | ForEach-Object { $_.FullyQualifiedErrorId }) -join ', ')"
            $r = $records[0]
            $text = Get-KrBadInputText $r
            "$($r.CategoryInfo.Category)" | Should -Be $Case['Category'] -Because "$($Case['Id']) answered $($r.CategoryInfo.Category) $($r.FullyQualifiedErrorId): $text"
            if ($Case['ErrorId']) { $r.FullyQualifiedErrorId | Should -BeLike "$($Case['ErrorId'])*" -Because "$($Case['Id']): $text" }
            if ($Case['Message']) { $text | Should -Match $Case['Message'] }
            $text | Should -Not -Match '(^|\s|\()--[a-z]' -Because 'a PowerShell user reads PowerShell parameters, not CLI flags'
        }
        if ($Case['Warning']) {
            $matching = @($result.Warnings | Where-Object { $_.Message -match $Case['Warning'] })
            $matching.Count | Should -Be $Case['WarningCount'] -Because "$($Case['Id']) warnings: $(($result.Warnings | ForEach-Object { $_.Message }) -join ' | ')"
        }
        if ($Case['MaxSeconds']) { $result.Seconds | Should -BeLessThan $Case['MaxSeconds'] }
        if ($Case['Check']) { & $Case['Check'] $ctx $result.Output }
    }

    It 'names no CLI flag in any error text the table produced' {
        $script:allTexts.Count | Should -BeGreaterThan 50
        $flags = @($script:allTexts | Where-Object { $_ -match '(^|\s|\(|`)--[a-z][a-z-]+' })
        $flags -join "`n" | Should -BeNullOrEmpty
    }
}

Describe 'what the help promises' {
    It 'says so in every example that needs Windows (the Cert:\ drive, the certificate store)' {
        $module = Get-Module EntraKeyRoll
        $silent = @()
        foreach ($name in $module.ExportedFunctions.Keys) {
            # Read through PSObject: a help object lacks the properties it has nothing for (StrictMode).
            $help = Get-Help $name -Full
            $examples = @()
            if ($help.PSObject.Properties['examples'] -and $help.examples -and $help.examples.PSObject.Properties['example']) { $examples = @($help.examples.example) }
            foreach ($example in $examples) {
                if (-not $example) { continue }
                $code = [string]$example.code
                $remarks = ''
                if ($example.PSObject.Properties['remarks']) { $remarks = (@($example.remarks) | ForEach-Object { $_.Text }) -join ' ' }
                if ($code -match 'Cert:\\|-CertificateThumbprint|-Certificate \(Get-Item') {
                    if ($remarks -notmatch 'Windows') { $silent += "$name : $code" }
                }
            }
        }
        $silent -join "`n" | Should -BeNullOrEmpty
    }
}

Describe 'the table views' {
    It 'fit 120 characters with every id whole (<Type>)' -ForEach @(
        @{ Type = 'EntraKeyRoll.KeyCredential' }, @{ Type = 'EntraKeyRoll.KeyInfo' }, @{ Type = 'Keyroll.InventoryItem' }
    ) {
        $keyId = [guid]'a3f2c9e1-0b7d-4c55-9a1e-2f6d8b4c7e10'
        $thumbprint = '52A3F1AC46A74D00B1CA0B2B84F033C2A1B2C3D4'
        $row = [pscustomobject]@{
            PSTypeName = $Type; KeyId = $keyId; DisplayName = 'CN=billing-api.contoso.com 2026'; Type = 'AsymmetricX509Cert'; Usage = 'Verify'
            StartDateTime = [datetime]'2026-01-01'; EndDateTime = [datetime]'2027-01-01'; Thumbprint = $thumbprint; DaysLeft = 365; Status = 'not yet valid'
            Signs = $true; ObjectType = 'ServicePrincipal'; ObjectDisplayName = 'billing-api (production, west europe)'; AppId = [guid]::NewGuid(); CredentialType = 'Certificate'
            Hint = $null; LastValidCertificate = $true
        }
        $text = $row | Format-Table | Out-String -Width 120
        $wide = $row | Format-Table | Out-String -Width 400
        # At 120 columns the view is the same as with room to spare: nothing was cut to fit.
        $text.Trim() | Should -Be $wide.Trim()
        $text | Should -Match $thumbprint
        if ($Type -ne 'Keyroll.InventoryItem') { $text | Should -Match ([regex]::Escape($keyId.ToString())) }
        @($text -split "`n" | Where-Object { $_.TrimEnd().Length -gt 120 }).Count | Should -Be 0
    }
}
