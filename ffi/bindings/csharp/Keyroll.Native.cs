// keyroll native library bindings — generated from ffi/src by `KEYROLL_UPDATE_BINDINGS=1 cargo test -p keyroll-ffi --test bindings`; do not edit

#pragma warning disable 0105
using System;
using System.Collections;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Keyroll.Native;
#pragma warning restore 0105

namespace Keyroll.Native
{
    public static partial class NativeMethods
    {
        public const string NativeLib = "keyroll";

        static NativeMethods()
        {
        }

        /// The version of this ABI: it changes only when a function's signature or meaning does. Exported into the
        /// generated bindings (`KEYROLL_ABI_VERSION`), so a binding assembly built from them expects exactly the ABI of
        /// the library it was generated with, and no host keeps a copy of the number by hand.
        public const uint KEYROLL_ABI_VERSION = (uint) 2;


        /// Library and ABI version, and the environment variables a host passes for credentials:
        /// `{"version": "…", "abi": N, "environment": ["AZURE_TENANT_ID", …], "clouds": [{"name", "aliases"}]}`.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_info")]
        public static extern KeyrollStatus keyroll_info(out KeyrollOutput output);

        /// Library and ABI version, and the environment variables a host passes for credentials:
        /// `{"version": "…", "abi": N, "environment": ["AZURE_TENANT_ID", …], "clouds": [{"name", "aliases"}]}`.
        public static void keyroll_info_checked(out KeyrollOutput output)
        {
            var rval = keyroll_info(out output);;
            if (rval != KeyrollStatus.Ok)
            {
                throw new InteropException<KeyrollStatus>(rval);
            }
        }

        /// Copies an output into `buffer` (at least the output's length) and frees it. A buffer that is too short
        /// gives `BufferTooSmall` and keeps the output; a length above `isize::MAX` (no real buffer) gives
        /// `InvalidInput` and keeps the output.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_output_take")]
        public static extern KeyrollStatus keyroll_output_take(ulong handle, SliceMutu8 buffer);

        /// Copies an output into `buffer` (at least the output's length) and frees it. A buffer that is too short
        /// gives `BufferTooSmall` and keeps the output; a length above `isize::MAX` (no real buffer) gives
        /// `InvalidInput` and keeps the output.
        public static void keyroll_output_take(ulong handle, byte[] buffer)
        {
            var buffer_pinned = GCHandle.Alloc(buffer, GCHandleType.Pinned);
            var buffer_slice = new SliceMutu8(buffer_pinned, (ulong) buffer.Length);
            try
            {
                var rval = keyroll_output_take(handle, buffer_slice);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                buffer_pinned.Free();
            }
        }

        /// Frees an output without reading it.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_output_free")]
        public static extern KeyrollStatus keyroll_output_free(ulong handle);

        /// Frees an output without reading it.
        public static void keyroll_output_free_checked(ulong handle)
        {
            var rval = keyroll_output_free(handle);;
            if (rval != KeyrollStatus.Ok)
            {
                throw new InteropException<KeyrollStatus>(rval);
            }
        }

        /// Opens a signing identity (certificate + RSA private key) from the bytes of a PFX/P12 or PEM file. An
        /// empty password means none. `identity` receives the handle; the output describes the certificate.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_identity_open")]
        public static extern KeyrollStatus keyroll_identity_open(Sliceu8 data, Sliceu8 password, out ulong identity, out KeyrollOutput output);

