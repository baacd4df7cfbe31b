//! Repair by PATCH of keyCredentials, against the emulator over real sockets: an object whose certificates all
//! expired gets a new one and keeps every key; nothing is lost to a concurrent addKey; private keys and missing
//! permissions are refused.

use keyroll_client::graph::{GraphError, TargetKind};
use keyroll_proto::ErrorKind;
use keyroll_proto::cert::Certificate;
use keyroll_proto::credential::{Issue, KeyCredential, KeyCredentialBuilder};
use keyroll_testkit::emulator::*;
use keyroll_testkit::fixtures::fixtures;
use serde_json::json;

fn new_key(c: &Certificate) -> KeyCredential {
    KeyCredentialBuilder::new(c.clone())
        .build()
        .unwrap()
        .key_credential
}

/// An application whose only certificates have expired, and a client holding Application.ReadWrite.All.
async fn expired_app(h: &Harness, extra: usize) -> (Created, keyroll_client::graph::GraphClient) {
    let c = certs();
    let mut held = vec![&c.expired.certificate];
    held.extend(c.valid[3..3 + extra].iter().map(|g| &g.certificate));
    let app = h.create(&held, json!({})).await;
    let admin = h
        .create(
            &[&c.valid[5].certificate],
            json!({"roles": ["Application.ReadWrite.All"]}),
        )
        .await;
    let client = h.token_client(admin.app_id, Default::default()).await;
    (app, client)
}

#[tokio::test]
async fn an_object_with_only_expired_keys_is_repaired_and_keeps_every_key() {
    let h = start().await;
    let c = certs();
    let (app, client) = expired_app(&h, 0).await;
    let before = h.key_credentials(app.id).await;
    assert_eq!(before.len(), 1);
    let outcome = client
        .repair_key(&app_target(app.id), new_key(&c.valid[0].certificate))
        .await
        .unwrap();
    assert_eq!((outcome.keys_before, outcome.keys_after), (1, 2));
    assert_eq!(outcome.restarts, 0);
    let after = h.key_credentials(app.id).await;
    assert_eq!(after.len(), 2);
    // The expired key is kept as it was: same keyId, same bytes.
    assert_eq!(after[0]["keyId"], before[0]["keyId"]);
    assert_eq!(after[0]["key"], before[0]["key"]);
    assert!(
        h.thumbprints(app.id)
            .await
            .contains(&c.valid[0].certificate.sha1_hex())
    );
    // The repaired object can roll again: addKey with a proof signed by the new certificate.
    let own = h.cert_client(&app, ident(&c.valid[0]));
    add(
        &own,
        &app_target(app.id),
        app.id,
        &ident(&c.valid[0]),
        &c.valid[1].certificate,
    )
    .await
    .unwrap();
    assert_eq!(h.key_credentials(app.id).await.len(), 3);
}

#[tokio::test]
async fn an_object_with_n_keys_ends_with_n_plus_one() {
    let h = start().await;
    let c = certs();
    let (app, client) = expired_app(&h, 2).await;
    let outcome = client
        .repair_key(&app_target(app.id), new_key(&c.valid[0].certificate))
        .await
        .unwrap();
    assert_eq!((outcome.keys_before, outcome.keys_after), (3, 4));
    assert_eq!(outcome.kept.len(), 3);
    assert_eq!(h.key_credentials(app.id).await.len(), 4);
}

#[tokio::test]
async fn a_concurrent_add_key_between_read_and_patch_is_not_lost() {
    let h = start().await;
    let c = certs();
    // One valid key, so that another process can addKey while the repair is planned.
    let (app, client) = expired_app(&h, 1).await;
    let target = app_target(app.id);
    let plan = client
        .plan_repair(&target, new_key(&c.valid[0].certificate))
        .await
        .unwrap();
    assert_eq!(plan.current().keys.len(), 2);
    // Another process (its own client, no shared lock) adds a key after the plan's read.
    let other = h.cert_client(&app, ident(&c.valid[3]));
    add(
        &other,
        &target,
        app.id,
        &ident(&c.valid[3]),
        &c.valid[1].certificate,
    )
    .await
    .unwrap();
    let outcome = client.apply_repair(plan).await.unwrap();
    assert_eq!(outcome.restarts, 1, "the change was detected");
    assert_eq!((outcome.keys_before, outcome.keys_after), (3, 4));
    let thumbs = h.thumbprints(app.id).await;
    assert!(
        thumbs.contains(&c.valid[1].certificate.sha1_hex()),
        "the concurrent key is kept"
    );
    assert!(thumbs.contains(&c.valid[0].certificate.sha1_hex()));
}

