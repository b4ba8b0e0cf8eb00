//! One statement's scopes and column references, and how a reference binds
//! to a table, as SQL binds it (docs/rules.md rule 5).
//!
//! The same analysis serves the rewrite (which tables are the migrated one,
//! what a renamed column must become) and the schema check of rule 11 (which
//! references of the rewritten statement reach the new table). Binding is
//! three-valued: a table has a column, has it not, or may have it (its schema
//! is unknown). A reference whose table cannot be decided is never guessed
//! at: it is [`Bind::Ambiguous`], and the caller reports it.

use std::collections::{HashMap, HashSet};
use std::ops::{ControlFlow, Range};

use sqlparser::ast::{
    AssignmentTarget, ExcludeSelectItem, Expr, FromTable, Ident, JoinConstraint, JoinOperator,
    ObjectName, ObjectNamePart, OrderByKind, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, Spanned, Statement, TableFactor, TableObject,
    TableWithJoins, UpdateTableFromKind, Use, Visitor, WildcardAdditionalOptions,
};

use super::parse::Lines;
use crate::rules::Rules;
use crate::text::Match;

/// What the walk is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// The original statement: the target is the old table.
    Rewrite,
    /// The rewritten statement: the target is the new table (rule 11).
    Check,
}

/// One table in a `FROM` clause (or the table an `UPDATE` or `DELETE` changes).
#[derive(Debug)]
pub(super) struct Rel {
    /// The written name's parts, lower-cased.
    pub name: Vec<String>,
    pub alias: Option<String>,
    /// Whether this is the target table (the migrated one, or in a check the new one).
    pub target: bool,
    /// The table locator it matched, when known.
    pub locator: Option<usize>,
    /// Its columns, lower-cased, when known (a known table, a derived table
    /// or CTE with an explicit select list, an `UNNEST` alias).
    pub columns: Option<Vec<String>>,
}

/// The tables one `SELECT` (or `UPDATE`, `DELETE`) sees, and its regions.
#[derive(Debug)]
pub(super) struct Scope {
    /// The query around the select (so `ORDER BY` counts), or the select itself.
    pub region: Range<usize>,
    pub rels: Vec<Rel>,
    /// Output names given with `AS`, lower-cased.
    pub aliases: HashSet<String>,
    /// `HAVING` and `QUALIFY`: there an output name given with `AS` wins.
    pub late: Vec<Range<usize>>,
    /// `ORDER BY`: there any output name wins, a bare column's included.
    pub order: Vec<Range<usize>>,
    /// Every output name, lower-cased: `AS` aliases and bare columns.
    pub outputs: HashSet<String>,
    /// `GROUP BY`: engines differ on an output name there.
    pub group: Vec<Range<usize>>,
    /// Whether the statement writes keywords in lower case.
    pub lower: bool,
}

/// A column reference: the identifiers as written (`p.user_id`, `user_id`, `p.s.f`).
#[derive(Debug, Clone)]
pub(super) struct ColRef {
    pub idents: Vec<Ident>,
}

/// Everything one parsed statement tells us.
#[derive(Default)]
pub(super) struct Analysis {
    pub scopes: Vec<Scope>,
    pub refs: Vec<ColRef>,
    /// Ident start offsets of bare columns in a select list: they keep their output name.
    pub outputs: HashSet<usize>,
    /// Offsets of references tern must not rewrite, and why.
    pub blockers: Vec<(usize, String)>,
    /// Columns of an `INSERT` into the target table, and `UPDATE ... SET` targets.
    pub target_columns: Vec<Ident>,
    /// Unqualified names of a target table resolved through `USE db`: the
    /// name's range, its quote, and the index of the locator it matched.
    pub use_names: Vec<(Range<usize>, Option<char>, usize)>,
    /// Whether any relation of the statement is the target table.
    pub reads_target: bool,
    /// Byte ranges of every table name in a table position.
    pub relations: Vec<Range<usize>>,
    /// Those of them that name a CTE, not a table.
    pub cte_refs: Vec<Range<usize>>,
    /// Ranges of aggregate and window calls: inside them a name is a column.
    pub aggregates: Vec<Range<usize>>,
    /// Lambda parameters and the body they are visible in.
    pub lambdas: Vec<(String, Range<usize>)>,
    /// `ORDER BY` of a `UNION` and the like: only output names are visible there.
    pub set_orders: Vec<Range<usize>>,
    /// Where the selects that are the body of an `EXISTS` start: their
    /// select list is never read, so a `*` there renames nothing.
    pub exists: Vec<usize>,
}

