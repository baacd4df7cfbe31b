//! Delegated sign-in: the OAuth 2.0 device authorization grant (RFC 8628) as the identity platform serves it
//! (docs/protocol.md §9), the refresh-token grant, and the admin surface a test uses in place of a person at a
//! browser: it lists the codes waiting, approves one as a user (with the delegated scopes granted and the user's
//! directory roles), denies one, or makes one expire.
//!
//! What the emulator keeps of a flow lives in memory only: device codes and refresh tokens do not survive a
//! restart (a client then signs in again, as it would after the service revoked its grant).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keyroll_proto::b64;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::SharedState;
use crate::store::{Lookup, ObjectKind};
use crate::tokens::{AccessClaims, GRAPH_RESOURCE, Resource, TOKEN_LIFETIME_SECS};

/// The grant type of a device-code poll.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Microsoft Graph Command Line Tools: the public client Connect-MgGraph signs in with when given no client id.
/// Microsoft's first-party apps exist in every tenant; the emulator knows this one in each of its tenants.
pub const GRAPH_CLI_CLIENT_ID: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
/// Where the service sends the user (docs/protocol.md §9).
pub const VERIFICATION_URI: &str = "https://www.microsoft.com/link";
/// The service's default lifetime of a device code.
const DEFAULT_EXPIRES_IN: u64 = 900;
/// The service's default polling interval.
const DEFAULT_INTERVAL: u64 = 5;
/// A poll this much earlier than the interval is still taken as on time (network jitter).
const POLL_TOLERANCE: StdDuration = StdDuration::from_millis(500);

/// The directory roles the emulator knows, with their role template ids (the `wids` claim of a user's token).
pub const DIRECTORY_ROLES: &[(&str, &str)] = &[
    (
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
    ),
    (
        "Application Administrator",
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    ),
    (
        "Cloud Application Administrator",
        "158c047a-c907-4556-b7ef-446551a6b5f7",
    ),
    (
        "Application Developer",
        "cf1c38e5-3621-4004-a7cb-879624dced7c",
    ),
    ("Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451"),
    ("Directory Readers", "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"),
];

/// The name of a directory role given by name (any case) or by template id.
pub fn role_template(name_or_id: &str) -> Option<&'static str> {
    DIRECTORY_ROLES
        .iter()
        .find(|(n, id)| n.eq_ignore_ascii_case(name_or_id) || id.eq_ignore_ascii_case(name_or_id))
        .map(|(_, id)| *id)
}

/// Graph's delegated permissions the emulator grants (Application.ReadWrite.OwnedBy is an application
/// permission only: it has no delegated form).
pub const DELEGATED_SCOPES: &[&str] = &[
    "User.Read",
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
    "AgentIdentityBlueprint.AddRemoveCreds.All",
    "AgentIdentityBlueprint.ReadWrite.All",
];

const OIDC_SCOPES: &[&str] = &["openid", "profile", "offline_access", "email"];

/// How the emulator paces device flows (`PUT /_emulator/devicecode-settings`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceSettings {
    /// The `interval` handed out (seconds; the service's is 5). 0 lets a client poll at once.
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// The `expires_in` handed out (seconds; the service's is 900).
    #[serde(default = "default_expires_in")]
    pub expires_in_secs: u64,
    /// Fault injection: the first this many polls of each new code are answered `slow_down` whatever their pace
    /// (as a busy service may), so that a client's handling of it can be tested.
    #[serde(default)]
    pub slow_down_polls: u32,
}

fn default_interval() -> u64 {
    DEFAULT_INTERVAL
}
fn default_expires_in() -> u64 {
    DEFAULT_EXPIRES_IN
}

impl Default for DeviceSettings {
    fn default() -> Self {
        DeviceSettings {
            interval_secs: DEFAULT_INTERVAL,
            expires_in_secs: DEFAULT_EXPIRES_IN,
            slow_down_polls: 0,
        }
    }
}

