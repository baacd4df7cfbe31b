//! Bulk rolls: many objects at once under one throttle, each object rolled once (plan rows naming one object are
//! merged, or the plan is refused when they disagree).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use keyroll_proto::ErrorKind;
use tokio::sync::{Notify, Semaphore};
use uuid::Uuid;

use super::journal::{self, Journal, JournalEntry};
use super::report::{RollReport, RollState, Step, StepReport, StepStatus};
use super::{Progress, RollSpec, roll};
use crate::graph::{GraphClient, GraphError, ObjectRef, RetryEvent, RetryObserver, Target};

/// Stops a bulk roll: rows not yet started end [`RollState::NotStarted`]; rows in flight finish, because a roll
/// cut short between adding the new key and removing the old one would leave its object half-done. Clones
/// share one signal (hand one to a signal handler).
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Arc<StopInner>);

#[derive(Debug, Default)]
struct StopInner {
    stopped: AtomicBool,
    notify: Notify,
}

impl StopSignal {
    /// Asks the run to stop starting rows.
    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }
    /// Whether [`StopSignal::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::SeqCst)
    }
    /// Resolves once stopped.
    async fn stopped(&self) {
        loop {
            // Created before the check: a stop in between still wakes it.
            let notified = self.0.notify.notified();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }
}

/// How a bulk roll runs.
#[derive(Debug, Clone)]
pub struct BulkOptions {
    /// Rolls at once (at least 1).
    pub concurrency: usize,
    /// Stops the run between rows.
    pub stop: StopSignal,
    /// Where each row's outcome is appended as it ends.
    pub journal: Option<Arc<Journal>>,
    /// The lines of an earlier run's journal: a row whose last line says it is done, for the same target, is
    /// not rolled again (its report is rebuilt from the line, with a `plan` step saying so).
    pub resume: Vec<JournalEntry>,
}

impl BulkOptions {
    /// `concurrency` rolls at once, no journal, nothing to resume.
    pub fn new(concurrency: usize) -> Self {
        BulkOptions {
            concurrency,
            stop: StopSignal::default(),
            journal: None,
            resume: Vec::new(),
        }
    }
}

/// Hands the client's retries to the run's progress.
struct Forward(Arc<dyn Progress>);
impl RetryObserver for Forward {
    fn retrying(&self, event: &RetryEvent) {
        self.0.throttled(event);
    }
}

/// Where a finished row goes: the journal, then the progress. A journal that cannot be written stops the run
/// (a resume could not trust it) and says so in the reports of the rows that then do not start.
struct Sink {
    progress: Arc<dyn Progress>,
    journal: Option<Arc<Journal>>,
    stop: StopSignal,
    journal_failure: std::sync::Mutex<Option<String>>,
}

impl Sink {
    fn done(&self, row: usize, report: &RollReport) {
        // A row that never started has nothing to record: a row missing from the journal is not done, which is
        // what a resume needs to know (and a stop does not wait on hundreds of synced lines).
        if let Some(j) = self
            .journal
            .as_ref()
            .filter(|_| report.state != RollState::NotStarted)
            && let Err(e) = j.record(row, report)
        {
            let mut failure = self
                .journal_failure
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if failure.is_none() {
                *failure = Some(e.to_string());
            }
            self.stop.stop();
        }
        self.progress.row_done(row, report);
    }
    /// The report of a row the run did not start.
    fn not_started(&self, target: String) -> RollReport {
        let mut r = RollReport::new(target);
        let why = match self
            .journal_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            Some(e) => format!("the run stopped before this row started: {e}"),
            None => "the run was stopped before this row started".to_string(),
        };
        r.steps.push(StepReport {
            step: Step::Plan,
            status: StepStatus::Skipped,
            detail: why.clone(),
        });
        r.state = RollState::NotStarted;
        r.detail = format!("unchanged: {why}");
        r.next_step = Some("run the plan again, resuming from its journal".into());
        r.error = Some(why);
        r.error_kind = Some(ErrorKind::Internal);
        r
    }
}

/// Two rows of a plan that name one object but ask for different rolls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanConflict {
    /// The two rows, numbered from 1 in plan order.
    pub rows: (usize, usize),
    /// The object, in words.
    pub object: String,
    /// How each row names it.
    pub named: (String, String),
    /// What differs, each as `what (first vs second)`.
    pub differences: Vec<String>,
}

impl std::fmt::Display for PlanConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "plan rows {} and {} name the same {} (row {} as {}, row {} as {}) but differ in {}",
            self.rows.0,
            self.rows.1,
            self.object,
            self.rows.0,
            self.named.0,
            self.rows.1,
            self.named.1,
            self.differences.join(", ")
        )
    }
}

