//! Connections: accepted at once, one thread each, a deadline on everything
//! a client sends.
//!
//! A client that sends slowly holds only its own connection, never a
//! thread another request needs: heads and bodies are read on the
//! connection's thread against deadlines ([`HEAD_TIME`], [`BODY_TIME`]), a
//! body is read only after the head says who is asking and that they may,
//! and the number of connections is bounded in all and per peer address, so
//! an accept never waits and a flood is turned away with 503 before it
//! costs more than the answer.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::http::{self, Body, Resp};
use crate::wire::{self, Head, Refused, MAX_HEAD, MAX_REQUEST_LINE};
use crate::Portal;

/// Connections open at once, in all.
pub const MAX_CONNECTIONS: usize = 512;
/// Connections open at once from one address.
pub const MAX_PER_PEER: usize = 64;
/// How long a kept-alive connection may wait for its next request.
const IDLE: Duration = Duration::from_secs(10);
/// From a request's first byte to the end of its head.
const HEAD_TIME: Duration = Duration::from_secs(10);
/// For a whole body (at most [`crate::http::MAX_BODY`], so at least 35 KB/s).
const BODY_TIME: Duration = Duration::from_secs(30);
/// For each write of an answer to a client that does not read.
const WRITE_TIME: Duration = Duration::from_secs(30);
/// Requests on one connection before it is closed.
const MAX_REQUESTS: usize = 1000;
/// How long, and how much, a refused client's rest is read and dropped.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 2 << 20;

/// Whether a new connection from `peer` may be served, counting it if so.
pub(crate) fn admit(portal: &Portal, peer: IpAddr) -> bool {
    let mut open = portal.peers.lock().unwrap_or_else(|e| e.into_inner());
    let total: usize = open.values().sum();
    let mine = open.entry(peer).or_default();
    if total >= MAX_CONNECTIONS || *mine >= MAX_PER_PEER {
        return false;
    }
    *mine += 1;
    true
}

pub(crate) fn leave(portal: &Portal, peer: IpAddr) {
    let mut open = portal.peers.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = open.get_mut(&peer) {
        *n -= 1;
        if *n == 0 {
            open.remove(&peer);
        }
    }
}

/// Turns a connection away without reading from it.
pub(crate) fn turn_away(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let body = br#"{"status":503,"error":"unavailable","message":"too many connections; try again shortly"}"#;
    let _ = http::write_whole(
        &mut stream,
        503,
        &[
            ("Content-Type", "application/json".into()),
            ("Retry-After", "1".into()),
        ],
        body,
        false,
        true,
    );
}

/// Serves one admitted connection until it closes, then gives its place back.
pub(crate) fn serve(portal: &Portal, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(WRITE_TIME));
    let id = portal.next_conn.fetch_add(1, Ordering::Relaxed);
    if let Ok(c) = stream.try_clone() {
        portal
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, c);
    }
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
        loopback: peer.ip().is_loopback(),
    };
    conn.run(portal);
    portal
        .conns
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id);
    leave(portal, peer.ip());
}

struct Conn {
    stream: TcpStream,
    /// Bytes read past the last request (a pipelined next one).
    buf: Vec<u8>,
    loopback: bool,
}

/// What reading a head came to.
enum Got {
    Head(Head),
    /// The client left, or stayed silent past [`IDLE`], between requests.
    Gone,
    /// Refused: answer, then close.
    Refused(Refused),
}

impl Conn {
    fn run(&mut self, portal: &Portal) {
        for _ in 0..MAX_REQUESTS {
            if portal.stopping.load(Ordering::Relaxed) {
                return;
            }
            let started = Instant::now();
            let head = match self.read_head() {
                Got::Head(h) => h,
                Got::Gone => return,
                Got::Refused(r) => {
                    portal
                        .metrics
                        .request("other", "unparsed", r.status, started.elapsed());
                    let _ = self.write(&http::refused(r.status, &r.message), true, false);
                    self.linger();
                    return;
                }
            };
            // Who is asking, and may they send this, before a byte of it.
            let routed = match http::admit(portal, &head, self.loopback) {
                Ok(routed) => routed,
                Err(resp) => {
                    portal.metrics.request(
                        &head.method,
                        "unmatched",
                        resp.status,
                        started.elapsed(),
                    );
                    let close = head.closes() || head.content_length > 0;
                    let _ = self.write(&resp, close, head.method == "HEAD");
                    if close {
                        self.linger();
                        return;
                    }
                    continue;
                }
            };
            if head.expects_continue()
                && head.content_length > 0
                && self
                    .stream
                    .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                    .is_err()
            {
                return;
            }
            let body = match self.read_body(head.content_length) {
                Ok(b) => b,
                Err(status) => {
                    let message = if status == 408 {
                        format!("the body did not arrive within {}s", BODY_TIME.as_secs())
                    } else {
                        "the connection ended inside the body".to_string()
                    };
                    let _ = self.write(&http::refused(status, &message), true, false);
                    self.linger();
                    return;
                }
            };
            let (resp, route) = http::answer(portal, &head, routed, body, self.loopback);
            portal
                .metrics
                .request(&head.method, route, resp.status, started.elapsed());
            let close = head.closes() || portal.stopping.load(Ordering::Relaxed);
            match resp.body {
                Body::Events(stream) => {
                    let _ = self.stream.set_write_timeout(Some(WRITE_TIME));
                    stream.run(portal, &mut self.stream);
                    return;
                }
                _ => {
                    if self.write(&resp, close, head.method == "HEAD").is_err() || close {
                        return;
                    }
                }
            }
        }
    }

