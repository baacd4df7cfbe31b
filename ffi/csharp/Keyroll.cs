// The facade over the generated bindings (Keyroll.Native): the API the PowerShell module calls. Plain .NET
// types in (strings, byte arrays, JSON settings), strings out (proofs as text, everything else as JSON), and
// every failure as a KeyrollException carrying the library's error object: kind, code (Graph's own code for
// service errors), message, HTTP status and request ids.
//
// No logic lives here: each method pins its arguments, calls the native library, and copies the answer out.
// Compiles with Mono's mcs (C# 6) for .NET Framework 4.7.2, and with the .NET SDK for netstandard2.0.

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
    /// <summary>A failure reported by the native library.</summary>
    [Serializable]
    public class KeyrollException : Exception
    {
        /// <summary>The native status code.</summary>
        public KeyrollStatus Status { get; private set; }
        /// <summary>input, rejected, service, transport or internal.</summary>
        public string Kind { get; private set; }
        /// <summary>A stable code: Graph's error code for service errors, else the library's (settings, certificate, ...).</summary>
        public string Code { get; private set; }
        /// <summary>The HTTP status, when the service answered.</summary>
        public int? HttpStatus { get; private set; }
        /// <summary>The service's request-id.</summary>
        public string RequestId { get; private set; }
        /// <summary>The client-request-id of the failed request.</summary>
        public string ClientRequestId { get; private set; }
        /// <summary>The whole error object as JSON (with issues, AADSTS codes and a failed roll's report).</summary>
        public string ErrorJson { get; private set; }

        public KeyrollException(string message) : base(message) { }

        internal KeyrollException(KeyrollStatus status, ErrorObject error, string json)
            : base(string.IsNullOrEmpty(error.Message) ? ("the native library answered " + status) : error.Message)
        {
            Status = status;
            Kind = error.Kind;
            Code = error.Code;
            HttpStatus = error.HttpStatus;
            RequestId = error.RequestId;
            ClientRequestId = error.ClientRequestId;
            ErrorJson = json;
        }

        protected KeyrollException(SerializationInfo info, StreamingContext context) : base(info, context) { }
    }

    // The fields of these records are set by DataContractJsonSerializer, which the compiler cannot see (CS0649).
#pragma warning disable 0649
    [DataContract]
    internal sealed class ErrorObject
    {
        [DataMember(Name = "kind")] public string Kind;
        [DataMember(Name = "code")] public string Code;
        [DataMember(Name = "message")] public string Message;
        [DataMember(Name = "httpStatus")] public int? HttpStatus;
        [DataMember(Name = "requestId")] public string RequestId;
        [DataMember(Name = "clientRequestId")] public string ClientRequestId;
    }

    [DataContract]
    internal sealed class CertificateObject
    {
        [DataMember(Name = "thumbprint")] public string Thumbprint;
        [DataMember(Name = "subject")] public string Subject;
    }

    [DataContract]
    internal sealed class InfoObject
    {
        [DataMember(Name = "version")] public string Version;
        [DataMember(Name = "abi")] public int? Abi;
    }

