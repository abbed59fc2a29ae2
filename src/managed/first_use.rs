//! `install = true`: install the missing cache tool on the first compile that needs it.
//!
//! Only reached when no tool was found and the configuration asks for it, so a setup with
//! `install = false` (the default) or with a tool installed pays nothing. Parallel
//! compiles serialise on the tools directory's install lock and re-check after getting
//! it, so one of them installs and the others use the result. The install is silent (the
//! compile path never prints on success); a failure is logged, remembered for an hour so
//! an offline build does not retry on every compile, and the compile runs uncached.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::bin_dir;
use super::wheel::{self, Request};
use crate::config::{Config, Tool, ToolChoice};
use crate::paths;

/// How long a failed first-use install is not retried.
const RETRY_AFTER: Duration = Duration::from_secs(3600);

/// The tool `install = true` installs for this configuration.
pub(crate) fn wanted(cfg: &Config) -> Option<Tool> {
    if !cfg.enabled.value || !cfg.install.value {
        return None;
    }
    match cfg.tool.value {
        ToolChoice::None => None,
        ToolChoice::Sccache => Some(Tool::Sccache),
        ToolChoice::Ccache => Some(Tool::Ccache),
        ToolChoice::Auto => cfg.prefer.value.first().copied(),
    }
}

fn failure_marker(tool: Tool) -> PathBuf {
    paths::tools_dir().join(format!("install-failed.{}", tool.name()))
}

fn failed_recently(tool: Tool) -> bool {
    std::fs::metadata(failure_marker(tool))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age < RETRY_AFTER)
}

/// Install `tool` into the managed directory unless it is there; its path, or `None`
/// when it cannot be had (logged).
pub(crate) fn ensure(tool: Tool) -> Option<PathBuf> {
    let dest = bin_dir(None).join(tool.name());
    if dest.is_file() {
        return Some(dest);
    }
    if failed_recently(tool) {
        log::info!(
            "install = true: a recent install of {} failed; not retrying yet",
            tool.name()
        );
        return None;
    }
    log::info!(
        "install = true: installing {} {}",
        tool.name(),
        tool.default_version()
    );
    let req = Request {
        tool,
        version: tool.default_version(),
        dir: None,
        sha256: None,
        allow_unverified: false,
        quiet: true,
    };
    match wheel::install(&req) {
        Ok(p) => {
            let _ = std::fs::remove_file(failure_marker(tool));
            Some(p)
        }
        Err(e) => {
            log::warn!("install = true: cannot install {}: {e:#}", tool.name());
            if crate::private::own_dir(&paths::data_dir())
                .and_then(|d| crate::private::ensure_private_tree(&d, &["tools"]))
                .is_ok()
                && let Ok(mut f) = crate::private::open_or_create_own(
                    &failure_marker(tool),
                    crate::private::Access::Append,
                )
            {
                use std::io::Write;
                let _ = f.set_len(0);
                let _ = writeln!(f, "{e:#}");
            }
            None
        }
    }
}
