//! The optional build trace: one JSON line per invocation, size-capped, read back by
//! `toolchainkit trace` (`timeline`: build selection, lanes, Chrome trace-event JSON;
//! `svg`: a standalone picture and an HTML page; `markdown`: a CI job summary).
//!
//! A line holds no argument list (arguments can hold secrets): only the compiler, the
//! source and output file names, the outcome, the exit code and the timing. The line
//! format is stable: fields may be added (with defaults), never removed or renamed, so
//! older lines are always read.

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::args::Args;
use crate::config::Config;
use crate::private::{self, Access};

pub mod markdown;
pub mod svg;
pub mod timeline;

/// One trace line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// Start, microseconds since the Unix epoch.
    pub start_us: u64,
    pub dur_us: u64,
    pub pid: u32,
    pub compiler: String,
    pub outcome: String,
    /// Exit code, or 128 + signal.
    pub exit: i32,
    pub source: Option<String>,
    pub output: Option<String>,
    /// A miss's cause (`header`, `args`, ...: `toolchainkit explain` says more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The re-check of a sampled hit (`verify.ok`, `verify.mismatch`, ...), if it was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<String>,
}

impl Event {
    /// When the invocation ended, microseconds since the Unix epoch.
    pub fn end_us(&self) -> u64 {
        self.start_us.saturating_add(self.dur_us)
    }

    /// What to call it: the source file, else the output, else the compiler.
    pub fn label(&self) -> &str {
        self.source
            .as_deref()
            .or(self.output.as_deref())
            .unwrap_or(&self.compiler)
    }
}

/// Every event of the trace next to the stats file at `stats` (and its rotated half),
/// unreadable lines skipped; `None` when there is no trace.
pub fn read_events(stats: &Path) -> Option<Vec<Event>> {
    let trace = trace_path(stats);
    let mut text = String::new();
    for p in [trace.with_extension("jsonl.1"), trace] {
        if let Ok(bytes) = crate::private::read_own(&p) {
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    if text.is_empty() {
        return None;
    }
    Some(timeline::parse(&text).0)
}

/// The trace file next to a stats file.
pub fn trace_path(stats_path: &Path) -> PathBuf {
    stats_path.with_extension("trace.jsonl")
}

fn source_and_output(parsed: &Args<'_>) -> (Option<String>, Option<String>) {
    (
        parsed
            .sources
            .last()
            .map(|s| s.to_string_lossy().into_owned()),
        parsed.output.map(|o| o.to_string_lossy().into_owned()),
    )
}

/// Append one event (called under the stats lock): the outcome, a miss's cause, and for a
/// sampled hit its check (`verify.ok`, ...). Rotates at `trace_max_mb`.
pub fn append(
    stats_path: &Path,
    cfg: &Config,
    (outcome, cause, verify): (&str, Option<&str>, Option<&str>),
    nanos: u64,
    parsed: &Args<'_>,
    real: &Path,
    status: ExitStatus,
) {
    let path = trace_path(stats_path);
    let cap = cfg.trace_max_mb.value.saturating_mul(1024 * 1024);
    let Ok(mut f) = private::open_or_create_own(&path, Access::Append) else {
        log::warn!(
            "trace file {} is not toolchainkit's; not written",
            path.display()
        );
        return;
    };
    if f.metadata().is_ok_and(|m| m.len() >= cap) {
        let rotated = path.with_extension("jsonl.1");
        // The rotated name is replaced only when it is ours too (rename never follows
        // a symlink there, but a directory or another user's file is left alone).
        let replaceable = match fs::symlink_metadata(&rotated) {
            Err(_) => true,
            Ok(m) => m.is_file() && m.uid() == crate::paths::uid(),
        };
        if replaceable && fs::rename(&path, &rotated).is_ok() {
            match private::open_or_create_own(&path, Access::Append) {
                Ok(new) => f = new,
                Err(_) => return,
            }
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let dur_us = nanos / 1000;
    let (source, output) = source_and_output(parsed);
    let ev = Event {
        start_us: u64::try_from(now.as_micros())
            .unwrap_or(0)
            .saturating_sub(dur_us),
        dur_us,
        pid: std::process::id(),
        compiler: real.display().to_string(),
        outcome: outcome.to_string(),
        exit: status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        source,
        output,
        cause: cause.map(str::to_string),
        verify: verify.map(str::to_string),
    };
    let Ok(mut line) = serde_json::to_vec(&ev) else {
        return;
    };
    line.push(b'\n');
    let _ = f.write_all(&line);
}
