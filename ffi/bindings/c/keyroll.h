// keyroll native library bindings — generated from ffi/src by `KEYROLL_UPDATE_BINDINGS=1 cargo test -p keyroll-ffi --test bindings`; do not edit

#ifndef KEYROLL_H
#define KEYROLL_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stdint.h>
#include <stdbool.h>



/// The version of this ABI: it changes only when a function's signature or meaning does. Exported into the
/// generated bindings (`KEYROLL_ABI_VERSION`), so a binding assembly built from them expects exactly the ABI of
/// the library it was generated with, and no host keeps a copy of the number by hand.
const uint32_t KEYROLL_ABI_VERSION = 2;

/// The outcome of a call. On anything but `Ok`, the call's output (when it has one) is the error object as
/// JSON: `{kind, code, message, httpStatus?, requestId?, clientRequestId?, aadstsCodes?, issues?, report?}`.
typedef enum keyrollstatus
    {
    /// Success; the output is the result.
    KEYROLLSTATUS_OK = 0,
    /// A required pointer argument was null.
    KEYROLLSTATUS_NULLPASSED = 1,
    /// A bug: a panic inside the library, caught at the boundary. The library stays usable.
    KEYROLLSTATUS_PANIC = 2,
    /// The input is wrong: invalid UTF-8, too long, bad settings, certificate or password, invalid request.
    KEYROLLSTATUS_INVALIDINPUT = 3,
    /// The handle is not (or no longer) open: closed, freed, already taken, or of another kind.
    KEYROLLSTATUS_UNKNOWNHANDLE = 4,
    /// Checked locally and refused before anything was sent: the service would reject it.
    KEYROLLSTATUS_REJECTED = 5,
    /// The service (Graph or the identity platform) refused.
    KEYROLLSTATUS_SERVICEERROR = 6,
    /// The service could not be reached (network, TLS, timeout).
    KEYROLLSTATUS_TRANSPORTERROR = 7,
    /// The buffer given to `keyroll_output_take` is shorter than the output; the output is kept.
    KEYROLLSTATUS_BUFFERTOOSMALL = 8,
    } keyrollstatus;

/// Where a call's output waits to be copied out: `handle` for `keyroll_output_take` / `keyroll_output_free`,
/// and its length in bytes (UTF-8). `handle` is 0 when there is no output.
typedef struct keyrolloutput
    {
    /// The output's handle.
    uint64_t handle;
    /// Its length in bytes.
    uint64_t len;
    } keyrolloutput;

///A pointer to an array of data someone else owns which may not be modified.
typedef struct sliceu64
    {
    ///Pointer to start of immutable data.
    const uint64_t* data;
    ///Number of elements.
    uint64_t len;
    } sliceu64;

///A pointer to an array of data someone else owns which may not be modified.
typedef struct sliceu8
    {
    ///Pointer to start of immutable data.
    const uint8_t* data;
    ///Number of elements.
    uint64_t len;
    } sliceu8;

///A pointer to an array of data someone else owns which may be modified.
typedef struct slicemutu8
    {
    ///Pointer to start of mutable data.
    const uint8_t* data;
    ///Number of elements.
    uint64_t len;
    } slicemutu8;


/// Library and ABI version, and the environment variables a host passes for credentials:
/// `{"version": "…", "abi": N, "environment": ["AZURE_TENANT_ID", …], "clouds": [{"name", "aliases"}]}`.
keyrollstatus keyroll_info(keyrolloutput* output);

/// Copies an output into `buffer` (at least the output's length) and frees it. A buffer that is too short
/// gives `BufferTooSmall` and keeps the output; a length above `isize::MAX` (no real buffer) gives
/// `InvalidInput` and keeps the output.
keyrollstatus keyroll_output_take(uint64_t handle, slicemutu8 buffer);

/// Frees an output without reading it.
keyrollstatus keyroll_output_free(uint64_t handle);

