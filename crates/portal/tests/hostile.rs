//! The portal against clients that mean it harm: slow senders, huge or
//! ambiguous heads, invented methods. Every attack is bounded (a few hundred
//! connections at most, only to 127.0.0.1) and ends by itself.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tern_catalog::Store;

fn server() -> (tern_portal::Server, SocketAddr, String) {
    let store: Arc<dyn Store> = Arc::from(tern_catalog::open("sqlite::memory:").unwrap());
    let (token, _) =
        tern_portal::create_token(store.as_ref(), "root", tern_catalog::Role::Admin, None).unwrap();
    let forge = Arc::new(tern_local_forge::LocalForge::default());
    let server = tern_portal::Server::bind("127.0.0.1:0", store, forge).unwrap();
    let addr = server.addr();
    (server, addr, token)
}

/// Sends `raw` and reads the answer's status line (0 when none came).
fn status_of(addr: SocketAddr, raw: &[u8]) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // The server may answer and close before it has read everything.
    let _ = s.write_all(raw);
    read_status(&mut s)
}

fn read_status(s: &mut TcpStream) -> u16 {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(2).any(|w| w == b"\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got)
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// A GET that must be answered, and how long it took.
fn timed_get(addr: SocketAddr, path: &str) -> (u16, Duration) {
    let started = Instant::now();
    let status = status_of(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    (status, started.elapsed())
}

#[test]
fn slow_senders_hold_only_their_own_connections() {
    let (_server, addr, token) = server();
    // Sixteen POSTs without a token and sixteen with one send their heads,
    // then a byte every two seconds; a third kind never finishes its head.
    let mut slow = Vec::new();
    for i in 0..48 {
        let mut s = TcpStream::connect(addr).unwrap();
        let auth = if i % 3 == 1 {
            format!("Authorization: Bearer {token}\r\n")
        } else {
            String::new()
        };
        let head = if i % 3 == 2 {
            "POST /api/migrations/x/pause HTTP/1.1\r\nHost: x\r\n".to_string()
        } else {
            format!(
                "POST /api/migrations/x/pause HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            )
        };
        s.write_all(head.as_bytes()).unwrap();
        slow.push(s);
    }
    let dripper = {
        let mut conns: Vec<TcpStream> = slow.iter().map(|s| s.try_clone().unwrap()).collect();
        std::thread::spawn(move || {
            for _ in 0..5 {
                std::thread::sleep(Duration::from_secs(2));
                for c in &mut conns {
                    let _ = c.write_all(b"x");
                }
            }
        })
    };
    // Meanwhile everyone else is answered at once.
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..20 {
        let (status, took) = timed_get(addr, "/api/migrations");
        assert_eq!(status, 200);
        assert!(took < Duration::from_secs(2), "a read took {took:?}");
    }
    // The ones without a token were refused from their heads alone.
    for s in slow.iter_mut().step_by(3) {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(read_status(s), 401);
    }
    dripper.join().unwrap();
}

#[test]
fn a_body_that_never_arrives_times_out_without_holding_anyone() {
    let (_server, addr, token) = server();
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(
        format!("POST /api/migrations/x/pause HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: 10\r\n\r\nabc")
            .as_bytes(),
    )
    .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(45))).unwrap();
    let started = Instant::now();
    assert_eq!(read_status(&mut s), 408);
    assert!(started.elapsed() < Duration::from_secs(40));
}

#[test]
fn heads_too_large_or_ambiguous_are_refused() {
    let (_server, addr, _) = server();
    // A header line of 200 MiB is cut off at the limit: the answer (431)
    // comes after the first 32 KiB, and the connection is closed soon
    // after, however long the client goes on sending.
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nX-Big: ").unwrap();
    let mut writer = s.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let chunk = vec![b'a'; 1 << 16];
        let started = Instant::now();
        let mut sent = 0usize;
        while sent < 200 << 20 && started.elapsed() < Duration::from_secs(15) {
            match writer.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => return (sent, started.elapsed()), // closed on us
            }
        }
        (sent, started.elapsed())
    });
    assert_eq!(read_status(&mut s), 431);
    let (sent, took) = sender.join().unwrap();
    assert!(
        took < Duration::from_secs(10) && sent < 100 << 20,
        "the server went on reading: {sent} bytes over {took:?}"
    );

    let long_line = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(20_000));
    let many: String = (0..200).map(|i| format!("H{i}: v\r\n")).collect();
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (long_line.into_bytes(), 414),
        (format!("GET / HTTP/1.1\r\n{many}\r\n").into_bytes(), 431),
        (
            b"POST /login HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"
                .to_vec(),
            400,
        ),
        (
            b"POST /login HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                .to_vec(),
            501,
        ),
        ("GET /caf\u{e9} HTTP/1.1\r\n\r\n".as_bytes().to_vec(), 400),
        (b"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n".to_vec(), 400),
        (b"GET / HTTP/3\r\n\r\n".to_vec(), 505),
        (
            b"POST /api/v1/lineage HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n".to_vec(),
            413,
        ),
        (
            b"POST /login HTTP/1.1\r\nContent-Length: 100000\r\n\r\n".to_vec(),
            413,
        ),
    ];
    for (raw, want) in cases {
        assert_eq!(
            status_of(addr, &raw),
            want,
            "{}",
            String::from_utf8_lossy(&raw[..raw.len().min(80)])
        );
    }
    // The server is still well.
    assert_eq!(timed_get(addr, "/api/migrations").0, 200);
}

