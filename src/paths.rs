//! Where toolchainkit keeps its files: XDG base directories with the usual fallbacks.
//!
//! The functions here compute paths and read only environment variables (and, when
//! `HOME` is unset, this user's `/etc/passwd` entry), so the hot path can call them
//! freely; they create nothing. Before a directory is used, `crate::private::own_dir`
//! makes sure it is private to this user: a directory another user created, at a
//! predictable name in a shared place such as `/tmp`, is refused rather than trusted.
//!
//! Without `HOME`, the home directory is this user's `/etc/passwd` entry (when it exists
//! and belongs to the user), as ccache and sccache find it; without either, everything
//! lives under `$TMPDIR/toolchainkit-UID` (default `/tmp`), which must then be ours.

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// The user's real id (cheap syscall, never fails).
pub(crate) fn uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// `$HOME`, else this user's home directory from `/etc/passwd` when it exists and is
/// owned by the user.
pub(crate) fn home() -> Option<PathBuf> {
    env_dir("HOME").or_else(passwd_home)
}

fn passwd_home() -> Option<PathBuf> {
    let home = crate::userdb::passwd_entry(uid())?.home;
    let meta = std::fs::metadata(&home).ok()?;
    (meta.is_dir() && meta.uid() == uid()).then_some(home)
}

/// The last-resort base directory, `$TMPDIR/toolchainkit-UID`: verified before use.
pub(crate) fn fallback_base() -> PathBuf {
    std::env::temp_dir().join(format!("toolchainkit-{}", uid()))
}

fn xdg(var: &str, fallback: &[&str]) -> PathBuf {
    if let Some(d) = env_dir(var) {
        return d;
    }
    match home() {
        Some(mut h) => {
            h.extend(fallback);
            h
        }
        None => fallback_base(),
    }
}

/// `$XDG_CONFIG_HOME/toolchainkit` (default `~/.config/toolchainkit`).
pub(crate) fn config_dir() -> PathBuf {
    xdg("XDG_CONFIG_HOME", &[".config"]).join("toolchainkit")
}

/// The user-level configuration file.
pub(crate) fn user_config_file() -> PathBuf {
    config_dir().join("config.toml")
}

/// `$XDG_STATE_HOME/toolchainkit` (default `~/.local/state/toolchainkit`): stats, logs.
pub(crate) fn state_dir() -> PathBuf {
    xdg("XDG_STATE_HOME", &[".local", "state"]).join("toolchainkit")
}

/// `$XDG_DATA_HOME/toolchainkit` (default `~/.local/share/toolchainkit`): managed tools, shims.
pub(crate) fn data_dir() -> PathBuf {
    xdg("XDG_DATA_HOME", &[".local", "share"]).join("toolchainkit")
}

/// Directory for sccache server sockets and their start locks. Short, because a unix
/// socket path is limited to 107 bytes: `$TOOLCHAINKIT_RUNTIME_DIR`, else
/// `$XDG_RUNTIME_DIR/toolchainkit`, else `$TMPDIR/toolchainkit-UID`.
pub(crate) fn runtime_dir() -> PathBuf {
    if let Some(d) = env_dir("TOOLCHAINKIT_RUNTIME_DIR") {
        return d;
    }
    if let Some(d) = env_dir("XDG_RUNTIME_DIR") {
        return d.join("toolchainkit");
    }
    fallback_base()
}

/// The directory of tools installed by `toolchainkit tool install`.
pub(crate) fn tools_dir() -> PathBuf {
    data_dir().join("tools")
}

/// An environment variable as an `OsString`, treating empty as unset.
pub(crate) fn var_nonempty(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// The first 8 bytes of a digest as 16 hex digits: the short names of per-project and
/// per-settings files (stats files, server sockets, client configs).
pub(crate) fn short_hex(digest: &[u8]) -> String {
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
