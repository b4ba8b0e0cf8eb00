//! SQL: table and path locators, format clauses, and column renames resolved
//! by scope (docs/rules.md rules 4, 5 and 8), with sqlparser's tokenizer and parser.
//!
//! The parser only tells us *where* things are: every edit is a splice into
//! the original text at a span sqlparser reports, so comments, spacing and
//! keyword case survive. Table and path locators come from the boundary-aware
//! text matcher, run over the same text, so a name is matched the same way in
//! SQL as everywhere else; the parse adds what text cannot know: which column
//! belongs to which table, which statement a `WITH ('format' = ...)` belongs
//! to, and where a `SELECT *` makes a rename unsafe. A statement the parser
//! cannot read keeps its locator edits and gets a finding instead of a guess
//! at its columns.

mod check;
mod forms;
mod scope;

use std::ops::Range;

use sqlparser::ast::{Ident, Statement, Visit};
use sqlparser::dialect::{
    BigQueryDialect, DatabricksDialect, Dialect, GenericDialect, HiveDialect,
};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer, Whitespace};
use tern_spec::LocatorKind;

use crate::name::follow_case;
use crate::rules::Rules;
use crate::text::{self, Match};
use crate::{Edit, Finding, Language, Outcome};
use scope::{use_db, Analysis, Bind, Known, Mode, Rel, TargetNames, Walk};

/// SQL scripts, Hive and Spark queries and Flink DDL; dbt models are the
/// dbt module's, which reads them through this one.
pub struct SqlModule;

impl Language for SqlModule {
    fn name(&self) -> &'static str {
        "sql"
    }

    fn claims(&self, path: &str) -> bool {
        let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
        ["sql", "hql", "q", "ddl"]
            .iter()
            .any(|e| ext.eq_ignore_ascii_case(e))
    }

    fn rewrite(&self, rules: &Rules, path: &str, text: &[u8]) -> Outcome {
        let Ok(sql) = std::str::from_utf8(text) else {
            return crate::TextModule.rewrite(rules, path, text);
        };
        rewrite_sql(rules, sql, &[])
    }
}

/// Parsers tried in order; the first that reads every statement wins.
fn dialects() -> [Box<dyn Dialect>; 4] {
    [
        Box::new(GenericDialect {}),
        Box::new(BigQueryDialect {}),
        Box::new(HiveDialect {}),
        Box::new(DatabricksDialect {}),
    ]
}

/// The column renames in a filter expression (a BigQuery Storage read's
/// `rowRestriction`): each unqualified column word naming an old column,
/// as byte-range edits of `expr`. `None` when the expression cannot be read.
pub(crate) fn rename_in_expression(rules: &Rules, expr: &str) -> Option<Vec<crate::Edit>> {
    let tokens = Tokenizer::new(&BigQueryDialect {}, expr)
        .tokenize_with_location()
        .ok()?;
    let lines = Lines::new(expr);
    let solid: Vec<&TokenWithSpan> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let mut edits = Vec::new();
    for (i, t) in solid.iter().enumerate() {
        let Token::Word(w) = &t.token else { continue };
        if !matches!(w.quote_style, None | Some('`')) {
            continue;
        }
        let qualified = i > 0 && solid[i - 1].token == Token::Period;
        let called = solid.get(i + 1).is_some_and(|n| n.token == Token::LParen);
        if qualified || called {
            continue;
        }
        let Some((_, new)) = rules
            .columns()
            .iter()
            .find(|(old, _)| old.eq_ignore_ascii_case(&w.value))
        else {
            continue;
        };
        let r = lines.range(t.span)?;
        let replacement = match w.quote_style {
            Some(q) => format!("{q}{new}{q}"),
            None => new.clone(),
        };
        edits.push(crate::Edit {
            range: r,
            replacement,
        });
    }
    Some(edits)
}

