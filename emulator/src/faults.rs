//! Fault injection and throttling, switchable per run (flags) and at run time (`/_emulator/faults`).
//!
//! Clients are only as good as their handling of the service's bad days: 429 with a (possibly fractional)
//! `Retry-After`, 503, slow answers, and the nastiest one — a connection that drops *after* the write was
//! committed, where a blind retry adds the same key twice. The write budget mirrors the service's per
//! app+tenant budget for identity writes (docs/docs/protocol.md §4).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One switchable fault.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// How many of the next matching requests it hits; `None` for all of them.
    #[serde(default)]
    pub count: Option<u32>,
    /// `Retry-After` seconds (fractions allowed), for 429 and 503.
    #[serde(default)]
    pub retry_after: Option<f64>,
}

/// The service's budget of identity writes per calling app and tenant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WriteBudget {
    /// Writes allowed in one window.
    pub writes: u32,
    /// The window, in seconds.
    pub window_secs: f64,
}

impl WriteBudget {
    /// The documented budget: 3,000 writes per 150 s per app and tenant.
    pub const SERVICE: WriteBudget = WriteBudget {
        writes: 3000,
        window_secs: 150.0,
    };

    /// Parses `WRITES/SECONDS` (e.g. `3000/150`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (w, s) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?}: expected WRITES/SECONDS, e.g. 3000/150"))?;
        let writes = w
            .trim()
            .parse::<u32>()
            .map_err(|e| format!("{w:?} is not a number of writes: {e}"))?;
        let window_secs = s
            .trim()
            .parse::<f64>()
            .map_err(|e| format!("{s:?} is not a number of seconds: {e}"))?;
        if writes == 0 || !(window_secs > 0.0 && window_secs.is_finite()) {
            return Err(format!("{text:?}: both numbers must be positive"));
        }
        Ok(WriteBudget {
            writes,
            window_secs,
        })
    }
}

/// A window from a configured number of seconds: settings arrive through the admin API as well as flags, so
/// a negative or absurd window is not a panic.
fn window_of(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs.clamp(0.001, 86_400.0)).unwrap_or(Duration::from_secs(1))
}

/// Seconds until `since` is a whole `window` ago, rounded up to milliseconds so that a client sleeping exactly
/// Retry-After is over the edge.
fn wait_secs(window: Duration, now: Instant, since: Option<Instant>) -> f64 {
    let wait = since
        .map(|t| window.saturating_sub(now.duration_since(t)))
        .unwrap_or(window);
    (wait.as_secs_f64() * 1000.0).ceil() / 1000.0
}

/// The service's budget of identity reads per calling app and tenant, in resource units (docs/protocol.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadBudget {
    /// Resource units allowed in one window.
    pub units: u32,
    /// The window, in seconds.
    pub window_secs: f64,
}

impl ReadBudget {
    /// The documented budget of a small tenant (under 50 users): 3,500 resource units per 10 s per app and
    /// tenant. The emulator's tenants have no users, so S is the size the service would apply.
    pub const SERVICE: ReadBudget = ReadBudget {
        units: 3500,
        window_secs: 10.0,
    };

    /// Parses `UNITS/SECONDS` (e.g. `3500/10`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (units, window_secs) = parse_budget(text, "UNITS/SECONDS, e.g. 3500/10", "units")?;
        Ok(ReadBudget { units, window_secs })
    }
}

/// Collection reads that `$select` keyCredentials allowed per tenant and minute, for each collection: the
/// list pages' own limit ("150 requests per minute for every tenant"), applied with the read budget.
pub const KEY_SELECT_READS_PER_MINUTE: u32 = 150;

fn parse_budget(text: &str, form: &str, what: &str) -> Result<(u32, f64), String> {
    let (w, s) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?}: expected {form}"))?;
    let n = w
        .trim()
        .parse::<u32>()
        .map_err(|e| format!("{w:?} is not a number of {what}: {e}"))?;
    let window_secs = s
        .trim()
        .parse::<f64>()
        .map_err(|e| format!("{s:?} is not a number of seconds: {e}"))?;
    if n == 0 || !(window_secs > 0.0 && window_secs.is_finite()) {
        return Err(format!("{text:?}: both numbers must be positive"));
    }
    Ok((n, window_secs))
}

