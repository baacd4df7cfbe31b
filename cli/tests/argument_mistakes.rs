//! Mistakes users made on the command line, each refused or explained naming the option to change: a value
//! typed where a variable's name goes is never shown; an unset or empty --access-token-env is called by its
//! name; --plan refuses the options its rows replace; every bad file is named with its option and its problem
//! on the first line; --new-cert equal to --cert is refused naming both.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use keyroll_testkit::case;
use keyroll_testkit::fixtures::{PASSWORD, fixtures};
use serde_json::{Value, json};

const GUID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const VAR: &str = "KEYROLL_MISTAKE_VAR";

/// The first line of the error (notes may come before it).
fn first_error(r: &Run) -> String {
    r.stderr()
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default()
        .to_string()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Connection options to a loopback port where nothing listens: every case here is refused before any request.
fn nowhere() -> Vec<String> {
    s(&[
        "--graph-url",
        "https://127.0.0.1:9",
        "--login-url",
        "https://127.0.0.1:9",
        "--timeout",
        "3",
    ])
}

#[test]
fn password_typed_as_the_variable_name_was_echoed() {
    let c = certs();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("n.pfx");
    let out = out.to_str().unwrap();
    // (the command line with V where the value goes, the option that takes V)
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["cert", "inspect", c.a.p(), "--password-env", "V"],
            "--password-env",
        ),
        (
            vec![
                "cert",
                "new",
                "--out",
                out,
                "--format",
                "pfx",
                "--password-env",
                "V",
            ],
            "--password-env",
        ),
        (
            vec![
                "proof",
                "mint",
                "--cert",
                c.a.p(),
                "--cert-password-env",
                "V",
                "--object-id",
                GUID,
            ],
            "--cert-password-env",
        ),
        (
            vec![
                "proof",
                "inspect",
                "x.y.z",
                "--cert",
                c.a.p(),
                "--cert-password-env",
                "V",
            ],
            "--cert-password-env",
        ),
        (
            vec![
                "key",
                "add",
                "--object-id",
                GUID,
                "--new-cert",
                c.b.p(),
                "--new-cert-password-env",
                "V",
                "--cert",
                c.a.p(),
            ],
            "--new-cert-password-env",
        ),
        (
            vec![
                "key",
                "add",
                "--object-id",
                GUID,
                "--new-cert",
                c.b.p(),
                "--cert",
                c.a.p(),
                "--cert-password-env",
                "V",
            ],
            "--cert-password-env",
        ),
        (
            vec![
                "key",
                "add",
                "--object-id",
                GUID,
                "--new-cert",
                c.b.p(),
                "--type",
                "X509CertAndPassword",
                "--usage",
                "Sign",
                "--key-password-env",
                "V",
                "--cert",
                c.a.p(),
            ],
            "--key-password-env",
        ),
        (
            vec![
                "key",
                "list",
                "--object-id",
                GUID,
                "--cert",
                c.a.p(),
                "--cert-password-env",
                "V",
            ],
            "--cert-password-env",
        ),
        (
            vec![
                "key",
                "list",
                "--object-id",
                GUID,
                "--access-token-env",
                "V",
            ],
            "--access-token-env",
        ),
        (
            vec![
                "key",
                "list",
                "--object-id",
                GUID,
                "--auth-cert",
                c.a.p(),
                "--auth-cert-password-env",
                "V",
            ],
            "--auth-cert-password-env",
        ),
        (
            vec![
                "key",
                "remove",
                "--object-id",
                GUID,
                "--remove-cert",
                c.b.p(),
                "--remove-cert-password-env",
                "V",
                "--cert",
                c.a.p(),
            ],
            "--remove-cert-password-env",
        ),
        (
            vec![
                "roll",
                "--object-id",
                GUID,
                "--cert",
                c.a.p(),
                "--cert-password-env",
                "V",
                "--new-cert",
                c.b.p(),
            ],
            "--cert-password-env",
        ),
        (
            vec![
                "roll",
                "--object-id",
                GUID,
                "--cert",
                c.a.p(),
                "--new-cert",
                c.b.p(),
                "--new-cert-password-env",
                "V",
            ],
            "--new-cert-password-env",
        ),
        (
            vec![
                "roll",
                "--object-id",
                GUID,
                "--cert",
                c.a.p(),
                "--new-cert",
                c.b.p(),
                "--access-token-env",
                "V",
            ],
            "--access-token-env",
        ),
    ];
    // A password (not a variable name), and one that looks like a name but names no variable.
    for secret in ["S3cret!pw", "Summer2024Pw"] {
        for (line, flag) in &cases {
            let _case = case(format!("{secret} for {flag}: {line:?}"));
            let mut a: Vec<String> = line
                .iter()
                .map(|w| if *w == "V" { secret } else { w })
                .map(String::from)
                .collect();
            a.extend(
                nowhere()
                    .into_iter()
                    .filter(|_| matches!(line[0], "key" | "roll")),
            );
            let r = keyroll(&a, &[]);
            r.fails(2, &[flag]);
            assert!(
                !r.text().contains(secret),
                "the value given is shown: {}",
                r.text()
            );
            let first = first_error(&r);
            assert!(first.contains("environment variable"), "{first}");
            assert_no_secret(&r, &[secret]);
        }
    }
}

