function ConvertTo-KrErrorCategory {
    # Maps the library's error kind (input, rejected, service, transport, internal) and HTTP status onto
    # PowerShell's error categories.
    [CmdletBinding()]
    [OutputType([System.Management.Automation.ErrorCategory])]
    param([string] $Kind, [int] $HttpStatus, [string] $Code)
    $c = [System.Management.Automation.ErrorCategory]
    # Codes that say more than their kind: a file that does not exist, a credential id the object does not have,
    # a certificate the object already has.
    switch ($Code) {
        'file_not_found' { return $c::ObjectNotFound }
        'key_not_found' { return $c::ObjectNotFound }
        'password_not_found' { return $c::ObjectNotFound }
        'already_present' { return $c::ResourceExists }
    }
    switch ($Kind) {
        'input' { return $c::InvalidArgument }
        'rejected' { return $c::InvalidData }
        'transport' { return $c::ConnectionError }
        'internal' { return $c::NotSpecified }
        'service' {
            switch ($HttpStatus) {
                400 { return $c::InvalidArgument }
                401 { return $c::AuthenticationError }
                403 { return $c::PermissionDenied }
                404 { return $c::ObjectNotFound }
                409 { return $c::ResourceExists }
                429 { return $c::LimitsExceeded }
                default { return $c::InvalidOperation }
            }
        }
    }
    $c::NotSpecified
}

function ConvertTo-KrErrorRecord {
    # An ErrorRecord from the library's error object: FullyQualifiedErrorId is the stable code (Graph's own code
    # for service errors, e.g. Authentication_MissingOrMalformed), the category follows kind and HTTP status, and
    # the exception's Data carries HttpStatus, RequestId and ClientRequestId for support.
    # -ErrorObject takes the library's error object itself (as objects from its JSON), for outcomes that arrive
    # as data rather than as an exception (the end of a polled roll); its exception is a KeyrollException whose
    # Data also carries the roll report, when there is one.
    [CmdletBinding(DefaultParameterSetName = 'Exception')]
    [OutputType([System.Management.Automation.ErrorRecord])]
    param(
        [Parameter(Mandatory, ParameterSetName = 'Exception')] [System.Exception] $Exception,
        [Parameter(Mandatory, ParameterSetName = 'ErrorObject')] [object] $ErrorObject,
        [object] $TargetObject
    )
    if ($PSCmdlet.ParameterSetName -eq 'ErrorObject') {
        # Fields the library leaves out when empty are absent (StrictMode: read them through PSObject).
        $field = { param($name) $p = $ErrorObject.PSObject.Properties[$name]; if ($p) { $p.Value } }
        $inner = [Keyroll.KeyrollException]::new([string](& $field 'message'))
        $rollReport = & $field 'report'
        if ($null -ne $rollReport) { $inner.Data['Report'] = $rollReport }
        $report = [pscustomobject]@{
            Kind            = & $field 'kind'
            Code            = & $field 'code'
            Message         = & $field 'message'
            HttpStatus      = & $field 'httpStatus'
            RequestId       = & $field 'requestId'
            ClientRequestId = & $field 'clientRequestId'
            Setting         = & $field 'setting'
            Detail          = & $field 'detail'
        }
    }
    else {
        $inner = $Exception
        while ($inner -is [System.Management.Automation.MethodInvocationException] -and $inner.InnerException) {
            $inner = $inner.InnerException
        }
        $report = Get-KrErrorReport -Exception $inner
    }
    if (-not $report) {
        return [System.Management.Automation.ErrorRecord]::new($inner, 'EntraKeyRoll.Unexpected',
            [System.Management.Automation.ErrorCategory]::NotSpecified, $TargetObject)
    }
    foreach ($name in 'Kind', 'Code', 'HttpStatus', 'RequestId', 'ClientRequestId') {
        if ($null -ne $report.$name) { $inner.Data[$name] = $report.$name }
    }
    $category = ConvertTo-KrErrorCategory -Kind $report.Kind -HttpStatus ([int]$report.HttpStatus) -Code ([string]$report.Code)
    $record = [System.Management.Automation.ErrorRecord]::new($inner, $report.Code, $category, $TargetObject)
    $ids = @()
    if ($report.HttpStatus) { $ids += "HTTP $($report.HttpStatus)" }
    if ($report.RequestId) { $ids += "request-id $($report.RequestId)" }
    if ($report.ClientRequestId) { $ids += "client-request-id $($report.ClientRequestId)" }
    $message = $report.Message
    # The one command of another tool the library quotes (Azure CLI's access policy) in Azure PowerShell's words:
    # a PowerShell user reads PowerShell parameters only.
    $message = $message -replace '`az keyvault set-policy --key-permissions (\w+)`', 'Set-AzKeyVaultAccessPolicy -PermissionsToKeys $1' -replace '`az keyvault set-policy --certificate-permissions (\w+)`', 'Set-AzKeyVaultAccessPolicy -PermissionsToCertificates $1'
    # A refused setting is named by the parameter that gives it here (the library names its JSON setting).
    $parameter = Get-KrSettingParameter -Setting ([string]$report.Setting)
    if ($parameter -and $report.Detail) { $message = "-$($parameter): $($report.Detail)" }
    if ($ids) { $message = "$message ($($ids -join ', '))" }
    $record.ErrorDetails = [System.Management.Automation.ErrorDetails]::new($message)
    if ($report.Code -eq 'Authentication_MissingOrMalformed' -or $report.Code -eq 'proof_rejected') {
        $record.ErrorDetails.RecommendedAction = 'Check the proof with Test-EntraKeyProof -Proof <proof> -ObjectId <id> -Certificate <current certificate>.'
    }
    elseif ($report.Kind -eq 'rejected' -and $report.Message -match 'without a currently valid certificate') {
        # The library says "force the removal"; in PowerShell that is -Force.
        $record.ErrorDetails.RecommendedAction = 'Add the new certificate first (New-EntraMSApplicationKey), or repeat with -Force to remove the last valid certificate anyway.'
    }
    else {
        # The library names what is missing as a concept; these are the parameters that give it here.
        $action = Get-KrRecommendedAction -Code ([string]$report.Code) -Message ([string]$report.Message)
        if ($action) { $record.ErrorDetails.RecommendedAction = $action }
    }
    $record
}

