//! The vault's key material: generating keys that never leave the emulator, their public JWK, the
//! certificates and CSRs made with them, and signatures over digests the caller computed (Key Vault's
//! `sign` takes a digest, not a message).

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
use keyroll_proto::b64;
use serde_json::{Value, json};
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// A key type the vault creates: RSA of 2048, 3072 or 4096 bits, or EC on P-256 or P-384.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySpec {
    /// RSA with its modulus size in bits.
    Rsa(u32),
    /// EC on a NIST curve.
    Ec(Curve),
}

/// The EC curves the vault creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// P-256 (ES256).
    P256,
    /// P-384 (ES384).
    P384,
}

impl Curve {
    /// The JWK `crv` name.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        }
    }

    fn signing(self) -> &'static signature::EcdsaSigningAlgorithm {
        match self {
            Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        }
    }

    fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            Curve::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Curve::P384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        }
    }

    /// The curve of a JWK `crv` name.
    pub fn parse(name: &str) -> Option<Curve> {
        match name {
            "P-256" => Some(Curve::P256),
            "P-384" => Some(Curve::P384),
            _ => None,
        }
    }
}

impl KeySpec {
    /// The JWK `kty`.
    pub fn kty(self) -> &'static str {
        match self {
            KeySpec::Rsa(_) => "RSA",
            KeySpec::Ec(_) => "EC",
        }
    }

    /// How the spec is kept in the store: `RSA:2048`, `EC:P-256`.
    pub fn stored(self) -> String {
        match self {
            KeySpec::Rsa(bits) => format!("RSA:{bits}"),
            KeySpec::Ec(c) => format!("EC:{}", c.name()),
        }
    }

    /// The spec kept in the store.
    pub fn parse_stored(text: &str) -> Option<KeySpec> {
        match text.split_once(':')? {
            ("RSA", bits) => bits.parse().ok().map(KeySpec::Rsa),
            ("EC", crv) => Curve::parse(crv).map(KeySpec::Ec),
            _ => None,
        }
    }

    fn rcgen_alg(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            KeySpec::Rsa(_) => &rcgen::PKCS_RSA_SHA256,
            KeySpec::Ec(c) => c.rcgen(),
        }
    }
}

/// Why key material could not be made or used. Never carries key bytes.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CryptoError {
    /// The key could not be generated or parsed.
    #[error("key material: {0}")]
    Key(String),
    /// The certificate or CSR could not be made.
    #[error("certificate: {0}")]
    Certificate(String),
}

fn key_err(e: impl std::fmt::Display) -> CryptoError {
    CryptoError::Key(e.to_string())
}

/// Generates a private key for `spec`: PKCS#8 DER, wiped when dropped.
pub fn generate(spec: KeySpec) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    match spec {
        KeySpec::Rsa(bits) => {
            let size = match bits {
                2048 => KeySize::Rsa2048,
                3072 => KeySize::Rsa3072,
                4096 => KeySize::Rsa4096,
                other => return Err(CryptoError::Key(format!("RSA size {other}"))),
            };
            let key = RsaKeyPair::generate(size).map_err(key_err)?;
            let der = key.as_der().map_err(key_err)?;
            Ok(Zeroizing::new(der.as_ref().to_vec()))
        }
        KeySpec::Ec(curve) => {
            let doc = EcdsaKeyPair::generate_pkcs8(curve.signing(), &SystemRandom::new())
                .map_err(key_err)?;
            Ok(Zeroizing::new(doc.as_ref().to_vec()))
        }
    }
}

