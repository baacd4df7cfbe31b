//! Certificates and RSA signing keys.
//!
//! Users bring certificates in every form Windows and OpenSSL produce: PFX/P12 (modern AES, 3DES, and the old
//! RC2-40 that Windows exports still emit), PEM with a PKCS#8 or PKCS#1 key in the same file or another, DER
//! `.cer` files and base64 text pasted from a portal. This module turns each of them into one of two things:
//!
//! * a [`Certificate`] — public material only, with the thumbprints the service keys on (SHA-1 for `kid` and
//!   `x5t`, SHA-256 for `x5t#S256`), its validity and its key algorithm;
//! * a [`SigningIdentity`] — a certificate plus its RSA private key, parsed **once** and kept, because parsing
//!   the key again for every signature costs 2.5× the signature itself.
//!
//! The private-key guard lives here too: [`load_public_certificate`] is the only way to turn user input into
//! the bytes of a new `keyCredential.key`, and it never returns anything but a certificate.

use std::fmt;
use std::path::Path;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaKeyPair};
use sha1::Digest as _;
use time::OffsetDateTime;
use x509_parser::der_parser::ber::BerObjectContent;
use x509_parser::der_parser::der::parse_der;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;
use zeroize::Zeroizing;

use crate::b64;

pub mod generate;

/// The largest certificate or key file this module reads. Real ones are a few KiB; the cap keeps a wrong file
/// (a disk image, a log) from being read into memory whole.
pub const MAX_INPUT_LEN: usize = 1024 * 1024;

/// The smallest RSA key the service accepts for signing proofs and assertions.
pub const MIN_RSA_BITS: usize = 2048;

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_PKCS7_DATA: &str = "1.2.840.113549.1.7.1";

/// Everything that can go wrong reading certificates and keys. Each message names the problem and the fix, and
/// none ever carries key material or a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The file could not be read.
    #[error("cannot read {path}: {error}")]
    Io {
        /// The path given.
        path: String,
        /// The OS error: in the message, and not repeated as a cause (the chain would print it twice).
        error: std::io::Error,
    },
    /// The input is empty.
    #[error("the certificate input is empty")]
    Empty,
    /// The input is larger than any certificate file.
    #[error(
        "the input is {len} bytes; certificate and key files are far below {max} bytes — is this the right file?"
    )]
    TooLarge {
        /// Its size.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// Not a format this module reads.
    #[error(
        "unrecognised certificate format: expected a PFX/P12 file, PEM (-----BEGIN CERTIFICATE-----), DER (.cer) or base64 text{hint}"
    )]
    UnrecognizedFormat {
        /// Extra words on what the input looked like.
        hint: String,
    },
    /// A PFX was given without a password but needs one.
    #[error("the PFX file is protected by a password: give its password")]
    PfxPasswordRequired,
    /// A PFX where a key credential's key belongs.
    #[error(
        "this is a PFX archive (a certificate with its private key), and a key credential takes the public certificate only: give the certificate itself (the DER bytes of a .cer file or of the certificate, or base64 text of them); the private key stays where it is"
    )]
    PfxNotPublicCertificate,
    /// The PFX password is wrong.
    #[error(
        "the PFX password is wrong (the file's integrity check failed with the password given); check the password, and if it is right, the file was altered: export it again"
    )]
    PfxWrongPassword,
    /// The PFX is damaged or truncated.
    #[error("the PFX file is corrupt or truncated ({reason}); export it again")]
    PfxCorrupt {
        /// The parser's reason.
        reason: String,
    },
    /// The PFX uses an encryption this build does not read.
    #[error(
        "the PFX file uses an unsupported encryption ({reason}); re-export it with AES-256 (openssl pkcs12 -export, or Windows 'AES256-SHA256')"
    )]
    PfxUnsupported {
        /// The parser's reason.
        reason: String,
    },
    /// A PFX with no private key where one is needed.
    #[error(
        "the PFX file holds no private key; signing needs a PFX exported *with* its private key"
    )]
    PfxNoPrivateKey,
    /// A PFX or PEM with no certificate.
    #[error("no certificate found in the {what}")]
    NoCertificate {
        /// Which input.
        what: &'static str,
    },
    /// A PEM with no private key where one is needed.
    #[error(
        "no private key found in the PEM input; give the key too (a PRIVATE KEY or RSA PRIVATE KEY block, in the same file or as a separate key file)"
    )]
    PemNoPrivateKey,
    /// An encrypted PEM key.
    #[error(
        "the PEM private key is encrypted; decrypt it (openssl pkey -in key.pem -out plain.pem) or use a PFX with a password"
    )]
    PemEncryptedKey,
    /// The PEM text is broken.
    #[error("the PEM input is malformed ({reason})")]
    PemInvalid {
        /// The parser's reason.
        reason: String,
    },
    /// The key belongs to another certificate.
    #[error(
        "the private key does not belong to the certificate {thumbprint} ({subject}); pair the certificate with its own key"
    )]
    KeyDoesNotMatchCertificate {
        /// The certificate's SHA-1 thumbprint.
        thumbprint: String,
        /// Its subject.
        subject: String,
    },
    /// Not an RSA key.
    #[error(
        "the key is {algorithm}, not RSA; proofs and client assertions must be signed RS256 with an RSA key of at least 2048 bits"
    )]
    NotRsa {
        /// What it is.
        algorithm: String,
    },
    /// RSA, but too small.
    #[error(
        "the RSA key has {bits} bits; at least {MIN_RSA_BITS} are required — create a new certificate with a 2048- or 3072-bit key"
    )]
    RsaKeyTooSmall {
        /// Its size.
        bits: usize,
    },
    /// Not a parseable X.509 certificate.
    #[error("not a valid X.509 certificate ({reason})")]
    InvalidCertificate {
        /// The parser's reason.
        reason: String,
    },
    /// A private key the crypto library refused.
    #[error("the private key cannot be used ({reason})")]
    InvalidPrivateKey {
        /// The library's reason.
        reason: String,
    },
    /// The guard: private key material where a public certificate belongs.
    #[error(
        "refusing {what}: a key credential must be a public certificate only — uploading private key material compromises the application. Give the certificate (.cer/.pem), or a PFX/PEM bundle from which only the certificate is taken"
    )]
    PrivateKeyNotCertificate {
        /// What was found.
        what: &'static str,
    },
    /// Certificate generation failed.
    #[error("cannot generate a certificate ({reason})")]
    Generate {
        /// The library's reason.
        reason: String,
    },
    /// Signing failed inside the crypto library.
    #[error("RSA signing failed")]
    Signing,
}

