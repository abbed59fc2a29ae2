//! sccache: one server per distinct effective configuration (`server`: its identity,
//! start and stop), each compile sent to it by the native client (`native`, speaking
//! `wire` over a connection checked by `conn`) or the sccache client process, its outcome
//! read from the server's log (`log`), and a direct compile whenever sccache fails on
//! its own.

pub mod conn;
pub mod log;
pub mod native;
pub mod server;
pub mod wire;

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::Path;
use std::process::Command;

use self::conn::Reach;
use self::log::{Seen, Watch};
use self::native::Attempt;
use self::server::{
    LocalOnly, Started, client_for, credential_names, ensure_server_or_local, env, local_env,
    running_state, socket_for,
};
use super::fidelity;
use super::{Job, Ran, fall_back, fix_output_modes, forward_stderr, run_direct, said};
use crate::config::SccacheClient;
use crate::outcome::Outcome;

fn direct(job: &Job<'_>, outcome: Outcome) -> io::Result<Ran> {
    Ok(Ran::new(run_direct(job)?, outcome))
}

/// sccache's preprocessor failed (`fidelity::rerun_directly`): what it printed is not
/// what the compiler prints, so the compiler runs directly and only its output reaches
/// the build. Counted as `uncacheable.preprocessor_error`, as before.
fn rerun(job: &Job<'_>) -> io::Result<Ran> {
    ::log::info!(
        "sccache's preprocessor failed; running the compiler directly for its own diagnostics"
    );
    let status = run_direct(job)?;
    // A depfile sccache's preprocessing wrote keeps its mode when gcc writes it again.
    fix_output_modes(job.parsed, job.cwd);
    Ok(Ran::new(
        status,
        Outcome::Uncacheable("preprocessor_error".into()),
    ))
}

/// The outcome of a compile the server was asked to run, from its log lines and
/// whether the compile failed. A failed compile is never a hit or a miss for sccache.
fn observed(seen: Option<Seen>, failed: bool, tool_name: &'static str) -> Outcome {
    use log::Result as R;
    match seen {
        Some(Seen::One(R::CacheError)) if failed => {
            Outcome::Uncacheable("preprocessor_error".into())
        }
        _ if failed => Outcome::Uncacheable("compile_failed".into()),
        Some(Seen::One(r)) => match r {
            R::Hit => Outcome::ToolHit("sccache"),
            R::Miss => Outcome::Miss,
            R::NotCached => Outcome::Uncacheable("disabled_by_env".into()),
            R::NotCacheable => Outcome::Uncacheable("not_cacheable".into()),
            R::CompileFailed => Outcome::Uncacheable("compile_failed".into()),
            R::CacheError => Outcome::Error("sccache_cache_error".into()),
        },
        Some(Seen::Conflict) => Outcome::Forwarded("ambiguous"),
        Some(Seen::Nothing | Seen::Lost) | None => Outcome::Forwarded(tool_name),
    }
}

/// Everything a compile through a running server needs.
struct Ctx<'a> {
    exe: &'a Path,
    job: &'a Job<'a>,
    sock: &'a Path,
    /// The variables the server was started with (the local-only set when it runs
    /// without its remote).
    server_env: Vec<(String, OsString)>,
    secrets: Vec<String>,
    tool_name: &'static str,
    /// The arguments sccache is given (`fidelity::for_sccache`); direct runs use the
    /// job's own.
    args: &'a [OsString],
}

