#![no_main]
//! The config module's parsers (YAML, JSON, TOML, HOCON, properties, HCL)
//! never panic on any bytes and settle after one pass; the first byte picks
//! the format.

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

static ENGINE: OnceLock<tern_rewrite::Engine> = OnceLock::new();
const PATHS: &[&str] = &[
    "c.yaml",
    "c.json",
    "c.toml",
    "c.conf",
    "c.properties",
    "main.tf",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let engine = ENGINE.get_or_init(common::engine);
    common::check(engine, PATHS[pick as usize % PATHS.len()], rest);
});
