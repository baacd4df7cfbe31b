// Proofs of possession and key credentials: minting, two-phase signing and inspection.

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
    /// <summary>Proofs of possession and key credentials: no network.</summary>
    public static class Proofs
    {
        /// <summary>Mints a proof signed by the identity for the object id. lifetime 0 = 600 s; audience null = Graph's.</summary>
        public static string Mint(SigningIdentity identity, string objectId, long lifetimeSeconds, string audience)
        {
            if (identity == null) throw new ArgumentNullException("identity");
            var h = identity.Handle;
            using (var oid = new Pin(objectId))
            using (var aud = new Pin(audience))
            {
                var os = oid.Slice;
                var aus = aud.Slice;
                return Signatures.Run((out KeyrollOutput o) => NativeMethods.keyroll_proof_mint(h, os, lifetimeSeconds, aus, out o), identity);
            }
        }

        /// <summary>Mints a proof from a PFX/PEM file in one call.</summary>
        public static string MintFromFile(string path, string password, string objectId, long lifetimeSeconds, string audience)
        {
            using (var identity = SigningIdentity.OpenFile(path, password))
            {
                return Mint(identity, objectId, lifetimeSeconds, audience);
            }
        }

        /// <summary>Inspects a proof. settings (JSON or null): {certificates, objectId, appId, audience, clockSkewSecs}. Returns the report as JSON.</summary>
        public static string Inspect(string proof, string settingsJson)
        {
            using (var p = new Pin(proof))
            using (var s = new Pin(settingsJson))
            {
                var ps = p.Slice;
                var ss = s.Slice;
                return Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_proof_inspect(ps, ss, out o));
            }
        }

        /// <summary>First phase of signing elsewhere: the exact text to sign with RS256 (PKCS#1 v1.5, SHA-256).</summary>
        public static string SigningInput(byte[] certificate, string objectId, long lifetimeSeconds, string audience)
        {
            using (var c = new Pin(certificate))
            using (var oid = new Pin(objectId))
            using (var aud = new Pin(audience))
            {
                var cs = c.Slice;
                var os = oid.Slice;
                var aus = aud.Slice;
                return Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_proof_signing_input(cs, os, lifetimeSeconds, aus, out o));
            }
        }

        /// <summary>Second phase: the finished proof, after checking the signature against the certificate.</summary>
        public static string Assemble(string signingInput, byte[] signature, byte[] certificate)
        {
            using (var i = new Pin(signingInput))
            using (var s = new Pin(signature))
            using (var c = new Pin(certificate))
            {
                var iss = i.Slice;
                var ss = s.Slice;
                var cs = c.Slice;
                return Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_proof_assemble(iss, ss, cs, out o));
            }
        }

        /// <summary>Builds and validates a keyCredential for a public certificate. settings (JSON or null):
        /// {displayName, startDateTime, endDateTime, customKeyIdentifier}. Returns {keyCredential, thumbprint, warnings, notice}.</summary>
        public static string KeyCredential(byte[] certificate, string settingsJson)
        {
            using (var c = new Pin(certificate))
            using (var s = new Pin(settingsJson))
            {
                var cs = c.Slice;
                var ss = s.Slice;
                return Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_key_credential(cs, ss, out o));
            }
        }
    }
}
