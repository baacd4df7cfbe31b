//! `keyroll key add --repair` end to end against `keyroll-emulator`: an object whose only certificate expired
//! (addKey refuses it, the service says to use PATCH) gets a new one with every key kept; the app's own token
//! is refused with the permission named; a private key is refused before anything is sent.

mod common;

use common::*;
use serde_json::{Value, json};

#[test]
fn repair_adds_a_certificate_to_an_object_with_none_valid_and_keeps_every_key() {
    let emu = emulator(&[]);
    let c = certs();
    let admin = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&admin.app_id);
    let app = emu.create(&[&c.expired], json!({}));
    let conn = emu.conn();

    // Without --repair: addKey is impossible (no valid certificate signs a proof), and says what to do.
    let r = keyroll(
        &args(
            &[
                "key",
                "add",
                "--object-id",
                &app.id,
                "--new-cert",
                c.a.p(),
                "--cert",
                c.expired.p(),
                "--access-token-env",
                TOKEN_VAR,
            ],
            &conn,
        ),
        &[(TOKEN_VAR, &token)],
    );
    assert_ne!(r.code(), Some(0), "{}", r.text());
    assert!(r.stderr().contains("key add --repair"), "{}", r.stderr());
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.expired]));

    let r = keyroll(
        &args(
            &[
                "key",
                "add",
                "--repair",
                "--object-id",
                &app.id,
                "--new-cert",
                c.a.p(),
                "--access-token-env",
                TOKEN_VAR,
                "--json",
            ],
            &conn,
        ),
        &[(TOKEN_VAR, &token)],
    );
    r.ok();
    assert!(
        r.stderr()
            .contains("replaces the whole keyCredentials collection"),
        "{}",
        r.stderr()
    );
    assert!(
        r.stderr().contains("Application.ReadWrite.All"),
        "{}",
        r.stderr()
    );
    let v: Value = serde_json::from_str(&r.stdout()).unwrap();
    assert_eq!(
        (v["keysBefore"].as_u64(), v["keysAfter"].as_u64()),
        (Some(1), Some(2)),
        "{v}"
    );
    assert_eq!(v["thumbprint"], c.a.thumb());
    assert_no_secret(&r, &[&token]);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.expired, &c.a]));

    // The repaired app rolls on with addKey, signing with the new certificate.
    let r = keyroll(
        &args(
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
            &conn,
        ),
        &[],
    );
    r.ok();
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.expired, &c.a, &c.b]));
}

#[test]
fn repair_with_the_apps_own_token_is_refused_naming_the_permission() {
    let emu = emulator(&[]);
    let c = certs();
    let app = emu.create(&[&c.a], json!({}));
    let r = keyroll(
        &args(
            &[
                "key",
                "add",
                "--repair",
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
        ),
        &[],
    );
    r.fails(3, &["403", "Application.ReadWrite.All"]);
    assert_no_secret(&r, &[]);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a]));
}

#[test]
fn repair_refuses_a_proof_flag_and_a_password_key() {
    let emu = emulator(&[]);
    let c = certs();
    let app = emu.create(&[&c.expired], json!({}));
    let r = keyroll(
        &args(
            &[
                "key",
                "add",
                "--repair",
                "--object-id",
                &app.id,
                "--new-cert",
                c.a.p(),
                "--proof",
                "a.b.c",
            ],
            &emu.conn(),
        ),
        &[],
    );
    r.fails(2, &["--repair", "--proof"]);
    let r = keyroll(
        &args(
            &[
                "key",
                "add",
                "--repair",
                "--object-id",
                &app.id,
                "--new-cert",
                c.a.p(),
                "--type",
                "X509CertAndPassword",
                "--usage",
                "Sign",
                "--access-token-env",
                TOKEN_VAR,
            ],
            &emu.conn(),
        ),
        &[(TOKEN_VAR, "x")],
    );
    r.fails(2, &["--repair adds AsymmetricX509Cert + Verify keys only"]);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.expired]));
}