/// The signed-in user a test approves a code as.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct User {
    /// The user's object id (drawn when absent).
    #[serde(default)]
    pub id: Option<Uuid>,
    /// The user principal name.
    #[serde(default = "default_upn")]
    pub user_principal_name: String,
    /// Directory roles, by name (`Application Administrator`) or template id.
    #[serde(default)]
    pub directory_roles: Vec<String>,
}

fn default_upn() -> String {
    "admin@keyroll.example".into()
}

#[derive(Debug, Clone)]
struct Grant {
    tenant: Uuid,
    client_id: Uuid,
    user_id: Uuid,
    upn: String,
    wids: Vec<String>,
    /// Granted delegated scopes of Graph, without the resource prefix.
    scopes: Vec<String>,
    offline: bool,
    openid: bool,
}

#[derive(Debug)]
enum FlowState {
    Pending,
    Approved(Grant),
    Denied,
    Expired,
}

#[derive(Debug)]
struct Flow {
    user_code: String,
    tenant: Uuid,
    client_id: Uuid,
    scope: String,
    expires_at: OffsetDateTime,
    interval: StdDuration,
    last_poll: Option<Instant>,
    /// Polls still to be answered `slow_down` (fault injection).
    forced_slow_downs: u32,
    state: FlowState,
}

/// The device flows and refresh tokens of a running emulator.
#[derive(Debug, Default)]
pub struct DeviceFlows {
    /// By device code.
    flows: Mutex<HashMap<String, Flow>>,
    /// By SHA-256 (hex) of the refresh token: the token itself is never kept.
    refresh: Mutex<HashMap<String, (Grant, bool)>>,
    settings: Mutex<DeviceSettings>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn random_text(bytes: usize) -> Result<String, ApiError> {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| ApiError::internal("no randomness"))?;
    Ok(b64::encode_url(&buf))
}

