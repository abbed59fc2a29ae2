//! `toolchainkit config` and `toolchainkit config check`.

use crate::config::{self, Config, ConfigError, Remote};

fn quote_path(p: &Option<std::path::PathBuf>) -> String {
    match p {
        Some(p) => format!("\"{}\"", p.display()),
        None => "(unset: the tool's own default)".into(),
    }
}

/// Every effective setting with its origin, as `key = value  # origin` lines.
pub fn lines(cfg: &Config) -> Vec<(String, String, String)> {
    let prefer: Vec<String> = cfg
        .prefer
        .value
        .iter()
        .map(|t| format!("\"{}\"", t.name()))
        .collect();
    let mut out = vec![
        (
            "cache.enabled".into(),
            cfg.enabled.value.to_string(),
            cfg.enabled.origin.to_string(),
        ),
        (
            "cache.tool".into(),
            format!("\"{}\"", cfg.tool.value.name()),
            cfg.tool.origin.to_string(),
        ),
        (
            "cache.prefer".into(),
            format!("[{}]", prefer.join(", ")),
            cfg.prefer.origin.to_string(),
        ),
        (
            "cache.dir".into(),
            quote_path(&cfg.dir.value),
            cfg.dir.origin.to_string(),
        ),
        (
            "cache.size_gb".into(),
            cfg.size_gb
                .value
                .map_or("(unset: the tool's own default)".into(), |v| v.to_string()),
            cfg.size_gb.origin.to_string(),
        ),
        (
            "cache.install".into(),
            cfg.install.value.to_string(),
            cfg.install.origin.to_string(),
        ),
        (
            "cache.sccache_client".into(),
            format!("\"{}\"", cfg.sccache_client.value.name()),
            cfg.sccache_client.origin.to_string(),
        ),
        (
            "cache.verify".into(),
            cfg.verify.value.describe(),
            cfg.verify.origin.to_string(),
        ),
    ];
    match &cfg.remote.value {
        None => out.push((
            "cache.remote".into(),
            "(none)".into(),
            cfg.remote.origin.to_string(),
        )),
        Some(r) => {
            for (k, v) in crate::config::remote::describe(r) {
                out.push((
                    format!("cache.remote.{k}"),
                    v,
                    cfg.remote.origin.to_string(),
                ));
            }
        }
    }
    let c = &cfg.ccache;
    let list = |v: &[String]| {
        let q: Vec<String> = v.iter().map(|s| format!("\"{s}\"")).collect();
        format!("[{}]", q.join(", "))
    };
    let unset = || "(unset: ccache's own setting)".to_string();
    for (k, v) in [
        (
            "ccache.base_dir",
            c.value
                .base_dir
                .as_ref()
                .map_or_else(unset, |d| format!("\"{}\"", d.display())),
        ),
        (
            "ccache.compiler_check",
            c.value
                .compiler_check
                .as_ref()
                .map_or_else(unset, |v| format!("\"{v}\"")),
        ),
        (
            "ccache.sloppiness",
            c.value.sloppiness.as_deref().map_or_else(unset, list),
        ),
        (
            "ccache.hash_dir",
            c.value.hash_dir.map_or_else(unset, |b| b.to_string()),
        ),
        (
            "ccache.compression",
            c.value.compression.map_or_else(unset, |b| b.to_string()),
        ),
        (
            "ccache.compression_level",
            c.value
                .compression_level
                .map_or_else(unset, |l| l.to_string()),
        ),
    ] {
        out.push((k.into(), v, c.origin.to_string()));
    }
    let s = &cfg.sccache;
    let unset = || "(unset: sccache's own setting)".to_string();
    out.push((
        "sccache.basedirs".into(),
        s.value.basedirs.as_ref().map_or_else(unset, |v| {
            let q: Vec<String> = v.iter().map(|d| format!("\"{}\"", d.display())).collect();
            format!("[{}]", q.join(", "))
        }),
        s.origin.to_string(),
    ));
    out.push((
        "sccache.direct".into(),
        s.value.direct.map_or_else(unset, |b| b.to_string()),
        s.origin.to_string(),
    ));
    match &cfg.dist.value {
        None => out.push((
            "dist.engine".into(),
            "\"none\"".into(),
            cfg.dist.origin.to_string(),
        )),
        Some(d) => {
            for (k, v) in crate::config::dist::describe(d) {
                out.push((format!("dist.{k}"), v, cfg.dist.origin.to_string()));
            }
        }
    }
    out.push((
        "stats.file".into(),
        match &cfg.stats_file.value {
            Some(p) => format!("\"{}\"", p.display()),
            None => format!("(per project: {})", crate::stats::stats_path(cfg).display()),
        },
        cfg.stats_file.origin.to_string(),
    ));
    out.push((
        "stats.trace".into(),
        cfg.trace.value.to_string(),
        cfg.trace.origin.to_string(),
    ));
    out.push((
        "stats.trace_max_mb".into(),
        cfg.trace_max_mb.value.to_string(),
        cfg.trace_max_mb.origin.to_string(),
    ));
    out
}

pub fn show() -> anyhow::Result<i32> {
    let cwd = std::env::current_dir()?;
    let cfg = config::load(config::Place::cwd(&cwd))?;
    println!(
        "project file: {}",
        cfg.project_file
            .as_ref()
            .map_or("(none found from the working directory up)".into(), |p| p
                .display()
                .to_string())
    );
    println!(
        "user file:    {}",
        cfg.user_file.as_ref().map_or(
            format!("(none: {})", crate::paths::user_config_file().display()),
            |p| p.display().to_string()
        )
    );
    for i in &cfg.ignored {
        println!(
            "ignored:      {} ({}; see `toolchainkit doctor`)",
            i.path.display(),
            i.why
        );
    }
    println!();
    let rows = lines(&cfg);
    let width = rows
        .iter()
        .map(|(k, v, _)| k.len() + v.len() + 3)
        .max()
        .unwrap_or(0);
    for (k, v, origin) in rows {
        let kv = format!("{k} = {v}");
        println!("{kv:width$}  # {origin}");
    }
    Ok(0)
}

/// Validate and list every problem (on stdout: the listing is the command's output).
/// Returns 0 when valid, `EXIT_CONFIG` (78) otherwise, as a compile would.
pub fn check(json: bool) -> anyhow::Result<i32> {
    let cwd = std::env::current_dir()?;
    let path_var = std::env::var_os("PATH");
    let chosen = |cfg: &Config| {
        crate::backend::choose(cfg, path_var.as_deref(), &cwd)
            .tool
            .map(|(t, _)| t)
    };
    let serves = |tool, r: &Remote| crate::backend::remote::vars_for(tool, r).map(drop);
    let tools = config::check::Tools {
        chosen: &chosen,
        serves: &serves,
    };
    let problems: Vec<ConfigError> = config::check::check_all(config::Place::cwd(&cwd), &tools);
    if json {
        let list: Vec<serde_json::Value> = problems
            .iter()
            .map(|p| {
                serde_json::json!({
                    "file": p.source, "line": p.line, "column": p.column,
                    "key": p.key, "message": p.message, "fix": p.hint,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({ "valid": problems.is_empty(), "problems": list })
        );
    } else if problems.is_empty() {
        println!("configuration is valid");
    } else {
        for p in &problems {
            println!("problem: {p}");
        }
        println!("{} problem(s)", problems.len());
    }
    Ok(if problems.is_empty() {
        0
    } else {
        crate::EXIT_CONFIG
    })
}
