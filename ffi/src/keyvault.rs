//! The exported functions of Key Vault: a vault certificate opened as an identity (its key signs in the vault;
//! every call that takes an identity handle takes it), and a certificate's next version created in the vault.
//! Conventions as in [`crate::exports`].

use interoptopus::ffi_function;
use interoptopus::patterns::slice::FFISlice;
use keyroll_host as api;

use crate::boundary::{
    block_on, bytes, json_output, run, write_handle, Failure, KeyrollOutput, KeyrollStatus,
};
use crate::exports::{CONNECTIONS, IDENTITIES};

/// Opens a Key Vault certificate as an identity: `identity` receives its handle, usable wherever an identity
/// is taken (connections, proofs, addKey, removeKey, rolls); close it with `keyroll_identity_close`. Settings
/// (JSON): `{"certificate": "https://<vault>/certificates/<name>[/<version>]", "vaultAccessToken": "…"}`; the
/// vault is reached with the connection's HTTP settings, and with its credential unless a vault token is given.
/// The certificate must be issued and enabled, its key RSA of at least 2048 bits and its own. Output: the
/// certificate's description with `keyVault: {certificateUrl, vault, name, version, keyUrl}` and `vaultCalls`.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_signer_open_keyvault(
    connection: u64,
    settings: FFISlice<u8>,
    identity: *mut u64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        if identity.is_null() {
            return Err(Failure::null("identity"));
        }
        let conn = CONNECTIONS.get(connection)?;
        let settings: api::KeyVaultSettings =
            api::from_json("key vault settings", bytes("settings", &settings)?)?;
        let (signer, description) = block_on(conn.open_keyvault(&settings))?;
        write_handle("identity", identity, IDENTITIES.insert(signer))?;
        json_output(&description)
    })
}

/// Creates the next version of a Key Vault certificate and waits until the vault issues it (bounded by
/// `maxWaitSecs`, default 120, at most 600). Settings (JSON): `{"certificate": URL, "vaultAccessToken", "subject",
/// "keySize", "validityMonths", "maxWaitSecs", "target": {kind, objectId | appId}}`; with `target` and `current`
/// (the identity in use now; 0 = none), a latest version already registered on the object is used again, so a
/// re-run after a stop creates no second version. Output: the new version's description (as
/// `keyroll_signer_open_keyvault`'s) with `source` (`created`, `completed`, `reused`); open it with
/// `keyroll_signer_open_keyvault` and its `keyVault.certificateUrl`.
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_keyvault_create_certificate(
    connection: u64,
    settings: FFISlice<u8>,
    current: u64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        let conn = CONNECTIONS.get(connection)?;
        let settings: api::CreateVaultCertificateSettings = api::from_json(
            "key vault certificate settings",
            bytes("settings", &settings)?,
        )?;
        let current = IDENTITIES.get_optional(current)?;
        json_output(&block_on(
            conn.create_keyvault_certificate(&settings, current.as_deref()),
        )?)
    })
}

/// Both ends of a roll from one version of a Key Vault certificate to its next, for the object of `target`:
/// `current` receives the identity of the newest version that is a key of the object, `next` that of the version
/// to roll to — one an earlier run left (waited for while the vault issues it, or used again), else one created
/// now. Settings (JSON) as `keyroll_keyvault_create_certificate`'s, `target` required. Close both identities
/// with `keyroll_identity_close`. Output: `{current, next, source, vaultCalls}` (descriptions as
/// `keyroll_signer_open_keyvault`'s; `source`: `created`, `completed`, `reused`).
#[ffi_function]
#[no_mangle]
pub extern "C" fn keyroll_keyvault_roll_versions(
    connection: u64,
    settings: FFISlice<u8>,
    current: *mut u64,
    next: *mut u64,
    output: *mut KeyrollOutput,
) -> KeyrollStatus {
    run(output, || {
        if current.is_null() {
            return Err(Failure::null("current"));
        }
        if next.is_null() {
            return Err(Failure::null("next"));
        }
        let conn = CONNECTIONS.get(connection)?;
        let settings: api::CreateVaultCertificateSettings = api::from_json(
            "key vault certificate settings",
            bytes("settings", &settings)?,
        )?;
        let (from, to, description) = block_on(conn.keyvault_roll_versions(&settings))?;
        write_handle("current", current, IDENTITIES.insert(from))?;
        write_handle("next", next, IDENTITIES.insert(to))?;
        json_output(&description)
    })
}
