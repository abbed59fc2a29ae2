//! `[cache.remote]`: the shared remote cache, as written in a config file and validated.
//!
//! Secrets are never values here: only the names of environment variables (or files)
//! that hold them. How each tool is told about the remote lives in `crate::backend`.
//!
//! What each kind of store takes is data: each key's declaration (`super::keys`) names the
//! kinds that use it and those that require it (with the example for the hint);
//! [`RemoteKind::spec`] reads them and adds the kind's endpoint schemes; `validate` is
//! driven by it. The validated [`Remote`] is a per-kind [`Store`], so a key a kind does not take
//! cannot exist for it, and [`Remote::settings`] is the one list of the keys a remote has
//! set, with their values (`describe`, [`Remote::env_refs`] and the tools' mappings read it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::{At, ConfigError};
use super::keys::{self, Key};
pub(crate) use super::kinds::RemoteKind;

impl RemoteKind {
    /// What this kind takes.
    pub(crate) fn spec(self) -> KindSpec {
        let (schemes, many_endpoints) = match self {
            RemoteKind::Redis => (&["redis://", "rediss://", "redis+unix://"][..], false),
            RemoteKind::Memcached => (&["tcp://", "udp://", "unix://", "memcache://"][..], true),
            _ => (&["http://", "https://"][..], false),
        };
        KindSpec {
            kind: self.name(),
            schemes,
            many_endpoints,
        }
    }
}

/// What a kind of store takes. Its keys are those of `[cache.remote]` that the declaration
/// (`super::keys`) says it uses, besides the keys every kind takes ([`COMMON_KEYS`]).
#[derive(Debug)]
pub(crate) struct KindSpec {
    kind: &'static str,
    /// The URL schemes its endpoints may use.
    pub schemes: &'static [&'static str],
    /// Whether `endpoint` may be a list.
    pub many_endpoints: bool,
}

impl KindSpec {
    /// Its keys, in the declared order (the order the "takes ..." hint lists them).
    pub(crate) fn keys(&self) -> impl Iterator<Item = &'static Key> + '_ {
        keys::children("cache.remote").filter(|k| !k.used_by.is_empty() && k.used(self.kind))
    }

    pub(crate) fn takes(&self, key: &str) -> bool {
        self.keys().any(|k| k.short() == key)
    }

    /// Its required keys and the example of each for the hint.
    pub(crate) fn required(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.keys()
            .filter(|k| k.required_in.contains(&self.kind))
            .map(|k| (k.short(), k.example_for(self.kind)))
    }
}

/// The keys every kind takes (the tests check the declarations against it).
#[cfg(test)]
pub(crate) const COMMON_KEYS: &[&str] = &["type", "read_only", "extra"];

/// Is this key a reference to an environment variable that holds a secret?
pub(crate) fn is_env_key(key: &str) -> bool {
    key.ends_with("_env")
}

/// A key's position in the declared `[cache.remote]` table (the order keys are listed in).
fn schema_index(key: &str) -> usize {
    super::keys::children("cache.remote")
        .position(|k| k.short() == key)
        .unwrap_or(usize::MAX)
}

/// `read_only` as written: a boolean, or `"auto"` (see `read_only_auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub(crate) enum ReadOnly {
    Fixed(bool),
    Word(AutoWord),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AutoWord {
    Auto,
}

