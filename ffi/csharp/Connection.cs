// A connection to Graph: list, add and remove keys, and rolls (in the foreground or polled in the background).

using System;
using System.Security;
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
    /// <summary>A connection to Graph and the identity platform: endpoints, trust, proxy and credentials.
    /// Safe to use from many threads at once; dispose it when done.</summary>
    public sealed class Connection : IDisposable
    {
        readonly ulong handle;
        /// <summary>The identity the connection signs in with (null for none): its key may be the host's.</summary>
        readonly SigningIdentity signIn;

        /// <summary>Where the connection goes and as whom (JSON, no secrets).</summary>
        public string Description { get; private set; }

        internal ulong Handle { get { return handle; } }

        /// <summary>The identity the connection signs in with (null for a token or a managed identity): a blocking
        /// call that may need a token answers its signature requests.</summary>
        internal SigningIdentity SignIn { get { return signIn; } }

        Connection(ulong handle, string description, SigningIdentity signIn)
        {
            this.handle = handle;
            this.signIn = signIn;
            Description = description;
        }

        /// <summary>Opens a connection. settings (JSON): {cloud, graphUrl, loginUrl, apiVersion, caFile, caPem, proxy,
        /// timeoutSecs, accessToken, tenantId, clientId, managedIdentity, environment}. certificate (or null)
        /// authenticates as the app with tenantId + clientId.</summary>
        public static Connection Open(string settingsJson, SigningIdentity certificate)
        {
            var secret = Call.Bytes(settingsJson);
            try
            {
                ulong h = 0;
                string json;
                var id = SigningIdentity.HandleOf(certificate);
                using (var s = new Pin(secret))
                {
                    var ss = s.Slice;
                    json = Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_connect(ss, id, out h, out o));
                }
                return new Connection(h, json, certificate);
            }
            finally
            {
                // The settings may carry an access token.
                Array.Clear(secret, 0, secret.Length);
            }
        }

        /// <summary>A connection the library opened already (a device-code sign-in's).</summary>
        internal static Connection FromHandle(ulong handle, string description)
        {
            return new Connection(handle, description, null);
        }

        /// <summary>Lists an object's keys. target (JSON): {kind, objectId | appId}. Returns {id, appId, keys}.</summary>
        public string ListKeys(string targetJson, SigningIdentity signer)
        {
            var c = handle;
            var s = SigningIdentity.HandleOf(signer);
            using (var t = new Pin(targetJson))
            {
                var ts = t.Slice;
                return Signatures.Run((out KeyrollOutput o) => NativeMethods.keyroll_keys_list(c, ts, s, out o), signIn, signer);
            }
        }

        /// <summary>addKey. settings (JSON): {target, certificate | certificateFile, displayName, startDateTime,
        /// endDateTime, customKeyIdentifier, proof}; without proof, signer mints one.</summary>
        public string AddKey(string settingsJson, SigningIdentity signer)
        {
            var c = handle;
            var s = SigningIdentity.HandleOf(signer);
            using (var t = new Pin(settingsJson))
            {
                var ts = t.Slice;
                return Signatures.Run((out KeyrollOutput o) => NativeMethods.keyroll_key_add(c, ts, s, out o), signIn, signer);
            }
        }

        /// <summary>Repair of an object with no valid certificate: the new certificate by PATCH of the whole
        /// keyCredentials, every existing key sent back by its keyId. settings (JSON): AddKey's without proof and
        /// passwordCredential. Needs a sign-in holding Application.ReadWrite.All (or OwnedBy as an owner).</summary>
        public string RepairKey(string settingsJson)
        {
            var c = handle;
            using (var t = new Pin(settingsJson))
            {
                var ts = t.Slice;
                return Signatures.Run((out KeyrollOutput o) => NativeMethods.keyroll_key_repair(c, ts, out o), signIn, null);
            }
        }

        /// <summary>removeKey. settings (JSON): {target, keyId, proof}; without proof, signer mints one.</summary>
        public string RemoveKey(string settingsJson, SigningIdentity signer)
        {
            var c = handle;
            var s = SigningIdentity.HandleOf(signer);
            using (var t = new Pin(settingsJson))
            {
                var ts = t.Slice;
                return Signatures.Run((out KeyrollOutput o) => NativeMethods.keyroll_key_remove(c, ts, s, out o), signIn, signer);
            }
        }

        /// <summary>addPassword: a new client secret, generated by the service. settings (JSON): {target,
        /// displayName, startDateTime, endDateTime}. Returns the answer {keyId, objectId, passwordCredential,
        /// secretText: null, attempts, orphansRemoved, warnings, retries} with the secret apart, as a read-only
        /// SecureString that was never a .NET string.</summary>
        public PasswordAdded AddPassword(string settingsJson)
        {
            var c = handle;
            using (var t = new Pin(settingsJson))
            {
                var ts = t.Slice;
                SecureString secret;
                var json = Call.RunSecret((out KeyrollOutput o) => NativeMethods.keyroll_password_add(c, ts, out o), "secretText", out secret);
                return new PasswordAdded(json, secret);
            }
        }

        /// <summary>removePassword. settings (JSON): {target, keyId}. Returns {keyId, removed, retries}.</summary>
        public string RemovePassword(string settingsJson)
        {
            var c = handle;
            using (var t = new Pin(settingsJson))
            {
                var ts = t.Slice;
                return Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_password_remove(c, ts, out o));
            }
        }

        /// <summary>Rolls from current to next. settings (JSON): {target, displayName, removeOld, tenantId, clientId,
        /// verifyTimeoutSecs}. Returns the report; an incomplete roll throws with the report in ErrorJson.</summary>
        public string Roll(string settingsJson, SigningIdentity current, SigningIdentity next)
        {
            var c = handle;
            var cur = SigningIdentity.HandleOf(current);
            var nxt = SigningIdentity.HandleOf(next);
            using (var t = new Pin(settingsJson))
            {
                var ts = t.Slice;
                return Signatures.Run((out KeyrollOutput o) => NativeMethods.keyroll_roll(c, ts, cur, nxt, out o), signIn, current, next);
            }
        }

        /// <summary>Starts the roll of <see cref="Roll"/> in the background and returns at once; poll the returned
        /// operation for its progress and outcome, and dispose it when done. Settings and handles are checked before
        /// anything starts (a KeyrollException here, as from Roll). Nothing calls back into .NET.</summary>
        public RollOperation StartRoll(string settingsJson, SigningIdentity current, SigningIdentity next)
        {
            var c = handle;
            var cur = SigningIdentity.HandleOf(current);
            var nxt = SigningIdentity.HandleOf(next);
            ulong h = 0;
            using (var t = new Pin(settingsJson))
            {
                var ts = t.Slice;
                Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_roll_start(c, ts, cur, nxt, out h, out o));
            }
            return new RollOperation(h);
        }

        /// <summary>Starts every row of the plan as one bulk operation in the background and returns at once: the
        /// rows share this connection's throttle, at most concurrency (0 = the library's default) run at once. Wait on
        /// (or poll) the operation: each answer adds rows (the rows that ended, each with its report) and progress;
        /// the end is the summary. Every row is checked before anything starts (a KeyrollException here).</summary>
        public RollOperation StartBulk(BulkPlan plan, int concurrency)
        {
            if (plan == null) throw new ArgumentNullException("plan");
            var c = handle;
            ulong h = 0;
            using (var t = new Pin(plan.ToJson(concurrency)))
            {
                var ts = t.Slice;
                Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_bulk_start(c, ts, out h, out o));
            }
            return new RollOperation(h);
        }

        /// <summary>Starts an inventory scan (settings JSON: types, expiringWithinDays, owners, pageSize); nothing is
        /// read until <see cref="ScanOperation.Next"/>. Dispose the scan when done.</summary>
        public ScanOperation StartScan(string settingsJson)
        {
            var c = handle;
            ulong h = 0;
            using (var t = new Pin(settingsJson))
            {
                var ts = t.Slice;
                Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_scan_start(c, ts, out h, out o));
            }
            return new ScanOperation(h, signIn);
        }

        /// <summary>Closes the connection; later use throws (UnknownHandle).</summary>
        public void Dispose()
        {
            if (System.Threading.Interlocked.Exchange(ref closed, 1) == 0) NativeMethods.keyroll_disconnect(handle);
        }

        int closed;
    }

    /// <summary>The answer of addPassword: the document (its secretText null) and the secret, apart.</summary>
    public sealed class PasswordAdded
    {
        internal PasswordAdded(string json, SecureString secretText)
        {
            Json = json;
            SecretText = secretText;
        }

        /// <summary>{keyId, objectId, passwordCredential, secretText: null, attempts, orphansRemoved, warnings,
        /// retries}.</summary>
        public string Json { get; private set; }

        /// <summary>The secret, read-only: the service shows it this once.</summary>
        public SecureString SecretText { get; private set; }

        /// <summary>The document only: never the secret.</summary>
        public override string ToString()
        {
            return Json;
        }
    }
}