/// What kind of public key a certificate carries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum KeyAlgorithm {
    /// RSA with its modulus size.
    Rsa {
        /// Modulus size in bits.
        bits: usize,
    },
    /// Elliptic curve.
    Ec {
        /// Key size in bits.
        bits: usize,
    },
    /// Anything else, by OID.
    Other {
        /// The algorithm OID.
        oid: String,
    },
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyAlgorithm::Rsa { bits } => write!(f, "RSA {bits}"),
            KeyAlgorithm::Ec { bits } => write!(f, "EC {bits}"),
            KeyAlgorithm::Other { oid } => write!(f, "algorithm {oid}"),
        }
    }
}

/// Where a certificate stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// Before `notBefore`.
    NotYetValid,
    /// Within `[notBefore, notAfter]`.
    Valid,
    /// After `notAfter`.
    Expired,
}

/// An X.509 certificate: its DER bytes and what the service cares about, parsed once.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    subject: String,
    issuer: String,
    serial: String,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    sha1: [u8; 20],
    sha256: [u8; 32],
    key_algorithm: KeyAlgorithm,
    rsa_pkcs1: Option<Vec<u8>>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject)
            .field("thumbprint", &self.sha1_hex())
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("key", &self.key_algorithm)
            .finish()
    }
}

impl Certificate {
    /// Parses a DER-encoded X.509 certificate. Trailing bytes are refused: a certificate followed by
    /// something else is not what the caller thinks it is.
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        let (rest, x509) =
            X509Certificate::from_der(der).map_err(|e| CertError::InvalidCertificate {
                reason: e.to_string(),
            })?;
        if !rest.is_empty() {
            return Err(CertError::InvalidCertificate {
                reason: format!("{} unexpected bytes after the certificate", rest.len()),
            });
        }
        let spki = x509.public_key();
        let oid = spki.algorithm.algorithm.to_id_string();
        let (key_algorithm, rsa_pkcs1) = match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) if oid == OID_RSA => (
                KeyAlgorithm::Rsa {
                    bits: rsa.key_size(),
                },
                Some(spki.subject_public_key.data.to_vec()),
            ),
            Ok(PublicKey::EC(ec)) => (
                KeyAlgorithm::Ec {
                    bits: ec.key_size(),
                },
                None,
            ),
            _ if oid == OID_EC => (KeyAlgorithm::Ec { bits: 0 }, None),
            _ => (KeyAlgorithm::Other { oid }, None),
        };
        let validity = x509.validity();
        Ok(Certificate {
            subject: x509.subject().to_string(),
            issuer: x509.issuer().to_string(),
            serial: x509.raw_serial_as_string(),
            not_before: validity.not_before.to_datetime(),
            not_after: validity.not_after.to_datetime(),
            sha1: sha1::Sha1::digest(der).into(),
            sha256: sha2::Sha256::digest(der).into(),
            key_algorithm,
            rsa_pkcs1,
            der: der.to_vec(),
        })
    }

    /// The DER bytes: exactly what goes into `keyCredential.key` (base64 in JSON).
    pub fn der(&self) -> &[u8] {
        &self.der
    }
    /// The subject distinguished name, RFC 4514 style.
    pub fn subject(&self) -> &str {
        &self.subject
    }
    /// The issuer distinguished name.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// The serial number, hex with colons.
    pub fn serial(&self) -> &str {
        &self.serial
    }
    /// Start of validity.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }
    /// End of validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }
    /// SHA-1 of the DER bytes: the "thumbprint" of Windows and of the Entra portal.
    pub fn sha1(&self) -> &[u8; 20] {
        &self.sha1
    }
    /// SHA-1 thumbprint as uppercase hex: the `kid` of a proof.
    pub fn sha1_hex(&self) -> String {
        hex::encode_upper(self.sha1)
    }
    /// SHA-1 thumbprint as base64url without padding: the `x5t` header.
    pub fn x5t(&self) -> String {
        b64::encode_url(&self.sha1)
    }
    /// SHA-256 of the DER bytes.
    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }
    /// SHA-256 thumbprint as uppercase hex.
    pub fn sha256_hex(&self) -> String {
        hex::encode_upper(self.sha256)
    }
    /// SHA-256 thumbprint as base64url: the `x5t#S256` header.
    pub fn x5t_s256(&self) -> String {
        b64::encode_url(&self.sha256)
    }
    /// The public key's algorithm and size.
    pub fn key_algorithm(&self) -> &KeyAlgorithm {
        &self.key_algorithm
    }
    /// The RSA public key as a PKCS#1 `RSAPublicKey`, for signature verification; `None` for other keys.
    pub fn rsa_public_key_pkcs1(&self) -> Option<&[u8]> {
        self.rsa_pkcs1.as_deref()
    }
    /// The RSA public key's modulus and public exponent, unsigned big-endian without leading zeros (what a JWK's
    /// `n` and `e` hold); `None` for other keys.
    pub fn rsa_public_numbers(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        let (_, seq) = parse_der(self.rsa_pkcs1.as_deref()?).ok()?;
        let items = seq.as_sequence().ok()?;
        let integer = |i: usize| match items.get(i).map(|o| &o.content) {
            Some(BerObjectContent::Integer(b)) => Some(unsigned(b).to_vec()),
            _ => None,
        };
        Some((integer(0)?, integer(1)?))
    }
    /// Whether the RSA public key given by its modulus and public exponent (unsigned big-endian, as a JWK's `n`
    /// and `e` decode) is this certificate's key. A key store names a certificate's key by URL; this is how a
    /// key that is not the certificate's is caught before it signs anything. Leading zero bytes are ignored.
    pub fn has_rsa_key(&self, modulus: &[u8], exponent: &[u8]) -> bool {
        match self.rsa_public_numbers() {
            Some((n, e)) => !n.is_empty() && n == unsigned(modulus) && e == unsigned(exponent),
            None => false,
        }
    }
    /// Where the certificate stands at `now`.
    pub fn validity_at(&self, now: OffsetDateTime) -> Validity {
        if now < self.not_before {
            Validity::NotYetValid
        } else if now > self.not_after {
            Validity::Expired
        } else {
            Validity::Valid
        }
    }
    /// Whether the certificate is within its validity at `now`.
    pub fn is_valid_at(&self, now: OffsetDateTime) -> bool {
        self.validity_at(now) == Validity::Valid
    }
    /// The certificate as PEM text.
    pub fn to_pem(&self) -> String {
        pem::encode(&pem::Pem::new("CERTIFICATE", self.der.clone()))
    }
    /// Checks that the key can sign proofs: RSA of at least [`MIN_RSA_BITS`].
    pub fn check_signing_key(&self) -> Result<(), CertError> {
        match &self.key_algorithm {
            KeyAlgorithm::Rsa { bits } if *bits >= MIN_RSA_BITS => Ok(()),
            KeyAlgorithm::Rsa { bits } => Err(CertError::RsaKeyTooSmall { bits: *bits }),
            other => Err(CertError::NotRsa {
                algorithm: other.to_string(),
            }),
        }
    }
    /// Parses a thumbprint as users write it (hex, any case, with or without spaces or colons) and tells
    /// whether it is this certificate's SHA-1 or SHA-256 thumbprint.
    pub fn matches_thumbprint(&self, thumbprint: &str) -> bool {
        let cleaned: String = thumbprint
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ':')
            .collect();
        match hex::decode(&cleaned) {
            Ok(bytes) => bytes == self.sha1 || bytes == self.sha256,
            Err(_) => false,
        }
    }
}

