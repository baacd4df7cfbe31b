//! `keyroll key add|remove|list`: the calls behind New-EntraMSApplicationKey and friends.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use keyroll_client::graph::{GraphError, Refusal};
use keyroll_client::roll;
use keyroll_client::signer::{self, SharedSigner};
use keyroll_proto::credential::{
    AddKeyRequest, CredentialKind, KeyCredentialBuilder, PasswordCredential, serde_date,
};
use keyroll_proto::proof::ProofRequest;
use time::OffsetDateTime;

use super::conn::{ConnArgs, TargetArgs, graph_failure, runtime};
use crate::exit::{CmdResult, Failure};
use crate::output::{self, Format, OutputArgs};
use crate::secret;

#[allow(clippy::large_enum_variant)] // parsed once per process
#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Add a certificate as a key credential (Graph addKey).
    Add(AddArgs),
    /// Remove a key credential (Graph removeKey).
    Remove(RemoveArgs),
    /// List the key credentials with thumbprints, validity, days left and which key would sign.
    List(ListArgs),
}

#[derive(Args, Debug)]
pub struct ProofArgs {
    /// A proof minted elsewhere (checked locally first; one that would fail is not sent).
    #[arg(long, value_name = "JWT", conflicts_with = "cert")]
    proof: Option<String>,
    /// One of the object's current certificates, with its key (a PFX/PEM file, or a Key Vault certificate URL whose key signs in the vault): the proof is minted on the spot (and, with
    /// --tenant-id/--client-id, it also authenticates the app).
    #[arg(long, value_name = "FILE|URL")]
    cert: Option<PathBuf>,
    /// Name of an environment variable holding the password of --cert.
    #[arg(long, value_name = "VAR")]
    cert_password_env: Option<String>,
}

#[derive(Args, Debug)]
pub struct AddArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The certificate to add: .cer/.pem, or a PFX/PEM bundle from which only the certificate is taken.
    #[arg(long, value_name = "FILE")]
    new_cert: PathBuf,
    /// Name of an environment variable holding the password of a PFX given as --new-cert.
    #[arg(long, value_name = "VAR")]
    new_cert_password_env: Option<String>,
    /// Key type: AsymmetricX509Cert (default) or X509CertAndPassword.
    #[arg(long = "type", value_name = "T", default_value = "AsymmetricX509Cert")]
    key_type: String,
    /// Key usage: Verify (default) or Sign.
    #[arg(long, value_name = "U", default_value = "Verify")]
    usage: String,
    /// For X509CertAndPassword: environment variable holding the key's password.
    #[arg(long, value_name = "VAR")]
    key_password_env: Option<String>,
    /// Display name (default: the certificate's subject; at most 90 characters).
    #[arg(long, value_name = "NAME")]
    display_name: Option<String>,
    /// Start of validity (ISO 8601; default: the certificate's).
    #[arg(long, value_name = "TIME")]
    start: Option<String>,
    /// End of validity (ISO 8601; default: the certificate's).
    #[arg(long, value_name = "TIME")]
    end: Option<String>,
    /// Repair an object that has no valid certificate left (addKey needs a proof signed by one): add the
    /// certificate by PATCH of the object's whole keyCredentials collection instead, sending every existing key
    /// back by its keyId so that none is lost. Needs a sign-in holding Application.ReadWrite.All (or
    /// Application.ReadWrite.OwnedBy as an owner); an app cannot repair itself with its own token. No proof is
    /// used. Replaces the collection: run it when no other tool is writing the object's keys.
    #[arg(long, conflicts_with_all = ["proof", "key_password_env"])]
    repair: bool,
    #[command(flatten)]
    proof: ProofArgs,
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct RemoveArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The keyId to remove.
    #[arg(long, value_name = "GUID", required_unless_present_any = ["thumbprint", "remove_cert"])]
    key_id: Option<String>,
    /// Remove the key with this SHA-1 (or SHA-256) thumbprint.
    #[arg(long, value_name = "HEX")]
    thumbprint: Option<String>,
    /// Remove the key holding this certificate.
    #[arg(long, value_name = "FILE")]
    remove_cert: Option<PathBuf>,
    /// Name of an environment variable holding the password of a PFX given as --remove-cert.
    #[arg(long, value_name = "VAR", requires = "remove_cert")]
    remove_cert_password_env: Option<String>,
    /// Remove it even if it is the object's last currently valid certificate (the object could then no longer
    /// use addKey; only a PATCH of all its keys would repair it).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    proof: ProofArgs,
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Mark the key of this certificate as the one that would sign proofs (its key is not needed).
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// Name of an environment variable holding the password of --cert.
    #[arg(long, value_name = "VAR")]
    cert_password_env: Option<String>,
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(command: KeyCommand) -> CmdResult {
    match command {
        KeyCommand::Add(a) => add(a),
        KeyCommand::Remove(a) => remove(a),
        KeyCommand::List(a) => list(a),
    }
}

