//! `keyroll roll`: roll one application's certificate end to end, or many from a plan file.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use keyroll_client::keyvault::KeyVaultClient;
use keyroll_client::roll::{
    self, BulkOptions, Journal, Progress, RollRefusal, RollReport, RollSpec, StepStatus, StopSignal,
};
use keyroll_client::settings::{CertificateSource, Setting, SettingsError, TargetChoice};
use keyroll_client::signer::SharedSigner;
use serde::Deserialize;

use super::conn::{ConnArgs, TargetArgs, runtime};
use super::interrupt;
use super::roll_progress::TermProgress;
use super::roll_single::{next_in_vault, single_spec};
use crate::exit::{CmdResult, Failure};
use crate::output::{self, Format, OutputArgs};

#[derive(Args, Debug)]
pub struct RollArgs {
    #[command(flatten)]
    pub(super) target: TargetArgs,
    /// The certificate in use now, with its key (signs the addKey proof): a PFX/PEM file, or a Key Vault
    /// certificate URL (https://<vault>.vault.azure.net/certificates/<name>[/<version>]) whose key signs in the
    /// vault.
    #[arg(long, value_name = "FILE|URL", required_unless_present = "plan")]
    pub(super) cert: Option<PathBuf>,
    /// Name of an environment variable holding the password of --cert.
    #[arg(long, value_name = "VAR")]
    pub(super) cert_password_env: Option<String>,
    /// The certificate to roll to, with its key (proves the new key works, signs the removeKey proof): a file,
    /// or a Key Vault certificate URL. With --create-in-vault, the vault certificate whose next version is made.
    #[arg(long, value_name = "FILE|URL", required_unless_present = "plan")]
    pub(super) new_cert: Option<PathBuf>,
    /// Create the next version of --new-cert (a Key Vault certificate URL) in the vault, its key RSA and not
    /// exportable, and roll to it: no private key leaves the vault. The policy is the certificate's current one
    /// with the options below. Run again after a stop, it uses the version it created when that one is already a
    /// key of the object (or still being issued) instead of creating another.
    #[arg(long, requires = "new_cert")]
    pub(super) create_in_vault: bool,
    /// With --create-in-vault: the RSA key size (2048, 3072, 4096; default: the current policy's, else 2048).
    #[arg(long, value_name = "BITS", requires = "create_in_vault")]
    pub(super) key_size: Option<u32>,
    /// With --create-in-vault: validity in months (default: the current policy's, else 12).
    #[arg(long, value_name = "MONTHS", requires = "create_in_vault")]
    pub(super) validity_months: Option<u32>,
    /// With --create-in-vault: the subject, e.g. CN=billing-app (default: the current policy's, else CN=<name>).
    #[arg(long, value_name = "DN", requires = "create_in_vault")]
    pub(super) subject: Option<String>,
    /// With --create-in-vault: seconds to wait for the vault to issue the certificate.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 120,
        requires = "create_in_vault"
    )]
    pub(super) vault_wait: u64,
    /// Name of an environment variable holding the password of --new-cert.
    #[arg(long, value_name = "VAR")]
    pub(super) new_cert_password_env: Option<String>,
    /// Display name of the new key.
    #[arg(long, value_name = "NAME")]
    pub(super) display_name: Option<String>,
    /// Remove the old key once the new one is verified.
    #[arg(long)]
    pub(super) remove_old: bool,
    /// Seconds to wait for the new key to become usable. When they run out the old key is kept and the roll
    /// fails saying so; the same roll run again later finds the new key in place and finishes.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub(super) verify_timeout: u64,
    /// Roll many applications: a CSV or JSON file, one application per row (see --help of the README). Rows
    /// naming one object (by objectId or appId) are rolled once when they agree and refuse the plan when they
    /// do not; FILE.lock beside it keeps a second keyroll off the same plan while this one runs. Each row names
    /// its object and certificates, so the options that do so for one roll are refused beside it.
    #[arg(long, value_name = "FILE", conflicts_with_all = PLAN_CONFLICTS)]
    pub(super) plan: Option<PathBuf>,
    /// With --plan: rolls running at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub(super) concurrency: usize,
    /// With --plan: write each row's result here (.csv or .json), at the end (also after Ctrl-C).
    #[arg(long, value_name = "FILE", requires = "plan")]
    pub(super) results: Option<PathBuf>,
    /// With --plan: the journal, one JSON line per row appended as the row ends (synced, so it survives Ctrl-C,
    /// a kill or a crash). Default: FILE.journal beside the plan.
    #[arg(long, value_name = "FILE", requires = "plan")]
    pub(super) journal: Option<PathBuf>,
    /// With --plan: skip the rows this journal (of an earlier run of the plan) shows done, and append this run's
    /// rows to it (unless --journal names another).
    #[arg(long, value_name = "JOURNAL", requires = "plan")]
    pub(super) resume: Option<PathBuf>,
    #[command(flatten)]
    pub(super) conn: ConnArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The options of one roll that a plan's rows give instead (ids of the arguments): given with --plan they would