/// `read_only = "auto"`: read-only on pull and merge requests and on branches other than
/// the default one, read-write on the default branch and outside CI, from the CI's own
/// variables (GitHub: `GITHUB_EVENT_NAME`, `GITHUB_REF`, and the default branch when
/// `TOOLCHAINKIT_DEFAULT_BRANCH` names it; GitLab: `CI_MERGE_REQUEST_IID`,
/// `CI_COMMIT_REF_NAME`, `CI_DEFAULT_BRANCH`). Pure: `var` reads the environment.
/// Returns whether the remote is read-only and why.
pub(crate) fn read_only_auto(var: impl Fn(&str) -> Option<String>) -> (bool, String) {
    let get = |n: &str| var(n).filter(|v| !v.is_empty());
    if let Some(event) = get("GITHUB_EVENT_NAME") {
        if event.starts_with("pull_request") {
            return (true, format!("a pull request (GITHUB_EVENT_NAME={event})"));
        }
        let git_ref = get("GITHUB_REF").unwrap_or_default();
        let branch = git_ref.strip_prefix("refs/heads/");
        return match (branch, get("TOOLCHAINKIT_DEFAULT_BRANCH")) {
            (Some(b), Some(d)) if b == d => (false, format!("the default branch ({b})")),
            (Some(b), Some(d)) => (true, format!("branch {b}, not the default branch {d}")),
            (Some(b), None) if event == "push" => (
                false,
                format!(
                    "a push to {b} (set TOOLCHAINKIT_DEFAULT_BRANCH to write from the default branch only)"
                ),
            ),
            _ => (
                true,
                format!("GITHUB_EVENT_NAME={event}, GITHUB_REF={git_ref}"),
            ),
        };
    }
    if let Some(iid) = get("CI_MERGE_REQUEST_IID") {
        return (
            true,
            format!("a merge request (CI_MERGE_REQUEST_IID={iid})"),
        );
    }
    if let Some(b) = get("CI_COMMIT_REF_NAME") {
        return match get("CI_DEFAULT_BRANCH") {
            Some(d) if d == b => (false, format!("the default branch ({b})")),
            Some(d) => (true, format!("branch {b}, not the default branch {d}")),
            None => (true, format!("branch {b}, the default branch unknown")),
        };
    }
    (false, "not a CI job".to_string())
}

/// `[cache.remote]` as written, after `schema::check` found no problem in it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FileRemote {
    #[serde(rename = "type")]
    pub kind: RemoteKind,
    pub read_only: Option<ReadOnly>,
    pub extra: Option<BTreeMap<String, String>>,
    /// Every other key as written; which of them the kind takes is `validate`'s question.
    #[serde(flatten)]
    pub keys: toml::Table,
}

impl FileRemote {
    fn text(&self, key: &str) -> Option<&str> {
        self.keys.get(key).and_then(toml::Value::as_str)
    }

    fn int(&self, key: &str) -> Option<i64> {
        self.keys.get(key).and_then(toml::Value::as_integer)
    }

    /// `endpoint`: one URL or a list of them.
    fn endpoints(&self) -> Vec<&str> {
        match self.keys.get("endpoint") {
            Some(toml::Value::String(s)) => vec![s.as_str()],
            Some(toml::Value::Array(a)) => a.iter().filter_map(toml::Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// A required key is missing when it is absent or an empty list.
    fn lacks(&self, key: &str) -> bool {
        match self.keys.get(key) {
            None => true,
            Some(toml::Value::Array(a)) => a.is_empty(),
            Some(_) => false,
        }
    }

    /// The keys written, in the schema's order.
    fn written(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.keys.keys().map(String::as_str).collect();
        keys.sort_by_key(|k| schema_index(k));
        keys
    }
}

/// A user name and the variable holding its password.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Login {
    pub username: Option<String>,
    pub password_env: Option<String>,
}

/// The variables holding S3 credentials.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct S3Keys {
    pub access_key_env: Option<String>,
    pub secret_key_env: Option<String>,
    pub session_token_env: Option<String>,
}

/// An HTTP or WebDAV server.
#[derive(Debug, Clone, PartialEq)]
pub struct Dav {
    pub endpoint: String,
    pub login: Login,
    pub token_env: Option<String>,
    pub timeout_ms: Option<u64>,
}

/// What each kind of store takes. A required value written nowhere is empty and left out
/// of [`Remote::settings`] (only `config check` sees such a store, after reporting the
/// missing key).
#[derive(Debug, Clone, PartialEq)]
pub enum Store {
    S3 {
        bucket: String,
        region: Option<String>,
        endpoint: Option<String>,
        use_ssl: Option<bool>,
        keys: S3Keys,
    },
    Redis {
        endpoint: String,
        login: Login,
        db: Option<u32>,
        ttl: Option<u64>,
        timeout_ms: Option<u64>,
    },
    Memcached {
        endpoints: Vec<String>,
        login: Login,
        ttl: Option<u64>,
    },
    Gcs {
        bucket: String,
        key_path: Option<PathBuf>,
    },
    Http(Dav),
    Webdav(Dav),
    Azure {
        container: String,
        connection_string_env: String,
    },
}

/// A validated remote configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Remote {
    pub store: Store,
    pub prefix: Option<String>,
    pub read_only: bool,
    /// Why, when `read_only = "auto"` decided it.
    pub read_only_auto: Option<String>,
    pub extra: BTreeMap<String, String>,
}

