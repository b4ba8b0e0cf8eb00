//! The invariants of ARCHITECTURE.md that a machine can check: which crates
//! may depend on which, that only the CLI prints, and that the rewrite
//! engine does no I/O. A change that breaks one fails here, not in review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crates/")
        .to_path_buf()
}

/// Each crate's tern dependencies (normal ones: tests may use anything).
fn tern_deps() -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(crates_dir()).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let doc: toml_edit::Document<String> = toml_edit::Document::parse(text).unwrap();
        let name = doc["package"]["name"].as_str().unwrap().to_string();
        let deps = doc
            .get("dependencies")
            .and_then(|d| d.as_table_like())
            .map(|t| {
                t.iter()
                    .map(|(k, _)| k.to_string())
                    .filter(|k| k.starts_with("tern-"))
                    .collect()
            })
            .unwrap_or_default();
        out.insert(name, deps);
    }
    out
}

#[test]
fn crates_depend_only_downward() {
    // The layers of ARCHITECTURE.md: each crate may use those listed.
    let allowed: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("tern-yaml", &[][..]),
        ("tern-spec", &["tern-yaml"][..]),
        ("tern-rewrite", &["tern-spec", "tern-yaml"][..]),
        ("tern-scan", &["tern-rewrite", "tern-spec"][..]),
        ("tern-catalog", &["tern-yaml"][..]),
        ("tern-forge", &[][..]),
        // A forge is a crate of its own over the boundary; the fleet and the
        // portal see only the trait, so none of them may name one.
        ("tern-local-forge", &["tern-forge"][..]),
        ("tern-notify", &[][..]),
        (
            "tern-fleet",
            &[
                "tern-catalog",
                "tern-forge",
                "tern-notify",
                "tern-rewrite",
                "tern-scan",
                "tern-spec",
                "tern-yaml",
            ][..],
        ),
        (
            "tern-portal",
            &["tern-catalog", "tern-fleet", "tern-forge", "tern-spec"][..],
        ),
    ]);
    let deps = tern_deps();
    assert!(deps.len() >= allowed.len(), "crates found: {deps:?}");
    for (name, uses) in &deps {
        if name == "tern-cli" {
            continue;
        }
        let may: BTreeSet<String> = allowed
            .get(name.as_str())
            .unwrap_or_else(|| {
                panic!("{name} is not in ARCHITECTURE.md's layers: add it here and there")
            })
            .iter()
            .map(|s| s.to_string())
            .collect();
        let extra: Vec<&String> = uses.difference(&may).collect();
        assert!(extra.is_empty(), "{name} may not depend on {extra:?}");
    }
    for (name, uses) in &deps {
        assert!(
            !uses.contains("tern-cli"),
            "{name} depends on the binary's crate"
        );
    }
}

/// Rust source of a crate's `src/`, comment lines left out.
fn code_lines(krate: &str) -> Vec<(PathBuf, usize, String)> {
    let mut out = vec![];
    let mut stack = vec![crates_dir().join(krate).join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for (i, line) in text.lines().enumerate() {
                    if !line.trim_start().starts_with("//") {
                        out.push((p.clone(), i + 1, line.to_string()));
                    }
                }
            }
        }
    }
    out
}

fn offenders(krate: &str, words: &[&str]) -> Vec<String> {
    code_lines(krate)
        .into_iter()
        .filter(|(_, _, l)| words.iter().any(|w| l.contains(w)))
        .map(|(p, n, l)| format!("{}:{n}: {}", p.display(), l.trim()))
        .collect()
}

#[test]
fn only_the_cli_prints() {
    for entry in std::fs::read_dir(crates_dir()).unwrap() {
        let dir = entry.unwrap().path();
        let krate = dir.file_name().unwrap().to_string_lossy().to_string();
        if krate == "cli" || !dir.join("src").is_dir() {
            continue;
        }
        let found = offenders(
            &krate,
            &[
                "println!",
                "print!(",
                "eprintln!",
                "eprint!(",
                "dbg!(",
                "std::io::stdout",
                "std::io::stderr",
            ],
        );
        assert!(
            found.is_empty(),
            "library crate {krate} prints:\n{}",
            found.join("\n")
        );
    }
}

#[test]
fn the_rewrite_engine_does_no_io() {
    let found = offenders(
        "rewrite",
        &[
            "std::fs",
            "std::net",
            "std::process",
            "std::io::std",
            "std::env",
            "File::open",
            "TcpStream",
        ],
    );
    assert!(
        found.is_empty(),
        "the engine does I/O:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_the_cli_uses_anyhow() {
    let deps: Vec<String> = std::fs::read_dir(crates_dir())
        .unwrap()
        .filter_map(|e| {
            let dir = e.ok()?.path();
            let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
            let doc: toml_edit::Document<String> = toml_edit::Document::parse(text).ok()?;
            let name = doc["package"]["name"].as_str()?.to_string();
            let uses = doc
                .get("dependencies")
                .and_then(|d| d.as_table_like())
                .is_some_and(|t| t.contains_key("anyhow"));
            (uses && name != "tern-cli").then_some(name)
        })
        .collect();
    assert!(deps.is_empty(), "libraries use anyhow: {deps:?}");
}