/// be ignored, so they are refused.
const PLAN_CONFLICTS: [&str; 9] = [
    "object_id",
    "app_id",
    "target",
    "cert",
    "cert_password_env",
    "new_cert",
    "new_cert_password_env",
    "display_name",
    "create_in_vault",
];

/// One row of a plan file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlanRow {
    #[serde(default)]
    object_id: Option<String>,
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    target: Option<String>,
    cert: PathBuf,
    #[serde(default)]
    cert_password_env: Option<String>,
    new_cert: PathBuf,
    #[serde(default)]
    new_cert_password_env: Option<String>,
    #[serde(default)]
    remove_old: Option<bool>,
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    /// From `keyroll scan --plan`: the object's name, for people (not read).
    #[serde(default)]
    #[allow(dead_code)]
    app_display_name: Option<String>,
    /// From `keyroll scan --plan`: the certificate to replace; `cert` must be it.
    #[serde(default)]
    current_thumbprint: Option<String>,
    /// From `keyroll scan --plan`: when it ends (not read).
    #[serde(default)]
    #[allow(dead_code)]
    current_end_date_time: Option<String>,
}

fn read_plan(path: &Path) -> Result<Vec<PlanRow>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::input(anyhow::anyhow!("--plan {}: {e}", path.display())))?;
    let rows: Vec<PlanRow> = if text.trim_start().starts_with('[') {
        serde_json::from_str(&text).map_err(|e| {
            Failure::input(anyhow::anyhow!(
                "--plan {}: not a JSON array of rows ({e})",
                path.display()
            ))
        })?
    } else {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        reader
            .deserialize()
            .enumerate()
            .map(|(i, r)| {
                r.map_err(|e| {
                    Failure::input(anyhow::anyhow!(
                        "--plan {} row {}: {e}",
                        path.display(),
                        i + 2
                    ))
                })
            })
            .collect::<Result<_, _>>()?
    };
    if rows.is_empty() {
        return Err(Failure::input(anyhow::anyhow!(
            "--plan {} has no rows",
            path.display()
        )));
    }
    Ok(rows)
}

