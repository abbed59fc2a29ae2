//! `toolchainkit stats --all`: every stats file in the state directory (and this
//! project's configured `[stats] file`, when it lives elsewhere), each with the project
//! it counts for and its hit rate and time saved, then the totals.
//!
//! A file's project comes from the `.project` file next to it. Files written before
//! project names were recorded have none until `toolchainkit stats` runs once in their
//! project; they are listed as such, never skipped. An unreadable file is listed with
//! the reason and left out of the totals.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::stats::{self, Bucket, Stats};

/// One listed file.
struct Row {
    file: PathBuf,
    project: String,
    stats: Result<Stats, String>,
}

/// The stats files to list: `*.stats` in the state directory, sorted, and `extra`.
fn files(dir: &Path, extra: Option<PathBuf>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "stats") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    if let Some(x) = extra
        && !out.contains(&x)
        && x.is_file()
    {
        out.push(x);
    }
    out
}

fn project_of(file: &Path) -> String {
    if let Some(p) = stats::recorded_project(file) {
        return p.display().to_string();
    }
    if file.file_name().is_some_and(|n| n == "default.stats") {
        "(no project file: compiles outside any project)".into()
    } else {
        "(unknown: recorded before project names were; run `toolchainkit stats` in the project once)"
            .into()
    }
}

fn rows(cfg: &Config) -> (PathBuf, Vec<Row>) {
    let dir = crate::paths::state_dir().join("stats");
    let extra = cfg.stats_file.value.clone();
    let rows = files(&dir, extra)
        .into_iter()
        .map(|file| {
            let stats = match stats::load(&file) {
                Ok(s) => Ok(s.unwrap_or_default()),
                Err(e) => Err(e.to_string()),
            };
            Row {
                project: project_of(&file),
                stats,
                file,
            }
        })
        .collect();
    (dir, rows)
}

fn rate(hits: u64, misses: u64) -> Option<f64> {
    (hits + misses > 0).then(|| hits as f64 * 100.0 / (hits + misses) as f64)
}

pub(crate) fn run(cfg: &Config, json: bool) -> anyhow::Result<i32> {
    let (dir, rows) = rows(cfg);
    let mut total = Stats::default();
    let mut saved_total = 0.0;
    let mut saved_unknown = 0u64;
    let mut listed = Vec::new();
    for r in &rows {
        let Ok(s) = &r.stats else {
            listed.push(serde_json::json!({
                "file": r.file.display().to_string(),
                "project": r.project,
                "error": r.stats.as_ref().err(),
            }));
            continue;
        };
        let t = crate::stats::saved::of_file(s, &r.file);
        match t.secs {
            Some(x) => saved_total += x,
            None => saved_unknown += t.hits,
        }
        total.invocations += s.invocations;
        for (k, b) in &s.outcomes {
            let e: &mut Bucket = total.outcomes.entry(k.clone()).or_default();
            e.count += b.count;
            e.nanos = e.nanos.saturating_add(b.nanos);
        }
        let (h, m) = (s.sum("hit.").count, s.sum("miss").count);
        listed.push(serde_json::json!({
            "file": r.file.display().to_string(),
            "project": r.project,
            "since": s.since,
            "invocations": s.invocations,
            "hits": h,
            "misses": m,
            "hit_rate": rate(h, m),
            "time_saved_secs": t.secs,
            "time_saved_basis": t.basis,
        }));
    }
    let (th, tm) = (total.sum("hit.").count, total.sum("miss").count);
    if json {
        println!(
            "{}",
            serde_json::json!({
                "dir": dir.display().to_string(),
                "files": listed,
                "total": {
                    "files": rows.len(),
                    "invocations": total.invocations,
                    "hits": th,
                    "misses": tm,
                    "hit_rate": rate(th, tm),
                    "time_saved_secs": saved_total,
                    "hits_without_miss_time": saved_unknown,
                },
            })
        );
        return Ok(0);
    }
    crate::outln!("stats files in {}", dir.display());
    if rows.is_empty() {
        crate::outln!("(none yet: no compile has been counted)");
        return Ok(0);
    }
    crate::outln!(
        "{:<24} {:>11} {:>9} {:>9} {:>9} {:>11}  project",
        "file",
        "invocations",
        "hits",
        "misses",
        "hit rate",
        "time saved"
    );
    let pct = |r: Option<f64>| r.map_or_else(|| "n/a".to_string(), |r| format!("{r:.1} %"));
    for (r, v) in rows.iter().zip(&listed) {
        let name = if r.file.parent() == Some(dir.as_path()) {
            r.file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            r.file.display().to_string()
        };
        if let Some(e) = v.get("error").and_then(|e| e.as_str()) {
            crate::outln!("{name:<24} unreadable: {e}  {}", r.project);
            continue;
        }
        let n = |k: &str| v[k].as_u64().unwrap_or(0);
        let saved = match v["time_saved_secs"].as_f64() {
            Some(x) => format!("{x:.1} s"),
            None => "unknown".into(),
        };
        crate::outln!(
            "{name:<24} {:>11} {:>9} {:>9} {:>9} {saved:>11}  {}",
            n("invocations"),
            n("hits"),
            n("misses"),
            pct(v["hit_rate"].as_f64()),
            r.project
        );
    }
    let line = format!(
        "{:<24} {:>11} {:>9} {:>9} {:>9} {:>11}  {}",
        format!("total ({} files)", rows.len()),
        total.invocations,
        th,
        tm,
        pct(rate(th, tm)),
        format!("{saved_total:.1} s"),
        if saved_unknown > 0 {
            format!("(plus {saved_unknown} hits with no miss time recorded to value them)")
        } else {
            String::new()
        }
    );
    crate::outln!("{}", line.trim_end());
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_stats_files_only_sorted_and_the_configured_one() {
        let d = tempfile::tempdir().expect("tempdir");
        for n in [
            "b.stats",
            "a.stats",
            "a.stats.lock",
            "a.stats.project",
            "x.trace.jsonl",
        ] {
            std::fs::write(d.path().join(n), b"").expect("write");
        }
        let other = tempfile::tempdir().expect("tempdir");
        let extra = other.path().join("mine");
        std::fs::write(&extra, b"").expect("write");
        let got = files(d.path(), Some(extra.clone()));
        assert_eq!(
            got,
            vec![d.path().join("a.stats"), d.path().join("b.stats"), extra]
        );
        assert_eq!(
            project_of(&d.path().join("default.stats")),
            "(no project file: compiles outside any project)"
        );
    }
}