/// Converts sqlparser's 1-based (line, character column) locations to byte offsets.
pub(super) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(super) fn new(text: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Lines { text, starts }
    }

    fn offset(&self, loc: Location) -> Option<usize> {
        let line = usize::try_from(loc.line).ok()?.checked_sub(1)?;
        let col = usize::try_from(loc.column).ok()?.checked_sub(1)?;
        let start = *self.starts.get(line)?;
        let rest = &self.text[start..];
        // Only the characters before the column decide whether chars are bytes.
        if rest.as_bytes()[..col.min(rest.len())].is_ascii() {
            return (col <= rest.len()).then_some(start + col);
        }
        match rest.char_indices().nth(col) {
            Some((i, _)) => Some(start + i),
            None => (rest.chars().count() == col).then_some(self.text.len()),
        }
    }

    /// A span as a byte range; sqlparser's end location is one past the last character.
    pub(super) fn range(&self, span: Span) -> Option<Range<usize>> {
        if span.start.line == 0 {
            return None;
        }
        let (s, e) = (self.offset(span.start)?, self.offset(span.end)?);
        (s <= e).then_some(s..e)
    }
}

/// One statement's tokens and byte range.
struct Stmt {
    tokens: Vec<TokenWithSpan>,
    range: Range<usize>,
}

