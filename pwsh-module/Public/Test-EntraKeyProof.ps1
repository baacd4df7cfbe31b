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
            if ($p) { $certs += [Convert]::ToBase64String([System.IO.File]::ReadAllBytes($PSCmdlet.GetUnresolvedProviderPathFromPSPath($p))) }
        }
        $settings = [ordered]@{ certificates = $certs; objectId = $ObjectId; appId = $AppId }
        $json = ConvertTo-KrSettingsJson -Settings $settings
        Write-Verbose "inspecting a proof against $($certs.Count) certificate(s)$(if ($ObjectId) { " for object $ObjectId" })"
        try {
            $report = Invoke-KrFacade -AsObject -TargetObject $ObjectId -ArgumentList $Proof, $json -Call {
                param($p, $j) [Keyroll.Proofs]::Inspect($p, $j)
            }
        }
        catch {
            $PSCmdlet.WriteError($_)
            return
        }
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