fn parse_time(flag: &str, v: Option<&str>) -> Result<Option<OffsetDateTime>, Failure> {
    v.map(|s| serde_date::parse(s).map_err(|e| Failure::input(anyhow::anyhow!("--{flag}: {e}"))))
        .transpose()
}

/// Where the proof comes from: given, or minted with a current certificate.
enum ProofSource {
    Given(String),
    Mint(SharedSigner),
}

impl ProofSource {
    fn from_args(
        p: &ProofArgs,
        conn: &super::conn::ConnArgs,
        rt: &tokio::runtime::Runtime,
    ) -> Result<Self, Failure> {
        match (&p.proof, &p.cert) {
            (Some(proof), _) => Ok(ProofSource::Given(proof.clone())),
            (None, Some(c)) if keyroll_client::keyvault::is_url(&c.to_string_lossy()) => {
                match super::certificate_source("--cert", c)? {
                    keyroll_client::settings::CertificateSource::KeyVault(r) => {
                        let vault = conn.key_vault(None)?;
                        Ok(ProofSource::Mint(super::open_vault(
                            "--cert", &vault, &r, rt,
                        )?))
                    }
                    keyroll_client::settings::CertificateSource::File(_) => Err(Failure::input(
                        anyhow::anyhow!("--cert {}: not a Key Vault certificate URL", c.display()),
                    )),
                }
            }
            (None, Some(c)) => Ok(ProofSource::Mint(Arc::new(super::load_identity(
                "--cert",
                c,
                None,
                p.cert_password_env.as_deref(),
                "--cert-password-env",
            )?) as SharedSigner)),
            // Signed in as a user: the user's token does not replace the proof, and core says why.
            (None, None) if conn.device_code => Err(Failure::input(anyhow::anyhow!(
                "give --cert (one of the object's current certificates, to mint the proof) or --proof: signed in with --device-code, {}",
                keyroll_client::graph::DELEGATED_PROOF_NOTE
            ))),
            (None, None) => Err(Failure::input(anyhow::anyhow!(
                "give --cert (one of the object's current certificates, to mint the proof) or --proof"
            ))),
        }
    }
    fn identity(&self) -> Option<SharedSigner> {
        match self {
            ProofSource::Mint(id) => Some(id.clone()),
            ProofSource::Given(_) => None,
        }
    }
    async fn proof_for(
        &self,
        object_id: uuid::Uuid,
        now: OffsetDateTime,
    ) -> Result<String, GraphError> {
        match self {
            ProofSource::Given(p) => Ok(p.clone()),
            ProofSource::Mint(id) => {
                signer::mint_proof(id.as_ref(), &ProofRequest::new(object_id), now)
                    .await
                    .map(|p| p.into_string())
                    .map_err(GraphError::from)
            }
        }
    }
}

