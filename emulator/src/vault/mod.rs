//! Azure Key Vault's data plane, as far as rolling a certificate whose private key never leaves the vault
//! needs it: one vault served at the emulator's root URL (`vault_url` is the same origin as `graph_url`),
//! so that key identifiers have the service's shape `https://host/keys/{name}/{version}` that Microsoft's
//! clients parse.
//!
//! * `GET /certificates/{name}[/{version}]`, `GET /certificates/{name}/versions` (paged with `maxresults`
//!   and `nextLink`), `POST /certificates/{name}/create` (202 and a pending operation),
//!   `GET /certificates/{name}/pending`;
//! * `GET /keys/{name}[/{version}]` (the public JWK only) and `POST /keys/{name}/{version}/sign` (RS256/384/512,
//!   PS256/384/512 over an RSA key, ES256/ES384 over an EC key; the digest is signed, as the service does).
//!
//! Every request needs a bearer token the emulator issued for `https://vault.azure.net` in the vault's tenant
//! (the emulator's default tenant): without one the answer is the service's 401 challenge,
//! `WWW-Authenticate: Bearer authorization="{login_url}/{tenant}", resource="https://vault.azure.net"`. The
//! caller (the token's `oid` or `appid`) then needs the access policy's permission for the operation —
//! `keys/get`, `keys/sign`, `certificates/get`, `certificates/list`, `certificates/create` — granted through
//! `POST /_emulator/vault/grants`; without it the answer is the service's 403 naming the permission.
//!
//! Private keys are generated here, kept in the state store (so they survive a restart with `--state`) and
//! used here only: no endpoint returns one (there is no `/secrets` endpoint, and keys are shown as their
//! public JWK), whatever the policy's `exportable` says.
//!
//! Not emulated: secrets, key creation or import outside certificates, merge, cancel and delete of pending
//! operations, issuers other than `Self` and `Unknown`, certificate and key updates, deletion and recovery,
//! RBAC (the access-policy model only), tags, contacts, and the `Retry-After` of pending operations.

pub mod crypto;
pub mod store;

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyroll_proto::b64;
use keyroll_proto::cert::Certificate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{DIAGNOSTIC_HEADER, StoreError};
use crate::state::SharedState;
use crate::tokens::{AccessClaims, Resource, TokenError, VAULT_RESOURCE};
use crypto::{Curve, KeySpec, SignAlg, SignRefusal};
use store::{VaultCertificate, VaultKey};

/// The vault's name in the service's texts (its 403 names the vault as `{name};location={location}`).
pub const VAULT_NAME: &str = "keyroll-emulator";
/// The vault's location in the service's texts.
pub const VAULT_LOCATION: &str = "local";
/// The recovery level every object shows (soft delete with purge, the service's default).
const RECOVERY_LEVEL: &str = "Recoverable+Purgeable";
/// The most items of a page (`maxresults`), as the service allows.
const MAX_PAGE: usize = 25;
/// The service's status details of a pending operation that the issuer is working on.
const IN_PROGRESS_DETAILS: &str = "Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later.";
/// The service's status details of a pending operation that waits for a merge (issuer `Unknown`).
const MERGE_DETAILS: &str =
    "Pending certificate created. Please Perform Merge to complete the request.";

/// How the emulated vault behaves where the service takes its own time or refuses for its own reasons.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VaultSettings {
    /// Reads of a self-issued certificate's pending operation that still answer `inProgress`; the next
    /// read issues the certificate and answers `completed` (default 1: one `inProgress`, then `completed`).
    #[serde(default = "one")]
    pub self_issue_polls: u32,
    /// The next N authenticated data-plane requests answer the service's 429 (`Throttled`); counts down.
    #[serde(default)]
    pub throttle: u32,
    /// Seconds of `Retry-After` on those 429s; none by default (the service's 429 may come without one).
    #[serde(default)]
    pub throttle_retry_after: Option<f64>,
}

fn one() -> u32 {
    1
}

impl Default for VaultSettings {
    fn default() -> Self {
        VaultSettings {
            self_issue_polls: 1,
            throttle: 0,
            throttle_retry_after: None,
        }
    }
}

/// The vault's part of the emulator's state (its objects live in the store).
#[derive(Debug, Default)]
pub struct VaultState {
    settings: Mutex<VaultSettings>,
}

impl VaultState {
    /// The current settings.
    pub fn settings(&self) -> VaultSettings {
        self.settings.lock().map(|s| *s).unwrap_or_default()
    }

    /// Replaces the settings.
    pub fn set(&self, settings: VaultSettings) {
        if let Ok(mut s) = self.settings.lock() {
            *s = settings;
        }
    }

    /// Counts one request against [`VaultSettings::throttle`]: `Some(retry_after)` when it is throttled.
    fn take_throttle(&self) -> Option<Option<f64>> {
        let mut s = self.settings.lock().ok()?;
        (s.throttle > 0).then(|| {
            s.throttle -= 1;
            s.throttle_retry_after
        })
    }
}

/// A data-plane permission of the vault's access policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `keys/get`: read a key's public part.
    KeysGet,
    /// `keys/sign`: sign a digest.
    KeysSign,
    /// `certificates/get`: read a certificate or its pending operation.
    CertificatesGet,
    /// `certificates/list`: list a certificate's versions.
    CertificatesList,
    /// `certificates/create`: create a certificate (or its next version).
    CertificatesCreate,
}

impl Permission {
    /// Every permission, for the admin API's refusal of an unknown one.
    pub const ALL: [Permission; 5] = [
        Permission::KeysGet,
        Permission::KeysSign,
        Permission::CertificatesGet,
        Permission::CertificatesList,
        Permission::CertificatesCreate,
    ];

