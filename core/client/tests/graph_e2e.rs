//! The Graph client, the token sources and the roll workflow end to end against the emulator over HTTPS:
//! every addressing form on v1.0 and beta, every way to authenticate, every fault the emulator injects, and
//! bad input. After each run the object's key set is read back through the emulator's admin API: nothing
//! lost, nothing duplicated.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyroll_client::auth::{
    self, AuthError, AuthSettings, Credential, ManagedIdentitySource, TokenProvider,
};
use keyroll_client::cloud::{ApiVersion, Cloud, Endpoints};
use keyroll_client::graph::{GraphClient, GraphError, ObjectRef, RetryPolicy, Target, TargetKind};
use keyroll_client::http::{self, HttpOptions};
use keyroll_client::roll::{self, NoProgress, RollSpec, StepStatus};
use keyroll_emulator::EmulatorConfig;
use keyroll_proto::b64;
use keyroll_proto::cert::generate::self_signed_rsa;
use keyroll_proto::cert::{Certificate, SigningIdentity};
use keyroll_proto::clock::{Clock, SystemClock};
use keyroll_proto::credential::{AddKeyRequest, KeyCredentialBuilder};
use keyroll_proto::proof::{self, ProofRequest};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

// The shared fixtures and the emulator harness (certificates, an emulator with its admin client, clients of
// every kind): keyroll-testkit.
use keyroll_testkit::emulator::*;

