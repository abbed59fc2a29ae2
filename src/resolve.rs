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
pub fn check_candidate(path: &Path, me: Option<SelfId>) -> Result<(), SkipReason> {
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

/// `PATH` without the given directories (compared after joining relative entries to `cwd`).
pub fn path_without(path_var: &OsStr, remove: &[PathBuf], cwd: &Path) -> OsString {
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
