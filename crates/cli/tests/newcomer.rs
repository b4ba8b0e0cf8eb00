//! What a new user meets first (issue #19): commands that list what there
//! is, counts that read as English.

mod common;

use std::fs;

use common::*;

#[test]
fn migrations_are_listed_and_one_consumer_is_one() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let o = tern(root, &["migrations"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("tern catalog import"), "{}", stderr(&o));
    let file = fleet(
        root,
        &[repo(
            "solo",
            "insights",
            &[("job.yaml", "path: hdfs://prod-nn:8020/warehouse/plays\n")],
            "true",
        )],
        "",
    );
    import(root, &file);
    let o = tern(root, &["migrations"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("No migrations yet"), "{}", stdout(&o));
    fs::write(root.join("s.yaml"), spec("m", "auto")).unwrap();
    let o = tern(root, &["plan", "s.yaml"]);
    assert!(
        stdout(&o).contains("1 consumer") && !stdout(&o).contains("1 consumers"),
        "{}",
        stdout(&o)
    );
    let o = tern(root, &["run", "s.yaml"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("1 consumer:"), "{}", stdout(&o));
    let o = tern(root, &["migrations", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let list = json(&o);
    assert_eq!(list[0]["id"], "m");
    assert_eq!(list[0]["state"], "done");
    assert_eq!(list[0]["counts"]["merged"], 1);
    let text = stdout(&tern(root, &["migrations"]));
    assert!(
        text.contains("ID") && text.contains("1/1") && text.contains("done"),
        "{text}"
    );
}

#[test]
fn under_json_errors_are_json_on_stderr() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    // Bad input tern finds, and a command line clap refuses.
    for args in [
        &["status", "nope", "--json"][..],
        &["plan", "missing.yaml", "--json"][..],
        &["status", "--json", "--no-such-flag"][..],
    ] {
        let o = tern(root, args);
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}: {}", stdout(&o));
        let err: serde_json::Value = serde_json::from_slice(&o.stderr)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stderr(&o)));
        assert_eq!(err["exit"], 2, "{err}");
        assert!(!err["error"].as_str().unwrap().is_empty(), "{err}");
    }
    // Without --json, words.
    let o = tern(root, &["status", "nope"]);
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
}
