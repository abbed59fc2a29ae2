//! `toolchainkit ci start|summary` (and `ci key`, in `ci_key`): a CI job's cache in a few
//! steps, the same on GitHub Actions, GitLab CI or any runner.
//!
//! - `ci start --cache-dir DIR` before the build: the variables every later step needs
//!   (the cache directory; the stats file, its mark and the trace *inside* it, so they
//!   travel with the cache that CI saves and restores while `HOME` is new each job; path
//!   rewriting set to the checkout, so a job at another path hits), appended to
//!   `$GITHUB_ENV` when set, else printed as `export` lines for `eval`; then the tool's own
//!   counters are zeroed and the stats marked, so everything after is this job's.
//! - `ci summary` after it: a Markdown job summary of the build since the mark, appended
//!   to `$GITHUB_STEP_SUMMARY` when set, else printed; `--timeline DIR` writes the build's
//!   SVG and HTML timeline for upload as an artifact.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::gate;
use crate::config::{Config, Tool};
use crate::stats::trace::{svg, timeline};
use crate::stats::{self, saved};

/// The checkout this job builds: the CI's workspace variable, else the working directory.
fn checkout(cwd: &Path) -> PathBuf {
    ["GITHUB_WORKSPACE", "CI_PROJECT_DIR"]
        .iter()
        .find_map(|v| crate::paths::var_nonempty(v))
        .map_or_else(|| cwd.to_path_buf(), PathBuf::from)
}

/// The variables `ci start` sets for the job (pure): the cache directory, the stats file
/// and trace inside it, and path rewriting to the checkout unless the configuration sets
/// its own.
pub(crate) fn job_env(cfg: &Config, cache_dir: &Path, checkout: &Path) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "TOOLCHAINKIT_CACHE_DIR".to_string(),
            cache_dir.display().to_string(),
        ),
        (
            "TOOLCHAINKIT_STATS_FILE".to_string(),
            cache_dir
                .join("toolchainkit")
                .join("stats")
                .display()
                .to_string(),
        ),
        ("TOOLCHAINKIT_TRACE".to_string(), "1".to_string()),
    ];
    if cfg.ccache.value.base_dir.is_none() {
        env.push(("CCACHE_BASEDIR".into(), checkout.display().to_string()));
    }
    if cfg.sccache.value.basedirs.is_none() {
        env.push(("SCCACHE_BASEDIRS".into(), checkout.display().to_string()));
    }
    env
}

pub(crate) fn start(cache_dir: Option<&Path>) -> anyhow::Result<i32> {
    let cwd = std::env::current_dir()?;
    let cfg0 = crate::config::load(crate::config::Place::cwd(&cwd))?;
    let dir = match cache_dir {
        Some(d) if d.is_absolute() => d.to_path_buf(),
        Some(d) => cwd.join(d),
        None => match &cfg0.dir.value {
            Some(d) => d.clone(),
            None => bail!(
                "no cache directory: pass --cache-dir DIR (the directory CI saves and restores) or set cache.dir"
            ),
        },
    };
    let env = job_env(&cfg0, &dir, &checkout(&cwd));
    for (k, v) in &env {
        if v.contains('\n') {
            bail!("{k} would hold a newline: {v:?}");
        }
        // SAFETY: single-threaded here; the variables are read by the steps below.
        unsafe { std::env::set_var(k, v) };
    }
    match append_to_file_in("GITHUB_ENV")? {
        Some(mut f) => {
            for (k, v) in &env {
                writeln!(f, "{k}={v}")?;
            }
            println!(
                "toolchainkit: cache {} (variables in $GITHUB_ENV)",
                dir.display()
            );
        }
        None => {
            for (k, v) in &env {
                println!("export {k}={}", crate::escape::shell_word(v));
            }
        }
    }
    // The configuration with those variables, as every compile of the job sees it.
    let cfg = crate::config::load(crate::config::Place::cwd(&cwd))?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if let Ok(tool) = super::env::configured_tool(&cfg, &cwd) {
        zero_tool(&cfg, &cwd, tool);
    }
    let path = stats::stats_path(&cfg);
    let (s, _) = super::stats::current(&path, false)?;
    stats::mark::save_mark(&path, &s)
        .with_context(|| format!("cannot write {}", stats::mark::mark_path(&path).display()))?;
    Ok(0)
}

