//! Finding the real compiler: `PATH` search that skips every wrapper, and launcher unwrapping.
//!
//! Skipped: the shim itself (same device and inode as the running binary), symlinks whose
//! chain reaches `toolchainkit`, `ccache`, `sccache`, `distcc` or `icecc`, and wrapper farm
//! directories such as `/usr/lib/ccache`. Only `stat`/`readlink` calls: no process is run.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::{mode, names};

/// Identity of the running binary, to recognise our own shims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelfId {
    pub dev: u64,
    pub ino: u64,
}

impl SelfId {
    /// The running executable's device and inode (`/proc/self/exe`).
    pub fn current() -> Option<SelfId> {
        let m = std::fs::metadata("/proc/self/exe")
            .or_else(|_| std::env::current_exe().and_then(std::fs::metadata))
            .ok()?;
        Some(SelfId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }
}

/// Why a `PATH` candidate was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The toolchainkit binary itself (by device and inode).
    OwnShim,
    /// A symlink whose chain reaches a wrapper program.
    WrapperLink(String),
    /// A wrapper farm directory (`/usr/lib/ccache`, `.../distcc`, ...).
    WrapperDir(String),
    /// Exists but is not an executable file.
    NotExecutable,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::OwnShim => write!(f, "toolchainkit shim"),
            SkipReason::WrapperLink(w) => write!(f, "symlink to wrapper `{w}`"),
            SkipReason::WrapperDir(w) => write!(f, "{w} wrapper directory"),
            SkipReason::NotExecutable => write!(f, "not an executable file"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: SkipReason,
}

/// The outcome of a successful resolution.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// Absolute path of the real compiler (symlinks kept, as the user named it).
    pub real: PathBuf,
    /// Candidates passed over, in `PATH` order.
    pub skipped: Vec<Skipped>,
    /// `PATH` directories that hold a shim for this name: removed from the child's `PATH`.
    pub shim_dirs: Vec<PathBuf>,
}

/// No real compiler: what was searched and skipped.
#[derive(Debug, Clone)]
pub struct NotFound {
    pub name: OsString,
    pub searched: Vec<PathBuf>,
    pub skipped: Vec<Skipped>,
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A path that is no compiler: PATH was not searched, so say what is at the path.
        if mode::is_path(&self.name)
            && self.searched.is_empty()
            && let Some(s) = self.skipped.first()
        {
            let what = match std::fs::metadata(&s.path) {
                Err(_) => "no such file",
                Ok(m) if m.is_dir() => "a directory",
                Ok(_) => "not an executable file",
            };
            return write!(
                f,
                "no real compiler at `{}` ({}: {what})\n\
                 hint: check the path, or give the compiler's name (`cc`, `gcc`, ...) to find it in PATH",
                self.name.to_string_lossy(),
                s.path.display()
            );
        }
        writeln!(
            f,
            "no real compiler `{}` found in PATH ({} directories searched)",
            self.name.to_string_lossy(),
            self.searched.len()
        )?;
        for d in &self.searched {
            writeln!(f, "  searched: {}", d.display())?;
        }
        for s in &self.skipped {
            writeln!(f, "  skipped:  {} ({})", s.path.display(), s.reason)?;
        }
        write!(
            f,
            "hint: install the compiler, or put its directory in PATH after the shim directory"
        )
    }
}

fn wrapper_dir_kind(dir: &Path) -> Option<&'static str> {
    for c in dir.components() {
        let c = c.as_os_str().as_bytes();
        for w in ["ccache", "distcc", "icecc", "sccache"] {
            if c == w.as_bytes() {
                return Some(match w {
                    "ccache" => "ccache",
                    "distcc" => "distcc",
                    "icecc" => "icecc",
                    _ => "sccache",
                });
            }
        }
    }
    None
}

