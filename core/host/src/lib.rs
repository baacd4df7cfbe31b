//! # keyroll-host
//!
//! Host-facing operations taking plain settings: what a host that is not Rust (the C ABI, and through it
//! PowerShell, C, Python) needs, with JSON in and JSON out, so that every host gets the same parameters, the
//! same defaults and the same error object. The top tier of the libraries: over `keyroll-client` and
//! `keyroll-proto`, under the C ABI (`ffi/`).
//!
//! Nothing here adds a rule: each operation parses its settings, calls the module that owns the rule
//! ([`proof`](keyroll_proto::proof), [`inspect`](mod@keyroll_proto::inspect), [`credential`](keyroll_proto::credential),
//! [`graph`](keyroll_client::graph), [`roll`](keyroll_client::roll)) and shapes the answer.
//!
//! * Settings arrive as UTF-8 JSON (camelCase, unknown fields refused so that a typo is an error and not a
//!   silently ignored option). [`from_json`] parses them.
//! * Results are [`serde_json::Value`]s, except proofs and signing inputs, which are returned as text.
//! * Every failure is an [`ApiError`]; [`ApiError::report`] turns it into the [`ErrorReport`] hosts show:
//!   a [`ErrorKind`], a stable code (Graph's own code for service errors), the message with the fix, and the
//!   service's request ids.
//!
//! The environment is never read behind the caller's back: hosts such as .NET keep their own copy of it, so
//! the variables that matter (managed identity, `AZURE_*`) are passed in [`ConnectionSettings::environment`].
//! Files are read only where a setting names one (`caFile`, `certificateFile`).
//!
//! Modules: `json` (parsing settings), `error` (the error object and how each library error becomes one),
//! `offline` (identities, proofs, key credentials: no network), `connection` (where the service is, the target,
//! the operations), `settings` (addKey, removeKey and roll settings), `operation` (a background roll), `bulk` (many rolls as one background operation), `external` (keys the host
//! holds: signature requests the host answers). Every
//! public item is re-exported here: hosts use `keyroll_host::…`.

#![forbid(unsafe_code)]

mod bulk;
mod connection;
mod error;
mod external;
mod inventory;
mod json;
mod keyvault;
mod offline;
mod operation;
mod settings;

pub use bulk::*;
pub use connection::*;
pub use error::*;
pub use external::*;
pub use inventory::*;
pub use json::*;
pub use keyvault::*;
pub use offline::*;
pub use operation::*;
pub use settings::*;

/// The environment variables a host passes in [`ConnectionSettings::environment`] (the client reads them through
/// the function it is given, never from the process).
pub use keyroll_client::auth::CREDENTIAL_ENVIRONMENT;

/// The clouds, by the names users give them (the one table, `keyroll_client::cloud::CLOUDS`):
/// `[{"name": "Global", "aliases": ["public", "AzureCloud", …]}, …]`, Connect-MgGraph's name first.
pub fn clouds() -> Value {
    Value::Array(
        keyroll_client::cloud::CLOUDS
            .iter()
            .map(|c| serde_json::json!({ "name": c.name, "aliases": c.aliases }))
            .collect(),
    )
}

/// What signs, wherever the key is: hosts open identities as signers and pass them to every operation.
pub use keyroll_client::signer::{SharedSigner, SignError, SignFuture, SignPurpose, Signer};

use serde_json::Value;

