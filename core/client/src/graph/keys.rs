//! Reading an object's keys: once, until a write shows (reads lag writes), and resolving how it is named.

use std::time::{Duration, Instant};

use serde_json::Value;
use uuid::Uuid;

use super::{GraphClient, GraphError, ObjectRef, Target, TargetKind};
use keyroll_proto::credential::KeyCredential;

/// The keys as read by [`GraphClient::read_keys_until`].
#[derive(Debug, Clone)]
pub struct Reread {
    /// The last read.
    pub keys: ObjectKeys,
    /// Whether the last read showed what was waited for (false: the window passed first).
    pub seen: bool,
    /// Reads made.
    pub reads: u32,
    /// Time spent reading and waiting.
    pub waited: Duration,
}

/// An object's keys as read from Graph.
#[derive(Debug, Clone)]
pub struct ObjectKeys {
    /// The object id.
    pub id: Uuid,
    /// The appId, when Graph returned it.
    pub app_id: Option<Uuid>,
    /// The key credentials.
    pub keys: Vec<KeyCredential>,
}

impl GraphClient {
    /// Reads the object's id, appId and key credentials (key bytes included: single-object `$select`).
    pub async fn read_keys(&self, target: &Target) -> Result<ObjectKeys, GraphError> {
        let select = match target.kind {
            TargetKind::ServicePrincipal | TargetKind::Application => "id,appId,keyCredentials",
            TargetKind::AgentIdentityBlueprint => "id,appId,keyCredentials",
        };
        let path = format!("{}?$select={select}", target.path());
        let a = self
            .call_done(reqwest::Method::GET, &path, None)
            .await
            .map_err(|e| self.explain_not_found(e, target))?;
        let v: Value =
            serde_json::from_slice(&a.body).map_err(|e| GraphError::InvalidResponse {
                operation: format!("GET {path}"),
                detail: e.to_string(),
                request_id: a.request_id.clone(),
            })?;
        let bad = |detail: &str| GraphError::InvalidResponse {
            operation: format!("GET {path}"),
            detail: detail.into(),
            request_id: a.request_id.clone(),
        };
        let id = match (v.get("id").and_then(Value::as_str), target.object) {
            (Some(s), _) => Uuid::parse_str(s).map_err(|_| bad("id is not a GUID"))?,
            (None, ObjectRef::Id(id)) => id,
            (None, ObjectRef::AppId(_)) => return Err(bad("no id in the answer")),
        };
        let app_id = v
            .get("appId")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok());
        let keys = match v.get("keyCredentials") {
            Some(k) => serde_json::from_value(k.clone())
                .map_err(|e| bad(&format!("keyCredentials: {e}")))?,
            None => Vec::new(),
        };
        Ok(ObjectKeys { id, app_id, keys })
    }

    /// Reads the object's keys until `seen` holds of them or [`RetryPolicy::replication_window`](super::RetryPolicy::replication_window) has passed,
    /// with short pauses: reads lag writes, so one read that misses a write proves nothing. `what` names what
    /// is waited for in the `-v` log; `on_wait` hears of each read that did not show it (read number, time
    /// waited). A failed read ends the wait with its error.
    pub async fn read_keys_until(
        &self,
        target: &Target,
        what: &str,
        seen: impl Fn(&ObjectKeys) -> bool,
        on_wait: &(dyn Fn(u32, Duration) + Send + Sync),
    ) -> Result<Reread, GraphError> {
        self.read_keys_within(target, what, seen, on_wait, self.retry.replication_window)
            .await
    }

    /// [`GraphClient::read_keys_until`] bounded by `limit` instead of the replication window.
    pub(super) async fn read_keys_within(
        &self,
        target: &Target,
        what: &str,
        seen: impl Fn(&ObjectKeys) -> bool,
        on_wait: &(dyn Fn(u32, Duration) + Send + Sync),
        limit: Duration,
    ) -> Result<Reread, GraphError> {
        let started = Instant::now();
        let mut reads = 0u32;
        loop {
            reads += 1;
            let keys = self.read_keys(target).await?;
            let waited = started.elapsed();
            if seen(&keys) || waited >= limit {
                return Ok(Reread {
                    seen: seen(&keys),
                    keys,
                    reads,
                    waited,
                });
            }
            self.log(|| {
                format!(
                    "the keys of {target} do not show {what} yet (read {reads}, {:.1} s): reads may lag writes; reading again",
                    waited.as_secs_f64()
                )
            });
            on_wait(reads, waited);
            tokio::time::sleep(self.retry.reread_delay(reads, waited, limit)).await;
        }
    }

    /// A 404 for an object id that is really an appId is the most common addressing mistake: detect and say so.
    pub(super) fn explain_not_found(&self, e: GraphError, target: &Target) -> GraphError {
        let GraphError::Service(s) = &e else {
            return e;
        };
        if s.status != 404 {
            return e;
        }
        let mut s = s.clone();
        if let ObjectRef::Id(id) = target.object {
            s.hint = Some(format!(
                "no {} has object id {id}; if {id} is an appId (client id), address the object by its appId instead",
                match target.kind {
                    TargetKind::ServicePrincipal => "service principal",
                    _ => "application",
                }
            ));
        }
        GraphError::Service(s)
    }

    /// Resolves an appId-addressed target to its object id (proofs need the object id as `iss`).
    pub async fn resolve(&self, target: &Target) -> Result<ObjectKeys, GraphError> {
        match self.read_keys(target).await {
            Err(GraphError::Service(s)) if s.status == 404 => {
                // Was an appId given as the object id? Look it up the other way before giving up.
                if let ObjectRef::Id(id) = target.object {
                    let alt = Target {
                        kind: target.kind,
                        object: ObjectRef::AppId(id),
                    };
                    if let Ok(found) = self.read_keys(&alt).await {
                        return Err(GraphError::AppIdAsObjectId {
                            given: id,
                            object_id: found.id,
                        });
                    }
                }
                Err(GraphError::Service(s))
            }
            other => other,
        }
    }
}
