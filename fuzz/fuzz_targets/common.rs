//! Shared by every target: the rules under test and the two checks, never
//! panic and settle after one pass (SPEC §3 rule 9).

use tern_rewrite::{Engine, RuleInput, Rules};
use tern_spec::{FormatChange, LocatorKind};

pub fn engine() -> Engine {
    Engine::new(
        Rules::new(RuleInput {
            replace: vec![
                (
                    LocatorKind::Path,
                    vec![
                        "hdfs://prod-nn:8020/warehouse/plays".into(),
                        "/warehouse/plays".into(),
                    ],
                    "gs://lake/plays".into(),
                ),
                (
                    LocatorKind::Table,
                    vec!["legacy.plays".into()],
                    "lake.plays".into(),
                ),
                (
                    LocatorKind::Table,
                    vec!["my-proj.legacy.events".into()],
                    "my-proj.lake.events".into(),
                ),
            ],
            entity: Some(("hdfs-plays".into(), "lake-plays".into())),
            format: Some(FormatChange {
                old: "avro".into(),
                new: "parquet".into(),
            }),
            columns: vec![
                ("user_id".into(), "account_id".into()),
                ("ts".into(), "event_time".into()),
            ],
        })
        .expect("valid rules"),
    )
}

pub fn check(engine: &Engine, path: &str, data: &[u8]) {
    let once = engine.rewrite(path, data);
    if let Some(out) = once.output {
        let twice = engine.rewrite(path, &out);
        assert!(
            twice.output.is_none(),
            "a second rewrite of {path} changed it again"
        );
    }
}