/// A set key's value, by what it means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    Endpoints(&'a [String]),
    Text(&'a str),
    /// The name of the environment variable that holds a secret.
    Env(&'a str),
    Flag(bool),
    Num(u64),
    Path(&'a Path),
}

impl Remote {
    pub(crate) fn kind(&self) -> RemoteKind {
        match &self.store {
            Store::S3 { .. } => RemoteKind::S3,
            Store::Redis { .. } => RemoteKind::Redis,
            Store::Memcached { .. } => RemoteKind::Memcached,
            Store::Gcs { .. } => RemoteKind::Gcs,
            Store::Http(_) => RemoteKind::Http,
            Store::Webdav(_) => RemoteKind::Webdav,
            Store::Azure { .. } => RemoteKind::Azure,
        }
    }

    /// The endpoint URLs (none: the provider's default).
    pub(crate) fn endpoints(&self) -> &[String] {
        fn one(e: &String) -> &[String] {
            if e.is_empty() {
                &[]
            } else {
                std::slice::from_ref(e)
            }
        }
        match &self.store {
            Store::S3 { endpoint, .. } => endpoint.as_ref().map_or(&[], one),
            Store::Redis { endpoint, .. } => one(endpoint),
            Store::Http(d) | Store::Webdav(d) => one(&d.endpoint),
            Store::Memcached { endpoints, .. } => endpoints,
            Store::Gcs { .. } | Store::Azure { .. } => &[],
        }
    }

    /// The service-account key file (gcs).
    pub(crate) fn key_path(&self) -> Option<&Path> {
        match &self.store {
            Store::Gcs { key_path, .. } => key_path.as_deref(),
            _ => None,
        }
    }

    /// Every key this remote has set besides `type`, `read_only` and `extra`, with its
    /// value, in the schema's order.
    pub(crate) fn settings(&self) -> Vec<(&'static str, Value<'_>)> {
        let mut out: Vec<(&'static str, Value<'_>)> = Vec::new();
        let endpoints = self.endpoints();
        if !endpoints.is_empty() {
            out.push(("endpoint", Value::Endpoints(endpoints)));
        }
        type Set<'a> = Option<(&'static str, Value<'a>)>;
        fn text<'a>(k: &'static str, v: &'a Option<String>) -> Set<'a> {
            v.as_deref().map(|v| (k, Value::Text(v)))
        }
        fn env<'a>(k: &'static str, v: &'a Option<String>) -> Set<'a> {
            v.as_deref().map(|v| (k, Value::Env(v)))
        }
        fn num<'a>(k: &'static str, v: Option<u64>) -> Set<'a> {
            v.map(|v| (k, Value::Num(v)))
        }
        /// A required value: empty when not written (`config check` reported it).
        fn required<'a>(k: &'static str, v: &'a str, value: fn(&'a str) -> Value<'a>) -> Set<'a> {
            (!v.is_empty()).then(|| (k, value(v)))
        }
        fn login(l: &Login) -> [Set<'_>; 2] {
            [
                text("username", &l.username),
                env("password_env", &l.password_env),
            ]
        }
        out.extend(text("prefix", &self.prefix));
        match &self.store {
            Store::S3 {
                bucket,
                region,
                endpoint: _,
                use_ssl,
                keys,
            } => {
                out.extend(required("bucket", bucket, Value::Text));
                out.extend(text("region", region));
                out.extend(use_ssl.map(|b| ("use_ssl", Value::Flag(b))));
                out.extend(env("access_key_env", &keys.access_key_env));
                out.extend(env("secret_key_env", &keys.secret_key_env));
                out.extend(env("session_token_env", &keys.session_token_env));
            }
            Store::Redis {
                endpoint: _,
                login: l,
                db,
                ttl,
                timeout_ms,
            } => {
                out.extend(login(l).into_iter().flatten());
                out.extend(num("db", db.map(u64::from)));
                out.extend(num("ttl", *ttl));
                out.extend(num("timeout_ms", *timeout_ms));
            }
            Store::Memcached {
                endpoints: _,
                login: l,
                ttl,
            } => {
                out.extend(login(l).into_iter().flatten());
                out.extend(num("ttl", *ttl));
            }
            Store::Gcs { bucket, key_path } => {
                out.extend(required("bucket", bucket, Value::Text));
                out.extend(key_path.as_deref().map(|p| ("key_path", Value::Path(p))));
            }
            Store::Http(d) | Store::Webdav(d) => {
                out.extend(login(&d.login).into_iter().flatten());
                out.extend(env("token_env", &d.token_env));
                out.extend(num("timeout_ms", d.timeout_ms));
            }
            Store::Azure {
                container,
                connection_string_env,
            } => {
                out.extend(required("container", container, Value::Text));
                out.extend(required(
                    "connection_string_env",
                    connection_string_env,
                    Value::Env,
                ));
            }
        }
        out.sort_by_key(|(k, _)| schema_index(k));
        out
    }

    /// The value of `key`, if this remote has it set.
    pub(crate) fn get(&self, key: &str) -> Option<Value<'_>> {
        self.settings()
            .into_iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }

    /// The credential references: (key, environment variable), in the schema's order.
    pub(crate) fn env_refs(&self) -> Vec<(&'static str, &str)> {
        self.settings()
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::Env(var) => Some((k, var)),
                _ => None,
            })
            .collect()
    }
}

