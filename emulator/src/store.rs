//! The directory's state in SQLite: tenants, applications, service principals, agent identity blueprints and
//! their key credentials.
//!
//! One connection behind one mutex is the single entry point for every change, so two writers can never
//! interleave: each write is one transaction that re-checks its preconditions (the signer is still there, the
//! object is under the key limit) before it commits. With `--state FILE` the database runs in WAL mode with
//! `synchronous=NORMAL`: a committed transaction is in the WAL before the response is written, so it survives
//! the process being killed (though not a power cut, which the emulator does not need to survive).

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use keyroll_proto::credential::KeyCredential;
use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::StoreError;

/// What kind of directory object a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ObjectKind {
    /// An application registration.
    Application,
    /// An agent identity blueprint (a kind of application).
    AgentIdentityBlueprint,
    /// A service principal (the application's instance in a tenant).
    ServicePrincipal,
}

impl ObjectKind {
    fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Application => "application",
            ObjectKind::AgentIdentityBlueprint => "agentIdentityBlueprint",
            ObjectKind::ServicePrincipal => "servicePrincipal",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "application" => Ok(ObjectKind::Application),
            "agentIdentityBlueprint" => Ok(ObjectKind::AgentIdentityBlueprint),
            "servicePrincipal" => Ok(ObjectKind::ServicePrincipal),
            other => Err(StoreError::Corrupt {
                what: "object kind",
                reason: format!("unknown kind {other:?}"),
            }),
        }
    }

    /// Whether the object lives under `/applications`.
    pub fn is_application(self) -> bool {
        matches!(
            self,
            ObjectKind::Application | ObjectKind::AgentIdentityBlueprint
        )
    }
}

/// One directory object.
#[derive(Debug, Clone)]
pub struct DirectoryObject {
    /// Object id.
    pub id: Uuid,
    /// Its kind.
    pub kind: ObjectKind,
    /// The tenant it lives in.
    pub tenant_id: Uuid,
    /// The application's client id (shared by the application and its service principal).
    pub app_id: Uuid,
    /// Display name.
    pub display_name: String,
    /// App roles granted to the application (they appear in its tokens' `roles`).
    pub roles: Vec<String>,
    /// Object ids of service principals that own this object (Application.ReadWrite.OwnedBy).
    pub owners: Vec<Uuid>,
    /// Whether the identity can get tokens from the managed-identity endpoint.
    pub managed_identity: bool,
}

/// How an object is named in a URL.
#[derive(Debug, Clone, Copy)]
pub enum Lookup {
    /// By object id.
    Id(Uuid),
    /// By client id (`applications(appId='…')`).
    AppId(Uuid),
}

/// Everything needed to create an application with its service principal.
#[derive(Debug, Clone)]
pub struct NewApplication {
    /// Tenant.
    pub tenant_id: Uuid,
    /// Object id of the application (generated when `None`).
    pub id: Option<Uuid>,
    /// Client id (generated when `None`).
    pub app_id: Option<Uuid>,
    /// Object id of the service principal (generated when `None`).
    pub service_principal_id: Option<Uuid>,
    /// Display name.
    pub display_name: String,
    /// Application or agent identity blueprint.
    pub kind: ObjectKind,
    /// App roles granted.
    pub roles: Vec<String>,
    /// Owning service principals.
    pub owners: Vec<Uuid>,
    /// Managed identity.
    pub managed_identity: bool,
    /// Initial key credentials (complete, with key ids).
    pub keys: Vec<KeyCredential>,
    /// Initial key credentials of the service principal.
    pub service_principal_keys: Vec<KeyCredential>,
}

/// What creating an application produced.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApplication {
    /// Object id of the application.
    pub id: Uuid,
    /// Client id.
    pub app_id: Uuid,
    /// Tenant.
    pub tenant_id: Uuid,
    /// Object id of its service principal.
    pub service_principal_id: Uuid,
}

/// Why an addKey could not be committed although it was valid when checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddKeyRefusal {
    /// The object disappeared.
    ObjectGone,
    /// The key that signed the proof was removed meanwhile.
    SignerGone,
    /// The object holds the maximum number of keys.
    TooManyKeys,
}

/// Why a removeKey did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveKeyRefusal {
    /// No key with that id on the object.
    NoSuchKey,
    /// The key that signed the proof was removed meanwhile.
    SignerGone,
}

