//! Running a consumer's own verification command under a timeout.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a verification ended.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyOutcome {
    /// Exit status 0 within the timeout.
    pub ok: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// True when it was killed at the timeout.
    pub timed_out: bool,
    /// The last lines of its combined output.
    pub log_tail: String,
}

/// Lines kept from the end of a verification's output.
const TAIL_LINES: usize = 30;
/// Error lines kept from earlier in the output.
const ERROR_LINES: usize = 10;

/// What matters in a long log: the error lines from before the tail (a test
/// runner's summary often buries the first failure), then the last lines.
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    let mut out: Vec<&str> = lines[..start]
        .iter()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            ["error", "fail", "exception", "panicked", "traceback"]
                .iter()
                .any(|w| l.contains(w))
        })
        .take(ERROR_LINES)
        .copied()
        .collect();
    if !out.is_empty() {
        out.push("[...]");
    }
    out.extend(&lines[start..]);
    out.join("\n")
}

/// Runs `command` with `sh -c` in `dir`. The command gets its own process
/// group; at the timeout the whole group is killed, so a hung test runner's
/// children do not outlive it.
pub fn run_verify(dir: &Path, command: &str, timeout: Duration) -> std::io::Result<VerifyOutcome> {
    let mut log = tempfile::tempfile()?;
    let started = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log.try_clone()?)
        .env("TERN_VERIFY", "1")
        .process_group(0)
        .spawn()?;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() >= timeout {
            timed_out = true;
            // SAFETY: kill(2) with a negative pid signals the group we created.
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(
            if started.elapsed() < Duration::from_secs(1) {
                5
            } else {
                50
            },
        ));
    };
    let seconds = started.elapsed().as_secs_f64();
    log.seek(SeekFrom::Start(0))?;
    let mut out = Vec::new();
    log.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out);
    let mut log_tail = tail(&text);
    if timed_out {
        log_tail.push_str(&format!(
            "\n[tern] killed after the {}s timeout",
            timeout.as_secs()
        ));
    }
    Ok(VerifyOutcome {
        ok: status.is_some_and(|s| s.success()),
        seconds,
        timed_out,
        log_tail,
    })
}
