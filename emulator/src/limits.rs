//! The request body limits, below every handler: the router (`app`) applies them, and the Graph and admin
//! handlers, which read bodies themselves, check them, so no handler module imports the router.

/// The largest request body read, in bytes. A keyCredential with a 4096-bit certificate is under 4 KiB;
/// anything far larger is refused before it is parsed.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The largest admin request body (many certificates at once).
pub const MAX_ADMIN_BODY_BYTES: usize = 16 * 1024 * 1024;
