//! Mapping outcomes to the documented exit codes, and printing error chains.
//!
//! Exit codes: 0 success, 1 a negative verdict (`proof inspect`) or a roll that did not complete, 2 bad input or a
//! local refusal (nothing was sent), 3 the service refused, 4 the service could not be reached. Errors map to
//! them by their kind ([`exit_code`]), in this one place.

use std::process::ExitCode;

use keyroll_proto::ErrorKind;

/// The documented exit code of an error of this kind.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Input | ErrorKind::Rejected => 2,
        ErrorKind::Service => 3,
        ErrorKind::Transport => 4,
        _ => 1,
    }
}

/// A command that did not succeed: the error chain and the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    /// Bad arguments or bad input: exit 2.
    pub fn input(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: 2,
            error: error.into(),
        }
    }

    /// An error of a known kind, with the exit code [`exit_code`] maps it to.
    pub fn of(kind: ErrorKind, error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: exit_code(kind),
            error: error.into(),
        }
    }

    /// Prints `error: …` with each cause on its own line and returns the exit code.
    pub fn report(self) -> ExitCode {
        eprintln!("error: {}", self.error);
        for cause in self.error.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        ExitCode::from(self.code)
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::input(e)
    }
}

pub type CmdResult = Result<ExitCode, Failure>;
