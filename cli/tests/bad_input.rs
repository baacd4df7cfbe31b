//! Bad input to `keyroll key` and `keyroll roll`: each answered with a clear error naming the problem and the
//! fix, the documented exit code, and no secret in the output; a server that is not Graph is named as such.

mod common;

use common::*;
use keyroll_testkit::servers::fixed_answer;
use serde_json::json;

#[test]
fn bad_input_gets_clear_errors_and_the_right_exit_code() {
    let emu = emulator(&[]);
    let c = certs();
    let conn = emu.conn();
    let app = emu.create(&[&c.a, &c.expired], json!({}));
    let admin = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&admin.app_id);
    let env = [(TOKEN_VAR, token.as_str())];
    let add = |object: &[&str], cert: &Pem, new: &Pem, conn: &[String]| {
        let mut a: Vec<String> = vec!["key".into(), "add".into()];
        a.extend(object.iter().map(|s| s.to_string()));
        a.extend(args(
            &[
                "--new-cert",
                new.p(),
                "--cert",
                cert.p(),
                "--access-token-env",
                TOKEN_VAR,
                "-v",
            ],
            conn,
        ));
        keyroll(&a, &env)
    };

    // Unknown object id: the service's 404, exit 3, with the appId hint.
    let unknown = "6a1f4c36-0c56-4b8e-9d51-3b2f7d6e8a90";
    let r = add(&["--object-id", unknown], &c.a, &c.b, &conn);
    r.fails(3, &["404", "Request_ResourceNotFound", "--app-id"]);
    assert_no_secret(&r, &[&token]);

    // The appId given as --object-id: detected and said, with the object id to use; exit 2.
    let r = add(&["--object-id", &app.app_id], &c.a, &c.b, &conn);
    r.fails(2, &["is the appId", &app.id]);
    assert_no_secret(&r, &[&token]);

    // The signing certificate has expired: refused before sending, said as expired; exit 2.
    let r = add(&["--object-id", &app.id], &c.expired, &c.b, &conn);
    r.fails(2, &["would be rejected", "expired"]);
    assert_no_secret(&r, &[&token]);

    // The new certificate is already on the app: AlreadyPresent, nothing added; exit 2.
    let r = add(&["--object-id", &app.id], &c.a, &c.a, &conn);
    r.fails(2, &["already a key credential", &c.a.thumb()]);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a, &c.expired]));

    // A GUID that is not one, and no target at all: exit 2.
    keyroll(
        &args(
            &[
                "key",
                "list",
                "--object-id",
                "not-a-guid",
                "--access-token-env",
                TOKEN_VAR,
            ],
            &conn,
        ),
        &env,
    )
    .fails(2, &["not a GUID"]);

    // Unreachable endpoint: exit 4.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let dead_conn = vec![
        "--graph-url".to_string(),
        dead.clone(),
        "--login-url".to_string(),
        dead,
    ];
    let r = add(&["--object-id", &app.id], &c.a, &c.b, &dead_conn);
    r.fails(4, &["connection failed"]);
    assert_no_secret(&r, &[&token]);

    // The emulator's HTTPS without --ca-cert: exit 4 with the certificate problem said.
    let no_ca = vec![
        "--graph-url".to_string(),
        emu.graph.clone(),
        "--login-url".to_string(),
        emu.graph.clone(),
    ];
    let r = add(&["--object-id", &app.id], &c.a, &c.b, &no_ca);
    r.fails(4, &["certificate", "--ca-cert"]);
    assert_no_secret(&r, &[&token]);

    // Garbage answers: said as unexpected, exit 3.
    let g = format!("http://{}", fixed_answer(200, "<html>not graph</html>"));
    let g_conn = vec![
        "--graph-url".to_string(),
        g.clone(),
        "--login-url".to_string(),
        g,
    ];
    let r = keyroll(
        &args(
            &[
                "key",
                "list",
                "--object-id",
                &app.id,
                "--access-token-env",
                TOKEN_VAR,
            ],
            &g_conn,
        ),
        &env,
    );
    r.fails(3, &["unexpected answer"]);
    assert_no_secret(&r, &[&token]);
    let g = format!("http://{}", fixed_answer(500, "internal, not json"));
    let g_conn = vec![
        "--graph-url".to_string(),
        g.clone(),
        "--login-url".to_string(),
        g,
    ];
    let r = keyroll(
        &args(
            &[
                "key",
                "list",
                "--object-id",
                &app.id,
                "--access-token-env",
                TOKEN_VAR,
                "--timeout",
                "2",
            ],
            &g_conn,
        ),
        &env,
    );
    r.fails(3, &["500", "internal, not json"]);

    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a, &c.expired]));
}
