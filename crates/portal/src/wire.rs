//! HTTP/1.1 on the wire: a request head parsed under hard limits.
//!
//! The portal faces browsers and programs it does not control, so nothing a
//! client sends can make it hold more than [`MAX_HEAD`] bytes of a head or
//! guess at what a message means: a request line that is not ASCII, a header
//! folded over lines, two `Content-Length`s, or a `Transfer-Encoding` beside
//! one are refused with the status RFC 9110/9112 give, never interpreted.
//! The parser is a pure function of the bytes, so it is fuzzed on its own
//! (`fuzz/fuzz_targets/http_head.rs`).

/// Longest request line (method, target, version).
pub const MAX_REQUEST_LINE: usize = 8 * 1024;
/// Largest request head: the request line and every header.
pub const MAX_HEAD: usize = 32 * 1024;
/// Most header fields in one request.
pub const MAX_HEADERS: usize = 64;

/// A request head that parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Upper case, as sent (methods are case-sensitive).
    pub method: String,
    /// The origin-form target: `/path?query`.
    pub target: String,
    /// `(1, 0)` or `(1, 1)`.
    pub version: (u8, u8),
    /// Names as sent; values with surrounding whitespace trimmed.
    pub headers: Vec<(String, String)>,
    /// The body's length (0 when none is announced).
    pub content_length: usize,
}

impl Head {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Whether the connection ends after this exchange (HTTP/1.0 closes
    /// unless asked to keep alive; HTTP/1.1 stays unless asked to close).
    pub fn closes(&self) -> bool {
        let conn = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("Connection"))
            .map(|(_, v)| v.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(",");
        let has = |t: &str| conn.split(',').any(|x| x.trim() == t);
        if self.version == (1, 0) {
            !has("keep-alive")
        } else {
            has("close")
        }
    }

    /// The client asked to be told to go on before it sends the body.
    pub fn expects_continue(&self) -> bool {
        self.version == (1, 1)
            && self
                .header("Expect")
                .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    }
}

/// The first value of header `name` (case-insensitive) among `headers`.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Why a head was refused: the status to answer with, and what to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub status: u16,
    pub message: String,
}

fn refuse(status: u16, message: impl Into<String>) -> Refused {
    Refused {
        status,
        message: message.into(),
    }
}

/// Where the head in `buf` ends (just past its empty line), if it is there.
/// Lines end in CRLF or, leniently (RFC 9112 §2.2), a bare LF.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(n) = buf[i..].iter().position(|b| *b == b'\n') {
        let at = i + n;
        let next = at + 1;
        if buf.get(next) == Some(&b'\n') {
            return Some(next + 1);
        }
        if buf.get(next) == Some(&b'\r') && buf.get(next + 1) == Some(&b'\n') {
            return Some(next + 2);
        }
        i = next;
    }
    None
}

/// Parses a whole head (as [`head_end`] cut it: request line, fields, the
/// empty line).
pub fn parse(head: &[u8]) -> Result<Head, Refused> {
    if head.len() > MAX_HEAD {
        return Err(refuse(431, format!("request head over {MAX_HEAD} bytes")));
    }
    let mut lines = head
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    // Empty lines before the request line are ignored (RFC 9112 §2.2).
    let line = lines
        .by_ref()
        .find(|l| !l.is_empty())
        .ok_or_else(|| refuse(400, "empty request"))?;
    if line.len() > MAX_REQUEST_LINE {
        return Err(refuse(
            414,
            format!("request line over {MAX_REQUEST_LINE} bytes"),
        ));
    }
    if !line.iter().all(|b| (0x21..0x7f).contains(b) || *b == b' ') {
        return Err(refuse(
            400,
            "the request line must be printable ASCII (percent-encode the rest)",
        ));
    }
    let text = std::str::from_utf8(line).map_err(|_| refuse(400, "request line is not ASCII"))?;
    let mut parts = text.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refuse(
            400,
            "the request line must be METHOD TARGET HTTP/1.1, single spaces",
        ));
    };
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(refuse(400, "the method is not a token"));
    }
    if !target.starts_with('/') {
        return Err(refuse(400, "the target must be a path starting with /"));
    }
    let version = match version {
        "HTTP/1.1" => (1, 1),
        "HTTP/1.0" => (1, 0),
        v if v.starts_with("HTTP/") => {
            return Err(refuse(505, format!("{v} is not spoken here; use HTTP/1.1")))
        }
        _ => return Err(refuse(400, "the request line does not end in HTTP/1.1")),
    };

    let mut headers = Vec::new();
    let mut length: Option<usize> = None;
    for line in lines {
        if line.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            return Err(refuse(
                431,
                format!("more than {MAX_HEADERS} header fields"),
            ));
        }
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(refuse(
                400,
                "header fields folded over lines are not accepted",
            ));
        }
        let colon = line
            .iter()
            .position(|b| *b == b':')
            .ok_or_else(|| refuse(400, "a header line has no colon"))?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || !name.iter().copied().all(is_tchar) {
            return Err(refuse(400, "a header name is not a token"));
        }
        if value
            .iter()
            .any(|b| (*b < 0x20 && *b != b'\t') || *b == 0x7f)
        {
            return Err(refuse(400, "a header value holds a control character"));
        }
        let name = String::from_utf8_lossy(name).into_owned();
        let value = String::from_utf8(value.to_vec())
            .map_err(|_| refuse(400, format!("the {name} header is not UTF-8")))?
            .trim_matches([' ', '\t'])
            .to_string();
        if name.eq_ignore_ascii_case("Transfer-Encoding") {
            return Err(refuse(
                501,
                "Transfer-Encoding is not accepted; send Content-Length",
            ));
        }
        if name.eq_ignore_ascii_case("Content-Length") {
            if length.is_some() {
                return Err(refuse(400, "more than one Content-Length"));
            }
            if value.is_empty() || value.len() > 19 || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(refuse(400, "Content-Length is not a number"));
            }
            length = Some(
                value
                    .parse()
                    .map_err(|_| refuse(400, "Content-Length is not a number"))?,
            );
        }
        headers.push((name, value));
    }
    Ok(Head {
        method: method.to_string(),
        target: target.to_string(),
        version,
        headers,
        content_length: length.unwrap_or(0),
    })
}

