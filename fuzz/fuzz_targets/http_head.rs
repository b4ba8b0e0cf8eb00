#![no_main]
//! The portal's request-head parser never panics, never accepts more than
//! its limits, and what it accepts reads one way only: one length, a method
//! and header names made of token characters, a target that is a path.

use libfuzzer_sys::fuzz_target;
use tern_portal::wire;

fuzz_target!(|data: &[u8]| {
    let Some(end) = wire::head_end(data) else {
        return;
    };
    assert!(end <= data.len());
    let Ok(head) = wire::parse(&data[..end]) else {
        return;
    };
    assert!(end <= wire::MAX_HEAD);
    assert!(head.headers.len() <= wire::MAX_HEADERS);
    assert!(head.target.starts_with('/'));
    assert!(head.method.bytes().all(|b| b.is_ascii_graphic()));
    let lengths = head
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .count();
    assert!(lengths <= 1);
    assert!(!head
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding")));
});