#[tokio::test]
async fn a_clone_adding_a_key_waits_for_the_repair_and_both_stay() {
    let h = start().await;
    let c = certs();
    let (app, client) = expired_app(&h, 1).await;
    let target = app_target(app.id);
    let plan = client
        .plan_repair(&target, new_key(&c.valid[0].certificate))
        .await
        .unwrap();
    let clone = client.clone();
    let adder = tokio::spawn(async move {
        add(
            &clone,
            &target,
            app.id,
            &ident(&certs().valid[3]),
            &certs().valid[1].certificate,
        )
        .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !adder.is_finished(),
        "the clone's addKey waits for the object's write lock"
    );
    let outcome = client.apply_repair(plan).await.unwrap();
    assert_eq!(outcome.restarts, 0);
    adder.await.unwrap().unwrap();
    assert_eq!(h.key_credentials(app.id).await.len(), 4);
}

#[tokio::test]
async fn private_key_material_is_refused_before_anything_is_sent() {
    let h = start().await;
    let c = certs();
    let (app, client) = expired_app(&h, 0).await;
    let mut kc = new_key(&c.valid[0].certificate);
    kc.key = Some(fixtures().read("key.der"));
    let e = client
        .repair_key(&app_target(app.id), kc)
        .await
        .unwrap_err();
    let GraphError::Invalid(v) = &e else {
        panic!("{e:?}")
    };
    assert!(
        matches!(v.first().unwrap().issue, Issue::KeyIsPrivate(_)),
        "{e}"
    );
    assert_eq!(e.kind(), ErrorKind::Input);
    assert_eq!(h.key_credentials(app.id).await.len(), 1);
}

#[tokio::test]
async fn a_password_key_is_refused_before_anything_is_sent() {
    let h = start().await;
    let c = certs();
    let (app, client) = expired_app(&h, 0).await;
    let kc = KeyCredentialBuilder::new(c.valid[0].certificate.clone())
        .kind(keyroll_proto::credential::CredentialKind::SignWithPassword)
        .build()
        .unwrap()
        .key_credential;
    let e = client
        .repair_key(&app_target(app.id), kc)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            GraphError::Refused(keyroll_client::graph::Refusal::RepairNeedsVerifyKey)
        ),
        "{e:?}"
    );
    assert_eq!(e.kind(), ErrorKind::Input);
    assert_eq!(h.key_credentials(app.id).await.len(), 1);
}

#[tokio::test]
async fn the_app_itself_without_a_write_permission_is_refused_with_the_permission_named() {
    let h = start().await;
    let c = certs();
    // Valid key, so the app can sign in; addKey would work, PATCH needs a permission.
    let app = h.create(&[&c.valid[3].certificate], json!({})).await;
    let own = h.cert_client(&app, ident(&c.valid[3]));
    let e = own
        .repair_key(&app_target(app.id), new_key(&c.valid[0].certificate))
        .await
        .unwrap_err();
    let s = e.service().unwrap_or_else(|| panic!("{e:?}"));
    assert_eq!(
        (s.status, s.code.as_str()),
        (403, "Authorization_RequestDenied")
    );
    assert!(e.to_string().contains("Application.ReadWrite.All"), "{e}");
    assert_eq!(h.key_credentials(app.id).await.len(), 1);
}

#[tokio::test]
async fn a_service_principal_is_repaired_the_same_way() {
    let h = start().await;
    let c = certs();
    let (app, client) = expired_app(&h, 0).await;
    let target = keyroll_client::graph::Target {
        kind: TargetKind::ServicePrincipal,
        object: keyroll_client::graph::ObjectRef::Id(app.sp_id),
    };
    let before = client.read_keys(&target).await.unwrap().keys.len();
    let outcome = client
        .repair_key(&target, new_key(&c.valid[0].certificate))
        .await
        .unwrap();
    assert_eq!(outcome.keys_after, before + 1);
}

#[tokio::test]
async fn a_certificate_already_on_the_object_is_not_added_twice() {
    let h = start().await;
    let c = certs();
    let (app, client) = expired_app(&h, 1).await;
    let e = client
        .repair_key(&app_target(app.id), new_key(&c.valid[3].certificate))
        .await
        .unwrap_err();
    assert!(matches!(e, GraphError::AlreadyPresent { .. }), "{e:?}");
    assert_eq!(h.key_credentials(app.id).await.len(), 2);
}

/// The emulator's PATCH in the addressing forms it shares with addKey: by appId, and on v1.0 and beta; the
/// existing key sent back by keyId without bytes is kept, and a body with other properties is refused.
#[tokio::test]
async fn the_emulator_patches_by_app_id_and_keeps_a_key_sent_back_without_bytes() {
    let h = start().await;
    let c = certs();
    let (app, _) = expired_app(&h, 0).await;
    let admin = h
        .create(&[], json!({"roles": ["Application.ReadWrite.All"]}))
        .await;
    let token = h.token_for(admin.app_id).await;
    let before = h.key_credentials(app.id).await;
    let kept =
        json!({"keyId": before[0]["keyId"], "type": "AsymmetricX509Cert", "usage": "Verify"});
    let new = json!({
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
        "key": keyroll_proto::b64::encode_std(c.valid[0].certificate.der()),
    });
    for (version, path) in [
        ("v1.0", format!("applications(appId='{}')", app.app_id)),
        ("beta", format!("applications/{}", app.id)),
    ] {
        let r = h
            .admin
            .patch(format!("{}/{version}/{path}", h.base))
            .bearer_auth(&token)
            .json(&json!({"keyCredentials": [kept.clone(), new.clone()]}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            204,
            "{version} {path}: {}",
            r.text().await.unwrap()
        );
        let after = h.key_credentials(app.id).await;
        assert_eq!(after.len(), 2, "{version} {path}");
        assert_eq!(after[0]["key"], before[0]["key"], "the kept key's bytes");
    }
    let r = h
        .admin
        .patch(format!("{}/v1.0/applications/{}", h.base, app.id))
        .bearer_auth(&token)
        .json(&json!({"keyCredentials": [kept], "displayName": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(h.key_credentials(app.id).await.len(), 2, "nothing changed");
}
