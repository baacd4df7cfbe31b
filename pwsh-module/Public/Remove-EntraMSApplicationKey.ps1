function Remove-EntraMSApplicationKey {
    <#
    .SYNOPSIS
    Removes a certificate from an application or service principal through Graph removeKey.

    .DESCRIPTION
    Removes the key credential -KeyId. Graph requires a proof of possession signed with one of the object's
    current certificates: give it with -Proof, or connect with Connect-EntraKeyRoll using such a certificate and
    the proof is minted on the spot. As the documented cmdlet, it does not prompt in a non-interactive runbook
    (ConfirmImpact Medium: -Confirm asks, -WhatIf shows what would be removed). What protects the application is
    the guard: the object's last currently valid certificate is not removed without -Force.

    Authentication: the connection of Connect-EntraKeyRoll, or, without one, the session of Connect-MgGraph /
    Connect-Entra.

    .PARAMETER ObjectId
    The object id of the application (or service principal, see -TargetType), a GUID; from the pipeline by value
    or by property name. Aliases: Id, ApplicationId (the object id, as in Microsoft's Remove-EntraApplicationKey).

    .PARAMETER AppId
    The appId (client id) of the application.

    .PARAMETER TargetType
    Application (default), ServicePrincipal or AgentIdentityBlueprint.

    .PARAMETER KeyId
    The keyId of the key credential to remove (Get-EntraMSApplicationKey lists them).

    .PARAMETER Proof
    The proof of possession (New-EntraKeyProof).

    .PARAMETER Force
    Remove the key even if it holds the object's last currently valid certificate. Without -Force that removal
    is refused: the object could no longer authenticate with a certificate, and addKey would be impossible
    (only a PATCH of all its keys could repair it: New-EntraMSApplicationKey -Repair).

    .PARAMETER PassThru
    Writes what was removed (an EntraKeyRoll.RemovedKey: ObjectId or AppId, TargetType, KeyId, Removed) to the
    pipeline, as Microsoft's Remove commands do with -PassThru; without it nothing is written.

    .EXAMPLE
    Remove-EntraMSApplicationKey -ObjectId $objectId -KeyId 'a3f2c9e1-0b7d-4c55-9a1e-2f6d8b4c7e10' -Proof $proof

    Removes one key with a proof minted beforehand.

    .EXAMPLE
    Get-EntraMSApplicationKey -ObjectId $objectId | Where-Object Status -eq 'expired' | Remove-EntraMSApplicationKey

    Removes every expired key while connected with a current certificate (ObjectId and KeyId bind from the
    pipeline).

    .EXAMPLE
    $objectId | Remove-EntraMSApplicationKey -KeyId $keyId -Proof $proof

    The object id from the pipeline, as the documented cmdlet takes it.

    .EXAMPLE
    $removed = Remove-EntraMSApplicationKey -ObjectId $objectId -KeyId $keyId -Proof $proof -PassThru
    "removed $($removed.KeyId)"

    -PassThru writes the removed key's id, for a log of what a runbook did.

    .INPUTS
    System.String (the object id), or objects with ObjectId and KeyId properties (Get-EntraMSApplicationKey's).

    .OUTPUTS
    None, or with -PassThru an EntraKeyRoll.RemovedKey per key removed.

    .LINK
    Get-EntraMSApplicationKey
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', DefaultParameterSetName = 'ObjectId')]
    [OutputType('EntraKeyRoll.RemovedKey')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName, ParameterSetName = 'ObjectId')]
        [Alias('Id', 'ApplicationId')]
        [ValidateScript({ Test-KrObjectId $_ })]
        [string] $ObjectId,

        [Parameter(Mandatory, ParameterSetName = 'AppId')]
        [ValidateNotNullOrEmpty()]
        [string] $AppId,

        [Parameter(ValueFromPipelineByPropertyName)]
        [ValidateSet('Application', 'ServicePrincipal', 'AgentIdentityBlueprint')]
        [string] $TargetType = 'Application',

        [Parameter(Mandatory, ValueFromPipelineByPropertyName)]
        [ValidateScript({ Test-KrObjectId $_ 'KeyId' })]
        [string] $KeyId,

        [Parameter()]
        [string] $Proof,

        [Parameter()]
        [switch] $Force,

        [Parameter()]
        [switch] $PassThru
    )
    process {
        $subject = if ($ObjectId) { $ObjectId } else { "appId $AppId" }
        if (-not $PSCmdlet.ShouldProcess("$TargetType $subject", "Remove key credential $KeyId")) { return }
        $connection = Get-KrConnection -Caller $PSCmdlet
        $settings = [ordered]@{ target = Get-KrTarget -ObjectId $ObjectId -AppId $AppId -TargetType $TargetType; keyId = $KeyId }
        if ($Proof) { $settings.proof = $Proof }
        if ($Force) { $settings.force = $true }
        Write-Verbose "removeKey: $TargetType $subject, key $KeyId, proof $(if ($Proof) { 'given' } else { 'minted with the connection certificate' })"
        $json = ConvertTo-KrSettingsJson -Settings $settings
        try {
            $removed = Invoke-KrFacade -AsObject -TargetObject $KeyId -On $connection.Connection -Method 'RemoveKey' -ArgumentList $json, $connection.Signer
        }
        finally {
            Close-KrTransientConnection -Connection $connection
        }
        if (Test-KrFailure $removed) { $PSCmdlet.WriteError($removed.ErrorRecord); return }
        foreach ($retry in @($removed.retries)) { Write-Verbose "removeKey: $retry" }
        # -Force past the last valid certificate: done, and said.
        foreach ($w in @($removed.warnings)) { if ($w) { Write-Warning $w } }
        if ($PassThru) {
            [pscustomobject]@{
                PSTypeName = 'EntraKeyRoll.RemovedKey'
                ObjectId   = $ObjectId
                AppId      = $AppId
                TargetType = $TargetType
                KeyId      = [guid]$removed.keyId
                Removed    = [bool]$removed.removed
            }
        }
    }
}
