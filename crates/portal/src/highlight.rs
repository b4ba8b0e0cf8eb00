//! Renders a `git show` diff as HTML: files, hunks, old and new line
//! numbers, added and removed lines, what changed inside a replaced line, and
//! light syntax colouring (strings, comments, numbers, keywords) chosen by
//! the file's extension. It only colours text for reading; it decides nothing.

use std::fmt::Write as _;

use maud::{html, Markup, PreEscaped};

#[derive(Clone, Copy, PartialEq)]
enum Tok {
    Plain,
    Str,
    Comment,
    Num,
    Kw,
}

struct Lang {
    line_comments: &'static [&'static str],
    keywords: &'static [&'static str],
    case_insensitive: bool,
}

const SQL_KW: &[&str] = &[
    "select",
    "from",
    "where",
    "join",
    "left",
    "right",
    "inner",
    "outer",
    "on",
    "as",
    "and",
    "or",
    "not",
    "group",
    "by",
    "order",
    "insert",
    "into",
    "overwrite",
    "table",
    "create",
    "with",
    "using",
    "stored",
    "location",
    "union",
    "all",
    "limit",
    "having",
    "case",
    "when",
    "then",
    "else",
    "end",
    "view",
    "partitioned",
    "use",
    "distinct",
    "is",
    "null",
    "in",
];
const CODE_KW: &[&str] = &[
    "import", "package", "object", "class", "def", "val", "var", "fun", "if", "else", "return",
    "for", "while", "new", "public", "private", "static", "final", "void", "from", "with", "as",
    "lambda", "None", "True", "False", "true", "false", "null", "extends", "override", "case",
    "match", "try", "catch", "in", "resource", "variable", "module", "provider", "data",
];

fn lang(path: &str) -> Lang {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "sql" | "hql" => Lang {
            line_comments: &["--"],
            keywords: SQL_KW,
            case_insensitive: true,
        },
        "py" | "sh" | "yaml" | "yml" | "toml" | "properties" | "conf" | "hocon" | "tf" | "cfg"
        | "ini" => Lang {
            line_comments: if ext == "tf" { &["#", "//"] } else { &["#"] },
            keywords: CODE_KW,
            case_insensitive: false,
        },
        _ => Lang {
            line_comments: &["//"],
            keywords: CODE_KW,
            case_insensitive: false,
        },
    }
}

/// One token class per byte of `line`.
fn classify(line: &str, lang: &Lang) -> Vec<Tok> {
    let b = line.as_bytes();
    let mut out = vec![Tok::Plain; b.len()];
    let mut i = 0;
    while i < b.len() {
        if lang.line_comments.iter().any(|c| line[i..].starts_with(c)) {
            out[i..].fill(Tok::Comment);
            break;
        }
        let c = b[i];
        if c == b'"' || c == b'\'' || c == b'`' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != c {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            let end = (i + 1).min(b.len());
            out[start..end].fill(Tok::Str);
            i = end;
            continue;
        }
        if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let word = &line[start..i];
            let kw = if lang.case_insensitive {
                lang.keywords.iter().any(|k| k.eq_ignore_ascii_case(word))
            } else {
                lang.keywords.contains(&word)
            };
            if kw {
                out[start..i].fill(Tok::Kw);
            } else if c.is_ascii_digit() {
                out[start..i].fill(Tok::Num);
            }
            continue;
        }
        i += 1;
    }
    out
}

/// The line's HTML: token spans, and `<mark>` over `changed` (a byte range).
fn render_line(line: &str, lang: &Lang, changed: Option<(usize, usize)>) -> String {
    let toks = classify(line, lang);
    let mut s = String::new();
    let mut i = 0;
    let marked = |j: usize| changed.is_some_and(|(a, b)| j >= a && j < b);
    while i < line.len() {
        let (t, m) = (toks[i], marked(i));
        let mut j = i + 1;
        while j < line.len() && (!line.is_char_boundary(j) || (toks[j] == t && marked(j) == m)) {
            j += 1;
        }
        let text = maud::html!((line[i..j])).into_string();
        let class = match t {
            Tok::Plain => "",
            Tok::Str => "s",
            Tok::Comment => "c",
            Tok::Num => "n",
            Tok::Kw => "k",
        };
        if m {
            s.push_str("<mark>");
        }
        if class.is_empty() {
            s.push_str(&text);
        } else {
            let _ = write!(s, "<span class=\"{class}\">{text}</span>");
        }
        if m {
            s.push_str("</mark>");
        }
        i = j;
    }
    s
}

/// The byte ranges in which `old` and `new` differ (common prefix and
/// suffix excluded), on char boundaries.
fn changed_ranges(old: &str, new: &str) -> ((usize, usize), (usize, usize)) {
    let p = old
        .char_indices()
        .zip(new.chars())
        .find(|((_, a), b)| a != b)
        .map_or(old.len().min(new.len()), |((i, _), _)| i);
    let (mut so, mut sn) = (old.len(), new.len());
    while so > p && sn > p {
        let (Some(a), Some(b)) = (old[..so].chars().next_back(), new[..sn].chars().next_back())
        else {
            break;
        };
        if a != b {
            break;
        }
        so -= a.len_utf8();
        sn -= b.len_utf8();
    }
    // Widen to whole words: `legacy` → `lake`, not `l[egacy]` → `l[ake]`.
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut p = p;
    while let Some(c) = old[..p].chars().next_back().filter(|c| word(*c)) {
        p -= c.len_utf8();
    }
    while let Some(c) = old[so..].chars().next().filter(|c| word(*c)) {
        so += c.len_utf8();
        sn += c.len_utf8();
    }
    ((p, so), (p, sn))
}

/// A hunk: its `@@` header and its lines.
type Hunk = (String, Vec<Row>);

