//! What `toolchainkit explain` and `toolchainkit stats` show of the records and causes:
//! choosing the records (named outputs, the last build, since the mark), the words for
//! an eviction (how full the cache is), and the one or two lines `stats` prints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::{Config, Tool};

use super::record::{Places, Record};
use super::{diff, store};

/// `2 header, 1 args`: the causes by count, most first.
pub(crate) fn causes_words(causes: &BTreeMap<String, u64>) -> Option<String> {
    let mut v: Vec<(&String, &u64)> = causes.iter().filter(|(_, n)| **n > 0).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    Some(
        v.iter()
            .map(|(c, n)| format!("{n} {c}"))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.filter_map(Result::ok) {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => total += e.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    total
}

/// The tool's cache size on disk and its limit, in GB (`[cache] size_gb`, else the
/// tool's default: ccache 5 GB, sccache 10 GiB).
pub(crate) fn usage(cfg: &Config, tool: Tool) -> Option<(f64, f64)> {
    let (dir, _) = crate::doctor::cache_dir::cache_dir(cfg, tool)?;
    let used = dir_bytes(&dir) as f64 / (1024.0 * 1024.0 * 1024.0);
    let limit = cfg.size_gb.value.unwrap_or(match tool {
        Tool::Ccache => 5.0,
        Tool::Sccache => 10.0,
    });
    Some((used, limit))
}

/// The second half of an eviction's words: how full the cache is and what to do. A cache
/// is too small when it is at 70 % of its limit or more, or when the objects recorded for
/// it add up to that much (a cache that evicts as it goes never looks full).
pub(crate) fn evicted_words(cfg: &Config, tool: Tool) -> String {
    let objects = store::tool_root(cfg, tool)
        .map(|r| store::load_all(&r))
        .unwrap_or_default()
        .iter()
        .map(|r| r.object_bytes)
        .sum::<u64>() as f64
        / (1024.0 * 1024.0 * 1024.0);
    match usage(cfg, tool) {
        Some((used, limit)) if limit > 0.0 && objects >= 0.7 * limit => format!(
            "the cache is at {} of {} GB and the recorded objects alone are {} GB: raise [cache] size_gb",
            gb(used),
            gb(limit),
            gb(objects)
        ),
        Some((used, limit)) if limit > 0.0 && used >= 0.7 * limit => format!(
            "the cache is at {} of {} GB: raise [cache] size_gb",
            gb(used),
            gb(limit)
        ),
        Some((used, limit)) => format!(
            "the cache is at {} of {} GB, not full: it was cleared or not restored (raise [cache] size_gb if it fills up)",
            gb(used),
            gb(limit)
        ),
        None => "the cache lost them: cleared, not restored, or too small ([cache] size_gb)".into(),
    }
}

fn gb(x: f64) -> String {
    if x >= 0.1 {
        format!("{x:.1}")
    } else {
        format!("{x:.4}")
    }
}

/// The lines `stats` prints under its table: the causes, and the top one's hint.
pub(crate) fn stats_lines(causes: &BTreeMap<String, u64>, cfg: &Config) -> Vec<String> {
    let Some(words) = causes_words(causes) else {
        return Vec::new();
    };
    // The most frequent cause, `cold` only when there is no other (a first compile is
    // expected; the others say what to change).
    let top = causes
        .iter()
        .filter(|(c, n)| **n > 0 && (c.as_str() != "cold" || causes.len() == 1))
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map_or("cold", |(c, _)| c.as_str());
    let mut hint = format!("{top}: {}", diff::hint(top));
    if top == "evicted"
        && let Some(tool) = configured_tool(cfg)
    {
        hint = format!("evicted: {}", evicted_words(cfg, tool));
    }
    vec![
        format!("miss causes:    {words}  (`toolchainkit explain` shows each object)"),
        format!("hint:           {hint}"),
    ]
}

/// The tool this configuration forwards to, if one is installed.
pub(crate) fn configured_tool(cfg: &Config) -> Option<Tool> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let path = std::env::var_os("PATH");
    crate::backend::choose(cfg, path.as_deref(), &cwd)
        .tool
        .map(|(t, _)| t)
}

/// Which records `explain` shows.
pub(crate) enum Pick {
    /// These outputs (as typed: relative to the working directory, or a record's name).
    Outputs(Vec<PathBuf>),
    /// The records of the build that wrote the newest one.
    LastBuild,
    /// Records written at or after this time (Unix microseconds).
    Since(u64),
}

/// The records of every tool's store for this configuration, newest first.
pub(crate) fn all_records(cfg: &Config) -> Vec<Record> {
    let mut v: Vec<Record> = Tool::ALL
        .iter()
        .filter_map(|t| store::tool_root(cfg, *t))
        .flat_map(|r| store::load_all(&r))
        .collect();
    v.sort_by_key(|r| std::cmp::Reverse(r.end_us));
    v
}

/// Choose records; the second list names outputs asked for that have none.
pub(crate) fn pick(cfg: &Config, cwd: &Path, how: &Pick) -> (Vec<Record>, Vec<PathBuf>) {
    let all = all_records(cfg);
    match how {
        Pick::LastBuild => {
            let Some(build) = all.first().map(|r| r.build.clone()) else {
                return (Vec::new(), Vec::new());
            };
            let newest = all.first().map_or(0, |r| r.end_us);
            let v = all
                .into_iter()
                .filter(|r| {
                    r.stored && r.build == build && newest.saturating_sub(r.end_us) < 86_400_000_000
                })
                .collect();
            (v, Vec::new())
        }
        Pick::Since(us) => (
            all.into_iter()
                .filter(|r| r.stored && r.end_us >= *us)
                .collect(),
            Vec::new(),
        ),
        Pick::Outputs(outs) => {
            let mut found = Vec::new();
            let mut missing = Vec::new();
            for o in outs {
                let names: Vec<String> = Tool::ALL
                    .iter()
                    .map(|t| Places::new(cfg, *t, cwd).name(o))
                    .chain(std::iter::once(super::record::text(o.as_os_str())))
                    .collect();
                let hit: Vec<&Record> = all.iter().filter(|r| names.contains(&r.output)).collect();
                if hit.is_empty() {
                    missing.push(o.clone());
                }
                for r in hit {
                    if !found
                        .iter()
                        .any(|f: &Record| f.output == r.output && f.tool == r.tool)
                    {
                        found.push(r.clone());
                    }
                }
            }
            (found, missing)
        }
    }
}

/// The detail of a record as shown: an eviction gets the cache's fill level.
pub(crate) fn detail(cfg: &Config, r: &Record) -> Vec<String> {
    let mut d = r.detail.clone();
    if r.cause == "evicted"
        && let Some(tool) = Tool::ALL.iter().copied().find(|t| t.name() == r.tool)
        && let Some(first) = d.first_mut()
    {
        *first = format!("{first}; {}", evicted_words(cfg, tool));
    }
    d
}

/// One record as a JSON object: `output`, `cause`, `detail` and what else is known.
pub(crate) fn to_json(cfg: &Config, r: &Record) -> serde_json::Value {
    serde_json::json!({
        "output": r.output,
        "cause": r.cause,
        "detail": detail(cfg, r),
        "tool": r.tool,
        "cached": r.stored,
        "uncacheable_reason": r.reason,
        "compiled_at_us": r.end_us,
        "compile_ms": r.compile_ns as f64 / 1e6,
        "bookkeeping_ms": r.bookkeeping_ns as f64 / 1e6,
        "compiler": r.compiler.path,
        "compiler_version": r.compiler.version,
        "headers_known": r.headers.is_some(),
    })
}

/// One record in words: `OUTPUT: CAUSE` then its detail, indented.
pub(crate) fn to_text(cfg: &Config, r: &Record) -> String {
    let mut s = match &r.reason {
        Some(why) => format!("{}: uncacheable ({why}); {}", r.output, r.cause),
        None => format!("{}: {}", r.output, r.cause),
    };
    for d in detail(cfg, r) {
        s.push_str("\n    ");
        s.push_str(&d);
    }
    s
}
