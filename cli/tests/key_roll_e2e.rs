//! `keyroll key add|list|remove` and `keyroll roll` end to end: the binary against `keyroll emulator` started
//! as a child process over HTTPS. Each test asserts the exit code, the words a user reads, that no secret
//! (token, proof, private key, identity header) reaches stdout or stderr, and the object's final key set as
//! the emulator's admin API reports it.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use keyroll_proto::b64;
use keyroll_proto::cert::Certificate;
use keyroll_proto::cert::generate::{GeneratedCertificate, self_signed_rsa};
use serde_json::{Value, json};
use time::OffsetDateTime;

const TOKEN_VAR: &str = "KEYROLL_E2E_TOKEN";

// ---------------------------------------------------------------------------------------------------------
// Certificates: made once per test binary, written as PEM (certificate + key) files.

struct Pem {
    made: GeneratedCertificate,
    path: PathBuf,
}

impl Pem {
    fn cert(&self) -> &Certificate {
        &self.made.certificate
    }
    fn thumb(&self) -> String {
        self.cert().sha1_hex()
    }
    fn p(&self) -> &str {
        self.path.to_str().unwrap()
    }
    fn b64(&self) -> String {
        b64::encode_std(self.cert().der())
    }
    /// Lines of the private key's PEM body: none may ever be printed.
    fn key_lines(&self) -> Vec<String> {
        self.made
            .to_pem()
            .lines()
            .skip_while(|l| !l.contains("PRIVATE KEY"))
            .filter(|l| !l.starts_with("-----") && l.len() >= 40)
            .map(str::to_owned)
            .collect()
    }
}

struct Certs {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    a: Pem,
    b: Pem,
    c: Pem,
    expired: Pem,
    /// Valid from two days from now.
    future: Pem,
}

fn certs() -> &'static Certs {
    static C: OnceLock<Certs> = OnceLock::new();
    C.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let make = |name: &str, back: i64, days: i64| {
            let made = self_signed_rsa(
                &format!("keyroll cli e2e {name}"),
                now - time::Duration::days(back),
                days,
                2048,
            )
            .unwrap();
            let path = dir.path().join(format!("{name}.pem"));
            std::fs::write(&path, made.to_pem().as_bytes()).unwrap();
            Pem { made, path }
        };
        Certs {
            a: make("a", 1, 365),
            b: make("b", 1, 365),
            c: make("c", 1, 365),
            expired: make("expired", 40, 30),
            future: make("future", -2, 365),
            dir: dir.path().to_path_buf(),
            _dir: dir,
        }
    })
}

// ---------------------------------------------------------------------------------------------------------
// The emulator as a child process, and its admin API through curl.

struct Emu {
    child: Child,
    graph: String,
    ca: String,
}

impl Drop for Emu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn emulator(extra: &[&str]) -> Emu {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyroll"))
        .args(["emulator", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start keyroll emulator");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    Emu {
        graph: v["graph_url"].as_str().unwrap().to_owned(),
        ca: v["ca_cert"].as_str().unwrap().to_owned(),
        child,
    }
}

#[derive(Debug, Clone)]
struct Created {
    id: String,
    app_id: String,
    sp_id: String,
    tenant: String,
}

impl Emu {
    fn curl(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--noproxy", "*", "--cacert", &self.ca, "-X", method])
            .arg(format!("{}{path}", self.graph));
        if body.is_some() {
            cmd.args([
                "-H",
                "content-type: application/json",
                "--data-binary",
                "@-",
            ]);
            cmd.stdin(Stdio::piped());
        }
        cmd.stdout(Stdio::piped());
        let mut child = cmd.spawn().expect("curl");
        if let Some(b) = body {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b.to_string().as_bytes())
                .unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "curl {method} {path}");
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    }

