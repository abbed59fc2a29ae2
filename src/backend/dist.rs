//! Distribution engines on the compile path: the environment each engine needs, how a
//! compile reaches it, what it says about where the compile ran, and how that is counted.
//!
//! - **distcc / icecc under ccache**: ccache runs the engine as its prefix command
//!   (`CCACHE_PREFIX`) for misses only; hits never leave the machine and run no engine.
//! - **distcc / icecc alone** (`tool = "none"`): the engine runs every compile
//!   (`distcc /abs/cc ARGS`).
//! - **sccache-dist**: the sccache server started for the project gets a client config
//!   (`SCCACHE_CONF`) naming the scheduler and the token. The file is written with mode 0600
//!   just before the server starts and removed once it has read it; its *name* is a hash
//!   of the settings without the token, and it is part of the server's environment, so the
//!   dist settings are part of the server's identity (its socket hash) and the token is not.
//!
//! Where a compile ran is read from the engine's own log, one private file per
//! invocation in the runtime directory (`DISTCC_LOG`, `ICECC_LOGFILE` with
//! `ICECC_DEBUG=debug`), read after the engine exits and removed. The log is a file, not
//! a pipe read after exit: a verbose engine could fill a pipe and block. The engines
//! write their warnings there instead of on the compiler's stderr. The observation is
//! kept in this process (`note`/`take`: the compile path is one process with one child)
//! and recorded by `invoke` in a second stats file beside the project's (`FILE.dist`),
//! whose outcome keys are `remote.HOST`, `local`, `fallback.REASON` and
//! `fallback.host_failed@HOST`. Never the build's failure: an engine that is missing or
//! fails on its own is a counted fallback and the real compiler runs.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::{Job, Ran, fall_back, forward_stderr, run_tool, said};
use crate::config::dist::{Dist, Engine, parse_distcc_host};
use crate::config::{Config, Tool};
use crate::outcome::Outcome;
use crate::paths;

/// Where the engine says one compile ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// On this build host (its label: `HOST`, `HOST:PORT`, `USER@HOST`).
    Remote(String),
    /// On this machine, by the engine's choice (a `localhost` slot, a non-distributable
    /// job such as a link).
    Local,
    /// Meant to go remote, ran locally: why (`host_failed`, `no_host`, `no_daemon`,
    /// `remote_failed`, `distcc_missing`, ...) and the host that failed, when named.
    Fallback(String, Option<String>),
    /// The engine ran but its log says neither.
    Unobserved,
}

impl Observed {
    /// The key in the dist stats file.
    pub fn key(&self) -> String {
        let clean = |s: &str| s.replace(|c: char| c.is_whitespace() || c == '@', "_");
        match self {
            Observed::Remote(h) => format!("remote.{}", clean(h)),
            Observed::Local => "local".into(),
            Observed::Fallback(r, None) => format!("fallback.{r}"),
            Observed::Fallback(r, Some(h)) => format!("fallback.{r}@{}", clean(h)),
            Observed::Unobserved => "unobserved".into(),
        }
    }
}

/// What one invocation noted: where the compile ran, and the hosts that failed it before
/// (distcc moves a compile whose host fails to another host).
type Noted = (Observed, Vec<String>);

static NOTED: Mutex<Option<Noted>> = Mutex::new(None);

/// Remember where this invocation's compile ran (recorded by `record`).
pub fn note(o: Observed) {
    note_with(o, Vec::new());
}

/// As `note`, with the hosts that failed this compile before it ran where `o` says.
pub fn note_with(o: Observed, failed: Vec<String>) {
    if let Ok(mut g) = NOTED.lock() {
        *g = Some((o, failed));
    }
}

/// Take what `note` remembered.
pub fn take() -> Option<Noted> {
    NOTED.lock().ok().and_then(|mut g| g.take())
}

/// The dist stats file beside the project's stats file.
pub fn stats_path(cfg: &Config) -> PathBuf {
    let mut s = crate::stats::stats_path(cfg).into_os_string();
    s.push(".dist");
    PathBuf::from(s)
}

