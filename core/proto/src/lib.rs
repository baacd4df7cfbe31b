//! # keyroll-proto
//!
//! The rules of rolling the certificates of a Microsoft Entra application, once, with no I/O: the bottom tier of
//! keyroll, under the client (`keyroll-client`), the host API (`keyroll-host`) and the emulator, which judges
//! requests with these same functions so that the client's local checks and the emulator cannot disagree.
//!
//! * [`cert`] loads certificates and RSA signing keys (PFX in every encryption Windows produces, PEM, DER,
//!   base64 text), computes the thumbprints the service keys on, and guards against private keys ending up
//!   where only a public certificate belongs.
//! * [`credential`] is Graph's `keyCredential` / `passwordCredential` model with its exact JSON shape, a builder
//!   from a certificate, and the validation rules of an `addKey` request, each failure naming the field and the fix.
//! * [`proof`] mints the proof-of-possession JWT that `addKey` / `removeKey` demand, keeping the parsed RSA key so
//!   that minting runs at the machine's RSA signing rate; it also offers a two-phase path for keys that cannot
//!   leave their store.
//! * [`inspect`] explains every reason the service would reject a proof — the service itself only ever answers
//!   a bare 401 — and is the same code the emulator uses to judge proofs.
//! * [`assertion`] mints and verifies client assertions (the JWT a confidential client signs to get a token).
//! * [`b64`], [`jwt`], [`clock`]: Graph's base64 rules, compact JWS pieces, and the injected clock.
//!
//! ## What this crate does not do
//!
//! No HTTP, no async runtime, no hidden I/O: the clock ([`clock::Clock`]) and the bytes of certificates come in
//! from the caller; files are read only by the explicitly named `*_file` helpers. xtask's layering test fails the
//! build if an HTTP or async crate appears under this one. It never prints, never logs a secret, and its `Debug`
//! impls redact private keys, passwords and tokens.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod assertion;
pub mod b64;
pub mod cert;
pub mod clock;
pub mod credential;
pub mod error;
pub mod inspect;
pub mod jwt;
pub mod key_status;
pub mod password;
pub mod proof;

pub use error::{Error, ErrorKind};
