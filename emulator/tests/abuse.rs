//! The emulator under abuse (issue 16): idle, slow and surplus connections are bounded in time and number,
//! every body has one limit and every refusal the JSON envelope, and the HTTPS CA is kept with the state.
//! Each test is named after the defect it guards against and fails on the emulator before the fix.

mod common;

use std::time::{Duration, Instant};

use common::*;
use keyroll_emulator::{ConnectionLimits, EmulatorConfig};
use keyroll_testkit::case;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn limits(header_ms: u64, body_ms: u64, max_connections: usize) -> ConnectionLimits {
    ConnectionLimits {
        max_connections,
        header_read_timeout: Duration::from_millis(header_ms),
        body_read_timeout: Duration::from_millis(body_ms),
        tls_handshake_timeout: Duration::from_millis(header_ms),
    }
}

async fn start_with(tls: bool, limits: ConnectionLimits) -> Harness {
    start(EmulatorConfig {
        tls,
        limits,
        ..EmulatorConfig::default()
    })
    .await
}

/// Reads until the server closes the connection; returns what arrived and when, or `None` when it is still
/// open after `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> Option<(Vec<u8>, Duration)> {
    let t = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = wait.checked_sub(t.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some((got, t.elapsed())),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn idle_connection_stays_open_for_ever() {
    for tls in [false, true] {
        let h = start_with(tls, limits(300, 300, 64)).await;
        // Connected, sends nothing: no request head (plain) or no handshake (TLS).
        let mut idle = TcpStream::connect(h.emu.addr).await.unwrap();
        let closed = closed_within(&mut idle, Duration::from_secs(5)).await;
        let (_, after) = closed.unwrap_or_else(|| panic!("tls={tls}: idle connection still open"));
        assert!(after >= Duration::from_millis(250), "tls={tls}: {after:?}");
        h.emu.shutdown().await;
    }
}

#[tokio::test]
async fn slow_request_head_holds_the_connection() {
    let h = start_with(false, limits(400, 400, 64)).await;
    let mut slow = TcpStream::connect(h.emu.addr).await.unwrap();
    let t = Instant::now();
    slow.write_all(b"GET /_emulator/info HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    // One header byte every 50 ms, never the end of the head: a slowloris. The head timer is not reset by
    // bytes, so the connection ends about 400 ms after it opened.
    let mut closed = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if slow.write_all(b"X").await.is_err() {
            closed = true;
            break;
        }
        let mut b = [0u8; 64];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(1), slow.read(&mut b)).await {
            closed = true;
            break;
        }
    }
    assert!(
        closed,
        "a head sent byte by byte kept the connection for 5 s"
    );
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    h.emu.shutdown().await;
}

