# Every call into the binding assembly goes through this file, so that the rest of the module speaks
# PowerShell and this file alone speaks the facade's API.
#
# Scriptblocks handed to the helpers here take their values as parameters (param(...) + -ArgumentList), never by
# name from the caller: a scriptblock run by a helper sees the helper's variables first (dynamic scoping), so a
# name shared by caller and helper would silently read the wrong value.

function Initialize-KrNative {
    # Loads the native library by full path before the first call, so that the assembly's P/Invoke finds this
    # copy, and checks that its ABI is the one this assembly was built for. A library that cannot be loaded is a
    # terminating error naming the file and the loader's own reason (missing file or dependency, glibc version,
    # architecture).
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Path)
    try {
        [Keyroll.KeyrollNative]::Load($Path)
    }
    catch {
        $e = $_.Exception
        while ($e -is [System.Management.Automation.MethodInvocationException] -and $e.InnerException) { $e = $e.InnerException }
        # The facade's message names the file and the loader's reason (or, for an ABI mismatch, both builds).
        $message = "EntraKeyRoll: $($e.Message) (this process: $(Get-KrRuntimeIdentifier), PowerShell $($PSVersionTable.PSVersion)). " +
        'Use the module package built for this platform and release, or set $env:ENTRAKEYROLL_NATIVE_PATH to a matching library.'
        throw [System.Management.Automation.ErrorRecord]::new(
            [System.InvalidOperationException]::new($message, $e), "NativeLibraryLoad.$($e.GetType().Name)",
            [System.Management.Automation.ErrorCategory]::ResourceUnavailable, $Path)
    }
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
        Setting         = $Exception.Setting
        Detail          = $Exception.Detail
    }
}

function Invoke-KrFacade {
    # Calls a facade method through [Keyroll.Outcome]: -On is a facade type ([Keyroll.Proofs]) for a static method
    # or an object (a connection) for an instance one. Returns the answer (as objects with -AsObject), or on
    # failure an EntraKeyRoll.Failure (New-KrFailure) holding the ErrorRecord (see Errors.ps1) that the command
    # writes with $PSCmdlet.WriteError or ThrowTerminatingError. Nothing is thrown: PowerShell records every
    # exception a script catches, in $Error and -ErrorVariable, before the command's own record, so failures travel
    # as values and the command's record is the only one a user sees.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [object] $On,
        [Parameter(Mandatory)] [string] $Method,
        [object[]] $ArgumentList = @(),
        [object] $TargetObject,
        [switch] $AsObject
    )
    $outcome = [Keyroll.Outcome]::Call($On, $Method, $ArgumentList)
    if (-not $outcome.Ok) {
        return New-KrFailure -ErrorRecord (ConvertTo-KrErrorRecord -Exception $outcome.Error -TargetObject $TargetObject)
    }
    if ($AsObject) { ConvertFrom-Json -InputObject $outcome.Value } else { $outcome.Value }
}

function New-KrFailure {
    # A failure travelling back to the command as a value (see Invoke-KrFacade for why not as an exception).
    [CmdletBinding()]
    param([Parameter(Mandatory)] [System.Management.Automation.ErrorRecord] $ErrorRecord)
    [pscustomobject]@{ PSTypeName = 'EntraKeyRoll.Failure'; ErrorRecord = $ErrorRecord }
}

function Test-KrFailure {
    # Whether a helper's answer is a failure (New-KrFailure).
    [CmdletBinding()]
    [OutputType([bool])]
    param([AllowNull()] [object] $Value)
    ($null -ne $Value) -and ($Value -is [psobject]) -and ($Value.PSObject.TypeNames -contains 'EntraKeyRoll.Failure')
}

function ConvertTo-KrSettingsJson {
    # Settings for the library as compact JSON; $null entries are left out (the library applies its defaults).
    # -Secret entries (a token, a key's password) are added to this JSON only, never to the caller's settings.
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Settings,
        [System.Collections.IDictionary] $Secret
    )
    $clean = Get-KrCleanSettings -Settings $Settings
    if ($Secret) { foreach ($k in $Secret.Keys) { $clean[$k] = $Secret[$k] } }
    ConvertTo-Json -InputObject $clean -Depth 8 -Compress
}

function Get-KrCleanSettings {
    # A copy of the settings without $null or empty-string entries, nested dictionaries included.
    [CmdletBinding()]
    [OutputType([System.Collections.IDictionary])]
    param([Parameter(Mandatory)] [System.Collections.IDictionary] $Settings)
    $clean = [ordered]@{}
    foreach ($k in $Settings.Keys) {
        $v = $Settings[$k]
        if ($null -eq $v -or ($v -is [string] -and $v -eq '')) { continue }
        if ($v -is [System.Collections.IDictionary]) { $v = Get-KrCleanSettings -Settings $v }
        $clean[$k] = $v
    }
    $clean
}

