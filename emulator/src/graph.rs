//! Graph under `/v1.0` and `/beta`: addKey, removeKey, addPassword, removePassword, PATCH of keyCredentials
//! and reading an object's keys, in every addressing form of docs/protocol.md §2 (§2a for the secrets); the collections themselves (`GET /applications`, `/servicePrincipals`, `/$count`)
//! are routed here and served by [`crate::list`]. Every read is charged to the read budget.
//!
//! Order of checks, each with the service's answer: faults (429/503) → route (400/405) → access token (401
//! `InvalidAuthenticationToken`) → target (400 bad id, 404) → permission (403) → write budget (429) → body
//! shape (400) → proof present (403) → a valid certificate left (400) → proof (401
//! `Authentication_MissingOrMalformed`, with our diagnostic header) → body rules (400, core's codes) → commit
//! (re-checked under the store's lock).

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyroll_proto::credential::{
    self, AddKeyRequest, KEY_CREDENTIAL_PROPERTIES, KeyCredential, MAX_KEY_CREDENTIALS,
    PASSWORD_CREDENTIAL_PROPERTIES, RemoveKeyRequest,
};
use keyroll_proto::inspect::{InspectOptions, inspect};
use keyroll_proto::key_status;
use keyroll_proto::password::{self, AddPasswordRequest, ClientSecret, RemovePasswordRequest};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::ApiError;
use crate::limits::MAX_BODY_BYTES;
use crate::server::ConnectionControl;
use crate::state::{SharedState, UsableKey};
use crate::store::{
    AddKeyRefusal, DirectoryObject, ListedObject, Lookup, NewPassword, ObjectKind, RemoveKeyRefusal,
};
use crate::tokens::AccessClaims;

use crate::list::Collection;

/// The action at the end of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Read,
    AddKey,
    RemoveKey,
    /// `PATCH /{collection}/{id}`: only `keyCredentials` (the repair of an object with no valid certificate).
    Update,
    /// `POST …/addPassword`: no proof; a permission, even for the app itself.
    AddPassword,
    /// `POST …/removePassword`.
    RemovePassword,
    /// `GET /{collection}`.
    List,
    /// `GET /{collection}/$count`.
    Count,
}

/// A parsed Graph path.
#[derive(Debug, Clone)]
struct Route {
    collection: Collection,
    /// The id as written (for 404 texts).
    raw_id: String,
    by_app_id: bool,
    blueprint_cast: bool,
    action: Action,
}

/// Decodes `%XX` escapes (invalid ones are kept as written).
pub(crate) fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn unknown_segment(segment: &str) -> ApiError {
    ApiError::graph(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        format!("Resource not found for the segment '{segment}'."),
    )
}

/// Parses `applications/{id}[/cast][/action]` and the `(appId='…')` forms.
fn parse_route(path: &str) -> Result<Route, ApiError> {
    let path = percent_decode(path.trim_end_matches('/'));
    let mut segments = path.split('/');
    let first = segments.next().unwrap_or_default();
    let (head, mut raw_id, by_app_id) = match first.split_once('(') {
        Some((head, rest)) => {
            let inner = rest
                .strip_suffix(')')
                .ok_or_else(|| unknown_segment(first))?;
            let value = inner
                .strip_prefix("appId=")
                .ok_or_else(|| unknown_segment(first))?;
            let value = value.trim_matches('\'');
            (head, value.to_owned(), true)
        }
        None => (first, String::new(), false),
    };
    let collection = match head {
        "applications" => Collection::Applications,
        "servicePrincipals" => Collection::ServicePrincipals,
        _ => return Err(unknown_segment(head)),
    };
    if !by_app_id {
        match segments.next().filter(|s| !s.is_empty()) {
            None => return Ok(collection_route(collection, Action::List)),
            Some("$count") => {
                return match segments.next() {
                    None => Ok(collection_route(collection, Action::Count)),
                    Some(other) => Err(unknown_segment(other)),
                };
            }
            Some(id) => raw_id = id.to_owned(),
        }
    }
    let mut blueprint_cast = false;
    let mut action = Action::Read;
    for seg in segments {
        match seg {
            "microsoft.graph.agentIdentityBlueprint"
                if collection == Collection::Applications
                    && !blueprint_cast
                    && action == Action::Read =>
            {
                blueprint_cast = true
            }
            "addKey" | "microsoft.graph.addKey" if action == Action::Read => {
                action = Action::AddKey
            }
            "removeKey" | "microsoft.graph.removeKey" if action == Action::Read => {
                action = Action::RemoveKey
            }
            "addPassword" | "microsoft.graph.addPassword" if action == Action::Read => {
                action = Action::AddPassword
            }
            "removePassword" | "microsoft.graph.removePassword" if action == Action::Read => {
                action = Action::RemovePassword
            }
            other => return Err(unknown_segment(other)),
        }
    }
    Ok(Route {
        collection,
        raw_id,
        by_app_id,
        blueprint_cast,
        action,
    })
}

