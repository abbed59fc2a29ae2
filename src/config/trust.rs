//! Which configuration files are obeyed.
//!
//! A project file can name programs and paths (a cache directory whose `ccache.conf` runs
//! a `prefix_command`, a remote endpoint that receives a password, a stats file that is
//! replaced), so a file another user can write must not steer your compiles. The rule,
//! like git's `safe.directory`: a configuration file is used only when it is owned by you
//! or by root and nobody else can write it. Group write is accepted when the group is
//! your private group (no other member, nobody else's primary group: the usual
//! `umask 002` setup). Otherwise the file is ignored as if it did not exist, the reason is
//! logged, and `toolchainkit doctor` and `toolchainkit config` show it.
//!
//! Opt-in for a shared checkout: list its directory in `TOOLCHAINKIT_TRUSTED_DIRS`
//! (colon-separated; `*` trusts every directory) or in the user file's `[trust] dirs`;
//! files at or below a listed directory are used whoever owns them. A file named by
//! `TOOLCHAINKIT_CONFIG` is your explicit choice and is used as named.
//!
//! The check is made on the open descriptor the file is then read from (`fstat`), so the
//! file cannot be swapped between check and read.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A configuration file that was found and not obeyed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub path: PathBuf,
    pub why: String,
}

/// The environment variable that lists directories whose files are trusted.
pub(crate) const TRUSTED_DIRS_VAR: &str = "TOOLCHAINKIT_TRUSTED_DIRS";

/// Why a file with this owner and mode is not trusted by `uid` (pure), or `None`.
/// `group_private` is asked only for a group-writable file.
pub(crate) fn judge(
    owner: u32,
    gid: u32,
    mode: u32,
    uid: u32,
    group_private: impl FnOnce(u32) -> bool,
) -> Option<String> {
    if owner != uid && owner != 0 {
        return Some(format!(
            "owned by uid {owner}, neither you (uid {uid}) nor root"
        ));
    }
    if mode & 0o002 != 0 {
        return Some(format!("writable by every user (mode {:o})", mode & 0o7777));
    }
    if mode & 0o020 != 0 && !group_private(gid) {
        return Some(format!(
            "writable by group {gid}, which has other members (mode {:o})",
            mode & 0o7777
        ));
    }
    None
}

/// The directories the environment trusts, and whether it trusts all.
pub(crate) fn env_trusted_dirs() -> (Vec<PathBuf>, bool) {
    let Some(v) = crate::paths::var_nonempty(TRUSTED_DIRS_VAR) else {
        return (Vec::new(), false);
    };
    let mut all = false;
    let mut dirs = Vec::new();
    for d in std::env::split_paths(&v) {
        if d.as_os_str() == "*" {
            all = true;
        } else if d.is_absolute() {
            dirs.push(d);
        }
    }
    (dirs, all)
}

/// Is `path` at or below one of `dirs` (as written, or both canonical)?
pub(crate) fn under_any(path: &Path, dirs: &[PathBuf]) -> bool {
    let canon = std::fs::canonicalize(path).ok();
    dirs.iter().any(|d| {
        path.starts_with(d)
            || canon.as_deref().is_some_and(|c| {
                c.starts_with(d)
                    || std::fs::canonicalize(d)
                        .ok()
                        .is_some_and(|cd| c.starts_with(cd))
            })
    })
}

/// What reading a configuration file gave.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The file's text: obey it.
    Trusted(String),
    /// The file exists and is not obeyed, for this reason.
    Ignored(String),
}

fn judge_meta(meta: &Metadata) -> Option<String> {
    if !meta.is_file() {
        return Some("not a regular file".into());
    }
    let uid = crate::paths::uid();
    judge(meta.uid(), meta.gid(), meta.mode(), uid, |gid| {
        crate::userdb::group_is_private(gid, uid)
    })
}

/// Open `path` and read it if it may be obeyed: trusted by owner and mode, or lying
/// below one of `trusted_dirs` (`all`: every file), or `explicit`.
pub(crate) fn read(
    path: &Path,
    trusted_dirs: &[PathBuf],
    all: bool,
    explicit: bool,
) -> io::Result<Outcome> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f: File = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Ok(Outcome::Ignored("not a regular file".into()));
    }
    if !explicit
        && !all
        && let Some(why) = judge_meta(&meta)
        && !under_any(path, trusted_dirs)
    {
        return Ok(Outcome::Ignored(why));
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)?;
    String::from_utf8(bytes)
        .map(Outcome::Trusted)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not valid UTF-8"))
}

/// The fix to print for an ignored file.
pub(crate) fn fix_for(path: &Path) -> String {
    let dir = path.parent().unwrap_or(Path::new("/"));
    format!(
        "if the file is yours, `chown $(id -u) {p}` and `chmod go-w {p}`; to trust a shared checkout, add {d} to {TRUSTED_DIRS_VAR} or to `dirs` in [trust] of your user file",
        p = path.display(),
        d = dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_and_mode_rule() {
        let never = |_| false;
        assert_eq!(judge(1000, 1000, 0o644, 1000, never), None);
        assert_eq!(judge(0, 0, 0o644, 1000, never), None, "root's file");
        assert!(
            judge(1001, 1001, 0o644, 1000, never).is_some(),
            "another user's"
        );
        assert!(
            judge(1000, 1000, 0o666, 1000, never).is_some(),
            "world-writable"
        );
        assert!(
            judge(1000, 50, 0o664, 1000, never).is_some(),
            "shared group"
        );
        assert_eq!(
            judge(1000, 1000, 0o664, 1000, |_| true),
            None,
            "private group"
        );
        assert!(judge(0, 0, 0o646, 1000, |_| true).is_some());
    }
}
