//! The proof inspector: each rule of docs/docs/protocol.md §1 broken alone, by crafting tokens signed with the test's
//! own key so that nothing but the intended rule breaks, and the finding names the problem and the fix.

use keyroll_proto::b64;
use keyroll_proto::cert::{Certificate, SigningIdentity};
use keyroll_proto::inspect::{Finding, FindingCode, InspectOptions, Report, Severity, inspect};
use keyroll_proto::jwt::MAX_TOKEN_LEN;
use keyroll_proto::proof::{GRAPH_AUDIENCE, ProofRequest, mint};
use keyroll_testkit::case;
use keyroll_testkit::fixtures::fixtures;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

const OBJECT_ID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const APP_ID: &str = "0b8f1c2e-7a9d-4e55-9c1a-2f3e4d5c6b7a";

struct Ctx {
    id: SigningIdentity,
    other: SigningIdentity,
    cert: Certificate,
    now: OffsetDateTime,
}

fn ctx() -> Ctx {
    let f = fixtures();
    let id = SigningIdentity::from_pem(&f.read("bundle_pkcs1.pem")).unwrap();
    let other = SigningIdentity::from_pem_pair(&f.read("other_cert.pem"), &f.read("other_key.pem"))
        .unwrap();
    Ctx {
        cert: id.certificate().clone(),
        id,
        other,
        now: OffsetDateTime::now_utc(),
    }
}

impl Ctx {
    fn t(&self) -> i64 {
        self.now.unix_timestamp()
    }
    fn header(&self) -> Value {
        json!({"alg":"RS256","kid":self.cert.sha1_hex(),"x5t":self.cert.x5t(),"typ":"JWT"})
    }
    fn claims(&self) -> Value {
        let t = self.t() - 10;
        json!({"aud":GRAPH_AUDIENCE,"iss":OBJECT_ID,"nbf":t,"exp":t + 600,"iat":t})
    }
    /// A token with this header and claims, RS256-signed by the main key.
    fn sign(&self, header: &Value, claims: &Value) -> String {
        self.sign_with(header, claims, |m| self.id.sign_rs256(m).unwrap())
    }
    fn sign_with(&self, header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let input = format!(
            "{}.{}",
            b64::encode_url(header.to_string().as_bytes()),
            b64::encode_url(claims.to_string().as_bytes())
        );
        let sig = sign(input.as_bytes());
        format!("{input}.{}", b64::encode_url(&sig))
    }
    fn options<'a>(&self, certs: &'a [Certificate]) -> InspectOptions<'a> {
        InspectOptions {
            certificates: certs,
            expected_object_id: Some(Uuid::parse_str(OBJECT_ID).unwrap()),
            app_id: Some(Uuid::parse_str(APP_ID).unwrap()),
            expected_audience: None,
            now: self.now,
            clock_skew_secs: 0,
        }
    }
    fn inspect(&self, token: &str) -> Report {
        let certs = [self.cert.clone()];
        inspect(token, &self.options(&certs))
    }
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

/// Asserts that `code` is the only error of the report, that its message mentions each of `words`, and that
/// the report never carries the token itself.
#[track_caller]
fn only_error<'r>(report: &'r Report, code: FindingCode, words: &[&str]) -> &'r Finding {
    let errors: Vec<&Finding> = report.errors().collect();
    assert_eq!(
        errors.iter().map(|f| f.code).collect::<Vec<_>>(),
        vec![code],
        "findings: {:#?}",
        report.findings
    );
    assert!(!report.accepted());
    assert_eq!(report.first_error().unwrap().code, code);
    let f = errors[0];
    for w in words {
        assert!(
            f.message.contains(w),
            "{:?} should mention {w:?}",
            f.message
        );
    }
    f
}

#[track_caller]
fn assert_no_token_in(report: &Report, token: &str) {
    let text = serde_json::to_string(report).unwrap() + &format!("{report:?}");
    let sig = token.rsplit('.').next().unwrap();
    assert!(
        sig.len() < 8 || !text.contains(sig),
        "the signature leaked into the report"
    );
    assert!(!text.contains(token));
}