    fn create(&self, certs: &[&Pem], extra: Value) -> Created {
        let mut body = json!({
            "displayName": "cli e2e app",
            "certificates": certs.iter().map(|c| c.b64()).collect::<Vec<_>>(),
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let v = self.curl("POST", "/_emulator/applications", Some(&body));
        let s = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("{v}")).to_owned();
        Created {
            id: s("id"),
            app_id: s("appId"),
            sp_id: s("servicePrincipalId"),
            tenant: s("tenantId"),
        }
    }

    /// Sorted thumbprints of the object's key credentials, from the admin API.
    fn thumbs(&self, id: &str) -> Vec<String> {
        let v = self.curl("GET", &format!("/_emulator/applications/{id}"), None);
        let mut out: Vec<String> = v["keyCredentials"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|k| {
                let der = b64::decode_lenient(k["key"].as_str().unwrap()).unwrap();
                Certificate::from_der(&der).unwrap().sha1_hex()
            })
            .collect();
        out.sort();
        out
    }

    fn token(&self, app_id: &str) -> String {
        let v = self.curl("POST", "/_emulator/tokens", Some(&json!({"appId": app_id})));
        v["access_token"].as_str().unwrap().to_owned()
    }

    fn faults(&self, f: Value) {
        self.curl("PUT", "/_emulator/faults", Some(&f));
    }

    fn conn(&self) -> Vec<String> {
        vec![
            "--graph-url".into(),
            self.graph.clone(),
            "--login-url".into(),
            self.graph.clone(),
            "--ca-cert".into(),
            self.ca.clone(),
        ]
    }
}

fn sorted(v: &[&Pem]) -> Vec<String> {
    let mut out: Vec<String> = v.iter().map(|p| p.thumb()).collect();
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------------------
// Running keyroll.

struct Run {
    out: Output,
    elapsed: Duration,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    fn code(&self) -> Option<i32> {
        self.out.status.code()
    }
    #[track_caller]
    fn ok(&self) -> &Self {
        assert_eq!(
            self.code(),
            Some(0),
            "stdout: {}\nstderr: {}",
            self.stdout(),
            self.stderr()
        );
        self
    }
    #[track_caller]
    fn fails(&self, code: i32, words: &[&str]) -> &Self {
        let err = self.stderr();
        assert_eq!(
            self.code(),
            Some(code),
            "stdout: {}\nstderr: {err}",
            self.stdout()
        );
        for w in words {
            assert!(err.contains(w), "stderr should mention {w:?}: {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
        self
    }
}

/// No secret in either stream: no JWT (tokens, proofs and client assertions all start `eyJ`), none of the
/// given secrets, no line of any private key.
#[track_caller]
fn assert_no_secret(r: &Run, secrets: &[&str]) {
    let all = format!("{}{}", r.stdout(), r.stderr());
    assert!(!all.contains("eyJ"), "a JWT in the output: {all}");
    for s in secrets {
        assert!(!all.contains(s), "a secret in the output: {all}");
    }
    let c = certs();
    for p in [&c.a, &c.b, &c.c, &c.expired, &c.future] {
        for line in p.key_lines() {
            assert!(
                !all.contains(&line),
                "private key material in output: {all}"
            );
        }
    }
}

fn keyroll(args: &[String], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyroll"));
    cmd.args(args)
        .stdin(Stdio::null())
        .current_dir(&certs().dir)
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
        .env_remove("IDENTITY_ENDPOINT")
        .env_remove("IDENTITY_HEADER")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let t = Instant::now();
    let out = cmd.output().expect("run keyroll");
    Run {
        out,
        elapsed: t.elapsed(),
    }
}

fn args(parts: &[&str], conn: &[String]) -> Vec<String> {
    parts
        .iter()
        .map(|s| s.to_string())
        .chain(conn.iter().cloned())
        .collect()
}

// ---------------------------------------------------------------------------------------------------------

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
        assert!(v["keyId"].is_string(), "{v}");
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
    let info = emu.curl("GET", "/_emulator/info", None);
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

/// A loopback HTTP server that answers every request with `status` and `body`.
fn garbage_server(status: u16, body: &'static str) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            let mut buf = [0u8; 65536];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

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
    let g = garbage_server(200, "<html>not graph</html>");
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
    let g = garbage_server(500, "internal, not json");
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
    let v: Value = serde_json::from_str(&r.stdout()).unwrap();
    assert_eq!(v["success"], false);
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{v}");
    assert_eq!(steps[0]["step"], "check");
    assert_eq!(steps[0]["status"], "failed");
    assert!(
        steps[0]["detail"].as_str().unwrap().contains("--new-cert"),
        "{v}"
    );
    assert_no_secret(&r, &[]);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a]));
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn roll_plan_csv_and_json_with_results() {
    let emu = emulator(&["--write-budget", "5/1"]);
    let c = certs();
    let conn = emu.conn();
    let automation = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&automation.app_id);
    let dir = tempfile::tempdir().unwrap();
    let apps: Vec<Created> = (0..6).map(|_| emu.create(&[&c.a], json!({}))).collect();

    // CSV: paths relative to the plan file, objectId or appId per row, one row that cannot succeed.
    std::fs::copy(c.a.p(), dir.path().join("a.pem")).unwrap();
    std::fs::copy(c.b.p(), dir.path().join("b.pem")).unwrap();
    let mut csv = String::from("objectId,appId,cert,newCert,removeOld\n");
    for (i, a) in apps[..3].iter().enumerate() {
        if i % 2 == 0 {
            csv.push_str(&format!("{},,a.pem,b.pem,true\n", a.id));
        } else {
            csv.push_str(&format!(",{},a.pem,b.pem,true\n", a.app_id));
        }
    }
    // The signing certificate is not on this object: that row fails, the others do not.
    let stranger = emu.create(&[&c.c], json!({}));
    csv.push_str(&format!("{},,a.pem,b.pem,true\n", stranger.id));
    let plan = dir.path().join("plan.csv");
    write(&plan, &csv);
    let results = dir.path().join("results.csv");
    let r = keyroll(
        &args(
            &[
                "roll",
                "--plan",
                plan.to_str().unwrap(),
                "--results",
                results.to_str().unwrap(),
                "--tenant-id",
                &automation.tenant,
                "--access-token-env",
                TOKEN_VAR,
                "--concurrency",
                "4",
            ],
            &conn,
        ),
        &[(TOKEN_VAR, &token)],
    );
    assert_eq!(r.code(), Some(1), "{}{}", r.stdout(), r.stderr());
    assert!(r.stdout().contains("4 rolls in"), "{}", r.stdout());
    assert!(
        r.stdout().contains("3 succeeded, 1 failed"),
        "{}",
        r.stdout()
    );
    assert_no_secret(&r, &[&token]);
    let text = std::fs::read_to_string(&results).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "row",
            "target",
            "objectId",
            "success",
            "newKeyId",
            "removedKeyIds",
            "state",
            "error"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4, "{text}");
    for (row, a) in rows[..3].iter().zip(&apps[..3]) {
        assert_eq!(&row[2], a.id.as_str(), "{text}");
        assert_eq!(&row[3], "true", "{text}");
        assert!(!row[4].is_empty() && !row[5].is_empty(), "{text}");
    }
    assert_eq!(&rows[3][3], "false", "{text}");
    assert!(rows[3][7].contains("not a key credential"), "{text}");
    for a in &apps[..3] {
        assert_eq!(emu.thumbs(&a.id), sorted(&[&c.b]));
    }
    assert_eq!(emu.thumbs(&stranger.id), sorted(&[&c.c]));