/// `bytes` without its leading zero bytes (a DER INTEGER's sign byte, a JWK's padding).
fn unsigned(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// A certificate and its RSA private key, parsed once so that every signature runs at full speed.
pub struct SigningIdentity {
    certificate: Certificate,
    key: RsaKeyPair,
    rng: SystemRandom,
}

impl fmt::Debug for SigningIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningIdentity")
            .field("certificate", &self.certificate)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

impl SigningIdentity {
    /// Pairs a certificate with a PKCS#8 or PKCS#1 DER private key, checking that they belong together and
    /// that the key is RSA of at least 2048 bits.
    pub fn from_parts(certificate: Certificate, key_der: &[u8]) -> Result<Self, CertError> {
        certificate.check_signing_key()?;
        let key = RsaKeyPair::from_pkcs8(key_der)
            .or_else(|_| RsaKeyPair::from_der(key_der))
            .map_err(|e| CertError::InvalidPrivateKey {
                reason: e.to_string(),
            })?;
        if Some(key.public_key().as_ref()) != certificate.rsa_public_key_pkcs1() {
            return Err(CertError::KeyDoesNotMatchCertificate {
                thumbprint: certificate.sha1_hex(),
                subject: certificate.subject.clone(),
            });
        }
        Ok(SigningIdentity {
            certificate,
            key,
            rng: SystemRandom::new(),
        })
    }

    /// Loads an identity from a PFX/P12 archive. `None` and `Some("")` both mean "no password".
    pub fn from_pfx(bytes: &[u8], password: Option<&str>) -> Result<Self, CertError> {
        let pfx = Pfx::open(bytes, password)?;
        pfx.into_identity()
    }

    /// Loads an identity from PEM text holding the certificate and its key (in any order).
    pub fn from_pem(bytes: &[u8]) -> Result<Self, CertError> {
        Self::from_pem_pair(bytes, bytes)
    }

    /// Loads an identity from a certificate (PEM or DER) and a separate PEM or DER key.
    pub fn from_pem_pair(cert_bytes: &[u8], key_bytes: &[u8]) -> Result<Self, CertError> {
        let certs = read_certificates(cert_bytes)?;
        let key = read_private_key(key_bytes)?;
        pick_matching(certs, &key)
    }

    /// Loads an identity from any supported input, telling PFX from PEM by its content.
    pub fn load(bytes: &[u8], password: Option<&str>) -> Result<Self, CertError> {
        check_size(bytes)?;
        if looks_like_pem(bytes) {
            Self::from_pem(bytes)
        } else if classify_der(bytes) == DerKind::Pfx {
            Self::from_pfx(bytes, password)
        } else if classify_der(bytes) == DerKind::Certificate {
            Err(CertError::PemNoPrivateKey)
        } else {
            Err(CertError::UnrecognizedFormat {
                hint: "; signing needs a PFX with its private key, or PEM with certificate and key"
                    .into(),
            })
        }
    }

    /// Reads `path` and loads it with [`SigningIdentity::load`]; `key_path` names a separate key file.
    pub fn load_file(
        path: &Path,
        key_path: Option<&Path>,
        password: Option<&str>,
    ) -> Result<Self, CertError> {
        let bytes = read_file(path)?;
        match key_path {
            Some(kp) => {
                let key = read_file(kp)?;
                Self::from_pem_pair(&bytes, &key)
            }
            None => Self::load(&bytes, password),
        }
    }

    /// The certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message` (JWS `RS256`).
    pub fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, CertError> {
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut sig)
            .map_err(|_| CertError::Signing)?;
        Ok(sig)
    }

    /// RSASSA-PSS with SHA-256 over `message` (JWS `PS256`), as MSAL sends assertions for PFX certificates.
    pub fn sign_ps256(&self, message: &[u8]) -> Result<Vec<u8>, CertError> {
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PSS_SHA256, &self.rng, message, &mut sig)
            .map_err(|_| CertError::Signing)?;
        Ok(sig)
    }
}

