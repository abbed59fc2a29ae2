//! Which settings of a project file need the user's approval, and the record of approvals.
//!
//! A project file may arrive with a `git clone`; owning it (see `trust`) says nothing about
//! who wrote it. Settings that only shape caching apply as soon as the file is used.
//! Settings that run a program, or send a credential to an endpoint the file names, apply
//! only when the file is approved — the model is direnv's `allow` and mise's `trust`:
//!
//! - `toolchainkit trust [PATH]` records the SHA-256 of the file's content under its
//!   canonical path; any change to the file withdraws the approval until it is trusted
//!   again. `toolchainkit trust --revoke [PATH]` removes it, `--list` shows them.
//! - A file at or below a directory of `TOOLCHAINKIT_TRUSTED_DIRS` or of the user file's
//!   `[trust] dirs` is approved as it is (one line for a CI job over its own repository:
//!   `TOOLCHAINKIT_TRUSTED_DIRS=$GITHUB_WORKSPACE`).
//! - The user file and a file named by `TOOLCHAINKIT_CONFIG` are the user's own choice
//!   and are never gated.
//!
//! Gated (`risky`): `[ccache] compiler_check` when it is a command; `[cache.remote]` when
//! it references a credential (`*_env`, `key_path`), uses the environment's ambient cloud
//! credentials (S3, GCS, Azure), or passes `extra` settings to the tool; `[dist]` when it
//! sends a token (`auth_token_env`), starts ssh (`@HOST`) or authenticates with GSS-API
//! (`,auth`). An unapproved file's gated settings are withheld as if they were not
//! written: the compile runs with the other layers (a local cache instead of the remote),
//! and `stats`, `doctor`, `config` and `config check` name each one and the command that
//! approves it.
//!
//! Cost: `risky` looks at the parsed file only; the canonical path, the record (one small
//! file) and the hash of the text already read are touched only when the file has a gated
//! setting.
//!
//! The record is one file in the state directory, `trusted` (mode 0600 in a private
//! directory; refused when it is a link, another user's, or readable or writable by
//! others), one line per approval: `SHA256-HEX UNIX-SECS PATH-HEX`.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::file::FileConfig;
use crate::paths;
use crate::private::{self, Access};

/// A setting of the project file that was not applied because the file is not approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withheld {
    /// The dotted key or table (`ccache.compiler_check`, `cache.remote`, `dist`).
    pub key: String,
    /// What it would do, for the reports.
    pub why: String,
}

/// The gated settings of a parsed project file, in the file's order.
pub(crate) fn risky(file: &FileConfig<'_>) -> Vec<Withheld> {
    let mut out = Vec::new();
    if let Some(cmd) = super::keys::get("ccache.compiler_check")
        .and_then(|k| file.get(k))
        .and_then(|v| v.as_str())
        && is_command(cmd)
    {
        out.push(Withheld {
            key: "ccache.compiler_check".into(),
            why: format!("runs the command `{cmd}` for every compile"),
        });
    }
    if let Some(r) = &file.remote
        && let Some(why) = remote_risk(r)
    {
        out.push(Withheld {
            key: "cache.remote".into(),
            why,
        });
    }
    if let Some(d) = &file.dist
        && let Some(why) = dist_risk(d)
    {
        out.push(Withheld {
            key: "dist".into(),
            why,
        });
    }
    out
}

/// The key under which a project cache directory's `ccache.conf` is withheld.
pub(crate) const CCACHE_CONF: &str = "ccache.conf";

/// ccache settings that name a program it runs (ccache 4.14 manual): in a `ccache.conf`
/// that came with the project's cache directory they are the project's, not the user's.
const CCACHE_PROGRAM_KEYS: &[&str] = &["compiler", "prefix_command", "prefix_command_cpp"];

/// The largest `ccache.conf` looked into.
const MAX_CCACHE_CONF: u64 = 64 * 1024;

