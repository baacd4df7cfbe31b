//! The admin API under `/_emulator/`: creating objects, reading them whole, switching faults, and the
//! information a test needs (tenant, managed-identity endpoint). It is the emulator's own surface, not
//! Graph's, and needs no token: the emulator only listens on loopback.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyroll_proto::b64;
use keyroll_proto::cert::{Certificate, load_public_certificate};
use keyroll_proto::credential::{KeyCredential, KeyCredentialBuilder, serde_date};
use serde::Deserialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::ApiError;
use crate::faults::FaultConfig;
use crate::identity::mint_access_token;
use crate::limits::MAX_ADMIN_BODY_BYTES;
use crate::state::{Emulator, SharedState};
use crate::store::{BulkObject, DirectoryObject, Lookup, NewApplication, NewPassword, ObjectKind};
use crate::tokens::Resource;

/// The body of `POST /_emulator/applications` (and one entry of a seed file).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApplication {
    /// Display name.
    #[serde(default = "default_name")]
    pub display_name: String,
    /// Certificates to register, each as base64 DER (or PEM text).
    #[serde(default)]
    pub certificates: Vec<String>,
    /// Certificates to register on the service principal, each as base64 DER (or PEM text).
    #[serde(default)]
    pub service_principal_certificates: Vec<String>,
    /// App roles granted to the application (e.g. `Application.ReadWrite.All`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Object ids of owning service principals.
    #[serde(default)]
    pub owners: Vec<Uuid>,
    /// Tenant; the default tenant when absent (created if new).
    #[serde(default)]
    pub tenant_id: Option<Uuid>,
    /// `application` (default) or `agentIdentityBlueprint`.
    #[serde(default)]
    pub kind: Option<ObjectKind>,
    /// Whether the managed-identity endpoint issues tokens for it.
    #[serde(default)]
    pub managed_identity: bool,
    /// Fixed object id (seeds); generated when absent.
    #[serde(default)]
    pub id: Option<Uuid>,
    /// Fixed client id (seeds); generated when absent.
    #[serde(default)]
    pub app_id: Option<Uuid>,
    /// Fixed service principal id (seeds); generated when absent.
    #[serde(default)]
    pub service_principal_id: Option<Uuid>,
    /// Client secrets of the application (Graph's passwordCredential shape).
    #[serde(default)]
    pub password_credentials: Vec<PasswordInput>,
    /// Client secrets of the service principal.
    #[serde(default)]
    pub service_principal_password_credentials: Vec<PasswordInput>,
    /// Object ids of service principals that own the service principal (the application's `owners` are
    /// the application's only, as in the directory).
    #[serde(default)]
    pub service_principal_owners: Vec<Uuid>,
    /// Whether users may sign in to it with a device code (the portal's "Allow public client flows",
    /// Graph's `isFallbackPublicClient`); an app without it is confidential only.
    #[serde(default)]
    pub public_client: bool,
}

/// A client secret to create, in Graph's passwordCredential shape. Every field may be left out: the key id
/// is drawn, the start is now and the end two years later (Graph's default for addPassword). `secretText`
/// is kept only as its SHA-256 and its first three characters (the `hint`); no read returns it.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordInput {
    /// Key id; drawn when absent.
    #[serde(default)]
    pub key_id: Option<Uuid>,
    /// Friendly name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The secret's first characters; taken from `secretText` when absent.
    #[serde(default)]
    pub hint: Option<String>,
    /// Start of validity (now when absent).
    #[serde(default, with = "serde_date")]
    pub start_date_time: Option<OffsetDateTime>,
    /// End of validity (two years after the start when absent).
    #[serde(default, with = "serde_date")]
    pub end_date_time: Option<OffsetDateTime>,
    /// Binary identifier, base64.
    #[serde(default, with = "b64::serde_binary")]
    pub custom_key_identifier: Option<Vec<u8>>,
    /// The secret (kept as its SHA-256 only).
    #[serde(default)]
    pub secret_text: Option<String>,
}

