//! The `keyroll` binary from the outside: help everywhere, `cert inspect` on every format, passwords only
//! through `--password-env`, `proof mint` printing the token alone, `proof inspect` exit codes and stdin, and
//! every bad input answered with exit 2, a clear message, and no secret anywhere in the output.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use keyroll_testkit::case;
use keyroll_testkit::fixtures::{PASSWORD, fixtures};
use keyroll_testkit::secrets::{self, Secret};
use serde_json::Value;

const OBJECT_ID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const APP_ID: &str = "0b8f1c2e-7a9d-4e55-9c1a-2f3e4d5c6b7a";
const PW_VAR: &str = "KEYROLL_TEST_PFX_PASSWORD";

fn keyroll_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyroll"));
    cmd.args(args)
        .current_dir(fixtures().dir())
        .env_remove(PW_VAR)
        .stdin(Stdio::null());
    cmd
}

fn keyroll(args: &[&str]) -> Output {
    keyroll_cmd(args).output().expect("run keyroll")
}

fn keyroll_env(args: &[&str], var: &str, value: &str) -> Output {
    keyroll_cmd(args)
        .env(var, value)
        .output()
        .expect("run keyroll")
}

fn keyroll_stdin(args: &[&str], input: &str) -> Output {
    let mut child = keyroll_cmd(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // keyroll reads a bounded amount of standard input; on oversized input it may stop reading early.
    if let Err(e) = child.stdin.take().unwrap().write_all(input.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Neither stream may carry the password, a line of any private key, or `token` (when given).
#[track_caller]
fn assert_no_secret(o: &Output, token: Option<&str>) {
    let mut all = fixtures().secrets();
    all.extend(token.map(|t| Secret::text("the full token", t)));
    secrets::assert_no_secret(
        &format!("{}{}", stdout(o), stderr(o)),
        &all,
        "keyroll's stdout and stderr",
    );
}

/// Exit 2, the words in stderr, nothing on stdout, no secret.
#[track_caller]
fn assert_input_error(o: &Output, words: &[&str]) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout: {} stderr: {err}",
        stdout(o)
    );
    for w in words {
        assert!(err.contains(w), "stderr {err:?} should mention {w:?}");
    }
    assert!(stdout(o).is_empty(), "stdout: {}", stdout(o));
    assert!(!err.contains("panicked"), "{err}");
    assert_no_secret(o, None);
}

fn openssl_sha1(cert_pem: &str) -> String {
    let out = fixtures().openssl(&["x509", "-in", cert_pem, "-noout", "-fingerprint", "-sha1"]);
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
}

fn mint(args: &[&str]) -> String {
    let mut all = vec!["proof", "mint", "--object-id", OBJECT_ID];
    all.extend_from_slice(args);
    let o = keyroll(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).trim_end().to_string()
}

// ---------------------------------------------------------------------------------------------------------

#[test]
fn help_everywhere() {
    let commands: [&[&str]; 8] = [
        &[],
        &["cert"],
        &["cert", "inspect"],
        &["cert", "new"],
        &["proof"],
        &["proof", "mint"],
        &["proof", "inspect"],
        &["demo"],
    ];
    for cmd in commands {
        let mut args = cmd.to_vec();
        args.push("--help");
        let o = keyroll(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(out.contains("Usage: keyroll"), "{args:?}: {out}");
    }
    let top = stdout(&keyroll(&["--help"]));
    assert!(
        top.contains("Exit codes") && top.contains("2  bad arguments"),
        "{top}"
    );
    let mint_help = stdout(&keyroll(&["proof", "mint", "--help"]));
    assert!(
        mint_help.contains("--cert-password-env") && mint_help.contains("not the appId"),
        "{mint_help}"
    );
    let v = keyroll(&["--version"]);
    assert!(v.status.success() && stdout(&v).starts_with("keyroll "));
    // No arguments or an unknown command: a usage error, exit 2.
    assert_eq!(keyroll(&[]).status.code(), Some(2));
    assert_eq!(keyroll(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn cert_inspect_every_format() {
    let thumb = openssl_sha1("cert.pem");
    let cases: [(&str, bool, &str); 12] = [
        ("cert.der", false, "absent"),
        ("cert.pem", false, "absent"),
        ("cert.b64", false, "absent"),
        ("cert_url.b64", false, "absent"),
        ("bundle_pkcs8.pem", false, "present"),
        ("bundle_pkcs1.pem", false, "present"),
        ("aes_pw.pfx", true, "present"),
        ("3des_pw.pfx", true, "present"),
        ("legacy_pw.pfx", true, "present"),
        ("aes_nopw.pfx", false, "present"),
        ("legacy_nopw.pfx", false, "present"),
        ("certonly.pfx", true, "absent"),
    ];
    for (name, needs_pw, private_key) in cases {
        let _case = case(format!(
            "name={name:?} needs_pw={needs_pw:?} private_key={private_key:?}"
        ));
        let mut args = vec!["cert", "inspect", name];
        if needs_pw {
            args.extend(["--password-env", PW_VAR]);
        }
        let text = keyroll_env(&args, PW_VAR, PASSWORD);
        assert!(text.status.success(), "{name}: {}", stderr(&text));
        let out = stdout(&text);
        assert!(out.contains(&thumb), "{name}: {out}");
        assert!(out.contains("RSA 2048"), "{name}: {out}");
        assert_no_secret(&text, None);

        args.push("--json");
        let json = keyroll_env(&args, PW_VAR, PASSWORD);
        assert!(json.status.success(), "{name}: {}", stderr(&json));
        let doc: Value =
            serde_json::from_slice(&json.stdout).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(doc["schemaVersion"], 1, "{name}");
        let v = &doc["certificate"];
        assert_eq!(v["thumbprintSha1"], thumb, "{name}");
        assert_eq!(v["x5t"].as_str().unwrap().len(), 27, "{name}");
        assert_eq!(v["status"], "valid", "{name}");
        assert_eq!(
            v["key"],
            serde_json::json!({"type":"rsa","bits":2048}),
            "{name}"
        );
        assert_eq!(v["privateKey"], private_key, "{name}");
        assert_eq!(v["canSignProofs"], private_key == "present", "{name}");
        if private_key == "present" {
            assert!(
                v["notice"].as_str().unwrap().contains("not uploaded"),
                "{name}: {v}"
            );
        }
        assert_no_secret(&json, None);
    }
}

#[test]
fn cert_inspect_reports_the_problems_of_unusable_certificates() {
    let cases = [
        ("expired_cert.pem", "expired", "expired at"),
        ("notyet_cert.pem", "not yet valid", "not valid until"),
        ("ec_cert.pem", "valid", "not RSA"),
        ("rsa1024_cert.pem", "valid", "1024 bits"),
    ];
    for (name, status, problem) in cases {
        let o = keyroll(&["cert", "inspect", name, "--json"]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
        let v = &doc["certificate"];
        assert_eq!(v["status"], status, "{name}");
        assert_eq!(v["canSignProofs"], false, "{name}");
        let problems = v["problems"].to_string();
        assert!(problems.contains(problem), "{name}: {problems}");
    }
    let o = keyroll(&["cert", "inspect", "rsa1024_bundle.pem"]);
    assert!(stdout(&o).contains("Signs proofs:   no"), "{}", stdout(&o));
    assert_no_secret(&o, None);
}

#[test]
fn passwords_come_only_from_a_named_environment_variable() {
    // Needed but not given (no terminal to ask on): exit 2, saying how to give it.
    let o = keyroll(&["cert", "inspect", "aes_pw.pfx"]);
    assert_input_error(
        &o,
        &["aes_pw.pfx", "protected by a password", "--password-env"],
    );
    // The variable named is not set.
    let o = keyroll(&[
        "cert",
        "inspect",
        "aes_pw.pfx",
        "--password-env",
        "KEYROLL_TEST_UNSET_VAR",
    ]);
    assert_input_error(&o, &["--password-env", "is not set"]);
    // The value given is never shown: it could be the password typed in the variable's place.
    assert!(
        !stderr(&o).contains("KEYROLL_TEST_UNSET_VAR"),
        "{}",
        stderr(&o)
    );
    // Wrong password, for each encryption; the wrong value is never echoed.
    for name in ["aes_pw.pfx", "3des_pw.pfx", "legacy_pw.pfx"] {
        let _case = case(format!("name={name:?}"));
        let o = keyroll_env(
            &["cert", "inspect", name, "--password-env", PW_VAR],
            PW_VAR,
            "wrong-Pa55-guess",
        );
        assert_input_error(&o, &[name, "password is wrong"]);
        secrets::assert_no_secret(
            &stderr(&o),
            &[Secret::text("the wrong password", "wrong-Pa55-guess")],
            name,
        );
    }
    // A password on the command line itself is not an option.
    let o = keyroll(&["cert", "inspect", "aes_pw.pfx", "--password", PASSWORD]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn bad_certificate_inputs_exit_2_with_a_clear_message() {
    let f = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let pfx = f.read("aes_pw.pfx");
    let truncated = dir.path().join("truncated.pfx");
    std::fs::write(&truncated, &pfx[..pfx.len() / 2]).unwrap();
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, b"this is not a certificate at all").unwrap();
    let empty = dir.path().join("empty.cer");
    std::fs::write(&empty, b"").unwrap();
    let huge = dir.path().join("huge.bin");
    std::fs::write(&huge, vec![b'A'; 2 * 1024 * 1024]).unwrap();

    let p = |path: &std::path::Path| path.to_str().unwrap().to_owned();
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            "key.pem".into(),
            vec!["refusing a PEM private key", "public certificate only"],
        ),
        ("key.der".into(), vec!["refusing a PKCS#8 private key"]),
        (
            "key_rsa.der".into(),
            vec!["refusing a PKCS#1 RSA private key"],
        ),
        ("ec_key.der".into(), vec!["refusing an EC private key"]),
        (
            "key_enc.der".into(),
            vec!["refusing an encrypted PKCS#8 private key"],
        ),
        (
            p(&truncated),
            vec!["corrupt or truncated", "export it again"],
        ),
        (p(&garbage), vec!["unrecognised certificate format"]),
        (p(&empty), vec!["empty"]),
        (p(&huge), vec!["right file"]),
        (
            "does-not-exist.cer".into(),
            vec!["cannot read", "does-not-exist.cer"],
        ),
    ];
    for (file, words) in cases {
        let o = keyroll_env(
            &["cert", "inspect", &file, "--password-env", PW_VAR],
            PW_VAR,
            PASSWORD,
        );
        assert_input_error(&o, &words);
    }
}

#[test]
fn proof_mint_prints_only_the_token() {
    let thumb = openssl_sha1("cert.pem");
    let token = mint(&["--cert", "bundle_pkcs8.pem"]);
    let o = keyroll(&[
        "proof",
        "mint",
        "--cert",
        "bundle_pkcs8.pem",
        "--object-id",
        OBJECT_ID,
    ]);
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert!(!token.contains('='));
    let header: Value =
        serde_json::from_slice(&keyroll_proto::b64::decode_jose_segment(parts[0]).unwrap())
            .unwrap();
    assert_eq!(header["kid"], thumb);
    assert_eq!(header["alg"], "RS256");
    let claims: Value =
        serde_json::from_slice(&keyroll_proto::b64::decode_jose_segment(parts[1]).unwrap())
            .unwrap();
    assert_eq!(claims["iss"], OBJECT_ID);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["nbf"].as_i64().unwrap(),
        600
    );

    // Every way of giving the key.
    let sources: [&[&str]; 5] = [
        &["--cert", "bundle_pkcs1.pem"],
        &["--cert", "cert.pem", "--key", "key_rsa.pem"],
        &["--cert", "cert.der", "--key", "key.der"],
        &["--cert", "aes_nopw.pfx"],
        &["--cert", "legacy_pw.pfx", "--cert-password-env", PW_VAR],
    ];
    for src in sources {
        let _case = case(format!("src={src:?}"));
        let mut args = vec![
            "proof",
            "mint",
            "--object-id",
            OBJECT_ID,
            "--lifetime",
            "120",
        ];
        args.extend_from_slice(src);
        let o = keyroll_env(&args, PW_VAR, PASSWORD);
        assert!(o.status.success(), "{src:?}: {}", stderr(&o));
        let t = stdout(&o);
        assert_eq!(t.trim_end().split('.').count(), 3, "{src:?}");
        assert_no_secret(&o, None);
    }
}

#[test]
fn proof_mint_refuses_bad_requests_with_exit_2() {
    let base = |extra: &[&str]| {
        let mut a = vec!["proof", "mint"];
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            base(&[
                "--cert",
                "bundle_pkcs8.pem",
                "--object-id",
                OBJECT_ID,
                "--lifetime",
                "601",
            ]),
            vec!["601 s", "maximum of 600"],
        ),
        (
            base(&[
                "--cert",
                "bundle_pkcs8.pem",
                "--object-id",
                OBJECT_ID,
                "--lifetime",
                "0",
            ]),
            vec!["not positive"],
        ),
        (
            base(&["--cert", "bundle_pkcs8.pem", "--object-id", "my-app"]),
            vec!["not an object id", "Object ID"],
        ),
        (
            base(&["--cert", "expired_bundle.pem", "--object-id", OBJECT_ID]),
            vec!["not valid now", "currently valid certificate"],
        ),
        (
            base(&["--cert", "ec_bundle.pem", "--object-id", OBJECT_ID]),
            vec!["not RSA"],
        ),
        (
            base(&["--cert", "rsa1024_bundle.pem", "--object-id", OBJECT_ID]),
            vec!["1024 bits", "2048"],
        ),
        (
            base(&["--cert", "cert.pem", "--object-id", OBJECT_ID]),
            vec!["no private key"],
        ),
        (
            base(&[
                "--cert",
                "cert.pem",
                "--key",
                "other_key.pem",
                "--object-id",
                OBJECT_ID,
            ]),
            vec!["does not belong"],
        ),
        (
            base(&[
                "--cert",
                "cert.pem",
                "--key",
                "key_enc.pem",
                "--object-id",
                OBJECT_ID,
            ]),
            vec!["encrypted"],
        ),
        (
            base(&["--cert", "aes_pw.pfx", "--object-id", OBJECT_ID]),
            vec!["protected by a password", "--cert-password-env"],
        ),
        (
            base(&[
                "--cert",
                "certonly.pfx",
                "--cert-password-env",
                PW_VAR,
                "--object-id",
                OBJECT_ID,
            ]),
            vec!["no private key"],
        ),
        (
            base(&[
                "--cert",
                "aes_pw.pfx",
                "--cert-password-env",
                "KEYROLL_TEST_UNSET_VAR",
                "--object-id",
                OBJECT_ID,
            ]),
            vec!["--cert-password-env", "is not set"],
        ),
    ];
    for (args, words) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = keyroll_env(&args, PW_VAR, PASSWORD);
        assert_input_error(&o, &words);
    }
}

#[test]
fn proof_inspect_exit_codes_json_and_stdin() {
    let token = mint(&["--cert", "bundle_pkcs8.pem"]);
    let inspect = |extra: &[&str]| {
        let mut a = vec!["proof", "inspect", &token, "--cert", "cert.pem"];
        a.extend_from_slice(extra);
        keyroll(&a)
    };
    // Accepted: exit 0.
    let o = inspect(&["--object-id", OBJECT_ID]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("would accept"));
    assert_no_secret(&o, Some(&token));
    let o = inspect(&["--object-id", OBJECT_ID, "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let v = &doc["inspection"];
    assert_eq!(v["accepted"], true);
    assert_eq!(v["findings"], serde_json::json!([]));
    assert_eq!(v["signer"], 0);
    assert_eq!(v["claims"]["iss"], OBJECT_ID);
    assert_no_secret(&o, Some(&token));

    // Rejected: exit 1, with the finding code.
    let codes = |o: &Output| -> Vec<String> {
        let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
        let v = &doc["inspection"];
        assert_eq!(v["accepted"], false);
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "error")
            .map(|f| f["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let o = inspect(&["--object-id", APP_ID, "--json"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(codes(&o), ["issuer_mismatch"]);
    let o = inspect(&[
        "--object-id",
        "11111111-2222-3333-4444-555555555555",
        "--app-id",
        OBJECT_ID,
        "--json",
    ]);
    assert_eq!(codes(&o), ["issuer_is_app_id"]);
    // Judged twenty minutes later, the proof has expired (its certificate has not).
    let later = keyroll_proto::credential::serde_date::format(
        time::OffsetDateTime::now_utc() + time::Duration::minutes(20),
    );
    let o = inspect(&["--at", &later, "--json"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(codes(&o), ["expired"]);
    let o = keyroll(&[
        "proof",
        "inspect",
        &token,
        "--cert",
        "other_cert.pem",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let c = codes(&o);
    assert!(c.contains(&"signature".to_string()), "{c:?}");
    let o = keyroll(&["proof", "inspect", &format!("{token}=")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("[padding]") && stdout(&o).contains("would reject"),
        "{}",
        stdout(&o)
    );
    assert_no_secret(&o, Some(&token));

    // Standard input, with the trailing newline of `echo`.
    let o = keyroll_stdin(
        &[
            "proof",
            "inspect",
            "-",
            "--cert",
            "cert.pem",
            "--object-id",
            OBJECT_ID,
        ],
        &format!("{token}\n"),
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_no_secret(&o, Some(&token));
    let o = keyroll_stdin(&["proof", "inspect", "-", "--json"], "garbage");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(codes(&o), ["malformed"]);
    let huge = "A".repeat(100_000);
    let o = keyroll_stdin(&["proof", "inspect", "-", "--json"], &huge);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(codes(&o), ["malformed"]);
    assert!(
        stdout(&o).len() < 4096,
        "the report does not echo the input"
    );
}

#[test]
fn proof_inspect_bad_arguments_exit_2() {
    let token = mint(&["--cert", "bundle_pkcs8.pem"]);
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["--object-id", "not-a-guid"],
            &["--object-id", "not a GUID"],
        ),
        (&["--app-id", "x"], &["--app-id", "not a GUID"]),
        (&["--at", "yesterday"], &["--at", "ISO 8601"]),
        (&["--cert", "key.pem"], &["refusing a PEM private key"]),
    ];
    for (extra, words) in cases {
        let _case = case(format!("extra={extra:?} words={words:?}"));
        let mut args = vec!["proof", "inspect", &token];
        args.extend_from_slice(extra);
        let o = keyroll(&args);
        assert_input_error(&o, words);
        assert_no_secret(&o, Some(&token));
    }
}

#[test]
fn cert_new_writes_usable_files() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("new.pem");
    let cer = dir.path().join("new.cer");
    let o = keyroll(&[
        "cert",
        "new",
        "--out",
        pem.to_str().unwrap(),
        "--public-out",
        cer.to_str().unwrap(),
        "--subject",
        "cli test",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&pem).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let v: Value = serde_json::from_slice(
        &keyroll(&["cert", "inspect", cer.to_str().unwrap(), "--json"]).stdout,
    )
    .unwrap();
    let v = &v["certificate"];
    assert_eq!(v["privateKey"], "absent");
    assert!(v["subject"].as_str().unwrap().contains("cli test"));
    let o = keyroll(&[
        "proof",
        "mint",
        "--cert",
        pem.to_str().unwrap(),
        "--object-id",
        OBJECT_ID,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));

    let pfx = dir.path().join("new.pfx");
    let o = keyroll_env(
        &[
            "cert",
            "new",
            "--out",
            pfx.to_str().unwrap(),
            "--format",
            "pfx",
            "--password-env",
            PW_VAR,
        ],
        PW_VAR,
        PASSWORD,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_no_secret(&o, None);
    let o = keyroll_env(
        &[
            "cert",
            "inspect",
            pfx.to_str().unwrap(),
            "--password-env",
            PW_VAR,
            "--json",
        ],
        PW_VAR,
        PASSWORD,
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["certificate"]["canSignProofs"], true, "{v}");
    // openssl reads it too.
    let out = Command::new("openssl")
        .args([
            "pkcs12",
            "-in",
            pfx.to_str().unwrap(),
            "-nokeys",
            "-passin",
            &format!("env:{PW_VAR}"),
        ])
        .env(PW_VAR, PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let o = keyroll(&[
        "cert",
        "new",
        "--out",
        dir.path().join("x.pfx").to_str().unwrap(),
        "--format",
        "pfx",
    ]);
    assert_input_error(&o, &["--password-env"]);
    let o = keyroll(&[
        "cert",
        "new",
        "--out",
        dir.path().join("x.pem").to_str().unwrap(),
        "--bits",
        "1024",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("use 2048, 3072 or 4096"),
        "{}",
        stderr(&o)
    );
}

#[cfg(unix)]
#[test]
fn cert_new_out_follows_a_symlink_and_writes_the_private_key_through_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // A link planted at the output name, pointing at a file someone else reads.
    let elsewhere = dir.path().join("elsewhere.txt");
    std::fs::write(&elsewhere, "not a key\n").unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.path().join("new.pem");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    for extra in [&[][..], &["--format", "pfx", "--password-env", PW_VAR][..]] {
        let _case = case(format!("extra={extra:?}"));
        let mut args = vec!["cert", "new", "--out", link.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = keyroll_env(&args, PW_VAR, PASSWORD);
        assert_input_error(
            &o,
            &[link.to_str().unwrap(), "symbolic link", "remove the link"],
        );
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "not a key\n");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
    // The same for --public-out.
    let o = keyroll(&[
        "cert",
        "new",
        "--out",
        dir.path().join("ok.pem").to_str().unwrap(),
        "--public-out",
        link.to_str().unwrap(),
    ]);
    assert_input_error(&o, &["--public-out", "symbolic link"]);
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "not a key\n");

    // An existing file is replaced whole, owner-only, with no temporary file left beside it.
    let existing = dir.path().join("existing.pem");
    std::fs::write(&existing, "old content\n").unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = keyroll(&["cert", "new", "--out", existing.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&existing).unwrap();
    assert!(text.starts_with("-----BEGIN CERTIFICATE-----") && text.contains("PRIVATE KEY"));
    assert_eq!(
        std::fs::metadata(&existing).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["elsewhere.txt", "existing.pem", "new.pem"]);
    // A folder that does not exist: a clear error, nothing written.
    let o = keyroll(&[
        "cert",
        "new",
        "--out",
        dir.path().join("missing/new.pem").to_str().unwrap(),
    ]);
    assert_input_error(&o, &["cannot write", "folder exists"]);
}

#[test]
fn proof_inspect_allows_no_clock_skew_where_the_emulator_allows_60_s() {
    let f = fixtures();
    let identity =
        keyroll_proto::cert::SigningIdentity::from_pem(&f.read("bundle_pkcs1.pem")).unwrap();
    let object_id = uuid::Uuid::parse_str(OBJECT_ID).unwrap();
    let request = keyroll_proto::proof::ProofRequest::new(object_id);
    let now = time::OffsetDateTime::now_utc();
    let skew = keyroll_proto::inspect::SERVICE_CLOCK_SKEW_SECS;
    // Minted on a clock 30 s ahead (nbf in the future), and on one 30 s behind an expiry just passed.
    let ahead =
        keyroll_proto::proof::mint(&identity, &request, now + time::Duration::seconds(skew / 2))
            .unwrap();
    let behind = keyroll_proto::proof::mint(
        &identity,
        &request.clone().lifetime(300),
        now - time::Duration::seconds(300 + skew / 2),
    )
    .unwrap();
    for token in [ahead.as_str(), behind.as_str()] {
        let _case = case(format!("token={token:?}"));
        let o = keyroll(&[
            "proof",
            "inspect",
            token,
            "--cert",
            "cert.pem",
            "--object-id",
            OBJECT_ID,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
        assert!(stdout(&o).contains("would accept"), "{}", stdout(&o));
    }
    // Beyond the tolerance, refused.
    let far =
        keyroll_proto::proof::mint(&identity, &request, now + time::Duration::seconds(skew * 2))
            .unwrap();
    let o = keyroll(&["proof", "inspect", far.as_str(), "--cert", "cert.pem"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("not_yet_valid"), "{}", stdout(&o));
}
