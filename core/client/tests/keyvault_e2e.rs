//! Key Vault end to end against the emulator over HTTPS: a roll in which neither private key ever exists
//! outside the vault (the current certificate's key signs the client assertion and the addKey proof, the next
//! version is created in the vault and its key signs the verification assertion and the removeKey proof), and
//! each way a vault certificate goes wrong, named with its fix.

use std::sync::Arc;
use std::time::Duration;

use keyroll_client::auth::Credential;
use keyroll_client::cloud::ApiVersion;
use keyroll_client::graph::GraphClient;
use keyroll_client::keyvault::{
    CreateOptions, KeyVaultClient, KeyVaultError, KeyVaultSigner, NewCertificatePolicy,
    NextVersionSource, NotIssued, Permission, VaultCertificateRef,
};
use keyroll_client::roll::{self, NoProgress, RollSpec, RollState};
use keyroll_client::signer::{SharedSigner, Signer};
use keyroll_testkit::emulator::{Created, Harness, app_target, sorted, start};
use serde_json::json;
use uuid::Uuid;

const ALL: &[&str] = &[
    "keys/get",
    "keys/sign",
    "certificates/get",
    "certificates/create",
];

/// A Graph client signing in as `app` (for its HTTP client and clock) and a vault client with a vault token for
/// the app.
async fn vault_for(h: &Harness, app: &Created) -> (GraphClient, KeyVaultClient) {
    let graph = h.token_client(app.app_id, ApiVersion::V1).await;
    let token = h.vault_token_for(app.app_id).await;
    let kv = KeyVaultClient::with_access_token(&graph, &token);
    (graph, kv)
}

fn reference(h: &Harness, name: &str) -> VaultCertificateRef {
    VaultCertificateRef::parse(&format!("{}/certificates/{name}", h.vault_url())).unwrap()
}