fn split(lines: &Lines, tokens: Vec<TokenWithSpan>) -> Vec<Stmt> {
    let mut out = Vec::new();
    let mut cur: Vec<TokenWithSpan> = Vec::new();
    let flush = |cur: &mut Vec<TokenWithSpan>, out: &mut Vec<Stmt>| {
        let significant: Vec<_> = cur
            .iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .collect();
        if let (Some(f), Some(l)) = (significant.first(), significant.last()) {
            if let (Some(a), Some(b)) = (lines.range(f.span), lines.range(l.span)) {
                out.push(Stmt {
                    tokens: std::mem::take(cur),
                    range: a.start..b.end,
                });
            }
        }
        cur.clear();
    };
    for t in tokens {
        match t.token {
            Token::SemiColon => flush(&mut cur, &mut out),
            Token::EOF => {}
            _ => cur.push(t),
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// A statement that parsed, or why not.
type Parsed = Result<Statement, String>;

/// Splits and parses `sql` with the first dialect that reads every statement
/// (else the one that reads most); also says which dialect that was.
fn parse_all(rules: &Rules, sql: &str, lines: &Lines) -> Option<(Vec<Stmt>, Vec<Parsed>, usize)> {
    let mut best: Option<(Vec<Stmt>, Vec<Parsed>, usize, usize)> = None;
    for (di, d) in dialects().iter().enumerate() {
        let Ok(tokens) = Tokenizer::new(d.as_ref(), sql).tokenize_with_location() else {
            continue;
        };
        let stmts = split(lines, tokens);
        let parsed: Vec<Parsed> = stmts
            .iter()
            .map(|s| {
                let only_comments = s
                    .tokens
                    .iter()
                    .all(|t| matches!(t.token, Token::Whitespace(_)));
                if only_comments {
                    return Err(String::new());
                }
                let tokens = forms::reduce(rules, s.tokens.clone())?;
                let mut p = Parser::new(d.as_ref()).with_tokens_with_locations(tokens);
                match p.parse_statements() {
                    Ok(mut v) if v.len() == 1 => Ok(v.remove(0)),
                    Ok(_) => Err("more than one statement".into()),
                    Err(e) => Err(e.to_string()),
                }
            })
            .collect();
        let failed = parsed.iter().filter(|p| p.is_err()).count();
        if best.as_ref().is_none_or(|b| failed < b.2) {
            best = Some((stmts, parsed, failed, di));
        }
        if failed == 0 {
            break;
        }
    }
    best.map(|(s, p, _, d)| (s, p, d))
}

/// Whether a match is of a one-part table locator (`customer`), which SQL
/// text alone cannot tell from a column or an alias of the same name.
fn one_part(rules: &Rules, m: &Match) -> bool {
    let l = &rules.locators()[m.locator];
    l.kind == LocatorKind::Table && l.old_parts.len() == 1
}

fn is_table(rules: &Rules, m: &Match) -> bool {
    rules.locators()[m.locator].kind == LocatorKind::Table
}

fn inside(r: &Range<usize>, within: &[Range<usize>]) -> bool {
    within.iter().any(|w| w.start <= r.start && r.end <= w.end)
}

/// Byte ranges of a statement's string literals and of its comments.
fn literals_and_comments(
    lines: &Lines,
    tokens: &[TokenWithSpan],
) -> (Vec<Range<usize>>, Vec<Range<usize>>) {
    let (mut lits, mut comments) = (Vec::new(), Vec::new());
    for t in tokens {
        let Some(r) = lines.range(t.span) else {
            continue;
        };
        match &t.token {
            Token::Whitespace(Whitespace::SingleLineComment { .. })
            | Token::Whitespace(Whitespace::MultiLineComment(_)) => comments.push(r),
            Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::TripleSingleQuotedString(_)
            | Token::TripleDoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
            | Token::SingleQuotedRawStringLiteral(_)
            | Token::DoubleQuotedRawStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_) => lits.push(r),
            _ => {}
        }
    }
    (lits, comments)
}

/// In a statement the parser cannot read, a one-part name is taken for the
/// table only right after a keyword that names one.
fn after_table_keyword(sql: &str, at: usize) -> bool {
    let before = sql[..at].trim_end();
    let word = before
        .rsplit(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or("");
    ["FROM", "JOIN", "INTO", "TABLE", "UPDATE", "OVERWRITE"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
}

const LEFT_WHOLE: &str = "left whole, table name included, since its columns could not be checked";

/// Rewrites a whole SQL text; edit ranges are offsets into `sql`. Names lying
/// in `also_migrated` (masked dbt `source()` calls) read the migrated table
/// too; their edits apply with their statement's, or not at all when the
/// statement is left whole.
///
/// Each statement is all or nothing: its edits apply together, and only when
/// every reference is decided and the rewritten statement passes the schema
/// check (rule 11); otherwise it is left whole and reported.
pub(crate) fn rewrite_sql(
    rules: &Rules,
    sql: &str,
    also_migrated: &[(Range<usize>, Vec<Edit>)],
) -> Outcome {
    if let Some((masked, mut also)) = legacy_masked(rules, sql) {
        also.extend(also_migrated.iter().cloned());
        // The masked text keeps every offset and line of the original.
        return rewrite_statements(rules, &masked, &also);
    }
    rewrite_statements(rules, sql, also_migrated)
}

/// A masked name's range and the edits that rename it.
type Masked = (Range<usize>, Vec<Edit>);

/// BigQuery legacy SQL (`#legacySQL` first, tables as `[project:dataset.table]`)
/// as standard SQL sqlparser reads: the directive becomes spaces and each
/// bracketed table an identifier of the same length, which names the
/// migrated table (with the text matcher's edits) when a locator lies in it.
fn legacy_masked(rules: &Rules, sql: &str) -> Option<(String, Vec<Masked>)> {
    let start = sql.len() - sql.trim_start().len();
    let head = sql.get(start..start + 10)?;
    if !head.eq_ignore_ascii_case("#legacysql") {
        return None;
    }
    let mut masked = sql.as_bytes().to_vec();
    let line_end = memchr::memchr(b'\n', &masked[start..]).map_or(masked.len(), |e| start + e);
    masked[start..line_end].fill(b' ');
    let found = text::find(rules, sql.as_bytes());
    let mut also = Vec::new();
    let b = sql.as_bytes();
    let mut i = line_end;
    while let Some(off) = memchr::memchr(b'[', &b[i..]) {
        let open = i + off;
        let len = b[open + 1..]
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || b"_-:.".contains(c)))
            .unwrap_or(b.len() - open - 1);
        let close = open + 1 + len;
        i = open + 1;
        if b.get(close) != Some(&b']')
            || !b[open + 1..close].iter().any(|c| *c == b':' || *c == b'.')
        {
            continue;
        }
        let range = open..close + 1;
        masked[range.clone()].fill(b'_');
        let edits: Vec<Edit> = found
            .matches
            .iter()
            .filter(|m| m.range.start >= range.start && m.range.end <= range.end)
            .flat_map(Match::edits)
            .collect();
        if !edits.is_empty() {
            also.push((range, edits));
        }
        i = close + 1;
    }
    Some((String::from_utf8(masked).ok()?, also))
}

fn rewrite_statements(
    rules: &Rules,
    sql: &str,
    also_migrated: &[(Range<usize>, Vec<Edit>)],
) -> Outcome {
    let bytes = sql.as_bytes();
    let found = text::find(rules, bytes);
    let mut out = Outcome {
        findings: found.outcome(bytes).findings,
        ..Outcome::default()
    };
    let columns_renamed = !rules.columns().is_empty();
    let lines = Lines::new(sql);
    let Some((stmts, parsed, dialect)) = parse_all(rules, sql, &lines) else {
        // Not even tokens.
        if let Some(at) = found
            .matches
            .iter()
            .map(|m| m.range.start)
            .chain(also_migrated.iter().map(|(r, _)| r.start))
            .min()
        {
            if columns_renamed {
                out.findings.push(Finding::at(
                    bytes,
                    at,
                    format!("this SQL could not be read; {LEFT_WHOLE}"),
                ));
                return out;
            }
        }
        for m in &found.matches {
            if one_part(rules, m) && !after_table_keyword(sql, m.range.start) {
                out.findings
                    .push(Finding::at(bytes, m.range.start, unsure_one_part(rules, m)));
            } else {
                out.edits.extend(m.edits());
            }
        }
        out.edits
            .extend(also_migrated.iter().flat_map(|(_, e)| e.clone()));
        return out;
    };
    let mut covered = 0;
    let mut db: Option<String> = None;
    for (stmt, parsed) in stmts.iter().zip(parsed) {
        // Matches between statements (a stray comment) are still rewritten.
        out.edits.extend(
            found
                .matches
                .iter()
                .filter(|m| m.range.start >= covered && m.range.end <= stmt.range.start)
                .flat_map(Match::edits),
        );
        covered = stmt.range.end;
        let (lits, comments) = literals_and_comments(&lines, &stmt.tokens);
        // A table name in a string literal is data (`LIKE '%plays%'`).
        let matches: Vec<Match> = found
            .matches
            .iter()
            .filter(|m| m.range.start >= stmt.range.start && m.range.end <= stmt.range.end)
            .filter(|m| !(is_table(rules, m) && inside(&m.range, &lits)))
            .cloned()
            .collect();
        let also: Vec<&(Range<usize>, Vec<Edit>)> = also_migrated
            .iter()
            .filter(|(r, _)| r.start >= stmt.range.start && r.end <= stmt.range.end)
            .collect();
        let names_dataset = !matches.is_empty() || !also.is_empty();
        let st = match parsed {
            Ok(st) => st,
            Err(why) => {
                if !names_dataset {
                    continue;
                }
                if columns_renamed {
                    out.findings.push(Finding::at(
                        bytes,
                        stmt.range.start,
                        format!(
                            "tern's SQL parser cannot read this statement ({why}); {LEFT_WHOLE}"
                        ),
                    ));
                    continue;
                }
                for m in &matches {
                    if one_part(rules, m)
                        && !inside(&m.range, &comments)
                        && !after_table_keyword(sql, m.range.start)
                    {
                        out.findings.push(Finding::at(
                            bytes,
                            m.range.start,
                            unsure_one_part(rules, m),
                        ));
                    } else {
                        out.edits.extend(m.edits());
                    }
                }
                out.edits.extend(also.iter().flat_map(|(_, e)| e.clone()));
                out.edits
                    .extend(format_edits(rules, sql, &lines, &stmt.tokens));
                continue;
            }
        };
        if let Some(d) = use_db(&st) {
            db = Some(d);
        }
        let also_ranges: Vec<Range<usize>> = also.iter().map(|(r, _)| r.clone()).collect();
        let mut walk = Walk::new(
            sql,
            &lines,
            (rules, rules),
            Mode::Rewrite,
            TargetNames {
                matches: &matches,
                also: &also_ranges,
                db: db.clone(),
            },
        );
        let _ = st.visit(&mut walk);
        let mut a = walk.out;
        let ctes = std::mem::take(&mut a.cte_refs);
        a.relations.retain(|r| !ctes.contains(r));
        // A one-part name is the table only where SQL names a table (or in a comment).
        let matches: Vec<Match> = matches
            .into_iter()
            .filter(|m| {
                !one_part(rules, m) || inside(&m.range, &a.relations) || inside(&m.range, &comments)
            })
            .collect();
        let mut blockers = a.blockers.clone();
        let mut edits: Vec<Edit> = matches.iter().flat_map(Match::edits).collect();
        edits.extend(also.iter().flat_map(|(_, e)| e.clone()));
        for (range, quote, i) in &a.use_names {
            let l = &rules.locators()[*i];
            let written = &sql[range.clone()];
            let new = l
                .new_parts
                .iter()
                .map(|p| quoted(*quote, &follow_case(written, &l.old_parts[1], p, false)))
                .collect::<Vec<_>>()
                .join(".");
            edits.push(Edit {
                range: range.clone(),
                replacement: new,
            });
        }
        columns(rules, sql, &lines, &a, &matches, &mut edits, &mut blockers);
        if !blockers.is_empty() {
            blockers.sort();
            blockers.dedup();
            for (at, why) in &blockers {
                out.findings.push(Finding::at(bytes, *at, why.as_str()));
            }
            continue;
        }
        let reads = names_dataset || a.reads_target;
        if rules.format().is_some() && reads {
            edits.extend(format_edits(rules, sql, &lines, &stmt.tokens));
        }
        if reads && edits.iter().any(|e| sql[e.range.clone()] != e.replacement) {
            let failures = check::statement(
                rules,
                sql,
                stmt.range.clone(),
                &edits,
                &also,
                db.clone(),
                dialect,
            );
            out.schema.checked += 1;
            if !failures.is_empty() {
                for (at, why) in failures {
                    out.schema.failures.push(Finding::at(
                        bytes,
                        at,
                        format!("schema check: {why}; the statement is left whole"),
                    ));
                }
                continue;
            }
        }
        out.edits.extend(edits);
    }
    out.edits.extend(
        found
            .matches
            .iter()
            .filter(|m| m.range.start >= covered)
            .flat_map(Match::edits),
    );
    out
}

fn unsure_one_part(rules: &Rules, m: &Match) -> String {
    format!(
        "`{}` may name the table or a column here, and this statement could not be read to tell; change it by hand",
        rules.locators()[m.locator].old
    )
}

/// The text of a written identifier inside its quotes.
fn unquoted<'s>(written: &'s str, id: &Ident) -> &'s str {
    match id.quote_style {
        Some(_) if written.len() >= 2 => &written[1..written.len() - 1],
        _ => written,
    }
}

