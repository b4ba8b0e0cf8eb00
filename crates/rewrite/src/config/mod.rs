//! Configuration files, format-preserving: YAML, JSON, TOML (toml_edit),
//! HOCON and `.properties` (small lexers: no crate keeps their spans), and
//! Terraform HCL (hcl-edit). docs/rules.md rules 4 and 7.
//!
//! Each parser turns its file into the same small [`Tree`] of mappings whose
//! scalars remember the byte range of their content; the rules then work on
//! that tree for every format alike:
//! - a `format: avro` key beside a value that holds a locator changes;
//! - a database (or dataset) key and a table key that together name the
//!   table change together (`database: legacy` + `table: plays`, Terraform
//!   `dataset_id` + `table_id` in one block);
//! - dbt's `sources:` entries and unit tests are the [`crate::dbt`] module's.
//!
//! Locator values themselves are rewritten by the text matcher, which sees
//! every occurrence, in values, keys and comments alike. A file its parser
//! refuses still gets those text edits.
//!
//! One file per idea: the rules on the tree (`rules.rs`), reading a value
//! back byte by byte for SQL held in it (`align.rs`), and one file per
//! format's parser; a new format is a parser file and a row of [`FORMATS`].

use std::ops::Range;

use crate::rules::Rules;
use crate::text;
use crate::{Finding, Language, Outcome};

mod align;
mod hcl;
mod hocon;
mod json;
mod properties;
mod rules;
mod toml;
mod yaml;

pub(crate) use rules::FORMAT_KEYS;

/// A parsed configuration value.
#[derive(Debug, Clone)]
pub(crate) enum Tree {
    /// A string-like value; `range` is its content's bytes when they are
    /// exactly `text` (no escapes), so an edit can be spliced there.
    Scalar {
        text: String,
        range: Option<Range<usize>>,
        /// Where the value's content starts and how it is quoted, when it
        /// can be read back byte by byte (for SQL held in a value).
        value: Option<(usize, Quoting)>,
    },
    /// Entries in file order.
    Map(Vec<(String, Tree)>),
    Seq(Vec<Tree>),
    /// An HCL template (`"...${x}..."`, a heredoc) read as the value it
    /// evaluates to, interpolations masked: only SQL is read from it.
    Template(std::sync::Arc<crate::mapped::Mapped>, Quoting),
    /// Numbers, anything the rules do not read.
    Other,
}

/// How a scalar writes its value, so SQL edits can be written back into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quoting {
    /// `"..."` with backslash escapes (JSON, YAML, TOML basic strings).
    Escaped { triple: bool },
    /// YAML `'...'`: a quote is written twice.
    Doubled,
    /// TOML literal strings, HOCON `"""`: no escapes, so no quote inside.
    Literal { quote: u8, triple: bool },
    /// YAML plain and block scalars, HOCON unquoted values: the bytes are
    /// the value, but for whitespace.
    Bare,
    /// `.properties` values: backslash escapes, lines continued with `\`.
    Properties,
}

/// A file's trees, or why it is not read at all.
pub(super) type Parsed = Result<Vec<Tree>, Refused>;

/// A file that parses but must not be read: past a parser's limits (a YAML
/// alias bomb). Nothing in it is changed, and the file is a finding.
pub(super) struct Refused {
    /// 1-based line the parser stopped at.
    pub line: usize,
    pub reason: String,
}

/// One configuration format: the file names it claims and its parser.
struct Format {
    /// Extensions, lower case.
    extensions: &'static [&'static str],
    /// Every document of the file as a tree; none when it does not parse.
    parse: fn(&str) -> Parsed,
    /// dbt's schema files are YAML: the dbt module reads them too.
    dbt: bool,
}

