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

// ---------------------------------------------------------------------------------------------------------
// A VM's managed identity: Azure's instance metadata protocol, reached only through the override of its address
// (nothing here ever sends to 169.254.169.254).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vms_managed_identity_speaks_imds_at_the_overridden_address() {
    let h = start().await;
    let c = certs();
    let (cur, new) = (&c.valid[0], &c.valid[2]);
    let mi = h
        .create(
            &[],
            json!({"managedIdentity": true, "roles": ["Application.ReadWrite.All"]}),
        )
        .await;
    let app = h.create(&[&cur.certificate], json!({})).await;
    // The emulator's origin is where it serves IMDS's path; azure-identity's override and Azure Arc's name both
    // reach it, and IDENTITY_ENDPOINT unset means a VM, not an Automation account.
    for name in ["AZURE_POD_IDENTITY_AUTHORITY_HOST", "IMDS_ENDPOINT"] {
        let authority = h.vault_url().to_string();
        let env = move |k: &str| (k == name).then(|| authority.clone());
        let credential = auth::resolve_credential(
            &AuthSettings {
                managed_identity: true,
                ..AuthSettings::default()
            },
            &env,
        )
        .unwrap();
        match &credential {
            Credential::ManagedIdentity {
                source: ManagedIdentitySource::Imds { endpoint },
                ..
            } => {
                assert!(endpoint.starts_with("https://127.0.0.1:"), "{endpoint}");
                assert!(!endpoint.contains("169.254"), "{endpoint}");
            }
            other => panic!("{name}: {other:?}"),
        }
        let client = h.client_with(credential, ApiVersion::V1, None);
        let keys = client.read_keys(&app_target(app.id)).await.unwrap();
        assert_eq!(keys.id, app.id, "{name}");
    }
    // The token is the identity's: it may write.
    let authority = h.vault_url().to_string();
    let env = move |k: &str| (k == "AZURE_POD_IDENTITY_AUTHORITY_HOST").then(|| authority.clone());
    let credential = auth::resolve_credential(
        &AuthSettings {
            managed_identity: true,
            client_id: Some(mi.app_id.to_string()),
            ..AuthSettings::default()
        },
        &env,
    )
    .unwrap();
    let client = h.client_with(credential, ApiVersion::V1, None);
    let cur_id = ident(cur);
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulators_imds_refuses_a_request_without_the_metadata_header_as_imds_does() {
    let h = start().await;
    let http = http_client(Some(&h.ca_pem));
    let url = format!(
        "{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://graph.microsoft.com",
        h.vault_url()
    );
    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body["error_description"],
        "Required metadata header not specified"
    );
}
