# What Invoke-EntraKeyRollover needs beyond the facade: the roll report as a typed PowerShell object, the error
# record of a roll that wrote and did not finish (its first line says what the object holds and the command that
# completes it), and the loops that wait on a background roll or bulk operation in the library.

# How long one wait on the library lasts at most: short enough that Ctrl+C and the progress bar stay responsive,
# while the wait itself returns the moment the library reports anything (no poll interval adds to a roll).
$script:KrWaitSliceMs = 200
# The waits for the service's throttling one run may add up to before a warning says so.
$script:KrRetryWarnSeconds = 30

function ConvertTo-KrPascalObject {
    # The library's camelCase JSON objects (as ConvertFrom-Json made them) with PascalCase property names, nested
    # objects and arrays included, so that reports read like the rest of PowerShell (Success, State, NewKeyId).
    # Properties named *DateTime (and At) become DateTimes (UTC). -TypeName types the top object; -Extra adds
    # properties to it. A plain function, not an advanced one, and scalars are never passed to it: it runs for
    # every object of every report of a bulk run, and an advanced function's call costs what the conversion does.
    param([AllowNull()] [object] $InputObject, [string] $TypeName, [System.Collections.IDictionary] $Extra)
    if ($null -eq $InputObject -or $InputObject -is [string] -or $InputObject -is [ValueType]) { return $InputObject }
    if ($InputObject -is [System.Collections.IList]) {
        $items = New-Object 'System.Collections.Generic.List[object]'
        foreach ($item in $InputObject) {
            if ($null -eq $item -or $item -is [string] -or $item -is [ValueType]) { $items.Add($item) }
            else { $items.Add((ConvertTo-KrPascalObject -InputObject $item)) }
        }
        # The comma keeps an empty or one-element array an array.
        return , $items.ToArray()
    }
    $out = [ordered]@{}
    if ($TypeName) { $out['PSTypeName'] = $TypeName }
    foreach ($p in $InputObject.PSObject.Properties) {
        $name = $p.Name.Substring(0, 1).ToUpperInvariant() + $p.Name.Substring(1)
        $value = $p.Value
        if ($null -ne $value -and $value -isnot [string] -and $value -isnot [ValueType]) { $value = ConvertTo-KrPascalObject -InputObject $value }
        elseif ($name -like '*DateTime' -or $name -eq 'At') { $value = ConvertFrom-KrDate $value }
        $out[$name] = $value
    }
    if ($Extra) { foreach ($k in $Extra.Keys) { if (-not $out.Contains($k)) { $out[$k] = $Extra[$k] } } }
    [pscustomobject]$out
}

function ConvertTo-KrRollReport {
    # One row's roll report as an EntraKeyRoll.RollReport: PascalCase properties (Target, ObjectId, State, Detail,
    # Success, NewKeyId, RemovedKeyIds, Steps, FinalKeys, NextStep, ...), the final keys typed as KeyInfo, and Row
    # (1-based) for a bulk row.
    [CmdletBinding()]
    param([Parameter(Mandatory)] [object] $Report, [int] $Row = 0)
    $extra = [ordered]@{ NextStep = $null; ConnectionSwitched = $null }
    # Before the library separated them, State was the sentence; Detail is always the sentence.
    if (-not $Report.PSObject.Properties['detail']) { $extra['Detail'] = $Report.state }
    if ($Row -gt 0) { $extra['Row'] = $Row }
    # What the library adjusted on the way (a display name shortened to 90 characters), once per report.
    if ($Report.PSObject.Properties['warnings']) { foreach ($w in @($Report.warnings)) { if ($w) { Write-Warning $w } } }
    $r = ConvertTo-KrPascalObject -InputObject $Report -TypeName 'EntraKeyRoll.RollReport' -Extra $extra
    foreach ($k in @($r.FinalKeys)) { if ($k) { $k.PSObject.TypeNames.Insert(0, 'EntraKeyRoll.KeyInfo') } }
    foreach ($s in @($r.Steps)) { if ($s) { $s.PSObject.TypeNames.Insert(0, 'EntraKeyRoll.RollStep') } }
    $r
}

