//! Every miss explained: a record per compiled output (written when the tool compiled it,
//! never on a hit), the cause of each miss against the record it replaces, counted in
//! the stats file, and `toolchainkit explain`.
//!
//! - `record`: what one record holds and how it is read from a compile.
//! - `ident`: the compiler's memoised identity, the build a compile belongs to.
//! - `store`: where records live (with the cache), bounded, crash- and concurrency-safe.
//! - `diff`: the cause and the difference in words.
//! - `report`: what `explain` and `stats` show.

pub mod diff;
pub mod ident;
pub mod record;
pub mod report;
pub mod store;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitStatus;
use std::time::Instant;

use crate::config::{Config, Tool};
use crate::outcome::Outcome;

/// One finished compile, as the hook sees it.
pub struct Finished<'a> {
    pub cfg: &'a Config,
    pub tool: Tool,
    /// The tool's binary.
    pub exe: &'a Path,
    pub real: &'a Path,
    pub args: &'a [OsString],
    /// `args` parsed.
    pub parsed: &'a crate::args::Args<'a>,
    pub cwd: &'a Path,
    pub outcome: &'a Outcome,
    pub status: ExitStatus,
    /// The compile's wall time so far.
    pub nanos: u64,
}

/// Does this outcome get a record? A miss (the tool compiled and stored it) or an
/// uncacheable compile (the tool, or toolchainkit, compiled it without caching). Checked
/// first, so a hit costs one `match`.
pub fn wanted(outcome: &Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Miss | Outcome::MissRemoteError | Outcome::Uncacheable(_)
    )
}

/// After a successful compile of one output through a tool: build its record, find the
/// cause against the record it replaces, write it. Returns the cause to count (misses
/// only). Never fails the compile: a problem is logged and the compile goes on.
pub fn after_compile(f: &Finished<'_>) -> Option<&'static str> {
    if !wanted(f.outcome) || !f.status.success() {
        return None;
    }
    let began = Instant::now();
    let parsed = f.parsed;
    // One source and one object: what a record is about.
    if !parsed.compile || parsed.sources.len() != 1 || parsed.response_file {
        return None;
    }
    let object = parsed.object()?;
    let (stored, reason) = match f.outcome {
        Outcome::Uncacheable(r) => (false, Some(r.clone())),
        _ => (true, None),
    };
    let root = store::tool_root(f.cfg, f.tool)?;
    let places = record::Places::new(f.cfg, f.tool, f.cwd);
    let source = parsed.sources[0];
    let source_path = Path::new(source);
    let now_us = store::now_nanos() / 1000;
    let mut rec = record::Record {
        version: record::VERSION,
        output: places.name(&object),
        tool: f.tool.name().into(),
        start_us: now_us.saturating_sub(f.nanos / 1000),
        end_us: now_us,
        build: ident::build_id(),
        stored,
        reason,
        compiler: ident::compiler(
            f.real,
            store::root(f.cfg).map(|r| r.join("compilers")).as_deref(),
        ),
        compiler_check: match f.tool {
            Tool::Ccache => Some(
                f.cfg
                    .ccache
                    .value
                    .compiler_check
                    .clone()
                    .unwrap_or_else(|| "mtime".into()),
            ),
            Tool::Sccache => None,
        },
        tool_id: record::tool_id(f.exe),
        tool_settings: record::tool_settings(f.cfg, f.tool),
        args: record::hashed_args(f.args, Some(source), &places),
        cwd: record::hashed_cwd(f.cfg, f.tool, f.args, &places),
        env: record::hashed_env(f.cfg, f.tool),
        source: record::hash_file(&f.cwd.join(source_path)).map(|hash| record::Hashed {
            path: places.tool_view(source_path),
            hash,
        }),
        headers: record::headers(parsed, Some(source_path), &places),
        object_bytes: std::fs::metadata(f.cwd.join(&object)).map_or(0, |m| m.len()),
        compile_ns: f.nanos,
        ..record::Record::default()
    };
    let old = store::load(&root, &rec.output);
    let (cause, detail) = diff::classify(old.as_ref(), &rec);
    rec.cause = cause.into();
    rec.detail = detail;
    rec.bookkeeping_ns = u64::try_from(began.elapsed().as_nanos()).unwrap_or(u64::MAX);
    if let Err(e) = store::save(&root, &rec, store::SHARD_BYTES) {
        log::warn!("cannot write the miss record in {}: {e}", root.display());
    }
    stored.then_some(cause)
}
