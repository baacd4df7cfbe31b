//! The service: where it is and how to sign in (`ConnectionSettings`, through the client's one translation of a
//! user's words), the object an operation is about (`TargetSettings`), and the operations of a `Connection`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use crate::*;
use keyroll_client::graph::{GraphClient, ObjectRef, Target};
use keyroll_client::roll::{self, NoProgress, RollReport};
use keyroll_client::settings::{ConnectionChoices, TargetChoice};
use keyroll_client::signer::{self, SharedSigner, Signer};
use keyroll_proto::cert;
use keyroll_proto::clock::Clock;
use keyroll_proto::credential::AddKeyRequest;
use keyroll_proto::proof::ProofRequest;

// ---------------------------------------------------------------------------------------------------------
// The service.

/// Where the service is, how to trust it, and how to authenticate.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionSettings {
    /// `global` (default), `usgov`, `usgovdod`, `china`, or an Azure PowerShell environment name.
    #[serde(default)]
    pub cloud: Option<String>,
    /// Replaces the Graph host (e.g. the emulator's `graph_url`).
    #[serde(default)]
    pub graph_url: Option<String>,
    /// Replaces the login host (e.g. the emulator's `login_url`).
    #[serde(default)]
    pub login_url: Option<String>,
    /// `v1.0` (default) or `beta`.
    #[serde(default)]
    pub api_version: Option<String>,
    /// A PEM file of extra root certificates to trust (e.g. the emulator's `ca_cert`).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM text of extra root certificates to trust.
    #[serde(default)]
    pub ca_pem: Option<String>,
    /// An explicit proxy URL. Hosts pass it explicitly: their environment changes do not reach this library.
    #[serde(default)]
    pub proxy: Option<String>,
    /// Whole-request timeout in seconds (default 30).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// An access token for Graph (first in precedence).
    #[serde(default)]
    pub access_token: Option<String>,
    /// Tenant, to authenticate as the app with its certificate.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Client id (appId) to authenticate as, or of a user-assigned managed identity.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Authenticate with a managed identity.
    #[serde(default)]
    pub managed_identity: bool,
    /// Sign in as a user by device code (`DeviceCodeSignIn`, not `Connection::open`): `tenantId` is the tenant,
    /// `clientId` a public client (Microsoft Graph Command Line Tools when absent).
    #[serde(default)]
    pub device_code: bool,
    /// Delegated scopes of a device-code sign-in (Application.ReadWrite.All when none).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The token cache file of a device-code sign-in (default: `KEYROLL_TOKEN_CACHE` of `environment`, else the
    /// profile's cache folder from `XDG_CACHE_HOME` / `HOME` / `LOCALAPPDATA` of `environment`).
    #[serde(default)]
    pub token_cache: Option<PathBuf>,
    /// Environment variables as the host sees them (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`, `AZURE_TENANT_ID`,
    /// `AZURE_CLIENT_ID`, `AZURE_CLIENT_CERTIFICATE_PATH`, …). The process environment is not read.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
}

impl Drop for ConnectionSettings {
    fn drop(&mut self) {
        self.access_token.zeroize();
        for v in self.environment.values_mut() {
            v.zeroize();
        }
    }
}

impl std::fmt::Debug for ConnectionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSettings")
            .field("cloud", &self.cloud)
            .field("graph_url", &self.graph_url)
            .field("login_url", &self.login_url)
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<redacted>"),
            )
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("managed_identity", &self.managed_identity)
            .field("device_code", &self.device_code)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl ConnectionSettings {
    /// The user's words, for the client's one translation ([`ConnectionChoices`]).
    fn choices(&self, certificate: Option<SharedSigner>) -> Result<ConnectionChoices, ApiError> {
        let mut roots = match &self.ca_file {
            Some(p) => Some(read_named_file("caFile", p)?),
            None => None,
        };
        if let Some(pem) = &self.ca_pem {
            roots
                .get_or_insert_with(Vec::new)
                .extend_from_slice(format!("\n{pem}\n").as_bytes());
        }
        // The same translation the CLI uses: the host's certificate is the one it signs in with.
        Ok(ConnectionChoices {
            cloud: self.cloud.clone(),
            graph_url: self.graph_url.clone(),
            login_url: self.login_url.clone(),
            api_version: self.api_version.clone(),
            extra_roots_pem: roots,
            proxy: self.proxy.clone(),
            request_timeout: self.timeout_secs.map(Duration::from_secs),
            access_token: self.access_token.clone().map(Zeroizing::new),
            tenant_id: self.tenant_id.clone(),
            client_id: self.client_id.clone(),
            sign_in_certificate: certificate,
            proof_certificate: None,
            managed_identity: self.managed_identity,
            vault_access_token: None,
            device_code: self.device_code,
            scopes: self.scopes.clone(),
            token_cache: self.token_cache.clone(),
        })
    }

    /// The environment as the host passed it (the process environment is not read).
    fn env(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |k: &str| self.environment.get(k).filter(|v| !v.is_empty()).cloned()
    }
}

