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
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fs2::FileExt;
use sha2::{Digest, Sha256};

use super::{Job, Ran, fall_back, fix_output_modes, forward_stderr, run_tool, said};
use crate::config::{Config, Tool};
use crate::outcome::Outcome;
use crate::paths;

/// The variables the sccache server needs for this configuration, the remote's included.
pub fn env(cfg: &Config) -> Vec<(String, OsString)> {
    let mut env = local_env(cfg);
    env.extend(super::remote::tool_env(Tool::Sccache, cfg));
    env
}

/// The variables for a local-only server (no remote).
pub fn local_env(cfg: &Config) -> Vec<(String, OsString)> {
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
    // [dist] engine = "sccache-dist": the client config (part of the server's identity).
    env.extend(super::dist::sccache_env(cfg));
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
    let secrets = super::remote::secret_var_names();
    for (k, v) in &items {
        h.update([0]);
        h.update(k.as_encoded_bytes());
        // A credential's value is not hashed (a socket name must not help guess it): a
        // changed credential takes effect when the server is restarted.
        if !secrets.iter().any(|s| k.as_encoded_bytes() == s.as_bytes()) {
            h.update([b'=']);
            h.update(v.as_encoded_bytes());
        }
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

/// How long the remote's endpoint may take to accept a TCP connection before a server
/// is started local-only (sccache itself waits 10 s for redis and memcached).
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// A local-only server exits after this idle time, so the remote is tried again soon.
const LOCAL_ONLY_IDLE_SECS: &str = "120";

/// The server that is running for a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// With the settings asked for.
    AsConfigured,
    /// Without the remote, for this reason (the remote was unreachable or refused).
    LocalOnly(String),
}

/// The marker next to a socket whose server runs without its remote.
pub fn local_only_marker(sock: &Path) -> PathBuf {
    sock.with_extension("local-only")
}

/// A local-only alternative to a remote configuration: the variables without the remote
/// and the endpoints to probe first.
#[derive(Debug, Clone)]
pub struct LocalOnly {
    pub env: Vec<(String, OsString)>,
    pub probe: Vec<(String, u16)>,
}

/// Make sure a server for these settings is running; start it under a lock if not.
pub fn ensure_server(exe: &Path, sock: &Path, env: &[(String, OsString)]) -> Result<(), String> {
    ensure_server_or_local(exe, sock, env, None).map(|_| ())
}

/// As `ensure_server`; with `local`, a remote that does not accept connections (or makes
/// the start fail) gives a server without the remote instead of no server at all.
pub fn ensure_server_or_local(
    exe: &Path,
    sock: &Path,
    env: &[(String, OsString)],
    local: Option<&LocalOnly>,
) -> Result<Started, String> {
    let running = || match fs::read_to_string(local_only_marker(sock)) {
        Ok(why) => Started::LocalOnly(why),
        Err(_) => Started::AsConfigured,
    };
    if server_up(sock) {
        return Ok(running());
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
        return Ok(running());
    }
    let _ = fs::remove_file(sock);
    let marker = local_only_marker(sock);
    let _ = fs::remove_file(&marker);
    let Some(local) = local else {
        return start(exe, sock, env).map(|()| Started::AsConfigured);
    };
    let why = match super::remote::probe(&local.probe, PROBE_TIMEOUT) {
        Err(e) => format!("remote cache unreachable ({e})"),
        Ok(()) => match start(exe, sock, env) {
            Ok(()) => return Ok(Started::AsConfigured),
            Err(_) => {
                let log = sock.with_extension("log");
                let kept = sock.with_extension("remote-failure.log");
                let _ = fs::rename(&log, &kept);
                format!(
                    "sccache could not start with the remote cache (its log: {})",
                    kept.display()
                )
            }
        },
    };
    // A server that failed to start with the remote may still hold the socket path.
    let _ = fs::remove_file(sock);
    let mut local_env = local.env.clone();
    local_env.push(("SCCACHE_IDLE_TIMEOUT".into(), LOCAL_ONLY_IDLE_SECS.into()));
    start(exe, sock, &local_env)?;
    let _ = fs::write(&marker, &why);
    Ok(Started::LocalOnly(why))
}

/// Start a server on `sock` (the caller holds the start lock).
fn start(exe: &Path, sock: &Path, env: &[(String, OsString)]) -> Result<(), String> {
    // sccache-dist's client config with its token: on disk only while the server starts.
    let _dist_conf = super::dist::write_sccache_conf(env);
    let log_path = sock.with_extension("log");
    let log = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&log_path)
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(exe);
    // The server outlives this compile: it must not keep any descriptor the build handed
    // the compiler (configure's `config.log` and its stdout copy on fds 5 and 6, make's
    // jobserver, a pipe the build reads to EOF), or whoever reads that pipe waits for the
    // server's idle timeout.
    // SAFETY: the closure only makes async-signal-safe system calls.
    unsafe {
        cmd.pre_exec(|| {
            crate::process::close_from(3);
            Ok(())
        });
    }
    let status = cmd
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
    Err(format!(
        "sccache --start-server failed ({status}); its log: {}",
        log_path.display()
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
    let _ = fs::remove_file(local_only_marker(sock));
    true
}

/// Run one compile through sccache at `exe`.
pub fn run(exe: &Path, job: &Job<'_>) -> io::Result<Ran> {
    let mut env = env(job.cfg);
    let sock = socket_for(exe, &env);
    let local = job.cfg.remote.value.as_ref().and_then(|r| {
        let base = local_env(job.cfg);
        (env.len() > base.len()).then(|| LocalOnly {
            env: base,
            probe: super::remote::probe_targets(r),
        })
    });
    let mut tool_name = "sccache";
    match ensure_server_or_local(exe, &sock, &env, local.as_ref()) {
        Err(why) => {
            return fall_back(job, "sccache_server_unavailable", format_args!("{why}"));
        }
        Ok(Started::AsConfigured) => {}
        Ok(Started::LocalOnly(why)) => {
            tool_name = "sccache_local_only";
            if let Some(l) = local {
                env = l.env;
            }
            log::warn!("sccache server runs without its remote cache: {why}");
        }
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
            return fall_back(
                job,
                "sccache_not_runnable",
                format_args!("cannot run {}: {e}", exe.display()),
            );
        }
    };
    // sccache exits 2 on its own errors ("sccache: error: ..."); compilers use 1.
    let own_failure = status.code() == Some(2)
        && captured.as_deref().is_none_or(|b| {
            b.starts_with(b"sccache: error") || b.windows(16).any(|w| w == b"\nsccache: error:")
        });
    if own_failure {
        return fall_back(
            job,
            "sccache_failed",
            format_args!("sccache failed on its own: {}", said(captured.as_deref())),
        );
    }
    if let Some(bytes) = captured {
        forward_stderr(&bytes);
    }
    if status.success() {
        fix_output_modes(job.args, job.cwd);
    }
    Ok(Ran {
        status,
        outcome: Outcome::Forwarded(tool_name),
    })
}
