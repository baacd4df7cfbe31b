//! Answers as the service gives them (issue 16): each test is named after a difference the emulator had
//! from the real service, and fails on the emulator before the fix.

mod common;

use common::*;
use keyroll_emulator::{EmulatorConfig, FaultConfig, WriteBudget};
use keyroll_proto::assertion::{AssertionRequest, CLIENT_ASSERTION_TYPE, mint};
use keyroll_proto::b64;
use keyroll_proto::credential::{AddKeyRequest, KeyCredentialBuilder};
use keyroll_testkit::case;
use serde_json::{Value, json};
use uuid::Uuid;

const DIAG: &str = "x-keyroll-emulator-diagnostic";

/// A certificate whose standard base64 has `+` or `/` (so its base64url differs), made fresh until one does.
fn identity_with_url_unsafe_base64() -> keyroll_proto::cert::SigningIdentity {
    loop {
        let id = identity(1, 30);
        let text = b64::encode_std(id.certificate().der());
        if text.contains(['+', '/']) {
            return id;
        }
    }
}

#[tokio::test]
async fn base64url_key_is_accepted_where_the_service_answers_400() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    let new = identity_with_url_unsafe_base64();
    let mut body = add_body(&new, &proof(&app.identity, app.id));
    body["keyCredential"]["key"] = json!(b64::encode_url(new.certificate().der()));
    let r = h
        .add_key(
            &format!("applications/{}/addKey", app.id),
            &app.token,
            &body,
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.headers()[DIAG].to_str().unwrap().contains("base64url"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "Request_BadRequest", "{v}");
    assert_eq!(
        v["error"]["message"],
        "Cannot convert a primitive value to the expected type 'Edm.Binary'. See the inner exception for more details."
    );
    assert_eq!(h.keys(app.id).await.len(), 1, "nothing may be added");
    // The same key in standard base64 is added.
    let body = add_body(&new, &proof(&app.identity, app.id));
    let r = h
        .add_key(
            &format!("applications/{}/addKey", app.id),
            &app.token,
            &body,
        )
        .await;
    assert_eq!(r.status(), 200);
    h.emu.shutdown().await;
}

#[test]
fn client_sends_standard_base64_for_binaries() {
    let new = identity_with_url_unsafe_base64();
    let built = KeyCredentialBuilder::new(new.certificate().clone())
        .custom_key_identifier(Some(new.certificate().sha1().to_vec()))
        .build()
        .unwrap();
    let request = AddKeyRequest {
        key_credential: built.key_credential,
        password_credential: None,
        proof: "x".into(),
    };
    let v = serde_json::to_value(&request).unwrap();
    for name in ["key", "customKeyIdentifier"] {
        let text = v["keyCredential"][name].as_str().unwrap();
        assert!(!text.contains(['-', '_']), "{name}: {text}");
        assert!(b64::decode_graph_input(text).is_ok(), "{name}");
    }
    assert!(
        v["keyCredential"]["key"]
            .as_str()
            .unwrap()
            .contains(['+', '/'])
    );
}

async fn token_request(h: &Harness, form: &[(&str, String)]) -> reqwest::Response {
    h.admin
        .post(format!("{}/{}/oauth2/v2.0/token", h.base, h.emu.tenant_id))
        .form(form)
        .send()
        .await
        .unwrap()
}

fn form(assertion: String, client_id: String, scope: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", client_id),
        ("scope", scope.to_owned()),
        ("grant_type", "client_credentials".to_owned()),
        ("client_assertion_type", CLIENT_ASSERTION_TYPE.to_owned()),
        ("client_assertion", assertion),
    ]
}

fn assertion(h: &Harness, signer: &keyroll_proto::cert::SigningIdentity, app: &App) -> String {
    let endpoint = format!("{}/{}/oauth2/v2.0/token", h.base, h.emu.tenant_id);
    mint(
        signer,
        &AssertionRequest::new(app.app_id.to_string(), &endpoint, Uuid::new_v4()),
        time::OffsetDateTime::now_utc(),
    )
    .unwrap()
}

