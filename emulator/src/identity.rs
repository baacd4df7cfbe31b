//! The identity platform: OIDC discovery, the v2.0 token endpoint for client credentials with a certificate
//! assertion (judged by `keyroll_proto::assertion`), and a managed-identity endpoint in the App Service form.
//! Both issue tokens for Graph or for Key Vault ([`Resource`]), as the scope or `resource` asks.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keyroll_proto::assertion::{self, AssertionError, CLIENT_ASSERTION_TYPE, Expectations};
use serde_json::json;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::SharedState;
use crate::store::{DirectoryObject, Lookup, ObjectKind};
use crate::tokens::{GRAPH_RESOURCE, Resource, TOKEN_LIFETIME_SECS, VAULT_RESOURCE, app_claims};

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub async fn discovery(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let origin = state.origin(&headers);
    let base = format!("{origin}/{tenant}");
    axum::Json(json!({
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/v2.0"),
        "request_uri_parameter_supported": false,
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
        "tenant_region_scope": "WW",
        "cloud_instance_name": "microsoftonline.com",
    }))
    .into_response()
}

/// `GET /{tenant}/discovery/v2.0/keys`: the emulator publishes no keys; its tokens are for itself only.
pub async fn jwks() -> Response {
    axum::Json(json!({"keys": []})).into_response()
}

pub(crate) fn required<'a>(
    form: &'a HashMap<String, String>,
    name: &str,
) -> Result<&'a str, ApiError> {
    form.get(name)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            ApiError::oauth(
                "invalid_request",
                900144,
                format!("The request body must contain the following parameter: '{name}'."),
            )
        })
}

/// The form of a POST to the identity platform's endpoints (token, device code), refused as the service refuses a
/// body that is not `application/x-www-form-urlencoded`.
pub(crate) fn form(body: &[u8]) -> Result<HashMap<String, String>, ApiError> {
    serde_urlencoded::from_bytes(body).map_err(|_| {
        ApiError::oauth(
            "invalid_request",
            900144,
            "The request body must be application/x-www-form-urlencoded.",
        )
    })
}

/// The resource scopes of a request (without the OIDC ones MSAL adds).
fn resource_scopes(scope: &str) -> Vec<&str> {
    scope
        .split_whitespace()
        .filter(|s| !matches!(*s, "openid" | "profile" | "offline_access"))
        .collect()
}

/// The resource a client-credentials request asks for: one `{resource}/.default` scope of Graph or Key
/// Vault.
fn requested_resource(scope: &str) -> Option<Resource> {
    match resource_scopes(scope).as_slice() {
        [one] if one.ends_with("/.default") => Resource::from_identifier(one),
        _ => None,
    }
}

/// The service's refusal of a client-credentials scope: AADSTS1002012 when a scope lacks `/.default` (the
/// client-credentials rule), AADSTS70011 for any other scope the emulator does not serve.
fn scope_refusal(scope: &str) -> ApiError {
    if let Some(bad) = resource_scopes(scope)
        .into_iter()
        .find(|s| !s.ends_with("/.default"))
    {
        return ApiError::oauth(
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {bad} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        )
        .with_diagnostic("client credentials need a scope ending in /.default");
    }
    ApiError::oauth(
        "invalid_scope",
        70011,
        format!(
            "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
        ),
    )
    .with_diagnostic(
        "the emulator serves https://graph.microsoft.com/.default and https://vault.azure.net/.default only",
    )
}

/// The service's text of an AADSTS700027 refusal (the key that signed the assertion is not registered, not
/// valid now, or does not verify it), with the client id and thumbprint where the service shows them.
/// Core's precise reason goes to the diagnostic header.
fn assertion_refusal(e: &AssertionError, client_id: &str) -> ApiError {
    let visit = format!(
        "Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/{client_id}']."
    );
    let description = match e {
        AssertionError::KeyNotRegistered { thumbprint } => format!(
            "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', {visit}"
        ),
        AssertionError::KeyNotValid { thumbprint, .. } => format!(
            "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key used is expired., Thumbprint of key used by client: '{thumbprint}', {visit}"
        ),
        AssertionError::Signature { thumbprint } => format!(
            "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{thumbprint}', {visit}"
        ),
        other => other.to_string(),
    };
    ApiError::oauth(e.oauth_error(), e.aadsts_code(), description).with_diagnostic(e.to_string())
}

pub(crate) fn resolve_tenant(state: &SharedState, tenant: &str) -> Result<Uuid, ApiError> {
    let not_found = || {
        ApiError::oauth(
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        )
    };
    let id = Uuid::parse_str(tenant).map_err(|_| not_found())?;
    if state.store.tenant_exists(id)? {
        Ok(id)
    } else {
        Err(not_found())
    }
}

