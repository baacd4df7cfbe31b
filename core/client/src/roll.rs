//! The roll workflow: replace an application's certificate without ever leaving it unable to authenticate.
//!
//! Steps, each reported: (1) read the object and check the current certificate is one of its keys; (2) add the
//! new key with a proof signed by the current certificate; (3) wait until a token can be obtained with the new
//! certificate — a new key is not usable at once, and scripts that remove the old key too early lock the
//! application out; (4) optionally remove the old key, with a proof signed by the *new* key, but only if the
//! new key was verified and at least one currently valid certificate stays; (5) read the final key set.
//!
//! Everything that can be judged before writing is judged before the first write: a roll to the certificate in
//! use, a new certificate not yet valid, or a removal that could never be verified is refused (step `check`)
//! with the object untouched. A roll holds the object's write lock ([`GraphClient::lock_object`]) from its
//! first read to its last write, so two rolls of one object through one client take turns.
//!
//! Whatever fails, the report says exactly what the object holds afterwards.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::{self, AuthError};
use crate::graph::{GraphClient, GraphError, ObjectGuard, ObjectKeys, ObjectRef, Target};
use keyroll_proto::cert::SigningIdentity;
use keyroll_proto::credential::{AddKeyRequest, KeyCredential, KeyCredentialBuilder, serde_date};
use keyroll_proto::proof::{self, ProofRequest};

/// One key credential, summarised for people and scripts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeySummary {
    /// The credential id.
    pub key_id: Option<Uuid>,
    /// SHA-1 thumbprint (uppercase hex).
    pub thumbprint: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// type.
    #[serde(rename = "type")]
    pub key_type: Option<String>,
    /// usage.
    pub usage: Option<String>,
    /// Start, Graph format.
    pub start_date_time: Option<String>,
    /// End, Graph format.
    pub end_date_time: Option<String>,
    /// Whole days until the end (negative when past).
    pub days_left: Option<i64>,
    /// `valid`, `expired` or `not yet valid`.
    pub status: &'static str,
    /// Whether this is the certificate the caller would sign proofs with.
    pub signs: bool,
}

/// Summarises keys at `now`; `signer` marks the caller's signing certificate.
pub fn summarize(
    keys: &[KeyCredential],
    now: OffsetDateTime,
    signer: Option<&keyroll_proto::cert::Certificate>,
) -> Vec<KeySummary> {
    keys.iter()
        .map(|k| {
            let status = match (k.start_date_time, k.end_date_time) {
                (_, Some(e)) if e < now => "expired",
                (Some(s), _) if s > now => "not yet valid",
                _ => "valid",
            };
            KeySummary {
                key_id: k.key_id,
                thumbprint: k.thumbprint(),
                display_name: k.display_name.clone(),
                key_type: k.key_type.clone(),
                usage: k.usage.clone(),
                start_date_time: k.start_date_time.map(serde_date::format),
                end_date_time: k.end_date_time.map(serde_date::format),
                days_left: k.end_date_time.map(|e| (e - now).whole_days()),
                status,
                signs: signer.is_some_and(|c| k.is_certificate(c)),
            }
        })
        .collect()
}

/// Whether a key credential is currently valid.
fn key_valid(k: &KeyCredential, now: OffsetDateTime) -> bool {
    k.end_date_time.is_none_or(|e| e >= now) && k.start_date_time.is_none_or(|s| s <= now)
}

/// What to roll.
#[derive(Clone)]
pub struct RollSpec {
    /// The object.
    pub target: Target,
    /// The certificate in use now (signs the addKey proof).
    pub current: Arc<SigningIdentity>,
    /// The certificate to roll to, with its key (signs the check token request and the removeKey proof).
    pub new: Arc<SigningIdentity>,
    /// Display name of the new key (default: the certificate's subject).
    pub display_name: Option<String>,
    /// Remove the old key once the new one is verified.
    pub remove_old: bool,
    /// Tenant for the verification token request; without it the new key cannot be verified (and so the old
    /// one is never removed).
    pub tenant: Option<String>,
    /// Client id for verification; defaults to the object's appId as read from Graph.
    pub client_id: Option<String>,
    /// How long to wait for the new key to become usable.
    pub verify_timeout: Duration,
}

