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

/// What kind of failure an error is, so that each face maps it to its own conventions in one place without
/// reading messages: the CLI to its documented exit codes, the host to its error object's `kind`, the PowerShell
/// module to an ErrorCategory. Every error type of the libraries has `kind()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller's input is wrong: settings, certificate, password, object id, an invalid request.
    Input,
    /// Checked locally and refused before anything was sent: the service would reject it, or a guard (the last
    /// valid certificate, a roll that could not complete) stops it.
    Rejected,
    /// The service (Graph or the identity platform) refused.
    Service,
    /// The service could not be reached (network, TLS, timeout).
    Transport,
    /// A bug: a panic inside the library, caught before it reached the host.
    Internal,
}

impl Error {
    /// The kind of failure: everything this crate refuses is the caller's input.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Input
    }
}

macro_rules! input_kind {
    ($($t:ty),*) => {$(
        impl $t {
            /// The kind of failure: the caller's input (a certificate, a key, a request), never the service's.
            pub fn kind(&self) -> ErrorKind {
                ErrorKind::Input
            }
        }
    )*};
}
input_kind!(
    AssertionError,
    CertError,
    CredentialError,
    ValidationErrors,
    JwsError,
    ProofError
);
