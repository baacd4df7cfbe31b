//! `keyroll scan`: every certificate and client secret of the tenant's applications and service principals, with
//! the days each has left, printed as the scan reads it; `--plan` writes the roll plan of the certificates found.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use keyroll_client::inventory::{
    self, InventoryItem, NamingRule, ObjectType, ScanOptions, ScanProgress, ScanSummary,
};

use super::conn::{ConnArgs, runtime};
use crate::exit::{CmdResult, Failure};

/// Which objects to scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanType {
    /// Application registrations.
    App,
    /// Service principals.
    Sp,
    /// Both.
    All,
}

/// Which credentials to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanCredential {
    /// Certificates (key credentials).
    Certificate,
    /// Client secrets (password credentials).
    Secret,
    /// Both.
    All,
}

/// How to print what the scan finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanOutput {
    /// Aligned columns for people.
    Table,
    /// One JSON document, streamed: `{"schemaVersion":1,"command":"scan","items":[…],"summary":{…}}`.
    Json,
    /// Comma-separated, with a header row.
    Csv,
    /// Tab-separated, with a header row.
    Tsv,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Report only credentials ending within this span (expired ones included): 30d, 12h, or days as a number.
    #[arg(long, value_name = "SPAN")]
    expiring: Option<String>,
    /// Which objects: app, sp or all.
    #[arg(long = "type", value_name = "TYPE", value_enum, default_value = "all")]
    object_type: ScanType,
    /// How to print: table, json, csv or tsv.
    #[arg(long, value_name = "FORMAT", value_enum, default_value = "table")]
    output: ScanOutput,
    /// Which credentials: certificate, secret or all.
    #[arg(long, value_name = "TYPE", value_enum, default_value = "all")]
    credential: ScanCredential,
    /// Also read each object's owners (costs one more resource unit per page).
    #[arg(long)]
    owners: bool,
    /// Write a roll plan here (CSV): one row per certificate found, in the columns `keyroll roll --plan` and
    /// `Import-Csv | Invoke-EntraKeyRollover` read. Secrets are reported, never planned.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// With --plan: the current certificate's file, by a naming rule: {appId}, {objectId}, {thumbprint},
    /// {objectType}, {displayName} (e.g. 'current/{thumbprint}.pfx'). Without it the column is left to fill.
    #[arg(long, value_name = "RULE", requires = "plan")]
    cert_rule: Option<String>,
    /// With --plan: the new certificate's file, by a naming rule (e.g. 'next/{appId}.pfx'). Without it the
    /// column is left to fill.
    #[arg(long, value_name = "RULE", requires = "plan")]
    new_cert_rule: Option<String>,
    /// With --plan: plan to keep the old keys (removeOld false); by default the plan removes each old key once
    /// the new one works.
    #[arg(long, requires = "plan")]
    keep_old: bool,
    /// Objects per page (1 to 999).
    #[arg(long, value_name = "N", default_value_t = inventory::MAX_PAGE)]
    page_size: u32,
    #[command(flatten)]
    conn: ConnArgs,
}

/// The columns of the table, csv and tsv outputs.
const COLUMNS: [&str; 14] = [
    "objectType",
    "objectId",
    "appId",
    "objectDisplayName",
    "credentialType",
    "keyId",
    "displayName",
    "thumbprintOrHint",
    "endDateTime",
    "daysLeft",
    "status",
    "signs",
    "lastValidCertificate",
    "owners",
];

fn cells(i: &InventoryItem) -> [String; 14] {
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    [
        i.object_type.as_str().to_string(),
        i.object_id.to_string(),
        i.app_id.map(|a| a.to_string()).unwrap_or_default(),
        opt(&i.object_display_name),
        i.credential_type.as_str().to_string(),
        i.key_id.map(|a| a.to_string()).unwrap_or_default(),
        opt(&i.display_name),
        i.thumbprint.clone().or(i.hint.clone()).unwrap_or_default(),
        opt(&i.end_date_time),
        i.days_left.map(|d| d.to_string()).unwrap_or_default(),
        i.status.to_string(),
        i.signs.to_string(),
        i.last_valid_certificate.to_string(),
        i.owners.as_ref().map(|o| o.join("; ")).unwrap_or_default(),
    ]
}

/// Prints items as they come, in the chosen format.
struct Printer {
    output: ScanOutput,
    out: std::io::BufWriter<std::io::Stdout>,
    first: bool,
    csv: Option<csv::Writer<std::io::Stdout>>,
}

