//! The outcome of one sccache compile, read from its server's log.
//!
//! sccache's reply carries no hit or miss, but its server logs one line per compile it
//! ran, before it replies (`src/server.rs`, `start_compile_task`, 0.16.0):
//! `[<object basename>]: compile result: cache hit | cache miss | not cached |
//! not cacheable | compile failed | cache error`. A server toolchainkit starts gets
//! `SCCACHE_ERROR_LOG=<socket>.log` and a `SCCACHE_LOG` filter (`LOG_FILTER`) that lets
//! exactly those lines through: env_logger's `/regex` suffix is matched against each
//! message, so nothing else sccache logs (its configuration at debug level, the
//! `stats after compile result: ...` line) is written.
//!
//! Per compile (`Watch`): the log's size is noted before the request and the log is read
//! from there to its end after the reply; the lines naming this compile's object
//! basename give the outcome. The basename is all a line names, so compiles of the same
//! basename on the same server are serialised: an OFD byte-range lock (`F_OFD_SETLKW`)
//! on one lock file per server, at byte `fnv1a(basename) % 65536`, held from before the
//! request until the log was read. Different basenames almost never share a byte; when
//! they do they only wait for each other. A process that is not toolchainkit (a user's
//! own `sccache` client on the same socket) takes no lock: if its line and ours disagree
//! the outcome is `Seen::Conflict`, never a guess.
//!
//! The log stays bounded: past `CAP` bytes a reader truncates it in place (the server
//! holds it `O_APPEND`, so it keeps writing at the new end). Readers hold a shared lock
//! on byte `TRUNC_BYTE` while they wait for their line; truncation needs it exclusively
//! and is put off while anyone waits, unless the log passed `2 * CAP`. Truncations bump a
//! sequence number in the lock file (odd while one runs), so a reader that a truncation
//! overlapped knows its line may be gone and reports `Seen::Lost` instead of reading
//! someone else's.
//!
//! Cost per compile: open the lock file and the log, two `fcntl` locks, two 8-byte
//! `pread`s of the sequence number, one `fstat`, and one read of the log lines written
//! during the compile (about 80 bytes per concurrent compile).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// `SCCACHE_LOG` for servers toolchainkit starts: debug lines of `sccache::server` that
/// are compile results, nothing else (the regex may not contain `/`).
pub const LOG_FILTER: &str = r"sccache::server=debug/^\[.*\]: compile result: [a-z ]+$";

/// Truncate the log when it is larger than this.
pub const CAP: u64 = 4 * 1024 * 1024;

/// Lock bytes for basenames: `0..BASENAME_SLOTS`.
const BASENAME_SLOTS: u64 = 65_536;
/// Readers share it; a truncation takes it alone.
const TRUNC_BYTE: i64 = 65_536;
/// Serialises truncations.
const TRUNCATER_BYTE: i64 = 65_537;
/// Where the truncation sequence number lives in the lock file (data, not a lock range).
const SEQ_OFFSET: u64 = 0;

/// What sccache's server said about one compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Result {
    Hit,
    Miss,
    /// `SCCACHE_NO_CACHE` was set: compiled, not looked up or stored.
    NotCached,
    NotCacheable,
    CompileFailed,
    /// The preprocessor failed (the only source of sccache's `CompileResult::Error`).
    CacheError,
}

impl Result {
    fn parse(word: &str) -> Option<Result> {
        Some(match word {
            "cache hit" => Result::Hit,
            "cache miss" => Result::Miss,
            "not cached" => Result::NotCached,
            "not cacheable" => Result::NotCacheable,
            "compile failed" => Result::CompileFailed,
            "cache error" => Result::CacheError,
            _ => return None,
        })
    }
}

/// What the log held for a compile's basename after its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// No line: the server ran no cached compile, or logged nothing (not our server, or
    /// a server started without the log).
    Nothing,
    One(Result),
    /// Lines that disagree (another client of the same server, outside the lock).
    Conflict,
    /// The log was truncated while this compile ran: its line may be gone.
    Lost,
}

/// The log, lock file and the names derived from a socket.
pub fn log_path(sock: &Path) -> PathBuf {
    sock.with_extension("log")
}

fn lock_path(sock: &Path) -> PathBuf {
    sock.with_extension("olock")
}

/// The basename sccache names a gcc/clang compile by (`output_pretty`): the file name of
/// `-o X` (the last one), else the single source's name with extension `.o`. `None`
/// when it cannot be known from the arguments alone (a response file, no or several
/// sources).
pub fn object_basename(a: &crate::args::Args<'_>) -> Option<String> {
    if a.response_file {
        return None;
    }
    let name = match a.output {
        Some(o) => Path::new(o).file_name()?.to_str()?.to_string(),
        None => {
            let [src] = a.sources[..] else {
                return None;
            };
            Path::new(src)
                .with_extension("o")
                .file_name()?
                .to_str()?
                .to_string()
        }
    };
    (!name.is_empty()).then_some(name)
}