/// Run one compile through sccache at `exe`.
pub fn run(exe: &Path, job: &Job<'_>) -> io::Result<Ran> {
    let full_env = env(job.cfg);
    let sock = socket_for(exe, &full_env);
    let local = job.cfg.remote.value.as_ref().and_then(|r| {
        let base = local_env(job.cfg);
        (full_env.len() > base.len()).then(|| LocalOnly {
            env: base,
            probe: super::remote::probe_targets(r),
            secrets: credential_names(job.cfg),
        })
    });
    let native_wanted = job.cfg.sccache_client.value == SccacheClient::Native;
    // A running server of ours answers this connection (one `lstat` of the runtime
    // directory, the connection, one `getsockopt`): no separate check. Anything else
    // (no server yet, a directory that is not private) goes through
    // `ensure_server_or_local`, which makes the directory ours or refuses it before any
    // file in it is used.
    let (state, peer, mut stream) = match conn::reach(&sock) {
        Reach::Up(s, p) => (running_state(&sock), p, Some(s)),
        Reach::Wedged(why) => {
            return fall_back(job, "sccache_server_unresponsive", format_args!("{why}"));
        }
        Reach::Down(_) | Reach::Refused(_) => {
            match ensure_server_or_local(exe, &sock, &full_env, local.as_ref(), job.cfg) {
                Ok((state, p)) => (state, p, None),
                Err(u) => return fall_back(job, u.reason, format_args!("{u}")),
            }
        }
    };
    let (server_env, tool_name) = match state {
        Started::AsConfigured => (full_env.clone(), "sccache"),
        Started::LocalOnly(why) => {
            ::log::warn!("sccache server runs without its remote cache: {why}");
            crate::stats::causes::note(
                "sccache.local_only",
                format!("the sccache server runs without its remote cache: {why}"),
            );
            (
                local.as_ref().map(|l| l.env.clone()).unwrap_or_default(),
                "sccache_local_only",
            )
        }
    };
    let sent = fidelity::for_sccache(job.args, job.parsed);
    let ctx = Ctx {
        exe,
        job,
        sock: &sock,
        server_env,
        secrets: credential_names(job.cfg),
        tool_name,
        args: &sent,
    };
    let watch = log::object_basename(job.parsed).and_then(|b| Watch::begin(&sock, &b));
    if native_wanted {
        match client_for(job.cfg, exe, &sock) {
            Ok(_) => {
                let reached = match stream.take() {
                    Some(s) => Ok((s, peer)),
                    None => match conn::reach(&sock) {
                        Reach::Up(s, p) => Ok((s, p)),
                        Reach::Down(e) => Err(e.to_string()),
                        Reach::Refused(why) | Reach::Wedged(why) => Err(why),
                    },
                };
                match reached {
                    Ok((s, p)) => match run_native(&ctx, s, p, watch) {
                        Ok(ran) => return ran,
                        Err((why, w)) => {
                            ::log::info!(
                                "native sccache request not accepted ({why}); using the sccache client"
                            );
                            // The server may have gone between the connection and the
                            // request: start the next one here, with its log, rather
                            // than let the sccache client start one without it.
                            let p = match ensure_server_or_local(
                                exe,
                                &sock,
                                &full_env,
                                local.as_ref(),
                                job.cfg,
                            ) {
                                Ok((_, p)) => p,
                                Err(u) => {
                                    drop(w);
                                    return fall_back(job, u.reason, format_args!("{u}"));
                                }
                            };
                            return run_process(&ctx, p, w);
                        }
                    },
                    Err(why) => ::log::info!("cannot connect to {}: {why}", sock.display()),
                }
            }
            Err(why) => ::log::info!("sccache client process: {why}"),
        }
    }
    drop(stream);
    run_process(&ctx, peer, watch)
}

/// The environment changes for a compile request or the sccache client: the job's, the
/// server's variables without credentials, the locale in sccache's key
/// (`fidelity::locale_buster`), the server's socket.
fn client_overrides(ctx: &Ctx<'_>) -> Vec<(OsString, OsString)> {
    let mut v: Vec<(OsString, OsString)> = ctx.job.env.clone();
    v.extend(
        ctx.server_env
            .iter()
            .filter(|(k, _)| !native::is_secret(OsStr::new(k), &ctx.secrets))
            .map(|(k, val)| (OsString::from(k), val.clone())),
    );
    v.extend(fidelity::locale_buster(|k| std::env::var_os(k)));
    v.push(("SCCACHE_SERVER_UDS".into(), ctx.sock.as_os_str().to_owned()));
    v
}

