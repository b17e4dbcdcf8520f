//! The Leptos crates patched in `vendor/` (vendor/README.md) are the ones built. Cargo ignores a
//! `[patch]` whose version no longer matches what Leptos asks for, with a warning only, and the
//! wasm would quietly grow again.

/// The `[[package]]` entries of the workspace's `Cargo.lock` named `name`.
fn locked_packages(lock: &str, name: &str) -> Vec<String> {
    lock.split("[[package]]")
        .filter(|entry| {
            entry
                .lines()
                .any(|line| line == format!("name = \"{name}\""))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_patched_leptos_crates_are_built() {
    let lock_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock");
    let lock = std::fs::read_to_string(lock_path).expect("the workspace has a Cargo.lock");
    for name in ["tachys", "leptos_macro"] {
        let entries = locked_packages(&lock, name);
        assert_eq!(entries.len(), 1, "one {name} in Cargo.lock: {entries:?}");
        // A package from a registry records its `source`; a path dependency (the patched copy
        // in vendor/) has none.
        assert!(
            !entries[0].contains("source = "),
            "{name} comes from a registry, not from vendor/{name}: {}",
            entries[0]
        );
        let vendored = std::fs::read_to_string(format!(
            "{}/../vendor/{name}/Cargo.toml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("the vendored crate is there");
        let version_line = entries[0]
            .lines()
            .find(|line| line.starts_with("version = "))
            .expect("a locked version");
        assert!(
            vendored.contains(version_line),
            "vendor/{name} is not the locked {version_line}"
        );
    }
}

#[test]
fn a_registry_package_is_told_from_a_path_one() {
    let lock = "[[package]]\nname = \"tachys\"\nversion = \"0.2.19\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"other\"\nversion = \"1.0.0\"\n";
    let entries = locked_packages(lock, "tachys");
    assert_eq!(entries.len(), 1);
    assert!(entries[0].contains("source = "));
    assert!(locked_packages(lock, "leptos_macro").is_empty());
}
