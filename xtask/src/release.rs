//! `cargo xtask release`: everything a user installs, in one folder, from one command.
//!
//! ```text
//! <out>/<version>/
//!   EntraKeyRoll/<version>/                          the module folder (as `cargo xtask package` lays it out)
//!   EntraKeyRoll.<version>.nupkg                     the module's package (build.ps1 -Task Publish)
//!   keyroll-<version>-<triple>.tar.gz                keyroll, its completions and man page, README
//!   keyroll-emulator-<version>-<triple>.tar.gz       the emulator, for rehearsals
//!   keyroll-<version>.cdx.json                       the software bill of materials (CycloneDX 1.5)
//!   SHA256SUMS                                       sha256 of every other file, `sha256sum -c` format
//! ```
//!
//! On Linux (`*-unknown-linux-gnu`) the natives are built with `cargo zigbuild` against glibc 2.17, and every
//! binary is checked (`scripts/check-glibc.sh`) before anything is packaged: RHEL 7/8, Ubuntu 20.04 and Azure
//! Automation's older workers load them. Elsewhere (Windows, macOS) `cargo build --release` for the host.
//! The bill of materials is written here from `cargo metadata` and Cargo.lock's checksums: every crate compiled
//! into the shipped binaries (normal dependencies for the host platform), with its licence and purl.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sha2::{Digest as _, Sha256};

use crate::{
    Error, Framework, PackageArgs, Workspace, cargo, host_triple, io, native_file, on_path,
    package, rid_of, run, run_visible, workspace,
};

/// The glibc the Linux natives are linked against: the oldest still widely run (RHEL 7, Amazon Linux 2).
pub const GLIBC: &str = "2.17";

/// The shipped packages and the binaries they make.
const PACKAGES: &[&str] = &["keyroll-ffi", "keyroll-cli", "keyroll-emulator"];

/// The shells `keyroll completions` writes for, and the file each is installed as.
const COMPLETIONS: &[(&str, &str)] = &[
    ("bash", "keyroll.bash"),
    ("zsh", "_keyroll"),
    ("fish", "keyroll.fish"),
    ("powershell", "keyroll.ps1"),
];

struct ReleaseArgs {
    out: PathBuf,
}

fn parse(args: &[String]) -> Result<ReleaseArgs, Error> {
    let mut r = ReleaseArgs {
        out: PathBuf::from("out/release"),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => {
                r.out = PathBuf::from(
                    it.next()
                        .ok_or_else(|| Error::Usage("--out needs a value".into()))?,
                )
            }
            "-h" | "--help" => return Err(Error::Usage("help".into())),
            other => return Err(Error::Usage(format!("unknown argument {other:?}"))),
        }
    }
    Ok(r)
}

/// The project's venv (scripts/setup.sh): cargo-zigbuild, and the Python whose `ziglang` it runs zig from.
fn venv_bin(ws: &Workspace) -> PathBuf {
    ws.root.join(".venv").join("bin")
}

