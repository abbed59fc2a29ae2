//! Creating and opening toolchainkit's own directories and files safely on a machine
//! shared with other users. Every file or directory toolchainkit creates or trusts goes
//! through here.
//!
//! - A *private directory* (state, runtime, tools, default stats) is created with mode
//!   0700; an existing one must be a real directory (not a symlink) owned by this user.
//!   A wider mode on a directory that is ours is narrowed to 0700; one owned by anybody
//!   else is refused, and the caller goes on without it (compile uncached, recorded).
//! - A *trusted directory* (one the user configured, e.g. the directory of `[stats] file`)
//!   must be owned by this user or root and must not be writable by others unless it is
//!   sticky (like `/tmp`, where others cannot rename or delete what is ours).
//! - Files are opened with `O_NOFOLLOW` (a planted symlink is refused, never followed) and
//!   `O_NONBLOCK` (opening a FIFO never blocks), then checked on the open descriptor (no
//!   race between check and use): a regular file owned by this user. New files are created
//!   with `O_EXCL` under a fresh name and mode 0600; moving a file aside never replaces
//!   another (`RENAME_NOREPLACE`).
//!
//! Refusals are `io::Error`s of kind `PermissionDenied` whose message says why, for the
//! log and for `doctor`.

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::paths;

fn refused(path: &Path, why: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("{}: {why}", path.display()),
    )
}

fn is_sticky(mode: u32) -> bool {
    mode & 0o1000 != 0
}

fn open_dir_nofollow(dir: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(dir)
}

/// Why an existing directory (its metadata read from an open descriptor) is not private
/// to `uid`, or `None` when it is ours.
pub(crate) fn judge_private_dir(meta: &fs::Metadata, uid: u32) -> Option<String> {
    if !meta.is_dir() {
        return Some("not a directory".into());
    }
    if meta.uid() != uid {
        return Some(format!(
            "owned by uid {}, not by you (uid {uid}): another user may control it",
            meta.uid()
        ));
    }
    None
}

/// Make sure `dir` exists as a directory private to this user (see the module comment),
/// creating it and its missing parents with mode 0700.
pub(crate) fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    let uid = paths::uid();
    for _ in 0..3 {
        match open_dir_nofollow(dir) {
            Ok(f) => {
                let meta = f.metadata()?;
                if let Some(why) = judge_private_dir(&meta, uid) {
                    return Err(refused(dir, why));
                }
                if meta.mode() & 0o077 != 0 {
                    f.set_permissions(fs::Permissions::from_mode(0o700))
                        .map_err(|e| refused(dir, format!("cannot make it private: {e}")))?;
                }
                return Ok(());
            }
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(refused(dir, "a symlink where a directory was expected"));
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
                return Err(refused(dir, "not a directory"));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(parent) = dir.parent()
                    && !parent.as_os_str().is_empty()
                {
                    fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(parent)?;
                }
                match fs::DirBuilder::new().mode(0o700).create(dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(refused(dir, "keeps changing while it is checked"))
}

/// `ensure_private_dir` for `base` and then each of `subdirs` below it, in order;
/// returns the deepest directory.
pub(crate) fn ensure_private_tree(base: &Path, subdirs: &[&str]) -> io::Result<PathBuf> {
    ensure_private_dir(base)?;
    let mut dir = base.to_path_buf();
    for s in subdirs {
        dir.push(s);
        ensure_private_dir(&dir)?;
    }
    Ok(dir)
}

/// Why a directory the user configured cannot hold toolchainkit's files (pure): it must
/// be owned by `uid` or root, and not writable by others unless sticky.
pub(crate) fn judge_trusted_dir(meta: &fs::Metadata, uid: u32) -> Option<String> {
    if !meta.is_dir() {
        return Some("not a directory".into());
    }
    if meta.uid() != uid && meta.uid() != 0 {
        return Some(format!(
            "owned by uid {}, neither you (uid {uid}) nor root",
            meta.uid()
        ));
    }
    if meta.mode() & 0o002 != 0 && !is_sticky(meta.mode()) {
        return Some(format!(
            "writable by every user (mode {:o}) and not sticky",
            meta.mode() & 0o7777
        ));
    }
    None
}

/// Check a configured directory with `judge_trusted_dir`, creating it (0700) when missing.
pub(crate) fn ensure_trusted_dir(dir: &Path) -> io::Result<()> {
    let f = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
            return ensure_private_dir(dir);
        }
        Err(e) => return Err(e),
    };
    match judge_trusted_dir(&f.metadata()?, paths::uid()) {
        Some(why) => Err(refused(dir, why)),
        None => Ok(()),
    }
}

