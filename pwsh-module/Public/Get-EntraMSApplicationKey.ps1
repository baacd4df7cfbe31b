function Get-EntraMSApplicationKey {
    <#
    .SYNOPSIS
    Lists the certificates (key credentials) of an application or service principal.

    .DESCRIPTION
    Reads the object's key credentials and shows, for each, its thumbprint, validity, days left and status
    (valid, expired, not yet valid). When connected with a certificate, Signs marks the key that certificate
    matches: the one that can mint proofs for addKey/removeKey.

    .PARAMETER ObjectId
    The object id, a GUID. Aliases: Id, ApplicationId (the object id, as in Microsoft's key cmdlets).

    .PARAMETER AppId
    The appId (client id) of the application.

    .PARAMETER TargetType
    Application (default), ServicePrincipal or AgentIdentityBlueprint.

    .EXAMPLE
    Get-EntraMSApplicationKey -ObjectId $objectId | Format-Table DisplayName, Thumbprint, EndDateTime, DaysLeft, Status

    .EXAMPLE
    Get-EntraMSApplicationKey -AppId $appId | Where-Object DaysLeft -lt 30

    Keys that expire within 30 days.

    .OUTPUTS
    EntraKeyRoll.KeyInfo
    #>
    [CmdletBinding(DefaultParameterSetName = 'ObjectId')]
    [OutputType('EntraKeyRoll.KeyInfo')]
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
        [string] $TargetType = 'Application'
    )
    process {
        $connection = Get-KrConnection -Caller $PSCmdlet
        $json = ConvertTo-KrSettingsJson -Settings (Get-KrTarget -ObjectId $ObjectId -AppId $AppId -TargetType $TargetType)
        $subject = if ($ObjectId) { $ObjectId } else { "appId $AppId" }
        Write-Verbose "list keys: $TargetType $subject"
        try {
            $list = Invoke-KrFacade -AsObject -TargetObject $subject -On $connection.Connection -Method 'ListKeys' -ArgumentList $json, $connection.Signer
        }
        finally {
            Close-KrTransientConnection -Connection $connection
        }
        if (Test-KrFailure $list) { $PSCmdlet.WriteError($list.ErrorRecord); return }
        foreach ($k in @($list.keys)) {
            $keyId = $null
            if ($k.keyId) { $keyId = [guid]$k.keyId }
            [pscustomobject]@{
                PSTypeName    = 'EntraKeyRoll.KeyInfo'
                ObjectId      = $list.id
                AppId         = $list.appId
                TargetType    = $TargetType
                KeyId         = $keyId
                DisplayName   = $k.displayName
                Thumbprint    = $k.thumbprint
                Type          = $k.type
                Usage         = $k.usage
                StartDateTime = ConvertFrom-KrDate $k.startDateTime
                EndDateTime   = ConvertFrom-KrDate $k.endDateTime
                DaysLeft      = $k.daysLeft
                Status        = $k.status
                Signs         = [bool]$k.signs
            }
        }
    }
}
