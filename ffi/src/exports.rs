//! The exported functions. Each one reads its arguments, calls `keyroll_host`, and stores the answer.
//!
//! Conventions, the same for every function:
//!
//! * Strings are UTF-8 byte slices (pointer + length); a null pointer is an empty string. Settings are JSON.
//! * Results and errors are written to an output: `output` receives its handle and length; copy it out with
//!   `keyroll_output_take` (which frees it) or drop it with `keyroll_output_free`. On success the output is
//!   the result (JSON, or the text of a proof / signing input); otherwise it is the error object (JSON).
//! * Handles (identities, connections, roll operations, outputs) are numbers, never pointers: a closed handle gives
//!   `UnknownHandle`, not a crash. 0 means "none" where a handle is optional.
//! * Every function may be called from many threads at once.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use interoptopus::patterns::slice::{FFISlice, FFISliceMut};
use interoptopus::{ffi_constant, ffi_function};
use keyroll_host::SharedSigner;
use keyroll_host::{self as api, Connection, ExternalSigner, RollOperation};
use keyroll_proto::cert::SigningIdentity;
use keyroll_proto::clock::SystemClock;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::boundary::{
    self, block_on, bytes, in_runtime, json_output, run, run_plain, text, text_output,
    write_handle, Failure, KeyrollOutput, KeyrollStatus, Shared, Table, OUTPUTS,
};

/// Signing identities: a certificate with its key in this library, or (later handles) a key held elsewhere; every
/// call that takes an identity handle signs through [`Signer`], wherever the key is.
pub(crate) static IDENTITIES: LazyLock<Table<SharedSigner>> =
    LazyLock::new(|| Table::new("identity"));
pub(crate) static CONNECTIONS: LazyLock<Table<Shared<Connection>>> =
    LazyLock::new(|| Table::new("connection"));
/// Device-code sign-ins between their start and the end of their wait.
static DEVICE_SIGN_INS: LazyLock<Table<Shared<api::DeviceCodeSignIn>>> =
    LazyLock::new(|| Table::new("device-code sign-in"));
/// The identities whose keys the host holds (`keyroll_signer_open_external`), by identity handle: their
/// signature requests are waited for and answered through these.
static EXTERNAL: LazyLock<Mutex<HashMap<u64, Arc<ExternalSigner>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
/// The connections that sign in with a key the host holds, by connection handle: their roll operations list
/// that signer's requests too.
static CONNECTION_SIGNERS: LazyLock<Mutex<HashMap<u64, Arc<ExternalSigner>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while holding these locks; the maps stay consistent if something ever did.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The external signers among `identities` (0 and local keys are skipped), each once.
fn externals(identities: impl IntoIterator<Item = u64>) -> Vec<Arc<ExternalSigner>> {
    let map = lock(&EXTERNAL);
    let mut out: Vec<Arc<ExternalSigner>> = Vec::new();
    for h in identities {
        if let Some(s) = map.get(&h) {
            if !out.iter().any(|o| Arc::ptr_eq(o, s)) {
                out.push(s.clone());
            }
        }
    }
    out
}

/// The external signer of a connection, if it signs in with one.
fn connection_signer(connection: u64) -> Vec<Arc<ExternalSigner>> {
    lock(&CONNECTION_SIGNERS)
        .get(&connection)
        .cloned()
        .into_iter()
        .collect()
}

static ROLLS: LazyLock<Table<Shared<RollOperation>>> =
    LazyLock::new(|| Table::new("roll operation"));

/// The version of this ABI: it changes only when a function's signature or meaning does. Exported into the
/// generated bindings (`KEYROLL_ABI_VERSION`), so a binding assembly built from them expects exactly the ABI of
/// the library it was generated with, and no host keeps a copy of the number by hand.
#[ffi_constant]
pub const KEYROLL_ABI_VERSION: u32 = 2;

/// The same number under the name Rust callers use.
pub const ABI_VERSION: u32 = KEYROLL_ABI_VERSION;

/// Library and ABI version, and the environment variables a host passes for credentials:
/// `{"version": "…", "abi": N, "environment": ["AZURE_TENANT_ID", …], "clouds": [{"name", "aliases"}]}`.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_info(output: *mut KeyrollOutput) -> KeyrollStatus {
    run(output, || {
        json_output(&serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "abi": ABI_VERSION,
            // The variables a host passes in the connection settings' `environment` (the library reads no
            // environment of its own for credentials): named here so that no host keeps a copy of the list.
            "environment": keyroll_host::CREDENTIAL_ENVIRONMENT,
            // The clouds by name (Connect-MgGraph's first), for a host's completion and its messages.
            "clouds": keyroll_host::clouds(),
        }))
    })
}

