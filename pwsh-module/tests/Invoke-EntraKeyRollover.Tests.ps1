BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
    $script:emu = Open-KrTestEmulator
}
AfterAll { Disconnect-EntraKeyRoll; Close-KrTestEmulator $script:emu }

Describe 'Invoke-EntraKeyRollover' {
    BeforeEach {
        $script:current = Get-KrTestCertificate 'CN=current'
        $script:next = Get-KrTestCertificate 'CN=next'
        $script:app = Register-KrTestApp $emu $script:current
        Connect-EntraKeyRoll -TenantId $emu.TenantId -ClientId $app.appId -Certificate $current -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
    }

    It 'rolls to the new certificate, verifies it and removes the old one' {
        $r = Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $current -NewCertificate $next -RemoveOld -TenantId $emu.TenantId
        $r.PSObject.TypeNames[0] | Should -Be 'EntraKeyRoll.RollReport'
        $r.success | Should -BeTrue
        $keys = Get-KrTestKeys $emu $app.id
        $keys.Count | Should -Be 1
        Connect-KrTestEmulatorAsApp $emu $app | Out-Null
        (Get-EntraMSApplicationKey -ObjectId $app.id).Thumbprint | Should -Be $next.Thumbprint
    }

    It 'says when the connection follows the roll to the new certificate, and keeps working' {
        # Connected as the app with its current certificate: removing that key moves the connection to the new one.
        $out = Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $current -NewCertificate $next -RemoveOld -TenantId $emu.TenantId -Verbose 4>&1
        $verbose = @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object { $_.Message })
        @($verbose | Where-Object { $_ -match "^the connection now signs with the new certificate $($next.Thumbprint)" }).Count | Should -Be 1 -Because ($verbose -join "`n")
        @($out | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })[0].ConnectionSwitched | Should -Be $next.Thumbprint
        # The same connection still signs in (with the new certificate): the old key is gone.
        (Get-EntraMSApplicationKey -ObjectId $app.id).Thumbprint | Should -Be $next.Thumbprint
    }

    It 'asks ShouldProcess for the removal apart from the roll: -WhatIf names both steps and changes nothing' {
        $log = Join-Path $TestDrive 'whatif.txt'
        Start-Transcript -LiteralPath $log | Out-Null
        try {
            $out = Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $current -NewCertificate $next -RemoveOld -WhatIf
        }
        finally { Stop-Transcript | Out-Null }
        $out | Should -BeNullOrEmpty
        $text = Get-Content -LiteralPath $log -Raw
        $text | Should -Match 'What if: .*Add the new certificate and verify that it works'
        $text | Should -Match 'What if: .*Remove the old certificate once the new one works'
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
    }

    It 'without -RemoveOld adds and verifies the new key and keeps the old one' {
        $r = Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $current -NewCertificate $next -TenantId $emu.TenantId
        $r.success | Should -BeTrue
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 2
    }

    It 'refuses a roll to the certificate in use before any write, naming its own parameters' {
        Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $current -NewCertificate $current -TenantId $emu.TenantId -ErrorVariable all -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $all 'Invoke-EntraKeyRollover'
        $e.Count | Should -Be 1
        $e[0].Exception.Message | Should -Match 'certificate in use now'
        $e[0].ErrorDetails.RecommendedAction | Should -Match '-NewCertificate'
        ($e[0].Exception.Message + $e[0].ErrorDetails.RecommendedAction) | Should -Not -Match '--[a-z]'
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
    }

    It 'refuses two current certificates, as an ErrorRecord' {
        Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $current -CertificatePath x.pfx -NewCertificate $next -ErrorVariable all -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $all 'Invoke-EntraKeyRollover'
        $e[0].FullyQualifiedErrorId | Should -BeLike 'RolloverCertificates*'
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
    }
}