/// The SQLite store.
pub struct Store {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, display_name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    app_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    roles TEXT NOT NULL DEFAULT '[]',
    owners TEXT NOT NULL DEFAULT '[]',
    managed_identity INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS objects_by_app ON objects(tenant_id, app_id);
CREATE TABLE IF NOT EXISTS key_credentials (
    key_id TEXT PRIMARY KEY,
    object_id TEXT NOT NULL REFERENCES objects(id),
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    usage TEXT NOT NULL,
    display_name TEXT,
    start_ts INTEGER,
    end_ts INTEGER,
    custom_key_identifier BLOB,
    key BLOB
);
CREATE INDEX IF NOT EXISTS keys_by_object ON key_credentials(object_id, seq);
";

fn corrupt(what: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what,
        reason: e.to_string(),
    }
}

fn parse_uuid(what: &'static str, s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| corrupt(what, e))
}

fn ts(d: Option<OffsetDateTime>) -> Option<i64> {
    d.map(OffsetDateTime::unix_timestamp)
}

fn from_ts(t: Option<i64>) -> Result<Option<OffsetDateTime>, StoreError> {
    t.map(|t| OffsetDateTime::from_unix_timestamp(t).map_err(|e| corrupt("date", e)))
        .transpose()
}

impl Store {
    /// Opens the state: in memory when `path` is `None`, else the file (created if absent) in WAL mode.
    ///
    /// The file holds private keys (the token signing key, the HTTPS server key), so it is readable by its
    /// owner only (mode 0600, set before SQLite writes anything; SQLite gives its `-wal` and `-shm` files the
    /// database file's mode).
    pub fn open(path: Option<&Path>) -> Result<Self, StoreError> {
        let conn = match path {
            Some(p) => {
                owner_only(p)?;
                let c = Connection::open(p)?;
                c.pragma_update(None, "journal_mode", "WAL")?;
                c.pragma_update(None, "synchronous", "NORMAL")?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                c
            }
            None => Connection::open_in_memory()?,
        };
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    /// Reads a value of the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let c = self.lock()?;
        Ok(
            c.query_row("SELECT v FROM meta WHERE k = ?1", [key], |r| r.get(0))
                .optional()?,
        )
    }

