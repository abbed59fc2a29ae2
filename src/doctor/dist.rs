//! `[dist]`: the engine is installed and fits the cache tool; every distcc host and the
//! icecream or sccache-dist scheduler answers; each distcc host accepts the compiler and
//! runs the same version (a probe compile there and here, objects compared); distcc over
//! plain TCP to a non-loopback address is flagged (it is unauthenticated); the
//! sccache-dist token variable is set (its value is never printed).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Check, Ctx};
use crate::backend::dist as engine;
use crate::backend::dist::probe::{icecc_listcs, probe_tcp};
use crate::config::dist::{DistccHost, Engine, Reach};

/// Is this host name a loopback address (or `localhost`)?
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost" || h.parse::<IpAddr>().is_ok_and(|a| a.is_loopback())
}

/// The security judgement for one distcc host (pure).
pub fn judge_security(h: &DistccHost) -> Option<Check> {
    match &h.reach {
        Reach::Tcp { host, port } if !h.auth && !is_loopback(host) => Some(Check::warn(
            format!("dist.security.{}", h.label()),
            format!(
                "distcc reaches {host}:{port} over plain TCP: unauthenticated and unencrypted; anyone who can connect can run the whitelisted compilers there and read the sources sent"
            ),
            format!(
                "limit distccd on {host} to your build machines (`distccd --allow CIDR --listen ADDR`, a firewall), or use SSH mode: write the host as `@{host}/N` (distccd runs over ssh, authenticated and encrypted)"
            ),
        )),
        _ => None,
    }
}

/// Where the probe compile ran, from distcc's log, and the version string in an object.
fn version_in(obj: &[u8]) -> Option<String> {
    let start = obj.windows(8).position(|w| w == b"TKPROBE<")? + 8;
    let end = start + obj[start..].iter().position(|&b| b == b'>')?;
    Some(String::from_utf8_lossy(&obj[start..end]).into_owned())
}

