//! Test fixtures made by the `openssl` command (and by rcgen where openssl 3.0 cannot backdate a
//! certificate): every certificate and key format users bring, generated once per test binary.
//!
//! Shared by the proto, client and CLI test suites.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use time::{Duration, OffsetDateTime};

use crate::secrets::Secret;

/// The password of every password-protected fixture: distinctive, so tests can grep output for it.
pub const PASSWORD: &str = "Fixture-Pa55word-7b1e";

/// The fixtures that hold a private key (PEM): no line of their body may ever appear in output.
pub const KEY_FILES: &[&str] = &[
    "key.pem",
    "key_rsa.pem",
    "key_enc.pem",
    "ec_key.pem",
    "other_key.pem",
    "rsa1024_key.pem",
];

/// The fixture directory and what tests need to know about its files.
pub struct Fixtures {
    dir: PathBuf,
    _owned: Option<tempfile::TempDir>,
}

/// Runs `openssl` with `args` in `dir`, panicking with its stderr on failure.
pub fn openssl_in(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command is installed");
    assert!(
        out.status.success(),
        "openssl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Fixtures {
    /// The path of fixture `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
    /// The bytes of fixture `name`.
    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
    }
    /// The text of fixture `name`.
    pub fn text(&self, name: &str) -> String {
        String::from_utf8(self.read(name)).expect("text fixture")
    }
    /// The fixture directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// Runs openssl in the fixture directory.
    pub fn openssl(&self, args: &[&str]) -> Output {
        openssl_in(self.dir(), args)
    }
    /// The fixtures' secrets for [`crate::secrets::assert_no_secret`]: the password and every line of every
    /// private key in [`KEY_FILES`].
    pub fn secrets(&self) -> Vec<Secret> {
        let mut out = vec![Secret::text("the fixture password", PASSWORD)];
        for key in KEY_FILES {
            out.extend(Secret::private_key(key, &self.text(key)));
        }
        out
    }
    /// Lines of the base64 body of a PEM private key: none of them may ever appear in a message.
    pub fn key_body_lines(&self, name: &str) -> Vec<String> {
        self.text(name)
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 40)
            .map(str::to_owned)
            .collect()
    }
}

/// The fixtures, generated on first use.
///
/// nextest runs every test in its own process, so under nextest the fixtures are generated once per run
/// (keyed by `NEXTEST_RUN_ID`) into the system's temporary folder and shared by all test processes of that run;
/// otherwise once per test binary into a private temp directory.
pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| match std::env::var("NEXTEST_RUN_ID") {
        Ok(run) => shared_for_run(&run),
        Err(_) => {
            let temp = tempfile::tempdir().expect("temp dir");
            generate_into(temp.path());
            Fixtures {
                dir: temp.path().to_path_buf(),
                _owned: Some(temp),
            }
        }
    })
}

fn shared_for_run(run: &str) -> Fixtures {
    // The system's temporary folder: a library has no CARGO_TARGET_TMPDIR, and the folder of a run is removed
    // by the next run (remove_stale).
    let root = std::env::temp_dir().join("keyroll-fixtures");
    std::fs::create_dir_all(&root).expect("fixture root");
    let dir = root.join(format!("run-{run}"));
    if !dir.join("complete").exists() {
        // Generate aside, then move into place atomically; a concurrent process that loses the race uses the
        // winner's files.
        let scratch = tempfile::tempdir_in(&root).expect("scratch dir");
        generate_into(scratch.path());
        std::fs::write(scratch.path().join("complete"), b"").unwrap();
        let scratch = scratch.keep();
        if std::fs::rename(&scratch, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&scratch);
        }
        remove_stale(&root, &dir);
    }
    assert!(
        dir.join("complete").exists(),
        "fixtures in {}",
        dir.display()
    );
    Fixtures { dir, _owned: None }
}

