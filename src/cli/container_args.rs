//! `toolchainkit container-args`: `docker run` / `podman run` arguments that share the
//! host's cache directory with a container. The host directory is created first; nothing
//! is printed that points the container at a directory the host does not have.
//!
//! Besides the directory, the container gets what its tool needs to hit the same cache:
//! the cache size, ccache's `compiler_check = content` (`CCACHE_COMPILERCHECK`; a fresh
//! image's compiler has a new mtime, which the default `mtime` check would make a miss
//! every time) and the remote's settings, anything holding a secret by name only
//! (`--env=NAME`, whose value the engine copies from its own environment).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::backend::remote::Part;
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
    let var = tool.dir_var();
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

/// One `--env` argument: a value printed as it is, or a name whose value the engine
/// copies from its own environment (`--env=NAME`, for anything holding a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvArg {
    Value(String, String),
    ByName(String),
}

impl EnvArg {
    fn arg(&self) -> String {
        match self {
            EnvArg::Value(k, v) => format!("--env={k}={v}"),
            EnvArg::ByName(k) => format!("--env={k}"),
        }
    }
}

/// Is `endpoint`'s host the loopback (which inside a container is the container)?
pub fn is_loopback(endpoint: &str) -> bool {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    let hostport = rest.split(['/', '?']).next().unwrap_or("");
    let hostport = hostport.rsplit_once('@').map_or(hostport, |(_, h)| h);
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        hostport.split(':').next().unwrap_or("")
    };
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

/// The settings the container's tool needs besides its directory: the cache size,
/// ccache's `compiler_check` (content: a fresh image's compiler has a new mtime), and
/// the remote's variables, secrets by name only. Notes for stderr go to `notes`.
pub fn tool_settings(
    tool: Tool,
    cfg: &Config,
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<EnvArg>> {
    let mut out = Vec::new();
    if let Some(gb) = cfg.size_gb.value {
        let mib = (gb * 1024.0).round() as u64;
        let (var, value) = tool.size_var(mib);
        out.push(EnvArg::Value(var.into(), value));
    }
    if tool == Tool::Ccache {
        let check = paths::var_nonempty("CCACHE_COMPILERCHECK")
            .and_then(|v| v.into_string().ok())
            .unwrap_or_else(|| "content".into());
        out.push(EnvArg::Value("CCACHE_COMPILERCHECK".into(), check));
    }
    for v in super::env::remote_vars(tool, cfg, super::env::Where::Container)? {
        if v.has_hidden() {
            notes.push(format!(
                "{} is left out: it holds a credential written in the configuration file; move it to a variable and reference it with the matching `*_env` setting",
                v.name
            ));
            continue;
        }
        if v.is_secret() {
            let refs: Vec<&str> = v.refs();
            if refs != [v.name.as_str()] {
                notes.push(format!(
                    "--env={} passes {} by name: {} copies its value from the environment it runs in, \
                     so define it there first, from {}: `eval \"$(toolchainkit env)\"` does",
                    v.name,
                    v.name,
                    "the engine",
                    refs.join(", ")
                ));
            }
            out.push(EnvArg::ByName(v.name));
            continue;
        }
        let value: String = v
            .parts
            .iter()
            .map(|p| match p {
                Part::Lit(s) | Part::Hidden(s) => s.as_str(),
                Part::Secret { .. } | Part::Require(_) => "",
            })
            .collect();
        out.push(EnvArg::Value(v.name, value));
    }
    if let Some(r) = &cfg.remote.value
        && let Some(ep) = r.endpoints().iter().find(|e| is_loopback(e))
    {
        notes.push(format!(
            "the remote endpoint {ep} is a loopback address: inside the container it is the container itself; \
             add --network=host, or point cache.remote.endpoint at an address the container can reach"
        ));
    }
    Ok(out)
}

/// The note on user IDs, for whoever runs the engine (pure).
pub fn user_note(engine: Engine, tool: Tool, target: &str, uid: u32, gid: u32) -> String {
    let what = format!(
        "{} in the container writes {target} as the container's user, and the files keep that user ID on the host",
        tool.name()
    );
    match engine {
        Engine::Docker if uid == 0 => format!(
            "{what}; you are root and the container runs as root by default, so the cache files stay root's like the rest of it: no --user is needed"
        ),
        Engine::Docker => format!(
            "{what}; run the container as your user so they stay yours and prunable from the host: \
             --user {uid}:{gid} (then pick a --target-home that user can write, e.g. /tmp/home)"
        ),
        Engine::Podman => format!(
            "{what}; rootless podman maps the container's root to your user; with another container user add --userns=keep-id"
        ),
    }
}

pub fn run(engine: Engine, target_home: &Path, tool: Option<Tool>) -> anyhow::Result<i32> {
    let (cwd, cfg) = super::load_config()?;
    let tool = match tool {
        Some(t) => t,
        None => super::env::configured_tool(&cfg, &cwd)?,
    };
    if !target_home.is_absolute() {
        bail!(
            "--target-home must be an absolute path inside the container, not `{}`",
            target_home.display()
        );
    }
    let mut notes = Vec::new();
    if let Some(p) = &cfg.project_file {
        for w in &cfg.withheld {
            notes.push(crate::config::approval::describe(p, w));
        }
    }
    let settings = tool_settings(tool, &cfg, &mut notes)?;
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
    let var = tool.dir_var();
    let volume = match engine {
        // `:z`: relabel for SELinux hosts (podman's usual setup); harmless elsewhere.
        Engine::Podman => format!("--volume={host_s}:{target_s}:z"),
        Engine::Docker => format!("--volume={host_s}:{target_s}"),
    };
    let mut args = vec![volume, format!("--env={var}={target_s}")];
    args.extend(settings.iter().map(EnvArg::arg));
    let quoted: Vec<String> = args.iter().map(|a| crate::escape::shell_word(a)).collect();
    println!("{}", quoted.join(" "));
    for n in &notes {
        crate::errln!("note: {n}");
    }
    eprintln!(
        "note: {}",
        user_note(engine, tool, &target_s, paths::uid(), real_gid())
    );
    Ok(0)
}

fn real_gid() -> u32 {
    // SAFETY: getgid has no preconditions and cannot fail.
    unsafe { libc::getgid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_endpoints() {
        for e in [
            "redis://127.0.0.1:6379",
            "redis://:pw@localhost:6379/0",
            "http://[::1]:8080/cache",
            "tcp://127.0.0.2:11211",
        ] {
            assert!(is_loopback(e), "{e}");
        }
        for e in [
            "redis://cache.internal:6379",
            "https://10.0.0.5/x",
            "s3.amazonaws.com",
        ] {
            assert!(!is_loopback(e), "{e}");
        }
    }

    #[test]
    fn root_is_not_told_to_pass_user_0() {
        let n = user_note(Engine::Docker, Tool::Ccache, "/root/.cache/ccache", 0, 0);
        assert!(
            !n.contains("--user 0:0") && n.contains("no --user is needed"),
            "{n}"
        );
        let n = user_note(
            Engine::Docker,
            Tool::Ccache,
            "/root/.cache/ccache",
            1000,
            1000,
        );
        assert!(
            n.contains("--user 1000:1000") && n.contains("prunable"),
            "{n}"
        );
    }
}
