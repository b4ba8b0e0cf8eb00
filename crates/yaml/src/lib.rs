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

/// A YAML syntax error, or a document past tern's limits, with the
/// position the parser stopped at.
#[derive(Debug, Clone, thiserror::Error)]
#[error("line {line}, column {col}: {message}")]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What the parser said.
    pub message: String,
    /// The text is YAML, but expanding its aliases or following its nesting
    /// would pass [`MAX_ALIAS_NODES`] or [`MAX_DEPTH`]: it was not built.
    pub too_large: bool,
}

/// Most nodes aliases may add to a stream, beyond
/// [`ALIAS_RATIO`] times the nodes written out: a "billion laughs" file of
/// nine anchors each aliasing the last nine times is a few hundred bytes
/// and would expand to 387 million nodes.
pub const MAX_ALIAS_NODES: usize = 100_000;
/// How many times the written nodes aliases may add besides.
pub const ALIAS_RATIO: usize = 10;
/// Deepest nesting of collections (below the parser's own recursion limit,
/// which it reports as a syntax error).
pub const MAX_DEPTH: usize = 200;

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
///
/// Aliases are expanded, within bounds: past [`MAX_ALIAS_NODES`] (plus
/// [`ALIAS_RATIO`] times the nodes written out) or [`MAX_DEPTH`] the stream
/// is refused with `too_large`, having cost no more memory than the limit.
pub fn load_all(text: &str) -> Result<Vec<Node>, YamlError> {
    // A byte-order mark (editors on Windows write one) is not content;
    // positions still count it, so they stay offsets into `text`.
    let (text, shift) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (rest, 1),
        None => (text, 0),
    };
    let mut builder = Builder {
        shift,
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| YamlError {
        line: e.marker().line(),
        col: e.marker().col() + 1,
        message: e.info().to_string(),
        // The parser's own bound on nesting is a limit, not a typo.
        too_large: e.info().contains("recursion limit"),
    })?;
    if let Some(e) = builder.refused {
        return Err(e);
    }
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
            too_large: false,
        }),
    }
}

/// Builds nodes from parser events.
#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    /// Open collections: the node under construction, its anchor, and a
    /// pending mapping key.
    stack: Vec<(Node, usize, Option<Node>, usize)>,
    /// Anchored nodes, with how many nodes each holds.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes written out, and nodes aliases added.
    written: usize,
    aliased: usize,
    /// Set once a limit is passed; nothing more is built after it.
    refused: Option<YamlError>,
    /// Characters before the parsed text (a byte-order mark).
    shift: usize,
}

impl Builder {
    /// `size`: the nodes `node` holds, itself included.
    fn push_value(&mut self, node: Node, anchor: usize, size: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some((parent, _, pending, _)) => match &mut parent.value {
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
        if self.refused.is_some() {
            return;
        }
        let shift = self.shift;
        let at = |value| Node {
            value,
            line: mark.line(),
            col: mark.col() + 1,
            index: mark.index() + shift,
        };
        let refuse = |message: String| YamlError {
            line: mark.line(),
            col: mark.col() + 1,
            message,
            too_large: true,
        };
        if matches!(ev, Event::SequenceStart(..) | Event::MappingStart(..))
            && self.stack.len() >= MAX_DEPTH
        {
            self.refused = Some(refuse(format!(
                "collections nested deeper than {MAX_DEPTH} levels"
            )));
            return;
        }
        match ev {
            Event::Scalar(text, style, anchor, _tag) => {
                let quoted = style != TScalarStyle::Plain;
                let value =
                    if !quoted && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL") {
                        Value::Null
                    } else {
                        Value::Scalar { text, quoted }
                    };
                self.written += 1;
                self.push_value(at(value), anchor, 1);
            }
            Event::SequenceStart(anchor, _) => {
                self.written += 1;
                let start = self.written + self.aliased;
                self.stack
                    .push((at(Value::Seq(vec![])), anchor, None, start))
            }
            Event::MappingStart(anchor, _) => {
                self.written += 1;
                let start = self.written + self.aliased;
                self.stack
                    .push((at(Value::Map(vec![])), anchor, None, start))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, anchor, _, start)) = self.stack.pop() {
                    let size = self.written + self.aliased - start + 1;
                    self.push_value(node, anchor, size);
                }
            }
            Event::Alias(id) => {
                let (node, size) = self
                    .anchors
                    .get(&id)
                    .map(|(n, size)| (Some(n), *size))
                    .unwrap_or((None, 1));
                let allowed =
                    MAX_ALIAS_NODES.saturating_add(self.written.saturating_mul(ALIAS_RATIO));
                if self.aliased.saturating_add(size) > allowed {
                    self.refused = Some(refuse(format!(
                        "its aliases expand to more than {allowed} nodes (a YAML \"billion laughs\"); tern does not expand them"
                    )));
                    return;
                }
                let node = node.cloned().unwrap_or_else(|| at(Value::Null));
                self.aliased += size;
                self.push_value(node, 0, size);
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
    fn alias_bombs_are_refused_within_the_limit() {
        // Nine levels of nine aliases: 387 million nodes if expanded.
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = load_all(&text).unwrap_err();
        assert!(e.too_large, "{e}");
        assert!(e.message.contains("aliases"), "{e}");
        // An ordinary use of anchors (shared defaults) is fine.
        let doc = load_one("d: &d {a: 1, b: 2}\nx: *d\ny: *d\nz: [*d, *d]\n").unwrap();
        assert_eq!(
            doc.get("z").unwrap().as_seq().unwrap()[1]
                .get("b")
                .unwrap()
                .as_u64(),
            Some(2)
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}{}", "[".repeat(MAX_DEPTH + 5), "]".repeat(MAX_DEPTH + 5));
        let e = load_all(&text).unwrap_err();
        assert!(e.too_large && e.message.contains("nested"), "{e}");
        let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(load_all(&ok).is_ok());
        let far = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(load_all(&far).unwrap_err().too_large);
        assert!(load_all(&ok).is_ok());
    }

    #[test]
    fn a_byte_order_mark_is_not_content() {
        let doc = load_one("\u{feff}version: 1\nid: x\n").unwrap();
        assert_eq!(doc.get("version").unwrap().as_u64(), Some(1));
        // Offsets still count the mark: `x` is the 17th character.
        assert_eq!(doc.get("id").unwrap().index, 16);
    }

    #[test]
    fn nulls_and_aliases() {
        let doc = load_one("a: &x {k: v}\nb: *x\nc:\nd: ~\n").unwrap();
        assert_eq!(doc.get("b").unwrap().get("k").unwrap().as_str(), Some("v"));
        assert!(doc.get("c").unwrap().is_null());
        assert!(doc.get("d").unwrap().is_null());
    }
}
