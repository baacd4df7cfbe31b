//! One module per command group; each only translates arguments into core calls and results into output.

pub mod auth;
pub mod cert;
pub mod conn;
pub mod demo;
pub mod interrupt;
pub mod key;
pub mod password;
pub mod proof;
pub mod roll;
pub mod roll_output;
pub mod roll_progress;
pub mod roll_single;
pub mod scan;
pub mod shell;

use std::path::Path;

use keyroll_proto::cert::{self as kcert, CertError, PublicCertificate, SigningIdentity};

use keyroll_client::keyvault::{
    KeyVaultClient, KeyVaultError, KeyVaultSigner, VaultCertificateRef,
};
use keyroll_client::settings::CertificateSource;
use keyroll_client::signer::SharedSigner;

use crate::exit::Failure;
use crate::secret;

/// What an option naming a certificate with its key names: a file, or a Key Vault certificate URL (core's one
/// reading of the user's words, `CertificateSource`).
pub fn certificate_source(flag: &str, path: &Path) -> Result<CertificateSource, Failure> {
    let text = path.to_string_lossy();
    CertificateSource::parse(&text).map_err(|e| {
        let message = format!("{flag}: {e}");
        Failure::key_vault(KeyVaultError::from(e), None).with_message(message)
    })
}

/// A Key Vault failure for the certificate given with `flag`, with this CLI's spelling of the fix where core
/// names it as a concept.
pub fn vault_failure(flag: &str, e: KeyVaultError) -> Failure {
    let advice = match &e {
        KeyVaultError::Token { source, .. }
            if matches!(
                **source,
                keyroll_client::auth::AuthError::GivenTokenIsForGraph { .. }
            ) =>
        {
            " (in keyroll: --vault-access-token-env VAR, or --managed-identity)"
        }
        KeyVaultError::KeyTooSmall { .. } => {
            " (in keyroll: roll --create-in-vault --key-size 2048)"
        }
        KeyVaultError::NotIssued { .. } => {
            " (in keyroll: roll --create-in-vault waits for a version an earlier run asked for)"
        }
        _ => "",
    };
    let message = format!("{flag}: {e}{advice}");
    Failure::key_vault(e, None).with_message(message)
}

/// Opens the vault certificate given with `flag` as a signer (its key stays in the vault).
pub fn open_vault(
    flag: &str,
    vault: &KeyVaultClient,
    reference: &VaultCertificateRef,
    rt: &tokio::runtime::Runtime,
) -> Result<SharedSigner, Failure> {
    let signer = rt
        .block_on(KeyVaultSigner::open(vault, reference))
        .map_err(|e| vault_failure(flag, e))?;
    Ok(std::sync::Arc::new(signer))
}

/// Loads a signing identity from `path`, given with `flag` (PFX or PEM; `key`, given with `--key`, names a
/// separate PEM key), with the password from the environment variable `password_env`, or asked for on a terminal
/// when the file turns out to need one. `password_flag` is the option that names the variable for this file
/// (`--cert-password-env`, ...): core's messages say "give its password", and this CLI says how.
pub fn load_identity(
    flag: &str,
    path: &Path,
    key: Option<&Path>,
    password_env: Option<&str>,
    password_flag: &str,
) -> Result<SigningIdentity, Failure> {
    let password = secret::optional(password_env, password_flag, "the file's password")?;
    let fail = |e| file_failure(e, flag, path, key, password_flag);
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

/// Loads a public certificate (the private-key guard applies) from `path`, given with `flag`.
pub fn load_public(
    flag: &str,
    path: &Path,
    password_env: Option<&str>,
    password_flag: &str,
) -> Result<PublicCertificate, Failure> {
    let password = secret::optional(password_env, password_flag, "the file's password")?;
    let fail = |e| file_failure(e, flag, path, None, password_flag);
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

/// A certificate file that could not be used, on one line: the option, the file, what is wrong (core's words),
/// then how to fix it in this CLI. (As an anyhow context the path would stand alone on the first line and the
/// problem on a "caused by" line below it.)
fn file_failure(
    e: CertError,
    flag: &str,
    path: &Path,
    key: Option<&Path>,
    password_flag: &str,
) -> Failure {
    // A separate key file that cannot be read is the fault of --key, not of the certificate's option.
    let (flag, path) = match (&e, key) {
        (CertError::Io { path: p, .. }, Some(k)) if *p == k.display().to_string() => ("--key", k),
        _ => (flag, path),
    };
    let problem = match &e {
        // Core's message repeats the path; here it leads the line already.
        CertError::Io { error, .. } => format!("cannot read the file: {error}"),
        other => other.to_string(),
    };
    let advice = match &e {
        CertError::PfxPasswordRequired | CertError::PfxWrongPassword => format!(
            "; give the password in an environment variable named with {password_flag} (or type it when asked, at a terminal)"
        ),
        _ => String::new(),
    };
    let message = match key {
        // Parsed together: the problem may be in either file.
        Some(k) if flag != "--key" => format!(
            "{flag} {} with --key {}: {problem}{advice}",
            path.display(),
            k.display()
        ),
        _ => format!("{flag} {}: {problem}{advice}", path.display()),
    };
    Failure::local(e.kind(), "certificate", e).with_message(message)
}