    /// `kind/operation`, as grants name it.
    pub fn name(self) -> &'static str {
        match self {
            Permission::KeysGet => "keys/get",
            Permission::KeysSign => "keys/sign",
            Permission::CertificatesGet => "certificates/get",
            Permission::CertificatesList => "certificates/list",
            Permission::CertificatesCreate => "certificates/create",
        }
    }

    /// Whether `granted` (a grant's entry: a permission, or `keys/all` / `certificates/all`) covers this.
    fn granted_by(self, granted: &str) -> bool {
        let name = self.name();
        let kind = name.split('/').next().unwrap_or(name);
        granted.eq_ignore_ascii_case(name) || granted.eq_ignore_ascii_case(&format!("{kind}/all"))
    }

    /// Whether a grant's entry names a permission the vault knows.
    pub fn valid_grant(entry: &str) -> bool {
        entry.eq_ignore_ascii_case("keys/all")
            || entry.eq_ignore_ascii_case("certificates/all")
            || Permission::ALL
                .iter()
                .any(|p| p.name().eq_ignore_ascii_case(entry))
    }
}

/// A refusal in Key Vault's envelope: `{"error":{"code","message","innererror":{"code"}}}`, with the 401
/// challenge when there is one. Texts never carry a token or key.
#[derive(Debug, Clone)]
pub struct VaultError {
    /// HTTP status.
    pub status: StatusCode,
    /// The service's `error.code`.
    pub code: &'static str,
    /// The service's `error.message`.
    pub message: String,
    /// The service's `error.innererror.code`, where it gives one.
    pub inner: Option<&'static str>,
    /// `WWW-Authenticate` of a 401.
    pub challenge: Option<Box<str>>,
    /// `Retry-After` seconds of a 429.
    pub retry_after: Option<f64>,
    /// The emulator's reason, in its diagnostic header.
    pub diagnostic: Option<Box<str>>,
}

impl VaultError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        VaultError {
            status,
            code,
            message: message.into(),
            inner: None,
            challenge: None,
            retry_after: None,
            diagnostic: None,
        }
    }

    fn bad_parameter(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadParameter", message)
    }

    fn with_diagnostic(mut self, text: impl Into<String>) -> Self {
        self.diagnostic = Some(text.into().into_boxed_str());
        self
    }

    /// 404 `CertificateNotFound`, the service's text.
    fn certificate_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "CertificateNotFound",
            format!(
                "A certificate with (name/id) {id} was not found in this key vault. If you recently deleted this certificate you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
            ),
        )
    }

    /// 404 `KeyNotFound`, the service's text.
    fn key_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "KeyNotFound",
            format!(
                "A key with (name/id) {id} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
            ),
        )
    }
}

impl From<StoreError> for VaultError {
    fn from(e: StoreError) -> Self {
        VaultError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "The emulator failed to process the request.",
        )
        .with_diagnostic(e.to_string())
    }
}

impl IntoResponse for VaultError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(inner) = self.inner {
            error["innererror"] = json!({"code": inner});
        }
        let mut resp = (self.status, axum::Json(json!({ "error": error }))).into_response();
        if let Some(v) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        if let Some(v) = self
            .retry_after
            .and_then(|secs| HeaderValue::from_str(&crate::error::format_retry_after(secs)).ok())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if let Some(v) = self
            .diagnostic
            .map(|d| d.replace(|c: char| !c.is_ascii() || c.is_ascii_control(), "?"))
            .and_then(|d| HeaderValue::from_str(&d).ok())
        {
            resp.headers_mut().insert(DIAGNOSTIC_HEADER, v);
        }
        resp
    }
}

/// The bearer token of a request, `None` when there is none.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    match value.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => {
            Some(t.trim())
        }
        _ => None,
    }
}

/// Checks the caller's token (401 with the challenge when it is missing or not for this vault) and its
/// permission (403 naming it), in the service's order: who, then what.
fn authorize(
    state: &SharedState,
    headers: &HeaderMap,
    permission: Permission,
) -> Result<AccessClaims, VaultError> {
    let origin = state.origin(headers);
    let tenant = state.default_tenant;
    let unauthorized = |message: String, diagnostic: String| VaultError {
        challenge: Some(
            format!("Bearer authorization=\"{origin}/{tenant}\", resource=\"{VAULT_RESOURCE}\"")
                .into_boxed_str(),
        ),
        ..VaultError::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
            .with_diagnostic(diagnostic)
    };
    let Some(token) = bearer(headers) else {
        return Err(unauthorized(
            "AKV10000: Request is missing a Bearer or PoP token.".to_owned(),
            "no Authorization: Bearer header".to_owned(),
        ));
    };
    let claims = state
        .signer
        .verify_for(token, state.now(), Resource::Vault)
        .map_err(|e| match &e {
            TokenError::Audience { found, .. } => unauthorized(
                format!("AKV10022: Invalid audience. Expected {VAULT_RESOURCE}, found: {found}."),
                e.to_string(),
            ),
            TokenError::Lifetime => unauthorized(
                "AKV10000: The access token has expired.".to_owned(),
                e.to_string(),
            ),
            TokenError::Malformed | TokenError::Signature => unauthorized(
                "AKV10000: Request is missing a Bearer or PoP token.".to_owned(),
                e.to_string(),
            ),
        })?;
    if claims.tid != tenant {
        return Err(unauthorized(
            format!(
                "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{tenant}/, found https://sts.windows.net/{}/.",
                claims.tid
            ),
            format!(
                "the token is for tenant {}, the vault is in {tenant}",
                claims.tid
            ),
        ));
    }
    if let Some(retry_after) = state.vault.take_throttle() {
        return Err(VaultError {
            retry_after,
            ..VaultError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Throttled",
                "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
            )
            .with_diagnostic("throttled by PUT /_emulator/vault/settings {\"throttle\": N}")
        });
    }
    let mut granted = state.store.vault_grant(&claims.oid.to_string())?;
    granted.extend(state.store.vault_grant(&claims.appid.to_string())?);
    if !granted.iter().any(|g| permission.granted_by(g)) {
        let (kind, op) = permission.name().split_once('/').unwrap_or(("", ""));
        return Err(VaultError {
            inner: Some("AccessDenied"),
            ..VaultError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!(
                    "The user, group or application 'appid={};oid={};iss=https://sts.windows.net/{}/' does not have {kind} {op} permission on key vault '{VAULT_NAME};location={VAULT_LOCATION}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
                    claims.appid, claims.oid, claims.tid
                ),
            )
            .with_diagnostic(format!(
                "grant {} with POST /_emulator/vault/grants",
                permission.name()
            ))
        });
    }
    Ok(claims)
}