fn collection_route(collection: Collection, action: Action) -> Route {
    Route {
        collection,
        raw_id: String::new(),
        by_app_id: false,
        blueprint_cast: false,
        action,
    }
}

/// Entry point for every Graph path.
pub async fn dispatch(
    State(state): State<SharedState>,
    req: Request,
) -> Result<Response, ApiError> {
    let path = req.uri().path().to_owned();
    let (version, rest) = if let Some(r) = path.strip_prefix("/v1.0/") {
        ("v1.0", r)
    } else if let Some(r) = path.strip_prefix("/beta/") {
        ("beta", r)
    } else {
        return Err(unknown_segment(&path));
    };
    if let Some(retry_after) = state.faults.take_throttle() {
        // The scope names the caller when its token is good; a throttled request is not otherwise judged.
        let scope = state
            .authenticate(req.headers())
            .ok()
            .map(|c| format!("Tenant_Application/ReadWrite/{}/{}", c.appid, c.tid));
        return Err(ApiError::too_many_requests(
            retry_after.unwrap_or(1.0),
            scope,
            "ResourceUnitLimitExceeded",
        )
        .with_diagnostic("fault injection: throttle"));
    }
    if let Some(retry_after) = state.faults.take_unavailable() {
        return Err(ApiError::graph(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The service is temporarily unavailable. Please try again later.",
        )
        .with_retry_after(retry_after)
        .with_diagnostic("fault injection: unavailable"));
    }
    let mut route = parse_route(rest)?;
    let method = req.method().clone();
    if method == Method::PATCH && route.action == Action::Read {
        route.action = Action::Update;
    }
    let expected = match route.action {
        Action::Read | Action::List | Action::Count => Method::GET,
        Action::AddKey | Action::RemoveKey | Action::AddPassword | Action::RemovePassword => {
            Method::POST
        }
        Action::Update => Method::PATCH,
    };
    if method != expected {
        return Err(ApiError::graph(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            format!("The method {method} is not allowed on this resource."),
        ));
    }
    let caller = state.authenticate(req.headers())?;
    let base = state.origin(req.headers());
    if matches!(route.action, Action::List | Action::Count) {
        return crate::list::serve(
            &state,
            &caller,
            route.collection,
            route.action == Action::Count,
            &crate::list::Origin {
                base: &base,
                version,
            },
            req.headers(),
            req.uri().query(),
        );
    }
    let target = resolve(&state, &caller, &route)?;
    authorize(&caller, &target, route.action)?;
    match route.action {
        Action::List | Action::Count => Err(unknown_segment(&path)),
        Action::Read => {
            let spent = crate::list::charge(
                &state,
                &caller,
                crate::list::request_cost(false, req.uri().query()),
                None,
            )?;
            let resp = read_object(&state, &target, &base, version, req.uri().query())?;
            Ok(crate::list::with_unit_headers(resp, spent))
        }
        Action::AddKey
        | Action::RemoveKey
        | Action::Update
        | Action::AddPassword
        | Action::RemovePassword => {
            if let Err(wait) = state.faults.charge_write(caller.tid, caller.appid) {
                return Err(ApiError::too_many_requests(
                    wait,
                    Some(format!(
                        "Tenant_Application/Write/{}/{}",
                        caller.appid, caller.tid
                    )),
                    "WriteLimitExceeded",
                )
                .with_diagnostic("write budget of this app and tenant is spent"));
            }
            let conn = req.extensions().get::<ConnectionControl>().cloned();
            let (parts, body) = req.into_parts();
            let bytes = read_json_body(&parts.headers, body).await?;
            match route.action {
                Action::AddKey => add_key(&state, &target, &base, version, &bytes, conn).await,
                Action::Update => update_key_credentials(&state, &target, &bytes),
                Action::AddPassword => {
                    add_password(&state, &target, &base, version, &bytes, conn).await
                }
                Action::RemovePassword => remove_password(&state, &target, &bytes),
                _ => remove_key(&state, &target, &bytes),
            }
        }
    }
}

fn resolve(
    state: &SharedState,
    caller: &AccessClaims,
    route: &Route,
) -> Result<DirectoryObject, ApiError> {
    let id = Uuid::parse_str(&route.raw_id).map_err(|_| {
        ApiError::graph(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            format!("Invalid object identifier '{}'.", route.raw_id),
        )
    })?;
    let lookup = if route.by_app_id {
        Lookup::AppId(id)
    } else {
        Lookup::Id(id)
    };
    let kinds: &[ObjectKind] = match (route.collection, route.blueprint_cast) {
        (Collection::Applications, false) => {
            &[ObjectKind::Application, ObjectKind::AgentIdentityBlueprint]
        }
        (Collection::Applications, true) => &[ObjectKind::AgentIdentityBlueprint],
        (Collection::ServicePrincipals, _) => &[ObjectKind::ServicePrincipal],
    };
    state
        .store
        .find(caller.tid, lookup, kinds)?
        .ok_or_else(|| ApiError::not_found(&route.raw_id))
}

