//! The configuration file's schema as data, and the check of a parsed document against it.
//!
//! A file is parsed once into toml's spanned document; `check` walks it against the tables
//! below and reports *every* problem with its exact position and dotted key: unknown
//! tables and keys (with "did you mean"), wrong types (with an example of the right
//! form), values out of range, empty paths, a `[cache.remote]` without `type`. Only a
//! document with no problem is then deserialized (`super::file`), so the serde layer
//! never has to explain anything. The map of key positions it fills lets later checks
//! (remote fields, effective settings) point at the line of any key.

use std::collections::HashMap;
use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::error::suggest;

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
    Table(&'static [Field]),
}

/// One key of a table.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    /// The key written correctly, for hints.
    pub example: &'static str,
    pub required: bool,
}

const fn f(name: &'static str, ty: Ty, example: &'static str) -> Field {
    Field {
        name,
        ty,
        example,
        required: false,
    }
}

/// `cache.tool`'s values.
pub const TOOL_CHOICES: &[&str] = &["auto", "sccache", "ccache", "none"];
/// The tools `prefer` may list.
pub const TOOLS: &[&str] = &["sccache", "ccache"];
/// `cache.remote.type`'s values.
pub const REMOTE_KINDS: &[&str] = &["s3", "redis", "gcs", "http", "webdav", "memcached", "azure"];
/// ccache's `sloppiness` words (ccache 4.14 manual).
pub const SLOPPINESS: &[&str] = &[
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
pub const MAX_SIZE_GB: f64 = 1_048_576.0;

/// `[cache.remote]`'s keys (which kind takes which: `super::remote::RemoteKind::spec`).
pub const REMOTE: &[Field] = &[
    Field {
        name: "type",
        ty: Ty::Enum(REMOTE_KINDS),
        example: "type = \"redis\"",
        required: true,
    },
    f(
        "endpoint",
        Ty::TextOrList,
        "endpoint = \"redis://cache.internal:6379\"",
    ),
    f("bucket", Ty::Text, "bucket = \"build-cache\""),
    f("region", Ty::Text, "region = \"us-east-1\""),
    f("prefix", Ty::Text, "prefix = \"team-a/\""),
    f("use_ssl", Ty::Bool, "use_ssl = true"),
    f("read_only", Ty::BoolOrAuto, "read_only = \"auto\""),
    f(
        "access_key_env",
        Ty::Text,
        "access_key_env = \"AWS_ACCESS_KEY_ID\"",
    ),
    f(
        "secret_key_env",
        Ty::Text,
        "secret_key_env = \"AWS_SECRET_ACCESS_KEY\"",
    ),
    f(
        "session_token_env",
        Ty::Text,
        "session_token_env = \"AWS_SESSION_TOKEN\"",
    ),
    f("username", Ty::Text, "username = \"builder\""),
    f(
        "password_env",
        Ty::Text,
        "password_env = \"BUILD_CACHE_PASSWORD\"",
    ),
    f("token_env", Ty::Text, "token_env = \"BUILD_CACHE_TOKEN\""),
    f(
        "db",
        Ty::Int {
            min: 0,
            max: u32::MAX as i64,
            unit: "",
        },
        "db = 2",
    ),
    f(
        "ttl",
        Ty::Int {
            min: 1,
            max: u32::MAX as i64,
            unit: "seconds",
        },
        "ttl = 604800",
    ),
    f("key_path", Ty::Path, "key_path = \"ci/gcs-key.json\""),
    f("container", Ty::Text, "container = \"build-cache\""),
    f(
        "connection_string_env",
        Ty::Text,
        "connection_string_env = \"AZURE_STORAGE_CONNECTION_STRING\"",
    ),
    f(
        "timeout_ms",
        Ty::Int {
            min: 1,
            max: 3_600_000,
            unit: "milliseconds",
        },
        "timeout_ms = 1000",
    ),
    f(
        "extra",
        Ty::TextMap,
        "extra = { connect-timeout = \"500\" }",
    ),
];

const CACHE: &[Field] = &[
    f("enabled", Ty::Bool, "enabled = true"),
    f("tool", Ty::Enum(TOOL_CHOICES), "tool = \"auto\""),
    f(
        "prefer",
        Ty::EnumList(TOOLS),
        "prefer = [\"sccache\", \"ccache\"]",
    ),
    f("dir", Ty::Path, "dir = \".toolchainkit/cache\""),
    f(
        "size_gb",
        Ty::Number {
            min_exclusive: 0.0,
            max: MAX_SIZE_GB,
            unit: "GiB",
        },
        "size_gb = 10",
    ),
    f("install", Ty::Bool, "install = false"),
    f(
        "sccache_client",
        Ty::Enum(&["native", "process"]),
        "sccache_client = \"native\"",
    ),
    f("verify", Ty::FractionOr("strict"), "verify = 0.01"),
    f("remote", Ty::Table(REMOTE), "[cache.remote]"),
];

const STATS: &[Field] = &[
    f("file", Ty::Path, "file = \"build-stats\""),
    f("trace", Ty::Bool, "trace = true"),
    f(
        "trace_max_mb",
        Ty::Int {
            min: 1,
            max: 1_048_576,
            unit: "MiB",
        },
        "trace_max_mb = 64",
    ),
];

const TRUST: &[Field] = &[f("dirs", Ty::PathList, "dirs = [\"/srv/shared/checkout\"]")];

const CCACHE: &[Field] = &[
    f("base_dir", Ty::Path, "base_dir = \".\""),
    f("compiler_check", Ty::Text, "compiler_check = \"content\""),
    f(
        "sloppiness",
        Ty::EnumList(SLOPPINESS),
        "sloppiness = [\"pch_defines\", \"time_macros\"]",
    ),
    f("hash_dir", Ty::Bool, "hash_dir = false"),
    f("compression", Ty::Bool, "compression = true"),
    f(
        "compression_level",
        Ty::Int {
            min: -131_072,
            max: 22,
            unit: "",
        },
        "compression_level = 3",
    ),
];

const SCCACHE: &[Field] = &[
    f("basedirs", Ty::PathList, "basedirs = [\".\"]"),
    f("direct", Ty::Bool, "direct = true"),
];

const DIST: &[Field] = &[
    f(
        "engine",
        Ty::Enum(&["none", "distcc", "icecc", "sccache-dist"]),
        "engine = \"distcc\"",
    ),
    f(
        "hosts",
        Ty::TextList,
        "hosts = [\"buildbox1/8\", \"buildbox2:3632/8,lzo\"]",
    ),
    f("scheduler", Ty::Text, "scheduler = \"sched.example:8765\""),
    f(
        "scheduler_url",
        Ty::Text,
        "scheduler_url = \"https://sched.example:10600\"",
    ),
    f(
        "auth_token_env",
        Ty::Text,
        "auth_token_env = \"SCCACHE_DIST_TOKEN\"",
    ),
    f(
        "local_slots",
        Ty::Int {
            min: 0,
            max: 1024,
            unit: "",
        },
        "local_slots = 2",
    ),
    f(
        "io_timeout_secs",
        Ty::Int {
            min: 1,
            max: 86_400,
            unit: "seconds",
        },
        "io_timeout_secs = 300",
    ),
];

/// The top level of a configuration file.
pub const ROOT: &[Field] = &[
    f("cache", Ty::Table(CACHE), "[cache]"),
    f("stats", Ty::Table(STATS), "[stats]"),
    f("trust", Ty::Table(TRUST), "[trust]"),
    f("ccache", Ty::Table(CCACHE), "[ccache]"),
    f("sccache", Ty::Table(SCCACHE), "[sccache]"),
    f("dist", Ty::Table(DIST), "[dist]"),
];

/// One problem found in a document: dotted key, byte span, message, fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub span: Range<usize>,
    pub message: String,
    pub hint: String,
}

