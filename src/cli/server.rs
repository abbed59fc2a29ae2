//! `toolchainkit server status|stop`: the sccache server for this project's settings (with
//! ccache, `stop` stops the storage helper ccache started for the remote).
//!
//! `status` shows the socket, the server's pid (the process holding the listening socket,
//! found through `/proc/net/unix` and `/proc/PID/fd`), its uptime, its log and cache, and
//! the command that queries it with sccache's own client. It also removes stale sockets
//! in the runtime directory: only toolchainkit's own names (`sccache-HEX.sock`), only
//! when nothing answers (`ECONNREFUSED`), and only under the socket's start lock, so a
//! server being started right now is never touched.

use std::path::{Path, PathBuf};

use crate::backend::{self, sccache::server};
use crate::config::{Config, Tool};

fn locate() -> anyhow::Result<(PathBuf, PathBuf, Config)> {
    let (cwd, cfg) = super::load_config()?;
    let exe = backend::find_tool(Tool::Sccache, std::env::var_os("PATH").as_deref(), &cwd)
        .ok_or_else(|| anyhow::anyhow!("sccache is not installed"))?;
    let sock = server::socket_for(&exe, &server::env(&cfg));
    Ok((exe, sock, cfg))
}

/// The inode of the listening unix socket bound to `sock`, from `/proc/net/unix`.
fn socket_inode(net_unix: &str, sock: &Path) -> Option<u64> {
    let want = sock.to_str()?;
    net_unix.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        // Num RefCount Protocol Flags Type St Inode Path; listening: Flags 00010000.
        (f.len() >= 8 && f[7] == want && f[3] == "00010000")
            .then(|| f[6].parse().ok())
            .flatten()
    })
}

/// The process holding socket inode `inode` open (scans `/proc/*/fd`; the user's own
/// processes are the ones readable).
fn pid_holding(inode: u64) -> Option<u32> {
    let want = format!("socket:[{inode}]");
    for e in std::fs::read_dir("/proc").ok()?.filter_map(Result::ok) {
        let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(e.path().join("fd")) else {
            continue;
        };
        let holds = fds
            .filter_map(Result::ok)
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == want.as_str()));
        if holds {
            return Some(pid);
        }
    }
    None
}

/// Seconds since process `pid` started (`/proc/PID/stat` field 22 against
/// `/proc/uptime`).
fn uptime_secs(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let start_ticks: u64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok()?;
    let up: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some((up as u64).saturating_sub(start_ticks / hz.max(1)))
}

/// `3 h 02 min`, `5 min 07 s`, `12 s`.
pub fn human_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if secs >= 86_400 {
        format!("{} d {:02} h", secs / 86_400, h % 24)
    } else if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min {s:02} s")
    } else {
        format!("{s} s")
    }
}

/// The command that asks this server for its statistics with sccache's own client.
pub fn query_command(exe: &Path, sock: &Path) -> String {
    format!(
        "SCCACHE_SERVER_UDS={} {} -s",
        crate::escape::shell_word(&sock.to_string_lossy()),
        crate::escape::shell_word(&exe.to_string_lossy())
    )
}

/// What compiles of this project use instead of an sccache server, when they use none:
/// `None` when they use sccache (so the first compile starts the server).
fn not_sccache(cfg: &Config) -> Option<String> {
    let cwd = std::env::current_dir().ok()?;
    match super::env::configured_tool(cfg, &cwd) {
        Ok(Tool::Sccache) => None,
        Ok(t) => Some(format!(
            "this project's compiles use {} ({}), so no compile starts an sccache server",
            t.name(),
            cfg.tool.origin
        )),
        Err(e) => Some(format!("no compile starts an sccache server: {e:#}")),
    }
}

/// Why the runtime directory of `sock` cannot be private to this user (when it is ours
/// with a wider mode it is narrowed; when it is missing nothing is created), if it
/// cannot.
fn own_runtime_dir(sock: &Path) -> Option<String> {
    let dir = sock.parent()?;
    std::fs::symlink_metadata(dir).ok()?;
    crate::private::own_dir(dir)
        .err()
        .map(|e| format!("runtime directory refused: {e}"))
}

