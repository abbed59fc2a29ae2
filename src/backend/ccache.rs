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

use super::dist::{Noted, Observed};
use super::{Job, Ran, fall_back, forward_stderr, run_tool, said};
use crate::config::{Config, Tool};
use crate::outcome::{self, Outcome};
use crate::paths;

/// The variables ccache needs for this configuration, the remote's `CCACHE_REMOTE_STORAGE`
/// included (with its credential read from the variable the config names; never logged).
/// `exe`: the ccache that runs (whether it starts storage helpers).
pub fn env(cfg: &Config, exe: Option<&Path>) -> Vec<(String, OsString)> {
    let mut env = local_env(cfg);
    env.extend(super::remote::tool_env(Tool::Ccache, cfg, exe));
    env
}

/// The variables for ccache's local cache: directory, size, and `[ccache]`'s settings.
pub fn local_env(cfg: &Config) -> Vec<(String, OsString)> {
    let mut env = Vec::new();
    if let Some(d) = cfg.tool_dir(Tool::Ccache) {
        env.push(("CCACHE_DIR".into(), d.into_os_string()));
        // The untrusted project's cache directory came with a ccache.conf naming a
        // program: ccache reads no configuration file from it (the user's own
        // CCACHE_CONFIGPATH, if set, is theirs and stays).
        if matches!(cfg.dir.origin, crate::config::Origin::Project(_))
            && cfg
                .withheld
                .iter()
                .any(|w| w.key == crate::config::approval::CCACHE_CONF)
            && paths::var_nonempty("CCACHE_CONFIGPATH").is_none()
        {
            env.push(("CCACHE_CONFIGPATH".into(), "/dev/null".into()));
        }
    }
    if let Some(gb) = cfg.size_gb.value {
        env.push((
            "CCACHE_MAXSIZE".into(),
            format!("{}Mi", (gb * 1024.0).round() as u64).into(),
        ));
    }
    let c = &cfg.ccache.value;
    if let Some(d) = &c.base_dir {
        env.push(("CCACHE_BASEDIR".into(), d.clone().into_os_string()));
    }
    if let Some(v) = &c.compiler_check {
        env.push(("CCACHE_COMPILERCHECK".into(), v.into()));
    }
    if let Some(v) = &c.sloppiness {
        env.push(("CCACHE_SLOPPINESS".into(), v.join(",").into()));
    }
    // ccache's booleans: a set variable means true; the CCACHE_NO form means false.
    for (on, name, negated) in [
        (c.hash_dir, "CCACHE_HASHDIR", "CCACHE_NOHASHDIR"),
        (c.compression, "CCACHE_COMPRESS", "CCACHE_NOCOMPRESS"),
    ] {
        match on {
            Some(true) => env.push((name.into(), "1".into())),
            Some(false) => env.push((negated.into(), "1".into())),
            None => {}
        }
    }
    if let Some(l) = c.compression_level {
        env.push(("CCACHE_COMPRESSLEVEL".into(), l.to_string().into()));
    }
    env
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
        let dir = crate::private::own_state_subdir("tmp")?;
        let (_, log) = crate::private::create_unique(&dir, "ccache.statslog")?;
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
    /// The bytes as written: a line names the input file, which need not be UTF-8.
    fn take(self) -> Vec<u8> {
        match self {
            PrivateLog::Pipe(LogPipe { mut read, write }) => {
                drop(write);
                let mut buf = Vec::new();
                let _ = read.read_to_end(&mut buf); // stops at EOF or EAGAIN
                buf
            }
            PrivateLog::File(f) => {
                let bytes = fs::read(&f).unwrap_or_default();
                let _ = fs::remove_file(&f);
                bytes
            }
        }
    }
}

/// Does the environment disable ccache, as ccache reads it? `CCACHE_DISABLE` set (even
/// empty) means true, unless `CCACHE_NODISABLE` is set; ccache's own negative spellings
/// (`0`, `false`, `disable`, `no`) are an error for ccache, so they are left to it.
pub fn disabled_by_env() -> bool {
    let Some(v) = std::env::var_os("CCACHE_DISABLE") else {
        return false;
    };
    let negative = v.to_str().is_some_and(|s| {
        ["0", "false", "disable", "no"]
            .iter()
            .any(|n| s.eq_ignore_ascii_case(n))
    });
    !negative && std::env::var_os("CCACHE_NODISABLE").is_none()
}

/// ccache exited non-zero and recorded no result: was that ccache's own failure (it never
/// ran the compiler) or the compiler's? ccache prints its own fatal errors as
/// `ccache: error: ...` (ccache.cpp) and otherwise runs the compiler, recording a result,
/// unless it is disabled. With stderr captured the marker decides; on a terminal it is
/// ccache's failure unless its configuration disables it (then the compiler ran).
fn failed_on_its_own(captured: Option<&[u8]>, job: &Job<'_>) -> bool {
    match captured {
        Some(b) => {
            b.starts_with(b"ccache: error:") || b.windows(15).any(|w| w == b"\nccache: error:")
        }
        None => !disabled_by_config(job.cfg),
    }
}

