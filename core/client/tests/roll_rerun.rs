//! Rolls run again, stopped half-way and resumed, as operators run them: done reads as done, a half-done roll
//! goes on from where it stopped, a stopped batch leaves a journal that a resume trusts, and the retries of a
//! throttled batch are heard.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyroll_client::cloud::ApiVersion;
use keyroll_client::graph::{ObjectRef, RetryEvent, Target, TargetKind};
use keyroll_client::roll::{
    self, BulkOptions, Journal, NoProgress, Progress, RollReport, RollSpec, RollState, Step,
    StepStatus, journal,
};
use keyroll_emulator::EmulatorConfig;
use keyroll_proto::cert::SigningIdentity;
use serde_json::json;
use uuid::Uuid;

use keyroll_testkit::emulator::*;

fn spec(
    object: ObjectRef,
    current: &Arc<SigningIdentity>,
    new: &Arc<SigningIdentity>,
    tenant: Option<Uuid>,
) -> RollSpec {
    RollSpec {
        target: Target {
            kind: TargetKind::Application,
            object,
        },
        current: current.clone(),
        new: new.clone(),
        display_name: None,
        remove_old: true,
        tenant: tenant.map(|t| t.to_string()),
        client_id: None,
        verify_timeout: Duration::from_secs(10),
    }
}

