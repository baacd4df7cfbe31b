//! A roll running in the background, polled by the host (nothing calls back into it).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::*;
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
}

/// The [`Progress`](roll::Progress) of a background roll: records, never calls out.
#[derive(Default)]
pub(crate) struct Recorder(std::sync::Mutex<Recorded>);

impl Recorder {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        // Nothing panics while holding the lock; if it ever did, the record itself is still consistent.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl roll::Progress for Recorder {
    fn step(&self, _target: &str, message: &str) {
        let mut r = self.lock();
        r.events.push(message.to_string());
        // A step after the wait ends it.
        r.waiting = None;
    }
    fn waiting(&self, _target: &str, attempt: u32, waited: Duration) {
        self.lock().waiting = Some((attempt, waited));
    }
}

/// A roll running in the background, started by [`Connection::start_roll`]. The host polls it; nothing calls
/// back into the host. Dropping it does not stop the roll: a roll cut short between adding the new key and
/// removing the old one would leave the object in between, so it runs to its end (at most the verify
/// timeout) and its outcome is discarded.
#[derive(Debug)]
pub struct RollOperation {
    pub(crate) recorder: Arc<Recorder>,
    pub(crate) task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recorder")
    }
}

impl RollOperation {
    /// What happened since the last poll: `{"done": bool, "events": [step messages not yet polled], "waiting":
    /// {"attempt": n, "seconds": s} | null, "report": null | the report | the error object}`. While the roll
    /// runs, `report` is null and `waiting` is set while the new key is being verified. Once `done`, `report`
    /// is what [`Connection::roll`] answers: the report of a roll that succeeded, else the error object
    /// ([`ErrorReport`], carrying the report of an incomplete roll), and every later poll says the same.
    pub fn poll(&self) -> Value {
        let mut r = self.recorder.lock();
        let events = std::mem::take(&mut r.events);
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
        json!({ "done": done, "events": events, "waiting": waiting, "report": report })
    }

    /// Whether the roll has ended.
    pub fn is_done(&self) -> bool {
        self.recorder.lock().outcome.is_some() || self.task.is_finished()
    }
}
