//! An sccache server's identity and lifecycle: the variables it is started with, the
//! socket they name (`socket_name`), starting it under a lock (local-only when its
//! remote is unreachable), stopping it, removing the sockets of servers that are gone,
//! and its record. Used by the compile (`super::run`) and by `server`, `cache`, `dist`
//! and `doctor`.
//!
//! Next to each socket `sccache-HASH.sock` live its start lock (`.lock`), the server's
//! log (`.log`: the start output and the compile-result lines), the lock file of the
//! outcome reader (`.olock`), the marker of a server that runs without its remote
//! (`.local-only`) and the server record (`.info`: the binary's path, size and mtime and
//! its `--version`, written when toolchainkit starts the server; the native client speaks
//! only to a server whose record names an allowed version and the binary as it is now).

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fs2::FileExt;
use sha2::{Digest, Sha256};

use super::conn::{self, Reach};
use super::native;
use crate::config::{Config, SccacheClient, Tool};
use crate::paths;
use crate::private::{self, Access};

/// The variables the sccache server needs for this configuration, the remote's included.
pub fn env(cfg: &Config) -> Vec<(String, OsString)> {
    let mut env = local_env(cfg);
    env.extend(crate::backend::remote::tool_env(Tool::Sccache, cfg, None));
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
    let s = &cfg.sccache.value;
    if let Some(dirs) = &s.basedirs
        && let Ok(joined) = std::env::join_paths(dirs)
    {
        env.push(("SCCACHE_BASEDIRS".into(), joined));
    }
    if let Some(d) = s.direct {
        env.push(("SCCACHE_DIRECT".into(), d.to_string().into()));
    }
    // [dist] engine = "sccache-dist": the client config (part of the server's identity).
    env.extend(crate::backend::dist::sccache_env(cfg));
    env
}

/// The server socket for these settings: a SHA-256 of the binary, the variables we set
/// and every inherited `SCCACHE_*` variable the server would read.
pub fn socket_for(exe: &Path, env: &[(String, OsString)]) -> PathBuf {
    paths::runtime_dir().join(socket_name(paths::uid(), exe, env, std::env::vars_os()))
}

/// `value` with the password of a URL's userinfo (`scheme://user:PASSWORD@host`) left out.
fn without_url_password(value: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let Some(start) = value.windows(3).position(|w| w == b"://").map(|i| i + 3) else {
        return value.into();
    };
    let rest = &value[start..];
    let authority = rest
        .iter()
        .position(|&b| b == b'/' || b == b'?' || b == b'#')
        .map_or(rest, |end| &rest[..end]);
    let Some(at) = authority.iter().rposition(|&b| b == b'@') else {
        return value.into();
    };
    let Some(colon) = authority[..at].iter().position(|&b| b == b':') else {
        return value.into();
    };
    let mut out = value[..start + colon].to_vec();
    out.extend_from_slice(&value[start + at..]);
    out.into()
}

