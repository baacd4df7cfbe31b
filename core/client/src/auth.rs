//! Access tokens for Graph: a given token, the app itself with a certificate (client credentials with a signed
//! assertion, docs/protocol.md §5), or a managed identity — resolved in one documented order of precedence, cached
//! in memory until shortly before they expire.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::cloud::Endpoints;
use crate::signer::{self, AssertionSignError, SharedSigner, SignError, Signer};
use keyroll_proto::ErrorKind;
use keyroll_proto::assertion::{AssertionError, AssertionRequest};
use keyroll_proto::cert::{CertError, SigningIdentity};
use keyroll_proto::clock::Clock;

/// A bearer token. Never shown by `Debug` or `Display`.
#[derive(Clone)]
pub struct AccessToken {
    secret: Arc<Zeroizing<String>>,
    /// When the token stops being usable.
    pub expires_at: OffsetDateTime,
}

impl AccessToken {
    /// A token with its expiry.
    pub fn new(secret: String, expires_at: OffsetDateTime) -> Self {
        AccessToken {
            secret: Arc::new(Zeroizing::new(secret)),
            expires_at,
        }
    }
    /// The token text, for the Authorization header only.
    pub fn secret(&self) -> &str {
        &self.secret
    }
    /// A string claim of the token (`upn`, `idtyp`, `scp`), read without verifying the signature: for messages
    /// and for telling a user's token from an app's, never to trust anything.
    pub fn claim(&self, name: &str) -> Option<String> {
        let payload = self.secret.split('.').nth(1)?;
        let bytes = keyroll_proto::b64::decode_jose_segment(payload).ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        claims
            .get(name)
            .and_then(serde_json::Value::as_str)
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string)
    }

    /// Whether this is a user's token (delegated: `idtyp` `user` or a `scp` claim) rather than an app's.
    pub fn is_delegated(&self) -> bool {
        self.claim("idtyp").as_deref() == Some("user") || self.claim("scp").is_some()
    }

    /// The tenant the token was issued in: its `tid` claim, read without verifying the signature (only the
    /// service that issued it can). Used to know where to verify a new key, never to trust anything: a wrong
    /// tenant makes that verification fail, not pass. `None` when the token is not a JWT or has no `tid`.
    pub fn tenant_id(&self) -> Option<String> {
        let payload = self.secret.split('.').nth(1)?;
        let bytes = keyroll_proto::b64::decode_jose_segment(payload).ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        claims
            .get("tid")
            .and_then(serde_json::Value::as_str)
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessToken(<redacted>, expires {})", self.expires_at)
    }
}

/// Where a managed identity's token comes from.
#[derive(Clone)]
pub enum ManagedIdentitySource {
    /// App Service / Functions / Azure Automation: `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`.
    AppService {
        /// The local endpoint.
        endpoint: String,
        /// The secret header value.
        header: Arc<Zeroizing<String>>,
    },
    /// The VM instance metadata service.
    Imds {
        /// The IMDS token URL.
        endpoint: String,
    },
}

impl fmt::Debug for ManagedIdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManagedIdentitySource::AppService { endpoint, .. } => {
                write!(f, "AppService({endpoint}, header <redacted>)")
            }
            ManagedIdentitySource::Imds { endpoint } => write!(f, "Imds({endpoint})"),
        }
    }
}

/// The default IMDS token endpoint.
pub const IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// The path of IMDS's token endpoint under its authority.
const IMDS_TOKEN_PATH: &str = "/metadata/identity/oauth2/token";

impl ManagedIdentitySource {
    /// App Service / Automation form when `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are set, else Azure's instance
    /// metadata service (a VM), at 169.254.169.254 unless its authority is overridden as Azure's identity
    /// libraries allow: `AZURE_POD_IDENTITY_AUTHORITY_HOST` (azure-identity's IMDS override), or `IMDS_ENDPOINT`
    /// (the same authority, as Azure Arc names it; read only when `IDENTITY_ENDPOINT` is not set).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        match (env("IDENTITY_ENDPOINT"), env("IDENTITY_HEADER")) {
            (Some(endpoint), Some(header)) if !endpoint.is_empty() => {
                ManagedIdentitySource::AppService {
                    endpoint,
                    header: Arc::new(Zeroizing::new(header)),
                }
            }
            _ => {
                let authority = env("AZURE_POD_IDENTITY_AUTHORITY_HOST")
                    .or_else(|| env("IMDS_ENDPOINT"))
                    .map(|a| a.trim().trim_end_matches('/').to_string())
                    .filter(|a| !a.is_empty());
                ManagedIdentitySource::Imds {
                    endpoint: match authority {
                        Some(a) if a.ends_with(IMDS_TOKEN_PATH) => a,
                        Some(a) => format!("{a}{IMDS_TOKEN_PATH}"),
                        None => IMDS_ENDPOINT.into(),
                    },
                }
            }
        }
    }
}

