// An inventory scan read page by page by the host (each call reads one page; nothing runs in between).

using System;
using Keyroll.Native;

namespace Keyroll
{
    /// <summary>An inventory scan started by <see cref="Connection.StartScan"/>. Call <see cref="Next"/> until its
    /// answer says done; each call reads one page, so the host streams the credentials with one page in memory.</summary>
    public sealed class ScanOperation : IDisposable
    {
        readonly ulong handle;

        readonly SigningIdentity signIn;

        internal ScanOperation(ulong handle, SigningIdentity signIn)
        {
            this.handle = handle;
            this.signIn = signIn;
        }

        /// <summary>Reads the next page (JSON): {done: false, collection, read, total, items: [...]}, or {done: true,
        /// summary} once every collection was read. Throws KeyrollException when the page cannot be read (a 403 names
        /// the permission a scan needs).</summary>
        public string Next()
        {
            var h = handle;
            return Signatures.Run((out KeyrollOutput o) => NativeMethods.keyroll_scan_next(h, out o), signIn);
        }

        /// <summary>Reads the next page, typed: what <see cref="Next"/> answers, its credentials as
        /// <see cref="InventoryItem"/>s built in compiled code (a host streaming 100,000 credentials converts none
        /// itself).</summary>
        public InventoryPage NextPage()
        {
            return Json.Read<InventoryPage>(Next());
        }

        /// <summary>Closes the scan; later calls throw (UnknownHandle).</summary>
        public void Dispose()
        {
            if (System.Threading.Interlocked.Exchange(ref closed, 1) == 0) NativeMethods.keyroll_scan_close(handle);
        }

        int closed;
    }
}
