function Test-EntraKeyProof {
    <#
    .SYNOPSIS
    Tells whether Graph would accept a proof, and every reason it would not.

    .DESCRIPTION
    Inspects a proof of possession locally with the same rules the service applies (signature, x5t, audience,
    issuer = object id and not appId, lifetime, nbf/exp, algorithm) and returns one finding per problem. Graph
    itself answers every one of these mistakes with the same bare 401 Authentication_MissingOrMalformed.

    .PARAMETER Proof
    The proof (JWT).

    .PARAMETER ObjectId
    The object id the proof must be for.

    .PARAMETER AppId
    The application's appId, to recognise it used as iss by mistake.

    .PARAMETER Certificate
    Certificates that may have signed it (public certificates suffice).

    .PARAMETER CertificatePath
    Files holding such certificates (.cer, .pem, .crt).

    .PARAMETER Quiet
    Return only $true (accepted) or $false.

    .EXAMPLE
    Test-EntraKeyProof -Proof $proof -ObjectId $objectId -CertificatePath .\current.cer

    Lists the findings: Severity, Code, Message.

    .EXAMPLE
    if (-not (Test-EntraKeyProof -Proof $proof -ObjectId $objectId -Certificate $cert -Quiet)) { throw 'proof would be rejected' }

    .OUTPUTS
    EntraKeyRoll.ProofFinding, or System.Boolean with -Quiet.
    #>
    [CmdletBinding(DefaultParameterSetName = 'Certificate')]
    [OutputType('EntraKeyRoll.ProofFinding', [bool])]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline)]
        [ValidateNotNullOrEmpty()]
        [string] $Proof,

        [Parameter()]
        [Alias('Id')]
        [string] $ObjectId,

        [Parameter()]
        [string] $AppId,

        [Parameter(ParameterSetName = 'Certificate')]
        [System.Security.Cryptography.X509Certificates.X509Certificate2[]] $Certificate,

        [Parameter(Mandatory, ParameterSetName = 'Path')]
        [string[]] $CertificatePath,

        [Parameter()]
        [switch] $Quiet
    )
    process {
        $certs = @()
        foreach ($c in @($Certificate)) { if ($c) { $certs += [Convert]::ToBase64String($c.RawData) } }
        foreach ($p in @($CertificatePath)) {
            if (-not $p) { continue }
            $full = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($p)
            $read = [Keyroll.Outcome]::Call([System.IO.File], 'ReadAllBytes', @($full))
            if (-not $read.Ok) {
                $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new(
                        [System.IO.FileNotFoundException]::new("-CertificatePath $($full): $($read.Error.Message) Give the path of the certificate (.cer, .pem or .pfx) the proof should be signed with.", $full),
                        'CertificateFileUnreadable', [System.Management.Automation.ErrorCategory]::ObjectNotFound, $full))
                return
            }
            $certs += [Convert]::ToBase64String([byte[]]$read.Value)
        }
        $settings = [ordered]@{ certificates = $certs; objectId = $ObjectId; appId = $AppId }
        $json = ConvertTo-KrSettingsJson -Settings $settings
        Write-Verbose "inspecting a proof against $($certs.Count) certificate(s)$(if ($ObjectId) { " for object $ObjectId" })"
        $report = Invoke-KrFacade -AsObject -TargetObject $ObjectId -On ([Keyroll.Proofs]) -Method 'Inspect' -ArgumentList $Proof, $json
        if (Test-KrFailure $report) { $PSCmdlet.WriteError($report.ErrorRecord); return }
        if ($Quiet) { return [bool]$report.accepted }
        foreach ($f in @($report.findings)) {
            [pscustomobject]@{
                PSTypeName = 'EntraKeyRoll.ProofFinding'
                Severity   = $f.severity
                Code       = $f.code
                Message    = $f.message
                Accepted   = [bool]$report.accepted
            }
        }
        if (@($report.findings).Count -eq 0) {
            [pscustomobject]@{ PSTypeName = 'EntraKeyRoll.ProofFinding'; Severity = 'ok'; Code = 'accepted'; Message = "the proof would be accepted (signed by $($report.signer_thumbprint))"; Accepted = [bool]$report.accepted }
        }
    }
}
