//! Bulk rolls: many objects at once under one throttle, each object rolled once (plan rows naming one object are
//! merged, or the plan is refused when they disagree).

use std::collections::HashMap;
use std::sync::Arc;

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
    /// A plan that contradicts itself is the caller's input: [`ErrorKind::Input`].
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
    use tokio::sync::Semaphore;
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));

    // 1. Which object each row names. Rows by appId are resolved only when some row names an object by id.
    let by_id = specs
        .iter()
        .any(|s| matches!(s.target.object, ObjectRef::Id(_)));
    let mut keys: Vec<Result<ObjectKey, Box<RollReport>>> = specs
        .iter()
        .map(|s| {
            Ok(match s.target.object {
                ObjectRef::Id(id) => ObjectKey::Id(id),
                ObjectRef::AppId(app) => ObjectKey::AppId(collection(s.target.kind), app),
            })
        })
        .collect();
    if by_id {
        // One read per distinct appId target.
        let mut lookups: HashMap<Target, tokio::task::JoinHandle<Result<Uuid, GraphError>>> =
            HashMap::new();
        for s in &specs {
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
        // A failed lookup fails its rows here, as their read step: they name no known object, so they cannot
        // be matched with other rows, and are not rolled.
        let mut resolved: HashMap<Target, Result<Uuid, (String, bool)>> = HashMap::new();
        for (target, handle) in lookups {
            let r = match handle.await {
                Ok(Ok(id)) => Ok(id),
                Ok(Err(e)) => Err((e.to_string(), e.is_transport())),
                Err(e) => Err((e.to_string(), false)),
            };
            resolved.insert(target, r);
        }
        for (k, s) in keys.iter_mut().zip(&specs) {
            match resolved.get(&s.target) {
                Some(Ok(id)) => *k = Ok(ObjectKey::Id(*id)),
                Some(Err((message, transport))) => {
                    let mut report = RollReport::new(s.target.to_string());
                    report.transport_failure = *transport;
                    report.error = Some(message.clone());
                    report.steps.push(StepReport {
                        step: Step::Read,
                        status: StepStatus::Failed,
                        detail: message.clone(),
                    });
                    report.state = "unchanged: nothing was sent besides reading".into();
                    progress.step(&report.target, &format!("read: {message}"));
                    *k = Err(Box::new(report));
                }
                None => {}
            }
        }
    }

    // 2. Group the rows by object, in plan order; refuse the plan if the rows of one object disagree.
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
    let mut conflicts = Vec::new();
    for g in &groups {
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
    if !conflicts.is_empty() {
        return Err(PlanError::Conflicting(conflicts));
    }

    // 3. One roll per object.
    let mut handles = Vec::with_capacity(groups.len());
    for g in &groups {
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
    let mut out: Vec<Option<RollReport>> = keys.into_iter().map(|k| k.err().map(|r| *r)).collect();
    for (g, (target, h)) in groups.iter().zip(handles) {
        let report = match h.await {
            Ok(r) => r,
            Err(e) => {
                let mut r = RollReport::new(target);
                r.state = "unknown: the task failed".into();
                r.error = Some(e.to_string());
                r
            }
        };
        for &row in &g[1..] {
            let mut merged = report.clone();
            merged.target = specs[row].target.to_string();
            merged.steps.insert(
                0,
                StepReport {
                    step: Step::Plan,
                    status: StepStatus::Skipped,
                    detail: format!(
                        "plan row {} names the same object for the same roll as row {}: rolled once, as row {}",
                        row + 1,
                        g[0] + 1,
                        g[0] + 1
                    ),
                },
            );
            out[row] = Some(merged);
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