/// A public certificate taken from user input, with a notice when something was left out.
#[derive(Debug, Clone)]
pub struct PublicCertificate {
    /// The certificate.
    pub certificate: Certificate,
    /// Set when the input held more than the certificate (a private key, other certificates) and only the
    /// certificate was used: the user should know their private key was *not* uploaded.
    pub notice: Option<String>,
    /// Whether the bytes were base64 text of the certificate rather than the certificate itself. Legitimate
    /// for a file ("Base-64 encoded .cer"), but where DER bytes were expected (a `key` value) it is the
    /// double-encoding mistake, which callers report.
    pub from_base64_text: bool,
}

/// The private-key guard: turns user input into a public certificate and nothing else.
///
/// Accepts DER, PEM, base64 text of DER, and PFX/PEM bundles (from which only the certificate is taken, with a
/// notice). Refuses raw private key material outright.
pub fn load_public_certificate(
    bytes: &[u8],
    password: Option<&str>,
) -> Result<PublicCertificate, CertError> {
    check_size(bytes)?;
    if looks_like_pem(bytes) {
        let blocks = parse_pem(bytes)?;
        let has_key = blocks.iter().any(|b| b.tag().contains("PRIVATE KEY"));
        let certs: Vec<&pem::Pem> = blocks.iter().filter(|b| b.tag() == "CERTIFICATE").collect();
        let Some(first) = certs.first() else {
            return if has_key {
                Err(CertError::PrivateKeyNotCertificate {
                    what: "a PEM private key",
                })
            } else {
                Err(CertError::NoCertificate { what: "PEM input" })
            };
        };
        let certificate = Certificate::from_der(first.contents())?;
        let notice = match (has_key, certs.len()) {
            (true, _) => Some(format!(
                "the input also holds a private key; only the certificate {} was used and the key was not uploaded",
                certificate.sha1_hex()
            )),
            (false, n) if n > 1 => Some(format!(
                "the input holds {n} certificates; the first ({}) was used",
                certificate.sha1_hex()
            )),
            _ => None,
        };
        return Ok(PublicCertificate {
            certificate,
            notice,
            from_base64_text: false,
        });
    }
    match classify_der(bytes) {
        DerKind::Certificate => Ok(PublicCertificate {
            certificate: Certificate::from_der(bytes)?,
            notice: None,
            from_base64_text: false,
        }),
        DerKind::Pfx => {
            let pfx = Pfx::open(bytes, password)?;
            let certificate = pfx.leaf_certificate()?;
            let notice = pfx.has_key.then(|| {
                format!(
                    "the PFX also holds a private key; only the certificate {} was used and the key was not uploaded",
                    certificate.sha1_hex()
                )
            });
            Ok(PublicCertificate {
                certificate,
                notice,
                from_base64_text: false,
            })
        }
        DerKind::PrivateKey(what) => Err(CertError::PrivateKeyNotCertificate { what }),
        DerKind::Other => {
            // Base64 text of one of the above (a .cer saved as "Base-64 encoded", or text pasted from a portal).
            let text = std::str::from_utf8(bytes).ok().filter(|t| {
                t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+/=-_ \r\n\t".contains(c))
            });
            if let Some(decoded) = text.and_then(|t| b64::decode_lenient(t).ok())
                && classify_der(&decoded) != DerKind::Other
            {
                let mut inner = load_public_certificate(&decoded, password)?;
                inner.from_base64_text = true;
                return Ok(inner);
            }
            Err(CertError::UnrecognizedFormat {
                hint: String::new(),
            })
        }
    }
}