/// The lines of `text` that are compile results for `basename`.
pub fn results_for(text: &[u8], basename: &str) -> Seen {
    let needle = format!("[{basename}]: compile result: ");
    let mut seen = Seen::Nothing;
    for line in text.split(|&b| b == b'\n') {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        // env_logger's default format: `[TIME LEVEL sccache::server] MESSAGE`.
        let Some(msg) = line.find("sccache::server] ").map(|i| &line[i + 17..]) else {
            continue;
        };
        let Some(word) = msg.strip_prefix(needle.as_str()) else {
            continue;
        };
        let Some(r) = Result::parse(word.trim_end()) else {
            continue;
        };
        seen = match seen {
            Seen::Nothing => Seen::One(r),
            Seen::One(prev) if prev == r => Seen::One(r),
            _ => Seen::Conflict,
        };
    }
    seen
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// An OFD lock of one byte. `wait`: block until granted (restarting after signals).
fn ofd_lock(f: &File, byte: i64, kind: libc::c_int, wait: bool) -> io::Result<()> {
    // SAFETY: a zeroed flock is valid; the fields set are plain integers.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = byte as libc::off_t;
    fl.l_len = 1;
    let cmd = if wait {
        libc::F_OFD_SETLKW
    } else {
        libc::F_OFD_SETLK
    };
    loop {
        // SAFETY: fcntl with a valid descriptor and a pointer to a live flock.
        if unsafe { libc::fcntl(f.as_raw_fd(), cmd, &fl) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn read_seq(f: &File) -> u64 {
    let mut b = [0u8; 8];
    match f.read_exact_at(&mut b, SEQ_OFFSET) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => 0,
    }
}

/// One compile's watch over its server's log: taken before the request, finished after
/// the reply. Dropping it releases the locks.
pub struct Watch {
    lock: File,
    log: File,
    start: u64,
    seq: u64,
    basename: String,
    sock: PathBuf,
}

impl Watch {
    /// Lock `basename` on the server at `sock` and note where its log ends. `None` when
    /// the server has no log (not started by toolchainkit with one) or the lock file
    /// cannot be used: the caller records the compile as forwarded.
    pub fn begin(sock: &Path, basename: &str) -> Option<Watch> {
        let log = match File::open(log_path(sock)) {
            Ok(f) => f,
            Err(e) => {
                log::debug!("no sccache log for {}: {e}", sock.display());
                return None;
            }
        };
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(lock_path(sock))
            .inspect_err(|e| log::warn!("sccache outcome lock: {e}"))
            .ok()?;
        let slot = (fnv1a(basename.as_bytes()) % BASENAME_SLOTS) as i64;
        ofd_lock(&lock, slot, libc::F_WRLCK, true)
            .inspect_err(|e| log::warn!("sccache outcome lock: {e}"))
            .ok()?;
        // Put truncations off while this compile runs (a truncation in progress holds it
        // alone: then the sequence number tells).
        let _ = ofd_lock(&lock, TRUNC_BYTE, libc::F_RDLCK, false);
        let seq = read_seq(&lock);
        let start = log.metadata().map(|m| m.len()).unwrap_or(0);
        Some(Watch {
            lock,
            log,
            start,
            seq,
            basename: basename.to_string(),
            sock: sock.to_path_buf(),
        })
    }

    /// Read what the server logged for this compile since `begin`, then release the
    /// locks (truncating the log first if it is due).
    pub fn finish(self) -> Seen {
        let size = self.log.metadata().map(|m| m.len()).unwrap_or(0);
        let from = if size < self.start { 0 } else { self.start };
        let mut text = vec![0u8; usize::try_from(size - from).unwrap_or(0)];
        let got = read_at_most(&self.log, &mut text, from);
        text.truncate(got);
        let seq = read_seq(&self.lock);
        let seen = if seq != self.seq || self.seq % 2 == 1 {
            Seen::Lost
        } else {
            results_for(&text, &self.basename)
        };
        if size > CAP {
            self.truncate(size);
        }
        seen
    }

    fn truncate(&self, size: u64) {
        if ofd_lock(&self.lock, TRUNCATER_BYTE, libc::F_WRLCK, true).is_err() {
            return;
        }
        // Our own shared lock converts to an exclusive one only if no one else waits.
        let alone = ofd_lock(&self.lock, TRUNC_BYTE, libc::F_WRLCK, false).is_ok();
        if !alone && size < 2 * CAP {
            return;
        }
        // Re-check under the truncater lock: another reader may have done it.
        let now = File::open(log_path(&self.sock))
            .and_then(|f| f.metadata())
            .map_or(0, |m| m.len());
        if now <= CAP {
            return;
        }
        let seq = read_seq(&self.lock);
        let bump = |v: u64| {
            let _ = self.lock.write_all_at(&v.to_le_bytes(), SEQ_OFFSET);
        };
        bump(seq | 1);
        match OpenOptions::new().write(true).open(log_path(&self.sock)) {
            Ok(f) => {
                if let Err(e) = f.set_len(0) {
                    log::warn!("cannot truncate the sccache log: {e}");
                }
            }
            Err(e) => log::warn!("cannot truncate the sccache log: {e}"),
        }
        bump((seq | 1) + 1);
        log::info!(
            "truncated the sccache log {} at {now} bytes",
            log_path(&self.sock).display()
        );
    }
}

fn read_at_most(f: &File, buf: &mut [u8], mut off: u64) -> usize {
    let mut done = 0;
    while done < buf.len() {
        match f.read_at(&mut buf[done..], off) {
            Ok(0) => break,
            Ok(n) => {
                done += n;
                off += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<std::ffi::OsString> {
        v.iter().map(std::ffi::OsString::from).collect()
    }

    #[test]
    fn basenames_as_sccache_names_them() {
        let table: &[(&[&str], Option<&str>)] = &[
            (&["-c", "src/a.c", "-o", "out/x.o"], Some("x.o")),
            (&["-c", "src/a.c", "-oout/y.o"], Some("y.o")),
            (&["-c", "src/a.c"], Some("a.o")),
            (&["-c", "src/a.cpp", "-o", "a.cpp.o"], Some("a.cpp.o")),
            (&["-c", "a.c", "-o", "1.o", "-o", "2.o"], Some("2.o")),
            (&["-c", "a.c", "b.c"], None),
            (&["@args.rsp"], None),
            (&["-c", "a.c", "-o", "-"], Some("-")),
        ];
        for (args, want) in table {
            assert_eq!(
                object_basename(&crate::args::parse(&os(args))).as_deref(),
                *want,
                "{args:?}"
            );
        }
    }

    const LOG: &str = "sccache: Starting the server...\n\
        [2026-11-28T18:27:58Z DEBUG sccache::server] [a.o]: compile result: cache miss\n\
        [2026-11-28T18:27:58Z DEBUG sccache::server] [xa.o]: compile result: cache hit\n\
        [2026-11-28T18:27:58Z DEBUG sccache::server] [b.o]: compile result: cache error\n\
        [2026-11-28T18:27:59Z DEBUG sccache::server] [c.o]: compile result: cache hit\n\
        [2026-11-28T18:27:59Z DEBUG sccache::server] [c.o]: compile result: cache hit\n\
        [2026-11-28T18:27:59Z DEBUG sccache::server] [d.o]: compile result: cache hit\n\
        [2026-11-28T18:27:59Z DEBUG sccache::server] [d.o]: compile result: cache miss\n";

    #[test]
    fn lines_give_outcomes() {
        let t = LOG.as_bytes();
        assert_eq!(results_for(t, "a.o"), Seen::One(Result::Miss));
        assert_eq!(results_for(t, "xa.o"), Seen::One(Result::Hit));
        assert_eq!(results_for(t, "b.o"), Seen::One(Result::CacheError));
        assert_eq!(
            results_for(t, "c.o"),
            Seen::One(Result::Hit),
            "agreeing lines"
        );
        assert_eq!(results_for(t, "d.o"), Seen::Conflict);
        assert_eq!(results_for(t, "e.o"), Seen::Nothing);
        // A torn last line (no newline yet) still counts once it is complete.
        assert_eq!(
            results_for(
                b"[T DEBUG sccache::server] [e.o]: compile result: not cacheable",
                "e.o"
            ),
            Seen::One(Result::NotCacheable)
        );
    }

    #[test]
    fn watch_reads_only_what_came_after_it_and_truncates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sock = dir.path().join("s.sock");
        let log = log_path(&sock);
        std::fs::write(&log, LOG).expect("log");
        let w = Watch::begin(&sock, "a.o").expect("watch");
        let mut f = OpenOptions::new().append(true).open(&log).expect("append");
        use std::io::Write;
        f.write_all(b"[T DEBUG sccache::server] [a.o]: compile result: cache hit\n")
            .expect("write");
        assert_eq!(w.finish(), Seen::One(Result::Hit));
        // Past the cap, a reader truncates the log; the next one reads from the start.
        let big = vec![b'x'; (CAP + 1) as usize];
        let w = Watch::begin(&sock, "z.o").expect("watch");
        f.write_all(&big).expect("fill");
        f.write_all(b"\n[T DEBUG sccache::server] [z.o]: compile result: cache miss\n")
            .expect("write");
        assert_eq!(w.finish(), Seen::One(Result::Miss));
        assert_eq!(std::fs::metadata(&log).expect("log").len(), 0, "truncated");
        let w = Watch::begin(&sock, "q.o").expect("watch");
        f.write_all(b"[T DEBUG sccache::server] [q.o]: compile result: not cached\n")
            .expect("write");
        assert_eq!(w.finish(), Seen::One(Result::NotCached));
        // A truncation that overlaps a compile: its line may be gone.
        let w = Watch::begin(&sock, "r.o").expect("watch");
        let lock = File::options()
            .read(true)
            .write(true)
            .open(lock_path(&sock))
            .expect("lock");
        let seq = read_seq(&lock);
        lock.write_all_at(&(seq + 2).to_le_bytes(), SEQ_OFFSET)
            .expect("bump");
        assert_eq!(w.finish(), Seen::Lost);
    }

    #[test]
    fn no_log_no_watch() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(Watch::begin(&dir.path().join("s.sock"), "a.o").is_none());
    }
}
