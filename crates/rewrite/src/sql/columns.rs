//! Column renames: the references that bind to the migrated table and the
//! qualifiers that are its own name, and the renames in a bare filter
//! expression (a BigQuery Storage read's `rowRestriction`).

use sqlparser::ast::Ident;
use sqlparser::dialect::BigQueryDialect;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};
use tern_spec::LocatorKind;

use super::parse::Lines;
use super::scope::{Analysis, Bind, Known, Mode, Rel};
use crate::name::follow_case;
use crate::rules::Rules;
use crate::text::Match;
use crate::Edit;

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

/// The text of a written identifier inside its quotes.
pub(super) fn unquoted<'s>(written: &'s str, id: &Ident) -> &'s str {
    match id.quote_style {
        Some(_) if written.len() >= 2 => &written[1..written.len() - 1],
        _ => written,
    }
}

pub(super) fn quoted(quote: Option<char>, s: &str) -> String {
    match quote {
        Some('[') => format!("[{s}]"),
        Some(q) => format!("{q}{s}{q}"),
        None => s.to_string(),
    }
}

/// Renames the column references that bind to the migrated table, and the
/// qualifiers that are its own name; a renamed column tern cannot bind is a
/// blocker.
pub(super) fn columns(
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
pub(super) fn qualifier(
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
