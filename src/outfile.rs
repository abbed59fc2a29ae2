//! Writing a file the user named on the command line (`trace --html/--svg/--chrome PATH`,
//! `cmake --write PATH`), safely in a directory others may write.
//!
//! The output is written to a new file in the same directory (`O_EXCL`, a fresh name) and
//! renamed over PATH, so a reader never sees half a file and nothing at PATH is written
//! through. A symlink at PATH is followed only when it is the user's own (a link they made
//! on purpose, e.g. into a web root); one planted by somebody else in a shared directory
//! is refused, so it cannot make the user overwrite their own file. A regular file of
//! somebody else's at PATH is refused too, rather than replaced. A new file gets the mode
//! a plain `open(O_CREAT, 0666)` would (the umask applies); a replaced file of the user's
//! keeps its mode.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::escape;
use crate::paths;

fn refused(path: &Path, why: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("{}: {why}", escape::path(path)),
    )
}

/// Where the bytes for `path` go: `path` itself, or the end of a chain of the user's own
/// symlinks (any link of anybody else's on the way is refused), with the mode an existing
/// regular file there has.
fn destination(path: &Path) -> io::Result<(PathBuf, Option<u32>)> {
    let uid = paths::uid();
    let mut cur = path.to_path_buf();
    for _ in 0..40 {
        let meta = match fs::symlink_metadata(&cur) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((cur, None)),
            Err(e) => return Err(e),
        };
        if !meta.file_type().is_symlink() {
            return judge_existing(&cur, &meta).map(|mode| (cur, mode));
        }
        if meta.uid() != uid {
            return Err(refused(
                &cur,
                format!(
                    "a symlink owned by uid {}, not by you (uid {uid}): not followed; remove it or write elsewhere",
                    meta.uid()
                ),
            ));
        }
        // The user's own link: write where it points.
        let target = fs::read_link(&cur)?;
        cur = match cur.parent() {
            Some(d) if target.is_relative() => d.join(target),
            _ => target,
        };
    }
    Err(refused(path, "too many levels of symlinks".into()))
}

fn judge_existing(path: &Path, meta: &fs::Metadata) -> io::Result<Option<u32>> {
    let uid = paths::uid();
    if !meta.is_file() {
        return Err(refused(path, "not a regular file".into()));
    }
    if meta.uid() != uid {
        return Err(refused(
            path,
            format!(
                "owned by uid {}, not by you (uid {uid}): not replaced",
                meta.uid()
            ),
        ));
    }
    Ok(Some(meta.mode() & 0o7777))
}

fn umask() -> u32 {
    // SAFETY: umask cannot fail; it is set back at once (the management CLI runs no other
    // thread that creates files meanwhile).
    unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m as u32
    }
}

/// Write `bytes` to the file the user named as `path` (see the module comment); returns
/// where they were written.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let (dest, mode) = destination(path)?;
    let dir = dest
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = dest
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let (mut f, tmp): (File, PathBuf) =
        crate::private::create_unique(dir, &format!(".{name}.tmp"))?;
    let mode = mode.unwrap_or(0o666 & !umask());
    let result = f
        .write_all(bytes)
        .and_then(|()| f.set_permissions(fs::Permissions::from_mode(mode)))
        .and_then(|()| f.sync_all())
        .and_then(|()| fs::rename(&tmp, &dest));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_through_a_new_file_and_follows_only_own_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("out.html");
        write(&p, b"one").expect("new");
        let ino = fs::metadata(&p).expect("meta").ino();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).expect("chmod");
        write(&p, b"two").expect("replace");
        let m = fs::metadata(&p).expect("meta");
        assert_eq!(fs::read(&p).expect("read"), b"two");
        assert_ne!(m.ino(), ino, "a new file was renamed over it");
        assert_eq!(m.mode() & 0o777, 0o640, "the mode is kept");
        // The user's own link is followed; the link stays.
        let target = dir.path().join("real.html");
        let link = dir.path().join("link.html");
        std::os::unix::fs::symlink(&target, &link).expect("link");
        assert_eq!(write(&link, b"via").expect("via link"), target);
        assert_eq!(fs::read(&target).expect("read"), b"via");
        assert!(
            fs::symlink_metadata(&link)
                .expect("meta")
                .file_type()
                .is_symlink()
        );
        // Nothing is left behind.
        let left: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        assert!(write(dir.path(), b"x").is_err(), "a directory is refused");
    }
}
