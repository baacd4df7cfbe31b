# The -KeyCredential and -PasswordCredential objects as users write them (hashtables, PSCustomObjects, or the
# Graph SDK's and the older modules' typed objects), turned into the library's addKey settings; and the added
# key credential turned back into an object with Graph's property names.

# Graph's property names (microsoft.graph.keyCredential / passwordCredential), which PowerShell users write in any
# case. KeyId is listed so that it can be refused with its reason (the service assigns it).
$script:KrKeyCredentialProperties = @('Key', 'DisplayName', 'StartDateTime', 'EndDateTime', 'CustomKeyIdentifier', 'Type', 'Usage', 'KeyId')
$script:KrPasswordCredentialProperties = @('SecretText', 'DisplayName', 'StartDateTime', 'EndDateTime', 'CustomKeyIdentifier', 'Hint', 'KeyId')
# Names from other modules and common slips, with Graph's name for the same thing: AzureAD's
# New-AzureADApplicationKeyCredential (-Value, -StartDate, -EndDate), Az's -CertValue, Graph's camelCase typos.
$script:KrPropertyAliases = @{
    'StartDate' = 'StartDateTime'; 'EndDate' = 'EndDateTime'; 'Start' = 'StartDateTime'; 'End' = 'EndDateTime'
    'NotBefore' = 'StartDateTime'; 'NotAfter' = 'EndDateTime'; 'Expires' = 'EndDateTime'; 'ExpiryDate' = 'EndDateTime'
    'Value' = 'Key'; 'CertValue' = 'Key'; 'Certificate' = 'Key'; 'RawData' = 'Key'
    'Name' = 'DisplayName'; 'Secret' = 'SecretText'; 'Password' = 'SecretText'; 'Id' = 'KeyId'
}

function Get-KrProperty {
    # A property of a hashtable, PSCustomObject or any object, by name, case-insensitively; $null when absent.
    [CmdletBinding()]
    param([AllowNull()] [object] $InputObject, [Parameter(Mandatory)] [string] $Name)
    if ($null -eq $InputObject) { return $null }
    $value = $null
    if ($InputObject -is [System.Collections.IDictionary]) {
        foreach ($k in $InputObject.Keys) { if ([string]$k -eq $Name) { $value = $InputObject[$k]; break } }
    }
    else {
        $p = $InputObject.PSObject.Properties[$Name]
        if ($p) { $value = $p.Value }
    }
    # An array (e.g. a key's byte[]) is returned whole: emitted plainly, PowerShell would unroll it.
    if ($value -is [System.Array]) { return , $value }
    $value
}

function Get-KrPropertyName {
    # The names a hashtable or PSCustomObject was written with. A typed object's properties come from its class
    # (they cannot be misspelt), so only its non-empty AdditionalProperties keys (the Graph SDK's bag for names its
    # model lacks) are returned.
    [CmdletBinding()]
    [OutputType([string[]])]
    param([Parameter(Mandatory)] [object] $InputObject)
    if ($InputObject -is [System.Collections.IDictionary]) { return @($InputObject.Keys | ForEach-Object { [string]$_ }) }
    if ($InputObject -is [System.Management.Automation.PSCustomObject]) {
        return @($InputObject.PSObject.Properties | Where-Object { $_.MemberType -eq 'NoteProperty' } | ForEach-Object { $_.Name })
    }
    $extra = Get-KrProperty $InputObject 'AdditionalProperties'
    if ($extra -is [System.Collections.IDictionary]) { return @($extra.Keys | ForEach-Object { [string]$_ }) }
    @()
}