/// Test support for hosts: panics inside an async operation on purpose, so that a host can prove that a panic
/// in this crate surfaces as an error and never crosses its boundary. Not for normal use.
#[doc(hidden)]
pub async fn panic_for_test() -> Result<Value, ApiError> {
    tokio::task::yield_now().await;
    panic!("deliberate panic inside keyroll-host (host boundary test)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyroll_proto::credential::CredentialKind;
    use serde_json::json;
    use time::OffsetDateTime;

    #[test]
    fn base64_text_where_bytes_belong_is_reported() {
        let g = keyroll_proto::cert::generate::self_signed_rsa(
            "double",
            OffsetDateTime::now_utc() - time::Duration::hours(1),
            30,
            2048,
        )
        .unwrap();
        let der = g.certificate.der().to_vec();
        let text = keyroll_proto::b64::encode_std(&der);
        let settings = KeyCredentialSettings::default();
        let once = key_credential(&der, &settings).unwrap();
        assert_eq!(once["base64Text"], json!(false));
        let twice = key_credential(text.as_bytes(), &settings).unwrap();
        assert_eq!(twice["base64Text"], json!(true));
        assert_eq!(twice["thumbprint"], once["thumbprint"]);
    }

    #[test]
    fn add_key_settings_carry_type_usage_and_a_hidden_password() {
        let s: AddKeySettings = from_json(
            "addKey settings",
            br#"{"target":{"objectId":"11111111-2222-3333-4444-555555555555"},"certificate":"x","type":"X509CertAndPassword","usage":"Sign","passwordCredential":{"secretText":"hunter2-secret"}}"#,
        )
        .unwrap();
        assert_eq!(s.key.kind().unwrap(), CredentialKind::SignWithPassword);
        assert!(!format!("{s:?}").contains("hunter2-secret"));
        let bad = KeyCredentialSettings {
            key_type: Some("AsymmetricX509Cert".into()),
            usage: Some("Sign".into()),
            ..Default::default()
        };
        assert!(bad.kind().is_err());
        assert_eq!(
            KeyCredentialSettings::default().kind().unwrap(),
            CredentialKind::Verify
        );
    }

    #[test]
    fn unknown_settings_are_refused() {
        let e = from_json::<ConnectionSettings>(
            "connection settings",
            br#"{"graphUrl":"x","prxy":"y"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("prxy"), "{e}");
        assert_eq!(e.report().kind, ErrorKind::Input);
        let empty: ConnectionSettings = from_json("connection settings", b"  ").unwrap();
        assert!(empty.graph_url.is_none());
    }

    #[test]
    fn targets() {
        let t: TargetSettings = from_json(
            "target",
            br#"{"kind":"servicePrincipal","appId":"11111111-2222-3333-4444-555555555555"}"#,
        )
        .unwrap();
        assert_eq!(
            t.target().unwrap().kind,
            keyroll_client::graph::TargetKind::ServicePrincipal
        );
        let both: TargetSettings = from_json(
            "target",
            br#"{"objectId":"11111111-2222-3333-4444-555555555555","appId":"11111111-2222-3333-4444-555555555555"}"#,
        )
        .unwrap();
        assert!(both.target().is_err());
    }

    #[tokio::test]
    async fn mint_and_two_phase_agree() {
        let id = keyroll_proto::cert::generate::self_signed_rsa(
            "CN=api test",
            OffsetDateTime::now_utc() - time::Duration::days(1),
            30,
            2048,
        )
        .unwrap()
        .identity()
        .unwrap();
        let now = OffsetDateTime::now_utc();
        let oid = "11111111-2222-3333-4444-555555555555";
        let proof = mint_proof(&id, oid, 0, "", now).await.unwrap();
        let der = id.certificate().der();
        let input = signing_input(der, oid, 0, "", now).unwrap();
        assert!(proof.as_str().starts_with(&input));
        let sig = id.sign_rs256(input.as_bytes()).unwrap();
        let assembled = assemble_proof(&input, &sig, der).unwrap();
        assert_eq!(assembled, proof);
        let e = assemble_proof(&input, &[0u8; 256], der).unwrap_err();
        assert_eq!(e.report().code, "proof");
        let settings = InspectSettings {
            certificates: vec![keyroll_proto::b64::encode_std(der)],
            object_id: Some(oid.into()),
            ..Default::default()
        };
        let report = inspect_proof(proof.as_str(), &settings, now).unwrap();
        assert_eq!(report["accepted"], Value::Bool(true));
        let kc = key_credential(der, &KeyCredentialSettings::default()).unwrap();
        assert_eq!(kc["thumbprint"], id.certificate().sha1_hex());
        let e = mint_proof(&id, oid, 601, "", now).await.unwrap_err();
        assert_eq!(e.report().kind, ErrorKind::Input);
    }
}