/// Zero the tool's own counters so the summary's "tool's counters" are this job's.
fn zero_tool(cfg: &Config, cwd: &Path, tool: Tool) {
    match tool {
        Tool::Ccache => {
            if let Some(exe) =
                crate::backend::find_tool(tool, std::env::var_os("PATH").as_deref(), cwd)
            {
                let _ = std::process::Command::new(exe)
                    .arg("-z")
                    .envs(crate::backend::ccache::local_env(cfg))
                    .env_remove("TOOLCHAINKIT_GUARD")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        }
        Tool::Sccache => {
            let _ = super::server::zero_sccache(cwd, cfg);
        }
    }
}

/// ccache's own counters for the project's cache (`ccache --print-stats`).
fn ccache_counters(cfg: &Config, cwd: &Path) -> Option<Vec<(String, u64)>> {
    let exe = crate::backend::find_tool(Tool::Ccache, std::env::var_os("PATH").as_deref(), cwd)?;
    let out = std::process::Command::new(exe)
        .arg("--print-stats")
        .envs(crate::backend::ccache::local_env(cfg))
        .env_remove("TOOLCHAINKIT_GUARD")
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                Some((it.next()?.to_string(), it.next()?.parse().ok()?))
            })
            .collect(),
    )
}

/// The tool's own counters worth a summary line: (name, value).
fn tool_counters(
    cfg: &Config,
    cwd: &Path,
    tool: Option<Tool>,
) -> Option<(String, Vec<(String, u64)>)> {
    match tool? {
        Tool::Ccache => {
            let all = ccache_counters(cfg, cwd)?;
            let keep = [
                "direct_cache_hit",
                "preprocessed_cache_hit",
                "cache_miss",
                "remote_storage_hit",
                "remote_storage_miss",
                "files_in_cache",
                "cache_size_kibibyte",
            ];
            Some((
                "ccache --print-stats".into(),
                keep.iter()
                    .filter_map(|k| all.iter().find(|(n, _)| n == k).cloned())
                    .collect(),
            ))
        }
        Tool::Sccache => {
            let v = super::server::sccache_counters(cwd, cfg)?;
            let st = v.get("stats")?;
            let total = |key: &str| -> Option<u64> {
                let x = st.get(key)?;
                x.as_u64().or_else(|| {
                    Some(
                        x.get("counts")?
                            .as_object()?
                            .values()
                            .filter_map(serde_json::Value::as_u64)
                            .sum(),
                    )
                })
            };
            Some((
                "sccache --show-stats".into(),
                [
                    "compile_requests",
                    "requests_executed",
                    "cache_hits",
                    "cache_misses",
                    "cache_errors",
                ]
                .iter()
                .filter_map(|k| Some((k.to_string(), total(k)?)))
                .collect(),
            ))
        }
    }
}

/// The Markdown summary of one build (pure).
pub(crate) fn markdown(
    b: &super::stats::Build,
    missed: &Result<Vec<gate::Missed>, String>,
    tool: Option<(String, Vec<(String, u64)>)>,
    timeline_files: &[PathBuf],
) -> String {
    let w = &b.w;
    let hits = w.sum("hit.").count;
    let misses = w.sum("miss").count;
    let mut md = String::new();
    let _ = writeln!(md, "### toolchainkit: compile cache\n");
    let _ = writeln!(md, "| | |\n|---|---|");
    let rate = super::stats::hit_rate(w).map_or_else(|| "n/a".to_string(), |r| format!("{r:.1} %"));
    let _ = writeln!(md, "| hit rate | {rate} |");
    let _ = writeln!(md, "| hits | {hits} |");
    let _ = writeln!(md, "| misses | {misses} |");
    let _ = writeln!(md, "| time saved | {} |", saved_cell(&b.saved));
    let _ = writeln!(md, "| invocations | {} |", w.invocations);
    for (prefix, name) in [
        ("uncacheable.", "uncacheable"),
        ("fallback.", "fallbacks (no tool, or the tool failed)"),
        ("error.", "errors"),
        ("forwarded.", "forwarded"),
    ] {
        let n = w.sum(prefix).count;
        if n > 0 {
            let _ = writeln!(md, "| {name} | {n} |");
        }
    }
    if misses > 0 {
        let _ = writeln!(md, "\n#### Misses\n");
        match missed {
            Ok(list) => {
                let mut by_cause: Vec<(String, Vec<&str>)> = Vec::new();
                for m in list {
                    let cause = m.cause.clone().unwrap_or_else(|| "not explained".into());
                    match by_cause.iter_mut().find(|(c, _)| *c == cause) {
                        Some((_, objs)) => objs.push(&m.object),
                        None => by_cause.push((cause, vec![&m.object])),
                    }
                }
                by_cause.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
                let _ = writeln!(md, "| cause | misses | objects |\n|---|---|---|");
                for (cause, objs) in &by_cause {
                    let mut shown: Vec<String> = objs
                        .iter()
                        .take(10)
                        .map(|o| format!("`{}`", md_escape(o)))
                        .collect();
                    if objs.len() > 10 {
                        shown.push(format!("and {} more", objs.len() - 10));
                    }
                    let _ = writeln!(
                        md,
                        "| {} | {} | {} |",
                        md_escape(cause),
                        objs.len(),
                        shown.join(", ")
                    );
                }
            }
            Err(why) => {
                let _ = writeln!(md, "{why}");
            }
        }
    }
    let _ = writeln!(md, "\n<details><summary>Outcomes</summary>\n");
    let _ = writeln!(md, "| outcome | count | avg ms |\n|---|---|---|");
    for (k, bucket) in &w.outcomes {
        let avg = if bucket.count > 0 {
            bucket.nanos as f64 / bucket.count as f64 / 1e6
        } else {
            0.0
        };
        let _ = writeln!(md, "| `{k}` | {} | {avg:.1} |", bucket.count);
    }
    if let Some((source, counters)) = tool {
        let _ = writeln!(
            md,
            "\nThe tool's own counters (`{source}`, zeroed by `ci start`):\n"
        );
        let _ = writeln!(md, "| counter | value |\n|---|---|");
        for (k, v) in counters {
            let _ = writeln!(md, "| `{k}` | {v} |");
        }
    }
    let _ = writeln!(md, "\n</details>");
    if let Some(dir) = timeline_files.first().and_then(|p| p.parent()) {
        let names: Vec<String> = timeline_files
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| format!("`{}`", n.to_string_lossy()))
            .collect();
        let _ = writeln!(
            md,
            "\nTimeline: {} in `{}` (upload it as an artifact to keep it).",
            names.join(", "),
            dir.display()
        );
    }
    md
}

