// Facade -> native library -> emulator over HTTPS, on .NET 10 with the netstandard2.0 assembly: every check of
// ../FacadeTests.cs (the Mono suite) as a fact. Mint, inspect, two-phase signing, key credentials,
// list/addKey/removeKey, roll and a background roll polled to its end, error objects with Graph's code and
// request-id, use after dispose, 16 threads at once, and a panic inside core surfacing as an exception.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Threading;
using Keyroll;
using Keyroll.Native;
using Xunit;

namespace Keyroll.Facade.Tests
{
    [Collection("emulator")]
    public sealed class FacadeTests
    {
        readonly Emulator emulator;
        readonly SigningIdentity current, next;
        readonly App shared;

        public FacadeTests(Emulator emulator)
        {
            this.emulator = emulator;
            current = emulator.Current;
            next = emulator.Next;
            shared = emulator.Shared;
        }

        static JsonElement Parse(string json)
        {
            using (var doc = JsonDocument.Parse(json)) return doc.RootElement.Clone();
        }

        static JsonElement[] Keys(string list)
        {
            return Parse(list).GetProperty("keys").EnumerateArray().ToArray();
        }

        static string Settings(object value)
        {
            return JsonSerializer.Serialize(value);
        }

        [Fact]
        public void Info_names_the_version_and_the_expected_abi()
        {
            var info = Parse(KeyrollNative.Info());
            Assert.Equal(2, info.GetProperty("abi").GetInt32());
            Assert.Equal(KeyrollNative.ExpectedAbi, info.GetProperty("abi").GetInt32());
            Assert.False(string.IsNullOrEmpty(info.GetProperty("version").GetString()));
        }

        [Fact]
        public void Identities_open_from_a_pfx_file_and_from_bytes()
        {
            Assert.NotNull(current.Thumbprint);
            Assert.Equal(40, current.Thumbprint.Length);
            Assert.Matches("^[0-9A-F]{40}$", current.Thumbprint);
            Assert.NotEqual(current.Thumbprint, next.Thumbprint);
            Assert.Contains("keyroll ffi test current", current.Subject);
            Assert.Equal(current.Thumbprint, Parse(current.CertificateJson).GetProperty("thumbprint").GetString());
        }

        [Fact]
        public void A_wrong_password_is_an_input_error_naming_the_fix()
        {
            var e = Assert.Throws<KeyrollException>(() => SigningIdentity.OpenFile(emulator.Pfx("current"), "not the password"));
            Assert.Equal(KeyrollStatus.InvalidInput, e.Status);
            Assert.Equal("input", e.Kind);
            Assert.Equal("certificate", e.Code);
            Assert.Contains("password", e.Message);
        }

        [Fact]
        public void A_minted_proof_inspects_as_accepted_and_is_rejected_for_another_object()
        {
            var proof = current.MintProof(shared.ObjectId);
            Assert.Equal(3, proof.Split('.').Length);
            var cert = Convert.ToBase64String(emulator.Der("current"));
            var report = Parse(Proofs.Inspect(proof, Settings(new { certificates = new[] { cert }, objectId = shared.ObjectId })));
            Assert.True(report.GetProperty("accepted").GetBoolean(), report.ToString());
            var bad = Parse(Proofs.Inspect(proof, Settings(new { objectId = shared.AppId, appId = shared.AppId })));
            Assert.False(bad.GetProperty("accepted").GetBoolean(), bad.ToString());
        }

        [Fact]
        public void Minting_refuses_a_bad_object_id_and_a_lifetime_over_600_s()
        {
            var e = Assert.Throws<KeyrollException>(() => current.MintProof("not-a-guid"));
            Assert.Equal(KeyrollStatus.InvalidInput, e.Status);
            Assert.Equal("proof", e.Code);
            e = Assert.Throws<KeyrollException>(() => current.MintProof(shared.ObjectId, 601));
            Assert.Contains("600", e.Message);
        }

