//! What a roll reports: each step and how it ended, the keys at the end, and what the object holds.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Progress;
use super::errors::RollRefusal;
use crate::graph::GraphError;
use keyroll_proto::ErrorKind;
use keyroll_proto::credential::{KeyCredential, serde_date};
use keyroll_proto::key_status;

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
            let status = key_status::status(k, now);
            KeySummary {
                key_id: k.key_id,
                thumbprint: k.thumbprint(),
                display_name: k.display_name.clone(),
                key_type: k.key_type.clone(),
                usage: k.usage.clone(),
                start_date_time: k.start_date_time.map(serde_date::format),
                end_date_time: k.end_date_time.map(serde_date::format),
                days_left: status.days_left,
                status: status.validity.as_str(),
                signs: signer.is_some_and(|c| k.is_certificate(c)),
            }
        })
        .collect()
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

/// A step of a roll, in the order they run. Serialized (and displayed) as the lowercase names hosts and scripts
/// read in a report's `steps[].step` and in progress lines (`read: ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// Bulk rolls only: a plan row merged with an earlier row naming the same object.
    Plan,
    /// What can be judged before any read or write: the two certificates, the settings.
    Check,
    /// The object read, and the current certificate found among its keys.
    Read,
    /// addKey of the new certificate.
    Add,
    /// A token obtained with the new certificate.
    Verify,
    /// removeKey of the old certificate.
    Remove,
    /// The keys read at the end.
    Final,
}

impl Step {
    /// The step's name: `plan`, `check`, `read`, `add`, `verify`, `remove` or `final`.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Plan => "plan",
            Step::Check => "check",
            Step::Read => "read",
            Step::Add => "add",
            Step::Verify => "verify",
            Step::Remove => "remove",
            Step::Final => "final",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Compares with a step's name, so that callers that know steps by name (`step == "add"`) keep working.
impl PartialEq<&str> for Step {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// What the object holds after a roll, as scripts and journals match on it. The sentence that says it in words
/// is the report's `detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RollState {
    /// The new key is in place and verified, and the old key was removed.
    Rolled,
    /// The target state held already: the new certificate is a valid key and the old one is not. Nothing was
    /// written; a re-run of a finished roll ends here.
    AlreadyRolled,
    /// The new key is in place and the old key was kept, as asked.
    KeptOld,
    /// Nothing was written.
    Unchanged,
    /// Written but not finished: the new key is in place and the old key is still there, or only some old keys
    /// were removed. Running the same roll again finishes it (`next_step`).
    Incomplete,
    /// A write's answer was lost and what the object holds could not be read.
    Unknown,
    /// Bulk rolls: the run was stopped before this row began.
    NotStarted,
}

impl RollState {
    /// The camelCase name scripts and journals read: `rolled`, `alreadyRolled`, `keptOld`, `unchanged`,
    /// `incomplete`, `unknown` or `notStarted`.
    pub fn as_str(self) -> &'static str {
        match self {
            RollState::Rolled => "rolled",
            RollState::AlreadyRolled => "alreadyRolled",
            RollState::KeptOld => "keptOld",
            RollState::Unchanged => "unchanged",
            RollState::Incomplete => "incomplete",
            RollState::Unknown => "unknown",
            RollState::NotStarted => "notStarted",
        }
    }
    /// Whether the object may differ from before the roll (a write was sent).
    pub fn written(self) -> bool {
        matches!(
            self,
            RollState::Rolled | RollState::KeptOld | RollState::Incomplete | RollState::Unknown
        )
    }
}

impl std::fmt::Display for RollState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One step of a roll.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// Which step.
    pub step: Step,
    /// How it ended.
    pub status: StepStatus,
    /// What happened, in words.
    pub detail: String,
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
    /// What the object holds now.
    pub state: RollState,
    /// What the object holds now, in one sentence.
    pub detail: String,
    /// After a roll that wrote and did not finish: what completes it, in words (each face adds its own flag or
    /// parameter names).
    pub next_step: Option<String>,
    /// The last error, in full, when a step failed.
    pub error: Option<String>,
    /// When the roll removed the certificate the client signed in with: the thumbprint of the new certificate
    /// it signs in with now.
    pub connection_switched: Option<String>,
    /// What was adjusted or noticed on the way (a display name shortened to the service's 90 characters, a
    /// duplicate removed), for each face to show as warnings; also in the step's detail.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The request ids of the failed request, when a Graph request failed (for the error object hosts show).
    #[serde(skip)]
    pub request_ids: Vec<String>,
    /// Bulk rolls resumed from a journal: the row was done in an earlier run and not rolled again (the report is
    /// rebuilt from its journal line).
    #[serde(skip)]
    pub from_journal: bool,
    /// Whether the failure was the network's (vs the service's verdict or bad input).
    #[serde(skip)]
    pub transport_failure: bool,
    /// Why the roll was refused before anything was written, when it was (the caller's input is wrong).
    #[serde(skip)]
    pub refusal: Option<RollRefusal>,
    /// What kind of failure ended the roll, when a step failed: for each face to map to its exit code or error
    /// category without reading the message.
    #[serde(skip)]
    pub error_kind: Option<ErrorKind>,
}