fn has_any(caller: &AccessClaims, roles: &[&str]) -> bool {
    caller.roles.iter().any(|r| roles.contains(&r.as_str()))
}

/// Directory roles (template ids) that may manage every application and service principal's credentials:
/// Global Administrator, Application Administrator, Cloud Application Administrator (docs/protocol.md §9).
const APP_ADMIN_ROLES: &[&str] = &[
    "62e90394-69f5-4237-9190-012177145e10",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    "158c047a-c907-4556-b7ef-446551a6b5f7",
];

/// A user's token (delegated): what the app may do on the user's behalf is the intersection of the scopes
/// granted to it and what the user may do. Writes need the delegated Application.ReadWrite.All (or
/// Directory.AccessAsUser.All; the blueprint permissions for a blueprint) and a user who owns the object or holds
/// an application administrator role; reads need a read scope and any member user may read. No self-roll: the
/// token is the user's, not the object's (docs/protocol.md §9).
fn authorize_delegated(
    caller: &AccessClaims,
    target: &DirectoryObject,
    action: Action,
) -> Result<(), ApiError> {
    let scoped = |names: &[&str]| {
        caller
            .scopes()
            .any(|s| names.iter().any(|n| n.eq_ignore_ascii_case(s)))
    };
    let blueprint = target.kind == ObjectKind::AgentIdentityBlueprint;
    let write_scopes: &[&str] = if blueprint {
        &[
            "AgentIdentityBlueprint.AddRemoveCreds.All",
            "AgentIdentityBlueprint.ReadWrite.All",
            "Application.ReadWrite.All",
            "Directory.AccessAsUser.All",
        ]
    } else {
        &["Application.ReadWrite.All", "Directory.AccessAsUser.All"]
    };
    let (scope_ok, user_ok, needs) = if action == Action::Read {
        (
            scoped(&[
                "Application.Read.All",
                "Application.ReadWrite.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
                "Directory.AccessAsUser.All",
            ]) || scoped(write_scopes),
            true,
            "a delegated read scope (Application.Read.All)",
        )
    } else {
        (
            scoped(write_scopes),
            target.owners.contains(&caller.oid)
                || caller
                    .wids
                    .iter()
                    .any(|w| APP_ADMIN_ROLES.contains(&w.as_str())),
            "the delegated scope Application.ReadWrite.All and a user who owns the object or is an Application Administrator or Cloud Application Administrator",
        )
    };
    if scope_ok && user_ok {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "user token (upn {}, scopes [{}]): this operation needs {needs}{}",
            caller.upn.as_deref().unwrap_or("-"),
            caller.scp.as_deref().unwrap_or(""),
            if scope_ok {
                "; the user is neither an owner nor holds such a role"
            } else {
                "; the token lacks the scope"
            }
        )))
    }
}

