//! One record: what decided the cache key of one compiled output, as far as a wrapper can
//! see it, read after the tool compiled it (a miss, or an uncacheable compile with its
//! reason). Never built on a hit.
//!
//! What the tools hash, from their sources (ccache 4.14 `src/ccache/ccache.cpp`
//! `hash_common_info` / `calculate_result_and_manifest_key`; sccache 0.16
//! `src/compiler/c.rs` `hash_key` and `CACHED_ENV_VARS`):
//! - the compiler: ccache its size and mtime (`compiler_check = mtime`, the default) or its
//!   content; sccache its content. Recorded: resolved path, size, mtime, a content hash and
//!   the version string the binary carries (memoised by dev/ino/size/mtime, see `ident`).
//! - the arguments, but not the output (`-o`), the input, or the dependency-file options
//!   (`-MF`, `-MT`, `-MQ`); absolute paths under ccache's `base_dir` / sccache's `basedirs`
//!   are rewritten relative to the working directory, as the tools do. A `NAME=VALUE`
//!   argument whose name looks like a credential (`secrets`) is kept as a hash.
//! - the working directory, when the compile generates debug information (`-g`) and
//!   ccache's `hash_dir` is on (sccache sees it in the preprocessed output's line
//!   markers); `-fdebug-prefix-map` / `-ffile-prefix-map` applied.
//! - environment variables that decide the result's key: ccache `LANG`, `LC_ALL`,
//!   `LC_CTYPE`, `LC_MESSAGES` (unless `sloppiness` has `locale`); sccache
//!   `SCCACHE_C_CUSTOM_CACHE_BUSTER`, `SDKROOT`, the `*_DEPLOYMENT_TARGET` variables and
//!   `CCC_OVERRIDE_OPTIONS`. The include-path variables (`CPATH`, ...) both tools hash only
//!   into their direct-mode lookup; a change that matters shows in the headers.
//! - the source's content, and the headers with their contents when the compile wrote a
//!   depfile (`-MD`/`-MMD`, `-MF` or its default name), read after the compile. Without a
//!   depfile the headers are unknown (`headers: null`), never guessed.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{Config, Tool};

/// The version of the record layout.
pub(crate) const VERSION: u32 = 1;

/// The real compiler as recorded.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Compiler {
    pub path: String,
    pub size: u64,
    pub mtime_ns: i64,
    /// xxh3-128 of the binary's content.
    pub hash: String,
    /// The version the binary carries (`GCC: (Debian 12.2.0-14) 12.2.0` → `12.2.0`).
    pub version: Option<String>,
}

/// A file's name (as the record shows it) and content hash.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Hashed {
    pub path: String,
    pub hash: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    pub version: u32,
    /// The output's key: relative to the base directory or the project, else absolute.
    pub output: String,
    pub tool: String,
    /// Unix microseconds when the compile started and ended.
    pub start_us: u64,
    pub end_us: u64,
    /// The build this compile was part of (see `ident::build_id`).
    pub build: String,
    /// The tool stored the result (a miss); `false`: uncacheable, for `reason`.
    pub stored: bool,
    pub reason: Option<String>,
    pub compiler: Compiler,
    /// ccache's `compiler_check` in effect (`mtime` unless configured).
    pub compiler_check: Option<String>,
    /// The cache tool binary (path, size, mtime) and toolchainkit's settings of it that
    /// change keys: a new tool version or setting can miss on identical inputs.
    #[serde(default)]
    pub tool_id: String,
    #[serde(default)]
    pub tool_settings: Vec<String>,
    pub args: Vec<String>,
    /// The working directory, where the tool hashes it.
    pub cwd: Option<String>,
    /// Hashed variables: name → value (`None`: unset).
    pub env: BTreeMap<String, Option<String>>,
    pub source: Option<Hashed>,
    /// Header → content hash; `None`: unknown (no depfile).
    pub headers: Option<BTreeMap<String, String>>,
    /// Why this compile missed, against the record it replaced.
    pub cause: String,
    pub detail: Vec<String>,
    /// The object's size after the compile (what the cache must hold for it).
    #[serde(default)]
    pub object_bytes: u64,
    /// Wall time of the compile and of this bookkeeping, in nanoseconds.
    pub compile_ns: u64,
    pub bookkeeping_ns: u64,
}

