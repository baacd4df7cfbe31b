//! Every fault the emulator injects, against the Graph client: throttling with fractional Retry-After, 503s,
//! answers lost after the commit (with and without read lag longer than the client's replication window),
//! and latency past the client's timeout. Each run ends with exactly one new key and nothing lost.

use std::time::{Duration, Instant};

use keyroll_client::auth::{self, Credential};
use keyroll_client::cloud::ApiVersion;
use keyroll_client::graph::{GraphError, RetryPolicy};
use keyroll_proto::credential::{AddKeyRequest, KeyCredentialBuilder};
use keyroll_proto::proof::{self, ProofRequest};
use serde_json::json;
use time::OffsetDateTime;

// The shared fixtures and the emulator harness (certificates, an emulator with its admin client, clients of
// every kind): keyroll-testkit.
use keyroll_testkit::case;
use keyroll_testkit::emulator::*;

// ---------------------------------------------------------------------------------------------------------
// Every fault the emulator injects.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttle_storm_honours_fractional_retry_after() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[0], &c.valid[3]);
    let cur_id = ident(cur);
    let app = h.create(&[&cur.certificate], json!({})).await;
    let client = h.token_client(app.app_id, ApiVersion::V1).await;
    h.faults(json!({"throttle": {"count": 4, "retryAfter": 0.35}}))
        .await;
    let t = Instant::now();
    let out = add(
        &client,
        &app_target(app.id),
        app.id,
        &cur_id,
        &new.certificate,
    )
    .await
    .unwrap();
    let waited = t.elapsed();
    assert!(!out.recovered);
    assert!(
        waited >= Duration::from_millis(4 * 350 - 50),
        "four Retry-After of 0.35 s must be honoured, waited {waited:?}"
    );
    assert!(waited < Duration::from_secs(6), "{waited:?}");
    assert_eq!(
        h.thumbprints(app.id).await,
        sorted(vec![cur.certificate.sha1_hex(), new.certificate.sha1_hex()])
    );

    // A storm longer than the retry budget: a clear give-up, and nothing was added. A 429 that says when to
    // come back counts against the time budget, not the attempts.
    let other = h.create(&[&cur.certificate], json!({})).await;
    let client = h
        .token_client(other.app_id, ApiVersion::V1)
        .await
        .with_retry(RetryPolicy {
            max_elapsed: Duration::from_millis(800),
            ..fast_retry(3)
        });
    h.faults(json!({"throttle": {"retryAfter": 0.05}})).await;
    let e = add(
        &client,
        &app_target(other.id),
        other.id,
        &cur_id,
        &new.certificate,
    )
    .await
    .unwrap_err();
    match &e {
        GraphError::RetriesExhausted {
            attempts, elapsed, ..
        } => {
            assert!(*attempts > 3, "{e}");
            // It stops once the next wait the service asks for would end past the budget.
            assert!(*elapsed >= Duration::from_millis(700), "{e}");
            assert!(*elapsed <= Duration::from_millis(800), "{e}");
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("429 TooManyRequests"), "{e}");
    h.faults(json!({})).await;
    assert_eq!(
        h.thumbprints(other.id).await,
        vec![cur.certificate.sha1_hex()]
    );
    h.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_is_retried_after_its_retry_after() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[0], &c.valid[3]);
    let cur_id = ident(cur);
    let app = h.create(&[&cur.certificate], json!({})).await;
    let client = h
        .token_client(app.app_id, ApiVersion::V1)
        .await
        .with_retry(fast_retry(5));
    // The first Graph request (the read before addKey) meets a 503 asking for 1.2 s.
    h.faults(json!({"unavailable": {"count": 1, "retryAfter": 1.2}}))
        .await;
    let t = Instant::now();
    add(
        &client,
        &app_target(app.id),
        app.id,
        &cur_id,
        &new.certificate,
    )
    .await
    .unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(1150),
        "the 503's Retry-After must be honoured, waited {:?}",
        t.elapsed()
    );
    assert_eq!(h.thumbprints(app.id).await.len(), 2);

    // 503s on addKey itself: the outcome is unknown, so the client reads before retrying; one key results.
    let other = h.create(&[&cur.certificate], json!({})).await;
    let client = h
        .token_client(other.app_id, ApiVersion::V1)
        .await
        .with_retry(fast_retry(6));
    let proof_and_body = {
        let built = KeyCredentialBuilder::new(new.certificate.clone())
            .build()
            .unwrap();
        let p = proof::mint(
            &cur_id,
            &ProofRequest::new(other.id),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        AddKeyRequest {
            key_credential: built.key_credential,
            password_credential: None,
            proof: p.into_string(),
        }
    };
    // Warm the token and resolve before the faults, so that the 503s land on addKey and the reads after it.
    client.read_keys(&app_target(other.id)).await.unwrap();
    h.faults(json!({"unavailable": {"count": 2, "retryAfter": 0.1}}))
        .await;
    let out = client
        .add_key(&app_target(other.id), &proof_and_body, &new.certificate)
        .await
        .unwrap();
    assert!(out.credential.key_id.is_some());
    assert_eq!(
        h.thumbprints(other.id).await,
        sorted(vec![cur.certificate.sha1_hex(), new.certificate.sha1_hex()])
    );
    h.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_after_commit_is_recovered_without_duplicate() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[0], &c.valid[4]);
    let cur_id = ident(cur);
    for version in [ApiVersion::V1, ApiVersion::Beta] {
        let _case = case(format!("version={version:?}"));
        let app = h.create(&[&cur.certificate], json!({})).await;
        let client = h.token_client(app.app_id, version).await;
        h.faults(json!({"dropAfterCommit": {"count": 1}})).await;
        let out = add(
            &client,
            &app_target(app.id),
            app.id,
            &cur_id,
            &new.certificate,
        )
        .await
        .unwrap();
        assert!(
            out.recovered,
            "the answer was dropped; the key must be found by reading"
        );
        assert_eq!(
            h.thumbprints(app.id).await,
            sorted(vec![cur.certificate.sha1_hex(), new.certificate.sha1_hex()])
        );
        // And again: the certificate is there now, so nothing is sent.
        let e = add(
            &client,
            &app_target(app.id),
            app.id,
            &cur_id,
            &new.certificate,
        )
        .await
        .unwrap_err();
        assert!(matches!(e, GraphError::AlreadyPresent { .. }), "{e}");
        assert_eq!(h.thumbprints(app.id).await.len(), 2);
    }
    h.emu.shutdown().await;
}

