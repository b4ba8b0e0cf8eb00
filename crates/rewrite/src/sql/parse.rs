//! Splitting SQL into statements and parsing each with the first dialect
//! that reads them all; sqlparser's locations as byte ranges.

use std::ops::Range;

use sqlparser::ast::Statement;
use sqlparser::dialect::{
    BigQueryDialect, DatabricksDialect, Dialect, GenericDialect, HiveDialect,
};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer};

use super::forms;
use crate::rules::Rules;

/// Parsers tried in order; the first that reads every statement wins.
pub(super) fn dialects() -> [Box<dyn Dialect>; 4] {
    [
        Box::new(GenericDialect {}),
        Box::new(BigQueryDialect {}),
        Box::new(HiveDialect {}),
        Box::new(DatabricksDialect {}),
    ]
}

/// Converts sqlparser's 1-based (line, character column) locations to byte offsets.
pub(super) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(super) fn new(text: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Lines { text, starts }
    }

    fn offset(&self, loc: Location) -> Option<usize> {
        let line = usize::try_from(loc.line).ok()?.checked_sub(1)?;
        let col = usize::try_from(loc.column).ok()?.checked_sub(1)?;
        let start = *self.starts.get(line)?;
        let rest = &self.text[start..];
        // Only the characters before the column decide whether chars are bytes.
        if rest.as_bytes()[..col.min(rest.len())].is_ascii() {
            return (col <= rest.len()).then_some(start + col);
        }
        match rest.char_indices().nth(col) {
            Some((i, _)) => Some(start + i),
            None => (rest.chars().count() == col).then_some(self.text.len()),
        }
    }

    /// A span as a byte range; sqlparser's end location is one past the last character.
    pub(super) fn range(&self, span: Span) -> Option<Range<usize>> {
        if span.start.line == 0 {
            return None;
        }
        let (s, e) = (self.offset(span.start)?, self.offset(span.end)?);
        (s <= e).then_some(s..e)
    }
}

/// One statement's tokens and byte range.
pub(super) struct Stmt {
    pub tokens: Vec<TokenWithSpan>,
    pub range: Range<usize>,
}

pub(super) fn split(lines: &Lines, tokens: Vec<TokenWithSpan>) -> Vec<Stmt> {
    let mut out = Vec::new();
    let mut cur: Vec<TokenWithSpan> = Vec::new();
    let flush = |cur: &mut Vec<TokenWithSpan>, out: &mut Vec<Stmt>| {
        let significant: Vec<_> = cur
            .iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .collect();
        if let (Some(f), Some(l)) = (significant.first(), significant.last()) {
            if let (Some(a), Some(b)) = (lines.range(f.span), lines.range(l.span)) {
                out.push(Stmt {
                    tokens: std::mem::take(cur),
                    range: a.start..b.end,
                });
            }
        }
        cur.clear();
    };
    for t in tokens {
        match t.token {
            Token::SemiColon => flush(&mut cur, &mut out),
            Token::EOF => {}
            _ => cur.push(t),
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// A statement that parsed, or why not.
pub(super) type Parsed = Result<Statement, String>;

/// Splits and parses `sql` with the first dialect that reads every statement
/// (else the one that reads most); also says which dialect that was.
pub(super) fn parse_all(
    rules: &Rules,
    sql: &str,
    lines: &Lines,
) -> Option<(Vec<Stmt>, Vec<Parsed>, usize)> {
    let mut best: Option<(Vec<Stmt>, Vec<Parsed>, usize, usize)> = None;
    for (di, d) in dialects().iter().enumerate() {
        let Ok(tokens) = Tokenizer::new(d.as_ref(), sql).tokenize_with_location() else {
            continue;
        };
        let stmts = split(lines, tokens);
        let parsed: Vec<Parsed> = stmts
            .iter()
            .map(|s| {
                let only_comments = s
                    .tokens
                    .iter()
                    .all(|t| matches!(t.token, Token::Whitespace(_)));
                if only_comments {
                    return Err(String::new());
                }
                let tokens = forms::reduce(rules, s.tokens.clone())?;
                let mut p = Parser::new(d.as_ref()).with_tokens_with_locations(tokens);
                match p.parse_statements() {
                    Ok(mut v) if v.len() == 1 => Ok(v.remove(0)),
                    Ok(_) => Err("more than one statement".into()),
                    Err(e) => Err(e.to_string()),
                }
            })
            .collect();
        let failed = parsed.iter().filter(|p| p.is_err()).count();
        if best.as_ref().is_none_or(|b| failed < b.2) {
            best = Some((stmts, parsed, failed, di));
        }
        if failed == 0 {
            break;
        }
    }
    best.map(|(s, p, _, d)| (s, p, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_byte_ranges() {
        let sql = "SELECT é, `b` FROM t";
        let lines = Lines::new(sql);
        let tokens = Tokenizer::new(&GenericDialect {}, sql)
            .tokenize_with_location()
            .unwrap();
        let words: Vec<&str> = tokens
            .iter()
            .filter(|t| matches!(t.token, Token::Word(_)))
            .map(|t| &sql[lines.range(t.span).unwrap()])
            .collect();
        assert_eq!(words, ["SELECT", "é", "`b`", "FROM", "t"]);
    }
}