#[test]
fn a_good_proof_is_accepted_with_nothing_to_say() {
    let c = ctx();
    let token = c.sign(&c.header(), &c.claims());
    let report = c.inspect(&token);
    assert!(report.accepted(), "{:#?}", report.findings);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.signer, Some(0));
    assert_eq!(report.signer_thumbprint, Some(c.cert.sha1_hex()));
    assert_eq!(report.header.as_ref().unwrap()["alg"], "RS256");
    assert_eq!(report.claims.as_ref().unwrap()["iss"], OBJECT_ID);
    assert_no_token_in(&report, &token);
    // So is a minted one.
    let minted = mint(
        &c.id,
        &ProofRequest::new(Uuid::parse_str(OBJECT_ID).unwrap()),
        c.now,
    )
    .unwrap();
    assert!(c.inspect(minted.as_str()).findings.is_empty());
}

#[test]
fn padding() {
    let c = ctx();
    let token = c.sign(&c.header(), &c.claims());
    let padded = format!("{token}==");
    let report = c.inspect(&padded);
    only_error(&report, FindingCode::Padding, &["padding", "strip the '='"]);
    assert_eq!(report.signer, Some(0), "the signature itself is fine");
    // Padding on the header segment, signed as sent: only the padding is wrong.
    let h = b64::encode_url(c.header().to_string().as_bytes());
    let p = b64::encode_url(c.claims().to_string().as_bytes());
    let input = format!("{h}==.{p}");
    let sig = c.id.sign_rs256(input.as_bytes()).unwrap();
    let padded = format!("{input}.{}", b64::encode_url(&sig));
    only_error(
        &c.inspect(&padded),
        FindingCode::Padding,
        &["without* padding"],
    );
}

#[test]
fn algorithm_ps256_hs256_none_and_missing() {
    let c = ctx();
    let ps = c.sign_with(&with(c.header(), "alg", json!("PS256")), &c.claims(), |m| {
        c.id.sign_ps256(m).unwrap()
    });
    only_error(
        &c.inspect(&ps),
        FindingCode::Algorithm,
        &["PS256", "must be RS256"],
    );

    let hs = c.sign_with(
        &with(c.header(), "alg", json!("HS256")),
        &c.claims(),
        |_| vec![0x42; 32],
    );
    only_error(
        &c.inspect(&hs),
        FindingCode::Algorithm,
        &["\"HS256\"", "RS256"],
    );

    let none = c.sign_with(&with(c.header(), "alg", json!("none")), &c.claims(), |_| {
        Vec::new()
    });
    assert!(none.ends_with('.'));
    only_error(
        &c.inspect(&none),
        FindingCode::Algorithm,
        &["\"none\"", "RS256"],
    );

    let missing = c.sign(&without(c.header(), "alg"), &c.claims());
    only_error(
        &c.inspect(&missing),
        FindingCode::Algorithm,
        &["no alg", "RS256"],
    );
}

#[test]
fn audience_microsoft_graph_app_id_confusion() {
    let c = ctx();
    let token = c.sign(
        &c.header(),
        &with(
            c.claims(),
            "aud",
            json!("00000003-0000-0000-c000-000000000000"),
        ),
    );
    only_error(
        &c.inspect(&token),
        FindingCode::AudienceGraphAppId,
        &["00000003", "Microsoft Graph's app id", GRAPH_AUDIENCE],
    );
}

#[test]
fn audience_wrong_or_missing() {
    let c = ctx();
    for (aud, words) in [
        (
            json!("https://graph.microsoft.com"),
            vec!["Graph URL", "not a URL", GRAPH_AUDIENCE],
        ),
        (
            json!("api://something-else"),
            vec!["api://something-else", GRAPH_AUDIENCE],
        ),
        (json!(42), vec!["42", "must be the string"]),
    ] {
        let token = c.sign(&c.header(), &with(c.claims(), "aud", aud));
        only_error(&c.inspect(&token), FindingCode::AudienceWrong, &words);
    }
    let token = c.sign(&c.header(), &without(c.claims(), "aud"));
    only_error(
        &c.inspect(&token),
        FindingCode::AudienceMissing,
        &["no aud", GRAPH_AUDIENCE],
    );

    // An expected audience override is honoured.
    let custom = c.sign(
        &c.header(),
        &with(
            c.claims(),
            "aud",
            json!("00000003-0000-0000-c000-000000000000"),
        ),
    );
    let certs = [c.cert.clone()];
    let mut options = c.options(&certs);
    options.expected_audience = Some("00000003-0000-0000-c000-000000000000");
    assert!(inspect(&custom, &options).accepted());
}

