//! # keyroll-core
//!
//! Everything that matters about rolling the certificates of a Microsoft Entra application lives here, once:
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
//!
//! ## What this crate does not do
//!
//! It performs no hidden I/O: the clock ([`clock::Clock`]) and the bytes of certificates come in from the caller;
//! files are read only by the explicitly named `*_file` helpers. It never prints, never logs a secret, and its
//! `Debug` impls redact private keys, passwords and tokens. It does not speak HTTP in these modules; the Graph
//! client and the roll workflow build on top of them.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod assertion;
pub mod auth;
pub mod b64;
pub mod cert;
pub mod clock;
pub mod cloud;
pub mod credential;
pub mod error;
pub mod graph;
pub mod http;
pub mod inspect;
pub mod jwt;
pub mod proof;
pub mod roll;

pub use error::Error;
