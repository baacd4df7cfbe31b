//! Repair: a new certificate for an object that has no valid one left, by PATCH of its whole `keyCredentials`.
//!
//! addKey needs a proof signed by a currently valid certificate of the object, so an object whose every
//! certificate expired cannot be fixed with it; the service says to use the Update operation instead
//! (docs/protocol.md §2). Update replaces the whole collection and needs Application.ReadWrite.All (or
//! Application.ReadWrite.OwnedBy as an owner), even for the app itself. Three rules keep it from losing a key:
//!
//! * **Every existing key is sent back** by its keyId without its bytes
//!   ([`keyroll_proto::credential::repair_collection`]), which the service keeps as it is; the body is judged by
//!   the same rule the emulator judges it with ([`keyroll_proto::credential::validate_key_credentials_update`])
//!   before it is sent, so private key material never leaves.
//! * **The keys are read again right before the PATCH**, under the object's write lock (one writer per object
//!   through this client and its clones). A change since the plan was read (another process's addKey) makes the
//!   repair start over from the new read, a bounded number of times. What no client can close is the gap
//!   between that last read and the PATCH itself (milliseconds): Graph has no conditional update for
//!   `keyCredentials`. A key another process adds inside that gap would be replaced; the re-read afterwards
//!   cannot see it either. Run a repair when no other tool writes the object's keys.
//! * **The outcome is read back**: every key sent back and the new certificate must be listed (reads lag
//!   writes, so for up to the replication window) or the repair says which are missing. A PATCH whose answer
//!   was lost is never sent again blindly: the keys are read until the new certificate shows.

use serde_json::json;
use uuid::Uuid;

use super::call::{CallResult, Idempotency};
use super::{GraphClient, GraphError, ObjectGuard, ObjectKeys, Target};
use keyroll_proto::cert::Certificate;
use keyroll_proto::credential::{
    KeyCredential, repair_collection, validate_key_credentials_update,
};

/// How many times a repair starts over when the keys changed between its read and its PATCH.
pub const REPAIR_READ_ATTEMPTS: u32 = 3;

/// A repair read and judged, not yet written: the keys it keeps and the key it adds. Holds the object's write
/// lock until [`GraphClient::apply_repair`] consumes it or it is dropped.
#[derive(Debug)]
pub struct RepairPlan {
    target: Target,
    current: ObjectKeys,
    new_key: KeyCredential,
    certificate: Certificate,
    _guard: ObjectGuard,
}

impl RepairPlan {
    /// The object, named by its object id.
    pub fn target(&self) -> Target {
        self.target
    }
    /// The keys the object has now, each of which the repair sends back.
    pub fn current(&self) -> &ObjectKeys {
        &self.current
    }
    /// The certificate the repair adds.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }
}

/// What a repair did.
#[derive(Debug, Clone)]
pub struct RepairOutcome {
    /// The new key as the object lists it.
    pub credential: KeyCredential,
    /// The keyIds sent back and listed again afterwards: every key the object had.
    pub kept: Vec<Uuid>,
    /// How many keys the object had before, and has after.
    pub keys_before: usize,
    /// How many keys the object lists after.
    pub keys_after: usize,
    /// How many times the repair started over because the keys changed between its read and its PATCH.
    pub restarts: u32,
    /// True when the PATCH's answer was lost and the result was found by reading.
    pub recovered: bool,
}

impl GraphClient {
    /// Repairs an object with no valid certificate: [`GraphClient::plan_repair`] then
    /// [`GraphClient::apply_repair`]. `new_key` is built from a public certificate
    /// ([`keyroll_proto::credential::KeyCredentialBuilder`]).
    pub async fn repair_key(
        &self,
        target: &Target,
        new_key: KeyCredential,
    ) -> Result<RepairOutcome, GraphError> {
        let plan = self.plan_repair(target, new_key).await?;
        self.apply_repair(plan).await
    }

    /// Reads the object's keys under its write lock and judges the repair: the new key must be a public
    /// certificate that is not a key of the object already. Nothing is written.
    pub async fn plan_repair(
        &self,
        target: &Target,
        new_key: KeyCredential,
    ) -> Result<RepairPlan, GraphError> {
        // The new key alone, by the one rule: a certificate, never key material.
        let judged = validate_key_credentials_update(
            std::slice::from_ref(&new_key),
            &[],
            self.clock.now(),
            Uuid::new_v4,
        )?;
        if judged.keys.first().and_then(|k| k.usage.as_deref())
            != Some(keyroll_proto::credential::USAGE_VERIFY)
        {
            return Err(GraphError::Refused(super::Refusal::RepairNeedsVerifyKey));
        }
        let certificate = judged
            .added
            .into_iter()
            .next()
            .map(|(_, c)| c)
            .ok_or_else(|| GraphError::InvalidResponse {
                operation: "judge the new key".into(),
                detail: "the new key was not judged a new certificate".into(),
                request_id: None,
            })?;
        let mut new_key = new_key;
        // The service names a new key; a keyId chosen here could collide with nothing but says nothing either.
        new_key.key_id = None;
        let (current, guard) = self.resolve_for_write(target).await?;
        check_not_present(target, &current, &certificate)?;
        Ok(RepairPlan {
            target: target.with_object_id(current.id),
            current,
            new_key,
            certificate,
            _guard: guard,
        })
    }

