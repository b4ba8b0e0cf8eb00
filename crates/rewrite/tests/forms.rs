//! docs/rules.md rules 1–3 and 9, case by case: which forms match, what they become.

mod common;

use tern_rewrite::{Engine, RuleInput, Rules};
use tern_spec::LocatorKind;

fn engine(format: bool) -> Engine {
    common::engine(common::Setup {
        new_path: "gs://lakehouse-prod/plays",
        format,
        columns: false,
    })
}

fn rw(e: &Engine, input: &str) -> (String, Vec<String>) {
    let out = e.rewrite("f.txt", input.as_bytes());
    let text = out
        .output
        .map(|b| String::from_utf8(b).unwrap())
        .unwrap_or_else(|| input.to_string());
    (
        text,
        out.findings
            .into_iter()
            .map(|f| format!("{}: {}", f.line, f.reason))
            .collect(),
    )
}

#[track_caller]
fn becomes(input: &str, expected: &str) {
    for format in [false, true] {
        let e = engine(format);
        let want = if format {
            expected.to_string()
        } else {
            expected
                .replace(".parquet", ".avro")
                .replace(".PARQUET", ".AVRO")
        };
        let (got, findings) = rw(&e, input);
        assert_eq!(got, want, "input {input:?} (format change: {format})");
        assert!(
            findings.is_empty(),
            "unexpected findings for {input:?}: {findings:?}"
        );
        let (again, _) = rw(&e, &got);
        assert_eq!(again, got, "not idempotent on {input:?}");
    }
}

#[track_caller]
fn untouched(input: &str) {
    becomes(input, input);
}

#[track_caller]
fn unresolved(input: &str, reason_part: &str) {
    let (got, findings) = rw(&engine(true), input);
    assert_eq!(got, input, "should be left whole");
    assert_eq!(findings.len(), 1, "{input:?}: {findings:?}");
    assert!(findings[0].contains(reason_part), "{findings:?}");
}

#[test]
fn path_boundaries() {
    becomes(
        "p = 'hdfs://prod-nn:8020/warehouse/plays'",
        "p = 'gs://lakehouse-prod/plays'",
    );
    becomes(
        "hdfs://prod-nn:8020/warehouse/plays/",
        "gs://lakehouse-prod/plays/",
    );
    becomes(
        "\"hdfs://prod-nn:8020/warehouse/plays/date=2026-01-01/part-0.avro\"",
        "\"gs://lakehouse-prod/plays/date=2026-01-01/part-0.parquet\"",
    );
    becomes(
        "path=/warehouse/plays\n",
        "path=gs://lakehouse-prod/plays\n",
    );
    becomes(
        "(/warehouse/plays/*.avro)",
        "(gs://lakehouse-prod/plays/*.parquet)",
    );
    becomes(
        "reads /warehouse/plays.",
        "reads gs://lakehouse-prod/plays.",
    );
    becomes(
        "/warehouse/plays/x.AVRO",
        "gs://lakehouse-prod/plays/x.PARQUET",
    );
    untouched("hdfs://prod-nn:8020/warehouse/plays_archive");
    untouched("hdfs://prod-nn:8020/warehouse/playsv2/x");
    untouched("/warehouse/plays.bak");
    untouched("/warehouse/plays-old");
    untouched("hdfs://other-nn/warehouse/plays");
    untouched("s3://bucket/warehouse/plays");
    untouched("/data/warehouse/plays");
    untouched("HDFS://PROD-NN:8020/WAREHOUSE/PLAYS");
    // Suffixes with other extensions keep them.
    becomes(
        "/warehouse/plays/_SUCCESS",
        "gs://lakehouse-prod/plays/_SUCCESS",
    );
    becomes(
        "/warehouse/plays/schema.avsc",
        "gs://lakehouse-prod/plays/schema.avsc",
    );
}

#[test]
fn longest_alias_wins() {
    let (got, _) = rw(
        &engine(false),
        "a hdfs://prod-nn:8020/warehouse/plays b /warehouse/plays c",
    );
    assert_eq!(
        got,
        "a gs://lakehouse-prod/plays b gs://lakehouse-prod/plays c"
    );
}

#[test]
fn paths_built_at_run_time_are_unresolved() {
    unresolved("f\"/warehouse/plays{suffix}\"", "run time");
    unresolved("s\"/warehouse/plays${suffix}\"", "run time");
    unresolved("\"/warehouse/plays%s\" % x", "run time");
    unresolved("glob('/warehouse/plays*')", "glob");
    // The locator whole in the literal is a plain rewrite.
    becomes(
        "\"/warehouse/plays/dt=\" + day",
        "\"gs://lakehouse-prod/plays/dt=\" + day",
    );
}

#[test]
fn table_forms() {
    becomes("SELECT * FROM legacy.plays", "SELECT * FROM lake.plays");
    becomes("select * from LEGACY.PLAYS;", "select * from LAKE.PLAYS;");
    becomes("FROM `legacy`.`plays` p", "FROM `lake`.`plays` p");
    becomes("FROM `legacy.plays` p", "FROM `lake.plays` p");
    becomes("FROM \"legacy\".\"plays\"", "FROM \"lake\".\"plays\"");
    becomes(
        "spark.table(\"legacy.plays\")",
        "spark.table(\"lake.plays\")",
    );
    becomes("table: 'legacy.plays'", "table: 'lake.plays'");
    becomes(
        "SELECT legacy.plays.user_id FROM x",
        "SELECT lake.plays.user_id FROM x",
    );
    becomes("[legacy].[plays]", "[lake].[plays]");
    untouched("FROM legacy.plays_daily");
    untouched("FROM mylegacy.plays");
    untouched("FROM prod.legacy.plays");
    untouched("FROM legacy_plays");
    untouched("legacy . plays");
    untouched("the legacy system plays a role");
    untouched("/data/legacy.plays/");
}