/// Record what `note` remembered, if anything (nothing for a cache hit, a link, or a
/// project without `[dist]`): the placement with the invocation's time, and one
/// `retried@HOST` event (no time) per host that failed the compile before another host
/// took it. Never fails the compile.
pub fn record(cfg: &Config, nanos: u64) {
    let Some((o, failed)) = take() else { return };
    let path = stats_path(cfg);
    let named = match &o {
        Observed::Fallback(_, Some(h)) => Some(h.clone()),
        _ => None,
    };
    let mut keys = vec![(o.key(), nanos)];
    for h in failed.iter().filter(|h| Some(*h) != named.as_ref()) {
        keys.push((
            format!("retried@{}", h.replace(char::is_whitespace, "_")),
            0,
        ));
    }
    for (k, n) in keys {
        if let Err(e) = crate::stats::record(&path, &k, n) {
            log::warn!("cannot record distribution in {}: {e}", path.display());
        }
    }
}

/// The active `[dist]` of this configuration.
pub fn active(cfg: &Config) -> Option<&Dist> {
    cfg.dist.value.as_ref().filter(|d| d.active())
}

fn override_var(engine: Engine) -> Option<&'static str> {
    match engine {
        Engine::Distcc => Some("TOOLCHAINKIT_DISTCC_PATH"),
        Engine::Icecc => Some("TOOLCHAINKIT_ICECC_PATH"),
        _ => None,
    }
}

/// The engine's client program: `$TOOLCHAINKIT_DISTCC_PATH` / `$TOOLCHAINKIT_ICECC_PATH`,
/// else `distcc` / `icecc` in `PATH`. Only `stat` calls.
pub fn find_engine(engine: Engine, path_var: Option<&OsStr>, cwd: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(p) = override_var(engine).and_then(paths::var_nonempty) {
        let p = PathBuf::from(p);
        let ok = fs::metadata(&p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
        return ok.then_some(p);
    }
    let name = match engine {
        Engine::Distcc => "distcc",
        Engine::Icecc => "icecc",
        _ => return None,
    };
    which::which_in(name, path_var, cwd).ok()
}

fn nanos() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}

/// The directory for the engines' per-invocation logs (0700, in the runtime directory).
fn log_dir() -> PathBuf {
    paths::runtime_dir().join("dist")
}

/// `dir` (below the runtime directory) made private to this user, or refused (another
/// user's runtime directory, a link): `crate::private::own_dir`.
fn ensure_private_dir(dir: &Path) -> bool {
    match crate::private::own_dir(dir) {
        Ok(_) => true,
        Err(e) => {
            log::warn!("{e}");
            false
        }
    }
}

/// distcc's state directory: the user's `DISTCC_DIR`, else `distcc` in the runtime
/// directory (private to this user; when it cannot be, `distcc` in the state directory).
/// It must exist (distcc cannot lock its host slots otherwise); created here.
pub fn distcc_dir() -> PathBuf {
    if let Some(d) = paths::var_nonempty("DISTCC_DIR").map(PathBuf::from) {
        if !d.is_dir() {
            let _ = fs::create_dir_all(&d);
        }
        return d;
    }
    let d = paths::runtime_dir().join("distcc");
    if ensure_private_dir(&d) {
        return d;
    }
    crate::private::own_state_subdir("distcc").unwrap_or(d)
}

/// `DISTCC_HOSTS` for these settings: the hosts as written, then `localhost/N` and
/// `--localslots=N` when `local_slots` is set.
pub fn distcc_hosts(d: &Dist) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(n) = d.local_slots {
        parts.push(format!("--localslots={}", n.max(1)));
    }
    parts.extend(d.hosts.iter().map(|h| h.spec.clone()));
    if let Some(n) = d.local_slots
        && n > 0
        && !d.hosts.iter().any(|h| h.label() == "localhost")
    {
        parts.push(format!("localhost/{n}"));
    }
    parts.join(" ")
}

/// The variables distcc needs, without the per-invocation log.
pub fn distcc_env(d: &Dist) -> Vec<(String, OsString)> {
    vec![
        ("DISTCC_HOSTS".into(), distcc_hosts(d).into()),
        ("DISTCC_DIR".into(), distcc_dir().into_os_string()),
        // Fall back to a local compile when a host is down, refuses or dies (distcc's
        // default, set so a user's DISTCC_FALLBACK=0 cannot break the build).
        ("DISTCC_FALLBACK".into(), "1".into()),
        (
            "DISTCC_IO_TIMEOUT".into(),
            d.io_timeout_secs.to_string().into(),
        ),
    ]
}

