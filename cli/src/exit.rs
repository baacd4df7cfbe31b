//! The documented exit codes (one table, [`EXIT_CODES`], shown in every command's `--help` and copied in the
//! README), the mapping from an error's kind to its code ([`exit_code`]), and printing a failure: the error chain
//! on stderr, and under `--output json` also the error object on stdout.
//!
//! Errors map to codes by their kind, in this one place.

use std::fmt;
use std::process::ExitCode;

use keyroll_client::auth::AuthError;
use keyroll_client::graph::GraphError;
use keyroll_proto::ErrorKind;

/// Every exit code `keyroll` uses and what it means: the one table `--help` and the README show.
pub const EXIT_CODES: &[(u8, &str)] = &[
    (0, "success; `proof inspect`: the proof would be accepted"),
    (
        1,
        "`proof inspect`: the proof would be rejected; `roll`: a roll did not complete",
    ),
    (
        2,
        "bad arguments or input, or refused before anything was sent (also a Key Vault certificate that cannot sign: a missing permission, a key that is not RSA 2048+ or not the certificate's, a certificate not yet issued)",
    ),
    (
        3,
        "the service refused the request (Graph, the identity platform or Key Vault)",
    ),
    (
        4,
        "the service could not be reached (network, TLS, timeout)",
    ),
    (
        130,
        "`roll --plan` stopped by Ctrl-C: the rolls in flight finished, the other rows did not start",
    ),
    (143, "`roll --plan` stopped by SIGTERM, likewise"),
];

/// The exit-code table as `--help` shows it.
pub fn help_text() -> String {
    let mut out = String::from("Exit codes:");
    for (code, meaning) in EXIT_CODES {
        out.push_str(&format!("\n  {code:>3}  {meaning}"));
    }
    out
}

/// The documented exit code of an error of this kind.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Input | ErrorKind::Rejected => 2,
        ErrorKind::Service => 3,
        ErrorKind::Transport => 4,
        _ => 1,
    }
}

/// The kind of a failure known only by its exit code (a message of this CLI's own): the inverse of
/// [`exit_code`], with 1 (a guard stopped it: a busy plan, a roll that did not complete) as `rejected`.
fn kind_of_code(code: u8) -> ErrorKind {
    match code {
        2 => ErrorKind::Input,
        3 => ErrorKind::Service,
        4 => ErrorKind::Transport,
        1 | 130 | 143 => ErrorKind::Rejected,
        _ => ErrorKind::Internal,
    }
}

/// An error of the libraries with what the JSON error object says besides the message: its kind (the error's
/// own `kind()`), a stable code and the request ids to quote to support, read from the error itself (Graph's
/// error code and request ids on a service refusal, the OAuth error of a token refusal) as keyroll-host's
/// `ErrorReport` reads them for the other faces.
#[derive(Debug)]
pub struct Reported {
    pub message: String,
    pub kind: ErrorKind,
    pub code: String,
    pub request_ids: Vec<String>,
    /// The error itself, for advice keyed on it (not a cause: its message is in `message` already).
    pub original: anyhow::Error,
}

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Reported {}

/// A Graph failure's code and request ids (core's one list).
fn graph_code(e: &GraphError) -> (String, Vec<String>) {
    (e.code(), e.request_ids())
}

/// The stable code of an authentication failure (core's one list).
fn auth_code(a: &AuthError) -> String {
    a.code()
}

/// A message of this CLI's own with a stable code for the JSON error object (`usage` for a command line clap
/// refused, `file` for a file that cannot be read, ...).
#[derive(Debug)]
pub struct Coded {
    pub code: &'static str,
    pub message: String,
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Coded {}

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

    /// A Graph failure, with `advice` (this CLI's flags for what core names as concepts) after core's message.
    pub fn graph(error: GraphError, advice: Option<&str>) -> Self {
        let (code, request_ids) = graph_code(&error);
        Failure::new_reported(error.kind(), code, request_ids, advice, error)
    }

    /// An authentication failure.
    pub fn auth(error: AuthError, advice: Option<&str>) -> Self {
        let code = auth_code(&error);
        Failure::new_reported(error.kind(), code, Vec::new(), advice, error)
    }

    /// A Key Vault failure: its kind, code and the vault's request ids.
    pub fn key_vault(error: keyroll_client::keyvault::KeyVaultError, advice: Option<&str>) -> Self {
        let (kind, code, request_ids) = (error.kind(), error.code(), error.request_ids());
        Failure::new_reported(kind, code, request_ids, advice, error)
    }

    /// An error of the libraries with its kind and stable code (no request was sent: no request ids).
    pub fn local<E>(kind: ErrorKind, code: &str, error: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Failure::new_reported(kind, code.to_string(), Vec::new(), None, error)
    }

