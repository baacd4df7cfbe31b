//! Collection reads of Graph: `GET /applications` and `GET /servicePrincipals` (and their `/$count`), with
//! `$select`, `$top`, `$filter`, `$count`, `$expand=owners` and `@odata.nextLink` paging, within the read
//! budget. docs/protocol.md §7 gives every shape and refusal with its source.
//!
//! Paging is keyset paging on the object id: a page holds the objects whose id sorts after the last id of
//! the previous page, and the skip token carries that id (signed, so that a forged or edited token is refused
//! rather than read). An object is therefore never returned twice by one scan, and never skipped because
//! another was added or changed meanwhile; an object created during the scan appears if its id sorts after
//! the scan's position.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyroll_proto::b64;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::ApiError;
use crate::faults::{ReadCharge, ReadRefusal};
use crate::state::SharedState;
use crate::store::{Condition, DirectoryObject, ListQuery, ListedObject, ObjectKind};
use crate::tokens::AccessClaims;

/// The default page size of both collections.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// The largest `$top` both collections accept.
pub const MAX_PAGE_SIZE: usize = 999;

/// Properties of an application the emulator can return (and so `$select`).
const APPLICATION_PROPERTIES: &[&str] = &[
    "id",
    "deletedDateTime",
    "appId",
    "createdDateTime",
    "displayName",
    "signInAudience",
    "keyCredentials",
    "passwordCredentials",
];

/// Properties of a service principal the emulator can return (v1.0 has no `createdDateTime` on it).
const SERVICE_PRINCIPAL_PROPERTIES: &[&str] = &[
    "id",
    "deletedDateTime",
    "accountEnabled",
    "appDisplayName",
    "appId",
    "appOwnerOrganizationId",
    "displayName",
    "servicePrincipalType",
    "signInAudience",
    "keyCredentials",
    "passwordCredentials",
];

/// The link to the advanced-query documentation Graph's own messages carry.
const ADVANCED_QUERIES: &str =
    "Refer to https://aka.ms/graph-docs/advanced-queries for more information";

/// Which collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// `/applications` (applications and agent identity blueprints).
    Applications,
    /// `/servicePrincipals`.
    ServicePrincipals,
}

impl Collection {
    fn path(self) -> &'static str {
        match self {
            Collection::Applications => "applications",
            Collection::ServicePrincipals => "servicePrincipals",
        }
    }

    fn type_name(self) -> &'static str {
        match self {
            Collection::Applications => "application",
            Collection::ServicePrincipals => "servicePrincipal",
        }
    }

    /// The resource name Graph's filter messages use.
    fn resource(self) -> &'static str {
        match self {
            Collection::Applications => "Application",
            Collection::ServicePrincipals => "ServicePrincipal",
        }
    }

    fn kinds(self) -> &'static [ObjectKind] {
        match self {
            Collection::Applications => {
                &[ObjectKind::Application, ObjectKind::AgentIdentityBlueprint]
            }
            Collection::ServicePrincipals => &[ObjectKind::ServicePrincipal],
        }
    }

    fn properties(self) -> &'static [&'static str] {
        match self {
            Collection::Applications => APPLICATION_PROPERTIES,
            Collection::ServicePrincipals => SERVICE_PRINCIPAL_PROPERTIES,
        }
    }

    fn number(self) -> u8 {
        match self {
            Collection::Applications => 0,
            Collection::ServicePrincipals => 1,
        }
    }
}