/// RFC 9110 `tchar`: what a method or a header name is made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The reason phrase for a status the portal answers with.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        303 => "See Other",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Result<Head, Refused> {
        let bytes = text.as_bytes();
        let end = head_end(bytes).expect("a whole head");
        parse(&bytes[..end])
    }

    #[test]
    fn a_plain_request_parses() {
        let h =
            head("POST /api/x?y=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nX:  v \r\n\r\nbody")
                .unwrap();
        assert_eq!(h.method, "POST");
        assert_eq!(h.target, "/api/x?y=1");
        assert_eq!(h.content_length, 12);
        assert_eq!(h.header("x"), Some("v"));
        assert!(!h.closes());
        let h = head("GET / HTTP/1.0\n\n").unwrap();
        assert!(h.closes());
        let h = head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").unwrap();
        assert!(!h.closes());
    }

    #[test]
    fn what_could_be_read_two_ways_is_refused() {
        let cases = [
            (
                "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
                400,
            ),
            ("GET / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
            ("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nA b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nA\u{1}: b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nA: b\u{1b}[2J\r\n\r\n", 400),
            ("GET /caf\u{e9} HTTP/1.1\r\n\r\n", 400),
            ("G\u{e9}T / HTTP/1.1\r\n\r\n", 400),
            ("GET  / HTTP/1.1\r\n\r\n", 400),
            ("GET http://x/ HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/2.0\r\n\r\n", 505),
            ("GET / FTP/1.1\r\n\r\n", 400),
        ];
        for (text, status) in cases {
            assert_eq!(head(text).map_err(|e| e.status), Err(status), "{text:?}");
        }
    }

    #[test]
    fn limits_hold() {
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_REQUEST_LINE));
        assert_eq!(head(&long).unwrap_err().status, 414);
        let many: String = (0..=MAX_HEADERS).map(|i| format!("H{i}: v\r\n")).collect();
        let text = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(head(&text).unwrap_err().status, 431);
        let big = format!("GET / HTTP/1.1\r\nA: {}\r\n\r\n", "v".repeat(MAX_HEAD));
        assert_eq!(head(&big).unwrap_err().status, 431);
    }

    /// The fuzz target's properties on stable: seeds mutated many times
    /// over (bytes flipped, inserted, dropped, lines doubled) never panic
    /// the parser, and what it accepts reads one way only.
    #[test]
    fn mutated_heads_never_panic_and_accepted_ones_read_one_way() {
        let seeds: [&[u8]; 4] = [
            b"GET /api/migrations?x=1 HTTP/1.1\r\nHost: a\r\nCookie: t=1\r\n\r\n",
            b"POST /api/v1/lineage HTTP/1.1\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n",
            b"HEAD / HTTP/1.0\nConnection: keep-alive\n\n",
            b"POST /login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5\r\n\r\n",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..20_000 {
            let mut b = seeds[round % seeds.len()].to_vec();
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % (b.len() + 1);
                match next() % 5 {
                    0 if at < b.len() => b[at] = next() as u8,
                    1 => b.insert(at, next() as u8),
                    2 if at < b.len() => {
                        b.remove(at);
                    }
                    3 => {
                        let line = b"Content-Length: 3\r\n";
                        let i = b.iter().position(|c| *c == b'\n').map_or(0, |i| i + 1);
                        b.splice(i..i, line.iter().copied());
                    }
                    _ => b.insert(
                        at,
                        [b'\r', b'\n', b':', b' ', 0x80, 0xff][next() as usize % 6],
                    ),
                }
            }
            let Some(end) = head_end(&b) else { continue };
            let Ok(h) = parse(&b[..end]) else { continue };
            assert!(h.target.starts_with('/'), "{b:?}");
            assert!(h.method.bytes().all(is_tchar), "{b:?}");
            assert!(h.headers.len() <= MAX_HEADERS);
            let lengths = h
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .count();
            assert!(lengths <= 1, "{b:?}");
        }
    }

    #[test]
    fn the_end_of_a_head_is_found_with_either_line_ending() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nrest"), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\nrest"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
        assert_eq!(head_end(b""), None);
    }
}
