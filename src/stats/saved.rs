//! "Time saved": what the hits would have cost as misses, and on what that estimate rests.
//!
//! Per compile where it can be keyed cheaply: with the build trace on (`[stats] trace`),
//! each hit is compared with the last recorded miss of the same compile (same compiler,
//! source and output names) anywhere in the trace, across `stats --zero`. Every other
//! hit is valued at the average miss time: of the counters shown, else of the project's
//! counters, else the one recorded before the last `stats --zero`. With hits but no miss
//! time anywhere, the estimate says so instead of disappearing. Nothing here runs on the
//! compile path: the shim only counts.

use std::collections::HashMap;
use std::path::Path;

use super::trace::{Event, timeline};
use super::{Bucket, Stats};

/// The hits that could be matched with a recorded miss of the same compile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Matched {
    pub hits: u64,
    /// Sum over those hits of (miss time − hit time), never below 0 for one compile.
    pub saved_nanos: u64,
    /// Their summed hit time (to take them out of the average for the rest).
    pub hit_nanos: u64,
}

/// A miss time to value unmatched hits at, and what it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MissTimes<'a> {
    pub misses: Bucket,
    /// "this build's", "the project's", ...: how the estimate names it.
    pub whose: &'a str,
}

/// The estimate and its basis.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Saved {
    pub hits: u64,
    /// `None`: hits, but no miss time to compare them with.
    pub secs: Option<f64>,
    /// Machine-readable basis: `per_compile`, `per_compile_and_average`, `average`,
    /// `no_miss_recorded`, `no_hits`.
    pub basis: &'static str,
    /// The same for people: "3 of 4 hits from the same compile's recorded miss, ...".
    pub how: String,
}

/// Time saved by the hits of `s` (the counters of the stats file at `path`): per compile
/// from the trace where it can, else at the project's average miss time (see [`estimate`]).
pub(crate) fn of_file(s: &Stats, path: &Path) -> Saved {
    let matched = match_trace(path, s.since.saturating_mul(1_000_000));
    let earlier = super::mark::load_history(path)
        .map(|h| h.misses)
        .unwrap_or_default();
    estimate(
        s.sum("hit."),
        matched,
        &[
            MissTimes {
                misses: s.sum("miss"),
                whose: "the project's",
            },
            MissTimes {
                misses: earlier,
                whose: "the project's (before the last `stats --zero`)",
            },
        ],
    )
}

