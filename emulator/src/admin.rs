//! The admin API under `/_emulator/`: creating objects, reading them whole, switching faults, and the
//! information a test needs (tenant, managed-identity endpoint). It is the emulator's own surface, not
//! Graph's, and needs no token: the emulator only listens on loopback.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyroll_proto::cert::load_public_certificate;
use keyroll_proto::credential::{KeyCredential, KeyCredentialBuilder};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::error::ApiError;
use crate::faults::FaultConfig;
use crate::identity::mint_access_token;
use crate::limits::MAX_ADMIN_BODY_BYTES;
use crate::state::{Emulator, SharedState};
use crate::store::{Lookup, NewApplication, ObjectKind};

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
        display_name: req.display_name,
        kind,
        roles: req.roles,
        owners: req.owners,
        managed_identity: req.managed_identity,
        keys,
        service_principal_keys,
    })?;
    Ok(created)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn admin_json<T: serde::de::DeserializeOwned>(
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
        "passwordCredentials": [],
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
}

/// `POST /_emulator/tokens`: an access token for an application without a client assertion, for tests that
/// exercise Graph rather than the token endpoint.
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
    let token = mint_access_token(&state, &app)?;
    Ok(axum::Json(json!({"access_token": token, "token_type": "Bearer"})).into_response())
}
