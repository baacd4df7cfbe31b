// What the facts share: the native library loaded once through the facade, the certificates made by the test
// script, the emulator it started, and a way to register a fresh application there. Facts that change an
// application's keys register their own, so that no fact depends on another's order or outcome.

using System;
using System.IO;
using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Keyroll;
using Xunit;

namespace Keyroll.Facade.Tests
{
    public sealed class Emulator : IDisposable
    {
        public string GraphUrl { get; }
        public string LoginUrl { get; }
        public string CaCert { get; }
        public string Password { get; }
        public string NativeLib { get; }

        /// <summary>The identities open for every fact: "current" signs the shared application, "next" does not.</summary>
        public SigningIdentity Current { get; }
        public SigningIdentity Next { get; }

        /// <summary>An application registered with the current certificate; no fact changes its keys.</summary>
        public App Shared { get; }

        readonly string certs;
        readonly HttpClient http;

        public Emulator()
        {
            NativeLib = Env("KR_NATIVE_LIB");
            KeyrollNative.Load(NativeLib);
            GraphUrl = Env("KR_GRAPH_URL");
            LoginUrl = Env("KR_LOGIN_URL");
            CaCert = Env("KR_CA_CERT");
            Password = Env("KR_PASSWORD");
            certs = Env("KR_CERTS");
            var ca = X509Certificate2.CreateFromPem(File.ReadAllText(CaCert));
            var handler = new HttpClientHandler
            {
                // Trust the emulator's own CA for this client only, as the native library does with caFile.
                ServerCertificateCustomValidationCallback = (request, certificate, chain, errors) =>
                {
                    if (certificate == null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None) return false;
                    using (var custom = new X509Chain())
                    {
                        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                        custom.ChainPolicy.CustomTrustStore.Add(ca);
                        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                        return custom.Build(certificate);
                    }
                },
            };
            http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
            Current = SigningIdentity.OpenFile(Pfx("current"), Password);
            Next = SigningIdentity.Open(File.ReadAllBytes(Pfx("next")), Password);
            Shared = Register("current");
        }

        public static string Env(string name)
        {
            var v = Environment.GetEnvironmentVariable(name);
            if (string.IsNullOrEmpty(v)) throw new InvalidOperationException(name + " is not set: run scripts/test.d/dotnet-facade.sh");
            return v;
        }

        /// <summary>A file the script made with make_cert: NAME.pfx, NAME-3des.pfx, NAME.cer (DER), NAME.key, ...</summary>
        public string CertFile(string fileName) { return Path.Combine(certs, fileName); }
        public string Pfx(string name) { return CertFile(name + ".pfx"); }
        public byte[] Der(string name) { return File.ReadAllBytes(CertFile(name + ".cer")); }

        /// <summary>Registers an application whose one key is the named certificate.</summary>
        public App Register(string certificate)
        {
            var body = JsonSerializer.Serialize(new
            {
                displayName = "dotnet facade test",
                certificates = new[] { Convert.ToBase64String(Der(certificate)) },
            });
            using (var content = new StringContent(body, Encoding.UTF8, "application/json"))
            using (var answer = http.PostAsync(GraphUrl + "/_emulator/applications", content).GetAwaiter().GetResult())
            {
                var text = answer.Content.ReadAsStringAsync().GetAwaiter().GetResult();
                Assert.True(answer.IsSuccessStatusCode, "registering an application: " + (int)answer.StatusCode + " " + text);
                using (var doc = JsonDocument.Parse(text))
                {
                    var r = doc.RootElement;
                    return new App(r.GetProperty("id").GetString(), r.GetProperty("appId").GetString(), r.GetProperty("tenantId").GetString());
                }
            }
        }

        /// <summary>Connection settings for the emulator, as the app with its certificate.</summary>
        public string Settings(App app)
        {
            return JsonSerializer.Serialize(new { graphUrl = GraphUrl, loginUrl = LoginUrl, caFile = CaCert, tenantId = app.TenantId, clientId = app.AppId });
        }

        public void Dispose()
        {
            Current?.Dispose();
            Next?.Dispose();
            http?.Dispose();
        }
    }

    public sealed class App
    {
        public string ObjectId { get; }
        public string AppId { get; }
        public string TenantId { get; }
        /// <summary>The target of Graph calls: {kind, objectId}.</summary>
        public string Target { get; }

        public App(string objectId, string appId, string tenantId)
        {
            ObjectId = objectId;
            AppId = appId;
            TenantId = tenantId;
            Target = JsonSerializer.Serialize(new { kind = "application", objectId });
        }
    }

    [CollectionDefinition("emulator")]
    public sealed class EmulatorCollection : ICollectionFixture<Emulator>
    {
    }
}
