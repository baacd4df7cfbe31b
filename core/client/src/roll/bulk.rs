//! Bulk rolls: many objects at once under one throttle, each object rolled once (plan rows naming one object are
//! merged, or the plan is refused when they disagree).

use std::collections::HashMap;
use std::sync::Arc;

use keyroll_proto::ErrorKind;
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::report::{RollReport, Step, StepReport, StepStatus};
use super::{Progress, RollSpec, roll};
use crate::graph::{GraphClient, GraphError, ObjectRef, Target};

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

/// Runs many rolls with at most `concurrency` at once. They share `client`, so a 429 on one pauses all —
/// the whole batch backs off together and stays within the service's write budget.
///
/// Rows that name one object (by object id or by appId, in any case) are found before anything is written:
/// rows asking for the same roll are merged — the object is rolled once and each of those rows gets that
/// roll's report — and rows asking for different rolls refuse the whole plan ([`PlanError`]). Matching a row
/// naming an appId with one naming an object id needs the appId's object id: it is read first (reads only).
/// Each roll also holds its object's write lock, so no two writes to one object ever overlap.
pub async fn roll_many(
    client: &GraphClient,
    specs: Vec<RollSpec>,
    concurrency: usize,
    progress: Arc<dyn Progress>,
) -> Result<Vec<RollReport>, PlanError> {
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    // 1. Which object each row names; 2. the rows grouped by object, the plan refused if a group disagrees;
    // 3. one roll per object, its report given to every row of the group.
    let keys = object_keys(client, &specs, &sem, progress.as_ref()).await;
    let groups = group_rows(&keys);
    let conflicts = conflicts(&groups, &specs, &keys);
    if !conflicts.is_empty() {
        return Err(PlanError::Conflicting(conflicts));
    }
    let reports = roll_groups(client, &specs, &groups, &sem, &progress).await;
    let mut out: Vec<Option<RollReport>> = keys.into_iter().map(|k| k.err().map(|r| *r)).collect();
    for (g, report) in groups.iter().zip(reports) {
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
                r.state = "unknown: the row was not rolled".into();
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
    report.state = "unchanged: nothing was sent besides reading".into();
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

/// One roll per group, at most as many at once as `sem` allows; the reports in group order.
async fn roll_groups(
    client: &GraphClient,
    specs: &[RollSpec],
    groups: &[Vec<usize>],
    sem: &Arc<Semaphore>,
    progress: &Arc<dyn Progress>,
) -> Vec<RollReport> {
    let mut handles = Vec::with_capacity(groups.len());
    for g in groups {
        let spec = specs[g[0]].clone();
        let (client, sem, progress) = (client.clone(), sem.clone(), progress.clone());
        let target = spec.target.to_string();
        handles.push((
            target,
            tokio::spawn(async move {
                let _permit = sem.acquire_owned().await;
                roll(&client, &spec, progress.as_ref()).await
            }),
        ));
    }
    let mut reports = Vec::with_capacity(handles.len());
    for (target, h) in handles {
        reports.push(match h.await {
            Ok(r) => r,
            Err(e) => {
                let mut r = RollReport::new(target);
                r.state = "unknown: the task failed".into();
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