/// How to authenticate to Graph.
#[derive(Clone)]
pub enum Credential {
    /// A token obtained elsewhere.
    Token(AccessToken),
    /// The application itself, with one of its certificates.
    ClientCertificate {
        /// Tenant id or domain.
        tenant: String,
        /// The application's client id (appId).
        client_id: String,
        /// The certificate whose key signs the assertion (in this process, in Key Vault, or in the host).
        identity: SharedSigner,
    },
    /// A managed identity.
    ManagedIdentity {
        /// A user-assigned identity's client id; `None` for the system-assigned one.
        client_id: Option<String>,
        /// The token source.
        source: ManagedIdentitySource,
    },
    /// A user, signed in by device code ([`crate::devicecode`]): delegated tokens, renewed by refresh token.
    User(Arc<crate::devicecode::UserSession>),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Token(t) => write!(f, "Token({t:?})"),
            Credential::ClientCertificate {
                tenant,
                client_id,
                identity,
            } => write!(
                f,
                "ClientCertificate(tenant {tenant}, client {client_id}, cert {}, {})",
                identity.certificate().sha1_hex(),
                identity.location()
            ),
            Credential::ManagedIdentity { client_id, source } => {
                write!(f, "ManagedIdentity({client_id:?}, {source:?})")
            }
            Credential::User(s) => write!(f, "User({s:?})"),
        }
    }
}

impl Credential {
    /// A short description without secrets, for logs and reports.
    pub fn describe(&self) -> String {
        match self {
            Credential::Token(_) => "a given access token".into(),
            Credential::ClientCertificate {
                client_id,
                identity,
                ..
            } => format!(
                "app {client_id} with certificate {}",
                identity.certificate().sha1_hex()
            ),
            Credential::ManagedIdentity { client_id, .. } => match client_id {
                Some(c) => format!("user-assigned managed identity {c}"),
                None => "system-assigned managed identity".into(),
            },
            Credential::User(s) => format!(
                "user {} (delegated, through client {})",
                s.user().unwrap_or("(unnamed)"),
                s.client_id()
            ),
        }
    }

    /// Whether Graph sees a user behind this credential's tokens (a delegated token: the user's permissions and
    /// the scopes granted decide), not an application. A given token says so by its claims.
    pub fn is_delegated(&self) -> bool {
        match self {
            Credential::User(_) => true,
            Credential::Token(t) => t.is_delegated(),
            _ => false,
        }
    }
}

/// What the user supplied, before precedence is applied.
#[derive(Default, Clone)]
pub struct AuthSettings {
    /// A token (from an environment variable the user named).
    pub token: Option<String>,
    /// Tenant id.
    pub tenant: Option<String>,
    /// Client id (appId) — of the app, or of a user-assigned managed identity.
    pub client_id: Option<String>,
    /// A certificate to authenticate the app with (its key anywhere a [`Signer`] reaches).
    pub certificate: Option<SharedSigner>,
    /// Use a managed identity.
    pub managed_identity: bool,
}