fn unsupported(message: impl Into<String>) -> ApiError {
    ApiError::graph(StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", message)
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::graph(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
}

/// Graph's answer to a property the type does not have.
pub fn no_such_property(name: &str, type_name: &str) -> ApiError {
    bad(format!(
        "Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'."
    ))
}

/// Percent-decodes a query component (`+` is a space).
fn decode(s: &str) -> String {
    crate::graph::percent_decode(&s.replace('+', " "))
}

/// A parsed collection request.
#[derive(Debug, Clone, Default)]
struct ListRequest {
    select: Option<Vec<String>>,
    top: Option<usize>,
    conditions: Vec<Condition>,
    /// The `$filter` text as sent, for the skip token's binding.
    filter_text: String,
    count: bool,
    expand_owners: bool,
    skiptoken: Option<String>,
    /// The raw `key=value` pairs other than `$skiptoken`, for the next link.
    passthrough: Vec<String>,
}

/// Reads a `$select` value: the properties in their declared spelling, each once; `None` when it names none.
/// Graph resolves property names case-insensitively; an unknown one is refused naming `type_name`.
pub(crate) fn parse_select(
    collection: Collection,
    value: &str,
    type_name: &str,
) -> Result<Option<Vec<String>>, ApiError> {
    let mut fields = Vec::new();
    for f in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let known = canonical(collection, f).ok_or_else(|| no_such_property(f, type_name))?;
        if !fields.iter().any(|k: &String| k == known) {
            fields.push(known.to_owned());
        }
    }
    Ok((!fields.is_empty()).then_some(fields))
}

/// The declared spelling of a property named in any case.
fn canonical(collection: Collection, name: &str) -> Option<&'static str> {
    collection
        .properties()
        .iter()
        .copied()
        .find(|p| p.eq_ignore_ascii_case(name))
}

/// Whether the request carries `ConsistencyLevel: eventual`.
fn eventual(headers: &HeaderMap) -> bool {
    headers
        .get("consistencylevel")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"))
}

fn parse_request(
    collection: Collection,
    query: Option<&str>,
    advanced: bool,
) -> Result<ListRequest, ApiError> {
    let mut req = ListRequest::default();
    let mut filter = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(raw_key);
        let value = decode(raw_value);
        // OData takes system query options with or without the `$`.
        let name = key.strip_prefix('$').unwrap_or(&key).to_ascii_lowercase();
        if name != "skiptoken" {
            req.passthrough.push(pair.to_owned());
        }
        match name.as_str() {
            "select" => req.select = parse_select(collection, &value, collection.type_name())?,
            "top" => {
                let top = value.trim().parse::<i64>().map_err(|_| {
                    bad(format!(
                        "Invalid page size specified: '{value}'. Must be between 1 and {MAX_PAGE_SIZE} inclusive."
                    ))
                })?;
                if !(1..=MAX_PAGE_SIZE as i64).contains(&top) {
                    return Err(unsupported(format!(
                        "Invalid page size specified: '{top}'. Must be between 1 and {MAX_PAGE_SIZE} inclusive."
                    )));
                }
                req.top = usize::try_from(top).ok();
            }
            "filter" => filter = Some(value),
            "count" => match value.trim().to_ascii_lowercase().as_str() {
                "true" => req.count = true,
                "false" => req.count = false,
                _ => {
                    return Err(bad(format!(
                        "The value '{value}' of the query option $count is not a boolean: use true or false."
                    ))
                    .with_diagnostic("$count must be true or false"));
                }
            },
            "expand" => {
                let what = value.trim();
                if what.eq_ignore_ascii_case("owners") {
                    req.expand_owners = true;
                } else {
                    let name = what.split(['(', '/']).next().unwrap_or(what);
                    return Err(bad(format!(
                        "Could not find a property named '{name}' on type 'microsoft.graph.{}'.",
                        collection.type_name()
                    ))
                    .with_diagnostic("the emulator expands owners only"));
                }
            }
            "skiptoken" => req.skiptoken = Some(value),
            "skip" => {
                return Err(bad("'$skip' is not supported by the service.")
                    .with_diagnostic("directory collections page with $skiptoken only"));
            }
            "orderby" | "search" => {
                return Err(unsupported(format!(
                    "The query option ${name} is not supported by the keyroll emulator."
                ))
                .with_diagnostic(format!("${name} is not implemented by the emulator")));
            }
            _ if key.starts_with('$') => {
                return Err(bad(format!(
                    "The query parameter '{key}' is not supported."
                )));
            }
            // Non-system parameters are ignored, as OData does.
            _ => {}
        }
    }
    if let Some(text) = filter {
        req.conditions = parse_filter(collection, &text, advanced && req.count)?;
        req.filter_text = text;
    }
    Ok(req)
}

/// A `$filter` token.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Open,
    Close,
    Comma,
}