/// Copies an output into `buffer` (at least the output's length) and frees it. A buffer that is too short
/// gives `BufferTooSmall` and keeps the output; a length above `isize::MAX` (no real buffer) gives
/// `InvalidInput` and keeps the output.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_output_take(handle: u64, buffer: FFISliceMut<u8>) -> KeyrollStatus {
    run_plain(|| boundary::take_output(handle, buffer))
}

/// Frees an output without reading it.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_output_free(handle: u64) -> KeyrollStatus {
    run_plain(|| OUTPUTS.remove(handle).map(drop))
}

/// Opens a signing identity (certificate + RSA private key) from the bytes of a PFX/P12 or PEM file. An
/// empty password means none. `identity` receives the handle; the output describes the certificate.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_identity_open(
    data: FFISlice<u8>,
    password: FFISlice<u8>,
    identity: *mut u64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let data = bytes("data", &data)?;
        let password = Zeroizing::new(text("password", &password)?.to_owned());
        opened(identity, api::open_identity(data, &password)?)
    })
}

/// Opens a signing identity from a PFX/P12 or PEM file (path in UTF-8).
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_identity_open_file(
    path: FFISlice<u8>,
    password: FFISlice<u8>,
    identity: *mut u64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let path = text("path", &path)?;
        let password = Zeroizing::new(text("password", &password)?.to_owned());
        opened(identity, api::open_identity_file(path, &password)?)
    })
}

fn opened(handle: *mut u64, identity: SigningIdentity) -> boundary::Outcome {
    if handle.is_null() {
        return Err(Failure::null("identity"));
    }
    let description = api::describe_certificate(identity.certificate());
    let signer: SharedSigner = Arc::new(identity);
    write_handle("identity", handle, IDENTITIES.insert(signer))?;
    json_output(&description)
}

/// Closes a signing identity. Its key is wiped once no call in flight uses it any more.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_identity_close(identity: u64) -> KeyrollStatus {
    run_plain(|| {
        IDENTITIES.remove(identity)?;
        lock(&EXTERNAL).remove(&identity);
        Ok(())
    })
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
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_signer_open_external(
    certificate: FFISlice<u8>,
    timeout_secs: u32,
    identity: *mut u64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        if identity.is_null() {
            return Err(Failure::null("identity"));
        }
        let timeout = Duration::from_secs(u64::from(timeout_secs));
        let signer = ExternalSigner::open(bytes("certificate", &certificate)?, Some(timeout))?;
        let description = api::describe_certificate(api::Signer::certificate(signer.as_ref()));
        let handle = IDENTITIES.insert(signer.clone() as SharedSigner);
        signer.set_handle(handle);
        lock(&EXTERNAL).insert(handle, signer);
        write_handle("identity", identity, handle)?;
        json_output(&description)
    })
}

/// Waits at most `timeout_ms` milliseconds for a signature request of one of the external identities in
/// `signers` (their handles) and answers the oldest: `{id, signer, purpose, input, algorithm, thumbprint, x5t,
/// x5tS256}` (`signer` is its identity handle, `purpose` `clientAssertion` or `proof`, `input` the base64 of
/// the exact bytes to sign), or `null` when none came. A request stays waiting until it is answered, refused
/// or times out, so a second wait before the answer returns it again. Blocks only the calling thread: run the
/// blocking call (keys list, key add, ...) on another.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_signer_wait(
    signers: FFISlice<u64>,
    timeout_ms: i64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let handles = signers.as_slice();
        let list = externals(handles.iter().copied());
        if list.len() != handles.iter().filter(|h| **h != 0).count() {
            let unknown = handles
                .iter()
                .find(|h| **h != 0 && externals([**h]).is_empty())
                .copied()
                .unwrap_or(0);
            return Err(Failure::Boundary(
                boundary::KeyrollStatus::UnknownHandle,
                "unknown_handle",
                format!(
                    "{unknown} is not an open identity whose key the host holds (open one with \
                     keyroll_signer_open_external)"
                ),
            ));
        }
        let timeout = Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(0));
        let request = ExternalSigner::wait_any(&list, timeout).map(|(_, r)| r);
        json_output(&request.unwrap_or(serde_json::Value::Null))
    })
}