/// What charging a read cost: the units, and the share of the budget in use when over 0.8 (the service's
/// `x-ms-throttle-limit-percentage`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadCharge {
    /// Resource units this request cost.
    pub units: u32,
    /// Used / limit in the window, when above 0.8.
    pub limit_share: Option<f64>,
}

/// Why a read was refused: which limit, and the seconds until it has room.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReadRefusal {
    /// The app+tenant resource-unit budget is spent.
    ResourceUnits(f64),
    /// The tenant's collection reads selecting keyCredentials are spent.
    KeySelect(f64),
}

/// Every fault of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultConfig {
    /// Answer Graph requests with 429 `TooManyRequests`.
    #[serde(default)]
    pub throttle: Option<FaultRule>,
    /// Answer Graph requests with 503 `ServiceUnavailable`.
    #[serde(default)]
    pub unavailable: Option<FaultRule>,
    /// Delay every Graph and token request by this many milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Commit an addKey, then drop the connection without answering.
    #[serde(default)]
    pub drop_after_commit: Option<FaultRule>,
    /// The write budget per calling app and tenant; `None` for unlimited.
    #[serde(default)]
    pub write_budget: Option<WriteBudget>,
    /// The read budget (resource units) per calling app and tenant; `None` for unlimited.
    #[serde(default)]
    pub read_budget: Option<ReadBudget>,
    /// Replication delay of reads: Graph's read of an object's keys shows them as they were this many
    /// milliseconds ago (see [`crate::replication`]).
    #[serde(default)]
    pub replication_delay_ms: u64,
    /// Replication delay of sign-ins: a key added by addKey signs client assertions only this many
    /// milliseconds after the addKey committed.
    #[serde(default)]
    pub key_activation_delay_ms: u64,
}

/// The live fault state of a running emulator.
#[derive(Debug, Default)]
pub struct Faults {
    config: Mutex<FaultConfig>,
    writes: Mutex<HashMap<(Uuid, Uuid), VecDeque<Instant>>>,
    reads: Mutex<HashMap<(Uuid, Uuid), UnitLog>>,
    key_selects: Mutex<HashMap<(Uuid, u8), VecDeque<Instant>>>,
}

/// The units spent in a sliding window.
#[derive(Debug, Default)]
struct UnitLog {
    entries: VecDeque<(Instant, u32)>,
    total: u64,
}

/// Consumes one use of a rule; returns the rule's `Retry-After` (as `Some(None)` when it has none).
fn take(rule: &mut Option<FaultRule>) -> Option<Option<f64>> {
    let r = rule.as_mut()?;
    match r.count {
        Some(0) => None,
        Some(n) => {
            r.count = Some(n - 1);
            Some(r.retry_after)
        }
        None => Some(r.retry_after),
    }
}

impl Faults {
    /// Starts with `config`.
    pub fn new(config: FaultConfig) -> Self {
        Faults {
            config: Mutex::new(config),
            writes: Mutex::new(HashMap::new()),
            reads: Mutex::new(HashMap::new()),
            key_selects: Mutex::new(HashMap::new()),
        }
    }

