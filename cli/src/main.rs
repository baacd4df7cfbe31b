//! `keyroll`: roll the certificates of Microsoft Entra applications.
//!
//! The binary only parses arguments, calls `keyroll-client` and `keyroll-proto`, maps the outcome to a documented exit code and prints
//! the error chain. Every rule of the protocol lives in core.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

mod cmd;
mod exit;
mod output;
mod secret;

/// `keyroll --version`: the version and the commit it was built from (build.rs).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("KEYROLL_COMMIT"), ")");

/// Roll the certificates of Microsoft Entra applications: mint and inspect proofs of possession, add and remove
/// key credentials, and rehearse it all against a local emulator.
#[derive(Parser, Debug)]
#[command(name = "keyroll", version = VERSION, about, propagate_version = true)]
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
    /// Add, remove or list client secrets (Graph addPassword / removePassword); a new secret is shown once.
    #[command(subcommand)]
    Password(cmd::password::PasswordCommand),
    /// Roll a certificate end to end: add the new key, wait until it works, optionally remove the old one.
    Roll(cmd::roll::RollArgs),
    /// Every certificate and client secret of the tenant's applications and service principals, with the days
    /// each has left; --plan writes the roll plan of the certificates found.
    Scan(cmd::scan::ScanArgs),
    /// Sign in as a user by device code ahead of a command, or sign out (remove the cached sign-in).
    #[command(subcommand)]
    Auth(cmd::auth::AuthCommand),
    /// The emulator is the binary `keyroll-emulator` now; this only says so.
    #[command(hide = true)]
    Emulator(cmd::demo::MovedEmulatorArgs),
    /// Roll an application's certificate against a local emulator (`keyroll-emulator`, started and stopped
    /// here), narrating each step. No arguments, no network, no tenant.
    Demo(cmd::demo::DemoArgs),
    /// Print the completion script for a shell (bash, zsh, fish, powershell, elvish).
    Completions(cmd::shell::CompletionsArgs),
    /// Print the man page keyroll(1) in roff (`keyroll man | man -l -`).
    Man(cmd::shell::ManArgs),
}

impl Command {
    /// The command's name in documents (`"key list"`) and its output format (table for those that print no
    /// result of their own).
    fn output(&self) -> (&'static str, output::Format) {
        use cmd::{
            cert::CertCommand as C, key::KeyCommand as K, password::PasswordCommand as W,
            proof::ProofCommand as P,
        };
        match self {
            Command::Cert(C::Inspect(a)) => ("cert inspect", a.output.format()),
            Command::Cert(C::New(a)) => ("cert new", a.output.format()),
            Command::Proof(P::Mint(a)) => ("proof mint", a.output.format()),
            Command::Proof(P::Inspect(a)) => ("proof inspect", a.output.format()),
            Command::Key(K::Add(a)) => ("key add", a.output.format()),
            Command::Key(K::Remove(a)) => ("key remove", a.output.format()),
            Command::Key(K::List(a)) => ("key list", a.output.format()),
            Command::Password(W::Add(a)) => ("password add", a.output.format()),
            Command::Password(W::Remove(a)) => ("password remove", a.output.format()),
            Command::Password(W::List(a)) => ("password list", a.output.format()),
            Command::Roll(a) => ("roll", a.output.format()),
            Command::Scan(a) => ("scan", a.format()),
            Command::Auth(cmd::auth::AuthCommand::Login(_)) => {
                ("auth login", output::Format::Table)
            }
            Command::Auth(cmd::auth::AuthCommand::Logout(_)) => {
                ("auth logout", output::Format::Table)
            }
            Command::Emulator(_) => ("emulator", output::Format::Table),
            Command::Demo(_) => ("demo", output::Format::Table),
            Command::Completions(_) => ("completions", output::Format::Table),
            Command::Man(_) => ("man", output::Format::Table),
        }
    }
}

/// The command line's definition, with the exit-code table in the help of every command and subcommand.
fn definition() -> clap::Command {
    fn with_exit_codes(cmd: clap::Command, help: &str) -> clap::Command {
        let names: Vec<String> = cmd
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        let mut cmd = cmd.after_help(help.to_string());
        for name in names {
            cmd = cmd.mut_subcommand(name, |s| with_exit_codes(s, help));
        }
        cmd
    }
    with_exit_codes(Cli::command(), &exit::help_text())
}

/// Whether the arguments ask for JSON output: for a mistake found while parsing them, before the command (and
/// its `--output`) is known.
fn asks_for_json(args: &[std::ffi::OsString]) -> bool {
    args.iter()
        .zip(args.iter().skip(1).map(Some).chain([None]))
        .any(|(a, next)| {
            a == "--json"
                || a == "--output=json"
                || (a == "--output" && next.is_some_and(|n| n == "json"))
        })
}

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match definition()
        .try_get_matches_from(&argv)
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            if code != 0 && asks_for_json(&argv) {
                output::choose(output::Format::Json, "keyroll");
                // clap's message without its "error: " tag, usage and pointer to --help.
                let text = e.render().to_string();
                let message = text
                    .split("\n\n")
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("error: ")
                    .trim()
                    .to_string();
                let failure = exit::Failure {
                    code: u8::try_from(code).unwrap_or(2),
                    error: exit::Coded {
                        code: "usage",
                        message,
                    }
                    .into(),
                };
                output::print_error(&failure);
            }
            return ExitCode::from(u8::try_from(code).unwrap_or(2));
        }
    };
    let (name, format) = cli.command.output();
    output::choose(format, name);
    let result = match cli.command {
        Command::Cert(c) => cmd::cert::run(c),
        Command::Proof(c) => cmd::proof::run(c),
        Command::Key(c) => cmd::key::run(c),
        Command::Password(c) => cmd::password::run(c),
        Command::Roll(a) => cmd::roll::run(a),
        Command::Scan(a) => cmd::scan::run(a),
        Command::Auth(c) => cmd::auth::run(c),
        Command::Emulator(a) => cmd::demo::moved_emulator(a),
        Command::Demo(a) => cmd::demo::run(a),
        Command::Completions(a) => cmd::shell::completions(a),
        Command::Man(a) => cmd::shell::man(a),
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
        definition().debug_assert();
    }

    #[test]
    fn json_is_asked_for_in_each_spelling() {
        let v = |s: &[&str]| s.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert!(asks_for_json(&v(&["keyroll", "key", "list", "--json"])));
        assert!(asks_for_json(&v(&["keyroll", "roll", "--output", "json"])));
        assert!(asks_for_json(&v(&["keyroll", "roll", "--output=json"])));
        assert!(!asks_for_json(&v(&["keyroll", "roll", "--output", "tsv"])));
        assert!(!asks_for_json(&v(&["keyroll", "roll", "--output"])));
    }
}
