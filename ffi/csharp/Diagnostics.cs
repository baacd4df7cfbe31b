// Test support: a panic inside the library, to prove it crosses the boundary as an exception.

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
