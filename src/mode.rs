//! Deciding, from argv alone and without any I/O, which of the three modes runs.
//!
//! - masquerade: `argv[0]`'s basename is not `toolchainkit` (a `cc`, `g++`, ... symlink);
//! - launcher: `toolchainkit COMPILER ARGS...` (or `toolchainkit -- COMPILER ARGS...`);
//! - management: `toolchainkit SUBCOMMAND ...`, `toolchainkit --version`, no arguments.
//!
//! In launcher mode the first word is a compiler only when it names one: a path (it
//! holds a `/`), a known compiler name (`names::is_known_compiler`: gcc, g++, cc, c++,
//! clang, clang++, nvcc, icx, ... with their versioned and cross prefixed forms), or a
//! wrapper word in front of one (`toolchainkit ccache gcc`). Any other word is handed to
//! the management CLI, which answers `unknown subcommand` with a suggestion: a typo such
//! as `toolchainkit stat` must never run `/usr/bin/stat`. `toolchainkit -- NAME` forces a
//! compiler of any name.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::names::{basename, is_own_name, is_wrapper_name};

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
    "cache",
    "ci",
    "env",
    "cmake",
    "container-args",
    "doctor",
    "tool",
    "server",
    "completions",
    "man",
    "run",
    "dist",
];

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
    if first_b.starts_with(b"-")
        || SUBCOMMANDS.iter().any(|s| s.as_bytes() == first_b)
        || !names_a_compiler(first)
    {
        return Mode::Management(argv);
    }
    launcher(argv)
}

/// May the first word after `toolchainkit` be taken for a compiler without `--`? A path,
/// a known compiler name, or a wrapper word (`ccache`, `sccache`, ...) that launcher mode
/// peels off. Pure: no file system access.
pub fn names_a_compiler(word: &OsStr) -> bool {
    is_path(word) || is_wrapper_name(word) || crate::names::is_known_compiler(word)
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
            // Typos and other programs are never run as a compiler without `--`.
            (
                vec!["toolchainkit", "stat", "-c", "%s", "x"],
                Mode::Management(os(&["stat", "-c", "%s", "x"])),
            ),
            (
                vec!["toolchainkit", "doctr"],
                Mode::Management(os(&["doctr"])),
            ),
            (
                vec!["toolchainkit", "python3", "x.py"],
                Mode::Management(os(&["python3", "x.py"])),
            ),
            (
                vec!["toolchainkit", "--", "stat", "x"],
                compile(Launcher, "stat", &["x"]),
            ),
            (
                vec!["toolchainkit", "./stat", "x"],
                compile(Launcher, "./stat", &["x"]),
            ),
            // Known compiler names, versioned and cross-prefixed.
            (
                vec!["toolchainkit", "cc", "-c", "a.c"],
                compile(Launcher, "cc", &["-c", "a.c"]),
            ),
            (
                vec!["toolchainkit", "clang++-16", "-c", "a.cc"],
                compile(Launcher, "clang++-16", &["-c", "a.cc"]),
            ),
            (
                vec!["toolchainkit", "x86_64-linux-gnu-gcc-12", "-c", "a.c"],
                compile(Launcher, "x86_64-linux-gnu-gcc-12", &["-c", "a.c"]),
            ),
            (
                vec!["toolchainkit", "nvcc", "-c", "k.cu"],
                compile(Launcher, "nvcc", &["-c", "k.cu"]),
            ),
            (
                vec!["toolchainkit", "sccache", "g++", "-c", "a.cc"],
                compile(Launcher, "g++", &["-c", "a.cc"]),
            ),
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
