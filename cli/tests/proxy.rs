//! Proxies and the bearer token, from the outside: `keyroll` as a child process with each proxy variable (and
//! `--proxy`) pointing at a small recording listener on 127.0.0.1. Requests to a loopback service (the
//! emulator, over plain http and over https) never reach the proxy; https to a remote host still goes through
//! it, by CONNECT, so that the token stays inside TLS.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use keyroll_testkit::case;
use keyroll_testkit::emulator::ChildEmulator;
use serde_json::json;

const TOKEN_VAR: &str = "KEYROLL_PROXY_TEST_TOKEN";

/// One way to set a proxy: its name, the environment variables, the extra arguments.
type Setup<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<&'a str>);

/// Every proxy variable the HTTP stack may read, cleared for each run so that only the one under test applies.
const PROXY_VARS: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// A listener on 127.0.0.1 that records the head of every request and answers 502.
struct Proxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for sock in listener.incoming() {
                let Ok(mut sock) = sock else { break };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf).into_owned());
                let _ = sock.write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        Proxy { url, seen }
    }
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// `keyroll-emulator` (over plain http with `plain_http`), from keyroll-testkit.
fn emulator(plain_http: bool) -> ChildEmulator {
    let extra: &[&str] = if plain_http { &["--http"] } else { &[] };
    ChildEmulator::start(extra)
}

/// An application and a token that may read it.
fn app_and_token(emu: &ChildEmulator) -> (String, String) {
    let app = emu.create(&[], json!({"displayName": "proxy test"}));
    (app.id.to_string(), emu.token_for(app.app_id))
}

/// `keyroll key list` for `object_id` at `graph` with the token from the environment, the proxy variables
/// cleared and then `env` set, plus `extra` arguments.
fn key_list(
    graph: &str,
    ca: Option<&str>,
    object_id: &str,
    token: &str,
    env: &[(&str, &str)],
    extra: &[&str],
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyroll"));
    cmd.args([
        "key",
        "list",
        "--object-id",
        object_id,
        "--access-token-env",
        TOKEN_VAR,
        "--graph-url",
        graph,
        "--login-url",
        graph,
        "--timeout",
        "10",
    ]);
    if let Some(ca) = ca {
        cmd.args(["--ca-cert", ca]);
    }
    cmd.args(extra).stdin(Stdio::null()).env(TOKEN_VAR, token);
    for v in PROXY_VARS {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run keyroll")
}

#[test]
fn bearer_token_in_clear_through_a_proxy() {
    let proxy = Proxy::start();
    for plain_http in [true, false] {
        let _case = case(format!("plain_http={plain_http:?}"));
        let emu = emulator(plain_http);
        let (id, token) = app_and_token(&emu);
        let setups: [Setup; 7] = [
            ("HTTP_PROXY", vec![("HTTP_PROXY", &proxy.url)], vec![]),
            ("http_proxy", vec![("http_proxy", &proxy.url)], vec![]),
            ("HTTPS_PROXY", vec![("HTTPS_PROXY", &proxy.url)], vec![]),
            ("ALL_PROXY", vec![("ALL_PROXY", &proxy.url)], vec![]),
            ("all_proxy", vec![("all_proxy", &proxy.url)], vec![]),
            (
                "a NO_PROXY of other hosts",
                vec![("ALL_PROXY", &proxy.url), ("NO_PROXY", "example.invalid")],
                vec![],
            ),
            ("--proxy", vec![], vec!["--proxy", &proxy.url]),
        ];
        for (name, env, extra) in setups {
            let out = key_list(&emu.graph, emu.ca.as_deref(), &id, &token, &env, &extra);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{name} ({}): {stderr}", emu.graph);
            assert!(
                String::from_utf8_lossy(&out.stdout).contains(&id),
                "{name}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            let seen = proxy.seen();
            assert!(
                seen.is_empty(),
                "{name}: requests for {} went through the proxy: {seen:?}",
                emu.graph
            );
        }
    }
}

#[test]
fn https_to_a_remote_host_goes_through_the_proxy_by_connect() {
    let proxy = Proxy::start();
    let token = "eyJ0eXAiOiJKV1QifQ.proxy-test-token.c2ln";
    let object_id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    let setups: [Setup; 3] = [
        ("HTTPS_PROXY", vec![("HTTPS_PROXY", &proxy.url)], vec![]),
        ("ALL_PROXY", vec![("ALL_PROXY", &proxy.url)], vec![]),
        ("--proxy", vec![], vec!["--proxy", &proxy.url]),
    ];
    for (name, env, extra) in setups {
        let before = proxy.seen().len();
        // Nothing here resolves or reaches example.invalid: the proxy is asked to, and refuses (502).
        let out = key_list(
            "https://graph.example.invalid",
            None,
            object_id,
            token,
            &env,
            &extra,
        );
        assert!(!out.status.success(), "{name}");
        let seen = proxy.seen();
        assert!(seen.len() > before, "{name}: the proxy saw nothing");
        for head in &seen[before..] {
            assert!(
                head.starts_with("CONNECT graph.example.invalid:443 "),
                "{name}: {head:?}"
            );
            assert!(!head.contains("proxy-test-token"), "{name}: token in clear");
        }
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains("proxy-test-token"), "{name}: {all}");
    }
    // Plain http to a remote host is refused before anything is sent, proxy or not.
    let before = proxy.seen().len();
    let out = key_list(
        "http://graph.example.invalid",
        None,
        object_id,
        token,
        &[("HTTP_PROXY", &proxy.url)],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("plain http"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(proxy.seen().len(), before);
}