/// The `api-version` every data-plane request carries (any version is served: the shapes used here are the
/// same from 7.0 on).
fn api_version(query: &HashMap<String, String>) -> Result<String, VaultError> {
    query
        .get("api-version")
        .filter(|v| !v.is_empty())
        .cloned()
        .ok_or_else(|| {
            VaultError::bad_parameter("The api-version query parameter is missing.")
                .with_diagnostic("add ?api-version=7.4 (or another version)")
        })
}

/// Whether `name` is a valid object name: 1 to 127 letters, digits and dashes.
fn valid_name(name: &str) -> bool {
    (1..=127).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn check_name(name: &str) -> Result<(), VaultError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(VaultError::bad_parameter(format!(
            "The name '{name}' is not valid: object names are 1 to 127 letters, digits and dashes."
        )))
    }
}

/// A new object version: 32 lower-case hex digits, as the service draws them.
fn new_version() -> String {
    Uuid::new_v4().simple().to_string()
}

fn attributes_of(cer: Option<&Certificate>, created: i64, updated: i64) -> Value {
    let mut a = json!({
        "enabled": cer.is_some(),
        "created": created,
        "updated": updated,
        "recoveryLevel": RECOVERY_LEVEL,
        "recoverableDays": 90,
    });
    if let Some(c) = cer {
        a["nbf"] = json!(c.not_before().unix_timestamp());
        a["exp"] = json!(c.not_after().unix_timestamp());
    }
    a
}

fn parsed(c: &VaultCertificate) -> Result<Option<Certificate>, VaultError> {
    c.cer
        .as_deref()
        .map(Certificate::from_der)
        .transpose()
        .map_err(|e| {
            VaultError::from(StoreError::Corrupt {
                what: "vault certificate",
                reason: e.to_string(),
            })
        })
}

fn policy_json(origin: &str, c: &VaultCertificate) -> Value {
    let mut p = c.policy.clone();
    p["id"] = json!(format!("{origin}/certificates/{}/policy", c.name));
    p
}

/// The certificate bundle of `GET /certificates/{name}`: `cer` and `x5t` only once issued.
fn certificate_bundle(origin: &str, c: &VaultCertificate) -> Result<Value, VaultError> {
    let cert = parsed(c)?;
    let mut v = json!({
        "id": format!("{origin}/certificates/{}/{}", c.name, c.version),
        "kid": format!("{origin}/keys/{}/{}", c.name, c.version),
        "sid": format!("{origin}/secrets/{}/{}", c.name, c.version),
        "attributes": attributes_of(cert.as_ref(), c.created, c.updated),
        "policy": policy_json(origin, c),
        "tags": {},
    });
    if let (Some(cert), Some(der)) = (&cert, &c.cer) {
        v["x5t"] = json!(cert.x5t());
        v["cer"] = json!(b64::encode_std(der));
    } else {
        v["pending"] = json!({"id": format!("{origin}/certificates/{}/pending", c.name)});
    }
    Ok(v)
}

/// The pending operation of a certificate version, as `create` and `pending` show it.
fn operation(origin: &str, c: &VaultCertificate) -> Value {
    let mut v = json!({
        "id": format!("{origin}/certificates/{}/pending", c.name),
        "issuer": {"name": c.issuer},
        "cancellation_requested": false,
        "status": c.status,
        "request_id": c.request_id,
    });
    if let Some(csr) = &c.csr {
        v["csr"] = json!(b64::encode_std(csr));
    }
    if c.status == "completed" {
        v["target"] = json!(format!("{origin}/certificates/{}", c.name));
    } else if c.issuer.eq_ignore_ascii_case("Unknown") {
        v["status_details"] = json!(MERGE_DETAILS);
    } else {
        v["status_details"] = json!(IN_PROGRESS_DETAILS);
    }
    v
}

fn certificate_or_404(
    state: &SharedState,
    name: &str,
    version: Option<&str>,
) -> Result<VaultCertificate, VaultError> {
    state
        .store
        .vault_certificate(name, version)?
        .ok_or_else(|| {
            VaultError::certificate_not_found(&match version {
                Some(v) => format!("{name}/{v}"),
                None => name.to_owned(),
            })
        })
}

