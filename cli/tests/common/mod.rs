//! What the CLI suites share: certificates written as PEM files, `keyroll-emulator` as a child process (from
//! keyroll-testkit) with its admin API, running the `keyroll` binary, and the no-secret check on its output.

#![allow(dead_code)]

pub mod schema;

use std::ops::Deref;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use keyroll_proto::cert::Certificate;
use keyroll_proto::cert::generate::{GeneratedCertificate, self_signed_rsa};
use keyroll_testkit::emulator::ChildEmulator;
use keyroll_testkit::secrets::{self, Secret};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

/// The variable the tests pass access tokens in (`--access-token-env`).
pub const TOKEN_VAR: &str = "KEYROLL_E2E_TOKEN";

// ---------------------------------------------------------------------------------------------------------
// Certificates: made once per test binary, written as PEM (certificate + key) files.

pub struct Pem {
    pub made: GeneratedCertificate,
    pub path: PathBuf,
}

impl Pem {
    pub fn cert(&self) -> &Certificate {
        &self.made.certificate
    }
    pub fn thumb(&self) -> String {
        self.cert().sha1_hex()
    }
    pub fn p(&self) -> &str {
        self.path.to_str().unwrap()
    }
    /// The certificate's DER in standard base64, as the admin API takes it.
    pub fn b64(&self) -> String {
        keyroll_proto::b64::encode_std(self.cert().der())
    }
    /// Every line of the private key's PEM body: none may ever be printed.
    pub fn key_secrets(&self) -> Vec<Secret> {
        Secret::private_key(self.p(), &self.made.to_pem())
    }
}

pub struct Certs {
    _dir: tempfile::TempDir,
    pub dir: PathBuf,
    pub a: Pem,
    pub b: Pem,
    pub c: Pem,
    pub expired: Pem,
    /// Valid from two days from now.
    pub future: Pem,
}

pub fn certs() -> &'static Certs {
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

/// The sorted thumbprints of `v`.
pub fn sorted(v: &[&Pem]) -> Vec<String> {
    let mut out: Vec<String> = v.iter().map(|p| p.thumb()).collect();
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------------------
// The emulator as a child process (keyroll-testkit's harness), with ids as the strings the CLI takes.

/// `keyroll-emulator` with `extra` arguments.
pub fn emulator(extra: &[&str]) -> Emu {
    Emu(ChildEmulator::start(extra))
}

pub struct Emu(pub ChildEmulator);

impl Deref for Emu {
    type Target = ChildEmulator;
    fn deref(&self) -> &ChildEmulator {
        &self.0
    }
}

/// An application created through the admin API, its ids as strings for the command line.
#[derive(Debug, Clone)]
pub struct Created {
    pub id: String,
    pub app_id: String,
    pub sp_id: String,
    pub tenant: String,
}

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A certificate, or a PEM file holding one.
pub trait AsCert {
    fn as_cert(&self) -> &Certificate;
}

impl AsCert for Pem {
    fn as_cert(&self) -> &Certificate {
        self.cert()
    }
}

impl AsCert for Certificate {
    fn as_cert(&self) -> &Certificate {
        self
    }
}

impl Emu {
    /// An application holding `certs`, with the fields of `extra` added (see `Admin::create`).
    pub fn create(&self, certs: &[&dyn AsCert], extra: Value) -> Created {
        let certs: Vec<&Certificate> = certs.iter().map(|p| p.as_cert()).collect();
        let c = self.0.create(&certs, extra);
        Created {
            id: c.id.to_string(),
            app_id: c.app_id.to_string(),
            sp_id: c.sp_id.to_string(),
            tenant: c.tenant.to_string(),
        }
    }

    /// Sorted thumbprints of the object's key credentials, from the admin API.
    pub fn thumbs(&self, id: &str) -> Vec<String> {
        self.0.thumbprints(uuid(id))
    }

    pub fn token(&self, app_id: &str) -> String {
        self.0.token_for(uuid(app_id))
    }
}

// ---------------------------------------------------------------------------------------------------------
// Running keyroll.

pub struct Run {
    pub out: Output,
    pub elapsed: Duration,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    /// Both streams.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout(), self.stderr())
    }
    pub fn code(&self) -> Option<i32> {
        self.out.status.code()
    }
    #[track_caller]
    pub fn ok(&self) -> &Self {
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
    pub fn fails(&self, code: i32, words: &[&str]) -> &Self {
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
pub fn assert_no_secret(r: &Run, given: &[&str]) {
    let c = certs();
    let mut all = vec![Secret::any_jwt()];
    all.extend(given.iter().map(|s| Secret::text("a given secret", *s)));
    for p in [&c.a, &c.b, &c.c, &c.expired, &c.future] {
        all.extend(p.key_secrets());
    }
    secrets::assert_no_secret(&r.text(), &all, "keyroll's stdout and stderr");
}

/// Runs keyroll in the certificates' folder with the ambient credential variables removed, loopback exempt
/// from any proxy, and `env` set.
pub fn keyroll(args: &[String], env: &[(&str, &str)]) -> Run {
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

/// `parts` followed by the connection arguments `conn`.
pub fn args(parts: &[&str], conn: &[String]) -> Vec<String> {
    parts
        .iter()
        .map(|s| s.to_string())
        .chain(conn.iter().cloned())
        .collect()
}
