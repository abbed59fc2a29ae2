//! Identities a record needs that cost something to compute, each computed once: the
//! real compiler's content hash and version (memoised in the store by device, inode,
//! size and mtime, so a 100 MB clang is read once, not per miss), and the build a compile
//! belongs to (the outermost build tool among its ancestors, read from `/proc` on a miss).

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::record::{Compiler, text};
use crate::private;

#[derive(Debug, Serialize, Deserialize)]
struct Memo {
    hash: String,
    version: Option<String>,
}

/// The version string a compiler binary carries: the GCC driver's package and version
/// strings (`(Debian 12.2.0-14) ` and `12.2.0` → `Debian 12.2.0-14`), an object's
/// `.comment` (`GCC: (Debian 12.2.0-14) 12.2.0`), or clang's `clang version 16.0.6`.
pub(crate) fn version_in(bytes: &[u8]) -> Option<String> {
    let after = |needle: &[u8]| -> Option<String> {
        let at = bytes.windows(needle.len()).position(|w| w == needle)?;
        let rest = &bytes[at + needle.len()..];
        let end = rest
            .iter()
            .position(|&b| b == 0 || b == b'\n')
            .unwrap_or(rest.len())
            .min(200);
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    };
    if let Some(s) = after(b"clang version ") {
        return s.split(' ').next().map(str::to_string);
    }
    let strings = || {
        bytes
            .split(|&b| b == 0)
            .filter(|s| s.len() < 100)
            .filter_map(|s| std::str::from_utf8(s).ok())
    };
    let number = strings().find(|s| {
        let parts: Vec<&str> = s.split('.').collect();
        (2..=3).contains(&parts.len())
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    });
    let package = strings()
        .find(|s| s.len() > 3 && s.starts_with('(') && s.ends_with(") "))
        .map(|s| s[1..s.len() - 2].to_string());
    match (package, number) {
        (Some(p), Some(n)) if p.contains(n) => Some(p),
        (Some(p), Some(n)) => Some(format!("{n} ({p})")),
        (None, Some(n)) if after(b"gcc version ").is_some() => Some(n.to_string()),
        _ => after(b"GCC: (").and_then(|s| s.rsplit(' ').next().map(str::to_string)),
    }
}

/// The compiler at `real`, its hash and version from the memo in `memo_dir` when the
/// binary is unchanged (same device, inode, size and mtime), else read and remembered.
pub(crate) fn compiler(real: &Path, memo_dir: Option<&Path>) -> Compiler {
    let Ok(meta) = std::fs::metadata(real) else {
        return Compiler {
            path: text(real.as_os_str()),
            ..Compiler::default()
        };
    };
    let mtime_ns = meta.mtime().saturating_mul(1_000_000_000) + meta.mtime_nsec();
    let mut c = Compiler {
        path: text(real.as_os_str()),
        size: meta.size(),
        mtime_ns,
        hash: String::new(),
        version: None,
    };
    let id = format!(
        "{:032x}",
        xxhash_rust::xxh3::xxh3_128(
            format!(
                "{}\0{}\0{}\0{}\0{}",
                c.path,
                meta.dev(),
                meta.ino(),
                c.size,
                mtime_ns
            )
            .as_bytes()
        )
    );
    let memo = memo_dir.map(|d| d.join(&id));
    if let Some(m) = &memo
        && let Ok(bytes) = private::read_own(m)
        && let Ok(memo) = serde_json::from_slice::<Memo>(&bytes)
    {
        c.hash = memo.hash;
        c.version = memo.version;
        return c;
    }
    let Ok(bytes) = std::fs::read(real) else {
        return c;
    };
    c.hash = format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes));
    c.version = version_in(&bytes);
    if let (Some(dir), Some(m)) = (memo_dir, &memo)
        && private::ensure_private_dir(dir).is_ok()
        && let Ok((mut f, tmp)) = private::create_unique(dir, ".tmp")
    {
        let body = serde_json::to_vec(&Memo {
            hash: c.hash.clone(),
            version: c.version.clone(),
        })
        .unwrap_or_default();
        let ok = f.write_all(&body).is_ok() && std::fs::rename(&tmp, m).is_ok();
        if !ok {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    c
}

/// `/proc/PID/stat`: (command name, parent pid, start time in clock ticks since boot).
fn stat(pid: i32) -> Option<(String, i32, u64)> {
    let s = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let open = s.iter().position(|&b| b == b'(')?;
    let close = s.iter().rposition(|&b| b == b')')?;
    let comm = String::from_utf8_lossy(s.get(open + 1..close)?).into_owned();
    let rest = std::str::from_utf8(s.get(close + 2..)?).ok()?;
    let fields: Vec<&str> = rest.split(' ').collect();
    // After the name: state(0) ppid(1) ... starttime is field 22 of the line, index 19 here.
    Some((
        comm,
        fields.get(1)?.parse().ok()?,
        fields.get(19)?.parse().ok()?,
    ))
}

/// Programs that drive a whole build (their `comm`, at most 15 bytes).
const BUILD_TOOLS: &[&str] = &[
    "make",
    "gmake",
    "ninja",
    "samu",
    "cmake",
    "ctest",
    "meson",
    "muon",
    "scons",
    "cargo",
    "bear",
    "xcodebuild",
    "msbuild",
    "toolchainkit",
    "colcon",
    "bitbake",
    "ctest",
];
/// Programs between a build tool and a compile that do not start a build of their own.
const TRANSPARENT: &[&str] = &[
    "sh", "dash", "bash", "zsh", "env", "nice", "time", "timeout", "nohup",
];

/// The build a compile belongs to: `NAME:PID:START` of the outermost build tool among the
/// ancestors reached through build tools and shells only (`cmake --build` → `ninja` →
/// `sh` → the compile), else of the parent process.
pub(crate) fn build_id() -> String {
    // SAFETY: getppid has no preconditions and cannot fail.
    let parent = unsafe { libc::getppid() };
    let mut best: Option<(String, i32, u64)> = None;
    let mut first: Option<(String, i32, u64)> = None;
    let mut pid = parent;
    for _ in 0..16 {
        let Some((comm, ppid, start)) = stat(pid) else {
            break;
        };
        if first.is_none() {
            first = Some((comm.clone(), pid, start));
        }
        if BUILD_TOOLS.contains(&comm.as_str()) {
            best = Some((comm, pid, start));
        } else if !TRANSPARENT.contains(&comm.as_str()) {
            break;
        }
        if ppid <= 1 {
            break;
        }
        pid = ppid;
    }
    match best.or(first) {
        Some((comm, pid, start)) => format!("{comm}:{pid}:{start}"),
        None => format!("pid:{parent}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_binaries() {
        assert_eq!(
            version_in(b"xx\0GCC: (Debian 12.2.0-14) 12.2.0\0yy").as_deref(),
            Some("12.2.0")
        );
        assert_eq!(
            version_in(b"\x7fELF\x0012.2.0\0(Debian 12.2.0-14+deb12u1) \0gcc version %s %s\0")
                .as_deref(),
            Some("Debian 12.2.0-14+deb12u1")
        );
        assert_eq!(
            version_in(b"\0clang version 16.0.6 (Debian)\0").as_deref(),
            Some("16.0.6")
        );
        assert_eq!(version_in(b"#!/bin/sh\nexec gcc \"$@\"\n"), None);
    }

    #[test]
    fn this_process_has_a_build() {
        assert!(!build_id().is_empty());
    }
}
