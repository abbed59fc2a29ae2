//! `toolchainkit container-args`: `docker run` / `podman run` arguments that share the
//! host's cache directory with a container. The host directory is created first; nothing
//! is printed that points the container at a directory the host does not have.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::config::{Config, Tool};
use crate::paths;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    Docker,
    Podman,
}

/// The host cache directory the tool uses: the configured one, the user's
/// `CCACHE_DIR`/`SCCACHE_DIR`, else the tool's default under `$XDG_CACHE_HOME`.
pub fn host_dir(tool: Tool, cfg: &Config, cwd: &Path) -> anyhow::Result<PathBuf> {
    if let Some(d) = cfg.tool_dir(tool) {
        return Ok(d);
    }
    let var = match tool {
        Tool::Ccache => "CCACHE_DIR",
        Tool::Sccache => "SCCACHE_DIR",
    };
    if let Some(d) = paths::var_nonempty(var) {
        return Ok(cwd.join(d));
    }
    let cache_home = match paths::var_nonempty("XDG_CACHE_HOME").map(PathBuf::from) {
        Some(p) if p.is_absolute() => p,
        _ => paths::home()
            .map(|h| h.join(".cache"))
            .context("HOME is not set: cannot tell where the cache lives; set cache.dir")?,
    };
    Ok(cache_home.join(tool.name()))
}

pub fn run(engine: Engine, target_home: &Path, tool: Option<Tool>) -> anyhow::Result<i32> {
    let (cwd, cfg) = super::load_config()?;
    let tool = match tool {
        Some(t) => t,
        None => super::env_cmd::configured_tool(&cfg, &cwd)?,
    };
    if !target_home.is_absolute() {
        bail!(
            "--target-home must be an absolute path inside the container, not `{}`",
            target_home.display()
        );
    }
    let host = host_dir(tool, &cfg, &cwd)?;
    std::fs::create_dir_all(&host)
        .with_context(|| format!("cannot create the host cache directory {}", host.display()))?;
    let host = std::fs::canonicalize(&host)
        .with_context(|| format!("cannot resolve {}", host.display()))?;
    if !host.is_dir() {
        bail!("{} is not a directory", host.display());
    }
    let host_s = host.to_str().context("the host cache path is not UTF-8")?;
    if host_s.contains(':') || host_s.contains(',') {
        bail!(
            "the host cache path {host_s} contains `:` or `,`, which a volume argument cannot hold; set cache.dir"
        );
    }
    let target = target_home.join(".cache").join(tool.name());
    let target_s = target.display().to_string();
    let var = match tool {
        Tool::Ccache => "CCACHE_DIR",
        Tool::Sccache => "SCCACHE_DIR",
    };
    let volume = match engine {
        // `:z`: relabel for SELinux hosts (podman's usual setup); harmless elsewhere.
        Engine::Podman => format!("--volume={host_s}:{target_s}:z"),
        Engine::Docker => format!("--volume={host_s}:{target_s}"),
    };
    let args = [volume, format!("--env={var}={target_s}")];
    let quoted: Vec<String> = args
        .iter()
        .map(|a| {
            if a.bytes().all(|b| !b" '\"\\$`*?[]{}()<>|&;#~!".contains(&b)) {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect();
    println!("{}", quoted.join(" "));
    let (uid, gid) = (paths::uid(), real_gid());
    let hint = match engine {
        Engine::Docker => format!(
            "run the container as your user so the cache stays yours: --user {uid}:{gid} (then pick a --target-home that user can write, e.g. /tmp/home)"
        ),
        Engine::Podman => {
            "rootless podman maps container root to your user; with another container user add --userns=keep-id".to_string()
        }
    };
    eprintln!(
        "note: {} in the container writes {} with the container's user ID; files owned by another ID cannot be pruned from the host. {hint}",
        tool.name(),
        target_s
    );
    Ok(0)
}

fn real_gid() -> u32 {
    // SAFETY: getgid has no preconditions and cannot fail.
    unsafe { libc::getgid() }
}
