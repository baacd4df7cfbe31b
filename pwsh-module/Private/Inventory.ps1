# Inventory: the scan's items as the module's typed objects, and its errors in the module's words.

function ConvertTo-KrInventoryItem {
    # One credential of the scan as the command's typed object: PascalCase, dates as DateTime, and the plan's
    # columns under Invoke-EntraKeyRollover's parameter names.
    [CmdletBinding()]
    param([Parameter(Mandatory)] [object] $Item)
    $target = if ($Item.objectType -eq 'servicePrincipal') { 'ServicePrincipal' } else { 'Application' }
    $planned = $Item.PSObject.Properties['cert']
    [pscustomobject]@{
        PSTypeName           = 'EntraKeyRoll.InventoryItem'
        ObjectType           = $target
        ObjectId             = $Item.objectId
        AppId                = $Item.appId
        ObjectDisplayName    = $Item.objectDisplayName
        CredentialType       = $(if ($Item.credentialType -eq 'secret') { 'Secret' } else { 'Certificate' })
        KeyId                = $Item.keyId
        KeyDisplayName       = $Item.displayName
        Thumbprint           = $Item.thumbprint
        Hint                 = $Item.hint
        StartDateTime        = ConvertFrom-KrDate $Item.startDateTime
        EndDateTime          = ConvertFrom-KrDate $Item.endDateTime
        DaysLeft             = $Item.daysLeft
        Status               = $Item.status
        Signs                = [bool]$Item.signs
        LastValidCertificate = [bool]$Item.lastValidCertificate
        Owners               = $(if ($null -ne $Item.owners) { @($Item.owners) -join '; ' })
        TargetType           = $target
        CertificatePath      = $(if ($planned) { $Item.cert })
        NewCertificatePath   = $(if ($planned) { $Item.newCert })
    }
}

function Get-KrScanError {
    # A scan refused before its first page (settings): the library names its settings (certRule, newCertRule);
    # this says the parameters.
    [CmdletBinding()]
    param([Parameter(Mandatory)] [object] $Failure, [switch] $Rule)
    $record = $Failure.ErrorRecord
    $message = $record.Exception.Message -replace '\bnewCertRule\b', '-NewCertificatePathRule' -replace '\bcertRule\b', '-CertificatePathRule'
    if ($message -eq $record.Exception.Message) { return $record }
    $e = [System.ArgumentException]::new($message, $record.Exception)
    [System.Management.Automation.ErrorRecord]::new($e, 'InventoryRule', [System.Management.Automation.ErrorCategory]::InvalidArgument, 'inventory')
}
