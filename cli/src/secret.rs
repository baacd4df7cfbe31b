//! Passwords: from an environment variable the user names, or typed at a terminal — never from argv, where
//! any user of the machine can read them in the process list and shells keep them in history.

use std::io::IsTerminal;

use anyhow::{Context, bail};
use zeroize::Zeroizing;

/// Reads a secret from the environment variable `var`, which the option `flag` named; `what` says what the
/// secret is ("the password", "the access token"), for the message when the variable is not set.
pub fn from_env(var: &str, flag: &str, what: &str) -> anyhow::Result<Zeroizing<String>> {
    match std::env::var(var) {
        Ok(v) => Ok(Zeroizing::new(v)),
        Err(std::env::VarError::NotPresent) => bail!(
            "the environment variable {var} named by {flag} is not set; export it first (its value is {what})"
        ),
        Err(std::env::VarError::NotUnicode(_)) => {
            bail!("the environment variable {var} does not hold valid UTF-8")
        }
    }
}

/// The secret in the variable named by `env` (given with `flag`), if any.
pub fn optional(
    env: Option<&str>,
    flag: &str,
    what: &str,
) -> anyhow::Result<Option<Zeroizing<String>>> {
    env.map(|v| from_env(v, flag, what)).transpose()
}

/// Asks for a password on the terminal, when there is one.
pub fn prompt(what: &str) -> anyhow::Result<Option<Zeroizing<String>>> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Ok(None);
    }
    let pw = rpassword::prompt_password(format!("Password for {what}: "))
        .context("cannot read the password from the terminal")?;
    Ok(Some(Zeroizing::new(pw)))
}
