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

use std::ops::Range;

use tern_spec::LocatorKind;

use crate::name::follow_case;
use crate::rules::Rules;
use crate::text::{self, Match};
use crate::{Edit, Finding, Language, Outcome};

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

/// Which parser a file is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Yaml,
    Json,
    Toml,
    Hocon,
    Properties,
    Hcl,
}

/// The configuration module.
pub struct ConfigModule;

fn format_of(path: &str) -> Option<Format> {
    let ext = path
        .rsplit_once('.')
        .map_or("", |(_, e)| e)
        .to_ascii_lowercase();
    Some(match ext.as_str() {
        "yaml" | "yml" => Format::Yaml,
        "json" => Format::Json,
        "toml" => Format::Toml,
        "conf" | "hocon" => Format::Hocon,
        "properties" => Format::Properties,
        "tf" | "tfvars" | "hcl" => Format::Hcl,
        _ => return None,
    })
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
        let trees = match format {
            Format::Yaml => yaml(src),
            Format::Json => json::parse(src).into_iter().collect(),
            Format::Toml => toml(src).into_iter().collect(),
            Format::Hocon => hocon::parse(src).into_iter().collect(),
            Format::Properties => vec![properties(src)],
            Format::Hcl => hcl(src).into_iter().collect(),
        };
        let mut cx = Cx {
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
        if format == Format::Yaml {
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

/// Keys that name a dataset's file format.
pub(crate) const FORMAT_KEYS: &[&str] = &[
    "format",
    "file_format",
    "fileformat",
    "file-format",
    "input_format",
    "inputformat",
    "storage_format",
];
/// Keys that name a table's database, schema or BigQuery dataset.
const DB_KEYS: &[&str] = &[
    "database",
    "db",
    "schema",
    "dataset",
    "dataset_id",
    "datasetid",
    "dataset-id",
];
/// Keys that name a table.
const TABLE_KEYS: &[&str] = &[
    "table",
    "table_id",
    "tableid",
    "table_name",
    "tablename",
    "table-id",
    "table-name",
];
/// Keys that name a BigQuery project.
const PROJECT_KEYS: &[&str] = &["project", "project_id", "projectid", "project-id"];

struct Cx<'a> {
    rules: &'a Rules,
    src: &'a [u8],
    /// Values whose SQL the SQL module rewrote: text edits inside give way.
    replaced: Vec<Range<usize>>,
    schema: crate::SchemaCheck,
    matches: &'a [Match],
    edits: Vec<Edit>,
    findings: Vec<(usize, String)>,
}

fn scalar(t: &Tree) -> Option<(&str, Option<&Range<usize>>)> {
    match t {
        Tree::Scalar { text, range, .. } => Some((text.as_str(), range.as_ref())),
        _ => None,
    }
}

fn key_in(key: &str, set: &[&str]) -> bool {
    set.iter().any(|k| key.eq_ignore_ascii_case(k))
}

impl Cx<'_> {
    fn holds_locator(&self, t: &Tree) -> bool {
        let inside = |r: &Range<usize>| {
            self.matches.iter().any(|m| {
                m.range.start >= r.start
                    && m.range.end <= r.end
                    && self.rules.locators()[m.locator].kind != LocatorKind::Entity
            })
        };
        match t {
            Tree::Scalar { range: Some(r), .. } => inside(r),
            Tree::Seq(items) => items
                .iter()
                .any(|i| matches!(i, Tree::Scalar { range: Some(r), .. } if inside(r))),
            _ => false,
        }
    }

    /// Rule 5 in values: a scalar that holds SQL naming a locator (a
    /// scheduled query's `query: |`, a check's `sql`) goes to the SQL module,
    /// whose edits replace the text edits inside it.
    fn sql_values(&mut self, t: &Tree) {
        match t {
            Tree::Map(entries) => entries.iter().for_each(|(_, v)| self.sql_values(v)),
            Tree::Seq(items) => items.iter().for_each(|v| self.sql_values(v)),
            Tree::Scalar {
                text,
                value: Some((at, quoting)),
                ..
            } => self.sql_value(text, *at, *quoting),
            Tree::Template(value, quoting) => self.sql_mapped(value, *quoting),
            Tree::Scalar { .. } | Tree::Other => {}
        }
    }

    fn sql_value(&mut self, text: &str, at: usize, quoting: Quoting) {
        if !text.is_empty() && !self.matches.iter().any(|m| m.range.start >= at) {
            return;
        }
        let value = match align(self.src, at, text, quoting) {
            Ok(v) => v,
            Err(stop) => {
                let span = at..stop;
                if self.names_locator(&span)
                    && crate::sql::holds_sql(self.rules, text.as_bytes(), false)
                {
                    self.replaced.push(span);
                    self.findings.push((
                        at,
                        "this value holds SQL written with escapes tern cannot map back; left whole, table name included".to_string(),
                    ));
                }
                return;
            }
        };
        self.sql_mapped(&value, quoting);
    }

    fn sql_mapped(&mut self, value: &crate::mapped::Mapped, quoting: Quoting) {
        if !self.names_locator(&value.span)
            || !crate::sql::holds_sql(self.rules, value.text.as_bytes(), false)
        {
            return;
        }
        self.replaced.push(value.span.clone());
        let out =
            crate::mapped::rewrite_sql(self.rules, self.src, value, |_, r| encode(quoting, r));
        self.edits.extend(out.edits);
        self.findings.extend(out.findings);
        self.schema.checked += out.schema.checked;
        self.schema.failures.extend(out.schema.failures);
    }

    fn names_locator(&self, span: &Range<usize>) -> bool {
        self.matches.iter().any(|m| {
            m.range.start >= span.start
                && m.range.end <= span.end
                && self.rules.locators()[m.locator].kind != LocatorKind::Entity
        })
    }

    fn walk(&mut self, t: &Tree) {
        match t {
            Tree::Map(entries) => {
                self.mapping(entries);
                for (_, v) in entries {
                    self.walk(v);
                }
            }
            Tree::Seq(items) => items.iter().for_each(|i| self.walk(i)),
            _ => {}
        }
    }

    fn edit(&mut self, range: &Range<usize>, written: &str, old: &str, new: &str, exact: bool) {
        self.edits.push(Edit {
            range: range.clone(),
            replacement: follow_case(written, old, new, exact),
        });
    }

    fn mapping(&mut self, entries: &[(String, Tree)]) {
        // Rule 4: the format beside a locator.
        if let Some(f) = self.rules.format().cloned() {
            if entries.iter().any(|(_, v)| self.holds_locator(v)) {
                for (k, v) in entries {
                    if let Some((text, Some(r))) = scalar(v) {
                        if key_in(k, FORMAT_KEYS) && text.eq_ignore_ascii_case(&f.old) {
                            self.edit(r, text, &f.old, &f.new, false);
                        }
                    }
                }
            }
        }
        // Rule 7: a database and a table given apart.
        let find = |set: &[&str]| {
            entries
                .iter()
                .find(|(k, _)| key_in(k, set))
                .and_then(|(_, v)| scalar(v))
        };
        let (Some((db, Some(db_r))), Some((table, Some(table_r)))) =
            (find(DB_KEYS), find(TABLE_KEYS))
        else {
            return;
        };
        let project = find(PROJECT_KEYS);
        let locators: Vec<_> = self
            .rules
            .locators()
            .iter()
            .filter(|l| l.kind == LocatorKind::Table)
            .cloned()
            .collect();
        for l in locators {
            let n = l.old_parts.len();
            if n < 2 || l.new_parts.len() != n {
                continue;
            }
            let exact = l.is_bigquery();
            let same = |a: &str, b: &str| l.same_name(a, b);
            if !same(db, &l.old_parts[n - 2]) || !same(table, &l.old_parts[n - 1]) {
                continue;
            }
            if n == 3 {
                match project {
                    Some((p, Some(pr))) if same(p, &l.old_parts[0]) => {
                        let pr = pr.clone();
                        self.edit(&pr, p, &l.old_parts[0], &l.new_parts[0], true);
                    }
                    Some(_) => continue,
                    None => {
                        self.findings.push((
                            db_r.start,
                            format!("`{db}` and `{table}` name {} without its project, resting on a default project; check it by hand", l.old),
                        ));
                        return;
                    }
                }
            }
            let (db_r, table_r) = (db_r.clone(), table_r.clone());
            self.edit(&db_r, db, &l.old_parts[n - 2], &l.new_parts[n - 2], exact);
            self.edit(
                &table_r,
                table,
                &l.old_parts[n - 1],
                &l.new_parts[n - 1],
                exact,
            );
            return;
        }
    }
}

/// Inserts `value` at a dotted key path, merging with an existing mapping of
/// the same name, so `a.path` and `a.format` are siblings.
/// The value `text` read back from `src` from its content start `at`: each
/// byte of the value paired with the source bytes it was written as. Only
/// whitespace is skipped (indentation, folded line breaks); any other
/// difference stops it, and `Err` says where.
fn align(
    src: &[u8],
    at: usize,
    text: &str,
    quoting: Quoting,
) -> Result<crate::mapped::Mapped, usize> {
    let mut b = crate::mapped::Builder::default();
    let end = align_into(&mut b, src, at, text, quoting)?;
    b.piece(0);
    b.finish(at..end).ok_or(end)
}

/// [`align`] into a builder that may hold other parts; returns where the
/// value ends in `src`.
fn align_into(
    b: &mut crate::mapped::Builder,
    src: &[u8],
    at: usize,
    text: &str,
    quoting: Quoting,
) -> Result<usize, usize> {
    let value = text.as_bytes();
    let escapes = matches!(quoting, Quoting::Escaped { .. });
    let properties = quoting == Quoting::Properties;
    let (mut i, mut k) = (at, 0);
    while k < value.len() {
        let v = value[k];
        let here = src.get(i).copied();
        if escapes && here == Some(b'\\') {
            // YAML's escaped line break: nothing of the value.
            if src.get(i + 1) == Some(&b'\n') {
                i += 2;
                while src.get(i).is_some_and(|c| matches!(c, b' ' | b'\t')) {
                    i += 1;
                }
                continue;
            }
            let (len, c) = escape_at(src, i).ok_or(i)?;
            k = push_escape(b, value, k, c, i..i + len)?;
            i += len;
            continue;
        }
        if properties && here == Some(b'\\') {
            // A line continued with `\`: the break and the next line's
            // indentation are nothing of the value.
            let mut j = i + 1;
            if src.get(j) == Some(&b'\r') {
                j += 1;
            }
            if src.get(j) == Some(&b'\n') {
                i = j + 1;
                while src.get(i).is_some_and(|c| matches!(c, b' ' | b'\t')) {
                    i += 1;
                }
                continue;
            }
            let (len, c) = match src.get(i + 1) {
                Some(b'u') => escape_at(src, i).ok_or(i)?,
                Some(b't') => (2, '\t'),
                Some(b'n') => (2, '\n'),
                Some(b'r') => (2, '\r'),
                Some(b'f') => (2, '\u{c}'),
                Some(c) if c.is_ascii() => (2, *c as char),
                _ => return Err(i),
            };
            k = push_escape(b, value, k, c, i..i + len)?;
            i += len;
            continue;
        }
        if quoting == Quoting::Doubled && v == b'\'' {
            if src.get(i..i + 2) != Some(b"''") {
                return Err(i);
            }
            b.push(v, i..i + 2);
            (i, k) = (i + 2, k + 1);
            continue;
        }
        let ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
        if ws(v) {
            if !here.is_some_and(ws) {
                return Err(i);
            }
        } else {
            while src.get(i).copied().is_some_and(ws) {
                i += 1;
            }
            if src.get(i) != Some(&v) {
                return Err(i);
            }
        }
        b.push(v, i..i + 1);
        (i, k) = (i + 1, k + 1);
    }
    Ok(i)
}

/// The character escape `from` stands for, as the value's next bytes at
/// `k`; returns where the value goes on, or `Err` where they differ.
fn push_escape(
    b: &mut crate::mapped::Builder,
    value: &[u8],
    k: usize,
    c: char,
    from: Range<usize>,
) -> Result<usize, usize> {
    let mut buf = [0; 4];
    let enc = c.encode_utf8(&mut buf).as_bytes();
    if value.get(k..k + enc.len()) != Some(enc) {
        return Err(from.start);
    }
    for x in enc {
        b.push(*x, from.clone());
    }
    Ok(k + enc.len())
}

/// A backslash escape at `i`: its length and the character it stands for.
fn escape_at(src: &[u8], i: usize) -> Option<(usize, char)> {
    let hex = |n: usize| {
        let h = std::str::from_utf8(src.get(i + 2..i + 2 + n)?).ok()?;
        char::from_u32(u32::from_str_radix(h, 16).ok()?).map(|c| (n + 2, c))
    };
    Some(match src.get(i + 1)? {
        b'n' => (2, '\n'),
        b't' => (2, '\t'),
        b'r' => (2, '\r'),
        b'\\' => (2, '\\'),
        b'"' => (2, '"'),
        b'/' => (2, '/'),
        b'\'' => (2, '\''),
        b' ' => (2, ' '),
        b'x' => hex(2)?,
        b'u' => hex(4)?,
        b'U' => hex(8)?,
        _ => return None,
    })
}

/// `replacement` written in the value's quoting, or `None` when it cannot
/// be: a line break, a quote a literal string cannot hold, a `: ` or ` #`
/// that would end a bare YAML scalar.
fn encode(quoting: Quoting, replacement: &str) -> Option<String> {
    if replacement.contains('\n') {
        return None;
    }
    Some(match quoting {
        Quoting::Escaped { .. } => replacement.replace('\\', "\\\\").replace('"', "\\\""),
        Quoting::Doubled => replacement.replace('\'', "''"),
        Quoting::Literal { quote, .. } => {
            if replacement.contains(quote as char) {
                return None;
            }
            replacement.to_string()
        }
        Quoting::Bare => {
            if replacement.contains(": ")
                || replacement.contains(" #")
                || replacement.contains('\\')
            {
                return None;
            }
            replacement.to_string()
        }
        Quoting::Properties => replacement.replace('\\', "\\\\"),
    })
}

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

fn yaml(src: &str) -> Vec<Tree> {
    let Ok(docs) = tern_yaml::load_all(src) else {
        return vec![];
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
    docs.iter().map(|d| conv(d, src, &byte)).collect()
}

fn toml(src: &str) -> Option<Tree> {
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

fn hcl(src: &str) -> Option<Tree> {
    use hcl_edit::expr::Expression;
    use hcl_edit::structure::{Body, Structure};
    use hcl_edit::Span;
    let body = hcl_edit::parser::parse_body(src).ok()?;
    fn expr(e: &Expression, src: &str) -> Tree {
        match e {
            Expression::String(s) => {
                let text = s.value().to_string();
                let range = s.span().and_then(|sp| {
                    let r = sp.start + 1..sp.end.checked_sub(1)?;
                    (src.get(r.clone())? == text).then_some(r)
                });
                let value = s
                    .span()
                    .map(|sp| (sp.start + 1, Quoting::Escaped { triple: false }));
                Tree::Scalar { text, range, value }
            }
            Expression::Array(a) => Tree::Seq(a.iter().map(|v| expr(v, src)).collect()),
            Expression::Object(o) => Tree::Map(
                o.iter()
                    .map(|(k, v)| {
                        let key = match k {
                            hcl_edit::expr::ObjectKey::Ident(i) => i.value().to_string(),
                            hcl_edit::expr::ObjectKey::Expression(Expression::String(s)) => {
                                s.value().to_string()
                            }
                            hcl_edit::expr::ObjectKey::Expression(_) => String::new(),
                        };
                        (key, expr(v.expr(), src))
                    })
                    .collect(),
            ),
            Expression::Parenthesis(p) => expr(p.inner(), src),
            Expression::StringTemplate(t) => template(t, src, Quoting::Escaped { triple: false }),
            Expression::HeredocTemplate(h) => template(&h.template, src, Quoting::Bare),
            _ => Tree::Other,
        }
    }
    /// A template's value: literals read back byte by byte, each
    /// interpolation and directive masked.
    fn template(t: &hcl_edit::template::Template, src: &str, quoting: Quoting) -> Tree {
        use hcl_edit::template::Element;
        let mut b = crate::mapped::Builder::default();
        let (mut start, mut end) = (usize::MAX, 0);
        for e in t.iter() {
            let Some(span) = e.span() else {
                return Tree::Other;
            };
            start = start.min(span.start);
            end = end.max(span.end);
            match e {
                Element::Literal(l) => {
                    let from = b.len();
                    if align_into(&mut b, src.as_bytes(), span.start, l.value(), quoting).is_err() {
                        return Tree::Other;
                    }
                    b.piece(from);
                }
                Element::Interpolation(_) | Element::Directive(_) => b.mask(src.as_bytes(), span),
            }
        }
        match b.finish(start.min(end)..end) {
            Some(m) => Tree::Template(std::sync::Arc::new(m), quoting),
            None => Tree::Other,
        }
    }
    fn body_tree(b: &Body, src: &str) -> Tree {
        Tree::Map(
            b.iter()
                .map(|s| match s {
                    Structure::Attribute(a) => (a.key.value().to_string(), expr(&a.value, src)),
                    Structure::Block(bl) => {
                        (bl.ident.value().to_string(), body_tree(&bl.body, src))
                    }
                })
                .collect(),
        )
    }
    Some(body_tree(&body, src))
}

/// `.properties`: `key=value`, `key: value` or `key value` per line; dotted
/// keys nest, so `input.path` and `input.format` are siblings. Continued
/// lines (a trailing `\`) and escaped values are read but never edited.
fn properties(src: &str) -> Tree {
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

/// JSON with byte spans: serde_json keeps none.
mod json {
    use super::{Quoting, Tree};

    const MAX_DEPTH: usize = 128;

    pub(super) fn parse(src: &str) -> Option<Tree> {
        let mut p = P {
            b: src.as_bytes(),
            i: 0,
        };
        let t = p.value(0)?;
        p.ws();
        (p.i == p.b.len()).then_some(t)
    }

    struct P<'a> {
        b: &'a [u8],
        i: usize,
    }

    impl P<'_> {
        fn ws(&mut self) {
            while self.b.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
                self.i += 1;
            }
        }

        fn eat(&mut self, c: u8) -> Option<()> {
            self.ws();
            (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
        }

        /// A string: its text (escapes decoded) and, when it has no escapes, its content range.
        fn string(&mut self) -> Option<(String, Option<std::ops::Range<usize>>)> {
            self.eat(b'"')?;
            let start = self.i;
            let mut escaped = false;
            loop {
                match *self.b.get(self.i)? {
                    b'"' => break,
                    b'\\' => {
                        escaped = true;
                        self.i += 2;
                    }
                    _ => self.i += 1,
                }
            }
            let raw = std::str::from_utf8(self.b.get(start..self.i)?).ok()?;
            self.i += 1;
            if escaped {
                let text: String = serde_json_like_unescape(raw)?;
                Some((text, None))
            } else {
                Some((raw.to_string(), Some(start..start + raw.len())))
            }
        }

        fn value(&mut self, depth: usize) -> Option<Tree> {
            if depth > MAX_DEPTH {
                return None;
            }
            self.ws();
            match *self.b.get(self.i)? {
                b'{' => {
                    self.i += 1;
                    let mut entries = Vec::new();
                    if self.eat(b'}').is_some() {
                        return Some(Tree::Map(entries));
                    }
                    loop {
                        self.ws();
                        let (k, _) = self.string()?;
                        self.eat(b':')?;
                        let v = self.value(depth + 1)?;
                        entries.push((k, v));
                        if self.eat(b',').is_some() {
                            continue;
                        }
                        self.eat(b'}')?;
                        return Some(Tree::Map(entries));
                    }
                }
                b'[' => {
                    self.i += 1;
                    let mut items = Vec::new();
                    if self.eat(b']').is_some() {
                        return Some(Tree::Seq(items));
                    }
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b',').is_some() {
                            continue;
                        }
                        self.eat(b']')?;
                        return Some(Tree::Seq(items));
                    }
                }
                b'"' => {
                    let at = self.i + 1;
                    let (text, range) = self.string()?;
                    Some(Tree::Scalar {
                        text,
                        range,
                        value: Some((at, Quoting::Escaped { triple: false })),
                    })
                }
                c if c == b'-' || c.is_ascii_alphanumeric() => {
                    while self.b.get(self.i).is_some_and(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.')
                    }) {
                        self.i += 1;
                    }
                    Some(Tree::Other)
                }
                _ => None,
            }
        }
    }

    /// Decodes JSON escapes; `None` on a malformed one.
    pub(super) fn serde_json_like_unescape(raw: &str) -> Option<String> {
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(
                        char::from_u32(u32::from_str_radix(&hex, 16).ok()?).unwrap_or('\u{fffd}'),
                    );
                }
                other => out.push(other),
            }
        }
        Some(out)
    }
}

