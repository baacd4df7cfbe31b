//! # keyroll-emulator
//!
//! A local Microsoft identity platform and Microsoft Graph for certificate rollover, strict exactly where the
//! real service is strict. It is the judge the client, the bindings and the PowerShell module are tested
//! against, and it works unchanged with Microsoft's own clients (MSAL, the Graph SDKs) pointed at its URLs.
//!
//! * [`app::app`] builds the router: OIDC discovery and the token endpoint (client credentials with a
//!   certificate assertion), a managed-identity endpoint, Graph's addKey / removeKey / read-keys in every
//!   addressing form under `/v1.0` and `/beta`, and the admin API under `/_emulator/`.
//! * Every protocol rule is judged by `keyroll_proto`: proofs by [`keyroll_proto::inspect::inspect`], addKey
//!   bodies by [`keyroll_proto::credential::validate_add_key`], client assertions by
//!   [`keyroll_proto::assertion::verify`]. The emulator owns only what a service owns: state, routing,
//!   permissions, status codes and envelopes.
//! * [`store::Store`] keeps the directory in SQLite (in memory, or a WAL file with `--state`); every write is
//!   one transaction that re-checks its preconditions, so concurrent writers never lose or duplicate a key.
//! * [`list`] serves the collections (`GET /applications`, `GET /servicePrincipals`) with `$select`, `$top`,
//!   `$filter`, `$count`, `$expand=owners` and signed skip tokens, for inventory scans.
//! * [`faults`] injects 429 / 503 / latency / drop-after-commit and enforces the per app+tenant write budget
//!   and read budget (resource units).
//! * [`replication`] makes reads lag writes and new keys wait before they sign in, as the real directory's
//!   replication does, when asked to.
//! * [`vault`] emulates Azure Key Vault's data plane at the same origin (`vault_url`): certificates read,
//!   created and polled, keys read (public part only) and signing digests with keys that never leave the
//!   emulator, behind the service's 401 challenge and access-policy 403s. The token and managed-identity
//!   endpoints issue vault-audience tokens ([`tokens::Resource`]).
//! * [`start`] serves it on loopback (HTTPS with a CA kept with the state, by default) within
//!   [`server::ConnectionLimits`] and hands back the URLs, the CA and a shutdown handle.
//!
//! ## What it does not do
//!
//! It never listens beyond loopback, keeps no real secrets (its CA, token key and vault keys are generated; a
//! client secret given to the admin API is kept only as its SHA-256), and implements only the endpoints
//! rollover and an inventory scan need: no `$orderby`, `$search` or `or` in filters, no user objects; of Key
//! Vault, no secrets, standalone keys, merge, deletion or RBAC (see [`vault`]). Its refusals carry
//! an extra `x-keyroll-emulator-diagnostic` header naming the failed check; the real service gives no such
//! detail.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod app;
pub mod devicecode;
pub mod error;
pub mod faults;
pub mod graph;
pub mod identity;
pub mod limits;
pub mod list;
pub mod replication;
pub mod server;
pub mod state;
pub mod store;
pub mod tls;
pub mod tokens;
pub mod vault;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use keyroll_proto::clock::{Clock, SystemClock};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use app::app;
pub use error::{ApiError, EmulatorError, StoreError};
pub use faults::{FaultConfig, FaultRule, ReadBudget, WriteBudget};
pub use server::ConnectionLimits;
pub use state::Emulator;

/// Seconds of clock difference tolerated on proofs and client assertions by default.
pub const DEFAULT_SKEW_SECS: i64 = keyroll_proto::inspect::SERVICE_CLOCK_SKEW_SECS;

/// How to run an emulator.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Where to listen (loopback only); port 0 picks a free port.
    pub listen: SocketAddr,
    /// HTTPS with a generated CA (default) or plain HTTP.
    pub tls: bool,
    /// SQLite file for the state; in memory when `None`.
    pub state: Option<PathBuf>,
    /// JSON seed file loaded at start (see [`admin::Seed`]).
    pub seed: Option<PathBuf>,
    /// Where to write the CA's PEM; a file in the temporary directory when `None`.
    pub ca_file: Option<PathBuf>,
    /// Faults and the write budget.
    pub faults: FaultConfig,
    /// Seconds of clock difference tolerated on proofs and assertions.
    pub skew_secs: i64,
    /// The clock every check uses.
    pub clock: Arc<dyn Clock>,
    /// Bounds on connections, request heads and bodies.
    pub limits: ConnectionLimits,
}

impl std::fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("listen", &self.listen)
            .field("tls", &self.tls)
            .field("state", &self.state)
            .field("seed", &self.seed)
            .field("faults", &self.faults)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: true,
            state: None,
            seed: None,
            ca_file: None,
            faults: FaultConfig {
                write_budget: Some(WriteBudget::SERVICE),
                read_budget: Some(ReadBudget::SERVICE),
                ..FaultConfig::default()
            },
            skew_secs: DEFAULT_SKEW_SECS,
            clock: Arc::new(SystemClock),
            limits: ConnectionLimits::default(),
        }
    }
}

