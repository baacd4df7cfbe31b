//! `--device-code` end to end against `keyroll-emulator`: the code and page on stderr (stdout carries results
//! only), the user approving it from elsewhere (the admin API), the token cache reused by the next command, sign
//! out, and the refusals with their exit codes. No token or refresh token in any output.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// Starts keyroll (as `common::keyroll` does, but without waiting for it).
fn spawn(args: &[String]) -> (Child, Instant) {
    let child = Command::new(env!("CARGO_BIN_EXE_keyroll"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .current_dir(&certs().dir)
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
        .env_remove("KEYROLL_TOKEN_CACHE")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .spawn()
        .expect("run keyroll");
    (child, Instant::now())
}

fn finish(child: Child, t: Instant) -> Run {
    let out = child.wait_with_output().expect("keyroll ends");
    Run {
        out,
        elapsed: t.elapsed(),
    }
}

/// Plays the user: waits for the code, then decides it with `body`.
fn decide(emu: &Emu, body: Value) -> String {
    let api = emu.admin.clone();
    emu.block_on(async move {
        let code = api.wait_for_device_code(Duration::from_secs(20)).await;
        let r = api.decide_device_code(&code, &body).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
        code
    })
}

fn admin() -> Value {
    json!({"action": "approve", "grantedScopes": ["Application.ReadWrite.All"],
           "user": {"userPrincipalName": "ada@contoso.example", "directoryRoles": ["Cloud Application Administrator"]}})
}

fn cache_secrets(cache: &Path) -> Vec<String> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(cache).unwrap()).unwrap();
    v["entries"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|e| [e["access_token"].clone(), e["refresh_token"].clone()])
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn device_code_sign_in_shows_the_code_on_stderr_and_the_next_command_reuses_the_cache() {
    let emu = emulator(&[]);
    emu.block_on(emu.admin.device_code_settings(json!({"intervalSecs": 0})));
    let c = certs();
    let app = emu.create(&[&c.a], json!({}));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache").join("tokens.json");
    let mut conn = emu.conn();
    conn.extend(
        [
            "--device-code",
            "--tenant-id",
            &app.tenant,
            "--token-cache",
            cache.to_str().unwrap(),
        ]
        .map(String::from),
    );

    let (child, t) = spawn(&args(
        &["key", "list", "--object-id", &app.id, "--json"],
        &conn,
    ));
    let code = decide(&emu, admin());
    let r = finish(child, t);
    r.ok();
    assert!(
        r.stderr().contains(&code) && r.stderr().contains("https://www.microsoft.com/link"),
        "{}",
        r.stderr()
    );
    assert!(
        !r.stdout().contains(&code),
        "the code is not a result: {}",
        r.stdout()
    );
    let doc: Value = serde_json::from_str(&r.stdout()).unwrap();
    assert_eq!(doc["keys"].as_array().map(Vec::len), Some(1), "{doc}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let secrets = cache_secrets(&cache);
    let given: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert_no_secret(&r, &given);

    // The next command signs in from the cache: no code, and the key is added with the object's certificate.
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
        &[],
    );
    r.ok();
    assert!(!r.stderr().contains("To sign in"), "{}", r.stderr());
    assert!(
        r.stderr().contains("signed in as ada@contoso.example"),
        "{}",
        r.stderr()
    );
    assert_no_secret(&r, &given);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a, &c.b]));
    assert!(
        emu.block_on(emu.admin.device_codes()).is_empty(),
        "no second code"
    );
}

/// Regression: `keyroll auth logout` without --tenant-id left a sign-in made with --tenant-id in the cache (the
/// key was computed with the default tenant, so nothing matched).
#[test]
fn logout_without_tenant_id_removes_a_sign_in_made_with_one() {
    let emu = emulator(&[]);
    emu.block_on(emu.admin.device_code_settings(json!({"intervalSecs": 0})));
    let app = emu.create(&[&certs().a], json!({}));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("tokens.json");
    let mut login = vec!["auth".to_string(), "login".into()];
    login.extend(emu.conn());
    login.extend(
        [
            "--device-code",
            "--tenant-id",
            &app.tenant,
            "--token-cache",
            cache.to_str().unwrap(),
        ]
        .map(String::from),
    );
    let (child, t) = spawn(&login);
    decide(&emu, admin());
    let r = finish(child, t);
    r.ok();
    assert!(
        r.stdout().contains("signed in as ada@contoso.example"),
        "{}",
        r.stdout()
    );
    assert!(cache.exists());
    let r = keyroll(
        &args(
            &["auth", "logout", "--token-cache", cache.to_str().unwrap()],
            &emu.conn(),
        ),
        &[],
    );
    r.ok();
    assert!(r.stdout().contains("removed 1"), "{}", r.stdout());
    assert!(!cache.exists());
}

