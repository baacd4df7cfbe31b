// Signatures made by keys the host holds: the requests of the native library are answered on the calling thread.

using System;
using System.Collections.Generic;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Runtime.Serialization;
using System.Threading;
using Keyroll.Native;

namespace Keyroll
{
#pragma warning disable 0649
    /// <summary>A signature request of the native library: sign Input (base64) with the key of Signer.</summary>
    [DataContract]
    internal sealed class SignatureRequest
    {
        [DataMember(Name = "id")] public ulong Id;
        [DataMember(Name = "signer")] public ulong Signer;
        [DataMember(Name = "purpose")] public string Purpose;
        [DataMember(Name = "input")] public string Input;
        [DataMember(Name = "thumbprint")] public string Thumbprint;
    }

    [DataContract]
    internal sealed class PendingSignatures
    {
        [DataMember(Name = "signatures")] public SignatureRequest[] Signatures;
    }
#pragma warning restore 0649

    /// <summary>Serves the signature requests of identities whose key the host holds (<see
    /// cref="SigningIdentity.OpenExternal"/>). The library never calls into .NET: it queues a request and waits. A
    /// background roll lists its requests in each wait/poll answer, which <see cref="RollOperation"/> answers before
    /// returning; a blocking call (list, addKey, removeKey, a proof, a scan page) runs on a worker thread while the
    /// calling thread waits for requests and answers them. Either way the key is used only on the calling thread,
    /// the one a PowerShell runspace owns.</summary>
    internal static class Signatures
    {
        static readonly Dictionary<ulong, SigningIdentity> open = new Dictionary<ulong, SigningIdentity>();

        /// <summary>How long one wait for a request lasts while a blocking call runs, at first and at most. The call's
        /// end is seen when the wait it falls in ends, so the waits start short (a call that needed one signature
        /// ends about a millisecond after it) and lengthen while nothing is asked (a long call costs few wake-ups).</summary>
        const long FirstSliceMs = 1, LongestSliceMs = 50;

        internal static void Register(SigningIdentity identity)
        {
            lock (open) open[identity.Handle] = identity;
        }

        internal static void Unregister(ulong handle)
        {
            lock (open) open.Remove(handle);
        }

        static SigningIdentity Find(ulong handle)
        {
            SigningIdentity identity;
            lock (open) return open.TryGetValue(handle, out identity) ? identity : null;
        }

        /// <summary>Runs a native call that may need signatures from the given identities (nulls and keys in the
        /// library are skipped). Without an identity whose key the host holds, it runs as any call; with one, it runs
        /// on a worker thread while this thread answers its signature requests, and its answer or error comes back
        /// here.</summary>
        internal static string Run(Call.NativeCall call, params SigningIdentity[] identities)
        {
            var handles = new List<ulong>();
            foreach (var i in identities)
            {
                if (i != null && i.External && !handles.Contains(i.Handle)) handles.Add(i.Handle);
            }
            if (handles.Count == 0) return Call.Run(call);
            string result = null;
            ExceptionDispatchInfo failure = null;
            var worker = new Thread(() =>
            {
                try { result = Call.Run(call); }
                catch (Exception e) { failure = ExceptionDispatchInfo.Capture(e); }
            });
            worker.IsBackground = true;
            worker.Name = "keyroll call";
            worker.Start();
            var list = handles.ToArray();
            var pin = GCHandle.Alloc(list, GCHandleType.Pinned);
            try
            {
                var slice = new Sliceu64(pin, (ulong)list.Length);
                var ms = FirstSliceMs;
                while (!worker.Join(0))
                {
                    var wait = ms;
                    var request = Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_signer_wait(slice, wait, out o));
                    if (request.Trim() != "null")
                    {
                        Answer(Json.Read<SignatureRequest>(request));
                        ms = FirstSliceMs;
                        // The call most often ends right after its signature: Join returns the moment it does.
                        if (worker.Join(1)) break;
                    }
                    else ms = Math.Min(ms * 2, LongestSliceMs);
                }
            }
            finally
            {
                pin.Free();
            }
            if (failure != null) failure.Throw();
            return result;
        }

        /// <summary>Answers the requests a roll operation's wait or poll listed (its "signatures").</summary>
        internal static void AnswerListed(string pollJson)
        {
            if (pollJson.IndexOf("\"signatures\":[{", StringComparison.Ordinal) < 0) return;
            var pending = Json.Read<PendingSignatures>(pollJson);
            if (pending == null || pending.Signatures == null) return;
            foreach (var r in pending.Signatures) Answer(r);
        }

        static void Answer(SignatureRequest request)
        {
            if (request == null) return;
            var identity = Find(request.Signer);
            // A request of an identity this process has closed: it times out in the library, which says so.
            if (identity == null) return;
            identity.AnswerRequest(request.Id, request.Input);
        }
    }
}
