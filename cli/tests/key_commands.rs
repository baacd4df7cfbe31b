//! `keyroll --help` and `keyroll key add|list|remove` end to end: the binary against `keyroll-emulator` over
//! HTTPS, for every target form (application or service principal, by object id, appId or displayName) and
//! both API versions. Each test asserts the exit code, the words a user reads, that no secret reaches stdout
//! or stderr, and the object's final key set as the emulator's admin API reports it.

mod common;

use common::*;
use keyroll_testkit::case;
use serde_json::{Value, json};

#[test]
fn help_documents_the_exit_codes() {
    let r = keyroll(&["--help".into()], &[]);
    r.ok();
    let out = r.stdout();
    for w in [
        "Exit codes",
        "2  bad arguments",
        "3  the service refused",
        "4  the service could not be reached",
    ] {
        assert!(out.contains(w), "{w:?} in {out}");
    }
}

#[test]
fn key_add_list_remove_in_every_target_form() {
    let emu = emulator(&[]);
    let c = certs();
    let admin = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let admin_token = emu.token(&admin.app_id);
    for version in ["v1.0", "beta"] {
        let _case = case(format!("version={version:?}"));
        let mut conn = emu.conn();
        conn.extend(["--api-version".to_string(), version.to_string()]);

        // Application by object id, authenticated as itself with its certificate (and -v).
        let app = emu.create(&[&c.a], json!({}));
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
                    "-v",
                ],
                &conn,
            ),
            &[],
        );
        r.ok();
        assert!(r.stdout().contains(&c.b.thumb()), "{}", r.stdout());
        assert!(
            r.stderr().contains("[http] POST"),
            "-v logs requests: {}",
            r.stderr()
        );
        assert!(r.stderr().contains("request-id"), "{}", r.stderr());
        assert_no_secret(&r, &[]);
        assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a, &c.b]));

        // List by appId, marking the signing certificate; JSON too.
        let r = keyroll(
            &args(
                &[
                    "key",
                    "list",
                    "--app-id",
                    &app.app_id,
                    "--cert",
                    c.b.p(),
                    "--access-token-env",
                    TOKEN_VAR,
                ],
                &conn,
            ),
            &[(TOKEN_VAR, &admin_token)],
        );
        r.ok();
        assert!(r.stdout().contains("2 key credential(s)"), "{}", r.stdout());
        assert!(r.stdout().contains(&app.id), "{}", r.stdout());
        assert_no_secret(&r, &[&admin_token]);

        // Remove by thumbprint, addressed by appId.
        let r = keyroll(
            &args(
                &[
                    "key",
                    "remove",
                    "--app-id",
                    &app.app_id,
                    "--thumbprint",
                    &c.b.thumb(),
                    "--cert",
                    c.a.p(),
                    "--access-token-env",
                    TOKEN_VAR,
                    "-v",
                ],
                &conn,
            ),
            &[(TOKEN_VAR, &admin_token)],
        );
        r.ok();
        assert_no_secret(&r, &[&admin_token]);
        assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a]));

        // Add by appId.
        let r = keyroll(
            &args(
                &[
                    "key",
                    "add",
                    "--app-id",
                    &app.app_id,
                    "--new-cert",
                    c.c.p(),
                    "--cert",
                    c.a.p(),
                    "--access-token-env",
                    TOKEN_VAR,
                    "--json",
                ],
                &conn,
            ),
            &[(TOKEN_VAR, &admin_token)],
        );
        r.ok();
        let v: Value = serde_json::from_str(&r.stdout()).unwrap();
        assert!(v["key"]["keyId"].is_string(), "{v}");
        assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a, &c.c]));

        // Service principal.
        let sp = emu.create(&[], json!({"servicePrincipalCertificates": [c.a.b64()]}));
        let r = keyroll(
            &args(
                &[
                    "key",
                    "add",
                    "--target",
                    "service-principal",
                    "--object-id",
                    &sp.sp_id,
                    "--new-cert",
                    c.b.p(),
                    "--cert",
                    c.a.p(),
                    "--access-token-env",
                    TOKEN_VAR,
                ],
                &conn,
            ),
            &[(TOKEN_VAR, &admin_token)],
        );
        r.ok();
        assert_eq!(emu.thumbs(&sp.sp_id), sorted(&[&c.a, &c.b]));
        let r = keyroll(
            &args(
                &[
                    "key",
                    "remove",
                    "--target",
                    "service-principal",
                    "--object-id",
                    &sp.sp_id,
                    "--remove-cert",
                    c.b.p(),
                    "--cert",
                    c.a.p(),
                    "--access-token-env",
                    TOKEN_VAR,
                ],
                &conn,
            ),
            &[(TOKEN_VAR, &admin_token)],
        );
        r.ok();
        assert_eq!(emu.thumbs(&sp.sp_id), sorted(&[&c.a]));

        // Agent identity blueprint, authenticated as itself.
        let bp = emu.create(&[&c.a], json!({"kind": "agentIdentityBlueprint"}));
        let r = keyroll(
            &args(
                &[
                    "key",
                    "add",
                    "--target",
                    "agent-blueprint",
                    "--object-id",
                    &bp.id,
                    "--new-cert",
                    c.b.p(),
                    "--cert",
                    c.a.p(),
                    "--tenant-id",
                    &bp.tenant,
                    "--client-id",
                    &bp.app_id,
                ],
                &conn,
            ),
            &[],
        );
        r.ok();
        assert_eq!(emu.thumbs(&bp.id), sorted(&[&c.a, &c.b]));
    }
}
