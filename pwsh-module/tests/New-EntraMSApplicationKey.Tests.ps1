BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
    $script:emu = Open-KrTestEmulator
}
AfterAll { Disconnect-EntraKeyRoll; Close-KrTestEmulator $script:emu }

Describe 'New-EntraMSApplicationKey' {
    BeforeEach {
        $script:current = Get-KrTestCertificate 'CN=current'
        $script:next = Get-KrTestCertificate 'CN=next'
        $script:app = Register-KrTestApp $script:emu $script:current
        Connect-KrTestEmulatorAsApp $script:emu $script:app | Out-Null
    }

    Context 'the documented example, as written' {
        It 'takes PasswordCredential = $null, as Microsoft''s examples splat it' {
            $params = @{
                ObjectId = $app.id
                KeyCredential = @{ Key = $next.RawData }
                PasswordCredential = $null
                Proof = New-EntraKeyProof -Certificate $current -ObjectId $app.id
            }
            $k = New-EntraMSApplicationKey @params -WarningVariable w
            $k.Thumbprint | Should -Be $next.Thumbprint
            (Get-KrTestKeys $emu $app.id).Count | Should -Be 2
            $w | Should -BeNullOrEmpty
        }

        It 'refuses a PasswordCredential that is text, naming the parameter' {
            New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next.RawData } -PasswordCredential 'hunter2-secret' -Proof 'x.y.z' -ErrorVariable all -ErrorAction SilentlyContinue
            $e = Get-KrWrittenError $all 'New-EntraMSApplicationKey'
            $e.Count | Should -Be 1
            $e[0].Exception.Message | Should -Match '-PasswordCredential must be a hashtable'
            $e[0].Exception.Message | Should -Not -Match 'hunter2'
            (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
        }

        It 'adds exactly one AsymmetricX509Cert + Verify key and returns a key credential' {
            $base64cert = [Convert]::ToBase64String($next.RawData)
            $token = New-EntraKeyProof -Certificate $current -ObjectId $app.id
            # Microsoft's example with its placeholders filled in: lowercase key, no Type or Usage, and the
            # PasswordCredential with only a DisplayName.
            $params = @{
                ObjectId = $app.id
                KeyCredential = @{ key=[System.Convert]::FromBase64String("$base64cert") }
                PasswordCredential = @{ DisplayName = 'mypassword' }
                Proof = "$token"
            }

            $k = New-EntraMSApplicationKey @params -WarningVariable w 3>$null

            $keys = Get-KrTestKeys $emu $app.id
            $keys.Count | Should -Be 2
            @($keys | Where-Object { $_.keyId -eq $k.KeyId.ToString() }).Count | Should -Be 1
            $k.Type | Should -Be 'AsymmetricX509Cert'
            $k.Usage | Should -Be 'Verify'
            $k.Thumbprint | Should -Be $next.Thumbprint
            [Convert]::ToBase64String($k.Key) | Should -Be $base64cert
            ($w -join "`n") | Should -Match 'PasswordCredential was ignored'
        }

        It 'counts the attempts of a throttled addKey truly in -Verbose (regression: "after 1 attempt(s)" after a 429)' {
            # A budget of one write per second: the first addKey spends it, the second is throttled (429 with
            # Retry-After) once and then accepted.
            Invoke-KrEmulatorAdmin $emu 'PUT' 'faults' @{ writeBudget = @{ writes = 1; windowSecs = 1 } } | Out-Null
            try {
                $third = Get-KrTestCertificate 'CN=third'
                New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $third.RawData } -Proof (New-EntraKeyProof -Certificate $current -ObjectId $app.id) | Out-Null
                $token = New-EntraKeyProof -Certificate $current -ObjectId $app.id
                $out = New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next.RawData } -Proof $token -Verbose 4>&1
            }
            finally { Invoke-KrEmulatorAdmin $emu 'PUT' 'faults' @{} | Out-Null }
            $verbose = @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object { $_.Message })
            ($verbose -join "`n") | Should -Match 'addKey: key [0-9a-f-]{36} after 2 attempt\(s\)'
            # Regression: the throttled wait itself was never said.
            ($verbose -join "`n") | Should -Match 'addKey: throttled \(429\), retrying in .+, attempt 2'
            (Get-KrTestKeys $emu $app.id).Count | Should -Be 3
        }

        It 'returns Graph''s property names with usable types and a type name of its own' {
            $k = New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next.RawData } -Proof (New-EntraKeyProof -Certificate $current -ObjectId $app.id)
            $k.PSObject.TypeNames[0] | Should -Be 'EntraKeyRoll.KeyCredential'
            $k.PSObject.TypeNames | Should -Not -Contain 'Microsoft.Open.MSGraph.Model.KeyCredential'
            $k.KeyId | Should -BeOfType [guid]
            $k.StartDateTime | Should -BeOfType [datetime]
            $k.EndDateTime | Should -BeOfType [datetime]
            $k.StartDateTime.Kind | Should -Be 'Utc'
            $k.EndDateTime.Kind | Should -Be 'Utc'
            ($k.EndDateTime -gt (Get-Date)) | Should -BeTrue
            $k.EndDateTime | Should -Be $next.NotAfter.ToUniversalTime()
            , $k.Key | Should -BeOfType [byte[]]
            , $k.CustomKeyIdentifier | Should -BeOfType [byte[]]
            $k.DisplayName | Should -Be 'CN=next'
            foreach ($name in 'CustomKeyIdentifier', 'DisplayName', 'EndDateTime', 'Key', 'KeyId', 'StartDateTime', 'Type', 'Usage') {
                $k.PSObject.Properties.Name | Should -Contain $name
            }
        }

        It 'shows a table view from the format file' {
            $k = New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next } -Proof (New-EntraKeyProof -Certificate $current -ObjectId $app.id)
            $table = ($k | Out-String -Width 250)
            $table | Should -Match 'KeyId\s+DisplayName\s+Start \(UTC\)\s+End \(UTC\)\s+Thumbprint'
            $table | Should -Match ([regex]::Escape($k.KeyId.ToString()))
            (Get-FormatData -TypeName 'EntraKeyRoll.KeyCredential').FormatViewDefinition[0].Control.GetType().Name | Should -Be 'TableControl'
        }

        It 'keeps a given EndDateTime to the second in UTC, and binds -ApplicationId as the object id' {
            $end = [datetime]::SpecifyKind((Get-Date).Date.AddDays(30).AddHours(6.5), 'Local')
            $k = New-EntraMSApplicationKey -ApplicationId $app.id -KeyCredential @{ Key = $next; EndDateTime = $end } -Proof (New-EntraKeyProof -Certificate $current -ObjectId $app.id)
            $k.EndDateTime | Should -Be $end.ToUniversalTime()
            (Get-KrTestKeys $emu $app.id | Where-Object { $_.keyId -eq $k.KeyId.ToString() }).endDateTime | Should -Not -BeNullOrEmpty
        }
    }

    Context 'PasswordCredential' {
        It 'refuses a SecretText on a Verify key, clearly, and adds nothing' {
            New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next } -PasswordCredential @{ SecretText = 'hunter2-secret' } -Proof (New-EntraKeyProof -Certificate $current -ObjectId $app.id) -ErrorVariable all -ErrorAction SilentlyContinue
            $e = Get-KrWrittenError $all 'New-EntraMSApplicationKey'
            $e.Count | Should -Be 1
            $e[0].Exception.Message | Should -Match 'passwordCredential'
            $e[0].Exception.Message | Should -Match 'AsymmetricX509Cert'
            ($e | Out-String) | Should -Not -Match 'hunter2'
            (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
        }

        It 'sends a SecureString SecretText for an X509CertAndPassword key' {
            $secret = ConvertTo-KrTestSecureString 'Sup3r-secret-pw'
            $k = New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next; Type = 'X509CertAndPassword'; Usage = 'Sign' } -PasswordCredential @{ SecretText = $secret } -Proof (New-EntraKeyProof -Certificate $current -ObjectId $app.id) -Verbose 4>&1
            $records = @($k | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
            $added = @($k | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
            $added[0].Type | Should -Be 'X509CertAndPassword'
            $added[0].Usage | Should -Be 'Sign'
            ($records.Message -join "`n") | Should -Not -Match 'Sup3r'
            (Get-KrTestKeys $emu $app.id).Count | Should -Be 2
        }

        It 'refuses an X509CertAndPassword key without SecretText' {
            New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next; Type = 'X509CertAndPassword'; Usage = 'Sign' } -PasswordCredential @{ DisplayName = 'x' } -Proof (New-EntraKeyProof -Certificate $current -ObjectId $app.id) -ErrorVariable all -ErrorAction SilentlyContinue
            $e = Get-KrWrittenError $all 'New-EntraMSApplicationKey'
            $e[0].FullyQualifiedErrorId | Should -BeLike 'PasswordCredentialWithoutSecret*'
            (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
        }
    }

    Context 'errors are the command''s own, and keep no key material' {
        It 'leaves exactly one record in -ErrorVariable and $Error for a refusal of the service' {
            $stranger = Get-KrTestCertificate 'CN=stranger'
            $global:Error.Clear()
            New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next } -Proof (New-EntraKeyProof -Certificate $stranger -ObjectId $app.id) -ErrorVariable all -ErrorAction SilentlyContinue
            @($all).Count | Should -Be 1
            $all[0].FullyQualifiedErrorId | Should -BeLike '*,New-EntraMSApplicationKey'
            $all[0].Exception | Should -BeOfType [Keyroll.KeyrollException]
            $all[0].Exception.Message | Should -Not -Match 'Exception calling'
            @($global:Error).Count | Should -Be 1
            $global:Error[0].FullyQualifiedErrorId | Should -BeLike '*,New-EntraMSApplicationKey'
        }

        It 'leaves exactly one record for a refusal of the module itself' {
            $global:Error.Clear()
            New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next; EndDate = (Get-Date) } -Proof 'x.y.z' -ErrorVariable all -ErrorAction SilentlyContinue
            @($all).Count | Should -Be 1
            $all[0].FullyQualifiedErrorId | Should -Be 'KeyCredentialUnknownProperty,New-EntraMSApplicationKey'
            @($global:Error).Count | Should -Be 1
        }

        It 'refuses a private key given as <what> and keeps it in no error record (regression: TargetObject was the whole -KeyCredential)' -TestCases @(
            @{ what = 'PEM text' }
            @{ what = 'PFX bytes' }
        ) {
            if ($what -eq 'PEM text' -and $PSVersionTable.PSEdition -eq 'Desktop') {
                # .NET Framework has no ExportPkcs8PrivateKey to make the PEM with; the PFX case covers 5.1.
                Set-ItResult -Skipped -Because 'Windows PowerShell 5.1 cannot export a PKCS#8 key to make the PEM input'
                return
            }
            $secretCert = Get-KrTestCertificate 'CN=secret'
            if ($what -eq 'PEM text') {
                $der = [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($secretCert).ExportPkcs8PrivateKey()
                $key = "-----BEGIN PRIVATE KEY-----`n$([Convert]::ToBase64String($der, 'InsertLineBreaks'))`n-----END PRIVATE KEY-----`n"
                $marker = [Convert]::ToBase64String($der).Substring(40, 40)
            }
            else {
                $key = $secretCert.Export('Pfx', 'pfx-pa55word')
                $marker = [Convert]::ToBase64String($key).Substring(40, 40)
            }
            $global:Error.Clear()
            New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $key } -Proof 'x.y.z' -ErrorVariable all -ErrorAction SilentlyContinue
            @($all).Count | Should -Be 1
            $all[0].TargetObject | Should -Be $app.id
            $all[0].Exception.Message | Should -Match 'private key|PKCS#12|PFX'
            $shown = ($global:Error + $all | Format-List * -Force | Out-String -Width 4096) + ($all[0].Exception | Format-List * -Force | Out-String -Width 4096)
            foreach ($r in $all) { foreach ($k in $r.Exception.Data.Keys) { $shown += "$k=$($r.Exception.Data[$k])" } }
            $shown | Should -Not -Match ([regex]::Escape($marker))
            $shown | Should -Not -Match 'pfx-pa55word'
            (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
        }
    }

    Context 'property names' {
        It 'refuses <bad> in -KeyCredential, naming <right>, and adds nothing' -TestCases @(
            @{ bad = 'EndDate'; right = 'EndDateTime' }
            @{ bad = 'StartDate'; right = 'StartDateTime' }
            @{ bad = 'EndDateTme'; right = 'EndDateTime' }
            @{ bad = 'Value'; right = 'Key' }
        ) {
            $kc = @{ Key = $next.RawData }
            $kc[$bad] = (Get-Date).AddDays(10)
            New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential $kc -Proof (New-EntraKeyProof -Certificate $current -ObjectId $app.id) -ErrorVariable all -ErrorAction SilentlyContinue
            $e = Get-KrWrittenError $all 'New-EntraMSApplicationKey'
            $e.Count | Should -Be 1
            $e[0].FullyQualifiedErrorId | Should -BeLike 'KeyCredentialUnknownProperty*'
            $e[0].Exception.Message | Should -Match "'$bad'"
            $e[0].Exception.Message | Should -Match "did you mean $right\?"
            $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
        }

        It 'refuses an unknown property in -PasswordCredential, naming the right one' {
            New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next } -PasswordCredential @{ Password = 'x' } -Proof 'x.y.z' -ErrorVariable all -ErrorAction SilentlyContinue
            $e = Get-KrWrittenError $all 'New-EntraMSApplicationKey'
            $e[0].FullyQualifiedErrorId | Should -BeLike 'PasswordCredentialUnknownProperty*'
            $e[0].Exception.Message | Should -Match 'did you mean SecretText\?'
        }

        It 'refuses a KeyId: the service assigns it' {
            New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next; KeyId = [guid]::NewGuid() } -Proof 'x.y.z' -ErrorVariable all -ErrorAction SilentlyContinue
            $e = Get-KrWrittenError $all 'New-EntraMSApplicationKey'
            $e[0].FullyQualifiedErrorId | Should -BeLike 'KeyCredentialKeyIdGiven*'
        }

        It 'accepts any case, a PSCustomObject, an X509Certificate2, pipeline input by property name' {
            $proof = New-EntraKeyProof -Certificate $current -ObjectId $app.id
            $k = [pscustomobject]@{ Id = $app.id } | New-EntraMSApplicationKey -KeyCredential ([pscustomobject]@{ KEY = $next; displayname = 'lower' }) -Proof $proof
            $k.Thumbprint | Should -Be $next.Thumbprint
            $k.DisplayName | Should -Be 'lower'
        }

        It 'refuses a string as -KeyCredential at binding, and an ObjectId that is not a GUID' {
            { New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential 'MIIB...' -Proof 'x' -ErrorAction Stop } | Should -Throw -ExpectedMessage '*hashtable or an object*'
            { New-EntraMSApplicationKey -ObjectId 'my-app' -KeyCredential @{ Key = $next } -Proof 'x' -ErrorAction Stop } | Should -Throw -ExpectedMessage '*must be the object id (a GUID*'
            { [pscustomobject]@{ Name = 'no id' } | New-EntraMSApplicationKey -KeyCredential @{ Key = $next } -Proof 'x' -ErrorAction Stop } | Should -Throw
        }

        It 'corrects the double encoding with a warning' {
            $ascii = [System.Text.Encoding]::ASCII.GetBytes([Convert]::ToBase64String($next.RawData))
            $proof = New-EntraKeyProof -Certificate $current -ObjectId $app.id
            $k = New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $ascii } -Proof $proof -WarningVariable w 3>$null
            ($w -join "`n") | Should -Match 'double encoding'
            $k.Thumbprint | Should -Be $next.Thumbprint
        }
    }

    Context 'proofs, -WhatIf and errors' {
        It 'changes nothing with -WhatIf and writes no error' {
            $out = New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next } -Proof 'x.y.z' -WhatIf -ErrorVariable e
            $e.Count | Should -Be 0
            $out | Should -BeNullOrEmpty
            (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
        }

        It 'mints the proof when connected with the object''s certificate, addressed by appId' {
            Connect-EntraKeyRoll -TenantId $emu.TenantId -ClientId $app.appId -Certificate $current -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
            $k = New-EntraMSApplicationKey -AppId $app.appId -KeyCredential @{ Key = $next }
            $k.Thumbprint | Should -Be $next.Thumbprint
            (Get-KrTestKeys $emu $app.id).Count | Should -Be 2
        }

        It 'refuses a proof signed by a stranger before sending it, with advice, as an ErrorRecord' {
            $stranger = Get-KrTestCertificate 'CN=stranger'
            New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next } -Proof (New-EntraKeyProof -Certificate $stranger -ObjectId $app.id) -ErrorVariable all -ErrorAction SilentlyContinue
            $e = Get-KrWrittenError $all 'New-EntraMSApplicationKey'
            $e.Count | Should -Be 1
            $e[0].FullyQualifiedErrorId | Should -BeLike 'proof_rejected*'
            $e[0].CategoryInfo.Category | Should -Be 'InvalidData'
            $e[0].TargetObject | Should -Be $app.id
            $e[0].ErrorDetails.RecommendedAction | Should -Match 'Test-EntraKeyProof'
            (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
        }

        It 'reports the service''s refusal with Graph''s code, HTTP status and request-id' {
            # A token of another application: the service answers 403 for this object.
            $other = Register-KrTestApp $emu (Get-KrTestCertificate 'CN=other')
            Connect-KrTestEmulatorAsApp $emu $other | Out-Null
            New-EntraMSApplicationKey -ObjectId $app.id -KeyCredential @{ Key = $next } -Proof (New-EntraKeyProof -Certificate $current -ObjectId $app.id) -ErrorVariable all -ErrorAction SilentlyContinue
            $e = Get-KrWrittenError $all 'New-EntraMSApplicationKey'
            $e.Count | Should -Be 1
            $e[0].Exception.Data['HttpStatus'] | Should -BeGreaterOrEqual 400
            $e[0].Exception.Data['RequestId'] | Should -Not -BeNullOrEmpty
            $e[0].FullyQualifiedErrorId | Should -Be "$($e[0].Exception.Data['Code']),New-EntraMSApplicationKey"
            $e[0].TargetObject | Should -Be $app.id
        }
    }
    Context '-BodyParameter, as Add-MgApplicationKey''s example' {
        It 'takes the request body as a hashtable (keyCredential, passwordCredential = $null, proof)' {
            $params = @{
                keyCredential = @{ type = 'AsymmetricX509Cert'; usage = 'Verify'; key = $next.RawData }
                passwordCredential = $null
                proof = New-EntraKeyProof -Certificate $current -ObjectId $app.id
            }
            $k = New-EntraMSApplicationKey -ApplicationId $app.id -BodyParameter $params
            $k.Thumbprint | Should -Be $next.Thumbprint
            (Get-KrTestKeys $emu $app.id).Count | Should -Be 2
        }

        It 'takes the request body as an object' {
            $body = [pscustomobject]@{ KeyCredential = [pscustomobject]@{ Key = $next.RawData }; Proof = (New-EntraKeyProof -Certificate $current -ObjectId $app.id) }
            $k = New-EntraMSApplicationKey -ObjectId $app.id -BodyParameter $body
            $k.Thumbprint | Should -Be $next.Thumbprint
        }

        It 'refuses -BodyParameter with -KeyCredential, naming both, and changes nothing' {
            $body = @{ keyCredential = @{ key = $next.RawData } }
            New-EntraMSApplicationKey -ObjectId $app.id -BodyParameter $body -KeyCredential @{ Key = $next } -ErrorVariable all -ErrorAction SilentlyContinue
            $e = Get-KrWrittenError $all 'New-EntraMSApplicationKey'
            $e.Count | Should -Be 1
            $e[0].FullyQualifiedErrorId | Should -Be 'BodyParameterConflict,New-EntraMSApplicationKey'
            $e[0].Exception.Message | Should -Match '-BodyParameter.*-KeyCredential'
            (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
        }

        It 'refuses a body property addKey does not take, and a body without keyCredential' {
            New-EntraMSApplicationKey -ObjectId $app.id -BodyParameter @{ keyCredentials = @{ key = $next.RawData } } -ErrorVariable all -ErrorAction SilentlyContinue
            (Get-KrWrittenError $all 'New-EntraMSApplicationKey')[0].Exception.Message | Should -Match "'keyCredentials'.*keyCredential, passwordCredential and proof"
            New-EntraMSApplicationKey -ObjectId $app.id -BodyParameter @{ proof = 'a.b.c' } -ErrorVariable all2 -ErrorAction SilentlyContinue
            (Get-KrWrittenError $all2 'New-EntraMSApplicationKey')[0].FullyQualifiedErrorId | Should -Be 'BodyParameterNoKeyCredential,New-EntraMSApplicationKey'
            (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
        }

        It 'asks for -KeyCredential or -BodyParameter when neither is given' {
            New-EntraMSApplicationKey -ObjectId $app.id -Proof 'a.b.c' -ErrorVariable all -ErrorAction SilentlyContinue
            (Get-KrWrittenError $all 'New-EntraMSApplicationKey')[0].FullyQualifiedErrorId | Should -Be 'KeyCredentialMissing,New-EntraMSApplicationKey'
        }
    }

    Context '-Repair: an object with no valid certificate, by PATCH of its keyCredentials' {
        BeforeEach {
            # An application whose only certificate expired ten days ago, and an administrative application
            # holding Application.ReadWrite.All to repair it.
            $rsa = [System.Security.Cryptography.RSA]::Create(2048)
            $req = New-Object System.Security.Cryptography.X509Certificates.CertificateRequest 'CN=expired', $rsa, ([System.Security.Cryptography.HashAlgorithmName]::SHA256), ([System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
            $script:expired = $req.CreateSelfSigned([datetimeoffset]::UtcNow.AddDays(-40), [datetimeoffset]::UtcNow.AddDays(-10))
            $script:broken = Register-KrTestApp $emu $script:expired
            $script:admin = Invoke-KrEmulatorAdmin $emu 'POST' 'applications' @{ displayName = 'pester admin'; certificates = @(); roles = @('Application.ReadWrite.All') }
        }

        It 'adds the certificate and keeps the expired key, with -Confirm:$false as a runbook does' {
            Connect-KrTestEmulatorAsApp $emu $admin | Out-Null
            $before = Get-KrTestKeys $emu $broken.id
            $k = New-EntraMSApplicationKey -ObjectId $broken.id -KeyCredential @{ Key = $next } -Repair -Confirm:$false
            $k.Thumbprint | Should -Be $next.Thumbprint
            $after = Get-KrTestKeys $emu $broken.id
            $after.Count | Should -Be 2
            $after.keyId | Should -Contain $before[0].keyId
            ($after | Where-Object { $_.keyId -eq $before[0].keyId }).key | Should -Be $before[0].key
        }

        It 'asks for confirmation as a high-impact change: refused where no one can answer, nothing changed' {
            Connect-KrTestEmulatorAsApp $emu $admin | Out-Null
            # Pester runs non-interactively: the prompt a ConfirmImpact High change raises cannot be answered.
            { New-EntraMSApplicationKey -ObjectId $broken.id -KeyCredential @{ Key = $next } -Repair -ErrorAction Stop } | Should -Throw
            (Get-KrTestKeys $emu $broken.id).Count | Should -Be 1
            # addKey itself stays Medium: no prompt.
            $binding = (Get-Command New-EntraMSApplicationKey).ScriptBlock.Attributes | Where-Object { $_ -is [System.Management.Automation.CmdletBindingAttribute] }
            $binding.ConfirmImpact | Should -Be 'Medium'
        }

        It 'changes nothing with -WhatIf' {
            Connect-KrTestEmulatorAsApp $emu $admin | Out-Null
            $out = New-EntraMSApplicationKey -ObjectId $broken.id -KeyCredential @{ Key = $next } -Repair -WhatIf
            $out | Should -BeNullOrEmpty
            (Get-KrTestKeys $emu $broken.id).Count | Should -Be 1
        }

        It 'is refused with the application''s own token, naming Application.ReadWrite.All' {
            Connect-KrTestEmulatorAsApp $emu $broken | Out-Null
            New-EntraMSApplicationKey -ObjectId $broken.id -KeyCredential @{ Key = $next } -Repair -Confirm:$false -ErrorVariable all -ErrorAction SilentlyContinue
            $e = Get-KrWrittenError $all 'New-EntraMSApplicationKey'
            $e.Count | Should -Be 1
            $e[0].Exception.Data['HttpStatus'] | Should -Be 403
            $e[0].Exception.Message | Should -Match 'Application.ReadWrite.All'
            $e[0].TargetObject | Should -Be $broken.id
            (Get-KrTestKeys $emu $broken.id).Count | Should -Be 1
        }

        It 'refuses -Proof with -Repair' {
            Connect-KrTestEmulatorAsApp $emu $admin | Out-Null
            New-EntraMSApplicationKey -ObjectId $broken.id -KeyCredential @{ Key = $next } -Repair -Proof 'a.b.c' -Confirm:$false -ErrorVariable all -ErrorAction SilentlyContinue
            (Get-KrWrittenError $all 'New-EntraMSApplicationKey')[0].FullyQualifiedErrorId | Should -Be 'RepairWithProof,New-EntraMSApplicationKey'
            (Get-KrTestKeys $emu $broken.id).Count | Should -Be 1
        }
    }
}
