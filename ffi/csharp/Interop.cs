// Internal plumbing shared by the facade types: running a native call and copying its output out, pinning byte
// arrays, and the records the library's JSON is read into. Nothing here is public.

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

        /// <summary>Runs a native call whose answer carries a secret in the string field <paramref name="field"/>:
        /// the secret goes from the answer's bytes straight into a read-only SecureString, the text returned has
        /// the field as null, and the bytes are cleared. No .NET string ever holds the secret.</summary>
        internal static string RunSecret(NativeCall call, string field, out SecureString secret)
        {
            KeyrollOutput output;
            var status = call(out output);
            var buffer = TakeBytes(output);
            try
            {
                if (status != KeyrollStatus.Ok) throw Error(status, Utf8.GetString(buffer));
                var s = new SecureString();
                var text = ExtractSecret(buffer, field, s);
                s.MakeReadOnly();
                secret = s;
                return text;
            }
            finally
            {
                Array.Clear(buffer, 0, buffer.Length);
            }
        }

        /// <summary>Moves the JSON string value of <paramref name="field"/> into <paramref name="into"/> (escapes
        /// decoded) and returns the document with that value replaced by null.</summary>
        static string ExtractSecret(byte[] json, string field, SecureString into)
        {
            var marker = Utf8.GetBytes("\"" + field + "\":\"");
            var at = IndexOf(json, marker);
            if (at < 0) throw new KeyrollException("the native library's answer carries no " + field);
            var open = at + marker.Length - 1;
            var close = open + 1;
            while (close < json.Length && json[close] != (byte)'"')
            {
                close += json[close] == (byte)'\\' ? 2 : 1;
            }
            if (close >= json.Length) throw new KeyrollException("the native library's answer is cut short");
            var chars = Utf8.GetChars(json, open + 1, close - open - 1);
            try
            {
                for (var i = 0; i < chars.Length; i++)
                {
                    var c = chars[i];
                    if (c != '\\') { into.AppendChar(c); continue; }
                    var e = chars[++i];
                    switch (e)
                    {
                        case 'n': into.AppendChar('\n'); break;
                        case 'r': into.AppendChar('\r'); break;
                        case 't': into.AppendChar('\t'); break;
                        case 'b': into.AppendChar('\b'); break;
                        case 'f': into.AppendChar('\f'); break;
                        case 'u':
                            into.AppendChar((char)Convert.ToInt32(new string(chars, i + 1, 4), 16));
                            i += 4;
                            break;
                        default: into.AppendChar(e); break;
                    }
                }
            }
            finally
            {
                Array.Clear(chars, 0, chars.Length);
            }
            return Utf8.GetString(json, 0, open) + "null" + Utf8.GetString(json, close + 1, json.Length - close - 1);
        }

        static int IndexOf(byte[] haystack, byte[] needle)
        {
            for (var i = 0; i + needle.Length <= haystack.Length; i++)
            {
                var j = 0;
                while (j < needle.Length && haystack[i + j] == needle[j]) j++;
                if (j == needle.Length) return i;
            }
            return -1;
        }

        static string Take(KeyrollOutput output)
        {
            var buffer = TakeBytes(output);
            var text = Utf8.GetString(buffer);
            Array.Clear(buffer, 0, buffer.Length);
            return text;
        }

        static byte[] TakeBytes(KeyrollOutput output)
        {
            if (output.handle == 0) return Empty;
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
            return buffer;
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