#[test]
fn device_code_refusals_have_their_exit_codes_and_say_the_fix() {
    let emu = emulator(&[]);
    emu.block_on(emu.admin.device_code_settings(json!({"intervalSecs": 0})));
    let c = certs();
    let app = emu.create(&[&c.a], json!({}));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("tokens.json");
    let mut conn = emu.conn();
    conn.extend(
        [
            "--device-code",
            "--tenant-id",
            &app.tenant,
            "--token-cache",
            cache.to_str().unwrap(),
        ]
        .map(String::from),
    );
    let list = args(&["key", "list", "--object-id", &app.id], &conn);

    // Declined at the page: the service's refusal (3), with the way back.
    let (child, t) = spawn(&list);
    decide(&emu, json!({"action": "deny"}));
    finish(child, t).fails(3, &["declined", "--device-code"]);

    // Expired before the user came: 3, likewise.
    let (child, t) = spawn(&list);
    decide(&emu, json!({"action": "expire"}));
    finish(child, t).fails(3, &["expired", "--device-code"]);

    // Signed in as a user who may not change the object: Graph's 403 (3), explained as delegated.
    let (child, t) = spawn(&args(
        &[
            "key",
            "add",
            "--object-id",
            &app.id,
            "--new-cert",
            c.b.p(),
            "--cert",
            c.a.p(),
        ],
        &conn,
    ));
    decide(
        &emu,
        json!({"action": "approve", "grantedScopes": ["Application.ReadWrite.All"], "user": {"userPrincipalName": "bob@contoso.example"}}),
    );
    let r = finish(child, t);
    r.fails(3, &["user token (delegated)", "Application Administrator"]);
    assert_no_secret(&r, &[]);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a]));

    // addKey without the object's certificate: a user's token does not replace the proof (2, nothing sent).
    keyroll(
        &args(
            &["key", "add", "--object-id", &app.id, "--new-cert", c.b.p()],
            &conn,
        ),
        &[],
    )
    .fails(
        2,
        &[
            "--cert",
            "a user token does not replace the proof",
            "certificate of the object itself",
        ],
    );

    // A confidential-only app as the client: 3, naming public client flows and the default client.
    let r = keyroll(
        &args(
            &[
                "key",
                "list",
                "--object-id",
                &app.id,
                "--client-id",
                &app.app_id,
            ],
            &conn,
        ),
        &[],
    );
    r.fails(3, &["not a public client", "without --client-id"]);

    // --scopes without --device-code: a usage mistake (2); a cache others may read: 2, with the fix.
    let r = keyroll(
        &args(
            &[
                "key",
                "list",
                "--object-id",
                &app.id,
                "--scopes",
                "Application.Read.All",
            ],
            &emu.conn(),
        ),
        &[],
    );
    r.fails(2, &["--device-code"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(&cache, br#"{"version":1,"entries":{}}"#).unwrap();
        std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o664)).unwrap();
        keyroll(&list, &[]).fails(2, &["chmod 600", "keyroll auth logout --all"]);
    }
    // No network: 4.
    let mut offline = vec![
        "--graph-url".to_string(),
        emu.graph.clone(),
        "--login-url".into(),
        "https://127.0.0.1:9".into(),
        "--ca-cert".into(),
        emu.ca().to_string(),
    ];
    offline.extend(
        [
            "--device-code",
            "--tenant-id",
            &app.tenant,
            "--token-cache",
            dir.path().join("x.json").to_str().unwrap(),
        ]
        .map(String::from),
    );
    keyroll(
        &args(&["key", "list", "--object-id", &app.id], &offline),
        &[],
    )
    .fails(4, &["devicecode"]);
}

/// Regression: `roll --app-id X --device-code` signed the user in through X (the object's appId, filled in for an
/// app's own sign-in) instead of the public client, and the service refused it (AADSTS7000218).
#[test]
fn roll_with_device_code_and_app_id_signs_in_through_the_public_client() {
    let emu = emulator(&[]);
    emu.block_on(emu.admin.device_code_settings(json!({"intervalSecs": 0})));
    let c = certs();
    let app = emu.create(&[&c.a], json!({}));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("tokens.json");
    let mut argv = vec![
        "roll".to_string(),
        "--app-id".into(),
        app.app_id.clone(),
        "--cert".into(),
        c.a.p().into(),
        "--new-cert".into(),
        c.b.p().into(),
    ];
    argv.extend(emu.conn());
    argv.extend(
        [
            "--device-code",
            "--tenant-id",
            &app.tenant,
            "--token-cache",
            cache.to_str().unwrap(),
        ]
        .map(String::from),
    );
    let (child, t) = spawn(&argv);
    decide(&emu, admin());
    let r = finish(child, t);
    r.ok();
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a, &c.b]));
}