    // JSON plan, JSON results, keeping the old keys.
    let rows: Vec<Value> = apps[3..]
        .iter()
        .map(|a| json!({"objectId": a.id, "cert": c.a.p(), "newCert": c.b.p(), "removeOld": false}))
        .collect();
    let plan = dir.path().join("plan.json");
    write(&plan, &serde_json::to_string(&rows).unwrap());
    let results = dir.path().join("results.json");
    let r = keyroll(
        &args(
            &[
                "roll",
                "--plan",
                plan.to_str().unwrap(),
                "--results",
                results.to_str().unwrap(),
                "--tenant-id",
                &automation.tenant,
                "--access-token-env",
                TOKEN_VAR,
            ],
            &conn,
        ),
        &[(TOKEN_VAR, &token)],
    );
    r.ok();
    assert!(
        r.stdout().contains("3 succeeded, 0 failed"),
        "{}",
        r.stdout()
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    let reports = v.as_array().unwrap();
    assert_eq!(reports.len(), 3);
    for (rep, a) in reports.iter().zip(&apps[3..]) {
        assert_eq!(rep["success"], true, "{rep}");
        assert_eq!(rep["objectId"], a.id.as_str());
        assert!(rep["newKeyId"].is_string());
        assert_eq!(emu.thumbs(&a.id), sorted(&[&c.a, &c.b]));
    }

    // A plan that is not one: exit 2, the row said.
    let plan = dir.path().join("bad.csv");
    write(&plan, "objectId,cert,newCert,colour\nx,a.pem,b.pem,red\n");
    keyroll(
        &args(
            &[
                "roll",
                "--plan",
                plan.to_str().unwrap(),
                "--access-token-env",
                TOKEN_VAR,
            ],
            &conn,
        ),
        &[(TOKEN_VAR, &token)],
    )
    .fails(2, &["row 2"]);
}

// ---------------------------------------------------------------------------------------------------------
// Integrity: one roll per object, and every refusal before the first write.

/// Counts of each certificate's thumbprint on the object.
fn count(emu: &Emu, id: &str, p: &Pem) -> usize {
    emu.thumbs(id).iter().filter(|t| **t == p.thumb()).count()
}

#[test]
fn duplicate_plan_rows_roll_each_object_once() {
    let emu = emulator(&[]);
    let c = certs();
    let conn = emu.conn();
    let automation = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&automation.app_id);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(c.a.p(), dir.path().join("a.pem")).unwrap();
    std::fs::copy(c.b.p(), dir.path().join("b.pem")).unwrap();
    let apps: Vec<Created> = (0..16).map(|_| emu.create(&[&c.a], json!({}))).collect();
    // Each object twice, side by side: by object id, then by appId in upper case; every third a third time,
    // copied as it is. Half of them remove the old key.
    let mut csv = String::from("objectId,appId,cert,newCert,removeOld\n");
    let mut rows_of: Vec<Vec<usize>> = Vec::new();
    let mut n = 0;
    for (i, a) in apps.iter().enumerate() {
        let remove = i % 2 == 0;
        let mut rows = Vec::new();
        csv.push_str(&format!("{},,a.pem,b.pem,{remove}\n", a.id));
        rows.push(n);
        n += 1;
        csv.push_str(&format!(
            ",{},a.pem,b.pem,{remove}\n",
            a.app_id.to_uppercase()
        ));
        rows.push(n);
        n += 1;
        if i % 3 == 0 {
            csv.push_str(&format!("{},,a.pem,b.pem,{remove}\n", a.id));
            rows.push(n);
            n += 1;
        }
        rows_of.push(rows);
    }
    let plan = dir.path().join("plan.csv");
    write(&plan, &csv);
    let results = dir.path().join("results.json");
    let r = keyroll(
        &args(
            &[
                "roll",
                "--plan",
                plan.to_str().unwrap(),
                "--results",
                results.to_str().unwrap(),
                "--tenant-id",
                &automation.tenant,
                "--access-token-env",
                TOKEN_VAR,
                "--concurrency",
                "8",
            ],
            &conn,
        ),
        &[(TOKEN_VAR, &token)],
    );
    let duplicated = apps.iter().filter(|a| count(&emu, &a.id, &c.b) > 1).count();
    assert_eq!(
        duplicated,
        0,
        "{duplicated} of {} objects hold the new certificate more than once\n{}{}",
        apps.len(),
        r.stdout(),
        r.stderr()
    );
    r.ok();
    assert!(
        r.stdout().contains(&format!("{n} succeeded, 0 failed")),
        "{}",
        r.stdout()
    );
    assert_no_secret(&r, &[&token]);
    for (i, a) in apps.iter().enumerate() {
        let want = if i % 2 == 0 {
            sorted(&[&c.b])
        } else {
            sorted(&[&c.a, &c.b])
        };
        assert_eq!(emu.thumbs(&a.id), want, "object {i}");
    }
    // Every row has its result; the rows of one object report the same roll.
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    let reports = v.as_array().unwrap();
    assert_eq!(reports.len(), n);
    for (rows, a) in rows_of.iter().zip(&apps) {
        let first = &reports[rows[0]];
        assert!(first["newKeyId"].is_string(), "{first}");
        for &row in rows {
            let rep = &reports[row];
            assert_eq!(rep["success"], true, "row {}: {rep}", row + 1);
            assert_eq!(rep["objectId"], a.id.as_str(), "{rep}");
            assert_eq!(rep["newKeyId"], first["newKeyId"], "{rep}");
        }
    }
}