fn external(identity: u64) -> Result<Arc<ExternalSigner>, Failure> {
    externals([identity]).pop().ok_or_else(|| {
        Failure::Boundary(
            boundary::KeyrollStatus::UnknownHandle,
            "unknown_handle",
            format!(
                "{identity} is not an open identity whose key the host holds (closed already, or a key in \
                 this library)"
            ),
        )
    })
}

/// Answers signature request `request` of the external identity `signer` with `signature`, the RS256
/// signature (raw bytes) the host's key made over the request's input. The operation that asked checks it
/// against the certificate. A request answered, refused or timed out already gives `InvalidInput`.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_signature_answer(
    signer: u64,
    request: u64,
    signature: FFISlice<u8>,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let signer = external(signer)?;
        signer.answer(request, bytes("signature", &signature)?.to_vec())?;
        json_output(&serde_json::json!({ "answered": request }))
    })
}

/// Refuses signature request `request` of the external identity `signer`: the operation that asked fails with
/// code `signer_refused` and `message` (the key store's words, e.g. its exception text; never key material).
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_signature_refuse(
    signer: u64,
    request: u64,
    message: FFISlice<u8>,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let signer = external(signer)?;
        signer.refuse(request, text("message", &message)?)?;
        json_output(&serde_json::json!({ "refused": request }))
    })
}

/// Mints a proof of possession for `addKey` / `removeKey`: signed by `identity`, for the object id, valid
/// `lifetime_secs` (0 = 600, the maximum), for `audience` (empty = Graph's). The output is the proof (text).
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_proof_mint(
    identity: u64,
    object_id: FFISlice<u8>,
    lifetime_secs: i64,
    audience: FFISlice<u8>,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let identity = IDENTITIES.get(identity)?;
        let object_id = text("object_id", &object_id)?;
        let audience = text("audience", &audience)?;
        let proof = block_on(api::mint_proof(
            identity.as_ref(),
            object_id,
            lifetime_secs,
            audience,
            OffsetDateTime::now_utc(),
        ))?;
        text_output(proof.into_string())
    })
}

/// Inspects a proof: every reason the service would reject it. `settings` (JSON, may be empty):
/// `{certificates: [base64 or PEM], objectId, appId, audience, clockSkewSecs}` (clockSkewSecs defaults to the
/// service's 60, as the emulator and the client judge). The output is the report.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_proof_inspect(
    proof: FFISlice<u8>,
    settings: FFISlice<u8>,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let proof = text("proof", &proof)?;
        let settings = api::from_json("inspect settings", bytes("settings", &settings)?)?;
        json_output(&api::inspect_proof(
            proof,
            &settings,
            OffsetDateTime::now_utc(),
        )?)
    })
}

/// First phase of signing with a key that cannot leave its store: the exact `header.payload` text to sign
/// with RS256, for the public certificate (DER, PEM or base64), object id, lifetime (0 = 600) and audience.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_proof_signing_input(
    certificate: FFISlice<u8>,
    object_id: FFISlice<u8>,
    lifetime_secs: i64,
    audience: FFISlice<u8>,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let input = api::signing_input(
            bytes("certificate", &certificate)?,
            text("object_id", &object_id)?,
            lifetime_secs,
            text("audience", &audience)?,
            OffsetDateTime::now_utc(),
        )?;
        text_output(input)
    })
}

/// Second phase: the finished proof from the signing input and the RS256 signature made elsewhere (raw
/// bytes), after checking the signature against the certificate.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_proof_assemble(
    signing_input: FFISlice<u8>,
    signature: FFISlice<u8>,
    certificate: FFISlice<u8>,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let proof = api::assemble_proof(
            text("signing_input", &signing_input)?,
            bytes("signature", &signature)?,
            bytes("certificate", &certificate)?,
        )?;
        text_output(proof.into_string())
    })
}

/// Builds and validates a `keyCredential` from a public certificate (DER, PEM, base64, or a PFX/PEM bundle
/// of which only the certificate is used). `settings` (JSON, may be empty): `{displayName, startDateTime,
/// endDateTime, customKeyIdentifier}`. Output: `{keyCredential, thumbprint, warnings, notice}`.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_key_credential(
    certificate: FFISlice<u8>,
    settings: FFISlice<u8>,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let settings = api::from_json("key credential settings", bytes("settings", &settings)?)?;
        json_output(&api::key_credential(
            bytes("certificate", &certificate)?,
            &settings,
        )?)
    })
}