/// A delegated sign-in by device code under way, in two steps so that the host is never called back:
/// [`DeviceCodeSignIn::start`] answers what to show (or that the cached sign-in is usable), then
/// [`DeviceCodeSignIn::wait`] blocks until the user approved (the connection), declined, let the code expire, or
/// another thread called [`DeviceCodeSignIn::cancel`].
pub struct DeviceCodeSignIn {
    choices: ConnectionChoices,
    start: std::sync::Mutex<Option<keyroll_client::devicecode::SignInStart>>,
    cancel: keyroll_client::devicecode::Cancel,
}

impl std::fmt::Debug for DeviceCodeSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCodeSignIn").finish_non_exhaustive()
    }
}

impl DeviceCodeSignIn {
    /// Starts it: `{pending: true, userCode, verificationUri, message, expiresOn, intervalSecs}` when the user
    /// must act, `{pending: false, user}` when the cached sign-in is usable. Nothing secret is in the answer.
    pub async fn start(
        settings: &ConnectionSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<(Self, Value), ApiError> {
        use keyroll_client::devicecode::SignInStart;
        let mut choices = settings.choices(None)?;
        choices.device_code = true;
        let env = settings.env();
        let start = choices.begin_device_code(&env, clock).await?;
        let answer = match &start {
            SignInStart::Ready(s) => json!({"pending": false, "user": s.user()}),
            SignInStart::Pending(p) => json!({
                "pending": true,
                "userCode": p.user_code,
                "verificationUri": p.verification_uri,
                "message": p.message,
                "expiresOn": keyroll_proto::credential::serde_date::format(p.expires_at),
                "intervalSecs": p.interval.as_secs(),
            }),
        };
        Ok((
            DeviceCodeSignIn {
                choices,
                start: std::sync::Mutex::new(Some(start)),
                cancel: keyroll_client::devicecode::Cancel::default(),
            },
            answer,
        ))
    }

    /// Stops a [`DeviceCodeSignIn::wait`] in progress (from any thread): it answers a cancelled sign-in.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Waits for the user (polling as the protocol says) and answers the connection. Once only.
    pub async fn wait(&self, clock: Arc<dyn Clock>) -> Result<Connection, ApiError> {
        use keyroll_client::devicecode::SignInStart;
        let start = self
            .start
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| {
                ApiError::settings(
                    "deviceCode",
                    "this sign-in was waited for already: start a new one",
                )
            })?;
        let session = match start {
            SignInStart::Ready(s) => s,
            SignInStart::Pending(p) => p.wait(&self.cancel).await.map_err(ApiError::Auth)?,
        };
        Ok(Connection {
            client: self.choices.connect_user(session, clock)?,
        })
    }
}

/// Signs out: removes the cached sign-ins of the login host the settings name, narrowed to their tenant, client
/// and scopes when given (every cached sign-in with `all`): `{removed, tokenCache}`.
pub fn sign_out(settings: &ConnectionSettings, all: bool) -> Result<Value, ApiError> {
    let choices = settings.choices(None)?;
    let env = settings.env();
    let (removed, path) = choices.sign_out(&env, all)?;
    Ok(json!({"removed": removed, "tokenCache": path}))
}

/// The object an operation is about.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetSettings {
    /// `application` (default), `servicePrincipal`, `agentIdentityBlueprint`.
    #[serde(default)]
    pub kind: Option<String>,
    /// The object id.
    #[serde(default)]
    pub object_id: Option<String>,
    /// The appId (client id), when the object id is not known.
    #[serde(default)]
    pub app_id: Option<String>,
}

impl TargetSettings {
    /// The target, through the client's one translation of a user's words ([`TargetChoice`]).
    pub(crate) fn target(&self) -> Result<Target, ApiError> {
        Ok(TargetChoice {
            kind: self.kind.clone(),
            object_id: self.object_id.clone(),
            app_id: self.app_id.clone(),
        }
        .target()?)
    }
}

