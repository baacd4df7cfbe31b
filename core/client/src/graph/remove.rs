//! `removeKey`, never removing an object's last currently valid certificate unless asked to.

use uuid::Uuid;

use super::call::{Idempotency, is_proof_refusal};
use super::{GraphClient, GraphError, ObjectGuard, ObjectKeys, Refusal, Target};
use keyroll_proto::credential::RemoveKeyRequest;
use keyroll_proto::key_status;

impl GraphClient {
    /// `removeKey`. The proof must be signed by a certificate that stays (or by the one removed, while valid).
    ///
    /// Removing the object's last currently valid certificate is refused unless `allow_last_valid` is set.
    pub async fn remove_key(
        &self,
        target: &Target,
        key_id: Uuid,
        proof: &str,
        allow_last_valid: bool,
    ) -> Result<(), GraphError> {
        let (current, guard) = self.resolve_for_write(target).await?;
        self.remove_key_resolved(target, &current, key_id, proof, allow_last_valid, &guard)
            .await
    }

    /// [`GraphClient::remove_key`] for a caller that holds the object's write lock (a roll); reads the keys
    /// again, under that lock, to decide.
    pub async fn remove_key_held(
        &self,
        target: &Target,
        key_id: Uuid,
        proof: &str,
        allow_last_valid: bool,
        guard: &ObjectGuard,
    ) -> Result<(), GraphError> {
        let current = self.resolve(target).await?;
        self.remove_key_resolved(target, &current, key_id, proof, allow_last_valid, guard)
            .await
    }

    pub(super) async fn remove_key_resolved(
        &self,
        target: &Target,
        current: &ObjectKeys,
        key_id: Uuid,
        proof: &str,
        allow_last_valid: bool,
        guard: &ObjectGuard,
    ) -> Result<(), GraphError> {
        if guard.object_id() != current.id {
            return Err(GraphError::Refused(Refusal::WrongLock {
                held: guard.object_id(),
                target: target.to_string(),
                object: current.id,
            }));
        }
        if !current.keys.iter().any(|k| k.key_id == Some(key_id)) {
            return Err(GraphError::KeyNotFound {
                target: target.to_string(),
                key_id,
            });
        }
        if !allow_last_valid
            && !key_status::valid_certificate_remains(&current.keys, &[key_id], self.clock.now(), 0)
        {
            return Err(GraphError::Refused(Refusal::LastValidCertificate {
                key_id,
                target: target.to_string(),
            }));
        }
        self.precheck_proof(proof, current)?;
        let path = format!("{}/removeKey", target.with_object_id(current.id).path());
        let body = serde_json::to_value(RemoveKeyRequest {
            key_id,
            proof: proof.to_string(),
        })
        .map_err(|e| GraphError::InvalidResponse {
            operation: "serialize removeKey".into(),
            detail: e.to_string(),
            request_id: None,
        })?;
        // removeKey is idempotent in effect: a repeat after a lost answer finds the key gone and is refused;
        // the key was there before the call, so a refusal with the key now absent means it was removed.
        match self
            .call(reqwest::Method::POST, &path, Some(&body), Idempotency::Safe)
            .await
        {
            Ok(_) => {
                self.removed(current, key_id);
                Ok(())
            }
            Err(GraphError::Service(s)) if s.status == 404 || s.status == 400 => {
                // Reads lag writes: a read that still lists the key proves nothing until the window passes.
                let gone = |k: &ObjectKeys| !k.keys.iter().any(|k| k.key_id == Some(key_id));
                let after = self
                    .read_keys_until(
                        &target.with_object_id(current.id),
                        "the key removed",
                        gone,
                        &|_, _| {},
                    )
                    .await?;
                if after.seen {
                    self.removed(current, key_id);
                    Ok(())
                } else {
                    Err(GraphError::Service(s))
                }
            }
            Err(GraphError::Service(s)) if is_proof_refusal(&s) => Err(GraphError::Service(
                Box::new(self.explain_401(*s, proof, current)),
            )),
            Err(e) => Err(e),
        }
    }

    /// Tells the token provider which certificate left the object, in case it is the one it signs in with.
    fn removed(&self, before: &ObjectKeys, key_id: Uuid) {
        if let Some(thumbprint) = before
            .keys
            .iter()
            .find(|k| k.key_id == Some(key_id))
            .and_then(|k| k.thumbprint())
        {
            self.tokens.note_removed(&thumbprint);
        }
    }
}