/// Follow a symlink chain (bounded) and report the first wrapper program it reaches.
fn link_to_wrapper(path: &Path) -> Option<String> {
    let mut cur = path.to_path_buf();
    for _ in 0..40 {
        let target = std::fs::read_link(&cur).ok()?;
        let base = names::basename(target.as_os_str());
        if names::is_wrapper_name(base) {
            return Some(base.to_string_lossy().into_owned());
        }
        cur = if target.is_absolute() {
            target
        } else {
            cur.parent().unwrap_or(Path::new("/")).join(target)
        };
    }
    None
}

/// Classify one existing candidate: `Ok(())` when it is a real compiler.
pub(crate) fn check_candidate(path: &Path, me: Option<SelfId>) -> Result<(), SkipReason> {
    let meta = std::fs::metadata(path).map_err(|_| SkipReason::NotExecutable)?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(SkipReason::NotExecutable);
    }
    if let Some(me) = me
        && meta.dev() == me.dev
        && meta.ino() == me.ino
    {
        return Err(SkipReason::OwnShim);
    }
    if let Some(w) = link_to_wrapper(path) {
        return Err(SkipReason::WrapperLink(w));
    }
    if let Some(dir) = path.parent()
        && let Some(kind) = wrapper_dir_kind(dir)
    {
        return Err(SkipReason::WrapperDir(kind.to_string()));
    }
    Ok(())
}

/// Search `path_var` for `name`, skipping wrappers.
pub fn search(
    name: &OsStr,
    path_var: Option<&OsStr>,
    cwd: &Path,
    me: Option<SelfId>,
) -> Result<Resolution, NotFound> {
    let mut skipped = Vec::new();
    let mut searched = Vec::new();
    let mut shim_dirs = Vec::new();
    let path_var = path_var.unwrap_or(OsStr::new("/usr/local/bin:/usr/bin:/bin"));
    for dir in std::env::split_paths(path_var) {
        let dir = if dir.as_os_str().is_empty() {
            cwd.to_path_buf()
        } else if dir.is_relative() {
            cwd.join(dir)
        } else {
            dir
        };
        let candidate = dir.join(name);
        searched.push(dir.clone());
        if std::fs::symlink_metadata(&candidate).is_err() {
            continue;
        }
        match check_candidate(&candidate, me) {
            Ok(()) => {
                return Ok(Resolution {
                    real: candidate,
                    skipped,
                    shim_dirs,
                });
            }
            Err(reason) => {
                if matches!(reason, SkipReason::OwnShim)
                    || matches!(&reason, SkipReason::WrapperLink(w) if names::is_own_name(OsStr::new(w)))
                {
                    shim_dirs.push(dir.clone());
                }
                skipped.push(Skipped {
                    path: candidate,
                    reason,
                });
            }
        }
    }
    Err(NotFound {
        name: name.to_os_string(),
        searched,
        skipped,
    })
}

/// Resolve the compiler word of a call: a name is searched in `PATH`; a path is used as
/// given unless it is a wrapper (our shim, a ccache masquerade link), in which case its
/// basename is searched in `PATH` the same way.
pub fn resolve(
    word: &OsStr,
    path_var: Option<&OsStr>,
    cwd: &Path,
    me: Option<SelfId>,
) -> Result<Resolution, NotFound> {
    if !mode::is_path(word) {
        return search(word, path_var, cwd, me);
    }
    let given = Path::new(word);
    let abs = if given.is_absolute() {
        given.to_path_buf()
    } else {
        cwd.join(given)
    };
    match check_candidate(&abs, me) {
        Ok(()) => Ok(Resolution {
            real: abs,
            skipped: Vec::new(),
            shim_dirs: Vec::new(),
        }),
        Err(SkipReason::NotExecutable) => Err(NotFound {
            name: word.to_os_string(),
            searched: Vec::new(),
            skipped: vec![Skipped {
                path: abs,
                reason: SkipReason::NotExecutable,
            }],
        }),
        Err(reason) => {
            let mut r = search(names::basename(word), path_var, cwd, me).map_err(|mut nf| {
                nf.skipped.insert(
                    0,
                    Skipped {
                        path: abs.clone(),
                        reason: reason.clone(),
                    },
                );
                nf
            })?;
            r.skipped.insert(0, Skipped { path: abs, reason });
            Ok(r)
        }
    }
}

