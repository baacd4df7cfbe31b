//! The tiers of the workspace, read from `cargo metadata`'s resolved graph of normal (shipped) dependencies:
//!
//! ```text
//! cli ──┬──> keyroll-client ──> keyroll-proto <── keyroll-emulator (the keyroll-emulator binary)
//! ffi ──> keyroll-host ──┘
//! keyroll-testkit: dev-dependency only
//! ```
//!
//! The `keyroll` binary users install carries no emulator: no server code, no SQLite.
//!
//! The emulator is the judge everything is tested against: it depends on the rules (proto) and never on the
//! client it judges, and it compiles no HTTP client. proto does no I/O: no HTTP, no async runtime under it.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Package name -> the names of its normal (non-dev, non-build) dependencies, for every package of the build.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let name_of: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let mut graph = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().unwrap() {
        let name = name_of[node["id"].as_str().unwrap()].to_owned();
        let deps: BTreeSet<String> = node["deps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null())
            })
            .map(|d| name_of[d["pkg"].as_str().unwrap()].to_owned())
            .collect();
        graph.entry(name).or_insert_with(BTreeSet::new).extend(deps);
    }
    graph
}

/// Every package `root` needs to build (itself excluded), through normal dependencies.
fn closure(graph: &BTreeMap<String, BTreeSet<String>>, root: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![root.to_owned()];
    while let Some(p) = todo.pop() {
        for d in graph.get(&p).into_iter().flatten() {
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen
}

fn assert_absent(graph: &BTreeMap<String, BTreeSet<String>>, root: &str, forbidden: &[&str]) {
    let needs = closure(graph, root);
    let found: Vec<&&str> = forbidden.iter().filter(|f| needs.contains(**f)).collect();
    assert!(
        found.is_empty(),
        "{root} must not depend on {found:?} (it does, through its normal dependencies)"
    );
}

#[test]
fn proto_is_at_the_bottom_with_no_io_under_it() {
    let g = graph();
    assert_absent(
        &g,
        "keyroll-proto",
        &[
            "keyroll-client",
            "keyroll-host",
            "keyroll-emulator",
            "keyroll-testkit",
            "reqwest",
            "hyper",
            "tokio",
            "axum",
            "rusqlite",
        ],
    );
}

#[test]
fn the_emulator_judges_with_proto_and_never_calls_the_client() {
    let g = graph();
    assert!(g["keyroll-emulator"].contains("keyroll-proto"));
    assert_absent(
        &g,
        "keyroll-emulator",
        &[
            "keyroll-client",
            "keyroll-host",
            "keyroll-testkit",
            "reqwest",
        ],
    );
}

#[test]
fn client_host_and_faces_are_layered() {
    let g = graph();
    assert_absent(
        &g,
        "keyroll-client",
        &["keyroll-host", "keyroll-emulator", "keyroll-testkit"],
    );
    assert_absent(&g, "keyroll-host", &["keyroll-emulator", "keyroll-testkit"]);
    assert!(g["keyroll-host"].contains("keyroll-client"));
    assert!(
        g["keyroll-ffi"].contains("keyroll-host"),
        "the C ABI speaks through the host API"
    );
    assert_absent(&g, "keyroll-ffi", &["keyroll-emulator", "keyroll-testkit"]);
    assert_absent(&g, "keyroll-cli", &["keyroll-host", "keyroll-testkit"]);
}

/// The emulator is its own binary (`keyroll-emulator`): the CLI users install compiles neither it nor its
/// server and SQLite (`rusqlite` bundles SQLite's C source), so `cargo tree -p keyroll-cli` lists none of them.
#[test]
fn the_cli_carries_no_emulator_and_no_sqlite() {
    let g = graph();
    assert_absent(
        &g,
        "keyroll-cli",
        &["keyroll-emulator", "rusqlite", "libsqlite3-sys", "axum"],
    );
}