fn tokenize(text: &str) -> Result<Vec<Token>, ApiError> {
    let syntax = |pos: usize, c: char| {
        bad(format!(
            "Invalid filter clause: Syntax error: character '{c}' is not valid at position {pos} in '{text}'."
        ))
    };
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            ',' => {
                out.push(Token::Comma);
                i += 1;
            }
            '\'' => {
                // OData strings double a quote to include it.
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(bad(format!(
                                "Invalid filter clause: There is an unterminated string literal at position {i} in '{text}'."
                            )));
                        }
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Token::Str(s));
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '/' | '$' | '.' | ':' | '-') => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric()
                        || matches!(chars[i], '_' | '/' | '$' | '.' | ':' | '-'))
                {
                    i += 1;
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
            other => return Err(syntax(i, other)),
        }
    }
    Ok(out)
}

/// Parses what the emulator can filter on: clauses joined by `and`, each `prop eq|ne 'value'` or
/// `startswith|endswith(displayName,'value')`; everything else is refused as Graph refuses it.
fn parse_filter(
    collection: Collection,
    text: &str,
    advanced: bool,
) -> Result<Vec<Condition>, ApiError> {
    let tokens = tokenize(text)?;
    let invalid = || {
        bad(format!(
            "Invalid filter clause: the expression '{text}' is not valid."
        ))
    };
    let clause_unsupported = |property: &str| {
        unsupported(format!(
            "Unsupported or invalid query filter clause specified for property '{property}' of resource '{}'.",
            collection.resource()
        ))
    };
    let needs_advanced = |operator: &str| {
        unsupported(format!(
            "Operator '{operator}' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. {ADVANCED_QUERIES}"
        ))
    };
    let check_property = |property: &str| -> Result<&'static str, ApiError> {
        let base = property.split('/').next().unwrap_or(property);
        let known = canonical(collection, base)
            .ok_or_else(|| no_such_property(base, collection.type_name()))?;
        if matches!(known, "keyCredentials" | "passwordCredentials") {
            return Err(unsupported(format!(
                "Complex query on property {known} is not supported."
            )));
        }
        Ok(known)
    };
    let mut out = Vec::new();
    let mut rest = tokens.as_slice();
    loop {
        let (condition, after) = match rest {
            // A lambda on a collection property: `keyCredentials/any(k:…)`.
            [Token::Word(p), Token::Open, ..] if p.contains('/') => {
                return Err(clause_unsupported(check_property(p)?));
            }
            [
                Token::Word(f),
                Token::Open,
                Token::Word(p),
                Token::Comma,
                Token::Str(v),
                Token::Close,
                after @ ..,
            ] if f.eq_ignore_ascii_case("startswith") || f.eq_ignore_ascii_case("endswith") => {
                let p = check_property(p)?;
                if p != "displayName" {
                    return Err(clause_unsupported(p));
                }
                let condition = if f.eq_ignore_ascii_case("startswith") {
                    Condition::NameStartsWith(v.clone())
                } else if advanced {
                    Condition::NameEndsWith(v.clone())
                } else {
                    return Err(needs_advanced("endsWith"));
                };
                (condition, after)
            }
            [Token::Word(p), Token::Word(op), value, after @ ..] => {
                let p = check_property(p)?;
                let op = op.to_ascii_lowercase();
                if !matches!(op.as_str(), "eq" | "ne") {
                    if matches!(op.as_str(), "gt" | "ge" | "lt" | "le") {
                        return Err(clause_unsupported(p));
                    }
                    return Err(invalid());
                }
                if op == "ne" && !advanced {
                    return Err(needs_advanced("ne"));
                }
                let text_value = match value {
                    Token::Str(s) => s.clone(),
                    Token::Word(w) if p == "id" || p == "appId" => w.clone(),
                    _ => return Err(invalid()),
                };
                let condition = match (p, op.as_str()) {
                    ("id" | "appId", "eq") => {
                        // A value that is no GUID matches nothing, as in the directory.
                        let id = Uuid::parse_str(&text_value).unwrap_or(Uuid::nil());
                        if p == "id" {
                            Condition::IdEq(id)
                        } else {
                            Condition::AppIdEq(id)
                        }
                    }
                    ("displayName", "eq") => Condition::NameEq(text_value),
                    ("displayName", "ne") => Condition::NameNe(text_value),
                    ("servicePrincipalType", "eq") => Condition::ManagedIdentityEq(
                        if text_value.eq_ignore_ascii_case("ManagedIdentity") {
                            Some(true)
                        } else if text_value.eq_ignore_ascii_case("Application") {
                            Some(false)
                        } else {
                            None
                        },
                    ),
                    _ => return Err(clause_unsupported(p)),
                };
                (condition, after)
            }
            [Token::Word(w), ..] if w.eq_ignore_ascii_case("not") => {
                return Err(if advanced {
                    clause_unsupported("displayName")
                } else {
                    needs_advanced("not")
                });
            }
            _ => return Err(invalid()),
        };
        out.push(condition);
        match after {
            [] => break,
            [Token::Word(and), more @ ..]
                if and.eq_ignore_ascii_case("and") && !more.is_empty() =>
            {
                rest = more
            }
            [Token::Word(or), ..] if or.eq_ignore_ascii_case("or") => {
                return Err(unsupported(format!(
                    "The 'or' operator is not supported by the keyroll emulator in '{text}'."
                ))
                .with_diagnostic("the emulator joins filter clauses with and only"));
            }
            _ => return Err(invalid()),
        }
    }
    Ok(out)
}