/// `(key, value)` pairs describing a remote, secrets shown only as variable references:
/// `type`, then the set keys grouped by what they hold (endpoints, text, variable
/// references, flags, `read_only`, numbers and paths), each group in the schema's order,
/// then `extra`.
pub(crate) fn describe(r: &Remote) -> Vec<(String, String)> {
    let q = |s: &str| format!("\"{s}\"");
    let mut rows: Vec<(u8, &str, String)> = r
        .settings()
        .into_iter()
        .map(|(k, v)| match v {
            Value::Endpoints(e) => {
                let eps: Vec<String> = e.iter().map(|e| q(&redact_url(e))).collect();
                (0, k, eps.join(", "))
            }
            Value::Text(t) => (1, k, q(t)),
            Value::Env(var) => (2, k, format!("\"{var}\" (value hidden)")),
            Value::Flag(b) => (3, k, b.to_string()),
            Value::Num(n) => (5, k, n.to_string()),
            Value::Path(p) => (5, k, q(&p.display().to_string())),
        })
        .collect();
    rows.push((
        4,
        "read_only",
        match &r.read_only_auto {
            Some(why) => format!("{} (\"auto\": {why})", r.read_only),
            None => r.read_only.to_string(),
        },
    ));
    rows.sort_by_key(|(group, _, _)| *group);
    let mut out = vec![("type".to_string(), q(r.kind().name()))];
    out.extend(rows.into_iter().map(|(_, k, v)| (k.to_string(), v)));
    for (k, v) in &r.extra {
        let shown = if crate::secrets::is_credential_name(k) {
            "(hidden)".to_string()
        } else {
            q(v)
        };
        out.push((format!("extra.{k}"), shown));
    }
    out
}

/// Why a tool cannot serve a remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsupported {
    pub message: String,
    pub fix: String,
}

/// Every problem with a `[cache.remote]` table, all at once (for `config check`).
pub(crate) fn validate(f: &FileRemote, at: &At<'_>) -> Vec<ConfigError> {
    let mut out = Vec::new();
    let kind = f.kind;
    let spec = kind.spec();
    let endpoints = f.endpoints();
    for (key, example) in spec.required() {
        if f.lacks(key) {
            out.push(at.key(
                &format!("cache.remote.{key}"),
                format!("required for type = \"{}\"", kind.name()),
                format!("add `{example}` to [cache.remote]"),
            ));
        }
    }
    if endpoints.len() > 1 && !spec.many_endpoints {
        out.push(at.key(
            "cache.remote.endpoint",
            format!("type = \"{}\" takes one endpoint, not a list", kind.name()),
            "write a single string",
        ));
    }
    for e in &endpoints {
        if let Err(err) = check_scheme(kind, e, at) {
            out.push(err);
        }
    }
    let written = f.written();
    for field in &written {
        if !spec.takes(field) {
            let takes: Vec<&str> = spec.keys().map(Key::short).collect();
            out.push(at.key(
                &format!("cache.remote.{field}"),
                format!("not used by type = \"{}\"", kind.name()),
                format!(
                    "remove it; type = \"{}\" takes {}",
                    kind.name(),
                    takes.join(", ")
                ),
            ));
        }
    }
    for field in written.iter().filter(|k| is_env_key(k)) {
        if f.text(field).is_some_and(|name| !is_env_name(name)) {
            out.push(at.key(
                &format!("cache.remote.{field}"),
                "must be the name of an environment variable that holds the secret, not the secret",
                format!("write e.g. `{field} = \"BUILD_CACHE_SECRET\"` and set that variable"),
            ));
        }
    }
    if f.int("ttl") == Some(0) {
        out.push(at.key(
            "cache.remote.ttl",
            "must be a positive number of seconds",
            "e.g. `ttl = 604800` (7 days), or remove it for no expiry",
        ));
    }
    if f.int("timeout_ms") == Some(0) {
        out.push(at.key(
            "cache.remote.timeout_ms",
            "must be a positive number of milliseconds",
            "e.g. `timeout_ms = 1000`",
        ));
    }
    for k in f.extra.iter().flat_map(|m| m.keys()) {
        if k == "helper" {
            out.push(at.key(
                "cache.remote.extra.helper",
                "names a program for ccache to run as its storage helper (toolchainkit gives ccache its own)",
                "remove `helper` from `extra`",
            ));
            continue;
        }
        let sccache = k.starts_with("SCCACHE_")
            && k.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        // ccache's attributes are `lower-case-names`; the storage helper's OpenDAL options
        // `lower_snake_names`.
        let ccache = !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !sccache && !ccache {
            out.push(at.key(
                &format!("cache.remote.extra.{k}"),
                "not an sccache variable (`SCCACHE_...`) nor a ccache remote-storage attribute (`lower-case-name`) or storage-helper option (`lower_snake_name`)",
                "e.g. `extra = { SCCACHE_S3_SERVER_SIDE_ENCRYPTION = \"true\" }` or `extra = { connect-timeout = \"500\" }`",
            ));
        }
    }
    out
}