#[tokio::test]
async fn scope_without_default_gets_aadsts70011_not_1002012() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    for scope in [
        "https://graph.microsoft.com/User.Read",
        "https://graph.microsoft.com",
    ] {
        let _case = case(format!("scope={scope:?}"));
        let a = assertion(&h, &app.identity, &app);
        let r = token_request(&h, &form(a, app.app_id.to_string(), scope)).await;
        assert_eq!(r.status(), 400, "{scope}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "invalid_scope", "{v}");
        assert_eq!(v["error_codes"][0], 1002012, "{v}");
        let text = v["error_description"].as_str().unwrap();
        assert!(
            text.starts_with(&format!(
                "AADSTS1002012: The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            )),
            "{text}"
        );
    }
    h.emu.shutdown().await;
}

#[tokio::test]
async fn aadsts700027_text_differs_from_the_services() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    let stranger = identity(1, 30);
    let a = assertion(&h, &stranger, &app);
    let r = token_request(
        &h,
        &form(
            a,
            app.app_id.to_string(),
            "https://graph.microsoft.com/.default",
        ),
    )
    .await;
    assert_eq!(r.status(), 401);
    // The emulator's own reason stays available, in its diagnostic header.
    assert!(
        r.headers()[DIAG]
            .to_str()
            .unwrap()
            .contains("not registered")
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_client");
    assert_eq!(v["error_codes"][0], 700027);
    let text = v["error_description"].as_str().unwrap();
    let want = format!(
        "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'.",
        stranger.certificate().sha1_hex(),
        app.app_id
    );
    assert!(text.starts_with(&want), "{text}");
    assert!(
        text.contains(&format!(
            "such as 'https://graph.microsoft.com/beta/applications/{}']",
            app.app_id
        )),
        "{text}"
    );
    assert!(text.contains("\r\nTrace ID: "), "{text}");
    h.emu.shutdown().await;
}

/// The members of a 429 Graph's throttling documentation shows.
async fn assert_documented_429(r: reqwest::Response, scope: &str, information: &str) {
    assert_eq!(r.status(), 429);
    let h = r.headers().clone();
    assert!(h.contains_key("retry-after"));
    assert_eq!(h["x-ms-throttle-scope"].to_str().unwrap(), scope);
    assert_eq!(
        h["x-ms-throttle-information"].to_str().unwrap(),
        information
    );
    let v: Value = r.json().await.unwrap();
    let e = &v["error"];
    assert_eq!(e["code"], "TooManyRequests", "{v}");
    assert_eq!(e["message"], "Please retry again later.", "{v}");
    assert_eq!(e["innerError"]["code"], "429", "{v}");
    assert_eq!(e["innerError"]["status"], "429", "{v}");
    assert!(e["innerError"]["date"].is_string(), "{v}");
    assert!(e["innerError"]["request-id"].is_string(), "{v}");
}

#[tokio::test]
async fn throttled_answer_differs_from_the_throttling_docs() {
    let h = start(EmulatorConfig {
        faults: FaultConfig {
            write_budget: Some(WriteBudget {
                writes: 1,
                window_secs: 60.0,
            }),
            ..FaultConfig::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let app = h.create_app(json!({})).await;
    let tenant = h.emu.tenant_id;
    // An injected 429.
    h.faults(json!({"throttle": {"count": 1, "retryAfter": 2.128}, "writeBudget": {"writes": 1, "windowSecs": 60}}))
        .await;
    let r = h
        .admin
        .get(format!(
            "{}/v1.0/applications/{}?$select=keyCredentials",
            h.base, app.id
        ))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["retry-after"], "2.128");
    assert_documented_429(
        r,
        &format!("Tenant_Application/ReadWrite/{}/{tenant}", app.app_id),
        "ResourceUnitLimitExceeded",
    )
    .await;
    // The write budget: one write, then 429 naming the write limit of this app in this tenant.
    let path = format!("applications/{}/addKey", app.id);
    let r = h
        .add_key(
            &path,
            &app.token,
            &add_body(&identity(0, 10), &proof(&app.identity, app.id)),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = h
        .add_key(
            &path,
            &app.token,
            &add_body(&identity(0, 10), &proof(&app.identity, app.id)),
        )
        .await;
    assert_documented_429(
        r,
        &format!("Tenant_Application/Write/{}/{tenant}", app.app_id),
        "WriteLimitExceeded",
    )
    .await;
    h.emu.shutdown().await;
}