    /// The current configuration (with the counts left).
    pub fn config(&self) -> FaultConfig {
        self.config.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Replaces the configuration; the write windows start afresh.
    pub fn set(&self, config: FaultConfig) {
        if let Ok(mut c) = self.config.lock() {
            *c = config;
        }
        if let Ok(mut w) = self.writes.lock() {
            w.clear();
        }
        if let Ok(mut r) = self.reads.lock() {
            r.clear();
        }
        if let Ok(mut k) = self.key_selects.lock() {
            k.clear();
        }
    }

    /// The added latency.
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.config.lock().map(|c| c.latency_ms).unwrap_or(0))
    }

    /// The replication delays: (reads lag writes, a new key signs in after).
    pub fn replication_delays(&self) -> (time::Duration, time::Duration) {
        let (r, k) = self
            .config
            .lock()
            .map(|c| (c.replication_delay_ms, c.key_activation_delay_ms))
            .unwrap_or((0, 0));
        (crate::replication::millis(r), crate::replication::millis(k))
    }

    /// Whether this Graph request is to be throttled (429); returns its `Retry-After`.
    pub fn take_throttle(&self) -> Option<Option<f64>> {
        self.config
            .lock()
            .ok()
            .and_then(|mut c| take(&mut c.throttle))
    }

    /// Whether this Graph request is to fail with 503; returns its `Retry-After`.
    pub fn take_unavailable(&self) -> Option<Option<f64>> {
        self.config
            .lock()
            .ok()
            .and_then(|mut c| take(&mut c.unavailable))
    }

    /// Whether this committed addKey is to lose its connection.
    pub fn take_drop_after_commit(&self) -> bool {
        self.config
            .lock()
            .ok()
            .and_then(|mut c| take(&mut c.drop_after_commit))
            .is_some()
    }

    /// Whether a read budget is set.
    pub fn read_budget(&self) -> Option<ReadBudget> {
        self.config.lock().ok().and_then(|c| c.read_budget)
    }

    /// Charges a read of `units` resource units to `app_id` in `tenant_id`; a collection read that selects
    /// keyCredentials (`key_select`: the collection's number) also counts against the tenant's per-minute
    /// limit of such reads. Without a read budget every read passes.
    pub fn charge_read(
        &self,
        tenant_id: Uuid,
        app_id: Uuid,
        units: u32,
        key_select: Option<u8>,
    ) -> Result<ReadCharge, ReadRefusal> {
        let Some(budget) = self.read_budget() else {
            return Ok(ReadCharge {
                units,
                limit_share: None,
            });
        };
        let now = Instant::now();
        if let Some(collection) = key_select {
            let window = Duration::from_secs(60);
            if let Ok(mut all) = self.key_selects.lock() {
                let log = all.entry((tenant_id, collection)).or_default();
                while log
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= window)
                {
                    log.pop_front();
                }
                if log.len() >= KEY_SELECT_READS_PER_MINUTE as usize {
                    return Err(ReadRefusal::KeySelect(wait_secs(
                        window,
                        now,
                        log.front().copied(),
                    )));
                }
                log.push_back(now);
            }
        }
        let window = window_of(budget.window_secs);
        let Ok(mut all) = self.reads.lock() else {
            return Ok(ReadCharge {
                units,
                limit_share: None,
            });
        };
        let log = all.entry((tenant_id, app_id)).or_default();
        while let Some((t, u)) = log.entries.front().copied()
            && now.duration_since(t) >= window
        {
            log.entries.pop_front();
            log.total -= u64::from(u);
        }
        let limit = u64::from(budget.units);
        if log.total + u64::from(units) > limit {
            // The oldest entries leave the window first; wait until enough of them have.
            let mut freed = 0u64;
            let mut until = None;
            for (t, u) in &log.entries {
                freed += u64::from(*u);
                until = Some(*t);
                if log.total - freed + u64::from(units) <= limit {
                    break;
                }
            }
            return Err(ReadRefusal::ResourceUnits(wait_secs(window, now, until)));
        }
        log.entries.push_back((now, units));
        log.total += u64::from(units);
        let share = log.total as f64 / limit as f64;
        Ok(ReadCharge {
            units,
            limit_share: (share > 0.8).then_some(share),
        })
    }

    /// Counts one write of `app_id` in `tenant_id` against the budget; `Err(retry_after_secs)` when over.
    pub fn charge_write(&self, tenant_id: Uuid, app_id: Uuid) -> Result<(), f64> {
        let Some(budget) = self.config.lock().ok().and_then(|c| c.write_budget) else {
            return Ok(());
        };
        // Settings arrive through the admin API as well as flags: a negative or absurd window is not a panic.
        let window = Duration::try_from_secs_f64(budget.window_secs.clamp(0.001, 86_400.0))
            .unwrap_or(Duration::from_secs(1));
        let now = Instant::now();
        let Ok(mut all) = self.writes.lock() else {
            return Ok(());
        };
        let log = all.entry((tenant_id, app_id)).or_default();
        while log
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            log.pop_front();
        }
        if log.len() >= budget.writes as usize {
            let wait = log
                .front()
                .map(|t| window.saturating_sub(now.duration_since(*t)))
                .unwrap_or(window);
            // Round up to milliseconds so that a client sleeping exactly Retry-After is over the edge.
            return Err((wait.as_secs_f64() * 1000.0).ceil() / 1000.0);
        }
        log.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_rules_run_out() {
        let f = Faults::new(FaultConfig {
            throttle: Some(FaultRule {
                count: Some(2),
                retry_after: Some(1.5),
            }),
            ..Default::default()
        });
        assert_eq!(f.take_throttle(), Some(Some(1.5)));
        assert_eq!(f.take_throttle(), Some(Some(1.5)));
        assert_eq!(f.take_throttle(), None);
        assert_eq!(f.take_unavailable(), None);
    }

    #[test]
    fn budget_is_per_app_and_tenant() {
        let f = Faults::new(FaultConfig {
            write_budget: Some(WriteBudget {
                writes: 2,
                window_secs: 60.0,
            }),
            ..Default::default()
        });
        let (t, a, b) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        assert!(f.charge_write(t, a).is_ok());
        assert!(f.charge_write(t, a).is_ok());
        let wait = f.charge_write(t, a).unwrap_err();
        assert!(wait > 59.0 && wait <= 60.0);
        assert!(f.charge_write(t, b).is_ok());
    }

    #[test]
    fn read_budget_counts_units_and_waits_for_the_oldest() {
        let f = Faults::new(FaultConfig {
            read_budget: Some(ReadBudget {
                units: 5,
                window_secs: 60.0,
            }),
            ..Default::default()
        });
        let (t, a, b) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(f.charge_read(t, a, 2, None).unwrap().limit_share, None);
        let second = f.charge_read(t, a, 2, None).unwrap();
        assert!(second.limit_share.is_none(), "4 of 5 is 0.8, not above");
        let Err(ReadRefusal::ResourceUnits(wait)) = f.charge_read(t, a, 2, None) else {
            panic!("6 units of 5 must be refused");
        };
        assert!(wait > 59.0 && wait <= 60.0);
        let last = f.charge_read(t, a, 1, None).unwrap();
        assert_eq!(last.limit_share, Some(1.0));
        assert!(
            f.charge_read(t, b, 5, None).is_ok(),
            "another app has its own budget"
        );
        assert_eq!(ReadBudget::parse("3500/10").unwrap(), ReadBudget::SERVICE);
        assert!(ReadBudget::parse("0/10").is_err());
    }

    #[test]
    fn key_select_reads_are_limited_per_tenant_and_collection() {
        let f = Faults::new(FaultConfig {
            read_budget: Some(ReadBudget::SERVICE),
            ..Default::default()
        });
        let t = Uuid::new_v4();
        for _ in 0..KEY_SELECT_READS_PER_MINUTE {
            assert!(f.charge_read(t, Uuid::new_v4(), 1, Some(0)).is_ok());
        }
        assert!(matches!(
            f.charge_read(t, Uuid::new_v4(), 1, Some(0)),
            Err(ReadRefusal::KeySelect(_))
        ));
        assert!(f.charge_read(t, Uuid::new_v4(), 1, Some(1)).is_ok());
        assert!(f.charge_read(t, Uuid::new_v4(), 1, None).is_ok());
    }

    #[test]
    fn budget_parses() {
        assert_eq!(
            WriteBudget::parse("3000/150").unwrap(),
            WriteBudget::SERVICE
        );
        assert!(WriteBudget::parse("3000").is_err());
        assert!(WriteBudget::parse("0/1").is_err());
    }
}
