//! The messages of the commonest command-line mistakes, pinned by a snapshot (`tests/snapshots/`): they are
//! what a user reads first, so a change to their words is a reviewed change. Each row is the case's name, the
//! exit code and stderr; nothing here reaches a service (every mistake is caught before any request).
//!
//! A difference fails the test; locally insta writes `<name>.snap.new` next to the snapshot (accept it with
//! `cargo insta review`, or rename it), on CI (`CI=true`) it writes nothing.

use std::process::{Command, Stdio};

const OBJECT: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

/// keyroll with `args` in an empty folder holding only `cert.pem` (a certificate without its key), with no
/// credential variable set.
fn run(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_keyroll"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
        .env_remove("IDENTITY_ENDPOINT")
        .env_remove("IDENTITY_HEADER")
        .env_remove("KEYROLL_UNSET_VARIABLE")
        .env("KEYROLL_USAGE_TOKEN", "not-a-real-token")
        .output()
        .expect("run keyroll");
    assert!(
        out.stdout.is_empty(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    format!(
        "exit {}\n{}",
        out.status
            .code()
            .map_or_else(|| "by a signal".to_owned(), |c| c.to_string()),
        String::from_utf8_lossy(&out.stderr).trim_end()
    )
}

#[test]
fn common_command_line_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let made = keyroll_proto::cert::generate::self_signed_rsa(
        "keyroll usage",
        time::OffsetDateTime::now_utc() - time::Duration::days(1),
        30,
        2048,
    )
    .unwrap();
    std::fs::write(dir.path().join("cert.pem"), made.certificate.to_pem()).unwrap();
    let token = ["--access-token-env", "KEYROLL_USAGE_TOKEN"];
    let with_token = |args: &[&'static str]| -> Vec<&'static str> {
        args.iter().copied().chain(token).collect()
    };
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("misspelt command", vec!["rol"]),
        ("key add without arguments", vec!["key", "add"]),
        (
            "key add without a target",
            with_token(&["key", "add", "--new-cert", "cert.pem"]),
        ),
        (
            "object id that is not a GUID",
            with_token(&["key", "list", "--object-id", "my-app"]),
        ),
        (
            "new certificate file missing",
            with_token(&[
                "key",
                "add",
                "--object-id",
                OBJECT,
                "--new-cert",
                "missing.pem",
            ]),
        ),
        (
            "unknown API version",
            with_token(&["key", "list", "--object-id", OBJECT, "--api-version", "v2"]),
        ),
        (
            "token variable not set",
            vec![
                "key",
                "list",
                "--object-id",
                OBJECT,
                "--access-token-env",
                "KEYROLL_UNSET_VARIABLE",
            ],
        ),
        (
            "roll without the new certificate",
            with_token(&["roll", "--object-id", OBJECT, "--cert", "cert.pem"]),
        ),
        (
            "proof mint without a certificate",
            vec!["proof", "mint", "--object-id", OBJECT],
        ),
        (
            "proof mint with a certificate but no key",
            vec!["proof", "mint", "--object-id", OBJECT, "--cert", "cert.pem"],
        ),
        (
            "password variable not set",
            vec![
                "cert",
                "inspect",
                "cert.pem",
                "--password-env",
                "KEYROLL_UNSET_VARIABLE",
            ],
        ),
    ];
    let rows: Vec<String> = cases
        .iter()
        .map(|(case, args)| {
            format!(
                "## {case}: keyroll {}\n{}\n",
                args.join(" "),
                run(dir.path(), args)
            )
        })
        .collect();
    insta::assert_snapshot!("common_command_line_mistakes", rows.join("\n"));
}
