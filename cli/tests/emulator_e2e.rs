//! `keyroll roll` against a `keyroll-emulator` that behaves like the real service on its bad days (issue 16):
//! reads of an object's keys lag its writes and a new key signs in late, together with dropped answers
//! (drop-after-commit) and 429s; and an emulator restarted on its state. What must hold: exactly one new key,
//! nothing lost, no object locked out, the roll waits out the token delay with progress, `--verify-timeout`
//! says what happened when it runs out, and clients that trust the CA file of an earlier run keep working.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Created, Emu, Run, TOKEN_VAR, certs, emulator, keyroll};
use keyroll_proto::cert::Certificate;
use keyroll_testkit::case;
use serde_json::{Value, json};

fn single_roll(emu: &Emu, app: &Created, extra: &[&str]) -> Vec<String> {
    let c = certs();
    let mut a: Vec<String> = [
        "roll",
        "--object-id",
        &app.id,
        "--cert",
        c.a.p(),
        "--new-cert",
        c.b.p(),
        "--tenant-id",
        &app.tenant,
        "--client-id",
        &app.app_id,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.extend(extra.iter().map(|s| s.to_string()));
    a.extend(emu.conn());
    a
}

fn count(thumbs: &[String], cert: &Certificate) -> usize {
    thumbs.iter().filter(|t| **t == cert.sha1_hex()).count()
}

/// Runs `args` under a pseudo-terminal (`script`), where the roll draws its waiting line.
fn keyroll_on_a_tty(args: &[String]) -> Option<Run> {
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let line = std::iter::once(env!("CARGO_BIN_EXE_keyroll").to_owned())
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let t = Instant::now();
    let out = Command::new(script)
        .args(["-qec", &line, "/dev/null"])
        .current_dir(&certs().dir)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    Some(Run {
        out,
        elapsed: t.elapsed(),
    })
}

#[test]
fn roll_waits_out_the_token_delay_with_progress() {
    let emu = emulator(&[
        "--replication-delay-ms",
        "1000",
        "--key-activation-delay-ms",
        "2500",
        "--throttle",
        "2",
        "--retry-after",
        "0.2",
    ]);
    let c = certs();
    let app = emu.create(&[c.a.cert()], json!({}));
    let args = single_roll(&emu, &app, &["--remove-old"]);
    let r = keyroll_on_a_tty(&args).unwrap_or_else(|| keyroll(&args, &[]));
    let text = r.text();
    assert_eq!(r.code(), Some(0), "{text}");
    assert!(r.elapsed >= Duration::from_millis(2400), "{:?}", r.elapsed);
    assert!(
        text.contains("a token was issued for the new certificate after"),
        "{text}"
    );
    if keyroll_on_a_tty(&["--version".into()]).is_some() {
        assert!(
            text.contains("waiting for the new key to be usable (attempt"),
            "no progress while waiting: {text}"
        );
    }
    let thumbs = emu.thumbs(&app.id);
    assert_eq!(thumbs, vec![c.b.thumb()], "{text}");
}

#[test]
fn verify_timeout_running_out_keeps_the_old_key_and_one_new_key() {
    let emu = emulator(&["--key-activation-delay-ms", "4000"]);
    let c = certs();
    let app = emu.create(&[c.a.cert()], json!({}));
    let r = keyroll(
        &single_roll(&emu, &app, &["--remove-old", "--verify-timeout", "1"]),
        &[],
    );
    let text = r.text();
    assert_eq!(r.code(), Some(1), "{text}");
    assert!(r.elapsed < Duration::from_secs(15), "{:?}", r.elapsed);
    assert!(
        text.contains("the new key was added but could not be verified; the old key was kept"),
        "{text}"
    );
    // The first error line says what the object holds and the command that completes the roll.
    let first = r
        .stderr()
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_default()
        .to_string();
    for w in [
        "did not complete (incomplete)",
        "the old key was kept",
        "run the same keyroll roll command again",
        "--verify-timeout",
    ] {
        assert!(first.contains(w), "{w:?} in {first}");
    }
    let thumbs = emu.thumbs(&app.id);
    assert_eq!(count(&thumbs, c.a.cert()), 1, "{text}");
    assert_eq!(count(&thumbs, c.b.cert()), 1, "{text}");
    // Run again once the key signs in: it goes on from where it stopped, and adds nothing.
    let again = keyroll(
        &single_roll(&emu, &app, &["--remove-old", "--verify-timeout", "60"]),
        &[],
    );
    let text = again.text();
    again.ok();
    assert!(text.contains("already a key"), "{text}");
    assert_eq!(emu.thumbs(&app.id), vec![c.b.thumb()], "{text}");
}

#[test]
fn verify_timeout_running_out_does_not_say_so() {
    let emu = emulator(&["--key-activation-delay-ms", "30000"]);
    let c = certs();
    let app = emu.create(&[c.a.cert()], json!({}));
    let r = keyroll(&single_roll(&emu, &app, &["--verify-timeout", "1"]), &[]);
    let text = r.text();
    assert_eq!(r.code(), Some(1), "{text}");
    assert!(text.contains("--verify-timeout"), "{text}");
    assert!(
        !text.contains("authenticate with one of the app's current certificates"),
        "{text}"
    );
}

#[test]
fn lost_add_key_answer_under_replication_delay_adds_the_key_twice() {
    let emu = emulator(&[
        "--replication-delay-ms",
        "1500",
        "--key-activation-delay-ms",
        "1000",
        "--drop-after-commit",
        "1",
    ]);
    let c = certs();
    let app = emu.create(&[c.a.cert()], json!({}));
    let r = keyroll(&single_roll(&emu, &app, &[]), &[]);
    let text = r.text();
    assert_eq!(r.code(), Some(0), "{text}");
    let thumbs = emu.thumbs(&app.id);
    assert_eq!(count(&thumbs, c.b.cert()), 1, "duplicate key: {text}");
    assert_eq!(count(&thumbs, c.a.cert()), 1, "{text}");
}

/// A bulk roll of `n` applications with `--remove-old` under `flags`; returns (failed rows, duplicates,
/// objects not holding exactly the new key, objects left without a key that signs in).
fn bulk(n: usize, flags: &[&str]) -> (usize, usize, usize, usize, String) {
    let emu = emulator(flags);
    let c = certs();
    let automation = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&automation.app_id);
    let apps: Vec<Created> = (0..n)
        .map(|_| emu.create(&[c.a.cert()], json!({})))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&c.a.path, dir.path().join("old.pem")).unwrap();
    std::fs::copy(&c.b.path, dir.path().join("new.pem")).unwrap();
    let mut csv = String::from("objectId,cert,newCert,removeOld\n");
    for a in &apps {
        csv.push_str(&format!("{},old.pem,new.pem,true\n", a.id));
    }
    let plan = dir.path().join("plan.csv");
    std::fs::write(&plan, csv).unwrap();
    let results = dir.path().join("results.json");
    let mut args: Vec<String> = [
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
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(emu.conn());
    let r = keyroll(&args, &[(TOKEN_VAR, &token)]);
    let rows: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&results).unwrap_or_default())
            .unwrap_or_default();
    let failed =
        rows.iter().filter(|r| r["success"] != true).count() + n.saturating_sub(rows.len());
    let (mut dup, mut lost, mut locked) = (0, 0, 0);
    for a in &apps {
        let t = emu.thumbs(&a.id);
        dup += usize::from(count(&t, c.b.cert()) > 1);
        lost += usize::from(count(&t, c.b.cert()) != 1 || count(&t, c.a.cert()) != 0);
        locked += usize::from(count(&t, c.b.cert()) == 0 && count(&t, c.a.cert()) == 0);
    }
    (failed, dup, lost, locked, r.text())
}