/// What a started emulator tells its user: the first line `keyroll-emulator` prints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Endpoints {
    /// Graph base URL (append `/v1.0` or `/beta`).
    pub graph_url: String,
    /// Login base URL (authority = `{login_url}/{tenant}`).
    pub login_url: String,
    /// Key Vault URL (`{vault_url}/certificates/{name}`, `{vault_url}/keys/{name}/{version}/sign`): one
    /// vault at the emulator's root; see [`vault`].
    pub vault_url: String,
    /// Path of the CA's PEM file, `None` for plain HTTP.
    pub ca_cert: Option<PathBuf>,
}

/// A running emulator.
pub struct RunningEmulator {
    /// Its URLs.
    pub endpoints: Endpoints,
    /// The CA certificate (PEM) to trust, `None` for plain HTTP.
    pub ca_pem: Option<String>,
    /// The bound address.
    pub addr: SocketAddr,
    /// The tenant objects are created in by default.
    pub tenant_id: Uuid,
    /// The shared state (for in-process tests).
    pub state: Arc<Emulator>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    /// The CA file written to the temporary folder because no `ca_file` was named: removed when the emulator
    /// stops (shutdown or drop), so that runs leave nothing behind. A named file is the caller's and stays.
    generated_ca_file: Option<PathBuf>,
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(path) = self.generated_ca_file.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl std::fmt::Debug for RunningEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningEmulator")
            .field("endpoints", &self.endpoints)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningEmulator {
    /// Stops accepting, closes every connection and waits for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        // Drop removes a generated CA file.
    }

    /// The base URL (`scheme://127.0.0.1:port`).
    pub fn base_url(&self) -> &str {
        &self.endpoints.graph_url
    }
}

fn random_secret() -> String {
    let a = Uuid::new_v4().simple().to_string();
    let b = Uuid::new_v4().simple().to_string();
    format!("{a}{b}")
}

/// Opens the state, loads the seed, generates TLS material, binds and serves in a background task.
pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
    let listener = server::bind(config.listen).await?;
    let addr = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind {
            addr: config.listen,
            source,
        })?;
    let store = store::Store::open(config.state.as_deref())?;
    let tenant_bytes = store.meta_or_insert("default_tenant", Uuid::new_v4().as_bytes())?;
    let default_tenant = Uuid::from_slice(&tenant_bytes).map_err(|e| StoreError::Corrupt {
        what: "default tenant",
        reason: e.to_string(),
    })?;
    store.ensure_tenant(default_tenant, "keyroll emulator tenant")?;
    let signer = tokens::TokenSigner::load_or_create(&store)?;
    let scheme = if config.tls { "https" } else { "http" };
    let state = Arc::new(Emulator::new(
        store,
        signer,
        faults::Faults::new(config.faults.clone()),
        config.clock.clone(),
        config.skew_secs,
        default_tenant,
        random_secret(),
        scheme,
        config.limits,
    ));
    if let Some(path) = &config.seed {
        load_seed(&state, path)?;
    }
    let mut generated_ca_file = None;
    let (tls, ca_pem, ca_cert) = if config.tls {
        let material = tls::load_or_create(&state.store)?;
        let path = match &config.ca_file {
            Some(p) => p.clone(),
            None => {
                let p = std::env::temp_dir().join(format!(
                    "keyroll-emulator-{}-{}-ca.pem",
                    std::process::id(),
                    addr.port()
                ));
                generated_ca_file = Some(p.clone());
                p
            }
        };
        std::fs::write(&path, &material.ca_pem).map_err(|source| EmulatorError::File {
            path: path.clone(),
            source,
        })?;
        (
            Some(tokio_rustls::TlsAcceptor::from(material.server_config)),
            Some(material.ca_pem),
            Some(path),
        )
    } else {
        (None, None, None)
    };
    let base = format!("{scheme}://{addr}");
    let (tx, rx) = watch::channel(false);
    let router = app(state.clone());
    let task = tokio::spawn(server::serve(listener, tls, router, config.limits, rx));
    Ok(RunningEmulator {
        endpoints: Endpoints {
            graph_url: base.clone(),
            login_url: base.clone(),
            vault_url: base,
            ca_cert,
        },
        ca_pem,
        addr,
        tenant_id: default_tenant,
        state,
        shutdown: tx,
        task: Some(task),
        generated_ca_file,
    })
}

fn load_seed(state: &Emulator, path: &std::path::Path) -> Result<(), EmulatorError> {
    let text = std::fs::read(path).map_err(|source| EmulatorError::File {
        path: path.to_owned(),
        source,
    })?;
    let seed: admin::Seed = serde_json::from_slice(&text).map_err(|e| EmulatorError::Seed {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    for t in seed.tenants {
        state.store.ensure_tenant(t, "seeded tenant")?;
    }
    for (i, a) in seed.applications.into_iter().enumerate() {
        admin::create(state, a).map_err(|e| EmulatorError::Seed {
            path: path.to_owned(),
            reason: format!("applications[{i}]: {}", describe(&e)),
        })?;
    }
    Ok(())
}

fn describe(e: &ApiError) -> String {
    match e {
        ApiError::Graph {
            message,
            diagnostic,
            ..
        } => diagnostic.clone().unwrap_or_else(|| message.clone()),
        ApiError::OAuth { description, .. } => description.clone(),
    }
}