#[tokio::test]
async fn a_roll_where_no_private_key_leaves_the_vault() {
    let h = start().await;
    let current = h.vault_certificate("billing-app", json!({})).await;
    let app = h.create(&[&current.certificate], json!({})).await;
    h.vault_grant(app.app_id, ALL).await;
    let (_, kv) = vault_for(&h, &app).await;
    let r = reference(&h, "billing-app");

    let old = KeyVaultSigner::open(&kv, &r).await.unwrap();
    assert_eq!(old.certificate(), &current.certificate);
    assert_eq!(old.key_url(), current.kid);
    assert!(old.location().contains(&current.kid), "{}", old.location());
    assert_eq!(kv.calls(), 2, "the certificate and its key");

    let next = kv
        .next_version(
            &r,
            old.certificate(),
            &|_| false,
            &NewCertificatePolicy {
                subject: Some("CN=billing-app".into()),
                ..Default::default()
            },
            CreateOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(next.source, NextVersionSource::Created);
    assert_ne!(next.version.version(), current.version);
    // The latest version, the create, two polls of /pending (one inProgress, then completed), the new version.
    assert_eq!(kv.calls(), 2 + 5);
    let new = KeyVaultSigner::from_version(&kv, next.version)
        .await
        .unwrap();
    assert_eq!(kv.calls(), 2 + 5 + 1);
    assert_ne!(new.certificate(), old.certificate());

    let old: SharedSigner = Arc::new(old);
    let new: SharedSigner = Arc::new(new);
    let graph = h.client_with(
        Credential::ClientCertificate {
            tenant: app.tenant.to_string(),
            client_id: app.app_id.to_string(),
            identity: old.clone(),
        },
        ApiVersion::V1,
        None,
    );
    let spec = RollSpec {
        target: app_target(app.id),
        current: old.clone(),
        new: new.clone(),
        display_name: None,
        remove_old: true,
        tenant: Some(app.tenant.to_string()),
        client_id: None,
        verify_timeout: Duration::from_secs(30),
    };
    let report = roll::roll(&graph, &spec, &NoProgress).await;
    assert_eq!(report.state, RollState::Rolled, "{report:?}");
    assert_eq!(
        h.thumbprints(app.id).await,
        vec![new.certificate().sha1_hex()],
        "only the vault's new certificate is left"
    );
    // Four signatures: the client assertion and the addKey proof with the old key, the verification assertion
    // and the removeKey proof with the new one.
    assert_eq!(kv.calls(), 2 + 5 + 1 + 4);

    // A re-run finds the version it created already a key of the app, and creates no other.
    let registered = sorted(h.thumbprints(app.id).await);
    let again = kv
        .next_version(
            &r,
            old.certificate(),
            &|c| registered.contains(&c.sha1_hex()),
            &NewCertificatePolicy::default(),
            CreateOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(again.source, NextVersionSource::Reused);
    assert_eq!(again.version.certificate.as_ref(), Some(new.certificate()));
}

#[tokio::test]
async fn vault_refusals_name_the_problem_and_the_fix() {
    let h = start().await;
    let app = h.create(&[], json!({})).await;
    let (graph, kv) = vault_for(&h, &app).await;

    // Not found: the vault and the name.
    h.vault_grant(app.app_id, ALL).await;
    let e = KeyVaultSigner::open(&kv, &reference(&h, "missing"))
        .await
        .unwrap_err();
    assert!(matches!(e, KeyVaultError::NotFound { .. }), "{e}");
    assert!(
        e.to_string().contains(h.vault_url()) && e.to_string().contains("\"missing\""),
        "{e}"
    );

    // The certificate's key is not the key named.
    h.vault_certificate("mismatched", json!({"keyMismatch": true}))
        .await;
    let e = KeyVaultSigner::open(&kv, &reference(&h, "mismatched"))
        .await
        .unwrap_err();
    assert!(matches!(e, KeyVaultError::KeyMismatch { .. }), "{e}");

    // Not RSA.
    h.vault_certificate("ec", json!({"kty": "EC"})).await;
    let e = KeyVaultSigner::open(&kv, &reference(&h, "ec"))
        .await
        .unwrap_err();
    assert!(matches!(e, KeyVaultError::KeyNotRsa { .. }), "{e}");

    // Not yet issued.
    h.api().vault_pending_certificate("pending").await;
    let e = KeyVaultSigner::open(&kv, &reference(&h, "pending"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            KeyVaultError::NotIssued {
                state: NotIssued::Pending,
                ..
            }
        ),
        "{e}"
    );

    // No sign permission: the signature is refused naming the permission and the role.
    h.vault_certificate("signless", json!({})).await;
    h.vault_grant(app.app_id, &["keys/get", "certificates/get"])
        .await;
    let signer = KeyVaultSigner::open(&kv, &reference(&h, "signless"))
        .await
        .unwrap();
    let e = signer
        .sign_rs256(
            b"header.payload",
            keyroll_client::signer::SignPurpose::Proof,
        )
        .await
        .unwrap_err();
    let text = e.to_string();
    assert_eq!(e.code(), "vault_forbidden");
    assert!(
        text.contains("keys/sign") && text.contains("Key Vault Crypto User"),
        "{text}"
    );
    // No get permission on certificates, nor create.
    h.vault_grant(app.app_id, &["keys/get"]).await;
    let e = KeyVaultSigner::open(&kv, &reference(&h, "signless"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            KeyVaultError::Forbidden {
                permission: Permission::CertificatesGet,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("Key Vault Certificate User"), "{e}");
    h.vault_grant(app.app_id, &["certificates/get"]).await;
    let e = kv
        .create_certificate(
            &reference(&h, "signless"),
            &keyroll_client::keyvault::policy("signless", None, &NewCertificatePolicy::default()),
            CreateOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("certificates/create")
            && e.to_string().contains("Key Vault Certificates Officer"),
        "{e}"
    );

    // A token for Graph is no token for the vault.
    let graph_token_kv = KeyVaultClient::for_connection(&graph);
    let e = graph_token_kv
        .get_certificate(&reference(&h, "signless"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "vault_token", "{e}");
    assert_eq!(
        graph_token_kv.calls(),
        0,
        "nothing sent without a vault token"
    );
}

#[tokio::test]
async fn a_challenge_for_another_resource_gets_no_further_token() {
    let h = start().await;
    let app = h.create(&[], json!({})).await;
    h.vault_grant(app.app_id, ALL).await;
    h.vault_certificate("c", json!({})).await;
    // A connection of the China cloud: its vault resource is https://vault.azure.cn, and the emulator's vault
    // challenges for https://vault.azure.net.
    let mut endpoints = h.endpoints(ApiVersion::V1);
    endpoints.cloud = keyroll_client::cloud::Cloud::China;
    let base = h.token_client(app.app_id, ApiVersion::V1).await;
    let graph = GraphClient::new(
        base.http().clone(),
        endpoints,
        base.tokens().clone(),
        base.clock().clone(),
    );
    let kv = KeyVaultClient::with_access_token(&graph, "not-a-vault-token");
    let e = kv.get_certificate(&reference(&h, "c")).await.unwrap_err();
    assert!(
        matches!(e, KeyVaultError::UnexpectedChallenge { .. }),
        "{e}"
    );
    assert!(
        e.to_string().contains("https://vault.azure.net")
            && e.to_string().contains("vault.azure.cn"),
        "{e}"
    );
    assert_eq!(kv.calls(), 1, "no second request after the challenge");
    let _ = Uuid::nil();
}

#[tokio::test]
async fn a_managed_identity_reaches_the_vault_with_its_own_credential() {
    // An Automation-style runbook: a managed identity that may write applications and use the vault rolls an
    // app whose certificate is in the vault; the vault token comes from the connection's own credential.
    let h = start().await;
    let info = h.info().await;
    let endpoint = info["identityEndpoint"].as_str().unwrap().to_owned();
    let header = info["identityHeader"].as_str().unwrap().to_owned();
    let mi = h
        .create(
            &[],
            json!({"managedIdentity": true, "roles": ["Application.ReadWrite.All"]}),
        )
        .await;
    h.vault_grant(mi.app_id, ALL).await;
    let current = h.vault_certificate("runbook-app", json!({})).await;
    let app = h.create(&[&current.certificate], json!({})).await;
    let env = move |k: &str| match k {
        "IDENTITY_ENDPOINT" => Some(endpoint.clone()),
        "IDENTITY_HEADER" => Some(header.clone()),
        _ => None,
    };
    let credential = keyroll_client::auth::resolve_credential(
        &keyroll_client::auth::AuthSettings {
            managed_identity: true,
            client_id: Some(mi.app_id.to_string()),
            ..Default::default()
        },
        &env,
    )
    .unwrap();
    let graph = h.client_with(credential, ApiVersion::V1, None);
    let kv = KeyVaultClient::for_connection(&graph);
    let r = reference(&h, "runbook-app");
    let old = KeyVaultSigner::open(&kv, &r).await.unwrap();
    let next = keyroll_client::keyvault::next_version_for(
        &graph,
        &kv,
        &app_target(app.id),
        &r,
        old.certificate(),
        &NewCertificatePolicy::default(),
        CreateOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(next.source, NextVersionSource::Created);
    let new: SharedSigner = Arc::new(
        KeyVaultSigner::from_version(&kv, next.version)
            .await
            .unwrap(),
    );
    let spec = RollSpec {
        target: app_target(app.id),
        current: Arc::new(old),
        new: new.clone(),
        display_name: None,
        remove_old: true,
        tenant: Some(app.tenant.to_string()),
        client_id: None,
        verify_timeout: Duration::from_secs(30),
    };
    let report = roll::roll(&graph, &spec, &NoProgress).await;
    assert_eq!(report.state, RollState::Rolled, "{report:?}");
    assert_eq!(
        h.thumbprints(app.id).await,
        vec![new.certificate().sha1_hex()]
    );
    // Open (2), latest + create + 2 polls + new version (5), its key (1); the managed identity signs in to
    // Graph, so the vault signs only the addKey proof, the verification assertion and the removeKey proof.
    assert_eq!(kv.calls(), 2 + 5 + 1 + 3);
}

/// Records the retries it is told about.
#[derive(Default)]
struct Retries(std::sync::Mutex<Vec<keyroll_client::graph::RetryEvent>>);

impl keyroll_client::graph::RetryObserver for Retries {
    fn retrying(&self, event: &keyroll_client::graph::RetryEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

#[tokio::test]
async fn a_throttled_vault_is_waited_out_with_its_retry_after() {
    let h = start().await;
    let app = h.create(&[], json!({})).await;
    h.vault_grant(app.app_id, ALL).await;
    h.vault_certificate("busy", json!({})).await;
    let graph = h.token_client(app.app_id, ApiVersion::V1).await;
    let token = h.vault_token_for(app.app_id).await;
    let retries = Arc::new(Retries::default());
    let kv = KeyVaultClient::with_access_token(&graph, &token)
        .with_retry(keyroll_testkit::emulator::fast_retry(5))
        .with_retry_observer(retries.clone());
    h.api()
        .vault_settings(json!({"throttle": 2, "throttleRetryAfter": 0.05}))
        .await;
    let signer = KeyVaultSigner::open(&kv, &reference(&h, "busy"))
        .await
        .unwrap();
    assert_eq!(kv.calls(), 2 + 2, "two throttled requests sent again");
    let seen = retries.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen.iter()
            .all(|e| e.status == Some(429) && e.retry_after == Some(Duration::from_millis(50)))
    );
    // More throttling than the budget: the vault's own refusal, with its status.
    h.api().vault_settings(json!({"throttle": 10})).await;
    let e = signer
        .sign_rs256(b"x.y", keyroll_client::signer::SignPurpose::Proof)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "vault_service", "{e}");
    assert!(e.to_string().contains("429"), "{e}");
}
