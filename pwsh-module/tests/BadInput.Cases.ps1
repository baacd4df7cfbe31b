# The module's bad-input table: what a demanding user types wrong, and what each command must answer.
# EntraKeyRoll.BadInput.Tests.ps1 runs every case against the packaged module and the emulator.
#
# A case:
#   Id          unique, <command abbreviation>-<nn>
#   Command     the public command
#   Params      a scriptblock param($c) returning the parameters as a hashtable; every value comes from $c (the
#               fixtures: emulator, application, certificates, files), never from a variable of the caller, since
#               a scriptblock sees its runner's variables first (dynamic scoping)
#   Connection  'Token' (default: signed in with an access token), 'Certificate' (signed in with the
#               application's certificate, so the module mints proofs), or 'None'
#   Environment optional scriptblock param($c) returning environment variables to set for the case (restored after)
#   Expect      'Error' (default) or 'Success' (input that must work)
#   Category    the ErrorCategory of the one error record
#   ErrorId     the FullyQualifiedErrorId's start (before ',<command>')
#   Message     a regex the error's text (ErrorDetails or exception message, and RecommendedAction) must match:
#               it names the parameter and the fix
#   Secrets     optional scriptblock param($c) returning texts that must appear in no output (passwords, tokens)
#   Warning     optional regex that the command's warnings must match, and WarningCount how many there must be
#   Command2    optional: a second command run after Command succeeded (Params2 its parameters), whose error is the
#               case's (a connection's settings are used only when a command calls the service)
#   Check       optional scriptblock param($c, $output) that throws when the outcome is wrong
#   Open        set while the module answers the case wrongly: the runner skips it, saying so
#   MaxSeconds  optional: the case must end within this time (a refusal at once, not after retries)
#
# Windows PowerShell 5.1 syntax (Compatibility51.Tests.ps1 parses this file too).

$guid = '3fa85f64-5717-4562-b3fc-2c963f66afa6'