/// Opens a signing identity (certificate + RSA private key) from the bytes of a PFX/P12 or PEM file. An
/// empty password means none. `identity` receives the handle; the output describes the certificate.
keyrollstatus keyroll_identity_open(sliceu8 data, sliceu8 password, uint64_t* identity, keyrolloutput* output);

/// Opens a signing identity from a PFX/P12 or PEM file (path in UTF-8).
keyrollstatus keyroll_identity_open_file(sliceu8 path, sliceu8 password, uint64_t* identity, keyrolloutput* output);

/// Closes a signing identity. Its key is wiped once no call in flight uses it any more.
keyrollstatus keyroll_identity_close(uint64_t identity);

/// Opens an identity whose key the host holds and never hands over (a Windows certificate store key that
/// will not be exported, a smart card): `certificate` is the public certificate (DER, PEM or base64, RSA),
/// `timeout_secs` how long each signature request waits for the host (0 = 120). The handle is an identity
/// handle like any other (connect, key add/remove, proof mint, roll, bulk). Whenever the library needs a
/// signature it queues a request and waits: a background roll lists it in its poll/wait answers
/// (`signatures`) and its wait returns at once; while a blocking call runs on one thread, another thread
/// waits for requests with `keyroll_signer_wait`. Either way the host signs the request's `input` (base64)
/// with RSASSA-PKCS1-v1_5 SHA-256 and answers with `keyroll_signature_answer`, or refuses with
/// `keyroll_signature_refuse`. No function calls into the host. The output describes the certificate.
keyrollstatus keyroll_signer_open_external(sliceu8 certificate, uint32_t timeout_secs, uint64_t* identity, keyrolloutput* output);

/// Waits at most `timeout_ms` milliseconds for a signature request of one of the external identities in
/// `signers` (their handles) and answers the oldest: `{id, signer, purpose, input, algorithm, thumbprint, x5t,
/// x5tS256}` (`signer` is its identity handle, `purpose` `clientAssertion` or `proof`, `input` the base64 of
/// the exact bytes to sign), or `null` when none came. A request stays waiting until it is answered, refused
/// or times out, so a second wait before the answer returns it again. Blocks only the calling thread: run the
/// blocking call (keys list, key add, ...) on another.
keyrollstatus keyroll_signer_wait(sliceu64 signers, int64_t timeout_ms, keyrolloutput* output);

/// Answers signature request `request` of the external identity `signer` with `signature`, the RS256
/// signature (raw bytes) the host's key made over the request's input. The operation that asked checks it
/// against the certificate. A request answered, refused or timed out already gives `InvalidInput`.
keyrollstatus keyroll_signature_answer(uint64_t signer, uint64_t request, sliceu8 signature, keyrolloutput* output);

/// Refuses signature request `request` of the external identity `signer`: the operation that asked fails with
/// code `signer_refused` and `message` (the key store's words, e.g. its exception text; never key material).
keyrollstatus keyroll_signature_refuse(uint64_t signer, uint64_t request, sliceu8 message, keyrolloutput* output);

/// Mints a proof of possession for `addKey` / `removeKey`: signed by `identity`, for the object id, valid
/// `lifetime_secs` (0 = 600, the maximum), for `audience` (empty = Graph's). The output is the proof (text).
keyrollstatus keyroll_proof_mint(uint64_t identity, sliceu8 object_id, int64_t lifetime_secs, sliceu8 audience, keyrolloutput* output);

/// Inspects a proof: every reason the service would reject it. `settings` (JSON, may be empty):
/// `{certificates: [base64 or PEM], objectId, appId, audience, clockSkewSecs}` (clockSkewSecs defaults to the
/// service's 60, as the emulator and the client judge). The output is the report.
keyrollstatus keyroll_proof_inspect(sliceu8 proof, sliceu8 settings, keyrolloutput* output);

