//! From trace lines to a timeline a person can read: which build to show, lanes reused
//! like a `-j` build, outcome classes and their colours, and Chrome trace-event JSON.
//!
//! - **A build** is a run of invocations with no idle gap longer than `gap` between them:
//!   an invocation that starts more than `gap` after every earlier one has ended begins a
//!   new build (10 s by default; `trace --gap`). `--last-build` picks the last one,
//!   `--since TIME` drops invocations that started before TIME; both can be combined.
//! - **Lanes** are assigned the way ninjatracing lays out a ninja log: invocations sorted by
//!   start, each put on the lowest-numbered lane whose previous invocation has ended. The
//!   number of lanes is the build's peak parallelism, not the number of processes.
//! - **Outcome classes** group the stats keys (`hit.direct.local` -> hit, `miss.remote_error`
//!   -> miss, ...). Chrome's legacy viewer colours by `cname` (one of its reserved colour
//!   names); Perfetto ignores `cname` and colours by slice name, so the class is also the
//!   first word of each slice's name and its category.

use std::ops::Range;

use super::Event;

/// What an invocation's outcome key means for the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Class {
    Hit,
    Miss,
    Uncacheable,
    Forwarded,
    Fallback,
    Error,
    Other,
}

impl Class {
    pub(crate) const ALL: [Class; 7] = [
        Class::Hit,
        Class::Miss,
        Class::Uncacheable,
        Class::Forwarded,
        Class::Fallback,
        Class::Error,
        Class::Other,
    ];

    /// The class of a stats outcome key.
    pub(crate) fn of(outcome: &str) -> Class {
        let head = outcome.split('.').next().unwrap_or("");
        match head {
            "hit" => Class::Hit,
            "miss" => Class::Miss,
            "uncacheable" => Class::Uncacheable,
            "forwarded" => Class::Forwarded,
            "fallback" => Class::Fallback,
            "error" => Class::Error,
            _ => Class::Other,
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Class::Hit => "hit",
            Class::Miss => "miss",
            Class::Uncacheable => "uncacheable",
            Class::Forwarded => "forwarded",
            Class::Fallback => "fallback",
            Class::Error => "error",
            Class::Other => "other",
        }
    }

    /// The legend's explanation.
    pub(crate) fn meaning(self) -> &'static str {
        match self {
            Class::Hit => "served from the cache",
            Class::Miss => "compiled and stored",
            Class::Uncacheable => "compiled, cannot be cached (link, preprocess, ...)",
            Class::Forwarded => "given to sccache, which reports no per-compile result",
            Class::Fallback => "the real compiler ran without a cache",
            Class::Error => "the cache tool reported an error",
            Class::Other => "unknown outcome",
        }
    }

    /// A reserved colour name of Chrome's trace viewer (`cname`).
    pub(crate) fn cname(self) -> &'static str {
        match self {
            Class::Hit => "good",
            Class::Miss => "terrible",
            Class::Uncacheable => "bad",
            Class::Forwarded => "generic_work",
            Class::Fallback => "grey",
            Class::Error => "black",
            Class::Other => "olive",
        }
    }

    /// The fill colour in the SVG and HTML pictures.
    pub(crate) fn color(self) -> &'static str {
        match self {
            Class::Hit => "#2f9e44",
            Class::Miss => "#e03131",
            Class::Uncacheable => "#f08c00",
            Class::Forwarded => "#1c7ed6",
            Class::Fallback => "#868e96",
            Class::Error => "#862e9c",
            Class::Other => "#495057",
        }
    }
}

/// Parse trace lines (older lines included); returns the events and how many lines
/// could not be read.
pub(crate) fn parse(text: &str) -> (Vec<Event>, usize) {
    let mut events = Vec::new();
    let mut bad = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Event>(line) {
            Ok(ev) => events.push(ev),
            Err(_) => bad += 1,
        }
    }
    events.sort_by_key(|e| (e.start_us, e.end_us()));
    (events, bad)
}

/// The builds in events sorted by start: index ranges separated by idle gaps > `gap_us`.
pub(crate) fn builds(sorted: &[Event], gap_us: u64) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut begin = 0;
    let mut busy_until = 0u64;
    for (i, ev) in sorted.iter().enumerate() {
        if i > 0 && ev.start_us > busy_until.saturating_add(gap_us) {
            out.push(begin..i);
            begin = i;
        }
        busy_until = busy_until.max(ev.end_us());
    }
    if !sorted.is_empty() {
        out.push(begin..sorted.len());
    }
    out
}