/// Reads lagging writes longer than the client's replication window: the lost answer's key does not show in
/// time, addKey is sent again and the certificate is added twice. The client must find the second copy once
/// the reads catch up and remove it again, leaving exactly one key (and say so).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_add_key_answer_under_lag_longer_than_the_window_leaves_two_copies() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[0], &c.valid[4]);
    let cur_id = ident(cur);
    let app = h.create(&[&cur.certificate], json!({})).await;
    let client = h
        .token_client(app.app_id, ApiVersion::V1)
        .await
        .with_retry(RetryPolicy {
            replication_window: Duration::from_millis(400),
            ..fast_retry(4)
        });
    // Warm the token before the faults: the drop must land on addKey.
    client.read_keys(&app_target(app.id)).await.unwrap();
    h.faults(json!({"replicationDelayMs": 1200, "dropAfterCommit": {"count": 1}}))
        .await;
    let out = add(
        &client,
        &app_target(app.id),
        app.id,
        &cur_id,
        &new.certificate,
    )
    .await
    .unwrap();
    h.faults(json!({})).await;
    assert_eq!(out.attempts, 2, "{out:?}");
    assert_eq!(out.duplicates_removed.len(), 1, "{out:?}");
    assert!(out.warnings.is_empty(), "{out:?}");
    assert_ne!(Some(out.duplicates_removed[0]), out.credential.key_id);
    assert_eq!(
        h.thumbprints(app.id).await,
        sorted(vec![cur.certificate.sha1_hex(), new.certificate.sha1_hex()])
    );
    // The key kept is the one reported.
    let keys = client.read_keys(&app_target(app.id)).await.unwrap();
    assert!(
        keys.keys.iter().any(|k| k.key_id == out.credential.key_id),
        "{out:?}"
    );
    h.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_past_the_client_timeout() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[0], &c.valid[5]);
    let cur_id = ident(cur);
    let app = h.create(&[&cur.certificate], json!({})).await;
    let token = h.token_for(app.app_id).await;
    let client = h
        .client_with(
            Credential::Token(auth::AccessToken::new(
                token,
                OffsetDateTime::now_utc() + time::Duration::hours(1),
            )),
            ApiVersion::V1,
            Some(Duration::from_millis(400)),
        )
        .with_retry(fast_retry(2));
    // Under the timeout: fine.
    h.faults(json!({"latencyMs": 100})).await;
    client.read_keys(&app_target(app.id)).await.unwrap();
    // Past it: a transport failure (exit code 4 in the CLI), said as a timeout.
    h.faults(json!({"latencyMs": 900})).await;
    let t = Instant::now();
    let e = add(
        &client,
        &app_target(app.id),
        app.id,
        &cur_id,
        &new.certificate,
    )
    .await
    .unwrap_err();
    assert!(e.is_transport(), "{e}");
    assert!(e.to_string().contains("timed out"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    h.faults(json!({})).await;
    // Whatever happened server-side, the certificate is there at most once; a second run settles it.
    let before = h.thumbprints(app.id).await;
    let count = |v: &[String]| {
        v.iter()
            .filter(|t| **t == new.certificate.sha1_hex())
            .count()
    };
    assert!(count(&before) <= 1, "{before:?}");
    match add(
        &client,
        &app_target(app.id),
        app.id,
        &cur_id,
        &new.certificate,
    )
    .await
    {
        Ok(_) => {}
        Err(GraphError::AlreadyPresent { .. }) => {}
        Err(e) => panic!("{e}"),
    }
    assert_eq!(count(&h.thumbprints(app.id).await), 1);

    let other = h.create(&[&cur.certificate], json!({})).await;
    let client = h
        .token_client(other.app_id, ApiVersion::V1)
        .await
        .with_retry(fast_retry(4));
    // Slow every request, but give the client enough time for all of them: the result is one key.
    h.faults(json!({"latencyMs": 150})).await;
    add(
        &client,
        &app_target(other.id),
        other.id,
        &cur_id,
        &new.certificate,
    )
    .await
    .unwrap();
    h.faults(json!({})).await;
    assert_eq!(count(&h.thumbprints(other.id).await), 1);
    h.emu.shutdown().await;
}