fn quoted(quote: Option<char>, s: &str) -> String {
    match quote {
        Some('[') => format!("[{s}]"),
        Some(q) => format!("{q}{s}{q}"),
        None => s.to_string(),
    }
}

/// Renames the column references that bind to the migrated table, and the
/// qualifiers that are its own name; a renamed column tern cannot bind is a
/// blocker.
fn columns(
    rules: &Rules,
    sql: &str,
    lines: &Lines,
    a: &Analysis,
    matches: &[Match],
    edits: &mut Vec<Edit>,
    blockers: &mut Vec<(usize, String)>,
) {
    let known = Known { rules };
    let rename = |id: &Ident, keep_output: Option<bool>, edits: &mut Vec<Edit>| {
        let (Some((old, new)), Some(r)) = (known.renamed(id), lines.range(id.span)) else {
            return;
        };
        let written = &sql[r.clone()];
        // Only splice where the span holds exactly the identifier.
        let inner = unquoted(written, id);
        if !inner.eq_ignore_ascii_case(&id.value) {
            return;
        }
        let mut replacement = quoted(id.quote_style, &follow_case(inner, old, new, false));
        if let Some(lower) = keep_output {
            replacement.push_str(if lower { " as " } else { " AS " });
            replacement.push_str(written);
        }
        edits.push(Edit {
            range: r,
            replacement,
        });
    };
    for c in &a.target_columns {
        rename(c, None, edits);
    }
    let table_parts: Vec<&str> = rules
        .locators()
        .iter()
        .filter(|l| l.kind == LocatorKind::Table)
        .flat_map(|l| l.old_parts.iter().map(String::as_str))
        .collect();
    for r in &a.refs {
        let relevant = r.idents.iter().any(|i| known.renamed(i).is_some())
            || (r.idents.len() > 1
                && table_parts
                    .iter()
                    .any(|p| r.idents[0].value.eq_ignore_ascii_case(p)))
            || (r.idents.len() > 1 && !a.use_names.is_empty());
        if !relevant {
            continue;
        }
        let Some(at) = r.idents.last().and_then(|i| lines.range(i.span)) else {
            continue;
        };
        let (bind, k) = a.bind(&known, Mode::Rewrite, r, &at);
        let col = &r.idents[k];
        let Some(col_at) = lines.range(col.span) else {
            continue;
        };
        match bind {
            Bind::Target(s, rel) => {
                let output = a.outputs.contains(&col_at.start).then_some(s.lower);
                rename(col, output, edits);
                if k > 0 {
                    qualifier(rules, sql, lines, &r.idents[..k], rel, matches, edits);
                }
            }
            Bind::Ambiguous(why) if known.renamed(col).is_some() => {
                blockers.push((col_at.start, why))
            }
            _ => {}
        }
    }
}