function Get-KrSettingParameter {
    # The parameter that gives one of the library's connection settings, by the setting's JSON name ($null for
    # one no parameter gives).
    [CmdletBinding()]
    [OutputType([string])]
    param([string] $Setting)
    switch ($Setting) {
        'cloud' { 'Environment' }
        'apiVersion' { 'ApiVersion' }
        'graphUrl' { 'GraphUrl' }
        'loginUrl' { 'LoginUrl' }
        'proxy' { 'Proxy' }
        'caFile' { 'CaCertificate' }
        'proof' { 'Proof' }
        'target (appId)' { 'AppId' }
        'target (objectId)' { 'ObjectId' }
        'inspect settings (objectId)' { 'ObjectId' }
        'deviceCode' { 'UseDeviceCode' }
        default { $null }
    }
}

function Get-KrArgumentError {
    # An ErrorRecord for input the module itself refuses (a parameter combination, a property PowerShell users
    # name differently from Graph); the message names the problem and the fix.
    [CmdletBinding()]
    [OutputType([System.Management.Automation.ErrorRecord])]
    param([Parameter(Mandatory)] [string] $Message, [Parameter(Mandatory)] [string] $ErrorId, [object] $TargetObject)
    [System.Management.Automation.ErrorRecord]::new([System.ArgumentException]::new($Message), $ErrorId,
        [System.Management.Automation.ErrorCategory]::InvalidArgument, $TargetObject)
}

