//! One translation from what a user says — CLI flags, the host API's JSON, PowerShell parameters — to the client's
//! types: where the service is, how to trust and reach it, how to sign in, and which object a command is about.
//!
//! Every face fills [`ConnectionChoices`] and [`TargetChoice`] with the user's words as given and calls these
//! functions, so the faces cannot disagree on a default (the request timeout, the API version) or a rule (when the
//! proof certificate also signs in, which spellings of a kind are accepted). A refusal names the [`Setting`] as a
//! concept; each face spells it its own way (`--cloud` in the CLI, `cloud` in the host's JSON, `-Environment` in
//! PowerShell).

use std::sync::Arc;
use std::time::Duration;

use crate::signer::SharedSigner;
use keyroll_proto::clock::Clock;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::auth::{self, AuthError, AuthSettings};
use crate::cloud::{ApiVersion, Cloud, EndpointError, Endpoints};
use crate::graph::{GraphClient, ObjectRef, Target, TargetKind};
use crate::http::{HttpOptions, HttpSetupError};
use crate::keyvault::{self, KeyVaultClient, ReferenceError, VaultCertificateRef};

/// How long a whole request may take when the user says nothing (the CLI's `--timeout` default).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A setting a user gives, named as a concept; faces map it to their own spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Setting {
    /// The national cloud.
    Cloud,
    /// The Graph API version.
    ApiVersion,
    /// The kind of object (application, service principal, agent identity blueprint).
    TargetKind,
    /// The object id.
    ObjectId,
    /// The application's client id.
    AppId,
    /// Which object: an object id or an appId.
    Target,
    /// Signing in as a user with a device code.
    DeviceCode,
    /// The Graph endpoint that replaces the cloud's.
    GraphUrl,
}

impl Setting {
    /// The concept, as core's messages name it.
    pub fn concept(self) -> &'static str {
        match self {
            Setting::Cloud => "the cloud",
            Setting::ApiVersion => "the Graph API version",
            Setting::TargetKind => "the kind of object",
            Setting::ObjectId => "the object id",
            Setting::AppId => "the appId",
            Setting::Target => "the object",
            Setting::DeviceCode => "the device-code sign-in",
            Setting::GraphUrl => "the Graph URL",
        }
    }
}

/// A setting that cannot be used: which one, and what is wrong with it (with the accepted values).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {problem}", setting.concept())]
pub struct SettingsError {
    /// Which setting.
    pub setting: Setting,
    /// What is wrong, and what is accepted.
    pub problem: String,
}

impl SettingsError {
    /// The kind of failure: a setting the caller gave.
    pub fn kind(&self) -> keyroll_proto::ErrorKind {
        keyroll_proto::ErrorKind::Input
    }

    fn new(setting: Setting, problem: impl Into<String>) -> Self {
        Self {
            setting,
            problem: problem.into(),
        }
    }
}

/// Why a connection could not be set up (nothing was sent).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// A setting cannot be used.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// A Graph or login URL cannot be used.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// No credential could be chosen (or the one chosen is incomplete).
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The HTTP client could not be built (TLS roots, proxy).
    #[error(transparent)]
    Http(#[from] HttpSetupError),
}

impl ConnectError {
    /// The kind of failure (nothing was sent, so never the service's).
    pub fn kind(&self) -> keyroll_proto::ErrorKind {
        match self {
            ConnectError::Settings(e) => e.kind(),
            ConnectError::Endpoint(e) => e.kind(),
            ConnectError::Auth(e) => e.kind(),
            ConnectError::Http(e) => e.kind(),
        }
    }
}