/// Opens a connection to the service. `settings` (JSON): `{cloud, graphUrl, loginUrl, apiVersion, caFile,
/// caPem, proxy, timeoutSecs, accessToken, tenantId, clientId, managedIdentity, environment: {NAME: value}}`.
/// `identity` (0 = none) authenticates as the app with `tenantId` + `clientId`. Nothing is sent yet. The
/// output describes the connection (no secrets).
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_connect(
    settings: FFISlice<u8>,
    identity: u64,
    connection: *mut u64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        if connection.is_null() {
            return Err(Failure::null("connection"));
        }
        let settings: api::ConnectionSettings =
            api::from_json("connection settings", bytes("settings", &settings)?)?;
        let external = externals([identity]).pop();
        let identity = IDENTITIES.get_optional(identity)?;
        let conn = Connection::open(&settings, identity, Arc::new(SystemClock))?;
        let description = conn.describe();
        let handle = CONNECTIONS.insert(Arc::new(conn));
        if let Some(signer) = external {
            lock(&CONNECTION_SIGNERS).insert(handle, signer);
        }
        write_handle("connection", connection, handle)?;
        json_output(&description)
    })
}

/// Starts a delegated sign-in by device code (no callback: the host shows the answer, then calls
/// `keyroll_device_code_wait`). `settings` (JSON): the connection settings with `tenantId`, `clientId` (a public
/// client; Microsoft Graph Command Line Tools when absent), `scopes`, `tokenCache`. Output: `{pending: true,
/// userCode, verificationUri, message, expiresOn, intervalSecs}` when the user must act, `{pending: false, user}`
/// when the cached sign-in is usable. `sign_in` receives the handle for the wait (or the cancel).
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_device_code_start(
    settings: FFISlice<u8>,
    sign_in: *mut u64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        if sign_in.is_null() {
            return Err(Failure::null("sign_in"));
        }
        let settings: api::ConnectionSettings =
            api::from_json("connection settings", bytes("settings", &settings)?)?;
        let (started, answer) = block_on(api::DeviceCodeSignIn::start(
            &settings,
            Arc::new(SystemClock),
        ))?;
        let handle = DEVICE_SIGN_INS.insert(Arc::new(started));
        write_handle("sign_in", sign_in, handle)?;
        json_output(&answer)
    })
}

/// Waits (blocking) until the user approved the code (`connection` receives the connection's handle), declined
/// it, let it expire, or `keyroll_device_code_cancel` stopped the wait. The sign-in handle is closed either way.
/// Output: the connection's description.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_device_code_wait(
    sign_in: u64,
    connection: *mut u64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        if connection.is_null() {
            return Err(Failure::null("connection"));
        }
        let started = DEVICE_SIGN_INS.get(sign_in)?;
        let result = block_on(started.wait(Arc::new(SystemClock)));
        let _ = DEVICE_SIGN_INS.remove(sign_in);
        let conn = result?;
        let description = conn.describe();
        let handle = CONNECTIONS.insert(Arc::new(conn));
        write_handle("connection", connection, handle)?;
        json_output(&description)
    })
}

/// Stops a `keyroll_device_code_wait` in progress on another thread (it answers a cancelled sign-in), or
/// abandons a sign-in never waited for.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_device_code_cancel(sign_in: u64) -> KeyrollStatus {
    run_plain(|| {
        DEVICE_SIGN_INS.get(sign_in)?.cancel();
        Ok(())
    })
}

/// Signs out: removes the cached delegated sign-ins of the login host `settings` names, narrowed to its
/// `tenantId`, `clientId` and `scopes` when given (every one with `all` = 1). Output: `{removed, tokenCache}`.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_sign_out(
    settings: FFISlice<u8>,
    all: u8,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let settings: api::ConnectionSettings =
            api::from_json("connection settings", bytes("settings", &settings)?)?;
        json_output(&api::sign_out(&settings, all != 0)?)
    })
}

/// Closes a connection.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_disconnect(connection: u64) -> KeyrollStatus {
    run_plain(|| {
        CONNECTIONS.remove(connection)?;
        lock(&CONNECTION_SIGNERS).remove(&connection);
        Ok(())
    })
}

/// Lists an object's key credentials. `target` (JSON): `{kind, objectId | appId}`; `signer` (0 = none)
/// marks the caller's certificate. Output: `{id, appId, keys: [...]}`.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_keys_list(
    connection: u64,
    target: FFISlice<u8>,
    signer: u64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let conn = CONNECTIONS.get(connection)?;
        let target = api::from_json("target", bytes("target", &target)?)?;
        let signer = IDENTITIES.get_optional(signer)?;
        json_output(&block_on(conn.list_keys(&target, signer.as_deref()))?)
    })
}