#[test]
fn bulk_roll_under_replication_delay_and_429s() {
    let (failed, dup, lost, locked, text) = bulk(
        12,
        &[
            "--replication-delay-ms",
            "800",
            "--key-activation-delay-ms",
            "1500",
            "--throttle",
            "6",
            "--retry-after",
            "0.3",
        ],
    );
    assert_eq!((failed, dup, lost, locked), (0, 0, 0, 0), "{text}");
}

#[test]
fn bulk_roll_under_replication_delay_with_lost_answers_duplicates_keys() {
    let (failed, dup, lost, locked, text) = bulk(
        12,
        &[
            "--replication-delay-ms",
            "800",
            "--key-activation-delay-ms",
            "1500",
            "--throttle",
            "6",
            "--retry-after",
            "0.3",
            "--drop-after-commit",
            "4",
        ],
    );
    assert_eq!((failed, dup, lost, locked), (0, 0, 0, 0), "{text}");
}

#[test]
fn remove_old_under_read_lag_longer_than_the_token_delay_fails_the_roll() {
    let emu = emulator(&[
        "--replication-delay-ms",
        "4000",
        "--key-activation-delay-ms",
        "300",
    ]);
    let c = certs();
    let app = emu.create(&[c.a.cert()], json!({}));
    let r = keyroll(&single_roll(&emu, &app, &["--remove-old"]), &[]);
    let text = r.text();
    assert_eq!(r.code(), Some(0), "{text}");
    assert_eq!(emu.thumbs(&app.id), vec![c.b.thumb()], "{text}");
    // The final read lags the removal; the roll knows better than to report the old key as still there.
    assert!(
        text.contains("final   done     the object holds 1 key credential(s)"),
        "{text}"
    );
}