fn saved_cell(t: &saved::Saved) -> String {
    match (t.hits, t.secs) {
        (0, _) => "0.0 s".into(),
        (_, Some(s)) => format!("{s:.1} s ({})", md_escape(&t.how)),
        (_, None) => md_escape(&t.how),
    }
}

/// Text safe inside a Markdown table cell.
fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub(crate) fn summary(timeline_dir: Option<&Path>) -> anyhow::Result<i32> {
    let (cwd, cfg) = super::load_config()?;
    let path = stats::stats_path(&cfg);
    let (s, _) = super::stats::current(&path, false)?;
    let b = super::stats::build_since_mark(&path, &s);
    let missed = gate::missed_of(&b, &path);
    let tool = super::env::configured_tool(&cfg, &cwd).ok();
    let mut files = Vec::new();
    if let Some(dir) = timeline_dir {
        match write_timeline(&path, b.from_us, dir) {
            Ok(f) => files = f,
            Err(e) => eprintln!("toolchainkit: note: no timeline: {e:#}"),
        }
    }
    let md = markdown(&b, &missed, tool_counters(&cfg, &cwd, tool), &files);
    match append_to_file_in("GITHUB_STEP_SUMMARY")? {
        Some(mut f) => {
            f.write_all(md.as_bytes())?;
            println!(
                "{}",
                super::stats::summary_line(
                    &b.w,
                    &b.saved,
                    b.window,
                    b.mark.as_ref().map(|m| m.marked_at_us)
                )
            );
        }
        None => print!("{md}"),
    }
    Ok(0)
}

/// `DIR/toolchainkit-timeline.svg` and `.html` of the build since `from_us`.
fn write_timeline(stats_path: &Path, from_us: u64, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let events = stats::trace::read_events(stats_path)
        .context("no build trace (TOOLCHAINKIT_TRACE=1 or `[stats] trace = true`)")?;
    let (events, _) = timeline::select(
        events,
        timeline::Pick {
            since_us: Some(from_us),
            last_build: false,
            gap_us: 10_000_000,
        },
    );
    if events.is_empty() {
        bail!("no compile in the trace since the mark");
    }
    let t = timeline::lay_out(events);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let svg_path = dir.join("toolchainkit-timeline.svg");
    let html_path = dir.join("toolchainkit-timeline.html");
    std::fs::write(&svg_path, svg::standalone(&t))
        .with_context(|| format!("cannot write {}", svg_path.display()))?;
    std::fs::write(&html_path, svg::html(&t))
        .with_context(|| format!("cannot write {}", html_path.display()))?;
    Ok(vec![svg_path, html_path])
}

/// The file a GitHub Actions variable (`GITHUB_ENV`, `GITHUB_STEP_SUMMARY`) names, opened
/// for appending; `None` outside GitHub Actions.
fn append_to_file_in(var: &str) -> anyhow::Result<Option<std::fs::File>> {
    let Some(file) = crate::paths::var_nonempty(var) else {
        return Ok(None);
    };
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&file)
        .map(Some)
        .with_context(|| format!("cannot append to {var} ({})", Path::new(&file).display()))
}