    /// Writes a planned repair: reads the keys again right before the PATCH (starting over from that read when
    /// they changed, up to [`REPAIR_READ_ATTEMPTS`] times), PATCHes every key back plus the new one, and reads
    /// the result until every key and the new certificate are listed.
    pub async fn apply_repair(&self, plan: RepairPlan) -> Result<RepairOutcome, GraphError> {
        let RepairPlan {
            target,
            mut current,
            new_key,
            certificate,
            _guard,
        } = plan;
        let mut restarts = 0;
        loop {
            let fresh = self.read_keys(&target).await?;
            if same_key_ids(&fresh, &current) {
                break;
            }
            restarts += 1;
            self.log(|| {
                format!(
                    "the keys of {target} changed since they were read ({} then, {} now): judging the repair again on the new read",
                    current.keys.len(),
                    fresh.keys.len()
                )
            });
            check_not_present(&target, &fresh, &certificate)?;
            current = fresh;
            if restarts >= REPAIR_READ_ATTEMPTS {
                return Err(GraphError::RepairRaced {
                    target: target.to_string(),
                    attempts: restarts,
                });
            }
        }
        let body_keys = repair_collection(&current.keys, new_key);
        // The body judged by the rule the service applies: every existing key kept, one new certificate.
        let judged = validate_key_credentials_update(
            &body_keys,
            &current.keys,
            self.clock.now(),
            Uuid::new_v4,
        )?;
        if !judged.removed.is_empty() || judged.added.len() != 1 {
            return Err(GraphError::InvalidResponse {
                operation: "judge the repair".into(),
                detail: format!(
                    "the collection would remove {} keys and add {}; a repair removes none and adds one",
                    judged.removed.len(),
                    judged.added.len()
                ),
                request_id: None,
            });
        }
        let path = target.path();
        let body = json!({ "keyCredentials": body_keys });
        let kept: Vec<Uuid> = current.keys.iter().filter_map(|k| k.key_id).collect();
        self.log(|| {
            format!(
                "PATCH {path}: {} keys sent back by keyId, 1 new certificate {}",
                kept.len(),
                certificate.sha1_hex()
            )
        });
        let sent = self
            .call(
                reqwest::Method::PATCH,
                &path,
                Some(&body),
                Idempotency::CheckFirst,
            )
            .await
            .map_err(explain_forbidden)?;
        let recovered = matches!(sent, CallResult::Ambiguous { .. });
        let all_there = |k: &ObjectKeys| {
            k.keys.iter().any(|c| c.is_certificate(&certificate))
                && kept
                    .iter()
                    .all(|id| k.keys.iter().any(|c| c.key_id == Some(*id)))
        };
        let after = self
            .read_keys_until(
                &target,
                "every key and the new certificate",
                all_there,
                &|_, _| {},
            )
            .await;
        let after = match (after, sent) {
            (Ok(a), _) => a,
            (
                Err(e),
                CallResult::Ambiguous {
                    detail,
                    client_request_id,
                    ..
                },
            ) => {
                return Err(GraphError::OutcomeUnknown {
                    operation: format!("PATCH {path}"),
                    detail: format!("{detail}; reading the keys afterwards failed too: {e}"),
                    client_request_id,
                });
            }
            (Err(e), CallResult::Done(_)) => return Err(e),
        };
        let credential = after
            .keys
            .keys
            .iter()
            .find(|c| c.is_certificate(&certificate))
            .cloned();
        let missing: Vec<Uuid> = kept
            .iter()
            .copied()
            .filter(|id| !after.keys.keys.iter().any(|c| c.key_id == Some(*id)))
            .collect();
        match credential {
            Some(credential) if missing.is_empty() => Ok(RepairOutcome {
                credential,
                kept,
                keys_before: current.keys.len(),
                keys_after: after.keys.keys.len(),
                restarts,
                recovered,
            }),
            credential => Err(GraphError::RepairUnverified {
                target: target.to_string(),
                new_key_listed: credential.is_some(),
                missing,
                waited: after.waited,
            }),
        }
    }
}

fn check_not_present(
    target: &Target,
    current: &ObjectKeys,
    certificate: &Certificate,
) -> Result<(), GraphError> {
    match current.keys.iter().find(|k| k.is_certificate(certificate)) {
        Some(existing) => Err(GraphError::AlreadyPresent {
            target: target.to_string(),
            thumbprint: certificate.sha1_hex(),
            key_id: existing.key_id.map(|k| k.to_string()).unwrap_or_default(),
        }),
        None => Ok(()),
    }
}

/// Whether two reads list the same keys (by keyId, in any order).
fn same_key_ids(a: &ObjectKeys, b: &ObjectKeys) -> bool {
    let ids = |k: &ObjectKeys| {
        let mut v: Vec<Option<Uuid>> = k.keys.iter().map(|c| c.key_id).collect();
        v.sort();
        v
    };
    ids(a) == ids(b)
}

/// A 403 on the PATCH is the missing permission, said in the repair's own terms.
fn explain_forbidden(e: GraphError) -> GraphError {
    match e {
        GraphError::Service(mut s) if s.status == 403 => {
            s.hint = Some(
                "a repair (PATCH of keyCredentials) needs Application.ReadWrite.All, or Application.ReadWrite.OwnedBy as an owner of the object; unlike addKey, an app may not PATCH its own keys with its own token".into(),
            );
            GraphError::Service(s)
        }
        other => other,
    }
}
