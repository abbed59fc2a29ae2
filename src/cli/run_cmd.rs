//! `toolchainkit run -- COMMAND...`: run a whole build with this project's configuration
//! pinned. The project file found from the working directory is put in
//! `TOOLCHAINKIT_CONFIG` (absolute), so every compile of the build uses it, wherever it
//! runs: a Cargo build script in `~/.cargo/registry/src`, an out-of-tree build directory,
//! a generated makefile in `/tmp`.
//!
//! `--verify` checks every cache hit of the build against a fresh compile
//! (`TOOLCHAINKIT_VERIFY=1`; `--verify=strict`: a hit that differs fails its compile),
//! whatever the configuration's `verify` fraction: a nightly job's check of the cache.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;

use crate::config::{self, Place, discover};

pub fn run(command: &[OsString], verify: Option<&str>) -> anyhow::Result<i32> {
    let cwd = std::env::current_dir()?;
    let Some((file, _)) = discover::project_file(Place::cwd(&cwd)) else {
        eprintln!(
            "toolchainkit: error: no {} in {} or its parents: nothing to pin\nhint: run it from the project, or set {} yourself",
            config::PROJECT_FILE,
            cwd.display(),
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
    eprintln!(
        "toolchainkit: error: cannot run {}: {err}",
        program.to_string_lossy()
    );
    Ok(crate::EXIT_NOT_FOUND)
}