impl std::fmt::Debug for PasswordInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordInput")
            .field("key_id", &self.key_id)
            .field("display_name", &self.display_name)
            .field(
                "secret_text",
                &self.secret_text.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl Drop for PasswordInput {
    fn drop(&mut self) {
        if let Some(s) = self.secret_text.as_mut() {
            zeroize::Zeroize::zeroize(s);
        }
    }
}

/// How long a secret lives when no end is given: Graph's default for addPassword.
const DEFAULT_SECRET_DAYS: i64 = 730;

/// Turns a client secret of an admin request into what the store keeps.
fn stored_password(
    p: &PasswordInput,
    now: OffsetDateTime,
    at: &str,
) -> Result<NewPassword, String> {
    let start = p.start_date_time.unwrap_or(now);
    let end = p
        .end_date_time
        .unwrap_or(start + Duration::days(DEFAULT_SECRET_DAYS));
    if end <= start {
        return Err(format!("{at}: endDateTime must be after startDateTime"));
    }
    let secret = p.secret_text.as_deref().filter(|s| !s.is_empty());
    let hint = p
        .hint
        .clone()
        .or_else(|| secret.map(|s| s.chars().take(3).collect()));
    Ok(NewPassword {
        key_id: p.key_id.unwrap_or_else(Uuid::new_v4),
        display_name: p.display_name.clone(),
        hint,
        start: Some(start),
        end: Some(end),
        custom_key_identifier: p.custom_key_identifier.clone(),
        secret_sha256: secret.map(|s| {
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes())
                .as_ref()
                .to_vec()
        }),
    })
}

fn default_name() -> String {
    "keyroll emulator app".to_owned()
}

/// A seed file: objects loaded at start-up.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seed {
    /// Extra tenants (the default tenant always exists).
    #[serde(default)]
    pub tenants: Vec<Uuid>,
    /// Applications to create (skipped when their `id` already exists).
    #[serde(default)]
    pub applications: Vec<CreateApplication>,
}

/// Turns a registered certificate into the key credential the directory stores: the certificate's whole
/// validity, its thumbprint as customKeyIdentifier, its subject as display name.
fn registered_key(text: &str, index: usize) -> Result<KeyCredential, String> {
    let public = load_public_certificate(text.trim().as_bytes(), None)
        .map_err(|e| format!("certificates[{index}]: {e}"))?;
    let cert = public.certificate;
    let built = KeyCredentialBuilder::new(cert.clone())
        .start(Some(cert.not_before()))
        .end(Some(cert.not_after()))
        .custom_key_identifier(Some(cert.sha1().to_vec()))
        .build()
        .map_err(|e| format!("certificates[{index}]: {e}"))?;
    let mut kc = built.key_credential;
    kc.key_id = Some(Uuid::new_v4());
    Ok(kc)
}

/// Creates an application (with its service principal) from an admin request.
pub fn create(
    state: &Emulator,
    req: CreateApplication,
) -> Result<crate::store::CreatedApplication, ApiError> {
    let keys = req
        .certificates
        .iter()
        .enumerate()
        .map(|(i, c)| registered_key(c, i))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::bad_request)?;
    let service_principal_keys = req
        .service_principal_certificates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            registered_key(c, i).map_err(|e| format!("servicePrincipal{}", capitalize(&e)))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::bad_request)?;
    let now = state.now();
    let passwords = req
        .password_credentials
        .iter()
        .enumerate()
        .map(|(i, p)| stored_password(p, now, &format!("passwordCredentials[{i}]")))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::bad_request)?;
    let service_principal_passwords = req
        .service_principal_password_credentials
        .iter()
        .enumerate()
        .map(|(i, p)| stored_password(p, now, &format!("servicePrincipalPasswordCredentials[{i}]")))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::bad_request)?;
    let kind = req.kind.unwrap_or(ObjectKind::Application);
    if kind == ObjectKind::ServicePrincipal {
        return Err(ApiError::bad_request(
            "kind must be application or agentIdentityBlueprint; the service principal is created with it",
        ));
    }
    let tenant_id = req.tenant_id.unwrap_or(state.default_tenant);
    state
        .store
        .ensure_tenant(tenant_id, "keyroll emulator tenant")?;
    let created = state.store.create_application(NewApplication {
        tenant_id,
        id: req.id,
        app_id: req.app_id,
        service_principal_id: req.service_principal_id,
        display_name: req.display_name.clone(),
        kind,
        roles: req.roles.clone(),
        owners: req.owners.clone(),
        managed_identity: req.managed_identity,
        keys,
        service_principal_keys,
        passwords,
        service_principal_passwords,
        service_principal_owners: req.service_principal_owners.clone(),
    })?;
    if req.public_client {
        state
            .store
            .meta_or_insert(&crate::devicecode::public_client_key(created.app_id), b"1")?;
    }
    Ok(created)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

pub(crate) fn admin_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") {
        return Err(ApiError::bad_request("send application/json"));
    }
    if body.len() > MAX_ADMIN_BODY_BYTES {
        return Err(ApiError::bad_request("the admin request body is too large"));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))
}

/// `POST /_emulator/applications`.
pub async fn create_application(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: CreateApplication = admin_json(&headers, &body)?;
    let created = create(&state, req)?;
    Ok((StatusCode::CREATED, axum::Json(created)).into_response())
}

