//! How one compile runs, decided in one place: directly (with the reason it is counted
//! under), through a cache tool, or through the distribution engine alone. Every "don't
//! cache this" rule lives here, whatever the tool: the arguments (introspection, `-E`, a
//! link, `-o -`), the compiler's name, an outer cache tool, the environment (ccache's
//! `CCACHE_DISABLE`, the variables the sccache client refuses), what sccache cannot pass
//! on byte for byte (non-UTF-8 arguments).

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use super::dist::{self, Noted, Observed};
use super::{Job, ccache};
use crate::config::{Tool, ToolChoice};
use crate::outcome::Outcome;

/// The route of one compile.
#[derive(Debug)]
pub enum Route {
    /// The real compiler, directly, counted as `outcome`. `chosen` is the tool this
    /// configuration chose, when there is one: an uncacheable compile's explain record is
    /// kept with its cache.
    Direct {
        outcome: Outcome,
        chosen: Option<(Tool, PathBuf)>,
    },
    /// Through the cache tool at this path.
    Tool(Tool, PathBuf),
    /// Through `[dist]`'s prefix engine alone (no cache tool): counted as `served` when
    /// the engine serves it, else run directly as `otherwise`.
    DistOnly { served: Outcome, otherwise: Outcome },
}

/// The route for `job`, and what distribution notes before anything runs (the tool
/// fell through `prefer` to one the engine cannot serve).
pub fn decide(job: &Job<'_>, path_var: Option<&OsStr>) -> (Route, Option<Noted>) {
    let parsed = job.parsed;
    let mut choice = super::choose_for(job.cfg, job.compiler, job.real, path_var, job.cwd);
    // `install = true`: only when no tool was found, and only for a real compile.
    if choice.tool.is_none()
        && choice.uncacheable.is_none()
        && job.cfg.install.value
        && parsed.may_compile
        && let Some(t) = crate::managed::first_use::wanted(job.cfg)
        && let Some(p) = crate::managed::first_use::ensure(t)
    {
        choice.tool = Some((t, p));
    }
    let known = known_compiler(job);
    let direct =
        |outcome: Outcome, chosen: Option<(Tool, PathBuf)>| Route::Direct { outcome, chosen };
    let Some((tool, exe)) = choice.tool else {
        return (without_tool(job, choice.uncacheable, known), None);
    };
    // Cloned only for a compile that runs directly (never a hit).
    let chosen = || Some((tool, exe.clone()));
    if let Some(outer) = crate::outer::parent_cache_tool() {
        // "sccache cc" (Meson's default when CC is unset): the outer tool caches this
        // compile already; caching it again here would store it twice.
        let outcome = Outcome::Uncacheable(crate::outer::key_reason(outer));
        return (direct(outcome, chosen()), None);
    }
    if let Some(outcome) = not_cached(parsed) {
        return (direct(outcome, chosen()), None);
    }
    if !known {
        let outcome = Outcome::Uncacheable("unsupported_compiler".into());
        return (direct(outcome, chosen()), None);
    }
    if tool == Tool::Ccache && ccache::disabled_by_env() {
        // ccache would run the compiler itself and record nothing (meson sets
        // CCACHE_DISABLE for its configure checks): run it here, once.
        let outcome = Outcome::Uncacheable("disabled_by_env".into());
        return (direct(outcome, chosen()), None);
    }
    if tool == Tool::Sccache && job.args.iter().any(|a| a.to_str().is_none()) {
        // sccache turns non-UTF-8 arguments into U+FFFD before compiling: the object
        // would differ from a direct build. Such compiles run directly.
        let outcome = Outcome::Uncacheable("non_utf8_argument".into());
        return (direct(outcome, chosen()), None);
    }
    // The configured tool fell through `prefer` to one this engine cannot serve.
    let unusable = dist::active(job.cfg)
        .filter(|d| !dist::fits(d.engine, Some(tool)))
        .map(|d| {
            Noted::at(Observed::Fallback(
                format!(
                    "{}_unusable_with_{}",
                    d.engine.name().replace('-', "_"),
                    tool.name()
                ),
                None,
            ))
        });
    if tool == Tool::Sccache {
        if output_is_stdout(job.args) {
            let outcome = Outcome::Uncacheable("output_to_stdout".into());
            return (direct(outcome, chosen()), unusable);
        }
        if let Some(var) = incremental_var() {
            log::info!("{var}=1: the sccache client refuses to run; compiling directly");
            let outcome = Outcome::Uncacheable("cargo_incremental".into());
            return (direct(outcome, chosen()), unusable);
        }
    }
    (Route::Tool(tool, exe), unusable)
}

