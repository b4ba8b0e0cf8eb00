//! Dialect forms real consumers write that sqlparser does not read, reduced
//! to forms it does by leaving tokens out, never by changing what any name
//! refers to. Every other token keeps its span, so edits still land on the
//! original text.
//!
//! - Hive `INSERT OVERWRITE [LOCAL] DIRECTORY 'p' ROW FORMAT ... [STORED AS f]
//!   SELECT ...`: the storage clause between the path and the query goes
//!   (it names no table and no column).
//! - Flink `CREATE TABLE (..., c AS PROCTIME(), WATERMARK FOR ts AS ts - ...)`:
//!   computed columns and the watermark go. Both only derive from columns
//!   the statement declares itself; a computed column named like a renamed
//!   column is refused, so the statement is reported rather than read
//!   without it.

use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::rules::Rules;

fn is_word(t: &TokenWithSpan, kw: &str) -> bool {
    matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
}

fn significant(tokens: &[TokenWithSpan]) -> Vec<usize> {
    tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| !matches!(t.token, Token::Whitespace(_)))
        .map(|(i, _)| i)
        .collect()
}

/// The statement's tokens with the forms above left out, or why it cannot be read.
pub(super) fn reduce(
    rules: &Rules,
    tokens: Vec<TokenWithSpan>,
) -> Result<Vec<TokenWithSpan>, String> {
    let sig = significant(&tokens);
    let w = |k: usize, kw: &str| sig.get(k).is_some_and(|&i| is_word(&tokens[i], kw));
    let mut drop = vec![false; tokens.len()];
    // INSERT OVERWRITE [LOCAL] DIRECTORY 'path' <storage> <query>
    if w(0, "INSERT") && w(1, "OVERWRITE") {
        let dir = if w(2, "LOCAL") { 3 } else { 2 };
        if w(dir, "DIRECTORY") {
            let path = dir + 1;
            let query = (path + 1..sig.len()).find(|&k| {
                w(k, "SELECT")
                    || w(k, "WITH")
                    || w(k, "FROM")
                    || w(k, "VALUES")
                    || matches!(tokens[sig[k]].token, Token::LParen)
            });
            if let Some(q) = query {
                for &i in &sig[path + 1..q] {
                    drop[i] = true;
                }
            }
        }
    }
    // CREATE [TEMPORARY] TABLE name ( elements ) ...
    let create = w(0, "CREATE") && (w(1, "TABLE") || (w(1, "TEMPORARY") && w(2, "TABLE")));
    if create {
        if let Some(open) = sig
            .iter()
            .position(|&i| matches!(tokens[i].token, Token::LParen))
        {
            // Elements of the column list: (first, last) significant indexes.
            let mut elements = Vec::new();
            let (mut depth, mut start) = (0usize, open + 1);
            for k in open + 1..sig.len() {
                match tokens[sig[k]].token {
                    Token::LParen => depth += 1,
                    Token::RParen if depth == 0 => {
                        elements.push((start, k));
                        break;
                    }
                    Token::RParen => depth -= 1,
                    Token::Comma if depth == 0 => {
                        elements.push((start, k));
                        start = k + 1;
                    }
                    _ => {}
                }
            }
            for (n, &(first, end)) in elements.iter().enumerate() {
                let watermark = w(first, "WATERMARK") && w(first + 1, "FOR");
                let computed = w(first + 1, "AS");
                if !(watermark || computed) {
                    continue;
                }
                if computed {
                    if let Token::Word(name) = &tokens[sig[first]].token {
                        let renamed = rules
                            .columns()
                            .iter()
                            .any(|(old, _)| name.value.eq_ignore_ascii_case(old));
                        if renamed {
                            return Err(format!(
                                "the computed column `{}` is named like a renamed column",
                                name.value
                            ));
                        }
                    }
                }
                // The element, and the comma before it (after it, for the first).
                let (from, to) = if n > 0 {
                    (first - 1, end)
                } else if end < sig.len() && matches!(tokens[sig[end]].token, Token::Comma) {
                    (first, end + 1)
                } else {
                    (first, end)
                };
                for &i in &sig[from..to] {
                    drop[i] = true;
                }
            }
        }
    }
    if !drop.contains(&true) {
        return Ok(tokens);
    }
    Ok(tokens
        .into_iter()
        .zip(drop)
        .filter(|(_, d)| !d)
        .map(|(t, _)| t)
        .collect())
}