pub fn status() -> anyhow::Result<i32> {
    let (exe, sock, cfg) = locate()?;
    // Another user's directory, or a listener that is not ours, is not "running": it is
    // refused, and nothing in it is touched. A directory of ours with a wider mode is
    // narrowed first, as the next compile would.
    if let Some(why) = own_runtime_dir(&sock).or_else(|| server::refusal(&sock)) {
        crate::outln!("refused: {why}");
        crate::outln!(
            "compiles run without sccache until this is fixed (see `toolchainkit doctor`)"
        );
        return Ok(2);
    }
    let dir = sock.parent().map(Path::to_path_buf).unwrap_or_default();
    let removed = server::clean_stale(&dir);
    for r in &removed {
        crate::outln!(
            "removed a stale socket (no server answered): {}",
            r.display()
        );
    }
    if !server::server_up(&sock) {
        crate::outln!("not running (would use {})", sock.display());
        match not_sccache(&cfg) {
            Some(why) => crate::outln!("{why}"),
            None => crate::outln!("the first compile through toolchainkit starts it"),
        }
        return Ok(1);
    }
    if server::is_stopped(&sock) {
        crate::outln!("running but stopped (SIGSTOP): compiles run without it");
    } else {
        crate::outln!("running");
    }
    crate::outln!("  socket:    {}", sock.display());
    let pid = std::fs::read_to_string("/proc/net/unix")
        .ok()
        .and_then(|t| socket_inode(&t, &sock))
        .and_then(pid_holding);
    match pid {
        Some(pid) => {
            crate::outln!("  pid:       {pid}");
            if let Some(up) = uptime_secs(pid) {
                crate::outln!("  uptime:    {}", human_duration(up));
            }
        }
        None => crate::outln!("  pid:       unknown (not visible in /proc to this user)"),
    }
    if let Some(info) = show_stats(&exe, &sock) {
        if let Some(loc) = info.get("cache_location").and_then(|v| v.as_str()) {
            crate::outln!("  cache:     {loc}");
        }
        if let Some(v) = info.get("version").and_then(|v| v.as_str()) {
            crate::outln!("  sccache:   {v} ({})", exe.display());
        }
    }
    crate::outln!("  log:       {}", sock.with_extension("log").display());
    if let Some(why) = server::local_only_reason(&sock) {
        crate::outln!("  without its remote cache: {why}");
    }
    crate::outln!("  query it:  {}", query_command(&exe, &sock));
    Ok(0)
}