/// An engine prepared for one compile: its program, its variables, its private log.
#[derive(Debug)]
pub struct Prefix {
    pub engine: Engine,
    /// `None`: the engine is not installed (the compile runs without it).
    pub exe: Option<PathBuf>,
    pub env: Vec<(String, OsString)>,
    log: Option<PathBuf>,
}

impl Prefix {
    /// For a prefix-style engine (distcc, icecc) configured for `cfg`; `None` when there
    /// is none.
    pub fn new(cfg: &Config, path_var: Option<&OsStr>, cwd: &Path) -> Option<Prefix> {
        let d = active(cfg)?;
        if !matches!(d.engine, Engine::Distcc | Engine::Icecc) {
            return None;
        }
        let exe = find_engine(d.engine, path_var, cwd);
        if exe.is_none() {
            return Some(Prefix {
                engine: d.engine,
                exe,
                env: Vec::new(),
                log: None,
            });
        }
        let dir = log_dir();
        let log = ensure_private_dir(&dir).then(|| {
            dir.join(format!(
                "{}-{}-{}.log",
                d.engine.name(),
                std::process::id(),
                nanos()
            ))
        });
        // Without a private log the engine's warnings would reach the build's stderr.
        let log_value: OsString = log
            .as_ref()
            .map_or_else(|| "/dev/null".into(), |p| p.clone().into_os_string());
        let mut env = match d.engine {
            Engine::Distcc => {
                let mut e = distcc_env(d);
                e.push(("DISTCC_LOG".into(), log_value));
                e
            }
            _ => vec![
                ("ICECC_DEBUG".into(), "debug".into()),
                ("ICECC_LOGFILE".into(), log_value),
            ],
        };
        env.shrink_to_fit();
        Some(Prefix {
            engine: d.engine,
            exe,
            env,
            log,
        })
    }

    /// The variables that make ccache run this engine for its misses.
    pub fn ccache_env(&self) -> Vec<(String, OsString)> {
        let mut env = self.env.clone();
        if let Some(exe) = &self.exe {
            env.push(("CCACHE_PREFIX".into(), exe.clone().into_os_string()));
        }
        env
    }

    /// After the child exited: read and remove the engine's log and say what happened.
    /// `compiled` tells whether a compile was needed at all (a ccache hit needs none: an
    /// engine that is missing then changes nothing).
    pub fn finish(self, compiled: bool) -> Finished {
        let Some(_) = &self.exe else {
            let observed = compiled
                .then(|| Observed::Fallback(format!("{}_missing", self.engine.name()), None));
            return Finished {
                observed,
                failed: Vec::new(),
                engine_failed: false,
                text: String::new(),
            };
        };
        let text = match &self.log {
            Some(p) => {
                let t = fs::read(p).map(|b| String::from_utf8_lossy(&b).into_owned());
                let _ = fs::remove_file(p);
                t.ok()
            }
            None => None,
        };
        let Some(text) = text else {
            // The engine never ran (a cache hit), or its log could not be kept.
            return Finished {
                observed: None,
                failed: Vec::new(),
                engine_failed: false,
                text: String::new(),
            };
        };
        // The user's own log keeps receiving the engine's lines.
        let user_var = match self.engine {
            Engine::Distcc => "DISTCC_LOG",
            _ => "ICECC_LOGFILE",
        };
        if let Some(user_log) = paths::var_nonempty(user_var)
            && let Ok(mut f) = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&user_log)
        {
            use std::io::Write;
            let _ = f.write_all(text.as_bytes());
        }
        let (observed, engine_failed, failed) = match self.engine {
            Engine::Distcc => parse_distcc_log(&text),
            _ => {
                let (o, f) = parse_icecc_log(&text);
                (o, f, Vec::new())
            }
        };
        Finished {
            observed: Some(observed),
            failed,
            engine_failed,
            text,
        }
    }
}