/// A qualifier that is the migrated table's own name (`plays.user_id`,
/// `x.a` under `FROM db.x`) follows the table's new name.
fn qualifier(
    rules: &Rules,
    sql: &str,
    lines: &Lines,
    q: &[Ident],
    rel: &Rel,
    matches: &[Match],
    edits: &mut Vec<Edit>,
) {
    let (None, Some(l)) = (&rel.alias, rel.locator) else {
        return;
    };
    let l = &rules.locators()[l];
    let (Some(first), Some(last)) = (
        q.first().and_then(|i| lines.range(i.span)),
        q.last().and_then(|i| lines.range(i.span)),
    ) else {
        return;
    };
    let whole = first.start..last.end;
    if matches
        .iter()
        .any(|m| m.range.start < whole.end && whole.start < m.range.end)
    {
        return; // the text matcher renamed the whole name
    }
    if q.iter()
        .any(|i| i.quote_style.is_some() && i.value.contains('.'))
    {
        return;
    }
    if q.len() <= l.new_parts.len() && q.len() <= l.old_parts.len() {
        for (i, id) in q.iter().enumerate() {
            let Some(r) = lines.range(id.span) else {
                return;
            };
            let old = &l.old_parts[l.old_parts.len() - q.len() + i];
            let new = &l.new_parts[l.new_parts.len() - q.len() + i];
            let inner = unquoted(&sql[r.clone()], id);
            edits.push(Edit {
                range: r,
                replacement: quoted(id.quote_style, &follow_case(inner, old, new, false)),
            });
        }
    } else {
        let written = &sql[whole.clone()];
        edits.push(Edit {
            range: whole,
            replacement: quoted(
                q[0].quote_style,
                &follow_case(written, &l.old, &l.new, false),
            ),
        });
    }
}