/// First phase of signing with a key that cannot leave its store: the exact `header.payload` text to sign
/// with RS256, for the public certificate (DER, PEM or base64), object id, lifetime (0 = 600) and audience.
keyrollstatus keyroll_proof_signing_input(sliceu8 certificate, sliceu8 object_id, int64_t lifetime_secs, sliceu8 audience, keyrolloutput* output);

/// Second phase: the finished proof from the signing input and the RS256 signature made elsewhere (raw
/// bytes), after checking the signature against the certificate.
keyrollstatus keyroll_proof_assemble(sliceu8 signing_input, sliceu8 signature, sliceu8 certificate, keyrolloutput* output);

/// Builds and validates a `keyCredential` from a public certificate (DER, PEM, base64, or a PFX/PEM bundle
/// of which only the certificate is used). `settings` (JSON, may be empty): `{displayName, startDateTime,
/// endDateTime, customKeyIdentifier}`. Output: `{keyCredential, thumbprint, warnings, notice}`.
keyrollstatus keyroll_key_credential(sliceu8 certificate, sliceu8 settings, keyrolloutput* output);

/// Opens a connection to the service. `settings` (JSON): `{cloud, graphUrl, loginUrl, apiVersion, caFile,
/// caPem, proxy, timeoutSecs, accessToken, tenantId, clientId, managedIdentity, environment: {NAME: value}}`.
/// `identity` (0 = none) authenticates as the app with `tenantId` + `clientId`. Nothing is sent yet. The
/// output describes the connection (no secrets).
keyrollstatus keyroll_connect(sliceu8 settings, uint64_t identity, uint64_t* connection, keyrolloutput* output);

/// Closes a connection.
keyrollstatus keyroll_disconnect(uint64_t connection);

/// Starts a delegated sign-in by device code (no callback: the host shows the answer, then calls
/// `keyroll_device_code_wait`). `settings` (JSON): the connection settings with `tenantId`, `clientId` (a public
/// client; Microsoft Graph Command Line Tools when absent), `scopes`, `tokenCache`. Output: `{pending: true,
/// userCode, verificationUri, message, expiresOn, intervalSecs}` when the user must act, `{pending: false, user}`
/// when the cached sign-in is usable. `sign_in` receives the handle for the wait (or the cancel).
keyrollstatus keyroll_device_code_start(sliceu8 settings, uint64_t* sign_in, keyrolloutput* output);

/// Waits (blocking) until the user approved the code (`connection` receives the connection's handle), declined
/// it, let it expire, or `keyroll_device_code_cancel` stopped the wait. The sign-in handle is closed either way.
/// Output: the connection's description.
keyrollstatus keyroll_device_code_wait(uint64_t sign_in, uint64_t* connection, keyrolloutput* output);

/// Stops a `keyroll_device_code_wait` in progress on another thread (it answers a cancelled sign-in), or
/// abandons a sign-in never waited for.
keyrollstatus keyroll_device_code_cancel(uint64_t sign_in);

/// Signs out: removes the cached delegated sign-ins of the login host `settings` names, narrowed to its
/// `tenantId`, `clientId` and `scopes` when given (every one with `all` = 1). Output: `{removed, tokenCache}`.
keyrollstatus keyroll_sign_out(sliceu8 settings, uint8_t all, keyrolloutput* output);

/// Lists an object's key credentials. `target` (JSON): `{kind, objectId | appId}`; `signer` (0 = none)
/// marks the caller's certificate. Output: `{id, appId, keys: [...]}`.
keyrollstatus keyroll_keys_list(uint64_t connection, sliceu8 target, uint64_t signer, keyrolloutput* output);

/// `addKey`. `settings` (JSON): `{target, certificate | certificateFile, displayName, startDateTime,
/// endDateTime, customKeyIdentifier, proof}`; without `proof`, one is minted with `signer` (a current
/// certificate of the object). Output: `{keyId, thumbprint, recovered, attempts, keyCredential, warnings}`.
keyrollstatus keyroll_key_add(uint64_t connection, sliceu8 settings, uint64_t signer, keyrolloutput* output);

