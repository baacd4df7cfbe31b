//! Who signs: the key of a certificate, wherever it is held.
//!
//! A roll signs three kinds of JWT: the client assertion that signs in as the app (docs/protocol.md §5), the
//! proof of possession of addKey and removeKey (§3), and the assertions that check a new certificate works.
//! None of them needs the private key in this process, only a signature over the bytes the rules here produce:
//! a key may sit in this process ([`SigningIdentity`]), in Azure Key Vault (`keyvault`), or in a host that will
//! not export it (a Windows certificate store key, a smart card: the host's signer in `keyroll-host`). Every
//! signature that comes from elsewhere is verified against the certificate before it is sent
//! ([`keyroll_proto::proof::assemble`], [`keyroll_proto::assertion::assemble`]), so a key that does not belong
//! to its certificate is named here instead of coming back from the service as a bare 401.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use keyroll_proto::ErrorKind;
use keyroll_proto::assertion::{self, AssertionError, AssertionRequest};
use keyroll_proto::cert::{CertError, Certificate, SigningIdentity};
use keyroll_proto::proof::{self, Proof, ProofError, ProofRequest};
use time::OffsetDateTime;

/// A signature on its way.
pub type SignFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, SignError>> + Send + 'a>>;

/// What a signature is for, so that a signer held elsewhere can say what it is asked to sign (a host shows it;
/// a key store may log it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignPurpose {
    /// A client assertion: signs in as the application.
    ClientAssertion,
    /// A proof of possession for addKey or removeKey.
    Proof,
}

impl SignPurpose {
    /// The name hosts see: `clientAssertion` or `proof`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignPurpose::ClientAssertion => "clientAssertion",
            SignPurpose::Proof => "proof",
        }
    }
}

impl fmt::Display for SignPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignPurpose::ClientAssertion => "a client assertion",
            SignPurpose::Proof => "a proof of possession",
        })
    }
}

/// A certificate and a way to make RS256 signatures (RSASSA-PKCS1-v1_5 with SHA-256) with its key.
pub trait Signer: Send + Sync {
    /// The certificate whose key signs.
    fn certificate(&self) -> &Certificate;

    /// An RS256 signature over `message` (the JWS signing input, not a digest).
    fn sign_rs256<'a>(&'a self, message: &'a [u8], purpose: SignPurpose) -> SignFuture<'a>;

    /// Where the key is, without secrets, for logs and errors ("a key in this process", "Key Vault key ...").
    fn location(&self) -> String {
        "a private key held by this process".into()
    }

    /// The key itself when it is in this process: it was checked against its certificate when loaded, so its
    /// JWTs are minted in one step, without verifying each signature again.
    fn local(&self) -> Option<&SigningIdentity> {
        None
    }
}

impl fmt::Debug for dyn Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Signer(certificate {}, {})",
            self.certificate().sha1_hex(),
            self.location()
        )
    }
}

impl Signer for SigningIdentity {
    fn certificate(&self) -> &Certificate {
        SigningIdentity::certificate(self)
    }

    fn sign_rs256<'a>(&'a self, message: &'a [u8], _purpose: SignPurpose) -> SignFuture<'a> {
        let signed = SigningIdentity::sign_rs256(self, message).map_err(SignError::Key);
        Box::pin(std::future::ready(signed))
    }

    fn local(&self) -> Option<&SigningIdentity> {
        Some(self)
    }
}

/// A signer shared between a connection, its rolls and its host.
pub type SharedSigner = Arc<dyn Signer>;

/// A signer for a key held in this process.
pub fn local(identity: Arc<SigningIdentity>) -> SharedSigner {
    identity
}

/// Why a signature could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The key in this process refused.
    #[error(transparent)]
    Key(#[from] CertError),
    /// A key held elsewhere could not sign (the key store's refusal, in its words, with the fix).
    #[error("{message}")]
    Remote {
        /// Input (a refusal the user can fix: a permission, a key that is not RSA), service or transport.
        kind: ErrorKind,
        /// A stable code for the failure (`forbidden`, `key_not_rsa`, `signer_timeout`, ...).
        code: String,
        /// What happened and what to do, naming the key's location; never the key or the signed bytes.
        message: String,
        /// The key store's request ids, for support.
        request_ids: Vec<String>,
    },
}

impl SignError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SignError::Key(_) => ErrorKind::Input,
            SignError::Remote { kind, .. } => *kind,
        }
    }
    /// The stable code every face shows.
    pub fn code(&self) -> String {
        match self {
            SignError::Key(_) => "signing".into(),
            SignError::Remote { code, .. } => code.clone(),
        }
    }
}

/// Why a proof could not be made with a signer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofSignError {
    /// The proof's own rules (a lifetime, an object id, a certificate that cannot sign, a signature that does
    /// not verify with the certificate).
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// The signer could not sign.
    #[error(
        "cannot sign the proof of possession with certificate {thumbprint} ({location}): {source}"
    )]
    Sign {
        /// The certificate's thumbprint.
        thumbprint: String,
        /// Where its key is.
        location: String,
        /// Why.
        #[source]
        source: SignError,
    },
}

