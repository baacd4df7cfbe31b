function New-EntraMSApplicationKey {
    <#
    .SYNOPSIS
    Adds a certificate to an application or service principal through Graph addKey.

    .DESCRIPTION
    A drop-in for the documented New-EntraMSApplicationKey: -ObjectId, -KeyCredential, -PasswordCredential and
    -Proof work as there, so existing scripts run unchanged. KeyCredential may be a hashtable, a PSCustomObject or
    any object with the documented property names (Key, DisplayName, StartDateTime, EndDateTime,
    CustomKeyIdentifier, Type, Usage), including Microsoft.Open.MSGraph.Model.KeyCredential objects. Key may be
    the certificate's DER bytes, base64 or PEM text, or an X509Certificate2; the ASCII bytes of base64 text
    (the key encoded twice) are detected, decoded once and reported with a warning.

    -Proof may be omitted when Connect-EntraKeyRoll was given a current certificate of the object: the proof is
    then minted on the spot. The request is checked locally before it is sent; a request that was lost in transit
    is never repeated blindly (the keys are read first), so a retry cannot add the key twice.

    .PARAMETER ObjectId
    The object id of the application (or service principal, see -TargetType). Aliases: Id, ApplicationId.

    .PARAMETER AppId
    The appId (client id) of the application, when its object id is not at hand.

    .PARAMETER TargetType
    Application (default), ServicePrincipal or AgentIdentityBlueprint.

    .PARAMETER KeyCredential
    The new key: an object with Key (the new public certificate) and optionally DisplayName, StartDateTime,
    EndDateTime, CustomKeyIdentifier, Type and Usage (AsymmetricX509Cert + Verify by default, or
    X509CertAndPassword + Sign).

    .PARAMETER PasswordCredential
    For an X509CertAndPassword key only: an object whose SecretText (a SecureString or a string) is the key's
    password. It is turned into text only for the call and never written to the verbose stream.

    .PARAMETER Proof
    The proof of possession: a JWT signed with one of the object's current certificates (New-EntraKeyProof).

    .EXAMPLE
    $params = @{
        ObjectId      = '14a3f1ac-46a7-4d00-b1ca-0b2b84f033c2'
        KeyCredential = @{ Key = [System.IO.File]::ReadAllBytes('C:\certs\next.cer'); Type = 'AsymmetricX509Cert'; Usage = 'Verify' }
        Proof         = New-EntraKeyProof -CertificatePath C:\certs\current.pfx -CertificatePassword $pw -ObjectId '14a3f1ac-46a7-4d00-b1ca-0b2b84f033c2'
    }
    New-EntraMSApplicationKey @params

    The documented syntax: the new certificate's DER bytes and a proof minted with the current certificate.

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
    Microsoft.Open.MSGraph.Model.KeyCredential: the key credential as added, with its KeyId and Thumbprint.

    .NOTES
    A PasswordCredential is only accepted with an X509CertAndPassword key; with any other key the library
    refuses the request, as the service would.

    .LINK
    New-EntraKeyProof
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', DefaultParameterSetName = 'ObjectId')]
    [OutputType('Microsoft.Open.MSGraph.Model.KeyCredential')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName, ParameterSetName = 'ObjectId')]
        [Alias('Id', 'ApplicationId')]
        [ValidateNotNullOrEmpty()]
        [string] $ObjectId,

        [Parameter(Mandatory, ParameterSetName = 'AppId')]
        [ValidateNotNullOrEmpty()]
        [string] $AppId,

        [Parameter()]
        [ValidateSet('Application', 'ServicePrincipal', 'AgentIdentityBlueprint')]
        [string] $TargetType = 'Application',

        [Parameter(Mandatory)]
        [ValidateNotNull()]
        [object] $KeyCredential,

        [Parameter()]
        [object] $PasswordCredential,

        [Parameter()]
        [string] $Proof
    )
    process {
        $target = Get-KrTarget -ObjectId $ObjectId -AppId $AppId -TargetType $TargetType
        $subject = if ($ObjectId) { $ObjectId } else { "appId $AppId" }
        try {
            $prepared = ConvertTo-KrAddKeySettings -KeyCredential $KeyCredential
        }
        catch {
            $PSCmdlet.WriteError($_)
            return
        }
        if (-not $PSCmdlet.ShouldProcess("$TargetType $subject", "Add key credential (certificate $($prepared.Thumbprint))")) { return }
        $connection = Get-KrConnection -Caller $PSCmdlet
        $settings = $prepared.Settings
        $settings.target = $target
        if ($Proof) { $settings.proof = $Proof }
        Write-Verbose "addKey: $TargetType $subject, certificate $($prepared.Thumbprint), proof $(if ($Proof) { 'given' } else { 'minted with the connection certificate' })"
        # The key's password (X509CertAndPassword keys) as a string or SecureString SecretText: turned into text
        # only for the call, never written to a variable that outlives it or to the verbose stream.
        $secret = if ($null -ne $PasswordCredential) { Get-KrProperty $PasswordCredential 'SecretText' } else { $null }
        $secure = if ($secret -is [System.Security.SecureString]) { $secret }
        elseif ($secret) { ConvertTo-SecureString -String ([string]$secret) -AsPlainText -Force }
        else { $null }
        if ($null -ne $PasswordCredential -and $null -eq $secure) {
            $PSCmdlet.WriteError((New-KrArgumentError -Message 'the PasswordCredential has no SecretText: give the key''s password as SecretText' -ErrorId 'PasswordCredentialWithoutSecret' -TargetObject $subject))
            return
        }
        try {
            $result = Use-KrPlainText -SecureString $secure -Action {
                param($plain)
                if ($plain) { $settings.passwordCredential = [ordered]@{ secretText = $plain } }
                try {
                    $json = ConvertTo-KrSettingsJson -Settings $settings
                    Invoke-KrFacade -Json -TargetObject $subject -Call { $connection.Connection.AddKey($json, $connection.Signer) }
                }
                finally { $settings.Remove('passwordCredential'); $json = $null }
            }
        }
        catch {
            $PSCmdlet.WriteError($_)
            return
        }
        Write-Verbose "addKey: key $($result.keyId) after $($result.attempts) attempt(s)$(if ($result.recovered) { ' (found after an ambiguous failure, not sent twice)' })"
        foreach ($w in @($result.warnings)) { if ($w) { Write-Warning $w } }
        ConvertTo-KrKeyCredentialObject -KeyCredential $result.keyCredential -Thumbprint $result.thumbprint
    }
}
