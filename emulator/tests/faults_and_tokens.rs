//! Faults, the write budget, the token endpoint and the managed-identity endpoint over real HTTP(S).

mod common;

use std::time::{Duration, Instant};

use common::*;
use keyroll_emulator::{EmulatorConfig, FaultConfig, WriteBudget};
use keyroll_proto::assertion::{AssertionRequest, CLIENT_ASSERTION_TYPE, mint};
use serde_json::{Value, json};
use uuid::Uuid;

#[tokio::test]
async fn throttle_unavailable_and_latency() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    let url = format!(
        "{}/v1.0/applications/{}?$select=keyCredentials",
        h.base, app.id
    );
    h.faults(json!({"throttle": {"count": 1, "retryAfter": 2.128}, "unavailable": {"count": 1, "retryAfter": 3}})).await;
    let r = h
        .admin
        .get(&url)
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2.128");
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "TooManyRequests"
    );
    let r = h
        .admin
        .get(&url)
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "3");
    let r = h
        .admin
        .get(&url)
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    h.faults(json!({"latencyMs": 300})).await;
    let t = Instant::now();
    let r = h
        .admin
        .get(&url)
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    h.emu.shutdown().await;
}

#[tokio::test]
async fn drop_after_commit_commits_then_closes_the_connection() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    let new = identity(0, 10);
    h.faults(json!({"dropAfterCommit": {"count": 1}})).await;
    let body = add_body(&new, &proof(&app.identity, app.id));
    let url = format!("{}/v1.0/applications/{}/addKey", h.base, app.id);
    let r = h
        .admin
        .post(&url)
        .bearer_auth(&app.token)
        .json(&body)
        .send()
        .await;
    assert!(r.is_err(), "the connection must drop without an answer");
    // The key was committed all the same: a blind retry would add it twice.
    assert_eq!(h.keys(app.id).await.len(), 2);
    let r = h
        .admin
        .post(&url)
        .bearer_auth(&app.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(h.keys(app.id).await.len(), 3);
    h.emu.shutdown().await;
}