/// The formats, one row each.
const FORMATS: &[Format] = &[
    Format {
        extensions: &["yaml", "yml"],
        parse: yaml::parse,
        dbt: true,
    },
    Format {
        extensions: &["json"],
        parse: json::parse,
        dbt: false,
    },
    Format {
        extensions: &["toml"],
        parse: toml::parse,
        dbt: false,
    },
    Format {
        extensions: &["conf", "hocon"],
        parse: hocon::parse,
        dbt: false,
    },
    Format {
        extensions: &["properties"],
        parse: properties::parse,
        dbt: false,
    },
    Format {
        extensions: &["tf", "tfvars", "hcl"],
        parse: hcl::parse,
        dbt: false,
    },
];

/// The configuration module.
pub struct ConfigModule;

fn format_of(path: &str) -> Option<&'static Format> {
    let ext = path
        .rsplit_once('.')
        .map_or("", |(_, e)| e)
        .to_ascii_lowercase();
    FORMATS
        .iter()
        .find(|f| f.extensions.contains(&ext.as_str()))
}

impl Language for ConfigModule {
    fn name(&self) -> &'static str {
        "config"
    }

    fn claims(&self, path: &str) -> bool {
        format_of(path).is_some()
    }

    fn rewrite(&self, rules: &Rules, path: &str, bytes: &[u8]) -> Outcome {
        let found = text::find(rules, bytes);
        let mut out = found.outcome(bytes);
        let (Some(format), Ok(src)) = (format_of(path), std::str::from_utf8(bytes)) else {
            return out;
        };
        let trees = match (format.parse)(src) {
            Ok(trees) => trees,
            // Nothing to say about a file that does not name the dataset.
            Err(_) if found.matches.is_empty() && found.unresolved.is_empty() => return out,
            Err(why) => {
                let at = line_start(src, why.line);
                return Outcome {
                    findings: vec![Finding::at(bytes, at, why.reason)],
                    ..Outcome::default()
                };
            }
        };
        let mut cx = rules::Cx {
            rules,
            src: bytes,
            replaced: vec![],
            schema: crate::SchemaCheck::default(),
            matches: &found.matches,
            edits: vec![],
            findings: vec![],
        };
        for t in &trees {
            cx.sql_values(t);
            cx.walk(t);
        }
        let replaced = std::mem::take(&mut cx.replaced);
        out.edits.retain(|e| {
            !replaced
                .iter()
                .any(|r| r.start <= e.range.start && e.range.end <= r.end)
        });
        out.schema = std::mem::take(&mut cx.schema);
        if format.dbt {
            crate::dbt::yml(rules, src, &mut out);
        }
        out.edits.extend(cx.edits);
        out.findings.extend(
            cx.findings
                .into_iter()
                .map(|(at, reason)| Finding::at(bytes, at, reason)),
        );
        out
    }
}

/// The byte offset where 1-based `line` starts (the end, past the last).
fn line_start(src: &str, line: usize) -> usize {
    if line <= 1 {
        return 0;
    }
    src.match_indices('\n')
        .nth(line - 2)
        .map_or(src.len(), |(i, _)| i + 1)
}

/// Inserts `value` at a dotted key path, merging with an existing mapping of
/// the same name, so `a.path` and `a.format` are siblings.
fn insert(entries: &mut Vec<(String, Tree)>, path: &[String], value: Tree) {
    match path {
        [] => {}
        [last] => entries.push((last.clone(), value)),
        [first, rest @ ..] => {
            if let Some((_, Tree::Map(m))) = entries
                .iter_mut()
                .rev()
                .find(|(k, v)| k == first && matches!(v, Tree::Map(_)))
            {
                insert(m, rest, value);
            } else {
                let mut m = Vec::new();
                insert(&mut m, rest, value);
                entries.push((first.clone(), Tree::Map(m)));
            }
        }
    }
}

/// The content range of a scalar whose written form starts at byte `at`.
pub(crate) fn content_at(src: &str, at: usize, text: &str) -> Option<Range<usize>> {
    let b = src.as_bytes();
    let start = match b.get(at)? {
        b'"' | b'\'' => at + 1,
        _ => at,
    };
    (src.get(start..start + text.len())? == text).then_some(start..start + text.len())
}