fn relative(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Holds `<plan>.lock`, beside the plan, for the whole run: a second `keyroll roll` started on the same plan
/// would read the same keys and add every new key a second time. The second one is refused at once rather than
/// made to wait: run after the first, each of its rows would find the new key there and (with removeOld) the
/// old one gone, and fail — a second run is a mistake to report, not a job to queue. The lock is the operating
/// system's (flock on Unix, an exclusive open on Windows), so it ends with the process however that ends; the
/// file stays (deleting it would let a third run lock a new file while the second still holds the old one).
struct PlanLock {
    _file: std::fs::File,
}

impl PlanLock {
    fn acquire(plan: &Path) -> Result<Self, Failure> {
        // One plan named two ways (relative, through `..`, a link) is one lock.
        let plan = plan
            .canonicalize()
            .map_err(|e| Failure::input(anyhow::anyhow!("--plan {}: {e}", plan.display())))?;
        let mut name = plan.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let path = plan.with_file_name(name);
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(windows)]
        {
            use std::os::windows::fs::OpenOptionsExt;
            // No sharing: while this process has the file open, nobody else can open it.
            options.share_mode(0);
        }
        let busy = |holder: String| Failure {
            code: 1,
            error: anyhow::anyhow!(
                "--plan {} is being rolled by another keyroll {holder}(lock {}): two runs of one plan at once could add keys twice; wait for it to end, then run again; nothing was done",
                plan.display(),
                path.display()
            ),
        };
        let file = match options.open(&path) {
            Ok(f) => f,
            // ERROR_SHARING_VIOLATION: another process holds it.
            #[cfg(windows)]
            Err(e) if e.raw_os_error() == Some(32) => return Err(busy("process ".into())),
            Err(e) => {
                return Err(Failure::input(anyhow::anyhow!(
                    "cannot create the lock file {} beside the plan ({e}); the plan's folder must be writable: copy the plan to one that is",
                    path.display()
                )));
            }
        };
        #[cfg(unix)]
        {
            use rustix::fs::{FlockOperation, flock};
            use std::io::Read;
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {}
                Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                    let mut pid = String::new();
                    let _ = (&file).read_to_string(&mut pid);
                    let holder = match pid.trim() {
                        "" => "process ".to_string(),
                        p => format!("process {p} "),
                    };
                    return Err(busy(holder));
                }
                Err(e) => {
                    return Err(Failure::input(anyhow::anyhow!(
                        "cannot lock {} beside the plan ({})",
                        path.display(),
                        std::io::Error::from(e)
                    )));
                }
            }
        }
        // Which process holds it, for the message of the next one (best effort: the lock is what counts).
        {
            use std::io::{Seek, Write};
            let mut f = &file;
            let _ = f.set_len(0);
            let _ = f.seek(std::io::SeekFrom::Start(0));
            let _ = writeln!(f, "{}", std::process::id());
        }
        Ok(PlanLock { _file: file })
    }
}