/// `GET /_emulator/applications/{id}`: the whole object, every key credential with its bytes.
pub async fn get_object(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let uuid = Uuid::parse_str(&id).map_err(|_| ApiError::not_found(&id))?;
    let obj = state
        .store
        .find_any_tenant(uuid)?
        .ok_or_else(|| ApiError::not_found(&id))?;
    let keys = state.store.keys(obj.id)?;
    let sp = if obj.kind.is_application() {
        state
            .store
            .find(
                obj.tenant_id,
                Lookup::AppId(obj.app_id),
                &[ObjectKind::ServicePrincipal],
            )?
            .map(|s| s.id)
    } else {
        None
    };
    Ok(axum::Json(json!({
        "id": obj.id,
        "appId": obj.app_id,
        "tenantId": obj.tenant_id,
        "kind": obj.kind,
        "displayName": obj.display_name,
        "roles": obj.roles,
        "owners": obj.owners,
        "managedIdentity": obj.managed_identity,
        "servicePrincipalId": sp,
        "keyCredentials": keys,
        "passwordCredentials": state.store.passwords(obj.id)?,
    }))
    .into_response())
}

/// `GET /_emulator/faults`.
pub async fn get_faults(State(state): State<SharedState>) -> Response {
    axum::Json(state.faults.config()).into_response()
}

/// `PUT /_emulator/faults`: replaces the whole fault configuration.
pub async fn put_faults(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let config: FaultConfig = admin_json(&headers, &body)?;
    state.faults.set(config);
    Ok(axum::Json(state.faults.config()).into_response())
}

/// `GET /_emulator/info`.
pub async fn info(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    let origin = state.origin(&headers);
    axum::Json(json!({
        "graph_url": origin,
        "login_url": origin,
        "vault_url": origin,
        "tenantId": state.default_tenant,
        "identityEndpoint": format!("{origin}/_emulator/identity/token"),
        "identityHeader": state.identity_header,
    }))
    .into_response()
}

/// Body of `POST /_emulator/tokens`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TokenFor {
    app_id: Uuid,
    #[serde(default)]
    tenant_id: Option<Uuid>,
    /// `https://vault.azure.net` for a Key Vault token; Graph when absent.
    #[serde(default)]
    resource: Option<String>,
}

/// `POST /_emulator/tokens`: an access token for an application without a client assertion, for tests that
/// exercise Graph (or, with `"resource": "https://vault.azure.net"`, Key Vault) rather than the token
/// endpoint.
pub async fn issue_token(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: TokenFor = admin_json(&headers, &body)?;
    let tenant = req.tenant_id.unwrap_or(state.default_tenant);
    let app = state
        .store
        .find(
            tenant,
            Lookup::AppId(req.app_id),
            &[ObjectKind::Application, ObjectKind::AgentIdentityBlueprint],
        )?
        .ok_or_else(|| ApiError::not_found(&req.app_id.to_string()))?;
    let resource = match req.resource.as_deref() {
        None => Resource::Graph,
        Some(r) => Resource::from_identifier(r).ok_or_else(|| {
            ApiError::bad_request(format!(
                "resource '{r}' is not one the emulator serves: use https://graph.microsoft.com or https://vault.azure.net"
            ))
        })?,
    };
    let token = mint_access_token(&state, &app, resource)?;
    Ok(axum::Json(json!({"access_token": token, "token_type": "Bearer"})).into_response())
}

/// The body of `POST /_emulator/seed`: many applications (and their service principals) at once, with
/// certificates and client secrets of spread expiry, for inventory scans and their benchmarks.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkSeed {
    /// How many applications.
    pub count: u32,
    /// Tenant; the default tenant when absent (created if new).
    #[serde(default)]
    pub tenant: Option<Uuid>,
    /// Whether each application gets its service principal (default true).
    #[serde(default = "yes")]
    pub service_principals: bool,
    /// Certificates on each application and each service principal (default 1).
    #[serde(default = "one")]
    pub keys_per_object: u32,
    /// Client secrets on each application (default 1).
    #[serde(default = "one")]
    pub secrets_per_object: u32,
    /// Credentials end between `-spread/10` and `+spread` days from now, uniformly (default 365): about a
    /// tenth has expired.
    #[serde(default = "year")]
    pub expiry_spread_days: u32,
    /// Seed of the generator: the same seed gives the same ids, names and dates (default 1).
    #[serde(default = "one_u64")]
    pub seed: u64,
    /// Display names are `{prefix} {n:06}` (default "seeded app").
    #[serde(default = "seed_prefix")]
    pub display_name_prefix: String,
    /// Owning service principals of every seeded application (for Application.ReadWrite.OwnedBy scans).
    #[serde(default)]
    pub owners: Vec<Uuid>,
}