/// Why no token could be obtained.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Nothing to authenticate with.
    #[error(
        "no credentials: give an access token, the app's own certificate with its tenant id and client id, or a managed identity, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_CERTIFICATE_PATH"
    )]
    NoCredentials,
    /// A certificate without tenant or client id.
    #[error(
        "authenticating as the app with its certificate needs {missing}: the tenant id and the client id (the appId)"
    )]
    Incomplete {
        /// What is missing.
        missing: &'static str,
    },
    /// The certificate named by AZURE_CLIENT_CERTIFICATE_PATH cannot be used.
    #[error("AZURE_CLIENT_CERTIFICATE_PATH: {0}")]
    EnvCertificate(#[source] CertError),
    /// Minting the client assertion failed.
    #[error(transparent)]
    Assertion(#[from] AssertionError),
    /// The key that signs the client assertion (held elsewhere: Key Vault, the host) could not sign.
    #[error(
        "cannot sign the client assertion with certificate {thumbprint} ({location}): {source}"
    )]
    Sign {
        /// The certificate's thumbprint.
        thumbprint: String,
        /// Where its key is.
        location: String,
        /// Why.
        #[source]
        source: Box<SignError>,
    },
    /// A token given for Graph cannot be used for another resource (Key Vault).
    #[error(
        "the access token given is for Graph, not for {resource}: give a token for {resource} as well, or sign in with a certificate or a managed identity, which get tokens for both"
    )]
    GivenTokenIsForGraph {
        /// The other resource.
        resource: String,
    },
    /// The identity platform refused.
    #[error("the identity platform refused the token request: {error}: {description}{}", hint.as_deref().map(|h| format!(" — {h}")).unwrap_or_default())]
    Refused {
        /// HTTP status.
        status: u16,
        /// OAuth error.
        error: String,
        /// AADSTS description.
        description: String,
        /// AADSTS codes.
        codes: Vec<u32>,
        /// What to do about it.
        hint: Option<String>,
    },
    /// The managed identity endpoint refused.
    #[error("the managed identity endpoint answered {status}: {detail}")]
    ManagedIdentity {
        /// HTTP status.
        status: u16,
        /// Its message.
        detail: String,
    },
    /// Network or TLS failure on the way to a sign-in endpoint (token, device code, managed identity).
    #[error("cannot reach the sign-in endpoint {url}: {detail}")]
    Transport {
        /// The URL (no secrets in it).
        url: String,
        /// What failed.
        detail: String,
    },
    /// The certificate this connection signs in with was removed from the application (by a roll or a key
    /// removal through this connection) and the connection had no new certificate to switch to.
    #[error(
        "the connection's certificate {thumbprint} was removed from the application (by a roll or a key removal through this connection), so it can no longer sign in; reconnect with the new certificate"
    )]
    SignerRemoved {
        /// The removed certificate's SHA-1 thumbprint.
        thumbprint: String,
    },
    /// The token cache cannot be used (its permissions, its contents, its folder).
    #[error(transparent)]
    TokenCache(#[from] crate::devicecode::CacheError),
    /// The user declined the sign-in at the verification page.
    #[error(
        "the sign-in was declined at {verification_uri}: sign in again and approve it there, or sign in as another user"
    )]
    DeviceCodeDeclined {
        /// The page.
        verification_uri: String,
    },
    /// The device code expired before the user signed in.
    #[error(
        "the device code expired before the sign-in was completed at {verification_uri}: sign in again and enter the new code there before it expires"
    )]
    DeviceCodeExpired {
        /// The page.
        verification_uri: String,
    },
    /// The wait for the user was stopped.
    #[error("the sign-in was cancelled before the user completed it")]
    DeviceCodeCancelled,
    /// A cached sign-in can no longer be renewed.
    #[error(
        "the sign-in of {user} can no longer be renewed: {reason}; sign in again with a device code"
    )]
    SignInAgain {
        /// Who was signed in.
        user: String,
        /// Why (the service's error and code, never a token).
        reason: String,
    },
    /// A user's sign-in is for Graph only: another resource (Key Vault) needs its own credential.
    #[error(
        "the signed-in user's token is for Graph, not for {resource}: give a token for {resource}, or sign in with a certificate or a managed identity, which get tokens for both"
    )]
    DelegatedIsForGraph {
        /// The other resource.
        resource: String,
    },
    /// A response that is not a token.
    #[error("the token endpoint {url} answered something that is not a token response ({detail})")]
    InvalidResponse {
        /// The URL.
        url: String,
        /// What was wrong.
        detail: String,
    },
}

impl AuthError {
    /// The kind of failure: what the caller must give (credentials, a tenant or client id, a usable
    /// certificate) is input; the identity platform's answers are the service's; the network's is transport.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AuthError::NoCredentials
            | AuthError::Incomplete { .. }
            | AuthError::EnvCertificate(_)
            | AuthError::Assertion(_)
            | AuthError::SignerRemoved { .. }
            | AuthError::GivenTokenIsForGraph { .. }
            | AuthError::DelegatedIsForGraph { .. }
            | AuthError::TokenCache(_)
            | AuthError::DeviceCodeCancelled => ErrorKind::Input,
            AuthError::DeviceCodeDeclined { .. }
            | AuthError::DeviceCodeExpired { .. }
            | AuthError::SignInAgain { .. } => ErrorKind::Service,
            AuthError::Sign { source, .. } => source.kind(),
            AuthError::Refused { .. }
            | AuthError::ManagedIdentity { .. }
            | AuthError::InvalidResponse { .. } => ErrorKind::Service,
            AuthError::Transport { .. } => ErrorKind::Transport,
        }
    }

    /// The stable code every face shows: the OAuth error of a refusal, else the failure's family.
    pub fn code(&self) -> String {
        match self {
            AuthError::Refused { error, .. } => error.clone(),
            AuthError::ManagedIdentity { .. } => "managed_identity".into(),
            AuthError::Transport { .. } => "transport".into(),
            AuthError::InvalidResponse { .. } => "invalid_response".into(),
            AuthError::SignerRemoved { .. } => "signer_removed".into(),
            AuthError::TokenCache(_) => "token_cache".into(),
            AuthError::DeviceCodeDeclined { .. } => "authorization_declined".into(),
            AuthError::DeviceCodeExpired { .. } => "expired_token".into(),
            AuthError::DeviceCodeCancelled => "cancelled".into(),
            AuthError::SignInAgain { .. } => "sign_in_again".into(),
            AuthError::Sign { source, .. } => source.code(),
            _ => "credentials".into(),
        }
    }

    /// Whether the failure is the network's rather than the service's verdict.
    pub fn is_transport(&self) -> bool {
        matches!(self, AuthError::Transport { .. })
    }
}