#[test]
fn empty_or_unset_access_token_env_was_not_called_by_its_option() {
    let c = certs();
    for (value, problem) in [(None, "is not set"), (Some(""), "is empty")] {
        let _case = case(format!("{value:?}"));
        let mut a = s(&[
            "roll",
            "--object-id",
            GUID,
            "--cert",
            c.a.p(),
            "--new-cert",
            c.b.p(),
            "--access-token-env",
            VAR,
        ]);
        a.extend(nowhere());
        let env: Vec<(&str, &str)> = value.map(|v| (VAR, v)).into_iter().collect();
        let r = keyroll(&a, &env);
        r.fails(2, &["--access-token-env", problem]);
        let first = r.stderr().lines().next().unwrap_or_default().to_string();
        assert!(
            first.contains("--access-token-env") && first.contains(problem),
            "{first}"
        );
        assert!(!r.stderr().contains("password"), "{}", r.stderr());
    }
}

#[test]
fn plan_silently_ignored_the_options_of_one_roll() {
    let emu = emulator(&[]);
    let c = certs();
    let conn = emu.conn();
    let automation = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&automation.app_id);
    let app = emu.create(&[&c.a], json!({}));
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.csv");
    std::fs::write(
        &plan,
        format!(
            "objectId,cert,newCert\n{},{},{}\n",
            app.id,
            c.a.p(),
            c.b.p()
        ),
    )
    .unwrap();
    let cases: [&[&str]; 8] = [
        &["--object-id", &app.id],
        &["--app-id", &app.app_id],
        &["--target", "service-principal"],
        &["--cert", c.a.p()],
        &["--cert-password-env", VAR],
        &["--new-cert", c.c.p()],
        &["--new-cert-password-env", VAR],
        &["--display-name", "next"],
    ];
    for extra in cases {
        let _case = case(format!("{extra:?}"));
        let mut a = args(&["roll", "--plan", plan.to_str().unwrap()], &conn);
        a.extend(s(&["--access-token-env", TOKEN_VAR]));
        a.extend(s(extra));
        let r = keyroll(&a, &[(TOKEN_VAR, &token)]);
        r.fails(2, &["--plan", extra[0], "cannot be used with"]);
        assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a]), "nothing was written");
    }
}

