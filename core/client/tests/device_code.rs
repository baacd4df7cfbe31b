//! Delegated sign-in by device code, end to end against the emulator over HTTPS: the code shown, the user
//! approving it from elsewhere, the token cache (private, reused, refreshed, signed out), every way the flow ends
//! (declined, expired, slow_down, refused), and what a user's token can and cannot do with an application's keys.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use keyroll_client::auth::AuthError;
use keyroll_client::devicecode::{Cancel, SignInStart};
use keyroll_client::graph::{GraphClient, GraphError};
use keyroll_client::settings::{ConnectError, ConnectionChoices};
use keyroll_proto::clock::{Clock, SystemClock};
use serde_json::{Value, json};
use uuid::Uuid;

use keyroll_testkit::emulator::*;
use keyroll_testkit::secrets::{Secret, assert_no_secret};

fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn choices(
    h: &Harness,
    cache: &Path,
    tenant: Uuid,
    client_id: Option<String>,
    scopes: &[&str],
) -> ConnectionChoices {
    ConnectionChoices {
        graph_url: Some(h.base.clone()),
        login_url: Some(h.base.clone()),
        extra_roots_pem: Some(h.ca_pem.clone()),
        tenant_id: Some(tenant.to_string()),
        client_id,
        device_code: true,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        token_cache: Some(cache.to_path_buf()),
        ..ConnectionChoices::default()
    }
}

fn admin_user(id: Uuid) -> Value {
    json!({"id": id, "userPrincipalName": "ada@contoso.example", "directoryRoles": ["Application Administrator"]})
}

