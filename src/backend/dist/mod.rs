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
//! write their warnings there instead of on the compiler's stderr. The observation
//! travels back with the compile's result (`Noted`, in `Ran::dist`) and is recorded by
//! `invoke` in a second stats file beside the project's (`FILE.dist`),
//! whose outcome keys are `remote.HOST`, `local`, `fallback.REASON` and
//! `fallback.host_failed@HOST`. Never the build's failure: an engine that is missing or
//! fails on its own is a counted fallback and the real compiler runs.
//!
//! Beside this file: the engine prepared for one compile (`prefix`), reading its log
//! (`parse`), sccache-dist's client config (`sccache_dist`), and asking hosts and
//! schedulers whether they are there (`probe`, for `doctor` and `dist status` only).

pub mod parse;
pub mod prefix;
pub mod probe;
pub mod sccache_dist;

use std::ffi::OsStr;
use std::io;
use std::path::PathBuf;
use std::process::Command;

use super::{Job, Ran, fall_back, forward_stderr, run_tool, said};
use crate::config::dist::{Dist, Engine};
use crate::config::{Config, Tool};
use crate::outcome::Outcome;

pub use parse::{Noted, Observed, parse_distcc_log, parse_icecc_log};
pub use prefix::{Finished, Prefix, distcc_dir, distcc_env, distcc_hosts, find_engine};
pub use sccache_dist::{ConfGuard, sccache_env, write_sccache_conf};

/// The dist stats file beside the project's stats file.
pub fn stats_path(cfg: &Config) -> PathBuf {
    let mut s = crate::stats::stats_path(cfg).into_os_string();
    s.push(".dist");
    PathBuf::from(s)
}

/// Record what the compile noted, if anything (nothing for a cache hit, a link, or a
/// project without `[dist]`): the placement with the invocation's time, and one
/// `retried@HOST` event (no time) per host that failed the compile before another host
/// took it. Never fails the compile.
pub fn record(cfg: &Config, noted: Option<&Noted>, nanos: u64) {
    let Some(Noted {
        observed: o,
        failed,
    }) = noted
    else {
        return;
    };
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
        log::warn!("{name} is not installed; compiling locally");
        return Some(super::run_direct(job).map(|status| {
            Ran::new(status, Outcome::Fallback(format!("{name}_missing")))
                .noted(done.observed.map(Noted::at))
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
            let noted = Noted::at(Observed::Fallback(format!("{name}_failed"), None));
            return Some(
                fall_back(
                    job,
                    &format!("{name}_failed"),
                    format_args!("cannot run {}: {e}", exe.display()),
                )
                .map(|r| r.noted(Some(noted))),
            );
        }
    };
    if !status.success() && done.engine_failed {
        let noted = Noted::at(Observed::Fallback(format!("{name}_failed"), None));
        return Some(
            fall_back(
                job,
                &format!("{name}_failed"),
                format_args!(
                    "{name} failed on its own (status {status}): {} {}",
                    said(captured.as_deref()),
                    done.text.trim()
                ),
            )
            .map(|r| r.noted(Some(noted))),
        );
    }
    if let Some(bytes) = captured {
        forward_stderr(&bytes);
    }
    Some(Ok(Ran::new(status, outcome).noted(done.noted())))
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
