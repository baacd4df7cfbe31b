// Delegated sign-in by device code, in two steps: Start answers what to show the user (or that the cached sign-in
// is usable), Wait blocks until the user approved the code and answers the Connection. No callback crosses the
// boundary; Cancel, from any thread, stops a Wait.

using System;
using Keyroll.Native;

namespace Keyroll
{
    /// <summary>A sign-in by device code under way. Dispose it to abandon it (a Wait in progress is cancelled).</summary>
    public sealed class DeviceCodeSignIn : IDisposable
    {
        readonly ulong handle;
        int finished;

        /// <summary>The start's answer (JSON, no secrets): {pending: true, userCode, verificationUri, message,
        /// expiresOn, intervalSecs} when the user must act, {pending: false, user} when the cached sign-in is usable.</summary>
        public string Answer { get; private set; }

        DeviceCodeSignIn(ulong handle, string answer)
        {
            this.handle = handle;
            Answer = answer;
        }

        /// <summary>Starts a sign-in. settings (JSON): Connection.Open's settings with tenantId, clientId (a public
        /// client; Microsoft Graph Command Line Tools when absent), scopes (delegated Graph permissions;
        /// Application.ReadWrite.All when absent) and tokenCache (a file; the profile's cache folder when absent).</summary>
        public static DeviceCodeSignIn Start(string settingsJson)
        {
            ulong h = 0;
            string json;
            using (var s = new Pin(settingsJson))
            {
                var ss = s.Slice;
                json = Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_device_code_start(ss, out h, out o));
            }
            return new DeviceCodeSignIn(h, json);
        }

        /// <summary>Blocks until the user approved the code (the connection), declined it, let it expire, or Cancel
        /// was called (a KeyrollException each). Once only.</summary>
        public Connection Wait()
        {
            if (System.Threading.Interlocked.Exchange(ref finished, 1) != 0)
                throw new InvalidOperationException("this sign-in was waited for or disposed already: start a new one");
            ulong c = 0;
            var h = handle;
            var json = Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_device_code_wait(h, out c, out o));
            return Connection.FromHandle(c, json);
        }

        System.Threading.Tasks.Task<Connection> waiting;
        bool handedOut;

        /// <summary>Starts Wait on a thread of its own, so that the caller (a PowerShell command) stays
        /// interruptible: poll IsWaitDone, then EndWait; Cancel stops it.</summary>
        public void BeginWait()
        {
            if (waiting != null) throw new InvalidOperationException("BeginWait was called already");
            waiting = System.Threading.Tasks.Task.Factory.StartNew(() => Wait(), System.Threading.Tasks.TaskCreationOptions.LongRunning);
        }

        /// <summary>Whether the wait started by BeginWait has ended.</summary>
        public bool IsWaitDone { get { return waiting != null && waiting.IsCompleted; } }

        /// <summary>The end of the wait started by BeginWait: the connection, or Wait's exception.</summary>
        public Connection EndWait()
        {
            if (waiting == null) throw new InvalidOperationException("call BeginWait first");
            try
            {
                var c = waiting.Result;
                handedOut = true;
                return c;
            }
            catch (AggregateException e)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                throw;
            }
        }

        /// <summary>Stops a Wait in progress on another thread.</summary>
        public void Cancel()
        {
            NativeMethods.keyroll_device_code_cancel(handle);
        }

        /// <summary>Abandons the sign-in: a Wait in progress ends cancelled; one never started releases the handle.</summary>
        public void Dispose()
        {
            Cancel();
            if (waiting != null)
            {
                try { waiting.Wait(); } catch (AggregateException) { }
                var c = waiting.IsCompleted && !waiting.IsFaulted ? waiting.Result : null;
                // A connection approved at the moment of the cancel, never handed out: closed.
                if (c != null && !handedOut) c.Dispose();
            }
            if (System.Threading.Interlocked.Exchange(ref finished, 1) == 0)
            {
                // Never waited for: a wait that returns at once (cancelled) closes the native handle.
                ulong c = 0;
                KeyrollOutput o;
                NativeMethods.keyroll_device_code_wait(handle, out c, out o);
                NativeMethods.keyroll_output_free(o.handle);
            }
        }

        /// <summary>Signs out: removes the cached sign-ins of the login host the settings name, narrowed to their
        /// tenantId, clientId and scopes when given (every one with all). Returns {removed, tokenCache}.</summary>
        public static string SignOut(string settingsJson, bool all)
        {
            using (var s = new Pin(settingsJson))
            {
                var ss = s.Slice;
                byte a = all ? (byte)1 : (byte)0;
                return Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_sign_out(ss, a, out o));
            }
        }
    }
}
