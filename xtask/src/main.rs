//! Project tasks that are easier to test in Rust than in a shell or PowerShell script.
//!
//! `cargo xtask package` lays out the PowerShell module `EntraKeyRoll`, ready for `Import-Module` or
//! publishing:
//!
//! ```text
//! out/EntraKeyRoll/<version>/
//!   EntraKeyRoll.psd1                      manifest, ModuleVersion = the workspace version
//!   EntraKeyRoll.psm1                      the loader followed by every function file of pwsh-module/
//!   EntraKeyRoll.Format.ps1xml             every format/type file the manifest names
//!   bin/Keyroll.dll                        the binding assembly (generated bindings + facade), one file
//!   runtimes/<rid>/native/<library>        the native library per platform (win-x64, linux-arm64, ...)
//! ```
//!
//! Steps: build the cdylib `keyroll` for each requested target, compile the C# of `ffi/bindings/csharp/` and
//! `ffi/csharp/` into one assembly (netstandard2.0 with the .NET SDK when `dotnet` is present, else
//! .NET Framework 4.7.2 with Mono's `mcs`, both stamped with the workspace version), copy the module files, and
//! check that every file the manifest names is there. `build.ps1` at the root is a thin front for this command;
//! `cargo xtask assembly` builds the assembly alone by the same recipe (`ffi/csharp/build.sh` uses it).
//!
//! What it does not do: install cross-compilation toolchains (a `--target` needs its Rust target and linker),
//! sign files, or publish.

mod release;

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The managed assembly's file name inside `bin/`; the manifest's `RequiredAssemblies` names the same file.
pub const ASSEMBLY_FILE: &str = "Keyroll.dll";
/// The module's name (folder, manifest and script module).
pub const MODULE: &str = "EntraKeyRoll";

const USAGE: &str = "\
usage: cargo xtask package [options]
       cargo xtask assembly [--framework <name>] [--profile <name>] --out <dir>
       cargo xtask release [--out <dir>]

package   builds the native library and the binding assembly and lays out out/EntraKeyRoll/<version>/
assembly  builds only the binding assembly <dir>/Keyroll.dll (the recipe `package` uses; ffi/csharp/build.sh
          calls it), and prints its path
release   the release folder <dir>/<version>/ (default out/release): the module folder and its .nupkg, the
          keyroll and keyroll-emulator archives (completions, man page), a CycloneDX bill of materials and
          SHA256SUMS; on Linux the natives are built with cargo zigbuild against glibc 2.17 and checked

options:
  --target <triple>       Rust target to build the native library for (repeatable; default: this machine).
                          Known: x86_64-pc-windows-msvc, aarch64-pc-windows-msvc, x86_64-unknown-linux-gnu,
                          aarch64-unknown-linux-gnu, x86_64-apple-darwin, aarch64-apple-darwin
  --native <rid>=<path>   use a native library built elsewhere for <rid> instead of building it (repeatable)
  --framework <name>      auto (default), net472 (Mono mcs) or netstandard2.0 (dotnet SDK)
  --profile <name>        release (default) or debug
  --out <dir>             output root (default: out); the module goes to <dir>/EntraKeyRoll/<version>
                          (assembly: the folder that receives Keyroll.dll)
";

