//! Every configuration key, declared once: dotted name, type, example, environment
//! variable, how a file's value reaches the layered [`Config`], and how `toolchainkit
//! config` lists it.
//!
//! [`KEYS`] is the one list, in the schema's order (tables before their keys). The schema
//! check (`super::schema`) walks a file against it: unknown tables and keys, types, ranges,
//! required keys. The file layer (`super::apply_text`) applies each key through its
//! [`Apply`], the environment layer (`super::apply_env`) each variable through its
//! [`EnvFn`], and `toolchainkit config` lists each key through its [`Show`]. The defaults
//! are `Config::default()`'s, typed, so a compile builds them without parsing anything.
//!
//! Tables are keys too. `[ccache]` and `[sccache]` are applied as a whole (a later layer's
//! table replaces an earlier one's); `[cache.remote]` and `[dist]` are read, validated and
//! listed as a whole by their modules (`super::remote`, `super::dist`); their keys here say
//! which `type`s or `engine`s use them, and which `type`s require them.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use toml::de::DeValue;

use super::error::At;
use super::kinds::Engine;
use super::kinds::RemoteKind;
use super::{
    Config, ConfigError, FileCcache, FileSccache, Origin, SccacheClient, Setting, Tool, ToolChoice,
    VERIFY_VAR, Verify, suggest,
};

/// What a key holds.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    Bool,
    /// `true`, `false` or `"auto"`.
    BoolOrAuto,
    /// Any string (may be empty).
    Text,
    /// A non-empty string naming a file or directory.
    Path,
    /// A list of non-empty path strings.
    PathList,
    /// A list of strings.
    TextList,
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// A list of these strings.
    EnumList(&'static [&'static str]),
    /// An integer or a float in `(min, max]`.
    Number {
        min_exclusive: f64,
        max: f64,
        unit: &'static str,
    },
    /// An integer in `[min, max]`.
    Int {
        min: i64,
        max: i64,
        unit: &'static str,
    },
    /// A number from 0 to 1, or this one word.
    FractionOr(&'static str),
    /// A string, or a list of strings.
    TextOrList,
    /// A table of string values with free keys.
    TextMap,
    /// A table of the keys declared under its name.
    Table,
}

/// The file a value is applied from.
pub struct Layer<'a> {
    pub origin: &'a Origin,
    /// The file's directory: relative paths are relative to it.
    pub base: &'a Path,
    /// Where the file's keys are written, for errors.
    pub at: &'a At<'a>,
}

/// Apply a file's (checked) value of the key to the configuration.
pub(crate) type FileFn = fn(&mut Config, &DeValue<'_>, &Layer<'_>) -> Result<(), ConfigError>;

