//! One writer per object: the write lock every clone of a client shares, held from a read to the last write.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use uuid::Uuid;

use super::{GraphClient, GraphError, ObjectKeys, ObjectRef, Target};

/// One write lock per object id, created on first use. Each holds when its last holder let go, so that a read
/// made before waiting for the lock is known to be stale. Entries are kept for the client's life (one small entry
/// per object written): dropping one would forget a release that a reader waiting for it must learn of.
#[derive(Default)]
pub(super) struct ObjectLocks(
    std::sync::Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<Option<Instant>>>>>,
);

/// The right to change one object's keys through this client (and its clones), from [`GraphClient::lock_object`].
/// Held from the read a write decides on until the write is done; dropping it lets the next writer in.
pub struct ObjectGuard {
    id: Uuid,
    guard: tokio::sync::OwnedMutexGuard<Option<Instant>>,
    previous_release: Option<Instant>,
}

impl ObjectGuard {
    /// The object the guard is for.
    pub fn object_id(&self) -> Uuid {
        self.id
    }
    /// Whether an earlier holder let go of the object at or after `since`: a read of its keys that started
    /// before then may miss that holder's writes and must be repeated.
    pub fn released_since(&self, since: Instant) -> bool {
        self.previous_release.is_some_and(|t| t >= since)
    }
}

impl Drop for ObjectGuard {
    fn drop(&mut self) {
        *self.guard = Some(Instant::now());
    }
}

impl fmt::Debug for ObjectGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectGuard").field("id", &self.id).finish()
    }
}

impl GraphClient {
    /// Waits for the write lock of object `id` (shared by every clone of this client) and returns it.
    pub async fn lock_object(&self, id: Uuid) -> ObjectGuard {
        let lock = {
            // Nothing panics while holding the map; if it ever did, the map itself is still consistent.
            let mut map = self.locks.0.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(id).or_default().clone()
        };
        let guard = lock.lock_owned().await;
        let previous_release = *guard;
        ObjectGuard {
            id,
            guard,
            previous_release,
        }
    }

    /// [`GraphClient::resolve`] for a write: the keys as read while holding the object's write lock, and the
    /// lock. An object named by appId is read first to learn its id; if another writer let go of the object
    /// meanwhile, it is read again under the lock.
    pub async fn resolve_for_write(
        &self,
        target: &Target,
    ) -> Result<(ObjectKeys, ObjectGuard), GraphError> {
        match target.object {
            ObjectRef::Id(id) => {
                let guard = self.lock_object(id).await;
                let keys = self.resolve(target).await?;
                Ok((keys, guard))
            }
            ObjectRef::AppId(_) => {
                let started = Instant::now();
                let keys = self.resolve(target).await?;
                let guard = self.lock_object(keys.id).await;
                if guard.released_since(started) {
                    let again = self.read_keys(&target.with_object_id(keys.id)).await?;
                    return Ok((again, guard));
                }
                Ok((keys, guard))
            }
        }
    }
}
