//! Where toolchainkit keeps its files: XDG base directories with the usual fallbacks.
//!
//! Every function here reads only environment variables (no file system access), so the
//! hot path can call them freely.

use std::ffi::OsString;
use std::path::PathBuf;

fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// `$HOME`, if set.
pub fn home() -> Option<PathBuf> {
    env_dir("HOME")
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
        None => std::env::temp_dir().join(format!("toolchainkit-{}", uid())),
    }
}

/// The user's real id (cheap syscall, never fails).
pub fn uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// `$XDG_CONFIG_HOME/toolchainkit` (default `~/.config/toolchainkit`).
pub fn config_dir() -> PathBuf {
    xdg("XDG_CONFIG_HOME", &[".config"]).join("toolchainkit")
}

/// The user-level configuration file.
pub fn user_config_file() -> PathBuf {
    config_dir().join("config.toml")
}

/// `$XDG_STATE_HOME/toolchainkit` (default `~/.local/state/toolchainkit`): stats, logs.
pub fn state_dir() -> PathBuf {
    xdg("XDG_STATE_HOME", &[".local", "state"]).join("toolchainkit")
}

/// `$XDG_DATA_HOME/toolchainkit` (default `~/.local/share/toolchainkit`): managed tools, shims.
pub fn data_dir() -> PathBuf {
    xdg("XDG_DATA_HOME", &[".local", "share"]).join("toolchainkit")
}

/// Directory for sccache server sockets and their start locks. Short, because a unix
/// socket path is limited to 107 bytes: `$TOOLCHAINKIT_RUNTIME_DIR`, else
/// `$XDG_RUNTIME_DIR/toolchainkit`, else `/tmp/toolchainkit-UID`.
pub fn runtime_dir() -> PathBuf {
    if let Some(d) = env_dir("TOOLCHAINKIT_RUNTIME_DIR") {
        return d;
    }
    if let Some(d) = env_dir("XDG_RUNTIME_DIR") {
        return d.join("toolchainkit");
    }
    PathBuf::from(format!("/tmp/toolchainkit-{}", uid()))
}

/// The directory of tools installed by `toolchainkit tool install`.
pub fn tools_dir() -> PathBuf {
    data_dir().join("tools")
}

/// An environment variable as an `OsString`, treating empty as unset.
pub fn var_nonempty(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}
