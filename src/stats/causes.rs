//! Why compiles ran degraded: the cause of each kind of degradation, next to the stats
//! file. A fallback (`fallback.ccache_failed`: "ccache: error: Read-only file system"), a
//! remote left out because its secret's variable is unset, an sccache server running
//! without its remote: the counters say *that* it happened, this says *why*, for `stats`,
//! `stats --json` (`notices`, `degraded`), `stats --since-mark` and `doctor`.
//!
//! The compile path notes a cause where it decides (`note`, a process-wide list, empty
//! and untouched on a healthy compile); `invoke::record` writes what was noted into
//! `STATS.causes` under the stats lock: one line per kind, `KIND\tCOUNT\tLAST\tCAUSE`,
//! the count of compiles, the last time (Unix seconds) and the last cause. Nothing is
//! written for a compile that noted nothing, so a cache hit costs nothing more.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::private;

/// The causes noted by this compile, not yet written.
static NOTED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// How many kinds are kept (the most recent).
const KEEP: usize = 32;
/// The longest cause kept, in bytes (a tool's whole stderr is not).
const MAX_CAUSE: usize = 400;

/// One kind of degradation: how many compiles, the last time and its cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cause {
    /// `fallback.ccache_failed`, `remote.secret_unset`, `sccache.local_only`, ...
    pub kind: String,
    pub count: u64,
    /// Unix seconds of the last one.
    pub last: u64,
    pub cause: String,
}

/// Note that this compile ran degraded, and why (a secret's value never: callers name
/// variables, not their contents).
pub(crate) fn note(kind: &str, cause: impl Into<String>) {
    if let Ok(mut v) = NOTED.lock() {
        v.push((kind.to_string(), cause.into()));
    }
}

/// What this compile noted (and forget it).
pub(crate) fn take() -> Vec<(String, String)> {
    NOTED
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default()
}

/// The sidecar of a stats file.
pub(crate) fn path_for(stats: &Path) -> PathBuf {
    let mut s = stats.as_os_str().to_os_string();
    s.push(".causes");
    PathBuf::from(s)
}

/// One line's text: one line, no tab, at most `MAX_CAUSE` bytes.
fn clean(s: &str) -> String {
    let mut out: String = s
        .trim()
        .chars()
        .map(|c| if c == '\t' || c.is_control() { ' ' } else { c })
        .collect();
    if out.len() > MAX_CAUSE {
        let mut end = MAX_CAUSE;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push_str("...");
    }
    out
}

fn parse(text: &str) -> Vec<Cause> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(4, '\t');
            Some(Cause {
                kind: it.next()?.to_string(),
                count: it.next()?.parse().ok()?,
                last: it.next()?.parse().ok()?,
                cause: it.next()?.to_string(),
            })
        })
        .collect()
}

/// Every kind recorded next to `stats`, the most recent first.
pub(crate) fn read(stats: &Path) -> Vec<Cause> {
    private::read_own(&path_for(stats))
        .map(|b| parse(&String::from_utf8_lossy(&b)))
        .unwrap_or_default()
}

/// Those whose last compile was at or after `since` (Unix seconds).
pub(crate) fn since(stats: &Path, since: u64) -> Vec<Cause> {
    read(stats)
        .into_iter()
        .filter(|c| c.last >= since)
        .collect()
}

/// Add what one compile noted (called under the stats lock).
pub(crate) fn record(stats: &Path, noted: &[(String, String)]) -> io::Result<()> {
    if noted.is_empty() {
        return Ok(());
    }
    let mut all = read(stats);
    let now = super::now_secs();
    for (kind, cause) in noted {
        let count = match all.iter().position(|c| &c.kind == kind) {
            Some(i) => all.remove(i).count + 1,
            None => 1,
        };
        all.insert(
            0,
            Cause {
                kind: clean(kind),
                count,
                last: now,
                cause: clean(cause),
            },
        );
    }
    all.truncate(KEEP);
    let text: String = all
        .iter()
        .map(|c| format!("{}\t{}\t{}\t{}\n", c.kind, c.count, c.last, c.cause))
        .collect();
    let side = path_for(stats);
    let dir = side.parent().unwrap_or(Path::new("."));
    let (mut f, tmp) = private::create_unique(dir, ".causes.tmp")?;
    let r = f
        .write_all(text.as_bytes())
        .and_then(|()| std::fs::rename(&tmp, &side));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Forget every cause (`stats --zero`).
pub(crate) fn clear(stats: &Path) {
    let _ = std::fs::remove_file(path_for(stats));
}

/// One line for people: `KIND: CAUSE (N compile(s), the last at TIME UTC)`.
pub(crate) fn describe(c: &Cause) -> String {
    format!(
        "{}: {} ({} compile(s), the last at {} UTC)",
        c.kind,
        c.cause,
        c.count,
        super::trace::timeline::format_utc(c.last)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_cause_and_count_per_kind() {
        let t = tempfile::tempdir().expect("tempdir");
        let stats = t.path().join("p.stats");
        record(&stats, &[]).expect("nothing");
        assert!(!path_for(&stats).exists(), "nothing noted, nothing written");
        let one = |k: &str, c: &str| vec![(k.to_string(), c.to_string())];
        record(&stats, &one("fallback.ccache_failed", "first")).expect("record");
        record(&stats, &one("remote.secret_unset", "TK_PW\tis\nunset")).expect("record");
        record(
            &stats,
            &one("fallback.ccache_failed", "Read-only file system"),
        )
        .expect("r");
        let all = read(&stats);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].kind, "fallback.ccache_failed");
        assert_eq!(
            (all[0].count, all[0].cause.as_str()),
            (2, "Read-only file system")
        );
        assert_eq!(all[1].cause, "TK_PW is unset");
        assert!(describe(&all[0]).starts_with(
            "fallback.ccache_failed: Read-only file system (2 compile(s), the last at "
        ));
        assert_eq!(since(&stats, all[0].last + 1), vec![]);
        clear(&stats);
        assert!(read(&stats).is_empty());
        note("x", "y");
        assert_eq!(take(), vec![("x".to_string(), "y".to_string())]);
        assert!(take().is_empty());
    }
}
