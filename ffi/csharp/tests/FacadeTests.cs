// Facade -> native library -> emulator over HTTPS, under Mono. Run by scripts/test.d/ffi-csharp.sh, which
// starts the emulator, makes the certificates and registers the application; settings arrive in KR_* variables.
// Prints one line per check and exits 1 when any failed.

using System;
using System.Runtime.InteropServices;
using System.Security;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using Keyroll;
using Keyroll.Native;

static class FacadeTests
{
    static int failures;

    static string Env(string name)
    {
        var v = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrEmpty(v)) throw new InvalidOperationException(name + " is not set");
        return v;
    }

    static void Check(string name, Action test)
    {
        try
        {
            test();
            Console.WriteLine("ok   " + name);
        }
        catch (Exception e)
        {
            failures++;
            Console.WriteLine("FAIL " + name + ": " + e);
        }
    }

    static void Assert(bool condition, string what)
    {
        if (!condition) throw new Exception("expected " + what);
    }

    static KeyrollException Throws(Action action)
    {
        try
        {
            action();
        }
        catch (KeyrollException e)
        {
            return e;
        }
        throw new Exception("expected a KeyrollException");
    }

    static string Field(string json, string name)
    {
        var m = Regex.Match(json, "\"" + name + "\":\\s*(\"(?<s>[^\"]*)\"|(?<v>[^,}\\]]+))");
        if (!m.Success) return null;
        return m.Groups["s"].Success ? m.Groups["s"].Value : m.Groups["v"].Value;
    }

    /// <summary>The emulator's admin API through curl (the test plays the user at the browser).</summary>
    static string Admin(string method, string path, string body)
    {
        var psi = new ProcessStartInfo("curl", "-sf --cacert \"" + Env("KR_CA_CERT") + "\" -X " + method +
            " -H Content-Type:application/json -d \"" + body.Replace("\"", "\\\"") + "\" " + Env("KR_GRAPH_URL") + "/_emulator/" + path);
        psi.UseShellExecute = false;
        psi.RedirectStandardOutput = true;
        using (var p = Process.Start(psi))
        {
            var text = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new Exception("admin " + method + " " + path + " failed: " + p.ExitCode);
            return text;
        }
    }

    static int Count(string json, string needle)
    {
        return Regex.Matches(json, Regex.Escape(needle)).Count;
    }

    static int Main()
    {
        var objectId = Env("KR_OBJECT_ID");
        var appId = Env("KR_APP_ID");
        var tenant = Env("KR_TENANT_ID");
        var password = Env("KR_PASSWORD");
        var currentPfx = Env("KR_CURRENT_PFX");
        var nextPfx = Env("KR_NEXT_PFX");
        var otherCer = File.ReadAllBytes(Env("KR_OTHER_CER"));
        var target = "{\"kind\":\"application\",\"objectId\":\"" + objectId + "\"}";
        var settings = "{\"graphUrl\":\"" + Env("KR_GRAPH_URL") + "\",\"loginUrl\":\"" + Env("KR_LOGIN_URL") +
            "\",\"caFile\":\"" + Env("KR_CA_CERT") + "\",\"tenantId\":\"" + tenant + "\",\"clientId\":\"" + appId + "\"}";

        SigningIdentity current = null, next = null;
        Connection connection = null;

        Check("info", () => Assert(KeyrollNative.Info().Contains("\"abi\":" + KeyrollNative.ExpectedAbi), "abi " + KeyrollNative.ExpectedAbi));

        Check("open identities (PFX file, PFX bytes)", () =>
        {
            current = SigningIdentity.OpenFile(currentPfx, password);
            next = SigningIdentity.Open(File.ReadAllBytes(nextPfx), password);
            Assert(current.Thumbprint != null && current.Thumbprint.Length == 40, "a SHA-1 thumbprint");
            Assert(current.Thumbprint != next.Thumbprint, "two certificates");
        });

        Check("wrong password is an input error naming the fix", () =>
        {
            var e = Throws(() => SigningIdentity.OpenFile(currentPfx, "not the password"));
            Assert(e.Status == KeyrollStatus.InvalidInput && e.Kind == "input" && e.Code == "certificate", "input/certificate, got " + e.ErrorJson);
            Assert(e.Message.Contains("password"), "the message to mention the password");
        });

        string proof = null;
        Check("mint + inspect", () =>
        {
            proof = current.MintProof(objectId);
            Assert(proof.Split('.').Length == 3, "a compact JWS");
            var cert = Convert.ToBase64String(File.ReadAllBytes(Env("KR_CURRENT_CER")));
            var report = Proofs.Inspect(proof, "{\"certificates\":[\"" + cert + "\"],\"objectId\":\"" + objectId + "\"}");
            Assert(report.Contains("\"accepted\":true"), "accepted, got " + report);
            var bad = Proofs.Inspect(proof, "{\"objectId\":\"" + appId + "\",\"appId\":\"" + appId + "\"}");
            Assert(bad.Contains("\"accepted\":false"), "rejected for another object id");
        });

        Check("mint errors: bad object id, lifetime over 600 s", () =>
        {
            var e = Throws(() => current.MintProof("not-a-guid"));
            Assert(e.Status == KeyrollStatus.InvalidInput && e.Code == "proof", "input/proof, got " + e.ErrorJson);
            e = Throws(() => current.MintProof(objectId, 601));
            Assert(e.Message.Contains("600"), "the limit in the message");
        });

        Check("two-phase signing with a key held by .NET", () =>
        {
            var der = File.ReadAllBytes(Env("KR_CURRENT_CER"));
            var input = Proofs.SigningInput(der, objectId, 300, null);
            // Mono's X509 reader needs the older 3DES PFX encryption; the library reads both.
            var x509 = new X509Certificate2(Env("KR_CURRENT_PFX_3DES"), password, X509KeyStorageFlags.Exportable);
            using (var same = SigningIdentity.OpenFile(Env("KR_CURRENT_PFX_3DES"), password))
                Assert(same.Thumbprint == x509.Thumbprint, "the same certificate through both readers");
            var rsa = (RSA)x509.PrivateKey;
            var signature = rsa.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var assembled = Proofs.Assemble(input, signature, der);
            Assert(assembled.StartsWith(input + "."), "the proof to carry the signing input");
            signature[10] ^= 0xff;
            var e = Throws(() => Proofs.Assemble(input, signature, der));
            Assert(e.Status == KeyrollStatus.InvalidInput && e.Message.Contains("does not verify"), "a signature mismatch");
        });

        Check("key credential from a certificate; a private key is refused", () =>
        {
            var kc = Proofs.KeyCredential(otherCer, "{\"displayName\":\"next year\"}");
            Assert(kc.Contains("\"AsymmetricX509Cert\"") && kc.Contains("next year"), "a keyCredential");
            var e = Throws(() => Proofs.KeyCredential(File.ReadAllBytes(Env("KR_CURRENT_KEY")), null));
            Assert(e.Code == "certificate" && e.Message.Contains("private key"), "the private-key guard, got " + e.ErrorJson);
        });

        Check("connect (as the app, with its certificate) and list", () =>
        {
            connection = Connection.Open(settings, current);
            Assert(connection.Description.Contains(current.Thumbprint), "the credential in the description");
            var list = connection.ListKeys(target, current);
            Assert(Count(list, "\"keyId\"") == 1 && list.Contains("\"signs\":true"), "one key, ours: " + list);
        });

        Check("unknown settings are refused", () =>
        {
            var e = Throws(() => Connection.Open("{\"graphUrl\":\"https://127.0.0.1:1\",\"proxxy\":\"x\"}", null));
            Assert(e.Code == "settings" && e.Message.Contains("proxxy"), "settings error, got " + e.ErrorJson);
        });

        string addedKeyId = null;
        Check("addKey, list, removeKey", () =>
        {
            var added = connection.AddKey("{\"target\":" + target + ",\"certificate\":\"" + Convert.ToBase64String(otherCer) +
                "\",\"displayName\":\"ffi addKey\"}", current);
            addedKeyId = Field(added, "keyId");
            Assert(addedKeyId != null && addedKeyId.Length == 36, "a keyId: " + added);
            Assert(Count(connection.ListKeys(target, null), "\"keyId\"") == 2, "two keys");
            var removed = connection.RemoveKey("{\"target\":" + target + ",\"keyId\":\"" + addedKeyId + "\"}", current);
            Assert(removed.Contains("\"removed\":true"), "removed");
            Assert(Count(connection.ListKeys(target, null), "\"keyId\"") == 1, "one key again");
        });

        Check("repair: a proof is refused in its settings; the app's own sign-in is refused naming the permission", () =>
        {
            var body = "{\"target\":" + target + ",\"certificate\":\"" + Convert.ToBase64String(otherCer) + "\"";
            var e = Throws(() => connection.RepairKey(body + ",\"proof\":\"a.b.c\"}"));
            Assert(e.Status == KeyrollStatus.InvalidInput && e.Message.Contains("proof"), "settings error, got " + e.ErrorJson);
            e = Throws(() => connection.RepairKey(body + "}"));
            Assert(e.Status == KeyrollStatus.ServiceError && e.HttpStatus == 403, "403, got " + e.ErrorJson);
            Assert(e.Message.Contains("Application.ReadWrite.All"), "the permission named, got " + e.ErrorJson);
            Assert(Count(connection.ListKeys(target, null), "\"keyId\"") == 1, "nothing changed");
        });

        Check("addPassword returns the secret as a read-only SecureString, never in the text; removePassword", () =>
        {
            var secretsSettings = "{\"graphUrl\":\"" + Env("KR_GRAPH_URL") + "\",\"loginUrl\":\"" + Env("KR_LOGIN_URL") +
                "\",\"caFile\":\"" + Env("KR_CA_CERT") + "\",\"accessToken\":\"" + Env("KR_SECRETS_GRAPH_TOKEN") + "\"}";
            using (var c = Connection.Open(secretsSettings, null))
            {
                var answer = c.AddPassword("{\"target\":" + target + ",\"displayName\":\"ffi secret\"}");
                var added = answer.Json;
                var secret = answer.SecretText;
                var keyId = Field(added, "keyId");
                Assert(keyId != null && keyId.Length == 36, "a keyId: " + added);
                Assert(secret.IsReadOnly() && secret.Length >= 16, "a read-only secret of " + secret.Length + " characters");
                Assert(added.Contains("\"secretText\":null"), "the text carries no secret: " + added);
                var hint = Field(added, "hint");
                var plain = Marshal.PtrToStringUni(Marshal.SecureStringToGlobalAllocUnicode(secret));
                Assert(hint != null && plain.StartsWith(hint) && !added.Contains(plain), "the hint is the secret's start");
                var removed = c.RemovePassword("{\"target\":" + target + ",\"keyId\":\"" + keyId + "\"}");
                Assert(removed.Contains("\"removed\":true"), "removed: " + removed);
                var e = Throws(() => c.RemovePassword("{\"target\":" + target + ",\"keyId\":\"" + keyId + "\"}"));
                Assert(e.Status == KeyrollStatus.Rejected && e.Code == "password_not_found", "password_not_found, got " + e.ErrorJson);
            }
        });

        Check("Graph's refusal carries its code and request-id", () =>
        {
            var missing = "{\"kind\":\"application\",\"objectId\":\"" + Guid.NewGuid() + "\"}";
            var e = Throws(() => connection.ListKeys(missing, null));
            Assert(e.Status == KeyrollStatus.ServiceError && e.Kind == "service", "a service error, got " + e.ErrorJson);
            Assert(e.HttpStatus == 404 && !string.IsNullOrEmpty(e.Code), "404 with Graph's code, got " + e.ErrorJson);
            Assert(!string.IsNullOrEmpty(e.RequestId) && !string.IsNullOrEmpty(e.ClientRequestId), "request ids, got " + e.ErrorJson);
        });

        Check("an unknown keyId is refused before sending", () =>
        {
            var e = Throws(() => connection.RemoveKey("{\"target\":" + target + ",\"keyId\":\"" + Guid.NewGuid() + "\"}", current));
            Assert(e.Status == KeyrollStatus.Rejected && e.Code == "key_not_found", "key_not_found, got " + e.ErrorJson);
        });

        Check("a proof the service would reject is refused before sending", () =>
        {
            var e = Throws(() => connection.AddKey("{\"target\":" + target + ",\"certificate\":\"" + Convert.ToBase64String(otherCer) + "\"}", next));
            Assert(e.Status == KeyrollStatus.Rejected && e.Kind == "rejected", "rejected, got " + e.ErrorJson);
        });

        Check("use after dispose is an error, not a crash", () =>
        {
            var spare = SigningIdentity.OpenFile(nextPfx, password);
            spare.Dispose();
            spare.Dispose();
            var e = Throws(() => spare.MintProof(objectId));
            Assert(e.Status == KeyrollStatus.UnknownHandle, "UnknownHandle, got " + e.Status);
            var c = Connection.Open(settings, current);
            c.Dispose();
            e = Throws(() => c.ListKeys(target, null));
            Assert(e.Status == KeyrollStatus.UnknownHandle, "UnknownHandle for the connection");
        });

        Check("16 threads at once: mint, inspect, list", () =>
        {
            var errors = new List<Exception>();
            var threads = new List<Thread>();
            var start = new ManualResetEvent(false);
            for (var t = 0; t < 16; t++)
            {
                var th = new Thread(() =>
                {
                    try
                    {
                        start.WaitOne();
                        for (var i = 0; i < 25; i++)
                        {
                            var p = current.MintProof(objectId);
                            if (!Proofs.Inspect(p, "{\"objectId\":\"" + objectId + "\"}").Contains("\"findings\""))
                                throw new Exception("no report");
                        }
                        var list = connection.ListKeys(target, current);
                        if (Count(list, "\"keyId\"") != 1) throw new Exception("wrong key count: " + list);
                        var e = Throws(() => current.MintProof("nope"));
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
            Assert(errors.Count == 0, "no errors, got " + string.Join(" | ", errors));
        });

        Check("a panic inside core surfaces as an exception and the library keeps working", () =>
        {
            var e = Throws(() => Diagnostics.PanicForTest());
            Assert(e.Status == KeyrollStatus.Panic && e.Kind == "internal" && e.Code == "panic", "a panic error, got " + e.ErrorJson);
            Assert(e.Message.Contains("deliberate panic"), "the panic message");
            Assert(current.MintProof(objectId).Split('.').Length == 3, "minting still works");
            Assert(Count(connection.ListKeys(target, null), "\"keyId\"") == 1, "the runtime still works");
        });

        Check("roll to the next certificate, removing the old key", () =>
        {
            var report = connection.Roll("{\"target\":" + target + ",\"removeOld\":true,\"tenantId\":\"" + tenant +
                "\",\"verifyTimeoutSecs\":60}", current, next);
            Assert(report.Contains("\"success\":true"), "success: " + report);
            using (var c = Connection.Open(settings, next))
            {
                var list = c.ListKeys(target, next);
                Assert(Count(list, "\"keyId\"") == 1 && list.Contains(next.Thumbprint), "only the next key: " + list);
            }
        });

        Check("a background roll, polled until done: step events, then the report", () =>
        {
            // Back from the next certificate to the current one, as the next one (the current key is gone).
            using (var c = Connection.Open(settings, next))
            {
                var rollSettings = "{\"target\":" + target + ",\"removeOld\":true,\"tenantId\":\"" + tenant +
                    "\",\"verifyTimeoutSecs\":60}";
                var bad = Throws(() => c.StartRoll("{\"target\":{}}", next, current));
                Assert(bad.Status == KeyrollStatus.InvalidInput && bad.Code == "settings", "bad settings refused at the start, got " + bad.ErrorJson);
                RollOperation kept;
                string last = null;
                var events = 0;
                using (var op = c.StartRoll(rollSettings, next, current))
                {
                    kept = op;
                    var watch = Stopwatch.StartNew();
                    while (watch.Elapsed < TimeSpan.FromSeconds(90))
                    {
                        var poll = op.Poll();
                        var m = Regex.Match(poll, "\"events\":\\[(?<e>.*?)\\],\"report\"");
                        Assert(m.Success, "an events array: " + poll);
                        if (m.Groups["e"].Value.Length > 0) events += Count(m.Groups["e"].Value, "\",\"") + 1;
                        if (Field(poll, "done") == "true") { last = poll; break; }
                        Assert(Field(poll, "report") == "null", "no report before done: " + poll);
                        Thread.Sleep(100);
                    }
                }
                Assert(last != null, "the roll ended within 90 s");
                Assert(events > 0, "step events arrived");
                Assert(last.Contains("\"success\":true"), "the final report says success: " + last);
                var closed = Throws(() => kept.Poll());
                Assert(closed.Status == KeyrollStatus.UnknownHandle, "a disposed operation cannot be polled");
                var list = c.ListKeys(target, current);
                Assert(Count(list, "\"keyId\"") == 1 && list.Contains(current.Thumbprint), "only the current key again: " + list);
            }
        });

        Check("a background roll waited on: each Wait returns with news, the last at the end", () =>
        {
            using (var c = Connection.Open(settings, current))
            using (var op = c.StartRoll("{\"target\":" + target + ",\"removeOld\":true,\"tenantId\":\"" + tenant +
                "\",\"verifyTimeoutSecs\":60}", current, next))
            {
                var watch = Stopwatch.StartNew();
                string last = null;
                while (watch.Elapsed < TimeSpan.FromSeconds(90))
                {
                    // A long wait: the library wakes it at every step and at the end.
                    var answer = op.Wait(30000);
                    if (Field(answer, "done") == "true") { last = answer; break; }
                }
                Assert(last != null && last.Contains("\"success\":true"), "the roll ended and succeeded: " + last);
                Assert(watch.Elapsed < TimeSpan.FromSeconds(20), "the waits ended with the roll, not at their timeout: " + watch.Elapsed);
            }
        });

        Check("a bulk plan started as one operation: each row's report as it ends, then the summary", () =>
        {
            using (var c = Connection.Open(settings, next))
            {
                var plan = new BulkPlan();
                var row = plan.Add("{\"target\":" + target + ",\"removeOld\":true,\"tenantId\":\"" + tenant +
                    "\",\"verifyTimeoutSecs\":60}", next, current);
                Assert(row == 0 && plan.Count == 1, "row 0 of 1");
                using (var op = c.StartBulk(plan, 2))
                {
                    var watch = Stopwatch.StartNew();
                    var rows = "";
                    string last = null;
                    while (watch.Elapsed < TimeSpan.FromSeconds(90))
                    {
                        var answer = op.Wait(1000);
                        rows += answer;
                        if (Field(answer, "done") == "true") { last = answer; break; }
                    }
                    Assert(last != null, "the bulk operation ended within 90 s");
                    Assert(Regex.IsMatch(rows, "\"row\":0"), "row 0 was handed out: " + rows);
                    Assert(last.Contains("\"failed\":0") && last.Contains("\"total\":1"), "the summary: " + last);
                    op.Stop();
                }
                var list = c.ListKeys(target, current);
                Assert(Count(list, "\"keyId\"") == 1 && list.Contains(current.Thumbprint), "only the current key again: " + list);
            }
        });

        Check("keys the host holds: a roll there and back with both certificates' keys in key objects that refuse export", () =>
        {
            var rollSettings = "{\"target\":" + target + ",\"removeOld\":true,\"tenantId\":\"" + tenant + "\",\"verifyTimeoutSecs\":60}";
            var curCert = new X509Certificate2(Env("KR_CURRENT_PFX_3DES"), password, X509KeyStorageFlags.Exportable);
            var nxtCert = new X509Certificate2(Env("KR_NEXT_PFX_3DES"), password, X509KeyStorageFlags.Exportable);
            var curKey = new NoExportRsa(curCert.GetRSAPrivateKey());
            var nxtKey = new NoExportRsa(nxtCert.GetRSAPrivateKey());
            using (var cur = SigningIdentity.OpenExternal(new X509Certificate2(curCert.RawData), curKey))
            using (var nxt = SigningIdentity.OpenExternal(new X509Certificate2(nxtCert.RawData), nxtKey))
            {
                Assert(cur.External && cur.Thumbprint == current.Thumbprint, "an external identity of the current certificate");
                // Blocking calls: the token and the proof are signed on this thread while the call runs on another.
                using (var c = Connection.Open(settings, cur))
                {
                    var list = c.ListKeys(target, cur);
                    Assert(list.Contains("\"signs\":true"), "the current key signs: " + list);
                    var minted = cur.MintProof(objectId);
                    Assert(Proofs.Inspect(minted, "{\"certificates\":[\"" + Convert.ToBase64String(curCert.RawData) + "\"],\"objectId\":\"" + objectId + "\"}").Contains("\"accepted\":true"), "an accepted proof");
                    // A background roll pauses on each signature; Wait answers them here.
                    using (var op = c.StartRoll(rollSettings, cur, nxt))
                    {
                        string last = null;
                        var watch = Stopwatch.StartNew();
                        while (watch.Elapsed < TimeSpan.FromSeconds(90))
                        {
                            var answer = op.Wait(30000);
                            if (Field(answer, "done") == "true") { last = answer; break; }
                        }
                        Assert(last != null && last.Contains("\"success\":true"), "the roll succeeded: " + last);
                        Assert(watch.Elapsed < TimeSpan.FromSeconds(20), "the waits returned as signatures were asked for, not at their timeout: " + watch.Elapsed);
                    }
                }
                // And back, synchronously (the connection signs in with the new key).
                using (var c = Connection.Open(settings, nxt))
                {
                    var report = c.Roll(rollSettings, nxt, cur);
                    Assert(report.Contains("\"success\":true"), "the roll back succeeded: " + report);
                    var list = c.ListKeys(target, cur);
                    Assert(Count(list, "\"keyId\"") == 1 && list.Contains(current.Thumbprint), "only the current key again: " + list);
                }
                Assert(curKey.Signed > 0 && nxtKey.Signed > 0, "both key objects signed: " + curKey.Signed + ", " + nxtKey.Signed);
                Assert(curKey.ExportAttempts == 0 && nxtKey.ExportAttempts == 0, "no key was ever asked for its export");
            }
            // A key object that will not sign: its words come back, code signer_refused.
            using (var refusing = SigningIdentity.OpenExternal(new X509Certificate2(curCert.RawData), new NoExportRsa(curCert.GetRSAPrivateKey()) { Refuse = true }))
            using (var c = Connection.Open(settings, refusing))
            {
                var e = Throws(() => c.ListKeys(target, null));
                Assert(e.Code == "signer_refused" && e.Message.Contains("the user cancelled the PIN prompt"), "the key object's words: " + e.ErrorJson);
            }
        });

        var rolls = Environment.GetEnvironmentVariable("KR_EXTERNAL_ROLLS");
        if (!string.IsNullOrEmpty(rolls))
        {
            Check("measure: roll there and back, keys in the library vs keys the host holds", () =>
            {
                var n = int.Parse(rolls);
                var rollSettings = "{\"target\":" + target + ",\"removeOld\":true,\"tenantId\":\"" + tenant + "\",\"verifyTimeoutSecs\":60}";
                var curCert = new X509Certificate2(Env("KR_CURRENT_PFX_3DES"), password, X509KeyStorageFlags.Exportable);
                var nxtCert = new X509Certificate2(Env("KR_NEXT_PFX_3DES"), password, X509KeyStorageFlags.Exportable);
                Func<SigningIdentity, SigningIdentity, double> roll = (a, b) =>
                {
                    var watch = Stopwatch.StartNew();
                    using (var c = Connection.Open(settings, a))
                    using (var op = c.StartRoll(rollSettings, a, b))
                    {
                        string last = null;
                        while (last == null) { var w = op.Wait(30000); if (Field(w, "done") == "true") last = w; }
                        Assert(last.Contains("\"success\":true"), "success: " + last);
                    }
                    return watch.Elapsed.TotalMilliseconds;
                };
                var curKey = new NoExportRsa(curCert.GetRSAPrivateKey());
                var nxtKey = new NoExportRsa(nxtCert.GetRSAPrivateKey());
                using (var cur = SigningIdentity.OpenExternal(new X509Certificate2(curCert.RawData), curKey))
                using (var nxt = SigningIdentity.OpenExternal(new X509Certificate2(nxtCert.RawData), nxtKey))
                {
                    var local = new List<double>();
                    var external = new List<double>();
                    for (var i = 0; i < n; i++)
                    {
                        local.Add(roll(current, next) + roll(next, current));
                        external.Add(roll(cur, nxt) + roll(nxt, cur));
                    }
                    local.Sort();
                    external.Sort();
                    var inv = System.Globalization.CultureInfo.InvariantCulture;
                    // A blocking call: one proof, its signature asked of this thread while the call runs on another.
                    var mintTimes = new List<double>();
                    var localMints = new List<double>();
                    var before = curKey.Signing.Elapsed.TotalMilliseconds;
                    for (var i = 0; i < 20 * n; i++)
                    {
                        var w = Stopwatch.StartNew();
                        cur.MintProof(objectId);
                        mintTimes.Add(w.Elapsed.TotalMilliseconds);
                        w = Stopwatch.StartNew();
                        current.MintProof(objectId);
                        localMints.Add(w.Elapsed.TotalMilliseconds);
                    }
                    var mintSigning = (curKey.Signing.Elapsed.TotalMilliseconds - before) / (20 * n);
                    mintTimes.Sort();
                    localMints.Sort();
                    Console.WriteLine("{\"proof_mints\": " + (20 * n) + ", \"local_median_ms\": " + localMints[10 * n].ToString("F2", System.Globalization.CultureInfo.InvariantCulture) +
                        ", \"external_median_ms\": " + mintTimes[10 * n].ToString("F2", System.Globalization.CultureInfo.InvariantCulture) +
                        ", \"key_object_ms_per_signature\": " + mintSigning.ToString("F2", System.Globalization.CultureInfo.InvariantCulture) + "}");
                    var signatures = curKey.Signed + nxtKey.Signed - 20 * n;
                    var signingMs = curKey.Signing.Elapsed.TotalMilliseconds + nxtKey.Signing.Elapsed.TotalMilliseconds - mintSigning * 20 * n;
                    Console.WriteLine("{\"external_roll_pairs\": " + n + ", \"local_median_ms\": " + local[n / 2].ToString("F1", inv) +
                        ", \"external_median_ms\": " + external[n / 2].ToString("F1", inv) + ", \"ratio\": " + (external[n / 2] / local[n / 2]).ToString("F2", inv) +
                        ", \"signatures_per_pair\": " + ((double)signatures / n).ToString("F1", inv) +
                        ", \"key_object_ms_per_signature\": " + (signingMs / signatures).ToString("F2", inv) + "}");
                }
            });
        }

        Check("a Key Vault certificate as an identity: proofs signed in the vault, the next version created there", () =>
        {
            var vaultToken = Env("KR_VAULT_TOKEN");
            var vaultObject = Env("KR_VAULT_OBJECT_ID");
            var vaultSettings = "{\"graphUrl\":\"" + Env("KR_GRAPH_URL") + "\",\"loginUrl\":\"" + Env("KR_LOGIN_URL") +
                "\",\"caFile\":\"" + Env("KR_CA_CERT") + "\",\"accessToken\":\"" + Env("KR_VAULT_GRAPH_TOKEN") + "\"}";
            using (var c = Connection.Open(vaultSettings, null))
            using (var inVault = KeyVault.OpenCertificate(c, "{\"certificate\":\"" + Env("KR_VAULT_CERT_URL") +
                "\",\"vaultAccessToken\":\"" + vaultToken + "\"}"))
            {
                Assert(inVault.CertificateJson.Contains(Env("KR_VAULT_KID")), "the key URL: " + inVault.CertificateJson);
                Assert(!inVault.CertificateJson.Contains(vaultToken), "no token in the description");
                var vaultTarget = "{\"kind\":\"application\",\"objectId\":\"" + vaultObject + "\"}";
                Assert(Count(c.ListKeys(vaultTarget, inVault), "\"keyId\"") == 1, "the vault certificate is the app's key");
                Assert(inVault.MintProof(vaultObject).Split('.').Length == 3, "a proof signed by the vault key");
                var created = KeyVault.CreateCertificate(c, "{\"certificate\":\"" + Env("KR_VAULT_CERT_URL") +
                    "\",\"vaultAccessToken\":\"" + vaultToken + "\",\"target\":" + vaultTarget + "}", inVault);
                Assert(Field(created, "source") == "created", "created: " + created);
                var e = Throws(() => KeyVault.OpenCertificate(c, "{\"certificate\":\"" + Env("KR_GRAPH_URL") +
                    "/certificates/not-there\",\"vaultAccessToken\":\"" + vaultToken + "\"}"));
                Assert(e.Code == "vault_not_found" && e.Message.Contains("not-there"), "not found: " + e.ErrorJson);
            }
        });

        var mints = Environment.GetEnvironmentVariable("KR_MINT_COUNT");
        if (!string.IsNullOrEmpty(mints))
        {
            Check("mint rate", () =>
            {
                var n = int.Parse(mints);
                for (var i = 0; i < 20; i++) next.MintProof(objectId);
                var watch = Stopwatch.StartNew();
                var total = 0;
                for (var i = 0; i < n; i++) total += next.MintProof(objectId).Length;
                watch.Stop();
                Assert(total > 0, "proofs");
                Console.WriteLine("{\"csharp_mints\": " + n + ", \"seconds\": " + watch.Elapsed.TotalSeconds.ToString("F4", System.Globalization.CultureInfo.InvariantCulture) +
                    ", \"per_second\": " + (n / watch.Elapsed.TotalSeconds).ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + "}");
            });
        }

        Check("device code: start, approved from another thread, wait; the cache reused; cancel; declined", () =>
        {
            var cache = Path.Combine(Path.GetTempPath(), "keyroll-cs-" + Guid.NewGuid().ToString("N"), "tokens.json");
            var dc = "{\"graphUrl\":\"" + Env("KR_GRAPH_URL") + "\",\"loginUrl\":\"" + Env("KR_LOGIN_URL") +
                "\",\"caFile\":\"" + Env("KR_CA_CERT") + "\",\"tenantId\":\"" + tenant + "\",\"tokenCache\":\"" + cache + "\"}";
            Admin("PUT", "devicecode-settings", "{\"intervalSecs\":0}");
            using (var s = DeviceCodeSignIn.Start(dc))
            {
                Assert(Field(s.Answer, "pending") == "true", "a code to show, got " + s.Answer);
                var code = Field(s.Answer, "userCode");
                Assert(Field(s.Answer, "message").Contains(code), "the message to carry the code");
                var approver = new Thread(() => Admin("POST", "devicecodes/" + code,
                    "{\"action\":\"approve\",\"grantedScopes\":[\"Application.ReadWrite.All\"],\"user\":{\"userPrincipalName\":\"cs@contoso.example\",\"directoryRoles\":[\"Application Administrator\"]}}"));
                approver.Start();
                using (var c = s.Wait())
                {
                    approver.Join();
                    Assert(c.Description.Contains("cs@contoso.example") && c.Description.Contains("delegated"), "a user's connection, got " + c.Description);
                    Assert(c.ListKeys(target, null).Contains(objectId), "the keys read with the user's token");
                }
            }
            Assert(File.Exists(cache), "the sign-in cached");
            using (var s = DeviceCodeSignIn.Start(dc))
            {
                Assert(Field(s.Answer, "pending") == "false", "the cached sign-in reused, got " + s.Answer);
                using (var c = s.Wait()) Assert(c.ListKeys(target, null).Contains(objectId), "keys");
            }
            Assert(Field(DeviceCodeSignIn.SignOut(dc, false), "removed") == "1", "one sign-in removed");
            Assert(!File.Exists(cache), "the cache file removed with its last sign-in");
            var cancelled = DeviceCodeSignIn.Start(dc);
            new Thread(() => { Thread.Sleep(300); cancelled.Cancel(); }).Start();
            var e = Throws(() => cancelled.Wait());
            Assert(e.Code == "cancelled", "cancelled, got " + e.ErrorJson);
            using (var s = DeviceCodeSignIn.Start(dc))
            {
                Admin("POST", "devicecodes/" + Field(s.Answer, "userCode"), "{\"action\":\"deny\"}");
                e = Throws(() => s.Wait());
                Assert(e.Code == "authorization_declined" && e.Message.Contains("declined"), "declined, got " + e.ErrorJson);
            }
            // Disposing a sign-in never waited for releases it.
            DeviceCodeSignIn.Start(dc).Dispose();
        });

        if (connection != null) connection.Dispose();
        if (current != null) current.Dispose();
        if (next != null) next.Dispose();
        Console.WriteLine(failures == 0 ? "all passed" : failures + " failed");
        return failures == 0 ? 0 : 1;
    }

    /// <summary>An RSA key object that signs but refuses every export, as a non-exportable certificate store key
    /// does; it counts what was asked of it.</summary>
    sealed class NoExportRsa : RSA
    {
        readonly RSA inner;
        public int Signed;
        public int ExportAttempts;
        public bool Refuse;
        public readonly Stopwatch Signing = new Stopwatch();

        public NoExportRsa(RSA inner)
        {
            this.inner = inner;
            KeySizeValue = inner.KeySize;
            LegalKeySizesValue = inner.LegalKeySizes;
        }

        public override RSAParameters ExportParameters(bool includePrivateParameters)
        {
            ExportAttempts++;
            throw new CryptographicException("the key is not exportable");
        }

        public override void ImportParameters(RSAParameters parameters)
        {
            throw new CryptographicException("the key is not exportable");
        }

        public override string ToXmlString(bool includePrivateParameters)
        {
            ExportAttempts++;
            throw new CryptographicException("the key is not exportable");
        }

        protected override byte[] HashData(byte[] data, int offset, int count, HashAlgorithmName hashAlgorithm)
        {
            using (var sha = SHA256.Create()) return sha.ComputeHash(data, offset, count);
        }

        protected override byte[] HashData(Stream data, HashAlgorithmName hashAlgorithm)
        {
            using (var sha = SHA256.Create()) return sha.ComputeHash(data);
        }

        public override byte[] SignHash(byte[] hash, HashAlgorithmName hashAlgorithm, RSASignaturePadding padding)
        {
            if (Refuse) throw new CryptographicException("the user cancelled the PIN prompt");
            Signed++;
            Signing.Start();
            try { return inner.SignHash(hash, hashAlgorithm, padding); }
            finally { Signing.Stop(); }
        }

        public override bool VerifyHash(byte[] hash, byte[] signature, HashAlgorithmName hashAlgorithm, RSASignaturePadding padding)
        {
            return inner.VerifyHash(hash, signature, hashAlgorithm, padding);
        }

        public override byte[] Encrypt(byte[] data, RSAEncryptionPadding padding) { throw new NotSupportedException(); }
        public override byte[] Decrypt(byte[] data, RSAEncryptionPadding padding) { throw new NotSupportedException(); }
    }
}