/// The resource units a read costs, as the identity service counts them: base 2 for `GET applications` (the
/// collection), 1 for any other read; `$select` −1, `$expand` +1, `$top` under 20 −1; never below 1.
pub fn request_cost(collection_of_applications: bool, query: Option<&str>) -> u32 {
    let mut cost: i32 = if collection_of_applications { 2 } else { 1 };
    for pair in query.unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = decode(k);
        let name = k.strip_prefix('$').unwrap_or(&k).to_ascii_lowercase();
        match name.as_str() {
            "select" => cost -= 1,
            "expand" => cost += 1,
            "top" if decode(v).trim().parse::<i64>().is_ok_and(|t| t < 20) => cost -= 1,
            _ => {}
        }
    }
    u32::try_from(cost.max(1)).unwrap_or(1)
}

/// Charges a read to the caller's budget; a refusal becomes the service's 429.
pub fn charge(
    state: &SharedState,
    caller: &AccessClaims,
    units: u32,
    key_select: Option<Collection>,
) -> Result<ReadCharge, ApiError> {
    state
        .faults
        .charge_read(
            caller.tid,
            caller.appid,
            units,
            key_select.map(Collection::number),
        )
        .map_err(|refusal| match refusal {
            ReadRefusal::ResourceUnits(wait) => ApiError::too_many_requests(
                wait,
                Some(format!(
                    "Tenant_Application/Read/{}/{}",
                    caller.appid, caller.tid
                )),
                "ResourceUnitLimitExceeded",
            )
            .with_diagnostic("read budget (resource units) of this app and tenant is spent"),
            ReadRefusal::KeySelect(wait) => ApiError::too_many_requests(
                wait,
                Some(format!("Tenant/Read/{}/{}", caller.appid, caller.tid)),
                "ResourceUnitLimitExceeded",
            )
            .with_diagnostic(
                "collection reads selecting keyCredentials are limited to 150 per minute per tenant",
            ),
        })
}

/// Adds `x-ms-resource-unit` (and `x-ms-throttle-limit-percentage` past 0.8 of the budget) to an answer.
pub fn with_unit_headers(mut resp: Response, charge: ReadCharge) -> Response {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&charge.units.to_string()) {
        h.insert("x-ms-resource-unit", v);
    }
    if let Some(share) = charge.limit_share
        && let Ok(v) = HeaderValue::from_str(&format!("{share:.1}"))
    {
        h.insert("x-ms-throttle-limit-percentage", v);
    }
    resp
}

