//! `toolchainkit cache show|clean|zero|size [SIZE]`: the project's cache, through the
//! tool that fills it, with the settings compiles use (its cache directory and size).
//!
//! | action | ccache | sccache |
//! |---|---|---|
//! | `show` | `ccache -s` | `sccache --show-stats` (this project's server) |
//! | `zero` | `ccache -z` | `sccache --zero-stats`, when the server runs |
//! | `clean` | `ccache -C` | no sccache command: the directory's contents are removed, only when it is the project's configured `cache.dir` (the server is stopped first so it forgets them) |
//! | `size` | `ccache -k max_size` and the disk usage | the configured size and the disk usage |
//! | `size SIZE` | `ccache -M SIZE`, unless `size_gb` is configured (it wins) | refused: set `size_gb` |
//! | `trim` | `ccache --evict-older-than`, `ccache --cleanup` | the server stopped, files unused since the mark removed (`cache_trim`) |

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::backend::ccache;
use crate::backend::sccache::server;
use crate::config::{Config, Tool};

/// What `toolchainkit cache` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Show,
    Clean,
    Zero,
    Size(Option<String>),
    /// `cache trim`: remove what the build since the mark did not use, and/or down to
    /// a size (see `cache_trim`).
    Trim {
        unused_since_mark: bool,
        max_size: Option<String>,
    },
}

pub fn run(action: Action, tool: Option<Tool>) -> anyhow::Result<i32> {
    let (cwd, cfg) = super::load_config()?;
    let tool = match tool {
        Some(t) => t,
        None => super::env::configured_tool(&cfg, &cwd)?,
    };
    let exe = crate::backend::find_tool(tool, std::env::var_os("PATH").as_deref(), &cwd)
        .with_context(|| {
            format!(
                "{} is not installed (`toolchainkit tool install {}`)",
                tool.name(),
                tool.name()
            )
        })?;
    match tool {
        Tool::Ccache => run_ccache(&exe, &cwd, &cfg, action),
        Tool::Sccache => run_sccache(&exe, &cwd, &cfg, action),
    }
}

/// The cache directory and where that setting comes from.
fn dir_of(cfg: &Config, tool: Tool) -> anyhow::Result<(PathBuf, String)> {
    crate::doctor::cache_dir::cache_dir(cfg, tool)
        .context("cannot tell where the cache lives (HOME is not set): set cache.dir")
}

/// `ccache ARGS` with the project's settings, output straight to ours.
fn ccache_cmd(exe: &Path, cfg: &Config) -> Command {
    let mut c = Command::new(exe);
    c.envs(ccache::env(cfg, Some(exe)))
        .env_remove("TOOLCHAINKIT_GUARD");
    c
}

fn status_of(c: &mut Command, what: &str) -> anyhow::Result<i32> {
    let st = c.status().with_context(|| format!("cannot run {what}"))?;
    Ok(st.code().unwrap_or(1))
}

fn run_ccache(exe: &Path, cwd: &Path, cfg: &Config, action: Action) -> anyhow::Result<i32> {
    let (dir, origin) = dir_of(cfg, Tool::Ccache)?;
    crate::outln!("ccache cache: {} ({origin})", dir.display());
    match action {
        Action::Show => status_of(ccache_cmd(exe, cfg).arg("-s"), "ccache -s"),
        Action::Zero => status_of(ccache_cmd(exe, cfg).arg("-z"), "ccache -z"),
        Action::Clean => {
            let code = status_of(ccache_cmd(exe, cfg).arg("-C"), "ccache -C")?;
            if code == 0 {
                crate::outln!("cleared (ccache -C): the counters and configuration are kept");
            }
            Ok(code)
        }
        Action::Size(Some(size)) => {
            if let Some(gb) = cfg.size_gb.value {
                bail!(
                    "size_gb = {gb} ({}) sets CCACHE_MAXSIZE for every compile, which wins over `ccache -M`: change size_gb there instead",
                    cfg.size_gb.origin
                );
            }
            status_of(ccache_cmd(exe, cfg).arg("-M").arg(&size), "ccache -M")
        }
        Action::Trim {
            unused_since_mark,
            max_size,
        } => super::cache_trim::run(
            exe,
            cwd,
            cfg,
            Tool::Ccache,
            &dir,
            unused_since_mark,
            max_size.as_deref(),
        ),
        Action::Size(None) => {
            let out = ccache_cmd(exe, cfg)
                .args(["-k", "max_size"])
                .output()
                .context("cannot run ccache -k max_size")?;
            let max = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let from = match cfg.size_gb.value {
                Some(gb) => format!("size_gb = {gb}, {}", cfg.size_gb.origin),
                None => "ccache's configuration (`cache size SIZE` sets it)".into(),
            };
            crate::outln!("maximum size: {max} ({from})");
            print_usage(&dir);
            Ok(0)
        }
    }
}

