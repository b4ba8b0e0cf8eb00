//! SQL: table and path locators, format clauses, and column renames resolved
//! by scope (SPEC §3 rules 4, 5 and 8), with sqlparser's tokenizer and parser.
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

use std::collections::{HashMap, HashSet};
use std::ops::{ControlFlow, Range};

use sqlparser::ast::{
    Expr, Ident, JoinConstraint, JoinOperator, ObjectName, ObjectNamePart, Query, Select,
    SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Spanned, Statement, TableFactor,
    TableObject, TableWithJoins, Use, Visit, Visitor,
};
use sqlparser::dialect::{
    BigQueryDialect, DatabricksDialect, Dialect, GenericDialect, HiveDialect,
};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer};

use crate::name::follow_case;
use crate::rules::Rules;
use crate::text::{self, Match};
use crate::{Edit, Finding, Language, Outcome};

/// SQL scripts, Hive and Spark queries, Flink DDL, and dbt models.
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
        crate::jinja::rewrite_model(rules, sql)
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

/// Converts sqlparser's 1-based (line, character column) locations to byte offsets.
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
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
    fn range(&self, span: Span) -> Option<Range<usize>> {
        if span.start.line == 0 {
            return None;
        }
        let (s, e) = (self.offset(span.start)?, self.offset(span.end)?);
        (s <= e).then_some(s..e)
    }
}

/// One table in a `FROM` clause.
#[derive(Debug)]
struct Rel {
    /// The written name's parts, lower-cased.
    name: Vec<String>,
    alias: Option<String>,
    /// Whether this is the migrated dataset.
    migrated: bool,
}

/// The tables one `SELECT` sees, and where its column references lie.
#[derive(Debug)]
struct Scope {
    /// The query around the select (so `ORDER BY` counts), or the select itself.
    region: Range<usize>,
    /// The select itself, without the query's `ORDER BY` and `LIMIT`.
    select: Range<usize>,
    rels: Vec<Rel>,
    /// Output aliases given with `AS`, lower-cased.
    aliases: HashSet<String>,
    /// Whether the statement writes keywords in lower case.
    lower: bool,
}

/// A column reference: its qualifier (maybe empty) and the column identifier.
#[derive(Debug)]
struct ColRef {
    qualifier: Vec<Ident>,
    column: Ident,
}

/// Everything one parsed statement tells us.
#[derive(Default)]
struct Analysis {
    scopes: Vec<Scope>,
    refs: Vec<ColRef>,
    /// Ident start offsets of bare columns in a select list: they keep their output name.
    outputs: HashSet<usize>,
    /// Offsets of references tern must not rewrite, and why.
    blockers: Vec<(usize, String)>,
    /// Columns of an `INSERT` into the migrated table.
    insert_columns: Vec<Ident>,
    /// Unqualified names of a migrated table resolved through `USE db`: the
    /// name's range, its quote, and the index of the locator it matched.
    use_names: Vec<(Range<usize>, Option<char>, usize)>,
    /// Whether any relation of the statement is the migrated table.
    reads_migrated: bool,
}

struct Walk<'a> {
    sql: &'a str,
    lines: &'a Lines<'a>,
    rules: &'a Rules,
    /// Locator matches of this statement.
    matches: &'a [Match],
    /// Other ranges that name the migrated table.
    also_migrated: &'a [Range<usize>],
    /// `USE db` in force, lower-cased.
    db: Option<String>,
    /// Region of the query whose body is the select starting at this offset.
    query_regions: HashMap<usize, Range<usize>>,
    out: Analysis,
}

fn parts(name: &ObjectName) -> Vec<&Ident> {
    name.0
        .iter()
        .filter_map(|p| match p {
            ObjectNamePart::Identifier(i) => Some(i),
            _ => None,
        })
        .collect()
}

fn lower_parts(name: &ObjectName) -> Vec<String> {
    parts(name)
        .iter()
        .flat_map(|i| {
            if i.quote_style.is_some() {
                i.value.split('.').map(str::to_ascii_lowercase).collect()
            } else {
                vec![i.value.to_ascii_lowercase()]
            }
        })
        .collect()
}

