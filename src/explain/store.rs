//! The record store: one small JSON file per compiled output, kept with the cache.
//!
//! Layout, under `cache.dir` (`DIR/explain/TOOL/`; without `cache.dir`, beside the tool's
//! default cache: `~/.cache/toolchainkit/explain/TOOL/`), so a CI job that saves and
//! restores the cache directory carries the records with it:
//!
//! - 256 shard directories `00` .. `ff` (the first byte of the output key's hash), each
//!   holding `KEY.SEQ` files: `KEY` is 32 hex digits of the output's key, `SEQ` the write
//!   time in nanoseconds (16 hex digits). The newest `SEQ` of a key is its record.
//! - A write goes to a fresh temporary name and is renamed to a fresh `KEY.SEQ` (never
//!   over an existing file: on ext4 a rename over a file starts its writeback, 0.3–5 ms),
//!   then older `SEQ`s of the key are removed. A writer killed at any instant leaves the
//!   old record or the new one; parallel writers never touch each other's files.
//! - Bounded: a shard holds at most `SHARD_BYTES` (256 KiB, so the store at most 64 MiB);
//!   after each write the oldest records of that shard go first. Only the one shard a
//!   write lands in is listed, so the bound costs a `readdir` of a few dozen entries.
//! - Private: directories 0700 and files 0600, created and opened through `private`
//!   (no symlink followed, another user's file never read). In a group-shared cache
//!   directory that another user owns, records go to `explain-UID` beside it.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::config::{Config, Tool};
use crate::private;

use super::record::Record;

/// The most a shard keeps; 256 shards make the store's bound (64 MiB, documented in the
/// README and docs/statistics.md).
pub const SHARD_BYTES: u64 = 256 * 1024;

/// The records' root for this configuration: `cache.dir/explain`, else beside the tool's
/// default cache directory (`$XDG_CACHE_HOME/toolchainkit/explain`). In a cache
/// directory owned by another user (a group-shared cache) each user keeps their own,
/// private records in `cache.dir/explain-UID`.
pub(crate) fn root(cfg: &Config) -> Option<PathBuf> {
    if let Some(d) = &cfg.dir.value {
        let uid = crate::paths::uid();
        let theirs = std::fs::metadata(d).is_ok_and(|m| m.uid() != uid);
        return Some(if theirs {
            d.join(format!("explain-{uid}"))
        } else {
            d.join("explain")
        });
    }
    let cache_home = crate::paths::var_nonempty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| crate::paths::home().map(|h| h.join(".cache")))?;
    Some(cache_home.join("toolchainkit").join("explain"))
}

/// The store of one tool's cache.
pub(crate) fn tool_root(cfg: &Config, tool: Tool) -> Option<PathBuf> {
    root(cfg).map(|r| r.join(tool.name()))
}

/// The 32-hex-digit key of an output's normalised name.
pub(crate) fn key_of(output: &str) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(output.as_bytes()))
}

fn shard_of(key: &str) -> &str {
    key.get(..2).unwrap_or("00")
}

/// `KEY.SEQ` → (key, seq).
fn parse_name(name: &OsStr) -> Option<(&str, u64)> {
    let (k, s) = name.to_str()?.split_once('.')?;
    (k.len() == 32 && s.len() == 16).then_some(())?;
    Some((k, u64::from_str_radix(s, 16).ok()?))
}

/// Is `dir` an existing directory private to this user (checked without following a
/// symlink)? Readers never create anything.
fn readable_dir(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir).is_ok_and(|m| {
        !m.file_type().is_symlink()
            && private::judge_private_dir(&m, crate::paths::uid()).is_none()
            && m.mode() & 0o077 == 0
    })
}