function Test-KrRollWrote {
    # Whether a roll wrote to the object and did not finish, so that running it again is what completes it: the
    # library says so with a next step (a row that never started has one too, but nothing of it was written).
    [CmdletBinding()]
    [OutputType([bool])]
    param([Parameter(Mandatory)] [object] $Report)
    ($null -ne $Report.NextStep) -and ($Report.State -ne 'notStarted')
}

function Get-KrRerunCommand {
    # The Invoke-EntraKeyRollover command, in its own parameters, that completes a row's roll: the same roll run
    # again finds the new key in place and goes on from there. Certificate objects are named, never printed.
    [CmdletBinding()]
    [OutputType([string])]
    param([Parameter(Mandatory)] [object] $Row, [object] $Report)
    $parts = @('Invoke-EntraKeyRollover')
    $oid = $Row.ObjectId
    if (-not $oid -and $Report -and $Report.ObjectId) { $oid = [string]$Report.ObjectId }
    if ($oid) { $parts += "-ObjectId $oid" } else { $parts += "-AppId $($Row.AppId)" }
    if ($Row.TargetType -and $Row.TargetType -ne 'Application') { $parts += "-TargetType $($Row.TargetType)" }
    if ($Row.KeyVaultCertificateId) { $parts += "-KeyVaultCertificateId '$($Row.KeyVaultCertificateId)'" }
    elseif ($Row.CertificatePath) { $parts += "-CertificatePath '$($Row.CertificatePath)'" }
    else { $parts += "-Certificate <the current certificate, $($Row.CurrentThumbprint)>" }
    # A version made in Key Vault for the roll is named: running the command again rolls to it.
    $madeInVault = $Row.PSObject.Properties['NewKeyVaultVersionId']
    $betweenVersions = $Row.CreateInKeyVault -and $Row.KeyVaultCertificateId -and (Test-KrSameVaultCertificate -Current $Row.KeyVaultCertificateId -New $Row.NewKeyVaultCertificateId)
    if ($Row.CreateInKeyVault -and $madeInVault -and $madeInVault.Value -and -not $betweenVersions) { $parts += "-NewKeyVaultCertificateId '$($madeInVault.Value)'" }
    elseif ($Row.CreateInKeyVault) {
        if ($Row.NewKeyVaultCertificateId) { $parts += "-NewKeyVaultCertificateId '$($Row.NewKeyVaultCertificateId)'" }
        $parts += '-CreateInKeyVault'
    }
    elseif ($Row.NewKeyVaultCertificateId) { $parts += "-NewKeyVaultCertificateId '$($Row.NewKeyVaultCertificateId)'" }
    elseif ($Row.NewCertificatePath) { $parts += "-NewCertificatePath '$($Row.NewCertificatePath)'" }
    else { $parts += "-NewCertificate <the new certificate, $($Row.NewThumbprint)>" }
    if ($Row.RemoveOld) { $parts += '-RemoveOld' }
    # Without -TenantId the library takes the tenant from the connection (its token), as the first run did.
    if ($Row.TenantId) { $parts += "-TenantId $($Row.TenantId)" }
    if ($Row.ClientId) { $parts += "-ClientId $($Row.ClientId)" }
    $parts -join ' '
}

function New-KrRollErrorRecord {
    # The ErrorRecord of a roll that did not succeed. After a write its FIRST line says what the object holds now
    # and the command that completes the roll (PowerShell's parameters), then the library's message (with its next
    # step, in its concepts). The report (typed) is in the exception's Data['Report'].
    [CmdletBinding()]
    [OutputType([System.Management.Automation.ErrorRecord])]
    param([Parameter(Mandatory)] [object] $ErrorObject, [Parameter(Mandatory)] [object] $Row, [object] $Report)
    $copy = [ordered]@{}
    foreach ($p in $ErrorObject.PSObject.Properties) { $copy[$p.Name] = $p.Value }
    if ($Report -and (Test-KrRollWrote -Report $Report)) {
        # The library's next step (in its concepts) follows on the next line, in its message.
        $detail = ([string]$Report.Detail).TrimEnd('.')
        $first = "$($Row.Subject): $detail. To complete the roll, run $(Get-KrRerunCommand -Row $Row -Report $Report) (it finds the new key in place and goes on from there)"
        $copy['message'] = "$first`n$($copy['message'])"
    }
    $record = ConvertTo-KrErrorRecord -ErrorObject ([pscustomobject]$copy) -TargetObject $Row.Subject
    if ($Report) { $record.Exception.Data['Report'] = $Report }
    $record
}