/// `sccache-HEX.sock` for `uid`, the binary `exe`, the variables we set (`env`) and the
/// process environment `inherited`: HEX is the first 8 bytes of a SHA-256 over the uid,
/// the binary's path, and every variable (name and value) the server sees that changes
/// what it does. A pure function, so its identity rules are unit-tested.
fn socket_name(
    uid: u32,
    exe: &Path,
    env: &[(String, OsString)],
    inherited: impl IntoIterator<Item = (OsString, OsString)>,
) -> String {
    let mut items: Vec<(OsString, OsString)> = env
        .iter()
        .map(|(k, v)| (OsString::from(k), v.clone()))
        .collect();
    for (k, v) in inherited {
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
    h.update(uid.to_le_bytes());
    h.update(exe.as_os_str().as_encoded_bytes());
    for (k, v) in &items {
        h.update([0]);
        h.update(k.as_encoded_bytes());
        // A credential's value is not hashed (a socket name must not help guess it): a
        // changed credential takes effect when the server is restarted.
        // The same for a password inside a URL (`redis://:PW@host`, inherited from the
        // environment: the configuration file refuses one).
        if !crate::secrets::is_credential_var(k) {
            h.update([b'=']);
            h.update(without_url_password(v.as_encoded_bytes()));
        }
    }
    format!("sccache-{}.sock", paths::short_hex(&h.finalize()))
}

/// Is a server of ours answering on `sock` (in a private directory, listened on by a
/// process of this user)?
pub fn server_up(sock: &Path) -> bool {
    matches!(conn::reach(sock), Reach::Up(..))
}

/// Is the server of ours on `sock` stopped (SIGSTOP)? It then answers no query.
pub fn is_stopped(sock: &Path) -> bool {
    matches!(conn::reach(sock), Reach::Up(_, p) if conn::live(p.pid) == conn::Live::Stopped)
}

/// Why the runtime directory of `sock`, or the process listening on it, is not to be
/// used, if it is not (for `server status`, `doctor` and the other commands).
pub fn refusal(sock: &Path) -> Option<String> {
    match conn::reach(sock) {
        Reach::Refused(why) => Some(why),
        _ => None,
    }
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
    /// The variables the remote settings name (`password_env`, ...): kept from a
    /// local-only server like every other credential.
    pub secrets: Vec<String>,
}

/// The largest server record or marker read (they hold a line or a few).
const RECORD_MAX: u64 = 16 * 1024;

/// Why the server on `sock` runs without its remote cache, if it does (its marker, read
/// as a file of ours: never through a link, never blocking on a FIFO, bounded).
pub fn local_only_reason(sock: &Path) -> Option<String> {
    private::read_own_limited(&local_only_marker(sock), RECORD_MAX)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// How the server running on `sock` was started (its local-only marker).
pub(super) fn running_state(sock: &Path) -> Started {
    match local_only_reason(sock) {
        Some(why) => Started::LocalOnly(why),
        None => Started::AsConfigured,
    }
}

/// Why no server could be used: the fallback reason and the text for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    pub reason: &'static str,
    pub why: String,
}

impl Unavailable {
    fn new(why: impl Into<String>) -> Unavailable {
        Unavailable {
            reason: "sccache_server_unavailable",
            why: why.into(),
        }
    }

    fn unresponsive(why: impl Into<String>) -> Unavailable {
        Unavailable {
            reason: "sccache_server_unresponsive",
            why: why.into(),
        }
    }
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.why)
    }
}

/// A server that answers on `sock`, or `None` when nothing does (start one).
fn answering(sock: &Path) -> Result<Option<conn::Peer>, Unavailable> {
    match conn::reach(sock) {
        Reach::Up(_, p) => Ok(Some(p)),
        Reach::Down(_) => Ok(None),
        Reach::Refused(why) => Err(Unavailable::new(why)),
        Reach::Wedged(why) => Err(Unavailable::unresponsive(why)),
    }
}

/// Make sure a server for these settings is running; start it under a lock if not.
pub fn ensure_server(
    exe: &Path,
    sock: &Path,
    env: &[(String, OsString)],
    cfg: &Config,
) -> Result<(), Unavailable> {
    ensure_server_or_local(exe, sock, env, None, cfg).map(|_| ())
}