pub fn stop() -> anyhow::Result<i32> {
    let (cwd, cfg) = super::load_config()?;
    if matches!(super::env::configured_tool(&cfg, &cwd), Ok(Tool::Ccache)) {
        return stop_storage_helper(&cwd, &cfg);
    }
    let (exe, sock, _cfg) = locate()?;
    if let Some(why) = own_runtime_dir(&sock).or_else(|| server::refusal(&sock)) {
        crate::outln!("refused: {why}");
        return Ok(2);
    }
    if server::stop_server(&exe, &sock) {
        // sccache leaves its socket file behind: once nothing answers on it, remove it
        // (under its start lock, as `status` does), so the next `status` has nothing stale.
        let gone = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while server::server_up(&sock) && std::time::Instant::now() < gone {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if let Some(dir) = sock.parent() {
            server::clean_stale(dir);
        }
        crate::outln!("stopped the server on {}", sock.display());
    } else {
        crate::outln!("no server running on {}", sock.display());
    }
    Ok(0)
}

/// With ccache: `ccache --stop-storage-helpers` for this project's remote (ccache starts
/// no server; the storage helper it starts for a remote is the one long-lived process).
fn stop_storage_helper(cwd: &Path, cfg: &Config) -> anyhow::Result<i32> {
    if cfg.remote.value.is_none() {
        crate::outln!(
            "this project's compiles use ccache, which runs no server, and no remote cache (so no storage helper)"
        );
        return Ok(0);
    }
    let exe = backend::find_tool(Tool::Ccache, std::env::var_os("PATH").as_deref(), cwd)
        .ok_or_else(|| anyhow::anyhow!("ccache is not installed"))?;
    let env = backend::ccache::env(cfg, Some(&exe));
    let via_helper = env
        .iter()
        .any(|(k, v)| k == "CCACHE_REMOTE_STORAGE" && v.to_string_lossy().contains(" helper="));
    if !via_helper {
        crate::outln!(
            "this project's compiles use ccache, which runs no server; its remote is reached without a storage helper"
        );
        return Ok(0);
    }
    let st = std::process::Command::new(&exe)
        .arg("--stop-storage-helpers")
        .envs(env)
        .env_remove("TOOLCHAINKIT_GUARD")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()?;
    if !st.success() {
        anyhow::bail!("`ccache --stop-storage-helpers` failed ({st})");
    }
    crate::outln!("stopped the storage helper of this project's remote cache (if one ran)");
    Ok(0)
}

/// `sccache --show-stats --stats-format=json` of the server on `sock`.
pub fn show_stats(exe: &Path, sock: &Path) -> Option<serde_json::Value> {
    if server::is_stopped(sock) {
        return None;
    }
    let out = crate::process::output_within(
        std::process::Command::new(exe)
            .args(["--show-stats", "--stats-format=json"])
            .env("SCCACHE_SERVER_UDS", sock)
            .env_remove("SCCACHE_SERVER_PORT"),
        crate::process::QUERY_TIMEOUT,
    )?;
    serde_json::from_slice(&out.stdout).ok()
}

/// This project's sccache server, when it is running: the binary and the socket.
pub fn running_server(cwd: &Path, cfg: &Config) -> Option<(PathBuf, PathBuf)> {
    let exe = backend::find_tool(Tool::Sccache, std::env::var_os("PATH").as_deref(), cwd)?;
    let sock = server::socket_for(&exe, &server::env(cfg));
    server::server_up(&sock).then_some((exe, sock))
}

/// sccache's own aggregate counters for this project's server, if it is running.
pub fn sccache_counters(cwd: &Path, cfg: &Config) -> Option<serde_json::Value> {
    let (exe, sock) = running_server(cwd, cfg)?;
    show_stats(&exe, &sock)
}

/// Zero the counters of this project's sccache server (`sccache --zero-stats`), when it
/// runs: `None` when there is none (a new server starts from zero anyway).
pub fn zero_sccache(cwd: &Path, cfg: &Config) -> Option<Result<PathBuf, String>> {
    let (exe, sock) = running_server(cwd, cfg)?;
    if server::is_stopped(&sock) {
        return Some(Err(format!("the server on {} is stopped", sock.display())));
    }
    let out = crate::process::output_within(
        std::process::Command::new(&exe)
            .arg("--zero-stats")
            // Should the server stop in between, sccache starts one: with these settings.
            .envs(server::env(cfg))
            .env("SCCACHE_SERVER_UDS", &sock)
            .env_remove("SCCACHE_SERVER_PORT")
            .env_remove("TOOLCHAINKIT_GUARD"),
        crate::process::QUERY_TIMEOUT,
    )
    .ok_or_else(|| "the server did not answer".to_string());
    Some(match out {
        Ok(o) if o.status.success() => Ok(sock),
        Ok(o) => Err(format!(
            "`sccache --zero-stats` failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("cannot run {}: {e}", exe.display())),
    })
}

/// Why this project's sccache server runs without its remote cache, if it does.
pub fn local_only_reason(cwd: &Path, cfg: &Config) -> Option<String> {
    cfg.remote.value.as_ref()?;
    let (_, sock) = running_server(cwd, cfg)?;
    server::local_only_reason(&sock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_inodes_and_words() {
        assert!(server::is_our_socket_name("sccache-0123456789abcdef.sock"));
        for n in [
            "sccache-0123456789abcdef.lock",
            "sccache-xyz.sock",
            "other.sock",
            "sccache-0123456789abcdef0.sock",
        ] {
            assert!(!server::is_our_socket_name(n), "{n}");
        }
        let net = "Num       RefCount Protocol Flags    Type St Inode Path\n\
            0000000000000000: 00000002 00000000 00010000 0001 01 4242 /run/tk/sccache-a.sock\n\
            0000000000000000: 00000003 00000000 00000000 0001 03 4343 /run/tk/sccache-a.sock\n";
        assert_eq!(
            socket_inode(net, Path::new("/run/tk/sccache-a.sock")),
            Some(4242)
        );
        assert_eq!(socket_inode(net, Path::new("/run/tk/other.sock")), None);
        assert_eq!(human_duration(12), "12 s");
        assert_eq!(human_duration(307), "5 min 07 s");
        assert_eq!(human_duration(3 * 3600 + 120), "3 h 02 min");
        assert_eq!(
            query_command(Path::new("/opt/sccache"), Path::new("/run/a b.sock")),
            "SCCACHE_SERVER_UDS='/run/a b.sock' /opt/sccache -s"
        );
    }
}