/// The natives: `(cdylib, keyroll, keyroll-emulator)` built for `host`.
fn build(ws: &Workspace, host: &str) -> Result<(PathBuf, PathBuf, PathBuf), Error> {
    let exe = std::env::consts::EXE_SUFFIX;
    let mut dir = ws.target_dir.clone();
    let mut cmd;
    if host.ends_with("-unknown-linux-gnu") {
        let venv = venv_bin(ws);
        let zigbuild = venv.join("cargo-zigbuild");
        cmd = if zigbuild.is_file() {
            Command::new(zigbuild)
        } else if on_path("cargo-zigbuild") {
            Command::new("cargo-zigbuild")
        } else {
            return Err(Error::Tool {
                what: "cargo zigbuild".into(),
                detail:
                    "cargo-zigbuild is neither in .venv/bin nor on the PATH: run scripts/setup.sh \
                         (it installs scripts/release-tools.txt)"
                        .into(),
            });
        };
        // cargo-zigbuild runs zig as `python3 -m ziglang` when no zig is on the PATH: the venv's Python first.
        let path = std::env::var_os("PATH").unwrap_or_default();
        let paths = std::iter::once(venv).chain(std::env::split_paths(&path));
        let joined = std::env::join_paths(paths).map_err(|e| Error::Layout(e.to_string()))?;
        cmd.env("PATH", joined)
            .args(["zigbuild", "--target", &format!("{host}.{GLIBC}")]);
        dir.push(host);
        eprintln!(
            "[release] building {} for {host} against glibc {GLIBC} (cargo zigbuild)",
            PACKAGES.join(", ")
        );
    } else {
        cmd = cargo();
        cmd.arg("build");
        eprintln!("[release] building {} for {host}", PACKAGES.join(", "));
    }
    cmd.current_dir(&ws.root).args(["--locked", "--release"]);
    for p in PACKAGES {
        cmd.args(["-p", p]);
    }
    run_visible("building the release natives", &mut cmd)?;
    dir.push("release");
    let rid = rid_of(host).ok_or_else(|| {
        Error::Usage(format!(
            "{host} is not a platform the release ships (see --help)"
        ))
    })?;
    Ok((
        dir.join(native_file(rid)),
        dir.join(format!("keyroll{exe}")),
        dir.join(format!("keyroll-emulator{exe}")),
    ))
}

/// Copies `from` into `dir` (made as needed) under `name`.
fn put(from: &Path, dir: &Path, name: &str) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    fs::copy(from, dir.join(name)).map_err(io(from))?;
    Ok(())
}

/// `tar -czf <out>/<name>.tar.gz <name>/` from `stage`, entries sorted and owned by root for GNU tar.
fn tarball(stage: &Path, name: &str, out: &Path) -> Result<PathBuf, Error> {
    let file = out.join(format!("{name}.tar.gz"));
    let mut tar = Command::new("tar");
    if cfg!(target_os = "linux") {
        tar.args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner"]);
    }
    tar.arg("-czf").arg(&file).arg("-C").arg(stage).arg(name);
    run(&format!("tar {name}"), &mut tar)?;
    Ok(file)
}

/// The CLI's archive: the binary, completions for every shell, the man page and the README.
fn cli_archive(
    ws: &Workspace,
    keyroll: &Path,
    triple: &str,
    stage: &Path,
    out: &Path,
) -> Result<PathBuf, Error> {
    let name = format!("keyroll-{}-{triple}", ws.version);
    let root = stage.join(&name);
    put(
        keyroll,
        &root,
        keyroll
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("keyroll"),
    )?;
    for (shell, file) in COMPLETIONS {
        let text = run(
            &format!("keyroll completions {shell}"),
            Command::new(keyroll).args(["completions", shell]),
        )?;
        let dir = root.join("completions");
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        fs::write(dir.join(file), text).map_err(io(&dir))?;
    }
    let man = run("keyroll man", Command::new(keyroll).arg("man"))?;
    let dir = root.join("man").join("man1");
    fs::create_dir_all(&dir).map_err(io(&dir))?;
    fs::write(dir.join("keyroll.1"), man).map_err(io(&dir))?;
    put(&ws.root.join("README.md"), &root, "README.md")?;
    tarball(stage, &name, out)
}

fn emulator_archive(
    ws: &Workspace,
    emulator: &Path,
    triple: &str,
    stage: &Path,
    out: &Path,
) -> Result<PathBuf, Error> {
    let name = format!("keyroll-emulator-{}-{triple}", ws.version);
    let root = stage.join(&name);
    put(
        emulator,
        &root,
        emulator
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("keyroll-emulator"),
    )?;
    put(&ws.root.join("README.md"), &root, "README.md")?;
    tarball(stage, &name, out)
}

/// PowerShell for the .nupkg: `pwsh` on the PATH, else the one scripts/setup.sh puts in .tools/pwsh.
fn pwsh(ws: &Workspace) -> Option<PathBuf> {
    if on_path("pwsh") {
        return Some(PathBuf::from("pwsh"));
    }
    let tools = ws.root.join(".tools").join("pwsh").join("pwsh");
    tools.is_file().then_some(tools)
}