    fn new_reported<E>(
        kind: ErrorKind,
        code: String,
        request_ids: Vec<String>,
        advice: Option<&str>,
        error: E,
    ) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let message = match advice {
            Some(a) => format!("{error} ({a})"),
            None => error.to_string(),
        };
        Failure::of(
            kind,
            Reported {
                message,
                kind,
                code,
                request_ids,
                original: anyhow::Error::new(error),
            },
        )
    }

    /// The same failure with `message` (this CLI's words: the option, the file, the fix) in place of the error's
    /// own; kind, code and request ids, if any, are kept for the JSON error object.
    pub fn with_message(self, message: String) -> Self {
        let error = match self.error.downcast::<Reported>() {
            Ok(r) => anyhow::Error::new(Reported { message, ..r }),
            // This CLI's own message: the new one says it all (it was made from the old).
            Err(e) => anyhow::Error::new(Coded {
                code: e
                    .chain()
                    .find_map(|c| c.downcast_ref::<Coded>())
                    .map_or("input", |c| c.code),
                message,
            }),
        };
        Failure {
            code: self.code,
            error,
        }
    }

    /// The causes worth a line: each one's text, unless the line before already says it (an error that quotes
    /// its source, as a scan's does, would otherwise print it twice).
    fn causes(&self) -> Vec<String> {
        let mut previous = self.error.to_string();
        let mut out = Vec::new();
        for cause in self.error.chain().skip(1) {
            let text = cause.to_string();
            if !previous.contains(&text) {
                out.push(text.clone());
            }
            previous = text;
        }
        out
    }

    /// The library error's report in the chain, if the error came from the libraries.
    pub fn reported(&self) -> Option<&Reported> {
        self.error
            .chain()
            .find_map(|e| e.downcast_ref::<Reported>())
    }

    /// The error object of the JSON output (`docs/output.md`): kind, code, message, request ids, exit code.
    pub fn to_json(&self) -> serde_json::Value {
        let report = self.reported();
        let kind = report
            .map(|r| r.kind)
            .unwrap_or_else(|| kind_of_code(self.code));
        let own = self.error.chain().find_map(|e| e.downcast_ref::<Coded>());
        // An error that wraps a Graph or sign-in failure (a scan's, ...) carries its code and request ids too.
        let cause = self.error.chain().find_map(|e| {
            e.downcast_ref::<GraphError>()
                // (a boxed source, as a scan's error holds it)
                .or_else(|| e.downcast_ref::<Box<GraphError>>().map(|b| &**b))
                .map(graph_code)
                .or_else(|| {
                    e.downcast_ref::<AuthError>()
                        .map(|a| (auth_code(a), Vec::new()))
                })
        });
        let (code, request_ids) = match (report, own, cause) {
            (Some(r), _, _) => (r.code.clone(), r.request_ids.clone()),
            (None, Some(c), _) => (c.code.to_string(), Vec::new()),
            (None, None, Some(c)) => c,
            (None, None, None) => (crate::output::kind_name(kind).to_string(), Vec::new()),
        };
        let mut message = self.error.to_string();
        for cause in self.causes() {
            message.push_str("; caused by: ");
            message.push_str(&cause);
        }
        serde_json::json!({
            "kind": kind,
            "code": code,
            "message": message,
            "requestIds": request_ids,
            "exitCode": self.code,
        })
    }

    /// Prints `error: …` with each cause on its own line (and, under `--output json`, the error document on
    /// stdout) and returns the exit code.
    pub fn report(self) -> ExitCode {
        eprintln!("error: {}", self.error);
        for cause in self.causes() {
            eprintln!("  caused by: {cause}");
        }
        crate::output::print_error(&self);
        ExitCode::from(self.code)
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::input(e)
    }
}

pub type CmdResult = Result<ExitCode, Failure>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's exit-code table is this one, row for row.
    #[test]
    fn the_readme_table_is_this_table() {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("| Exit code | Meaning |")
            .expect("the README has the exit-code table");
        let rows: Vec<String> = readme[start..]
            .lines()
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(str::to_string)
            .collect();
        let ours: Vec<String> = EXIT_CODES
            .iter()
            .map(|(code, meaning)| format!("| {code} | {meaning} |"))
            .collect();
        assert_eq!(rows, ours);
    }

    #[test]
    fn every_kind_maps_to_a_documented_code() {
        for kind in [
            ErrorKind::Input,
            ErrorKind::Rejected,
            ErrorKind::Service,
            ErrorKind::Transport,
            ErrorKind::Internal,
        ] {
            let code = exit_code(kind);
            assert!(
                EXIT_CODES.iter().any(|(c, _)| *c == code),
                "{kind:?} -> {code}"
            );
        }
    }
}