/// What an engine's log said about one invocation.
#[derive(Debug)]
pub struct Finished {
    pub observed: Option<Observed>,
    /// Hosts that failed this compile before it ran where `observed` says.
    pub failed: Vec<String>,
    /// The engine failed on its own (no compile was attempted anywhere).
    pub engine_failed: bool,
    pub text: String,
}

/// The label distcc's log uses for a host (`10.0.0.2/4,lzo` -> `10.0.0.2`).
fn distcc_label(hostdef: &str) -> String {
    match parse_distcc_host(hostdef) {
        Ok(h) => h.label(),
        Err(_) => hostdef
            .split(['/', ','])
            .next()
            .unwrap_or(hostdef)
            .to_string(),
    }
}

/// Read distcc's log of one invocation (`DISTCC_LOG`: its INFO level and above).
///
/// - `compile FILE on HOST completed ok` / `... failed`: where the compile ran;
/// - `failed to distribute FILE to HOST, running locally instead`: HOST failed (down,
///   refused the compiler, died mid-compile, timed out);
/// - `failed to distribute, running locally instead`: no host could be had (all backed
///   off after earlier failures, or the slot locks failed).
///
/// - `exec on HOST: ...`: an attempt on HOST; distcc moves a compile whose host fails
///   (refused, reset, died mid-compile) to another host, so every attempted host but
///   the one that compiled it failed it.
///
/// Returns the observation, whether distcc failed on its own (it ran no compile), and
/// the hosts that failed the compile.
pub fn parse_distcc_log(text: &str) -> (Observed, bool, Vec<String>) {
    let mut attempts: Vec<String> = Vec::new();
    let mut ran_on: Option<String> = None;
    let mut failed_host: Option<String> = None;
    let mut no_host = false;
    let mut error = false;
    for line in text.lines() {
        let body = line.split_once("] ").map_or(line, |(_, b)| b);
        let body = body
            .strip_prefix("Warning: ")
            .or_else(|| body.strip_prefix("ERROR: "))
            .unwrap_or(body);
        let body = match body.strip_prefix('(') {
            Some(rest) => rest
                .split_once(") ")
                .map_or(body, |(_, b)| b)
                .trim_start_matches("Warning: ")
                .trim_start_matches("ERROR: "),
            None => body,
        };
        if line.contains("ERROR") {
            error = true;
        }
        if let Some(rest) = body.strip_prefix("exec on ")
            && let Some((h, _)) = rest.split_once(": ")
        {
            let h = distcc_label(h);
            if h != "localhost" && !attempts.contains(&h) {
                attempts.push(h);
            }
        } else if let Some(rest) = body.strip_prefix("compile ")
            && let Some((_, after)) = rest.rsplit_once(" on ")
        {
            let host = after
                .strip_suffix(" completed ok")
                .or_else(|| after.strip_suffix(" failed"))
                .or_else(|| after.split_once(" failed with exit code").map(|(h, _)| h))
                .or_else(|| after.split_once(": ").map(|(h, _)| h));
            if let Some(h) = host {
                ran_on = Some(h.to_string());
            }
        } else if let Some(rest) = body.strip_prefix("failed to distribute ") {
            if let Some((_, tail)) = rest.rsplit_once(" to ")
                && let Some(h) = tail.strip_suffix(", running locally instead")
            {
                failed_host = Some(distcc_label(h));
            }
        } else if body.starts_with("failed to distribute, running locally instead") {
            no_host = true;
        }
    }
    let observed = match (&failed_host, no_host, &ran_on) {
        (Some(h), _, _) => Observed::Fallback("host_failed".into(), Some(h.clone())),
        (None, true, _) => Observed::Fallback("no_host".into(), None),
        (None, false, Some(h)) if h == "localhost" => Observed::Local,
        (None, false, Some(h)) => Observed::Remote(distcc_label(h)),
        (None, false, None) => Observed::Unobserved,
    };
    let engine_failed = ran_on.is_none() && error;
    let done_on = ran_on.as_deref().map(distcc_label);
    let failed = attempts
        .into_iter()
        .filter(|h| Some(h) != done_on.as_ref())
        .collect();
    (observed, engine_failed, failed)
}

