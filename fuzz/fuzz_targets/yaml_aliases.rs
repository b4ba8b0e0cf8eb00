#![no_main]
//! tern-yaml on any text: never panics, and what it builds stays within
//! its bounds however the text's anchors and aliases nest (the input is
//! prefixed with anchors of its own, so aliases have something to expand).

use libfuzzer_sys::fuzz_target;

fn nodes(n: &tern_yaml::Node) -> usize {
    1 + match &n.value {
        tern_yaml::Value::Seq(items) => items.iter().map(nodes).sum(),
        tern_yaml::Value::Map(entries) => entries.iter().map(|(k, v)| nodes(k) + nodes(v)).sum(),
        _ => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let text = format!("a: &a [x, y, {{k: v}}]\nb: &b [*a, *a, *a]\n{text}");
    if let Ok(docs) = tern_yaml::load_all(&text) {
        let written = text.len();
        let built: usize = docs.iter().map(nodes).sum();
        // Every node is written out, or one of at most this many an alias added.
        let bound = written + tern_yaml::MAX_ALIAS_NODES + tern_yaml::ALIAS_RATIO * written;
        assert!(built <= bound, "{built} nodes from {written} bytes");
    }
});
