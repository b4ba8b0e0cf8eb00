//! Rule 11, the schema check: the rewritten statement is parsed and scoped
//! again, on its own new text, and every column reference that binds to the
//! new table must be one of its columns: the new schema when the catalog
//! knows it, else at least no old name of a renamed column.
//!
//! It shares the scope analysis with the rewrite but not its conclusions: it
//! finds the new table by the new locators in the new text, so an edit that
//! was never made, a qualifier left behind or a rename into the wrong scope
//! shows up here as a failure, and the statement is left whole.

use std::ops::Range;

use sqlparser::ast::{Ident, Visit};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Tokenizer;

use super::parse::{dialects, Lines};
use super::scope::{same, Bind, Known, Mode, Rel, Scope, TargetNames, Walk};
use crate::rules::Rules;
use crate::{text, Edit};

/// Names that read as columns but are date parts (`DATE_TRUNC(d, MONTH)`).
const DATE_PARTS: &[&str] = &[
    "year",
    "quarter",
    "month",
    "week",
    "day",
    "dayofweek",
    "dayofyear",
    "hour",
    "minute",
    "second",
    "millisecond",
    "microsecond",
    "isoweek",
    "isoyear",
    "date",
    "time",
    "datetime",
];

/// Checks one statement of `sql` (at `range`) with `edits` applied; returns
/// each failure's offset in `sql` and why. `also` are the masked dbt
/// `source()` calls of the statement with their edits.
pub(super) fn statement(
    rules: &Rules,
    sql: &str,
    range: Range<usize>,
    edits: &[Edit],
    also: &[&(Range<usize>, Vec<Edit>)],
    db: Option<String>,
    dialect: usize,
) -> Vec<(usize, String)> {
    let Some(checker) = rules.checker() else {
        return vec![];
    };
    let base = range.start;
    let mut applied: Vec<&Edit> = edits
        .iter()
        .filter(|e| e.range.start >= range.start && e.range.end <= range.end)
        .collect();
    applied.sort_by_key(|e| (e.range.start, e.range.end));
    applied.dedup();
    let mut new = String::with_capacity(range.len() + 64);
    let mut at = base;
    let mut kept: Vec<&Edit> = Vec::new();
    for e in applied {
        if e.range.start < at {
            continue;
        }
        new.push_str(&sql[at..e.range.start]);
        new.push_str(&e.replacement);
        at = e.range.end;
        kept.push(e);
    }
    new.push_str(&sql[at..range.end]);
    // Where an offset of the old statement lands in the new one.
    let shift = |pos: usize| -> usize {
        let delta: isize = kept
            .iter()
            .filter(|e| e.range.end <= pos)
            .map(|e| e.replacement.len() as isize - e.range.len() as isize)
            .sum();
        ((pos - base) as isize + delta).max(0) as usize
    };
    let also_new: Vec<Range<usize>> = also
        .iter()
        .filter(|(_, es)| es.iter().all(|e| kept.contains(&e)))
        .map(|(r, _)| shift(r.start)..shift(r.end))
        .collect();
    // Masked names (dbt `source()` calls, legacy SQL's bracketed tables)
    // are masked again once their edits are in.
    if !also_new.is_empty() {
        let mut bytes = new.into_bytes();
        for r in &also_new {
            if let Some(span) = bytes.get_mut(r.clone()) {
                for c in span.iter_mut().filter(|c| **c != b'\n') {
                    *c = b'_';
                }
            }
        }
        new = String::from_utf8(bytes).unwrap_or_default();
    }
    let lines = Lines::new(&new);
    let found = text::find(checker, new.as_bytes());
    let order = std::iter::once(dialect).chain((0..dialects().len()).filter(|d| *d != dialect));
    let mut parsed = None;
    let mut why = String::new();
    let ds = dialects();
    for d in order {
        let Ok(tokens) = Tokenizer::new(ds[d].as_ref(), &new).tokenize_with_location() else {
            continue;
        };
        let tokens = match super::forms::reduce(rules, tokens) {
            Ok(t) => t,
            Err(e) => {
                why = e;
                continue;
            }
        };
        match Parser::new(ds[d].as_ref())
            .with_tokens_with_locations(tokens)
            .parse_statements()
        {
            Ok(mut v) if v.len() == 1 => {
                parsed = Some(v.remove(0));
                break;
            }
            Ok(_) => why = "it splits into several statements".into(),
            Err(e) => why = e.to_string(),
        }
    }
    let Some(st) = parsed else {
        return vec![(
            base,
            format!("the rewritten statement no longer parses ({why})"),
        )];
    };
    let mut walk = Walk::new(
        &new,
        &lines,
        (checker, rules),
        Mode::Check,
        TargetNames {
            matches: &found.matches,
            also: &also_new,
            db,
        },
    );
    let _ = st.visit(&mut walk);
    let a = walk.out;
    let known = Known { rules };
    let mut failures: Vec<(usize, String)> = Vec::new();
    let table = |rel: Option<&Rel>| -> String {
        rel.and_then(|r| r.locator)
            .map(|l| format!("`{}`", checker.locators()[l].new))
            .unwrap_or_else(|| "the new table".into())
    };
    let mut fail = |c: &Ident, why: String| {
        if let Some(r) = lines.range(c.span) {
            failures.push((r.start, why));
        }
    };
    for c in &a.target_columns {
        if let Some(why) = verdict(&known, c, true, None, &table(None)) {
            fail(c, why);
        }
    }
    for r in &a.refs {
        let Some(at) = r.idents.last().and_then(|i| lines.range(i.span)) else {
            continue;
        };
        let (bind, k) = a.bind(&known, Mode::Check, r, &at);
        let col = &r.idents[k];
        // A qualifier naming no table in scope that is the old table's name
        // is a qualifier the rewrite left behind.
        if k == 0 && r.idents.len() > 1 && old_table_part(rules, &r.idents[0]) {
            fail(
                &r.idents[0],
                format!(
                    "the qualifier `{}` names no table in scope (the old table's name left behind?)",
                    r.idents[0].value
                ),
            );
            continue;
        }
        let why = match bind {
            Bind::Target(s, rel) => verdict(&known, col, true, Some(s), &table(Some(rel))),
            Bind::Ambiguous(_) => verdict(&known, col, false, None, &table(None)),
            Bind::Unbound(Some(rel)) => verdict(&known, col, true, None, &table(Some(rel))),
            Bind::Other | Bind::Unbound(None) => None,
        };
        if let Some(why) = why {
            fail(col, why);
        }
    }
    failures.sort();
    failures.dedup();
    // Edits never add lines, so a failure's line in the new statement is its
    // line in the old one.
    let old = &sql[range.clone()];
    let same_lines = old.matches('\n').count() == new.matches('\n').count();
    failures
        .into_iter()
        .map(|(off, why)| {
            let line = new[..off.min(new.len())].matches('\n').count();
            let at = if same_lines && line > 0 {
                old.match_indices('\n')
                    .nth(line - 1)
                    .map_or(0, |(i, _)| i + 1)
            } else {
                0
            };
            (base + at, why)
        })
        .collect()
}

