//! Names built at run time: a location or table joined to something tern
//! cannot know is reported, not rewritten (rule 1).

use std::ops::Range;

use tern_spec::LocatorKind;
use tree_sitter::Node;

use super::sql_text::Part;
use super::File;

impl<'a, 't> File<'a, 't> {
    /// In a concatenation tern cannot fold, whether the name `n` stays the
    /// dataset: what follows it is a sub-path or a partition (`/dt=`,
    /// BigQuery's `$20260101`), or nothing. `TABLE + "_daily"`,
    /// `f"{TABLE}_{env}"` or `PLAYS + suffix` may be another dataset.
    pub(super) fn continues_as_part(&self, root: Node<'t>, n: Node<'t>) -> bool {
        let mut parts = Vec::new();
        self.parts(root, &mut parts);
        let r = n.byte_range();
        let inside = |x: &Range<usize>| x.start <= r.start && r.end <= x.end;
        let text = |from: usize, content: &Range<usize>, holes: &[Range<usize>]| {
            let to = holes
                .iter()
                .map(|h| h.start)
                .filter(|&s| s >= from)
                .min()
                .unwrap_or(content.end);
            self.src.get(from..to.max(from)).unwrap_or(b"").to_vec()
        };
        let mut next: Option<Vec<u8>> = None;
        for (i, p) in parts.iter().enumerate() {
            match p {
                Part::Code(c) if inside(c) => {
                    next = match parts.get(i + 1) {
                        None => Some(vec![]),
                        Some(Part::Str { content, holes, .. }) => {
                            Some(text(content.start, content, holes))
                        }
                        Some(Part::Code(_)) => None,
                    };
                    break;
                }
                Part::Str { content, holes, .. } => {
                    if let Some(h) = holes.iter().find(|h| inside(h)) {
                        next = Some(text(h.end, content, holes));
                        break;
                    }
                }
                _ => {}
            }
        }
        next.is_some_and(|t| t.is_empty() || t.starts_with(b"/") || t.starts_with(b"$"))
    }

    /// `base + "/warehouse/plays"`, `s"$base/warehouse/plays"`: a whole alias
    /// joined to a computed prefix may sit under another root (rule 1), so
    /// it is reported, not rewritten.
    pub(super) fn computed_prefix(&mut self, s: Node<'t>) -> bool {
        let Some((content, holes)) = self.content(s) else {
            return false;
        };
        let right_operand = s.parent().is_some_and(|p| {
            self.lang.is_concat(p, self.src) && p.child_by_field_name("right") == Some(s)
        });
        let joined: Vec<usize> = self
            .matches
            .iter()
            .filter(|m| {
                self.rules.locators()[m.locator].kind == LocatorKind::Path
                    && ((right_operand && m.range.start == content.start)
                        || holes.iter().any(|h| h.end == m.range.start))
            })
            .map(|m| m.range.start)
            .collect();
        for at in &joined {
            self.replaced.push(*at..content.end);
            self.findings.push((
                *at,
                format!("path built at run time: `{}` joins a location to a computed prefix, which may be another root; check it by hand", self.text(s)),
            ));
        }
        !joined.is_empty()
    }

    /// `base + "/plays"`, `os.path.join(b, "plays")`, `f"{b}/plays"`: a string
    /// holding only the tail of a location, joined to something computed.
    pub(super) fn run_time_path(&mut self, s: Node<'t>) {
        let Some((content, holes)) = self.content(s) else {
            return;
        };
        let Some(parent) = s.parent() else { return };
        let joined = self.lang.is_concat(parent, self.src)
            && parent.child_by_field_name("right") == Some(s)
            || self
                .call(parent.parent().unwrap_or(parent))
                .is_some_and(|c| matches!(self.text(c.name), "join" | "get" | "resolve"))
            || holes
                .iter()
                .any(|h| h.end <= content.start + 1 || h.end < content.end);
        if !joined {
            return;
        }
        // `f"{project}.core.users"`, `s"$project:core.users"`, `db + ".plays"`:
        // a table name whose leading parts are computed.
        let right_operand =
            self.lang.is_concat(parent, self.src) && parent.child_by_field_name("right") == Some(s);
        let starts = holes
            .iter()
            .map(|h| h.end)
            .chain(right_operand.then_some(content.start))
            .filter(|&e| e < content.end);
        for from in starts {
            if let Some(l) = self.computed_table(&self.src[from..content.end]) {
                self.findings.push((
                    s.start_byte(),
                    format!("table name built at run time: `{}` may be {l}; tern cannot tell, so check it by hand", self.text(s)),
                ));
                return;
            }
        }
        // The text after the last interpolation is the literal tail.
        let tail_from = holes
            .iter()
            .map(|h| h.end)
            .filter(|&e| e <= content.end)
            .max()
            .unwrap_or(content.start)
            .max(content.start);
        let tail = std::str::from_utf8(&self.src[tail_from..content.end]).unwrap_or("");
        let tail = tail.trim_start_matches('/');
        if tail.is_empty() {
            return;
        }
        for l in self.rules.locators() {
            if l.kind != LocatorKind::Path {
                continue;
            }
            let segments: Vec<&str> = l.old.split('/').collect();
            for k in 1..segments.len() {
                let suffix = segments[k..].join("/");
                if suffix.is_empty() || suffix.contains(':') {
                    continue;
                }
                let hit = tail == suffix
                    || tail
                        .strip_prefix(suffix.as_str())
                        .is_some_and(|rest| rest.starts_with('/'));
                if hit {
                    self.findings.push((
                        s.start_byte(),
                        format!("path built at run time: `{}` may be the tail of {}; tern cannot tell, so check it by hand", self.text(s), l.old),
                    ));
                    return;
                }
            }
        }
    }

    /// The table locator whose trailing parts `rest` starts with, after a
    /// separator (`.core.users`, `:core.users`, `` .`core`.users ``).
    pub(super) fn computed_table(&self, rest: &[u8]) -> Option<String> {
        let rest = std::str::from_utf8(rest).ok()?;
        let rest = rest.strip_prefix(['.', ':'])?;
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '`')))
            .unwrap_or(rest.len());
        let name = rest[..end].replace('`', "");
        let name = name.trim_end_matches('.');
        let parts: Vec<&str> = name.split('.').collect();
        self.rules.locators().iter().find_map(|l| {
            let n = l.old_parts.len();
            let k = parts.len();
            let hit = l.kind == LocatorKind::Table
                && k <= n
                && parts
                    .iter()
                    .zip(&l.old_parts[n - k..])
                    .all(|(a, b)| l.same_name(a, b));
            hit.then(|| l.old.clone())
        })
    }
}
