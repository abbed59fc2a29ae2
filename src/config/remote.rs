//! `[cache.remote]`: the shared remote cache, as written in a config file and validated.
//!
//! Secrets are never values here: only the names of environment variables (or files)
//! that hold them. How each tool is told about the remote lives in `crate::backend`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The kinds of remote store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RemoteKind {
    S3,
    Redis,
    Gcs,
    Http,
    Webdav,
    Memcached,
    Azure,
}

impl RemoteKind {
    pub fn name(self) -> &'static str {
        match self {
            RemoteKind::S3 => "s3",
            RemoteKind::Redis => "redis",
            RemoteKind::Gcs => "gcs",
            RemoteKind::Http => "http",
            RemoteKind::Webdav => "webdav",
            RemoteKind::Memcached => "memcached",
            RemoteKind::Azure => "azure",
        }
    }
}

/// One endpoint or a list of them (memcached).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Endpoints {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRemote {
    #[serde(rename = "type")]
    pub kind: RemoteKind,
    pub endpoint: Option<Endpoints>,
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub prefix: Option<String>,
    pub use_ssl: Option<bool>,
    pub read_only: Option<bool>,
    pub access_key_env: Option<String>,
    pub secret_key_env: Option<String>,
    pub session_token_env: Option<String>,
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub token_env: Option<String>,
    pub db: Option<u32>,
    pub ttl: Option<u64>,
    pub key_path: Option<PathBuf>,
    pub container: Option<String>,
    pub connection_string_env: Option<String>,
    pub timeout_ms: Option<u64>,
    pub extra: Option<BTreeMap<String, String>>,
}

/// A validated remote configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Remote {
    pub kind: RemoteKind,
    pub endpoints: Vec<String>,
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub prefix: Option<String>,
    pub use_ssl: Option<bool>,
    pub read_only: bool,
    pub access_key_env: Option<String>,
    pub secret_key_env: Option<String>,
    pub session_token_env: Option<String>,
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub token_env: Option<String>,
    pub db: Option<u32>,
    pub ttl: Option<u64>,
    pub key_path: Option<PathBuf>,
    pub container: Option<String>,
    pub connection_string_env: Option<String>,
    pub timeout_ms: Option<u64>,
    pub extra: BTreeMap<String, String>,
}

/// (dotted key, message, hint)
pub type RemoteError = (String, String, String);

fn missing(field: &str, kind: RemoteKind, example: &str) -> RemoteError {
    (
        format!("cache.remote.{field}"),
        format!("required for type = \"{}\"", kind.name()),
        format!("add `{example}` to [cache.remote]"),
    )
}