impl BulkSeed {
    /// A seed of `count` applications with every other setting at its default.
    pub fn with_count(count: u32) -> Self {
        BulkSeed {
            count,
            tenant: None,
            service_principals: true,
            keys_per_object: 1,
            secrets_per_object: 1,
            expiry_spread_days: 365,
            seed: 1,
            display_name_prefix: seed_prefix(),
            owners: Vec::new(),
        }
    }
}

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}
fn one_u64() -> u64 {
    1
}
fn year() -> u32 {
    365
}
fn seed_prefix() -> String {
    "seeded app".to_owned()
}

/// The largest seed: the emulator keeps its state in one SQLite database, in memory by default.
pub const MAX_SEED_COUNT: u32 = 1_000_000;
/// Credentials of each kind per seeded object, at most.
pub const MAX_SEED_CREDENTIALS: u32 = 16;
/// The widest spread of expiry, in days.
pub const MAX_SEED_SPREAD_DAYS: u32 = 3650;

/// What a seed created.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedReport {
    /// The tenant.
    pub tenant_id: Uuid,
    /// Applications created.
    pub applications: u64,
    /// Service principals created.
    pub service_principals: u64,
    /// Key credentials created.
    pub key_credentials: u64,
    /// Password credentials created.
    pub password_credentials: u64,
    /// Time taken, in milliseconds.
    pub milliseconds: u64,
}

/// splitmix64: a small, fast, seedable generator; seeds need reproducibility, not secrecy.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uuid(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        let span = u64::try_from(hi - lo).unwrap_or(0) + 1;
        lo + i64::try_from(self.next() % span).unwrap_or(0)
    }
}

/// The certificates seeded keys share: making 100,000 RSA keys would take minutes, and an inventory reads
/// dates and ids, not key material. Each valid for 20 years from 5 years ago, so that every seeded key's
/// dates lie inside its certificate's.
fn seed_certificates() -> Result<&'static [Certificate], ApiError> {
    static CERTS: std::sync::OnceLock<Vec<Certificate>> = std::sync::OnceLock::new();
    if let Some(c) = CERTS.get() {
        return Ok(c);
    }
    let start = OffsetDateTime::now_utc() - Duration::days(5 * 365);
    let made = (0..4)
        .map(|n| {
            keyroll_proto::cert::generate::self_signed_rsa(
                &format!("keyroll seeded certificate {n}"),
                start,
                20 * 365,
                2048,
            )
            .map(|g| g.certificate)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal(format!("making the seed certificates: {e}")))?;
    Ok(CERTS.get_or_init(|| made))
}

/// Generates the objects of a seed, one application (then its service principal) at a time, so that the
/// whole seed is never held in memory.
struct SeedObjects<'a> {
    req: &'a BulkSeed,
    tenant: Uuid,
    certs: &'a [Certificate],
    now: OffsetDateTime,
    rng: SplitMix,
    next: u32,
    pending_sp: Option<BulkObject>,
    keys: u64,
    secrets: u64,
}

impl SeedObjects<'_> {
    fn end_date(&mut self) -> OffsetDateTime {
        let spread = i64::from(self.req.expiry_spread_days.max(1));
        self.now
            + Duration::days(self.rng.between(-spread / 10, spread))
            + Duration::seconds(self.rng.between(0, 86_399))
    }

    fn keys_for(&mut self) -> Vec<KeyCredential> {
        (0..self.req.keys_per_object)
            .map(|_| {
                let index = usize::try_from(self.rng.next() % self.certs.len() as u64).unwrap_or(0);
                let cert = &self.certs[index];
                let end = self.end_date().min(cert.not_after());
                let start = (end - Duration::days(365)).max(cert.not_before());
                self.keys += 1;
                KeyCredential {
                    key_id: Some(self.rng.uuid()),
                    key_type: Some("AsymmetricX509Cert".into()),
                    usage: Some("Verify".into()),
                    display_name: Some(format!("CN=keyroll seeded certificate {index}")),
                    start_date_time: Some(start),
                    end_date_time: Some(end),
                    custom_key_identifier: Some(cert.sha1().to_vec()),
                    key: Some(cert.der().to_vec()),
                }
            })
            .collect()
    }

    fn secrets_for(&mut self) -> Vec<NewPassword> {
        const HINT: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~.";
        (0..self.req.secrets_per_object)
            .map(|n| {
                let end = self.end_date();
                self.secrets += 1;
                let hint: String = (0..3)
                    .map(|_| char::from(HINT[usize::try_from(self.rng.next() % 64).unwrap_or(0)]))
                    .collect();
                NewPassword {
                    key_id: self.rng.uuid(),
                    display_name: Some(format!("seeded secret {n}")),
                    hint: Some(hint),
                    start: Some(end - Duration::days(180)),
                    end: Some(end),
                    custom_key_identifier: None,
                    secret_sha256: None,
                }
            })
            .collect()
    }
}