/// Names the rules know: renamed columns, the new schema, other tables.
pub(super) struct Known<'a> {
    pub rules: &'a Rules,
}

impl Known<'_> {
    /// The (old, new) rename when `ident` names a renamed column: exactly when
    /// quoted, in any ASCII case when bare.
    pub fn renamed(&self, ident: &Ident) -> Option<&(String, String)> {
        self.rules
            .columns()
            .iter()
            .find(|(old, _)| same(ident, old))
    }

    /// Whether `ident` is the new name of a renamed column.
    pub fn is_new_name(&self, ident: &Ident) -> bool {
        self.rules.columns().iter().any(|(_, new)| same(ident, new))
    }

    /// Columns of another table the catalog knows, by its written name.
    fn table_columns(&self, name: &[String]) -> Option<Vec<String>> {
        self.rules
            .known_tables()
            .iter()
            .find(|(parts, _)| {
                parts.len() >= name.len()
                    && parts[parts.len() - name.len()..]
                        .iter()
                        .zip(name)
                        .all(|(a, b)| a.eq_ignore_ascii_case(b))
            })
            .map(|(_, cols)| cols.clone())
    }
}

/// A bare name matches in any ASCII case; a quoted one exactly.
pub(super) fn same(ident: &Ident, name: &str) -> bool {
    if ident.quote_style.is_some() {
        ident.value == name
    } else {
        ident.value.eq_ignore_ascii_case(name)
    }
}

pub(super) struct Walk<'a> {
    pub sql: &'a str,
    pub lines: &'a Lines<'a>,
    pub rules: &'a Rules,
    pub known: Known<'a>,
    pub mode: Mode,
    /// Locator matches of this statement (of the old names, or in a check the new).
    pub matches: &'a [Match],
    /// Other ranges that name the target table (masked dbt `source()` calls).
    pub also_target: &'a [Range<usize>],
    /// `USE db` in force, lower-cased.
    pub db: Option<String>,
    /// Region of the query whose body is the select starting at this offset,
    /// and its `ORDER BY` ranges.
    query_regions: HashMap<usize, (Range<usize>, Vec<Range<usize>>)>,
    /// CTE names with their columns, and the region they are visible in.
    ctes: Vec<(String, Option<Vec<String>>, Range<usize>)>,
    pub out: Analysis,
}

/// What names the target table in a statement.
pub(super) struct TargetNames<'a> {
    /// Locator matches of the statement.
    pub matches: &'a [Match],
    /// Masked dbt `source()` calls.
    pub also: &'a [Range<usize>],
    /// `USE db` in force, lower-cased.
    pub db: Option<String>,
}

pub(super) fn parts(name: &ObjectName) -> Vec<&Ident> {
    name.0
        .iter()
        .filter_map(|p| match p {
            ObjectNamePart::Identifier(i) => Some(i),
            _ => None,
        })
        .collect()
}

pub(super) fn lower_parts(name: &ObjectName) -> Vec<String> {
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

/// Functions whose arguments are read per row of a group: inside them a
/// name is the input column, never the output name.
const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "any_value",
    "array_agg",
    "string_agg",
    "group_concat",
    "listagg",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
    "approx_count_distinct",
    "approx_distinct",
    "count_if",
    "countif",
    "bool_and",
    "bool_or",
    "logical_and",
    "logical_or",
    "median",
    "percentile_cont",
    "percentile_disc",
    "first",
    "last",
    "collect_list",
    "collect_set",
    "bit_and",
    "bit_or",
    "corr",
    "covar_pop",
    "covar_samp",
    "max_by",
    "min_by",
    "arg_max",
    "arg_min",
    "first_value",
    "last_value",
];

