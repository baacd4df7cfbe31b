//! The directory's state in SQLite: tenants, applications, service principals, agent identity blueprints and
//! their key credentials (and, in the same database, the emulated vault's objects: `vault::store`).
//!
//! One connection behind one mutex is the single entry point for every change, so two writers can never
//! interleave: each write is one transaction that re-checks its preconditions (the signer is still there, the
//! object is under the key limit) before it commits. With `--state FILE` the database runs in WAL mode with
//! `synchronous=NORMAL`: a committed transaction is in the WAL before the response is written, so it survives
//! the process being killed (though not a power cut, which the emulator does not need to survive).

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use keyroll_proto::credential::{KeyCredential, PasswordCredential};
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
    /// When the object was created (Graph's `createdDateTime`).
    pub created: OffsetDateTime,
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
    /// Initial password credentials (client secrets) of the application.
    pub passwords: Vec<NewPassword>,
    /// Initial password credentials of the service principal.
    pub service_principal_passwords: Vec<NewPassword>,
    /// Owning service principals of the service principal (an application's owners are not its service
    /// principal's, as in the directory).
    pub service_principal_owners: Vec<Uuid>,
}

/// A password credential (client secret) to store. The secret itself is kept only as its SHA-256 (what a
/// future client-secret sign-in needs to check it); reads never return it (`secretText` is always null).
#[derive(Clone, Default)]
pub struct NewPassword {
    /// The credential's id.
    pub key_id: Uuid,
    /// Friendly name.
    pub display_name: Option<String>,
    /// The first three characters of the secret, as Graph shows them.
    pub hint: Option<String>,
    /// Start of validity.
    pub start: Option<OffsetDateTime>,
    /// End of validity.
    pub end: Option<OffsetDateTime>,
    /// Binary identifier.
    pub custom_key_identifier: Option<Vec<u8>>,
    /// SHA-256 of the secret, when one is known.
    pub secret_sha256: Option<Vec<u8>>,
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewPassword")
            .field("key_id", &self.key_id)
            .field("display_name", &self.display_name)
            .finish_non_exhaustive()
    }
}

/// What a collection read may filter on (each clause is ANDed; strings compare case-insensitively, as the
/// directory does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `id eq '…'`.
    IdEq(Uuid),
    /// `appId eq '…'`.
    AppIdEq(Uuid),
    /// `displayName eq '…'`.
    NameEq(String),
    /// `displayName ne '…'` (advanced query).
    NameNe(String),
    /// `startswith(displayName,'…')`.
    NameStartsWith(String),
    /// `endswith(displayName,'…')` (advanced query).
    NameEndsWith(String),
    /// `servicePrincipalType eq '…'`: `true` for `ManagedIdentity`, `false` for `Application`; `None` for a
    /// type the emulator never holds (matches nothing).
    ManagedIdentityEq(Option<bool>),
}

/// One collection query: which objects a page may hold.
#[derive(Debug, Clone)]
pub struct ListQuery<'a> {
    /// The caller's tenant.
    pub tenant_id: Uuid,
    /// The kinds the collection holds.
    pub kinds: &'a [ObjectKind],
    /// The `$filter` clauses.
    pub conditions: &'a [Condition],
    /// Only objects this service principal owns (Application.ReadWrite.OwnedBy), when set.
    pub owned_by: Option<Uuid>,
}

/// One object of a collection page with its credentials.
#[derive(Debug, Clone)]
pub struct ListedObject {
    /// The object.
    pub object: DirectoryObject,
    /// Its key credentials, oldest first (with key bytes when asked for).
    pub keys: Vec<KeyCredential>,
    /// Its password credentials, oldest first (`secretText` always `None`).
    pub passwords: Vec<PasswordCredential>,
}

