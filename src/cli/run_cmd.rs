//! `toolchainkit run -- COMMAND...`: run a whole build with this project's configuration
//! pinned. The project file found from the working directory is put in
//! `TOOLCHAINKIT_CONFIG` (absolute), so every compile of the build uses it, wherever it
//! runs: a Cargo build script in `~/.cargo/registry/src`, an out-of-tree build directory,
//! a generated makefile in `/tmp`. A file that was found (not already named by the user)
//! is marked so (`TOOLCHAINKIT_CONFIG_FOUND=1`): pinning it does not make it the user's
//! explicit choice, so its owner, mode and trust are judged as for any found file.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;

use crate::config::{self, Place, discover};

pub fn run(command: &[OsString]) -> anyhow::Result<i32> {
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
    config::load(Place::cwd(&cwd))?;
    let Some((program, args)) = command.split_first() else {
        anyhow::bail!("no command given: toolchainkit run -- COMMAND [ARGS...]");
    };
    let mut cmd = std::process::Command::new(program);
    cmd.args(args).env(discover::CONFIG_VAR, &file);
    if !explicit {
        // Pinned, not chosen: its compiles judge it as the found file it is (owner, trust).
        cmd.env(discover::FOUND_VAR, "1");
    }
    let err = cmd.exec();
    crate::errln!(
        "toolchainkit: error: cannot run {}: {err}",
        program.to_string_lossy()
    );
    Ok(crate::EXIT_NOT_FOUND)
}
