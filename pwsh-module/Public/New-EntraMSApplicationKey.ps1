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

    .PARAMETER BodyParameter
    The whole request as Add-MgApplicationKey takes it: a hashtable or object with keyCredential,
    passwordCredential and proof (any case), e.g. @{ keyCredential = @{ type = 'AsymmetricX509Cert'; usage =
    'Verify'; key = $bytes }; passwordCredential = $null; proof = $token }. Not together with -KeyCredential,
    -PasswordCredential or -Proof.

    .PARAMETER Repair
    Repairs an object that has no valid certificate left, which addKey cannot (its proof must be signed by one):
    the certificate is added by a PATCH of the object's whole keyCredentials collection, every existing key sent
    back by its keyId so that none is lost, and the result read back. Needs a connection holding
    Application.ReadWrite.All (or Application.ReadWrite.OwnedBy as an owner of the object); an application cannot
    repair itself with its own token. No proof is used, so -Proof and -PasswordCredential are refused with it.
    Because it replaces the collection it asks for confirmation as a high-impact change: -WhatIf shows it,
    -Confirm:$false (a runbook) skips the prompt. Run it when no other tool is writing the object's keys.

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

    .EXAMPLE
    $params = @{
        keyCredential = @{ type = 'AsymmetricX509Cert'; usage = 'Verify'; key = [System.IO.File]::ReadAllBytes('C:\certs\next.cer') }
        passwordCredential = $null
        proof = New-EntraKeyProof -CertificatePath C:\certs\current.pfx -CertificatePassword $pw -ObjectId $id
    }
    New-EntraMSApplicationKey -ApplicationId $id -BodyParameter $params

    Add-MgApplicationKey's example, pasted: the request body as one hashtable. (The paths are Windows paths; use
    your own elsewhere.)

    .EXAMPLE
    Connect-EntraKeyRoll -TenantId contoso.onmicrosoft.com -ClientId $adminAppId -CertificatePath .\admin.pfx -CertificatePassword $pw
    New-EntraMSApplicationKey -ObjectId $id -KeyCredential @{ Key = Get-PfxCertificate .\next.cer } -Repair -Confirm:$false

    An application whose every certificate expired: connected as an administrative application holding
    Application.ReadWrite.All, the new certificate is added by PATCH with every existing key kept; -Confirm:$false
    because a runbook cannot answer the prompt.

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
        # objects with Graph's property names are taken, and anything else is refused here, at binding. Not
        # mandatory: -BodyParameter carries it instead (checked in process, with the fix said).
        [Parameter()]
        [ValidateScript({ Test-KrCredentialObject $_ 'KeyCredential' })]
        [object] $KeyCredential,

        # $null is taken, as Microsoft's examples write it (PasswordCredential = $null): a validation attribute
        # would refuse it, so the shape is checked in the body.
        [Parameter()]
        [AllowNull()]
        [object] $PasswordCredential,

        [Parameter()]
        [string] $Proof,

        [Parameter()]
        [ValidateScript({ Test-KrCredentialObject $_ 'BodyParameter' })]
        [object] $BodyParameter,

        [Parameter()]
        [switch] $Repair
    )
    process {
        $target = Get-KrTarget -ObjectId $ObjectId -AppId $AppId -TargetType $TargetType
        $subject = if ($ObjectId) { $ObjectId } else { "appId $AppId" }
        # The request's parts, from the parameters or from -BodyParameter (locals: a parameter variable keeps its
        # validation, so $null could not be assigned to it).
        $kc = $KeyCredential
        $pc = $PasswordCredential
        $pf = $Proof
        if ($PSBoundParameters.ContainsKey('BodyParameter')) {
            $both = @('KeyCredential', 'PasswordCredential', 'Proof') | Where-Object { $PSBoundParameters.ContainsKey($_) }
            if ($both) {
                $PSCmdlet.WriteError((Get-KrArgumentError -Message "-BodyParameter carries the whole request: give keyCredential, passwordCredential and proof inside it, or use -$(@($both)[0]) and the other parameters without -BodyParameter" -ErrorId 'BodyParameterConflict' -TargetObject $subject))
                return
            }
            $unknown = @(Get-KrPropertyName $BodyParameter | Where-Object { @('keyCredential', 'passwordCredential', 'proof') -notcontains $_ })
            if ($unknown.Count) {
                $PSCmdlet.WriteError((Get-KrArgumentError -Message "-BodyParameter has '$($unknown[0])', which addKey does not take: its properties are keyCredential, passwordCredential and proof" -ErrorId 'BodyParameterUnknownProperty' -TargetObject $subject))
                return
            }
            $kc = Get-KrProperty $BodyParameter 'keyCredential'
            $pc = Get-KrProperty $BodyParameter 'passwordCredential'
            $pf = [string](Get-KrProperty $BodyParameter 'proof')
            if ($null -eq $kc -or -not (Test-KrBodyCredential $kc)) {
                $PSCmdlet.WriteError((Get-KrArgumentError -Message "-BodyParameter has no keyCredential: give @{ keyCredential = @{ key = <the new certificate> }; proof = <proof> }" -ErrorId 'BodyParameterNoKeyCredential' -TargetObject $subject))
                return
            }
        }
        elseif ($null -eq $kc) {
            $PSCmdlet.WriteError((Get-KrArgumentError -Message 'give the new key: -KeyCredential @{ Key = <the new public certificate> }, or the whole request as -BodyParameter' -ErrorId 'KeyCredentialMissing' -TargetObject $subject))
            return
        }
        if ($Repair) {
            if ($pf -or $null -ne (Get-KrProperty $pc 'SecretText')) {
                $PSCmdlet.WriteError((Get-KrArgumentError -Message '-Repair adds the key by PATCH, authorized by the connection''s Application.ReadWrite.All, with no proof: leave out -Proof and -PasswordCredential' -ErrorId 'RepairWithProof' -TargetObject $subject))
                return
            }
            # A repair replaces the collection: confirmed as a ConfirmImpact High change would be (prompted unless
            # -Confirm:$false or $ConfirmPreference = 'None'), while addKey stays Medium.
            if ($ConfirmPreference -eq 'High') { $ConfirmPreference = 'Medium' }
            $prepared = ConvertTo-KrAddKeySettings -KeyCredential $kc -Target $subject
            if (Test-KrFailure $prepared) { $PSCmdlet.WriteError($prepared.ErrorRecord); return }
            if (-not $PSCmdlet.ShouldProcess("$TargetType $subject", "Repair by PATCH: replace the whole keyCredentials collection, adding certificate $($prepared.Thumbprint) and sending every existing key back (needs Application.ReadWrite.All)")) { return }
            $connection = Get-KrConnection -Caller $PSCmdlet
            $settings = $prepared.Settings
            $settings.target = $target
            Write-Verbose "repair: $TargetType $subject, certificate $($prepared.Thumbprint), PATCH of keyCredentials"
            try {
                $j = ConvertTo-KrSettingsJson -Settings $settings
                $result = Invoke-KrFacade -AsObject -TargetObject $subject -On $connection.Connection -Method 'RepairKey' -ArgumentList $j
            }
            finally {
                Close-KrTransientConnection -Connection $connection
            }
            if (Test-KrFailure $result) { $PSCmdlet.WriteError($result.ErrorRecord); return }
            foreach ($retry in @($result.retries)) { Write-Verbose "repair: $retry" }
            Write-Verbose "repair: key $($result.keyId) added, $($result.keysBefore) existing key(s) kept, $($result.keysAfter) now"
            foreach ($w in @($result.warnings)) { if ($w -and $prepared.Warned -notcontains $w) { Write-Warning $w } }
            ConvertTo-KrKeyCredentialObject -KeyCredential $result.keyCredential -Thumbprint $result.thumbprint -Certificate $settings.certificate
            return
        }
        # Errors travel back as values (New-KrFailure) and are written here, once, with this command's name; their
        # target is the object, never the credential (which may hold key material given by mistake).
        $prepared = ConvertTo-KrAddKeySettings -KeyCredential $kc -Target $subject
        if (Test-KrFailure $prepared) { $PSCmdlet.WriteError($prepared.ErrorRecord); return }
        if ($null -ne $pc -and ($pc -is [string] -or $pc -is [System.ValueType] -or $pc -is [array])) {
            $PSCmdlet.WriteError((Get-KrArgumentError -Message "-PasswordCredential must be a hashtable or an object with Graph's property names (SecretText, for an X509CertAndPassword key), or `$null, not a $($pc.GetType().FullName)" -ErrorId 'PasswordCredentialNotAnObject' -TargetObject $subject))
            return
        }
        $secret = Get-KrPasswordSecret -PasswordCredential $pc -KeyType $prepared.Type -Target $subject
        if (Test-KrFailure $secret) { $PSCmdlet.WriteError($secret.ErrorRecord); return }
        if (-not $PSCmdlet.ShouldProcess("$TargetType $subject", "Add key credential (certificate $($prepared.Thumbprint))")) { return }
        $connection = Get-KrConnection -Caller $PSCmdlet
        $settings = $prepared.Settings
        $settings.target = $target
        if ($pf) { $settings.proof = $pf }
        Write-Verbose "addKey: $TargetType $subject, certificate $($prepared.Thumbprint), proof $(if ($pf) { 'given' } else { 'minted with the connection certificate' })"
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
        foreach ($w in @($result.warnings)) { if ($w -and $prepared.Warned -notcontains $w) { Write-Warning $w } }
        ConvertTo-KrKeyCredentialObject -KeyCredential $result.keyCredential -Thumbprint $result.thumbprint -Certificate $settings.certificate
    }
}