/// The module's .nupkg, made by build.ps1 -Task Publish (PSResourceGet) from the module folder in `out`, moved
/// to `out`.
fn nupkg(ws: &Workspace, out: &Path) -> Result<PathBuf, Error> {
    let pwsh = pwsh(ws).ok_or_else(|| Error::Tool {
        what: "the module's .nupkg".into(),
        detail:
            "needs PowerShell 7.4+ (pwsh) with PSResourceGet: none on the PATH or in .tools/pwsh \
                 (scripts/setup.sh installs it)"
                .into(),
    })?;
    eprintln!("[release] packing the module (build.ps1 -Task Publish)");
    run(
        "build.ps1 -Task Publish",
        Command::new(pwsh)
            .current_dir(&ws.root)
            .args([
                "-NoProfile",
                "-NonInteractive",
                "-File",
                "build.ps1",
                "-Task",
                "Publish",
                "-OutputPath",
            ])
            .arg(out),
    )?;
    let name = format!("{}.{}.nupkg", crate::MODULE, ws.version);
    let repository = out.join("repository");
    let made = repository.join(&name);
    let to = out.join(&name);
    fs::rename(&made, &to).map_err(io(&made))?;
    fs::remove_dir_all(&repository).map_err(io(&repository))?;
    Ok(to)
}

/// Cargo.lock's sha256 of each registry crate, by (name, version).
fn lock_checksums(root: &Path) -> Result<BTreeMap<(String, String), String>, Error> {
    let path = root.join("Cargo.lock");
    let text = fs::read_to_string(&path).map_err(io(&path))?;
    let mut out = BTreeMap::new();
    let (mut name, mut version) = (String::new(), String::new());
    let value = |line: &str, key: &str| {
        line.strip_prefix(key)
            .and_then(|r| r.trim().strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_string())
    };
    for line in text.lines() {
        if line == "[[package]]" {
            name.clear();
            version.clear();
        } else if let Some(v) = value(line, "name") {
            name = v;
        } else if let Some(v) = value(line, "version") {
            version = v;
        } else if let Some(v) = value(line, "checksum") {
            out.insert((name.clone(), version.clone()), v);
        }
    }
    Ok(out)
}