    /// Writes (or replaces) a value of the `meta` table.
    pub fn meta_set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let c = self.lock()?;
        c.execute(
            "INSERT OR REPLACE INTO meta (k, v) VALUES (?1, ?2)",
            params![key, value],
        )?;
        Ok(())
    }

    /// Writes a value of the `meta` table unless one is there; returns the value that is stored.
    pub fn meta_or_insert(&self, key: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        let c = self.lock()?;
        c.execute(
            "INSERT OR IGNORE INTO meta (k, v) VALUES (?1, ?2)",
            params![key, value],
        )?;
        Ok(c.query_row("SELECT v FROM meta WHERE k = ?1", [key], |r| r.get(0))?)
    }

    /// Creates a tenant unless it exists.
    pub fn ensure_tenant(&self, id: Uuid, display_name: &str) -> Result<(), StoreError> {
        let c = self.lock()?;
        c.execute(
            "INSERT OR IGNORE INTO tenants (id, display_name) VALUES (?1, ?2)",
            params![id.to_string(), display_name],
        )?;
        Ok(())
    }

    /// Whether a tenant exists.
    pub fn tenant_exists(&self, id: Uuid) -> Result<bool, StoreError> {
        let c = self.lock()?;
        Ok(c.query_row(
            "SELECT 1 FROM tenants WHERE id = ?1",
            [id.to_string()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
    }

    /// Creates an application and its service principal in one transaction. Objects whose id already exists
    /// are left as they are (so that a seed file can be loaded at every start).
    pub fn create_application(
        &self,
        new: NewApplication,
    ) -> Result<CreatedApplication, StoreError> {
        let mut c = self.lock()?;
        let tx = c.transaction()?;
        let id = new.id.unwrap_or_else(Uuid::new_v4);
        let app_id = new.app_id.unwrap_or_else(Uuid::new_v4);
        let sp_id = new.service_principal_id.unwrap_or_else(Uuid::new_v4);
        let exists = tx
            .query_row(
                "SELECT 1 FROM objects WHERE id = ?1",
                [id.to_string()],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !exists {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let roles = serde_json::to_string(&new.roles).map_err(|e| corrupt("roles", e))?;
            let owners = serde_json::to_string(&new.owners).map_err(|e| corrupt("owners", e))?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO objects (id, kind, tenant_id, app_id, display_name, roles, owners, managed_identity, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            insert.execute(params![
                id.to_string(),
                new.kind.as_str(),
                new.tenant_id.to_string(),
                app_id.to_string(),
                new.display_name,
                roles,
                owners,
                new.managed_identity,
                now
            ])?;
            insert.execute(params![
                sp_id.to_string(),
                ObjectKind::ServicePrincipal.as_str(),
                new.tenant_id.to_string(),
                app_id.to_string(),
                new.display_name,
                "[]",
                "[]",
                false,
                now
            ])?;
            drop(insert);
            for key in &new.keys {
                insert_key(&tx, id, key)?;
            }
            for key in &new.service_principal_keys {
                insert_key(&tx, sp_id, key)?;
            }
        }
        tx.commit()?;
        Ok(CreatedApplication {
            id,
            app_id,
            tenant_id: new.tenant_id,
            service_principal_id: sp_id,
        })
    }

    /// Finds an object of one of `kinds` in `tenant`.
    pub fn find(
        &self,
        tenant_id: Uuid,
        lookup: Lookup,
        kinds: &[ObjectKind],
    ) -> Result<Option<DirectoryObject>, StoreError> {
        let c = self.lock()?;
        let (sql, value) = match lookup {
            Lookup::Id(id) => (
                "SELECT id, kind, tenant_id, app_id, display_name, roles, owners, managed_identity
                 FROM objects WHERE id = ?1 AND tenant_id = ?2 ORDER BY created",
                id,
            ),
            Lookup::AppId(app_id) => (
                "SELECT id, kind, tenant_id, app_id, display_name, roles, owners, managed_identity
                 FROM objects WHERE app_id = ?1 AND tenant_id = ?2 ORDER BY created",
                app_id,
            ),
        };
        let mut stmt = c.prepare_cached(sql)?;
        let mut rows = stmt.query(params![value.to_string(), tenant_id.to_string()])?;
        while let Some(row) = rows.next()? {
            let obj = read_object(row)?;
            if kinds.contains(&obj.kind) {
                return Ok(Some(obj));
            }
        }
        Ok(None)
    }

    /// Finds an object by id in any tenant (the admin API's view).
    pub fn find_any_tenant(&self, id: Uuid) -> Result<Option<DirectoryObject>, StoreError> {
        let c = self.lock()?;
        let mut stmt = c.prepare_cached(
            "SELECT id, kind, tenant_id, app_id, display_name, roles, owners, managed_identity
             FROM objects WHERE id = ?1",
        )?;
        let mut rows = stmt.query([id.to_string()])?;
        match rows.next()? {
            Some(row) => Ok(Some(read_object(row)?)),
            None => Ok(None),
        }
    }

    /// The managed identities: the one whose client id is `client_id`, or the oldest when `None`.
    pub fn managed_identity(
        &self,
        client_id: Option<Uuid>,
    ) -> Result<Option<DirectoryObject>, StoreError> {
        let c = self.lock()?;
        let mut stmt = c.prepare_cached(
            "SELECT id, kind, tenant_id, app_id, display_name, roles, owners, managed_identity
             FROM objects WHERE managed_identity = 1 AND kind != 'servicePrincipal' ORDER BY created, rowid",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let obj = read_object(row)?;
            if client_id.is_none_or(|c| c == obj.app_id) {
                return Ok(Some(obj));
            }
        }
        Ok(None)
    }

    /// The key credentials of an object, oldest first, with their key bytes.
    pub fn keys(&self, object_id: Uuid) -> Result<Vec<KeyCredential>, StoreError> {
        let c = self.lock()?;
        read_keys(&c, object_id)
    }

    /// The key credentials of an object without their key bytes and names: what judging a proof needs on
    /// every request (bytes are fetched with [`Store::key_bytes`] only for certificates not yet parsed).
    pub fn key_headers(&self, object_id: Uuid) -> Result<Vec<KeyCredential>, StoreError> {
        let c = self.lock()?;
        let mut stmt = c.prepare_cached(
            "SELECT key_id, type, usage, start_ts, end_ts FROM key_credentials WHERE object_id = ?1 ORDER BY seq",
        )?;
        let mut rows = stmt.query([object_id.to_string()])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let key_id: String = r.get(0)?;
            out.push(KeyCredential {
                key_id: Some(parse_uuid("keyId", &key_id)?),
                key_type: Some(r.get(1)?),
                usage: Some(r.get(2)?),
                start_date_time: from_ts(r.get(3)?)?,
                end_date_time: from_ts(r.get(4)?)?,
                ..KeyCredential::default()
            });
        }
        Ok(out)
    }

    /// The key bytes of one credential.
    pub fn key_bytes(&self, key_id: Uuid) -> Result<Option<Vec<u8>>, StoreError> {
        let c = self.lock()?;
        Ok(
            c.prepare_cached("SELECT key FROM key_credentials WHERE key_id = ?1")?
                .query_row([key_id.to_string()], |r| r.get::<_, Option<Vec<u8>>>(0))
                .optional()?
                .flatten(),
        )
    }

    /// Adds a key credential, re-checking under the lock that the object exists, that `signer` (the key
    /// whose certificate signed the proof) is still there and that the object is under `limit` keys.
    pub fn add_key(
        &self,
        object_id: Uuid,
        key: &KeyCredential,
        signer: Option<Uuid>,
        limit: usize,
    ) -> Result<Result<(), AddKeyRefusal>, StoreError> {
        let mut c = self.lock()?;
        let tx = c.transaction()?;
        let exists = tx
            .query_row(
                "SELECT 1 FROM objects WHERE id = ?1",
                [object_id.to_string()],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !exists {
            return Ok(Err(AddKeyRefusal::ObjectGone));
        }
        if let Some(signer) = signer
            && !key_exists(&tx, object_id, signer)?
        {
            return Ok(Err(AddKeyRefusal::SignerGone));
        }
        let count: i64 = tx
            .prepare_cached("SELECT COUNT(*) FROM key_credentials WHERE object_id = ?1")?
            .query_row([object_id.to_string()], |r| r.get(0))?;
        if usize::try_from(count).unwrap_or(usize::MAX) >= limit {
            return Ok(Err(AddKeyRefusal::TooManyKeys));
        }
        insert_key(&tx, object_id, key)?;
        tx.commit()?;
        Ok(Ok(()))
    }

    /// Removes a key credential, re-checking under the lock that `signer` is still there.
    pub fn remove_key(
        &self,
        object_id: Uuid,
        key_id: Uuid,
        signer: Option<Uuid>,
    ) -> Result<Result<(), RemoveKeyRefusal>, StoreError> {
        let mut c = self.lock()?;
        let tx = c.transaction()?;
        if let Some(signer) = signer
            && !key_exists(&tx, object_id, signer)?
        {
            return Ok(Err(RemoveKeyRefusal::SignerGone));
        }
        let n = tx
            .prepare_cached("DELETE FROM key_credentials WHERE object_id = ?1 AND key_id = ?2")?
            .execute(params![object_id.to_string(), key_id.to_string()])?;
        if n == 0 {
            return Ok(Err(RemoveKeyRefusal::NoSuchKey));
        }
        tx.commit()?;
        Ok(Ok(()))
    }
}

/// Creates `path` empty with mode 0600 when it does not exist, and narrows an existing file to 0600.
#[cfg(unix)]
fn owner_only(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let io = |e: std::io::Error| StoreError::File {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    let mode = file.metadata().map_err(io)?.permissions().mode();
    if mode & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(mode & 0o700 | 0o600))
            .map_err(io)?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn owner_only(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}

fn key_exists(c: &Connection, object_id: Uuid, key_id: Uuid) -> Result<bool, StoreError> {
    Ok(
        c.prepare_cached("SELECT 1 FROM key_credentials WHERE object_id = ?1 AND key_id = ?2")?
            .query_row(params![object_id.to_string(), key_id.to_string()], |_| {
                Ok(())
            })
            .optional()?
            .is_some(),
    )
}

fn insert_key(c: &Connection, object_id: Uuid, key: &KeyCredential) -> Result<(), StoreError> {
    let key_id = key
        .key_id
        .ok_or_else(|| corrupt("key credential", "no keyId"))?;
    c.prepare_cached(
        "INSERT INTO key_credentials
           (key_id, object_id, seq, type, usage, display_name, start_ts, end_ts, custom_key_identifier, key)
         VALUES (?1, ?2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM key_credentials WHERE object_id = ?2),
                 ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        key_id.to_string(),
        object_id.to_string(),
        key.key_type.as_deref().unwrap_or_default(),
        key.usage.as_deref().unwrap_or_default(),
        key.display_name,
        ts(key.start_date_time),
        ts(key.end_date_time),
        key.custom_key_identifier,
        key.key,
    ])?;
    Ok(())
}

fn read_keys(c: &Connection, object_id: Uuid) -> Result<Vec<KeyCredential>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT key_id, type, usage, display_name, start_ts, end_ts, custom_key_identifier, key
         FROM key_credentials WHERE object_id = ?1 ORDER BY seq",
    )?;
    let mut rows = stmt.query([object_id.to_string()])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let key_id: String = r.get(0)?;
        out.push(KeyCredential {
            key_id: Some(parse_uuid("keyId", &key_id)?),
            key_type: Some(r.get(1)?),
            usage: Some(r.get(2)?),
            display_name: r.get(3)?,
            start_date_time: from_ts(r.get(4)?)?,
            end_date_time: from_ts(r.get(5)?)?,
            custom_key_identifier: r.get(6)?,
            key: r.get(7)?,
        });
    }
    Ok(out)
}

fn read_object(row: &rusqlite::Row<'_>) -> Result<DirectoryObject, StoreError> {
    let id: String = row.get(0)?;
    let kind: String = row.get(1)?;
    let tenant: String = row.get(2)?;
    let app_id: String = row.get(3)?;
    let roles: String = row.get(5)?;
    let owners: String = row.get(6)?;
    Ok(DirectoryObject {
        id: parse_uuid("object id", &id)?,
        kind: ObjectKind::parse(&kind)?,
        tenant_id: parse_uuid("tenant id", &tenant)?,
        app_id: parse_uuid("appId", &app_id)?,
        display_name: row.get(4)?,
        roles: serde_json::from_str(&roles).map_err(|e| corrupt("roles", e))?,
        owners: serde_json::from_str(&owners).map_err(|e| corrupt("owners", e))?,
        managed_identity: row.get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> KeyCredential {
        KeyCredential {
            key_id: Some(Uuid::new_v4()),
            key_type: Some("AsymmetricX509Cert".into()),
            usage: Some("Verify".into()),
            key: Some(vec![n; 4]),
            ..Default::default()
        }
    }

    fn app(store: &Store, keys: Vec<KeyCredential>) -> CreatedApplication {
        let tenant = Uuid::new_v4();
        store.ensure_tenant(tenant, "t").unwrap();
        store
            .create_application(NewApplication {
                tenant_id: tenant,
                id: None,
                app_id: None,
                service_principal_id: None,
                display_name: "a".into(),
                kind: ObjectKind::Application,
                roles: vec![],
                owners: vec![],
                managed_identity: false,
                keys,
                service_principal_keys: vec![],
            })
            .unwrap()
    }

    #[test]
    fn add_and_remove_keep_order_and_recheck_signer() {
        let store = Store::open(None).unwrap();
        let first = key(1);
        let signer = first.key_id;
        let created = app(&store, vec![first]);
        let second = key(2);
        assert_eq!(
            store.add_key(created.id, &second, signer, 600).unwrap(),
            Ok(())
        );
        let keys = store.keys(created.id).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1].key_id, second.key_id);
        let gone = Uuid::new_v4();
        assert_eq!(
            store.add_key(created.id, &key(3), Some(gone), 600).unwrap(),
            Err(AddKeyRefusal::SignerGone)
        );
        assert_eq!(
            store.add_key(created.id, &key(3), signer, 2).unwrap(),
            Err(AddKeyRefusal::TooManyKeys)
        );
        assert_eq!(
            store.remove_key(created.id, gone, signer).unwrap(),
            Err(RemoveKeyRefusal::NoSuchKey)
        );
        assert_eq!(
            store
                .remove_key(created.id, second.key_id.unwrap(), signer)
                .unwrap(),
            Ok(())
        );
        assert_eq!(store.keys(created.id).unwrap().len(), 1);
    }

    #[test]
    fn lookup_by_app_id_and_kind() {
        let store = Store::open(None).unwrap();
        let created = app(&store, vec![]);
        let found = store
            .find(
                created.tenant_id,
                Lookup::AppId(created.app_id),
                &[ObjectKind::ServicePrincipal],
            )
            .unwrap()
            .unwrap();
        assert_eq!(found.id, created.service_principal_id);
        assert!(
            store
                .find(
                    created.tenant_id,
                    Lookup::Id(created.id),
                    &[ObjectKind::AgentIdentityBlueprint]
                )
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .find(
                    Uuid::new_v4(),
                    Lookup::Id(created.id),
                    &[ObjectKind::Application]
                )
                .unwrap()
                .is_none()
        );
    }
}