/// ccache's hashed variables.
const CCACHE_LOCALE_VARS: &[&str] = &["LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES"];
/// sccache's `CACHED_ENV_VARS` of its result key.
const SCCACHE_VARS: &[&str] = &[
    "SCCACHE_C_CUSTOM_CACHE_BUSTER",
    "MACOSX_DEPLOYMENT_TARGET",
    "IPHONEOS_DEPLOYMENT_TARGET",
    "TVOS_DEPLOYMENT_TARGET",
    "WATCHOS_DEPLOYMENT_TARGET",
    "SDKROOT",
    "CCC_OVERRIDE_OPTIONS",
];

/// Options whose joined value is a path the tools rewrite under a base directory.
const PATH_OPTIONS: &[&str] = &[
    "-isystem",
    "-iquote",
    "-idirafter",
    "-include",
    "-imacros",
    "-isysroot",
    "--sysroot=",
    "-I",
    "-L",
];

/// How paths are shown: the working directory, the tool's base directories and the
/// project directory.
pub(crate) struct Places<'a> {
    pub cwd: &'a Path,
    pub bases: Vec<PathBuf>,
    pub project: Option<PathBuf>,
}

impl Places<'_> {
    pub(crate) fn new<'a>(cfg: &Config, tool: Tool, cwd: &'a Path) -> Places<'a> {
        let bases = match tool {
            Tool::Ccache => cfg.ccache.value.base_dir.iter().cloned().collect(),
            Tool::Sccache => cfg.sccache.value.basedirs.clone().unwrap_or_default(),
        };
        Places {
            cwd,
            bases: bases.into_iter().map(|b| lexical(&b)).collect(),
            project: cfg.project_dir().map(lexical),
        }
    }

    fn absolute(&self, p: &Path) -> PathBuf {
        lexical(&self.cwd.join(p))
    }

    fn base_of(&self, abs: &Path) -> Option<&Path> {
        self.bases
            .iter()
            .map(PathBuf::as_path)
            .filter(|b| abs.starts_with(b))
            .max_by_key(|b| b.as_os_str().len())
    }

    /// A path as the tool hashes it: under a base directory, relative to the working
    /// directory; otherwise as given.
    pub(crate) fn tool_view(&self, p: &Path) -> String {
        if p.is_absolute()
            && let Some(_) = self.base_of(&lexical(p))
        {
            return text(relative(&lexical(self.cwd), &lexical(p)).as_os_str());
        }
        text(p.as_os_str())
    }

    /// A file's name in a record, stable across checkouts: relative to the base directory
    /// or the project, else absolute.
    pub(crate) fn name(&self, p: &Path) -> String {
        let abs = self.absolute(p);
        if let Some(b) = self.base_of(&abs)
            && let Ok(r) = abs.strip_prefix(b)
        {
            return text(r.as_os_str());
        }
        if let Some(proj) = &self.project
            && let Ok(r) = abs.strip_prefix(proj)
        {
            return text(r.as_os_str());
        }
        text(abs.as_os_str())
    }
}

/// Bytes as text: UTF-8 as it is, anything else as escaped bytes (so two different
/// non-UTF-8 arguments never compare equal).
pub(crate) fn text(s: &OsStr) -> String {
    match s.to_str() {
        Some(t) => t.to_string(),
        None => s.as_encoded_bytes().escape_ascii().to_string(),
    }
}

/// `p` with `.` and `..` resolved without touching the file system.
pub(crate) fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `to` relative to the directory `from` (both absolute and lexical).
pub(crate) fn relative(from: &Path, to: &Path) -> PathBuf {
    let f: Vec<Component<'_>> = from.components().collect();
    let t: Vec<Component<'_>> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// A `NAME=VALUE` argument whose name is a credential, with its value hashed.
fn hide_credential(arg: &str) -> Option<String> {
    let (left, value) = arg.split_once('=')?;
    let name = left
        .strip_prefix("-D")
        .unwrap_or(left)
        .trim_start_matches('-');
    crate::secrets::is_credential_name(name).then(|| {
        format!(
            "{left}=<hashed {:016x}>",
            xxhash_rust::xxh3::xxh3_64(value.as_bytes())
        )
    })
}

/// The arguments as the tool hashes them (see the module comment).
pub(crate) fn hashed_args(
    args: &[OsString],
    source: Option<&OsStr>,
    places: &Places<'_>,
) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let b = a.as_encoded_bytes();
        match b {
            b"-o" | b"-MF" | b"-MT" | b"-MQ" => {
                it.next();
                continue;
            }
            _ if b.starts_with(b"-o") || b.starts_with(b"-MF") => continue,
            _ if b.starts_with(b"-MT") || b.starts_with(b"-MQ") => continue,
            _ if Some(a.as_os_str()) == source => continue,
            _ => {}
        }
        let t = text(a);
        let t = if t.starts_with('/') {
            places.tool_view(Path::new(&t))
        } else if let Some(opt) = PATH_OPTIONS
            .iter()
            .find(|o| t.len() > o.len() && t.starts_with(*o) && t[o.len()..].starts_with('/'))
        {
            format!("{opt}{}", places.tool_view(Path::new(&t[opt.len()..])))
        } else {
            t
        };
        out.push(hide_credential(&t).unwrap_or(t));
    }
    out
}

