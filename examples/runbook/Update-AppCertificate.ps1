<#
.SYNOPSIS
An Azure Automation runbook: rolls an application's certificate when it is about to expire, with the next
certificate created in Azure Key Vault and every signature made by Key Vault.

.DESCRIPTION
Runs under the Automation account's managed identity, which needs:
- in Microsoft Graph: Application.ReadWrite.OwnedBy (and to be an owner of the application), or
  Application.ReadWrite.All;
- on the vault: certificates get, list and create, keys get and sign (the built-in roles Key Vault Certificates
  Officer and Key Vault Crypto User, or an access policy with those permissions).

The application's certificate lives in the vault as <CertificateName>. When the application's current certificate
ends within -RenewWithinDays, the runbook creates the certificate's next version in the vault (a self-issued RSA
certificate whose key the vault keeps), adds it to the application with a proof of possession signed by the
current version's key in the vault, waits until the application can sign in with the new version (the client
assertion is signed in the vault too), and removes the old key. No private key is ever on this worker's disk or in
its memory: the vault signs, and its keys are not exportable.

A run that stops half-way (a worker restart) is completed by the next run: the version it created is found on
the application and used, not created again.

.PARAMETER AppId
The application (client) id of the application to roll.

.PARAMETER VaultUrl
The vault, e.g. https://contoso.vault.azure.net.

.PARAMETER CertificateName
The name of the application's certificate in the vault.

.PARAMETER RenewWithinDays
Roll when the application's current certificate ends within this many days (default 30).

.PARAMETER ValidityMonths
How long the new certificate is valid, in months (default 12).

.PARAMETER GraphUrl
Rehearsal only: the Graph URL of the keyroll emulator (its login URL and CA follow).

.PARAMETER LoginUrl
Rehearsal only: the emulator's login URL.

.PARAMETER CaCertificate
Rehearsal only: the emulator's CA file.

.EXAMPLE
./Update-AppCertificate.ps1 -AppId $appId -VaultUrl https://contoso.vault.azure.net -CertificateName billing-api

.OUTPUTS
The roll's report (EntraKeyRoll.RollReport), or nothing when no certificate is due.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $AppId,
    [Parameter(Mandatory)] [string] $VaultUrl,
    [Parameter(Mandatory)] [string] $CertificateName,
    [int] $RenewWithinDays = 30,
    [int] $ValidityMonths = 12,
    [string] $GraphUrl,
    [string] $LoginUrl,
    [string] $CaCertificate
)
$ErrorActionPreference = 'Stop'
Import-Module EntraKeyRoll

$endpoints = @{}
if ($GraphUrl) { $endpoints.GraphUrl = $GraphUrl }
if ($LoginUrl) { $endpoints.LoginUrl = $LoginUrl }
if ($CaCertificate) { $endpoints.CaCertificate = $CaCertificate }

# The Automation account's managed identity signs in to Graph (IDENTITY_ENDPOINT and IDENTITY_HEADER are set in
# the sandbox) and to the vault.
Connect-EntraKeyRoll -Identity @endpoints | Out-Null

# The application's certificates that end within the window; nothing to do when none does.
$expiring = @(Get-EntraMSApplicationKey -AppId $AppId | Where-Object { $_.Type -eq 'AsymmetricX509Cert' -and $_.DaysLeft -le $RenewWithinDays })
if ($expiring.Count -eq 0) {
    Write-Output "no certificate of $AppId ends within $RenewWithinDays days; nothing to do"
    return
}
foreach ($item in $expiring) {
    Write-Verbose "${AppId}: certificate $($item.Thumbprint) ends $($item.EndDateTime) ($($item.DaysLeft) days left)"
}

# The current version is the newest version of the vault certificate registered on the application; the next is
# created in the vault (or, after a stopped run, the one that run created).
$certificateId = '{0}/certificates/{1}' -f $VaultUrl.TrimEnd('/'), $CertificateName
Invoke-EntraKeyRollover -AppId $AppId -KeyVaultCertificateId $certificateId -CreateInKeyVault -NewCertificateValidityMonths $ValidityMonths -RemoveOld
