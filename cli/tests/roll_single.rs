//! `keyroll roll` of one object end to end: add the new key, verify it signs in, remove the old one; the
//! refusal to remove an object's last key; and the refusals that come before any write (same certificate, a
//! certificate not yet valid, `--remove-old` without a tenant).

mod common;

use std::time::Duration;

use common::*;
use keyroll_testkit::case;
use serde_json::{Value, json};

#[test]
fn roll_single_with_remove_old_and_the_last_key_refusal() {
    let emu = emulator(&[]);
    let c = certs();
    let conn = emu.conn();
    let app = emu.create(&[&c.a], json!({}));
    let r = keyroll(
        &args(
            &[
                "roll",
                "--object-id",
                &app.id,
                "--cert",
                c.a.p(),
                "--new-cert",
                c.b.p(),
                "--remove-old",
                "--tenant-id",
                &app.tenant,
                "--client-id",
                &app.app_id,
                "-v",
            ],
            &conn,
        ),
        &[],
    );
    r.ok();
    let out = r.stdout();
    for w in [
        "add     done",
        "verify  done",
        "remove  done",
        "state: rolled",
    ] {
        assert!(out.contains(w), "{w:?} in {out}");
    }
    assert_no_secret(&r, &[]);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.b]));
    // The old certificate no longer gets a token: authenticating with it is refused.
    let r = keyroll(
        &args(
            &[
                "key",
                "list",
                "--object-id",
                &app.id,
                "--tenant-id",
                &app.tenant,
                "--client-id",
                &app.app_id,
                "--auth-cert",
                c.a.p(),
            ],
            &conn,
        ),
        &[],
    );
    r.fails(3, &["AADSTS700027"]);
    // The new one does.
    keyroll(
        &args(
            &[
                "key",
                "list",
                "--object-id",
                &app.id,
                "--tenant-id",
                &app.tenant,
                "--client-id",
                &app.app_id,
                "--auth-cert",
                c.b.p(),
            ],
            &conn,
        ),
        &[],
    )
    .ok();

    // Rolling to the certificate in use with --remove-old would remove the last valid certificate: refused
    // before anything is written, as bad input.
    let app = emu.create(&[&c.a], json!({}));
    let r = keyroll(
        &args(
            &[
                "roll",
                "--app-id",
                &app.app_id,
                "--cert",
                c.a.p(),
                "--new-cert",
                c.a.p(),
                "--remove-old",
                "--tenant-id",
                &app.tenant,
                "--json",
            ],
            &conn,
        ),
        &[],
    );
    assert_eq!(r.code(), Some(2), "{}{}", r.stdout(), r.stderr());
    let doc: Value = serde_json::from_str(&r.stdout()).unwrap();
    assert_eq!(doc["error"]["exitCode"], 2, "{doc}");
    let v = &doc["rolls"][0];
    assert_eq!(v["success"], false);
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{v}");
    assert_eq!(steps[0]["step"], "check");
    assert_eq!(steps[0]["status"], "failed");
    // Core's detail names the concepts; the CLI adds its flags on stderr.
    assert!(
        steps[0]["detail"]
            .as_str()
            .unwrap()
            .contains("as the new one"),
        "{v}"
    );
    assert!(r.stderr().contains("--new-cert"), "{}", r.stderr());
    assert_no_secret(&r, &[]);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a]));
}

/// `keyroll roll` of `app` from `from` to `to`, authenticated as the app with `from`.
fn roll_as_app(emu: &Emu, app: &Created, from: &Pem, to: &Pem, extra: &[&str]) -> Run {
    let mut a = args(
        &[
            "roll",
            "--object-id",
            &app.id,
            "--cert",
            from.p(),
            "--new-cert",
            to.p(),
            "--tenant-id",
            &app.tenant,
            "--client-id",
            &app.app_id,
        ],
        &emu.conn(),
    );
    a.extend(extra.iter().map(|s| s.to_string()));
    keyroll(&a, &[])
}

#[test]
fn roll_to_the_same_certificate_is_refused_before_any_write() {
    let emu = emulator(&[]);
    let c = certs();
    for extra in [&[][..], &["--remove-old"][..], &["--json"][..]] {
        let _case = case(format!("extra={extra:?}"));
        let app = emu.create(&[&c.a], json!({}));
        let r = roll_as_app(&emu, &app, &c.a, &c.a, extra);
        r.fails(
            2,
            &["--cert", "--new-cert", &c.a.thumb(), "nothing was written"],
        );
        assert!(
            !r.stdout().contains("verified"),
            "{extra:?}: {}",
            r.stdout()
        );
        assert_no_secret(&r, &[]);
        assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a]));
    }
}

#[test]
fn not_yet_valid_new_certificate_is_refused_before_the_add() {
    let emu = emulator(&[]);
    let c = certs();
    let app = emu.create(&[&c.a], json!({}));
    let r = roll_as_app(&emu, &app, &c.a, &c.future, &["--verify-timeout", "4"]);
    let valid_from = c.future.cert().not_before();
    r.fails(
        2,
        &[
            "not valid until",
            &format!(
                "{}-{:02}-{:02}",
                valid_from.year(),
                u8::from(valid_from.month()),
                valid_from.day()
            ),
            &c.future.thumb(),
            "nothing was written",
        ],
    );
    assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
    assert_no_secret(&r, &[]);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a]));
}

#[test]
fn remove_old_with_a_token_verifies_in_the_token_tenant() {
    let emu = emulator(&[]);
    let c = certs();
    let app = emu.create(&[&c.a], json!({}));
    // Regression: the app's own token and no --tenant-id: the roll wanted a tenant id that the token's `tid`
    // claim holds.
    let token = emu.token(&app.app_id);
    let r = keyroll(
        &args(
            &[
                "roll",
                "--object-id",
                &app.id,
                "--cert",
                c.a.p(),
                "--new-cert",
                c.b.p(),
                "--remove-old",
                "--access-token-env",
                TOKEN_VAR,
            ],
            &emu.conn(),
        ),
        &[(TOKEN_VAR, &token)],
    );
    r.ok();
    assert_no_secret(&r, &[&token]);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.b]));
}
