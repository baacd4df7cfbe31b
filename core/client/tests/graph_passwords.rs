//! Client secrets against the emulator over real sockets: addPassword / removePassword in every addressing
//! form, the permission they need, the secret working at the token endpoint, and a lost answer that leaves
//! exactly one secret (the one whose text the caller holds).

use keyroll_client::cloud::ApiVersion;
use keyroll_client::graph::{GraphError, ObjectRef, Target, TargetKind};
use keyroll_proto::password::PasswordRequest;
use keyroll_testkit::case;
use keyroll_testkit::emulator::*;
use keyroll_testkit::secrets::{Secret, assert_no_secret};
use serde_json::{Value, json};
use uuid::Uuid;

/// Client credentials with a client secret, as MSAL sends them: the status and the body.
async fn sign_in_with_secret(
    h: &Harness,
    tenant: Uuid,
    app_id: Uuid,
    secret: &str,
) -> (u16, Value) {
    let r = h
        .admin
        .post(format!("{}/{tenant}/oauth2/v2.0/token", h.base))
        .form(&[
            ("client_id", app_id.to_string().as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_and_remove_password_in_every_form_and_the_secret_signs_in() {
    let h = start().await;
    let admin = h
        .create(&[], json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    for version in [ApiVersion::V1, ApiVersion::Beta] {
        let client = h.token_client(admin.app_id, version).await;
        let app = h.create(&[], json!({})).await;
        let forms = [
            (TargetKind::Application, ObjectRef::Id(app.id)),
            (TargetKind::Application, ObjectRef::AppId(app.app_id)),
            (TargetKind::ServicePrincipal, ObjectRef::Id(app.sp_id)),
            (TargetKind::ServicePrincipal, ObjectRef::AppId(app.app_id)),
        ];
        for (kind, object) in forms {
            let _case = case(format!(
                "version={version:?} kind={kind:?} object={object:?}"
            ));
            let target = Target { kind, object };
            let out = client
                .add_password(
                    &target,
                    &PasswordRequest {
                        display_name: Some("ci secret".into()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            let text = out.secret.expose().to_owned();
            assert!((16..=64).contains(&text.len()), "length {}", text.len());
            assert_eq!(out.credential.hint.as_deref(), Some(&text[..3]));
            assert!(out.credential.secret_text.is_none());
            assert_eq!(out.attempts, 1);
            assert_no_secret(
                &format!("{out:?}"),
                &[Secret::text("the client secret", text.clone())],
                "AddPasswordOutcome's Debug",
            );
            let key_id = out.credential.key_id.unwrap();
            let listed = client.read_passwords(&target).await.unwrap();
            assert!(listed.passwords.iter().any(|p| p.key_id == Some(key_id)));
            assert!(listed.passwords.iter().all(|p| p.secret_text.is_none()));
            if kind == TargetKind::Application {
                let (status, body) = sign_in_with_secret(&h, app.tenant, app.app_id, &text).await;
                assert_eq!(status, 200, "{body}");
                assert!(body["access_token"].is_string());
            }
            client.remove_password(&target, key_id).await.unwrap();
            let listed = client.read_passwords(&target).await.unwrap();
            assert!(!listed.passwords.iter().any(|p| p.key_id == Some(key_id)));
            if kind == TargetKind::Application {
                let (status, body) = sign_in_with_secret(&h, app.tenant, app.app_id, &text).await;
                assert_eq!(status, 401, "a removed secret signs in no more: {body}");
                assert_eq!(body["error"], "invalid_client");
                assert!(!body.to_string().contains(&text));
            }
            // Removing it again: refused locally, naming the keyId.
            let e = client.remove_password(&target, key_id).await.unwrap_err();
            assert!(matches!(e, GraphError::PasswordNotFound { .. }), "{e}");
            assert!(e.to_string().contains(&key_id.to_string()), "{e}");
        }
    }
    h.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_need_a_permission_even_for_the_app_itself() {
    let h = start().await;
    let c = certs();
    let app = h.create(&[&c.valid[0].certificate], json!({})).await;
    let client = h.token_client(app.app_id, ApiVersion::V1).await;
    let e = client
        .add_password(&app_target(app.id), &PasswordRequest::default())
        .await
        .unwrap_err();
    let s = e.service().expect("the service's answer");
    assert_eq!(
        (s.status, s.code.as_str()),
        (403, "Authorization_RequestDenied"),
        "{e}"
    );
    assert!(
        client
            .read_passwords(&app_target(app.id))
            .await
            .unwrap()
            .passwords
            .is_empty(),
        "nothing was added"
    );
    h.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_end_before_the_start_is_refused_before_sending() {
    let h = start().await;
    let admin = h
        .create(&[], json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    let app = h.create(&[], json!({})).await;
    let client = h.token_client(admin.app_id, ApiVersion::V1).await;
    let now = time::OffsetDateTime::now_utc();
    let e = client
        .add_password(
            &app_target(app.id),
            &PasswordRequest {
                start_date_time: Some(now),
                end_date_time: Some(now - time::Duration::days(1)),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, GraphError::InvalidPassword(_)), "{e}");
    assert_eq!(e.kind(), keyroll_proto::ErrorKind::Input);
    // The service says the same when asked directly.
    let token = h.token_for(admin.app_id).await;
    let r = h
        .admin
        .post(format!("{}/v1.0/applications/{}/addPassword", h.base, app.id))
        .bearer_auth(&token)
        .json(&json!({"passwordCredential": {"startDateTime": "2030-01-02T00:00:00Z", "endDateTime": "2030-01-01T00:00:00Z"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidPasswordCredentialEndDate");
    // removePassword of an unknown keyId: the service's 404.
    let r = h
        .admin
        .post(format!(
            "{}/v1.0/applications/{}/removePassword",
            h.base, app.id
        ))
        .bearer_auth(&token)
        .json(&json!({"keyId": Uuid::new_v4()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    h.emu.shutdown().await;
}

/// The answer of the first addPassword is dropped after the commit: that secret's text is lost. The client
/// must find it by reading, remove it, and add one whose text it holds: exactly one new secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_add_password_answer_leaves_exactly_one_secret_whose_text_is_held() {
    let h = start().await;
    let admin = h
        .create(&[], json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    let app = h.create(&[], json!({})).await;
    let client = h
        .token_client(admin.app_id, ApiVersion::V1)
        .await
        .with_retry(fast_retry(4));
    h.faults(json!({"dropAfterCommit": {"count": 1}})).await;
    let out = client
        .add_password(
            &app_target(app.id),
            &PasswordRequest {
                display_name: Some("rotated".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(out.attempts, 2, "{out:?}");
    assert_eq!(out.orphans_removed.len(), 1, "{out:?}");
    let listed = client.read_passwords(&app_target(app.id)).await.unwrap();
    assert_eq!(listed.passwords.len(), 1, "{:?}", listed.passwords);
    assert_eq!(listed.passwords[0].key_id, out.credential.key_id);
    let (status, body) = sign_in_with_secret(&h, app.tenant, app.app_id, out.secret.expose()).await;
    assert_eq!(
        status, 200,
        "the kept secret is the one whose text is held: {body}"
    );
    h.emu.shutdown().await;
}