pub fn run(args: RollArgs) -> CmdResult {
    // Held until the run, results included, is over.
    let _plan_lock = match &args.plan {
        Some(plan) => Some(PlanLock::acquire(plan)?),
        None => None,
    };
    let rt = runtime()?;
    let (specs, shared_auth, auth_client_id, vault, vault_client) = match &args.plan {
        Some(plan) => (plan_specs(&args, plan, &rt)?, true, None, None, None),
        None => {
            let single = single_spec(&args, &rt)?;
            (
                vec![single.spec],
                false,
                single.auth_client_id,
                single.vault,
                single.vault_client,
            )
        }
    };
    let mut specs = specs;
    // One roll authenticates as the app with its current certificate unless told otherwise; a plan shares
    // one credential (an automation identity) so that the whole batch shares one throttle.
    let auth_cert = if shared_auth {
        None
    } else {
        Some(specs[0].current.clone())
    };
    let mut conn = args.conn.clone();
    // A user's device-code sign-in goes through a public client, never the object's appId.
    if !shared_auth && conn.client_id.is_none() && !conn.device_code {
        conn.client_id = auth_client_id;
    }
    let client = conn.client(auth_cert, &rt)?;
    if let (Some((vault, reference)), Some(spec)) = (&vault, specs.first_mut())
        && args.create_in_vault
    {
        let current = spec.current.clone();
        let (_, new) = next_in_vault(
            &args,
            &client,
            vault,
            reference,
            false,
            &spec.target,
            Some(current.as_ref()),
            &rt,
        )?;
        spec.new = new;
    }
    let progress = Arc::new(TermProgress::new(
        specs.len(),
        std::io::stderr().is_terminal(),
        args.conn.verbose,
    ));
    let started = std::time::Instant::now();
    let stop = StopSignal::default();
    let mut journal_shown: Option<PathBuf> = None;
    let (reports, interrupted) = match &args.plan {
        None => {
            let spec = specs
                .into_iter()
                .next()
                .ok_or_else(|| Failure::input(anyhow::anyhow!("nothing to roll")))?;
            let client = client.with_retry_observer(Arc::new(RetriesTo(progress.clone())));
            rt.block_on(async {
                let interrupted = interrupt::listen(stop.clone(), "the roll in flight will");
                let r = roll::roll(&client, &spec, progress.as_ref()).await;
                (vec![r], interrupted)
            })
        }
        Some(plan) => {
            let options = bulk_options(&args, plan, stop.clone())?;
            let journal = options.journal.clone();
            let cp: Arc<dyn Progress> = progress.clone();
            let out = rt.block_on(async {
                let interrupted = interrupt::listen(stop.clone(), "the rolls in flight");
                (
                    roll::roll_many(&client, specs, options, cp).await,
                    interrupted,
                )
            });
            journal_shown = journal.map(|j| j.path().to_path_buf());
            match out {
                (Ok(out), interrupted) => (out, interrupted),
                // Rows of one object that disagree: the plan is wrong (exit 2), and nothing was written.
                (Err(e), _) => return Err(Failure::input(e)),
            }
        }
    };
    progress.finish();
    if let Some(v) = &vault_client {
        // For people timing a roll whose keys stay in the vault: every request made to it, signatures included.
        eprintln!("key vault: {} requests", v.calls());
    }
    // After the bar is gone: a line printed under a live bar is overdrawn.
    if let Some(j) = &journal_shown {
        eprintln!("journal: {}", j.display());
    }
    let elapsed = started.elapsed();
    if let Some(path) = &args.results {
        write_results(path, &reports)?;
    }
    print_reports(
        &reports,
        args.output.format(),
        elapsed,
        interrupted_code(&reports, interrupted.exit_code()),
    )?;
    if args.plan.is_none()
        && let Some(line) = reports.first().and_then(incomplete_line)
    {
        eprintln!("{line}");
    }
    let (waited, retries) = progress.throttle_total();
    if retries > 0 {
        eprintln!(
            "note: the service throttled or was busy {retries} time(s) (the waits it asked for, summed over the requests running at once: {:.1} s)",
            waited.as_secs_f64()
        );
    }
    if let Some(code) = interrupted.exit_code() {
        let not_started = reports
            .iter()
            .filter(|r| r.state == roll::RollState::NotStarted)
            .count();
        if not_started > 0 {
            eprintln!(
                "stopped: {not_started} row(s) did not start; run the same command with --resume {} to finish them",
                journal_shown
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
            return Ok(ExitCode::from(code));
        }
    }
    Ok(exit_for(&reports))
}

/// For a single roll that wrote and did not finish: what the object holds and the command that completes it, on
/// one line (what a runbook's log shows first).
fn incomplete_line(r: &RollReport) -> Option<String> {
    let completion = super::roll_output::completion(r)?;
    Some(format!(
        "error: the roll did not complete ({}): {}; to complete it, {completion}",
        r.state, r.detail
    ))
}

/// Hands a single roll's retries to its progress.
struct RetriesTo(Arc<TermProgress>);
impl keyroll_client::graph::RetryObserver for RetriesTo {
    fn retrying(&self, event: &keyroll_client::graph::RetryEvent) {
        self.0.throttled(event);
    }
}

/// Where this run's journal goes: --journal, else the journal resumed from, else FILE.journal beside the plan.
fn journal_path(args: &RollArgs, plan: &Path) -> PathBuf {
    args.journal
        .clone()
        .or(args.resume.clone())
        .unwrap_or_else(|| {
            let mut name = plan.file_name().unwrap_or_default().to_os_string();
            name.push(".journal");
            plan.with_file_name(name)
        })
}

/// The bulk run's options: --concurrency, the journal, and with --resume the rows an earlier run finished.
fn bulk_options(args: &RollArgs, plan: &Path, stop: StopSignal) -> Result<BulkOptions, Failure> {
    let mut options = BulkOptions::new(args.concurrency);
    options.stop = stop;
    if let Some(resume) = &args.resume {
        options.resume = roll::journal::read_journal(resume)
            .map_err(|e| Failure::input(anyhow::anyhow!("--resume {}: {e}", resume.display())))?;
    }
    let path = journal_path(args, plan);
    let journal = Journal::open(&path)
        .map_err(|e| Failure::input(anyhow::anyhow!("--journal {}: {e}", path.display())))?;
    options.journal = Some(Arc::new(journal));
    Ok(options)
}

/// One spec per plan row; paths are relative to the plan, targets go through the same translation as the
/// flags' (`TargetChoice`), and a row's error names its row.
fn plan_specs(
    args: &RollArgs,
    plan: &Path,
    rt: &tokio::runtime::Runtime,
) -> Result<Vec<RollSpec>, Failure> {
    let verify_timeout = Duration::from_secs(args.verify_timeout);
    // A cert or newCert column may hold a Key Vault certificate URL: the vault is reached with the plan's
    // shared credential (or --vault-access-token-env), its client made once, at the first such row.
    let mut vault: Option<KeyVaultClient> = None;
    let base = plan.parent().unwrap_or(Path::new(".")).to_path_buf();
    let rows = read_plan(plan)?;
    let mut specs = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        // The row first, then the problem, on one line (as a context, the row would stand alone on the first).
        let ctx = |e: Failure| {
            let message = format!("--plan row {}: {:#}", i + 1, e.error);
            e.with_message(message)
        };
        let target = TargetChoice {
            kind: row.target.clone(),
            object_id: row.object_id.clone(),
            app_id: row
                .object_id
                .is_none()
                .then(|| row.app_id.clone())
                .flatten(),
        }
        .target()
        .map_err(|e| ctx(plan_setting_failure(e)))?;
        for (column, value, what) in [
            (
                "cert",
                &row.cert,
                "the certificate in use now, with its key",
            ),
            (
                "newCert",
                &row.new_cert,
                "the certificate to roll to, with its key",
            ),
        ] {
            if value.as_os_str().is_empty() {
                return Err(ctx(Failure::input(anyhow::anyhow!(
                    "the {column} column is empty: fill in {what} (a PFX or PEM file, relative to the plan, or a Key Vault certificate URL), or give keyroll scan a naming rule for it"
                ))));
            }
        }
        let mut open =
            |column: &str, path: &Path, password_env: Option<&str>, password_column: &str| {
                let flag = format!("--plan row {}, column {column},", i + 1);
                match super::certificate_source(&flag, path)? {
                    CertificateSource::KeyVault(r) => {
                        let client = match &vault {
                            Some(v) => v.clone(),
                            None => {
                                let v = args.conn.key_vault(None)?;
                                vault = Some(v.clone());
                                v
                            }
                        };
                        super::open_vault(&flag, &client, &r, rt)
                    }
                    CertificateSource::File(_) => super::load_identity(
                        &flag,
                        &relative(&base, path),
                        None,
                        password_env,
                        &format!("the {password_column} column of --plan row {}", i + 1),
                    )
                    .map(|c| Arc::new(c) as SharedSigner),
                }
            };
        let current = open(
            "cert",
            &row.cert,
            row.cert_password_env.as_deref(),
            "certPasswordEnv",
        )?;
        let new = open(
            "newCert",
            &row.new_cert,
            row.new_cert_password_env.as_deref(),
            "newCertPasswordEnv",
        )?;
        if let Some(expected) = row
            .current_thumbprint
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            && !expected.eq_ignore_ascii_case(&current.certificate().sha1_hex())
        {
            return Err(ctx(Failure::input(anyhow::anyhow!(
                "the cert column names {} (thumbprint {}), but the row is about the certificate {expected} (its currentThumbprint column): give that certificate's file in the cert column",
                row.cert.display(),
                current.certificate().sha1_hex()
            ))));
        }
        specs.push(RollSpec {
            target,
            current,
            new,
            display_name: row.display_name,
            remove_old: row.remove_old.unwrap_or(args.remove_old),
            tenant: row.tenant_id.or_else(|| args.conn.tenant_id.clone()),
            client_id: row.client_id,
            verify_timeout,
        });
    }
    Ok(specs)
}