/// Which invocations to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pick {
    /// Only invocations that started at or after this Unix time (microseconds).
    pub since_us: Option<u64>,
    /// Only the last build (after `since_us`).
    pub last_build: bool,
    /// The idle gap that separates builds.
    pub gap_us: u64,
}

/// The selection: the events, and which build of how many it is when `last_build`.
pub(crate) fn select(sorted: Vec<Event>, pick: Pick) -> (Vec<Event>, usize) {
    let mut events: Vec<Event> = match pick.since_us {
        Some(t) => sorted.into_iter().filter(|e| e.start_us >= t).collect(),
        None => sorted,
    };
    let n_builds = builds(&events, pick.gap_us).len();
    if pick.last_build
        && let Some(last) = builds(&events, pick.gap_us).pop()
    {
        events.drain(..last.start);
    }
    (events, n_builds)
}

/// One invocation placed on a lane.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Placed {
    pub event: Event,
    /// 0-based lane.
    pub lane: usize,
    pub class: Class,
}

/// Invocations on lanes, with the span they cover.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Timeline {
    pub placed: Vec<Placed>,
    pub lanes: usize,
    pub start_us: u64,
    pub end_us: u64,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Summary {
    pub invocations: usize,
    /// Per class, in `Class::ALL` order.
    pub counts: [usize; 7],
    pub wall_us: u64,
    /// The sum of every invocation's duration.
    pub busy_us: u64,
}

impl Summary {
    pub(crate) fn count(&self, c: Class) -> usize {
        self.counts[c as usize]
    }

    /// hits / (hits + misses) in percent.
    pub(crate) fn hit_rate(&self) -> Option<f64> {
        let (h, m) = (self.count(Class::Hit), self.count(Class::Miss));
        (h + m > 0).then(|| h as f64 * 100.0 / (h + m) as f64)
    }

    /// One line for a CI log: `9 invocations: 6 hits, 2 misses, 1 uncacheable; hit rate
    /// 75.0 %; wall 3.21 s, 8.52 s of compiles (2.7 in parallel)`.
    pub(crate) fn line(&self) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = vec![
            plural(self.count(Class::Hit), "hit", "hits"),
            plural(self.count(Class::Miss), "miss", "misses"),
        ];
        for c in &Class::ALL[2..] {
            let n = self.count(*c);
            if n > 0 {
                parts.push(format!("{n} {}", c.label()));
            }
        }
        let rate = self
            .hit_rate()
            .map_or_else(|| "n/a".to_string(), |r| format!("{r:.1} %"));
        let wall = self.wall_us as f64 / 1e6;
        let busy = self.busy_us as f64 / 1e6;
        let par = if self.wall_us > 0 {
            format!(" ({:.1} in parallel)", busy / wall)
        } else {
            String::new()
        };
        format!(
            "{}: {}; hit rate {rate}; wall {wall:.2} s, {busy:.2} s of compiles{par}",
            plural(self.invocations, "invocation", "invocations"),
            parts.join(", ")
        )
    }
}

/// Put events (any order) on lanes, ninjatracing style.
pub(crate) fn lay_out(mut events: Vec<Event>) -> Timeline {
    events.sort_by_key(|e| (e.start_us, e.end_us()));
    let mut lane_end: Vec<u64> = Vec::new();
    let mut placed = Vec::with_capacity(events.len());
    for ev in events {
        let lane = match lane_end.iter().position(|&end| end <= ev.start_us) {
            Some(l) => l,
            None => {
                lane_end.push(0);
                lane_end.len() - 1
            }
        };
        lane_end[lane] = ev.end_us();
        let class = Class::of(&ev.outcome);
        placed.push(Placed {
            event: ev,
            lane,
            class,
        });
    }
    let start_us = placed.first().map_or(0, |p| p.event.start_us);
    let end_us = placed
        .iter()
        .map(|p| p.event.end_us())
        .max()
        .unwrap_or(start_us);
    Timeline {
        lanes: lane_end.len(),
        placed,
        start_us,
        end_us,
    }
}

impl Timeline {
    pub(crate) fn summary(&self) -> Summary {
        let mut s = Summary {
            invocations: self.placed.len(),
            wall_us: self.end_us - self.start_us,
            ..Summary::default()
        };
        for p in &self.placed {
            s.counts[p.class as usize] += 1;
            s.busy_us += p.event.dur_us;
        }
        s
    }