function Write-KrRollNews {
    # What one answer of the library says beyond the report: steps and retries as verbose lines, and a warning
    # once the waits for throttling of this run pass $script:KrRetryWarnSeconds. -State carries the run's totals.
    # A plain function (it runs for every answer of a run; Write-Verbose follows the command's -Verbose).
    param([object] $Answer, [hashtable] $State)
    if ($VerbosePreference -ne 'SilentlyContinue') {
        foreach ($step in @($Answer.events)) { if ($step) { Write-Verbose "roll step $step" } }
    }
    if (-not $Answer.PSObject.Properties['retries']) { return }
    foreach ($retry in @($Answer.retries)) {
        if (-not $retry) { continue }
        $State.RetrySeconds += [double]$retry.delaySecs
        $State.Retries += 1
        $who = if ($retry.PSObject.Properties['target'] -and $retry.target) { "$($retry.target): " } else { '' }
        Write-Verbose "$who$($retry.message)"
    }
    if (-not $State.Warned -and $State.RetrySeconds -gt $script:KrRetryWarnSeconds) {
        $State.Warned = $true
        Write-Warning ("the service is throttling this run: {0} retries have waited {1:N1} s so far (the library backs off as the service asks; -Verbose shows each retry)" -f $State.Retries, $State.RetrySeconds)
    }
}

function Write-KrConnectionSwitch {
    # The connection signs with the new certificate once the roll removed the one it signed with (the library
    # says so with connectionSwitched, the new thumbprint).
    [CmdletBinding()]
    param([AllowNull()] [object] $Report)
    if ($Report -and $Report.PSObject.Properties['connectionSwitched'] -and $Report.connectionSwitched) {
        Write-Verbose "the connection now signs with the new certificate $($Report.connectionSwitched) (the roll removed the one it signed with)"
    }
}

function Get-KrRollSettings {
    # The library's roll settings of one row.
    [CmdletBinding()]
    [OutputType([System.Collections.IDictionary])]
    param([Parameter(Mandatory)] [object] $Row, [Parameter(Mandatory)] [int] $VerifyTimeout)
    [ordered]@{
        target            = Get-KrTarget -ObjectId $Row.ObjectId -AppId $Row.AppId -TargetType $Row.TargetType
        displayName       = $Row.DisplayName
        removeOld         = [bool]$Row.RemoveOld
        tenantId          = $Row.TenantId
        clientId          = $Row.ClientId
        verifyTimeoutSecs = $VerifyTimeout
    }
}

function Open-KrRowIdentity {
    # One of a row's certificates as an identity in the library, opened once per file (or certificate) however
    # many rows name it: -Cache maps what was opened to its identity, and the caller closes them all.
    [CmdletBinding()]
    param(
        [AllowNull()] [System.Security.Cryptography.X509Certificates.X509Certificate2] $Certificate,
        [string] $Path,
        [System.Security.SecureString] $Password,
        [Parameter(Mandatory)] [hashtable] $Cache,
        [Parameter(Mandatory)] [string] $Subject,
        [string] $ParameterName = 'Certificate'
    )
    if ($Certificate) { $key = "certificate:$($Certificate.Thumbprint)" }
    else {
        $Path = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
        $key = "file:$Path"
    }
    if ($Cache.ContainsKey($key)) { return $Cache[$key] }
    # A certificate object's key signs in its key object, never exported (Open-KrIdentity).
    $identity = if ($Certificate) { Open-KrIdentity -Certificate $Certificate -ParameterName $ParameterName } else { Open-KrIdentity -Path $Path -Password $Password }
    if (Test-KrFailure $identity) { return $identity }
    $Cache[$key] = $identity
    $identity
}

