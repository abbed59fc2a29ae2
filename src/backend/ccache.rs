//! ccache: environment from the config, and the outcome of one invocation read from a
//! private `CCACHE_STATSLOG` (the user's own `CCACHE_STATSLOG` still receives its lines).
//!
//! The private log is a pipe the child inherits, named to ccache as `/dev/fd/N`: no file is
//! created, read and unlinked per compile. Where `/proc` is missing a private file in the
//! state directory is used instead.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use super::dist::Observed;
use super::{Job, Ran, fall_back, forward_stderr, run_tool, said};
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

/// A pipe for ccache's stats log: the read end stays here (non-blocking, close-on-exec),
/// the write end is inherited by the one child.
struct LogPipe {
    read: fs::File,
    write: OwnedFd,
}

fn log_pipe() -> Option<LogPipe> {
    if !Path::new("/proc/self/fd").is_dir() {
        return None;
    }
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills the two-element array with new descriptors on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return None;
    }
    // SAFETY: both descriptors were just created and are owned by nothing else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // The child must inherit the write end, blocking and without close-on-exec. The shim
    // is single-threaded on the compile path and starts no other process before the tool.
    // SAFETY: fcntl on a descriptor we own.
    let ok = unsafe {
        libc::fcntl(write.as_raw_fd(), libc::F_SETFL, 0) == 0
            && libc::fcntl(write.as_raw_fd(), libc::F_SETFD, 0) == 0
    };
    ok.then(|| LogPipe {
        read: fs::File::from(read),
        write,
    })
}

/// Where ccache writes this invocation's stats log, and how it is read back.
enum PrivateLog {
    Pipe(LogPipe),
    File(PathBuf),
}

impl PrivateLog {
    fn new() -> io::Result<PrivateLog> {
        if let Some(p) = log_pipe() {
            return Ok(PrivateLog::Pipe(p));
        }
        let log = private_log();
        if let Some(dir) = log.parent()
            && !dir.is_dir()
        {
            fs::create_dir_all(dir)?;
        }
        Ok(PrivateLog::File(log))
    }

    fn name(&self) -> OsString {
        match self {
            PrivateLog::Pipe(p) => format!("/dev/fd/{}", p.write.as_raw_fd()).into(),
            PrivateLog::File(f) => f.clone().into_os_string(),
        }
    }

    /// What ccache wrote. Called after the tool exited; the pipe is read without
    /// blocking (a ccache result is a few short lines, far below the pipe's capacity).
    fn take(self) -> String {
        match self {
            PrivateLog::Pipe(LogPipe { mut read, write }) => {
                drop(write);
                let mut buf = Vec::new();
                let _ = read.read_to_end(&mut buf); // stops at EOF or EAGAIN
                String::from_utf8(buf).unwrap_or_default()
            }
            PrivateLog::File(f) => {
                let text = fs::read_to_string(&f).unwrap_or_default();
                let _ = fs::remove_file(&f);
                text
            }
        }
    }
}

/// Run one compile through ccache at `exe`.
pub fn run(exe: &Path, job: &Job<'_>) -> io::Result<Ran> {
    let log = PrivateLog::new()?;
    let mut cmd = Command::new(exe);
    cmd.arg(job.real)
        .args(job.args)
        .envs(job.env.iter().map(|(k, v)| (k, v)))
        .envs(env(job.cfg))
        .env("CCACHE_STATSLOG", log.name());
    // [dist]: ccache runs distcc/icecc as its prefix command, for misses only.
    let dist = super::dist::Prefix::new(job.cfg, std::env::var_os("PATH").as_deref(), job.cwd);
    if let Some(d) = &dist {
        cmd.envs(d.ccache_env());
    }
    let spawned = run_tool(&mut cmd);
    let text = log.take();
    let (status, captured) = match spawned {
        Ok(r) => r,
        Err(e) => {
            return fall_back(
                job,
                "ccache_not_runnable",
                format_args!("cannot run {}: {e}", exe.display()),
            );
        }
    };
    if let Some(user_log) = paths::var_nonempty("CCACHE_STATSLOG")
        && !text.is_empty()
        && let Ok(mut f) = OpenOptions::new().create(true).append(true).open(&user_log)
    {
        let _ = f.write_all(text.as_bytes());
    }
    let observed = outcome::from_ccache_statslog(&text);
    if let Some(d) = dist {
        let compiled = matches!(observed, Some(Outcome::Miss | Outcome::MissRemoteError))
            || matches!(&observed, Some(Outcome::Uncacheable(r)) if r == "compile_failed");
        let done = d.finish(compiled);
        if done.engine_failed && !status.success() {
            // The engine failed on its own (ccache counts it as a failed compile).
            super::dist::note(Observed::Fallback("engine_failed".into(), None));
            return fall_back(
                job,
                "dist_engine_failed",
                format_args!(
                    "the distribution engine failed on its own: {}",
                    done.text.trim()
                ),
            );
        }
        if let Some(o) = done.observed {
            super::dist::note_with(o, done.failed);
        }
    }
    if !status.success() && observed.is_none() {
        // ccache failed before deciding anything (unwritable cache, bad setting): its own
        // failure, not the compile's. Hide its message and compile directly.
        return fall_back(
            job,
            "ccache_failed",
            format_args!(
                "ccache failed on its own (status {status}): {}",
                said(captured.as_deref())
            ),
        );
    }
    if let Some(bytes) = captured {
        forward_stderr(&bytes);
    }
    let outcome = observed.unwrap_or_else(|| Outcome::Error("no_result_recorded".into()));
    Ok(Ran { status, outcome })
}
