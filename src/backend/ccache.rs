//! ccache: environment from the config, and the outcome of one invocation read from a
//! private `CCACHE_STATSLOG` file (the user's own `CCACHE_STATSLOG` still receives its lines).

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Job, Ran, forward_stderr, run_direct, run_tool};
use crate::config::{Config, Tool};
use crate::outcome::{self, Outcome};
use crate::paths;

/// The variables ccache needs for this configuration, the remote's `CCACHE_REMOTE_STORAGE`
/// included (with its credential read from the variable the config names; never logged).
pub fn env(cfg: &Config) -> Vec<(String, OsString)> {
    let mut env = Vec::new();
    if let Some(d) = cfg.tool_dir(Tool::Ccache) {
        env.push(("CCACHE_DIR".into(), d.into_os_string()));
    }
    if let Some(gb) = cfg.size_gb.value {
        env.push((
            "CCACHE_MAXSIZE".into(),
            format!("{}Mi", (gb * 1024.0).round() as u64).into(),
        ));
    }
    env.extend(super::remote::tool_env(Tool::Ccache, cfg));
    env
}

fn private_log() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    paths::state_dir()
        .join("tmp")
        .join(format!("ccache-{}-{nanos}.statslog", std::process::id()))
}

/// Run one compile through ccache at `exe`.
pub fn run(exe: &Path, job: &Job<'_>) -> io::Result<Ran> {
    let log = private_log();
    if let Some(dir) = log.parent()
        && !dir.is_dir()
    {
        fs::create_dir_all(dir)?;
    }
    let mut cmd = Command::new(exe);
    cmd.arg(job.real)
        .args(job.args)
        .envs(job.env.iter().map(|(k, v)| (k, v)))
        .envs(env(job.cfg))
        .env("CCACHE_STATSLOG", &log);
    let spawned = run_tool(&mut cmd);
    let text = fs::read_to_string(&log).unwrap_or_default();
    let _ = fs::remove_file(&log);
    let (status, captured) = match spawned {
        Ok(r) => r,
        Err(e) => {
            log::warn!(
                "cannot run {}: {e}; running the compiler directly",
                exe.display()
            );
            let status = run_direct(job)?;
            return Ok(Ran {
                status,
                outcome: Outcome::Fallback("ccache_not_runnable".into()),
            });
        }
    };
    if let Some(user_log) = paths::var_nonempty("CCACHE_STATSLOG")
        && !text.is_empty()
        && let Ok(mut f) = OpenOptions::new().create(true).append(true).open(&user_log)
    {
        let _ = f.write_all(text.as_bytes());
    }
    let observed = outcome::from_ccache_statslog(&text);
    if !status.success() && observed.is_none() {
        // ccache failed before deciding anything (unwritable cache, bad setting): its own
        // failure, not the compile's. Hide its message and compile directly.
        log::warn!(
            "ccache failed on its own (status {status}): {}; running the compiler directly",
            captured
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default()
                .trim()
        );
        let status = run_direct(job)?;
        return Ok(Ran {
            status,
            outcome: Outcome::Fallback("ccache_failed".into()),
        });
    }
    if let Some(bytes) = captured {
        forward_stderr(&bytes);
    }
    let outcome = observed.unwrap_or_else(|| Outcome::Error("no_result_recorded".into()));
    Ok(Ran { status, outcome })
}
