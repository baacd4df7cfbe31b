//! The emulator harness every suite shares, so that none talks to the admin API its own way:
//!
//! - [`Admin`]: the emulator's admin API (`/_emulator/...`): create objects, read their key credentials,
//!   mint tokens, set faults, read `info`. Async, over any `reqwest::Client` that trusts the emulator.
//! - [`start`] / [`start_with`]: an in-process emulator ([`Harness`]) with an HTTP client that trusts exactly
//!   its CA, and Graph clients of every kind pointed at it (for the client and host suites).
//! - [`ChildEmulator`]: the `keyroll-emulator` binary ([`emulator_bin`]) started as a child process (for the
//!   CLI suites, which run binaries), with the same admin API as blocking calls.
//! - [`certs`]: a handful of RSA certificates made once per process.
//! - The emulated Key Vault (at the emulator's root URL, [`Harness::vault_url`]): [`Admin::vault_certificate`]
//!   puts a certificate with a non-exportable key into it, [`Admin::vault_grant`] grants a principal its
//!   access-policy permissions, [`Admin::vault_token_for`] mints a vault-audience token.
//!
//! Panics on any failure: it is test support.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use keyroll_client::auth::{self, Credential, TokenProvider};
use keyroll_client::cloud::{ApiVersion, Cloud, Endpoints};
use keyroll_client::graph::{
    AddKeyOutcome, GraphClient, GraphError, ObjectRef, RetryPolicy, Target, TargetKind,
};
use keyroll_client::http::{self, HttpOptions};
use keyroll_emulator::{EmulatorConfig, RunningEmulator};
use keyroll_proto::b64;
use keyroll_proto::cert::generate::{GeneratedCertificate, self_signed_rsa};
use keyroll_proto::cert::{Certificate, SigningIdentity};
use keyroll_proto::clock::{Clock, SystemClock};
use keyroll_proto::credential::{AddKeyRequest, KeyCredentialBuilder};
use keyroll_proto::proof::{self, ProofRequest};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// RSA keys are slow to make, so a handful is made once and shared by every test of a process.
pub struct Certs {
    /// Valid now, for a year.
    pub valid: Vec<GeneratedCertificate>,
    /// Expired ten days ago.
    pub expired: GeneratedCertificate,
}

pub fn certs() -> &'static Certs {
    static C: OnceLock<Certs> = OnceLock::new();
    C.get_or_init(|| {
        let now = OffsetDateTime::now_utc();
        let make = |n: usize| {
            self_signed_rsa(
                &format!("keyroll e2e {n}"),
                now - time::Duration::days(1),
                365,
                2048,
            )
            .unwrap()
        };
        Certs {
            valid: (0..6).map(make).collect(),
            expired: self_signed_rsa(
                "keyroll e2e expired",
                now - time::Duration::days(40),
                30,
                2048,
            )
            .unwrap(),
        }
    })
}

pub fn ident(g: &GeneratedCertificate) -> Arc<SigningIdentity> {
    Arc::new(g.identity().unwrap())
}

/// What the admin API answered for a created application.
#[derive(Debug, Clone, Copy)]
pub struct Created {
    pub id: Uuid,
    pub app_id: Uuid,
    pub sp_id: Uuid,
    pub tenant: Uuid,
}

/// A certificate put into the emulated Key Vault by [`Admin::vault_certificate`]: its identifiers and public
/// certificate (the private key stays in the emulator).
#[derive(Debug, Clone)]
pub struct VaultCertificate {
    /// `{vault}/certificates/{name}/{version}`.
    pub id: String,
    /// `{vault}/keys/{name}/{version}`: what signs.
    pub kid: String,
    pub name: String,
    pub version: String,
    /// The public certificate, to register on an application.
    pub certificate: Certificate,
}

/// The emulator's admin API at `base`, through `http` (a client that trusts the emulator's CA).
#[derive(Clone)]
pub struct Admin {
    pub http: reqwest::Client,
    pub base: String,
}

/// A client that trusts exactly `ca_pem` (any HTTPS server when `None`, for plain HTTP) and never uses a
/// proxy: tests talk to loopback only, whatever the environment says.
pub fn http_client(ca_pem: Option<&[u8]>) -> reqwest::Client {
    // Idle connections are dropped before the emulator's keep-alive timeout (20 s) closes them: reusing one the
    // server is closing at that moment fails the request.
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .pool_idle_timeout(std::time::Duration::from_secs(10));
    if let Some(pem) = ca_pem {
        b = b.tls_certs_only([
            reqwest::Certificate::from_pem(pem).expect("the emulator's CA is PEM")
        ]);
    }
    b.build().expect("an HTTP client")
}

