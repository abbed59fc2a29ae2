//! `toolchainkit server status|stop`: the sccache server for this project's settings.

use crate::backend::{self, sccache};
use crate::config::Tool;

fn locate() -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let (cwd, _cfg) = super::load_config()?;
    let (_, cfg) = super::load_config()?;
    let exe = backend::find_tool(Tool::Sccache, std::env::var_os("PATH").as_deref(), &cwd)
        .ok_or_else(|| anyhow::anyhow!("sccache is not installed"))?;
    let sock = sccache::socket_for(&exe, &sccache::env(&cfg));
    Ok((exe, sock))
}

pub fn status() -> anyhow::Result<i32> {
    let (_exe, sock) = locate()?;
    if sccache::server_up(&sock) {
        println!("running on {}", sock.display());
        if let Ok(why) = std::fs::read_to_string(sccache::local_only_marker(&sock)) {
            println!("without its remote cache: {why}");
        }
        Ok(0)
    } else {
        println!("not running (would use {})", sock.display());
        Ok(1)
    }
}

pub fn stop() -> anyhow::Result<i32> {
    let (exe, sock) = locate()?;
    if sccache::stop_server(&exe, &sock) {
        println!("stopped the server on {}", sock.display());
    } else {
        println!("no server running on {}", sock.display());
    }
    Ok(0)
}

/// sccache's own aggregate counters for this project's server, if it is running.
pub fn sccache_counters(
    cwd: &std::path::Path,
    cfg: &crate::config::Config,
) -> Option<serde_json::Value> {
    let exe = backend::find_tool(Tool::Sccache, std::env::var_os("PATH").as_deref(), cwd)?;
    let sock = sccache::socket_for(&exe, &sccache::env(cfg));
    if !sccache::server_up(&sock) {
        return None;
    }
    let out = std::process::Command::new(&exe)
        .args(["--show-stats", "--stats-format=json"])
        .env("SCCACHE_SERVER_UDS", &sock)
        .env_remove("SCCACHE_SERVER_PORT")
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

/// Why this project's sccache server runs without its remote cache, if it does.
pub fn local_only_reason(cwd: &std::path::Path, cfg: &crate::config::Config) -> Option<String> {
    cfg.remote.value.as_ref()?;
    let exe = backend::find_tool(Tool::Sccache, std::env::var_os("PATH").as_deref(), cwd)?;
    let sock = sccache::socket_for(&exe, &sccache::env(cfg));
    if !sccache::server_up(&sock) {
        return None;
    }
    std::fs::read_to_string(sccache::local_only_marker(&sock)).ok()
}
