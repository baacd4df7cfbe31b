//! Waiting on a background roll (woken by its steps and its end, not polled on an interval) and many rolls as one
//! bulk operation, end to end against the emulator over HTTPS.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keyroll_host::{self as api, BulkSettings, Connection, ConnectionSettings, RollOperation};
use keyroll_proto::clock::SystemClock;
use keyroll_testkit::emulator::*;
use serde_json::{Value, json};

/// A connection signed in as an automation identity allowed to write every application (as a runbook's).
async fn automation(h: &Harness) -> Connection {
    let auto = h
        .create(&[], json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    let token = h.token_for(auto.app_id).await;
    let settings: ConnectionSettings = api::from_json(
        "connection settings",
        json!({
            "graphUrl": h.base,
            "loginUrl": h.base,
            "caPem": String::from_utf8(h.ca_pem.clone()).unwrap(),
            "accessToken": token,
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    Connection::open(&settings, None, Arc::new(SystemClock)).unwrap()
}

/// Waits on an operation until it ends, with a long timeout per wait: every answer before the end must carry
/// news (a wait that ran out its timeout would mean the operation did not wake the host). Returns every answer.
fn wait_to_end(op: &RollOperation) -> Vec<Value> {
    let mut answers = Vec::new();
    let started = Instant::now();
    loop {
        let a = op.wait(Duration::from_secs(20));
        let done = a["done"] == json!(true);
        answers.push(a);
        if done {
            return answers;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the operation did not end in 60 s: {answers:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_returns_when_the_roll_ends_not_at_its_timeout() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[2], &c.valid[3]);
    let app = h.create(&[&cur.certificate], json!({})).await;
    let conn = automation(&h).await;
    let settings = api::from_json(
        "roll settings",
        json!({"target": {"objectId": app.id.to_string()}, "removeOld": true,
               "tenantId": app.tenant.to_string(), "verifyTimeoutSecs": 10})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let op = conn.start_roll(&settings, ident(cur), ident(new)).unwrap();
    let t = Instant::now();
    let answers = tokio::task::block_in_place(|| wait_to_end(&op));
    // Each wait may last 20 s; the roll takes milliseconds on the emulator, and the waits end with it.
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    for a in &answers[..answers.len() - 1] {
        assert!(
            !a["events"].as_array().unwrap().is_empty() || !a["waiting"].is_null(),
            "a wait returned without news before the end: {a}"
        );
    }
    let last = answers.last().unwrap();
    assert_eq!(last["report"]["success"], json!(true), "{last}");
    // After the end, a wait answers at once.
    let t = Instant::now();
    assert_eq!(op.wait(Duration::from_secs(20))["done"], json!(true));
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_operation_hands_out_each_rows_report() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[2], &c.valid[3]);
    let conn = automation(&h).await;
    let mut apps = Vec::new();
    let mut rows = Vec::new();
    for i in 0..3 {
        let app = h.create(&[&cur.certificate], json!({})).await;
        // One row by appId, the others by object id.
        let target = if i == 0 {
            json!({"appId": app.app_id.to_string()})
        } else {
            json!({"objectId": app.id.to_string()})
        };
        rows.push(
            json!({"roll": {"target": target, "removeOld": true, "tenantId": app.tenant.to_string(),
                                   "verifyTimeoutSecs": 10}, "current": 1, "next": 2}),
        );
        apps.push(app);
    }
    let settings: BulkSettings = api::from_json(
        "bulk settings",
        json!({"rows": rows, "concurrency": 2})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let ids = (0..3).map(|_| (ident(cur) as _, ident(new) as _)).collect();
    let op = conn.start_bulk(&settings, ids).unwrap();
    let answers = tokio::task::block_in_place(|| wait_to_end(&op));
    let mut seen: Vec<u64> = answers
        .iter()
        .flat_map(|a| a["rows"].as_array().unwrap().clone())
        .map(|r| {
            assert_eq!(r["report"]["success"], json!(true), "{r}");
            r["row"].as_u64().unwrap()
        })
        .collect();
    seen.sort();
    assert_eq!(seen, vec![0, 1, 2]);
    let last = answers.last().unwrap();
    assert_eq!(last["report"]["total"], json!(3), "{last}");
    assert_eq!(last["report"]["failed"], json!(0), "{last}");
    assert_eq!(last["progress"]["done"], json!(3), "{last}");
    for app in &apps {
        assert_eq!(
            h.thumbprints(app.id).await,
            vec![new.certificate.sha1_hex()]
        );
    }

    // A wrong row is this call's error, naming the row; nothing starts.
    let bad: BulkSettings = api::from_json(
        "bulk settings",
        br#"{"rows":[{"roll":{"target":{"objectId":"11111111-2222-3333-4444-555555555555"}},"current":1,"next":2},{"roll":{"target":{}},"current":1,"next":2}]}"#,
    )
    .unwrap();
    let e = conn
        .start_bulk(
            &bad,
            (0..2).map(|_| (ident(cur) as _, ident(new) as _)).collect(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("row 2"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_bulk_run_journals_every_row_and_resume_finishes_it() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[2], &c.valid[3]);
    let conn = automation(&h).await;
    let dir = tempfile_dir();
    let journal = dir.join("run.journal");
    let mut apps = Vec::new();
    let mut rows = Vec::new();
    for _ in 0..4 {
        let app = h.create(&[&cur.certificate], json!({})).await;
        rows.push(
            json!({"roll": {"target": {"objectId": app.id.to_string()}, "removeOld": true,
                                   "tenantId": app.tenant.to_string(), "verifyTimeoutSecs": 10},
                         "current": 1, "next": 2}),
        );
        apps.push(app);
    }
    let settings = |resume: bool| -> BulkSettings {
        api::from_json(
            "bulk settings",
            json!({"rows": rows, "concurrency": 1, "journalPath": journal, "resume": resume})
                .to_string()
                .as_bytes(),
        )
        .unwrap()
    };
    let ids = || (0..4).map(|_| (ident(cur) as _, ident(new) as _)).collect();
    let op = conn.start_bulk(&settings(false), ids()).unwrap();
    op.stop();
    let answers = tokio::task::block_in_place(|| wait_to_end(&op));
    let last = answers.last().unwrap();
    assert_eq!(last["report"]["stopped"], json!(true), "{last}");
    let not_started = last["report"]["notStarted"].as_u64().unwrap();
    assert!(
        not_started >= 3,
        "rows in flight finish, the rest do not start: {last}"
    );
    let handed: usize = answers
        .iter()
        .map(|a| a["rows"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        handed, 4,
        "every row is handed out, not-started ones included"
    );
    // Every row that ran has its line; rows that never started have none (a resume runs them).
    let lines = std::fs::read_to_string(&journal).unwrap_or_default();
    assert_eq!(lines.lines().count() as u64, 4 - not_started, "{lines}");

    // Resumed, the run rolls what the journal does not show done, and nothing twice.
    let op = conn.start_bulk(&settings(true), ids()).unwrap();
    let answers = tokio::task::block_in_place(|| wait_to_end(&op));
    let last = answers.last().unwrap();
    assert_eq!(last["report"]["failed"], json!(0), "{last}");
    assert_eq!(last["report"]["notStarted"], json!(0), "{last}");
    for app in &apps {
        assert_eq!(
            h.thumbprints(app.id).await,
            vec![new.certificate.sha1_hex()]
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retries_of_a_single_roll_reach_the_host() {
    let h = start_with(keyroll_emulator::EmulatorConfig {
        faults: keyroll_emulator::FaultConfig {
            throttle: Some(keyroll_emulator::FaultRule {
                count: Some(2),
                retry_after: Some(0.2),
            }),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let c = certs();
    let (cur, new) = (&c.valid[2], &c.valid[3]);
    let app = h.create(&[&cur.certificate], json!({})).await;
    let conn = automation(&h).await;
    let settings = api::from_json(
        "roll settings",
        json!({"target": {"objectId": app.id.to_string()}, "tenantId": app.tenant.to_string(),
               "verifyTimeoutSecs": 10})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let op = conn.start_roll(&settings, ident(cur), ident(new)).unwrap();
    let answers = tokio::task::block_in_place(|| wait_to_end(&op));
    let retries: Vec<Value> = answers
        .iter()
        .flat_map(|a| a["retries"].as_array().unwrap().clone())
        .collect();
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert_eq!(retries[0]["status"], json!(429));
    let message = retries[1]["message"].as_str().unwrap();
    assert!(
        message.starts_with("throttled (429), retrying in"),
        "{message}"
    );
    assert!(message.contains("attempt 3"), "{message}");
    assert!(
        retries[0]["delaySecs"].as_f64().unwrap() >= 0.2,
        "{retries:?}"
    );
    assert_eq!(answers.last().unwrap()["report"]["success"], json!(true));
}

/// A fresh folder under the system's temporary one.
fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("keyroll-host-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