/// A refused setting of a plan row, in the plan's words (its column names).
fn plan_setting_failure(e: SettingsError) -> Failure {
    let column = match e.setting {
        Setting::TargetKind => "the target column",
        Setting::ObjectId => "the objectId column",
        Setting::AppId => "the appId column",
        Setting::Target => "the objectId or appId column",
        _ => "a column",
    };
    Failure::input(anyhow::anyhow!("{column}: {}", e.problem))
}

/// The reports as a JSON document, as TSV rows, as a single roll's steps, or as a plan's summary with its
/// failures; then this CLI's spelling of what core names as concepts.
/// `interrupted` is the exit code of a run a signal stopped before some rows started.
fn print_reports(
    reports: &[RollReport],
    format: Format,
    elapsed: Duration,
    interrupted: Option<u8>,
) -> Result<(), Failure> {
    match format {
        Format::Json => {
            let advice = single_refusal(reports).map(refusal_advice);
            output::print_document(super::roll_output::document(
                reports,
                elapsed,
                interrupted.unwrap_or_else(|| exit_code_for(reports)),
                advice,
            ))?
        }
        Format::Tsv => super::roll_output::print_tsv(reports),
        Format::Table if reports.len() == 1 => {
            let r = &reports[0];
            for s in &r.steps {
                let tag = match s.status {
                    StepStatus::Done => "done",
                    StepStatus::Skipped => "skipped",
                    StepStatus::Failed => "FAILED",
                };
                println!("{:<7} {:<8} {}", s.step, tag, s.detail);
            }
            println!("state: {} ({})", r.detail, r.state);
        }
        Format::Table => {
            // Rows a stop left unstarted are not failures (nothing was tried): counted apart, in one line.
            let not_started = reports
                .iter()
                .filter(|r| r.state == roll::RollState::NotStarted)
                .count();
            let resumed = reports.iter().filter(|r| r.from_journal).count();
            let failed = reports
                .iter()
                .filter(|r| !r.success && r.state != roll::RollState::NotStarted)
                .count();
            let mut line = format!(
                "{} rolls in {:.1} s: {} succeeded",
                reports.len(),
                elapsed.as_secs_f64(),
                reports.len() - failed - not_started
            );
            if resumed > 0 {
                line.push_str(&format!(" ({resumed} of them done in an earlier run)"));
            }
            line.push_str(&format!(", {failed} failed"));
            if not_started > 0 {
                line.push_str(&format!(", {not_started} not started"));
            }
            println!("{line}");
            for r in reports
                .iter()
                .filter(|r| !r.success && r.state != roll::RollState::NotStarted)
            {
                let error = r.error.as_deref().unwrap_or("");
                if r.detail.is_empty() || error.contains(&r.detail) {
                    println!("FAILED {}: {error}", r.target);
                } else {
                    println!("FAILED {}: {error} — {}", r.target, r.detail);
                }
            }
        }
    }
    if let Some(refusal) = single_refusal(reports) {
        eprintln!(
            "error: {refusal}{}\n  {}",
            refusal_advice(refusal),
            reports[0].detail
        );
    } else {
        let mut advice: Vec<&str> = reports
            .iter()
            .filter_map(|r| r.error.as_deref().and_then(report_advice))
            .collect();
        advice.dedup();
        for a in advice {
            eprintln!("note: {a}");
        }
    }
    Ok(())
}