function Open-KrIdentity {
    # A signing identity in the library from a certificate object, a PFX/PEM file or the certificate store. A
    # file's key is read by the library. A certificate object's key (and a store certificate's) stays in its own
    # key object: the library gets the public certificate only and asks for each signature (a client assertion, a
    # proof), which the facade makes with the key object's SignData on this thread. Its export is never asked for,
    # so a store key marked non-exportable or a smart card signs like any other. -ParameterName is the user's
    # parameter the certificate came from, for the errors (-Certificate, -NewCertificate, -CertificateThumbprint).
    [CmdletBinding(DefaultParameterSetName = 'Certificate')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'Certificate')]
        [System.Security.Cryptography.X509Certificates.X509Certificate2] $Certificate,
        [Parameter(Mandatory, ParameterSetName = 'Path')] [string] $Path,
        [Parameter(ParameterSetName = 'Path')] [System.Security.SecureString] $Password,
        [Parameter(Mandatory, ParameterSetName = 'Thumbprint')] [string] $Thumbprint,
        [string] $ParameterName = 'Certificate'
    )
    switch ($PSCmdlet.ParameterSetName) {
        'Path' {
            $full = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($Path)
            return Use-KrPlainText -Secret $Password -ArgumentList $full -Action {
                param($plain, $file)
                Invoke-KrFacade -TargetObject $file -On ([Keyroll.SigningIdentity]) -Method 'OpenFile' -ArgumentList $file, $plain
            }
        }
        'Thumbprint' {
            # Into an untyped variable first: $Certificate is typed, and a failure assigned to it would be a cast
            # error instead of the failure.
            $found = Get-KrStoreCertificate -Thumbprint $Thumbprint -ParameterName $ParameterName
            if (Test-KrFailure $found) { return $found }
            $Certificate = $found
        }
    }
    if (-not $Certificate.HasPrivateKey) {
        $pathParameter = ($ParameterName -replace 'Thumbprint$', '') + 'Path'
        return New-KrFailure (Get-KrArgumentError -Message "-$($ParameterName): the certificate $($Certificate.Thumbprint) has no private key, and only its private key can sign: give the certificate from the store that holds its key (Get-Item Cert:\CurrentUser\My\<thumbprint>), or its PFX file with -$pathParameter" -ErrorId 'CertificateWithoutPrivateKey' -TargetObject $Certificate.Thumbprint)
    }
    $key = Get-KrCertificateKey -Certificate $Certificate
    if (Test-KrFailure $key) { return $key }
    if ($null -eq $key) {
        $algorithm = $Certificate.PublicKey.Oid.FriendlyName
        return New-KrFailure (Get-KrArgumentError -Message "-$($ParameterName): the certificate $($Certificate.Thumbprint) has a $algorithm key, not RSA; Entra signs proofs and client assertions with RS256 only: give an RSA certificate (2048 bits or more)" -ErrorId 'CertificateNotRsa' -TargetObject $Certificate.Thumbprint)
    }
    # The public part only: the key stays in its key object.
    $public = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new($Certificate.RawData)
    Invoke-KrFacade -TargetObject $Certificate.Thumbprint -On ([Keyroll.SigningIdentity]) -Method 'OpenExternal' -ArgumentList $public, $key, 0
}

function Get-KrCertificateKey {
    # The certificate's RSA private key object ($null when the key is not RSA). Only its SignData is ever used
    # (by the facade); nothing here or there exports it.
    [CmdletBinding()]
    param([Parameter(Mandatory)] [System.Security.Cryptography.X509Certificates.X509Certificate2] $Certificate)
    $found = [Keyroll.Outcome]::Call([System.Security.Cryptography.X509Certificates.RSACertificateExtensions], 'GetRSAPrivateKey', @(, $Certificate))
    if (-not $found.Ok) {
        return New-KrFailure ([System.Management.Automation.ErrorRecord]::new(
                [System.InvalidOperationException]::new("the private key of certificate $($Certificate.Thumbprint) cannot be opened: $($found.Error.Message)", $found.Error),
                'CertificateKeyUnavailable', [System.Management.Automation.ErrorCategory]::SecurityError, $Certificate.Thumbprint))
    }
    $found.Value
}

function Close-KrIdentity {
    [CmdletBinding()]
    param([AllowNull()] [object] $Identity)
    if ($Identity -is [System.IDisposable]) { $Identity.Dispose() }
}

