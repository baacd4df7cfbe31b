//! Retry bounds, the throttle shared by every clone of a client, and `Retry-After`.

use std::time::{Duration, Instant};

use time::OffsetDateTime;
use uuid::Uuid;

/// Attempts for a connection that cannot be opened (refused, unreachable): a few, not the whole budget.
pub(super) const MAX_CONNECT_ATTEMPTS: u32 = 3;

/// Bounds on retrying.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Give up once this much time has passed.
    pub max_elapsed: Duration,
    /// First backoff delay.
    pub base_delay: Duration,
    /// Largest single delay.
    pub max_delay: Duration,
    /// How long reads of an object may lag its writes: after an ambiguous addKey (or removeKey), reads are
    /// repeated for this long before the write is taken as not done. The real directory replicates within
    /// seconds; a longer lag is still caught afterwards (a duplicate is removed again) but costs a write.
    pub replication_window: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            max_elapsed: Duration::from_secs(180),
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            replication_window: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        // Full jitter in [50%, 100%] so that many clients do not retry in lockstep.
        let jitter = 0.5 + (Uuid::new_v4().as_u128() % 1000) as f64 / 2000.0;
        capped.mul_f64(jitter)
    }
    /// The pause before read number `read` + 1 while waiting out replication: short at first (most lags are
    /// short), at most half a second so that a key that shows is noticed soon, never past the window's end.
    pub(super) fn reread_delay(&self, read: u32, waited: Duration, limit: Duration) -> Duration {
        let step = Duration::from_millis(100u64 << read.clamp(1, 3)).min(REREAD_MAX_STEP);
        step.min(limit.saturating_sub(waited))
    }
}

/// The longest pause between two reads that wait for a write to show.
pub(super) const REREAD_MAX_STEP: Duration = Duration::from_millis(500);

/// How many replication windows the check for a second copy may wait for reads to be fresh: a second copy is
/// only possible when reads lagged longer than one window.
pub(super) const SETTLE_WINDOWS: u32 = 4;

/// When a read is fresh enough to count copies of a certificate on.
#[derive(Debug, Clone, Copy)]
pub(super) enum Fresh {
    /// Once it lists this keyId (the last addKey's answer): everything committed before it shows too.
    Listed(Uuid),
    /// From this instant on.
    After(Instant),
}

/// A pause shared by every request of a client and its clones: one 429 slows them all.
#[derive(Debug, Default)]
pub(super) struct Throttle {
    resume_at: std::sync::Mutex<Option<Instant>>,
}

impl Throttle {
    pub(super) fn pause_until(&self, at: Instant) {
        if let Ok(mut g) = self.resume_at.lock()
            && g.is_none_or(|cur| cur < at)
        {
            *g = Some(at);
        }
    }
    pub(super) async fn wait_at_most(&self, limit: Duration) {
        let until = self.resume_at.lock().ok().and_then(|g| *g);
        if let Some(at) = until {
            let now = Instant::now();
            if at > now {
                tokio::time::sleep((at - now).min(limit)).await;
            }
        }
    }
}

/// Parses `Retry-After`: seconds (fractional too, as Graph's docs show `2.128`) or an HTTP date.
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(3600.0)));
        }
        return None;
    }
    let date = OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let d = date - now;
    Some(Duration::from_secs_f64(
        d.as_seconds_f64().clamp(0.0, 3600.0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(
            parse_retry_after("2.128", now),
            Some(Duration::from_millis(2128))
        );
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn rereads_are_soon_and_end_with_the_window() {
        let p = RetryPolicy::default();
        let w = p.replication_window;
        assert_eq!(
            p.reread_delay(1, Duration::ZERO, w),
            Duration::from_millis(200)
        );
        assert_eq!(
            p.reread_delay(9, Duration::from_secs(1), w),
            REREAD_MAX_STEP
        );
        assert_eq!(
            p.reread_delay(9, w - Duration::from_millis(30), w),
            Duration::from_millis(30)
        );
        assert_eq!(p.reread_delay(9, w, w), Duration::ZERO);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        assert!(p.backoff(1) <= Duration::from_millis(500));
        assert!(p.backoff(20) <= p.max_delay);
        assert!(p.backoff(4) >= Duration::from_secs(2));
    }
}