/// `addKey`. `settings` (JSON): `{target, certificate | certificateFile, displayName, startDateTime,
/// endDateTime, customKeyIdentifier, proof}`; without `proof`, one is minted with `signer` (a current
/// certificate of the object). Output: `{keyId, thumbprint, recovered, attempts, keyCredential, warnings}`.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_key_add(
    connection: u64,
    settings: FFISlice<u8>,
    signer: u64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let conn = CONNECTIONS.get(connection)?;
        let settings = api::from_json("addKey settings", bytes("settings", &settings)?)?;
        let signer = IDENTITIES.get_optional(signer)?;
        json_output(&block_on(conn.add_key(&settings, signer.as_deref()))?)
    })
}

/// Repair of an object with no valid certificate: the new certificate by PATCH of the whole keyCredentials,
/// every existing key kept. `settings` (JSON): addKey's without `proof` and `passwordCredential`. Needs a sign-in
/// holding Application.ReadWrite.All. Output: `{keyId, thumbprint, keyCredential, kept, keysBefore, keysAfter,
/// restarts, recovered, warnings, retries}`.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_key_repair(
    connection: u64,
    settings: FFISlice<u8>,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let conn = CONNECTIONS.get(connection)?;
        let settings = api::from_json("repair settings", bytes("settings", &settings)?)?;
        json_output(&block_on(conn.repair_key(&settings))?)
    })
}

/// `removeKey`. `settings` (JSON): `{target, keyId, proof}`; without `proof`, one is minted with `signer`.
/// Output: `{keyId, removed}`.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_key_remove(
    connection: u64,
    settings: FFISlice<u8>,
    signer: u64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let conn = CONNECTIONS.get(connection)?;
        let settings = api::from_json("removeKey settings", bytes("settings", &settings)?)?;
        let signer = IDENTITIES.get_optional(signer)?;
        json_output(&block_on(conn.remove_key(&settings, signer.as_deref()))?)
    })
}

/// `addPassword`: a new client secret, generated by the service. `settings` (JSON): `{target, displayName,
/// startDateTime, endDateTime}`. Output: `{keyId, objectId, passwordCredential, secretText, attempts,
/// orphansRemoved, warnings, retries}`; `secretText` is the secret, returned this once.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_password_add(
    connection: u64,
    settings: FFISlice<u8>,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let conn = CONNECTIONS.get(connection)?;
        let settings = api::from_json("addPassword settings", bytes("settings", &settings)?)?;
        json_output(&block_on(conn.add_password(&settings))?)
    })
}

/// `removePassword`. `settings` (JSON): `{target, keyId}`. Output: `{keyId, removed}`.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_password_remove(
    connection: u64,
    settings: FFISlice<u8>,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let conn = CONNECTIONS.get(connection)?;
        let settings = api::from_json("removePassword settings", bytes("settings", &settings)?)?;
        json_output(&block_on(conn.remove_password(&settings))?)
    })
}

/// Rolls an object from the `current` identity to the `next` one: add, verify, optionally remove the old key.
/// `settings` (JSON): `{target, displayName, removeOld, tenantId, clientId, verifyTimeoutSecs}`. Output: the
/// roll report; a roll that does not complete is an error whose object carries the report.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_roll(
    connection: u64,
    settings: FFISlice<u8>,
    current: u64,
    next: u64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let conn = CONNECTIONS.get(connection)?;
        let settings = api::from_json("roll settings", bytes("settings", &settings)?)?;
        let current = IDENTITIES.get(current)?;
        let next = IDENTITIES.get(next)?;
        json_output(&block_on(conn.roll(&settings, current, next))?)
    })
}

/// Starts the roll of `keyroll_roll` in the background and returns at once: `operation` receives its handle,
/// for `keyroll_roll_poll` and `keyroll_roll_close`. Settings and handles are checked before anything starts
/// (their errors are this call's). The output is `{"operation": <handle>}`.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_roll_start(
    connection: u64,
    settings: FFISlice<u8>,
    current: u64,
    next: u64,
    operation: *mut u64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        if operation.is_null() {
            return Err(Failure::null("operation"));
        }
        let conn = CONNECTIONS.get(connection)?;
        let settings = api::from_json("roll settings", bytes("settings", &settings)?)?;
        let mut signers = connection_signer(connection);
        signers.extend(externals([current, next]));
        let current = IDENTITIES.get(current)?;
        let next = IDENTITIES.get(next)?;
        let started =
            in_runtime(|| conn.start_roll(&settings, current, next))?.with_signers(signers);
        let handle = ROLLS.insert(Arc::new(started));
        write_handle("operation", operation, handle)?;
        json_output(&serde_json::json!({ "operation": handle }))
    })
}