/// Removes the fixtures of earlier runs (older than an hour).
fn remove_stale(root: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(3600));
        if path != keep && old {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

fn generate_into(dir: &Path) {
    let f = Fixtures {
        dir: dir.to_path_buf(),
        _owned: None,
    };
    let pass = format!("pass:{PASSWORD}");
    let pass = pass.as_str();

    // The main RSA-2048 key in every encoding, and a self-signed certificate valid from now.
    f.openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        "key.pem",
    ]);
    f.openssl(&[
        "rsa",
        "-in",
        "key.pem",
        "-traditional",
        "-out",
        "key_rsa.pem",
    ]);
    f.openssl(&[
        "pkcs8", "-topk8", "-nocrypt", "-in", "key.pem", "-outform", "DER", "-out", "key.der",
    ]);
    f.openssl(&[
        "rsa",
        "-in",
        "key.pem",
        "-traditional",
        "-outform",
        "DER",
        "-out",
        "key_rsa.der",
    ]);
    f.openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        "key.pem",
        "-v2",
        "aes-256-cbc",
        "-passout",
        pass,
        "-out",
        "key_enc.pem",
    ]);
    f.openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        "key.pem",
        "-v2",
        "aes-256-cbc",
        "-passout",
        pass,
        "-outform",
        "DER",
        "-out",
        "key_enc.der",
    ]);
    f.openssl(&["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"]);
    f.openssl(&[
        "req",
        "-x509",
        "-key",
        "key.pem",
        "-subj",
        "/CN=keyroll test",
        "-days",
        "365",
        "-out",
        "cert.pem",
    ]);
    f.openssl(&[
        "x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der",
    ]);
    let cert_pem = f.text("cert.pem");
    let body: String = cert_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    std::fs::write(f.path("cert.b64"), format!("{body}\n")).unwrap();
    std::fs::write(
        f.path("cert_lines.b64"),
        cert_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .join("\r\n"),
    )
    .unwrap();
    let url: String = body
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_");
    std::fs::write(f.path("cert_url.b64"), url).unwrap();
    std::fs::write(
        f.path("bundle_pkcs8.pem"),
        format!("{cert_pem}{}", f.text("key.pem")),
    )
    .unwrap();
    std::fs::write(
        f.path("bundle_pkcs1.pem"),
        format!("{cert_pem}{}", f.text("key_rsa.pem")),
    )
    .unwrap();
    std::fs::write(
        f.path("bundle_key_first.pem"),
        format!("{}{cert_pem}", f.text("key_rsa.pem")),
    )
    .unwrap();
    std::fs::write(
        f.path("bundle_enc.pem"),
        format!("{cert_pem}{}", f.text("key_enc.pem")),
    )
    .unwrap();

    // PFX in every encryption users meet, with and without a password.
    let variants: [(&str, &[&str]); 3] = [
        ("aes", &[]),
        (
            "3des",
            &[
                "-certpbe",
                "PBE-SHA1-3DES",
                "-keypbe",
                "PBE-SHA1-3DES",
                "-macalg",
                "sha1",
            ],
        ),
        ("legacy", &["-legacy"]),
    ];
    for (name, extra) in variants {
        for (suffix, pw) in [("pw", pass), ("nopw", "pass:")] {
            let out = format!("{name}_{suffix}.pfx");
            let mut args = vec![
                "pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-passout", pw,
                "-out", &out,
            ];
            args.extend_from_slice(extra);
            f.openssl(&args);
        }
    }
    f.openssl(&[
        "pkcs12",
        "-export",
        "-keypbe",
        "NONE",
        "-certpbe",
        "NONE",
        "-nomac",
        "-inkey",
        "key.pem",
        "-in",
        "cert.pem",
        "-passout",
        "pass:",
        "-out",
        "plain.pfx",
    ]);
    f.openssl(&[
        "pkcs12",
        "-export",
        "-nokeys",
        "-in",
        "cert.pem",
        "-passout",
        pass,
        "-out",
        "certonly.pfx",
    ]);

    // A second RSA key with its certificate: a signer the main certificate does not know.
    f.openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        "other_key.pem",
    ]);
    f.openssl(&[
        "req",
        "-x509",
        "-key",
        "other_key.pem",
        "-subj",
        "/CN=keyroll other",
        "-days",
        "365",
        "-out",
        "other_cert.pem",
    ]);
    f.openssl(&[
        "x509",
        "-in",
        "other_cert.pem",
        "-outform",
        "DER",
        "-out",
        "other_cert.der",
    ]);

    // EC (P-256).
    f.openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "ec_key.pem",
    ]);
    f.openssl(&[
        "ec",
        "-in",
        "ec_key.pem",
        "-outform",
        "DER",
        "-out",
        "ec_key.der",
    ]);
    f.openssl(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        "ec_key.pem",
        "-out",
        "ec_key_pkcs8.pem",
    ]);
    f.openssl(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        "ec_key.pem",
        "-outform",
        "DER",
        "-out",
        "ec_key_pkcs8.der",
    ]);
    f.openssl(&[
        "req",
        "-x509",
        "-key",
        "ec_key.pem",
        "-subj",
        "/CN=keyroll ec",
        "-days",
        "365",
        "-out",
        "ec_cert.pem",
    ]);
    f.openssl(&[
        "x509",
        "-in",
        "ec_cert.pem",
        "-outform",
        "DER",
        "-out",
        "ec_cert.der",
    ]);
    std::fs::write(
        f.path("ec_bundle.pem"),
        format!("{}{}", f.text("ec_cert.pem"), f.text("ec_key_pkcs8.pem")),
    )
    .unwrap();
    f.openssl(&[
        "pkcs12",
        "-export",
        "-inkey",
        "ec_key.pem",
        "-in",
        "ec_cert.pem",
        "-passout",
        pass,
        "-out",
        "ec.pfx",
    ]);

    // RSA-1024: parses, but too weak to sign proofs.
    f.openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:1024",
        "-out",
        "rsa1024_key.pem",
    ]);
    f.openssl(&[
        "req",
        "-x509",
        "-key",
        "rsa1024_key.pem",
        "-subj",
        "/CN=keyroll weak",
        "-days",
        "365",
        "-out",
        "rsa1024_cert.pem",
    ]);
    f.openssl(&[
        "x509",
        "-in",
        "rsa1024_cert.pem",
        "-outform",
        "DER",
        "-out",
        "rsa1024_cert.der",
    ]);
    std::fs::write(
        f.path("rsa1024_bundle.pem"),
        format!(
            "{}{}",
            f.text("rsa1024_cert.pem"),
            f.text("rsa1024_key.pem")
        ),
    )
    .unwrap();
    f.openssl(&[
        "pkcs12",
        "-export",
        "-inkey",
        "rsa1024_key.pem",
        "-in",
        "rsa1024_cert.pem",
        "-passout",
        pass,
        "-out",
        "rsa1024.pfx",
    ]);

    // Expired and not-yet-valid certificates for the main key (openssl 3.0's `req` cannot backdate).
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let key_pem = f.text("key.pem");
    let signing = rcgen::KeyPair::from_pem_and_sign_algo(&key_pem, &rcgen::PKCS_RSA_SHA256)
        .expect("rcgen reads the openssl key");
    for (name, from, to) in [
        (
            "expired",
            now - Duration::days(400),
            now - Duration::days(30),
        ),
        (
            "notyet",
            now + Duration::days(30),
            now + Duration::days(400),
        ),
    ] {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("keyroll {name}"));
        params.not_before = from;
        params.not_after = to;
        let cert = params.self_signed(&signing).expect("self-signed");
        std::fs::write(f.path(&format!("{name}_cert.pem")), cert.pem()).unwrap();
        std::fs::write(f.path(&format!("{name}_cert.der")), cert.der().as_ref()).unwrap();
        std::fs::write(
            f.path(&format!("{name}_bundle.pem")),
            format!("{}{key_pem}", cert.pem()),
        )
        .unwrap();
    }
}