/// Format clauses of a statement that reads the migrated dataset: `STORED AS
/// AVRO`, `USING avro`, `'format' = 'avro'`, and Spark's `` avro.`path` ``.
fn format_edits(rules: &Rules, sql: &str, lines: &Lines, tokens: &[TokenWithSpan]) -> Vec<Edit> {
    let Some(f) = rules.format() else {
        return vec![];
    };
    let sig: Vec<&TokenWithSpan> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let word = |i: usize, kw: &str| {
        sig.get(i)
            .is_some_and(|t| matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw)))
    };
    let mut out = Vec::new();
    let mut swap = |t: &TokenWithSpan, quoted: bool| {
        let Some(r) = lines.range(t.span) else {
            return;
        };
        let r = if quoted && r.len() >= 2 {
            r.start + 1..r.end - 1
        } else {
            r
        };
        let written = &sql[r.clone()];
        if written.eq_ignore_ascii_case(&f.old) {
            out.push(Edit {
                range: r,
                replacement: follow_case(written, &f.old, &f.new, false),
            });
        }
    };
    for i in 0..sig.len() {
        let t = sig[i];
        match &t.token {
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(&f.old) => {
                let stored = i >= 2 && word(i - 1, "AS") && word(i - 2, "STORED");
                let using = i >= 1 && word(i - 1, "USING");
                let path_sql = matches!(sig.get(i + 1).map(|t| &t.token), Some(Token::Period))
                    && matches!(sig.get(i + 2).map(|t| &t.token), Some(Token::Word(w)) if w.quote_style == Some('`'));
                if stored || using || path_sql {
                    swap(t, false);
                }
            }
            Token::SingleQuotedString(v) if v.eq_ignore_ascii_case(&f.old) => {
                let key = i >= 2
                    && matches!(sig[i - 1].token, Token::Eq)
                    && matches!(&sig[i - 2].token, Token::SingleQuotedString(k) if is_format_key(k));
                if key {
                    swap(t, true);
                }
            }
            _ => {}
        }
    }
    out
}

