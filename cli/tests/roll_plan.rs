//! `keyroll roll --plan` end to end: CSV and JSON plans with a results file, and the integrity of a bulk run
//! (one roll per object, conflicting rows refused before the first write, one keyroll per plan at a time).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use keyroll_testkit::case;
use serde_json::{Value, json};

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn roll_plan_csv_and_json_with_results() {
    let emu = emulator(&["--write-budget", "5/1"]);
    let c = certs();
    let conn = emu.conn();
    let automation = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&automation.app_id);
    let dir = tempfile::tempdir().unwrap();
    let apps: Vec<Created> = (0..6).map(|_| emu.create(&[&c.a], json!({}))).collect();

    // CSV: paths relative to the plan file, objectId or appId per row, one row that cannot succeed.
    std::fs::copy(c.a.p(), dir.path().join("a.pem")).unwrap();
    std::fs::copy(c.b.p(), dir.path().join("b.pem")).unwrap();
    let mut csv = String::from("objectId,appId,cert,newCert,removeOld\n");
    for (i, a) in apps[..3].iter().enumerate() {
        if i % 2 == 0 {
            csv.push_str(&format!("{},,a.pem,b.pem,true\n", a.id));
        } else {
            csv.push_str(&format!(",{},a.pem,b.pem,true\n", a.app_id));
        }
    }
    // The signing certificate is not on this object: that row fails, the others do not.
    let stranger = emu.create(&[&c.c], json!({}));
    csv.push_str(&format!("{},,a.pem,b.pem,true\n", stranger.id));
    let plan = dir.path().join("plan.csv");
    write(&plan, &csv);
    let results = dir.path().join("results.csv");
    let r = keyroll(
        &args(
            &[
                "roll",
                "--plan",
                plan.to_str().unwrap(),
                "--results",
                results.to_str().unwrap(),
                "--tenant-id",
                &automation.tenant,
                "--access-token-env",
                TOKEN_VAR,
                "--concurrency",
                "4",
            ],
            &conn,
        ),
        &[(TOKEN_VAR, &token)],
    );
    assert_eq!(r.code(), Some(1), "{}{}", r.stdout(), r.stderr());
    assert!(r.stdout().contains("4 rolls in"), "{}", r.stdout());
    assert!(
        r.stdout().contains("3 succeeded, 1 failed"),
        "{}",
        r.stdout()
    );
    assert_no_secret(&r, &[&token]);
    let text = std::fs::read_to_string(&results).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "row",
            "target",
            "objectId",
            "success",
            "newKeyId",
            "removedKeyIds",
            "state",
            "detail",
            "error"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4, "{text}");
    for (row, a) in rows[..3].iter().zip(&apps[..3]) {
        assert_eq!(&row[2], a.id.as_str(), "{text}");
        assert_eq!(&row[3], "true", "{text}");
        assert!(!row[4].is_empty() && !row[5].is_empty(), "{text}");
    }
    assert_eq!(&rows[3][3], "false", "{text}");
    assert!(rows[3][8].contains("not a key credential"), "{text}");
    for a in &apps[..3] {
        assert_eq!(emu.thumbs(&a.id), sorted(&[&c.b]));
    }
    assert_eq!(emu.thumbs(&stranger.id), sorted(&[&c.c]));

    // JSON plan, JSON results, keeping the old keys.
    let rows: Vec<Value> = apps[3..]
        .iter()
        .map(|a| json!({"objectId": a.id, "cert": c.a.p(), "newCert": c.b.p(), "removeOld": false}))
        .collect();
    let plan = dir.path().join("plan.json");
    write(&plan, &serde_json::to_string(&rows).unwrap());
    let results = dir.path().join("results.json");
    let r = keyroll(
        &args(
            &[
                "roll",
                "--plan",
                plan.to_str().unwrap(),
                "--results",
                results.to_str().unwrap(),
                "--tenant-id",
                &automation.tenant,
                "--access-token-env",
                TOKEN_VAR,
            ],
            &conn,
        ),
        &[(TOKEN_VAR, &token)],
    );
    r.ok();
    assert!(
        r.stdout().contains("3 succeeded, 0 failed"),
        "{}",
        r.stdout()
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    let reports = v.as_array().unwrap();
    assert_eq!(reports.len(), 3);
    for (rep, a) in reports.iter().zip(&apps[3..]) {
        assert_eq!(rep["success"], true, "{rep}");
        assert_eq!(rep["objectId"], a.id.as_str());
        assert!(rep["newKeyId"].is_string());
        assert_eq!(emu.thumbs(&a.id), sorted(&[&c.a, &c.b]));
    }

    // A plan that is not one: exit 2, the row said.
    let plan = dir.path().join("bad.csv");
    write(&plan, "objectId,cert,newCert,colour\nx,a.pem,b.pem,red\n");
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
    .fails(2, &["row 2"]);
}