/// Why a plan was refused as a whole.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// Rows that name one object disagree: which of them is meant cannot be guessed.
    #[error(
        "{}\nnothing was written: a plan names each object once; merge those rows into one, or correct the one that is wrong",
        .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
    )]
    Conflicting(Vec<PlanConflict>),
}

impl PlanError {
    /// A plan that contradicts itself is the caller's input: [`ErrorKind::Input`](keyroll_proto::ErrorKind::Input).
    pub fn kind(&self) -> keyroll_proto::ErrorKind {
        keyroll_proto::ErrorKind::Input
    }
}

/// What two specs for one object would do differently, by the plan's column names (certificates by thumbprint);
/// empty when they agree.
fn differences(a: &RollSpec, b: &RollSpec) -> Vec<String> {
    let mut out = Vec::new();
    let mut differ = |what: &str, x: String, y: String| {
        if x != y {
            out.push(format!("{what} ({x} vs {y})"));
        }
    };
    let opt = |o: &Option<String>| o.as_deref().map(str::trim).unwrap_or("none").to_string();
    let lower = |o: &Option<String>| opt(o).to_ascii_lowercase();
    differ(
        "target",
        format!("{:?}", a.target.kind),
        format!("{:?}", b.target.kind),
    );
    differ(
        "cert",
        a.current.certificate().sha1_hex(),
        b.current.certificate().sha1_hex(),
    );
    differ(
        "newCert",
        a.new.certificate().sha1_hex(),
        b.new.certificate().sha1_hex(),
    );
    differ(
        "removeOld",
        a.remove_old.to_string(),
        b.remove_old.to_string(),
    );
    differ("displayName", opt(&a.display_name), opt(&b.display_name));
    differ("tenantId", lower(&a.tenant), lower(&b.tenant));
    differ("clientId", lower(&a.client_id), lower(&b.client_id));
    differ(
        "the verify timeout",
        format!("{:?}", a.verify_timeout),
        format!("{:?}", b.verify_timeout),
    );
    out
}

/// How plan rows are matched to objects before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ObjectKey {
    /// The object id, given or resolved from the appId.
    Id(Uuid),
    /// Collection and appId: exact while no row of the plan names an object by its id.
    AppId(&'static str, Uuid),
}

fn collection(kind: crate::graph::TargetKind) -> &'static str {
    match kind {
        crate::graph::TargetKind::ServicePrincipal => "servicePrincipals",
        _ => "applications",
    }
}

/// Runs many rolls with at most `options.concurrency` at once. They share `client`, so a 429 on one pauses all —
/// the whole batch backs off together and stays within the service's write budget; its retries reach
/// [`Progress::throttled`], and each row's end [`Progress::row_done`] and the journal, as it happens.
///
/// Rows that name one object (by object id or by appId, in any case) are found before anything is written:
/// rows asking for the same roll are merged — the object is rolled once and each of those rows gets that
/// roll's report — and rows asking for different rolls refuse the whole plan ([`PlanError`]). Matching a row
/// naming an appId with one naming an object id needs the appId's object id: it is read first (reads only).
/// Each roll also holds its object's write lock, so no two writes to one object ever overlap.
pub async fn roll_many(
    client: &GraphClient,
    specs: Vec<RollSpec>,
    options: BulkOptions,
    progress: Arc<dyn Progress>,
) -> Result<Vec<RollReport>, PlanError> {
    let client = &client
        .clone()
        .with_retry_observer(Arc::new(Forward(progress.clone())));
    let sem = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let sink = Arc::new(Sink {
        progress: progress.clone(),
        journal: options.journal.clone(),
        stop: options.stop.clone(),
        journal_failure: std::sync::Mutex::new(None),
    });
    // 1. Which object each row names; 2. the rows grouped by object, the plan refused if a group disagrees;
    // 3. one roll per object (but rows an earlier run finished), its report given to every row of the group.
    let keys = object_keys(client, &specs, &sem, progress.as_ref()).await;
    let groups = group_rows(&keys);
    let conflicts = conflicts(&groups, &specs, &keys);
    if !conflicts.is_empty() {
        return Err(PlanError::Conflicting(conflicts));
    }
    let mut out: Vec<Option<RollReport>> = keys.into_iter().map(|k| k.err().map(|r| *r)).collect();
    for (row, r) in out.iter().enumerate() {
        if let Some(r) = r {
            sink.done(row, r);
        }
    }
    let finished = journal::last_by_row(&options.resume);
    let resumed = |g: &Vec<usize>| {
        g.iter().all(|row| {
            finished
                .get(row)
                .is_some_and(|e| journal::is_done(e) && e.target == specs[*row].target.to_string())
        })
    };
    let (skipped, to_roll): (Vec<&Vec<usize>>, Vec<&Vec<usize>>) =
        groups.iter().partition(|g| resumed(g));
    for g in skipped {
        for &row in g {
            let r = from_journal(&finished[&row]);
            progress.row_done(row, &r);
            out[row] = Some(r);
        }
    }
    let to_roll: Vec<Vec<usize>> = to_roll.into_iter().cloned().collect();
    let reports = roll_groups(client, &specs, &to_roll, &sem, &sink, &options.stop).await;
    for (g, report) in to_roll.iter().zip(reports) {
        for &row in &g[1..] {
            out[row] = Some(merged(&report, &specs[row], row, g[0]));
        }
        out[g[0]] = Some(report);
    }
    Ok(out
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| {
                // Not reached: every row is either refused at resolution or in exactly one group.
                let mut r = RollReport::new(specs[i].target.to_string());
                r.state = RollState::Unknown;
                r.detail = "unknown: the row was not rolled".into();
                r
            })
        })
        .collect())
}

