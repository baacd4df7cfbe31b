//! `keyroll scan` end to end: what a tenant holds, in every output, and the plan it writes rolled by `roll --plan`
//! as it is.

mod common;

use common::*;
use serde_json::{Value, json};

#[test]
fn scan_reports_credentials_and_its_plan_rolls_as_written() {
    let emu = emulator(&[]);
    let c = certs();
    let conn = emu.conn();
    let reader = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&reader.app_id);
    let dir = tempfile::tempdir().unwrap();
    // Three applications on certificate a; one on c, which another rule would not find a file for.
    let apps: Vec<Created> = (0..3).map(|_| emu.create(&[&c.a], json!({}))).collect();
    for name in ["current", "next"] {
        std::fs::create_dir_all(dir.path().join(name)).unwrap();
    }
    for a in &apps {
        std::fs::copy(
            c.a.p(),
            dir.path().join(format!("current/{}.pem", a.app_id)),
        )
        .unwrap();
        std::fs::copy(c.b.p(), dir.path().join(format!("next/{}.pem", a.app_id))).unwrap();
    }
    let scan = |extra: &[&str]| {
        let mut a = vec!["scan", "--access-token-env", TOKEN_VAR, "--type", "app"];
        a.extend_from_slice(extra);
        keyroll(&args(&a, &conn), &[(TOKEN_VAR, &token)])
    };

    // JSON: one document, every certificate of the three applications, each its last valid one.
    let r = scan(&["--output", "json", "--page-size", "2"]);
    r.ok();
    assert_no_secret(&r, &[&token]);
    let v: Value = serde_json::from_str(&r.stdout()).unwrap();
    assert_eq!(v["schemaVersion"], 1);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{v}");
    for i in items {
        assert_eq!(i["credentialType"], "certificate");
        assert_eq!(i["thumbprint"], c.a.thumb());
        assert_eq!(i["lastValidCertificate"], true);
        assert!(i["daysLeft"].as_i64().unwrap() > 300);
    }
    assert!(v["summary"]["pages"].as_u64().unwrap() >= 2, "{v}");

    // CSV and TSV: a header and one row per credential.
    let csv = scan(&["--output", "csv"]);
    csv.ok();
    assert_eq!(csv.stdout().lines().count(), 4, "{}", csv.stdout());
    assert!(csv.stdout().starts_with("objectType,objectId,appId"));
    let tsv = scan(&["--output", "tsv"]);
    tsv.ok();
    assert!(
        tsv.stdout().lines().all(|l| l.split('\t').count() == 14),
        "{}",
        tsv.stdout()
    );
    // Nothing expires within 30 days: no rows, and still a valid document.
    let none = scan(&["--output", "json", "--expiring", "30d"]);
    none.ok();
    let v: Value = serde_json::from_str(&none.stdout()).unwrap();
    assert_eq!(v["items"].as_array().map(Vec::len), Some(0));

    // The plan, by naming rules, rolled as it is.
    let plan = dir.path().join("plan.csv");
    scan(&[
        "--plan",
        plan.to_str().unwrap(),
        "--cert-rule",
        "current/{appId}.pem",
        "--new-cert-rule",
        "next/{appId}.pem",
    ])
    .ok();
    let text = std::fs::read_to_string(&plan).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(
        text.starts_with("objectId,target,cert,newCert,removeOld"),
        "{text}"
    );
    let r = keyroll(
        &args(
            &[
                "roll",
                "--plan",
                plan.to_str().unwrap(),
                "--access-token-env",
                TOKEN_VAR,
            ],
            &conn,
        ),
        &[(TOKEN_VAR, &token)],
    );
    r.ok();
    for a in &apps {
        assert_eq!(emu.thumbs(&a.id), sorted(&[&c.b]), "{}", r.text());
    }

    // Bad input: a rule naming no object, an unknown span.
    scan(&[
        "--plan",
        plan.to_str().unwrap(),
        "--new-cert-rule",
        "next.pem",
    ])
    .fails(2, &["--new-cert-rule", "same file"]);
    scan(&["--expiring", "30w"]).fails(2, &["--expiring", "unknown unit"]);
}