/// A plausible environment variable name.
pub(crate) fn is_env_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Secrets written into the file itself: a password in an endpoint URL, a credential in
/// `extra`. An error for each.
pub(crate) fn literal_secrets(f: &FileRemote, at: &At<'_>) -> Vec<ConfigError> {
    let mut out = Vec::new();
    for e in f.endpoints() {
        if url_has_password(e) {
            out.push(at.key(
                "cache.remote.endpoint",
                format!(
                    "`{}` holds a password written in the file",
                    redact_url(e)
                ),
                "remove the user:password@ part; set `password_env = \"VAR\"` (and `username`) and keep the password in that variable",
            ));
        }
    }
    for (k, v) in f.extra.iter().flat_map(|m| m.iter()) {
        if crate::secrets::is_credential_name(k) && !v.is_empty() {
            out.push(at.key(
                &format!("cache.remote.extra.{k}"),
                "a credential written in the file",
                "use the matching `*_env` field (password_env, token_env, secret_key_env, connection_string_env) so the value stays in an environment variable",
            ));
        }
    }
    out
}

/// Does this URL carry `user:password@` (or a bare `password@` for redis)?
pub(crate) fn url_has_password(url: &str) -> bool {
    let Some(scheme_end) = url.find("://") else {
        return false;
    };
    let rest = &url[scheme_end + 3..];
    let host_end = rest.find('/').unwrap_or(rest.len());
    match rest[..host_end].rfind('@') {
        None => false,
        // redis://secret@host: ccache reads a lone userinfo as the password.
        Some(at) => rest[..at].contains(':') || url.starts_with("redis"),
    }
}

/// Validate the fields a remote of this type needs; resolve relative paths against `base`.
/// The error names no file (the table was not read from one). For the tests of the
/// mapping to each tool's variables.
#[cfg(test)]
pub(crate) fn from_file(f: FileRemote, base: &Path) -> Result<Remote, ConfigError> {
    let pos = super::error::Positions::new();
    let at = At {
        path: Path::new("[cache.remote]"),
        text: "",
        pos: &pos,
    };
    if let Some(first) = validate(&f, &at).into_iter().next() {
        return Err(first);
    }
    Ok(from_file_unchecked(f, base))
}

