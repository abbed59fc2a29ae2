//! The one home of what toolchainkit understands of a compiler's arguments (as sccache's
//! `compiler/args.rs` is for sccache): one pass over argv gives the output file, the
//! source files, the compile mode and the flags that decide how an invocation runs.
//! Arguments are bytes (`OsStr`); nothing here allocates per argument but the lists.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// File extensions the C-family drivers compile (or assemble, or preprocess).
const SOURCE_EXTS: &[&str] = &[
    "c", "cc", "cp", "cpp", "cxx", "c++", "C", "CPP", "i", "ii", "m", "mm", "M", "mi", "mii", "s",
    "S", "sx", "cu", "h", "hh", "hpp", "hxx", "H", "tcc", "F", "f", "for", "f90", "f95", "F90",
];

/// What one pass over the arguments found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args<'a> {
    /// `-o X` / `-oX`.
    pub output: Option<&'a OsStr>,
    /// `-MF X` / `-MFX`.
    pub depfile: Option<&'a OsStr>,
    /// Arguments that name a source file by its extension.
    pub sources: Vec<&'a OsStr>,
    /// `-c`.
    pub compile: bool,
    /// `-c`, `-S` or `-E`: the invocation does not link.
    pub compile_only: bool,
    /// `-MD` / `-MMD`.
    pub dep_md: bool,
    /// `-MD X` / `-MMD X` / `-MF X` handed to the preprocessor (`-Wp,-MD,X`, as Linux's
    /// Kbuild writes its depfiles).
    pub wp_depfiles: Vec<&'a OsStr>,
    /// `-gsplit-dwarf`: a `.dwo` beside the object.
    pub split_dwarf: bool,
    /// `--coverage` / `-ftest-coverage`: a `.gcno` beside the object.
    pub coverage: bool,
    /// `-dumpbase` / `-dumpdir` (they move gcc's auxiliary outputs).
    pub dump_names: bool,
    /// `-E`, `-M`, `-MM`: preprocessing only.
    pub preprocess_only: bool,
    /// `-v`, `--verbose`, `-###`, `-print-*`, `-dump*`, `--help`, nvcc's `--dryrun` and
    /// `--list-gpu-*`: the compiler is asked about itself, and build systems parse what it
    /// answers.
    pub introspection: bool,
    /// A source may be compiled: a source file, `-` (stdin), `-x LANG`, or an `@file`
    /// whose contents are unknown here.
    pub may_compile: bool,
    /// An `@file` response file.
    pub response_file: bool,
}

fn is_source(a: &OsStr) -> bool {
    Path::new(a)
        .extension()
        .and_then(OsStr::to_str)
        .is_some_and(|e| SOURCE_EXTS.contains(&e))
}

/// The depfiles named in `-Wp,`'s comma-separated list: the word after each `-MD`,
/// `-MMD` or `-MF`.
fn wp_depfiles<'a>(list: &'a [u8], out: &mut Vec<&'a OsStr>) {
    let mut words = list.split(|&c| c == b',');
    while let Some(w) = words.next() {
        if matches!(w, b"-MD" | b"-MMD" | b"-MF")
            && let Some(path) = words.next()
            && !path.is_empty()
        {
            out.push(OsStr::from_bytes(path));
        }
    }
}

/// Parse `args` (the arguments after the compiler).
pub fn parse(args: &[OsString]) -> Args<'_> {
    let mut a = Args::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let b = arg.as_bytes();
        match b {
            b"-o" | b"--output-file" => a.output = it.next().map(OsString::as_os_str),
            b"-MF" => a.depfile = it.next().map(OsString::as_os_str),
            b"-c" | b"--compile" => (a.compile, a.compile_only) = (true, true),
            b"-S" => a.compile_only = true,
            b"-E" | b"-M" | b"-MM" | b"--preprocess" | b"--generate-dependencies" => {
                (a.compile_only, a.preprocess_only) = (true, true)
            }
            b"-MD" | b"-MMD" => a.dep_md = true,
            b"-gsplit-dwarf" => a.split_dwarf = true,
            b"--coverage" | b"-ftest-coverage" => a.coverage = true,
            b"-dumpbase" | b"-dumpdir" => {
                a.dump_names = true;
                it.next();
            }
            b"-" | b"-x" => a.may_compile = true,
            b"-v" | b"--verbose" | b"-###" | b"--help" | b"-dumpspecs" => a.introspection = true,
            // nvcc: the sub-commands it would run, and the GPU targets it knows.
            b"--dryrun" | b"-dryrun" | b"--list-gpu-arch" | b"-arch-ls" | b"--list-gpu-code"
            | b"-code-ls" => a.introspection = true,
            _ if b.starts_with(b"-print-")
                || b.starts_with(b"--print-")
                || b.starts_with(b"-dumpmachine")
                || b.starts_with(b"-dumpversion")
                || b.starts_with(b"-dumpfullversion") =>
            {
                a.introspection = true
            }
            _ if b.starts_with(b"-o") => a.output = Some(OsStr::from_bytes(&b[2..])),
            _ if b.starts_with(b"-MF") => a.depfile = Some(OsStr::from_bytes(&b[3..])),
            _ if b.starts_with(b"-x") => a.may_compile = true,
            _ if b.first() == Some(&b'@') => (a.may_compile, a.response_file) = (true, true),
            _ if b.starts_with(b"-Wp,") => wp_depfiles(&b[4..], &mut a.wp_depfiles),
            _ if b.first() == Some(&b'-') => {}
            _ if is_source(arg) => {
                a.sources.push(arg);
                a.may_compile = true;
            }
            _ => {}
        }
    }
    a
}

