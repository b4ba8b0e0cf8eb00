//! The language rules through the binary, as a user runs them: `tern plan`
//! reports what each consumer's code needs, and `tern run` merges the
//! rewrites a parser made safe and holds back the ones it could not.

mod common;

use common::*;

const COLUMNS: &str =
    "columns: {user_id: account_id}\nformat: {old: avro, new: parquet}\nrollout: {waves: [\"100%\"]}\n";

#[test]
fn plan_and_run_apply_column_renames_and_hold_unsafe_queries() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let repos = vec![
        repo(
            "report",
            "insights",
            &[("q.sql", "SELECT p.user_id, t.title\nFROM legacy.plays p JOIN legacy.tracks t ON t.track_id = p.track_id;\n")],
            "grep -q 'p.account_id AS user_id' q.sql && grep -q 'FROM lake.plays p' q.sql",
        ),
        repo(
            "job",
            "insights",
            &[("job.py", "df = spark.read.format(\"avro\").load(\"hdfs://prod-nn:8020/warehouse/plays\")\nother = spark.read.format(\"avro\").load(\"hdfs://prod-nn:8020/warehouse/tracks\")\n")],
            "grep -q 'format(\"parquet\").load(\"gs://lake/plays\").withColumnRenamed(\"account_id\", \"user_id\")' job.py && grep -q 'format(\"avro\").load(\"hdfs://prod-nn:8020/warehouse/tracks\")' job.py",
        ),
        repo(
            "export",
            "insights",
            &[("export.sql", "SELECT * FROM legacy.plays;\n")],
            "true",
        ),
        // A dbt project moves as one: its source entry moves, so every
        // model's source() call keeps working and reads the new columns.
        repo(
            "dbt-moves",
            "insights",
            &[
                ("models/sources.yml", "version: 2\nsources:\n  - name: legacy\n    tables:\n      - name: plays\n"),
                ("models/daily.sql", "select user_id from {{ source('legacy', 'plays') }}\n"),
            ],
            "grep -q 'schema: lake' models/sources.yml && grep -q \"select account_id as user_id from {{ source('legacy', 'plays') }}\" models/daily.sql",
        ),
        // ...or not at all, when one model must be held back.
        repo(
            "dbt-held",
            "insights",
            &[
                ("models/sources.yml", "version: 2\nsources:\n  - name: legacy\n    tables:\n      - name: plays\n"),
                ("models/daily.sql", "select user_id from {{ source('legacy', 'plays') }}\n"),
                ("models/all.sql", "select * from {{ source('legacy', 'plays') }}\n"),
            ],
            "true",
        ),
    ];
    let catalog = fleet(root, &repos, "");
    import(root, &catalog);
    std::fs::write(root.join("s.yaml"), spec_with("cols", "auto", COLUMNS)).unwrap();

    let o = tern(root, &["plan", "s.yaml", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let plan = json(&o);
    let consumer = |id: &str| {
        plan["consumers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} missing from {plan:#}"))
    };
    assert_eq!(consumer("report")["files"], serde_json::json!(["q.sql"]));
    let export = consumer("export");
    assert_eq!(export["files"], serde_json::json!([]), "{export:#}");
    let reason = export["unresolved"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("SELECT * from a table whose columns are renamed"),
        "{reason}"
    );

    let held = consumer("dbt-held");
    assert_eq!(held["files"], serde_json::json!([]), "{held:#}");
    let paths: Vec<&str> = held["unresolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["models/all.sql", "models/daily.sql", "models/sources.yml"]
    );
    assert!(
        held["unresolved"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("because models/all.sql keeps its old name"),
        "{held:#}"
    );

    let o = tern(root, &["run", "s.yaml", "--json"]);
    let status = json(&tern(root, &["status", "cols", "--json"]));
    let state = |id: &str| {
        status["consumers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["state"].as_str().unwrap().to_string())
    };
    assert_eq!(
        state("report").as_deref(),
        Some("merged"),
        "{}{status:#}",
        stderr(&o)
    );
    assert_eq!(state("job").as_deref(), Some("merged"), "{status:#}");
    assert_eq!(state("dbt-moves").as_deref(), Some("merged"), "{status:#}");
    assert_eq!(
        state("dbt-held").as_deref(),
        Some("needs_attention"),
        "{status:#}"
    );
    assert_eq!(
        state("export").as_deref(),
        Some("needs_attention"),
        "{status:#}"
    );
    // The unsafe statement is left whole on the default branch.
    assert_eq!(
        sh(&root.join("repos/export"), "git show main:export.sql"),
        "SELECT * FROM legacy.plays;"
    );
}

/// Rule 11 through the binary: with the new dataset's schema in the catalog,
/// a consumer whose rewritten query would read a column the new table lacks
/// gets no branch at all; its neighbour, which fits, merges; plan, status and
/// rewrite all say what the check found.
#[test]
fn a_rewrite_that_fails_the_schema_check_is_never_proposed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let repos = vec![
        repo(
            "fits",
            "insights",
            &[(
                "q.sql",
                "SELECT user_id, track_id FROM legacy.plays WHERE ms_played > 0;\n",
            )],
            "true",
        ),
        repo(
            "dropped-column",
            "insights",
            &[("q.sql", "SELECT user_id, country FROM legacy.plays;\n")],
            "true",
        ),
    ];
    let catalog = fleet(root, &repos, "");
    let text = std::fs::read_to_string(&catalog).unwrap().replacen(
        "tern.dev/tables: lake.plays\n",
        "tern.dev/tables: lake.plays\n    tern.dev/schema: 'account_id: string, track_id: string, ms_played: int'\n",
        1,
    );
    std::fs::write(&catalog, text).unwrap();
    import(root, &catalog);
    std::fs::write(root.join("s.yaml"), spec_with("schema", "auto", COLUMNS)).unwrap();

    let plan = json(&tern(root, &["plan", "s.yaml", "--json"]));
    let consumer = |v: &serde_json::Value, id: &str| {
        v["consumers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} missing from {v:#}"))
    };
    let fits = consumer(&plan, "fits");
    assert_eq!(fits["schema_check"]["ok"], true, "{fits:#}");
    assert_eq!(fits["schema_check"]["checked"], 1, "{fits:#}");
    let dropped = consumer(&plan, "dropped-column");
    assert_eq!(dropped["schema_check"]["ok"], false, "{dropped:#}");
    let failure = &dropped["schema_check"]["failures"][0];
    assert_eq!(failure["path"], "q.sql");
    assert_eq!(failure["line"], 1);
    assert!(
        failure["reason"]
            .as_str()
            .unwrap()
            .contains("`country` is not a column of `lake.plays`"),
        "{failure:#}"
    );

    let o = tern(root, &["run", "s.yaml", "--json"]);
    let status = json(&tern(root, &["status", "schema", "--json"]));
    let fits = consumer(&status, "fits");
    assert_eq!(fits["state"], "merged", "{}{status:#}", stderr(&o));
    assert_eq!(fits["schema_check"]["ok"], true);
    let dropped = consumer(&status, "dropped-column");
    assert_eq!(dropped["state"], "needs_attention", "{status:#}");
    assert_eq!(dropped["branch"], serde_json::Value::Null, "{status:#}");
    assert_eq!(dropped["schema_check"]["ok"], false, "{status:#}");
    assert!(
        dropped["unresolved"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("schema check:"),
        "{dropped:#}"
    );
    let dir = root.join("repos/dropped-column");
    assert_eq!(sh(&dir, "git branch --list 'tern/*'"), "");
    assert_eq!(
        sh(&dir, "git show main:q.sql"),
        "SELECT user_id, country FROM legacy.plays;"
    );

    // `tern rewrite` leaves the failing statement whole and says why.
    let o = tern(
        root,
        &[
            "rewrite",
            "--spec",
            "s.yaml",
            "repos/dropped-column",
            "--json",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = json(&o);
    assert_eq!(out["schema_check"]["ok"], false, "{out:#}");
    assert_eq!(out["files_changed"], serde_json::json!([]), "{out:#}");
}
