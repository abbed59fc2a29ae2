//! `toolchainkit stats [--json] [--zero]` and `toolchainkit trace` (Chrome JSON, SVG or
//! HTML of the build trace, optionally only the last build or since a time).

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::stats::trace::{svg, timeline};
use crate::stats::{self, Stats};

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

/// Estimated time saved: hits × (average miss time − average hit time), in seconds.
pub fn time_saved_secs(s: &Stats) -> Option<f64> {
    let hits = s.sum("hit.");
    let misses = s.sum("miss");
    let (h, m) = (avg_ms(hits)?, avg_ms(misses)?);
    Some((hits.count as f64 * (m - h) / 1000.0).max(0.0))
}

/// The JSON document of `stats --json`.
pub fn to_json(s: &Stats, path: &Path) -> serde_json::Value {
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
        "avg_hit_ms": avg_ms(hits),
        "avg_miss_ms": avg_ms(misses),
        "time_saved_secs": time_saved_secs(s),
        "late_records": s.late_records,
        "notices": s.notices,
        "outcomes": s.outcomes.iter().map(|(k, b)| (k.clone(), serde_json::json!({"count": b.count, "total_ms": b.nanos as f64 / 1e6}))).collect::<serde_json::Map<_, _>>(),
    })
}

fn print_table(s: &Stats, path: &Path) {
    println!("stats file:     {}", path.display());
    println!("invocations:    {}", s.invocations);
    let hits = s.sum("hit.");
    let misses = s.sum("miss");
    match hit_rate(s) {
        Some(r) => println!(
            "hit rate:       {r:.1} %  ({} hits, {} misses)",
            hits.count, misses.count
        ),
        None if s.sum("forwarded.").count > 0 => println!(
            "hit rate:       n/a (no result observed for the forwarded compiles; sccache's own counters follow when its server runs)"
        ),
        None => println!("hit rate:       n/a (no hits or misses observed)"),
    }
    if let (Some(h), Some(m)) = (avg_ms(hits), avg_ms(misses)) {
        println!("average time:   hit {h:.1} ms, miss {m:.1} ms");
    }
    if let Some(t) = time_saved_secs(s) {
        println!("time saved:     {t:.1} s (hits x (avg miss - avg hit))");
    }
    println!();
    println!("{:<44} {:>9} {:>12}", "outcome", "count", "avg ms");
    for (k, b) in &s.outcomes {
        println!(
            "{:<44} {:>9} {:>12.1}",
            k,
            b.count,
            avg_ms(*b).unwrap_or(0.0)
        );
    }
    if s.late_records > 0 {
        println!(
            "\n{} invocation(s) were recorded late through the side file (stats lock held too long)",
            s.late_records
        );
    }
}

pub fn run(json: bool, zero: bool) -> anyhow::Result<i32> {
    let (cwd, cfg) = super::load_config()?;
    let path = stats::stats_path(&cfg);
    if zero {
        stats::update(&path, |s| *s = Stats::default())
            .with_context(|| format!("cannot reset {}", path.display()))?;
        println!("statistics zeroed ({})", path.display());
        return Ok(0);
    }
    // Folding pending records and showing notices once both go through the lock.
    let exists = path.exists() || stats::pending_path(&path).exists();
    let s = if exists {
        stats::update(&path, |s| {
            let shown = s.clone();
            s.notices.clear();
            shown
        })
        .or_else(|_| stats::load(&path).map(Option::unwrap_or_default))
        .with_context(|| format!("cannot read {}", path.display()))?
    } else {
        Stats::default()
    };
    let tool_stats = super::server::sccache_counters(&cwd, &cfg);
    let local_only = super::server::local_only_reason(&cwd, &cfg);
    if json {
        let mut v = to_json(&s, &path);
        if let Some(t) = tool_stats {
            v["sccache_server_stats"] = t;
        }
        if let Some(why) = local_only {
            v["sccache_server_local_only"] = serde_json::json!(why);
        }
        println!("{v}");
    } else {
        for n in &s.notices {
            println!("notice: {n}");
        }
        if let Some(why) = &local_only {
            println!("notice: the sccache server runs without its remote cache: {why}");
        }
        print_table(&s, &path);
        if let Some(t) = tool_stats {
            println!("\nsccache's own counters (aggregate for its server, since it started):");
            if let Some(st) = t.get("stats") {
                for key in [
                    "compile_requests",
                    "requests_executed",
                    "cache_hits",
                    "cache_misses",
                    "cache_errors",
                ] {
                    if let Some(v) = st.get(key) {
                        println!("  {key:<20} {}", summarize(v));
                    }
                }
                let hits = st.get("cache_hits").and_then(total);
                let misses = st.get("cache_misses").and_then(total);
                if let (Some(h), Some(m)) = (hits, misses)
                    && h + m > 0
                {
                    println!(
                        "  {:<20} {:.1} %  (cache_hits / (cache_hits + cache_misses), since the server started)",
                        "hit rate",
                        h as f64 * 100.0 / (h + m) as f64
                    );
                }
            }
        }
    }
    Ok(0)
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
    pub input: Option<PathBuf>,
    pub pick: timeline::Pick,
}

pub fn trace(a: TraceArgs) -> anyhow::Result<i32> {
    let input = match a.input {
        Some(i) => i,
        None => {
            let (_, cfg) = super::load_config()?;
            crate::stats::trace::trace_path(&stats::stats_path(&cfg))
        }
    };
    let mut text = String::new();
    let rotated = input.with_extension("jsonl.1");
    if let Ok(old) = std::fs::read(&rotated) {
        text.push_str(&String::from_utf8_lossy(&old));
    }
    let current = std::fs::read(&input).with_context(|| {
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
        eprintln!(
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
        std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {what} to {}", path.display());
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
    let which = if a.pick.last_build {
        format!("the last of {builds} build(s)")
    } else {
        format!("{builds} build(s)")
    };
    println!(
        "{which}, started {} UTC, {} lane(s): {}",
        timeline::format_utc(t.start_us / 1_000_000),
        t.lanes,
        t.summary().line()
    );
    Ok(0)
}
