//! The host API end to end against the emulator over HTTPS: a connection opened from JSON settings, a roll
//! started in the background and polled to its report, the same error object as the synchronous roll.

use std::sync::Arc;
use std::time::Duration;

use keyroll_host::{self as api, Connection, ConnectionSettings, RollSettings};
use keyroll_proto::clock::SystemClock;
use keyroll_testkit::emulator::*;
use serde_json::{Value, json};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_roll_is_polled_to_its_report() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[2], &c.valid[3]);
    let (cur_id, new_id) = (ident(cur), ident(new));
    let app = h.create(&[&cur.certificate], json!({})).await;
    let settings: ConnectionSettings = api::from_json(
        "connection settings",
        json!({
            "graphUrl": h.base,
            "loginUrl": h.base,
            "caPem": String::from_utf8(h.ca_pem.clone()).unwrap(),
            "tenantId": app.tenant.to_string(),
            "clientId": app.app_id.to_string(),
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let conn = Connection::open(&settings, Some(cur_id.clone()), Arc::new(SystemClock)).unwrap();
    let roll_settings = |object_id: Uuid| -> RollSettings {
        api::from_json(
            "roll settings",
            json!({
                "target": {"objectId": object_id.to_string()},
                "removeOld": true,
                "tenantId": app.tenant.to_string(),
                "verifyTimeoutSecs": 10,
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap()
    };
    let op = conn
        .start_roll(&roll_settings(app.id), cur_id.clone(), new_id.clone())
        .unwrap();
    let (report, events) = poll_to_end(&op).await;
    assert!(op.is_done());
    assert_eq!(report["success"], json!(true), "{report}");
    assert!(!events.is_empty());
    assert!(events.iter().any(|e| e.starts_with("add")), "{events:?}");
    // Every step message arrives once, in order; later polls repeat only the outcome.
    let later = op.poll();
    assert_eq!(later["events"], json!([]));
    assert_eq!(later["report"], report);
    assert_eq!(
        h.thumbprints(app.id).await,
        vec![new.certificate.sha1_hex()]
    );

    // A roll that cannot complete ends with the error object the synchronous roll returns.
    let op = conn
        .start_roll(
            &roll_settings(Uuid::new_v4()),
            new_id.clone(),
            cur_id.clone(),
        )
        .unwrap();
    let (error, _) = poll_to_end(&op).await;
    let sync = conn
        .roll(
            &roll_settings(Uuid::new_v4()),
            new_id.clone(),
            cur_id.clone(),
        )
        .await
        .unwrap_err()
        .report();
    assert_eq!(error["code"], json!(sync.code), "{error}");
    assert_eq!(error["kind"], serde_json::to_value(sync.kind).unwrap());
    assert!(error["report"].is_object(), "{error}");

    // Settings are checked before anything starts.
    let bad: RollSettings = api::from_json("roll settings", br#"{"target":{}}"#).unwrap();
    let e = conn.start_roll(&bad, cur_id, new_id).unwrap_err();
    assert_eq!(e.report().code, "settings");
}

/// Polls a background roll until it ends: its final `report` and every step message, in order.
async fn poll_to_end(op: &keyroll_host::RollOperation) -> (Value, Vec<String>) {
    let mut events = Vec::new();
    for _ in 0..600 {
        let p = op.poll();
        for e in p["events"].as_array().unwrap() {
            events.push(e.as_str().unwrap().to_owned());
        }
        if p["done"] == json!(true) {
            assert!(p["waiting"].is_null(), "{p}");
            return (p["report"].clone(), events);
        }
        assert!(p["report"].is_null(), "{p}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the background roll did not end in 30 s");
}