/// `removeKey`. `settings` (JSON): `{target, keyId, proof}`; without `proof`, one is minted with `signer`.
/// Output: `{keyId, removed}`.
keyrollstatus keyroll_key_remove(uint64_t connection, sliceu8 settings, uint64_t signer, keyrolloutput* output);

/// Repair of an object with no valid certificate: the new certificate by PATCH of the whole keyCredentials,
/// every existing key kept. `settings` (JSON): addKey's without `proof` and `passwordCredential`. Needs a sign-in
/// holding Application.ReadWrite.All. Output: `{keyId, thumbprint, keyCredential, kept, keysBefore, keysAfter,
/// restarts, recovered, warnings, retries}`.
keyrollstatus keyroll_key_repair(uint64_t connection, sliceu8 settings, keyrolloutput* output);

/// `addPassword`: a new client secret, generated by the service. `settings` (JSON): `{target, displayName,
/// startDateTime, endDateTime}`. Output: `{keyId, objectId, passwordCredential, secretText, attempts,
/// orphansRemoved, warnings, retries}`; `secretText` is the secret, returned this once.
keyrollstatus keyroll_password_add(uint64_t connection, sliceu8 settings, keyrolloutput* output);

/// `removePassword`. `settings` (JSON): `{target, keyId}`. Output: `{keyId, removed}`.
keyrollstatus keyroll_password_remove(uint64_t connection, sliceu8 settings, keyrolloutput* output);

/// Rolls an object from the `current` identity to the `next` one: add, verify, optionally remove the old key.
/// `settings` (JSON): `{target, displayName, removeOld, tenantId, clientId, verifyTimeoutSecs}`. Output: the
/// roll report; a roll that does not complete is an error whose object carries the report.
keyrollstatus keyroll_roll(uint64_t connection, sliceu8 settings, uint64_t current, uint64_t next, keyrolloutput* output);

/// Starts the roll of `keyroll_roll` in the background and returns at once: `operation` receives its handle,
/// for `keyroll_roll_poll` and `keyroll_roll_close`. Settings and handles are checked before anything starts
/// (their errors are this call's). The output is `{"operation": <handle>}`.
keyrollstatus keyroll_roll_start(uint64_t connection, sliceu8 settings, uint64_t current, uint64_t next, uint64_t* operation, keyrolloutput* output);

/// What a background roll has done since the last poll (never blocks): `{done, events: [step messages since
/// the last poll], waiting: {attempt, seconds} | null, report, signatures}`; `signatures` lists the requests
/// waiting for keys the host holds (see `keyroll_signer_open_external`), each until it is answered. Once `done`, `report` is what `keyroll_roll`
/// answers: the roll report, or the error object (carrying the report of an incomplete roll). The status is
/// `Ok` whenever the poll itself worked, whatever the roll's outcome.
keyrollstatus keyroll_roll_poll(uint64_t operation, keyrolloutput* output);

/// Waits at most `timeout_ms` milliseconds for a background roll (or bulk operation) to make progress — a step,
/// a new waiting state, a row's end, a signature request for a key the host holds, the end — then answers what `keyroll_roll_poll` answers. Returns at once
/// when something happened since the last poll or the operation has ended, so a host waiting in a loop hears of
/// the end the moment it comes. Blocks only the calling thread. A negative timeout is 0 (a poll).
keyrollstatus keyroll_roll_wait(uint64_t operation, int64_t timeout_ms, keyrolloutput* output);

/// Starts many rolls as one background operation over the connection's shared throttle: `settings` (JSON)
/// `{rows: [{roll: <the settings of keyroll_roll>, current: <identity handle>, next: <identity handle>}],
/// concurrency}`. `operation` receives its handle, for `keyroll_roll_wait` / `keyroll_roll_poll` (which then
/// add `rows`, each row's report as it ends, and `progress`) and `keyroll_roll_close`. Every row's settings and
/// handles are checked before anything starts. The output is `{"operation": <handle>, "rows": N}`.
keyrollstatus keyroll_bulk_start(uint64_t connection, sliceu8 settings, uint64_t* operation, keyrolloutput* output);

