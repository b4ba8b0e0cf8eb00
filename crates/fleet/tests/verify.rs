//! The verify runner: a consumer's own command, its output trimmed to what a
//! person needs, killed with its children at the timeout.

use std::time::{Duration, Instant};

use tern_fleet::verifier::{run_verify, tail};

#[test]
fn verification_passes_fails_and_times_out_with_its_children() {
    let tmp = tempfile::tempdir().unwrap();
    let ok = run_verify(tmp.path(), "echo hello; true", Duration::from_secs(10)).unwrap();
    assert!(ok.ok && !ok.timed_out);
    assert_eq!(ok.log_tail, "hello");
    let bad = run_verify(
        tmp.path(),
        "for i in $(seq 1 100); do echo line $i; done; exit 3",
        Duration::from_secs(10),
    )
    .unwrap();
    assert!(!bad.ok);
    assert!(
        bad.log_tail.ends_with("line 100") && !bad.log_tail.contains("line 50\n"),
        "{}",
        bad.log_tail
    );
    let marker = tmp.path().join("child-alive");
    let started = Instant::now();
    let hung = run_verify(
        tmp.path(),
        &format!("(sleep 2; touch {}) & sleep 30", marker.display()),
        Duration::from_millis(300),
    )
    .unwrap();
    assert!(hung.timed_out && !hung.ok);
    assert!(started.elapsed() < Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!marker.exists(), "the command's children were not killed");
}

#[test]
fn a_long_log_keeps_its_first_errors_and_its_end() {
    let mut log: Vec<String> = (1..=200).map(|i| format!("line {i}")).collect();
    log[20] = "ERROR PlaysSpec: expected account_id".into();
    let kept = tail(&log.join("\n"));
    let lines: Vec<&str> = kept.lines().collect();
    assert_eq!(lines[0], "ERROR PlaysSpec: expected account_id");
    assert_eq!(lines[1], "[...]");
    assert_eq!(lines.last(), Some(&"line 200"));
    assert_eq!(lines.len(), 32);
    assert_eq!(tail("a\nb"), "a\nb");
}

/// Whether a process runs (a zombie that only waits for its reaper does not).
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

fn gone_soon(pid: i32) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        if !running(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn nothing_a_verification_started_outlives_it_even_in_a_session_of_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let pids = tmp.path().join("pids");
    // A passing verification that leaves a child in the background, and one
    // that leaves a daemon in a session of its own.
    let out = run_verify(
        tmp.path(),
        &format!(
            "sleep 30 & echo $! >> {0}; setsid sleep 30 & echo $! >> {0}; sleep 0.2; true",
            pids.display()
        ),
        Duration::from_secs(10),
    )
    .unwrap();
    assert!(out.ok, "{}", out.log_tail);
    let started: Vec<i32> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(started.len(), 2);
    for pid in started {
        assert!(gone_soon(pid), "process {pid} outlived its verification");
    }
}

#[test]
fn what_a_dead_terns_verification_left_is_ended_by_the_next() {
    // A process tagged by a tern process of this host that is gone.
    let dead = (900_000..900_100)
        .find(|p| unsafe { libc::kill(*p, 0) } != 0)
        .unwrap();
    let host = {
        let mut buf = [0u8; 256];
        unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        let end = buf.iter().position(|b| *b == 0).unwrap();
        String::from_utf8_lossy(&buf[..end]).into_owned()
    };
    let mut left = std::process::Command::new("sleep")
        .arg("30")
        .env(tern_fleet::verifier::TAG, format!("{host}:{dead}:0"))
        .spawn()
        .unwrap();
    // One of a live tern (this test) is not touched.
    let mut live = std::process::Command::new("sleep")
        .arg("30")
        .env(
            tern_fleet::verifier::TAG,
            format!("{host}:{}:0", std::process::id()),
        )
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert!(tern_fleet::verifier::end_orphans() >= 1);
    let status = left.wait().unwrap();
    assert!(!status.success(), "killed");
    assert!(running(live.id() as i32), "a live tern's process was ended");
    live.kill().unwrap();
    let _ = live.wait();
}