/// Who may list, as Graph decides it: the read-all roles see the whole tenant, Application.ReadWrite.OwnedBy
/// only the objects its service principal owns, anyone else nothing (403).
fn scope_of(caller: &AccessClaims) -> Result<Option<Uuid>, ApiError> {
    // A user's token: a delegated read scope lets any member user list the tenant's objects.
    if caller.is_delegated() {
        const READ: &[&str] = &[
            "Application.Read.All",
            "Application.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
            "Directory.AccessAsUser.All",
        ];
        return if caller
            .scopes()
            .any(|s| READ.iter().any(|r| r.eq_ignore_ascii_case(s)))
        {
            Ok(None)
        } else {
            Err(ApiError::forbidden(format!(
                "user token (upn {}, scopes [{}]): listing needs a delegated read scope such as Application.Read.All",
                caller.upn.as_deref().unwrap_or("-"),
                caller.scp.as_deref().unwrap_or("")
            )))
        };
    }
    let has = |roles: &[&str]| caller.roles.iter().any(|r| roles.contains(&r.as_str()));
    if has(&[
        "Application.Read.All",
        "Application.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ]) {
        Ok(None)
    } else if has(&["Application.ReadWrite.OwnedBy"]) {
        Ok(Some(caller.oid))
    } else {
        Err(ApiError::forbidden(format!(
            "listing needs Application.Read.All (or Application.ReadWrite.All, Directory.Read.All; Application.ReadWrite.OwnedBy lists owned objects only); the caller (appid {}) holds none",
            caller.appid
        )))
    }
}

/// What the skip token binds a position to: the collection, the tenant, the filter and the owner scope.
fn fingerprint(collection: Collection, query: &ListQuery<'_>, filter_text: &str) -> [u8; 8] {
    let text = format!(
        "{}|{}|{:?}|{}|{:?}",
        collection.path(),
        query.tenant_id,
        query.conditions,
        filter_text,
        query.owned_by
    );
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest.as_ref()[..8]);
    out
}

const TOKEN_VERSION: u8 = 1;
const TOKEN_MAC_LEN: usize = 16;

fn token_mac(state: &SharedState, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, state.page_token_key()?);
    Ok(aws_lc_rs::hmac::sign(&key, body).as_ref()[..TOKEN_MAC_LEN].to_vec())
}

fn make_token(state: &SharedState, fp: [u8; 8], last: Uuid) -> Result<String, ApiError> {
    let mut body = Vec::with_capacity(25 + TOKEN_MAC_LEN);
    body.push(TOKEN_VERSION);
    body.extend_from_slice(&fp);
    body.extend_from_slice(last.as_bytes());
    let mac = token_mac(state, &body)?;
    body.extend_from_slice(&mac);
    Ok(b64::encode_url(&body))
}

/// The position a skip token carries, when it is one this emulator issued for this very query.
fn read_token(state: &SharedState, token: &str, fp: [u8; 8]) -> Result<Uuid, ApiError> {
    let refused = |why: &str| {
        ApiError::graph(
            StatusCode::BAD_REQUEST,
            "Directory_ExpiredPageToken",
            "The specified page token value has expired and can no longer be included in your request.",
        )
        .with_diagnostic(format!("$skiptoken refused: {why}"))
    };
    let bytes = b64::decode_lenient(token.trim()).map_err(|_| refused("not base64url"))?;
    if bytes.len() != 25 + TOKEN_MAC_LEN || bytes[0] != TOKEN_VERSION {
        return Err(refused("not a token of this emulator"));
    }
    let (body, mac) = bytes.split_at(25);
    let expected = token_mac(state, body)?;
    if aws_lc_rs::constant_time::verify_slices_are_equal(mac, &expected).is_err() {
        return Err(refused("signature does not match (edited or forged)"));
    }
    if body[1..9] != fp {
        return Err(refused(
            "issued for another query (filter, tenant or collection)",
        ));
    }
    Uuid::from_slice(&body[9..25]).map_err(|_| refused("position unreadable"))
}

/// Where the caller addressed Graph: the origin and the version segment, for `@odata` URLs.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// `scheme://host[:port]` as the caller used it.
    pub base: &'a str,
    /// `v1.0` or `beta`.
    pub version: &'a str,
}

