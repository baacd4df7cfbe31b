//! Arguments shared by every command that talks to the service: where it is, how to trust it, and how to
//! authenticate. They only translate into core's `Endpoints`, `HttpOptions` and `AuthSettings`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use keyroll_client::auth::{self, AuthSettings};
use keyroll_client::cloud::{ApiVersion, Cloud, Endpoints};
use keyroll_client::graph::{GraphClient, GraphError, LogEvent, ObjectRef, Target, TargetKind};
use keyroll_client::http::HttpOptions;
use keyroll_proto::cert::SigningIdentity;
use keyroll_proto::clock::SystemClock;

use crate::exit::Failure;
use crate::secret;

#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// The object id of the application / service principal / blueprint.
    #[arg(long, value_name = "GUID", conflicts_with = "app_id")]
    pub object_id: Option<String>,
    /// The appId (client id) instead; the object id is looked up.
    #[arg(long, value_name = "GUID")]
    pub app_id: Option<String>,
    /// What kind of object.
    #[arg(long, value_name = "KIND", default_value = "application", value_parser = ["application", "service-principal", "agent-blueprint"])]
    pub target: String,
}

impl TargetArgs {
    pub fn target(&self) -> Result<Target, Failure> {
        let kind = TargetKind::parse(&self.target).unwrap_or_default();
        let parse = |flag: &str, s: &str| {
            uuid::Uuid::parse_str(s.trim())
                .map_err(|_| Failure::input(anyhow::anyhow!("--{flag} {s:?} is not a GUID")))
        };
        let object = match (&self.object_id, &self.app_id) {
            (Some(o), _) => ObjectRef::Id(parse("object-id", o)?),
            (None, Some(a)) => ObjectRef::AppId(parse("app-id", a)?),
            (None, None) => {
                return Err(Failure::input(anyhow::anyhow!(
                    "give --object-id or --app-id"
                )));
            }
        };
        Ok(Target { kind, object })
    }
}

#[derive(Args, Debug, Clone)]
pub struct ConnArgs {
    /// The cloud: global, usgov, usgovdod or china.
    #[arg(long, value_name = "CLOUD", default_value = "global")]
    pub cloud: String,
    /// Replaces the Graph host (e.g. the emulator's graph_url); the API version is appended.
    #[arg(long, value_name = "URL")]
    pub graph_url: Option<String>,
    /// Replaces the login host (e.g. the emulator's login_url).
    #[arg(long, value_name = "URL")]
    pub login_url: Option<String>,
    /// Trust this extra root CA (PEM), e.g. the emulator's ca_cert.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Proxy URL (default: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY from the environment). Loopback
    /// addresses (the emulator) never go through a proxy.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Graph API version: v1.0 or beta.
    #[arg(long, value_name = "VERSION", default_value = "v1.0")]
    pub api_version: String,
    /// Name of an environment variable holding an access token for Graph (first in precedence).
    #[arg(long, value_name = "VAR")]
    pub access_token_env: Option<String>,
    /// Tenant id, for authenticating as the app with its certificate.
    #[arg(long, value_name = "TENANT")]
    pub tenant_id: Option<String>,
    /// Client id (appId) to authenticate as (or of a user-assigned managed identity).
    #[arg(long, value_name = "GUID")]
    pub client_id: Option<String>,
    /// Authenticate with this certificate instead of --cert.
    #[arg(long, value_name = "FILE")]
    pub auth_cert: Option<PathBuf>,
    /// Name of an environment variable holding the password of --auth-cert.
    #[arg(long, value_name = "VAR")]
    pub auth_cert_password_env: Option<String>,
    /// Authenticate with a managed identity (App Service / Automation, or IMDS on a VM).
    #[arg(long)]
    pub managed_identity: bool,
    /// Whole-request timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// Log each request (method, URL, status, request ids; never headers, tokens or proofs) to stderr.
    #[arg(short, long)]
    pub verbose: bool,
}

impl ConnArgs {
    pub fn endpoints(&self) -> Result<Endpoints, Failure> {
        let cloud = Cloud::parse(&self.cloud).ok_or_else(|| {
            Failure::input(anyhow::anyhow!(
                "--cloud {:?} is not one of global, usgov, usgovdod, china",
                self.cloud
            ))
        })?;
        let mut e = Endpoints::custom(cloud, self.graph_url.as_deref(), self.login_url.as_deref())
            .map_err(Failure::input)?;
        e.api_version = ApiVersion::parse(&self.api_version)
            .ok_or_else(|| Failure::input(anyhow::anyhow!("--api-version must be v1.0 or beta")))?;
        Ok(e)
    }

    pub fn http_options(&self) -> Result<HttpOptions, Failure> {
        let extra_roots_pem =
            match &self.ca_cert {
                Some(p) => Some(std::fs::read(p).map_err(|e| {
                    Failure::input(anyhow::anyhow!("--ca-cert {}: {e}", p.display()))
                })?),
                None => None,
            };
        Ok(HttpOptions {
            extra_roots_pem,
            proxy: self.proxy.clone(),
            connect_timeout: Some(Duration::from_secs(10)),
            request_timeout: Some(Duration::from_secs(self.timeout.max(1))),
        })
    }

    /// Builds the Graph client. `cert` is the proof-signing certificate, used to authenticate as the app when
    /// no other credential is given.
    pub fn client(&self, cert: Option<Arc<SigningIdentity>>) -> Result<GraphClient, Failure> {
        let endpoints = self.endpoints()?;
        let options = self.http_options()?;
        let token = secret::optional(self.access_token_env.as_deref())?;
        let auth_identity = match &self.auth_cert {
            Some(p) => Some(Arc::new(super::load_identity(
                p,
                None,
                self.auth_cert_password_env.as_deref(),
            )?)),
            None if self.tenant_id.is_some() || self.client_id.is_some() => cert,
            None => None,
        };
        let settings = AuthSettings {
            token: token.map(|t| t.to_string()),
            tenant: self.tenant_id.clone(),
            client_id: self.client_id.clone(),
            certificate: auth_identity,
            managed_identity: self.managed_identity,
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let credential = auth::resolve_credential(&settings, &env).map_err(Failure::input)?;
        let mut client =
            GraphClient::connect(credential, endpoints, &options, Arc::new(SystemClock))
                .map_err(Failure::input)?;
        if self.verbose {
            client = client.with_logger(Arc::new(|e: &LogEvent| eprintln!("[http] {}", e.line)));
        }
        Ok(client)
    }
}

/// Maps a Graph failure to its documented exit code.
pub fn graph_failure(e: GraphError) -> Failure {
    let code = if e.is_local() || matches!(e, GraphError::AppIdAsObjectId { .. }) {
        2
    } else if e.is_transport() {
        4
    } else {
        3
    };
    Failure {
        code,
        error: anyhow::Error::new(e),
    }
}

/// A current-thread runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::input(anyhow::anyhow!("cannot start the async runtime: {e}")))
}