/// As `from_file` without validation (for `config check`, which lists the problems itself):
/// keys the kind does not take are left out, a required value not written is empty.
pub(crate) fn from_file_unchecked(f: FileRemote, base: &Path) -> Remote {
    let text = |k: &str| f.text(k).map(str::to_owned);
    let count = |k: &str| f.int(k).and_then(|i| u64::try_from(i).ok());
    let login = || Login {
        username: text("username"),
        password_env: text("password_env"),
    };
    let mut endpoints: Vec<String> = f.endpoints().into_iter().map(str::to_owned).collect();
    let first = endpoints.first().cloned();
    let dav = || Dav {
        endpoint: first.clone().unwrap_or_default(),
        login: login(),
        token_env: text("token_env"),
        timeout_ms: count("timeout_ms"),
    };
    let store = match f.kind {
        RemoteKind::S3 => Store::S3 {
            bucket: text("bucket").unwrap_or_default(),
            region: text("region"),
            endpoint: first.clone(),
            use_ssl: f.keys.get("use_ssl").and_then(toml::Value::as_bool),
            keys: S3Keys {
                access_key_env: text("access_key_env"),
                secret_key_env: text("secret_key_env"),
                session_token_env: text("session_token_env"),
            },
        },
        RemoteKind::Redis => Store::Redis {
            endpoint: first.clone().unwrap_or_default(),
            login: login(),
            db: f.int("db").and_then(|i| u32::try_from(i).ok()),
            ttl: count("ttl"),
            timeout_ms: count("timeout_ms"),
        },
        RemoteKind::Memcached => Store::Memcached {
            endpoints: std::mem::take(&mut endpoints),
            login: login(),
            ttl: count("ttl"),
        },
        RemoteKind::Gcs => Store::Gcs {
            bucket: text("bucket").unwrap_or_default(),
            key_path: f.text("key_path").map(|p| base.join(p)),
        },
        RemoteKind::Http => Store::Http(dav()),
        RemoteKind::Webdav => Store::Webdav(dav()),
        RemoteKind::Azure => Store::Azure {
            container: text("container").unwrap_or_default(),
            connection_string_env: text("connection_string_env").unwrap_or_default(),
        },
    };
    let (read_only, read_only_auto) = match f.read_only {
        None => (false, None),
        Some(ReadOnly::Fixed(b)) => (b, None),
        Some(ReadOnly::Word(AutoWord::Auto)) => {
            let (ro, why) = read_only_auto(|n| std::env::var(n).ok());
            (ro, Some(why))
        }
    };
    Remote {
        store,
        prefix: text("prefix"),
        read_only,
        read_only_auto,
        extra: f.extra.unwrap_or_default(),
    }
}

fn check_scheme(kind: RemoteKind, endpoint: &str, at: &At<'_>) -> Result<(), ConfigError> {
    let allowed = kind.spec().schemes;
    if let Some(scheme) = allowed.iter().find(|s| endpoint.starts_with(*s)) {
        if scheme.contains("unix") {
            return Ok(());
        }
        return check_authority(&endpoint[scheme.len()..]).map_err(|why| {
            at.key(
                "cache.remote.endpoint",
                format!("`{}`: {why}", redact_url(endpoint)),
                format!("write it as `{scheme}HOST:PORT`, with a port from 1 to 65535"),
            )
        });
    }
    Err(at.key(
        "cache.remote.endpoint",
        format!(
            "`{}` has an unsupported scheme for type = \"{}\"",
            redact_url(endpoint),
            kind.name()
        ),
        format!("use a URL starting with {}", allowed.join(" or ")),
    ))
}

/// What is wrong with the `[user@]host[:port]` part of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Authority {
    OpenIpv6,
    NoHost,
    Port(String),
}

impl std::fmt::Display for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Authority::OpenIpv6 => write!(f, "an IPv6 address without its closing `]`"),
            Authority::NoHost => write!(f, "no host"),
            Authority::Port(p) => write!(f, "port `{p}` is not a number from 1 to 65535"),
        }
    }
}

/// Check the `[user@]host[:port]` part of a URL (pure): a host, and a port in 1..=65535.
fn check_authority(rest: &str) -> Result<(), Authority> {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, rest)) => (h, rest.strip_prefix(':')),
            None => return Err(Authority::OpenIpv6),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(Authority::NoHost);
    }
    match port {
        None => Ok(()),
        Some(p) => match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(()),
            _ => Err(Authority::Port(p.into())),
        },
    }
}

