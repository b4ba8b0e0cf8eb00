//! `tern serve` and `tern token create` as a user runs them.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use common::*;

fn catalog(dir: &std::path::Path) {
    let file = fleet(
        dir,
        &[repo("daily", "insights", &[("a.py", "P = '/x'\n")], "true")],
        "",
    );
    import(dir, &file);
}

#[test]
fn tokens_are_for_catalog_users_and_printed_once() {
    let d = tempfile::tempdir().unwrap();
    catalog(d.path());
    let o = tern(d.path(), &["token", "create", "alice", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["user"], "user:default/alice");
    assert_eq!(j["admin"], false);
    let token = j["token"].as_str().unwrap();
    assert!(token.starts_with("tern_") && token.len() > 40);
    let db = std::fs::read(d.path().join("tern.db")).unwrap();
    assert!(
        !db.windows(token.len()).any(|w| w == token.as_bytes()),
        "the catalog keeps only the hash"
    );
    let o = tern(d.path(), &["token", "create", "mallory"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("user:default/mallory is not a member of any team"),
        "{}",
        stderr(&o)
    );
    let o = tern(d.path(), &["token", "create", "root", "--admin"]);
    assert_eq!(code(&o), 0, "an admin needs no team");
}

#[test]
fn serve_answers_and_refuses_a_bad_or_busy_address() {
    let d = tempfile::tempdir().unwrap();
    catalog(d.path());
    let o = tern(d.path(), &["serve", "--addr", "not-an-address"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("not HOST:PORT"), "{}", stderr(&o));
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let o = tern(d.path(), &["serve", "--addr", &format!("127.0.0.1:{port}")]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("cannot listen"), "{}", stderr(&o));

    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .current_dir(d.path())
        .env_remove("TERN_CATALOG")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "GET /api/datasets/hdfs-plays/consumers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"id\":\"daily\""), "{answer}");
}
