//! `PATH`: for each default compiler name, does it reach the shim before the real compiler
//! (masquerade active?), which real compiler runs, which wrappers are skipped; and double
//! caching through a ccache/distcc masquerade directory.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::{Check, Ctx, Level};
use crate::names::{self, DEFAULT_SHIMS};
use crate::resolve::{self, SkipReason};

/// What one `PATH` candidate for a compiler name is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A toolchainkit shim.
    Shim,
    /// A wrapper of another tool (`ccache`, `distcc`, ...), by kind.
    Wrapper(String),
    /// A real compiler.
    Real,
    /// Exists but is not an executable file.
    NotExecutable,
}

fn classify(candidate: &Path, ctx: &Ctx) -> Entry {
    match resolve::check_candidate(candidate, ctx.me) {
        Ok(()) => Entry::Real,
        Err(SkipReason::OwnShim) => Entry::Shim,
        Err(SkipReason::WrapperLink(w)) if names::is_own_name(OsStr::new(&w)) => Entry::Shim,
        Err(SkipReason::WrapperLink(w)) | Err(SkipReason::WrapperDir(w)) => Entry::Wrapper(w),
        Err(SkipReason::NotExecutable) => Entry::NotExecutable,
    }
}

/// Every existing candidate for `name` in `PATH` order, as (path, what it is).
pub(crate) fn entries(name: &str, ctx: &Ctx) -> Vec<(PathBuf, Entry)> {
    let Some(pv) = &ctx.path_var else {
        return Vec::new();
    };
    std::env::split_paths(pv)
        .map(|d| if d.is_relative() { ctx.cwd.join(d) } else { d })
        .map(|d| d.join(name))
        .filter(|c| std::fs::symlink_metadata(c).is_ok())
        .map(|c| {
            let e = classify(&c, ctx);
            (c, e)
        })
        .collect()
}

fn dir_of(p: &Path) -> String {
    p.parent().unwrap_or(Path::new("/")).display().to_string()
}

/// The verdict for one compiler name from its `PATH` candidates (pure).
pub(crate) fn judge(name: &str, entries: &[(PathBuf, Entry)]) -> Check {
    let key = format!("path.{name}");
    let pos = |f: &dyn Fn(&Entry) -> bool| entries.iter().position(|(_, e)| f(e));
    let shim = pos(&|e| *e == Entry::Shim);
    let real = pos(&|e| *e == Entry::Real);
    let wrapper = pos(&|e| matches!(e, Entry::Wrapper(_)));
    let skipped: Vec<String> = entries
        .iter()
        .take(real.unwrap_or(entries.len()))
        .filter(|(_, e)| *e != Entry::Real && *e != Entry::Shim)
        .map(|(p, e)| match e {
            Entry::Wrapper(w) => format!("{} ({w} wrapper)", p.display()),
            _ => format!("{} (not executable)", p.display()),
        })
        .collect();
    let skipped = if skipped.is_empty() {
        String::new()
    } else {
        format!("; skipped {}", skipped.join(", "))
    };
    let Some(real) = real else {
        return match shim {
            Some(s) => Check::warn(
                key,
                format!(
                    "a shim is in {} but no real `{name}` is installed: compiles with `{name}` fail (exit 127)",
                    dir_of(&entries[s].0)
                ),
                format!("install {name}, or remove {}", entries[s].0.display()),
            ),
            None => Check::new(
                key,
                Level::Skip,
                format!("no `{name}` installed (nothing to check)"),
            ),
        };
    };
    let real_path = &entries[real].0;
    if let (Some(w), Some(s)) = (wrapper, shim)
        && w < s
        && s < real
    {
        let kind = match &entries[w].1 {
            Entry::Wrapper(k) => k.clone(),
            _ => String::new(),
        };
        return Check::problem(
            key,
            format!(
                "double caching: `{name}` reaches the {kind} masquerade {} before the toolchainkit shim, so every compile goes through {kind} and then toolchainkit",
                entries[w].0.display()
            ),
            format!("remove {} from PATH", dir_of(&entries[w].0)),
        );
    }
    match shim {
        None => Check::ok(
            key,
            format!(
                "no shim in PATH (masquerade not in use; launcher mode still works); `{name}` is {}{skipped}",
                real_path.display()
            ),
        ),
        Some(s) if real < s => Check::problem(
            key,
            format!(
                "masquerade inactive: {} comes before the shim {} in PATH, so `{name}` bypasses toolchainkit{}",
                real_path.display(),
                entries[s].0.display(),
                match wrapper {
                    Some(w) if w < real => format!(
                        " (and runs through the wrapper {} instead)",
                        entries[w].0.display()
                    ),
                    _ => String::new(),
                }
            ),
            format!(
                "put {} before {} in PATH",
                dir_of(&entries[s].0),
                dir_of(real_path)
            ),
        ),
        Some(s) => Check::ok(
            key,
            format!(
                "masquerade active: {} -> real compiler {}{skipped}",
                entries[s].0.display(),
                real_path.display()
            ),
        ),
    }
}

