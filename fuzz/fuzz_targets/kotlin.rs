#![no_main]
//! The kotlin module never panics on any bytes and settles after one pass.

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

static ENGINE: OnceLock<tern_rewrite::Engine> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let engine = ENGINE.get_or_init(common::engine);
    common::check(engine, "Job.kt", data);
});
