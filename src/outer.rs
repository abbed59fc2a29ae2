//! An outer cache tool in front of the shim: Meson 1.x puts a `sccache` or `ccache` it
//! finds in `PATH` in front of the compiler when `CC` is unset, so every compile runs
//! "sccache cc" -> shim -> the shim's own tool: cached twice, and the outer tool's
//! preprocessor runs (`cc -E`) counted as uncacheable.
//!
//! The shim asks once per compile who its parent is: `getppid()` (the same number as the
//! fourth field of `/proc/self/stat`, without opening a file) and one `readlink` of
//! `/proc/PPID/exe`. Two system calls, no process, no allocation; 2.9 µs measured
//! with criterion (`benches/hotpath.rs`, `outer/parent_cache_tool`). When the parent is
//! ccache or sccache the real compiler runs directly (the outer tool already caches)
//! and the invocation is counted as `uncacheable.outer_ccache` / `outer_sccache`, which
//! `stats` and `doctor` explain with the fix (`CC=cc`, or a Meson native file).

use std::os::unix::ffi::OsStrExt;

/// The cache tools whose presence as the parent process means "already cached".
pub(crate) const TOOLS: &[&str] = &["ccache", "sccache"];

/// The stats key of an invocation that came through the outer `tool`.
pub(crate) fn key_reason(tool: &str) -> String {
    format!("outer_{tool}")
}

/// The cache tool named by a `/proc/PID/exe` link target, if it is one (pure).
pub(crate) fn tool_of_exe(target: &[u8]) -> Option<&'static str> {
    let target = target.strip_suffix(b" (deleted)").unwrap_or(target);
    let base = crate::names::basename(std::ffi::OsStr::from_bytes(target)).as_bytes();
    TOOLS.iter().copied().find(|t| t.as_bytes() == base)
}

/// Is the parent of this process ccache or sccache? Which one.
pub fn parent_cache_tool() -> Option<&'static str> {
    // SAFETY: getppid has no preconditions and cannot fail.
    let ppid = unsafe { libc::getppid() };
    if ppid <= 1 {
        return None;
    }
    let mut link = [0u8; 32];
    let path = format_proc_exe(ppid, &mut link)?;
    let mut target = [0u8; 4096];
    // SAFETY: `path` is NUL-terminated inside `link`; `target` is a valid buffer of the
    // length given.
    let n = unsafe {
        libc::readlink(
            path.as_ptr().cast(),
            target.as_mut_ptr().cast(),
            target.len(),
        )
    };
    let n = usize::try_from(n)
        .ok()
        .filter(|&n| n > 0 && n < target.len())?;
    tool_of_exe(&target[..n])
}

/// `/proc/PID/exe` with a NUL, written into `buf` without allocating.
fn format_proc_exe(pid: libc::pid_t, buf: &mut [u8; 32]) -> Option<&[u8]> {
    use std::io::Write;
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    write!(cur, "/proc/{pid}/exe\0").ok()?;
    let len = usize::try_from(cur.position()).ok()?;
    Some(&buf[..len])
}

/// The invocations of `stats` that came through an outer tool: (tool, count).
pub(crate) fn counted(stats: &crate::stats::Stats) -> Vec<(&'static str, u64)> {
    TOOLS
        .iter()
        .filter_map(|t| {
            let n = stats
                .outcomes
                .get(&format!("uncacheable.{}", key_reason(t)))
                .map_or(0, |b| b.count);
            (n > 0).then_some((*t, n))
        })
        .collect()
}

/// What to do about it, for `stats` and `doctor`.
pub(crate) const FIX: &str = "let the shim be the only cache layer: configure Meson with `CC=cc CXX=c++ meson setup --wipe BUILDDIR` \
     (or `CC='toolchainkit cc'`), or a native file with `[binaries]` `c = 'cc'` and `cpp = 'c++'`; \
     elsewhere, drop the ccache/sccache prefix from CC/CXX or the compiler launcher";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exe_targets() {
        for (t, want) in [
            (&b"/usr/bin/sccache"[..], Some("sccache")),
            (b"/opt/tools/ccache", Some("ccache")),
            (b"/usr/bin/ccache (deleted)", Some("ccache")),
            (b"sccache", Some("sccache")),
            (b"/usr/bin/make", None),
            (b"/usr/bin/sccache-dist", None),
            (b"/usr/local/bin/toolchainkit", None),
            (b"/usr/bin/ninja", None),
        ] {
            assert_eq!(tool_of_exe(t), want, "{}", String::from_utf8_lossy(t));
        }
    }

    #[test]
    fn proc_exe_path() {
        let mut buf = [0u8; 32];
        assert_eq!(
            format_proc_exe(4_194_304, &mut buf),
            Some(&b"/proc/4194304/exe\0"[..])
        );
        // The test runner's parent (cargo, a shell) is not a cache tool.
        assert_eq!(parent_cache_tool(), None);
    }
}
