//! The outcome of one invocation, as observed, and how each one is named in stats.
//!
//! Every variant is counted under a stable key (`hit.direct.local`, `miss`,
//! `uncacheable.called_for_link`, `fallback.no_tool`, ...) that `toolchainkit stats` groups.

use std::fmt;

/// Where a hit was served from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Local,
    Remote,
}

/// How a hit was found (ccache's two lookup modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitKind {
    Direct,
    Preprocessed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Hit(HitKind, Storage),
    /// A hit reported by a tool that does not say how or where it was found (sccache's
    /// `cache hit`): counted as `hit.TOOL`.
    ToolHit(&'static str),
    Miss,
    /// A miss during which the remote storage failed (ccache's `remote_storage_error`):
    /// compiled and stored locally.
    MissRemoteError,
    /// The tool ran the compiler without caching, for this reason (ccache's statistic id).
    Uncacheable(String),
    /// Forwarded to a tool whose result for this invocation was not observed (a sccache
    /// server that logs nothing, or lines that disagree: `ambiguous`): not a hit or a
    /// miss we could tell.
    Forwarded(&'static str),
    /// The real compiler ran directly: no tool, disabled, or the tool failed (reason).
    Fallback(String),
    /// The tool reported an error of its own (ccache's error statistics).
    Error(String),
}

impl Outcome {
    /// The stats key this outcome is counted under.
    pub(crate) fn key(&self) -> String {
        match self {
            Outcome::Hit(k, s) => format!(
                "hit.{}.{}",
                match k {
                    HitKind::Direct => "direct",
                    HitKind::Preprocessed => "preprocessed",
                },
                match s {
                    Storage::Local => "local",
                    Storage::Remote => "remote",
                }
            ),
            Outcome::ToolHit(t) => format!("hit.{t}"),
            Outcome::Miss => "miss".into(),
            Outcome::MissRemoteError => "miss.remote_error".into(),
            Outcome::Uncacheable(r) => format!("uncacheable.{r}"),
            Outcome::Forwarded(t) => format!("forwarded.{t}"),
            Outcome::Fallback(r) => format!("fallback.{r}"),
            Outcome::Error(r) => format!("error.{r}"),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// ccache statistics that mean "ran the compiler without caching".
const CCACHE_UNCACHEABLE: &[&str] = &[
    "autoconf_test",
    "bad_compiler_arguments",
    "called_for_link",
    "called_for_preprocessing",
    "compile_failed",
    "compiler_produced_empty_output",
    "compiler_produced_no_output",
    "compiler_produced_stdout",
    "could_not_use_modules",
    "could_not_use_precompiled_header",
    "disabled",
    "modified_input_file",
    "multiple_source_files",
    "no_input_file",
    "output_to_stdout",
    "preprocessor_error",
    "recache",
    "unsupported_code_directive",
    "unsupported_compiler_option",
    "unsupported_environment",
    "unsupported_source_encoding",
    "unsupported_source_language",
];

/// ccache statistics that mean ccache itself failed.
const CCACHE_ERRORS: &[&str] = &[
    "bad_input_file",
    "bad_output_file",
    "could_not_find_compiler",
    "error_hashing_extra_file",
    "internal_error",
    "missing_cache_file",
];

/// Interpret the lines ccache appended to a private `CCACHE_STATSLOG` for one invocation.
/// Returns `None` when the log holds no result line (ccache did not record one).
pub fn from_ccache_statslog(text: &str) -> Option<Outcome> {
    let mut direct = false;
    let mut preprocessed = false;
    let mut miss = false;
    let mut remote_hit = false;
    let mut remote_error = false;
    let mut uncacheable: Option<&str> = None;
    let mut error: Option<&str> = None;
    for line in text.lines() {
        let id = line.trim();
        if id.is_empty() || id.starts_with('#') {
            continue;
        }
        match id {
            "direct_cache_hit" => direct = true,
            "preprocessed_cache_hit" => preprocessed = true,
            "cache_miss" => miss = true,
            "remote_storage_hit" => remote_hit = true,
            "remote_storage_error" => remote_error = true,
            _ if CCACHE_UNCACHEABLE.contains(&id) => {
                uncacheable.get_or_insert(id);
            }
            _ if CCACHE_ERRORS.contains(&id) => {
                error.get_or_insert(id);
            }
            _ => {}
        }
    }
    let storage = if remote_hit {
        Storage::Remote
    } else {
        Storage::Local
    };
    if direct {
        Some(Outcome::Hit(HitKind::Direct, storage))
    } else if preprocessed {
        Some(Outcome::Hit(HitKind::Preprocessed, storage))
    } else if miss && remote_error {
        Some(Outcome::MissRemoteError)
    } else if miss {
        Some(Outcome::Miss)
    } else if let Some(e) = error {
        Some(Outcome::Error(e.into()))
    } else {
        uncacheable.map(|u| Outcome::Uncacheable(u.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statslog_lines_map_to_outcomes() {
        let table = [
            (
                "# a.c\ncache_miss\ndirect_cache_miss\nlocal_storage_miss\n",
                Some(Outcome::Miss),
            ),
            (
                "# a.c\ndirect_cache_hit\nlocal_storage_hit\n",
                Some(Outcome::Hit(HitKind::Direct, Storage::Local)),
            ),
            (
                "# a.c\npreprocessed_cache_hit\nremote_storage_hit\n",
                Some(Outcome::Hit(HitKind::Preprocessed, Storage::Remote)),
            ),
            (
                "# a.c\ncache_miss\nremote_storage_error\nremote_storage_miss\n",
                Some(Outcome::MissRemoteError),
            ),
            (
                "# a.o\ncalled_for_link\n",
                Some(Outcome::Uncacheable("called_for_link".into())),
            ),
            (
                "# a.c\ndirect_cache_miss\nlocal_storage_read_miss\npreprocessor_error\n",
                Some(Outcome::Uncacheable("preprocessor_error".into())),
            ),
            (
                "# \ninternal_error\n",
                Some(Outcome::Error("internal_error".into())),
            ),
            ("", None),
        ];
        for (text, want) in table {
            assert_eq!(from_ccache_statslog(text), want, "{text:?}");
        }
    }
}