/// Self-roll needs no permission; other objects need the documented application roles. A user's token is
/// judged by [`authorize_delegated`].
fn authorize(
    caller: &AccessClaims,
    target: &DirectoryObject,
    action: Action,
) -> Result<(), ApiError> {
    if caller.is_delegated() {
        return authorize_delegated(caller, target, action);
    }
    let owner =
        target.owners.contains(&caller.oid) && has_any(caller, &["Application.ReadWrite.OwnedBy"]);
    let secrets = matches!(action, Action::AddPassword | Action::RemovePassword);
    let allowed = match (target.kind, action) {
        // Secrets carry no proof: the documented permissions, even for the app itself (docs/protocol.md §2a).
        (ObjectKind::Application | ObjectKind::ServicePrincipal, _) if secrets => {
            owner
                || has_any(
                    caller,
                    &["Application.ReadWrite.All", "Directory.ReadWrite.All"],
                )
        }
        (ObjectKind::AgentIdentityBlueprint, _) if secrets => has_any(
            caller,
            &[
                "AgentIdentityBlueprint.AddRemoveCreds.All",
                "AgentIdentityBlueprint.ReadWrite.All",
            ],
        ),
        // PATCH needs a write permission even on the caller's own object: the proof-of-possession that lets an
        // app roll its own keys with addKey does not apply to Update (docs/protocol.md §2).
        (ObjectKind::Application | ObjectKind::ServicePrincipal, Action::Update) => {
            owner
                || has_any(
                    caller,
                    &["Application.ReadWrite.All", "Directory.ReadWrite.All"],
                )
        }
        (ObjectKind::AgentIdentityBlueprint, Action::Update) => has_any(
            caller,
            &[
                "AgentIdentityBlueprint.ReadWrite.All",
                "Application.ReadWrite.All",
            ],
        ),
        (ObjectKind::Application, _) => {
            caller.appid == target.app_id
                || owner
                || has_any(
                    caller,
                    &["Application.ReadWrite.All", "Directory.ReadWrite.All"],
                )
                || (action == Action::Read
                    && has_any(caller, &["Application.Read.All", "Directory.Read.All"]))
        }
        (ObjectKind::AgentIdentityBlueprint, _) => {
            caller.appid == target.app_id
                || has_any(
                    caller,
                    &[
                        "AgentIdentityBlueprint.AddRemoveCreds.All",
                        "AgentIdentityBlueprint.ReadWrite.All",
                    ],
                )
                || (action == Action::Read
                    && has_any(caller, &["Application.Read.All", "Directory.Read.All"]))
        }
        // A service principal's keys need a permission even for its own app (docs/protocol.md §2).
        (ObjectKind::ServicePrincipal, Action::Read) => {
            caller.oid == target.id
                || has_any(
                    caller,
                    &[
                        "Application.Read.All",
                        "Application.ReadWrite.All",
                        "Directory.Read.All",
                        "Directory.ReadWrite.All",
                    ],
                )
        }
        (ObjectKind::ServicePrincipal, _) => {
            owner
                || has_any(
                    caller,
                    &["Application.ReadWrite.All", "Directory.ReadWrite.All"],
                )
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "the caller (appid {}) is not the target and holds none of the roles this operation needs",
            caller.appid
        )))
    }
}

async fn read_json_body(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::bad_request(format!(
            "The content type '{content_type}' is not supported; send application/json."
        ))
        .with_diagnostic("content type is not application/json"));
    }
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ApiError::bad_request(format!(
                "The request body is larger than the {MAX_BODY_BYTES} bytes accepted."
            ))
            .with_diagnostic("body too large")
        })
}

/// Refuses properties the type does not declare, as OData does.
fn check_properties(
    map: &Map<String, Value>,
    allowed: &[&str],
    type_name: &str,
) -> Result<(), ApiError> {
    for k in map.keys() {
        if k.starts_with("@odata.") || allowed.contains(&k.as_str()) {
            continue;
        }
        return Err(ApiError::bad_request(format!(
            "The property '{k}' does not exist on type '{type_name}'. Make sure to only use property names that are defined by the type."
        ))
        .with_diagnostic(format!("unknown property {k}")));
    }
    Ok(())
}

/// Refuses an `Edm.Binary` of a keyCredential that is not standard base64, as the service does (its
/// deserializer fails before the proof is looked at).
fn check_binaries(kc: &Map<String, Value>) -> Result<(), ApiError> {
    for name in ["key", "customKeyIdentifier"] {
        if let Some(Value::String(text)) = kc.get(name)
            && !text.is_empty()
            && let Err(e) = keyroll_proto::b64::decode_graph_input(text)
        {
            return Err(ApiError::graph(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "Cannot convert a primitive value to the expected type 'Edm.Binary'. See the inner exception for more details.",
            )
            .with_diagnostic(format!("keyCredential.{name}: {e}")));
        }
    }
    Ok(())
}

fn parse_body(
    bytes: &[u8],
    allowed: &[&str],
    action: &str,
) -> Result<Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!("Invalid JSON in the request body: {e}"))
            .with_diagnostic("malformed JSON")
    })?;
    let Value::Object(map) = value else {
        return Err(ApiError::bad_request(
            "The request body must be a JSON object.",
        ));
    };
    check_properties(&map, allowed, action)?;
    Ok(map)
}

/// The credential as the service shows it in addKey's answer and in listings: no key bytes.
fn without_key(mut kc: KeyCredential) -> KeyCredential {
    kc.key = None;
    kc
}

/// The keys of `target` that may sign now; refuses when none is left (the service's rule: addKey and
/// removeKey need a current certificate; otherwise use PATCH).
fn candidates(state: &SharedState, target: &DirectoryObject) -> Result<Vec<UsableKey>, ApiError> {
    let now = state.now();
    let keys = state.store.key_headers(target.id)?;
    let usable = state.signing_candidates(&keys, now);
    let certificate_of = |k: &KeyCredential| {
        usable
            .iter()
            .find(|u| Some(u.key_id) == k.key_id)
            .map(|u| u.certificate.clone())
    };
    if !key_status::valid_certificate_remains_with(&keys, &[], now, state.skew_secs, certificate_of)
    {
        return Err(ApiError::graph(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "The object has no valid certificate, so ownership of an existing key cannot be proven. Use the Update operation (PATCH keyCredentials) instead.",
        )
        .with_diagnostic("no currently valid certificate on the target"));
    }
    Ok(usable)
}