/// The output names of a query, in order (`""` for an unnamed expression);
/// `None` when a wildcard makes them depend on a schema.
fn output_columns(q: &Query) -> Option<Vec<String>> {
    fn body(b: &SetExpr) -> Option<Vec<String>> {
        match b {
            SetExpr::Select(s) => s
                .projection
                .iter()
                .map(|item| match item {
                    SelectItem::UnnamedExpr(Expr::Identifier(i)) => {
                        Some(i.value.to_ascii_lowercase())
                    }
                    SelectItem::UnnamedExpr(Expr::CompoundIdentifier(ids)) => {
                        ids.last().map(|i| i.value.to_ascii_lowercase())
                    }
                    SelectItem::ExprWithAlias { alias, .. } => {
                        Some(alias.value.to_ascii_lowercase())
                    }
                    SelectItem::UnnamedExpr(_) => Some(String::new()),
                    _ => None,
                })
                .collect(),
            SetExpr::SetOperation { left, .. } => body(left),
            SetExpr::Query(q) => output_columns(q),
            _ => None,
        }
    }
    body(&q.body)
}

impl Walk<'_> {
    /// A walk over `sql`; `rules` give the locators, `known` the columns.
    pub fn new<'a>(
        sql: &'a str,
        lines: &'a Lines<'a>,
        (rules, known): (&'a Rules, &'a Rules),
        mode: Mode,
        target: TargetNames<'a>,
    ) -> Walk<'a> {
        Walk {
            sql,
            lines,
            rules,
            known: Known { rules: known },
            mode,
            matches: target.matches,
            also_target: target.also,
            db: target.db,
            query_regions: HashMap::new(),
            ctes: Vec::new(),
            out: Analysis::default(),
        }
    }

    fn range_of(&self, name: &ObjectName) -> Option<Range<usize>> {
        let ps = parts(name);
        let first = self.lines.range(ps.first()?.span)?;
        let last = self.lines.range(ps.last()?.span)?;
        Some(first.start..last.end)
    }

    /// The CTE a one-part name refers to at `at`, innermost first.
    fn cte(&self, name: &[String], at: usize) -> Option<&Option<Vec<String>>> {
        let [only] = name else { return None };
        self.ctes
            .iter()
            .filter(|(n, _, r)| n == only && r.start <= at && at < r.end)
            .min_by_key(|(_, _, r)| r.len())
            .map(|(_, cols, _)| cols)
    }

    /// The locator of the target table this name is (every quoted and
    /// BigQuery form of a match inside it, a masked dbt source, or the bare
    /// table name under `USE` of the old database), if it is one.
    fn target(&mut self, name: &ObjectName) -> Option<Option<usize>> {
        let r = self.range_of(name)?;
        if let Some(m) = self
            .matches
            .iter()
            .find(|m| m.range.start >= r.start && m.range.end <= r.end)
        {
            let l = &self.rules.locators()[m.locator];
            if l.kind == tern_spec::LocatorKind::Table
                && l.old_parts.len() == 1
                && self.cte(&lower_parts(name), r.start).is_some()
            {
                return None;
            }
            return Some(Some(m.locator));
        }
        if self
            .also_target
            .iter()
            .any(|m| m.start < r.end && r.start < m.end)
        {
            return Some(None);
        }
        let ps = parts(name);
        if let ([only], Some(db)) = (ps.as_slice(), &self.db) {
            if self
                .cte(&[only.value.to_ascii_lowercase()], r.start)
                .is_some()
            {
                return None;
            }
            for (i, l) in self.rules.locators().iter().enumerate() {
                if l.kind == tern_spec::LocatorKind::Table
                    && l.old_parts.len() == 2
                    && l.old_parts[0].eq_ignore_ascii_case(db)
                    && l.old_parts[1].eq_ignore_ascii_case(&only.value)
                {
                    self.out.use_names.push((r, only.quote_style, i));
                    return Some(Some(i));
                }
            }
        }
        None
    }

    fn table(&mut self, name: &ObjectName, alias: Option<String>) -> Rel {
        let target = self.target(name);
        let lower = lower_parts(name);
        let at = self.range_of(name).map_or(0, |r| r.start);
        let columns = match (&target, self.cte(&lower, at)) {
            (Some(_), _) => None,
            (None, Some(cols)) => cols.clone(),
            (None, None) => self.known.table_columns(&lower),
        };
        if target.is_none() && self.cte(&lower, at).is_some() {
            if let Some(r) = self.range_of(name) {
                self.out.cte_refs.push(r);
            }
        }
        self.out.reads_target |= target.is_some();
        Rel {
            name: lower,
            alias,
            target: target.is_some(),
            locator: target.flatten(),
            columns,
        }
    }

    fn rels_of(&mut self, t: &TableFactor, out: &mut Vec<Rel>) {
        let alias_of = |a: &Option<sqlparser::ast::TableAlias>| {
            a.as_ref().map(|a| a.name.value.to_ascii_lowercase())
        };
        match t {
            TableFactor::Table { name, alias, .. } => {
                let rel = self.table(name, alias_of(alias));
                out.push(rel);
            }
            TableFactor::Derived {
                alias, subquery, ..
            } => {
                let columns = match alias {
                    Some(a) if !a.columns.is_empty() => Some(
                        a.columns
                            .iter()
                            .map(|c| c.name.value.to_ascii_lowercase())
                            .collect(),
                    ),
                    _ => output_columns(subquery),
                };
                out.push(Rel {
                    name: vec![],
                    alias: alias_of(alias),
                    target: false,
                    locator: None,
                    columns,
                })
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.joined(table_with_joins, out),
            TableFactor::UNNEST {
                alias,
                with_offset_alias,
                ..
            } => {
                let mut columns: Vec<String> = alias
                    .iter()
                    .flat_map(|a| {
                        if a.columns.is_empty() {
                            vec![a.name.value.to_ascii_lowercase()]
                        } else {
                            a.columns
                                .iter()
                                .map(|c| c.name.value.to_ascii_lowercase())
                                .collect()
                        }
                    })
                    .collect();
                columns.extend(
                    with_offset_alias
                        .iter()
                        .map(|i| i.value.to_ascii_lowercase()),
                );
                out.push(Rel {
                    name: vec![],
                    alias: alias_of(alias),
                    target: false,
                    locator: None,
                    columns: Some(columns),
                })
            }
            _ => out.push(Rel {
                name: vec![],
                alias: None,
                target: false,
                locator: None,
                columns: None,
            }),
        }
    }

    fn joined(&mut self, twj: &TableWithJoins, out: &mut Vec<Rel>) {
        let first = out.len();
        self.rels_of(&twj.relation, out);
        let mut natural = None;
        for j in &twj.joins {
            self.rels_of(&j.relation, out);
            match constraint(&j.join_operator) {
                Some(JoinConstraint::Using(cols) | JoinConstraint::UsingAlias(cols, _))
                    if self.mode == Mode::Rewrite =>
                {
                    for c in cols {
                        if let Some(last) = parts(c).last() {
                            if self.known.renamed(last).is_some() {
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
                Some(JoinConstraint::Natural) => {
                    natural = natural.or_else(|| self.lines.range(j.relation.span()));
                }
                _ => {}
            }
        }
        if let Some(at) = natural {
            let touches_target = out[first..].iter().any(|r| r.target);
            if self.mode == Mode::Rewrite
                && touches_target
                && !self.known.rules.columns().is_empty()
            {
                self.out.blockers.push((
                    at.start,
                    "NATURAL JOIN with a table whose columns are renamed joins on whatever names the tables share; write the join with ON, then tern can rename it".into(),
                ));
            }
        }
    }

    fn lower_keywords(&self, at: &Range<usize>) -> bool {
        let kw = &self.sql[at.clone()];
        kw.bytes().any(|c| c.is_ascii_lowercase())
    }

    /// A `*` over the target table: it passes the renamed columns on under
    /// their new names, unless `EXCEPT`/`EXCLUDE` leaves every one of them
    /// out, when the names it excepts are the target's columns.
    fn star(&mut self, opts: &WildcardAdditionalOptions, blocks: bool, at: usize) {
        let mut excepted: Vec<Ident> = Vec::new();
        if let Some(e) = &opts.opt_except {
            excepted.push(e.first_element.clone());
            excepted.extend(e.additional_elements.iter().cloned());
        }
        match &opts.opt_exclude {
            Some(ExcludeSelectItem::Single(n)) => {
                excepted.extend(parts(n).last().map(|i| (*i).clone()))
            }
            Some(ExcludeSelectItem::Multiple(ns)) => excepted.extend(
                ns.iter()
                    .filter_map(|n| parts(n).last().map(|i| (*i).clone())),
            ),
            None => {}
        }
        let all_left_out = opts.opt_replace.is_none()
            && opts.opt_rename.is_none()
            && self
                .known
                .rules
                .columns()
                .iter()
                .all(|(old, _)| excepted.iter().any(|i| same(i, old)));
        if blocks && !all_left_out {
            self.out.blockers.push((at, star_reason()));
            return;
        }
        self.out.target_columns.extend(excepted);
    }

    /// A scope for `UPDATE` and `DELETE`, which name columns outside any `SELECT`.
    fn dml_scope(&mut self, st: &Statement, twjs: &[&TableWithJoins]) {
        let Some(region) = self.lines.range(st.span()) else {
            return;
        };
        let mut rels = Vec::new();
        for twj in twjs {
            self.joined(twj, &mut rels);
        }
        let lower = self.lower_keywords(&(region.start..region.start + 6.min(region.len())));
        self.out.scopes.push(Scope {
            region,
            rels,
            aliases: HashSet::new(),
            late: vec![],
            order: vec![],
            outputs: HashSet::new(),
            group: vec![],
            lower,
        });
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

fn star_reason() -> String {
    "SELECT * from a table whose columns are renamed: list the columns, then tern can rename them"
        .into()
}

impl Visitor for Walk<'_> {
    type Break = ();

    fn pre_visit_relation(&mut self, name: &ObjectName) -> ControlFlow<()> {
        if let Some(r) = self.range_of(name) {
            self.out.relations.push(r);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        let region = self.lines.range(q.span());
        if let (Some(with), Some(region)) = (&q.with, &region) {
            for cte in &with.cte_tables {
                let cols = if cte.alias.columns.is_empty() {
                    output_columns(&cte.query)
                } else {
                    Some(
                        cte.alias
                            .columns
                            .iter()
                            .map(|c| c.name.value.to_ascii_lowercase())
                            .collect(),
                    )
                };
                self.ctes.push((
                    cte.alias.name.value.to_ascii_lowercase(),
                    cols,
                    region.clone(),
                ));
            }
        }
        if !matches!(q.body.as_ref(), SetExpr::Select(_)) {
            if let Some(OrderByKind::Expressions(es)) = q.order_by.as_ref().map(|o| &o.kind) {
                self.out
                    .set_orders
                    .extend(es.iter().filter_map(|e| self.lines.range(e.expr.span())));
            }
        }
        if let (SetExpr::Select(s), Some(region)) = (q.body.as_ref(), region) {
            if let Some(sel) = self.lines.range(s.select_token.0.span) {
                let order: Vec<Range<usize>> = match q.order_by.as_ref().map(|o| &o.kind) {
                    Some(OrderByKind::Expressions(es)) => es
                        .iter()
                        .filter_map(|e| self.lines.range(e.expr.span()))
                        .collect(),
                    _ => vec![],
                };
                self.query_regions.insert(sel.start, (region, order));
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, s: &Select) -> ControlFlow<()> {
        let Some(kw) = self.lines.range(s.select_token.0.span) else {
            return ControlFlow::Continue(());
        };
        let select = self.lines.range(s.span()).unwrap_or(kw.clone());
        let (region, order) = self
            .query_regions
            .get(&kw.start)
            .cloned()
            .unwrap_or((select.clone(), vec![]));
        let mut late = Vec::new();
        late.extend(
            s.having
                .iter()
                .chain(&s.qualify)
                .filter_map(|e| self.lines.range(e.span())),
        );
        let group = match &s.group_by {
            sqlparser::ast::GroupByExpr::Expressions(es, _) => es
                .iter()
                .filter_map(|e| self.lines.range(e.span()))
                .collect(),
            _ => vec![],
        };
        let mut rels = Vec::new();
        for twj in &s.from {
            self.joined(twj, &mut rels);
        }
        let mut aliases = HashSet::new();
        let mut outputs = HashSet::new();
        let blocks_star = self.mode == Mode::Rewrite
            && !self.known.rules.columns().is_empty()
            && !self.out.exists.contains(&kw.start);
        for lv in &s.lateral_views {
            rels.push(Rel {
                name: vec![],
                alias: lower_parts(&lv.lateral_view_name).last().cloned(),
                target: false,
                locator: None,
                columns: Some(
                    lv.lateral_col_alias
                        .iter()
                        .map(|c| c.value.to_ascii_lowercase())
                        .collect(),
                ),
            });
        }
        for item in &s.projection {
            match item {
                SelectItem::Wildcard(opts) if rels.iter().any(|r| r.target) => {
                    self.star(opts, blocks_star, kw.start);
                }
                SelectItem::QualifiedWildcard(
                    SelectItemQualifiedWildcardKind::ObjectName(n),
                    opts,
                ) => {
                    let q = lower_parts(n);
                    if rels.iter().any(|r| r.target && names(r, &q)) {
                        self.star(opts, blocks_star, kw.start);
                    }
                }
                SelectItem::UnnamedExpr(Expr::Identifier(id)) => {
                    if let Some(r) = self.lines.range(id.span) {
                        self.out.outputs.insert(r.start);
                    }
                    outputs.insert(id.value.to_ascii_lowercase());
                }
                SelectItem::UnnamedExpr(Expr::CompoundIdentifier(ids)) => {
                    if let Some(id) = ids.last() {
                        if let Some(r) = self.lines.range(id.span) {
                            self.out.outputs.insert(r.start);
                        }
                        outputs.insert(id.value.to_ascii_lowercase());
                    }
                }
                SelectItem::ExprWithAlias { alias, .. } => {
                    aliases.insert(alias.value.to_ascii_lowercase());
                    outputs.insert(alias.value.to_ascii_lowercase());
                }
                _ => {}
            }
        }
        let lower = self.lower_keywords(&kw);
        self.out.scopes.push(Scope {
            region,
            rels,
            aliases,
            late,
            order,
            outputs,
            group,
            lower,
        });
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        match e {
            Expr::Identifier(id) => self.out.refs.push(ColRef {
                idents: vec![id.clone()],
            }),
            Expr::CompoundIdentifier(ids) if !ids.is_empty() => self.out.refs.push(ColRef {
                idents: ids.clone(),
            }),
            Expr::Function(f) => {
                let name = f
                    .name
                    .0
                    .last()
                    .and_then(|p| p.as_ident())
                    .map(|i| i.value.to_ascii_lowercase())
                    .unwrap_or_default();
                if f.over.is_some() || AGGREGATES.contains(&name.as_str()) {
                    if let Some(r) = self.lines.range(e.span()) {
                        self.out.aggregates.push(r);
                    }
                }
            }
            Expr::Exists { subquery, .. } => {
                if let SetExpr::Select(sel) = subquery.body.as_ref() {
                    if let Some(r) = self.lines.range(sel.select_token.0.span) {
                        self.out.exists.push(r.start);
                    }
                }
            }
            Expr::Lambda(l) => {
                if let Some(r) = self.lines.range(l.body.span()) {
                    for p in l.params.iter() {
                        self.out
                            .lambdas
                            .push((p.name.value.to_ascii_lowercase(), r.clone()));
                    }
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
                    if self.target(name).is_some() {
                        self.out.reads_target = true;
                        for c in &ins.columns {
                            if let Some(last) = parts(c).last() {
                                self.out.target_columns.push((*last).clone());
                            }
                        }
                    }
                }
            }
            Statement::Update(u) => {
                let mut twjs = vec![&u.table];
                if let Some(UpdateTableFromKind::BeforeSet(f) | UpdateTableFromKind::AfterSet(f)) =
                    &u.from
                {
                    twjs.extend(f.iter());
                }
                self.dml_scope(st, &twjs);
                let updates_target = self
                    .out
                    .scopes
                    .last()
                    .is_some_and(|s| s.rels.first().is_some_and(|r| r.target));
                if updates_target {
                    for a in &u.assignments {
                        let names: Vec<&ObjectName> = match &a.target {
                            AssignmentTarget::ColumnName(n) => vec![n],
                            AssignmentTarget::Tuple(ns) => ns.iter().collect(),
                        };
                        for n in names {
                            if let Some(last) = parts(n).last() {
                                self.out.target_columns.push((*last).clone());
                            }
                        }
                    }
                }
            }
            Statement::Delete(d) => {
                let from = match &d.from {
                    FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
                };
                let mut twjs: Vec<&TableWithJoins> = from.iter().collect();
                twjs.extend(d.using.iter().flatten());
                self.dml_scope(st, &twjs);
            }
            Statement::Merge(_)
                if self.mode == Mode::Rewrite && !self.known.rules.columns().is_empty() =>
            {
                if let Some(r) = self.lines.range(st.span()) {
                    if !self.matches.is_empty() {
                        self.out.blockers.push((
                            r.start,
                            "MERGE into or from a table whose columns are renamed; tern does not rename its clauses, change it by hand".into(),
                        ));
                    }
                }
            }
            Statement::CreateTable(ct)
                if self.mode == Mode::Rewrite && !self.matches.is_empty() =>
            {
                for c in &ct.columns {
                    if self.known.renamed(&c.name).is_some() {
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

/// Whether qualifier `q` (lower-cased parts) names relation `r`.
pub(super) fn names(r: &Rel, q: &[String]) -> bool {
    match &r.alias {
        Some(a) => q.len() == 1 && *a == q[0],
        None => !q.is_empty() && r.name.len() >= q.len() && r.name[r.name.len() - q.len()..] == *q,
    }
}

/// `USE db` before this statement, if it is one.
pub(super) fn use_db(st: &Statement) -> Option<String> {
    let Statement::Use(u) = st else {
        return None;
    };
    match u {
        Use::Schema(n) | Use::Database(n) | Use::Object(n) => lower_parts(n).last().cloned(),
        _ => None,
    }
}

/// What a column reference binds to.
#[derive(Debug)]
pub(super) enum Bind<'a> {
    /// The target table, in this scope.
    Target(&'a Scope, &'a Rel),
    /// Another table, an output name, or nothing tern knows of.
    Other,
    /// It may be the target table's or another's: tern cannot decide.
    Ambiguous(String),
    /// No table in scope has it, though every table's columns are known;
    /// with the target table, when it is among them.
    Unbound(Option<&'a Rel>),
}

/// Does relation `r` have column `c`? `Some(true)`, `Some(false)`, or `None` (unknown).
fn has(known: &Known, mode: Mode, r: &Rel, c: &Ident) -> Option<bool> {
    if r.target {
        return match mode {
            // Only renamed columns are ever asked about the old table.
            Mode::Rewrite => Some(known.renamed(c).is_some()).filter(|h| *h),
            Mode::Check => known
                .rules
                .schema()
                .map(|s| s.iter().any(|k| c.value.eq_ignore_ascii_case(k))),
        };
    }
    r.columns
        .as_ref()
        .map(|cols| cols.iter().any(|k| same(c, k)))
}

impl Analysis {
    /// Scopes around `at`, innermost first.
    fn around(&self, at: &Range<usize>) -> Vec<&Scope> {
        let mut around: Vec<&Scope> = self
            .scopes
            .iter()
            .filter(|s| s.region.start <= at.start && at.end <= s.region.end)
            .collect();
        around.sort_by_key(|s| s.region.len());
        around
    }

    fn in_aggregate(&self, at: &Range<usize>) -> bool {
        self.aggregates
            .iter()
            .any(|r| r.start <= at.start && at.end <= r.end)
    }

    /// Binds an unqualified column name at `at` as SQL does: innermost scope
    /// first; an output name in `HAVING`, `QUALIFY` and `ORDER BY` (outside
    /// an aggregate); outward only when no table of a scope may have it.
    pub fn bind_column(&self, known: &Known, mode: Mode, c: &Ident, at: &Range<usize>) -> Bind<'_> {
        let lc = c.value.to_ascii_lowercase();
        if self
            .set_orders
            .iter()
            .any(|r| r.start <= at.start && at.end <= r.end)
        {
            return Bind::Other;
        }
        if self
            .lambdas
            .iter()
            .any(|(p, r)| *p == lc && r.start <= at.start && at.end <= r.end)
        {
            return Bind::Other;
        }
        let chain = self.around(at);
        if chain.is_empty() {
            return if self.reads_target {
                Bind::Ambiguous(format!(
                    "`{}` stands outside any query tern can scope; check it by hand",
                    c.value
                ))
            } else {
                Bind::Other
            };
        }
        for (depth, s) in chain.iter().enumerate() {
            let inside =
                |rs: &[Range<usize>]| rs.iter().any(|r| r.start <= at.start && at.end <= r.end);
            if s.outputs.contains(&lc) && !self.in_aggregate(at) && inside(&s.order) {
                return Bind::Other;
            }
            if s.aliases.contains(&lc) && !self.in_aggregate(at) {
                if inside(&s.late) {
                    return Bind::Other;
                }
                if inside(&s.group) && s.rels.iter().any(|r| has(known, mode, r, c) != Some(false))
                {
                    return Bind::Ambiguous(format!(
                        "`{}` in GROUP BY is both an output name and a column; engines differ on which it means, so qualify it",
                        c.value
                    ));
                }
            }
            let yes: Vec<&Rel> = s
                .rels
                .iter()
                .filter(|r| has(known, mode, r, c) == Some(true))
                .collect();
            let maybe: Vec<&Rel> = s
                .rels
                .iter()
                .filter(|r| has(known, mode, r, c).is_none())
                .collect();
            match (yes.as_slice(), maybe.as_slice()) {
                ([], []) => continue,
                ([only], []) | ([], [only]) if only.target => return Bind::Target(s, only),
                ([_], []) => return Bind::Other,
                _ => {
                    let outer_target = chain[depth + 1..]
                        .iter()
                        .flat_map(|s| &s.rels)
                        .any(|r| r.target && has(known, mode, r, c) != Some(false));
                    let here_target = yes.iter().chain(&maybe).any(|r| r.target);
                    if yes.len() == 1 && !yes[0].target && !here_target {
                        // A valid query names a column once per scope.
                        return Bind::Other;
                    }
                    if here_target || outer_target {
                        let why = if here_target {
                            format!(
                                "column `{}` is not qualified and several tables are in scope; qualify it, then tern can rename it",
                                c.value
                            )
                        } else {
                            format!(
                                "column `{}` may belong to a table of this subquery or to the migrated table outside it; qualify it, then tern can rename it",
                                c.value
                            )
                        };
                        return Bind::Ambiguous(why);
                    }
                    return Bind::Other;
                }
            }
        }
        Bind::Unbound(chain.iter().flat_map(|s| &s.rels).find(|r| r.target))
    }

    /// Binds a reference: the longest qualifier that names a table in scope,
    /// the rest being the column and its struct fields; else its first part
    /// is a column. Returns the binding and how many idents the qualifier has.
    pub fn bind(
        &self,
        known: &Known,
        mode: Mode,
        r: &ColRef,
        at: &Range<usize>,
    ) -> (Bind<'_>, usize) {
        let ids = &r.idents;
        let chain = self.around(at);
        for k in (1..ids.len()).rev() {
            let q: Vec<String> = ids[..k]
                .iter()
                .map(|i| i.value.to_ascii_lowercase())
                .collect();
            if let Some((s, rel)) = chain
                .iter()
                .find_map(|s| s.rels.iter().find(|r| names(r, &q)).map(|r| (*s, r)))
            {
                return if rel.target {
                    (Bind::Target(s, rel), k)
                } else {
                    (Bind::Other, k)
                };
            }
        }
        (self.bind_column(known, mode, &ids[0], at), 0)
    }
}
