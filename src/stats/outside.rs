//! Compiles that ran outside any project: no `.toolchainkit.toml` was found from their
//! working, output or source directory, so they used the user file and the defaults and
//! were counted in `default.stats`. Next to that file, `default.stats.outside` keeps the
//! directories they ran in (the 16 most recent, each with a count, the time of the last
//! one, and where the last came from: its source file and the program that started it),
//! written under the stats lock, by those compiles only. `stats` and `doctor`, run in a
//! project, show those that ran around that project's last build (within `NEAR` of its
//! last recorded compile), not every project's neighbours: if they belong to the build (a
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

/// How close to a project's last recorded compile an outside compile must be to be
/// shown with that project: a build's compiles run within minutes of each other.
pub(crate) const NEAR: u64 = 600;

/// One directory compiles ran in outside any project.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Outside {
    pub dir: PathBuf,
    pub count: u64,
    /// Unix seconds of the last one.
    pub last: u64,
    /// The last one's source file, when it named one.
    pub source: Option<PathBuf>,
    /// The name of the program that started the last one (`make`, `build-script-build`).
    pub parent: Option<String>,
}

/// Where one compile outside any project came from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin {
    pub source: Option<PathBuf>,
    pub parent: Option<String>,
}

impl Origin {
    /// The source (absolute) and the parent process's name, read for a compile that
    /// found no project only (one `/proc` read, off every project's path).
    pub(crate) fn of(cwd: &Path, source: Option<&std::ffi::OsStr>) -> Origin {
        // SAFETY: getppid has no preconditions.
        let ppid = unsafe { libc::getppid() };
        let parent = std::fs::read_to_string(format!("/proc/{ppid}/comm"))
            .ok()
            .map(|s| s.trim_end().to_string())
            .filter(|s| !s.is_empty());
        Origin {
            source: source.map(|s| cwd.join(s)),
            parent,
        }
    }
}

/// A field of a sidecar line: no tab or newline (the separators), else left out.
fn field(s: &str) -> Option<&str> {
    (!s.is_empty() && !s.contains(['\t', '\n'])).then_some(s)
}

/// The sidecar of a stats file.
pub(crate) fn path_for(stats: &Path) -> PathBuf {
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
            // `DIR`, then (since the origin is kept) `\tSOURCE\tPARENT`, either empty.
            let mut rest = it.next()?.split('\t');
            let dir = PathBuf::from(rest.next()?);
            let source = rest.next().and_then(field).map(PathBuf::from);
            let parent = rest.next().and_then(field).map(str::to_string);
            Some(Outside {
                dir,
                count,
                last,
                source,
                parent,
            })
        })
        .collect()
}

/// Every directory recorded next to `stats`, newest first.
pub(crate) fn read(stats: &Path) -> Vec<Outside> {
    private::read_own(&path_for(stats))
        .map(|b| parse(&String::from_utf8_lossy(&b)))
        .unwrap_or_default()
}

/// Those that ran within `NEAR` of the last compile recorded in the project's stats
/// file `project` (its modification time): none when it has recorded nothing yet.
pub(crate) fn near(stats: &Path, project: &Path) -> Vec<Outside> {
    let Some(at) = std::fs::metadata(project)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
    else {
        return Vec::new();
    };
    read(stats)
        .into_iter()
        .filter(|o| o.last.abs_diff(at) <= NEAR)
        .collect()
}

/// Note one compile in `dir` (called under the stats lock).
pub(crate) fn note(stats: &Path, dir: &Path, origin: Origin) -> io::Result<()> {
    note_at(stats, dir, origin, super::now_secs())
}

