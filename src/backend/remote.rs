//! Remote caches: describing a `[cache.remote]` without secrets, and `config check`.

use std::path::Path;

use crate::config::{self, ConfigError, Remote};

/// `(key, value)` pairs describing a remote, secrets shown only as variable references.
pub fn describe(r: &Remote) -> Vec<(String, String)> {
    let mut out = vec![("type".to_string(), format!("\"{}\"", r.kind.name()))];
    let q = |s: &str| format!("\"{s}\"");
    if !r.endpoints.is_empty() {
        let eps: Vec<String> = r
            .endpoints
            .iter()
            .map(|e| q(&config::remote::redact_url(e)))
            .collect();
        out.push(("endpoint".into(), eps.join(", ")));
    }
    for (k, v) in [
        ("bucket", &r.bucket),
        ("region", &r.region),
        ("prefix", &r.prefix),
        ("username", &r.username),
        ("container", &r.container),
    ] {
        if let Some(v) = v {
            out.push((k.into(), q(v)));
        }
    }
    for (k, v) in [
        ("access_key_env", &r.access_key_env),
        ("secret_key_env", &r.secret_key_env),
        ("session_token_env", &r.session_token_env),
        ("password_env", &r.password_env),
        ("token_env", &r.token_env),
        ("connection_string_env", &r.connection_string_env),
    ] {
        if let Some(v) = v {
            out.push((k.into(), format!("\"{v}\" (value hidden)")));
        }
    }
    if let Some(v) = r.use_ssl {
        out.push(("use_ssl".into(), v.to_string()));
    }
    out.push(("read_only".into(), r.read_only.to_string()));
    if let Some(v) = r.db {
        out.push(("db".into(), v.to_string()));
    }
    if let Some(v) = r.ttl {
        out.push(("ttl".into(), v.to_string()));
    }
    if let Some(v) = &r.key_path {
        out.push(("key_path".into(), q(&v.display().to_string())));
    }
    if let Some(v) = r.timeout_ms {
        out.push(("timeout_ms".into(), v.to_string()));
    }
    for (k, v) in &r.extra {
        out.push((format!("extra.{k}"), q(v)));
    }
    out
}

/// Every problem with the configuration in effect for `cwd`.
pub fn check_all(cwd: &Path) -> Vec<ConfigError> {
    match config::load(cwd) {
        Ok(_) => Vec::new(),
        Err(e) => vec![e],
    }
}
