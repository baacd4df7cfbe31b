//! Arguments shared by every command that talks to the service: where it is, how to trust it, and how to
//! authenticate. They only fill core's `ConnectionChoices` / `TargetChoice` (the one translation of a user's
//! words, shared with the host API) and spell core's refusals with this CLI's flags.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use keyroll_client::auth::AuthError;
use keyroll_client::graph::{GraphClient, GraphError, LogEvent, Refusal, Target};
use keyroll_client::http::HttpSetupError;
use keyroll_client::keyvault::KeyVaultClient;
use keyroll_client::settings::{
    CertificateSource, ConnectError, ConnectionChoices, Setting, SettingsError, TargetChoice,
};
use keyroll_client::signer::SharedSigner;
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
    /// The target, through core's one translation of a user's words ([`TargetChoice`]).
    pub fn target(&self) -> Result<Target, Failure> {
        TargetChoice {
            kind: Some(self.target.clone()),
            object_id: self.object_id.clone(),
            app_id: self.app_id.clone(),
        }
        .target()
        .map_err(settings_failure)
    }
}

/// The flag that spells a setting in this CLI.
fn flag(setting: Setting) -> &'static str {
    match setting {
        Setting::Cloud => "--cloud",
        Setting::ApiVersion => "--api-version",
        Setting::TargetKind => "--target",
        Setting::ObjectId => "--object-id",
        Setting::AppId => "--app-id",
        Setting::Target => "--object-id or --app-id",
        Setting::DeviceCode => "--device-code",
        Setting::GraphUrl => "--graph-url",
        _ => "an option",
    }
}

/// A refused setting in the CLI's words: the flag, then core's explanation (exit 2).
pub fn settings_failure(e: SettingsError) -> Failure {
    let message = format!("{}: {}", flag(e.setting), e.problem);
    Failure::local(e.kind(), "settings", e).with_message(message)
}

/// A connection that could not be set up, in the CLI's words: core names what is missing as concepts, this
/// adds the flags that give it. Nothing was sent.
fn connect_failure(e: ConnectError) -> Failure {
    match e {
        ConnectError::Settings(s) => settings_failure(s),
        ConnectError::Auth(a) => match auth_advice(&a) {
            Some(advice) => {
                let message = format!("{a}; {advice}");
                Failure::auth(a, None).with_message(message)
            }
            None => Failure::auth(a, None),
        },
        other => {
            let code = match other {
                ConnectError::Endpoint(_) => "endpoint",
                ConnectError::Http(_) => "http_settings",
                _ => "settings",
            };
            Failure::local(other.kind(), code, other)
        }
    }
}

/// This CLI's flags for what an authentication error names as concepts.
pub fn auth_advice(e: &AuthError) -> Option<&'static str> {
    match e {
        AuthError::NoCredentials => Some(
            "in keyroll: --access-token-env VAR, --tenant-id and --client-id with the app's certificate (--cert or --auth-cert), or --managed-identity",
        ),
        AuthError::Incomplete { .. } => Some("in keyroll: --tenant-id and --client-id"),
        AuthError::Refused { codes, .. } if codes.contains(&7000218) => Some(
            "in keyroll: --device-code without --client-id signs in through Microsoft Graph Command Line Tools",
        ),
        AuthError::Refused { codes, .. } if codes.contains(&70011) => {
            Some("in keyroll: --scopes (with --device-code), --cloud")
        }
        AuthError::DeviceCodeDeclined { .. }
        | AuthError::DeviceCodeExpired { .. }
        | AuthError::SignInAgain { .. } => {
            Some("in keyroll: repeat the command with --device-code")
        }
        AuthError::TokenCache(_) => Some(
            "in keyroll: `keyroll auth logout --all` removes the cache file; --token-cache FILE uses another",
        ),
        _ => None,
    }
}