/// Every problem with a `[cache.remote]` table, all at once (for `config check`).
pub fn validate(f: &FileRemote) -> Vec<RemoteError> {
    let mut out = Vec::new();
    let kind = f.kind;
    let endpoints: Vec<&String> = match &f.endpoint {
        None => Vec::new(),
        Some(Endpoints::One(s)) => vec![s],
        Some(Endpoints::Many(v)) => v.iter().collect(),
    };
    match kind {
        RemoteKind::S3 | RemoteKind::Gcs if f.bucket.is_none() => {
            out.push(missing("bucket", kind, "bucket = \"build-cache\""));
        }
        RemoteKind::Redis if endpoints.is_empty() => {
            out.push(missing(
                "endpoint",
                kind,
                "endpoint = \"redis://127.0.0.1:6379\"",
            ));
        }
        RemoteKind::Memcached if endpoints.is_empty() => {
            out.push(missing(
                "endpoint",
                kind,
                "endpoint = [\"tcp://127.0.0.1:11211\"]",
            ));
        }
        RemoteKind::Http | RemoteKind::Webdav if endpoints.is_empty() => {
            out.push(missing(
                "endpoint",
                kind,
                "endpoint = \"http://cache.internal:8080/ccache\"",
            ));
        }
        _ => {}
    }
    if kind == RemoteKind::Azure {
        if f.container.is_none() {
            out.push(missing("container", kind, "container = \"build-cache\""));
        }
        if f.connection_string_env.is_none() {
            out.push(missing(
                "connection_string_env",
                kind,
                "connection_string_env = \"AZURE_STORAGE_CONNECTION_STRING\"",
            ));
        }
    }
    if endpoints.len() > 1 && kind != RemoteKind::Memcached {
        out.push((
            "cache.remote.endpoint".into(),
            format!("type = \"{}\" takes one endpoint, not a list", kind.name()),
            "write a single string".into(),
        ));
    }
    for e in &endpoints {
        if let Err(err) = check_scheme(kind, e) {
            out.push(err);
        }
    }
    for (field, set) in present_fields(f) {
        if set && !allowed_fields(kind).contains(&field) {
            out.push((
                format!("cache.remote.{field}"),
                format!("not used by type = \"{}\"", kind.name()),
                format!(
                    "remove it; type = \"{}\" takes {}",
                    kind.name(),
                    allowed_fields(kind).join(", ")
                ),
            ));
        }
    }
    for (field, name) in env_refs(f) {
        if !is_env_name(name) {
            out.push((
                format!("cache.remote.{field}"),
                "must be the name of an environment variable that holds the secret, not the secret"
                    .into(),
                format!("write e.g. `{field} = \"BUILD_CACHE_SECRET\"` and set that variable"),
            ));
        }
    }
    if f.ttl == Some(0) {
        out.push((
            "cache.remote.ttl".into(),
            "must be a positive number of seconds".into(),
            "e.g. `ttl = 604800` (7 days), or remove it for no expiry".into(),
        ));
    }
    if f.timeout_ms == Some(0) {
        out.push((
            "cache.remote.timeout_ms".into(),
            "must be a positive number of milliseconds".into(),
            "e.g. `timeout_ms = 1000`".into(),
        ));
    }
    for k in f.extra.iter().flat_map(|m| m.keys()) {
        let sccache = k.starts_with("SCCACHE_")
            && k.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        let ccache = !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
        if !sccache && !ccache {
            out.push((
                format!("cache.remote.extra.{k}"),
                "not an sccache variable (`SCCACHE_...`) nor a ccache remote-storage attribute (`lower-case-name`)".into(),
                "e.g. `extra = { SCCACHE_S3_SERVER_SIDE_ENCRYPTION = \"true\" }` or `extra = { connect-timeout = \"500\" }`".into(),
            ));
        }
    }
    out
}

/// Which optional fields each type takes.
fn allowed_fields(kind: RemoteKind) -> &'static [&'static str] {
    match kind {
        RemoteKind::S3 => &[
            "endpoint",
            "bucket",
            "region",
            "prefix",
            "use_ssl",
            "access_key_env",
            "secret_key_env",
            "session_token_env",
        ],
        RemoteKind::Redis => &[
            "endpoint",
            "prefix",
            "username",
            "password_env",
            "db",
            "ttl",
            "timeout_ms",
        ],
        RemoteKind::Memcached => &["endpoint", "prefix", "username", "password_env", "ttl"],
        RemoteKind::Gcs => &["bucket", "prefix", "key_path"],
        RemoteKind::Http | RemoteKind::Webdav => &[
            "endpoint",
            "prefix",
            "username",
            "password_env",
            "token_env",
            "timeout_ms",
        ],
        RemoteKind::Azure => &["container", "prefix", "connection_string_env"],
    }
}

