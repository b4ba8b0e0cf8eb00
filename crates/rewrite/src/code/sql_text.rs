//! A code string's SQL as the program sees it (docs/rules.md rule 5 inside code).
//!
//! The SQL module reads a string's value, not its source text: escapes are
//! undone (`\n`, `\"`, `$$`, `{{`), `stripMargin` and `trimMargin` margins
//! become spaces and interpolations are masked. Each byte of the value keeps
//! the source range it came from, so the SQL module's edits map back, and a
//! replacement is written in the string's own escaping. What cannot be read
//! or written back is refused, and the caller leaves the string whole.

use std::ops::Range;

use tree_sitter::Node;

use super::grammar::{Dollar, Grammar};
use crate::mapped::{Builder, Mapped};

/// How a replacement must be written inside the string it lands in.
#[derive(Debug, Clone)]
struct Style {
    /// Backslash escapes are processed (`"..."`, Java text blocks, `s"""..."""`).
    escapes: bool,
    quote: u8,
    triple: bool,
    /// A margin prefix that `stripMargin` / `trimMargin` strips from each line.
    margin: Option<Vec<u8>>,
    dollar: Dollar,
    /// Python f-strings: `{` and `}` are written doubled.
    braces: bool,
}

/// One operand of the SQL a program builds: a string literal, or code
/// whose value is not known here (masked like an interpolation).
pub(super) enum Part<'t> {
    Str {
        node: Node<'t>,
        content: Range<usize>,
        holes: Vec<Range<usize>>,
    },
    Code(Range<usize>),
}

/// A string's SQL value (or a concatenation's), with how each of its
/// literals writes a replacement.
pub(super) struct SqlText {
    pub value: Mapped,
    styles: Vec<Style>,
}

impl SqlText {
    /// Reads the value of the parts, in order. The error says why a part
    /// cannot be read.
    pub(super) fn read(lang: &Grammar, src: &[u8], parts: &[Part]) -> Result<SqlText, String> {
        let mut b = Builder::default();
        let mut styles = Vec::new();
        for part in parts {
            match part {
                Part::Code(r) => b.mask(src, r.clone()),
                Part::Str {
                    node,
                    content,
                    holes,
                } => {
                    let start = b.len();
                    styles.push(read_string(
                        lang,
                        src,
                        *node,
                        content.clone(),
                        holes,
                        &mut b,
                    )?);
                    b.piece(start);
                }
            }
        }
        let span = |p: &Part| match p {
            Part::Str { node, .. } => node.byte_range(),
            Part::Code(r) => r.clone(),
        };
        let span = match (parts.first(), parts.last()) {
            (Some(a), Some(z)) => span(a).start..span(z).end,
            _ => 0..0,
        };
        let value = b.finish(span).ok_or("its value is not UTF-8")?;
        Ok(SqlText { value, styles })
    }

    /// `replacement` written as the string writes its value, or `None` when
    /// it cannot be (a line break under a margin, a quote in a raw string).
    pub(super) fn encode(&self, piece: usize, replacement: &str) -> Option<String> {
        let st = self.styles.get(piece)?;
        let mut out = String::with_capacity(replacement.len());
        for c in replacement.chars() {
            match c {
                '\\' if st.escapes => out.push_str("\\\\"),
                '\n' if st.margin.is_some() => return None,
                '\n' if st.triple => out.push('\n'),
                '\n' if st.escapes => out.push_str("\\n"),
                '\n' => return None,
                c if c as u32 == st.quote as u32 && !st.triple => {
                    if !st.escapes {
                        return None;
                    }
                    out.push('\\');
                    out.push(c);
                }
                '$' => match st.dollar {
                    Dollar::Plain => out.push('$'),
                    Dollar::Doubled => out.push_str("$$"),
                    Dollar::Backslash => out.push_str("\\$"),
                    Dollar::Template => out.push_str("${'$'}"),
                },
                '{' if st.braces => out.push_str("{{"),
                '}' if st.braces => out.push_str("}}"),
                c => out.push(c),
            }
        }
        let q = st.quote as char;
        if st.triple && out.contains(&format!("{q}{q}{q}")) {
            return None;
        }
        Some(out)
    }
}

/// Reads one string literal's value into `b`.
fn read_string(
    lang: &Grammar,
    src: &[u8],
    s: Node,
    content: Range<usize>,
    source_holes: &[Range<usize>],
    b: &mut Builder,
) -> Result<Style, String> {
    let style = style(lang, src, s, &content)?;
    let mut escapes = Vec::new();
    collect_escapes(s, &style, &mut escapes);
    escapes.retain(|e| e.start >= content.start && e.end <= content.end);
    escapes.sort_by_key(|e| e.start);
    let (mut esc, mut hole) = (escapes.iter().peekable(), source_holes.iter().peekable());
    let mut i = content.start;
    while i < content.end {
        if let Some(h) = hole.next_if(|h| h.start <= i) {
            let r = i.max(h.start)..h.end.min(content.end);
            i = i.max(h.end);
            b.mask(src, r);
            continue;
        }
        if let Some(e) = esc.next_if(|e| e.start <= i) {
            let value = unescape(&src[e.clone()])?;
            for v in value.bytes() {
                b.push(v, e.clone());
            }
            i = i.max(e.end);
            continue;
        }
        if let Some(prefix) = &style.margin {
            if i == content.start || src[i - 1] == b'\n' {
                let blank = src[i..content.end]
                    .iter()
                    .take_while(|b| matches!(b, b' ' | b'\t'))
                    .count();
                if src[i + blank..content.end].starts_with(prefix) {
                    let end = i + blank + prefix.len();
                    for (j, c) in src[i..end].iter().enumerate() {
                        b.push(if j < blank { *c } else { b' ' }, i + j..i + j + 1);
                    }
                    i += blank + prefix.len();
                    continue;
                }
            }
        }
        if style.escapes && src[i] == b'\\' {
            // An escape the grammar does not name: Java's line continuation.
            if lang.line_continuation && src.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            return Err(format!(
                "the escape `{}` is one tern cannot read",
                String::from_utf8_lossy(&src[i..(i + 2).min(content.end)])
            ));
        }
        b.push(src[i], i..i + 1);
        i += 1;
    }
    Ok(style)
}

