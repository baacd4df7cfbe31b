//! `keyroll cert`: inspect a certificate file, or create a throw-away one for rehearsals.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use keyroll_proto::cert::{KeyAlgorithm, SigningIdentity, generate};
use keyroll_proto::credential::serde_date;
use serde::Serialize;
use time::OffsetDateTime;

use crate::exit::{CmdResult, Failure};
use crate::output::{self, OutputArgs};
use crate::secret;

#[derive(Subcommand, Debug)]
pub enum CertCommand {
    /// Show a certificate's thumbprints, validity and key, and whether it can sign proofs.
    ///
    /// Reads PFX/P12 (any encryption), PEM (certificate, optionally with its key), DER (.cer) or base64 text.
    Inspect(InspectArgs),
    /// Create a self-signed RSA certificate with its key (for rehearsals against the emulator).
    New(NewArgs),
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The certificate file.
    file: PathBuf,
    /// Name of an environment variable holding the PFX password (never the password itself).
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum Format {
    /// Certificate and PKCS#8 key in one PEM file.
    Pem,
    /// A PKCS#12 archive (AES-256), protected by the password named with --password-env.
    Pfx,
}

#[derive(Args, Debug)]
pub struct NewArgs {
    /// Common name of the subject.
    #[arg(long, default_value = "keyroll rehearsal")]
    subject: String,
    /// Days of validity, from now.
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// RSA key size.
    #[arg(long, default_value_t = 2048, value_parser = parse_bits)]
    bits: usize,
    /// Output file holding certificate and private key.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Pem)]
    format: Format,
    /// For --format pfx: environment variable holding the password to protect the file with.
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Also write the public certificate alone (DER, .cer) to this file.
    #[arg(long, value_name = "FILE")]
    public_out: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CertView {
    subject: String,
    issuer: String,
    serial: String,
    thumbprint_sha1: String,
    thumbprint_sha256: String,
    x5t: String,
    not_before: String,
    not_after: String,
    status: &'static str,
    days_left: i64,
    key: KeyAlgorithm,
    private_key: &'static str,
    can_sign_proofs: bool,
    problems: Vec<String>,
    notice: Option<String>,
}

fn parse_bits(s: &str) -> Result<usize, String> {
    match s {
        "2048" | "3072" | "4096" => s.parse().map_err(|_| s.to_string()),
        _ => Err(format!(
            "{s} is not a supported RSA size; use 2048, 3072 or 4096"
        )),
    }
}

pub fn run(command: CertCommand) -> CmdResult {
    match command {
        CertCommand::Inspect(a) => inspect(a),
        CertCommand::New(a) => new(a),
    }
}

fn inspect(args: InspectArgs) -> CmdResult {
    let public = super::load_public(
        FILE_ARG,
        &args.file,
        args.password_env.as_deref(),
        "--password-env",
    )?;
    let cert = &public.certificate;
    let now = OffsetDateTime::now_utc();
    let mut problems = Vec::new();
    // A private key is only looked for when the input could carry one; its absence is not a problem.
    let private_key = if public
        .notice
        .as_deref()
        .is_some_and(|n| n.contains("private key"))
    {
        match super::load_identity(
            FILE_ARG,
            &args.file,
            None,
            args.password_env.as_deref(),
            "--password-env",
        ) {
            Ok(_) => "present",
            Err(f) => {
                problems.push(f.error.to_string());
                "present, unusable"
            }
        }
    } else {
        "absent"
    };
    if let Err(e) = cert.check_signing_key() {
        problems.push(e.to_string());
    }
    let status = match cert.validity_at(now) {
        keyroll_proto::cert::Validity::Valid => "valid",
        keyroll_proto::cert::Validity::Expired => {
            problems.push(format!(
                "expired at {}: the service accepts neither proofs signed by it nor it as a new key",
                serde_date::format(cert.not_after())
            ));
            "expired"
        }
        keyroll_proto::cert::Validity::NotYetValid => {
            problems.push(format!(
                "not valid until {}",
                serde_date::format(cert.not_before())
            ));
            "not yet valid"
        }
    };
    let view = CertView {
        subject: cert.subject().into(),
        issuer: cert.issuer().into(),
        serial: cert.serial().into(),
        thumbprint_sha1: cert.sha1_hex(),
        thumbprint_sha256: cert.sha256_hex(),
        x5t: cert.x5t(),
        not_before: serde_date::format(cert.not_before()),
        not_after: serde_date::format(cert.not_after()),
        status,
        days_left: (cert.not_after() - now).whole_days(),
        key: cert.key_algorithm().clone(),
        private_key,
        can_sign_proofs: private_key == "present"
            && cert.check_signing_key().is_ok()
            && status == "valid",
        problems,
        notice: public.notice.clone(),
    };
    match args.output.format() {
        output::Format::Json => output::print_document(serde_json::json!({ "certificate": view }))?,
        output::Format::Tsv => output::print_tsv(
            &[
                "subject",
                "issuer",
                "serial",
                "thumbprintSha1",
                "thumbprintSha256",
                "x5t",
                "notBefore",
                "notAfter",
                "status",
                "daysLeft",
                "key",
                "privateKey",
                "canSignProofs",
                "problems",
            ],
            [vec![
                view.subject.clone(),
                view.issuer.clone(),
                view.serial.clone(),
                view.thumbprint_sha1.clone(),
                view.thumbprint_sha256.clone(),
                view.x5t.clone(),
                view.not_before.clone(),
                view.not_after.clone(),
                view.status.to_string(),
                view.days_left.to_string(),
                view.key.to_string(),
                view.private_key.to_string(),
                view.can_sign_proofs.to_string(),
                view.problems.join("; "),
            ]],
        ),
        output::Format::Table => print_view(&view),
    }
    Ok(ExitCode::SUCCESS)
}

/// The text form of `cert inspect`.
fn print_view(view: &CertView) {
    println!("Subject:        {}", view.subject);
    println!("Issuer:         {}", view.issuer);
    println!("Serial:         {}", view.serial);
    println!("Thumbprint:     {} (SHA-1)", view.thumbprint_sha1);
    println!("SHA-256:        {}", view.thumbprint_sha256);
    println!("x5t:            {}", view.x5t);
    println!("Valid from:     {}", view.not_before);
    println!(
        "Valid until:    {} ({}, {} days left)",
        view.not_after, view.status, view.days_left
    );
    println!("Key:            {}", view.key);
    println!("Private key:    {}", view.private_key);
    println!(
        "Signs proofs:   {}",
        if view.can_sign_proofs { "yes" } else { "no" }
    );
    for p in &view.problems {
        println!("Problem:        {p}");
    }
}

/// How `cert inspect`'s file is named in messages (it is an argument, not an option).
const FILE_ARG: &str = "the certificate file";

fn new(args: NewArgs) -> CmdResult {
    // Refused before the slow key generation; checked again when writing.
    check_output_path("--out", &args.out)?;
    if let Some(p) = &args.public_out {
        check_output_path("--public-out", p)?;
    }
    let generated = generate::self_signed_rsa(
        &args.subject,
        OffsetDateTime::now_utc() - time::Duration::minutes(5),
        args.days,
        args.bits,
    )?;
    let bytes: zeroize::Zeroizing<Vec<u8>> = match args.format {
        Format::Pem => zeroize::Zeroizing::new(generated.to_pem().as_bytes().to_vec()),
        Format::Pfx => {
            let Some(var) = args.password_env.as_deref() else {
                return Err(Failure::input(anyhow::anyhow!(
                    "--format pfx needs --password-env VAR naming the variable that holds the password to protect it with"
                )));
            };
            let pw = secret::from_env(var, "--password-env", "the password")?;
            generated.to_pfx(&pw)?
        }
    };
    write_file("--out", &args.out, &bytes, true)?;
    if let Some(p) = &args.public_out {
        write_file("--public-out", p, generated.certificate.der(), false)?;
    }
    // Prove the file round-trips before reporting success.
    let _check: SigningIdentity = generated.identity()?;
    let format = match args.format {
        Format::Pem => "pem",
        Format::Pfx => "pfx",
    };
    let cert = &generated.certificate;
    match args.output.format() {
        output::Format::Json => output::print_document(serde_json::json!({
            "certificate": {
                "file": args.out.display().to_string(),
                "format": format,
                "publicFile": args.public_out.as_ref().map(|p| p.display().to_string()),
                "subject": cert.subject(),
                "thumbprintSha1": cert.sha1_hex(),
                "thumbprintSha256": cert.sha256_hex(),
                "notBefore": serde_date::format(cert.not_before()),
                "notAfter": serde_date::format(cert.not_after()),
            }
        }))?,
        output::Format::Tsv => output::print_tsv(
            &[
                "file",
                "format",
                "publicFile",
                "subject",
                "thumbprintSha1",
                "thumbprintSha256",
                "notBefore",
                "notAfter",
            ],
            [vec![
                args.out.display().to_string(),
                format.to_string(),
                output::opt(args.public_out.as_ref().map(|p| p.display())),
                cert.subject().to_string(),
                cert.sha1_hex(),
                cert.sha256_hex(),
                serde_date::format(cert.not_before()),
                serde_date::format(cert.not_after()),
            ]],
        ),
        output::Format::Table => eprintln!(
            "wrote {} ({}), thumbprint {}, valid until {}",
            args.out.display(),
            match args.format {
                Format::Pem => "PEM certificate + private key",
                Format::Pfx => "PFX",
            },
            cert.sha1_hex(),
            serde_date::format(cert.not_after())
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses an output path that is a symbolic link or a folder, before anything is generated or written.
///
/// Writing through a link would put the private key wherever the link points (a file another user reads, a
/// shared folder) — a link planted at a predictable output name is the classic way to steal a key.
fn check_output_path(option: &str, path: &Path) -> Result<(), Failure> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(Failure::input(anyhow::anyhow!(
            "{option} {} is a symbolic link; keyroll does not write a key file through a link (it would land wherever the link points): remove the link, or give the real path",
            path.display()
        ))),
        Ok(meta) if meta.is_dir() => Err(Failure::input(anyhow::anyhow!(
            "{option} {} is a folder; give a file name inside it",
            path.display()
        ))),
        _ => Ok(()),
    }
}

/// Writes `bytes` to `path` atomically, never through a link: a new file beside it (created exclusively, owner
/// read/write only when `private`), written and flushed, then renamed over `path`. A reader sees the old file
/// or the whole new one; a link at `path` is replaced, not followed; a failure leaves `path` as it was.
fn write_file(option: &str, path: &Path, bytes: &[u8], private: bool) -> Result<(), Failure> {
    use std::io::Write;
    check_output_path(option, path)?;
    let cannot = |what: &str, e: std::io::Error| {
        Failure::input(anyhow::anyhow!(
            "cannot {what} {} ({e}); check that its folder exists and is writable",
            path.display()
        ))
    };
    let name = path
        .file_name()
        .ok_or_else(|| cannot("write", std::io::ErrorKind::InvalidInput.into()))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        uuid::Uuid::new_v4().simple()
    ));
    let mut opts = std::fs::OpenOptions::new();
    // create_new: O_CREAT | O_EXCL, which never opens an existing file or follows a link.
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut f = opts.open(&temp).map_err(|e| cannot("write", e))?;
    let written = f.write_all(bytes).and_then(|()| f.sync_all());
    drop(f);
    let done = written.and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = done {
        let _ = std::fs::remove_file(&temp);
        return Err(cannot("write", e));
    }
    Ok(())
}
