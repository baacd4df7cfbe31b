# Shared by the Pester files: imports the *built* module ($env:ENTRAKEYROLL_MODULE, set by build.ps1 -Task Test)
# and drives the emulator `keyroll-emulator` ($env:KEYROLL_EMULATOR_BIN) on a free port. Windows PowerShell 5.1 syntax
# and APIs only (Compatibility51.Tests.ps1 checks this file too). Every file it creates is under $TestDrive,
# which Pester removes.

function Import-BuiltEntraKeyRoll {
    if (-not $env:ENTRAKEYROLL_MODULE) { throw 'set ENTRAKEYROLL_MODULE to the packaged EntraKeyRoll.psd1 (./build.ps1 -Task Package, Test does)' }
    Import-Module $env:ENTRAKEYROLL_MODULE -Force -ErrorAction Stop
}

function Initialize-KrTestTrust {
    # An HttpClient for the emulator's admin API that trusts exactly the emulator's CA (no certificate check is
    # skipped): the server's chain must end in that CA. Compiled C#, not a scriptblock, because .NET calls the
    # validation callback on threads that have no PowerShell runspace.
    if (-not ('KrTest.EmulatorTrust' -as [type])) {
        $source = @'
// The file-loading constructor is obsolete on .NET 9+, and the only one .NET Framework has.
#pragma warning disable
using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
namespace KrTest {
    public static class EmulatorTrust {
        public static HttpClient Client(string caFile) {
            var ca = new X509Certificate2(caFile);
            var handler = new HttpClientHandler();
            handler.ServerCertificateCustomValidationCallback = (message, certificate, chain, errors) => {
                if (errors == SslPolicyErrors.None) return true;
                if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
                using (var c = new X509Chain()) {
                    c.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    c.ChainPolicy.VerificationFlags = X509VerificationFlags.AllowUnknownCertificateAuthority;
                    c.ChainPolicy.ExtraStore.Add(ca);
                    if (!c.Build(certificate)) return false;
                    var root = c.ChainElements[c.ChainElements.Count - 1].Certificate;
                    return root.Thumbprint == ca.Thumbprint;
                }
            };
            return new HttpClient(handler);
        }
    }
}
'@
        # PowerShell 7 references the whole runtime by default; Windows PowerShell needs System.Net.Http named.
        $refs = @()
        if ($PSVersionTable.PSEdition -ne 'Core') { $refs = @('System.Net.Http') }
        if ($refs) { Add-Type -TypeDefinition $source -ReferencedAssemblies $refs -ErrorAction Stop } else { Add-Type -TypeDefinition $source -ErrorAction Stop }
    }
}

function Open-KrTestEmulator {
    # Starts `keyroll-emulator` on a free loopback port over HTTPS, waits for its first output line (complete,
    # with its newline), and returns its endpoints, CA file and tenant id (from GET /_emulator/info).
    param([string[]] $Arguments = @())
    $bin = if ($env:KEYROLL_EMULATOR_BIN) { $env:KEYROLL_EMULATOR_BIN } else { 'keyroll-emulator' }
    $dir = Join-Path $TestDrive ('emulator-' + [guid]::NewGuid().ToString('n').Substring(0, 8))
    $null = New-Item -ItemType Directory -Path $dir
    $stdout = Join-Path $dir 'stdout.txt'
    $stderr = Join-Path $dir 'stderr.txt'
    $ca = Join-Path $dir 'ca.pem'
    $argv = @('--listen', '127.0.0.1:0', '--ca-file', $ca) + $Arguments
    $process = Start-Process -FilePath $bin -ArgumentList $argv -RedirectStandardOutput $stdout -RedirectStandardError $stderr -PassThru -NoNewWindow
    $deadline = (Get-Date).AddSeconds(30)
    $line = $null
    while ((Get-Date) -lt $deadline) {
        if (Test-Path -LiteralPath $stdout) {
            $text = [System.IO.File]::ReadAllText($stdout)
            $end = $text.IndexOf("`n")
            if ($end -ge 0) { $line = $text.Substring(0, $end).Trim(); break }
        }
        if ($process.HasExited) { break }
        Start-Sleep -Milliseconds 50
    }
    if (-not $line) {
        if (-not $process.HasExited) { Stop-Process -Id $process.Id -Force }
        throw "keyroll-emulator did not start: $(Get-Content -LiteralPath $stderr -Raw -ErrorAction Ignore)"
    }
    $info = $line | ConvertFrom-Json
    Initialize-KrTestTrust
    $emulator = [pscustomobject]@{
        Process = $process; GraphUrl = $info.graph_url; LoginUrl = $info.login_url; CaCert = $info.ca_cert; VaultUrl = $info.vault_url
        Client = [KrTest.EmulatorTrust]::Client($info.ca_cert); TenantId = $null
    }
    $emulator.TenantId = (Invoke-KrEmulatorAdmin $emulator 'GET' 'info').tenantId
    $emulator
}

