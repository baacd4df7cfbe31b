//! `keyroll`: roll the certificates of Microsoft Entra applications.
//!
//! The binary only parses arguments, calls `keyroll-client` and `keyroll-proto`, maps the outcome to a documented exit code and prints
//! the error chain. Every rule of the protocol lives in core.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod emulator_cmd;
mod exit;
mod secret;

const EXIT_CODES: &str = "\
Exit codes:
  0  success (for `proof inspect`: the proof would be accepted)
  1  a negative verdict: the proof would be rejected, or the operation did not succeed
  2  bad arguments or bad input (unreadable certificate, wrong password, invalid request)
  3  the service refused the request (Graph or identity platform error)
  4  the service could not be reached (network, TLS, timeout)";

/// Roll the certificates of Microsoft Entra applications: mint and inspect proofs of possession, add and remove
/// key credentials, and rehearse it all against a local emulator.
#[derive(Parser, Debug)]
#[command(name = "keyroll", version, about, after_help = EXIT_CODES, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the argument structs costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Inspect or create certificates.
    #[command(subcommand)]
    Cert(cmd::cert::CertCommand),
    /// Mint or inspect proof-of-possession tokens for addKey / removeKey.
    #[command(subcommand)]
    Proof(cmd::proof::ProofCommand),
    /// Add, remove or list key credentials (Graph addKey / removeKey).
    #[command(subcommand)]
    Key(cmd::key::KeyCommand),
    /// Roll a certificate end to end: add the new key, wait until it works, optionally remove the old one.
    Roll(cmd::roll::RollArgs),
    /// Every certificate and client secret of the tenant's applications and service principals, with the days
    /// each has left; --plan writes the roll plan of the certificates found.
    Scan(cmd::scan::ScanArgs),
    /// Serve the local emulator of the identity platform and Graph (for rehearsals and tests).
    Emulator(emulator_cmd::EmulatorArgs),
    /// Roll an application's certificate against an in-process emulator, narrating each step. No arguments,
    /// no network, no tenant.
    Demo(cmd::demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Cert(c) => cmd::cert::run(c),
        Command::Proof(c) => cmd::proof::run(c),
        Command::Key(c) => cmd::key::run(c),
        Command::Roll(a) => cmd::roll::run(a),
        Command::Scan(a) => cmd::scan::run(a),
        Command::Emulator(a) => emulator_cmd::run(a),
        Command::Demo(a) => cmd::demo::run(a),
    };
    match result {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn exit_codes_are_documented_in_help() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Exit codes"));
    }
}
