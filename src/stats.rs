//! The per-project stats file: locked, crash-safe counters of every invocation.
//!
//! Protocol: exclusive `fs2` lock on `FILE.lock` (polled, bounded wait), read `FILE`, add,
//! write the new counters back *in place*, then unlock. When the lock cannot be had in
//! time the record is appended to `FILE.pending` (one `O_APPEND` write) and folded in by
//! the next writer that gets the lock. A corrupt file is moved aside to
//! `FILE.corrupt-SECS` and counting restarts.
//!
//! The file (see `format`) holds two fixed-size slots; a write fills the slot that does not
//! hold the newest record, with a higher sequence number and a checksum, in one `pwrite`.
//! A crash at any instant therefore leaves the old record or the new one, never a torn
//! one, and the file does not grow with the number of invocations. This replaced writing
//! a temporary file and renaming it over the data file: on ext4 a rename over an existing
//! file starts writeback of the new file (`auto_da_alloc`), which cost 0.3 to 5 ms per
//! compile; the in-place write costs a few microseconds.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fs2::FileExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub mod format;
pub mod trace;

use crate::config::Config;
use crate::paths;

/// Version of the `Stats` schema (the JSON of earlier files and of `stats --json`).
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
            dir.join(format!("{hex}.stats"))
        }
        None => dir.join("default.stats"),
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

/// The stats as read under the lock, with the open file and where to write next.
struct Current {
    stats: Stats,
    /// The open data file and its slot layout, when it is in the slot format.
    slots: Option<(File, format::Layout)>,
}

/// Read the stats file; a missing file is empty stats, a corrupt one is moved aside.
fn read_or_recover(path: &Path) -> Current {
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(_) => {
            return Current {
                stats: Stats::default(),
                slots: None,
            };
        }
    };
    let mut bytes = Vec::with_capacity(2 * format::MIN_SLOT + format::HEADER_LEN);
    if file.read_to_end(&mut bytes).is_err() {
        bytes.clear();
    }
    let why = match format::decode(&bytes) {
        format::Decoded::Slots(stats, layout) => {
            return Current {
                stats,
                slots: Some((file, layout)),
            };
        }
        format::Decoded::Legacy(stats) => return Current { stats, slots: None },
        format::Decoded::Empty => "empty".to_string(),
        format::Decoded::Corrupt(why) => why,
    };
    drop(file);
    let aside = sidecar(path, &format!(".corrupt-{}", now_secs()));
    let moved = fs::rename(path, &aside).is_ok();
    let mut stats = Stats::default();
    stats.notices.push(if moved {
        format!(
            "the stats file was {why}; it was moved to {} and counting restarted",
            aside.display()
        )
    } else {
        format!("the stats file was {why}; counting restarted")
    });
    log::warn!("stats file {} was {why}", path.display());
    Current { stats, slots: None }
}

/// Write `stats` back: in place into the older slot when the file is in the slot format
/// and the record fits, else a whole new file through a temporary file and a rename
/// (a new, migrated or grown file: once per project, not per invocation).
fn write_back(path: &Path, slots: Option<(File, format::Layout)>, stats: &Stats) -> io::Result<()> {
    use std::os::unix::fs::FileExt as _;
    let body = format::encode_body(stats);
    let seq = slots.as_ref().map_or(0, |(_, l)| l.seq) + 1;
    if let Some((file, layout)) = &slots
        && format::fits(layout.slot, body.len())
    {
        let rec = format::record(seq, &body);
        return file.write_all_at(&rec, format::slot_offset(layout.slot, 1 - layout.newest));
    }
    let slot = format::slot_size_for(body.len());
    write_atomic(path, &format::whole_file(slot, &format::record(seq, &body)))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = sidecar(path, &format!(".tmp.{}", std::process::id()));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
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
    let Current { mut stats, slots } = read_or_recover(path);
    fold_pending(path, &mut stats);
    stats.add(key, nanos);
    write_back(path, slots, &stats)?;
    under_lock(path);
    drop(guard);
    Ok(())
}

/// Read the stats (for `toolchainkit stats`), folding nothing and changing nothing.
pub fn load(path: &Path) -> io::Result<Option<Stats>> {
    match fs::read(path) {
        Ok(bytes) => match format::decode(&bytes) {
            format::Decoded::Slots(s, _) | format::Decoded::Legacy(s) => Ok(Some(s)),
            format::Decoded::Empty => Ok(None),
            format::Decoded::Corrupt(why) => Err(io::Error::other(format!(
                "the stats file {} is {why}",
                path.display()
            ))),
        },
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
    let Current { mut stats, slots } = read_or_recover(path);
    fold_pending(path, &mut stats);
    let out = f(&mut stats);
    write_back(path, slots, &stats)?;
    drop(guard);
    Ok(out)
}

/// Can the lock of the stats file at `path` be had within `wait`? Takes it and releases
/// it at once (for `toolchainkit doctor`). Creates the lock file's directory if needed.
pub fn probe_lock(path: &Path, wait: Duration) -> io::Result<bool> {
    Ok(lock(path, wait)?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_add_up_and_the_file_does_not_grow() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s").join("stats.json");
        record(&path, "miss", 10).expect("first record");
        let size = fs::metadata(&path).expect("stats file").len();
        for _ in 0..50 {
            record(&path, "hit.direct.local", 2).expect("record");
        }
        assert_eq!(fs::metadata(&path).expect("stats file").len(), size);
        let s = load(&path).expect("load").expect("some stats");
        assert_eq!(s.invocations, 51);
        assert_eq!(
            s.outcomes["hit.direct.local"],
            Bucket {
                count: 50,
                nanos: 100
            }
        );
        assert_eq!(s.sum("miss").count, 1);
    }

    #[test]
    fn concurrent_writers_lose_no_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("stats.json");
        std::thread::scope(|sc| {
            for t in 0..8 {
                let path = &path;
                sc.spawn(move || {
                    for _ in 0..25 {
                        record(path, &format!("k{t}"), 1).expect("record");
                    }
                });
            }
        });
        let s = load(&path).expect("load").expect("some stats");
        assert_eq!(s.invocations, 200);
        assert!(s.outcomes.values().all(|b| b.count == 25));
    }

    #[test]
    fn legacy_json_is_migrated_and_garbage_moved_aside() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("stats.json");
        let mut old = Stats::default();
        old.add("miss", 5);
        fs::write(&path, serde_json::to_vec(&old).expect("json")).expect("write");
        record(&path, "miss", 5).expect("record");
        let s = load(&path).expect("load").expect("some stats");
        assert_eq!(
            s.outcomes["miss"],
            Bucket {
                count: 2,
                nanos: 10
            }
        );
        assert!(
            fs::read(&path)
                .expect("read")
                .starts_with(format::MAGIC.as_bytes())
        );

        fs::write(&path, b"not stats").expect("write");
        assert!(load(&path).is_err());
        record(&path, "miss", 1).expect("record");
        let s = load(&path).expect("load").expect("some stats");
        assert_eq!(s.invocations, 1);
        assert_eq!(s.notices.len(), 1, "{:?}", s.notices);
        let aside = fs::read_dir(dir.path())
            .expect("list")
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().contains(".corrupt-"));
        assert!(aside, "corrupt file moved aside");
    }
}