#[derive(Args, Debug, Clone)]
pub struct ConnArgs {
    /// The cloud: Global (default), USGov, USGovDoD or China, in any case (Azure's names such as AzureUSGovernment
    /// are taken too).
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
    /// Graph API version: v1.0 (default) or beta (a --graph-url ending in /v1.0 or /beta gives it too).
    #[arg(long, value_name = "VERSION")]
    pub api_version: Option<String>,
    /// Name of an environment variable holding an access token for Graph (first in precedence).
    #[arg(long, value_name = "VAR")]
    pub access_token_env: Option<String>,
    /// Tenant id, for authenticating as the app with its certificate.
    #[arg(long, value_name = "TENANT")]
    pub tenant_id: Option<String>,
    /// Client id (appId) to authenticate as (or of a user-assigned managed identity).
    #[arg(long, value_name = "GUID")]
    pub client_id: Option<String>,
    /// Authenticate with this certificate instead of --cert: a PFX/PEM file, or a Key Vault certificate URL
    /// (https://<vault>.vault.azure.net/certificates/<name>[/<version>]) whose key signs in the vault.
    #[arg(long, value_name = "FILE|URL")]
    pub auth_cert: Option<PathBuf>,
    /// Name of an environment variable holding the password of --auth-cert.
    #[arg(long, value_name = "VAR")]
    pub auth_cert_password_env: Option<String>,
    /// Authenticate with a managed identity (App Service / Automation, or IMDS on a VM).
    #[arg(long)]
    pub managed_identity: bool,
    /// Sign in as a user with a device code: the code and the page are shown on stderr; the sign-in is kept in
    /// the token cache and reused (refreshed) until it no longer works. --tenant-id is the tenant (default
    /// organizations), --client-id a public client (default Microsoft Graph Command Line Tools,
    /// 14d82eec-204b-4c2f-b7e8-296a70dab67e).
    #[arg(long, conflicts_with_all = ["access_token_env", "managed_identity", "auth_cert"])]
    pub device_code: bool,
    /// Delegated scopes of Graph for --device-code, comma- or space-separated (default
    /// Application.ReadWrite.All).
    #[arg(long, value_name = "SCOPES")]
    pub scopes: Option<String>,
    /// The token cache file of --device-code (default: KEYROLL_TOKEN_CACHE, else keyroll/token-cache.json in
    /// the user's cache folder: XDG_CACHE_HOME or ~/.cache, %LOCALAPPDATA% on Windows).
    #[arg(long, value_name = "FILE")]
    pub token_cache: Option<PathBuf>,
    /// Name of an environment variable holding an access token for Key Vault (audience https://vault.azure.net,
    /// or the cloud's vault). Without it, a certificate given as a Key Vault URL is reached with the
    /// connection's own credential: --managed-identity, or the app's certificate when that one is not in the
    /// vault itself.
    #[arg(long, value_name = "VAR")]
    pub vault_access_token_env: Option<String>,
    /// Whole-request timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// Log each request (method, URL, status, request ids; never headers, tokens or proofs) to stderr.
    #[arg(short, long)]
    pub verbose: bool,
}

