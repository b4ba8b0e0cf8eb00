//! Every refusal of SPEC section 2 names file, line and key.

use tern_spec::{Approval, LocatorKind, Spec, Wave};

const FULL: &str = include_str!("../../../examples/plays-to-lakehouse.yaml");

fn refuse(text: &str) -> tern_spec::SpecError {
    Spec::parse(text, "s.yaml").expect_err("spec should be refused")
}

fn base(extra: &str) -> String {
    format!("version: 1\nid: m1\ntitle: T\nreplace:\n  - {{kind: path, old: /w/plays, new: /l/plays}}\n{extra}")
}

#[test]
fn the_full_example_parses_with_every_field() {
    let s = Spec::parse(FULL, "plays.yaml").unwrap();
    assert_eq!(s.id, "plays-to-lakehouse");
    assert_eq!(s.replace.len(), 2);
    assert_eq!(s.replace[0].kind, LocatorKind::Path);
    assert_eq!(s.replace[0].old.len(), 2);
    assert_eq!(
        s.columns,
        vec![
            ("user_id".into(), "account_id".into()),
            ("ts".into(), "event_time".into())
        ]
    );
    assert_eq!(
        s.rollout.waves,
        vec![
            Wave::Count(1),
            Wave::Count(10),
            Wave::Percent(25.0),
            Wave::Percent(100.0)
        ]
    );
    assert_eq!(s.rollout.max_in_flight, 20);
    assert_eq!(s.rollout.per_hour, Some(200));
    assert_eq!(s.rollout.nudge_after.unwrap().as_secs(), 3 * 86400);
    assert_eq!(s.verify.timeout.as_secs(), 600);
    assert_eq!(s.approval, Approval::Owners);
    assert_eq!(s.agent.unwrap().command.unwrap()[0], "my-agent");
    assert!(s.description.contains("retired"));
}

#[test]
fn defaults() {
    let s = Spec::parse(&base(""), "s.yaml").unwrap();
    assert_eq!(s.rollout.waves, vec![Wave::Count(1), Wave::Percent(100.0)]);
    assert_eq!(s.rollout.max_in_flight, 10);
    assert_eq!(s.rollout.per_hour, None);
    assert_eq!(s.rollout.pause_when.failed_ratio, 0.2);
    assert_eq!(s.rollout.pause_when.min_failed, 3);
    assert_eq!(s.approval, Approval::Owners);
    assert_eq!(s.description, "");
}

#[test]
fn unknown_key_at_top() {
    let e = refuse(&base("colums: {a: b}\n"));
    assert_eq!((e.line, e.key.as_str()), (6, "colums"));
    assert!(
        e.to_string().starts_with("s.yaml:6: `colums`: unknown key"),
        "{e}"
    );
}

#[test]
fn unknown_nested_key() {
    let e = refuse(&base("rollout:\n  waves: [1]\n  max_inflight: 3\n"));
    assert_eq!((e.line, e.key.as_str()), (8, "rollout.max_inflight"));
}

#[test]
fn wrong_types() {
    let e = refuse(&base("rollout: {max_in_flight: many}\n"));
    assert_eq!((e.line, e.key.as_str()), (6, "rollout.max_in_flight"));
    let e = refuse(&base("rollout:\n  waves: [1, \"200%\"]\n"));
    assert_eq!((e.line, e.key.as_str()), (7, "rollout.waves[1]"));
    let e = refuse(&base("verify: {timeout: soon}\n"));
    assert_eq!(e.key, "verify.timeout");
    let e = refuse(&base("approval: everyone\n"));
    assert_eq!((e.line, e.key.as_str()), (6, "approval"));
    let e = refuse("version: 1\nid: m1\ntitle: [a, b]\nreplace: []\n");
    assert_eq!((e.line, e.key.as_str()), (3, "title"));
    let e = refuse("version: 1\nid: m1\ntitle: T\nreplace:\n  - {kind: view, old: a, new: b}\n");
    assert_eq!((e.line, e.key.as_str()), (5, "replace[0].kind"));
}