        [Theory]
        [InlineData("current.pfx")]
        [InlineData("current-3des.pfx")]
        public void Two_phase_signing_with_a_key_held_by_dotnet(string pfx)
        {
            var der = emulator.Der("current");
            var input = Proofs.SigningInput(der, shared.ObjectId, 300, null);
            var x509 = X509CertificateLoader.LoadPkcs12FromFile(emulator.CertFile(pfx), emulator.Password, X509KeyStorageFlags.EphemeralKeySet);
            using (var same = SigningIdentity.OpenFile(emulator.CertFile(pfx), emulator.Password))
                Assert.Equal(x509.Thumbprint, same.Thumbprint);
            byte[] signature;
            using (var rsa = x509.GetRSAPrivateKey())
                signature = rsa.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var assembled = Proofs.Assemble(input, signature, der);
            Assert.StartsWith(input + ".", assembled);
            var report = Parse(Proofs.Inspect(assembled, Settings(new { certificates = new[] { Convert.ToBase64String(der) }, objectId = shared.ObjectId })));
            Assert.True(report.GetProperty("accepted").GetBoolean(), report.ToString());
            signature[10] ^= 0xff;
            var e = Assert.Throws<KeyrollException>(() => Proofs.Assemble(input, signature, der));
            Assert.Equal(KeyrollStatus.InvalidInput, e.Status);
            Assert.Contains("does not verify", e.Message);
        }

        [Fact]
        public void A_key_credential_from_a_certificate_and_a_private_key_refused()
        {
            var kc = Parse(Proofs.KeyCredential(emulator.Der("other"), Settings(new { displayName = "next year" })));
            var credential = kc.GetProperty("keyCredential");
            Assert.Equal("AsymmetricX509Cert", credential.GetProperty("type").GetString());
            Assert.Contains("next year", credential.ToString());
            var e = Assert.Throws<KeyrollException>(() => Proofs.KeyCredential(System.IO.File.ReadAllBytes(emulator.CertFile("current.key")), null));
            Assert.Equal("certificate", e.Code);
            Assert.Contains("private key", e.Message);
        }

        [Fact]
        public void Connect_as_the_app_with_its_certificate_and_list()
        {
            using (var connection = Connection.Open(emulator.Settings(shared), current))
            {
                Assert.Contains(current.Thumbprint, connection.Description);
                var keys = Keys(connection.ListKeys(shared.Target, current));
                Assert.Single(keys);
                Assert.True(keys[0].GetProperty("signs").GetBoolean(), keys[0].ToString());
            }
        }

        [Fact]
        public void Unknown_settings_are_refused()
        {
            var e = Assert.Throws<KeyrollException>(() => Connection.Open("{\"graphUrl\":\"https://127.0.0.1:1\",\"proxxy\":\"x\"}", null));
            Assert.Equal("settings", e.Code);
            Assert.Contains("proxxy", e.Message);
        }

        [Fact]
        public void AddKey_list_removeKey()
        {
            var app = emulator.Register("current");
            using (var connection = Connection.Open(emulator.Settings(app), current))
            {
                var added = Parse(connection.AddKey(Settings(new
                {
                    target = Parse(app.Target),
                    certificate = Convert.ToBase64String(emulator.Der("other")),
                    displayName = "ffi addKey",
                }), current));
                var keyId = added.GetProperty("keyId").GetString();
                Assert.True(Guid.TryParse(keyId, out _), "a keyId: " + added);
                Assert.Equal(2, Keys(connection.ListKeys(app.Target, null)).Length);
                var removed = Parse(connection.RemoveKey(Settings(new { target = Parse(app.Target), keyId }), current));
                Assert.True(removed.GetProperty("removed").GetBoolean(), removed.ToString());
                var left = Keys(connection.ListKeys(app.Target, null));
                Assert.Single(left);
                Assert.NotEqual(keyId, left[0].GetProperty("keyId").GetString());
            }
        }