/// Whether `id` is a part of an old table name that the new name does not share.
fn old_table_part(rules: &Rules, id: &Ident) -> bool {
    rules.locators().iter().any(|l| {
        l.kind == tern_spec::LocatorKind::Table
            && l.old_parts.iter().any(|p| id.value.eq_ignore_ascii_case(p))
            && !l.new_parts.iter().any(|p| id.value.eq_ignore_ascii_case(p))
    })
}

/// Whether column `c`, bound to the new table (`certain`) or perhaps bound
/// to it, fails the check, and why.
fn verdict(
    known: &Known,
    c: &Ident,
    certain: bool,
    scope: Option<&Scope>,
    table: &str,
) -> Option<String> {
    let schema = known.rules.schema();
    let in_schema = schema.map(|s| s.iter().any(|k| same_ci(c, k)));
    let old_name = known
        .renamed(c)
        .filter(|_| !known.is_new_name(c))
        .map(|(_, new)| new.clone());
    if let Some(new) = &old_name {
        if in_schema != Some(true) {
            let may = if certain {
                "still names"
            } else {
                "may still name"
            };
            return Some(format!(
                "`{}` {may} the old column of {table}, which is now `{new}`",
                c.value
            ));
        }
    }
    if !certain || in_schema != Some(false) {
        return None;
    }
    let lc = c.value.to_ascii_lowercase();
    if c.quote_style.is_none() && DATE_PARTS.contains(&lc.as_str()) {
        return None;
    }
    // An output name of the same select (a lateral alias) is not a column.
    if scope.is_some_and(|s| s.aliases.contains(&lc)) {
        return None;
    }
    Some(format!(
        "`{}` is not a column of {table} (its schema has {})",
        c.value,
        preview(schema.unwrap_or_default())
    ))
}

