//! Shared by every target: the engine's shared test rules (with the format
//! change and column renames) and the two checks, never panic and settle
//! after one pass (SPEC §3 rule 9).

use tern_rewrite::Engine;

#[path = "../../crates/rewrite/tests/common/mod.rs"]
mod rules;

pub fn engine() -> Engine {
    rules::engine(rules::Setup {
        new_path: "gs://lake/plays",
        format: true,
        columns: true,
    })
}

/// Every target but `dbt` (which checks a whole tree) uses this.
#[allow(dead_code)]
pub fn check(engine: &Engine, path: &str, data: &[u8]) {
    let once = engine.rewrite(path, data);
    if let Some(out) = once.output {
        let twice = engine.rewrite(path, &out);
        assert!(twice.output.is_none(), "a second rewrite of {path} changed it again");
    }
}
