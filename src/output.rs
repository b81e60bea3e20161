//! hoist's own output, which must never panic: `println!` and `eprintln!`
//! do when the stream is closed (`hoist inspect x.hwasm | true`).
//!
//! A write to stdout that fails because its reader went away (`EPIPE`)
//! ends hoist quietly with [`STDOUT_CLOSED_STATUS`], as a Unix tool killed
//! by `SIGPIPE` would appear to a shell. hoist itself cannot die of
//! `SIGPIPE`: Rust ignores the signal, and a guest must see `EPIPE` on its
//! own writes. Any other stdout error is an ordinary `error:` and exit 1.
//! Writes to stderr that fail are dropped: there is nowhere left to say so.

use std::fmt;
use std::io::{self, Write};

/// The exit status when hoist's stdout was closed under it: 128 + SIGPIPE,
/// what a shell reports for a tool that `SIGPIPE` ended.
pub const STDOUT_CLOSED_STATUS: u8 = 141;

/// The error of a write to hoist's stdout whose reader has gone.
#[derive(Debug)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stdout was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// The error for a failed write to stdout.
pub fn stdout_error(error: io::Error) -> anyhow::Error {
    if error.kind() == io::ErrorKind::BrokenPipe {
        anyhow::Error::new(StdoutClosed)
    } else {
        anyhow::Error::new(error).context("failed to write to stdout")
    }
}

/// Writes `text` to stdout and flushes it, control characters escaped as
/// for [`eprintln`] (`hoist inspect` lists a module's names).
pub fn print(text: &str) -> anyhow::Result<()> {
    let text = escape_controls(text);
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

/// Writes `text` and a newline to stderr, ignoring failure. Control
/// characters other than newline and tab are escaped (`\u{1b}`): messages
/// quote names from modules, images and archives, and none of those may
/// send escape sequences to the user's terminal.
pub fn eprintln(text: impl fmt::Display) {
    let text = text.to_string();
    let _ = writeln!(io::stderr().lock(), "{}", escape_controls(&text));
}

/// `text` with every control character except `\n` and `\t` written as
/// `\u{XX}`.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    let is_bad = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.contains(is_bad) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_bad(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// Whether `error` is (or was caused by) a closed stdout.
pub fn is_stdout_closed(error: &anyhow::Error) -> bool {
    error.downcast_ref::<StdoutClosed>().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(
            escape_controls("a\x1b[2Jb\x07c\u{9b}d\r"),
            "a\\u{1b}[2Jb\\u{7}c\\u{9b}d\\u{d}"
        );
    }

    #[test]
    fn broken_pipe_is_stdout_closed() {
        let closed = stdout_error(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(is_stdout_closed(&closed));
        assert!(is_stdout_closed(&closed.context("printing results")));
        let full = stdout_error(io::Error::from_raw_os_error(libc::ENOSPC));
        assert!(!is_stdout_closed(&full));
        assert!(format!("{full:#}").starts_with("failed to write to stdout"));
    }
}
