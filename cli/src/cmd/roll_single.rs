//! The one roll of `keyroll roll --cert … --new-cert …`: each certificate a file or a Key Vault certificate URL,
//! and with `--create-in-vault` the next version made in the vault (core decides which version: one an earlier
//! run made is used again).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use keyroll_client::graph::ObjectRef;
use keyroll_client::keyvault::{
    self, CreateOptions, KeyVaultClient, KeyVaultSigner, NewCertificatePolicy, NextVersionError,
    NextVersionSource, VaultCertificateRef,
};
use keyroll_client::roll::RollSpec;
use keyroll_client::settings::CertificateSource;
use keyroll_client::signer::SharedSigner;

use super::roll::RollArgs;
use crate::exit::Failure;

/// The one roll of `--cert`/`--new-cert`: its spec, the client id to sign in as (the app itself) when known, and
/// the vault with the certificate whose next version `--create-in-vault` makes.
pub(super) struct Single {
    pub(super) spec: RollSpec,
    pub(super) auth_client_id: Option<String>,
    pub(super) vault: Option<(KeyVaultClient, VaultCertificateRef)>,
    /// The vault client, when a certificate is in a vault (its request count is reported).
    pub(super) vault_client: Option<KeyVaultClient>,
}

/// The one spec of `--cert`/`--new-cert` (files or Key Vault certificate URLs). With `--create-in-vault` the
/// spec's new certificate is the current one until [`next_in_vault`] replaces it (the object must be read
/// first, through the client this spec's current certificate signs in with).
pub(super) fn single_spec(
    args: &RollArgs,
    rt: &tokio::runtime::Runtime,
) -> Result<Single, Failure> {
    let (Some(cert), Some(new_cert)) = (&args.cert, &args.new_cert) else {
        return Err(Failure::input(anyhow::anyhow!(
            "give --cert and --new-cert, or --plan"
        )));
    };
    let target = args.target.target()?;
    // Authenticating as the app itself needs its client id before anything is read: --client-id, or the appId
    // the target is addressed by. Verification always uses the object's own appId (core).
    let auth_client_id = args.conn.client_id.clone().or(match target.object {
        ObjectRef::AppId(a) => Some(a.to_string()),
        ObjectRef::Id(_) => None,
    });
    let current_source = super::certificate_source("--cert", cert)?;
    let new_source = super::certificate_source("--new-cert", new_cert)?;
    if args.create_in_vault && !matches!(new_source, CertificateSource::KeyVault(_)) {
        return Err(Failure::input(anyhow::anyhow!(
            "--create-in-vault: --new-cert {} is not a Key Vault certificate URL; give the vault certificate whose next version to create (https://<vault>.vault.azure.net/certificates/<name>)",
            new_cert.display()
        )));
    }
    let load = |flag: &str, path: &Path, password_env: Option<&str>, password_flag: &str| {
        super::load_identity(flag, path, None, password_env, password_flag)
            .map(|i| Arc::new(i) as SharedSigner)
    };
    // Files first: a current certificate in a file may be what signs in to the vault.
    let current_file = match &current_source {
        CertificateSource::File(p) => Some(load(
            "--cert",
            p,
            args.cert_password_env.as_deref(),
            "--cert-password-env",
        )?),
        CertificateSource::KeyVault(_) => None,
    };
    let new_file = match &new_source {
        CertificateSource::File(p) => Some(load(
            "--new-cert",
            p,
            args.new_cert_password_env.as_deref(),
            "--new-cert-password-env",
        )?),
        CertificateSource::KeyVault(_) => None,
    };
    let vault = if current_file.is_none() || new_file.is_none() {
        let mut conn = args.conn.clone();
        // A user's device-code sign-in goes through a public client, never the object's appId.
        if conn.client_id.is_none() && !conn.device_code {
            conn.client_id = auth_client_id.clone();
        }
        Some(conn.key_vault(current_file.clone())?)
    } else {
        None
    };
    // `--cert` naming the same vault certificate without a version: the version in use is read from the object
    // (core's roll_versions), after the Graph client exists; until then the spec holds a placeholder.
    let pair = args.create_in_vault
        && matches!((&current_source, &new_source), (CertificateSource::KeyVault(c), CertificateSource::KeyVault(n))
            if c.version().is_none() && c.vault() == n.vault() && c.name() == n.name());
    let current = match (current_file, &current_source, &vault) {
        (Some(c), _, _) => c,
        (None, CertificateSource::KeyVault(r), Some(v)) if pair => {
            // Both versions from the object's keys and the vault's versions (core's roll_versions), read through
            // the connection's own credential: the version in use is not known before.
            let mut conn = args.conn.clone();
            if conn.client_id.is_none() && !conn.device_code {
                conn.client_id = auth_client_id.clone();
            }
            let client = conn.client(None, rt)?;
            let (current, new) = next_in_vault(args, &client, v, r, true, &target, None, rt)?;
            let spec = RollSpec {
                target,
                current: current.unwrap_or_else(|| new.clone()),
                new,
                display_name: args.display_name.clone(),
                remove_old: args.remove_old,
                tenant: args.conn.tenant_id.clone(),
                client_id: None,
                verify_timeout: Duration::from_secs(args.verify_timeout),
            };
            return Ok(Single {
                spec,
                auth_client_id,
                vault: None,
                vault_client: Some(v.clone()),
            });
        }
        (None, CertificateSource::KeyVault(r), Some(v)) => super::open_vault("--cert", v, r, rt)?,
        _ => return Err(Failure::input(anyhow::anyhow!("--cert: no certificate"))),
    };
    let new = match (new_file, &new_source, &vault) {
        (Some(c), _, _) => c,
        // Replaced by next_in_vault once the object has been read.
        (None, CertificateSource::KeyVault(_), _) if args.create_in_vault => current.clone(),
        (None, CertificateSource::KeyVault(r), Some(v)) => {
            super::open_vault("--new-cert", v, r, rt)?
        }
        _ => {
            return Err(Failure::input(anyhow::anyhow!(
                "--new-cert: no certificate"
            )));
        }
    };
    let vault_client = vault.clone();
    let vault = match (vault, new_source) {
        (Some(v), CertificateSource::KeyVault(r)) if args.create_in_vault => Some((v, r)),
        _ => None,
    };
    let spec = RollSpec {
        target,
        current,
        new,
        display_name: args.display_name.clone(),
        remove_old: args.remove_old,
        tenant: args.conn.tenant_id.clone(),
        client_id: None,
        verify_timeout: Duration::from_secs(args.verify_timeout),
    };
    Ok(Single {
        spec,
        auth_client_id,
        vault,
        vault_client,
    })
}

