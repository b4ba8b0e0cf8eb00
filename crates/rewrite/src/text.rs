//! Boundary-aware locator matching over raw bytes: the fallback module for
//! any text file, and the base every language module builds on.
//!
//! It knows docs/rules.md rules 1–3: a locator matches only as a whole at both ends,
//! the longest overlapping alias wins, a path's suffix is kept (its extension
//! following the format), and replacements follow the case and quoting of what
//! they replace. It knows nothing of any language's syntax.

use std::collections::BTreeMap;
use std::ops::Range;

use tern_spec::LocatorKind;

use crate::rules::{Needle, Rules};
use crate::{Edit, Finding, Language, Outcome};

/// The plain-text module: boundary-aware replacement of every locator.
pub struct TextModule;

impl Language for TextModule {
    fn name(&self) -> &'static str {
        "text"
    }

    fn claims(&self, _path: &str) -> bool {
        true
    }

    fn rewrite(&self, rules: &Rules, _path: &str, text: &[u8]) -> Outcome {
        find(rules, text).outcome(text)
    }
}

/// One accepted occurrence of a locator and the text that replaces it.
#[derive(Debug, Clone)]
pub(crate) struct Match {
    /// Bytes to replace: the locator.
    pub range: Range<usize>,
    /// Replacement text.
    pub replacement: String,
    /// Index of the locator in `Rules::locators`.
    pub locator: usize,
    /// The file extension ending a path's suffix, when the format changes:
    /// a separate edit, so other names inside the suffix are still seen in
    /// the same pass (rule 9).
    pub extension: Option<Edit>,
}

impl Match {
    /// The edits this match makes: the locator, and its suffix's extension.
    pub(crate) fn edits(&self) -> impl Iterator<Item = Edit> + '_ {
        std::iter::once(Edit {
            range: self.range.clone(),
            replacement: self.replacement.clone(),
        })
        .chain(self.extension.clone())
    }
}

/// Everything found in one buffer.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// Non-overlapping matches in file order.
    pub matches: Vec<Match>,
    /// (byte offset, reason) of references left alone.
    pub unresolved: Vec<(usize, String)>,
}

impl Found {
    /// What the text matcher alone makes of `bytes`: every match rewritten,
    /// every unresolved reference reported.
    pub(crate) fn outcome(&self, bytes: &[u8]) -> Outcome {
        Outcome {
            edits: self.matches.iter().flat_map(Match::edits).collect(),
            findings: self
                .unresolved
                .iter()
                .map(|(at, reason)| Finding::at(bytes, *at, reason.as_str()))
                .collect(),
            ..Outcome::default()
        }
    }
}

pub(crate) enum Candidate {
    Match(Match),
    Unresolved(usize, String),
}

/// Finds every locator occurrence in `b`, longest match first where they overlap.
pub(crate) fn find(rules: &Rules, b: &[u8]) -> Found {
    let mut matches = Vec::new();
    let mut unresolved = Vec::new();
    for hit in rules.automaton.find_overlapping_iter(b) {
        let candidate = match rules.needles[hit.pattern().as_usize()] {
            Needle::Whole(i) => match rules.locators[i].kind {
                LocatorKind::Path => path_match(rules, i, b, hit.start(), hit.end()),
                _ => entity_match(rules, i, b, hit.start(), hit.end()),
            },
            Needle::TablePart(i, part) => crate::name::table_match(rules, i, part, b, hit.start()),
        };
        match candidate {
            Some(Candidate::Match(m)) => matches.push(m),
            Some(Candidate::Unresolved(at, why)) => unresolved.push((at, why)),
            None => {}
        }
    }
    // Longest wins; among equals, the earlier.
    matches.sort_by_key(|m| (std::cmp::Reverse(m.range.len()), m.range.start));
    let mut taken: BTreeMap<usize, Match> = BTreeMap::new();
    for m in matches {
        let overlaps_before = taken
            .range(..m.range.end)
            .next_back()
            .is_some_and(|(_, prev)| prev.range.end > m.range.start);
        if !overlaps_before {
            taken.insert(m.range.start, m);
        }
    }
    let matches: Vec<Match> = taken.into_values().collect();
    unresolved.retain(|(at, _)| !matches.iter().any(|m| m.range.contains(at)));
    unresolved.sort();
    unresolved.dedup();
    Found {
        matches,
        unresolved,
    }
}

/// Bytes that continue a path or URI to the left of a locator.
fn path_char_left(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'_' | b'-' | b'.' | b'~' | b'/' | b':' | b'@' | b'%' | b'+'
        )
}

