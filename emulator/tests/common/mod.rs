//! Shared helpers: start an emulator on a free port, register applications, mint proofs (good and broken).

#![allow(dead_code)]

use keyroll_emulator::{EmulatorConfig, RunningEmulator};
use keyroll_proto::b64;
use keyroll_proto::cert::SigningIdentity;
use keyroll_proto::cert::generate::self_signed_rsa;
use keyroll_proto::proof::{ProofRequest, mint};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub struct Harness {
    pub emu: RunningEmulator,
    pub http: reqwest::Client,
    pub base: String,
}

pub struct App {
    pub id: Uuid,
    pub app_id: Uuid,
    pub sp_id: Uuid,
    pub identity: SigningIdentity,
    pub token: String,
}

pub fn identity(days_ago: i64, days: i64) -> SigningIdentity {
    self_signed_rsa(
        "CN=keyroll emulator test",
        OffsetDateTime::now_utc() - Duration::days(days_ago),
        days,
        2048,
    )
    .unwrap()
    .identity()
    .unwrap()
}

pub fn client(ca_pem: Option<&str>) -> reqwest::Client {
    let mut b = reqwest::Client::builder().no_proxy();
    if let Some(pem) = ca_pem {
        b = b.tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()]);
    }
    b.build().unwrap()
}

pub async fn start(config: EmulatorConfig) -> Harness {
    let emu = keyroll_emulator::start(config).await.unwrap();
    let http = client(emu.ca_pem.as_deref());
    let base = emu.base_url().to_owned();
    Harness { emu, http, base }
}

pub async fn start_default() -> Harness {
    start(EmulatorConfig::default()).await
}

impl Harness {
    pub async fn create_app(&self, extra: Value) -> App {
        self.create_app_with(identity(1, 30), extra).await
    }

    pub async fn create_app_with(&self, identity: SigningIdentity, extra: Value) -> App {
        let mut body = json!({
            "displayName": "test app",
            "certificates": [b64::encode_std(identity.certificate().der())],
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let r = self
            .http
            .post(format!("{}/_emulator/applications", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let v: Value = r.json().await.unwrap();
        let app_id: Uuid = v["appId"].as_str().unwrap().parse().unwrap();
        let token = self.admin_token(app_id).await;
        App {
            id: v["id"].as_str().unwrap().parse().unwrap(),
            app_id,
            sp_id: v["servicePrincipalId"].as_str().unwrap().parse().unwrap(),
            identity,
            token,
        }
    }

    pub async fn admin_token(&self, app_id: Uuid) -> String {
        let v: Value = self
            .http
            .post(format!("{}/_emulator/tokens", self.base))
            .json(&json!({"appId": app_id}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn keys(&self, id: Uuid) -> Vec<Value> {
        let v: Value = self
            .http
            .get(format!("{}/_emulator/applications/{id}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["keyCredentials"].as_array().unwrap().clone()
    }

    pub async fn add_key(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}/v1.0/{path}", self.base))
            .bearer_auth(token)
            .header("client-request-id", Uuid::new_v4().to_string())
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

pub fn proof(identity: &SigningIdentity, object_id: Uuid) -> String {
    mint(
        identity,
        &ProofRequest::new(object_id),
        OffsetDateTime::now_utc(),
    )
    .unwrap()
    .into_string()
}

/// A proof with a custom header and claims, signed RS256 by `identity`.
pub fn custom_proof(identity: &SigningIdentity, header: &Value, claims: &Value) -> String {
    let mut out = b64::encode_url(header.to_string().as_bytes());
    out.push('.');
    out.push_str(&b64::encode_url(claims.to_string().as_bytes()));
    let sig = identity.sign_rs256(out.as_bytes()).unwrap();
    format!("{out}.{}", b64::encode_url(&sig))
}

pub fn good_header(identity: &SigningIdentity) -> Value {
    let c = identity.certificate();
    json!({"alg": "RS256", "kid": c.sha1_hex(), "x5t": c.x5t(), "typ": "JWT"})
}

pub fn good_claims(object_id: Uuid) -> Value {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    json!({"aud": "00000002-0000-0000-c000-000000000000", "iss": object_id.to_string(), "nbf": now, "exp": now + 600, "iat": now})
}

pub fn add_body(new: &SigningIdentity, proof: &str) -> Value {
    json!({
        "keyCredential": {
            "type": "AsymmetricX509Cert",
            "usage": "Verify",
            "key": b64::encode_std(new.certificate().der()),
        },
        "passwordCredential": null,
        "proof": proof,
    })
}