/// [`load_public_certificate`] for a key credential's key, which is the public certificate itself: a PFX (or
/// base64 text of one) is refused as such, whether or not it has a password, rather than opened (the service
/// refuses PFX archives too, and a host that has no password to give would otherwise be asked for one).
pub fn load_key_credential_certificate(bytes: &[u8]) -> Result<PublicCertificate, CertError> {
    check_size(bytes)?;
    if !looks_like_pem(bytes) {
        let is_pfx = |b: &[u8]| classify_der(b) == DerKind::Pfx;
        let decoded = std::str::from_utf8(bytes)
            .ok()
            .and_then(|t| b64::decode_lenient(t.trim()).ok());
        if is_pfx(bytes) || decoded.as_deref().is_some_and(is_pfx) {
            return Err(CertError::PfxNotPublicCertificate);
        }
    }
    load_public_certificate(bytes, None)
}

/// Reads a file into memory with the size cap applied.
pub fn read_file(path: &Path) -> Result<Vec<u8>, CertError> {
    let meta = std::fs::metadata(path).map_err(|error| CertError::Io {
        path: path.display().to_string(),
        error,
    })?;
    if meta.len() > MAX_INPUT_LEN as u64 {
        return Err(CertError::TooLarge {
            len: usize::try_from(meta.len()).unwrap_or(usize::MAX),
            max: MAX_INPUT_LEN,
        });
    }
    std::fs::read(path).map_err(|error| CertError::Io {
        path: path.display().to_string(),
        error,
    })
}