        /// Opens a signing identity (certificate + RSA private key) from the bytes of a PFX/P12 or PEM file. An
        /// empty password means none. `identity` receives the handle; the output describes the certificate.
        public static void keyroll_identity_open(byte[] data, byte[] password, out ulong identity, out KeyrollOutput output)
        {
            var data_pinned = GCHandle.Alloc(data, GCHandleType.Pinned);
            var data_slice = new Sliceu8(data_pinned, (ulong) data.Length);
            var password_pinned = GCHandle.Alloc(password, GCHandleType.Pinned);
            var password_slice = new Sliceu8(password_pinned, (ulong) password.Length);
            try
            {
                var rval = keyroll_identity_open(data_slice, password_slice, out identity, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                data_pinned.Free();
                password_pinned.Free();
            }
        }

        /// Opens a signing identity from a PFX/P12 or PEM file (path in UTF-8).
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_identity_open_file")]
        public static extern KeyrollStatus keyroll_identity_open_file(Sliceu8 path, Sliceu8 password, out ulong identity, out KeyrollOutput output);

        /// Opens a signing identity from a PFX/P12 or PEM file (path in UTF-8).
        public static void keyroll_identity_open_file(byte[] path, byte[] password, out ulong identity, out KeyrollOutput output)
        {
            var path_pinned = GCHandle.Alloc(path, GCHandleType.Pinned);
            var path_slice = new Sliceu8(path_pinned, (ulong) path.Length);
            var password_pinned = GCHandle.Alloc(password, GCHandleType.Pinned);
            var password_slice = new Sliceu8(password_pinned, (ulong) password.Length);
            try
            {
                var rval = keyroll_identity_open_file(path_slice, password_slice, out identity, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                path_pinned.Free();
                password_pinned.Free();
            }
        }

        /// Closes a signing identity. Its key is wiped once no call in flight uses it any more.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_identity_close")]
        public static extern KeyrollStatus keyroll_identity_close(ulong identity);

        /// Closes a signing identity. Its key is wiped once no call in flight uses it any more.
        public static void keyroll_identity_close_checked(ulong identity)
        {
            var rval = keyroll_identity_close(identity);;
            if (rval != KeyrollStatus.Ok)
            {
                throw new InteropException<KeyrollStatus>(rval);
            }
        }

        /// Opens an identity whose key the host holds and never hands over (a Windows certificate store key that
        /// will not be exported, a smart card): `certificate` is the public certificate (DER, PEM or base64, RSA),
        /// `timeout_secs` how long each signature request waits for the host (0 = 120). The handle is an identity
        /// handle like any other (connect, key add/remove, proof mint, roll, bulk). Whenever the library needs a
        /// signature it queues a request and waits: a background roll lists it in its poll/wait answers
        /// (`signatures`) and its wait returns at once; while a blocking call runs on one thread, another thread
        /// waits for requests with `keyroll_signer_wait`. Either way the host signs the request's `input` (base64)
        /// with RSASSA-PKCS1-v1_5 SHA-256 and answers with `keyroll_signature_answer`, or refuses with
        /// `keyroll_signature_refuse`. No function calls into the host. The output describes the certificate.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_signer_open_external")]
        public static extern KeyrollStatus keyroll_signer_open_external(Sliceu8 certificate, uint timeout_secs, out ulong identity, out KeyrollOutput output);

        /// Opens an identity whose key the host holds and never hands over (a Windows certificate store key that
        /// will not be exported, a smart card): `certificate` is the public certificate (DER, PEM or base64, RSA),
        /// `timeout_secs` how long each signature request waits for the host (0 = 120). The handle is an identity
        /// handle like any other (connect, key add/remove, proof mint, roll, bulk). Whenever the library needs a
        /// signature it queues a request and waits: a background roll lists it in its poll/wait answers
        /// (`signatures`) and its wait returns at once; while a blocking call runs on one thread, another thread
        /// waits for requests with `keyroll_signer_wait`. Either way the host signs the request's `input` (base64)
        /// with RSASSA-PKCS1-v1_5 SHA-256 and answers with `keyroll_signature_answer`, or refuses with
        /// `keyroll_signature_refuse`. No function calls into the host. The output describes the certificate.
        public static void keyroll_signer_open_external(byte[] certificate, uint timeout_secs, out ulong identity, out KeyrollOutput output)
        {
            var certificate_pinned = GCHandle.Alloc(certificate, GCHandleType.Pinned);
            var certificate_slice = new Sliceu8(certificate_pinned, (ulong) certificate.Length);
            try
            {
                var rval = keyroll_signer_open_external(certificate_slice, timeout_secs, out identity, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                certificate_pinned.Free();
            }
        }

        /// Waits at most `timeout_ms` milliseconds for a signature request of one of the external identities in
        /// `signers` (their handles) and answers the oldest: `{id, signer, purpose, input, algorithm, thumbprint, x5t,
        /// x5tS256}` (`signer` is its identity handle, `purpose` `clientAssertion` or `proof`, `input` the base64 of
        /// the exact bytes to sign), or `null` when none came. A request stays waiting until it is answered, refused
        /// or times out, so a second wait before the answer returns it again. Blocks only the calling thread: run the
        /// blocking call (keys list, key add, ...) on another.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_signer_wait")]
        public static extern KeyrollStatus keyroll_signer_wait(Sliceu64 signers, long timeout_ms, out KeyrollOutput output);

        /// Waits at most `timeout_ms` milliseconds for a signature request of one of the external identities in
        /// `signers` (their handles) and answers the oldest: `{id, signer, purpose, input, algorithm, thumbprint, x5t,
        /// x5tS256}` (`signer` is its identity handle, `purpose` `clientAssertion` or `proof`, `input` the base64 of
        /// the exact bytes to sign), or `null` when none came. A request stays waiting until it is answered, refused
        /// or times out, so a second wait before the answer returns it again. Blocks only the calling thread: run the
        /// blocking call (keys list, key add, ...) on another.
        public static void keyroll_signer_wait(ulong[] signers, long timeout_ms, out KeyrollOutput output)
        {
            var signers_pinned = GCHandle.Alloc(signers, GCHandleType.Pinned);
            var signers_slice = new Sliceu64(signers_pinned, (ulong) signers.Length);
            try
            {
                var rval = keyroll_signer_wait(signers_slice, timeout_ms, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                signers_pinned.Free();
            }
        }

        /// Answers signature request `request` of the external identity `signer` with `signature`, the RS256
        /// signature (raw bytes) the host's key made over the request's input. The operation that asked checks it
        /// against the certificate. A request answered, refused or timed out already gives `InvalidInput`.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_signature_answer")]
        public static extern KeyrollStatus keyroll_signature_answer(ulong signer, ulong request, Sliceu8 signature, out KeyrollOutput output);

        /// Answers signature request `request` of the external identity `signer` with `signature`, the RS256
        /// signature (raw bytes) the host's key made over the request's input. The operation that asked checks it
        /// against the certificate. A request answered, refused or timed out already gives `InvalidInput`.
        public static void keyroll_signature_answer(ulong signer, ulong request, byte[] signature, out KeyrollOutput output)
        {
            var signature_pinned = GCHandle.Alloc(signature, GCHandleType.Pinned);
            var signature_slice = new Sliceu8(signature_pinned, (ulong) signature.Length);
            try
            {
                var rval = keyroll_signature_answer(signer, request, signature_slice, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                signature_pinned.Free();
            }
        }

        /// Refuses signature request `request` of the external identity `signer`: the operation that asked fails with
        /// code `signer_refused` and `message` (the key store's words, e.g. its exception text; never key material).
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_signature_refuse")]
        public static extern KeyrollStatus keyroll_signature_refuse(ulong signer, ulong request, Sliceu8 message, out KeyrollOutput output);

        /// Refuses signature request `request` of the external identity `signer`: the operation that asked fails with
        /// code `signer_refused` and `message` (the key store's words, e.g. its exception text; never key material).
        public static void keyroll_signature_refuse(ulong signer, ulong request, byte[] message, out KeyrollOutput output)
        {
            var message_pinned = GCHandle.Alloc(message, GCHandleType.Pinned);
            var message_slice = new Sliceu8(message_pinned, (ulong) message.Length);
            try
            {
                var rval = keyroll_signature_refuse(signer, request, message_slice, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                message_pinned.Free();
            }
        }

        /// Mints a proof of possession for `addKey` / `removeKey`: signed by `identity`, for the object id, valid
        /// `lifetime_secs` (0 = 600, the maximum), for `audience` (empty = Graph's). The output is the proof (text).
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_proof_mint")]
        public static extern KeyrollStatus keyroll_proof_mint(ulong identity, Sliceu8 object_id, long lifetime_secs, Sliceu8 audience, out KeyrollOutput output);

        /// Mints a proof of possession for `addKey` / `removeKey`: signed by `identity`, for the object id, valid
        /// `lifetime_secs` (0 = 600, the maximum), for `audience` (empty = Graph's). The output is the proof (text).
        public static void keyroll_proof_mint(ulong identity, byte[] object_id, long lifetime_secs, byte[] audience, out KeyrollOutput output)
        {
            var object_id_pinned = GCHandle.Alloc(object_id, GCHandleType.Pinned);
            var object_id_slice = new Sliceu8(object_id_pinned, (ulong) object_id.Length);
            var audience_pinned = GCHandle.Alloc(audience, GCHandleType.Pinned);
            var audience_slice = new Sliceu8(audience_pinned, (ulong) audience.Length);
            try
            {
                var rval = keyroll_proof_mint(identity, object_id_slice, lifetime_secs, audience_slice, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                object_id_pinned.Free();
                audience_pinned.Free();
            }
        }

        /// Inspects a proof: every reason the service would reject it. `settings` (JSON, may be empty):
        /// `{certificates: [base64 or PEM], objectId, appId, audience, clockSkewSecs}` (clockSkewSecs defaults to the
        /// service's 60, as the emulator and the client judge). The output is the report.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_proof_inspect")]
        public static extern KeyrollStatus keyroll_proof_inspect(Sliceu8 proof, Sliceu8 settings, out KeyrollOutput output);

        /// Inspects a proof: every reason the service would reject it. `settings` (JSON, may be empty):
        /// `{certificates: [base64 or PEM], objectId, appId, audience, clockSkewSecs}` (clockSkewSecs defaults to the
        /// service's 60, as the emulator and the client judge). The output is the report.
        public static void keyroll_proof_inspect(byte[] proof, byte[] settings, out KeyrollOutput output)
        {
            var proof_pinned = GCHandle.Alloc(proof, GCHandleType.Pinned);
            var proof_slice = new Sliceu8(proof_pinned, (ulong) proof.Length);
            var settings_pinned = GCHandle.Alloc(settings, GCHandleType.Pinned);
            var settings_slice = new Sliceu8(settings_pinned, (ulong) settings.Length);
            try
            {
                var rval = keyroll_proof_inspect(proof_slice, settings_slice, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                proof_pinned.Free();
                settings_pinned.Free();
            }
        }

        /// First phase of signing with a key that cannot leave its store: the exact `header.payload` text to sign
        /// with RS256, for the public certificate (DER, PEM or base64), object id, lifetime (0 = 600) and audience.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_proof_signing_input")]
        public static extern KeyrollStatus keyroll_proof_signing_input(Sliceu8 certificate, Sliceu8 object_id, long lifetime_secs, Sliceu8 audience, out KeyrollOutput output);

        /// First phase of signing with a key that cannot leave its store: the exact `header.payload` text to sign
        /// with RS256, for the public certificate (DER, PEM or base64), object id, lifetime (0 = 600) and audience.
        public static void keyroll_proof_signing_input(byte[] certificate, byte[] object_id, long lifetime_secs, byte[] audience, out KeyrollOutput output)
        {
            var certificate_pinned = GCHandle.Alloc(certificate, GCHandleType.Pinned);
            var certificate_slice = new Sliceu8(certificate_pinned, (ulong) certificate.Length);
            var object_id_pinned = GCHandle.Alloc(object_id, GCHandleType.Pinned);
            var object_id_slice = new Sliceu8(object_id_pinned, (ulong) object_id.Length);
            var audience_pinned = GCHandle.Alloc(audience, GCHandleType.Pinned);
            var audience_slice = new Sliceu8(audience_pinned, (ulong) audience.Length);
            try
            {
                var rval = keyroll_proof_signing_input(certificate_slice, object_id_slice, lifetime_secs, audience_slice, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                certificate_pinned.Free();
                object_id_pinned.Free();
                audience_pinned.Free();
            }
        }

        /// Second phase: the finished proof from the signing input and the RS256 signature made elsewhere (raw
        /// bytes), after checking the signature against the certificate.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_proof_assemble")]
        public static extern KeyrollStatus keyroll_proof_assemble(Sliceu8 signing_input, Sliceu8 signature, Sliceu8 certificate, out KeyrollOutput output);

        /// Second phase: the finished proof from the signing input and the RS256 signature made elsewhere (raw
        /// bytes), after checking the signature against the certificate.
        public static void keyroll_proof_assemble(byte[] signing_input, byte[] signature, byte[] certificate, out KeyrollOutput output)
        {
            var signing_input_pinned = GCHandle.Alloc(signing_input, GCHandleType.Pinned);
            var signing_input_slice = new Sliceu8(signing_input_pinned, (ulong) signing_input.Length);
            var signature_pinned = GCHandle.Alloc(signature, GCHandleType.Pinned);
            var signature_slice = new Sliceu8(signature_pinned, (ulong) signature.Length);
            var certificate_pinned = GCHandle.Alloc(certificate, GCHandleType.Pinned);
            var certificate_slice = new Sliceu8(certificate_pinned, (ulong) certificate.Length);
            try
            {
                var rval = keyroll_proof_assemble(signing_input_slice, signature_slice, certificate_slice, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                signing_input_pinned.Free();
                signature_pinned.Free();
                certificate_pinned.Free();
            }
        }

        /// Builds and validates a `keyCredential` from a public certificate (DER, PEM, base64, or a PFX/PEM bundle
        /// of which only the certificate is used). `settings` (JSON, may be empty): `{displayName, startDateTime,
        /// endDateTime, customKeyIdentifier}`. Output: `{keyCredential, thumbprint, warnings, notice}`.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_key_credential")]
        public static extern KeyrollStatus keyroll_key_credential(Sliceu8 certificate, Sliceu8 settings, out KeyrollOutput output);

        /// Builds and validates a `keyCredential` from a public certificate (DER, PEM, base64, or a PFX/PEM bundle
        /// of which only the certificate is used). `settings` (JSON, may be empty): `{displayName, startDateTime,
        /// endDateTime, customKeyIdentifier}`. Output: `{keyCredential, thumbprint, warnings, notice}`.
        public static void keyroll_key_credential(byte[] certificate, byte[] settings, out KeyrollOutput output)
        {
            var certificate_pinned = GCHandle.Alloc(certificate, GCHandleType.Pinned);
            var certificate_slice = new Sliceu8(certificate_pinned, (ulong) certificate.Length);
            var settings_pinned = GCHandle.Alloc(settings, GCHandleType.Pinned);
            var settings_slice = new Sliceu8(settings_pinned, (ulong) settings.Length);
            try
            {
                var rval = keyroll_key_credential(certificate_slice, settings_slice, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                certificate_pinned.Free();
                settings_pinned.Free();
            }
        }

        /// Opens a connection to the service. `settings` (JSON): `{cloud, graphUrl, loginUrl, apiVersion, caFile,
        /// caPem, proxy, timeoutSecs, accessToken, tenantId, clientId, managedIdentity, environment: {NAME: value}}`.
        /// `identity` (0 = none) authenticates as the app with `tenantId` + `clientId`. Nothing is sent yet. The
        /// output describes the connection (no secrets).
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_connect")]
        public static extern KeyrollStatus keyroll_connect(Sliceu8 settings, ulong identity, out ulong connection, out KeyrollOutput output);

        /// Opens a connection to the service. `settings` (JSON): `{cloud, graphUrl, loginUrl, apiVersion, caFile,
        /// caPem, proxy, timeoutSecs, accessToken, tenantId, clientId, managedIdentity, environment: {NAME: value}}`.
        /// `identity` (0 = none) authenticates as the app with `tenantId` + `clientId`. Nothing is sent yet. The
        /// output describes the connection (no secrets).
        public static void keyroll_connect(byte[] settings, ulong identity, out ulong connection, out KeyrollOutput output)
        {
            var settings_pinned = GCHandle.Alloc(settings, GCHandleType.Pinned);
            var settings_slice = new Sliceu8(settings_pinned, (ulong) settings.Length);
            try
            {
                var rval = keyroll_connect(settings_slice, identity, out connection, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                settings_pinned.Free();
            }
        }

        /// Closes a connection.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_disconnect")]
        public static extern KeyrollStatus keyroll_disconnect(ulong connection);

        /// Closes a connection.
        public static void keyroll_disconnect_checked(ulong connection)
        {
            var rval = keyroll_disconnect(connection);;
            if (rval != KeyrollStatus.Ok)
            {
                throw new InteropException<KeyrollStatus>(rval);
            }
        }

        /// Starts a delegated sign-in by device code (no callback: the host shows the answer, then calls
        /// `keyroll_device_code_wait`). `settings` (JSON): the connection settings with `tenantId`, `clientId` (a public
        /// client; Microsoft Graph Command Line Tools when absent), `scopes`, `tokenCache`. Output: `{pending: true,
        /// userCode, verificationUri, message, expiresOn, intervalSecs}` when the user must act, `{pending: false, user}`
        /// when the cached sign-in is usable. `sign_in` receives the handle for the wait (or the cancel).
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_device_code_start")]
        public static extern KeyrollStatus keyroll_device_code_start(Sliceu8 settings, out ulong sign_in, out KeyrollOutput output);

        /// Starts a delegated sign-in by device code (no callback: the host shows the answer, then calls
        /// `keyroll_device_code_wait`). `settings` (JSON): the connection settings with `tenantId`, `clientId` (a public
        /// client; Microsoft Graph Command Line Tools when absent), `scopes`, `tokenCache`. Output: `{pending: true,
        /// userCode, verificationUri, message, expiresOn, intervalSecs}` when the user must act, `{pending: false, user}`
        /// when the cached sign-in is usable. `sign_in` receives the handle for the wait (or the cancel).
        public static void keyroll_device_code_start(byte[] settings, out ulong sign_in, out KeyrollOutput output)
        {
            var settings_pinned = GCHandle.Alloc(settings, GCHandleType.Pinned);
            var settings_slice = new Sliceu8(settings_pinned, (ulong) settings.Length);
            try
            {
                var rval = keyroll_device_code_start(settings_slice, out sign_in, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                settings_pinned.Free();
            }
        }

        /// Waits (blocking) until the user approved the code (`connection` receives the connection's handle), declined
        /// it, let it expire, or `keyroll_device_code_cancel` stopped the wait. The sign-in handle is closed either way.
        /// Output: the connection's description.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_device_code_wait")]
        public static extern KeyrollStatus keyroll_device_code_wait(ulong sign_in, out ulong connection, out KeyrollOutput output);

        /// Waits (blocking) until the user approved the code (`connection` receives the connection's handle), declined
        /// it, let it expire, or `keyroll_device_code_cancel` stopped the wait. The sign-in handle is closed either way.
        /// Output: the connection's description.
        public static void keyroll_device_code_wait_checked(ulong sign_in, out ulong connection, out KeyrollOutput output)
        {
            var rval = keyroll_device_code_wait(sign_in, out connection, out output);;
            if (rval != KeyrollStatus.Ok)
            {
                throw new InteropException<KeyrollStatus>(rval);
            }
        }

        /// Stops a `keyroll_device_code_wait` in progress on another thread (it answers a cancelled sign-in), or
        /// abandons a sign-in never waited for.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_device_code_cancel")]
        public static extern KeyrollStatus keyroll_device_code_cancel(ulong sign_in);

        /// Stops a `keyroll_device_code_wait` in progress on another thread (it answers a cancelled sign-in), or
        /// abandons a sign-in never waited for.
        public static void keyroll_device_code_cancel_checked(ulong sign_in)
        {
            var rval = keyroll_device_code_cancel(sign_in);;
            if (rval != KeyrollStatus.Ok)
            {
                throw new InteropException<KeyrollStatus>(rval);
            }
        }

        /// Signs out: removes the cached delegated sign-ins of the login host `settings` names, narrowed to its
        /// `tenantId`, `clientId` and `scopes` when given (every one with `all` = 1). Output: `{removed, tokenCache}`.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_sign_out")]
        public static extern KeyrollStatus keyroll_sign_out(Sliceu8 settings, byte all, out KeyrollOutput output);

        /// Signs out: removes the cached delegated sign-ins of the login host `settings` names, narrowed to its
        /// `tenantId`, `clientId` and `scopes` when given (every one with `all` = 1). Output: `{removed, tokenCache}`.
        public static void keyroll_sign_out(byte[] settings, byte all, out KeyrollOutput output)
        {
            var settings_pinned = GCHandle.Alloc(settings, GCHandleType.Pinned);
            var settings_slice = new Sliceu8(settings_pinned, (ulong) settings.Length);
            try
            {
                var rval = keyroll_sign_out(settings_slice, all, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                settings_pinned.Free();
            }
        }

        /// Lists an object's key credentials. `target` (JSON): `{kind, objectId | appId}`; `signer` (0 = none)
        /// marks the caller's certificate. Output: `{id, appId, keys: [...]}`.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_keys_list")]
        public static extern KeyrollStatus keyroll_keys_list(ulong connection, Sliceu8 target, ulong signer, out KeyrollOutput output);

        /// Lists an object's key credentials. `target` (JSON): `{kind, objectId | appId}`; `signer` (0 = none)
        /// marks the caller's certificate. Output: `{id, appId, keys: [...]}`.
        public static void keyroll_keys_list(ulong connection, byte[] target, ulong signer, out KeyrollOutput output)
        {
            var target_pinned = GCHandle.Alloc(target, GCHandleType.Pinned);
            var target_slice = new Sliceu8(target_pinned, (ulong) target.Length);
            try
            {
                var rval = keyroll_keys_list(connection, target_slice, signer, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                target_pinned.Free();
            }
        }

        /// `addKey`. `settings` (JSON): `{target, certificate | certificateFile, displayName, startDateTime,
        /// endDateTime, customKeyIdentifier, proof}`; without `proof`, one is minted with `signer` (a current
        /// certificate of the object). Output: `{keyId, thumbprint, recovered, attempts, keyCredential, warnings}`.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_key_add")]
        public static extern KeyrollStatus keyroll_key_add(ulong connection, Sliceu8 settings, ulong signer, out KeyrollOutput output);

        /// `addKey`. `settings` (JSON): `{target, certificate | certificateFile, displayName, startDateTime,
        /// endDateTime, customKeyIdentifier, proof}`; without `proof`, one is minted with `signer` (a current
        /// certificate of the object). Output: `{keyId, thumbprint, recovered, attempts, keyCredential, warnings}`.
        public static void keyroll_key_add(ulong connection, byte[] settings, ulong signer, out KeyrollOutput output)
        {
            var settings_pinned = GCHandle.Alloc(settings, GCHandleType.Pinned);
            var settings_slice = new Sliceu8(settings_pinned, (ulong) settings.Length);
            try
            {
                var rval = keyroll_key_add(connection, settings_slice, signer, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                settings_pinned.Free();
            }
        }

        /// `removeKey`. `settings` (JSON): `{target, keyId, proof}`; without `proof`, one is minted with `signer`.
        /// Output: `{keyId, removed}`.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_key_remove")]
        public static extern KeyrollStatus keyroll_key_remove(ulong connection, Sliceu8 settings, ulong signer, out KeyrollOutput output);

        /// `removeKey`. `settings` (JSON): `{target, keyId, proof}`; without `proof`, one is minted with `signer`.
        /// Output: `{keyId, removed}`.
        public static void keyroll_key_remove(ulong connection, byte[] settings, ulong signer, out KeyrollOutput output)
        {
            var settings_pinned = GCHandle.Alloc(settings, GCHandleType.Pinned);
            var settings_slice = new Sliceu8(settings_pinned, (ulong) settings.Length);
            try
            {
                var rval = keyroll_key_remove(connection, settings_slice, signer, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                settings_pinned.Free();
            }
        }

        /// Repair of an object with no valid certificate: the new certificate by PATCH of the whole keyCredentials,
        /// every existing key kept. `settings` (JSON): addKey's without `proof` and `passwordCredential`. Needs a sign-in
        /// holding Application.ReadWrite.All. Output: `{keyId, thumbprint, keyCredential, kept, keysBefore, keysAfter,
        /// restarts, recovered, warnings, retries}`.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_key_repair")]
        public static extern KeyrollStatus keyroll_key_repair(ulong connection, Sliceu8 settings, out KeyrollOutput output);

        /// Repair of an object with no valid certificate: the new certificate by PATCH of the whole keyCredentials,
        /// every existing key kept. `settings` (JSON): addKey's without `proof` and `passwordCredential`. Needs a sign-in
        /// holding Application.ReadWrite.All. Output: `{keyId, thumbprint, keyCredential, kept, keysBefore, keysAfter,
        /// restarts, recovered, warnings, retries}`.
        public static void keyroll_key_repair(ulong connection, byte[] settings, out KeyrollOutput output)
        {
            var settings_pinned = GCHandle.Alloc(settings, GCHandleType.Pinned);
            var settings_slice = new Sliceu8(settings_pinned, (ulong) settings.Length);
            try
            {
                var rval = keyroll_key_repair(connection, settings_slice, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                settings_pinned.Free();
            }
        }

        /// `addPassword`: a new client secret, generated by the service. `settings` (JSON): `{target, displayName,
        /// startDateTime, endDateTime}`. Output: `{keyId, objectId, passwordCredential, secretText, attempts,
        /// orphansRemoved, warnings, retries}`; `secretText` is the secret, returned this once.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_password_add")]
        public static extern KeyrollStatus keyroll_password_add(ulong connection, Sliceu8 settings, out KeyrollOutput output);

        /// `addPassword`: a new client secret, generated by the service. `settings` (JSON): `{target, displayName,
        /// startDateTime, endDateTime}`. Output: `{keyId, objectId, passwordCredential, secretText, attempts,
        /// orphansRemoved, warnings, retries}`; `secretText` is the secret, returned this once.
        public static void keyroll_password_add(ulong connection, byte[] settings, out KeyrollOutput output)
        {
            var settings_pinned = GCHandle.Alloc(settings, GCHandleType.Pinned);
            var settings_slice = new Sliceu8(settings_pinned, (ulong) settings.Length);
            try
            {
                var rval = keyroll_password_add(connection, settings_slice, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                settings_pinned.Free();
            }
        }

        /// `removePassword`. `settings` (JSON): `{target, keyId}`. Output: `{keyId, removed}`.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_password_remove")]
        public static extern KeyrollStatus keyroll_password_remove(ulong connection, Sliceu8 settings, out KeyrollOutput output);

        /// `removePassword`. `settings` (JSON): `{target, keyId}`. Output: `{keyId, removed}`.
        public static void keyroll_password_remove(ulong connection, byte[] settings, out KeyrollOutput output)
        {
            var settings_pinned = GCHandle.Alloc(settings, GCHandleType.Pinned);
            var settings_slice = new Sliceu8(settings_pinned, (ulong) settings.Length);
            try
            {
                var rval = keyroll_password_remove(connection, settings_slice, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                settings_pinned.Free();
            }
        }

        /// Rolls an object from the `current` identity to the `next` one: add, verify, optionally remove the old key.
        /// `settings` (JSON): `{target, displayName, removeOld, tenantId, clientId, verifyTimeoutSecs}`. Output: the
        /// roll report; a roll that does not complete is an error whose object carries the report.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_roll")]
        public static extern KeyrollStatus keyroll_roll(ulong connection, Sliceu8 settings, ulong current, ulong next, out KeyrollOutput output);

        /// Rolls an object from the `current` identity to the `next` one: add, verify, optionally remove the old key.
        /// `settings` (JSON): `{target, displayName, removeOld, tenantId, clientId, verifyTimeoutSecs}`. Output: the
        /// roll report; a roll that does not complete is an error whose object carries the report.
        public static void keyroll_roll(ulong connection, byte[] settings, ulong current, ulong next, out KeyrollOutput output)
        {
            var settings_pinned = GCHandle.Alloc(settings, GCHandleType.Pinned);
            var settings_slice = new Sliceu8(settings_pinned, (ulong) settings.Length);
            try
            {
                var rval = keyroll_roll(connection, settings_slice, current, next, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                settings_pinned.Free();
            }
        }

        /// Starts the roll of `keyroll_roll` in the background and returns at once: `operation` receives its handle,
        /// for `keyroll_roll_poll` and `keyroll_roll_close`. Settings and handles are checked before anything starts
        /// (their errors are this call's). The output is `{"operation": <handle>}`.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_roll_start")]
        public static extern KeyrollStatus keyroll_roll_start(ulong connection, Sliceu8 settings, ulong current, ulong next, out ulong operation, out KeyrollOutput output);

        /// Starts the roll of `keyroll_roll` in the background and returns at once: `operation` receives its handle,
        /// for `keyroll_roll_poll` and `keyroll_roll_close`. Settings and handles are checked before anything starts
        /// (their errors are this call's). The output is `{"operation": <handle>}`.
        public static void keyroll_roll_start(ulong connection, byte[] settings, ulong current, ulong next, out ulong operation, out KeyrollOutput output)
        {
            var settings_pinned = GCHandle.Alloc(settings, GCHandleType.Pinned);
            var settings_slice = new Sliceu8(settings_pinned, (ulong) settings.Length);
            try
            {
                var rval = keyroll_roll_start(connection, settings_slice, current, next, out operation, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                settings_pinned.Free();
            }
        }

        /// What a background roll has done since the last poll (never blocks): `{done, events: [step messages since
        /// the last poll], waiting: {attempt, seconds} | null, report, signatures}`; `signatures` lists the requests
        /// waiting for keys the host holds (see `keyroll_signer_open_external`), each until it is answered. Once `done`, `report` is what `keyroll_roll`
        /// answers: the roll report, or the error object (carrying the report of an incomplete roll). The status is
        /// `Ok` whenever the poll itself worked, whatever the roll's outcome.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_roll_poll")]
        public static extern KeyrollStatus keyroll_roll_poll(ulong operation, out KeyrollOutput output);

        /// What a background roll has done since the last poll (never blocks): `{done, events: [step messages since
        /// the last poll], waiting: {attempt, seconds} | null, report, signatures}`; `signatures` lists the requests
        /// waiting for keys the host holds (see `keyroll_signer_open_external`), each until it is answered. Once `done`, `report` is what `keyroll_roll`
        /// answers: the roll report, or the error object (carrying the report of an incomplete roll). The status is
        /// `Ok` whenever the poll itself worked, whatever the roll's outcome.
        public static void keyroll_roll_poll_checked(ulong operation, out KeyrollOutput output)
        {
            var rval = keyroll_roll_poll(operation, out output);;
            if (rval != KeyrollStatus.Ok)
            {
                throw new InteropException<KeyrollStatus>(rval);
            }
        }

        /// Waits at most `timeout_ms` milliseconds for a background roll (or bulk operation) to make progress — a step,
        /// a new waiting state, a row's end, a signature request for a key the host holds, the end — then answers what `keyroll_roll_poll` answers. Returns at once
        /// when something happened since the last poll or the operation has ended, so a host waiting in a loop hears of
        /// the end the moment it comes. Blocks only the calling thread. A negative timeout is 0 (a poll).
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_roll_wait")]
        public static extern KeyrollStatus keyroll_roll_wait(ulong operation, long timeout_ms, out KeyrollOutput output);

        /// Waits at most `timeout_ms` milliseconds for a background roll (or bulk operation) to make progress — a step,
        /// a new waiting state, a row's end, a signature request for a key the host holds, the end — then answers what `keyroll_roll_poll` answers. Returns at once
        /// when something happened since the last poll or the operation has ended, so a host waiting in a loop hears of
        /// the end the moment it comes. Blocks only the calling thread. A negative timeout is 0 (a poll).
        public static void keyroll_roll_wait_checked(ulong operation, long timeout_ms, out KeyrollOutput output)
        {
            var rval = keyroll_roll_wait(operation, timeout_ms, out output);;
            if (rval != KeyrollStatus.Ok)
            {
                throw new InteropException<KeyrollStatus>(rval);
            }
        }

        /// Starts many rolls as one background operation over the connection's shared throttle: `settings` (JSON)
        /// `{rows: [{roll: <the settings of keyroll_roll>, current: <identity handle>, next: <identity handle>}],
        /// concurrency}`. `operation` receives its handle, for `keyroll_roll_wait` / `keyroll_roll_poll` (which then
        /// add `rows`, each row's report as it ends, and `progress`) and `keyroll_roll_close`. Every row's settings and
        /// handles are checked before anything starts. The output is `{"operation": <handle>, "rows": N}`.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_bulk_start")]
        public static extern KeyrollStatus keyroll_bulk_start(ulong connection, Sliceu8 settings, out ulong operation, out KeyrollOutput output);

        /// Starts many rolls as one background operation over the connection's shared throttle: `settings` (JSON)
        /// `{rows: [{roll: <the settings of keyroll_roll>, current: <identity handle>, next: <identity handle>}],
        /// concurrency}`. `operation` receives its handle, for `keyroll_roll_wait` / `keyroll_roll_poll` (which then
        /// add `rows`, each row's report as it ends, and `progress`) and `keyroll_roll_close`. Every row's settings and
        /// handles are checked before anything starts. The output is `{"operation": <handle>, "rows": N}`.
        public static void keyroll_bulk_start(ulong connection, byte[] settings, out ulong operation, out KeyrollOutput output)
        {
            var settings_pinned = GCHandle.Alloc(settings, GCHandleType.Pinned);
            var settings_slice = new Sliceu8(settings_pinned, (ulong) settings.Length);
            try
            {
                var rval = keyroll_bulk_start(connection, settings_slice, out operation, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                settings_pinned.Free();
            }
        }

        /// Stops a bulk operation: rows not yet started end `notStarted`, rows in flight finish; wait on it for the
        /// end as usual. A single roll is not stopped (cut short, it could leave the object between its old and new
        /// key): it runs to its end.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_roll_stop")]
        public static extern KeyrollStatus keyroll_roll_stop(ulong operation);

        /// Stops a bulk operation: rows not yet started end `notStarted`, rows in flight finish; wait on it for the
        /// end as usual. A single roll is not stopped (cut short, it could leave the object between its old and new
        /// key): it runs to its end.
        public static void keyroll_roll_stop_checked(ulong operation)
        {
            var rval = keyroll_roll_stop(operation);;
            if (rval != KeyrollStatus.Ok)
            {
                throw new InteropException<KeyrollStatus>(rval);
            }
        }

        /// Closes a roll operation. A roll still running is not cut short (that could leave the object between its
        /// old and new key): it runs to its end and its outcome is discarded.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_roll_close")]
        public static extern KeyrollStatus keyroll_roll_close(ulong operation);

        /// Closes a roll operation. A roll still running is not cut short (that could leave the object between its
        /// old and new key): it runs to its end and its outcome is discarded.
        public static void keyroll_roll_close_checked(ulong operation)
        {
            var rval = keyroll_roll_close(operation);;
            if (rval != KeyrollStatus.Ok)
            {
                throw new InteropException<KeyrollStatus>(rval);
            }
        }

        /// Starts an inventory scan on a connection: `scan` receives its handle. Settings (JSON): `{"types": "all" |
        /// "application" | "servicePrincipal", "expiringWithinDays": n, "owners": bool, "pageSize": n}`; nothing is read
        /// yet. The output is `{"scan": <handle>}`.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_scan_start")]
        public static extern KeyrollStatus keyroll_scan_start(ulong connection, Sliceu8 settings, out ulong scan, out KeyrollOutput output);

        /// Starts an inventory scan on a connection: `scan` receives its handle. Settings (JSON): `{"types": "all" |
        /// "application" | "servicePrincipal", "expiringWithinDays": n, "owners": bool, "pageSize": n}`; nothing is read
        /// yet. The output is `{"scan": <handle>}`.
        public static void keyroll_scan_start(ulong connection, byte[] settings, out ulong scan, out KeyrollOutput output)
        {
            var settings_pinned = GCHandle.Alloc(settings, GCHandleType.Pinned);
            var settings_slice = new Sliceu8(settings_pinned, (ulong) settings.Length);
            try
            {
                var rval = keyroll_scan_start(connection, settings_slice, out scan, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                settings_pinned.Free();
            }
        }

        /// Reads the next page (blocks for it): `{"done": false, "collection", "read", "total", "items": [...]}`, or
        /// `{"done": true, "summary": {...}}` once every collection was read.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_scan_next")]
        public static extern KeyrollStatus keyroll_scan_next(ulong scan, out KeyrollOutput output);

        /// Reads the next page (blocks for it): `{"done": false, "collection", "read", "total", "items": [...]}`, or
        /// `{"done": true, "summary": {...}}` once every collection was read.
        public static void keyroll_scan_next_checked(ulong scan, out KeyrollOutput output)
        {
            var rval = keyroll_scan_next(scan, out output);;
            if (rval != KeyrollStatus.Ok)
            {
                throw new InteropException<KeyrollStatus>(rval);
            }
        }

        /// Closes a scan (nothing is left running: pages are read only when asked for).
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_scan_close")]
        public static extern KeyrollStatus keyroll_scan_close(ulong scan);

        /// Closes a scan (nothing is left running: pages are read only when asked for).
        public static void keyroll_scan_close_checked(ulong scan)
        {
            var rval = keyroll_scan_close(scan);;
            if (rval != KeyrollStatus.Ok)
            {
                throw new InteropException<KeyrollStatus>(rval);
            }
        }

        /// Opens a Key Vault certificate as an identity: `identity` receives its handle, usable wherever an identity
        /// is taken (connections, proofs, addKey, removeKey, rolls); close it with `keyroll_identity_close`. Settings
        /// (JSON): `{"certificate": "https://<vault>/certificates/<name>[/<version>]", "vaultAccessToken": "…"}`; the
        /// vault is reached with the connection's HTTP settings, and with its credential unless a vault token is given.
        /// The certificate must be issued and enabled, its key RSA of at least 2048 bits and its own. Output: the
        /// certificate's description with `keyVault: {certificateUrl, vault, name, version, keyUrl}` and `vaultCalls`.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_signer_open_keyvault")]
        public static extern KeyrollStatus keyroll_signer_open_keyvault(ulong connection, Sliceu8 settings, out ulong identity, out KeyrollOutput output);

        /// Opens a Key Vault certificate as an identity: `identity` receives its handle, usable wherever an identity
        /// is taken (connections, proofs, addKey, removeKey, rolls); close it with `keyroll_identity_close`. Settings
        /// (JSON): `{"certificate": "https://<vault>/certificates/<name>[/<version>]", "vaultAccessToken": "…"}`; the
        /// vault is reached with the connection's HTTP settings, and with its credential unless a vault token is given.
        /// The certificate must be issued and enabled, its key RSA of at least 2048 bits and its own. Output: the
        /// certificate's description with `keyVault: {certificateUrl, vault, name, version, keyUrl}` and `vaultCalls`.
        public static void keyroll_signer_open_keyvault(ulong connection, byte[] settings, out ulong identity, out KeyrollOutput output)
        {
            var settings_pinned = GCHandle.Alloc(settings, GCHandleType.Pinned);
            var settings_slice = new Sliceu8(settings_pinned, (ulong) settings.Length);
            try
            {
                var rval = keyroll_signer_open_keyvault(connection, settings_slice, out identity, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                settings_pinned.Free();
            }
        }

        /// Creates the next version of a Key Vault certificate and waits until the vault issues it (bounded by
        /// `maxWaitSecs`, default 120, at most 600). Settings (JSON): `{"certificate": URL, "vaultAccessToken", "subject",
        /// "keySize", "validityMonths", "maxWaitSecs", "target": {kind, objectId | appId}}`; with `target` and `current`
        /// (the identity in use now; 0 = none), a latest version already registered on the object is used again, so a
        /// re-run after a stop creates no second version. Output: the new version's description (as
        /// `keyroll_signer_open_keyvault`'s) with `source` (`created`, `completed`, `reused`); open it with
        /// `keyroll_signer_open_keyvault` and its `keyVault.certificateUrl`.
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_keyvault_create_certificate")]
        public static extern KeyrollStatus keyroll_keyvault_create_certificate(ulong connection, Sliceu8 settings, ulong current, out KeyrollOutput output);

        /// Creates the next version of a Key Vault certificate and waits until the vault issues it (bounded by
        /// `maxWaitSecs`, default 120, at most 600). Settings (JSON): `{"certificate": URL, "vaultAccessToken", "subject",
        /// "keySize", "validityMonths", "maxWaitSecs", "target": {kind, objectId | appId}}`; with `target` and `current`
        /// (the identity in use now; 0 = none), a latest version already registered on the object is used again, so a
        /// re-run after a stop creates no second version. Output: the new version's description (as
        /// `keyroll_signer_open_keyvault`'s) with `source` (`created`, `completed`, `reused`); open it with
        /// `keyroll_signer_open_keyvault` and its `keyVault.certificateUrl`.
        public static void keyroll_keyvault_create_certificate(ulong connection, byte[] settings, ulong current, out KeyrollOutput output)
        {
            var settings_pinned = GCHandle.Alloc(settings, GCHandleType.Pinned);
            var settings_slice = new Sliceu8(settings_pinned, (ulong) settings.Length);
            try
            {
                var rval = keyroll_keyvault_create_certificate(connection, settings_slice, current, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                settings_pinned.Free();
            }
        }

        /// Both ends of a roll from one version of a Key Vault certificate to its next, for the object of `target`:
        /// `current` receives the identity of the newest version that is a key of the object, `next` that of the version
        /// to roll to — one an earlier run left (waited for while the vault issues it, or used again), else one created
        /// now. Settings (JSON) as `keyroll_keyvault_create_certificate`'s, `target` required. Close both identities
        /// with `keyroll_identity_close`. Output: `{current, next, source, vaultCalls}` (descriptions as
        /// `keyroll_signer_open_keyvault`'s; `source`: `created`, `completed`, `reused`).
        [DllImport(NativeLib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "keyroll_keyvault_roll_versions")]
        public static extern KeyrollStatus keyroll_keyvault_roll_versions(ulong connection, Sliceu8 settings, out ulong current, out ulong next, out KeyrollOutput output);

        /// Both ends of a roll from one version of a Key Vault certificate to its next, for the object of `target`:
        /// `current` receives the identity of the newest version that is a key of the object, `next` that of the version
        /// to roll to — one an earlier run left (waited for while the vault issues it, or used again), else one created
        /// now. Settings (JSON) as `keyroll_keyvault_create_certificate`'s, `target` required. Close both identities
        /// with `keyroll_identity_close`. Output: `{current, next, source, vaultCalls}` (descriptions as
        /// `keyroll_signer_open_keyvault`'s; `source`: `created`, `completed`, `reused`).
        public static void keyroll_keyvault_roll_versions(ulong connection, byte[] settings, out ulong current, out ulong next, out KeyrollOutput output)
        {
            var settings_pinned = GCHandle.Alloc(settings, GCHandleType.Pinned);
            var settings_slice = new Sliceu8(settings_pinned, (ulong) settings.Length);
            try
            {
                var rval = keyroll_keyvault_roll_versions(connection, settings_slice, out current, out next, out output);;
                if (rval != KeyrollStatus.Ok)
                {
                    throw new InteropException<KeyrollStatus>(rval);
                }
            }
            finally
            {
                settings_pinned.Free();
            }
        }

    }

    /// Where a call's output waits to be copied out: `handle` for `keyroll_output_take` / `keyroll_output_free`,
    /// and its length in bytes (UTF-8). `handle` is 0 when there is no output.
    [Serializable]
    [StructLayout(LayoutKind.Sequential)]
    public partial struct KeyrollOutput
    {
        /// The output's handle.
        public ulong handle;
        /// Its length in bytes.
        public ulong len;
    }

    /// The outcome of a call. On anything but `Ok`, the call's output (when it has one) is the error object as
    /// JSON: `{kind, code, message, httpStatus?, requestId?, clientRequestId?, aadstsCodes?, issues?, report?}`.
    public enum KeyrollStatus
    {
        /// Success; the output is the result.
        Ok = 0,
        /// A required pointer argument was null.
        NullPassed = 1,
        /// A bug: a panic inside the library, caught at the boundary. The library stays usable.
        Panic = 2,
        /// The input is wrong: invalid UTF-8, too long, bad settings, certificate or password, invalid request.
        InvalidInput = 3,
        /// The handle is not (or no longer) open: closed, freed, already taken, or of another kind.
        UnknownHandle = 4,
        /// Checked locally and refused before anything was sent: the service would reject it.
        Rejected = 5,
        /// The service (Graph or the identity platform) refused.
        ServiceError = 6,
        /// The service could not be reached (network, TLS, timeout).
        TransportError = 7,
        /// The buffer given to `keyroll_output_take` is shorter than the output; the output is kept.
        BufferTooSmall = 8,
    }

    ///A pointer to an array of data someone else owns which may not be modified.
    [Serializable]
    [StructLayout(LayoutKind.Sequential)]
    public partial struct Sliceu64
    {
        ///Pointer to start of immutable data.
        IntPtr data;
        ///Number of elements.
        ulong len;
    }

    public partial struct Sliceu64 : IEnumerable<ulong>
    {
        public Sliceu64(GCHandle handle, ulong count)
        {
            this.data = handle.AddrOfPinnedObject();
            this.len = count;
        }
        public Sliceu64(IntPtr handle, ulong count)
        {
            this.data = handle;
            this.len = count;
        }
        public ulong this[int i]
        {
            get
            {
                if (i >= Count) throw new IndexOutOfRangeException();
                var size = Marshal.SizeOf(typeof(ulong));
                var ptr = new IntPtr(data.ToInt64() + i * size);
                return Marshal.PtrToStructure<ulong>(ptr);
            }
        }
        public ulong[] Copied
        {
            get
            {
                var rval = new ulong[len];
                for (var i = 0; i < (int) len; i++) {
                    rval[i] = this[i];
                }
                return rval;
            }
        }
        public int Count => (int) len;
        public IEnumerator<ulong> GetEnumerator()
        {
            for (var i = 0; i < (int)len; ++i)
            {
                yield return this[i];
            }
        }
        IEnumerator IEnumerable.GetEnumerator()
        {
            return this.GetEnumerator();
        }
    }


    ///A pointer to an array of data someone else owns which may not be modified.
    [Serializable]
    [StructLayout(LayoutKind.Sequential)]
    public partial struct Sliceu8
    {
        ///Pointer to start of immutable data.
        IntPtr data;
        ///Number of elements.
        ulong len;
    }

    public partial struct Sliceu8 : IEnumerable<byte>
    {
        public Sliceu8(GCHandle handle, ulong count)
        {
            this.data = handle.AddrOfPinnedObject();
            this.len = count;
        }
        public Sliceu8(IntPtr handle, ulong count)
        {
            this.data = handle;
            this.len = count;
        }
        public byte this[int i]
        {
            get
            {
                if (i >= Count) throw new IndexOutOfRangeException();
                var size = Marshal.SizeOf(typeof(byte));
                var ptr = new IntPtr(data.ToInt64() + i * size);
                return Marshal.PtrToStructure<byte>(ptr);
            }
        }
        public byte[] Copied
        {
            get
            {
                var rval = new byte[len];
                for (var i = 0; i < (int) len; i++) {
                    rval[i] = this[i];
                }
                return rval;
            }
        }
        public int Count => (int) len;
        public IEnumerator<byte> GetEnumerator()
        {
            for (var i = 0; i < (int)len; ++i)
            {
                yield return this[i];
            }
        }
        IEnumerator IEnumerable.GetEnumerator()
        {
            return this.GetEnumerator();
        }
    }


    ///A pointer to an array of data someone else owns which may be modified.
    [Serializable]
    [StructLayout(LayoutKind.Sequential)]
    public partial struct SliceMutu8
    {
        ///Pointer to start of mutable data.
        IntPtr data;
        ///Number of elements.
        ulong len;
    }

    public partial struct SliceMutu8 : IEnumerable<byte>
    {
        public SliceMutu8(GCHandle handle, ulong count)
        {
            this.data = handle.AddrOfPinnedObject();
            this.len = count;
        }
        public SliceMutu8(IntPtr handle, ulong count)
        {
            this.data = handle;
            this.len = count;
        }
        public byte this[int i]
        {
            get
            {
                if (i >= Count) throw new IndexOutOfRangeException();
                var size = Marshal.SizeOf(typeof(byte));
                var ptr = new IntPtr(data.ToInt64() + i * size);
                return Marshal.PtrToStructure<byte>(ptr);
            }
            set
            {
                if (i >= Count) throw new IndexOutOfRangeException();
                var size = Marshal.SizeOf(typeof(byte));
                var ptr = new IntPtr(data.ToInt64() + i * size);
                Marshal.StructureToPtr<byte>(value, ptr, false);
            }
        }
        public byte[] Copied
        {
            get
            {
                var rval = new byte[len];
                for (var i = 0; i < (int) len; i++) {
                    rval[i] = this[i];
                }
                return rval;
            }
        }
        public int Count => (int) len;
        public IEnumerator<byte> GetEnumerator()
        {
            for (var i = 0; i < (int)len; ++i)
            {
                yield return this[i];
            }
        }
        IEnumerator IEnumerable.GetEnumerator()
        {
            return this.GetEnumerator();
        }
    }




    public class InteropException<T> : Exception
    {
        public T Error { get; private set; }

        public InteropException(T error): base($"Something went wrong: {error}")
        {
            Error = error;
        }
    }

}