function Get-KrStoreCertificate {
    # A certificate with its private key from the current user's or the machine's store (on Linux and macOS .NET
    # keeps CurrentUser\My as a folder of the user's profile).
    [CmdletBinding()]
    [OutputType([System.Security.Cryptography.X509Certificates.X509Certificate2])]
    param([Parameter(Mandatory)] [string] $Thumbprint, [string] $ParameterName = 'CertificateThumbprint')
    # Spaces, colons and the invisible left-to-right mark that the certificate dialog of Windows copies with a
    # thumbprint are separators; anything else that is not a hex digit means this is not a thumbprint (a subject,
    # a file name), and is refused as such rather than silently stripped into another thumbprint.
    $tp = ($Thumbprint -replace "[\s:\u200E\u200F]", '').ToUpperInvariant()
    if ($tp -notmatch '^[0-9A-F]{40}$') {
        $shown = if ($Thumbprint.Length -gt 60) { $Thumbprint.Substring(0, 60) + '...' } else { $Thumbprint }
        $why = if ($tp -match '[^0-9A-F]') { 'has characters that are not hex digits' } else { "has $($tp.Length) hex digits" }
        return New-KrFailure (Get-KrArgumentError -ErrorId 'InvalidThumbprint' -TargetObject $Thumbprint -Message (
                "-$($ParameterName): '$shown' is not a certificate thumbprint (it $why): give the 40 hex digits of the " +
                'SHA-1 thumbprint (Get-ChildItem Cert:\CurrentUser\My shows them), or the certificate itself with -Certificate or its file with -CertificatePath'))
    }
    foreach ($location in [System.Security.Cryptography.X509Certificates.StoreLocation]::CurrentUser, [System.Security.Cryptography.X509Certificates.StoreLocation]::LocalMachine) {
        $store = New-Object System.Security.Cryptography.X509Certificates.X509Store ([System.Security.Cryptography.X509Certificates.StoreName]::My), $location
        try {
            # A store that does not exist (LocalMachine on Linux) is no error here: the next one is tried.
            $opened = [Keyroll.Outcome]::Call($store, 'Open', @([System.Security.Cryptography.X509Certificates.OpenFlags]'ReadOnly, OpenExistingOnly'))
            if (-not $opened.Ok) { Write-Verbose "certificate store $location\My: $($opened.Error.Message)"; continue }
            $found = $store.Certificates.Find('FindByThumbprint', $tp, $false)
            if ($found.Count -gt 0) { return $found[0] }
        }
        finally { $store.Close() }
    }
    New-KrFailure ([System.Management.Automation.ErrorRecord]::new(
            [System.Management.Automation.ItemNotFoundException]::new("no certificate with thumbprint $tp in Cert:\CurrentUser\My or Cert:\LocalMachine\My: import it there, or give it with -Certificate or -CertificatePath"),
            'CertificateNotFound', [System.Management.Automation.ErrorCategory]::ObjectNotFound, $Thumbprint))
}

function Get-KrProof {
    # Mints a proof with an identity from Open-KrIdentity (a key the library holds, or the certificate's own key
    # object, which the facade asks for the signature on this thread).
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)] [object] $Identity,
        [Parameter(Mandatory)] [string] $ObjectId,
        [int] $Lifetime = 0,
        [string] $Audience = ''
    )
    Invoke-KrFacade -TargetObject $ObjectId -On ([Keyroll.Proofs]) -Method 'Mint' -ArgumentList $Identity, $ObjectId, ([long]$Lifetime), $Audience
}

function Get-KrEnvironment {
    # The environment variables the library may use for credentials (AZURE_*, managed identity endpoints):
    # .NET keeps its own copy of the environment, so they are passed explicitly.
    [CmdletBinding()]
    [OutputType([System.Collections.IDictionary])]
    param()
    # Exactly the variables the library reads, as the library names them (nothing else, e.g. no
    # AZURE_CLIENT_SECRET, is copied).
    $selected = [ordered]@{}
    foreach ($name in [Keyroll.KeyrollNative]::CredentialEnvironmentVariables()) {
        $value = [Environment]::GetEnvironmentVariable($name)
        if ($value) { $selected[$name] = $value }
    }
    $selected
}

