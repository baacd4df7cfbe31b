//! One module per command group; each only translates arguments into core calls and results into output.

pub mod cert;
pub mod conn;
pub mod demo;
pub mod key;
pub mod proof;
pub mod roll;

use std::path::Path;

use keyroll_proto::cert::{self as kcert, CertError, PublicCertificate, SigningIdentity};

use crate::exit::Failure;
use crate::secret;

/// Loads a signing identity from `path` (PFX or PEM; `key` names a separate PEM key), with the password from
/// the environment variable `password_env`, or asked for on a terminal when the file turns out to need one.
pub fn load_identity(
    path: &Path,
    key: Option<&Path>,
    password_env: Option<&str>,
) -> Result<SigningIdentity, Failure> {
    let password = secret::optional(password_env)?;
    match SigningIdentity::load_file(path, key, password.as_deref().map(String::as_str)) {
        Err(CertError::PfxPasswordRequired) if password.is_none() => {
            match secret::prompt(&path.display().to_string())? {
                Some(pw) => Ok(SigningIdentity::load_file(path, key, Some(pw.as_str()))
                    .map_err(|e| with_path(e, path))?),
                None => Err(with_path(CertError::PfxPasswordRequired, path)),
            }
        }
        other => Ok(other.map_err(|e| with_path(e, path))?),
    }
}

/// Loads a public certificate (the private-key guard applies) from `path`.
pub fn load_public(path: &Path, password_env: Option<&str>) -> Result<PublicCertificate, Failure> {
    let password = secret::optional(password_env)?;
    let bytes = kcert::read_file(path).map_err(|e| with_path(e, path))?;
    match kcert::load_public_certificate(&bytes, password.as_deref().map(String::as_str)) {
        Err(CertError::PfxPasswordRequired) if password.is_none() => {
            match secret::prompt(&path.display().to_string())? {
                Some(pw) => Ok(kcert::load_public_certificate(&bytes, Some(pw.as_str()))
                    .map_err(|e| with_path(e, path))?),
                None => Err(with_path(CertError::PfxPasswordRequired, path)),
            }
        }
        other => Ok(other.map_err(|e| with_path(e, path))?),
    }
}

fn with_path(e: CertError, path: &Path) -> Failure {
    Failure::input(anyhow::Error::new(e).context(format!("{}", path.display())))
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(Failure::input)?;
    println!("{text}");
    Ok(())
}