#[tokio::test]
async fn write_budget_per_app_and_tenant() {
    let h = start(EmulatorConfig {
        tls: false,
        faults: FaultConfig {
            write_budget: Some(WriteBudget {
                writes: 3,
                window_secs: 60.0,
            }),
            ..FaultConfig::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let app = h.create_app(json!({})).await;
    let other = h.create_app(json!({})).await;
    let new = identity(0, 10);
    for _ in 0..3 {
        let r = h
            .add_key(
                &format!("applications/{}/addKey", app.id),
                &app.token,
                &add_body(&new, &proof(&app.identity, app.id)),
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    let r = h
        .add_key(
            &format!("applications/{}/addKey", app.id),
            &app.token,
            &add_body(&new, &proof(&app.identity, app.id)),
        )
        .await;
    assert_eq!(r.status(), 429);
    let wait: f64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0.0 && wait <= 60.0);
    // Another app has its own budget.
    let r = h
        .add_key(
            &format!("applications/{}/addKey", other.id),
            &other.token,
            &add_body(&new, &proof(&other.identity, other.id)),
        )
        .await;
    assert_eq!(r.status(), 200);
    h.emu.shutdown().await;
}

async fn token_request(h: &Harness, tenant: Uuid, form: &[(&str, String)]) -> reqwest::Response {
    h.admin
        .post(format!("{}/{tenant}/oauth2/v2.0/token", h.base))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn token_endpoint_issues_tokens_for_valid_assertions_only() {
    let h = start_default().await;
    let app = h.create_app(json!({})).await;
    let tenant = h.emu.tenant_id;
    let endpoint = format!("{}/{tenant}/oauth2/v2.0/token", h.base);
    let now = time::OffsetDateTime::now_utc();

    // Discovery names the token endpoint.
    let d: Value = h
        .admin
        .get(format!(
            "{}/{tenant}/v2.0/.well-known/openid-configuration",
            h.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["token_endpoint"], endpoint);

    let form = |assertion: String, client_id: String| {
        vec![
            ("client_id", client_id),
            ("scope", "https://graph.microsoft.com/.default".to_owned()),
            ("grant_type", "client_credentials".to_owned()),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE.to_owned()),
            ("client_assertion", assertion),
        ]
    };
    let good = mint(
        &app.identity,
        &AssertionRequest::new(app.app_id.to_string(), &endpoint, Uuid::new_v4()),
        now,
    )
    .unwrap();
    let r = token_request(&h, tenant, &form(good, app.app_id.to_string())).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "Bearer");
    let token = v["access_token"].as_str().unwrap().to_owned();
    // The token works on Graph for self-roll.
    let new = identity(0, 10);
    let r = h
        .add_key(
            &format!("applications/{}/addKey", app.id),
            &token,
            &add_body(&new, &proof(&app.identity, app.id)),
        )
        .await;
    assert_eq!(r.status(), 200);

    // Wrong audience, unknown key, unknown app, expired.
    let stranger = identity(1, 30);
    let cases: Vec<(String, String, u16, u64)> = vec![
        (
            mint(
                &app.identity,
                &AssertionRequest::new(
                    app.app_id.to_string(),
                    "https://elsewhere/token",
                    Uuid::new_v4(),
                ),
                now,
            )
            .unwrap(),
            app.app_id.to_string(),
            401,
            700023,
        ),
        (
            mint(
                &stranger,
                &AssertionRequest::new(app.app_id.to_string(), &endpoint, Uuid::new_v4()),
                now,
            )
            .unwrap(),
            app.app_id.to_string(),
            401,
            700027,
        ),
        (
            mint(
                &app.identity,
                &AssertionRequest::new(app.app_id.to_string(), &endpoint, Uuid::new_v4()),
                now - time::Duration::hours(1),
            )
            .unwrap(),
            app.app_id.to_string(),
            401,
            700024,
        ),
        (
            mint(
                &app.identity,
                &AssertionRequest::new(Uuid::nil().to_string(), &endpoint, Uuid::new_v4()),
                now,
            )
            .unwrap(),
            Uuid::nil().to_string(),
            400,
            700016,
        ),
    ];
    for (assertion, client_id, status, code) in cases {
        let r = token_request(&h, tenant, &form(assertion, client_id)).await;
        assert_eq!(r.status(), status);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error_codes"][0], code, "{v}");
        assert!(
            v["error_description"]
                .as_str()
                .unwrap()
                .starts_with(&format!("AADSTS{code}:"))
        );
    }
    // Missing parameter, bad scope.
    let r = token_request(
        &h,
        tenant,
        &[("grant_type", "client_credentials".to_owned())],
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error_codes"][0], 900144);
    let mut f = form(
        mint(
            &app.identity,
            &AssertionRequest::new(app.app_id.to_string(), &endpoint, Uuid::new_v4()),
            now,
        )
        .unwrap(),
        app.app_id.to_string(),
    );
    f[1].1 = "https://graph.microsoft.com/User.Read".into();
    let r = token_request(&h, tenant, &f).await;
    assert_eq!(r.json::<Value>().await.unwrap()["error_codes"][0], 1002012);
    h.emu.shutdown().await;
}

#[tokio::test]
async fn managed_identity_endpoint() {
    let h = start_default().await;
    let mi = h.create_app(json!({"managedIdentity": true})).await;
    let info: Value = h
        .admin
        .get(format!("{}/_emulator/info", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let endpoint = info["identityEndpoint"].as_str().unwrap();
    let secret = info["identityHeader"].as_str().unwrap();
    let url = format!("{endpoint}?resource=https://graph.microsoft.com&api-version=2019-08-01");
    let r = h.admin.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = h
        .admin
        .get(&url)
        .header("X-IDENTITY-HEADER", secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["client_id"], mi.app_id.to_string());
    assert!(v["expires_on"].is_string());
    let token = v["access_token"].as_str().unwrap();
    let new = identity(0, 10);
    let r = h
        .add_key(
            &format!("applications/{}/addKey", mi.id),
            token,
            &add_body(&new, &proof(&mi.identity, mi.id)),
        )
        .await;
    assert_eq!(r.status(), 200);
    h.emu.shutdown().await;
}
