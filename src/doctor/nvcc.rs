//! nvcc: does `nvcc` reach the shim before the real nvcc (`path.nvcc`), and which cache
//! tool its compiles get (`nvcc.tool`): never sccache (see `backend::nvcc`), so with only
//! sccache installed nvcc compiles run uncached.

use std::ffi::OsStr;

use super::{Check, Ctx, Level, path};
use crate::backend;
use crate::resolve;

pub(crate) fn checks(ctx: &Ctx) -> Vec<Check> {
    let entries = path::entries("nvcc", ctx);
    let mut out = vec![path::judge("nvcc", &entries)];
    let real = resolve::search(
        OsStr::new("nvcc"),
        ctx.path_var.as_deref(),
        &ctx.cwd,
        ctx.me,
    );
    let Ok(real) = real else {
        out.push(Check::new(
            "nvcc.tool",
            Level::Skip,
            "no nvcc installed (nothing to check)",
        ));
        return out;
    };
    let choice = backend::choose_for(
        &ctx.cfg,
        OsStr::new("nvcc"),
        &real.real,
        ctx.path_var.as_deref(),
        &ctx.cwd,
    );
    out.push(judge(&choice, &real.real.display().to_string()));
    out
}

/// The verdict for nvcc's tool choice (pure).
pub(crate) fn judge(choice: &backend::Choice, nvcc: &str) -> Check {
    match (&choice.tool, choice.uncacheable) {
        (Some((t, p)), _) => Check::ok(
            "nvcc.tool",
            format!(
                "nvcc ({nvcc}) compiles go to {} at {} ({})",
                t.name(),
                p.display(),
                choice.why
            ),
        ),
        (None, Some(reason)) => Check::warn(
            "nvcc.tool",
            format!(
                "nvcc ({nvcc}) compiles run uncached, counted uncacheable.{reason}: {}",
                choice.why
            ),
            "install ccache (and keep it in `prefer`) to cache nvcc compiles",
        ),
        (None, None) => Check::ok(
            "nvcc.tool",
            format!("nvcc ({nvcc}) compiles run directly ({})", choice.why),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sccache_is_a_warning() {
        let c = judge(
            &backend::Choice {
                tool: None,
                why: "x".into(),
                uncacheable: Some(backend::nvcc::NEEDS_CCACHE),
            },
            "/cuda/bin/nvcc",
        );
        assert_eq!(c.level, Level::Warning);
        assert!(
            c.message.contains("uncacheable.nvcc_needs_ccache"),
            "{}",
            c.message
        );
    }
}
