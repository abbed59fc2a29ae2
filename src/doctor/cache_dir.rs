//! The cache directory of the chosen tool: exists or can be created, writable, free space
//! against `size_gb`, and sharing: owned by another user, or a umask that makes files the
//! other users of a shared (group-writable) cache cannot write.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{Check, Ctx};
use crate::config::{Config, Tool};
use crate::{paths, process};

/// The directory the tool caches in, and where that setting came from.
pub(crate) fn cache_dir(cfg: &Config, tool: Tool) -> Option<(PathBuf, String)> {
    if let Some(d) = cfg.tool_dir(tool) {
        return Some((d, format!("cache.dir, {}", cfg.dir.origin)));
    }
    let var = tool.dir_var();
    if let Some(v) = paths::var_nonempty(var) {
        return Some((PathBuf::from(v), format!("environment {var}")));
    }
    let home = paths::home();
    if tool == Tool::Ccache
        && let Some(h) = &home
        && h.join(".ccache").is_dir()
    {
        return Some((h.join(".ccache"), "ccache's legacy default".into()));
    }
    let cache_home = paths::var_nonempty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".cache")))?;
    Some((
        cache_home.join(tool.name()),
        format!("{}'s default", tool.name()),
    ))
}

/// Free bytes for unprivileged users on the file system holding `p`.
pub(crate) fn free_bytes(p: &Path) -> Option<u64> {
    let c = CString::new(p.as_os_str().as_bytes()).ok()?;
    // SAFETY: an all-zero statvfs is a valid value to be overwritten.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a valid out-pointer.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    // The field types differ between platforms (u32 on some 32-bit targets).
    #[allow(clippy::useless_conversion)]
    let free = u64::from(st.f_bavail).saturating_mul(u64::from(st.f_frsize));
    (rc == 0).then_some(free)
}

fn writable_by_access(p: &Path) -> bool {
    let Ok(c) = CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

fn nearest_existing(p: &Path) -> Option<&Path> {
    p.ancestors().find(|a| a.exists())
}

fn gb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0 * 1024.0)
}

/// The verdict on sharing (pure): `mode` and `owner` of the directory, our uid and umask.
pub(crate) fn judge_sharing(
    dir: &Path,
    tool: Tool,
    mode: u32,
    owner: u32,
    me: u32,
    umask: u32,
    tool_umask_set: bool,
) -> Check {
    let group_writable = mode & 0o020 != 0;
    let shared = owner != me || group_writable;
    if !shared {
        return Check::ok(
            "cache-dir.sharing",
            format!("{} is yours and private", dir.display()),
        );
    }
    if owner != me && !group_writable {
        // Not shared through a group: a umask cannot help. The directory is someone
        // else's (often root's, from a container or a `sudo` build).
        let who = if owner == 0 {
            "root (uid 0)".to_string()
        } else {
            format!("uid {owner}")
        };
        return Check::warn(
            "cache-dir.sharing",
            format!(
                "{} is owned by {who} (you are uid {me}) and not group-writable: {}",
                dir.display(),
                if me == 0 {
                    "files you write there belong to root and its owner cannot prune them"
                } else {
                    "compiles cannot add to it, and its owner's files cannot be pruned by you"
                }
            ),
            format!(
                "sudo chown -R $(id -u):$(id -g) {} (or point cache.dir at a directory of your own)",
                dir.display()
            ),
        );
    }
    if umask & 0o020 != 0 && !tool_umask_set {
        let fix = match tool {
            Tool::Ccache => "set `umask = 002` in the cache's ccache.conf (or CCACHE_UMASK=002)",
            Tool::Sccache => "run builds with `umask 002`",
        };
        return Check::warn(
            "cache-dir.sharing",
            format!(
                "{} is shared ({}mode {:o}) but the umask {:03o} makes new cache files that other users of the group cannot write",
                dir.display(),
                if owner != me {
                    format!("owned by uid {owner}, ")
                } else {
                    String::new()
                },
                mode & 0o7777,
                umask
            ),
            fix,
        );
    }
    Check::ok(
        "cache-dir.sharing",
        format!(
            "{} is shared (mode {:o}) and new files stay group-writable",
            dir.display(),
            mode & 0o7777
        ),
    )
}