/// What a blob of DER bytes is, judged from its ASN.1 structure alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DerKind {
    /// An X.509 certificate.
    Certificate,
    /// A PKCS#12 archive.
    Pfx,
    /// Private key material of the kind named.
    PrivateKey(&'static str),
    /// None of these.
    Other,
}

/// Classifies DER bytes without trusting them: the guard must recognise key material in whatever wrapping a
/// user hands over, so it looks at the outer structure rather than trying one parser after another.
pub fn classify_der(bytes: &[u8]) -> DerKind {
    if X509Certificate::from_der(bytes).is_ok_and(|(rest, _)| rest.is_empty()) {
        return DerKind::Certificate;
    }
    let Ok((_, obj)) = parse_der(bytes) else {
        // A truncated download or copy no longer parses, yet it should be reported as a broken PFX rather
        // than as an unknown format.
        return if is_truncated_pfx(bytes) {
            DerKind::Pfx
        } else {
            DerKind::Other
        };
    };
    let BerObjectContent::Sequence(items) = &obj.content else {
        return DerKind::Other;
    };
    let int_at = |i: usize| items.get(i).and_then(|o| o.as_u64().ok());
    let is_seq = |i: usize| {
        items
            .get(i)
            .is_some_and(|o| matches!(o.content, BerObjectContent::Sequence(_)))
    };
    let is_octets = |i: usize| {
        items
            .get(i)
            .is_some_and(|o| matches!(o.content, BerObjectContent::OctetString(_)))
    };
    let first_oid_of = |i: usize| -> Option<String> {
        match &items.get(i)?.content {
            BerObjectContent::Sequence(inner) => {
                inner.first()?.as_oid().ok().map(|o| o.to_id_string())
            }
            _ => None,
        }
    };
    // PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo { OID data, ... }, macData OPTIONAL }
    if int_at(0) == Some(3) && first_oid_of(1).as_deref() == Some(OID_PKCS7_DATA) {
        return DerKind::Pfx;
    }
    // PKCS#8 ::= SEQUENCE { version 0|1, AlgorithmIdentifier, OCTET STRING privateKey, ... }
    if matches!(int_at(0), Some(0 | 1)) && is_seq(1) && is_octets(2) {
        return DerKind::PrivateKey("a PKCS#8 private key");
    }
    // EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }
    if items.len() == 2 && is_seq(0) && is_octets(1) {
        return DerKind::PrivateKey("an encrypted PKCS#8 private key");
    }
    // RSAPrivateKey (PKCS#1) ::= SEQUENCE { version, n, e, d, p, q, dp, dq, qinv }
    if items.len() >= 9 && int_at(0) == Some(0) {
        return DerKind::PrivateKey("a PKCS#1 RSA private key");
    }
    // ECPrivateKey (SEC1) ::= SEQUENCE { version 1, OCTET STRING, [0] params, [1] public key }
    if int_at(0) == Some(1) && is_octets(1) {
        return DerKind::PrivateKey("an EC private key");
    }
    DerKind::Other
}