impl Admin {
    fn url(&self, path: &str) -> String {
        format!("{}/_emulator/{path}", self.base)
    }

    /// `POST /_emulator/applications` with `body` as is: the raw answer (for tests of the admin API itself).
    pub async fn create_raw(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url("applications"))
            .json(body)
            .send()
            .await
            .expect("the admin API answers")
    }

    /// Creates an application (and its service principal) holding `certs`, with the fields of `extra` (an
    /// object: `roles`, `tenantId`, ...) added to the request. Asserts 201.
    pub async fn create(&self, certs: &[&Certificate], extra: Value) -> Created {
        let mut body = json!({
            "displayName": "e2e app",
            "certificates": certs.iter().map(|c| b64::encode_std(c.der())).collect::<Vec<_>>(),
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let r = self.create_raw(&body).await;
        let status = r.status();
        let text = r.text().await.expect("the admin API's answer");
        assert_eq!(status, 201, "create application: {text}");
        let v: Value = serde_json::from_str(&text).expect("JSON from the admin API");
        let g = |k: &str| {
            Uuid::parse_str(v[k].as_str().unwrap_or_else(|| panic!("no {k} in {v}"))).unwrap()
        };
        Created {
            id: g("id"),
            app_id: g("appId"),
            sp_id: g("servicePrincipalId"),
            tenant: g("tenantId"),
        }
    }

    /// The application object `id` as the admin API shows it (every write visible at once, no lag).
    pub async fn object(&self, id: Uuid) -> Value {
        self.http
            .get(self.url(&format!("applications/{id}")))
            .send()
            .await
            .expect("the admin API answers")
            .json()
            .await
            .expect("JSON from the admin API")
    }

    /// The key credentials of object `id`, as Graph's JSON.
    pub async fn key_credentials(&self, id: Uuid) -> Vec<Value> {
        let v = self.object(id).await;
        v["keyCredentials"]
            .as_array()
            .unwrap_or_else(|| panic!("no keyCredentials in {v}"))
            .clone()
    }

    /// The thumbprints (SHA-1 hex, uppercase) of object `id`'s key credentials, sorted.
    pub async fn thumbprints(&self, id: Uuid) -> Vec<String> {
        let mut out: Vec<String> = self
            .key_credentials(id)
            .await
            .iter()
            .map(|k| {
                let der = b64::decode_lenient(k["key"].as_str().unwrap()).unwrap();
                Certificate::from_der(&der).unwrap().sha1_hex()
            })
            .collect();
        out.sort();
        out
    }

    /// An access token for application `app_id`, minted by the admin API (no proof of anything needed).
    pub async fn token_for(&self, app_id: Uuid) -> String {
        let v: Value = self
            .http
            .post(self.url("tokens"))
            .json(&json!({ "appId": app_id }))
            .send()
            .await
            .expect("the admin API answers")
            .json()
            .await
            .expect("JSON from the admin API");
        v["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token in {v}"))
            .to_owned()
    }

    /// The emulated Key Vault's URL: the emulator's root.
    pub fn vault_url(&self) -> &str {
        &self.base
    }

    /// `POST /_emulator/vault/certificates` with `body` as is (`name`, `subject`, `kty`, `keySize`, `curve`,
    /// `daysValid`, `notBefore`, `keyMismatch`): the raw answer.
    pub async fn vault_certificate_raw(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url("vault/certificates"))
            .json(body)
            .send()
            .await
            .expect("the admin API answers")
    }

    /// Puts a certificate named `name` (RSA 2048, valid for a year from yesterday, unless `extra` says
    /// otherwise: `{"kty": "EC"}`, `{"keySize": 4096}`, `{"keyMismatch": true}`, ...) into the vault, its key
    /// non-exportable. Asserts 201. A name that exists gets a new version.
    pub async fn vault_certificate(&self, name: &str, extra: Value) -> VaultCertificate {
        let mut body = json!({ "name": name });
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let r = self.vault_certificate_raw(&body).await;
        let status = r.status();
        let text = r.text().await.expect("the admin API's answer");
        assert_eq!(status, 201, "put vault certificate: {text}");
        let v: Value = serde_json::from_str(&text).expect("JSON from the admin API");
        let s = |k: &str| {
            v[k].as_str()
                .unwrap_or_else(|| panic!("no {k} in {v}"))
                .to_owned()
        };
        let der = b64::decode_lenient(&s("cer")).expect("cer is base64");
        VaultCertificate {
            id: s("id"),
            kid: s("kid"),
            name: s("name"),
            version: s("version"),
            certificate: Certificate::from_der(&der).expect("cer is a certificate"),
        }
    }

    /// Puts a pending version of certificate `name` into the vault, as a create for issuer `Unknown` leaves it:
    /// its key exists, its certificate not yet ("not yet issued"). Asserts 201; answers the certificate's id
    /// and the key's (`kid`).
    pub async fn vault_pending_certificate(&self, name: &str) -> (String, String) {
        let r = self
            .vault_certificate_raw(&json!({ "name": name, "pending": true }))
            .await;
        let status = r.status();
        let v: Value = r.json().await.expect("JSON from the admin API");
        assert_eq!(status, 201, "put pending vault certificate: {v}");
        assert!(
            v["cer"].is_null(),
            "a pending version has no certificate: {v}"
        );
        (
            v["id"].as_str().expect("id").to_owned(),
            v["kid"].as_str().expect("kid").to_owned(),
        )
    }

    /// `POST /_emulator/vault/grants`: gives `principal` (a service principal's or managed identity's object
    /// id, or a client id) exactly `permissions` (`keys/get`, `keys/sign`, `certificates/get`,
    /// `certificates/list`, `certificates/create`, `keys/all`, `certificates/all`; none revokes). Asserts 200.
    pub async fn vault_grant(&self, principal: Uuid, permissions: &[&str]) {
        let r = self
            .http
            .post(self.url("vault/grants"))
            .json(&json!({ "principal": principal, "permissions": permissions }))
            .send()
            .await
            .expect("the admin API answers");
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    }

    /// `PUT /_emulator/vault/settings` (`{"selfIssuePolls": N}`: reads of a self-issued certificate's
    /// pending operation that answer `inProgress` before it completes). Asserts 200.
    pub async fn vault_settings(&self, settings: Value) {
        let r = self
            .http
            .put(self.url("vault/settings"))
            .json(&settings)
            .send()
            .await
            .expect("the admin API answers");
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    }

    /// A Key Vault token (`aud` `https://vault.azure.net`) for application `app_id`, minted by the admin API.
    pub async fn vault_token_for(&self, app_id: Uuid) -> String {
        let v: Value = self
            .http
            .post(self.url("tokens"))
            .json(&json!({ "appId": app_id, "resource": "https://vault.azure.net" }))
            .send()
            .await
            .expect("the admin API answers")
            .json()
            .await
            .expect("JSON from the admin API");
        v["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token in {v}"))
            .to_owned()
    }

    /// `GET /_emulator/devicecodes`: the device codes not yet redeemed (`userCode`, `clientId`, `scope`,
    /// `status`).
    pub async fn device_codes(&self) -> Vec<Value> {
        let v: Value = self
            .http
            .get(self.url("devicecodes"))
            .send()
            .await
            .expect("the admin API answers")
            .json()
            .await
            .expect("JSON from the admin API");
        v["value"].as_array().cloned().unwrap_or_default()
    }

    /// The user code of the first pending device code, waiting up to `timeout` for one to appear (the user at the
    /// browser, reading the code from the screen).
    pub async fn wait_for_device_code(&self, timeout: Duration) -> String {
        let until = std::time::Instant::now() + timeout;
        loop {
            if let Some(code) = self
                .device_codes()
                .await
                .iter()
                .find(|c| c["status"] == "pending")
                .and_then(|c| c["userCode"].as_str())
            {
                return code.to_owned();
            }
            assert!(
                std::time::Instant::now() < until,
                "no device code appeared within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `POST /_emulator/devicecodes/{code}` with `body` (`{"action": "approve", "user": {...},
    /// "grantedScopes": [...]}`, `{"action": "deny"}`, `{"action": "expire"}`): the raw answer.
    pub async fn decide_device_code(&self, code: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(&format!("devicecodes/{code}")))
            .json(body)
            .send()
            .await
            .expect("the admin API answers")
    }

    /// Approves `code` as `user` (`{"id", "userPrincipalName", "directoryRoles"}`) granting `scopes`. Asserts 200.
    pub async fn approve_device_code(&self, code: &str, user: Value, scopes: &[&str]) {
        let r = self
            .decide_device_code(
                code,
                &json!({"action": "approve", "user": user, "grantedScopes": scopes}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    }

    /// `PUT /_emulator/devicecode-settings` (`{"intervalSecs": N, "expiresInSecs": M}`). Asserts 200.
    pub async fn device_code_settings(&self, settings: Value) {
        let r = self
            .http
            .put(self.url("devicecode-settings"))
            .json(&settings)
            .send()
            .await
            .expect("the admin API answers");
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    }

    /// `POST /_emulator/refresh-tokens/revoke`: every refresh token of `user` (everyone's with `None`) stops
    /// working. Answers how many.
    pub async fn revoke_refresh_tokens(&self, user: Option<Uuid>) -> u64 {
        let v: Value = self
            .http
            .post(self.url("refresh-tokens/revoke"))
            .json(&json!({ "userId": user }))
            .send()
            .await
            .expect("the admin API answers")
            .json()
            .await
            .expect("JSON from the admin API");
        v["revoked"].as_u64().unwrap_or(0)
    }

    /// `PUT /_emulator/faults`: the raw answer.
    pub async fn put_faults(&self, faults: &Value) -> reqwest::Response {
        self.http
            .put(self.url("faults"))
            .json(faults)
            .send()
            .await
            .expect("the admin API answers")
    }

    /// Sets the emulator's faults. Asserts 200.
    pub async fn faults(&self, faults: Value) {
        let r = self.put_faults(&faults).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    }

    /// `GET /_emulator/info`.
    pub async fn info(&self) -> Value {
        self.http
            .get(self.url("info"))
            .send()
            .await
            .expect("the admin API answers")
            .json()
            .await
            .expect("JSON from the admin API")
    }
}

/// An in-process emulator and a client that trusts exactly its CA (`admin`, also for raw requests).
pub struct Harness {
    pub emu: RunningEmulator,
    pub admin: reqwest::Client,
    pub base: String,
    /// The CA certificate (PEM); empty for a plain-HTTP emulator.
    pub ca_pem: Vec<u8>,
}

/// Starts an in-process emulator with the default configuration (HTTPS, a fresh CA).
pub async fn start() -> Harness {
    start_with(EmulatorConfig::default()).await
}

/// Starts an in-process emulator with `config`.
pub async fn start_with(config: EmulatorConfig) -> Harness {
    let emu = keyroll_emulator::start(config)
        .await
        .expect("the emulator starts");
    let ca_pem = emu.ca_pem.clone().unwrap_or_default().into_bytes();
    let admin = http_client(emu.ca_pem.as_deref().map(str::as_bytes));
    let base = emu.base_url().to_owned();
    Harness {
        emu,
        admin,
        base,
        ca_pem,
    }
}

impl Harness {
    /// The admin API of this emulator.
    pub fn api(&self) -> Admin {
        Admin {
            http: self.admin.clone(),
            base: self.base.clone(),
        }
    }

    /// See [`Admin::create`].
    pub async fn create(&self, certs: &[&Certificate], extra: Value) -> Created {
        self.api().create(certs, extra).await
    }

    /// See [`Admin::thumbprints`].
    pub async fn thumbprints(&self, id: Uuid) -> Vec<String> {
        self.api().thumbprints(id).await
    }

    /// See [`Admin::key_credentials`].
    pub async fn key_credentials(&self, id: Uuid) -> Vec<Value> {
        self.api().key_credentials(id).await
    }

    /// See [`Admin::token_for`].
    pub async fn token_for(&self, app_id: Uuid) -> String {
        self.api().token_for(app_id).await
    }

    /// See [`Admin::faults`].
    pub async fn faults(&self, faults: Value) {
        self.api().faults(faults).await
    }

    /// The emulated Key Vault's URL (the emulator's root; also `endpoints.vault_url`).
    pub fn vault_url(&self) -> &str {
        &self.emu.endpoints.vault_url
    }

    /// See [`Admin::vault_certificate`].
    pub async fn vault_certificate(&self, name: &str, extra: Value) -> VaultCertificate {
        self.api().vault_certificate(name, extra).await
    }

    /// See [`Admin::vault_grant`].
    pub async fn vault_grant(&self, principal: Uuid, permissions: &[&str]) {
        self.api().vault_grant(principal, permissions).await
    }

    /// See [`Admin::vault_token_for`].
    pub async fn vault_token_for(&self, app_id: Uuid) -> String {
        self.api().vault_token_for(app_id).await
    }

    /// See [`Admin::info`].
    pub async fn info(&self) -> Value {
        self.api().info().await
    }

    pub fn endpoints(&self, version: ApiVersion) -> Endpoints {
        let mut e = Endpoints::custom(Cloud::Global, Some(&self.base), Some(&self.base)).unwrap();
        e.api_version = version;
        e
    }

    pub fn client_with(
        &self,
        credential: Credential,
        version: ApiVersion,
        timeout: Option<Duration>,
    ) -> GraphClient {
        let http = http::build_client(&HttpOptions {
            extra_roots_pem: Some(self.ca_pem.clone()),
            request_timeout: timeout,
            ..HttpOptions::default()
        })
        .unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let endpoints = self.endpoints(version);
        let tokens = Arc::new(TokenProvider::new(
            credential,
            endpoints.clone(),
            http.clone(),
            clock.clone(),
        ));
        GraphClient::new(http, endpoints, tokens, clock)
    }

    pub async fn token_client(&self, app_id: Uuid, version: ApiVersion) -> GraphClient {
        let t = self.token_for(app_id).await;
        self.client_with(
            Credential::Token(auth::AccessToken::new(
                t,
                OffsetDateTime::now_utc() + time::Duration::hours(1),
            )),
            version,
            None,
        )
    }

    pub fn cert_client(&self, app: &Created, identity: Arc<SigningIdentity>) -> GraphClient {
        self.client_with(
            Credential::ClientCertificate {
                tenant: app.tenant.to_string(),
                client_id: app.app_id.to_string(),
                identity,
            },
            ApiVersion::V1,
            None,
        )
    }
}

pub fn app_target(id: Uuid) -> Target {
    Target {
        kind: TargetKind::Application,
        object: ObjectRef::Id(id),
    }
}

/// addKey of `new`, with a proof for `object_id` signed by `current`.
pub async fn add(
    client: &GraphClient,
    target: &Target,
    object_id: Uuid,
    current: &SigningIdentity,
    new: &Certificate,
) -> Result<AddKeyOutcome, GraphError> {
    let built = KeyCredentialBuilder::new(new.clone()).build().unwrap();
    let proof = proof::mint(
        current,
        &ProofRequest::new(object_id),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    client
        .add_key(
            target,
            &AddKeyRequest {
                key_credential: built.key_credential,
                password_credential: None,
                proof: proof.into_string(),
            },
            new,
        )
        .await
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

pub fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        max_elapsed: Duration::from_secs(20),
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        replication_window: Duration::from_millis(300),
    }
}

/// The variable naming the `keyroll-emulator` binary, as the test command and the scripts pass it around
/// (beside `KEYROLL_BIN`).
pub const EMULATOR_BIN_VARIABLE: &str = "KEYROLL_EMULATOR_BIN";

/// The `keyroll-emulator` binary: the file `KEYROLL_EMULATOR_BIN` names (the test command sets it after
/// building the workspace), else the one of this test's own target folder and profile, brought up to date once
/// per process by `cargo build -p keyroll-emulator` (a suite of another package cannot name another package's
/// binary to Cargo, and a stale emulator would test old code).
pub fn emulator_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(path) = std::env::var_os(EMULATOR_BIN_VARIABLE) {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "{EMULATOR_BIN_VARIABLE}={} is not a file: build it (cargo build -p keyroll-emulator) or unset it",
                path.display()
            );
            return path;
        }
        // target/<profile>/deps/<test binary>, or target/<profile>/<binary>.
        let exe = std::env::current_exe().expect("the test binary's path");
        let mut profile_dir = exe.parent().expect("the test binary's folder").to_path_buf();
        if profile_dir.ends_with("deps") {
            profile_dir.pop();
        }
        let target_dir = profile_dir.parent().expect("the target folder");
        let profile = profile_dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("the profile folder's name");
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "--quiet", "-p", "keyroll-emulator", "--bin", "keyroll-emulator"])
            .arg("--target-dir")
            .arg(target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        match profile {
            "debug" => {}
            "release" => {
                build.arg("--release");
            }
            other => {
                build.args(["--profile", other]);
            }
        }
        let out = build.output().expect("run cargo build -p keyroll-emulator");
        assert!(
            out.status.success(),
            "cargo build -p keyroll-emulator failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bin = profile_dir.join(format!("keyroll-emulator{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.is_file(), "{} was not built", bin.display());
        bin
    })
    .clone()
}

