//! The one shape of a configuration error: where (file, line, column, or the environment),
//! which key, what is wrong, and the fix. `Display` renders it as
//! `FILE:LINE:COL: `KEY`: MESSAGE` and a `hint:` line. `ConfigErrors` is every problem
//! that made a configuration invalid, as the compile path and the management commands
//! print it (one `toolchainkit: error:` block each) before exiting 78. [`At`] places an
//! error about a key of a file at the line the key is written on: the schema check, the
//! layers and the checks of `[cache.remote]` and `[dist]` all make their errors with it.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

/// Where each dotted key of a document is written (the key's span).
pub(crate) type Positions = HashMap<String, Range<usize>>;

/// A file's keys and where they are written: makes the errors about them.
pub struct At<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub pos: &'a Positions,
}

impl At<'_> {
    /// An error about dotted `key`, at its line when the file writes it.
    pub(crate) fn key(
        &self,
        key: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> ConfigError {
        ConfigError::at(
            self.path,
            self.text,
            self.pos.get(key).map(|s| s.start),
            Some(key.to_string()),
            message.into(),
            hint.into(),
        )
    }
}

/// An invalid configuration: the one hard error of the compile path (exit 78).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, or `environment` for a variable.
    pub source: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Dotted key (`cache.tool`) or the variable name.
    pub key: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl ConfigError {
    /// An error in a file at a byte offset of its text.
    pub(crate) fn at(
        path: &Path,
        text: &str,
        offset: Option<usize>,
        key: Option<String>,
        message: String,
        hint: String,
    ) -> ConfigError {
        let (line, column) = offset.map_or((None, None), |o| {
            let (l, c) = line_col(text, o);
            (Some(l), Some(c))
        });
        ConfigError {
            source: path.display().to_string(),
            line,
            column,
            key,
            message,
            hint: Some(hint),
        }
    }

    /// An error in an environment variable.
    pub(crate) fn env(var: &str, message: String, hint: &str) -> ConfigError {
        ConfigError {
            source: "environment".into(),
            line: None,
            column: None,
            key: Some(var.into()),
            message,
            hint: Some(hint.into()),
        }
    }
}

impl ConfigError {
    /// `FILE:LINE:COL: `KEY`: MESSAGE`, without the hint.
    pub(crate) fn headline(&self) -> String {
        let mut s = self.source.clone();
        if let Some(l) = self.line {
            s.push_str(&format!(":{l}"));
            if let Some(c) = self.column {
                s.push_str(&format!(":{c}"));
            }
        }
        s.push_str(": ");
        if let Some(k) = &self.key {
            s.push_str(&format!("`{k}`: "));
        }
        s.push_str(&self.message);
        s
    }
}

/// For a terminal: the headline and the hint each on one line, control characters in
/// names and values escaped (`crate::escape`); the fields stay exact for JSON.
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", crate::escape::text(&self.headline()))?;
        if let Some(h) = &self.hint {
            write!(f, "\nhint: {}", crate::escape::text(h))?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Every problem of an invalid configuration, in file order; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    /// `None` when there is no problem.
    pub(crate) fn new(problems: Vec<ConfigError>) -> Option<ConfigErrors> {
        (!problems.is_empty()).then_some(ConfigErrors(problems))
    }

    pub(crate) fn into_vec(self) -> Vec<ConfigError> {
        self.0
    }

    /// The text for stderr: each problem as `toolchainkit: error: ...` and its
    /// `hint:` line, newline-terminated.
    pub(crate) fn render(&self) -> String {
        self.0
            .iter()
            .map(|p| format!("toolchainkit: error: {p}\n"))
            .collect()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// One problem per line block, as `Display` of each `ConfigError` (no prefix: that is
/// `render`'s).
impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = offset
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    (line, col)
}

/// "did you mean `x`?" when a known word is close to `word`, else `fallback`.
pub(crate) fn suggest<S: AsRef<str>>(word: &str, known: &[S], fallback: &str) -> String {
    let best = known
        .iter()
        .map(|k| (edit_distance(word, k.as_ref()), k.as_ref()))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((d, k)) if d <= 2.max(word.len() / 3) => format!("did you mean `{k}`?"),
        _ => fallback.to_string(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
