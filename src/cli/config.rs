//! `toolchainkit config` and `toolchainkit config check`.

use crate::config::{self, Config, ConfigError, Remote};

fn quote_path(p: &Option<std::path::PathBuf>) -> String {
    match p {
        Some(p) => format!("\"{}\"", p.display()),
        None => "(unset: the tool's own default)".into(),
    }
}

/// A key of a `[ccache]`/`[sccache]` table that no layer set comes from no file, even
/// when the table it would be in does: its origin is the default.
fn origin_unless_unset(value: &str, table: &impl std::fmt::Display) -> String {
    if value.starts_with("(unset") {
        "default".into()
    } else {
        table.to_string()
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
        let origin = origin_unless_unset(&v, &c.origin);
        out.push((k.into(), v, origin));
    }
    let s = &cfg.sccache;
    let unset = || "(unset: sccache's own setting)".to_string();
    let basedirs = s.value.basedirs.as_ref().map_or_else(unset, |v| {
        let q: Vec<String> = v.iter().map(|d| format!("\"{}\"", d.display())).collect();
        format!("[{}]", q.join(", "))
    });
    let origin = origin_unless_unset(&basedirs, &s.origin);
    out.push(("sccache.basedirs".into(), basedirs, origin));
    let direct = s.value.direct.map_or_else(unset, |b| b.to_string());
    let origin = origin_unless_unset(&direct, &s.origin);
    out.push(("sccache.direct".into(), direct, origin));
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

/// The widest `key = value` that the origin column is aligned after.
const ORIGIN_COLUMN: usize = 44;

pub fn show() -> anyhow::Result<i32> {
    let cwd = std::env::current_dir()?;
    let cfg = config::load(config::Place::cwd(&cwd))?;
    crate::outln!(
        "project file: {}",
        cfg.project_file
            .as_ref()
            .map_or("(none found from the working directory up)".into(), |p| p
                .display()
                .to_string())
    );
    match &cfg.invalid_user_file {
        Some((path, problems)) => {
            crate::outln!(
                "user file:    {} (INVALID, left out: compiles use the other layers; `toolchainkit config check` lists every problem)",
                path.display()
            );
            for p in problems {
                crate::outln!("  invalid:    {}", p.headline());
            }
        }
        None => crate::outln!(
            "user file:    {}",
            cfg.user_file.as_ref().map_or(
                format!("(none: {})", crate::paths::user_config_file().display()),
                |p| p.display().to_string()
            )
        ),
    }
    for i in &cfg.ignored {
        crate::outln!(
            "ignored:      {} ({}; see `toolchainkit doctor`)",
            i.path.display(),
            i.why
        );
    }
    if let Some(p) = &cfg.project_file {
        for w in &cfg.withheld {
            crate::outln!("withheld:     {}", config::approval::describe(p, w));
        }
    }
    crate::outln!();
    let rows = lines(&cfg);
    // Origins line up in one column, but a long value (a path) does not push every line
    // out to its width: past the column, two spaces.
    let width = rows
        .iter()
        .map(|(k, v, _)| k.len() + v.len() + 3)
        .filter(|w| *w <= ORIGIN_COLUMN)
        .max()
        .unwrap_or(0);
    for (k, v, origin) in rows {
        let kv = format!("{k} = {v}");
        crate::outln!("{kv:width$}  # {origin}");
    }
    Ok(0)
}

/// `config check`'s exit code when every problem leaves compiles working (an unset
/// secret, an invalid user file left out, a remote setting the tool ignores): degraded.
pub const EXIT_DEGRADED: i32 = 1;

/// Validate and list every problem (on stdout: the listing is the command's output).
/// Returns 0 when valid, `EXIT_CONFIG` (78) when a problem stops every compile (as a
/// compile would exit), `EXIT_DEGRADED` (1) when compiles still work despite them.
pub fn check(json: bool) -> anyhow::Result<i32> {
    let cwd = std::env::current_dir()?;
    let path_var = std::env::var_os("PATH");
    let chosen = |cfg: &Config| {
        crate::backend::choose(cfg, path_var.as_deref(), &cwd)
            .tool
            .map(|(t, _)| t)
    };
    // For ccache, what the ccache that would run can do (one that starts no storage
    // helpers reaches only redis and http remotes).
    let serves = |tool, r: &Remote| match tool {
        crate::config::Tool::Ccache => {
            let helpers =
                crate::backend::find_tool(crate::config::Tool::Ccache, path_var.as_deref(), &cwd)
                    .is_none_or(|exe| crate::backend::storage_helper::ccache_has_helpers(&exe));
            crate::backend::remote::ccache_vars_via(
                r,
                crate::backend::storage_helper::helper_path(),
                helpers,
            )
            .map(drop)
        }
        crate::config::Tool::Sccache => crate::backend::remote::vars_for(tool, r).map(drop),
    };
    let tools = config::check::Tools {
        chosen: &chosen,
        serves: &serves,
    };
    let problems: Vec<ConfigError> = config::check::check_all(config::Place::cwd(&cwd), &tools);
    // Fatal: what a compile stops on (exactly what loading the configuration refuses).
    let fatal_list: Vec<ConfigError> = match config::load(config::Place::cwd(&cwd)) {
        Ok(_) => Vec::new(),
        Err(e) => e.into_vec(),
    };
    let is_fatal = |p: &ConfigError| fatal_list.contains(p);
    let fatal = problems.iter().filter(|p| is_fatal(p)).count()
        + fatal_list.iter().filter(|p| !problems.contains(p)).count();
    let code = if fatal > 0 {
        crate::EXIT_CONFIG
    } else if problems.is_empty() {
        0
    } else {
        EXIT_DEGRADED
    };
    let status = match code {
        0 => "valid",
        crate::EXIT_CONFIG => "invalid",
        _ => "degraded",
    };
    // What an unapproved project file does not do is not a problem of the file, but it
    // must not be passed over in silence.
    let (_, cfg) = config::check(config::Place::cwd(&cwd));
    if json {
        let list: Vec<serde_json::Value> = problems
            .iter()
            .map(|p| {
                serde_json::json!({
                    "file": p.source, "line": p.line, "column": p.column,
                    "key": p.key, "message": p.message, "fix": p.hint,
                    "fatal": is_fatal(p),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "valid": problems.is_empty(),
                "status": status,
                "problems": list,
                "withheld": config::approval::to_json(cfg.project_file.as_deref(), &cfg.withheld),
            })
        );
    } else if problems.is_empty() {
        print_withheld(&cfg);
        crate::outln!("configuration is valid");
    } else {
        print_withheld(&cfg);
        for p in &problems {
            // The problem, then its `hint:` line: each line escaped on its own.
            let kind = if is_fatal(p) { "problem" } else { "degraded" };
            let text = p.to_string();
            for (i, line) in text.lines().enumerate() {
                if i == 0 {
                    crate::outln!("{kind}: {line}");
                } else {
                    crate::outln!("{line}");
                }
            }
        }
        if fatal > 0 {
            crate::outln!(
                "{} problem(s), {fatal} of them stop every compile (exit 78)",
                problems.len()
            );
        } else {
            crate::outln!(
                "{} problem(s), none stops a compile: compiles work without what they name (degraded, exit {EXIT_DEGRADED})",
                problems.len()
            );
        }
    }
    Ok(code)
}

fn print_withheld(cfg: &Config) {
    if let Some(p) = &cfg.project_file {
        for w in &cfg.withheld {
            crate::outln!("withheld: {}", config::approval::describe(p, w));
        }
    }
}