    /// Chrome trace-event JSON: `M` events naming the process and each lane, then one
    /// complete (`X`) event per invocation; times relative to the first start.
    pub(crate) fn to_chrome(&self) -> serde_json::Value {
        let mut ev = Vec::with_capacity(self.placed.len() + 2 * self.lanes + 2);
        let started = format_utc(self.start_us / 1_000_000);
        ev.push(serde_json::json!({
            "name": "process_name", "ph": "M", "pid": 1, "tid": 0,
            "args": { "name": format!("toolchainkit build, started {started} UTC") },
        }));
        ev.push(serde_json::json!({
            "name": "process_sort_index", "ph": "M", "pid": 1, "tid": 0,
            "args": { "sort_index": 0 },
        }));
        for lane in 0..self.lanes {
            ev.push(serde_json::json!({
                "name": "thread_name", "ph": "M", "pid": 1, "tid": lane + 1,
                "args": { "name": format!("lane {}", lane + 1) },
            }));
            ev.push(serde_json::json!({
                "name": "thread_sort_index", "ph": "M", "pid": 1, "tid": lane + 1,
                "args": { "sort_index": lane + 1 },
            }));
        }
        for p in &self.placed {
            let e = &p.event;
            ev.push(serde_json::json!({
                "name": format!("{} {}", p.class.label(), e.label()),
                "cat": e.outcome,
                "cname": p.class.cname(),
                "ph": "X",
                "ts": e.start_us - self.start_us,
                "dur": e.dur_us,
                "pid": 1,
                "tid": p.lane + 1,
                "args": {
                    "outcome": e.outcome,
                    "source": e.source,
                    "output": e.output,
                    "compiler": e.compiler,
                    "exit": e.exit,
                    "shim_pid": e.pid,
                },
            }));
        }
        serde_json::json!({
            "traceEvents": ev,
            "displayTimeUnit": "ms",
            "otherData": {
                "producer": "toolchainkit",
                "build_start_utc": started,
                "build_start_unix_us": self.start_us,
                "summary": self.summary().line(),
            },
        })
    }
}

