//! The README's first command runs `keyroll demo`: it must roll an application end to end against the
//! in-process emulator, print no secret, and exit 0.

use std::process::Command;

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
    for secret_marker in ["PRIVATE KEY", "eyJ"] {
        assert!(
            !stdout.contains(secret_marker) && !stderr.contains(secret_marker),
            "output contains {secret_marker}"
        );
    }
}
