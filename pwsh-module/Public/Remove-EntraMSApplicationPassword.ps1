function Remove-EntraMSApplicationPassword {
    <#
    .SYNOPSIS
    Removes a client secret from an application or service principal through Graph removePassword.

    .DESCRIPTION
    Removes the client secret -KeyId. Like addPassword, removePassword needs no proof but a permission, even for
    the application itself: Application.ReadWrite.OwnedBy (as an owner) or Application.ReadWrite.All. A keyId the
    object does not have is refused before anything is sent, naming it.

    Authentication: the connection of Connect-EntraKeyRoll, or, without one, the session of Connect-MgGraph /
    Connect-Entra.

    .PARAMETER ObjectId
    The object id of the application (or service principal, see -TargetType), a GUID; from the pipeline by value
    or by property name. Aliases: Id, ApplicationId (the object id, as in Microsoft's Remove-EntraApplicationPassword).

    .PARAMETER AppId
    The appId (client id) of the application.

    .PARAMETER TargetType
    Application (default) or ServicePrincipal.

    .PARAMETER KeyId
    The keyId of the client secret to remove (New-EntraMSApplicationPassword's KeyId).

    .PARAMETER PassThru
    Writes what was removed (an EntraKeyRoll.RemovedPassword: ObjectId or AppId, TargetType, KeyId, Removed) to
    the pipeline, as Microsoft's Remove commands do with -PassThru; without it nothing is written.

    .EXAMPLE
    Remove-EntraMSApplicationPassword -ObjectId $objectId -KeyId 'a3f2c9e1-0b7d-4c55-9a1e-2f6d8b4c7e10'

    Removes one client secret.

    .EXAMPLE
    New-EntraMSApplicationPassword -ObjectId $objectId -WhatIf

    Shows what would be added; Remove-EntraMSApplicationPassword takes -WhatIf and -Confirm the same way.

    .EXAMPLE
    $old | Remove-EntraMSApplicationPassword

    Removes a secret returned earlier by New-EntraMSApplicationPassword (ObjectId, TargetType and KeyId bind from
    the pipeline).

    .INPUTS
    System.String (the object id), or objects with ObjectId and KeyId properties.

    .OUTPUTS
    None, or with -PassThru an EntraKeyRoll.RemovedPassword per secret removed.

    .LINK
    New-EntraMSApplicationPassword
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', DefaultParameterSetName = 'ObjectId')]
    [OutputType('EntraKeyRoll.RemovedPassword')]
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

        [Parameter(Mandatory, ValueFromPipelineByPropertyName)]
        [ValidateScript({ Test-KrObjectId $_ 'KeyId' })]
        [string] $KeyId,

        [Parameter()]
        [switch] $PassThru
    )
    process {
        $subject = if ($ObjectId) { $ObjectId } else { "appId $AppId" }
        if (-not $PSCmdlet.ShouldProcess("$TargetType $subject", "Remove client secret $KeyId")) { return }
        $connection = Get-KrConnection -Caller $PSCmdlet
        $settings = [ordered]@{ target = Get-KrTarget -ObjectId $ObjectId -AppId $AppId -TargetType $TargetType; keyId = $KeyId }
        Write-Verbose "removePassword: $TargetType $subject, secret $KeyId"
        $json = ConvertTo-KrSettingsJson -Settings $settings
        try {
            $removed = Invoke-KrFacade -AsObject -TargetObject $KeyId -On $connection.Connection -Method 'RemovePassword' -ArgumentList (, $json)
        }
        finally {
            Close-KrTransientConnection -Connection $connection
        }
        if (Test-KrFailure $removed) { $PSCmdlet.WriteError($removed.ErrorRecord); return }
        foreach ($retry in @($removed.retries)) { Write-Verbose "removePassword: $retry" }
        if ($PassThru) {
            [pscustomobject]@{
                PSTypeName = 'EntraKeyRoll.RemovedPassword'
                ObjectId   = $ObjectId
                AppId      = $AppId
                TargetType = $TargetType
                KeyId      = [guid]$KeyId
                Removed    = $true
            }
        }
    }
}
