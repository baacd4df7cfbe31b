# Every call into the binding assembly goes through this file, so that the rest of the module speaks
# PowerShell and this file alone speaks the facade's API.

function Initialize-KrNative {
    # Loads the native library by full path before the first call, so that the assembly's P/Invoke finds this
    # copy (on Windows PowerShell a library loaded by full path satisfies later loads by name).
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Path)
    [Keyroll.KeyrollNative]::Load($Path)
}

function Get-KrErrorReport {
    # The library's error object carried by a facade exception, or $null for other exceptions.
    [CmdletBinding()]
    param([Parameter(Mandatory)] [System.Exception] $Exception)
    if ($Exception -isnot [Keyroll.KeyrollException]) { return $null }
    [pscustomobject]@{
        Kind            = $Exception.Kind
        Code            = $Exception.Code
        Message         = $Exception.Message
        HttpStatus      = $Exception.HttpStatus
        RequestId       = $Exception.RequestId
        ClientRequestId = $Exception.ClientRequestId
    }
}

function Invoke-KrFacade {
    # Runs a facade call; a JSON answer is returned as objects. Failures become ErrorRecords (see Errors.ps1)
    # thrown to the caller, which writes them with $PSCmdlet.WriteError or ThrowTerminatingError.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [scriptblock] $Call,
        [object] $TargetObject,
        [switch] $Json
    )
    try {
        $answer = & $Call
    }
    catch {
        throw (New-KrErrorRecord -Exception $_.Exception -TargetObject $TargetObject)
    }
    if ($Json) { $answer | ConvertFrom-Json } else { $answer }
}

function ConvertTo-KrSettingsJson {
    # Settings for the library as compact JSON; $null entries are left out (the library applies its defaults).
    [CmdletBinding()]
    [OutputType([string])]
    param([Parameter(Mandatory)] [System.Collections.IDictionary] $Settings)
    $clean = [ordered]@{}
    foreach ($k in $Settings.Keys) {
        $v = $Settings[$k]
        if ($null -eq $v -or ($v -is [string] -and $v -eq '')) { continue }
        if ($v -is [System.Collections.IDictionary]) { $v = ConvertTo-KrSettingsJson -Settings $v | ConvertFrom-Json }
        $clean[$k] = $v
    }
    ConvertTo-Json -InputObject $clean -Depth 8 -Compress
}

function Open-KrIdentity {
    # A signing identity (certificate and private key) in the library from a certificate object, a PFX/PEM file
    # or the Windows certificate store. A certificate whose key cannot be exported (a smart card, a store key
    # marked non-exportable) is returned as a two-phase signer: .NET signs, the library builds the proof.
    [CmdletBinding(DefaultParameterSetName = 'Certificate')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'Certificate')]
        [System.Security.Cryptography.X509Certificates.X509Certificate2] $Certificate,
        [Parameter(Mandatory, ParameterSetName = 'Path')] [string] $Path,
        [Parameter(ParameterSetName = 'Path')] [System.Security.SecureString] $Password,
        [Parameter(Mandatory, ParameterSetName = 'Thumbprint')] [string] $Thumbprint
    )
    switch ($PSCmdlet.ParameterSetName) {
        'Path' {
            $full = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($Path)
            return Use-KrPlainText -SecureString $Password -Action {
                param($plain)
                Invoke-KrFacade -TargetObject $full -Call { [Keyroll.SigningIdentity]::OpenFile($full, $plain) }
            }
        }
        'Thumbprint' { $Certificate = Get-KrStoreCertificate -Thumbprint $Thumbprint }
    }
    if (-not $Certificate.HasPrivateKey) {
        throw (New-KrArgumentError -Message "the certificate $($Certificate.Thumbprint) has no private key: a proof can only be signed with the certificate's private key" -ErrorId 'CertificateWithoutPrivateKey' -TargetObject $Certificate)
    }
    # Export to PKCS#12 under a one-time random password, wiped with the array once the library has read it.
    $secret = [byte[]]::new(24)
    [System.Security.Cryptography.RandomNumberGenerator]::Create().GetBytes($secret)
    $password = [Convert]::ToBase64String($secret)
    $pfx = $null
    try {
        $pfx = $Certificate.Export([System.Security.Cryptography.X509Certificates.X509ContentType]::Pfx, $password)
    }
    catch {
        Write-Verbose "the private key of $($Certificate.Thumbprint) cannot be exported; signing inside .NET (two-phase)"
        return [pscustomobject]@{ PSTypeName = 'EntraKeyRoll.TwoPhaseSigner'; Certificate = $Certificate }
    }
    try {
        Invoke-KrFacade -TargetObject $Certificate -Call { [Keyroll.SigningIdentity]::Open($pfx, $password) }
    }
    finally {
        [Array]::Clear($pfx, 0, $pfx.Length)
        [Array]::Clear($secret, 0, $secret.Length)
    }
}

function Close-KrIdentity {
    [CmdletBinding()]
    param([AllowNull()] [object] $Identity)
    if ($Identity -is [System.IDisposable]) { $Identity.Dispose() }
}