/// Does a ccache configuration file in effect say `disable = true`? Read only after a
/// compile that recorded no result (never on the hot path): `CCACHE_CONFIGPATH`, else
/// the cache directory's `ccache.conf` (toolchainkit's `cache.dir`, `CCACHE_DIR`, or
/// ccache's default locations), and the system file.
fn disabled_by_config(cfg: &Config) -> bool {
    if std::env::var_os("CCACHE_NODISABLE").is_some() {
        return false;
    }
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(p) = paths::var_nonempty("CCACHE_CONFIGPATH") {
        files.push(PathBuf::from(p));
    } else {
        let dir = cfg
            .tool_dir(Tool::Ccache)
            .or_else(|| paths::var_nonempty("CCACHE_DIR").map(PathBuf::from));
        match dir {
            Some(d) => files.push(d.join("ccache.conf")),
            None => {
                if let Some(x) = paths::var_nonempty("XDG_CONFIG_HOME") {
                    files.push(PathBuf::from(x).join("ccache/ccache.conf"));
                }
                if let Some(h) = paths::home() {
                    files.push(h.join(".config/ccache/ccache.conf"));
                    files.push(h.join(".ccache/ccache.conf"));
                }
            }
        }
    }
    files.push(PathBuf::from("/etc/ccache.conf"));
    files.push(PathBuf::from("/usr/local/etc/ccache.conf"));
    files.iter().any(|f| {
        fs::read_to_string(f).is_ok_and(|t| {
            t.lines().any(|l| {
                l.split_once('=').is_some_and(|(k, v)| {
                    k.trim() == "disable" && v.trim().eq_ignore_ascii_case("true")
                })
            })
        })
    })
}

/// Run one compile through ccache at `exe`.
pub fn run(exe: &Path, job: &Job<'_>) -> io::Result<Ran> {
    let log = PrivateLog::new()?;
    let mut cmd = Command::new(exe);
    cmd.arg(job.real)
        .args(job.args)
        .envs(job.env.iter().map(|(k, v)| (k, v)))
        .envs(env(job.cfg, Some(exe)))
        .env("CCACHE_STATSLOG", log.name());
    // [dist]: ccache runs distcc/icecc as its prefix command, for misses only.
    let dist = super::dist::Prefix::new(job.cfg, std::env::var_os("PATH").as_deref(), job.cwd);
    if let Some(d) = &dist {
        cmd.envs(d.ccache_env());
    }
    let spawned = run_tool(&mut cmd);
    let raw = log.take();
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
        && !raw.is_empty()
        && let Ok(mut f) = OpenOptions::new().create(true).append(true).open(&user_log)
    {
        let _ = f.write_all(&raw);
    }
    let observed = outcome::from_ccache_statslog(&String::from_utf8_lossy(&raw));
    let mut noted = None;
    if let Some(d) = dist {
        let compiled = matches!(observed, Some(Outcome::Miss | Outcome::MissRemoteError))
            || matches!(&observed, Some(Outcome::Uncacheable(r)) if r == "compile_failed");
        let done = d.finish(compiled);
        if done.engine_failed && !status.success() {
            // The engine failed on its own (ccache counts it as a failed compile).
            let engine = Noted::at(Observed::Fallback("engine_failed".into(), None));
            return fall_back(
                job,
                "dist_engine_failed",
                format_args!(
                    "the distribution engine failed on its own: {}",
                    done.text.trim()
                ),
            )
            .map(|r| r.noted(Some(engine)));
        }
        noted = done.noted();
    }
    if !status.success() && observed.is_none() && failed_on_its_own(captured.as_deref(), job) {
        // ccache failed before running the compiler (unwritable cache, bad setting): its
        // own failure, not the compile's. Hide its message and compile directly.
        return fall_back(
            job,
            "ccache_failed",
            format_args!(
                "ccache failed on its own (status {status}): {}",
                said(captured.as_deref())
            ),
        )
        .map(|r| r.noted(noted));
    }
    if let Some(bytes) = captured {
        forward_stderr(&bytes);
    }
    if observed.is_none() && disabled_by_config(job.cfg) {
        // ccache ran the compiler itself and recorded nothing: its configuration says
        // `disable = true`.
        return Ok(Ran::new(
            status,
            Outcome::Uncacheable("disabled_by_ccache_conf".into()),
        )
        .noted(noted));
    }
    let outcome = observed.unwrap_or_else(|| Outcome::Error("no_result_recorded".into()));
    Ok(Ran::new(status, outcome).noted(noted))
}
