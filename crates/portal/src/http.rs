//! Requests in, responses out: body limits, path checks, routing, errors.
//!
//! A handler sees a [`Req`] that is already whole and checked (body within
//! [`MAX_BODY`], path segments decoded and free of traversal) and returns a
//! [`Resp`] or an [`ApiError`]; errors become JSON under `/api/` and an HTML
//! page elsewhere, with the status a client expects.

use std::sync::Arc;

use serde_json::json;

use crate::routes::{self, Access};
use crate::wire::Head;
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
        crate::wire::header(&self.headers, name)
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

/// Largest body of a route anyone may call (a sign-in form), or of a read.
pub const MAX_SMALL_BODY: usize = 16 * 1024;

/// A request the head says may go on: the route it matched, with its
/// `{name}` segments, found once for both [`admit`] and [`answer`].
pub struct Routed {
    route: &'static routes::Route,
    params: Params,
}

/// Decides from the head alone whether a request may go on to send its
/// body: `Err` is the answer to give instead (and the body is never read).
/// A body too large for its route, an unknown route, and a change sent by
/// no one the catalog knows are refused here, so an unauthenticated client
/// cannot make the portal wait for, or hold, a megabyte.
pub fn admit(portal: &Portal, head: &Head, loopback: bool) -> Result<Routed, Resp> {
    let (raw_path, _) = head.target.split_once('?').unwrap_or((&head.target, ""));
    let is_api = raw_path.starts_with("/api/");
    let refuse = |e: ApiError| error_resp(portal, &e, is_api, &head.headers, loopback);
    if head.content_length > MAX_BODY {
        return Err(refuse(ApiError::new(
            413,
            format!("request body over {MAX_BODY} bytes"),
        )));
    }
    let segments = split_path(raw_path).map_err(refuse)?;
    let (route, params) =
        routes::find(&head.method.to_ascii_uppercase(), &segments).map_err(refuse)?;
    let routed = Routed { route, params };
    if head.content_length == 0 {
        return Ok(routed);
    }
    match route.access {
        Access::Open | Access::Read if head.content_length > MAX_SMALL_BODY => {
            Err(refuse(ApiError::new(
                413,
                format!(
                    "request body over {MAX_SMALL_BODY} bytes for {}",
                    route.path
                ),
            )))
        }
        Access::Open | Access::Read => Ok(routed),
        Access::User
        | Access::Lineage
        | Access::Admin
        | Access::ConsumerOwner
        | Access::MigrationOwner => {
            let who = Req {
                query: vec![],
                headers: head.headers.clone(),
                body: vec![],
                loopback,
            };
            match crate::auth::identify(portal, &who) {
                Ok(Some(_)) => Ok(routed),
                Ok(None) => Err(refuse(ApiError::new(
                    401,
                    "sign in first: send Authorization: Bearer <token>, or sign in at /login (`tern token create USER` makes a token)",
                ))),
                Err(e) => Err(refuse(e)),
            }
        }
    }
}

/// Answers an admitted request whose body has arrived; with the route it
/// matched (for the metrics).
pub fn answer(
    portal: &Portal,
    head: &Head,
    routed: Routed,
    body: Vec<u8>,
    loopback: bool,
) -> (Resp, &'static str) {
    let (raw_path, raw_query) = head.target.split_once('?').unwrap_or((&head.target, ""));
    let Routed { route, params } = routed;
    let req = Req {
        query: parse_query(raw_query),
        headers: head.headers.clone(),
        body,
        loopback,
    };
    let resp = match (route.handler)(portal, &req, &params) {
        Ok(r) => r,
        Err(e) if route.path == "/metrics" => error_json(&e),
        Err(e) => error_resp(
            portal,
            &e,
            raw_path.starts_with("/api/"),
            &head.headers,
            loopback,
        ),
    };
    (resp, route.path)
}

/// An error as its caller reads it: JSON for a program, a page (saying who
/// is signed in) for a browser.
fn error_resp(
    portal: &Portal,
    e: &ApiError,
    is_api: bool,
    headers: &[(String, String)],
    loopback: bool,
) -> Resp {
    if is_api {
        return error_json(e);
    }
    let who = Req {
        query: vec![],
        headers: headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("Cookie"))
            .cloned()
            .collect(),
        body: vec![],
        loopback,
    };
    let principal = crate::auth::identify(portal, &who).ok().flatten();
    crate::pages::error_page(e, principal)
}

/// The answer to a request that could not be read as one.
pub fn refused(status: u16, message: &str) -> Resp {
    error_json(&ApiError::new(status, message))
}

/// Writes a whole answer (never an event stream, which writes itself).
pub fn write_resp(
    w: &mut dyn std::io::Write,
    resp: &Resp,
    close: bool,
    head_only: bool,
) -> std::io::Result<()> {
    // Borrowed, not copied: a cached status can be hundreds of KB.
    let bytes: &[u8] = match &resp.body {
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
    write_whole(w, resp.status, &headers, bytes, head_only, close)
}

/// Writes status line, headers and body with one `write` to the socket, so
/// that a small answer leaves in one segment.
pub fn write_whole(
    w: &mut dyn std::io::Write,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
    head_only: bool,
    close: bool,
) -> std::io::Result<()> {
    use std::fmt::Write as _;
    let reason = crate::wire::reason(status);
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
        // An encoded `/` inside a segment is an id's own (a namespaced
        // catalog entity, `team-a/job`), never a way up: no part of it may be
        // `.`, `..` or empty.
        if seg.contains(['\\', '\0'])
            || seg
                .split('/')
                .any(|part| part == ".." || part == "." || (part.is_empty() && seg.contains('/')))
            || seg == "."
        {
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
        assert_eq!(
            split_path("/api/consumers/team-a%2Fjob").unwrap(),
            ["api", "consumers", "team-a/job"]
        );
        for bad in [
            "/api/..%2fx",
            "/api/a%2f..",
            "/api/%2fa",
            "/api/a%2f",
            "/api/a%2f.%2fb",
            "/api/a%5cb",
        ] {
            assert!(split_path(bad).is_err(), "{bad}");
        }
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