function Open-KrRowIdentities {
    # Both certificates of a row as identities in the library: from certificate objects or files
    # (Open-KrRowIdentity), or from Key Vault, where -CreateInKeyVault also makes the version to roll to (or
    # finds the one an earlier run made). Returns @{ Current; New } or a failure. What was opened is in -Cache,
    # for the caller to close; a vault version made for the row is recorded on the row (NewKeyVaultVersionId),
    # so that the command that completes a stopped roll names it.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [object] $Row,
        [Parameter(Mandatory)] [object] $Connection,
        [Parameter(Mandatory)] [hashtable] $Passwords,
        [Parameter(Mandatory)] [hashtable] $Cache
    )
    $subject = $Row.Subject
    $vaultToken = $Passwords.KeyVault
    $conn = $Connection.Connection
    $target = Get-KrTarget -ObjectId $Row.ObjectId -AppId $Row.AppId -TargetType $Row.TargetType
    if ($Row.CreateInKeyVault -and $Row.KeyVaultCertificateId -and (Test-KrSameVaultCertificate -Current $Row.KeyVaultCertificateId -New $Row.NewKeyVaultCertificateId)) {
        # A roll between versions of one vault certificate: the library finds the version in use on the object
        # and the one to roll to.
        $pair = Open-KrVaultRollVersions -Connection $conn -CertificateId $Row.KeyVaultCertificateId -Target $target -AccessToken $vaultToken -ParameterName 'KeyVaultCertificateId' -Subject $subject -Policy $Row.NewVaultPolicy
        if (Test-KrFailure $pair) { return $pair }
        $Cache["vault-roll:$([guid]::NewGuid())"] = $pair.Current
        $Cache["vault-roll:$([guid]::NewGuid())"] = $pair.Next
        $Row | Add-Member -NotePropertyName NewKeyVaultVersionId -NotePropertyValue $pair.NextId -Force
        return @{ Current = $pair.Current; New = $pair.Next }
    }
    if ($Row.KeyVaultCertificateId) {
        $key = "vault:$($Row.KeyVaultCertificateId)"
        if ($Cache.ContainsKey($key)) { $current = $Cache[$key] }
        else {
            $current = Open-KrVaultIdentity -Connection $conn -CertificateId $Row.KeyVaultCertificateId -AccessToken $vaultToken -ParameterName 'KeyVaultCertificateId' -Subject $subject
            if (Test-KrFailure $current) { return $current }
            $Cache[$key] = $current
        }
    }
    else {
        $current = Open-KrRowIdentity -Certificate $Row.Certificate -Path $Row.CertificatePath -Password $Passwords.Current -Cache $Cache -Subject $subject
        if (Test-KrFailure $current) { return $current }
    }
    if ($Row.CreateInKeyVault) {
        $id = if ($Row.NewKeyVaultCertificateId) { $Row.NewKeyVaultCertificateId } else { $Row.KeyVaultCertificateId }
        $made = New-KrVaultVersion -Connection $conn -CertificateId $id -Target $target -Current $current -AccessToken $vaultToken -ParameterName $(if ($Row.NewKeyVaultCertificateId) { 'NewKeyVaultCertificateId' } else { 'KeyVaultCertificateId' }) -Subject $subject -Policy $Row.NewVaultPolicy
        if (Test-KrFailure $made) { return $made }
        $new = $made.Identity
        $Cache["vault-new:$([guid]::NewGuid())"] = $new
        $Row | Add-Member -NotePropertyName NewKeyVaultVersionId -NotePropertyValue $made.CertificateId -Force
    }
    elseif ($Row.NewKeyVaultCertificateId) {
        $key = "vault:$($Row.NewKeyVaultCertificateId)"
        if ($Cache.ContainsKey($key)) { $new = $Cache[$key] }
        else {
            $new = Open-KrVaultIdentity -Connection $conn -CertificateId $Row.NewKeyVaultCertificateId -AccessToken $vaultToken -ParameterName 'NewKeyVaultCertificateId' -Subject $subject
            if (Test-KrFailure $new) { return $new }
            $Cache[$key] = $new
        }
    }
    else {
        $new = Open-KrRowIdentity -Certificate $Row.NewCertificate -Path $Row.NewCertificatePath -Password $Passwords.New -Cache $Cache -Subject $subject -ParameterName 'NewCertificate'
        if (Test-KrFailure $new) { return $new }
    }
    @{ Current = $current; New = $new }
}

