//! SQL held in another file's values: a code string, a concatenation of
//! them, a YAML block scalar, a JSON string (docs/rules.md rule 5 wherever SQL is).
//!
//! The SQL module reads the value a program or a scheduler passes on, not
//! its source text: escapes undone, margins and indentation dropped,
//! interpolations masked. Each byte of that value keeps the source range it
//! came from, so the SQL module's edits map back; the caller writes each
//! replacement in the quoting of the literal it lands in. The value changes
//! whole or not at all: when one edit cannot be written back, none is.

use std::ops::Range;

use crate::{line_of, Edit, Finding, SchemaCheck};

/// Builds a [`Mapped`] value byte by byte.
#[derive(Default)]
pub(crate) struct Builder {
    bytes: Vec<u8>,
    from: Vec<Range<usize>>,
    holes: Vec<Range<usize>>,
    pieces: Vec<Range<usize>>,
}

impl Builder {
    /// One byte of the value, read from `from` in the source.
    pub(crate) fn push(&mut self, b: u8, from: Range<usize>) {
        self.bytes.push(b);
        self.from.push(from);
    }

    /// Source bytes whose value is not known here (an interpolation, a code
    /// operand): masked, line breaks kept so lines still count.
    pub(crate) fn mask(&mut self, src: &[u8], r: Range<usize>) {
        let start = self.bytes.len();
        for j in r {
            let b = if src.get(j) == Some(&b'\n') {
                b'\n'
            } else {
                b'_'
            };
            self.push(b, j..j + 1);
        }
        self.holes.push(start..self.bytes.len());
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Marks the bytes from `start` on as one literal, written in one quoting.
    pub(crate) fn piece(&mut self, start: usize) {
        self.pieces.push(start..self.bytes.len());
    }

    /// The value, when it is UTF-8.
    pub(crate) fn finish(self, span: Range<usize>) -> Option<Mapped> {
        Some(Mapped {
            text: String::from_utf8(self.bytes).ok()?,
            from: self.from,
            holes: self.holes,
            pieces: self.pieces,
            span,
        })
    }
}

/// A value with the map back to its source bytes.
#[derive(Debug)]
pub(crate) struct Mapped {
    /// The value, holes masked.
    pub text: String,
    /// For each byte of `text`, the source range it was read from.
    from: Vec<Range<usize>>,
    /// Masked ranges of `text`.
    holes: Vec<Range<usize>>,
    /// The literals of `text`, each written in one quoting.
    pieces: Vec<Range<usize>>,
    /// The source the value is read from, quotes and operators included.
    pub span: Range<usize>,
}

impl Mapped {
    /// The source range an edit of `text` replaces and the literal it lies
    /// in, when it lies in one, touches no hole and splits no escape.
    pub(crate) fn source(&self, r: &Range<usize>) -> Option<(Range<usize>, usize)> {
        if self
            .holes
            .iter()
            .any(|h| r.start < h.end && h.start < r.end)
        {
            return None;
        }
        let splits =
            |at: usize| at > 0 && at < self.from.len() && self.from[at - 1] == self.from[at];
        if splits(r.start) || splits(r.end) {
            return None;
        }
        let (first, last) = if r.is_empty() {
            let b = r.start.checked_sub(1)?;
            (b, b)
        } else {
            (r.start, r.end - 1)
        };
        let piece = self
            .pieces
            .iter()
            .position(|p| p.start <= first && last < p.end)?;
        if r.is_empty() {
            // An insertion goes after the byte before it, inside its literal.
            let at = self.from.get(first)?.end;
            return Some((at..at, piece));
        }
        Some((self.from.get(first)?.start..self.from.get(last)?.end, piece))
    }

    /// The source offset where 1-based `line` of `text` starts.
    pub(crate) fn line_offset(&self, line: usize) -> usize {
        let at = if line <= 1 {
            0
        } else {
            memchr::memchr_iter(b'\n', self.text.as_bytes())
                .nth(line - 2)
                .map_or(self.text.len(), |i| i + 1)
        };
        self.from.get(at).map_or(self.span.end, |f| f.start)
    }
}

/// What the SQL module made of a mapped value, in source terms.
pub(crate) struct SqlEdits {
    pub edits: Vec<Edit>,
    /// Findings by source offset.
    pub findings: Vec<(usize, String)>,
    pub schema: SchemaCheck,
}

/// Rewrites the SQL in `value` and maps its edits back into `src`, each
/// replacement written by `encode(piece, replacement)`; when one cannot be,
/// the value is left whole and reported.
pub(crate) fn rewrite_sql(
    rules: &crate::rules::Rules,
    src: &[u8],
    value: &Mapped,
    encode: impl Fn(usize, &str) -> Option<String>,
) -> SqlEdits {
    // Airflow and dbt template their SQL: the Jinja is masked, as in a model.
    let templated = value.text.contains("{{") || value.text.contains("{%");
    let out = if templated {
        crate::dbt::rewrite_model(rules, &value.text)
    } else {
        crate::sql::rewrite_sql(rules, &value.text, &[])
    };
    let mut findings = Vec::new();
    let mut edits = Vec::with_capacity(out.edits.len());
    for e in &out.edits {
        let mapped = value
            .source(&e.range)
            .and_then(|(range, piece)| Some((range, encode(piece, &e.replacement)?)));
        match mapped {
            Some((range, replacement)) => edits.push(Edit { range, replacement }),
            None => {
                let at = value.line_offset(line_of(value.text.as_bytes(), e.range.start));
                findings.push((
                    at,
                    format!(
                        "the SQL here needs `{}` where its literal cannot hold it as written (an interpolation, an escape, a margin, a quote or a `+` is in the way); left whole, table name included",
                        e.replacement
                    ),
                ));
                edits.clear();
                break;
            }
        }
    }
    findings.extend(
        out.findings
            .into_iter()
            .map(|f| (value.line_offset(f.line), f.reason)),
    );
    let schema = SchemaCheck {
        checked: out.schema.checked,
        failures: out
            .schema
            .failures
            .into_iter()
            .map(|f| Finding {
                line: line_of(src, value.line_offset(f.line)),
                reason: f.reason,
            })
            .collect(),
    };
    SqlEdits {
        edits,
        findings,
        schema,
    }
}