/// Where each dotted key of a document is written (the key's span).
pub type Positions = HashMap<String, Range<usize>>;

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn found(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => format!("the string \"{s}\""),
        DeValue::Integer(i) => format!("the integer {}", i.as_str()),
        DeValue::Float(x) => format!("the float {}", x.as_str()),
        DeValue::Boolean(b) => format!("the boolean {b}"),
        DeValue::Datetime(d) => format!("the date {d}"),
        DeValue::Array(_) => "a list".into(),
        DeValue::Table(_) => "a table".into(),
    }
}

fn quoted(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The value of a TOML integer (radix and `_` separators handled).
fn int_value(v: &DeValue<'_>) -> Option<i64> {
    let DeValue::Integer(i) = v else {
        return None;
    };
    let digits: String = i.as_str().chars().filter(|c| *c != '_').collect();
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
pub fn number_value(v: &DeValue<'_>) -> Option<f64> {
    match v {
        DeValue::Integer(_) => int_value(v).map(|n| n as f64),
        DeValue::Float(x) => {
            let s: String = x.as_str().chars().filter(|c| *c != '_').collect();
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

/// Why `v` is not a valid `ty`, if it is not.
fn check_value(ty: Ty, v: &DeValue<'_>) -> Option<String> {
    let expected = |what: &str| Some(format!("expected {what}, found {}", found(v)));
    match ty {
        Ty::Bool => (!v.is_bool()).then(|| expected("true or false")).flatten(),
        Ty::BoolOrAuto => (!v.is_bool() && v.as_str() != Some("auto"))
            .then(|| expected("true, false or \"auto\""))
            .flatten(),
        Ty::Text => (!v.is_str()).then(|| expected("a string")).flatten(),
        Ty::Path => match v.as_str() {
            None => expected("a path (a string)"),
            Some("") => Some("must not be empty: name a file or directory".into()),
            Some(_) => None,
        },
        Ty::PathList => match v.as_array() {
            None => expected("a list of paths"),
            Some(a) => a.iter().find_map(|e| check_value(Ty::Path, e.get_ref())),
        },
        Ty::Enum(words) => match v.as_str() {
            Some(s) if words.contains(&s) => None,
            Some(s) => Some(format!(
                "unknown value \"{s}\", expected one of {}",
                quoted(words)
            )),
            None => expected(&format!("one of {}", quoted(words))),
        },
        Ty::TextList => match v.as_array() {
            Some(a) if a.iter().all(|e| e.get_ref().is_str()) => None,
            _ => expected("a list of strings"),
        },
        Ty::EnumList(words) => match v.as_array() {
            None => expected(&format!("a list of {}", quoted(words))),
            Some(a) => a
                .iter()
                .find_map(|e| check_value(Ty::Enum(words), e.get_ref())),
        },
        Ty::Number {
            min_exclusive,
            max,
            unit,
        } => match number_value(v) {
            None => expected(&format!("a number of {unit}")),
            Some(n) if n.is_finite() && n > min_exclusive && n <= max => None,
            Some(_) => Some(format!(
                "must be a number of {unit} above {min_exclusive} and at most {max}"
            )),
        },
        Ty::Int { min, max, unit } => match int_value(v) {
            None if v.is_integer() => Some(format!("must be between {min} and {max}")),
            None => expected("an integer"),
            Some(n) if (min..=max).contains(&n) => None,
            Some(_) => Some(format!(
                "must be between {min} and {max}{}",
                if unit.is_empty() {
                    String::new()
                } else {
                    format!(" {unit}")
                }
            )),
        },
        Ty::FractionOr(word) => match (number_value(v), v.as_str()) {
            (Some(n), _) if (0.0..=1.0).contains(&n) => None,
            (Some(_), _) => Some("must be a fraction from 0.0 to 1.0".into()),
            (None, Some(s)) if s == word => None,
            (None, Some(s)) => Some(format!(
                "unknown value \"{s}\", expected a number from 0.0 to 1.0 or \"{word}\""
            )),
            (None, None) => expected(&format!("a number from 0.0 to 1.0, or \"{word}\"")),
        },
        Ty::TextOrList => match v {
            DeValue::String(_) => None,
            DeValue::Array(a) if a.iter().all(|e| e.get_ref().is_str()) => None,
            _ => expected("a string, or a list of strings"),
        },
        Ty::TextMap => match v.as_table() {
            None => expected("a table of strings, e.g. { key = \"value\" }"),
            Some(t) => t.iter().find_map(|(k, e)| {
                (!e.get_ref().is_str()).then(|| {
                    format!(
                        "`{}`: expected a string, found {}",
                        k.get_ref(),
                        found(e.get_ref())
                    )
                })
            }),
        },
        Ty::Table(_) => (!v.is_table()).then(|| expected("a table")).flatten(),
    }
}

fn walk(
    table: &DeTable<'_>,
    fields: &[Field],
    prefix: &str,
    out: &mut Vec<Problem>,
    pos: &mut Positions,
) {
    for (k, v) in table {
        let name: &str = k.get_ref();
        let key = join(prefix, name);
        pos.insert(key.clone(), k.span());
        let Some(field) = fields.iter().find(|f| f.name == name) else {
            let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
            let is_table = v.get_ref().is_table();
            let place = if prefix.is_empty() {
                "the file".to_string()
            } else {
                format!("[{prefix}]")
            };
            out.push(Problem {
                key,
                span: k.span(),
                message: format!(
                    "unknown {} `{name}`",
                    if is_table { "table" } else { "key" }
                ),
                hint: suggest(
                    name,
                    &names,
                    &format!("remove it; {place} takes {}", names.join(", ")),
                ),
            });
            continue;
        };
        if let Some(why) = check_value(field.ty, v.get_ref()) {
            let example = format!("write it as `{}`", field.example);
            let hint = match (field.ty, v.get_ref()) {
                (Ty::Enum(words), DeValue::String(s)) => suggest(s, words, &example),
                _ => example,
            };
            out.push(Problem {
                key: key.clone(),
                span: v.span(),
                message: why,
                hint,
            });
            continue;
        }
        if let (Ty::Table(inner), Some(t)) = (field.ty, v.get_ref().as_table()) {
            walk(t, inner, &key, out, pos);
            for req in inner.iter().filter(|f| f.required) {
                if !t.iter().any(|(k, _)| k.get_ref() == req.name) {
                    out.push(Problem {
                        key: join(&key, req.name),
                        span: k.span(),
                        message: format!("missing in [{key}]"),
                        hint: format!(
                            "add `{}` to [{key}]{}",
                            req.example,
                            match req.ty {
                                Ty::Enum(words) => format!(" (one of {})", words.join(", ")),
                                _ => String::new(),
                            }
                        ),
                    });
                }
            }
        }
    }
}

/// Every problem of a parsed document, and where each key is written.
pub fn check(doc: &DeTable<'_>) -> (Vec<Problem>, Positions) {
    let mut out = Vec::new();
    let mut pos = Positions::new();
    walk(doc, ROOT, "", &mut out, &mut pos);
    out.sort_by_key(|p| p.span.start);
    (out, pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<(String, String, String)> {
        let doc = DeTable::parse(text).expect("toml");
        check(doc.get_ref())
            .0
            .into_iter()
            .map(|p| (p.key, p.message, p.hint))
            .collect()
    }

    #[test]
    fn every_problem_with_its_own_key() {
        let p = problems(
            "[cach]\ntool = 1\n\n[cache]\ntol = \"x\"\ntool = 1\nsize_gb = 1e300\ndir = \"\"\n\n[stats]\ntrace_max_mb = 0\n\n[cache.remote]\nendpoint = 5\n",
        );
        let keys: Vec<&str> = p.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "cach",
                "cache.tol",
                "cache.tool",
                "cache.size_gb",
                "cache.dir",
                "stats.trace_max_mb",
                "cache.remote.type",
                "cache.remote.endpoint",
            ],
            "{p:#?}"
        );
        assert_eq!(p[0].1, "unknown table `cach`");
        assert_eq!(p[0].2, "did you mean `cache`?");
        assert_eq!(p[1].2, "did you mean `tool`?");
        assert!(p[2].1.contains("expected one of \"auto\""), "{}", p[2].1);
        assert_eq!(p[2].2, "write it as `tool = \"auto\"`");
        assert!(p[3].1.contains("at most 1048576"), "{}", p[3].1);
        assert!(p[5].1.contains("between 1 and"), "{}", p[5].1);
        assert_eq!(p[6].1, "missing in [cache.remote]");
        assert!(
            p[7].1.contains("a string, or a list of strings"),
            "{}",
            p[7].1
        );
    }

    #[test]
    fn dotted_keys_and_unknown_top_level_tables() {
        let p = problems("cache.tol = 1\n[frobnicate]\nengine = \"x\"\n");
        assert_eq!(p[0].0, "cache.tol");
        assert_eq!(p[1].0, "frobnicate");
        assert_eq!(p[1].1, "unknown table `frobnicate`");
        assert!(
            p[1].2.starts_with("remove it; the file takes cache, stats"),
            "{}",
            p[1].2
        );
    }

    #[test]
    fn numbers() {
        assert!(problems("[cache]\nsize_gb = 0.5\n").is_empty());
        assert!(problems("[cache]\nsize_gb = 1_000\n").is_empty());
        assert_eq!(problems("[cache]\nsize_gb = 0\n").len(), 1);
        assert_eq!(problems("[cache]\nsize_gb = -1\n").len(), 1);
        assert_eq!(problems("[cache]\nsize_gb = inf\n").len(), 1);
        assert_eq!(
            problems("[cache.remote]\ntype = \"redis\"\ndb = 0x10\n").len(),
            0
        );
        assert_eq!(problems("[ccache]\ncompression_level = -5\n").len(), 0);
    }
}
