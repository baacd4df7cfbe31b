//! Step `verify`: a token requested with the new certificate, as the object's own application, until one is
//! issued or the verify timeout runs out. A new key is not usable at once; removing the old key before the new
//! one signs in is how scripts lock applications out.

use std::time::{Duration, Instant};

use super::errors::{VerifyError, VerifyTimedOut};
use super::report::{RollState, Run, Step, StepStatus};
use super::{Progress, RollSpec};
use crate::auth::{self, AuthError};
use crate::graph::{GraphClient, ObjectKeys};

/// Step `verify`, as the target's own app (a token for another app proves nothing about this object's keys):
/// whether the new key was verified; skipped without a tenant or client id.
pub(super) async fn verify(
    client: &GraphClient,
    tenant: Option<String>,
    client_id: Option<String>,
    before: &ObjectKeys,
    spec: &RollSpec,
    run: &mut Run<'_>,
) -> Result<bool, ()> {
    let (Some(tenant), Some(client_id)) = (tenant, client_id) else {
        run.push(
            Step::Verify,
            StepStatus::Skipped,
            "no tenant id or client id to request a token with; the new key was not verified",
        );
        return Ok(false);
    };
    let name = run.report.target.clone();
    match wait_until_usable(client, &tenant, &client_id, spec, &name, run.progress).await {
        Ok(waited) => {
            run.push(
                Step::Verify,
                StepStatus::Done,
                format!(
                    "a token was issued for the new certificate after {:.1} s",
                    waited.as_secs_f64()
                ),
            );
            Ok(true)
        }
        Err(e) => {
            let kind = e.kind();
            let e = match e {
                VerifyError::TimedOut(t) => VerifyError::TimedOut(VerifyTimedOut {
                    object_id: run.report.object_id,
                    key_id: run.report.new_key_id,
                    old_key_ids: before
                        .keys
                        .iter()
                        .filter(|k| k.is_certificate(spec.current.certificate()))
                        .filter_map(|k| k.key_id)
                        .collect(),
                    ..t
                }),
                other => other,
            };
            run.fail_with(
                Step::Verify,
                e.to_string(),
                kind,
                RollState::Incomplete,
                "the new key was added but could not be verified; the old key was kept",
            );
            Err(())
        }
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
            spec.new.as_ref(),
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
