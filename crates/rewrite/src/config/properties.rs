//! Java `.properties` files.

use super::{insert, Parsed, Quoting, Tree};

/// `.properties`: `key=value`, `key: value` or `key value` per line; dotted
/// keys nest, so `input.path` and `input.format` are siblings. Continued
/// lines (a trailing `\`) and escaped values are read but never edited.
/// The file as one mapping; every file reads.
pub(super) fn parse(src: &str) -> Parsed {
    Ok(vec![read(src)])
}

fn read(src: &str) -> Tree {
    let mut entries = Vec::new();
    let mut at = 0;
    let mut continued = false;
    let lines: Vec<&str> = src.split_inclusive('\n').collect();
    let continues = |body: &str| body.ends_with('\\') && !body.ends_with("\\\\");
    for (n, line) in lines.iter().enumerate() {
        let start = at;
        at += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let was_continued = continued;
        continued = continues(body);
        if was_continued {
            continue;
        }
        let trimmed = body.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        let lead = body.len() - trimmed.len();
        let key_end = trimmed.find(['=', ':', ' ', '\t']).unwrap_or(trimmed.len());
        let key = &trimmed[..key_end];
        let mut rest = key_end;
        let after = &trimmed[rest..];
        let ws = after.len() - after.trim_start_matches([' ', '\t']).len();
        rest += ws;
        if trimmed[rest..].starts_with(['=', ':']) {
            rest += 1;
            let after = &trimmed[rest..];
            rest += after.len() - after.trim_start_matches([' ', '\t']).len();
        }
        let value = &trimmed[rest..];
        let vstart = start + lead + rest;
        // The logical value: continued lines joined, each break and the
        // next line's indentation dropped, escapes decoded.
        let mut raw = value.to_string();
        let mut k = n;
        while continues(&raw) {
            raw.pop();
            k += 1;
            let Some(next) = lines.get(k) else { break };
            raw.push_str(
                next.trim_end_matches(['\n', '\r'])
                    .trim_start_matches([' ', '\t']),
            );
        }
        let editable = !value.contains('\\');
        let tree = Tree::Scalar {
            range: editable.then_some(vstart..vstart + value.len()),
            value: Some((vstart, Quoting::Properties)),
            text: properties_unescape(&raw),
        };
        let path: Vec<String> = key.split('.').map(str::to_string).collect();
        insert(&mut entries, &path, tree);
    }
    Tree::Map(entries)
}

/// A `.properties` value's escapes: `\t`, `\n`, `\uXXXX`, and any other
/// character after a backslash standing for itself.
fn properties_unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(c) => out.push(c),
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}
