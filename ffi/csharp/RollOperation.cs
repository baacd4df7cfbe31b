// A roll running in the background, polled by the host (nothing calls back into it).

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
        /// last poll], waiting: {attempt, seconds} | null, report, signatures}. The signature requests listed (of identities
        /// opened with SigningIdentity.OpenExternal) are answered before it returns, on this thread. Once done, report is what Roll returns: the roll
        /// report when it succeeded, else the error object Roll would throw with (kind, code, message, report).
        /// Throws only when the poll itself fails (e.g. after Dispose: UnknownHandle).</summary>
        public string Poll()
        {
            var h = handle;
            var answer = Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_roll_poll(h, out o));
            Signatures.AnswerListed(answer);
            return answer;
        }

        /// <summary>Waits at most milliseconds for the operation to make progress (a step, a new waiting state, a
        /// row's end, a signature request of a key the host holds, the end), then answers what <see cref="Poll"/> answers. Returns at once when something happened
        /// since the last answer or the operation has ended: a loop of short waits hears of the end the moment it
        /// comes and stays responsive (Ctrl+C, progress) in between.</summary>
        public string Wait(int milliseconds)
        {
            var h = handle;
            long ms = milliseconds;
            var answer = Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_roll_wait(h, ms, out o));
            // A roll paused on a key the host holds: signed here, on the thread that waits.
            Signatures.AnswerListed(answer);
            return answer;
        }

        /// <summary>Stops a bulk operation (<see cref="Connection.StartBulk"/>): rows not yet started end notStarted,
        /// rows in flight finish; wait for the end as usual. A single roll is not stopped: it runs to its end.</summary>
        public void Stop()
        {
            var status = NativeMethods.keyroll_roll_stop(handle);
            if (status != KeyrollStatus.Ok) throw new KeyrollException("the operation could not be stopped: " + status + " (closed already?)");
        }

        /// <summary>Closes the operation; later polls throw (UnknownHandle).</summary>
        public void Dispose()
        {
            if (System.Threading.Interlocked.Exchange(ref closed, 1) == 0) NativeMethods.keyroll_roll_close(handle);
        }

        int closed;
    }
}
