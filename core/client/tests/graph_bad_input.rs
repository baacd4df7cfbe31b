//! Bad input to the Graph client: caught and explained before anything is sent that would fail, nothing
//! changed; and an unreachable service, a TLS failure and a server that is not Graph, each named clearly.

use std::sync::Arc;

use keyroll_client::auth::{self, AuthError, Credential, TokenProvider};
use keyroll_client::cloud::{ApiVersion, Cloud, Endpoints};
use keyroll_client::graph::{GraphClient, GraphError, RetryPolicy};
use keyroll_client::http::{self, HttpOptions};
use keyroll_proto::clock::{Clock, SystemClock};
use keyroll_proto::credential::{AddKeyRequest, KeyCredentialBuilder};
use keyroll_proto::proof::{self, ProofRequest};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

// The shared fixtures and the emulator harness (certificates, an emulator with its admin client, clients of
// every kind): keyroll-testkit.
use keyroll_testkit::emulator::*;
use keyroll_testkit::servers::{fixed_answer, unused_port};

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
    // The concept; the faces add --app-id / -AppId.
    assert!(e.to_string().contains("by its appId"), "{e}");
    assert!(!e.to_string().contains("--"), "{e}");

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
    let addr = unused_port();
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
    assert!(text.contains("trust its ca file"), "{e}");
    assert!(!text.contains("--ca-cert"), "{e}");
    h.emu.shutdown().await;

    // 200 with a body that is not JSON: InvalidResponse, with what was wrong.
    let addr = fixed_answer(200, "<html>hello</html>");
    let client = plain_client(&format!("http://{addr}"), some_token());
    let e = client.read_keys(&app_target(id)).await.unwrap_err();
    assert!(matches!(e, GraphError::InvalidResponse { .. }), "{e}");
    assert!(!e.is_transport());

    // An error status whose body is not Graph's envelope: the status and the start of the body are said.
    let addr = fixed_answer(500, "oops, not json");
    let client = plain_client(&format!("http://{addr}"), some_token());
    let e = client.read_keys(&app_target(id)).await.unwrap_err();
    assert_eq!(e.service().map(|s| s.status), Some(500), "{e}");
    assert!(e.to_string().contains("oops, not json"), "{e}");

    // A token endpoint answering garbage: said as such.
    let addr = fixed_answer(200, "{\"nope\": 1}");
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