pub(crate) fn checks(ctx: &Ctx) -> Vec<Check> {
    let Some((tool, _)) = &ctx.choice.tool else {
        return Vec::new();
    };
    let Some((dir, origin)) = cache_dir(&ctx.cfg, *tool) else {
        return vec![Check::warn(
            "cache-dir",
            "cannot tell where the cache lives (HOME is not set)",
            "set cache.dir in .toolchainkit.toml",
        )];
    };
    let mut out = Vec::new();
    match std::fs::metadata(&dir) {
        Ok(m) if !m.is_dir() => {
            out.push(Check::problem(
                "cache-dir",
                format!("{} ({origin}) exists and is not a directory", dir.display()),
                "remove it, or point cache.dir elsewhere",
            ));
            return out;
        }
        Ok(m) => {
            let probe = dir.join(format!(".toolchainkit-doctor-{}", std::process::id()));
            match std::fs::File::create(&probe) {
                Ok(_) => {
                    let _ = std::fs::remove_file(&probe);
                    out.push(Check::ok(
                        "cache-dir",
                        format!("{} ({origin}) exists and is writable", dir.display()),
                    ));
                }
                Err(e) => out.push(Check::problem(
                    "cache-dir",
                    format!("{} ({origin}) is not writable: {e}", dir.display()),
                    format!(
                        "make it writable (chown/chmod {}), or point cache.dir elsewhere",
                        dir.display()
                    ),
                )),
            }
            let umask_set = *tool == Tool::Ccache && paths::var_nonempty("CCACHE_UMASK").is_some();
            out.push(judge_sharing(
                &dir,
                *tool,
                m.permissions().mode(),
                m.uid(),
                paths::uid(),
                process::umask(),
                umask_set,
            ));
        }
        Err(_) => match nearest_existing(&dir) {
            Some(a) if a.is_dir() && writable_by_access(a) => out.push(Check::ok(
                "cache-dir",
                format!(
                    "{} ({origin}) does not exist yet; it will be created (in {})",
                    dir.display(),
                    a.display()
                ),
            )),
            other => {
                out.push(Check::problem(
                    "cache-dir",
                    format!(
                        "{} ({origin}) does not exist and cannot be created{}",
                        dir.display(),
                        other
                            .map(|a| format!(": {} is not a writable directory", a.display()))
                            .unwrap_or_default()
                    ),
                    "create it with the right owner, or point cache.dir elsewhere",
                ));
                return out;
            }
        },
    }
    let default_gb = tool.default_size_gb();
    let (size, what) = match ctx.cfg.size_gb.value {
        Some(s) => (s, format!("size_gb = {s}")),
        None => (
            default_gb,
            format!("{}'s default {default_gb} GB", tool.name()),
        ),
    };
    if let Some(free) = nearest_existing(&dir).and_then(free_bytes) {
        let free_gb = gb(free);
        if free_gb < size {
            out.push(Check::warn(
                "cache-dir.space",
                format!(
                    "{free_gb:.1} GB free on the file system of {}, less than {what}: the disk fills before the cache is trimmed",
                    dir.display()
                ),
                "lower size_gb, or free space",
            ));
        } else {
            out.push(Check::ok(
                "cache-dir.space",
                format!("{free_gb:.1} GB free, {what}"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::Level;
    use super::*;

    #[test]
    fn sharing() {
        let d = Path::new("/c");
        assert_eq!(
            judge_sharing(d, Tool::Ccache, 0o40755, 1, 1, 0o022, false).level,
            Level::Ok
        );
        assert_eq!(
            judge_sharing(d, Tool::Ccache, 0o42775, 1, 1, 0o022, false).level,
            Level::Warning
        );
        assert_eq!(
            judge_sharing(d, Tool::Ccache, 0o42775, 1, 1, 0o022, true).level,
            Level::Ok
        );
        assert_eq!(
            judge_sharing(d, Tool::Ccache, 0o42775, 2, 1, 0o002, false).level,
            Level::Ok
        );
        assert_eq!(
            judge_sharing(d, Tool::Sccache, 0o40755, 2, 1, 0o002, false).level,
            Level::Warning
        );
        // A root-owned cache that is not group-writable: ownership, never the umask.
        let c = judge_sharing(d, Tool::Ccache, 0o40755, 0, 1000, 0o022, false);
        assert_eq!(c.level, Level::Warning);
        assert!(c.message.contains("owned by root (uid 0)"), "{}", c.message);
        let fix = c.fix.unwrap_or_default();
        assert!(fix.contains("chown") && !fix.contains("umask"), "{fix}");
        // Group-writable and owned by another user: the umask matters.
        let c = judge_sharing(d, Tool::Ccache, 0o42775, 0, 1000, 0o022, false);
        assert!(c.fix.unwrap_or_default().contains("umask = 002"));
    }
}