/// What a background roll has done since the last poll (never blocks): `{done, events: [step messages since
/// the last poll], waiting: {attempt, seconds} | null, report, signatures}`; `signatures` lists the requests
/// waiting for keys the host holds (see `keyroll_signer_open_external`), each until it is answered. Once `done`, `report` is what `keyroll_roll`
/// answers: the roll report, or the error object (carrying the report of an incomplete roll). The status is
/// `Ok` whenever the poll itself worked, whatever the roll's outcome.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_roll_poll(operation: u64, output: *mut KeyrollOutput) -> KeyrollStatus {
    run(output, || json_output(&ROLLS.get(operation)?.poll()))
}

/// Waits at most `timeout_ms` milliseconds for a background roll (or bulk operation) to make progress — a step,
/// a new waiting state, a row's end, a signature request for a key the host holds, the end — then answers what `keyroll_roll_poll` answers. Returns at once
/// when something happened since the last poll or the operation has ended, so a host waiting in a loop hears of
/// the end the moment it comes. Blocks only the calling thread. A negative timeout is 0 (a poll).
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_roll_wait(
    operation: u64,
    timeout_ms: i64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let op = ROLLS.get(operation)?;
        let timeout = Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(0));
        json_output(&op.wait(timeout))
    })
}

/// Starts many rolls as one background operation over the connection's shared throttle: `settings` (JSON)
/// `{rows: [{roll: <the settings of keyroll_roll>, current: <identity handle>, next: <identity handle>}],
/// concurrency}`. `operation` receives its handle, for `keyroll_roll_wait` / `keyroll_roll_poll` (which then
/// add `rows`, each row's report as it ends, and `progress`) and `keyroll_roll_close`. Every row's settings and
/// handles are checked before anything starts. The output is `{"operation": <handle>, "rows": N}`.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_bulk_start(
    connection: u64,
    settings: FFISlice<u8>,
    operation: *mut u64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        if operation.is_null() {
            return Err(Failure::null("operation"));
        }
        let conn = CONNECTIONS.get(connection)?;
        let settings: api::BulkSettings =
            api::from_json("bulk settings", bytes("settings", &settings)?)?;
        let identities = settings
            .rows
            .iter()
            .map(|row| Ok((IDENTITIES.get(row.current)?, IDENTITIES.get(row.next)?)))
            .collect::<Result<Vec<_>, Failure>>()?;
        let rows = identities.len();
        let mut signers = connection_signer(connection);
        signers.extend(externals(
            settings.rows.iter().flat_map(|row| [row.current, row.next]),
        ));
        let started = in_runtime(|| conn.start_bulk(&settings, identities))?.with_signers(signers);
        let handle = ROLLS.insert(Arc::new(started));
        write_handle("operation", operation, handle)?;
        json_output(&serde_json::json!({ "operation": handle, "rows": rows }))
    })
}

/// Stops a bulk operation: rows not yet started end `notStarted`, rows in flight finish; wait on it for the
/// end as usual. A single roll is not stopped (cut short, it could leave the object between its old and new
/// key): it runs to its end.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_roll_stop(operation: u64) -> KeyrollStatus {
    run_plain(|| {
        ROLLS.get(operation)?.stop();
        Ok(())
    })
}

/// Closes a roll operation. A roll still running is not cut short (that could leave the object between its
/// old and new key): it runs to its end and its outcome is discarded.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_roll_close(operation: u64) -> KeyrollStatus {
    run_plain(|| ROLLS.remove(operation).map(drop))
}

/// Test support, not part of the bindings and not for normal use: panics inside core on the runtime, so that
/// a host's test suite can prove that a panic surfaces as status `Panic` with an error object and that the
/// library keeps working afterwards. Declared by hand where a test needs it.
#[no_mangle]
pub extern "C" fn keyroll_test_panic(output: *mut KeyrollOutput) -> KeyrollStatus {
    run(output, || json_output(&block_on(api::panic_for_test())?))
}
