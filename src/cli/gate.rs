//! CI gates on one build (`stats --since-mark --require-hit-rate PCT`, `--fail-on-miss`):
//! a reproducibility job fails when a clean rebuild is not all hits, a cached job when its
//! hit rate drops. A failed gate prints the missed objects (with their causes, where the
//! stats hold them) to stderr and exits `EXIT_GATE`.

use std::path::Path;

use super::stats::Build;
use crate::stats::trace::{Event, timeline};

/// The exit code of a failed gate: not 1 (an error of the command), 2 (usage) or 78 (an
/// invalid configuration).
pub const EXIT_GATE: i32 = 3;

/// The gates asked for.
#[derive(Debug, Clone, Default)]
pub struct Gates {
    pub require_hit_rate: Option<f64>,
    pub fail_on_miss: bool,
}

/// One compile of the build that missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    /// The object (else the source, else the compiler).
    pub object: String,
    /// Why it missed, when the stats explain it.
    pub cause: Option<String>,
}

/// The compiles of the build that missed: from the trace (the events since the build's
/// start), each with the cause the miss explanation recorded on its event (`header`,
/// `args`, ...: `toolchainkit explain OBJECT` says more). The one place that joins misses
/// to their explanation.
pub fn missed(events: &[Event], from_us: u64) -> Vec<Missed> {
    let mut out: Vec<Missed> = events
        .iter()
        .filter(|e| {
            e.start_us >= from_us && timeline::Class::of(&e.outcome) == timeline::Class::Miss
        })
        .map(|e| Missed {
            object: e.output.clone().unwrap_or_else(|| e.label().to_string()),
            cause: e.cause.clone(),
        })
        .collect();
    out.sort_by(|a, b| a.object.cmp(&b.object));
    out.dedup();
    out
}

/// The missed compiles of `b`, or why they cannot be named.
pub fn missed_of(b: &Build, path: &Path) -> Result<Vec<Missed>, String> {
    match crate::stats::trace::read_events(path) {
        Some(events) => Ok(missed(&events, b.from_us)),
        None => Err(
            "the objects are not known: no build trace (set `[stats] trace = true` or TOOLCHAINKIT_TRACE=1; the CI action does)"
                .into(),
        ),
    }
}

/// Why the gates fail for these counters, if they do (pure).
pub fn failures(g: &Gates, hits: u64, misses: u64, rate: Option<f64>) -> Vec<String> {
    let mut out = Vec::new();
    if g.fail_on_miss && misses > 0 {
        out.push(format!(
            "{misses} miss(es) where every compile had to hit (--fail-on-miss)"
        ));
    }
    if let Some(want) = g.require_hit_rate {
        match rate {
            Some(r) if r + 1e-9 >= want => {}
            Some(r) => out.push(format!(
                "hit rate {r:.1} % is below the required {want:.1} % ({hits} hits, {misses} misses)"
            )),
            None => out.push(format!(
                "no hits or misses were counted, so the required hit rate of {want:.1} % is not met"
            )),
        }
    }
    out
}

/// Check the gates on one build: print what failed and the missed objects to stderr;
/// the exit code.
pub fn check(g: &Gates, b: &Build, path: &Path) -> i32 {
    let hits = b.w.sum("hit.").count;
    let misses = b.w.sum("miss").count;
    let fails = failures(g, hits, misses, super::stats::hit_rate(&b.w));
    if fails.is_empty() {
        return 0;
    }
    for f in &fails {
        eprintln!("toolchainkit: gate failed: {f}");
    }
    match missed_of(b, path) {
        Ok(list) if !list.is_empty() => {
            eprintln!("missed:");
            for m in list {
                match m.cause {
                    Some(c) => eprintln!("  {} ({c})", m.object),
                    None => eprintln!("  {}", m.object),
                }
            }
        }
        Ok(_) => {}
        Err(why) => eprintln!("note: {why}"),
    }
    EXIT_GATE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(start: u64, outcome: &str, out: &str) -> Event {
        Event {
            start_us: start,
            dur_us: 5,
            pid: 1,
            compiler: "gcc".into(),
            outcome: outcome.into(),
            exit: 0,
            source: Some(format!("{out}.c")),
            output: Some(out.into()),
            cause: None,
            verify: None,
        }
    }

    #[test]
    fn gates_fail_on_a_miss_or_a_low_hit_rate_only_when_asked() {
        let none = Gates::default();
        assert!(failures(&none, 0, 5, Some(0.0)).is_empty());
        let strict = Gates {
            require_hit_rate: None,
            fail_on_miss: true,
        };
        assert!(failures(&strict, 3, 0, Some(100.0)).is_empty());
        assert_eq!(failures(&strict, 3, 1, Some(75.0)).len(), 1);
        let rate = Gates {
            require_hit_rate: Some(80.0),
            fail_on_miss: false,
        };
        assert!(failures(&rate, 4, 1, Some(80.0)).is_empty());
        assert!(failures(&rate, 3, 1, Some(75.0))[0].contains("below the required 80.0 %"));
        assert_eq!(failures(&rate, 0, 0, None).len(), 1);
    }

    #[test]
    fn missed_objects_come_from_the_build_with_causes_when_the_stats_have_them() {
        let events = [
            ev(1, "miss", "old.o"),
            ev(10, "hit.direct.local", "a.o"),
            ev(11, "miss", "b.o"),
            ev(12, "miss.remote_error", "c.o"),
        ];
        let plain = missed(&events, 10);
        assert_eq!(
            plain,
            [
                Missed {
                    object: "b.o".into(),
                    cause: None
                },
                Missed {
                    object: "c.o".into(),
                    cause: None
                },
            ]
        );
        let mut explained = events.to_vec();
        explained[2].cause = Some("source".into());
        assert_eq!(missed(&explained, 10)[0].cause.as_deref(), Some("source"));
    }
}