/// `GET /certificates/{name}`: the latest version.
pub async fn get_certificate(
    State(state): State<SharedState>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, VaultError> {
    authorize(&state, &headers, Permission::CertificatesGet)?;
    api_version(&query)?;
    let c = certificate_or_404(&state, &name, None)?;
    Ok(axum::Json(certificate_bundle(&state.origin(&headers), &c)?).into_response())
}

/// `GET /certificates/{name}/{version}`.
pub async fn get_certificate_version(
    State(state): State<SharedState>,
    Path((name, version)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, VaultError> {
    authorize(&state, &headers, Permission::CertificatesGet)?;
    api_version(&query)?;
    // An empty version (`/certificates/{name}/`) names the latest, as the service reads it.
    let version = Some(version.as_str()).filter(|v| !v.is_empty());
    let c = certificate_or_404(&state, &name, version)?;
    Ok(axum::Json(certificate_bundle(&state.origin(&headers), &c)?).into_response())
}

/// `GET /certificates/{name}/versions[?maxresults=N][&$skiptoken=K]`: a page of the versions, oldest first,
/// with `nextLink` to the next page (`null` on the last).
pub async fn list_certificate_versions(
    State(state): State<SharedState>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, VaultError> {
    authorize(&state, &headers, Permission::CertificatesList)?;
    let api = api_version(&query)?;
    let page = match query.get("maxresults") {
        None => MAX_PAGE,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                VaultError::bad_parameter(format!(
                    "maxresults must be between 1 and {MAX_PAGE}, not '{m}'."
                ))
            })?,
    };
    let skip = match query.get("$skiptoken") {
        None => 0,
        Some(s) => s.parse::<usize>().map_err(|_| {
            VaultError::bad_parameter(format!("The $skiptoken '{s}' is not valid."))
        })?,
    };
    let origin = state.origin(&headers);
    let all = state.store.vault_certificate_versions(&name)?;
    let mut value = Vec::new();
    for c in all.iter().skip(skip).take(page) {
        let cert = parsed(c)?;
        let mut item = json!({
            "id": format!("{origin}/certificates/{}/{}", c.name, c.version),
            "attributes": attributes_of(cert.as_ref(), c.created, c.updated),
            "tags": {},
        });
        if let Some(cert) = &cert {
            item["x5t"] = json!(cert.x5t());
        }
        value.push(item);
    }
    let next = (skip + page < all.len()).then(|| {
        format!(
            "{origin}/certificates/{name}/versions?api-version={api}&$skiptoken={}&maxresults={page}",
            skip + page
        )
    });
    Ok(axum::Json(json!({"value": value, "nextLink": next})).into_response())
}

/// The parts of a certificate policy the emulator reads; the rest is kept as sent.
#[derive(Debug, Default, Deserialize)]
struct CreateBody {
    #[serde(default)]
    policy: Option<Value>,
}

/// A policy checked and completed with the service's defaults.
struct CheckedPolicy {
    spec: KeySpec,
    subject: String,
    issuer: String,
    reuse_key: bool,
    /// As the service shows it afterwards.
    json: Value,
}

fn check_policy(policy: Option<&Value>, now: i64) -> Result<CheckedPolicy, VaultError> {
    let empty = json!({});
    let policy = policy.unwrap_or(&empty);
    if !policy.is_object() {
        return Err(VaultError::bad_parameter(
            "The policy must be a JSON object.",
        ));
    }
    let key_props = &policy["key_props"];
    let kty = key_props["kty"].as_str().unwrap_or("RSA");
    let spec = match kty {
        "RSA" | "RSA-HSM" => {
            let size = key_props["key_size"].as_u64().unwrap_or(2048);
            if !matches!(size, 2048 | 3072 | 4096) {
                return Err(VaultError::bad_parameter(format!(
                    "The key size {size} is not supported for RSA keys; use 2048, 3072 or 4096."
                )));
            }
            KeySpec::Rsa(u32::try_from(size).unwrap_or(2048))
        }
        "EC" | "EC-HSM" => {
            let crv = key_props["crv"].as_str().unwrap_or("P-256");
            KeySpec::Ec(Curve::parse(crv).ok_or_else(|| {
                VaultError::bad_parameter(format!(
                    "The curve '{crv}' is not supported by the emulator; use P-256 or P-384."
                ))
            })?)
        }
        other => {
            return Err(VaultError::bad_parameter(format!(
                "The key type '{other}' is not valid for a certificate; use RSA or EC."
            )));
        }
    };
    let x509 = &policy["x509_props"];
    let subject = x509["subject"]
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            VaultError::bad_parameter("The policy's x509_props must name a subject (e.g. CN=app).")
        })?
        .to_owned();
    crypto::check_subject(&subject).map_err(|e| {
        VaultError::bad_parameter(format!("The subject '{subject}' is not valid: {e}."))
    })?;
    let validity_months = match x509["validity_months"].as_u64() {
        None => 12,
        Some(m) if (1..=1200).contains(&m) => u32::try_from(m).unwrap_or(12),
        Some(m) => {
            return Err(VaultError::bad_parameter(format!(
                "validity_months {m} is not valid; give between 1 and 1200."
            )));
        }
    };
    let issuer_name = policy["issuer"]["name"].as_str().unwrap_or("Self");
    let issuer = if issuer_name.eq_ignore_ascii_case("Self") {
        "Self"
    } else if issuer_name.eq_ignore_ascii_case("Unknown") {
        "Unknown"
    } else {
        return Err(VaultError::bad_parameter(format!(
            "The issuer '{issuer_name}' is not one the emulator serves; use Self or Unknown."
        )));
    };
    let exportable = key_props["exportable"].as_bool().unwrap_or(true);
    let reuse_key = key_props["reuse_key"].as_bool().unwrap_or(false);
    let mut key_json = json!({
        "exportable": exportable,
        "kty": spec.kty(),
        "reuse_key": reuse_key,
    });
    match spec {
        KeySpec::Rsa(bits) => key_json["key_size"] = json!(bits),
        KeySpec::Ec(c) => key_json["crv"] = json!(c.name()),
    }
    let mut x509_json = json!({"subject": subject, "validity_months": validity_months});
    for field in ["sans", "ekus", "key_usage"] {
        if !x509[field].is_null() {
            x509_json[field] = x509[field].clone();
        }
    }
    let mut json = json!({
        "key_props": key_json,
        "secret_props": {"contentType": policy["secret_props"]["contentType"].as_str().unwrap_or("application/x-pkcs12")},
        "x509_props": x509_json,
        "issuer": {"name": issuer},
        "attributes": {"enabled": true, "created": now, "updated": now},
    });
    if !policy["lifetime_actions"].is_null() {
        json["lifetime_actions"] = policy["lifetime_actions"].clone();
    }
    Ok(CheckedPolicy {
        spec,
        subject,
        issuer: issuer.to_owned(),
        reuse_key,
        json,
    })
}

