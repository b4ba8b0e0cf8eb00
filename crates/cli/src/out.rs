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

/// Writes formatted text to stdout (the `out!` and `outln!` macros), with
/// control characters from outside shown, never obeyed ([`shown`]).
pub fn write(args: std::fmt::Arguments<'_>) {
    if STATE.load(Ordering::Relaxed) != OPEN {
        return;
    }
    let text = std::fmt::format(args);
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(shown(&text).as_bytes()) {
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

/// The colours tern itself paints with ([`crate::render::paint`]); every
/// other escape sequence reaching the terminal came from outside.
const OWN_COLOURS: [&str; 7] = [
    "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[35m", "\x1b[2m", "\x1b[36m", "\x1b[0m",
];

/// Text for a terminal: a catalog name, a finding or git's output may hold
/// control characters (an `ESC[2J` clears the screen, a carriage return
/// overwrites a line, a bidirectional override reorders what is read), so
/// each is shown escaped (`\x1b`, `\u{202e}`); newlines, tabs and tern's
/// own colours stay.
pub fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(bad) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b' {
            if let Some(own) = OWN_COLOURS.iter().find(|o| rest.starts_with(**o)) {
                out.push_str(own);
                rest = &rest[own.len()..];
                continue;
            }
        }
        if bad(c) {
            if (c as u32) < 0x100 {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn control_characters_from_outside_are_shown_not_obeyed() {
        assert_eq!(shown("plain\tline\n"), "plain\tline\n");
        assert_eq!(shown("evil\x1b[2Jname"), "evil\\x1b[2Jname");
        assert_eq!(shown("a\rb\x07"), "a\\x0db\\x07");
        assert_eq!(shown("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(shown("\x1b[32mmerged\x1b[0m"), "\x1b[32mmerged\x1b[0m");
        assert_eq!(shown("\x1b[8mhidden"), "\\x1b[8mhidden");
    }
}