fn add(args: AddArgs) -> CmdResult {
    let target = args.target.target()?;
    let public = super::load_public(
        "--new-cert",
        &args.new_cert,
        args.new_cert_password_env.as_deref(),
        "--new-cert-password-env",
    )?;
    if let Some(n) = &public.notice {
        eprintln!("note: {n}");
    }
    let kind = CredentialKind::from_type_and_usage(&args.key_type, &args.usage).ok_or_else(|| {
        Failure::input(anyhow::anyhow!(
            "--type {} with --usage {} is not accepted; use AsymmetricX509Cert + Verify, or X509CertAndPassword + Sign",
            args.key_type,
            args.usage
        ))
    })?;
    if args.repair && kind != CredentialKind::Verify {
        return Err(Failure::input(anyhow::anyhow!(
            "--repair adds AsymmetricX509Cert + Verify keys only; drop --type/--usage"
        )));
    }
    let password_credential = match kind {
        CredentialKind::SignWithPassword => {
            let var = args.key_password_env.as_deref().ok_or_else(|| {
                Failure::input(anyhow::anyhow!(
                    "X509CertAndPassword needs --key-password-env VAR naming the variable that holds the key's password"
                ))
            })?;
            Some(PasswordCredential::with_secret(
                secret::from_env(var, "--key-password-env", "the key's password")?.as_str(),
            ))
        }
        CredentialKind::Verify => None,
    };
    let mut builder = KeyCredentialBuilder::new(public.certificate.clone())
        .kind(kind)
        .start(parse_time("start", args.start.as_deref())?)
        .end(parse_time("end", args.end.as_deref())?);
    if let Some(n) = &args.display_name {
        builder = builder.display_name(n.clone());
    }
    let built = builder.build()?;
    for w in &built.warnings {
        eprintln!("note: {w}");
    }
    let rt = runtime()?;
    if args.repair {
        return repair(
            &args,
            &target,
            &public.certificate,
            built.key_credential,
            &rt,
        );
    }
    let source = ProofSource::from_args(&args.proof, &args.conn, &rt)?;
    let client = args.conn.client(source.identity(), &rt)?;
    let outcome = rt.block_on(async {
        // One read serves both the proof (which needs the object id) and addKey's own checks.
        let current = client.resolve(&target).await?;
        let request = AddKeyRequest {
            key_credential: built.key_credential,
            password_credential,
            proof: source.proof_for(current.id, client.clock().now()).await?,
        };
        client
            .add_key_resolved(&target, &current, &request, &public.certificate)
            .await
    });
    let outcome = outcome.map_err(graph_failure)?;
    if !outcome.duplicates_removed.is_empty() {
        eprintln!(
            "note: a retry after a lost answer had added the certificate again; the copy was removed ({})",
            outcome
                .duplicates_removed
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
    }
    let k = &outcome.credential;
    match args.output.format() {
        Format::Json => output::print_document(serde_json::json!({
            "key": k,
            "thumbprint": public.certificate.sha1_hex(),
            "recovered": outcome.recovered,
            "duplicatesRemoved": outcome.duplicates_removed,
            "warnings": outcome.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
        }))?,
        Format::Tsv => output::print_tsv(
            &[
                "keyId",
                "thumbprint",
                "displayName",
                "startDateTime",
                "endDateTime",
                "recovered",
            ],
            [vec![
                output::opt(k.key_id),
                public.certificate.sha1_hex(),
                output::opt(k.display_name.as_deref()),
                output::opt(k.start_date_time.map(serde_date::format)),
                output::opt(k.end_date_time.map(serde_date::format)),
                outcome.recovered.to_string(),
            ]],
        ),
        Format::Table => println!(
            "added key {} to the {target}: thumbprint {}, {}, valid {} to {}{}",
            k.key_id.map(|i| i.to_string()).unwrap_or_default(),
            public.certificate.sha1_hex(),
            k.display_name.as_deref().unwrap_or(""),
            k.start_date_time
                .map(serde_date::format)
                .unwrap_or_default(),
            k.end_date_time.map(serde_date::format).unwrap_or_default(),
            if outcome.recovered {
                " (the answer was lost; confirmed by reading the keys)"
            } else {
                ""
            }
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// `key add --repair`: the new certificate by PATCH of the whole collection (`GraphClient::repair_key`), signed
/// in with `--cert` when given (no proof is made), else with the connection's own credential.
fn repair(
    args: &AddArgs,
    target: &keyroll_client::graph::Target,
    certificate: &keyroll_proto::cert::Certificate,
    new_key: keyroll_proto::credential::KeyCredential,
    rt: &tokio::runtime::Runtime,
) -> CmdResult {
    let identity = match &args.proof.cert {
        Some(_) => ProofSource::from_args(&args.proof, &args.conn, rt)?.identity(),
        None => None,
    };
    let client = args.conn.client(identity, rt)?;
    eprintln!(
        "note: --repair replaces the whole keyCredentials collection of the {target} by PATCH (needs Application.ReadWrite.All, or Application.ReadWrite.OwnedBy as an owner); every existing key is sent back by its keyId and kept"
    );
    let outcome = rt
        .block_on(client.repair_key(target, new_key))
        .map_err(graph_failure)?;
    let k = &outcome.credential;
    match args.output.format() {
        Format::Json => output::print_document(serde_json::json!({
            "key": k,
            "thumbprint": certificate.sha1_hex(),
            "repaired": true,
            "kept": outcome.kept,
            "keysBefore": outcome.keys_before,
            "keysAfter": outcome.keys_after,
            "restarts": outcome.restarts,
            "recovered": outcome.recovered,
        }))?,
        Format::Tsv => output::print_tsv(
            &[
                "keyId",
                "thumbprint",
                "keysBefore",
                "keysAfter",
                "recovered",
            ],
            [vec![
                output::opt(k.key_id),
                certificate.sha1_hex(),
                outcome.keys_before.to_string(),
                outcome.keys_after.to_string(),
                outcome.recovered.to_string(),
            ]],
        ),
        Format::Table => println!(
            "repaired the {target}: added key {} (thumbprint {}, valid {} to {}) by PATCH, keeping all {} existing keys ({} keys now)",
            k.key_id.map(|i| i.to_string()).unwrap_or_default(),
            certificate.sha1_hex(),
            k.start_date_time
                .map(serde_date::format)
                .unwrap_or_default(),
            k.end_date_time.map(serde_date::format).unwrap_or_default(),
            outcome.keys_before,
            outcome.keys_after,
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn remove(args: RemoveArgs) -> CmdResult {
    let target = args.target.target()?;
    let rt = runtime()?;
    let source = ProofSource::from_args(&args.proof, &args.conn, &rt)?;
    let remove_cert = args
        .remove_cert
        .as_ref()
        .map(|p| {
            super::load_public(
                "--remove-cert",
                p,
                args.remove_cert_password_env.as_deref(),
                "--remove-cert-password-env",
            )
            .map(|c| c.certificate)
        })
        .transpose()?;
    let client = args.conn.client(source.identity(), &rt)?;
    let removed = rt
        .block_on(async {
            let keys = client.resolve(&target).await?;
            let key_id = match (&args.key_id, &args.thumbprint, &remove_cert) {
                (Some(k), _, _) => uuid::Uuid::parse_str(k.trim())
                    .map_err(|_| GraphError::Refused(Refusal::KeyIdNotGuid { given: k.clone() }))?,
                (None, Some(t), _) => find_key(&keys.keys, |k| {
                    k.certificate().is_some_and(|c| c.matches_thumbprint(t))
                        || k.thumbprint()
                            .is_some_and(|tp| tp.eq_ignore_ascii_case(t.trim()))
                })
                .ok_or_else(|| not_found(&format!("thumbprint {t}")))?,
                (None, None, Some(c)) => find_key(&keys.keys, |k| k.is_certificate(c))
                    .ok_or_else(|| not_found(&format!("certificate {}", c.sha1_hex())))?,
                _ => return Err(not_found("--key-id, --thumbprint or --remove-cert")),
            };
            let proof = source.proof_for(keys.id, client.clock().now()).await?;
            client
                .remove_key(&target.with_object_id(keys.id), key_id, &proof, args.force)
                .await?;
            if args.force
                && let Some(w) = keyroll_proto::key_status::forced_last_valid_removal(
                    &keys.keys,
                    key_id,
                    client.clock().now(),
                    &target.to_string(),
                )
            {
                eprintln!("warning: {w}");
            }
            Ok::<_, GraphError>(key_id)
        })
        .map_err(graph_failure)?;
    match args.output.format() {
        Format::Json => output::print_document(serde_json::json!({ "removedKeyId": removed }))?,
        Format::Tsv => output::print_tsv(&["removedKeyId"], [vec![removed.to_string()]]),
        Format::Table => println!("removed key {removed} from the {target}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn find_key(
    keys: &[keyroll_proto::credential::KeyCredential],
    pred: impl Fn(&keyroll_proto::credential::KeyCredential) -> bool,
) -> Option<uuid::Uuid> {
    keys.iter().find(|k| pred(k)).and_then(|k| k.key_id)
}

fn not_found(what: &str) -> GraphError {
    GraphError::Refused(Refusal::NoMatchingKey { what: what.into() })
}

fn list(args: ListArgs) -> CmdResult {
    let target = args.target.target()?;
    let cert = args
        .cert
        .as_ref()
        .map(|p| {
            super::load_public(
                "--cert",
                p,
                args.cert_password_env.as_deref(),
                "--cert-password-env",
            )
            .map(|c| c.certificate)
        })
        .transpose()?;
    let rt = runtime()?;
    let client = args.conn.client(None, &rt)?;
    let keys = rt
        .block_on(client.resolve(&target))
        .map_err(graph_failure)?;
    let now = OffsetDateTime::now_utc();
    let rows = roll::summarize(&keys.keys, now, cert.as_ref());
    match args.output.format() {
        Format::Json => {
            output::print_document(serde_json::json!({
                "objectId": keys.id,
                "keys": keys.keys,
                "summary": rows,
            }))?;
            return Ok(ExitCode::SUCCESS);
        }
        Format::Tsv => {
            output::print_tsv(
                &[
                    "keyId",
                    "thumbprint",
                    "displayName",
                    "endDateTime",
                    "daysLeft",
                    "status",
                    "signs",
                ],
                rows.into_iter().map(|r| {
                    vec![
                        output::opt(r.key_id),
                        output::opt(r.thumbprint),
                        output::opt(r.display_name),
                        output::opt(r.end_date_time),
                        output::opt(r.days_left),
                        r.status.to_string(),
                        r.signs.to_string(),
                    ]
                }),
            );
            return Ok(ExitCode::SUCCESS);
        }
        Format::Table => {}
    }
    println!(
        "{} key credential(s) on the {} (object id {})",
        rows.len(),
        target,
        keys.id
    );
    println!(
        "{:<36}  {:<40}  {:<20}  {:>9}  {:<13}  signs",
        "keyId", "thumbprint", "valid until", "days left", "status"
    );
    for r in rows {
        println!(
            "{:<36}  {:<40}  {:<20}  {:>9}  {:<13}  {}",
            r.key_id.map(|k| k.to_string()).unwrap_or_default(),
            r.thumbprint.unwrap_or_default(),
            r.end_date_time.unwrap_or_default(),
            r.days_left.map(|d| d.to_string()).unwrap_or_default(),
            r.status,
            if r.signs { "yes" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
