# Certificates whose key stays in Azure Key Vault: opened as identities in the library (their key signs in the
# vault: proofs and client assertions go to the vault's keys/sign, the private key never reaches this process),
# and the next version of a certificate created in the vault for a roll. The vault is reached through a
# connection (its proxy, its trust, and its credential: a managed identity, the app's certificate), or with a
# vault access token given as a SecureString.

function Get-KrVaultSettings {
    # The library's Key Vault settings from PowerShell's parameters; the token is added by the caller, as a secret.
    [CmdletBinding()]
    [OutputType([System.Collections.IDictionary])]
    param(
        [Parameter(Mandatory)] [string] $CertificateId,
        [object] $Target,
        [string] $Subject,
        [int] $KeySize,
        [int] $ValidityMonths
    )
    $settings = [ordered]@{ certificate = $CertificateId }
    if ($Target) { $settings.target = $Target }
    if ($Subject) { $settings.subject = $Subject }
    if ($KeySize -gt 0) { $settings.keySize = $KeySize }
    if ($ValidityMonths -gt 0) { $settings.validityMonths = $ValidityMonths }
    $settings
}

function Add-KrVaultParameterName {
    # A library failure about a vault certificate, its message prefixed with the parameter that named it, so that
    # a PowerShell user reads which of the certificates the vault refused.
    [CmdletBinding()]
    param([Parameter(Mandatory)] [object] $Failure, [Parameter(Mandatory)] [string] $ParameterName)
    $e = $Failure.ErrorRecord
    $message = if ($e.ErrorDetails -and $e.ErrorDetails.Message) { $e.ErrorDetails.Message } else { $e.Exception.Message }
    $record = [System.Management.Automation.ErrorRecord]::new($e.Exception, $e.FullyQualifiedErrorId, $e.CategoryInfo.Category, $e.TargetObject)
    $record.ErrorDetails = [System.Management.Automation.ErrorDetails]::new("-$($ParameterName): $message")
    if ($e.ErrorDetails -and $e.ErrorDetails.RecommendedAction) { $record.ErrorDetails.RecommendedAction = $e.ErrorDetails.RecommendedAction }
    New-KrFailure -ErrorRecord $record
}

function Open-KrVaultIdentity {
    # A Key Vault certificate (https://<vault>/certificates/<name>[/<version>]; its latest version when none is
    # named) as an identity in the library: read, checked (issued, enabled, an RSA key of 2048 bits or more that
    # is the certificate's own), and signing in the vault. -ParameterName names it in errors.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [object] $Connection,
        [Parameter(Mandatory)] [string] $CertificateId,
        [AllowNull()] [System.Security.SecureString] $AccessToken,
        [Parameter(Mandatory)] [string] $ParameterName,
        [string] $Subject
    )
    $settings = Get-KrVaultSettings -CertificateId $CertificateId
    $identity = Use-KrPlainText -Secret $AccessToken -ArgumentList $Connection, $settings, $Subject -Action {
        param($plain, $conn, $s, $who)
        $secret = @{}
        if ($plain) { $secret.vaultAccessToken = $plain }
        $json = ConvertTo-KrSettingsJson -Settings $s -Secret $secret
        Invoke-KrFacade -TargetObject $who -On ([Keyroll.KeyVault]) -Method 'OpenCertificate' -ArgumentList $conn, $json
    }
    if (Test-KrFailure $identity) { return Add-KrVaultParameterName -Failure $identity -ParameterName $ParameterName }
    Write-Verbose "Key Vault certificate $CertificateId opened: $($identity.Thumbprint) (its key signs in the vault)"
    $identity
}