/// Check, without creating or changing anything, that `path` and each of its ancestors
/// below `base` (inclusive) are ours and that nobody else can write them: every directory
/// a real directory (not a symlink) owned by this user and not writable by group or
/// others; `path` itself, when it is a file, a regular file owned by this user or root and
/// not writable by group or others. For binaries toolchainkit itself installed, before
/// running them.
pub(crate) fn check_owned_path(base: &Path, path: &Path) -> io::Result<()> {
    let uid = paths::uid();
    let rest = path
        .strip_prefix(base)
        .map_err(|_| refused(path, "outside its base"))?;
    let mut cur = base.to_path_buf();
    let check = |p: &Path| -> io::Result<()> {
        let m = fs::symlink_metadata(p)?;
        let why = if m.file_type().is_symlink() {
            Some("a symlink".to_string())
        } else if m.is_dir() && m.uid() != uid {
            Some(format!("owned by uid {}, not by you (uid {uid})", m.uid()))
        } else if m.is_file() && m.uid() != uid && m.uid() != 0 {
            Some(format!("owned by uid {}, neither you nor root", m.uid()))
        } else if m.mode() & 0o022 != 0 {
            Some(format!("writable by others (mode {:o})", m.mode() & 0o7777))
        } else {
            None
        };
        why.map_or(Ok(()), |w| Err(refused(p, w)))
    };
    check(&cur)?;
    for c in rest.components() {
        cur.push(c);
        check(&cur)?;
    }
    Ok(())
}

/// How to open a file of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    ReadWrite,
    Append,
}

fn options(access: Access) -> OpenOptions {
    let mut o = OpenOptions::new();
    match access {
        Access::Read => o.read(true),
        Access::ReadWrite => o.read(true).write(true),
        Access::Append => o.append(true),
    };
    o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
    o
}

/// Check an opened file: a regular file owned by this user. Clears `O_NONBLOCK`.
fn vet(path: &Path, f: File) -> io::Result<File> {
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(refused(path, "not a regular file"));
    }
    if meta.uid() != paths::uid() {
        return Err(refused(
            path,
            format!(
                "owned by uid {}, not by you (uid {})",
                meta.uid(),
                paths::uid()
            ),
        ));
    }
    // SAFETY: fcntl on a descriptor we own; clearing O_NONBLOCK keeps the others.
    unsafe {
        let fd = f.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(f)
}

fn symlink_refusal(path: &Path, e: io::Error) -> io::Error {
    if e.raw_os_error() == Some(libc::ELOOP) {
        refused(path, "a symlink where a file was expected (not followed)")
    } else if e.raw_os_error() == Some(libc::ENXIO) {
        refused(path, "not a regular file")
    } else {
        e
    }
}

/// Open an existing file that must be ours (regular, owned by this user, not a symlink).
pub(crate) fn open_own(path: &Path, access: Access) -> io::Result<File> {
    let f = options(access)
        .open(path)
        .map_err(|e| symlink_refusal(path, e))?;
    vet(path, f)
}

/// Read the whole of a file that must be ours (never blocks on a FIFO, never follows a
/// planted symlink).
pub(crate) fn read_own(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = open_own(path, Access::Read)?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Read a file that must be ours, as `read_own`, refusing one longer than `max` bytes
/// after reading at most `max + 1` of them (a record or marker is a few hundred bytes; something else planted
/// or grown there must not cost memory or time).
pub(crate) fn read_own_limited(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let f = open_own(path, Access::Read)?;
    let mut bytes = Vec::new();
    f.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(refused(
            path,
            format!("more than the {max} bytes such a file holds"),
        ));
    }
    Ok(bytes)
}