/// Judges the proof with core's inspector; returns the key id of the signer.
fn judge_proof(
    state: &SharedState,
    target: &DirectoryObject,
    usable: &[UsableKey],
    proof: &str,
) -> Result<Uuid, ApiError> {
    let certificates: Vec<_> = usable.iter().map(|k| k.certificate.clone()).collect();
    let options = InspectOptions {
        certificates: &certificates,
        expected_object_id: Some(target.id),
        app_id: Some(target.app_id),
        expected_audience: None,
        now: state.now(),
        clock_skew_secs: state.skew_secs,
    };
    let report = inspect(proof, &options);
    if let Some(err) = report.first_error() {
        let code = serde_json::to_value(err.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        return Err(ApiError::proof_rejected(format!(
            "proof {code}: {}",
            err.message
        )));
    }
    report
        .signer
        .and_then(|i| usable.get(i))
        .map(|k| k.key_id)
        .ok_or_else(|| ApiError::proof_rejected("proof signature: no signer identified"))
}

/// Runs `commit`, a write of `object_id`'s keys; when reads lag (replication delay), remembers the keys as
/// they were before it, which reads keep seeing for the delay. Returns the write's own outcome.
fn replicated_write<T, R>(
    state: &SharedState,
    object_id: Uuid,
    commit: impl FnOnce() -> Result<Result<T, R>, crate::error::StoreError>,
) -> Result<Result<T, R>, ApiError> {
    let (lag, _) = state.faults.replication_delays();
    let writing = state.replication.begin_write(lag);
    let before = match writing {
        Some(_) => Some(state.store.keys(object_id)?),
        None => None,
    };
    let committed = commit()?;
    if committed.is_ok()
        && let Some(before) = before
    {
        state
            .replication
            .record(object_id, state.now(), lag, before);
    }
    drop(writing);
    Ok(committed)
}

async fn add_key(
    state: &SharedState,
    target: &DirectoryObject,
    base: &str,
    version: &str,
    bytes: &[u8],
    conn: Option<ConnectionControl>,
) -> Result<Response, ApiError> {
    let request = parse_add_key(bytes)?;
    if request.proof.trim().is_empty() {
        return Err(ApiError::forbidden("the proof is missing"));
    }
    let usable = candidates(state, target)?;
    let signer = judge_proof(state, target, &usable, &request.proof)?;
    let validated =
        credential::validate_add_key(&request, state.now()).map_err(|errs| match errs.first() {
            Some(issue) => ApiError::graph(
                StatusCode::from_u16(issue.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
                issue.graph_code(),
                issue.graph_message(),
            )
            .with_diagnostic(issue.to_string()),
            None => ApiError::bad_request("The addKey request is invalid."),
        })?;
    let key_id = Uuid::new_v4();
    let stored = validated.stored_credential(key_id);
    let committed = replicated_write(state, target.id, || {
        state
            .store
            .add_key(target.id, &stored, Some(signer), MAX_KEY_CREDENTIALS)
    })?;
    let (_, activation) = state.faults.replication_delays();
    if committed.is_ok() && activation.is_positive() {
        let now = state.now();
        state.replication.activate_at(key_id, now, now + activation);
    }
    if let Err(refusal) = committed {
        return Err(add_key_refused(refusal, target));
    }
    state.remember_certificate(key_id, &validated.certificate);
    if let Some(conn) = conn
        && state.faults.take_drop_after_commit()
    {
        conn.drop_connection();
        // The connection task drops this request with its connection; never answer.
        std::future::pending::<()>().await;
    }
    credential_answer(stored, base, version)
}

/// Reads an addKey body as the service does: known properties only, binaries well formed, `@odata` annotations
/// dropped.
fn parse_add_key(bytes: &[u8]) -> Result<AddKeyRequest, ApiError> {
    let mut map = parse_body(
        bytes,
        &["keyCredential", "passwordCredential", "proof"],
        "microsoft.graph.addKey",
    )?;
    match map.get("keyCredential") {
        Some(Value::Object(kc)) => check_properties(
            kc,
            KEY_CREDENTIAL_PROPERTIES,
            "microsoft.graph.keyCredential",
        )?,
        Some(Value::Null) | None => {
            return Err(ApiError::bad_request(
                "The keyCredential parameter is required.",
            ));
        }
        Some(_) => return Err(ApiError::bad_request("keyCredential must be an object.")),
    }
    if let Some(Value::Object(pc)) = map.get("passwordCredential") {
        check_properties(
            pc,
            PASSWORD_CREDENTIAL_PROPERTIES,
            "microsoft.graph.passwordCredential",
        )?;
    }
    if let Some(Value::Object(kc)) = map.get("keyCredential") {
        check_binaries(kc)?;
    }
    for key in ["keyCredential", "passwordCredential"] {
        if let Some(Value::Object(o)) = map.get_mut(key) {
            o.retain(|k, _| !k.starts_with("@odata."));
        }
    }
    let request: AddKeyRequest = serde_json::from_value(Value::Object(map)).map_err(|e| {
        ApiError::bad_request(format!(
            "The request body is not a valid addKey request: {e}"
        ))
        .with_diagnostic("body does not deserialize")
    })?;
    Ok(request)
}

/// The service's answer when a valid addKey could not be committed.
fn add_key_refused(refusal: AddKeyRefusal, target: &DirectoryObject) -> ApiError {
    match refusal {
        AddKeyRefusal::TooManyKeys => ApiError::graph(
            StatusCode::BAD_REQUEST,
            "Directory_ResourceSizeExceeded",
            format!(
                "The size of the object has exceeded its limit. Please reduce the number of values and retry your request. (keyCredentials is limited to {MAX_KEY_CREDENTIALS})"
            ),
        )
        .with_diagnostic("key credential limit reached"),
        AddKeyRefusal::SignerGone => ApiError::proof_rejected(
            "proof signature: the signing key was removed while this request ran",
        ),
        AddKeyRefusal::ObjectGone => ApiError::not_found(&target.id.to_string()),
    }
}

/// addKey's answer: the stored credential without its key bytes, in OData form.
fn credential_answer(
    stored: KeyCredential,
    base: &str,
    version: &str,
) -> Result<Response, ApiError> {
    let mut body = serde_json::to_value(without_key(stored))
        .map_err(|e| ApiError::internal(format!("serializing the credential: {e}")))?;
    if let Value::Object(m) = &mut body {
        m.insert(
            "@odata.context".into(),
            json!(format!(
                "{base}/{version}/$metadata#microsoft.graph.keyCredential"
            )),
        );
    }
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

fn remove_key(
    state: &SharedState,
    target: &DirectoryObject,
    bytes: &[u8],
) -> Result<Response, ApiError> {
    let map = parse_body(bytes, &["keyId", "proof"], "microsoft.graph.removeKey")?;
    let request: RemoveKeyRequest = serde_json::from_value(Value::Object(map)).map_err(|e| {
        ApiError::bad_request(format!(
            "The request body is not a valid removeKey request: {e}"
        ))
        .with_diagnostic("body does not deserialize (keyId must be a GUID)")
    })?;
    if request.proof.trim().is_empty() {
        return Err(ApiError::forbidden("the proof is missing"));
    }
    let usable = candidates(state, target)?;
    let signer = judge_proof(state, target, &usable, &request.proof)?;
    let committed = replicated_write(state, target.id, || {
        state
            .store
            .remove_key(target.id, request.key_id, Some(signer))
    })?;
    match committed {
        Ok(()) => {}
        Err(RemoveKeyRefusal::NoSuchKey) => {
            return Err(ApiError::not_found(&request.key_id.to_string())
                .with_diagnostic("no key credential with this keyId on the target"));
        }
        Err(RemoveKeyRefusal::SignerGone) => {
            return Err(ApiError::proof_rejected(
                "proof signature: the signing key was removed while this request ran",
            ));
        }
    }
    state.forget_certificate(request.key_id);
    state.replication.forget(request.key_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// PATCH of an object with `keyCredentials`, as the service does it: the collection sent replaces the
/// object's; existing keys sent back by keyId without bytes are kept; new keys are judged by core's rules
/// (`credential::validate_key_credentials_update`), against the keys as they are when the write commits. No
/// proof is needed (the permission is the authority). Answers 204.
fn update_key_credentials(
    state: &SharedState,
    target: &DirectoryObject,
    bytes: &[u8],
) -> Result<Response, ApiError> {
    let body = parse_body(bytes, &["keyCredentials"], collection_type(target.kind))?;
    let sent: Vec<KeyCredential> = match body.get("keyCredentials") {
        None => return Ok(StatusCode::NO_CONTENT.into_response()),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let Value::Object(kc) = item else {
                    return Err(ApiError::bad_request(
                        "Each item of keyCredentials must be a keyCredential object.",
                    ));
                };
                check_properties(
                    kc,
                    KEY_CREDENTIAL_PROPERTIES,
                    "microsoft.graph.keyCredential",
                )?;
                check_binaries(kc)?;
                let mut kc = kc.clone();
                kc.retain(|k, _| !k.starts_with("@odata."));
                out.push(serde_json::from_value(Value::Object(kc)).map_err(|e| {
                    ApiError::bad_request(format!(
                        "A keyCredential of the request body is not valid: {e}"
                    ))
                    .with_diagnostic("keyCredential does not deserialize")
                })?);
            }
            out
        }
        Some(Value::Null) => Vec::new(),
        Some(_) => {
            return Err(ApiError::bad_request(
                "keyCredentials must be a collection of keyCredential objects.",
            ));
        }
    };
    if sent.len() > MAX_KEY_CREDENTIALS {
        return Err(add_key_refused(AddKeyRefusal::TooManyKeys, target));
    }
    let now = state.now();
    let committed = replicated_write(state, target.id, || {
        state
            .store
            .replace_keys(target.id, |current| {
                credential::validate_key_credentials_update(&sent, current, now, Uuid::new_v4)
                    .map(|u| (u.keys, (u.added, u.removed)))
            })
            .map(|r| match r {
                None => Err(None),
                Some(Ok(changes)) => Ok(changes),
                Some(Err(errs)) => Err(Some(errs)),
            })
    });
    let (added, removed) = match committed? {
        Ok(changes) => changes,
        Err(None) => return Err(ApiError::not_found(&target.id.to_string())),
        Err(Some(errs)) => {
            return Err(match errs.first() {
                Some(issue) => ApiError::graph(
                    StatusCode::from_u16(issue.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
                    issue.graph_code(),
                    issue.graph_message(),
                )
                .with_diagnostic(issue.to_string()),
                None => ApiError::bad_request("The keyCredentials are invalid."),
            });
        }
    };
    for (key_id, certificate) in &added {
        state.remember_certificate(*key_id, certificate);
    }
    for key_id in removed {
        state.forget_certificate(key_id);
        state.replication.forget(key_id);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// How long a generated secret is, in characters: within the documented 16-64.
const SECRET_LENGTH: usize = 40;
/// The characters a generated secret is drawn from (letters, digits and `~._-`, as the service's secrets).
const SECRET_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~._-";

/// A fresh secret, drawn from the system's random source without bias.
fn generate_secret() -> Result<ClientSecret, ApiError> {
    let mut out = String::with_capacity(SECRET_LENGTH);
    let mut buf = [0u8; 64];
    while out.len() < SECRET_LENGTH {
        aws_lc_rs::rand::fill(&mut buf)
            .map_err(|_| ApiError::internal("the random source failed"))?;
        // 256 = 4 * 64: every byte maps to one character evenly.
        for b in buf.iter().take(SECRET_LENGTH - out.len()) {
            out.push(char::from(
                SECRET_ALPHABET[usize::from(*b) % SECRET_ALPHABET.len()],
            ));
        }
    }
    zeroize::Zeroize::zeroize(&mut buf);
    Ok(ClientSecret::new(out))
}

/// addPassword: the service draws the secret, keeps its hash and hint, and answers with the secret this once.
async fn add_password(
    state: &SharedState,
    target: &DirectoryObject,
    base: &str,
    version: &str,
    bytes: &[u8],
    conn: Option<ConnectionControl>,
) -> Result<Response, ApiError> {
    let mut map = parse_body(
        bytes,
        &["passwordCredential"],
        "microsoft.graph.addPassword",
    )?;
    match map.get_mut("passwordCredential") {
        Some(Value::Object(pc)) => {
            check_properties(
                pc,
                PASSWORD_CREDENTIAL_PROPERTIES,
                "microsoft.graph.passwordCredential",
            )?;
            // The service generates the secret and ids; what the caller sends for them is not used.
            pc.retain(|k, _| matches!(k.as_str(), "displayName" | "startDateTime" | "endDateTime"));
        }
        Some(Value::Null) | None => {}
        Some(_) => {
            return Err(ApiError::bad_request(
                "passwordCredential must be an object.",
            ));
        }
    }
    let request: AddPasswordRequest = serde_json::from_value(Value::Object(map)).map_err(|e| {
        ApiError::bad_request(format!(
            "The request body is not a valid addPassword request: {e}"
        ))
        .with_diagnostic("body does not deserialize")
    })?;
    let plan = password::validate_add_password(request.password_credential.as_ref(), state.now())
        .map_err(|issue| {
        ApiError::graph(
            StatusCode::BAD_REQUEST,
            issue.graph_code(),
            issue.graph_message(),
        )
        .with_diagnostic(issue.to_string())
    })?;
    let secret = generate_secret()?;
    let key_id = Uuid::new_v4();
    let stored = NewPassword {
        key_id,
        display_name: plan.display_name.clone(),
        hint: Some(secret.hint()),
        start: Some(plan.start),
        end: Some(plan.end),
        custom_key_identifier: None,
        secret_sha256: Some(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.expose().as_bytes())
                .as_ref()
                .to_vec(),
        ),
    };
    if !state.store.add_password(target.id, &stored)? {
        return Err(ApiError::not_found(&target.id.to_string()));
    }
    if let Some(conn) = conn
        && state.faults.take_drop_after_commit()
    {
        conn.drop_connection();
        std::future::pending::<()>().await;
    }
    let mut body = serde_json::to_value(plan.credential(key_id, Some(&secret)))
        .map_err(|e| ApiError::internal(format!("serializing the credential: {e}")))?;
    if let Value::Object(m) = &mut body {
        m.insert(
            "@odata.context".into(),
            json!(format!(
                "{base}/{version}/$metadata#microsoft.graph.passwordCredential"
            )),
        );
    }
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

/// removePassword: 204, or the service's 404 for a keyId the object does not hold.
fn remove_password(
    state: &SharedState,
    target: &DirectoryObject,
    bytes: &[u8],
) -> Result<Response, ApiError> {
    let map = parse_body(bytes, &["keyId"], "microsoft.graph.removePassword")?;
    let request: RemovePasswordRequest =
        serde_json::from_value(Value::Object(map)).map_err(|e| {
            ApiError::bad_request(format!(
                "The request body is not a valid removePassword request: {e}"
            ))
            .with_diagnostic("body does not deserialize (keyId must be a GUID)")
        })?;
    if !state.store.remove_password(target.id, request.key_id)? {
        return Err(ApiError::not_found(&request.key_id.to_string())
            .with_diagnostic("no password credential with this keyId on the target"));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn read_object(
    state: &SharedState,
    target: &DirectoryObject,
    base: &str,
    version: &str,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let collection = match target.kind {
        ObjectKind::ServicePrincipal => Collection::ServicePrincipals,
        _ => Collection::Applications,
    };
    let mut select: Option<Vec<String>> = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(k);
        if k == "$select" || k == "select" {
            let v = percent_decode(&v.replace('+', " "));
            select = crate::list::parse_select(collection, &v, collection_type(target.kind))?;
        }
    }
    // What this read sees of recent writes: they replicate with the configured delay.
    let (lag, _) = state.faults.replication_delays();
    let keys = state
        .replication
        .visible(target.id, state.now(), lag, state.store.keys(target.id)?);
    // Key bytes only come back when keyCredentials is selected, as the service does.
    let with_bytes = select
        .as_ref()
        .is_some_and(|s| s.iter().any(|f| f == "keyCredentials"));
    let keys: Vec<KeyCredential> = if with_bytes {
        keys
    } else {
        keys.into_iter().map(without_key).collect()
    };
    let listed = ListedObject {
        object: target.clone(),
        keys,
        passwords: state.store.passwords(target.id)?,
    };
    let mut body = match crate::list::render(collection, listed, select.as_deref(), None) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let path = match collection {
        Collection::ServicePrincipals => "servicePrincipals",
        Collection::Applications => "applications",
    };
    let context = match &select {
        Some(fields) => format!(
            "{base}/{version}/$metadata#{path}({})/$entity",
            fields.join(",")
        ),
        None => format!("{base}/{version}/$metadata#{path}/$entity"),
    };
    body.insert("@odata.context".into(), json!(context));
    Ok((StatusCode::OK, axum::Json(Value::Object(body))).into_response())
}

fn collection_type(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Application => "application",
        ObjectKind::AgentIdentityBlueprint => "agentIdentityBlueprint",
        ObjectKind::ServicePrincipal => "servicePrincipal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_every_addressing_form() {
        let id = "8c1f7a4e-0000-4000-8000-000000000001";
        let r = parse_route(&format!("applications/{id}/addKey")).unwrap();
        assert_eq!(
            (r.collection, r.action, r.by_app_id),
            (Collection::Applications, Action::AddKey, false)
        );
        let r = parse_route(&format!("applications(appId='{id}')/removeKey")).unwrap();
        assert!(r.by_app_id);
        assert_eq!(r.raw_id, id);
        let r = parse_route(&format!(
            "applications(appId=%27{id}%27)/microsoft.graph.addKey"
        ))
        .unwrap();
        assert_eq!((r.by_app_id, r.action), (true, Action::AddKey));
        let r = parse_route(&format!(
            "applications/{id}/microsoft.graph.agentIdentityBlueprint/addKey"
        ))
        .unwrap();
        assert!(r.blueprint_cast);
        let r = parse_route(&format!("servicePrincipals/{id}")).unwrap();
        assert_eq!(
            (r.collection, r.action),
            (Collection::ServicePrincipals, Action::Read)
        );
        assert!(parse_route(&format!("applications/{id}/frobnicate")).is_err());
        assert!(parse_route(&format!("groups/{id}")).is_err());
        assert!(parse_route(&format!("applications/{id}/addKey/addKey")).is_err());
    }
}
