//! Format clauses of a statement that reads the migrated dataset (rule 4).

use sqlparser::tokenizer::{Token, TokenWithSpan};

use super::parse::Lines;
use crate::name::follow_case;
use crate::rules::Rules;
use crate::Edit;

/// Format clauses of a statement that reads the migrated dataset: `STORED AS
/// AVRO`, `USING avro`, `'format' = 'avro'`, and Spark's `` avro.`path` ``.
pub(super) fn format_edits(
    rules: &Rules,
    sql: &str,
    lines: &Lines,
    tokens: &[TokenWithSpan],
) -> Vec<Edit> {
    let Some(f) = rules.format() else {
        return vec![];
    };
    let sig: Vec<&TokenWithSpan> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let word = |i: usize, kw: &str| {
        sig.get(i)
            .is_some_and(|t| matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw)))
    };
    let mut out = Vec::new();
    let mut swap = |t: &TokenWithSpan, quoted: bool| {
        let Some(r) = lines.range(t.span) else {
            return;
        };
        let r = if quoted && r.len() >= 2 {
            r.start + 1..r.end - 1
        } else {
            r
        };
        let written = &sql[r.clone()];
        if written.eq_ignore_ascii_case(&f.old) {
            out.push(Edit {
                range: r,
                replacement: follow_case(written, &f.old, &f.new, false),
            });
        }
    };
    for i in 0..sig.len() {
        let t = sig[i];
        match &t.token {
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(&f.old) => {
                let stored = i >= 2 && word(i - 1, "AS") && word(i - 2, "STORED");
                let using = i >= 1 && word(i - 1, "USING");
                let path_sql = matches!(sig.get(i + 1).map(|t| &t.token), Some(Token::Period))
                    && matches!(sig.get(i + 2).map(|t| &t.token), Some(Token::Word(w)) if w.quote_style == Some('`'));
                if stored || using || path_sql {
                    swap(t, false);
                }
            }
            Token::SingleQuotedString(v) if v.eq_ignore_ascii_case(&f.old) => {
                let key = i >= 2
                    && matches!(sig[i - 1].token, Token::Eq)
                    && matches!(&sig[i - 2].token, Token::SingleQuotedString(k) if is_format_key(k));
                if key {
                    swap(t, true);
                }
            }
            _ => {}
        }
    }
    out
}

/// Option keys that name a table's file format (Flink, Spark `OPTIONS`).
pub(super) fn is_format_key(k: &str) -> bool {
    ["format", "format.type", "value.format", "source.format"]
        .iter()
        .any(|f| k.eq_ignore_ascii_case(f))
}