/// Wrapper farm directories in `PATH` (any default name there is another tool's wrapper).
pub(crate) fn masquerade_dirs(ctx: &Ctx) -> Vec<(PathBuf, String)> {
    let mut dirs: Vec<(PathBuf, String)> = Vec::new();
    for name in DEFAULT_SHIMS {
        for (p, e) in entries(name, ctx) {
            if let Entry::Wrapper(kind) = e {
                let d = p.parent().unwrap_or(Path::new("/")).to_path_buf();
                if !dirs.iter().any(|(x, _)| *x == d) {
                    dirs.push((d, kind));
                }
            }
        }
    }
    dirs
}

pub(crate) fn checks(ctx: &Ctx) -> Vec<Check> {
    let mut out: Vec<Check> = DEFAULT_SHIMS
        .iter()
        .map(|n| judge(n, &entries(n, ctx)))
        .collect();
    let dirs = masquerade_dirs(ctx);
    if dirs.is_empty() {
        out.push(Check::ok(
            "double-caching",
            "no ccache/distcc masquerade directory in PATH",
        ));
    } else if out.iter().any(|c| c.message.starts_with("double caching")) {
        // Already named, with its fix, for each compiler name it affects.
    } else {
        let tool = ctx
            .choice
            .tool
            .as_ref()
            .map_or("no cache tool", |(t, _)| t.name());
        for (d, kind) in dirs {
            out.push(Check::warn(
                "double-caching",
                format!(
                    "the {kind} masquerade directory {} is in PATH while toolchainkit uses {tool}: toolchainkit skips it, but anything calling a compiler without toolchainkit is cached by {kind} into a second cache",
                    d.display()
                ),
                format!("remove {} from PATH", d.display()),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(p: &str, e: Entry) -> (PathBuf, Entry) {
        (PathBuf::from(p), e)
    }

    #[test]
    fn verdicts() {
        let shim_first = [e("/s/cc", Entry::Shim), e("/usr/bin/cc", Entry::Real)];
        assert_eq!(judge("cc", &shim_first).level, Level::Ok);
        let real_first = [e("/usr/bin/cc", Entry::Real), e("/s/cc", Entry::Shim)];
        let c = judge("cc", &real_first);
        assert_eq!(c.level, Level::Problem);
        assert_eq!(c.fix.as_deref(), Some("put /s before /usr/bin in PATH"));
        let ccache_first = [
            e("/usr/lib/ccache/cc", Entry::Wrapper("ccache".into())),
            e("/s/cc", Entry::Shim),
            e("/usr/bin/cc", Entry::Real),
        ];
        let c = judge("cc", &ccache_first);
        assert_eq!(c.level, Level::Problem);
        assert!(c.message.starts_with("double caching"), "{}", c.message);
        // ccache first but the real compiler before the shim: ccache alone, no shim.
        let ccache_real_shim = [
            e("/usr/lib/ccache/cc", Entry::Wrapper("ccache".into())),
            e("/usr/bin/cc", Entry::Real),
            e("/s/cc", Entry::Shim),
        ];
        let c = judge("cc", &ccache_real_shim);
        assert!(
            c.message.starts_with("masquerade inactive"),
            "{}",
            c.message
        );
        assert!(c.message.contains("/usr/lib/ccache/cc"), "{}", c.message);
        assert_eq!(judge("clang", &[]).level, Level::Skip);
        assert_eq!(
            judge("clang", &[e("/s/clang", Entry::Shim)]).level,
            Level::Warning
        );
        assert_eq!(
            judge("cc", &[e("/usr/bin/cc", Entry::Real)]).level,
            Level::Ok
        );
    }
}