/// Why a task failed.
#[derive(Debug)]
enum Error {
    Usage(String),
    Tool {
        what: String,
        detail: String,
    },
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    Layout(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "{m}\n\n{USAGE}"),
            Error::Tool { what, detail } => write!(f, "{what} failed: {detail}"),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Layout(m) => f.write_str(m),
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The .NET target of the binding assembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framework {
    Auto,
    Net472,
    NetStandard20,
}

#[derive(Debug)]
struct PackageArgs {
    targets: Vec<String>,
    prebuilt: BTreeMap<String, PathBuf>,
    framework: Framework,
    profile: String,
    out: PathBuf,
}

fn parse_package_args(args: &[String]) -> Result<PackageArgs, Error> {
    let mut p = PackageArgs {
        targets: Vec::new(),
        prebuilt: BTreeMap::new(),
        framework: Framework::Auto,
        profile: "release".into(),
        out: PathBuf::from("out"),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| Error::Usage(format!("{name} needs a value")))
        };
        match a.as_str() {
            "--target" => p.targets.push(value("--target")?),
            "--native" => {
                let v = value("--native")?;
                let (rid, path) = v
                    .split_once('=')
                    .ok_or_else(|| Error::Usage(format!("--native {v}: expected <rid>=<path>")))?;
                if !RIDS.iter().any(|(_, r)| *r == rid) {
                    return Err(Error::Usage(format!("--native: unknown rid {rid:?}")));
                }
                p.prebuilt.insert(rid.to_string(), PathBuf::from(path));
            }
            "--framework" => {
                p.framework = match value("--framework")?.as_str() {
                    "auto" => Framework::Auto,
                    "net472" => Framework::Net472,
                    "netstandard2.0" => Framework::NetStandard20,
                    other => {
                        return Err(Error::Usage(format!(
                            "--framework {other}: expected auto, net472 or netstandard2.0"
                        )));
                    }
                }
            }
            "--profile" => {
                p.profile = value("--profile")?;
                if p.profile != "release" && p.profile != "debug" {
                    return Err(Error::Usage(format!(
                        "--profile {}: expected release or debug",
                        p.profile
                    )));
                }
            }
            "--out" => p.out = PathBuf::from(value("--out")?),
            "-h" | "--help" => return Err(Error::Usage("help".into())),
            other => return Err(Error::Usage(format!("unknown argument {other:?}"))),
        }
    }
    Ok(p)
}

/// Rust target triples and the .NET runtime identifiers (`runtimes/<rid>/native/`) the module ships.
const RIDS: &[(&str, &str)] = &[
    ("x86_64-pc-windows-msvc", "win-x64"),
    ("aarch64-pc-windows-msvc", "win-arm64"),
    ("x86_64-unknown-linux-gnu", "linux-x64"),
    ("aarch64-unknown-linux-gnu", "linux-arm64"),
    ("x86_64-apple-darwin", "osx-x64"),
    ("aarch64-apple-darwin", "osx-arm64"),
];

fn rid_of(triple: &str) -> Option<&'static str> {
    RIDS.iter().find(|(t, _)| *t == triple).map(|(_, r)| *r)
}

/// The native library's file name on the platform of a rid.
fn native_file(rid: &str) -> &'static str {
    if rid.starts_with("win-") {
        "keyroll.dll"
    } else if rid.starts_with("osx-") {
        "libkeyroll.dylib"
    } else {
        "libkeyroll.so"
    }
}

fn run(what: &str, cmd: &mut Command) -> Result<String, Error> {
    let output = cmd.output().map_err(|e| Error::Tool {
        what: what.into(),
        detail: format!("cannot start {:?}: {e}", cmd.get_program()),
    })?;
    if !output.status.success() {
        let mut detail = String::from_utf8_lossy(&output.stderr).into_owned();
        detail.push_str(&String::from_utf8_lossy(&output.stdout));
        return Err(Error::Tool {
            what: what.into(),
            detail: format!("{}\n{}", output.status, detail.trim_end()),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Like [`run`], with the tool's output passed through (long builds show their progress).
fn run_visible(what: &str, cmd: &mut Command) -> Result<(), Error> {
    let status = cmd.status().map_err(|e| Error::Tool {
        what: what.into(),
        detail: format!("cannot start {:?}: {e}", cmd.get_program()),
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Tool {
            what: what.into(),
            detail: status.to_string(),
        })
    }
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .any(|d| d.join(tool).is_file() || d.join(format!("{tool}.exe")).is_file())
    })
}

/// What `cargo metadata` says about the workspace: its root, target directory and the ffi crate's version.
struct Workspace {
    root: PathBuf,
    target_dir: PathBuf,
    version: String,
}

fn workspace() -> Result<Workspace, Error> {
    let text = run(
        "cargo metadata",
        cargo().args(["metadata", "--format-version", "1", "--no-deps"]),
    )?;
    let meta: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Tool {
        what: "cargo metadata".into(),
        detail: e.to_string(),
    })?;
    let path = |key: &str| {
        meta[key]
            .as_str()
            .map(PathBuf::from)
            .ok_or_else(|| Error::Layout(format!("cargo metadata has no {key}")))
    };
    let version = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "keyroll-ffi")
        .and_then(|p| p["version"].as_str())
        .ok_or_else(|| Error::Layout("the workspace has no package keyroll-ffi".into()))?
        .to_string();
    Ok(Workspace {
        root: path("workspace_root")?,
        target_dir: path("target_directory")?,
        version,
    })
}