/// A connection to the service: the Graph client with its token cache and shared throttle. Cheap to share
/// between threads; every operation may run concurrently.
#[derive(Debug, Clone)]
pub struct Connection {
    client: GraphClient,
}

impl Connection {
    /// Builds the connection. `certificate` authenticates as the app when `tenantId` and `clientId` are set and
    /// no token is given. Nothing is sent yet.
    pub fn open(
        settings: &ConnectionSettings,
        certificate: Option<SharedSigner>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ApiError> {
        let choices = settings.choices(certificate)?;
        let env = settings.env();
        Ok(Connection {
            client: choices.connect(&env, clock)?,
        })
    }

    /// The Graph client.
    pub fn client(&self) -> &GraphClient {
        &self.client
    }

    /// Where the connection goes and as whom, without secrets: `{graphUrl, loginUrl, cloud, apiVersion,
    /// credential}`.
    pub fn describe(&self) -> Value {
        let e = self.client.endpoints();
        json!({
            "graphUrl": e.graph,
            "loginUrl": e.login,
            "cloud": e.cloud.to_string(),
            "apiVersion": e.api_version.as_str(),
            "credential": self.client.tokens().credential().describe(),
        })
    }

    /// An object's key credentials: `{id, appId, keys: [{keyId, thumbprint, displayName, type, usage,
    /// startDateTime, endDateTime, daysLeft, status, signs}]}`. `signer` marks the caller's certificate.
    pub async fn list_keys(
        &self,
        target: &TargetSettings,
        signer: Option<&dyn Signer>,
    ) -> Result<Value, ApiError> {
        let keys = self.client.resolve(&target.target()?).await?;
        let now = self.client.clock().now();
        Ok(json!({
            "id": keys.id,
            "appId": keys.app_id,
            "keys": roll::summarize(&keys.keys, now, signer.map(|s| s.certificate())),
        }))
    }

    /// The object id a proof for `target` must carry (a read when the target is named by appId).
    async fn object_id(&self, target: &Target) -> Result<Uuid, ApiError> {
        match target.object {
            ObjectRef::Id(id) => Ok(id),
            ObjectRef::AppId(_) => Ok(self.client.resolve(target).await?.id),
        }
    }

    /// `addKey`: the new certificate as a key credential, with the given proof or one minted with `signer` (a
    /// current certificate of the object). `{keyId, thumbprint, recovered, attempts, keyCredential, warnings,
    /// retries}`; `retries` are the retries the call made (throttled, busy, no answer), in the client's words.
    pub async fn add_key(
        &self,
        settings: &AddKeySettings,
        signer: Option<&dyn Signer>,
    ) -> Result<Value, ApiError> {
        let target = settings.target.target()?;
        let bytes = match (&settings.certificate, &settings.certificate_file) {
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(path)) => read_named_file("certificateFile", path)?,
            _ => {
                return Err(ApiError::settings(
                    "addKey settings",
                    "give the new certificate as certificate (base64 or PEM) or certificateFile, one of them",
                ));
            }
        };
        let public = cert::load_key_credential_certificate(&bytes)?;
        let built = settings.key.builder(public.certificate.clone())?.build()?;
        let proof = self
            .proof_for(&target, settings.proof.as_deref(), signer)
            .await?;
        let request = AddKeyRequest {
            key_credential: built.key_credential,
            password_credential: settings.password_credential.as_ref().map(|p| {
                keyroll_proto::credential::PasswordCredential::with_secret(p.secret_text.clone())
            }),
            proof,
        };
        let log = Arc::new(RetryLog::default());
        let outcome = self
            .client
            .clone()
            .with_retry_observer(log.clone())
            .add_key(&target, &request, &public.certificate)
            .await?;
        let mut warnings = built.warnings;
        warnings.extend(public.notice);
        Ok(json!({
            "keyId": outcome.credential.key_id,
            "thumbprint": public.certificate.sha1_hex(),
            "recovered": outcome.recovered,
            "attempts": outcome.attempts,
            "keyCredential": outcome.credential,
            "warnings": warnings,
            "retries": log.take(),
        }))
    }