/// Mints a proof with `signer` in two phases: the signing input here, the signature wherever the key is, then
/// the check that it verifies with the certificate ([`proof::assemble`]).
pub async fn mint_proof(
    signer: &dyn Signer,
    request: &ProofRequest,
    now: OffsetDateTime,
) -> Result<Proof, ProofSignError> {
    if let Some(identity) = signer.local() {
        return Ok(proof::mint(identity, request, now)?);
    }
    let certificate = signer.certificate();
    let input = proof::signing_input(certificate, request, now)?;
    let signature = signer
        .sign_rs256(input.as_bytes(), SignPurpose::Proof)
        .await
        .map_err(|source| ProofSignError::Sign {
            thumbprint: certificate.sha1_hex(),
            location: signer.location(),
            source,
        })?;
    Ok(proof::assemble(&input, &signature, certificate)?)
}

/// Why a client assertion could not be made with a signer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionSignError {
    /// The assertion's own rules, or a signature that does not verify with the certificate.
    #[error(transparent)]
    Assertion(#[from] AssertionError),
    /// The signer could not sign.
    #[error(
        "cannot sign the client assertion with certificate {thumbprint} ({location}): {source}"
    )]
    Sign {
        /// The certificate's thumbprint.
        thumbprint: String,
        /// Where its key is.
        location: String,
        /// Why.
        #[source]
        source: SignError,
    },
}

/// Mints a client assertion with `signer` in two phases ([`assertion::signing_input`], the signature,
/// [`assertion::assemble`]).
pub async fn mint_assertion(
    signer: &dyn Signer,
    request: &AssertionRequest,
    now: OffsetDateTime,
) -> Result<String, AssertionSignError> {
    if let Some(identity) = signer.local() {
        return Ok(assertion::mint(identity, request, now)?);
    }
    let certificate = signer.certificate();
    let input = assertion::signing_input(certificate, request, now)?;
    let signature = signer
        .sign_rs256(input.as_bytes(), SignPurpose::ClientAssertion)
        .await
        .map_err(|source| AssertionSignError::Sign {
            thumbprint: certificate.sha1_hex(),
            location: signer.location(),
            source,
        })?;
    Ok(assertion::assemble(&input, &signature, certificate)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use uuid::Uuid;

    fn identity(name: &str) -> SigningIdentity {
        keyroll_proto::cert::generate::self_signed_rsa(
            name,
            OffsetDateTime::now_utc() - Duration::hours(1),
            30,
            2048,
        )
        .unwrap()
        .identity()
        .unwrap()
    }

    /// A signer whose certificate is one key's and whose signatures are another's: what a Key Vault certificate
    /// named with the wrong key looks like.
    struct Mismatched(SigningIdentity, SigningIdentity);
    impl Signer for Mismatched {
        fn certificate(&self) -> &Certificate {
            self.0.certificate()
        }
        fn sign_rs256<'a>(&'a self, message: &'a [u8], p: SignPurpose) -> SignFuture<'a> {
            Signer::sign_rs256(&self.1, message, p)
        }
    }

    /// A key held "elsewhere": the same key, reached only through `sign_rs256`.
    struct Elsewhere(SigningIdentity);
    impl Signer for Elsewhere {
        fn certificate(&self) -> &Certificate {
            self.0.certificate()
        }
        fn sign_rs256<'a>(&'a self, message: &'a [u8], p: SignPurpose) -> SignFuture<'a> {
            Signer::sign_rs256(&self.0, message, p)
        }
    }

    #[tokio::test]
    async fn two_phase_minting_matches_local_minting() {
        let id = identity("CN=two phase");
        let now = OffsetDateTime::now_utc();
        let request = ProofRequest::new(Uuid::new_v4());
        let local = proof::mint(&id, &request, now).unwrap();
        let elsewhere = Elsewhere(id);
        assert!(
            elsewhere.local().is_none(),
            "reached only through sign_rs256"
        );
        let remote = mint_proof(&elsewhere, &request, now).await.unwrap();
        // RS256 (PKCS#1 v1.5) is deterministic: the same key over the same bytes gives the same proof.
        assert_eq!(local.as_str(), remote.as_str());
        let id = identity("CN=assertion");
        let a = AssertionRequest::new("client", "https://login/t/oauth2/v2.0/token", Uuid::nil());
        let local = assertion::mint(&id, &a, now).unwrap();
        assert_eq!(
            local,
            mint_assertion(&Elsewhere(id), &a, now).await.unwrap()
        );
    }

    #[tokio::test]
    async fn a_key_that_is_not_the_certificates_is_named_before_anything_is_sent() {
        let signer = Mismatched(identity("CN=cert"), identity("CN=other key"));
        let now = OffsetDateTime::now_utc();
        let e = mint_proof(&signer, &ProofRequest::new(Uuid::new_v4()), now)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                ProofSignError::Proof(ProofError::SignatureMismatch { .. })
            ),
            "{e}"
        );
        let a = AssertionRequest::new("client", "https://login/t/oauth2/v2.0/token", Uuid::nil());
        let e = mint_assertion(&signer, &a, now).await.unwrap_err();
        assert!(e.to_string().contains("does not verify"), "{e}");
    }
}