/// Does the compile generate debug information (`-g`, `-ggdb3`, ... but not `-g0`)?
fn debug_info(args: &[OsString]) -> bool {
    let mut on = false;
    for a in args {
        let b = a.as_encoded_bytes();
        if b.starts_with(b"-g") && !b.starts_with(b"-gsplit") && !b.starts_with(b"-gz") {
            on = b != b"-g0";
        }
    }
    on
}

/// The working directory where the tool hashes it, with prefix maps applied.
pub(crate) fn hashed_cwd(
    cfg: &Config,
    tool: Tool,
    args: &[OsString],
    places: &Places<'_>,
) -> Option<String> {
    if !debug_info(args) {
        return None;
    }
    if tool == Tool::Ccache && cfg.ccache.value.hash_dir == Some(false) {
        return None;
    }
    let mut cwd = text(places.cwd.as_os_str());
    for a in args {
        let t = text(a);
        let map = t
            .strip_prefix("-fdebug-prefix-map=")
            .or_else(|| t.strip_prefix("-ffile-prefix-map="));
        if let Some((old, new)) = map.and_then(|m| m.split_once('='))
            && let Some(rest) = cwd.strip_prefix(old)
        {
            cwd = format!("{new}{rest}");
        }
    }
    if tool == Tool::Sccache {
        cwd = places.tool_view(Path::new(&cwd));
    }
    Some(cwd)
}

/// The hashed variables of `tool` as this process sees them (the child inherits them).
pub(crate) fn hashed_env(cfg: &Config, tool: Tool) -> BTreeMap<String, Option<String>> {
    let locale = match tool {
        Tool::Ccache => !cfg
            .ccache
            .value
            .sloppiness
            .as_ref()
            .is_some_and(|s| s.iter().any(|x| x == "locale")),
        Tool::Sccache => false,
    };
    let names: &[&str] = match tool {
        Tool::Ccache if locale => CCACHE_LOCALE_VARS,
        Tool::Ccache => &[],
        Tool::Sccache => SCCACHE_VARS,
    };
    let names = names.iter();
    names
        .map(|n| {
            let v = std::env::var_os(n).map(|v| {
                if crate::secrets::is_credential_name(n) {
                    format!(
                        "<hashed {:016x}>",
                        xxhash_rust::xxh3::xxh3_64(v.as_encoded_bytes())
                    )
                } else {
                    text(&v)
                }
            });
            ((*n).to_string(), v)
        })
        .collect()
}

/// The tool binary as `PATH SIZE MTIME` (a stat, no read).
pub(crate) fn tool_id(exe: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(exe) {
        Ok(m) => format!("{} {} {}", exe.display(), m.size(), m.mtime()),
        Err(_) => text(exe.as_os_str()),
    }
}

/// toolchainkit's settings of the tool that change its keys (the base directories are
/// seen in the arguments they rewrite; they move with the checkout).
pub(crate) fn tool_settings(cfg: &Config, tool: Tool) -> Vec<String> {
    let show = |k: &str, v: Option<String>| v.map(|v| format!("{k} = {v}"));
    match tool {
        Tool::Ccache => {
            let c = &cfg.ccache.value;
            [
                show("compiler_check", c.compiler_check.clone()),
                show("sloppiness", c.sloppiness.as_ref().map(|s| s.join(","))),
                show("hash_dir", c.hash_dir.map(|b| b.to_string())),
                show(
                    "base_dir",
                    c.base_dir.as_ref().map(|d| d.display().to_string()),
                ),
            ]
            .into_iter()
            .flatten()
            .collect()
        }
        Tool::Sccache => {
            let s = &cfg.sccache.value;
            show("direct", s.direct.map(|b| b.to_string()))
                .into_iter()
                .collect()
        }
    }
}

/// A file's content hash (xxh3-128, hex).
pub(crate) fn hash_file(p: &Path) -> Option<String> {
    let bytes = std::fs::read(p).ok()?;
    Some(format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes)))
}

