function Get-KrProperty {
    # A property of a hashtable, PSCustomObject or any object (e.g. Microsoft.Open.MSGraph.Model.KeyCredential),
    # by name, case-insensitively; $null when absent.
    [CmdletBinding()]
    param([AllowNull()] [object] $InputObject, [Parameter(Mandatory)] [string] $Name)
    if ($null -eq $InputObject) { return $null }
    if ($InputObject -is [System.Collections.IDictionary]) {
        foreach ($k in $InputObject.Keys) { if ([string]$k -eq $Name) { return $InputObject[$k] } }
        return $null
    }
    $p = $InputObject.PSObject.Properties[$Name]
    if ($p) { $p.Value } else { $null }
}

function ConvertTo-KrDateText {
    [CmdletBinding()]
    [OutputType([string])]
    param([AllowNull()] [object] $Value)
    if ($null -eq $Value -or ($Value -is [string] -and -not $Value)) { return $null }
    if ($Value -is [datetime]) { return $Value.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [cultureinfo]::InvariantCulture) }
    if ($Value -is [datetimeoffset]) { return $Value.UtcDateTime.ToString('yyyy-MM-ddTHH:mm:ssZ', [cultureinfo]::InvariantCulture) }
    [string]$Value
}

function ConvertTo-KrAddKeySettings {
    # The library's addKey settings from a keyCredential as users write it: a hashtable, a PSCustomObject or any
    # object with the documented property names. Key may be DER bytes, base64 or PEM text, or an
    # X509Certificate2. The library validates everything; this function only renames and converts.
    [CmdletBinding()]
    [OutputType([System.Collections.IDictionary])]
    param([Parameter(Mandatory)] [object] $KeyCredential)
    $key = Get-KrProperty $KeyCredential 'Key'
    if ($null -eq $key) {
        throw (New-KrArgumentError -Message 'the KeyCredential has no Key: give the new public certificate as DER bytes, base64 text or an X509Certificate2' -ErrorId 'KeyCredentialWithoutKey' -TargetObject $KeyCredential)
    }
    $bytes = if ($key -is [System.Security.Cryptography.X509Certificates.X509Certificate]) { $key.GetRawCertData() }
    elseif ($key -is [byte[]]) { $key }
    elseif ($key -is [string]) { [System.Text.Encoding]::ASCII.GetBytes($key) }
    else {
        throw (New-KrArgumentError -Message "the KeyCredential's Key is a $($key.GetType().FullName): give DER bytes, base64 text or an X509Certificate2" -ErrorId 'KeyCredentialKeyType' -TargetObject $KeyCredential)
    }
    $choices = [ordered]@{
        displayName         = [string](Get-KrProperty $KeyCredential 'DisplayName')
        startDateTime       = ConvertTo-KrDateText (Get-KrProperty $KeyCredential 'StartDateTime')
        endDateTime         = ConvertTo-KrDateText (Get-KrProperty $KeyCredential 'EndDateTime')
        customKeyIdentifier = $null
        type                = [string](Get-KrProperty $KeyCredential 'Type')
        usage               = [string](Get-KrProperty $KeyCredential 'Usage')
    }
    $cki = Get-KrProperty $KeyCredential 'CustomKeyIdentifier'
    if ($cki -is [byte[]]) { $choices.customKeyIdentifier = [Convert]::ToBase64String($cki) } elseif ($cki) { $choices.customKeyIdentifier = [string]$cki }
    $json = ConvertTo-KrSettingsJson -Settings $choices
    $built = Invoke-KrFacade -Json -TargetObject $KeyCredential -Call { [Keyroll.Proofs]::KeyCredential($bytes, $json) }
    if ($built.base64Text -and $key -is [byte[]]) {
        # The library found base64 text where DER bytes belong: the key encoded twice, which Graph would refuse.
        Write-Warning "KeyCredential.Key held the ASCII bytes of base64 text instead of the certificate's DER bytes (double encoding); it was decoded once and certificate $($built.thumbprint) is used"
    }
    if ($built.notice) { Write-Warning $built.notice }
    foreach ($w in @($built.warnings)) { if ($w) { Write-Warning $w } }
    $settings = $choices
    $settings.certificate = [string]$built.keyCredential.key
    [pscustomobject]@{ Settings = $settings; Thumbprint = [string]$built.thumbprint }
}

function ConvertTo-KrKeyCredentialObject {
    # A Graph keyCredential as the object the official modules return: the documented property names and the
    # type name Microsoft.Open.MSGraph.Model.KeyCredential.
    [CmdletBinding()]
    param([Parameter(Mandatory)] [object] $KeyCredential, [string] $Thumbprint)
    $key = $KeyCredential.key
    [pscustomobject]@{
        PSTypeName          = 'Microsoft.Open.MSGraph.Model.KeyCredential'
        CustomKeyIdentifier = if ($KeyCredential.customKeyIdentifier) { [Convert]::FromBase64String($KeyCredential.customKeyIdentifier) } else { $null }
        DisplayName         = $KeyCredential.displayName
        EndDateTime         = if ($KeyCredential.endDateTime) { [datetime]::Parse($KeyCredential.endDateTime, [cultureinfo]::InvariantCulture, 'AdjustToUniversal') } else { $null }
        Key                 = if ($key) { [Convert]::FromBase64String($key) } else { $null }
        KeyId               = $KeyCredential.keyId
        StartDateTime       = if ($KeyCredential.startDateTime) { [datetime]::Parse($KeyCredential.startDateTime, [cultureinfo]::InvariantCulture, 'AdjustToUniversal') } else { $null }
        Type                = $KeyCredential.type
        Usage               = $KeyCredential.usage
        Thumbprint          = $Thumbprint
    }
}