#pragma warning restore 0649

    /// <summary>Loading and describing the native library.</summary>
    public static class KeyrollNative
    {
        /// <summary>The ABI the generated bindings of this assembly were made for. <see cref="Load"/> refuses a native
        /// library whose <see cref="Info"/> answers another one: its functions would not take the arguments given.</summary>
        public const int ExpectedAbi = (int)Keyroll.Native.NativeMethods.KEYROLL_ABI_VERSION;

        [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true, EntryPoint = "LoadLibraryW")]
        static extern IntPtr LoadLibrary(string path);

        [DllImport("libdl.so.2", EntryPoint = "dlopen")]
        static extern IntPtr DlOpen(string path, int flags);

        [DllImport("libdl.so.2", EntryPoint = "dlerror")]
        static extern IntPtr DlError();

        static string loadedPath;
        // Why the library loaded into this process cannot be used. It stays loaded, and on .NET this assembly's
        // P/Invoke stays bound to it, so a later Load cannot put another copy in its place: it fails the same way.
        static string refused;

        /// <summary>The full path of the native library that <see cref="Load"/> loaded and checked; null before.</summary>
        public static string LoadedPath { get { return loadedPath; } }

        /// <summary>
        /// Loads the native library from a full path before the first call, so that this assembly's P/Invoke
        /// uses that copy: on Windows a library loaded by full path satisfies later loads by name; on .NET Core
        /// and later a DllImport resolver maps "keyroll" to the path. Under Mono on Linux, put the folder on
        /// LD_LIBRARY_PATH instead. Then checks that the library speaks this assembly's ABI (<see cref="ExpectedAbi"/>).
        /// A library that cannot be loaded throws DllNotFoundException (BadImageFormatException where .NET says so)
        /// with the operating system's reason; one of another build throws InvalidOperationException.
        /// </summary>
        public static void Load(string path)
        {
            if (path == null) throw new ArgumentNullException("path");
            var full = Path.GetFullPath(path);
            if (!File.Exists(full)) throw new FileNotFoundException("the native library keyroll is not at " + full, full);
            lock (typeof(KeyrollNative))
            {
                if (loadedPath != null) return;
                if (refused != null) throw new InvalidOperationException(refused);
                LoadFile(full);
                string problem;
                Exception cause = null;
                try
                {
                    problem = CheckAbi(full);
                }
                catch (Exception e)
                {
                    cause = e;
                    problem = "cannot ask the native library " + full + " for its version and ABI: " + e.Message;
                    // Mono on Linux finds DllImport("keyroll") through the loader's search path, not by the path above.
                    if (e is DllNotFoundException) problem += " (under Mono, put its folder on LD_LIBRARY_PATH)";
                }
                if (problem != null)
                {
                    refused = problem;
                    throw new InvalidOperationException(problem, cause);
                }
                loadedPath = full;
            }
        }

        static void LoadFile(string full)
        {
            var nativeLibrary = Type.GetType("System.Runtime.InteropServices.NativeLibrary");
            var resolverType = Type.GetType("System.Runtime.InteropServices.DllImportResolver");
            if (nativeLibrary != null && resolverType != null)
            {
                IntPtr handle;
                try
                {
                    handle = (IntPtr)nativeLibrary.GetMethod("Load", new[] { typeof(string) }).Invoke(null, new object[] { full });
                }
                catch (TargetInvocationException e)
                {
                    // Called through reflection (this assembly also runs where NativeLibrary does not exist), so the
                    // loader's own words are in the inner exception; the wrapper only says "an invocation failed".
                    throw CannotLoad(full, e.InnerException ?? e);
                }
                resolved = handle;
                var resolver = Delegate.CreateDelegate(resolverType, typeof(KeyrollNative).GetMethod("Resolve", BindingFlags.NonPublic | BindingFlags.Static));
                nativeLibrary.GetMethod("SetDllImportResolver").Invoke(null, new object[] { typeof(KeyrollNative).Assembly, resolver });
            }
            else if (Path.DirectorySeparatorChar == '\\')
            {
                if (LoadLibrary(full) == IntPtr.Zero)
                {
                    var code = Marshal.GetLastWin32Error();
                    var message = "cannot load the native library " + full + ": " + new Win32Exception(code).Message + " (error " + code + ")";
                    // ERROR_MOD_NOT_FOUND for a file that exists: a library it needs is missing.
                    if (code == 126) message += "; a library it depends on is missing";
                    throw new DllNotFoundException(message);
                }
            }
            else
            {
                if (DlOpen(full, 2 | 0x100) == IntPtr.Zero) // RTLD_NOW | RTLD_GLOBAL
                {
                    var why = DlError();
                    throw new DllNotFoundException("cannot load the native library " + full + ": " +
                        (why == IntPtr.Zero ? "dlopen failed without a reason" : Marshal.PtrToStringAnsi(why)));
                }
            }
        }

        static Exception CannotLoad(string full, Exception cause)
        {
            var message = "cannot load the native library " + full + ": " + cause.Message.Trim();
            if (cause is BadImageFormatException) return new BadImageFormatException(message, cause);
            return new DllNotFoundException(message, cause);
        }

        // null when the library answers ExpectedAbi, else why it cannot be used.
        static string CheckAbi(string full)
        {
            var json = Info();
            InfoObject info = null;
            try
            {
                info = Json.Read<InfoObject>(json);
            }
            catch (SerializationException)
            {
            }
            if (info != null && info.Abi == ExpectedAbi) return null;
            return "the native library " + full + " is keyroll " + (info == null || info.Version == null ? "(unknown version)" : info.Version) +
                " with ABI " + (info == null || info.Abi == null ? "(none)" : info.Abi.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)) +
                ", but this assembly (Keyroll " + typeof(KeyrollNative).Assembly.GetName().Version + ") expects ABI " + ExpectedAbi +
                ": the module's assembly and native library come from different builds. Install them together, from one package" +
                " (and start a new session: the library stays loaded in this process).";
        }

        static IntPtr resolved;

        static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
        {
            return name == NativeMethods.NativeLib ? resolved : IntPtr.Zero;
        }

        /// <summary>The library's version and ABI: {"version": "...", "abi": N}.</summary>
        public static string Info()
        {
            return Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_info(out o));
        }
    }

    /// <summary>The calling convention shared by every facade method.</summary>
    internal static class Call
    {
        internal delegate KeyrollStatus NativeCall(out KeyrollOutput output);

        static readonly byte[] Empty = new byte[0];
        static readonly UTF8Encoding Utf8 = new UTF8Encoding(false, true);

        internal static byte[] Bytes(string s)
        {
            return s == null ? Empty : Utf8.GetBytes(s);
        }

        /// <summary>Runs a native call and returns its output as text, or throws its error.</summary>
        internal static string Run(NativeCall call)
        {
            KeyrollOutput output;
            var status = call(out output);
            var text = Take(output);
            if (status != KeyrollStatus.Ok) throw Error(status, text);
            return text;
        }

        static string Take(KeyrollOutput output)
        {
            if (output.handle == 0) return "";
            var buffer = new byte[output.len];
            var pin = GCHandle.Alloc(buffer, GCHandleType.Pinned);
            KeyrollStatus status;
            try
            {
                status = NativeMethods.keyroll_output_take(output.handle, new SliceMutu8(pin, (ulong)buffer.Length));
            }
            finally
            {
                pin.Free();
            }
            if (status != KeyrollStatus.Ok) throw new KeyrollException("cannot read the native library's answer: " + status);
            var text = Utf8.GetString(buffer);
            Array.Clear(buffer, 0, buffer.Length);
            return text;
        }

        static KeyrollException Error(KeyrollStatus status, string json)
        {
            ErrorObject error;
            try
            {
                error = Json.Read<ErrorObject>(json) ?? new ErrorObject();
            }
            catch (Exception)
            {
                error = new ErrorObject { Message = json };
            }
            return new KeyrollException(status, error, json);
        }
    }

    /// <summary>Pins byte arrays for the duration of a native call.</summary>
    internal struct Pin : IDisposable
    {
        GCHandle handle;
        internal Sliceu8 Slice;

        internal Pin(byte[] data)
        {
            if (data == null || data.Length == 0)
            {
                handle = default(GCHandle);
                Slice = new Sliceu8(IntPtr.Zero, 0);
            }
            else
            {
                handle = GCHandle.Alloc(data, GCHandleType.Pinned);
                Slice = new Sliceu8(handle, (ulong)data.Length);
            }
        }

        internal Pin(string text) : this(Call.Bytes(text)) { }

        public void Dispose()
        {
            if (handle.IsAllocated) handle.Free();
        }
    }

    internal static class Json
    {
        internal static T Read<T>(string json) where T : class
        {
            var serializer = new DataContractJsonSerializer(typeof(T));
            using (var stream = new MemoryStream(Encoding.UTF8.GetBytes(json)))
            {
                return serializer.ReadObject(stream) as T;
            }
        }
    }

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
                return Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_proof_mint(h, os, lifetimeSeconds, aus, out o));
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

    /// <summary>A connection to Graph and the identity platform: endpoints, trust, proxy and credentials.
    /// Safe to use from many threads at once; dispose it when done.</summary>
    public sealed class Connection : IDisposable
    {
        readonly ulong handle;

        /// <summary>Where the connection goes and as whom (JSON, no secrets).</summary>
        public string Description { get; private set; }

        Connection(ulong handle, string description)
        {
            this.handle = handle;
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
                return new Connection(h, json);
            }
            finally
            {
                // The settings may carry an access token.
                Array.Clear(secret, 0, secret.Length);
            }
        }

        /// <summary>Lists an object's keys. target (JSON): {kind, objectId | appId}. Returns {id, appId, keys}.</summary>
        public string ListKeys(string targetJson, SigningIdentity signer)
        {
            var c = handle;
            var s = SigningIdentity.HandleOf(signer);
            using (var t = new Pin(targetJson))
            {
                var ts = t.Slice;
                return Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_keys_list(c, ts, s, out o));
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
                return Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_key_add(c, ts, s, out o));
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
                return Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_key_remove(c, ts, s, out o));
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
                return Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_roll(c, ts, cur, nxt, out o));
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

        /// <summary>Closes the connection; later use throws (UnknownHandle).</summary>
        public void Dispose()
        {
            if (System.Threading.Interlocked.Exchange(ref closed, 1) == 0) NativeMethods.keyroll_disconnect(handle);
        }

        int closed;
    }

    /// <summary>A roll running in the native library, started by <see cref="Connection.StartRoll"/>. Poll it from
    /// the thread that owns the work (no callbacks cross the boundary). Disposing it does not stop the roll: a roll
    /// cut short could leave the object between its old and new key, so it runs to its end unobserved.</summary>
    public sealed class RollOperation : IDisposable
    {
        readonly ulong handle;

        internal RollOperation(ulong handle)
        {
            this.handle = handle;
        }

        /// <summary>What happened since the last poll, without waiting (JSON): {done, events: [step messages since the
        /// last poll], waiting: {attempt, seconds} | null, report}. Once done, report is what Roll returns: the roll
        /// report when it succeeded, else the error object Roll would throw with (kind, code, message, report).
        /// Throws only when the poll itself fails (e.g. after Dispose: UnknownHandle).</summary>
        public string Poll()
        {
            var h = handle;
            return Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_roll_poll(h, out o));
        }

        /// <summary>Closes the operation; later polls throw (UnknownHandle).</summary>
        public void Dispose()
        {
            if (System.Threading.Interlocked.Exchange(ref closed, 1) == 0) NativeMethods.keyroll_roll_close(handle);
        }

        int closed;
    }

    /// <summary>Test support only; not part of the API.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static class Diagnostics
    {
        [DllImport(NativeMethods.NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_test_panic")]
        static extern KeyrollStatus keyroll_test_panic(out KeyrollOutput output);

        /// <summary>Makes the native library panic inside core, to prove the panic surfaces as a KeyrollException
        /// (Status Panic) and the library keeps working. Never call it outside tests.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public static void PanicForTest()
        {
            Call.Run((out KeyrollOutput o) => keyroll_test_panic(out o));
        }
    }
}
