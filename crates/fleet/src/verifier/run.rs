//! Running a consumer's own verification command under a timeout.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
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

/// The variable every process of one verification inherits: its value names
/// the verification (`host:pid:n`, the tern process that started it), so what
/// it started is found even after it left the process group or the session
/// (a daemon that calls `setsid`), as long as it keeps its environment.
pub const TAG: &str = "TERN_VERIFY_ID";

/// Process groups of the verifications running in this process, for
/// [`end_running`]; 0 is a free slot.
static RUNNING: [AtomicI32; 64] = [const { AtomicI32::new(0) }; 64];
static COUNT: AtomicU64 = AtomicU64::new(0);
/// Set when tern itself is ending ([`end_running`]): a verification it
/// killed on the way out has no outcome, and none may be recorded.
static ENDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Kills every verification this process is running, group and all, as
/// the process ends: the threads that waited on them report nothing (they
/// wait for the exit). Only async-signal-safe calls: a signal handler
/// (Ctrl-C) calls it just before `_exit`.
pub fn end_running() {
    ENDING.store(true, Ordering::SeqCst);
    for slot in &RUNNING {
        let pgid = slot.load(Ordering::SeqCst);
        if pgid > 0 {
            // SAFETY: kill(2) is async-signal-safe; a negative pid names the group.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

/// Ends what verifications of dead tern processes of this host left running
/// (tern was killed with -9, or the machine's session ended it): every
/// process whose [`TAG`] names a tern process that is gone. Returns how many.
pub fn end_orphans() -> usize {
    let here = crate::work::host();
    let mut ended = 0;
    for (pid, tag) in tagged() {
        let gone = crate::work::dead_here(&tag, &here);
        if gone && kill(pid) {
            tracing::info!(pid, %tag, "ended a process a dead tern's verification left");
            ended += 1;
        }
    }
    ended
}

/// Processes of this user carrying [`TAG`], with its value.
fn tagged() -> Vec<(i32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    let me = std::process::id() as i32;
    let needle = format!("{TAG}=");
    let mut out = vec![];
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        // Unreadable (another user's) or gone meanwhile: not ours to end.
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        let tag = env.split(|b| *b == 0).find_map(|v| {
            std::str::from_utf8(v)
                .ok()?
                .strip_prefix(needle.as_str())
                .map(str::to_string)
        });
        if let Some(tag) = tag {
            out.push((pid, tag));
        }
    }
    out
}

fn kill(pid: i32) -> bool {
    // SAFETY: kill(2) on a pid read from /proc; at worst it is gone (ESRCH).
    unsafe { libc::kill(pid, libc::SIGKILL) == 0 }
}

/// Ends everything verification `tag` started: its process group, then any
/// process still carrying its tag, until none is left (a process may fork
/// while it is being ended).
fn end_all(pgid: i32, tag: &str) {
    // SAFETY: kill(2) with a negative pid signals the group we created.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    for _ in 0..20 {
        let left: Vec<i32> = tagged()
            .into_iter()
            .filter(|(_, t)| t == tag)
            .map(|(pid, _)| pid)
            .collect();
        if left.is_empty() {
            return;
        }
        left.into_iter().for_each(|pid| {
            kill(pid);
        });
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for a child to exit, or a while: on a pidfd where the kernel has
/// them (woken the moment it exits: a verify that takes a millisecond
/// costs a millisecond), else by sleeping a little at a time.
struct Exit(Option<std::os::fd::OwnedFd>);

impl Exit {
    fn new(pid: i32) -> Exit {
        // SAFETY: pidfd_open(2) takes a pid and flags and returns a new fd
        // (or -1); the fd is owned here from then on.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        Exit((fd >= 0).then(|| {
            // SAFETY: a fresh descriptor nothing else owns.
            unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) }
        }))
    }

    /// Returns when the child may have exited, or after at most `most`.
    fn wait(&self, most: Duration) {
        match &self.0 {
            Some(fd) => {
                let mut fds = [libc::pollfd {
                    fd: std::os::fd::AsRawFd::as_raw_fd(fd),
                    events: libc::POLLIN,
                    revents: 0,
                }];
                let ms = most.as_millis().clamp(1, 60_000) as libc::c_int;
                // SAFETY: one valid pollfd for the length given.
                unsafe {
                    libc::poll(fds.as_mut_ptr(), 1, ms);
                }
            }
            None => std::thread::sleep(most.min(Duration::from_millis(5))),
        }
    }
}

