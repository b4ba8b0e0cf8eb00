//! A value read back byte by byte from the source it was written in, so SQL
//! held in a quoted or escaped value can be rewritten in place.

use std::ops::Range;

use super::Quoting;

/// The value `text` read back from `src` from its content start `at`: each
/// byte of the value paired with the source bytes it was written as. Only
/// whitespace is skipped (indentation, folded line breaks); any other
/// difference stops it, and `Err` says where.
pub(super) fn align(
    src: &[u8],
    at: usize,
    text: &str,
    quoting: Quoting,
) -> Result<crate::mapped::Mapped, usize> {
    let mut b = crate::mapped::Builder::default();
    let end = align_into(&mut b, src, at, text, quoting)?;
    b.piece(0);
    b.finish(at..end).ok_or(end)
}

/// [`align`] into a builder that may hold other parts; returns where the
/// value ends in `src`.
pub(super) fn align_into(
    b: &mut crate::mapped::Builder,
    src: &[u8],
    at: usize,
    text: &str,
    quoting: Quoting,
) -> Result<usize, usize> {
    let value = text.as_bytes();
    let escapes = matches!(quoting, Quoting::Escaped { .. });
    let properties = quoting == Quoting::Properties;
    let (mut i, mut k) = (at, 0);
    while k < value.len() {
        let v = value[k];
        let here = src.get(i).copied();
        if escapes && here == Some(b'\\') {
            // YAML's escaped line break: nothing of the value.
            if src.get(i + 1) == Some(&b'\n') {
                i += 2;
                while src.get(i).is_some_and(|c| matches!(c, b' ' | b'\t')) {
                    i += 1;
                }
                continue;
            }
            let (len, c) = escape_at(src, i).ok_or(i)?;
            k = push_escape(b, value, k, c, i..i + len)?;
            i += len;
            continue;
        }
        if properties && here == Some(b'\\') {
            // A line continued with `\`: the break and the next line's
            // indentation are nothing of the value.
            let mut j = i + 1;
            if src.get(j) == Some(&b'\r') {
                j += 1;
            }
            if src.get(j) == Some(&b'\n') {
                i = j + 1;
                while src.get(i).is_some_and(|c| matches!(c, b' ' | b'\t')) {
                    i += 1;
                }
                continue;
            }
            let (len, c) = match src.get(i + 1) {
                Some(b'u') => escape_at(src, i).ok_or(i)?,
                Some(b't') => (2, '\t'),
                Some(b'n') => (2, '\n'),
                Some(b'r') => (2, '\r'),
                Some(b'f') => (2, '\u{c}'),
                Some(c) if c.is_ascii() => (2, *c as char),
                _ => return Err(i),
            };
            k = push_escape(b, value, k, c, i..i + len)?;
            i += len;
            continue;
        }
        if quoting == Quoting::Doubled && v == b'\'' {
            if src.get(i..i + 2) != Some(b"''") {
                return Err(i);
            }
            b.push(v, i..i + 2);
            (i, k) = (i + 2, k + 1);
            continue;
        }
        let ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
        if ws(v) {
            if !here.is_some_and(ws) {
                return Err(i);
            }
        } else {
            while src.get(i).copied().is_some_and(ws) {
                i += 1;
            }
            if src.get(i) != Some(&v) {
                return Err(i);
            }
        }
        b.push(v, i..i + 1);
        (i, k) = (i + 1, k + 1);
    }
    Ok(i)
}

/// The character escape `from` stands for, as the value's next bytes at
/// `k`; returns where the value goes on, or `Err` where they differ.
fn push_escape(
    b: &mut crate::mapped::Builder,
    value: &[u8],
    k: usize,
    c: char,
    from: Range<usize>,
) -> Result<usize, usize> {
    let mut buf = [0; 4];
    let enc = c.encode_utf8(&mut buf).as_bytes();
    if value.get(k..k + enc.len()) != Some(enc) {
        return Err(from.start);
    }
    for x in enc {
        b.push(*x, from.clone());
    }
    Ok(k + enc.len())
}

/// A backslash escape at `i`: its length and the character it stands for.
fn escape_at(src: &[u8], i: usize) -> Option<(usize, char)> {
    let hex = |n: usize| {
        let h = std::str::from_utf8(src.get(i + 2..i + 2 + n)?).ok()?;
        char::from_u32(u32::from_str_radix(h, 16).ok()?).map(|c| (n + 2, c))
    };
    Some(match src.get(i + 1)? {
        b'n' => (2, '\n'),
        b't' => (2, '\t'),
        b'r' => (2, '\r'),
        b'\\' => (2, '\\'),
        b'"' => (2, '"'),
        b'/' => (2, '/'),
        b'\'' => (2, '\''),
        b' ' => (2, ' '),
        b'x' => hex(2)?,
        b'u' => hex(4)?,
        b'U' => hex(8)?,
        _ => return None,
    })
}

/// `replacement` written in the value's quoting, or `None` when it cannot
/// be: a line break, a quote a literal string cannot hold, a `: ` or ` #`
/// that would end a bare YAML scalar.
pub(super) fn encode(quoting: Quoting, replacement: &str) -> Option<String> {
    if replacement.contains('\n') {
        return None;
    }
    Some(match quoting {
        Quoting::Escaped { .. } => replacement.replace('\\', "\\\\").replace('"', "\\\""),
        Quoting::Doubled => replacement.replace('\'', "''"),
        Quoting::Literal { quote, .. } => {
            if replacement.contains(quote as char) {
                return None;
            }
            replacement.to_string()
        }
        Quoting::Bare => {
            if replacement.contains(": ")
                || replacement.contains(" #")
                || replacement.contains('\\')
            {
                return None;
            }
            replacement.to_string()
        }
        Quoting::Properties => replacement.replace('\\', "\\\\"),
    })
}
