//! Dotted table names in every written form: `legacy.plays`, `` `legacy`.`plays` ``,
//! `` `legacy.plays` ``, `"legacy"."plays"`, `[legacy].[plays]`, and BigQuery's
//! `my-proj:legacy.plays` and `[my-proj:legacy.plays]`.

use std::ops::Range;

use crate::rules::Rules;
use crate::text::{Candidate, Match};

/// One part of a name, with its own quote if it has one.
#[derive(Debug, Clone)]
struct Part {
    /// The part's text, quotes excluded.
    text: Range<usize>,
    /// The quote around the segment holding this part.
    quote: Option<u8>,
    /// Which quoted or bare segment this part belongs to.
    segment: usize,
}

#[derive(Debug)]
struct Name {
    parts: Vec<Part>,
    /// A `:` separates the first part from the second (BigQuery project).
    colon: bool,
}

fn bare(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

fn close_of(q: u8) -> u8 {
    if q == b'[' {
        b']'
    } else {
        q
    }
}

fn opens_segment(c: u8) -> bool {
    bare(c) || matches!(c, b'`' | b'"' | b'[')
}

/// Parses a dotted name starting at `start` (a quote or the first bare byte).
fn parse(b: &[u8], start: usize) -> Option<Name> {
    let mut parts: Vec<Part> = Vec::new();
    let mut colon = false;
    let mut i = start;
    let mut segment = 0;
    loop {
        let c = *b.get(i)?;
        if matches!(c, b'`' | b'"' | b'[') {
            let close = close_of(c);
            let inner_start = i + 1;
            let len = b[inner_start..]
                .iter()
                .take(256)
                .position(|&x| x == close || x == b'\n')?;
            let inner_end = inner_start + len;
            if b[inner_end] != close || len == 0 {
                break;
            }
            let mut p = inner_start;
            for (k, &x) in b[inner_start..=inner_end].iter().enumerate() {
                let at = inner_start + k;
                if at == inner_end || x == b'.' || x == b':' {
                    if p == at {
                        return not_a_name_quote(parts, colon, segment);
                    }
                    if x == b':' {
                        if parts.is_empty() && p == inner_start {
                            colon = true;
                        } else {
                            return not_a_name_quote(parts, colon, segment);
                        }
                    }
                    parts.push(Part {
                        text: p..at,
                        quote: Some(c),
                        segment,
                    });
                    p = at + 1;
                } else if !bare(x) {
                    // Not a name inside these quotes (a sentence, an expression).
                    return not_a_name_quote(parts, colon, segment);
                }
            }
            i = inner_end + 1;
        } else if bare(c) {
            let len = b[i..].iter().position(|&x| !bare(x)).unwrap_or(b.len() - i);
            parts.push(Part {
                text: i..i + len,
                quote: None,
                segment,
            });
            i += len;
        } else {
            break;
        }
        segment += 1;
        match (b.get(i), b.get(i + 1)) {
            (Some(b'.'), Some(&n)) if opens_segment(n) => i += 1,
            (Some(b':'), Some(&n))
                if parts.len() == 1 && !colon && opens_segment(n) && n != b'"' =>
            {
                colon = true;
                i += 1
            }
            _ => break,
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(Name { parts, colon })
    }
}

/// A quote whose contents are not a dotted name. When it opens the name, the
/// caller looks at the bare text after it instead, whatever else the quotes
/// hold, so that a rewrite elsewhere inside them cannot change the answer on
/// a second pass (rule 9). Parts inside this quote are never kept.
fn not_a_name_quote(mut parts: Vec<Part>, colon: bool, segment: usize) -> Option<Name> {
    parts.retain(|p| p.segment < segment);
    if parts.is_empty() {
        None
    } else {
        Some(Name { parts, colon })
    }
}

/// Bytes that, right before a name, make it part of something longer.
fn joined_left(c: u8) -> bool {
    bare(c) || matches!(c, b'.' | b':' | b'/' | b'@' | b'$')
}

/// Tries table locator `i` at a hit of its part `part` starting at `s`.
pub(crate) fn table_match(
    rules: &Rules,
    i: usize,
    part: usize,
    b: &[u8],
    s: usize,
) -> Option<Candidate> {
    let l = &rules.locators[i];
    let bq = l.is_bigquery();
    // A name may open with a quote just before the hit.
    let start = if s > 0 && matches!(b[s - 1], b'`' | b'"' | b'[') {
        s - 1
    } else {
        s
    };
    if start > 0 && joined_left(b[start - 1]) {
        return None;
    }
    let name = parse(b, start).or_else(|| if start != s { parse(b, s) } else { None })?;
    if name.parts[0].text.start != s {
        return None;
    }
    let want = &l.old_parts[part..];
    if name.parts.len() < want.len() {
        return None;
    }
    let same = |p: &Part, w: &String| {
        let got = &b[p.text.clone()];
        if bq {
            got == w.as_bytes()
        } else {
            got.eq_ignore_ascii_case(w.as_bytes())
        }
    };
    if !name.parts.iter().zip(want).all(|(p, w)| same(p, w)) {
        return None;
    }
    if part > 0 {
        // A BigQuery name without its project rests on a default project.
        if name.parts.len() == want.len() && !name.colon {
            let shown = String::from_utf8_lossy(
                &b[name.parts[0].text.start..name.parts[want.len() - 1].text.end],
            );
            return Some(Candidate::Unresolved(
                s,
                format!("`{shown}` lacks the project of `{}` (it rests on a default project); qualify it by hand", l.old),
            ));
        }
        return None;
    }
    // `:` only separates a BigQuery project.
    if name.colon && !bq {
        return None;
    }
    Some(Candidate::Match(replace(
        b,
        &name.parts[..want.len()],
        name.colon,
        l,
        i,
    )))
}

fn replace(b: &[u8], parts: &[Part], colon: bool, l: &crate::Locator, i: usize) -> Match {
    let n = parts.len();
    let new = &l.new_parts;
    let text = |p: &Part| String::from_utf8_lossy(&b[p.text.clone()]).into_owned();
    let between: Vec<String> = parts
        .windows(2)
        .map(|w| String::from_utf8_lossy(&b[w[0].text.end..w[1].text.start]).into_owned())
        .collect();
    let start = parts[0].text.start;
    let end = parts[n - 1].text.end;
    let out = if new.len() == n {
        let mut out = String::new();
        for (k, p) in parts.iter().enumerate() {
            if k > 0 {
                out.push_str(&between[k - 1]);
            }
            out.push_str(&follow_case(
                &text(p),
                &l.old_parts[k],
                &new[k],
                l.is_bigquery(),
            ));
        }
        return Match {
            range: start..end,
            replacement: out,
            locator: i,
            extension: None,
        };
    } else {
        let found = String::from_utf8_lossy(&b[start..end]).into_owned();
        let upper = !l.is_bigquery()
            && found.bytes().any(|c| c.is_ascii_alphabetic())
            && !found.bytes().any(|c| c.is_ascii_lowercase());
        let new: Vec<String> = new
            .iter()
            .map(|p| {
                if upper {
                    p.to_ascii_uppercase()
                } else {
                    p.clone()
                }
            })
            .collect();
        let one_segment = parts.iter().all(|p| p.segment == parts[0].segment);
        let each_quoted = parts.iter().enumerate().all(|(k, p)| {
            p.segment == parts[0].segment + k && p.quote.is_some() && p.quote == parts[0].quote
        });
        if one_segment || parts.iter().all(|p| p.quote.is_none()) {
            let mut out = String::new();
            for (k, p) in new.iter().enumerate() {
                if k == 1 {
                    out.push(if colon && new.len() == 3 { ':' } else { '.' });
                } else if k > 1 {
                    out.push('.');
                }
                out.push_str(p);
            }
            out
        } else if each_quoted {
            let q = parts[0].quote.unwrap_or(b'`');
            let sep = format!("{}.{}", close_of(q) as char, q as char);
            new.join(&sep)
        } else {
            // Mixed quoting (`` `my-proj`.legacy.plays ``): rewrite the whole
            // name, quoting only the first part as it was.
            let first_alone = parts.get(1).is_none_or(|p1| p1.segment != parts[0].segment);
            let range_start = if parts[0].quote.is_some() && first_alone {
                start - 1
            } else {
                start
            };
            let mut out = match (parts[0].quote, first_alone) {
                (Some(q), true) => format!("{}{}{}", q as char, new[0], close_of(q) as char),
                _ => new[0].clone(),
            };
            for p in &new[1..] {
                out.push('.');
                out.push_str(p);
            }
            return Match {
                range: range_start..end,
                replacement: out,
                locator: i,
                extension: None,
            };
        }
    };
    Match {
        range: start..end,
        replacement: out,
        locator: i,
        extension: None,
    }
}

/// `LEGACY` → `LAKE`: the replacement follows the case of what it replaces.
pub(crate) fn follow_case(found: &str, old: &str, new: &str, exact: bool) -> String {
    if exact || found == old {
        return new.to_string();
    }
    let letters = found.bytes().any(|c| c.is_ascii_alphabetic());
    if letters && !found.bytes().any(|c| c.is_ascii_lowercase()) {
        new.to_ascii_uppercase()
    } else if letters && !found.bytes().any(|c| c.is_ascii_uppercase()) {
        new.to_ascii_lowercase()
    } else {
        new.to_string()
    }
}