/// Value `hits` (the bucket shown) with what is known (pure).
pub(crate) fn estimate(hits: Bucket, matched: Matched, averages: &[MissTimes<'_>]) -> Saved {
    if hits.count == 0 {
        return Saved {
            hits: 0,
            secs: Some(0.0),
            basis: "no_hits",
            how: "no hits".into(),
        };
    }
    let matched_hits = matched.hits.min(hits.count);
    let rest = hits.count - matched_hits;
    let per_compile = matched.saved_nanos as f64 / 1e9;
    if rest == 0 {
        return Saved {
            hits: hits.count,
            secs: Some(per_compile),
            basis: "per_compile",
            how: format!(
                "each of the {} hits against the recorded miss of the same compile",
                hits.count
            ),
        };
    }
    let avg = averages.iter().find(|a| a.misses.count > 0);
    let Some(avg) = avg else {
        return Saved {
            hits: hits.count,
            secs: (matched_hits > 0).then_some(per_compile),
            basis: "no_miss_recorded",
            how: if matched_hits > 0 {
                format!(
                    "{matched_hits} of {} hits against the recorded miss of the same compile; no miss time recorded to value the other {rest}",
                    hits.count
                )
            } else {
                format!(
                    "unknown: {} hits, but no miss has been recorded to compare them with (zeroed after the cache was filled? `[stats] trace = true` keeps each compile's miss time)",
                    hits.count
                )
            },
        };
    };
    let miss_avg = avg.misses.nanos as f64 / avg.misses.count as f64;
    let rest_hit_nanos = hits.nanos.saturating_sub(matched.hit_nanos);
    let hit_avg = rest_hit_nanos as f64 / rest as f64;
    let by_average = (rest as f64 * (miss_avg - hit_avg) / 1e9).max(0.0);
    let average_words = format!(
        "{} average miss time ({:.0} ms over {} misses)",
        avg.whose,
        miss_avg / 1e6,
        avg.misses.count
    );
    if matched_hits == 0 {
        Saved {
            hits: hits.count,
            secs: Some(by_average),
            basis: "average",
            how: format!("hits x (avg miss - avg hit), with {average_words}"),
        }
    } else {
        Saved {
            hits: hits.count,
            secs: Some(per_compile + by_average),
            basis: "per_compile_and_average",
            how: format!(
                "{matched_hits} of {} hits against the recorded miss of the same compile, {rest} at {average_words}",
                hits.count
            ),
        }
    }
}

/// Match hits that started at or after `since_us` with the last miss of the same
/// compile before them (pure; `events` in any order).
pub(crate) fn match_events(events: &[Event], since_us: u64) -> Matched {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by_key(|e| e.start_us);
    let mut last_miss: HashMap<(&str, Option<&str>, Option<&str>), u64> = HashMap::new();
    let mut m = Matched::default();
    for e in sorted {
        let key = (
            e.compiler.as_str(),
            e.source.as_deref(),
            e.output.as_deref(),
        );
        match timeline::Class::of(&e.outcome) {
            timeline::Class::Miss if e.exit == 0 => {
                last_miss.insert(key, e.dur_us);
            }
            timeline::Class::Hit if e.start_us >= since_us => {
                if let Some(miss_us) = last_miss.get(&key) {
                    m.hits += 1;
                    m.saved_nanos += miss_us.saturating_sub(e.dur_us) * 1000;
                    m.hit_nanos += e.dur_us * 1000;
                }
            }
            _ => {}
        }
    }
    m
}

/// `match_events` over the trace next to the stats file at `stats` (and its rotated
/// half); nothing matched when there is no trace.
pub(crate) fn match_trace(stats: &Path, since_us: u64) -> Matched {
    match super::trace::read_events(stats) {
        Some(events) => match_events(&events, since_us),
        None => Matched::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(count: u64, ms: u64) -> Bucket {
        Bucket {
            count,
            nanos: ms * 1_000_000,
        }
    }

    #[test]
    fn average_per_compile_and_nothing_to_compare_with() {
        let project = [MissTimes {
            misses: b(2, 2000),
            whose: "the project's",
        }];
        // 4 hits of 10 ms against misses of 1000 ms on average: 4 x 990 ms.
        let s = estimate(b(4, 40), Matched::default(), &project);
        assert_eq!(
            (s.basis, s.secs.map(|x| (x * 1000.0).round())),
            ("average", Some(3960.0))
        );
        assert!(
            s.how
                .contains("the project's average miss time (1000 ms over 2 misses)"),
            "{}",
            s.how
        );
        // All matched from the trace.
        let all = Matched {
            hits: 4,
            saved_nanos: 3_000_000_000,
            hit_nanos: 40_000_000,
        };
        let s = estimate(b(4, 40), all, &project);
        assert_eq!((s.basis, s.secs), ("per_compile", Some(3.0)));
        // Half matched, half at the average.
        let half = Matched {
            hits: 2,
            saved_nanos: 1_000_000_000,
            hit_nanos: 20_000_000,
        };
        let s = estimate(b(4, 40), half, &project);
        assert_eq!(s.basis, "per_compile_and_average");
        assert_eq!(s.secs.map(|x| (x * 1000.0).round()), Some(2980.0));
        // Hits, no miss anywhere: said, not hidden.
        let s = estimate(b(4, 40), Matched::default(), &[]);
        assert_eq!((s.basis, s.secs), ("no_miss_recorded", None));
        assert!(s.how.starts_with("unknown: 4 hits"), "{}", s.how);
        // The first average with misses is used.
        let two = [
            MissTimes {
                misses: b(0, 0),
                whose: "this build's",
            },
            MissTimes {
                misses: b(1, 500),
                whose: "the project's",
            },
        ];
        assert!(
            estimate(b(1, 10), Matched::default(), &two)
                .how
                .contains("the project's")
        );
        assert_eq!(estimate(b(0, 0), Matched::default(), &[]).secs, Some(0.0));
    }

    #[test]
    fn hits_match_the_last_miss_of_the_same_compile() {
        let ev = |start: u64, dur: u64, outcome: &str, src: &str| Event {
            start_us: start,
            dur_us: dur,
            pid: 1,
            compiler: "/usr/bin/gcc".into(),
            outcome: outcome.into(),
            exit: 0,
            source: Some(src.into()),
            output: Some(format!("{src}.o")),
            cause: None,
            verify: None,
        };
        let events = vec![
            ev(300, 10, "hit.direct.local", "a.c"),
            ev(100, 900, "miss", "a.c"),
            ev(200, 500, "miss", "b.c"),
            ev(400, 20, "hit.direct.local", "b.c"),
            ev(500, 20, "hit.direct.local", "c.c"),
            ev(50, 20, "hit.direct.local", "a.c"),
        ];
        let m = match_events(&events, 0);
        assert_eq!(m.hits, 2);
        assert_eq!(m.saved_nanos, (890 + 480) * 1000);
        assert_eq!(m.hit_nanos, 30 * 1000);
        // Only hits at or after `since` count; misses before it still serve.
        let m = match_events(&events, 350);
        assert_eq!((m.hits, m.saved_nanos), (1, 480 * 1000));
    }
}
