// KeyrollNative.Load: a library that cannot be loaded is reported with the operating system's reason (not
// "Exception has been thrown by the target of an invocation"), and a library of another build (another ABI) is
// refused by name. Load keeps its state in statics and loads a library once per process, so every fact loads a
// fresh copy of the binding assembly into its own AssemblyLoadContext, with statics and a DllImport resolver of
// its own, as a new PowerShell session would.

using System;
using System.IO;
using System.Reflection;
using System.Runtime.Loader;
using Keyroll;
using Xunit;

namespace Keyroll.Facade.Tests
{
    public sealed class LoadTests : IDisposable
    {
        readonly string dir = Directory.CreateTempSubdirectory("keyroll-load-test.").FullName;

        public void Dispose()
        {
            Directory.Delete(dir, true);
        }

        /// <summary>KeyrollNative of a copy of Keyroll.dll that nothing has loaded a library for yet.</summary>
        sealed class FreshFacade
        {
            readonly Type native;

            public FreshFacade()
            {
                var context = new AssemblyLoadContext("keyroll-load-test-" + Guid.NewGuid());
                var assembly = context.LoadFromAssemblyPath(typeof(KeyrollNative).Assembly.Location);
                Assert.NotSame(typeof(KeyrollNative).Assembly, assembly);
                native = assembly.GetType("Keyroll.KeyrollNative", true);
            }

            // DoNotWrapExceptions: what Load throws arrives as it is, as it would to a caller of the real type.
            object Call(string method, params object[] args)
            {
                return native.GetMethod(method).Invoke(null, BindingFlags.DoNotWrapExceptions, null, args, null);
            }

            public void Load(string path) { Call("Load", path); }
            public string Info() { return (string)Call("Info"); }
            public string LoadedPath { get { return (string)native.GetProperty("LoadedPath").GetValue(null); } }
        }

        static Exception CannotLoad(string path, string reason)
        {
            var facade = new FreshFacade();
            var e = Record.Exception(() => facade.Load(path));
            Assert.NotNull(e);
            Assert.IsNotType<TargetInvocationException>(e);
            Assert.True(e is DllNotFoundException || e is BadImageFormatException, "DllNotFoundException or BadImageFormatException, got " + e);
            Assert.DoesNotContain("target of an invocation", e.Message);
            Assert.Contains(Path.GetFullPath(path), e.Message);
            Assert.Contains(reason, e.Message);
            Assert.Null(facade.LoadedPath);
            return e;
        }

        [Fact]
        public void A_text_file_named_like_a_library_fails_with_the_loaders_reason()
        {
            var fake = Path.Combine(dir, "libkeyroll.so");
            // Longer than an ELF header, so that the loader reads it and says why it is not one.
            File.WriteAllText(fake, "this is a text file, not a shared library; " + new string('x', 200) + "\n");
            CannotLoad(fake, "invalid ELF header");
        }

        [Fact]
        public void A_library_of_the_wrong_class_fails_with_the_loaders_reason()
        {
            // The header of a 32-bit ELF shared object, as a 32-bit build of the library would start.
            var header = new byte[256];
            new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 1, 1, 1 }.CopyTo(header, 0);
            header[16] = 3; // ET_DYN
            header[18] = 3; // EM_386
            var fake = Path.Combine(dir, "libkeyroll.so");
            File.WriteAllBytes(fake, header);
            CannotLoad(fake, "ELFCLASS32");
        }

        [Fact]
        public void A_missing_dependency_is_named()
        {
            // A library linked against one the test script removed after linking.
            var e = CannotLoad(Emulator.Env("KR_MISSING_DEP_LIB"), Emulator.Env("KR_MISSING_DEP"));
            Assert.Contains("No such file", e.Message);
        }

        [Fact]
        public void A_missing_file_is_a_FileNotFoundException_naming_the_path()
        {
            var missing = Path.Combine(dir, "nowhere", "libkeyroll.so");
            var facade = new FreshFacade();
            var e = Assert.Throws<FileNotFoundException>(() => facade.Load(missing));
            Assert.Equal(missing, e.FileName);
            Assert.Contains(missing, e.Message);
        }

        [Fact]
        public void A_library_of_another_abi_is_refused_and_stays_refused()
        {
            var other = Path.GetFullPath(Emulator.Env("KR_OTHER_ABI_LIB"));
            var facade = new FreshFacade();
            var e = Assert.Throws<InvalidOperationException>(() => facade.Load(other));
            Assert.Contains(other, e.Message);
            Assert.Contains("9.9.9", e.Message);
            Assert.Contains("ABI 2", e.Message);
            Assert.Contains("expects ABI " + KeyrollNative.ExpectedAbi, e.Message);
            Assert.Contains("different builds", e.Message);
            Assert.Null(facade.LoadedPath);
            // Its functions stay bound in this context: loading the right library now would mix the two.
            var again = Assert.Throws<InvalidOperationException>(() => facade.Load(Emulator.Env("KR_NATIVE_LIB")));
            Assert.Equal(e.Message, again.Message);
            Assert.Null(facade.LoadedPath);
        }

        [Fact]
        public void The_real_library_loads_its_abi_is_checked_and_LoadedPath_names_it()
        {
            var lib = Emulator.Env("KR_NATIVE_LIB");
            var facade = new FreshFacade();
            Assert.Null(facade.LoadedPath);
            facade.Load(lib);
            Assert.Equal(Path.GetFullPath(lib), facade.LoadedPath);
            Assert.Contains("\"abi\":" + KeyrollNative.ExpectedAbi, facade.Info());
            // Loading again is a no-op.
            facade.Load(lib);
            Assert.Equal(Path.GetFullPath(lib), facade.LoadedPath);
        }

        [Fact]
        public void The_shared_facade_loaded_the_library_named_by_KR_NATIVE_LIB()
        {
            Assert.Equal(1, KeyrollNative.ExpectedAbi);
            KeyrollNative.Load(Emulator.Env("KR_NATIVE_LIB"));
            Assert.Equal(Path.GetFullPath(Emulator.Env("KR_NATIVE_LIB")), KeyrollNative.LoadedPath);
        }
    }
}