/// A user code as the service shows it: eight letters and digits a person can type.
fn user_code() -> Result<String, ApiError> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut buf = [0u8; 8];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| ApiError::internal("no randomness"))?;
    Ok(buf
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

fn hash(token: &str) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The Graph permission a scope names (`https://graph.microsoft.com/X`, `00000003-…/X` or bare `X`), `Some("")`
/// for `.default`, `None` for an OIDC scope.
fn graph_permission(scope: &str) -> Result<Option<&str>, &str> {
    if OIDC_SCOPES.iter().any(|o| o.eq_ignore_ascii_case(scope)) {
        return Ok(None);
    }
    let name = match scope.rsplit_once('/') {
        Some((resource, name)) => {
            if Resource::from_identifier(resource) != Some(Resource::Graph) {
                return Err(scope);
            }
            name
        }
        None => scope,
    };
    if name == ".default" {
        return Ok(Some(""));
    }
    DELEGATED_SCOPES
        .iter()
        .find(|s| s.eq_ignore_ascii_case(name))
        .map(|s| Some(*s))
        .ok_or(scope)
}

fn invalid_scope(scope: &str) -> ApiError {
    ApiError::oauth(
        "invalid_scope",
        70011,
        format!(
            "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
        ),
    )
    .with_diagnostic(format!(
        "delegated scopes of Graph the emulator grants: {}, or https://graph.microsoft.com/.default (Application.ReadWrite.OwnedBy is an application permission only)",
        DELEGATED_SCOPES.join(", ")
    ))
}

/// Whether `client_id` may use a public-client flow in `tenant`: Graph's command-line client, or an app created
/// with `"publicClient": true` (the portal's "Allow public client flows", `isFallbackPublicClient`).
fn public_client(
    state: &SharedState,
    tenant: Uuid,
    client_id: Uuid,
) -> Result<Option<bool>, ApiError> {
    if client_id.to_string() == GRAPH_CLI_CLIENT_ID {
        return Ok(Some(true));
    }
    let app = state.store.find(
        tenant,
        Lookup::AppId(client_id),
        &[ObjectKind::Application, ObjectKind::AgentIdentityBlueprint],
    )?;
    match app {
        None => Ok(None),
        Some(app) => Ok(Some(
            state.store.meta(&public_client_key(app.app_id))?.is_some(),
        )),
    }
}

/// The store's meta key that marks an application as a public client.
pub fn public_client_key(app_id: Uuid) -> String {
    format!("public_client:{app_id}")
}

fn unknown_client(client_id: &str, tenant: &str) -> ApiError {
    ApiError::oauth(
        "unauthorized_client",
        700016,
        format!(
            "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
        ),
    )
}

/// `POST /{tenant}/oauth2/v2.0/devicecode` (client_id, scope): the device authorization response.
pub async fn start(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = crate::identity::form(&body)?;
    let tenant_id = crate::identity::resolve_tenant(&state, &tenant)?;
    let client_id = crate::identity::required(&form, "client_id")?;
    let scope = crate::identity::required(&form, "scope")?;
    let client = Uuid::parse_str(client_id).map_err(|_| unknown_client(client_id, &tenant))?;
    if public_client(&state, tenant_id, client)?.is_none() {
        return Err(unknown_client(client_id, &tenant));
    }
    let mut asks_graph = false;
    for s in scope.split_whitespace() {
        match graph_permission(s) {
            Ok(Some(_)) => asks_graph = true,
            Ok(None) => {}
            Err(bad) => return Err(invalid_scope(bad)),
        }
    }
    if !asks_graph {
        return Err(invalid_scope(scope));
    }
    let settings = *lock(&state.device.settings);
    let device_code = random_text(48)?;
    let code = user_code()?;
    let flow = Flow {
        user_code: code.clone(),
        tenant: tenant_id,
        client_id: client,
        scope: scope.to_string(),
        expires_at: state.now() + Duration::seconds(settings.expires_in_secs as i64),
        interval: StdDuration::from_secs(settings.interval_secs),
        last_poll: None,
        forced_slow_downs: settings.slow_down_polls,
        state: FlowState::Pending,
    };
    let mut flows = lock(&state.device.flows);
    // Codes that ended long ago are forgotten, so that a long-running emulator does not keep every code.
    let horizon = state.now() - Duration::hours(1);
    flows.retain(|_, f| f.expires_at > horizon);
    flows.insert(device_code.clone(), flow);
    drop(flows);
    Ok(axum::Json(json!({
        "user_code": code,
        "device_code": device_code,
        "verification_uri": VERIFICATION_URI,
        "expires_in": settings.expires_in_secs,
        "interval": settings.interval_secs,
        "message": format!("To sign in, use a web browser to open the page {VERIFICATION_URI} and enter the code {code} to authenticate."),
    }))
    .into_response())
}

/// The device-code grant of the token endpoint: pending, slow_down, declined, expired, or the user's tokens.
pub fn redeem(
    state: &SharedState,
    tenant_id: Uuid,
    tenant: &str,
    origin: &str,
    form: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let client_id = crate::identity::required(form, "client_id")?;
    let device_code = crate::identity::required(form, "device_code")?;
    if form.contains_key("client_secret") || form.contains_key("client_assertion") {
        return Err(ApiError::oauth(
            "invalid_client",
            700025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        ));
    }
    let client = Uuid::parse_str(client_id).map_err(|_| unknown_client(client_id, tenant))?;
    match public_client(state, tenant_id, client)? {
        None => return Err(unknown_client(client_id, tenant)),
        Some(false) => {
            return Err(ApiError::oauth(
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            )
            .with_diagnostic(
                "the app is not a public client: create it with \"publicClient\": true (Allow public client flows) to sign users in with a device code",
            ));
        }
        Some(true) => {}
    }
    let now = state.now();
    let grant = {
        let mut flows = lock(&state.device.flows);
        let Some(flow) = flows
            .get_mut(device_code)
            .filter(|f| f.client_id == client && f.tenant == tenant_id)
        else {
            return Err(ApiError::oauth(
                "bad_verification_code",
                70018,
                "The provided value for the input parameter 'device_code' is not valid.",
            ));
        };
        if now >= flow.expires_at {
            flow.state = FlowState::Expired;
        }
        match &flow.state {
            FlowState::Expired => {
                return Err(ApiError::oauth(
                    "expired_token",
                    70019,
                    "Verification code expired. Have the user retry the sign-in.",
                ));
            }
            FlowState::Denied => {
                return Err(ApiError::oauth(
                    "authorization_declined",
                    65004,
                    "The user declined to authorize the request.",
                ));
            }
            FlowState::Approved(g) => {
                let g = g.clone();
                flows.remove(device_code);
                g
            }
            FlowState::Pending => {
                let at = Instant::now();
                let early = flow
                    .last_poll
                    .is_some_and(|last| at.duration_since(last) + POLL_TOLERANCE < flow.interval);
                flow.last_poll = Some(at);
                let forced = flow.forced_slow_downs > 0;
                flow.forced_slow_downs = flow.forced_slow_downs.saturating_sub(1);
                if early || forced {
                    // RFC 8628 §3.5: the client adds 5 s to its interval; so does the emulator's expectation.
                    flow.interval += StdDuration::from_secs(5);
                    return Err(ApiError::oauth(
                        "slow_down",
                        70016,
                        "The client is polling too fast. Wait the interval before polling again, and 5 seconds more.",
                    )
                    .with_diagnostic("polled sooner than the interval"));
                }
                return Err(ApiError::oauth(
                    "authorization_pending",
                    70016,
                    "The provided request has not yet been authorized by the user. The user must input their code.",
                ));
            }
        }
    };
    tokens_for(state, tenant, origin, grant)
}

/// The refresh-token grant: the same user and scopes, a new access token and a new refresh token (the old one
/// stops working: rotation).
pub fn refresh(
    state: &SharedState,
    tenant_id: Uuid,
    tenant: &str,
    origin: &str,
    form: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let client_id = crate::identity::required(form, "client_id")?;
    let token = crate::identity::required(form, "refresh_token")?;
    let key = hash(token);
    let grant = {
        let mut map = lock(&state.device.refresh);
        match map.remove(&key) {
            Some((g, false))
                if g.tenant == tenant_id
                    && g.client_id.to_string().eq_ignore_ascii_case(client_id) =>
            {
                g
            }
            Some((g, true)) => {
                map.insert(key, (g, true));
                return Err(ApiError::oauth(
                    "invalid_grant",
                    50173,
                    "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
                ));
            }
            other => {
                if let Some(g) = other {
                    map.insert(key, g);
                }
                return Err(ApiError::oauth(
                    "invalid_grant",
                    9002313,
                    "Invalid request. Request is malformed or invalid.",
                )
                .with_diagnostic("no refresh token of this client and tenant has this value"));
            }
        }
    };
    tokens_for(state, tenant, origin, grant)
}

fn tokens_for(
    state: &SharedState,
    tenant: &str,
    origin: &str,
    grant: Grant,
) -> Result<Response, ApiError> {
    let now = state.now().unix_timestamp();
    let scp = grant.scopes.join(" ");
    let claims = AccessClaims {
        aud: GRAPH_RESOURCE.to_owned(),
        iss: format!("https://sts.windows.net/{}/", grant.tenant),
        iat: now,
        nbf: now,
        exp: now + TOKEN_LIFETIME_SECS,
        appid: grant.client_id,
        oid: grant.user_id,
        sub: grant.user_id,
        tid: grant.tenant,
        roles: Vec::new(),
        idtyp: "user".to_owned(),
        ver: "1.0".to_owned(),
        uti: b64::encode_url(Uuid::new_v4().as_bytes()),
        scp: Some(scp.clone()),
        upn: Some(grant.upn.clone()),
        wids: grant.wids.clone(),
    };
    let access_token = state.signer.issue(&claims)?;
    let mut scope_out: Vec<String> = grant.scopes.clone();
    let mut body = json!({
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECS,
        "ext_expires_in": TOKEN_LIFETIME_SECS,
        "access_token": access_token,
    });
    if grant.openid {
        scope_out.extend(["openid".to_string(), "profile".to_string()]);
        let id_token = state.signer.issue(&json!({
            "aud": grant.client_id,
            "iss": format!("{origin}/{tenant}/v2.0"),
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_SECS,
            "oid": grant.user_id,
            "sub": grant.user_id,
            "tid": grant.tenant,
            "preferred_username": grant.upn,
            "name": grant.upn,
            "ver": "2.0",
        }))?;
        body["id_token"] = json!(id_token);
    }
    if grant.offline {
        scope_out.push("offline_access".into());
        let refresh_token = random_text(64)?;
        lock(&state.device.refresh).insert(hash(&refresh_token), (grant.clone(), false));
        body["refresh_token"] = json!(refresh_token);
    }
    body["scope"] = json!(scope_out.join(" "));
    Ok(axum::Json(body).into_response())
}

/// `GET /_emulator/devicecodes`: the codes of flows not yet redeemed, for a test that plays the user.
pub async fn list(State(state): State<SharedState>) -> Response {
    let now = state.now();
    let flows = lock(&state.device.flows);
    let mut value: Vec<_> = flows
        .values()
        .map(|f| {
            let status = match &f.state {
                FlowState::Pending if now >= f.expires_at => "expired",
                FlowState::Pending => "pending",
                FlowState::Approved(_) => "approved",
                FlowState::Denied => "denied",
                FlowState::Expired => "expired",
            };
            json!({
                "userCode": f.user_code,
                "clientId": f.client_id,
                "tenantId": f.tenant,
                "scope": f.scope,
                "status": status,
                "expiresAt": keyroll_proto::credential::serde_date::format(f.expires_at),
            })
        })
        .collect();
    value.sort_by(|a, b| a["expiresAt"].as_str().cmp(&b["expiresAt"].as_str()));
    axum::Json(json!({ "value": value })).into_response()
}

/// The body of `POST /_emulator/devicecodes/{userCode}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Decision {
    /// `approve`, `deny` or `expire`.
    action: String,
    /// Who approves (approve only).
    #[serde(default)]
    user: Option<User>,
    /// The delegated scopes the user consents to: the Graph scopes asked for when absent (for a request of
    /// `.default` only, User.Read).
    #[serde(default)]
    granted_scopes: Option<Vec<String>>,
}