fn present_fields(f: &FileRemote) -> [(&'static str, bool); 17] {
    [
        ("endpoint", f.endpoint.is_some()),
        ("bucket", f.bucket.is_some()),
        ("region", f.region.is_some()),
        ("prefix", f.prefix.is_some()),
        ("use_ssl", f.use_ssl.is_some()),
        ("access_key_env", f.access_key_env.is_some()),
        ("secret_key_env", f.secret_key_env.is_some()),
        ("session_token_env", f.session_token_env.is_some()),
        ("username", f.username.is_some()),
        ("password_env", f.password_env.is_some()),
        ("token_env", f.token_env.is_some()),
        ("db", f.db.is_some()),
        ("ttl", f.ttl.is_some()),
        ("key_path", f.key_path.is_some()),
        ("container", f.container.is_some()),
        ("connection_string_env", f.connection_string_env.is_some()),
        ("timeout_ms", f.timeout_ms.is_some()),
    ]
}

/// The `*_env` fields that are set: (field, variable name).
fn env_refs(f: &FileRemote) -> Vec<(&'static str, &str)> {
    [
        ("access_key_env", &f.access_key_env),
        ("secret_key_env", &f.secret_key_env),
        ("session_token_env", &f.session_token_env),
        ("password_env", &f.password_env),
        ("token_env", &f.token_env),
        ("connection_string_env", &f.connection_string_env),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
    .collect()
}

/// A plausible environment variable name.
pub fn is_env_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Secrets written into the file itself: a password in an endpoint URL, a credential in
/// `extra`. (key, message, fix) for each.
pub fn literal_secrets(f: &FileRemote) -> Vec<RemoteError> {
    let mut out = Vec::new();
    let endpoints: Vec<&String> = match &f.endpoint {
        None => Vec::new(),
        Some(Endpoints::One(s)) => vec![s],
        Some(Endpoints::Many(v)) => v.iter().collect(),
    };
    for e in endpoints {
        if url_has_password(e) {
            out.push((
                "cache.remote.endpoint".into(),
                format!(
                    "`{}` holds a password written in the file",
                    redact_url(e)
                ),
                "remove the user:password@ part; set `password_env = \"VAR\"` (and `username`) and keep the password in that variable".into(),
            ));
        }
    }
    for (k, v) in f.extra.iter().flat_map(|m| m.iter()) {
        if crate::secrets::is_credential_name(k) && !v.is_empty() {
            out.push((
                format!("cache.remote.extra.{k}"),
                "a credential written in the file".into(),
                "use the matching `*_env` field (password_env, token_env, secret_key_env, connection_string_env) so the value stays in an environment variable".into(),
            ));
        }
    }
    out
}

/// Does this URL carry `user:password@` (or a bare `password@` for redis)?
pub fn url_has_password(url: &str) -> bool {
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
pub fn from_file(f: FileRemote, base: &Path) -> Result<Remote, RemoteError> {
    if let Some(first) = validate(&f).into_iter().next() {
        return Err(first);
    }
    Ok(from_file_unchecked(f, base))
}

/// As `from_file` without validation (for `config check`, which lists the problems itself).
pub fn from_file_unchecked(f: FileRemote, base: &Path) -> Remote {
    let endpoints = match f.endpoint {
        None => Vec::new(),
        Some(Endpoints::One(s)) => vec![s],
        Some(Endpoints::Many(v)) => v,
    };
    Remote {
        kind: f.kind,
        endpoints,
        bucket: f.bucket,
        region: f.region,
        prefix: f.prefix,
        use_ssl: f.use_ssl,
        read_only: f.read_only.unwrap_or(false),
        access_key_env: f.access_key_env,
        secret_key_env: f.secret_key_env,
        session_token_env: f.session_token_env,
        username: f.username,
        password_env: f.password_env,
        token_env: f.token_env,
        db: f.db,
        ttl: f.ttl,
        key_path: f.key_path.map(|p| base.join(p)),
        container: f.container,
        connection_string_env: f.connection_string_env,
        timeout_ms: f.timeout_ms,
        extra: f.extra.unwrap_or_default(),
    }
}

fn check_scheme(kind: RemoteKind, endpoint: &str) -> Result<(), RemoteError> {
    let allowed: &[&str] = match kind {
        RemoteKind::Redis => &["redis://", "rediss://", "redis+unix://"],
        RemoteKind::Memcached => &["tcp://", "udp://", "unix://", "memcache://"],
        RemoteKind::Http
        | RemoteKind::Webdav
        | RemoteKind::S3
        | RemoteKind::Gcs
        | RemoteKind::Azure => &["http://", "https://"],
    };
    if let Some(scheme) = allowed.iter().find(|s| endpoint.starts_with(*s)) {
        if scheme.contains("unix") {
            return Ok(());
        }
        return check_authority(&endpoint[scheme.len()..]).map_err(|why| {
            (
                "cache.remote.endpoint".into(),
                format!("`{}`: {why}", redact_url(endpoint)),
                format!("write it as `{scheme}HOST:PORT`, with a port from 1 to 65535"),
            )
        });
    }
    Err((
        "cache.remote.endpoint".into(),
        format!(
            "`{}` has an unsupported scheme for type = \"{}\"",
            redact_url(endpoint),
            kind.name()
        ),
        format!("use a URL starting with {}", allowed.join(" or ")),
    ))
}

/// Check the `[user@]host[:port]` part of a URL (pure): a host, and a port in 1..=65535.
fn check_authority(rest: &str) -> Result<(), String> {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, rest)) => (h, rest.strip_prefix(':')),
            None => return Err("an IPv6 address without its closing `]`".into()),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    match port {
        None => Ok(()),
        Some(p) => match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(()),
            _ => Err(format!("port `{p}` is not a number from 1 to 65535")),
        },
    }
}

/// A URL with any `user:password@` part replaced, for messages.
pub fn redact_url(url: &str) -> String {
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