impl Args<'_> {
    /// The object a compile-only invocation writes: `-o X`, else `-c`'s default (the
    /// source's stem + `.o` in the working directory). `None` for a link.
    pub(crate) fn object(&self) -> Option<PathBuf> {
        if !self.compile_only {
            return None;
        }
        self.output.map(PathBuf::from).or_else(|| {
            (self.compile && self.sources.len() == 1).then(|| {
                PathBuf::from(Path::new(self.sources[0]).file_name().unwrap_or_default())
                    .with_extension("o")
            })
        })
    }

    /// `-MD`'s default depfile when no `-MF` names one (nor `-Wp,`): the object with its
    /// extension replaced by `.d` (gcc's spec `%{!o:%b.d}%{o*:%.d%*}`, sccache's
    /// `output.with_extension("d")`).
    pub(crate) fn default_depfile(&self) -> Option<PathBuf> {
        if !self.dep_md || self.depfile.is_some() || !self.wp_depfiles.is_empty() || self.dump_names
        {
            return None;
        }
        Some(self.object()?.with_extension("d"))
    }

    /// The files a compile-only invocation (`-c`, `-S`, `-E`) writes: its object, `-MF X`,
    /// `-MD`'s default, the depfiles `-Wp,` names, the `.dwo` of `-gsplit-dwarf` and the
    /// `.gcno` of `--coverage` (beside the object, where gcc and sccache put them). None
    /// for anything else: that links, and the linker's output is not a compile's.
    pub(crate) fn outputs(&self) -> Vec<PathBuf> {
        if !self.compile_only {
            return Vec::new();
        }
        let mut out: Vec<PathBuf> = self.depfile.map(PathBuf::from).into_iter().collect();
        out.extend(self.wp_depfiles.iter().map(PathBuf::from));
        if let Some(o) = self.object() {
            out.extend(self.default_depfile());
            if !self.dump_names {
                if self.split_dwarf {
                    out.push(o.with_extension("dwo"));
                }
                if self.coverage {
                    out.push(o.with_extension("gcno"));
                }
            }
            out.push(o);
        }
        out
    }

    /// The directory of the (last) source file, if it names one (`../src/x.c`).
    pub(crate) fn source_dir(&self) -> Option<&Path> {
        Path::new(self.sources.last()?)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
    }

    /// The directory the invocation writes its output to (`-o DIR/x`), if it names one.
    pub(crate) fn output_dir(&self) -> Option<&Path> {
        Path::new(self.output?)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn compile_detection() {
        let may = |v: &[&str]| parse(&os(v)).may_compile;
        assert!(may(&["-c", "a.c"]));
        assert!(may(&["-x", "c", "-"]));
        assert!(may(&["@args.rsp"]));
        assert!(!may(&["a.o", "b.o", "-o", "prog"]));
        assert!(!may(&["--version"]));
        assert!(!may(&["-v"]));
    }

    #[test]
    fn introspection_detection() {
        for a in [
            &["-v", "-c", "x.c"][..],
            &["-###", "-c", "x.c"],
            &["-print-file-name=libc.a"],
            &["-dumpmachine"],
            &["--verbose", "x.c"],
            &["--dryrun", "-c", "k.cu"],
            &["-arch-ls"],
        ] {
            assert!(parse(&os(a)).introspection, "{a:?}");
        }
        for a in [
            &["-c", "x.c"][..],
            &["-Wl,-v", "a.o"],
            &["-DV=-v", "-c", "x.c"],
        ] {
            assert!(!parse(&os(a)).introspection, "{a:?}");
        }
    }

    #[test]
    fn output_files() {
        let outs = |v: &[&str]| parse(&os(v)).outputs();
        assert_eq!(outs(&["-c", "src/a.c"]), vec![PathBuf::from("a.o")]);
        assert_eq!(outs(&["a.c", "-o", "prog"]), Vec::<PathBuf>::new());
        assert_eq!(
            outs(&["-c", "a.c", "-o", "x/y.o", "-MD"]),
            vec![PathBuf::from("x/y.d"), PathBuf::from("x/y.o")]
        );
        assert_eq!(
            outs(&["-c", "a.c", "-ox.o", "-MF", "dep.d"]),
            vec![PathBuf::from("dep.d"), PathBuf::from("x.o")]
        );
        assert_eq!(
            outs(&["-c", "a.c", "-o", "obj/a.o", "-gsplit-dwarf", "--coverage"]),
            vec![
                PathBuf::from("obj/a.dwo"),
                PathBuf::from("obj/a.gcno"),
                PathBuf::from("obj/a.o")
            ]
        );
        assert_eq!(
            outs(&["-c", "a.c", "-Wp,-MD,dep/a.d,-MT,x", "-o", "a.o"]),
            vec![PathBuf::from("dep/a.d"), PathBuf::from("a.o")]
        );
        assert_eq!(
            outs(&["-c", "a.c", "-MMD", "-o", "obj/noext"]),
            vec![PathBuf::from("obj/noext.d"), PathBuf::from("obj/noext")]
        );
        // -dumpbase/-dumpdir move gcc's auxiliary files: not guessed.
        assert_eq!(
            outs(&[
                "-c",
                "a.c",
                "-MD",
                "-gsplit-dwarf",
                "-dumpdir",
                "x/",
                "-o",
                "a.o"
            ]),
            vec![PathBuf::from("a.o")]
        );
        let a = os(&["-c", "a.c", "-o", "/w/target/out/a.o"]);
        assert_eq!(parse(&a).output_dir(), Some(Path::new("/w/target/out")));
        assert_eq!(parse(&os(&["-c", "a.c", "-o", "a.o"])).output_dir(), None);
        // nvcc's long spellings.
        assert_eq!(
            outs(&["--compile", "k.cu", "--output-file", "o/k.o"]),
            vec![PathBuf::from("o/k.o")]
        );
    }
}