/// HOCON (Typesafe config): objects, arrays, `=`/`:` separators, dotted
/// keys, quoted and unquoted strings, `#` and `//` comments. Substitutions
/// (`${...}`) and includes are read as values nobody edits.
mod hocon {
    use super::{insert, Quoting, Tree};

    const MAX_DEPTH: usize = 128;

    pub(super) fn parse(src: &str) -> Option<Tree> {
        let mut p = P { s: src, i: 0 };
        p.skip();
        let root = if p.peek() == Some(b'{') {
            p.i += 1;
            p.object(0, Some(b'}'))?
        } else {
            p.object(0, None)?
        };
        Some(root)
    }

    struct P<'a> {
        s: &'a str,
        i: usize,
    }

    impl P<'_> {
        fn peek(&self) -> Option<u8> {
            self.s.as_bytes().get(self.i).copied()
        }

        /// Skips whitespace, newlines, commas and comments.
        fn skip(&mut self) {
            loop {
                match self.peek() {
                    Some(c) if c.is_ascii_whitespace() || c == b',' => self.i += 1,
                    Some(b'#') => self.skip_line(),
                    Some(b'/') if self.s.as_bytes().get(self.i + 1) == Some(&b'/') => {
                        self.skip_line()
                    }
                    _ => return,
                }
            }
        }

        fn skip_line(&mut self) {
            while self.peek().is_some_and(|c| c != b'\n') {
                self.i += 1;
            }
        }

        fn object(&mut self, depth: usize, close: Option<u8>) -> Option<Tree> {
            if depth > MAX_DEPTH {
                return None;
            }
            let mut entries = Vec::new();
            loop {
                self.skip();
                match self.peek() {
                    None if close.is_none() => return Some(Tree::Map(entries)),
                    None => return None,
                    Some(c) if Some(c) == close => {
                        self.i += 1;
                        return Some(Tree::Map(entries));
                    }
                    _ => {}
                }
                if self.s[self.i..].starts_with("include ") {
                    self.skip_line();
                    continue;
                }
                let path = self.key()?;
                while self.peek().is_some_and(|c| c == b' ' || c == b'\t') {
                    self.i += 1;
                }
                let value = match self.peek()? {
                    b'{' => {
                        self.i += 1;
                        self.object(depth + 1, Some(b'}'))?
                    }
                    b'=' | b':' => {
                        self.i += 1;
                        if self.s[self.i..].starts_with('=') {
                            self.i += 1; // `+=`
                        }
                        self.value(depth + 1)?
                    }
                    b'+' if self.s[self.i..].starts_with("+=") => {
                        self.i += 2;
                        self.value(depth + 1)?
                    }
                    _ => return None,
                };
                insert(&mut entries, &path, value);
            }
        }

        /// A key path: dotted segments, each quoted or bare.
        fn key(&mut self) -> Option<Vec<String>> {
            let mut path = Vec::new();
            loop {
                if self.peek() == Some(b'"') {
                    let (text, _) = self.quoted()?;
                    path.push(text);
                } else {
                    let start = self.i;
                    while self.peek().is_some_and(|c| {
                        !matches!(
                            c,
                            b'.' | b'='
                                | b':'
                                | b'{'
                                | b'}'
                                | b'"'
                                | b'#'
                                | b','
                                | b'['
                                | b']'
                                | b'+'
                        ) && !c.is_ascii_whitespace()
                    }) {
                        self.i += 1;
                    }
                    if start == self.i {
                        return None;
                    }
                    path.push(self.s[start..self.i].to_string());
                }
                if self.peek() == Some(b'.') {
                    self.i += 1;
                    continue;
                }
                return Some(path);
            }
        }

        fn quoted(&mut self) -> Option<(String, Option<std::ops::Range<usize>>)> {
            if self.s[self.i..].starts_with("\"\"\"") {
                let start = self.i + 3;
                let len = self.s[start..].find("\"\"\"")?;
                self.i = start + len + 3;
                return Some((
                    self.s[start..start + len].to_string(),
                    Some(start..start + len),
                ));
            }
            self.i += 1;
            let start = self.i;
            let mut escaped = false;
            loop {
                match self.peek()? {
                    b'"' => break,
                    b'\\' => {
                        escaped = true;
                        self.i += 2;
                    }
                    b'\n' => return None,
                    _ => self.i += 1,
                }
            }
            let raw = self.s.get(start..self.i)?.to_string();
            self.i += 1;
            Some(if escaped {
                (super::json::serde_json_like_unescape(&raw)?, None)
            } else {
                (raw.clone(), Some(start..start + raw.len()))
            })
        }

        fn value(&mut self, depth: usize) -> Option<Tree> {
            if depth > MAX_DEPTH {
                return None;
            }
            while self.peek().is_some_and(|c| c == b' ' || c == b'\t') {
                self.i += 1;
            }
            match self.peek()? {
                b'{' => {
                    self.i += 1;
                    self.object(depth + 1, Some(b'}'))
                }
                b'[' => {
                    self.i += 1;
                    let mut items = Vec::new();
                    loop {
                        self.skip();
                        if self.peek()? == b']' {
                            self.i += 1;
                            return Some(Tree::Seq(items));
                        }
                        items.push(self.value(depth + 1)?);
                    }
                }
                b'"' => {
                    let triple = self.s[self.i..].starts_with("\"\"\"");
                    let at = self.i + if triple { 3 } else { 1 };
                    let (text, range) = self.quoted()?;
                    self.rest_of_value();
                    let quoting = if triple {
                        Quoting::Literal {
                            quote: b'"',
                            triple,
                        }
                    } else {
                        Quoting::Escaped { triple }
                    };
                    let value = Some((at, quoting));
                    Some(Tree::Scalar { text, range, value })
                }
                _ => {
                    // An unquoted value runs to the end of the line, a comma,
                    // a closing bracket or a comment.
                    let start = self.i;
                    while let Some(c) = self.peek() {
                        // A substitution `${?NAME}` is one piece of the value.
                        if c == b'$' && self.s.as_bytes().get(self.i + 1) == Some(&b'{') {
                            match self.s[self.i..].find('}') {
                                Some(end) => {
                                    self.i += end + 1;
                                    continue;
                                }
                                None => return None,
                            }
                        }
                        if matches!(c, b'\n' | b',' | b'}' | b']' | b'#')
                            || (c == b'/' && self.s.as_bytes().get(self.i + 1) == Some(&b'/'))
                        {
                            break;
                        }
                        self.i += 1;
                    }
                    let raw = self.s[start..self.i].trim_end();
                    if start == self.i {
                        // Nothing here but a terminator: malformed, and
                        // looping on it would never end.
                        return None;
                    }
                    if raw.contains("${") {
                        return Some(Tree::Other);
                    }
                    Some(Tree::Scalar {
                        text: raw.to_string(),
                        range: Some(start..start + raw.len()),
                        value: Some((start, Quoting::Bare)),
                    })
                }
            }
        }

        /// Concatenated parts after a quoted string are read and ignored.
        fn rest_of_value(&mut self) {
            while let Some(c) = self.peek() {
                if matches!(c, b'\n' | b',' | b'}' | b']' | b'#') {
                    break;
                }
                self.i += 1;
            }
        }
    }
}
