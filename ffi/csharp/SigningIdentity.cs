// A certificate with its private key, held by the native library.

using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Serialization;
using System.Runtime.Serialization.Json;
using System.Text;
using Keyroll.Native;

namespace Keyroll
{
    /// <summary>A certificate with its RSA private key, open in the native library. Dispose it to wipe the key.</summary>
    public sealed class SigningIdentity : IDisposable
    {
        readonly ulong handle;

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
            if (System.Threading.Interlocked.Exchange(ref closed, 1) == 0) NativeMethods.keyroll_identity_close(handle);
        }

        int closed;
    }
}
