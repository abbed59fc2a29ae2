//! `toolchainkit config` and `toolchainkit config check`.

use crate::config::keys::Show;
use crate::config::{self, Config, ConfigError, Remote};

/// Every effective setting with its origin, as `key = value  # origin` lines, in the
/// order and form each key declares (`config::keys`). A key no layer set shows what
/// stands in for it and the origin `default`.
pub(crate) fn lines(cfg: &Config) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for key in config::keys::listed() {
        match key.show {
            Show::No => {}
            Show::Value { get, unset } => {
                let (value, origin) = get(cfg);
                let row = match value {
                    Some(v) => (v, origin.to_string()),
                    None if unset.is_empty() => (
                        format!("(per project: {})", crate::stats::stats_path(cfg).display()),
                        "default".into(),
                    ),
                    None => (unset.to_string(), "default".into()),
                };
                out.push((key.name.to_string(), row.0, row.1));
            }
            Show::Remote => {
                let origin = cfg.remote.origin.to_string();
                match &cfg.remote.value {
                    None => out.push((key.name.into(), "(none)".into(), origin)),
                    Some(r) => out.extend(
                        config::remote::describe(r)
                            .into_iter()
                            .map(|(k, v)| (format!("{}.{k}", key.name), v, origin.clone())),
                    ),
                }
            }
            Show::Dist => {
                let origin = cfg.dist.origin.to_string();
                match &cfg.dist.value {
                    None => out.push(("dist.engine".into(), "\"none\"".into(), origin)),
                    Some(d) => out.extend(
                        config::dist::describe(d)
                            .into_iter()
                            .map(|(k, v)| (format!("{}.{k}", key.name), v, origin.clone())),
                    ),
                }
            }
        }
    }
    out
}

/// The widest `key = value` that the origin column is aligned after.
const ORIGIN_COLUMN: usize = 44;

pub(crate) fn show() -> anyhow::Result<i32> {
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
pub(crate) const EXIT_DEGRADED: i32 = 1;

/// Validate and list every problem (on stdout: the listing is the command's output).
/// Returns 0 when valid, `EXIT_CONFIG` (78) when a problem stops every compile (as a
/// compile would exit), `EXIT_DEGRADED` (1) when compiles still work despite them.
pub(crate) fn check(json: bool) -> anyhow::Result<i32> {
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
