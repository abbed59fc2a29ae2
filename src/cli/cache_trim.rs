//! `toolchainkit cache trim [--unused-since-mark] [--max-size SIZE]`: before CI saves the
//! cache, remove what this build did not use, so the saved cache holds what the next
//! build needs and stays under the CI's quota.
//!
//! - ccache: its own eviction, `ccache --evict-older-than AGE` with AGE the time since
//!   the mark plus two seconds (ccache refreshes an entry's mtime when a compile uses
//!   it; its age comparison is coarse, see `CCACHE_AGE_SLACK`), then
//!   `ccache --cleanup` under `CCACHE_MAXSIZE=SIZE` for `--max-size`.
//! - sccache has no such command (sccache#2725). Its local disk cache is a tree of
//!   files whose mtime sccache's LRU sets to "now" on every read and write
//!   (`lru_disk_cache::get_file` in sccache 0.16), and which its server indexes in memory
//!   when it starts. So this project's server is stopped first (it would otherwise keep
//!   serving and evicting by a stale index), then every regular file older than the mark
//!   is removed, then the oldest ones until the tree fits `--max-size`. Only a directory
//!   owned by the user and not a symlink is touched; symlinks inside are never followed.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::UNIX_EPOCH;

use anyhow::{Context, bail};

use super::cache::{human_bytes, usage};
use crate::backend::ccache;
use crate::backend::sccache::server;
use crate::config::{Config, Tool};

/// A size in ccache's syntax: a number with k, M, G, T (powers of 1000) or Ki, Mi, Gi, Ti
/// (powers of 1024), optionally followed by B; a bare number is GB.
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let t = t.strip_suffix(['B', 'b']).unwrap_or(t);
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    let mult: f64 = match unit.trim() {
        "" | "G" | "g" => 1e9,
        "k" | "K" => 1e3,
        "M" | "m" => 1e6,
        "T" | "t" => 1e12,
        "Ki" | "KI" => 1024.0,
        "Mi" | "MI" => 1024.0 * 1024.0,
        "Gi" | "GI" => 1024.0 * 1024.0 * 1024.0,
        "Ti" | "TI" => 1024.0f64.powi(4),
        _ => return None,
    };
    Some((n * mult) as u64)
}

/// When the build began: the mark of this project's stats (Unix microseconds).
fn mark_time(cfg: &Config) -> anyhow::Result<u64> {
    let path = crate::stats::stats_path(cfg);
    match crate::stats::mark::load_mark(&path) {
        Some(m) => Ok(m.marked_at_us),
        None => bail!(
            "no mark for {}: run `toolchainkit stats --mark` (or `toolchainkit ci start`) before the build, then trim after it",
            path.display()
        ),
    }
}

fn report(what: &str, (files, bytes): (u64, u64)) {
    println!("{what:<7} {} in {files} files", human_bytes(bytes));
}

pub fn run(
    exe: &Path,
    cwd: &Path,
    cfg: &Config,
    tool: Tool,
    dir: &Path,
    unused: bool,
    max_size: Option<&str>,
) -> anyhow::Result<i32> {
    if !unused && max_size.is_none() {
        bail!("nothing to trim by: give --unused-since-mark, --max-size SIZE, or both");
    }
    let max = match max_size {
        Some(s) => Some(
            parse_size(s)
                .filter(|n| *n > 0)
                .with_context(|| format!("`{s}` is not a size above 0 (e.g. 500M, 2G, 1.5Gi)"))?,
        ),
        None => None,
    };
    let since_us = if unused { Some(mark_time(cfg)?) } else { None };
    if !dir.is_dir() {
        println!("nothing to trim: {} does not exist", dir.display());
        return Ok(0);
    }
    let before = usage(dir);
    report("before:", before);
    match tool {
        Tool::Ccache => trim_ccache(exe, cfg, since_us, max_size)?,
        Tool::Sccache => {
            if let Some((exe, sock)) = super::server::running_server(cwd, cfg)
                && server::stop_server(&exe, &sock)
            {
                println!("stopped this project's sccache server ({})", sock.display());
            }
            trim_tree(dir, since_us, max)?;
        }
    }
    let after = usage(dir);
    report("after:", after);
    println!(
        "removed {} in {} files",
        human_bytes(before.1.saturating_sub(after.1)),
        before.0.saturating_sub(after.0)
    );
    Ok(0)
}