#[tokio::test]
async fn kept_alive_connection_never_idles_out() {
    let h = start_with(false, limits(400, 400, 64)).await;
    let mut c = TcpStream::connect(h.emu.addr).await.unwrap();
    c.write_all(b"GET /_emulator/info HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 8192];
    let n = c.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // The response came; the client keeps the connection and sends nothing more.
    let closed = closed_within(&mut c, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "a kept-alive idle connection stayed open");
    h.emu.shutdown().await;
}

#[tokio::test]
async fn slow_request_body_holds_the_connection() {
    let h = start_with(false, limits(5_000, 300, 64)).await;
    let mut c = TcpStream::connect(h.emu.addr).await.unwrap();
    c.write_all(
        b"PUT /_emulator/faults HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"late",
    )
    .await
    .unwrap();
    let (answer, after) = closed_within(&mut c, Duration::from_secs(5))
        .await
        .expect("a body that never completes kept the connection");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/json"), "{text}");
    assert!(text.contains("\"Request_Timeout\""), "{text}");
    assert!(after < Duration::from_secs(3), "{after:?}");
    h.emu.shutdown().await;
}

#[tokio::test]
async fn idle_connections_fill_the_emulator_until_it_stops_answering() {
    // A cap of 2 and timeouts far away: only the cap can make room.
    let h = start_with(false, limits(30_000, 30_000, 2)).await;
    let mut a = TcpStream::connect(h.emu.addr).await.unwrap();
    let mut b = TcpStream::connect(h.emu.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A new client at the cap is answered at once: the longest-idle connection makes room.
    let t = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        h.admin.get(format!("{}/_emulator/info", h.base)).send(),
    )
    .await
    .expect("no answer while idle connections fill the cap")
    .unwrap();
    assert_eq!(r.status(), 200);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let closed_a = closed_within(&mut a, Duration::from_millis(500))
        .await
        .is_some();
    let closed_b = closed_within(&mut b, Duration::from_millis(500))
        .await
        .is_some();
    assert!(
        closed_a,
        "the longest-idle connection was not closed to make room"
    );
    assert!(
        !closed_b,
        "more than one connection was closed for one newcomer"
    );
    // Many more idle connections than the cap: still answered at once.
    let mut idle = Vec::new();
    for _ in 0..50 {
        if let Ok(s) = TcpStream::connect(h.emu.addr).await {
            idle.push(s);
        }
    }
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        h.admin.get(format!("{}/_emulator/info", h.base)).send(),
    )
    .await
    .expect("no answer with 50 idle connections waiting")
    .unwrap();
    assert_eq!(r.status(), 200);
    h.emu.shutdown().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_are_held_while_all_are_busy() {
    // Both slots busy with requests whose bodies never complete: not idle, so not closed; the newcomer
    // waits until a body times out (600 ms) and is then answered.
    let h = start_with(false, limits(30_000, 600, 2)).await;
    let mut busy = Vec::new();
    for _ in 0..2 {
        let mut c = TcpStream::connect(h.emu.addr).await.unwrap();
        c.write_all(
            b"PUT /_emulator/faults HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
        busy.push(c);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    let r = h
        .admin
        .get(format!("{}/_emulator/info", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        t.elapsed() >= Duration::from_millis(350),
        "answered after {:?}: a busy connection was cut or the cap did not hold",
        t.elapsed()
    );
    h.emu.shutdown().await;
}

async fn assert_envelope(r: reqwest::Response, status: u16, what: &str) -> Value {
    assert_eq!(r.status(), status, "{what}");
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(ct.starts_with("application/json"), "{what}: {ct}");
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["code"].is_string(), "{what}: {v}");
    assert!(v["error"]["message"].is_string(), "{what}: {v}");
    assert!(
        v["error"]["innerError"]["request-id"].is_string(),
        "{what}: {v}"
    );
    v
}

#[tokio::test]
async fn admin_answers_text_plain_400_and_405_outside_the_envelope() {
    let h = start_default().await;
    // 405: a method the admin path does not take.
    let r = h
        .admin
        .get(format!("{}/_emulator/applications", h.base))
        .send()
        .await
        .unwrap();
    assert_envelope(r, 405, "GET /_emulator/applications").await;
    let r = h
        .admin
        .delete(format!("{}/_emulator/faults", h.base))
        .send()
        .await
        .unwrap();
    assert_envelope(r, 405, "DELETE /_emulator/faults").await;
    // 400 from an extractor: a path segment that does not decode to UTF-8.
    let r = h
        .admin
        .get(format!("{}/_emulator/applications/%FF", h.base))
        .send()
        .await
        .unwrap();
    assert_envelope(r, 400, "undecodable path").await;
    // A token request whose body is not a form: the OAuth body, not text.
    let r = h
        .admin
        .post(format!("{}/%FF/oauth2/v2.0/token", h.base))
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_request", "{v}");
    assert!(v["error_codes"].is_array(), "{v}");
    h.emu.shutdown().await;
}

#[tokio::test]
async fn admin_body_over_axums_2mb_default_is_refused_before_the_16mib_limit() {
    let h = start_default().await;
    // 3 MB: under the admin limit, over axum's default. Accepted.
    let r = h
        .admin
        .post(format!("{}/_emulator/applications", h.base))
        .json(&json!({"displayName": "x".repeat(3 * 1024 * 1024)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    // Over the admin limit: refused in the envelope, naming the limit.
    let r = h
        .admin
        .post(format!("{}/_emulator/applications", h.base))
        .json(&json!({"displayName": "x".repeat(17 * 1024 * 1024)}))
        .send()
        .await
        .unwrap();
    let v = assert_envelope(r, 400, "17 MiB admin body").await;
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&keyroll_emulator::app::MAX_ADMIN_BODY_BYTES.to_string()),
        "{v}"
    );
    // Graph's own limit applies to Graph paths, in the same envelope.
    let app = h.create_app(json!({})).await;
    let r = h
        .admin
        .post(format!("{}/v1.0/applications/{}/addKey", h.base, app.id))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body(vec![b' '; keyroll_emulator::app::MAX_BODY_BYTES + 1])
        .send()
        .await
        .unwrap();
    assert_envelope(r, 400, "oversized addKey").await;
    h.emu.shutdown().await;
}

#[tokio::test]
async fn new_ca_at_every_https_start_even_with_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let config = || EmulatorConfig {
        state: Some(state.clone()),
        ..EmulatorConfig::default()
    };
    let h = start(config()).await;
    let first_ca = h.emu.ca_pem.clone().unwrap();
    let ca_file = h.emu.endpoints.ca_cert.clone().unwrap();
    let app = h.create_app(json!({})).await;
    let next = identity(0, 30);
    let r = h
        .add_key(
            &format!("applications/{}/addKey", app.id),
            &app.token,
            &add_body(&next, &proof(&app.identity, app.id)),
        )
        .await;
    assert_eq!(r.status(), 200);
    // What a client kept of the first run: the CA it was told to trust (the emulator removes the file it
    // generated in the temporary folder when it stops).
    let first_ca_file = std::fs::read_to_string(&ca_file).unwrap();
    h.emu.shutdown().await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&state).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "state file mode {mode:o}");
    }

    // Restart on the same state; a client that trusts only the first run's CA file rolls on.
    let h = start(config()).await;
    assert_eq!(h.emu.ca_pem.as_deref(), Some(first_ca.as_str()));
    let pinned = client(Some(&first_ca_file));
    for (signer, new) in [(&next, identity(0, 30)), (&app.identity, identity(0, 30))] {
        let _case = case(format!("signer={signer:?} new={new:?}"));
        let r = pinned
            .post(format!("{}/v1.0/applications/{}/addKey", h.base, app.id))
            .bearer_auth(&app.token)
            .json(&add_body(&new, &proof(signer, app.id)))
            .send()
            .await
            .expect("the first run's CA no longer verifies the restarted emulator");
        assert_eq!(r.status(), 200);
    }
    assert_eq!(h.keys(app.id).await.len(), 4);
    h.emu.shutdown().await;
}
