//! Bulk rolls end to end against the emulator: many objects under a tight write budget, and plan rows naming
//! one object merged or refused.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keyroll_client::cloud::ApiVersion;
use keyroll_client::graph::{ObjectRef, Target, TargetKind};
use keyroll_client::roll::{self, NoProgress, RollSpec};
use keyroll_emulator::EmulatorConfig;
use keyroll_proto::cert::SigningIdentity;
use serde_json::json;

// The shared fixtures and the emulator harness (certificates, an emulator with its admin client, clients of
// every kind): keyroll-testkit.
use keyroll_testkit::emulator::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_roll_under_a_tight_write_budget() {
    let h = start_with(EmulatorConfig {
        faults: keyroll_emulator::FaultConfig {
            write_budget: Some(keyroll_emulator::WriteBudget {
                writes: 6,
                window_secs: 1.0,
            }),
            ..Default::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let c = certs();
    let (cur, new) = (&c.valid[0], &c.valid[1]);
    let (cur_id, new_id) = (ident(cur), ident(new));
    let automation = h
        .create(&[], json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    let client = h.token_client(automation.app_id, ApiVersion::V1).await;
    let mut apps = Vec::new();
    let mut specs = Vec::new();
    for _ in 0..12 {
        let app = h.create(&[&cur.certificate], json!({})).await;
        specs.push(RollSpec {
            target: Target {
                kind: TargetKind::Application,
                object: ObjectRef::AppId(app.app_id),
            },
            current: cur_id.clone(),
            new: new_id.clone(),
            display_name: None,
            remove_old: true,
            tenant: Some(app.tenant.to_string()),
            client_id: None,
            verify_timeout: Duration::from_secs(10),
        });
        apps.push(app);
    }
    // 24 writes at 6 per second: at least 3 s imposed by the budget.
    let t = Instant::now();
    let reports = roll::roll_many(
        &client,
        specs,
        roll::BulkOptions::new(8),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    let elapsed = t.elapsed();
    for r in &reports {
        assert!(r.success, "{r:?}");
    }
    for app in &apps {
        assert_eq!(
            h.thumbprints(app.id).await,
            vec![new.certificate.sha1_hex()]
        );
    }
    assert!(elapsed >= Duration::from_millis(2900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");
    h.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_rows_naming_one_object_are_merged_or_refused() {
    let h = start().await;
    let c = certs();
    let (cur, new, other) = (&c.valid[0], &c.valid[3], &c.valid[4]);
    let (cur_id, new_id, other_id) = (ident(cur), ident(new), ident(other));
    let automation = h
        .create(&[], json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    let client = h.token_client(automation.app_id, ApiVersion::V1).await;
    let spec = |object: ObjectRef, new: &Arc<SigningIdentity>, remove_old: bool| RollSpec {
        target: Target {
            kind: TargetKind::Application,
            object,
        },
        current: cur_id.clone(),
        new: new.clone(),
        display_name: None,
        remove_old,
        tenant: Some(automation.tenant.to_string()),
        client_id: None,
        verify_timeout: Duration::from_secs(10),
    };
    let a = h.create(&[&cur.certificate], json!({})).await;
    let b = h.create(&[&cur.certificate], json!({})).await;

    // Disagreeing rows (by appId, then by object id): the plan is refused and nothing is written, not even the
    // row that names another object.
    let e = roll::roll_many(
        &client,
        vec![
            spec(ObjectRef::AppId(a.app_id), &new_id, true),
            spec(ObjectRef::Id(b.id), &new_id, true),
            spec(ObjectRef::Id(a.id), &other_id, true),
        ],
        roll::BulkOptions::new(8),
        Arc::new(NoProgress),
    )
    .await
    .unwrap_err();
    let roll::PlanError::Conflicting(conflicts) = &e else {
        panic!("{e}")
    };
    assert_eq!(conflicts.len(), 1, "{e}");
    assert_eq!(conflicts[0].rows, (1, 3));
    assert!(conflicts[0].object.contains(&a.id.to_string()), "{e}");
    assert!(conflicts[0].differences[0].starts_with("newCert"), "{e}");
    for id in [a.id, b.id] {
        assert_eq!(h.thumbprints(id).await, vec![cur.certificate.sha1_hex()]);
    }

    // Agreeing rows are rolled once; each row gets that roll's report.
    let reports = roll::roll_many(
        &client,
        vec![
            spec(ObjectRef::AppId(a.app_id), &new_id, true),
            spec(ObjectRef::Id(b.id), &new_id, false),
            spec(ObjectRef::Id(a.id), &new_id, true),
            spec(ObjectRef::AppId(a.app_id), &new_id, true),
        ],
        roll::BulkOptions::new(8),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert_eq!(reports.len(), 4);
    for r in &reports {
        assert!(r.success, "{r:?}");
    }
    assert_eq!(reports[0].new_key_id, reports[2].new_key_id);
    assert_eq!(reports[0].new_key_id, reports[3].new_key_id);
    assert_eq!(reports[0].removed_key_ids.len(), 1);
    for r in [&reports[2], &reports[3]] {
        assert_eq!(r.steps[0].step, "plan");
        assert!(r.steps[0].detail.contains("as row 1"), "{:?}", r.steps);
    }
    assert_eq!(reports[2].target, format!("application {}", a.id));
    assert_eq!(h.thumbprints(a.id).await, vec![new.certificate.sha1_hex()]);
    assert_eq!(
        h.thumbprints(b.id).await,
        sorted(vec![cur.certificate.sha1_hex(), new.certificate.sha1_hex()])
    );
    h.emu.shutdown().await;
}