/// Which object each row names. Rows by appId are resolved only when some row names an object by id (reads
/// only); a row whose lookup failed gets its report here, failed at its read step, and is not rolled.
async fn object_keys(
    client: &GraphClient,
    specs: &[RollSpec],
    sem: &Arc<Semaphore>,
    progress: &dyn Progress,
) -> Vec<Result<ObjectKey, Box<RollReport>>> {
    let mut keys: Vec<Result<ObjectKey, Box<RollReport>>> = specs
        .iter()
        .map(|s| {
            Ok(match s.target.object {
                ObjectRef::Id(id) => ObjectKey::Id(id),
                ObjectRef::AppId(app) => ObjectKey::AppId(collection(s.target.kind), app),
            })
        })
        .collect();
    let by_id = specs
        .iter()
        .any(|s| matches!(s.target.object, ObjectRef::Id(_)));
    if !by_id {
        return keys;
    }
    let resolved = resolve_app_ids(client, specs, sem).await;
    for (k, s) in keys.iter_mut().zip(specs) {
        match resolved.get(&s.target) {
            Some(Ok(id)) => *k = Ok(ObjectKey::Id(*id)),
            Some(Err((message, kind))) => {
                *k = Err(Box::new(lookup_failed(s, message, *kind, progress)));
            }
            None => {}
        }
    }
    keys
}

/// The object id of every distinct target named by appId, one read each.
async fn resolve_app_ids(
    client: &GraphClient,
    specs: &[RollSpec],
    sem: &Arc<Semaphore>,
) -> HashMap<Target, Result<Uuid, (String, ErrorKind)>> {
    let mut lookups: HashMap<Target, tokio::task::JoinHandle<Result<Uuid, GraphError>>> =
        HashMap::new();
    for s in specs {
        if matches!(s.target.object, ObjectRef::AppId(_)) && !lookups.contains_key(&s.target) {
            let (client, sem, target) = (client.clone(), sem.clone(), s.target);
            lookups.insert(
                s.target,
                tokio::spawn(async move {
                    let _permit = sem.acquire_owned().await;
                    client.resolve(&target).await.map(|k| k.id)
                }),
            );
        }
    }
    let mut resolved = HashMap::new();
    for (target, handle) in lookups {
        let r = match handle.await {
            Ok(Ok(id)) => Ok(id),
            Ok(Err(e)) => Err((e.to_string(), e.kind())),
            Err(e) => Err((e.to_string(), ErrorKind::Internal)),
        };
        resolved.insert(target, r);
    }
    resolved
}

/// The report of a row whose object could not be looked up: it names no known object, so it cannot be matched
/// with other rows, and is not rolled.
fn lookup_failed(
    spec: &RollSpec,
    message: &str,
    kind: ErrorKind,
    progress: &dyn Progress,
) -> RollReport {
    let mut report = RollReport::new(spec.target.to_string());
    report.transport_failure = kind == ErrorKind::Transport;
    report.error_kind = Some(kind);
    report.error = Some(message.to_string());
    report.steps.push(StepReport {
        step: Step::Read,
        status: StepStatus::Failed,
        detail: message.to_string(),
    });
    report.state = RollState::Unchanged;
    report.detail = "unchanged: nothing was sent besides reading".into();
    progress.step(&report.target, &format!("read: {message}"));
    report
}

