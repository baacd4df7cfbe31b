function Connect-EntraKeyRoll {
    <#
    .SYNOPSIS
    Connects the module to Microsoft Graph (or the keyroll emulator) for the cmdlets that call it.

    .DESCRIPTION
    Chooses how to authenticate and where to connect, with Connect-MgGraph's app-only parameter names; nothing is
    sent until a cmdlet needs a token. The new connection replaces the previous one only once it is made.
    - An access token (-AccessToken, a SecureString).
    - The application itself: -TenantId, -ClientId and its certificate (-Certificate, -CertificatePath with
      -CertificatePassword, or -CertificateThumbprint). That certificate also mints the proofs of addKey and
      removeKey when -Proof is omitted.
    - The application itself with its certificate in Azure Key Vault (-TenantId, -ClientId and
      -KeyVaultCertificateId): the client assertions and proofs are signed by the vault (keys/sign), so the private
      key never reaches this machine. The vault's token comes from the managed identity of the machine or
      Automation account (IDENTITY_ENDPOINT), or from -KeyVaultAccessToken.
    - A managed identity (-Identity, with -ClientId for a user-assigned one).
    - With none of these, the AZURE_* environment variables (AZURE_TENANT_ID, AZURE_CLIENT_ID,
      AZURE_CLIENT_CERTIFICATE_PATH, ...) and the managed identity endpoint variables are used.
    - A user, signed in by device code (-UseDeviceCode, Connect-MgGraph's name, with -Scopes, -TenantId and
      -ClientId): the message with the code and the page is written to the host (Write-Host, the information stream:
      never pipeline output), then the command waits until the code is approved at the page, declined or expired;
      Ctrl+C stops the wait. Without -ClientId the sign-in goes through Microsoft Graph Command Line Tools
      (14d82eec-204b-4c2f-b7e8-296a70dab67e), the public client Connect-MgGraph uses; without -Scopes it asks for
      Application.ReadWrite.All; without -TenantId it signs in to "organizations" (any work or school account).
      The sign-in is kept in a token cache in the user's profile (%LOCALAPPDATA%\keyroll\token-cache.json on
      Windows, ~/.cache/keyroll/token-cache.json elsewhere, mode 0600; $env:KEYROLL_TOKEN_CACHE names another
      file): a later -UseDeviceCode with the same tenant, client and scopes reuses it (renewed by its refresh token)
      and shows no code. A user's token changes an application's keys only with Application.ReadWrite.All granted
      and as an owner of the object or an Application Administrator or Cloud Application Administrator; the proofs
      of addKey and removeKey are still signed with a current certificate of the object itself (-Certificate,
      -CertificatePath or -Proof of the key cmdlets).
    - -Scopes without -UseDeviceCode (an interactive browser sign-in) is not available: add -UseDeviceCode, or sign in
      with Connect-MgGraph or Connect-Entra -Scopes ..., whose session the cmdlets use when no Connect-EntraKeyRoll
      connection exists.
    -Environment selects the cloud (Global, USGov, USGovDoD, China, or the Azure PowerShell names); -GraphUrl,
    -LoginUrl and -CaCertificate point at another endpoint such as the emulator (keyroll-emulator).

    .PARAMETER AccessToken
    An access token for Graph, as a SecureString (an empty one is refused).

    .PARAMETER UseDeviceCode
    Sign in as a user with a device code (Connect-MgGraph's name; aliases UseDeviceAuthentication, DeviceCode,
    DeviceAuth). See the description.

    .PARAMETER Scopes
    Delegated permissions of Graph for -UseDeviceCode, as Connect-MgGraph takes them ('Application.ReadWrite.All',
    the default; several as an array or comma-separated). Without -UseDeviceCode: refused with the ways that work.

    .PARAMETER TenantId
    The tenant (id or domain) to authenticate in as the application, or to sign the user in to with -UseDeviceCode.

    .PARAMETER ClientId
    The application's appId (client id), or the client id of a user-assigned managed identity, or with
    -UseDeviceCode a public client to sign in through (default: Microsoft Graph Command Line Tools,
    14d82eec-204b-4c2f-b7e8-296a70dab67e). Alias: AppId.

    .PARAMETER Certificate
    The application's certificate with its private key (RSA). The key signs through its own key object and is never
    exported: a certificate store key marked non-exportable, or one on a smart card, works as any other.

    .PARAMETER CertificatePath
    The application's certificate as a PFX or PEM file with its private key.

    .PARAMETER CertificatePassword
    The password of -CertificatePath.

    .PARAMETER CertificateThumbprint
    The application's certificate in the Windows certificate store (CurrentUser\My or LocalMachine\My). Its key signs
    in the store and is never exported, so a non-exportable key works.

    .PARAMETER KeyVaultCertificateId
    The application's certificate in Azure Key Vault: https://<vault>.vault.azure.net/certificates/<name>[/<version>]
    (its latest version when none is named). Its key signs in the vault and never reaches this machine.

    .PARAMETER KeyVaultAccessToken
    An access token for Key Vault (audience https://vault.azure.net), as a SecureString; without it the managed
    identity gets one.

    .PARAMETER Identity
    Authenticate with the managed identity of the machine, App Service or Automation account.

    .PARAMETER Environment
    The cloud, by Connect-MgGraph's names: Global (default), USGov, USGovDoD, China (Tab completes them; Azure
    PowerShell's AzureCloud, AzureUSGovernment and AzureChinaCloud are taken too).

    .PARAMETER GraphUrl
    Replaces the Graph endpoint (e.g. the emulator's graph_url).

    .PARAMETER LoginUrl
    Replaces the login endpoint (e.g. the emulator's login_url).

    .PARAMETER CaCertificate
    A PEM file of root certificates to trust in addition to the system's (e.g. the emulator's ca_cert).

    .PARAMETER Proxy
    An HTTP(S) proxy URL.

    .PARAMETER ApiVersion
    v1.0 (default) or beta.

    .EXAMPLE
    Connect-EntraKeyRoll -TenantId contoso.onmicrosoft.com -ClientId $appId -CertificatePath .\current.pfx -CertificatePassword (Read-Host -AsSecureString)

    .EXAMPLE
    Connect-EntraKeyRoll -UseDeviceCode -TenantId contoso.onmicrosoft.com -Scopes Application.ReadWrite.All

    Shows "To sign in, use a web browser to open the page https://www.microsoft.com/link and enter the code ... to
    authenticate." and waits. Run again later, it reuses the cached sign-in without a code.

    .EXAMPLE
    Connect-EntraKeyRoll -Identity

    In an Azure Automation runbook or on an Azure VM.

    .EXAMPLE
    $emulator = Start-Process keyroll-emulator -ArgumentList '--listen', '127.0.0.1:8443' -RedirectStandardOutput emulator.json -PassThru
    while (-not (Test-Path emulator.json) -or -not (Get-Content emulator.json -Raw)) { Start-Sleep -Milliseconds 100 }
    $emu = Get-Content emulator.json -TotalCount 1 | ConvertFrom-Json
    Connect-EntraKeyRoll -TenantId $tenant -ClientId $appId -CertificatePath .\current.pfx -GraphUrl $emu.graph_url -LoginUrl $emu.login_url -CaCertificate $emu.ca_cert

    Rehearses against the local emulator, running in the background (its first output line is its address as
    JSON; Stop-Process $emulator ends it).

    .OUTPUTS
    EntraKeyRoll.Connection: where the module is connected and as whom (no secrets).
    #>
    [CmdletBinding(DefaultParameterSetName = 'Environment')]
    [OutputType('EntraKeyRoll.Connection')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'AccessToken')]
        [ValidateNotNull()]
        [System.Security.SecureString] $AccessToken,

        [Parameter(Mandatory, ParameterSetName = 'DeviceCode')]
        [Alias('UseDeviceAuthentication', 'DeviceCode', 'DeviceAuth')]
        [switch] $UseDeviceCode,

        [Parameter(Mandatory, ParameterSetName = 'Delegated')]
        [Parameter(ParameterSetName = 'DeviceCode')]
        [string[]] $Scopes,

        [Parameter(Mandatory, ParameterSetName = 'Certificate')]
        [Parameter(Mandatory, ParameterSetName = 'CertificatePath')]
        [Parameter(Mandatory, ParameterSetName = 'CertificateThumbprint')]
        [Parameter(Mandatory, ParameterSetName = 'KeyVault')]
        [Parameter(ParameterSetName = 'Delegated')]
        [Parameter(ParameterSetName = 'DeviceCode')]
        [Alias('Tenant')]
        [ValidateScript({ if ([string]::IsNullOrWhiteSpace($_)) { throw '-TenantId is blank: give the tenant id (a GUID) or its domain (contoso.onmicrosoft.com)' }; $true })]
        [string] $TenantId,

        [Parameter(Mandatory, ParameterSetName = 'Certificate')]
        [Parameter(Mandatory, ParameterSetName = 'CertificatePath')]
        [Parameter(Mandatory, ParameterSetName = 'CertificateThumbprint')]
        [Parameter(Mandatory, ParameterSetName = 'KeyVault')]
        [Parameter(ParameterSetName = 'Identity')]
        [Parameter(ParameterSetName = 'Delegated')]
        [Parameter(ParameterSetName = 'DeviceCode')]
        [Alias('AppId')]
        [ValidateScript({ if ([string]::IsNullOrWhiteSpace($_)) { throw '-ClientId is blank: give the application''s client id (appId, a GUID), or leave -ClientId out for a system-assigned managed identity' }; $true })]
        [string] $ClientId,

        [Parameter(Mandatory, ParameterSetName = 'Certificate')]
        [System.Security.Cryptography.X509Certificates.X509Certificate2] $Certificate,

        [Parameter(Mandatory, ParameterSetName = 'CertificatePath')]
        [string] $CertificatePath,

        [Parameter(ParameterSetName = 'CertificatePath')]
        [System.Security.SecureString] $CertificatePassword,

        [Parameter(Mandatory, ParameterSetName = 'CertificateThumbprint')]
        [string] $CertificateThumbprint,

        [Parameter(Mandatory, ParameterSetName = 'KeyVault')]
        [string] $KeyVaultCertificateId,

        [Parameter(ParameterSetName = 'KeyVault')]
        [System.Security.SecureString] $KeyVaultAccessToken,

        [Parameter(Mandatory, ParameterSetName = 'Identity')]
        [Alias('ManagedIdentity')]
        [switch] $Identity,

        [Parameter()]
        [ArgumentCompleter({
                param($commandName, $parameterName, $wordToComplete)
                # The library's one table of clouds, Connect-MgGraph's names.
                foreach ($name in [Keyroll.KeyrollNative]::CloudNames()) {
                    if ($name -like "$wordToComplete*") { [System.Management.Automation.CompletionResult]::new($name, $name, 'ParameterValue', $name) }
                }
            })]
        [string] $Environment,

        [Parameter()]
        [string] $GraphUrl,

        [Parameter()]
        [string] $LoginUrl,

        [Parameter()]
        [string] $CaCertificate,

        [Parameter()]
        [string] $Proxy,

        [Parameter()]
        [ValidateSet('v1.0', 'beta')]
        [string] $ApiVersion
    )
    if ($PSCmdlet.ParameterSetName -eq 'Delegated') {
        $PSCmdlet.ThrowTerminatingError((Get-KrArgumentError -ErrorId 'DelegatedSignInNotAvailable' -TargetObject ($Scopes -join ' ') -Message (
                    'an interactive browser sign-in (-Scopes alone) is not available in EntraKeyRoll. Add -UseDeviceCode to sign in ' +
                    "with a code: Connect-EntraKeyRoll -UseDeviceCode -Scopes '$($Scopes -join "', '")'; or sign in with " +
                    "Connect-MgGraph -Scopes '$($Scopes -join "', '")' (or Connect-Entra), and the EntraKeyRoll cmdlets use that session; " +
                    'or connect app-only: Connect-EntraKeyRoll -TenantId <tenant> -ClientId <appId> with -CertificatePath, ' +
                    '-Certificate or -CertificateThumbprint, or -Identity (managed identity), or -AccessToken')))
    }
    if ($AccessToken -and $AccessToken.Length -eq 0) {
        $PSCmdlet.ThrowTerminatingError((Get-KrArgumentError -ErrorId 'EmptyAccessToken' -TargetObject $null -Message (
                    '-AccessToken is empty: give the Graph access token as a SecureString (ConvertTo-SecureString), or leave ' +
                    '-AccessToken out to use a certificate, a managed identity or the AZURE_* variables')))
    }
    $signer = switch ($PSCmdlet.ParameterSetName) {
        'Certificate' { Open-KrIdentity -Certificate $Certificate }
        'CertificatePath' { Open-KrIdentity -Path $CertificatePath -Password $CertificatePassword }
        'CertificateThumbprint' { Open-KrIdentity -Thumbprint $CertificateThumbprint -ParameterName 'CertificateThumbprint' }
    }
    if ($PSCmdlet.ParameterSetName -eq 'KeyVault') {
        $signer = Open-KrConnectVaultIdentity -CertificateId $KeyVaultCertificateId -AccessToken $KeyVaultAccessToken -Environment $Environment -GraphUrl $GraphUrl -LoginUrl $LoginUrl -CaCertificate $CaCertificate -Proxy $Proxy -Caller $PSCmdlet
    }
    if (Test-KrFailure $signer) { $PSCmdlet.ThrowTerminatingError($signer.ErrorRecord) }
    $connection = $null
    $description = $null
    $failure = $null
    try {
        $settings = [ordered]@{
            cloud           = $Environment
            graphUrl        = $GraphUrl
            loginUrl        = $LoginUrl
            apiVersion      = $ApiVersion
            caFile          = if ($CaCertificate) { $PSCmdlet.GetUnresolvedProviderPathFromPSPath($CaCertificate) } else { $null }
            proxy           = $Proxy
            tenantId        = $TenantId
            clientId        = $ClientId
            managedIdentity = [bool]$Identity
            environment     = Get-KrEnvironment
        }
        if ($PSCmdlet.ParameterSetName -eq 'DeviceCode') {
            $settings.managedIdentity = $false
            $settings.scopes = @($Scopes | ForEach-Object { $_ -split '[\s,]+' } | Where-Object { $_ })
            $connection = Connect-KrDeviceCode -Settings $settings -Caller $PSCmdlet
        }
        else {
            $connection = Open-KrConnection -Settings $settings -Identity $signer -AccessToken $AccessToken
        }
        if (Test-KrFailure $connection) { $failure = $connection.ErrorRecord; $connection = $null }
        else { $description = ConvertFrom-Json -InputObject $connection.Description }
    }
    finally {
        # Stopped (Ctrl+C) or failed: nothing stays open in the library.
        if ($failure -or -not $description) {
            if ($connection -is [System.IDisposable]) { $connection.Dispose() }
            Close-KrIdentity -Identity $signer
        }
    }
    if ($failure) { $PSCmdlet.ThrowTerminatingError($failure) }
    # Only now, with the new connection made, is the previous one replaced.
    if ($script:KrConnection) { Close-KrConnection -Connection $script:KrConnection }
    # A user's sign-in keeps the settings that name its cache entry, for Disconnect-EntraKeyRoll's sign-out.
    $signedIn = if ($PSCmdlet.ParameterSetName -eq 'DeviceCode') { $settings } else { $null }
    $script:KrConnection = [pscustomobject]@{ Connection = $connection; Signer = $signer; Transient = $false; Source = 'Connect-EntraKeyRoll'; SignIn = $signedIn }
    Write-Verbose "connected to $(Get-KrProperty $description 'graphUrl') as $(Get-KrProperty $description 'credential')"
    [pscustomobject]@{
        PSTypeName = 'EntraKeyRoll.Connection'
        GraphUrl   = Get-KrProperty $description 'graphUrl'
        LoginUrl   = Get-KrProperty $description 'loginUrl'
        Cloud      = Get-KrProperty $description 'cloud'
        ApiVersion = Get-KrProperty $description 'apiVersion'
        Credential = Get-KrProperty $description 'credential'
    }
}
