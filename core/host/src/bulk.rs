//! Many rolls as one background operation: the rows of a host's batch go to the client's
//! [`roll_many`](roll::roll_many) at once, so they share its throttle and its concurrency, and each row's report
//! is handed to the host as the row ends.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use crate::*;
use keyroll_client::roll::{self, RollReport, RollSpec, journal};
use keyroll_client::signer::SharedSigner;

/// Rolls running at once when the settings do not say (the CLI's `--concurrency` default).
pub const DEFAULT_CONCURRENCY: usize = 8;

/// The settings of a bulk operation. The certificates of each row are the host's own handles
/// ([`BulkRowSettings::current`], [`BulkRowSettings::next`]); the host turns them into identities and hands them
/// to [`Connection::start_bulk`] in the order of the rows.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkSettings {
    /// The rows, in order (row numbers are 0-based positions here).
    pub rows: Vec<BulkRowSettings>,
    /// Rolls running at once (default [`DEFAULT_CONCURRENCY`]).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// A file to which each row's end is appended as one JSON line (the journal of `keyroll roll --journal`).
    #[serde(default)]
    pub journal_path: Option<PathBuf>,
    /// With `journal_path`: skip the rows that journal shows done.
    #[serde(default)]
    pub resume: bool,
}

/// One row of a bulk operation.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkRowSettings {
    /// What [`Connection::roll`] takes for one roll.
    pub roll: RollSettings,
    /// The host's handle of the certificate in use now.
    pub current: u64,
    /// The host's handle of the certificate to roll to.
    pub next: u64,
}

/// The certificates of one row: (in use now, to roll to).
pub type RowIdentities = (SharedSigner, SharedSigner);

impl Connection {
    /// Starts every row of `settings` as one [`roll_many`](roll::roll_many) in the background on the current
    /// tokio runtime and returns at once; [`RollOperation::poll`] / [`RollOperation::wait`] hand out each row's
    /// report as it ends and, at the end, the summary. `identities` are the rows' certificates, in the order of
    /// the rows. Every row's settings are checked before anything starts (the first wrong one is this call's
    /// error, naming its row).
    pub fn start_bulk(
        &self,
        settings: &BulkSettings,
        identities: Vec<RowIdentities>,
    ) -> Result<RollOperation, ApiError> {
        if identities.len() != settings.rows.len() {
            return Err(ApiError::settings(
                "bulk settings",
                format!(
                    "{} rows but {} pairs of certificates: give one pair per row",
                    settings.rows.len(),
                    identities.len()
                ),
            ));
        }
        if settings.rows.is_empty() {
            return Err(ApiError::settings(
                "bulk settings",
                "no rows: give at least one row to roll",
            ));
        }
        let concurrency = match settings.concurrency {
            Some(0) => {
                return Err(ApiError::settings(
                    "bulk settings",
                    "concurrency 0 would roll nothing: give 1 or more",
                ));
            }
            Some(n) => n,
            None => DEFAULT_CONCURRENCY,
        };
        let specs = settings
            .rows
            .iter()
            .zip(identities)
            .enumerate()
            .map(|(i, (row, (current, next)))| {
                row.roll.spec(current, next).map_err(|e| {
                    ApiError::settings("bulk settings", format!("row {}: {}", i + 1, e))
                })
            })
            .collect::<Result<Vec<RollSpec>, ApiError>>()?;
        let journal = match &settings.journal_path {
            Some(path) => Some(Arc::new(
                journal::Journal::open(path).map_err(|e| journal_error(&e))?,
            )),
            None => None,
        };
        let resume = match (&settings.journal_path, settings.resume) {
            (Some(path), true) if path.exists() => {
                journal::read_journal(path).map_err(|e| journal_error(&e))?
            }
            (Some(_), true) => Vec::new(),
            (None, true) => {
                return Err(ApiError::settings(
                    "bulk settings",
                    "resume reads the journal of an earlier run: give its journalPath",
                ));
            }
            (_, false) => Vec::new(),
        };
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            ApiError::settings("roll", "a background roll needs a tokio runtime to run on")
        })?;
        let stop = roll::StopSignal::default();
        let options = roll::BulkOptions {
            concurrency,
            stop: stop.clone(),
            journal,
            resume,
        };
        let recorder = Arc::new(Recorder::bulk(specs.len()));
        recorder.lock().stop = Some(Box::new({
            let stop = stop.clone();
            move || stop.stop()
        }));
        let client = self.client().clone();
        let progress = recorder.clone();
        let task = runtime.spawn(async move {
            let total = specs.len();
            let sink: Arc<dyn roll::Progress> = progress.clone();
            let outcome = roll::roll_many(&client, specs, options, sink).await;
            let mut r = progress.lock();
            r.outcome = Some(match outcome {
                // Each row was recorded as it ended (`Progress::row_done`).
                Ok(reports) => Ok(summary(&reports, total, stop.is_stopped())),
                Err(e) => Err(ErrorReport::new(e.kind(), "plan_conflict", e.to_string())),
            });
        });
        Ok(RollOperation {
            recorder,
            task,
            signers: Vec::new(),
        })
    }
}

/// A row's end in the record: its report for the host, and the counts.
pub(crate) fn record_row(r: &mut Recorded, row: usize, report: &RollReport) {
    let value = serde_json::to_value(report).unwrap_or_else(|e| {
        // Serializing a report (strings, numbers, ids) cannot fail; keep a row the host can read regardless.
        json!({ "target": report.target, "success": false, "error": e.to_string() })
    });
    if let Some(b) = &mut r.bulk {
        b.done += 1;
        if !report.success && report.state != roll::RollState::NotStarted {
            b.failed += 1;
        }
        b.rows.push(json!({ "row": row, "report": value }));
    }
}

/// The final answer of a bulk operation: how many rows, how many succeeded, failed (not started ones apart), were
/// not started (the run was stopped), and whether it was stopped.
fn summary(reports: &[RollReport], total: usize, stopped: bool) -> serde_json::Value {
    let not_started = reports
        .iter()
        .filter(|r| r.state == roll::RollState::NotStarted)
        .count();
    let succeeded = reports.iter().filter(|r| r.success).count();
    json!({
        "total": total,
        "done": reports.len(),
        "succeeded": succeeded,
        "failed": reports.len() - succeeded - not_started,
        "notStarted": not_started,
        "stopped": stopped,
    })
}

/// A journal that cannot be opened or read: the caller's path or file.
fn journal_error(e: &journal::JournalError) -> ApiError {
    ApiError::settings("journal", e.to_string())
}