// ---------------------------------------------------------------------------------------------------------
// Integrity: one roll per object, and every refusal before the first write.

/// Counts of each certificate's thumbprint on the object.
fn count(emu: &Emu, id: &str, p: &Pem) -> usize {
    emu.thumbs(id).iter().filter(|t| **t == p.thumb()).count()
}

#[test]
fn duplicate_plan_rows_roll_each_object_once() {
    let emu = emulator(&[]);
    let c = certs();
    let conn = emu.conn();
    let automation = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&automation.app_id);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(c.a.p(), dir.path().join("a.pem")).unwrap();
    std::fs::copy(c.b.p(), dir.path().join("b.pem")).unwrap();
    let apps: Vec<Created> = (0..16).map(|_| emu.create(&[&c.a], json!({}))).collect();
    // Each object twice, side by side: by object id, then by appId in upper case; every third a third time,
    // copied as it is. Half of them remove the old key.
    let mut csv = String::from("objectId,appId,cert,newCert,removeOld\n");
    let mut rows_of: Vec<Vec<usize>> = Vec::new();
    let mut n = 0;
    for (i, a) in apps.iter().enumerate() {
        let remove = i % 2 == 0;
        let mut rows = Vec::new();
        csv.push_str(&format!("{},,a.pem,b.pem,{remove}\n", a.id));
        rows.push(n);
        n += 1;
        csv.push_str(&format!(
            ",{},a.pem,b.pem,{remove}\n",
            a.app_id.to_uppercase()
        ));
        rows.push(n);
        n += 1;
        if i % 3 == 0 {
            csv.push_str(&format!("{},,a.pem,b.pem,{remove}\n", a.id));
            rows.push(n);
            n += 1;
        }
        rows_of.push(rows);
    }
    let plan = dir.path().join("plan.csv");
    write(&plan, &csv);
    let results = dir.path().join("results.json");
    let r = keyroll(
        &args(
            &[
                "roll",
                "--plan",
                plan.to_str().unwrap(),
                "--results",
                results.to_str().unwrap(),
                "--tenant-id",
                &automation.tenant,
                "--access-token-env",
                TOKEN_VAR,
                "--concurrency",
                "8",
            ],
            &conn,
        ),
        &[(TOKEN_VAR, &token)],
    );
    let duplicated = apps.iter().filter(|a| count(&emu, &a.id, &c.b) > 1).count();
    assert_eq!(
        duplicated,
        0,
        "{duplicated} of {} objects hold the new certificate more than once\n{}{}",
        apps.len(),
        r.stdout(),
        r.stderr()
    );
    r.ok();
    assert!(
        r.stdout().contains(&format!("{n} succeeded, 0 failed")),
        "{}",
        r.stdout()
    );
    assert_no_secret(&r, &[&token]);
    for (i, a) in apps.iter().enumerate() {
        let want = if i % 2 == 0 {
            sorted(&[&c.b])
        } else {
            sorted(&[&c.a, &c.b])
        };
        assert_eq!(emu.thumbs(&a.id), want, "object {i}");
    }
    // Every row has its result; the rows of one object report the same roll.
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    let reports = v.as_array().unwrap();
    assert_eq!(reports.len(), n);
    for (rows, a) in rows_of.iter().zip(&apps) {
        let _case = case(format!("rows={rows:?} a={a:?}"));
        let first = &reports[rows[0]];
        assert!(first["newKeyId"].is_string(), "{first}");
        for &row in rows {
            let _case = case(format!("row={row:?}"));
            let rep = &reports[row];
            assert_eq!(rep["success"], true, "row {}: {rep}", row + 1);
            assert_eq!(rep["objectId"], a.id.as_str(), "{rep}");
            assert_eq!(rep["newKeyId"], first["newKeyId"], "{rep}");
        }
    }
}

