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

/// Validate the fields a remote of this type needs; resolve relative paths against `base`.
pub fn from_file(f: FileRemote, base: &Path) -> Result<Remote, RemoteError> {
    let endpoints = match f.endpoint {
        None => Vec::new(),
        Some(Endpoints::One(s)) => vec![s],
        Some(Endpoints::Many(v)) => v,
    };
    let kind = f.kind;
    match kind {
        RemoteKind::S3 if f.bucket.is_none() => {
            return Err(missing("bucket", kind, "bucket = \"build-cache\""));
        }
        RemoteKind::Gcs if f.bucket.is_none() => {
            return Err(missing("bucket", kind, "bucket = \"build-cache\""));
        }
        RemoteKind::Azure if f.container.is_none() => {
            return Err(missing("container", kind, "container = \"build-cache\""));
        }
        RemoteKind::Azure if f.connection_string_env.is_none() => {
            return Err(missing(
                "connection_string_env",
                kind,
                "connection_string_env = \"AZURE_STORAGE_CONNECTION_STRING\"",
            ));
        }
        RemoteKind::Redis if endpoints.is_empty() => {
            return Err(missing(
                "endpoint",
                kind,
                "endpoint = \"redis://127.0.0.1:6379\"",
            ));
        }
        RemoteKind::Memcached if endpoints.is_empty() => {
            return Err(missing(
                "endpoint",
                kind,
                "endpoint = [\"tcp://127.0.0.1:11211\"]",
            ));
        }
        RemoteKind::Http | RemoteKind::Webdav if endpoints.is_empty() => {
            return Err(missing(
                "endpoint",
                kind,
                "endpoint = \"http://cache.internal:8080/ccache\"",
            ));
        }
        _ => {}
    }
    if endpoints.len() > 1 && kind != RemoteKind::Memcached {
        return Err((
            "cache.remote.endpoint".into(),
            format!("type = \"{}\" takes one endpoint, not a list", kind.name()),
            "write a single string".into(),
        ));
    }
    for e in &endpoints {
        check_scheme(kind, e)?;
    }
    Ok(Remote {
        kind,
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
    })
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
    if allowed.iter().any(|s| endpoint.starts_with(s)) {
        return Ok(());
    }
    if endpoint.contains('@') && endpoint.contains(':') && !endpoint.starts_with("redis") {
        // Fall through to the scheme error; credentials in URLs are reported by `config check`.
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