/// Runs `command` with `sh -c` in `dir`, in a session and process group of
/// its own. When it ends (passed, failed or timed out) nothing it started is
/// left running: the group is killed, then any process still carrying its
/// [`TAG`].
pub fn run_verify(dir: &Path, command: &str, timeout: Duration) -> std::io::Result<VerifyOutcome> {
    run_verify_in(dir, command, timeout, &Jail::default())
}

/// Where a verification runs: with tern's rights, or sandboxed.
#[derive(Debug, Clone, Default)]
pub struct Jail {
    pub sandbox: tern_spec::Sandbox,
    /// Under a sandbox, whether the network stays reachable.
    pub network: bool,
}

impl Jail {
    pub fn of(v: &tern_spec::Verify) -> Jail {
        Jail {
            sandbox: v.sandbox,
            network: v.network,
        }
    }
}

/// bubblewrap's arguments for a verification in `dir`: the whole file
/// system read-only, a private `/tmp` and `/dev`, the worktree the one place
/// it may write, its own PID, IPC and UTS namespaces, and no network unless
/// allowed; it dies with tern.
fn bwrap_args(dir: &Path, network: bool) -> Vec<std::ffi::OsString> {
    let mut a: Vec<std::ffi::OsString> = [
        "--die-with-parent",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
    ]
    .iter()
    .map(Into::into)
    .collect();
    if !network {
        a.push("--unshare-net".into());
    }
    a.extend([
        "--bind".into(),
        dir.into(),
        dir.into(),
        "--chdir".into(),
        dir.into(),
    ]);
    a
}

/// bubblewrap, if it is installed.
fn bwrap() -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("bwrap"))
            .find(|c| c.is_file())
    })
}

/// [`run_verify`] inside `jail`. A sandbox that cannot be had (bubblewrap
/// missing) fails the verification, saying so: the code never runs
/// unsandboxed when the spec asked for a sandbox.
pub fn run_verify_in(
    dir: &Path,
    command: &str,
    timeout: Duration,
    jail: &Jail,
) -> std::io::Result<VerifyOutcome> {
    let mut log = tempfile::tempfile()?;
    let started = Instant::now();
    let tag = format!(
        "{}:{}:{}",
        crate::work::host(),
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    );
    let mut cmd = match jail.sandbox {
        tern_spec::Sandbox::None => Command::new("sh"),
        tern_spec::Sandbox::Bwrap => {
            let Some(bwrap) = bwrap() else {
                return Ok(VerifyOutcome {
                    ok: false,
                    seconds: 0.0,
                    timed_out: false,
                    log_tail: "[tern] verify.sandbox is bwrap, and bubblewrap (`bwrap`) is not installed here (apt-get install bubblewrap); the verification did not run".into(),
                });
            };
            let dir = dir.canonicalize()?;
            let mut c = Command::new(bwrap);
            c.args(bwrap_args(&dir, jail.network)).args(["--", "sh"]);
            c
        }
    };
    cmd.arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log.try_clone()?)
        .env("TERN_VERIFY", "1")
        .env(TAG, &tag);
    // SAFETY: setsid(2) is async-signal-safe, as a pre_exec hook must be.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let pgid = child.id() as i32;
    let slot = RUNNING.iter().find(|s| {
        s.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    });
    let exited = Exit::new(pgid);
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            timed_out = true;
            end_all(pgid, &tag);
            let _ = child.wait();
            break None;
        }
        exited.wait(left);
    };
    while ENDING.load(Ordering::SeqCst) {
        // tern is exiting (the signal handler ends it in a moment): this
        // verification was not failed by the consumer's code.
        std::thread::park();
    }
    let seconds = started.elapsed().as_secs_f64();
    end_all(pgid, &tag);
    if let Some(slot) = slot {
        slot.store(0, Ordering::SeqCst);
    }
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