function Assert-KrKnownProperty {
    # Refuses a property name Graph does not have, naming it and the right name, instead of dropping it: a
    # misspelt EndDateTime would otherwise give the key the certificate's whole validity without a word. Returns
    # nothing, or a failure (New-KrFailure) whose target is -Target (the object id, never the credential itself,
    # which may hold key material).
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [object] $InputObject,
        [Parameter(Mandatory)] [string[]] $Known,
        [Parameter(Mandatory)] [string] $ParameterName,
        [string] $Target
    )
    foreach ($name in Get-KrPropertyName -InputObject $InputObject) {
        if ($Known -contains $name) { continue }
        $right = $script:KrPropertyAliases[$name]
        if (-not $right -or $Known -notcontains $right) { $right = Get-KrClosestName -Name $name -Candidates $Known }
        $hint = if ($right) { "did you mean $($right)? " } else { '' }
        return New-KrFailure (Get-KrArgumentError -Message "-$ParameterName has a property '$name' that a Graph $($ParameterName.Substring(0,1).ToLowerInvariant() + $ParameterName.Substring(1)) does not have: $($hint)the properties are $($Known -join ', ')" -ErrorId "$($ParameterName)UnknownProperty" -TargetObject $Target)
    }
}

function Get-KrClosestName {
    # The candidate nearest to a misspelt name (edit distance, case-insensitive), or $null when none is close.
    [CmdletBinding()]
    [OutputType([string])]
    param([Parameter(Mandatory)] [string] $Name, [Parameter(Mandatory)] [string[]] $Candidates)
    $best = $null; $bestDistance = [int]::MaxValue
    $a = $Name.ToLowerInvariant()
    foreach ($candidate in $Candidates) {
        $b = $candidate.ToLowerInvariant()
        $previous = [int[]](0..$b.Length)
        for ($i = 1; $i -le $a.Length; $i++) {
            $current = [int[]]::new($b.Length + 1)
            $current[0] = $i
            for ($j = 1; $j -le $b.Length; $j++) {
                $cost = if ($a[$i - 1] -eq $b[$j - 1]) { 0 } else { 1 }
                $current[$j] = [Math]::Min([Math]::Min($current[$j - 1] + 1, $previous[$j] + 1), $previous[$j - 1] + $cost)
            }
            $previous = $current
        }
        $d = $previous[$b.Length]
        if ($d -lt $bestDistance) { $best = $candidate; $bestDistance = $d }
    }
    if ($bestDistance -le [Math]::Max(2, [int]($Name.Length / 3))) { $best } else { $null }
}

function ConvertTo-KrDateText {
    # A date for the library: ISO 8601 in UTC with the fraction kept (a DateTime of Kind Local is converted,
    # Unspecified is taken as UTC, as Graph does).
    [CmdletBinding()]
    [OutputType([string])]
    param([AllowNull()] [object] $Value)
    if ($null -eq $Value -or ($Value -is [string] -and -not $Value)) { return $null }
    $utc = if ($Value -is [datetimeoffset]) { $Value.UtcDateTime }
    elseif ($Value -is [datetime]) {
        if ($Value.Kind -eq [System.DateTimeKind]::Unspecified) { [datetime]::SpecifyKind($Value, [System.DateTimeKind]::Utc) } else { $Value.ToUniversalTime() }
    }
    else { return [string]$Value }
    $utc.ToString('yyyy-MM-ddTHH:mm:ss.FFFFFFFZ', [cultureinfo]::InvariantCulture)
}

function ConvertFrom-KrDate {
    # A date from the library's JSON as a DateTime of Kind Utc. PowerShell 7's ConvertFrom-Json already made it a
    # DateTime (kept as it is, fraction and all); Windows PowerShell 5.1's leaves the ISO text, parsed here.
    [CmdletBinding()]
    [OutputType([datetime])]
    param([AllowNull()] [object] $Value)
    if ($null -eq $Value -or ($Value -is [string] -and -not $Value)) { return $null }
    if ($Value -is [datetime]) {
        if ($Value.Kind -eq [System.DateTimeKind]::Utc) { return $Value }
        if ($Value.Kind -eq [System.DateTimeKind]::Local) { return $Value.ToUniversalTime() }
        return [datetime]::SpecifyKind($Value, [System.DateTimeKind]::Utc)
    }
    if ($Value -is [datetimeoffset]) { return $Value.UtcDateTime }
    [datetimeoffset]::Parse([string]$Value, [cultureinfo]::InvariantCulture, [System.Globalization.DateTimeStyles]::AssumeUniversal).UtcDateTime
}

