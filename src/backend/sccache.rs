//! sccache: one server per distinct effective configuration, started by toolchainkit under
//! a lock on its own unix socket, and a direct-compile fallback when sccache fails.
//!
//! sccache reports no per-invocation hit or miss to its client, so an invocation through
//! it is recorded as `forwarded.sccache`; `toolchainkit stats` shows the server's own
//! aggregate counters beside ours, labelled as such.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fs2::FileExt;
use sha2::{Digest, Sha256};

use super::{Job, Ran, fix_output_modes, forward_stderr, run_direct, run_tool};
use crate::config::{Config, Tool};
use crate::outcome::Outcome;
use crate::paths;

/// The variables the sccache server needs for this configuration.
pub fn env(cfg: &Config) -> Vec<(String, OsString)> {
    let mut env = Vec::new();
    if let Some(d) = cfg.tool_dir(Tool::Sccache) {
        env.push(("SCCACHE_DIR".into(), d.into_os_string()));
    }
    if let Some(gb) = cfg.size_gb.value {
        env.push((
            "SCCACHE_CACHE_SIZE".into(),
            format!("{}M", (gb * 1024.0).round() as u64).into(),
        ));
    }
    env
}

/// The server socket for these settings: a SHA-256 of the binary, the variables we set
/// and every inherited `SCCACHE_*` variable the server would read.
pub fn socket_for(exe: &Path, env: &[(String, OsString)]) -> PathBuf {
    let mut items: Vec<(OsString, OsString)> = env
        .iter()
        .map(|(k, v)| (OsString::from(k), v.clone()))
        .collect();
    for (k, v) in std::env::vars_os() {
        let ks = k.to_string_lossy();
        if ks.starts_with("SCCACHE_")
            && ks != "SCCACHE_SERVER_UDS"
            && ks != "SCCACHE_SERVER_PORT"
            && !env.iter().any(|(e, _)| e.as_str() == ks)
        {
            items.push((k, v));
        }
    }
    items.sort();
    let mut h = Sha256::new();
    h.update(exe.as_os_str().as_encoded_bytes());
    for (k, v) in &items {
        h.update([0]);
        h.update(k.as_encoded_bytes());
        h.update([b'=']);
        h.update(v.as_encoded_bytes());
    }
    let hex: String = h
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    paths::runtime_dir().join(format!("sccache-{hex}.sock"))
}

/// Is a server answering on `sock`?
pub fn server_up(sock: &Path) -> bool {
    UnixStream::connect(sock).is_ok()
}

/// Make sure a server for these settings is running; start it under a lock if not.
pub fn ensure_server(exe: &Path, sock: &Path, env: &[(String, OsString)]) -> Result<(), String> {
    if server_up(sock) {
        return Ok(());
    }
    let dir = sock.parent().unwrap_or(Path::new("/tmp"));
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    }
    let lock_path = sock.with_extension("lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while FileExt::try_lock_exclusive(&lock).is_err() {
        if Instant::now() >= deadline {
            return Err("timed out waiting for another process starting the sccache server".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    if server_up(sock) {
        return Ok(());
    }
    let _ = fs::remove_file(sock);
    let log_path = sock.with_extension("log");
    let log = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&log_path)
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let status = Command::new(exe)
        .arg("--start-server")
        .current_dir("/")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("SCCACHE_SERVER_UDS", sock)
        .env_remove("SCCACHE_SERVER_PORT")
        .env_remove("TOOLCHAINKIT_GUARD")
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2))
        .status()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    if status.success() && server_up(sock) {
        log::info!("started sccache server on {}", sock.display());
        return Ok(());
    }
    let out = fs::read_to_string(&log_path).unwrap_or_default();
    Err(format!(
        "sccache --start-server failed ({status}): {}",
        out.trim()
    ))
}

/// Stop the server for these settings, if one runs. Returns whether one was running.
pub fn stop_server(exe: &Path, sock: &Path) -> bool {
    if !server_up(sock) {
        return false;
    }
    let _ = Command::new(exe)
        .arg("--stop-server")
        .env("SCCACHE_SERVER_UDS", sock)
        .env_remove("SCCACHE_SERVER_PORT")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    true
}

/// Run one compile through sccache at `exe`.
pub fn run(exe: &Path, job: &Job<'_>) -> io::Result<Ran> {
    let env = env(job.cfg);
    let sock = socket_for(exe, &env);
    if let Err(why) = ensure_server(exe, &sock, &env) {
        log::warn!("{why}; running the compiler directly");
        let status = run_direct(job)?;
        return Ok(Ran {
            status,
            outcome: Outcome::Fallback("sccache_server_unavailable".into()),
        });
    }
    let mut cmd = Command::new(exe);
    cmd.arg(job.real)
        .args(job.args)
        .envs(job.env.iter().map(|(k, v)| (k, v)))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("SCCACHE_SERVER_UDS", &sock)
        .env_remove("SCCACHE_SERVER_PORT");
    let (status, captured) = match run_tool(&mut cmd) {
        Ok(r) => r,
        Err(e) => {
            log::warn!(
                "cannot run {}: {e}; running the compiler directly",
                exe.display()
            );
            let status = run_direct(job)?;
            return Ok(Ran {
                status,
                outcome: Outcome::Fallback("sccache_not_runnable".into()),
            });
        }
    };
    // sccache exits 2 on its own errors ("sccache: error: ..."); compilers use 1.
    let own_failure = status.code() == Some(2)
        && captured.as_deref().is_none_or(|b| {
            b.starts_with(b"sccache: error") || b.windows(16).any(|w| w == b"\nsccache: error:")
        });
    if own_failure {
        log::warn!(
            "sccache failed on its own: {}; running the compiler directly",
            captured
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default()
                .trim()
        );
        let status = run_direct(job)?;
        return Ok(Ran {
            status,
            outcome: Outcome::Fallback("sccache_failed".into()),
        });
    }
    if let Some(bytes) = captured {
        forward_stderr(&bytes);
    }
    if status.success() {
        fix_output_modes(job.args, job.cwd);
    }
    Ok(Ran {
        status,
        outcome: Outcome::Forwarded("sccache"),
    })
}