function Close-KrTestEmulator([object] $Emulator) {
    if ($Emulator) {
        if ($Emulator.Client) { $Emulator.Client.Dispose() }
        if (-not $Emulator.Process.HasExited) { Stop-Process -Id $Emulator.Process.Id -Force; $Emulator.Process.WaitForExit(5000) | Out-Null }
    }
}

function Invoke-KrEmulatorAdmin([object] $Emulator, [string] $Method, [string] $Path, [object] $Body) {
    # The emulator's admin API (/_emulator/...), over HTTPS with the emulator's CA; the JSON answer as objects.
    $request = New-Object System.Net.Http.HttpRequestMessage ([System.Net.Http.HttpMethod]::new($Method)), "$($Emulator.GraphUrl)/_emulator/$Path"
    if ($null -ne $Body) {
        $request.Content = New-Object System.Net.Http.StringContent (ConvertTo-Json -InputObject $Body -Depth 6 -Compress), ([System.Text.Encoding]::UTF8), 'application/json'
    }
    $response = $Emulator.Client.SendAsync($request).GetAwaiter().GetResult()
    $text = $response.Content.ReadAsStringAsync().GetAwaiter().GetResult()
    if (-not $response.IsSuccessStatusCode) { throw "emulator $Method /_emulator/$Path answered $([int]$response.StatusCode): $text" }
    $text | ConvertFrom-Json
}

