//! Which certificate signed a proof, end to end against the emulator over HTTPS: the client's local pre-check
//! and the emulator both judge with core's inspector, so both must pick the certificate the header names —
//! also when the object holds a certificate and its renewal with the same key pair — and the emulator's
//! diagnostic must say `x5t_mismatch` when the header names a certificate the object cannot sign with now.

use std::sync::OnceLock;
use std::time::Duration;

use keyroll_client::roll::{self, NoProgress, RollSpec};
use keyroll_proto::b64;
use keyroll_proto::cert::generate::{GeneratedCertificate, self_signed_rsa};
use keyroll_proto::cert::{Certificate, SigningIdentity};
use keyroll_proto::proof::{self, ProofRequest};
use keyroll_testkit::emulator::{Created, Harness, app_target, ident, start};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

const DIAG: &str = "x-keyroll-emulator-diagnostic";

/// `original` renewed with the same key pair: a new certificate (new serial, dates, thumbprint), same key.
fn renew_same_key(original: &GeneratedCertificate, name: &str) -> GeneratedCertificate {
    let key = rcgen::KeyPair::try_from(original.key_pkcs8.as_slice()).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(400);
    let der = params.self_signed(&key).unwrap().der().to_vec();
    GeneratedCertificate {
        certificate: Certificate::from_der(&der).unwrap(),
        key_pkcs8: original.key_pkcs8.clone(),
    }
}

struct Certs {
    old: GeneratedCertificate,
    renewed: GeneratedCertificate,
    next: GeneratedCertificate,
    a: GeneratedCertificate,
    b: GeneratedCertificate,
    stranger: GeneratedCertificate,
    expired: GeneratedCertificate,
    not_yet: GeneratedCertificate,
}

fn certs() -> &'static Certs {
    static C: OnceLock<Certs> = OnceLock::new();
    C.get_or_init(|| {
        let now = OffsetDateTime::now_utc();
        let make = |name: &str, from: time::Duration, days: i64| {
            self_signed_rsa(
                &format!("keyroll signer e2e {name}"),
                now + from,
                days,
                2048,
            )
            .unwrap()
        };
        let old = make("old", -time::Duration::days(300), 365);
        let renewed = renew_same_key(&old, "keyroll signer e2e renewed");
        Certs {
            renewed,
            old,
            next: make("next", -time::Duration::days(1), 365),
            a: make("a", -time::Duration::days(1), 365),
            b: make("b", -time::Duration::days(1), 365),
            stranger: make("stranger", -time::Duration::days(1), 365),
            expired: make("expired", -time::Duration::days(40), 30),
            not_yet: make("not yet", time::Duration::days(10), 30),
        }
    })
}

/// The object's key credentials as the admin API shows them: (keyId, thumbprint).
async fn keys(h: &Harness, id: Uuid) -> Vec<(Uuid, String)> {
    h.key_credentials(id)
        .await
        .iter()
        .map(|k| {
            let der = b64::decode_lenient(k["key"].as_str().unwrap()).unwrap();
            (
                Uuid::parse_str(k["keyId"].as_str().unwrap()).unwrap(),
                Certificate::from_der(&der).unwrap().sha1_hex(),
            )
        })
        .collect()
}

/// An application holding `certs`, in this order.
async fn create(h: &Harness, certs: &[&GeneratedCertificate]) -> Created {
    let certs: Vec<&Certificate> = certs.iter().map(|c| &c.certificate).collect();
    h.create(&certs, json!({})).await
}

/// addKey sent straight to the emulator, with no local pre-check: (status, diagnostic header).
async fn raw_add_key(h: &Harness, app: &Created, token: &str, proof: &str) -> (u16, String) {
    let new = &certs().next.certificate;
    let body = json!({
        "keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify", "key": b64::encode_std(new.der())},
        "passwordCredential": null,
        "proof": proof,
    });
    let r = h
        .admin
        .post(format!("{}/v1.0/applications/{}/addKey", h.base, app.id))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let diag = r
        .headers()
        .get(DIAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (r.status().as_u16(), diag)
}