        [Fact]
        public void Graphs_refusal_carries_its_code_and_request_id()
        {
            using (var connection = Connection.Open(emulator.Settings(shared), current))
            {
                var missing = Settings(new { kind = "application", objectId = Guid.NewGuid().ToString() });
                var e = Assert.Throws<KeyrollException>(() => connection.ListKeys(missing, null));
                Assert.Equal(KeyrollStatus.ServiceError, e.Status);
                Assert.Equal("service", e.Kind);
                Assert.Equal(404, e.HttpStatus);
                Assert.False(string.IsNullOrEmpty(e.Code), e.ErrorJson);
                Assert.False(string.IsNullOrEmpty(e.RequestId), e.ErrorJson);
                Assert.False(string.IsNullOrEmpty(e.ClientRequestId), e.ErrorJson);
                Assert.Equal(e.Code, Parse(e.ErrorJson).GetProperty("code").GetString());
            }
        }

        [Fact]
        public void An_unknown_key_id_is_refused_before_sending()
        {
            using (var connection = Connection.Open(emulator.Settings(shared), current))
            {
                var e = Assert.Throws<KeyrollException>(() =>
                    connection.RemoveKey(Settings(new { target = Parse(shared.Target), keyId = Guid.NewGuid().ToString() }), current));
                Assert.Equal(KeyrollStatus.Rejected, e.Status);
                Assert.Equal("key_not_found", e.Code);
            }
        }

        [Fact]
        public void A_proof_the_service_would_reject_is_refused_before_sending()
        {
            using (var connection = Connection.Open(emulator.Settings(shared), current))
            {
                // next is not a key of the shared application, so its proof cannot pass.
                var e = Assert.Throws<KeyrollException>(() => connection.AddKey(Settings(new
                {
                    target = Parse(shared.Target),
                    certificate = Convert.ToBase64String(emulator.Der("other")),
                }), next));
                Assert.Equal(KeyrollStatus.Rejected, e.Status);
                Assert.Equal("rejected", e.Kind);
                Assert.Single(Keys(connection.ListKeys(shared.Target, null)));
            }
        }

        [Fact]
        public void Use_after_dispose_is_an_error_not_a_crash()
        {
            var spare = SigningIdentity.OpenFile(emulator.Pfx("next"), emulator.Password);
            Assert.Equal(3, spare.MintProof(shared.ObjectId).Split('.').Length);
            spare.Dispose();
            spare.Dispose();
            var e = Assert.Throws<KeyrollException>(() => spare.MintProof(shared.ObjectId));
            Assert.Equal(KeyrollStatus.UnknownHandle, e.Status);
            var c = Connection.Open(emulator.Settings(shared), current);
            c.Dispose();
            e = Assert.Throws<KeyrollException>(() => c.ListKeys(shared.Target, null));
            Assert.Equal(KeyrollStatus.UnknownHandle, e.Status);
        }

        [Fact]
        public void Sixteen_threads_at_once_mint_inspect_and_list()
        {
            using (var connection = Connection.Open(emulator.Settings(shared), current))
            {
                var errors = new List<Exception>();
                var threads = new List<Thread>();
                var calls = 0;
                using (var start = new ManualResetEventSlim(false))
                {
                    for (var t = 0; t < 16; t++)
                    {
                        var th = new Thread(() =>
                        {
                            try
                            {
                                start.Wait();
                                var inspect = Settings(new { objectId = shared.ObjectId });
                                for (var i = 0; i < 25; i++)
                                {
                                    var p = current.MintProof(shared.ObjectId);
                                    if (!Parse(Proofs.Inspect(p, inspect)).TryGetProperty("findings", out _))
                                        throw new Exception("no findings in the report");
                                    Interlocked.Increment(ref calls);
                                }
                                var keys = Keys(connection.ListKeys(shared.Target, current));
                                if (keys.Length != 1) throw new Exception("wrong key count: " + keys.Length);
                                var e = Assert.Throws<KeyrollException>(() => current.MintProof("nope"));
                                if (e.Status != KeyrollStatus.InvalidInput) throw new Exception("wrong status " + e.Status);
                            }
                            catch (Exception e)
                            {
                                lock (errors) errors.Add(e);
                            }
                        });
                        th.Start();
                        threads.Add(th);
                    }
                    start.Set();
                    foreach (var th in threads) th.Join();
                }
                Assert.True(errors.Count == 0, "no errors, got " + string.Join(" | ", errors));
                Assert.Equal(16 * 25, calls);
            }
        }

