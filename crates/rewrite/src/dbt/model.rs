//! dbt models: SQL with Jinja in it. The Jinja is masked before the SQL is
//! parsed and is never edited, except `source('legacy', 'plays')`, whose two
//! names are the migrated table given apart (docs/rules.md rule 7).
//!
//! Masking keeps every byte offset: an expression `{{ ... }}` inside a
//! statement becomes an identifier of the same length (it usually stands for
//! a table or a value), and a `{% ... %}` tag, a `{# ... #}` comment or an
//! expression alone on its line becomes spaces. Newlines stay where they were.

use std::ops::Range;

use tern_spec::LocatorKind;

use super::{source_args, source_ranges};
use crate::rules::Rules;
use crate::{DbtSource, Edit, Language, Outcome};

/// One Jinja block: its byte range and whether it is an expression inside a statement.
struct Block {
    range: Range<usize>,
    expression: bool,
}

fn blocks(text: &str) -> Vec<Block> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'{', &b[i..]) {
        let s = i + off;
        let close: &[u8] = match b.get(s + 1) {
            Some(b'{') => b"}}",
            Some(b'%') => b"%}",
            Some(b'#') => b"#}",
            _ => {
                i = s + 1;
                continue;
            }
        };
        let Some(end) = memchr::memmem::find(&b[s + 2..], close).map(|e| s + 2 + e + 2) else {
            break;
        };
        let alone = {
            let before = &b[..s];
            let line_start = before
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |p| p + 1);
            let after_end = b[end..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| end + p);
            before[line_start..].iter().all(|c| c.is_ascii_whitespace())
                && b[end..after_end].iter().all(|c| c.is_ascii_whitespace())
        };
        out.push(Block {
            range: s..end,
            expression: close == b"}}" && !alone,
        });
        i = end;
    }
    out
}

/// Rewrites a SQL file that may hold Jinja.
pub(crate) fn rewrite(rules: &Rules, text: &str) -> Outcome {
    let blocks = blocks(text);
    if blocks.is_empty() {
        return crate::sql::rewrite_sql(rules, text, &[]);
    }
    let mut findings: Vec<(usize, String)> = Vec::new();
    let mut several = false;
    // A macro argument naming a renamed column (`{{ cents_to_dollars('amount') }}`)
    // stands in the statement as that column, so scoping decides whether it
    // reads the migrated table.
    let exposed: Vec<Option<Range<usize>>> = blocks
        .iter()
        .map(|bl| match column_argument(rules, text, bl) {
            Ok(r) => r,
            Err(at) => {
                several = true;
                findings.push((
                    at,
                    "this macro call names several renamed columns; tern does not rename inside it, so the model is left whole".into(),
                ));
                None
            }
        })
        .collect();
    let mut masked = text.as_bytes().to_vec();
    for (bl, shown) in blocks.iter().zip(&exposed) {
        for i in bl.range.clone() {
            if masked[i] == b'\n' || shown.as_ref().is_some_and(|r| r.contains(&i)) {
                continue;
            }
            masked[i] = if bl.expression && shown.is_none() {
                b'_'
            } else {
                b' '
            };
        }
    }
    let Ok(masked) = String::from_utf8(masked) else {
        return crate::TextModule.rewrite(rules, "", text.as_bytes());
    };
    let mut calls: Vec<(Range<usize>, usize, Vec<Edit>)> = Vec::new();
    for bl in &blocks {
        match source_call(rules, text, bl.range.clone()) {
            Some(Ok((l, e))) => calls.push((bl.range.clone(), l, e)),
            Some(Err((l, why))) => {
                findings.push((bl.range.start, why));
                calls.push((bl.range.clone(), l, vec![]));
            }
            None => {}
        }
    }
    // A source another file of the repository keeps, or one this repository
    // does not declare, is not migrated here either: its statement reads the
    // old table, columns and all.
    let (kept, sources): (Vec<_>, Vec<_>) = calls
        .into_iter()
        .partition(|(_, l, e)| e.is_empty() || rules.dbt_kept(*l).is_some());
    let mut out = crate::sql::rewrite_sql(
        rules,
        &masked,
        &sources
            .iter()
            .map(|(r, _, e)| (r.clone(), e.clone()))
            .collect::<Vec<_>>(),
    );
    for (r, l, _) in &kept {
        if let Some(keeper) = rules.dbt_kept(*l) {
            findings.push((
                r.start,
                format!(
                    "dbt source of `{}` left as is because {keeper} keeps its old name; change them together",
                    rules.locators()[*l].old
                ),
            ));
        }
    }
    // Jinja stays byte-identical; a locator inside it is reported, not passed over.
    for bl in &blocks {
        if sources.iter().chain(&kept).any(|(r, _, _)| *r == bl.range) {
            continue;
        }
        let found = crate::text::find(rules, &text.as_bytes()[bl.range.clone()]);
        if let Some(m) = found.matches.first() {
            findings.push((
                bl.range.start + m.range.start,
                "the dataset is named inside Jinja, which tern does not rewrite; change it by hand"
                    .into(),
            ));
        } else if mentions_source(rules, &text[bl.range.clone()]) {
            findings.push((
                bl.range.start,
                "a dbt source of the dataset is used inside Jinja, which tern does not rewrite; change it by hand".into(),
            ));
        }
    }
    // Only a source() call's own edits and a plain rename of an exposed
    // macro argument may touch Jinja; any other edit there would split it,
    // so the model is left whole.
    let source_edits: Vec<&Edit> = sources.iter().flat_map(|(_, _, e)| e).collect();
    let into_jinja = out.edits.iter().find(|e| {
        !source_edits.contains(e)
            && blocks.iter().zip(&exposed).any(|(bl, shown)| {
                let touches = e.range.start < bl.range.end && bl.range.start < e.range.end
                    || (e.range.is_empty() && bl.range.contains(&e.range.start));
                let plain = shown.as_ref().is_some_and(|r| {
                    r.start <= e.range.start
                        && e.range.end <= r.end
                        && e.replacement
                            .bytes()
                            .all(|c| c.is_ascii_alphanumeric() || c == b'_')
                });
                touches && !plain
            })
    });
    if let Some(e) = into_jinja {
        findings.push((
            e.range.start,
            "a rename here would land inside Jinja; the model is left whole".into(),
        ));
    }
    let whole = into_jinja.is_some() || several;
    if whole {
        out.edits.clear();
    }
    for (_, l, e) in &sources {
        out.dbt.push(DbtSource {
            locator: *l,
            renamed: !whole && e.iter().all(|e| out.edits.contains(e)),
            declares: None,
        });
    }
    for (_, l, _) in &kept {
        out.dbt.push(DbtSource {
            locator: *l,
            renamed: false,
            declares: None,
        });
    }
    out.findings.extend(
        findings
            .into_iter()
            .map(|(at, why)| crate::Finding::at(text.as_bytes(), at, why)),
    );
    out
}