fn mint(signer: &SigningIdentity, object_id: Uuid) -> String {
    proof::mint(
        signer,
        &ProofRequest::new(object_id),
        OffsetDateTime::now_utc(),
    )
    .unwrap()
    .into_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewed_certificate_with_the_same_key_pair_is_refused_as_signer() {
    let h = start().await;
    let c = certs();
    let renewed = ident(&c.renewed);
    // The old certificate first: "the first certificate whose key verifies" is the old one.
    let app = create(&h, &[&c.old, &c.renewed]).await;

    // The emulator alone (no client pre-check): a proof naming the renewal is accepted.
    let token = h.token_for(app.app_id).await;
    let (status, diag) = raw_add_key(&h, &app, &token, &mint(&renewed, app.id)).await;
    assert_eq!(
        status, 200,
        "the emulator refused the renewal's proof: {diag}"
    );
    let added = keys(&h, app.id)
        .await
        .into_iter()
        .find(|(_, t)| *t == c.next.certificate.sha1_hex())
        .unwrap()
        .0;

    // The client: its local pre-check accepts the same proof and removeKey goes through, signed by the
    // renewal (the key just added is removed again).
    let client = h.cert_client(&app, renewed.clone());
    client
        .remove_key(&app_target(app.id), added, &mint(&renewed, app.id), false)
        .await
        .unwrap_or_else(|e| panic!("removeKey signed by the renewal: {e}"));

    // A roll signed by the renewal: addKey through the client (pre-check and emulator), verified.
    let spec = RollSpec {
        target: app_target(app.id),
        current: renewed.clone(),
        new: ident(&c.next),
        display_name: Some("after renewal".into()),
        remove_old: false,
        tenant: Some(app.tenant.to_string()),
        client_id: None,
        verify_timeout: Duration::from_secs(10),
    };
    let report = roll::roll(&client, &spec, &NoProgress).await;
    assert!(report.success, "{report:?}");

    // Finally the old certificate goes, removed with a proof naming the renewal.
    let old_id = keys(&h, app.id)
        .await
        .into_iter()
        .find(|(_, t)| *t == c.old.certificate.sha1_hex())
        .unwrap()
        .0;
    client
        .remove_key(&app_target(app.id), old_id, &mint(&renewed, app.id), false)
        .await
        .unwrap_or_else(|e| panic!("removing the old certificate: {e}"));
    let mut left: Vec<String> = keys(&h, app.id).await.into_iter().map(|(_, t)| t).collect();
    left.sort();
    let mut expected = vec![
        c.renewed.certificate.sha1_hex(),
        c.next.certificate.sha1_hex(),
    ];
    expected.sort();
    assert_eq!(left, expected);
    h.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostic_names_x5t_mismatch_for_a_signer_the_object_cannot_sign_with() {
    let h = start().await;
    let c = certs();
    // Two certificates that may sign now, one expired, one not yet valid.
    let app = create(&h, &[&c.a, &c.b, &c.expired, &c.not_yet]).await;
    let token = h.token_for(app.app_id).await;
    for (name, signer) in [
        ("a certificate the object does not hold", &c.stranger),
        ("an expired certificate of the object", &c.expired),
        ("a not yet valid certificate of the object", &c.not_yet),
    ] {
        let (status, diag) = raw_add_key(&h, &app, &token, &mint(&ident(signer), app.id)).await;
        assert_eq!(status, 401, "{name}");
        assert!(
            diag.contains("x5t_mismatch") && diag.contains(&signer.certificate.sha1_hex()),
            "{name}: the diagnostic should name x5t_mismatch and the certificate: {diag:?}"
        );
    }
    // The same proofs pass with a certificate that may sign.
    let (status, diag) = raw_add_key(&h, &app, &token, &mint(&ident(&c.b), app.id)).await;
    assert_eq!(status, 200, "{diag}");
    h.emu.shutdown().await;
}
