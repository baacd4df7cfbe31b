//! Passwords: from an environment variable the user names, or typed at a terminal — never from argv, where
//! any user of the machine can read them in the process list and shells keep them in history.

use std::io::IsTerminal;

use anyhow::{Context, bail};
use zeroize::Zeroizing;

/// Reads the password from the environment variable `var`.
pub fn from_env(var: &str) -> anyhow::Result<Zeroizing<String>> {
    match std::env::var(var) {
        Ok(v) => Ok(Zeroizing::new(v)),
        Err(std::env::VarError::NotPresent) => bail!(
            "the environment variable {var} named by the password option is not set; export it first (its value is the password)"
        ),
        Err(std::env::VarError::NotUnicode(_)) => {
            bail!("the environment variable {var} does not hold valid UTF-8")
        }
    }
}

/// The password named by `env`, if any.
pub fn optional(env: Option<&str>) -> anyhow::Result<Option<Zeroizing<String>>> {
    env.map(from_env).transpose()
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