/// What a bulk seed creates (see [`Store::seed_bulk`]).
#[derive(Debug, Clone)]
pub struct BulkObject {
    /// The object (kind, ids, tenant, name, owners; `roles` empty).
    pub object: DirectoryObject,
    /// Key credentials (complete, with key ids and bytes).
    pub keys: Vec<KeyCredential>,
    /// Password credentials.
    pub passwords: Vec<NewPassword>,
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
CREATE INDEX IF NOT EXISTS objects_by_tenant ON objects(tenant_id, id);
CREATE TABLE IF NOT EXISTS password_credentials (
    key_id TEXT PRIMARY KEY,
    object_id TEXT NOT NULL REFERENCES objects(id),
    seq INTEGER NOT NULL,
    display_name TEXT,
    hint TEXT,
    start_ts INTEGER,
    end_ts INTEGER,
    custom_key_identifier BLOB,
    secret_sha256 BLOB
);
CREATE INDEX IF NOT EXISTS passwords_by_object ON password_credentials(object_id, seq);
";

/// The columns [`read_object`] reads, in its order.
const OBJECT_COLUMNS: &str =
    "id, kind, tenant_id, app_id, display_name, roles, owners, managed_identity, created";

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
        conn.execute_batch(crate::vault::store::SCHEMA)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
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
            let sp_owners = serde_json::to_string(&new.service_principal_owners)
                .map_err(|e| corrupt("owners", e))?;
            insert.execute(params![
                sp_id.to_string(),
                ObjectKind::ServicePrincipal.as_str(),
                new.tenant_id.to_string(),
                app_id.to_string(),
                new.display_name,
                "[]",
                sp_owners,
                // A managed identity's service principal is of type ManagedIdentity.
                new.managed_identity,
                now
            ])?;
            drop(insert);
            for key in &new.keys {
                insert_key(&tx, id, key)?;
            }
            for key in &new.service_principal_keys {
                insert_key(&tx, sp_id, key)?;
            }
            for (seq, p) in new.passwords.iter().enumerate() {
                insert_password(&tx, id, seq, p)?;
            }
            for (seq, p) in new.service_principal_passwords.iter().enumerate() {
                insert_password(&tx, sp_id, seq, p)?;
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
                "SELECT id, kind, tenant_id, app_id, display_name, roles, owners, managed_identity, created
                 FROM objects WHERE id = ?1 AND tenant_id = ?2 ORDER BY created",
                id,
            ),
            Lookup::AppId(app_id) => (
                "SELECT id, kind, tenant_id, app_id, display_name, roles, owners, managed_identity, created
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
            "SELECT id, kind, tenant_id, app_id, display_name, roles, owners, managed_identity, created
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
            "SELECT id, kind, tenant_id, app_id, display_name, roles, owners, managed_identity, created
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

    /// Replaces the object's whole key collection (PATCH `keyCredentials`): `judge` sees the keys as they are
    /// under the store's lock and returns the collection to store, so a key added by another request up to the
    /// commit is judged (and, when the PATCH leaves it out, removed) rather than overwritten unseen.
    /// `Ok(None)` when the object is gone.
    pub fn replace_keys<T, E>(
        &self,
        object_id: Uuid,
        judge: impl FnOnce(&[KeyCredential]) -> Result<(Vec<KeyCredential>, T), E>,
    ) -> Result<Option<Result<T, E>>, StoreError> {
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
            return Ok(None);
        }
        let current = read_keys(&tx, object_id)?;
        let (keys, out) = match judge(&current) {
            Ok(judged) => judged,
            Err(e) => return Ok(Some(Err(e))),
        };
        tx.prepare_cached("DELETE FROM key_credentials WHERE object_id = ?1")?
            .execute([object_id.to_string()])?;
        for k in &keys {
            insert_key(&tx, object_id, k)?;
        }
        tx.commit()?;
        Ok(Some(Ok(out)))
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

impl Store {
    /// Adds a client secret to `object_id` (stored as its hash and hint only), after the others. Returns
    /// false when the object is gone.
    pub fn add_password(&self, object_id: Uuid, p: &NewPassword) -> Result<bool, StoreError> {
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
            return Ok(false);
        }
        let next: i64 = tx
            .prepare_cached(
                "SELECT COALESCE(MAX(seq), 0) FROM password_credentials WHERE object_id = ?1",
            )?
            .query_row([object_id.to_string()], |r| r.get(0))?;
        // insert_password stores seq + 1.
        insert_password(&tx, object_id, usize::try_from(next).unwrap_or(0), p)?;
        tx.commit()?;
        Ok(true)
    }

    /// Removes a client secret; false when the object has none with `key_id`.
    pub fn remove_password(&self, object_id: Uuid, key_id: Uuid) -> Result<bool, StoreError> {
        let c = self.lock()?;
        let n = c
            .prepare_cached(
                "DELETE FROM password_credentials WHERE object_id = ?1 AND key_id = ?2",
            )?
            .execute(params![object_id.to_string(), key_id.to_string()])?;
        Ok(n > 0)
    }

    /// Whether `secret` is a current client secret of the object: its SHA-256 matches one whose validity
    /// includes `now`. The secret is compared as a hash only.
    pub fn secret_matches(
        &self,
        object_id: Uuid,
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
        let c = self.lock()?;
        let mut stmt = c.prepare_cached(
            "SELECT start_ts, end_ts, secret_sha256 FROM password_credentials WHERE object_id = ?1",
        )?;
        let mut rows = stmt.query([object_id.to_string()])?;
        let t = now.unix_timestamp();
        while let Some(r) = rows.next()? {
            let start: Option<i64> = r.get(0)?;
            let end: Option<i64> = r.get(1)?;
            let hash: Option<Vec<u8>> = r.get(2)?;
            let current = start.is_none_or(|s| s <= t) && end.is_none_or(|e| t < e);
            if current
                && hash.is_some_and(|h| {
                    aws_lc_rs::constant_time::verify_slices_are_equal(&h, digest.as_ref()).is_ok()
                })
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl Store {
    /// One page of a collection: up to `limit` objects of `query` whose id sorts after `after`, in id order,
    /// each with its credentials (key bytes only when `with_key_bytes`), and whether more follow. Read under
    /// the store's lock, so a page is one consistent view; the id order is what keeps a paged scan from
    /// skipping or repeating an object while writes happen (see docs/protocol.md §7).
    pub fn list_page(
        &self,
        query: &ListQuery<'_>,
        after: Option<Uuid>,
        limit: usize,
        with_key_bytes: bool,
    ) -> Result<(Vec<ListedObject>, bool), StoreError> {
        let c = self.lock()?;
        let (mut sql, mut values) = where_clause(query);
        if let Some(after) = after {
            sql.push_str(" AND id > ?");
            values.push(after.to_string().into());
        }
        sql.push_str(" ORDER BY id LIMIT ?");
        values.push(
            i64::try_from(limit.saturating_add(1))
                .unwrap_or(i64::MAX)
                .into(),
        );
        let full = format!("SELECT {OBJECT_COLUMNS} FROM objects WHERE {sql}");
        let mut stmt = c.prepare_cached(&full)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(values))?;
        let mut objects = Vec::new();
        while let Some(row) = rows.next()? {
            objects.push(read_object(row)?);
        }
        drop(rows);
        drop(stmt);
        let more = objects.len() > limit;
        objects.truncate(limit);
        let mut out = Vec::with_capacity(objects.len());
        for object in objects {
            let keys = read_keys_with(&c, object.id, with_key_bytes)?;
            let passwords = read_passwords(&c, object.id)?;
            out.push(ListedObject {
                object,
                keys,
                passwords,
            });
        }
        Ok((out, more))
    }

    /// How many objects `query` matches (`@odata.count`, `/$count`).
    pub fn count(&self, query: &ListQuery<'_>) -> Result<u64, StoreError> {
        let c = self.lock()?;
        let (sql, values) = where_clause(query);
        let full = format!("SELECT COUNT(*) FROM objects WHERE {sql}");
        let n: i64 = c
            .prepare_cached(&full)?
            .query_row(rusqlite::params_from_iter(values), |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The password credentials of an object, oldest first (`secretText` always `None`).
    pub fn passwords(&self, object_id: Uuid) -> Result<Vec<PasswordCredential>, StoreError> {
        let c = self.lock()?;
        read_passwords(&c, object_id)
    }

    /// Display names of objects by id, for `$expand=owners` (ids that name nothing are left out).
    pub fn names(&self, ids: &[Uuid]) -> Result<Vec<DirectoryObject>, StoreError> {
        let c = self.lock()?;
        let mut stmt = c.prepare_cached(&format!(
            "SELECT {OBJECT_COLUMNS} FROM objects WHERE id = ?1"
        ))?;
        let mut out = Vec::new();
        for id in ids {
            let mut rows = stmt.query([id.to_string()])?;
            if let Some(row) = rows.next()? {
                out.push(read_object(row)?);
            }
        }
        Ok(out)
    }

    /// Creates many objects in one transaction: all of them or none. Used by the admin seed endpoint, which
    /// must create 100,000 objects in seconds; ids are the caller's (it draws them), and an id that exists
    /// already fails the whole seed.
    pub fn seed_bulk(&self, objects: impl Iterator<Item = BulkObject>) -> Result<u64, StoreError> {
        let mut created = 0u64;
        let mut c = self.lock()?;
        let tx = c.transaction()?;
        {
            let mut insert_object = tx.prepare_cached(
                "INSERT INTO objects (id, kind, tenant_id, app_id, display_name, roles, owners, managed_identity, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, '[]', ?6, 0, ?7)",
            )?;
            let mut insert_key = tx.prepare_cached(
                "INSERT INTO key_credentials
                   (key_id, object_id, seq, type, usage, display_name, start_ts, end_ts, custom_key_identifier, key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for b in objects {
                created += 1;
                let o = &b.object;
                let owners = serde_json::to_string(&o.owners).map_err(|e| corrupt("owners", e))?;
                let id = o.id.to_string();
                insert_object.execute(params![
                    id,
                    o.kind.as_str(),
                    o.tenant_id.to_string(),
                    o.app_id.to_string(),
                    o.display_name,
                    owners,
                    o.created.unix_timestamp(),
                ])?;
                for (seq, key) in b.keys.iter().enumerate() {
                    let key_id = key
                        .key_id
                        .ok_or_else(|| corrupt("key credential", "no keyId"))?;
                    insert_key.execute(params![
                        key_id.to_string(),
                        id,
                        i64::try_from(seq).unwrap_or(i64::MAX) + 1,
                        key.key_type.as_deref().unwrap_or_default(),
                        key.usage.as_deref().unwrap_or_default(),
                        key.display_name,
                        ts(key.start_date_time),
                        ts(key.end_date_time),
                        key.custom_key_identifier,
                        key.key,
                    ])?;
                }
                for (seq, p) in b.passwords.iter().enumerate() {
                    insert_password(&tx, o.id, seq, p)?;
                }
            }
        }
        tx.commit()?;
        Ok(created)
    }
}

/// The `WHERE` clause (without `WHERE`) and its values for a collection query.
fn where_clause(query: &ListQuery<'_>) -> (String, Vec<rusqlite::types::Value>) {
    let kinds: Vec<String> = query
        .kinds
        .iter()
        .map(|k| format!("'{}'", k.as_str()))
        .collect();
    let mut sql = format!("tenant_id = ? AND kind IN ({})", kinds.join(", "));
    let mut values: Vec<rusqlite::types::Value> = vec![query.tenant_id.to_string().into()];
    for condition in query.conditions {
        match condition {
            Condition::IdEq(id) => {
                sql.push_str(" AND id = ?");
                values.push(id.to_string().into());
            }
            Condition::AppIdEq(id) => {
                sql.push_str(" AND app_id = ?");
                values.push(id.to_string().into());
            }
            Condition::NameEq(v) => {
                sql.push_str(" AND display_name = ? COLLATE NOCASE");
                values.push(v.clone().into());
            }
            Condition::NameNe(v) => {
                sql.push_str(" AND display_name <> ? COLLATE NOCASE");
                values.push(v.clone().into());
            }
            Condition::NameStartsWith(v) => {
                sql.push_str(" AND display_name LIKE ? ESCAPE '\\'");
                values.push(format!("{}%", like_escape(v)).into());
            }
            Condition::NameEndsWith(v) => {
                sql.push_str(" AND display_name LIKE ? ESCAPE '\\'");
                values.push(format!("%{}", like_escape(v)).into());
            }
            Condition::ManagedIdentityEq(Some(m)) => {
                sql.push_str(" AND managed_identity = ?");
                values.push(i64::from(*m).into());
            }
            Condition::ManagedIdentityEq(None) => sql.push_str(" AND 0"),
        }
    }
    if let Some(owner) = query.owned_by {
        // Owners are stored as a JSON array of ids; a quoted id matches exactly one entry.
        sql.push_str(" AND owners LIKE ?");
        values.push(format!("%\"{owner}\"%").into());
    }
    (sql, values)
}

/// Escapes LIKE's wildcards so that a filter value matches itself only.
fn like_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for ch in v.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

fn insert_password(
    c: &Connection,
    object_id: Uuid,
    seq: usize,
    p: &NewPassword,
) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO password_credentials
           (key_id, object_id, seq, display_name, hint, start_ts, end_ts, custom_key_identifier, secret_sha256)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        p.key_id.to_string(),
        object_id.to_string(),
        i64::try_from(seq).unwrap_or(i64::MAX) + 1,
        p.display_name,
        p.hint,
        ts(p.start),
        ts(p.end),
        p.custom_key_identifier,
        p.secret_sha256,
    ])?;
    Ok(())
}

fn read_passwords(c: &Connection, object_id: Uuid) -> Result<Vec<PasswordCredential>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT key_id, display_name, hint, start_ts, end_ts, custom_key_identifier
         FROM password_credentials WHERE object_id = ?1 ORDER BY seq",
    )?;
    let mut rows = stmt.query([object_id.to_string()])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let key_id: String = r.get(0)?;
        let mut p = PasswordCredential::default();
        p.key_id = Some(parse_uuid("keyId", &key_id)?);
        p.display_name = r.get(1)?;
        p.hint = r.get(2)?;
        p.start_date_time = from_ts(r.get(3)?)?;
        p.end_date_time = from_ts(r.get(4)?)?;
        p.custom_key_identifier = r.get(5)?;
        out.push(p);
    }
    Ok(out)
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
    read_keys_with(c, object_id, true)
}

/// The key credentials of an object; the key bytes are left in the database unless `with_bytes`.
fn read_keys_with(
    c: &Connection,
    object_id: Uuid,
    with_bytes: bool,
) -> Result<Vec<KeyCredential>, StoreError> {
    let mut stmt = c.prepare_cached(if with_bytes {
        "SELECT key_id, type, usage, display_name, start_ts, end_ts, custom_key_identifier, key
         FROM key_credentials WHERE object_id = ?1 ORDER BY seq"
    } else {
        "SELECT key_id, type, usage, display_name, start_ts, end_ts, custom_key_identifier, NULL
         FROM key_credentials WHERE object_id = ?1 ORDER BY seq"
    })?;
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
        created: OffsetDateTime::from_unix_timestamp(row.get(8)?)
            .map_err(|e| corrupt("created", e))?,
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
                passwords: vec![],
                service_principal_passwords: vec![],
                service_principal_owners: vec![],
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
