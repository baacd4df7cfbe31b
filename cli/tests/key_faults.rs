//! `keyroll key add` against an emulator that fails on purpose (429s, 5xx, dropped answers): retries leave
//! exactly one new key, never a duplicate or a lost one.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

#[test]
fn faults_leave_exactly_one_new_key() {
    let c = certs();

    // A 429 storm with a fractional Retry-After, then a 503: honoured, one key.
    let emu = emulator(&["--throttle", "3", "--retry-after", "0.4"]);
    let app = emu.create(&[&c.a], json!({}));
    let add = |emu: &Emu, app: &Created, extra: &[&str]| {
        let mut a = args(
            &[
                "key",
                "add",
                "--object-id",
                &app.id,
                "--new-cert",
                c.b.p(),
                "--cert",
                c.a.p(),
                "--tenant-id",
                &app.tenant,
                "--client-id",
                &app.app_id,
            ],
            &emu.conn(),
        );
        a.extend(extra.iter().map(|s| s.to_string()));
        keyroll(&a, &[])
    };
    let r = add(&emu, &app, &["-v"]);
    r.ok();
    assert!(
        r.elapsed >= Duration::from_millis(1150),
        "three Retry-After of 0.4 s: {:?}",
        r.elapsed
    );
    assert!(r.stderr().contains("Retry-After 0.4"), "{}", r.stderr());
    assert_no_secret(&r, &[]);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a, &c.b]));

    let app = emu.create(&[&c.a], json!({}));
    emu.faults(json!({"unavailable": {"count": 2, "retryAfter": 0.3}}));
    let r = add(&emu, &app, &[]);
    r.ok();
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a, &c.b]));

    // Unavailable for longer than the retry budget: exit 3, the 503 said, nothing added.
    let app = emu.create(&[&c.a], json!({}));
    emu.faults(json!({"unavailable": {"retryAfter": 0.01}}));
    let r = add(&emu, &app, &[]);
    r.fails(3, &["503 ServiceUnavailable", "gave up after 8 attempts"]);
    emu.faults(json!({}));
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a]));

    // Latency past --timeout: exit 4, said as a timeout, and the key is there at most once.
    let app = emu.create(&[&c.a], json!({}));
    emu.faults(json!({"latencyMs": 1600}));
    let r = add(&emu, &app, &["--timeout", "1"]);
    r.fails(4, &["timed out"]);
    assert_no_secret(&r, &[]);
    emu.faults(json!({}));
    assert!(
        emu.thumbs(&app.id)
            .iter()
            .filter(|t| **t == c.b.thumb())
            .count()
            <= 1
    );

    // The connection drops after addKey committed: found by reading, not added twice.
    let emu = emulator(&["--drop-after-commit", "1"]);
    let app = emu.create(&[&c.a], json!({}));
    let r = add(&emu, &app, &[]);
    r.ok();
    assert!(
        r.stdout()
            .contains("the answer was lost; confirmed by reading the keys"),
        "{}",
        r.stdout()
    );
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a, &c.b]));
    // Running it again changes nothing: the certificate is already there.
    let r = add(&emu, &app, &[]);
    r.fails(2, &["already a key credential", "nothing was added"]);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a, &c.b]));
}
