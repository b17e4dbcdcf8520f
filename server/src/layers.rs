//! The order of the server's modules, lowest first, and a test that every `crate::` path in the
//! code (tests and comments aside) points to a module below the one it is written in. A module
//! that needs something from a higher one is a sign the thing lives in the wrong place.

/// Lowest first. A module may use only those before it.
const LAYERS: [&str; 15] = [
    "clock",
    "domain",
    "setting",
    "writer_thread",
    "auth",
    "store",
    "sms",
    "flows",
    "config",
    "maintenance",
    "web",
    "http_server",
    "telemetry",
    "startup",
    "cli",
];

/// The top-level module a source file belongs to (`store/accounts.rs` → `store`).
fn module_of(path: &std::path::Path, src: &std::path::Path) -> Option<String> {
    let relative = path.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

/// The `crate::<module>` paths of a file's code, without its comments and its test module.
fn modules_used(source: &str) -> Vec<String> {
    let code = source
        .split("#[cfg(test)]")
        .next()
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    code.match_indices("crate::")
        .map(|(at, prefix)| {
            code[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect()
        })
        .collect()
}

fn rust_files(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, found)?;
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
    Ok(())
}

#[test]
fn every_module_uses_only_the_modules_below_it() -> std::io::Result<()> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rank = |module: &str| LAYERS.iter().position(|layer| *layer == module);
    let mut files = Vec::new();
    rust_files(&src, &mut files)?;
    let mut upward = Vec::new();
    for file in &files {
        let Some(module) = module_of(file, &src) else {
            continue;
        };
        let Some(from) = rank(&module) else {
            // The crate root and the binary wire everything together.
            assert!(
                matches!(module.as_str(), "lib" | "main" | "layers"),
                "{module} is not in LAYERS"
            );
            continue;
        };
        for used in modules_used(&std::fs::read_to_string(file)?) {
            match rank(&used) {
                Some(to) if to < from || used == module => {}
                Some(_) => upward.push(format!("{} uses {used}", file.display())),
                None => upward.push(format!("{} uses {used}, not in LAYERS", file.display())),
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that point upward:\n{}",
        upward.join("\n")
    );
    Ok(())
}

#[test]
fn a_path_into_a_higher_module_is_found() {
    assert_eq!(
        modules_used("use crate::store::Store;\n// crate::web\nfn f() { crate::flows::x(); }"),
        ["store", "flows"]
    );
}