/// The DER encoding of the PKCS#7 `data` OID (1.2.840.113549.1.7.1), with its tag and length.
const OID_PKCS7_DATA_DER: [u8; 11] = [
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
];

/// Whether `bytes` begin like a PFX (`SEQUENCE { INTEGER 3, SEQUENCE { OID data …`) that was cut short.
fn is_truncated_pfx(bytes: &[u8]) -> bool {
    // Skips a SEQUENCE tag and its length, returning the offset of its contents.
    fn seq_contents(bytes: &[u8], at: usize) -> Option<usize> {
        if *bytes.get(at)? != 0x30 {
            return None;
        }
        let len = *bytes.get(at + 1)?;
        if len < 0x80 {
            Some(at + 2)
        } else {
            Some(at + 2 + usize::from(len & 0x7f))
        }
    }
    let Some(version) = seq_contents(bytes, 0) else {
        return false;
    };
    if bytes.get(version..version + 3) != Some(&[0x02, 0x01, 0x03]) {
        return false;
    }
    let Some(auth_safe) = seq_contents(bytes, version + 3) else {
        return false;
    };
    bytes.get(auth_safe..auth_safe + OID_PKCS7_DATA_DER.len()) == Some(&OID_PKCS7_DATA_DER[..])
}

fn check_size(bytes: &[u8]) -> Result<(), CertError> {
    if bytes.is_empty() || bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(CertError::Empty);
    }
    if bytes.len() > MAX_INPUT_LEN {
        return Err(CertError::TooLarge {
            len: bytes.len(),
            max: MAX_INPUT_LEN,
        });
    }
    Ok(())
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

fn parse_pem(bytes: &[u8]) -> Result<Vec<pem::Pem>, CertError> {
    pem::parse_many(bytes).map_err(|e| CertError::PemInvalid {
        reason: e.to_string(),
    })
}

/// Certificates from PEM or DER input, in order.
fn read_certificates(bytes: &[u8]) -> Result<Vec<Certificate>, CertError> {
    check_size(bytes)?;
    if looks_like_pem(bytes) {
        let certs = parse_pem(bytes)?
            .iter()
            .filter(|b| b.tag() == "CERTIFICATE")
            .map(|b| Certificate::from_der(b.contents()))
            .collect::<Result<Vec<_>, _>>()?;
        if certs.is_empty() {
            return Err(CertError::NoCertificate { what: "PEM input" });
        }
        Ok(certs)
    } else {
        Ok(vec![Certificate::from_der(bytes)?])
    }
}

