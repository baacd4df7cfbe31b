function New-EntraKeyProof {
    <#
    .SYNOPSIS
    Mints the proof of possession that Graph addKey and removeKey require.

    .DESCRIPTION
    Signs a short-lived JWT (RS256, x5t, aud 00000002-0000-0000-c000-000000000000, iss = the object id) with one
    of the object's current certificates. The certificate comes as an X509Certificate2 (-Certificate), a PFX or
    PEM file (-CertificatePath, with -CertificatePassword as a SecureString), or a thumbprint in the Windows
    certificate store (-CertificateThumbprint). A certificate object's key (and a store certificate's) signs through
    its own key object and is never exported, so a store key marked non-exportable or a smart card works; the
    library builds the proof and verifies the signature against the certificate.

    .PARAMETER Certificate
    A certificate with its private key.

    .PARAMETER CertificatePath
    A PFX (.pfx/.p12) or PEM file holding the certificate and its private key.

    .PARAMETER CertificatePassword
    The password of -CertificatePath, as a SecureString.

    .PARAMETER CertificateThumbprint
    The SHA-1 thumbprint of a certificate in Cert:\CurrentUser\My or Cert:\LocalMachine\My (Windows).

    .PARAMETER ObjectId
    The object id of the application or service principal the proof is for (not the appId).

    .PARAMETER Lifetime
    The proof's lifetime in seconds, 1 to 600 (0 or omitted: 600, the most the service accepts).

    .EXAMPLE
    $pw = Read-Host -AsSecureString 'PFX password'
    $proof = New-EntraKeyProof -CertificatePath .\current.pfx -CertificatePassword $pw -ObjectId $objectId

    .EXAMPLE
    New-EntraKeyProof -CertificateThumbprint 52A3F1AC46A74D00B1CA0B2B84F033C2A1B2C3D4 -ObjectId $objectId -Lifetime 300

    Windows: signs with a certificate from the Windows certificate store, even when its key is not exportable. (On
    Linux and macOS the thumbprint is looked up in .NET's CurrentUser\My store of the user's profile, which holds
    only what was added to it; give a PFX with -CertificatePath there.)

    .EXAMPLE
    Get-Item Cert:\CurrentUser\My\52A3F1AC46A74D00B1CA0B2B84F033C2A1B2C3D4 | ForEach-Object { New-EntraKeyProof -Certificate $_ -ObjectId $objectId }

    Windows only: the Cert:\ drive exists on Windows. Elsewhere, give any X509Certificate2 with its private key as
    -Certificate, or the PFX file with -CertificatePath.

    .OUTPUTS
    System.String: the proof (a JWT).
    #>
    [CmdletBinding(DefaultParameterSetName = 'Certificate')]
    [OutputType([string])]
    param(
        [Parameter(Mandatory, ParameterSetName = 'Certificate')]
        [ValidateNotNull()]
        [System.Security.Cryptography.X509Certificates.X509Certificate2] $Certificate,

        [Parameter(Mandatory, ParameterSetName = 'Path')]
        [ValidateNotNullOrEmpty()]
        [string] $CertificatePath,

        [Parameter(ParameterSetName = 'Path')]
        [System.Security.SecureString] $CertificatePassword,

        [Parameter(Mandatory, ParameterSetName = 'Thumbprint')]
        [ValidateNotNullOrEmpty()]
        [string] $CertificateThumbprint,

        [Parameter(Mandatory, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('Id')]
        [ValidateScript({ Test-KrObjectId $_ })]
        [string] $ObjectId,

        [Parameter()]
        [ValidateRange(0, 600)]
        [int] $Lifetime = 0
    )
    process {
        # The signing identity is opened and closed for each object, in a finally: a pipeline stopped early
        # (Select-Object -First 1, Ctrl+C) runs no end block, and the key must not stay open in the library.
        Write-Verbose "minting a proof for object $ObjectId$(if ($Lifetime) { ", lifetime $Lifetime s" })"
        $identity = $null
        try {
            $identity = switch ($PSCmdlet.ParameterSetName) {
                'Certificate' { Open-KrIdentity -Certificate $Certificate }
                'Path' { Open-KrIdentity -Path $CertificatePath -Password $CertificatePassword }
                'Thumbprint' { Open-KrIdentity -Thumbprint $CertificateThumbprint -ParameterName 'CertificateThumbprint' }
            }
            if (Test-KrFailure $identity) { $PSCmdlet.WriteError($identity.ErrorRecord); return }
            $proof = Get-KrProof -Identity $identity -ObjectId $ObjectId -Lifetime $Lifetime
            if (Test-KrFailure $proof) { $PSCmdlet.WriteError($proof.ErrorRecord); return }
            $proof
        }
        finally {
            Close-KrIdentity -Identity $identity
        }
    }
}