/// The native client. `Err` (with the watch, unused) when the server did not accept the
/// compile: nothing ran, so the process path may try.
fn run_native(
    ctx: &Ctx<'_>,
    stream: std::os::unix::net::UnixStream,
    peer: conn::Peer,
    watch: Option<Watch>,
) -> Result<io::Result<Ran>, (String, Option<Watch>)> {
    let job = ctx.job;
    let env_vars = native::request_env(
        &client_overrides(ctx),
        &["SCCACHE_SERVER_PORT"],
        &ctx.secrets,
    );
    let req = wire::Compile {
        exe: job.real.as_os_str(),
        cwd: job.cwd.as_os_str(),
        args: ctx.args,
        env_vars: &env_vars,
    };
    let attempt = native::compile(stream, peer, &req);
    let ran = match attempt {
        Attempt::NotAccepted(why) => return Err((why, watch)),
        Attempt::Unresponsive(why) => {
            drop(watch);
            fall_back(
                job,
                "sccache_server_unresponsive",
                format_args!("the sccache server did not take the compile: {why}"),
            )
        }
        Attempt::Unhandled => {
            drop(watch);
            direct(job, Outcome::Uncacheable("unhandled_by_sccache".into()))
        }
        Attempt::Unsupported(why) => {
            drop(watch);
            ::log::info!(
                "sccache does not support {}: {}",
                job.real.display(),
                why.to_string_lossy()
            );
            direct(job, Outcome::Uncacheable("unsupported_compiler".into()))
        }
        Attempt::Lost(why) => {
            drop(watch);
            let reason = if why.contains("is stopped") {
                "sccache_server_unresponsive"
            } else {
                "sccache_connection_lost"
            };
            fall_back(
                job,
                reason,
                format_args!("the sccache server took the compile, then {why}"),
            )
        }
        Attempt::Finished(f) => {
            let seen = watch.map(Watch::finish);
            match native::status_of(&f) {
                Some(status) if !native::is_fatal(&f) => {
                    if fidelity::rerun_directly(seen.as_ref(), status) {
                        return Ok(rerun(job));
                    }
                    native::write_outputs(&f);
                    fix_output_modes(job.parsed, job.cwd);
                    Ok(Ran::new(
                        status,
                        observed(seen, !status.success(), ctx.tool_name),
                    ))
                }
                _ => fall_back(
                    job,
                    "sccache_failed",
                    format_args!("sccache failed on its own: {}", said(Some(&f.stderr))),
                ),
            }
        }
    };
    Ok(ran)
}

/// `line` occurs in `bytes` at the start of a line.
fn has_line(bytes: &[u8], line: &[u8]) -> bool {
    bytes.starts_with(line)
        || bytes
            .windows(line.len() + 1)
            .any(|w| w[0] == b'\n' && &w[1..] == line)
}

/// The sccache client's warning when its server went away mid-compile (it then compiles
/// locally). Removed from what reaches the build.
const SHUT_DOWN: &[u8] =
    b"sccache: warning: The server looks like it shut down unexpectedly, compiling locally instead\n";

fn without_line(bytes: &[u8], line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        if &rest[..end] != line {
            out.extend_from_slice(&rest[..end]);
        }
        rest = &rest[end..];
    }
    out
}

/// Did a compile-only invocation write its object (or other outputs) after `since`?
fn produced_output(job: &Job<'_>, since: std::time::SystemTime) -> bool {
    job.parsed.outputs().iter().any(|o| {
        fs::metadata(job.cwd.join(o))
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since)
    })
}

