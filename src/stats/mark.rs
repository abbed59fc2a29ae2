//! Snapshots of the counters kept beside a stats file: the marker of `stats --mark` (a
//! CI job marks before its build and prints `stats --since-mark` after it) and the
//! history of `stats --zero` (the miss and hit times counted before the last zero, so
//! "time saved" still has a miss time to compare a fully cached rebuild with).
//!
//! Both are small JSON files written by the management CLI only (never on the compile
//! path), replaced atomically, private to the user like the stats file. A missing or
//! unreadable snapshot is treated as absent: it never makes `stats` fail.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Bucket, Stats};
use crate::private::{self, Access};

/// `FILE.mark`: the counters when `stats --mark` ran.
pub(crate) fn mark_path(stats: &Path) -> PathBuf {
    super::sidecar(stats, ".mark")
}

/// `FILE.history`: the counters zeroed by `stats --zero`, summed over every zero.
pub(crate) fn history_path(stats: &Path) -> PathBuf {
    super::sidecar(stats, ".history")
}

/// The counters at the moment of `stats --mark`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Mark {
    /// Unix microseconds when the mark was taken.
    pub marked_at_us: u64,
    pub stats: Stats,
}

/// What `stats --zero` removed, summed over every zero: the miss and hit times are what
/// "time saved" falls back on when no miss has been counted since.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct History {
    pub zeros: u64,
    /// Unix seconds of the last zero.
    pub last_zero: u64,
    pub misses: Bucket,
    pub hits: Bucket,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let f = private::open_own(path, Access::Read).ok()?;
    let mut bytes = Vec::new();
    // A mark is a stats record and a timestamp: larger is not ours and is not read.
    f.take(super::format::MAX_FILE)
        .read_to_end(&mut bytes)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    super::prepare_dir(path)?;
    let bytes = serde_json::to_vec(value).map_err(io::Error::other)?;
    super::write_atomic(path, &bytes)
}

pub(crate) fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Remember `current` as the mark of the stats file at `stats`.
pub(crate) fn save_mark(stats: &Path, current: &Stats) -> io::Result<Mark> {
    let mut snapshot = current.clone();
    snapshot.notices.clear();
    let mark = Mark {
        marked_at_us: now_us(),
        stats: snapshot,
    };
    write_json(&mark_path(stats), &mark)?;
    Ok(mark)
}

pub(crate) fn load_mark(stats: &Path) -> Option<Mark> {
    read_json(&mark_path(stats))
}

pub(crate) fn load_history(stats: &Path) -> Option<History> {
    read_json(&history_path(stats))
}

/// Add the counters about to be zeroed to the history.
pub(crate) fn remember_zeroed(stats: &Path, zeroed: &Stats) -> io::Result<()> {
    let mut h = load_history(stats).unwrap_or_default();
    let add = |a: &mut Bucket, b: Bucket| {
        a.count = a.count.saturating_add(b.count);
        a.nanos = a.nanos.saturating_add(b.nanos);
    };
    add(&mut h.misses, zeroed.sum("miss"));
    add(&mut h.hits, zeroed.sum("hit."));
    h.zeros += 1;
    h.last_zero = super::now_secs();
    write_json(&history_path(stats), &h)
}

/// How the counters since a mark were obtained (each variant says how it relates to the
/// mark, hence the shared word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
pub(crate) enum Window {
    /// Current counters minus the mark's.
    SinceMark,
    /// The counters were zeroed (or restarted) after the mark: everything since then.
    ZeroedAfterMark,
    /// No mark: everything since counting started.
    NoMark,
}

