// Certificates whose key stays in Azure Key Vault: opened as identities, and their next version created in the vault.

using System;
using Keyroll.Native;

namespace Keyroll
{
    /// <summary>Azure Key Vault certificates. The vault is reached through a connection (its proxy, trust and
    /// credential: a managed identity, the app's certificate) unless the settings carry a vault access token.</summary>
    public static class KeyVault
    {
        /// <summary>Opens a vault certificate as an identity whose key signs in the vault; it goes wherever a
        /// SigningIdentity does (Connection.Open, AddKey, RemoveKey, Roll, StartRoll). settings (JSON):
        /// {"certificate": "https://&lt;vault&gt;/certificates/&lt;name&gt;[/&lt;version&gt;]", "vaultAccessToken": "…"}.
        /// The identity's CertificateJson carries keyVault: {certificateUrl, vault, name, version, keyUrl} and
        /// vaultCalls. Throws KeyrollException (codes vault_not_found, vault_forbidden, vault_not_issued,
        /// key_not_rsa, key_too_small, key_mismatch, vault_challenge, ...).</summary>
        public static SigningIdentity OpenCertificate(Connection connection, string settingsJson)
        {
            if (connection == null) throw new ArgumentNullException("connection");
            var secret = Call.Bytes(settingsJson);
            try
            {
                var c = connection.Handle;
                ulong h = 0;
                string json;
                using (var s = new Pin(secret))
                {
                    var ss = s.Slice;
                    json = Signatures.Run((out KeyrollOutput o) => NativeMethods.keyroll_signer_open_keyvault(c, ss, out h, out o), connection.SignIn);
                }
                return SigningIdentity.FromHandle(h, json);
            }
            finally
            {
                // The settings may carry a vault access token.
                Array.Clear(secret, 0, secret.Length);
            }
        }

        /// <summary>Creates the next version of a vault certificate and waits (bounded) until it is issued.
        /// settings (JSON): {"certificate": URL, "vaultAccessToken", "subject", "keySize", "validityMonths",
        /// "maxWaitSecs", "target": {kind, objectId | appId}}. With target and current (the identity in use now),
        /// a latest version already registered on the object is used again instead of creating another. Returns the
        /// new version's description (JSON) with source: created, completed or reused; open it with OpenCertificate
        /// and its keyVault.certificateUrl.</summary>
        public static string CreateCertificate(Connection connection, string settingsJson, SigningIdentity current)
        {
            if (connection == null) throw new ArgumentNullException("connection");
            var secret = Call.Bytes(settingsJson);
            try
            {
                var c = connection.Handle;
                var cur = SigningIdentity.HandleOf(current);
                using (var s = new Pin(secret))
                {
                    var ss = s.Slice;
                    return Signatures.Run((out KeyrollOutput o) => NativeMethods.keyroll_keyvault_create_certificate(c, ss, cur, out o), connection.SignIn, current);
                }
            }
            finally
            {
                Array.Clear(secret, 0, secret.Length);
            }
        }
    

        /// <summary>Both ends of a roll from one version of a vault certificate to its next, for the object of the
        /// settings' target (required): Current, the newest version that is a key of the object, and Next, the
        /// version to roll to — one an earlier run left (waited for, or used again), else one created now. settings
        /// (JSON) as CreateCertificate's. Dispose the answer to close both identities.</summary>
        public static VaultRollVersions RollVersions(Connection connection, string settingsJson)
        {
            if (connection == null) throw new ArgumentNullException("connection");
            var secret = Call.Bytes(settingsJson);
            try
            {
                var c = connection.Handle;
                ulong current = 0, next = 0;
                string json;
                using (var s = new Pin(secret))
                {
                    var ss = s.Slice;
                    json = Signatures.Run((out KeyrollOutput o) => NativeMethods.keyroll_keyvault_roll_versions(c, ss, out current, out next, out o), connection.SignIn);
                }
                var d = Json.Read<VaultVersionsObject>(json) ?? new VaultVersionsObject();
                return new VaultRollVersions(
                    SigningIdentity.FromHandle(current, json, d.Current),
                    SigningIdentity.FromHandle(next, json, d.Next),
                    json);
            }
            finally
            {
                Array.Clear(secret, 0, secret.Length);
            }
        }
    }
}

namespace Keyroll
{
    /// <summary>The two ends of a roll between versions of a Key Vault certificate (<see cref="KeyVault.RollVersions"/>).</summary>
    public sealed class VaultRollVersions : IDisposable
    {
        internal VaultRollVersions(SigningIdentity current, SigningIdentity next, string json)
        {
            Current = current;
            Next = next;
            Json = json;
        }

        /// <summary>The version in use now: the newest that is a key of the object.</summary>
        public SigningIdentity Current { get; private set; }
        /// <summary>The version to roll to.</summary>
        public SigningIdentity Next { get; private set; }
        /// <summary>{current, next, source, vaultCalls}: both versions' descriptions, and how the next was come by
        /// (created, completed, reused).</summary>
        public string Json { get; private set; }

        /// <summary>Closes both identities.</summary>
        public void Dispose()
        {
            Current.Dispose();
            Next.Dispose();
        }
    }
}