/// A project file's `cache.dir` whose `ccache/ccache.conf` (ccache reads it from its cache
/// directory) names a program: as the project's own settings, it needs trust too. One
/// `stat` when the file sets `cache.dir`; the `ccache.conf` is read only when it exists.
pub(crate) fn cache_conf_risk(base: &Path, file: &FileConfig<'_>) -> Option<Withheld> {
    let dir = file.get(super::keys::get("cache.dir")?)?.as_str()?;
    use std::os::unix::fs::OpenOptionsExt;
    let conf = base.join(dir).join("ccache").join("ccache.conf");
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&conf)
        .ok()
        .filter(|f| f.metadata().is_ok_and(|m| m.is_file()))?;
    let mut text = String::new();
    f.take(MAX_CCACHE_CONF).read_to_string(&mut text).ok()?;
    let key = text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        let k = k.trim();
        let named =
            CCACHE_PROGRAM_KEYS.contains(&k) || (k == "compiler_check" && is_command(v.trim()));
        named.then(|| k.to_string())
    })?;
    Some(Withheld {
        key: CCACHE_CONF.into(),
        why: format!(
            "lets ccache run the `{key}` of {} (the project's cache directory) for every compile",
            conf.display()
        ),
    })
}

/// Remove the gated settings `withheld` from `file` (as if they were not written).
pub(crate) fn strip(file: &mut FileConfig<'_>, withheld: &[Withheld]) {
    for w in withheld.iter().filter(|w| w.key != CCACHE_CONF) {
        file.remove(&w.key);
    }
}

/// ccache's `compiler_check`: `content`, `mtime`, `none` and `string:VALUE` are data;
/// anything else is a command ccache runs (ccache 4.14 manual, compiler_check).
pub(crate) fn is_command(v: &str) -> bool {
    !matches!(v.trim(), "content" | "mtime" | "none") && !v.trim().starts_with("string:")
}

fn remote_risk(r: &super::remote::FileRemote) -> Option<String> {
    use super::remote::RemoteKind;
    let endpoint = match r.keys.get("endpoint") {
        Some(toml::Value::String(s)) => s.clone(),
        Some(toml::Value::Array(a)) => a
            .iter()
            .filter_map(toml::Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        _ => r
            .keys
            .get("bucket")
            .and_then(toml::Value::as_str)
            .map_or_else(|| "its endpoint".into(), |b| format!("bucket {b}")),
    };
    let endpoint = super::remote::redact_url(&endpoint);
    let mut refs: Vec<String> = r
        .keys
        .iter()
        .filter(|(k, _)| k.ends_with("_env"))
        .filter_map(|(_, v)| v.as_str().map(|s| format!("${s}")))
        .collect();
    if let Some(p) = r.keys.get("key_path").and_then(toml::Value::as_str) {
        refs.push(format!("the key file {p}"));
    }
    if !refs.is_empty() {
        return Some(format!(
            "sends your credentials ({}) to {endpoint}, named by the project file",
            refs.join(", ")
        ));
    }
    if matches!(r.kind, RemoteKind::S3 | RemoteKind::Gcs | RemoteKind::Azure) {
        return Some(format!(
            "a {} remote signs requests to {endpoint} with the cloud credentials of your environment",
            r.kind.name()
        ));
    }
    if r.extra.as_ref().is_some_and(|e| !e.is_empty()) {
        return Some(format!(
            "passes `extra` settings to the cache tool for {endpoint}"
        ));
    }
    let ambient = ambient_sccache_credentials();
    if !ambient.is_empty() {
        return Some(format!(
            "lets sccache send your {} (set in the environment) to {endpoint}, named by the project file",
            ambient.join(", ")
        ));
    }
    None
}

/// Credentials in the environment that sccache's storage backends read themselves
/// (`SCCACHE_REDIS_PASSWORD`, `SCCACHE_WEBDAV_TOKEN`, ...; the sccache server is given
/// them): with a remote the project file names, they would go to its endpoint.
fn ambient_sccache_credentials() -> Vec<String> {
    let mut out: Vec<String> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let k = k.to_str()?;
            (k.starts_with("SCCACHE_") && !v.is_empty() && crate::secrets::is_credential_name(k))
                .then(|| format!("${k}"))
        })
        .collect();
    out.sort();
    out
}

