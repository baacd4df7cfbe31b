//! # keyroll-testkit
//!
//! What keyroll's test suites share, so that no suite rewrites it: certificate fixtures in every format users
//! bring ([`fixtures`]), the emulator harness (in process or as the `keyroll-emulator` binary) with its admin client and
//! Graph clients pointed at it ([`emulator`]), and the one check that no secret reaches what users read
//! ([`secrets`]), and servers that are not the service expected ([`servers`]). A dev-dependency only: no shipped crate depends on it (xtask's layering test checks).

pub mod emulator;
pub mod fixtures;
pub mod secrets;
pub mod servers;

/// Names the case of a table-driven test in its failure: take the guard at the top of the loop over the
/// cases (`let _case = case(format!("{name:?}"));`); when an assertion fails while it lives, the case follows
/// the panic message on stderr, whichever helper made the assertion.
#[must_use = "the guard names the case only while it lives"]
pub struct Case(String);

/// See [`Case`].
pub fn case(name: impl Into<String>) -> Case {
    Case(name.into())
}

impl Drop for Case {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("failing case: {}", self.0);
        }
    }
}
