//! Passwords: from an environment variable the user names, or typed at a terminal — never from argv, where
//! any user of the machine can read them in the process list and shells keep them in history.

use std::io::IsTerminal;

use anyhow::{Context, bail};
use zeroize::Zeroizing;

/// Whether `name` can be the name of an environment variable: letters, digits and `_`, not starting with a digit.
/// Anything else (`S3cret!pw`) is most likely the secret itself, typed where its variable's name goes.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads a secret from the environment variable `var`, which the option `flag` named; `what` says what the
/// secret is ("the file's password", "the access token"), for the message when it cannot be read.
///
/// The value given with `flag` is never shown when it is not a variable name or names no variable: it is then
/// most likely the secret itself, typed in the wrong place, and error output ends up in logs and tickets.
pub fn from_env(var: &str, flag: &str, what: &str) -> anyhow::Result<Zeroizing<String>> {
    if !is_variable_name(var) {
        bail!(
            "{flag} names an environment variable (the value given is not shown, and is not a variable name); set a variable to {what} and give its name with {flag}"
        );
    }
    match std::env::var(var) {
        Ok(v) if v.is_empty() => bail!(
            "{flag}: the environment variable it names is empty (the name given is not shown); set it to {what}, or give the name of the variable that holds it"
        ),
        Ok(v) => Ok(Zeroizing::new(v)),
        Err(std::env::VarError::NotPresent) => bail!(
            "{flag}: the environment variable it names is not set (the name given is not shown, in case it is the secret itself); export it first, holding {what}, and give its name with {flag}"
        ),
        Err(std::env::VarError::NotUnicode(_)) => {
            bail!("{flag}: the environment variable it names does not hold valid UTF-8")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names_and_not() {
        for ok in ["PFX_PW", "_x", "a1"] {
            assert!(is_variable_name(ok), "{ok}");
        }
        for bad in ["", "S3cret!pw", "1ABC", "A-B", "pass word", "A=B"] {
            assert!(!is_variable_name(bad), "{bad}");
        }
    }
}