Describe 'Invoke-EntraKeyRollover with keys that refuse export' {
    BeforeAll { Initialize-KrTestNoExportRsa }
    BeforeEach {
        [KrTest.NoExportRsa]::Reset()
        $script:current = Get-KrTestCertificate 'CN=current'
        $script:next = Get-KrTestCertificate 'CN=next'
        $script:app = Register-KrTestApp $emu $script:current
        # The certificates' key objects refuse every export: the module's one key lookup returns such a key.
        Mock -ModuleName EntraKeyRoll Get-KrCertificateKey {
            [KrTest.NoExportRsa]::new([System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($Certificate))
        }
    }

    It 'connects and rolls with -RemoveOld, every assertion and proof signed by the key objects, none exported' {
        Connect-EntraKeyRoll -TenantId $emu.TenantId -ClientId $app.appId -Certificate $current -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
        $r = Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $current -NewCertificate $next -RemoveOld -TenantId $emu.TenantId
        $r.Success | Should -BeTrue
        $r.State | Should -Be 'rolled'
        $keys = Get-KrTestKeys $emu $app.id
        $keys.Count | Should -Be 1
        # The connection follows the roll to the new key object, and still signs in.
        (Get-EntraMSApplicationKey -ObjectId $app.id).Thumbprint | Should -Be $next.Thumbprint
        Should -Invoke -ModuleName EntraKeyRoll Get-KrCertificateKey -Times 3 -Exactly
        # Sign-in and proof with the current key, the new key's sign-in check, the next sign-in with it.
        [KrTest.NoExportRsa]::Signatures | Should -BeGreaterOrEqual 3
        [KrTest.NoExportRsa]::ExportAttempts | Should -Be 0
    }

    It 'names -NewCertificate when the new certificate is ECDSA, and -Certificate when it has no private key' {
        Connect-EntraKeyRoll -TenantId $emu.TenantId -ClientId $app.appId -Certificate $current -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
        Mock -ModuleName EntraKeyRoll Get-KrCertificateKey { [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($Certificate) }
        $ec = Get-KrTestEcdsaCertificate
        Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $current -NewCertificate $ec -TenantId $emu.TenantId -ErrorVariable all -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $all 'Invoke-EntraKeyRollover'
        $e.Count | Should -Be 1
        $e[0].Exception.Message | Should -Match '^-NewCertificate: .* not RSA; .*give an RSA certificate'
        $public = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList (, $current.RawData)
        Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $public -NewCertificate $next -TenantId $emu.TenantId -ErrorVariable all2 -ErrorAction SilentlyContinue
        $e = Get-KrWrittenError $all2 'Invoke-EntraKeyRollover'
        $e.Count | Should -Be 1
        $e[0].Exception.Message | Should -Match '^-Certificate: .* has no private key.*-CertificatePath'
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
    }
}

Describe 'Invoke-EntraKeyRollover: many objects, one at a time or in bulk' {
    BeforeAll {
        $script:password = 'pester-pw'
        $script:securePassword = ConvertTo-KrTestSecureString $script:password
        function New-KrTestPfx([System.Security.Cryptography.X509Certificates.X509Certificate2] $Certificate, [string] $Name) {
            $path = Join-Path $TestDrive "$Name.pfx"
            [System.IO.File]::WriteAllBytes($path, $Certificate.Export('Pfx', $script:password))
            $path
        }
        # One automation identity, allowed to write every application, signs in for the whole batch (as a
        # runbook's managed identity does); each application proves possession with its own current key.
        $script:automation = Invoke-KrEmulatorAdmin $emu 'POST' 'applications' @{ displayName = 'automation'; certificates = @(); roles = @('Application.ReadWrite.All') }
        function Connect-KrTestAutomation {
            Connect-EntraKeyRoll -AccessToken (ConvertTo-KrTestSecureString (Get-KrTestToken $emu $script:automation)) -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
        }
    }
    BeforeEach {
        Invoke-KrEmulatorAdmin $emu 'PUT' 'faults' @{} | Out-Null
        $script:current = Get-KrTestCertificate 'CN=current'
        $script:next = Get-KrTestCertificate 'CN=next'
        $script:currentPfx = New-KrTestPfx $current 'current'
        $script:nextPfx = New-KrTestPfx $next 'next'
        $script:apps = @(1..3 | ForEach-Object { Register-KrTestApp $emu $current })
        Connect-KrTestAutomation
    }
    AfterEach { Invoke-KrEmulatorAdmin $emu 'PUT' 'faults' @{} | Out-Null }

    It 'binds an object id piped by value (a string, a GUID)' {
        $r = $apps[0].id | Invoke-EntraKeyRollover -Certificate $current -NewCertificate $next -TenantId $emu.TenantId
        $r.Success | Should -BeTrue
        [string]$r.ObjectId | Should -Be $apps[0].id
        $g = [guid]$apps[1].id | Invoke-EntraKeyRollover -Certificate $current -NewCertificate $next -TenantId $emu.TenantId
        [string]$g.ObjectId | Should -Be $apps[1].id
        (Get-KrTestKeys $emu $apps[1].id).Count | Should -Be 2
    }

    It 'an_object_with_only_AppId_binds_as_AppId (not as an object id)' {
        $r = [pscustomobject]@{ AppId = $apps[0].appId } | Invoke-EntraKeyRollover -Certificate $current -NewCertificate $next -TenantId $emu.TenantId -ErrorVariable all -ErrorAction SilentlyContinue
        (Get-KrWrittenError $all 'Invoke-EntraKeyRollover').Count | Should -Be 0
        $r.Success | Should -BeTrue
        [string]$r.ObjectId | Should -Be $apps[0].id
    }

    It 'returns a typed report with PascalCase properties and a table view' {
        $r = Invoke-EntraKeyRollover -ObjectId $apps[0].id -Certificate $current -NewCertificate $next -RemoveOld -TenantId $emu.TenantId
        $r.PSObject.TypeNames[0] | Should -Be 'EntraKeyRoll.RollReport'
        $names = @($r.PSObject.Properties.Name)
        foreach ($n in 'Target', 'ObjectId', 'State', 'Detail', 'Success', 'NewKeyId', 'RemovedKeyIds', 'Steps', 'FinalKeys', 'NextStep') {
            $names | Should -Contain $n
        }
        # Case-sensitive: no camelCase property is left beside the PascalCase ones.
        @($names | Where-Object { $_ -cmatch '^[a-z]' }).Count | Should -Be 0
        @($r.Steps)[0].PSObject.Properties.Name | Should -Contain 'Step'
        @($r.FinalKeys)[0].PSObject.TypeNames[0] | Should -Be 'EntraKeyRoll.KeyInfo'
        @($r.FinalKeys)[0].Thumbprint | Should -Be $next.Thumbprint
        @($r.RemovedKeyIds).Count | Should -Be 1
        (Get-FormatData -TypeName 'EntraKeyRoll.RollReport') | Should -Not -BeNullOrEmpty
        $table = $r | Format-Table | Out-String -Width 400
        $table | Should -Match 'Target\s+State\s+NewKeyId\s+Detail'
        $table | Should -Match ([regex]::Escape([string]$r.NewKeyId))
    }

    It 'a_rollover_returns_when_the_library_finishes_not_at_a_poll_interval' {
        # Before: the module slept 250 ms between polls, so no rollover took less than 250 ms. Now it waits on the
        # library, which wakes it at the end. One warm-up (JIT, first TLS) first, then five timed rollovers.
        $warm = Register-KrTestApp $emu $current
        Invoke-EntraKeyRollover -ObjectId $warm.id -Certificate $current -NewCertificate $next -TenantId $emu.TenantId | Out-Null
        $times = foreach ($i in 1..5) {
            $app = Register-KrTestApp $emu $current
            $sw = [System.Diagnostics.Stopwatch]::StartNew()
            $r = Invoke-EntraKeyRollover -ObjectId $app.id -Certificate $current -NewCertificate $next -TenantId $emu.TenantId
            $sw.Stop()
            $r.Success | Should -BeTrue
            $sw.Elapsed.TotalMilliseconds
        }
        $median = @($times | Sort-Object)[2]
        $median | Should -BeLessThan 200 -Because "each rollover took $(($times | ForEach-Object { '{0:N0} ms' -f $_ }) -join ', ')"
    }

    It 'rolls an Import-Csv plan by property name as one bulk operation, a report per row' {
        $csv = Join-Path $TestDrive 'plan.csv'
        # The columns of Get-EntraKeyRollInventory's plan (TargetType included) and keyroll's (an appId row).
        $lines = @('ObjectId,AppId,TargetType,CertificatePath,NewCertificatePath,TenantId')
        $lines += ",$($apps[0].appId),Application,$currentPfx,$nextPfx,$($emu.TenantId)"
        $lines += "$($apps[1].id),,Application,$currentPfx,$nextPfx,$($emu.TenantId)"
        $lines += "$($apps[2].id),,Application,$currentPfx,$nextPfx,$($emu.TenantId)"
        Set-Content -LiteralPath $csv -Value $lines
        $out = Import-Csv -LiteralPath $csv | Invoke-EntraKeyRollover -RemoveOld -ThrottleLimit 8 -CertificatePassword $securePassword -NewCertificatePassword $securePassword -Verbose -ErrorVariable all -ErrorAction SilentlyContinue 4>&1
        (Get-KrWrittenError $all 'Invoke-EntraKeyRollover').Count | Should -Be 0
        $reports = @($out | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
        $verbose = @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object { $_.Message })
        $reports.Count | Should -Be 3
        @($reports | Sort-Object Row | ForEach-Object { $_.Row }) | Should -Be @(1, 2, 3)
        foreach ($r in $reports) {
            $r.PSObject.TypeNames[0] | Should -Be 'EntraKeyRoll.RollReport'
            $r.Success | Should -BeTrue
            $r.State | Should -Be 'rolled'
        }
        # One operation in the library for the whole batch, not one roll after another.
        @($verbose | Where-Object { $_ -match '^bulk roll: 3 rows, at most 8 at once' }).Count | Should -Be 1
        @($verbose | Where-Object { $_ -match '^bulk roll: 3 rows, 3 succeeded, 0 failed, 0 not started' }).Count | Should -Be 1
        foreach ($app in $apps) {
            $keys = Get-KrTestKeys $emu $app.id
            $keys.Count | Should -Be 1
        }
    }

    It 'a_runbook_under_ErrorAction_Stop_rolls_every_row_without_TenantId (the tenant comes from the token)' {
        # The runbook of the issue: signed in with a token, no -TenantId, -RemoveOld, $ErrorActionPreference Stop.
        $ErrorActionPreference = 'Stop'
        $rows = @($apps | ForEach-Object { [pscustomobject]@{ ObjectId = $_.id; CertificatePath = $currentPfx; NewCertificatePath = $nextPfx } })
        $out = @($rows | Invoke-EntraKeyRollover -RemoveOld -ThrottleLimit 4 -CertificatePassword $securePassword -NewCertificatePassword $securePassword)
        $out.Count | Should -Be 3
        foreach ($r in $out) { $r.State | Should -Be 'rolled' }
        foreach ($app in $apps) { (Get-KrTestKeys $emu $app.id).Count | Should -Be 1 }
    }

    It 'rolls the items of Get-EntraKeyRollInventory piped in, by their plan columns' {
        $ids = @($apps | ForEach-Object { $_.id })
        # The files the naming rules name: the current certificate by its thumbprint, the new one per appId.
        $dir = Join-Path $TestDrive 'inventory'
        $null = New-Item -ItemType Directory -Force -Path (Join-Path $dir 'next')
        Copy-Item -LiteralPath $currentPfx -Destination (Join-Path $dir "$($current.Thumbprint).pfx")
        foreach ($app in $apps) { Copy-Item -LiteralPath $nextPfx -Destination (Join-Path $dir "next/$($app.appId).pfx") }
        $items = @(Get-EntraKeyRollInventory -CredentialType Certificate -CertificatePathRule (Join-Path $dir '{thumbprint}.pfx') -NewCertificatePathRule (Join-Path $dir 'next/{appId}.pfx') | Where-Object { $ids -contains $_.ObjectId })
        $items.Count | Should -Be 3
        $out = @($items | Invoke-EntraKeyRollover -RemoveOld -ThrottleLimit 4 -CertificatePassword $securePassword -NewCertificatePassword $securePassword)
        $out.Count | Should -Be 3
        foreach ($r in $out) { $r.State | Should -Be 'rolled' }
        foreach ($app in $apps) { (Get-KrTestKeys $emu $app.id).Count | Should -Be 1 }
    }

    It 'writes the journal of keyroll roll --journal, and -Resume skips the rows it shows done' {
        $journal = Join-Path $TestDrive 'run.journal'
        $rows = @($apps | ForEach-Object { [pscustomobject]@{ ObjectId = $_.id; CertificatePath = $currentPfx; NewCertificatePath = $nextPfx; TenantId = $emu.TenantId } })
        $first = $rows | Invoke-EntraKeyRollover -CertificatePassword $securePassword -NewCertificatePassword $securePassword -JournalPath $journal
        @($first).Count | Should -Be 3
        $lines = @(Get-Content -LiteralPath $journal | Where-Object { $_ } | ForEach-Object { $_ | ConvertFrom-Json })
        $lines.Count | Should -Be 3
        @($lines | ForEach-Object { [int]$_.row } | Sort-Object) | Should -Be @(1, 2, 3)
        foreach ($l in $lines) { $l.success | Should -BeTrue }
        $before = @($apps | ForEach-Object { (Get-KrTestKeys $emu $_.id).Count })
        $again = $rows | Invoke-EntraKeyRollover -CertificatePassword $securePassword -NewCertificatePassword $securePassword -JournalPath $journal -Resume -Verbose 4>&1
        # Nothing was written again: every row was done.
        @($apps | ForEach-Object { (Get-KrTestKeys $emu $_.id).Count }) | Should -Be $before
        @($again | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -match 'roll step .*add' }).Count | Should -Be 0
        @($again | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }).Count | Should -Be 3
    }

    It 'a_bulk_run_stopped_midway_finishes_the_rows_in_flight_and_journals_every_row' {
        # Select-Object -First 1 stops the command as Ctrl+C does (the pipeline stops; only finally blocks run).
        # Each roll takes 1.5 s to verify and one runs at a time: when the first report arrives, the next row is
        # starting or about to, and the others have not started.
        Invoke-KrEmulatorAdmin $emu 'PUT' 'faults' @{ keyActivationDelayMs = 1500 } | Out-Null
        $more = @(1..1 | ForEach-Object { Register-KrTestApp $emu $current })
        $all = @($apps) + $more
        $journal = Join-Path $TestDrive 'stopped.journal'
        $rows = @($all | ForEach-Object { [pscustomobject]@{ ObjectId = $_.id } })
        $first = $rows | Invoke-EntraKeyRollover -CertificatePath $currentPfx -CertificatePassword $securePassword -NewCertificatePath $nextPfx -NewCertificatePassword $securePassword -RemoveOld -TenantId $emu.TenantId -ThrottleLimit 1 -JournalPath $journal | Select-Object -First 1
        $first.State | Should -Be 'rolled'
        # The command returned only once the row in flight had finished: every row that ran has its line now;
        # rows that never started have none (so that -Resume runs them).
        $lines = @(Get-Content -LiteralPath $journal | Where-Object { $_ } | ForEach-Object { $_ | ConvertFrom-Json })
        $lines.Count | Should -BeIn @(1, 2)
        foreach ($l in $lines) { $l.state | Should -Be 'rolled' }
        $ran = @($lines | ForEach-Object { $all[[int]$_.row - 1].id })
        foreach ($app in $all) {
            # Rolled or not started, each object holds exactly one key: never both, never none; and the journal
            # names exactly the objects that were rolled.
            $keys = Get-KrTestKeys $emu $app.id
            $keys.Count | Should -Be 1
            ($ran -contains $app.id) | Should -Be ([string]$keys[0].displayName -match 'next')
        }
        # Resumed, the run rolls the rest and nothing twice.
        $rest = @($rows | Invoke-EntraKeyRollover -CertificatePath $currentPfx -CertificatePassword $securePassword -NewCertificatePath $nextPfx -NewCertificatePassword $securePassword -RemoveOld -TenantId $emu.TenantId -ThrottleLimit 4 -JournalPath $journal -Resume)
        $rest.Count | Should -Be 4
        foreach ($r in $rest) { $r.Success | Should -BeTrue }
        foreach ($app in $all) { (Get-KrTestKeys $emu $app.id).Count | Should -Be 1 }
    }

    It 'says every retry of a throttled roll in -Verbose, and warns when the waits add up' {
        Invoke-KrEmulatorAdmin $emu 'PUT' 'faults' @{ throttle = @{ count = 2; retryAfter = 0.2 } } | Out-Null
        & (Get-Module EntraKeyRoll) { $script:KrRetryWarnSeconds = 0.3 }
        try {
            $out = Invoke-EntraKeyRollover -ObjectId $apps[0].id -Certificate $current -NewCertificate $next -TenantId $emu.TenantId -Verbose -WarningVariable warned -WarningAction SilentlyContinue 4>&1
        }
        finally { & (Get-Module EntraKeyRoll) { $script:KrRetryWarnSeconds = 30 } }
        $verbose = @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object { $_.Message })
        $retries = @($verbose | Where-Object { $_ -match '^throttled \(429\), retrying in [0-9.]+ m?s, attempt \d' })
        $retries.Count | Should -Be 2 -Because ($verbose -join "`n")
        $retries[1] | Should -Match 'attempt 3'
        @($warned).Count | Should -Be 1
        $warned[0].Message | Should -Match '2 retries have waited'
        @($out | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })[0].Success | Should -BeTrue
    }

    It 'with -JournalPath rolls nothing when a row of the input is refused (journal rows are input positions)' {
        $journal = Join-Path $TestDrive 'refused.journal'
        $rows = @([pscustomobject]@{ ObjectId = $apps[0].id }, [pscustomobject]@{ Name = 'no target' }, [pscustomobject]@{ ObjectId = $apps[1].id })
        $out = $rows | Invoke-EntraKeyRollover -Certificate $current -NewCertificate $next -TenantId $emu.TenantId -JournalPath $journal -ErrorVariable all -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $e = Get-KrWrittenError $all 'Invoke-EntraKeyRollover'
        @($e | ForEach-Object { ($_.FullyQualifiedErrorId -split ',')[0] }) | Should -Be @('RolloverNoTarget', 'RolloverJournalRowsRefused')
        Test-Path -LiteralPath $journal | Should -BeFalse
        foreach ($app in $apps) { (Get-KrTestKeys $emu $app.id).Count | Should -Be 1 }
    }

    It 'refuses -Resume without -JournalPath' {
        { $apps[0].id | Invoke-EntraKeyRollover -Certificate $current -NewCertificate $next -Resume -ErrorAction Stop } | Should -Throw '*-JournalPath*'
    }

    It 'after_a_write_the_error_first_line_says_the_state_and_the_command_that_completes_it' {
        # The new key signs in only after 60 s; with a 1 s verify timeout the roll adds it and keeps the old one.
        Invoke-KrEmulatorAdmin $emu 'PUT' 'faults' @{ keyActivationDelayMs = 60000 } | Out-Null
        Invoke-EntraKeyRollover -ObjectId $apps[0].id -CertificatePath $currentPfx -CertificatePassword $securePassword -NewCertificatePath $nextPfx -NewCertificatePassword $securePassword -RemoveOld -TenantId $emu.TenantId -VerifyTimeout 1 -ErrorVariable all -ErrorAction SilentlyContinue | Out-Null
        $e = Get-KrWrittenError $all 'Invoke-EntraKeyRollover'
        $e.Count | Should -Be 1
        $first = ($e[0].Exception.Message -split "`n")[0]
        $first | Should -Match 'run Invoke-EntraKeyRollover -ObjectId [0-9a-f-]{36} '
        $first | Should -Match '-RemoveOld'
        $first | Should -Match "-TenantId $([regex]::Escape($emu.TenantId))"
        $first | Should -Match '^[0-9a-f-]{36}: the new key was added'
        $first | Should -Not -Match '<'
        # Line two on: the library's message, with its next step in its concepts.
        $e[0].Exception.Message | Should -Match "`n"
        $first | Should -Match ([regex]::Escape("-NewCertificatePath '$nextPfx'"))
        $first | Should -Not -Match '--[a-z]'
        $e[0].Exception.Data['Report'].PSObject.TypeNames[0] | Should -Be 'EntraKeyRoll.RollReport'
        (Get-KrTestKeys $emu $apps[0].id).Count | Should -Be 2
    }
    It 'in a bulk run writes every row''s report and an error per row that wrote and did not finish' {
        Invoke-KrEmulatorAdmin $emu 'PUT' 'faults' @{ keyActivationDelayMs = 60000 } | Out-Null
        $rows = @($apps[0..1] | ForEach-Object { [pscustomobject]@{ ObjectId = $_.id; CertificatePath = $currentPfx; NewCertificatePath = $nextPfx } })
        $out = @($rows | Invoke-EntraKeyRollover -RemoveOld -VerifyTimeout 1 -CertificatePassword $securePassword -NewCertificatePassword $securePassword -ErrorVariable all -ErrorAction SilentlyContinue)
        $out.Count | Should -Be 2
        foreach ($r in $out) { $r.State | Should -Be 'incomplete'; $r.Success | Should -BeFalse }
        $e = Get-KrWrittenError $all 'Invoke-EntraKeyRollover'
        $e.Count | Should -Be 2
        foreach ($app in $apps[0..1]) {
            $mine = @($e | Where-Object { $_.TargetObject -eq $app.id })
            $mine.Count | Should -Be 1
            ($mine[0].Exception.Message -split "`n")[0] | Should -Match "^$($app.id): .*run Invoke-EntraKeyRollover -ObjectId $($app.id) .*-RemoveOld"
        }
    }
}