/// Every environment variable this module reads (through the `env` function its callers pass): the Azure SDK's
/// certificate credential and the managed-identity endpoint. Hosts that keep their own copy of the environment
/// (.NET, so PowerShell) pass exactly these in the connection settings; the list lives here, beside the reads, so
/// that a host never keeps a copy of it.
pub const CREDENTIAL_ENVIRONMENT: &[&str] = &[
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "IMDS_ENDPOINT",
    "KEYROLL_TOKEN_CACHE",
    "XDG_CACHE_HOME",
    "HOME",
    "LOCALAPPDATA",
];

/// Where delegated sign-ins are kept ([`crate::devicecode::TokenCache`]): `KEYROLL_TOKEN_CACHE` (a file path)
/// when set; else in the user's profile: `%LOCALAPPDATA%\keyroll\token-cache.json` on Windows,
/// `$XDG_CACHE_HOME/keyroll/token-cache.json` or `$HOME/.cache/keyroll/token-cache.json` elsewhere.
pub fn token_cache_location(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<std::path::PathBuf, crate::devicecode::CacheError> {
    use std::path::PathBuf;
    let set = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    if let Some(p) = set(env("KEYROLL_TOKEN_CACHE")) {
        return Ok(PathBuf::from(p));
    }
    let file = |base: PathBuf| base.join("keyroll").join("token-cache.json");
    if cfg!(windows) {
        if let Some(l) = set(env("LOCALAPPDATA")) {
            return Ok(file(PathBuf::from(l)));
        }
    } else if let Some(x) = set(env("XDG_CACHE_HOME")) {
        return Ok(file(PathBuf::from(x)));
    }
    match set(env("HOME")) {
        Some(h) => Ok(file(PathBuf::from(h).join(".cache"))),
        None => Err(crate::devicecode::CacheError::NoLocation),
    }
}

/// Applies the order of precedence: a given token; the app with a certificate; a managed identity; the Azure
/// SDK environment variables (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_CERTIFICATE_PATH`,
/// `AZURE_CLIENT_CERTIFICATE_PASSWORD`). `env` reads the environment (injected for tests).
pub fn resolve_credential(
    settings: &AuthSettings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Credential, AuthError> {
    if let Some(t) = &settings.token {
        // A given token has no known expiry: treat it as valid for an hour; the service is the judge.
        return Ok(Credential::Token(AccessToken::new(
            t.trim().to_string(),
            OffsetDateTime::now_utc() + Duration::hours(1),
        )));
    }
    if let Some(identity) = &settings.certificate
        && !settings.managed_identity
    {
        let tenant = settings
            .tenant
            .clone()
            .or_else(|| env("AZURE_TENANT_ID"))
            .ok_or(AuthError::Incomplete {
                missing: "a tenant id",
            })?;
        let client_id = settings
            .client_id
            .clone()
            .or_else(|| env("AZURE_CLIENT_ID"))
            .ok_or(AuthError::Incomplete {
                missing: "a client id",
            })?;
        return Ok(Credential::ClientCertificate {
            tenant,
            client_id,
            identity: identity.clone(),
        });
    }
    if settings.managed_identity {
        return Ok(Credential::ManagedIdentity {
            client_id: settings.client_id.clone(),
            source: ManagedIdentitySource::from_env(env),
        });
    }
    if let (Some(tenant), Some(client_id), Some(path)) = (
        env("AZURE_TENANT_ID"),
        env("AZURE_CLIENT_ID"),
        env("AZURE_CLIENT_CERTIFICATE_PATH"),
    ) {
        let password = env("AZURE_CLIENT_CERTIFICATE_PASSWORD").map(Zeroizing::new);
        let identity = SigningIdentity::load_file(
            std::path::Path::new(&path),
            None,
            password.as_deref().map(String::as_str),
        )
        .map_err(AuthError::EnvCertificate)?;
        return Ok(Credential::ClientCertificate {
            tenant: settings.tenant.clone().unwrap_or(tenant),
            client_id: settings.client_id.clone().unwrap_or(client_id),
            identity: signer::local(Arc::new(identity)),
        });
    }
    Err(AuthError::NoCredentials)
}

/// Refresh a cached token this long before it expires.
const REFRESH_MARGIN: Duration = Duration::minutes(5);

/// Gets and caches tokens for one credential.
pub struct TokenProvider {
    /// Replaced when a roll removes the certificate it signs with ([`TokenProvider::follow_roll`]).
    credential: std::sync::RwLock<Credential>,
    /// The thumbprint of the certificate the credential signs in with, once a removal through this connection
    /// took it off the application: a token request refused after that says why.
    removed_signer: std::sync::Mutex<Option<String>>,
    endpoints: Endpoints,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    cache: Mutex<Option<AccessToken>>,
    identity_http: Option<reqwest::Client>,
    /// The resource tokens are for when it is not the cloud's Graph (Key Vault): its base URL.
    resource: Option<String>,
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenProvider")
            .field("credential", &self.credential())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    expires_on: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<u32>,
}

fn number(v: &Option<serde_json::Value>) -> Option<i64> {
    match v.as_ref()? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// What to do about an AADSTS code, in plain words.
fn aadsts_hint(codes: &[u32]) -> Option<String> {
    let hint = match codes.first()? {
        700027 => {
            "the certificate that signed the client assertion is not registered on the app (or has expired); authenticate with one of the app's current certificates"
        }
        700024 => {
            "the client assertion is outside its valid time range; check this machine's clock"
        }
        700016 => {
            "no application with this client id in the tenant; check the client id (the appId) and the tenant id"
        }
        90002 | 900023 => "the tenant was not found; check the tenant id",
        50027 => "the client assertion is not a valid JWT",
        70011 => "the scope is invalid; check the cloud",
        1002012 => {
            "client credentials take the resource's /.default scope (https://graph.microsoft.com/.default, or the same on the cloud's Graph host), not single permissions such as Application.ReadWrite.All: the application permissions granted to the app come with the token"
        }
        7000215 => "the client secret is invalid",
        _ => return None,
    };
    Some(hint.to_string())
}

impl TokenProvider {
    /// A provider for `credential` against `endpoints`.
    pub fn new(
        credential: Credential,
        endpoints: Endpoints,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Self {
        TokenProvider {
            credential: std::sync::RwLock::new(credential),
            removed_signer: std::sync::Mutex::new(None),
            endpoints,
            http,
            clock,
            cache: Mutex::new(None),
            identity_http: None,
            resource: None,
        }
    }

    /// A provider with the same credential for another resource of the cloud (`resource` is its base URL, e.g.
    /// `https://vault.azure.net`): the same app certificate or managed identity, its own token cache. A token
    /// given for Graph is not one for the other resource ([`AuthError::GivenTokenIsForGraph`]).
    pub fn for_resource(&self, resource: &str) -> TokenProvider {
        TokenProvider {
            credential: std::sync::RwLock::new(self.credential()),
            removed_signer: std::sync::Mutex::new(None),
            endpoints: self.endpoints.clone(),
            http: self.http.clone(),
            clock: self.clock.clone(),
            cache: Mutex::new(None),
            identity_http: self.identity_http.clone(),
            resource: Some(resource.trim_end_matches('/').to_string()),
        }
    }

    /// The resource's base URL (the cloud's Graph unless [`TokenProvider::for_resource`] said otherwise).
    pub fn resource(&self) -> String {
        self.resource
            .clone()
            .unwrap_or_else(|| self.endpoints.cloud.graph_resource().to_string())
    }

    /// The scope of a client-credentials request: the resource's `/.default`.
    fn scope(&self) -> String {
        match &self.resource {
            Some(r) => format!("{r}/.default"),
            None => self.endpoints.scope(),
        }
    }

    /// The client for managed-identity endpoints: local plain-http services that must not be reached through a
    /// proxy, which would see the identity header and the token in clear text (build it with
    /// [`crate::http::build_identity_client`]). Without it, the Graph client is used.
    pub fn with_identity_http(mut self, client: reqwest::Client) -> Self {
        self.identity_http = Some(client);
        self
    }

    /// The credential.
    pub fn credential(&self) -> Credential {
        self.credential
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The tenant this provider's tokens are for: the one it signs in to as an app, else the `tid` of its token
    /// (a given token, a managed identity's: a token is fetched if none is cached). `None` when neither says.
    pub async fn tenant(&self) -> Option<String> {
        if let Credential::ClientCertificate { tenant, .. } = self.credential() {
            return Some(tenant);
        }
        self.token().await.ok().and_then(|t| t.tenant_id())
    }

    /// After a roll removed the certificate `removed`: when this provider signs in with it, it signs in with
    /// `new` from now on (the old one no longer works) and the answer is `true`. Cached tokens stay: they were
    /// issued and remain valid until they expire.
    pub fn follow_roll(
        &self,
        removed: &keyroll_proto::cert::Certificate,
        new: &SharedSigner,
    ) -> bool {
        let mut credential = self.credential.write().unwrap_or_else(|e| e.into_inner());
        match &mut *credential {
            Credential::ClientCertificate { identity, .. }
                if identity.certificate() == removed && new.certificate() != removed =>
            {
                *identity = new.clone();
                *self
                    .removed_signer
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = None;
                true
            }
            _ => false,
        }
    }

    /// A key with this thumbprint was removed from the application through this connection: when it is the
    /// certificate the connection signs in with, a later refused token request says so (rather than the
    /// identity platform's bare "not a key of the app").
    pub fn note_removed(&self, thumbprint: &str) {
        if let Credential::ClientCertificate { identity, .. } = self.credential()
            && identity
                .certificate()
                .sha1_hex()
                .eq_ignore_ascii_case(thumbprint)
        {
            *self
                .removed_signer
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(thumbprint.to_ascii_uppercase());
        }
    }

    /// Forgets the cached token (after the service called it invalid).
    pub async fn invalidate(&self) {
        *self.cache.lock().await = None;
    }

    /// A token, from the cache while it has more than five minutes left.
    pub async fn token(&self) -> Result<AccessToken, AuthError> {
        let mut cache = self.cache.lock().await;
        let now = self.clock.now();
        if let Some(t) = cache.as_ref()
            && t.expires_at - REFRESH_MARGIN > now
        {
            return Ok(t.clone());
        }
        let fresh = match self.acquire(now).await {
            Ok(t) => t,
            Err(AuthError::Refused { .. }) if self.signer_removed().is_some() => {
                return Err(AuthError::SignerRemoved {
                    thumbprint: self.signer_removed().unwrap_or_default(),
                });
            }
            Err(e) => return Err(e),
        };
        *cache = Some(fresh.clone());
        Ok(fresh)
    }

    fn signer_removed(&self) -> Option<String> {
        self.removed_signer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    async fn acquire(&self, now: OffsetDateTime) -> Result<AccessToken, AuthError> {
        match &self.credential() {
            Credential::Token(_) if self.resource.is_some() => {
                Err(AuthError::GivenTokenIsForGraph {
                    resource: self.resource(),
                })
            }
            Credential::Token(t) => Ok(t.clone()),
            Credential::ClientCertificate {
                tenant,
                client_id,
                identity,
            } => {
                request_token(
                    &self.http,
                    &self.endpoints,
                    &self.scope(),
                    tenant,
                    client_id,
                    identity.as_ref(),
                    now,
                )
                .await
            }
            Credential::ManagedIdentity { client_id, source } => {
                self.managed_identity(client_id.as_deref(), source, now)
                    .await
            }
            Credential::User(_) if self.resource.is_some() => Err(AuthError::DelegatedIsForGraph {
                resource: self.resource(),
            }),
            Credential::User(session) => session.token(&self.http, &self.endpoints, now).await,
        }
    }

    async fn managed_identity(
        &self,
        client_id: Option<&str>,
        source: &ManagedIdentitySource,
        now: OffsetDateTime,
    ) -> Result<AccessToken, AuthError> {
        let resource = self.resource();
        let resource = resource.as_str();
        let http = self.identity_http.as_ref().unwrap_or(&self.http);
        let (url, req) = match source {
            ManagedIdentitySource::AppService { endpoint, header } => {
                let mut q = vec![("resource", resource), ("api-version", "2019-08-01")];
                if let Some(c) = client_id {
                    q.push(("client_id", c));
                }
                (
                    endpoint.clone(),
                    http.get(endpoint)
                        .query(&q)
                        .header("X-IDENTITY-HEADER", header.as_str()),
                )
            }
            ManagedIdentitySource::Imds { endpoint } => {
                let mut q = vec![("resource", resource), ("api-version", "2018-02-01")];
                if let Some(c) = client_id {
                    q.push(("client_id", c));
                }
                (
                    endpoint.clone(),
                    http.get(endpoint).query(&q).header("Metadata", "true"),
                )
            }
        };
        let resp = req.send().await.map_err(|e| AuthError::Transport {
            url: url.clone(),
            detail: crate::http::describe_reqwest(&e),
        })?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| AuthError::Transport {
            url: url.clone(),
            detail: e.to_string(),
        })?;
        if status != 200 {
            return Err(AuthError::ManagedIdentity {
                status,
                detail: managed_identity_refusal(status, &body),
            });
        }
        parse_token(&url, &body, now)
    }
}

/// A managed-identity endpoint's refusal as a sentence: the message out of its JSON (`error_description`, as
/// IMDS and App Service send it, or `error.message` / `Message`), never the raw JSON, with what to check for
/// the usual statuses. A body that is not JSON is quoted, shortened.
fn managed_identity_refusal(status: u16, body: &[u8]) -> String {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    fn text(v: Option<&serde_json::Value>) -> Option<&str> {
        v.and_then(|v| v.as_str()).map(str::trim)
    }
    let said = json.as_ref().and_then(|j| {
        text(j.get("error_description"))
            .or_else(|| text(j.get("error").and_then(|e| e.get("message"))))
            .or_else(|| text(j.get("Message")))
            .or_else(|| text(j.get("message")))
            .or_else(|| text(j.get("error")))
    });
    let said: String = match said {
        Some(s) => s.to_string(),
        None if json.is_some() => "no message".into(),
        None => String::from_utf8_lossy(body)
            .trim()
            .chars()
            .take(200)
            .collect(),
    };
    let said = said.trim_end_matches('.');
    let hint = match status {
        400 => {
            "; is a managed identity assigned to this resource (and, for a user-assigned one, is its client id right)?"
        }
        401 | 403 => {
            "; the endpoint did not accept this process (IDENTITY_HEADER): run where the identity is assigned, or sign in another way"
        }
        404 => {
            "; the endpoint address (IDENTITY_ENDPOINT, IMDS_ENDPOINT) is not a managed identity endpoint"
        }
        _ => "",
    };
    format!("{said}{hint}")
}

fn parse_token(url: &str, body: &[u8], now: OffsetDateTime) -> Result<AccessToken, AuthError> {
    let parsed: TokenResponse =
        serde_json::from_slice(body).map_err(|e| AuthError::InvalidResponse {
            url: url.into(),
            detail: e.to_string(),
        })?;
    let token = parsed
        .access_token
        .ok_or_else(|| AuthError::InvalidResponse {
            url: url.into(),
            detail: "no access_token".into(),
        })?;
    // A server's numbers are not trusted to be sane: clamp the lifetime to [1 min, 1 day].
    let lifetime = match number(&parsed.expires_on) {
        Some(on) => on.saturating_sub(now.unix_timestamp()),
        None => number(&parsed.expires_in).unwrap_or(1800),
    };
    let expires_at = now + Duration::seconds(lifetime.clamp(60, 86_400));
    Ok(AccessToken::new(token, expires_at))
}

/// Client credentials with a certificate assertion (docs/docs/protocol.md §5), for Graph. Also the check of the
/// roll workflow that a new certificate is usable: it succeeds only once the service accepts the certificate.
/// The assertion is signed wherever the certificate's key is ([`Signer`]).
pub async fn client_credentials(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    tenant: &str,
    client_id: &str,
    identity: &dyn Signer,
    now: OffsetDateTime,
) -> Result<AccessToken, AuthError> {
    let scope = endpoints.scope();
    request_token(http, endpoints, &scope, tenant, client_id, identity, now).await
}

async fn request_token(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    scope: &str,
    tenant: &str,
    client_id: &str,
    identity: &dyn Signer,
    now: OffsetDateTime,
) -> Result<AccessToken, AuthError> {
    let url = endpoints.token_endpoint(tenant);
    let assertion = signer::mint_assertion(
        identity,
        &AssertionRequest::new(client_id, url.clone(), Uuid::new_v4()),
        now,
    )
    .await
    .map_err(|e| match e {
        AssertionSignError::Assertion(e) => AuthError::Assertion(e),
        AssertionSignError::Sign {
            thumbprint,
            location,
            source,
        } => AuthError::Sign {
            thumbprint,
            location,
            source: Box::new(source),
        },
    })?;
    let assertion = Zeroizing::new(assertion);
    let form = [
        ("client_id", client_id),
        ("scope", scope),
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    let resp = http
        .post(&url)
        .form(&form)
        .send()
        .await
        .map_err(|e| AuthError::Transport {
            url: url.clone(),
            detail: crate::http::describe_reqwest(&e),
        })?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.map_err(|e| AuthError::Transport {
        url: url.clone(),
        detail: e.to_string(),
    })?;
    if status == 200 {
        return parse_token(&url, &body, now);
    }
    match serde_json::from_slice::<OAuthError>(&body) {
        Ok(err) if err.error.is_some() => {
            // The description carries trace and correlation ids, which support needs; no secret is in it.
            let description = err
                .error_description
                .unwrap_or_default()
                .replace("\r\n", " ");
            Err(AuthError::Refused {
                status,
                hint: aadsts_hint(&err.error_codes),
                error: err.error.unwrap_or_default(),
                description,
                codes: err.error_codes,
            })
        }
        _ => Err(AuthError::InvalidResponse {
            url,
            detail: format!(
                "status {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn managed_identity_refusal_is_a_sentence_not_the_json() {
        let automation = br#"{"error":{"code":"Unauthorized","innerError":{"request-id":"1"},"message":"The X-IDENTITY-HEADER header is missing."}}"#;
        let imds = br#"{"error":"invalid_request","error_description":"Identity not found"}"#;
        for (status, body, said) in [
            (
                401,
                &automation[..],
                "The X-IDENTITY-HEADER header is missing",
            ),
            (400, &imds[..], "Identity not found"),
            (500, &b"gateway down"[..], "gateway down"),
        ] {
            let text = super::managed_identity_refusal(status, body);
            assert!(text.starts_with(said), "{text}");
            assert!(!text.contains('{') && !text.contains('"'), "{text}");
        }
        assert!(super::managed_identity_refusal(400, imds).contains("managed identity assigned"));
    }

    #[test]
    fn credential_environment_names_every_variable_this_module_reads() {
        // Every env("NAME") call of this file (outside the tests) names a variable of the list, and every
        // variable of the list is read: hosts pass exactly this list.
        let source = include_str!("auth.rs");
        let code = &source[..source.find("#[cfg(test)]").unwrap()];
        let mut read: Vec<&str> = code
            .match_indices("env(\"")
            .map(|(i, m)| {
                let rest = &code[i + m.len()..];
                &rest[..rest.find('"').unwrap()]
            })
            .collect();
        read.sort_unstable();
        read.dedup();
        let mut listed = super::CREDENTIAL_ENVIRONMENT.to_vec();
        listed.sort_unstable();
        assert_eq!(read, listed);
    }

    use super::*;

    #[test]
    fn precedence_token_first_then_certificate_then_mi_then_env() {
        let env = |_: &str| None;
        let s = AuthSettings {
            token: Some("t".into()),
            managed_identity: true,
            ..Default::default()
        };
        assert!(matches!(
            resolve_credential(&s, &env),
            Ok(Credential::Token(_))
        ));
        let s = AuthSettings {
            managed_identity: true,
            client_id: Some("c".into()),
            ..Default::default()
        };
        assert!(matches!(
            resolve_credential(&s, &env),
            Ok(Credential::ManagedIdentity {
                client_id: Some(_),
                ..
            })
        ));
        assert!(matches!(
            resolve_credential(&AuthSettings::default(), &env),
            Err(AuthError::NoCredentials)
        ));
        let env2 = |k: &str| match k {
            "IDENTITY_ENDPOINT" => Some("http://127.0.0.1:1/msi".to_string()),
            "IDENTITY_HEADER" => Some("h".to_string()),
            _ => None,
        };
        assert!(matches!(
            ManagedIdentitySource::from_env(&env2),
            ManagedIdentitySource::AppService { .. }
        ));
        assert!(matches!(
            ManagedIdentitySource::from_env(&env),
            ManagedIdentitySource::Imds { endpoint } if endpoint == IMDS_ENDPOINT
        ));
        // The IMDS authority is overridable as Azure's identity libraries allow; IDENTITY_ENDPOINT wins.
        for name in ["AZURE_POD_IDENTITY_AUTHORITY_HOST", "IMDS_ENDPOINT"] {
            let over = |k: &str| (k == name).then(|| "https://127.0.0.1:8443/".to_string());
            assert!(
                matches!(
                    ManagedIdentitySource::from_env(&over),
                    ManagedIdentitySource::Imds { endpoint }
                        if endpoint == "https://127.0.0.1:8443/metadata/identity/oauth2/token"
                ),
                "{name}"
            );
        }
    }

    #[test]
    fn scope_without_default_has_a_hint() {
        let hint = aadsts_hint(&[1002012]).unwrap();
        assert!(hint.contains("/.default"), "{hint}");
        assert!(aadsts_hint(&[1]).is_none());
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = AccessToken::new("eyJsecret".into(), OffsetDateTime::UNIX_EPOCH);
        assert!(!format!("{t:?}").contains("eyJsecret"));
    }
}