    /// Repair of an object with no valid certificate: the new certificate added by PATCH of the whole
    /// `keyCredentials`, every existing key sent back by its keyId (`GraphClient::repair_key`). Needs a sign-in
    /// holding Application.ReadWrite.All (or OwnedBy as an owner); no proof. Takes addKey's settings without
    /// `proof` and `passwordCredential`. `{keyId, thumbprint, keyCredential, kept, keysBefore, keysAfter,
    /// restarts, recovered, warnings, retries}`.
    pub async fn repair_key(&self, settings: &AddKeySettings) -> Result<Value, ApiError> {
        if settings.proof.is_some() || settings.password_credential.is_some() {
            return Err(ApiError::settings(
                "repair settings",
                "a repair is a PATCH authorized by the sign-in's permission: leave out proof and passwordCredential (it adds AsymmetricX509Cert + Verify keys only)",
            ));
        }
        let target = settings.target.target()?;
        let bytes = match (&settings.certificate, &settings.certificate_file) {
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(path)) => read_named_file("certificateFile", path)?,
            _ => {
                return Err(ApiError::settings(
                    "repair settings",
                    "give the new certificate as certificate (base64 or PEM) or certificateFile, one of them",
                ));
            }
        };
        let public = cert::load_key_credential_certificate(&bytes)?;
        let built = settings.key.builder(public.certificate.clone())?.build()?;
        let log = Arc::new(RetryLog::default());
        let outcome = self
            .client
            .clone()
            .with_retry_observer(log.clone())
            .repair_key(&target, built.key_credential)
            .await?;
        let mut warnings = built.warnings;
        warnings.extend(public.notice);
        Ok(json!({
            "keyId": outcome.credential.key_id,
            "thumbprint": public.certificate.sha1_hex(),
            "keyCredential": outcome.credential,
            "kept": outcome.kept,
            "keysBefore": outcome.keys_before,
            "keysAfter": outcome.keys_after,
            "restarts": outcome.restarts,
            "recovered": outcome.recovered,
            "warnings": warnings,
            "retries": log.take(),
        }))
    }

    /// `removeKey` with the given proof or one minted with `signer`: `{keyId, removed: true, retries}`.
    pub async fn remove_key(
        &self,
        settings: &RemoveKeySettings,
        signer: Option<&dyn Signer>,
    ) -> Result<Value, ApiError> {
        let target = settings.target.target()?;
        let key_id = parse_guid("removeKey settings (keyId)", &settings.key_id)?;
        let proof = self
            .proof_for(&target, settings.proof.as_deref(), signer)
            .await?;
        // A forced removal of the last valid certificate is allowed, and said: read the keys it is judged on.
        let mut warnings = Vec::new();
        if settings.force {
            let keys = self.client.resolve(&target).await?;
            warnings.extend(keyroll_proto::key_status::forced_last_valid_removal(
                &keys.keys,
                key_id,
                self.client.clock().now(),
                &target.to_string(),
            ));
        }
        let log = Arc::new(RetryLog::default());
        self.client
            .clone()
            .with_retry_observer(log.clone())
            .remove_key(&target, key_id, &proof, settings.force)
            .await?;
        Ok(json!({ "keyId": key_id, "removed": true, "retries": log.take(), "warnings": warnings }))
    }

    /// `addPassword`: a new client secret, generated by the service. `{keyId, objectId, passwordCredential,
    /// secretText, attempts, orphansRemoved, warnings, retries}`. `secretText` is the secret, here once: the
    /// host shows it to its user once (the PowerShell module as a SecureString) and keeps it nowhere else.
    pub async fn add_password(&self, settings: &AddPasswordSettings) -> Result<Value, ApiError> {
        let target = settings.target.target()?;
        let date = |what: &str, v: &Option<String>| {
            v.as_deref()
                .map(|s| {
                    keyroll_proto::credential::serde_date::parse(s).map_err(|e| {
                        ApiError::settings("addPassword settings", format!("{what}: {e}"))
                    })
                })
                .transpose()
        };
        let request = keyroll_proto::password::PasswordRequest {
            display_name: settings.display_name.clone(),
            start_date_time: date("startDateTime", &settings.start_date_time)?,
            end_date_time: date("endDateTime", &settings.end_date_time)?,
        };
        let log = Arc::new(RetryLog::default());
        let outcome = self
            .client
            .clone()
            .with_retry_observer(log.clone())
            .add_password(&target, &request)
            .await?;
        Ok(json!({
            "keyId": outcome.credential.key_id,
            "objectId": outcome.object_id,
            "passwordCredential": outcome.credential,
            "secretText": outcome.secret.expose(),
            "attempts": outcome.attempts,
            "orphansRemoved": outcome.orphans_removed,
            "warnings": outcome.warnings,
            "retries": log.take(),
        }))
    }

    /// `removePassword`: `{keyId, removed: true, retries}`.
    pub async fn remove_password(
        &self,
        settings: &RemovePasswordSettings,
    ) -> Result<Value, ApiError> {
        let target = settings.target.target()?;
        let key_id = parse_guid("removePassword settings (keyId)", &settings.key_id)?;
        let log = Arc::new(RetryLog::default());
        self.client
            .clone()
            .with_retry_observer(log.clone())
            .remove_password(&target, key_id)
            .await?;
        Ok(json!({ "keyId": key_id, "removed": true, "retries": log.take() }))
    }

    async fn proof_for(
        &self,
        target: &Target,
        given: Option<&str>,
        signer: Option<&dyn Signer>,
    ) -> Result<String, ApiError> {
        // Without a certificate from the caller, the certificate this connection signs in with mints the proof
        // (one the environment named, AZURE_CLIENT_CERTIFICATE_PATH, as well as one given to the connection):
        // it is a certificate of the application, as a proof needs.
        let sign_in = match self.client.tokens().credential() {
            keyroll_client::auth::Credential::ClientCertificate { identity, .. } => Some(identity),
            _ => None,
        };
        let signer = signer.or(sign_in.as_deref());
        match (given.filter(|p| !p.trim().is_empty()), signer) {
            (Some(p), _) => Ok(p.trim().to_string()),
            (None, Some(identity)) => {
                let object_id = self.object_id(target).await?;
                let now = self.client.clock().now();
                let proof = signer::mint_proof(identity, &ProofRequest::new(object_id), now)
                    .await
                    .map_err(keyroll_client::graph::GraphError::from)?;
                Ok(proof.into_string())
            }
            (None, None) => Err(ApiError::settings(
                "proof",
                "give a proof, or a current certificate of the object to mint one with",
            )),
        }
    }

    /// Rolls the object from `current` to `new` (both with their keys). A roll that does not complete is an
    /// [`ApiError::Roll`] carrying the report.
    pub async fn roll(
        &self,
        settings: &RollSettings,
        current: SharedSigner,
        new: SharedSigner,
    ) -> Result<Value, ApiError> {
        let spec = settings.spec(current, new)?;
        roll_outcome(roll::roll(&self.client, &spec, &NoProgress).await)
    }

    /// Starts the same roll as [`Connection::roll`] in the background on the current tokio runtime and returns
    /// at once; [`RollOperation::poll`] reports its progress and, at the end, its outcome. Settings are checked
    /// before anything starts. Must be called from within a tokio runtime.
    pub fn start_roll(
        &self,
        settings: &RollSettings,
        current: SharedSigner,
        new: SharedSigner,
    ) -> Result<RollOperation, ApiError> {
        let spec = settings.spec(current, new)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            ApiError::settings("roll", "a background roll needs a tokio runtime to run on")
        })?;
        let recorder = Arc::new(Recorder::default());
        // The roll's retries reach the host through the recorder.
        let client = self.client.clone().with_retry_observer(recorder.clone());
        let progress = recorder.clone();
        let task = runtime.spawn(async move {
            let outcome = roll_outcome(roll::roll(&client, &spec, progress.as_ref()).await);
            progress.lock().outcome = Some(outcome.map_err(|e| e.report()));
        });
        Ok(RollOperation {
            recorder,
            task,
            signers: Vec::new(),
        })
    }
}

pub(crate) fn roll_outcome(report: RollReport) -> Result<Value, ApiError> {
    if report.success {
        serde_json::to_value(&report).map_err(|e| ApiError::settings("report", e.to_string()))
    } else {
        Err(ApiError::Roll(Box::new(report)))
    }
}

/// The retries of one call, kept for its answer: a host that calls synchronously (PowerShell) shows them after
/// the call rather than hearing nothing while it was throttled.
#[derive(Default)]
struct RetryLog(std::sync::Mutex<Vec<String>>);

impl RetryLog {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl keyroll_client::graph::RetryObserver for RetryLog {
    fn retrying(&self, event: &keyroll_client::graph::RetryEvent) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.to_string());
    }
}
