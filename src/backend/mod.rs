//! The cache tools: finding them, choosing one, and running a compile through it.
//!
//! `route` decides how one compile runs; each tool's module knows how to run it, which
//! environment it needs, and how to read the outcome of one invocation, returned as a
//! `Ran`. `run_direct` is the fallback every path can take.

pub mod ccache;
pub mod dist;
pub mod fidelity;
pub mod nvcc;
pub mod remote;
pub mod route;
pub mod sccache;
pub mod storage_helper;

use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use crate::config::{Config, Tool, ToolChoice};
use crate::outcome::Outcome;
use crate::{paths, process};

/// One compile to run: the real compiler and everything the child needs.
#[derive(Debug)]
pub struct Job<'a> {
    /// Absolute path of the real compiler.
    pub real: &'a Path,
    /// The compiler word as called (`argv[0]`, or the launcher's first argument).
    pub compiler: &'a OsStr,
    /// `argv[0]` for a direct run (the name the user typed, so `-v` output matches).
    pub arg0: &'a OsStr,
    pub args: &'a [OsString],
    /// What `args` say, parsed once for the whole compile path.
    pub parsed: &'a crate::args::Args<'a>,
    /// Environment changes for every child: `PATH` without shim dirs, the re-entry guard.
    pub env: Vec<(OsString, OsString)>,
    pub cfg: &'a Config,
    pub cwd: &'a Path,
}

/// What running a job produced.
#[derive(Debug)]
pub struct Ran {
    pub status: ExitStatus,
    pub outcome: Outcome,
    /// Where `[dist]`'s engine says the compile ran (`None` without one, or when no
    /// engine ran: a cache hit), for the dist stats file.
    pub dist: Option<dist::Noted>,
    /// The tool this configuration chose for the compile, also when it ran directly (an
    /// explain record is kept with that tool's cache).
    pub tool: Option<(Tool, PathBuf)>,
}

impl Ran {
    pub fn new(status: ExitStatus, outcome: Outcome) -> Ran {
        Ran {
            status,
            outcome,
            dist: None,
            tool: None,
        }
    }

    /// With what distribution noted for this compile.
    pub fn noted(self, dist: Option<dist::Noted>) -> Ran {
        Ran { dist, ..self }
    }
}

/// The tool chosen for this invocation and why.
#[derive(Debug, Clone)]
pub struct Choice {
    pub tool: Option<(Tool, PathBuf)>,
    pub why: String,
    /// Set when no tool can serve this compiler although one is installed: the reason
    /// the compile is counted uncacheable (`nvcc_needs_ccache`).
    pub uncacheable: Option<&'static str>,
}

/// Locate a tool: `$TOOLCHAINKIT_<TOOL>_PATH`, then `PATH`, then toolchainkit's own tools
/// directory. Only `stat` calls.
pub fn find_tool(tool: Tool, path_var: Option<&OsStr>, cwd: &Path) -> Option<PathBuf> {
    if let Some(p) = paths::var_nonempty(tool.path_override_var()) {
        let p = PathBuf::from(p);
        return crate::resolve::check_candidate(&p, None)
            .is_ok()
            .then_some(p);
    }
    if let Some(pv) = path_var
        && let Ok(p) = which::which_in(tool.name(), Some(pv), cwd)
    {
        return Some(p);
    }
    let managed = paths::tools_dir().join("bin").join(tool.name());
    crate::resolve::check_candidate(&managed, None).ok()?;
    match crate::managed::check_trusted(&managed) {
        Ok(()) => Some(managed),
        Err(e) => {
            log::warn!("managed {} not used: {e}", tool.name());
            None
        }
    }
}

/// The tools to try, in order: the configured one, then `prefer`.
fn order(cfg: &Config) -> Vec<Tool> {
    match cfg.tool.value {
        ToolChoice::None => Vec::new(),
        ToolChoice::Sccache => std::iter::once(Tool::Sccache)
            .chain(cfg.prefer.value.iter().copied())
            .collect(),
        ToolChoice::Ccache => std::iter::once(Tool::Ccache)
            .chain(cfg.prefer.value.iter().copied())
            .collect(),
        ToolChoice::Auto => cfg.prefer.value.clone(),
    }
}

/// Choose the tool for one compiler (the word as called, and the real compiler it
/// resolved to): `choose`, except that nvcc never goes to sccache (see `nvcc`).
pub fn choose_for(
    cfg: &Config,
    compiler: &OsStr,
    real: &Path,
    path_var: Option<&OsStr>,
    cwd: &Path,
) -> Choice {
    let choice = choose(cfg, path_var, cwd);
    if crate::names::is_nvcc(compiler) || crate::names::is_nvcc(real.as_os_str()) {
        return nvcc::route(choice, &order(cfg), path_var, cwd);
    }
    choice
}

/// Choose the tool for this configuration.
pub fn choose(cfg: &Config, path_var: Option<&OsStr>, cwd: &Path) -> Choice {
    if !cfg.enabled.value {
        return Choice {
            tool: None,
            why: format!("caching disabled ({})", cfg.enabled.origin),
            uncacheable: None,
        };
    }
    if cfg.tool.value == ToolChoice::None {
        return Choice {
            tool: None,
            why: format!("tool = \"none\" ({})", cfg.tool.origin),
            uncacheable: None,
        };
    }
    let order = order(cfg);
    let mut missing = Vec::new();
    for t in order {
        if missing.contains(&t) {
            continue;
        }
        if let Some(p) = find_tool(t, path_var, cwd) {
            let why = if missing.is_empty() {
                format!(
                    "tool = \"{}\" ({}), found",
                    cfg.tool.value.name(),
                    cfg.tool.origin
                )
            } else {
                let names: Vec<&str> = missing.iter().map(|t: &Tool| t.name()).collect();
                format!("{} not installed; next in prefer", names.join(", "))
            };
            return Choice {
                tool: Some((t, p)),
                why,
                uncacheable: None,
            };
        }
        missing.push(t);
    }
    let names: Vec<&str> = missing.iter().map(|t| t.name()).collect();
    Choice {
        tool: None,
        why: format!(
            "none of {} installed: the real compiler runs directly",
            names.join(", ")
        ),
        uncacheable: None,
    }
}