/// The names of `key`'s records in `shard`, newest first.
fn versions(shard: &Path, key: &str) -> Vec<(u64, PathBuf)> {
    let mut v: Vec<(u64, PathBuf)> = std::fs::read_dir(shard)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name();
                    let (k, seq) = parse_name(&name)?;
                    (k == key).then(|| (seq, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by_key(|a| std::cmp::Reverse(a.0));
    v
}

fn read_record(path: &Path) -> Option<Record> {
    let bytes = private::read_own(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The newest intact record of `output` in the store at `root`.
pub(crate) fn load(root: &Path, output: &str) -> Option<Record> {
    let key = key_of(output);
    let shard = root.join(shard_of(&key));
    if !readable_dir(root) || !readable_dir(&shard) {
        return None;
    }
    versions(&shard, &key)
        .into_iter()
        .find_map(|(_, p)| read_record(&p).filter(|r| r.output == output))
}

/// Every record in the store at `root` (the newest of each output).
pub(crate) fn load_all(root: &Path) -> Vec<Record> {
    let mut out = Vec::new();
    if !readable_dir(root) {
        return out;
    }
    for i in 0..=255u8 {
        let shard = root.join(format!("{i:02x}"));
        if !readable_dir(&shard) {
            continue;
        }
        let mut newest: std::collections::BTreeMap<String, Vec<(u64, PathBuf)>> =
            std::collections::BTreeMap::new();
        if let Ok(rd) = std::fs::read_dir(&shard) {
            for e in rd.filter_map(Result::ok) {
                let name = e.file_name();
                if let Some((k, seq)) = parse_name(&name) {
                    newest
                        .entry(k.to_string())
                        .or_default()
                        .push((seq, e.path()));
                }
            }
        }
        for (_, mut v) in newest {
            v.sort_by_key(|a| std::cmp::Reverse(a.0));
            if let Some(r) = v.into_iter().find_map(|(_, p)| read_record(&p)) {
                out.push(r);
            }
        }
    }
    out
}

/// Write `rec` as the newest record of its output, then drop older versions and, when
/// the shard is over `budget` bytes, its oldest records.
pub fn save(root: &Path, rec: &Record, budget: u64) -> io::Result<()> {
    let key = key_of(&rec.output);
    let shard = private::ensure_private_tree(root, &[shard_of(&key)])?;
    let bytes = serde_json::to_vec(rec).map_err(io::Error::other)?;
    let (mut f, tmp) = private::create_unique(&shard, ".tmp")?;
    let seq = now_nanos();
    let mut done = f.write_all(&bytes);
    drop(f);
    let mut final_path = PathBuf::new();
    if done.is_ok() {
        // A fresh name: two writers of one output in the same nanosecond take the next.
        done = Err(io::Error::other("no fresh name"));
        for n in 0..16 {
            final_path = shard.join(format!("{key}.{:016x}", seq + n));
            match private::rename_noreplace(&tmp, &final_path) {
                Ok(()) => {
                    done = Ok(());
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    done = Err(e);
                    break;
                }
            }
        }
    }
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return done;
    }
    let keep = parse_name(final_path.file_name().unwrap_or_default()).map_or(seq, |k| k.1);
    prune(&shard, &key, keep, budget);
    Ok(())
}

/// Remove versions of `key` older than `keep` (a newer one written meanwhile stays),
/// stale temporary files, and the oldest records while the shard holds more than
/// `budget` bytes (never the one just written).
fn prune(shard: &Path, key: &str, keep: u64, budget: u64) {
    let Ok(rd) = std::fs::read_dir(shard) else {
        return;
    };
    let mut live: Vec<(u64, u64, bool, PathBuf)> = Vec::new();
    for e in rd.filter_map(Result::ok) {
        let path = e.path();
        let name = e.file_name();
        let Ok(meta) = e.metadata() else { continue };
        if !meta.is_file() || meta.uid() != crate::paths::uid() {
            continue;
        }
        match parse_name(&name) {
            Some((k, seq)) => {
                if k == key && seq < keep {
                    let _ = std::fs::remove_file(&path);
                } else {
                    live.push((seq, meta.len(), (k == key && seq == keep), path));
                }
            }
            None if name.as_encoded_bytes().starts_with(b".tmp.") => {
                // A writer killed between write and rename, at least a minute ago.
                let old = meta
                    .modified()
                    .ok()
                    .and_then(|m| m.elapsed().ok())
                    .is_some_and(|d| d.as_secs() > 60);
                if old {
                    let _ = std::fs::remove_file(&path);
                }
            }
            None => {}
        }
    }
    let mut total: u64 = live.iter().map(|l| l.1).sum();
    if total <= budget {
        return;
    }
    live.sort_by_key(|l| l.0);
    for (_, len, kept, path) in live {
        if total <= budget {
            break;
        }
        if kept {
            continue;
        }
        if std::fs::remove_file(&path).is_ok() {
            total = total.saturating_sub(len);
        }
    }
}

pub(crate) fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn rec(output: &str, n: usize) -> Record {
        Record {
            version: super::super::record::VERSION,
            output: output.into(),
            detail: vec!["x".repeat(n)],
            ..Record::default()
        }
    }

    /// Not a test on its own: the writer that the kill test starts as a child process
    /// (this test binary, filtered to this name, with the store's directory set).
    #[test]
    fn writer_loop_helper() {
        let Some(dir) = std::env::var_os("TK_EXPLAIN_WRITER_DIR") else {
            return;
        };
        let root = PathBuf::from(dir);
        let mut i: usize = 0;
        loop {
            i += 1;
            let _ = save(
                &root,
                &rec("out.o", 1000 + (i * 7919) % 60_000),
                SHARD_BYTES,
            );
        }
    }

    fn intact(root: &Path, output: &str) -> bool {
        let key = key_of(output);
        let shard = root.join(shard_of(&key));
        let all_parse = versions(&shard, &key)
            .iter()
            .all(|(_, p)| read_record(p).is_some());
        all_parse && load(root, output).is_some()
    }

    #[test]
    fn a_writer_killed_at_any_instant_leaves_the_old_or_the_new_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("explain");
        save(&root, &rec("out.o", 10), SHARD_BYTES).expect("first record");
        let exe = std::env::current_exe().expect("test binary");
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for round in 0..24 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut child = std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "explain::store::tests::writer_loop_helper",
                    "--test-threads=1",
                ])
                .env("TK_EXPLAIN_WRITER_DIR", &root)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("writer");
            std::thread::sleep(std::time::Duration::from_millis(20 + seed % 60));
            // SAFETY: kill(2) of the child this test started.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGKILL);
            }
            let _ = child.wait();
            assert!(
                intact(&root, "out.o"),
                "round {round}: a torn or lost record"
            );
        }
        let left = versions(&root.join(shard_of(&key_of("out.o"))), &key_of("out.o"));
        assert!(left.len() <= 2, "older versions are removed: {left:?}");
    }

    #[test]
    fn thirty_two_parallel_writers_lose_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("explain");
        std::thread::scope(|sc| {
            for t in 0..32 {
                let root = &root;
                sc.spawn(move || {
                    for i in 0..20 {
                        save(root, &rec(&format!("own{t}.o"), i), SHARD_BYTES).expect("own");
                        save(root, &rec("shared.o", 100 + t), SHARD_BYTES).expect("shared");
                    }
                });
            }
        });
        let all = load_all(&root);
        assert_eq!(all.len(), 33, "every output has its record");
        for t in 0..32 {
            let r = load(&root, &format!("own{t}.o")).expect("own record");
            assert_eq!(r.detail, vec!["x".repeat(19)], "the newest of own{t}.o");
        }
        assert!(intact(&root, "shared.o"));
    }

    #[test]
    fn the_store_stays_within_its_bound_dropping_the_oldest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("explain");
        let budget = 8 * 1024;
        for i in 0..1500 {
            save(&root, &rec(&format!("o{i}.o"), 900), budget).expect("save");
        }
        let one = serde_json::to_vec(&rec("o1499.o", 900))
            .expect("json")
            .len() as u64;
        for s in 0..=255u8 {
            let shard = root.join(format!("{s:02x}"));
            let total: u64 = std::fs::read_dir(&shard)
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .map(|e| e.metadata().map_or(0, |m| m.len()))
                        .sum()
                })
                .unwrap_or(0);
            assert!(total <= budget + one, "shard {s:02x} holds {total} bytes");
        }
        assert!(load(&root, "o1499.o").is_some(), "the newest is kept");
        assert!(load(&root, "o0.o").is_none(), "the oldest went first");
    }

    #[test]
    fn records_are_private_and_planted_files_are_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("explain");
        save(&root, &rec("a.o", 5), SHARD_BYTES).expect("save");
        let key = key_of("a.o");
        let shard = root.join(shard_of(&key));
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&shard), 0o700);
        let (_, file) = versions(&shard, &key)
            .into_iter()
            .next()
            .expect("record file");
        assert_eq!(mode(&file), 0o600);
        // A newer name planted as a symlink to another file is refused, the real one read.
        let decoy = dir.path().join("decoy.json");
        std::fs::write(&decoy, serde_json::to_vec(&rec("a.o", 99)).expect("json")).expect("decoy");
        std::os::unix::fs::symlink(&decoy, shard.join(format!("{key}.{:016x}", u64::MAX - 1)))
            .expect("symlink");
        assert_eq!(
            load(&root, "a.o").expect("record").detail,
            vec!["x".repeat(5)]
        );
        // A shard others can write is not read at all.
        std::fs::set_permissions(&shard, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        assert!(load(&root, "a.o").is_none());
    }
}