#[test]
fn conflicting_plan_rows_are_refused_before_any_write() {
    let emu = emulator(&[]);
    let c = certs();
    let conn = emu.conn();
    let automation = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&automation.app_id);
    let dir = tempfile::tempdir().unwrap();
    let apps: Vec<Created> = (0..3).map(|_| emu.create(&[&c.a], json!({}))).collect();
    // Row 1 and row 3 name one object (by object id, by appId) with different new certificates; rows 4 and 5
    // name another with different removeOld. Row 2 alone would be fine: nothing at all is written.
    let csv = format!(
        "objectId,appId,cert,newCert,removeOld\n{},,{a},{b},false\n{},,{a},{b},false\n,{},{a},{cc},false\n{},,{a},{b},true\n{},,{a},{b},false\n",
        apps[0].id,
        apps[1].id,
        apps[0].app_id,
        apps[2].id,
        apps[2].id,
        a = c.a.p(),
        b = c.b.p(),
        cc = c.c.p(),
    );
    let plan = dir.path().join("plan.csv");
    write(&plan, &csv);
    let r = keyroll(
        &args(
            &[
                "roll",
                "--plan",
                plan.to_str().unwrap(),
                "--tenant-id",
                &automation.tenant,
                "--access-token-env",
                TOKEN_VAR,
                "--concurrency",
                "8",
            ],
            &conn,
        ),
        &[(TOKEN_VAR, &token)],
    );
    for a in &apps {
        assert_eq!(
            emu.thumbs(&a.id),
            sorted(&[&c.a]),
            "{}{}",
            r.stdout(),
            r.stderr()
        );
    }
    r.fails(
        2,
        &[
            "plan rows 1 and 3",
            &apps[0].id,
            &format!("newCert ({} vs {})", c.b.thumb(), c.c.thumb()),
            "plan rows 4 and 5",
            "removeOld (true vs false)",
            "nothing was written",
        ],
    );
    assert_no_secret(&r, &[&token]);
}