// ---------------------------------------------------------------------------------------------------------
// Every addressing form, on v1.0 and beta.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_target_form_on_v1_and_beta() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[0], &c.valid[1]);
    let cur_id = ident(cur);
    let admin = h
        .create(&[], json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    for version in [ApiVersion::V1, ApiVersion::Beta] {
        // Application by object id and by appId, authenticated as itself.
        let app = h.create(&[&cur.certificate], json!({})).await;
        let client = h.token_client(app.app_id, version).await;
        for object in [ObjectRef::Id(app.id), ObjectRef::AppId(app.app_id)] {
            let target = Target {
                kind: TargetKind::Application,
                object,
            };
            let out = add(&client, &target, app.id, &cur_id, &new.certificate)
                .await
                .unwrap_or_else(|e| panic!("{version:?} {target}: {e}"));
            assert!(!out.recovered);
            assert_eq!(out.attempts, 1);
            assert_eq!(
                h.thumbprints(app.id).await,
                sorted(vec![cur.certificate.sha1_hex(), new.certificate.sha1_hex()])
            );
            let p = proof::mint(
                &cur_id,
                &ProofRequest::new(app.id),
                OffsetDateTime::now_utc(),
            )
            .unwrap();
            client
                .remove_key(&target, out.credential.key_id.unwrap(), p.as_str(), false)
                .await
                .unwrap_or_else(|e| panic!("{version:?} {target}: {e}"));
            assert_eq!(
                h.thumbprints(app.id).await,
                vec![cur.certificate.sha1_hex()]
            );
            let keys = client.read_keys(&target).await.unwrap();
            assert_eq!((keys.id, keys.app_id), (app.id, Some(app.app_id)));
        }

        // Service principal, by an identity holding Application.ReadWrite.All.
        let sp_app = h
            .create(
                &[],
                json!({"servicePrincipalCertificates": [b64::encode_std(cur.certificate.der())]}),
            )
            .await;
        let client = h.token_client(admin.app_id, version).await;
        let target = Target {
            kind: TargetKind::ServicePrincipal,
            object: ObjectRef::Id(sp_app.sp_id),
        };
        let out = add(&client, &target, sp_app.sp_id, &cur_id, &new.certificate)
            .await
            .unwrap_or_else(|e| panic!("{version:?} {target}: {e}"));
        assert_eq!(
            h.thumbprints(sp_app.sp_id).await,
            sorted(vec![cur.certificate.sha1_hex(), new.certificate.sha1_hex()])
        );
        assert!(h.thumbprints(sp_app.id).await.is_empty());
        let p = proof::mint(
            &cur_id,
            &ProofRequest::new(sp_app.sp_id),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        client
            .remove_key(&target, out.credential.key_id.unwrap(), p.as_str(), false)
            .await
            .unwrap();
        assert_eq!(
            h.thumbprints(sp_app.sp_id).await,
            vec![cur.certificate.sha1_hex()]
        );

        // Agent identity blueprint, through its type cast, authenticated as itself.
        let bp = h
            .create(
                &[&cur.certificate],
                json!({"kind": "agentIdentityBlueprint"}),
            )
            .await;
        let client = h.token_client(bp.app_id, version).await;
        let target = Target {
            kind: TargetKind::AgentIdentityBlueprint,
            object: ObjectRef::Id(bp.id),
        };
        add(&client, &target, bp.id, &cur_id, &new.certificate)
            .await
            .unwrap_or_else(|e| panic!("{version:?} {target}: {e}"));
        assert_eq!(
            h.thumbprints(bp.id).await,
            sorted(vec![cur.certificate.sha1_hex(), new.certificate.sha1_hex()])
        );
        // The cast on a plain application names nothing: a clear 404.
        let plain = h.create(&[&cur.certificate], json!({})).await;
        let client = h.token_client(plain.app_id, version).await;
        let e = add(
            &client,
            &Target {
                kind: TargetKind::AgentIdentityBlueprint,
                object: ObjectRef::Id(plain.id),
            },
            plain.id,
            &cur_id,
            &new.certificate,
        )
        .await
        .unwrap_err();
        assert_eq!(e.service().map(|s| s.status), Some(404), "{e}");
        assert_eq!(
            h.thumbprints(plain.id).await,
            vec![cur.certificate.sha1_hex()]
        );
    }
    h.emu.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------
// Every way to authenticate.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_auth_mode() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[0], &c.valid[2]);
    let cur_id = ident(cur);

    // The app itself with its certificate (client credentials with a signed assertion).
    let app = h.create(&[&cur.certificate], json!({})).await;
    let client = h.cert_client(&app, cur_id.clone());
    add(
        &client,
        &app_target(app.id),
        app.id,
        &cur_id,
        &new.certificate,
    )
    .await
    .unwrap();
    assert_eq!(h.thumbprints(app.id).await.len(), 2);

    // A managed identity in the App Service form (IDENTITY_ENDPOINT + IDENTITY_HEADER), rolling another app.
    let info = h.info().await;
    let endpoint = info["identityEndpoint"].as_str().unwrap().to_owned();
    let header = info["identityHeader"].as_str().unwrap().to_owned();
    let mi = h
        .create(
            &[],
            json!({"managedIdentity": true, "roles": ["Application.ReadWrite.All"]}),
        )
        .await;
    let (e2, h2) = (endpoint.clone(), header.clone());
    let env = move |k: &str| match k {
        "IDENTITY_ENDPOINT" => Some(e2.clone()),
        "IDENTITY_HEADER" => Some(h2.clone()),
        _ => None,
    };
    let credential = auth::resolve_credential(
        &AuthSettings {
            managed_identity: true,
            client_id: Some(mi.app_id.to_string()),
            ..AuthSettings::default()
        },
        &env,
    )
    .unwrap();
    assert!(matches!(
        &credential,
        Credential::ManagedIdentity {
            source: ManagedIdentitySource::AppService { .. },
            ..
        }
    ));
    let other = h.create(&[&cur.certificate], json!({})).await;
    let client = h.client_with(credential, ApiVersion::V1, None);
    add(
        &client,
        &app_target(other.id),
        other.id,
        &cur_id,
        &new.certificate,
    )
    .await
    .unwrap();
    assert_eq!(h.thumbprints(other.id).await.len(), 2);

    // A wrong identity header is refused with the endpoint's words, not a panic or a hang.
    let env_bad = move |k: &str| match k {
        "IDENTITY_ENDPOINT" => Some(endpoint.clone()),
        "IDENTITY_HEADER" => Some("not-the-secret".into()),
        _ => None,
    };
    let credential = auth::resolve_credential(
        &AuthSettings {
            managed_identity: true,
            ..AuthSettings::default()
        },
        &env_bad,
    )
    .unwrap();
    let client = h.client_with(credential, ApiVersion::V1, None);
    let e = client.read_keys(&app_target(other.id)).await.unwrap_err();
    assert!(
        matches!(
            &e,
            GraphError::Auth(AuthError::ManagedIdentity { status: 401, .. })
        ),
        "{e}"
    );
    assert!(!e.to_string().contains(&header), "{e}");

    // The Azure SDK variables: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_CERTIFICATE_PATH.
    let dir = tempfile::tempdir().unwrap();
    let pem_path = dir.path().join("auth.pem");
    std::fs::write(&pem_path, cur.to_pem().as_bytes()).unwrap();
    let third = h.create(&[&cur.certificate], json!({})).await;
    let (tenant, client_id, path) = (
        third.tenant.to_string(),
        third.app_id.to_string(),
        pem_path.display().to_string(),
    );
    let env = move |k: &str| match k {
        "AZURE_TENANT_ID" => Some(tenant.clone()),
        "AZURE_CLIENT_ID" => Some(client_id.clone()),
        "AZURE_CLIENT_CERTIFICATE_PATH" => Some(path.clone()),
        _ => None,
    };
    let credential = auth::resolve_credential(&AuthSettings::default(), &env).unwrap();
    assert!(matches!(credential, Credential::ClientCertificate { .. }));
    let client = h.client_with(credential, ApiVersion::V1, None);
    add(
        &client,
        &app_target(third.id),
        third.id,
        &cur_id,
        &new.certificate,
    )
    .await
    .unwrap();
    assert_eq!(h.thumbprints(third.id).await.len(), 2);

    // A token for another app without any role: 403 with the permission explained; nothing changes.
    let stranger = h.create(&[], json!({})).await;
    let fourth = h.create(&[&cur.certificate], json!({})).await;
    let client = h.token_client(stranger.app_id, ApiVersion::V1).await;
    let e = add(
        &client,
        &app_target(fourth.id),
        fourth.id,
        &cur_id,
        &new.certificate,
    )
    .await
    .unwrap_err();
    let s = e.service().unwrap_or_else(|| panic!("{e}"));
    assert_eq!(s.status, 403);
    assert!(e.to_string().contains("Application.ReadWrite.All"), "{e}");
    assert_eq!(h.thumbprints(fourth.id).await.len(), 1);
    h.emu.shutdown().await;
}

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

// ---------------------------------------------------------------------------------------------------------
// Bad input: clear errors, nothing sent that would fail, nothing changed.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_caught_and_explained() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[0], &c.valid[1]);
    let cur_id = ident(cur);
    let admin = h
        .create(&[], json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    let client = h.token_client(admin.app_id, ApiVersion::V1).await;
    let app = h.create(&[&cur.certificate], json!({})).await;

    // An unknown object id: 404 with the appId hint.
    let unknown = Uuid::new_v4();
    let e = add(
        &client,
        &app_target(unknown),
        unknown,
        &cur_id,
        &new.certificate,
    )
    .await
    .unwrap_err();
    assert_eq!(e.service().map(|s| s.status), Some(404), "{e}");
    assert!(e.to_string().contains("--app-id"), "{e}");

    // The appId given as the object id: detected and said, with the real object id.
    let e = add(
        &client,
        &app_target(app.app_id),
        app.id,
        &cur_id,
        &new.certificate,
    )
    .await
    .unwrap_err();
    match &e {
        GraphError::AppIdAsObjectId { given, object_id } => {
            assert_eq!((*given, *object_id), (app.app_id, app.id));
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("appId"), "{e}");

    // removeKey of a keyId the object does not have: refused locally, the keys untouched.
    let before = h.thumbprints(app.id).await;
    let p = proof::mint(
        &cur_id,
        &ProofRequest::new(app.id),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let missing = Uuid::new_v4();
    let e = client
        .remove_key(&app_target(app.id), missing, p.as_str(), false)
        .await
        .unwrap_err();
    assert!(
        matches!(e, GraphError::KeyNotFound { key_id, .. } if key_id == missing),
        "{e}"
    );
    assert!(e.is_local());
    assert_eq!(h.thumbprints(app.id).await, before);

    // Removing the object's only valid certificate is refused unless forced: the object would be locked out.
    let lone = h.create(&[&cur.certificate], json!({})).await;
    let lone_target = app_target(lone.id);
    let lone_key = client.read_keys(&lone_target).await.unwrap().keys[0]
        .key_id
        .unwrap();
    let p = proof::mint(
        &cur_id,
        &ProofRequest::new(lone.id),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let e = client
        .remove_key(&lone_target, lone_key, p.as_str(), false)
        .await
        .unwrap_err();
    assert!(matches!(e, GraphError::Refused(_)), "{e}");
    assert!(
        e.to_string()
            .contains("without a currently valid certificate"),
        "{e}"
    );
    assert_eq!(
        h.thumbprints(lone.id).await,
        vec![cur.certificate.sha1_hex()]
    );
    client
        .remove_key(&lone_target, lone_key, p.as_str(), true)
        .await
        .unwrap();
    assert!(h.thumbprints(lone.id).await.is_empty());

    // A proof whose iss is the appId: refused locally, nothing sent.
    let built = KeyCredentialBuilder::new(new.certificate.clone())
        .build()
        .unwrap();
    let wrong = proof::mint(
        &cur_id,
        &ProofRequest::new(app.app_id),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let e = client
        .add_key(
            &app_target(app.id),
            &AddKeyRequest {
                key_credential: built.key_credential.clone(),
                password_credential: None,
                proof: wrong.into_string(),
            },
            &new.certificate,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, GraphError::ProofRejected(_)), "{e}");
    assert!(e.is_local());

    // A proof signed by an expired certificate of the object: refused locally, said as expired.
    let with_expired = h
        .create(&[&cur.certificate, &c.expired.certificate], json!({}))
        .await;
    let e = add(
        &client,
        &app_target(with_expired.id),
        with_expired.id,
        &ident(&c.expired),
        &new.certificate,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, GraphError::ProofRejected(_)), "{e}");
    assert!(e.to_string().contains("expired"), "{e}");
    assert_eq!(h.thumbprints(with_expired.id).await.len(), 2);

    // The new certificate is already a key: AlreadyPresent, and no add.
    let e = add(
        &client,
        &app_target(app.id),
        app.id,
        &cur_id,
        &cur.certificate,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, GraphError::AlreadyPresent { .. }), "{e}");
    assert!(e.is_local());
    assert_eq!(
        h.thumbprints(app.id).await,
        vec![cur.certificate.sha1_hex()]
    );

    // An expired certificate given as the new key: refused before sending.
    let e = add(
        &client,
        &app_target(app.id),
        app.id,
        &cur_id,
        &c.expired.certificate,
    )
    .await
    .unwrap_err();
    assert!(e.is_local(), "{e}");
    assert_eq!(h.thumbprints(app.id).await.len(), 1);
    h.emu.shutdown().await;
}

async fn unused_port() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

/// A loopback HTTP server answering every request with `status` and `body`.
async fn garbage_server(status: u16, body: &'static str) -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = s.read(&mut buf).await;
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    addr
}

fn plain_client(base: &str, credential: Credential) -> GraphClient {
    let http = http::build_client(&HttpOptions::default()).unwrap();
    let endpoints = Endpoints::custom(Cloud::Global, Some(base), Some(base)).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let tokens = Arc::new(TokenProvider::new(
        credential,
        endpoints.clone(),
        http.clone(),
        clock.clone(),
    ));
    GraphClient::new(http, endpoints, tokens, clock).with_retry(fast_retry(2))
}

fn some_token() -> Credential {
    Credential::Token(auth::AccessToken::new(
        "eyJ0eXAiOiJKV1QifQ.e30.c2ln".into(),
        OffsetDateTime::now_utc() + time::Duration::hours(1),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_tls_and_garbage_are_clear() {
    let id = Uuid::new_v4();
    // Nothing listens: a transport failure.
    let addr = unused_port().await;
    let client = plain_client(&format!("http://{addr}"), some_token()).with_retry(RetryPolicy {
        max_attempts: 8,
        ..fast_retry(8)
    });
    let e = client.read_keys(&app_target(id)).await.unwrap_err();
    assert!(e.is_transport(), "{e}");
    assert!(e.to_string().contains("connection failed"), "{e}");

    // The emulator's HTTPS without trusting its CA: a transport failure naming the certificate problem.
    let h = start().await;
    let client = plain_client(&h.base, some_token());
    let e = client.read_keys(&app_target(id)).await.unwrap_err();
    assert!(e.is_transport(), "{e}");
    let text = e.to_string().to_lowercase();
    assert!(text.contains("certificate"), "{e}");
    assert!(text.contains("--ca-cert"), "{e}");
    h.emu.shutdown().await;

    // 200 with a body that is not JSON: InvalidResponse, with what was wrong.
    let addr = garbage_server(200, "<html>hello</html>").await;
    let client = plain_client(&format!("http://{addr}"), some_token());
    let e = client.read_keys(&app_target(id)).await.unwrap_err();
    assert!(matches!(e, GraphError::InvalidResponse { .. }), "{e}");
    assert!(!e.is_transport());

    // An error status whose body is not Graph's envelope: the status and the start of the body are said.
    let addr = garbage_server(500, "oops, not json").await;
    let client = plain_client(&format!("http://{addr}"), some_token());
    let e = client.read_keys(&app_target(id)).await.unwrap_err();
    assert_eq!(e.service().map(|s| s.status), Some(500), "{e}");
    assert!(e.to_string().contains("oops, not json"), "{e}");

    // A token endpoint answering garbage: said as such.
    let addr = garbage_server(200, "{\"nope\": 1}").await;
    let identity = ident(&certs().valid[0]);
    let client = plain_client(
        &format!("http://{addr}"),
        Credential::ClientCertificate {
            tenant: Uuid::new_v4().to_string(),
            client_id: Uuid::new_v4().to_string(),
            identity,
        },
    );
    let e = client.read_keys(&app_target(id)).await.unwrap_err();
    assert!(
        matches!(e, GraphError::Auth(AuthError::InvalidResponse { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("access_token"), "{e}");
}

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

    // Without a tenant (none given, and a token credential names none) the new key could not be verified, so
    // a roll that removes the old key is refused before the add.
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
    assert!(!report.success);
    assert_eq!(
        report.refusal,
        Some(roll::RollRefusal::RemoveOldWithoutTenant),
        "{report:?}"
    );
    assert_eq!(
        h.thumbprints(unverified.id).await,
        vec![cur.certificate.sha1_hex()]
    );
    // Without removing the old key, the same roll adds the new key and says it was not verified.
    let report = roll::roll(
        &client,
        &RollSpec {
            target: app_target(unverified.id),
            tenant: None,
            remove_old: false,
            ..spec.clone()
        },
        &NoProgress,
    )
    .await;
    assert!(report.success, "{report:?}");
    assert!(report.state.contains("not verified"), "{}", report.state);
    assert_eq!(
        h.thumbprints(unverified.id).await,
        sorted(vec![cur.certificate.sha1_hex(), new.certificate.sha1_hex()])
    );
    h.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_roll_under_a_tight_write_budget() {
    let emu = keyroll_emulator::start(EmulatorConfig {
        faults: keyroll_emulator::FaultConfig {
            write_budget: Some(keyroll_emulator::WriteBudget {
                writes: 6,
                window_secs: 1.0,
            }),
            ..Default::default()
        },
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let ca_pem = emu.ca_pem.clone().unwrap().into_bytes();
    let admin = http::build_client(&HttpOptions {
        extra_roots_pem: Some(ca_pem.clone()),
        ..HttpOptions::default()
    })
    .unwrap();
    let h = Harness {
        base: emu.base_url().to_owned(),
        emu,
        admin,
        ca_pem,
    };
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
    let reports = roll::roll_many(&client, specs, 8, Arc::new(NoProgress))
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
                "--new-cert".into(),
                "-NewCertificate".into(),
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
        (
            "remove old without a tenant",
            ident(&c.valid[1]),
            true,
            None,
            vec!["tenant".into(), "-TenantId".into()],
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
            report.state.contains("nothing was written"),
            "{name}: {}",
            report.state
        );
        assert_eq!(
            h.thumbprints(app.id).await,
            vec![cur.certificate.sha1_hex()],
            "{name}"
        );
    }
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
        8,
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
        8,
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
