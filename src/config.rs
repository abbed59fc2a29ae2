//! Configuration: schema, discovery, layering and validation with file/line/key errors.
//!
//! Layers, later wins: built-in defaults < user file (`$XDG_CONFIG_HOME/toolchainkit/config.toml`)
//! < project file (`.toolchainkit.toml`, nearest walking up from the working directory, or
//! `$TOOLCHAINKIT_CONFIG`) < environment (`TOOLCHAINKIT_*`). Every effective value remembers
//! the layer it came from, for `toolchainkit config`. Relative paths in a file are relative
//! to that file's directory. Unknown keys are errors with a "did you mean" hint.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::paths;

pub mod dist;
pub mod remote;

pub use remote::Remote;

/// The project configuration file name looked for in each directory.
pub const PROJECT_FILE: &str = ".toolchainkit.toml";

/// A cache tool toolchainkit can forward to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    Sccache,
    Ccache,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Sccache => "sccache",
            Tool::Ccache => "ccache",
        }
    }
    pub const ALL: [Tool; 2] = [Tool::Sccache, Tool::Ccache];
}

/// `cache.tool`: which tool to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolChoice {
    Auto,
    Sccache,
    Ccache,
    None,
}

impl ToolChoice {
    pub fn name(self) -> &'static str {
        match self {
            ToolChoice::Auto => "auto",
            ToolChoice::Sccache => "sccache",
            ToolChoice::Ccache => "ccache",
            ToolChoice::None => "none",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "auto" => ToolChoice::Auto,
            "sccache" => ToolChoice::Sccache,
            "ccache" => ToolChoice::Ccache,
            "none" => ToolChoice::None,
            _ => return None,
        })
    }
}

/// A number written as a TOML integer or float.
#[derive(Debug, Clone, Copy)]
struct Number(f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl Number {
    fn get(self) -> f64 {
        self.0
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    cache: Option<FileCache>,
    stats: Option<FileStats>,
    dist: Option<dist::FileDist>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCache {
    enabled: Option<bool>,
    tool: Option<ToolChoice>,
    prefer: Option<Vec<Tool>>,
    dir: Option<PathBuf>,
    size_gb: Option<Number>,
    install: Option<bool>,
    remote: Option<remote::FileRemote>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStats {
    file: Option<PathBuf>,
    trace: Option<bool>,
    trace_max_mb: Option<u64>,
}

/// The layer an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    User(PathBuf),
    Project(PathBuf),
    Env(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => write!(f, "default"),
            Origin::User(p) => write!(f, "user file {}", p.display()),
            Origin::Project(p) => write!(f, "project file {}", p.display()),
            Origin::Env(v) => write!(f, "environment {v}"),
        }
    }
}

/// An effective value and where it came from.
#[derive(Debug, Clone)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Setting<T> {
    fn new(value: T) -> Self {
        Setting {
            value,
            origin: Origin::Default,
        }
    }
    fn set(&mut self, value: T, origin: &Origin) {
        self.value = value;
        self.origin = origin.clone();
    }
}

/// The effective configuration for one working directory.
#[derive(Debug, Clone)]
pub struct Config {
    pub enabled: Setting<bool>,
    pub tool: Setting<ToolChoice>,
    pub prefer: Setting<Vec<Tool>>,
    /// Cache directory root; each tool uses its own subdirectory (`ccache/`, `sccache/`).
    /// `None`: the tool's own default (or the user's `CCACHE_DIR`/`SCCACHE_DIR`).
    pub dir: Setting<Option<PathBuf>>,
    pub size_gb: Setting<Option<f64>>,
    pub install: Setting<bool>,
    pub remote: Setting<Option<Remote>>,
    pub stats_file: Setting<Option<PathBuf>>,
    pub trace: Setting<bool>,
    pub trace_max_mb: Setting<u64>,
    /// `[dist]`: distributed compilation (`None`: not configured).
    pub dist: Setting<Option<dist::Dist>>,
    /// The project file in effect, if any.
    pub project_file: Option<PathBuf>,
    /// The user file in effect, if any.
    pub user_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: Setting::new(true),
            tool: Setting::new(ToolChoice::Auto),
            prefer: Setting::new(vec![Tool::Sccache, Tool::Ccache]),
            dir: Setting::new(None),
            size_gb: Setting::new(None),
            install: Setting::new(false),
            remote: Setting::new(None),
            stats_file: Setting::new(None),
            trace: Setting::new(false),
            trace_max_mb: Setting::new(64),
            dist: Setting::new(None),
            project_file: None,
            user_file: None,
        }
    }
}

