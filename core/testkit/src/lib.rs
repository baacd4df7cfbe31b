//! # keyroll-testkit
//!
//! What keyroll's test suites share, so that no suite rewrites it: certificate fixtures in every format users
//! bring ([`fixtures`]), and the in-process emulator with its admin client and Graph clients pointed at it
//! ([`emulator`]). A dev-dependency only: no shipped crate depends on it (xtask's layering test checks).

pub mod emulator;
pub mod fixtures;
