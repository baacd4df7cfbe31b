//! The messages users read are the product's main interface: each names the problem and the fix. These
//! snapshots pin their exact words (`tests/snapshots/`), so that a change to one is a reviewed change:
//! certificate input errors, the proof inspector's findings, and the addKey validation messages.
//!
//! A difference fails the test; locally insta writes `<name>.snap.new` next to the snapshot (accept it with
//! `cargo insta review`, or rename it), on CI (`CI=true`) it writes nothing. Each snapshot is a table whose
//! rows start with the case's name, so a failing diff names the case.

use keyroll_proto::b64;
use keyroll_proto::cert::{CertError, SigningIdentity};
use keyroll_proto::credential::{Issue, ValidationIssue};
use keyroll_proto::inspect::{InspectOptions, inspect};
use keyroll_testkit::fixtures::{PASSWORD, fixtures};
use serde_json::{Value, json};
use time::macros::datetime;
use uuid::Uuid;

/// `case: text` lines, one per case.
fn table(rows: &[(&str, String)]) -> String {
    rows.iter()
        .map(|(case, text)| format!("{case}: {text}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn certificate_input_errors() {
    let f = fixtures();
    let cert_pem = f.read("cert.pem");
    let thumbprint = SigningIdentity::from_pem(&f.read("bundle_pkcs8.pem"))
        .unwrap()
        .certificate()
        .sha1_hex();
    let err = |r: Result<SigningIdentity, CertError>| {
        r.map(|_| "accepted".to_owned())
            .unwrap_or_else(|e| e.to_string().replace(&thumbprint, "<thumbprint>"))
    };
    let rows = [
        ("empty input", err(SigningIdentity::load(b"", None))),
        (
            "not a certificate",
            err(SigningIdentity::load(b"hello, not a certificate", None)),
        ),
        (
            "PFX without its password",
            err(SigningIdentity::load(&f.read("aes_pw.pfx"), None)),
        ),
        (
            "PFX with a wrong password",
            err(SigningIdentity::load(
                &f.read("aes_pw.pfx"),
                Some("not-the-password"),
            )),
        ),
        (
            "PFX without a private key",
            err(SigningIdentity::load(
                &f.read("certonly.pfx"),
                Some(PASSWORD),
            )),
        ),
        (
            "PEM certificate without its key",
            err(SigningIdentity::from_pem(&cert_pem)),
        ),
        (
            "encrypted PEM key",
            err(SigningIdentity::from_pem_pair(
                &cert_pem,
                &f.read("key_enc.pem"),
            )),
        ),
        (
            "key of another certificate",
            err(SigningIdentity::from_pem_pair(
                &cert_pem,
                &f.read("other_key.pem"),
            )),
        ),
        (
            "EC key",
            err(SigningIdentity::load(&f.read("ec.pfx"), Some(PASSWORD))),
        ),
        (
            "RSA key of 1024 bits",
            err(SigningIdentity::load(
                &f.read("rsa1024.pfx"),
                Some(PASSWORD),
            )),
        ),
    ];
    insta::assert_snapshot!("certificate_input_errors", table(&rows));
}

/// A compact JWS of `header` and `claims` with a signature that is never checked (no certificate is given).
fn token(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64::encode_url(header.to_string().as_bytes()),
        b64::encode_url(claims.to_string().as_bytes())
    )
}

#[test]
fn proof_inspector_findings() {
    let object = Uuid::parse_str("11111111-2222-3333-4444-555555555555").unwrap();
    let app = Uuid::parse_str("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee").unwrap();
    let now = datetime!(2026-01-15 12:00:00 UTC);
    let t = now.unix_timestamp();
    let header =
        json!({"alg": "RS256", "typ": "JWT", "x5t": "c29tZS10aHVtYnByaW50", "kid": "00FF"});
    let claims = json!({
        "aud": "00000002-0000-0000-c000-000000000000",
        "iss": object.to_string(),
        "nbf": t - 60,
        "exp": t + 540,
        "iat": t - 60,
    });
    let with = |base: &Value, key: &str, value: Value| {
        let mut v = base.clone();
        v[key] = value;
        v
    };
    let without = |base: &Value, key: &str| {
        let mut v = base.clone();
        v.as_object_mut().unwrap().remove(key);
        v
    };
    let cases: Vec<(&str, String)> = vec![
        ("not a JWT", "not-a-jwt".to_owned()),
        ("well formed", token(&header, &claims)),
        (
            "alg HS256",
            token(&with(&header, "alg", json!("HS256")), &claims),
        ),
        ("typ absent", token(&without(&header, "typ"), &claims)),
        (
            "neither kid nor x5t",
            token(&without(&without(&header, "kid"), "x5t"), &claims),
        ),
        ("aud absent", token(&header, &without(&claims, "aud"))),
        (
            "aud is Graph's app id",
            token(
                &header,
                &with(
                    &claims,
                    "aud",
                    json!("00000003-0000-0000-c000-000000000000"),
                ),
            ),
        ),
        (
            "aud wrong",
            token(
                &header,
                &with(&claims, "aud", json!("https://graph.microsoft.com")),
            ),
        ),
        ("iss absent", token(&header, &without(&claims, "iss"))),
        (
            "iss not a GUID",
            token(&header, &with(&claims, "iss", json!("my-app"))),
        ),
        (
            "iss is the appId",
            token(&header, &with(&claims, "iss", json!(app.to_string()))),
        ),
        (
            "iss another object",
            token(
                &header,
                &with(
                    &claims,
                    "iss",
                    json!("99999999-8888-7777-6666-555555555555"),
                ),
            ),
        ),
        ("exp absent", token(&header, &without(&claims, "exp"))),
        (
            "lifetime over 10 minutes",
            token(&header, &with(&claims, "exp", json!(t + 3600))),
        ),
        (
            "not yet valid",
            token(
                &header,
                &with(&with(&claims, "nbf", json!(t + 300)), "exp", json!(t + 600)),
            ),
        ),
        (
            "expired",
            token(
                &header,
                &with(&with(&claims, "nbf", json!(t - 900)), "exp", json!(t - 300)),
            ),
        ),
    ];
    let mut options = InspectOptions::new(now);
    options.expected_object_id = Some(object);
    options.app_id = Some(app);
    let rows: Vec<(&str, String)> = cases
        .iter()
        .map(|(case, token)| {
            let report = inspect(token, &options);
            let lines: Vec<String> = report
                .findings
                .iter()
                .map(|f| format!("\n  {:?} {:?}: {}", f.severity, f.code, f.message))
                .collect();
            (*case, lines.concat())
        })
        .collect();
    insta::assert_snapshot!("proof_inspector_findings", table(&rows));
}

#[test]
fn add_key_validation_messages() {
    let start = datetime!(2026-01-01 00:00:00 UTC);
    let end = datetime!(2027-01-01 00:00:00 UTC);
    let cases: Vec<(&str, &'static str, Issue)> = vec![
        ("type absent", "keyCredential.type", Issue::MissingType),
        ("usage absent", "keyCredential.usage", Issue::MissingUsage),
        (
            "usage wrong",
            "keyCredential.usage",
            Issue::InvalidUsage("Encrypt".into()),
        ),
        (
            "type wrong",
            "keyCredential.type",
            Issue::InvalidType("X509Cert".into()),
        ),
        (
            "type and usage apart",
            "keyCredential.usage",
            Issue::InvalidPair("AsymmetricX509Cert".into(), "Sign".into()),
        ),
        (
            "password required",
            "passwordCredential",
            Issue::PasswordRequired,
        ),
        (
            "password not allowed",
            "passwordCredential",
            Issue::PasswordNotAllowed,
        ),
        (
            "password extra fields",
            "passwordCredential",
            Issue::PasswordExtraFields("displayName"),
        ),
        ("key absent", "keyCredential.key", Issue::KeyMissing),
        (
            "private key",
            "keyCredential.key",
            Issue::KeyIsPrivate("a PEM private key"),
        ),
        ("PFX", "keyCredential.key", Issue::KeyIsPfx),
        (
            "base64 text of base64",
            "keyCredential.key",
            Issue::KeyDoubleEncoded,
        ),
        (
            "not a certificate",
            "keyCredential.key",
            Issue::KeyNotCertificate("unexpected end of input".into()),
        ),
        (
            "weak key",
            "keyCredential.key",
            Issue::WeakKey("RSA 1024 bits".into()),
        ),
        ("keyId set", "keyCredential.keyId", Issue::KeyIdSet),
        (
            "end before start",
            "keyCredential.endDateTime",
            Issue::EndBeforeStart,
        ),
        (
            "start before the certificate",
            "keyCredential.startDateTime",
            Issue::StartBeforeCertificate {
                start,
                not_before: start + time::Duration::days(1),
            },
        ),
        (
            "end after the certificate",
            "keyCredential.endDateTime",
            Issue::EndAfterCertificate {
                end,
                not_after: end - time::Duration::days(1),
            },
        ),
        (
            "end in the past",
            "keyCredential.endDateTime",
            Issue::EndInPast(start),
        ),
        (
            "certificate expired",
            "keyCredential.key",
            Issue::CertificateExpired(start),
        ),
        (
            "customKeyIdentifier too long",
            "keyCredential.customKeyIdentifier",
            Issue::CustomKeyIdentifierTooLong(40),
        ),
        ("proof absent", "proof", Issue::ProofMissing),
    ];
    let rows: Vec<(&str, String)> = cases
        .into_iter()
        .map(|(case, field, issue)| {
            let v = ValidationIssue { field, issue };
            (case, format!("[{}] {v}", v.graph_code()))
        })
        .collect();
    insta::assert_snapshot!("add_key_validation_messages", table(&rows));
}
