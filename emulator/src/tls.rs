//! HTTPS for the emulator: a local CA and a server certificate for `127.0.0.1`, `::1` and `localhost`.
//! Clients trust the CA's PEM file, never the system store, so nothing the emulator issues can be mistaken
//! for a real Microsoft endpoint.
//!
//! The material is kept with the state ([`load_or_create`]): with `--state FILE` a restarted emulator serves
//! the same certificate chain, so a client that pinned the CA file of an earlier run keeps working, exactly
//! as tokens issued before a restart stay valid. In memory (no `--state`) it is new at every start. Only what
//! serving needs is kept — the CA's certificate, the server's certificate and the server's private key; the
//! CA's private key is dropped once the server certificate is signed, so the state file (mode 0600) can
//! never be used to issue another certificate the clients would trust.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use keyroll_proto::b64;
use serde::{Deserialize, Serialize};

use crate::error::EmulatorError;
use crate::store::Store;

/// The generated TLS material.
pub struct TlsMaterial {
    /// The CA certificate, PEM, for clients to trust.
    pub ca_pem: String,
    /// The server's rustls configuration.
    pub server_config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial").finish_non_exhaustive()
    }
}

fn tls_err(e: impl std::fmt::Display) -> EmulatorError {
    EmulatorError::Tls {
        reason: e.to_string(),
    }
}

/// The kept form of the TLS material (one `meta` row of the state store, JSON). The server key is wiped
/// from memory when this is dropped.
#[derive(Serialize, Deserialize, zeroize::ZeroizeOnDrop)]
#[serde(rename_all = "camelCase")]
struct Kept {
    #[zeroize(skip)]
    ca_pem: String,
    #[zeroize(skip)]
    ca_der: String,
    #[zeroize(skip)]
    leaf_der: String,
    leaf_key_pkcs8: String,
}

const META_KEY: &str = "tls_material_v1";
/// Material closer than this to its end is replaced at start, so that a long-lived state never serves an
/// expired certificate (clients then need the new CA file, which the emulator prints as always).
const RENEW_BEFORE: time::Duration = time::Duration::days(7);

impl Kept {
    fn material(&self) -> Result<TlsMaterial, EmulatorError> {
        let decode = |what: &str, v: &str| {
            b64::decode_lenient(v).map_err(|e| tls_err(format!("stored TLS {what}: {e}")))
        };
        server_material(
            self.ca_pem.clone(),
            decode("CA certificate", &self.ca_der)?,
            decode("server certificate", &self.leaf_der)?,
            zeroize::Zeroizing::new(decode("server key", &self.leaf_key_pkcs8)?),
        )
    }

    fn fresh_until(&self, deadline: time::OffsetDateTime) -> bool {
        [&self.ca_der, &self.leaf_der].iter().all(|d| {
            b64::decode_lenient(d)
                .ok()
                .and_then(|der| keyroll_proto::cert::Certificate::from_der(&der).ok())
                .is_some_and(|c| c.not_after() > deadline)
        })
    }
}

/// The TLS material kept in `store`, created and stored on first use (or when it is about to expire).
pub fn load_or_create(store: &Store) -> Result<TlsMaterial, EmulatorError> {
    let deadline = time::OffsetDateTime::now_utc() + RENEW_BEFORE;
    if let Some(bytes) = store.meta(META_KEY)?.map(zeroize::Zeroizing::new) {
        let kept: Kept = serde_json::from_slice(&bytes)
            .map_err(|e| tls_err(format!("stored TLS material does not parse: {e}")))?;
        if kept.fresh_until(deadline) {
            return kept.material();
        }
        let fresh = generate_kept()?;
        store.meta_set(META_KEY, &to_json(&fresh)?)?;
        return fresh.material();
    }
    let fresh = generate_kept()?;
    // Insert-or-keep: should two emulators share one state file and start together, both serve the same.
    let stored = zeroize::Zeroizing::new(store.meta_or_insert(META_KEY, &to_json(&fresh)?)?);
    let kept: Kept = serde_json::from_slice(&stored)
        .map_err(|e| tls_err(format!("stored TLS material does not parse: {e}")))?;
    kept.material()
}

fn to_json(kept: &Kept) -> Result<zeroize::Zeroizing<Vec<u8>>, EmulatorError> {
    serde_json::to_vec(kept)
        .map(zeroize::Zeroizing::new)
        .map_err(tls_err)
}

/// Generates a CA and a server certificate signed by it, valid from a day ago for a year.
pub fn generate() -> Result<TlsMaterial, EmulatorError> {
    generate_kept()?.material()
}

fn generate_kept() -> Result<Kept, EmulatorError> {
    let now = time::OffsetDateTime::now_utc();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "keyroll emulator local CA");
    ca_params.distinguished_name = dn;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = now - time::Duration::days(1);
    ca_params.not_after = now + time::Duration::days(365);
    let ca_key = KeyPair::generate().map_err(tls_err)?;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(tls_err)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).map_err(tls_err)?;
    leaf.subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::V4(
            std::net::Ipv4Addr::LOCALHOST,
        )));
    leaf.subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::V6(
            std::net::Ipv6Addr::LOCALHOST,
        )));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    leaf.distinguished_name = dn;
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = now - time::Duration::days(1);
    leaf.not_after = now + time::Duration::days(364);
    let leaf_key = KeyPair::generate().map_err(tls_err)?;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(tls_err)?;
    Ok(Kept {
        ca_pem: ca_cert.pem(),
        ca_der: b64::encode_std(ca_cert.der()),
        leaf_der: b64::encode_std(leaf_cert.der()),
        leaf_key_pkcs8: b64::encode_std(&zeroize::Zeroizing::new(leaf_key.serialize_der())),
    })
}

fn server_material(
    ca_pem: String,
    ca_der: Vec<u8>,
    leaf_der: Vec<u8>,
    leaf_key: zeroize::Zeroizing<Vec<u8>>,
) -> Result<TlsMaterial, EmulatorError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf_der), CertificateDer::from(ca_der)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.to_vec())),
        )
        .map_err(tls_err)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsMaterial {
        ca_pem,
        server_config: Arc::new(config),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn generates_a_ca_and_a_server_config() {
        let m = super::generate().unwrap();
        assert!(m.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(m.server_config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn kept_material_is_reused() {
        let store = crate::store::Store::open(None).unwrap();
        let a = super::load_or_create(&store).unwrap();
        let b = super::load_or_create(&store).unwrap();
        assert_eq!(a.ca_pem, b.ca_pem);
        assert_ne!(a.ca_pem, super::generate().unwrap().ca_pem);
    }
}