/// Option keys that name a table's file format (Flink, Spark `OPTIONS`).
fn is_format_key(k: &str) -> bool {
    ["format", "format.type", "value.format", "source.format"]
        .iter()
        .any(|f| k.eq_ignore_ascii_case(f))
}

/// A statement, or (with `fragments`) a fragment that names one of the
/// rules' tables where SQL names a table: `"FROM legacy.plays "` in code.
pub(crate) fn holds_sql(rules: &Rules, raw: &[u8], fragments: bool) -> bool {
    let Ok(s) = std::str::from_utf8(raw) else {
        return false;
    };
    let head = s.trim_start();
    let word: String = head
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let rest = &head[word.len()..];
    let statement = [
        "select", "with", "insert", "create", "merge", "update", "delete",
    ]
    .iter()
    .any(|k| word.eq_ignore_ascii_case(k))
        && rest.starts_with(|c: char| c.is_whitespace() || c == '(');
    statement
        || fragments
            && text::find(rules, raw).matches.iter().any(|m| {
                rules.locators()[m.locator].kind == LocatorKind::Table
                    && after_table_keyword(s, m.range.start)
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_byte_ranges() {
        let sql = "SELECT é, `b` FROM t";
        let lines = Lines::new(sql);
        let tokens = Tokenizer::new(&GenericDialect {}, sql)
            .tokenize_with_location()
            .unwrap();
        let words: Vec<&str> = tokens
            .iter()
            .filter(|t| matches!(t.token, Token::Word(_)))
            .map(|t| &sql[lines.range(t.span).unwrap()])
            .collect();
        assert_eq!(words, ["SELECT", "é", "`b`", "FROM", "t"]);
    }
}
