//! Names and paths made safe for a terminal: the one helper every human-readable output
//! uses for text it did not write itself (paths, project and tool names, commands from a
//! configuration file, messages from a server).
//!
//! A directory named `esc\e]0;PWN\a\e[31mRED\nFAKE-LINE` must not set the terminal's
//! title, colour the report or forge a line of it. Every control character but the tab
//! (C0, DEL and C1, which some terminals also obey), and every byte that is not UTF-8, is
//! written as a visible escape: `\n`, `\r`, `\e` (ESC), `\a` (BEL), `\xNN` otherwise
//! (`\u{NN}` for a C1 character). Text without any of them is returned as it is, without
//! allocating; escaping is idempotent (escaped text has no control character left), so a
//! line may go through here again as a whole. JSON output never goes through here: it
//! stays exact.
//!
//! `outln!` and `errln!` print one line of a report with every control character in it
//! escaped: each is one line, so a newline inside a name cannot forge another.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn needs(c: char) -> bool {
    c.is_control() && c != '\t'
}

fn push_char(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\x1b' => out.push_str("\\e"),
        '\x07' => out.push_str("\\a"),
        c if needs(c) && (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if needs(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// `s` with every control character but the tab escaped.
pub(crate) fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_char(&mut out, c);
    }
    Cow::Owned(out)
}

/// Raw bytes (an `OsStr`), escaped as `text`, with bytes that are not UTF-8 as `\xNN`.
pub(crate) fn bytes(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => text(s),
        Err(_) => {
            let mut out = String::with_capacity(b.len() + 8);
            for chunk in b.utf8_chunks() {
                for c in chunk.valid().chars() {
                    push_char(&mut out, c);
                }
                for x in chunk.invalid() {
                    let _ = write!(out, "\\x{x:02x}");
                }
            }
            Cow::Owned(out)
        }
    }
}

/// A path for a human reader.
pub(crate) fn path(p: &Path) -> Cow<'_, str> {
    bytes(p.as_os_str().as_bytes())
}

/// Escape every line of a report (already composed text whose line breaks are its own):
/// each line as `text`, the breaks kept.
pub(crate) fn lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, l) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&text(l));
    }
    out
}

/// `s` as one word a POSIX shell reads back as exactly `s`: as it is when it is made of
/// safe characters, else single-quoted, or `$'...'` (bash, zsh, ksh) when it holds control
/// characters, so that a command shown for copying never carries raw escapes either.
pub(crate) fn shell_word(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        return s.to_string();
    }
    if !s.chars().any(needs) {
        return format!("'{}'", s.replace('\'', "'\\''"));
    }
    let mut out = String::from("$'");
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            c if needs(c) => push_char(&mut out, c),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `println!` for one line of a human-readable report: the formatted line with every
/// control character escaped (`escape::text`).
#[macro_export]
macro_rules! outln {
    () => {
        println!()
    };
    ($($arg:tt)*) => {
        println!("{}", $crate::escape::text(&format!($($arg)*)))
    };
}

/// `eprintln!` for one line of a human-readable message, escaped as `outln!`.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::escape::text(&format!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible() {
        let name = "esc\x1b]0;PWN\x07\x1b[31mRED\nFAKE-LINE";
        let e = text(name);
        assert_eq!(e, "esc\\e]0;PWN\\a\\e[31mRED\\nFAKE-LINE");
        assert!(!e.chars().any(char::is_control));
        assert!(matches!(text("plain/path ü"), Cow::Borrowed(_)));
        assert_eq!(text("a\\b\x7f\u{9b}\t"), "a\\b\\x7f\\u{9b}\t");
        assert_eq!(text(&text(name)), text(name), "idempotent");
        assert_eq!(bytes(b"a\xffb\n"), "a\\xffb\\n");
        assert_eq!(lines("one\x1b\ntwo"), "one\\e\ntwo");
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_word("/p/.toolchainkit.toml"), "/p/.toolchainkit.toml");
        assert_eq!(shell_word("/my dir/x"), "'/my dir/x'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("a\x1bb'\n\\"), "$'a\\eb\\'\\n\\\\'");
    }
}