function Test-KrSameVaultCertificate {
    # Whether -NewKeyVaultCertificateId is absent or names the same vault certificate as -KeyVaultCertificateId
    # without a version of its own (a roll from one version of a certificate to its next). Comparison of the
    # vault and name only; the library parses and checks the URLs.
    [CmdletBinding()]
    [OutputType([bool])]
    param([Parameter(Mandatory)] [string] $Current, [string] $New)
    if (-not $New) { return $true }
    $pattern = '^(?<base>https?://[^/]+/certificates/[^/?#]+)/?(?<version>[^/?#]*)'
    $c = [regex]::Match($Current.Trim(), $pattern, 'IgnoreCase')
    $n = [regex]::Match($New.Trim(), $pattern, 'IgnoreCase')
    $c.Success -and $n.Success -and -not $n.Groups['version'].Value -and ($c.Groups['base'].Value.TrimEnd('/') -eq $n.Groups['base'].Value.TrimEnd('/'))
}

function Close-KrIdentityCache {
    [CmdletBinding()]
    param([AllowNull()] [hashtable] $Cache)
    if ($Cache) { foreach ($identity in @($Cache.Values)) { Close-KrIdentity -Identity $identity } }
}

function Invoke-KrSingleRoll {
    # One roll in the background in the library, waited on (not polled) until it ends: the report, or the error
    # written through -Caller.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Caller,
        [Parameter(Mandatory)] [object] $Connection,
        [Parameter(Mandatory)] [object] $Row,
        [Parameter(Mandatory)] [hashtable] $Passwords,
        [Parameter(Mandatory)] [int] $VerifyTimeout
    )
    $subject = $Row.Subject
    $activity = "Rolling the certificate of $($Row.TargetType) $subject"
    $cache = @{}
    $news = @{ RetrySeconds = 0.0; Retries = 0; Warned = $false }
    # Failures travel as values (New-KrFailure) and are written once, below, with the command's name.
    $failure = $null
    try {
        Write-Progress -Activity $activity -Status 'opening the certificates' -PercentComplete 5
        $pair = Open-KrRowIdentities -Row $Row -Connection $Connection -Passwords $Passwords -Cache $cache
        if (Test-KrFailure $pair) { $failure = $pair.ErrorRecord; return }
        $current = $pair.Current
        $new = $pair.New
        $json = ConvertTo-KrSettingsJson -Settings (Get-KrRollSettings -Row $Row -VerifyTimeout $VerifyTimeout)
        Write-Progress -Activity $activity -Status 'adding the new key, verifying it, removing the old one' -PercentComplete 20
        Write-Verbose "roll: $($Row.TargetType) $subject, removeOld $($Row.RemoveOld), verify timeout $VerifyTimeout s"
        $operation = Invoke-KrFacade -TargetObject $subject -On $Connection.Connection -Method 'StartRoll' -ArgumentList $json, $current, $new
        if (Test-KrFailure $operation) { $failure = $operation.ErrorRecord; return }
        $percent = 20
        $poll = $null
        try {
            while ($true) {
                # Returns the moment the library reports a step or the end; at most one slice otherwise.
                $poll = Invoke-KrFacade -AsObject -TargetObject $subject -On $operation -Method 'Wait' -ArgumentList $script:KrWaitSliceMs
                if (Test-KrFailure $poll) { $failure = $poll.ErrorRecord; return }
                foreach ($step in @($poll.events)) {
                    if ($step) {
                        $percent = [Math]::Min(95, $percent + 10)
                        Write-Progress -Activity $activity -Status $step -PercentComplete $percent
                    }
                }
                Write-KrRollNews -Answer $poll -State $news
                if ($poll.done) { break }
                if ($poll.waiting) {
                    Write-Progress -Activity $activity -Status "waiting for the new key to replicate: attempt $($poll.waiting.attempt), $($poll.waiting.seconds) s of at most $VerifyTimeout s" -PercentComplete $percent
                }
            }
        }
        finally {
            $operation.Dispose()
        }
        $result = $poll.report
        if ($result.PSObject.Properties['kind']) {
            $report = $null
            if ($result.PSObject.Properties['report'] -and $result.report) { $report = ConvertTo-KrRollReport -Report $result.report }
            $failure = New-KrRollErrorRecord -ErrorObject $result -Row $Row -Report $report
            return
        }
        Write-KrConnectionSwitch -Report $result
        ConvertTo-KrRollReport -Report $result
    }
    finally {
        Write-Progress -Activity $activity -Completed
        Close-KrIdentityCache -Cache $cache
        if ($failure) { $Caller.WriteError($failure) }
    }
}