#[test]
fn a_plan_row_left_to_fill_or_naming_another_certificate_is_refused() {
    let emu = emulator(&[]);
    let c = certs();
    let conn = emu.conn();
    let reader = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&reader.app_id);
    let dir = tempfile::tempdir().unwrap();
    let app = emu.create(&[&c.a], json!({}));
    let plan = dir.path().join("plan.csv");
    keyroll(
        &args(
            &[
                "scan",
                "--access-token-env",
                TOKEN_VAR,
                "--plan",
                plan.to_str().unwrap(),
            ],
            &conn,
        ),
        &[(TOKEN_VAR, &token)],
    )
    .ok();
    let roll = || {
        keyroll(
            &args(
                &[
                    "roll",
                    "--plan",
                    plan.to_str().unwrap(),
                    "--access-token-env",
                    TOKEN_VAR,
                ],
                &conn,
            ),
            &[(TOKEN_VAR, &token)],
        )
    };
    // Left to fill: the row names the column to fill.
    roll().fails(2, &["row 1", "the cert column is empty"]);
    // Filled with the wrong current certificate: the row's thumbprint catches it before anything is sent.
    let text = std::fs::read_to_string(&plan).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let row = lines[1].replacen(",,,", &format!(",{},{},", c.c.p(), c.b.p()), 1);
    lines[1] = row;
    std::fs::write(&plan, lines.join("\n") + "\n").unwrap();
    roll().fails(2, &["row 1", "currentThumbprint", &c.a.thumb()]);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a]));
}

#[test]
fn a_scan_without_the_permission_names_it_once() {
    let emu = emulator(&[]);
    let nobody = emu.create(&[], json!({}));
    let token = emu.token(&nobody.app_id);
    let r = keyroll(
        &args(&["scan", "--access-token-env", TOKEN_VAR], &emu.conn()),
        &[(TOKEN_VAR, &token)],
    );
    r.fails(3, &["Application.Read.All", "OwnedBy"]);
    // Graph's answer is said once, not again as a cause.
    assert_eq!(
        r.stderr().matches("Insufficient privileges").count(),
        1,
        "{}",
        r.stderr()
    );
}

/// Regression: a scan that could not read a page printed the failure twice, as the error and again as its cause.
#[test]
fn a_failed_page_read_is_said_once() {
    let emu = emulator(&[]);
    let reader = emu.create(&[], json!({"roles": ["Application.Read.All"]}));
    let token = emu.token(&reader.app_id);
    // A Graph that is not there (a closed port): the page read fails in transport.
    let mut conn = emu.conn();
    if let Some(i) = conn.iter().position(|a| a == "--graph-url") {
        conn[i + 1] = "https://127.0.0.1:9".into();
    }
    let r = keyroll(
        &args(&["scan", "--access-token-env", TOKEN_VAR], &conn),
        &[(TOKEN_VAR, &token)],
    );
    assert_eq!(r.code(), Some(4), "{}", r.text());
    assert_ne!(r.code(), Some(0), "{}", r.text());
    let err = r.stderr();
    let first = err
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_default();
    for cause in err
        .lines()
        .filter_map(|l| l.trim().strip_prefix("caused by: "))
    {
        assert!(!first.contains(cause), "said twice: {err}");
    }
}

/// Regression: a scan waiting out the read budget printed nothing (unless -v) while it waited.
#[test]
fn a_scan_waiting_out_the_read_budget_says_so() {
    let emu = emulator(&["--read-budget", "1/1"]);
    let reader = emu.create(&[], json!({"roles": ["Application.Read.All"]}));
    let token = emu.token(&reader.app_id);
    for _ in 0..3 {
        emu.create(&[], json!({}));
    }
    let r = keyroll(
        &args(
            &[
                "scan",
                "--access-token-env",
                TOKEN_VAR,
                "--type",
                "app",
                "--page-size",
                "2",
                "--output",
                "csv",
            ],
            &emu.conn(),
        ),
        &[(TOKEN_VAR, &token)],
    );
    r.ok();
    assert!(
        r.stderr().contains("throttled (429), retrying in"),
        "{}",
        r.stderr()
    );
    // The rows are all there, on stdout only.
    assert!(!r.stdout().contains("throttled"), "{}", r.stdout());
}
