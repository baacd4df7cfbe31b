function New-EntraMSApplicationPassword {
    <#
    .SYNOPSIS
    Adds a client secret to an application or service principal through Graph addPassword.

    .DESCRIPTION
    The service generates the secret; this command returns it once, as a SecureString in the SecretText
    property. It is never written as plain text: not to the output object, an error record, the Verbose stream
    or a transcript. The service never returns it again, so store it now (for example in a vault).

    addPassword needs no proof but a permission, even for the application itself: Application.ReadWrite.OwnedBy
    (as an owner of the object) or Application.ReadWrite.All. When an answer is lost on the way, the secret it
    carried cannot be known; the library then finds that secret by reading the object, removes it, and asks
    for a new one, so exactly one new secret is left: the one returned.

    Authentication: the connection of Connect-EntraKeyRoll, or, without one, the session of Connect-MgGraph /
    Connect-Entra.

    .PARAMETER ObjectId
    The object id of the application (or service principal, see -TargetType), a GUID; from the pipeline by value
    or by property name. Aliases: Id, ApplicationId (the object id, as in Microsoft's New-EntraApplicationPassword).

    .PARAMETER AppId
    The appId (client id) of the application.

    .PARAMETER TargetType
    Application (default) or ServicePrincipal.

    .PARAMETER PasswordCredential
    What to choose of the new secret, as a hashtable or object: DisplayName, StartDateTime, EndDateTime (a
    DateTime or ISO 8601 text; the service's defaults are now and two years later). $null or left out: all
    defaults. SecretText cannot be given: the service generates every secret.

    .EXAMPLE
    $secret = New-EntraMSApplicationPassword -ObjectId $objectId -PasswordCredential @{ DisplayName = 'ci' }

    Adds a secret named ci valid for two years; $secret.SecretText is a SecureString.

    .EXAMPLE
    New-EntraMSApplicationPassword -ObjectId $spId -TargetType ServicePrincipal -PasswordCredential @{ EndDateTime = (Get-Date).AddDays(90) }

    A secret of a service principal, valid for 90 days.

    .EXAMPLE
    $s = New-EntraMSApplicationPassword -ObjectId $objectId -PasswordCredential $null
    $credential = [pscredential]::new($appId, $s.SecretText)

    The secret as a PSCredential (for Connect-MgGraph -ClientSecretCredential, for example), never as plain text.

    .INPUTS
    System.String (the object id), or objects with an ObjectId property.

    .OUTPUTS
    EntraKeyRoll.PasswordCredential: ObjectId, TargetType, KeyId, DisplayName, Hint, StartDateTime, EndDateTime,
    CustomKeyIdentifier, SecretText (SecureString).

    .LINK
    Remove-EntraMSApplicationPassword
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', DefaultParameterSetName = 'ObjectId')]
    [OutputType('EntraKeyRoll.PasswordCredential')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName, ParameterSetName = 'ObjectId')]
        [Alias('Id', 'ApplicationId')]
        [ValidateScript({ Test-KrObjectId $_ })]
        [string] $ObjectId,

        [Parameter(Mandatory, ParameterSetName = 'AppId')]
        [ValidateNotNullOrEmpty()]
        [string] $AppId,

        [Parameter(ValueFromPipelineByPropertyName)]
        [ValidateSet('Application', 'ServicePrincipal')]
        [string] $TargetType = 'Application',

        [Parameter()]
        [AllowNull()]
        [object] $PasswordCredential
    )
    process {
        $subject = if ($ObjectId) { $ObjectId } else { "appId $AppId" }
        $settings = [ordered]@{ target = Get-KrTarget -ObjectId $ObjectId -AppId $AppId -TargetType $TargetType }
        if ($null -ne $PasswordCredential) {
            if ($PasswordCredential -is [string] -or $PasswordCredential -is [System.ValueType] -or $PasswordCredential -is [System.Array]) {
                $PSCmdlet.WriteError((Get-KrArgumentError -Message '-PasswordCredential takes a hashtable or object with DisplayName, StartDateTime and EndDateTime (or $null for the defaults)' -ErrorId 'PasswordCredentialNotAnObject' -TargetObject $subject))
                return
            }
            if ($null -ne (Get-KrProperty $PasswordCredential 'SecretText')) {
                $PSCmdlet.WriteError((Get-KrArgumentError -Message '-PasswordCredential has SecretText, but the service generates every client secret itself; leave SecretText out and keep the SecretText this command returns' -ErrorId 'PasswordCredentialSecretTextGiven' -TargetObject $subject))
                return
            }
            $known = @('DisplayName', 'StartDateTime', 'EndDateTime', 'SecretText', 'KeyId', 'Hint', 'CustomKeyIdentifier')
            $unknown = Assert-KrKnownProperty -InputObject $PasswordCredential -Known $known -ParameterName 'PasswordCredential' -Target $subject
            if (Test-KrFailure $unknown) { $PSCmdlet.WriteError($unknown.ErrorRecord); return }
            $settings.displayName = Get-KrProperty $PasswordCredential 'DisplayName'
            $settings.startDateTime = ConvertTo-KrDateText (Get-KrProperty $PasswordCredential 'StartDateTime')
            $settings.endDateTime = ConvertTo-KrDateText (Get-KrProperty $PasswordCredential 'EndDateTime')
        }
        if (-not $PSCmdlet.ShouldProcess("$TargetType $subject", 'Add a client secret')) { return }
        $connection = Get-KrConnection -Caller $PSCmdlet
        Write-Verbose "addPassword: $TargetType $subject$(if ($settings['displayName']) { ", display name '$($settings['displayName'])'" })"
        $json = ConvertTo-KrSettingsJson -Settings $settings
        try {
            $answer = Invoke-KrFacade -TargetObject $subject -On $connection.Connection -Method 'AddPassword' -ArgumentList (, $json)
        }
        finally {
            Close-KrTransientConnection -Connection $connection
        }
        if (Test-KrFailure $answer) { $PSCmdlet.WriteError($answer.ErrorRecord); return }
        $added = ConvertFrom-Json -InputObject $answer.Json
        foreach ($retry in @($added.retries)) { Write-Verbose "addPassword: $retry" }
        foreach ($orphan in @($added.orphansRemoved)) {
            Write-Warning "an answer was lost and the secret it carried ($orphan) was removed again, since its text is unknown"
        }
        foreach ($w in @($added.warnings)) { Write-Warning $w }
        $p = $added.passwordCredential
        [pscustomobject]@{
            PSTypeName          = 'EntraKeyRoll.PasswordCredential'
            ObjectId            = [string]$added.objectId
            TargetType          = $TargetType
            KeyId               = [string]$p.keyId
            DisplayName         = $p.displayName
            Hint                = $p.hint
            StartDateTime       = ConvertFrom-KrDate $p.startDateTime
            EndDateTime         = ConvertFrom-KrDate $p.endDateTime
            CustomKeyIdentifier = $p.customKeyIdentifier
            SecretText          = $answer.SecretText
        }
    }
}
