//! `keyroll proof`: mint a proof of possession, or explain why the service would reject one.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use keyroll_proto::credential::serde_date;
use keyroll_proto::inspect::{self, InspectOptions, Report, Severity};
use keyroll_proto::proof::{self, GRAPH_AUDIENCE, ProofRequest};
use time::OffsetDateTime;

use crate::exit::{CmdResult, Failure};
use crate::output::{self, Format, OutputArgs};

#[derive(Subcommand, Debug)]
pub enum ProofCommand {
    /// Mint a proof for addKey/removeKey, signed by one of the object's current certificates. Prints the token
    /// alone on stdout.
    Mint(MintArgs),
    /// Report every reason the service would reject a proof. Exits 0 when it would be accepted, 1 when not.
    Inspect(InspectArgs),
}

#[derive(Args, Debug)]
pub struct MintArgs {
    /// The signing certificate with its private key: PFX/P12, or PEM with the key (or --key).
    #[arg(long, value_name = "FILE")]
    cert: PathBuf,
    /// A separate PEM private key for --cert.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Name of an environment variable holding the PFX password.
    #[arg(long, value_name = "VAR")]
    cert_password_env: Option<String>,
    /// The object id (not the appId) of the application or service principal whose keys change.
    #[arg(long, value_name = "GUID")]
    object_id: String,
    /// Lifetime in seconds (at most 600).
    #[arg(long, value_name = "SECS", default_value_t = proof::DEFAULT_LIFETIME_SECS)]
    lifetime: i64,
    /// Audience override.
    #[arg(long, value_name = "AUD", default_value = GRAPH_AUDIENCE)]
    audience: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The proof, or '-' to read it from standard input.
    token: String,
    /// The certificate that should have signed it (public .cer/.pem is enough; a PFX works too).
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// Name of an environment variable holding the password of a PFX given with --cert.
    #[arg(long, value_name = "VAR")]
    cert_password_env: Option<String>,
    /// The object id the proof is meant for (compared with iss).
    #[arg(long, value_name = "GUID")]
    object_id: Option<String>,
    /// The application's appId (client id), if known: lets the report say so when iss is the appId.
    #[arg(long, value_name = "GUID")]
    app_id: Option<String>,
    /// Expected audience.
    #[arg(long, value_name = "AUD")]
    audience: Option<String>,
    /// Judge at this time (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(command: ProofCommand) -> CmdResult {
    match command {
        ProofCommand::Mint(a) => mint(a),
        ProofCommand::Inspect(a) => inspect_cmd(a),
    }
}

/// Core says a PEM without its key needs the key "in the same file or as a separate key file"; here that is
/// `--key`.
fn key_advice(f: Failure) -> Failure {
    let no_key = f
        .error
        .chain()
        .filter_map(|e| e.downcast_ref::<crate::exit::Reported>())
        .any(|r| {
            r.original
                .downcast_ref::<keyroll_proto::cert::CertError>()
                .is_some_and(|e| matches!(e, keyroll_proto::cert::CertError::PemNoPrivateKey))
        });
    if !no_key {
        return f;
    }
    let message = format!(
        "{}; in keyroll: give its private key in the same file, or as a separate file with --key FILE",
        f.error
    );
    f.with_message(message)
}

fn mint(args: MintArgs) -> CmdResult {
    let object_id = proof::parse_object_id(&args.object_id)?;
    let identity = super::load_identity(
        "--cert",
        &args.cert,
        args.key.as_deref(),
        args.cert_password_env.as_deref(),
        "--cert-password-env",
    )
    .map_err(key_advice)?;
    let request = ProofRequest::new(object_id)
        .lifetime(args.lifetime)
        .audience(args.audience.clone());
    let now = OffsetDateTime::now_utc();
    proof::check_signer_valid(identity.certificate(), now)?;
    let token = proof::mint(&identity, &request, now)?;
    match args.output.format() {
        Format::Json => output::print_document(serde_json::json!({
            "proof": {
                "token": token.as_str(),
                "objectId": object_id,
                "audience": args.audience,
                "lifetimeSeconds": args.lifetime,
                "signerThumbprint": identity.certificate().sha1_hex(),
            }
        }))?,
        Format::Tsv => output::print_tsv(
            &[
                "token",
                "objectId",
                "audience",
                "lifetimeSeconds",
                "signerThumbprint",
            ],
            [vec![
                token.as_str().to_string(),
                object_id.to_string(),
                args.audience.clone(),
                args.lifetime.to_string(),
                identity.certificate().sha1_hex(),
            ]],
        ),
        Format::Table => println!("{}", token.as_str()),
    }
    Ok(ExitCode::SUCCESS)
}

