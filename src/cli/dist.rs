//! `toolchainkit dist status [--json]`, and the distribution section of `toolchainkit
//! stats`: hosts, slots, whether each answers, and how many compiles ran where.
//!
//! The counts come from the dist stats file beside the project's (`FILE.dist`, written by
//! `backend::dist::record`): `remote.HOST`, `local`, `fallback.REASON[@HOST]`,
//! `unobserved`, each with its count and summed wall time, since the last `stats --zero`.
//! sccache-dist reports no per-compile placement, so for it the section shows sccache's
//! own aggregate counters (`dist_compiles` per build server, `dist_errors`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::backend::dist as engine;
use crate::backend::dist::probe::{icecc_listcs, probe_tcp};
use crate::config::dist::{Dist, Engine, Reach};
use crate::config::{Config, Tool};
use crate::stats::{self, Bucket, Stats};

/// The distribution counters of this project (empty when none were recorded).
pub fn load(cfg: &Config) -> Stats {
    stats::load(&engine::stats_path(cfg))
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Reset the distribution counters (with `stats --zero`).
pub fn zero(cfg: &Config) {
    let path = engine::stats_path(cfg);
    if path.exists() {
        let _ = stats::update(&path, |s| *s = Stats::default());
    }
}

fn ms(b: Bucket) -> f64 {
    b.nanos as f64 / 1e6
}

fn bucket_json(b: Bucket) -> Value {
    json!({"count": b.count, "total_ms": ms(b), "avg_ms": (b.count > 0).then(|| ms(b) / b.count as f64)})
}

/// Remote compiles per host, and fallbacks per reason and per failed host.
struct Split {
    remote: Bucket,
    local: Bucket,
    fallback: Bucket,
    unobserved: Bucket,
    /// Compiles a failing host lost to another host.
    retried: u64,
    hosts: BTreeMap<String, Bucket>,
    reasons: BTreeMap<String, u64>,
    failed_hosts: BTreeMap<String, u64>,
}

fn split(s: &Stats) -> Split {
    let mut hosts = BTreeMap::new();
    let mut reasons = BTreeMap::new();
    let mut failed_hosts = BTreeMap::new();
    for (k, b) in &s.outcomes {
        if let Some(h) = k.strip_prefix("remote.") {
            hosts.insert(h.to_string(), *b);
        } else if let Some(h) = k.strip_prefix("retried@") {
            *failed_hosts.entry(h.to_string()).or_insert(0) += b.count;
        } else if let Some(r) = k.strip_prefix("fallback.") {
            let (reason, host) = r.split_once('@').map_or((r, None), |(a, h)| (a, Some(h)));
            *reasons.entry(reason.to_string()).or_insert(0) += b.count;
            if let Some(h) = host {
                *failed_hosts.entry(h.to_string()).or_insert(0) += b.count;
            }
        }
    }
    Split {
        remote: s.sum("remote."),
        local: s.sum("local"),
        fallback: s.sum("fallback."),
        unobserved: s.sum("unobserved"),
        retried: s
            .outcomes
            .iter()
            .filter(|(k, _)| k.starts_with("retried@"))
            .map(|(_, b)| b.count)
            .sum(),
        hosts,
        reasons,
        failed_hosts,
    }
}

/// Compiles that reached the engine (the placements; `retried@` events are not compiles).
fn compiles(sp: &Split) -> u64 {
    sp.remote.count + sp.local.count + sp.fallback.count + sp.unobserved.count
}

fn share(sp: &Split) -> Option<f64> {
    let total = sp.remote.count + sp.local.count + sp.fallback.count;
    (total > 0).then(|| sp.remote.count as f64 * 100.0 / total as f64)
}

/// sccache's dist counters from `sccache --show-stats --stats-format=json`.
fn sccache_dist_counters(tool_stats: Option<&Value>) -> Option<Value> {
    let st = tool_stats?.get("stats")?;
    Some(json!({
        "dist_compiles": st.get("dist_compiles").cloned().unwrap_or(Value::Null),
        "dist_errors": st.get("dist_errors").cloned().unwrap_or(Value::Null),
    }))
}

/// The `dist` object of `stats --json`; `None` when the project has no `[dist]` and no
/// distribution was ever recorded.
pub fn stats_json(cfg: &Config, tool_stats: Option<&Value>) -> Option<Value> {
    let d = engine::active(cfg);
    let s = load(cfg);
    if d.is_none() && s.invocations == 0 {
        return None;
    }
    let sp = split(&s);
    let mut v = json!({
        "engine": d.map_or("none", |d| d.engine.name()),
        "file": engine::stats_path(cfg).display().to_string(),
        "since": s.since,
        "compiles": compiles(&sp),
        "remote": bucket_json(sp.remote),
        "local": bucket_json(sp.local),
        "fallback": bucket_json(sp.fallback),
        "unobserved": sp.unobserved.count,
        "retried": sp.retried,
        "remote_share": share(&sp),
        "hosts": sp.hosts.iter().map(|(h, b)| (h.clone(), bucket_json(*b))).collect::<serde_json::Map<_, _>>(),
        "fallback_reasons": sp.reasons,
        "failed_hosts": sp.failed_hosts,
    });
    if d.is_some_and(|d| d.engine == Engine::SccacheDist) {
        v["per_compile"] = json!(false);
        v["sccache"] = sccache_dist_counters(tool_stats).unwrap_or(Value::Null);
    }
    Some(v)
}

/// The distribution section of the `stats` table.
pub fn print_stats(cfg: &Config, tool_stats: Option<&Value>) {
    let Some(v) = stats_json(cfg, tool_stats) else {
        return;
    };
    let s = load(cfg);
    let sp = split(&s);
    crate::outln!();
    crate::outln!("distribution ({}):", v["engine"].as_str().unwrap_or("none"));
    if v["engine"] == "sccache-dist" {
        crate::outln!(
            "  sccache reports no per-compile placement; its own counters (since its server started):"
        );
        match sccache_dist_counters(tool_stats) {
            Some(c) => {
                crate::outln!("  dist_compiles        {}", c["dist_compiles"]);
                crate::outln!("  dist_errors          {}", c["dist_errors"]);
            }
            None => crate::outln!("  (the sccache server is not running)"),
        }
        return;
    }
    let row = |name: &str, b: Bucket| {
        let avg = if b.count > 0 {
            format!("{:.1} ms avg", ms(b) / b.count as f64)
        } else {
            "-".into()
        };
        crate::outln!("  {name:<22} {:>7}  {avg}", b.count);
    };
    row("remote", sp.remote);
    for (h, b) in &sp.hosts {
        row(&format!("  on {h}"), *b);
    }
    row("local (engine's choice)", sp.local);
    row("fallback to local", sp.fallback);
    for (r, n) in &sp.reasons {
        crate::outln!("    {r:<20} {n:>7}");
    }
    if sp.retried > 0 {
        crate::outln!(
            "  {:<22} {:>7}  (a host failed them; distcc moved them to another host)",
            "moved to another host",
            sp.retried
        );
    }
    for (h, n) in &sp.failed_hosts {
        crate::outln!("  {:<22} {n:>7}", format!("failures of {h}"));
    }
    if sp.unobserved.count > 0 {
        row("not reported", sp.unobserved);
    }
    match share(&sp) {
        Some(p) => crate::outln!(
            "  remote share           {p:.1} %  (of compiles the engine ran; cache hits never leave this machine)"
        ),
        None => crate::outln!("  remote share           n/a (no compile reached the engine yet)"),
    }
}

/// `sccache --dist-status` of the server for this project, when it runs.
fn sccache_dist_status(cfg: &Config) -> Option<Value> {
    let cwd = std::env::current_dir().ok()?;
    let exe = crate::backend::find_tool(Tool::Sccache, std::env::var_os("PATH").as_deref(), &cwd)?;
    let sock = crate::backend::sccache::server::socket_for(
        &exe,
        &crate::backend::sccache::server::env(cfg),
    );
    if !crate::backend::sccache::server::server_up(&sock) {
        return None;
    }
    if crate::backend::sccache::server::is_stopped(&sock) {
        return None;
    }
    let out = crate::process::output_within(
        std::process::Command::new(&exe)
            .arg("--dist-status")
            .env("SCCACHE_SERVER_UDS", &sock)
            .env_remove("SCCACHE_SERVER_PORT"),
        crate::process::QUERY_TIMEOUT,
    )?;
    serde_json::from_slice(&out.stdout).ok()
}

fn distcc_rows(d: &Dist, sp: &Split) -> Vec<Value> {
    let mut rows = Vec::new();
    for h in &d.hosts {
        let label = h.label();
        let (reach, state) = match &h.reach {
            Reach::Local => ("local".to_string(), json!("this machine")),
            Reach::Ssh { .. } => ("ssh".into(), json!("not probed (ssh)")),
            Reach::Tcp { host, port } => (
                if h.auth { "tcp+gssapi" } else { "tcp" }.into(),
                match probe_tcp(host, *port) {
                    Ok(()) => json!("up"),
                    Err(e) => json!(format!("down: {e}")),
                },
            ),
        };
        rows.push(json!({
            "host": h.spec,
            "label": label,
            "reach": reach,
            "slots": h.limit.unwrap_or(if h.reach == Reach::Local { 2 } else { 4 }),
            "state": state,
            "remote_compiles": sp.hosts.get(&label).map_or(0, |b| b.count),
            "failures": sp.failed_hosts.get(&label).copied().unwrap_or(0),
        }));
    }
    if let Some(n) = d.local_slots {
        rows.push(json!({"host": format!("localhost/{n}"), "label": "localhost", "reach": "local", "slots": n, "state": "this machine", "remote_compiles": 0, "failures": 0}));
    }
    rows
}

/// `toolchainkit dist status`.
pub fn status(json_out: bool) -> anyhow::Result<i32> {
    let (_cwd, cfg) = super::load_config()?;
    let Some(d) = engine::active(&cfg).cloned() else {
        if json_out {
            println!("{}", json!({"engine": "none"}));
        } else {
            crate::outln!("distribution: off (no [dist] engine configured)");
        }
        return Ok(0);
    };
    let s = load(&cfg);
    let sp = split(&s);
    let mut v = json!({
        "engine": d.engine.name(),
        "origin": cfg.dist.origin.to_string(),
        "compiles": compiles(&sp),
        "retried": sp.retried,
        "remote": sp.remote.count,
        "local": sp.local.count,
        "fallback": sp.fallback.count,
        "remote_share": share(&sp),
        "since": s.since,
    });
    let mut down = false;
    match d.engine {
        Engine::None => {}
        Engine::Distcc => {
            let rows = distcc_rows(&d, &sp);
            down = rows
                .iter()
                .any(|r| r["state"].as_str().is_some_and(|s| s.starts_with("down")));
            v["hosts"] = Value::Array(rows);
            v["distcc_hosts"] = json!(engine::distcc_hosts(&d));
        }
        Engine::Icecc => {
            if let Some((h, p)) = &d.scheduler {
                v["scheduler"] = json!(format!("{h}:{p}"));
                match icecc_listcs(h, *p) {
                    Ok(list) => {
                        v["hosts"] = Value::Array(
                            list.iter()
                                .map(|c| json!({"name": c.name, "address": c.addr, "jobs": c.jobs, "load": c.load, "remote_compiles": sp.hosts.get(c.addr.rsplit_once(':').map_or(c.addr.as_str(), |(a, _)| a)).map_or(0, |b| b.count)}))
                                .collect(),
                        );
                    }
                    Err(e) => {
                        down = true;
                        v["scheduler_state"] = json!(format!("down: {e}"));
                    }
                }
            }
        }
        Engine::SccacheDist => {
            v["scheduler_url"] = json!(d.scheduler_url);
            v["scheduler_status"] = sccache_dist_status(&cfg)
                .unwrap_or_else(|| json!("unknown: the sccache server for this project is not running (it starts with the first compile)"));
        }
    }
    if json_out {
        println!("{v}");
        return Ok(i32::from(down));
    }
    crate::outln!("engine:        {} ({})", d.engine.name(), cfg.dist.origin);
    match d.engine {
        Engine::Distcc => {
            crate::outln!(
                "DISTCC_HOSTS:  {}",
                v["distcc_hosts"].as_str().unwrap_or("")
            );
            crate::outln!();
            crate::outln!(
                "{:<28} {:<10} {:>5}  {:<28} {:>8} {:>9}",
                "host",
                "reach",
                "slots",
                "state",
                "remote",
                "failures"
            );
            for r in v["hosts"].as_array().into_iter().flatten() {
                crate::outln!(
                    "{:<28} {:<10} {:>5}  {:<28} {:>8} {:>9}",
                    r["host"].as_str().unwrap_or(""),
                    r["reach"].as_str().unwrap_or(""),
                    r["slots"],
                    r["state"].as_str().unwrap_or(""),
                    r["remote_compiles"],
                    r["failures"]
                );
            }
        }
        Engine::Icecc => {
            crate::outln!("scheduler:     {}", v["scheduler"].as_str().unwrap_or(""));
            if let Some(e) = v["scheduler_state"].as_str() {
                crate::outln!("               {e}");
            }
            for r in v["hosts"].as_array().into_iter().flatten() {
                crate::outln!(
                    "  {:<20} {:<24} jobs {:<7} load {:<6} remote {}",
                    r["name"].as_str().unwrap_or(""),
                    r["address"].as_str().unwrap_or(""),
                    r["jobs"].as_str().unwrap_or(""),
                    r["load"].as_str().unwrap_or(""),
                    r["remote_compiles"]
                );
            }
        }
        Engine::SccacheDist => {
            crate::outln!(
                "scheduler:     {}",
                d.scheduler_url.as_deref().unwrap_or("")
            );
            crate::outln!("status:        {}", v["scheduler_status"]);
        }
        Engine::None => {}
    }
    crate::outln!();
    match share(&sp) {
        Some(p) => crate::outln!(
            "recent remote share: {p:.1} % ({} remote, {} local, {} fallback since the last `stats --zero`)",
            sp.remote.count,
            sp.local.count,
            sp.fallback.count
        ),
        None if d.engine == Engine::SccacheDist => crate::outln!(
            "recent remote share: see `toolchainkit stats` (sccache counts distributed compiles per server)"
        ),
        None => crate::outln!("recent remote share: n/a (no compile reached the engine yet)"),
    }
    Ok(i32::from(down))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_counts() {
        let mut s = Stats::default();
        s.outcomes.insert(
            "remote.a".into(),
            Bucket {
                count: 3,
                nanos: 30,
            },
        );
        s.outcomes
            .insert("local".into(), Bucket { count: 1, nanos: 1 });
        s.outcomes.insert(
            "fallback.host_failed@b".into(),
            Bucket { count: 2, nanos: 2 },
        );
        s.outcomes
            .insert("fallback.no_host".into(), Bucket { count: 1, nanos: 1 });
        let sp = split(&s);
        assert_eq!(
            (sp.remote.count, sp.local.count, sp.fallback.count),
            (3, 1, 3)
        );
        assert_eq!(sp.failed_hosts["b"], 2);
        assert_eq!(sp.reasons["host_failed"], 2);
        assert_eq!(share(&sp), Some(3.0 * 100.0 / 7.0));
    }
}