/// A URL with any `user:password@` part replaced, for messages.
pub(crate) fn redact_url(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let host_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..host_end].rfind('@') {
            return format!("{}://***@{}", &url[..scheme_end], &rest[at + 1..]);
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The declared keys of `[cache.remote]`.
    fn remote_keys() -> impl Iterator<Item = &'static Key> {
        keys::children("cache.remote")
    }

    fn problems(f: &FileRemote) -> Vec<ConfigError> {
        let pos = crate::config::error::Positions::new();
        let at = At {
            path: Path::new("f.toml"),
            text: "",
            pos: &pos,
        };
        validate(f, &at)
    }

    fn is(e: &ConfigError, key: &str, message: &str) -> bool {
        e.key.as_deref() == Some(&format!("cache.remote.{key}")[..])
            && e.message.starts_with(message)
    }

    /// A file of `kind` with every key its table lists, each written as the schema's example.
    fn full(kind: RemoteKind) -> FileRemote {
        let mut text = format!("type = \"{}\"\n", kind.name());
        for key in kind.spec().keys() {
            text.push_str(key.example_for(kind.name()));
            text.push('\n');
        }
        toml::from_str(&text).expect("examples parse")
    }

    #[test]
    fn the_keys_every_kind_takes_are_the_common_ones() {
        let common: Vec<&str> = remote_keys()
            .filter(|k| k.used_by.is_empty())
            .map(Key::short)
            .collect();
        assert_eq!(common, COMMON_KEYS);
        for k in remote_keys() {
            for kind in k.used_by.iter().chain(k.required_in) {
                assert!(RemoteKind::NAMES.contains(kind), "{}: {kind}", k.name);
            }
            for kind in k.required_in {
                assert!(k.used_by.contains(kind), "{} required by {kind}", k.name);
            }
        }
    }

    #[test]
    fn every_key_a_kind_takes_reaches_the_validated_remote() {
        for kind in RemoteKind::ALL {
            let f = full(kind);
            let r = from_file_unchecked(f, Path::new("/p"));
            assert_eq!(r.kind(), kind);
            let mut want: Vec<&str> = kind.spec().keys().map(Key::short).collect();
            want.sort_by_key(|k| schema_index(k));
            let got: Vec<&str> = r.settings().iter().map(|(k, _)| *k).collect();
            assert_eq!(got, want, "{}", kind.name());
            let shown: Vec<String> = describe(&r).into_iter().map(|(k, _)| k).collect();
            for k in want.iter().chain(&["type", "read_only"]) {
                assert_eq!(
                    shown.iter().filter(|s| s == k).count(),
                    1,
                    "{} {k}: {shown:?}",
                    kind.name()
                );
            }
        }
    }

    #[test]
    fn env_refs_cover_every_env_key_of_the_schema() {
        let mut refs: Vec<&str> = Vec::new();
        for kind in RemoteKind::ALL {
            let r = from_file_unchecked(full(kind), Path::new("/p"));
            for (key, var) in r.env_refs() {
                assert!(is_env_key(key), "{key}");
                assert!(is_env_name(var), "{key} = {var}");
                refs.push(key);
            }
        }
        for field in remote_keys().filter(|f| is_env_key(f.short())) {
            assert!(
                refs.contains(&field.short()),
                "{} is in no env_refs",
                field.name
            );
        }
    }

    #[test]
    fn validate_follows_the_kind_table() {
        for kind in RemoteKind::ALL {
            let f = full(kind);
            let not_used: Vec<ConfigError> = problems(&f)
                .into_iter()
                .filter(|e| e.message.starts_with("not used"))
                .collect();
            assert_eq!(not_used, Vec::new(), "{}", kind.name());
            for field in remote_keys() {
                if COMMON_KEYS.contains(&field.short()) || kind.spec().takes(field.short()) {
                    continue;
                }
                let text = format!("type = \"{}\"\n{}\n", kind.name(), field.example);
                let f: FileRemote = toml::from_str(&text).expect("parse");
                let errs = problems(&f);
                assert!(
                    errs.iter().any(|e| is(e, field.short(), "not used")),
                    "{} {}: {errs:?}",
                    kind.name(),
                    field.name
                );
            }
            for (key, _) in kind.spec().required() {
                let f: FileRemote =
                    toml::from_str(&format!("type = \"{}\"\n", kind.name())).expect("parse");
                assert!(
                    problems(&f).iter().any(|e| is(e, key, "required")),
                    "{} {}",
                    kind.name(),
                    key
                );
            }
        }
    }

    #[test]
    fn authorities() {
        assert!(check_authority("127.0.0.1:6379").is_ok());
        assert!(check_authority("cache.internal").is_ok());
        assert!(check_authority("u:pw@h:1/x").is_ok());
        assert!(check_authority("[::1]:11211").is_ok());
        assert!(check_authority("127.0.0.1:99999").is_err());
        assert!(check_authority("127.0.0.1:0").is_err());
        assert!(check_authority(":6379").is_err());
        assert!(check_authority("h:port").is_err());
    }
}