function Open-KrConnection {
    # A connection in the library. -AccessToken (a SecureString, or the string a Graph session handed out) becomes
    # text only inside this call: the settings JSON that carries it is a .NET string the library cannot wipe, so it
    # lives only until collected.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Settings,
        [object] $Identity,
        [AllowNull()] [object] $AccessToken
    )
    $signer = if ($Identity -is [System.IDisposable]) { $Identity } else { $null }
    Use-KrPlainText -Secret $AccessToken -ArgumentList $Settings, $signer -Action {
        param($plain, $s, $id)
        $secret = @{}
        if ($plain) { $secret.accessToken = $plain }
        $j = ConvertTo-KrSettingsJson -Settings $s -Secret $secret
        Invoke-KrFacade -On ([Keyroll.Connection]) -Method 'Open' -ArgumentList $j, $id
    }
}

function Close-KrConnection {
    [CmdletBinding()]
    param([AllowNull()] [object] $Connection)
    if ($Connection) {
        if ($Connection.Connection -is [System.IDisposable]) { $Connection.Connection.Dispose() }
        Close-KrIdentity -Identity $Connection.Signer
    }
}

function Get-KrConnection {
    # The connection the cmdlets use: the one of Connect-EntraKeyRoll; else, when a script signed in with
    # Connect-MgGraph or Connect-Entra (Microsoft.Graph.Authentication), a connection with that session's token,
    # made for this one call (.Transient: the caller closes it); else a terminating error telling how to connect.
    [CmdletBinding()]
    param([Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Caller)
    if ($script:KrConnection) { return $script:KrConnection }
    $session = Get-KrGraphSessionConnection
    if (Test-KrFailure $session) { $Caller.ThrowTerminatingError($session.ErrorRecord) }
    if ($session) { return $session }
    $Caller.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new(
            [System.InvalidOperationException]::new('not connected: run Connect-EntraKeyRoll first (-AccessToken, -TenantId/-ClientId with -Certificate, -CertificatePath or -CertificateThumbprint, or -Identity), or sign in with Connect-MgGraph / Connect-Entra, whose session the cmdlets then use'),
            'NotConnected', [System.Management.Automation.ErrorCategory]::ConnectionError, $null))
}

function Close-KrTransientConnection {
    # Closes a connection Get-KrConnection made for one call (a Graph session's); leaves Connect-EntraKeyRoll's.
    [CmdletBinding()]
    param([AllowNull()] [object] $Connection)
    if ($Connection -and $Connection.Transient) { Close-KrConnection -Connection $Connection }
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

function Test-KrObjectId {
    # ValidateScript body for -ObjectId: a GUID, or a terminating error that says what was given and what is
    # meant. Keeps an object piped by value from binding as its ToString() text.
    [CmdletBinding()]
    [OutputType([bool])]
    param([AllowNull()] [object] $Value, [string] $Name = 'ObjectId')
    $text = [string]$Value
    if ($text -match '^\{?[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\}?$') { return $true }
    $shown = if ($text.Length -gt 60) { $text.Substring(0, 60) + '...' } else { $text }
    if ($Name -eq 'KeyId') {
        # A credential's id, not the object's: say where a user finds it.
        throw "-KeyId must be the key id (a GUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6), not '$shown'. Give the KeyId of the credential to remove (Get-EntraMSApplicationKey lists the keys with their KeyId; New-EntraMSApplicationPassword returned the secret's)."
    }
    throw "-$Name must be the object id (a GUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6), not '$shown'. Give the object's id (Get-EntraApplication's Id), or -AppId for the application's client id."
}

function Test-KrBodyCredential {
    # Whether a credential taken out of -BodyParameter is a hashtable or an object with properties (what
    # Test-KrCredentialObject demands of -KeyCredential), without throwing.
    [CmdletBinding()]
    [OutputType([bool])]
    param([AllowNull()] [object] $Value)
    if ($Value -is [System.Collections.IDictionary]) { return $true }
    $null -ne $Value -and $Value -isnot [string] -and $Value -isnot [System.ValueType] -and $Value -isnot [array]
}

function Test-KrCredentialObject {
    # ValidateScript body for -KeyCredential / -PasswordCredential: a hashtable or an object with properties, not
    # a string, number or array (which would otherwise reach the property checks as something else entirely).
    [CmdletBinding()]
    [OutputType([bool])]
    param([AllowNull()] [object] $Value, [string] $Name)
    if ($Value -is [System.Collections.IDictionary]) { return $true }
    if ($null -ne $Value -and $Value -isnot [string] -and $Value -isnot [System.ValueType] -and $Value -isnot [array]) { return $true }
    $what = if ($null -eq $Value) { 'nothing' } else { "a $($Value.GetType().FullName)" }
    throw "-$Name must be a hashtable or an object with Graph's property names, e.g. @{ Key = [System.Convert]::FromBase64String('<base64 certificate>') }, not $what"
}
