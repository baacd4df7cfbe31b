//! `keyroll roll`: roll one application's certificate end to end, or many from a plan file.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use keyroll_client::graph::ObjectRef;
use keyroll_client::roll::{self, Progress, RollRefusal, RollReport, RollSpec, StepStatus};
use keyroll_client::settings::{Setting, SettingsError, TargetChoice};
use serde::Deserialize;

use super::conn::{ConnArgs, TargetArgs, runtime};
use crate::exit::{CmdResult, Failure};

#[derive(Args, Debug)]
pub struct RollArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The certificate in use now, with its key (signs the addKey proof).
    #[arg(long, value_name = "FILE", required_unless_present = "plan")]
    cert: Option<PathBuf>,
    /// Name of an environment variable holding the password of --cert.
    #[arg(long, value_name = "VAR")]
    cert_password_env: Option<String>,
    /// The certificate to roll to, with its key (proves the new key works, signs the removeKey proof).
    #[arg(long, value_name = "FILE", required_unless_present = "plan")]
    new_cert: Option<PathBuf>,
    /// Name of an environment variable holding the password of --new-cert.
    #[arg(long, value_name = "VAR")]
    new_cert_password_env: Option<String>,
    /// Display name of the new key.
    #[arg(long, value_name = "NAME")]
    display_name: Option<String>,
    /// Remove the old key once the new one is verified.
    #[arg(long)]
    remove_old: bool,
    /// Seconds to wait for the new key to become usable. When they run out the old key is kept and the roll
    /// fails saying so; the same roll run again later finds the new key in place and finishes.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    verify_timeout: u64,
    /// Roll many applications: a CSV or JSON file, one application per row (see --help of the README). Rows
    /// naming one object (by objectId or appId) are rolled once when they agree and refuse the plan when they
    /// do not; FILE.lock beside it keeps a second keyroll off the same plan while this one runs.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// With --plan: rolls running at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    concurrency: usize,
    /// With --plan: write each row's result here (.csv or .json).
    #[arg(long, value_name = "FILE")]
    results: Option<PathBuf>,
    #[command(flatten)]
    conn: ConnArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

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

struct TermProgress {
    total: usize,
    done: AtomicUsize,
    failed: AtomicUsize,
    tty: bool,
    verbose: bool,
    /// A waiting line drawn with `\r` is on screen (single roll on a terminal): the next line starts anew.
    open_line: AtomicBool,
    /// When each roll last printed a waiting line (plain lines, without -v: one every few seconds).
    last_wait_line: Mutex<HashMap<String, Instant>>,
}

/// Without -v, a roll that keeps waiting prints a plain line this often.
const WAIT_LINE_EVERY: Duration = Duration::from_secs(5);

impl TermProgress {
    /// Draws a waiting line: redrawn in place on a terminal for a single roll without -v; otherwise a plain
    /// line (bulk runs, logs, -v), every attempt with -v, else one every few seconds of a long wait.
    fn wait_line(&self, target: &str, line: String) {
        if self.total == 1 && self.tty && !self.verbose {
            eprint!("\r[{target}] {line}   ");
            self.open_line.store(true, Ordering::Relaxed);
            return;
        }
        if !self.verbose {
            let mut last = self
                .last_wait_line
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            // A short wait says nothing (the steps say enough); a long one a line every few seconds.
            let now = Instant::now();
            let since = last.entry(target.to_string()).or_insert(now);
            if now.duration_since(*since) < WAIT_LINE_EVERY {
                return;
            }
            *since = now;
        }
        self.end_open_line();
        eprintln!("[{target}] {line}");
    }
    fn end_open_line(&self) {
        if self.open_line.swap(false, Ordering::Relaxed) {
            eprintln!();
        }
    }
}

