// Internal plumbing shared by the facade types: running a native call and copying its output out, pinning byte
// arrays, and the records the library's JSON is read into. Nothing here is public.

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
        [DataMember(Name = "setting")] public string Setting;
        [DataMember(Name = "detail")] public string Detail;
    }

    [DataContract]
    internal sealed class CertificateObject
    {
        [DataMember(Name = "thumbprint")] public string Thumbprint;
        [DataMember(Name = "subject")] public string Subject;
    }

    [DataContract]
    internal sealed class VaultVersionsObject
    {
        [DataMember(Name = "current")] public CertificateObject Current;
        [DataMember(Name = "next")] public CertificateObject Next;
        [DataMember(Name = "source")] public string Source;
    }

    [DataContract]
    internal sealed class InfoObject
    {
        [DataMember(Name = "version")] public string Version;
        [DataMember(Name = "abi")] public int? Abi;
        [DataMember(Name = "environment")] public string[] Environment;
        [DataMember(Name = "clouds")] public CloudObject[] Clouds;
    }

    [DataContract]
    internal sealed class CloudObject
    {
        [DataMember(Name = "name")] public string Name;
        [DataMember(Name = "aliases")] public string[] Aliases;
    }

#pragma warning restore 0649

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
        /// <summary>One serializer per record type: building one reflects over the type, which costs more than
        /// reading a short answer (and a roll waited on reads one per answer).</summary>
        static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, DataContractJsonSerializer> serializers =
            new System.Collections.Concurrent.ConcurrentDictionary<Type, DataContractJsonSerializer>();

        internal static T Read<T>(string json) where T : class
        {
            var serializer = serializers.GetOrAdd(typeof(T), t => new DataContractJsonSerializer(t));
            using (var stream = new MemoryStream(Encoding.UTF8.GetBytes(json)))
            {
                return serializer.ReadObject(stream) as T;
            }
        }
    }
}
