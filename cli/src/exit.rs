//! Mapping outcomes to the documented exit codes, and printing error chains.

use std::process::ExitCode;

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