function ConvertTo-KrAddKeySettings {
    # The library's addKey settings from a keyCredential as users write it. Key may be DER bytes, base64 or PEM
    # text, or an X509Certificate2. The library validates everything about the key; this function only checks the
    # names it was given, renames and converts.
    # A refusal is a failure (New-KrFailure) whose target is -Target (the object id): never the credential, whose
    # Key may be a private key given by mistake.
    [CmdletBinding()]
    [OutputType([System.Collections.IDictionary])]
    param([Parameter(Mandatory)] [object] $KeyCredential, [string] $Target)
    $refused = Assert-KrKnownProperty -InputObject $KeyCredential -Known $script:KrKeyCredentialProperties -ParameterName 'KeyCredential' -Target $Target
    if (Test-KrFailure $refused) { return $refused }
    $keyId = Get-KrProperty $KeyCredential 'KeyId'
    if ($null -ne $keyId -and [string]$keyId -ne '' -and [string]$keyId -ne [guid]::Empty.ToString()) {
        return New-KrFailure (Get-KrArgumentError -Message "-KeyCredential has KeyId $($keyId): leave it out, the service assigns the new key's id (and returns it)" -ErrorId 'KeyCredentialKeyIdGiven' -TargetObject $Target)
    }
    $key = Get-KrProperty $KeyCredential 'Key'
    if ($null -eq $key) {
        return New-KrFailure (Get-KrArgumentError -Message '-KeyCredential has no Key: give the new public certificate as DER bytes ([System.Convert]::FromBase64String(...) or [System.IO.File]::ReadAllBytes(...)), base64 text or an X509Certificate2' -ErrorId 'KeyCredentialWithoutKey' -TargetObject $Target)
    }
    # [byte[]] on the variable: an if statement's output is a collection, which would unroll the bytes.
    if ($key -isnot [System.Security.Cryptography.X509Certificates.X509Certificate] -and $key -isnot [byte[]] -and $key -isnot [string]) {
        return New-KrFailure (Get-KrArgumentError -Message "-KeyCredential's Key is a $($key.GetType().FullName): give DER bytes, base64 text or an X509Certificate2" -ErrorId 'KeyCredentialKeyType' -TargetObject $Target)
    }
    [byte[]] $bytes = if ($key -is [System.Security.Cryptography.X509Certificates.X509Certificate]) { $key.GetRawCertData() }
    elseif ($key -is [byte[]]) { $key }
    else { [System.Text.Encoding]::ASCII.GetBytes($key) }
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
    $built = Invoke-KrFacade -AsObject -TargetObject $Target -On ([Keyroll.Proofs]) -Method 'KeyCredential' -ArgumentList $bytes, $json
    if (Test-KrFailure $built) {
        # What the library could not read is the Key of -KeyCredential: said first, with the library's reason.
        $record = $built.ErrorRecord
        if ($record.FullyQualifiedErrorId -like 'certificate*' -and $record.ErrorDetails) {
            $action = $record.ErrorDetails.RecommendedAction
            $record.ErrorDetails = [System.Management.Automation.ErrorDetails]::new("-KeyCredential's Key: $($record.ErrorDetails.Message)")
            $record.ErrorDetails.RecommendedAction = $action
        }
        return $built
    }
    if ($built.base64Text -and $key -is [byte[]]) {
        # The library found base64 text where DER bytes belong: the key encoded twice, which Graph would refuse.
        Write-Warning "KeyCredential.Key held the ASCII bytes of base64 text instead of the certificate's DER bytes (double encoding); it was decoded once and certificate $($built.thumbprint) is used"
    }
    if ($built.notice) { Write-Warning $built.notice }
    foreach ($w in @($built.warnings)) { if ($w) { Write-Warning $w } }
    $settings = $choices
    $settings.certificate = [string]$built.keyCredential.key
    # Warned: the library's warnings this preview wrote, which the addKey's answer repeats; the command writes only
    # the others (each warning once).
    [pscustomobject]@{ Settings = $settings; Thumbprint = [string]$built.thumbprint; Type = [string]$built.keyCredential.type; Warned = @(@($built.warnings) | Where-Object { $_ }) }
}