fn host_triple() -> Result<String, Error> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let text = run("rustc -vV", Command::new(rustc).arg("-vV"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|s| s.trim().to_string())
        .ok_or_else(|| Error::Layout("rustc -vV printed no host".into()))
}

/// Builds the cdylib for `triple` and returns the library's path.
fn build_native(ws: &Workspace, triple: &str, profile: &str, host: &str) -> Result<PathBuf, Error> {
    let rid = rid_of(triple).ok_or_else(|| {
        Error::Usage(format!(
            "target {triple} is not one the module ships (see --help)"
        ))
    })?;
    let mut cmd = cargo();
    cmd.current_dir(&ws.root)
        .args(["build", "-p", "keyroll-ffi", "--lib"]);
    if profile == "release" {
        cmd.arg("--release");
    }
    let mut dir = ws.target_dir.clone();
    if triple != host {
        cmd.args(["--target", triple]);
        dir.push(triple);
    }
    dir.push(profile);
    eprintln!("[package] building the native library for {rid} ({triple}, {profile})");
    run_visible(
        &format!("building the native library for {triple}"),
        &mut cmd,
    )?;
    Ok(dir.join(native_file(rid)))
}

/// The C# sources of the binding assembly: the generated bindings and the facade (top-level files only; tests
/// live in subfolders).
fn csharp_sources(root: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for dir in ["ffi/bindings/csharp", "ffi/csharp"] {
        let dir = root.join(dir);
        let entries = fs::read_dir(&dir).map_err(io(&dir))?;
        for e in entries {
            let path = e.map_err(io(&dir))?.path();
            if path.is_file() && path.extension().is_some_and(|x| x == "cs") {
                files.push(path);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::Layout(
            "no C# sources under ffi/bindings/csharp or ffi/csharp".into(),
        ));
    }
    Ok(files)
}

/// The reference assemblies of .NET Framework 4.7.2 as Mono installs them.
fn mono_api_dir() -> Option<PathBuf> {
    let mut candidates = vec![
        PathBuf::from("/usr/lib/mono/4.7.2-api"),
        PathBuf::from("/usr/local/lib/mono/4.7.2-api"),
        PathBuf::from("/Library/Frameworks/Mono.framework/Versions/Current/lib/mono/4.7.2-api"),
    ];
    if let Some(prefix) = std::env::var_os("MONO_PREFIX") {
        candidates.insert(0, PathBuf::from(prefix).join("lib/mono/4.7.2-api"));
    }
    candidates
        .into_iter()
        .find(|d| d.join("mscorlib.dll").is_file())
}

/// The numeric part of a version (`0.1.0-beta.1` gives `0.1.0`), as .NET's AssemblyVersion wants it with a
/// fourth part: `0.1.0.0`.
fn assembly_version(version: &str) -> String {
    let numeric = version.split(['-', '+']).next().unwrap_or(version);
    let mut parts: Vec<&str> = numeric.split('.').collect();
    while parts.len() < 4 {
        parts.push("0");
    }
    parts.join(".")
}

/// The version attributes mcs needs in source: the .NET SDK gets the same values from `Directory.Build.props`
/// (`AssemblyVersion`, `FileVersion`, `InformationalVersion`), so both compilers stamp the module's version.
fn assembly_info_source(version: &str) -> String {
    let numeric = assembly_version(version);
    format!(
        "// Written by `cargo xtask assembly` for the mcs build: the version of the workspace (Cargo.toml).\n\
         [assembly: System.Reflection.AssemblyVersion(\"{numeric}\")]\n\
         [assembly: System.Reflection.AssemblyFileVersion(\"{numeric}\")]\n\
         [assembly: System.Reflection.AssemblyInformationalVersion(\"{version}\")]\n"
    )
}

/// Compiles the binding assembly for .NET Framework 4.7.2 with Mono's mcs: the same sources, language level
/// (C# 6) and warnings-as-errors as `ffi/csharp/Keyroll.csproj`, plus a generated file with the version.
fn build_assembly_mcs(
    sources: &[PathBuf],
    work: &Path,
    out: &Path,
    version: &str,
    profile: &str,
) -> Result<(), Error> {
    let api = mono_api_dir().ok_or_else(|| Error::Tool {
        what: "compiling the binding assembly with mcs".into(),
        detail:
            "the .NET Framework 4.7.2 reference assemblies of Mono (4.7.2-api) were not found; \
                 install mono-complete or set MONO_PREFIX"
                .into(),
    })?;
    fs::create_dir_all(work).map_err(io(work))?;
    let info = work.join("AssemblyInfo.g.cs");
    fs::write(&info, assembly_info_source(version)).map_err(io(&info))?;
    let mut cmd = Command::new("mcs");
    cmd.args([
        "-target:library",
        "-unsafe",
        "-nostdlib",
        "-nologo",
        "-langversion:6",
        "-warnaserror+",
        // Missing XML comments on generated members are not errors (the csproj does not ask for docs either).
        "-nowarn:1591",
    ])
    .arg(format!("-out:{}", out.display()));
    if profile == "release" {
        cmd.arg("-optimize+");
    } else {
        cmd.arg("-debug-");
    }
    for r in [
        "mscorlib.dll",
        "System.dll",
        "System.Core.dll",
        "System.Runtime.Serialization.dll",
        "System.Xml.dll",
        "Facades/netstandard.dll",
        "Facades/System.Runtime.dll",
        "Facades/System.Runtime.InteropServices.RuntimeInformation.dll",
    ] {
        let path = api.join(r);
        if path.is_file() {
            cmd.arg(format!("-r:{}", path.display()));
        }
    }
    cmd.args(sources).arg(&info);
    eprintln!("[package] compiling {ASSEMBLY_FILE} {version} for net472 with mcs");
    run("compiling the binding assembly with mcs", &mut cmd).map(drop)
}

/// Compiles the binding assembly for netstandard2.0 with the .NET SDK from the project that the facade's own
/// tests build, `ffi/csharp/Keyroll.csproj` (its version comes from `Directory.Build.props`).
fn build_assembly_dotnet(root: &Path, work: &Path, out: &Path, profile: &str) -> Result<(), Error> {
    let csproj = root.join("ffi/csharp/Keyroll.csproj");
    let build_out = work.join("bin");
    eprintln!("[package] compiling {ASSEMBLY_FILE} for netstandard2.0 with dotnet");
    run(
        "compiling the binding assembly with dotnet",
        Command::new("dotnet")
            .arg("build")
            .arg(&csproj)
            .args([
                "-nologo",
                "-c",
                if profile == "release" {
                    "Release"
                } else {
                    "Debug"
                },
            ])
            .arg("-o")
            .arg(&build_out),
    )?;
    let built = build_out.join(ASSEMBLY_FILE);
    fs::copy(&built, out).map_err(io(&built))?;
    Ok(())
}

/// Builds `out` (the binding assembly) with the compiler `framework` names, `Auto` choosing the .NET SDK where
/// it is installed; returns the framework used. The one recipe for the assembly: `package` and
/// `ffi/csharp/build.sh` (through `cargo xtask assembly`) both come here.
fn build_assembly(
    ws: &Workspace,
    framework: Framework,
    out: &Path,
    profile: &str,
) -> Result<Framework, Error> {
    let framework = match framework {
        Framework::Auto if on_path("dotnet") => Framework::NetStandard20,
        Framework::Auto => Framework::Net472,
        f => f,
    };
    let work = ws.target_dir.join("xtask/csharp");
    match framework {
        Framework::NetStandard20 => build_assembly_dotnet(&ws.root, &work, out, profile)?,
        _ => {
            let sources = csharp_sources(&ws.root)?;
            build_assembly_mcs(&sources, &work, out, &ws.version, profile)?
        }
    }
    Ok(framework)
}

/// The script module: the loader with its `#region functions` replaced by the function files themselves
/// (private helpers first), so that the packaged module is one script file.
fn assemble_psm1(module_src: &Path) -> Result<String, Error> {
    let psm1_path = module_src.join(format!("{MODULE}.psm1"));
    let loader = fs::read_to_string(&psm1_path).map_err(io(&psm1_path))?;
    let start = loader.find("#region functions").ok_or_else(|| {
        Error::Layout(format!(
            "{} has no '#region functions'",
            psm1_path.display()
        ))
    })?;
    let end_marker = "#endregion functions";
    let end = loader[start..]
        .find(end_marker)
        .map(|i| start + i + end_marker.len())
        .ok_or_else(|| Error::Layout(format!("{} has no '{end_marker}'", psm1_path.display())))?;
    let mut body = String::new();
    for sub in ["Private", "Public"] {
        let dir = module_src.join(sub);
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(io(&dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "ps1"))
            .collect();
        files.sort();
        for f in files {
            let text = fs::read_to_string(&f).map_err(io(&f))?;
            let name = f.file_name().unwrap_or_default().to_string_lossy();
            body.push_str(&format!("#region {sub}/{name}\n"));
            body.push_str(text.trim_start_matches('\u{feff}').trim_end());
            body.push_str(&format!("\n#endregion {sub}/{name}\n\n"));
        }
    }
    Ok(format!(
        "{}{}{}",
        &loader[..start],
        body.trim_end(),
        &loader[end..]
    ))
}

/// The manifest with `ModuleVersion` set to `version`.
fn manifest_with_version(text: &str, version: &str) -> Result<String, Error> {
    let mut found = false;
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let t = l.trim_start();
            if !found && t.starts_with("ModuleVersion") && t.contains('=') {
                found = true;
                let indent = &l[..l.len() - t.len()];
                format!("{indent}ModuleVersion = '{version}'")
            } else {
                l.to_string()
            }
        })
        .collect();
    if !found {
        return Err(Error::Layout(
            "the manifest has no ModuleVersion line".into(),
        ));
    }
    Ok(lines.join("\n") + "\n")
}