/// The public JWK of a key (`kid`, `kty`, `key_ops` and `n`/`e` or `crv`/`x`/`y`): never a private member.
pub fn public_jwk(spec: KeySpec, pkcs8: &[u8], kid: &str) -> Result<Value, CryptoError> {
    match spec {
        KeySpec::Rsa(_) => {
            let key = RsaKeyPair::from_pkcs8(pkcs8).map_err(key_err)?;
            let parts = PublicKeyComponents::<Vec<u8>>::from(key.public_key());
            Ok(json!({
                "kid": kid,
                "kty": "RSA",
                "key_ops": ["sign", "verify", "wrapKey", "unwrapKey", "encrypt", "decrypt"],
                "n": b64::encode_url(&parts.n),
                "e": b64::encode_url(&parts.e),
            }))
        }
        KeySpec::Ec(curve) => {
            let key = EcdsaKeyPair::from_pkcs8(curve.signing(), pkcs8).map_err(key_err)?;
            // Uncompressed point: 0x04 || x || y.
            let point = key.public_key().as_ref();
            let half = point.len().saturating_sub(1) / 2;
            let (x, y) = point.get(1..).unwrap_or_default().split_at(half);
            Ok(json!({
                "kid": kid,
                "kty": "EC",
                "key_ops": ["sign", "verify"],
                "crv": curve.name(),
                "x": b64::encode_url(x),
                "y": b64::encode_url(y),
            }))
        }
    }
}

fn rcgen_key(spec: KeySpec, pkcs8: &[u8]) -> Result<rcgen::KeyPair, CryptoError> {
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from(pkcs8);
    rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, spec.rcgen_alg()).map_err(key_err)
}

/// The attributes of a subject such as `CN=app, O=Contoso`: the ones Key Vault's policies use.
fn distinguished_name(subject: &str) -> Result<rcgen::DistinguishedName, String> {
    let mut dn = rcgen::DistinguishedName::new();
    for part in subject
        .split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("'{part}' is not NAME=value"))?;
        let kind = match k.trim().to_ascii_uppercase().as_str() {
            "CN" => rcgen::DnType::CommonName,
            "O" => rcgen::DnType::OrganizationName,
            "OU" => rcgen::DnType::OrganizationalUnitName,
            "C" => rcgen::DnType::CountryName,
            "L" => rcgen::DnType::LocalityName,
            "S" | "ST" => rcgen::DnType::StateOrProvinceName,
            other => return Err(format!("the subject attribute '{other}' is not supported")),
        };
        dn.push(kind, v.trim());
    }
    if dn.iter().next().is_none() {
        return Err("the subject names no attribute".to_owned());
    }
    Ok(dn)
}

/// Checks a policy's subject, so that a bad one is refused when the certificate is created, not issued.
pub fn check_subject(subject: &str) -> Result<(), String> {
    distinguished_name(subject).map(|_| ())
}

/// A self-signed certificate (DER) for the key `pkcs8` and `subject`, valid from `not_before` to `not_after`.
pub fn self_signed(
    spec: KeySpec,
    pkcs8: &[u8],
    subject: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<Vec<u8>, CryptoError> {
    let key = rcgen_key(spec, pkcs8)?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
        .map_err(|e| CryptoError::Certificate(e.to_string()))?;
    params.distinguished_name = distinguished_name(subject).map_err(CryptoError::Certificate)?;
    params.not_before = not_before.replace_nanosecond(0).unwrap_or(not_before);
    params.not_after = not_after.replace_nanosecond(0).unwrap_or(not_after);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let cert = params
        .self_signed(&key)
        .map_err(|e| CryptoError::Certificate(e.to_string()))?;
    Ok(cert.der().to_vec())
}

/// A PKCS#10 request (DER) for the key `pkcs8` and `subject`, as a pending operation shows it.
pub fn csr(spec: KeySpec, pkcs8: &[u8], subject: &str) -> Result<Vec<u8>, CryptoError> {
    let key = rcgen_key(spec, pkcs8)?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
        .map_err(|e| CryptoError::Certificate(e.to_string()))?;
    params.distinguished_name = distinguished_name(subject).map_err(CryptoError::Certificate)?;
    let csr = params
        .serialize_request(&key)
        .map_err(|e| CryptoError::Certificate(e.to_string()))?;
    Ok(csr.der().to_vec())
}

/// The signature algorithms of Key Vault's `sign` the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512.
    Ps512,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
}