fn key_ids(keys: &[serde_json::Value]) -> Vec<String> {
    let mut ids: Vec<String> = keys
        .iter()
        .map(|k| k["keyId"].as_str().unwrap_or_default().to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_roll_run_again_is_already_rolled_and_writes_nothing() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (ident(&c.valid[0]), ident(&c.valid[1]));
    let automation = h
        .create(&[], json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    let client = h.token_client(automation.app_id, ApiVersion::V1).await;
    let app = h.create(&[&c.valid[0].certificate], json!({})).await;
    let s = spec(ObjectRef::AppId(app.app_id), &cur, &new, Some(app.tenant));
    let first = roll::roll(&client, &s, &NoProgress).await;
    assert_eq!(first.state, RollState::Rolled, "{first:?}");
    let keys = key_ids(&h.key_credentials(app.id).await);

    let again = roll::roll(&client, &s, &NoProgress).await;
    assert!(again.success, "{again:?}");
    assert_eq!(again.state, RollState::AlreadyRolled, "{again:?}");
    assert!(again.error.is_none(), "{again:?}");
    assert!(again.detail.contains("already rolled"), "{}", again.detail);
    // Reads only: the read step and nothing after it.
    let steps: Vec<Step> = again.steps.iter().map(|s| s.step).collect();
    assert_eq!(steps, vec![Step::Read], "{:?}", again.steps);
    assert_eq!(again.new_key_id, first.new_key_id);
    assert_eq!(again.final_keys.len(), 1);
    assert_eq!(key_ids(&h.key_credentials(app.id).await), keys);
    h.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_done_roll_goes_on_from_where_it_stopped() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (ident(&c.valid[0]), ident(&c.valid[1]));
    let automation = h
        .create(&[], json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    let client = h.token_client(automation.app_id, ApiVersion::V1).await;
    // Stopped after its add: both keys on the object.
    let app = h
        .create(
            &[&c.valid[0].certificate, &c.valid[1].certificate],
            json!({}),
        )
        .await;
    let r = roll::roll(
        &client,
        &spec(ObjectRef::Id(app.id), &cur, &new, Some(app.tenant)),
        &NoProgress,
    )
    .await;
    assert_eq!(r.state, RollState::Rolled, "{r:?}");
    let add = r.steps.iter().find(|s| s.step == Step::Add).unwrap();
    assert_eq!(add.status, StepStatus::Skipped, "{add:?}");
    assert_eq!(
        h.thumbprints(app.id).await,
        vec![c.valid[1].certificate.sha1_hex()]
    );
    h.emu.shutdown().await;
}

/// Regression: a roll signed in with an access token (or a managed identity, or a Microsoft Graph PowerShell
/// session) and asked to remove the old key added the new key and then stopped, wanting a tenant id that the
/// token's `tid` claim holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenant_comes_from_the_token_when_not_given() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (ident(&c.valid[0]), ident(&c.valid[1]));
    let automation = h
        .create(&[], json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    let client = h.token_client(automation.app_id, ApiVersion::V1).await;
    assert_eq!(
        client.tokens().tenant().await,
        Some(automation.tenant.to_string())
    );
    let app = h.create(&[&c.valid[0].certificate], json!({})).await;
    let r = roll::roll(
        &client,
        &spec(ObjectRef::Id(app.id), &cur, &new, None),
        &NoProgress,
    )
    .await;
    assert_eq!(r.state, RollState::Rolled, "{r:?}");
    assert_eq!(
        h.thumbprints(app.id).await,
        vec![c.valid[1].certificate.sha1_hex()]
    );
    h.emu.shutdown().await;
}

/// Regression: after a roll removed the certificate a connection signed in with, the connection's next token
/// request failed (the certificate is no longer a key) with nothing saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_follows_the_roll() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (ident(&c.valid[0]), ident(&c.valid[1]));
    let app = h
        .create(
            &[&c.valid[0].certificate],
            json!({"roles": ["Application.ReadWrite.OwnedBy"]}),
        )
        .await;
    let client = h.cert_client(&app, cur.clone());
    let r = roll::roll(
        &client,
        &spec(ObjectRef::Id(app.id), &cur, &new, Some(app.tenant)),
        &NoProgress,
    )
    .await;
    assert_eq!(r.state, RollState::Rolled, "{r:?}");
    assert_eq!(
        r.connection_switched,
        Some(c.valid[1].certificate.sha1_hex())
    );
    // A fresh token, signed with the new certificate: the old one would be refused now.
    client.tokens().invalidate().await;
    let keys = client.read_keys(&app_target(app.id)).await.unwrap();
    assert_eq!(keys.keys.len(), 1);
    h.emu.shutdown().await;
}

/// What a bulk run told its progress.
#[derive(Default)]
struct Heard {
    rows: Mutex<Vec<(usize, RollState)>>,
    retries: Mutex<Vec<RetryEvent>>,
    stop_after: Option<(usize, roll::StopSignal)>,
}

impl Progress for Heard {
    fn throttled(&self, event: &RetryEvent) {
        self.retries.lock().unwrap().push(event.clone());
    }
    fn row_done(&self, row: usize, report: &RollReport) {
        let mut rows = self.rows.lock().unwrap();
        rows.push((row, report.state));
        if let Some((n, stop)) = &self.stop_after
            && rows.len() >= *n
        {
            stop.stop();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_batch_journals_what_finished_and_resumes_the_rest() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (ident(&c.valid[0]), ident(&c.valid[1]));
    let automation = h
        .create(&[], json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    let client = h.token_client(automation.app_id, ApiVersion::V1).await;
    let mut apps = Vec::new();
    for _ in 0..6 {
        apps.push(h.create(&[&c.valid[0].certificate], json!({})).await);
    }
    let specs: Vec<RollSpec> = apps
        .iter()
        .map(|a| spec(ObjectRef::Id(a.id), &cur, &new, Some(a.tenant)))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.journal");

    // One at a time, stopped once two rows have ended: those two finish, the rest never start.
    let stop = roll::StopSignal::default();
    let heard = Arc::new(Heard {
        stop_after: Some((2, stop.clone())),
        ..Default::default()
    });
    let mut options = BulkOptions::new(1);
    options.stop = stop;
    options.journal = Some(Arc::new(Journal::open(&path).unwrap()));
    let reports = roll::roll_many(&client, specs.clone(), options, heard.clone())
        .await
        .unwrap();
    let rolled = reports
        .iter()
        .filter(|r| r.state == RollState::Rolled)
        .count();
    let not_started = reports
        .iter()
        .filter(|r| r.state == RollState::NotStarted)
        .count();
    assert_eq!(rolled, 2, "{reports:?}");
    assert_eq!(not_started, 4, "{reports:?}");
    assert_eq!(heard.rows.lock().unwrap().len(), 6);
    // The rows that ended are journaled; the rows that never started are not (missing means not done).
    let entries = journal::read_journal(&path).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries.iter().filter(|e| journal::is_done(e)).count(), 2);

    // Resumed: the two journaled rows are not rolled again, the four others are.
    let mut options = BulkOptions::new(4);
    options.resume = entries;
    options.journal = Some(Arc::new(Journal::open(&path).unwrap()));
    let reports = roll::roll_many(&client, specs, options, Arc::new(NoProgress))
        .await
        .unwrap();
    let skipped = reports
        .iter()
        .filter(|r| r.steps.first().is_some_and(|s| s.step == Step::Plan))
        .count();
    assert_eq!(skipped, 2, "{reports:?}");
    assert!(reports.iter().all(|r| r.success), "{reports:?}");
    for a in &apps {
        assert_eq!(
            h.thumbprints(a.id).await,
            vec![c.valid[1].certificate.sha1_hex()]
        );
    }
    let last = journal::last_by_row(&journal::read_journal(&path).unwrap());
    assert_eq!(last.len(), 6);
    assert!(last.values().all(journal::is_done));
    h.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_batch_reports_its_retries() {
    let h = start_with(EmulatorConfig {
        faults: keyroll_emulator::FaultConfig {
            write_budget: Some(keyroll_emulator::WriteBudget {
                writes: 2,
                window_secs: 1.0,
            }),
            ..Default::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let c = certs();
    let (cur, new) = (ident(&c.valid[0]), ident(&c.valid[1]));
    let automation = h
        .create(&[], json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    let client = h.token_client(automation.app_id, ApiVersion::V1).await;
    let mut specs = Vec::new();
    for _ in 0..4 {
        let a = h.create(&[&c.valid[0].certificate], json!({})).await;
        specs.push(spec(ObjectRef::Id(a.id), &cur, &new, Some(a.tenant)));
    }
    let heard = Arc::new(Heard::default());
    let reports = roll::roll_many(&client, specs, BulkOptions::new(4), heard.clone())
        .await
        .unwrap();
    assert!(reports.iter().all(|r| r.success), "{reports:?}");
    let retries = heard.retries.lock().unwrap().clone();
    let throttled: Vec<&RetryEvent> = retries.iter().filter(|e| e.status == Some(429)).collect();
    assert!(!throttled.is_empty(), "{retries:?}");
    let e = throttled[0];
    assert!(e.retry_after.is_some(), "{e:?}");
    let line = e.to_string();
    assert!(
        line.starts_with("throttled (429), retrying in ") && line.contains(", attempt "),
        "{line}"
    );
    h.emu.shutdown().await;
}

/// Regression: after a key removal took off the certificate a connection signs in with, its next token request
/// failed with the identity platform's bare refusal, saying nothing about the removal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_whose_certificate_was_removed_says_so() {
    let h = start().await;
    let c = certs();
    let (cur, other) = (ident(&c.valid[0]), ident(&c.valid[1]));
    let app = h
        .create(
            &[&c.valid[0].certificate, &c.valid[1].certificate],
            json!({"roles": ["Application.ReadWrite.OwnedBy"]}),
        )
        .await;
    let client = h.cert_client(&app, cur.clone());
    let keys = client.read_keys(&app_target(app.id)).await.unwrap();
    let old = keys
        .keys
        .iter()
        .find(|k| k.is_certificate(cur.certificate()))
        .and_then(|k| k.key_id)
        .unwrap();
    let proof = keyroll_proto::proof::mint(
        &other,
        &keyroll_proto::proof::ProofRequest::new(app.id),
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    client
        .remove_key(&app_target(app.id), old, proof.as_str(), false)
        .await
        .unwrap();
    client.tokens().invalidate().await;
    let e = client.read_keys(&app_target(app.id)).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("was removed from the application") && text.contains("reconnect"),
        "{text}"
    );
    assert!(text.contains(&c.valid[0].certificate.sha1_hex()), "{text}");
    h.emu.shutdown().await;
}
