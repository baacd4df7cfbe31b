//! The roll workflow of one object end to end against the emulator: add, verify, remove the old key, and its
//! refusals (the last key, removing the old one without a tenant); concurrent rolls of one object add one key;
//! every refusal comes before the first write.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keyroll_client::auth::{self, AuthError};
use keyroll_client::cloud::ApiVersion;
use keyroll_client::graph::{ObjectRef, Target, TargetKind};
use keyroll_client::http::{self, HttpOptions};
use keyroll_client::roll::{self, NoProgress, RollSpec, StepStatus};
use keyroll_proto::cert::generate::self_signed_rsa;
use keyroll_proto::cert::{Certificate, SigningIdentity};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

// The shared fixtures and the emulator harness (certificates, an emulator with its admin client, clients of
// every kind): keyroll-testkit.
use keyroll_testkit::emulator::*;

// ---------------------------------------------------------------------------------------------------------
// The roll workflow.

async fn token_works(
    h: &Harness,
    app: &Created,
    identity: &SigningIdentity,
) -> Result<(), AuthError> {
    let http = http::build_client(&HttpOptions {
        extra_roots_pem: Some(h.ca_pem.clone()),
        ..HttpOptions::default()
    })
    .unwrap();
    auth::client_credentials(
        &http,
        &h.endpoints(ApiVersion::V1),
        &app.tenant.to_string(),
        &app.app_id.to_string(),
        identity,
        OffsetDateTime::now_utc(),
    )
    .await
    .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roll_with_remove_old_and_its_refusals() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[0], &c.valid[1]);
    let (cur_id, new_id) = (ident(cur), ident(new));
    let app = h.create(&[&cur.certificate], json!({})).await;
    let client = h.cert_client(&app, cur_id.clone());
    let spec = RollSpec {
        target: app_target(app.id),
        current: cur_id.clone(),
        new: new_id.clone(),
        display_name: Some("next".into()),
        remove_old: true,
        tenant: Some(app.tenant.to_string()),
        client_id: None,
        verify_timeout: Duration::from_secs(10),
    };
    let report = roll::roll(&client, &spec, &NoProgress).await;
    assert!(report.success, "{report:?}");
    assert!(
        report.steps.iter().all(|s| s.status == StepStatus::Done),
        "{:?}",
        report.steps
    );
    assert_eq!(report.removed_key_ids.len(), 1);
    assert_eq!(
        h.thumbprints(app.id).await,
        vec![new.certificate.sha1_hex()]
    );
    assert_eq!(report.final_keys.len(), 1);
    assert!(report.final_keys[0].signs);
    // The old certificate no longer gets a token; the new one does.
    let e = token_works(&h, &app, &cur_id).await.unwrap_err();
    assert!(
        matches!(&e, AuthError::Refused { codes, .. } if codes.contains(&700027)),
        "{e}"
    );
    token_works(&h, &app, &new_id).await.unwrap();

    // Rolling to the certificate already in use, with --remove-old: refused before anything is read or
    // written (removing it would also leave no valid certificate).
    let same = h.create(&[&cur.certificate], json!({})).await;
    let client = h.cert_client(&same, cur_id.clone());
    let report = roll::roll(
        &client,
        &RollSpec {
            target: app_target(same.id),
            new: cur_id.clone(),
            tenant: Some(same.tenant.to_string()),
            ..spec.clone()
        },
        &NoProgress,
    )
    .await;
    assert!(!report.success);
    assert!(
        matches!(
            report.refusal,
            Some(roll::RollRefusal::SameCertificate { .. })
        ),
        "{report:?}"
    );
    assert_eq!(report.steps.len(), 1, "{:?}", report.steps);
    assert_eq!(report.steps[0].step, "check");
    assert_eq!(report.steps[0].status, StepStatus::Failed);
    assert_eq!(
        h.thumbprints(same.id).await,
        vec![cur.certificate.sha1_hex()]
    );
    token_works(&h, &same, &cur_id).await.unwrap();

    // Without a tenant given, the new key is verified in the tenant of the connection's token (its `tid`), so a
    // roll that removes the old key goes ahead.
    let unverified = h.create(&[&cur.certificate], json!({})).await;
    let client = h.token_client(unverified.app_id, ApiVersion::V1).await;
    let report = roll::roll(
        &client,
        &RollSpec {
            target: app_target(unverified.id),
            tenant: None,
            ..spec.clone()
        },
        &NoProgress,
    )
    .await;
    assert!(report.success, "{report:?}");
    assert_eq!(report.state, roll::RollState::Rolled);
    assert_eq!(
        h.thumbprints(unverified.id).await,
        vec![new.certificate.sha1_hex()]
    );
    h.emu.shutdown().await;
}

