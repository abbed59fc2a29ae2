//! The per-project stats file: locked, crash-safe counters of every invocation.
//!
//! Protocol: exclusive `fs2` lock on `FILE.lock` (polled, bounded wait), read `FILE`, add,
//! write `FILE.tmp.PID`, rename over `FILE`. A crash at any instant leaves the old or the
//! new file. When the lock cannot be had in time the record is appended to `FILE.pending`
//! (one `O_APPEND` write) and folded in by the next writer that gets the lock.
//! A corrupt file is moved aside to `FILE.corrupt-SECS` and counting restarts.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fs2::FileExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub mod trace;

use crate::config::Config;
use crate::paths;

/// Format version of the stats file.
pub const VERSION: u32 = 1;

/// How long a writer waits for the lock before using the side file.
pub const LOCK_WAIT: Duration = Duration::from_millis(2000);

/// Count and summed wall time of one outcome.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Bucket {
    pub count: u64,
    pub nanos: u64,
}

/// The stats file's contents.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Stats {
    pub version: u32,
    /// Unix seconds when counting (re)started.
    pub since: u64,
    pub invocations: u64,
    /// Outcome key (`hit.direct.local`, `miss`, ...) to its bucket.
    pub outcomes: BTreeMap<String, Bucket>,
    /// Records that went through the side file because the lock was held too long.
    #[serde(default)]
    pub late_records: u64,
    /// One-time messages for `toolchainkit stats` (e.g. a corrupt file moved aside).
    #[serde(default)]
    pub notices: Vec<String>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            version: VERSION,
            since: now_secs(),
            invocations: 0,
            outcomes: BTreeMap::new(),
            late_records: 0,
            notices: Vec::new(),
        }
    }
}

impl Stats {
    fn add(&mut self, key: &str, nanos: u64) {
        self.invocations += 1;
        let b = self.outcomes.entry(key.to_string()).or_default();
        b.count += 1;
        b.nanos = b.nanos.saturating_add(nanos);
    }

    /// Sum of the buckets whose key starts with `prefix` (e.g. `hit.`).
    pub fn sum(&self, prefix: &str) -> Bucket {
        let mut total = Bucket::default();
        for (k, b) in &self.outcomes {
            if k == prefix.trim_end_matches('.') || k.starts_with(prefix) {
                total.count += b.count;
                total.nanos = total.nanos.saturating_add(b.nanos);
            }
        }
        total
    }
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The stats file for this configuration: `[stats] file`, else per project (SHA-256 of
/// the project directory), else the per-user default.
pub fn stats_path(cfg: &Config) -> PathBuf {
    if let Some(f) = &cfg.stats_file.value {
        return f.clone();
    }
    let dir = paths::state_dir().join("stats");
    match cfg.project_dir() {
        Some(p) => {
            let canon = fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            let digest = Sha256::digest(canon.as_os_str().as_encoded_bytes());
            let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
            dir.join(format!("{hex}.json"))
        }
        None => dir.join("default.json"),
    }
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// Open (creating the directory if needed) and lock `PATH.lock`, waiting at most `wait`.
fn lock(path: &Path, wait: Duration) -> io::Result<Option<File>> {
    let lock_path = sidecar(path, ".lock");
    let file = match OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = lock_path.parent() {
                fs::create_dir_all(parent)?;
            }
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)?
        }
        Err(e) => return Err(e),
    };
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_micros(50);
    loop {
        match FileExt::try_lock_exclusive(&file) {
            Ok(()) => return Ok(Some(file)),
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.raw_os_error() == Some(libc::EWOULDBLOCK) =>
            {
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(4));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Read the stats file; a missing file is empty stats, a corrupt one is moved aside.
fn read_or_recover(path: &Path) -> Stats {
    let mut text = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            if f.read_to_end(&mut text).is_err() {
                text.clear();
            }
        }
        Err(_) => return Stats::default(),
    }
    match serde_json::from_slice::<Stats>(&text) {
        Ok(s) if s.version == VERSION => s,
        other => {
            let why = match other {
                Ok(s) => format!("unsupported version {}", s.version),
                Err(_) if text.is_empty() => "empty".to_string(),
                Err(e) => format!("unreadable ({e})"),
            };
            let aside = sidecar(path, &format!(".corrupt-{}", now_secs()));
            let moved = fs::rename(path, &aside).is_ok();
            let mut s = Stats::default();
            s.notices.push(if moved {
                format!(
                    "the stats file was {why}; it was moved to {} and counting restarted",
                    aside.display()
                )
            } else {
                format!("the stats file was {why}; counting restarted")
            });
            log::warn!("stats file {} was {why}", path.display());
            s
        }
    }
}

fn write_atomic(path: &Path, stats: &Stats) -> io::Result<()> {
    let tmp = sidecar(path, &format!(".tmp.{}", std::process::id()));
    let bytes = serde_json::to_vec(stats).map_err(io::Error::other)?;
    {
        let mut f = File::create(&tmp)?;
        f.write_all(&bytes)?;
    }
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

/// Fold records left in the side file by writers that timed out on the lock.
fn fold_pending(path: &Path, stats: &mut Stats) {
    let pending = sidecar(path, ".pending");
    let Ok(text) = fs::read_to_string(&pending) else {
        return;
    };
    for line in text.lines() {
        if let Some((key, nanos)) = line.split_once(' ')
            && let Ok(n) = nanos.trim().parse::<u64>()
        {
            stats.add(key, n);
            stats.late_records += 1;
        }
    }
    let _ = fs::remove_file(&pending);
}

/// Add one invocation to the stats file at `path`.
pub fn record(path: &Path, key: &str, nanos: u64) -> io::Result<()> {
    record_with(path, key, nanos, LOCK_WAIT, |_| {})
}

/// As `record`, running `under_lock` while the lock is held (used for the trace file).
pub fn record_with(
    path: &Path,
    key: &str,
    nanos: u64,
    wait: Duration,
    under_lock: impl FnOnce(&Path),
) -> io::Result<()> {
    let Some(guard) = lock(path, wait)? else {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(sidecar(path, ".pending"))?;
        f.write_all(format!("{key} {nanos}\n").as_bytes())?;
        log::warn!(
            "stats lock {} held too long; recorded in the side file",
            path.display()
        );
        return Ok(());
    };
    let mut stats = read_or_recover(path);
    fold_pending(path, &mut stats);
    stats.add(key, nanos);
    write_atomic(path, &stats)?;
    under_lock(path);
    drop(guard);
    Ok(())
}

/// Read the stats (for `toolchainkit stats`), folding nothing and changing nothing.
pub fn load(path: &Path) -> io::Result<Option<Stats>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(io::Error::other),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Under the lock: read (recovering and folding), let `f` change it, write it back.
pub fn update<T>(path: &Path, f: impl FnOnce(&mut Stats) -> T) -> io::Result<T> {
    let guard = lock(path, Duration::from_secs(10))?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            "stats lock held for more than 10 s",
        )
    })?;
    let mut stats = read_or_recover(path);
    fold_pending(path, &mut stats);
    let out = f(&mut stats);
    write_atomic(path, &stats)?;
    drop(guard);
    Ok(out)
}

/// Can the lock of the stats file at `path` be had within `wait`? Takes it and releases
/// it at once (for `toolchainkit doctor`). Creates the lock file's directory if needed.
pub fn probe_lock(path: &Path, wait: Duration) -> io::Result<bool> {
    Ok(lock(path, wait)?.is_some())
}
