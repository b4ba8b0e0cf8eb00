//! dbt projects, a language over the SQL module: models are SQL with Jinja
//! in it (`model.rs`, which masks the Jinja and hands the statement to
//! `crate::sql`), and schema files are YAML whose `sources:` entries say
//! where a model's `source()` reads (`yml.rs`, which the config module calls
//! for every YAML file). The SQL module knows nothing of dbt.

use std::ops::Range;

use crate::rules::Rules;
use crate::sql::SqlModule;
use crate::{Language, Outcome};

mod model;
mod yml;

pub(crate) use model::rewrite as rewrite_model;
pub(crate) use yml::yml;

/// SQL files, read as dbt models when they hold Jinja and as plain SQL
/// otherwise.
pub struct DbtModule;

impl Language for DbtModule {
    fn name(&self) -> &'static str {
        "dbt"
    }

    fn claims(&self, path: &str) -> bool {
        SqlModule.claims(path)
    }

    fn rewrite(&self, rules: &Rules, path: &str, text: &[u8]) -> Outcome {
        match std::str::from_utf8(text) {
            Ok(sql) => model::rewrite(rules, sql),
            Err(_) => SqlModule.rewrite(rules, path, text),
        }
    }
}

/// `source('shop', 'orders')`, alone or in `{{ }}`: its two names.
pub(super) fn source_args(s: &str) -> Option<(String, String)> {
    let (a, b) = source_ranges(s)?;
    Some((s[a].to_string(), s[b].to_string()))
}

/// Where the two names of a `source('shop', 'orders')` call lie in `s`,
/// which holds only the call (perhaps in `{{ }}`).
pub(super) fn source_ranges(s: &str) -> Option<(Range<usize>, Range<usize>)> {
    let b = s.as_bytes();
    let mut i = 0;
    let ws = |i: &mut usize| {
        while b.get(*i).is_some_and(u8::is_ascii_whitespace) {
            *i += 1;
        }
    };
    let lit = |i: &mut usize, w: &[u8]| -> bool {
        let ok = b.get(*i..*i + w.len()) == Some(w);
        if ok {
            *i += w.len();
        }
        ok
    };
    let string = |i: &mut usize| -> Option<Range<usize>> {
        let q = *b.get(*i)?;
        if q != b'\'' && q != b'"' {
            return None;
        }
        let len = memchr::memchr(q, &b[*i + 1..])?;
        let r = *i + 1..*i + 1 + len;
        if b[r.clone()].contains(&b'\\') {
            return None;
        }
        *i = r.end + 1;
        Some(r)
    };
    ws(&mut i);
    let braces = lit(&mut i, b"{{");
    ws(&mut i);
    if !lit(&mut i, b"source") {
        return None;
    }
    ws(&mut i);
    lit(&mut i, b"(").then_some(())?;
    ws(&mut i);
    let first = string(&mut i)?;
    ws(&mut i);
    lit(&mut i, b",").then_some(())?;
    ws(&mut i);
    let second = string(&mut i)?;
    ws(&mut i);
    lit(&mut i, b")").then_some(())?;
    ws(&mut i);
    if braces {
        lit(&mut i, b"}}").then_some(())?;
        ws(&mut i);
    }
    (i == b.len()).then_some((first, second))
}
