//! YAML documents as trees of [`Node`]s that remember where they stood.
//!
//! tern reads two kinds of YAML written by people: migration specs and
//! Backstage `catalog-info.yaml` files. Both must be refused with the file, the
//! line and the key named, which a plain `serde` deserialiser cannot do for
//! semantic checks (an `old` equal to its `new`, a duplicated alias). This crate
//! keeps the position of every node so callers can validate by hand.
//!
//! ```
//! let docs = tern_yaml::load_all("a: 1\nb: [x, y]\n").unwrap();
//! let b = docs[0].get("b").unwrap();
//! assert_eq!(b.line, 2);
//! assert_eq!(b.as_seq().unwrap()[1].as_str(), Some("y"));
//! ```

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A YAML syntax error, with the position the parser stopped at.
#[derive(Debug, Clone, thiserror::Error)]
#[error("line {line}, column {col}: {message}")]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What the parser said.
    pub message: String,
}

/// One node of a document with its 1-based position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The node's content.
    pub value: Value,
    /// 1-based line where the node starts.
    pub line: usize,
    /// 1-based column where the node starts.
    pub col: usize,
    /// Character (not byte) offset where the node starts, for callers that
    /// splice edits into the original text.
    pub index: usize,
}

/// The content of a node. Scalars stay strings: the caller decides what a
/// scalar means, so `on` never silently turns into `true`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null`, or nothing at all.
    Null,
    /// A scalar; `quoted` is false for plain scalars.
    Scalar { text: String, quoted: bool },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping in document order (duplicates are kept for the caller to refuse).
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar's text, or `None` for anything else.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The items of a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The entries of a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// True for `~`, `null` and empty values.
    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// A plain (unquoted) integer scalar.
    pub fn as_u64(&self) -> Option<u64> {
        match &self.value {
            Value::Scalar {
                text,
                quoted: false,
            } => text.parse().ok(),
            _ => None,
        }
    }

    /// A plain number, integer or decimal.
    pub fn as_f64(&self) -> Option<f64> {
        match &self.value {
            Value::Scalar {
                text,
                quoted: false,
            } => text.parse().ok(),
            _ => None,
        }
    }

    /// The value under `key` in a mapping (the first, if repeated).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name of the node's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "nothing",
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Parses every document of a YAML stream (`---` separated).
pub fn load_all(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| YamlError {
        line: e.marker().line(),
        col: e.marker().col() + 1,
        message: e.info().to_string(),
    })?;
    Ok(builder.docs)
}

/// Parses a stream that must hold exactly one document.
pub fn load_one(text: &str) -> Result<Node, YamlError> {
    let mut docs = load_all(text)?;
    match docs.len() {
        0 => Ok(Node {
            value: Value::Null,
            line: 1,
            col: 1,
            index: 0,
        }),
        1 => Ok(docs.remove(0)),
        _ => Err(YamlError {
            line: docs[1].line,
            col: 1,
            message: "expected a single YAML document, found several".into(),
        }),
    }
}

/// Builds nodes from parser events.
#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    /// Open collections: the node under construction, its anchor, and a
    /// pending mapping key.
    stack: Vec<(Node, usize, Option<Node>)>,
    anchors: HashMap<usize, Node>,
}

impl Builder {
    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some((parent, _, pending)) => match &mut parent.value {
                Value::Seq(items) => items.push(node),
                Value::Map(entries) => match pending.take() {
                    None => *pending = Some(node),
                    Some(key) => entries.push((key, node)),
                },
                _ => {}
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let at = |value| Node {
            value,
            line: mark.line(),
            col: mark.col() + 1,
            index: mark.index(),
        };
        match ev {
            Event::Scalar(text, style, anchor, _tag) => {
                let quoted = style != TScalarStyle::Plain;
                let value =
                    if !quoted && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL") {
                        Value::Null
                    } else {
                        Value::Scalar { text, quoted }
                    };
                self.push_value(at(value), anchor);
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push((at(Value::Seq(vec![])), anchor, None))
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push((at(Value::Map(vec![])), anchor, None))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, anchor, _)) = self.stack.pop() {
                    self.push_value(node, anchor);
                }
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| at(Value::Null));
                self.push_value(node, 0);
            }
            Event::DocumentEnd => {}
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_documents() {
        let docs = load_all("a: 1\n---\nkind: X\nlist:\n  - p\n  - 'q'\n").unwrap();
        assert_eq!(docs.len(), 2);
        let list = docs[1].get("list").unwrap();
        assert_eq!(list.as_seq().unwrap()[1].line, 6);
        assert_eq!(
            list.as_seq().unwrap()[1].value,
            Value::Scalar {
                text: "q".into(),
                quoted: true
            }
        );
        assert_eq!(docs[0].get("a").unwrap().as_u64(), Some(1));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = load_all("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.line >= 1, "{err}");
    }

    #[test]
    fn nulls_and_aliases() {
        let doc = load_one("a: &x {k: v}\nb: *x\nc:\nd: ~\n").unwrap();
        assert_eq!(doc.get("b").unwrap().get("k").unwrap().as_str(), Some("v"));
        assert!(doc.get("c").unwrap().is_null());
        assert!(doc.get("d").unwrap().is_null());
    }
}