impl Config {
    /// The project directory: where the project file lives.
    pub fn project_dir(&self) -> Option<&Path> {
        self.project_file.as_deref().and_then(Path::parent)
    }

    /// The cache directory a tool should use, if configured.
    pub fn tool_dir(&self, tool: Tool) -> Option<PathBuf> {
        self.dir.value.as_ref().map(|d| d.join(tool.name()))
    }
}

/// An invalid configuration: the one hard error of the compile path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, or `environment` for a variable.
    pub source: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Dotted key (`cache.tool`) or the variable name.
    pub key: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(k) = &self.key {
            write!(f, "`{k}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\nhint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Find the project file: `$TOOLCHAINKIT_CONFIG`, else the nearest `.toolchainkit.toml`
/// walking up from `cwd`. One `stat` per directory level.
pub fn discover_project_file(cwd: &Path) -> Option<PathBuf> {
    if let Some(p) = paths::var_nonempty("TOOLCHAINKIT_CONFIG") {
        let p = PathBuf::from(p);
        return Some(if p.is_absolute() { p } else { cwd.join(p) });
    }
    let mut dir = Some(cwd);
    let mut candidate = PathBuf::with_capacity(cwd.as_os_str().len() + PROJECT_FILE.len() + 2);
    while let Some(d) = dir {
        candidate.clear();
        candidate.push(d);
        candidate.push(PROJECT_FILE);
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}

/// Load the effective configuration for `cwd`.
pub fn load(cwd: &Path) -> Result<Config, ConfigError> {
    load_impl(cwd, false)
}

fn load_impl(cwd: &Path, lenient: bool) -> Result<Config, ConfigError> {
    let mut cfg = Config::default();
    let user = paths::user_config_file();
    if std::env::var_os("TOOLCHAINKIT_NO_USER_CONFIG").is_none() && user.is_file() {
        let file = parse_file(&user)?;
        apply_file(&mut cfg, file, &Origin::User(user.clone()), &user, lenient)?;
        cfg.user_file = Some(user);
    }
    if let Some(project) = discover_project_file(cwd) {
        if std::env::var_os("TOOLCHAINKIT_CONFIG").is_some() && !project.is_file() {
            return Err(ConfigError {
                source: "environment".into(),
                line: None,
                column: None,
                key: Some("TOOLCHAINKIT_CONFIG".into()),
                message: format!("no such file: {}", project.display()),
                hint: Some(
                    "point TOOLCHAINKIT_CONFIG at an existing .toolchainkit.toml, or unset it"
                        .into(),
                ),
            });
        }
        let file = parse_file(&project)?;
        apply_file(
            &mut cfg,
            file,
            &Origin::Project(project.clone()),
            &project,
            lenient,
        )?;
        cfg.project_file = Some(project);
    }
    apply_env(&mut cfg)?;
    dist::apply_env(&mut cfg)?;
    if !lenient {
        dist::check_combination(&cfg)?;
    }
    Ok(cfg)
}

/// Every problem in the configuration files for `cwd`, all at once: TOML errors, every
/// remote-field problem, secrets written in a project file, and the first error of the
/// layered load (environment). Problems of the effective settings (variables set, tool
/// support) are added by `crate::backend::remote::check_all`.
pub fn check_files(cwd: &Path) -> (Vec<ConfigError>, Result<Config, ConfigError>) {
    let mut problems: Vec<ConfigError> = Vec::new();
    let mut files = Vec::new();
    let user = paths::user_config_file();
    if std::env::var_os("TOOLCHAINKIT_NO_USER_CONFIG").is_none() && user.is_file() {
        files.push((user, false));
    }
    if let Some(project) = discover_project_file(cwd)
        && project.is_file()
    {
        files.push((project, true));
    }
    for (path, is_project) in &files {
        match parse_file(path) {
            Err(e) => problems.push(e),
            Ok(file) => {
                for e in file.dist.as_ref().map(dist::validate).unwrap_or_default() {
                    problems.push(dist::file_error(path, e));
                }
                if let Some(r) = file.cache.and_then(|c| c.remote) {
                    let mut errs = remote::validate(&r);
                    if *is_project {
                        errs.extend(remote::literal_secrets(&r));
                    }
                    for (key, msg, hint) in errs {
                        problems.push(value_error(path, &key, &msg, &hint));
                    }
                }
            }
        }
    }
    let loaded = load(cwd);
    if let Err(e) = &loaded
        && !problems.contains(e)
    {
        problems.push(e.clone());
    }
    // The remote's own problems are listed above; check the rest of it anyway.
    (problems, loaded.or_else(|_| load_impl(cwd, true)))
}

fn parse_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        source: path.display().to_string(),
        line: None,
        column: None,
        key: None,
        message: format!("cannot read: {e}"),
        hint: Some("make the file readable (and valid UTF-8), or remove it".into()),
    })?;
    toml::from_str::<FileConfig>(&text).map_err(|e| toml_error(path, &text, &e))
}

