//! `--output json|table|tsv`: every JSON document any command prints (results and errors) matches the published
//! schema (docs/schema/keyroll-output-v1.json), carries "schemaVersion": 1 and, when the exit code is not 0, an
//! error object with that code; TSV is a header and one row per item; `--json` is `--output json`; the exit
//! codes are in every command's help and in the README.

mod common;

use std::collections::BTreeSet;

use common::schema::{Schema, matches_pattern};
use common::*;
use keyroll_testkit::case;
use serde_json::{Value, json};

/// Parses stdout as one JSON document and checks it against the schema, the schema version and the error rule.
#[track_caller]
fn document(schema: &Schema, r: &Run, code: i32, seen: &mut BTreeSet<String>) -> Value {
    assert_eq!(
        r.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        r.stdout(),
        r.stderr()
    );
    let doc: Value = serde_json::from_str(&r.stdout())
        .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}): {}", r.stdout()));
    let command = doc["command"].as_str().unwrap_or_default().to_string();
    schema.assert_valid(&doc, &command);
    assert_eq!(doc["schemaVersion"], 1);
    // The version comes first, where a reader looks before anything else.
    let compact: String = r.stdout().split_whitespace().collect();
    assert!(
        compact.starts_with("{\"schemaVersion\":1,"),
        "{}",
        r.stdout()
    );
    let verdict = command == "proof inspect" && code == 1;
    if code == 0 || verdict {
        assert!(doc.get("error").is_none(), "{doc}");
    } else {
        assert_eq!(doc["error"]["exitCode"], code, "{doc}");
        // stderr stays for people (a plan's failed rows are in the document, and on stdout as a table).
        assert!(
            command == "roll" || r.stderr().lines().any(|l| l.starts_with("error: ")),
            "{}",
            r.stderr()
        );
    }
    seen.insert(command);
    doc
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_json_document_matches_the_schema() {
    let schema = Schema::load();
    let emu = emulator(&[]);
    let c = certs();
    let conn = emu.conn();
    let mut seen = BTreeSet::new();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("new.pem");

    // cert new, cert inspect (both spellings), proof mint, proof inspect (accepted and rejected).
    let r = keyroll(
        &s(&[
            "cert",
            "new",
            "--out",
            out.to_str().unwrap(),
            "--output",
            "json",
        ]),
        &[],
    );
    let d = document(&schema, &r, 0, &mut seen);
    assert_eq!(d["certificate"]["format"], "pem");
    for flag in [&["--output", "json"][..], &["--json"][..]] {
        let mut a = s(&["cert", "inspect", out.to_str().unwrap()]);
        a.extend(s(flag));
        let d = document(&schema, &keyroll(&a, &[]), 0, &mut seen);
        assert_eq!(d["certificate"]["privateKey"], "present");
    }
    let app = emu.create(&[&c.a], json!({}));
    let r = keyroll(
        &s(&[
            "proof",
            "mint",
            "--cert",
            c.a.p(),
            "--object-id",
            &app.id,
            "--output",
            "json",
        ]),
        &[],
    );
    let d = document(&schema, &r, 0, &mut seen);
    let proof = d["proof"]["token"].as_str().unwrap().to_string();
    let r = keyroll(
        &s(&[
            "proof",
            "inspect",
            &proof,
            "--cert",
            c.a.p(),
            "--object-id",
            &app.id,
            "--output",
            "json",
        ]),
        &[],
    );
    assert_eq!(
        document(&schema, &r, 0, &mut seen)["inspection"]["accepted"],
        true
    );
    let r = keyroll(
        &s(&[
            "proof",
            "inspect",
            &proof,
            "--object-id",
            &app.app_id,
            "--output",
            "json",
        ]),
        &[],
    );
    assert_eq!(
        document(&schema, &r, 1, &mut seen)["inspection"]["accepted"],
        false
    );

    // key list, key add, key remove.
    let token = emu.token(&app.app_id);
    let env = [(TOKEN_VAR, token.as_str())];
    let key = |parts: &[&str]| {
        let mut a = args(parts, &conn);
        a.extend(s(&[
            "--object-id",
            &app.id,
            "--access-token-env",
            TOKEN_VAR,
            "--output",
            "json",
        ]));
        keyroll(&a, &env)
    };
    let d = document(
        &schema,
        &key(&["key", "list", "--cert", c.a.p()]),
        0,
        &mut seen,
    );
    assert_eq!(d["summary"][0]["signs"], true);
    let d = document(
        &schema,
        &key(&["key", "add", "--new-cert", c.b.p(), "--cert", c.a.p()]),
        0,
        &mut seen,
    );
    assert_eq!(d["thumbprint"], c.b.thumb());
    let d = document(
        &schema,
        &key(&[
            "key",
            "remove",
            "--thumbprint",
            &c.b.thumb(),
            "--cert",
            c.a.p(),
        ]),
        0,
        &mut seen,
    );
    assert!(d["removedKeyId"].is_string());

    // A single roll: `rolls` is an array of one.
    let roll_one = |from: &Pem, to: &Pem, app: &Created| {
        let mut a = args(
            &[
                "roll",
                "--object-id",
                &app.id,
                "--cert",
                from.p(),
                "--new-cert",
                to.p(),
            ],
            &conn,
        );
        a.extend(s(&[
            "--tenant-id",
            &app.tenant,
            "--client-id",
            &app.app_id,
            "--output",
            "json",
        ]));
        keyroll(&a, &[])
    };
    let d = document(&schema, &roll_one(&c.a, &c.b, &app), 0, &mut seen);
    assert_eq!(d["rolls"].as_array().unwrap().len(), 1, "{d}");
    assert_eq!(d["rolls"][0]["row"], 1);
    assert_eq!(d["rolls"][0]["success"], true);
    // Refused before any write: the roll document with its error, exit 2.
    let d = document(&schema, &roll_one(&c.a, &c.a, &app), 2, &mut seen);
    assert_eq!(d["error"]["code"], "roll_refused", "{d}");
    assert_eq!(d["error"]["kind"], "input", "{d}");
    assert_eq!(d["rolls"][0]["state"], "unchanged", "{d}");

    // A plan of two: `rolls` has two items, one failed: exit 1 with the error object.
    let automation = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let admin = emu.token(&automation.app_id);
    let good = emu.create(&[&c.a], json!({}));
    let stranger = emu.create(&[&c.c], json!({}));
    let plan = dir.path().join("plan.csv");
    std::fs::write(
        &plan,
        format!(
            "objectId,cert,newCert\n{},{},{}\n{},{},{}\n",
            good.id,
            c.a.p(),
            c.b.p(),
            stranger.id,
            c.a.p(),
            c.b.p()
        ),
    )
    .unwrap();
    let mut a = args(&["roll", "--plan", plan.to_str().unwrap()], &conn);
    a.extend(s(&["--access-token-env", TOKEN_VAR, "--output", "json"]));
    let d = document(&schema, &keyroll(&a, &[(TOKEN_VAR, &admin)]), 1, &mut seen);
    let rolls = d["rolls"].as_array().unwrap();
    assert_eq!(rolls.len(), 2, "{d}");
    assert_eq!(
        (rolls[0]["row"].clone(), rolls[1]["row"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(d["summary"]["failed"], 1, "{d}");

    // Errors of each kind, each an error document on stdout with the exit code.
    // service (3), with the request ids to quote:
    let mut a = args(
        &[
            "key",
            "list",
            "--object-id",
            "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        ],
        &conn,
    );
    a.extend(s(&["--access-token-env", TOKEN_VAR, "--output", "json"]));
    let d = document(&schema, &keyroll(&a, &[(TOKEN_VAR, &admin)]), 3, &mut seen);
    assert_eq!(d["error"]["kind"], "service", "{d}");
    assert!(
        !d["error"]["requestIds"].as_array().unwrap().is_empty(),
        "{d}"
    );
    // transport (4): nothing listens there.
    let r = keyroll(
        &s(&[
            "key",
            "list",
            "--object-id",
            &app.id,
            "--graph-url",
            "https://127.0.0.1:9",
            "--login-url",
            "https://127.0.0.1:9",
            "--access-token-env",
            TOKEN_VAR,
            "--timeout",
            "5",
            "--output",
            "json",
        ]),
        &env,
    );
    let d = document(&schema, &r, 4, &mut seen);
    assert_eq!(d["error"]["kind"], "transport", "{d}");
    // input (2): a file, and a command line clap refuses.
    let r = keyroll(
        &s(&["cert", "inspect", "missing.pem", "--output", "json"]),
        &[],
    );
    let d = document(&schema, &r, 2, &mut seen);
    assert_eq!(d["error"]["code"], "certificate", "{d}");
    let r = keyroll(&s(&["key", "list", "--bogus", "--output", "json"]), &[]);
    let d = document(&schema, &r, 2, &mut seen);
    assert_eq!(
        (d["command"].as_str(), d["error"]["code"].as_str()),
        (Some("keyroll"), Some("usage"))
    );

    // scan: every credential of the tenant, streamed; then a scan refused (an identity without the permission
    // to list): the streamed document ends with the error, one document on stdout all the same.
    let mut a = args(&["scan"], &conn);
    a.extend(s(&["--access-token-env", TOKEN_VAR, "--output", "json"]));
    let d = document(&schema, &keyroll(&a, &[(TOKEN_VAR, &admin)]), 0, &mut seen);
    let items = d["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|i| i["objectId"] == json!(good.id) && i["thumbprint"] == json!(c.b.thumb())),
        "{d}"
    );
    assert_eq!(d["summary"]["stopped"], false, "{d}");
    let d = document(&schema, &keyroll(&a, &env), 3, &mut seen);
    assert_eq!(d["items"], json!([]), "{d}");
    assert_eq!(d["error"]["code"], "Authorization_RequestDenied", "{d}");
    assert_eq!(
        d["error"]["requestIds"].as_array().map(Vec::len),
        Some(2),
        "{d}"
    );

    for command in [
        "scan",
        "cert inspect",
        "cert new",
        "proof mint",
        "proof inspect",
        "key add",
        "key remove",
        "key list",
        "roll",
    ] {
        assert!(
            seen.contains(command),
            "{command} was not checked: {seen:?}"
        );
    }
}

#[test]
fn the_schema_check_can_fail() {
    let schema = Schema::load();
    let good = json!({"schemaVersion": 1, "command": "key remove", "removedKeyId": "3fa85f64-5717-4562-b3fc-2c963f66afa6"});
    assert!(
        schema.errors(&good).is_empty(),
        "{:?}",
        schema.errors(&good)
    );
    let roll = |state: &str, rolls: Value| {
        json!({"schemaVersion": 1, "command": "roll", "rolls": rolls,
               "summary": {"total": 1, "succeeded": 1, "failed": 0, "elapsedSeconds": 0.1}, "_": state})
    };
    let bad = [
        (
            "no version",
            json!({"command": "key remove", "removedKeyId": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}),
        ),
        (
            "version 2",
            json!({"schemaVersion": 2, "command": "key remove", "removedKeyId": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}),
        ),
        (
            "not a GUID",
            json!({"schemaVersion": 1, "command": "key remove", "removedKeyId": "nope"}),
        ),
        (
            "an undocumented field",
            json!({"schemaVersion": 1, "command": "key remove", "removedKeyId": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "extra": 1}),
        ),
        ("a single roll as an object", roll("", json!({"row": 1}))),
        (
            "an error without its exit code",
            json!({"schemaVersion": 1, "command": "key list", "error": {"kind": "input", "code": "x", "message": "m", "requestIds": []}}),
        ),
        (
            "an unknown error kind",
            json!({"schemaVersion": 1, "command": "key list", "error": {"kind": "oops", "code": "x", "message": "m", "requestIds": [], "exitCode": 2}}),
        ),
    ];
    for (what, doc) in bad {
        let _case = case(what);
        assert!(!schema.errors(&doc).is_empty(), "{what}: accepted {doc}");
    }
}

#[test]
fn schema_patterns_match_and_refuse() {
    let uuid = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
    assert!(matches_pattern(
        uuid,
        "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    ));
    assert!(!matches_pattern(
        uuid,
        "3FA85F64-5717-4562-b3fc-2c963f66afa6"
    ));
    assert!(!matches_pattern(
        uuid,
        "3fa85f64-5717-4562-b3fc-2c963f66afa"
    ));
    assert!(!matches_pattern(
        uuid,
        "3fa85f64-5717-4562-b3fc-2c963f66afa6x"
    ));
    assert!(matches_pattern("^[0-9A-F]{40}$", &"AB".repeat(20)));
}

#[test]
fn tsv_is_a_header_and_one_row_per_item() {
    let emu = emulator(&[]);
    let c = certs();
    let conn = emu.conn();
    let app = emu.create(&[&c.a, &c.b, &c.c], json!({}));
    let token = emu.token(&app.app_id);
    let list = |format: &[&str]| {
        let mut a = args(
            &["key", "list", "--object-id", &app.id, "--cert", c.b.p()],
            &conn,
        );
        a.extend(s(&["--access-token-env", TOKEN_VAR]));
        a.extend(s(format));
        keyroll(&a, &[(TOKEN_VAR, &token)])
    };
    let r = list(&["--output", "tsv"]);
    r.ok();
    let out = r.stdout();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "keyId\tthumbprint\tdisplayName\tendDateTime\tdaysLeft\tstatus\tsigns"
    );
    assert_eq!(lines.len(), 4, "a header and one row per key: {out}");
    for l in &lines {
        assert_eq!(l.split('\t').count(), 7, "{l:?}");
    }
    // `cut` finds the thumbprints, and which one signs.
    let mut thumbs: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split('\t').nth(1).unwrap())
        .collect();
    thumbs.sort();
    assert_eq!(thumbs, sorted(&[&c.a, &c.b, &c.c]));
    let signs: Vec<&str> = lines[1..]
        .iter()
        .filter(|l| l.ends_with("\ttrue"))
        .map(|l| l.split('\t').nth(1).unwrap())
        .collect();
    assert_eq!(signs, [c.b.thumb()]);
    // The table is today's text; --json is --output json; the two together are refused.
    let r = list(&[]);
    r.ok();
    assert!(
        r.stdout()
            .starts_with("3 key credential(s) on the application"),
        "{}",
        r.stdout()
    );
    let j1: Value = serde_json::from_str(&list(&["--json"]).stdout()).unwrap();
    let j2: Value = serde_json::from_str(&list(&["--output", "json"]).stdout()).unwrap();
    assert_eq!(j1["summary"], j2["summary"]);
    list(&["--json", "--output", "tsv"]).fails(2, &["--json", "--output"]);

    // A roll in TSV: a header and its one row.
    let mut a = args(
        &[
            "roll",
            "--object-id",
            &app.id,
            "--cert",
            c.a.p(),
            "--new-cert",
            c.a.p(),
        ],
        &conn,
    );
    a.extend(s(&["--access-token-env", TOKEN_VAR, "--output", "tsv"]));
    let r = keyroll(&a, &[(TOKEN_VAR, &token)]);
    assert_eq!(r.code(), Some(2));
    let out = r.stdout();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(
        lines[0],
        "row\ttarget\tobjectId\tstate\tsuccess\tnewKeyId\tremovedKeyIds\tdetail\terror"
    );
    let row: Vec<&str> = lines[1].split('\t').collect();
    assert_eq!((row[3], row[4]), ("unchanged", "false"), "{out}");
}

/// The exit-code rows of the README's table: `| N | meaning |`.
fn readme_exit_codes() -> Vec<(String, String)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let start = readme
        .find("| Exit code | Meaning |")
        .expect("the README has the exit-code table");
    readme[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (cells[0].to_string(), cells[1].to_string())
        })
        .collect()
}

#[test]
fn exit_codes_are_in_every_commands_help_and_the_readme() {
    let table = readme_exit_codes();
    assert_eq!(
        table.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
        ["0", "1", "2", "3", "4", "130", "143"]
    );
    for command in [
        &[][..],
        &["cert"],
        &["cert", "inspect"],
        &["cert", "new"],
        &["proof"],
        &["proof", "mint"],
        &["proof", "inspect"],
        &["key"],
        &["key", "add"],
        &["key", "remove"],
        &["key", "list"],
        &["roll"],
        &["scan"],
        &["demo"],
    ] {
        let _case = case(format!("{command:?}"));
        let mut a = s(command);
        a.push("--help".into());
        let r = keyroll(&a, &[]);
        r.ok();
        // Unwrapped, the help's lines are the README's rows.
        let help = r.stdout().split_whitespace().collect::<Vec<_>>().join(" ");
        for (code, meaning) in &table {
            let row = format!("{code} {meaning}");
            assert!(
                help.contains(&row),
                "{command:?} --help lacks {row:?}:\n{}",
                r.stdout()
            );
        }
    }
}

/// A plan stopped by SIGTERM under `--output json`: the document has every row (`notStarted` for those that did
/// not start) and the error object with the signal's exit code.
#[cfg(unix)]
#[test]
fn a_stopped_plan_prints_its_document_with_the_signal_exit_code() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let schema = Schema::load();
    // Two writes a second: the plan takes seconds, time to stop it.
    let emu = emulator(&["--write-budget", "2/1"]);
    let c = certs();
    let automation = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&automation.app_id);
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("objectId,cert,newCert\n");
    for _ in 0..8 {
        let a = emu.create(&[&c.a], json!({}));
        csv.push_str(&format!("{},{},{}\n", a.id, c.a.p(), c.b.p()));
    }
    let plan = dir.path().join("plan.csv");
    std::fs::write(&plan, csv).unwrap();
    let journal = dir.path().join("plan.csv.journal");
    let mut a = args(&["roll", "--plan", plan.to_str().unwrap()], &emu.conn());
    a.extend(s(&[
        "--access-token-env",
        TOKEN_VAR,
        "--concurrency",
        "1",
        "--output",
        "json",
    ]));
    let child = Command::new(env!("CARGO_BIN_EXE_keyroll"))
        .args(&a)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env(TOKEN_VAR, &token)
        .spawn()
        .unwrap();
    let t = Instant::now();
    while std::fs::read_to_string(&journal)
        .unwrap_or_default()
        .lines()
        .count()
        < 1
    {
        assert!(t.elapsed() < Duration::from_secs(60), "no row ended");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let r = Run {
        out,
        elapsed: t.elapsed(),
    };
    let mut seen = BTreeSet::new();
    let d = document(&schema, &r, 143, &mut seen);
    assert_eq!(d["error"]["code"], "interrupted", "{d}");
    let rolls = d["rolls"].as_array().unwrap();
    assert_eq!(rolls.len(), 8, "{d}");
    assert!(rolls.iter().any(|r| r["state"] == "notStarted"), "{d}");
}

/// Every command's TSV without a service: a header, then rows with as many fields, no other text.
#[test]
fn offline_commands_print_tsv_rows_as_wide_as_their_header() {
    let c = certs();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.pem");
    let check = |a: Vec<String>, code: i32, rows: usize| -> Vec<Vec<String>> {
        let r = keyroll(&a, &[]);
        assert_eq!(r.code(), Some(code), "{a:?}: {}", r.stderr());
        let text = r.stdout();
        let lines: Vec<Vec<String>> = text
            .lines()
            .map(|l| l.split('\t').map(String::from).collect())
            .collect();
        assert_eq!(lines.len(), rows + 1, "{a:?}: {text}");
        for l in &lines {
            assert_eq!(l.len(), lines[0].len(), "{a:?}: {text}");
        }
        lines
    };
    let t = check(
        s(&[
            "cert",
            "new",
            "--out",
            out.to_str().unwrap(),
            "--output",
            "tsv",
        ]),
        0,
        1,
    );
    assert_eq!(t[0][0], "file");
    let t = check(s(&["cert", "inspect", c.a.p(), "--output", "tsv"]), 0, 1);
    assert_eq!(t[1][3], c.a.thumb(), "thumbprintSha1 is the fourth column");
    let t = check(
        s(&[
            "proof",
            "mint",
            "--cert",
            c.a.p(),
            "--object-id",
            "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "--output",
            "tsv",
        ]),
        0,
        1,
    );
    assert_eq!(t[0][0], "token");
    let token = t[1][0].clone();
    // Judged for another object: an error finding, and the unchecked signature for information; exit 1.
    let t = check(
        s(&[
            "proof",
            "inspect",
            &token,
            "--object-id",
            "0b8f1c2e-7a9d-4e55-9c1a-2f3e4d5c6b7a",
            "--output",
            "tsv",
        ]),
        1,
        2,
    );
    assert_eq!(t[0], ["severity", "code", "message"]);
    assert_eq!(
        (t[1][0].as_str(), t[1][1].as_str()),
        ("error", "issuer_mismatch")
    );
    // An error prints no TSV at all: stdout stays empty for the script.
    let r = keyroll(
        &s(&["cert", "inspect", "missing.pem", "--output", "tsv"]),
        &[],
    );
    assert_eq!(r.code(), Some(2));
    assert_eq!(r.stdout(), "");
}

/// A reader that stops early (`keyroll ... --output tsv | head -1`) ends the output quietly: the command's own
/// exit code, no panic.
#[test]
fn a_closed_stdout_ends_json_and_tsv_quietly() {
    use std::process::{Command, Stdio};
    let c = certs();
    for format in ["json", "tsv"] {
        let _case = case(format);
        let mut child = Command::new(env!("CARGO_BIN_EXE_keyroll"))
            .args(["cert", "inspect", c.a.p(), "--output", format])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reading end is gone before the process has started writing.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
