//! `toolchainkit tool install|list`: the cache tools toolchainkit manages.

use std::path::Path;

use crate::config::Tool;
use crate::managed::{self, version_of, wheel};

pub(crate) fn install(
    tool: Tool,
    version: Option<&str>,
    dir: Option<&Path>,
    sha256: Option<&str>,
    allow_unverified: bool,
) -> anyhow::Result<i32> {
    let version = version.unwrap_or_else(|| tool.default_version());
    let path = wheel::install(&wheel::Request {
        tool,
        version,
        dir,
        sha256,
        allow_unverified,
        quiet: false,
    })?;
    let v = version_of(&path)
        .ok()
        .and_then(|t| t.lines().next().map(str::to_string))
        .unwrap_or_default();
    crate::outln!("installed {} ({v}) at {}", tool.name(), path.display());
    if dir.is_some() {
        crate::outln!(
            "note: compiles look in {} (after PATH); put {} in PATH to use this one",
            managed::bin_dir(None).display(),
            path.parent().unwrap_or(Path::new("/")).display()
        );
    }
    Ok(0)
}

pub(crate) fn list() -> anyhow::Result<i32> {
    let cwd = std::env::current_dir()?;
    let path_var = std::env::var_os("PATH");
    for tool in Tool::ALL {
        let managed = managed::bin_dir(None).join(tool.name());
        if managed.is_file() {
            let v = version_of(&managed)
                .ok()
                .and_then(|t| t.lines().next().map(str::to_string))
                .unwrap_or_else(|| "version unknown".into());
            crate::outln!("{:<8} managed: {} ({v})", tool.name(), managed.display());
        } else {
            crate::outln!("{:<8} managed: not installed", tool.name());
        }
        match path_var
            .as_deref()
            .and_then(|pv| which::which_in(tool.name(), Some(pv), &cwd).ok())
        {
            Some(p) => crate::outln!("{:<8} PATH:    {} (used first)", "", p.display()),
            None => crate::outln!("{:<8} PATH:    none", ""),
        }
    }
    Ok(0)
}