/// The quoted file names of the manifest entries `keys` (`FormatsToProcess = @('a.ps1xml', 'b.ps1xml')`, on one
/// line or over several up to the closing parenthesis).
fn manifest_files(manifest: &str, keys: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    for key in keys {
        let Some(at) = manifest
            .lines()
            .scan(0usize, |offset, line| {
                let start = *offset;
                *offset += line.len() + 1;
                Some((start, line))
            })
            .find(|(_, line)| {
                let t = line.trim_start();
                t.starts_with(key) && t[key.len()..].trim_start().starts_with('=')
            })
            .map(|(start, _)| start)
        else {
            continue;
        };
        let rest = &manifest[at..];
        let value = rest.split_once('=').map(|(_, v)| v).unwrap_or("");
        // A list @( ... ) ends at its parenthesis; a single value at the end of its line.
        let value = match value.trim_start().strip_prefix("@(") {
            Some(list) => list.split(')').next().unwrap_or(""),
            None => value.lines().next().unwrap_or(""),
        };
        files.extend(
            value
                .split('\'')
                .skip(1)
                .step_by(2)
                .filter(|f| !f.trim().is_empty())
                .map(str::to_string),
        );
    }
    files
}

/// Fails, naming the file, when the laid-out module lacks a file its manifest names.
fn check_layout(dest: &Path, manifest: &str) -> Result<(), Error> {
    let mut named = vec![format!("{MODULE}.psm1"), format!("bin/{ASSEMBLY_FILE}")];
    named.extend(manifest_files(
        manifest,
        &["FormatsToProcess", "TypesToProcess", "RequiredAssemblies"],
    ));
    let missing: Vec<String> = named
        .into_iter()
        .filter(|f| !dest.join(f).is_file())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::Layout(format!(
            "the laid-out module {} lacks files its manifest names: {}",
            dest.display(),
            missing.join(", ")
        )))
    }
}

