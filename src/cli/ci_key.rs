//! `toolchainkit ci key [--restore-keys] [--explain] [--compiler NAME]...`: a CI cache key
//! that changes exactly when cached results could no longer be reused.
//!
//! The key is `toolchainkit-TOOL-OS-ARCH-DIGEST`, the digest a SHA-256 over: the format,
//! OS and architecture, this binary's version, the cache tool and its version, each real
//! compiler found (`cc c++ gcc g++ clang clang++`, `CC`/`CXX`, `--compiler`) by the
//! content of its binary and its `--version` line, and the settings that change what a
//! compile's cache key is (`[ccache]` `compiler_check`, `sloppiness`, `hash_dir`,
//! whether `base_dir` is set; `[sccache]` `direct`, `basedirs`). Nothing in it depends on
//! the checkout path, the time or the run, so every run of one configuration on one
//! toolchain computes the same key, and a new compiler computes another.
//!
//! `--restore-keys` prints the prefixes a job falls back to, most specific first: this
//! branch's caches, the default branch's (a pull request restores main's), any of the
//! key. The save key the action uses is `KEY-BRANCH-RUN` (GitHub's caches are immutable,
//! so each run saves a new one; trimmed, each holds only what one build used).

use std::ffi::OsString;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::config::{Config, Tool};
use crate::resolve::{self, SelfId};

/// The compiler names every key looks at, when they are installed.
const NAMES: &[&str] = &["cc", "c++", "gcc", "g++", "clang", "clang++"];

/// One input of the key: a name and its value, shown by `--explain`.
pub type Part = (String, String);

/// The key's inputs for this configuration, working directory and `PATH`.
pub fn parts(cfg: &Config, cwd: &Path, tool: Option<Tool>, extra: &[OsString]) -> Vec<Part> {
    let mut out: Vec<Part> = vec![
        ("format".into(), "1".into()),
        ("os".into(), std::env::consts::OS.into()),
        ("arch".into(), std::env::consts::ARCH.into()),
        ("toolchainkit".into(), env!("CARGO_PKG_VERSION").into()),
    ];
    let path_var = std::env::var_os("PATH");
    match tool {
        Some(t) => {
            out.push(("tool".into(), t.name().into()));
            let version = crate::backend::find_tool(t, path_var.as_deref(), cwd)
                .and_then(|exe| version_line(&exe))
                .unwrap_or_else(|| "not installed".into());
            out.push(("tool.version".into(), version));
        }
        None => out.push(("tool".into(), "none".into())),
    }
    let mut names: Vec<OsString> = NAMES.iter().map(OsString::from).collect();
    for var in ["CC", "CXX"] {
        if let Some(v) = crate::paths::var_nonempty(var) {
            names.push(v);
        }
    }
    names.extend(extra.iter().cloned());
    let me = SelfId::current();
    for name in names {
        let label = name.to_string_lossy().into_owned();
        if out.iter().any(|(k, _)| *k == format!("compiler.{label}")) {
            continue;
        }
        let value = match resolve::resolve(&name, path_var.as_deref(), cwd, me) {
            Ok(r) => compiler_identity(&r.real),
            Err(_) => "absent".into(),
        };
        out.push((format!("compiler.{label}"), value));
    }
    let c = &cfg.ccache.value;
    if tool == Some(Tool::Ccache) {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "default".into());
        out.push((
            "ccache.compiler_check".into(),
            opt(c.compiler_check.clone()),
        ));
        out.push((
            "ccache.sloppiness".into(),
            opt(c.sloppiness.as_ref().map(|s| {
                let mut s = s.clone();
                s.sort();
                s.join(",")
            })),
        ));
        out.push((
            "ccache.hash_dir".into(),
            opt(c.hash_dir.map(|b| b.to_string())),
        ));
        // The path itself differs per checkout; whether paths are rewritten does not.
        out.push(("ccache.base_dir".into(), c.base_dir.is_some().to_string()));
    }
    if tool == Some(Tool::Sccache) {
        let s = &cfg.sccache.value;
        out.push((
            "sccache.direct".into(),
            s.direct.map_or_else(|| "default".into(), |b| b.to_string()),
        ));
        out.push((
            "sccache.basedirs".into(),
            s.basedirs.as_ref().map_or(0, Vec::len).to_string(),
        ));
    }
    out
}

/// A real compiler as the key sees it: a digest of its binary (after symlinks) and the
/// first line of `--version` (the driver alone may not change when its back end does).
fn compiler_identity(real: &Path) -> String {
    let target = std::fs::canonicalize(real).unwrap_or_else(|_| real.to_path_buf());
    let digest = file_digest(&target).unwrap_or_else(|| "unreadable".into());
    let version = version_line(real).unwrap_or_else(|| "no --version".into());
    format!("{digest} {version}")
}