/// `POST /_emulator/devicecodes/{userCode}`: approve (as a user), deny, or expire a pending code.
pub async fn decide(
    State(state): State<SharedState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let decision: Decision = crate::admin::admin_json(&headers, &body)?;
    let mut flows = lock(&state.device.flows);
    let Some(flow) = flows
        .values_mut()
        .find(|f| f.user_code.eq_ignore_ascii_case(code.trim()))
    else {
        return Err(ApiError::not_found(&code));
    };
    if !matches!(flow.state, FlowState::Pending) {
        return Err(ApiError::graph(
            StatusCode::CONFLICT,
            "Request_BadRequest",
            format!("the code {code} was decided already"),
        ));
    }
    match decision.action.as_str() {
        "deny" => flow.state = FlowState::Denied,
        "expire" => {
            flow.expires_at = state.now() - Duration::seconds(1);
            flow.state = FlowState::Expired;
        }
        "approve" => {
            let user = decision.user.unwrap_or(User {
                id: None,
                user_principal_name: default_upn(),
                directory_roles: Vec::new(),
            });
            let wids = user
                .directory_roles
                .iter()
                .map(|r| {
                    role_template(r).map(str::to_owned).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "directoryRoles: {r:?} is not one of {}",
                            DIRECTORY_ROLES
                                .iter()
                                .map(|(n, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let asked: Vec<&str> = flow
                .scope
                .split_whitespace()
                .filter_map(|s| graph_permission(s).ok().flatten())
                .collect();
            let scopes: Vec<String> = match decision.granted_scopes {
                Some(list) => list
                    .iter()
                    .map(|s| match graph_permission(s) {
                        Ok(Some(p)) if !p.is_empty() => Ok(p.to_string()),
                        _ => Err(ApiError::bad_request(format!(
                            "grantedScopes: {s:?} is not a delegated scope of Graph ({})",
                            DELEGATED_SCOPES.join(", ")
                        ))),
                    })
                    .collect::<Result<_, _>>()?,
                None => {
                    let named: Vec<String> = asked
                        .iter()
                        .filter(|p| !p.is_empty())
                        .map(|p| p.to_string())
                        .collect();
                    if named.is_empty() {
                        vec!["User.Read".into()]
                    } else {
                        named
                    }
                }
            };
            let words: Vec<&str> = flow.scope.split_whitespace().collect();
            flow.state = FlowState::Approved(Grant {
                tenant: flow.tenant,
                client_id: flow.client_id,
                user_id: user.id.unwrap_or_else(Uuid::new_v4),
                upn: user.user_principal_name,
                wids,
                scopes,
                offline: words.contains(&"offline_access"),
                openid: words.contains(&"openid"),
            });
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "action {other:?} is not approve, deny or expire"
            )));
        }
    }
    Ok(
        axum::Json(json!({ "userCode": flow.user_code, "action": decision.action }))
            .into_response(),
    )
}

/// The body of `POST /_emulator/refresh-tokens/revoke`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Revoke {
    /// The user whose refresh tokens stop working (every user's when absent).
    #[serde(default)]
    user_id: Option<Uuid>,
}