fn dist_risk(d: &super::dist::FileDist) -> Option<String> {
    if let Some(var) = &d.auth_token_env {
        let to = d
            .scheduler_url
            .as_deref()
            .or(d.scheduler.as_deref())
            .unwrap_or("the scheduler");
        return Some(format!("sends your token ${var} to {to}"));
    }
    for h in d.hosts.iter().flatten() {
        if let Ok(host) = super::dist::parse_distcc_host(h) {
            if let super::dist::Reach::Ssh { host: name, .. } = &host.reach {
                return Some(format!("starts ssh to {name} with your identity (`{h}`)"));
            }
            if host.auth {
                return Some(format!(
                    "authenticates to `{h}` with your GSS-API credentials"
                ));
            }
        }
    }
    None
}

/// One line for the reports (escaped for a terminal): what is withheld from the project
/// file at `path`, and the one command that lets it apply.
pub(crate) fn describe(path: &Path, w: &Withheld) -> String {
    format!(
        "`{}` of {} is withheld: it {}; if you trust this file, run `{}`",
        w.key,
        crate::escape::path(path),
        crate::escape::text(&w.why),
        trust_command(path)
    )
}

/// The withheld settings as JSON (exact, unescaped).
pub(crate) fn to_json(path: Option<&Path>, withheld: &[Withheld]) -> serde_json::Value {
    serde_json::Value::Array(
        withheld
            .iter()
            .map(|w| {
                serde_json::json!({
                    "key": w.key,
                    "why": w.why,
                    "file": path.map(|p| p.display().to_string()),
                    "trust_command": path.map(trust_command),
                })
            })
            .collect(),
    )
}

/// The command that approves `path`, for the reports.
pub(crate) fn trust_command(path: &Path) -> String {
    format!(
        "toolchainkit trust {}",
        crate::escape::shell_word(&path.to_string_lossy())
    )
}

/// Is the project file at `path`, whose content is `text`, approved: below one of
/// `trusted_dirs` (`all`: everywhere), or recorded with this content?
pub(crate) fn approved(path: &Path, text: &str, trusted_dirs: &[PathBuf], all: bool) -> bool {
    if all || super::trust::under_any(path, trusted_dirs) {
        return true;
    }
    let Ok(canon) = fs::canonicalize(path) else {
        return false;
    };
    let digest = hex(&Sha256::digest(text.as_bytes()));
    match read_records() {
        Ok(records) => records
            .iter()
            .any(|r| r.path == canon && r.sha256 == digest),
        Err(e) => {
            if e.kind() != io::ErrorKind::NotFound {
                log::warn!("trust record not used: {e}");
            }
            false
        }
    }
}

/// One approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub sha256: String,
    pub since: u64,
    pub path: PathBuf,
}

/// Where approvals are recorded.
pub(crate) fn record_path() -> PathBuf {
    paths::state_dir().join("trusted")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The largest record file read (a few thousand approvals).
const MAX_RECORD: u64 = 1 << 20;

/// The approvals, from a record file that is ours and private (never a link, another
/// user's, or open to others).
pub(crate) fn read_records() -> io::Result<Vec<Record>> {
    use std::os::unix::ffi::OsStringExt;
    let path = record_path();
    let f = private::open_own(&path, Access::Read)?;
    let mode = f.metadata()?.mode();
    if mode & 0o077 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{}: mode {:o}, readable or writable by others (it must be 0600)",
                path.display(),
                mode & 0o7777
            ),
        ));
    }
    let mut text = String::new();
    f.take(MAX_RECORD).read_to_string(&mut text)?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut it = l.split(' ');
            let (sha, since, p) = (it.next()?, it.next()?, it.next()?);
            Some(Record {
                sha256: sha.to_string(),
                since: since.parse().ok()?,
                path: PathBuf::from(std::ffi::OsString::from_vec(unhex(p)?)),
            })
        })
        .collect())
}

