//! Replication delay: the real directory is eventually consistent. A read right after a write can miss it,
//! and a key just added can take seconds before the token endpoint accepts assertions signed with it. A
//! client's safety net — read the keys before retrying an addKey whose answer was lost, wait until the new
//! key signs in before removing the old one — is only proven against a directory that behaves so.
//!
//! Two delays, both off by default and switchable at run time with the other faults
//! ([`crate::FaultConfig::replication_delay_ms`], [`crate::FaultConfig::key_activation_delay_ms`]):
//!
//! * **reads lag writes** by N ms, per object: Graph's read of an object's keys shows the keys as they were
//!   N ms ago. Writes themselves (addKey, removeKey, and the proof check they run) see the committed state,
//!   as the service's primary does; the admin API always shows the committed state too, so tests can count
//!   what is really there.
//! * **a new key is usable for tokens** M ms after its addKey committed; until then the token endpoint
//!   answers an assertion signed with it as for an unregistered key (AADSTS700027).
//!
//! Both run on the emulator's clock. Each write keeps, for N ms only, the key list readers saw before it;
//! pending activations are kept in memory only (a restart makes them usable at once).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use keyroll_proto::credential::KeyCredential;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Objects whose history is swept for stale entries once the map holds more than this many.
const SWEEP_ABOVE: usize = 1024;

/// Writes of one object inside the lag window: when each committed and what readers saw before it.
type History = VecDeque<(OffsetDateTime, Arc<Vec<KeyCredential>>)>;

/// What reads and sign-ins have not seen yet.
#[derive(Debug, Default)]
pub struct Replication {
    /// Held from the snapshot of the keys before a write until the write is recorded, so that two writes
    /// of one object cannot record each other's "before" wrongly.
    writes: Mutex<()>,
    history: Mutex<HashMap<Uuid, History>>,
    activation: Mutex<HashMap<Uuid, OffsetDateTime>>,
}

/// Lag in milliseconds as a duration (saturating).
pub fn millis(ms: u64) -> Duration {
    Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX / 1_000_000))
}

fn prune(history: &mut History, cutoff: OffsetDateTime) {
    while history.front().is_some_and(|(t, _)| *t <= cutoff) {
        history.pop_front();
    }
}

impl Replication {
    /// Starts a write when reads lag (`lag` > 0): the returned guard is held until [`Replication::record`].
    pub fn begin_write(&self, lag: Duration) -> Option<MutexGuard<'_, ()>> {
        if lag.is_positive() {
            self.writes.lock().ok()
        } else {
            None
        }
    }

    /// Records that `object_id` changed at `now`; readers keep seeing `before` until `now + lag`.
    pub fn record(
        &self,
        object_id: Uuid,
        now: OffsetDateTime,
        lag: Duration,
        before: Vec<KeyCredential>,
    ) {
        let Ok(mut all) = self.history.lock() else {
            return;
        };
        let cutoff = now - lag;
        let entry = all.entry(object_id).or_default();
        prune(entry, cutoff);
        entry.push_back((now, Arc::new(before)));
        if all.len() > SWEEP_ABOVE {
            all.retain(|_, h| {
                prune(h, cutoff);
                !h.is_empty()
            });
        }
    }

    /// The keys a read of `object_id` at `now` sees: `current` (the committed keys) unless a write less than
    /// `lag` ago changed them, then the keys as they were `lag` ago.
    pub fn visible(
        &self,
        object_id: Uuid,
        now: OffsetDateTime,
        lag: Duration,
        current: Vec<KeyCredential>,
    ) -> Vec<KeyCredential> {
        let Ok(mut all) = self.history.lock() else {
            return current;
        };
        if !lag.is_positive() {
            all.clear();
            return current;
        }
        let Some(history) = all.get_mut(&object_id) else {
            return current;
        };
        prune(history, now - lag);
        match history.front() {
            Some((_, before)) => before.as_ref().clone(),
            None => {
                all.remove(&object_id);
                current
            }
        }
    }

    /// Makes `key_id`, added at `now`, usable for tokens only from `at`.
    pub fn activate_at(&self, key_id: Uuid, now: OffsetDateTime, at: OffsetDateTime) {
        if let Ok(mut a) = self.activation.lock() {
            // Keys never used to sign in would otherwise stay here: sweep the ones already usable.
            if a.len() >= SWEEP_ABOVE {
                a.retain(|_, t| *t > now);
            }
            a.insert(key_id, at);
        }
    }

    /// Whether `key_id` may sign a client assertion at `now`.
    pub fn usable_for_tokens(&self, key_id: Uuid, now: OffsetDateTime) -> bool {
        let Ok(mut a) = self.activation.lock() else {
            return true;
        };
        match a.get(&key_id) {
            Some(at) if now < *at => false,
            Some(_) => {
                a.remove(&key_id);
                true
            }
            None => true,
        }
    }

    /// Forgets a removed key's pending activation.
    pub fn forget(&self, key_id: Uuid) {
        if let Ok(mut a) = self.activation.lock() {
            a.remove(&key_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> KeyCredential {
        KeyCredential {
            key_id: Some(Uuid::new_v4()),
            ..KeyCredential::default()
        }
    }

    #[test]
    fn reads_see_the_state_of_lag_ago() {
        let r = Replication::default();
        let id = Uuid::new_v4();
        let t0 = OffsetDateTime::now_utc();
        let lag = millis(1000);
        let (a, b) = (key(), key());
        r.record(id, t0, lag, vec![a.clone()]);
        r.record(id, t0 + millis(400), lag, vec![a.clone(), b.clone()]);
        let now = vec![a.clone(), b.clone(), key()];
        let at = |ms| r.visible(id, t0 + millis(ms), lag, now.clone()).len();
        assert_eq!(at(10), 1);
        assert_eq!(at(999), 1);
        assert_eq!(at(1000), 2);
        assert_eq!(at(1399), 2);
        assert_eq!(at(1400), 3);
        assert_eq!(r.visible(id, t0, millis(0), now.clone()).len(), 3);
    }

    #[test]
    fn activation_waits() {
        let r = Replication::default();
        let k = Uuid::new_v4();
        let t0 = OffsetDateTime::now_utc();
        r.activate_at(k, t0, t0 + millis(500));
        assert!(!r.usable_for_tokens(k, t0));
        assert!(r.usable_for_tokens(k, t0 + millis(500)));
        assert!(r.usable_for_tokens(Uuid::new_v4(), t0));
    }
}