/// The exit code of a run a signal stopped (`signal`, from [`interrupt`]) before some of its rows started.
fn interrupted_code(reports: &[RollReport], signal: Option<u8>) -> Option<u8> {
    signal.filter(|_| {
        reports
            .iter()
            .any(|r| r.state == roll::RollState::NotStarted)
    })
}

/// This CLI's flags for what a refusal before any write names as concepts (the input is wrong).
fn refusal_advice(refusal: &RollRefusal) -> &'static str {
    match refusal {
        RollRefusal::SameCertificate { .. } => {
            " (in keyroll: the new one with --new-cert, the current one with --cert)"
        }
        RollRefusal::RemoveOldWithoutTenant => {
            " (in keyroll: --tenant-id, or the plan's tenantId column; or leave out --remove-old)"
        }
        RollRefusal::RemoveOldWithoutClientId => {
            " (in keyroll: --client-id, or the plan's clientId column; or leave out --remove-old)"
        }
        _ => "",
    }
}

/// The refusal of a single roll refused before anything was written.
fn single_refusal(reports: &[RollReport]) -> Option<&RollRefusal> {
    reports
        .first()
        .and_then(|r| r.refusal.as_ref())
        .filter(|_| reports.len() == 1)
}

/// The documented exit code of a run: 0 all rolled; 2 a single roll refused before any write; 4 unreachable;
/// 3 the service refused the first read of a single roll; else 1 (a roll that did not complete).
fn exit_code_for(reports: &[RollReport]) -> u8 {
    if reports.iter().all(|r| r.success) {
        0
    } else if single_refusal(reports).is_some() {
        2
    } else if reports.iter().any(|r| r.transport_failure) {
        4
    } else if reports.len() == 1
        && reports[0]
            .steps
            .iter()
            .any(|s| s.step == "read" && s.status == StepStatus::Failed)
    {
        3
    } else {
        1
    }
}