/// Macros whose string arguments never name a column of the statement.
const NOT_COLUMNS: &[&str] = &[
    "source",
    "ref",
    "var",
    "config",
    "env_var",
    "this",
    "target",
    "is_incremental",
    "adapter",
    "run_query",
    "log",
    "return",
    "doc",
    "metric",
];

/// The one string argument of a macro call in an expression block that names
/// a renamed column (its content's range); `Err` at the block when several do.
fn column_argument(rules: &Rules, text: &str, bl: &Block) -> Result<Option<Range<usize>>, usize> {
    if !bl.expression || rules.columns().is_empty() {
        return Ok(None);
    }
    let inner = &text[bl.range.start + 2..bl.range.end - 2];
    let head: String = inner
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if NOT_COLUMNS.contains(&head.as_str()) || !inner.contains('(') {
        return Ok(None);
    }
    let base = bl.range.start + 2;
    let b = inner.as_bytes();
    let mut found = None;
    let mut i = 0;
    while i < b.len() {
        let q = b[i];
        if q != b'\'' && q != b'"' {
            i += 1;
            continue;
        }
        let Some(len) = memchr::memchr(q, &b[i + 1..]) else {
            break;
        };
        let content = &inner[i + 1..i + 1 + len];
        if rules
            .columns()
            .iter()
            .any(|(old, _)| old.eq_ignore_ascii_case(content))
        {
            if found.is_some() {
                return Err(bl.range.start);
            }
            found = Some(base + i + 1..base + i + 1 + len);
        }
        i += len + 2;
    }
    Ok(found)
}

/// Whether Jinja text calls a dbt source of the dataset.
fn mentions_source(rules: &Rules, block: &str) -> bool {
    let mut at = 0;
    while let Some(i) = find_word(&block[at..], "source") {
        let s = at + i;
        if let Some((a, b)) = source_args(&block[s..s + paren_end(&block[s..])]) {
            if rules.dbt_alias(&a, &b).is_some() {
                return true;
            }
        }
        at = s + "source".len();
    }
    false
}

/// Length up to and including the first `)`.
fn paren_end(s: &str) -> usize {
    s.find(')').map_or(s.len(), |p| p + 1)
}

/// `{{ source('shop', 'orders') }}` naming a migrated table through the
/// repository's `sources:` entries: the locator, and an edit that leaves the
/// call as it is (the entry moves, not the call) but says, by surviving,
/// that its statement was rewritten. `Err` when the call names the dataset
/// but is not declared in the repository, with why.
#[allow(clippy::type_complexity)]
fn source_call(
    rules: &Rules,
    text: &str,
    block: Range<usize>,
) -> Option<Result<(usize, Vec<Edit>), (usize, String)>> {
    let (ra, rb) = source_ranges(&text[block.clone()])?;
    let base = block.start;
    let (a, b) = (
        &text[base + ra.start..base + ra.end],
        &text[base + rb.start..base + rb.end],
    );
    if let Some(alias) = rules.dbt_alias(a, b) {
        let edit = match &alias.new_source {
            Some(new) => Edit {
                range: base + ra.start..base + ra.end,
                replacement: new.clone(),
            },
            None => Edit {
                range: block.clone(),
                replacement: text[block].to_string(),
            },
        };
        return Some(Ok((alias.locator, vec![edit])));
    }
    let (i, l) = rules.locators().iter().enumerate().find(|(_, l)| {
        l.kind == LocatorKind::Table
            && l.old_parts.len() == 2
            && l.old_parts[0].eq_ignore_ascii_case(a)
            && l.old_parts[1].eq_ignore_ascii_case(b)
    })?;
    Some(Err((
        i,
        format!(
            "`source('{a}', '{b}')` names {} but no `sources:` entry in this repository declares it; move its entry with the table",
            l.old
        ),
    )))
}

fn find_word(s: &str, w: &str) -> Option<usize> {
    let b = s.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'.';
    memchr::memmem::find_iter(b, w.as_bytes()).find(|&i| {
        (i == 0 || !ident(b[i - 1])) && b.get(i + w.len()).is_none_or(|&c| !ident(c) || c == b'(')
    })
}