/// Apply the value of the key's environment variable (named by the last argument).
pub(crate) type EnvFn = fn(&mut Config, &OsStr, &'static str) -> Result<(), ConfigError>;

/// The value as `config` lists it (`None`: unset) and the layer it came from.
pub(crate) type ShowFn = fn(&Config) -> (Option<String>, &Origin);

/// How a file's value reaches the configuration.
#[derive(Clone, Copy)]
pub enum Apply {
    /// Through this function.
    Value(FileFn),
    /// With its table (a key of `[cache.remote]` or `[dist]`), or not at all (a table
    /// that only holds keys).
    WithTable,
    /// `[cache.remote]` as a whole (`super::remote`).
    Remote,
    /// `[dist]` as a whole (`super::dist`).
    Dist,
}

/// How `toolchainkit config` lists a key.
#[derive(Clone, Copy)]
pub enum Show {
    /// Not on its own line (a table, a key listed with its table, `[trust] dirs`).
    No,
    /// One line; `unset` is the value shown when there is none (empty: the stats file's
    /// per-project default, which the caller knows).
    Value { get: ShowFn, unset: &'static str },
    /// `[cache.remote]`'s lines (`super::remote::describe`).
    Remote,
    /// `[dist]`'s lines (`super::dist::describe`).
    Dist,
}

/// The declaration of one key or table.
#[derive(Clone, Copy)]
pub struct Key {
    /// Dotted: `stats.trace_max_mb`.
    pub name: &'static str,
    pub ty: Ty,
    /// The key written correctly, for hints.
    pub example: &'static str,
    /// Must be written when its table is.
    pub required: bool,
    /// The values of its table's `type` (`[cache.remote]`) or `engine` (`[dist]`) that use
    /// it; empty: every value.
    pub used_by: &'static [&'static str],
    /// The values of `type` that need it written.
    pub required_in: &'static [&'static str],
    /// The key written correctly for one value of `type`, when not `example`.
    pub examples: &'static [(&'static str, &'static str)],
    /// The environment variable that sets it, and how its value is read.
    pub env: Option<(&'static str, EnvFn)>,
    pub apply: Apply,
    pub show: Show,
    /// Where the last `.` of `name` is (0: none), so that a compile's walk over the list
    /// does not search names.
    dot: usize,
}

impl Key {
    /// The key's name within its table.
    pub fn short(&self) -> &'static str {
        match self.dot {
            0 => self.name,
            d => &self.name[d + 1..],
        }
    }

    /// Whether it is a key (or table) of the top level.
    pub(crate) fn is_top(&self) -> bool {
        self.dot == 0
    }

    /// Its table's dotted name (`""`: the top level).
    pub(crate) fn table(&self) -> &'static str {
        &self.name[..self.dot]
    }

    const fn env(self, var: &'static str, read: EnvFn) -> Key {
        Key {
            env: Some((var, read)),
            ..self
        }
    }

    const fn apply(self, f: FileFn) -> Key {
        Key {
            apply: Apply::Value(f),
            ..self
        }
    }

    const fn show(self, get: ShowFn, unset: &'static str) -> Key {
        Key {
            show: Show::Value { get, unset },
            ..self
        }
    }

    const fn required(self) -> Key {
        Key {
            required: true,
            ..self
        }
    }

    const fn used_by(self, values: &'static [&'static str]) -> Key {
        Key {
            used_by: values,
            ..self
        }
    }

    const fn required_in(self, kinds: &'static [&'static str]) -> Key {
        Key {
            required_in: kinds,
            ..self
        }
    }

    const fn examples(self, examples: &'static [(&'static str, &'static str)]) -> Key {
        Key { examples, ..self }
    }

    /// Whether the table's `type` or `engine` `value` uses it.
    pub(crate) fn used(&self, value: &str) -> bool {
        self.used_by.is_empty() || self.used_by.contains(&value)
    }

    /// The key written correctly for `type = KIND`.
    pub(crate) fn example_for(&self, kind: &str) -> &'static str {
        self.examples
            .iter()
            .find_map(|(k, e)| (*k == kind).then_some(*e))
            .unwrap_or(self.example)
    }
}

/// The position of the last `.` of a dotted name (0: none; no name starts with one).
const fn last_dot(name: &str) -> usize {
    let b = name.as_bytes();
    let mut i = b.len();
    while i > 0 {
        i -= 1;
        if b[i] == b'.' {
            return i;
        }
    }
    0
}

const fn key(name: &'static str, ty: Ty, example: &'static str) -> Key {
    Key {
        dot: last_dot(name),
        name,
        ty,
        example,
        required: false,
        used_by: &[],
        required_in: &[],
        examples: &[],
        env: None,
        apply: Apply::WithTable,
        show: Show::No,
    }
}

const fn table(name: &'static str, example: &'static str) -> Key {
    key(name, Ty::Table, example)
}

/// `key!(stats.trace, Ty::Bool, "true")`: the key `stats.trace`, its example written
/// `trace = true`.
macro_rules! key {
    ($t:ident . $u:ident . $k:ident, $ty:expr, $value:literal) => {
        key(
            concat!(stringify!($t), ".", stringify!($u), ".", stringify!($k)),
            $ty,
            concat!(stringify!($k), " = ", $value),
        )
    };
    ($t:ident . $k:ident, $ty:expr, $value:literal) => {
        key(
            concat!(stringify!($t), ".", stringify!($k)),
            $ty,
            concat!(stringify!($k), " = ", $value),
        )
    };
}

/// `table!(cache.remote)`: the table `[cache.remote]`.
macro_rules! table {
    ($($t:ident).+) => {
        table(stringify!($($t).+), concat!("[", stringify!($($t).+), "]"))
    };
}

const fn int(min: i64, max: i64, unit: &'static str) -> Ty {
    Ty::Int { min, max, unit }
}

const fn number(min_exclusive: f64, max: f64, unit: &'static str) -> Ty {
    Ty::Number {
        min_exclusive,
        max,
        unit,
    }
}

