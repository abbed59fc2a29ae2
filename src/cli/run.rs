//! `toolchainkit run -- COMMAND...`: run a whole build with this project's configuration
//! pinned. The project file found from the working directory is put in
//! `TOOLCHAINKIT_CONFIG` (absolute), so every compile of the build uses it, wherever it
//! runs: a Cargo build script in `~/.cargo/registry/src`, an out-of-tree build directory,
//! a generated makefile in `/tmp`. A file that was found (not already named by the user)
//! is marked so (`TOOLCHAINKIT_CONFIG_FOUND=1`): pinning it does not make it the user's
//! explicit choice, so its owner, mode and trust are judged as for any found file.
//!
//! It also routes the build's compiles through toolchainkit: a private directory of
//! compiler-name shims (`$XDG_DATA_HOME/toolchainkit/run-shims`, 0700, links to this
//! binary) goes first in `PATH`, so `cc`, `c++`, `gcc`, ... found through `PATH` (make's
//! and the `cc` crate's defaults, CMake's first detection) are the shim; and
//! `CC_KNOWN_WRAPPER_CUSTOM=toolchainkit` (unless set) makes the `cc` crate read
//! `CC="toolchainkit gcc"` as a wrapper and its compiler. A compiler named by an absolute
//! path (`CC=/usr/bin/gcc`) is not reached this way; `toolchainkit doctor` shows the
//! compiles that ran outside the project.
//!
//! `--verify` checks every cache hit of the build against a fresh compile
//! (`TOOLCHAINKIT_VERIFY=1`; `--verify=strict`: a hit that differs fails its compile),
//! whatever the configuration's `verify` fraction: a nightly job's check of the cache.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use crate::config::{self, Place, discover};

/// The `cc` crate's variable naming one more compiler wrapper besides ccache, sccache, ...
const CC_WRAPPER_VAR: &str = "CC_KNOWN_WRAPPER_CUSTOM";

/// The private directory of compiler-name links to this binary, made or repaired now.
fn shim_dir() -> anyhow::Result<PathBuf> {
    use anyhow::Context;
    let data = crate::private::own_dir(&crate::paths::data_dir())?;
    let dir = crate::private::ensure_private_tree(&data, &["run-shims"])?;
    let exe = std::env::current_exe().context("cannot find the toolchainkit binary")?;
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    for name in crate::names::DEFAULT_SHIMS {
        link(&exe, &dir.join(name))
            .with_context(|| format!("cannot link {}", dir.join(name).display()))?;
    }
    Ok(dir)
}

/// `path` as a symlink to `exe`, replacing whatever else is there (the directory is
/// private, so only this user put it there); concurrent runs may race, and agree.
fn link(exe: &Path, path: &Path) -> std::io::Result<()> {
    for _ in 0..3 {
        if std::fs::read_link(path).is_ok_and(|t| t == exe) {
            return Ok(());
        }
        match std::fs::symlink_metadata(path) {
            Ok(_) => match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        match std::os::unix::fs::symlink(exe, path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("it keeps changing"))
}

pub fn run(command: &[OsString], verify: Option<&str>) -> anyhow::Result<i32> {
    let cwd = std::env::current_dir()?;
    let Some((file, explicit)) = discover::project_file(Place::cwd(&cwd)) else {
        crate::errln!(
            "toolchainkit: error: no {} in {} or its parents: nothing to pin",
            config::PROJECT_FILE,
            cwd.display(),
        );
        crate::errln!(
            "hint: run it from the project, or set {} yourself",
            discover::CONFIG_VAR
        );
        return Ok(2);
    };
    let file = std::fs::canonicalize(&file).unwrap_or(file);
    // The build would fail on every compile with an invalid file: say so once, now.
    let cfg = config::load(Place::cwd(&cwd))?;
    let Some((program, args)) = command.split_first() else {
        anyhow::bail!("no command given: toolchainkit run -- COMMAND [ARGS...]");
    };
    let mut cmd = std::process::Command::new(program);
    cmd.args(args).env(discover::CONFIG_VAR, &file);
    match shim_dir() {
        Ok(dir) => {
            let mut path = dir.into_os_string();
            if let Some(old) = std::env::var_os("PATH").filter(|p| !p.is_empty()) {
                path.push(":");
                path.push(old);
            }
            cmd.env("PATH", path);
        }
        Err(e) => crate::errln!(
            "toolchainkit: warning: cannot set up the compiler shims ({e:#}): only compiles that \
             already reach toolchainkit use the pinned configuration"
        ),
    }
    if std::env::var_os(CC_WRAPPER_VAR).is_none() {
        cmd.env(CC_WRAPPER_VAR, "toolchainkit");
    }
    if !explicit {
        // Pinned, not chosen: its compiles judge it as the found file it is (owner, trust).
        cmd.env(discover::FOUND_VAR, "1");
    }
    match verify {
        // Every hit; a configured `strict` stays strict.
        Some("all") if cfg.verify.value != config::Verify::Strict => {
            cmd.env(config::VERIFY_VAR, "1");
        }
        Some(_) => {
            cmd.env(config::VERIFY_VAR, "strict");
        }
        None => {}
    }
    let err = cmd.exec();
    crate::errln!(
        "toolchainkit: error: cannot run {}: {err}",
        program.to_string_lossy()
    );
    Ok(crate::EXIT_NOT_FOUND)
}