impl Progress for TermProgress {
    fn step(&self, target: &str, message: &str) {
        if self.verbose || self.total == 1 {
            self.end_open_line();
            eprintln!("[{target}] {message}");
        }
    }
    fn waiting(&self, target: &str, attempt: u32, waited: Duration) {
        self.wait_line(
            target,
            format!(
                "waiting for the new key to be usable (attempt {attempt}, {:.0} s)",
                waited.as_secs_f64()
            ),
        );
    }
    fn lagging(&self, target: &str, read: u32, waited: Duration) {
        self.wait_line(
            target,
            format!(
                "waiting for the new key to replicate: the keys read do not list it yet (read {read}, {:.0} s)",
                waited.as_secs_f64()
            ),
        );
    }
}

impl TermProgress {
    fn row_done(&self, ok: bool) {
        let d = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if !ok {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        if self.tty && self.total > 1 {
            let f = self.failed.load(Ordering::Relaxed);
            let width = 30usize;
            let filled = d * width / self.total.max(1);
            eprint!(
                "\r[{}{}] {d}/{} rolled, {f} failed ",
                "#".repeat(filled),
                ".".repeat(width - filled),
                self.total
            );
            if d == self.total {
                eprintln!();
            }
        }
    }
}

pub fn run(args: RollArgs) -> CmdResult {
    // Held until the run, results included, is over.
    let _plan_lock = match &args.plan {
        Some(plan) => Some(PlanLock::acquire(plan)?),
        None => None,
    };
    let (specs, shared_auth, auth_client_id) = match &args.plan {
        Some(plan) => (plan_specs(&args, plan)?, true, None),
        None => {
            let (spec, auth_client_id) = single_spec(&args)?;
            (vec![spec], false, auth_client_id)
        }
    };
    // One roll authenticates as the app with its current certificate unless told otherwise; a plan shares
    // one credential (an automation identity) so that the whole batch shares one throttle.
    let auth_cert = if shared_auth {
        None
    } else {
        Some(specs[0].current.clone())
    };
    let mut conn = args.conn.clone();
    if !shared_auth && conn.client_id.is_none() {
        conn.client_id = auth_client_id;
    }
    let client = conn.client(auth_cert)?;
    let progress = Arc::new(TermProgress {
        total: specs.len(),
        done: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        tty: std::io::stderr().is_terminal(),
        verbose: args.conn.verbose,
        open_line: AtomicBool::new(false),
        last_wait_line: Mutex::new(HashMap::new()),
    });
    let rt = runtime()?;
    let started = std::time::Instant::now();
    let reports: Vec<RollReport> = if specs.len() == 1 {
        let spec = specs
            .into_iter()
            .next()
            .ok_or_else(|| Failure::input(anyhow::anyhow!("nothing to roll")))?;
        let r = rt.block_on(roll::roll(&client, &spec, progress.as_ref()));
        progress.end_open_line();
        vec![r]
    } else {
        let p = progress.clone();
        let cp: Arc<dyn Progress> = p.clone();
        let out = rt.block_on(async {
            let client = client.clone();
            roll::roll_many(&client, specs, roll::BulkOptions::new(args.concurrency), cp).await
        });
        match out {
            Ok(out) => {
                for r in &out {
                    p.row_done(r.success);
                }
                out
            }
            // Rows of one object that disagree: the plan is wrong (exit 2), and nothing was written.
            Err(e) => return Err(Failure::input(e)),
        }
    };
    let elapsed = started.elapsed();
    if let Some(path) = &args.results {
        write_results(path, &reports)?;
    }
    print_reports(&reports, args.json, elapsed)?;
    Ok(exit_for(&reports))
}

/// One spec per plan row; paths are relative to the plan, targets go through the same translation as the
/// flags' (`TargetChoice`), and a row's error names its row.
fn plan_specs(args: &RollArgs, plan: &Path) -> Result<Vec<RollSpec>, Failure> {
    let verify_timeout = Duration::from_secs(args.verify_timeout);
    let base = plan.parent().unwrap_or(Path::new(".")).to_path_buf();
    let rows = read_plan(plan)?;
    let mut specs = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        let ctx = |e: Failure| Failure {
            code: e.code,
            error: e.error.context(format!("plan row {}", i + 1)),
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
        let current = super::load_identity(
            &relative(&base, &row.cert),
            None,
            row.cert_password_env.as_deref(),
            "the plan's certPasswordEnv column",
        )
        .map_err(ctx)?;
        let new = super::load_identity(
            &relative(&base, &row.new_cert),
            None,
            row.new_cert_password_env.as_deref(),
            "the plan's newCertPasswordEnv column",
        )
        .map_err(ctx)?;
        specs.push(RollSpec {
            target,
            current: Arc::new(current),
            new: Arc::new(new),
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

/// The one spec of `--cert`/`--new-cert`, and the client id to sign in as (the app itself) when known.
fn single_spec(args: &RollArgs) -> Result<(RollSpec, Option<String>), Failure> {
    let (Some(cert), Some(new_cert)) = (&args.cert, &args.new_cert) else {
        return Err(Failure::input(anyhow::anyhow!(
            "give --cert and --new-cert, or --plan"
        )));
    };
    let target = args.target.target()?;
    let current = super::load_identity(
        cert,
        None,
        args.cert_password_env.as_deref(),
        "--cert-password-env",
    )?;
    let new = super::load_identity(
        new_cert,
        None,
        args.new_cert_password_env.as_deref(),
        "--new-cert-password-env",
    )?;
    // Authenticating as the app itself needs its client id before anything is read: --client-id, or the appId
    // the target is addressed by. Verification always uses the object's own appId (core).
    let auth_client_id = args.conn.client_id.clone().or(match target.object {
        ObjectRef::AppId(a) => Some(a.to_string()),
        ObjectRef::Id(_) => None,
    });
    let spec = RollSpec {
        target,
        current: Arc::new(current),
        new: Arc::new(new),
        display_name: args.display_name.clone(),
        remove_old: args.remove_old,
        tenant: args.conn.tenant_id.clone(),
        client_id: None,
        verify_timeout: Duration::from_secs(args.verify_timeout),
    };
    Ok((spec, auth_client_id))
}

/// The reports as JSON, as a single roll's steps, or as a plan's summary with its failures; then this CLI's
/// spelling of what core names as concepts.
fn print_reports(reports: &[RollReport], json: bool, elapsed: Duration) -> Result<(), Failure> {
    let failed = reports.iter().filter(|r| !r.success).count();
    if json {
        if reports.len() == 1 {
            super::print_json(&reports[0])?;
        } else {
            super::print_json(&reports)?;
        }
    } else if reports.len() == 1 {
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
    } else {
        println!(
            "{} rolls in {:.1} s: {} succeeded, {failed} failed",
            reports.len(),
            elapsed.as_secs_f64(),
            reports.len() - failed
        );
        for r in reports.iter().filter(|r| !r.success) {
            println!(
                "FAILED {}: {} — {}",
                r.target,
                r.error.as_deref().unwrap_or(""),
                r.detail
            );
        }
    }
    if let Some(refusal) = single_refusal(reports) {
        // Refused before anything was written: the input is wrong. Core names the concepts; these are the flags.
        let advice = match refusal {
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
        };
        eprintln!("error: {refusal}{advice}\n  {}", reports[0].detail);
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

/// The refusal of a single roll refused before anything was written.
fn single_refusal(reports: &[RollReport]) -> Option<&RollRefusal> {
    reports
        .first()
        .and_then(|r| r.refusal.as_ref())
        .filter(|_| reports.len() == 1)
}

/// The documented exit code of a run: 0 all rolled; 2 a single roll refused before any write; 4 unreachable;
/// 3 the service refused the first read of a single roll; else 1 (a roll that did not complete).
fn exit_for(reports: &[RollReport]) -> ExitCode {
    if reports.iter().all(|r| r.success) {
        ExitCode::SUCCESS
    } else if single_refusal(reports).is_some() {
        ExitCode::from(2)
    } else if reports.iter().any(|r| r.transport_failure) {
        ExitCode::from(4)
    } else if reports.len() == 1
        && reports[0]
            .steps
            .iter()
            .any(|s| s.step == "read" && s.status == StepStatus::Failed)
    {
        ExitCode::from(3)
    } else {
        ExitCode::from(1)
    }
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
