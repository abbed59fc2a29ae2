//! An outer cache tool in front of the shim (see `crate::outer`): compiles counted as
//! having come through one (`uncacheable.outer_ccache` / `outer_sccache` in the
//! project's stats), and Meson build directories here whose compile rule runs
//! `sccache cc` or `ccache cc` where `cc` reaches the shim (Meson 1.x adds the cache tool
//! it finds in `PATH` when `CC` is unset; its `build.ninja` says so in `rule c_COMPILER`).

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{Check, Ctx};
use crate::outer;

/// How much of a `build.ninja` is read: Meson writes its rules at the top.
const NINJA_HEAD: u64 = 256 * 1024;

/// The compile rules of a Meson `build.ninja` head whose command starts with a cache
/// tool: (rule, tool, compiler word) (pure).
pub(crate) fn wrapped_rules(ninja_head: &str) -> Vec<(String, &'static str, String)> {
    let mut out = Vec::new();
    let mut rule: Option<&str> = None;
    for line in ninja_head.lines() {
        if let Some(r) = line.strip_prefix("rule ") {
            rule = Some(r.trim()).filter(|r| r.ends_with("_COMPILER"));
            continue;
        }
        let Some(r) = rule else { continue };
        if let Some(cmd) = line.trim_start().strip_prefix("command = ") {
            let mut words = cmd.split_whitespace();
            if let (Some(first), Some(second)) = (words.next(), words.next())
                && let Some(tool) = outer::tool_of_exe(first.as_bytes())
            {
                out.push((r.to_string(), tool, second.to_string()));
            }
            rule = None;
        }
    }
    out
}

/// Meson build directories: the working directory and its direct subdirectories.
fn meson_build_dirs(cwd: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![cwd.to_path_buf()];
    if let Ok(rd) = std::fs::read_dir(cwd) {
        let mut subs: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        subs.sort();
        dirs.extend(subs);
    }
    dirs.retain(|d| d.join("meson-info").is_dir() && d.join("build.ninja").is_file());
    dirs
}

fn ninja_head(dir: &Path) -> String {
    let mut text = String::new();
    if let Ok(f) = std::fs::File::open(dir.join("build.ninja")) {
        let _ = f.take(NINJA_HEAD).read_to_string(&mut text);
    }
    text
}

/// Does the compiler word of a rule reach the toolchainkit shim?
fn reaches_shim(word: &str, ctx: &Ctx) -> bool {
    use super::path::Entry;
    use crate::resolve::{SkipReason, check_candidate};
    if word.contains('/') {
        return match check_candidate(Path::new(word), ctx.me) {
            Err(SkipReason::OwnShim) => true,
            Err(SkipReason::WrapperLink(w)) => crate::names::is_own_name(std::ffi::OsStr::new(&w)),
            _ => false,
        };
    }
    super::path::entries(word, ctx)
        .first()
        .is_some_and(|(_, e)| *e == Entry::Shim)
}

pub(crate) fn checks(ctx: &Ctx) -> Vec<Check> {
    let mut out = Vec::new();
    let path = crate::stats::stats_path(&ctx.cfg);
    if let Ok(Some(s)) = crate::stats::load(&path) {
        for (tool, n) in outer::counted(&s) {
            out.push(Check::warn(
                "outer-wrapper",
                format!(
                    "{n} compile(s) since {} reached the shim through an outer {tool} (Meson 1.x puts the {tool} it finds in front of `cc` when CC is unset): \
                     toolchainkit ran them uncached so nothing is cached twice",
                    crate::stats::trace::timeline::format_utc(s.since)
                ),
                format!(
                    "{}; then `toolchainkit stats --zero` (this count stays until the counters are zeroed)",
                    outer::FIX
                ),
            ));
        }
    }
    for dir in meson_build_dirs(&ctx.cwd) {
        for (rule, tool, word) in wrapped_rules(&ninja_head(&dir)) {
            if !reaches_shim(&word, ctx) {
                continue;
            }
            out.push(Check::warn(
                "outer-wrapper",
                format!(
                    "the Meson build directory {} compiles with `{tool} {word}` ({rule}), and `{word}` is the toolchainkit shim: every compile goes through {tool} and then toolchainkit",
                    dir.display()
                ),
                outer::FIX,
            ));
        }
    }
    if out.is_empty() {
        out.push(Check::ok(
            "outer-wrapper",
            "no compile came through an outer ccache/sccache, and no Meson build directory here puts one in front of the shim",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meson_rules_with_a_cache_tool_in_front() {
        let ninja = "ninja_required_version = 1.8.2\n\n\
            rule c_COMPILER\n command = sccache cc $ARGS -MD -MQ $out -MF $DEPFILE -o $out -c $in\n deps = gcc\n\n\
            rule cpp_COMPILER\n command = c++ $ARGS -o $out -c $in\n\n\
            rule c_LINKER\n command = sccache cc $ARGS -o $out $in\n\n\
            rule fortran_COMPILER\n command = /usr/bin/ccache gfortran $ARGS\n";
        assert_eq!(
            wrapped_rules(ninja),
            vec![
                ("c_COMPILER".to_string(), "sccache", "cc".to_string()),
                (
                    "fortran_COMPILER".to_string(),
                    "ccache",
                    "gfortran".to_string()
                ),
            ]
        );
        assert!(wrapped_rules("rule c_COMPILER\n command = cc $ARGS\n").is_empty());
    }
}