#[test]
fn second_keyroll_on_the_same_plan_is_refused() {
    // Every request takes 150 ms: the first run lasts seconds, long enough to start the second beside it.
    let emu = emulator(&["--latency-ms", "150"]);
    let c = certs();
    let conn = emu.conn();
    let automation = emu.create(&[], json!({"roles": ["Application.ReadWrite.All"]}));
    let token = emu.token(&automation.app_id);
    let dir = tempfile::tempdir().unwrap();
    let apps: Vec<Created> = (0..4).map(|_| emu.create(&[&c.a], json!({}))).collect();
    let mut csv = String::from("objectId,cert,newCert\n");
    for a in &apps {
        csv.push_str(&format!("{},{},{}\n", a.id, c.a.p(), c.b.p()));
    }
    let plan = dir.path().join("plan.csv");
    write(&plan, &csv);
    let argv = args(
        &[
            "roll",
            "--plan",
            plan.to_str().unwrap(),
            "--tenant-id",
            &automation.tenant,
            "--access-token-env",
            TOKEN_VAR,
            "--concurrency",
            "1",
        ],
        &conn,
    );
    let first = Command::new(env!("CARGO_BIN_EXE_keyroll"))
        .args(&argv)
        .env(TOKEN_VAR, &token)
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
        .env_remove("IDENTITY_ENDPOINT")
        .env_remove("IDENTITY_HEADER")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first_pid = first.id();
    // The first run holds the lock once it has written its process id into the lock file.
    let lock = dir.path().join("plan.csv.lock");
    let t = Instant::now();
    while std::fs::read_to_string(&lock).map_or(true, |s| s.trim().is_empty())
        && t.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    // The same plan, named another way (through `..`), while the first run is busy.
    let other_name = dir
        .path()
        .join("..")
        .join(dir.path().file_name().unwrap())
        .join("plan.csv");
    let mut second_argv = argv.clone();
    second_argv[2] = other_name.to_str().unwrap().to_owned();
    let second = keyroll(&second_argv, &[(TOKEN_VAR, &token)]);
    let first = first.wait_with_output().unwrap();
    let first_err = String::from_utf8_lossy(&first.stderr).into_owned();
    for a in &apps {
        assert_eq!(
            count(&emu, &a.id, &c.b),
            1,
            "second run: {}{}\nfirst run: {first_err}",
            second.stdout(),
            second.stderr()
        );
    }
    second.fails(
        1,
        &[
            "another keyroll",
            &format!("process {first_pid}"),
            "plan.csv.lock",
        ],
    );
    assert!(
        second.elapsed < Duration::from_secs(2),
        "{:?}",
        second.elapsed
    );
    assert_eq!(first.status.code(), Some(0), "{first_err}");
    // The lock ends with the run: the same plan runs again (and finds each new key already there).
    keyroll(&argv, &[(TOKEN_VAR, &token)]).ok();
    for a in &apps {
        assert_eq!(emu.thumbs(&a.id), sorted(&[&c.a, &c.b]));
    }
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
fn remove_old_without_tenant_is_refused_before_the_add() {
    let emu = emulator(&[]);
    let c = certs();
    let app = emu.create(&[&c.a], json!({}));
    // The app's own token: it names no tenant to request the verification token in.
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
    r.fails(2, &["--remove-old", "--tenant-id", "nothing was written"]);
    assert_no_secret(&r, &[&token]);
    assert_eq!(emu.thumbs(&app.id), sorted(&[&c.a]));
}