/// The rows grouped by the object they name, in plan order (rows whose lookup failed are in none).
fn group_rows(keys: &[Result<ObjectKey, Box<RollReport>>]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of: HashMap<ObjectKey, usize> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        if let Ok(k) = k {
            match group_of.get(k) {
                Some(&g) => groups[g].push(i),
                None => {
                    group_of.insert(*k, groups.len());
                    groups.push(vec![i]);
                }
            }
        }
    }
    groups
}

/// Every row that names the object of an earlier row but asks for a different roll.
fn conflicts(
    groups: &[Vec<usize>],
    specs: &[RollSpec],
    keys: &[Result<ObjectKey, Box<RollReport>>],
) -> Vec<PlanConflict> {
    let mut conflicts = Vec::new();
    for g in groups {
        let first = &specs[g[0]];
        for &other in &g[1..] {
            let d = differences(first, &specs[other]);
            if !d.is_empty() {
                let object = match keys[g[0]] {
                    Ok(ObjectKey::Id(id)) => first.target.with_object_id(id).to_string(),
                    _ => first.target.to_string(),
                };
                conflicts.push(PlanConflict {
                    rows: (g[0] + 1, other + 1),
                    object,
                    named: (first.target.to_string(), specs[other].target.to_string()),
                    differences: d,
                });
            }
        }
    }
    conflicts
}

/// The report of a row an earlier run finished, from its journal line.
fn from_journal(e: &JournalEntry) -> RollReport {
    let mut r = RollReport::new(e.target.clone());
    r.from_journal = true;
    r.object_id = e.object_id;
    r.success = e.success;
    r.state = e.state;
    r.new_key_id = e.new_key_id;
    r.removed_key_ids = e.removed_key_ids.clone();
    r.detail = format!(
        "done in an earlier run ({}, {}): not rolled again",
        e.state,
        e.at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    );
    r.steps.push(StepReport {
        step: Step::Plan,
        status: StepStatus::Skipped,
        detail: r.detail.clone(),
    });
    r
}

/// One roll per group, at most as many at once as `sem` allows, none started once `stop` is; the reports in
/// group order. Each group's rows reach the sink as the roll ends.
async fn roll_groups(
    client: &GraphClient,
    specs: &[RollSpec],
    groups: &[Vec<usize>],
    sem: &Arc<Semaphore>,
    sink: &Arc<Sink>,
    stop: &StopSignal,
) -> Vec<RollReport> {
    let mut handles = Vec::with_capacity(groups.len());
    for g in groups {
        let spec = specs[g[0]].clone();
        let (client, sem, sink, stop) = (client.clone(), sem.clone(), sink.clone(), stop.clone());
        let target = spec.target.to_string();
        let rows: Vec<(usize, RollSpec)> = g.iter().map(|&r| (r, specs[r].clone())).collect();
        handles.push((
            target.clone(),
            tokio::spawn(async move {
                let report = tokio::select! {
                    biased;
                    _ = stop.stopped() => sink.not_started(target),
                    permit = sem.acquire_owned() => {
                        let _permit = permit;
                        if stop.is_stopped() {
                            sink.not_started(target)
                        } else {
                            roll(&client, &spec, sink.progress.as_ref()).await
                        }
                    }
                };
                let first = rows[0].0;
                for (row, spec) in &rows {
                    if *row == first {
                        sink.done(*row, &report);
                    } else {
                        sink.done(*row, &merged(&report, spec, *row, first));
                    }
                }
                report
            }),
        ));
    }
    let mut reports = Vec::with_capacity(handles.len());
    for (target, h) in handles {
        reports.push(match h.await {
            Ok(r) => r,
            Err(e) => {
                let mut r = RollReport::new(target);
                r.state = RollState::Unknown;
                r.detail = "unknown: the task failed".into();
                r.error_kind = Some(ErrorKind::Internal);
                r.error = Some(e.to_string());
                r
            }
        });
    }
    reports
}

/// The report of plan row `row`, merged into the roll of row `first` (same object, same roll).
fn merged(report: &RollReport, spec: &RollSpec, row: usize, first: usize) -> RollReport {
    let mut merged = report.clone();
    merged.target = spec.target.to_string();
    merged.steps.insert(
        0,
        StepReport {
            step: Step::Plan,
            status: StepStatus::Skipped,
            detail: format!(
                "plan row {} names the same object for the same roll as row {}: rolled once, as row {}",
                row + 1,
                first + 1,
                first + 1
            ),
        },
    );
    merged
}