/// `--create-in-vault`: the next version of the vault certificate (created, or the one an earlier run made:
/// core decides), opened as the roll's new certificate; with `pair`, the version in use too.
#[allow(clippy::too_many_arguments)]
pub(super) fn next_in_vault(
    args: &RollArgs,
    client: &keyroll_client::graph::GraphClient,
    vault: &KeyVaultClient,
    reference: &VaultCertificateRef,
    pair: bool,
    target: &keyroll_client::graph::Target,
    current: Option<&dyn keyroll_client::signer::Signer>,
    rt: &tokio::runtime::Runtime,
) -> Result<(Option<SharedSigner>, SharedSigner), Failure> {
    let wanted = NewCertificatePolicy {
        subject: args.subject.clone(),
        key_size: args.key_size,
        validity_months: args.validity_months,
    };
    let options = CreateOptions {
        max_wait: Duration::from_secs(args.vault_wait),
        ..CreateOptions::default()
    };
    let failure = |e: NextVersionError| match e {
        NextVersionError::Graph(g) => super::conn::graph_failure(g),
        NextVersionError::Vault(v) => super::vault_failure("--new-cert", v),
        other => Failure::of(other.kind(), other),
    };
    let (current, next) = if pair {
        let (current, next) = rt
            .block_on(keyvault::roll_versions_for(
                client, vault, target, reference, &wanted, options,
            ))
            .map_err(failure)?;
        eprintln!(
            "key vault: version {} of {} is in use",
            current.version(),
            reference.latest()
        );
        let signer = rt
            .block_on(KeyVaultSigner::from_version(vault, current))
            .map_err(|e| super::vault_failure("--cert", e))?;
        (Some(Arc::new(signer) as SharedSigner), next)
    } else {
        let current = current.ok_or_else(|| {
            Failure::input(anyhow::anyhow!(
                "--cert: the certificate in use now is needed"
            ))
        })?;
        let next = rt
            .block_on(keyvault::next_version_for(
                client,
                vault,
                target,
                reference,
                current.certificate(),
                &wanted,
                options,
            ))
            .map_err(failure)?;
        (None, next)
    };
    let said = match next.source {
        NextVersionSource::Created => "created",
        NextVersionSource::Completed => "completed (an earlier run's)",
        NextVersionSource::Reused => "made by an earlier run: rolling to it",
    };
    eprintln!(
        "key vault: version {} of {} {said}",
        next.version.version(),
        reference.latest()
    );
    let signer = rt
        .block_on(KeyVaultSigner::from_version(vault, next.version))
        .map_err(|e| super::vault_failure("--new-cert", e))?;
    Ok((current, Arc::new(signer)))
}
