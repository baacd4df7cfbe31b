//! The README's first command runs `keyroll demo`: it must roll an application end to end against the
//! emulator it starts (`keyroll-emulator`, a binary of its own), print no secret, and exit 0.

use std::process::Command;

use keyroll_testkit::emulator::{EMULATOR_BIN_VARIABLE, emulator_bin};
use keyroll_testkit::secrets::{Secret, assert_no_secret};

#[test]
fn demo_rolls_an_application_and_prints_no_secret() {
    let out = Command::new(env!("CARGO_BIN_EXE_keyroll"))
        .arg("demo")
        .env(EMULATOR_BIN_VARIABLE, emulator_bin())
        .output()
        .expect("run keyroll demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("demo complete"), "{stdout}");
    assert!(stdout.contains("removed 1 old key(s)"), "{stdout}");
    assert!(
        stdout.contains("AADSTS700027"),
        "the removed certificate must be refused: {stdout}"
    );
    let markers = [
        Secret::text("a PEM private key", "PRIVATE KEY"),
        Secret::any_jwt(),
    ];
    assert_no_secret(&stdout, &markers, "keyroll demo's stdout");
    assert_no_secret(&stderr, &markers, "keyroll demo's stderr");
}

/// Without the emulator binary the demo says where it looked and how to provide it, and fails (exit 1).
#[test]
fn demo_without_the_emulator_binary_names_the_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_keyroll"))
        .arg("demo")
        .env(EMULATOR_BIN_VARIABLE, "/nonexistent/keyroll-emulator")
        .output()
        .expect("run keyroll demo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("KEYROLL_EMULATOR_BIN names /nonexistent/keyroll-emulator"),
        "{stderr}"
    );
}

/// `keyroll emulator` was the emulator until it became its own binary: the mistake is named with the command
/// to run instead, the arguments kept, exit 2.
#[test]
fn keyroll_emulator_subcommand_points_at_the_emulator_binary() {
    let out = Command::new(env!("CARGO_BIN_EXE_keyroll"))
        .args(["emulator", "--listen", "127.0.0.1:0"])
        .output()
        .expect("run keyroll emulator");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("run `keyroll-emulator --listen 127.0.0.1:0`"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The `keyroll` users install carries no emulator: none of SQLite's text (its file header, its C API's names)
/// and none of the emulator crate's is in the binary. (`xtask/tests/layering.rs` checks the dependency graph.)
#[test]
fn keyroll_binary_holds_no_sqlite_and_no_emulator() {
    let bytes = std::fs::read(env!("CARGO_BIN_EXE_keyroll")).expect("read the keyroll binary");
    for marker in ["SQLite format 3", "sqlite3_", "keyroll_emulator"] {
        let found = bytes.windows(marker.len()).any(|w| w == marker.as_bytes());
        assert!(!found, "the keyroll binary contains {marker:?}");
    }
}