    /// Closes after an answer sent before the client finished sending: the
    /// write side first, then what still arrives is read and dropped for a
    /// moment (at most [`LINGER`] and [`LINGER_BYTES`]). Closing at once with
    /// unread bytes makes the kernel reset the connection, and the client
    /// would lose the answer that says why.
    fn linger(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        let until = Instant::now() + LINGER;
        let mut drained = 0usize;
        let mut chunk = [0u8; 16 * 1024];
        while drained < LINGER_BYTES {
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                break;
            };
            if self
                .stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .is_err()
            {
                break;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    }

    fn write(&mut self, resp: &Resp, close: bool, head_only: bool) -> std::io::Result<()> {
        http::write_resp(&mut self.stream, resp, close, head_only)
    }

    /// Reads until a whole head is in the buffer: at most [`IDLE`] for its
    /// first byte, then [`HEAD_TIME`] for the rest, and never more than
    /// [`MAX_HEAD`] bytes.
    fn read_head(&mut self) -> Got {
        let mut deadline = (!self.buf.is_empty()).then(|| Instant::now() + HEAD_TIME);
        let idle_until = Instant::now() + IDLE;
        loop {
            if let Some(end) = wire::head_end(&self.buf) {
                let parsed = wire::parse(&self.buf[..end]);
                self.buf.drain(..end);
                return match parsed {
                    Ok(h) => Got::Head(h),
                    Err(r) => Got::Refused(r),
                };
            }
            if !self.buf.contains(&b'\n') && self.buf.len() > MAX_REQUEST_LINE + 2 {
                return Got::Refused(Refused {
                    status: 414,
                    message: format!("request line over {MAX_REQUEST_LINE} bytes"),
                });
            }
            if self.buf.len() > MAX_HEAD {
                return Got::Refused(Refused {
                    status: 431,
                    message: format!("request head over {MAX_HEAD} bytes"),
                });
            }
            let until = deadline.unwrap_or(idle_until);
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                return match deadline {
                    None => Got::Gone,
                    Some(_) => Got::Refused(Refused {
                        status: 408,
                        message: format!(
                            "the request head did not arrive within {}s",
                            HEAD_TIME.as_secs()
                        ),
                    }),
                };
            };
            match self.fill(left, MAX_HEAD + 1 - self.buf.len().min(MAX_HEAD)) {
                Ok(0) if self.buf.is_empty() => return Got::Gone,
                Ok(0) => {
                    return Got::Refused(Refused {
                        status: 400,
                        message: "the connection ended inside the request head".into(),
                    })
                }
                Ok(_) => {
                    if deadline.is_none() {
                        deadline = Some(Instant::now() + HEAD_TIME);
                    }
                }
                Err(e) if timed_out(&e) => continue,
                Err(_) => return Got::Gone,
            }
        }
    }

    /// The body of `length` bytes (already checked against the limits),
    /// within [`BODY_TIME`]; `Err(408)` when it does not come in time,
    /// `Err(400)` when the client leaves half way.
    fn read_body(&mut self, length: usize) -> Result<Vec<u8>, u16> {
        let deadline = Instant::now() + BODY_TIME;
        while self.buf.len() < length {
            let left = deadline
                .checked_duration_since(Instant::now())
                .ok_or(408u16)?;
            match self.fill(left, length - self.buf.len()) {
                Ok(0) => return Err(400),
                Ok(_) => {}
                Err(e) if timed_out(&e) => continue,
                Err(_) => return Err(400),
            }
        }
        let rest = self.buf.split_off(length);
        Ok(std::mem::replace(&mut self.buf, rest))
    }

    /// One read of at most `most` bytes (at least one), waiting at most `left`.
    fn fill(&mut self, left: Duration, most: usize) -> std::io::Result<usize> {
        self.stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
        let mut chunk = [0u8; 16 * 1024];
        let n = most.clamp(1, chunk.len());
        let got = self.stream.read(&mut chunk[..n])?;
        self.buf.extend_from_slice(&chunk[..got]);
        Ok(got)
    }
}

fn timed_out(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock
            | std::io::ErrorKind::TimedOut
            | std::io::ErrorKind::Interrupted
    )
}
