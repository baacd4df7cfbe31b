function Invoke-EntraKeyRollover {
    <#
    .SYNOPSIS
    Rolls an application from its current certificate to a new one without locking it out.

    .DESCRIPTION
    Runs keyroll's roll workflow: adds the new certificate (proof minted with the current one), waits until a
    token can be obtained with the new certificate (replication takes a while), and with -RemoveOld removes the
    old key, only once the new one works and only if a currently valid certificate remains. The roll runs in
    the background in the library while this function polls it every 250 ms, so progress is shown live: each
    step as it happens, and the attempts and seconds while the new key replicates. A roll that does not
    complete is an error whose exception carries the report of what the object holds now (in its Data, under
    Report). Stopping the function (Ctrl+C) stops the polling, not the roll: a roll cut short could leave the
    object between its old and new key, so the library finishes it (at most -VerifyTimeout) unobserved.

    .PARAMETER ObjectId
    The object id. Aliases: Id, ApplicationId.

    .PARAMETER AppId
    The appId (client id) of the application.

    .PARAMETER TargetType
    Application (default), ServicePrincipal or AgentIdentityBlueprint.

    .PARAMETER Certificate
    The current certificate, with its private key.

    .PARAMETER CertificatePath
    The current certificate as a PFX or PEM file with its private key.

    .PARAMETER CertificatePassword
    The password of -CertificatePath.

    .PARAMETER NewCertificate
    The new certificate, with its private key (needed to verify that it works).

    .PARAMETER NewCertificatePath
    The new certificate as a PFX or PEM file with its private key.

    .PARAMETER NewCertificatePassword
    The password of -NewCertificatePath.

    .PARAMETER RemoveOld
    Remove the old key once the new one is verified. ShouldProcess asks for this step apart from the roll:
    -WhatIf lists both, -Confirm asks for each, and a declined removal leaves the old key in place.

    .PARAMETER DisplayName
    Display name of the new key.

    .PARAMETER TenantId
    The tenant in which to verify the new certificate (default: the connection's).

    .PARAMETER ClientId
    The client id to verify with (default: the application's appId).

    .PARAMETER VerifyTimeout
    How long to wait for the new key to become usable, in seconds (default 300).

    .EXAMPLE
    Connect-EntraKeyRoll -TenantId $tenant -ClientId $appId -CertificatePath .\current.pfx -CertificatePassword $pw
    Invoke-EntraKeyRollover -AppId $appId -CertificatePath .\current.pfx -CertificatePassword $pw -NewCertificatePath .\next.pfx -NewCertificatePassword $pw -RemoveOld

    .EXAMPLE
    Invoke-EntraKeyRollover -ObjectId $objectId -Certificate $current -NewCertificate $next -WhatIf

    .OUTPUTS
    EntraKeyRoll.RollReport
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', DefaultParameterSetName = 'ObjectId')]
    [OutputType('EntraKeyRoll.RollReport')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName, ParameterSetName = 'ObjectId')]
        [Alias('Id', 'ApplicationId')]
        [ValidateNotNullOrEmpty()]
        [string] $ObjectId,

        [Parameter(Mandatory, ParameterSetName = 'AppId')]
        [ValidateNotNullOrEmpty()]
        [string] $AppId,

        [Parameter()]
        [ValidateSet('Application', 'ServicePrincipal', 'AgentIdentityBlueprint')]
        [string] $TargetType = 'Application',

        [Parameter()]
        [System.Security.Cryptography.X509Certificates.X509Certificate2] $Certificate,

        [Parameter()]
        [string] $CertificatePath,

        [Parameter()]
        [System.Security.SecureString] $CertificatePassword,

        [Parameter()]
        [System.Security.Cryptography.X509Certificates.X509Certificate2] $NewCertificate,

        [Parameter()]
        [string] $NewCertificatePath,

        [Parameter()]
        [System.Security.SecureString] $NewCertificatePassword,

        [Parameter()]
        [switch] $RemoveOld,

        [Parameter()]
        [string] $DisplayName,

        [Parameter()]
        [string] $TenantId,

        [Parameter()]
        [string] $ClientId,

        [Parameter()]
        [ValidateRange(1, 86400)]
        [int] $VerifyTimeout = 300
    )
    process {
        $subject = if ($ObjectId) { $ObjectId } else { "appId $AppId" }
        if ([bool]$Certificate -eq [bool]$CertificatePath -or [bool]$NewCertificate -eq [bool]$NewCertificatePath) {
            $PSCmdlet.WriteError((Get-KrArgumentError -Message 'give the current certificate as -Certificate or -CertificatePath, and the new one as -NewCertificate or -NewCertificatePath (one of each)' -ErrorId 'RolloverCertificates' -TargetObject $subject))
            return
        }
        # The removal is its own decision: -WhatIf shows both steps, -Confirm asks for each; a declined removal
        # leaves the old key in place while the roll adds and verifies the new one.
        $roll = $PSCmdlet.ShouldProcess("$TargetType $subject", 'Add the new certificate and verify that it works')
        # (Not $removeOld: PowerShell names are case-insensitive, and that is the [switch] parameter.)
        $removeStep = [bool]$RemoveOld
        if ($removeStep -and ($roll -or $WhatIfPreference)) {
            $removeStep = $PSCmdlet.ShouldProcess("$TargetType $subject", 'Remove the old certificate once the new one works')
            if (-not $removeStep -and $roll) { Write-Verbose 'roll: the old key stays (its removal was declined)' }
        }
        if (-not $roll) { return }
        $connection = Get-KrConnection -Caller $PSCmdlet
        $current = $null; $new = $null
        $activity = "Rolling the certificate of $TargetType $subject"
        # Failures travel as values (New-KrFailure) and are written once, below, with this command's name.
        $failure = $null
        try {
            Write-Progress -Activity $activity -Status 'opening the certificates' -PercentComplete 5
            $current = if ($Certificate) { Open-KrIdentity -Certificate $Certificate } else { Open-KrIdentity -Path $CertificatePath -Password $CertificatePassword }
            if (Test-KrFailure $current) { $failure = $current.ErrorRecord; $current = $null; return }
            $new = if ($NewCertificate) { Open-KrIdentity -Certificate $NewCertificate } else { Open-KrIdentity -Path $NewCertificatePath -Password $NewCertificatePassword }
            if (Test-KrFailure $new) { $failure = $new.ErrorRecord; $new = $null; return }
            foreach ($id in $current, $new) {
                if ($id -isnot [System.IDisposable]) {
                    $failure = Get-KrArgumentError -Message 'the roll signs inside the library: the certificates must have exportable private keys (or be given as files)' -ErrorId 'RolloverKeyNotExportable' -TargetObject $subject
                    return
                }
            }
            $settings = [ordered]@{
                target            = Get-KrTarget -ObjectId $ObjectId -AppId $AppId -TargetType $TargetType
                displayName       = $DisplayName
                removeOld         = $removeStep
                tenantId          = $TenantId
                clientId          = $ClientId
                verifyTimeoutSecs = $VerifyTimeout
            }
            $json = ConvertTo-KrSettingsJson -Settings $settings
            Write-Progress -Activity $activity -Status 'adding the new key, verifying it, removing the old one' -PercentComplete 20
            Write-Verbose "roll: $TargetType $subject, removeOld $removeStep, verify timeout $VerifyTimeout s"
            # The library runs the roll; this runspace polls it (nothing calls back into PowerShell).
            $operation = Invoke-KrFacade -TargetObject $subject -On $connection.Connection -Method 'StartRoll' -ArgumentList $json, $current, $new
            if (Test-KrFailure $operation) { $failure = $operation.ErrorRecord; return }
            $percent = 20
            $poll = $null
            try {
                while ($true) {
                    $poll = Invoke-KrFacade -AsObject -TargetObject $subject -On $operation -Method 'Poll'
                    if (Test-KrFailure $poll) { $failure = $poll.ErrorRecord; return }
                    foreach ($step in @($poll.events)) {
                        $percent = [Math]::Min(95, $percent + 10)
                        Write-Progress -Activity $activity -Status $step -PercentComplete $percent
                        Write-Verbose "roll step $step"
                    }
                    if ($poll.done) { break }
                    if ($poll.waiting) {
                        Write-Progress -Activity $activity -Status "waiting for the new key to replicate: attempt $($poll.waiting.attempt), $($poll.waiting.seconds) s of at most $VerifyTimeout s" -PercentComplete $percent
                    }
                    Start-Sleep -Milliseconds 250
                }
            }
            finally {
                $operation.Dispose()
            }
            $report = $poll.report
            if ($report.PSObject.Properties['kind']) {
                $failure = ConvertTo-KrErrorRecord -ErrorObject $report -TargetObject $subject
                return
            }
            $report.PSObject.TypeNames.Insert(0, 'EntraKeyRoll.RollReport')
            $report
        }
        finally {
            Write-Progress -Activity $activity -Completed
            Close-KrIdentity -Identity $current
            Close-KrIdentity -Identity $new
            Close-KrTransientConnection -Connection $connection
            if ($failure) { $PSCmdlet.WriteError($failure) }
        }
    }
}
