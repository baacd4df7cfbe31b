//! The router: every endpoint of the emulator, apart from serving, so tests can drive it without a socket.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get, post};
use uuid::Uuid;

use crate::error::{ApiError, PendingError, RequestIds};
use crate::state::SharedState;
use crate::{admin, graph, identity};

/// The largest request body read, in bytes. A keyCredential with a 4096-bit certificate is under 4 KiB;
/// anything far larger is refused before it is parsed.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The largest admin request body (many certificates at once).
pub const MAX_ADMIN_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Builds the router for `state`.
pub fn app(state: SharedState) -> Router {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(identity::discovery),
        )
        .route("/{tenant}/oauth2/v2.0/token", post(identity::token))
        .route("/{tenant}/discovery/v2.0/keys", get(identity::jwks))
        .route("/_emulator/info", get(admin::info))
        .route("/_emulator/applications", post(admin::create_application))
        .route("/_emulator/applications/{id}", get(admin::get_object))
        .route(
            "/_emulator/faults",
            get(admin::get_faults).put(admin::put_faults),
        )
        .route("/_emulator/tokens", post(admin::issue_token))
        .route("/_emulator/identity/token", get(identity::managed_identity))
        .route("/v1.0/{*rest}", any(graph::dispatch))
        .route("/beta/{*rest}", any(graph::dispatch))
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(state.clone(), request_ids))
        .with_state(state)
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
    let mut resp = next.run(req).await;
    if let Some(PendingError(err)) = resp.extensions_mut().remove::<PendingError>() {
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