/// [`note`] at the time `now`. The file is kept in the order of noting, newest first: the
/// directory just noted goes to the front and the oldest fall off the end. Timestamps are
/// whole seconds, so ordering by them would let a directory noted in the same second as
/// the others drop out at once.
fn note_at(stats: &Path, dir: &Path, origin: Origin, now: u64) -> io::Result<()> {
    let mut all = read(stats);
    let mut this = match all.iter().position(|o| o.dir == dir) {
        Some(i) => all.remove(i),
        None => Outside {
            dir: dir.to_path_buf(),
            ..Outside::default()
        },
    };
    this.count += 1;
    this.last = now;
    this.source = origin.source;
    this.parent = origin.parent;
    all.insert(0, this);
    all.truncate(KEEP);
    let mut text = String::new();
    for o in &all {
        // A directory name with a newline would break the line format: left out.
        let d = o.dir.to_string_lossy();
        if d.contains(['\n', '\t']) {
            continue;
        }
        let src = o.source.as_ref().map(|s| s.to_string_lossy().into_owned());
        let src = src.as_deref().and_then(field).unwrap_or("");
        let parent = o.parent.as_deref().and_then(field).unwrap_or("");
        text.push_str(&format!("{} {} {d}\t{src}\t{parent}\n", o.last, o.count));
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
pub(crate) fn advice(found: &[Outside]) -> Option<String> {
    let total: u64 = found.iter().map(|o| o.count).sum();
    let first = found.first()?;
    let mut from = String::new();
    if let Some(s) = &first.source {
        from.push_str(&format!(", compiling {}", s.display()));
    }
    if let Some(p) = &first.parent {
        from.push_str(&format!(", started by `{p}`"));
    }
    Some(format!(
        "{total} compile(s) around this project's last build ran outside any project (no {} found from their directories; the last in {}{from}) and went to default.stats with the default settings; if they belong to this project's build, pin its configuration for the whole build: `toolchainkit run -- BUILD COMMAND`",
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
        // Ten directories noted twice each, then /build/1 once more, with its origin.
        for i in 0..20u64 {
            let d = format!("/build/{}", i % 10);
            note_at(&stats, Path::new(&d), Origin::default(), 1000 + i).expect("note");
        }
        let origin = Origin {
            source: Some("/build/1/x.c".into()),
            parent: Some("make".into()),
        };
        note_at(&stats, Path::new("/build/1"), origin, 2000).expect("note");
        let all = read(&stats);
        assert_eq!(all.len(), 10);
        assert_eq!(all[0].dir, Path::new("/build/1"));
        assert_eq!((all[0].count, all[0].last), (3, 2000));
        assert_eq!(all[0].source.as_deref(), Some(Path::new("/build/1/x.c")));
        assert_eq!(all[0].parent.as_deref(), Some("make"));
        let a = advice(&all).unwrap_or_default();
        assert!(
            a.contains("the last in /build/1, compiling /build/1/x.c, started by `make`)"),
            "{a}"
        );
        // Eight new ones: the two least recently noted (/build/0 at 1010, /build/2 at 1012)
        // fall off.
        for i in 0..8u64 {
            let d = format!("/new/{i}");
            note_at(&stats, Path::new(&d), Origin::default(), 3000 + i).expect("note");
        }
        let all = read(&stats);
        assert_eq!(all.len(), KEEP);
        assert_eq!(all[0].dir, Path::new("/new/7"));
        assert!(!all.iter().any(|o| o.dir == Path::new("/build/0")));
        assert!(!all.iter().any(|o| o.dir == Path::new("/build/2")));
        assert!(all.iter().any(|o| o.dir == Path::new("/build/3")));
        assert!(advice(&all).is_some_and(|a| a.contains("compile(s)")));
        // A line of the format before the origin was kept still reads.
        assert_eq!(parse("5 2 /a b")[0].dir, Path::new("/a b"));
        assert_eq!(advice(&[]), None);
    }

    #[test]
    fn a_directory_noted_in_the_same_second_as_the_others_is_kept() {
        let t = tempfile::tempdir().expect("tempdir");
        let stats = t.path().join("default.stats");
        for i in 0..KEEP {
            let d = format!("/build/{i}");
            note_at(&stats, Path::new(&d), Origin::default(), 5000).expect("note");
        }
        note_at(&stats, Path::new("/new"), Origin::default(), 5000).expect("note");
        let all = read(&stats);
        assert_eq!(all.len(), KEEP);
        assert_eq!(all[0].dir, Path::new("/new"));
        assert!(!all.iter().any(|o| o.dir == Path::new("/build/0")));
    }
}