/// The compiler, as called or as resolved, is one the cache tools understand.
fn known_compiler(job: &Job<'_>) -> bool {
    crate::names::is_known_compiler(job.compiler)
        || crate::names::is_known_compiler(job.real.as_os_str())
}

/// The route when no cache tool serves this compile: directly, counted as why (the
/// compiler no installed tool can serve, caching off, no tool found), or through
/// `[dist]`'s distcc/icecc alone.
fn without_tool(job: &Job<'_>, uncacheable: Option<&'static str>, known_compiler: bool) -> Route {
    let parsed = job.parsed;
    let direct = |outcome: Outcome| Route::Direct {
        outcome,
        chosen: None,
    };
    if let Some(reason) = uncacheable {
        // A tool is there but cannot serve this compiler (nvcc without ccache).
        return direct(not_cached(parsed).unwrap_or(Outcome::Uncacheable(reason.into())));
    }
    let reason = if !job.cfg.enabled.value {
        "disabled"
    } else if job.cfg.tool.value == ToolChoice::None {
        "tool_none"
    } else {
        "no_tool_found"
    };
    let otherwise = Outcome::Fallback(reason.into());
    // [dist] distcc/icecc without a cache tool: the engine runs every compile.
    if job.cfg.enabled.value
        && parsed.may_compile
        && !parsed.introspection
        && !parsed.preprocess_only
        && known_compiler
    {
        let served = if reason == "tool_none" {
            Outcome::Forwarded(match dist::active(job.cfg).map(|d| d.engine) {
                Some(crate::config::dist::Engine::Icecc) => "icecc",
                _ => "distcc",
            })
        } else {
            otherwise.clone()
        };
        return Route::DistOnly { served, otherwise };
    }
    direct(otherwise)
}

/// The invocations no tool caches, whatever the tool: run once, directly, counted so.
fn not_cached(parsed: &crate::args::Args<'_>) -> Option<Outcome> {
    if parsed.introspection {
        // `-v`, `-###`, `-print-*`, `-dump*`, nvcc's `--dryrun`: build systems parse exactly
        // what the bare compiler prints (CMake's ABI probe reads `-v`), and a cache tool
        // changes it.
        return Some(Outcome::Uncacheable("introspection".into()));
    }
    if !parsed.may_compile {
        return Some(Outcome::Uncacheable("not_a_compile".into()));
    }
    if parsed.preprocess_only {
        // Neither tool caches `-E`/`-M`/`-MM` (ccache: called_for_preprocessing, sccache:
        // an unhandled compile its client runs itself): run it once, here.
        return Some(Outcome::Uncacheable("called_for_preprocessing".into()));
    }
    None
}

/// `-o -` (or `-o-`): gcc refuses to write an object to stdout with `-c`; sccache would
/// write a file named `-`. Such compiles run directly.
fn output_is_stdout(args: &[OsString]) -> bool {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let b = a.as_encoded_bytes();
        if (b == b"-o" && it.next().is_some_and(|o| o == "-")) || b == b"-o-" {
            return true;
        }
    }
    false
}

/// The sccache client refuses to run when one of these is `1` (`commands.rs`).
fn incremental_var() -> Option<&'static str> {
    ["CARGO_BUILD_INCREMENTAL", "CARGO_INCREMENTAL"]
        .into_iter()
        .find(|v| std::env::var_os(v).is_some_and(|x| x == "1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn stdout_objects() {
        assert!(output_is_stdout(&os(&["-c", "a.c", "-o", "-"])));
        assert!(output_is_stdout(&os(&["-c", "a.c", "-o-"])));
        assert!(!output_is_stdout(&os(&["-c", "a.c", "-o", "a.o"])));
    }
}