/// As `ensure_server`; with `local`, a remote that does not accept connections (or makes
/// the start fail) gives a server without the remote instead of no server at all.
pub fn ensure_server_or_local(
    exe: &Path,
    sock: &Path,
    env: &[(String, OsString)],
    local: Option<&LocalOnly>,
    cfg: &Config,
) -> Result<(Started, conn::Peer), Unavailable> {
    let dir = sock.parent().unwrap_or(Path::new("/tmp"));
    // The runtime directory must be ours (0700, not a symlink), before any file in it
    // is used: in another user's directory a planted socket would receive our compile
    // requests (created when missing, narrowed when it is ours and wider).
    private::own_dir(dir)
        .map_err(|e| Unavailable::new(format!("runtime directory refused: {e}")))?;
    if let Some(p) = answering(sock)? {
        return Ok((running_state(sock), p));
    }
    let lock_path = sock.with_extension("lock");
    let lock = private::open_or_create_own(&lock_path, Access::Read)
        .map_err(|e| Unavailable::new(format!("cannot open {}: {e}", lock_path.display())))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while FileExt::try_lock_exclusive(&lock).is_err() {
        if Instant::now() >= deadline {
            return Err(Unavailable::new(
                "timed out waiting for another process starting the sccache server",
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    if let Some(p) = answering(sock)? {
        return Ok((running_state(sock), p));
    }
    let _ = fs::remove_file(sock);
    let marker = local_only_marker(sock);
    let _ = fs::remove_file(&marker);
    clean_stale(dir);
    let Some(local) = local else {
        return start(exe, sock, env, Credentials::AsConfigured, cfg)
            .map(|p| (Started::AsConfigured, p))
            .map_err(Unavailable::new);
    };
    let why = match crate::backend::remote::probe(&local.probe, PROBE_TIMEOUT) {
        Err(e) => format!("remote cache unreachable ({e})"),
        Ok(()) => match start(exe, sock, env, Credentials::AsConfigured, cfg) {
            Ok(p) => return Ok((Started::AsConfigured, p)),
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
    let peer = start(
        exe,
        sock,
        &local_env,
        Credentials::None(&local.secrets),
        cfg,
    )
    .map_err(Unavailable::new)?;
    if let Ok(mut f) = private::open_or_create_own(&marker, Access::Append) {
        use std::io::Write;
        let _ = f.set_len(0);
        let _ = f.write_all(why.as_bytes());
    }
    Ok((Started::LocalOnly(why), peer))
}

/// Which credentials of the environment a server is started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credentials<'a> {
    /// Those its storage reads itself (`server_may_see`).
    AsConfigured,
    /// None (neither by name nor the variables the remote settings name): a local-only
    /// server talks to no remote.
    None(&'a [String]),
}

/// Start a server on `sock` (the caller holds the start lock); the process now
/// listening on it.
fn start(
    exe: &Path,
    sock: &Path,
    env: &[(String, OsString)],
    creds: Credentials<'_>,
    cfg: &Config,
) -> Result<conn::Peer, String> {
    // sccache-dist's client config with its token: on disk only while the server starts.
    let _dist_conf = crate::backend::dist::write_sccache_conf(cfg, env);
    let log_path = super::log::log_path(sock);
    // Appending: the server appends its compile-result lines to the same file.
    let log = private::open_or_create_own(&log_path, Access::Append)
        .and_then(|f| f.set_len(0).map(|()| f))
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let _ = fs::remove_file(info_path(sock));
    let mut cmd = Command::new(exe);
    // The server outlives this compile: it must not keep any descriptor the build handed
    // the compiler (configure's `config.log` and its stdout copy on fds 5 and 6, make's
    // jobserver, a pipe the build reads to EOF), or whoever reads that pipe waits for the
    // server's idle timeout.
    // SAFETY: the closure only makes async-signal-safe system calls.
    unsafe {
        cmd.pre_exec(|| {
            crate::process::cloexec_from(3);
            Ok(())
        });
    }
    // The server gets the environment minus credentials its storage does not read
    // (a `GITHUB_TOKEN` of the build has no business in a long-lived daemon).
    // A local-only server gets no credential at all (it has no remote to show one to).
    cmd.env_clear()
        .envs(std::env::vars_os().filter(|(k, _)| match creds {
            Credentials::AsConfigured => server_may_see(k),
            Credentials::None(named) => !native::is_secret(k, named),
        }));
    let status = cmd
        .arg("--start-server")
        .current_dir("/")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("SCCACHE_SERVER_UDS", sock)
        .env_remove("SCCACHE_SERVER_PORT")
        .env_remove("TOOLCHAINKIT_GUARD")
        // The compile-result lines, and nothing else, into the log (see `log`).
        .env("SCCACHE_ERROR_LOG", &log_path)
        .env("SCCACHE_LOG", super::log::LOG_FILTER)
        .env_remove("RUST_LOG_STYLE")
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2))
        .status()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    if status.success()
        && let Reach::Up(_, peer) = conn::reach(sock)
    {
        log::info!("started sccache server on {}", sock.display());
        write_record(exe, sock);
        return Ok(peer);
    }
    Err(format!(
        "sccache --start-server failed ({status}); its log: {}",
        log_path.display()
    ))
}

/// May the sccache server's own environment hold this variable? Everything but
/// credentials, except the ones sccache's storage backends read themselves.
pub fn server_may_see(name: &std::ffi::OsStr) -> bool {
    if !crate::secrets::is_credential_var(name) {
        return true;
    }
    let n = name.to_string_lossy();
    ["SCCACHE_", "AWS_", "ACTIONS_", "GOOGLE_", "AZURE_"]
        .iter()
        .any(|p| n.starts_with(p))
}

/// Is `name` one of the sockets toolchainkit names (`sccache-` 16 hex digits `.sock`)?
pub fn is_our_socket_name(name: &str) -> bool {
    name.strip_prefix("sccache-")
        .and_then(|r| r.strip_suffix(".sock"))
        .is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A socket whose server is gone: connecting is refused.
fn refused(sock: &Path) -> bool {
    matches!(
        conn::connect_within(sock, Duration::from_millis(100)),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused
    )
}

/// Remove the stale sockets of `dir`, and what belonged to their servers: only
/// toolchainkit's own names (`sccache-HEX.sock`), only when nothing answers
/// (`ECONNREFUSED`), and only under the socket's start lock, so a server being started
/// right now is never touched. Returns the removed sockets. Run when a server is started
/// and by `toolchainkit server status`, so a runtime directory does not fill up with the
/// sockets of servers that reached their idle timeout.
pub fn clean_stale(dir: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    if private::check_private_dir(dir).is_err() {
        return removed;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return removed;
    };
    for e in rd.filter_map(Result::ok) {
        let name = e.file_name();
        let is_socket = e.file_type().is_ok_and(|t| t.is_socket());
        if !is_socket || !name.to_str().is_some_and(is_our_socket_name) {
            continue;
        }
        let sock = e.path();
        if !refused(&sock) {
            continue;
        }
        // The start lock: held while a server is being started on this socket.
        let Ok(lock) = private::open_or_create_own(&sock.with_extension("lock"), Access::Read)
        else {
            continue;
        };
        if FileExt::try_lock_exclusive(&lock).is_err() {
            continue;
        }
        if refused(&sock) && std::fs::remove_file(&sock).is_ok() {
            // What belonged to the dead server; the start and outcome locks stay (another
            // process may hold one open, and a new file would not be the same lock).
            for f in [
                local_only_marker(&sock),
                info_path(&sock),
                super::log::log_path(&sock),
            ] {
                let _ = std::fs::remove_file(f);
            }
            removed.push(sock);
        }
        drop(lock);
    }
    removed
}

/// Stop the server for these settings, if one runs. Returns whether one was running.
pub fn stop_server(exe: &Path, sock: &Path) -> bool {
    // Only a server of ours, in a directory of ours, is asked to stop.
    let Reach::Up(_, peer) = conn::reach(sock) else {
        return false;
    };
    // A stopped or wedged server does not answer: it is killed (it is ours: SO_PEERCRED).
    let answered = conn::live(peer.pid) != conn::Live::Stopped
        && crate::process::output_within(
            Command::new(exe)
                .arg("--stop-server")
                .env("SCCACHE_SERVER_UDS", sock)
                .env_remove("SCCACHE_SERVER_PORT"),
            crate::process::QUERY_TIMEOUT,
        )
        .is_some();
    if !answered {
        log::warn!(
            "the sccache server (pid {}) did not answer --stop-server: killed",
            peer.pid
        );
        // SAFETY: kill(2) on the pid of a listener running as this user.
        unsafe {
            libc::kill(peer.pid, libc::SIGKILL);
        }
        let _ = fs::remove_file(sock);
    }
    let _ = fs::remove_file(local_only_marker(sock));
    let _ = fs::remove_file(info_path(sock));
    true
}

/// The server record next to a socket.
pub fn info_path(sock: &Path) -> PathBuf {
    sock.with_extension("info")
}

/// The identity of a binary on disk: size and modification time in nanoseconds.
fn identity(exe: &Path) -> Option<(u64, i128)> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(exe).ok()?;
    Some((
        m.len(),
        i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
    ))
}

/// Record the server's binary and its version (`EXE --version`, once per server start:
/// never on a compile that finds its server running).
fn write_record(exe: &Path, sock: &Path) {
    let Some((size, mtime)) = identity(exe) else {
        return;
    };
    let version = match Command::new(exe)
        .arg("--version")
        .env_remove("TOOLCHAINKIT_GUARD")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string(),
        _ => String::new(),
    };
    let text = format!(
        "version {version}\nsize {size}\nmtime {mtime}\nexe {}\n",
        exe.display()
    );
    // A new file of ours (0600, `O_EXCL`), renamed over the old record.
    let dir = sock.parent().unwrap_or(Path::new("/"));
    let Ok((mut f, tmp)) = private::create_unique(dir, "sccache-info") else {
        return;
    };
    use std::io::Write;
    if f.write_all(text.as_bytes())
        .and_then(|()| fs::rename(&tmp, info_path(sock)))
        .is_err()
    {
        let _ = fs::remove_file(&tmp);
    }
}

/// The version of the server on `sock`, if toolchainkit started it from `exe` as it is
/// now; else why not.
pub fn server_version(exe: &Path, sock: &Path) -> Result<String, String> {
    // A file of ours, read without following a link or blocking on a FIFO, bounded.
    let bytes = private::read_own_limited(&info_path(sock), RECORD_MAX).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            "no server record (a server this toolchainkit did not start)".to_string()
        } else {
            format!("server record refused: {e}")
        }
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let mut version = "";
    let (mut size, mut mtime, mut path) = ("", "", "");
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("version", v)) => version = v,
            Some(("size", v)) => size = v,
            Some(("mtime", v)) => mtime = v,
            Some(("exe", v)) => path = v,
            _ => {}
        }
    }
    let now = identity(exe).ok_or_else(|| format!("cannot stat {}", exe.display()))?;
    if path != exe.display().to_string()
        || size.parse::<u64>().ok() != Some(now.0)
        || mtime.parse::<i128>().ok() != Some(now.1)
    {
        return Err(format!(
            "{} changed since its server started",
            exe.display()
        ));
    }
    if version.is_empty() {
        return Err("the server's version is unknown".into());
    }
    Ok(version.to_string())
}