fn file_digest(p: &Path) -> Option<String> {
    let mut f = std::fs::File::open(p).ok()?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Some(crate::paths::short_hex(&h.finalize()))
}

/// The first line of `PROGRAM --version`, without the guard of an outer compile.
fn version_line(exe: &Path) -> Option<String> {
    let out = Command::new(exe)
        .arg("--version")
        .env_remove("TOOLCHAINKIT_GUARD")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .next()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
}

/// The key for these inputs (pure).
pub fn key(parts: &[Part]) -> String {
    let mut h = Sha256::new();
    for (k, v) in parts {
        h.update(k.as_bytes());
        h.update(b"=");
        h.update(v.as_bytes());
        h.update(b"\n");
    }
    let get = |name: &str| {
        parts
            .iter()
            .find(|(k, _)| k == name)
            .map_or("unknown", |(_, v)| v.as_str())
    };
    format!(
        "toolchainkit-{}-{}-{}-{}",
        get("tool"),
        get("os"),
        get("arch"),
        crate::paths::short_hex(&h.finalize())
    )
}

/// The branch this job builds and the default branch, from the CI's variables: GitHub
/// (`GITHUB_HEAD_REF` on a pull request, else `GITHUB_REF_NAME`; the default branch only
/// when the action passes `TOOLCHAINKIT_DEFAULT_BRANCH`) and GitLab
/// (`CI_MERGE_REQUEST_SOURCE_BRANCH_NAME`, `CI_COMMIT_REF_NAME`, `CI_DEFAULT_BRANCH`).
pub fn branches(var: impl Fn(&str) -> Option<String>) -> (Option<String>, Option<String>) {
    let first = |names: &[&str]| names.iter().find_map(|n| var(n).filter(|v| !v.is_empty()));
    let this = first(&[
        "GITHUB_HEAD_REF",
        "GITHUB_REF_NAME",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
        "CI_COMMIT_REF_NAME",
    ]);
    let default = first(&["TOOLCHAINKIT_DEFAULT_BRANCH", "CI_DEFAULT_BRANCH"]);
    (this, default)
}

/// The prefixes to restore from, most specific first (pure).
pub fn restore_keys(key: &str, this: Option<&str>, default: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    for b in [this, default].into_iter().flatten() {
        let k = format!("{key}-{b}-");
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out.push(format!("{key}-"));
    out
}

pub fn run(restore: bool, explain: bool, compilers: &[OsString]) -> anyhow::Result<i32> {
    let (cwd, cfg) = super::load_config()?;
    let tool = super::env::configured_tool(&cfg, &cwd).ok();
    let parts = parts(&cfg, &cwd, tool, compilers);
    let k = key(&parts);
    if restore {
        let (this, default) = branches(|n| std::env::var(n).ok());
        for r in restore_keys(&k, this.as_deref(), default.as_deref()) {
            println!("{r}");
        }
    } else {
        println!("{k}");
    }
    if explain {
        for (name, value) in &parts {
            eprintln!("{name} = {value}");
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_names_its_tool_and_platform_and_digests_every_part() {
        let p = |v: &str| -> Vec<Part> {
            vec![
                ("tool".into(), "ccache".into()),
                ("os".into(), "linux".into()),
                ("arch".into(), "x86_64".into()),
                ("compiler.cc".into(), v.into()),
            ]
        };
        let a = key(&p("abc gcc 12"));
        assert!(a.starts_with("toolchainkit-ccache-linux-x86_64-"), "{a}");
        assert_eq!(a, key(&p("abc gcc 12")));
        assert_ne!(a, key(&p("abd gcc 12")));
    }

    #[test]
    fn restore_keys_fall_back_from_this_branch_to_the_default_one() {
        assert_eq!(
            restore_keys("K", Some("feature/x"), Some("main")),
            ["K-feature/x-", "K-main-", "K-"]
        );
        assert_eq!(
            restore_keys("K", Some("main"), Some("main")),
            ["K-main-", "K-"]
        );
        assert_eq!(restore_keys("K", None, None), ["K-"]);
        let env = |n: &str| match n {
            "GITHUB_HEAD_REF" => Some(String::new()),
            "GITHUB_REF_NAME" => Some("main".to_string()),
            "CI_DEFAULT_BRANCH" => Some("trunk".to_string()),
            _ => None,
        };
        assert_eq!(
            branches(env),
            (Some("main".to_string()), Some("trunk".to_string()))
        );
    }
}
