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
    note_at(stats, dir, super::now_secs())
}

/// [`note`] at the time `now`. The file is kept in the order of noting, newest first: the
/// directory just noted goes to the front and the oldest fall off the end. Timestamps are
/// whole seconds, so ordering by them would let a directory noted in the same second as
/// the others drop out at once.
fn note_at(stats: &Path, dir: &Path, now: u64) -> io::Result<()> {
    let mut all = read(stats);
    let mut this = match all.iter().position(|o| o.dir == dir) {
        Some(i) => all.remove(i),
        None => Outside {
            dir: dir.to_path_buf(),
            count: 0,
            last: now,
        },
    };
    this.count += 1;
    this.last = now;
    all.insert(0, this);
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
        // Ten directories noted twice each, then /build/1 once more.
        for i in 0..20u64 {
            note_at(&stats, Path::new(&format!("/build/{}", i % 10)), 1000 + i).expect("note");
        }
        note_at(&stats, Path::new("/build/1"), 2000).expect("note");
        let all = read(&stats);
        assert_eq!(all.len(), 10);
        assert_eq!(all[0].dir, Path::new("/build/1"));
        assert_eq!((all[0].count, all[0].last), (3, 2000));
        // Eight new ones: the two least recently noted (/build/0 at 1010, /build/2 at 1012)
        // fall off.
        for i in 0..8u64 {
            note_at(&stats, Path::new(&format!("/new/{i}")), 3000 + i).expect("note");
        }
        let all = read(&stats);
        assert_eq!(all.len(), KEEP);
        assert_eq!(all[0].dir, Path::new("/new/7"));
        assert!(!all.iter().any(|o| o.dir == Path::new("/build/0")));
        assert!(!all.iter().any(|o| o.dir == Path::new("/build/2")));
        assert!(all.iter().any(|o| o.dir == Path::new("/build/3")));
        assert!(advice(&all).is_some_and(|a| a.contains("compile(s)")));
        assert_eq!(advice(&[]), None);
    }

    #[test]
    fn a_directory_noted_in_the_same_second_as_the_others_is_kept() {
        let t = tempfile::tempdir().expect("tempdir");
        let stats = t.path().join("default.stats");
        for i in 0..KEEP {
            note_at(&stats, Path::new(&format!("/build/{i}")), 5000).expect("note");
        }
        note_at(&stats, Path::new("/new"), 5000).expect("note");
        let all = read(&stats);
        assert_eq!(all.len(), KEEP);
        assert_eq!(all[0].dir, Path::new("/new"));
        assert!(!all.iter().any(|o| o.dir == Path::new("/build/0")));
    }
}
