//! # keyroll-client
//!
//! The client tier of keyroll, over the rules of `keyroll-proto`: where the service is ([`cloud`]), how to reach
//! it ([`http`]: timeouts, TLS roots, proxies with loopback exempt), how to sign in ([`auth`]: a given token, the
//! app's certificate, a managed identity; [`devicecode`]: a user, by device code, with a token cache), the Graph client with safe retries ([`graph`]: addKey is never repeated
//! blindly, one writer per object) and the roll ([`roll`]: add, verify, remove the old key, never locking an
//! application out), and [`settings`]: the one translation from a user's words (flags, JSON, parameters) to these.
//!
//! ## What this crate does not do
//!
//! It holds no protocol rule of its own: every rule it applies (a proof's validity, an addKey body, which key may
//! sign) comes from `keyroll-proto`, so the emulator, which judges with the same rules, cannot disagree with it.
//! It reads no environment behind the caller's back (the environment reaches [`auth`] as a function) and prints
//! nothing.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod cloud;
pub mod devicecode;
pub mod graph;
pub mod http;
pub mod inventory;
pub mod keyvault;
pub mod roll;
pub mod settings;
pub mod signer;
