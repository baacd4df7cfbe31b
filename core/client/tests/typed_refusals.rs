//! The client's refusals as values: a typed reason with its kind, the inspector's findings with their codes, the
//! roll's failed step and kind, all judged against the emulator over real sockets.

use std::time::Duration;

use keyroll_client::graph::{GraphError, Refusal};
use keyroll_client::roll::{self, NoProgress, RollRefusal, RollSpec, Step, StepStatus};
use keyroll_proto::ErrorKind;
use keyroll_proto::credential::{AddKeyRequest, KeyCredentialBuilder};
use keyroll_proto::inspect::FindingCode;
use keyroll_proto::proof::{self, ProofRequest};
use keyroll_testkit::emulator::*;
use serde_json::json;
use time::OffsetDateTime;

#[tokio::test]
async fn removing_the_last_valid_certificate_is_a_typed_rejection() {
    let h = start().await;
    let c = certs();
    let cur = &c.valid[0];
    let cur_id = ident(cur);
    let app = h.create(&[&cur.certificate], json!({})).await;
    let client = h.cert_client(&app, cur_id.clone());
    let target = app_target(app.id);
    let key_id = client.read_keys(&target).await.unwrap().keys[0]
        .key_id
        .unwrap();
    let p = proof::mint(
        &cur_id,
        &ProofRequest::new(app.id),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let e = client
        .remove_key(&target, key_id, p.as_str(), false)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, GraphError::Refused(Refusal::LastValidCertificate { key_id: k, .. }) if *k == key_id),
        "{e:?}"
    );
    assert_eq!(e.kind(), ErrorKind::Rejected);
    assert!(
        e.to_string()
            .contains("without a currently valid certificate"),
        "{e}"
    );
    assert_eq!(
        h.thumbprints(app.id).await,
        vec![cur.certificate.sha1_hex()]
    );
}

#[tokio::test]
async fn a_proof_that_would_be_rejected_carries_the_inspector_findings() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[0], &c.valid[1]);
    let cur_id = ident(cur);
    let app = h.create(&[&cur.certificate], json!({})).await;
    let client = h.cert_client(&app, cur_id.clone());
    let built = KeyCredentialBuilder::new(new.certificate.clone())
        .build()
        .unwrap();
    // iss is the appId, not the object id: the inspector's IssuerIsAppId.
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
                key_credential: built.key_credential,
                password_credential: None,
                proof: wrong.into_string(),
            },
            &new.certificate,
        )
        .await
        .unwrap_err();
    let GraphError::ProofRejected(findings) = &e else {
        panic!("expected the inspector's findings, got {e:?}");
    };
    assert!(
        findings
            .iter()
            .any(|f| f.code == FindingCode::IssuerIsAppId),
        "{findings:?}"
    );
    assert_eq!(e.kind(), ErrorKind::Rejected);
    // The text lists each finding's message, as before.
    for f in findings {
        assert!(e.to_string().contains(&f.message), "{e}");
    }
    assert_eq!(
        h.thumbprints(app.id).await,
        vec![cur.certificate.sha1_hex()]
    );
}

#[tokio::test]
async fn a_roll_reports_its_failed_step_and_the_kind_of_failure() {
    let h = start().await;
    let c = certs();
    let (cur, new, other) = (&c.valid[0], &c.valid[1], &c.valid[2]);
    let (cur_id, new_id, other_id) = (ident(cur), ident(new), ident(other));
    let app = h.create(&[&cur.certificate], json!({})).await;
    let client = h.cert_client(&app, cur_id.clone());
    let spec = RollSpec {
        target: app_target(app.id),
        current: cur_id.clone(),
        new: new_id.clone(),
        display_name: None,
        remove_old: false,
        tenant: Some(app.tenant.to_string()),
        client_id: None,
        verify_timeout: Duration::from_secs(10),
    };

    // The same certificate as current and new: refused at the check step, the caller's input.
    let same = roll::roll(
        &client,
        &RollSpec {
            new: cur_id.clone(),
            ..spec.clone()
        },
        &NoProgress,
    )
    .await;
    assert!(
        matches!(same.refusal, Some(RollRefusal::SameCertificate { .. })),
        "{same:?}"
    );
    assert_eq!(same.error_kind, Some(ErrorKind::Input));
    assert_eq!(same.steps[0].step, Step::Check);
    assert_eq!(
        serde_json::to_value(&same).unwrap()["steps"][0]["step"],
        "check"
    );

    // A current certificate that is not a key of the object: the read step fails, the caller's input.
    let stranger = roll::roll(
        &client,
        &RollSpec {
            current: other_id,
            ..spec.clone()
        },
        &NoProgress,
    )
    .await;
    assert!(!stranger.success);
    let last = stranger.steps.last().unwrap();
    assert_eq!((last.step, last.status), (Step::Read, StepStatus::Failed));
    assert_eq!(stranger.error_kind, Some(ErrorKind::Input));
    assert!(
        stranger
            .error
            .as_deref()
            .unwrap_or("")
            .contains("is not a key credential of the object"),
        "{stranger:?}"
    );
    assert_eq!(
        h.thumbprints(app.id).await,
        vec![cur.certificate.sha1_hex()]
    );

    // A roll that succeeds has no error kind.
    let done = roll::roll(&client, &spec, &NoProgress).await;
    assert!(done.success, "{done:?}");
    assert_eq!(done.error_kind, None);
}