impl Walk<'_> {
    fn range_of(&self, name: &ObjectName) -> Option<Range<usize>> {
        let ps = parts(name);
        let first = self.lines.range(ps.first()?.span)?;
        let last = self.lines.range(ps.last()?.span)?;
        Some(first.start..last.end)
    }

    /// A name is the migrated table when a locator match lies inside it
    /// (every quoted and BigQuery form, or a path in `` avro.`path` ``), or
    /// when it is the bare table name under `USE` of the old database.
    fn migrated(&mut self, name: &ObjectName) -> bool {
        let Some(r) = self.range_of(name) else {
            return false;
        };
        if self
            .matches
            .iter()
            .any(|m| m.range.start >= r.start && m.range.end <= r.end)
        {
            return true;
        }
        if self
            .also_migrated
            .iter()
            .any(|m| m.start < r.end && r.start < m.end)
        {
            return true;
        }
        let ps = parts(name);
        if let ([only], Some(db)) = (ps.as_slice(), &self.db) {
            for (i, l) in self.rules.locators().iter().enumerate() {
                if l.kind == tern_spec::LocatorKind::Table
                    && l.old_parts.len() == 2
                    && l.old_parts[0].eq_ignore_ascii_case(db)
                    && l.old_parts[1].eq_ignore_ascii_case(&only.value)
                {
                    self.out.use_names.push((r, only.quote_style, i));
                    return true;
                }
            }
        }
        false
    }

    fn rels_of(&mut self, t: &TableFactor, out: &mut Vec<Rel>) {
        match t {
            TableFactor::Table { name, alias, .. } => {
                let migrated = self.migrated(name);
                self.out.reads_migrated |= migrated;
                out.push(Rel {
                    name: lower_parts(name),
                    alias: alias.as_ref().map(|a| a.name.value.to_ascii_lowercase()),
                    migrated,
                });
            }
            TableFactor::Derived { alias, .. } => out.push(Rel {
                name: vec![],
                alias: alias.as_ref().map(|a| a.name.value.to_ascii_lowercase()),
                migrated: false,
            }),
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.joined(table_with_joins, out),
            _ => out.push(Rel {
                name: vec![],
                alias: None,
                migrated: false,
            }),
        }
    }

    fn joined(&mut self, twj: &TableWithJoins, out: &mut Vec<Rel>) {
        self.rels_of(&twj.relation, out);
        for j in &twj.joins {
            self.rels_of(&j.relation, out);
            if let Some(JoinConstraint::Using(cols) | JoinConstraint::UsingAlias(cols, _)) =
                constraint(&j.join_operator)
            {
                for c in cols {
                    if let Some(last) = parts(c).last() {
                        if renamed(self.rules, last).is_some() {
                            let at = self.lines.range(last.span).map_or(0, |r| r.start);
                            self.out.blockers.push((
                                at,
                                format!(
                                    "JOIN ... USING ({}) joins on a renamed column; write the join with ON and rename it by hand",
                                    last.value
                                ),
                            ));
                        }
                    }
                }
            }
        }
    }

    fn lower_keywords(&self, at: &Range<usize>) -> bool {
        let kw = &self.sql[at.clone()];
        kw.bytes().any(|c| c.is_ascii_lowercase())
    }
}

fn constraint(op: &JoinOperator) -> Option<&JoinConstraint> {
    use JoinOperator::*;
    match op {
        Join(c) | Inner(c) | Left(c) | LeftOuter(c) | Right(c) | RightOuter(c) | FullOuter(c)
        | CrossJoin(c) | Semi(c) | LeftSemi(c) | RightSemi(c) | Anti(c) | LeftAnti(c)
        | RightAnti(c) | StraightJoin(c) => Some(c),
        AsOf { constraint, .. } => Some(constraint),
        _ => None,
    }
}

