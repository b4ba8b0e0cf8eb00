//! Standard output that a reader going away cannot crash.
//!
//! `println!` panics when stdout is a closed pipe (`tern plan | head -1`).
//! Here the first broken pipe silences the rest of the output and the
//! command still ends with its own exit status; any other write error is
//! reported once, and the command then exits 1.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

const OPEN: u8 = 0;
const GONE: u8 = 1;
const FAILED: u8 = 2;
static STATE: AtomicU8 = AtomicU8::new(OPEN);

/// Writes formatted text to stdout (the `out!` and `outln!` macros).
pub fn write(args: std::fmt::Arguments<'_>) {
    if STATE.load(Ordering::Relaxed) != OPEN {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            STATE.store(GONE, Ordering::Relaxed);
        } else {
            STATE.store(FAILED, Ordering::Relaxed);
            eprintln!("error: cannot write to standard output: {e}");
        }
    }
}

/// Whether writing failed for another reason than the reader leaving.
pub fn failed() -> bool {
    STATE.load(Ordering::Relaxed) == FAILED
}

/// `print!` that survives a closed pipe.
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::write(format_args!($($arg)*)) };
}

/// `println!` that survives a closed pipe.
macro_rules! outln {
    () => { $crate::out::write(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::write(format_args!("{}\n", format_args!($($arg)*))) };
}
