//! Every way the client authenticates, end to end against the emulator over HTTPS: a client certificate
//! (client assertion), a given token, and managed identity; and what each says when it is refused.

use keyroll_client::auth::{self, AuthError, AuthSettings, Credential, ManagedIdentitySource};
use keyroll_client::cloud::ApiVersion;
use keyroll_client::graph::GraphError;
use serde_json::json;

// The shared fixtures and the emulator harness (certificates, an emulator with its admin client, clients of
// every kind): keyroll-testkit.
use keyroll_testkit::emulator::*;
use keyroll_testkit::secrets::{Secret, assert_no_secret};

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
    assert_no_secret(
        &e.to_string(),
        &[Secret::text("the identity header", header.as_str())],
        "a managed identity refusal",
    );

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