fn write_records(records: &[Record]) -> io::Result<()> {
    let path = record_path();
    let dir = private::own_dir(&paths::state_dir())?;
    let mut text = String::new();
    for r in records {
        text.push_str(&format!(
            "{} {} {}\n",
            r.sha256,
            r.since,
            hex(r.path.as_os_str().as_bytes())
        ));
    }
    let (mut f, tmp) = private::create_unique(&dir, ".trusted.tmp")?;
    let result = f
        .write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .and_then(|()| fs::rename(&tmp, &path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Change the records under a lock (two `trust` commands at once lose nothing).
fn update(f: impl FnOnce(&mut Vec<Record>)) -> io::Result<()> {
    use fs2::FileExt;
    let dir = private::own_dir(&paths::state_dir())?;
    let lock = private::open_or_create_own(&dir.join("trusted.lock"), Access::Read)?;
    lock.lock_exclusive()?;
    let mut records = match read_records() {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    f(&mut records);
    write_records(&records)
}

/// Approve `path` with content `text` (replacing an earlier approval of the same file).
pub(crate) fn approve(path: &Path, text: &str) -> io::Result<Record> {
    let canon = fs::canonicalize(path)?;
    let rec = Record {
        sha256: hex(&Sha256::digest(text.as_bytes())),
        since: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        path: canon,
    };
    let r = rec.clone();
    update(move |all| {
        all.retain(|x| x.path != r.path);
        all.push(r);
    })?;
    Ok(rec)
}

/// Withdraw the approval of `path` (by canonical path, or as written for a file that
/// is gone): whether there was one.
pub(crate) fn revoke(path: &Path) -> io::Result<bool> {
    let canon = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut removed = false;
    update(|all| {
        let before = all.len();
        all.retain(|x| x.path != canon && x.path != path);
        removed = all.len() != before;
    })?;
    Ok(removed)
}

/// The digest of `text` as recorded.
pub(crate) fn digest(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> FileConfig<'_> {
        let doc = toml::de::DeTable::parse(text).expect("valid");
        FileConfig::new(doc.into_inner()).expect("valid")
    }

    #[test]
    fn what_is_gated() {
        let keys =
            |t: &str| -> Vec<String> { risky(&parsed(t)).into_iter().map(|w| w.key).collect() };
        assert!(keys("[ccache]\ncompiler_check = \"content\"\n").is_empty());
        assert!(keys("[ccache]\ncompiler_check = \"string:gcc-12\"\n").is_empty());
        assert_eq!(
            keys("[ccache]\ncompiler_check = \"/usr/bin/touch x\"\n"),
            ["ccache.compiler_check"]
        );
        assert!(keys("[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://h:1\"\n").is_empty());
        assert_eq!(
            keys(
                "[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://h:1\"\npassword_env = \"T\"\n"
            ),
            ["cache.remote"]
        );
        assert_eq!(
            keys("[cache.remote]\ntype = \"s3\"\nbucket = \"b\"\n"),
            ["cache.remote"]
        );
        assert_eq!(
            keys("[dist]\nengine = \"distcc\"\nhosts = [\"@box\"]\n"),
            ["dist"]
        );
        assert!(keys("[dist]\nengine = \"distcc\"\nhosts = [\"box/4\"]\n").is_empty());
    }

    #[test]
    fn hex_round_trip() {
        let b = b"/p\n\x1b\xff";
        assert_eq!(unhex(&hex(b)).as_deref(), Some(&b[..]));
        assert_eq!(unhex("abc"), None);
    }
}