/// Run the real compiler directly, with the user's `argv[0]`.
pub fn run_direct(job: &Job<'_>) -> io::Result<ExitStatus> {
    let mut cmd = Command::new(job.real);
    cmd.arg0(job.arg0)
        .args(job.args)
        .envs(job.env.iter().map(|(k, v)| (k, v)));
    process::run(&mut cmd)
}

/// The cache tool could not serve this compile for reasons of its own: say why in the log
/// (never on the build's stderr), run the real compiler directly, and record the
/// invocation as `fallback.REASON`.
pub fn fall_back(job: &Job<'_>, reason: &str, why: std::fmt::Arguments<'_>) -> io::Result<Ran> {
    log::warn!("{why}; running the compiler directly");
    crate::stats::causes::note(&format!("fallback.{reason}"), why.to_string());
    Ok(Ran::new(run_direct(job)?, Outcome::Fallback(reason.into())))
}

/// What a tool wrote on its captured stderr, for the log.
pub fn said(captured: Option<&[u8]>) -> String {
    captured
        .map(String::from_utf8_lossy)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Run a tool. When stderr is not a terminal it is captured so that a failure of the
/// tool itself can be hidden and the compile retried directly; the captured bytes are
/// returned for the caller to forward. On a terminal it is inherited (colour detection).
pub fn run_tool(cmd: &mut Command) -> io::Result<(ExitStatus, Option<Vec<u8>>)> {
    if process::stderr_is_tty() {
        return Ok((process::run(cmd)?, None));
    }
    cmd.stderr(Stdio::piped());
    let mut child = process::spawn(cmd)?;
    let mut buf = Vec::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_end(&mut buf);
    }
    let status = process::wait(child)?;
    Ok((status, Some(buf)))
}

/// Write bytes captured from a tool to our stderr.
pub fn forward_stderr(bytes: &[u8]) {
    if !bytes.is_empty() {
        let mut e = io::stderr().lock();
        let _ = e.write_all(bytes);
        let _ = e.flush();
    }
}

/// Fix the permissions of files a tool wrote for a compile so they match what the
/// compiler itself creates (`0666 & !umask`): every output `args::Args::outputs` names
/// (object, depfiles, `.dwo`, `.gcno`). A link's output (an executable or a shared
/// library) keeps the mode the linker gave it: `outputs` names none for a link. Only
/// regular files, never through a symlink.
pub fn fix_output_modes(parsed: &crate::args::Args<'_>, cwd: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let want = 0o666 & !process::umask();
    for out in parsed.outputs() {
        let p = cwd.join(&out);
        if let Ok(m) = std::fs::symlink_metadata(&p)
            && m.is_file()
            && m.permissions().mode() & 0o777 != want
        {
            set_mode_no_follow(&p, want);
        }
    }
}

/// `chmod` of the regular file at `p` itself: opened without following a symlink (nor
/// blocking on a FIFO put there meanwhile), checked, then `fchmod`.
fn set_mode_no_follow(p: &Path, mode: u32) {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let Ok(f) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(p)
    else {
        return;
    };
    if f.metadata().is_ok_and(|m| m.is_file()) {
        let _ = f.set_permissions(std::fs::Permissions::from_mode(mode));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    }

    /// Every output the arguments name gets the compiler's mode; a symlink where an
    /// output belongs is not followed, and what it points at keeps its mode.
    #[test]
    fn output_modes_are_repaired_never_through_a_symlink() {
        let want = 0o666 & !process::umask();
        // A mode the repair must change, whatever the umask.
        let other = if want == 0o640 { 0o600 } else { 0o640 };
        let tmp = tempfile::tempdir().expect("tempdir");
        let d = tmp.path();
        std::fs::create_dir(d.join("obj")).expect("mkdir");
        for f in ["obj/x.o", "obj/x.d", "obj/x.dwo", "elsewhere"] {
            std::fs::write(d.join(f), b"x").expect("write");
            std::fs::set_permissions(d.join(f), std::fs::Permissions::from_mode(other))
                .expect("chmod");
        }
        std::os::unix::fs::symlink(d.join("elsewhere"), d.join("obj/x.gcno")).expect("symlink");
        let args: Vec<OsString> = [
            "-MMD",
            "-gsplit-dwarf",
            "--coverage",
            "-c",
            "x.c",
            "-o",
            "obj/x.o",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        fix_output_modes(&crate::args::parse(&args), d);
        for f in ["obj/x.o", "obj/x.d", "obj/x.dwo"] {
            assert_eq!(mode(&d.join(f)), want, "{f}");
        }
        assert_eq!(mode(&d.join("elsewhere")), other, "not through the symlink");
        set_mode_no_follow(&d.join("obj/x.gcno"), want);
        assert_eq!(mode(&d.join("elsewhere")), other, "set_mode_no_follow");
    }
}