/// Serves `GET /{collection}` and `GET /{collection}/$count`.
pub fn serve(
    state: &SharedState,
    caller: &AccessClaims,
    collection: Collection,
    raw_count: bool,
    origin: &Origin<'_>,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let Origin { base, version } = *origin;
    let owned_by = scope_of(caller)?;
    let advanced = eventual(headers);
    let req = parse_request(collection, query, advanced)?;
    let list_query = ListQuery {
        tenant_id: caller.tid,
        kinds: collection.kinds(),
        conditions: &req.conditions,
        owned_by,
    };
    if raw_count {
        if !advanced {
            return Err(unsupported(format!(
                "Raw count (/$count) is not supported because the 'ConsistencyLevel:eventual' header is missing. {ADVANCED_QUERIES}"
            )));
        }
        let spent = charge(state, caller, request_cost(false, query), None)?;
        let n = state.store.count(&list_query)?;
        let resp = (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain")],
            n.to_string(),
        )
            .into_response();
        return Ok(with_unit_headers(resp, spent));
    }
    let key_bytes = req
        .select
        .as_ref()
        .is_some_and(|s| s.iter().any(|f| f == "keyCredentials"));
    let spent = charge(
        state,
        caller,
        request_cost(collection == Collection::Applications, query),
        key_bytes.then_some(collection),
    )?;
    let fp = fingerprint(collection, &list_query, &req.filter_text);
    let after = req
        .skiptoken
        .as_deref()
        .map(|t| read_token(state, t, fp))
        .transpose()?;
    let top = req.top.unwrap_or(DEFAULT_PAGE_SIZE);
    let (page, more) = state.store.list_page(&list_query, after, top, key_bytes)?;
    // `@odata.count` only with the advanced-query header; without it Graph leaves it out silently.
    let count = if req.count && advanced {
        Some(state.store.count(&list_query)?)
    } else {
        None
    };
    let owners = if req.expand_owners {
        Some(owner_names(state, &page)?)
    } else {
        None
    };
    let mut context_items: Vec<String> = req.select.clone().unwrap_or_default();
    if req.expand_owners {
        context_items.push("owners()".into());
    }
    let context = if context_items.is_empty() {
        format!("{base}/{version}/$metadata#{}", collection.path())
    } else {
        format!(
            "{base}/{version}/$metadata#{}({})",
            collection.path(),
            context_items.join(",")
        )
    };
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(context));
    if let Some(n) = count {
        body.insert("@odata.count".into(), json!(n));
    }
    if more && let Some(last) = page.last() {
        let token = make_token(state, fp, last.object.id)?;
        let mut pairs = req.passthrough.clone();
        pairs.push(format!("$skiptoken={token}"));
        body.insert(
            "@odata.nextLink".into(),
            json!(format!(
                "{base}/{version}/{}?{}",
                collection.path(),
                pairs.join("&")
            )),
        );
    }
    let value: Vec<Value> = page
        .into_iter()
        .map(|o| render(collection, o, req.select.as_deref(), owners.as_ref()))
        .collect();
    body.insert("value".into(), Value::Array(value));
    let resp = (StatusCode::OK, axum::Json(Value::Object(body))).into_response();
    Ok(with_unit_headers(resp, spent))
}

type OwnerNames = std::collections::HashMap<Uuid, DirectoryObject>;

