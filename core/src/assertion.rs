//! Client assertions (protocol.md §5): the JWT a confidential client signs to obtain a token.

/// Why a client assertion could not be minted or was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionError {
    /// Placeholder until the module is written.
    #[error("client assertions are not implemented yet")]
    Unimplemented,
}