fn dir_size(path: &Path) -> u64 {
    fs::read_dir(path)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                dir_size(&p)
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            }
        })
        .sum()
}

fn package(args: PackageArgs) -> Result<(), Error> {
    let ws = workspace()?;
    let module_src = ws.root.join("pwsh-module");
    let out_root = if args.out.is_absolute() {
        args.out.clone()
    } else {
        ws.root.join(&args.out)
    };
    let dest = out_root.join(MODULE).join(&ws.version);
    if dest.exists() {
        fs::remove_dir_all(&dest).map_err(io(&dest))?;
    }
    fs::create_dir_all(dest.join("bin")).map_err(io(&dest))?;

    // Native libraries.
    let host = host_triple()?;
    let mut targets = args.targets.clone();
    if targets.is_empty() && args.prebuilt.is_empty() {
        targets.push(host.clone());
    }
    let mut natives: BTreeMap<String, PathBuf> = args.prebuilt.clone();
    for t in &targets {
        let built = build_native(&ws, t, &args.profile, &host)?;
        let rid = rid_of(t).unwrap_or_default().to_string();
        natives.insert(rid, built);
    }
    for (rid, src) in &natives {
        let dir = dest.join("runtimes").join(rid).join("native");
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let to = dir.join(native_file(rid));
        fs::copy(src, &to).map_err(io(src))?;
    }

    // The binding assembly.
    let assembly = dest.join("bin").join(ASSEMBLY_FILE);
    let framework = build_assembly(&ws, args.framework, &assembly, &args.profile)?;

    // The module files.
    let psd1_src = module_src.join(format!("{MODULE}.psd1"));
    let manifest = fs::read_to_string(&psd1_src).map_err(io(&psd1_src))?;
    if !manifest.contains(&format!("bin/{ASSEMBLY_FILE}")) {
        return Err(Error::Layout(format!(
            "{} must name bin/{ASSEMBLY_FILE} in RequiredAssemblies",
            psd1_src.display()
        )));
    }
    let psd1 = dest.join(format!("{MODULE}.psd1"));
    fs::write(&psd1, manifest_with_version(&manifest, &ws.version)?).map_err(io(&psd1))?;
    let psm1 = dest.join(format!("{MODULE}.psm1"));
    fs::write(&psm1, assemble_psm1(&module_src)?).map_err(io(&psm1))?;
    // Every other file the manifest names (format and type files), copied from the module's sources: a
    // manifest that names a file the folder lacks does not import.
    for name in manifest_files(&manifest, &["FormatsToProcess", "TypesToProcess"]) {
        let from = module_src.join(&name);
        let to = dest.join(&name);
        if let Some(dir) = to.parent() {
            fs::create_dir_all(dir).map_err(io(dir))?;
        }
        fs::copy(&from, &to).map_err(io(&from))?;
    }
    for extra in ["en-US"] {
        let from = module_src.join(extra);
        if from.is_dir() {
            let to = dest.join(extra);
            fs::create_dir_all(&to).map_err(io(&to))?;
            for e in fs::read_dir(&from).map_err(io(&from))?.flatten() {
                if e.path().is_file() {
                    fs::copy(e.path(), to.join(e.file_name())).map_err(io(&e.path()))?;
                }
            }
        }
    }

    check_layout(&dest, &manifest)?;

    let size = dir_size(&dest);
    println!("{}", dest.display());
    eprintln!(
        "[package] {MODULE} {} laid out in {} ({:.1} MiB; native: {}; assembly: {})",
        ws.version,
        dest.display(),
        size as f64 / (1024.0 * 1024.0),
        natives.keys().cloned().collect::<Vec<_>>().join(", "),
        match framework {
            Framework::NetStandard20 => "netstandard2.0",
            _ => "net472",
        },
    );
    Ok(())
}