impl Visitor for Walk<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if let SetExpr::Select(s) = q.body.as_ref() {
            if let (Some(sel), Some(region)) = (
                self.lines.range(s.select_token.0.span),
                self.lines.range(q.span()),
            ) {
                self.query_regions.insert(sel.start, region);
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, s: &Select) -> ControlFlow<()> {
        let Some(kw) = self.lines.range(s.select_token.0.span) else {
            return ControlFlow::Continue(());
        };
        let select = self.lines.range(s.span()).unwrap_or(kw.clone());
        let region = self
            .query_regions
            .get(&kw.start)
            .cloned()
            .unwrap_or(select.clone());
        let mut rels = Vec::new();
        for twj in &s.from {
            self.joined(twj, &mut rels);
        }
        let mut aliases = HashSet::new();
        let columns_renamed = !self.rules.columns().is_empty();
        for item in &s.projection {
            match item {
                SelectItem::Wildcard(_) if columns_renamed && rels.iter().any(|r| r.migrated) => {
                    self.out.blockers.push((kw.start, star_reason()));
                }
                SelectItem::QualifiedWildcard(
                    SelectItemQualifiedWildcardKind::ObjectName(n),
                    _,
                ) if columns_renamed => {
                    let q = lower_parts(n);
                    if rels.iter().any(|r| r.migrated && names(r, &q)) {
                        self.out.blockers.push((kw.start, star_reason()));
                    }
                }
                SelectItem::UnnamedExpr(Expr::Identifier(id)) => {
                    if let Some(r) = self.lines.range(id.span) {
                        self.out.outputs.insert(r.start);
                    }
                }
                SelectItem::UnnamedExpr(Expr::CompoundIdentifier(ids)) => {
                    if let Some(r) = ids.last().and_then(|id| self.lines.range(id.span)) {
                        self.out.outputs.insert(r.start);
                    }
                }
                SelectItem::ExprWithAlias { alias, .. } => {
                    aliases.insert(alias.value.to_ascii_lowercase());
                }
                _ => {}
            }
        }
        let lower = self.lower_keywords(&kw);
        self.out.scopes.push(Scope {
            region,
            select,
            rels,
            aliases,
            lower,
        });
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        match e {
            Expr::Identifier(id) if renamed(self.rules, id).is_some() => {
                self.out.refs.push(ColRef {
                    qualifier: vec![],
                    column: id.clone(),
                })
            }
            Expr::CompoundIdentifier(ids) if ids.len() >= 2 => {
                let (last, qualifier) = ids.split_last().expect("two or more parts");
                if renamed(self.rules, last).is_some() || renamed(self.rules, &ids[0]).is_some() {
                    self.out.refs.push(ColRef {
                        qualifier: qualifier.to_vec(),
                        column: last.clone(),
                    });
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_statement(&mut self, st: &Statement) -> ControlFlow<()> {
        match st {
            Statement::Insert(ins) => {
                if let TableObject::TableName(name) = &ins.table {
                    if self.migrated(name) {
                        self.out.reads_migrated = true;
                        for c in &ins.columns {
                            if let Some(last) = parts(c).last() {
                                if renamed(self.rules, last).is_some() {
                                    self.out.insert_columns.push((*last).clone());
                                }
                            }
                        }
                    }
                }
            }
            Statement::CreateTable(ct) if !self.matches.is_empty() => {
                for c in &ct.columns {
                    if renamed(self.rules, &c.name).is_some() {
                        let at = self.lines.range(c.name.span).map_or(0, |r| r.start);
                        self.out.blockers.push((
                            at,
                            format!(
                                "this table is defined over the migrated dataset and declares the renamed column `{}`; its readers must change with it, by hand",
                                c.name.value
                            ),
                        ));
                    }
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// The (old, new) rename when `ident` names a renamed column: exactly when
/// quoted, in any ASCII case when bare.
fn renamed<'r>(rules: &'r Rules, ident: &Ident) -> Option<&'r (String, String)> {
    rules.columns().iter().find(|(old, _)| {
        if ident.quote_style.is_some() {
            ident.value == *old
        } else {
            ident.value.eq_ignore_ascii_case(old)
        }
    })
}

fn star_reason() -> String {
    "SELECT * from a table whose columns are renamed: list the columns, then tern can rename them"
        .into()
}

/// Whether qualifier `q` (lower-cased parts) names relation `r`.
fn names(r: &Rel, q: &[String]) -> bool {
    match &r.alias {
        Some(a) => q.len() == 1 && *a == q[0],
        None => !q.is_empty() && r.name.len() >= q.len() && r.name[r.name.len() - q.len()..] == *q,
    }
}

fn quoted(quote: Option<char>, s: &str) -> String {
    match quote {
        Some('[') => format!("[{s}]"),
        Some(q) => format!("{q}{s}{q}"),
        None => s.to_string(),
    }
}

/// `USE db` before this statement, if it is one.
fn use_db(st: &Statement) -> Option<String> {
    let Statement::Use(u) = st else {
        return None;
    };
    match u {
        Use::Schema(n) | Use::Database(n) | Use::Object(n) => lower_parts(n).last().cloned(),
        _ => None,
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

fn parse_all(sql: &str, lines: &Lines) -> Option<(Vec<Stmt>, Vec<Parsed>)> {
    let mut best: Option<(Vec<Stmt>, Vec<Parsed>, usize)> = None;
    for d in dialects() {
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
                let mut p = Parser::new(d.as_ref()).with_tokens_with_locations(s.tokens.clone());
                match p.parse_statements() {
                    Ok(mut v) if v.len() == 1 => Ok(v.remove(0)),
                    Ok(_) => Err("more than one statement".into()),
                    Err(e) => Err(e.to_string()),
                }
            })
            .collect();
        let failed = parsed.iter().filter(|p| p.is_err()).count();
        if best.as_ref().is_none_or(|b| failed < b.2) {
            best = Some((stmts, parsed, failed));
        }
        if failed == 0 {
            break;
        }
    }
    best.map(|(s, p, _)| (s, p))
}

/// Rewrites a whole SQL text; edit ranges are offsets into `sql`. Names lying
/// in `also_migrated` (masked dbt `source()` calls) read the migrated table
/// too; their edits apply with their statement's, or not at all when the
/// statement is left whole.
pub(crate) fn rewrite_sql(
    rules: &Rules,
    sql: &str,
    also_migrated: &[(Range<usize>, Vec<Edit>)],
) -> Outcome {
    let names: Vec<Range<usize>> = also_migrated.iter().map(|(r, _)| r.clone()).collect();
    let also_migrated_edits = |within: &Range<usize>| -> Vec<Edit> {
        also_migrated
            .iter()
            .filter(|(r, _)| r.start >= within.start && r.end <= within.end)
            .flat_map(|(_, e)| e.clone())
            .collect()
    };
    let bytes = sql.as_bytes();
    let found = text::find(rules, bytes);
    let mut out = Outcome {
        findings: found.outcome(bytes).findings,
        ..Outcome::default()
    };
    let lines = Lines::new(sql);
    let Some((stmts, parsed)) = parse_all(sql, &lines) else {
        // Not even tokens: keep the locator edits, say the columns went unchecked.
        out.edits
            .extend(found.matches.iter().flat_map(Match::edits));
        out.edits.extend(also_migrated_edits(&(0..sql.len())));
        if !rules.columns().is_empty() && !found.matches.is_empty() {
            out.findings.push(Finding::at(
                bytes,
                found.matches[0].range.start,
                "this SQL could not be read; the names were rewritten but its columns were not checked",
            ));
        }
        return out;
    };
    let mut covered = 0;
    let mut db: Option<String> = None;
    for (stmt, parsed) in stmts.iter().zip(parsed) {
        // Matches between statements (a stray comment) are still rewritten.
        let in_stmt =
            |m: &&Match| m.range.start >= stmt.range.start && m.range.end <= stmt.range.end;
        out.edits.extend(
            found
                .matches
                .iter()
                .filter(|m| m.range.start >= covered && m.range.end <= stmt.range.start)
                .flat_map(Match::edits),
        );
        covered = stmt.range.end;
        let matches: Vec<Match> = found.matches.iter().filter(in_stmt).cloned().collect();
        let st = match parsed {
            Ok(st) => st,
            Err(why) => {
                out.edits.extend(matches.iter().flat_map(Match::edits));
                out.edits.extend(also_migrated_edits(&stmt.range));
                if !matches.is_empty() {
                    out.edits
                        .extend(format_edits(rules, sql, &lines, &stmt.tokens));
                }
                if !rules.columns().is_empty() && !matches.is_empty() {
                    out.findings.push(Finding::at(
                        bytes,
                        stmt.range.start,
                        format!("tern's SQL parser cannot read this statement ({why}); its names were rewritten but its columns were not checked"),
                    ));
                }
                continue;
            }
        };
        if let Some(d) = use_db(&st) {
            db = Some(d);
        }
        let mut walk = Walk {
            sql,
            lines: &lines,
            rules,
            matches: &matches,
            also_migrated: &names,
            db: db.clone(),
            query_regions: HashMap::new(),
            out: Analysis::default(),
        };
        let _ = st.visit(&mut walk);
        let a = walk.out;
        if !a.blockers.is_empty() {
            for (at, why) in &a.blockers {
                out.findings.push(Finding::at(bytes, *at, why.as_str()));
            }
            continue;
        }
        let mut edits: Vec<Edit> = matches.iter().flat_map(Match::edits).collect();
        edits.extend(also_migrated_edits(&stmt.range));
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
        let mut findings = Vec::new();
        columns(rules, sql, &lines, &a, &mut edits, &mut findings);
        if rules.format().is_some() && (!matches.is_empty() || a.reads_migrated) {
            edits.extend(format_edits(rules, sql, &lines, &stmt.tokens));
        }
        out.edits.extend(edits);
        out.findings.extend(
            findings
                .into_iter()
                .map(|(at, reason)| Finding::at(bytes, at, reason)),
        );
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

/// Renames the column references that resolve to the migrated table.
fn columns(
    rules: &Rules,
    sql: &str,
    lines: &Lines,
    a: &Analysis,
    edits: &mut Vec<Edit>,
    findings: &mut Vec<(usize, String)>,
) {
    let rename = |id: &Ident, keep_output: Option<bool>, edits: &mut Vec<Edit>| {
        let (Some((old, new)), Some(r)) = (renamed(rules, id), lines.range(id.span)) else {
            return;
        };
        let written = &sql[r.clone()];
        // Only splice where the span holds exactly the identifier.
        let inner = match id.quote_style {
            Some(_) if written.len() >= 2 => &written[1..written.len() - 1],
            _ => written,
        };
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
    for c in &a.insert_columns {
        rename(c, None, edits);
    }
    for c in &a.refs {
        let Some(at) = lines.range(c.column.span) else {
            continue;
        };
        let mut around: Vec<&Scope> = a
            .scopes
            .iter()
            .filter(|s| s.region.start <= at.start && at.end <= s.region.end)
            .collect();
        around.sort_by_key(|s| s.region.len());
        let output = |s: &Scope| a.outputs.contains(&at.start).then_some(s.lower);
        if c.qualifier.is_empty() {
            let Some(s) = around.iter().find(|s| !s.rels.is_empty()) else {
                continue;
            };
            let outside_select = !(s.select.start <= at.start && at.end <= s.select.end);
            if outside_select && s.aliases.contains(&c.column.value.to_ascii_lowercase()) {
                continue;
            }
            match s.rels.iter().filter(|r| r.migrated).count() {
                0 => {}
                _ if s.rels.len() == 1 => rename(&c.column, output(s), edits),
                _ => findings.push((
                    at.start,
                    format!(
                        "column `{}` is not qualified and several tables are in scope; qualify it, then tern can rename it",
                        c.column.value
                    ),
                )),
            }
            continue;
        }
        let q: Vec<String> = c
            .qualifier
            .iter()
            .map(|i| i.value.to_ascii_lowercase())
            .collect();
        let owner = around
            .iter()
            .find_map(|s| s.rels.iter().find(|r| names(r, &q)).map(|r| (s, r)));
        match owner {
            Some((s, r)) if r.migrated => rename(&c.column, output(s), edits),
            Some(_) => {}
            None => {
                // `user_id.field`: a struct column of the only table in scope.
                let first = &c.qualifier[0];
                if let Some(s) = around.iter().find(|s| !s.rels.is_empty()) {
                    if s.rels.len() == 1 && s.rels[0].migrated {
                        rename(first, None, edits);
                    }
                }
            }
        }
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