/// The keys of table `table` (`""`: the top level), in declaration order. A table's keys
/// follow it, together (a test holds the list to that), so only they are looked at.
pub fn children(table: &str) -> impl Iterator<Item = &'static Key> + '_ {
    let start = match table {
        "" => 0,
        t => KEYS
            .iter()
            .position(|k| k.name == t)
            .map_or(KEYS.len(), |i| i + 1),
    };
    let inside = move |k: &&Key| {
        let under = k.name.starts_with(table) && k.name.as_bytes().get(table.len()) == Some(&b'.');
        table.is_empty() || under
    };
    KEYS[start..]
        .iter()
        .take_while(inside)
        .filter(move |k| k.table() == table)
}

/// The declaration of a dotted key.
pub(crate) fn get(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// `toolchainkit config`'s tables, in its order.
const LISTED: [&str; 5] = ["cache", "ccache", "sccache", "dist", "stats"];

/// The keys `toolchainkit config` lists, in its order (each table, then its keys).
pub(crate) fn listed() -> impl Iterator<Item = &'static Key> {
    LISTED
        .into_iter()
        .flat_map(|t| get(t).into_iter().chain(children(t)))
        .filter(|k| !matches!(k.show, Show::No))
}

/// `cache.tool`'s values.
pub(crate) const TOOL_CHOICES: &[&str] = &ToolChoice::NAMES;
/// The tools `prefer` may list.
pub(crate) const TOOLS: &[&str] = &Tool::NAMES;
/// `cache.remote.type`'s values.
const REMOTE_KINDS: &[&str] = &RemoteKind::NAMES;
const S3: &str = RemoteKind::S3.name();
const REDIS: &str = RemoteKind::Redis.name();
const GCS: &str = RemoteKind::Gcs.name();
const HTTP: &str = RemoteKind::Http.name();
const WEBDAV: &str = RemoteKind::Webdav.name();
const MEMCACHED: &str = RemoteKind::Memcached.name();
const AZURE: &str = RemoteKind::Azure.name();
/// The kinds that log in with a user name and a password.
const LOGIN: &[&str] = &[REDIS, MEMCACHED, HTTP, WEBDAV];
/// The kinds that take a timeout.
const TIMEOUT: &[&str] = &[REDIS, HTTP, WEBDAV];
const DAV_ENDPOINT: &str = "endpoint = \"http://cache.internal:8080/ccache\"";
/// `cache.sccache_client`'s values.
const SCCACHE_CLIENTS: &[&str] = &["native", "process"];
/// `dist.engine`'s values.
const ENGINES: &[&str] = &Engine::NAMES;
const DISTCC: &str = Engine::Distcc.name();
const ICECC: &str = Engine::Icecc.name();
const SCCACHE_DIST: &str = Engine::SccacheDist.name();
/// ccache's `sloppiness` words (ccache 4.14 manual).
pub(crate) const SLOPPINESS: &[&str] = &[
    "clang_index_store",
    "file_stat_matches",
    "file_stat_matches_ctime",
    "gcno_cwd",
    "incbin",
    "include_file_ctime",
    "include_file_mtime",
    "ivfsoverlay",
    "locale",
    "modules",
    "pch_defines",
    "random_seed",
    "system_headers",
    "time_macros",
];

/// The largest cache size accepted, in GiB (1 PiB).
pub(crate) const MAX_SIZE_GB: f64 = 1_048_576.0;

const UNSET_TOOL: &str = "(unset: the tool's own default)";
const UNSET_CCACHE: &str = "(unset: ccache's own setting)";
const UNSET_SCCACHE: &str = "(unset: sccache's own setting)";