/// Where the service is, how to trust and reach it, and how to sign in, in the user's words.
#[derive(Default)]
pub struct ConnectionChoices {
    /// `global` (default), `usgov`, `usgovdod`, `china`, or an Azure PowerShell environment name.
    pub cloud: Option<String>,
    /// Replaces the Graph host (e.g. the emulator's `graph_url`).
    pub graph_url: Option<String>,
    /// Replaces the login host (e.g. the emulator's `login_url`).
    pub login_url: Option<String>,
    /// `v1.0` (default) or `beta`.
    pub api_version: Option<String>,
    /// PEM text of extra root certificates to trust.
    pub extra_roots_pem: Option<Vec<u8>>,
    /// An explicit proxy URL (empty means none given).
    pub proxy: Option<String>,
    /// Whole-request timeout ([`DEFAULT_REQUEST_TIMEOUT`] when not given).
    pub request_timeout: Option<Duration>,
    /// An access token for Graph: first in precedence.
    pub access_token: Option<Zeroizing<String>>,
    /// The tenant, to sign in as the app with a certificate.
    pub tenant_id: Option<String>,
    /// The client id (appId) to sign in as, or of a user-assigned managed identity.
    pub client_id: Option<String>,
    /// A certificate given for signing in (the CLI's `--auth-cert`, the host's connection certificate).
    pub sign_in_certificate: Option<SharedSigner>,
    /// The certificate that signs the proofs, which also signs in as the app when no sign-in certificate is
    /// given and a tenant id or a client id is (see [`ConnectionChoices::auth_settings`]).
    pub proof_certificate: Option<SharedSigner>,
    /// Sign in with a managed identity.
    pub managed_identity: bool,
    /// An access token for Key Vault (for `https://vault.azure.net` or the cloud's vault resource). Without it,
    /// vault tokens come from the connection's own credential ([`ConnectionChoices::key_vault`]).
    pub vault_access_token: Option<Zeroizing<String>>,
    /// Sign in as a user with a device code ([`crate::devicecode`]): `tenant_id` is the tenant signed in to and
    /// `client_id` the public client (Microsoft Graph Command Line Tools when not given).
    pub device_code: bool,
    /// The delegated scopes of a device-code sign-in (Application.ReadWrite.All when none).
    pub scopes: Vec<String>,
    /// The token cache file of a device-code sign-in (the profile's, [`auth::token_cache_location`], when not
    /// given).
    pub token_cache: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for ConnectionChoices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionChoices")
            .field("cloud", &self.cloud)
            .field("graph_url", &self.graph_url)
            .field("login_url", &self.login_url)
            .field("api_version", &self.api_version)
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<redacted>"),
            )
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("managed_identity", &self.managed_identity)
            .field("device_code", &self.device_code)
            .field("scopes", &self.scopes)
            .field(
                "vault_access_token",
                &self.vault_access_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl ConnectionChoices {
    /// The cloud's endpoints, with the URLs and API version the user chose.
    pub fn endpoints(&self) -> Result<Endpoints, ConnectError> {
        let cloud = match self.cloud.as_deref().filter(|c| !c.is_empty()) {
            None => Cloud::Global,
            Some(c) => Cloud::parse(c).ok_or_else(|| {
                SettingsError::new(
                    Setting::Cloud,
                    format!("{c:?} is not a cloud: give one of {}", Cloud::names()),
                )
            })?,
        };
        // A version at the end of the Graph URL is the API version (see `cloud::split_graph_version`); one given
        // as well must be the same.
        let graph_url = self.graph_url.as_deref().filter(|u| !u.is_empty());
        let (graph, in_url) = match graph_url {
            Some(g) => {
                let (base, v) = crate::cloud::split_graph_version(g);
                (Some(base), v)
            }
            None => (None, None),
        };
        let mut endpoints = Endpoints::custom(
            cloud,
            graph.as_deref(),
            self.login_url.as_deref().filter(|u| !u.is_empty()),
        )?;
        let given = match self.api_version.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => Some(ApiVersion::parse(v).ok_or_else(|| {
                SettingsError::new(Setting::ApiVersion, format!("{v:?} is not v1.0 or beta"))
            })?),
            None => None,
        };
        endpoints.api_version = match (given, in_url) {
            (Some(g), Some(u)) if g != u => {
                return Err(SettingsError::new(
                    Setting::GraphUrl,
                    format!(
                        "{:?} ends in the API version {}, and the API version given is {}: give the Graph URL \
                         without a version (the version is its own setting)",
                        graph_url.unwrap_or_default(),
                        u.as_str(),
                        g.as_str()
                    ),
                )
                .into());
            }
            (Some(v), _) | (None, Some(v)) => v,
            (None, None) => ApiVersion::default(),
        };
        Ok(endpoints)
    }

    /// The HTTP options: the extra roots, the proxy, [`CONNECT_TIMEOUT`] and the request timeout (at least 1 s).
    pub fn http_options(&self) -> HttpOptions {
        HttpOptions {
            extra_roots_pem: self.extra_roots_pem.clone(),
            proxy: self.proxy.clone().filter(|p| !p.is_empty()),
            connect_timeout: Some(CONNECT_TIMEOUT),
            request_timeout: Some(
                self.request_timeout
                    .unwrap_or(DEFAULT_REQUEST_TIMEOUT)
                    .max(Duration::from_secs(1)),
            ),
        }
    }

    /// What to sign in with. The rule of which certificate signs in lives here: a sign-in certificate given as
    /// such; else the proof certificate, when a tenant id or a client id says the app signs in as itself;
    /// else none (a token, a managed identity or the environment decide, in [`auth::resolve_credential`]).
    pub fn auth_settings(&self) -> AuthSettings {
        let certificate = match &self.sign_in_certificate {
            Some(c) => Some(c.clone()),
            None if self.tenant_id.is_some() || self.client_id.is_some() => {
                self.proof_certificate.clone()
            }
            None => None,
        };
        AuthSettings {
            token: self
                .access_token
                .as_ref()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
            tenant: self.tenant_id.clone().filter(|t| !t.is_empty()),
            client_id: self.client_id.clone().filter(|c| !c.is_empty()),
            certificate,
            managed_identity: self.managed_identity,
        }
    }

    /// The Graph client, with the credential chosen by [`auth::resolve_credential`]. `env` reads the credential
    /// variables ([`auth::CREDENTIAL_ENVIRONMENT`]); nothing is sent yet.
    pub fn connect(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<GraphClient, ConnectError> {
        if self.device_code {
            return Err(SettingsError::new(
                Setting::DeviceCode,
                "needs the user's approval first: start it with begin_device_code, then connect_user",
            )
            .into());
        }
        let endpoints = self.endpoints()?;
        let credential = auth::resolve_credential(&self.auth_settings(), env)?;
        Ok(GraphClient::connect(
            credential,
            endpoints,
            &self.http_options(),
            clock,
        )?)
    }
}

impl ConnectionChoices {
    /// The delegated sign-in these choices ask for (`None` without `device_code`), with its token cache. A
    /// device-code sign-in is a user's: it cannot be combined with an access token, a sign-in certificate or a
    /// managed identity.
    pub fn delegated_request(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<crate::devicecode::DelegatedRequest>, ConnectError> {
        if !self.device_code {
            return Ok(None);
        }
        let conflict = if self
            .access_token
            .as_ref()
            .is_some_and(|t| !t.trim().is_empty())
        {
            Some("an access token")
        } else if self.sign_in_certificate.is_some() {
            Some("a sign-in certificate")
        } else if self.managed_identity {
            Some("a managed identity")
        } else {
            None
        };
        if let Some(other) = conflict {
            return Err(SettingsError::new(
                Setting::DeviceCode,
                format!(
                    "signs in as a user and cannot be combined with {other}: choose one way of signing in"
                ),
            )
            .into());
        }
        let endpoints = self.endpoints()?;
        let path = match &self.token_cache {
            Some(p) => p.clone(),
            None => auth::token_cache_location(env).map_err(AuthError::TokenCache)?,
        };
        Ok(Some(crate::devicecode::DelegatedRequest::new(
            &endpoints,
            self.tenant_id.as_deref(),
            self.client_id.as_deref(),
            &self.scopes,
            Some(crate::devicecode::TokenCache::at(path)),
        )))
    }

    /// Starts the device-code sign-in these choices ask for: the cached sign-in when usable, else a new code
    /// to show ([`crate::devicecode::begin`]). Then [`ConnectionChoices::connect_user`].
    pub async fn begin_device_code(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<crate::devicecode::SignInStart, ConnectError> {
        let Some(request) = self.delegated_request(env)? else {
            return Err(SettingsError::new(
                Setting::DeviceCode,
                "was not asked for: ask for a device-code sign-in first",
            )
            .into());
        };
        let http = crate::http::build_client(&self.http_options())?;
        Ok(crate::devicecode::begin(request, http, self.endpoints()?, clock).await?)
    }

    /// The Graph client of a signed-in user. Nothing is sent.
    pub fn connect_user(
        &self,
        session: Arc<crate::devicecode::UserSession>,
        clock: Arc<dyn Clock>,
    ) -> Result<GraphClient, ConnectError> {
        Ok(GraphClient::connect(
            auth::Credential::User(session),
            self.endpoints()?,
            &self.http_options(),
            clock,
        )?)
    }

    /// Signs out: removes the cached sign-ins of this login host, narrowed to the tenant, client and scopes
    /// these choices give (every cached sign-in with `all`). Answers how many were removed and the cache file.
    pub fn sign_out(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
        all: bool,
    ) -> Result<(usize, std::path::PathBuf), ConnectError> {
        let endpoints = self.endpoints()?;
        let path = match &self.token_cache {
            Some(p) => p.clone(),
            None => auth::token_cache_location(env).map_err(AuthError::TokenCache)?,
        };
        let cache = crate::devicecode::TokenCache::at(path.clone());
        let which = if all {
            crate::devicecode::SignOut::default()
        } else {
            let request = crate::devicecode::DelegatedRequest::new(
                &endpoints,
                self.tenant_id.as_deref(),
                self.client_id.as_deref(),
                &self.scopes,
                None,
            );
            let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
            crate::devicecode::SignOut {
                authority: Some(endpoints.login_base().trim_end_matches('/').to_string()),
                tenant: given(&self.tenant_id).then(|| request.tenant.clone()),
                client_id: given(&self.client_id).then(|| request.client_id.clone()),
                scopes: (!self.scopes.is_empty()).then(|| request.scopes.clone()),
            }
        };
        let removed = cache.sign_out(&which).map_err(AuthError::TokenCache)?;
        Ok((removed, path))
    }

    /// The Key Vault client of this connection: with the vault access token when one is given, else with the
    /// credential these choices resolve to (a managed identity, the app's certificate, the environment's),
    /// asking tokens for the cloud's vault resource. Call it before a vault certificate is put into these
    /// choices: a certificate whose key is in the vault cannot sign in to the vault itself, so a connection whose
    /// only credential is such a certificate needs a managed identity or a vault access token
    /// ([`AuthError::NoCredentials`] then). Nothing is sent yet.
    pub fn key_vault(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<KeyVaultClient, ConnectError> {
        let token = self
            .vault_access_token
            .as_ref()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        match token {
            Some(t) => Ok(KeyVaultClient::with_token_over(
                crate::http::build_client(&self.http_options())?,
                self.endpoints()?,
                clock,
                &t,
            )),
            None => Ok(KeyVaultClient::for_connection(&self.connect(env, clock)?)),
        }
    }
}

/// A certificate with its key, as a user names it: a file (PFX, PEM), or a Key Vault certificate by its URL
/// (`https://{vault}/certificates/{name}[/{version}]`), whose key stays in the vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateSource {
    /// A file.
    File(std::path::PathBuf),
    /// A certificate in Key Vault.
    KeyVault(VaultCertificateRef),
}

impl CertificateSource {
    /// A URL (`http://` or `https://`) names a vault certificate and must be one; anything else is a file path.
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        if keyvault::is_url(text) {
            Ok(CertificateSource::KeyVault(VaultCertificateRef::parse(
                text,
            )?))
        } else {
            Ok(CertificateSource::File(text.into()))
        }
    }
}

/// Which object a command is about, in the user's words.
#[derive(Debug, Clone, Default)]
pub struct TargetChoice {
    /// `application` (default), `service-principal` / `servicePrincipal`, `agent-blueprint` /
    /// `agentIdentityBlueprint` (see [`TargetKind::parse`]).
    pub kind: Option<String>,
    /// The object id.
    pub object_id: Option<String>,
    /// The appId (client id), when the object id is not known.
    pub app_id: Option<String>,
}

impl TargetChoice {
    /// The target: exactly one of object id and appId, each a GUID, and a known kind.
    pub fn target(&self) -> Result<Target, SettingsError> {
        let kind = match self.kind.as_deref().filter(|k| !k.is_empty()) {
            None => TargetKind::Application,
            Some(k) => TargetKind::parse(k).ok_or_else(|| {
                SettingsError::new(
                    Setting::TargetKind,
                    format!(
                        "{k:?} is not application, service-principal (servicePrincipal) or agent-blueprint (agentIdentityBlueprint)"
                    ),
                )
            })?,
        };
        let guid = |setting: Setting, value: &str| {
            Uuid::parse_str(value.trim()).map_err(|_| {
                SettingsError::new(
                    setting,
                    format!(
                        "{value:?} is not a GUID (such as 3fa85f64-5717-4562-b3fc-2c963f66afa6)"
                    ),
                )
            })
        };
        let object = match (
            self.object_id.as_deref().filter(|o| !o.is_empty()),
            self.app_id.as_deref().filter(|a| !a.is_empty()),
        ) {
            (Some(o), None) => ObjectRef::Id(guid(Setting::ObjectId, o)?),
            (None, Some(a)) => ObjectRef::AppId(guid(Setting::AppId, a)?),
            (Some(_), Some(_)) => {
                return Err(SettingsError::new(
                    Setting::Target,
                    "give the object id or the appId, not both",
                ));
            }
            (None, None) => {
                return Err(SettingsError::new(
                    Setting::Target,
                    "give the object id or the appId",
                ));
            }
        };
        Ok(Target { kind, object })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_same_for_every_face() {
        let c = ConnectionChoices::default();
        let e = c.endpoints().unwrap();
        assert_eq!(e.api_version, ApiVersion::V1);
        let h = c.http_options();
        assert_eq!(h.request_timeout, Some(DEFAULT_REQUEST_TIMEOUT));
        assert_eq!(h.connect_timeout, Some(CONNECT_TIMEOUT));
        assert!(h.proxy.is_none());
    }

    #[test]
    fn graph_url_with_a_version_segment_gives_the_api_version() {
        // As Graph Explorer shows it: the version at the end is the API version, not part of the host.
        for (url, version) in [
            ("https://graph.microsoft.com/v1.0", ApiVersion::V1),
            ("https://graph.microsoft.com/beta/", ApiVersion::Beta),
            ("https://127.0.0.1:8443/BETA", ApiVersion::Beta),
        ] {
            let c = ConnectionChoices {
                graph_url: Some(url.into()),
                ..ConnectionChoices::default()
            };
            let e = c.endpoints().unwrap();
            assert_eq!(e.api_version, version, "{url}");
            assert!(!e.graph_base().contains("v1.0/v1.0"), "{url}");
            assert!(!e.graph.to_ascii_lowercase().ends_with("beta"), "{url}");
        }
        // The same version given twice is fine; two different ones are refused, naming the Graph URL.
        let c = ConnectionChoices {
            graph_url: Some("https://graph.microsoft.com/beta".into()),
            api_version: Some("beta".into()),
            ..ConnectionChoices::default()
        };
        assert_eq!(c.endpoints().unwrap().api_version, ApiVersion::Beta);
        let c = ConnectionChoices {
            graph_url: Some("https://graph.microsoft.com/beta".into()),
            api_version: Some("v1.0".into()),
            ..ConnectionChoices::default()
        };
        match c.endpoints() {
            Err(ConnectError::Settings(e)) => {
                assert_eq!(e.setting, Setting::GraphUrl);
                assert!(
                    e.problem.contains("beta") && e.problem.contains("v1.0"),
                    "{e}"
                );
            }
            other => panic!("{other:?}"),
        }
        // A host whose last segment only looks like a version is left alone.
        let c = ConnectionChoices {
            graph_url: Some("https://beta".into()),
            ..ConnectionChoices::default()
        };
        assert_eq!(c.endpoints().unwrap().graph, "https://beta");
    }

    #[test]
    fn bad_settings_name_the_setting_and_what_is_accepted() {
        let c = ConnectionChoices {
            cloud: Some("mars".into()),
            ..ConnectionChoices::default()
        };
        match c.endpoints() {
            Err(ConnectError::Settings(e)) => {
                assert_eq!(e.setting, Setting::Cloud);
                assert!(
                    e.to_string().contains("Global, USGov, USGovDoD, China"),
                    "{e}"
                );
            }
            other => panic!("{other:?}"),
        }
        let c = ConnectionChoices {
            api_version: Some("v2".into()),
            ..ConnectionChoices::default()
        };
        assert!(
            matches!(c.endpoints(), Err(ConnectError::Settings(e)) if e.setting == Setting::ApiVersion)
        );
    }

    #[test]
    fn targets_take_every_spelling_and_refuse_ambiguity() {
        let id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
        for kind in ["service-principal", "servicePrincipal", "ServicePrincipal"] {
            let t = TargetChoice {
                kind: Some(kind.into()),
                object_id: Some(id.into()),
                app_id: None,
            }
            .target()
            .unwrap();
            assert_eq!(t.kind, TargetKind::ServicePrincipal, "{kind}");
        }
        let both = TargetChoice {
            kind: None,
            object_id: Some(id.into()),
            app_id: Some(id.into()),
        };
        assert_eq!(both.target().unwrap_err().setting, Setting::Target);
        let bad = TargetChoice {
            kind: Some("group".into()),
            object_id: Some(id.into()),
            app_id: None,
        };
        assert_eq!(bad.target().unwrap_err().setting, Setting::TargetKind);
        let not_guid = TargetChoice {
            kind: None,
            object_id: None,
            app_id: Some("billing".into()),
        };
        assert_eq!(not_guid.target().unwrap_err().setting, Setting::AppId);
    }

    #[test]
    fn a_certificate_is_a_vault_url_or_a_file() {
        assert_eq!(
            CertificateSource::parse("certs/app.pfx").unwrap(),
            CertificateSource::File("certs/app.pfx".into())
        );
        match CertificateSource::parse("https://v.vault.azure.net/certificates/app/0a1b").unwrap() {
            CertificateSource::KeyVault(r) => {
                assert_eq!((r.name(), r.version()), ("app", Some("0a1b")))
            }
            other => panic!("{other:?}"),
        }
        // A URL that is not a vault certificate is refused, not read as a file.
        assert!(CertificateSource::parse("https://v.vault.azure.net/keys/app").is_err());
    }

    #[test]
    fn the_proof_certificate_signs_in_only_when_the_app_signs_in_as_itself() {
        let g = keyroll_proto::cert::generate::self_signed_rsa(
            "settings",
            time::OffsetDateTime::now_utc() - time::Duration::hours(1),
            30,
            2048,
        )
        .unwrap();
        let proof = Arc::new(g.identity().unwrap());
        let mut c = ConnectionChoices {
            proof_certificate: Some(proof.clone()),
            ..ConnectionChoices::default()
        };
        assert!(
            c.auth_settings().certificate.is_none(),
            "no tenant or client id: not used to sign in"
        );
        c.tenant_id = Some("contoso".into());
        assert!(c.auth_settings().certificate.is_some());
        let other: SharedSigner = Arc::new(
            keyroll_proto::cert::generate::self_signed_rsa(
                "other",
                time::OffsetDateTime::now_utc() - time::Duration::hours(1),
                30,
                2048,
            )
            .unwrap()
            .identity()
            .unwrap(),
        );
        c.sign_in_certificate = Some(other.clone());
        let chosen = c.auth_settings().certificate.unwrap();
        assert!(
            Arc::ptr_eq(&chosen, &other),
            "a sign-in certificate given as such wins"
        );
    }
}