/// Stops a bulk operation: rows not yet started end `notStarted`, rows in flight finish; wait on it for the
/// end as usual. A single roll is not stopped (cut short, it could leave the object between its old and new
/// key): it runs to its end.
keyrollstatus keyroll_roll_stop(uint64_t operation);

/// Closes a roll operation. A roll still running is not cut short (that could leave the object between its
/// old and new key): it runs to its end and its outcome is discarded.
keyrollstatus keyroll_roll_close(uint64_t operation);

/// Starts an inventory scan on a connection: `scan` receives its handle. Settings (JSON): `{"types": "all" |
/// "application" | "servicePrincipal", "expiringWithinDays": n, "owners": bool, "pageSize": n}`; nothing is read
/// yet. The output is `{"scan": <handle>}`.
keyrollstatus keyroll_scan_start(uint64_t connection, sliceu8 settings, uint64_t* scan, keyrolloutput* output);

/// Reads the next page (blocks for it): `{"done": false, "collection", "read", "total", "items": [...]}`, or
/// `{"done": true, "summary": {...}}` once every collection was read.
keyrollstatus keyroll_scan_next(uint64_t scan, keyrolloutput* output);

/// Closes a scan (nothing is left running: pages are read only when asked for).
keyrollstatus keyroll_scan_close(uint64_t scan);

/// Opens a Key Vault certificate as an identity: `identity` receives its handle, usable wherever an identity
/// is taken (connections, proofs, addKey, removeKey, rolls); close it with `keyroll_identity_close`. Settings
/// (JSON): `{"certificate": "https://<vault>/certificates/<name>[/<version>]", "vaultAccessToken": "…"}`; the
/// vault is reached with the connection's HTTP settings, and with its credential unless a vault token is given.
/// The certificate must be issued and enabled, its key RSA of at least 2048 bits and its own. Output: the
/// certificate's description with `keyVault: {certificateUrl, vault, name, version, keyUrl}` and `vaultCalls`.
keyrollstatus keyroll_signer_open_keyvault(uint64_t connection, sliceu8 settings, uint64_t* identity, keyrolloutput* output);

/// Creates the next version of a Key Vault certificate and waits until the vault issues it (bounded by
/// `maxWaitSecs`, default 120, at most 600). Settings (JSON): `{"certificate": URL, "vaultAccessToken", "subject",
/// "keySize", "validityMonths", "maxWaitSecs", "target": {kind, objectId | appId}}`; with `target` and `current`
/// (the identity in use now; 0 = none), a latest version already registered on the object is used again, so a
/// re-run after a stop creates no second version. Output: the new version's description (as
/// `keyroll_signer_open_keyvault`'s) with `source` (`created`, `completed`, `reused`); open it with
/// `keyroll_signer_open_keyvault` and its `keyVault.certificateUrl`.
keyrollstatus keyroll_keyvault_create_certificate(uint64_t connection, sliceu8 settings, uint64_t current, keyrolloutput* output);

/// Both ends of a roll from one version of a Key Vault certificate to its next, for the object of `target`:
/// `current` receives the identity of the newest version that is a key of the object, `next` that of the version
/// to roll to — one an earlier run left (waited for while the vault issues it, or used again), else one created
/// now. Settings (JSON) as `keyroll_keyvault_create_certificate`'s, `target` required. Close both identities
/// with `keyroll_identity_close`. Output: `{current, next, source, vaultCalls}` (descriptions as
/// `keyroll_signer_open_keyvault`'s; `source`: `created`, `completed`, `reused`).
keyrollstatus keyroll_keyvault_roll_versions(uint64_t connection, sliceu8 settings, uint64_t* current, uint64_t* next, keyrolloutput* output);


#ifdef __cplusplus
}
#endif

#endif /* KEYROLL_H */
