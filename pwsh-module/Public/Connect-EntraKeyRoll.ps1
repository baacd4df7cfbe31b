function Connect-EntraKeyRoll {
    <#
    .SYNOPSIS
    Connects the module to Microsoft Graph (or the keyroll emulator) for the cmdlets that call it.

    .DESCRIPTION
    Chooses how to authenticate and where to connect; nothing is sent until a cmdlet needs a token.
    - An access token (-AccessToken, a SecureString).
    - The application itself: -TenantId, -ClientId and its certificate (-Certificate, -CertificatePath with
      -CertificatePassword, or -CertificateThumbprint). That certificate also mints the proofs of addKey and
      removeKey when -Proof is omitted.
    - A managed identity (-Identity, with -ClientId for a user-assigned one).
    - With none of these, the AZURE_* environment variables (AZURE_TENANT_ID, AZURE_CLIENT_ID,
      AZURE_CLIENT_CERTIFICATE_PATH, ...) and the managed identity endpoint variables are used.
    -Environment selects the cloud (Global, USGov, USGovDoD, China, or the Azure PowerShell names); -GraphUrl,
    -LoginUrl and -CaCertificate point at another endpoint such as the emulator (keyroll emulator).

    .PARAMETER AccessToken
    An access token for Graph, as a SecureString.

    .PARAMETER TenantId
    The tenant (id or domain) to authenticate in as the application.

    .PARAMETER ClientId
    The application's appId, or the client id of a user-assigned managed identity.

    .PARAMETER Certificate
    The application's certificate with its private key.

    .PARAMETER CertificatePath
    The application's certificate as a PFX or PEM file with its private key.

    .PARAMETER CertificatePassword
    The password of -CertificatePath.

    .PARAMETER CertificateThumbprint
    The application's certificate in the Windows certificate store.

    .PARAMETER Identity
    Authenticate with the managed identity of the machine, App Service or Automation account.

    .PARAMETER Environment
    The cloud: Global (default), USGov, USGovDoD, China (or AzureCloud, AzureUSGovernment, AzureChinaCloud).

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
    Connect-EntraKeyRoll -Identity

    In an Azure Automation runbook or on an Azure VM.

    .EXAMPLE
    $emu = keyroll emulator --listen 127.0.0.1:8443 | Select-Object -First 1 | ConvertFrom-Json
    Connect-EntraKeyRoll -AccessToken $token -GraphUrl $emu.graph_url -LoginUrl $emu.login_url -CaCertificate $emu.ca_cert

    Rehearses against the local emulator.

    .OUTPUTS
    EntraKeyRoll.Connection: where the module is connected and as whom (no secrets).
    #>
    [CmdletBinding(DefaultParameterSetName = 'Environment')]
    [OutputType('EntraKeyRoll.Connection')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'AccessToken')]
        [ValidateNotNull()]
        [System.Security.SecureString] $AccessToken,

        [Parameter(Mandatory, ParameterSetName = 'Certificate')]
        [Parameter(Mandatory, ParameterSetName = 'CertificatePath')]
        [Parameter(Mandatory, ParameterSetName = 'CertificateThumbprint')]
        [Alias('Tenant')]
        [string] $TenantId,

        [Parameter(Mandatory, ParameterSetName = 'Certificate')]
        [Parameter(Mandatory, ParameterSetName = 'CertificatePath')]
        [Parameter(Mandatory, ParameterSetName = 'CertificateThumbprint')]
        [Parameter(ParameterSetName = 'Identity')]
        [Alias('AppId', 'ApplicationId')]
        [string] $ClientId,

        [Parameter(Mandatory, ParameterSetName = 'Certificate')]
        [System.Security.Cryptography.X509Certificates.X509Certificate2] $Certificate,

        [Parameter(Mandatory, ParameterSetName = 'CertificatePath')]
        [string] $CertificatePath,

        [Parameter(ParameterSetName = 'CertificatePath')]
        [System.Security.SecureString] $CertificatePassword,

        [Parameter(Mandatory, ParameterSetName = 'CertificateThumbprint')]
        [string] $CertificateThumbprint,

        [Parameter(Mandatory, ParameterSetName = 'Identity')]
        [Alias('ManagedIdentity')]
        [switch] $Identity,

        [Parameter()]
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
    $signer = $null
    try {
        $signer = switch ($PSCmdlet.ParameterSetName) {
            'Certificate' { Open-KrIdentity -Certificate $Certificate }
            'CertificatePath' { Open-KrIdentity -Path $CertificatePath -Password $CertificatePassword }
            'CertificateThumbprint' { Open-KrIdentity -Thumbprint $CertificateThumbprint }
        }
        if ($null -ne $signer -and $signer -isnot [System.IDisposable]) {
            throw (New-KrArgumentError -Message 'the connection certificate signs inside the library: its private key must be exportable (or give it as a file)' -ErrorId 'ConnectKeyNotExportable' -TargetObject $ClientId)
        }
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
        $connection = if ($AccessToken) {
            Use-KrPlainText -SecureString $AccessToken -Action {
                param($plain)
                $settings.accessToken = $plain
                try { Open-KrConnection -Settings $settings -Identity $signer } finally { $settings.Remove('accessToken') }
            }
        }
        else {
            Open-KrConnection -Settings $settings -Identity $signer
        }
    }
    catch {
        Close-KrIdentity -Identity $signer
        $PSCmdlet.ThrowTerminatingError($_)
    }
    if ($script:KrConnection) { Close-KrConnection -Connection $script:KrConnection }
    $script:KrConnection = [pscustomobject]@{ Connection = $connection; Signer = $signer; Identity = $signer }
    $description = Invoke-KrFacade -Json -Call { $connection.Describe() }
    Write-Verbose "connected to $($description.graphUrl) as $($description.credential)"
    [pscustomobject]@{
        PSTypeName = 'EntraKeyRoll.Connection'
        GraphUrl   = $description.graphUrl
        LoginUrl   = $description.loginUrl
        Cloud      = $description.cloud
        ApiVersion = $description.apiVersion
        Credential = $description.credential
    }
}
