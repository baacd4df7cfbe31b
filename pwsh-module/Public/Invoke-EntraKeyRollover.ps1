function Invoke-EntraKeyRollover {
    <#
    .SYNOPSIS
    Rolls applications from their current certificate to a new one without locking them out, one or many at once.

    .DESCRIPTION
    Runs keyroll's roll workflow: adds the new certificate (proof minted with the current one), waits until a
    token can be obtained with the new certificate (replication takes a while), and with -RemoveOld removes the
    old key, only once the new one works and only if a currently valid certificate remains.

    The roll runs in the background in the library while this function waits on it: each step is shown as it
    happens (Write-Progress, and -Verbose), every retry the service's throttling causes is a verbose line
    ("throttled (429), retrying in 1.5 s, attempt 3"), a warning says when those waits pass 30 s in one run, and
    the function returns the moment the library finishes.

    Many rows (objects piped in, e.g. Import-Csv plan.csv | Invoke-EntraKeyRollover), or -ThrottleLimit, run as ONE
    bulk operation in the library: at most -ThrottleLimit rolls at once over the connection's shared throttle
    (a 429 on one pauses all), rows naming one object rolled once, one progress bar over the batch, and one
    EntraKeyRoll.RollReport per row written as the row ends, in the order rows end (Row says which). -JournalPath
    writes the same journal as keyroll roll --journal (one JSON line per row as it ends); with -Resume the rows that
    journal shows done are skipped. Ctrl+C stops a bulk run: the rows in flight finish (a roll cut short could leave
    an object between its old and new key) and are journaled, the rest end notStarted and are not, so that -Resume
    runs them.

    A single roll that does not complete is an error whose exception carries the report (in its Data, under Report);
    in a bulk run every row's report is written, and a row that did not complete is also an error. After a write,
    the error's first line says what the object holds now and the Invoke-EntraKeyRollover command that completes
    the roll.

    .PARAMETER ObjectId
    The object id. Aliases: Id, ApplicationId. Taken from the pipeline by value (a string or GUID) or by property
    name. When an object carries both ObjectId (or Id) and AppId, the object id is used.

    .PARAMETER AppId
    The appId (client id) of the application. Taken from the pipeline by property name: an object with only AppId
    rolls the application with that appId.

    .PARAMETER InputObject
    What the pipeline passes by value: an object id (string or GUID). Objects bind by property name instead.

    .PARAMETER TargetType
    Application (default), ServicePrincipal or AgentIdentityBlueprint. Taken from the pipeline by property name
    (Get-EntraKeyRollInventory's items carry it).

    .PARAMETER Certificate
    The current certificate, with its private key (RSA). The key signs through its own key object (the sign-in and
    the proofs) and is never exported: a certificate store key marked non-exportable, or one on a smart card, works.

    .PARAMETER CertificatePath
    The current certificate as a PFX or PEM file with its private key. Taken from the pipeline by property name
    (alias Cert, the column of keyroll's plan files); relative paths are resolved from the current location.

    .PARAMETER CertificatePassword
    The password of -CertificatePath (every row's, in a bulk run).

    .PARAMETER NewCertificate
    The new certificate, with its private key (RSA; needed to verify that it works). Like -Certificate, its key
    signs through its own key object and is never exported.

    .PARAMETER NewCertificatePath
    The new certificate as a PFX or PEM file with its private key. Taken from the pipeline by property name (alias
    NewCert).

    .PARAMETER NewCertificatePassword
    The password of -NewCertificatePath (every row's, in a bulk run).

    .PARAMETER KeyVaultCertificateId
    The current certificate in Azure Key Vault: https://<vault>.vault.azure.net/certificates/<name>[/<version>]. Its
    key signs the proof in the vault (keys/sign) and never reaches this machine. Without a version: with
    -CreateInKeyVault, the newest version of the certificate that is a key of the object; otherwise the latest
    version. The vault is reached with the connection's credential (a managed identity, the app's certificate), or
    -KeyVaultAccessToken. Taken from the pipeline by property name.

    .PARAMETER NewKeyVaultCertificateId
    The new certificate in Azure Key Vault (its latest version when none is named); with -CreateInKeyVault, the
    certificate whose next version is created (default: the certificate of -KeyVaultCertificateId). Taken from the
    pipeline by property name.

    .PARAMETER CreateInKeyVault
    Create the next version of the certificate in Key Vault (its own policy: a self-issued RSA certificate whose
    key the vault keeps) and roll to it. A run that created a version and stopped is completed by running the
    same command again: the version it created is used, no second one is made. ShouldProcess covers it: -WhatIf
    creates nothing.

    .PARAMETER NewCertificateSubject
    With -CreateInKeyVault: the new version's subject (default: the certificate's policy, e.g. CN=<name>).

    .PARAMETER NewCertificateKeySize
    With -CreateInKeyVault: the new version's RSA key size, 2048, 3072 or 4096 (default: the certificate's policy).

    .PARAMETER NewCertificateValidityMonths
    With -CreateInKeyVault: how long the new version is valid, in months (default: the certificate's policy).

    .PARAMETER KeyVaultAccessToken
    An access token for Key Vault (audience https://vault.azure.net), as a SecureString, when the connection's
    credential cannot get one (a connection made with -AccessToken).

    .PARAMETER RemoveOld
    Remove the old key once the new one is verified. ShouldProcess asks for this step apart from the roll:
    -WhatIf lists both, -Confirm asks for each, and a declined removal leaves the old key in place.

    .PARAMETER DisplayName
    Display name of the new key (default: the certificate's subject). Taken from the pipeline by property name: an
    object that carries a DisplayName (Get-MgApplication's, for one) names the new key after it.

    .PARAMETER TenantId
    The tenant in which to verify the new certificate (default: the connection's). Taken from the pipeline by
    property name.

    .PARAMETER ClientId
    The client id to verify with (default: the application's appId). Taken from the pipeline by property name.

    .PARAMETER VerifyTimeout
    How long to wait for the new key to become usable, in seconds (default 300).

    .PARAMETER ThrottleLimit
    Rolls running at once in a bulk run (default 8). Given, even one row runs as a bulk operation.

    .PARAMETER JournalPath
    A file to which the bulk run appends one JSON line per row as it ends (the journal of keyroll roll --journal).

    .PARAMETER Resume
    With -JournalPath: skip the rows the journal shows done (rolled, or already rolled), so that a run cut short is
    finished by running the same command on the same input again.

    .INPUTS
    System.String, System.Guid: an object id.
    Objects with ObjectId (or Id), AppId, TargetType, CertificatePath (or Cert), NewCertificatePath (or NewCert),
    DisplayName, TenantId, ClientId properties, such as the rows of Import-Csv or Get-EntraKeyRollInventory's items.

    .EXAMPLE
    Connect-EntraKeyRoll -TenantId $tenant -ClientId $appId -CertificatePath .\current.pfx -CertificatePassword $pw
    Invoke-EntraKeyRollover -AppId $appId -CertificatePath .\current.pfx -CertificatePassword $pw -NewCertificatePath .\next.pfx -NewCertificatePassword $pw -RemoveOld

    .EXAMPLE
    Invoke-EntraKeyRollover -ObjectId $objectId -Certificate $current -NewCertificate $next -WhatIf

    .EXAMPLE
    Connect-EntraKeyRoll -Identity
    Invoke-EntraKeyRollover -AppId $appId -KeyVaultCertificateId https://contoso.vault.azure.net/certificates/billing-api -CreateInKeyVault -RemoveOld

    In an Azure Automation runbook with a managed identity: creates the next version of the certificate in Key
    Vault and rolls the application to it; both proofs and the check of the new certificate are signed by Key
    Vault, so no private key exists outside the vault. The identity needs certificates get/list/create and keys
    get/sign on the vault, and Application.ReadWrite.OwnedBy (as an owner of the application) or
    Application.ReadWrite.All in Graph.

    .EXAMPLE
    $objectId | Invoke-EntraKeyRollover -CertificatePath .\current.pfx -NewCertificatePath .\next.pfx -RemoveOld -TenantId $tenant

    .EXAMPLE
    # plan.csv: ObjectId,AppId,CertificatePath,NewCertificatePath,TenantId (one application per row; ObjectId or AppId)
    Import-Csv .\plan.csv | Invoke-EntraKeyRollover -RemoveOld -ThrottleLimit 8 -JournalPath .\plan.journal -CertificatePassword $pw -NewCertificatePassword $pw

    .EXAMPLE
    Get-EntraKeyRollInventory -ExpiringWithin 30 -CredentialType Certificate -CertificatePathRule 'current/{appId}.pfx' -NewCertificatePathRule 'next/{appId}.pfx' | Invoke-EntraKeyRollover -RemoveOld -ThrottleLimit 8 -CertificatePassword $pw -NewCertificatePassword $pw

    .EXAMPLE
    # The same run, cut short (Ctrl+C, a reboot): finish the rows the journal does not show done.
    Import-Csv .\plan.csv | Invoke-EntraKeyRollover -RemoveOld -ThrottleLimit 8 -JournalPath .\plan.journal -Resume -CertificatePassword $pw -NewCertificatePassword $pw

    .OUTPUTS
    EntraKeyRoll.RollReport
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('EntraKeyRoll.RollReport')]
    param(
        [Parameter(Position = 0, ValueFromPipelineByPropertyName)]
        [Alias('Id', 'ApplicationId')]
        [string] $ObjectId,

        [Parameter(ValueFromPipelineByPropertyName)]
        [string] $AppId,

        # Strings and GUIDs piped by value land here (an object id); objects bind by property name above, so an
        # object with only AppId is never read as an object id.
        [Parameter(ValueFromPipeline, DontShow)]
        [object] $InputObject,

        [Parameter(ValueFromPipelineByPropertyName)]
        [ValidateSet('Application', 'ServicePrincipal', 'AgentIdentityBlueprint')]
        [string] $TargetType = 'Application',

        [Parameter()]
        [System.Security.Cryptography.X509Certificates.X509Certificate2] $Certificate,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('Cert')]
        [string] $CertificatePath,

        [Parameter()]
        [System.Security.SecureString] $CertificatePassword,

        [Parameter()]
        [System.Security.Cryptography.X509Certificates.X509Certificate2] $NewCertificate,

        [Parameter(ValueFromPipelineByPropertyName)]
        [Alias('NewCert')]
        [string] $NewCertificatePath,

        [Parameter()]
        [System.Security.SecureString] $NewCertificatePassword,

        [Parameter(ValueFromPipelineByPropertyName)]
        [string] $KeyVaultCertificateId,

        [Parameter(ValueFromPipelineByPropertyName)]
        [string] $NewKeyVaultCertificateId,

        [Parameter()]
        [switch] $CreateInKeyVault,

        [Parameter()]
        [string] $NewCertificateSubject,

        [Parameter()]
        [ValidateSet(2048, 3072, 4096)]
        [int] $NewCertificateKeySize,

        [Parameter()]
        [ValidateRange(1, 120)]
        [int] $NewCertificateValidityMonths,

        [Parameter()]
        [System.Security.SecureString] $KeyVaultAccessToken,

        [Parameter()]
        [switch] $RemoveOld,

        [Parameter(ValueFromPipelineByPropertyName)]
        [string] $DisplayName,

        [Parameter(ValueFromPipelineByPropertyName)]
        [string] $TenantId,

        [Parameter(ValueFromPipelineByPropertyName)]
        [string] $ClientId,

        [Parameter()]
        [ValidateRange(1, 86400)]
        [int] $VerifyTimeout = 300,

        [Parameter()]
        [ValidateRange(1, 64)]
        [int] $ThrottleLimit,

        [Parameter()]
        [string] $JournalPath,

        [Parameter()]
        [switch] $Resume
    )
    begin {
        $rows = New-Object System.Collections.Generic.List[object]
        # Rows refused before anything started: with a journal, row numbers must be the input's, so none may drop.
        $refused = 0
        if ($Resume -and -not $JournalPath) {
            $PSCmdlet.ThrowTerminatingError((Get-KrArgumentError -Message '-Resume reads the journal of an earlier run: give it with -JournalPath' -ErrorId 'RolloverResumeWithoutJournal'))
        }
    }
    process {
        # An object id piped by value; objects bound their properties by name.
        $oid = $ObjectId
        if (-not $oid -and -not $AppId -and $null -ne $InputObject) {
            if ($InputObject -is [string] -or $InputObject -is [guid]) { $oid = [string]$InputObject }
            else {
                $PSCmdlet.WriteError((Get-KrArgumentError -Message "the piped object has neither an ObjectId (or Id) nor an AppId property: pipe object ids, or objects (such as Import-Csv rows) with one of those properties" -ErrorId 'RolloverNoTarget' -TargetObject $InputObject))
                $refused += 1
                return
            }
        }
        $app = if ($oid) { $null } else { $AppId }
        $subject = if ($oid) { $oid } elseif ($app) { "appId $app" } else { '' }
        if (-not $subject) {
            $PSCmdlet.WriteError((Get-KrArgumentError -Message 'give the object to roll: -ObjectId, -AppId, or pipe object ids or objects with an ObjectId or AppId property' -ErrorId 'RolloverNoTarget'))
            $refused += 1
            return
        }
        if ($oid -and $oid -notmatch '^\{?[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\}?$') {
            $PSCmdlet.WriteError((Get-KrArgumentError -Message "-ObjectId must be the object id (a GUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6), not '$oid'. Give the object's id, or -AppId for the application's client id." -ErrorId 'RolloverObjectId' -TargetObject $oid))
            $refused += 1
            return
        }
        $currentGiven = @($Certificate, $CertificatePath, $KeyVaultCertificateId | Where-Object { $_ }).Count
        $newGiven = @($NewCertificate, $NewCertificatePath | Where-Object { $_ }).Count + [int]([bool]$NewKeyVaultCertificateId -or [bool]$CreateInKeyVault)
        if ($currentGiven -ne 1 -or $newGiven -ne 1) {
            $PSCmdlet.WriteError((Get-KrArgumentError -Message 'give the current certificate as -Certificate, -CertificatePath or -KeyVaultCertificateId, and the new one as -NewCertificate, -NewCertificatePath, -NewKeyVaultCertificateId or -CreateInKeyVault (one of each)' -ErrorId 'RolloverCertificates' -TargetObject $subject))
            $refused += 1
            return
        }
        if (-not $CreateInKeyVault -and ($NewCertificateSubject -or $NewCertificateKeySize -or $NewCertificateValidityMonths)) {
            $PSCmdlet.WriteError((Get-KrArgumentError -Message '-NewCertificateSubject, -NewCertificateKeySize and -NewCertificateValidityMonths describe a version created in Key Vault: give them with -CreateInKeyVault' -ErrorId 'RolloverNewCertificatePolicy' -TargetObject $subject))
            $refused += 1
            return
        }
        if ($CreateInKeyVault -and -not $KeyVaultCertificateId -and -not $NewKeyVaultCertificateId) {
            $PSCmdlet.WriteError((Get-KrArgumentError -Message '-CreateInKeyVault creates the next version of a Key Vault certificate: name it with -NewKeyVaultCertificateId (or -KeyVaultCertificateId, when the current certificate is an earlier version of it)' -ErrorId 'RolloverCreateInKeyVault' -TargetObject $subject))
            $refused += 1
            return
        }
        # The removal is its own decision: -WhatIf shows both steps, -Confirm asks for each; a declined removal
        # leaves the old key in place while the roll adds and verifies the new one.
        $roll = $PSCmdlet.ShouldProcess("$TargetType $subject", 'Add the new certificate and verify that it works')
        # (Not $removeOld: PowerShell names are case-insensitive, and that is the [switch] parameter.)
        $removeStep = [bool]$RemoveOld
        if ($removeStep -and ($roll -or $WhatIfPreference)) {
            $removeStep = $PSCmdlet.ShouldProcess("$TargetType $subject", 'Remove the old certificate once the new one works')
            if (-not $removeStep -and $roll) { Write-Verbose "roll $($subject): the old key stays (its removal was declined)" }
        }
        if (-not $roll) { $refused += 1; return }
        $rows.Add([pscustomobject]@{
                Subject            = $subject
                ObjectId           = $oid
                AppId              = $app
                TargetType         = $TargetType
                Certificate        = $Certificate
                CertificatePath    = $CertificatePath
                NewCertificate     = $NewCertificate
                NewCertificatePath = $NewCertificatePath
                KeyVaultCertificateId    = $KeyVaultCertificateId
                NewKeyVaultCertificateId = $NewKeyVaultCertificateId
                CreateInKeyVault         = [bool]$CreateInKeyVault
                NewVaultPolicy           = @{ Subject = $NewCertificateSubject; KeySize = $NewCertificateKeySize; ValidityMonths = $NewCertificateValidityMonths }
                CurrentThumbprint  = if ($Certificate) { $Certificate.Thumbprint } else { $null }
                NewThumbprint      = if ($NewCertificate) { $NewCertificate.Thumbprint } else { $null }
                RemoveOld          = $removeStep
                DisplayName        = $DisplayName
                TenantId           = $TenantId
                ClientId           = $ClientId
            })
    }
    end {
        if ($rows.Count -eq 0) { return }
        $bulk = $rows.Count -gt 1 -or $PSBoundParameters.ContainsKey('ThrottleLimit') -or $JournalPath
        if ($bulk -and $JournalPath -and $refused -gt 0) {
            # Journal rows are positions in the input: a run that left rows out would mark the wrong ones done.
            $PSCmdlet.WriteError((Get-KrArgumentError -Message "$refused row(s) of the input were refused (see the errors above) or declined, and -JournalPath numbers rows by their place in the input: correct them, or leave out -JournalPath; nothing was rolled" -ErrorId 'RolloverJournalRowsRefused'))
            return
        }
        $connection = Get-KrConnection -Caller $PSCmdlet
        $passwords = @{ Current = $CertificatePassword; New = $NewCertificatePassword; KeyVault = $KeyVaultAccessToken }
        try {
            if ($bulk) {
                $throttle = if ($PSBoundParameters.ContainsKey('ThrottleLimit')) { $ThrottleLimit } else { 0 }
                Invoke-KrBulkRoll -Caller $PSCmdlet -Connection $connection -Rows $rows -Passwords $passwords -VerifyTimeout $VerifyTimeout -ThrottleLimit $throttle -JournalPath $JournalPath -Resume:$Resume
            }
            else {
                Invoke-KrSingleRoll -Caller $PSCmdlet -Connection $connection -Row $rows[0] -Passwords $passwords -VerifyTimeout $VerifyTimeout
            }
        }
        finally {
            Close-KrTransientConnection -Connection $connection
        }
    }
}
