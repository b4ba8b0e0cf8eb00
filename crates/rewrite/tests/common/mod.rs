//! The rules most engine tests run under: both path aliases, a Hive table, a
//! BigQuery table, the Backstage refs, and optionally the format change and
//! two column renames. Shared by the tests and by the fuzz targets (`fuzz/`).

#![allow(dead_code)]

use tern_rewrite::{Engine, RuleInput, Rules};
use tern_spec::{FormatChange, LocatorKind};

/// What varies between the suites.
pub struct Setup {
    /// The new path (`gs://lake/plays` unless the test reads better otherwise).
    pub new_path: &'static str,
    /// `format: {old: avro, new: parquet}`.
    pub format: bool,
    /// `columns: {user_id: account_id, ts: event_time}`.
    pub columns: bool,
}

pub fn engine(s: Setup) -> Engine {
    Engine::new(
        Rules::new(RuleInput {
            replace: vec![
                (
                    LocatorKind::Path,
                    vec![
                        "hdfs://prod-nn:8020/warehouse/plays".into(),
                        "/warehouse/plays".into(),
                    ],
                    s.new_path.into(),
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
            format: s.format.then(|| FormatChange {
                old: "avro".into(),
                new: "parquet".into(),
            }),
            columns: if s.columns {
                vec![
                    ("user_id".into(), "account_id".into()),
                    ("ts".into(), "event_time".into()),
                ]
            } else {
                vec![]
            },
            ..Default::default()
        })
        .expect("the shared rules are valid"),
    )
}

/// A small deterministic generator (xorshift), so failures reproduce from the seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}
