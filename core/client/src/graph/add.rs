//! `addKey`, never repeated blindly: a lost answer is looked for before any retry, and a second copy that a lag
//! longer than the replication window let through is removed again.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use serde_json::Value;
use uuid::Uuid;

use super::call::{Answer, CallResult, Idempotency, is_proof_refusal};
use super::retry::{Fresh, SETTLE_WINDOWS};
use super::{GraphClient, GraphError, ObjectKeys, Target};
use keyroll_proto::cert::Certificate;
use keyroll_proto::credential::{AddKeyRequest, KeyCredential, RemoveKeyRequest};

/// The result of `addKey`.
#[derive(Debug, Clone)]
pub struct AddKeyOutcome {
    /// The credential as the service stored it.
    pub credential: KeyCredential,
    /// True when the answer was lost and the key was found by reading the object afterwards.
    pub recovered: bool,
    /// Attempts made.
    pub attempts: u32,
    /// Copies of the certificate that a retry added after an earlier attempt had committed unseen (reads
    /// lagged longer than [`RetryPolicy::replication_window`](super::RetryPolicy::replication_window)), removed again: the object holds one.
    pub duplicates_removed: Vec<Uuid>,
    /// What the caller must still look at, in words: a copy that could not be removed (with the command that
    /// removes it), or keys that could not be read fresh enough to rule a copy out. Empty when all is settled.
    pub warnings: Vec<String>,
}

/// One addKey under way: what is added where, and since when.
struct Adding<'a> {
    object: &'a Target,
    path: &'a str,
    request: &'a AddKeyRequest,
    new_certificate: &'a Certificate,
    started: Instant,
}

/// An addKey whose answer was lost.
struct Lost {
    /// When the loss was noticed.
    answered: Instant,
    /// When the first answer of this addKey was lost.
    first_lost: Instant,
    /// What happened.
    detail: String,
    /// The service's Retry-After, if it sent one.
    retry_after: Option<Duration>,
    /// The id of the request whose outcome is unknown.
    client_request_id: String,
}

impl GraphClient {
    /// `addKey`. Checks the proof locally first (against the object's current certificates), refuses to add a
    /// certificate that is already present, and never creates a duplicate when an answer is lost. Holds the
    /// object's write lock from the read to the write.
    pub async fn add_key(
        &self,
        target: &Target,
        request: &AddKeyRequest,
        new_certificate: &Certificate,
    ) -> Result<AddKeyOutcome, GraphError> {
        keyroll_proto::credential::validate_add_key(request, self.clock.now())?;
        let (current, _guard) = self.resolve_for_write(target).await?;
        self.add_key_resolved(target, &current, request, new_certificate)
            .await
    }