#[test]
fn bigquery_forms() {
    becomes("FROM `my-proj.legacy.events`", "FROM `my-proj.lake.events`");
    becomes("FROM `my-proj`.legacy.events", "FROM `my-proj`.lake.events");
    becomes("t = 'my-proj:legacy.events'", "t = 'my-proj:lake.events'");
    becomes("FROM [my-proj:legacy.events]", "FROM [my-proj:lake.events]");
    becomes("FROM my-proj.legacy.events", "FROM my-proj.lake.events");
    // Case-sensitive: another name entirely.
    untouched("FROM `MY-PROJ.LEGACY.EVENTS`");
    untouched("FROM `my-proj.legacy.events_v2`");
    untouched("FROM `other-proj.legacy.events`");
    unresolved("FROM legacy.events WHERE", "lacks the project");
    unresolved("FROM `legacy.events`", "lacks the project");
}

#[test]
fn entity_refs() {
    becomes(
        "dependsOn: [resource:default/hdfs-plays]",
        "dependsOn: [resource:default/lake-plays]",
    );
    becomes("- resource:hdfs-plays\n", "- resource:lake-plays\n");
    untouched("- resource:default/hdfs-plays-archive");
    untouched("- resource:default/old-hdfs-plays");
    untouched("- component:default/hdfs-plays");
}

#[test]
fn style_is_kept() {
    becomes(
        "a\r\n  path: /warehouse/plays\r\n\tb\r\n",
        "a\r\n  path: gs://lakehouse-prod/plays\r\n\tb\r\n",
    );
    let e = engine(false);
    let out = e.rewrite("x.txt", b"nothing to see here\n");
    assert!(out.output.is_none());
}

#[test]
fn binary_and_oversized_files_are_noted_not_edited() {
    let e = engine(false);
    let mut bin = b"\x00\x01\x02 path /warehouse/plays \x00".to_vec();
    let out = e.rewrite("x.bin", &bin);
    assert!(out.output.is_none() && out.findings.is_empty());
    assert!(out.notes[0].reason.contains("binary"));
    bin.clear();
    let out = e.rewrite("x.bin", b"\x00\x01 no locator");
    assert!(out.output.is_none() && out.notes.is_empty());
    let mut big = vec![b'a'; tern_rewrite::MAX_FILE_BYTES + 10];
    big.extend_from_slice(b" /warehouse/plays ");
    let out = e.rewrite("big.txt", &big);
    assert!(out.output.is_none());
    assert!(out.notes[0].reason.contains("8 MiB"));
}

#[test]
fn rules_that_would_not_settle_are_refused() {
    let err = Rules::new(RuleInput {
        replace: vec![(
            LocatorKind::Path,
            vec!["/warehouse/plays".into()],
            "/warehouse/plays/v2".into(),
        )],
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("idempotent"), "{err}");
    assert!(Rules::new(RuleInput {
        replace: vec![(
            LocatorKind::Table,
            vec!["legacy.plays".into()],
            "legacy.plays_v2".into()
        )],
        ..Default::default()
    })
    .is_ok());
}

#[test]
fn renamed_part_counts() {
    let e = Engine::new(
        Rules::new(RuleInput {
            replace: vec![(
                LocatorKind::Table,
                vec!["legacy.plays".into()],
                "lake.core.plays".into(),
            )],
            ..Default::default()
        })
        .unwrap(),
    );
    let (got, _) = rw(
        &e,
        "FROM `legacy`.`plays` JOIN legacy.plays JOIN `legacy.plays` JOIN LEGACY.PLAYS",
    );
    assert_eq!(got, "FROM `lake`.`core`.`plays` JOIN lake.core.plays JOIN `lake.core.plays` JOIN LAKE.CORE.PLAYS");
}

/// Rule 9 for a table that stays where it is: tern's own renaming query names
/// the same table, and a second pass must neither change it nor report it as
/// a `SELECT *` over renamed columns.
#[test]
fn renaming_query_over_a_table_that_stays_is_settled() {
    let rules = Rules::new(RuleInput {
        stays: vec![(LocatorKind::Table, vec!["acme-data.legacy.plays".into()])],
        columns: vec![("user_id".into(), "account_id".into())],
        ..Default::default()
    })
    .unwrap();
    let e = Engine::new(rules);
    let job = "class Beam {\n  void run(Pipeline p) {\n    p.apply(BigQueryIO.readTableRows().from(\"acme-data:legacy.plays\"));\n  }\n}\n";
    let once = e.rewrite("Beam.java", job.as_bytes());
    let once = String::from_utf8(once.output.expect("the read becomes a query read")).unwrap();
    assert!(once.contains(".fromQuery(\"SELECT * EXCEPT (account_id), account_id AS user_id FROM `acme-data.legacy.plays`\")"), "{once}");
    let twice = e.rewrite("Beam.java", once.as_bytes());
    assert_eq!(twice.output, None);
    assert!(twice.findings.is_empty(), "{:?}", twice.findings);
    assert!(
        twice.schema.failures.is_empty(),
        "{:?}",
        twice.schema.failures
    );
}
