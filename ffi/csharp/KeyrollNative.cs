// The facade over the generated bindings (Keyroll.Native): the API the PowerShell module calls. Plain .NET
// types in (strings, byte arrays, JSON settings), strings out (proofs as text, everything else as JSON), and
// every failure as a KeyrollException carrying the library's error object: kind, code (Graph's own code for
// service errors), message, HTTP status and request ids.
//
// No logic lives here: each method pins its arguments, calls the native library, and copies the answer out.
// Compiles with Mono's mcs (C# 6) for .NET Framework 4.7.2, and with the .NET SDK for netstandard2.0.
//
// This file: loading the native library by full path (with the loader's own reason when it cannot) and checking
// its ABI. One type per file; Interop.cs holds the internal plumbing.

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

        /// <summary>The library's version and ABI, and the environment variables it takes for credentials:
        /// {"version": "...", "abi": N, "environment": [...]}.</summary>
        public static string Info()
        {
            return Call.Run((out KeyrollOutput o) => NativeMethods.keyroll_info(out o));
        }

        /// <summary>The names of the environment variables the library reads for credentials (Azure SDK
        /// certificate credential, managed identity), which a host passes in the connection settings: .NET keeps
        /// its own copy of the environment, so the library cannot see a variable set in PowerShell.</summary>
        public static string[] CredentialEnvironmentVariables()
        {
            var info = Json.Read<InfoObject>(Info());
            return info == null || info.Environment == null ? new string[0] : info.Environment;
        }

        /// <summary>The clouds' names as Connect-MgGraph calls them (Global, USGov, USGovDoD, China), from the
        /// library's one table of clouds: for a host's completion and its messages.</summary>
        public static string[] CloudNames()
        {
            var info = Json.Read<InfoObject>(Info());
            if (info == null || info.Clouds == null) return new string[0];
            var names = new string[info.Clouds.Length];
            for (int i = 0; i < names.Length; i++) names[i] = info.Clouds[i].Name;
            return names;
        }
    }
}
