function New-EntraMSApplicationKey {
    <#
    .SYNOPSIS
    Adds a certificate to an application or service principal through Graph addKey.

    .DESCRIPTION
    A drop-in for the documented New-EntraMSApplicationKey: -ObjectId (also -ApplicationId, the name of Microsoft's
    current New-EntraApplicationKey), -KeyCredential, -PasswordCredential and -Proof work as there, and the
    documented example (New-EntraMSApplicationKey @params) runs as written. KeyCredential may be a hashtable, a
    PSCustomObject or any object with Graph's property names (Key, DisplayName, StartDateTime, EndDateTime,
    CustomKeyIdentifier, Type, Usage, in any case), including the Graph SDK's and the older modules' key
    credential objects. A property Graph does not have (a typo, AzureAD's StartDate/EndDate) is refused with the
    right name, never dropped. KeyId must be left out: the service assigns it. Key may be the certificate's DER
    bytes, base64 or PEM text, or an X509Certificate2; the ASCII bytes of base64 text (the key encoded twice) are
    detected, decoded once and reported with a warning. Without Type and Usage the key is AsymmetricX509Cert +
    Verify.

    Authentication: the connection of Connect-EntraKeyRoll, or, without one, the session of Connect-MgGraph /
    Connect-Entra (Microsoft.Graph.Authentication), so scripts that sign in that way keep working.

    -Proof may be omitted when Connect-EntraKeyRoll was given a current certificate of the object: the proof is
    then minted on the spot. The request is checked locally before it is sent; a request that was lost in transit
    is never repeated blindly (the keys are read first), so a retry cannot add the key twice.

    .PARAMETER ObjectId
    The object id of the application (or service principal, see -TargetType), a GUID. Aliases: Id, ApplicationId
    (as in Microsoft's New-EntraApplicationKey and Add-MgApplicationKey, where ApplicationId is the object id).

    .PARAMETER AppId
    The appId (client id) of the application, when its object id is not at hand.

    .PARAMETER TargetType
    Application (default), ServicePrincipal or AgentIdentityBlueprint.

    .PARAMETER KeyCredential
    The new key: an object with Key (the new public certificate) and optionally DisplayName, StartDateTime,
    EndDateTime, CustomKeyIdentifier, Type and Usage (AsymmetricX509Cert + Verify by default, or
    X509CertAndPassword + Sign).

    .PARAMETER PasswordCredential
    For an X509CertAndPassword key: an object whose SecretText (a SecureString or a string) is the key's password;
    it is never written to the verbose stream. addKey takes a passwordCredential only for such keys: one without
    SecretText on another key (the documented @{ DisplayName = 'mypassword' }) is ignored with a warning, one with
    SecretText on another key is refused.

    .PARAMETER Proof
    The proof of possession: a JWT signed with one of the object's current certificates (New-EntraKeyProof).

    .EXAMPLE
    $params = @{
        ObjectId = 'cccccccc-8888-9999-0000-dddddddddddd'
        KeyCredential = @{ key=[System.Convert]::FromBase64String("{base64cert}") }
        PasswordCredential = @{ DisplayName = 'mypassword' }
        Proof = "{token}"
    }
    New-EntraMSApplicationKey @params

    The documented example, as written: {base64cert} is the new certificate in base64, {token} a proof minted
    with a current certificate (New-EntraKeyProof). The PasswordCredential is ignored with a warning (the key is
    AsymmetricX509Cert + Verify, which takes no password).

    .EXAMPLE
    $params = @{
        ObjectId      = '14a3f1ac-46a7-4d00-b1ca-0b2b84f033c2'
        KeyCredential = @{ Key = [System.IO.File]::ReadAllBytes('C:\certs\next.cer'); EndDateTime = (Get-Date).AddDays(180) }
        Proof         = New-EntraKeyProof -CertificatePath C:\certs\current.pfx -CertificatePassword $pw -ObjectId '14a3f1ac-46a7-4d00-b1ca-0b2b84f033c2'
    }
    New-EntraMSApplicationKey @params

    The new certificate's DER bytes, valid in Entra for 180 days, and a proof minted with the current certificate.

    .EXAMPLE
    Connect-EntraKeyRoll -TenantId contoso.onmicrosoft.com -ClientId $appId -CertificatePath .\current.pfx -CertificatePassword $pw
    New-EntraMSApplicationKey -AppId $appId -KeyCredential @{ Key = Get-PfxCertificate .\next.cer } -WhatIf

    Connected as the application with its current certificate: no -Proof needed, addressed by appId; -WhatIf
    shows what would be added.

    .EXAMPLE
    Get-EntraApplication -Filter "displayName eq 'billing'" | New-EntraMSApplicationKey -KeyCredential @{ Key = $newCert } -Proof $proof

    Pipeline input: the Id property binds to -ObjectId.

    .INPUTS
    System.String (the object id), or objects with an Id / ObjectId property.

    .OUTPUTS
    EntraKeyRoll.KeyCredential: the key credential as added, with Graph's property names (KeyId a Guid,
    StartDateTime and EndDateTime DateTime in UTC, Key and CustomKeyIdentifier byte[], DisplayName, Type, Usage)
    and the certificate's Thumbprint.

    .LINK
    New-EntraKeyProof
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', DefaultParameterSetName = 'ObjectId')]
    [OutputType('EntraKeyRoll.KeyCredential')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName, ParameterSetName = 'ObjectId')]
        [Alias('Id', 'ApplicationId')]
        [ValidateScript({ Test-KrObjectId $_ })]
        [string] $ObjectId,

        [Parameter(Mandatory, ParameterSetName = 'AppId')]
        [ValidateNotNullOrEmpty()]
        [string] $AppId,

        [Parameter()]
        [ValidateSet('Application', 'ServicePrincipal', 'AgentIdentityBlueprint')]
        [string] $TargetType = 'Application',

        # [object]: Microsoft's KeyCredential classes cannot be named without their assemblies; hashtables and
        # objects with Graph's property names are taken, and anything else is refused here, at binding.
        [Parameter(Mandatory)]
        [ValidateScript({ Test-KrCredentialObject $_ 'KeyCredential' })]
        [object] $KeyCredential,

        # $null is taken, as Microsoft's examples write it (PasswordCredential = $null): a validation attribute
        # would refuse it, so the shape is checked in the body.
        [Parameter()]
        [AllowNull()]
        [object] $PasswordCredential,

        [Parameter()]
        [string] $Proof
    )
    process {
        $target = Get-KrTarget -ObjectId $ObjectId -AppId $AppId -TargetType $TargetType
        $subject = if ($ObjectId) { $ObjectId } else { "appId $AppId" }
        # Errors travel back as values (New-KrFailure) and are written here, once, with this command's name; their
        # target is the object, never the credential (which may hold key material given by mistake).
        $prepared = ConvertTo-KrAddKeySettings -KeyCredential $KeyCredential -Target $subject
        if (Test-KrFailure $prepared) { $PSCmdlet.WriteError($prepared.ErrorRecord); return }
        if ($null -ne $PasswordCredential -and ($PasswordCredential -is [string] -or $PasswordCredential -is [System.ValueType] -or $PasswordCredential -is [array])) {
            $PSCmdlet.WriteError((Get-KrArgumentError -Message "-PasswordCredential must be a hashtable or an object with Graph's property names (SecretText, for an X509CertAndPassword key), or `$null, not a $($PasswordCredential.GetType().FullName)" -ErrorId 'PasswordCredentialNotAnObject' -TargetObject $subject))
            return
        }
        $secret = Get-KrPasswordSecret -PasswordCredential $PasswordCredential -KeyType $prepared.Type -Target $subject
        if (Test-KrFailure $secret) { $PSCmdlet.WriteError($secret.ErrorRecord); return }
        if (-not $PSCmdlet.ShouldProcess("$TargetType $subject", "Add key credential (certificate $($prepared.Thumbprint))")) { return }
        $connection = Get-KrConnection -Caller $PSCmdlet
        $settings = $prepared.Settings
        $settings.target = $target
        if ($Proof) { $settings.proof = $Proof }
        Write-Verbose "addKey: $TargetType $subject, certificate $($prepared.Thumbprint), proof $(if ($Proof) { 'given' } else { 'minted with the connection certificate' })"
        try {
            # The key's password goes into this call's JSON only (see Use-KrPlainText for what is true of its
            # copies).
            $result = Use-KrPlainText -Secret $secret -ArgumentList $settings, $connection, $subject -Action {
                param($plain, $s, $c, $target)
                $extra = @{}
                if ($plain) { $extra.passwordCredential = [ordered]@{ secretText = $plain } }
                $j = ConvertTo-KrSettingsJson -Settings $s -Secret $extra
                Invoke-KrFacade -AsObject -TargetObject $target -On $c.Connection -Method 'AddKey' -ArgumentList $j, $c.Signer
            }
        }
        finally {
            Close-KrTransientConnection -Connection $connection
        }
        if (Test-KrFailure $result) { $PSCmdlet.WriteError($result.ErrorRecord); return }
        foreach ($retry in @($result.retries)) { Write-Verbose "addKey: $retry" }
        Write-Verbose "addKey: key $($result.keyId) after $($result.attempts) attempt(s)$(if ($result.recovered) { ' (found after an ambiguous failure, not sent twice)' })"
        foreach ($w in @($result.warnings)) { if ($w) { Write-Warning $w } }
        ConvertTo-KrKeyCredentialObject -KeyCredential $result.keyCredential -Thumbprint $result.thumbprint -Certificate $settings.certificate
    }
}
