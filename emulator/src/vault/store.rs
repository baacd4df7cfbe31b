//! The vault's state in the emulator's SQLite store: certificate versions, the keys that back them (private
//! keys kept here and used here only), and the access policy's grants.

use rusqlite::{OptionalExtension, params};
use zeroize::Zeroizing;

use super::crypto::KeySpec;
use crate::error::StoreError;
use crate::store::Store;

/// The vault's tables, created with the directory's (and added to a state file made before they existed).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS vault_keys (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    seq INTEGER NOT NULL,
    spec TEXT NOT NULL,
    pkcs8 BLOB NOT NULL,
    managed INTEGER NOT NULL,
    created INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS vault_certificates (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    seq INTEGER NOT NULL,
    cer BLOB,
    csr BLOB,
    policy TEXT NOT NULL,
    issuer TEXT NOT NULL,
    status TEXT NOT NULL,
    request_id TEXT NOT NULL,
    polls INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS vault_grants (principal TEXT PRIMARY KEY, permissions TEXT NOT NULL);
";

/// One version of a vault key. Its private key never leaves the emulator: no endpoint returns it and its
/// `Debug` hides it.
pub struct VaultKey {
    /// Key name (a certificate's key has the certificate's name).
    pub name: String,
    /// Version (a certificate's key has the certificate version's).
    pub version: String,
    /// Type and size.
    pub spec: KeySpec,
    /// PKCS#8 DER of the private key, wiped when dropped.
    pub pkcs8: Zeroizing<Vec<u8>>,
    /// Whether a certificate manages the key (`managed: true` in its bundle).
    pub managed: bool,
    /// Unix seconds.
    pub created: i64,
}

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultKey")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("spec", &self.spec)
            .field("pkcs8", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// One version of a vault certificate, issued (`cer` set) or pending.
#[derive(Debug, Clone)]
pub struct VaultCertificate {
    /// Certificate name.
    pub name: String,
    /// Version, shared with its key.
    pub version: String,
    /// The certificate's DER once issued.
    pub cer: Option<Vec<u8>>,
    /// The PKCS#10 request of the pending operation.
    pub csr: Option<Vec<u8>>,
    /// The policy it was created with, as the service shows it (JSON).
    pub policy: serde_json::Value,
    /// `Self` or `Unknown`.
    pub issuer: String,
    /// `inProgress` or `completed`.
    pub status: String,
    /// The pending operation's request id.
    pub request_id: String,
    /// How many times the pending operation was read.
    pub polls: i64,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds.
    pub updated: i64,
}

fn corrupt(what: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what,
        reason: e.to_string(),
    }
}

const CERT_COLUMNS: &str =
    "name, version, cer, csr, policy, issuer, status, request_id, polls, created, updated";

fn read_cert(r: &rusqlite::Row<'_>) -> Result<VaultCertificate, StoreError> {
    let policy: String = r.get(4)?;
    Ok(VaultCertificate {
        name: r.get(0)?,
        version: r.get(1)?,
        cer: r.get(2)?,
        csr: r.get(3)?,
        policy: serde_json::from_str(&policy).map_err(|e| corrupt("vault policy", e))?,
        issuer: r.get(5)?,
        status: r.get(6)?,
        request_id: r.get(7)?,
        polls: r.get(8)?,
        created: r.get(9)?,
        updated: r.get(10)?,
    })
}

fn read_key(r: &rusqlite::Row<'_>) -> Result<VaultKey, StoreError> {
    let spec: String = r.get(2)?;
    let pkcs8: Vec<u8> = r.get(3)?;
    Ok(VaultKey {
        name: r.get(0)?,
        version: r.get(1)?,
        spec: KeySpec::parse_stored(&spec).ok_or_else(|| corrupt("vault key type", &spec))?,
        pkcs8: Zeroizing::new(pkcs8),
        managed: r.get(4)?,
        created: r.get(5)?,
    })
}

impl Store {
    /// Stores a new certificate version and its key in one transaction, each after the name's latest.
    pub fn vault_insert(&self, cert: &VaultCertificate, key: &VaultKey) -> Result<(), StoreError> {
        let mut c = self.lock()?;
        let tx = c.transaction()?;
        tx.execute(
            "INSERT INTO vault_keys (name, version, seq, spec, pkcs8, managed, created)
             VALUES (?1, ?2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM vault_keys WHERE name = ?1), ?3, ?4, ?5, ?6)",
            params![
                key.name,
                key.version,
                key.spec.stored(),
                key.pkcs8.as_slice(),
                key.managed,
                key.created
            ],
        )?;
        tx.execute(
            "INSERT INTO vault_certificates
               (name, version, seq, cer, csr, policy, issuer, status, request_id, polls, created, updated)
             VALUES (?1, ?2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM vault_certificates WHERE name = ?1),
                     ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                cert.name,
                cert.version,
                cert.cer,
                cert.csr,
                cert.policy.to_string(),
                cert.issuer,
                cert.status,
                cert.request_id,
                cert.polls,
                cert.created,
                cert.updated
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// A certificate version; the latest when `version` is `None`. Names compare case-insensitively, as
    /// the vault's do.
    pub fn vault_certificate(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<Option<VaultCertificate>, StoreError> {
        let c = self.lock()?;
        let row = match version {
            Some(v) => c
                .prepare_cached(&format!(
                    "SELECT {CERT_COLUMNS} FROM vault_certificates
                     WHERE name = ?1 COLLATE NOCASE AND version = ?2 COLLATE NOCASE"
                ))?
                .query_row(params![name, v], |r| Ok(read_cert(r)))
                .optional()?,
            None => c
                .prepare_cached(&format!(
                    "SELECT {CERT_COLUMNS} FROM vault_certificates
                     WHERE name = ?1 COLLATE NOCASE ORDER BY seq DESC LIMIT 1"
                ))?
                .query_row(params![name], |r| Ok(read_cert(r)))
                .optional()?,
        };
        row.transpose()
    }

    /// Every version of a certificate, oldest first.
    pub fn vault_certificate_versions(
        &self,
        name: &str,
    ) -> Result<Vec<VaultCertificate>, StoreError> {
        let c = self.lock()?;
        let mut stmt = c.prepare_cached(&format!(
            "SELECT {CERT_COLUMNS} FROM vault_certificates WHERE name = ?1 COLLATE NOCASE ORDER BY seq"
        ))?;
        let mut rows = stmt.query(params![name])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(read_cert(r)?);
        }
        Ok(out)
    }

    /// A key version; the latest when `version` is `None`.
    pub fn vault_key(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<Option<VaultKey>, StoreError> {
        let c = self.lock()?;
        let cols = "name, version, spec, pkcs8, managed, created";
        let row = match version {
            Some(v) => c
                .prepare_cached(&format!(
                    "SELECT {cols} FROM vault_keys WHERE name = ?1 COLLATE NOCASE AND version = ?2 COLLATE NOCASE"
                ))?
                .query_row(params![name, v], |r| Ok(read_key(r)))
                .optional()?,
            None => c
                .prepare_cached(&format!(
                    "SELECT {cols} FROM vault_keys WHERE name = ?1 COLLATE NOCASE ORDER BY seq DESC LIMIT 1"
                ))?
                .query_row(params![name], |r| Ok(read_key(r)))
                .optional()?,
        };
        row.transpose()
    }

    /// Counts one read of a pending operation; returns the count.
    pub fn vault_poll(&self, name: &str, version: &str) -> Result<i64, StoreError> {
        let c = self.lock()?;
        Ok(c.query_row(
            "UPDATE vault_certificates SET polls = polls + 1 WHERE name = ?1 AND version = ?2 RETURNING polls",
            params![name, version],
            |r| r.get(0),
        )?)
    }

    /// Completes a pending version with its issued certificate; `false` when it was completed already (a
    /// concurrent read issued it first) or is gone.
    pub fn vault_issue(
        &self,
        name: &str,
        version: &str,
        cer: &[u8],
        now: i64,
    ) -> Result<bool, StoreError> {
        let c = self.lock()?;
        let changed = c.execute(
            "UPDATE vault_certificates SET cer = ?3, status = 'completed', updated = ?4
             WHERE name = ?1 AND version = ?2 AND cer IS NULL",
            params![name, version, cer, now],
        )?;
        Ok(changed == 1)
    }

    /// Replaces the permissions granted to `principal` (an object id or client id); none removes it.
    pub fn vault_set_grant(
        &self,
        principal: &str,
        permissions: &[String],
    ) -> Result<(), StoreError> {
        let c = self.lock()?;
        if permissions.is_empty() {
            c.execute(
                "DELETE FROM vault_grants WHERE principal = ?1",
                params![principal],
            )?;
        } else {
            let text =
                serde_json::to_string(permissions).map_err(|e| corrupt("vault grants", e))?;
            c.execute(
                "INSERT OR REPLACE INTO vault_grants (principal, permissions) VALUES (?1, ?2)",
                params![principal, text],
            )?;
        }
        Ok(())
    }

    /// The permissions granted to `principal`.
    pub fn vault_grant(&self, principal: &str) -> Result<Vec<String>, StoreError> {
        let c = self.lock()?;
        let text: Option<String> = c
            .query_row(
                "SELECT permissions FROM vault_grants WHERE principal = ?1",
                params![principal],
                |r| r.get(0),
            )
            .optional()?;
        match text {
            Some(t) => serde_json::from_str(&t).map_err(|e| corrupt("vault grants", e)),
            None => Ok(Vec::new()),
        }
    }
}