/// Every key, in the schema's order.
pub static KEYS: &[Key] = &[
    table!(cache),
    key!(cache.enabled, Ty::Bool, "true")
        .env("TOOLCHAINKIT_DISABLE", |c, v, var| {
            c.enabled.set(!env_bool(v, var)?, &Origin::Env(var));
            Ok(())
        })
        .apply(|c, v, l| set(&mut c.enabled, read(v), l))
        .show(|c| shown(&c.enabled), ""),
    key!(cache.tool, Ty::Enum(TOOL_CHOICES), "\"auto\"")
        .env("TOOLCHAINKIT_TOOL", |c, v, var| {
            let fallback = "use one of auto, sccache, ccache, none";
            let t = env_word(v, var, TOOL_CHOICES, "tool", fallback, ToolChoice::parse)?;
            c.tool.set(t, &Origin::Env(var));
            Ok(())
        })
        .apply(|c, v, l| set(&mut c.tool, read(v), l))
        .show(|c| shown(&c.tool), ""),
    key!(
        cache.prefer,
        Ty::EnumList(TOOLS),
        "[\"sccache\", \"ccache\"]"
    )
    .env("TOOLCHAINKIT_PREFER", |c, v, var| {
        let v = v.to_string_lossy();
        let mut list = Vec::new();
        for word in v.split([',', ' ']).filter(|w| !w.is_empty()) {
            list.push(Tool::parse(word).ok_or_else(|| {
                ConfigError::env(
                    var,
                    format!("unknown tool `{word}`"),
                    "a comma-separated list of sccache, ccache",
                )
            })?);
        }
        c.prefer.set(list, &Origin::Env(var));
        Ok(())
    })
    .apply(|c, v, l| set(&mut c.prefer, read(v), l))
    .show(|c| shown(&c.prefer), ""),
    key!(cache.dir, Ty::Path, "\".toolchainkit/cache\"")
        .env("TOOLCHAINKIT_CACHE_DIR", |c, v, var| {
            c.dir.set(Some(PathBuf::from(v)), &Origin::Env(var));
            Ok(())
        })
        .apply(|c, v, l| set(&mut c.dir, v.as_str().map(|p| Some(l.base.join(p))), l))
        .show(|c| shown(&c.dir), UNSET_TOOL),
    key!(cache.size_gb, number(0.0, MAX_SIZE_GB, "GiB"), "10")
        .env("TOOLCHAINKIT_CACHE_SIZE_GB", |c, v, var| {
            let v = v.to_string_lossy();
            let n: f64 = v
                .parse()
                .ok()
                .filter(|n: &f64| n.is_finite() && *n > 0.0 && *n <= MAX_SIZE_GB)
                .ok_or_else(|| {
                    ConfigError::env(
                        var,
                        format!("not a positive number of GiB up to {MAX_SIZE_GB}: `{v}`"),
                        "e.g. TOOLCHAINKIT_CACHE_SIZE_GB=10",
                    )
                })?;
            c.size_gb.set(Some(n), &Origin::Env(var));
            Ok(())
        })
        .apply(|c, v, l| set(&mut c.size_gb, read(v).map(Some), l))
        .show(|c| shown(&c.size_gb), UNSET_TOOL),
    key!(cache.install, Ty::Bool, "false")
        .apply(|c, v, l| set(&mut c.install, read(v), l))
        .show(|c| shown(&c.install), ""),
    key!(
        cache.sccache_client,
        Ty::Enum(SCCACHE_CLIENTS),
        "\"native\""
    )
    .env("TOOLCHAINKIT_SCCACHE_CLIENT", |c, v, var| {
        let fallback = "use native or process";
        let words = SCCACHE_CLIENTS;
        let s = env_word(
            v,
            var,
            words,
            "sccache client",
            fallback,
            SccacheClient::parse,
        )?;
        c.sccache_client.set(s, &Origin::Env(var));
        Ok(())
    })
    .apply(|c, v, l| set(&mut c.sccache_client, read(v), l))
    .show(|c| shown(&c.sccache_client), ""),
    key!(cache.verify, Ty::FractionOr("strict"), "0.01")
        .env(VERIFY_VAR, |c, v, var| {
            let v = v.to_string_lossy();
            let p = Verify::parse(&v).ok_or_else(|| {
                ConfigError::env(
                    var,
                    format!("not a fraction of hits or `strict`: `{v}`"),
                    "a number from 0.0 to 1.0 (e.g. TOOLCHAINKIT_VERIFY=0.01), or strict",
                )
            })?;
            c.verify.set(p, &Origin::Env(var));
            Ok(())
        })
        .apply(|c, v, l| set(&mut c.verify, read(v), l))
        .show(|c| shown(&c.verify), ""),
    Key {
        apply: Apply::Remote,
        show: Show::Remote,
        ..table!(cache.remote)
    },
    key(
        "cache.remote.type",
        Ty::Enum(REMOTE_KINDS),
        "type = \"redis\"",
    )
    .required(),
    key!(
        cache.remote.endpoint,
        Ty::TextOrList,
        "\"redis://cache.internal:6379\""
    )
    .used_by(&[S3, REDIS, MEMCACHED, HTTP, WEBDAV])
    .required_in(&[REDIS, MEMCACHED, HTTP, WEBDAV])
    .examples(&[
        (REDIS, "endpoint = \"redis://127.0.0.1:6379\""),
        (MEMCACHED, "endpoint = [\"tcp://127.0.0.1:11211\"]"),
        (HTTP, DAV_ENDPOINT),
        (WEBDAV, DAV_ENDPOINT),
    ]),
    key!(cache.remote.bucket, Ty::Text, "\"build-cache\"")
        .used_by(&[S3, GCS])
        .required_in(&[S3, GCS]),
    key!(cache.remote.region, Ty::Text, "\"us-east-1\"").used_by(&[S3]),
    key!(cache.remote.prefix, Ty::Text, "\"team-a/\"").used_by(REMOTE_KINDS),
    key!(cache.remote.use_ssl, Ty::Bool, "true").used_by(&[S3]),
    key!(cache.remote.read_only, Ty::BoolOrAuto, "\"auto\""),
    key!(
        cache.remote.access_key_env,
        Ty::Text,
        "\"AWS_ACCESS_KEY_ID\""
    )
    .used_by(&[S3]),
    key!(
        cache.remote.secret_key_env,
        Ty::Text,
        "\"AWS_SECRET_ACCESS_KEY\""
    )
    .used_by(&[S3]),
    key!(
        cache.remote.session_token_env,
        Ty::Text,
        "\"AWS_SESSION_TOKEN\""
    )
    .used_by(&[S3]),
    key!(cache.remote.username, Ty::Text, "\"builder\"").used_by(LOGIN),
    key!(
        cache.remote.password_env,
        Ty::Text,
        "\"BUILD_CACHE_PASSWORD\""
    )
    .used_by(LOGIN),
    key!(cache.remote.token_env, Ty::Text, "\"BUILD_CACHE_TOKEN\"").used_by(&[HTTP, WEBDAV]),
    key!(cache.remote.db, int(0, u32::MAX as i64, ""), "2").used_by(&[REDIS]),
    key!(
        cache.remote.ttl,
        int(1, u32::MAX as i64, "seconds"),
        "604800"
    )
    .used_by(&[REDIS, MEMCACHED]),
    key!(cache.remote.key_path, Ty::Path, "\"ci/gcs-key.json\"").used_by(&[GCS]),
    key!(cache.remote.container, Ty::Text, "\"build-cache\"")
        .used_by(&[AZURE])
        .required_in(&[AZURE]),
    key!(
        cache.remote.connection_string_env,
        Ty::Text,
        "\"AZURE_STORAGE_CONNECTION_STRING\""
    )
    .used_by(&[AZURE])
    .required_in(&[AZURE]),
    key!(
        cache.remote.timeout_ms,
        int(1, 3_600_000, "milliseconds"),
        "1000"
    )
    .used_by(TIMEOUT),
    key!(
        cache.remote.extra,
        Ty::TextMap,
        "{ connect-timeout = \"500\" }"
    ),
    table!(stats),
    key!(stats.file, Ty::Path, "\"build-stats\"")
        .env("TOOLCHAINKIT_STATS_FILE", |c, v, var| {
            if let Some(why) = stats_file_problem(Path::new(v)) {
                let fix = "name a file, e.g. TOOLCHAINKIT_STATS_FILE=build-stats";
                return Err(ConfigError::env(var, why, fix));
            }
            c.stats_file.set(Some(PathBuf::from(v)), &Origin::Env(var));
            Ok(())
        })
        .apply(|c, v, l| {
            let Some(p) = v.as_str().map(|p| l.base.join(p)) else {
                return Ok(());
            };
            if let Some(why) = stats_file_problem(&p) {
                let fix = "name a file, e.g. `file = \"build-stats\"`";
                return Err(l.at.key("stats.file", why, fix));
            }
            set(&mut c.stats_file, Some(Some(p)), l)
        })
        .show(|c| shown(&c.stats_file), ""),
    key!(stats.trace, Ty::Bool, "true")
        .env("TOOLCHAINKIT_TRACE", |c, v, var| {
            c.trace.set(env_bool(v, var)?, &Origin::Env(var));
            Ok(())
        })
        .apply(|c, v, l| set(&mut c.trace, read(v), l))
        .show(|c| shown(&c.trace), ""),
    key!(stats.trace_max_mb, int(1, 1_048_576, "MiB"), "64")
        .apply(|c, v, l| set(&mut c.trace_max_mb, read(v), l))
        .show(|c| shown(&c.trace_max_mb), ""),
    table!(trust).apply(|_, _, l| match l.origin {
        Origin::User(_) => Ok(()),
        _ => Err(l.at.key(
            "trust",
            "[trust] is read only from the user file: a project file cannot vouch for itself",
            format!(
                "move it to {}, or set {}",
                crate::paths::user_config_file().display(),
                super::trust::TRUSTED_DIRS_VAR
            ),
        )),
    }),
    key!(trust.dirs, Ty::PathList, "[\"/srv/shared/checkout\"]").apply(|c, v, l| {
        if matches!(l.origin, Origin::User(_)) {
            let dirs = strings(v).map(|d| l.base.join(d)).collect();
            c.trusted_dirs.set(dirs, l.origin);
        }
        Ok(())
    }),
    // A later layer's [ccache] replaces an earlier one's as a whole.
    table!(ccache).apply(|c, _, l| set(&mut c.ccache, Some(FileCcache::default()), l)),
    key!(ccache.base_dir, Ty::Path, "\".\"")
        .apply(|c, v, l| {
            put(
                &mut c.ccache.value.base_dir,
                v.as_str().map(|d| clean_join(l.base, d)),
            )
        })
        .show(
            |c| shown_in(&c.ccache.value.base_dir, &c.ccache),
            UNSET_CCACHE,
        ),
    key!(ccache.compiler_check, Ty::Text, "\"content\"")
        .apply(|c, v, _| put(&mut c.ccache.value.compiler_check, read(v)))
        .show(
            |c| shown_in(&c.ccache.value.compiler_check, &c.ccache),
            UNSET_CCACHE,
        ),
    key!(
        ccache.sloppiness,
        Ty::EnumList(SLOPPINESS),
        "[\"pch_defines\", \"time_macros\"]"
    )
    .apply(|c, v, _| put(&mut c.ccache.value.sloppiness, read(v)))
    .show(
        |c| shown_in(&c.ccache.value.sloppiness, &c.ccache),
        UNSET_CCACHE,
    ),
    key!(ccache.hash_dir, Ty::Bool, "false")
        .apply(|c, v, _| put(&mut c.ccache.value.hash_dir, read(v)))
        .show(
            |c| shown_in(&c.ccache.value.hash_dir, &c.ccache),
            UNSET_CCACHE,
        ),
    key!(ccache.compression, Ty::Bool, "true")
        .apply(|c, v, _| put(&mut c.ccache.value.compression, read(v)))
        .show(
            |c| shown_in(&c.ccache.value.compression, &c.ccache),
            UNSET_CCACHE,
        ),
    key!(ccache.compression_level, int(-131_072, 22, ""), "3")
        .apply(|c, v, _| put(&mut c.ccache.value.compression_level, read(v)))
        .show(
            |c| shown_in(&c.ccache.value.compression_level, &c.ccache),
            UNSET_CCACHE,
        ),
    // As [ccache]: replaced as a whole.
    table!(sccache).apply(|c, _, l| set(&mut c.sccache, Some(FileSccache::default()), l)),
    key!(sccache.basedirs, Ty::PathList, "[\".\"]")
        .apply(|c, v, l| {
            let dirs = strings(v).map(|d| clean_join(l.base, d)).collect();
            put(&mut c.sccache.value.basedirs, Some(dirs))
        })
        .show(
            |c| shown_in(&c.sccache.value.basedirs, &c.sccache),
            UNSET_SCCACHE,
        ),
    key!(sccache.direct, Ty::Bool, "true")
        .apply(|c, v, _| put(&mut c.sccache.value.direct, read(v)))
        .show(
            |c| shown_in(&c.sccache.value.direct, &c.sccache),
            UNSET_SCCACHE,
        ),
    Key {
        apply: Apply::Dist,
        show: Show::Dist,
        ..table!(dist)
    },
    key!(dist.engine, Ty::Enum(ENGINES), "\"distcc\"")
        .env("TOOLCHAINKIT_DIST_ENGINE", super::apply_dist_engine_env),
    key!(
        dist.hosts,
        Ty::TextList,
        "[\"buildbox1/8\", \"buildbox2:3632/8,lzo\"]"
    )
    .used_by(&[DISTCC]),
    key!(dist.scheduler, Ty::Text, "\"sched.example:8765\"").used_by(&[ICECC]),
    key!(
        dist.scheduler_url,
        Ty::Text,
        "\"https://sched.example:10600\""
    )
    .used_by(&[SCCACHE_DIST]),
    key!(dist.auth_token_env, Ty::Text, "\"SCCACHE_DIST_TOKEN\"").used_by(&[SCCACHE_DIST]),
    key!(dist.local_slots, int(0, 1024, ""), "2").used_by(&[DISTCC]),
    key!(dist.io_timeout_secs, int(1, 86_400, "seconds"), "300").used_by(&[DISTCC]),
];