/// The prerequisites of the first rule of a Make-style depfile (`obj: src hdr1 hdr2`),
/// with `\ ` and `$$` unescaped and line continuations joined.
pub(crate) fn depfile_prereqs(text: &[u8]) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    let mut words: Vec<Vec<u8>> = Vec::new();
    let mut cur = Vec::new();
    let mut seen_colon = false;
    let mut i = 0;
    let flush = |cur: &mut Vec<u8>, words: &mut Vec<Vec<u8>>| {
        if !cur.is_empty() {
            words.push(std::mem::take(cur));
        }
    };
    while i < text.len() {
        let c = text[i];
        match c {
            b'\\' if text.get(i + 1) == Some(&b'\n') => i += 1,
            b'\\' if text.get(i + 1) == Some(&b'\r') && text.get(i + 2) == Some(&b'\n') => i += 2,
            b'\\' if text.get(i + 1) == Some(&b' ') => {
                cur.push(b' ');
                i += 1;
            }
            b'$' if text.get(i + 1) == Some(&b'$') => {
                cur.push(b'$');
                i += 1;
            }
            b'\n' => {
                flush(&mut cur, &mut words);
                if seen_colon {
                    break;
                }
            }
            b' ' | b'\t' | b'\r' => flush(&mut cur, &mut words),
            b':' if !seen_colon
                && matches!(text.get(i + 1), Some(b' ' | b'\t' | b'\n' | b'\r') | None) =>
            {
                flush(&mut cur, &mut words);
                words.clear();
                seen_colon = true;
            }
            _ => cur.push(c),
        }
        i += 1;
    }
    flush(&mut cur, &mut words);
    if !seen_colon {
        return Vec::new();
    }
    words
        .into_iter()
        .map(|w| PathBuf::from(OsString::from_vec(w)))
        .collect()
}

/// The headers of the depfile this compile wrote, with their content hashes; `None`
/// when it wrote none (or it cannot be read).
pub(crate) fn headers(
    parsed: &crate::args::Args<'_>,
    source: Option<&Path>,
    places: &Places<'_>,
) -> Option<BTreeMap<String, String>> {
    let dep = match parsed.depfile {
        Some(d) => PathBuf::from(d),
        None if parsed.dep_md => parsed.object()?.with_extension("d"),
        None => return None,
    };
    let bytes = std::fs::read(places.cwd.join(dep)).ok()?;
    let src = source.map(|s| places.absolute(s));
    let mut out = BTreeMap::new();
    for p in depfile_prereqs(&bytes) {
        let abs = places.absolute(&p);
        if src.as_ref() == Some(&abs) {
            continue;
        }
        let hash = hash_file(&abs).unwrap_or_else(|| "missing".into());
        out.insert(places.name(&p), hash);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depfiles_of_gcc_and_cmake_parse() {
        let d = b"CMakeFiles/a.dir/a.c.o: /p/src/a.c /p/include/my\\ h.h \\\n /usr/include/stdio.h\n/p/include/my\\ h.h:\n";
        let got = depfile_prereqs(d);
        assert_eq!(
            got,
            vec![
                PathBuf::from("/p/src/a.c"),
                PathBuf::from("/p/include/my h.h"),
                PathBuf::from("/usr/include/stdio.h"),
            ]
        );
        assert!(depfile_prereqs(b"garbage").is_empty());
    }

    #[test]
    fn args_lose_output_input_and_depfile_options_and_hide_credentials() {
        let cwd = Path::new("/co/build");
        let places = Places {
            cwd,
            bases: vec![PathBuf::from("/co")],
            project: Some(PathBuf::from("/co")),
        };
        let args: Vec<OsString> = [
            "-DAPI_TOKEN=s3cr3t",
            "-I/co/include",
            "-isystem",
            "/usr/include/x",
            "-O2",
            "-MD",
            "-MT",
            "a.o",
            "-MF",
            "a.o.d",
            "-o",
            "a.o",
            "-c",
            "/co/src/a.c",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let got = hashed_args(&args, Some(OsStr::new("/co/src/a.c")), &places);
        assert_eq!(got[1], "-I../include");
        assert_eq!(
            &got[2..],
            ["-isystem", "/usr/include/x", "-O2", "-MD", "-c"]
        );
        assert!(got[0].starts_with("-DAPI_TOKEN=<hashed "), "{got:?}");
        assert!(!got[0].contains("s3cr3t"));
        assert_eq!(places.name(Path::new("../src/a.c")), "src/a.c");
        assert_eq!(
            places.name(Path::new("/usr/include/stdio.h")),
            "/usr/include/stdio.h"
        );
        assert_eq!(
            relative(Path::new("/a/b"), Path::new("/a/c/d")),
            PathBuf::from("../c/d")
        );
    }
}
