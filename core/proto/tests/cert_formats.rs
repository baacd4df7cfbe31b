//! Certificates and keys in every form users bring, all made by the `openssl` command: what loads, what is
//! refused, and that every refusal names the problem and the fix without echoing a secret.

use keyroll_proto::cert::{
    self, CertError, Certificate, DerKind, KeyAlgorithm, MAX_INPUT_LEN, SigningIdentity, Validity,
    load_public_certificate,
};
use keyroll_testkit::case;
use keyroll_testkit::fixtures::{PASSWORD, fixtures};
use keyroll_testkit::secrets::{self, Secret};
use time::OffsetDateTime;

/// The SHA-1 thumbprint of a PEM certificate as openssl computes it (uppercase hex, no colons).
fn openssl_sha1(cert_pem: &str) -> String {
    let out = fixtures().openssl(&["x509", "-in", cert_pem, "-noout", "-fingerprint", "-sha1"]);
    let text = String::from_utf8(out.stdout).unwrap();
    text.trim().rsplit('=').next().unwrap().replace(':', "")
}

fn main_thumbprint() -> String {
    openssl_sha1("cert.pem")
}

/// Asserts that an error's Display and Debug carry neither the password nor any line of a private key.
#[track_caller]
fn assert_no_secret(err: &CertError) {
    secrets::assert_no_secret(
        &format!("{err} {err:?}"),
        &fixtures().secrets(),
        "CertError",
    );
}

#[track_caller]
fn assert_mentions(err: &CertError, words: &[&str]) {
    let text = err.to_string();
    for w in words {
        assert!(text.contains(w), "{text:?} should mention {w:?}");
    }
    assert_no_secret(err);
}

// ---------------------------------------------------------------------------------------------------------
// PFX

#[test]
fn pfx_every_encryption_with_and_without_password_loads_the_signing_identity() {
    let f = fixtures();
    let expected = main_thumbprint();
    for enc in ["aes", "3des", "legacy"] {
        let _case = case(format!("enc={enc:?}"));
        let with_pw = SigningIdentity::from_pfx(&f.read(&format!("{enc}_pw.pfx")), Some(PASSWORD))
            .unwrap_or_else(|e| panic!("{enc} with password: {e}"));
        assert_eq!(with_pw.certificate().sha1_hex(), expected, "{enc}");

        let bytes = f.read(&format!("{enc}_nopw.pfx"));
        for pw in [None, Some("")] {
            let _case = case(format!("pw={pw:?}"));
            let id = SigningIdentity::from_pfx(&bytes, pw)
                .unwrap_or_else(|e| panic!("{enc} without password ({pw:?}): {e}"));
            assert_eq!(id.certificate().sha1_hex(), expected, "{enc}");
        }
        // load() tells a PFX by its content.
        let id = SigningIdentity::load(&f.read(&format!("{enc}_pw.pfx")), Some(PASSWORD)).unwrap();
        assert_eq!(id.certificate().sha1_hex(), expected);
    }
    let plain = SigningIdentity::from_pfx(&f.read("plain.pfx"), None).unwrap();
    assert_eq!(plain.certificate().sha1_hex(), expected);
}

#[test]
fn pfx_loaded_from_file_path() {
    let f = fixtures();
    let id = SigningIdentity::load_file(&f.path("aes_pw.pfx"), None, Some(PASSWORD)).unwrap();
    assert_eq!(id.certificate().sha1_hex(), main_thumbprint());
    let missing =
        SigningIdentity::load_file(&f.path("does-not-exist.pfx"), None, None).unwrap_err();
    assert!(matches!(missing, CertError::Io { .. }), "{missing:?}");
    assert_mentions(&missing, &["does-not-exist.pfx"]);
}

#[test]
fn pfx_needing_a_password_without_one_says_to_supply_it() {
    let f = fixtures();
    for enc in ["aes", "3des", "legacy"] {
        let _case = case(format!("enc={enc:?}"));
        let bytes = f.read(&format!("{enc}_pw.pfx"));
        for pw in [None, Some("")] {
            let _case = case(format!("pw={pw:?}"));
            let err = SigningIdentity::from_pfx(&bytes, pw).unwrap_err();
            assert!(
                matches!(err, CertError::PfxPasswordRequired),
                "{enc}: {err:?}"
            );
            assert_mentions(&err, &["password"]);
            // Core names the concept; each face spells its own option (the CLI test checks its flag).
            assert!(!err.to_string().contains("--"), "{err}");
            let err = load_public_certificate(&bytes, pw).unwrap_err();
            assert!(
                matches!(err, CertError::PfxPasswordRequired),
                "{enc}: {err:?}"
            );
        }
    }
}