fn exit_for(reports: &[RollReport]) -> ExitCode {
    ExitCode::from(exit_code_for(reports))
}

fn write_results(path: &Path, reports: &[RollReport]) -> Result<(), Failure> {
    let io =
        |e: std::io::Error| Failure::input(anyhow::anyhow!("--results {}: {e}", path.display()));
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        let mut w = csv::Writer::from_path(path)
            .map_err(|e| Failure::input(anyhow::anyhow!("--results {}: {e}", path.display())))?;
        w.write_record([
            "row",
            "target",
            "objectId",
            "success",
            "newKeyId",
            "removedKeyIds",
            "state",
            "detail",
            "error",
        ])
        .map_err(|e| Failure::input(anyhow::anyhow!("{e}")))?;
        for (i, r) in reports.iter().enumerate() {
            w.write_record([
                (i + 1).to_string(),
                r.target.clone(),
                r.object_id.map(|o| o.to_string()).unwrap_or_default(),
                r.success.to_string(),
                r.new_key_id.map(|o| o.to_string()).unwrap_or_default(),
                r.removed_key_ids
                    .iter()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                r.state.to_string(),
                r.detail.clone(),
                r.error.clone().unwrap_or_default(),
            ])
            .map_err(|e| Failure::input(anyhow::anyhow!("{e}")))?;
        }
        w.flush().map_err(io)?;
    } else {
        let text = serde_json::to_string_pretty(reports)
            .map_err(|e| Failure::input(anyhow::anyhow!("{e}")))?;
        std::fs::write(path, text).map_err(io)?;
    }
    Ok(())
}

/// This CLI's flags for what a failed roll's message names as a concept (core speaks to every face).
fn report_advice(error: &str) -> Option<&'static str> {
    if error.contains("within the verify timeout") {
        Some(
            "in keyroll the verify timeout is --verify-timeout SECS; re-run the same roll to finish it",
        )
    } else if error.contains("TLS certificate is not trusted") {
        Some("in keyroll an extra CA certificate is given with --ca-cert FILE")
    } else {
        None
    }
}
