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

mod bulk;
mod errors;
pub mod journal;
mod report;
mod steps;
mod verify;

use std::time::Duration;

use crate::graph::{GraphClient, Target};
use crate::signer::SharedSigner;

pub use bulk::{BulkOptions, PlanConflict, PlanError, StopSignal, roll_many};
pub use errors::{RollRefusal, VerifyError, VerifyTimedOut};
pub use journal::{Journal, JournalEntry, JournalError};
pub use report::{KeySummary, RollReport, RollState, Step, StepReport, StepStatus, summarize};

/// What to roll.
#[derive(Clone)]
pub struct RollSpec {
    /// The object.
    pub target: Target,
    /// The certificate in use now (its key signs the addKey proof, wherever it is held).
    pub current: SharedSigner,
    /// The certificate to roll to (its key signs the check token requests and the removeKey proof).
    pub new: SharedSigner,
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
    /// A request is being sent again (throttled, busy, no answer). Bulk rolls forward the retries of their
    /// client here; a single roll's host observes its client itself ([`GraphClient::with_retry_observer`]).
    fn throttled(&self, _event: &crate::graph::RetryEvent) {}
    /// Bulk rolls: plan row `row` (from 0) ended, with this report (also for rows skipped or not started).
    fn row_done(&self, _row: usize, _report: &RollReport) {}
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;
impl Progress for NoProgress {}

/// Rolls one object's certificate. Never panics; every outcome is in the report.
///
/// The driver runs one function per step ([`Step`]); a step that fails records why in the report and says
/// whether anything may have been written, in which case the final keys are read so that the report says what
/// the object holds.
pub async fn roll(client: &GraphClient, spec: &RollSpec, progress: &dyn Progress) -> RollReport {
    let mut run = report::Run::new(spec.target.to_string(), progress);
    let ended = match run_steps(client, spec, &mut run).await {
        Ok(written) => written,
        Err(ended) => ended,
    };
    if let steps::Ended::Written(target, _guard) = ended {
        steps::finish(client, &target, spec, &mut run).await;
    }
    // The connection follows the roll: once the old certificate is gone from the object it can no longer sign
    // in, so a client that signed in with it signs in with the new one from now on.
    if run.report.state == RollState::Rolled
        && client
            .tokens()
            .follow_roll(spec.current.certificate(), &spec.new)
    {
        let thumbprint = spec.new.certificate().sha1_hex();
        run.progress.step(
            &run.report.target,
            &format!("final: the connection now signs in with the new certificate {thumbprint}"),
        );
        run.report.connection_switched = Some(thumbprint);
    }
    run.report
}

/// The steps in order: `check`, `read`, `add`, `verify`, `remove`; `final` follows in [`roll`].
async fn run_steps(
    client: &GraphClient,
    spec: &RollSpec,
    run: &mut report::Run<'_>,
) -> Result<steps::Ended, steps::Ended> {
    steps::check(client, spec, run)?;
    let (before, guard) = steps::read(client, spec, run).await?;
    let tenant = steps::tenant(client, spec, run).await?;
    let target = spec.target.with_object_id(before.id);
    let client_id = steps::verifier(spec, &before, run)?;
    let written = |guard| steps::Ended::Written(target, guard);
    if steps::add(client, &target, &before, spec, run)
        .await
        .is_err()
    {
        return Err(written(guard));
    }
    let verified = match verify::verify(client, tenant, client_id, &before, spec, run).await {
        Ok(v) => v,
        Err(()) => return Err(written(guard)),
    };
    if steps::remove(client, &target, spec, verified, &guard, run)
        .await
        .is_err()
    {
        return Err(written(guard));
    }
    steps::conclude(spec, verified, run);
    Ok(written(guard))
}