Describe 'Invoke-EntraKeyRollover: certificates in Azure Key Vault' {
    BeforeAll {
        # Connected as an Automation account's managed identity (Graph and the vault).
        $script:automation = New-KrTestVaultIdentity $emu
        Connect-EntraKeyRoll -Identity -GraphUrl $emu.GraphUrl -LoginUrl $emu.LoginUrl -CaCertificate $emu.CaCert | Out-Null
    }
    AfterAll { Disconnect-EntraKeyRoll; Restore-KrTestEnvironment }

    It 'creates the next version in the vault and rolls to it, with no private key outside the vault' {
        $name = 'app-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $v1 = New-KrTestVaultCertificate $emu $name
        $app = Register-KrTestVaultApp $emu $v1
        $old = (Get-KrTestKeys $emu $app.id)[0].customKeyIdentifier
        $r = Invoke-EntraKeyRollover -AppId $app.appId -KeyVaultCertificateId "$($emu.VaultUrl)/certificates/$name" -CreateInKeyVault -RemoveOld
        $r.Success | Should -BeTrue
        $r.State | Should -Be 'rolled'
        $keys = @(Get-KrTestKeys $emu $app.id)
        $keys.Count | Should -Be 1
        $keys[0].customKeyIdentifier | Should -Not -Be $old
    }

    It 'a run that stopped after the add is completed by the same command, with the version it created (no second one)' {
        $name = 'rerun-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $v1 = New-KrTestVaultCertificate $emu $name
        $app = Register-KrTestVaultApp $emu $v1
        $id = "$($emu.VaultUrl)/certificates/$name"
        $old = (Get-KrTestKeys $emu $app.id)[0].customKeyIdentifier
        # The first run adds the new version and keeps the old key (as one stopped before the removal would).
        $first = Invoke-EntraKeyRollover -AppId $app.appId -KeyVaultCertificateId $id -CreateInKeyVault
        $first.State | Should -Be 'keptOld'
        $both = Get-KrTestKeys $emu $app.id
        $both.Count | Should -Be 2
        $added = @($both | Where-Object { $_.customKeyIdentifier -ne $old })
        $added.Count | Should -Be 1
        $second = Invoke-EntraKeyRollover -AppId $app.appId -KeyVaultCertificateId $id -CreateInKeyVault -RemoveOld
        $second.Success | Should -BeTrue
        $keys = @(Get-KrTestKeys $emu $app.id)
        $keys.Count | Should -Be 1
        $keys[0].customKeyIdentifier | Should -Be $added[0].customKeyIdentifier
    }

    It 'names the parameter when the vault has no such certificate, and changes nothing' {
        $v1 = New-KrTestVaultCertificate $emu ('real-' + [guid]::NewGuid().ToString('n').Substring(0, 8))
        $app = Register-KrTestVaultApp $emu $v1
        $r = Invoke-EntraKeyRollover -AppId $app.appId -KeyVaultCertificateId "$($emu.VaultUrl)/certificates/no-such-cert" -CreateInKeyVault -ErrorVariable err -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $records = Get-KrWrittenError $err 'Invoke-EntraKeyRollover'
        $records.Count | Should -Be 1
        $records[0].ErrorDetails.Message | Should -Match '^-KeyVaultCertificateId: '
        $records[0].ErrorDetails.Message | Should -Match 'no-such-cert'
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
    }

    It 'says which vault permission the identity lacks, the role that grants it, and the fix in PowerShell''s words' {
        $name = 'denied-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $v1 = New-KrTestVaultCertificate $emu $name
        $app = Register-KrTestVaultApp $emu $v1
        # The identity may read certificates but not sign with their keys.
        $null = Invoke-KrEmulatorAdmin $emu 'POST' 'vault/grants' @{ principal = $automation.appId; permissions = @('certificates/get', 'certificates/list', 'keys/get') }
        try {
            $r = Invoke-EntraKeyRollover -AppId $app.appId -KeyVaultCertificateId "$($emu.VaultUrl)/certificates/$name" -CreateInKeyVault -ErrorVariable err -ErrorAction SilentlyContinue
        }
        finally {
            $null = Invoke-KrEmulatorAdmin $emu 'POST' 'vault/grants' @{ principal = $automation.appId; permissions = @('certificates/get', 'certificates/list', 'certificates/create', 'keys/get', 'keys/sign') }
        }
        $records = Get-KrWrittenError $err 'Invoke-EntraKeyRollover'
        $records.Count | Should -Be 1
        $message = $records[0].ErrorDetails.Message
        $message | Should -Match '^-KeyVaultCertificateId: '
        $message | Should -Match 'certificates/create|keys/sign'
        $message | Should -Match 'Key Vault (Crypto User|Certificates Officer)'
        $records[0].ErrorDetails.RecommendedAction | Should -Match 'Grant the identity'
        (Get-KrTestKeys $emu $app.id).Count | Should -Be 1
    }

    It '-WhatIf creates no version in the vault and writes nothing' {
        $name = 'whatif-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $v1 = New-KrTestVaultCertificate $emu $name
        $app = Register-KrTestVaultApp $emu $v1
        Invoke-EntraKeyRollover -AppId $app.appId -KeyVaultCertificateId "$($emu.VaultUrl)/certificates/$name" -CreateInKeyVault -RemoveOld -WhatIf | Should -BeNullOrEmpty
        $keys = Get-KrTestKeys $emu $app.id
        $keys.Count | Should -Be 1
        # A later real run creates exactly one version (the -WhatIf run made none to pick up).
        $r = Invoke-EntraKeyRollover -AppId $app.appId -KeyVaultCertificateId "$($emu.VaultUrl)/certificates/$name" -CreateInKeyVault -RemoveOld
        $r.Success | Should -BeTrue
    }

    It 'refuses -CreateInKeyVault without a vault certificate to create, naming the parameters' {
        $current = Get-KrTestCertificate 'CN=file current'
        $app = Register-KrTestApp $emu $current
        Invoke-EntraKeyRollover -AppId $app.appId -Certificate $current -CreateInKeyVault -ErrorVariable err -ErrorAction SilentlyContinue
        $records = Get-KrWrittenError $err 'Invoke-EntraKeyRollover'
        $records[0].Exception.Message | Should -Match '-NewKeyVaultCertificateId'
    }
}