#[test]
fn pfx_wrong_password_is_named_as_such() {
    let f = fixtures();
    for enc in ["aes", "3des", "legacy"] {
        let _case = case(format!("enc={enc:?}"));
        let bytes = f.read(&format!("{enc}_pw.pfx"));
        let err = SigningIdentity::from_pfx(&bytes, Some("not-the-password")).unwrap_err();
        assert!(matches!(err, CertError::PfxWrongPassword), "{enc}: {err:?}");
        assert_mentions(&err, &["password is wrong", "check the password"]);
        secrets::assert_no_secret(
            &err.to_string(),
            &[Secret::text("the wrong password", "not-the-password")],
            enc,
        );
        let err = load_public_certificate(&bytes, Some("not-the-password")).unwrap_err();
        assert!(matches!(err, CertError::PfxWrongPassword), "{enc}: {err:?}");
    }
    // A password given for a file that has none is just as wrong.
    let err = SigningIdentity::from_pfx(&f.read("aes_nopw.pfx"), Some(PASSWORD)).unwrap_err();
    assert!(matches!(err, CertError::PfxWrongPassword), "{err:?}");
}

#[test]
fn truncated_pfx_is_reported_as_corrupt_with_the_fix() {
    let f = fixtures();
    for name in ["aes_pw.pfx", "3des_pw.pfx", "legacy_pw.pfx"] {
        let _case = case(format!("name={name:?}"));
        let bytes = f.read(name);
        for cut in [bytes.len() / 2, bytes.len() - 1, 40] {
            let _case = case(format!("cut={cut:?}"));
            let truncated = &bytes[..cut];
            let err = SigningIdentity::from_pfx(truncated, Some(PASSWORD)).unwrap_err();
            assert!(
                matches!(err, CertError::PfxCorrupt { .. }),
                "{name} cut at {cut}: {err:?}"
            );
            assert_mentions(&err, &["corrupt or truncated", "export it again"]);
            // Autodetection must still see a (broken) PFX, not "unrecognised format".
            let err = SigningIdentity::load(truncated, Some(PASSWORD)).unwrap_err();
            assert!(
                matches!(err, CertError::PfxCorrupt { .. }),
                "{name} cut at {cut}: {err:?}"
            );
            let err = load_public_certificate(truncated, Some(PASSWORD)).unwrap_err();
            assert!(
                matches!(err, CertError::PfxCorrupt { .. }),
                "{name} cut at {cut}: {err:?}"
            );
        }
    }
}

#[test]
fn corrupt_pfx_is_refused_with_a_clear_error_and_no_panic() {
    let f = fixtures();
    let bytes = f.read("aes_pw.pfx");
    // Damage inside the archive: the structure breaks, or the integrity check fails. Either way the error
    // says what to do, and nothing panics.
    for (i, pos) in [20usize, bytes.len() / 3, bytes.len() / 2, bytes.len() - 10]
        .into_iter()
        .enumerate()
    {
        let _case = case(format!("i={i:?} pos={pos:?}"));
        let mut damaged = bytes.clone();
        damaged[pos] ^= 0x5a;
        damaged[pos + 1] ^= 0xa5;
        let err = SigningIdentity::from_pfx(&damaged, Some(PASSWORD)).unwrap_err();
        match &err {
            CertError::PfxCorrupt { .. } => assert_mentions(&err, &["export it again"]),
            CertError::PfxWrongPassword => assert_mentions(&err, &["check the password"]),
            CertError::UnrecognizedFormat { .. } => assert_mentions(&err, &["expected a PFX"]),
            other => panic!("damage #{i} at {pos}: unexpected {other:?}"),
        }
    }
    // Structural damage that the parser itself sees.
    let mut zeroed = bytes.clone();
    let mid = bytes.len() / 2;
    zeroed[20..mid].fill(0);
    let err = SigningIdentity::from_pfx(&zeroed, Some(PASSWORD)).unwrap_err();
    assert!(matches!(err, CertError::PfxCorrupt { .. }), "{err:?}");
    assert_mentions(&err, &["corrupt", "export it again"]);
}

