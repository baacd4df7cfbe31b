//! `keyroll roll`'s scriptable output: the JSON document (`rolls`, always an array, one item per plan row or the
//! one roll) and the TSV rows. The text for people stays beside the command (`roll::print_reports`).

use std::time::Duration;

use keyroll_client::roll::{RollReport, RollState};
use keyroll_proto::ErrorKind;
use serde_json::{Value, json};

use crate::output;

/// The fields of the roll document: `rolls` (each report with its 1-based `row`), a `summary`, and, when the
/// run exits non-zero, the `error` object every failed command prints under `--output json`. `advice` is this
/// CLI's spelling of a single roll's refusal (the flags to change).
pub fn document(
    reports: &[RollReport],
    elapsed: Duration,
    exit_code: u8,
    advice: Option<&str>,
) -> Value {
    let rolls: Vec<Value> = reports
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut v = serde_json::to_value(r).unwrap_or_else(|_| json!({}));
            if let Value::Object(m) = &mut v {
                m.insert("row".into(), (i + 1).into());
            }
            v
        })
        .collect();
    let failed = reports.iter().filter(|r| !r.success).count();
    let mut doc = json!({
        "rolls": rolls,
        "summary": {
            "total": reports.len(),
            "succeeded": reports.len() - failed,
            "failed": failed,
            "elapsedSeconds": (elapsed.as_secs_f64() * 10.0).round() / 10.0,
        },
    });
    if exit_code != 0
        && let Some(first) = reports
            .iter()
            .find(|r| !r.success && (exit_code < 128 || r.state == RollState::NotStarted))
        && let Value::Object(m) = &mut doc
    {
        m.insert("error".into(), error(reports, first, exit_code, advice));
    }
    doc
}

/// The error object of a run that did not succeed, for its first failed roll: the kind core gave the failure,
/// and the codes the other faces use (keyroll-host's `ErrorReport`): `roll_refused` when it was refused before
/// anything was written, else `roll_incomplete`.
fn error(reports: &[RollReport], first: &RollReport, exit_code: u8, advice: Option<&str>) -> Value {
    let kind = first.error_kind.unwrap_or(if exit_code >= 128 {
        // Stopped by the user: a guard, not the input, the service or the network.
        ErrorKind::Rejected
    } else if first.transport_failure {
        ErrorKind::Transport
    } else {
        ErrorKind::Service
    });
    let code = if exit_code >= 128 {
        "interrupted"
    } else if first.refusal.is_some() {
        "roll_refused"
    } else {
        "roll_incomplete"
    };
    let not_started = reports
        .iter()
        .filter(|r| r.state == RollState::NotStarted)
        .count();
    let message = if exit_code >= 128 {
        format!(
            "stopped by a signal: {not_started} of {} rows did not start; run the same command with --resume JOURNAL to finish them",
            reports.len()
        )
    } else if reports.len() == 1 {
        // After a write that did not finish, what completes it (core's words; the same command run again).
        let next = completion(first)
            .map(|c| format!("; to complete it, {c}"))
            .unwrap_or_default();
        format!(
            "{}{}{next}",
            first
                .error
                .as_deref()
                .unwrap_or("the roll did not complete"),
            advice.unwrap_or("")
        )
    } else {
        let failed = reports.iter().filter(|r| !r.success).count();
        format!(
            "{failed} of {} rolls did not succeed; each item of rolls says what its object holds",
            reports.len()
        )
    };
    json!({
        "kind": kind,
        "code": code,
        "message": message,
        "requestIds": reports
            .iter()
            .filter(|r| !r.success)
            .flat_map(|r| r.request_ids.iter().cloned())
            .collect::<Vec<String>>(),
        "exitCode": exit_code,
    })
}

/// A header row and one row per roll.
pub fn print_tsv(reports: &[RollReport]) {
    output::print_tsv(
        &[
            "row",
            "target",
            "objectId",
            "state",
            "success",
            "newKeyId",
            "removedKeyIds",
            "detail",
            "error",
        ],
        reports.iter().enumerate().map(|(i, r)| {
            vec![
                (i + 1).to_string(),
                r.target.clone(),
                output::opt(r.object_id),
                r.state.to_string(),
                r.success.to_string(),
                output::opt(r.new_key_id),
                r.removed_key_ids
                    .iter()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                r.detail.clone(),
                r.error.clone().unwrap_or_default(),
            ]
        }),
    );
}

/// What completes a roll that wrote and did not finish, in this CLI's words (core's `next_step`, said as the
/// command to run); `None` when there is nothing to complete. The stderr line and the JSON error both say this.
pub fn completion(r: &RollReport) -> Option<String> {
    if r.success || !r.state.written() || r.next_step.is_none() {
        return None;
    }
    let slow = r.steps.iter().any(|s| {
        s.step == keyroll_client::roll::Step::Verify
            && s.status == keyroll_client::roll::StepStatus::Failed
    });
    Some(format!(
        "run the same keyroll roll command again: it reads the object first and goes on from where it stopped{}",
        if slow {
            " (with a longer --verify-timeout if the new key is slow to sign in)"
        } else {
            ""
        }
    ))
}
