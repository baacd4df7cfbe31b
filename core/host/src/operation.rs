//! A roll running in the background, polled by the host (nothing calls back into it). The host either polls
//! ([`RollOperation::poll`], never blocks) or waits ([`RollOperation::wait`], blocks until something happens or a
//! timeout passes): a host that waits hears of every step, and of the end, the moment it happens, instead of at
//! its next poll.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::*;
use keyroll_client::graph::{RetryEvent, RetryObserver};
use keyroll_client::roll::{self};

/// What a background roll has said so far.
#[derive(Default)]
pub(crate) struct Recorded {
    /// Step messages not yet handed out by a poll.
    pub(crate) events: Vec<String>,
    /// The latest waiting state while the new key is being verified: attempt and time waited.
    pub(crate) waiting: Option<(u32, Duration)>,
    /// The roll's result (the report) or its error object, once it has ended.
    pub(crate) outcome: Option<Result<Value, ErrorReport>>,
    /// Requests being sent again (throttled, busy, no answer) not yet handed out by a poll: `{operation, status,
    /// reason, delaySecs, retryAfterSecs, attempt, message}`.
    pub(crate) retries: Vec<Value>,
    /// Something a poll has not handed out yet changed (a new waiting state): wakes a waiting host.
    pub(crate) fresh: bool,
    /// A bulk operation: step messages name their target, and rows end one by one.
    pub(crate) bulk: Option<BulkRecord>,
    /// How to stop the operation from starting more rolls ([`RollOperation::stop`]); none for a single roll,
    /// which always runs to its end.
    pub(crate) stop: Option<Box<dyn Fn() + Send + Sync>>,
}

/// What a bulk operation has said beyond a single roll's record.
#[derive(Default)]
pub(crate) struct BulkRecord {
    /// Rows in the operation.
    pub(crate) total: usize,
    /// Rows that ended (skipped ones included), and of those, the ones that failed.
    pub(crate) done: usize,
    pub(crate) failed: usize,
    /// Rows that ended and were not handed out yet: `{row, report}`.
    pub(crate) rows: Vec<Value>,
    /// The target of the latest step, for a host's progress line.
    pub(crate) current: Option<String>,
}

/// The [`Progress`](roll::Progress) of a background roll: records, never calls out. Every change wakes the
/// hosts waiting on it ([`RollOperation::wait`]).
#[derive(Default)]
pub(crate) struct Recorder {
    state: Mutex<Recorded>,
    changed: Condvar,
}

/// The record, locked; when released, it wakes every host waiting for a change (whoever locked it for
/// writing changed something, and a spurious wake-up costs a waiting host one look).
pub(crate) struct RecordGuard<'a> {
    guard: MutexGuard<'a, Recorded>,
    changed: &'a Condvar,
}

impl std::ops::Deref for RecordGuard<'_> {
    type Target = Recorded;
    fn deref(&self) -> &Recorded {
        &self.guard
    }
}

impl std::ops::DerefMut for RecordGuard<'_> {
    fn deref_mut(&mut self) -> &mut Recorded {
        &mut self.guard
    }
}

impl Drop for RecordGuard<'_> {
    fn drop(&mut self) {
        self.changed.notify_all();
    }
}

impl Recorder {
    /// A recorder for a bulk operation of `total` rows.
    pub(crate) fn bulk(total: usize) -> Self {
        let r = Recorder::default();
        r.raw().bulk = Some(BulkRecord {
            total,
            ..Default::default()
        });
        r
    }

    fn raw(&self) -> MutexGuard<'_, Recorded> {
        // Nothing panics while holding the lock; if it ever did, the record itself is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The record, locked for a change: waiting hosts wake when it is released.
    pub(crate) fn lock(&self) -> RecordGuard<'_> {
        RecordGuard {
            guard: self.raw(),
            changed: &self.changed,
        }
    }

    /// A request being sent again, for the host's next answer.
    fn retry(&self, event: &RetryEvent) {
        let mut r = self.lock();
        r.retries.push(json!({
            "operation": event.operation,
            "status": event.status,
            "reason": event.reason,
            "delaySecs": event.delay.as_secs_f64(),
            "retryAfterSecs": event.retry_after.map(|d| d.as_secs_f64()),
            "attempt": event.attempt,
            "message": event.to_string(),
        }));
    }
}

/// A single roll's client reports its retries here (a bulk roll forwards them through
/// [`Progress::throttled`](roll::Progress::throttled)).
impl RetryObserver for Recorder {
    fn retrying(&self, event: &RetryEvent) {
        self.retry(event);
    }
}

impl roll::Progress for Recorder {
    fn throttled(&self, event: &RetryEvent) {
        self.retry(event);
    }
    fn row_done(&self, row: usize, report: &roll::RollReport) {
        record_row(&mut self.lock(), row, report);
    }
    fn step(&self, target: &str, message: &str) {
        let mut r = self.lock();
        let line = match &mut r.bulk {
            Some(b) => {
                b.current = Some(target.to_string());
                format!("{target}: {message}")
            }
            None => message.to_string(),
        };
        r.events.push(line);
        // A step after the wait ends it.
        r.waiting = None;
    }
    fn waiting(&self, target: &str, attempt: u32, waited: Duration) {
        let mut r = self.lock();
        r.waiting = Some((attempt, waited));
        r.fresh = true;
        if let Some(b) = &mut r.bulk {
            b.current = Some(target.to_string());
        }
    }
}