/// Check, with one `lstat` and without creating or changing anything, that `dir` is a
/// directory private to this user: a real directory (not a symlink), owned by this user,
/// with no permission for group or others. For the compile path, before it uses a file
/// in the directory (`own_dir` creates, narrows and refuses; this only looks).
pub(crate) fn check_private_dir(dir: &Path) -> io::Result<()> {
    let m = fs::symlink_metadata(dir)?;
    let why = if m.file_type().is_symlink() {
        Some("a symlink where a directory was expected".to_string())
    } else {
        judge_private_dir(&m, paths::uid())
    };
    if let Some(why) = why {
        return Err(refused(dir, why));
    }
    if m.mode() & 0o077 != 0 {
        return Err(refused(
            dir,
            format!(
                "mode {:o}: others may have put files in it",
                m.mode() & 0o7777
            ),
        ));
    }
    Ok(())
}

/// Open a file that must be ours, creating it (mode 0600) when missing.
pub(crate) fn open_or_create_own(path: &Path, access: Access) -> io::Result<File> {
    let mut o = options(access);
    if access == Access::Read {
        o.write(true);
    }
    let f = o
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| symlink_refusal(path, e))?;
    vet(path, f)
}

/// Create a new file `DIR/PREFIX.PID.N` that did not exist before (`O_EXCL`, mode 0600).
pub(crate) fn create_unique(dir: &Path, prefix: &str) -> io::Result<(File, PathBuf)> {
    let pid = std::process::id();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for n in 0..64u32 {
        let path = dir.join(format!("{prefix}.{pid}.{}", nanos.wrapping_add(n)));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
        {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(refused(dir, "cannot create a file under a fresh name"))
}

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::other("path holds a NUL byte"))
}

/// Rename `from` to `to` unless `to` exists (`renameat2(RENAME_NOREPLACE)`; where the
/// file system lacks it, a hard link and an unlink, which also never replace).
pub(crate) fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    let (f, t) = (cstr(from)?, cstr(to)?);
    // SAFETY: two valid NUL-terminated paths; renameat2 reports failure in errno.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) => {
            fs::hard_link(from, to)?;
            fs::remove_file(from)
        }
        _ => Err(e),
    }
}

/// Make sure `dir` (one of `paths`' directories, or a directory below one) exists and
/// is private to this user, and return it. Below the shared fallback base, that base is
/// checked too, so another user's `/tmp/toolchainkit-UID` is never used.
pub(crate) fn own_dir(dir: &Path) -> io::Result<PathBuf> {
    let base = paths::fallback_base();
    if let Ok(rest) = dir.strip_prefix(&base) {
        let parts: Vec<String> = rest
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        return ensure_private_tree(&base, &parts);
    }
    ensure_private_dir(dir)?;
    Ok(dir.to_path_buf())
}

/// `own_dir` for the state directory and a subdirectory of it (`stats`, `tmp`, ...).
pub(crate) fn own_state_subdir(sub: &str) -> io::Result<PathBuf> {
    let state = own_dir(&paths::state_dir())?;
    ensure_private_tree(&state, &[sub])
}

