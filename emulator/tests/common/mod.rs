//! The emulator's own tests: keyroll-testkit's harness (an in-process emulator on a free port, a client that
//! trusts exactly its CA, the admin API), plus what only these tests need: applications with the identity
//! that signs for them and a token, raw addKey, and proofs good and broken.

#![allow(dead_code)]
// The trait is used inside this test crate only: no caller needs to name the future's Send bound.
#![allow(async_fn_in_trait)]

use keyroll_emulator::EmulatorConfig;
use keyroll_proto::b64;
use keyroll_proto::cert::SigningIdentity;
use keyroll_proto::cert::generate::self_signed_rsa;
use keyroll_proto::proof::{ProofRequest, mint};
pub use keyroll_testkit::emulator::Harness;
use keyroll_testkit::emulator::{self as kit};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// An application created for a test, with the identity that signs for it and a token that may write it.
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

/// A client that trusts exactly `ca_pem` and never uses a proxy.
pub fn client(ca_pem: Option<&str>) -> reqwest::Client {
    kit::http_client(ca_pem.map(str::as_bytes))
}

pub async fn start(config: EmulatorConfig) -> Harness {
    kit::start_with(config).await
}

pub async fn start_default() -> Harness {
    kit::start().await
}

/// What these tests add to the shared harness: applications with their identity and token, and raw addKey.
pub trait EmulatorTest {
    async fn create_app(&self, extra: Value) -> App;
    async fn create_app_with(&self, identity: SigningIdentity, extra: Value) -> App;
    async fn admin_token(&self, app_id: Uuid) -> String;
    async fn keys(&self, id: Uuid) -> Vec<Value>;
    async fn add_key(&self, path: &str, token: &str, body: &Value) -> reqwest::Response;
}

impl EmulatorTest for Harness {
    async fn create_app(&self, extra: Value) -> App {
        self.create_app_with(identity(1, 30), extra).await
    }

    async fn create_app_with(&self, identity: SigningIdentity, extra: Value) -> App {
        let created = self.create(&[identity.certificate()], extra).await;
        let token = self.token_for(created.app_id).await;
        App {
            id: created.id,
            app_id: created.app_id,
            sp_id: created.sp_id,
            identity,
            token,
        }
    }

    async fn admin_token(&self, app_id: Uuid) -> String {
        self.token_for(app_id).await
    }

    async fn keys(&self, id: Uuid) -> Vec<Value> {
        self.key_credentials(id).await
    }

    async fn add_key(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.admin
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
