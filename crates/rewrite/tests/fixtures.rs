//! The fixture harness: every `tests/fixtures/<case>/` holds a `spec.yaml`, a
//! `before/` tree, the expected `after/` tree and, when the case has any, the
//! expected `unresolved.json` (and `notes.json`, docs/json.md). One test walks them all.
//!
//! `UPDATE_FIXTURES=1 cargo test -p tern-rewrite --test fixtures` writes
//! `after/` and `unresolved.json` from the engine, for review as a diff.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;
use tern_rewrite::{Engine, FileRewrite, RuleInput, Rules};
use tern_spec::Spec;

fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if root.exists() {
        walk(root, root, &mut out);
    }
    out
}

fn engine_for(case: &Path) -> Engine {
    let text = fs::read_to_string(case.join("spec.yaml")).unwrap();
    let spec =
        Spec::parse(&text, "spec.yaml").unwrap_or_else(|e| panic!("{}: {e}", case.display()));
    // `schemas.json` (optional): what a catalog would know, the new table's
    // columns (`to`) and other tables' (`tables`).
    let (schema, tables) = match fs::read_to_string(case.join("schemas.json")) {
        Ok(t) => {
            let v: serde_json::Value = serde_json::from_str(&t).unwrap();
            let cols = |v: &serde_json::Value| -> Vec<String> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_string())
                    .collect()
            };
            (
                v.get("to").map(cols),
                v.get("tables")
                    .and_then(|t| t.as_object())
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), cols(v))).collect())
                    .unwrap_or_default(),
            )
        }
        Err(_) => (None, vec![]),
    };
    Engine::new(
        Rules::new(RuleInput {
            schema,
            tables,
            ..RuleInput::from_spec(&spec)
        })
        .unwrap_or_else(|e| panic!("{}: {e}", case.display())),
    )
}

#[test]
fn fixtures() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let bless = std::env::var_os("UPDATE_FIXTURES").is_some();
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let engine = engine_for(case);
        let before = files(&case.join("before"));
        assert!(!before.is_empty(), "{name}: before/ is empty");
        // The whole tree, as a repository is rewritten: every file, then the
        // files made to agree on their dbt sources.
        let rewrite_tree = |files: &BTreeMap<String, Vec<u8>>| -> Vec<(String, FileRewrite)> {
            let list: Vec<(&str, &[u8])> = files
                .iter()
                .map(|(p, b)| (p.as_str(), b.as_slice()))
                .collect();
            files
                .keys()
                .cloned()
                .zip(engine.rewrite_all(&list))
                .collect()
        };
        let mut after = BTreeMap::new();
        let mut unresolved = Vec::new();
        let mut notes = Vec::new();
        for (path, out) in rewrite_tree(&before) {
            let rewritten = out.output.clone().unwrap_or_else(|| before[&path].clone());
            // Schema-check failures (rule 11) are findings too; their
            // reasons start with "schema check:".
            for f in out.findings.into_iter().chain(out.schema.failures) {
                unresolved.push(json!({"path": path, "line": f.line, "reason": f.reason}));
            }
            for f in out.notes {
                notes.push(json!({"path": path, "line": f.line, "reason": f.reason}));
            }
            after.insert(path, rewritten);
        }
        // Rule 9: a second pass changes nothing.
        for (path, again) in rewrite_tree(&after) {
            if again.output.is_some() {
                failures.push(format!("{name}/{path}: not idempotent"));
            }
        }
        let unresolved = serde_json::Value::Array(unresolved);
        let notes = serde_json::Value::Array(notes);
        if bless {
            let _ = fs::remove_dir_all(case.join("after"));
            for (path, bytes) in &after {
                let p = case.join("after").join(path);
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                fs::write(p, bytes).unwrap();
            }
            for (file, found) in [("unresolved.json", &unresolved), ("notes.json", &notes)] {
                let u = case.join(file);
                if found.as_array().is_none_or(|a| a.is_empty()) {
                    let _ = fs::remove_file(u);
                } else {
                    fs::write(u, serde_json::to_string_pretty(found).unwrap() + "\n").unwrap();
                }
            }
            continue;
        }
        let expected = files(&case.join("after"));
        if expected != after {
            for (path, bytes) in &after {
                if expected.get(path) != Some(bytes) {
                    failures.push(format!(
                        "{name}/{path}: got\n{}\nexpected\n{}",
                        String::from_utf8_lossy(bytes),
                        expected
                            .get(path)
                            .map(|b| String::from_utf8_lossy(b).into_owned())
                            .unwrap_or_else(|| "(missing)".into())
                    ));
                }
            }
        }
        for (file, found) in [("unresolved.json", &unresolved), ("notes.json", &notes)] {
            let expected: serde_json::Value = fs::read_to_string(case.join(file))
                .map(|t| serde_json::from_str(&t).unwrap())
                .unwrap_or_else(|_| json!([]));
            if expected != *found {
                failures.push(format!(
                    "{name}: {file} got {found:#} expected {expected:#}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