/// `cargo xtask assembly`: the binding assembly alone, into `--out` (a folder); prints its path.
fn assembly(args: PackageArgs) -> Result<(), Error> {
    if !args.targets.is_empty() || !args.prebuilt.is_empty() {
        return Err(Error::Usage(
            "assembly builds no native library: --target and --native belong to package".into(),
        ));
    }
    let ws = workspace()?;
    let dir = if args.out.is_absolute() {
        args.out.clone()
    } else {
        std::env::current_dir()
            .map_err(io(Path::new(".")))?
            .join(&args.out)
    };
    fs::create_dir_all(&dir).map_err(io(&dir))?;
    let out = dir.join(ASSEMBLY_FILE);
    build_assembly(&ws, args.framework, &out, &args.profile)?;
    println!("{}", out.display());
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("package") => parse_package_args(&args[1..]).and_then(package),
        Some("assembly") => parse_package_args(&args[1..]).and_then(assembly),
        Some("release") => release::release(&args[1..]),
        Some("-h" | "--help") | None => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(Error::Usage(format!("unknown task {other:?}"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Usage(m)) if m == "help" => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if matches!(e, Error::Usage(_)) { 2 } else { 1 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_rid_has_a_triple_and_a_file_name() {
        let rids: Vec<_> = RIDS.iter().map(|(_, r)| *r).collect();
        assert_eq!(
            rids,
            [
                "win-x64",
                "win-arm64",
                "linux-x64",
                "linux-arm64",
                "osx-x64",
                "osx-arm64"
            ]
        );
        assert_eq!(native_file("win-arm64"), "keyroll.dll");
        assert_eq!(native_file("osx-x64"), "libkeyroll.dylib");
        assert_eq!(native_file("linux-arm64"), "libkeyroll.so");
        assert_eq!(rid_of("aarch64-apple-darwin"), Some("osx-arm64"));
        assert_eq!(rid_of("riscv64gc-unknown-linux-gnu"), None);
    }

    #[test]
    fn arguments() {
        let a: Vec<String> = [
            "--target",
            "x86_64-pc-windows-msvc",
            "--framework",
            "net472",
            "--profile",
            "debug",
            "--native",
            "osx-arm64=/tmp/libkeyroll.dylib",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let p = parse_package_args(&a).unwrap();
        assert_eq!(p.targets, ["x86_64-pc-windows-msvc"]);
        assert_eq!(p.framework, Framework::Net472);
        assert_eq!(p.profile, "debug");
        assert_eq!(
            p.prebuilt["osx-arm64"],
            PathBuf::from("/tmp/libkeyroll.dylib")
        );
        assert!(parse_package_args(&["--framework".into(), "net8".into()]).is_err());
        assert!(parse_package_args(&["--native".into(), "amiga=/x".into()]).is_err());
        assert!(parse_package_args(&["--profile".into()]).is_err());
    }

    #[test]
    fn manifest_version_is_replaced_once() {
        let m = "@{\n    RootModule = 'EntraKeyRoll.psm1'\n    ModuleVersion = '0.0.0'\n    PrivateData = @{ ModuleVersion = 'x' }\n}\n";
        let out = manifest_with_version(m, "1.2.3").unwrap();
        assert!(out.contains("    ModuleVersion = '1.2.3'\n"));
        assert!(out.contains("@{ ModuleVersion = 'x' }"));
        assert!(manifest_with_version("@{}", "1.0.0").is_err());
    }

    #[test]
    fn assembly_version_has_four_numeric_parts() {
        assert_eq!(assembly_version("0.1.0"), "0.1.0.0");
        assert_eq!(assembly_version("2.3.4-beta.1+abc"), "2.3.4.0");
        let info = assembly_info_source("1.2.3-rc.1");
        assert!(info.contains("AssemblyVersion(\"1.2.3.0\")"), "{info}");
        assert!(info.contains("AssemblyFileVersion(\"1.2.3.0\")"), "{info}");
        assert!(
            info.contains("AssemblyInformationalVersion(\"1.2.3-rc.1\")"),
            "{info}"
        );
    }

    #[test]
    fn manifest_files_are_read_from_one_or_several_lines() {
        let m = "@{\n    FormatsToProcess       = @('EntraKeyRoll.Format.ps1xml')\n    TypesToProcess = @(\n        'a.Types.ps1xml'\n        'sub/b.Types.ps1xml'\n    )\n    RequiredAssemblies = 'bin/Keyroll.dll'\n}\n";
        assert_eq!(
            manifest_files(m, &["FormatsToProcess"]),
            ["EntraKeyRoll.Format.ps1xml"]
        );
        assert_eq!(
            manifest_files(m, &["TypesToProcess", "RequiredAssemblies"]),
            ["a.Types.ps1xml", "sub/b.Types.ps1xml", "bin/Keyroll.dll"]
        );
        assert!(manifest_files(m, &["ScriptsToProcess"]).is_empty());
    }

    #[test]
    fn the_real_manifest_names_its_format_file_and_the_sources_have_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pwsh-module");
        let manifest = fs::read_to_string(src.join(format!("{MODULE}.psd1"))).unwrap();
        let formats = manifest_files(&manifest, &["FormatsToProcess"]);
        assert_eq!(formats, ["EntraKeyRoll.Format.ps1xml"]);
        assert!(src.join(&formats[0]).is_file());
    }

    #[test]
    fn a_layout_missing_a_named_file_is_refused_naming_it() {
        let dir = std::env::temp_dir().join(format!("xtask-layout-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::write(dir.join(format!("{MODULE}.psm1")), "").unwrap();
        fs::write(dir.join("bin").join(ASSEMBLY_FILE), "").unwrap();
        let m = "@{ RequiredAssemblies = @('bin/Keyroll.dll')\n FormatsToProcess = @('EntraKeyRoll.Format.ps1xml') }";
        let err = check_layout(&dir, m).unwrap_err().to_string();
        assert!(err.contains("EntraKeyRoll.Format.ps1xml"), "{err}");
        fs::write(dir.join("EntraKeyRoll.Format.ps1xml"), "").unwrap();
        check_layout(&dir, m).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn psm1_region_is_replaced_by_the_function_files() {
        let dir = std::env::temp_dir().join(format!("xtask-psm1-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("Private")).unwrap();
        fs::create_dir_all(dir.join("Public")).unwrap();
        fs::write(
            dir.join(format!("{MODULE}.psm1")),
            "# head\n#region functions\n. dev\n#endregion functions\n# tail\n",
        )
        .unwrap();
        fs::write(dir.join("Private/a.ps1"), "\u{feff}function a {}\n").unwrap();
        fs::write(dir.join("Public/B-C.ps1"), "function B-C {}\n").unwrap();
        let psm1 = assemble_psm1(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert!(!psm1.contains(". dev"), "{psm1}");
        let a = psm1.find("function a {}").unwrap();
        let b = psm1.find("function B-C {}").unwrap();
        assert!(psm1.starts_with("# head\n") && psm1.ends_with("# tail\n"));
        assert!(a < b && !psm1.contains('\u{feff}'));
    }
}