/// `POST /{tenant}/oauth2/v2.0/token`: client credentials with a certificate assertion or a client secret
/// (`client_secret` in the form, as MSAL sends it).
pub async fn token(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = form(&body)?;
    let tenant_id = resolve_tenant(&state, &tenant)?;
    let grant = required(&form, "grant_type")?;
    match grant {
        crate::devicecode::DEVICE_CODE_GRANT => {
            return crate::devicecode::redeem(
                &state,
                tenant_id,
                &tenant,
                &state.origin(&headers),
                &form,
            );
        }
        "refresh_token" => {
            return crate::devicecode::refresh(
                &state,
                tenant_id,
                &tenant,
                &state.origin(&headers),
                &form,
            );
        }
        _ => {}
    }
    if grant != "client_credentials" {
        return Err(ApiError::oauth(
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        ));
    }
    let client_id = required(&form, "client_id")?;
    let scope = required(&form, "scope")?;
    let secret = form.get("client_secret").filter(|v| !v.is_empty());
    let assertion_text = form.get("client_assertion").filter(|v| !v.is_empty());
    if secret.is_none() && assertion_text.is_none() {
        return Err(ApiError::oauth(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    }
    if secret.is_none()
        && form.get("client_assertion_type").map(String::as_str) != Some(CLIENT_ASSERTION_TYPE)
    {
        return Err(ApiError::oauth(
            "invalid_request",
            900144,
            format!(
                "The request body must contain the following parameter: 'client_assertion_type' ({CLIENT_ASSERTION_TYPE})."
            ),
        ));
    }
    let app = Uuid::parse_str(client_id)
        .ok()
        .map(|id| {
            state.store.find(
                tenant_id,
                Lookup::AppId(id),
                &[ObjectKind::Application, ObjectKind::AgentIdentityBlueprint],
            )
        })
        .transpose()?
        .flatten()
        .ok_or_else(|| {
            ApiError::oauth(
                "unauthorized_client",
                700016,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
                ),
            )
        })?;
    let Some(resource) = requested_resource(scope) else {
        return Err(scope_refusal(scope));
    };
    let now = state.now();
    if let Some(secret) = secret {
        // A client secret is compared with the stored hashes of the app's current secrets (never logged).
        if !state.store.secret_matches(app.id, secret, now)? {
            return Err(ApiError::oauth(
                "invalid_client",
                7000215,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            )
            .with_diagnostic("no current client secret of the app has this value"));
        }
        return issue_for(&state, &app, resource);
    }
    let Some(assertion_text) = assertion_text else {
        return Err(ApiError::internal("no client assertion"));
    };
    let mut keys = state.store.key_headers(app.id)?;
    // A key added moments ago has not replicated to the sign-in service yet (see `replication`).
    keys.retain(|k| {
        k.key_id
            .is_none_or(|id| state.replication.usable_for_tokens(id, now))
    });
    let usable = state.signing_candidates(&keys, now);
    let certificates: Vec<_> = usable.iter().map(|k| k.certificate.clone()).collect();
    let origin = state.origin(&headers);
    let audiences = [
        format!("{origin}/{tenant}/oauth2/v2.0/token"),
        format!("{origin}/{tenant_id}/oauth2/v2.0/token"),
        format!("{origin}/{tenant}/oauth2/token"),
        format!("{origin}/{tenant_id}/oauth2/token"),
    ];
    let expect = Expectations {
        client_id,
        audiences: &audiences,
        certificates: &certificates,
        now,
        clock_skew_secs: state.skew_secs,
    };
    assertion::verify(assertion_text, &expect).map_err(|e| match e.aadsts_code() {
        700027 => assertion_refusal(&e, client_id),
        code => ApiError::oauth(e.oauth_error(), code, e.to_string()),
    })?;
    issue_for(&state, &app, resource)
}

fn issue_for(
    state: &SharedState,
    app: &DirectoryObject,
    resource: Resource,
) -> Result<Response, ApiError> {
    let access_token = mint_access_token(state, app, resource)?;
    Ok(axum::Json(json!({
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECS,
        "ext_expires_in": TOKEN_LIFETIME_SECS,
        "access_token": access_token,
    }))
    .into_response())
}

/// Issues an app-only token for `resource` to `app` (its service principal as `oid`; for Graph its granted
/// app roles, which are Graph's and so absent from a Key Vault token).
pub fn mint_access_token(
    state: &SharedState,
    app: &DirectoryObject,
    resource: Resource,
) -> Result<String, ApiError> {
    let sp = state
        .store
        .find(
            app.tenant_id,
            Lookup::AppId(app.app_id),
            &[ObjectKind::ServicePrincipal],
        )?
        .map_or(app.id, |sp| sp.id);
    let roles = match resource {
        Resource::Graph => app.roles.clone(),
        Resource::Vault => Vec::new(),
    };
    let claims = app_claims(resource, app.tenant_id, app.app_id, sp, roles, state.now());
    Ok(state.signer.issue(&claims)?)
}

/// `GET /_emulator/identity/token?resource=…&api-version=2019-08-01[&client_id=…]` with `X-IDENTITY-HEADER`:
/// the App Service / Automation managed-identity endpoint (`IDENTITY_ENDPOINT`).
pub async fn managed_identity(
    State(state): State<SharedState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let secret = headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if secret.is_empty() || secret != state.identity_header {
        return Err(ApiError::graph(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.",
        ));
    }
    let (token, identity, resource, expires_on) = managed_identity_token(&state, &query)?;
    Ok(axum::Json(json!({
        "access_token": token,
        "expires_on": expires_on.to_string(),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": identity.app_id,
    }))
    .into_response())
}

/// Azure's instance metadata service (a VM's managed identity): `GET /metadata/identity/oauth2/token` with the
/// `Metadata: true` header, answering IMDS's shape (numbers as strings, `expires_in`, `not_before`). Reached only
/// through an override of the IMDS address (AZURE_POD_IDENTITY_AUTHORITY_HOST or IMDS_ENDPOINT): nothing here
/// listens on 169.254.169.254.
pub async fn instance_metadata_token(
    State(state): State<SharedState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let metadata = headers
        .get("metadata")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !metadata.eq_ignore_ascii_case("true") {
        return Ok((
            StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "error": "invalid_request",
                "error_description": "Required metadata header not specified",
            })),
        )
            .into_response());
    }
    let (token, _identity, resource, expires_on) = managed_identity_token(&state, &query)?;
    let now = state.now().unix_timestamp();
    Ok(axum::Json(json!({
        "access_token": token,
        "refresh_token": "",
        "expires_in": (expires_on - now).to_string(),
        "expires_on": expires_on.to_string(),
        "not_before": now.to_string(),
        "resource": resource,
        "token_type": "Bearer",
    }))
    .into_response())
}