#[test]
fn issuer_is_the_app_id() {
    let c = ctx();
    let token = c.sign(&c.header(), &with(c.claims(), "iss", json!(APP_ID)));
    only_error(
        &c.inspect(&token),
        FindingCode::IssuerIsAppId,
        &[APP_ID, "appId (client id)", OBJECT_ID],
    );
}

#[test]
fn issuer_mismatch_not_guid_or_missing() {
    let c = ctx();
    let stranger = "11111111-2222-3333-4444-555555555555";
    let token = c.sign(&c.header(), &with(c.claims(), "iss", json!(stranger)));
    only_error(
        &c.inspect(&token),
        FindingCode::IssuerMismatch,
        &[stranger, OBJECT_ID, "use the object id"],
    );

    // Without the app id, the inspector still hints at the usual confusion.
    let certs = [c.cert.clone()];
    let mut options = c.options(&certs);
    options.app_id = None;
    let as_app = c.sign(&c.header(), &with(c.claims(), "iss", json!(APP_ID)));
    only_error(
        &inspect(&as_app, &options),
        FindingCode::IssuerMismatch,
        &["appId"],
    );

    for iss in [json!("my-application"), json!(12345)] {
        let token = c.sign(&c.header(), &with(c.claims(), "iss", iss));
        only_error(
            &c.inspect(&token),
            FindingCode::IssuerNotGuid,
            &["object id"],
        );
    }
    let token = c.sign(&c.header(), &without(c.claims(), "iss"));
    only_error(
        &c.inspect(&token),
        FindingCode::IssuerMissing,
        &["no iss", "object id"],
    );

    // No expected object id: an info, not an error.
    let mut options = c.options(&certs);
    options.expected_object_id = None;
    let report = inspect(&c.sign(&c.header(), &c.claims()), &options);
    assert!(report.accepted());
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.code == FindingCode::IssuerUnchecked && f.severity == Severity::Info)
    );
}

#[test]
fn lifetime_over_600_seconds() {
    let c = ctx();
    let t = c.t() - 10;
    let token = c.sign(
        &c.header(),
        &with(with(c.claims(), "nbf", json!(t)), "exp", json!(t + 601)),
    );
    only_error(
        &c.inspect(&token),
        FindingCode::Lifetime,
        &["601 s", "at most 600"],
    );
    let token = c.sign(
        &c.header(),
        &with(with(c.claims(), "nbf", json!(c.t())), "exp", json!(c.t())),
    );
    only_error(
        &c.inspect(&token),
        FindingCode::Lifetime,
        &["not after nbf"],
    );
}

#[test]
fn not_yet_valid_with_times() {
    let c = ctx();
    let nbf = c.t() + 120;
    let token = c.sign(
        &c.header(),
        &with(with(c.claims(), "nbf", json!(nbf)), "exp", json!(nbf + 300)),
    );
    let nbf_text = keyroll_proto::credential::serde_date::format(
        OffsetDateTime::from_unix_timestamp(nbf).unwrap(),
    );
    let now_text = keyroll_proto::credential::serde_date::format(c.now);
    only_error(
        &c.inspect(&token),
        FindingCode::NotYetValid,
        &[
            "not valid yet",
            &nbf_text,
            &now_text,
            "120 s early",
            "clock",
        ],
    );
    // Within the allowed skew it passes.
    let certs = [c.cert.clone()];
    let mut options = c.options(&certs);
    options.clock_skew_secs = 300;
    assert!(inspect(&token, &options).accepted());
}

#[test]
fn expired_with_times() {
    let c = ctx();
    let exp = c.t() - 100;
    let token = c.sign(
        &c.header(),
        &with(with(c.claims(), "nbf", json!(exp - 600)), "exp", json!(exp)),
    );
    let exp_text = keyroll_proto::credential::serde_date::format(
        OffsetDateTime::from_unix_timestamp(exp).unwrap(),
    );
    let now_text = keyroll_proto::credential::serde_date::format(c.now);
    only_error(
        &c.inspect(&token),
        FindingCode::Expired,
        &[
            "expired at",
            &exp_text,
            "100 s ago",
            &now_text,
            "mint a fresh one",
        ],
    );
}