    /// `addKey` for an object already read with [`GraphClient::resolve`] (a caller that needed the object id
    /// to mint the proof saves a second read). Whether the certificate is already present is judged on
    /// `current`: a caller that may write the same object concurrently reads it with
    /// [`GraphClient::resolve_for_write`] and holds the lock until this returns.
    pub async fn add_key_resolved(
        &self,
        target: &Target,
        current: &ObjectKeys,
        request: &AddKeyRequest,
        new_certificate: &Certificate,
    ) -> Result<AddKeyOutcome, GraphError> {
        keyroll_proto::credential::validate_add_key(request, self.clock.now())?;
        if let Some(existing) = current
            .keys
            .iter()
            .find(|k| k.is_certificate(new_certificate))
        {
            return Err(GraphError::AlreadyPresent {
                target: target.to_string(),
                thumbprint: new_certificate.sha1_hex(),
                key_id: existing.key_id.map(|k| k.to_string()).unwrap_or_default(),
            });
        }
        self.precheck_proof(&request.proof, current)?;
        let path = format!("{}/addKey", target.with_object_id(current.id).path());
        let body = serde_json::to_value(request).map_err(|e| GraphError::InvalidResponse {
            operation: "serialize addKey".into(),
            detail: e.to_string(),
            request_id: None,
        })?;
        let object = target.with_object_id(current.id);
        let add = Adding {
            object: &object,
            path: &path,
            request,
            new_certificate,
            started: Instant::now(),
        };
        let mut attempts = 0;
        // When the first answer was lost: how long the copy took to show is the lag seen.
        let mut first_lost: Option<Instant> = None;
        loop {
            attempts += 1;
            let sent = self
                .call(
                    reqwest::Method::POST,
                    &path,
                    Some(&body),
                    Idempotency::CheckFirst,
                )
                .await;
            match sent {
                Ok(CallResult::Done(a)) => {
                    // Retries inside the call (429s, busy answers) are attempts too.
                    let attempts = attempts + a.attempts.saturating_sub(1);
                    return self.added(&add, &a, attempts).await;
                }
                Ok(CallResult::Ambiguous {
                    detail,
                    retry_after,
                    client_request_id,
                }) => {
                    let lost = Lost {
                        answered: Instant::now(),
                        first_lost: *first_lost.get_or_insert_with(Instant::now),
                        detail,
                        retry_after,
                        client_request_id,
                    };
                    match self.look_for_lost_add(&add, attempts, lost).await? {
                        ControlFlow::Break(outcome) => return Ok(outcome),
                        ControlFlow::Continue(wait) => tokio::time::sleep(wait).await,
                    }
                }
                Err(GraphError::Service(s)) if is_proof_refusal(&s) => {
                    return Err(GraphError::Service(Box::new(self.explain_401(
                        *s,
                        &request.proof,
                        current,
                    ))));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// addKey answered: the outcome, with any second copy removed when it was sent more than once.
    async fn added(
        &self,
        add: &Adding<'_>,
        a: &Answer,
        attempts: u32,
    ) -> Result<AddKeyOutcome, GraphError> {
        let credential =
            parse_key_credential(&a.body).map_err(|detail| GraphError::InvalidResponse {
                operation: format!("POST {}", add.path),
                detail,
                request_id: a.request_id.clone(),
            })?;
        let mut outcome = AddKeyOutcome {
            credential,
            recovered: false,
            attempts,
            duplicates_removed: Vec::new(),
            warnings: Vec::new(),
        };
        if attempts > 1 {
            let listed = outcome.credential.key_id.map(Fresh::Listed);
            self.settle_copies(
                add.object,
                add.request,
                add.new_certificate,
                &mut outcome,
                listed,
            )
            .await;
        }
        Ok(outcome)
    }

    /// Steps 1 and 2 of the addKey rule after an answer was lost: reads the keys until the new certificate
    /// shows or the replication window passes. Found, it is the outcome (`Break`); not found, addKey is sent
    /// again after the returned pause (`Continue`), unless the retry budget is spent.
    async fn look_for_lost_add(
        &self,
        add: &Adding<'_>,
        attempts: u32,
        lost: Lost,
    ) -> Result<ControlFlow<AddKeyOutcome, Duration>, GraphError> {
        let Lost {
            answered,
            first_lost,
            detail,
            retry_after,
            client_request_id,
        } = lost;
        self.log(|| {
            format!("addKey outcome unknown ({detail}); reading the keys before any retry")
        });
        let has_new = |k: &ObjectKeys| k.keys.iter().any(|k| k.is_certificate(add.new_certificate));
        let after = match self
            .read_keys_until(add.object, "the new certificate", has_new, &|_, _| {})
            .await
        {
            Ok(a) => a,
            Err(e) => {
                return Err(GraphError::OutcomeUnknown {
                    operation: format!("POST {}", add.path),
                    detail: format!("{detail}; reading the keys afterwards failed too: {e}"),
                    client_request_id,
                });
            }
        };
        if let Some(k) = after
            .keys
            .keys
            .iter()
            .find(|k| k.is_certificate(add.new_certificate))
        {
            let outcome = self
                .recovered(add, attempts, k.clone(), answered, first_lost)
                .await;
            return Ok(ControlFlow::Break(outcome));
        }
        if attempts >= self.retry.max_attempts || add.started.elapsed() >= self.retry.max_elapsed {
            return Err(GraphError::Transport {
                operation: format!("POST {}", add.path),
                detail: format!(
                    "{detail}; the key was not added (not seen in {} reads over {:.1} s), gave up after {attempts} attempts",
                    after.reads,
                    after.waited.as_secs_f64()
                ),
                client_request_id,
            });
        }
        // Step 2: reads over the whole window did not show it; send again after the backoff (the time spent
        // reading counts towards it).
        let wait = self
            .retry
            .backoff(attempts)
            .max(retry_after.unwrap_or_default())
            .saturating_sub(after.waited);
        self.log(|| {
            format!(
                "the new certificate did not show in {} reads over {:.1} s: sending addKey again (attempt {})",
                after.reads,
                after.waited.as_secs_f64(),
                attempts + 1
            )
        });
        Ok(ControlFlow::Continue(wait))
    }

    /// The key whose answer was lost, found by reading: the outcome, with any second copy removed when addKey
    /// was sent more than once.
    async fn recovered(
        &self,
        add: &Adding<'_>,
        attempts: u32,
        credential: KeyCredential,
        answered: Instant,
        first_lost: Instant,
    ) -> AddKeyOutcome {
        let mut outcome = AddKeyOutcome {
            credential,
            recovered: true,
            attempts,
            duplicates_removed: Vec::new(),
            warnings: Vec::new(),
        };
        if attempts > 1 {
            // Which send made the copy found is unknown: wait until reads are as fresh as the lag seen so far
            // says, counted from the last lost answer.
            let lag_seen = first_lost.elapsed().max(self.retry.replication_window);
            let fresh = Some(Fresh::After(answered + lag_seen));
            self.settle_copies(
                add.object,
                add.request,
                add.new_certificate,
                &mut outcome,
                fresh,
            )
            .await;
        }
        outcome
    }

    /// Step 3 of the addKey rule, after addKey was sent more than once: reads the keys until they are fresh
    /// (`fresh`) and removes every copy of the certificate beyond one (same type and usage), keeping the
    /// earliest listed that is not the last answer's. A second copy means reads lagged longer than the
    /// replication window, so the wait for freshness may take up to [`SETTLE_WINDOWS`] windows. The caller
    /// holds the object's write lock.
    pub(super) async fn settle_copies(
        &self,
        object: &Target,
        request: &AddKeyRequest,
        new_certificate: &Certificate,
        outcome: &mut AddKeyOutcome,
        fresh: Option<Fresh>,
    ) {
        let answered_id = match fresh {
            Some(Fresh::Listed(id)) => Some(id),
            _ => None,
        };
        let read = match self.read_fresh(object, fresh).await {
            Ok(r) => r,
            Err(e) => {
                outcome.warnings.push(format!(
                    "addKey was sent {} times and the keys could not be read afterwards ({e}); list the object's keys to check that the certificate {} is there once",
                    outcome.attempts,
                    new_certificate.sha1_hex()
                ));
                return;
            }
        };
        let copies: Vec<&KeyCredential> = read
            .keys
            .keys
            .iter()
            .filter(|k| is_copy(k, request, new_certificate))
            .collect();
        if !read.seen {
            outcome.warnings.push(format!(
                "addKey was sent {} times and after {:.1} s the keys read still lag (the added keyId is not listed yet); list the object's keys to check that the certificate {} is there once",
                outcome.attempts,
                read.waited.as_secs_f64(),
                new_certificate.sha1_hex()
            ));
        }
        if copies.len() < 2 {
            return;
        }
        let keep = copies
            .iter()
            .find(|k| k.key_id != answered_id)
            .copied()
            .unwrap_or(copies[0])
            .clone();
        let extra: Vec<Uuid> = copies
            .iter()
            .filter_map(|k| k.key_id)
            .filter(|id| Some(*id) != keep.key_id)
            .collect();
        for id in extra {
            self.log(|| {
                format!(
                    "the certificate {} is on {object} {} times (a retried addKey whose first answer was lost); removing the copy {id}",
                    new_certificate.sha1_hex(),
                    copies.len()
                )
            });
            match self.remove_copy(object, &read.keys, id, &request.proof).await {
                Ok(()) => outcome.duplicates_removed.push(id),
                Err(e) => outcome.warnings.push(format!(
                    "the certificate {} was added twice (a retry after a lost answer) and the copy {id} could not be removed ({e}); remove the key {id} of object {oid} (with a proof signed by a current certificate of the object)",
                    new_certificate.sha1_hex(),
                    oid = read.keys.id
                )),
            }
        }
        outcome.credential = keep;
    }

    /// Reads the keys until they are fresh enough to count copies on (`fresh`); a second copy means reads lagged
    /// longer than the replication window, so the wait may take up to [`SETTLE_WINDOWS`] windows.
    async fn read_fresh(
        &self,
        object: &Target,
        fresh: Option<Fresh>,
    ) -> Result<super::Reread, GraphError> {
        let is_fresh = |keys: &ObjectKeys| match fresh {
            Some(Fresh::Listed(id)) => keys.keys.iter().any(|k| k.key_id == Some(id)),
            Some(Fresh::After(at)) => Instant::now() >= at,
            None => true,
        };
        let limit = match fresh {
            Some(Fresh::After(at)) => at
                .saturating_duration_since(Instant::now())
                .max(self.retry.replication_window),
            _ => self.retry.replication_window * SETTLE_WINDOWS,
        };
        self.read_keys_within(
            object,
            "every copy of the new certificate",
            is_fresh,
            &|_, _| {},
            limit,
        )
        .await
    }

    /// removeKey of a copy of a certificate that stays on the object (so no last valid certificate can go),
    /// with the proof addKey was sent with.
    pub(super) async fn remove_copy(
        &self,
        object: &Target,
        keys: &ObjectKeys,
        key_id: Uuid,
        proof: &str,
    ) -> Result<(), GraphError> {
        self.precheck_proof(proof, keys)?;
        let path = format!("{}/removeKey", object.path());
        let body = serde_json::to_value(RemoveKeyRequest {
            key_id,
            proof: proof.to_string(),
        })
        .map_err(|e| GraphError::InvalidResponse {
            operation: "serialize removeKey".into(),
            detail: e.to_string(),
            request_id: None,
        })?;
        self.call(reqwest::Method::POST, &path, Some(&body), Idempotency::Safe)
            .await
            .map(|_| ())
    }
}

/// Whether `k` is a copy of the credential `request` adds: the same certificate, type and usage.
fn is_copy(k: &KeyCredential, request: &AddKeyRequest, new_certificate: &Certificate) -> bool {
    let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (None, None) => true,
        _ => false,
    };
    k.is_certificate(new_certificate)
        && same(&k.key_type, &request.key_credential.key_type)
        && same(&k.usage, &request.key_credential.usage)
}

/// Reads addKey's answer in either documented shape: OData (properties at the top level) or wrapped in `value`.
pub fn parse_key_credential(body: &[u8]) -> Result<KeyCredential, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let obj = match v.get("value") {
        Some(inner @ Value::Object(_)) => inner.clone(),
        _ => v,
    };
    let kc: KeyCredential = serde_json::from_value(obj).map_err(|e| e.to_string())?;
    if kc.key_id.is_none() {
        return Err("the answer carries no keyId".into());
    }
    Ok(kc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_answer_shapes() {
        let odata = br#"{"@odata.context":"x","keyId":"11111111-2222-3333-4444-555555555555","type":"AsymmetricX509Cert","usage":"Verify","key":null}"#;
        assert!(parse_key_credential(odata).is_ok());
        let wrapped = br#"{"value":{"@odata.type":"microsoft.graph.keyCredential","keyId":"11111111-2222-3333-4444-555555555555"}}"#;
        assert!(parse_key_credential(wrapped).is_ok());
        assert!(parse_key_credential(br#"{"@odata.context":"x"}"#).is_err());
    }
}