/// The token a managed-identity endpoint answers: for the identity `client_id` names (or the one there is), for
/// the resource asked (Graph or the vault). Answers the token, the identity, the resource and its expiry.
fn managed_identity_token(
    state: &SharedState,
    query: &HashMap<String, String>,
) -> Result<(String, crate::store::DirectoryObject, String, i64), ApiError> {
    let resource = query.get("resource").map(String::as_str).unwrap_or("");
    let Some(target) =
        Resource::from_identifier(resource).filter(|_| !resource.contains(".default"))
    else {
        return Err(ApiError::bad_request(format!(
            "The resource '{resource}' is not supported; use {GRAPH_RESOURCE} or {VAULT_RESOURCE}."
        )));
    };
    let client_id = match query.get("client_id") {
        Some(c) => Some(
            Uuid::parse_str(c)
                .map_err(|_| ApiError::bad_request(format!("client_id '{c}' is not a GUID.")))?,
        ),
        None => None,
    };
    let identity = state
        .store
        .managed_identity(client_id)?
        .ok_or_else(|| ApiError::graph(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "No managed identity matches the request; create one with the admin API (\"managedIdentity\": true).",
        ))?;
    let token = mint_access_token(state, &identity, target)?;
    let expires_on = state.now().unix_timestamp() + TOKEN_LIFETIME_SECS;
    Ok((token, identity, resource.to_string(), expires_on))
}

#[cfg(test)]
mod tests {
    use crate::tokens::Resource;

    #[test]
    fn scopes() {
        let r = super::requested_resource;
        assert_eq!(
            r("https://graph.microsoft.com/.default"),
            Some(Resource::Graph)
        );
        assert_eq!(
            r("https://graph.microsoft.com/.default offline_access openid profile"),
            Some(Resource::Graph)
        );
        assert_eq!(
            r("00000003-0000-0000-c000-000000000000/.default"),
            Some(Resource::Graph)
        );
        assert_eq!(r("https://vault.azure.net/.default"), Some(Resource::Vault));
        assert_eq!(r("https://graph.microsoft.com/User.Read"), None);
        assert_eq!(r("https://vault.azure.net"), None);
        assert_eq!(r("https://management.azure.com/.default"), None);
        assert_eq!(
            r("https://graph.microsoft.com/.default https://vault.azure.net/.default"),
            None
        );
    }

    #[test]
    fn scope_refusals_name_the_service_codes() {
        let code = |s| match super::scope_refusal(s) {
            crate::ApiError::OAuth { aadsts, .. } => aadsts,
            crate::ApiError::Graph { .. } => 0,
        };
        assert_eq!(code("https://graph.microsoft.com/User.Read"), 1002012);
        assert_eq!(code("https://graph.microsoft.com"), 1002012);
        assert_eq!(code("https://management.azure.com/.default"), 70011);
    }
}
