//! JSON with byte spans: serde_json keeps none.

use super::{Parsed, Quoting, Tree};

const MAX_DEPTH: usize = 128;

/// The file's one document, when it parses.
pub(super) fn parse(src: &str) -> Parsed {
    Ok(read(src).into_iter().collect())
}

fn read(src: &str) -> Option<Tree> {
    let mut p = P {
        b: src.as_bytes(),
        i: 0,
    };
    let t = p.value(0)?;
    p.ws();
    (p.i == p.b.len()).then_some(t)
}

struct P<'a> {
    b: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.b.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    /// A string: its text (escapes decoded) and, when it has no escapes, its content range.
    fn string(&mut self) -> Option<(String, Option<std::ops::Range<usize>>)> {
        self.eat(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            match *self.b.get(self.i)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.i += 2;
                }
                _ => self.i += 1,
            }
        }
        let raw = std::str::from_utf8(self.b.get(start..self.i)?).ok()?;
        self.i += 1;
        if escaped {
            let text: String = serde_json_like_unescape(raw)?;
            Some((text, None))
        } else {
            Some((raw.to_string(), Some(start..start + raw.len())))
        }
    }

    fn value(&mut self, depth: usize) -> Option<Tree> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.b.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut entries = Vec::new();
                if self.eat(b'}').is_some() {
                    return Some(Tree::Map(entries));
                }
                loop {
                    self.ws();
                    let (k, _) = self.string()?;
                    self.eat(b':')?;
                    let v = self.value(depth + 1)?;
                    entries.push((k, v));
                    if self.eat(b',').is_some() {
                        continue;
                    }
                    self.eat(b'}')?;
                    return Some(Tree::Map(entries));
                }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                if self.eat(b']').is_some() {
                    return Some(Tree::Seq(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b',').is_some() {
                        continue;
                    }
                    self.eat(b']')?;
                    return Some(Tree::Seq(items));
                }
            }
            b'"' => {
                let at = self.i + 1;
                let (text, range) = self.string()?;
                Some(Tree::Scalar {
                    text,
                    range,
                    value: Some((at, Quoting::Escaped { triple: false })),
                })
            }
            c if c == b'-' || c.is_ascii_alphanumeric() => {
                while self
                    .b
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
                {
                    self.i += 1;
                }
                Some(Tree::Other)
            }
            _ => None,
        }
    }
}

/// Decodes JSON escapes; `None` on a malformed one.
pub(super) fn serde_json_like_unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?).unwrap_or('\u{fffd}'));
            }
            other => out.push(other),
        }
    }
    Some(out)
}