/// Compile a probe on one distcc host with no fallback, and here; compare.
fn probe_distcc_host(
    distcc: &Path,
    cc: &Path,
    h: &DistccHost,
    d: &crate::config::dist::Dist,
) -> Check {
    let name = format!("dist.host.{}", h.label());
    let dir = std::env::temp_dir().join(format!("toolchainkit-doctor-dist-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let src = dir.join("probe.c");
    let _ = std::fs::write(
        &src,
        "const char toolchainkit_probe[] = \"TKPROBE<\" __VERSION__ \">\";\n",
    );
    let (remote_o, local_o, log) = (dir.join("r.o"), dir.join("l.o"), dir.join("distcc.log"));
    let state = dir.join("state");
    let _ = std::fs::create_dir_all(&state);
    let status = Command::new(distcc)
        .arg(cc)
        .args(["-c"])
        .arg(&src)
        .arg("-o")
        .arg(&remote_o)
        .env("DISTCC_HOSTS", &h.spec)
        .env("DISTCC_FALLBACK", "0")
        .env("DISTCC_DIR", &state)
        .env("DISTCC_LOG", &log)
        .env("DISTCC_IO_TIMEOUT", d.io_timeout_secs.min(30).to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = Command::new(cc)
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(&local_o)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let remote = std::fs::read(&remote_o).ok();
    let here = std::fs::read(&local_o).ok();
    let _ = std::fs::remove_dir_all(&dir);
    let (observed, _, _) = engine::parse_distcc_log(&text);
    let ok_remote = status.is_ok_and(|s| s.success())
        && matches!(observed, engine::Observed::Remote(_))
        && remote.is_some();
    if !ok_remote {
        let why = if text.contains("whitelist") || text.contains("server provided no answer") {
            format!(
                "refused the compile of {}: the compiler is not in its whitelist (distccd >= 3.3 runs only compilers linked in /usr/lib/distcc), or its --allow list excludes this machine",
                cc.display()
            )
        } else if text.contains("Connection refused") {
            "refuses connections (is distccd running and listening on that address?)".into()
        } else if text.contains("timeout") || text.contains("No route") {
            "does not answer (down, or a firewall drops the connection)".into()
        } else {
            "did not compile the probe".into()
        };
        let abs_hint = if cc
            .parent()
            .is_some_and(|p| p != Path::new("/usr/bin") && p != Path::new("/bin"))
        {
            format!(
                " distccd refuses absolute compiler paths outside /usr/bin and /bin ({}).",
                cc.display()
            )
        } else {
            String::new()
        };
        return Check::problem(
            name,
            format!(
                "{} {why}; compiles fall back to this machine.{abs_hint}",
                h.spec
            ),
            format!(
                "on the host: `distccd --daemon --allow <this machine's CIDR> --listen <addr>` and `update-distcc-symlinks` (or `ln -s ../../bin/distcc /usr/lib/distcc/{}`)",
                cc.file_name()
                    .map_or("gcc".into(), |n| n.to_string_lossy().into_owned())
            ),
        );
    }
    let (rv, lv) = (
        remote.as_deref().and_then(version_in),
        here.as_deref().and_then(version_in),
    );
    if remote != here {
        return Check::warn(
            name,
            format!(
                "{} compiles, but with another compiler: there `{}`, here `{}`: objects differ from local builds (and from cache hits)",
                h.spec,
                rv.unwrap_or_else(|| "?".into()),
                lv.unwrap_or_else(|| "?".into())
            ),
            "install the same compiler version on every host (or remove the host)",
        );
    }
    Check::ok(
        name,
        format!(
            "{} accepts {} ({}), same version, identical object",
            h.spec,
            cc.display(),
            lv.unwrap_or_default()
        ),
    )
}

fn resolve_cc(ctx: &Ctx) -> Option<PathBuf> {
    crate::resolve::resolve(
        std::ffi::OsStr::new("cc"),
        ctx.path_var.as_deref(),
        &ctx.cwd,
        ctx.me,
    )
    .ok()
    .map(|r| r.real)
}

pub fn checks(ctx: &Ctx) -> Vec<Check> {
    let mut out = Vec::new();
    let Some(d) = engine::active(&ctx.cfg) else {
        return out;
    };
    let tool = ctx.choice.tool.as_ref().map(|(t, _)| *t);
    let engine_alone = tool.is_none() && d.engine != Engine::SccacheDist;
    if !(engine::fits(d.engine, tool) || engine_alone) {
        out.push(Check::problem(
            "dist",
            format!(
                "engine = \"{}\" but compiles use {} ({}): nothing is distributed",
                d.engine.name(),
                tool.map_or("no cache tool", |t| t.name()),
                ctx.choice.why
            ),
            "install the tool the engine works with (ccache for distcc/icecc, sccache for sccache-dist)",
        ));
    }
    match d.engine {
        Engine::None => {}
        Engine::Distcc | Engine::Icecc => {
            let Some(exe) = engine::find_engine(d.engine, ctx.path_var.as_deref(), &ctx.cwd) else {
                out.push(Check::problem(
                    "dist",
                    format!(
                        "engine = \"{}\" but `{}` is not installed: every compile runs on this machine (counted as fallback.{}_missing)",
                        d.engine.name(),
                        d.engine.name(),
                        d.engine.name()
                    ),
                    format!("apt-get install {}", d.engine.name()),
                ));
                return out;
            };
            out.push(Check::ok(
                "dist",
                format!(
                    "{} at {} ({})",
                    d.engine.name(),
                    exe.display(),
                    ctx.cfg.dist.origin
                ),
            ));
            if d.engine == Engine::Distcc {
                let cc = resolve_cc(ctx);
                for h in &d.hosts {
                    out.extend(judge_security(h));
                    match (&h.reach, &cc) {
                        (Reach::Local, _) => {}
                        (_, None) => out.push(Check::new(
                            format!("dist.host.{}", h.label()),
                            super::Level::Skip,
                            "no real `cc` to probe the host with",
                        )),
                        (Reach::Tcp { host, port }, Some(cc)) => match probe_tcp(host, *port) {
                            Err(e) => out.push(Check::problem(
                                format!("dist.host.{}", h.label()),
                                format!("{}: {e} (compiles go to the other hosts or fall back to this machine)", h.spec),
                                format!("start distccd on {host} (`distccd --daemon --allow CIDR --listen ADDR -j N`), or remove the host"),
                            )),
                            Ok(()) => out.push(probe_distcc_host(&exe, cc, h, d)),
                        },
                        (Reach::Ssh { .. }, Some(cc)) => out.push(probe_distcc_host(&exe, cc, h, d)),
                    }
                }
            } else if let Some((host, port)) = &d.scheduler {
                out.push(match icecc_listcs(host, *port) {
                    Ok(list) if list.iter().any(|c| !c.addr.ends_with(":0")) => Check::ok(
                        "dist.scheduler",
                        format!(
                            "{host}:{port} answers; compile servers: {}",
                            list.iter()
                                .map(|c| format!("{} ({}, jobs {})", c.name, c.addr, c.jobs))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                    Ok(_) => Check::warn(
                        "dist.scheduler",
                        format!("{host}:{port} answers but lists no compile server that accepts remote jobs"),
                        "start iceccd (as root, so it can chroot) on the build hosts with `-s SCHEDULER`",
                    ),
                    Err(e) => Check::problem(
                        "dist.scheduler",
                        format!("icecc-scheduler {host}:{port} (text interface on {}): {e}", port + 1),
                        "start icecc-scheduler there, or fix [dist] scheduler; the local iceccd must use the same one (`iceccd -s HOST`)",
                    ),
                });
                let sockets = ["/var/run/icecc/iceccd.socket", "/var/run/iceccd.socket"];
                let test_sock = std::env::var_os("ICECC_TEST_SOCKET").map(PathBuf::from);
                let home_sock = crate::paths::home().map(|h| h.join(".iceccd.socket"));
                let found = sockets
                    .iter()
                    .map(PathBuf::from)
                    .chain(test_sock)
                    .chain(home_sock)
                    .any(|p| std::os::unix::net::UnixStream::connect(p).is_ok())
                    || probe_tcp("127.0.0.1", 10245).is_ok();
                out.push(if found {
                    Check::ok("dist.daemon", "the local iceccd answers")
                } else {
                    Check::problem(
                        "dist.daemon",
                        "no local iceccd answers (/var/run/icecc/iceccd.socket, ~/.iceccd.socket, 127.0.0.1:10245): icecc compiles everything locally",
                        format!("start iceccd on this machine with `-s {host}:{port}` (Debian: the iceccd service, ICECC_SCHEDULER_HOST in /etc/icecc/icecc.conf)"),
                    )
                });
                out.push(Check::ok(
                    "dist.version",
                    "icecream ships this machine's compiler to the hosts (icecc-create-env), so versions cannot differ",
                ));
            }
        }
        Engine::SccacheDist => {
            if let Some(u) = &d.scheduler_url
                && let Some(crate::doctor::remote::Target::Tcp(h, p)) =
                    crate::doctor::remote::target(crate::config::remote::RemoteKind::Http, u)
            {
                out.push(match probe_tcp(&h, p) {
                    Ok(()) => Check::ok("dist.scheduler", format!("{u} accepts connections")),
                    Err(e) => Check::problem(
                        "dist.scheduler",
                        format!("{u}: {e} (sccache compiles locally while the scheduler is down)"),
                        "start `sccache-dist scheduler --config scheduler.conf` there, or fix [dist] scheduler_url",
                    ),
                });
            }
            match &d.auth_token_env {
                None => out.push(Check::warn(
                    "dist.token",
                    "no auth_token_env: sccache sends its built-in insecure client token",
                    "set `auth_token_env = \"SCCACHE_DIST_TOKEN\"` and the scheduler's client_auth token",
                )),
                Some(v) if crate::paths::var_nonempty(v).is_none() => out.push(Check::problem(
                    "dist.token",
                    format!("{v} (dist.auth_token_env) is not set: the scheduler refuses this client and compiles stay local"),
                    format!("export {v} in the build's environment (from your secret store)"),
                )),
                Some(v) => out.push(Check::ok("dist.token", format!("{v} is set"))),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::dist::parse_distcc_host;

    #[test]
    fn plain_tcp_off_loopback_is_flagged() {
        let h = |s: &str| parse_distcc_host(s).expect("host");
        assert!(judge_security(&h("10.0.0.2/4")).is_some());
        assert!(judge_security(&h("buildbox:3632/8,lzo")).is_some());
        assert!(judge_security(&h("127.0.0.1/2")).is_none());
        assert!(judge_security(&h("[::1]/2")).is_none());
        assert!(judge_security(&h("@buildbox/8")).is_none());
        assert!(judge_security(&h("buildbox,auth")).is_none());
        assert!(judge_security(&h("localhost/2")).is_none());
    }

    #[test]
    fn version_string_from_object() {
        assert_eq!(
            version_in(b"\x00abc TKPROBE<12.2.0>\x00").as_deref(),
            Some("12.2.0")
        );
        assert_eq!(version_in(b"nothing"), None);
    }
}