/// Parse `--since`: Unix seconds (`1714564800`, `1714564800.5`) or a UTC date and time
/// `YYYY-MM-DDTHH:MM:SS` (a trailing `Z` is accepted). Returns microseconds.
pub(crate) fn parse_time(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return s
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(|f| (f * 1e6) as u64)
            .ok_or_else(|| format!("`{s}` is not a number of seconds"));
    }
    let bad = || format!("`{s}` is neither Unix seconds nor a UTC time like 2024-05-01T12:30:00");
    let t = s.strip_suffix('Z').unwrap_or(s);
    let b = t.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let num = |r: Range<usize>| -> Result<i64, String> {
        let part = &t[r];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return Err(bad());
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se;
    u64::try_from(secs)
        .map(|s| s * 1_000_000)
        .map_err(|_| format!("`{s}` is before 1970"))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of Unix seconds.
pub(crate) fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(start: u64, dur: u64, outcome: &str) -> Event {
        Event {
            start_us: start,
            dur_us: dur,
            pid: 1,
            compiler: "/usr/bin/gcc".into(),
            outcome: outcome.into(),
            exit: 0,
            source: Some(format!("s{start}.c")),
            output: None,
            cause: None,
            verify: None,
        }
    }

    #[test]
    fn lanes_are_reused_when_free() {
        // -j2: a and b overlap; c starts when a has ended; d overlaps b and c.
        let t = lay_out(vec![
            ev(0, 10, "miss"),
            ev(2, 20, "miss"),
            ev(10, 5, "hit.direct.local"),
            ev(12, 2, "hit.direct.local"),
        ]);
        let lanes: Vec<usize> = t.placed.iter().map(|p| p.lane).collect();
        assert_eq!(lanes, vec![0, 1, 0, 2]);
        assert_eq!(t.lanes, 3);
        assert_eq!((t.start_us, t.end_us), (0, 22));
        // A lane's events never overlap.
        for l in 0..t.lanes {
            let mut on: Vec<&Event> = t
                .placed
                .iter()
                .filter(|p| p.lane == l)
                .map(|p| &p.event)
                .collect();
            on.sort_by_key(|e| e.start_us);
            assert!(on.windows(2).all(|w| w[0].end_us() <= w[1].start_us));
        }
    }

    #[test]
    fn serial_build_is_one_lane() {
        let t = lay_out((0..50).map(|i| ev(i * 10, 10, "miss")).collect());
        assert_eq!(t.lanes, 1);
    }

    #[test]
    fn builds_split_at_idle_gaps() {
        let s = 1_000_000;
        // A long compile keeps the first build busy past the gap after the short ones.
        let evs = vec![
            ev(0, 30 * s, "miss"),
            ev(s, s, "miss"),
            ev(35 * s, s, "hit.direct.local"),
            ev(60 * s, s, "miss"),
            ev(61 * s, s, "miss"),
        ];
        assert_eq!(builds(&evs, 10 * s), vec![0..3, 3..5]);
        assert_eq!(builds(&evs, 3 * s), vec![0..2, 2..3, 3..5]);
        assert_eq!(builds(&[], 10 * s), Vec::<Range<usize>>::new());
        let pick = Pick {
            last_build: true,
            gap_us: 10 * s,
            since_us: None,
        };
        let (sel, n) = select(evs.clone(), pick);
        assert_eq!((sel.len(), n), (2, 2));
        assert_eq!(sel[0].start_us, 60 * s);
        let since = Pick {
            since_us: Some(35 * s),
            ..Pick::default()
        };
        assert_eq!(select(evs.clone(), since).0.len(), 3);
        let both = Pick {
            since_us: Some(2 * s),
            last_build: true,
            gap_us: 100 * s,
        };
        assert_eq!(select(evs, both).0.len(), 3);
    }

    #[test]
    fn classes_and_summary() {
        assert_eq!(Class::of("hit.preprocessed.remote"), Class::Hit);
        assert_eq!(Class::of("miss.remote_error"), Class::Miss);
        assert_eq!(Class::of("uncacheable.called_for_link"), Class::Uncacheable);
        assert_eq!(Class::of("forwarded.sccache"), Class::Forwarded);
        assert_eq!(Class::of("fallback.no_tool_found"), Class::Fallback);
        assert_eq!(Class::of("error.internal_error"), Class::Error);
        assert_eq!(Class::of("whatever"), Class::Other);
        let t = lay_out(vec![
            ev(0, 1_000_000, "miss"),
            ev(0, 500_000, "hit.direct.local"),
            ev(500_000, 500_000, "hit.direct.local"),
            ev(1_000_000, 1_000_000, "uncacheable.called_for_link"),
        ]);
        let s = t.summary();
        assert_eq!((s.count(Class::Hit), s.count(Class::Miss)), (2, 1));
        assert_eq!(s.wall_us, 2_000_000);
        assert_eq!(
            s.line(),
            "4 invocations: 2 hits, 1 miss, 1 uncacheable; hit rate 66.7 %; wall 2.00 s, 3.00 s of compiles (1.5 in parallel)"
        );
    }

    #[test]
    fn chrome_has_metadata_and_reused_lanes() {
        let t = lay_out(vec![
            ev(100, 10, "miss"),
            ev(105, 10, "hit.direct.local"),
            ev(110, 10, "miss"),
        ]);
        let doc = t.to_chrome();
        let evs = doc["traceEvents"].as_array().expect("array");
        let meta: Vec<&str> = evs
            .iter()
            .filter(|e| e["ph"] == "M")
            .filter_map(|e| e["name"].as_str())
            .collect();
        assert_eq!(
            meta,
            vec![
                "process_name",
                "process_sort_index",
                "thread_name",
                "thread_sort_index",
                "thread_name",
                "thread_sort_index"
            ]
        );
        let x: Vec<&serde_json::Value> = evs.iter().filter(|e| e["ph"] == "X").collect();
        assert_eq!(x.len(), 3);
        assert_eq!(x[0]["ts"], 0);
        assert_eq!(x[2]["tid"], 1, "lane 1 is free again at 110");
        assert_eq!(x[1]["cname"], "good");
        assert_eq!(x[0]["cname"], "terrible");
        assert_eq!(x[1]["name"], "hit s105.c");
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("0"), Ok(0));
        assert_eq!(parse_time("1714564800"), Ok(1_714_564_800_000_000));
        assert_eq!(parse_time("1714564800.25"), Ok(1_714_564_800_250_000));
        assert_eq!(parse_time("2024-05-01T12:00:00"), Ok(1_714_564_800_000_000));
        assert_eq!(
            parse_time("2024-05-01T12:00:00Z"),
            Ok(1_714_564_800_000_000)
        );
        assert_eq!(parse_time("1970-01-01T00:00:00"), Ok(0));
        assert_eq!(parse_time("2000-02-29T23:59:59"), Ok(951_868_799_000_000));
        for bad in [
            "",
            "yesterday",
            "2024-05-01",
            "2024-13-01T00:00:00",
            "2024-05-01 12:00:00",
            "1969-12-31T23:59:59",
            "2024-05-01T1a:00:00",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert_eq!(format_utc(1_714_564_800), "2024-05-01 12:00:00");
        assert_eq!(format_utc(951_868_799), "2000-02-29 23:59:59");
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
    }
}
