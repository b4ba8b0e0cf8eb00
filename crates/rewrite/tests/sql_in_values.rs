//! SQL held in a code string or a config value changes exactly as the same
//! SQL in a `.sql` file, or not at all and reported: generated statements
//! are written into Java and Python strings (escaped), Scala
//! `"""...""".stripMargin` strings (margins), JSON strings and YAML block
//! scalars; each output value is decoded again and compared with the
//! rewrite of the bare statement.

mod common;

use common::Rng;
use tern_rewrite::Engine;

fn cases() -> u64 {
    std::env::var("TERN_PROPERTY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(1_500, |n: u64| n / 10)
}

const ITEMS: &[&str] = &[
    "user_id",
    "p.user_id",
    "ts",
    "MAX(ts) AS last",
    "track_id",
    "'a''b' AS k",
    "\"user_id\"",
    "'x\"y\\z' AS q",
    "COUNT(*) AS n",
    "p.ts",
];
const FROMS: &[&str] = &[
    "legacy.plays p",
    "legacy.plays AS p",
    "legacy.plays p JOIN legacy.tracks t ON t.track_id = p.track_id",
];
const WHERES: &[&str] = &[
    "",
    " WHERE p.ts > 0",
    " WHERE user_id = 'u\\1'",
    " WHERE p.user_id IN (SELECT user_id FROM legacy.plays)",
    " GROUP BY p.user_id",
];

fn statement(rng: &mut Rng) -> String {
    let n = 1 + rng.next() % 3;
    let items: Vec<&str> = (0..n).map(|_| rng.pick(ITEMS)).collect();
    let sep = if rng.next().is_multiple_of(2) {
        " "
    } else {
        "\n  "
    };
    format!(
        "SELECT {}{sep}FROM {}{}",
        items.join(", "),
        rng.pick(FROMS),
        rng.pick(WHERES)
    )
}

fn escape(sql: &str) -> String {
    sql.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(c) => out.push(c),
            None => {}
        }
    }
    out
}

/// How a statement is held, and how its value is read back.
struct Holder {
    path: &'static str,
    write: fn(&str) -> String,
    read: fn(&str) -> String,
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> &'a str {
    let start = s.find(open).map_or(0, |i| i + open.len());
    let end = s.rfind(close).unwrap_or(s.len());
    &s[start..end.max(start)]
}

const HOLDERS: &[Holder] = &[
    Holder {
        path: "Q.java",
        write: |sql| format!("class Q {{\n  String q = \"{}\";\n}}\n", escape(sql)),
        read: |f| unescape(between(f, "String q = \"", "\";")),
    },
    Holder {
        path: "q.py",
        write: |sql| format!("q = \"{}\"\n", escape(sql)),
        read: |f| unescape(between(f, "q = \"", "\"\n")),
    },
    Holder {
        path: "Q.scala",
        write: |sql| {
            let body = sql.replace('\n', "\n       |");
            format!("object Q {{\n  val q = \"\"\"{body}\"\"\".stripMargin\n}}\n")
        },
        read: |f| {
            between(f, "val q = \"\"\"", "\"\"\".stripMargin")
                .split('\n')
                .enumerate()
                .map(|(i, l)| {
                    if i == 0 {
                        l.to_string()
                    } else {
                        l.trim_start().trim_start_matches('|').to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
    },
    Holder {
        path: "q.json",
        write: |sql| format!("{{\"query\": \"{}\"}}\n", escape(sql)),
        read: |f| {
            serde_json::from_str::<serde_json::Value>(f)
                .ok()
                .and_then(|v| v["query"].as_str().map(str::to_string))
                .unwrap_or_default()
        },
    },
    Holder {
        path: "q.yaml",
        write: |sql| {
            let body: String = sql.lines().map(|l| format!("  {l}\n")).collect();
            format!("query: |\n{body}")
        },
        read: |f| {
            tern_yaml::load_one(f)
                .ok()
                .and_then(|d| d.get("query").and_then(|q| q.as_str().map(str::to_string)))
                .map(|s| s.trim_end_matches('\n').to_string())
                .unwrap_or_default()
        },
    },
];

fn engine() -> Engine {
    common::engine(common::Setup {
        new_path: "gs://lake/plays",
        format: false,
        columns: true,
    })
}

#[test]
fn sql_in_values_changes_as_sql_in_files() {
    let engine = engine();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut changed = vec![0u64; HOLDERS.len()];
    for case in 0..cases() {
        let sql = statement(&mut rng);
        let bare = engine.rewrite("q.sql", sql.as_bytes());
        let expected = bare
            .output
            .as_ref()
            .map_or(sql.clone(), |o| String::from_utf8_lossy(o).into_owned());
        for (n, h) in HOLDERS.iter().enumerate() {
            let file = (h.write)(&sql);
            let out = engine.rewrite(h.path, file.as_bytes());
            let written = out
                .output
                .as_ref()
                .map_or(file.clone(), |o| String::from_utf8_lossy(o).into_owned());
            let got = (h.read)(&written);
            assert_eq!(
                (h.read)(&file),
                sql,
                "case {case}: the {} holder does not read back its own value",
                h.path
            );
            let reported = !out.findings.is_empty() || !out.schema.failures.is_empty();
            if got != sql {
                changed[n] += 1;
            }
            assert!(
                got == expected || (got == sql && reported),
                "case {case} in {}: {sql:?}\n  as a .sql file: {expected:?}\n  in the value: {got:?}\n  file: {written}\n  findings: {:?}",
                h.path,
                out.findings
            );
        }
    }
    // Not vacuous: most statements change in every holder.
    for (h, n) in HOLDERS.iter().zip(&changed) {
        assert!(
            *n > cases() / 2,
            "only {n} of {} changed in {}",
            cases(),
            h.path
        );
    }
}