#[test]
fn numeric_string_and_missing_time_claims() {
    let c = ctx();
    let t = c.t() - 10;
    let token = c.sign(&c.header(), &with(c.claims(), "nbf", json!(t.to_string())));
    only_error(
        &c.inspect(&token),
        FindingCode::TimeClaim,
        &["nbf is a string", "JSON number"],
    );
    let token = c.sign(&c.header(), &with(c.claims(), "exp", json!(true)));
    only_error(
        &c.inspect(&token),
        FindingCode::TimeClaim,
        &["exp is not a NumericDate"],
    );
    let token = c.sign(&c.header(), &without(c.claims(), "exp"));
    only_error(&c.inspect(&token), FindingCode::TimeClaim, &["no exp"]);
    // iat is optional: a warning only.
    let token = c.sign(&c.header(), &without(c.claims(), "iat"));
    let report = c.inspect(&token);
    assert!(report.accepted(), "{:#?}", report.findings);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.code == FindingCode::TimeClaim && f.severity == Severity::Warning)
    );
}

#[test]
fn bad_signature_for_the_given_certificate() {
    let c = ctx();
    // Signed by another key, header still naming our certificate: only the signature is wrong.
    let token = c.sign_with(&c.header(), &c.claims(), |m| c.other.sign_rs256(m).unwrap());
    let report = c.inspect(&token);
    only_error(
        &report,
        FindingCode::Signature,
        &[
            "does not verify",
            &c.cert.sha1_hex(),
            "another key, or altered",
        ],
    );
    assert_eq!(report.signer, None);
    // Altered after signing.
    let good = c.sign(&c.header(), &c.claims());
    let parts: Vec<&str> = good.split('.').collect();
    let altered_claims =
        b64::encode_url(with(c.claims(), "iat", json!(c.t())).to_string().as_bytes());
    let altered = format!("{}.{altered_claims}.{}", parts[0], parts[2]);
    only_error(
        &c.inspect(&altered),
        FindingCode::Signature,
        &["does not verify"],
    );
    // Among several certificates, none of which signed it.
    let certs = [
        c.other.certificate().clone(),
        Certificate::from_der(&fixtures().read("ec_cert.der")).unwrap(),
    ];
    let token = c.sign(&without(without(c.header(), "kid"), "x5t"), &c.claims());
    let report = inspect(&token, &c.options(&certs));
    assert!(
        report.errors().any(
            |f| f.code == FindingCode::Signature && f.message.contains("any of the object's 2")
        )
    );
}

#[test]
fn kid_and_x5t_mismatch() {
    let c = ctx();
    let other = c.other.certificate();
    let token = c.sign(
        &with(c.header(), "kid", json!(other.sha1_hex())),
        &c.claims(),
    );
    only_error(
        &c.inspect(&token),
        FindingCode::KidMismatch,
        &[&other.sha1_hex(), &c.cert.sha1_hex()],
    );
    let token = c.sign(&with(c.header(), "x5t", json!(other.x5t())), &c.claims());
    only_error(
        &c.inspect(&token),
        FindingCode::X5tMismatch,
        &[
            &other.x5t(),
            &c.cert.sha1_hex(),
            "must name the signing certificate",
        ],
    );
    // Lowercase kid is the same thumbprint.
    let token = c.sign(
        &with(c.header(), "kid", json!(c.cert.sha1_hex().to_lowercase())),
        &c.claims(),
    );
    assert!(c.inspect(&token).accepted());
    // No thumbprint at all: a warning.
    let token = c.sign(&without(without(c.header(), "kid"), "x5t"), &c.claims());
    let report = c.inspect(&token);
    assert!(report.accepted());
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.code == FindingCode::MissingThumbprint && f.severity == Severity::Warning)
    );
}

#[test]
fn signer_certificate_expired_or_not_yet_valid() {
    let c = ctx();
    let f = fixtures();
    for (name, words) in [
        ("expired_cert.der", "expired at"),
        ("notyet_cert.der", "not valid until"),
    ] {
        let _case = case(format!("name={name:?} words={words:?}"));
        // Same key, so the signature verifies; the header names this certificate: only its validity fails.
        let cert = Certificate::from_der(&f.read(name)).unwrap();
        let header = json!({"alg":"RS256","kid":cert.sha1_hex(),"x5t":cert.x5t(),"typ":"JWT"});
        let token = c.sign(&header, &c.claims());
        let certs = [cert.clone()];
        let report = inspect(&token, &c.options(&certs));
        only_error(
            &report,
            FindingCode::SignerValidity,
            &[words, &cert.sha1_hex()],
        );
        assert_eq!(report.signer, Some(0));
    }
}

