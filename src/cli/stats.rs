//! `toolchainkit stats [--json] [--zero | --mark | --since-mark | --all]` and
//! `toolchainkit trace` (Chrome JSON, SVG or HTML of the build trace, optionally only the
//! last build or since a time).
//!
//! `--zero` also zeroes the tools' own counters for this project (its sccache server's,
//! `ccache -z` on its ccache directory), so every number shown afterwards is about the
//! builds since. `--mark` / `--since-mark` bracket one
//! build (a CI job marks before it and prints the one-line summary after it); `--all`
//! lives in `stats_all`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::stats::trace::{svg, timeline};
use crate::stats::{self, Stats, mark, saved};

/// What `toolchainkit stats` was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Show,
    Zero,
    Mark,
    SinceMark,
    All,
}

/// Hit rate in percent, `None` when there were neither hits nor misses.
pub fn hit_rate(s: &Stats) -> Option<f64> {
    let hits = s.sum("hit.").count;
    let misses = s.sum("miss").count;
    let total = hits + misses;
    (total > 0).then(|| hits as f64 * 100.0 / total as f64)
}

fn avg_ms(b: stats::Bucket) -> Option<f64> {
    (b.count > 0).then(|| b.nanos as f64 / b.count as f64 / 1e6)
}

/// The JSON document of `stats --json`.
pub fn to_json(s: &Stats, path: &Path, t: &saved::Saved) -> serde_json::Value {
    let group = |p: &str| s.sum(p);
    let reasons = |p: &str| -> serde_json::Map<String, serde_json::Value> {
        s.outcomes
            .iter()
            .filter_map(|(k, b)| {
                k.strip_prefix(p)
                    .map(|r| (r.to_string(), serde_json::json!(b.count)))
            })
            .collect()
    };
    let hits = group("hit.");
    let misses = group("miss");
    serde_json::json!({
        "file": path.display().to_string(),
        "project": stats::recorded_project(path).map(|p| p.display().to_string()),
        "since": s.since,
        "invocations": s.invocations,
        "hits": hits.count,
        "misses": misses.count,
        "uncacheable": group("uncacheable.").count,
        "forwarded": group("forwarded.").count,
        "fallbacks": group("fallback.").count,
        "errors": group("error.").count,
        "hit_rate": hit_rate(s),
        "hits_by_kind": {
            "direct_local": s.outcomes.get("hit.direct.local").map_or(0, |b| b.count),
            "direct_remote": s.outcomes.get("hit.direct.remote").map_or(0, |b| b.count),
            "preprocessed_local": s.outcomes.get("hit.preprocessed.local").map_or(0, |b| b.count),
            "preprocessed_remote": s.outcomes.get("hit.preprocessed.remote").map_or(0, |b| b.count),
            "sccache": s.outcomes.get("hit.sccache").map_or(0, |b| b.count),
        },
        "uncacheable_reasons": reasons("uncacheable."),
        "fallback_reasons": reasons("fallback."),
        "error_reasons": reasons("error."),
        "forwarded_tools": reasons("forwarded."),
        "outer_wrapper": crate::outer::counted(s).into_iter().map(|(t, n)| (t.to_string(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
        "avg_hit_ms": avg_ms(hits),
        "avg_miss_ms": avg_ms(misses),
        "time_saved_secs": t.secs,
        "time_saved_basis": t.basis,
        "time_saved_how": t.how,
        "verify": crate::verify::to_json(s, path),
        "late_records": s.late_records,
        "miss_causes": s.causes,
        "notices": s.notices,
        "outcomes": s.outcomes.iter().map(|(k, b)| (k.clone(), serde_json::json!({"count": b.count, "total_ms": b.nanos as f64 / 1e6}))).collect::<serde_json::Map<_, _>>(),
    })
}

/// The "time saved" line's value: shown whenever there are hits.
fn saved_words(t: &saved::Saved) -> Option<String> {
    if t.hits == 0 {
        return None;
    }
    Some(match t.secs {
        Some(secs) => format!("{secs:.1} s ({})", t.how),
        None => t.how.clone(),
    })
}

fn print_table(s: &Stats, path: &Path, t: &saved::Saved, cfg: &crate::config::Config) {
    crate::outln!("stats file:     {}", path.display());
    if let Some(p) = stats::recorded_project(path) {
        crate::outln!("project:        {}", p.display());
    }
    crate::outln!("since:          {} UTC", timeline::format_utc(s.since));
    crate::outln!("invocations:    {}", s.invocations);
    let hits = s.sum("hit.");
    let misses = s.sum("miss");
    match hit_rate(s) {
        Some(r) => crate::outln!(
            "hit rate:       {r:.1} %  ({} hits, {} misses)",
            hits.count,
            misses.count
        ),
        None if s.sum("forwarded.").count > 0 => crate::outln!(
            "hit rate:       n/a (no result observed for the forwarded compiles; sccache's own counters follow when its server runs)"
        ),
        None => crate::outln!("hit rate:       n/a (no hits or misses observed)"),
    }
    if let (Some(h), Some(m)) = (avg_ms(hits), avg_ms(misses)) {
        crate::outln!("average time:   hit {h:.1} ms, miss {m:.1} ms");
    }
    if let Some(words) = saved_words(t) {
        crate::outln!("time saved:     {words}");
    }
    for line in crate::explain::report::stats_lines(&s.causes, cfg) {
        crate::outln!("{line}");
    }
    if let Some(line) = crate::verify::summary(s) {
        crate::outln!("verified hits:  {line}");
    }
    crate::outln!();
    crate::outln!("{:<44} {:>9} {:>12}", "outcome", "count", "avg ms");
    for (k, b) in &s.outcomes {
        crate::outln!(
            "{:<44} {:>9} {:>12.1}",
            k,
            b.count,
            avg_ms(*b).unwrap_or(0.0)
        );
    }
    if s.late_records > 0 {
        crate::outln!();
        crate::outln!(
            "{} invocation(s) were recorded late through the side file (stats lock held too long)",
            s.late_records
        );
    }
}

/// The notices to print above the table: one-time ones from the file, and compiles that
/// came through an outer cache tool.
/// ccache's sloppiness words without which it cannot use a precompiled header (its
/// manual, "Precompiled headers").
const PCH_SLOPPINESS: &[&str] = &[
    "pch_defines",
    "time_macros",
    "include_file_mtime",
    "include_file_ctime",
];

/// The hint for compiles ccache could not cache because of a precompiled header, when
/// the configuration lacks the sloppiness ccache needs for them.
fn pch_hint(s: &Stats, cfg: &crate::config::Config) -> Option<String> {
    let n = s
        .outcomes
        .get("uncacheable.could_not_use_precompiled_header")
        .map_or(0, |o| o.count);
    if n == 0 {
        return None;
    }
    let have = cfg.ccache.value.sloppiness.clone().unwrap_or_default();
    let missing: Vec<&str> = PCH_SLOPPINESS
        .iter()
        .copied()
        .filter(|w| !have.iter().any(|h| h == w))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let all: Vec<String> = have
        .iter()
        .map(String::as_str)
        .chain(missing.iter().copied())
        .map(|w| format!("\"{w}\""))
        .collect();
    Some(format!(
        "{n} compile(s) counted uncacheable.could_not_use_precompiled_header: ccache caches \
         compiles that use a precompiled header only with the sloppiness {}.\n\
         hint: set `sloppiness = [{}]` under [ccache] in the project file (and use the header \
         with `-include`, or build with `-fpch-preprocess`, as ccache's manual says)",
        missing.join(", "),
        all.join(", ")
    ))
}

/// Every notice `stats` shows, in text and as `--json`'s `notices`: the stored
/// one-time messages, compiles through an outer tool, a sccache server without its
/// remote, compiles outside the project, a precompiled header ccache could not use.
fn notices(
    s: &Stats,
    cfg: &crate::config::Config,
    local_only: Option<&str>,
    outside: &[stats::outside::Outside],
    causes: &[stats::causes::Cause],
) -> Vec<String> {
    let mut out = s.notices.clone();
    for c in causes {
        out.push(format!(
            "compiles ran degraded: {}",
            stats::causes::describe(c)
        ));
    }
    out.extend(cfg.invalid_user_notice());
    for (tool, n) in crate::outer::counted(s) {
        out.push(format!(
            "{n} compile(s) reached toolchainkit through an outer {tool} (Meson 1.x puts the {tool} it finds in front of `cc` when CC is unset); \
             they ran uncached here, so nothing is cached twice, and only {tool} knows their hits.\nhint: {}",
            crate::outer::FIX
        ));
    }
    if let Some(why) = local_only
        && !causes.iter().any(|c| c.kind == "sccache.local_only")
    {
        out.push(format!(
            "the sccache server runs without its remote cache: {why}"
        ));
    }
    if let Some(a) = stats::outside::advice(outside) {
        out.push(a);
    }
    out.extend(pch_hint(s, cfg));
    if let Some(p) = &cfg.project_file {
        for w in &cfg.withheld {
            out.push(crate::config::approval::describe(p, w));
        }
    }
    out
}

/// The counters of the stats file at `path` now, and whether it exists; `clear_notices`
/// clears the one-time notices (only `stats` shows them).
pub fn current(path: &Path, clear_notices: bool) -> anyhow::Result<(Stats, bool)> {
    // Folding pending records and showing notices once both go through the lock; only
    // `stats` and `stats --json` show them, so only those clear them.
    let exists = path.exists() || stats::pending_path(path).exists();
    let s = if exists {
        stats::update(path, |s| {
            let shown = s.clone();
            if clear_notices {
                s.notices.clear();
            }
            shown
        })
        // A lock held too long still lets the counters be shown; a refused file does not.
        .or_else(|e| match e.kind() {
            std::io::ErrorKind::TimedOut => stats::load(path).map(Option::unwrap_or_default),
            _ => Err(e),
        })
        .with_context(|| format!("cannot read {}", path.display()))?
    } else {
        // Nothing recorded yet: say so, unless the lock itself is unusable (then no
        // compile can record anything).
        stats::probe_lock(path, std::time::Duration::ZERO)
            .with_context(|| format!("cannot use {}", path.display()))?;
        Stats::default()
    };
    Ok((s, exists))
}

pub fn run(action: Action, json: bool, gates: &super::gate::Gates) -> anyhow::Result<i32> {
    let (cwd, cfg) = super::load_config()?;
    let path = stats::stats_path(&cfg);
    match action {
        Action::All => return super::stats_all::run(&cfg, json),
        Action::Zero => return zero(&cwd, &cfg, &path),
        _ => {}
    }
    // Compiles that found no project file around this project's last build, when this is
    // a project: looked at before reading the counters below writes the file.
    let outside = match cfg.project_file {
        Some(_) => stats::outside::near(&stats::default_path(), &path),
        None => Vec::new(),
    };
    let (s, exists) = current(&path, action == Action::Show)?;
    if exists
        && let Some(p) = cfg.project_dir()
        && stats::recorded_project(&path).is_none()
    {
        // A file from before project names were recorded: name it now.
        let _ = stats::record_project(&path, p);
    }
    match action {
        Action::Mark => return set_mark(&path, &s, json),
        Action::SinceMark => return since_mark(&path, &s, json, gates),
        _ => {}
    }
    let tool_stats = super::server::sccache_counters(&cwd, &cfg);
    let local_only = super::server::local_only_reason(&cwd, &cfg);
    let t = saved::of_file(&s, &path);
    // The causes of degraded compiles since counting (re)started.
    let causes = stats::causes::since(&path, s.since);
    let all_notices = notices(&s, &cfg, local_only.as_deref(), &outside, &causes);
    if json {
        let mut v = to_json(&s, &path, &t);
        v["notices"] = serde_json::json!(all_notices);
        v["degraded"] = causes_json(&causes);
        if cfg.project_file.is_some() {
            v["outside_project"] = serde_json::Value::Array(
                outside
                    .iter()
                    .map(|o| {
                        serde_json::json!({
                            "dir": o.dir.display().to_string(),
                            "count": o.count,
                            "last": o.last,
                            "source": o.source.as_ref().map(|s| s.display().to_string()),
                            "started_by": o.parent,
                        })
                    })
                    .collect(),
            );
        }
        if let Some(d) = super::dist::stats_json(&cfg, tool_stats.as_ref()) {
            v["dist"] = d;
        }
        if let Some(t) = tool_stats {
            v["sccache_server_stats"] = t;
        }
        if let Some(why) = local_only {
            v["sccache_server_local_only"] = serde_json::json!(why);
        }
        v["withheld"] =
            crate::config::approval::to_json(cfg.project_file.as_deref(), &cfg.withheld);

        println!("{v}");
    } else {
        for n in &all_notices {
            crate::outln!("notice: {n}");
        }
        if let Some((problem, fix)) = crate::verify::problem(&s, &path) {
            crate::outln!("problem: {problem}");
            crate::outln!("hint: {fix}");
        }
        print_table(&s, &path, &t, &cfg);
        super::dist::print_stats(&cfg, tool_stats.as_ref());
        if let Some(t) = tool_stats {
            print_sccache_counters(&t);
        }
    }
    Ok(0)
}

fn print_sccache_counters(t: &serde_json::Value) {
    crate::outln!();
    crate::outln!(
        "sccache's own counters (its server's, since it started or the last `stats --zero`):"
    );
    let Some(st) = t.get("stats") else {
        return;
    };
    for key in [
        "compile_requests",
        "requests_executed",
        "cache_hits",
        "cache_misses",
        "cache_errors",
    ] {
        if let Some(v) = st.get(key) {
            crate::outln!("  {key:<20} {}", summarize(v));
        }
    }
    let hits = st.get("cache_hits").and_then(total);
    let misses = st.get("cache_misses").and_then(total);
    if let (Some(h), Some(m)) = (hits, misses)
        && h + m > 0
    {
        crate::outln!(
            "  {:<20} {:.1} %  (cache_hits / (cache_hits + cache_misses))",
            "hit rate",
            h as f64 * 100.0 / (h + m) as f64
        );
    }
}

/// `stats --zero`: our counters (remembering their miss times for "time saved"), the
/// counters of this project's sccache server, if one runs, and ccache's counters for this
/// project's ccache directory, if it exists: both tools alike, whichever compiles used.
fn zero(cwd: &Path, cfg: &crate::config::Config, path: &Path) -> anyhow::Result<i32> {
    let old = stats::update(path, std::mem::take)
        .with_context(|| format!("cannot reset {}", path.display()))?;
    if let Err(e) = mark::remember_zeroed(path, &old) {
        log::warn!("cannot keep the zeroed miss times: {e}");
    }
    super::dist::zero(cfg);
    stats::causes::clear(path);
    crate::outln!("statistics zeroed ({})", path.display());
    match super::server::zero_sccache(cwd, cfg) {
        Some(Ok(sock)) => crate::outln!(
            "sccache's counters zeroed too (its server on {})",
            sock.display()
        ),
        Some(Err(e)) => {
            crate::errln!("toolchainkit: warning: sccache's own counters were not zeroed: {e}")
        }
        None => {}
    }
    match super::cache::zero_ccache(cfg) {
        Some(Ok(dir)) => {
            crate::outln!("ccache's counters zeroed too (its cache {})", dir.display())
        }
        Some(Err(e)) => {
            crate::errln!("toolchainkit: warning: ccache's own counters were not zeroed: {e}")
        }
        None => {}
    }
    Ok(0)
}

/// The causes as `--json` gives them: `[{kind, count, last, cause}]`.
fn causes_json(causes: &[stats::causes::Cause]) -> serde_json::Value {
    serde_json::Value::Array(
        causes
            .iter()
            .map(|c| {
                serde_json::json!({
                    "kind": c.kind, "count": c.count, "last": c.last, "cause": c.cause,
                })
            })
            .collect(),
    )
}

/// `stats --mark`: remember the counters now.
fn set_mark(path: &Path, s: &Stats, json: bool) -> anyhow::Result<i32> {
    let m = mark::save_mark(path, s)
        .with_context(|| format!("cannot write {}", mark::mark_path(path).display()))?;
    if json {
        crate::outln!(
            "{}",
            serde_json::json!({"file": path.display().to_string(), "marked_at_us": m.marked_at_us, "invocations": s.invocations})
        );
    } else {
        crate::outln!(
            "marked at {} invocations ({}); `toolchainkit stats --since-mark` shows what comes after",
            s.invocations,
            path.display()
        );
    }
    Ok(0)
}

/// One line for a CI log: the counters since the mark (pure).
pub fn summary_line(
    w: &Stats,
    t: &saved::Saved,
    window: mark::Window,
    marked_at_us: Option<u64>,
) -> String {
    let since = match (window, marked_at_us) {
        (mark::Window::SinceMark, Some(at)) => {
            format!(
                "since the mark at {} UTC",
                timeline::format_utc(at / 1_000_000)
            )
        }
        (mark::Window::ZeroedAfterMark, _) => format!(
            "since the counters were zeroed at {} UTC (after the mark)",
            timeline::format_utc(w.since)
        ),
        _ => format!(
            "no mark set, since counting started at {} UTC",
            timeline::format_utc(w.since)
        ),
    };
    let hits = w.sum("hit.").count;
    let misses = w.sum("miss").count;
    let mut parts = vec![
        format!("{} invocations", w.invocations),
        format!("{hits} hits"),
        format!("{misses} misses"),
        match hit_rate(w) {
            Some(r) => format!("hit rate {r:.1} %"),
            None => "hit rate n/a".to_string(),
        },
        match (t.hits, t.secs) {
            (0, _) => "time saved 0.0 s".to_string(),
            (_, Some(secs)) => format!("time saved {secs:.1} s ({})", short_basis(t.basis)),
            (_, None) => "time saved unknown (no miss recorded to compare with)".to_string(),
        },
    ];
    let remote_errors = w.sum("miss.remote_error").count;
    if remote_errors > 0 {
        parts.push(format!(
            "{remote_errors} remote error(s) (misses stored locally only)"
        ));
    }
    for (prefix, name) in [
        ("uncacheable.", "uncacheable"),
        ("fallback.", "fallback"),
        ("error.", "errors"),
        ("forwarded.", "forwarded"),
        ("verify.mismatch", "wrong hits (verify.mismatch)"),
    ] {
        let n = w.sum(prefix).count;
        if n > 0 {
            parts.push(format!("{n} {name}"));
        }
    }
    if let Some(words) = crate::explain::report::causes_words(&w.causes) {
        parts.push(format!("misses by cause: {words}"));
    }
    format!("toolchainkit: {}; {since}", parts.join(", "))
}

fn short_basis(basis: &str) -> &'static str {
    match basis {
        "per_compile" => "each hit against its compile's recorded miss",
        "per_compile_and_average" => "recorded misses of the same compiles, else the average miss",
        "average" => "average miss time",
        _ => "partly unknown",
    }
}

/// One build's counters: those added since `stats --mark`, and what they saved.
pub struct Build {
    pub w: Stats,
    pub window: mark::Window,
    pub mark: Option<mark::Mark>,
    /// Where the window starts, Unix microseconds (for the trace).
    pub from_us: u64,
    pub saved: saved::Saved,
}

/// The build since the mark of the stats file at `path`, whose counters now are `s`.
pub fn build_since_mark(path: &Path, s: &Stats) -> Build {
    let m = mark::load_mark(path);
    let (w, window) = mark::since(s, m.as_ref().map(|m| &m.stats));
    let from_us = match (window, &m) {
        (mark::Window::SinceMark, Some(m)) => m.marked_at_us,
        _ => w.since.saturating_mul(1_000_000),
    };
    let earlier = mark::load_history(path)
        .map(|h| h.misses)
        .unwrap_or_default();
    let t = saved::estimate(
        w.sum("hit."),
        saved::match_trace(path, from_us),
        &[
            saved::MissTimes {
                misses: w.sum("miss"),
                whose: "this build's",
            },
            saved::MissTimes {
                misses: s.sum("miss"),
                whose: "the project's",
            },
            saved::MissTimes {
                misses: earlier,
                whose: "the project's (before the last `stats --zero`)",
            },
        ],
    );
    Build {
        w,
        window,
        mark: m,
        from_us,
        saved: t,
    }
}

impl Build {
    /// `stats --since-mark --json`'s document.
    pub fn to_json(&self, path: &Path) -> serde_json::Value {
        let mut v = to_json(&self.w, path, &self.saved);
        v["window"] = serde_json::json!(match self.window {
            mark::Window::SinceMark => "since_mark",
            mark::Window::ZeroedAfterMark => "zeroed_after_mark",
            mark::Window::NoMark => "no_mark",
        });
        v["marked_at_us"] = serde_json::json!(self.mark.as_ref().map(|m| m.marked_at_us));
        v
    }
}

/// `stats --since-mark`: the counters added since `stats --mark`, as one line, then the
/// gates asked for (exit `gate::EXIT_GATE` when one fails).
fn since_mark(
    path: &Path,
    s: &Stats,
    json: bool,
    gates: &super::gate::Gates,
) -> anyhow::Result<i32> {
    let b = build_since_mark(path, s);
    let causes = stats::causes::since(path, b.from_us / 1_000_000);
    let mut v = b.to_json(path);
    v["degraded"] = causes_json(&causes);
    v["notices"] = serde_json::json!(
        causes
            .iter()
            .map(|c| format!("compiles ran degraded: {}", stats::causes::describe(c)))
            .collect::<Vec<_>>()
    );
    if json {
        println!("{v}");
    } else {
        let mut line = summary_line(
            &b.w,
            &b.saved,
            b.window,
            b.mark.as_ref().map(|m| m.marked_at_us),
        );
        for c in &causes {
            line.push_str(&format!(
                "\ntoolchainkit: degraded: {}",
                stats::causes::describe(c)
            ));
        }
        crate::outln!("{line}");
    }
    Ok(super::gate::check(gates, &b, path))
}

/// sccache's counters are numbers or per-language maps (`{"counts": {...}}`): their total.
fn total(v: &serde_json::Value) -> Option<u64> {
    if let Some(n) = v.as_u64() {
        return Some(n);
    }
    let counts = v.get("counts")?.as_object()?;
    Some(counts.values().filter_map(serde_json::Value::as_u64).sum())
}

/// A counter for the table: its total, or the raw value when it has another shape.
fn summarize(v: &serde_json::Value) -> String {
    total(v).map_or_else(|| v.to_string(), |n| n.to_string())
}

/// What `toolchainkit trace` writes, and which invocations.
pub struct TraceArgs {
    pub chrome: Option<PathBuf>,
    pub svg: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub markdown: Option<PathBuf>,
    pub input: Option<PathBuf>,
    /// Only the invocations since the mark of this project's stats.
    pub since_mark: bool,
    pub pick: timeline::Pick,
}

pub fn trace(mut a: TraceArgs) -> anyhow::Result<i32> {
    let cfg = match (&a.input, a.since_mark) {
        (Some(_), false) => None,
        _ => Some(super::load_config()?.1),
    };
    if let Some(cfg) = cfg.as_ref().filter(|_| a.since_mark) {
        let path = stats::stats_path(cfg);
        let (s, _) = current(&path, false)?;
        a.pick.since_us = Some(build_since_mark(&path, &s).from_us);
    }
    let input = match (a.input, &cfg) {
        (Some(i), _) => i,
        (None, Some(cfg)) => crate::stats::trace::trace_path(&stats::stats_path(cfg)),
        (None, None) => anyhow::bail!("no trace to read"),
    };
    let mut text = String::new();
    let rotated = input.with_extension("jsonl.1");
    if let Ok(old) = crate::private::read_own(&rotated) {
        text.push_str(&String::from_utf8_lossy(&old));
    }
    let current = crate::private::read_own(&input).with_context(|| {
        format!(
            "cannot read trace {} (is `[stats] trace = true` set, and has a compile run since?)",
            input.display()
        )
    })?;
    text.push_str(&String::from_utf8_lossy(&current));
    let (all, unreadable) = timeline::parse(&text);
    let total = all.len();
    let (events, builds) = timeline::select(all, a.pick);
    if unreadable > 0 {
        crate::errln!(
            "toolchainkit: note: {unreadable} line(s) of {} are not trace events and were skipped",
            input.display()
        );
    }
    if events.is_empty() {
        anyhow::bail!(
            "no invocations to show: {} holds {total}, none selected{}",
            input.display(),
            match a.pick.since_us {
                Some(t) => format!(
                    " (none started at or after {} UTC)",
                    timeline::format_utc(t / 1_000_000)
                ),
                None => String::new(),
            }
        );
    }
    let t = timeline::lay_out(events);
    let write = |path: &Path, bytes: &[u8], what: &str| -> anyhow::Result<()> {
        let at = crate::outfile::write(path, bytes)
            .with_context(|| format!("cannot write {}", crate::escape::path(path)))?;
        crate::outln!("wrote {what} to {}", crate::escape::path(&at));
        Ok(())
    };
    if let Some(out) = &a.chrome {
        let doc = t.to_chrome();
        write(
            out,
            &serde_json::to_vec_pretty(&doc)?,
            "Chrome trace-event JSON (open it in https://ui.perfetto.dev or chrome://tracing)",
        )?;
    }
    if let Some(out) = &a.svg {
        write(out, svg::standalone(&t).as_bytes(), "an SVG timeline")?;
    }
    if let Some(out) = &a.html {
        write(out, svg::html(&t).as_bytes(), "an HTML timeline")?;
    }
    if let Some(out) = &a.markdown {
        use std::io::Write as _;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(out)
            .and_then(|mut f| f.write_all(crate::stats::trace::markdown::markdown(&t).as_bytes()))
            .with_context(|| format!("cannot append to {}", out.display()))?;
        println!("appended a Markdown summary to {}", out.display());
    }
    let which = if a.pick.last_build {
        format!("the last of {builds} build(s)")
    } else {
        format!("{builds} build(s)")
    };
    crate::outln!(
        "{which}, started {} UTC, {} lane(s): {}",
        timeline::format_utc(t.start_us / 1_000_000),
        t.lanes,
        t.summary().line()
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 26.1: remote errors (a miss ccache could not store remotely) are on the one
    /// line a CI job prints, not only in the table.
    #[test]
    fn the_since_mark_line_counts_remote_errors() {
        let mut s = Stats::default();
        for (k, n) in [
            ("miss", 3),
            ("miss.remote_error", 2),
            ("fallback.ccache_failed", 1),
        ] {
            s.outcomes.insert(
                k.into(),
                stats::Bucket {
                    count: n,
                    nanos: n * 1_000_000,
                },
            );
            s.invocations += n;
        }
        let t = saved::Saved {
            hits: 0,
            secs: Some(0.0),
            basis: "no_hits",
            how: String::new(),
        };
        let line = summary_line(&s, &t, mark::Window::NoMark, None);
        assert!(
            line.contains("5 misses")
                && line.contains("2 remote error(s) (misses stored locally only)")
                && line.contains("1 fallback"),
            "{line}"
        );
    }
}