/// A value read from a (checked) file value.
trait Read: Sized {
    fn read(v: &DeValue<'_>) -> Option<Self>;
}

fn read<T: Read>(v: &DeValue<'_>) -> Option<T> {
    T::read(v)
}

/// A value as `toolchainkit config` shows it.
trait Shown {
    fn shown(&self) -> String;
}

/// `impl Read` and `impl Shown` for each type, by a function of the value.
macro_rules! read_and_show {
    ($($t:ty => $read:expr, $show:expr;)*) => {$(
        impl Read for $t {
            fn read(v: &DeValue<'_>) -> Option<$t> {
                ($read)(v)
            }
        }
        impl Shown for $t {
            fn shown(&self) -> String {
                ($show)(self)
            }
        }
    )*};
}

read_and_show! {
    bool => DeValue::as_bool, ToString::to_string;
    i64 => int_value, ToString::to_string;
    u64 => |v| int_value(v).and_then(|n| u64::try_from(n).ok()), ToString::to_string;
    f64 => number_value, ToString::to_string;
    String => |v: &DeValue<'_>| v.as_str().map(str::to_string), |s: &String| format!("\"{s}\"");
    ToolChoice => |v: &DeValue<'_>| v.as_str().and_then(ToolChoice::parse), |t: &ToolChoice| format!("\"{}\"", t.name());
    SccacheClient => |v: &DeValue<'_>| v.as_str().and_then(SccacheClient::parse), |c: &SccacheClient| format!("\"{}\"", c.name());
    Verify => |v: &DeValue<'_>| match number_value(v) {
        Some(f) => Some(Verify::Fraction(f)),
        None => v.as_str().and_then(Verify::parse),
    }, |v: &Verify| v.describe();
    Vec<String> => |v| Some(strings(v).map(str::to_string).collect()), |l: &Vec<String>| list(l);
    Vec<Tool> => |v| Some(strings(v).filter_map(Tool::parse).collect()), |l: &Vec<Tool>| list(l);
}