/// Whether compiles for the server on `sock` use the native client, and why not.
pub fn client_for(cfg: &Config, exe: &Path, sock: &Path) -> Result<String, String> {
    if cfg.sccache_client.value == SccacheClient::Process {
        return Err(format!(
            "sccache_client = \"process\" ({})",
            cfg.sccache_client.origin
        ));
    }
    let v = server_version(exe, sock)?;
    if native::ALLOWED_VERSIONS.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(format!(
            "sccache {v} is not on the native client's allowlist ({})",
            native::ALLOWED_VERSIONS.join(", ")
        ))
    }
}

/// The variables named by the project's remote settings (`password_env`, ...): never
/// sent to a server in a compile request, whatever their names.
pub fn credential_names(cfg: &Config) -> Vec<String> {
    let Some(r) = &cfg.remote.value else {
        return Vec::new();
    };
    r.env_refs()
        .into_iter()
        .map(|(_, var)| var.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server identity (`socket_name`): what changes it and what must not.
    #[test]
    fn socket_name_follows_binary_settings_and_uid_but_not_credentials() {
        let ours = |v: &[(&str, &str)]| -> Vec<(String, OsString)> {
            v.iter().map(|(k, v)| (k.to_string(), v.into())).collect()
        };
        let inh = |v: &[(&str, &str)]| -> Vec<(OsString, OsString)> {
            v.iter().map(|(k, v)| (k.into(), v.into())).collect()
        };
        let exe = Path::new("/opt/sccache/bin/sccache");
        let env = ours(&[
            ("SCCACHE_DIR", "/p/cache"),
            ("SCCACHE_REDIS_ENDPOINT", "redis://127.0.0.1:6379"),
            ("SCCACHE_REDIS_PASSWORD", "hunter2"),
        ]);
        let base_inh = inh(&[("SCCACHE_LOG", "info"), ("AWS_SECRET_ACCESS_KEY", "k1")]);
        let name = |uid, exe: &Path, env: &[(String, OsString)], i: &[(OsString, OsString)]| {
            socket_name(uid, exe, env, i.iter().cloned())
        };
        let base = name(1000, exe, &env, &base_inh);
        assert!(is_our_socket_name(&base), "{base}");
        assert_eq!(base, name(1000, exe, &env, &base_inh), "deterministic");
        // The order the variables come in does not matter.
        let mut rev = env.clone();
        rev.reverse();
        assert_eq!(base, name(1000, exe, &rev, &base_inh));

        // Changes with: the uid, the binary's path, each setting's value, a new setting.
        let mut differ = vec![
            ("uid", name(1001, exe, &env, &base_inh)),
            (
                "binary",
                name(1000, Path::new("/usr/bin/sccache"), &env, &base_inh),
            ),
        ];
        for i in 0..env.len() {
            if env[i].0 == "SCCACHE_REDIS_PASSWORD" {
                continue;
            }
            let mut e = env.clone();
            e[i].1.push("x");
            differ.push(("a setting's value", name(1000, exe, &e, &base_inh)));
        }
        let mut more = env.clone();
        more.push(("SCCACHE_DIRECT".into(), "true".into()));
        differ.push(("an added setting", name(1000, exe, &more, &base_inh)));
        // Inherited SCCACHE_* variables reach the server: they are part of it.
        differ.push((
            "inherited SCCACHE_LOG",
            name(1000, exe, &env, &inh(&[("SCCACHE_LOG", "debug")])),
        ));
        differ.push((
            "inherited SCCACHE_IDLE_TIMEOUT",
            name(
                1000,
                exe,
                &env,
                &inh(&[("SCCACHE_LOG", "info"), ("SCCACHE_IDLE_TIMEOUT", "0")]),
            ),
        ));
        for (what, n) in &differ {
            assert_ne!(&base, n, "{what} must change the server");
        }

        // Never hashed: a credential's value (ours or inherited), the server address
        // variables, an inherited variable we set ourselves, variables outside SCCACHE_*.
        let mut secret = env.clone();
        secret[2].1 = "another password".into();
        let same = [
            (
                "our credential's value",
                name(1000, exe, &secret, &base_inh),
            ),
            (
                "an inherited credential's value",
                name(
                    1000,
                    exe,
                    &env,
                    &inh(&[("SCCACHE_LOG", "info"), ("AWS_SECRET_ACCESS_KEY", "k2")]),
                ),
            ),
            (
                "the server address",
                name(
                    1000,
                    exe,
                    &env,
                    &inh(&[
                        ("SCCACHE_LOG", "info"),
                        ("SCCACHE_SERVER_UDS", "/tmp/x.sock"),
                        ("SCCACHE_SERVER_PORT", "4227"),
                    ]),
                ),
            ),
            (
                "an inherited copy of a variable we set",
                name(
                    1000,
                    exe,
                    &env,
                    &inh(&[("SCCACHE_LOG", "info"), ("SCCACHE_DIR", "/elsewhere")]),
                ),
            ),
            (
                "a variable sccache does not read",
                name(
                    1000,
                    exe,
                    &env,
                    &inh(&[("SCCACHE_LOG", "info"), ("HOME", "/home/other")]),
                ),
            ),
        ];
        for (what, n) in &same {
            assert_eq!(&base, n, "{what} must not change the server");
        }
        // An inherited credential in SCCACHE_*: its name counts, its value does not.
        let with_token = |v: &str| {
            name(
                1000,
                exe,
                &env,
                &inh(&[("SCCACHE_LOG", "info"), ("SCCACHE_WEBDAV_TOKEN", v)]),
            )
        };
        assert_ne!(base, with_token("t1"), "a new credential variable");
        assert_eq!(
            with_token("t1"),
            with_token("t2"),
            "its value is not hashed"
        );
        // A password inside an inherited endpoint URL is not hashed; the rest of it is.
        let with_endpoint = |v: &str| {
            name(
                1000,
                exe,
                &env,
                &inh(&[("SCCACHE_LOG", "info"), ("SCCACHE_MEMCACHED_ENDPOINT", v)]),
            )
        };
        assert_eq!(
            with_endpoint("tcp://user:pw1@127.0.0.1:11211/x"),
            with_endpoint("tcp://user:pw2@127.0.0.1:11211/x"),
            "a URL's password is not hashed"
        );
        assert_ne!(
            with_endpoint("tcp://user:pw1@127.0.0.1:11211"),
            with_endpoint("tcp://user:pw1@127.0.0.2:11211"),
            "the rest of the URL is"
        );
        assert_ne!(
            with_endpoint("tcp://alice:pw@127.0.0.1:11211"),
            with_endpoint("tcp://bob:pw@127.0.0.1:11211"),
            "and so is the user"
        );
        assert_eq!(
            &*without_url_password(b"redis://:secret@h:6379/0"),
            b"redis://@h:6379/0"
        );
        assert_eq!(&*without_url_password(b"/no/url"), b"/no/url");
        assert_eq!(
            &*without_url_password(b"https://h/p@q:r"),
            b"https://h/p@q:r",
            "an @ after the authority is not userinfo"
        );
    }
}
