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
//!
//! Beside the data file (same name plus a suffix): `.lock`, `.pending` (above),
//! `.project` (the project directory's path, raw bytes, written when the file is created
//! so `stats --all` can name the project of an opaque hash; files written before it
//! existed get it from the next `toolchainkit stats` in their project), `.mark` and
//! `.history` (`mark`: `stats --mark` snapshots and the counters before `stats --zero`).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fs2::FileExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub(crate) mod causes;
pub(crate) mod format;
pub(crate) mod mark;
pub(crate) mod outside;
pub(crate) mod saved;
pub(crate) mod trace;

use crate::config::Config;
use crate::paths;
use crate::private::{self, Access};

/// Version of the `Stats` schema (the JSON of earlier files and of `stats --json`).
pub(crate) const VERSION: u32 = 1;

/// How long a writer waits for the lock before using the side file.
pub(crate) const LOCK_WAIT: Duration = Duration::from_millis(2000);

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
    /// Misses by cause (`cold`, `args`, `header`, ...: see `explain::diff`); their sum is
    /// at most the misses (a miss without a record, e.g. of a link step, has none).
    #[serde(default)]
    pub causes: BTreeMap<String, u64>,
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
            causes: BTreeMap::new(),
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

    fn add_cause(&mut self, cause: Option<&str>) {
        if let Some(c) = cause {
            *self.causes.entry(c.to_string()).or_default() += 1;
        }
    }

    /// Count `key` without counting an invocation: a check made of an invocation that is
    /// already counted under its outcome (`verify.ok`, ...).
    fn add_note(&mut self, key: &str, nanos: u64) {
        let b = self.outcomes.entry(key.to_string()).or_default();
        b.count += 1;
        b.nanos = b.nanos.saturating_add(nanos);
    }

    /// Sum of the buckets whose key starts with `prefix` (e.g. `hit.`).
    pub(crate) fn sum(&self, prefix: &str) -> Bucket {
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

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The stats file for this configuration: `[stats] file`, else per project (SHA-256 of
/// the project directory), else the per-user default.
/// `default.stats`: where compiles outside any project are counted.
pub(crate) fn default_path() -> PathBuf {
    paths::state_dir().join("stats").join("default.stats")
}

pub(crate) fn stats_path(cfg: &Config) -> PathBuf {
    if let Some(f) = &cfg.stats_file.value {
        return f.clone();
    }
    let dir = paths::state_dir().join("stats");
    match cfg.project_dir() {
        Some(p) => {
            let canon = fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            let digest = Sha256::digest(canon.as_os_str().as_encoded_bytes());
            let hex = paths::short_hex(&digest);
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

/// The side file where records go when the lock is held too long.
pub(crate) fn pending_path(path: &Path) -> PathBuf {
    sidecar(path, ".pending")
}

/// The file next to a stats file that names its project directory.
pub(crate) fn project_file(path: &Path) -> PathBuf {
    sidecar(path, ".project")
}

/// The project directory a stats file counts for, as recorded next to it (`None` for a
/// file written before project paths were recorded, or the per-user default file).
pub(crate) fn recorded_project(path: &Path) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    let f = private::open_own(&project_file(path), Access::Read).ok()?;
    let mut bytes = Vec::new();
    f.take(PATH_MAX).read_to_end(&mut bytes).ok()?;
    (!bytes.is_empty()).then(|| PathBuf::from(std::ffi::OsString::from_vec(bytes)))
}

/// The longest path a `.project` file is read for.
const PATH_MAX: u64 = 4096;

/// Record which project directory the stats file at `path` counts for (canonical path;
/// replaced atomically, so a reader sees the old name or the new one).
pub(crate) fn record_project(path: &Path, project: &Path) -> io::Result<()> {
    let canon = fs::canonicalize(project).unwrap_or_else(|_| project.to_path_buf());
    write_atomic(&project_file(path), canon.as_os_str().as_encoded_bytes())
}

/// How long a compile waits for the stats lock: `TOOLCHAINKIT_STATS_LOCK_WAIT_MS`, else
/// `LOCK_WAIT`.
pub(crate) fn lock_wait() -> Duration {
    paths::var_nonempty("TOOLCHAINKIT_STATS_LOCK_WAIT_MS")
        .and_then(|v| v.to_str().and_then(|s| s.parse::<u64>().ok()))
        .map_or(LOCK_WAIT, Duration::from_millis)
}

/// Make sure the directory of a stats file may hold it: the default directory (in the
/// state directory) must be private to this user; a configured one must be trusted
/// (owned by this user or root, not writable by others unless sticky).
pub(crate) fn prepare_dir(path: &Path) -> io::Result<()> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir == paths::state_dir().join("stats") {
        private::own_state_subdir("stats").map(|_| ())
    } else {
        private::ensure_trusted_dir(dir)
    }
}

/// Wait at most `wait` for an exclusive `flock` on `file`: `false` when it stays held.
fn flock_within(file: &File, wait: Duration) -> io::Result<bool> {
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_micros(50);
    loop {
        match FileExt::try_lock_exclusive(file) {
            Ok(()) => return Ok(true),
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.raw_os_error() == Some(libc::EWOULDBLOCK) =>
            {
                if Instant::now() >= deadline {
                    return Ok(false);
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(4));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Open (creating the directory if needed) and lock `PATH.lock`, waiting at most `wait`.
fn lock(path: &Path, wait: Duration) -> io::Result<Option<File>> {
    prepare_dir(path)?;
    let file = private::open_or_create_own(&sidecar(path, ".lock"), Access::Read)?;
    Ok(flock_within(&file, wait)?.then_some(file))
}

/// The stats as read under the lock, with the open file and where to write next.
struct Current {
    stats: Stats,
    /// The open data file and its slot layout, when it is in the slot format.
    slots: Option<(File, format::Layout)>,
}

/// Read the stats file. A missing file is empty stats; a damaged file of ours (it starts
/// with our header) is moved aside, never over another file, and counting restarts.
/// Anything else at that path (not a regular file, another user's, not a stats file, an
/// empty file) is refused and left untouched: a configured path must never make
/// toolchainkit replace a file that is not its own.
fn read_or_recover(path: &Path) -> io::Result<Current> {
    let mut file = match private::open_own(path, Access::ReadWrite) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Current {
                stats: Stats::default(),
                slots: None,
            });
        }
        Err(e) => return Err(e),
    };
    let (bytes, oversized) = format::read_bounded(&mut file)?;
    let decoded = match oversized {
        Some(len) => format::Decoded::Corrupt(format::too_large(len)),
        None => format::decode(&bytes),
    };
    let why = match decoded {
        format::Decoded::Slots(stats, layout) => {
            return Ok(Current {
                stats,
                slots: Some((file, layout)),
            });
        }
        format::Decoded::Legacy(stats) => return Ok(Current { stats, slots: None }),
        format::Decoded::Corrupt(why) if format::is_ours(&bytes) => why,
        format::Decoded::Empty | format::Decoded::Corrupt(_) => return Err(not_ours(path, &bytes)),
    };
    drop(file);
    let mut stats = Stats::default();
    stats
        .notices
        .push(match private::move_aside(path, "corrupt", now_secs()) {
            Ok(aside) => format!(
                "the stats file was {why}; it was moved to {} and counting restarted",
                aside.display()
            ),
            Err(e) => format!(
                "the stats file was {why} and could not be moved aside ({e}); counting restarted"
            ),
        });
    log::warn!("stats file {} was {why}", path.display());
    Ok(Current { stats, slots: None })
}

/// Write `stats` back: in place into the older slot when the file is in the slot format
/// and the record fits, else a whole new file through a temporary file and a rename
/// (a new, migrated or grown file: once per project, not per invocation).
fn write_back(path: &Path, slots: Option<(File, format::Layout)>, stats: &Stats) -> io::Result<()> {
    use std::os::unix::fs::FileExt as _;
    let body = bounded_body(stats)?;
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

/// The body for `stats`, within the largest slot: the oldest notices give way first (a
/// body that still does not fit is refused rather than written as a file no reader takes).
fn bounded_body(stats: &Stats) -> io::Result<Vec<u8>> {
    let mut body = format::encode_body(stats);
    if format::fits(format::MAX_SLOT, body.len()) {
        return Ok(body);
    }
    let mut trimmed = stats.clone();
    while !format::fits(format::MAX_SLOT, body.len()) && !trimmed.notices.is_empty() {
        trimmed.notices.remove(0);
        body = format::encode_body(&trimmed);
    }
    if format::fits(format::MAX_SLOT, body.len()) {
        Ok(body)
    } else {
        Err(io::Error::other(
            "the stats record outgrew the largest slot",
        ))
    }
}

/// Write a new file under a fresh name in the same directory and rename it over `path`;
/// the temporary file is removed whatever fails (a full disk leaves nothing behind).
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "stats".into(), |n| n.to_string_lossy().into_owned());
    let (mut f, tmp) = private::create_unique(dir, &format!(".{name}.tmp"))?;
    let result = f.write_all(bytes).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Fold records left in the side file by writers that timed out on the lock. Writers
/// append under an `flock` of the side file and this reads and empties it under the same
/// `flock`, so a record appended at any moment is folded exactly once (the file is
/// emptied, never deleted: a writer holding it open still appends to the file that will
/// be read next).
fn fold_pending(path: &Path, stats: &mut Stats) {
    let pending = pending_path(path);
    let Ok(mut f) = private::open_own(&pending, Access::ReadWrite) else {
        return;
    };
    if f.metadata().map_or(true, |m| m.len() == 0) {
        return;
    }
    if !matches!(flock_within(&f, PENDING_WAIT), Ok(true)) {
        return;
    }
    // Each line is one late record; more than a valid stats file holds is not read.
    let mut text = String::new();
    if (&mut f)
        .take(format::MAX_FILE)
        .read_to_string(&mut text)
        .is_err()
    {
        return;
    }
    for line in text.lines() {
        let mut it = line.split(' ');
        if let (Some(key), Some(nanos)) = (it.next(), it.next())
            && let Ok(n) = nanos.trim().parse::<u64>()
        {
            stats.add(key, n);
            stats.add_cause(it.next().map(str::trim).filter(|c| !c.is_empty()));
            stats.late_records += 1;
        }
    }
    let _ = f.set_len(0);
}

/// How long the side file's own lock may be waited for (it is held for one append or
/// one read).
const PENDING_WAIT: Duration = Duration::from_millis(500);

/// Append one record (and its miss cause) to the side file under its `flock`.
fn append_pending(path: &Path, key: &str, cause: Option<&str>, nanos: u64) -> io::Result<()> {
    let f = private::open_or_create_own(&pending_path(path), Access::Append)?;
    if !flock_within(&f, PENDING_WAIT)? {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the side file's lock is held too long",
        ));
    }
    let line = match cause {
        Some(c) => format!("{key} {nanos} {c}\n"),
        None => format!("{key} {nanos}\n"),
    };
    (&f).write_all(line.as_bytes())
}

/// Add one invocation to the stats file at `path`.
pub fn record(path: &Path, key: &str, nanos: u64) -> io::Result<()> {
    record_with(path, key, nanos, LOCK_WAIT, |_| {})
}

/// As `record`, running `under_lock` while the lock is held (used for the trace file).
pub(crate) fn record_with(
    path: &Path,
    key: &str,
    nanos: u64,
    wait: Duration,
    under_lock: impl FnOnce(&Path),
) -> io::Result<()> {
    record_in(path, None, key, None, nanos, wait, under_lock)
}

/// As `record_with`, for the project in `project`: a newly created file (once per
/// project, not per compile) also gets its `.project` name. `cause`: a miss's cause,
/// counted with it under the same lock.
pub(crate) fn record_in(
    path: &Path,
    project: Option<&Path>,
    key: &str,
    cause: Option<&str>,
    nanos: u64,
    wait: Duration,
    under_lock: impl FnOnce(&Path),
) -> io::Result<()> {
    let Some(guard) = lock(path, wait)? else {
        append_pending(path, key, cause, nanos)?;
        log::warn!(
            "stats lock {} held too long; recorded in the side file",
            path.display()
        );
        return Ok(());
    };
    let Current { mut stats, slots } = read_or_recover(path)?;
    fold_pending(path, &mut stats);
    stats.add(key, nanos);
    stats.add_cause(cause);
    let created = slots.is_none();
    write_back(path, slots, &stats)?;
    if created
        && let Some(p) = project
        && let Err(e) = record_project(path, p)
    {
        log::warn!("cannot record the project of {}: {e}", path.display());
    }
    under_lock(path);
    drop(guard);
    Ok(())
}

/// Add `key` to the stats file at `path` without counting an invocation (the invocation
/// it belongs to is recorded by `record_in`). Waits at most `wait` for the lock; a lock
/// held longer drops the note (logged), never the compile.
pub(crate) fn note(path: &Path, key: &str, nanos: u64, wait: Duration) -> io::Result<()> {
    let Some(guard) = lock(path, wait)? else {
        log::warn!(
            "stats lock {} held too long; `{key}` not recorded",
            path.display()
        );
        return Ok(());
    };
    let Current { mut stats, slots } = read_or_recover(path)?;
    stats.add_note(key, nanos);
    write_back(path, slots, &stats)?;
    drop(guard);
    Ok(())
}

/// Read the stats (for `toolchainkit stats`), folding nothing and changing nothing.
pub fn load(path: &Path) -> io::Result<Option<Stats>> {
    let read = private::open_own(path, Access::Read).and_then(|mut f| format::read_bounded(&mut f));
    match read {
        Ok((bytes, oversized)) => match oversized.map_or_else(
            || format::decode(&bytes),
            |len| format::Decoded::Corrupt(format::too_large(len)),
        ) {
            format::Decoded::Slots(s, _) | format::Decoded::Legacy(s) => Ok(Some(s)),
            format::Decoded::Corrupt(why) if format::is_ours(&bytes) => Err(io::Error::other(
                format!("the stats file {} is {why}", path.display()),
            )),
            format::Decoded::Empty | format::Decoded::Corrupt(_) => Err(not_ours(path, &bytes)),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The refusal for a file at a stats path that toolchainkit did not write.
fn not_ours(path: &Path, bytes: &[u8]) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{} is not a toolchainkit stats file ({}); it is left untouched and compiles are not counted",
            path.display(),
            if bytes.is_empty() {
                "empty"
            } else {
                "unknown content"
            }
        ),
    )
}

/// Under the lock: read (recovering and folding), let `f` change it, write it back.
pub(crate) fn update<T>(path: &Path, f: impl FnOnce(&mut Stats) -> T) -> io::Result<T> {
    let guard = lock(path, Duration::from_secs(10))?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            "stats lock held for more than 10 s",
        )
    })?;
    let Current { mut stats, slots } = read_or_recover(path)?;
    fold_pending(path, &mut stats);
    let out = f(&mut stats);
    write_back(path, slots, &stats)?;
    drop(guard);
    Ok(out)
}

/// Can the lock of the stats file at `path` be had within `wait`? Takes it and releases
/// it at once (for `toolchainkit doctor`). Creates the lock file's directory if needed.
pub(crate) fn probe_lock(path: &Path, wait: Duration) -> io::Result<bool> {
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
    fn a_note_counts_no_invocation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("stats");
        record(&path, "hit.sccache", 3).expect("record");
        note(&path, "verify.ok", 40, LOCK_WAIT).expect("note");
        let s = load(&path).expect("load").expect("some stats");
        assert_eq!(s.invocations, 1);
        assert_eq!(
            s.outcomes["verify.ok"],
            Bucket {
                count: 1,
                nanos: 40
            }
        );
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
    fn legacy_json_is_migrated_ours_moved_aside_others_untouched() {
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

        // Somebody else's file at the stats path is refused and left as it is.
        fs::write(&path, b"not stats").expect("write");
        assert!(load(&path).is_err());
        assert!(record(&path, "miss", 1).is_err());
        assert_eq!(fs::read(&path).expect("read"), b"not stats");
        // A damaged file of ours is moved aside and counting restarts.
        fs::write(&path, format!("{:<63}\n", "toolchainkit-stats 2 4096")).expect("write");
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