/// What follows a path locator decides whether it ended there.
enum After {
    /// The name ends here.
    Boundary,
    /// A sub-path follows (`/`).
    Slash,
    /// The name goes on (`plays_archive`, `plays.bak`).
    Continues,
    /// The name goes on with something tern cannot know now.
    Unknown(&'static str),
}

fn after_path(b: &[u8], e: usize) -> After {
    let Some(&c) = b.get(e) else {
        return After::Boundary;
    };
    match c {
        b'/' => After::Slash,
        b'.' if b
            .get(e + 1)
            .is_some_and(|n| n.is_ascii_alphanumeric() || *n == b'_') =>
        {
            After::Continues
        }
        c if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'~' | b'+' | b'@') => {
            After::Continues
        }
        b'*' | b'?' | b'[' => After::Unknown("a glob here reaches past the dataset's location"),
        b'$' | b'{' | b'%' => {
            After::Unknown("path built at run time: the name continues with a computed value")
        }
        _ => After::Boundary,
    }
}

fn path_match(rules: &Rules, i: usize, b: &[u8], s: usize, e: usize) -> Option<Candidate> {
    let l = &rules.locators[i];
    if &b[s..e] != l.old.as_bytes() || (s > 0 && path_char_left(b[s - 1])) {
        return None;
    }
    let mut extension = None;
    match after_path(b, e) {
        After::Boundary => {}
        After::Continues => return None,
        After::Unknown(why) => return Some(Candidate::Unresolved(s, why.to_string())),
        After::Slash => {
            let end = suffix_end(b, e);
            if let Some(f) = &rules.format {
                extension = swap_extension(&b[e..end], &f.old, &f.new).map(|(at, new)| Edit {
                    range: e + at..end,
                    replacement: new,
                });
            }
        }
    }
    Some(Candidate::Match(Match {
        range: s..e,
        replacement: l.new.clone(),
        locator: i,
        extension,
    }))
}

/// End of the path token that starts at `from` (a `/` after the locator).
fn suffix_end(b: &[u8], from: usize) -> usize {
    let mut depth = 0usize;
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'{' => depth += 1,
            b'}' if depth > 0 => depth -= 1,
            c if c.is_ascii_whitespace()
                || matches!(
                    c,
                    b'"' | b'\''
                        | b'`'
                        | b','
                        | b';'
                        | b'('
                        | b')'
                        | b'<'
                        | b'>'
                        | b'|'
                        | b'\\'
                        | b']'
                        | b'}'
                        | 0
                ) =>
            {
                break
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// The file extension a format's files carry.
pub(crate) fn extension(format: &str) -> &str {
    match format {
        "delta" | "iceberg" | "hudi" => "parquet",
        "text" => "txt",
        other => other,
    }
}

/// In `"/date=X/part-0.avro"` with avro→parquet: the offset of `avro` in the
/// suffix, and `parquet`; `None` when the last segment does not carry the old
/// extension.
fn swap_extension(suffix: &[u8], old: &str, new: &str) -> Option<(usize, String)> {
    let suffix = std::str::from_utf8(suffix).ok()?;
    let (old, new) = (extension(old), extension(new));
    if old == new {
        return None;
    }
    let last = &suffix[suffix.rfind('/').map_or(0, |i| i + 1)..];
    let dot = last.rfind('.')?;
    let ext = &last[dot + 1..];
    if dot == 0 || !ext.eq_ignore_ascii_case(old) {
        return None;
    }
    let new_ext = if ext.bytes().all(|c| c.is_ascii_uppercase()) {
        new.to_ascii_uppercase()
    } else {
        new.to_string()
    };
    Some((suffix.len() - ext.len(), new_ext))
}

fn entity_match(rules: &Rules, i: usize, b: &[u8], s: usize, e: usize) -> Option<Candidate> {
    let l = &rules.locators[i];
    let name_char = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-');
    if s > 0 && (name_char(b[s - 1]) || matches!(b[s - 1], b'.' | b'/' | b':')) {
        return None;
    }
    if let Some(&c) = b.get(e) {
        if name_char(c) || (c == b'.' && b.get(e + 1).is_some_and(|n| n.is_ascii_alphanumeric())) {
            return None;
        }
    }
    // Keep the kind and namespace as written; only the name changes.
    let prefix = l.old.rfind(['/', ':']).map_or(0, |p| p + 1);
    Some(Candidate::Match(Match {
        range: s + prefix..e,
        replacement: l.new[prefix..].to_string(),
        locator: i,
        extension: None,
    }))
}
