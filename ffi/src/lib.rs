//! # keyroll (the native library)
//!
//! The C ABI of keyroll, for hosts that are not Rust: the PowerShell module (through the C# bindings and the
//! facade in `ffi/csharp/`), C, Python, anything that can call C.
//!
//! This crate holds no logic. Each function reads its arguments, calls [`keyroll_host`], and stores the
//! answer; the rules live in core. What it does own is the boundary:
//!
//! * **Strings** are UTF-8 byte slices (pointer + length), never ANSI; settings are JSON documents.
//! * **Outputs** (results and error objects) wait behind an output handle until the caller copies them out
//!   with [`keyroll_output_take`](exports::keyroll_output_take); see [`exports`] for the conventions.
//! * **Handles** are numbers from tables, never pointers: a handle used after it was closed, or a handle of
//!   another kind, gives [`KeyrollStatus::UnknownHandle`], not a crash.
//! * **No panic crosses the boundary**: every entry point runs under `catch_unwind`; a panic becomes
//!   [`KeyrollStatus::Panic`] with an error object, and the library stays usable.
//! * **One runtime**: core is async; one process-wide tokio runtime serves every call, which blocks on it.
//!   Every function may be called from many threads at once (PowerShell runspaces share the library).
//! * **Secrets** passed in (passwords, tokens) are wiped after use; outputs, which may be proofs, are wiped
//!   when taken or freed.
//!
//! The bindings in `ffi/bindings/{csharp,c,python}/` are generated from [`ffi_inventory`] by
//! `KEYROLL_UPDATE_BINDINGS=1 cargo test -p keyroll-ffi --test bindings`; the same test fails when the
//! committed files differ from what generation produces.
//!
//! ## What this crate does not do
//!
//! It does not read the environment (hosts pass proxy and identity variables explicitly: .NET keeps its own
//! copy of the environment), it does not log, and it does not expose Rust types or pointers to the host.

pub mod boundary;
pub mod exports;
pub mod keyvault;
pub mod scan;

pub use boundary::{KeyrollOutput, KeyrollStatus};

use interoptopus::{constant, function, Inventory, InventoryBuilder};

/// Everything the bindings expose. `keyroll_test_panic` is deliberately absent: it is test support only.
pub fn ffi_inventory() -> Inventory {
    use exports::*;
    InventoryBuilder::new()
        .register(constant!(KEYROLL_ABI_VERSION))
        .register(function!(keyroll_info))
        .register(function!(keyroll_output_take))
        .register(function!(keyroll_output_free))
        .register(function!(keyroll_identity_open))
        .register(function!(keyroll_identity_open_file))
        .register(function!(keyroll_identity_close))
        .register(function!(keyroll_signer_open_external))
        .register(function!(keyroll_signer_wait))
        .register(function!(keyroll_signature_answer))
        .register(function!(keyroll_signature_refuse))
        .register(function!(keyroll_proof_mint))
        .register(function!(keyroll_proof_inspect))
        .register(function!(keyroll_proof_signing_input))
        .register(function!(keyroll_proof_assemble))
        .register(function!(keyroll_key_credential))
        .register(function!(keyroll_connect))
        .register(function!(keyroll_disconnect))
        .register(function!(keyroll_device_code_start))
        .register(function!(keyroll_device_code_wait))
        .register(function!(keyroll_device_code_cancel))
        .register(function!(keyroll_sign_out))
        .register(function!(keyroll_keys_list))
        .register(function!(keyroll_key_add))
        .register(function!(keyroll_key_remove))
        .register(function!(keyroll_key_repair))
        .register(function!(keyroll_password_add))
        .register(function!(keyroll_password_remove))
        .register(function!(keyroll_roll))
        .register(function!(keyroll_roll_start))
        .register(function!(keyroll_roll_poll))
        .register(function!(keyroll_roll_wait))
        .register(function!(keyroll_bulk_start))
        .register(function!(keyroll_roll_stop))
        .register(function!(keyroll_roll_close))
        .register(function!(scan::keyroll_scan_start))
        .register(function!(scan::keyroll_scan_next))
        .register(function!(scan::keyroll_scan_close))
        .register(function!(keyvault::keyroll_signer_open_keyvault))
        .register(function!(keyvault::keyroll_keyvault_create_certificate))
        .register(function!(keyvault::keyroll_keyvault_roll_versions))
        .inventory()
}