#[test]
fn conflicting_plan_rows_are_refused_before_any_write() {
    let emu = emulator(&[]);
    let c = certs();
    let conn = emu.conn();
    let automation = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&automation.app_id);
    let dir = tempfile::tempdir().unwrap();
    let apps: Vec<Created> = (0..3).map(|_| emu.create(&[&c.a], json!({}))).collect();
    // Row 1 and row 3 name one object (by object id, by appId) with different new certificates; rows 4 and 5
    // name another with different removeOld. Row 2 alone would be fine: nothing at all is written.
    let csv = format!(
        "objectId,appId,cert,newCert,removeOld\n{},,{a},{b},false\n{},,{a},{b},false\n,{},{a},{cc},false\n{},,{a},{b},true\n{},,{a},{b},false\n",
        apps[0].id,
        apps[1].id,
        apps[0].app_id,
        apps[2].id,
        apps[2].id,
        a = c.a.p(),
        b = c.b.p(),
        cc = c.c.p(),
    );
    let plan = dir.path().join("plan.csv");
    write(&plan, &csv);
    let r = keyroll(
        &args(
            &[
                "roll",
                "--plan",
                plan.to_str().unwrap(),
                "--tenant-id",
                &automation.tenant,
                "--access-token-env",
                TOKEN_VAR,
                "--concurrency",
                "8",
            ],
            &conn,
        ),
        &[(TOKEN_VAR, &token)],
    );
    for a in &apps {
        assert_eq!(
            emu.thumbs(&a.id),
            sorted(&[&c.a]),
            "{}{}",
            r.stdout(),
            r.stderr()
        );
    }
    r.fails(
        2,
        &[
            "plan rows 1 and 3",
            &apps[0].id,
            &format!("newCert ({} vs {})", c.b.thumb(), c.c.thumb()),
            "plan rows 4 and 5",
            "removeOld (true vs false)",
            "nothing was written",
        ],
    );
    assert_no_secret(&r, &[&token]);
}

#[test]
fn second_keyroll_on_the_same_plan_is_refused() {
    // Every request takes 150 ms: the first run lasts seconds, long enough to start the second beside it.
    let emu = emulator(&["--latency-ms", "150"]);
    let c = certs();
    let conn = emu.conn();
    let automation = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&automation.app_id);
    let dir = tempfile::tempdir().unwrap();
    let apps: Vec<Created> = (0..4).map(|_| emu.create(&[&c.a], json!({}))).collect();
    let mut csv = String::from("objectId,cert,newCert\n");
    for a in &apps {
        csv.push_str(&format!("{},{},{}\n", a.id, c.a.p(), c.b.p()));
    }
    let plan = dir.path().join("plan.csv");
    write(&plan, &csv);
    let argv = args(
        &[
            "roll",
            "--plan",
            plan.to_str().unwrap(),
            "--tenant-id",
            &automation.tenant,
            "--access-token-env",
            TOKEN_VAR,
            "--concurrency",
            "1",
        ],
        &conn,
    );
    let first = Command::new(env!("CARGO_BIN_EXE_keyroll"))
        .args(&argv)
        .env(TOKEN_VAR, &token)
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
        .env_remove("IDENTITY_ENDPOINT")
        .env_remove("IDENTITY_HEADER")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first_pid = first.id();
    // The first run holds the lock once it has written its process id into the lock file.
    let lock = dir.path().join("plan.csv.lock");
    let t = Instant::now();
    while std::fs::read_to_string(&lock).map_or(true, |s| s.trim().is_empty())
        && t.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    // The same plan, named another way (through `..`), while the first run is busy.
    let other_name = dir
        .path()
        .join("..")
        .join(dir.path().file_name().unwrap())
        .join("plan.csv");
    let mut second_argv = argv.clone();
    second_argv[2] = other_name.to_str().unwrap().to_owned();
    let second = keyroll(&second_argv, &[(TOKEN_VAR, &token)]);
    let first = first.wait_with_output().unwrap();
    let first_err = String::from_utf8_lossy(&first.stderr).into_owned();
    for a in &apps {
        assert_eq!(
            count(&emu, &a.id, &c.b),
            1,
            "second run: {}{}\nfirst run: {first_err}",
            second.stdout(),
            second.stderr()
        );
    }
    second.fails(
        1,
        &[
            "another keyroll",
            &format!("process {first_pid}"),
            "plan.csv.lock",
        ],
    );
    assert!(
        second.elapsed < Duration::from_secs(2),
        "{:?}",
        second.elapsed
    );
    assert_eq!(first.status.code(), Some(0), "{first_err}");
    // The lock ends with the run: the same plan runs again (and finds each new key already there).
    keyroll(&argv, &[(TOKEN_VAR, &token)]).ok();
    for a in &apps {
        assert_eq!(emu.thumbs(&a.id), sorted(&[&c.a, &c.b]));
    }
}