/// The seconds in "a token was issued for the new certificate after S s".
fn verified_after(text: &str) -> f64 {
    let words = "a token was issued for the new certificate after ";
    let at = text.find(words).unwrap_or_else(|| panic!("{text}")) + words.len();
    text[at..].split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn waiting_progress_shows_only_on_a_tty_and_the_verify_poll_overshoots() {
    let emu = emulator(&["--key-activation-delay-ms", "4000"]);
    let c = certs();
    // -v, not on a terminal: a plain line per token request.
    let app = emu.create(&[c.a.cert()], json!({}));
    let r = keyroll(&single_roll(&emu, &app, &["-v"]), &[]);
    let text = r.text();
    assert_eq!(r.code(), Some(0), "{text}");
    assert!(
        text.contains("] waiting for the new key to be usable (attempt 3, "),
        "{text}"
    );
    // A key usable after 4 s is noticed soon after, not at the next doubling of the pause (7.5 s).
    let after = verified_after(&text);
    assert!((3.9..5.0).contains(&after), "{after}: {text}");
}

#[test]
fn bulk_roll_waiting_out_a_long_token_delay_says_nothing() {
    let (failed, dup, lost, locked, text) = bulk(2, &["--key-activation-delay-ms", "6500"]);
    assert_eq!((failed, dup, lost, locked), (0, 0, 0, 0), "{text}");
    // Without -v and without a terminal, a long wait prints a plain line every few seconds.
    assert!(
        text.contains("] waiting for the new key to be usable (attempt "),
        "{text}"
    );
}

#[test]
fn new_ca_at_every_https_start_fails_rolls_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let state = state.to_str().unwrap();
    let c = certs();
    let first = emulator(&["--state", state]);
    let apps: Vec<Created> = (0..4)
        .map(|_| first.create(&[c.a.cert()], json!({})))
        .collect();
    let pinned_ca = first.ca().to_owned();
    let r = keyroll(&single_roll(&first, &apps[0], &["--remove-old"]), &[]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    drop(first);

    // Restarted on the same state; every client still trusts the first run's CA file.
    let second = emulator(&["--state", state]);
    for app in &apps[1..] {
        let _case = case(format!("app={app:?}"));
        let mut args = single_roll(&second, app, &["--remove-old"]);
        let n = args.len();
        args[n - 1] = pinned_ca.clone();
        assert_eq!(args[n - 2], "--ca-cert");
        let r = keyroll(&args, &[]);
        assert_eq!(r.code(), Some(0), "after restart: {}", r.text());
        assert_eq!(second.thumbs(&app.id), vec![c.b.thumb()]);
    }
}