@(
    # ---------------------------------------------------------------- Connect-EntraKeyRoll
    @{ Id = 'CO-01'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ TenantId = $c.TenantId; ClientId = $c.AppId; CertificatePath = $c.MissingPath; GraphUrl = $c.GraphUrl; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } }
        Category = 'ObjectNotFound'; ErrorId = 'file_not_found'; Message = 'no-such\.pfx' },
    @{ Id = 'CO-02'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ TenantId = $c.TenantId; ClientId = $c.AppId; CertificatePath = $c.Pfx; CertificatePassword = $c.WrongPassword; GraphUrl = $c.GraphUrl; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } }
        Category = 'InvalidArgument'; ErrorId = 'certificate'; Message = '(?s)password is wrong.*-CertificatePassword'; Secrets = { param($c) @($c.WrongPasswordText) } },
    @{ Id = 'CO-03'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ TenantId = $c.TenantId; ClientId = $c.AppId; CertificatePath = $c.Pfx; GraphUrl = $c.GraphUrl; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } }
        Category = 'InvalidArgument'; ErrorId = 'certificate'; Message = '(?s)protected by a password.*-CertificatePassword' },
    @{ Id = 'CO-04'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'; Expect = 'Success'
        Params = { param($c) @{ TenantId = $c.TenantId; ClientId = $c.AppId; CertificatePath = $c.PfxNoPassword; GraphUrl = $c.GraphUrl; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } } },
    @{ Id = 'CO-05'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'; Expect = 'Success'
        Params = { param($c) @{ TenantId = $c.TenantId; ClientId = $c.AppId; CertificatePath = $c.PfxEmoji; CertificatePassword = $c.EmojiPassword; GraphUrl = $c.GraphUrl; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } } },
    @{ Id = 'CO-06'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ TenantId = $c.TenantId; ClientId = $c.AppId; CertificateThumbprint = 'not-a-thumbprint!'; GraphUrl = $c.GraphUrl; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } }
        Category = 'InvalidArgument'; ErrorId = 'InvalidThumbprint'; Message = "-CertificateThumbprint.*hex" },
    @{ Id = 'CO-07'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ TenantId = $c.TenantId; ClientId = $c.AppId; CertificateThumbprint = '0123456789ABCDEF0123456789ABCDEF01234567'; GraphUrl = $c.GraphUrl; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } }
        Category = 'ObjectNotFound'; ErrorId = 'CertificateNotFound'; Message = 'no certificate with thumbprint 0123456789ABCDEF0123456789ABCDEF01234567' },
    @{ Id = 'CO-08'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ TenantId = $c.TenantId; ClientId = $c.AppId; CertificateThumbprint = '0123'; GraphUrl = $c.GraphUrl; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } }
        Category = 'InvalidArgument'; ErrorId = 'InvalidThumbprint'; Message = '-CertificateThumbprint.*40 hex' },
    @{ Id = 'CO-09'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ TenantId = $c.TenantId; ClientId = $c.AppId; Certificate = $c.PublicCert; GraphUrl = $c.GraphUrl; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } }
        Category = 'InvalidArgument'; ErrorId = 'CertificateWithoutPrivateKey'; Message = '-Certificate:.*no private key.*-CertificatePath' },
    @{ Id = 'CO-10'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ TenantId = $c.TenantId; ClientId = $c.AppId; Certificate = $c.EcdsaCert; GraphUrl = $c.GraphUrl; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } }
        Category = 'InvalidArgument'; ErrorId = 'CertificateNotRsa'; Message = '-Certificate:.*not RSA' },
    @{ Id = 'CO-11'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ AccessToken = $c.EmptySecure } }
        Category = 'InvalidArgument'; ErrorId = 'EmptyAccessToken'; Message = '-AccessToken is empty' },
    @{ Id = 'CO-12'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ AccessToken = $c.TokenSecure; Environment = 'Mars' } }
        Category = 'InvalidArgument'; ErrorId = 'settings'; Message = '-Environment: "Mars" is not a cloud.*Global' },
    @{ Id = 'CO-13'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ AccessToken = $c.TokenSecure; GraphUrl = 'not a url' } }
        Category = 'InvalidArgument'; ErrorId = 'endpoint'; Message = '-GraphUrl' },
    @{ Id = 'CO-14'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ AccessToken = $c.TokenSecure; GraphUrl = 'ftp://graph.example' } }
        Category = 'InvalidArgument'; ErrorId = 'endpoint'; Message = '-GraphUrl: "ftp://graph.example" is not an absolute http\(s\) URL' },
    @{ Id = 'CO-15'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'; Expect = 'Success'
        Params = { param($c) @{ AccessToken = $c.TokenSecure; GraphUrl = $c.GraphUrl + '/v1.0'; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } }
        Check = { param($c, $out) if ($out.GraphUrl -match 'v1\.0') { throw "GraphUrl kept its version segment: $($out.GraphUrl)" } } },
    @{ Id = 'CO-16'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'; Expect = 'Success'
        Params = { param($c) @{ AccessToken = $c.TokenSecure; GraphUrl = $c.GraphUrl + '/beta/'; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } }
        Check = { param($c, $out) if ($out.GraphUrl -match 'beta' -or $out.ApiVersion -ne 'beta') { throw "GraphUrl $($out.GraphUrl), ApiVersion $($out.ApiVersion)" } } },
    @{ Id = 'CO-17'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ AccessToken = $c.TokenSecure; GraphUrl = $c.GraphUrl + '/beta'; ApiVersion = 'v1.0'; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } }
        Category = 'InvalidArgument'; ErrorId = 'settings'; Message = '-GraphUrl: .*ends in the API version beta, and the API version given is v1\.0' },
    @{ Id = 'CO-18'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ AccessToken = $c.TokenSecure; Proxy = 'not a proxy url' } }
        Category = 'InvalidArgument'; ErrorId = 'http_settings'; Message = '-Proxy: the proxy URL is invalid' },
    @{ Id = 'CO-19'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ AccessToken = $c.TokenSecure; Proxy = 'ftp://127.0.0.1:3128' } }
        Category = 'InvalidArgument'; ErrorId = 'http_settings'; Message = '-Proxy: .*scheme "ftp" is not http or https' },
    @{ Id = 'CO-20'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ AccessToken = $c.TokenSecure; CaCertificate = $c.MissingPath } }
        Category = 'ObjectNotFound'; ErrorId = 'file_not_found'; Message = '-CaCertificate.*no-such\.pfx' },
    @{ Id = 'CO-21'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ AccessToken = $c.TokenSecure; CaCertificate = $c.GarbageFile } }
        Category = 'InvalidArgument'; ErrorId = 'http_settings'; Message = '-CaCertificate: the CA certificate file is not PEM' },
    @{ Id = 'CO-22'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ Scopes = 'Application.ReadWrite.All' } }
        Category = 'InvalidArgument'; ErrorId = 'DelegatedSignInNotAvailable'; Message = 'Connect-MgGraph' },
    @{ Id = 'CO-23'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ TenantId = $c.TenantId; ClientId = $c.AppId; CertificatePath = $c.TempDir; GraphUrl = $c.GraphUrl; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } }
        Category = 'InvalidArgument'; Message = 'directory' },
    @{ Id = 'CO-24'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ TenantId = $c.TenantId; ClientId = $c.AppId; CertificatePath = $c.CerFile; GraphUrl = $c.GraphUrl; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } }
        Category = 'InvalidArgument'; ErrorId = 'certificate'; Message = 'private key' },
    @{ Id = 'CO-25'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ TenantId = $c.TenantId; ClientId = $c.AppId; CertificatePath = $c.GarbageFile; GraphUrl = $c.GraphUrl; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } }
        Category = 'InvalidArgument'; ErrorId = 'certificate'; Message = 'garbage\.txt|PFX|PEM' },
    @{ Id = 'CO-26'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ TenantId = $c.TenantId; ClientId = $c.AppId; CertificatePath = ''; GraphUrl = $c.GraphUrl } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'CertificatePath' },
    @{ Id = 'CO-27'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ TenantId = ''; ClientId = $c.AppId; CertificatePath = $c.Pfx; CertificatePassword = $c.PfxPassword; GraphUrl = $c.GraphUrl } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'TenantId' },
    @{ Id = 'CO-28'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ TenantId = $c.TenantId; ClientId = '   '; CertificatePath = $c.Pfx; CertificatePassword = $c.PfxPassword; GraphUrl = $c.GraphUrl } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = '-ClientId is blank: give the application' },
    @{ Id = 'CO-36'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ TenantId = ' '; ClientId = $c.AppId; CertificatePath = $c.Pfx; CertificatePassword = $c.PfxPassword; GraphUrl = $c.GraphUrl } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = '-TenantId is blank' },
    @{ Id = 'CO-29'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ TenantId = $c.TenantId; ClientId = $c.AppId; CertificatePath = $c.Pfx; CertificatePassword = 'plain text' ; GraphUrl = $c.GraphUrl } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentTransformationError'; Message = 'CertificatePassword' },
    @{ Id = 'CO-30'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ AccessToken = $c.TokenSecure; GraphUrl = $c.GraphUrl; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert; Certificate = $c.Cert } }
        Category = 'InvalidArgument'; ErrorId = 'AmbiguousParameterSet'; Message = 'Parameter set' },
    @{ Id = 'CO-31'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ Identity = $true; GraphUrl = $c.GraphUrl; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } }
        Environment = { param($c) @{ IDENTITY_ENDPOINT = $c.IdentityEndpoint; IDENTITY_HEADER = 'wrong-header-value' } }
        Command2 = 'Get-EntraMSApplicationKey'; Params2 = { param($c) @{ ObjectId = $c.ObjectId } }
        Category = 'AuthenticationError'; Message = '^(?![\s\S]*[{}])[\s\S]*managed identity' },
    @{ Id = 'CO-33'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ AccessToken = $c.TokenSecure; GraphUrl = $c.GraphUrlHttp; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } }
        Command2 = 'Get-EntraMSApplicationKey'; Params2 = { param($c) @{ ObjectId = $c.ObjectId } }
        Category = 'InvalidOperation'; ErrorId = 'invalid_response'; Message = 'answered a plain http:// request in TLS.*use https://'; MaxSeconds = 10 },
    @{ Id = 'CO-35'; Command = 'Connect-EntraKeyRoll'; Connection = 'None'
        Params = { param($c) @{ GraphUrl = $c.GraphUrl; LoginUrl = $c.LoginUrl; CaCertificate = $c.CaCert } }
        Environment = { param($c) @{ AZURE_TENANT_ID = $c.TenantId; AZURE_CLIENT_ID = $c.AppId; AZURE_CLIENT_CERTIFICATE_PATH = $c.Pfx; AZURE_CLIENT_CERTIFICATE_PASSWORD = $c.PfxPasswordText } }
        Command2 = 'New-EntraMSApplicationKey'; Params2 = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.NextCert.RawData } } }
        Expect = 'Success' },

    # ---------------------------------------------------------------- New-EntraKeyProof
    @{ Id = 'NP-01'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ CertificatePath = $c.MissingPath; ObjectId = $c.ObjectId } }
        Category = 'ObjectNotFound'; ErrorId = 'file_not_found'; Message = 'no-such\.pfx' },
    @{ Id = 'NP-02'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ CertificatePath = $c.Pfx; CertificatePassword = $c.WrongPassword; ObjectId = $c.ObjectId } }
        Category = 'InvalidArgument'; ErrorId = 'certificate'; Message = '(?s)password is wrong.*-CertificatePassword'; Secrets = { param($c) @($c.WrongPasswordText) } },
    @{ Id = 'NP-03'; Command = 'New-EntraKeyProof'; Connection = 'None'; Expect = 'Success'
        Params = { param($c) @{ CertificatePath = $c.PfxNoPassword; ObjectId = $c.ObjectId } } },
    @{ Id = 'NP-04'; Command = 'New-EntraKeyProof'; Connection = 'None'; Expect = 'Success'
        Params = { param($c) @{ CertificatePath = $c.PfxNoPassword; CertificatePassword = $c.EmptySecure; ObjectId = $c.ObjectId } } },
    @{ Id = 'NP-05'; Command = 'New-EntraKeyProof'; Connection = 'None'; Expect = 'Success'
        Params = { param($c) @{ CertificatePath = $c.PfxEmoji; CertificatePassword = $c.EmojiPassword; ObjectId = $c.ObjectId } } },
    @{ Id = 'NP-06'; Command = 'New-EntraKeyProof'; Connection = 'None'; Expect = 'Success'
        Params = { param($c) @{ CertificatePath = $c.PfxEmojiDotNet; CertificatePassword = $c.EmojiPassword; ObjectId = $c.ObjectId } } },
    @{ Id = 'NP-06b'; Command = 'New-EntraKeyProof'; Connection = 'None'; Expect = 'Success'
        Params = { param($c) @{ CertificatePath = $c.PfxEmojiCutDotNet; CertificatePassword = $c.EmojiCutPassword; ObjectId = $c.ObjectId } } },
    @{ Id = 'NP-07'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ CertificatePath = $c.PfxEmoji; CertificatePassword = $c.WrongPassword; ObjectId = $c.ObjectId } }
        Category = 'InvalidArgument'; ErrorId = 'certificate'; Message = 'password is wrong' },
    @{ Id = 'NP-08'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ Certificate = $c.PublicCert; ObjectId = $c.ObjectId } }
        Category = 'InvalidArgument'; ErrorId = 'CertificateWithoutPrivateKey'; Message = '-Certificate:.*private key' },
    @{ Id = 'NP-09'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ Certificate = $c.EcdsaCert; ObjectId = $c.ObjectId } }
        Category = 'InvalidArgument'; ErrorId = 'CertificateNotRsa'; Message = 'not RSA' },
    @{ Id = 'NP-10'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ Certificate = $c.Cert; ObjectId = 'my-app' } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = '-ObjectId must be the object id' },
    @{ Id = 'NP-11'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ Certificate = $c.Cert; ObjectId = '' } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'ObjectId' },
    @{ Id = 'NP-12'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ Certificate = $c.Cert; ObjectId = $c.ObjectId; Lifetime = -5 } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'Lifetime' },
    @{ Id = 'NP-13'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ Certificate = $c.Cert; ObjectId = $c.ObjectId; Lifetime = 601 } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'Lifetime' },
    @{ Id = 'NP-14'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ CertificateThumbprint = 'zz:zz'; ObjectId = $c.ObjectId } }
        Category = 'InvalidArgument'; ErrorId = 'InvalidThumbprint'; Message = "-CertificateThumbprint.*hex" },
    @{ Id = 'NP-15'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ CertificateThumbprint = 'ABCDEF0123456789ABCDEF0123456789ABCDEF01'; ObjectId = $c.ObjectId } }
        Category = 'ObjectNotFound'; ErrorId = 'CertificateNotFound'; Message = 'ABCDEF0123456789ABCDEF0123456789ABCDEF01' },
    @{ Id = 'NP-16'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ CertificatePath = $c.CerFile; ObjectId = $c.ObjectId } }
        Category = 'InvalidArgument'; ErrorId = 'certificate'; Message = 'private key' },
    @{ Id = 'NP-17'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ CertificatePath = $c.GarbageFile; ObjectId = $c.ObjectId } }
        Category = 'InvalidArgument'; ErrorId = 'certificate'; Message = 'PFX|PEM' },
    @{ Id = 'NP-18'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ CertificatePath = $c.EmptyFile; ObjectId = $c.ObjectId } }
        Category = 'InvalidArgument'; ErrorId = 'certificate'; Message = 'empty' },
    @{ Id = 'NP-19'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ CertificatePath = $c.TempDir; ObjectId = $c.ObjectId } }
        Category = 'InvalidArgument'; Message = '(folder|directory)' },
    @{ Id = 'NP-20'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ Certificate = $c.Cert; CertificatePath = $c.Pfx; ObjectId = $c.ObjectId } }
        Category = 'InvalidArgument'; ErrorId = 'AmbiguousParameterSet'; Message = 'Parameter set' },
    @{ Id = 'NP-21'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ Certificate = 'C:\certs\current.pfx'; ObjectId = $c.ObjectId } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentTransformationError'; Message = 'Certificate' },
    @{ Id = 'NP-22'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ CertificatePath = $c.PemKeyOnly; ObjectId = $c.ObjectId } }
        Category = 'InvalidArgument'; ErrorId = 'certificate'; Message = 'certificate' },
    @{ Id = 'NP-23'; Command = 'New-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ CertificatePath = $c.ExpiredPfx; CertificatePassword = $c.PfxPassword; ObjectId = $c.ObjectId } }
        Category = 'InvalidArgument'; Message = 'not valid now' },

    # ---------------------------------------------------------------- Test-EntraKeyProof
    @{ Id = 'TP-01'; Command = 'Test-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ Proof = 'not-a-jwt'; ObjectId = $c.ObjectId; Certificate = $c.Cert } }
        Expect = 'Success'; Check = { param($c, $out) if (($out | Out-String) -notmatch 'not a proof') { throw "no finding: $($out | Out-String)" } } },
    @{ Id = 'TP-02'; Command = 'Test-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ Proof = ''; ObjectId = $c.ObjectId } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'Proof' },
    @{ Id = 'TP-03'; Command = 'Test-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ Proof = $c.ProofFor; ObjectId = $c.ObjectId; CertificatePath = $c.MissingPath } }
        Category = 'ObjectNotFound'; ErrorId = 'CertificateFileUnreadable'; Message = '-CertificatePath.*no-such\.pfx' },
    @{ Id = 'TP-04'; Command = 'Test-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ Proof = $c.ProofFor; ObjectId = 'not-a-guid'; Certificate = $c.Cert } }
        Category = 'InvalidArgument'; Message = '-ObjectId: "not-a-guid" is not a GUID' },
    @{ Id = 'TP-05'; Command = 'Test-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ Proof = $c.ProofFor; ObjectId = $c.ObjectId; Certificate = $c.NextCert } }
        Expect = 'Success'; Check = { param($c, $out) if (($out | Out-String) -notmatch 'signature') { throw "no finding: $($out | Out-String)" } } },
    @{ Id = 'TP-06'; Command = 'Test-EntraKeyProof'; Connection = 'None'
        Params = { param($c) @{ Proof = $c.ProofFor; ObjectId = $c.OtherGuid; Certificate = $c.Cert } }
        Expect = 'Success'; Check = { param($c, $out) if (($out | Out-String) -notmatch 'iss') { throw "no finding: $($out | Out-String)" } } },

    # ---------------------------------------------------------------- Get-EntraMSApplicationKey
    @{ Id = 'GK-01'; Command = 'Get-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = 'billing-api' } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = '-ObjectId must be the object id.*-AppId' },
    @{ Id = 'GK-02'; Command = 'Get-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = '' } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'ObjectId' },
    @{ Id = 'GK-03'; Command = 'Get-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.OtherGuid } }
        Category = 'ObjectNotFound'; ErrorId = 'Request_ResourceNotFound'; Message = $null },
    @{ Id = 'GK-04'; Command = 'Get-EntraMSApplicationKey'
        Params = { param($c) @{ AppId = $c.OtherGuid } }
        Category = 'ObjectNotFound'; Message = '' },
    @{ Id = 'GK-05'; Command = 'Get-EntraMSApplicationKey'
        Params = { param($c) @{ AppId = '' } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'AppId' },
    @{ Id = 'GK-06'; Command = 'Get-EntraMSApplicationKey'
        Params = { param($c) @{ AppId = 'not a guid' } }
        Category = 'InvalidArgument'; Message = '-AppId: "not a guid" is not a GUID' },
    @{ Id = 'GK-07'; Command = 'Get-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; AppId = $c.AppId } }
        Category = 'InvalidArgument'; ErrorId = 'AmbiguousParameterSet'; Message = 'Parameter set' },
    @{ Id = 'GK-08'; Command = 'Get-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; TargetType = 'Group' } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'TargetType' },
    @{ Id = 'GK-09'; Command = 'Get-EntraMSApplicationKey'; Connection = 'None'
        Params = { param($c) @{ ObjectId = $c.ObjectId } }
        Category = 'ConnectionError'; ErrorId = 'NotConnected'; Message = 'Connect-EntraKeyRoll' },
    @{ Id = 'GK-10'; Command = 'Get-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; TargetType = 'ServicePrincipal' } }
        Category = 'ObjectNotFound'; Message = '' },

    # ---------------------------------------------------------------- New-EntraMSApplicationKey
    @{ Id = 'NK-01'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.PfxBytes }; Proof = $c.ProofFor } }
        Category = 'InvalidArgument'; Message = "(?s)-KeyCredential's Key: this is a PFX.*public certificate" },
    @{ Id = 'NK-02'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.PfxNoPasswordBytes }; Proof = $c.ProofFor } }
        Category = 'InvalidArgument'; Message = "(?s)-KeyCredential's Key: this is a PFX.*public certificate" },
    @{ Id = 'NK-03'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = [Convert]::ToBase64String($c.PfxBytes) }; Proof = $c.ProofFor } }
        Category = 'InvalidArgument'; Message = "(?s)-KeyCredential's Key: this is a PFX.*public certificate" },
    @{ Id = 'NK-04'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.PemKeyOnlyText }; Proof = $c.ProofFor } }
        Category = 'InvalidArgument'; Message = 'private key' },
    @{ Id = 'NK-05'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = 'not base64 at all!' }; Proof = $c.ProofFor } }
        Category = 'InvalidArgument'; Message = "(?m)^-KeyCredential's Key: unrecognised certificate format" },
    @{ Id = 'NK-06'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = '' }; Proof = $c.ProofFor } }
        Category = 'InvalidArgument'; Message = "-KeyCredential's Key" },
    @{ Id = 'NK-07'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ }; Proof = $c.ProofFor } }
        Category = 'InvalidArgument'; Message = 'Key' },
    @{ Id = 'NK-08'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = 'MIIC...'; Proof = $c.ProofFor } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = '-KeyCredential must be a hashtable' },
    @{ Id = 'NK-09'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.NextCert.RawData; StartDate = (Get-Date) }; Proof = $c.ProofFor } }
        Category = 'InvalidArgument'; Message = 'StartDateTime' },
    @{ Id = 'NK-10'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.NextCert.RawData; Kye = 1 }; Proof = $c.ProofFor } }
        Category = 'InvalidArgument'; Message = 'Kye' },
    @{ Id = 'NK-11'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.NextCert.RawData; Type = 'Symmetric' }; Proof = $c.ProofFor } }
        Category = 'InvalidArgument'; Message = 'Type' },
    @{ Id = 'NK-12'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.NextCert.RawData; Usage = 'Encrypt' }; Proof = $c.ProofFor } }
        Category = 'InvalidArgument'; Message = 'Usage' },
    @{ Id = 'NK-13'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.NextCert.RawData }; Proof = 'not-a-jwt' } }
        Category = 'InvalidData'; Message = '(?s)proof would be rejected.*not a proof' },
    @{ Id = 'NK-14'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.NextCert.RawData }; Proof = $c.ProofOther } }
        Category = 'InvalidData'; Message = '(?s)proof would be rejected.*signature does not verify' },
    @{ Id = 'NK-15'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.NextCert.RawData } } }
        Category = 'InvalidArgument'; Message = '-Proof' },
    @{ Id = 'NK-16'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; Proof = $c.ProofFor } }
        Category = 'InvalidArgument'; Message = '-KeyCredential' },
    @{ Id = 'NK-17'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.OtherGuid; KeyCredential = @{ Key = $c.NextCert.RawData }; Proof = $c.ProofOtherObject } }
        Category = 'ObjectNotFound'; Message = '' },
    @{ Id = 'NK-18'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = 'contoso app'; KeyCredential = @{ Key = $c.NextCert.RawData }; Proof = $c.ProofFor } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = '-ObjectId must be the object id' },
    @{ Id = 'NK-19'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.NextCert.RawData }; Proof = $c.ProofFor; BodyParameter = @{ keyCredential = @{ key = $c.NextCert.RawData } } } }
        Category = 'InvalidArgument'; Message = '-BodyParameter' },
    @{ Id = 'NK-20'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; BodyParameter = 'text' } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = '-BodyParameter must be a hashtable' },
    @{ Id = 'NK-21'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.CurrentCertRaw }; Proof = $c.ProofFor } }
        Category = 'ResourceExists'; Message = 'already' },
    @{ Id = 'NK-22'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.NextCert.RawData; Type = 'AsymmetricX509Cert'; Usage = 'Verify' }; PasswordCredential = @{ SecretText = 'hunter2-secret' }; Proof = $c.ProofFor } }
        Category = 'InvalidArgument'; Message = 'SecretText|PasswordCredential'; Secrets = { param($c) @('hunter2-secret') } },
    @{ Id = 'NK-23'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.ExpiredCert.RawData }; Proof = $c.ProofFor } }
        Category = 'InvalidArgument'; Message = 'expired|endDateTime|past' },
    @{ Id = 'NK-24'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.NextCert.RawData; KeyId = 'abc' }; Proof = $c.ProofFor } }
        Category = 'InvalidArgument'; Message = '-KeyCredential has KeyId.*leave it out' },
    @{ Id = 'NK-25'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.NextCert.RawData; EndDateTime = 'tomorrow' }; Proof = $c.ProofFor } }
        Category = 'InvalidArgument'; Message = 'EndDateTime' },
    @{ Id = 'NK-26'; Command = 'New-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.NextCert.RawData }; Proof = $c.ProofFor; TargetType = 'Device' } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'TargetType' },
    @{ Id = 'NK-27'; Command = 'New-EntraMSApplicationKey'; Expect = 'Success'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyCredential = @{ Key = $c.NextCert.RawData; DisplayName = ('x' * 120) }; Proof = $c.ProofFor } }
        Warning = 'shortened to 90'; WarningCount = 1 },

    # ---------------------------------------------------------------- Remove-EntraMSApplicationKey
    @{ Id = 'RK-01'; Command = 'Remove-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyId = 'abc'; Proof = $c.ProofFor } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = '-KeyId must be the key id \(a GUID' },
    @{ Id = 'RK-02'; Command = 'Remove-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyId = ''; Proof = $c.ProofFor } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'KeyId' },
    @{ Id = 'RK-03'; Command = 'Remove-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyId = $c.OtherGuid; Proof = $c.ProofFor } }
        Category = 'ObjectNotFound'; Message = 'no key credential with keyId' },
    @{ Id = 'RK-04'; Command = 'Remove-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyId = $c.CurrentKeyId; Proof = $c.ProofFor } }
        Category = 'InvalidData'; Message = 'valid certificate'; Check = { param($c) if ((Get-KrTestKeys $c.Emulator $c.ObjectId).Count -ne 1) { throw 'a key was removed' } } },
    @{ Id = 'RK-05'; Command = 'Remove-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyId = $c.CurrentKeyId; Proof = 'x.y.z' } }
        Category = 'InvalidData'; Message = '(?s)without a currently valid certificate.*-Force' },
    @{ Id = 'RK-06'; Command = 'Remove-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = 'not-a-guid'; KeyId = $c.CurrentKeyId; Proof = $c.ProofFor } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = '-ObjectId must be the object id' },
    @{ Id = 'RK-07'; Command = 'Remove-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyId = '{' + $c.OtherGuid + '}x'; Proof = $c.ProofFor } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = '-KeyId must be the key id \(a GUID' },
    @{ Id = 'RK-08'; Command = 'Remove-EntraMSApplicationKey'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyId = $c.CurrentKeyId } }
        Category = 'InvalidArgument'; Message = '-Proof' },
    @{ Id = 'RK-09'; Command = 'Remove-EntraMSApplicationKey'; Connection = 'Certificate'; Expect = 'Success'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyId = $c.CurrentKeyId; Force = $true; Confirm = $false } }
        Warning = 'last.*valid certificate'; WarningCount = 1 },

    # ---------------------------------------------------------------- New-EntraMSApplicationPassword
    @{ Id = 'NW-01'; Command = 'New-EntraMSApplicationPassword'
        Params = { param($c) @{ ObjectId = $c.ObjectId; PasswordCredential = 'text' } }
        Category = 'InvalidArgument'; Message = '-PasswordCredential takes a hashtable' },
    @{ Id = 'NW-02'; Command = 'New-EntraMSApplicationPassword'
        Params = { param($c) @{ ObjectId = $c.ObjectId; PasswordCredential = @{ SecretText = 'mine-own-secret' } } }
        Category = 'InvalidArgument'; Message = 'SecretText'; Secrets = { param($c) @('mine-own-secret') } },
    @{ Id = 'NW-03'; Command = 'New-EntraMSApplicationPassword'
        Params = { param($c) @{ ObjectId = $c.ObjectId; PasswordCredential = @{ DisplayName = 'x'; EndDateTime = 'never' } } }
        Category = 'InvalidArgument'; Message = 'EndDateTime' },
    @{ Id = 'NW-04'; Command = 'New-EntraMSApplicationPassword'
        Params = { param($c) @{ ObjectId = $c.ObjectId; PasswordCredential = @{ DisplayName = 'x'; Colour = 'red' } } }
        Category = 'InvalidArgument'; Message = 'Colour' },
    @{ Id = 'NW-05'; Command = 'New-EntraMSApplicationPassword'
        Params = { param($c) @{ ObjectId = 'name'; PasswordCredential = @{ DisplayName = 'x' } } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = '-ObjectId must be the object id' },
    @{ Id = 'NW-06'; Command = 'New-EntraMSApplicationPassword'
        Params = { param($c) @{ ObjectId = $c.ObjectId; TargetType = 'AgentIdentityBlueprint' } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'TargetType' },
    @{ Id = 'NW-07'; Command = 'New-EntraMSApplicationPassword'
        Params = { param($c) @{ ObjectId = $c.OtherGuid } }
        Category = 'ObjectNotFound'; Message = '' },

    # ---------------------------------------------------------------- Remove-EntraMSApplicationPassword
    @{ Id = 'RW-01'; Command = 'Remove-EntraMSApplicationPassword'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyId = 'my-secret' } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = '-KeyId must be the key id \(a GUID' },
    @{ Id = 'RW-02'; Command = 'Remove-EntraMSApplicationPassword'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyId = '' } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'KeyId' },
    @{ Id = 'RW-03'; Command = 'Remove-EntraMSApplicationPassword'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyId = $c.OtherGuid } }
        Category = 'ObjectNotFound'; Message = 'no client secret with keyId' },
    @{ Id = 'RW-04'; Command = 'Remove-EntraMSApplicationPassword'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyId = '   ' } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = '-KeyId must be the key id \(a GUID' },

    # ---------------------------------------------------------------- Invoke-EntraKeyRollover
    @{ Id = 'IR-01'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = $c.ObjectId; CertificatePath = $c.MissingPath; NewCertificatePath = $c.NextPfx; NewCertificatePassword = $c.PfxPassword } }
        Category = 'ObjectNotFound'; ErrorId = 'file_not_found'; Message = 'no-such\.pfx' },
    @{ Id = 'IR-02'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = $c.ObjectId; Certificate = $c.Cert; NewCertificatePath = $c.MissingPath } }
        Category = 'ObjectNotFound'; ErrorId = 'file_not_found'; Message = 'no-such\.pfx' },
    @{ Id = 'IR-03'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = $c.ObjectId; Certificate = $c.Cert; NewCertificatePath = $c.NextPfx; NewCertificatePassword = $c.WrongPassword } }
        Category = 'InvalidArgument'; Message = '(?s)password is wrong.*-NewCertificatePassword'; Secrets = { param($c) @($c.WrongPasswordText) } },
    @{ Id = 'IR-04'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = $c.ObjectId; Certificate = $c.Cert; NewCertificate = $c.Cert } }
        Category = 'InvalidArgument'; Message = '(?s)in use now.*-NewCertificate' },
    @{ Id = 'IR-05'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = $c.ObjectId; Certificate = $c.Cert; NewCertificate = $c.PublicNext } }
        Category = 'InvalidArgument'; Message = '-NewCertificate.*private key' },
    @{ Id = 'IR-06'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = $c.ObjectId; Certificate = $c.Cert; NewCertificate = $c.ExpiredCert } }
        Category = 'InvalidArgument'; ErrorId = 'roll_refused'; Message = 'the certificate expired at' },
    @{ Id = 'IR-07'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = $c.ObjectId; Certificate = $c.Cert } }
        Category = 'InvalidArgument'; Message = '-NewCertificate' },
    @{ Id = 'IR-08'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ Certificate = $c.Cert; NewCertificate = $c.NextCert } }
        Category = 'InvalidArgument'; Message = '-ObjectId|-AppId' },
    @{ Id = 'IR-09'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = 'app name'; Certificate = $c.Cert; NewCertificate = $c.NextCert } }
        Category = 'InvalidArgument'; Message = '-ObjectId' },
    @{ Id = 'IR-10'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = $c.ObjectId; CertificatePath = $c.Pfx; Certificate = $c.Cert; NewCertificate = $c.NextCert } }
        Category = 'InvalidArgument'; Message = '-Certificate.*-CertificatePath' },
    @{ Id = 'IR-11'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = $c.ObjectId; Certificate = $c.Cert; NewCertificate = $c.NextCert; JournalPath = $c.MissingDirJournal } }
        Category = 'InvalidArgument'; Message = 'no-such-dir.*folder you can write to' },
    @{ Id = 'IR-12'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = $c.ObjectId; Certificate = $c.Cert; NewCertificate = $c.NextCert; Resume = $true } }
        Category = 'InvalidArgument'; Message = '-Resume.*-JournalPath' },
    @{ Id = 'IR-13'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = $c.ObjectId; Certificate = $c.Cert; NewCertificate = $c.NextCert; VerifyTimeout = 0 } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'VerifyTimeout' },
    @{ Id = 'IR-14'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = $c.ObjectId; Certificate = $c.Cert; NewCertificate = $c.NextCert; ThrottleLimit = 100 } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'ThrottleLimit' },
    @{ Id = 'IR-15'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = $c.ObjectId; Certificate = $c.Cert; NewCertificatePath = $c.PfxNoPassword } }
        Category = 'InvalidArgument'; Message = '(?s)in use now.*-NewCertificate' },
    @{ Id = 'IR-16'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = $c.ObjectId; Certificate = $c.Cert; NewCertificate = $c.NextCert; CreateInKeyVault = $true } }
        Category = 'InvalidArgument'; Message = '-KeyVaultCertificateId.*-CreateInKeyVault' },
    @{ Id = 'IR-17'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = $c.ObjectId; KeyVaultCertificateId = 'not a url'; CreateInKeyVault = $true } }
        Category = 'InvalidArgument'; Message = '-KeyVaultCertificateId' },
    @{ Id = 'IR-18'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = $c.ObjectId; Certificate = $c.Cert; NewCertificate = $c.EcdsaCert } }
        Category = 'InvalidArgument'; Message = '-NewCertificate.*RSA' },
    @{ Id = 'IR-19'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'
        Params = { param($c) @{ ObjectId = $c.ObjectId; Certificate = $c.NextCert; NewCertificate = $c.ThirdCert } }
        Category = 'InvalidArgument'; ErrorId = 'roll_refused'; Message = 'is not a key credential of the object' },

    @{ Id = 'IR-20'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'; Expect = 'Success'
        Params = { param($c) @{ ObjectId = $c.ObjectId; Certificate = $c.Cert; NewCertificate = $c.NextCert; DisplayName = ('y' * 120); Confirm = $false } }
        Warning = 'shortened to 90'; WarningCount = 1 },
    @{ Id = 'IR-21'; Command = 'Invoke-EntraKeyRollover'; Connection = 'Certificate'; Expect = 'Success'
        Params = { param($c) @{ ObjectId = $c.ObjectId; CertificatePath = $c.PfxNoPassword; NewCertificatePath = $c.NextPfxNoPassword; Confirm = $false } } },

    # ---------------------------------------------------------------- Get-EntraKeyRollInventory
    @{ Id = 'GI-01'; Command = 'Get-EntraKeyRollInventory'
        Params = { param($c) @{ ExpiringWithin = -3 } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'ExpiringWithin' },
    @{ Id = 'GI-02'; Command = 'Get-EntraKeyRollInventory'
        Params = { param($c) @{ Type = 'User' } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'Type' },
    @{ Id = 'GI-03'; Command = 'Get-EntraKeyRollInventory'
        Params = { param($c) @{ CertificatePathRule = 'certs/{name}.pfx' } }
        Category = 'InvalidArgument'; Message = '-CertificatePathRule.*\{name\}' },
    @{ Id = 'GI-04'; Command = 'Get-EntraKeyRollInventory'
        Params = { param($c) @{ PageSize = 0 } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'PageSize' },
    @{ Id = 'GI-05'; Command = 'Get-EntraKeyRollInventory'
        Params = { param($c) @{ ExpiringWithin = 'soon' } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentTransformationError'; Message = 'ExpiringWithin' },
    @{ Id = 'GI-06'; Command = 'Get-EntraKeyRollInventory'
        Params = { param($c) @{ CredentialType = 'Cert' } }
        Category = 'InvalidData'; ErrorId = 'ParameterArgumentValidationError'; Message = 'CredentialType' }
)