impl RollReport {
    pub(super) fn new(target: String) -> Self {
        RollReport {
            target,
            object_id: None,
            success: false,
            steps: Vec::new(),
            new_key_id: None,
            removed_key_ids: Vec::new(),
            final_keys: Vec::new(),
            state: RollState::Unchanged,
            detail: String::new(),
            next_step: None,
            error: None,
            connection_switched: None,
            warnings: Vec::new(),
            request_ids: Vec::new(),
            from_journal: false,
            transport_failure: false,
            refusal: None,
            error_kind: None,
        }
    }
}

/// A roll as it runs: the report so far, where progress goes, and what this roll wrote.
pub(super) struct Run<'a> {
    pub(super) report: RollReport,
    pub(super) progress: &'a dyn Progress,
    /// The new key as addKey answered, when this roll added it: a read that lags may not list it yet.
    pub(super) added: Option<KeyCredential>,
    /// Keys this roll removed (old keys, and copies of the new one a retried addKey made): a read that lags
    /// may still list them.
    pub(super) gone: Vec<Uuid>,
}

impl<'a> Run<'a> {
    /// A roll of `target` (in words) that has done nothing yet.
    pub(super) fn new(target: String, progress: &'a dyn Progress) -> Self {
        Run {
            report: RollReport::new(target),
            progress,
            added: None,
            gone: Vec::new(),
        }
    }
    pub(super) fn push(&mut self, step: Step, status: StepStatus, detail: impl Into<String>) {
        let detail = detail.into();
        self.progress
            .step(&self.report.target, &format!("{step}: {detail}"));
        self.report.steps.push(StepReport {
            step,
            status,
            detail,
        });
    }
    pub(super) fn fail(
        &mut self,
        step: Step,
        err: &GraphError,
        state: RollState,
        detail: impl Into<String>,
    ) {
        self.fail_with(step, err.to_string(), err.kind(), state, detail);
        self.report.request_ids = err.request_ids();
    }
    pub(super) fn fail_with(
        &mut self,
        step: Step,
        message: String,
        kind: ErrorKind,
        state: RollState,
        detail: impl Into<String>,
    ) {
        self.report.transport_failure = kind == ErrorKind::Transport;
        self.report.error_kind = Some(kind);
        self.report.error = Some(message.clone());
        self.push(step, StepStatus::Failed, message);
        self.set_state(state, detail);
    }
    /// Records what the object holds, and for a roll that wrote and did not finish, what completes it.
    pub(super) fn set_state(&mut self, state: RollState, detail: impl Into<String>) {
        self.report.state = state;
        self.report.detail = detail.into();
        self.report.next_step = next_step(state).map(str::to_string);
    }
    /// Ends the roll at step `check`, before anything was written.
    pub(super) fn refuse(&mut self, refusal: RollRefusal) {
        self.report.error = Some(refusal.to_string());
        self.push(Step::Check, StepStatus::Failed, refusal.to_string());
        self.set_state(RollState::Unchanged, "unchanged: nothing was written");
        self.report.error_kind = Some(refusal.kind());
        self.report.refusal = Some(refusal);
    }
}

/// What completes a roll left in `state`, in core's words; `None` when there is nothing to complete.
fn next_step(state: RollState) -> Option<&'static str> {
    match state {
        RollState::Incomplete => Some(
            "run the same roll again: it finds the new key in place, verifies it and goes on from there (removing the old key if asked)",
        ),
        RollState::Unknown => Some(
            "run the same roll again: it reads the object first, finds the new key if it was added, and goes on from there without adding it twice",
        ),
        RollState::NotStarted => Some("run the plan again, resuming from its journal"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_keep_the_names_hosts_and_scripts_read() {
        let all = [
            (Step::Plan, "plan"),
            (Step::Check, "check"),
            (Step::Read, "read"),
            (Step::Add, "add"),
            (Step::Verify, "verify"),
            (Step::Remove, "remove"),
            (Step::Final, "final"),
        ];
        for (step, name) in all {
            assert_eq!(serde_json::to_value(step).ok(), Some(name.into()));
            assert_eq!(step, name);
        }
        // Tables align on the name: a width is honoured.
        assert_eq!(format!("{:<7}|", Step::Add), "add    |");
    }
}
