//! Stamps the commit the binary is built from into `keyroll --version` (`KEYROLL_COMMIT`): the short hash of
//! HEAD, or `KEYROLL_BUILD_COMMIT` when set (a build from a source archive), else "unknown commit" (no git, or
//! not a checkout).

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-env-changed=KEYROLL_BUILD_COMMIT");
    let commit = match std::env::var("KEYROLL_BUILD_COMMIT") {
        Ok(c) if !c.trim().is_empty() => c.trim().to_owned(),
        _ => {
            // Rebuilt when HEAD moves: HEAD itself, the branch it names, and the packed refs.
            for path in ["HEAD", "packed-refs"]
                .into_iter()
                .map(str::to_owned)
                .chain(git(&["symbolic-ref", "-q", "HEAD"]))
            {
                if let Some(p) = git(&["rev-parse", "--git-path", &path]) {
                    let p = PathBuf::from(p);
                    let p = if p.is_absolute() {
                        p
                    } else {
                        // Relative to the current folder, the crate's.
                        std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
                    };
                    println!("cargo:rerun-if-changed={}", p.display());
                }
            }
            git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown commit".to_owned())
        }
    };
    println!("cargo:rustc-env=KEYROLL_COMMIT={commit}");
}
