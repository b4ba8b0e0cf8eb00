//! Properties over many generated files: rewriting settles after one pass
//! (rule 9), and a file where no locator occurs comes back byte-identical.

mod common;

use common::Rng;
use tern_rewrite::Engine;

/// Cases per property; `TERN_PROPERTY_CASES=1000000` for a longer search.
fn cases() -> u64 {
    std::env::var("TERN_PROPERTY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

const LOCATORS: &[&str] = &[
    "hdfs://prod-nn:8020/warehouse/plays",
    "/warehouse/plays",
    "legacy.plays",
    "LEGACY.PLAYS",
    "`legacy`.`plays`",
    "\"legacy\".\"plays\"",
    "my-proj.legacy.events",
    "`my-proj.legacy.events`",
    "[my-proj:legacy.events]",
    "resource:default/hdfs-plays",
];

const NOISE: &[&str] = &[
    " ",
    "\n",
    "\r\n",
    "\t",
    "'",
    "\"",
    "`",
    ".",
    "/",
    ":",
    "=",
    "(",
    ")",
    "{",
    "}",
    "$",
    "%",
    "*",
    ",",
    ";",
    "-",
    "_",
    "plays",
    "legacy",
    "warehouse",
    "lake",
    "x",
    "SELECT * FROM ",
    "/date=2026-01-01/part-0.avro",
    "_archive",
    "v2",
    "é",
    "hdfs://other-nn",
    "plays_daily",
    "my-proj",
    "events",
    "default/",
    "resource:",
];

fn engine() -> Engine {
    common::engine(common::Setup {
        new_path: "gs://lake/plays",
        format: true,
        columns: false,
    })
}

#[test]
fn rewriting_settles_after_one_pass() {
    let engine = engine();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for case in 0..cases() {
        let mut text = String::new();
        for _ in 0..(rng.next() % 24) {
            if rng.next().is_multiple_of(4) {
                text.push_str(rng.pick(LOCATORS));
            } else {
                text.push_str(rng.pick(NOISE));
            }
        }
        let once = engine.rewrite("f.txt", text.as_bytes());
        let once_bytes = once
            .output
            .clone()
            .unwrap_or_else(|| text.clone().into_bytes());
        let twice = engine.rewrite("f.txt", &once_bytes);
        assert!(
            twice.output.is_none(),
            "case {case}: {text:?} → {:?} → {:?}",
            String::from_utf8_lossy(&once_bytes),
            twice
                .output
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        );
    }
}

#[test]
fn files_without_locators_are_byte_identical() {
    let engine = engine();
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for case in 0..cases() {
        let mut bytes = Vec::new();
        for _ in 0..(rng.next() % 40) {
            if rng.next().is_multiple_of(3) {
                bytes.push((rng.next() % 256) as u8);
            } else {
                bytes.extend_from_slice(rng.pick(NOISE).as_bytes());
            }
        }
        let out = engine.rewrite("f.txt", &bytes);
        let text = String::from_utf8_lossy(&bytes);
        let mentions = ["/warehouse/plays", "legacy", "hdfs-plays"]
            .iter()
            .any(|l| text.to_ascii_lowercase().contains(l));
        if !mentions {
            assert!(out.output.is_none(), "case {case}: {text:?} changed");
            assert!(
                out.findings.is_empty(),
                "case {case}: {text:?} has findings"
            );
        }
    }
}