/// `POST /_emulator/refresh-tokens/revoke`: as an admin's "revoke sessions" does.
pub async fn revoke(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: Revoke = crate::admin::admin_json(&headers, &body)?;
    let mut n = 0;
    for (g, revoked) in lock(&state.device.refresh).values_mut() {
        if req.user_id.is_none_or(|u| u == g.user_id) && !*revoked {
            *revoked = true;
            n += 1;
        }
    }
    Ok(axum::Json(json!({ "revoked": n })).into_response())
}

/// `GET /_emulator/devicecode-settings`.
pub async fn get_settings(State(state): State<SharedState>) -> Response {
    axum::Json(*lock(&state.device.settings)).into_response()
}

/// `PUT /_emulator/devicecode-settings` (`{"intervalSecs": N, "expiresInSecs": M, "slowDownPolls": K}`).
pub async fn put_settings(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let s: DeviceSettings = crate::admin::admin_json(&headers, &body)?;
    if s.expires_in_secs == 0 || s.expires_in_secs > 86_400 || s.interval_secs > 600 {
        return Err(ApiError::bad_request(
            "expiresInSecs must be 1..=86400 and intervalSecs 0..=600",
        ));
    }
    *lock(&state.device.settings) = s;
    Ok(axum::Json(s).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_name_graph_permissions_only() {
        assert_eq!(
            graph_permission("https://graph.microsoft.com/Application.ReadWrite.All"),
            Ok(Some("Application.ReadWrite.All"))
        );
        assert_eq!(
            graph_permission("application.read.all"),
            Ok(Some("Application.Read.All"))
        );
        assert_eq!(
            graph_permission("https://graph.microsoft.com/.default"),
            Ok(Some(""))
        );
        assert_eq!(graph_permission("offline_access"), Ok(None));
        assert!(graph_permission("Application.ReadWrite.OwnedBy").is_err());
        assert!(graph_permission("https://vault.azure.net/user_impersonation").is_err());
        assert_eq!(
            role_template("application administrator"),
            Some("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3")
        );
    }
}
