//! HOCON (Typesafe config): objects, arrays, `=`/`:` separators, dotted
//! keys, quoted and unquoted strings, `#` and `//` comments. Substitutions
//! (`${...}`) and includes are read as values nobody edits.

use super::{insert, Parsed, Quoting, Tree};

const MAX_DEPTH: usize = 128;

/// The file's one document, when it parses.
pub(super) fn parse(src: &str) -> Parsed {
    Ok(read(src).into_iter().collect())
}

fn read(src: &str) -> Option<Tree> {
    let mut p = P { s: src, i: 0 };
    p.skip();
    let root = if p.peek() == Some(b'{') {
        p.i += 1;
        p.object(0, Some(b'}'))?
    } else {
        p.object(0, None)?
    };
    Some(root)
}

struct P<'a> {
    s: &'a str,
    i: usize,
}

impl P<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    /// Skips whitespace, newlines, commas and comments.
    fn skip(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_ascii_whitespace() || c == b',' => self.i += 1,
                Some(b'#') => self.skip_line(),
                Some(b'/') if self.s.as_bytes().get(self.i + 1) == Some(&b'/') => self.skip_line(),
                _ => return,
            }
        }
    }

    fn skip_line(&mut self) {
        while self.peek().is_some_and(|c| c != b'\n') {
            self.i += 1;
        }
    }

    fn object(&mut self, depth: usize, close: Option<u8>) -> Option<Tree> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut entries = Vec::new();
        loop {
            self.skip();
            match self.peek() {
                None if close.is_none() => return Some(Tree::Map(entries)),
                None => return None,
                Some(c) if Some(c) == close => {
                    self.i += 1;
                    return Some(Tree::Map(entries));
                }
                _ => {}
            }
            if self.s[self.i..].starts_with("include ") {
                self.skip_line();
                continue;
            }
            let path = self.key()?;
            while self.peek().is_some_and(|c| c == b' ' || c == b'\t') {
                self.i += 1;
            }
            let value = match self.peek()? {
                b'{' => {
                    self.i += 1;
                    self.object(depth + 1, Some(b'}'))?
                }
                b'=' | b':' => {
                    self.i += 1;
                    if self.s[self.i..].starts_with('=') {
                        self.i += 1; // `+=`
                    }
                    self.value(depth + 1)?
                }
                b'+' if self.s[self.i..].starts_with("+=") => {
                    self.i += 2;
                    self.value(depth + 1)?
                }
                _ => return None,
            };
            insert(&mut entries, &path, value);
        }
    }

    /// A key path: dotted segments, each quoted or bare.
    fn key(&mut self) -> Option<Vec<String>> {
        let mut path = Vec::new();
        loop {
            if self.peek() == Some(b'"') {
                let (text, _) = self.quoted()?;
                path.push(text);
            } else {
                let start = self.i;
                while self.peek().is_some_and(|c| {
                    !matches!(
                        c,
                        b'.' | b'=' | b':' | b'{' | b'}' | b'"' | b'#' | b',' | b'[' | b']' | b'+'
                    ) && !c.is_ascii_whitespace()
                }) {
                    self.i += 1;
                }
                if start == self.i {
                    return None;
                }
                path.push(self.s[start..self.i].to_string());
            }
            if self.peek() == Some(b'.') {
                self.i += 1;
                continue;
            }
            return Some(path);
        }
    }

    fn quoted(&mut self) -> Option<(String, Option<std::ops::Range<usize>>)> {
        if self.s[self.i..].starts_with("\"\"\"") {
            let start = self.i + 3;
            let len = self.s[start..].find("\"\"\"")?;
            self.i = start + len + 3;
            return Some((
                self.s[start..start + len].to_string(),
                Some(start..start + len),
            ));
        }
        self.i += 1;
        let start = self.i;
        let mut escaped = false;
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.i += 2;
                }
                b'\n' => return None,
                _ => self.i += 1,
            }
        }
        let raw = self.s.get(start..self.i)?.to_string();
        self.i += 1;
        Some(if escaped {
            (super::json::serde_json_like_unescape(&raw)?, None)
        } else {
            (raw.clone(), Some(start..start + raw.len()))
        })
    }

    fn value(&mut self, depth: usize) -> Option<Tree> {
        if depth > MAX_DEPTH {
            return None;
        }
        while self.peek().is_some_and(|c| c == b' ' || c == b'\t') {
            self.i += 1;
        }
        match self.peek()? {
            b'{' => {
                self.i += 1;
                self.object(depth + 1, Some(b'}'))
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.skip();
                    if self.peek()? == b']' {
                        self.i += 1;
                        return Some(Tree::Seq(items));
                    }
                    items.push(self.value(depth + 1)?);
                }
            }
            b'"' => {
                let triple = self.s[self.i..].starts_with("\"\"\"");
                let at = self.i + if triple { 3 } else { 1 };
                let (text, range) = self.quoted()?;
                self.rest_of_value();
                let quoting = if triple {
                    Quoting::Literal {
                        quote: b'"',
                        triple,
                    }
                } else {
                    Quoting::Escaped { triple }
                };
                let value = Some((at, quoting));
                Some(Tree::Scalar { text, range, value })
            }
            _ => {
                // An unquoted value runs to the end of the line, a comma,
                // a closing bracket or a comment.
                let start = self.i;
                while let Some(c) = self.peek() {
                    // A substitution `${?NAME}` is one piece of the value.
                    if c == b'$' && self.s.as_bytes().get(self.i + 1) == Some(&b'{') {
                        match self.s[self.i..].find('}') {
                            Some(end) => {
                                self.i += end + 1;
                                continue;
                            }
                            None => return None,
                        }
                    }
                    if matches!(c, b'\n' | b',' | b'}' | b']' | b'#')
                        || (c == b'/' && self.s.as_bytes().get(self.i + 1) == Some(&b'/'))
                    {
                        break;
                    }
                    self.i += 1;
                }
                let raw = self.s[start..self.i].trim_end();
                if start == self.i {
                    // Nothing here but a terminator: malformed, and
                    // looping on it would never end.
                    return None;
                }
                if raw.contains("${") {
                    return Some(Tree::Other);
                }
                Some(Tree::Scalar {
                    text: raw.to_string(),
                    range: Some(start..start + raw.len()),
                    value: Some((start, Quoting::Bare)),
                })
            }
        }
    }

    /// Concatenated parts after a quoted string are read and ignored.
    fn rest_of_value(&mut self) {
        while let Some(c) = self.peek() {
            if matches!(c, b'\n' | b',' | b'}' | b']' | b'#') {
                break;
            }
            self.i += 1;
        }
    }
}