#[test]
fn certificate_only_pfx_gives_its_certificate_but_cannot_sign() {
    let f = fixtures();
    let bytes = f.read("certonly.pfx");
    let public = load_public_certificate(&bytes, Some(PASSWORD)).unwrap();
    assert_eq!(public.certificate.sha1_hex(), main_thumbprint());
    assert!(
        public.notice.is_none(),
        "no key, nothing to warn about: {:?}",
        public.notice
    );
    let err = SigningIdentity::from_pfx(&bytes, Some(PASSWORD)).unwrap_err();
    assert!(matches!(err, CertError::PfxNoPrivateKey), "{err:?}");
    assert_mentions(&err, &["no private key", "exported *with* its private key"]);
}

// ---------------------------------------------------------------------------------------------------------
// PEM and DER

#[test]
fn pem_certificate_with_pkcs8_or_pkcs1_key_in_one_file_in_either_order() {
    let f = fixtures();
    let expected = main_thumbprint();
    for name in [
        "bundle_pkcs8.pem",
        "bundle_pkcs1.pem",
        "bundle_key_first.pem",
    ] {
        let bytes = f.read(name);
        let id = SigningIdentity::from_pem(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(id.certificate().sha1_hex(), expected, "{name}");
        let id = SigningIdentity::load(&bytes, None).unwrap();
        assert_eq!(id.certificate().sha1_hex(), expected, "{name}");
    }
}

#[test]
fn pem_or_der_certificate_with_a_separate_key_in_any_encoding() {
    let f = fixtures();
    let expected = main_thumbprint();
    for cert in ["cert.pem", "cert.der"] {
        let _case = case(format!("cert={cert:?}"));
        for key in ["key.pem", "key_rsa.pem", "key.der", "key_rsa.der"] {
            let _case = case(format!("key={key:?}"));
            let id = SigningIdentity::from_pem_pair(&f.read(cert), &f.read(key))
                .unwrap_or_else(|e| panic!("{cert} + {key}: {e}"));
            assert_eq!(id.certificate().sha1_hex(), expected);
            let id = SigningIdentity::load_file(&f.path(cert), Some(&f.path(key)), None).unwrap();
            assert_eq!(id.certificate().sha1_hex(), expected);
        }
    }
}

#[test]
fn key_of_another_certificate_is_refused_naming_the_certificate() {
    let f = fixtures();
    let err =
        SigningIdentity::from_pem_pair(&f.read("cert.pem"), &f.read("other_key.pem")).unwrap_err();
    assert!(
        matches!(err, CertError::KeyDoesNotMatchCertificate { .. }),
        "{err:?}"
    );
    assert_mentions(
        &err,
        &[&main_thumbprint(), "does not belong", "its own key"],
    );
    assert_no_secret(&err);
}

#[test]
fn encrypted_pem_key_asks_to_decrypt_it() {
    let f = fixtures();
    for key in ["key_enc.pem", "key_enc.der"] {
        let _case = case(format!("key={key:?}"));
        let err = SigningIdentity::from_pem_pair(&f.read("cert.pem"), &f.read(key)).unwrap_err();
        assert!(matches!(err, CertError::PemEncryptedKey), "{key}: {err:?}");
        assert_mentions(&err, &["encrypted", "openssl pkey"]);
    }
    let err = SigningIdentity::from_pem(&f.read("bundle_enc.pem")).unwrap_err();
    assert!(matches!(err, CertError::PemEncryptedKey), "{err:?}");
}

#[test]
fn certificate_without_key_cannot_sign_and_says_to_give_the_key() {
    let f = fixtures();
    for name in ["cert.pem", "cert.der"] {
        let _case = case(format!("name={name:?}"));
        let err = SigningIdentity::load(&f.read(name), None).unwrap_err();
        assert!(matches!(err, CertError::PemNoPrivateKey), "{name}: {err:?}");
        assert_mentions(&err, &["no private key", "key file"]);
        assert!(!err.to_string().contains("--"), "{err}");
    }
}

#[test]
fn public_certificate_from_der_pem_and_base64_text() {
    let f = fixtures();
    let expected = main_thumbprint();
    for name in [
        "cert.der",
        "cert.pem",
        "cert.b64",
        "cert_lines.b64",
        "cert_url.b64",
    ] {
        let _case = case(format!("name={name:?}"));
        let public =
            load_public_certificate(&f.read(name), None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(public.certificate.sha1_hex(), expected, "{name}");
        assert!(public.notice.is_none(), "{name}: {:?}", public.notice);
        assert_eq!(public.certificate.der(), f.read("cert.der").as_slice());
    }
}

#[test]
fn certificate_properties_match_openssl() {
    let f = fixtures();
    let cert = Certificate::from_der(&f.read("cert.der")).unwrap();
    assert_eq!(cert.sha1_hex(), main_thumbprint());
    assert!(
        cert.sha1_hex()
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    );
    assert_eq!(cert.sha1_hex().len(), 40);
    let out = f.openssl(&[
        "x509",
        "-in",
        "cert.pem",
        "-noout",
        "-fingerprint",
        "-sha256",
    ]);
    let sha256 = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "");
    assert_eq!(cert.sha256_hex(), sha256);
    assert_eq!(
        cert.x5t(),
        keyroll_proto::b64::encode_url(&hex::decode(main_thumbprint()).unwrap())
    );
    assert!(!cert.x5t().contains('='));
    assert_eq!(cert.key_algorithm(), &KeyAlgorithm::Rsa { bits: 2048 });
    assert!(cert.subject().contains("keyroll test"));
    assert!(cert.check_signing_key().is_ok());
    let now = OffsetDateTime::now_utc();
    assert_eq!(cert.validity_at(now), Validity::Valid);
    assert!(cert.matches_thumbprint(&main_thumbprint().to_lowercase()));
    // The public key is what openssl extracts from the private key.
    let id = SigningIdentity::from_pem(&f.read("bundle_pkcs8.pem")).unwrap();
    assert_eq!(id.certificate(), &cert);
    // Debug never shows the key.
    let dbg = format!("{id:?}");
    assert!(dbg.contains("redacted"));
    assert_no_secret_text(&dbg);
}

#[track_caller]
fn assert_no_secret_text(text: &str) {
    secrets::assert_no_secret(text, &fixtures().secrets(), "Debug of an identity");
}

// ---------------------------------------------------------------------------------------------------------
// The private-key guard

#[test]
fn guard_takes_only_the_certificate_from_a_bundle_with_a_notice() {
    let f = fixtures();
    let expected = main_thumbprint();
    let cases: [(&str, Option<&str>); 8] = [
        ("aes_pw.pfx", Some(PASSWORD)),
        ("aes_nopw.pfx", None),
        ("3des_pw.pfx", Some(PASSWORD)),
        ("legacy_pw.pfx", Some(PASSWORD)),
        ("plain.pfx", None),
        ("bundle_pkcs8.pem", None),
        ("bundle_pkcs1.pem", None),
        ("bundle_key_first.pem", None),
    ];
    for (name, pw) in cases {
        let _case = case(format!("name={name:?} pw={pw:?}"));
        let public =
            load_public_certificate(&f.read(name), pw).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(public.certificate.sha1_hex(), expected, "{name}");
        assert_eq!(
            public.certificate.der(),
            f.read("cert.der").as_slice(),
            "{name}: only the certificate"
        );
        let notice = public.notice.unwrap_or_else(|| panic!("{name}: no notice"));
        assert!(
            notice.contains("private key") && notice.contains("not uploaded"),
            "{name}: {notice}"
        );
        assert!(notice.contains(&expected), "{name}: {notice}");
        assert_no_secret_text(&notice);
    }
}

#[test]
fn guard_refuses_raw_private_key_material_where_a_certificate_belongs() {
    let f = fixtures();
    let cases = [
        ("key.der", "PKCS#8"),
        ("key_rsa.der", "PKCS#1"),
        ("key.pem", "PEM private key"),
        ("key_rsa.pem", "PEM private key"),
        ("key_enc.pem", "PEM private key"),
        ("key_enc.der", "encrypted PKCS#8"),
        ("ec_key.der", "EC private key"),
        ("ec_key.pem", "PEM private key"),
        ("ec_key_pkcs8.der", "PKCS#8"),
    ];
    for (name, what) in cases {
        let _case = case(format!("name={name:?} what={what:?}"));
        let bytes = f.read(name);
        let err = load_public_certificate(&bytes, None).unwrap_err();
        assert!(
            matches!(err, CertError::PrivateKeyNotCertificate { .. }),
            "{name}: {err:?}"
        );
        assert_mentions(
            &err,
            &[what, "public certificate only", "Give the certificate"],
        );
        // The same key pasted as base64 text is refused too, not mistaken for garbage.
        if !name.ends_with(".pem") {
            let text = keyroll_proto::b64::encode_std(&bytes);
            let err = load_public_certificate(text.as_bytes(), None).unwrap_err();
            assert!(
                matches!(err, CertError::PrivateKeyNotCertificate { .. }),
                "{name} as base64: {err:?}"
            );
        }
        assert!(matches!(
            cert::classify_der(&bytes),
            DerKind::PrivateKey(_) | DerKind::Other
        ));
    }
}

// ---------------------------------------------------------------------------------------------------------
// Keys that cannot sign, and dates

#[test]
fn ec_keys_are_read_as_certificates_but_refused_for_signing() {
    let f = fixtures();
    let cert = Certificate::from_der(&f.read("ec_cert.der")).unwrap();
    assert!(
        matches!(cert.key_algorithm(), KeyAlgorithm::Ec { bits: 256 }),
        "{:?}",
        cert.key_algorithm()
    );
    let err = cert.check_signing_key().unwrap_err();
    assert!(matches!(err, CertError::NotRsa { .. }), "{err:?}");
    assert_mentions(&err, &["not RSA", "RSA key of at least 2048 bits"]);

    for (name, pw) in [("ec.pfx", Some(PASSWORD)), ("ec_bundle.pem", None)] {
        let _case = case(format!("name={name:?} pw={pw:?}"));
        let err = SigningIdentity::load(&f.read(name), pw).unwrap_err();
        assert!(matches!(err, CertError::NotRsa { .. }), "{name}: {err:?}");
        assert_mentions(&err, &["EC", "not RSA"]);
        // As a new credential: only the certificate, with the notice.
        let public = load_public_certificate(&f.read(name), pw).unwrap();
        assert_eq!(public.certificate, cert);
        assert!(public.notice.is_some());
    }
    let err =
        SigningIdentity::from_pem_pair(&f.read("cert.pem"), &f.read("ec_key.pem")).unwrap_err();
    assert!(matches!(err, CertError::NotRsa { .. }), "{err:?}");
}

#[test]
fn rsa_1024_is_refused_for_signing_naming_the_size() {
    let f = fixtures();
    let cert = Certificate::from_der(&f.read("rsa1024_cert.der")).unwrap();
    assert_eq!(cert.key_algorithm(), &KeyAlgorithm::Rsa { bits: 1024 });
    for (name, pw) in [
        ("rsa1024.pfx", Some(PASSWORD)),
        ("rsa1024_bundle.pem", None),
    ] {
        let _case = case(format!("name={name:?} pw={pw:?}"));
        let err = SigningIdentity::load(&f.read(name), pw).unwrap_err();
        assert!(
            matches!(err, CertError::RsaKeyTooSmall { bits: 1024 }),
            "{name}: {err:?}"
        );
        assert_mentions(&err, &["1024 bits", "2048"]);
    }
}

#[test]
fn expired_and_not_yet_valid_certificates_report_their_validity() {
    let f = fixtures();
    let now = OffsetDateTime::now_utc();
    let expired = Certificate::from_der(&f.read("expired_cert.der")).unwrap();
    assert_eq!(expired.validity_at(now), Validity::Expired);
    assert!(!expired.is_valid_at(now));
    let notyet = Certificate::from_der(&f.read("notyet_cert.der")).unwrap();
    assert_eq!(notyet.validity_at(now), Validity::NotYetValid);
    // They still load (a user may need to inspect them), with the key they were made for.
    let id = SigningIdentity::from_pem(&f.read("expired_bundle.pem")).unwrap();
    assert_eq!(id.certificate(), &expired);
    assert_eq!(expired.validity_at(expired.not_after()), Validity::Valid);
    assert_eq!(expired.validity_at(expired.not_before()), Validity::Valid);
}

// ---------------------------------------------------------------------------------------------------------
// Garbage

#[test]
fn garbage_empty_and_huge_inputs_get_clear_errors_and_never_panic() {
    let err = load_public_certificate(b"", None).unwrap_err();
    assert!(matches!(err, CertError::Empty), "{err:?}");
    let err = load_public_certificate(b"  \n\t ", None).unwrap_err();
    assert!(matches!(err, CertError::Empty), "{err:?}");
    assert!(matches!(
        SigningIdentity::load(b"", None).unwrap_err(),
        CertError::Empty
    ));

    let huge = vec![b'A'; MAX_INPUT_LEN + 1];
    let err = load_public_certificate(&huge, None).unwrap_err();
    assert!(matches!(err, CertError::TooLarge { .. }), "{err:?}");
    assert_mentions(&err, &["right file"]);
    assert!(matches!(
        SigningIdentity::load(&huge, None).unwrap_err(),
        CertError::TooLarge { .. }
    ));

    let err = load_public_certificate(b"hello, this is not a certificate!", None).unwrap_err();
    assert!(
        matches!(err, CertError::UnrecognizedFormat { .. }),
        "{err:?}"
    );
    assert_mentions(&err, &["PFX", "PEM", "DER", "base64"]);
    let err = SigningIdentity::load(b"\x00\x01\x02garbage", None).unwrap_err();
    assert!(
        matches!(err, CertError::UnrecognizedFormat { .. }),
        "{err:?}"
    );
    assert_mentions(&err, &["PFX with its private key"]);

    let err = load_public_certificate(
        b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        None,
    )
    .unwrap_err();
    assert!(matches!(err, CertError::PemInvalid { .. }), "{err:?}");
    let err = load_public_certificate(
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        None,
    )
    .unwrap_err();
    assert!(matches!(err, CertError::NoCertificate { .. }), "{err:?}");

    let f = fixtures();
    let der = f.read("cert.der");
    let err = Certificate::from_der(&der[..der.len() - 5]).unwrap_err();
    assert!(
        matches!(err, CertError::InvalidCertificate { .. }),
        "{err:?}"
    );
    let mut trailing = der.clone();
    trailing.extend_from_slice(b"xyz");
    let err = Certificate::from_der(&trailing).unwrap_err();
    assert!(
        matches!(err, CertError::InvalidCertificate { .. }),
        "{err:?}"
    );
    assert_mentions(&err, &["3 unexpected bytes"]);

    // Every prefix of every fixture: errors, never a panic.
    for name in [
        "aes_pw.pfx",
        "legacy_pw.pfx",
        "cert.der",
        "bundle_pkcs1.pem",
        "key.der",
    ] {
        let bytes = f.read(name);
        for cut in (0..bytes.len()).step_by(97) {
            let _ = load_public_certificate(&bytes[..cut], Some(PASSWORD));
            let _ = SigningIdentity::load(&bytes[..cut], Some(PASSWORD));
        }
    }
}

#[test]
fn rsa_public_numbers_name_the_certificates_key_and_no_other() {
    let now = time::OffsetDateTime::now_utc();
    let a = keyroll_proto::cert::generate::self_signed_rsa("CN=a", now, 30, 2048)
        .unwrap()
        .identity()
        .unwrap();
    let b = keyroll_proto::cert::generate::self_signed_rsa("CN=b", now, 30, 2048)
        .unwrap()
        .identity()
        .unwrap();
    let (n, e) = a.certificate().rsa_public_numbers().unwrap();
    assert_eq!(n.len(), 256, "2048-bit modulus, no sign byte");
    assert_eq!(e, vec![1, 0, 1]);
    assert!(a.certificate().has_rsa_key(&n, &e));
    let mut padded = vec![0u8];
    padded.extend_from_slice(&n);
    assert!(a.certificate().has_rsa_key(&padded, &e), "leading zeros");
    assert!(!b.certificate().has_rsa_key(&n, &e), "another key");
    assert!(!a.certificate().has_rsa_key(&n, &[3]), "another exponent");
    assert!(!a.certificate().has_rsa_key(&[], &e));
}

/// A PFX exported by .NET (`X509Certificate2.Export`), kept as a file because only .NET writes it so: the
/// certificate C995AD8CEEF4E5035343275B52F2677205AA89A2 (a throwaway test key), 3DES and a SHA-1 MAC.
fn dotnet_pfx(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .expect("fixture")
}

const DOTNET_THUMBPRINT: &str = "C995AD8CEEF4E5035343275B52F2677205AA89A2";

#[test]
fn pfx_exported_by_dotnet_with_no_password_loads() {
    // `$cert.Export('Pfx')`: the MAC and the encryption use the empty byte string (PKCS#12's "null" password),
    // not the NUL-terminated empty password; both "no password" and "" open it.
    let bytes = dotnet_pfx("dotnet-no-password.pfx");
    for pw in [None, Some("")] {
        let _case = case(format!("pw={pw:?}"));
        let id = SigningIdentity::from_pfx(&bytes, pw).expect("a PFX with no password");
        assert_eq!(id.certificate().sha1_hex(), DOTNET_THUMBPRINT);
    }
    // A password given where there is none is a wrong password, as before.
    let err = SigningIdentity::from_pfx(&bytes, Some("not-the-password")).unwrap_err();
    assert!(matches!(err, CertError::PfxWrongPassword), "{err:?}");
}

#[test]
fn pfx_password_outside_the_basic_multilingual_plane_works() {
    // "p😀w": the emoji is a surrogate pair in UTF-16, which is how OpenSSL 3 encodes it (RFC 7292 B.1 over
    // UTF-16); the reader before this took only BMP characters and called the file corrupt.
    let password = "p\u{1F600}w";
    let f = fixtures();
    let out = f.openssl(&[
        "pkcs12",
        "-export",
        "-in",
        "cert.pem",
        "-inkey",
        "key.pem",
        "-passout",
        &format!("pass:{password}"),
        "-out",
        "emoji.pfx",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    {
        let id = SigningIdentity::from_pfx(&f.read("emoji.pfx"), Some(password))
            .expect("openssl's emoji PFX");
        assert_eq!(id.certificate().sha1_hex(), main_thumbprint());
    }
}

#[test]
fn pfx_given_as_a_key_credential_says_to_give_the_public_certificate() {
    let f = fixtures();
    let with_password = f.read("aes_pw.pfx");
    let without = dotnet_pfx("dotnet-no-password.pfx");
    let base64 = keyroll_proto::b64::encode_std(&with_password);
    for (name, bytes) in [
        ("pfx with a password", with_password.clone()),
        ("pfx without", without),
        ("base64 pfx", base64.into_bytes()),
    ] {
        let _case = case(name);
        let err = cert::load_key_credential_certificate(&bytes).unwrap_err();
        assert!(matches!(err, CertError::PfxNotPublicCertificate), "{err:?}");
        assert_mentions(&err, &["PFX", "public certificate"]);
    }
    // The public certificate itself still loads.
    let der = f.read("cert.der");
    assert!(cert::load_key_credential_certificate(&der).is_ok());
}

#[test]
fn pfx_exported_by_dotnet_with_a_surrogate_pair_cut_by_the_key_derivation_loads() {
    // .NET builds the last, cut-short copy of the password in PKCS#12's key derivation as a string of its own, so
    // a surrogate pair split by the cut leaves U+FFFD in place of its high half (vendor/README.md). For "p😀w"
    // (ten bytes a copy) the 64-byte string ends after "p" and the high surrogate: OpenSSL cannot open this file,
    // .NET and Windows can, and so must we.
    let bytes = dotnet_pfx("dotnet-emoji-password.pfx");
    let id = SigningIdentity::from_pfx(&bytes, Some("p\u{1F600}w")).expect("the .NET emoji PFX");
    assert_eq!(id.certificate().sha1_hex(), DOTNET_EMOJI_THUMBPRINT);
    let err = SigningIdentity::from_pfx(&bytes, Some("p\u{1F600}x")).unwrap_err();
    assert!(matches!(err, CertError::PfxWrongPassword), "{err:?}");
}
const DOTNET_EMOJI_THUMBPRINT: &str = "9867A58C2FBAE99A9EE8AC7618E8065047093C16";
