//! Fresh self-signed RSA certificates: for the demo, for tests, and for users who want a throw-away key to
//! rehearse a rollover against the emulator. (Production certificates should come from the user's PKI.)

use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use super::{CertError, Certificate, SigningIdentity};

/// A newly generated certificate with its private key.
pub struct GeneratedCertificate {
    /// The certificate.
    pub certificate: Certificate,
    /// The PKCS#8 DER private key, wiped when dropped.
    pub key_pkcs8: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for GeneratedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedCertificate")
            .field("certificate", &self.certificate)
            .field("key_pkcs8", &"<redacted>")
            .finish()
    }
}

impl GeneratedCertificate {
    /// The signing identity for this certificate.
    pub fn identity(&self) -> Result<SigningIdentity, CertError> {
        SigningIdentity::from_parts(self.certificate.clone(), &self.key_pkcs8)
    }

    /// Certificate and key as one PEM text (certificate first), wiped when dropped.
    pub fn to_pem(&self) -> Zeroizing<String> {
        let key = pem::encode(&pem::Pem::new("PRIVATE KEY", self.key_pkcs8.to_vec()));
        Zeroizing::new(format!("{}{}", self.certificate.to_pem(), key))
    }

    /// A PKCS#12 archive (AES-256 / PBKDF2, SHA-256 MAC) protected by `password`.
    pub fn to_pfx(&self, password: &str) -> Result<Zeroizing<Vec<u8>>, CertError> {
        use p12_keystore::{KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
        let gen_err = |e: p12_keystore::error::Error| CertError::Generate {
            reason: e.to_string(),
        };
        let key = PrivateKey::from_der(&self.key_pkcs8).map_err(gen_err)?;
        let cert = p12_keystore::Certificate::from_der(self.certificate.der()).map_err(gen_err)?;
        let chain = PrivateKeyChain::new(self.certificate.sha1().to_vec(), key, [cert]);
        let mut store = KeyStore::new();
        store.add_entry("keyroll", KeyStoreEntry::PrivateKeyChain(chain));
        store
            .writer(password)
            .write()
            .map(Zeroizing::new)
            .map_err(gen_err)
    }
}

/// Generates an RSA key of `bits` (2048, 3072 or 4096) and a self-signed certificate for `common_name`, valid
/// from `not_before` for `days` days.
pub fn self_signed_rsa(
    common_name: &str,
    not_before: OffsetDateTime,
    days: i64,
    bits: usize,
) -> Result<GeneratedCertificate, CertError> {
    let gen_err = |e: rcgen::Error| CertError::Generate {
        reason: e.to_string(),
    };
    let size = match bits {
        2048 => rcgen::RsaKeySize::_2048,
        3072 => rcgen::RsaKeySize::_3072,
        4096 => rcgen::RsaKeySize::_4096,
        other => {
            return Err(CertError::Generate {
                reason: format!("unsupported RSA size {other}; use 2048, 3072 or 4096"),
            });
        }
    };
    if !(1..=36_500).contains(&days) {
        return Err(CertError::Generate {
            reason: format!("validity of {days} days; give between 1 and 36500 days"),
        });
    }
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, size).map_err(gen_err)?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(gen_err)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    // Whole seconds: X.509 UTCTime has no fractions, and the dates are compared with credential dates later.
    let start = not_before.replace_nanosecond(0).unwrap_or(not_before);
    params.not_before = start;
    params.not_after = start + Duration::days(days);
    let cert = params.self_signed(&key).map_err(gen_err)?;
    let key_pkcs8 = Zeroizing::new(key.serialize_der());
    Ok(GeneratedCertificate {
        certificate: Certificate::from_der(cert.der())?,
        key_pkcs8,
    })
}
