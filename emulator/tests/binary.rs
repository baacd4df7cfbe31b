//! The `keyroll-emulator` binary as scripts and test harnesses run it: its exit codes for bad options and its
//! clean stop on SIGTERM. (The endpoints it serves are tested in process by the other suites.)

use std::process::{Command, Stdio};

use keyroll_testkit::emulator::ChildEmulator;

const BIN: &str = env!("CARGO_BIN_EXE_keyroll-emulator");

/// `keyroll-emulator` without `--ca-file` writes its CA to the temporary folder; stopped by SIGTERM (as a test
/// harness or a service manager stops it), it must remove that file and exit 0, leaving nothing behind.
#[cfg(unix)]
#[test]
fn emulator_removes_the_ca_file_it_generated_when_stopped_by_sigterm() {
    let mut emu = ChildEmulator::start_bin(BIN, &[]);
    let ca = std::path::PathBuf::from(emu.ca());
    assert!(ca.is_file(), "{} was not written", ca.display());
    let status = emu.terminate();
    assert!(
        status.success(),
        "SIGTERM must stop the emulator cleanly: {status}"
    );
    assert!(
        !ca.exists(),
        "{} is left behind after SIGTERM",
        ca.display()
    );
}

/// A CA file the caller named is the caller's: it stays after the emulator stops.
#[cfg(unix)]
#[test]
fn emulator_keeps_a_named_ca_file_when_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let mut emu = ChildEmulator::start_bin(BIN, &["--ca-file", ca.to_str().unwrap()]);
    assert!(emu.terminate().success());
    assert!(ca.is_file());
}

#[test]
fn emulator_limit_options_refuse_bad_values_with_exit_2() {
    for (args, words) in [
        (
            &["--header-timeout", "0"][..],
            "--header-timeout must be a positive number of seconds",
        ),
        (&["--body-timeout=-1"][..], "--body-timeout must be"),
        (
            &["--max-connections", "0"][..],
            "--max-connections must be at least 1",
        ),
        (&["--replication-delay-ms", "soon"][..], "invalid value"),
    ] {
        let out = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(words), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} started anyway");
    }
}