/// Read icecc's log of one invocation (`ICECC_DEBUG=debug`).
///
/// - `Have to use host HOST:PORT`: the scheduler gave this compile to HOST;
/// - `local build forced by remote exception`, `got exception`: that host failed, the
///   compile ran locally;
/// - `no local daemon found`, `daemon can't determine native environment`: nothing could
///   be distributed;
/// - `<building_local>`, `building myself`: the engine compiled locally by choice.
pub fn parse_icecc_log(text: &str) -> (Observed, bool) {
    let mut host: Option<String> = None;
    let mut remote_failed = false;
    let mut no_daemon = false;
    let mut no_env = false;
    let mut local = false;
    let mut any = false;
    for line in text.lines() {
        let body = line.split_once(": ").map_or(line, |(_, b)| b);
        // Drop the timestamp's own ": " (ICECC[pid] 2026-01-01 10:00:00: message).
        let body = body.split_once(": ").map_or(body, |(a, b)| {
            if a.chars().all(|c| c.is_ascii_digit()) {
                b
            } else {
                body
            }
        });
        any = true;
        if let Some(rest) = body.strip_prefix("Have to use host ") {
            let hp = rest.split_whitespace().next().unwrap_or(rest);
            let h = hp.rsplit_once(':').map_or(hp, |(h, _)| h);
            host = Some(h.to_string());
        } else if body.contains("local build forced by remote exception")
            || body.starts_with("got exception")
        {
            remote_failed = true;
        } else if body.starts_with("no local daemon found") {
            no_daemon = true;
        } else if body.starts_with("daemon can't determine native environment") {
            no_env = true;
        } else if body.starts_with("<building_local>") || body.starts_with("building myself") {
            local = true;
        }
    }
    let observed = if remote_failed {
        Observed::Fallback("remote_failed".into(), host.clone())
    } else if no_daemon {
        Observed::Fallback("no_daemon".into(), None)
    } else if no_env {
        Observed::Fallback("no_environment".into(), None)
    } else if let Some(h) = host.filter(|h| h != "127.0.0.1") {
        Observed::Remote(h)
    } else if local {
        Observed::Local
    } else {
        Observed::Unobserved
    };
    (observed, !any)
}

/// Compile through a prefix engine alone (`tool = "none"`, or no cache tool installed):
/// `distcc /abs/cc ARGS`. `outcome` is what the invocation counts as when the engine
/// serves it. `None` when no prefix engine is configured.
pub fn run_without_cache(
    job: &Job<'_>,
    path_var: Option<&OsStr>,
    outcome: Outcome,
) -> Option<io::Result<Ran>> {
    let prefix = Prefix::new(job.cfg, path_var, job.cwd)?;
    let name = prefix.engine.name();
    let Some(exe) = prefix.exe.clone() else {
        let done = prefix.finish(true);
        if let Some(o) = done.observed {
            note(o);
        }
        log::warn!("{name} is not installed; compiling locally");
        return Some(super::run_direct(job).map(|status| Ran {
            status,
            outcome: Outcome::Fallback(format!("{name}_missing")),
        }));
    };
    let mut cmd = Command::new(&exe);
    cmd.arg(job.real)
        .args(job.args)
        .envs(job.env.iter().map(|(k, v)| (k, v)))
        .envs(prefix.env.iter().map(|(k, v)| (k, v)));
    let spawned = run_tool(&mut cmd);
    let done = prefix.finish(true);
    let (status, captured) = match spawned {
        Ok(r) => r,
        Err(e) => {
            note(Observed::Fallback(format!("{name}_failed"), None));
            return Some(fall_back(
                job,
                &format!("{name}_failed"),
                format_args!("cannot run {}: {e}", exe.display()),
            ));
        }
    };
    if !status.success() && done.engine_failed {
        note(Observed::Fallback(format!("{name}_failed"), None));
        return Some(fall_back(
            job,
            &format!("{name}_failed"),
            format_args!(
                "{name} failed on its own (status {status}): {} {}",
                said(captured.as_deref()),
                done.text.trim()
            ),
        ));
    }
    if let Some(o) = done.observed {
        note_with(o, done.failed);
    }
    if let Some(bytes) = captured {
        forward_stderr(&bytes);
    }
    Some(Ok(Ran { status, outcome }))
}

