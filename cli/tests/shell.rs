//! Shell completions and the man page, generated from the command line's definition, parse in their own tools;
//! `keyroll --version` names the commit it was built from.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn keyroll(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_keyroll"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run keyroll");
    assert!(
        out.status.success(),
        "keyroll {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the script");
    path
}

fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `tool args` and asserts it succeeded, with its output in the message.
fn check(tool: &str, args: &[&std::ffi::OsStr]) {
    let out = Command::new(tool)
        .args(args)
        .output()
        .expect("run the tool");
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bash_completion_parses_and_completes_the_commands() {
    let script = keyroll(&["completions", "bash"]);
    for word in ["roll", "scan", "password", "--object-id", "--output"] {
        assert!(script.contains(word), "the bash completion lacks {word}");
    }
    assert!(
        !script.contains("keyroll__emulator"),
        "the hidden command is offered"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "keyroll.bash", &script);
    check("bash", &["-n".as_ref(), path.as_os_str()]);
    // Sourced, it registers the completion function for keyroll.
    let out = Command::new("bash")
        .args([
            "-c",
            &format!("source '{}' && complete -p keyroll", path.display()),
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("keyroll"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn zsh_and_fish_completions_parse_where_the_shell_is() {
    let dir = tempfile::tempdir().unwrap();
    let zsh = keyroll(&["completions", "zsh"]);
    assert!(
        zsh.starts_with("#compdef keyroll"),
        "{}",
        &zsh[..40.min(zsh.len())]
    );
    let fish = keyroll(&["completions", "fish"]);
    assert!(fish.contains("complete -c keyroll"), "fish completion");
    if on_path("zsh") {
        check(
            "zsh",
            &[
                "-n".as_ref(),
                write(dir.path(), "_keyroll", &zsh).as_os_str(),
            ],
        );
    } else {
        eprintln!("zsh is not installed: only the zsh completion's header was checked");
    }
    if on_path("fish") {
        let path = write(dir.path(), "keyroll.fish", &fish);
        check("fish", &["--no-execute".as_ref(), path.as_os_str()]);
    } else {
        eprintln!("fish is not installed: only the fish completion's text was checked");
    }
}

/// The PowerShell completion parses with PowerShell's own parser: `pwsh` on the PATH, else the one
/// scripts/setup.sh puts in .tools/pwsh.
#[test]
fn powershell_completion_parses() {
    let script = keyroll(&["completions", "powershell"]);
    assert!(script.contains("Register-ArgumentCompleter"), "{script}");
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/pwsh/pwsh");
    let pwsh = if on_path("pwsh") {
        PathBuf::from("pwsh")
    } else if tools.is_file() {
        tools
    } else {
        eprintln!("no PowerShell (pwsh) here: the completion's text only was checked");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "keyroll.ps1", &script);
    let parse = format!(
        "$e = $null; $null = [System.Management.Automation.Language.Parser]::ParseFile('{}', [ref]$null, [ref]$e); \
         if ($e) {{ $e | ForEach-Object {{ $_.ToString() }}; exit 1 }}",
        path.display()
    );
    let out = Command::new(&pwsh)
        .args(["-NoProfile", "-NonInteractive", "-Command", &parse])
        .output()
        .expect("run pwsh");
    assert!(
        out.status.success(),
        "the PowerShell completion does not parse: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn man_page_renders() {
    let page = keyroll(&["man"]);
    assert!(
        page.contains(".TH keyroll 1"),
        "{}",
        &page[..80.min(page.len())]
    );
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "keyroll.1", &page);
    let out = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(&path)
        .output();
    match out {
        Ok(out) => {
            let warnings = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && warnings.trim().is_empty(),
                "groff: {warnings}"
            );
        }
        Err(e) => eprintln!("groff is not installed ({e}): the page's header only was checked"),
    }
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let version = keyroll(&["--version"]);
    assert!(
        version.starts_with(&format!("keyroll {}", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    match head {
        Ok(h) if h.status.success() => {
            let head = String::from_utf8_lossy(&h.stdout).trim().to_owned();
            assert!(
                version.contains(&format!("({head})")),
                "{version} lacks HEAD {head}"
            );
        }
        _ => assert!(version.contains("(unknown commit)"), "{version}"),
    }
}
