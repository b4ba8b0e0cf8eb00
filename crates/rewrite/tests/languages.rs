//! Properties of every language module over generated files: a file that
//! parsed before the rewrite still parses after it, a second rewrite changes
//! nothing (rule 9), and no input makes a module panic.
//!
//! Files are built from small per-language templates whose slots take the
//! migrated names in their written forms, near misses, other datasets and
//! renamed or untouched columns, so the modules' structural rules (format
//! keys, compatibility renames, scoped column renames, split names) all fire.

mod common;

use common::Rng;
use tern_rewrite::Engine;

/// Cases per language; `TERN_PROPERTY_CASES` raises it for a longer search.
fn cases() -> u64 {
    std::env::var("TERN_PROPERTY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_500)
}

fn engine() -> Engine {
    common::engine(common::Setup {
        new_path: "gs://lake/plays",
        format: true,
        columns: true,
    })
}

const TABLES: &[&str] = &[
    "legacy.plays",
    "LEGACY.PLAYS",
    "`legacy`.`plays`",
    "\"legacy\".\"plays\"",
    "legacy.plays_daily",
    "mylegacy.plays",
    "lake.plays",
    "legacy.tracks",
    "`my-proj.legacy.events`",
    "`my-proj`.legacy.events",
];
const PATHS: &[&str] = &[
    "/warehouse/plays",
    "/warehouse/plays/dt=1/part-0.avro",
    "hdfs://prod-nn:8020/warehouse/plays",
    "/warehouse/plays_archive",
    "hdfs://other-nn/warehouse/plays",
    "/warehouse/tracks",
];
const COLUMNS: &[&str] = &[
    "user_id",
    "ts",
    "USER_ID",
    "track_id",
    "`user_id`",
    "p.user_id",
    "x.ts",
];

fn fill(rng: &mut Rng, template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('§') {
        out.push_str(&rest[..i]);
        let slot = rest[i + '§'.len_utf8()..].chars().next().unwrap_or('T');
        out.push_str(match slot {
            'T' => rng.pick(TABLES),
            'P' => rng.pick(PATHS),
            'C' => rng.pick(COLUMNS),
            'F' => rng.pick(&["avro", "AVRO", "parquet", "orc"]),
            _ => "",
        });
        rest = &rest[i + '§'.len_utf8() + 1..];
    }
    out.push_str(rest);
    out
}

fn generate(rng: &mut Rng, templates: &[&str], sep: &str) -> String {
    let n = 1 + rng.next() % 4;
    (0..n)
        .map(|_| {
            let t = rng.pick(templates);
            fill(rng, t)
        })
        .collect::<Vec<_>>()
        .join(sep)
}

const SQL: &[&str] = &[
    "SELECT §C, §C FROM §T WHERE §C > 0",
    "SELECT p.user_id, t.title FROM §T p JOIN legacy.tracks t ON t.track_id = p.§C",
    "WITH a AS (SELECT §C FROM §T) SELECT §C FROM a ORDER BY §C",
    "CREATE TABLE x (a STRING) WITH ('path' = '§P', 'format' = '§F')",
    "INSERT INTO §T (§C) SELECT §C FROM staging.raw",
    "SELECT * FROM §T",
    "select max(§C) from §T group by §C",
    "SELECT count(*) FROM §F.`§P`",
    "USE legacy",
    "SELECT §C FROM plays",
    "CREATE EXTERNAL TABLE e (a STRING) STORED AS §F LOCATION '§P'",
    "-- reads §T\nSELECT 1",
];

const PYTHON: &[&str] = &[
    "df = spark.read.format(\"§F\").load(\"§P\")\n",
    "df = spark.table(\"§T\").groupBy(\"user_id\").count()\n",
    "q = spark.sql(\"\"\"SELECT §C FROM §T\"\"\")\n",
    "x = base + \"/plays\"\n",
    "p = f\"{b}/§P\"\n",
    "P = \"§P\"\ndf = spark.read.avro(P)\n",
    "def f():\n    \"\"\"Reads §T.\"\"\"\n    return spark.read.load(\"§P\", format=\"§F\")\n",
    "# §P\n",
];

const SCALA: &[&str] = &[
    "val a = spark.read.format(\"§F\").load(\"§P\")\n",
    "val b = spark.table(\"§T\").where(s\"date = '$day'\")\n",
    "val q = spark.sql(s\"\"\"SELECT §C FROM §T WHERE d = '$day'\"\"\")\n",
    "val P = \"§P\"\nval c = spark.read.avro(P)\n",
    "val r = sc.bigQueryTable(Table.Spec(\"my-proj:legacy.events\"))\n",
    "// §T\n",
    "val d = base + \"/plays\"\n",
];

const JAVA: &[&str] = &[
    "Dataset<Row> a = spark.read().format(\"§F\").load(\"§P\");\n",
    "Dataset<Row> b = spark.table(\"§T\");\n",
    "String q = \"\"\"\n    SELECT §C FROM §T\n    \"\"\";\n",
    "p.apply(BigQueryIO.readTableRows().from(\"my-proj:legacy.events\"));\n",
    "String d = base + \"/warehouse/plays\";\n",
    "// §P\n",
];

const KOTLIN: &[&str] = &[
    "        val a = spark.read().format(\"§F\").load(\"§P\")\n",
    "        val b = spark.table(\"§T\")\n",
    "        val q = spark.sql(\"\"\"SELECT §C FROM §T WHERE d = '$day'\"\"\")\n",
    "        val c = base + \"/plays\"\n",
    "        // §P\n",
];

const YAML: &[&str] = &[
    "a§C:\n  path: §P\n  format: §F\n",
    "b§C:\n  database: legacy\n  table: plays\n",
    "c§C: {path: \"§P\", format: §F}\n",
    "d§C: [§P, x]\n",
    "# §T\n",
];

const JSON_VALUES: &[&str] = &[
    "{\"path\": \"§P\", \"format\": \"§F\"}",
    "{\"database\": \"legacy\", \"table\": \"plays\"}",
    "[\"§P\", 1, true, null]",
    "\"§T\"",
];

const TOML: &[&str] = &[
    "[a§C]\npath = \"§P\"\nformat = \"§F\"\n",
    "[b§C]\ndatabase = \"legacy\"\ntable = 'plays'\n",
    "# §T\n",
];

const HCL: &[&str] = &[
    "resource \"x\" \"a\" {\n  location = \"§P\"\n  format   = \"§F\"\n}\n",
    "resource \"y\" \"b\" {\n  project    = \"my-proj\"\n  dataset_id = \"legacy\"\n  table_id   = \"events\"\n}\n",
    "locals {\n  t = \"§T\"\n}\n",
];

fn sql_parses(s: &str) -> bool {
    sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::GenericDialect {}, s).is_ok()
}

