//! nvcc, CUDA's compiler driver: which cache tool may serve it.
//!
//! sccache's nvcc support does not compile what nvcc itself does: it splits one nvcc
//! invocation into device and host sub-compiles from the lines of `nvcc --dryrun`, read by
//! position. CUDA 13.3 added a token to the `cicc` line (`--simt-only`), and sccache 0.16
//! then skips the device compile: `fatbinary fatal: Could not open input file
//! 'k.sm_75.cubin'`, "Compiler killed by signal 1", exit 254, for a file bare nvcc compiles
//! (mozilla/sccache#2722, fixed in 0.18; 0.18 still fails on PTX-only targets,
//! mozilla/sccache#2862). Which sccache and which nvcc are installed could only be told by
//! running both (`--version`), and the hot path runs no probes; a failed compile cannot be
//! told apart from a failure of sccache's without running nvcc a second time. So nvcc never
//! goes to sccache: it goes to the next tool of `prefer` (ccache caches nvcc compiles, one
//! invocation one result), else it runs directly, counted `uncacheable.nvcc_needs_ccache`.

use std::ffi::OsStr;
use std::path::Path;

use super::{Choice, find_tool};
use crate::config::Tool;

/// The reason an nvcc compile runs uncached when no tool but sccache is there.
pub(crate) const NEEDS_CCACHE: &str = "nvcc_needs_ccache";

/// Why nvcc does not go to sccache, for `which`, `doctor` and the log.
pub(crate) const WHY: &str =
    "sccache cannot compile with nvcc from CUDA 13.3 on (mozilla/sccache#2722)";

/// Route a choice made for `cfg` for an nvcc compile: sccache is replaced by the next
/// available tool of the order after it.
pub(crate) fn route(
    choice: Choice,
    order: &[Tool],
    path_var: Option<&OsStr>,
    cwd: &Path,
) -> Choice {
    if !matches!(choice.tool, Some((Tool::Sccache, _))) {
        return choice;
    }
    let next = order
        .iter()
        .skip_while(|t| **t != Tool::Sccache)
        .filter(|t| **t != Tool::Sccache)
        .find_map(|t| find_tool(*t, path_var, cwd).map(|p| (*t, p)));
    match next {
        Some((t, p)) => Choice {
            tool: Some((t, p)),
            why: format!("nvcc: {WHY}; {} is next in prefer", t.name()),
            uncacheable: None,
        },
        None => Choice {
            tool: None,
            why: format!(
                "nvcc: {WHY}, and no other tool of prefer is installed: nvcc runs directly (install ccache to cache it)"
            ),
            uncacheable: Some(NEEDS_CCACHE),
        },
    }
}
