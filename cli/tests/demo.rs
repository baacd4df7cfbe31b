//! The README's first command runs `keyroll demo`: it must roll an application end to end against the
//! in-process emulator, print no secret, and exit 0.

use std::process::Command;

use keyroll_testkit::secrets::{Secret, assert_no_secret};

#[test]
fn demo_rolls_an_application_and_prints_no_secret() {
    let out = Command::new(env!("CARGO_BIN_EXE_keyroll"))
        .arg("demo")
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
