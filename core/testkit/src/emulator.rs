//! The emulator harness the end-to-end suites share: a handful of RSA certificates made once per process
//! ([`certs`]), an in-process emulator over HTTPS with an admin client that trusts exactly its CA ([`start`],
//! [`Harness`]), objects created through the admin API, and Graph clients of every kind pointed at it.
//! Panics on any failure: it is test support.

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

pub struct Harness {
    pub emu: RunningEmulator,
    pub admin: reqwest::Client,
    pub base: String,
    pub ca_pem: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
pub struct Created {
    pub id: Uuid,
    pub app_id: Uuid,
    pub sp_id: Uuid,
    pub tenant: Uuid,
}

pub async fn start() -> Harness {
    let emu = keyroll_emulator::start(EmulatorConfig::default())
        .await
        .unwrap();
    let ca_pem = emu.ca_pem.clone().unwrap().into_bytes();
    let admin = http::build_client(&HttpOptions {
        extra_roots_pem: Some(ca_pem.clone()),
        ..HttpOptions::default()
    })
    .unwrap();
    let base = emu.base_url().to_owned();
    Harness {
        emu,
        admin,
        base,
        ca_pem,
    }
}

impl Harness {
    pub async fn create(&self, certs: &[&Certificate], extra: Value) -> Created {
        let mut body = json!({
            "displayName": "e2e app",
            "certificates": certs.iter().map(|c| b64::encode_std(c.der())).collect::<Vec<_>>(),
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let r = self
            .admin
            .post(format!("{}/_emulator/applications", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let v: Value = r.json().await.unwrap();
        let g = |k: &str| Uuid::parse_str(v[k].as_str().unwrap()).unwrap();
        Created {
            id: g("id"),
            app_id: g("appId"),
            sp_id: g("servicePrincipalId"),
            tenant: g("tenantId"),
        }
    }

    /// The thumbprints (SHA-1 hex, uppercase) of an object's key credentials, read through the admin API.
    pub async fn thumbprints(&self, id: Uuid) -> Vec<String> {
        let v: Value = self
            .admin
            .get(format!("{}/_emulator/applications/{id}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut out: Vec<String> = v["keyCredentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                let der = b64::decode_lenient(k["key"].as_str().unwrap()).unwrap();
                Certificate::from_der(&der).unwrap().sha1_hex()
            })
            .collect();
        out.sort();
        out
    }

    pub async fn token_for(&self, app_id: Uuid) -> String {
        let v: Value = self
            .admin
            .post(format!("{}/_emulator/tokens", self.base))
            .json(&json!({ "appId": app_id }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn faults(&self, faults: Value) {
        let r = self
            .admin
            .put(format!("{}/_emulator/faults", self.base))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    pub async fn info(&self) -> Value {
        self.admin
            .get(format!("{}/_emulator/info", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
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
