//! A prefix engine (distcc, icecc) prepared for one compile: its program, its
//! variables, its private log in the runtime directory, and what the log said once the
//! engine exited (`Prefix::finish`, read by `parse`).

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::parse::{Noted, Observed, parse_distcc_log, parse_icecc_log};
use crate::config::Config;
use crate::config::dist::{Dist, Engine};
use crate::paths;

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
        let d = cfg.dist.value.as_ref().filter(|d| d.active())?;
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

impl Finished {
    /// What the invocation notes for the dist stats file: where the compile ran and the
    /// hosts that failed it before.
    pub fn noted(self) -> Option<Noted> {
        let failed = self.failed;
        self.observed.map(|observed| Noted { observed, failed })
    }
}
