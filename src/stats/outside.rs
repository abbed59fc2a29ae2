//! Compiles that ran outside any project: no `.toolchainkit.toml` was found from their
//! working, output or source directory, so they used the user file and the defaults and
//! were counted in `default.stats`. Next to that file, `default.stats.outside` keeps the
//! directories they ran in (the 16 most recent, each with a count and the time of the
//! last one), written under the stats lock, by those compiles only. `stats` and `doctor`,
//! run in a project, show the recent ones: if they belong to the project's build (a
//! generated makefile in `/tmp`, a build directory outside the checkout), pinning the
//! configuration with `toolchainkit run -- BUILD` applies it to them.
//!
//! A sidecar rather than lines in the stats file keeps the stats file's format (and its
//! readers in earlier versions) as it is.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::private;

/// How many directories are kept.
const KEEP: usize = 16;

/// One directory compiles ran in outside any project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outside {
    pub dir: PathBuf,
    pub count: u64,
    /// Unix seconds of the last one.
    pub last: u64,
}

/// The sidecar of a stats file.
pub fn path_for(stats: &Path) -> PathBuf {
    let mut s = stats.as_os_str().to_os_string();
    s.push(".outside");
    PathBuf::from(s)
}

fn parse(text: &str) -> Vec<Outside> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ' ');
            let last = it.next()?.parse().ok()?;
            let count = it.next()?.parse().ok()?;
            let dir = PathBuf::from(it.next()?);
            Some(Outside { dir, count, last })
        })
        .collect()
}

/// Every directory recorded next to `stats`, newest first.
pub fn read(stats: &Path) -> Vec<Outside> {
    private::read_own(&path_for(stats))
        .map(|b| parse(&String::from_utf8_lossy(&b)))
        .unwrap_or_default()
}

/// Those of the last `secs` seconds.
pub fn recent(stats: &Path, secs: u64) -> Vec<Outside> {
    let now = super::now_secs();
    read(stats)
        .into_iter()
        .filter(|o| o.last + secs >= now)
        .collect()
}

/// Note one compile in `dir` (called under the stats lock).
pub fn note(stats: &Path, dir: &Path) -> io::Result<()> {
    let mut all = read(stats);
    let now = super::now_secs();
    match all.iter_mut().find(|o| o.dir == dir) {
        Some(o) => {
            o.count += 1;
            o.last = now;
        }
        None => all.push(Outside {
            dir: dir.to_path_buf(),
            count: 1,
            last: now,
        }),
    }
    all.sort_by_key(|o| std::cmp::Reverse(o.last));
    all.truncate(KEEP);
    let mut text = String::new();
    for o in &all {
        // A directory name with a newline would break the line format: left out.
        let d = o.dir.to_string_lossy();
        if !d.contains('\n') {
            text.push_str(&format!("{} {} {d}\n", o.last, o.count));
        }
    }
    let side = path_for(stats);
    let dir_of = side.parent().unwrap_or(Path::new("."));
    let (mut f, tmp) = private::create_unique(dir_of, ".outside.tmp")?;
    let r = f
        .write_all(text.as_bytes())
        .and_then(|()| std::fs::rename(&tmp, &side));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// The lines `stats` and `doctor` show about recent compiles outside any project.
pub fn advice(found: &[Outside]) -> Option<String> {
    let total: u64 = found.iter().map(|o| o.count).sum();
    let first = found.first()?;
    Some(format!(
        "{total} compile(s) in the last day ran outside any project (no {} found from their directories; the last in {}) and went to default.stats with the default settings; if they belong to this project's build, pin its configuration for the whole build: `toolchainkit run -- BUILD COMMAND`",
        crate::config::PROJECT_FILE,
        first.dir.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_directories_with_counts() {
        let t = tempfile::tempdir().expect("tempdir");
        let stats = t.path().join("default.stats");
        for i in 0..20 {
            note(&stats, Path::new(&format!("/build/{}", i % 18))).expect("note");
        }
        note(&stats, Path::new("/build/1")).expect("note");
        let all = read(&stats);
        assert_eq!(all.len(), KEEP);
        let one = all
            .iter()
            .find(|o| o.dir == Path::new("/build/1"))
            .expect("kept");
        assert_eq!(one.count, 3);
        assert!(advice(&all).is_some_and(|a| a.contains("compile(s)")));
        assert_eq!(advice(&[]), None);
    }
}