impl ConnArgs {
    /// The user's words for the connection, for core's one translation ([`ConnectionChoices`]). `cert` is the
    /// proof-signing certificate (which signs in as the app when a tenant or client id is given).
    /// `sign_in` is the --auth-cert already opened from Key Vault; a file given with --auth-cert is loaded here.
    fn choices(
        &self,
        cert: Option<SharedSigner>,
        sign_in: Option<SharedSigner>,
    ) -> Result<ConnectionChoices, Failure> {
        let extra_roots_pem =
            match &self.ca_cert {
                Some(p) => Some(std::fs::read(p).map_err(|e| {
                    Failure::input(crate::exit::Coded {
                        code: "file",
                        message: format!(
                            "--ca-cert {}: cannot read the file: {e}; give the PEM file of the CA that issued the service's TLS certificate",
                            p.display()
                        ),
                    })
                })?),
                None => None,
            };
        let sign_in_certificate = match (&sign_in, &self.auth_cert) {
            (Some(s), _) => Some(s.clone()),
            (None, Some(p)) if keyroll_client::keyvault::is_url(&p.to_string_lossy()) => None,
            (None, Some(p)) => Some(Arc::new(super::load_identity(
                "--auth-cert",
                p,
                None,
                self.auth_cert_password_env.as_deref(),
                "--auth-cert-password-env",
            )?) as SharedSigner),
            (None, None) => None,
        };
        Ok(ConnectionChoices {
            cloud: Some(self.cloud.clone()),
            graph_url: self.graph_url.clone(),
            login_url: self.login_url.clone(),
            api_version: self.api_version.clone(),
            extra_roots_pem,
            proxy: self.proxy.clone(),
            request_timeout: Some(Duration::from_secs(self.timeout)),
            access_token: secret::optional(
                self.access_token_env.as_deref(),
                "--access-token-env",
                "the access token",
            )?,
            tenant_id: self.tenant_id.clone(),
            client_id: self.client_id.clone(),
            sign_in_certificate,
            proof_certificate: cert,
            managed_identity: self.managed_identity,
            device_code: self.device_code,
            scopes: self.scopes.iter().cloned().collect(),
            token_cache: self.token_cache.clone(),
            vault_access_token: secret::optional(
                self.vault_access_token_env.as_deref(),
                "--vault-access-token-env",
                "the Key Vault access token",
            )?,
        })
    }

    /// The Key Vault client: with --vault-access-token-env's token, else with the connection's credential as
    /// chosen without any certificate that is itself in the vault (`cert` when it is a file).
    pub fn key_vault(&self, cert: Option<SharedSigner>) -> Result<KeyVaultClient, Failure> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        self.choices(cert, None)?
            .key_vault(&env, Arc::new(SystemClock))
            .map_err(|e| match e {
                ConnectError::Auth(a @ (AuthError::NoCredentials | AuthError::Incomplete { .. })) => {
                    let message = format!(
                        "Key Vault needs a token of its own: {a}; a certificate whose key is in the vault cannot sign in to the vault itself: give --managed-identity, or --vault-access-token-env VAR, or the app's certificate as a file with --tenant-id and --client-id"
                    );
                    Failure::auth(a, None).with_message(message)
                }
                other => connect_failure(other),
            })
    }

    /// Builds the Graph client. `cert` is the proof-signing certificate, used to authenticate as the app when
    /// no other credential is given. An --auth-cert given as a Key Vault URL is opened through the vault.
    pub fn client(
        &self,
        cert: Option<SharedSigner>,
        rt: &tokio::runtime::Runtime,
    ) -> Result<GraphClient, Failure> {
        let sign_in = match &self.auth_cert {
            Some(p) => match super::certificate_source("--auth-cert", p)? {
                CertificateSource::KeyVault(r) => {
                    let vault = self.key_vault(cert.clone())?;
                    Some(super::open_vault("--auth-cert", &vault, &r, rt)?)
                }
                CertificateSource::File(_) => None,
            },
            None => None,
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if self.device_code {
            return self.user_client(cert, rt);
        }
        if self.scopes.is_some() {
            return Err(Failure::input(crate::exit::Coded {
                code: "usage",
                message: "--scopes asks for delegated scopes, which only a user's sign-in has: add --device-code".into(),
            }));
        }
        let mut client = self
            .choices(cert, sign_in)?
            .connect(&env, Arc::new(SystemClock))
            .map_err(|e| match (&e, &self.ca_cert) {
                // Core speaks of "the CA certificate file"; here it has an option and a path.
                (ConnectError::Http(HttpSetupError::BadRoots(_)), Some(path)) => {
                    let message = format!("--ca-cert {}: {e}", path.display());
                    Failure::local(e.kind(), "http_settings", e).with_message(message)
                }
                _ => connect_failure(e),
            })?;
        if self.verbose {
            client = client.with_logger(Arc::new(|e: &LogEvent| eprintln!("[http] {}", e.line)));
        }
        Ok(client)
    }
}