function Get-KrTestCertificate([string] $Subject = 'CN=EntraKeyRoll test', [int] $Days = 90) {
    # A self-signed RSA-2048 certificate with an exportable key, made by .NET (no tools needed).
    $rsa = [System.Security.Cryptography.RSA]::Create(2048)
    $req = New-Object System.Security.Cryptography.X509Certificates.CertificateRequest $Subject, $rsa, ([System.Security.Cryptography.HashAlgorithmName]::SHA256), ([System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
    $cert = $req.CreateSelfSigned([datetimeoffset]::UtcNow.AddDays(-1), [datetimeoffset]::UtcNow.AddDays($Days))
    $pfx = $cert.Export('Pfx', 'pw')
    New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList (@(, $pfx) + @('pw', 'Exportable'))
}

function Initialize-KrTestNoExportRsa {
    # KrTest.NoExportRsa: an RSA key object that signs with the key it wraps and throws from every export method,
    # as a Windows certificate store key marked non-exportable (or a smart card's) does. It counts signatures and
    # export attempts (statics, reset by Reset()), so a test can prove that the key signed and was never exported.
    # On Linux a real X509Certificate2 cannot carry such a key: the module's one key lookup (Get-KrCertificateKey)
    # is mocked to return one.
    if ('KrTest.NoExportRsa' -as [type]) { return }
    $core = @'
        public override byte[] ExportRSAPrivateKey() { return Refuse(); }
        public override byte[] ExportRSAPublicKey() { return Refuse(); }
        public override byte[] ExportPkcs8PrivateKey() { return Refuse(); }
        public override byte[] ExportSubjectPublicKeyInfo() { return Refuse(); }
        public override byte[] ExportEncryptedPkcs8PrivateKey(System.ReadOnlySpan<char> password, PbeParameters pbe) { return Refuse(); }
        public override byte[] ExportEncryptedPkcs8PrivateKey(System.ReadOnlySpan<byte> password, PbeParameters pbe) { return Refuse(); }
        public override bool TryExportRSAPrivateKey(System.Span<byte> destination, out int written) { written = 0; Refuse(); return false; }
        public override bool TryExportRSAPublicKey(System.Span<byte> destination, out int written) { written = 0; Refuse(); return false; }
        public override bool TryExportPkcs8PrivateKey(System.Span<byte> destination, out int written) { written = 0; Refuse(); return false; }
        public override bool TryExportSubjectPublicKeyInfo(System.Span<byte> destination, out int written) { written = 0; Refuse(); return false; }
        public override bool TryExportEncryptedPkcs8PrivateKey(System.ReadOnlySpan<char> password, PbeParameters pbe, System.Span<byte> destination, out int written) { written = 0; Refuse(); return false; }
        public override bool TryExportEncryptedPkcs8PrivateKey(System.ReadOnlySpan<byte> password, PbeParameters pbe, System.Span<byte> destination, out int written) { written = 0; Refuse(); return false; }
'@
    $extra = if ($PSVersionTable.PSEdition -eq 'Core') { $core } else { '' }
    $source = @"
using System.IO;
using System.Security.Cryptography;
using System.Threading;
namespace KrTest {
    public sealed class NoExportRsa : RSA {
        static int signatures, exportAttempts;
        public static int Signatures { get { return signatures; } }
        public static int ExportAttempts { get { return exportAttempts; } }
        public static bool RefuseToSign;
        public static void Reset() { signatures = 0; exportAttempts = 0; RefuseToSign = false; }
        readonly RSA inner;
        public NoExportRsa(RSA inner) { this.inner = inner; KeySizeValue = inner.KeySize; LegalKeySizesValue = inner.LegalKeySizes; }
        static byte[] Refuse() { Interlocked.Increment(ref exportAttempts); throw new CryptographicException("Key not valid for use in specified state (the key is not exportable)."); }
        public override RSAParameters ExportParameters(bool includePrivateParameters) { Refuse(); return default(RSAParameters); }
        public override void ImportParameters(RSAParameters parameters) { throw new CryptographicException("this key object holds one key"); }
        public override string ToXmlString(bool includePrivateParameters) { Refuse(); return null; }
        public override void FromXmlString(string xml) { throw new CryptographicException("this key object holds one key"); }
        protected override byte[] HashData(byte[] data, int offset, int count, HashAlgorithmName algorithm) { using (var h = SHA256.Create()) return h.ComputeHash(data, offset, count); }
        protected override byte[] HashData(Stream data, HashAlgorithmName algorithm) { using (var h = SHA256.Create()) return h.ComputeHash(data); }
        public override byte[] SignHash(byte[] hash, HashAlgorithmName algorithm, RSASignaturePadding padding) { if (RefuseToSign) throw new CryptographicException("The operation was canceled by the user."); Interlocked.Increment(ref signatures); return inner.SignHash(hash, algorithm, padding); }
        public override bool VerifyHash(byte[] hash, byte[] signature, HashAlgorithmName algorithm, RSASignaturePadding padding) { return inner.VerifyHash(hash, signature, algorithm, padding); }
        public override byte[] Encrypt(byte[] data, RSAEncryptionPadding padding) { return inner.Encrypt(data, padding); }
        public override byte[] Decrypt(byte[] data, RSAEncryptionPadding padding) { return inner.Decrypt(data, padding); }
$extra
    }
}
"@
    Add-Type -TypeDefinition $source -ErrorAction Stop
}

function Get-KrTestEcdsaCertificate([string] $Subject = 'CN=EntraKeyRoll ECDSA test') {
    # A self-signed ECDSA P-256 certificate with its private key: a key Entra proofs cannot be signed with.
    $ec = [System.Security.Cryptography.ECDsa]::Create()
    $req = New-Object System.Security.Cryptography.X509Certificates.CertificateRequest $Subject, $ec, ([System.Security.Cryptography.HashAlgorithmName]::SHA256)
    $req.CreateSelfSigned([datetimeoffset]::UtcNow.AddDays(-1), [datetimeoffset]::UtcNow.AddDays(30))
}

function Register-KrTestApp([object] $Emulator, [System.Security.Cryptography.X509Certificates.X509Certificate2] $Certificate) {
    # An application on the emulator with that certificate: {id, appId, tenantId, servicePrincipalId}.
    Invoke-KrEmulatorAdmin $Emulator 'POST' 'applications' @{ displayName = 'pester'; certificates = @([Convert]::ToBase64String($Certificate.RawData)) }
}

function Get-KrTestKeys([object] $Emulator, [string] $ObjectId) {
    # The object's key credentials as the emulator holds them (not through the module under test).
    , @((Invoke-KrEmulatorAdmin $Emulator 'GET' "applications/$ObjectId").keyCredentials)
}

function Get-KrTestToken([object] $Emulator, [object] $App) {
    (Invoke-KrEmulatorAdmin $Emulator 'POST' 'tokens' @{ appId = $App.appId }).access_token
}

function New-KrTestVaultIdentity([object] $Emulator) {
    # A managed identity as an Automation account has one: an application the emulator's managed-identity endpoint
    # issues tokens for, allowed to write every application (Application.ReadWrite.All), with the vault permissions
    # a roll in Key Vault needs. Sets IDENTITY_ENDPOINT and IDENTITY_HEADER as the Automation sandbox does (the
    # caller restores them with Restore-KrTestEnvironment). Answers the identity's application.
    $info = Invoke-KrEmulatorAdmin $Emulator 'GET' 'info'
    $identity = Invoke-KrEmulatorAdmin $Emulator 'POST' 'applications' @{ displayName = 'automation account'; managedIdentity = $true; roles = @('Application.ReadWrite.All') }
    $null = Invoke-KrEmulatorAdmin $Emulator 'POST' 'vault/grants' @{ principal = $identity.appId; permissions = @('certificates/get', 'certificates/list', 'certificates/create', 'keys/get', 'keys/sign') }
    $script:KrTestSavedEnvironment = @{ IDENTITY_ENDPOINT = $env:IDENTITY_ENDPOINT; IDENTITY_HEADER = $env:IDENTITY_HEADER }
    $env:IDENTITY_ENDPOINT = $info.identityEndpoint
    $env:IDENTITY_HEADER = $info.identityHeader
    $identity
}

function Restore-KrTestEnvironment {
    if ($script:KrTestSavedEnvironment) {
        $env:IDENTITY_ENDPOINT = $script:KrTestSavedEnvironment.IDENTITY_ENDPOINT
        $env:IDENTITY_HEADER = $script:KrTestSavedEnvironment.IDENTITY_HEADER
        $script:KrTestSavedEnvironment = $null
    }
}

function New-KrTestVaultCertificate([object] $Emulator, [string] $Name, [int] $DaysValid = 90) {
    # A certificate in the emulator's vault (its key never leaves the vault): {id, kid, name, version, thumbprint,
    # cer}.
    Invoke-KrEmulatorAdmin $Emulator 'POST' 'vault/certificates' @{ name = $Name; subject = "CN=$Name"; daysValid = $DaysValid }
}

function Register-KrTestVaultApp([object] $Emulator, [object] $VaultCertificate) {
    # An application on the emulator whose key is that vault certificate's public part.
    Invoke-KrEmulatorAdmin $Emulator 'POST' 'applications' @{ displayName = 'pester vault'; certificates = @($VaultCertificate.cer) }
}

function ConvertTo-KrTestSecureString([string] $Text) {
    $s = New-Object System.Security.SecureString
    foreach ($ch in $Text.ToCharArray()) { $s.AppendChar($ch) }
    $s
}

function Connect-KrTestEmulatorAsApp([object] $Emulator, [object] $App) {
    Connect-EntraKeyRoll -AccessToken (ConvertTo-KrTestSecureString (Get-KrTestToken $Emulator $App)) -GraphUrl $Emulator.GraphUrl -LoginUrl $Emulator.LoginUrl -CaCertificate $Emulator.CaCert
}

function Get-KrWrittenError([object[]] $ErrorVariable, [string] $Command) {
    # The errors a command left in -ErrorVariable, which must be only its own (FullyQualifiedErrorId
    # '<id>,<command>'): the module passes failures back as values, so no exception it met on the way may be
    # collected before the command's record. Any other record fails the test that asked, naming it.
    # Returned as one array (never unrolled to a single record or $null), so .Count holds under StrictMode too.
    $records = @($ErrorVariable | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
    $foreign = @($records | Where-Object { $_.FullyQualifiedErrorId -notlike "*,$Command" })
    if ($foreign.Count) {
        throw "-ErrorVariable of $Command holds records that are not the command's own: $(($foreign | ForEach-Object { "$($_.FullyQualifiedErrorId) ($($_.Exception.GetType().Name): $($_.Exception.Message))" }) -join '; ')"
    }
    , $records
}

function Invoke-KrTestChildShell([string] $Command) {
    # Runs a command in a fresh PowerShell process of the same kind as this one (pwsh, or powershell.exe on
    # Windows PowerShell) and returns its output lines. A dotnet-tool pwsh runs as `dotnet pwsh.dll`.
    $exe = (Get-Process -Id $PID).Path
    $prefix = @()
    if ([System.IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { $prefix = @(Join-Path $PSHOME 'pwsh.dll') }
    $argv = $prefix + @('-NoProfile', '-NonInteractive', '-Command', $Command)
    & $exe @argv
}