struct Row {
    kind: char,
    old: Option<usize>,
    new: Option<usize>,
    text: String,
}

/// A whole diff as HTML.
pub fn diff(text: &str) -> Markup {
    let mut files: Vec<(String, Vec<Hunk>)> = Vec::new();
    let (mut old_no, mut new_no) = (0usize, 0usize);
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("diff --git ") {
            let path = rest.rsplit_once(" b/").map_or(rest, |(_, b)| b).to_string();
            files.push((path, Vec::new()));
            continue;
        }
        let Some((_, hunks)) = files.last_mut() else {
            continue;
        };
        if let Some(h) = line.strip_prefix("@@ ") {
            let nums: Vec<usize> = h
                .split(' ')
                .take(2)
                .map(|r| {
                    r[1..]
                        .split(',')
                        .next()
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(1)
                })
                .collect();
            old_no = nums.first().copied().unwrap_or(1);
            new_no = nums.get(1).copied().unwrap_or(1);
            hunks.push((line.to_string(), Vec::new()));
            continue;
        }
        let Some((_, rows)) = hunks.last_mut() else {
            continue;
        };
        let (kind, body) = match line.chars().next() {
            Some(c @ ('+' | '-' | ' ')) => (c, &line[1..]),
            Some('\\') => ('\\', line),
            _ => (' ', line),
        };
        let row = match kind {
            '+' => {
                new_no += 1;
                Row {
                    kind,
                    old: None,
                    new: Some(new_no - 1),
                    text: body.into(),
                }
            }
            '-' => {
                old_no += 1;
                Row {
                    kind,
                    old: Some(old_no - 1),
                    new: None,
                    text: body.into(),
                }
            }
            '\\' => Row {
                kind,
                old: None,
                new: None,
                text: body.into(),
            },
            _ => {
                old_no += 1;
                new_no += 1;
                Row {
                    kind,
                    old: Some(old_no - 1),
                    new: Some(new_no - 1),
                    text: body.into(),
                }
            }
        };
        rows.push(row);
    }
    html! {
        @if files.is_empty() { p.muted { "No file changes." } }
        @for (path, hunks) in &files {
            @let l = lang(path);
            section.diff-file {
                h4 { code { (path) } }
                table.diff {
                    @for (header, rows) in hunks {
                        tr.hunk { td.ln {} td.ln {} td.code { (header) } }
                        @for (i, row) in rows.iter().enumerate() {
                            @let changed = pair_range(rows, i);
                            tr class=(match row.kind { '+' => "add", '-' => "del", '\\' => "meta", _ => "ctx" }) {
                                td.ln { @if let Some(n) = row.old { (n) } }
                                td.ln { @if let Some(n) = row.new { (n) } }
                                td.code {
                                    span.sign { (row.kind) }
                                    (PreEscaped(render_line(&row.text, &l, changed)))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// For a removed line directly followed by as many added lines (or the
/// reverse), the range of the line that differs from its partner.
fn pair_range(rows: &[Row], i: usize) -> Option<(usize, usize)> {
    let r = &rows[i];
    if r.kind != '-' && r.kind != '+' {
        return None;
    }
    // The run of removed lines, then the run of added lines, around row i.
    let run_start = |mut j: usize, kind: char| {
        while j > 0 && rows[j - 1].kind == kind {
            j -= 1;
        }
        j
    };
    let start = if r.kind == '-' {
        run_start(i, '-')
    } else {
        run_start(run_start(i, '+'), '-')
    };
    let dels: Vec<usize> = (start..rows.len())
        .take_while(|&j| rows[j].kind == '-')
        .collect();
    let adds_start = start + dels.len();
    let adds: Vec<usize> = (adds_start..rows.len())
        .take_while(|&j| rows[j].kind == '+')
        .collect();
    if dels.len() != adds.len() || dels.is_empty() {
        return None;
    }
    let k = if r.kind == '-' {
        i - start
    } else {
        i - adds_start
    };
    let (o, n) = changed_ranges(&rows[dels[k]].text, &rows[adds[k]].text);
    Some(if r.kind == '-' { o } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = "commit abc\nAuthor: x\n\n    Move plays\n\ndiff --git a/jobs/a.sql b/jobs/a.sql\nindex 1..2 100644\n--- a/jobs/a.sql\n+++ b/jobs/a.sql\n@@ -1,3 +1,3 @@\n -- daily\n-SELECT user_id FROM legacy.plays\n+SELECT user_id FROM lake.plays\n  WHERE x = 'a<b'\n";

    #[test]
    fn renders_files_line_numbers_and_the_changed_part() {
        let html = diff(DIFF).into_string();
        assert!(html.contains("<code>jobs/a.sql</code>"));
        assert!(html.contains("<mark>legacy</mark>"), "{html}");
        assert!(html.contains("<mark>lake</mark>"));
        assert!(html.contains("<span class=\"k\">SELECT</span>"));
        assert!(
            html.contains("<span class=\"s\">&#39;a&lt;b&#39;</span>")
                || html.contains("<span class=\"s\">'a&lt;b'</span>"),
            "{html}"
        );
        assert!(html.contains("<span class=\"c\">-- daily</span>"));
        assert!(html.contains("<td class=\"ln\">2</td><td class=\"ln\"></td>"));
    }

    #[test]
    fn changed_ranges_skip_common_ends() {
        assert_eq!(
            changed_ranges("a legacy.plays b", "a lake.plays b"),
            ((2, 8), (2, 6))
        );
        assert_eq!(changed_ranges("same", "same"), ((0, 4), (0, 4)));
        assert_eq!(
            changed_ranges("x = \"/w/plays\"", "x = \"gs://l/plays\""),
            ((5, 7), (5, 11))
        );
    }
}