fn apply_file(
    cfg: &mut Config,
    file: FileConfig,
    origin: &Origin,
    path: &Path,
    lenient: bool,
) -> Result<(), ConfigError> {
    let base = path.parent().unwrap_or(Path::new("."));
    if let Some(c) = file.cache {
        if let Some(v) = c.enabled {
            cfg.enabled.set(v, origin);
        }
        if let Some(v) = c.tool {
            cfg.tool.set(v, origin);
        }
        if let Some(v) = c.prefer {
            cfg.prefer.set(v, origin);
        }
        if let Some(v) = c.dir {
            cfg.dir.set(Some(base.join(v)), origin);
        }
        if let Some(v) = c.size_gb {
            let v = v.get();
            if !(v.is_finite() && v > 0.0) {
                return Err(value_error(
                    path,
                    "cache.size_gb",
                    "must be a positive number of GiB",
                    "e.g. `size_gb = 10`",
                ));
            }
            cfg.size_gb.set(Some(v), origin);
        }
        if let Some(v) = c.install {
            cfg.install.set(v, origin);
        }
        if let Some(r) = c.remote {
            let remote = if lenient {
                remote::from_file_unchecked(r, base)
            } else {
                remote::from_file(r, base)
                    .map_err(|(key, msg, hint)| value_error(path, &key, &msg, &hint))?
            };
            cfg.remote.set(Some(remote), origin);
        }
    }
    if let Some(d) = file.dist {
        let d = if lenient {
            dist::from_file_unchecked(d)
        } else {
            dist::from_file(d).map_err(|e| dist::file_error(path, e))?
        };
        cfg.dist.set(Some(d), origin);
    }
    if let Some(s) = file.stats {
        if let Some(v) = s.file {
            cfg.stats_file.set(Some(base.join(v)), origin);
        }
        if let Some(v) = s.trace {
            cfg.trace.set(v, origin);
        }
        if let Some(v) = s.trace_max_mb {
            cfg.trace_max_mb.set(v, origin);
        }
    }
    Ok(())
}

pub(crate) fn value_error(path: &Path, key: &str, msg: &str, hint: &str) -> ConfigError {
    let (line, column) = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| find_key_line(&t, key))
        .map_or((None, None), |l| (Some(l), Some(1)));
    ConfigError {
        source: path.display().to_string(),
        line,
        column,
        key: Some(key.into()),
        message: msg.into(),
        hint: Some(hint.into()),
    }
}

/// The 1-based line where dotted `key` is assigned, if it can be found.
fn find_key_line(text: &str, key: &str) -> Option<usize> {
    let (section, leaf) = key.rsplit_once('.').unwrap_or(("", key));
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(h) = t.strip_prefix('[') {
            current = h
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            continue;
        }
        if current == section && assigned_key(t).as_deref() == Some(leaf) {
            return Some(i + 1);
        }
    }
    None
}

fn assigned_key(line: &str) -> Option<String> {
    let (k, _) = line.split_once('=')?;
    let k = k.trim().trim_matches('"');
    (!k.is_empty() && !k.starts_with('#')).then(|| k.to_string())
}

fn env_str(var: &'static str) -> Option<String> {
    paths::var_nonempty(var).map(|v| v.to_string_lossy().into_owned())
}

