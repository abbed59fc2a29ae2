//! toolchainkit's own directories (state, runtime, managed tools): each must be private
//! to the user. One owned by another user (planted at a predictable name in `/tmp` when
//! `HOME` is unset), a symlink, or one writable by others is a problem: compiles then run
//! without what lives there (stats, sccache servers, managed tools).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::{Check, Ctx};
use crate::paths;

/// The verdict on one directory of ours (pure over what `symlink_metadata` said).
pub(crate) fn judge(name: &str, dir: &Path, meta: Option<&std::fs::Metadata>, uid: u32) -> Check {
    let Some(m) = meta else {
        return Check::ok(
            name,
            format!("{} (created when first needed, mode 0700)", dir.display()),
        );
    };
    let why = if m.file_type().is_symlink() {
        Some("is a symlink".to_string())
    } else if !m.is_dir() {
        Some("is not a directory".to_string())
    } else if m.uid() != uid {
        Some(format!(
            "is owned by uid {}, not by you (uid {uid})",
            m.uid()
        ))
    } else {
        None
    };
    match why {
        Some(w) => Check::problem(
            name,
            format!(
                "{} {w}: toolchainkit refuses it, so compiles run without what it holds",
                dir.display()
            ),
            "remove it if it is not yours (another user may have planted it), or set HOME / the XDG variables to a directory of your own",
        ),
        None if m.mode() & 0o077 != 0 => Check::ok(
            name,
            format!(
                "{} (mode {:o}; narrowed to 0700 when next used)",
                dir.display(),
                m.mode() & 0o777
            ),
        ),
        None => Check::ok(name, format!("{} (private)", dir.display())),
    }
}

pub(crate) fn checks(_ctx: &Ctx) -> Vec<Check> {
    let uid = paths::uid();
    let mut out = Vec::new();
    let base = paths::fallback_base();
    let mut dirs = vec![
        ("dirs.state", paths::state_dir()),
        ("dirs.runtime", paths::runtime_dir()),
        ("dirs.tools", paths::tools_dir()),
    ];
    if dirs.iter().any(|(_, d)| d.starts_with(&base)) {
        dirs.insert(0, ("dirs.fallback", base));
    }
    for (name, dir) in dirs {
        let meta = std::fs::symlink_metadata(&dir).ok();
        out.push(judge(name, &dir, meta.as_ref(), uid));
    }
    out
}