impl std::fmt::Debug for RollSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RollSpec")
            .field("target", &self.target)
            .field("current", &self.current.certificate().sha1_hex())
            .field("new", &self.new.certificate().sha1_hex())
            .field("remove_old", &self.remove_old)
            .finish_non_exhaustive()
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Done.
    Done,
    /// Not needed or not asked for.
    Skipped,
    /// Failed: later steps did not run.
    Failed,
}

/// One step of a roll.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// `read`, `add`, `verify`, `remove`, `final`.
    pub step: &'static str,
    /// How it ended.
    pub status: StepStatus,
    /// What happened, in words.
    pub detail: String,
}

/// Why a roll was refused before anything was written: each is the caller's input, not the service's verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RollRefusal {
    /// The new certificate is the one in use.
    #[error(
        "the new certificate {thumbprint} is the certificate in use now: rolling to it would add nothing and verify nothing; give the certificate to roll to as the new one (keyroll --new-cert, PowerShell -NewCertificate or -NewCertificatePath) and the one in use now as the current one (keyroll --cert, PowerShell -Certificate or -CertificatePath)"
    )]
    SameCertificate {
        /// Its SHA-1 thumbprint.
        thumbprint: String,
    },
    /// The new certificate's validity starts later.
    #[error(
        "the new certificate {thumbprint} is not valid until {valid_from} (in {wait}): added now, it could not be verified before then, and the roll would only wait out its verify timeout; roll at or after {valid_from}, or roll to a certificate that is valid now"
    )]
    NotYetValid {
        /// Its SHA-1 thumbprint.
        thumbprint: String,
        /// When it becomes valid (Graph's date format, UTC).
        valid_from: String,
        /// How long until then, in words.
        wait: String,
    },
    /// Removing the old key was asked for, but the new key could not be verified: no tenant to ask in.
    #[error(
        "removing the old key (keyroll --remove-old, PowerShell -RemoveOld) needs the new one verified first, with a token from the object's tenant, and no tenant id is known (none was given and the connection names none); give it (keyroll --tenant-id or the plan's tenantId column, PowerShell -TenantId), or roll without removing the old key"
    )]
    RemoveOldWithoutTenant,
    /// Removing the old key was asked for, but the new key could not be verified: no client id to ask as.
    #[error(
        "removing the old key (keyroll --remove-old, PowerShell -RemoveOld) needs the new one verified first, as the object's own application, and the object's appId could not be read; give its client id (the plan's clientId column, PowerShell -ClientId), or roll without removing the old key"
    )]
    RemoveOldWithoutClientId,
    /// The client id given for verification is another application's.
    #[error(
        "the client id {given} given for verification is not the object's appId {app_id}; the new key can only be verified as the object's own application: give {app_id}, or leave the client id out"
    )]
    ClientIdNotAppId {
        /// What was given.
        given: String,
        /// The object's appId.
        app_id: Uuid,
    },
}

/// The outcome of a roll.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RollReport {
    /// The target, in words.
    pub target: String,
    /// The object id, once known.
    pub object_id: Option<Uuid>,
    /// Whether every requested step succeeded.
    pub success: bool,
    /// The steps.
    pub steps: Vec<StepReport>,
    /// The new key's id, when added (or found already present).
    pub new_key_id: Option<Uuid>,
    /// The ids of removed keys.
    pub removed_key_ids: Vec<Uuid>,
    /// The object's keys at the end, when they could be read.
    pub final_keys: Vec<KeySummary>,
    /// What the object holds now, in one sentence.
    pub state: String,
    /// The last error, in full, when a step failed.
    pub error: Option<String>,
    /// Whether the failure was the network's (vs the service's verdict or bad input).
    #[serde(skip)]
    pub transport_failure: bool,
    /// Why the roll was refused before anything was written, when it was (the caller's input is wrong).
    #[serde(skip)]
    pub refusal: Option<RollRefusal>,
}

