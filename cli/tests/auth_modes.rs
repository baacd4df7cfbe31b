//! Every way keyroll authenticates, end to end against `keyroll-emulator`: a client certificate, an access
//! token from the environment, and managed identity (with its header secret never echoed).

mod common;

use common::*;
use serde_json::json;

#[test]
fn every_auth_mode() {
    let emu = emulator(&[]);
    let c = certs();
    let conn = emu.conn();

    // A given token (first in precedence), with -v: the token never shows.
    let app = emu.create(&[&c.a], json!({}));
    let token = emu.token(&app.app_id);
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
                "--access-token-env",
                TOKEN_VAR,
                "-v",
            ],
            &conn,
        ),
        &[(TOKEN_VAR, &token)],
    );
    r.ok();
    assert_no_secret(&r, &[&token]);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a, &c.b]));

    // A managed identity in the App Service form: IDENTITY_ENDPOINT + IDENTITY_HEADER from the emulator.
    let info = emu.info();
    let endpoint = info["identityEndpoint"].as_str().unwrap().to_owned();
    let header = info["identityHeader"].as_str().unwrap().to_owned();
    emu.create(
        &[],
        json!({"managedIdentity": true, "roles": ["Application.ReadWrite.All"]}),
    );
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
                "--managed-identity",
                "-v",
            ],
            &conn,
        ),
        &[
            ("IDENTITY_ENDPOINT", &endpoint),
            ("IDENTITY_HEADER", &header),
        ],
    );
    r.ok();
    assert_no_secret(&r, &[&header]);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a, &c.b]));
    // A wrong header secret: refused, said, and the secret is not echoed.
    let r = keyroll(
        &args(
            &["key", "list", "--object-id", &app.id, "--managed-identity"],
            &conn,
        ),
        &[
            ("IDENTITY_ENDPOINT", &endpoint),
            ("IDENTITY_HEADER", "wrong-secret-value-123"),
        ],
    );
    r.fails(3, &["managed identity endpoint answered 401"]);
    assert_no_secret(&r, &["wrong-secret-value-123", &header]);

    // The Azure SDK variables.
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
                "-v",
            ],
            &conn,
        ),
        &[
            ("AZURE_TENANT_ID", &app.tenant),
            ("AZURE_CLIENT_ID", &app.app_id),
            ("AZURE_CLIENT_CERTIFICATE_PATH", c.a.p()),
        ],
    );
    r.ok();
    assert_no_secret(&r, &[]);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a, &c.b]));

    // The app's certificate with --tenant-id/--client-id, signed by a certificate the app does not hold:
    // the identity platform's refusal, explained.
    let app = emu.create(&[&c.a], json!({}));
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
                c.c.p(),
            ],
            &conn,
        ),
        &[],
    );
    r.fails(3, &["AADSTS700027", "not registered"]);
    assert_no_secret(&r, &[]);

    // Nothing to authenticate with.
    let r = keyroll(&args(&["key", "list", "--object-id", &app.id], &conn), &[]);
    r.fails(2, &["no credentials"]);
}