function Open-KrVaultRollVersions {
    # Both ends of a roll from one version of a vault certificate to its next, for the object -Target: the newest
    # version that is a key of the object, and the version to roll to (one an earlier run left, else one the vault
    # creates now with the certificate's policy). Returns @{ Current; Next; Source; NextId } or a failure.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [object] $Connection,
        [Parameter(Mandatory)] [string] $CertificateId,
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Target,
        [AllowNull()] [System.Security.SecureString] $AccessToken,
        [Parameter(Mandatory)] [string] $ParameterName,
        [string] $Subject,
        [hashtable] $Policy = @{}
    )
    $settings = Get-KrVaultSettings -CertificateId $CertificateId -Target $Target -Subject $Policy.Subject -KeySize $Policy.KeySize -ValidityMonths $Policy.ValidityMonths
    $pair = Use-KrPlainText -Secret $AccessToken -ArgumentList $Connection, $settings, $Subject -Action {
        param($plain, $conn, $s, $who)
        $secret = @{}
        if ($plain) { $secret.vaultAccessToken = $plain }
        $json = ConvertTo-KrSettingsJson -Settings $s -Secret $secret
        Invoke-KrFacade -TargetObject $who -On ([Keyroll.KeyVault]) -Method 'RollVersions' -ArgumentList $conn, $json
    }
    if (Test-KrFailure $pair) { return Add-KrVaultParameterName -Failure $pair -ParameterName $ParameterName }
    $d = ConvertFrom-Json -InputObject $pair.Json
    Write-Verbose "Key Vault: rolling $Subject from version $($d.current.keyVault.version) to $($d.next.keyVault.version) ($($d.source)); $($d.vaultCalls) vault request(s)"
    @{ Current = $pair.Current; Next = $pair.Next; Source = $d.source; NextId = $d.next.keyVault.certificateUrl }
}

function New-KrVaultVersion {
    # The next version of a vault certificate for the object -Target, rolled to from -Current: a version already
    # registered on the object (an earlier run's) is used again, else the vault creates one (polled, bounded).
    # Returns @{ Identity; CertificateId (the version's URL) }, or a failure.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [object] $Connection,
        [Parameter(Mandatory)] [string] $CertificateId,
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Target,
        [Parameter(Mandatory)] [object] $Current,
        [AllowNull()] [System.Security.SecureString] $AccessToken,
        [Parameter(Mandatory)] [string] $ParameterName,
        [string] $Subject,
        [hashtable] $Policy = @{}
    )
    $settings = Get-KrVaultSettings -CertificateId $CertificateId -Target $Target -Subject $Policy.Subject -KeySize $Policy.KeySize -ValidityMonths $Policy.ValidityMonths
    $created = Use-KrPlainText -Secret $AccessToken -ArgumentList $Connection, $settings, $Current, $Subject -Action {
        param($plain, $conn, $s, $cur, $who)
        $secret = @{}
        if ($plain) { $secret.vaultAccessToken = $plain }
        $json = ConvertTo-KrSettingsJson -Settings $s -Secret $secret
        Invoke-KrFacade -AsObject -TargetObject $who -On ([Keyroll.KeyVault]) -Method 'CreateCertificate' -ArgumentList $conn, $json, $cur
    }
    if (Test-KrFailure $created) { return Add-KrVaultParameterName -Failure $created -ParameterName $ParameterName }
    Write-Verbose "Key Vault: version $($created.keyVault.version) of $($created.keyVault.name) ($($created.source))"
    $identity = Open-KrVaultIdentity -Connection $Connection -CertificateId $created.keyVault.certificateUrl -AccessToken $AccessToken -ParameterName $ParameterName -Subject $Subject
    if (Test-KrFailure $identity) { return $identity }
    @{ Identity = $identity; CertificateId = $created.keyVault.certificateUrl }
}

function Open-KrConnectVaultIdentity {
    # The certificate Connect-EntraKeyRoll -KeyVaultCertificateId signs in with, opened from the vault. The vault's
    # token cannot come from that certificate (it is in the vault): it comes from -AccessToken, else from the
    # managed identity, through a connection made for this one read (same cloud, endpoints, trust and proxy).
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [string] $CertificateId,
        [AllowNull()] [System.Security.SecureString] $AccessToken,
        [string] $Environment,
        [string] $GraphUrl,
        [string] $LoginUrl,
        [string] $CaCertificate,
        [string] $Proxy,
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Caller
    )
    $settings = [ordered]@{
        cloud           = $Environment
        graphUrl        = $GraphUrl
        loginUrl        = $LoginUrl
        caFile          = if ($CaCertificate) { $Caller.GetUnresolvedProviderPathFromPSPath($CaCertificate) } else { $null }
        proxy           = $Proxy
        managedIdentity = $true
        environment     = Get-KrEnvironment
    }
    $vault = Open-KrConnection -Settings $settings
    if (Test-KrFailure $vault) { return $vault }
    try {
        Open-KrVaultIdentity -Connection $vault -CertificateId $CertificateId -AccessToken $AccessToken -ParameterName 'KeyVaultCertificateId'
    }
    finally {
        # The identity keeps what it needs to reach the vault; the connection made for the read is not kept.
        $vault.Dispose()
    }
}
