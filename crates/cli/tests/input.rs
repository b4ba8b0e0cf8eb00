//! Bad input: clear messages naming the place, exit status 2, nothing written.

mod common;

use std::fs;

use common::*;

#[test]
fn an_invalid_spec_is_refused_with_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("s.yaml"),
        "version: 1\nid: Bad_Id\ntitle: T\nreplace: []\n",
    )
    .unwrap();
    let o = tern(tmp.path(), &["plan", "s.yaml"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("s.yaml:2: `id`:"), "{}", stderr(&o));
    fs::write(
        tmp.path().join("s.yaml"),
        "version: 1\nid: ok\ntitle: T\nreplace:\n  - {kind: path, old: /a/b, new: /a/b/c}\n",
    )
    .unwrap();
    fs::create_dir(tmp.path().join("d")).unwrap();
    let o = tern(tmp.path(), &["rewrite", "--spec", "s.yaml", "d"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("s.yaml:5: `replace`:") && stderr(&o).contains("idempotent"),
        "{}",
        stderr(&o)
    );
    let o = tern(tmp.path(), &["run", "missing.yaml"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("missing.yaml: cannot read the spec"),
        "{}",
        stderr(&o)
    );
    assert!(
        !tmp.path().join("tern.db").exists(),
        "a refused command created a catalog"
    );
}

#[test]
fn a_bad_catalog_file_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let good = fleet(
        root,
        &[repo(
            "a",
            "insights",
            &[("a.sql", "from legacy.plays\n")],
            "",
        )],
        "",
    );
    assert_eq!(
        code(&tern(root, &["catalog", "import", good.to_str().unwrap()])),
        0
    );
    fs::write(
        root.join("more.yaml"),
        component("b", "bi").replace("name: b", "name: brand-new"),
    )
    .unwrap();
    fs::write(
        root.join("bad.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x\n",
    )
    .unwrap();
    let o = tern(root, &["catalog", "import", "more.yaml", "bad.yaml"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("bad.yaml:"), "{}", stderr(&o));
    let o = tern(root, &["catalog", "consumers", "hdfs-plays", "--json"]);
    let ids: Vec<String> = json(&o)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids,
        vec!["a"],
        "the good file of a failed import must not land"
    );
    let o = tern(root, &["catalog", "import", "nope.yaml"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("nope.yaml: cannot read"));
    assert_eq!(
        code(&tern(root, &["catalog", "consumers", "no-such-dataset"])),
        2
    );
}

#[test]
fn commands_that_read_refuse_a_missing_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    let o = tern(tmp.path(), &["status", "x"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("no catalog at ./tern.db"),
        "{}",
        stderr(&o)
    );
    assert!(!tmp.path().join("tern.db").exists());
}

#[test]
fn rewrite_prints_diffs_json_and_writes_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::create_dir_all(root.join("tree/jobs")).unwrap();
    fs::write(
        root.join("tree/jobs/a.sql"),
        "select * from legacy.plays;\n",
    )
    .unwrap();
    fs::write(
        root.join("tree/jobs/b.py"),
        "p = f\"/warehouse/plays{x}\"\nq = '/warehouse/plays/'\n",
    )
    .unwrap();
    fs::write(
        root.join("s.yaml"),
        "version: 1\nid: m\ntitle: T\nreplace:\n  - {kind: path, old: /warehouse/plays, new: gs://lake/plays}\n  - {kind: table, old: legacy.plays, new: lake.plays}\n",
    )
    .unwrap();
    let o = tern(root, &["rewrite", "--spec", "s.yaml", "tree", "--dry-run"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("--- a/jobs/a.sql\n+++ b/jobs/a.sql"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("+select * from lake.plays;"));
    assert_eq!(
        fs::read_to_string(root.join("tree/jobs/a.sql")).unwrap(),
        "select * from legacy.plays;\n"
    );
    let o = tern(root, &["rewrite", "--spec", "s.yaml", "tree", "--json"]);
    assert_eq!(code(&o), 0);
    assert_eq!(
        json(&o),
        serde_json::json!({"files_changed": ["jobs/a.sql", "jobs/b.py"], "edits": 2,
            "unresolved": [{"path": "jobs/b.py", "line": 1, "reason": "path built at run time: the name continues with a computed value"}],
            "notes": [],
            "schema_check": {"ok": true, "checked": 1, "failures": []}})
    );
    assert_eq!(
        fs::read_to_string(root.join("tree/jobs/b.py")).unwrap(),
        "p = f\"/warehouse/plays{x}\"\nq = 'gs://lake/plays/'\n"
    );
    let o = tern(root, &["rewrite", "--spec", "s.yaml", "tree", "--json"]);
    assert_eq!(
        json(&o)["files_changed"],
        serde_json::json!([]),
        "idempotent"
    );
    let o = tern(root, &["rewrite", "--spec", "s.yaml", "no-such-dir"]);
    assert_eq!(code(&o), 2);
    assert!(
        !root.join("tern.db").exists(),
        "rewrite must not create a catalog"
    );
}

#[test]
fn the_demo_builds_migrates_and_rebuilds() {
    let tmp = tempfile::tempdir().unwrap();
    let o = tern(tmp.path(), &["demo", "--no-serve"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("Building tern-demo"), "{out}");
    for needle in [
        "merged",
        "failed",
        "needs_attention",
        "skipped",
        "breakage rate",
        "needs people: 1 failed, 1 needs attention",
        "(not complete)",
        "WAITING ON",
    ] {
        assert!(out.contains(needle), "{needle} missing from:\n{out}");
    }
    // The commands it suggests run as printed, though tern is not on PATH
    // (the tests run the binary cargo built).
    let status = out
        .lines()
        .map(str::trim)
        .find(|l| l.ends_with("status plays-to-lakehouse"))
        .unwrap_or_else(|| panic!("no status command in:\n{out}"));
    assert!(status.starts_with('/'), "{status}");
    let ran = std::process::Command::new("sh")
        .arg("-c")
        .arg(status)
        .current_dir(tmp.path())
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(
        ran.status.success(),
        "{status}: {}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let o = tern(tmp.path(), &["demo", "--no-serve", "--json"]);
    assert_eq!(code(&o), 0);
    let s = json(&o);
    assert_eq!(s["consumers"].as_array().unwrap().len(), 15);
    assert_eq!(s["counts"]["needs_attention"], 1);
    assert!(s["counts"]["failed"].as_u64().unwrap() >= 1);
    assert!(s["counts"]["merged"].as_u64().unwrap() >= 10);
    let o = tern(tmp.path(), &["demo", "--no-serve"]);
    assert!(
        stdout(&o).starts_with("Rebuilding tern-demo"),
        "{}",
        stdout(&o)
    );
    fs::create_dir_all(tmp.path().join("mine")).unwrap();
    let o = tern(tmp.path(), &["demo", "--no-serve", "--dir", "mine"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("was not made by `tern demo`"));
}

#[test]
fn openlineage_events_import_alongside_backstage() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let catalog = fleet(
        root,
        &[repo(
            "a",
            "insights",
            &[("a.sql", "from legacy.plays\n")],
            "",
        )],
        "",
    );
    fs::write(
        root.join("events.ndjson"),
        "{\"eventType\":\"COMPLETE\",\"job\":{\"namespace\":\"spark\",\"name\":\"hourly\",\"facets\":{\"sourceCodeLocation\":{\"repoUrl\":\"repos/hourly\"}}},\"inputs\":[{\"namespace\":\"hdfs://prod-nn:8020\",\"name\":\"/warehouse/plays\"}]}\n",
    )
    .unwrap();
    let o = tern(
        root,
        &[
            "catalog",
            "import",
            catalog.to_str().unwrap(),
            "events.ndjson",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = tern(root, &["catalog", "consumers", "hdfs-plays", "--json"]);
    let vias: Vec<(String, String)> = json(&o)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().into(),
                c["via"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        vias,
        vec![
            ("a".into(), "catalog".into()),
            ("hourly".into(), "lineage".into())
        ]
    );
    fs::write(
        root.join("bad.json"),
        "{\"job\": {\"name\": \"x\"}, \"inputs\": 3}",
    )
    .unwrap();
    let o = tern(root, &["catalog", "import", "bad.json"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("bad.json:1: `inputs` must be a list"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_reader_that_goes_away_silences_the_output_not_the_work() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::create_dir_all(root.join("tree")).unwrap();
    fs::write(root.join("tree/a.sql"), "select 1 from legacy.plays;\n").unwrap();
    fs::write(
        root.join("s.yaml"),
        "version: 1\nid: m\ntitle: T\nreplace:\n  - {kind: table, old: legacy.plays, new: lake.plays}\n",
    )
    .unwrap();
    // stdout is a pipe whose reader is already closed (`tern … | head -0`).
    let closed = |args: &[&str]| {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        std::process::Command::new(env!("CARGO_BIN_EXE_tern"))
            .args(args)
            .current_dir(root)
            .env_remove("TERN_CATALOG")
            .stdout(writer)
            .output()
            .unwrap()
    };
    let o = closed(&["rewrite", "--spec", "s.yaml", "tree", "--dry-run"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    let o = closed(&["rewrite", "--spec", "s.yaml", "tree", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(root.join("tree/a.sql")).unwrap(),
        "select 1 from lake.plays;\n",
        "the work is done although nobody reads what it says"
    );
    // The exit status is still the command's own.
    let o = closed(&["rewrite", "--spec", "missing.yaml", "tree"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}