function Get-KrStoreCertificate {
    # A certificate with its private key from the current user's or the machine's store (Windows).
    [CmdletBinding()]
    [OutputType([System.Security.Cryptography.X509Certificates.X509Certificate2])]
    param([Parameter(Mandatory)] [string] $Thumbprint)
    $tp = ($Thumbprint -replace '[^0-9A-Fa-f]', '').ToUpperInvariant()
    foreach ($location in 'CurrentUser', 'LocalMachine') {
        $store = [System.Security.Cryptography.X509Certificates.X509Store]::new('My', $location)
        try {
            $store.Open('ReadOnly, OpenExistingOnly')
            $found = $store.Certificates.Find('FindByThumbprint', $tp, $false)
            if ($found.Count -gt 0) { return $found[0] }
        }
        catch { Write-Verbose "certificate store $location\My: $($_.Exception.Message)" }
        finally { $store.Close() }
    }
    throw [System.Management.Automation.ErrorRecord]::new(
        [System.Management.Automation.ItemNotFoundException]::new("no certificate with thumbprint $tp in Cert:\CurrentUser\My or Cert:\LocalMachine\My"),
        'CertificateNotFound', [System.Management.Automation.ErrorCategory]::ObjectNotFound, $Thumbprint)
}

function New-KrProof {
    # Mints a proof with an identity from Open-KrIdentity; a two-phase signer signs the library's signing input
    # with .NET's RSA (PKCS#1 v1.5, SHA-256) and the library assembles and checks the proof.
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)] [object] $Identity,
        [Parameter(Mandatory)] [string] $ObjectId,
        [int] $Lifetime = 0,
        [string] $Audience = ''
    )
    if ($Identity.PSObject.TypeNames -contains 'EntraKeyRoll.TwoPhaseSigner') {
        $cert = $Identity.Certificate
        $der = $cert.RawData
        $signingInput = Invoke-KrFacade -TargetObject $ObjectId -Call {
            [Keyroll.Proofs]::SigningInput($der, $ObjectId, [long]$Lifetime, $Audience)
        }
        $rsa = [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($cert)
        if (-not $rsa) {
            throw (New-KrArgumentError -Message "the certificate $($cert.Thumbprint) does not have an RSA private key; proofs are RS256" -ErrorId 'CertificateNotRsa' -TargetObject $cert)
        }
        $signature = $rsa.SignData([System.Text.Encoding]::ASCII.GetBytes($signingInput),
            [System.Security.Cryptography.HashAlgorithmName]::SHA256, [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
        return Invoke-KrFacade -TargetObject $ObjectId -Call { [Keyroll.Proofs]::Assemble($signingInput, $signature, $der) }
    }
    Invoke-KrFacade -TargetObject $ObjectId -Call { [Keyroll.Proofs]::Mint($Identity, $ObjectId, [long]$Lifetime, $Audience) }
}

function Get-KrEnvironment {
    # The environment variables the library may use for credentials (AZURE_*, managed identity endpoints):
    # .NET keeps its own copy of the environment, so they are passed explicitly.
    [CmdletBinding()]
    [OutputType([System.Collections.IDictionary])]
    param()
    # Exactly the variables the library reads (nothing else, e.g. no AZURE_CLIENT_SECRET, is copied).
    $selected = [ordered]@{}
    foreach ($name in 'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_CERTIFICATE_PATH',
        'AZURE_CLIENT_CERTIFICATE_PASSWORD', 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER') {
        $value = [Environment]::GetEnvironmentVariable($name)
        if ($value) { $selected[$name] = $value }
    }
    $selected
}

function Open-KrConnection {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Settings,
        [object] $Identity
    )
    $json = ConvertTo-KrSettingsJson -Settings $Settings
    $signer = if ($Identity -is [System.IDisposable]) { $Identity } else { $null }
    Invoke-KrFacade -Call { [Keyroll.Connection]::Open($json, $signer) }
}

function Close-KrConnection {
    [CmdletBinding()]
    param([AllowNull()] [object] $Connection)
    if ($Connection) {
        if ($Connection.Connection -is [System.IDisposable]) { $Connection.Connection.Dispose() }
        Close-KrIdentity -Identity $Connection.Identity
    }
}

function Get-KrConnection {
    # The connection of Connect-EntraKeyRoll, or a terminating error telling how to connect.
    [CmdletBinding()]
    param([Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Caller)
    if (-not $script:KrConnection) {
        $Caller.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new(
                [System.InvalidOperationException]::new('not connected: run Connect-EntraKeyRoll first (an access token, an app certificate, a managed identity, or the AZURE_* variables)'),
                'NotConnected', [System.Management.Automation.ErrorCategory]::ConnectionError, $null))
    }
    $script:KrConnection
}

function Get-KrTarget {
    # The object a cmdlet is about, as the library's target settings.
    [CmdletBinding()]
    [OutputType([System.Collections.IDictionary])]
    param([string] $ObjectId, [string] $AppId, [string] $TargetType = 'Application')
    $kind = switch ($TargetType) {
        'ServicePrincipal' { 'servicePrincipal' }
        'AgentIdentityBlueprint' { 'agentIdentityBlueprint' }
        default { 'application' }
    }
    $t = [ordered]@{ kind = $kind }
    if ($ObjectId) { $t.objectId = $ObjectId }
    if ($AppId) { $t.appId = $AppId }
    $t
}