fn env_error(var: &str, msg: String, hint: &str) -> ConfigError {
    ConfigError {
        source: "environment".into(),
        line: None,
        column: None,
        key: Some(var.into()),
        message: msg,
        hint: Some(hint.into()),
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn apply_env(cfg: &mut Config) -> Result<(), ConfigError> {
    if let Some(v) = env_str("TOOLCHAINKIT_TOOL") {
        let t = ToolChoice::parse(&v).ok_or_else(|| {
            env_error(
                "TOOLCHAINKIT_TOOL",
                format!("unknown tool `{v}`"),
                &suggest(
                    &v,
                    &["auto", "sccache", "ccache", "none"],
                    "use one of auto, sccache, ccache, none",
                ),
            )
        })?;
        cfg.tool.set(t, &Origin::Env("TOOLCHAINKIT_TOOL"));
    }
    if let Some(v) = env_str("TOOLCHAINKIT_PREFER") {
        let mut list = Vec::new();
        for word in v.split([',', ' ']).filter(|w| !w.is_empty()) {
            list.push(match word {
                "sccache" => Tool::Sccache,
                "ccache" => Tool::Ccache,
                other => {
                    return Err(env_error(
                        "TOOLCHAINKIT_PREFER",
                        format!("unknown tool `{other}`"),
                        "a comma-separated list of sccache, ccache",
                    ));
                }
            });
        }
        cfg.prefer.set(list, &Origin::Env("TOOLCHAINKIT_PREFER"));
    }
    if let Some(v) = env_str("TOOLCHAINKIT_DISABLE") {
        let b = parse_bool(&v).ok_or_else(|| {
            env_error(
                "TOOLCHAINKIT_DISABLE",
                format!("not a boolean: `{v}`"),
                "use 1 or 0",
            )
        })?;
        cfg.enabled.set(!b, &Origin::Env("TOOLCHAINKIT_DISABLE"));
    }
    if let Some(v) = paths::var_nonempty("TOOLCHAINKIT_CACHE_DIR") {
        cfg.dir.set(
            Some(PathBuf::from(v)),
            &Origin::Env("TOOLCHAINKIT_CACHE_DIR"),
        );
    }
    if let Some(v) = env_str("TOOLCHAINKIT_CACHE_SIZE_GB") {
        let n: f64 = v
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite() && *n > 0.0)
            .ok_or_else(|| {
                env_error(
                    "TOOLCHAINKIT_CACHE_SIZE_GB",
                    format!("not a positive number: `{v}`"),
                    "e.g. TOOLCHAINKIT_CACHE_SIZE_GB=10",
                )
            })?;
        cfg.size_gb
            .set(Some(n), &Origin::Env("TOOLCHAINKIT_CACHE_SIZE_GB"));
    }
    if let Some(v) = paths::var_nonempty("TOOLCHAINKIT_STATS_FILE") {
        cfg.stats_file.set(
            Some(PathBuf::from(v)),
            &Origin::Env("TOOLCHAINKIT_STATS_FILE"),
        );
    }
    if let Some(v) = env_str("TOOLCHAINKIT_TRACE") {
        let b = parse_bool(&v).ok_or_else(|| {
            env_error(
                "TOOLCHAINKIT_TRACE",
                format!("not a boolean: `{v}`"),
                "use 1 or 0",
            )
        })?;
        cfg.trace.set(b, &Origin::Env("TOOLCHAINKIT_TRACE"));
    }
    Ok(())
}

/// Turn a TOML/serde error into a ConfigError with line, column, dotted key and hint.
fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let (line, column) = match e.span() {
        Some(span) => line_col(text, span.start),
        None => (None, None),
    };
    let msg = e.message().trim().to_string();
    let section = line.map(|l| section_at(text, l)).unwrap_or_default();
    let line_text = line.and_then(|l| text.lines().nth(l - 1)).unwrap_or("");
    let first_tick = between_ticks(&msg);
    let expected = expected_list(&msg);
    let (key, hint) = if msg.starts_with("unknown field") {
        let field = first_tick.clone().unwrap_or_default();
        let key = join_key(&section, &field);
        (
            Some(key),
            Some(suggest(&field, &expected, "remove the key")),
        )
    } else if msg.starts_with("unknown variant") {
        let key = assigned_key(line_text.trim()).map(|k| join_key(&section, &k));
        let value = first_tick.unwrap_or_default();
        let fallback = format!("use one of {}", expected.join(", "));
        (key, Some(suggest(&value, &expected, &fallback)))
    } else if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
        let key = assigned_key(line_text.trim()).map(|k| join_key(&section, &k));
        let hint = key
            .as_deref()
            .and_then(example_for)
            .map(|ex| format!("write it as `{ex}`"));
        (
            key,
            hint.or_else(|| {
                Some("check the value's type in the README's configuration reference".into())
            }),
        )
    } else if msg.starts_with("duplicate key") {
        let key = assigned_key(line_text.trim()).map(|k| join_key(&section, &k));
        (key, Some("remove one of the two assignments".into()))
    } else {
        (None, Some("fix the TOML syntax at this position".into()))
    };
    ConfigError {
        source: path.display().to_string(),
        line,
        column,
        key,
        message: msg.lines().next().unwrap_or("invalid TOML").to_string(),
        hint,
    }
}