impl RollReport {
    fn new(target: String) -> Self {
        RollReport {
            target,
            object_id: None,
            success: false,
            steps: Vec::new(),
            new_key_id: None,
            removed_key_ids: Vec::new(),
            final_keys: Vec::new(),
            state: String::new(),
            error: None,
            transport_failure: false,
            refusal: None,
        }
    }
}

/// Receives progress as a roll runs.
pub trait Progress: Send + Sync {
    /// A step begins or ends.
    fn step(&self, _target: &str, _message: &str) {}
    /// Still waiting for the new key to sign in (token request number, time waited so far).
    fn waiting(&self, _target: &str, _attempt: u32, _waited: Duration) {}
    /// Reads of the object do not show the roll's own write yet (replication): read number, time waited so far.
    /// Hosts that show no difference hear it as [`Progress::waiting`]: the new key is still replicating.
    fn lagging(&self, target: &str, read: u32, waited: Duration) {
        self.waiting(target, read, waited);
    }
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;
impl Progress for NoProgress {}

struct Run<'a> {
    report: RollReport,
    progress: &'a dyn Progress,
    /// The new key as addKey answered, when this roll added it: a read that lags may not list it yet.
    added: Option<KeyCredential>,
    /// Keys this roll removed (old keys, and copies of the new one a retried addKey made): a read that lags
    /// may still list them.
    gone: Vec<Uuid>,
}

impl Run<'_> {
    fn push(&mut self, step: &'static str, status: StepStatus, detail: impl Into<String>) {
        let detail = detail.into();
        self.progress
            .step(&self.report.target, &format!("{step}: {detail}"));
        self.report.steps.push(StepReport {
            step,
            status,
            detail,
        });
    }
    fn fail(&mut self, step: &'static str, err: &GraphError, state: impl Into<String>) {
        self.fail_with(step, err.to_string(), err.is_transport(), state);
    }
    fn fail_with(
        &mut self,
        step: &'static str,
        message: String,
        transport: bool,
        state: impl Into<String>,
    ) {
        self.report.transport_failure = transport;
        self.report.error = Some(message.clone());
        self.push(step, StepStatus::Failed, message);
        self.report.state = state.into();
    }
    /// Ends the roll at step `check`, before anything was written.
    fn refuse(&mut self, refusal: RollRefusal) {
        self.report.error = Some(refusal.to_string());
        self.push("check", StepStatus::Failed, refusal.to_string());
        self.report.state = "unchanged: nothing was written".into();
        self.report.refusal = Some(refusal);
    }
}

/// Whole days, hours and minutes, for a wait people read.
fn human(d: time::Duration) -> String {
    let mins = d.whole_minutes().max(1);
    let (days, hours, mins) = (mins / 1440, mins % 1440 / 60, mins % 60);
    match (days, hours) {
        (0, 0) => format!("{mins} min"),
        (0, _) => format!("{hours} h {mins} min"),
        _ => format!("{days} d {hours} h"),
    }
}

/// The checks that need no read: the two certificates and what the spec asks for. `tenant` is the tenant the
/// new key would be verified in.
fn check_spec(
    spec: &RollSpec,
    tenant: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), RollRefusal> {
    let (current, new) = (spec.current.certificate(), spec.new.certificate());
    if current == new {
        return Err(RollRefusal::SameCertificate {
            thumbprint: new.sha1_hex(),
        });
    }
    if new.not_before() > now {
        return Err(RollRefusal::NotYetValid {
            thumbprint: new.sha1_hex(),
            valid_from: serde_date::format(new.not_before()),
            wait: human(new.not_before() - now),
        });
    }
    if spec.remove_old && tenant.is_none() {
        return Err(RollRefusal::RemoveOldWithoutTenant);
    }
    Ok(())
}

