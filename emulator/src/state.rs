//! The shared state of a running emulator and the checks every endpoint needs (who is calling, which keys
//! of an object may sign right now).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::HeaderMap;
use keyroll_proto::cert::Certificate;
use keyroll_proto::clock::Clock;
use keyroll_proto::credential::KeyCredential;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ApiError;
use crate::faults::Faults;
use crate::replication::Replication;
use crate::server::ConnectionLimits;
use crate::store::Store;
use crate::tokens::{AccessClaims, TokenSigner};

/// Everything a request handler can reach. All changes to the directory go through [`Store`].
pub struct Emulator {
    /// The directory.
    pub store: Store,
    /// Issues and checks access tokens.
    pub signer: TokenSigner,
    /// Faults and the write budget.
    pub faults: Faults,
    /// The time every check uses.
    pub clock: Arc<dyn Clock>,
    /// Seconds of clock difference tolerated on proofs and assertions.
    pub skew_secs: i64,
    /// The tenant objects are created in when none is named.
    pub default_tenant: Uuid,
    /// The secret a managed-identity caller must send in `X-IDENTITY-HEADER`.
    pub identity_header: String,
    /// `https` or `http`.
    pub scheme: &'static str,
    /// Bounds on connections and request bodies.
    pub limits: ConnectionLimits,
    /// What reads and sign-ins have not seen yet of recent writes.
    pub replication: Replication,
    /// The emulated Key Vault's settings (its objects are in the store).
    pub vault: crate::vault::VaultState,
    /// Device-code flows and refresh tokens (delegated sign-in).
    pub device: crate::devicecode::DeviceFlows,
    /// Parsed certificates by key id: a key's bytes never change, so each is parsed once.
    cert_cache: Mutex<HashMap<Uuid, Certificate>>,
    /// The key that signs collection skip tokens, kept with the state so that links survive a restart.
    page_token_key: OnceLock<Vec<u8>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("default_tenant", &self.default_tenant)
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

/// A key of an object that may sign a proof or an assertion now, with its parsed certificate.
#[derive(Debug, Clone)]
pub struct UsableKey {
    /// The credential's key id.
    pub key_id: Uuid,
    /// Its certificate.
    pub certificate: Certificate,
}

impl Emulator {
    /// Assembles the state.
    #[allow(clippy::too_many_arguments)] // one call site, in `start`; a builder would add nothing
    pub fn new(
        store: Store,
        signer: TokenSigner,
        faults: Faults,
        clock: Arc<dyn Clock>,
        skew_secs: i64,
        default_tenant: Uuid,
        identity_header: String,
        scheme: &'static str,
        limits: ConnectionLimits,
    ) -> Self {
        Emulator {
            store,
            signer,
            faults,
            clock,
            skew_secs,
            default_tenant,
            identity_header,
            scheme,
            limits,
            replication: Replication::default(),
            vault: crate::vault::VaultState::default(),
            device: crate::devicecode::DeviceFlows::default(),
            cert_cache: Mutex::new(HashMap::new()),
            page_token_key: OnceLock::new(),
        }
    }

    /// The key that signs skip tokens: made on first use and kept in the store.
    pub fn page_token_key(&self) -> Result<&[u8], ApiError> {
        if let Some(k) = self.page_token_key.get() {
            return Ok(k);
        }
        let mut fresh = [0u8; 32];
        aws_lc_rs::rand::fill(&mut fresh)
            .map_err(|_| ApiError::internal("no randomness for the page token key"))?;
        let stored = self.store.meta_or_insert("page_token_key", &fresh)?;
        Ok(self.page_token_key.get_or_init(|| stored))
    }

    /// The current time.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// The origin (`scheme://host[:port]`) the caller addressed, from its `Host` header, so that URLs the
    /// emulator hands out (discovery, the token endpoint an assertion must name) match what the client used.
    pub fn origin(&self, headers: &HeaderMap) -> String {
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        format!("{}://{host}", self.scheme)
    }

    /// The caller of a Graph request, from its bearer token.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<AccessClaims, ApiError> {
        let value = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .trim();
        let token = match value.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
            _ => "",
        };
        if token.is_empty() {
            return Err(ApiError::invalid_token(
                "Access token is empty.",
                "no Authorization: Bearer header",
            ));
        }
        self.signer
            .verify(token, self.now())
            .map_err(|e| ApiError::invalid_token("Access token validation failure.", e.to_string()))
    }

    /// The keys of `keys` that may sign at `now`: certificate credentials inside their own start/end window
    /// whose certificate parses. Whether the certificate itself is valid is left to the proof inspector,
    /// which says so precisely.
    pub fn signing_candidates(
        &self,
        keys: &[KeyCredential],
        now: OffsetDateTime,
    ) -> Vec<UsableKey> {
        let Ok(mut cache) = self.cert_cache.lock() else {
            return Vec::new();
        };
        let mut seen = std::collections::HashSet::new();
        keys.iter()
            .filter(|k| keyroll_proto::key_status::may_sign(k, now, self.skew_secs))
            .filter_map(|k| {
                let key_id = k.key_id?;
                if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(key_id) {
                    let bytes = match k.key.clone() {
                        Some(b) => b,
                        None => self.store.key_bytes(key_id).ok()??,
                    };
                    slot.insert(Certificate::from_der(&bytes).ok()?);
                }
                let cert = cache.get(&key_id)?;
                // The same certificate registered twice proves the same thing: judge it once.
                seen.insert(*cert.sha1()).then(|| UsableKey {
                    key_id,
                    certificate: cert.clone(),
                })
            })
            .collect()
    }

    /// Remembers the parsed certificate of a key just stored.
    pub fn remember_certificate(&self, key_id: Uuid, certificate: &Certificate) {
        if let Ok(mut cache) = self.cert_cache.lock() {
            cache.insert(key_id, certificate.clone());
        }
    }

    /// Forgets a removed key.
    pub fn forget_certificate(&self, key_id: Uuid) {
        if let Ok(mut cache) = self.cert_cache.lock() {
            cache.remove(&key_id);
        }
    }
}

/// The state as handlers receive it.
pub type SharedState = Arc<Emulator>;