function Invoke-KrBulkRoll {
    # Every row as ONE bulk operation in the library (its shared throttle and concurrency), waited on until it
    # ends: a progress bar over the batch, each row's report written as the row ends, a failed row also as an
    # error. Stopped (Ctrl+C, or an error under -ErrorAction Stop), the operation stops starting rows and the
    # rows in flight finish, their journal lines included, before this returns.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Caller,
        [Parameter(Mandatory)] [object] $Connection,
        [Parameter(Mandatory)] [System.Collections.Generic.List[object]] $Rows,
        [Parameter(Mandatory)] [hashtable] $Passwords,
        [Parameter(Mandatory)] [int] $VerifyTimeout,
        [int] $ThrottleLimit,
        [string] $JournalPath,
        [switch] $Resume
    )
    $total = $Rows.Count
    $activity = "Rolling the certificates of $total objects"
    $cache = @{}
    $news = @{ RetrySeconds = 0.0; Retries = 0; Warned = $false }
    $operation = $null
    $finished = $false
    try {
        $plan = New-Object Keyroll.BulkPlan
        for ($i = 0; $i -lt $total; $i++) {
            $row = $Rows[$i]
            Write-Progress -Activity $activity -Status "opening the certificates of row $($i + 1) of $total" -PercentComplete 0
            $pair = Open-KrRowIdentities -Row $row -Connection $Connection -Passwords $Passwords -Cache $cache
            if (Test-KrFailure $pair) {
                # As keyroll roll --plan: a row whose certificate cannot be opened refuses the run before any write.
                $e = $pair.ErrorRecord
                $record = [System.Management.Automation.ErrorRecord]::new(
                    [System.InvalidOperationException]::new("row $($i + 1) ($($row.Subject)): $($e.Exception.Message); nothing was rolled", $e.Exception),
                    $e.FullyQualifiedErrorId, $e.CategoryInfo.Category, $row.Subject)
                if ($e.ErrorDetails) { $record.ErrorDetails = $e.ErrorDetails }
                $Caller.WriteError($record)
                return
            }
            $json = ConvertTo-KrSettingsJson -Settings (Get-KrRollSettings -Row $row -VerifyTimeout $VerifyTimeout)
            [void]$plan.Add($json, $pair.Current, $pair.New)
        }
        if ($JournalPath) {
            $plan.JournalPath = $Caller.SessionState.Path.GetUnresolvedProviderPathFromPSPath($JournalPath)
            $plan.Resume = [bool]$Resume
        }
        Write-Verbose "bulk roll: $total rows, at most $(if ($ThrottleLimit -gt 0) { $ThrottleLimit } else { 'the default of' }) at once$(if ($JournalPath) { ", journal $($plan.JournalPath)$(if ($Resume) { ' (resuming)' })" })"
        $operation = Invoke-KrFacade -On $Connection.Connection -Method 'StartBulk' -ArgumentList $plan, $ThrottleLimit
        if (Test-KrFailure $operation) { $Caller.WriteError($operation.ErrorRecord); $operation = $null; return }
        $poll = $null
        $shownDone = -1
        $shown = [System.Diagnostics.Stopwatch]::StartNew()
        while ($true) {
            $poll = Invoke-KrFacade -AsObject -On $operation -Method 'Wait' -ArgumentList $script:KrWaitSliceMs
            if (Test-KrFailure $poll) { $Caller.WriteError($poll.ErrorRecord); return }
            Write-KrRollNews -Answer $poll -State $news
            foreach ($ended in @($poll.rows)) {
                if (-not $ended) { continue }
                $index = [int]$ended.row
                $row = $Rows[$index]
                Write-KrConnectionSwitch -Report $ended.report
                $report = ConvertTo-KrRollReport -Report $ended.report -Row ($index + 1)
                $report
                if (-not $report.Success -and $report.State -ne 'notStarted') {
                    $message = if ($report.PSObject.Properties['Error'] -and $report.Error) { [string]$report.Error } else { [string]$report.Detail }
                    $code = if (Test-KrRollWrote -Report $report) { 'roll_incomplete' } else { 'roll_failed' }
                    $errorObject = [pscustomobject]@{ kind = 'service'; code = $code; message = $message }
                    $Caller.WriteError((New-KrRollErrorRecord -ErrorObject $errorObject -Row $row -Report $report))
                }
            }
            if ($poll.done) { break }
            # The bar is redrawn when a row ends, else at most every 250 ms (answers come at every step).
            $p = $poll.progress
            if ($p.done -ne $shownDone -or $shown.ElapsedMilliseconds -ge 250) {
                $shownDone = $p.done
                $shown.Restart()
                $status = '{0} of {1} done, {2} failed' -f $p.done, $total, $p.failed
                $percent = [int][Math]::Min(100, 100 * $p.done / [Math]::Max(1, $total))
                if ($p.current) { Write-Progress -Activity $activity -Status $status -CurrentOperation ([string]$p.current) -PercentComplete $percent }
                else { Write-Progress -Activity $activity -Status $status -PercentComplete $percent }
            }
        }
        $finished = $true
        $summary = $poll.report
        if ($summary.PSObject.Properties['kind']) {
            $Caller.WriteError((ConvertTo-KrErrorRecord -ErrorObject $summary -TargetObject $null))
            return
        }
        Write-Verbose ("bulk roll: {0} rows, {1} succeeded, {2} failed, {3} not started" -f $summary.total, $summary.succeeded, $summary.failed, $summary.notStarted)
    }
    finally {
        if ($operation) {
            if (-not $finished) { Stop-KrBulkRoll -Operation $operation -VerifyTimeout $VerifyTimeout }
            $operation.Dispose()
        }
        Write-Progress -Activity $activity -Completed
        Close-KrIdentityCache -Cache $cache
    }
}

function Stop-KrBulkRoll {
    # A bulk run cut short (Ctrl+C, a terminating error): no row starts any more; the rows in flight finish, so that
    # no object is left between its old and new key and the journal records them. Waits for them (at most the verify
    # timeout and a minute) without writing anything: the pipeline may be stopping.
    [CmdletBinding()]
    param([Parameter(Mandatory)] [object] $Operation, [Parameter(Mandatory)] [int] $VerifyTimeout)
    $stopped = [Keyroll.Outcome]::Call($Operation, 'Stop', @())
    if (-not $stopped.Ok) { return }
    $deadline = [DateTime]::UtcNow.AddSeconds($VerifyTimeout + 60)
    while ([DateTime]::UtcNow -lt $deadline) {
        $answer = [Keyroll.Outcome]::Call($Operation, 'Wait', @(1000))
        if (-not $answer.Ok -or (ConvertFrom-Json -InputObject ([string]$answer.Value)).done) { return }
    }
}