fn style(lang: &Grammar, src: &[u8], s: Node, content: &Range<usize>) -> Result<Style, String> {
    let head = &src[s.start_byte()..content.start];
    let triple = head.ends_with(b"\"\"\"") || head.ends_with(b"'''");
    let quote = head.last().copied().unwrap_or(b'"');
    // The expression the string is: Scala's interpolated string sits in an
    // `interpolated_string_expression` with its interpolator.
    let (expr, interpolator) = match s.parent() {
        Some(p) if p.kind() == "interpolated_string_expression" => {
            let name = p
                .child_by_field_name("interpolator")
                .map(|n| &src[n.byte_range()]);
            (p, name)
        }
        _ => (s, None),
    };
    let written = (lang.style)(head, triple, interpolator);
    let (escapes, dollar, braces) = (written.escapes, written.dollar, written.braces);
    Ok(Style {
        escapes,
        quote,
        triple,
        margin: margin(lang, src, expr)?,
        dollar,
        braces,
    })
}

/// The prefix `.stripMargin` (Scala) or `.trimMargin()` (Kotlin) strips
/// from the lines of `expr`, if it is called on it.
fn margin(lang: &Grammar, src: &[u8], expr: Node) -> Result<Option<Vec<u8>>, String> {
    let Some(parent) = expr.parent() else {
        return Ok(None);
    };
    let text = |n: Node| &src[n.byte_range()];
    let Some((method, field_kind)) = lang.margin else {
        return Ok(None);
    };
    if parent.kind() != field_kind || parent.named_child(0) != Some(expr) {
        return Ok(None);
    }
    let named = parent.named_child_count();
    let called = parent
        .named_child(named.saturating_sub(1) as u32)
        .is_some_and(|f| f != expr && text(f) == method);
    if !called {
        return Ok(None);
    }
    // The argument, if any: `stripMargin('#')`, `trimMargin("#")`.
    let arg = parent
        .parent()
        .filter(|c| c.kind() == "call_expression" && c.named_child(0) == Some(parent))
        .and_then(|c| c.named_child(1))
        .filter(|a| a.named_child_count() > 0)
        .and_then(|a| a.named_child(0));
    let Some(arg) = arg else {
        return Ok(Some(b"|".to_vec()));
    };
    let arg = if arg.kind() == "value_argument" {
        arg.named_child(0).unwrap_or(arg)
    } else {
        arg
    };
    let t = text(arg);
    let inner = match arg.kind() {
        "character_literal" | "string_literal" if t.len() >= 3 => &t[1..t.len() - 1],
        _ => &b""[..],
    };
    if inner.is_empty() || inner.iter().any(|b| matches!(b, b'\\' | b'$' | b'\n')) {
        return Err(format!(
            "its margin `{}` is not a literal tern can read",
            String::from_utf8_lossy(t)
        ));
    }
    Ok(Some(inner.to_vec()))
}

/// Escape nodes of the string, outside its interpolations.
fn collect_escapes(n: Node, style: &Style, out: &mut Vec<Range<usize>>) {
    let mut cur = n.walk();
    for ch in n.children(&mut cur) {
        match ch.kind() {
            "interpolation" | "string_interpolation" => {}
            "escape_sequence" if style.escapes || style.dollar == Dollar::Doubled => {
                out.push(ch.byte_range())
            }
            "escape_interpolation" => out.push(ch.byte_range()),
            _ => collect_escapes(ch, style, out),
        }
    }
}

/// The value of one escape, or why it cannot be read.
fn unescape(e: &[u8]) -> Result<String, String> {
    let unreadable = || {
        format!(
            "the escape `{}` is one tern cannot read",
            String::from_utf8_lossy(e)
        )
    };
    Ok(match e {
        b"$$" | b"\\$" => "$".into(),
        b"{{" => "{".into(),
        b"}}" => "}".into(),
        b"\\n" => "\n".into(),
        b"\\t" => "\t".into(),
        b"\\r" => "\r".into(),
        b"\\s" => " ".into(),
        b"\\\\" => "\\".into(),
        b"\\\"" => "\"".into(),
        b"\\'" => "'".into(),
        b"\\\n" => String::new(),
        [b'\\', b'u', hex @ ..] | [b'\\', b'x', hex @ ..] if !hex.is_empty() => {
            let hex = std::str::from_utf8(hex).map_err(|_| unreadable())?;
            let c = u32::from_str_radix(hex, 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(unreadable)?;
            c.to_string()
        }
        _ => return Err(unreadable()),
    })
}
