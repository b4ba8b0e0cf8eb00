//! YAML, through tern-yaml (alias expansion bounded), with byte spans.

use super::content_at;
use super::{Parsed, Quoting, Refused, Tree};

/// Every document of the file; refused when its aliases or nesting pass
/// tern-yaml's limits (nothing in it is then safe to change).
pub(super) fn parse(src: &str) -> Parsed {
    let docs = match tern_yaml::load_all(src) {
        Ok(docs) => docs,
        Err(e) if e.too_large => {
            return Err(Refused {
                line: e.line,
                reason: format!("YAML not read: {}; the file is left as it is", e.message),
            })
        }
        Err(_) => return Ok(vec![]),
    };
    // yaml-rust2 counts characters; map them to bytes once.
    let offsets: Option<Vec<usize>> =
        (!src.is_ascii()).then(|| src.char_indices().map(|(i, _)| i).collect());
    let byte = |index: usize| match &offsets {
        None => index,
        Some(o) => o.get(index).copied().unwrap_or(src.len()),
    };
    fn conv(n: &tern_yaml::Node, src: &str, byte: &dyn Fn(usize) -> usize) -> Tree {
        match &n.value {
            tern_yaml::Value::Scalar { text, quoted } => {
                let at = byte(n.index);
                let value = match (quoted, src.as_bytes().get(at)) {
                    (false, _) => Some((at, Quoting::Bare)),
                    (true, Some(b'"')) => Some((at + 1, Quoting::Escaped { triple: false })),
                    (true, Some(b'\'')) => Some((at + 1, Quoting::Doubled)),
                    // Block scalars (`|`, `>`) start at their first line's text.
                    (true, _) => Some((at, Quoting::Bare)),
                };
                Tree::Scalar {
                    range: content_at(src, at, text),
                    text: text.clone(),
                    value,
                }
            }
            tern_yaml::Value::Map(entries) => Tree::Map(
                entries
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_string(), conv(v, src, byte))))
                    .collect(),
            ),
            tern_yaml::Value::Seq(items) => {
                Tree::Seq(items.iter().map(|i| conv(i, src, byte)).collect())
            }
            tern_yaml::Value::Null => Tree::Other,
        }
    }
    Ok(docs.iter().map(|d| conv(d, src, &byte)).collect())
}
