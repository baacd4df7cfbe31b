//! The crate's error type: one enum with a variant per concern, each carrying its own typed error whose text
//! names the problem and the fix. Caller mistakes (bad input) are kept apart from environment failures.

pub use crate::assertion::AssertionError;
pub use crate::cert::CertError;
pub use crate::credential::{CredentialError, ValidationErrors};
pub use crate::jwt::JwsError;
pub use crate::proof::ProofError;

/// Any error of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading a certificate or key.
    #[error(transparent)]
    Cert(#[from] CertError),
    /// Building a key credential.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// An addKey request that the service would refuse.
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// Minting or assembling a proof.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// A client assertion.
    #[error(transparent)]
    Assertion(#[from] AssertionError),
}