/// `POST /certificates/{name}/create`: a new version (the first, or the next of an existing certificate)
/// with a new key (or the latest key of the same type with `reuse_key`), pending until its issuer
/// completes it: 202 with the pending operation and its `Location`.
pub async fn create_certificate(
    State(state): State<SharedState>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, VaultError> {
    authorize(&state, &headers, Permission::CertificatesCreate)?;
    let api = api_version(&query)?;
    check_name(&name)?;
    let req: CreateBody = serde_json::from_slice(&body).map_err(|e| {
        VaultError::bad_parameter(format!("The request body is not a valid JSON object: {e}."))
    })?;
    let now = state.now().unix_timestamp();
    let policy = check_policy(req.policy.as_ref(), now)?;
    let latest = state.store.vault_certificate(&name, None)?;
    if let Some(l) = &latest
        && l.cer.is_none()
    {
        return Err(VaultError::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!(
                "There is already a pending operation for certificate '{}'; it must complete before a new version is created.",
                l.name
            ),
        ));
    }
    let name = latest.as_ref().map_or(name, |l| l.name.clone());
    let reused = if policy.reuse_key {
        state
            .store
            .vault_key(&name, None)?
            .filter(|k| k.spec == policy.spec)
    } else {
        None
    };
    let (spec, subject) = (policy.spec, policy.subject.clone());
    // RSA key generation takes tens to hundreds of milliseconds (4096 bits): off the async workers, so that
    // other requests go on being served meanwhile.
    let (pkcs8, csr) = tokio::task::spawn_blocking(move || {
        let pkcs8 = match reused {
            Some(k) => k.pkcs8,
            None => crypto::generate(spec).map_err(|e| {
                VaultError::from(StoreError::Corrupt {
                    what: "new vault key",
                    reason: e.to_string(),
                })
            })?,
        };
        let csr = crypto::csr(spec, &pkcs8, &subject).map_err(|e| {
            VaultError::bad_parameter(format!("The certificate request could not be made: {e}."))
        })?;
        Ok::<_, VaultError>((pkcs8, csr))
    })
    .await
    .map_err(|e| {
        VaultError::from(StoreError::Corrupt {
            what: "vault task",
            reason: e.to_string(),
        })
    })??;
    let version = new_version();
    let cert = VaultCertificate {
        name: name.clone(),
        version: version.clone(),
        cer: None,
        csr: Some(csr),
        policy: policy.json.clone(),
        issuer: policy.issuer.clone(),
        status: "inProgress".to_owned(),
        request_id: new_version(),
        polls: 0,
        created: now,
        updated: now,
    };
    let key = VaultKey {
        name: name.clone(),
        version,
        spec: policy.spec,
        pkcs8,
        managed: true,
        created: now,
    };
    state.store.vault_insert(&cert, &key)?;
    let origin = state.origin(&headers);
    let mut resp = (StatusCode::ACCEPTED, axum::Json(operation(&origin, &cert))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{origin}/certificates/{name}/pending?api-version={api}&request_id={}",
        cert.request_id
    )) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// Adds `months` calendar months to `t`, keeping the day where the month has it (else its last day).
fn add_months(t: OffsetDateTime, months: u32) -> OffsetDateTime {
    let total = i64::from(t.month() as u8) - 1 + i64::from(months);
    let year = t.year() + i32::try_from(total / 12).unwrap_or(0);
    let month = time::Month::try_from(u8::try_from(total % 12 + 1).unwrap_or(1))
        .unwrap_or(time::Month::January);
    let mut day = t.day();
    loop {
        if let Ok(date) = time::Date::from_calendar_date(year, month, day) {
            return t.replace_date(date);
        }
        if day <= 28 {
            return t;
        }
        day -= 1;
    }
}

/// Issues a pending self-issued version: a certificate for its key, valid from now for the policy's months.
fn issue(state: &SharedState, c: &VaultCertificate) -> Result<VaultCertificate, VaultError> {
    let key = state
        .store
        .vault_key(&c.name, Some(&c.version))?
        .ok_or_else(|| VaultError::key_not_found(&format!("{}/{}", c.name, c.version)))?;
    let subject = c.policy["x509_props"]["subject"]
        .as_str()
        .unwrap_or("CN=keyroll");
    let months = c.policy["x509_props"]["validity_months"]
        .as_u64()
        .and_then(|m| u32::try_from(m).ok())
        .unwrap_or(12);
    let now = state.now();
    let der = crypto::self_signed(key.spec, &key.pkcs8, subject, now, add_months(now, months))
        .map_err(|e| {
            VaultError::from(StoreError::Corrupt {
                what: "vault certificate",
                reason: e.to_string(),
            })
        })?;
    state
        .store
        .vault_issue(&c.name, &c.version, &der, now.unix_timestamp())?;
    // Read back: a concurrent poll may have issued it first, and its certificate is the one kept.
    certificate_or_404(state, &c.name, Some(&c.version))
}