fn tree_parses(lang: tree_sitter::Language, s: &str) -> bool {
    let mut p = tree_sitter::Parser::new();
    p.set_language(&lang).unwrap();
    p.parse(s, None).is_some_and(|t| !t.root_node().has_error())
}

fn check(
    name: &str,
    path: &str,
    files: impl Iterator<Item = String>,
    parses: &dyn Fn(&str) -> bool,
) {
    let engine = engine();
    let mut changed = 0;
    for (case, text) in files.enumerate() {
        let before_ok = parses(&text);
        let once = engine.rewrite(path, text.as_bytes());
        let Some(out) = once.output else { continue };
        changed += 1;
        let out = String::from_utf8(out).expect("rewrites keep UTF-8");
        assert!(
            !before_ok || parses(&out),
            "{name} case {case}: output no longer parses\n--- before\n{text}\n--- after\n{out}"
        );
        let twice = engine.rewrite(path, out.as_bytes());
        assert!(
            twice.output.is_none(),
            "{name} case {case}: a second rewrite changed it again\n--- once\n{out}\n--- twice\n{}",
            String::from_utf8_lossy(&twice.output.unwrap_or_default())
        );
    }
    assert!(changed > 0, "{name}: no generated file was rewritten");
}

fn files<'a>(
    seed: u64,
    make: impl Fn(&mut Rng) -> String + 'a,
) -> impl Iterator<Item = String> + 'a {
    let mut rng = Rng(seed);
    (0..cases()).map(move |_| make(&mut rng))
}

#[test]
fn sql_output_parses_and_settles() {
    check(
        "sql",
        "q.sql",
        files(0x51, |r| generate(r, SQL, ";\n") + ";\n"),
        &sql_parses,
    );
}

#[test]
fn python_output_parses_and_settles() {
    check(
        "python",
        "job.py",
        files(0x52, |r| generate(r, PYTHON, "")),
        &|s| tree_parses(tree_sitter_python::LANGUAGE.into(), s),
    );
}

#[test]
fn scala_output_parses_and_settles() {
    check(
        "scala",
        "Job.scala",
        files(0x53, |r| {
            format!("object Job {{\n{}}}\n", generate(r, SCALA, ""))
        }),
        &|s| tree_parses(tree_sitter_scala::LANGUAGE.into(), s),
    );
}

#[test]
fn java_output_parses_and_settles() {
    check(
        "java",
        "Job.java",
        files(0x54, |r| {
            format!(
                "class Job {{\n  void run() {{\n{}  }}\n}}\n",
                generate(r, JAVA, "")
            )
        }),
        &|s| tree_parses(tree_sitter_java::LANGUAGE.into(), s),
    );
}

#[test]
fn kotlin_output_parses_and_settles() {
    check(
        "kotlin",
        "Job.kt",
        files(0x59, |r| {
            format!(
                "object Job {{\n    fun run() {{\n{}    }}\n}}\n",
                generate(r, KOTLIN, "")
            )
        }),
        &|s| tree_parses(tree_sitter_kotlin_ng::LANGUAGE.into(), s),
    );
}

#[test]
fn yaml_output_parses_and_settles() {
    check(
        "yaml",
        "c.yaml",
        files(0x55, |r| generate(r, YAML, "")),
        &|s| tern_yaml::load_all(s).is_ok(),
    );
}

#[test]
fn json_output_parses_and_settles() {
    check(
        "json",
        "c.json",
        files(0x56, |r| {
            let n = 1 + r.next() % 4;
            let items: Vec<String> = (0..n)
                .map(|i| {
                    let v = r.pick(JSON_VALUES);
                    format!("\"k{i}\": {}", fill(r, v))
                })
                .collect();
            format!("{{\n  {}\n}}\n", items.join(",\n  "))
        }),
        &|s| serde_json::from_str::<serde_json::Value>(s).is_ok(),
    );
}

#[test]
fn toml_output_parses_and_settles() {
    check(
        "toml",
        "c.toml",
        files(0x57, |r| {
            let n = 1 + r.next() % 3;
            (0..n)
                .map(|i| {
                    let t = r.pick(TOML);
                    fill(r, t)
                        .replace("[a", &format!("[a{i}"))
                        .replace("[b", &format!("[b{i}"))
                })
                .collect()
        }),
        &|s| toml_edit::Document::parse(s).is_ok(),
    );
}

#[test]
fn hcl_output_parses_and_settles() {
    check(
        "hcl",
        "main.tf",
        files(0x58, |r| generate(r, HCL, "\n")),
        &|s| hcl_edit::parser::parse_body(s).is_ok(),
    );
}