impl ConnArgs {
    /// The Graph client of a user signed in by device code: the cached sign-in when it still works, else a new
    /// code whose message goes to stderr (stdout carries results only), then the wait for the user.
    fn user_client(
        &self,
        cert: Option<SharedSigner>,
        rt: &tokio::runtime::Runtime,
    ) -> Result<GraphClient, Failure> {
        use keyroll_client::devicecode::{Cancel, SignInStart};
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let clock = Arc::new(SystemClock);
        let choices = self.choices(cert, None)?;
        let session = match rt
            .block_on(choices.begin_device_code(&env, clock.clone()))
            .map_err(connect_failure)?
        {
            SignInStart::Ready(session) => session,
            SignInStart::Pending(pending) => {
                eprintln!("{}", pending.message);
                let started = std::time::Instant::now();
                let (session, stats) = rt
                    .block_on(pending.wait_with_stats(&Cancel::default()))
                    .map_err(|e| connect_failure(ConnectError::Auth(e)))?;
                if self.verbose {
                    eprintln!(
                        "[auth] device code approved after {} ms: {} polls, {} ms of it waiting for the polling interval",
                        started.elapsed().as_millis(),
                        stats.polls,
                        stats.waited.as_millis()
                    );
                }
                session
            }
        };
        if self.verbose {
            eprintln!(
                "[auth] signed in as {} (delegated)",
                session.user().unwrap_or("(unnamed user)")
            );
        }
        let mut client = choices
            .connect_user(session, clock)
            .map_err(connect_failure)?;
        if self.verbose {
            client = client.with_logger(Arc::new(|e: &LogEvent| eprintln!("[http] {}", e.line)));
        }
        Ok(client)
    }

    /// Removes the cached sign-in these options name (every one with `all`).
    pub fn sign_out(&self, all: bool) -> Result<(usize, PathBuf), Failure> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut choices = self.choices(None, None)?;
        choices.device_code = true;
        choices.scopes = self.scopes.iter().cloned().collect();
        choices.sign_out(&env, all).map_err(connect_failure)
    }
}

/// Maps a Graph failure to its documented exit code.
/// The exit code comes from the error's kind (exit::exit_code); where core names a concept this CLI gives with a
/// flag, the flag is added.
pub fn graph_failure(e: GraphError) -> Failure {
    let advice = match &e {
        GraphError::Auth(a) => auth_advice(a),
        GraphError::Refused(Refusal::LastValidCertificate { .. }) => {
            Some("in keyroll: repeat with --force to remove it anyway")
        }
        GraphError::AppIdAsObjectId { .. } => Some("in keyroll: --app-id"),
        // A proof signed by a certificate that is no longer valid: when the object has no valid one left, addKey
        // cannot fix it and only a repair can.
        GraphError::ProofRejected(findings)
            if findings
                .iter()
                .any(|f| f.code == keyroll_proto::inspect::FindingCode::SignerValidity) =>
        {
            Some(
                "in keyroll: if the object has no currently valid certificate left, `key add --repair` adds one by PATCH of all its keys (needs Application.ReadWrite.All)",
            )
        }
        // Hints core words as concepts: an untrusted server certificate, and an object id Graph does not know
        // (perhaps an appId).
        other if other.is_untrusted_certificate() => Some("in keyroll: --ca-cert FILE"),
        other if other.service().is_some_and(|s| s.status == 404) => {
            Some("in keyroll: an appId is given with --app-id")
        }
        _ => None,
    };
    Failure::graph(e, advice)
}

/// A current-thread runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::input(anyhow::anyhow!("cannot start the async runtime: {e}")))
}