impl Printer {
    fn new(output: ScanOutput) -> Self {
        let csv = match output {
            ScanOutput::Csv => Some(csv::Writer::from_writer(std::io::stdout())),
            ScanOutput::Tsv => Some(
                csv::WriterBuilder::new()
                    .delimiter(b'\t')
                    .quote_style(csv::QuoteStyle::Never)
                    .from_writer(std::io::stdout()),
            ),
            _ => None,
        };
        Printer {
            output,
            out: std::io::BufWriter::new(std::io::stdout()),
            first: true,
            csv,
        }
    }

    fn start(&mut self) -> std::io::Result<()> {
        match self.output {
            ScanOutput::Json => write!(
                self.out,
                "{{\"schemaVersion\":1,\"command\":\"scan\",\"items\":["
            ),
            ScanOutput::Table => writeln!(
                self.out,
                "{:<16} {:<36} {:<36} {:<24} {:<11} {:<40} {:<20} {:>5} {:<13} flags",
                "type",
                "objectId",
                "appId",
                "name",
                "credential",
                "thumbprint / hint",
                "ends",
                "days",
                "status"
            ),
            ScanOutput::Csv | ScanOutput::Tsv => {
                if let Some(w) = &mut self.csv {
                    w.write_record(COLUMNS).map_err(std::io::Error::other)?;
                }
                Ok(())
            }
        }
    }

    fn item(&mut self, i: &InventoryItem) -> std::io::Result<()> {
        match self.output {
            ScanOutput::Json => {
                let sep = if self.first { "" } else { "," };
                let text = serde_json::to_string(i).map_err(std::io::Error::other)?;
                write!(self.out, "{sep}\n{text}")?;
            }
            ScanOutput::Table => {
                let c = cells(i);
                let mut flags = Vec::new();
                if i.signs {
                    flags.push("signs");
                }
                if i.last_valid_certificate {
                    flags.push("LAST VALID CERTIFICATE");
                }
                let name: String = c[3].chars().take(24).collect();
                writeln!(
                    self.out,
                    "{:<16} {:<36} {:<36} {:<24} {:<11} {:<40} {:<20} {:>5} {:<13} {}",
                    c[0],
                    c[1],
                    c[2],
                    name,
                    c[4],
                    c[7],
                    c[8],
                    c[9],
                    c[10],
                    flags.join(", ")
                )?;
            }
            ScanOutput::Csv | ScanOutput::Tsv => {
                if let Some(w) = &mut self.csv {
                    let mut c = cells(i);
                    if self.output == ScanOutput::Tsv {
                        for cell in &mut c {
                            *cell = cell.replace(['\t', '\n', '\r'], " ");
                        }
                    }
                    w.write_record(&c).map_err(std::io::Error::other)?;
                }
            }
        }
        self.first = false;
        Ok(())
    }

    /// Writes what is buffered: after each page, so the first rows show while the scan goes on.
    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(w) = &mut self.csv {
            w.flush()?;
        }
        self.out.flush()
    }

    /// Ends an open JSON document with the error object (under `--output json` errors are documents too).
    fn fail(&mut self, failure: &Failure) -> std::io::Result<()> {
        if self.output == ScanOutput::Json {
            let e = serde_json::to_string(&failure.to_json()).map_err(std::io::Error::other)?;
            writeln!(self.out, "\n],\"error\":{e}}}")?;
            crate::output::error_in_document();
        }
        self.flush()
    }

    fn end(&mut self, summary: &ScanSummary) -> std::io::Result<()> {
        if self.output == ScanOutput::Json {
            let s = serde_json::to_string(summary).map_err(std::io::Error::other)?;
            writeln!(self.out, "\n],\"summary\":{s}}}")?;
        }
        self.flush()
    }
}

/// Progress on a terminal: objects read of the total, redrawn in place.
struct Term {
    tty: bool,
}

impl ScanProgress for Term {
    fn page(&self, collection: ObjectType, read: u64, total: Option<u64>) {
        if self.tty {
            let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
            eprint!("\rscanning {}: {read}{of} read   ", collection.collection());
        }
    }
}

impl ScanArgs {
    /// The output format, as errors follow it (`csv` prints errors as `table` does: on stderr only).
    pub fn format(&self) -> crate::output::Format {
        match self.output {
            ScanOutput::Json => crate::output::Format::Json,
            ScanOutput::Tsv => crate::output::Format::Tsv,
            ScanOutput::Table | ScanOutput::Csv => crate::output::Format::Table,
        }
    }
}