function Get-KrRecommendedAction {
    # PowerShell's spelling of what the library's messages name as concepts (the library speaks to every host,
    # so it names no CLI flag and no PowerShell parameter): the parameters that give what is missing.
    [CmdletBinding()]
    [OutputType([string])]
    param([string] $Code, [string] $Message)
    if ($Message -match 'a key credential takes the public certificate only') { return "Give the public certificate as -KeyCredential's Key: `$cert.RawData of an X509Certificate2, or the bytes of a .cer file ([System.IO.File]::ReadAllBytes('new.cer')); a PFX is for signing (-CertificatePath)." }
    if ($Message -match 'protected by a password') { return 'Give the PFX password with -CertificatePassword (a SecureString), or -NewCertificatePassword for the new certificate.' }
    if ($Message -match 'PFX password is wrong') { return 'Check the password given with -CertificatePassword (or -NewCertificatePassword).' }
    if ($Message -match '^no credentials') { return 'Connect first: Connect-EntraKeyRoll -AccessToken, -TenantId and -ClientId with -Certificate, -CertificatePath or -CertificateThumbprint, or -Identity; or sign in with Connect-MgGraph.' }
    if ($Message -match 'needs a (tenant|client) id') { return 'Give -TenantId and -ClientId (the appId) to Connect-EntraKeyRoll.' }
    if ($Code -in 'authorization_declined', 'expired_token', 'sign_in_again', 'cancelled') { return 'Run Connect-EntraKeyRoll -UseDeviceCode again and complete the sign-in at the page shown before the code expires.' }
    if ($Code -eq 'token_cache') { return 'Remove the token cache file named above (or make it private: chmod 600), or set $env:KEYROLL_TOKEN_CACHE to another file, then run Connect-EntraKeyRoll -UseDeviceCode again.' }
    if ($Message -match 'AADSTS7000218') { return 'Leave out -ClientId to sign in through Microsoft Graph Command Line Tools, or allow public client flows on the app given with -ClientId.' }
    if ($Message -match 'OwnedBy is an application permission') { return 'Give -Scopes Application.ReadWrite.All with -UseDeviceCode, or connect as the app (-TenantId, -ClientId with -CertificatePath) to use Application.ReadWrite.OwnedBy.' }
    if ($Message -match 'user token \(delegated\)') { return 'Connect-EntraKeyRoll -UseDeviceCode -Scopes Application.ReadWrite.All as an owner of the object or an Application Administrator, or connect as an app with -TenantId, -ClientId and -CertificatePath.' }
    if ($Message -match 'AADSTS70011|scope is invalid') { return 'Check -Environment (Global, USGov, USGovDoD, China) of Connect-EntraKeyRoll.' }
    if ($Message -match 'within the verify timeout') { return 'Run the same Invoke-EntraKeyRollover again later to finish the roll, with a longer -VerifyTimeout if needed.' }
    if ($Message -match 'no tenant id is known') { return 'Give -TenantId, or leave out -RemoveOld.' }
    if ($Message -match 'appId could not be read; give its client id') { return 'Give -ClientId (the appId), or leave out -RemoveOld.' }
    if ($Message -match 'is the certificate in use now') { return 'Give the certificate to roll to as -NewCertificate or -NewCertificatePath, and the one in use now as -Certificate or -CertificatePath.' }
    if ($Code -eq 'signer_refused') { return "The certificate's key object refused to sign (its words are above): make its key usable by this account (insert the smart card, enter its PIN, grant the key's permission), or give the certificate as a PFX file with -CertificatePath (-NewCertificatePath)." }
    if ($Code -eq 'signer_timeout') { return "The certificate's key object did not sign in time (a PIN prompt or a smart card touch left waiting?): run the command again and answer the key's prompt." }
    if ($Message -match 'by its appId instead') { return 'Address the application with -AppId.' }
    if ($Code -eq 'key_too_small') { return 'Create the next version with -CreateInKeyVault -NewCertificateKeySize 2048 (or 3072, 4096).' }
    if ($Code -eq 'vault_not_issued') { return 'Run Invoke-EntraKeyRollover with -CreateInKeyVault again once the vault has issued the version (it waits for a version an earlier run asked for), or name an issued version.' }
    if ($Code -eq 'vault_forbidden') { return 'Grant the identity the permission named in the message on the vault (the built-in role it names, or an access policy), then run the command again.' }
    if ($Message -match 'trust its CA file') { return 'Give the CA certificate with -CaCertificate (Connect-EntraKeyRoll), or $env:ENTRAKEYROLL_CA_CERT for a Microsoft Graph session.' }
    $null
}