function Get-KrPasswordSecret {
    # The SecretText of a -PasswordCredential for a key of type $KeyType, checked: $null when there is nothing to
    # send (no PasswordCredential, or one without SecretText on a key that takes none, which the service ignores
    # too: warned about), else the SecretText as given (a SecureString or a string). A SecretText on a key that
    # takes none is passed on, for the library to refuse with the service's rule. A refusal is a failure
    # (New-KrFailure) whose target is -Target (the object id), never the credential or its secret.
    [CmdletBinding()]
    param([AllowNull()] [object] $PasswordCredential, [string] $KeyType, [string] $Target)
    if ($null -eq $PasswordCredential) { return $null }
    $refused = Assert-KrKnownProperty -InputObject $PasswordCredential -Known $script:KrPasswordCredentialProperties -ParameterName 'PasswordCredential' -Target $Target
    if (Test-KrFailure $refused) { return $refused }
    $secret = Get-KrProperty $PasswordCredential 'SecretText'
    if ($secret -is [System.Security.SecureString]) {
        if ($secret.Length -gt 0) { return $secret }
        $secret = $null
    }
    if ($null -ne $secret -and $secret -isnot [string]) {
        return New-KrFailure (Get-KrArgumentError -Message "-PasswordCredential's SecretText is a $($secret.GetType().FullName): give the key's password as a SecureString or a string" -ErrorId 'PasswordCredentialSecretType' -TargetObject $Target)
    }
    if ($secret) { return $secret }
    if ($KeyType -eq 'X509CertAndPassword') {
        return New-KrFailure (Get-KrArgumentError -Message '-PasswordCredential has no SecretText, and an X509CertAndPassword key needs its password: give it as SecretText (a SecureString or a string)' -ErrorId 'PasswordCredentialWithoutSecret' -TargetObject $Target)
    }
    $named = @(Get-KrPropertyName -InputObject $PasswordCredential)
    $shown = if ($named.Count) { " (it has $($named -join ', '))" } else { '' }
    Write-Warning "-PasswordCredential was ignored$($shown): addKey takes a passwordCredential only for an X509CertAndPassword key, as its password (SecretText), and this key is $KeyType"
    $null
}

function ConvertTo-KrKeyCredentialObject {
    # A Graph keyCredential as an object with Graph's property names and usable types: KeyId a Guid, the dates
    # DateTime in UTC, Key and CustomKeyIdentifier byte[]; type name EntraKeyRoll.KeyCredential (a table view is
    # in EntraKeyRoll.Format.ps1xml). Thumbprint is added for convenience. Graph answers addKey with key null;
    # -Certificate (the base64 certificate that was sent) then fills Key, since that is the key the object now has.
    [CmdletBinding()]
    param([Parameter(Mandatory)] [object] $KeyCredential, [string] $Thumbprint, [string] $Certificate)
    # Byte arrays are assigned, never emitted from a statement: PowerShell would unroll them into object[].
    $key = $null; $cki = $null; $keyId = $null
    $text = Get-KrProperty $KeyCredential 'key'
    if (-not $text) { $text = $Certificate }
    if ($text) { $key = [Convert]::FromBase64String($text) }
    $text = Get-KrProperty $KeyCredential 'customKeyIdentifier'
    if ($text) { $cki = [Convert]::FromBase64String($text) }
    $text = Get-KrProperty $KeyCredential 'keyId'
    if ($text) { $keyId = [guid]$text }
    [pscustomobject]@{
        PSTypeName          = 'EntraKeyRoll.KeyCredential'
        CustomKeyIdentifier = $cki
        DisplayName         = [string](Get-KrProperty $KeyCredential 'displayName')
        EndDateTime         = ConvertFrom-KrDate (Get-KrProperty $KeyCredential 'endDateTime')
        Key                 = $key
        KeyId               = $keyId
        StartDateTime       = ConvertFrom-KrDate (Get-KrProperty $KeyCredential 'startDateTime')
        Type                = [string](Get-KrProperty $KeyCredential 'type')
        Usage               = [string](Get-KrProperty $KeyCredential 'usage')
        Thumbprint          = $Thumbprint
    }
}