/// The client id the new key is verified as: the object's own appId (a token for another app proves nothing
/// about this object's keys), or the one given when the appId cannot be read.
fn verification_client_id(
    spec: &RollSpec,
    app_id: Option<Uuid>,
) -> Result<Option<String>, RollRefusal> {
    match (&spec.client_id, app_id) {
        (Some(given), Some(app)) if !given.trim().eq_ignore_ascii_case(&app.to_string()) => {
            Err(RollRefusal::ClientIdNotAppId {
                given: given.clone(),
                app_id: app,
            })
        }
        (_, Some(app)) => Ok(Some(app.to_string())),
        (Some(given), None) => Ok(Some(given.trim().to_string())),
        (None, None) if spec.remove_old => Err(RollRefusal::RemoveOldWithoutClientId),
        (None, None) => Ok(None),
    }
}

/// Rolls one object's certificate. Never panics; every outcome is in the report.
pub async fn roll(client: &GraphClient, spec: &RollSpec, progress: &dyn Progress) -> RollReport {
    let mut run = Run {
        report: RollReport::new(spec.target.to_string()),
        progress,
        added: None,
        gone: Vec::new(),
    };
    let current_cert = spec.current.certificate();
    let new_cert = spec.new.certificate();

    // 0. check what needs no read. The tenant defaults to the one the client authenticates to as an app: the
    // object lives there.
    let tenant = spec
        .tenant
        .clone()
        .or_else(|| match client.tokens().credential() {
            crate::auth::Credential::ClientCertificate { tenant, .. } => Some(tenant.clone()),
            _ => None,
        });
    if let Err(refusal) = check_spec(spec, tenant.as_deref(), client.clock().now()) {
        run.refuse(refusal);
        return run.report;
    }

    // 1. read, holding the object's write lock until the roll ends: what is decided on this read stays true.
    let (before, guard): (ObjectKeys, ObjectGuard) =
        match client.resolve_for_write(&spec.target).await {
            Ok(k) => k,
            Err(e) => {
                run.fail("read", &e, "unchanged: nothing was sent besides reading");
                return run.report;
            }
        };
    run.report.object_id = Some(before.id);
    let target = spec.target.with_object_id(before.id);
    let now = client.clock().now();
    let current_key = before.keys.iter().find(|k| k.is_certificate(current_cert));
    let problem = match current_key {
        None => Some(format!(
            "the current certificate {} is not a key credential of the object; proofs must be signed by one of its own certificates",
            current_cert.sha1_hex()
        )),
        Some(k)
            if !keyroll_proto::credential::may_sign(k, now, 0)
                || !current_cert.is_valid_at(now) =>
        {
            Some(format!(
                "the current certificate {} is on the object but not valid now (credential {} to {}); addKey needs a proof signed by a currently valid certificate — only a PATCH of all keys can repair an object without one",
                current_cert.sha1_hex(),
                k.start_date_time
                    .map(serde_date::format)
                    .unwrap_or_else(|| "-".into()),
                k.end_date_time
                    .map(serde_date::format)
                    .unwrap_or_else(|| "-".into()),
            ))
        }
        Some(_) => None,
    };
    if let Some(p) = problem {
        run.fail("read", &GraphError::Refused(p), "unchanged");
        return run.report;
    }
    run.push(
        "read",
        StepStatus::Done,
        format!(
            "{} key credential(s); current certificate {} is one of them",
            before.keys.len(),
            current_cert.sha1_hex()
        ),
    );
    // What needs the object: who the new key is verified as.
    let client_id = match verification_client_id(spec, before.app_id) {
        Ok(c) => c,
        Err(refusal) => {
            run.refuse(refusal);
            return run.report;
        }
    };

    // 2. add
    let existing = before.keys.iter().find(|k| k.is_certificate(new_cert));
    if let Some(k) = existing {
        run.report.new_key_id = k.key_id;
        run.push(
            "add",
            StepStatus::Skipped,
            format!(
                "the new certificate {} is already a key (keyId {})",
                new_cert.sha1_hex(),
                k.key_id.map(|i| i.to_string()).unwrap_or_default()
            ),
        );
    } else {
        let outcome = add_new_key(client, &target, &before, spec).await;
        match outcome {
            Ok(o) => {
                run.report.new_key_id = o.credential.key_id;
                let mut how = if o.recovered {
                    " (the answer was lost; found by reading the keys)".to_string()
                } else {
                    String::new()
                };
                if !o.duplicates_removed.is_empty() {
                    how.push_str(&format!(
                        "; a retry after a lost answer had added it again, and the copy was removed ({})",
                        o.duplicates_removed
                            .iter()
                            .map(Uuid::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                for w in &o.warnings {
                    how.push_str("; ");
                    how.push_str(w);
                }
                run.push(
                    "add",
                    StepStatus::Done,
                    format!(
                        "added {} as keyId {}{how}",
                        new_cert.sha1_hex(),
                        o.credential
                            .key_id
                            .map(|i| i.to_string())
                            .unwrap_or_default()
                    ),
                );
                run.gone.extend(o.duplicates_removed.iter().copied());
                run.added = Some(o.credential);
            }
            Err(e) => {
                let state = if matches!(e, GraphError::OutcomeUnknown { .. }) {
                    "unknown: the addKey answer was lost and the keys could not be read afterwards; check the final keys"
                } else {
                    "unchanged: the new key was not added (checked)"
                };
                run.fail("add", &e, state);
                finish(client, &target, spec, &mut run).await;
                return run.report;
            }
        }
    }

    // 3. verify — as the target's own app: a token for another app proves nothing about this object's keys.
    let verified = match (&tenant, client_id) {
        (Some(tenant), Some(client_id)) => {
            match wait_until_usable(
                client,
                tenant,
                &client_id,
                spec,
                &run.report.target,
                progress,
            )
            .await
            {
                Ok(waited) => {
                    run.push(
                        "verify",
                        StepStatus::Done,
                        format!(
                            "a token was issued for the new certificate after {:.1} s",
                            waited.as_secs_f64()
                        ),
                    );
                    true
                }
                Err(e) => {
                    let transport = e.is_transport();
                    let e = match e {
                        VerifyError::TimedOut(t) => VerifyError::TimedOut(VerifyTimedOut {
                            object_id: run.report.object_id,
                            key_id: run.report.new_key_id,
                            old_key_ids: before
                                .keys
                                .iter()
                                .filter(|k| k.is_certificate(current_cert))
                                .filter_map(|k| k.key_id)
                                .collect(),
                            ..t
                        }),
                        other => other,
                    };
                    run.fail_with(
                        "verify",
                        e.to_string(),
                        transport,
                        "the new key was added but could not be verified; the old key was kept",
                    );
                    finish(client, &target, spec, &mut run).await;
                    return run.report;
                }
            }
        }
        _ => {
            run.push(
                "verify",
                StepStatus::Skipped,
                "no tenant id or client id to request a token with; the new key was not verified",
            );
            false
        }
    };

    // 4. remove
    if spec.remove_old {
        if !verified {
            // Not reached: check_spec and verification_client_id refuse a removal that cannot be verified.
            let e = GraphError::Refused("the old key is only removed after the new one is verified, which needs the tenant id (and the appId when it cannot be read)".into());
            run.fail("remove", &e, "the new key was added; the old key was kept");
            finish(client, &target, spec, &mut run).await;
            return run.report;
        }
        let (ids, failure) = remove_old_keys(client, &target, spec, &guard, &run).await;
        run.gone.extend(ids.iter().copied());
        run.report.removed_key_ids = ids.clone();
        match failure {
            None => {
                run.push(
                    "remove",
                    StepStatus::Done,
                    format!(
                        "removed {} old key(s): {}",
                        ids.len(),
                        ids.iter()
                            .map(Uuid::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
            Some(e) => {
                let state = if ids.is_empty() {
                    "the new key was added and verified; the old key was kept".to_string()
                } else {
                    format!(
                        "the new key was added and verified; {} old key(s) were removed ({}) before the failure, the rest kept",
                        ids.len(),
                        ids.iter()
                            .map(Uuid::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                run.fail("remove", &e, state);
                finish(client, &target, spec, &mut run).await;
                return run.report;
            }
        }
    } else {
        run.push(
            "remove",
            StepStatus::Skipped,
            "the old key was kept (not asked to remove it)",
        );
    }

    run.report.success = true;
    run.report.state = if spec.remove_old {
        "rolled: the new key is in place and verified; the old key was removed".into()
    } else if verified {
        "the new key is in place and verified; the old key was kept".into()
    } else {
        "the new key is in place (not verified); the old key was kept".into()
    };
    finish(client, &target, spec, &mut run).await;
    run.report
}

async fn add_new_key(
    client: &GraphClient,
    target: &Target,
    before: &ObjectKeys,
    spec: &RollSpec,
) -> Result<crate::graph::AddKeyOutcome, GraphError> {
    let mut builder = KeyCredentialBuilder::new(spec.new.certificate().clone());
    if let Some(n) = &spec.display_name {
        builder = builder.display_name(n.clone());
    }
    let built = builder.build().map_err(|e| match e {
        keyroll_proto::credential::CredentialError::Invalid(v) => GraphError::Invalid(v),
        other => GraphError::Refused(other.to_string()),
    })?;
    // Minted right before the call: reads before it may have waited on throttling.
    let proof = proof::mint(
        &spec.current,
        &ProofRequest::new(before.id),
        client.clock().now(),
    )
    .map_err(|e| GraphError::ProofRejected(vec![e.to_string()]))?;
    let request = AddKeyRequest {
        key_credential: built.key_credential,
        password_credential: None,
        proof: proof.into_string(),
    };
    client
        .add_key_resolved(target, before, &request, spec.new.certificate())
        .await
}

/// Why the new key could not be verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token endpoint kept refusing the new key (or could not be reached) until the verify timeout ran out.
    #[error(transparent)]
    TimedOut(VerifyTimedOut),
    /// The token endpoint refused for a reason waiting does not cure.
    #[error(transparent)]
    Refused(AuthError),
}

impl VerifyError {
    /// Whether the failure is the network's.
    pub fn is_transport(&self) -> bool {
        match self {
            VerifyError::TimedOut(t) => t.last.is_transport(),
            VerifyError::Refused(e) => e.is_transport(),
        }
    }
}

/// The verify timeout ran out: the new key is on the object but did not sign in in time. Says what was tried and
/// how to finish, not the last refusal's own hint (which, for a key that is still replicating, would be wrong).
#[derive(Debug, thiserror::Error)]
#[error(
    "the new key{} was added, but no token could be obtained with it within the verify timeout of {} s (keyroll --verify-timeout, PowerShell -VerifyTimeout): {attempts} token request(s) over {:.1} s, the last answered {}. A new key can take minutes before the identity platform accepts it: it may still be replicating. The old key was kept, so the application still signs in with it. To finish the roll, run the same roll again later (it finds the new key in place, verifies it and goes on from there), with a longer verify timeout if needed; or, once the new key signs in, remove the old key yourself{}",
    key_id.map(|k| format!(" (keyId {k})")).unwrap_or_default(),
    timeout.as_secs(),
    waited.as_secs_f64(),
    last_answer(last),
    if old_key_ids.is_empty() { String::new() } else {
        let object = object_id.map(|o| o.to_string()).unwrap_or_else(|| "<object id>".into());
        format!(" (keyroll key remove --object-id {object} --key-id {}, PowerShell Remove-EntraMSApplicationKey -ObjectId {object} -KeyId {})",
            old_key_ids[0], old_key_ids[0])
    }
)]
pub struct VerifyTimedOut {
    /// The object.
    pub object_id: Option<Uuid>,
    /// The new key's id.
    pub key_id: Option<Uuid>,
    /// The old key(s), which stay.
    pub old_key_ids: Vec<Uuid>,
    /// The timeout that ran out.
    pub timeout: Duration,
    /// Token requests made.
    pub attempts: u32,
    /// Time spent.
    pub waited: Duration,
    /// The last refusal.
    pub last: AuthError,
}

/// The last token endpoint answer in short: its codes, not its hint.
fn last_answer(e: &AuthError) -> String {
    match e {
        AuthError::Refused { error, codes, .. } => {
            let codes: Vec<String> = codes.iter().map(|c| format!("AADSTS{c}")).collect();
            let why = if codes.iter().any(|c| c == "AADSTS700027") {
                " (the key is not accepted for sign-in yet)"
            } else {
                ""
            };
            format!("{error} {}{why}", codes.join(", "))
        }
        other => other.to_string(),
    }
}

/// The pause before the next token request: a quarter second at first, then a sixth of the time waited so far
/// (a key that becomes usable after 3 s is noticed within half a second; one that takes minutes is asked about
/// every few seconds), never past `left`.
fn verify_delay(waited: Duration, left: Duration) -> Duration {
    (waited / 6)
        .clamp(Duration::from_millis(250), Duration::from_secs(5))
        .min(left)
}

/// Requests tokens with the new certificate until one is issued: a fresh key takes a while to replicate.
async fn wait_until_usable(
    client: &GraphClient,
    tenant: &str,
    client_id: &str,
    spec: &RollSpec,
    target: &str,
    progress: &dyn Progress,
) -> Result<Duration, VerifyError> {
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let now = client.clock().now();
        match auth::client_credentials(
            client.http(),
            client.endpoints(),
            tenant,
            client_id,
            &spec.new,
            now,
        )
        .await
        {
            Ok(_) => return Ok(started.elapsed()),
            Err(e) => {
                let not_yet = matches!(&e, AuthError::Refused { codes, .. } if codes.contains(&700027))
                    || e.is_transport();
                if !not_yet {
                    return Err(VerifyError::Refused(e));
                }
                let waited = started.elapsed();
                if waited >= spec.verify_timeout {
                    return Err(VerifyError::TimedOut(VerifyTimedOut {
                        object_id: None,
                        key_id: None,
                        old_key_ids: Vec::new(),
                        timeout: spec.verify_timeout,
                        attempts: attempt,
                        waited,
                        last: e,
                    }));
                }
                progress.waiting(target, attempt, waited);
                tokio::time::sleep(verify_delay(waited, spec.verify_timeout - waited)).await;
            }
        }
    }
}

async fn remove_old_keys(
    client: &GraphClient,
    target: &Target,
    spec: &RollSpec,
    guard: &ObjectGuard,
    run: &Run<'_>,
) -> (Vec<Uuid>, Option<GraphError>) {
    let object_id = guard.object_id();
    let now = client.clock().now();
    let new_cert = spec.new.certificate();
    let usable_new = |k: &KeyCredential| {
        k.key_type.as_deref() == Some(keyroll_proto::credential::TYPE_ASYMMETRIC_X509)
            && key_valid(k, now)
            && k.is_certificate(new_cert)
    };
    // Reads lag writes: the new key was added and signed in, but a read may not list it yet. Decide only on a
    // read that lists it (bounded by the replication window); a read that never does keeps the old key.
    let (name, progress) = (run.report.target.as_str(), run.progress);
    let keys = match client
        .read_keys_until(
            target,
            "the new key",
            |k| k.keys.iter().any(usable_new),
            &|read, waited| progress.lagging(name, read, waited),
        )
        .await
    {
        Ok(k) => k,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let (waited, keys) = (keys.waited, keys.keys);
    let old: Vec<Uuid> = keys
        .keys
        .iter()
        .filter(|k| k.is_certificate(spec.current.certificate()))
        .filter_map(|k| k.key_id)
        .collect();
    let remaining_valid = keys
        .keys
        .iter()
        .filter(|k| k.key_id.is_some_and(|id| !old.contains(&id)))
        .any(usable_new);
    if !remaining_valid {
        return (
            Vec::new(),
            Some(GraphError::Refused(format!(
                "removing the old key would leave no currently valid certificate: the keys read over {:.1} s do not list the new key as valid now (reads may lag writes longer than that); nothing was removed. Run the same roll again later: it finds the new key, verifies it and removes the old one",
                waited.as_secs_f64()
            ))),
        );
    }
    let mut removed = Vec::new();
    for id in old {
        let proof = match proof::mint(
            &spec.new,
            &ProofRequest::new(object_id),
            client.clock().now(),
        ) {
            Ok(p) => p,
            Err(e) => {
                return (
                    removed,
                    Some(GraphError::ProofRejected(vec![e.to_string()])),
                );
            }
        };
        if let Err(e) = client
            .remove_key_held(target, id, proof.as_str(), false, guard)
            .await
        {
            return (removed, Some(e));
        }
        removed.push(id);
    }
    (removed, None)
}

/// Reads the final keys. A read may lag this roll's own writes: what the roll knows it wrote (the new key added,
/// keys removed) is applied to what was read, and the detail says so, rather than report a stale count.
async fn finish(client: &GraphClient, target: &Target, spec: &RollSpec, run: &mut Run<'_>) {
    match client.read_keys(target).await {
        Ok(k) => {
            let listed = k.keys.len();
            let mut keys = k.keys;
            let mut lag = Vec::new();
            keys.retain(|k| !k.key_id.is_some_and(|id| run.gone.contains(&id)));
            if keys.len() < listed {
                lag.push(format!(
                    "{} key(s) it removed still listed",
                    listed - keys.len()
                ));
            }
            if let Some(added) = &run.added
                && !keys.iter().any(|k| k.key_id == added.key_id)
            {
                keys.push(added.clone());
                lag.push("the key it added not listed yet".to_string());
            }
            run.report.final_keys =
                summarize(&keys, client.clock().now(), Some(spec.new.certificate()));
            let detail = if lag.is_empty() {
                format!("the object holds {} key credential(s)", keys.len())
            } else {
                format!(
                    "the object holds {} key credential(s) after this roll's writes (the read, which lags writes, listed {listed}: {})",
                    keys.len(),
                    lag.join(", ")
                )
            };
            run.push("final", StepStatus::Done, detail);
        }
        Err(e) => {
            run.report.steps.push(StepReport {
                step: "final",
                status: StepStatus::Failed,
                detail: format!("could not read the final keys: {e}"),
            });
        }
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
                        step: "read",
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
                    step: "plan",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_poll_notices_a_key_soon_after_it_signs_in() {
        let left = Duration::from_secs(300);
        assert_eq!(
            verify_delay(Duration::ZERO, left),
            Duration::from_millis(250)
        );
        // A key usable after 3 s is noticed within half a second.
        assert!(verify_delay(Duration::from_secs(3), left) <= Duration::from_millis(500));
        assert_eq!(
            verify_delay(Duration::from_secs(120), left),
            Duration::from_secs(5)
        );
        // Never past the timeout.
        assert_eq!(
            verify_delay(Duration::from_secs(60), Duration::from_millis(10)),
            Duration::from_millis(10)
        );
    }
}
