//! `keyroll roll` run again, interrupted and resumed, as operators do: a finished roll or plan re-run is
//! "already rolled" (exit 0, no write); Ctrl-C finishes the rolls in flight and writes the summary, the results and
//! the journal; a kill -9 leaves the journal of the rows that ended; `--resume` finishes the rest with no key
//! duplicated, lost or locked out.

#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// A plan of `apps` rolling a → b and removing a; its path.
fn plan(dir: &Path, apps: &[Created]) -> std::path::PathBuf {
    let c = certs();
    std::fs::copy(c.a.p(), dir.join("a.pem")).unwrap();
    std::fs::copy(c.b.p(), dir.join("b.pem")).unwrap();
    let mut csv = String::from("objectId,cert,newCert,removeOld\n");
    for a in apps {
        csv.push_str(&format!("{},a.pem,b.pem,true\n", a.id));
    }
    let path = dir.join("plan.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

fn journal_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Every object holds exactly one key, the new certificate's: nothing duplicated, lost or locked out.
#[track_caller]
fn all_rolled_once(emu: &Emu, apps: &[Created]) {
    let c = certs();
    for a in apps {
        assert_eq!(emu.thumbs(&a.id), sorted(&[&c.b]), "object {}", a.id);
    }
}

/// Starts `keyroll` like [`keyroll`] does, but in the background.
fn spawn(args: &[String], token: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_keyroll"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .current_dir(&certs().dir)
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env(TOKEN_VAR, token)
        .spawn()
        .expect("start keyroll")
}

/// The rows of a --results JSON file (an array, or a document with its rolls).
fn results_rows(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        other => other["rolls"].as_array().cloned().unwrap_or_default(),
    }
}

/// Waits until the journal has `n` lines (at most 60 s).
fn wait_for_lines(journal: &Path, n: usize) {
    let t = Instant::now();
    while journal_lines(journal).len() < n {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "journal never reached {n} lines"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

#[test]
fn a_finished_roll_or_plan_run_again_is_already_rolled() {
    let emu = emulator(&[]);
    let c = certs();
    let conn = emu.conn();
    let automation = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&automation.app_id);
    let dir = tempfile::tempdir().unwrap();
    let apps: Vec<Created> = (0..5).map(|_| emu.create(&[&c.a], json!({}))).collect();
    let plan = plan(dir.path(), &apps);
    let run = |extra: &[&str]| {
        let mut a = vec![
            "roll",
            "--plan",
            plan.to_str().unwrap(),
            "--access-token-env",
            TOKEN_VAR,
        ];
        a.extend_from_slice(extra);
        keyroll(&args(&a, &conn), &[(TOKEN_VAR, &token)])
    };
    run(&[]).ok();
    all_rolled_once(&emu, &apps);
    // Regression: every row of a finished plan re-run was FAILED ("... is not a key credential"), exit 1.
    let again = run(&[]);
    again.ok();
    assert!(
        again.stdout().contains("5 succeeded, 0 failed"),
        "{}",
        again.stdout()
    );
    let journal = dir.path().join("plan.csv.journal");
    let lines = journal_lines(&journal);
    assert_eq!(lines.len(), 10, "{lines:?}");
    assert!(
        lines[5..].iter().all(|l| l["state"] == "alreadyRolled"),
        "{lines:?}"
    );
    all_rolled_once(&emu, &apps);

    // Regression: a finished single roll re-run exited 3.
    let single = keyroll(
        &args(
            &[
                "roll",
                "--object-id",
                &apps[0].id,
                "--cert",
                c.a.p(),
                "--new-cert",
                c.b.p(),
                "--remove-old",
                "--access-token-env",
                TOKEN_VAR,
                "--json",
            ],
            &conn,
        ),
        &[(TOKEN_VAR, &token)],
    );
    single.ok();
    assert!(
        single.stdout().contains("alreadyRolled"),
        "{}",
        single.stdout()
    );
    all_rolled_once(&emu, &apps);
}

#[test]
fn ctrl_c_finishes_the_rolls_in_flight_and_resume_finishes_the_plan() {
    // Two writes a second: a 12-app plan takes about 12 s, time to interrupt it.
    let emu = emulator(&["--write-budget", "2/1"]);
    let c = certs();
    let conn = emu.conn();
    let automation = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&automation.app_id);
    let dir = tempfile::tempdir().unwrap();
    let apps: Vec<Created> = (0..12).map(|_| emu.create(&[&c.a], json!({}))).collect();
    let plan = plan(dir.path(), &apps);
    let journal = dir.path().join("plan.csv.journal");
    let results = dir.path().join("results.json");
    let a = args(
        &[
            "roll",
            "--plan",
            plan.to_str().unwrap(),
            "--access-token-env",
            TOKEN_VAR,
            "--concurrency",
            "2",
            "--results",
            results.to_str().unwrap(),
        ],
        &conn,
    );
    let child = spawn(&a, &token);
    wait_for_lines(&journal, 2);
    signal(&child, "-INT");
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(130), "{stdout}{stderr}");
    assert!(stderr.contains("stopping"), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    assert!(stdout.contains("12 rolls in"), "{stdout}");
    // Rows the stop left unstarted are counted apart, not as failures, and get no FAILED line each.
    assert!(stdout.contains(" not started"), "{stdout}");
    assert!(stdout.contains(", 0 failed"), "{stdout}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
    // The journal holds every row that finished; the results every row, finished or not started.
    let lines = journal_lines(&journal);
    let rolled = lines.iter().filter(|l| l["state"] == "rolled").count();
    assert_eq!(rolled, lines.len(), "{lines:?}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    let rows = results_rows(&r);
    assert_eq!(rows.len(), 12, "{r}");
    let not_started = rows.iter().filter(|l| l["state"] == "notStarted").count();
    assert!(rolled >= 2 && not_started >= 1, "{lines:?}");
    assert_eq!(rolled + not_started, 12, "{r}");

    // Resumed: the rest is rolled, the rows done are not touched again.
    let mut resume = a.clone();
    resume.extend([
        "--resume".to_string(),
        journal.to_str().unwrap().to_string(),
    ]);
    let r = keyroll(&resume, &[(TOKEN_VAR, &token)]);
    r.ok();
    assert!(
        r.stdout()
            .contains(&format!("({rolled} of them done in an earlier run)")),
        "{}",
        r.stdout()
    );
    all_rolled_once(&emu, &apps);
    let last = journal_lines(&journal);
    assert_eq!(last.len(), 12, "{last:?}");
}

#[test]
fn a_kill_leaves_the_journal_of_the_rows_that_ended_and_resume_finishes() {
    let emu = emulator(&["--write-budget", "3/1"]);
    let c = certs();
    let conn = emu.conn();
    let automation = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&automation.app_id);
    let dir = tempfile::tempdir().unwrap();
    let apps: Vec<Created> = (0..12).map(|_| emu.create(&[&c.a], json!({}))).collect();
    let plan = plan(dir.path(), &apps);
    let journal = dir.path().join("plan.csv.journal");
    let a = args(
        &[
            "roll",
            "--plan",
            plan.to_str().unwrap(),
            "--access-token-env",
            TOKEN_VAR,
            "--concurrency",
            "4",
        ],
        &conn,
    );
    let mut child = spawn(&a, &token);
    wait_for_lines(&journal, 3);
    signal(&child, "-KILL");
    child.wait().unwrap();
    let done = journal_lines(&journal).len();
    assert!((3..12).contains(&done), "{done}");
    // Some objects may be half-done (new key added, old kept): the resume goes on from there.
    let mut resume = a.clone();
    resume.extend([
        "--resume".to_string(),
        journal.to_str().unwrap().to_string(),
    ]);
    let r = keyroll(&resume, &[(TOKEN_VAR, &token)]);
    r.ok();
    assert!(r.stdout().contains("12 succeeded"), "{}", r.stdout());
    all_rolled_once(&emu, &apps);
}