/// `ccache -z` on this project's ccache directory (`stats --zero`), when ccache is
/// installed and that directory exists: `None` otherwise (nothing counted there yet; a
/// directory is never created to be zeroed).
pub fn zero_ccache(cfg: &Config) -> Option<Result<PathBuf, String>> {
    let cwd = std::env::current_dir().ok()?;
    let exe = crate::backend::find_tool(Tool::Ccache, std::env::var_os("PATH").as_deref(), &cwd)?;
    let (dir, _) = dir_of(cfg, Tool::Ccache).ok()?;
    if !dir.is_dir() {
        return None;
    }
    Some(match ccache_cmd(&exe, cfg).arg("-z").output() {
        Ok(o) if o.status.success() => Ok(dir),
        Ok(o) => Err(format!(
            "`ccache -z` failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("cannot run {}: {e}", exe.display())),
    })
}

fn run_sccache(exe: &Path, cwd: &Path, cfg: &Config, action: Action) -> anyhow::Result<i32> {
    let (dir, origin) = dir_of(cfg, Tool::Sccache)?;
    crate::outln!("sccache cache: {} ({origin})", dir.display());
    let sock = server::socket_for(exe, &server::env(cfg));
    let up = server::server_up(&sock);
    match action {
        Action::Show => {
            if !up {
                crate::outln!(
                    "no sccache server runs for this project ({}): sccache keeps its counters in its server, so these are empty until the next compile starts it",
                    sock.display()
                );
            }
            if let Some(why) = server::refusal(&sock) {
                bail!("{why}: sccache's counters are not asked for there");
            }
            if server::is_stopped(&sock) {
                bail!(
                    "the sccache server on {} is stopped (SIGSTOP): it answers no query",
                    sock.display()
                );
            }
            // Without a server, sccache prints empty counters and starts none.
            let mut c = Command::new(exe);
            c.arg("--show-stats")
                .envs(server::env(cfg))
                .env("SCCACHE_SERVER_UDS", &sock)
                .env_remove("SCCACHE_SERVER_PORT")
                .env_remove("TOOLCHAINKIT_GUARD");
            let out = crate::process::output_within(&mut c, crate::process::QUERY_TIMEOUT)
                .with_context(|| {
                    format!(
                        "`sccache --show-stats` did not answer within {} s",
                        crate::process::QUERY_TIMEOUT.as_secs()
                    )
                })?;
            use std::io::Write;
            let _ = std::io::stdout().write_all(&out.stdout);
            let _ = std::io::stderr().write_all(&out.stderr);
            Ok(out.status.code().unwrap_or(1))
        }
        Action::Zero => match super::server::zero_sccache(cwd, cfg) {
            Some(Ok(sock)) => {
                crate::outln!(
                    "sccache's counters zeroed (its server on {})",
                    sock.display()
                );
                Ok(0)
            }
            Some(Err(e)) => bail!(e),
            None => {
                crate::outln!(
                    "no sccache server runs for this project: nothing to zero (a new server starts from zero)"
                );
                Ok(0)
            }
        },
        Action::Clean => {
            let Some(configured) = cfg.tool_dir(Tool::Sccache) else {
                bail!(
                    "sccache has no command to empty its cache, and {} is not this project's configured `cache.dir` \
                     (it is {origin}, which other projects may share): toolchainkit empties only a configured cache.dir; \
                     remove the directory yourself if you mean it",
                    dir.display()
                );
            };
            if up {
                server::stop_server(exe, &sock);
                crate::outln!(
                    "stopped the sccache server on {} (it would remember the removed entries); the next compile starts a new one",
                    sock.display()
                );
            }
            let (files, bytes) = empty_dir(&configured)?;
            crate::outln!(
                "removed {files} files ({}) from {} (cache.dir, {})",
                human_bytes(bytes),
                configured.display(),
                cfg.dir.origin
            );
            Ok(0)
        }
        Action::Trim {
            unused_since_mark,
            max_size,
        } => super::cache_trim::run(
            exe,
            cwd,
            cfg,
            Tool::Sccache,
            &dir,
            unused_since_mark,
            max_size.as_deref(),
        ),
        Action::Size(Some(_)) => bail!(
            "sccache has no command to change its size: set `size_gb` in [cache] of .toolchainkit.toml \
             (given to sccache as SCCACHE_CACHE_SIZE); a server with the new size starts on the next compile"
        ),
        Action::Size(None) => {
            let (max, from) = match (
                cfg.size_gb.value,
                crate::paths::var_nonempty("SCCACHE_CACHE_SIZE"),
            ) {
                (Some(gb), _) => (
                    format!("{gb} GiB"),
                    format!("size_gb, {}", cfg.size_gb.origin),
                ),
                (None, Some(v)) => (
                    v.to_string_lossy().into_owned(),
                    "environment SCCACHE_CACHE_SIZE".into(),
                ),
                (None, None) => ("10 GiB".into(), "sccache's default".into()),
            };
            crate::outln!("maximum size: {max} ({from})");
            print_usage(&dir);
            Ok(0)
        }
    }
}

/// Total apparent size and number of files under `dir` (symlinks not followed).
pub fn usage(dir: &Path) -> (u64, u64) {
    let mut files = 0;
    let mut bytes = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.filter_map(Result::ok) {
            let Ok(m) = e.path().symlink_metadata() else {
                continue;
            };
            if m.is_dir() {
                stack.push(e.path());
            } else {
                files += 1;
                bytes += m.len();
            }
        }
    }
    (files, bytes)
}

fn print_usage(dir: &Path) {
    if dir.is_dir() {
        let (files, bytes) = usage(dir);
        crate::outln!("on disk:      {} in {files} files", human_bytes(bytes));
    } else {
        crate::outln!(
            "on disk:      nothing yet ({} does not exist)",
            dir.display()
        );
    }
}

pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} bytes")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// Remove everything inside `dir`, keeping `dir`: (files removed, their bytes).
fn empty_dir(dir: &Path) -> anyhow::Result<(u64, u64)> {
    if !dir.exists() {
        return Ok((0, 0));
    }
    let meta = dir
        .symlink_metadata()
        .with_context(|| format!("cannot read {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a directory: nothing removed", dir.display());
    }
    let (files, bytes) = usage(dir);
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let p = e?.path();
        let m = p.symlink_metadata()?;
        let r = if m.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        r.with_context(|| format!("cannot remove {}", p.display()))?;
    }
    Ok((files, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_emptying() {
        assert_eq!(human_bytes(12), "12 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        let d = tempfile::tempdir().expect("tempdir");
        let c = d.path().join("c");
        std::fs::create_dir_all(c.join("a/b")).expect("mkdir");
        std::fs::write(c.join("a/b/x"), b"12345").expect("write");
        std::fs::write(c.join("y"), b"678").expect("write");
        let outside = d.path().join("keep");
        std::fs::write(&outside, b"keep").expect("write");
        std::os::unix::fs::symlink(&outside, c.join("link")).expect("symlink");
        assert_eq!(usage(&c).0, 3);
        let (files, _) = empty_dir(&c).expect("empty");
        assert_eq!(files, 3);
        assert!(c.is_dir() && std::fs::read_dir(&c).expect("list").next().is_none());
        assert!(outside.is_file(), "a symlink's target is never removed");
    }
}
