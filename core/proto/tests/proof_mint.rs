//! Proof minting: the exact header and claims, the lifetime rules, injectable time, the two-phase path with a
//! signature made by the `openssl` command, and — as an oracle this project did not write — every minted proof
//! verified by `openssl dgst -sha256 -verify`.

use std::path::Path;

use keyroll_proto::b64;
use keyroll_proto::cert::{CertError, Certificate, SigningIdentity};
use keyroll_proto::inspect::{InspectOptions, inspect};
use keyroll_proto::proof::{
    self, GRAPH_AUDIENCE, MAX_LIFETIME_SECS, ProofError, ProofRequest, assemble, mint,
    signing_input,
};
use keyroll_testkit::case;
use keyroll_testkit::fixtures::{PASSWORD, fixtures, openssl_in};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

const OBJECT_ID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const T: OffsetDateTime = datetime!(2025-06-01 12:00:00 UTC);

fn identity() -> SigningIdentity {
    SigningIdentity::from_pem(&fixtures().read("bundle_pkcs8.pem")).unwrap()
}

fn object_id() -> Uuid {
    Uuid::parse_str(OBJECT_ID).unwrap()
}

fn openssl_sha1_hex() -> String {
    let out = fixtures().openssl(&["x509", "-in", "cert.pem", "-noout", "-fingerprint", "-sha1"]);
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
}

fn segments(token: &str) -> (String, String, Vec<u8>) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let dec = |s: &str| b64::decode_jose_segment(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    (
        String::from_utf8(dec(parts[0])).unwrap(),
        String::from_utf8(dec(parts[1])).unwrap(),
        dec(parts[2]),
    )
}

