//! SQL held in strings and concatenations of them: read as the program
//! sees it (`sql_text.rs`) and handed to the SQL module, whose edits
//! replace the text matcher's.

use std::collections::HashSet;
use std::ops::Range;

use tree_sitter::Node;

use super::sql_text::{Part, SqlText};
use super::{renaming_query, File};

impl<'a, 't> File<'a, 't> {
    /// The SQL values in the file: each concatenation of strings that holds
    /// SQL (`"SELECT a " + "FROM t"`), then each other string that does.
    /// Returns the string nodes they were read from.
    pub(super) fn sql_values(&mut self, strings: &[Node<'t>]) -> HashSet<usize> {
        let mut done = HashSet::new();
        let mut roots = HashSet::new();
        for s in strings {
            let Some(root) = self.concat_root(*s) else {
                continue;
            };
            if !roots.insert(root.id()) {
                continue;
            }
            let mut parts = Vec::new();
            self.parts(root, &mut parts);
            if let Some(value) = self.sql_value(&parts) {
                for p in &parts {
                    if let Part::Str { node, .. } = p {
                        done.insert(node.id());
                    }
                }
                self.sql_rewrite(value);
            }
        }
        for s in strings {
            if done.contains(&s.id()) {
                continue;
            }
            let Some((content, holes)) = self.content(*s) else {
                continue;
            };
            // tern's own renaming query over a table that stays where it is
            // (rule 9): already migrated, not a `SELECT *` to report.
            let written = &self.src[content.clone()];
            let own = !self.rules.columns().is_empty()
                && self.rules.locators().iter().any(|l| {
                    l.old == l.new
                        && l.is_bigquery()
                        && written == renaming_query(self.rules, &l.new).as_bytes()
                });
            if own {
                done.insert(s.id());
                continue;
            }
            let part = Part::Str {
                node: *s,
                content,
                holes,
            };
            if let Some(value) = self.sql_value(std::slice::from_ref(&part)) {
                done.insert(s.id());
                self.sql_rewrite(value);
            }
        }
        done
    }

    /// The top of the `+` chain (or Python's implicit concatenation) that
    /// string `s` is an operand of.
    pub(super) fn concat_root(&self, s: Node<'t>) -> Option<Node<'t>> {
        let mut n = match s.parent() {
            Some(p) if p.kind() == "interpolated_string_expression" => p,
            _ => s,
        };
        let start = n.id();
        while let Some(p) = n.parent() {
            let joins = self.lang.is_concat(p, self.src)
                || p.kind() == "concatenated_string"
                || (p.kind() == "parenthesized_expression"
                    && p.parent().is_some_and(|g| self.lang.is_concat(g, self.src)));
            if !joins {
                break;
            }
            n = p;
        }
        (n.id() != start).then_some(n)
    }

    /// The operands of a concatenation, in order.
    pub(super) fn parts(&self, n: Node<'t>, out: &mut Vec<Part<'t>>) {
        let mut cur = n.walk();
        if self.lang.is_concat(n, self.src) {
            for side in ["left", "right"] {
                if let Some(c) = n.child_by_field_name(side) {
                    self.parts(c, out);
                }
            }
        } else if n.kind() == "concatenated_string" || n.kind() == "parenthesized_expression" {
            for c in n.named_children(&mut cur) {
                self.parts(c, out);
            }
        } else if n.kind() == "interpolated_string_expression" {
            match n.named_children(&mut cur).find(|c| self.lang.is_string(*c)) {
                Some(c) => self.parts(c, out),
                None => out.push(Part::Code(n.byte_range())),
            }
        } else if let Some((content, holes)) =
            self.lang.is_string(n).then(|| self.content(n)).flatten()
        {
            out.push(Part::Str {
                node: n,
                content,
                holes,
            });
        } else {
            out.push(Part::Code(n.byte_range()));
        }
    }

    /// The SQL value of the parts, when they name a locator and hold SQL: a
    /// statement, or a fragment naming a table after `FROM`, `JOIN`, `INTO`,
    /// `UPDATE` or `TABLE`. An error when they hold SQL tern cannot read.
    pub(super) fn sql_value(
        &self,
        parts: &[Part<'t>],
    ) -> Option<Result<SqlText, (Range<usize>, String)>> {
        let strings = || {
            parts.iter().filter_map(|p| match p {
                Part::Str { content, .. } => Some(content.clone()),
                Part::Code(_) => None,
            })
        };
        let names = strings().any(|c| {
            self.matches
                .iter()
                .any(|m| m.range.start >= c.start && m.range.end <= c.end)
        });
        if !names {
            return None;
        }
        match SqlText::read(self.lang, self.src, parts) {
            Ok(t) => {
                crate::sql::holds_sql(self.rules, t.value.text.as_bytes(), true).then_some(Ok(t))
            }
            Err(reason) => strings()
                .any(|c| crate::sql::holds_sql(self.rules, &self.src[c], true))
                .then(|| {
                    let start = strings().map(|c| c.start).min().unwrap_or(0);
                    let end = strings().map(|c| c.end).max().unwrap_or(start);
                    let span = start..end;
                    Err((span, reason))
                }),
        }
    }

    /// SQL goes to the SQL module; its edits replace the text edits. The
    /// value changes whole or not at all: when an edit cannot be written back
    /// into the string it lands in, the value is left whole and reported.
    pub(super) fn sql_rewrite(&mut self, value: Result<SqlText, (Range<usize>, String)>) {
        let t = match value {
            Ok(t) => t,
            Err((span, reason)) => {
                self.replaced.push(span.clone());
                self.findings.push((
                    span.start,
                    format!("this string holds SQL that tern cannot read ({reason}); left whole, table name included"),
                ));
                return;
            }
        };
        self.replaced.push(t.value.span.clone());
        let out = crate::mapped::rewrite_sql(self.rules, self.src, &t.value, |piece, r| {
            t.encode(piece, r)
        });
        self.edits.extend(out.edits);
        self.findings.extend(out.findings);
        self.schema.checked += out.schema.checked;
        self.schema.failures.extend(out.schema.failures);
    }
}