/// `GET /certificates/{name}/pending`: the latest version's operation. A self-issued one completes after
/// [`VaultSettings::self_issue_polls`] reads answered `inProgress`; one for issuer `Unknown` stays
/// `inProgress` (it waits for a merge the emulator does not serve).
pub async fn get_pending(
    State(state): State<SharedState>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, VaultError> {
    authorize(&state, &headers, Permission::CertificatesGet)?;
    api_version(&query)?;
    let pending_not_found = || {
        VaultError::new(
            StatusCode::NOT_FOUND,
            "PendingCertificateNotFound",
            format!("Pending certificate not found: {name}"),
        )
    };
    let mut c = state
        .store
        .vault_certificate(&name, None)?
        .ok_or_else(pending_not_found)?;
    // Certificates put in through the admin API were never pending.
    if c.request_id.is_empty() {
        return Err(pending_not_found());
    }
    if c.status == "inProgress" && c.issuer == "Self" {
        let polls = state.store.vault_poll(&c.name, &c.version)?;
        if polls > i64::from(state.vault.settings().self_issue_polls) {
            c = issue(&state, &c)?;
        }
    }
    Ok(axum::Json(operation(&state.origin(&headers), &c)).into_response())
}

fn key_or_404(
    state: &SharedState,
    name: &str,
    version: Option<&str>,
) -> Result<VaultKey, VaultError> {
    state.store.vault_key(name, version)?.ok_or_else(|| {
        VaultError::key_not_found(&match version {
            Some(v) => format!("{name}/{v}"),
            None => name.to_owned(),
        })
    })
}

fn key_bundle(origin: &str, k: &VaultKey) -> Result<Value, VaultError> {
    let kid = format!("{origin}/keys/{}/{}", k.name, k.version);
    let jwk = crypto::public_jwk(k.spec, &k.pkcs8, &kid).map_err(|e| {
        VaultError::from(StoreError::Corrupt {
            what: "vault key",
            reason: e.to_string(),
        })
    })?;
    Ok(json!({
        "key": jwk,
        "attributes": {
            "enabled": true,
            "created": k.created,
            "updated": k.created,
            "recoveryLevel": RECOVERY_LEVEL,
            "recoverableDays": 90,
            "exportable": false,
        },
        "tags": {},
        "managed": k.managed,
    }))
}

/// `GET /keys/{name}`: the latest version's public JWK.
pub async fn get_key(
    State(state): State<SharedState>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, VaultError> {
    authorize(&state, &headers, Permission::KeysGet)?;
    api_version(&query)?;
    let k = key_or_404(&state, &name, None)?;
    Ok(axum::Json(key_bundle(&state.origin(&headers), &k)?).into_response())
}

/// `GET /keys/{name}/{version}`.
pub async fn get_key_version(
    State(state): State<SharedState>,
    Path((name, version)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, VaultError> {
    authorize(&state, &headers, Permission::KeysGet)?;
    api_version(&query)?;
    let version = Some(version.as_str()).filter(|v| !v.is_empty());
    let k = key_or_404(&state, &name, version)?;
    Ok(axum::Json(key_bundle(&state.origin(&headers), &k)?).into_response())
}

#[derive(Debug, Deserialize)]
struct SignBody {
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

fn sign_with(
    state: &SharedState,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    name: &str,
    version: Option<&str>,
    body: &[u8],
) -> Result<Response, VaultError> {
    authorize(state, headers, Permission::KeysSign)?;
    api_version(query)?;
    let req: SignBody = serde_json::from_slice(body).map_err(|e| {
        VaultError::bad_parameter(format!("The request body is not a valid JSON object: {e}."))
    })?;
    let (Some(alg_name), Some(value)) = (req.alg.as_deref(), req.value.as_deref()) else {
        return Err(VaultError::bad_parameter(
            "The request body must carry 'alg' and 'value'.",
        ));
    };
    let alg = SignAlg::parse(alg_name).ok_or_else(|| {
        VaultError::bad_parameter(format!(
            "The algorithm '{alg_name}' is not valid; the emulator signs with RS256, RS384, RS512, PS256, PS384, PS512, ES256 and ES384."
        ))
    })?;
    let digest = b64::decode_lenient(value)
        .map_err(|e| VaultError::bad_parameter(format!("The value is not base64url: {e}.")))?;
    let key = key_or_404(state, name, version)?;
    let origin = state.origin(headers);
    let kid = format!("{origin}/keys/{}/{}", key.name, key.version);
    let signature = crypto::sign(key.spec, &key.pkcs8, alg, &digest).map_err(|r| match r {
        SignRefusal::Incompatible => {
            let needs = if matches!(alg, SignAlg::Es256 | SignAlg::Es384) {
                "EC"
            } else {
                "RSA"
            };
            VaultError::bad_parameter(format!(
                "Key and signing algorithm are incompatible. Key {kid} is of type '{}', and algorithm '{}' can only be used with key type '{needs}'.",
                key.spec.kty(),
                alg.name()
            ))
        }
        SignRefusal::DigestLength { expected, found } => VaultError::bad_parameter(format!(
            "Invalid digest length for algorithm '{}': expected {expected} bytes, found {found}.",
            alg.name()
        )),
        SignRefusal::Key(reason) => VaultError::from(StoreError::Corrupt {
            what: "vault key",
            reason,
        }),
    })?;
    Ok(axum::Json(json!({"kid": kid, "value": b64::encode_url(&signature)})).into_response())
}

/// `POST /keys/{name}/{version}/sign` with `{"alg", "value"}` (`value`: the base64url digest): the
/// signature as `{"kid", "value"}`.
pub async fn sign(
    State(state): State<SharedState>,
    Path((name, version)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, VaultError> {
    let version = Some(version.as_str()).filter(|v| !v.is_empty());
    sign_with(&state, &headers, &query, &name, version, &body)
}

/// `POST /keys/{name}/sign`: with the latest version.
pub async fn sign_latest(
    State(state): State<SharedState>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, VaultError> {
    sign_with(&state, &headers, &query, &name, None, &body)
}

// ---- the admin API: `/_emulator/vault/...` ----

/// The body of `POST /_emulator/vault/certificates`: a certificate put straight into the vault (issued,
/// with its non-exportable key), for tests that register its public part on an application first.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PutCertificate {
    /// Certificate (and key) name; a new version when it exists.
    pub name: String,
    /// Subject (default `CN={name}`).
    #[serde(default)]
    pub subject: Option<String>,
    /// `RSA` (default) or `EC`.
    #[serde(default)]
    pub kty: Option<String>,
    /// RSA size: 2048 (default), 3072 or 4096.
    #[serde(default)]
    pub key_size: Option<u32>,
    /// EC curve: `P-256` (default) or `P-384`.
    #[serde(default)]
    pub curve: Option<String>,
    /// Days of validity (default 365).
    #[serde(default)]
    pub days_valid: Option<i64>,
    /// Start of validity (RFC 3339; default one day ago).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub not_before: Option<OffsetDateTime>,
    /// Make the certificate for a different key than the one kept under its name: the vault's key then
    /// signs what the certificate's public key does not verify (a client must notice).
    #[serde(default)]
    pub key_mismatch: bool,
    /// Leave the version pending, as a create for issuer `Unknown` does (no certificate yet: "not yet
    /// issued"); its key exists.
    #[serde(default)]
    pub pending: bool,
}

/// What `POST /_emulator/vault/certificates` answers: identifiers and the public certificate, never the key.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PutCertificateReport {
    /// Certificate id (`{vault}/certificates/{name}/{version}`).
    pub id: String,
    /// Key id (`{vault}/keys/{name}/{version}`).
    pub kid: String,
    /// Secret id, as the bundle shows it (the emulator serves no secrets).
    pub sid: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// SHA-1 thumbprint, base64url (`None` while pending).
    pub x5t: Option<String>,
    /// SHA-1 thumbprint, upper-case hex (`None` while pending).
    pub thumbprint: Option<String>,
    /// The certificate's DER, standard base64 (`None` while pending).
    pub cer: Option<String>,
}

fn admin_error(message: impl Into<String>) -> VaultError {
    VaultError::bad_parameter(message)
}

/// Puts a certificate into the vault (see [`PutCertificate`]).
pub fn put_certificate(
    state: &SharedState,
    origin: &str,
    req: &PutCertificate,
) -> Result<PutCertificateReport, VaultError> {
    check_name(&req.name)?;
    let spec = match req.kty.as_deref().unwrap_or("RSA") {
        "RSA" => match req.key_size.unwrap_or(2048) {
            size @ (2048 | 3072 | 4096) => KeySpec::Rsa(size),
            other => {
                return Err(admin_error(format!(
                    "keySize {other}: use 2048, 3072 or 4096"
                )));
            }
        },
        "EC" => {
            let crv = req.curve.as_deref().unwrap_or("P-256");
            KeySpec::Ec(
                Curve::parse(crv)
                    .ok_or_else(|| admin_error(format!("curve {crv}: use P-256 or P-384")))?,
            )
        }
        other => return Err(admin_error(format!("kty {other}: use RSA or EC"))),
    };
    let days = req.days_valid.unwrap_or(365);
    if !(1..=36_500).contains(&days) {
        return Err(admin_error(format!("daysValid {days}: give 1 to 36500")));
    }
    let subject = req
        .subject
        .clone()
        .unwrap_or_else(|| format!("CN={}", req.name));
    crypto::check_subject(&subject).map_err(|e| admin_error(format!("subject: {e}")))?;
    let now = state.now();
    let not_before = req.not_before.unwrap_or(now - time::Duration::days(1));
    let not_after = not_before + time::Duration::days(days);
    let internal = |e: crypto::CryptoError| {
        VaultError::from(StoreError::Corrupt {
            what: "vault key",
            reason: e.to_string(),
        })
    };
    if req.pending && req.key_mismatch {
        return Err(admin_error(
            "pending and keyMismatch exclude each other: a pending version has no certificate",
        ));
    }
    let pkcs8 = crypto::generate(spec).map_err(internal)?;
    let cer = if req.pending {
        None
    } else if req.key_mismatch {
        let other = crypto::generate(spec).map_err(internal)?;
        Some(crypto::self_signed(spec, &other, &subject, not_before, not_after).map_err(internal)?)
    } else {
        Some(crypto::self_signed(spec, &pkcs8, &subject, not_before, not_after).map_err(internal)?)
    };
    let csr = if req.pending {
        Some(crypto::csr(spec, &pkcs8, &subject).map_err(internal)?)
    } else {
        None
    };
    let parsed = cer
        .as_deref()
        .map(Certificate::from_der)
        .transpose()
        .map_err(|e| {
            VaultError::from(StoreError::Corrupt {
                what: "vault certificate",
                reason: e.to_string(),
            })
        })?;
    let name = state
        .store
        .vault_certificate(&req.name, None)?
        .map_or_else(|| req.name.clone(), |c| c.name);
    let version = new_version();
    let t = now.unix_timestamp();
    let policy = check_policy(
        Some(&json!({
            "key_props": {"kty": spec.kty(), "key_size": match spec { KeySpec::Rsa(b) => json!(b), KeySpec::Ec(_) => Value::Null },
                          "crv": match spec { KeySpec::Ec(c) => json!(c.name()), KeySpec::Rsa(_) => Value::Null },
                          "exportable": false, "reuse_key": false},
            "x509_props": {"subject": subject, "validity_months": (days / 30).clamp(1, 1200)},
            "issuer": {"name": if req.pending { "Unknown" } else { "Self" }},
        })),
        t,
    )?;
    let cert = VaultCertificate {
        name: name.clone(),
        version: version.clone(),
        cer: cer.clone(),
        csr,
        policy: policy.json,
        issuer: policy.issuer,
        status: if req.pending {
            "inProgress"
        } else {
            "completed"
        }
        .to_owned(),
        // A version put in issued was never pending: no operation to read.
        request_id: if req.pending {
            new_version()
        } else {
            String::new()
        },
        polls: 0,
        created: t,
        updated: t,
    };
    let key = VaultKey {
        name: name.clone(),
        version: version.clone(),
        spec,
        pkcs8,
        managed: true,
        created: t,
    };
    state.store.vault_insert(&cert, &key)?;
    Ok(PutCertificateReport {
        id: format!("{origin}/certificates/{name}/{version}"),
        kid: format!("{origin}/keys/{name}/{version}"),
        sid: format!("{origin}/secrets/{name}/{version}"),
        name,
        version,
        x5t: parsed.as_ref().map(Certificate::x5t),
        thumbprint: parsed.as_ref().map(Certificate::sha1_hex),
        cer: cer.as_deref().map(b64::encode_std),
    })
}

fn admin_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, VaultError> {
    serde_json::from_slice(body).map_err(|e| admin_error(format!("invalid body: {e}")))
}

/// `POST /_emulator/vault/certificates`: 201 with a [`PutCertificateReport`].
pub async fn admin_put_certificate(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, VaultError> {
    let req: PutCertificate = admin_body(&body)?;
    let origin = state.origin(&headers);
    // RSA key generation takes a while (seconds for 4096 bits): off the async workers.
    let report = tokio::task::spawn_blocking(move || put_certificate(&state, &origin, &req))
        .await
        .map_err(|e| {
            VaultError::from(StoreError::Corrupt {
                what: "vault task",
                reason: e.to_string(),
            })
        })??;
    Ok((StatusCode::CREATED, axum::Json(report)).into_response())
}

/// The body of `POST /_emulator/vault/grants`: the access policy's entry of one principal.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The object id (the token's `oid`: a service principal or managed identity) or client id (`appid`).
    pub principal: Uuid,
    /// `keys/get`, `keys/sign`, `certificates/get`, `certificates/list`, `certificates/create`, or
    /// `keys/all` / `certificates/all`; the list replaces the principal's (empty removes it).
    pub permissions: Vec<String>,
}

/// `POST /_emulator/vault/grants`: replaces a principal's permissions; answers them.
pub async fn admin_grant(
    State(state): State<SharedState>,
    body: Bytes,
) -> Result<Response, VaultError> {
    let req: Grant = admin_body(&body)?;
    if let Some(bad) = req.permissions.iter().find(|p| !Permission::valid_grant(p)) {
        let known: Vec<&str> = Permission::ALL.iter().map(|p| p.name()).collect();
        return Err(admin_error(format!(
            "unknown permission '{bad}': use {}, keys/all or certificates/all",
            known.join(", ")
        )));
    }
    let normalized: Vec<String> = req
        .permissions
        .iter()
        .map(|p| p.to_ascii_lowercase())
        .collect();
    state
        .store
        .vault_set_grant(&req.principal.to_string(), &normalized)?;
    Ok(axum::Json(json!({"principal": req.principal, "permissions": normalized})).into_response())
}

/// `GET /_emulator/vault/settings`.
pub async fn admin_get_settings(State(state): State<SharedState>) -> Response {
    axum::Json(state.vault.settings()).into_response()
}

/// `PUT /_emulator/vault/settings`: replaces the settings (see [`VaultSettings`]).
pub async fn admin_put_settings(
    State(state): State<SharedState>,
    body: Bytes,
) -> Result<Response, VaultError> {
    let settings: VaultSettings = admin_body(&body)?;
    if let Some(secs) = settings.throttle_retry_after
        && !(secs.is_finite() && (0.0..=3600.0).contains(&secs))
    {
        return Err(admin_error(format!(
            "throttleRetryAfter {secs}: give seconds between 0 and 3600"
        )));
    }
    state.vault.set(settings);
    Ok(axum::Json(state.vault.settings()).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_calendar_months() {
        let t = time::macros::datetime!(2026-01-31 10:00 UTC);
        assert_eq!(
            add_months(t, 1),
            time::macros::datetime!(2026-02-28 10:00 UTC)
        );
        assert_eq!(
            add_months(t, 12),
            time::macros::datetime!(2027-01-31 10:00 UTC)
        );
        assert_eq!(
            add_months(t, 13),
            time::macros::datetime!(2027-02-28 10:00 UTC)
        );
    }

    #[test]
    fn grants_cover_their_permission_or_their_kind() {
        assert!(Permission::KeysSign.granted_by("keys/sign"));
        assert!(Permission::KeysSign.granted_by("keys/all"));
        assert!(!Permission::KeysSign.granted_by("keys/get"));
        assert!(!Permission::KeysSign.granted_by("certificates/all"));
        assert!(Permission::valid_grant("Certificates/Create"));
        assert!(!Permission::valid_grant("secrets/get"));
    }

    #[test]
    fn policies_take_the_service_defaults_and_refuse_what_is_not_served() {
        let p = check_policy(Some(&json!({"x509_props": {"subject": "CN=a"}})), 0).unwrap();
        assert_eq!(p.spec, KeySpec::Rsa(2048));
        assert_eq!(p.issuer, "Self");
        assert_eq!(p.json["x509_props"]["validity_months"], 12);
        assert_eq!(p.json["key_props"]["key_size"], 2048);
        let bad = |policy: Value| check_policy(Some(&policy), 0).err().map(|e| e.message);
        assert!(bad(json!({})).unwrap().contains("subject"));
        assert!(
            bad(json!({"x509_props": {"subject": "CN=a"}, "key_props": {"kty": "RSA", "key_size": 1024}}))
                .unwrap()
                .contains("1024")
        );
        assert!(
            bad(json!({"x509_props": {"subject": "CN=a"}, "issuer": {"name": "DigiCert"}}))
                .unwrap()
                .contains("DigiCert")
        );
        let ec = check_policy(
            Some(&json!({"x509_props": {"subject": "CN=a"}, "key_props": {"kty": "EC"}})),
            0,
        )
        .unwrap();
        assert_eq!(ec.spec, KeySpec::Ec(Curve::P256));
    }

    #[test]
    fn names_are_the_services() {
        assert!(valid_name("app-cert-2"));
        assert!(!valid_name("app_cert"));
        assert!(!valid_name(""));
        assert!(!valid_name(&"a".repeat(128)));
    }
}