/// `openssl dgst -sha256 -verify pub.pem -signature sig.bin input` over the token's signing input.
fn openssl_verifies(dir: &Path, token: &str, pubkey: &Path) -> bool {
    let (input, sig) = token.rsplit_once('.').unwrap();
    std::fs::write(dir.join("input.txt"), input).unwrap();
    std::fs::write(dir.join("sig.bin"), b64::decode_jose_segment(sig).unwrap()).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(pubkey)
        .args(["-signature", "sig.bin", "input.txt"])
        .current_dir(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ok = out.status.success() && stdout.contains("Verified OK");
    assert_eq!(
        ok,
        !stdout.contains("Verification failure") && out.status.success(),
        "{stdout}"
    );
    ok
}

#[test]
fn header_and_claims_are_exactly_microsofts() {
    let token = mint(&identity(), &ProofRequest::new(object_id()), T).unwrap();
    let token = token.as_str();
    let kid = openssl_sha1_hex();
    let x5t = b64::encode_url(&hex::decode(&kid).unwrap());
    let (header, claims, sig) = segments(token);
    assert_eq!(
        header,
        format!(r#"{{"alg":"RS256","kid":"{kid}","x5t":"{x5t}","typ":"JWT"}}"#)
    );
    let nbf = T.unix_timestamp();
    assert_eq!(
        claims,
        format!(
            r#"{{"aud":"00000002-0000-0000-c000-000000000000","iss":"{OBJECT_ID}","nbf":{nbf},"exp":{},"iat":{nbf}}}"#,
            nbf + 600
        )
    );
    assert_eq!(nbf, 1_748_779_200);
    assert_eq!(sig.len(), 256, "RSA-2048 signature");
    assert!(!token.contains('='), "no padding anywhere: {token}");
    assert!(
        token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
        "base64url only: {token}"
    );
    assert!(
        kid.chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    );
}

#[test]
fn time_is_injected_and_lifetime_and_audience_are_honoured() {
    let id = identity();
    for (at, life) in [
        (T, 1),
        (T, 60),
        (datetime!(2030-01-01 00:00:00 UTC), MAX_LIFETIME_SECS),
    ] {
        let token = mint(&id, &ProofRequest::new(object_id()).lifetime(life), at).unwrap();
        let (_, claims, _) = segments(token.as_str());
        let c: serde_json::Value = serde_json::from_str(&claims).unwrap();
        assert_eq!(c["nbf"], at.unix_timestamp());
        assert_eq!(c["iat"], at.unix_timestamp());
        assert_eq!(c["exp"], at.unix_timestamp() + life);
    }
    // Sub-second precision never reaches the claims.
    let token = mint(
        &id,
        &ProofRequest::new(object_id()),
        datetime!(2025-06-01 12:00:00.999 UTC),
    )
    .unwrap();
    let (_, claims, _) = segments(token.as_str());
    assert!(
        claims.contains(&format!("\"nbf\":{}", T.unix_timestamp())),
        "{claims}"
    );

    let token = mint(
        &id,
        &ProofRequest::new(object_id()).audience("00000003-0000-0000-c000-000000000000"),
        T,
    )
    .unwrap();
    let (_, claims, _) = segments(token.as_str());
    assert!(
        claims.contains(r#""aud":"00000003-0000-0000-c000-000000000000""#),
        "{claims}"
    );

    // RS256 (PKCS#1 v1.5) is deterministic: the same inputs give the same token.
    let a = mint(&id, &ProofRequest::new(object_id()), T).unwrap();
    let b = mint(&id, &ProofRequest::new(object_id()), T).unwrap();
    assert_eq!(a, b);
}

#[test]
fn lifetime_over_600_or_not_positive_is_refused() {
    let id = identity();
    let err = mint(&id, &ProofRequest::new(object_id()).lifetime(601), T).unwrap_err();
    assert!(
        matches!(err, ProofError::LifetimeTooLong { secs: 601 }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("maximum of 600") && err.to_string().contains("use 600 or less"),
        "{err}"
    );
    for secs in [0, -5] {
        let _case = case(format!("secs={secs:?}"));
        let err = mint(&id, &ProofRequest::new(object_id()).lifetime(secs), T).unwrap_err();
        assert!(
            matches!(err, ProofError::LifetimeNotPositive { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("between 1 and 600"), "{err}");
    }
    let err = mint(&id, &ProofRequest::new(object_id()).audience("  "), T).unwrap_err();
    assert!(matches!(err, ProofError::EmptyAudience), "{err:?}");
    assert!(err.to_string().contains(GRAPH_AUDIENCE), "{err}");
}

#[test]
fn object_ids_are_parsed_as_users_paste_them() {
    let id = proof::parse_object_id(" {3FA85F64-5717-4562-B3FC-2C963F66AFA6} ").unwrap();
    let token = mint(&identity(), &ProofRequest::new(id), T).unwrap();
    let (_, claims, _) = segments(token.as_str());
    assert!(
        claims.contains(&format!("\"iss\":\"{OBJECT_ID}\"")),
        "lowercase hyphenated: {claims}"
    );
    for bad in ["my-app", "", "https://graph.microsoft.com"] {
        let _case = case(format!("bad={bad:?}"));
        let err = proof::parse_object_id(bad).unwrap_err();
        assert!(matches!(err, ProofError::InvalidObjectId { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains("not its 'Application (client) ID'"),
            "{err}"
        );
    }
}

#[test]
fn keys_that_cannot_sign_are_refused_before_minting() {
    let f = fixtures();
    let ec = Certificate::from_der(&f.read("ec_cert.der")).unwrap();
    let err = signing_input(&ec, &ProofRequest::new(object_id()), T).unwrap_err();
    assert!(
        matches!(err, ProofError::Cert(CertError::NotRsa { .. })),
        "{err:?}"
    );
    let weak = Certificate::from_der(&f.read("rsa1024_cert.der")).unwrap();
    let err = signing_input(&weak, &ProofRequest::new(object_id()), T).unwrap_err();
    assert!(
        matches!(
            err,
            ProofError::Cert(CertError::RsaKeyTooSmall { bits: 1024 })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("2048"), "{err}");
}

#[test]
fn proof_debug_never_shows_the_token() {
    let token = mint(&identity(), &ProofRequest::new(object_id()), T).unwrap();
    let dbg = format!("{token:?}");
    let sig = token.as_str().rsplit('.').next().unwrap();
    assert!(!dbg.contains(token.as_str()) && !dbg.contains(sig), "{dbg}");
}

#[test]
fn openssl_verifies_every_minted_proof_whatever_the_key_source() {
    let f = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let sources: [(&str, Option<&str>); 6] = [
        ("bundle_pkcs8.pem", None),
        ("bundle_pkcs1.pem", None),
        ("aes_pw.pfx", Some(PASSWORD)),
        ("3des_pw.pfx", Some(PASSWORD)),
        ("legacy_nopw.pfx", None),
        ("plain.pfx", None),
    ];
    for (name, pw) in sources {
        let id = SigningIdentity::load(&f.read(name), pw).unwrap();
        for at in [T, OffsetDateTime::now_utc()] {
            let _case = case(format!("at={at:?}"));
            let token = mint(&id, &ProofRequest::new(Uuid::new_v4()).lifetime(300), at).unwrap();
            assert!(
                openssl_verifies(dir.path(), token.as_str(), &f.path("pub.pem")),
                "{name}"
            );
        }
    }
    // The oracle does say no: another key's public half, and a tampered payload.
    let token = mint(&identity(), &ProofRequest::new(object_id()), T).unwrap();
    let other_pub = dir.path().join("other_pub.pem");
    openssl_in(
        f.dir(),
        &[
            "pkey",
            "-in",
            "other_key.pem",
            "-pubout",
            "-out",
            other_pub.to_str().unwrap(),
        ],
    );
    assert!(!openssl_verifies(dir.path(), token.as_str(), &other_pub));
    let parts: Vec<&str> = token.as_str().split('.').collect();
    let forged_claims = b64::encode_url(
        br#"{"aud":"00000002-0000-0000-c000-000000000000","iss":"x","nbf":1,"exp":2,"iat":1}"#,
    );
    let tampered = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
    assert!(!openssl_verifies(dir.path(), &tampered, &f.path("pub.pem")));
}

#[test]
fn two_phase_with_an_openssl_signature_assembles_the_same_proof() {
    let f = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let cert = Certificate::from_der(&f.read("cert.der")).unwrap();
    let request = ProofRequest::new(object_id());
    let now = OffsetDateTime::now_utc();
    let input = signing_input(&cert, &request, now).unwrap();
    assert_eq!(input.split('.').count(), 2);

    let sign_with = |key: &str, data: &str| -> Vec<u8> {
        std::fs::write(dir.path().join("input.txt"), data).unwrap();
        openssl_in(
            dir.path(),
            &[
                "dgst",
                "-sha256",
                "-sign",
                f.path(key).to_str().unwrap(),
                "-out",
                "sig.bin",
                "input.txt",
            ],
        );
        std::fs::read(dir.path().join("sig.bin")).unwrap()
    };
    for key in ["key.pem", "key_rsa.pem"] {
        let _case = case(format!("key={key:?}"));
        let signature = sign_with(key, &input);
        let assembled = assemble(&input, &signature, &cert).unwrap();
        // Deterministic RS256: the same bytes as minting in one step.
        let minted = mint(&identity(), &request, now).unwrap();
        assert_eq!(assembled.as_str(), minted.as_str());
        // Surrounding whitespace of a pasted signing input is ignored.
        let assembled = assemble(&format!("{input}\n"), &signature, &cert).unwrap();
        assert_eq!(assembled.as_str(), minted.as_str());
        let report = inspect(
            assembled.as_str(),
            &InspectOptions {
                certificates: std::slice::from_ref(&cert),
                expected_object_id: Some(object_id()),
                ..InspectOptions::new(now + time::Duration::seconds(1))
            },
        );
        assert!(report.accepted(), "{:?}", report.findings);
    }
}

#[test]
fn two_phase_refuses_a_wrong_signature_or_signing_input() {
    let f = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let cert = Certificate::from_der(&f.read("cert.der")).unwrap();
    let input = signing_input(&cert, &ProofRequest::new(object_id()), T).unwrap();
    let sign_with = |key: &str, data: &str, digest: &str| -> Vec<u8> {
        std::fs::write(dir.path().join("input.txt"), data).unwrap();
        openssl_in(
            dir.path(),
            &[
                "dgst",
                digest,
                "-sign",
                f.path(key).to_str().unwrap(),
                "-out",
                "sig.bin",
                "input.txt",
            ],
        );
        std::fs::read(dir.path().join("sig.bin")).unwrap()
    };
    let good = sign_with("key.pem", &input, "-sha256");
    let wrong = [
        ("another key", sign_with("other_key.pem", &input, "-sha256")),
        (
            "other bytes",
            sign_with("key.pem", &format!("{input}x"), "-sha256"),
        ),
        ("SHA-384", sign_with("key.pem", &input, "-sha384")),
        ("truncated", good[..good.len() - 1].to_vec()),
        ("empty", Vec::new()),
    ];
    for (what, signature) in wrong {
        let _case = case(format!("what={what:?} signature={signature:?}"));
        let err = assemble(&input, &signature, &cert).unwrap_err();
        assert!(
            matches!(err, ProofError::SignatureMismatch { .. }),
            "{what}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&cert.sha1_hex()) && text.contains("RS256"),
            "{text}"
        );
    }
    for bad_input in ["onlyonesegment", "a.b.c", ".b", ""] {
        let _case = case(format!("bad_input={bad_input:?}"));
        let err = assemble(bad_input, &good, &cert).unwrap_err();
        assert!(
            matches!(err, ProofError::MalformedSigningInput { .. }),
            "{bad_input:?}: {err:?}"
        );
        assert!(err.to_string().contains("header.payload"), "{err}");
    }
}