/// The `PATH` directories where any of `wanted` is one of our own shims, in `PATH` order.
/// nvcc runs its host compiler (`gcc`, `g++`, `-ccbin`'s) from `PATH` itself; without these
/// directories those host compiles never re-enter toolchainkit. Only `stat` calls.
pub(crate) fn shim_dirs_for(
    wanted: &[&str],
    path_var: &OsStr,
    cwd: &Path,
    me: Option<SelfId>,
) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for dir in std::env::split_paths(path_var) {
        let dir = if dir.as_os_str().is_empty() {
            cwd.to_path_buf()
        } else if dir.is_relative() {
            cwd.join(dir)
        } else {
            dir
        };
        let ours = wanted.iter().any(|n| {
            let c = dir.join(n);
            std::fs::symlink_metadata(&c).is_ok()
                && match check_candidate(&c, me) {
                    Err(SkipReason::OwnShim) => true,
                    Err(SkipReason::WrapperLink(w)) => names::is_own_name(OsStr::new(&w)),
                    _ => false,
                }
        });
        if ours && !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

/// `PATH` without the given directories (compared after joining relative entries to `cwd`).
pub(crate) fn path_without(path_var: &OsStr, remove: &[PathBuf], cwd: &Path) -> OsString {
    let kept: Vec<PathBuf> = std::env::split_paths(path_var)
        .filter(|d| {
            let abs = if d.as_os_str().is_empty() {
                cwd.to_path_buf()
            } else if d.is_relative() {
                cwd.join(d)
            } else {
                d.clone()
            };
            !remove.contains(&abs)
        })
        .collect();
    std::env::join_paths(kept).unwrap_or_else(|_| path_var.to_os_string())
}

#[cfg(test)]
mod tests {
    //! Real files in a temporary directory: executables, symlinks to wrappers, a copy of
    //! "ourselves" recognised by device and inode, relative `PATH` entries.

    use std::os::unix::fs::symlink;

    use super::*;

    struct Tree {
        dir: tempfile::TempDir,
    }

    impl Tree {
        fn new() -> Tree {
            Tree {
                dir: tempfile::tempdir().expect("tempdir"),
            }
        }

        fn p(&self, rel: &str) -> PathBuf {
            self.dir.path().join(rel)
        }

        /// An executable file at `rel` (parents created).
        fn exe(&self, rel: &str) -> PathBuf {
            let p = self.p(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, "#!/bin/sh\nexit 0\n").expect("write");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            p
        }

        /// A symlink at `rel` pointing at `target` (parents created).
        fn link(&self, rel: &str, target: impl AsRef<Path>) -> PathBuf {
            let p = self.p(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            symlink(target, &p).expect("symlink");
            p
        }

        /// `PATH` of these directories of the tree, as absolute paths.
        fn path(&self, dirs: &[&str]) -> OsString {
            std::env::join_paths(dirs.iter().map(|d| self.p(d))).expect("join")
        }

        /// "Us": the running binary is this file, as `SelfId::current` would report it.
        fn me(&self) -> Option<SelfId> {
            let m = std::fs::metadata(self.p("bin/toolchainkit")).expect("stat self");
            Some(SelfId {
                dev: m.dev(),
                ino: m.ino(),
            })
        }
    }

    fn reasons(skipped: &[Skipped]) -> Vec<(PathBuf, SkipReason)> {
        skipped
            .iter()
            .map(|s| (s.path.clone(), s.reason.clone()))
            .collect()
    }

    /// A tree with: our binary, shims to it, a hard link to it under another name, a
    /// ccache masquerade farm of symlinks, a directory of gcc symlinks to sccache and to
    /// ccache, a non-executable `cc`, and the real compilers.
    fn fixture() -> Tree {
        let t = Tree::new();
        t.exe("bin/toolchainkit");
        t.exe("tools/ccache");
        t.exe("tools/sccache");
        t.link("shims/cc", "../bin/toolchainkit");
        t.link("shims/gcc", t.p("bin/toolchainkit"));
        std::fs::create_dir_all(t.p("copy")).expect("mkdir");
        std::fs::hard_link(t.p("bin/toolchainkit"), t.p("copy/cc")).expect("hard link");
        t.link("lib/ccache/cc", "../../tools/ccache");
        t.link("lib/ccache/gcc", "../../tools/ccache");
        t.link("wrap/gcc", t.p("tools/sccache"));
        t.link("wrap2/gcc", "chain");
        t.link("wrap2/chain", "../tools/ccache");
        std::fs::create_dir_all(t.p("noexec")).expect("mkdir");
        std::fs::write(t.p("noexec/cc"), "not a program").expect("write");
        t.exe("real/cc");
        t.exe("real/gcc");
        t
    }

    #[test]
    fn the_search_skips_our_shims_and_wrapper_farms_and_finds_the_real_compiler() {
        let t = fixture();
        let cwd = t.p("");
        let path = t.path(&["shims", "copy", "lib/ccache", "noexec", "real"]);
        let r = search(OsStr::new("cc"), Some(&path), &cwd, t.me()).expect("found");
        assert_eq!(r.real, t.p("real/cc"));
        assert_eq!(
            reasons(&r.skipped),
            [
                (t.p("shims/cc"), SkipReason::OwnShim),
                (t.p("copy/cc"), SkipReason::OwnShim),
                (
                    t.p("lib/ccache/cc"),
                    SkipReason::WrapperLink("ccache".into())
                ),
                (t.p("noexec/cc"), SkipReason::NotExecutable),
            ]
        );
        // Directories holding our shim are taken out of the child's PATH.
        assert_eq!(r.shim_dirs, [t.p("shims"), t.p("copy")]);
    }

    #[test]
    fn a_wrapper_farm_directory_is_skipped_even_for_a_plain_executable() {
        let t = fixture();
        // /usr/lib/ccache-style directory holding a copy, not a symlink.
        t.exe("lib/ccache/c++");
        t.exe("real/c++");
        let path = t.path(&["lib/ccache", "real"]);
        let r = search(OsStr::new("c++"), Some(&path), &t.p(""), t.me()).expect("found");
        assert_eq!(r.real, t.p("real/c++"));
        assert_eq!(
            reasons(&r.skipped),
            [(
                t.p("lib/ccache/c++"),
                SkipReason::WrapperDir("ccache".into())
            )]
        );
        assert!(r.shim_dirs.is_empty(), "a wrapper farm is not our shim dir");
    }

    #[test]
    fn gcc_symlinks_to_sccache_or_ccache_are_skipped_through_chains() {
        let t = fixture();
        let path = t.path(&["wrap", "wrap2", "lib/ccache", "real"]);
        let r = search(OsStr::new("gcc"), Some(&path), &t.p(""), t.me()).expect("found");
        assert_eq!(r.real, t.p("real/gcc"));
        assert_eq!(
            reasons(&r.skipped),
            [
                (t.p("wrap/gcc"), SkipReason::WrapperLink("sccache".into())),
                (t.p("wrap2/gcc"), SkipReason::WrapperLink("ccache".into())),
                (
                    t.p("lib/ccache/gcc"),
                    SkipReason::WrapperLink("ccache".into())
                ),
            ]
        );
        // The same symlink given as a launcher path is unwrapped to the real compiler.
        let r =
            resolve(t.p("wrap/gcc").as_os_str(), Some(&path), &t.p(""), t.me()).expect("unwrapped");
        assert_eq!(r.real, t.p("real/gcc"));
        assert_eq!(r.skipped[0].path, t.p("wrap/gcc"));
    }

    #[test]
    fn only_shims_and_wrappers_in_path_is_not_found_not_a_loop() {
        let t = fixture();
        let path = t.path(&["shims", "copy", "lib/ccache", "wrap"]);
        let nf = search(OsStr::new("cc"), Some(&path), &t.p(""), t.me()).expect_err("no real cc");
        assert_eq!(nf.name, "cc");
        assert_eq!(
            nf.searched,
            [t.p("shims"), t.p("copy"), t.p("lib/ccache"), t.p("wrap")]
        );
        assert_eq!(nf.skipped.len(), 3, "{nf}");
        let text = nf.to_string();
        assert!(text.contains("no real compiler `cc` found"), "{text}");
        assert!(text.contains("toolchainkit shim"), "{text}");
        assert!(text.contains("\nhint: "), "{text}");
        // Our own shim given by path, with nothing real behind it: the same.
        let nf = resolve(t.p("shims/gcc").as_os_str(), Some(&path), &t.p(""), t.me())
            .expect_err("no real gcc");
        assert_eq!(nf.skipped[0].path, t.p("shims/gcc"));
        assert_eq!(nf.skipped[0].reason, SkipReason::OwnShim);
    }

    #[test]
    fn relative_and_empty_path_entries_are_taken_from_the_working_directory() {
        let t = fixture();
        let cwd = t.p("");
        // "" and "." are the working directory, as in a shell.
        t.exe("cc");
        for entry in ["", "."] {
            let path: OsString =
                std::env::join_paths([PathBuf::from(entry), t.p("real")]).expect("join");
            let r = search(OsStr::new("cc"), Some(&path), &cwd, t.me()).expect("found");
            assert_eq!(
                r.real.canonicalize().expect("canon"),
                t.p("cc").canonicalize().expect("canon"),
                "{entry:?}"
            );
        }
        // "shims" relative to the working directory: skipped and recorded absolute.
        let path = OsString::from("shims:real");
        let r = search(OsStr::new("cc"), Some(&path), &cwd, t.me()).expect("found");
        assert_eq!(r.real, cwd.join("real").join("cc"));
        assert_eq!(r.shim_dirs, [cwd.join("shims")]);
        // And path_without removes it although it is written relative.
        assert_eq!(path_without(&path, &r.shim_dirs, &cwd), "real");
    }

    #[test]
    fn path_without_removes_exactly_the_given_directories_and_keeps_the_order() {
        let cwd = Path::new("/w");
        let path = OsString::from("/s:/usr/bin:rel:/s:/bin::/opt/s");
        let remove = [PathBuf::from("/s"), PathBuf::from("/w/rel")];
        assert_eq!(path_without(&path, &remove, cwd), "/usr/bin:/bin::/opt/s");
        // The empty entry is the working directory.
        assert_eq!(
            path_without(&path, &[PathBuf::from("/w")], cwd),
            "/s:/usr/bin:rel:/s:/bin:/opt/s"
        );
        assert_eq!(path_without(&path, &[], cwd), path);
        assert_eq!(
            path_without(OsStr::new("/s"), &[PathBuf::from("/s")], cwd),
            ""
        );
    }

    /// nvcc's host compilers: every directory with one of our shims for a host name (a
    /// symlink to us, a hard link of us), never a ccache farm or a directory of real
    /// compilers, each once, in `PATH` order.
    #[test]
    fn host_compiler_shim_dirs() {
        let t = fixture();
        let cwd = t.p("");
        let path = t.path(&["lib/ccache", "real", "copy", "shims", "wrap", "shims"]);
        assert_eq!(
            shim_dirs_for(&["cc", "c++", "gcc", "g++"], &path, &cwd, t.me()),
            [t.p("copy"), t.p("shims")]
        );
        assert_eq!(
            shim_dirs_for(&["clang"], &path, &cwd, t.me()),
            Vec::<PathBuf>::new()
        );
    }
}
