//! The router: every endpoint of the emulator, apart from serving, so tests can drive it without a socket.

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{any, get, post};
use uuid::Uuid;

use crate::error::{ApiError, PendingError, RequestIds};
use crate::state::SharedState;
use crate::{admin, devicecode, graph, identity, vault};

pub use crate::limits::{MAX_ADMIN_BODY_BYTES, MAX_BODY_BYTES};

/// The body limit of a path: the admin API's for `/_emulator/`, Graph's and the token endpoint's elsewhere.
pub fn body_limit(path: &str) -> usize {
    if path.starts_with("/_emulator/") {
        MAX_ADMIN_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    }
}

/// Builds the router for `state`.
pub fn app(state: SharedState) -> Router {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(identity::discovery),
        )
        .route("/{tenant}/oauth2/v2.0/token", post(identity::token))
        .route("/{tenant}/discovery/v2.0/keys", get(identity::jwks))
        .route("/{tenant}/oauth2/v2.0/devicecode", post(devicecode::start))
        .route("/_emulator/devicecodes", get(devicecode::list))
        .route("/_emulator/devicecodes/{code}", post(devicecode::decide))
        .route(
            "/_emulator/devicecode-settings",
            get(devicecode::get_settings).put(devicecode::put_settings),
        )
        .route("/_emulator/refresh-tokens/revoke", post(devicecode::revoke))
        .route("/_emulator/info", get(admin::info))
        .route("/_emulator/applications", post(admin::create_application))
        .route("/_emulator/applications/{id}", get(admin::get_object))
        .route("/_emulator/seed", post(admin::seed))
        .route(
            "/_emulator/faults",
            get(admin::get_faults).put(admin::put_faults),
        )
        .route("/_emulator/tokens", post(admin::issue_token))
        .route("/_emulator/identity/token", get(identity::managed_identity))
        .route(
            "/metadata/identity/oauth2/token",
            get(identity::instance_metadata_token),
        )
        .route(
            "/_emulator/vault/certificates",
            post(vault::admin_put_certificate),
        )
        .route("/_emulator/vault/grants", post(vault::admin_grant))
        .route(
            "/_emulator/vault/settings",
            get(vault::admin_get_settings).put(vault::admin_put_settings),
        )
        // Key Vault's data plane, one vault at the root (see `vault`): static segments (`versions`,
        // `pending`, `create`, `sign`) take precedence over a version.
        // An empty version (`/certificates/{name}/`, `/keys/{name}//sign`, as Microsoft's clients send when
        // none is named) is the latest, as the service reads it.
        .route("/certificates/{name}", get(vault::get_certificate))
        .route("/certificates/{name}/", get(vault::get_certificate))
        .route(
            "/certificates/{name}/versions",
            get(vault::list_certificate_versions),
        )
        .route("/certificates/{name}/pending", get(vault::get_pending))
        .route(
            "/certificates/{name}/create",
            post(vault::create_certificate),
        )
        .route(
            "/certificates/{name}/{version}",
            get(vault::get_certificate_version),
        )
        .route("/keys/{name}", get(vault::get_key))
        .route("/keys/{name}/", get(vault::get_key))
        .route("/keys/{name}/sign", post(vault::sign_latest))
        .route("/keys/{name}//sign", post(vault::sign_latest))
        .route("/keys/{name}/{version}", get(vault::get_key_version))
        .route("/keys/{name}/{version}/sign", post(vault::sign))
        .route("/v1.0/{*rest}", any(graph::dispatch))
        .route("/beta/{*rest}", any(graph::dispatch))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        // `bounded_body` has read and limited every body already; axum's own 2 MB default must not apply a
        // second, smaller limit with a text/plain answer.
        .layer(DefaultBodyLimit::max(MAX_ADMIN_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), bounded_body))
        .layer(middleware::from_fn_with_state(state.clone(), request_ids))
        .with_state(state)
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::graph(
        StatusCode::METHOD_NOT_ALLOWED,
        "Request_BadRequest",
        format!(
            "The method {} is not allowed on '{}'.",
            req.method(),
            req.uri().path()
        ),
    )
}

/// Reads the whole request body within the path's limit ([`body_limit`]) and the body timeout, so that one
/// limit and one error envelope apply to every endpoint and no client can hold a request open by sending
/// its body slowly.
async fn bounded_body(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let limit = body_limit(req.uri().path());
    let (parts, body) = req.into_parts();
    let read = tokio::time::timeout(
        state.limits.body_read_timeout,
        axum::body::to_bytes(body, limit),
    )
    .await;
    let bytes = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) if is_length_limit(&e) => {
            return ApiError::bad_request(format!(
                "The request body is larger than the {limit} bytes accepted."
            ))
            .with_diagnostic("body too large")
            .into_response();
        }
        Ok(Err(_)) => {
            return ApiError::bad_request("The request body could not be read.")
                .with_diagnostic("the body ended early or is malformed")
                .into_response();
        }
        Err(_) => {
            return ApiError::graph(
                StatusCode::REQUEST_TIMEOUT,
                "Request_Timeout",
                "The request body did not arrive in time.",
            )
            .with_diagnostic(format!(
                "body not complete within {} ms",
                state.limits.body_read_timeout.as_millis()
            ))
            .into_response();
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// Puts an error that is not the emulator's own (an extractor's rejection: text/plain) into the envelope of
/// its endpoint, so that every refusal on every path is JSON a client can parse.
fn envelope_for(path: &str, resp: &Response) -> Option<ApiError> {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return None;
    }
    let reason = status.canonical_reason().unwrap_or("error");
    if path.contains("/oauth2/") {
        return Some(
            ApiError::oauth(
                "invalid_request",
                900144,
                format!("The request is not valid: {reason}."),
            )
            .with_diagnostic(format!("rejected before the handler: {status}")),
        );
    }
    let code = match status {
        StatusCode::NOT_FOUND => "Request_ResourceNotFound",
        StatusCode::INTERNAL_SERVER_ERROR => "InternalServerError",
        _ => "BadRequest",
    };
    Some(
        ApiError::graph(status, code, format!("The request is not valid: {reason}."))
            .with_diagnostic(format!("rejected before the handler: {status}")),
    )
}

async fn fallback(req: Request) -> ApiError {
    ApiError::graph(
        StatusCode::NOT_FOUND,
        "UnknownError",
        format!("No endpoint matches '{}'.", req.uri().path()),
    )
}

/// Gives every request a `request-id`, echoes `client-request-id` (or the request id when the caller sent
/// none, as the service does), applies the configured latency, and writes error bodies with those ids.
async fn request_ids(State(state): State<SharedState>, mut req: Request, next: Next) -> Response {
    let request_id = Uuid::new_v4().to_string();
    let client_request_id = req
        .headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(str::to_owned)
        .unwrap_or_else(|| request_id.clone());
    let ids = RequestIds {
        request_id,
        client_request_id,
    };
    req.extensions_mut().insert(ids.clone());
    if !req.uri().path().starts_with("/_emulator/")
        || req.uri().path().starts_with("/_emulator/identity")
    {
        let delay = state.faults.latency();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
    let path = req.uri().path().to_owned();
    let mut resp = next.run(req).await;
    if let Some(PendingError(err)) = resp.extensions_mut().remove::<PendingError>() {
        resp = err.into_response_with(&ids);
    } else if let Some(err) = envelope_for(&path, &resp) {
        resp = err.into_response_with(&ids);
    }
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&ids.request_id) {
        h.insert("request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&ids.client_request_id) {
        h.insert("client-request-id", v);
    }
    resp
}