/// The first private key in PEM or DER input, as DER that is wiped when dropped.
fn read_private_key(bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>, CertError> {
    check_size(bytes)?;
    if !looks_like_pem(bytes) {
        return match classify_der(bytes) {
            DerKind::PrivateKey("an encrypted PKCS#8 private key") => {
                Err(CertError::PemEncryptedKey)
            }
            DerKind::PrivateKey("an EC private key") => Err(CertError::NotRsa {
                algorithm: "EC".into(),
            }),
            DerKind::PrivateKey(_) => Ok(Zeroizing::new(bytes.to_vec())),
            _ => Err(CertError::PemNoPrivateKey),
        };
    }
    let blocks = parse_pem(bytes)?;
    let mut encrypted = false;
    for block in blocks {
        match block.tag() {
            "PRIVATE KEY" | "RSA PRIVATE KEY" => return Ok(Zeroizing::new(block.into_contents())),
            "ENCRYPTED PRIVATE KEY" => encrypted = true,
            "EC PRIVATE KEY" => {
                return Err(CertError::NotRsa {
                    algorithm: "EC".into(),
                });
            }
            tag if tag.contains("PRIVATE KEY") && block.headers().get("Proc-Type").is_some() => {
                encrypted = true
            }
            _ => {}
        }
    }
    if encrypted {
        Err(CertError::PemEncryptedKey)
    } else {
        Err(CertError::PemNoPrivateKey)
    }
}

/// Picks, among `certs`, the one the key belongs to (PEM bundles often carry the chain too).
fn pick_matching(certs: Vec<Certificate>, key: &[u8]) -> Result<SigningIdentity, CertError> {
    let mut first_err = None;
    for cert in certs {
        match SigningIdentity::from_parts(cert, key) {
            Ok(id) => return Ok(id),
            Err(e) => {
                if first_err.is_none() {
                    first_err = Some(e);
                }
            }
        }
    }
    Err(first_err.unwrap_or(CertError::NoCertificate { what: "input" }))
}

/// A private key of a PFX: its localKeyId (which links it to its certificate) and its PKCS#8 DER.
type PfxKey = (Option<Vec<u8>>, Zeroizing<Vec<u8>>);

/// A decrypted PKCS#12 archive, reduced to what this crate needs.
struct Pfx {
    certs: Vec<(Option<Vec<u8>>, Certificate)>,
    keys: Vec<PfxKey>,
    has_key: bool,
}

impl Pfx {
    fn open(bytes: &[u8], password: Option<&str>) -> Result<Self, CertError> {
        check_size(bytes)?;
        let pw = password.unwrap_or("");
        let archive = match p12_keystore::Pkcs12Archive::from_pkcs12(bytes, pw) {
            Ok(a) => a,
            Err(p12_keystore::error::Error::MacError(_)) if pw.is_empty() => {
                return Err(CertError::PfxPasswordRequired);
            }
            Err(p12_keystore::error::Error::MacError(_)) => {
                return Err(CertError::PfxWrongPassword);
            }
            Err(
                e @ (p12_keystore::error::Error::UnsupportedEncryptionScheme
                | p12_keystore::error::Error::UnsupportedMacAlgorithm
                | p12_keystore::error::Error::UnsupportedContentType),
            ) => {
                return Err(CertError::PfxUnsupported {
                    reason: e.to_string(),
                });
            }
            // A MAC-less archive with the wrong password decrypts to garbage, which shows as a padding error.
            Err(p12_keystore::error::Error::UnpadError) if pw.is_empty() => {
                return Err(CertError::PfxPasswordRequired);
            }
            Err(p12_keystore::error::Error::UnpadError) => return Err(CertError::PfxWrongPassword),
            Err(e) => {
                return Err(CertError::PfxCorrupt {
                    reason: e.to_string(),
                });
            }
        };
        let certs = archive
            .certs
            .iter()
            .map(|bag| {
                Certificate::from_der(bag.cert.as_der()).map(|c| (bag.local_key_id.clone(), c))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let keys: Vec<_> = archive
            .keys
            .iter()
            .map(|bag| {
                (
                    bag.local_key_id.as_ref().map(|id| id.0.clone()),
                    Zeroizing::new(bag.key.as_der().to_vec()),
                )
            })
            .collect();
        let has_key = !keys.is_empty();
        if certs.is_empty() {
            return Err(CertError::NoCertificate { what: "PFX file" });
        }
        Ok(Pfx {
            certs,
            keys,
            has_key,
        })
    }

    /// The certificate a key belongs to, or else the first certificate that issued no other in the file.
    fn leaf_certificate(&self) -> Result<Certificate, CertError> {
        for (key_id, _) in &self.keys {
            if let Some((_, c)) = self
                .certs
                .iter()
                .find(|(cid, _)| key_id.is_some() && cid == key_id)
            {
                return Ok(c.clone());
            }
        }
        let leaf = self
            .certs
            .iter()
            .find(|(_, c)| {
                !self
                    .certs
                    .iter()
                    .any(|(_, o)| o.issuer() == c.subject() && o.subject() != c.subject())
            })
            .or(self.certs.first());
        leaf.map(|(_, c)| c.clone())
            .ok_or(CertError::NoCertificate { what: "PFX file" })
    }

    fn into_identity(self) -> Result<SigningIdentity, CertError> {
        if self.keys.is_empty() {
            return Err(CertError::PfxNoPrivateKey);
        }
        // Prefer the certificate linked to the key by localKeyId; fall back to trying each certificate.
        for (key_id, key) in &self.keys {
            if let Some((_, cert)) = self
                .certs
                .iter()
                .find(|(cid, _)| key_id.is_some() && cid == key_id)
            {
                return SigningIdentity::from_parts(cert.clone(), key);
            }
        }
        let certs: Vec<Certificate> = self.certs.into_iter().map(|(_, c)| c).collect();
        pick_matching(certs, &self.keys[0].1)
    }
}
