//! TOML, through toml_edit, which keeps spans.

use super::{Parsed, Quoting, Tree};

/// The file's one document, when it parses.
pub(super) fn parse(src: &str) -> Parsed {
    Ok(read(src).into_iter().collect())
}

fn read(src: &str) -> Option<Tree> {
    use toml_edit::{Item, Value};
    let doc = toml_edit::Document::parse(src).ok()?;
    fn value(v: &Value, src: &str) -> Tree {
        match v {
            Value::String(s) => {
                let text = s.value().to_string();
                let span = s.span();
                let range = span.clone().and_then(|sp| {
                    let raw = src.get(sp.clone())?;
                    let q = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
                        3
                    } else {
                        1
                    };
                    let r = sp.start + q..sp.end.checked_sub(q)?;
                    (src.get(r.clone())? == text).then_some(r)
                });
                let value = span.and_then(|sp| {
                    let raw = src.get(sp.clone())?.as_bytes();
                    let triple = raw.starts_with(b"\"\"\"") || raw.starts_with(b"'''");
                    let start = sp.start + if triple { 3 } else { 1 };
                    Some(match raw.first()? {
                        b'"' => (start, Quoting::Escaped { triple }),
                        q => (start, Quoting::Literal { quote: *q, triple }),
                    })
                });
                Tree::Scalar { text, range, value }
            }
            Value::Array(a) => Tree::Seq(a.iter().map(|v| value(v, src)).collect()),
            Value::InlineTable(t) => Tree::Map(
                t.iter()
                    .map(|(k, v)| (k.to_string(), value(v, src)))
                    .collect(),
            ),
            _ => Tree::Other,
        }
    }
    fn item(i: &Item, src: &str) -> Tree {
        match i {
            Item::Value(v) => value(v, src),
            Item::Table(t) => Tree::Map(
                t.iter()
                    .map(|(k, v)| (k.to_string(), item(v, src)))
                    .collect(),
            ),
            Item::ArrayOfTables(a) => Tree::Seq(
                a.iter()
                    .map(|t| {
                        Tree::Map(
                            t.iter()
                                .map(|(k, v)| (k.to_string(), item(v, src)))
                                .collect(),
                        )
                    })
                    .collect(),
            ),
            Item::None => Tree::Other,
        }
    }
    Some(item(doc.as_item(), src))
}