/// The bad files, made once: (what is wrong, the file, words of which the first line must hold one).
fn bad_files(dir: &Path) -> Vec<(&'static str, PathBuf, &'static [&'static str])> {
    let f = fixtures();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    std::fs::create_dir(dir.join("folder")).unwrap();
    let pfx = f.read("aes_pw.pfx");
    vec![
        ("missing", dir.join("missing.pem"), &["No such file"]),
        ("a folder", dir.join("folder"), &["directory"]),
        ("empty", write("empty.pem", b""), &["empty"]),
        (
            "garbage",
            write("garbage.bin", &[0x17, 0xff, 0x00, 0x42, 0x99, 0x01, 0x02]),
            &["unrecognised", "not PEM", "no private key"],
        ),
        (
            "text",
            write("text.pem", b"hello, world\n"),
            &["unrecognised", "not PEM", "no private key"],
        ),
        (
            "truncated PFX",
            write("truncated.pfx", &pfx[..pfx.len() / 2]),
            &["corrupt or truncated", "not PEM"],
        ),
        (
            "PFX, wrong password",
            f.path("aes_pw.pfx"),
            &["password is wrong", "not PEM"],
        ),
        (
            "key only",
            f.path("key.pem"),
            &["no certificate", "refusing a PEM private key", "not PEM"],
        ),
    ]
}

#[test]
fn file_errors_printed_only_the_path_on_their_first_line() {
    let c = certs();
    let dir = tempfile::tempdir().unwrap();
    let files = bad_files(dir.path());
    let no_key = fixtures().path("cert.pem");
    // (the option, the command line with F where the bad file goes, whether it needs a private key)
    let flags: Vec<(&str, Vec<&str>, bool)> = vec![
        (
            "",
            vec!["cert", "inspect", "F", "--password-env", VAR],
            false,
        ),
        (
            "--cert",
            vec![
                "proof",
                "mint",
                "--cert",
                "F",
                "--cert-password-env",
                VAR,
                "--object-id",
                GUID,
            ],
            true,
        ),
        (
            "--key",
            vec![
                "proof",
                "mint",
                "--cert",
                no_key.to_str().unwrap(),
                "--key",
                "F",
                "--object-id",
                GUID,
            ],
            false,
        ),
        (
            "--cert",
            vec![
                "proof",
                "inspect",
                "x.y.z",
                "--cert",
                "F",
                "--cert-password-env",
                VAR,
            ],
            false,
        ),
        (
            "--new-cert",
            vec![
                "key",
                "add",
                "--object-id",
                GUID,
                "--new-cert",
                "F",
                "--new-cert-password-env",
                VAR,
                "--cert",
                c.a.p(),
            ],
            false,
        ),
        (
            "--cert",
            vec![
                "key",
                "add",
                "--object-id",
                GUID,
                "--new-cert",
                c.b.p(),
                "--cert",
                "F",
                "--cert-password-env",
                VAR,
            ],
            true,
        ),
        (
            "--cert",
            vec![
                "key",
                "list",
                "--object-id",
                GUID,
                "--cert",
                "F",
                "--cert-password-env",
                VAR,
            ],
            false,
        ),
        (
            "--remove-cert",
            vec![
                "key",
                "remove",
                "--object-id",
                GUID,
                "--remove-cert",
                "F",
                "--remove-cert-password-env",
                VAR,
                "--cert",
                c.a.p(),
            ],
            false,
        ),
        (
            "--auth-cert",
            vec![
                "key",
                "list",
                "--object-id",
                GUID,
                "--auth-cert",
                "F",
                "--auth-cert-password-env",
                VAR,
            ],
            true,
        ),
        (
            "--ca-cert",
            vec![
                "key",
                "list",
                "--object-id",
                GUID,
                "--ca-cert",
                "F",
                "--access-token-env",
                VAR,
            ],
            false,
        ),
        (
            "--cert",
            vec![
                "roll",
                "--object-id",
                GUID,
                "--cert",
                "F",
                "--cert-password-env",
                VAR,
                "--new-cert",
                c.b.p(),
            ],
            true,
        ),
        (
            "--new-cert",
            vec![
                "roll",
                "--object-id",
                GUID,
                "--cert",
                c.a.p(),
                "--new-cert",
                "F",
                "--new-cert-password-env",
                VAR,
            ],
            true,
        ),
    ];
    let mut cases = 0;
    let mut wrong = Vec::new();
    for (flag, line, needs_key) in &flags {
        let mut bad: Vec<(&str, PathBuf, &[&str])> = files
            .iter()
            .map(|(w, p, words)| (*w, p.clone(), *words))
            .collect();
        if *needs_key {
            bad.push((
                "a certificate without its key",
                no_key.clone(),
                &["no private key"],
            ));
        }
        for (what, path, words) in bad {
            // --key takes a PEM key: a PFX or a key-only file are other mistakes, checked elsewhere.
            if *flag == "--key"
                && matches!(what, "PFX, wrong password" | "key only" | "truncated PFX")
            {
                continue;
            }
            let p = path.to_str().unwrap();
            let mut a: Vec<String> = line
                .iter()
                .map(|w| if *w == "F" { p } else { w })
                .map(String::from)
                .collect();
            if matches!(line[0], "key" | "roll") && *flag != "--ca-cert" {
                a.extend(nowhere());
            } else if *flag == "--ca-cert" {
                a.extend(s(&["--graph-url", "https://127.0.0.1:9"]));
            }
            // The variable holds a wrong password for the PFX (and a token for --access-token-env).
            let r = keyroll(&a, &[(VAR, "wrong-Pa55-guess")]);
            cases += 1;
            let first = first_error(&r);
            let ok = r.code() == Some(2)
                && first.contains(p)
                && (flag.is_empty() || first.contains(flag))
                && words.iter().any(|w| first.contains(w));
            if !ok {
                wrong.push(format!("{flag} {what} ({:?}): {first}", r.code()));
            }
            assert!(!r.text().contains(PASSWORD) && !r.text().contains("wrong-Pa55-guess"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {cases} file errors do not name the option, the file and the problem on their first line:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    // The same for a plan and its rows.
    let plan_rows = dir.path().join("rows.csv");
    std::fs::write(
        &plan_rows,
        format!("objectId,cert,newCert\n{GUID},{},missing.pem\n", c.a.p()),
    )
    .unwrap();
    for (path, words) in [
        (dir.path().join("missing.csv"), &["No such file"][..]),
        (dir.path().join("folder"), &["directory"]),
        (dir.path().join("empty.pem"), &["no rows"]),
        (dir.path().join("garbage.bin"), &["UTF-8"]),
        (plan_rows.clone(), &["row 1", "newCert", "No such file"]),
    ] {
        let _case = case(format!("--plan {}", path.display()));
        let r = keyroll(&s(&["roll", "--plan", path.to_str().unwrap()]), &[]);
        let first = r.stderr().lines().next().unwrap_or_default().to_string();
        assert_eq!(r.code(), Some(2), "{}", r.stderr());
        assert!(first.contains("--plan"), "{first}");
        for w in words {
            assert!(first.contains(w), "{w:?} in {first}");
        }
    }
}

#[test]
fn new_cert_equal_to_cert_is_refused_naming_both_options() {
    let emu = emulator(&[]);
    let c = certs();
    let conn = emu.conn();
    let app = emu.create(&[&c.a], json!({}));
    let dir = tempfile::tempdir().unwrap();
    // The same file, and the same certificate in another file.
    let copy = dir.path().join("copy.pem");
    std::fs::copy(c.a.p(), &copy).unwrap();
    for new in [c.a.p(), copy.to_str().unwrap()] {
        for format in ["table", "json"] {
            let _case = case(format!("{new} {format}"));
            let mut a = args(
                &[
                    "roll",
                    "--object-id",
                    &app.id,
                    "--cert",
                    c.a.p(),
                    "--new-cert",
                    new,
                ],
                &conn,
            );
            a.extend(s(&[
                "--tenant-id",
                &app.tenant,
                "--client-id",
                &app.app_id,
                "--remove-old",
                "--output",
                format,
            ]));
            let r = keyroll(&a, &[]);
            r.fails(
                2,
                &["--cert", "--new-cert", &c.a.thumb(), "nothing was written"],
            );
            if format == "json" {
                let d: Value = serde_json::from_str(&r.stdout()).unwrap();
                assert_eq!(d["rolls"][0]["success"], false, "{d}");
                assert_eq!(d["rolls"][0]["state"], "unchanged", "{d}");
                let message = d["error"]["message"].as_str().unwrap();
                assert!(
                    message.contains("--cert") && message.contains("--new-cert"),
                    "{message}"
                );
            } else {
                assert!(!r.stdout().contains("rolled"), "{}", r.stdout());
            }
            assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a]));
        }
    }
    // In a plan, that row fails (exit 1) and is not written; the other rows roll.
    let automation = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&automation.app_id);
    let other = emu.create(&[&c.a], json!({}));
    let plan = dir.path().join("plan.csv");
    std::fs::write(
        &plan,
        format!(
            "objectId,cert,newCert\n{},{},copy.pem\n{},{},{}\n",
            app.id,
            c.a.p(),
            other.id,
            c.a.p(),
            c.b.p()
        ),
    )
    .unwrap();
    let mut a = args(
        &["roll", "--plan", plan.to_str().unwrap(), "--output", "json"],
        &conn,
    );
    a.extend(s(&["--access-token-env", TOKEN_VAR]));
    let r = keyroll(&a, &[(TOKEN_VAR, &token)]);
    assert_eq!(r.code(), Some(1), "{}{}", r.stdout(), r.stderr());
    let d: Value = serde_json::from_str(&r.stdout()).unwrap();
    assert_eq!(d["rolls"][0]["state"], "unchanged", "{d}");
    assert_eq!(d["rolls"][0]["success"], false, "{d}");
    assert_eq!(d["rolls"][1]["success"], true, "{d}");
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a]));
    // (the plan does not ask to remove the old key)
    assert_eq!(emu.thumbs(&other.id), sorted(&[&c.a, &c.b]));
}