/// The CycloneDX 1.5 bill of materials of the shipped binaries: every package their normal dependencies reach
/// on `triple`, with version, licence, purl and Cargo.lock's sha256, and the graph between them.
fn sbom(ws: &Workspace, triple: &str, commit_time: &str) -> Result<serde_json::Value, Error> {
    use serde_json::json;
    let text = run(
        "cargo metadata",
        cargo().current_dir(&ws.root).args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--filter-platform",
            triple,
        ]),
    )?;
    let meta: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Tool {
        what: "cargo metadata".into(),
        detail: e.to_string(),
    })?;
    let packages: BTreeMap<&str, &serde_json::Value> = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    // id -> ids of its normal dependencies.
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().into_iter().flatten() {
        let Some(id) = node["id"].as_str() else {
            continue;
        };
        let deps = node["deps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|k| k["kind"].is_null())
            })
            .filter_map(|d| d["pkg"].as_str())
            .collect();
        graph.insert(id, deps);
    }
    let roots: Vec<&str> = packages
        .iter()
        .filter(|(_, p)| PACKAGES.contains(&p["name"].as_str().unwrap_or_default()))
        .map(|(id, _)| *id)
        .collect();
    let mut seen: BTreeSet<&str> = roots.iter().copied().collect();
    let mut todo = roots.clone();
    while let Some(id) = todo.pop() {
        for d in graph.get(id).into_iter().flatten() {
            if seen.insert(d) {
                todo.push(d);
            }
        }
    }
    let checksums = lock_checksums(&ws.root)?;
    let bom_ref = |p: &serde_json::Value| {
        format!(
            "pkg:cargo/{}@{}",
            p["name"].as_str().unwrap_or_default(),
            p["version"].as_str().unwrap_or_default()
        )
    };
    let mut components = Vec::new();
    let mut dependencies = Vec::new();
    for id in &seen {
        let Some(p) = packages.get(id) else { continue };
        let name = p["name"].as_str().unwrap_or_default().to_string();
        let version = p["version"].as_str().unwrap_or_default().to_string();
        let mut c = json!({
            "type": if roots.contains(id) { "application" } else { "library" },
            "bom-ref": bom_ref(p),
            "name": name,
            "version": version,
            "purl": bom_ref(p),
            "scope": "required",
        });
        if let Some(l) = p["license"].as_str() {
            c["licenses"] = json!([{ "expression": l }]);
        }
        if let Some(d) = p["description"].as_str() {
            c["description"] = json!(d.trim());
        }
        if let Some(note) = vendored_note(p) {
            // A patched copy under vendor/ ([patch.crates-io]) is not the crates.io crate its purl names: no
            // checksum of that crate applies, and the bill says where the copy is and why.
            c["pedigree"] = json!({ "notes": note });
        } else if let Some(sum) = checksums.get(&(name, version)) {
            c["hashes"] = json!([{ "alg": "SHA-256", "content": sum }]);
        }
        components.push(c);
        let depends: Vec<String> = graph
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|d| packages.get(d).map(|p| bom_ref(p)))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        dependencies.push(json!({ "ref": bom_ref(p), "dependsOn": depends }));
    }
    Ok(json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "timestamp": commit_time,
            "tools": { "components": [{ "type": "application", "name": "xtask release (cargo metadata)" }] },
            "component": {
                "type": "application",
                "bom-ref": format!("keyroll-release@{}", ws.version),
                "name": "keyroll",
                "version": ws.version,
                "description": format!("keyroll, keyroll-emulator and the EntraKeyRoll module's native library for {triple}"),
            },
        },
        "components": components,
        "dependencies": dependencies,
    }))
}

/// For a crate built from a patched copy under `vendor/` (no registry source), what the bill of materials says
/// of it.
fn vendored_note(package: &serde_json::Value) -> Option<String> {
    if !package["source"].is_null() {
        return None;
    }
    let manifest = package["manifest_path"].as_str()?.replace('\\', "/");
    let at = manifest.find("/vendor/")?;
    let folder = manifest[at + 1..].trim_end_matches("/Cargo.toml");
    Some(format!(
        "patched copy of the crates.io crate in {folder}, used through [patch.crates-io]; the change is described in vendor/README.md"
    ))
}

