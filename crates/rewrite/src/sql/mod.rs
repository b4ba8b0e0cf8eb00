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
mod columns;
mod format;
mod forms;
mod parse;
mod scope;

use std::ops::Range;

use sqlparser::ast::Visit;
use sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace};
use tern_spec::LocatorKind;

use crate::name::follow_case;
use crate::rules::Rules;
use crate::text::{self, Match};
use crate::{Edit, Finding, Language, Outcome};
pub(crate) use columns::rename_in_expression;
use columns::{columns, quoted};
use format::format_edits;
use parse::{parse_all, Lines};
use scope::{use_db, Mode, TargetNames, Walk};

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