impl SignAlg {
    /// The algorithm of a JWA name.
    pub fn parse(name: &str) -> Option<SignAlg> {
        Some(match name {
            "RS256" => SignAlg::Rs256,
            "RS384" => SignAlg::Rs384,
            "RS512" => SignAlg::Rs512,
            "PS256" => SignAlg::Ps256,
            "PS384" => SignAlg::Ps384,
            "PS512" => SignAlg::Ps512,
            "ES256" => SignAlg::Es256,
            "ES384" => SignAlg::Es384,
            _ => return None,
        })
    }

    /// The JWA name.
    pub fn name(self) -> &'static str {
        match self {
            SignAlg::Rs256 => "RS256",
            SignAlg::Rs384 => "RS384",
            SignAlg::Rs512 => "RS512",
            SignAlg::Ps256 => "PS256",
            SignAlg::Ps384 => "PS384",
            SignAlg::Ps512 => "PS512",
            SignAlg::Es256 => "ES256",
            SignAlg::Es384 => "ES384",
        }
    }

    /// The digest the caller must send.
    pub fn digest(self) -> &'static digest::Algorithm {
        match self {
            SignAlg::Rs256 | SignAlg::Ps256 | SignAlg::Es256 => &digest::SHA256,
            SignAlg::Rs384 | SignAlg::Ps384 | SignAlg::Es384 => &digest::SHA384,
            SignAlg::Rs512 | SignAlg::Ps512 => &digest::SHA512,
        }
    }

    /// The key type the algorithm needs: `RSA`, or `EC` on its curve.
    pub fn fits(self, spec: KeySpec) -> bool {
        match (self, spec) {
            (SignAlg::Es256, KeySpec::Ec(Curve::P256))
            | (SignAlg::Es384, KeySpec::Ec(Curve::P384)) => true,
            (SignAlg::Es256 | SignAlg::Es384, _) => false,
            (_, spec) => matches!(spec, KeySpec::Rsa(_)),
        }
    }
}

/// Why a digest could not be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignRefusal {
    /// The algorithm does not fit the key.
    Incompatible,
    /// The digest's length is not the algorithm's.
    DigestLength {
        /// Bytes expected.
        expected: usize,
        /// Bytes sent.
        found: usize,
    },
    /// The key could not be used (a corrupt store).
    Key(String),
}

