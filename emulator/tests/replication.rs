//! Replication delay (issue 16): reads lag writes and a new key signs in late, by flag-equivalent config and
//! by `PUT /_emulator/faults`. Before the fix the emulator had neither (and refused the fields).

mod common;

use std::time::{Duration, Instant};

use common::*;
use keyroll_emulator::{EmulatorConfig, FaultConfig};
use keyroll_proto::assertion::{AssertionRequest, CLIENT_ASSERTION_TYPE, mint};
use serde_json::{Value, json};
use uuid::Uuid;

async fn graph_keys(h: &Harness, app: &App) -> Vec<Value> {
    let v: Value = h
        .admin
        .get(format!(
            "{}/v1.0/applications/{}?$select=keyCredentials",
            h.base, app.id
        ))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["keyCredentials"].as_array().unwrap().clone()
}

#[tokio::test]
async fn read_right_after_a_write_always_sees_it() {
    let h = start_default().await;
    h.faults(json!({"replicationDelayMs": 700})).await;
    let app = h.create_app(json!({})).await;
    let new = identity(0, 10);
    let t = Instant::now();
    let r = h
        .add_key(
            &format!("applications/{}/addKey", app.id),
            &app.token,
            &add_body(&new, &proof(&app.identity, app.id)),
        )
        .await;
    assert_eq!(r.status(), 200);
    let added: Value = r.json().await.unwrap();
    // The committed state has it at once; Graph's read does not, until the delay has passed.
    assert_eq!(h.keys(app.id).await.len(), 2);
    let seen = graph_keys(&h, &app).await;
    if t.elapsed() < Duration::from_millis(600) {
        assert_eq!(seen.len(), 1, "a read right after addKey saw it");
    }
    tokio::time::sleep(Duration::from_millis(750).saturating_sub(t.elapsed())).await;
    let seen = graph_keys(&h, &app).await;
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1]["keyId"], added["keyId"]);

    // A removal lags the same way: the removed key is still read for the delay.
    let t = Instant::now();
    let r = h
        .admin
        .post(format!("{}/v1.0/applications/{}/removeKey", h.base, app.id))
        .bearer_auth(&app.token)
        .json(&json!({"keyId": added["keyId"], "proof": proof(&app.identity, app.id)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(h.keys(app.id).await.len(), 1);
    if t.elapsed() < Duration::from_millis(600) {
        assert_eq!(graph_keys(&h, &app).await.len(), 2);
    }
    tokio::time::sleep(Duration::from_millis(750).saturating_sub(t.elapsed())).await;
    assert_eq!(graph_keys(&h, &app).await.len(), 1);

    // Off again: reads see writes at once.
    h.faults(json!({})).await;
    let r = h
        .add_key(
            &format!("applications/{}/addKey", app.id),
            &app.token,
            &add_body(&identity(0, 10), &proof(&app.identity, app.id)),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(graph_keys(&h, &app).await.len(), 2);
    h.emu.shutdown().await;
}

#[tokio::test]
async fn new_key_signs_in_at_once() {
    let h = start(EmulatorConfig {
        faults: FaultConfig {
            key_activation_delay_ms: 800,
            ..FaultConfig::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let app = h.create_app(json!({})).await;
    let new = identity(0, 10);
    let t = Instant::now();
    let r = h
        .add_key(
            &format!("applications/{}/addKey", app.id),
            &app.token,
            &add_body(&new, &proof(&app.identity, app.id)),
        )
        .await;
    assert_eq!(r.status(), 200);
    let endpoint = format!("{}/{}/oauth2/v2.0/token", h.base, h.emu.tenant_id);
    let sign_in = |who: &keyroll_proto::cert::SigningIdentity| {
        let a = mint(
            who,
            &AssertionRequest::new(app.app_id.to_string(), &endpoint, Uuid::new_v4()),
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        h.admin
            .post(&endpoint)
            .form(&[
                ("client_id", app.app_id.to_string()),
                ("scope", "https://graph.microsoft.com/.default".into()),
                ("grant_type", "client_credentials".into()),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE.into()),
                ("client_assertion", a),
            ])
            .send()
    };
    let r = sign_in(&new).await.unwrap();
    if t.elapsed() < Duration::from_millis(700) {
        assert_eq!(r.status(), 401, "the new key signed in at once");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error_codes"][0], 700027, "{v}");
    }
    // The old key is unaffected.
    assert_eq!(sign_in(&app.identity).await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(850).saturating_sub(t.elapsed())).await;
    assert_eq!(sign_in(&new).await.unwrap().status(), 200);
    h.emu.shutdown().await;
}