        [Fact]
        public void A_panic_inside_core_surfaces_as_an_exception_and_the_library_keeps_working()
        {
            var e = Assert.Throws<KeyrollException>(() => Diagnostics.PanicForTest());
            Assert.Equal(KeyrollStatus.Panic, e.Status);
            Assert.Equal("internal", e.Kind);
            Assert.Equal("panic", e.Code);
            Assert.Contains("deliberate panic", e.Message);
            Assert.Equal(3, current.MintProof(shared.ObjectId).Split('.').Length);
            using (var connection = Connection.Open(emulator.Settings(shared), current))
                Assert.Single(Keys(connection.ListKeys(shared.Target, null)));
        }

        [Fact]
        public void Roll_to_the_next_certificate_removing_the_old_key()
        {
            var app = emulator.Register("current");
            using (var connection = Connection.Open(emulator.Settings(app), current))
            {
                var report = Parse(connection.Roll(Settings(new
                {
                    target = Parse(app.Target),
                    removeOld = true,
                    tenantId = app.TenantId,
                    verifyTimeoutSecs = 60,
                }), current, next));
                Assert.True(report.GetProperty("success").GetBoolean(), report.ToString());
            }
            using (var connection = Connection.Open(emulator.Settings(app), next))
            {
                var list = connection.ListKeys(app.Target, next);
                Assert.Single(Keys(list));
                Assert.Contains(next.Thumbprint, list);
                Assert.DoesNotContain(current.Thumbprint, list);
            }
        }

        [Fact]
        public void A_background_roll_polled_until_done_gives_step_events_then_the_report()
        {
            var app = emulator.Register("current");
            using (var connection = Connection.Open(emulator.Settings(app), current))
            {
                var bad = Assert.Throws<KeyrollException>(() => connection.StartRoll("{\"target\":{}}", current, next));
                Assert.Equal(KeyrollStatus.InvalidInput, bad.Status);
                Assert.Equal("settings", bad.Code);
                var rollSettings = Settings(new { target = Parse(app.Target), removeOld = true, tenantId = app.TenantId, verifyTimeoutSecs = 60 });
                RollOperation kept;
                JsonElement? last = null;
                var events = 0;
                using (var op = connection.StartRoll(rollSettings, current, next))
                {
                    kept = op;
                    var watch = Stopwatch.StartNew();
                    while (watch.Elapsed < TimeSpan.FromSeconds(90))
                    {
                        var poll = Parse(op.Poll());
                        events += poll.GetProperty("events").GetArrayLength();
                        if (poll.GetProperty("done").GetBoolean())
                        {
                            last = poll;
                            break;
                        }
                        Assert.Equal(JsonValueKind.Null, poll.GetProperty("report").ValueKind);
                        Thread.Sleep(100);
                    }
                }
                Assert.True(last.HasValue, "the roll ended within 90 s");
                Assert.True(events > 0, "step events arrived");
                var report = last.Value.GetProperty("report");
                Assert.True(report.GetProperty("success").GetBoolean(), report.ToString());
                var closed = Assert.Throws<KeyrollException>(() => kept.Poll());
                Assert.Equal(KeyrollStatus.UnknownHandle, closed.Status);
            }
            using (var connection = Connection.Open(emulator.Settings(app), next))
            {
                var list = connection.ListKeys(app.Target, next);
                Assert.Single(Keys(list));
                Assert.Contains(next.Thumbprint, list);
            }
        }
    }
}