/// Move `path` aside to `PATH.SUFFIX-SECS[-N]` (`secs`: the time now, in Unix seconds),
/// never replacing anything; returns where.
pub(crate) fn move_aside(path: &Path, suffix: &str, secs: u64) -> io::Result<PathBuf> {
    for n in 0..100u32 {
        let mut name = path.as_os_str().to_os_string();
        name.push(format!(".{suffix}-{secs}"));
        if n > 0 {
            name.push(format!("-{n}"));
        }
        let to = PathBuf::from(name);
        match rename_noreplace(path, &to) {
            Ok(()) => return Ok(to),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(refused(path, "no free name to move it aside"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_dirs_are_created_0700_and_narrowed() {
        let t = tempfile::tempdir().expect("tempdir");
        let d = t.path().join("a/b/c");
        ensure_private_dir(&d).expect("created");
        let mode = |p: &Path| fs::metadata(p).expect("stat").mode() & 0o777;
        assert_eq!(mode(&d), 0o700);
        fs::set_permissions(&d, fs::Permissions::from_mode(0o777)).expect("chmod");
        ensure_private_dir(&d).expect("ours, narrowed");
        assert_eq!(mode(&d), 0o700);
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&d, &link).expect("symlink");
        let e = ensure_private_dir(&link).expect_err("symlink refused");
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
    }

    #[test]
    fn files_must_be_regular_and_not_symlinks() {
        let t = tempfile::tempdir().expect("tempdir");
        let f = t.path().join("f");
        open_or_create_own(&f, Access::Append).expect("created");
        assert_eq!(fs::metadata(&f).expect("stat").mode() & 0o777, 0o600);
        let link = t.path().join("l");
        std::os::unix::fs::symlink(&f, &link).expect("symlink");
        assert!(open_own(&link, Access::Read).is_err());
        assert!(open_or_create_own(&link, Access::Append).is_err());
        let fifo = t.path().join("fifo");
        let c = cstr(&fifo).expect("cstr");
        // SAFETY: a valid path; mkfifo reports failure in its result.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = open_own(&fifo, Access::ReadWrite).expect_err("fifo refused");
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let e = open_or_create_own(&fifo, Access::Append).expect_err("fifo refused");
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn bounded_reads_and_the_one_lstat_check() {
        let t = tempfile::tempdir().expect("tempdir");
        let f = t.path().join("record");
        fs::write(&f, "version 1\n").expect("write");
        assert_eq!(read_own_limited(&f, 64).expect("read"), b"version 1\n");
        let e = read_own_limited(&f, 4).expect_err("too long");
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
        let fifo = t.path().join("fifo");
        let c = cstr(&fifo).expect("cstr");
        // SAFETY: a valid path; mkfifo reports failure in its result.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(
            read_own_limited(&fifo, 64).is_err(),
            "a FIFO, never blocked on"
        );

        let d = t.path().join("run");
        ensure_private_dir(&d).expect("created");
        check_private_dir(&d).expect("private");
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).expect("chmod");
        let e = check_private_dir(&d).expect_err("readable by others");
        assert!(e.to_string().contains("mode 755"), "{e}");
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&d, &link).expect("symlink");
        assert!(check_private_dir(&link).is_err(), "a link");
        assert_eq!(
            check_private_dir(&t.path().join("missing"))
                .expect_err("missing")
                .kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn moving_aside_never_replaces() {
        let t = tempfile::tempdir().expect("tempdir");
        let p = t.path().join("s");
        fs::write(&p, "one").expect("write");
        let a = move_aside(&p, "corrupt", 1_700_000_000).expect("moved");
        fs::write(&p, "two").expect("write");
        let b = move_aside(&p, "corrupt", 1_700_000_000).expect("moved");
        assert_eq!(a, t.path().join("s.corrupt-1700000000"));
        assert_eq!(b, t.path().join("s.corrupt-1700000000-1"));
        assert_eq!(fs::read_to_string(a).expect("a"), "one");
        assert_eq!(fs::read_to_string(b).expect("b"), "two");
    }

    #[test]
    fn trusted_dirs() {
        let t = tempfile::tempdir().expect("tempdir");
        let meta = fs::metadata(t.path()).expect("stat");
        assert_eq!(judge_trusted_dir(&meta, meta.uid()), None);
        assert!(judge_trusted_dir(&meta, meta.uid() + 1).is_some() || meta.uid() == 0);
        fs::set_permissions(t.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
        let meta = fs::metadata(t.path()).expect("stat");
        assert!(judge_trusted_dir(&meta, meta.uid()).is_some());
        fs::set_permissions(t.path(), fs::Permissions::from_mode(0o1777)).expect("chmod");
        let meta = fs::metadata(t.path()).expect("stat");
        assert_eq!(judge_trusted_dir(&meta, meta.uid()), None);
    }
}