/// `impl Shown` for each type, by a function of the value.
macro_rules! show {
    ($($t:ty => $show:expr;)*) => {$(
        impl Shown for $t {
            fn shown(&self) -> String {
                ($show)(self)
            }
        }
    )*};
}

show! {
    PathBuf => |p: &PathBuf| format!("\"{}\"", p.display());
    Vec<PathBuf> => |l: &Vec<PathBuf>| list(l);
    Tool => |t: &Tool| format!("\"{}\"", t.name());
}

fn list<T: Shown>(items: &[T]) -> String {
    let items: Vec<String> = items.iter().map(Shown::shown).collect();
    format!("[{}]", items.join(", "))
}

/// A setting as `config` shows it, `None` when unset.
trait ShownSetting {
    fn shown_value(&self) -> Option<String>;
}

impl<T: Shown> ShownSetting for T {
    fn shown_value(&self) -> Option<String> {
        Some(self.shown())
    }
}

impl<T: Shown> ShownSetting for Option<T> {
    fn shown_value(&self) -> Option<String> {
        self.as_ref().map(Shown::shown)
    }
}

fn shown<T: ShownSetting>(s: &Setting<T>) -> (Option<String>, &Origin) {
    (s.value.shown_value(), &s.origin)
}

/// A key of a table that is one setting (`[ccache]`, `[sccache]`).
fn shown_in<'c, T: Shown, U>(v: &Option<T>, table: &'c Setting<U>) -> (Option<String>, &'c Origin) {
    (v.as_ref().map(Shown::shown), &table.origin)
}