#[test]
fn invented_methods_do_not_grow_the_metrics() {
    let (_server, addr, _) = server();
    for i in 0..300 {
        let raw = format!("M{i}X /api/migrations HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert_eq!(status_of(addr, raw.as_bytes()), 405);
    }
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(text.contains("method=\"other\""), "{text}");
    assert!(!text.contains("M17X"), "an invented method became a label");
    assert!(text.len() < 20_000, "metrics grew to {} bytes", text.len());
}

#[test]
fn a_flood_of_connections_is_turned_away_not_queued() {
    let (_server, addr, _) = server();
    // More idle connections from one address than it may hold: the rest
    // are told so at once, and a fresh request still gets through once
    // they are gone.
    let mut idle = Vec::new();
    for _ in 0..80 {
        idle.push(TcpStream::connect(addr).unwrap());
    }
    let mut turned = 0;
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        if read_status(s) == 503 {
            turned += 1;
        }
    }
    assert!(turned >= 80 - 64, "only {turned} turned away");
    drop(idle);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(timed_get(addr, "/api/migrations").0, 200);
}

/// One request with a bearer token and a JSON body; (status, body).
fn call(addr: SocketAddr, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let raw = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(raw.as_bytes()).unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

#[test]
fn expired_and_revoked_tokens_get_401_and_admins_manage_tokens() {
    let store: Arc<dyn Store> = Arc::from(tern_catalog::open("sqlite::memory:").unwrap());
    let (admin, _) =
        tern_portal::create_token(store.as_ref(), "root", tern_catalog::Role::Admin, None).unwrap();
    let (expired, _) =
        tern_portal::create_token(store.as_ref(), "old", tern_catalog::Role::Admin, Some(0))
            .unwrap();
    let forge = Arc::new(tern_local_forge::LocalForge::default());
    let server = tern_portal::Server::bind("127.0.0.1:0", store.clone(), forge).unwrap();
    let addr = server.addr();

    let (status, body) = call(addr, "GET", "/api/tokens", &expired, "");
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("expired"), "{body}");

    // An admin makes a lineage token, lists it (never its secret), revokes it.
    let (status, body) = call(
        addr,
        "POST",
        "/api/tokens",
        &admin,
        r#"{"user": "airflow", "role": "lineage", "expires": "30d"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let made: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (secret, id) = (
        made["token"].as_str().unwrap().to_string(),
        made["id"].as_str().unwrap().to_string(),
    );
    let (status, list) = call(addr, "GET", "/api/tokens", &admin, "");
    assert_eq!(status, 200);
    assert!(list.contains(&id) && !list.contains(&secret), "{list}");
    // Lineage tokens may not manage tokens.
    assert_eq!(call(addr, "GET", "/api/tokens", &secret, "").0, 403);
    let (status, body) = call(
        addr,
        "POST",
        &format!("/api/tokens/{id}/revoke"),
        &admin,
        "",
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(addr, "POST", "/api/v1/lineage", &secret, "[]");
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("revoked"), "{body}");

    // The admin page lists them, with a form to make one.
    let (status, page) = call(addr, "GET", "/admin/tokens", &admin, "");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&id) && page.contains("revoked") && page.contains("Make a token"));
    assert!(!page.contains(&secret));
}