#[test]
fn old_equal_to_new() {
    let e = refuse("version: 1\nid: m1\ntitle: T\nreplace:\n  - kind: table\n    old: [legacy.x, lake.plays]\n    new: LAKE.PLAYS\n");
    assert_eq!(e.key, "replace[0].old[1]");
    assert!(e.message.contains("same as its `new`"), "{e}");
}

#[test]
fn same_old_twice() {
    let e = refuse(
        "version: 1\nid: m1\ntitle: T\nreplace:\n  - {kind: path, old: /w/plays, new: /a}\n  - kind: path\n    old: /w/plays/\n    new: /b\n",
    );
    assert_eq!((e.line, e.key.as_str()), (7, "replace[1].old"));
    assert!(e.message.contains("first on line 5"), "{e}");
}

#[test]
fn id_of_the_wrong_shape() {
    for bad in ["Plays", "-plays", "plays_move", "a b"] {
        let e = refuse(&format!(
            "version: 1\nid: {bad}\ntitle: T\nreplace: [{{kind: path, old: /a/b, new: /c/d}}]\n"
        ));
        assert_eq!((e.line, e.key.as_str()), (2, "id"), "{bad}");
    }
    let long = "a".repeat(64);
    assert_eq!(
        refuse(&format!("version: 1\nid: {long}\ntitle: T\nreplace: []\n")).key,
        "id"
    );
}

#[test]
fn missing_required_and_nothing_to_replace() {
    assert_eq!(refuse("version: 1\ntitle: T\n").key, "id");
    assert_eq!(refuse("version: 1\nid: m\n").key, "title");
    assert_eq!(refuse("id: m\ntitle: T\n").key, "version");
    assert_eq!(refuse("version: 2\nid: m\ntitle: T\n").key, "version");
    assert_eq!(refuse("version: 1\nid: m\ntitle: T\n").key, "replace");
    // dataset.from alone is enough: its locators come from the catalog.
    assert!(Spec::parse(
        "version: 1\nid: m\ntitle: T\ndataset: {from: a, to: b}\n",
        "s"
    )
    .is_ok());
}

#[test]
fn bad_yaml_names_the_line() {
    let e = refuse("version: 1\nid: m1\ntitle: [unclosed\n");
    assert!(e.line >= 3, "{e}");
    assert!(e.message.contains("not valid YAML"));
}

#[test]
fn key_given_twice() {
    let e = refuse(&base("title: Again\n"));
    assert_eq!((e.line, e.key.as_str()), (6, "title"));
}

#[test]
fn bad_table_and_column_names() {
    let e =
        refuse("version: 1\nid: m\ntitle: T\nreplace: [{kind: table, old: a.b.c.d, new: x.y}]\n");
    assert_eq!(e.key, "replace[0].old");
    let e = refuse(&base("columns: {user_id: user_id}\n"));
    assert_eq!(e.key, "columns.user_id");
    let e = refuse(&base("format: {old: avro, new: AVRO}\n"));
    assert_eq!(e.key, "format.new");
}

#[test]
fn new_may_be_left_out_when_columns_or_format_change() {
    let stays = "version: 1\nid: m1\ntitle: T\nreplace:\n  - {kind: table, old: legacy.plays}\ncolumns: {user_id: account_id}\n";
    let s = Spec::parse(stays, "s.yaml").unwrap();
    assert_eq!(s.replace[0].new, None);
    let format_only = "version: 1\nid: m1\ntitle: T\nreplace:\n  - {kind: path, old: /w/plays}\nformat: {old: avro, new: parquet}\n";
    assert!(Spec::parse(format_only, "s.yaml").is_ok());
}

#[test]
fn new_left_out_with_nothing_else_changing() {
    let e = refuse("version: 1\nid: m1\ntitle: T\nreplace:\n  - {kind: path, old: /w/plays, new: /l/plays}\n  - {kind: table, old: legacy.plays}\n");
    assert_eq!(e.key, "replace[1].new");
    assert_eq!(e.line, 6);
}
