//! The one shape of a configuration error: where (file, line, column, or the environment),
//! which key, what is wrong, and the fix. `Display` renders it as
//! `FILE:LINE:COL: `KEY`: MESSAGE` and a `hint:` line.

use std::fmt;
use std::path::Path;

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
    pub fn at(
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
    pub fn env(var: &str, message: String, hint: &str) -> ConfigError {
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

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(k) = &self.key {
            write!(f, "`{k}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\nhint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
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
pub fn suggest<S: AsRef<str>>(word: &str, known: &[S], fallback: &str) -> String {
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