/// Schema names compare in any case: warehouses fold unquoted names.
fn same_ci(c: &Ident, k: &str) -> bool {
    same(c, k) || c.value.eq_ignore_ascii_case(k)
}

fn preview(cols: &[String]) -> String {
    let mut s = cols
        .iter()
        .take(8)
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if cols.len() > 8 {
        s.push_str(&format!(" and {} more", cols.len() - 8));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_spec::LocatorKind;

    fn rules(schema: Option<&[&str]>) -> Rules {
        Rules::new(crate::RuleInput {
            replace: vec![(
                LocatorKind::Table,
                vec!["legacy.plays".into()],
                "lake.plays_v2".into(),
            )],
            columns: vec![("user_id".into(), "account_id".into())],
            schema: schema.map(|s| s.iter().map(|c| c.to_string()).collect()),
            ..Default::default()
        })
        .unwrap()
    }

    /// The check of `sql` rewritten by `edits` (old text, new text), found in order.
    fn check(rules: &Rules, sql: &str, edits: &[(&str, &str)]) -> Vec<String> {
        let mut from = 0;
        let edits: Vec<Edit> = edits
            .iter()
            .map(|(old, new)| {
                let at = from + sql[from..].find(old).unwrap();
                from = at + old.len();
                Edit {
                    range: at..at + old.len(),
                    replacement: new.to_string(),
                }
            })
            .collect();
        statement(rules, sql, 0..sql.len(), &edits, &[], None, 0)
            .into_iter()
            .map(|(_, why)| why)
            .collect()
    }

    #[test]
    fn a_right_rewrite_passes() {
        let r = rules(None);
        let sql = "SELECT p.user_id FROM legacy.plays p";
        let got = check(
            &r,
            sql,
            &[
                ("user_id", "account_id AS user_id"),
                ("legacy.plays", "lake.plays_v2"),
            ],
        );
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn an_old_column_name_left_behind_fails() {
        let r = rules(None);
        let sql = "SELECT user_id FROM legacy.plays WHERE user_id > 0";
        // The second reference was never renamed.
        let got = check(
            &r,
            sql,
            &[
                ("user_id", "account_id AS user_id"),
                ("legacy.plays", "lake.plays_v2"),
            ],
        );
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].contains("`user_id` still names the old column"),
            "{got:?}"
        );
    }

    #[test]
    fn a_qualifier_left_behind_fails() {
        let r = rules(None);
        let sql = "SELECT plays.user_id FROM legacy.plays";
        let got = check(
            &r,
            sql,
            &[
                ("user_id", "account_id AS user_id"),
                ("legacy.plays", "lake.plays_v2"),
            ],
        );
        assert!(
            got[0].contains("the qualifier `plays` names no table"),
            "{got:?}"
        );
    }

    #[test]
    fn a_correlated_reference_left_behind_fails() {
        let r = rules(None);
        let sql = "SELECT 1 FROM legacy.plays p WHERE EXISTS (SELECT 1 FROM legacy.users u WHERE u.id = user_id)";
        let got = check(&r, sql, &[("legacy.plays", "lake.plays_v2")]);
        assert!(got[0].contains("may still name the old column"), "{got:?}");
    }

    #[test]
    fn a_column_the_new_schema_lacks_fails() {
        let r = rules(Some(&["account_id", "track_id"]));
        let sql = "SELECT user_id, country FROM legacy.plays";
        let got = check(
            &r,
            sql,
            &[
                ("user_id", "account_id AS user_id"),
                ("legacy.plays", "lake.plays_v2"),
            ],
        );
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].contains("`country` is not a column of `lake.plays_v2`"),
            "{got:?}"
        );
    }

    #[test]
    fn output_names_and_date_parts_are_not_columns() {
        let r = rules(Some(&["account_id", "ts"]));
        let sql =
            "SELECT user_id, DATE_TRUNC(ts, MONTH) AS m FROM legacy.plays ORDER BY m, user_id";
        let got = check(
            &r,
            sql,
            &[
                ("user_id", "account_id AS user_id"),
                ("legacy.plays", "lake.plays_v2"),
            ],
        );
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn a_rewrite_that_breaks_the_syntax_fails() {
        let r = rules(None);
        let sql = "SELECT user_id FROM legacy.plays";
        let got = check(
            &r,
            sql,
            &[
                ("user_id", "account_id AS AS user_id"),
                ("legacy.plays", "lake.plays_v2"),
            ],
        );
        assert!(got[0].contains("no longer parses"), "{got:?}");
    }
}
