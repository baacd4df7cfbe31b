//! `keyroll password add|list|remove` end to end against `keyroll-emulator`: the secret is printed once, on
//! stdout, and never on stderr, in the `-v` log or in an error; JSON documents match the published schema.

mod common;

use common::schema::Schema;
use common::*;
use serde_json::{Value, json};

#[test]
fn add_list_remove_a_client_secret_shown_once() {
    let emu = emulator(&[]);
    let conn = emu.conn();
    let schema = Schema::load();
    let admin = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&admin.app_id);
    let env = [(TOKEN_VAR, token.as_str())];
    let app = emu.create(&[], json!({}));
    for (target, id) in [("application", &app.id), ("service-principal", &app.sp_id)] {
        // JSON, with -v: the secret is the document's secretText and nowhere else.
        let r = keyroll(
            &args(
                &[
                    "password",
                    "add",
                    "--object-id",
                    id,
                    "--target",
                    target,
                    "--display-name",
                    "ci",
                    "--output",
                    "json",
                    "-v",
                    "--access-token-env",
                    TOKEN_VAR,
                ],
                &conn,
            ),
            &env,
        );
        r.ok();
        let doc: Value = serde_json::from_str(&r.stdout()).unwrap();
        schema.assert_valid(&doc, "password add");
        let secret = doc["secretText"].as_str().unwrap().to_owned();
        let key_id = doc["passwordCredential"]["keyId"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(doc["passwordCredential"]["hint"], secret[..3]);
        assert!(doc["passwordCredential"]["secretText"].is_null());
        assert_eq!(r.stdout().matches(&secret).count(), 1, "shown once");
        assert!(!r.stderr().contains(&secret), "stderr: {}", r.stderr());
        assert!(!r.stderr().is_empty(), "-v logs something");
        assert_no_secret(
            &Run {
                out: r.out.clone(),
                elapsed: r.elapsed,
            },
            &[&token],
        );

        // The listing shows the hint, never the text.
        let r = keyroll(
            &args(
                &[
                    "password",
                    "list",
                    "--object-id",
                    id,
                    "--target",
                    target,
                    "--output",
                    "json",
                    "--access-token-env",
                    TOKEN_VAR,
                ],
                &conn,
            ),
            &env,
        );
        r.ok();
        let doc: Value = serde_json::from_str(&r.stdout()).unwrap();
        schema.assert_valid(&doc, "password list");
        assert!(!r.text().contains(&secret));
        assert_eq!(doc["passwordCredentials"][0]["keyId"], key_id.as_str());

        // Table: the secret on stdout once, the note on stderr.
        let r = keyroll(
            &args(
                &[
                    "password",
                    "add",
                    "--object-id",
                    id,
                    "--target",
                    target,
                    "--access-token-env",
                    TOKEN_VAR,
                ],
                &conn,
            ),
            &env,
        );
        r.ok();
        let line = r
            .stdout()
            .lines()
            .find(|l| l.starts_with("secret: "))
            .unwrap()
            .to_owned();
        let table_secret = line.trim_start_matches("secret: ").to_owned();
        assert!(table_secret.len() >= 16);
        assert!(!r.stderr().contains(&table_secret));
        assert!(r.stderr().contains("shown this once"), "{}", r.stderr());

        // Remove, then remove again: exit 2 naming the keyId; neither secret anywhere.
        let rm = |extra: &[&str]| {
            let mut a = vec![
                "password",
                "remove",
                "--object-id",
                id,
                "--target",
                target,
                "--key-id",
                &key_id,
            ];
            a.extend_from_slice(extra);
            a.extend_from_slice(&["--access-token-env", TOKEN_VAR]);
            keyroll(&args(&a, &conn), &env)
        };
        let r = rm(&["--output", "json"]);
        r.ok();
        let doc: Value = serde_json::from_str(&r.stdout()).unwrap();
        schema.assert_valid(&doc, "password remove");
        let r = rm(&["-v"]);
        r.fails(2, &[&key_id, "no client secret"]);
        assert_no_secret(&r, &[&token, &secret, &table_secret]);
    }
}

#[test]
fn a_bad_key_id_and_an_end_before_the_start_are_input_errors() {
    let emu = emulator(&[]);
    let conn = emu.conn();
    let admin = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&admin.app_id);
    let env = [(TOKEN_VAR, token.as_str())];
    let app = emu.create(&[], json!({}));
    let r = keyroll(
        &args(
            &[
                "password",
                "remove",
                "--object-id",
                &app.id,
                "--key-id",
                "nope",
                "--access-token-env",
                TOKEN_VAR,
            ],
            &conn,
        ),
        &env,
    );
    r.fails(2, &["\"nope\"", "GUID"]);
    let r = keyroll(
        &args(
            &[
                "password",
                "add",
                "--object-id",
                &app.id,
                "--start",
                "2030-01-02T00:00:00Z",
                "--end",
                "2030-01-01T00:00:00Z",
                "--access-token-env",
                TOKEN_VAR,
            ],
            &conn,
        ),
        &env,
    );
    r.fails(2, &["end", "start"]);
    // Nothing was added.
    let r = keyroll(
        &args(
            &[
                "password",
                "list",
                "--object-id",
                &app.id,
                "--output",
                "json",
                "--access-token-env",
                TOKEN_VAR,
            ],
            &conn,
        ),
        &env,
    );
    r.ok();
    let doc: Value = serde_json::from_str(&r.stdout()).unwrap();
    assert_eq!(doc["passwordCredentials"], json!([]));
}

/// The first answer is dropped after the commit: its secret's text is lost. The CLI says a secret was removed
/// (by keyId only), prints the one it holds once, and the object has exactly one secret.
#[test]
fn a_lost_answer_leaves_one_secret_and_says_so_without_showing_any() {
    let emu = emulator(&[]);
    let conn = emu.conn();
    let admin = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&admin.app_id);
    let env = [(TOKEN_VAR, token.as_str())];
    let app = emu.create(&[], json!({}));
    emu.faults(json!({"dropAfterCommit": {"count": 1}}));
    let mut a = args(
        &[
            "password",
            "add",
            "--object-id",
            &app.id,
            "--display-name",
            "lost",
            "--output",
            "json",
            "-v",
            "--access-token-env",
            TOKEN_VAR,
        ],
        &conn,
    );
    a.extend(["--timeout".to_string(), "5".to_string()]);
    let r = keyroll(&a, &env);
    r.ok();
    let doc: Value = serde_json::from_str(&r.stdout()).unwrap();
    let secret = doc["secretText"].as_str().unwrap().to_owned();
    assert_eq!(
        doc["orphansRemoved"].as_array().map(Vec::len),
        Some(1),
        "{doc}"
    );
    assert!(r.stderr().contains("was removed again"), "{}", r.stderr());
    assert!(!r.stderr().contains(&secret));
    let r = keyroll(
        &args(
            &[
                "password",
                "list",
                "--object-id",
                &app.id,
                "--output",
                "json",
                "--access-token-env",
                TOKEN_VAR,
            ],
            &conn,
        ),
        &env,
    );
    let listed: Value = serde_json::from_str(&r.stdout()).unwrap();
    assert_eq!(
        listed["passwordCredentials"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert_eq!(
        listed["passwordCredentials"][0]["keyId"],
        doc["passwordCredential"]["keyId"]
    );
}
