//! `keyroll completions <shell>` and `keyroll man`: shell completions and the man page, generated from the
//! command line's one definition (`crate::definition`), so that they can never name an option that does not
//! exist. The release (`cargo xtask release`) writes them from the built binary into the CLI's archive.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use crate::exit::{CmdResult, Failure};

/// The shells completions are made for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    #[value(name = "powershell", alias = "pwsh")]
    Pwsh,
    Elvish,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for (bash: source it, or install it as
    /// /usr/share/bash-completion/completions/keyroll; zsh: as _keyroll in a folder of $fpath; fish: as
    /// ~/.config/fish/completions/keyroll.fish; powershell: dot-source it from $PROFILE).
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {}

/// Writes the completion script for `args.shell` to stdout.
pub fn completions(args: CompletionsArgs) -> CmdResult {
    use clap_complete::Shell as S;
    let shell = match args.shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Pwsh => S::PowerShell,
        Shell::Elvish => S::Elvish,
    };
    let mut cmd = crate::definition();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "keyroll", &mut out);
    write_stdout(&out)
}

/// Writes the man page keyroll(1), in roff, to stdout.
pub fn man(_args: ManArgs) -> CmdResult {
    let mut out = Vec::new();
    clap_mangen::Man::new(crate::definition())
        .render(&mut out)
        .context("rendering the man page")
        .map_err(|error| Failure { code: 1, error })?;
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> CmdResult {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .context("writing to stdout")
        .map_err(|error| Failure { code: 1, error })?;
    Ok(ExitCode::SUCCESS)
}