fn set<T>(s: &mut Setting<T>, v: Option<T>, l: &Layer<'_>) -> Result<(), ConfigError> {
    if let Some(v) = v {
        s.set(v, l.origin);
    }
    Ok(())
}

/// Set a key of a table that is one setting.
fn put<T>(field: &mut Option<T>, v: Option<T>) -> Result<(), ConfigError> {
    *field = v;
    Ok(())
}

/// The strings of a list.
fn strings<'v>(v: &'v DeValue<'_>) -> impl Iterator<Item = &'v str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.get_ref().as_str())
}

/// `base.join(d)` without `.` components: `base_dir = "."` is the file's directory
/// itself (`/src/app`, not `/src/app/.`), as the tools compare it with paths they see.
fn clean_join(base: &Path, d: &str) -> PathBuf {
    base.join(d).components().collect()
}

/// One of `words` (`what` names them in the error), read by `parse`.
fn env_word<T>(
    v: &OsStr,
    var: &'static str,
    words: &[&str],
    what: &str,
    fallback: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, ConfigError> {
    let v = v.to_string_lossy();
    parse(&v).ok_or_else(|| {
        let hint = suggest(&v, words, fallback);
        ConfigError::env(var, format!("unknown {what} `{v}`"), &hint)
    })
}

fn env_bool(v: &OsStr, var: &'static str) -> Result<bool, ConfigError> {
    let v = v.to_string_lossy();
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::env(
            var,
            format!("not a boolean: `{v}`"),
            "use 1 or 0",
        )),
    }
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

