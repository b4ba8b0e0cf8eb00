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