/// The sccache client process, for the server `peer`. While it runs, the server is
/// watched (`conn::Watchdog`): a server that stays stopped (with no compiler of
/// its own still running) gets the client killed and the compiler run directly.
fn run_process(ctx: &Ctx<'_>, peer: conn::Peer, watch: Option<Watch>) -> io::Result<Ran> {
    let job = ctx.job;
    let mut cmd = Command::new(ctx.exe);
    cmd.arg(job.real)
        .args(ctx.args)
        .envs(client_overrides(ctx))
        .env_remove("SCCACHE_SERVER_PORT");
    // Credentials never reach the client (it would send them to the server).
    for (k, _) in std::env::vars_os() {
        if native::is_secret(&k, &ctx.secrets) {
            cmd.env_remove(k);
        }
    }
    let since = std::time::SystemTime::now();
    let mut dog = conn::Watchdog::new(peer.pid);
    let capture = !crate::process::stderr_is_tty();
    // A server that is gone is the client's to handle (it compiles locally and says so).
    let watched =
        crate::process::run_watched(&mut cmd, capture, conn::TICK, || match dog.check(true) {
            Some(conn::GiveUp::Stopped(why)) => Some(why),
            _ => None,
        });
    let (status, captured) = match watched {
        Ok(w) if w.gave_up.is_some() => {
            drop(watch);
            return fall_back(
                job,
                "sccache_server_unresponsive",
                format_args!(
                    "the sccache client was killed: {}",
                    w.gave_up.unwrap_or_default()
                ),
            );
        }
        Ok(w) => (w.status, w.stderr),
        Err(e) => {
            drop(watch);
            return fall_back(
                job,
                "sccache_not_runnable",
                format_args!("cannot run {}: {e}", ctx.exe.display()),
            );
        }
    };
    let seen = watch.map(Watch::finish);
    let server_ran_it = matches!(seen, Some(Seen::One(_) | Seen::Conflict));
    // sccache's own failures: exit 2 with `sccache: error: ...` (the client's errors),
    // or 254 (its `-2`) with `sccache: encountered fatal error` (the server's). A
    // compiler exits 1 (4 on an internal error). On a terminal the client's stderr is
    // not captured: then a 254 whose compile left no result line and no fresh output.
    let own_failure = !server_ran_it
        && match status.code() {
            Some(2) => captured
                .as_deref()
                .is_none_or(|b| has_line(b, b"sccache: error")),
            Some(254) => match captured.as_deref() {
                Some(b) => {
                    has_line(b, b"sccache: encountered fatal error")
                        || has_line(b, b"sccache: error:")
                }
                None => !produced_output(job, since),
            },
            _ => false,
        };
    if own_failure {
        return fall_back(
            job,
            "sccache_failed",
            format_args!("sccache failed on its own: {}", said(captured.as_deref())),
        );
    }
    if captured.is_some() && fidelity::rerun_directly(seen.as_ref(), status) {
        // On a terminal the client's stderr reached it already: nothing to replace.
        return rerun(job);
    }
    let mut lost = false;
    if let Some(bytes) = captured {
        lost = has_line(&bytes, SHUT_DOWN);
        forward_stderr(&if lost {
            without_line(&bytes, SHUT_DOWN)
        } else {
            bytes
        });
    }
    fix_output_modes(job.parsed, job.cwd);
    let outcome = if lost {
        ::log::warn!(
            "the sccache server went away during the compile; its client compiled locally"
        );
        Outcome::Fallback("sccache_connection_lost".into())
    } else {
        observed(seen, !status.success(), ctx.tool_name)
    };
    Ok(Ran::new(status, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_from_lines() {
        use super::log::Result as R;
        let o = |seen, failed| observed(seen, failed, "sccache").key();
        assert_eq!(o(Some(Seen::One(R::Hit)), false), "hit.sccache");
        assert_eq!(o(Some(Seen::One(R::Miss)), false), "miss");
        assert_eq!(
            o(Some(Seen::One(R::NotCached)), false),
            "uncacheable.disabled_by_env"
        );
        assert_eq!(
            o(Some(Seen::One(R::CacheError)), true),
            "uncacheable.preprocessor_error"
        );
        assert_eq!(o(Some(Seen::Nothing), true), "uncacheable.compile_failed");
        assert_eq!(o(Some(Seen::Nothing), false), "forwarded.sccache");
        assert_eq!(o(Some(Seen::Conflict), false), "forwarded.ambiguous");
        assert_eq!(o(Some(Seen::Lost), false), "forwarded.sccache");
        assert_eq!(o(None, false), "forwarded.sccache");
    }

    #[test]
    fn shut_down_warning_is_removed() {
        let mut b = b"a.c: warning: x\n".to_vec();
        b.extend_from_slice(SHUT_DOWN);
        b.extend_from_slice(b"more\n");
        assert!(has_line(&b, SHUT_DOWN));
        assert_eq!(without_line(&b, SHUT_DOWN), b"a.c: warning: x\nmore\n");
        assert!(has_line(b"sccache: error: x", b"sccache: error"));
        assert!(!has_line(b"x sccache: error: x", b"sccache: error"));
    }
}
