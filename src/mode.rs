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
//!
//! `toolchainkit FLAGS... SOURCE` (a compiler flag first, a source file among the
//! arguments) is a compile without a compiler word: the `cc` crate, given
//! `CC="toolchainkit cc"`, probes the first word alone (`toolchainkit -E
//! detect_compiler_family.c`, then each flag it wants to check). The compiler is the word
//! after `toolchainkit` in `CC` (C++ sources: `CXX`), else `cc` (`c++`): see
//! `implicit_compiler`. A flag first without a source (`-s`, `--version`) stays the
//! management CLI's.

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
    "explain",
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
    "trust",
];

/// How the compiler was named by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Invoked {
    /// Through a symlink (or copy) named like the compiler: `argv[0]` as given.
    Masquerade,
    /// As `toolchainkit COMPILER`: the compiler word as given.
    Launcher,
    /// As `toolchainkit FLAGS... SOURCE`, without a compiler word: the compiler is
    /// filled in by `implicit_compiler` (empty until then).
    Implicit,
}

/// One compile request: the compiler word, how it was invoked, and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    pub how: Invoked,
    /// `argv[0]` in masquerade mode, the compiler argument in launcher mode.
    pub compiler: OsString,
    /// The arguments after the compiler, byte for byte.
    pub args: Vec<OsString>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    Compile(Call),
    /// The arguments after `toolchainkit`.
    Management(Vec<OsString>),
}

/// Classify a full argv (including `argv[0]`).
pub(crate) fn classify(mut argv: Vec<OsString>) -> Mode {
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
    // `-?` is the `cc` crate's probe for a cl-style compiler: the compiler answers it.
    if first_b == b"-?"
        || (first_b.starts_with(b"-")
            && !OWN_FLAGS.contains(&first_b)
            && crate::args::parse(&argv).may_compile)
    {
        return Mode::Compile(Call {
            how: Invoked::Implicit,
            compiler: OsString::new(),
            args: argv,
        });
    }
    if first_b.starts_with(b"-")
        || SUBCOMMANDS.iter().any(|s| s.as_bytes() == first_b)
        || !names_a_compiler(first)
    {
        return Mode::Management(argv);
    }
    launcher(argv)
}

/// The management CLI's own flags, which are never compiler arguments.
const OWN_FLAGS: &[&[u8]] = &[b"-h", b"--help", b"-V", b"--version"];

/// The compiler of an `Invoked::Implicit` compile: the word after `toolchainkit` in `CC`
/// (or `CXX` when a source is C++ or `-x c++` is given), as the `cc` crate and make read
/// `CC="toolchainkit gcc-12"`; else `cc` (`c++`). Pure: the variables are passed in.
pub(crate) fn implicit_compiler(
    args: &[OsString],
    cc: Option<&OsStr>,
    cxx: Option<&OsStr>,
) -> OsString {
    let cplusplus = args
        .windows(2)
        .any(|w| w[0].as_bytes() == b"-x" && w[1].as_bytes().starts_with(b"c++"))
        || args.iter().any(|a| {
            a.as_bytes().starts_with(b"-xc++")
                || (!a.as_bytes().starts_with(b"-")
                    && Path::new(a)
                        .extension()
                        .is_some_and(|e| CXX_EXTS.iter().any(|x| e.as_bytes() == x.as_bytes())))
        });
    let (var, default) = if cplusplus { (cxx, "c++") } else { (cc, "cc") };
    let named = var.and_then(|v| {
        let mut words = v
            .as_bytes()
            .split(u8::is_ascii_whitespace)
            .filter(|w| !w.is_empty());
        let first = words.next()?;
        let second = words.next()?;
        (is_own_name(basename(OsStr::from_bytes(first)))
            && !second.starts_with(b"-")
            && !is_own_name(basename(OsStr::from_bytes(second))))
        .then(|| OsStr::from_bytes(second).to_os_string())
    });
    named.unwrap_or_else(|| default.into())
}

/// Source extensions the drivers compile as C++.
const CXX_EXTS: &[&str] = &[
    "cc", "cp", "cpp", "cxx", "c++", "C", "CPP", "ii", "mm", "mii", "hh", "hpp", "hxx", "H", "tcc",
];

/// May the first word after `toolchainkit` be taken for a compiler without `--`? A path,
/// a known compiler name, or a wrapper word (`ccache`, `sccache`, ...) that launcher mode
/// peels off. Pure: no file system access.
pub(crate) fn names_a_compiler(word: &OsStr) -> bool {
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
pub(crate) fn is_path(word: &OsStr) -> bool {
    word.as_bytes().contains(&b'/')
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
            // Compiler flags first and a source: a compile whose compiler is implicit.
            (
                vec!["toolchainkit", "-E", "detect_compiler_family.c"],
                compile(Implicit, "", &["-E", "detect_compiler_family.c"]),
            ),
            (
                vec!["toolchainkit", "-O0", "-c", "--", "probe.c"],
                compile(Implicit, "", &["-O0", "-c", "--", "probe.c"]),
            ),
            (
                vec!["toolchainkit", "-M", "x.c"],
                compile(Implicit, "", &["-M", "x.c"]),
            ),
            // A flag without a source is the CLI's (a ccache habit, or clap's error).
            (
                vec!["toolchainkit", "-M", "2G"],
                Mode::Management(os(&["-M", "2G"])),
            ),
            (vec!["toolchainkit", "-s"], Mode::Management(os(&["-s"]))),
            (vec!["toolchainkit", "-?"], compile(Implicit, "", &["-?"])),
            (
                vec!["toolchainkit", "--version", "x.c"],
                Mode::Management(os(&["--version", "x.c"])),
            ),
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
    fn implicit_compiler_follows_cc_and_cxx() {
        let args = |v: &[&str]| os(v);
        let o = |s: &str| OsString::from(s);
        let c = args(&["-E", "x.c"]);
        let cpp = args(&["-c", "x.cpp"]);
        let tk_gcc = o("toolchainkit gcc-12");
        let tk_clang = o("/opt/bin/toolchainkit  clang++ -stdlib=libc++");
        assert_eq!(implicit_compiler(&c, None, None), "cc");
        assert_eq!(implicit_compiler(&cpp, None, None), "c++");
        assert_eq!(
            implicit_compiler(&c, Some(&tk_gcc), Some(&tk_clang)),
            "gcc-12"
        );
        assert_eq!(
            implicit_compiler(&cpp, Some(&tk_gcc), Some(&tk_clang)),
            "clang++"
        );
        let xcxx = args(&["-x", "c++", "-E", "-"]);
        assert_eq!(
            implicit_compiler(&xcxx, Some(&tk_gcc), Some(&tk_clang)),
            "clang++"
        );
        // CC not naming toolchainkit, or naming no compiler after it: the default.
        for cc in [
            "ccache gcc",
            "toolchainkit",
            "toolchainkit -O2",
            "toolchainkit toolchainkit",
        ] {
            assert_eq!(implicit_compiler(&c, Some(&o(cc)), None), "cc", "{cc}");
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