#[test]
fn graph_url_with_a_version_segment_doubled_the_version_or_was_refused_naming_another_option() {
    let c = certs();
    // A --graph-url ending in the other version than --api-version: refused, naming --graph-url, before any
    // request (the version at its end is the API version; the two disagree).
    let a = s(&[
        "key",
        "list",
        "--object-id",
        GUID,
        "--cert",
        c.a.p(),
        "--tenant-id",
        GUID,
        "--client-id",
        GUID,
        "--graph-url",
        "https://127.0.0.1:9/beta",
        "--api-version",
        "v1.0",
        "--login-url",
        "https://127.0.0.1:9",
        "--timeout",
        "3",
    ]);
    let r = keyroll(&a, &[]);
    r.fails(2, &["--graph-url", "beta", "v1.0"]);
    assert!(first_error(&r).contains("--graph-url"), "{}", r.stderr());
}

#[test]
fn proxy_with_a_scheme_other_than_http_was_taken() {
    let mut a = s(&[
        "key",
        "list",
        "--object-id",
        GUID,
        "--access-token-env",
        VAR,
        "--proxy",
        "ftp://127.0.0.1:3128",
    ]);
    a.extend(nowhere());
    let r = keyroll(&a, &[(VAR, "header.payload.signature")]);
    r.fails(2, &["proxy", "is not http or https"]);
}