fn read_token(arg: &str) -> Result<String, Failure> {
    if arg != "-" {
        return Ok(arg.to_string());
    }
    let mut buf = String::new();
    std::io::stdin()
        .take(keyroll_proto::jwt::MAX_TOKEN_LEN as u64 + 1)
        .read_to_string(&mut buf)
        .map_err(|e| {
            Failure::input(anyhow::anyhow!(
                "cannot read the proof from standard input: {e}"
            ))
        })?;
    Ok(buf)
}

fn parse_guid(what: &str, v: Option<&str>) -> Result<Option<uuid::Uuid>, Failure> {
    v.map(|s| {
        uuid::Uuid::parse_str(s.trim())
            .map_err(|_| Failure::input(anyhow::anyhow!("--{what} {s:?} is not a GUID")))
    })
    .transpose()
}

fn inspect_cmd(args: InspectArgs) -> CmdResult {
    let token = read_token(&args.token)?;
    let certs = match &args.cert {
        Some(p) => vec![
            super::load_public(
                "--cert",
                p,
                args.cert_password_env.as_deref(),
                "--cert-password-env",
            )?
            .certificate,
        ],
        None => Vec::new(),
    };
    let now = match &args.at {
        Some(t) => {
            serde_date::parse(t).map_err(|e| Failure::input(anyhow::anyhow!("--at: {e}")))?
        }
        None => OffsetDateTime::now_utc(),
    };
    let options = InspectOptions {
        certificates: &certs,
        expected_object_id: parse_guid("object-id", args.object_id.as_deref())?,
        app_id: parse_guid("app-id", args.app_id.as_deref())?,
        expected_audience: args.audience.as_deref(),
        now,
        // The service's tolerance, as the emulator and the client's pre-check judge: the same verdict everywhere.
        clock_skew_secs: inspect::SERVICE_CLOCK_SKEW_SECS,
    };
    let report = inspect::inspect(&token, &options);
    match args.output.format() {
        Format::Json => output::print_document(serde_json::json!({
            "inspection": {
                "accepted": report.accepted(),
                "header": report.header,
                "claims": report.claims,
                "findings": report.findings,
                "signer": report.signer,
                "signerThumbprint": report.signer_thumbprint,
            }
        }))?,
        Format::Tsv => output::print_tsv(
            &["severity", "code", "message"],
            report.findings.iter().map(|f| {
                vec![
                    severity_name(f.severity).to_string(),
                    code_name(f),
                    f.message.clone(),
                ]
            }),
        ),
        Format::Table => print_report(&report),
    }
    Ok(if report.accepted() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A severity as JSON spells it.
fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// A finding's code as JSON spells it.
fn code_name(f: &keyroll_proto::inspect::Finding) -> String {
    serde_json::to_value(f.code)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Text form of a report: decoded parts, then each finding, then the verdict.
pub fn print_report(report: &Report) {
    if let Some(h) = &report.header {
        println!("header: {h}");
    }
    if let Some(c) = &report.claims {
        println!("claims: {c}");
    }
    for f in &report.findings {
        let tag = match f.severity {
            Severity::Error => "ERROR",
            Severity::Warning => "warn ",
            Severity::Info => "info ",
        };
        println!("{tag} [{}] {}", code_name(f), f.message);
    }
    if let Some(t) = &report.signer_thumbprint {
        println!("signed by: {t}");
    }
    println!(
        "verdict: {}",
        if report.accepted() {
            "the service would accept this proof"
        } else {
            "the service would reject this proof (401 Authentication_MissingOrMalformed)"
        }
    );
}