#[test]
fn the_signer_is_found_among_several_certificates() {
    let c = ctx();
    let certs = [c.other.certificate().clone(), c.cert.clone()];
    let token = c.sign(&c.header(), &c.claims());
    let report = inspect(&token, &c.options(&certs));
    assert!(report.accepted(), "{:#?}", report.findings);
    assert_eq!(report.signer, Some(1));
}

#[test]
fn typ_other_than_jwt_is_a_warning() {
    let c = ctx();
    let token = c.sign(&with(c.header(), "typ", json!("at+jwt")), &c.claims());
    let report = c.inspect(&token);
    assert!(report.accepted());
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.code == FindingCode::Type && f.severity == Severity::Warning)
    );
}

#[test]
fn without_certificates_the_signature_is_unchecked() {
    let c = ctx();
    let token = c.sign_with(&c.header(), &c.claims(), |m| c.other.sign_rs256(m).unwrap());
    let report = inspect(&token, &c.options(&[]));
    assert!(report.accepted());
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.code == FindingCode::SignatureUnchecked && f.severity == Severity::Info)
    );
}

#[test]
fn several_problems_are_all_reported_errors_first() {
    let c = ctx();
    let t = c.t() - 10_000;
    let claims = json!({"aud":"00000003-0000-0000-c000-000000000000","iss":APP_ID,"nbf":t,"exp":t + 3600,"iat":t});
    let token = format!(
        "{}=",
        c.sign(&with(c.header(), "typ", json!("JOSE")), &claims)
    );
    let report = c.inspect(&token);
    let codes: Vec<FindingCode> = report.errors().map(|f| f.code).collect();
    for expected in [
        FindingCode::Padding,
        FindingCode::AudienceGraphAppId,
        FindingCode::IssuerIsAppId,
        FindingCode::Lifetime,
        FindingCode::Expired,
    ] {
        assert!(
            codes.contains(&expected),
            "{expected:?} missing from {codes:?}"
        );
    }
    let severities: Vec<Severity> = report.findings.iter().map(|f| f.severity).collect();
    let mut sorted = severities.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(severities, sorted);
    assert_no_token_in(&report, &token);
}

