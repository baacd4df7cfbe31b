//! One module per command group; each only translates arguments into core calls and results into output.

pub mod cert;
pub mod conn;
pub mod demo;
pub mod interrupt;
pub mod key;
pub mod proof;
pub mod roll;
pub mod roll_progress;
pub mod scan;

use std::path::Path;

use keyroll_proto::cert::{self as kcert, CertError, PublicCertificate, SigningIdentity};

use crate::exit::Failure;
use crate::secret;

/// Loads a signing identity from `path` (PFX or PEM; `key` names a separate PEM key), with the password from
/// the environment variable `password_env`, or asked for on a terminal when the file turns out to need one.
/// `password_flag` is the option that names the variable for this file (`--cert-password-env`, ...): core's
/// messages say "give its password", and this CLI says how.
pub fn load_identity(
    path: &Path,
    key: Option<&Path>,
    password_env: Option<&str>,
    password_flag: &'static str,
) -> Result<SigningIdentity, Failure> {
    let password = secret::optional(password_env, password_flag, "the file's password")?;
    let fail = |e| with_path(e, path, password_flag);
    match SigningIdentity::load_file(path, key, password.as_deref().map(String::as_str)) {
        Err(CertError::PfxPasswordRequired) if password.is_none() => {
            match secret::prompt(&path.display().to_string())? {
                Some(pw) => {
                    Ok(SigningIdentity::load_file(path, key, Some(pw.as_str())).map_err(fail)?)
                }
                None => Err(fail(CertError::PfxPasswordRequired)),
            }
        }
        other => Ok(other.map_err(fail)?),
    }
}

/// Loads a public certificate (the private-key guard applies) from `path`.
pub fn load_public(
    path: &Path,
    password_env: Option<&str>,
    password_flag: &'static str,
) -> Result<PublicCertificate, Failure> {
    let password = secret::optional(password_env, password_flag, "the file's password")?;
    let fail = |e| with_path(e, path, password_flag);
    let bytes = kcert::read_file(path).map_err(fail)?;
    match kcert::load_public_certificate(&bytes, password.as_deref().map(String::as_str)) {
        Err(CertError::PfxPasswordRequired) if password.is_none() => {
            match secret::prompt(&path.display().to_string())? {
                Some(pw) => {
                    Ok(kcert::load_public_certificate(&bytes, Some(pw.as_str())).map_err(fail)?)
                }
                None => Err(fail(CertError::PfxPasswordRequired)),
            }
        }
        other => Ok(other.map_err(fail)?),
    }
}

/// A certificate error with its file, and this CLI's way to give what core says is missing.
fn with_path(e: CertError, path: &Path, password_flag: &'static str) -> Failure {
    let context = match e {
        CertError::PfxPasswordRequired | CertError::PfxWrongPassword => format!(
            "{}: give the password with {password_flag} VAR, naming an environment variable that holds it (or type it when asked, at a terminal)",
            path.display()
        ),
        _ => path.display().to_string(),
    };
    Failure::of(e.kind(), anyhow::Error::new(e).context(context))
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(Failure::input)?;
    println!("{text}");
    Ok(())
}
