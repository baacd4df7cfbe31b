from __future__ import annotations
import ctypes
import typing

T = typing.TypeVar("T")
c_lib = None

def init_lib(path):
    """Initializes the native library. Must be called at least once before anything else."""
    global c_lib
    c_lib = ctypes.cdll.LoadLibrary(path)

    c_lib.keyroll_info.argtypes = [ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_output_take.argtypes = [ctypes.c_uint64, SliceMutu8]
    c_lib.keyroll_output_free.argtypes = [ctypes.c_uint64]
    c_lib.keyroll_identity_open.argtypes = [Sliceu8, Sliceu8, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_identity_open_file.argtypes = [Sliceu8, Sliceu8, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_identity_close.argtypes = [ctypes.c_uint64]
    c_lib.keyroll_signer_open_external.argtypes = [Sliceu8, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_signer_wait.argtypes = [Sliceu64, ctypes.c_int64, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_signature_answer.argtypes = [ctypes.c_uint64, ctypes.c_uint64, Sliceu8, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_signature_refuse.argtypes = [ctypes.c_uint64, ctypes.c_uint64, Sliceu8, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_proof_mint.argtypes = [ctypes.c_uint64, Sliceu8, ctypes.c_int64, Sliceu8, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_proof_inspect.argtypes = [Sliceu8, Sliceu8, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_proof_signing_input.argtypes = [Sliceu8, Sliceu8, ctypes.c_int64, Sliceu8, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_proof_assemble.argtypes = [Sliceu8, Sliceu8, Sliceu8, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_key_credential.argtypes = [Sliceu8, Sliceu8, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_connect.argtypes = [Sliceu8, ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_disconnect.argtypes = [ctypes.c_uint64]
    c_lib.keyroll_device_code_start.argtypes = [Sliceu8, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_device_code_wait.argtypes = [ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_device_code_cancel.argtypes = [ctypes.c_uint64]
    c_lib.keyroll_sign_out.argtypes = [Sliceu8, ctypes.c_uint8, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_keys_list.argtypes = [ctypes.c_uint64, Sliceu8, ctypes.c_uint64, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_key_add.argtypes = [ctypes.c_uint64, Sliceu8, ctypes.c_uint64, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_key_remove.argtypes = [ctypes.c_uint64, Sliceu8, ctypes.c_uint64, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_key_repair.argtypes = [ctypes.c_uint64, Sliceu8, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_password_add.argtypes = [ctypes.c_uint64, Sliceu8, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_password_remove.argtypes = [ctypes.c_uint64, Sliceu8, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_roll.argtypes = [ctypes.c_uint64, Sliceu8, ctypes.c_uint64, ctypes.c_uint64, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_roll_start.argtypes = [ctypes.c_uint64, Sliceu8, ctypes.c_uint64, ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_roll_poll.argtypes = [ctypes.c_uint64, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_roll_wait.argtypes = [ctypes.c_uint64, ctypes.c_int64, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_bulk_start.argtypes = [ctypes.c_uint64, Sliceu8, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_roll_stop.argtypes = [ctypes.c_uint64]
    c_lib.keyroll_roll_close.argtypes = [ctypes.c_uint64]
    c_lib.keyroll_scan_start.argtypes = [ctypes.c_uint64, Sliceu8, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_scan_next.argtypes = [ctypes.c_uint64, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_scan_close.argtypes = [ctypes.c_uint64]
    c_lib.keyroll_signer_open_keyvault.argtypes = [ctypes.c_uint64, Sliceu8, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_keyvault_create_certificate.argtypes = [ctypes.c_uint64, Sliceu8, ctypes.c_uint64, ctypes.POINTER(KeyrollOutput)]
    c_lib.keyroll_keyvault_roll_versions.argtypes = [ctypes.c_uint64, Sliceu8, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(KeyrollOutput)]

    c_lib.keyroll_info.restype = ctypes.c_int
    c_lib.keyroll_output_take.restype = ctypes.c_int
    c_lib.keyroll_output_free.restype = ctypes.c_int
    c_lib.keyroll_identity_open.restype = ctypes.c_int
    c_lib.keyroll_identity_open_file.restype = ctypes.c_int
    c_lib.keyroll_identity_close.restype = ctypes.c_int
    c_lib.keyroll_signer_open_external.restype = ctypes.c_int
    c_lib.keyroll_signer_wait.restype = ctypes.c_int
    c_lib.keyroll_signature_answer.restype = ctypes.c_int
    c_lib.keyroll_signature_refuse.restype = ctypes.c_int
    c_lib.keyroll_proof_mint.restype = ctypes.c_int
    c_lib.keyroll_proof_inspect.restype = ctypes.c_int
    c_lib.keyroll_proof_signing_input.restype = ctypes.c_int
    c_lib.keyroll_proof_assemble.restype = ctypes.c_int
    c_lib.keyroll_key_credential.restype = ctypes.c_int
    c_lib.keyroll_connect.restype = ctypes.c_int
    c_lib.keyroll_disconnect.restype = ctypes.c_int
    c_lib.keyroll_device_code_start.restype = ctypes.c_int
    c_lib.keyroll_device_code_wait.restype = ctypes.c_int
    c_lib.keyroll_device_code_cancel.restype = ctypes.c_int
    c_lib.keyroll_sign_out.restype = ctypes.c_int
    c_lib.keyroll_keys_list.restype = ctypes.c_int
    c_lib.keyroll_key_add.restype = ctypes.c_int
    c_lib.keyroll_key_remove.restype = ctypes.c_int
    c_lib.keyroll_key_repair.restype = ctypes.c_int
    c_lib.keyroll_password_add.restype = ctypes.c_int
    c_lib.keyroll_password_remove.restype = ctypes.c_int
    c_lib.keyroll_roll.restype = ctypes.c_int
    c_lib.keyroll_roll_start.restype = ctypes.c_int
    c_lib.keyroll_roll_poll.restype = ctypes.c_int
    c_lib.keyroll_roll_wait.restype = ctypes.c_int
    c_lib.keyroll_bulk_start.restype = ctypes.c_int
    c_lib.keyroll_roll_stop.restype = ctypes.c_int
    c_lib.keyroll_roll_close.restype = ctypes.c_int
    c_lib.keyroll_scan_start.restype = ctypes.c_int
    c_lib.keyroll_scan_next.restype = ctypes.c_int
    c_lib.keyroll_scan_close.restype = ctypes.c_int
    c_lib.keyroll_signer_open_keyvault.restype = ctypes.c_int
    c_lib.keyroll_keyvault_create_certificate.restype = ctypes.c_int
    c_lib.keyroll_keyvault_roll_versions.restype = ctypes.c_int

    c_lib.keyroll_info.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_output_take.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_output_free.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_identity_open.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_identity_open_file.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_identity_close.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_signer_open_external.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_signer_wait.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_signature_answer.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_signature_refuse.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_proof_mint.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_proof_inspect.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_proof_signing_input.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_proof_assemble.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_key_credential.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_connect.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_disconnect.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_device_code_start.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_device_code_wait.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_device_code_cancel.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_sign_out.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_keys_list.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_key_add.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_key_remove.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_key_repair.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_password_add.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_password_remove.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_roll.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_roll_start.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_roll_poll.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_roll_wait.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_bulk_start.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_roll_stop.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_roll_close.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_scan_start.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_scan_next.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_scan_close.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_signer_open_keyvault.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_keyvault_create_certificate.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)
    c_lib.keyroll_keyvault_roll_versions.errcheck = lambda rval, _fptr, _args: _errcheck(rval, 0)


def keyroll_info(output: ctypes.POINTER(KeyrollOutput)):
    """ Library and ABI version, and the environment variables a host passes for credentials:
 `{"version": "…", "abi": N, "environment": ["AZURE_TENANT_ID", …], "clouds": [{"name", "aliases"}]}`."""
    return c_lib.keyroll_info(output)

def keyroll_output_take(handle: int, buffer: SliceMutu8 | ctypes.Array[ctypes.c_uint8]):
    """ Copies an output into `buffer` (at least the output's length) and frees it. A buffer that is too short
 gives `BufferTooSmall` and keeps the output; a length above `isize::MAX` (no real buffer) gives
 `InvalidInput` and keeps the output."""
    if hasattr(buffer, "_length_") and getattr(buffer, "_type_", "") == ctypes.c_uint8:
        buffer = SliceMutu8(data=ctypes.cast(buffer, ctypes.POINTER(ctypes.c_uint8)), len=len(buffer))

    return c_lib.keyroll_output_take(handle, buffer)

def keyroll_output_free(handle: int):
    """ Frees an output without reading it."""
    return c_lib.keyroll_output_free(handle)

def keyroll_identity_open(data: Sliceu8 | ctypes.Array[ctypes.c_uint8], password: Sliceu8 | ctypes.Array[ctypes.c_uint8], identity: ctypes.POINTER(ctypes.c_uint64), output: ctypes.POINTER(KeyrollOutput)):
    """ Opens a signing identity (certificate + RSA private key) from the bytes of a PFX/P12 or PEM file. An
 empty password means none. `identity` receives the handle; the output describes the certificate."""
    if hasattr(data, "_length_") and getattr(data, "_type_", "") == ctypes.c_uint8:
        data = Sliceu8(data=ctypes.cast(data, ctypes.POINTER(ctypes.c_uint8)), len=len(data))

    if hasattr(password, "_length_") and getattr(password, "_type_", "") == ctypes.c_uint8:
        password = Sliceu8(data=ctypes.cast(password, ctypes.POINTER(ctypes.c_uint8)), len=len(password))

    return c_lib.keyroll_identity_open(data, password, identity, output)

def keyroll_identity_open_file(path: Sliceu8 | ctypes.Array[ctypes.c_uint8], password: Sliceu8 | ctypes.Array[ctypes.c_uint8], identity: ctypes.POINTER(ctypes.c_uint64), output: ctypes.POINTER(KeyrollOutput)):
    """ Opens a signing identity from a PFX/P12 or PEM file (path in UTF-8)."""
    if hasattr(path, "_length_") and getattr(path, "_type_", "") == ctypes.c_uint8:
        path = Sliceu8(data=ctypes.cast(path, ctypes.POINTER(ctypes.c_uint8)), len=len(path))

    if hasattr(password, "_length_") and getattr(password, "_type_", "") == ctypes.c_uint8:
        password = Sliceu8(data=ctypes.cast(password, ctypes.POINTER(ctypes.c_uint8)), len=len(password))

    return c_lib.keyroll_identity_open_file(path, password, identity, output)

def keyroll_identity_close(identity: int):
    """ Closes a signing identity. Its key is wiped once no call in flight uses it any more."""
    return c_lib.keyroll_identity_close(identity)

def keyroll_signer_open_external(certificate: Sliceu8 | ctypes.Array[ctypes.c_uint8], timeout_secs: int, identity: ctypes.POINTER(ctypes.c_uint64), output: ctypes.POINTER(KeyrollOutput)):
    """ Opens an identity whose key the host holds and never hands over (a Windows certificate store key that
 will not be exported, a smart card): `certificate` is the public certificate (DER, PEM or base64, RSA),
 `timeout_secs` how long each signature request waits for the host (0 = 120). The handle is an identity
 handle like any other (connect, key add/remove, proof mint, roll, bulk). Whenever the library needs a
 signature it queues a request and waits: a background roll lists it in its poll/wait answers
 (`signatures`) and its wait returns at once; while a blocking call runs on one thread, another thread
 waits for requests with `keyroll_signer_wait`. Either way the host signs the request's `input` (base64)
 with RSASSA-PKCS1-v1_5 SHA-256 and answers with `keyroll_signature_answer`, or refuses with
 `keyroll_signature_refuse`. No function calls into the host. The output describes the certificate."""
    if hasattr(certificate, "_length_") and getattr(certificate, "_type_", "") == ctypes.c_uint8:
        certificate = Sliceu8(data=ctypes.cast(certificate, ctypes.POINTER(ctypes.c_uint8)), len=len(certificate))

    return c_lib.keyroll_signer_open_external(certificate, timeout_secs, identity, output)

def keyroll_signer_wait(signers: Sliceu64 | ctypes.Array[ctypes.c_uint64], timeout_ms: int, output: ctypes.POINTER(KeyrollOutput)):
    """ Waits at most `timeout_ms` milliseconds for a signature request of one of the external identities in
 `signers` (their handles) and answers the oldest: `{id, signer, purpose, input, algorithm, thumbprint, x5t,
 x5tS256}` (`signer` is its identity handle, `purpose` `clientAssertion` or `proof`, `input` the base64 of
 the exact bytes to sign), or `null` when none came. A request stays waiting until it is answered, refused
 or times out, so a second wait before the answer returns it again. Blocks only the calling thread: run the
 blocking call (keys list, key add, ...) on another."""
    if hasattr(signers, "_length_") and getattr(signers, "_type_", "") == ctypes.c_uint64:
        signers = Sliceu64(data=ctypes.cast(signers, ctypes.POINTER(ctypes.c_uint64)), len=len(signers))

    return c_lib.keyroll_signer_wait(signers, timeout_ms, output)

def keyroll_signature_answer(signer: int, request: int, signature: Sliceu8 | ctypes.Array[ctypes.c_uint8], output: ctypes.POINTER(KeyrollOutput)):
    """ Answers signature request `request` of the external identity `signer` with `signature`, the RS256
 signature (raw bytes) the host's key made over the request's input. The operation that asked checks it
 against the certificate. A request answered, refused or timed out already gives `InvalidInput`."""
    if hasattr(signature, "_length_") and getattr(signature, "_type_", "") == ctypes.c_uint8:
        signature = Sliceu8(data=ctypes.cast(signature, ctypes.POINTER(ctypes.c_uint8)), len=len(signature))

    return c_lib.keyroll_signature_answer(signer, request, signature, output)

def keyroll_signature_refuse(signer: int, request: int, message: Sliceu8 | ctypes.Array[ctypes.c_uint8], output: ctypes.POINTER(KeyrollOutput)):
    """ Refuses signature request `request` of the external identity `signer`: the operation that asked fails with
 code `signer_refused` and `message` (the key store's words, e.g. its exception text; never key material)."""
    if hasattr(message, "_length_") and getattr(message, "_type_", "") == ctypes.c_uint8:
        message = Sliceu8(data=ctypes.cast(message, ctypes.POINTER(ctypes.c_uint8)), len=len(message))

    return c_lib.keyroll_signature_refuse(signer, request, message, output)

def keyroll_proof_mint(identity: int, object_id: Sliceu8 | ctypes.Array[ctypes.c_uint8], lifetime_secs: int, audience: Sliceu8 | ctypes.Array[ctypes.c_uint8], output: ctypes.POINTER(KeyrollOutput)):
    """ Mints a proof of possession for `addKey` / `removeKey`: signed by `identity`, for the object id, valid
 `lifetime_secs` (0 = 600, the maximum), for `audience` (empty = Graph's). The output is the proof (text)."""
    if hasattr(object_id, "_length_") and getattr(object_id, "_type_", "") == ctypes.c_uint8:
        object_id = Sliceu8(data=ctypes.cast(object_id, ctypes.POINTER(ctypes.c_uint8)), len=len(object_id))

    if hasattr(audience, "_length_") and getattr(audience, "_type_", "") == ctypes.c_uint8:
        audience = Sliceu8(data=ctypes.cast(audience, ctypes.POINTER(ctypes.c_uint8)), len=len(audience))

    return c_lib.keyroll_proof_mint(identity, object_id, lifetime_secs, audience, output)

def keyroll_proof_inspect(proof: Sliceu8 | ctypes.Array[ctypes.c_uint8], settings: Sliceu8 | ctypes.Array[ctypes.c_uint8], output: ctypes.POINTER(KeyrollOutput)):
    """ Inspects a proof: every reason the service would reject it. `settings` (JSON, may be empty):
 `{certificates: [base64 or PEM], objectId, appId, audience, clockSkewSecs}` (clockSkewSecs defaults to the
 service's 60, as the emulator and the client judge). The output is the report."""
    if hasattr(proof, "_length_") and getattr(proof, "_type_", "") == ctypes.c_uint8:
        proof = Sliceu8(data=ctypes.cast(proof, ctypes.POINTER(ctypes.c_uint8)), len=len(proof))

    if hasattr(settings, "_length_") and getattr(settings, "_type_", "") == ctypes.c_uint8:
        settings = Sliceu8(data=ctypes.cast(settings, ctypes.POINTER(ctypes.c_uint8)), len=len(settings))

    return c_lib.keyroll_proof_inspect(proof, settings, output)

def keyroll_proof_signing_input(certificate: Sliceu8 | ctypes.Array[ctypes.c_uint8], object_id: Sliceu8 | ctypes.Array[ctypes.c_uint8], lifetime_secs: int, audience: Sliceu8 | ctypes.Array[ctypes.c_uint8], output: ctypes.POINTER(KeyrollOutput)):
    """ First phase of signing with a key that cannot leave its store: the exact `header.payload` text to sign
 with RS256, for the public certificate (DER, PEM or base64), object id, lifetime (0 = 600) and audience."""
    if hasattr(certificate, "_length_") and getattr(certificate, "_type_", "") == ctypes.c_uint8:
        certificate = Sliceu8(data=ctypes.cast(certificate, ctypes.POINTER(ctypes.c_uint8)), len=len(certificate))

    if hasattr(object_id, "_length_") and getattr(object_id, "_type_", "") == ctypes.c_uint8:
        object_id = Sliceu8(data=ctypes.cast(object_id, ctypes.POINTER(ctypes.c_uint8)), len=len(object_id))

    if hasattr(audience, "_length_") and getattr(audience, "_type_", "") == ctypes.c_uint8:
        audience = Sliceu8(data=ctypes.cast(audience, ctypes.POINTER(ctypes.c_uint8)), len=len(audience))

    return c_lib.keyroll_proof_signing_input(certificate, object_id, lifetime_secs, audience, output)

def keyroll_proof_assemble(signing_input: Sliceu8 | ctypes.Array[ctypes.c_uint8], signature: Sliceu8 | ctypes.Array[ctypes.c_uint8], certificate: Sliceu8 | ctypes.Array[ctypes.c_uint8], output: ctypes.POINTER(KeyrollOutput)):
    """ Second phase: the finished proof from the signing input and the RS256 signature made elsewhere (raw
 bytes), after checking the signature against the certificate."""
    if hasattr(signing_input, "_length_") and getattr(signing_input, "_type_", "") == ctypes.c_uint8:
        signing_input = Sliceu8(data=ctypes.cast(signing_input, ctypes.POINTER(ctypes.c_uint8)), len=len(signing_input))

    if hasattr(signature, "_length_") and getattr(signature, "_type_", "") == ctypes.c_uint8:
        signature = Sliceu8(data=ctypes.cast(signature, ctypes.POINTER(ctypes.c_uint8)), len=len(signature))

    if hasattr(certificate, "_length_") and getattr(certificate, "_type_", "") == ctypes.c_uint8:
        certificate = Sliceu8(data=ctypes.cast(certificate, ctypes.POINTER(ctypes.c_uint8)), len=len(certificate))

    return c_lib.keyroll_proof_assemble(signing_input, signature, certificate, output)

def keyroll_key_credential(certificate: Sliceu8 | ctypes.Array[ctypes.c_uint8], settings: Sliceu8 | ctypes.Array[ctypes.c_uint8], output: ctypes.POINTER(KeyrollOutput)):
    """ Builds and validates a `keyCredential` from a public certificate (DER, PEM, base64, or a PFX/PEM bundle
 of which only the certificate is used). `settings` (JSON, may be empty): `{displayName, startDateTime,
 endDateTime, customKeyIdentifier}`. Output: `{keyCredential, thumbprint, warnings, notice}`."""
    if hasattr(certificate, "_length_") and getattr(certificate, "_type_", "") == ctypes.c_uint8:
        certificate = Sliceu8(data=ctypes.cast(certificate, ctypes.POINTER(ctypes.c_uint8)), len=len(certificate))

    if hasattr(settings, "_length_") and getattr(settings, "_type_", "") == ctypes.c_uint8:
        settings = Sliceu8(data=ctypes.cast(settings, ctypes.POINTER(ctypes.c_uint8)), len=len(settings))

    return c_lib.keyroll_key_credential(certificate, settings, output)

def keyroll_connect(settings: Sliceu8 | ctypes.Array[ctypes.c_uint8], identity: int, connection: ctypes.POINTER(ctypes.c_uint64), output: ctypes.POINTER(KeyrollOutput)):
    """ Opens a connection to the service. `settings` (JSON): `{cloud, graphUrl, loginUrl, apiVersion, caFile,
 caPem, proxy, timeoutSecs, accessToken, tenantId, clientId, managedIdentity, environment: {NAME: value}}`.
 `identity` (0 = none) authenticates as the app with `tenantId` + `clientId`. Nothing is sent yet. The
 output describes the connection (no secrets)."""
    if hasattr(settings, "_length_") and getattr(settings, "_type_", "") == ctypes.c_uint8:
        settings = Sliceu8(data=ctypes.cast(settings, ctypes.POINTER(ctypes.c_uint8)), len=len(settings))

    return c_lib.keyroll_connect(settings, identity, connection, output)

def keyroll_disconnect(connection: int):
    """ Closes a connection."""
    return c_lib.keyroll_disconnect(connection)

def keyroll_device_code_start(settings: Sliceu8 | ctypes.Array[ctypes.c_uint8], sign_in: ctypes.POINTER(ctypes.c_uint64), output: ctypes.POINTER(KeyrollOutput)):
    """ Starts a delegated sign-in by device code (no callback: the host shows the answer, then calls
 `keyroll_device_code_wait`). `settings` (JSON): the connection settings with `tenantId`, `clientId` (a public
 client; Microsoft Graph Command Line Tools when absent), `scopes`, `tokenCache`. Output: `{pending: true,
 userCode, verificationUri, message, expiresOn, intervalSecs}` when the user must act, `{pending: false, user}`
 when the cached sign-in is usable. `sign_in` receives the handle for the wait (or the cancel)."""
    if hasattr(settings, "_length_") and getattr(settings, "_type_", "") == ctypes.c_uint8:
        settings = Sliceu8(data=ctypes.cast(settings, ctypes.POINTER(ctypes.c_uint8)), len=len(settings))

    return c_lib.keyroll_device_code_start(settings, sign_in, output)

def keyroll_device_code_wait(sign_in: int, connection: ctypes.POINTER(ctypes.c_uint64), output: ctypes.POINTER(KeyrollOutput)):
    """ Waits (blocking) until the user approved the code (`connection` receives the connection's handle), declined
 it, let it expire, or `keyroll_device_code_cancel` stopped the wait. The sign-in handle is closed either way.
 Output: the connection's description."""
    return c_lib.keyroll_device_code_wait(sign_in, connection, output)

def keyroll_device_code_cancel(sign_in: int):
    """ Stops a `keyroll_device_code_wait` in progress on another thread (it answers a cancelled sign-in), or
 abandons a sign-in never waited for."""
    return c_lib.keyroll_device_code_cancel(sign_in)

def keyroll_sign_out(settings: Sliceu8 | ctypes.Array[ctypes.c_uint8], all: int, output: ctypes.POINTER(KeyrollOutput)):
    """ Signs out: removes the cached delegated sign-ins of the login host `settings` names, narrowed to its
 `tenantId`, `clientId` and `scopes` when given (every one with `all` = 1). Output: `{removed, tokenCache}`."""
    if hasattr(settings, "_length_") and getattr(settings, "_type_", "") == ctypes.c_uint8:
        settings = Sliceu8(data=ctypes.cast(settings, ctypes.POINTER(ctypes.c_uint8)), len=len(settings))

    return c_lib.keyroll_sign_out(settings, all, output)

def keyroll_keys_list(connection: int, target: Sliceu8 | ctypes.Array[ctypes.c_uint8], signer: int, output: ctypes.POINTER(KeyrollOutput)):
    """ Lists an object's key credentials. `target` (JSON): `{kind, objectId | appId}`; `signer` (0 = none)
 marks the caller's certificate. Output: `{id, appId, keys: [...]}`."""
    if hasattr(target, "_length_") and getattr(target, "_type_", "") == ctypes.c_uint8:
        target = Sliceu8(data=ctypes.cast(target, ctypes.POINTER(ctypes.c_uint8)), len=len(target))

    return c_lib.keyroll_keys_list(connection, target, signer, output)

def keyroll_key_add(connection: int, settings: Sliceu8 | ctypes.Array[ctypes.c_uint8], signer: int, output: ctypes.POINTER(KeyrollOutput)):
    """ `addKey`. `settings` (JSON): `{target, certificate | certificateFile, displayName, startDateTime,
 endDateTime, customKeyIdentifier, proof}`; without `proof`, one is minted with `signer` (a current
 certificate of the object). Output: `{keyId, thumbprint, recovered, attempts, keyCredential, warnings}`."""
    if hasattr(settings, "_length_") and getattr(settings, "_type_", "") == ctypes.c_uint8:
        settings = Sliceu8(data=ctypes.cast(settings, ctypes.POINTER(ctypes.c_uint8)), len=len(settings))

    return c_lib.keyroll_key_add(connection, settings, signer, output)

def keyroll_key_remove(connection: int, settings: Sliceu8 | ctypes.Array[ctypes.c_uint8], signer: int, output: ctypes.POINTER(KeyrollOutput)):
    """ `removeKey`. `settings` (JSON): `{target, keyId, proof}`; without `proof`, one is minted with `signer`.
 Output: `{keyId, removed}`."""
    if hasattr(settings, "_length_") and getattr(settings, "_type_", "") == ctypes.c_uint8:
        settings = Sliceu8(data=ctypes.cast(settings, ctypes.POINTER(ctypes.c_uint8)), len=len(settings))

    return c_lib.keyroll_key_remove(connection, settings, signer, output)

def keyroll_key_repair(connection: int, settings: Sliceu8 | ctypes.Array[ctypes.c_uint8], output: ctypes.POINTER(KeyrollOutput)):
    """ Repair of an object with no valid certificate: the new certificate by PATCH of the whole keyCredentials,
 every existing key kept. `settings` (JSON): addKey's without `proof` and `passwordCredential`. Needs a sign-in
 holding Application.ReadWrite.All. Output: `{keyId, thumbprint, keyCredential, kept, keysBefore, keysAfter,
 restarts, recovered, warnings, retries}`."""
    if hasattr(settings, "_length_") and getattr(settings, "_type_", "") == ctypes.c_uint8:
        settings = Sliceu8(data=ctypes.cast(settings, ctypes.POINTER(ctypes.c_uint8)), len=len(settings))

    return c_lib.keyroll_key_repair(connection, settings, output)

def keyroll_password_add(connection: int, settings: Sliceu8 | ctypes.Array[ctypes.c_uint8], output: ctypes.POINTER(KeyrollOutput)):
    """ `addPassword`: a new client secret, generated by the service. `settings` (JSON): `{target, displayName,
 startDateTime, endDateTime}`. Output: `{keyId, objectId, passwordCredential, secretText, attempts,
 orphansRemoved, warnings, retries}`; `secretText` is the secret, returned this once."""
    if hasattr(settings, "_length_") and getattr(settings, "_type_", "") == ctypes.c_uint8:
        settings = Sliceu8(data=ctypes.cast(settings, ctypes.POINTER(ctypes.c_uint8)), len=len(settings))

    return c_lib.keyroll_password_add(connection, settings, output)

def keyroll_password_remove(connection: int, settings: Sliceu8 | ctypes.Array[ctypes.c_uint8], output: ctypes.POINTER(KeyrollOutput)):
    """ `removePassword`. `settings` (JSON): `{target, keyId}`. Output: `{keyId, removed}`."""
    if hasattr(settings, "_length_") and getattr(settings, "_type_", "") == ctypes.c_uint8:
        settings = Sliceu8(data=ctypes.cast(settings, ctypes.POINTER(ctypes.c_uint8)), len=len(settings))

    return c_lib.keyroll_password_remove(connection, settings, output)

def keyroll_roll(connection: int, settings: Sliceu8 | ctypes.Array[ctypes.c_uint8], current: int, next: int, output: ctypes.POINTER(KeyrollOutput)):
    """ Rolls an object from the `current` identity to the `next` one: add, verify, optionally remove the old key.
 `settings` (JSON): `{target, displayName, removeOld, tenantId, clientId, verifyTimeoutSecs}`. Output: the
 roll report; a roll that does not complete is an error whose object carries the report."""
    if hasattr(settings, "_length_") and getattr(settings, "_type_", "") == ctypes.c_uint8:
        settings = Sliceu8(data=ctypes.cast(settings, ctypes.POINTER(ctypes.c_uint8)), len=len(settings))

    return c_lib.keyroll_roll(connection, settings, current, next, output)

def keyroll_roll_start(connection: int, settings: Sliceu8 | ctypes.Array[ctypes.c_uint8], current: int, next: int, operation: ctypes.POINTER(ctypes.c_uint64), output: ctypes.POINTER(KeyrollOutput)):
    """ Starts the roll of `keyroll_roll` in the background and returns at once: `operation` receives its handle,
 for `keyroll_roll_poll` and `keyroll_roll_close`. Settings and handles are checked before anything starts
 (their errors are this call's). The output is `{"operation": <handle>}`."""
    if hasattr(settings, "_length_") and getattr(settings, "_type_", "") == ctypes.c_uint8:
        settings = Sliceu8(data=ctypes.cast(settings, ctypes.POINTER(ctypes.c_uint8)), len=len(settings))

    return c_lib.keyroll_roll_start(connection, settings, current, next, operation, output)

def keyroll_roll_poll(operation: int, output: ctypes.POINTER(KeyrollOutput)):
    """ What a background roll has done since the last poll (never blocks): `{done, events: [step messages since
 the last poll], waiting: {attempt, seconds} | null, report, signatures}`; `signatures` lists the requests
 waiting for keys the host holds (see `keyroll_signer_open_external`), each until it is answered. Once `done`, `report` is what `keyroll_roll`
 answers: the roll report, or the error object (carrying the report of an incomplete roll). The status is
 `Ok` whenever the poll itself worked, whatever the roll's outcome."""
    return c_lib.keyroll_roll_poll(operation, output)

def keyroll_roll_wait(operation: int, timeout_ms: int, output: ctypes.POINTER(KeyrollOutput)):
    """ Waits at most `timeout_ms` milliseconds for a background roll (or bulk operation) to make progress — a step,
 a new waiting state, a row's end, a signature request for a key the host holds, the end — then answers what `keyroll_roll_poll` answers. Returns at once
 when something happened since the last poll or the operation has ended, so a host waiting in a loop hears of
 the end the moment it comes. Blocks only the calling thread. A negative timeout is 0 (a poll)."""
    return c_lib.keyroll_roll_wait(operation, timeout_ms, output)

def keyroll_bulk_start(connection: int, settings: Sliceu8 | ctypes.Array[ctypes.c_uint8], operation: ctypes.POINTER(ctypes.c_uint64), output: ctypes.POINTER(KeyrollOutput)):
    """ Starts many rolls as one background operation over the connection's shared throttle: `settings` (JSON)
 `{rows: [{roll: <the settings of keyroll_roll>, current: <identity handle>, next: <identity handle>}],
 concurrency}`. `operation` receives its handle, for `keyroll_roll_wait` / `keyroll_roll_poll` (which then
 add `rows`, each row's report as it ends, and `progress`) and `keyroll_roll_close`. Every row's settings and
 handles are checked before anything starts. The output is `{"operation": <handle>, "rows": N}`."""
    if hasattr(settings, "_length_") and getattr(settings, "_type_", "") == ctypes.c_uint8:
        settings = Sliceu8(data=ctypes.cast(settings, ctypes.POINTER(ctypes.c_uint8)), len=len(settings))

    return c_lib.keyroll_bulk_start(connection, settings, operation, output)

def keyroll_roll_stop(operation: int):
    """ Stops a bulk operation: rows not yet started end `notStarted`, rows in flight finish; wait on it for the
 end as usual. A single roll is not stopped (cut short, it could leave the object between its old and new
 key): it runs to its end."""
    return c_lib.keyroll_roll_stop(operation)

def keyroll_roll_close(operation: int):
    """ Closes a roll operation. A roll still running is not cut short (that could leave the object between its
 old and new key): it runs to its end and its outcome is discarded."""
    return c_lib.keyroll_roll_close(operation)

def keyroll_scan_start(connection: int, settings: Sliceu8 | ctypes.Array[ctypes.c_uint8], scan: ctypes.POINTER(ctypes.c_uint64), output: ctypes.POINTER(KeyrollOutput)):
    """ Starts an inventory scan on a connection: `scan` receives its handle. Settings (JSON): `{"types": "all" |
 "application" | "servicePrincipal", "expiringWithinDays": n, "owners": bool, "pageSize": n}`; nothing is read
 yet. The output is `{"scan": <handle>}`."""
    if hasattr(settings, "_length_") and getattr(settings, "_type_", "") == ctypes.c_uint8:
        settings = Sliceu8(data=ctypes.cast(settings, ctypes.POINTER(ctypes.c_uint8)), len=len(settings))

    return c_lib.keyroll_scan_start(connection, settings, scan, output)

def keyroll_scan_next(scan: int, output: ctypes.POINTER(KeyrollOutput)):
    """ Reads the next page (blocks for it): `{"done": false, "collection", "read", "total", "items": [...]}`, or
 `{"done": true, "summary": {...}}` once every collection was read."""
    return c_lib.keyroll_scan_next(scan, output)

def keyroll_scan_close(scan: int):
    """ Closes a scan (nothing is left running: pages are read only when asked for)."""
    return c_lib.keyroll_scan_close(scan)

def keyroll_signer_open_keyvault(connection: int, settings: Sliceu8 | ctypes.Array[ctypes.c_uint8], identity: ctypes.POINTER(ctypes.c_uint64), output: ctypes.POINTER(KeyrollOutput)):
    """ Opens a Key Vault certificate as an identity: `identity` receives its handle, usable wherever an identity
 is taken (connections, proofs, addKey, removeKey, rolls); close it with `keyroll_identity_close`. Settings
 (JSON): `{"certificate": "https://<vault>/certificates/<name>[/<version>]", "vaultAccessToken": "…"}`; the
 vault is reached with the connection's HTTP settings, and with its credential unless a vault token is given.
 The certificate must be issued and enabled, its key RSA of at least 2048 bits and its own. Output: the
 certificate's description with `keyVault: {certificateUrl, vault, name, version, keyUrl}` and `vaultCalls`."""
    if hasattr(settings, "_length_") and getattr(settings, "_type_", "") == ctypes.c_uint8:
        settings = Sliceu8(data=ctypes.cast(settings, ctypes.POINTER(ctypes.c_uint8)), len=len(settings))

    return c_lib.keyroll_signer_open_keyvault(connection, settings, identity, output)

def keyroll_keyvault_create_certificate(connection: int, settings: Sliceu8 | ctypes.Array[ctypes.c_uint8], current: int, output: ctypes.POINTER(KeyrollOutput)):
    """ Creates the next version of a Key Vault certificate and waits until the vault issues it (bounded by
 `maxWaitSecs`, default 120, at most 600). Settings (JSON): `{"certificate": URL, "vaultAccessToken", "subject",
 "keySize", "validityMonths", "maxWaitSecs", "target": {kind, objectId | appId}}`; with `target` and `current`
 (the identity in use now; 0 = none), a latest version already registered on the object is used again, so a
 re-run after a stop creates no second version. Output: the new version's description (as
 `keyroll_signer_open_keyvault`'s) with `source` (`created`, `completed`, `reused`); open it with
 `keyroll_signer_open_keyvault` and its `keyVault.certificateUrl`."""
    if hasattr(settings, "_length_") and getattr(settings, "_type_", "") == ctypes.c_uint8:
        settings = Sliceu8(data=ctypes.cast(settings, ctypes.POINTER(ctypes.c_uint8)), len=len(settings))

    return c_lib.keyroll_keyvault_create_certificate(connection, settings, current, output)

def keyroll_keyvault_roll_versions(connection: int, settings: Sliceu8 | ctypes.Array[ctypes.c_uint8], current: ctypes.POINTER(ctypes.c_uint64), next: ctypes.POINTER(ctypes.c_uint64), output: ctypes.POINTER(KeyrollOutput)):
    """ Both ends of a roll from one version of a Key Vault certificate to its next, for the object of `target`:
 `current` receives the identity of the newest version that is a key of the object, `next` that of the version
 to roll to — one an earlier run left (waited for while the vault issues it, or used again), else one created
 now. Settings (JSON) as `keyroll_keyvault_create_certificate`'s, `target` required. Close both identities
 with `keyroll_identity_close`. Output: `{current, next, source, vaultCalls}` (descriptions as
 `keyroll_signer_open_keyvault`'s; `source`: `created`, `completed`, `reused`)."""
    if hasattr(settings, "_length_") and getattr(settings, "_type_", "") == ctypes.c_uint8:
        settings = Sliceu8(data=ctypes.cast(settings, ctypes.POINTER(ctypes.c_uint8)), len=len(settings))

    return c_lib.keyroll_keyvault_roll_versions(connection, settings, current, next, output)



KEYROLL_ABI_VERSION = 2


TRUE = ctypes.c_uint8(1)
FALSE = ctypes.c_uint8(0)


def _errcheck(returned, success):
    """Checks for FFIErrors and converts them to an exception."""
    if returned == success: return
    else: raise Exception(f"Function returned error: {returned}")


class CallbackVars(object):
    """Helper to be used `lambda x: setattr(cv, "x", x)` when getting values from callbacks."""
    def __str__(self):
        rval = ""
        for var in  filter(lambda x: "__" not in x, dir(self)):
            rval += f"{var}: {getattr(self, var)}"
        return rval


class _Iter(object):
    """Helper for slice iterators."""
    def __init__(self, target):
        self.i = 0
        self.target = target

    def __iter__(self):
        self.i = 0
        return self

    def __next__(self):
        if self.i >= self.target.len:
            raise StopIteration()
        rval = self.target[self.i]
        self.i += 1
        return rval


class KeyrollStatus:
    """ The outcome of a call. On anything but `Ok`, the call's output (when it has one) is the error object as
 JSON: `{kind, code, message, httpStatus?, requestId?, clientRequestId?, aadstsCodes?, issues?, report?}`."""
    #  Success; the output is the result.
    Ok = 0
    #  A required pointer argument was null.
    NullPassed = 1
    #  A bug: a panic inside the library, caught at the boundary. The library stays usable.
    Panic = 2
    #  The input is wrong: invalid UTF-8, too long, bad settings, certificate or password, invalid request.
    InvalidInput = 3
    #  The handle is not (or no longer) open: closed, freed, already taken, or of another kind.
    UnknownHandle = 4
    #  Checked locally and refused before anything was sent: the service would reject it.
    Rejected = 5
    #  The service (Graph or the identity platform) refused.
    ServiceError = 6
    #  The service could not be reached (network, TLS, timeout).
    TransportError = 7
    #  The buffer given to `keyroll_output_take` is shorter than the output; the output is kept.
    BufferTooSmall = 8


class KeyrollOutput(ctypes.Structure):
    """ Where a call's output waits to be copied out: `handle` for `keyroll_output_take` / `keyroll_output_free`,
 and its length in bytes (UTF-8). `handle` is 0 when there is no output."""

    # These fields represent the underlying C data layout
    _fields_ = [
        ("handle", ctypes.c_uint64),
        ("len", ctypes.c_uint64),
    ]

    def __init__(self, handle: int = None, len: int = None):
        if handle is not None:
            self.handle = handle
        if len is not None:
            self.len = len

    @property
    def handle(self) -> int:
        """ The output's handle."""
        return ctypes.Structure.__get__(self, "handle")

    @handle.setter
    def handle(self, value: int):
        """ The output's handle."""
        return ctypes.Structure.__set__(self, "handle", value)

    @property
    def len(self) -> int:
        """ Its length in bytes."""
        return ctypes.Structure.__get__(self, "len")

    @len.setter
    def len(self, value: int):
        """ Its length in bytes."""
        return ctypes.Structure.__set__(self, "len", value)


class Sliceu64(ctypes.Structure):
    # These fields represent the underlying C data layout
    _fields_ = [
        ("data", ctypes.POINTER(ctypes.c_uint64)),
        ("len", ctypes.c_uint64),
    ]

    def __len__(self):
        return self.len

    def __getitem__(self, i) -> int:
        if i < 0:
            index = self.len+i
        else:
            index = i

        if index >= self.len:
            raise IndexError("Index out of range")

        return self.data[index]

    def copied(self) -> Sliceu64:
        """Returns a shallow, owned copy of the underlying slice.

        The returned object owns the immediate data, but not the targets of any contained
        pointers. In other words, if your struct contains any pointers the returned object
        may only be used as long as these pointers are valid. If the struct did not contain
        any pointers the returned object is valid indefinitely."""
        array = (ctypes.c_uint64 * len(self))()
        ctypes.memmove(array, self.data, len(self) * ctypes.sizeof(ctypes.c_uint64))
        rval = Sliceu64(data=ctypes.cast(array, ctypes.POINTER(ctypes.c_uint64)), len=len(self))
        rval.owned = array  # Store array in returned slice to prevent memory deallocation
        return rval

    def __iter__(self) -> typing.Iterable[ctypes.c_uint64]:
        return _Iter(self)

    def iter(self) -> typing.Iterable[ctypes.c_uint64]:
        """Convenience method returning a value iterator."""
        return iter(self)

    def first(self) -> int:
        """Returns the first element of this slice."""
        return self[0]

    def last(self) -> int:
        """Returns the last element of this slice."""
        return self[len(self)-1]


class Sliceu8(ctypes.Structure):
    # These fields represent the underlying C data layout
    _fields_ = [
        ("data", ctypes.POINTER(ctypes.c_uint8)),
        ("len", ctypes.c_uint64),
    ]

    def __len__(self):
        return self.len

    def __getitem__(self, i) -> int:
        if i < 0:
            index = self.len+i
        else:
            index = i

        if index >= self.len:
            raise IndexError("Index out of range")

        return self.data[index]

    def copied(self) -> Sliceu8:
        """Returns a shallow, owned copy of the underlying slice.

        The returned object owns the immediate data, but not the targets of any contained
        pointers. In other words, if your struct contains any pointers the returned object
        may only be used as long as these pointers are valid. If the struct did not contain
        any pointers the returned object is valid indefinitely."""
        array = (ctypes.c_uint8 * len(self))()
        ctypes.memmove(array, self.data, len(self) * ctypes.sizeof(ctypes.c_uint8))
        rval = Sliceu8(data=ctypes.cast(array, ctypes.POINTER(ctypes.c_uint8)), len=len(self))
        rval.owned = array  # Store array in returned slice to prevent memory deallocation
        return rval

    def __iter__(self) -> typing.Iterable[ctypes.c_uint8]:
        return _Iter(self)

    def iter(self) -> typing.Iterable[ctypes.c_uint8]:
        """Convenience method returning a value iterator."""
        return iter(self)

    def first(self) -> int:
        """Returns the first element of this slice."""
        return self[0]

    def last(self) -> int:
        """Returns the last element of this slice."""
        return self[len(self)-1]

    def bytearray(self):
        """Returns a bytearray with the content of this slice."""
        rval = bytearray(len(self))
        for i in range(len(self)):
            rval[i] = self[i]
        return rval


class SliceMutu8(ctypes.Structure):
    # These fields represent the underlying C data layout
    _fields_ = [
        ("data", ctypes.POINTER(ctypes.c_uint8)),
        ("len", ctypes.c_uint64),
    ]

    def __len__(self):
        return self.len

    def __getitem__(self, i) -> int:
        if i < 0:
            index = self.len+i
        else:
            index = i

        if index >= self.len:
            raise IndexError("Index out of range")

        return self.data[index]

    def __setitem__(self, i, v: int):
        if i < 0:
            index = self.len+i
        else:
            index = i

        if index >= self.len:
            raise IndexError("Index out of range")

        self.data[index] = v

    def copied(self) -> SliceMutu8:
        """Returns a shallow, owned copy of the underlying slice.

        The returned object owns the immediate data, but not the targets of any contained
        pointers. In other words, if your struct contains any pointers the returned object
        may only be used as long as these pointers are valid. If the struct did not contain
        any pointers the returned object is valid indefinitely."""
        array = (ctypes.c_uint8 * len(self))()
        ctypes.memmove(array, self.data, len(self) * ctypes.sizeof(ctypes.c_uint8))
        rval = SliceMutu8(data=ctypes.cast(array, ctypes.POINTER(ctypes.c_uint8)), len=len(self))
        rval.owned = array  # Store array in returned slice to prevent memory deallocation
        return rval

    def __iter__(self) -> typing.Iterable[ctypes.c_uint8]:
        return _Iter(self)

    def iter(self) -> typing.Iterable[ctypes.c_uint8]:
        """Convenience method returning a value iterator."""
        return iter(self)

    def first(self) -> int:
        """Returns the first element of this slice."""
        return self[0]

    def last(self) -> int:
        """Returns the last element of this slice."""
        return self[len(self)-1]

    def bytearray(self):
        """Returns a bytearray with the content of this slice."""
        rval = bytearray(len(self))
        for i in range(len(self)):
            rval[i] = self[i]
        return rval




class callbacks:
    """Helpers to define callbacks."""


