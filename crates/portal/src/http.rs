//! Requests in, responses out: body limits, path checks, routing, errors.
//!
//! A handler sees a [`Req`] that is already whole and checked (body within
//! [`MAX_BODY`], path segments decoded and free of traversal) and returns a
//! [`Resp`] or an [`ApiError`]; errors become JSON under `/api/` and an HTML
//! page elsewhere, with the status a client expects.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use crate::routes;
use crate::Portal;

/// Largest request body accepted (OpenLineage batches included).
pub const MAX_BODY: usize = 1 << 20;

/// A request, read whole.
pub struct Req {
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The peer is on this machine: reads need no token.
    pub loopback: bool,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.header("Cookie")?
            .split(';')
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Fields of an `application/x-www-form-urlencoded` body.
    pub fn form(&self) -> Vec<(String, String)> {
        parse_query(&String::from_utf8_lossy(&self.body))
    }

    /// The body as JSON, or 400 naming what is wrong with it.
    pub fn json(&self) -> Result<serde_json::Value, ApiError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::bad_request(format!("request body is not valid JSON: {e}")))
    }
}

/// What a handler answers.
pub struct Resp {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

pub enum Body {
    Bytes(Vec<u8>),
    Shared(Arc<String>),
    /// A server-sent event stream, written straight to the socket.
    Events(crate::live::Stream),
}

impl Resp {
    pub fn json<T: serde::Serialize>(v: &T) -> Resp {
        Resp::bytes(
            200,
            "application/json",
            serde_json::to_vec(v).unwrap_or_default(),
        )
    }

    pub fn shared_json(s: Arc<String>) -> Resp {
        Resp {
            status: 200,
            content_type: "application/json",
            headers: vec![],
            body: Body::Shared(s),
        }
    }

    pub fn html(markup: maud::Markup) -> Resp {
        Resp::bytes(
            200,
            "text/html; charset=utf-8",
            markup.into_string().into_bytes(),
        )
    }

    pub fn bytes(status: u16, content_type: &'static str, body: Vec<u8>) -> Resp {
        Resp {
            status,
            content_type,
            headers: vec![],
            body: Body::Bytes(body),
        }
    }

    /// 303 to `to`: what a form post answers so a reload does not repeat it.
    pub fn see_other(to: &str) -> Resp {
        Resp {
            status: 303,
            content_type: "text/plain; charset=utf-8",
            headers: vec![("Location".into(), to.into())],
            body: Body::Bytes(Vec::new()),
        }
    }

    pub fn with_status(mut self, status: u16) -> Resp {
        self.status = status;
        self
    }

    pub fn with_header(mut self, k: &str, v: String) -> Resp {
        self.headers.push((k.into(), v));
        self
    }
}

/// A request that cannot be answered as asked.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(m: impl Into<String>) -> ApiError {
        ApiError::new(400, m)
    }
    pub fn not_found(m: impl Into<String>) -> ApiError {
        ApiError::new(404, m)
    }

    /// The short name of the status, for JSON clients that switch on it.
    fn code(&self) -> &'static str {
        match self.status {
            400 => "bad_request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            405 => "method_not_allowed",
            409 => "conflict",
            413 => "payload_too_large",
            503 => "unavailable",
            _ => "internal",
        }
    }
}