/// The counters added since `mark` (pure). When the counters restarted after a mark
/// that held any (`stats --zero`, a corrupt file moved aside: another `since`, or a
/// count that went down) the current counters are the window.
pub(crate) fn since(current: &Stats, mark: Option<&Stats>) -> (Stats, Window) {
    let Some(mark) = mark else {
        return (current.clone(), Window::NoMark);
    };
    // An empty mark (taken before the first compile created the file) has nothing to
    // subtract: everything counted since is the window.
    let restarted = mark.invocations > 0 && current.since != mark.since
        || current.invocations < mark.invocations
        || mark.outcomes.iter().any(|(k, b)| {
            current
                .outcomes
                .get(k)
                .is_none_or(|c| c.count < b.count || c.nanos < b.nanos)
        });
    if restarted {
        return (current.clone(), Window::ZeroedAfterMark);
    }
    let mut out = Stats {
        since: current.since,
        invocations: current.invocations - mark.invocations,
        late_records: current.late_records.saturating_sub(mark.late_records),
        ..Stats::default()
    };
    for (k, c) in &current.outcomes {
        let m = mark.outcomes.get(k).copied().unwrap_or_default();
        let d = Bucket {
            count: c.count - m.count,
            nanos: c.nanos - m.nanos,
        };
        if d.count > 0 {
            out.outcomes.insert(k.clone(), d);
        }
    }
    for (c, n) in &current.causes {
        let d = n.saturating_sub(mark.causes.get(c).copied().unwrap_or(0));
        if d > 0 {
            out.causes.insert(c.clone(), d);
        }
    }
    (out, Window::SinceMark)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(since: u64, items: &[(&str, u64, u64)]) -> Stats {
        let mut s = Stats {
            since,
            ..Stats::default()
        };
        for (k, c, n) in items {
            s.invocations += c;
            s.outcomes.insert(
                (*k).to_string(),
                Bucket {
                    count: *c,
                    nanos: *n,
                },
            );
        }
        s
    }

    #[test]
    fn window_since_a_mark() {
        let mark = stats(10, &[("miss", 2, 200), ("hit.direct.local", 1, 5)]);
        let now = stats(
            10,
            &[
                ("miss", 3, 300),
                ("hit.direct.local", 5, 25),
                ("uncacheable.called_for_link", 1, 7),
            ],
        );
        let (w, how) = since(&now, Some(&mark));
        assert_eq!(how, Window::SinceMark);
        assert_eq!(w.invocations, 6);
        assert_eq!(
            w.sum("miss"),
            Bucket {
                count: 1,
                nanos: 100
            }
        );
        assert_eq!(
            w.sum("hit."),
            Bucket {
                count: 4,
                nanos: 20
            }
        );
        assert_eq!(w.sum("uncacheable.").count, 1);
        // Zeroed after the mark: a new `since`, or fewer counts.
        let zeroed = stats(20, &[("hit.direct.local", 2, 10)]);
        assert_eq!(
            since(&zeroed, Some(&mark)).1,
            Window::ZeroedAfterMark,
            "later since"
        );
        let fewer = stats(10, &[("hit.direct.local", 2, 10)]);
        let (w, how) = since(&fewer, Some(&mark));
        assert_eq!((how, w.invocations), (Window::ZeroedAfterMark, 2));
        // A mark taken before any compile: everything since is the window.
        let (w, how) = since(&now, Some(&stats(5, &[])));
        assert_eq!((how, w.invocations), (Window::SinceMark, 9));
        assert_eq!(since(&now, None).1, Window::NoMark);
    }

    #[test]
    fn history_and_marks_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("p.stats");
        assert!(load_mark(&file).is_none() && load_history(&file).is_none());
        let s = stats(10, &[("miss", 2, 200), ("hit.direct.local", 1, 5)]);
        let m = save_mark(&file, &s).expect("mark");
        assert_eq!(load_mark(&file), Some(m));
        remember_zeroed(&file, &s).expect("history");
        remember_zeroed(&file, &s).expect("history");
        let h = load_history(&file).expect("history");
        assert_eq!(h.zeros, 2);
        assert_eq!(
            h.misses,
            Bucket {
                count: 4,
                nanos: 400
            }
        );
        assert_eq!(h.hits.count, 2);
    }
}
