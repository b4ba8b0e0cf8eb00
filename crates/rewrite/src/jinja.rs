//! dbt models: SQL with Jinja in it. The Jinja is masked before the SQL is
//! parsed and is never edited, except `source('legacy', 'plays')`, whose two
//! names are the migrated table given apart (SPEC §3 rule 7).
//!
//! Masking keeps every byte offset: an expression `{{ ... }}` inside a
//! statement becomes an identifier of the same length (it usually stands for
//! a table or a value), and a `{% ... %}` tag, a `{# ... #}` comment or an
//! expression alone on its line becomes spaces. Newlines stay where they were.

use std::ops::Range;

use tern_spec::LocatorKind;

use crate::name::follow_case;
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
pub(crate) fn rewrite_model(rules: &Rules, text: &str) -> Outcome {
    let blocks = blocks(text);
    if blocks.is_empty() {
        return crate::sql::rewrite_sql(rules, text, &[]);
    }
    let mut masked = text.as_bytes().to_vec();
    for bl in &blocks {
        for c in &mut masked[bl.range.clone()] {
            if *c != b'\n' {
                *c = if bl.expression { b'_' } else { b' ' };
            }
        }
    }
    let Ok(masked) = String::from_utf8(masked) else {
        return crate::TextModule.rewrite(rules, "", text.as_bytes());
    };
    let calls: Vec<(Range<usize>, usize, Vec<Edit>)> = blocks
        .iter()
        .filter_map(|bl| {
            source_call(rules, text, bl.range.clone()).map(|(l, e)| (bl.range.clone(), l, e))
        })
        .collect();
    // A source another file of the repository keeps is not migrated here
    // either: its statement reads the old table, columns and all.
    let (kept, sources): (Vec<_>, Vec<_>) = calls
        .into_iter()
        .partition(|(_, l, _)| rules.dbt_kept(*l).is_some());
    let mut out = crate::sql::rewrite_sql(
        rules,
        &masked,
        &sources
            .iter()
            .map(|(r, _, e)| (r.clone(), e.clone()))
            .collect::<Vec<_>>(),
    );
    for (r, l, _) in &kept {
        let keeper = rules.dbt_kept(*l).unwrap_or_default();
        out.findings.push(crate::Finding::at(
            text.as_bytes(),
            r.start,
            format!(
                "dbt source `{}` left as is because {keeper} keeps its old name; change them together",
                rules.locators()[*l].old
            ),
        ));
        out.dbt.push(DbtSource {
            locator: *l,
            renamed: false,
        });
    }
    for (_, l, e) in &sources {
        out.dbt.push(DbtSource {
            locator: *l,
            renamed: e.iter().all(|e| out.edits.contains(e)),
        });
    }
    // Jinja stays byte-identical; a locator inside it is reported, not passed over.
    for bl in &blocks {
        if sources.iter().chain(&kept).any(|(r, _, _)| *r == bl.range) {
            continue;
        }
        let found = crate::text::find(rules, &text.as_bytes()[bl.range.clone()]);
        if let Some(m) = found.matches.first() {
            out.findings.push(crate::Finding::at(
                text.as_bytes(),
                bl.range.start + m.range.start,
                "the dataset is named inside Jinja, which tern does not rewrite; change it by hand",
            ));
        }
    }
    // Only a source() call's own edits may touch Jinja.
    let source_edits: Vec<&Edit> = sources.iter().flat_map(|(_, _, e)| e).collect();
    out.edits.retain(|e| {
        source_edits.contains(&e)
            || !blocks
                .iter()
                .any(|bl| e.range.start < bl.range.end && bl.range.start < e.range.end)
    });
    out
}

/// `{{ source('legacy', 'plays') }}` naming a two-part table locator: the
/// locator's index and edits for both names.
fn source_call(rules: &Rules, text: &str, block: Range<usize>) -> Option<(usize, Vec<Edit>)> {
    let inner = &text[block.start + 2..block.end - 2];
    let base = block.start + 2;
    let at = find_word(inner, "source")?;
    let mut lx = Lexer {
        s: inner,
        i: at + "source".len(),
    };
    lx.punct(b'(')?;
    let a = lx.string()?;
    lx.punct(b',')?;
    let b = lx.string()?;
    lx.punct(b')')?;
    let (i, l) = rules.locators().iter().enumerate().find(|(_, l)| {
        l.kind == LocatorKind::Table
            && l.old_parts.len() == 2
            && l.new_parts.len() == 2
            && l.old_parts[0].eq_ignore_ascii_case(&inner[a.clone()])
            && l.old_parts[1].eq_ignore_ascii_case(&inner[b.clone()])
    })?;
    Some((
        i,
        [(a, 0), (b, 1)]
            .into_iter()
            .map(|(r, i)| Edit {
                replacement: follow_case(
                    &inner[r.clone()],
                    &l.old_parts[i],
                    &l.new_parts[i],
                    false,
                ),
                range: base + r.start..base + r.end,
            })
            .collect(),
    ))
}

fn find_word(s: &str, w: &str) -> Option<usize> {
    let b = s.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'.';
    memchr::memmem::find_iter(b, w.as_bytes()).find(|&i| {
        (i == 0 || !ident(b[i - 1])) && b.get(i + w.len()).is_none_or(|&c| !ident(c) || c == b'(')
    })
}

/// Just enough of Jinja's expression syntax for a call with two string arguments.
struct Lexer<'a> {
    s: &'a str,
    i: usize,
}

impl Lexer<'_> {
    fn skip_ws(&mut self) {
        while self
            .s
            .as_bytes()
            .get(self.i)
            .is_some_and(u8::is_ascii_whitespace)
        {
            self.i += 1;
        }
    }

    fn punct(&mut self, c: u8) -> Option<()> {
        self.skip_ws();
        (self.s.as_bytes().get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    /// A quoted string without escapes; returns the range of its content.
    fn string(&mut self) -> Option<Range<usize>> {
        self.skip_ws();
        let q = *self.s.as_bytes().get(self.i)?;
        if q != b'\'' && q != b'"' {
            return None;
        }
        let start = self.i + 1;
        let len = memchr::memchr(q, &self.s.as_bytes()[start..])?;
        let content = &self.s[start..start + len];
        if content.contains('\\') {
            return None;
        }
        self.i = start + len + 1;
        Some(start..start + len)
    }
}