/// Does this engine work under the chosen cache tool? (The configuration is checked
/// against `tool`; this catches a tool that fell through `prefer` at run time.)
pub fn fits(engine: Engine, tool: Option<Tool>) -> bool {
    match engine {
        Engine::None => true,
        Engine::Distcc | Engine::Icecc => tool != Some(Tool::Sccache),
        Engine::SccacheDist => tool == Some(Tool::Sccache),
    }
}

// ---- sccache-dist ---------------------------------------------------------------------

/// The client config the sccache server for this configuration will read.
#[derive(Debug, Clone)]
struct PendingConf {
    path: PathBuf,
    scheduler_url: String,
    token_var: Option<String>,
    cache_dir: PathBuf,
}

static PENDING_CONF: Mutex<Option<PendingConf>> = Mutex::new(None);

/// sccache-dist's toolchain cache: `cache.dir/sccache-dist` when configured, else in the
/// state directory.
fn sccache_dist_cache_dir(cfg: &Config) -> PathBuf {
    cfg.dir
        .value
        .as_ref()
        .map(|d| d.join("sccache-dist"))
        .unwrap_or_else(|| paths::state_dir().join("sccache-dist"))
}

/// The variables the sccache server needs for `engine = "sccache-dist"`: `SCCACHE_CONF`,
/// named after a hash of the settings (scheduler, the token's variable *name*, the
/// toolchain cache) so that they are part of the server's identity.
pub fn sccache_env(cfg: &Config) -> Vec<(String, OsString)> {
    let Some(d) = active(cfg).filter(|d| d.engine == Engine::SccacheDist) else {
        return Vec::new();
    };
    let Some(url) = d.scheduler_url.clone() else {
        return Vec::new();
    };
    let cache_dir = sccache_dist_cache_dir(cfg);
    let mut h = Sha256::new();
    h.update(url.as_bytes());
    h.update([0]);
    h.update(d.auth_token_env.as_deref().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(cache_dir.as_os_str().as_encoded_bytes());
    let hex = paths::short_hex(&h.finalize());
    let path = paths::runtime_dir().join(format!("sccache-dist-{hex}.toml"));
    if let Ok(mut g) = PENDING_CONF.lock() {
        *g = Some(PendingConf {
            path: path.clone(),
            scheduler_url: url,
            token_var: d.auth_token_env.clone(),
            cache_dir,
        });
    }
    vec![("SCCACHE_CONF".into(), path.into_os_string())]
}

/// The client config file, removed when dropped (after the server has read it).
#[derive(Debug)]
pub struct ConfGuard(PathBuf);

impl Drop for ConfGuard {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Write the sccache-dist client config a server about to start with `env` will read,
/// if `env` names one of ours. The token is read from its variable here and written only
/// into this 0600 file, which is removed when the guard is dropped.
pub fn write_sccache_conf(env: &[(String, OsString)]) -> Option<ConfGuard> {
    let conf = env.iter().find(|(k, _)| k == "SCCACHE_CONF")?;
    let pending = PENDING_CONF.lock().ok()?.clone()?;
    if Path::new(&conf.1) != pending.path {
        return None;
    }
    let mut text = format!(
        "# written by toolchainkit for the sccache server it starts; removed once read\n[dist]\nscheduler_url = {}\ncache_dir = {}\ntoolchains = []\n",
        toml_str(&pending.scheduler_url),
        toml_str(&pending.cache_dir.to_string_lossy())
    );
    if let Some(var) = &pending.token_var
        && let Some(token) = std::env::var_os(var)
    {
        text.push_str("\n[dist.auth]\ntype = \"token\"\ntoken = ");
        text.push_str(&toml_str(&token.to_string_lossy()));
        text.push('\n');
    }
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = fs::remove_file(&pending.path);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&pending.path)
        .ok()?;
    f.write_all(text.as_bytes()).ok()?;
    Some(ConfGuard(pending.path))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REMOTE_OK: &str = "distcc[24] compile from a.c to a.o\n\
        distcc[24] exec on 10.213.77.2/2: /usr/bin/gcc -c a.c -o a.o\n\
        distcc[24] cpp a.c on localhost completed ok\n\
        distcc[24] 146 bytes from a.c compiled on 10.213.77.2 in 0.0789s, rate 2kB/s\n\
        distcc[24] compile a.c on 10.213.77.2/2 completed ok\n";

    #[test]
    fn distcc_logs() {
        assert_eq!(
            parse_distcc_log(REMOTE_OK),
            (Observed::Remote("10.213.77.2".into()), false, vec![])
        );
        let moved = "distcc[9] exec on 10.0.0.2/2: /usr/bin/gcc -c a.c -o a.o\n\
            distcc[9] (dcc_readx) ERROR: unexpected eof on fd6\n\
            distcc[9] exec on 10.0.0.3:3700/2: /usr/bin/gcc -c a.c -o a.o\n\
            distcc[9] compile a.c on 10.0.0.3:3700/2 completed ok\n";
        assert_eq!(
            parse_distcc_log(moved),
            (
                Observed::Remote("10.0.0.3:3700".into()),
                false,
                vec!["10.0.0.2".to_string()]
            )
        );
        let refused = "distcc[1] (dcc_r_result_header) ERROR: server provided no answer.\n\
            distcc[1] 146 bytes from a.c compiled on 10.213.77.2 in 0.0181s, rate 8kB/s\n\
            distcc[1] Warning: failed to distribute a.c to 10.213.77.2:3999/2,lzo, running locally instead\n\
            distcc[1] compile a.c on localhost completed ok\n";
        assert_eq!(
            parse_distcc_log(refused),
            (
                Observed::Fallback("host_failed".into(), Some("10.213.77.2:3999".into())),
                false,
                vec![]
            )
        );
        let backed_off = "distcc[1] (dcc_build_somewhere) Warning: failed to distribute, running locally instead\n\
            distcc[1] compile a.c on localhost completed ok\n";
        assert_eq!(
            parse_distcc_log(backed_off).0,
            Observed::Fallback("no_host".into(), None)
        );
        let local = "distcc[1] compile a.c on localhost completed ok\n";
        assert_eq!(parse_distcc_log(local).0, Observed::Local);
        let failed = "distcc[1] ERROR: compile bad.c on localhost failed\n";
        assert_eq!(parse_distcc_log(failed), (Observed::Local, false, vec![]));
        let own = "distcc[1] (dcc_lock_one) ERROR: failed to lock\n";
        assert_eq!(parse_distcc_log(own), (Observed::Unobserved, true, vec![]));
    }

    #[test]
    fn icecc_logs() {
        let remote = "ICECC[24750] 2026-11-28 18:28:49: asking for host to use\n\
            ICECC[24750] 2026-11-28 18:28:49: Have to use host 10.213.77.2:10245 - Job ID: 1 - env: x86_64\n\
            ICECC[24750] 2026-11-28 18:28:56: got 382 bytes (34%)\n";
        assert_eq!(
            parse_icecc_log(remote).0,
            Observed::Remote("10.213.77.2".into())
        );
        let failed = "ICECC[1] 2026-11-28 18:28:49: Have to use host 10.0.0.3:10245 - Job ID: 2\n\
            ICECC[1] 2026-11-28 18:28:50: local build forced by remote exception: Error 2\n\
            ICECC[1] 2026-11-28 18:28:50: <building_local>\n";
        assert_eq!(
            parse_icecc_log(failed).0,
            Observed::Fallback("remote_failed".into(), Some("10.0.0.3".into()))
        );
        let nodaemon = "ICECC[1] 2026-11-28 18:28:49: no local daemon found\n";
        assert_eq!(
            parse_icecc_log(nodaemon).0,
            Observed::Fallback("no_daemon".into(), None)
        );
        assert!(parse_icecc_log("").1);
    }

    #[test]
    fn keys() {
        assert_eq!(Observed::Remote("10.0.0.2".into()).key(), "remote.10.0.0.2");
        assert_eq!(
            Observed::Fallback("host_failed".into(), Some("me@box".into())).key(),
            "fallback.host_failed@me_box"
        );
    }
}
