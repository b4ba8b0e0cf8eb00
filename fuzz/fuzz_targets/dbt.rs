#![no_main]
//! A dbt project of up to four files (models and `sources:` files, split at
//! 0xFF bytes): rewriting each file and settling the tree never panics, always
//! ends, and a second pass over the settled tree changes nothing.

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tern_rewrite::{Engine, FileRewrite};

#[path = "common.rs"]
mod common;

static ENGINE: OnceLock<Engine> = OnceLock::new();

fn settled(engine: &Engine, files: &[(String, Vec<u8>)]) -> Vec<FileRewrite> {
    let list: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
    engine.rewrite_all(&list)
}

fuzz_target!(|data: &[u8]| {
    let engine = ENGINE.get_or_init(common::engine);
    let files: Vec<(String, Vec<u8>)> = data
        .split(|&b| b == 0xFF)
        .take(4)
        .enumerate()
        .map(|(i, part)| {
            let path = if i % 2 == 0 {
                format!("models/m{i}.sql")
            } else {
                format!("models/s{i}.yml")
            };
            (path, part.to_vec())
        })
        .collect();
    let after: Vec<(String, Vec<u8>)> = files
        .iter()
        .zip(settled(engine, &files))
        .map(|((path, bytes), out)| (path.clone(), out.output.unwrap_or_else(|| bytes.clone())))
        .collect();
    for ((path, _), again) in after.iter().zip(settled(engine, &after)) {
        assert!(again.output.is_none(), "a second pass over the tree changed {path}");
    }
});
