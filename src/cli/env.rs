//! `toolchainkit env`: the variables the configured tool needs, for CI jobs that call
//! sccache or ccache without the shim. Secrets appear only as references to the
//! variables that hold them (`${VAR}`), never as values. How each format is written so
//! that no value can run anything is `env_quote`'s job.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use anyhow::bail;

use super::env_quote::{self, Entry, Piece};
use crate::backend::remote::{self, Part, Var};
use crate::config::{Config, Tool, ToolChoice};

/// Output syntaxes. (The variants' help is plain words: completion scripts embed it.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// POSIX sh export lines, for eval in sh, bash, zsh
    Sh,
    /// fish set lines
    Fish,
    /// PowerShell assignments to env variables
    Powershell,
    /// NAME=value lines read alike by sh (set -a) and python-dotenv
    Dotenv,
    /// GitHub Actions env file (heredoc entries); secrets left out
    Github,
    /// one JSON object
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

/// The cache directory and size variables, values as the tool gets them.
fn local_vars(tool: Tool, cfg: &Config) -> Vec<(String, OsString)> {
    match tool {
        Tool::Sccache => crate::backend::sccache::server::local_env(cfg),
        Tool::Ccache => crate::backend::ccache::local_env(cfg),
    }
}

/// Where the remote's variables go: a ccache on this machine (through the storage helper
/// beside toolchainkit when that ccache starts helpers), or one in a container (its
/// built-in clients: the helper's path means nothing there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Where {
    Here,
    Container,
}

/// The remote cache's variables for `tool`, or why it cannot serve it.
pub(super) fn remote_vars(tool: Tool, cfg: &Config, place: Where) -> anyhow::Result<Vec<Var>> {
    let mut out: Vec<Var> = Vec::new();
    if let Some(r) = &cfg.remote.value {
        let vars = match (tool, place) {
            (Tool::Sccache, _) => remote::vars_for(tool, r),
            (Tool::Ccache, Where::Container) => {
                remote::ccache_vars_via(r, Err("inside a container".into()), false)
            }
            (Tool::Ccache, Where::Here) => {
                let cwd = std::env::current_dir().unwrap_or_default();
                let helpers = crate::backend::find_tool(
                    Tool::Ccache,
                    std::env::var_os("PATH").as_deref(),
                    &cwd,
                )
                .is_none_or(|exe| crate::backend::storage_helper::ccache_has_helpers(&exe));
                remote::ccache_vars_via(r, crate::backend::storage_helper::helper_path(), helpers)
            }
        };
        match vars {
            Ok(v) => out.extend(v),
            Err(u) => bail!(
                "{} cannot serve the remote cache (type = \"{}\", {}): {}\nhint: {}",
                tool.name(),
                r.kind().name(),
                cfg.remote.origin,
                u.message,
                u.fix
            ),
        }
    }
    Ok(out)
}

/// Every variable `tool` needs for `cfg` (cache dir and size, then the remote's):
/// literal bytes kept as they are (a path may not be UTF-8), secrets as references.
pub fn entries(tool: Tool, cfg: &Config, notes: &mut Vec<String>) -> anyhow::Result<Vec<Entry>> {
    let key_path = cfg.remote.value.as_ref().and_then(|r| r.key_path());
    let mut out: Vec<Entry> = local_vars(tool, cfg)
        .into_iter()
        .map(|(name, v)| Entry {
            name,
            pieces: vec![Piece::Bytes(v.into_vec())],
        })
        .collect();
    for v in remote_vars(tool, cfg, Where::Here)? {
        if v.has_hidden() {
            // A credential written literally in the configuration is never printed: there
            // is no variable to refer to, so the variable that needs it is left out.
            notes.push(format!(
                "{} is left out: it holds a credential written in the configuration file; move it to a variable and reference it with the matching `*_env` setting",
                v.name
            ));
            continue;
        }
        let pieces = if v.name == "SCCACHE_GCS_KEY_PATH"
            && let Some(k) = key_path
            && v.parts == [Part::Lit(k.display().to_string())]
        {
            // The remote mapping holds text; the path itself may not be UTF-8.
            vec![Piece::Bytes(k.as_os_str().as_bytes().to_vec())]
        } else {
            v.parts
                .into_iter()
                .map(|p| match p {
                    Part::Lit(s) | Part::Hidden(s) => Piece::Bytes(s.into_bytes()),
                    Part::Secret { var, .. } => Piece::Ref(var),
                    Part::Require(_) => Piece::Bytes(Vec::new()),
                })
                .collect()
        };
        out.push(Entry {
            name: v.name,
            pieces,
        });
    }
    Ok(out)
}

/// The whole output of one format, or the first value it cannot carry (nothing is
/// printed then, so `eval "$(toolchainkit env)"` never runs half a list).
pub fn render_all(
    tool: Tool,
    entries: &[Entry],
    format: Format,
    notes: &mut Vec<String>,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    if format == Format::Json {
        let list = entries
            .iter()
            .map(env_quote::json)
            .collect::<Result<Vec<_>, _>>()?;
        let doc = serde_json::json!({ "tool": tool.name(), "variables": list });
        out.extend_from_slice(doc.to_string().as_bytes());
        out.push(b'\n');
        return Ok(out);
    }
    if format != Format::Github {
        // `#` starts a comment in sh, fish, PowerShell and dotenv alike.
        out.extend_from_slice(
            format!(
                "# {} settings from toolchainkit; secrets are references to variables that must be set\n",
                tool.name()
            )
            .as_bytes(),
        );
    }
    let mut random = env_quote::random_hex;
    for e in entries {
        let line = match format {
            Format::Sh => env_quote::sh(e)?,
            Format::Fish => env_quote::fish(e)?,
            Format::Dotenv => env_quote::dotenv(e)?,
            Format::Powershell => env_quote::powershell(e)?,
            Format::Github => match env_quote::github(e, &mut random)? {
                Some(l) => l,
                None => {
                    let refs: Vec<String> = e.refs().iter().map(|r| format!("${{{r}}}")).collect();
                    notes.push(format!(
                        "{} is left out: it embeds the secret {}, and GitHub's env file expands no references. \
                         Set it in the workflow (`env:` with `${{{{ secrets.NAME }}}}`), or run `eval \"$(toolchainkit env)\"` in the step that builds",
                        e.name,
                        refs.join(", ")
                    ));
                    continue;
                }
            },
            Format::Json => unreachable!("handled above"),
        };
        out.extend_from_slice(&line);
    }
    Ok(out)
}

pub fn run(format: Format, tool: Option<Tool>) -> anyhow::Result<i32> {
    let (cwd, cfg) = super::load_config()?;
    let tool = match tool {
        Some(t) => t,
        None => configured_tool(&cfg, &cwd)?,
    };
    let mut notes = Vec::new();
    if let Some(p) = &cfg.project_file {
        for w in &cfg.withheld {
            notes.push(crate::config::approval::describe(p, w));
        }
    }
    let entries = entries(tool, &cfg, &mut notes)?;
    let out = render_all(tool, &entries, format, &mut notes).map_err(|e| anyhow::anyhow!(e))?;
    for n in &notes {
        crate::errln!("toolchainkit: note: {n}");
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(0)
}
