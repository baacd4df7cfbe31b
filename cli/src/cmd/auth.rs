//! `keyroll auth`: sign in as a user by device code ahead of a command, and sign out (remove the cached sign-in).
//! The sign-in itself is core's (`keyroll_client::devicecode`); this only fills the options and prints.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::conn::{ConnArgs, graph_failure, runtime};
use crate::exit::Failure;

/// Sign in as a user, or sign out.
#[derive(Subcommand, Debug)]
pub enum AuthCommand {
    /// Sign in as a user by device code (the code and page on stderr) and keep the sign-in in the token cache,
    /// so later commands with --device-code need no code. A cached sign-in that still works is reused.
    Login(LoginArgs),
    /// Sign out: remove the cached sign-in of the tenant, client and scopes given (every one with --all).
    Logout(LogoutArgs),
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    #[command(flatten)]
    conn: ConnArgs,
}

#[derive(Args, Debug)]
pub struct LogoutArgs {
    /// Remove every cached sign-in (and the cache file).
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    conn: ConnArgs,
}

type CmdResult = Result<ExitCode, Failure>;

pub fn run(c: AuthCommand) -> CmdResult {
    match c {
        AuthCommand::Login(mut a) => {
            a.conn.device_code = true;
            let rt = runtime()?;
            let client = a.conn.client(None, &rt)?;
            let who = rt
                .block_on(client.tokens().token())
                .map_err(|e| graph_failure(e.into()))?
                .claim("upn")
                .unwrap_or_else(|| "(unnamed user)".into());
            println!("signed in as {who}");
            Ok(ExitCode::SUCCESS)
        }
        AuthCommand::Logout(a) => {
            let (removed, path) = a.conn.sign_out(a.all)?;
            println!(
                "removed {removed} cached sign-in(s) from {}",
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