#[test]
fn garbage_tokens_are_malformed_never_a_panic() {
    let c = ctx();
    let huge = "a".repeat(MAX_TOKEN_LEN + 1);
    let huge3 = format!("{0}.{0}.{0}", "A".repeat(MAX_TOKEN_LEN));
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "empty"),
        ("   \n".into(), "empty"),
        ("not a token".into(), "exactly 3"),
        ("a.b".into(), "exactly 3"),
        ("a.b.c.d.e".into(), "exactly 3"),
        ("!!!.e30.AA".into(), "header segment is not base64url"),
        (
            format!("{}.e30.AA", b64::encode_url(b"[1,2]")),
            "header segment is not a JSON object",
        ),
        (
            format!(
                "{}.{}.AA",
                b64::encode_url(b"{}"),
                b64::encode_url(b"not json")
            ),
            "payload segment is not a JSON object",
        ),
        (
            format!("e30.e30.{}", "*".repeat(10)),
            "signature segment is not base64url",
        ),
        (huge, "bytes long"),
        (huge3, "bytes long"),
        ("\u{0}\u{1}..".into(), "not base64url"),
        ("ey\u{e9}.\u{1F600}.x".into(), "not base64url"),
    ];
    for (token, words) in cases {
        let _case = case(format!("token={token:?} words={words:?}"));
        let report = c.inspect(&token);
        let f = only_error(&report, FindingCode::Malformed, &["not a proof", words]);
        assert!(
            f.message.len() < 300,
            "the message does not echo the input: {}",
            f.message
        );
        assert!(report.header.is_none() && report.claims.is_none());
    }
    // Every prefix and every single-byte corruption of a real token: never a panic, never accepted.
    let token = c.sign(&c.header(), &c.claims());
    for cut in 0..token.len() {
        assert!(!c.inspect(&token[..cut]).accepted());
    }
    let bytes = token.as_bytes();
    for i in (0..bytes.len()).step_by(7) {
        let mut b = bytes.to_vec();
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        let t = String::from_utf8(b).unwrap();
        if t != token {
            assert!(!c.inspect(&t).accepted(), "corrupted at {i}");
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Issue 16: the signer is the certificate the header names; one clock tolerance everywhere.

/// A certificate for the main key, valid for a year from a day ago: the main certificate "renewed with the
/// same key pair" (ADCS "renew with same key", many ACME set-ups).
fn renewed_with_same_key(c: &Ctx) -> Certificate {
    let key = rcgen::KeyPair::try_from(fixtures().read("key.der").as_slice()).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "keyroll test renewed");
    params.not_before = c.now - time::Duration::days(1);
    params.not_after = c.now + time::Duration::days(365);
    let renewed = Certificate::from_der(params.self_signed(&key).unwrap().der()).unwrap();
    assert_eq!(
        renewed.rsa_public_key_pkcs1(),
        c.cert.rsa_public_key_pkcs1(),
        "the renewal keeps the key pair"
    );
    assert_ne!(renewed.sha1(), c.cert.sha1());
    renewed
}

#[test]
fn renewed_certificate_with_the_same_key_pair_is_refused_as_signer() {
    let c = ctx();
    let renewed = renewed_with_same_key(&c);
    let names = |cert: &Certificate| json!({"alg":"RS256","kid":cert.sha1_hex(),"x5t":cert.x5t(),"typ":"JWT"});
    // Both keys verify the signature: the header alone says which certificate signed, in either order.
    for certs in [
        [c.cert.clone(), renewed.clone()],
        [renewed.clone(), c.cert.clone()],
    ] {
        let _case = case(format!("certs={certs:?}"));
        for signer in [&renewed, &c.cert] {
            let _case = case(format!("signer={signer:?}"));
            let token = c.sign(&names(signer), &c.claims());
            let report = inspect(&token, &c.options(&certs));
            assert!(report.accepted(), "{:#?}", report.findings);
            let index = report.signer.unwrap();
            assert_eq!(&certs[index], signer);
            assert_eq!(report.signer_thumbprint, Some(signer.sha1_hex()));
        }
    }
    // Only x5t, or only kid, selects just as well.
    let certs = [c.cert.clone(), renewed.clone()];
    for header in [
        json!({"alg":"RS256","x5t":renewed.x5t()}),
        json!({"alg":"RS256","kid":renewed.sha1_hex()}),
    ] {
        let _case = case(format!("header={header:?}"));
        let report = inspect(&c.sign(&header, &c.claims()), &c.options(&certs));
        assert!(report.accepted(), "{:#?}", report.findings);
        assert_eq!(report.signer, Some(1));
    }
    // x5t naming one and kid the other is still a mismatch, named as such.
    let header = json!({"alg":"RS256","kid":c.cert.sha1_hex(),"x5t":renewed.x5t()});
    let report = inspect(&c.sign(&header, &c.claims()), &c.options(&certs));
    only_error(
        &report,
        FindingCode::KidMismatch,
        &[&c.cert.sha1_hex(), &renewed.sha1_hex(), "both"],
    );
}

#[test]
fn header_naming_another_key_of_the_object_is_x5t_mismatch() {
    let c = ctx();
    // Signed with the main key, the header naming another certificate the object holds.
    let certs = [c.cert.clone(), c.other.certificate().clone()];
    let token = c.sign(
        &json!({"alg":"RS256","x5t":c.other.certificate().x5t()}),
        &c.claims(),
    );
    let report = inspect(&token, &c.options(&certs));
    only_error(
        &report,
        FindingCode::X5tMismatch,
        &[
            &c.other.certificate().sha1_hex(),
            &c.cert.sha1_hex(),
            "must name the signing certificate",
        ],
    );
    assert_eq!(report.signer, Some(0));
    // The header names a held certificate but another, unheld, key signed: the signature is what is wrong.
    let token = c.sign_with(&c.header(), &c.claims(), |m| c.other.sign_rs256(m).unwrap());
    let certs = [
        c.cert.clone(),
        Certificate::from_der(&fixtures().read("ec_cert.der")).unwrap(),
    ];
    only_error(
        &inspect(&token, &c.options(&certs)),
        FindingCode::Signature,
        &[
            "does not verify",
            &c.cert.sha1_hex(),
            "that the header names",
        ],
    );
}

#[test]
fn signer_the_object_does_not_hold_is_x5t_mismatch_not_signature() {
    let c = ctx();
    let other = c.other.certificate().clone();
    // The object holds two certificates that may sign now; the proof is signed by a third it does not hold
    // (or holds expired: the emulator leaves those out), and names it.
    let certs = [
        other.clone(),
        Certificate::from_der(&fixtures().read("ec_cert.der")).unwrap(),
    ];
    let token = c.sign(&c.header(), &c.claims());
    let report = inspect(&token, &c.options(&certs));
    // First (what the emulator's diagnostic names) the header naming a certificate that cannot sign; then
    // that no key of the object made the signature.
    let codes: Vec<FindingCode> = report.errors().map(|f| f.code).collect();
    assert_eq!(
        codes,
        [FindingCode::X5tMismatch, FindingCode::Signature],
        "{:#?}",
        report.findings
    );
    let first = report.first_error().unwrap();
    for w in [
        &c.cert.sha1_hex(),
        "names none of the object's 2 certificate(s)",
        &other.sha1_hex(),
        "expired or not yet valid",
    ] {
        assert!(
            first.message.contains(w),
            "{:?} should mention {w:?}",
            first.message
        );
    }
    assert_eq!(report.signer, None);
    // Only a kid: named as a kid mismatch.
    let token = c.sign(&json!({"alg":"RS256","kid":c.cert.sha1_hex()}), &c.claims());
    let report = inspect(&token, &c.options(&certs));
    assert_eq!(report.first_error().unwrap().code, FindingCode::KidMismatch);
    assert!(
        report
            .first_error()
            .unwrap()
            .message
            .contains(&c.cert.sha1_hex())
    );
}

#[test]
fn inspect_options_default_to_the_services_clock_skew() {
    assert_eq!(
        InspectOptions::new(OffsetDateTime::now_utc()).clock_skew_secs,
        keyroll_proto::inspect::SERVICE_CLOCK_SKEW_SECS
    );
    let c = ctx();
    let certs = [c.cert.clone()];
    let skew = keyroll_proto::inspect::SERVICE_CLOCK_SKEW_SECS;
    // nbf just ahead and exp just behind, within the tolerance: accepted both ways; beyond it: refused.
    let early = c.sign(
        &c.header(),
        &with(
            with(c.claims(), "nbf", json!(c.t() + skew - 5)),
            "exp",
            json!(c.t() + 500),
        ),
    );
    let late = c.sign(
        &c.header(),
        &with(
            with(c.claims(), "nbf", json!(c.t() - 500)),
            "exp",
            json!(c.t() - skew + 5),
        ),
    );
    let options = InspectOptions {
        certificates: &certs,
        ..InspectOptions::new(c.now)
    };
    assert!(inspect(&early, &options).accepted());
    assert!(inspect(&late, &options).accepted());
    let too_early = c.sign(
        &c.header(),
        &with(
            with(c.claims(), "nbf", json!(c.t() + skew + 5)),
            "exp",
            json!(c.t() + 500),
        ),
    );
    only_error(
        &inspect(&too_early, &options),
        FindingCode::NotYetValid,
        &["not valid yet"],
    );
}

#[test]
fn signer_validity_gets_the_same_clock_tolerance_both_ways() {
    let c = ctx();
    let certs = [c.cert.clone()];
    let skew = keyroll_proto::inspect::SERVICE_CLOCK_SKEW_SECS;
    for (now, ok) in [
        (c.cert.not_after() + time::Duration::seconds(skew - 5), true),
        (
            c.cert.not_after() + time::Duration::seconds(skew + 5),
            false,
        ),
        (
            c.cert.not_before() - time::Duration::seconds(skew - 5),
            true,
        ),
        (
            c.cert.not_before() - time::Duration::seconds(skew + 5),
            false,
        ),
    ] {
        // The proof's own times follow `now`, so that only the certificate's validity is judged.
        let t = now.unix_timestamp() - 10;
        let token = c.sign(
            &c.header(),
            &json!({"aud":GRAPH_AUDIENCE,"iss":OBJECT_ID,"nbf":t,"exp":t + 600,"iat":t}),
        );
        let options = InspectOptions {
            certificates: &certs,
            expected_object_id: Some(Uuid::parse_str(OBJECT_ID).unwrap()),
            ..InspectOptions::new(now)
        };
        let report = inspect(&token, &options);
        if ok {
            assert!(report.accepted(), "at {now}: {:#?}", report.findings);
        } else {
            only_error(&report, FindingCode::SignerValidity, &[&c.cert.sha1_hex()]);
        }
    }
}