impl Iterator for SeedObjects<'_> {
    type Item = BulkObject;

    fn next(&mut self) -> Option<BulkObject> {
        if let Some(sp) = self.pending_sp.take() {
            return Some(sp);
        }
        if self.next >= self.req.count {
            return None;
        }
        self.next += 1;
        let app_id = self.rng.uuid();
        let name = format!("{} {:06}", self.req.display_name_prefix, self.next);
        let created = self.now - Duration::days(self.rng.between(0, 3 * 365));
        let object = |id, kind, owners: Vec<Uuid>| DirectoryObject {
            id,
            kind,
            tenant_id: self.tenant,
            app_id,
            display_name: name.clone(),
            roles: Vec::new(),
            owners,
            managed_identity: false,
            created,
        };
        let app = object(
            self.rng.uuid(),
            ObjectKind::Application,
            self.req.owners.clone(),
        );
        let sp = self
            .req
            .service_principals
            .then(|| object(self.rng.uuid(), ObjectKind::ServicePrincipal, Vec::new()));
        let app_keys = self.keys_for();
        let app_secrets = self.secrets_for();
        if let Some(sp) = sp {
            let keys = self.keys_for();
            self.pending_sp = Some(BulkObject {
                object: sp,
                keys,
                passwords: Vec::new(),
            });
        }
        Some(BulkObject {
            object: app,
            keys: app_keys,
            passwords: app_secrets,
        })
    }
}

/// Creates a bulk seed in one transaction; refuses a seed whose ids exist already (the same seed twice).
pub fn seed_objects(state: &Emulator, req: &BulkSeed) -> Result<SeedReport, ApiError> {
    if req.count == 0 || req.count > MAX_SEED_COUNT {
        return Err(ApiError::bad_request(format!(
            "count must be between 1 and {MAX_SEED_COUNT}"
        )));
    }
    if req.keys_per_object > MAX_SEED_CREDENTIALS || req.secrets_per_object > MAX_SEED_CREDENTIALS {
        return Err(ApiError::bad_request(format!(
            "keysPerObject and secretsPerObject must be at most {MAX_SEED_CREDENTIALS}"
        )));
    }
    if req.expiry_spread_days > MAX_SEED_SPREAD_DAYS {
        return Err(ApiError::bad_request(format!(
            "expirySpreadDays must be at most {MAX_SEED_SPREAD_DAYS}"
        )));
    }
    let started = std::time::Instant::now();
    let tenant = req.tenant.unwrap_or(state.default_tenant);
    state
        .store
        .ensure_tenant(tenant, "keyroll emulator tenant")?;
    let certs = if req.keys_per_object > 0 {
        seed_certificates()?
    } else {
        &[]
    };
    let mut objects = SeedObjects {
        req,
        tenant,
        certs,
        now: state.now(),
        rng: SplitMix(req.seed),
        next: 0,
        pending_sp: None,
        keys: 0,
        secrets: 0,
    };
    let created = state.store.seed_bulk(&mut objects).map_err(|e| match e {
        crate::error::StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            ApiError::graph(
                StatusCode::CONFLICT,
                "Request_BadRequest",
                format!(
                    "objects of seed {} exist already in this state: seed with another \"seed\" value",
                    req.seed
                ),
            )
        }
        other => ApiError::from(other),
    })?;
    let service_principals = if req.service_principals {
        created / 2
    } else {
        0
    };
    Ok(SeedReport {
        tenant_id: tenant,
        applications: created - service_principals,
        service_principals,
        key_credentials: objects.keys,
        password_credentials: objects.secrets,
        milliseconds: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// `POST /_emulator/seed`: see [`BulkSeed`]; answers 201 with a [`SeedReport`].
pub async fn seed(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: BulkSeed = admin_json(&headers, &body)?;
    // Seconds of SQLite work: off the async workers, so other requests go on being served.
    let report = tokio::task::spawn_blocking(move || seed_objects(&state, &req))
        .await
        .map_err(|e| ApiError::internal(format!("the seed task failed: {e}")))??;
    Ok((StatusCode::CREATED, axum::Json(report)).into_response())
}