fn owner_names(state: &SharedState, page: &[ListedObject]) -> Result<OwnerNames, ApiError> {
    let mut ids: Vec<Uuid> = page
        .iter()
        .flat_map(|o| o.object.owners.iter().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(state
        .store
        .names(&ids)?
        .into_iter()
        .map(|o| (o.id, o))
        .collect())
}

/// One object in Graph's shape (a page's or a single read's), narrowed to `$select`.
pub(crate) fn render(
    collection: Collection,
    listed: ListedObject,
    select: Option<&[String]>,
    owners: Option<&OwnerNames>,
) -> Value {
    let ListedObject {
        object,
        keys,
        passwords,
    } = listed;
    let created = keyroll_proto::credential::serde_date::format(object.created);
    let mut full = Map::new();
    full.insert("id".into(), json!(object.id));
    full.insert("deletedDateTime".into(), Value::Null);
    match collection {
        Collection::Applications => {
            full.insert("appId".into(), json!(object.app_id));
            full.insert("createdDateTime".into(), json!(created));
            full.insert("displayName".into(), json!(object.display_name));
            full.insert("signInAudience".into(), json!("AzureADMyOrg"));
        }
        Collection::ServicePrincipals => {
            full.insert("accountEnabled".into(), json!(true));
            full.insert("appDisplayName".into(), json!(object.display_name));
            full.insert("appId".into(), json!(object.app_id));
            full.insert("appOwnerOrganizationId".into(), json!(object.tenant_id));
            full.insert("displayName".into(), json!(object.display_name));
            full.insert(
                "servicePrincipalType".into(),
                json!(if object.managed_identity {
                    "ManagedIdentity"
                } else {
                    "Application"
                }),
            );
            full.insert("signInAudience".into(), json!("AzureADMyOrg"));
        }
    }
    // `key` is set only when keyCredentials was selected (the store then read the bytes), `null` otherwise.
    full.insert("keyCredentials".into(), json!(keys));
    full.insert("passwordCredentials".into(), json!(passwords));
    let mut out = match select {
        Some(fields) => {
            let mut m = Map::new();
            for f in fields {
                if let Some(v) = full.remove(f) {
                    m.insert(f.clone(), v);
                }
            }
            m
        }
        None => full,
    };
    if object.kind == ObjectKind::AgentIdentityBlueprint {
        out.insert(
            "@odata.type".into(),
            json!("#microsoft.graph.agentIdentityBlueprint"),
        );
    }
    if let Some(names) = owners {
        let list: Vec<Value> = object
            .owners
            .iter()
            .filter_map(|id| names.get(id))
            .map(|o| {
                json!({
                    "@odata.type": "#microsoft.graph.servicePrincipal",
                    "id": o.id,
                    "appId": o.app_id,
                    "displayName": o.display_name,
                })
            })
            .collect();
        out.insert("owners".into(), Value::Array(list));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_follow_the_identity_table() {
        assert_eq!(request_cost(true, None), 2);
        assert_eq!(request_cost(true, Some("$select=id")), 1);
        assert_eq!(
            request_cost(true, Some("$select=id&$top=5")),
            1,
            "never below 1"
        );
        assert_eq!(request_cost(true, Some("$expand=owners")), 3);
        assert_eq!(request_cost(false, Some("$top=999&$select=id")), 1);
        assert_eq!(request_cost(true, Some("$top=10")), 1);
    }

    #[test]
    fn filters_parse_or_are_refused_as_graph_refuses_them() {
        let id = Uuid::new_v4();
        let c = parse_filter(
            Collection::Applications,
            &format!("appId eq '{id}' and startswith(displayName,'a''b')"),
            false,
        )
        .unwrap();
        assert_eq!(
            c,
            vec![
                Condition::AppIdEq(id),
                Condition::NameStartsWith("a'b".into())
            ]
        );
        let msg = |text: &str, advanced: bool| match parse_filter(
            Collection::ServicePrincipals,
            text,
            advanced,
        ) {
            Err(ApiError::Graph { code, message, .. }) => format!("{code}: {message}"),
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(
            msg(
                "keyCredentials/any(k:k/endDateTime le 2021-01-02T12:00:00Z)",
                true
            ),
            "Request_UnsupportedQuery: Complex query on property keyCredentials is not supported."
        );
        assert!(msg("displayName ne 'x'", false).contains("Operator 'ne' is not supported"));
        assert!(msg("endswith(displayName,'x')", false).contains("Operator 'endsWith'"));
        assert!(msg("frob eq 'x'", false).contains("Could not find a property named 'frob'"));
        assert!(
            msg("displayName gt 'x'", false)
                .contains("property 'displayName' of resource 'ServicePrincipal'")
        );
        assert!(msg("displayName eq 'x' or displayName eq 'y'", false).contains("'or'"));
        assert!(msg("displayName eq", false).starts_with("Request_BadRequest"));
        assert_eq!(
            parse_filter(Collection::ServicePrincipals, "displayName ne 'x'", true).unwrap(),
            vec![Condition::NameNe("x".into())]
        );
    }
}