/// A roll running in the background, started by [`Connection::start_roll`] (or many, by
/// [`Connection::start_bulk`]). The host polls or waits on it; nothing calls back into the host. Dropping it
/// does not stop the roll: a roll cut short between adding the new key and removing the old one would leave the
/// object in between, so it runs to its end (at most the verify timeout) and its outcome is discarded.
#[derive(Debug)]
pub struct RollOperation {
    pub(crate) recorder: Arc<Recorder>,
    pub(crate) task: tokio::task::JoinHandle<()>,
    /// The signers whose keys the host holds, whose requests this operation reports
    /// ([`RollOperation::with_signers`]).
    pub(crate) signers: Vec<Arc<ExternalSigner>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recorder")
    }
}

/// How often a waiting host looks at the task itself: a task that panicked records no outcome and so wakes
/// nobody.
const TASK_CHECK: Duration = Duration::from_millis(100);

impl RollOperation {
    /// What happened since the last poll: `{"done": bool, "events": [step messages not yet polled], "waiting":
    /// {"attempt": n, "seconds": s} | null, "report": null | the report | the error object}`. While the roll
    /// runs, `report` is null and `waiting` is set while the new key is being verified. Once `done`, `report`
    /// is what [`Connection::roll`] answers: the report of a roll that succeeded, else the error object
    /// ([`ErrorReport`], carrying the report of an incomplete roll), and every later poll says the same.
    ///
    /// `retries` lists the requests being sent again since the last poll (`{operation, status, reason, delaySecs,
    /// retryAfterSecs, attempt, message}`, `message` as "throttled (429), retrying in 1.5 s, attempt 3 (...)").
    ///
    /// `signatures` lists the signature requests waiting for the host, of the signers whose keys the host holds
    /// ([`RollOperation::with_signers`]): `[{id, signer, purpose, input, algorithm, thumbprint, x5t,
    /// x5tS256}]` (see [`ExternalSigner::pending`]). The roll is paused on them until the host answers each
    /// ([`ExternalSigner::answer`]) or refuses it; they stay listed until then.
    ///
    /// A bulk operation ([`Connection::start_bulk`]) adds `"rows": [{"row": n, "report": {...}}]` (the rows
    /// that ended since the last poll, 0-based, each with its report), `"progress": {"total", "done",
    /// "failed", "current"}`, and its events name their target (`"<target>: <message>"`); its final `report`
    /// is the summary `{"total", "done", "succeeded", "failed", "notStarted", "stopped"}` or the error object
    /// of a refused plan.
    pub fn poll(&self) -> Value {
        let mut r = self.recorder.lock();
        let events = std::mem::take(&mut r.events);
        let retries = std::mem::take(&mut r.retries);
        r.fresh = false;
        if r.outcome.is_none() && self.task.is_finished() {
            // The task ended without recording an outcome: it panicked.
            r.outcome = Some(Err(ErrorReport::new(
                ErrorKind::Internal,
                "panic",
                "internal error (a bug in keyroll, please report it): the roll stopped unexpectedly",
            )));
        }
        let report = match &r.outcome {
            None => Value::Null,
            Some(Ok(report)) => report.clone(),
            Some(Err(error)) => serde_json::to_value(error).unwrap_or(Value::Null),
        };
        let done = r.outcome.is_some();
        let waiting = match r.waiting.filter(|_| !done) {
            Some((attempt, waited)) => json!({ "attempt": attempt, "seconds": waited.as_secs() }),
            None => Value::Null,
        };
        let mut answer = json!({
            "done": done,
            "events": events,
            "retries": retries,
            "waiting": waiting,
            "report": report,
            "signatures": if done { Vec::new() } else { self.signatures() },
        });
        if let Some(b) = &mut r.bulk {
            answer["rows"] = Value::Array(std::mem::take(&mut b.rows));
            answer["progress"] = json!({
                "total": b.total,
                "done": b.done,
                "failed": b.failed,
                "current": b.current,
            });
        }
        answer
    }

    /// Waits at most `timeout` for something to happen (a step, a new waiting state, a row's end, a signature
    /// request waiting for the host, the end),
    /// then answers what [`RollOperation::poll`] answers. Returns at once when something happened since the
    /// last poll or the operation has ended, so a host that waits in a loop sees each step as it happens and
    /// the end the moment it comes, without a poll interval. Blocks the calling thread (not the runtime).
    pub fn wait(&self, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        let mut r = self.recorder.raw();
        loop {
            let news = !r.events.is_empty()
                || !r.retries.is_empty()
                || r.fresh
                || r.outcome.is_some()
                || r.bulk.as_ref().is_some_and(|b| !b.rows.is_empty())
                || self.signers.iter().any(|s| !s.pending().is_empty());
            let now = Instant::now();
            if news || now >= deadline || self.task.is_finished() {
                break;
            }
            let slice = (deadline - now).min(TASK_CHECK);
            r = match self.recorder.changed.wait_timeout(r, slice) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        drop(r);
        self.poll()
    }

    /// Stops a bulk operation: rows not yet started end `notStarted`, rows in flight finish (a roll cut short
    /// could leave its object between its old and new key). The end comes through [`RollOperation::wait`] as
    /// usual. A single roll is not stopped: it runs to its end (at most its verify timeout).
    pub fn stop(&self) {
        if let Some(stop) = &self.recorder.raw().stop {
            stop();
        }
    }

    /// Whether the roll has ended.
    pub fn is_done(&self) -> bool {
        self.recorder.raw().outcome.is_some() || self.task.is_finished()
    }
}
