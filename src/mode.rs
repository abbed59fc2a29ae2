//! Deciding, from argv alone and without any I/O, which of the three modes runs.
//!
//! - masquerade: `argv[0]`'s basename is not `toolchainkit` (a `cc`, `g++`, ... symlink);
//! - launcher: `toolchainkit COMPILER ARGS...` (or `toolchainkit -- COMPILER ARGS...`);
//! - management: `toolchainkit SUBCOMMAND ...`, `toolchainkit --version`, no arguments.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The management subcommands. A compiler whose name collides with one of these is
/// reached with `toolchainkit -- NAME ARGS`. Must name exactly the clap subcommands in
/// `cli` (a unit test there pins the two lists).
pub const SUBCOMMANDS: &[&str] = &[
    "help",
    "config",
    "which",
    "shims",
    "stats",
    "trace",
    "env",
    "cmake",
    "container-args",
    "doctor",
    "tool",
    "server",
    "completions",
    "man",
    "run",
];

/// Names of programs that wrap a compiler; launcher mode peels them off the front
/// (`toolchainkit ccache gcc -c x.c` caches once, through toolchainkit's choice).
pub const WRAPPER_NAMES: &[&str] = &["toolchainkit", "ccache", "sccache", "distcc", "icecc"];

/// How the compiler was named by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invoked {
    /// Through a symlink (or copy) named like the compiler: `argv[0]` as given.
    Masquerade,
    /// As `toolchainkit COMPILER`: the compiler word as given.
    Launcher,
}

/// One compile request: the compiler word, how it was invoked, and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub how: Invoked,
    /// `argv[0]` in masquerade mode, the compiler argument in launcher mode.
    pub compiler: OsString,
    /// The arguments after the compiler, byte for byte.
    pub args: Vec<OsString>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Compile(Call),
    /// The arguments after `toolchainkit`.
    Management(Vec<OsString>),
}

/// True when `name` (a basename) is the toolchainkit binary itself.
pub fn is_own_name(name: &OsStr) -> bool {
    let b = name.as_bytes();
    b == b"toolchainkit" || b.starts_with(b"toolchainkit.") || b.starts_with(b"toolchainkit-")
}

/// True when the basename of `word` is one of the known wrapper programs.
pub fn is_wrapper_name(word: &OsStr) -> bool {
    let base = basename(word);
    is_own_name(base)
        || WRAPPER_NAMES
            .iter()
            .any(|w| base.as_bytes() == w.as_bytes())
}

/// The last path component of `word` (the whole word when it has no `/`).
pub fn basename(word: &OsStr) -> &OsStr {
    let b = word.as_bytes();
    match b.iter().rposition(|&c| c == b'/') {
        Some(i) => OsStr::from_bytes(&b[i + 1..]),
        None => word,
    }
}

/// Classify a full argv (including `argv[0]`).
pub fn classify(mut argv: Vec<OsString>) -> Mode {
    if argv.is_empty() {
        return Mode::Management(Vec::new());
    }
    let argv0 = argv.remove(0);
    let base = basename(&argv0);
    if !is_own_name(base) && !base.is_empty() {
        return Mode::Compile(Call {
            how: Invoked::Masquerade,
            compiler: argv0,
            args: argv,
        });
    }
    let Some(first) = argv.first() else {
        return Mode::Management(argv);
    };
    let first_b = first.as_bytes();
    if first_b == b"--" {
        argv.remove(0);
        return launcher(argv);
    }
    if first_b.starts_with(b"-") || SUBCOMMANDS.iter().any(|s| s.as_bytes() == first_b) {
        return Mode::Management(argv);
    }
    launcher(argv)
}

/// `toolchainkit [WRAPPER...] COMPILER ARGS`: peel leading wrapper words, keep the rest.
fn launcher(mut rest: Vec<OsString>) -> Mode {
    while rest.len() > 1 && is_wrapper_name(&rest[0]) && !rest[1].as_bytes().starts_with(b"-") {
        rest.remove(0);
    }
    if rest.is_empty() {
        return Mode::Management(rest);
    }
    let compiler = rest.remove(0);
    Mode::Compile(Call {
        how: Invoked::Launcher,
        compiler,
        args: rest,
    })
}

/// True when the compiler word names a path rather than a name to look up in `PATH`.
pub fn is_path(word: &OsStr) -> bool {
    word.as_bytes().contains(&b'/')
}

/// The directory a path-like compiler word lives in, if any.
pub fn parent_of(word: &OsStr) -> Option<&Path> {
    Path::new(word)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn compile(how: Invoked, compiler: &str, args: &[&str]) -> Mode {
        Mode::Compile(Call {
            how,
            compiler: compiler.into(),
            args: os(args),
        })
    }

    #[test]
    fn classify_table() {
        use Invoked::*;
        let table: Vec<(Vec<&str>, Mode)> = vec![
            (
                vec!["gcc", "-c", "x.c"],
                compile(Masquerade, "gcc", &["-c", "x.c"]),
            ),
            (vec!["/s/c++", "-v"], compile(Masquerade, "/s/c++", &["-v"])),
            (
                vec!["x86_64-linux-gnu-gcc-12"],
                compile(Masquerade, "x86_64-linux-gnu-gcc-12", &[]),
            ),
            (vec!["toolchainkit"], Mode::Management(vec![])),
            (
                vec!["/bin/toolchainkit", "stats"],
                Mode::Management(os(&["stats"])),
            ),
            (
                vec!["toolchainkit", "--version"],
                Mode::Management(os(&["--version"])),
            ),
            (
                vec!["toolchainkit", "/usr/bin/cc", "-c", "a.c"],
                compile(Launcher, "/usr/bin/cc", &["-c", "a.c"]),
            ),
            (
                vec!["toolchainkit", "gcc", "-c", "a.c"],
                compile(Launcher, "gcc", &["-c", "a.c"]),
            ),
            (
                vec!["toolchainkit", "--", "config", "-c"],
                compile(Launcher, "config", &["-c"]),
            ),
            (
                vec!["toolchainkit", "ccache", "gcc", "-c"],
                compile(Launcher, "gcc", &["-c"]),
            ),
            (
                vec!["toolchainkit", "toolchainkit", "ccache", "cc"],
                compile(Launcher, "cc", &[]),
            ),
            (
                vec!["toolchainkit", "ccache", "-s"],
                compile(Launcher, "ccache", &["-s"]),
            ),
            (vec!["toolchainkit", "--"], Mode::Management(vec![])),
        ];
        for (argv, want) in table {
            assert_eq!(classify(os(&argv)), want, "argv {argv:?}");
        }
    }

    #[test]
    fn non_utf8_arguments_pass_through() {
        use std::os::unix::ffi::OsStringExt;
        let bad = OsString::from_vec(vec![b'-', b'D', 0xff, 0xfe]);
        let argv = vec![OsString::from("cc"), bad.clone()];
        let Mode::Compile(call) = classify(argv) else {
            panic!("not a compile")
        };
        assert_eq!(call.args, vec![bad]);
    }
}