/// The value of a TOML integer (radix and `_` separators handled).
pub(crate) fn int_value(v: &DeValue<'_>) -> Option<i64> {
    let DeValue::Integer(i) = v else {
        return None;
    };
    let written = i.as_str();
    if i.radix() == 10 && !written.contains(['_', '-']) {
        // The usual case, read without copying.
        return written.trim_start_matches('+').parse().ok();
    }
    let digits: String = written.chars().filter(|c| *c != '_').collect();
    let (neg, digits) = match digits.strip_prefix('-') {
        Some(d) => (true, d.to_string()),
        None => (false, digits.trim_start_matches('+').to_string()),
    };
    let digits = digits
        .trim_start_matches("0x")
        .trim_start_matches("0o")
        .trim_start_matches("0b");
    let n = i64::from_str_radix(digits, i.radix()).ok()?;
    Some(if neg { -n } else { n })
}

/// The value of a TOML number (integer or float).
pub(crate) fn number_value(v: &DeValue<'_>) -> Option<f64> {
    match v {
        DeValue::Integer(_) => int_value(v).map(|n| n as f64),
        DeValue::Float(x) => {
            let s: std::borrow::Cow<'_, str> = match x.as_str() {
                w if w.contains('_') => w.chars().filter(|c| *c != '_').collect(),
                w => w.into(),
            };
            match s.trim_start_matches('+') {
                "inf" => Some(f64::INFINITY),
                "-inf" => Some(f64::NEG_INFINITY),
                "nan" | "-nan" => Some(f64::NAN),
                t => t.parse().ok(),
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_come_before_their_keys_and_every_key_has_its_table() {
        for (i, k) in KEYS.iter().enumerate() {
            let t = k.table();
            if t.is_empty() {
                continue;
            }
            let at = KEYS.iter().position(|p| p.name == t);
            assert!(
                at.is_some_and(|p| p < i),
                "{} has no table declared before it",
                k.name
            );
            assert_eq!(KEYS.iter().filter(|p| p.name == k.name).count(), 1);
        }
        // A table's keys follow it, together.
        for (i, t) in KEYS
            .iter()
            .enumerate()
            .filter(|(_, k)| matches!(k.ty, Ty::Table))
        {
            let inside = |k: &Key| k.name.starts_with(&format!("{}.", t.name));
            let run = KEYS[i + 1..].iter().take_while(|k| inside(k)).count();
            assert_eq!(run, KEYS.iter().filter(|k| inside(k)).count(), "{}", t.name);
        }
    }

    #[test]
    fn every_key_is_applied_and_listed() {
        for k in KEYS {
            let in_whole = matches!(k.table(), "cache.remote" | "dist");
            let container = matches!(k.name, "cache" | "stats");
            match k.apply {
                Apply::WithTable => assert!(in_whole || container, "{} is never applied", k.name),
                _ => assert!(!in_whole, "{} is applied twice", k.name),
            } // The file layer reads a key's value from the top-level table declared last.
            if matches!(k.apply, Apply::Value(_)) {
                assert!(k.is_top() || !k.table().contains('.'), "{}", k.name);
            }

            let listed = listed().any(|l| l.name == k.name);
            let unlisted =
                in_whole || container || k.name.starts_with("trust") || k.table().is_empty();
            assert_eq!(listed, !unlisted || matches!(k.name, "dist"), "{}", k.name);
        }
    }

    #[test]
    fn examples_name_their_key() {
        for k in KEYS {
            let ok = match k.ty {
                Ty::Table => k.example == format!("[{}]", k.name),
                _ => k.example.starts_with(&format!("{} = ", k.short())),
            };
            assert!(ok, "{}: {}", k.name, k.example);
        }
    }
}
