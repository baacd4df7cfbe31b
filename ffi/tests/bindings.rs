//! Generates the C#, C and Python bindings from the inventory and checks them against the committed files in
//! `ffi/bindings/`. Regenerate with `KEYROLL_UPDATE_BINDINGS=1 cargo test -p keyroll-ffi --test bindings`.

use std::path::{Path, PathBuf};

use interoptopus::util::NamespaceMappings;
use interoptopus::{Interop, Inventory};

const HEADER: &str = "keyroll native library bindings — generated from ffi/src by `KEYROLL_UPDATE_BINDINGS=1 cargo test -p keyroll-ffi --test bindings`; do not edit";

fn csharp(inventory: Inventory, path: &Path) {
    use interoptopus_backend_csharp::overloads::DotNet;
    use interoptopus_backend_csharp::{Config, Generator};
    let config = Config {
        file_header_comment: format!("// {HEADER}"),
        class: "NativeMethods".into(),
        dll_name: "keyroll".into(),
        namespace_mappings: NamespaceMappings::new("Keyroll.Native"),
        ..Config::default()
    };
    Generator::new(config, inventory)
        .add_overload_writer(DotNet::new())
        .write_file(path)
        .unwrap();
}

fn c(inventory: Inventory, path: &Path) {
    use interoptopus_backend_c::{Config, Generator};
    let config = Config {
        file_header_comment: format!("// {HEADER}"),
        ifndef: "KEYROLL_H".into(),
        ..Config::default()
    };
    Generator::new(config, inventory).write_file(path).unwrap();
}

fn python(inventory: Inventory, path: &Path) {
    use interoptopus_backend_cpython::{Config, Generator};
    Generator::new(Config::default(), inventory)
        .write_file(path)
        .unwrap();
}

type Backend = fn(Inventory, &Path);

fn generate(dir: &Path) -> Vec<(PathBuf, String)> {
    let outputs: [(&str, Backend); 3] = [
        ("csharp/Keyroll.Native.cs", csharp),
        ("c/keyroll.h", c),
        ("python/keyroll.py", python),
    ];
    outputs
        .iter()
        .map(|(name, make)| {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            make(keyroll::ffi_inventory(), &path);
            let text = std::fs::read_to_string(&path).unwrap();
            (PathBuf::from(name), text)
        })
        .collect()
}

#[test]
fn committed_bindings_match_generation() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings");
    if std::env::var_os("KEYROLL_UPDATE_BINDINGS").is_some() {
        generate(&committed);
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut stale = Vec::new();
    for (name, fresh) in generate(tmp.path()) {
        let old = std::fs::read_to_string(committed.join(&name)).unwrap_or_default();
        if old != fresh {
            stale.push(name.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "the committed bindings differ from what generation produces now: {stale:?}; regenerate with \
         KEYROLL_UPDATE_BINDINGS=1 cargo test -p keyroll-ffi --test bindings and commit ffi/bindings"
    );
}