/// Signs in, approving the code as `user` with `granted` from another task as soon as it appears.
async fn sign_in(h: &Harness, c: &ConnectionChoices, user: Value, granted: &[&str]) -> GraphClient {
    let start = c.begin_device_code(&no_env, clock()).await.unwrap();
    let SignInStart::Pending(pending) = start else {
        panic!("expected a new device code, the cache had a sign-in")
    };
    assert!(
        pending.message.contains(&pending.user_code),
        "{}",
        pending.message
    );
    assert!(pending.message.contains(&pending.verification_uri));
    let api = h.api();
    let granted: Vec<String> = granted.iter().map(|s| s.to_string()).collect();
    let approver = tokio::spawn(async move {
        let code = api.wait_for_device_code(Duration::from_secs(10)).await;
        let g: Vec<&str> = granted.iter().map(String::as_str).collect();
        api.approve_device_code(&code, user, &g).await;
    });
    let session = pending.wait(&Cancel::default()).await.unwrap();
    approver.await.unwrap();
    c.connect_user(session, clock()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_signs_in_by_device_code_lists_and_adds_a_key_then_reuses_and_refreshes_the_cache() {
    let h = start().await;
    h.api()
        .device_code_settings(json!({"intervalSecs": 0}))
        .await;
    let certs = certs();
    let (cur, new) = (&certs.valid[0], &certs.valid[2]);
    let app = h.create(&[&cur.certificate], json!({})).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("keyroll").join("token-cache.json");
    let c = choices(&h, &cache, app.tenant, None, &["Application.ReadWrite.All"]);
    let user = Uuid::new_v4();
    let client = sign_in(&h, &c, admin_user(user), &["Application.ReadWrite.All"]).await;
    assert!(client.is_delegated());

    // The user's token reads the keys and adds one; the proof is still signed by the object's own certificate.
    let keys = client.read_keys(&app_target(app.id)).await.unwrap();
    assert_eq!(keys.keys.len(), 1);
    add(
        &client,
        &app_target(app.id),
        app.id,
        &ident(cur),
        &new.certificate,
    )
    .await
    .unwrap();
    assert_eq!(h.thumbprints(app.id).await.len(), 2);

    // The cache is private, holds the tokens, and no Debug of the session shows them.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&cache), 0o600);
        assert_eq!(mode(cache.parent().unwrap()), 0o700);
    }
    let text = std::fs::read_to_string(&cache).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    let entry = file["entries"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    let access = entry["access_token"].as_str().unwrap().to_owned();
    let refresh = entry["refresh_token"].as_str().unwrap().to_owned();
    let secrets = [
        Secret::text("access token", access.clone()),
        Secret::text("refresh token", refresh.clone()),
    ];
    assert_no_secret(
        &format!("{client:?} {:?}", client.tokens()),
        &secrets,
        "client Debug",
    );

    // A second sign-in reuses the cached token: no new code.
    match c.begin_device_code(&no_env, clock()).await.unwrap() {
        SignInStart::Ready(s) => assert_eq!(s.user(), Some("ada@contoso.example")),
        SignInStart::Pending(p) => panic!(
            "a new code {} although the cache had a valid token",
            p.user_code
        ),
    }
    assert!(h.api().device_codes().await.is_empty());

    // An expired access token is renewed with the refresh token, which rotates: the old one stops working.
    let mut expired = file.clone();
    for e in expired["entries"].as_object_mut().unwrap().values_mut() {
        e["expires_at"] = json!(0);
    }
    std::fs::write(&cache, serde_json::to_vec(&expired).unwrap()).unwrap();
    let SignInStart::Ready(_) = c.begin_device_code(&no_env, clock()).await.unwrap() else {
        panic!("the refresh token should have renewed the sign-in")
    };
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    let entry2 = after["entries"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert_ne!(
        entry2["refresh_token"].as_str().unwrap(),
        refresh,
        "rotated"
    );
    assert!(entry2["expires_at"].as_i64().unwrap() > 0);
    let old = h
        .admin
        .post(format!("{}/{}/oauth2/v2.0/token", h.base, app.tenant))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", keyroll_client::devicecode::GRAPH_CLI_CLIENT_ID),
            ("refresh_token", refresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 400);
    let body: Value = old.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");

    // Revoked: the refresh fails and a new device code is the way back in.
    assert_eq!(h.api().revoke_refresh_tokens(Some(user)).await, 1);
    std::fs::write(&cache, serde_json::to_vec(&expired).unwrap()).unwrap();
    match c.begin_device_code(&no_env, clock()).await.unwrap() {
        SignInStart::Pending(_) => {}
        SignInStart::Ready(_) => panic!("a revoked refresh token renewed the sign-in"),
    }

    // Sign out removes the entry, and the file with it.
    let (removed, path) = c.sign_out(&no_env, false).unwrap();
    assert_eq!((removed, path.as_path()), (1, cache.as_path()));
    assert!(!cache.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_and_expired_codes_stop_the_wait_with_the_fix() {
    let h = start().await;
    h.api()
        .device_code_settings(json!({"intervalSecs": 0}))
        .await;
    let app = h.create(&[&certs().valid[0].certificate], json!({})).await;
    let dir = tempfile::tempdir().unwrap();
    let c = choices(&h, &dir.path().join("c.json"), app.tenant, None, &[]);
    for (action, expect) in [("deny", "declined"), ("expire", "expired")] {
        let SignInStart::Pending(p) = c.begin_device_code(&no_env, clock()).await.unwrap() else {
            panic!("no code")
        };
        let api = h.api();
        let decider = tokio::spawn(async move {
            let code = api.wait_for_device_code(Duration::from_secs(10)).await;
            let r = api
                .decide_device_code(&code, &json!({"action": action}))
                .await;
            assert_eq!(r.status(), 200);
        });
        let e = p.wait(&Cancel::default()).await.unwrap_err();
        decider.await.unwrap();
        let text = e.to_string();
        assert!(
            text.contains(expect) && text.contains("sign in again"),
            "{action}: {text}"
        );
        match action {
            "deny" => assert!(matches!(e, AuthError::DeviceCodeDeclined { .. }), "{e:?}"),
            _ => assert!(matches!(e, AuthError::DeviceCodeExpired { .. }), "{e:?}"),
        }
    }
    assert!(
        !dir.path().join("c.json").exists(),
        "nothing cached for a failed sign-in"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_keeps_the_interval_and_the_emulator_says_slow_down_to_a_client_that_does_not() {
    let h = start().await;
    h.api()
        .device_code_settings(json!({"intervalSecs": 1}))
        .await;
    let app = h.create(&[], json!({})).await;
    let dir = tempfile::tempdir().unwrap();
    let c = choices(&h, &dir.path().join("c.json"), app.tenant, None, &[]);

    // Ours: approved after ~2.2 s, polled about once a second, never told to slow down (it would add 5 s).
    let SignInStart::Pending(p) = c.begin_device_code(&no_env, clock()).await.unwrap() else {
        panic!("no code")
    };
    let api = h.api();
    let approver = tokio::spawn(async move {
        let code = api.wait_for_device_code(Duration::from_secs(10)).await;
        tokio::time::sleep(Duration::from_millis(2200)).await;
        api.approve_device_code(&code, admin_user(Uuid::new_v4()), &["Application.Read.All"])
            .await;
    });
    let started = std::time::Instant::now();
    let (_, stats) = p.wait_with_stats(&Cancel::default()).await.unwrap();
    approver.await.unwrap();
    assert!((3..=4).contains(&stats.polls), "{stats:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{stats:?}: a slow_down was obeyed"
    );

    // Told slow_down (the emulator forces it on the first poll), ours adds 5 s to the interval (RFC 8628 §3.5).
    h.api()
        .device_code_settings(json!({"intervalSecs": 0, "slowDownPolls": 1}))
        .await;
    let c = choices(&h, &dir.path().join("d.json"), app.tenant, None, &[]);
    let SignInStart::Pending(p) = c.begin_device_code(&no_env, clock()).await.unwrap() else {
        panic!("no code")
    };
    let api = h.api();
    let approver = tokio::spawn(async move {
        let code = api.wait_for_device_code(Duration::from_secs(10)).await;
        // After the first poll (answered slow_down), before the next.
        tokio::time::sleep(Duration::from_millis(500)).await;
        api.approve_device_code(&code, admin_user(Uuid::new_v4()), &["Application.Read.All"])
            .await;
    });
    let (_, stats) = p.wait_with_stats(&Cancel::default()).await.unwrap();
    approver.await.unwrap();
    assert_eq!(stats.polls, 2, "{stats:?}");
    assert!(stats.waited >= Duration::from_secs(5), "{stats:?}");
    h.api()
        .device_code_settings(json!({"intervalSecs": 1}))
        .await;

    // A client polling twice within the interval is told slow_down (RFC 8628 §3.5).
    let r: Value = h
        .admin
        .post(format!("{}/{}/oauth2/v2.0/devicecode", h.base, app.tenant))
        .form(&[
            ("client_id", keyroll_client::devicecode::GRAPH_CLI_CLIENT_ID),
            (
                "scope",
                "https://graph.microsoft.com/Application.Read.All offline_access",
            ),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for k in [
        "device_code",
        "user_code",
        "verification_uri",
        "expires_in",
        "interval",
        "message",
    ] {
        assert!(r.get(k).is_some(), "{k} missing from {r}");
    }
    let poll = || {
        h.admin
            .post(format!("{}/{}/oauth2/v2.0/token", h.base, app.tenant))
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", keyroll_client::devicecode::GRAPH_CLI_CLIENT_ID),
                ("device_code", r["device_code"].as_str().unwrap()),
            ])
            .send()
    };
    // A request without scopes is refused as the service does (AADSTS900144).
    let missing: Value = h
        .admin
        .post(format!("{}/{}/oauth2/v2.0/devicecode", h.base, app.tenant))
        .form(&[("client_id", keyroll_client::devicecode::GRAPH_CLI_CLIENT_ID)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(missing["error_codes"][0], 900144, "{missing}");
    let first: Value = poll().await.unwrap().json().await.unwrap();
    assert_eq!(first["error"], "authorization_pending", "{first}");
    assert_eq!(first["error_codes"][0], 70016);
    let second: Value = poll().await.unwrap().json().await.unwrap();
    assert_eq!(second["error"], "slow_down", "{second}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_token_that_cannot_change_the_object_is_explained() {
    let h = start().await;
    h.api()
        .device_code_settings(json!({"intervalSecs": 0}))
        .await;
    let certs = certs();
    let (cur, new) = (&certs.valid[0], &certs.valid[2]);
    let app = h.create(&[&cur.certificate], json!({})).await;
    let dir = tempfile::tempdir().unwrap();

    // A user with no role who does not own the app, with the right scope: 403, explained as delegated.
    let c = choices(
        &h,
        &dir.path().join("a.json"),
        app.tenant,
        None,
        &["Application.ReadWrite.All"],
    );
    let plain = json!({"userPrincipalName": "bob@contoso.example"});
    let client = sign_in(&h, &c, plain, &["Application.ReadWrite.All"]).await;
    client.read_keys(&app_target(app.id)).await.unwrap();
    let e = add(
        &client,
        &app_target(app.id),
        app.id,
        &ident(cur),
        &new.certificate,
    )
    .await
    .unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(&e, GraphError::Service(s) if s.status == 403),
        "{e:?}"
    );
    for needle in [
        "user token (delegated)",
        "bob@contoso.example",
        "Application Administrator",
        "Application.ReadWrite.OwnedBy is an application permission",
        "sign in as an app",
    ] {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }

    // An owner whose sign-in was granted only a read scope: reads work, the write is refused and explained.
    let owner = Uuid::new_v4();
    let owned = h
        .create(&[&cur.certificate], json!({"owners": [owner]}))
        .await;
    let c = choices(
        &h,
        &dir.path().join("b.json"),
        app.tenant,
        None,
        &["Application.Read.All"],
    );
    let user = json!({"id": owner, "userPrincipalName": "owner@contoso.example"});
    let client = sign_in(&h, &c, user.clone(), &["Application.Read.All"]).await;
    client.read_keys(&app_target(owned.id)).await.unwrap();
    let e = add(
        &client,
        &app_target(owned.id),
        owned.id,
        &ident(cur),
        &new.certificate,
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("delegated scope Application.ReadWrite.All"),
        "{e}"
    );

    // The same owner with the write scope may add a key to the object it owns.
    let c = choices(
        &h,
        &dir.path().join("c.json"),
        app.tenant,
        None,
        &["Application.ReadWrite.All"],
    );
    let client = sign_in(&h, &c, user, &["Application.ReadWrite.All"]).await;
    add(
        &client,
        &app_target(owned.id),
        owned.id,
        &ident(cur),
        &new.certificate,
    )
    .await
    .unwrap();
    // addPassword needs a permission, not a proof: the owner with the scope may; on an object it does not own,
    // 403 explained as delegated.
    let pw = keyroll_proto::password::PasswordRequest::default();
    client
        .add_password(&app_target(owned.id), &pw)
        .await
        .unwrap();
    let e = client
        .add_password(&app_target(app.id), &pw)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("user token (delegated)"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sign_ins_say_what_is_wrong_and_no_secret() {
    let h = start().await;
    let app = h.create(&[&certs().valid[0].certificate], json!({})).await;
    let public = h.create(&[], json!({"publicClient": true})).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c.json");

    // A confidential-only app: the first poll is refused with AADSTS7000218, explained.
    let c = choices(&h, &cache, app.tenant, Some(app.app_id.to_string()), &[]);
    let SignInStart::Pending(p) = c.begin_device_code(&no_env, clock()).await.unwrap() else {
        panic!("no code")
    };
    let e = p.wait(&Cancel::default()).await.unwrap_err();
    assert!(
        matches!(&e, AuthError::Refused { codes, .. } if codes.contains(&7000218)),
        "{e:?}"
    );
    assert!(e.to_string().contains("not a public client"), "{e}");

    // An app created as a public client is accepted.
    let c = choices(&h, &cache, app.tenant, Some(public.app_id.to_string()), &[]);
    assert!(matches!(
        c.begin_device_code(&no_env, clock()).await.unwrap(),
        SignInStart::Pending(_)
    ));

    // An unknown client, an app-only scope, a bad tenant: refused at once.
    let unknown = Uuid::new_v4().to_string();
    let cases: Vec<(ConnectionChoices, u32, &str)> = vec![
        (
            choices(&h, &cache, app.tenant, Some(unknown), &[]),
            700016,
            "check the client id",
        ),
        (
            choices(
                &h,
                &cache,
                app.tenant,
                None,
                &["Application.ReadWrite.OwnedBy"],
            ),
            70011,
            "application permission only",
        ),
        (
            choices(&h, &cache, Uuid::new_v4(), None, &[]),
            90002,
            "tenant",
        ),
    ];
    for (c, code, needle) in cases {
        let e = c.begin_device_code(&no_env, clock()).await.unwrap_err();
        let ConnectError::Auth(a) = &e else {
            panic!("{e:?}")
        };
        assert!(
            matches!(a, AuthError::Refused { codes, .. } if codes.contains(&code)),
            "{a:?}"
        );
        assert!(e.to_string().contains(needle), "{needle:?} not in {e}");
    }

    // No network: a transport error naming the endpoint.
    let mut c = choices(&h, &cache, app.tenant, None, &[]);
    c.login_url = Some("https://127.0.0.1:9".into());
    let e = c.begin_device_code(&no_env, clock()).await.unwrap_err();
    assert!(
        matches!(&e, ConnectError::Auth(AuthError::Transport { .. })),
        "{e:?}"
    );
    assert!(e.to_string().contains("devicecode"), "{e}");

    // A device-code sign-in is a user's: combined with another credential it is refused.
    let mut c = choices(&h, &cache, app.tenant, None, &[]);
    c.managed_identity = true;
    assert!(
        c.begin_device_code(&no_env, clock())
            .await
            .unwrap_err()
            .to_string()
            .contains("choose one way of signing in")
    );

    // A corrupt cache, or one others may read: refused by name, with the fix, without its contents.
    std::fs::write(
        &cache,
        br#"{"version":1,"entries":{"k":{"refresh_token":"rt-SECRET-VALUE"}}}"#,
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let c = choices(&h, &cache, app.tenant, None, &[]);
    let e = c.begin_device_code(&no_env, clock()).await.unwrap_err();
    let secrets = [Secret::text("cached refresh token", "rt-SECRET-VALUE")];
    assert_no_secret(&format!("{e} {e:?}"), &secrets, "corrupt cache error");
    assert!(
        matches!(&e, ConnectError::Auth(AuthError::TokenCache(_))),
        "{e:?}"
    );
    assert!(e.to_string().contains("sign out"), "{e}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(&cache, br#"{"version":1,"entries":{}}"#).unwrap();
        std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = c.begin_device_code(&no_env, clock()).await.unwrap_err();
        assert!(e.to_string().contains("chmod 600"), "{e}");
        // Signing out removes a file that cannot be trusted.
        assert_eq!(c.sign_out(&no_env, true).unwrap().0, 1);
        assert!(!cache.exists());
    }
}