fn example_for(key: &str) -> Option<&'static str> {
    Some(match key {
        "cache.enabled" => "enabled = true",
        "cache.tool" => "tool = \"auto\"",
        "cache.prefer" => "prefer = [\"sccache\", \"ccache\"]",
        "cache.dir" => "dir = \".toolchainkit/cache\"",
        "cache.size_gb" => "size_gb = 10",
        "cache.install" => "install = false",
        "stats.file" => "file = \"build-stats.json\"",
        "stats.trace" => "trace = true",
        "stats.trace_max_mb" => "trace_max_mb = 64",
        "dist.engine" => "engine = \"distcc\"",
        "dist.hosts" => "hosts = [\"buildbox1/8\", \"buildbox2:3632/8,lzo\"]",
        "dist.scheduler" => "scheduler = \"sched.example:8765\"",
        "dist.scheduler_url" => "scheduler_url = \"https://sched.example:10600\"",
        "dist.auth_token_env" => "auth_token_env = \"SCCACHE_DIST_TOKEN\"",
        "dist.local_slots" => "local_slots = 2",
        "dist.io_timeout_secs" => "io_timeout_secs = 300",
        _ => return None,
    })
}

fn join_key(section: &str, key: &str) -> String {
    if section.is_empty() {
        key.to_string()
    } else {
        format!("{section}.{key}")
    }
}

fn line_col(text: &str, offset: usize) -> (Option<usize>, Option<usize>) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = offset
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    (Some(line), Some(col))
}

/// The `[table]` header in force at 1-based `line`.
fn section_at(text: &str, line: usize) -> String {
    let mut section = String::new();
    for l in text.lines().take(line) {
        let t = l.trim();
        if let Some(h) = t.strip_prefix('[') {
            section = h
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
        }
    }
    section
}

fn between_ticks(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let end = start + msg[start..].find('`')?;
    Some(msg[start..end].to_string())
}

fn expected_list(msg: &str) -> Vec<String> {
    let Some(i) = msg.find("expected") else {
        return Vec::new();
    };
    msg[i..]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// "did you mean `x`?" when a known word is close to `word`, else `fallback`.
pub fn suggest<S: AsRef<str>>(word: &str, known: &[S], fallback: &str) -> String {
    let best = known
        .iter()
        .map(|k| (edit_distance(word, k.as_ref()), k.as_ref()))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((d, k)) if d <= 2.max(word.len() / 3) => format!("did you mean `{k}`?"),
        _ => fallback.to_string(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ConfigError {
        let e = toml::from_str::<FileConfig>(text).expect_err("should fail");
        toml_error(Path::new("p/.toolchainkit.toml"), text, &e)
    }

    #[test]
    fn unknown_key_names_line_key_and_suggestion() {
        let e = err("[cache]\nenabled = true\ntol = \"ccache\"\n");
        assert_eq!(e.line, Some(3));
        assert_eq!(e.key.as_deref(), Some("cache.tol"));
        assert_eq!(e.hint.as_deref(), Some("did you mean `tool`?"));
    }

    #[test]
    fn unknown_tool_suggests_variant() {
        let e = err("[cache]\ntool = \"sccach\"\n");
        assert_eq!(e.line, Some(2));
        assert_eq!(e.key.as_deref(), Some("cache.tool"));
        assert_eq!(e.hint.as_deref(), Some("did you mean `sccache`?"));
    }

    #[test]
    fn wrong_type_gives_example() {
        let e = err("[cache]\nenabled = \"yes\"\n");
        assert_eq!(e.key.as_deref(), Some("cache.enabled"));
        assert_eq!(e.hint.as_deref(), Some("write it as `enabled = true`"));
    }

    #[test]
    fn syntax_error_has_position() {
        let e = err("[cache\n");
        assert_eq!(e.line, Some(1));
        assert!(e.to_string().starts_with("p/.toolchainkit.toml:1:"), "{e}");
    }

    #[test]
    fn size_accepts_int_and_float() {
        let f: FileConfig = toml::from_str("[cache]\nsize_gb = 2\n").expect("int");
        assert_eq!(f.cache.and_then(|c| c.size_gb).map(Number::get), Some(2.0));
        let f: FileConfig = toml::from_str("[cache]\nsize_gb = 0.5\n").expect("float");
        assert_eq!(f.cache.and_then(|c| c.size_gb).map(Number::get), Some(0.5));
    }
}
