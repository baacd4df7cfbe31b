function Get-EntraKeyRollInventory {
    <#
    .SYNOPSIS
    Lists every certificate and client secret of the tenant's applications and service principals, with the days
    each has left.

    .DESCRIPTION
    Scans the tenant the connection signs in to: every application and service principal, page by page (Graph
    cannot filter on credentials, so every object is read), and writes one object per credential down the
    pipeline as each page arrives: memory stays flat and the first results show while the scan goes on. The scan
    is paced by Graph's read budget (the library waits out 429s; -Verbose shows each wait).

    Each result carries the columns of a roll plan (ObjectId, TargetType, CertificatePath, NewCertificatePath), so
    that `Get-EntraKeyRollInventory -CredentialType Certificate | Export-Csv plan.csv` gives a plan that
    `Import-Csv plan.csv | Invoke-EntraKeyRollover` takes, once the certificate paths are filled in (or given by
    -CertificatePathRule and -NewCertificatePathRule).

    Listing needs Application.Read.All (or Application.ReadWrite.All, or Directory.Read.All); with
    Application.ReadWrite.OwnedBy only the objects the caller owns are listed.

    .PARAMETER ExpiringWithin
    Only credentials that end within this many days (expired ones included).

    .PARAMETER Type
    All (default), Application or ServicePrincipal.

    .PARAMETER CredentialType
    All (default), Certificate or Secret. Secrets are reported, never planned for a certificate roll.

    .PARAMETER IncludeOwners
    Also read each object's owners (Owners): one more resource unit per page.

    .PARAMETER CertificatePathRule
    The current certificate's file for each certificate, by a naming rule with the placeholders {appId},
    {objectId}, {thumbprint}, {objectType} and {displayName}, e.g. 'current/{thumbprint}.pfx'.

    .PARAMETER NewCertificatePathRule
    The new certificate's file for each certificate, by a naming rule, e.g. 'next/{appId}.pfx'.

    .PARAMETER PageSize
    Objects per page, 1 to 999 (default 999, Graph's largest).

    .EXAMPLE
    Get-EntraKeyRollInventory -ExpiringWithin 30

    Every credential that ends within 30 days, or has ended.

    .EXAMPLE
    Get-EntraKeyRollInventory -ExpiringWithin 30 -CredentialType Certificate -CertificatePathRule 'current/{appId}.pfx' -NewCertificatePathRule 'next/{appId}.pfx' | Export-Csv plan.csv -NoTypeInformation
    Import-Csv plan.csv | Invoke-EntraKeyRollover -RemoveOld -CertificatePassword $pw -NewCertificatePassword $pw

    A roll plan of the certificates that end within 30 days, then the roll.

    .OUTPUTS
    Keyroll.InventoryItem
    #>
    [CmdletBinding()]
    [OutputType('Keyroll.InventoryItem')]
    param(
        [Parameter()]
        [ValidateRange(0, 36500)]
        [int] $ExpiringWithin = -1,

        [Parameter()]
        [ValidateSet('All', 'Application', 'ServicePrincipal')]
        [string] $Type = 'All',

        [Parameter()]
        [ValidateSet('All', 'Certificate', 'Secret')]
        [string] $CredentialType = 'All',

        [Parameter()]
        [switch] $IncludeOwners,

        [Parameter()]
        [string] $CertificatePathRule,

        [Parameter()]
        [string] $NewCertificatePathRule,

        [Parameter()]
        [ValidateRange(1, 999)]
        [int] $PageSize = 999
    )
    $connection = Get-KrConnection -Caller $PSCmdlet
    $settings = [ordered]@{
        types          = $Type
        credentialType = $CredentialType
        owners         = [bool]$IncludeOwners
        pageSize    = $PageSize
        certRule    = $CertificatePathRule
        newCertRule = $NewCertificatePathRule
    }
    if ($PSBoundParameters.ContainsKey('ExpiringWithin')) { $settings['expiringWithinDays'] = $ExpiringWithin }
    $json = ConvertTo-KrSettingsJson -Settings $settings
    $activity = 'Scanning the tenant''s credentials'
    $scan = $null
    $failure = $null
    try {
        $scan = Invoke-KrFacade -TargetObject 'inventory' -On $connection.Connection -Method 'StartScan' -ArgumentList $json
        if (Test-KrFailure $scan) { $failure = Get-KrScanError -Failure $scan -Rule; $scan = $null; return }
        while ($true) {
            # Typed items built in the binding assembly: nothing is converted per credential here.
            $page = Invoke-KrFacade -TargetObject 'inventory' -On $scan -Method 'NextPage'
            if (Test-KrFailure $page) { $failure = $page.ErrorRecord; return }
            if ($page.Done) {
                Write-Verbose "scan: $($page.Summary.Objects) object(s) in $($page.Summary.Pages) page(s), $($page.Summary.Credentials) credential(s), $($page.Summary.Reported) reported"
                break
            }
            $status = "$($page.Collection): $($page.Read)$(if ($null -ne $page.Total) { " of $($page.Total)" }) read"
            if ($page.Total) {
                Write-Progress -Activity $activity -Status $status -PercentComplete ([Math]::Min(100, [int](100 * $page.Read / [Math]::Max(1, $page.Total))))
            }
            else {
                Write-Progress -Activity $activity -Status $status
            }
            $page.Items
        }
    }
    finally {
        Write-Progress -Activity $activity -Completed
        if ($scan) { $scan.Dispose() }
        Close-KrTransientConnection -Connection $connection
        if ($failure) { $PSCmdlet.WriteError($failure) }
    }
}