/// The scan's retries on stderr: a scan waiting out the read budget for a minute must not look hung. One line
/// every few seconds at most (with how many retries it stands for).
#[derive(Default)]
struct Retries(super::roll_progress::LineGate);

impl keyroll_client::graph::RetryObserver for Retries {
    fn retrying(&self, event: &keyroll_client::graph::RetryEvent) {
        if let Some(more) = self.0.pass(false) {
            eprintln!("\rscan: {event}{more}");
        }
    }
}

pub fn run(args: ScanArgs) -> CmdResult {
    let expiring = args
        .expiring
        .as_deref()
        .map(inventory::parse_span)
        .transpose()
        .map_err(|e| Failure::input(anyhow::anyhow!("--expiring {e}")))?;
    let rule = |flag: &str, r: &Option<String>| {
        r.as_deref()
            .map(NamingRule::parse)
            .transpose()
            .map_err(|e| Failure::input(anyhow::anyhow!("{flag}: {e}")))
    };
    let cert_rule = rule("--cert-rule", &args.cert_rule)?;
    let new_cert_rule = rule("--new-cert-rule", &args.new_cert_rule)?;
    let options = ScanOptions {
        types: match args.object_type {
            ScanType::App => vec![ObjectType::Application],
            ScanType::Sp => vec![ObjectType::ServicePrincipal],
            ScanType::All => vec![ObjectType::Application, ObjectType::ServicePrincipal],
        },
        expiring_within: expiring,
        page_size: args.page_size,
        owners: args.owners,
        signer: None,
        credentials: match args.credential {
            ScanCredential::Certificate => Some(inventory::CredentialType::Certificate),
            ScanCredential::Secret => Some(inventory::CredentialType::Secret),
            ScanCredential::All => None,
        },
    };
    let mut plan = match &args.plan {
        Some(p) => Some(csv::Writer::from_path(p).map_err(|e| {
            Failure::input(anyhow::anyhow!(
                "--plan {}: cannot write the plan there ({e}); give a path in a folder you can write to",
                p.display()
            ))
        })?),
        None => None,
    };
    let rt = runtime()?;
    let client = args
        .conn
        .client(None, &rt)?
        .with_retry_observer(Arc::new(Retries::default()));
    // Which key "signs": the certificate this connection signs in with, when it signs in with one.
    let mut options = options;
    if let keyroll_client::auth::Credential::ClientCertificate { identity, .. } =
        client.tokens().credential()
    {
        options.signer = Some(identity.certificate().clone());
    }
    let tty = std::io::stderr().is_terminal();
    let progress = Arc::new(Term { tty });
    let mut printer = Printer::new(args.output);
    let io = |e: std::io::Error| Failure::input(anyhow::anyhow!("writing the output: {e}"));
    printer.start().map_err(io)?;
    let mut failed: Option<std::io::Error> = None;
    let mut planned = 0u64;
    let remove_old = !args.keep_old;
    let result = rt.block_on(inventory::scan(
        &client,
        &options,
        progress.as_ref(),
        &mut |item| {
            let mut write = || -> std::io::Result<()> {
                printer.item(&item)?;
                if let Some(w) = &mut plan
                    && let Some(row) = inventory::plan_row(
                        &item,
                        cert_rule.as_ref(),
                        new_cert_rule.as_ref(),
                        remove_old,
                    )
                {
                    w.serialize(row).map_err(std::io::Error::other)?;
                    planned += 1;
                }
                Ok(())
            };
            match write() {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        },
    ));
    if tty {
        eprintln!();
    }
    if let Some(e) = failed {
        // stdout closed (`| head`): stop quietly.
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(ExitCode::SUCCESS);
        }
        return Err(io(e));
    }
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            // The JSON document is open: it ends with the error, rather than a second document following it.
            let failure = Failure::of(e.kind(), e);
            printer.fail(&failure).map_err(io)?;
            return Err(failure);
        }
    };
    printer.end(&summary).map_err(io)?;
    if let Some(mut w) = plan {
        w.flush().map_err(io)?;
    }
    eprintln!(
        "scanned {} object(s) in {} page(s): {} credential(s), {} reported{}",
        summary.objects,
        summary.pages,
        summary.credentials,
        summary.reported,
        match &args.plan {
            Some(p) => format!(
                "; {planned} certificate(s) planned in {}{}",
                p.display(),
                if args.new_cert_rule.is_none() {
                    " (fill in the newCert column, or give --new-cert-rule)"
                } else {
                    ""
                }
            ),
            None => String::new(),
        }
    );
    Ok(ExitCode::SUCCESS)
}
