//! `toolchainkit env`: the variables the configured tool needs, for CI jobs that call
//! sccache or ccache without the shim. Secrets appear only as references to the
//! variables that hold them (`${VAR}`), never as values.

use std::ffi::OsString;

use anyhow::bail;

use crate::backend::remote::{self, Part, Var};
use crate::config::{Config, Tool, ToolChoice};

/// Output syntaxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Sh,
    Fish,
    Powershell,
    Dotenv,
    Json,
}

/// The tool the configuration uses here: `tool = ...`, else the one `auto` finds.
pub fn configured_tool(cfg: &Config, cwd: &std::path::Path) -> anyhow::Result<Tool> {
    Ok(match cfg.tool.value {
        ToolChoice::Sccache => Tool::Sccache,
        ToolChoice::Ccache => Tool::Ccache,
        ToolChoice::None => bail!(
            "`cache.tool` is \"none\" ({}): no tool to configure",
            cfg.tool.origin
        ),
        ToolChoice::Auto => {
            let choice = crate::backend::choose(cfg, std::env::var_os("PATH").as_deref(), cwd);
            match choice.tool {
                Some((t, _)) => t,
                None => bail!(
                    "no cache tool found ({}); pass --tool sccache|ccache",
                    choice.why
                ),
            }
        }
    })
}

fn lossy(v: OsString) -> String {
    v.to_string_lossy().into_owned()
}

/// Every variable `tool` needs for `cfg`: cache dir and size, then the remote's.
pub fn vars(tool: Tool, cfg: &Config) -> anyhow::Result<Vec<Var>> {
    let mut out: Vec<Var> = Vec::new();
    let base = match tool {
        Tool::Sccache => crate::backend::sccache::local_env(cfg),
        Tool::Ccache => {
            let mut e = Vec::new();
            if let Some(d) = cfg.tool_dir(Tool::Ccache) {
                e.push(("CCACHE_DIR".to_string(), d.into_os_string()));
            }
            if let Some(gb) = cfg.size_gb.value {
                e.push((
                    "CCACHE_MAXSIZE".to_string(),
                    format!("{}Mi", (gb * 1024.0).round() as u64).into(),
                ));
            }
            e
        }
    };
    for (k, v) in base {
        out.push(Var {
            name: k,
            parts: vec![Part::Lit(lossy(v))],
        });
    }
    if let Some(r) = &cfg.remote.value {
        match remote::vars_for(tool, r) {
            Ok(v) => out.extend(v),
            Err(u) => bail!(
                "{} cannot serve the remote cache (type = \"{}\", {}): {}\nhint: {}",
                tool.name(),
                r.kind.name(),
                cfg.remote.origin,
                u.message,
                u.fix
            ),
        }
    }
    Ok(out)
}

fn sh_single(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn fish_single(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn ps_single(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One variable in `format` (not json).
pub fn render(v: &Var, format: Format) -> String {
    let pieces = |lit: &dyn Fn(&str) -> String, var: &dyn Fn(&str) -> String, sep: &str| {
        let parts: Vec<String> = v
            .parts
            .iter()
            .map(|p| match p {
                Part::Lit(s) => lit(s),
                Part::Hidden(_) => lit("(hidden)"),
                Part::Secret { var: name, .. } => var(name),
            })
            .collect();
        if parts.is_empty() {
            lit("")
        } else {
            parts.join(sep)
        }
    };
    match format {
        Format::Sh => format!(
            "export {}={}",
            v.name,
            pieces(&sh_single, &|n| format!("\"${{{n}}}\""), "")
        ),
        Format::Fish => format!(
            "set -gx {} {}",
            v.name,
            pieces(&fish_single, &|n| format!("\"${n}\""), "")
        ),
        Format::Powershell => format!(
            "$env:{} = {}",
            v.name,
            pieces(&ps_single, &|n| format!("$env:{n}"), " + ")
        ),
        Format::Dotenv | Format::Json => {
            let body = pieces(
                &|s: &str| {
                    s.replace('\\', "\\\\")
                        .replace('"', "\\\"")
                        .replace('$', "\\$")
                },
                &|n| format!("${{{n}}}"),
                "",
            );
            format!("{}=\"{body}\"", v.name)
        }
    }
}

fn json_value(v: &Var) -> String {
    v.parts
        .iter()
        .map(|p| match p {
            Part::Lit(s) => s.clone(),
            Part::Hidden(_) => "(hidden)".into(),
            Part::Secret { var, .. } => format!("${{{var}}}"),
        })
        .collect()
}

pub fn run(format: Format, tool: Option<Tool>) -> anyhow::Result<i32> {
    let (cwd, cfg) = super::load_config()?;
    let tool = match tool {
        Some(t) => t,
        None => configured_tool(&cfg, &cwd)?,
    };
    let mut vars = vars(tool, &cfg)?;
    // A credential written literally in the configuration is never printed: there is no
    // variable to refer to, so the variable that needs it is left out, with a note.
    vars.retain(|v| {
        if v.has_hidden() {
            eprintln!(
                "toolchainkit: {} is left out: it holds a credential written in the configuration file; move it to a variable and reference it with the matching `*_env` setting",
                v.name
            );
        }
        !v.has_hidden()
    });
    if format == Format::Json {
        let list: Vec<serde_json::Value> = vars
            .iter()
            .map(|v| {
                serde_json::json!({
                    "name": v.name,
                    "value": json_value(v),
                    "secret_refs": v.refs(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({ "tool": tool.name(), "variables": list })
        );
        return Ok(0);
    }
    // `#` starts a comment in sh, fish, PowerShell and dotenv alike.
    println!(
        "# {} settings from toolchainkit; secrets are references to variables that must be set",
        tool.name()
    );
    for v in &vars {
        println!("{}", render(v, format));
    }
    Ok(0)
}