impl From<tern_fleet::FleetError> for ApiError {
    fn from(e: tern_fleet::FleetError) -> ApiError {
        use tern_fleet::FleetError as F;
        let status = match &e {
            F::NotFound(_) => 404,
            F::Spec(_) => 400,
            F::State(_) => 409,
            F::Forbidden(_) => 403,
            F::Catalog(_) => 500,
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<tern_catalog::CatalogError> for ApiError {
    fn from(e: tern_catalog::CatalogError) -> ApiError {
        tracing::error!(error = %e, "catalog failed");
        ApiError::new(500, e.to_string())
    }
}

pub type Params = Vec<(&'static str, String)>;

/// The value of a `{name}` segment of the matched route.
pub fn param<'a>(p: &'a Params, name: &str) -> &'a str {
    p.iter()
        .find(|(k, _)| *k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Answers one request on the calling thread.
pub fn handle(portal: &Portal, mut rq: tiny_http::Request) {
    let started = Instant::now();
    let method = rq.method().as_str().to_ascii_uppercase();
    let url = rq.url().to_string();
    let (raw_path, raw_query) = url.split_once('?').unwrap_or((&url, ""));
    let headers: Vec<(String, String)> = rq
        .headers()
        .iter()
        .map(|h| (h.field.as_str().to_string(), h.value.as_str().to_string()))
        .collect();
    let loopback = rq.remote_addr().is_some_and(|a| a.ip().is_loopback());
    // Kept apart so an error page can still say who is signed in.
    let cookie: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("Cookie"))
        .cloned()
        .collect();
    let is_api = raw_path.starts_with("/api/");

    let mut route_name = "unmatched";
    let outcome = (|| {
        if rq.body_length().is_some_and(|n| n > MAX_BODY) {
            return Err(ApiError::new(
                413,
                format!("request body over {MAX_BODY} bytes"),
            ));
        }
        let mut body = Vec::new();
        rq.as_reader()
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))?;
        if body.len() > MAX_BODY {
            return Err(ApiError::new(
                413,
                format!("request body over {MAX_BODY} bytes"),
            ));
        }
        let segments = split_path(raw_path)?;
        let (route, params) = routes::find(&method, &segments)?;
        route_name = route.path;
        let req = Req {
            query: parse_query(raw_query),
            headers,
            body,
            loopback,
        };
        (route.handler)(portal, &req, &params)
    })();

    let resp = match outcome {
        Ok(r) => r,
        Err(e) if is_api || route_name == "/metrics" => error_json(&e),
        Err(e) => {
            let who = Req {
                query: vec![],
                headers: cookie,
                body: vec![],
                loopback,
            };
            let principal = crate::auth::identify(portal, &who).ok().flatten();
            crate::pages::error_page(&e, principal)
        }
    };
    let status = resp.status;
    // Counted before the answer leaves, so a client that scrapes /metrics
    // right after sees its own request.
    portal
        .metrics
        .request(&method, route_name, status, started.elapsed());
    match resp.body {
        Body::Events(stream) => {
            let mut w = rq.into_writer();
            stream.run(portal, &mut w);
        }
        body => {
            // Borrowed, not copied: a cached status can be hundreds of KB.
            let bytes: &[u8] = match &body {
                Body::Bytes(b) => b,
                Body::Shared(s) => s.as_bytes(),
                Body::Events(_) => &[],
            };
            let mut headers = vec![
                ("Content-Type", resp.content_type.to_string()),
                ("X-Content-Type-Options", "nosniff".into()),
                ("Referrer-Policy", "same-origin".into()),
            ];
            if resp.content_type.starts_with("text/html") {
                headers.push(("X-Frame-Options", "DENY".into()));
            }
            headers.extend(resp.headers.iter().map(|(k, v)| (k.as_str(), v.clone())));
            let head_only = method == "HEAD";
            let close = closes(&rq);
            let mut w = rq.into_writer();
            if let Err(e) = write_whole(&mut w, status, &headers, bytes, head_only, close) {
                tracing::debug!(error = %e, "client went away");
            }
        }
    }
}

/// Whether the connection ends after this response, as tiny_http decides
/// it from the request (it reads the next request otherwise).
fn closes(rq: &tiny_http::Request) -> bool {
    let conn = rq
        .headers()
        .iter()
        .find(|h| h.field.equiv("Connection"))
        .map(|h| h.value.as_str().to_ascii_lowercase());
    let v10 = *rq.http_version() == tiny_http::HTTPVersion(1, 0);
    match conn {
        Some(c) if c.contains("close") => true,
        Some(c) => v10 && !c.contains("keep-alive"),
        None => v10,
    }
}

/// Writes status line, headers and body with one `write` to the socket.
/// tiny_http would write the head and the body apart, and on a socket
/// without TCP_NODELAY the body then waits for the client's delayed ACK
/// (about 40 ms a response on Linux).
fn write_whole(
    w: &mut dyn std::io::Write,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
    head_only: bool,
    close: bool,
) -> std::io::Result<()> {
    use std::fmt::Write as _;
    let reason = tiny_http::StatusCode(status).default_reason_phrase();
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nServer: tern\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        if !v.contains(['\r', '\n']) {
            let _ = write!(head, "{k}: {v}\r\n");
        }
    }
    head.push_str(if close {
        "Connection: close\r\n\r\n"
    } else {
        "Connection: keep-alive\r\n\r\n"
    });
    let mut out = head.into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    w.write_all(&out)?;
    w.flush()
}

pub fn error_json(e: &ApiError) -> Resp {
    Resp::bytes(
        e.status,
        "application/json",
        serde_json::to_vec(&json!({
            "status": e.status,
            "error": e.code(),
            "message": e.message,
        }))
        .unwrap_or_default(),
    )
}

/// Decoded path segments; refuses traversal and undecodable input.
fn split_path(path: &str) -> Result<Vec<String>, ApiError> {
    let bad = |why: &str| ApiError::bad_request(format!("bad path {path:?}: {why}"));
    if !path.starts_with('/') {
        return Err(bad("it must start with /"));
    }
    let mut out = Vec::new();
    for raw in path[1..].split('/') {
        let seg =
            percent_decode(raw).ok_or_else(|| bad("it is not valid percent-encoded UTF-8"))?;
        if seg == ".." || seg == "." || seg.contains(['/', '\\', '\0']) {
            return Err(bad("path traversal is not allowed"));
        }
        out.push(seg);
    }
    if out.last().is_some_and(|s| s.is_empty()) && out.len() > 1 {
        out.pop();
    }
    Ok(out)
}

pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let plus = |s: &str| s.replace('+', " ");
            Some((percent_decode(&plus(k))?, percent_decode(&plus(v))?))
        })
        .collect()
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes one path segment (ids in links).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_decoded_and_traversal_refused() {
        assert_eq!(
            split_path("/api/migrations/a%20b").unwrap(),
            ["api", "migrations", "a b"]
        );
        assert_eq!(split_path("/").unwrap(), [""]);
        assert!(split_path("/api/../etc").is_err());
        assert!(split_path("/api/%2e%2e/x").is_err());
        assert!(split_path("/api/a%2fb").is_err());
        assert!(split_path("/api/%zz").is_err());
    }

    #[test]
    fn queries_and_forms_decode() {
        assert_eq!(
            parse_query("state=failed&owner=group%3Adefault%2Fbi&q=a+b"),
            [
                ("state".to_string(), "failed".to_string()),
                ("owner".into(), "group:default/bi".into()),
                ("q".into(), "a b".into())
            ]
        );
        assert_eq!(encode("group:default/bi"), "group:default%2Fbi");
    }
}
