// A certificate with its private key, held by the native library.

using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Serialization;
using System.Runtime.Serialization.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Keyroll.Native;

namespace Keyroll
{
    /// <summary>A certificate with its RSA private key, open in the native library (dispose it to wipe the key), or a
    /// certificate whose key stays in the host's key object (<see cref="OpenExternal"/>).</summary>
    public sealed class SigningIdentity : IDisposable
    {
        readonly ulong handle;
        /// <summary>The key object of an identity whose key the host holds; only its SignData is ever called.</summary>
        readonly RSA key;

        /// <summary>The certificate as JSON: thumbprint, subject, issuer, validity, key algorithm, base64 DER.</summary>
        public string CertificateJson { get; private set; }
        /// <summary>The SHA-1 thumbprint (uppercase hex).</summary>
        public string Thumbprint { get; private set; }
        /// <summary>The certificate's subject.</summary>
        public string Subject { get; private set; }

        SigningIdentity(ulong handle, string json)
        {
            this.handle = handle;
            CertificateJson = json;
            var c = Json.Read<CertificateObject>(json);
            if (c != null)
            {
                Thumbprint = c.Thumbprint;
                Subject = c.Subject;
            }
        }

        SigningIdentity(ulong handle, string json, RSA key) : this(handle, json)
        {
            this.key = key;
        }

        internal ulong Handle { get { return handle; } }

        /// <summary>An identity the library opened by other means (a Key Vault certificate: <see cref="KeyVault"/>).</summary>
        internal static SigningIdentity FromHandle(ulong handle, string json)
        {
            return new SigningIdentity(handle, json);
        }

        /// <summary>An identity described by part of a larger answer (one end of a Key Vault roll).</summary>
        internal static SigningIdentity FromHandle(ulong handle, string json, CertificateObject certificate)
        {
            var identity = new SigningIdentity(handle, json);
            if (certificate != null)
            {
                identity.Thumbprint = certificate.Thumbprint;
                identity.Subject = certificate.Subject;
            }
            return identity;
        }

        /// <summary>Whether the key stays in the host's key object (<see cref="OpenExternal"/>).</summary>
        public bool External { get { return key != null; } }

        /// <summary>Opens an identity whose private key never leaves its key object: a certificate store key that
        /// will not be exported, a smart card. Only the public certificate goes to the library; each signature the
        /// library needs (a client assertion, a proof) is made by key.SignData (RSASSA-PKCS1-v1_5, SHA-256) on the
        /// thread that calls the facade, and the key is never exported. Use the identity wherever one is taken
        /// (Connection.Open, ListKeys, AddKey, RemoveKey, MintProof, StartRoll, BulkPlan.Add): those calls answer the
        /// signature requests themselves, and RollOperation.Wait/Poll answer a background roll's. A request not
        /// answered within timeoutSeconds (0 = 120) fails its operation with code signer_timeout; a key object that
        /// throws refuses the request with its exception's message (code signer_refused).</summary>
        public static SigningIdentity OpenExternal(X509Certificate2 certificate, RSA key, int timeoutSeconds = 0)
        {
            if (certificate == null) throw new ArgumentNullException("certificate");
            if (key == null) throw new ArgumentNullException("key", "the certificate's RSA key object is required: the certificate has no private key, or it is not RSA (only RSA keys sign Entra proofs and client assertions)");
            if (timeoutSeconds < 0) throw new ArgumentOutOfRangeException("timeoutSeconds", "give 0 (120 s) or a positive number of seconds");
            ulong h = 0;
            string json;
            using (var d = new Pin(certificate.RawData))
            {
                var ds = d.Slice;
                var t = (uint)timeoutSeconds;
                json = Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_signer_open_external(ds, t, out h, out o));
            }
            var identity = new SigningIdentity(h, json, key);
            Signatures.Register(identity);
            return identity;
        }

        /// <summary>Signs a request's input with the key object and answers it; a key object that throws refuses it
        /// with its own words (never key material), which the waiting operation reports.</summary>
        internal void AnswerRequest(ulong id, string inputBase64)
        {
            byte[] signature;
            try
            {
                var input = Convert.FromBase64String(inputBase64);
                signature = key.SignData(input, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            }
            catch (Exception e)
            {
                var inner = e is System.Reflection.TargetInvocationException && e.InnerException != null ? e.InnerException : e;
                var words = "the certificate's key object could not sign (" + inner.GetType().Name + "): " + inner.Message;
                var h0 = handle;
                using (var m = new Pin(words))
                {
                    var ms = m.Slice;
                    Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_signature_refuse(h0, id, ms, out o));
                }
                return;
            }
            var h = handle;
            using (var s = new Pin(signature))
            {
                var ss = s.Slice;
                Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_signature_answer(h, id, ss, out o));
            }
        }

        internal static ulong HandleOf(SigningIdentity identity)
        {
            return identity == null ? 0 : identity.handle;
        }

        /// <summary>Opens the bytes of a PFX/P12 or PEM file. A null or empty password means none.</summary>
        public static SigningIdentity Open(byte[] data, string password)
        {
            var secret = Call.Bytes(password);
            try
            {
                ulong h = 0;
                string json;
                using (var d = new Pin(data))
                using (var p = new Pin(secret))
                {
                    var ds = d.Slice;
                    var ps = p.Slice;
                    json = Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_identity_open(ds, ps, out h, out o));
                }
                return new SigningIdentity(h, json);
            }
            finally
            {
                Array.Clear(secret, 0, secret.Length);
            }
        }

        /// <summary>Opens a PFX/P12 or PEM file. A null or empty password means none.</summary>
        public static SigningIdentity OpenFile(string path, string password)
        {
            var secret = Call.Bytes(password);
            try
            {
                ulong h = 0;
                string json;
                using (var f = new Pin(path))
                using (var p = new Pin(secret))
                {
                    var fs = f.Slice;
                    var ps = p.Slice;
                    json = Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_identity_open_file(fs, ps, out h, out o));
                }
                return new SigningIdentity(h, json);
            }
            finally
            {
                Array.Clear(secret, 0, secret.Length);
            }
        }

        /// <summary>Mints a proof for addKey / removeKey. lifetime 0 = 600 s; audience null = Graph's.</summary>
        public string MintProof(string objectId, long lifetimeSeconds = 0, string audience = null)
        {
            return Proofs.Mint(this, objectId, lifetimeSeconds, audience);
        }

        /// <summary>Closes the identity; later use throws (UnknownHandle: the number stays, the library knows it is closed).</summary>
        public void Dispose()
        {
            if (System.Threading.Interlocked.Exchange(ref closed, 1) == 0)
            {
                if (key != null) Signatures.Unregister(handle);
                NativeMethods.keyroll_identity_close(handle);
            }
        }

        int closed;
    }
}