/// How many of the object's keys hold `cert`.
async fn copies(h: &Harness, id: Uuid, cert: &Certificate) -> usize {
    h.thumbprints(id)
        .await
        .iter()
        .filter(|t| **t == cert.sha1_hex())
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rolls_of_one_object_add_one_key() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[0], &c.valid[2]);
    let (cur_id, new_id) = (ident(cur), ident(new));
    let automation = h
        .create(&[], json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    let client = h.token_client(automation.app_id, ApiVersion::V1).await;
    let mut apps = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let app = h.create(&[&cur.certificate], json!({})).await;
        // The same roll three times at once, through one client: by object id, by appId, by object id again.
        for object in [
            ObjectRef::Id(app.id),
            ObjectRef::AppId(app.app_id),
            ObjectRef::Id(app.id),
        ] {
            let spec = RollSpec {
                target: Target {
                    kind: TargetKind::Application,
                    object,
                },
                current: cur_id.clone(),
                new: new_id.clone(),
                display_name: None,
                remove_old: false,
                tenant: Some(app.tenant.to_string()),
                client_id: None,
                verify_timeout: Duration::from_secs(10),
            };
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                roll::roll(&client, &spec, &NoProgress).await
            }));
        }
        apps.push(app);
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert!(r.success, "{r:?}");
    }
    for app in &apps {
        assert_eq!(copies(&h, app.id, &new.certificate).await, 1);
        assert_eq!(copies(&h, app.id, &cur.certificate).await, 1);
    }
    h.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_come_before_the_first_write() {
    let h = start().await;
    let c = certs();
    let cur = &c.valid[0];
    let cur_id = ident(cur);
    let now = OffsetDateTime::now_utc();
    let future = self_signed_rsa(
        "keyroll e2e not yet valid",
        now + time::Duration::days(3),
        365,
        2048,
    )
    .unwrap();
    let automation = h
        .create(&[], json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    // A token names no tenant: without one given, the new key could not be verified.
    let client = h.token_client(automation.app_id, ApiVersion::V1).await;
    // Name, new certificate, remove the old one, tenant, words the refusal says.
    type Case = (
        &'static str,
        Arc<SigningIdentity>,
        bool,
        Option<String>,
        Vec<String>,
    );
    let cases: Vec<Case> = vec![
        (
            "same certificate",
            cur_id.clone(),
            false,
            Some(automation.tenant.to_string()),
            vec![
                cur.certificate.sha1_hex(),
                "as the new one".into(),
                "the current one".into(),
            ],
        ),
        (
            "same certificate, remove old",
            cur_id.clone(),
            true,
            Some(automation.tenant.to_string()),
            vec![cur.certificate.sha1_hex()],
        ),
        (
            "not yet valid",
            ident(&future),
            false,
            Some(automation.tenant.to_string()),
            vec![
                "not valid until".into(),
                future.certificate.sha1_hex(),
                // The day it becomes valid, as YYYY-MM-DD.
                future.certificate.not_before().date().to_string(),
            ],
        ),
    ];
    for (name, new, remove_old, tenant, words) in cases {
        let app = h.create(&[&cur.certificate], json!({})).await;
        let started = Instant::now();
        let report = roll::roll(
            &client,
            &RollSpec {
                target: app_target(app.id),
                current: cur_id.clone(),
                new,
                display_name: None,
                remove_old,
                tenant,
                client_id: None,
                verify_timeout: Duration::from_secs(3),
            },
            &NoProgress,
        )
        .await;
        assert!(started.elapsed() < Duration::from_secs(3), "{name}");
        assert!(!report.success, "{name}: {report:?}");
        assert!(
            !report
                .steps
                .iter()
                .any(|s| s.step == "add" && s.status != StepStatus::Failed),
            "{name}: {:?}",
            report.steps
        );
        let error = report.error.clone().unwrap_or_default();
        for w in &words {
            assert!(error.contains(w.as_str()), "{name}: {w:?} in {error}");
        }
        assert!(
            report.detail.contains("nothing was written"),
            "{name}: {}",
            report.detail
        );
        assert_eq!(report.state, roll::RollState::Unchanged, "{name}");
        assert_eq!(
            h.thumbprints(app.id).await,
            vec![cur.certificate.sha1_hex()],
            "{name}"
        );
    }
    h.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roll_with_a_long_display_name_said_nothing_of_its_shortening() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[0], &c.valid[1]);
    let (cur_id, new_id) = (ident(cur), ident(new));
    let app = h.create(&[&cur.certificate], json!({})).await;
    let client = h.cert_client(&app, cur_id.clone());
    let spec = RollSpec {
        target: app_target(app.id),
        current: cur_id.clone(),
        new: new_id.clone(),
        display_name: Some("n".repeat(120)),
        remove_old: false,
        tenant: Some(app.tenant.to_string()),
        client_id: None,
        verify_timeout: Duration::from_secs(10),
    };
    let report = roll::roll(&client, &spec, &NoProgress).await;
    assert!(report.success, "{report:?}");
    // Said once, as a warning of the report (each face shows it) and in the add step.
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(
        report.warnings[0].contains("shortened to 90"),
        "{:?}",
        report.warnings
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["warnings"].as_array().map(Vec::len), Some(1), "{json}");
}
