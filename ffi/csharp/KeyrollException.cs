// The one exception type of the facade: a failure reported by the native library, carrying its error object.

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
        /// <summary>A refused setting's JSON name (cloud, apiVersion, ...), so that a host names its own parameter.</summary>
        public string Setting { get; private set; }
        /// <summary>With Setting: what is wrong with it and the fix, without the setting's name.</summary>
        public string Detail { get; private set; }
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
            Setting = error.Setting;
            Detail = error.Detail;
            ErrorJson = json;
        }

        protected KeyrollException(SerializationInfo info, StreamingContext context) : base(info, context) { }
    }
}