fn sha256_file(path: &Path) -> Result<String, Error> {
    let mut f = fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Every file under `dir`, relative, sorted, with `/` separators.
fn files(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<(), Error> {
    for e in fs::read_dir(dir).map_err(io(dir))? {
        let e = e.map_err(io(dir))?;
        let name = format!("{prefix}{}", e.file_name().to_string_lossy());
        if e.path().is_dir() {
            files(&e.path(), &format!("{name}/"), out)?;
        } else {
            out.push((name, e.path()));
        }
    }
    out.sort();
    Ok(())
}

fn mib(path: &Path) -> String {
    let len = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    format!("{len} bytes ({:.1} MiB)", len as f64 / (1024.0 * 1024.0))
}

pub(crate) fn release(args: &[String]) -> Result<(), Error> {
    let started = Instant::now();
    let args = parse(args)?;
    let ws = workspace()?;
    let host = host_triple()?;
    let base = if args.out.is_absolute() {
        args.out.clone()
    } else {
        ws.root.join(&args.out)
    };
    let out = base.join(&ws.version);
    if out.exists() {
        fs::remove_dir_all(&out).map_err(io(&out))?;
    }
    fs::create_dir_all(&out).map_err(io(&out))?;

    let (lib, keyroll, emulator) = build(&ws, &host)?;
    if host.ends_with("-unknown-linux-gnu") {
        eprintln!("[release] the glibc each binary needs (at most {GLIBC})");
        run_visible(
            "the glibc check",
            Command::new("bash")
                .current_dir(&ws.root)
                .arg("scripts/check-glibc.sh")
                .arg(GLIBC)
                .args([&lib, &keyroll, &emulator]),
        )?;
    }

    let rid = rid_of(&host).unwrap_or_default().to_string();
    package(PackageArgs {
        targets: Vec::new(),
        prebuilt: BTreeMap::from([(rid, lib.clone())]),
        framework: Framework::Auto,
        profile: "release".into(),
        out: out.clone(),
    })?;
    let nupkg = nupkg(&ws, &out)?;

    let stage = base.join(format!(".stage-{}", ws.version));
    if stage.exists() {
        fs::remove_dir_all(&stage).map_err(io(&stage))?;
    }
    let cli = cli_archive(&ws, &keyroll, &host, &stage, &out)?;
    let emu = emulator_archive(&ws, &emulator, &host, &stage, &out)?;
    fs::remove_dir_all(&stage).map_err(io(&stage))?;

    let commit_time = run(
        "git log",
        Command::new("git")
            .current_dir(&ws.root)
            .args(["log", "-1", "--format=%cI"]),
    )
    .map(|t| t.trim().to_string())
    .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into());
    let bom = sbom(&ws, &host, &commit_time)?;
    let bom_path = out.join(format!("keyroll-{}.cdx.json", ws.version));
    let text = serde_json::to_string_pretty(&bom).map_err(|e| Error::Layout(e.to_string()))?;
    fs::write(&bom_path, text + "\n").map_err(io(&bom_path))?;

    let mut all = Vec::new();
    files(&out, "", &mut all)?;
    let mut sums = String::new();
    for (name, path) in &all {
        sums.push_str(&format!("{}  {name}\n", sha256_file(path)?));
    }
    let sums_path = out.join("SHA256SUMS");
    fs::write(&sums_path, sums).map_err(io(&sums_path))?;

    eprintln!(
        "[release] {} in {:.0} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    eprintln!("[release]   native library  {}", mib(&lib));
    eprintln!("[release]   keyroll         {}", mib(&keyroll));
    eprintln!("[release]   keyroll-emulator {}", mib(&emulator));
    for f in [&nupkg, &cli, &emu, &bom_path, &sums_path] {
        eprintln!(
            "[release]   {}",
            f.file_name().unwrap_or_default().to_string_lossy()
        );
    }
    println!("{}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_vendored_patched_crate_is_named_as_such_and_a_registry_one_is_not() {
        let vendored = json!({"name": "p12-keystore", "source": null,
            "manifest_path": "/src/keyroll/vendor/p12-keystore/Cargo.toml"});
        let note = vendored_note(&vendored).expect("a vendored crate");
        assert!(note.contains("vendor/p12-keystore"), "{note}");
        let registry = json!({"name": "serde", "source": "registry+https://github.com/rust-lang/crates.io-index",
            "manifest_path": "/home/u/.cargo/registry/src/serde/Cargo.toml"});
        assert_eq!(vendored_note(&registry), None);
        let member = json!({"name": "keyroll-cli", "source": null, "manifest_path": "/src/keyroll/cli/Cargo.toml"});
        assert_eq!(vendored_note(&member), None);
    }

    #[test]
    fn lock_checksums_are_read_per_name_and_version() {
        let dir = std::env::temp_dir().join(format!("xtask-lock-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("Cargo.lock"),
            "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+x\"\nchecksum = \"ab12\"\n\n[[package]]\nname = \"local\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        let sums = lock_checksums(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            sums.get(&("a".into(), "1.0.0".into())).map(String::as_str),
            Some("ab12")
        );
        assert_eq!(sums.len(), 1, "a path crate has no checksum: {sums:?}");
    }

    #[test]
    fn release_arguments_are_checked() {
        assert!(
            matches!(parse(&["--bogus".into()]), Err(Error::Usage(m)) if m.contains("--bogus"))
        );
        assert!(
            matches!(parse(&["--out".into()]), Err(Error::Usage(m)) if m.contains("needs a value"))
        );
        assert_eq!(
            parse(&["--out".into(), "x".into()]).unwrap().out,
            PathBuf::from("x")
        );
    }
}
