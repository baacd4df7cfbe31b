//! The key-credential model: Graph's exact JSON shape, the builder's defaults and rules, and every rule of
//! `validate_add_key` broken one at a time, each naming the field, the service's code and the fix.

use keyroll_proto::cert::Certificate;
use keyroll_proto::credential::{
    AddKeyRequest, CredentialError, CredentialKind, Issue, KeyCredential, KeyCredentialBuilder,
    PasswordCredential, RemoveKeyRequest, ValidationErrors, serde_date, validate_add_key,
};
use keyroll_testkit::case;
use keyroll_testkit::fixtures::fixtures;
use keyroll_testkit::secrets::{Secret, assert_no_secret};
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

fn cert(name: &str) -> Certificate {
    Certificate::from_der(&fixtures().read(name)).unwrap()
}

fn main_cert() -> Certificate {
    cert("cert.der")
}

/// A request that passes every rule at `now()`.
fn valid_request() -> AddKeyRequest {
    let built = KeyCredentialBuilder::new(main_cert()).build().unwrap();
    AddKeyRequest {
        key_credential: built.key_credential,
        password_credential: None,
        proof: "header.payload.signature".into(),
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Validates a request expected to break exactly one rule, and returns that issue after checking what every
/// issue must carry.
#[track_caller]
fn single_issue(
    request: &AddKeyRequest,
    at: OffsetDateTime,
) -> keyroll_proto::credential::ValidationIssue {
    let errors: ValidationErrors = validate_add_key(request, at).unwrap_err();
    assert_eq!(errors.0.len(), 1, "expected one issue, got {errors}");
    let issue = errors.0[0].clone();
    assert!(!issue.graph_code().is_empty());
    assert!(!issue.graph_message().is_empty());
    let text = issue.to_string();
    assert!(
        text.starts_with(issue.field),
        "{text:?} should name {}",
        issue.field
    );
    assert!(errors.to_string().contains(&text));
    issue
}

#[track_caller]
fn assert_issue(
    issue: &keyroll_proto::credential::ValidationIssue,
    field: &str,
    code: &str,
    message_has: &[&str],
) {
    assert_eq!(issue.field, field, "{issue:?}");
    assert_eq!(issue.graph_code(), code, "{issue:?}");
    let text = issue.to_string();
    for m in message_has {
        assert!(text.contains(m), "{text:?} should mention {m:?}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// JSON shape

#[test]
fn key_credential_serializes_exactly_as_graph_does() {
    let kc = KeyCredential {
        custom_key_identifier: Some(vec![0xfb, 0xff, 0xfe]),
        display_name: Some("CN=keyroll test".into()),
        end_date_time: Some(datetime!(2026-01-31 23:59:59.75 UTC)),
        key: Some(vec![0xfb, 0xff]),
        key_id: Some(Uuid::parse_str("3FA85F64-5717-4562-B3FC-2C963F66AFA6").unwrap()),
        start_date_time: Some(datetime!(2025-02-01 08:00:00 +02:00)),
        key_type: Some("AsymmetricX509Cert".into()),
        usage: Some("Verify".into()),
    };
    let text = serde_json::to_string(&kc).unwrap();
    assert_eq!(
        text,
        r#"{"customKeyIdentifier":"+//+","displayName":"CN=keyroll test","endDateTime":"2026-01-31T23:59:59Z","key":"+/8=","keyId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","startDateTime":"2025-02-01T06:00:00Z","type":"AsymmetricX509Cert","usage":"Verify"}"#
    );
    // Round trip.
    let back: KeyCredential = serde_json::from_str(&text).unwrap();
    assert_eq!(back.key, kc.key);
    assert_eq!(back.key_id, kc.key_id);
    assert_eq!(back.end_date_time, Some(datetime!(2026-01-31 23:59:59 UTC)));
}

#[test]
fn empty_credentials_serialize_every_property_as_null() {
    let v = serde_json::to_value(KeyCredential::default()).unwrap();
    assert_eq!(
        v,
        json!({"customKeyIdentifier":null,"displayName":null,"endDateTime":null,"key":null,"keyId":null,
               "startDateTime":null,"type":null,"usage":null})
    );
    let v = serde_json::to_value(PasswordCredential::default()).unwrap();
    assert_eq!(
        v,
        json!({"customKeyIdentifier":null,"displayName":null,"endDateTime":null,"hint":null,"keyId":null,
               "secretText":null,"startDateTime":null})
    );
}

#[test]
fn input_accepts_base64url_unpadded_fractions_offsets_and_upper_case_guids() {
    let kc: KeyCredential = serde_json::from_value(json!({
        "customKeyIdentifier": "-__-",
        "key": "-_8",
        "keyId": "3FA85F64-5717-4562-B3FC-2C963F66AFA6",
        "startDateTime": "2025-02-01T08:00:00.1234567+02:00",
        "endDateTime": "2026-01-31T23:59:59.5",
        "type": "AsymmetricX509Cert",
        "usage": "Verify"
    }))
    .unwrap();
    assert_eq!(
        kc.custom_key_identifier.as_deref(),
        Some(&[0xfb, 0xff, 0xfe][..])
    );
    assert_eq!(kc.key.as_deref(), Some(&[0xfb, 0xff][..]));
    assert_eq!(
        kc.start_date_time,
        Some(datetime!(2025-02-01 06:00:00.1234567 UTC))
    );
    assert_eq!(kc.end_date_time, Some(datetime!(2026-01-31 23:59:59.5 UTC)));
    let out = serde_json::to_value(&kc).unwrap();
    assert_eq!(out["keyId"], "3fa85f64-5717-4562-b3fc-2c963f66afa6");
    assert_eq!(out["customKeyIdentifier"], "+//+");
    assert_eq!(out["startDateTime"], "2025-02-01T06:00:00Z");
    // Missing properties are nulls.
    let sparse: KeyCredential = serde_json::from_str(r#"{"type":"AsymmetricX509Cert"}"#).unwrap();
    assert!(sparse.key.is_none() && sparse.key_id.is_none() && sparse.usage.is_none());
    // Bad values are refused with the reason.
    let err = serde_json::from_str::<KeyCredential>(r#"{"key":"not base64!"}"#).unwrap_err();
    assert!(err.to_string().contains("base64"), "{err}");
    let err = serde_json::from_str::<KeyCredential>(r#"{"endDateTime":"31/01/2026"}"#).unwrap_err();
    assert!(err.to_string().contains("ISO 8601"), "{err}");
    assert_eq!(
        serde_date::format(datetime!(2025-01-02 03:04:05.9 UTC)),
        "2025-01-02T03:04:05Z"
    );
}

#[test]
fn add_and_remove_key_bodies_have_graph_shape_and_redacting_debug() {
    let mut request = valid_request();
    let proof = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiIwMDAwMDAwMiJ9.c2lnbmF0dXJlLWJ5dGVz".to_string();
    request.proof = proof.clone();
    let v = serde_json::to_value(&request).unwrap();
    let obj = v.as_object().unwrap();
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(keys, ["keyCredential", "passwordCredential", "proof"]);
    assert_eq!(v["passwordCredential"], Value::Null);
    assert_eq!(v["keyCredential"]["keyId"], Value::Null);
    assert_eq!(v["keyCredential"]["type"], "AsymmetricX509Cert");
    assert_eq!(v["keyCredential"]["usage"], "Verify");
    assert_eq!(
        v["keyCredential"]["key"],
        keyroll_proto::b64::encode_std(main_cert().der())
    );
    let proof_secrets = [
        Secret::text("the proof", proof.as_str()),
        Secret::text("the proof's signature", "c2lnbmF0dXJlLWJ5dGVz"),
    ];
    assert_no_secret(
        &format!("{request:?}"),
        &proof_secrets,
        "Debug of AddKeyRequest",
    );

    let secret = "Sup3r-Secret-Passw0rd";
    request.password_credential = Some(PasswordCredential::with_secret(secret));
    let v = serde_json::to_value(&request).unwrap();
    assert_eq!(v["passwordCredential"]["secretText"], secret);
    assert_no_secret(
        &format!("{request:?}"),
        &[Secret::text("the password", secret)],
        "Debug of AddKeyRequest with a password",
    );

    let remove = RemoveKeyRequest {
        key_id: Uuid::parse_str("3FA85F64-5717-4562-B3FC-2C963F66AFA6").unwrap(),
        proof: proof.clone(),
    };
    assert_eq!(
        serde_json::to_value(&remove).unwrap(),
        json!({"keyId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","proof":proof})
    );
    assert_no_secret(
        &format!("{remove:?}"),
        &proof_secrets,
        "Debug of RemoveKeyRequest",
    );
}

// ---------------------------------------------------------------------------------------------------------
// Builder

#[test]
fn builder_defaults_are_graphs() {
    let cert = main_cert();
    let built = KeyCredentialBuilder::new(cert.clone()).build().unwrap();
    assert!(built.warnings.is_empty());
    let kc = built.key_credential;
    assert_eq!(kc.key_type.as_deref(), Some("AsymmetricX509Cert"));
    assert_eq!(kc.usage.as_deref(), Some("Verify"));
    assert_eq!(kc.display_name.as_deref(), Some(cert.subject()));
    assert_eq!(
        kc.key.as_deref(),
        Some(cert.der()),
        "key is the DER bytes, not base64 text"
    );
    assert_eq!(kc.key_id, None);
    assert_eq!(kc.start_date_time, None);
    assert_eq!(kc.end_date_time, None);
    assert_eq!(kc.custom_key_identifier, None);
    assert_eq!(kc.thumbprint().as_deref(), Some(cert.sha1_hex().as_str()));
    assert!(kc.is_certificate(&cert));
    assert!(validate_add_key(&valid_request(), now()).is_ok());

    let signing = KeyCredentialBuilder::new(cert)
        .kind(CredentialKind::SignWithPassword)
        .build()
        .unwrap()
        .key_credential;
    assert_eq!(signing.key_type.as_deref(), Some("X509CertAndPassword"));
    assert_eq!(signing.usage.as_deref(), Some("Sign"));
}

#[test]
fn builder_shortens_long_display_names_with_a_warning() {
    let name: String = "é".repeat(95);
    let built = KeyCredentialBuilder::new(main_cert())
        .display_name(name)
        .build()
        .unwrap();
    let shown = built.key_credential.display_name.unwrap();
    assert_eq!(shown.chars().count(), 90);
    assert_eq!(built.warnings.len(), 1);
    assert!(built.warnings[0].contains("90"), "{:?}", built.warnings);
    let exact = KeyCredentialBuilder::new(main_cert())
        .display_name("x".repeat(90))
        .build()
        .unwrap();
    assert!(exact.warnings.is_empty());
}

#[test]
fn builder_applies_the_rules() {
    let cert = main_cert();
    let (nb, na) = (cert.not_before(), cert.not_after());

    let ok = KeyCredentialBuilder::new(cert.clone())
        .start(Some(nb + Duration::days(1)))
        .end(Some(na - Duration::days(1)))
        .custom_key_identifier(Some(vec![7; 32]))
        .build()
        .unwrap();
    assert_eq!(
        ok.key_credential.start_date_time,
        Some(nb + Duration::days(1))
    );
    assert_eq!(ok.key_credential.custom_key_identifier, Some(vec![7; 32]));

    let cases: Vec<(KeyCredentialBuilder, &str, &str)> = vec![
        (
            KeyCredentialBuilder::new(cert.clone()).custom_key_identifier(Some(vec![7; 33])),
            "keyCredential.customKeyIdentifier",
            "33 bytes",
        ),
        (
            KeyCredentialBuilder::new(cert.clone()).start(Some(nb - Duration::days(1))),
            "keyCredential.startDateTime",
            "before the certificate's notBefore",
        ),
        (
            KeyCredentialBuilder::new(cert.clone()).end(Some(na + Duration::days(1))),
            "keyCredential.endDateTime",
            "after the certificate's notAfter",
        ),
        (
            KeyCredentialBuilder::new(cert.clone())
                .start(Some(nb + Duration::days(2)))
                .end(Some(nb + Duration::days(1))),
            "keyCredential.endDateTime",
            "must be after startDateTime",
        ),
    ];
    for (builder, field, words) in cases {
        let _case = case(format!(
            "builder={builder:?} field={field:?} words={words:?}"
        ));
        match builder.build().unwrap_err() {
            CredentialError::Invalid(errors) => {
                assert_eq!(errors.0.len(), 1, "{errors}");
                assert_eq!(errors.0[0].field, field);
                assert!(errors.to_string().contains(words), "{errors}");
            }
            other => panic!("{other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// validate_add_key, one rule at a time

#[test]
fn type_and_usage_rules() {
    let set = |t: Option<&str>, u: Option<&str>| {
        let mut r = valid_request();
        r.key_credential.key_type = t.map(str::to_owned);
        r.key_credential.usage = u.map(str::to_owned);
        r
    };
    let i = single_issue(&set(None, Some("Verify")), now());
    assert_eq!(i.issue, Issue::MissingType);
    assert_issue(
        &i,
        "keyCredential.type",
        "Request_BadRequest",
        &["missing", "AsymmetricX509Cert"],
    );
    assert!(i.graph_message().contains("\"type\""));

    let i = single_issue(&set(Some("AsymmetricX509Cert"), None), now());
    assert_eq!(i.issue, Issue::MissingUsage);
    assert_issue(
        &i,
        "keyCredential.usage",
        "Request_BadRequest",
        &["missing", "Verify"],
    );
    assert!(
        i.graph_message()
            .contains("Acceptable values are Sign, Verify.")
    );

    let i = single_issue(&set(Some("AsymmetricX509Cert"), Some("Encrypt")), now());
    assert_eq!(i.issue, Issue::InvalidUsage("Encrypt".into()));
    assert_issue(
        &i,
        "keyCredential.usage",
        "Request_BadRequest",
        &["\"Encrypt\"", "Sign and Verify"],
    );
    assert_eq!(
        i.graph_message(),
        "The value for the property \"usage\" in one of your credentials is invalid. Acceptable values are Sign, Verify."
    );

    let i = single_issue(&set(Some("Symmetric"), Some("Verify")), now());
    assert_eq!(i.issue, Issue::InvalidType("Symmetric".into()));
    assert_issue(
        &i,
        "keyCredential.type",
        "Request_BadRequest",
        &["AsymmetricX509Cert and X509CertAndPassword"],
    );

    let i = single_issue(&set(Some("AsymmetricX509Cert"), Some("Sign")), now());
    assert_eq!(
        i.issue,
        Issue::InvalidPair("AsymmetricX509Cert".into(), "Sign".into())
    );
    assert_issue(
        &i,
        "keyCredential",
        "Request_BadRequest",
        &["AsymmetricX509Cert + Verify and X509CertAndPassword + Sign"],
    );

    let mut r = set(Some("X509CertAndPassword"), Some("Verify"));
    r.password_credential = Some(PasswordCredential::with_secret("pw"));
    let i = single_issue(&r, now());
    assert_eq!(
        i.issue,
        Issue::InvalidPair("X509CertAndPassword".into(), "Verify".into())
    );

    // Case matters on the wire.
    let i = single_issue(&set(Some("asymmetricx509cert"), Some("Verify")), now());
    assert!(matches!(i.issue, Issue::InvalidType(_)), "{i:?}");
}

#[test]
fn password_credential_rules() {
    let sign = || {
        let mut r = valid_request();
        r.key_credential.key_type = Some("X509CertAndPassword".into());
        r.key_credential.usage = Some("Sign".into());
        r
    };
    let mut ok = sign();
    ok.password_credential = Some(PasswordCredential::with_secret("key-password"));
    let validated = validate_add_key(&ok, now()).unwrap();
    assert_eq!(validated.kind, CredentialKind::SignWithPassword);

    for pw in [
        None,
        Some(PasswordCredential::default()),
        Some(PasswordCredential::with_secret("")),
    ] {
        let _case = case(format!("pw={pw:?}"));
        let mut r = sign();
        r.password_credential = pw;
        let i = single_issue(&r, now());
        assert_eq!(i.issue, Issue::PasswordRequired);
        assert_issue(
            &i,
            "passwordCredential.secretText",
            "Request_BadRequest",
            &["needs passwordCredential.secretText"],
        );
        assert!(i.graph_message().contains("passwordCredential"));
    }

    let mut r = sign();
    let mut pw = PasswordCredential::with_secret("key-password");
    pw.display_name = Some("mine".into());
    r.password_credential = Some(pw);
    let i = single_issue(&r, now());
    assert_eq!(i.issue, Issue::PasswordExtraFields("displayName"));
    assert_issue(
        &i,
        "passwordCredential",
        "Request_BadRequest",
        &["only secretText", "remove displayName"],
    );
    assert!(!i.to_string().contains("key-password"));

    let mut r = sign();
    let mut pw = PasswordCredential::with_secret("key-password");
    pw.hint = Some("key".into());
    r.password_credential = Some(pw);
    assert_eq!(
        single_issue(&r, now()).issue,
        Issue::PasswordExtraFields("hint")
    );

    let mut r = valid_request();
    r.password_credential = Some(PasswordCredential::with_secret("key-password"));
    let i = single_issue(&r, now());
    assert_eq!(i.issue, Issue::PasswordNotAllowed);
    assert_issue(
        &i,
        "passwordCredential",
        "Request_BadRequest",
        &["must be null", "remove it"],
    );
    assert!(!i.to_string().contains("key-password"));

    // An all-null password credential on a Verify key is what Graph clients send: fine.
    let mut r = valid_request();
    r.password_credential = Some(PasswordCredential::default());
    assert!(validate_add_key(&r, now()).is_ok());
}

#[test]
fn key_id_must_be_left_to_the_service() {
    let mut r = valid_request();
    r.key_credential.key_id = Some(Uuid::new_v4());
    let i = single_issue(&r, now());
    assert_eq!(i.issue, Issue::KeyIdSet);
    assert_issue(
        &i,
        "keyCredential.keyId",
        "Request_BadRequest",
        &["must be null", "generates"],
    );
}

#[test]
fn custom_key_identifier_at_most_32_bytes() {
    let mut r = valid_request();
    r.key_credential.custom_key_identifier = Some(vec![1; 32]);
    assert!(validate_add_key(&r, now()).is_ok());
    r.key_credential.custom_key_identifier = Some(vec![1; 33]);
    let i = single_issue(&r, now());
    assert_eq!(i.issue, Issue::CustomKeyIdentifierTooLong(33));
    assert_issue(
        &i,
        "keyCredential.customKeyIdentifier",
        "Request_BadRequest",
        &["33 bytes", "at most 32", "omit it"],
    );
}

#[test]
fn dates_outside_the_certificate_validity() {
    let cert = main_cert();
    let (nb, na) = (cert.not_before(), cert.not_after());

    let mut r = valid_request();
    r.key_credential.start_date_time = Some(nb - Duration::hours(1));
    let i = single_issue(&r, now());
    assert_eq!(
        i.issue,
        Issue::StartBeforeCertificate {
            start: nb - Duration::hours(1),
            not_before: nb
        }
    );
    assert_issue(
        &i,
        "keyCredential.startDateTime",
        "KeyCredentialsInvalidStartDate",
        &[&serde_date::format(nb), "within the certificate's validity"],
    );
    assert_eq!(i.graph_message(), "Key credential start date is invalid.");

    let mut r = valid_request();
    r.key_credential.end_date_time = Some(na + Duration::days(1));
    let i = single_issue(&r, now());
    assert!(matches!(i.issue, Issue::EndAfterCertificate { .. }));
    assert_issue(
        &i,
        "keyCredential.endDateTime",
        "KeyCredentialsInvalidEndDate",
        &[&serde_date::format(na), "notAfter"],
    );
    assert_eq!(i.graph_message(), "Key credential end date is invalid.");
    assert_eq!(i.http_status(), 400);

    let mut r = valid_request();
    r.key_credential.start_date_time = Some(nb + Duration::days(3));
    r.key_credential.end_date_time = Some(nb + Duration::days(2));
    let i = single_issue(&r, now());
    assert_eq!(i.issue, Issue::EndBeforeStart);
    assert_issue(
        &i,
        "keyCredential.endDateTime",
        "KeyCredentialsInvalidEndDate",
        &["after startDateTime"],
    );

    // An end already past, judged at an injected time within the certificate's validity.
    let at = nb + Duration::days(10);
    let mut r = valid_request();
    r.key_credential.end_date_time = Some(nb + Duration::days(1));
    let i = single_issue(&r, at);
    assert_eq!(i.issue, Issue::EndInPast(nb + Duration::days(1)));
    assert_issue(
        &i,
        "keyCredential.endDateTime",
        "KeyCredentialsInvalidEndDate",
        &["in the past"],
    );
}

#[test]
fn expired_certificate_is_refused() {
    let expired = cert("expired_cert.der");
    let mut r = valid_request();
    r.key_credential.key = Some(expired.der().to_vec());
    let i = single_issue(&r, now());
    assert_eq!(i.issue, Issue::CertificateExpired(expired.not_after()));
    assert_issue(
        &i,
        "keyCredential.key",
        "KeyCredentialsInvalidEndDate",
        &[
            "expired at",
            &serde_date::format(expired.not_after()),
            "renew",
        ],
    );
    // The same certificate was fine while it was valid.
    assert!(validate_add_key(&r, expired.not_before() + Duration::days(1)).is_ok());
}

#[test]
fn key_must_be_a_public_certificate() {
    let f = fixtures();
    let with_key = |bytes: Option<Vec<u8>>| {
        let mut r = valid_request();
        r.key_credential.key = bytes;
        r
    };
    for key in [None, Some(Vec::new())] {
        let _case = case(format!("key={key:?}"));
        let i = single_issue(&with_key(key), now());
        assert_eq!(i.issue, Issue::KeyMissing);
        assert_issue(
            &i,
            "keyCredential.key",
            "KeyCredentialsInvalidValue",
            &["null or empty", "DER bytes"],
        );
        assert_eq!(i.graph_message(), "KeyValue cannot be null or empty");
    }

    let private = [
        ("key.der", "PKCS#8"),
        ("key_rsa.der", "PKCS#1"),
        ("key_enc.der", "encrypted PKCS#8"),
        ("ec_key.der", "EC private key"),
        ("key.pem", "PEM private key"),
        ("key_rsa.pem", "PEM private key"),
        ("ec_key.pem", "PEM private key"),
    ];
    for (name, what) in private {
        let i = single_issue(&with_key(Some(f.read(name))), now());
        assert!(matches!(i.issue, Issue::KeyIsPrivate(_)), "{name}: {i:?}");
        assert_issue(
            &i,
            "keyCredential.key",
            "KeyCredentialsInvalidValue",
            &[
                what,
                "never upload private key material",
                "public certificate only",
            ],
        );
        assert_no_secret(&i.to_string(), &f.secrets(), name);
    }
    // Base64 text of a private key, as bytes.
    let text = keyroll_proto::b64::encode_std(&f.read("key.der"));
    let i = single_issue(&with_key(Some(text.into_bytes())), now());
    assert!(matches!(i.issue, Issue::KeyIsPrivate(_)), "{i:?}");

    for name in ["aes_pw.pfx", "legacy_nopw.pfx"] {
        let _case = case(format!("name={name:?}"));
        let i = single_issue(&with_key(Some(f.read(name))), now());
        assert_eq!(i.issue, Issue::KeyIsPfx, "{name}");
        assert_issue(
            &i,
            "keyCredential.key",
            "KeyCredentialsInvalidValue",
            &["PFX", "only the certificate's DER bytes"],
        );
    }

    // The classic double encoding: the bytes of the base64 text instead of the DER it encodes.
    for name in ["cert.b64", "cert_lines.b64", "cert_url.b64", "cert.pem"] {
        let _case = case(format!("name={name:?}"));
        let i = single_issue(&with_key(Some(f.read(name))), now());
        assert_eq!(i.issue, Issue::KeyDoubleEncoded, "{name}");
        assert_issue(
            &i,
            "keyCredential.key",
            "KeyCredentialsInvalidValue",
            &["double encoding", "DER bytes the text decodes to"],
        );
    }
    // ... which is what a JSON body carrying base64-of-base64 decodes to.
    let body = json!({"keyCredential":{"type":"AsymmetricX509Cert","usage":"Verify",
        "key": keyroll_proto::b64::encode_std(f.text("cert.b64").trim().as_bytes())},
        "passwordCredential":null,"proof":"a.b.c"});
    let r: AddKeyRequest = serde_json::from_value(body).unwrap();
    assert_eq!(single_issue(&r, now()).issue, Issue::KeyDoubleEncoded);

    for garbage in [
        b"hello world, not a certificate".to_vec(),
        vec![0x30, 0x03, 0x02, 0x01, 0x05],
        vec![0xff; 64],
    ] {
        let _case = case(format!("garbage={garbage:?}"));
        let i = single_issue(&with_key(Some(garbage)), now());
        assert!(matches!(i.issue, Issue::KeyNotCertificate(_)), "{i:?}");
        assert_issue(
            &i,
            "keyCredential.key",
            "KeyCredentialsInvalidValue",
            &["not an X.509 certificate", "DER bytes"],
        );
    }
    let der = f.read("cert.der");
    let i = single_issue(&with_key(Some(der[..der.len() - 7].to_vec())), now());
    assert!(matches!(i.issue, Issue::KeyNotCertificate(_)), "{i:?}");
}

#[test]
fn weak_keys_are_refused_for_verify_credentials() {
    let f = fixtures();
    let mut r = valid_request();
    r.key_credential.key = Some(f.read("rsa1024_cert.der"));
    let i = single_issue(&r, now());
    assert!(matches!(i.issue, Issue::WeakKey(_)), "{i:?}");
    assert_issue(
        &i,
        "keyCredential.key",
        "KeyCredentialsInvalidValue",
        &["1024 bits", "2048"],
    );

    r.key_credential.key = Some(f.read("ec_cert.der"));
    let i = single_issue(&r, now());
    assert!(matches!(i.issue, Issue::WeakKey(_)), "{i:?}");
    assert_issue(
        &i,
        "keyCredential.key",
        "KeyCredentialsInvalidValue",
        &["not RSA"],
    );
}

#[test]
fn proof_is_required() {
    for proof in ["", "   "] {
        let _case = case(format!("proof={proof:?}"));
        let mut r = valid_request();
        r.proof = proof.into();
        let i = single_issue(&r, now());
        assert_eq!(i.issue, Issue::ProofMissing);
        assert_issue(
            &i,
            "proof",
            "Authorization_RequestDenied",
            &["proof-of-possession JWT"],
        );
        assert_eq!(i.http_status(), 403);
        assert_eq!(
            i.graph_message(),
            "Insufficient privileges to complete the operation."
        );
    }
}

#[test]
fn every_broken_rule_is_reported_at_once_the_first_being_the_services() {
    let mut r = valid_request();
    r.key_credential.usage = Some("Encrypt".into());
    r.key_credential.key_id = Some(Uuid::new_v4());
    r.key_credential.key = None;
    r.proof = String::new();
    let errors = validate_add_key(&r, now()).unwrap_err();
    let fields: Vec<&str> = errors.0.iter().map(|i| i.field).collect();
    assert_eq!(
        fields,
        [
            "keyCredential.usage",
            "keyCredential.keyId",
            "keyCredential.key",
            "proof"
        ]
    );
    assert_eq!(errors.first().unwrap().field, "keyCredential.usage");
    assert!(
        errors
            .to_string()
            .starts_with("invalid key credential request (4 problems):"),
        "{errors}"
    );
}

#[test]
fn stored_credential_fills_the_services_defaults() {
    let cert = main_cert();
    let mut r = valid_request();
    r.key_credential.display_name = Some("n".repeat(120));
    let validated = validate_add_key(&r, now()).unwrap();
    assert_eq!(validated.warnings.len(), 1, "{:?}", validated.warnings);
    let id = Uuid::new_v4();
    let stored = validated.stored_credential(id);
    assert_eq!(stored.key_id, Some(id));
    assert_eq!(
        stored.custom_key_identifier.as_deref(),
        Some(&cert.sha1()[..])
    );
    assert_eq!(stored.start_date_time, Some(cert.not_before()));
    assert_eq!(stored.end_date_time, Some(cert.not_after()));
    assert_eq!(
        stored.display_name.as_ref().map(|n| n.chars().count()),
        Some(90)
    );
    assert_eq!(stored.key.as_deref(), Some(cert.der()));
    assert_eq!(stored.thumbprint(), Some(cert.sha1_hex()));
    let without_key = KeyCredential {
        key: None,
        ..stored.clone()
    };
    assert_eq!(without_key.thumbprint(), Some(cert.sha1_hex()));
    assert!(without_key.is_certificate(&cert));
}