fn trim_ccache(
    exe: &Path,
    cfg: &Config,
    since_us: Option<u64>,
    max_size: Option<&str>,
) -> anyhow::Result<()> {
    let run = |args: &[&str], extra: &[(&str, &str)]| -> anyhow::Result<()> {
        let mut c = Command::new(exe);
        c.args(args)
            .envs(ccache::local_env(cfg))
            .env_remove("TOOLCHAINKIT_GUARD");
        for (k, v) in extra {
            c.env(k, v);
        }
        let out = c
            .output()
            .with_context(|| format!("cannot run ccache {}", args.join(" ")))?;
        if !out.status.success() {
            bail!(
                "`ccache {}` failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    };
    if let Some(us) = since_us {
        let age = age_secs(us);
        println!("ccache --evict-older-than {age}s (unused since the mark)");
        run(&["--evict-older-than", &format!("{age}s")], &[])?;
    }
    if let Some(size) = max_size {
        println!("ccache --cleanup with max_size {size}");
        run(&["--cleanup"], &[("CCACHE_MAXSIZE", size)])?;
    }
    Ok(())
}

/// Whole seconds from the mark to now, rounded up, plus `CCACHE_AGE_SLACK`: nothing used
/// at or after the mark is older than that.
fn age_secs(mark_us: u64) -> u64 {
    let now = crate::stats::mark::now_us();
    now.saturating_sub(mark_us).div_ceil(1_000_000) + CCACHE_AGE_SLACK
}

/// ccache 4.14.2's `--evict-older-than` also removed entries somewhat younger than the
/// age it was given (measured: files 2.5 s old with `3s`), so it is given two seconds
/// more: entries used in the two seconds before the mark are kept as well.
const CCACHE_AGE_SLACK: u64 = 2;

/// The regular files of a tree (never through a symlink), with size and mtime (µs).
fn files(dir: &Path) -> Vec<(PathBuf, u64, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            let Ok(m) = p.symlink_metadata() else {
                continue;
            };
            if m.is_dir() {
                stack.push(p);
            } else if m.is_file() {
                let mtime = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
                out.push((p, m.len(), mtime));
            }
        }
    }
    out
}

/// Remove from `dir` the files not used since `since_us`, then the oldest until the
/// tree holds at most `max` bytes.
pub fn trim_tree(dir: &Path, since_us: Option<u64>, max: Option<u64>) -> anyhow::Result<()> {
    let meta = dir
        .symlink_metadata()
        .with_context(|| format!("cannot read {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a directory: nothing removed", dir.display());
    }
    if meta.uid() != crate::paths::uid() {
        bail!(
            "{} belongs to uid {}, not to you: nothing removed",
            dir.display(),
            meta.uid()
        );
    }
    let mut all = files(dir);
    all.sort_by_key(|f| f.2);
    let mut total: u64 = all.iter().map(|f| f.1).sum();
    let remove = |p: &Path, len: u64, total: &mut u64| -> anyhow::Result<()> {
        std::fs::remove_file(p).with_context(|| format!("cannot remove {}", p.display()))?;
        *total = total.saturating_sub(len);
        Ok(())
    };
    let mut kept = Vec::new();
    for (p, len, mtime) in all {
        if since_us.is_some_and(|s| mtime < s) {
            remove(&p, len, &mut total)?;
        } else {
            kept.push((p, len));
        }
    }
    if let Some(max) = max {
        for (p, len) in kept {
            if total <= max {
                break;
            }
            remove(&p, len, &mut total)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_ccaches_syntax() {
        assert_eq!(parse_size("500M"), Some(500_000_000));
        assert_eq!(parse_size("2G"), Some(2_000_000_000));
        assert_eq!(parse_size("2"), Some(2_000_000_000));
        assert_eq!(parse_size("1.5Gi"), Some(1_610_612_736));
        assert_eq!(parse_size("64KiB"), Some(65_536));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("-1G"), None);
    }

    #[test]
    fn a_tree_loses_what_is_older_than_the_mark_then_its_oldest() {
        let d = tempfile::tempdir().expect("tempdir");
        let root = d.path().join("c");
        std::fs::create_dir_all(root.join("a/b")).expect("mkdir");
        let set = |rel: &str, bytes: usize, secs: i64| {
            let p = root.join(rel);
            std::fs::write(&p, vec![0u8; bytes]).expect("write");
            let t = libc::timespec {
                tv_sec: secs,
                tv_nsec: 0,
            };
            let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).expect("path");
            // SAFETY: a valid path and two valid timespecs.
            let rc = unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), [t, t].as_ptr(), 0) };
            assert_eq!(rc, 0);
        };
        set("old", 10, 100);
        set("a/b/used1", 10, 300);
        set("a/used2", 10, 400);
        let outside = d.path().join("outside");
        std::fs::write(&outside, b"x").expect("write");
        std::os::unix::fs::symlink(&outside, root.join("link")).expect("symlink");
        trim_tree(&root, Some(200 * 1_000_000), None).expect("trim");
        assert!(!root.join("old").exists());
        assert!(root.join("a/b/used1").exists() && root.join("a/used2").exists());
        trim_tree(&root, None, Some(15)).expect("trim");
        assert!(!root.join("a/b/used1").exists() && root.join("a/used2").exists());
        assert!(outside.exists(), "a symlink is never followed");
    }
}