/// Signs `digest` with the key `pkcs8`: PKCS#1 v1.5 or PSS for RSA, JWS's fixed-size `r || s` for EC — a
/// signature that verifies as a JWS signature over the message the digest was computed from.
pub fn sign(
    spec: KeySpec,
    pkcs8: &[u8],
    alg: SignAlg,
    digest_bytes: &[u8],
) -> Result<Vec<u8>, SignRefusal> {
    if !alg.fits(spec) {
        return Err(SignRefusal::Incompatible);
    }
    let expected = alg.digest().output_len();
    let d = Digest::import_less_safe(digest_bytes, alg.digest()).map_err(|_| {
        SignRefusal::DigestLength {
            expected,
            found: digest_bytes.len(),
        }
    })?;
    let key_refusal = |e: &dyn std::fmt::Display| SignRefusal::Key(e.to_string());
    match spec {
        KeySpec::Rsa(_) => {
            let key = RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| key_refusal(&e))?;
            let padding: &'static dyn signature::RsaEncoding = match alg {
                SignAlg::Rs256 => &signature::RSA_PKCS1_SHA256,
                SignAlg::Rs384 => &signature::RSA_PKCS1_SHA384,
                SignAlg::Rs512 => &signature::RSA_PKCS1_SHA512,
                SignAlg::Ps256 => &signature::RSA_PSS_SHA256,
                SignAlg::Ps384 => &signature::RSA_PSS_SHA384,
                SignAlg::Ps512 | SignAlg::Es256 | SignAlg::Es384 => &signature::RSA_PSS_SHA512,
            };
            let mut sig = vec![0u8; key.public_modulus_len()];
            key.sign_digest(padding, &d, &mut sig)
                .map_err(|e| key_refusal(&e))?;
            Ok(sig)
        }
        KeySpec::Ec(curve) => {
            let key =
                EcdsaKeyPair::from_pkcs8(curve.signing(), pkcs8).map_err(|e| key_refusal(&e))?;
            let sig = key.sign_digest(&d).map_err(|e| key_refusal(&e))?;
            Ok(sig.as_ref().to_vec())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256,
        UnparsedPublicKey,
    };

    #[test]
    fn rsa_signatures_over_a_digest_verify_over_the_message() {
        let spec = KeySpec::Rsa(2048);
        let key = generate(spec).unwrap();
        let message = b"header.payload";
        let d = digest::digest(&digest::SHA256, message);
        let public = RsaKeyPair::from_pkcs8(&key)
            .unwrap()
            .public_key()
            .as_ref()
            .to_vec();
        let rs = sign(spec, &key, SignAlg::Rs256, d.as_ref()).unwrap();
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public)
            .verify(message, &rs)
            .unwrap();
        let ps = sign(spec, &key, SignAlg::Ps256, d.as_ref()).unwrap();
        UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, &public)
            .verify(message, &ps)
            .unwrap();
        assert_eq!(
            sign(spec, &key, SignAlg::Rs256, &d.as_ref()[..31]),
            Err(SignRefusal::DigestLength {
                expected: 32,
                found: 31
            })
        );
        assert_eq!(
            sign(spec, &key, SignAlg::Es256, d.as_ref()),
            Err(SignRefusal::Incompatible)
        );
    }

    #[test]
    fn ec_signatures_are_fixed_size_and_refuse_rs256() {
        let spec = KeySpec::Ec(Curve::P256);
        let key = generate(spec).unwrap();
        let message = b"header.payload";
        let d = digest::digest(&digest::SHA256, message);
        let sig = sign(spec, &key, SignAlg::Es256, d.as_ref()).unwrap();
        assert_eq!(sig.len(), 64);
        let pair = EcdsaKeyPair::from_pkcs8(Curve::P256.signing(), &key).unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref())
            .verify(message, &sig)
            .unwrap();
        assert_eq!(
            sign(spec, &key, SignAlg::Rs256, d.as_ref()),
            Err(SignRefusal::Incompatible)
        );
        let jwk = public_jwk(spec, &key, "kid").unwrap();
        assert_eq!(jwk["crv"], "P-256");
        assert!(jwk.get("d").is_none());
    }

    #[test]
    fn certificates_carry_the_key_and_subject() {
        let spec = KeySpec::Rsa(2048);
        let key = generate(spec).unwrap();
        let now = OffsetDateTime::now_utc();
        let der = self_signed(
            spec,
            &key,
            "CN=vault app, O=keyroll",
            now,
            now + time::Duration::days(30),
        )
        .unwrap();
        let cert = keyroll_proto::cert::Certificate::from_der(&der).unwrap();
        assert!(cert.subject().contains("vault app"), "{}", cert.subject());
        let public = RsaKeyPair::from_pkcs8(&key)
            .unwrap()
            .public_key()
            .as_ref()
            .to_vec();
        assert_eq!(cert.rsa_public_key_pkcs1(), Some(public.as_slice()));
        assert!(check_subject("XX=1").is_err());
        assert!(csr(spec, &key, "CN=x").unwrap().len() > 100);
        let jwk = public_jwk(spec, &key, "kid").unwrap();
        assert_eq!(jwk["e"], "AQAB");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(jwk.get(private).is_none());
        }
    }
}