/// `keyroll-emulator` run as a child process (the CLI suites test binaries), killed when dropped. Its admin
/// API is offered as blocking calls: the CLI tests are synchronous.
pub struct ChildEmulator {
    child: Child,
    /// The Graph (and login) URL it printed.
    pub graph: String,
    /// The Key Vault URL it printed.
    pub vault: String,
    /// The path of its CA certificate file, `None` for `--http`.
    pub ca: Option<String>,
    /// Its admin API.
    pub admin: Admin,
    runtime: tokio::runtime::Runtime,
}

impl Drop for ChildEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ChildEmulator {
    /// Runs `keyroll-emulator --listen 127.0.0.1:0 <extra>` ([`emulator_bin`]) and reads the endpoints line it
    /// prints.
    pub fn start(extra: &[&str]) -> ChildEmulator {
        Self::start_bin(emulator_bin(), extra)
    }

    /// Runs the emulator binary `bin` (the emulator's own suites name theirs) with `--listen 127.0.0.1:0
    /// <extra>` and reads the endpoints line it prints.
    pub fn start_bin(bin: impl AsRef<Path>, extra: &[&str]) -> ChildEmulator {
        let mut child = Command::new(bin.as_ref())
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start keyroll-emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("the endpoints line");
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        let graph = v["graph_url"].as_str().expect("graph_url").to_owned();
        let vault = v["vault_url"].as_str().expect("vault_url").to_owned();
        let ca = v["ca_cert"].as_str().map(str::to_owned);
        let ca_pem = ca
            .as_ref()
            .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("CA file {p}: {e}")));
        let admin = Admin {
            http: http_client(ca_pem.as_deref()),
            base: graph.clone(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the admin calls");
        ChildEmulator {
            child,
            graph,
            vault,
            ca,
            admin,
            runtime,
        }
    }

    /// Stops the emulator the way a service manager does (SIGTERM, through `kill`) and waits for it: its exit
    /// status. Dropping the harness instead kills it outright (SIGKILL), which runs no handler.
    #[cfg(unix)]
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {}", self.child.id());
        self.child.wait().expect("wait for the emulator")
    }

    /// The CA file's path; panics for a plain-HTTP emulator.
    pub fn ca(&self) -> &str {
        self.ca.as_deref().expect("an HTTPS emulator")
    }

    /// `--graph-url`, `--login-url` and (for HTTPS) `--ca-cert` pointing keyroll at this emulator.
    pub fn conn(&self) -> Vec<String> {
        let mut out = vec![
            "--graph-url".to_owned(),
            self.graph.clone(),
            "--login-url".to_owned(),
            self.graph.clone(),
        ];
        if let Some(ca) = &self.ca {
            out.extend(["--ca-cert".to_owned(), ca.clone()]);
        }
        out
    }

    /// Runs an admin call to completion.
    pub fn block_on<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(f)
    }

    /// See [`Admin::create`].
    pub fn create(&self, certs: &[&Certificate], extra: Value) -> Created {
        self.block_on(self.admin.create(certs, extra))
    }

    /// See [`Admin::thumbprints`] (sorted).
    pub fn thumbprints(&self, id: Uuid) -> Vec<String> {
        self.block_on(self.admin.thumbprints(id))
    }

    /// See [`Admin::token_for`].
    pub fn token_for(&self, app_id: Uuid) -> String {
        self.block_on(self.admin.token_for(app_id))
    }

    /// See [`Admin::faults`].
    pub fn faults(&self, faults: Value) {
        self.block_on(self.admin.faults(faults))
    }

    /// See [`Admin::info`].
    pub fn info(&self) -> Value {
        self.block_on(self.admin.info())
    }

    /// See [`Admin::vault_certificate`].
    pub fn vault_certificate(&self, name: &str, extra: Value) -> VaultCertificate {
        self.block_on(self.admin.vault_certificate(name, extra))
    }

    /// See [`Admin::vault_grant`].
    pub fn vault_grant(&self, principal: Uuid, permissions: &[&str]) {
        self.block_on(self.admin.vault_grant(principal, permissions))
    }
}
