//! Remote caches: `[cache.remote]` mapped to each tool's own settings, and the probe of
//! the endpoints before an sccache server starts. (Describing and checking a remote is
//! `crate::config`'s: `config::remote::describe`, `config::check`.)
//!
//! sccache's mapping is a table per kind (`sccache_table`): each variable and where its
//! value comes from. A mapping is a list of [`Var`]s whose values are made of literal text and references
//! to the environment variables that hold secrets. The compile path resolves the
//! references (`resolve`); `toolchainkit env` prints them as references (`${VAR}`), so a
//! secret value is never written anywhere by toolchainkit.
//!
//! sccache: `SCCACHE_*` variables of sccache 0.16 (S3, Redis, memcached, GCS, WebDAV,
//! Azure). ccache: one `CCACHE_REMOTE_STORAGE` URL with `|attribute=value` pairs (its
//! built-in http and redis clients; ccache has no S3, GCS, Azure or memcached backend and
//! no HTTPS without a storage helper). The environment is used, never a `ccache.conf`:
//! ccache ignores remote settings from a directory config outside its `safe_dirs`.

use std::ffi::OsString;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::storage_helper;
pub(crate) use crate::config::remote::Unsupported;
use crate::config::remote::{RemoteKind, Store, Value};
use crate::config::{Config, Remote, Tool};

/// One piece of a variable's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Lit(String),
    /// A credential written literally in the configuration (`extra`): used on the compile
    /// path, never shown (`config check` reports it so it can move to a variable).
    Hidden(String),
    /// The value of this environment variable (a secret). `url` percent-encodes it for
    /// the userinfo part of a URL.
    Secret {
        var: String,
        url: bool,
    },
    /// Nothing in the value, but the value is useless unless this variable is set: the
    /// storage helper reads the credential from it (only its name is in the value).
    Require(String),
}

/// A variable a tool needs, with secrets as references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Var {
    pub name: String,
    pub parts: Vec<Part>,
}

impl Var {
    fn lit(name: &str, value: impl Into<String>) -> Var {
        Var {
            name: name.into(),
            parts: vec![Part::Lit(value.into())],
        }
    }
    fn secret(name: &str, var: &str) -> Var {
        Var {
            name: name.into(),
            parts: vec![Part::Secret {
                var: var.into(),
                url: false,
            }],
        }
    }
    /// The environment variables this value references.
    pub(crate) fn refs(&self) -> Vec<&str> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Secret { var, .. } => Some(var.as_str()),
                Part::Lit(_) | Part::Hidden(_) | Part::Require(_) => None,
            })
            .collect()
    }
    pub(crate) fn is_secret(&self) -> bool {
        !self.refs().is_empty() || self.has_hidden()
    }
    /// Does the value hold a credential written literally in the configuration?
    pub(crate) fn has_hidden(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Hidden(_)))
    }
}

/// The variables `tool` needs for remote `r` (for ccache: a ccache that starts storage
/// helpers, as the pinned one does).
pub(crate) fn vars_for(tool: Tool, r: &Remote) -> Result<Vec<Var>, Unsupported> {
    match tool {
        Tool::Sccache => Ok(sccache_vars(r)),
        Tool::Ccache => ccache_vars_via(r, storage_helper::helper_path(), true),
    }
}

/// ccache's variables for `r`: through toolchainkit's storage helper when this ccache
/// starts helpers (`helpers`) and the helper is installed, else with ccache's own http and
/// redis clients, which serve the rest.
pub(crate) fn ccache_vars_via(
    r: &Remote,
    helper: Result<std::path::PathBuf, String>,
    helpers: bool,
) -> Result<Vec<Var>, Unsupported> {
    let kind = r.kind().name();
    match (helpers, helper) {
        (true, Ok(h)) => ccache_helper_vars(r, &h).or_else(|u| {
            if storage_helper::needs_helper(r) {
                Err(u)
            } else {
                ccache_builtin_vars(r)
            }
        }),
        _ if !storage_helper::needs_helper(r) => ccache_builtin_vars(r),
        (false, _) => Err(Unsupported {
            message: format!(
                "ccache reaches this {kind} remote only through a storage helper, and this ccache starts none (ccache 4.13 or newer lists `crsh-storage` in `ccache --version`)"
            ),
            fix: "install a newer ccache (`toolchainkit tool install ccache`), or set `tool = \"sccache\"` in [cache]".into(),
        }),
        (true, Err(why)) => Err(Unsupported {
            message: format!(
                "ccache reaches this {kind} remote only through toolchainkit's storage helper: {why}"
            ),
            fix: "install toolchainkit with `cargo install --locked --path .`, which puts toolchainkit-storage beside it".into(),
        }),
    }
}

/// Where an sccache variable's value comes from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// The value of this `[cache.remote]` key (the first endpoint; a variable reference
    /// for a `*_env` key).
    Key(&'static str),
    /// `prefix` without leading and trailing slashes.
    Prefix,
    /// The first endpoint without a trailing slash (with one, sccache's WebDAV backend
    /// requests `//.sccache_check`).
    EndpointNoSlash,
    /// `use_ssl`, or whether the endpoint is `https://`.
    UseSsl,
    /// `READ_ONLY` or `READ_WRITE`, from `read_only` (sccache's GCS backend is read-only
    /// unless told otherwise).
    RwMode,
}

/// sccache 0.16's variables for each kind, in the order they are set.
fn sccache_table(kind: RemoteKind) -> &'static [(&'static str, Source)] {
    use Source::*;
    match kind {
        RemoteKind::S3 => &[
            ("SCCACHE_BUCKET", Key("bucket")),
            ("SCCACHE_REGION", Key("region")),
            ("SCCACHE_ENDPOINT", Key("endpoint")),
            ("SCCACHE_S3_USE_SSL", UseSsl),
            ("SCCACHE_S3_KEY_PREFIX", Prefix),
            ("AWS_ACCESS_KEY_ID", Key("access_key_env")),
            ("AWS_SECRET_ACCESS_KEY", Key("secret_key_env")),
            ("AWS_SESSION_TOKEN", Key("session_token_env")),
            ("SCCACHE_S3_RW_MODE", RwMode),
        ],
        RemoteKind::Redis => &[
            ("SCCACHE_REDIS_ENDPOINT", Key("endpoint")),
            ("SCCACHE_REDIS_USERNAME", Key("username")),
            ("SCCACHE_REDIS_PASSWORD", Key("password_env")),
            ("SCCACHE_REDIS_DB", Key("db")),
            ("SCCACHE_REDIS_KEY_PREFIX", Prefix),
            ("SCCACHE_REDIS_TTL", Key("ttl")),
            ("SCCACHE_REDIS_RW_MODE", RwMode),
        ],
        RemoteKind::Memcached => &[
            ("SCCACHE_MEMCACHED_ENDPOINT", Key("endpoint")),
            ("SCCACHE_MEMCACHED_USERNAME", Key("username")),
            ("SCCACHE_MEMCACHED_PASSWORD", Key("password_env")),
            ("SCCACHE_MEMCACHED_KEY_PREFIX", Prefix),
            ("SCCACHE_MEMCACHED_EXPIRATION", Key("ttl")),
            ("SCCACHE_MEMCACHED_RW_MODE", RwMode),
        ],
        RemoteKind::Gcs => &[
            ("SCCACHE_GCS_BUCKET", Key("bucket")),
            ("SCCACHE_GCS_KEY_PREFIX", Prefix),
            ("SCCACHE_GCS_KEY_PATH", Key("key_path")),
            ("SCCACHE_GCS_RW_MODE", RwMode),
        ],
        RemoteKind::Http | RemoteKind::Webdav => &[
            ("SCCACHE_WEBDAV_ENDPOINT", EndpointNoSlash),
            ("SCCACHE_WEBDAV_USERNAME", Key("username")),
            ("SCCACHE_WEBDAV_PASSWORD", Key("password_env")),
            ("SCCACHE_WEBDAV_TOKEN", Key("token_env")),
            ("SCCACHE_WEBDAV_KEY_PREFIX", Prefix),
            ("SCCACHE_WEBDAV_RW_MODE", RwMode),
        ],
        RemoteKind::Azure => &[
            (
                "SCCACHE_AZURE_CONNECTION_STRING",
                Key("connection_string_env"),
            ),
            ("SCCACHE_AZURE_BLOB_CONTAINER", Key("container")),
            ("SCCACHE_AZURE_KEY_PREFIX", Prefix),
            ("SCCACHE_AZURE_RW_MODE", RwMode),
        ],
    }
}

/// Variable `name` for `r`'s value from `from`, if it has one.
fn sccache_var(r: &Remote, name: &str, from: Source) -> Option<Var> {
    let ep = r.endpoints().first().map(String::as_str);
    Some(match from {
        Source::Key(key) => match r.get(key)? {
            Value::Env(var) => Var::secret(name, var),
            Value::Endpoints(e) => Var::lit(name, e.first()?.as_str()),
            Value::Text(t) => Var::lit(name, t),
            Value::Flag(b) => Var::lit(name, b.to_string()),
            Value::Num(n) => Var::lit(name, n.to_string()),
            Value::Path(p) => Var::lit(name, p.display().to_string()),
        },
        Source::Prefix => Var::lit(name, r.prefix.as_deref()?.trim_matches('/')),
        Source::EndpointNoSlash => Var::lit(name, ep?.trim_end_matches('/')),
        Source::UseSsl => {
            let use_ssl = match r.get("use_ssl") {
                Some(Value::Flag(b)) => Some(b),
                _ => ep.map(|e| e.starts_with("https://")),
            };
            Var::lit(name, use_ssl?.to_string())
        }
        Source::RwMode => Var::lit(
            name,
            if r.read_only {
                "READ_ONLY"
            } else {
                "READ_WRITE"
            },
        ),
    })
}

/// sccache 0.16's variables for `r`. `extra` keys starting with `SCCACHE_` are passed
/// as they are (and override ours).
pub(crate) fn sccache_vars(r: &Remote) -> Vec<Var> {
    let mut v: Vec<Var> = sccache_table(r.kind())
        .iter()
        .filter_map(|(name, from)| sccache_var(r, name, *from))
        .collect();
    for (k, val) in &r.extra {
        if k.starts_with("SCCACHE_") {
            v.retain(|x| &x.name != k);
            v.push(if crate::secrets::is_credential_name(k) {
                Var {
                    name: k.clone(),
                    parts: vec![Part::Hidden(val.clone())],
                }
            } else {
                Var::lit(k, val.clone())
            });
        }
    }
    v
}

/// ccache's `CCACHE_REMOTE_STORAGE` for `r` through the storage helper at `helper`: the
/// entry, and the variables the helper reads credentials from as `Require` parts.
fn ccache_helper_vars(r: &Remote, helper: &std::path::Path) -> Result<Vec<Var>, Unsupported> {
    let e = storage_helper::entry(r, helper)?;
    let mut parts = vec![Part::Lit(e.render())];
    parts.extend(e.requires.into_iter().map(Part::Require));
    Ok(vec![Var {
        name: "CCACHE_REMOTE_STORAGE".into(),
        parts,
    }])
}

/// ccache's `CCACHE_REMOTE_STORAGE` for `r` with its built-in clients (a ccache without
/// storage helpers): a URL plus `|attribute=value` pairs. `extra` keys that are lower-case
/// attribute names are appended (and override ours).
pub(crate) fn ccache_builtin_vars(r: &Remote) -> Result<Vec<Var>, Unsupported> {
    let only_sccache = |what: &str| Unsupported {
        message: format!("ccache has no {what} backend"),
        fix: format!(
            "set `tool = \"sccache\"` in [cache] (sccache serves type = \"{}\"), or use a redis or http remote with ccache",
            r.kind().name()
        ),
    };
    let mut attrs: Vec<(String, String)> = Vec::new();
    let mut parts: Vec<Part> = Vec::new();
    let mut token_env = None;
    let timeout_ms = match &r.store {
        Store::S3 { .. } => return Err(only_sccache("S3")),
        Store::Gcs { .. } => return Err(only_sccache("GCS")),
        Store::Azure { .. } => return Err(only_sccache("Azure Blob")),
        Store::Memcached { .. } => return Err(only_sccache("memcached")),
        Store::Redis {
            endpoint: ep,
            login,
            db,
            timeout_ms,
            ..
        } => {
            if !(ep.starts_with("redis://") || ep.starts_with("redis+unix://")) {
                return Err(Unsupported {
                    message: "ccache's redis client has no TLS (`rediss://`)".into(),
                    fix: "set `tool = \"sccache\"`, or use a `redis://` endpoint".into(),
                });
            }
            if r.prefix.is_some() {
                return Err(Unsupported {
                    message: "ccache's redis backend has no key prefix".into(),
                    fix:
                        "remove `prefix` (use `db` to separate caches), or set `tool = \"sccache\"`"
                            .into(),
                });
            }
            // ccache reads `redis://PASSWORD@host` or `redis://USER:PASSWORD@host`; an empty
            // user (`redis://:PASSWORD@`) does not authenticate in 4.14.
            // The database is the URL's path (`redis://host:port/DB`), unless it has one.
            let has_path = ep
                .split_once("://")
                .is_some_and(|(_, rest)| rest.trim_end_matches('/').contains('/'));
            let ep = match db {
                Some(db) if !has_path => format!("{}/{db}", ep.trim_end_matches('/')),
                _ => ep.to_string(),
            };
            parts.extend(userinfo(
                &ep,
                login.username.as_deref(),
                login.password_env.as_deref(),
            ));
            *timeout_ms
        }
        Store::Http(d) | Store::Webdav(d) => {
            let ep = d.endpoint.as_str();
            if ep.starts_with("https://") {
                return Err(Unsupported {
                    message: "ccache has no built-in HTTPS client (only through a storage helper)".into(),
                    fix: "set `tool = \"sccache\"` (its webdav backend speaks HTTPS), or use an http:// endpoint".into(),
                });
            }
            parts.extend(userinfo(
                ep,
                d.login.username.as_deref(),
                d.login.password_env.as_deref(),
            ));
            if let Some(p) = r.prefix.as_deref().map(|p| p.trim_matches('/'))
                && !p.is_empty()
                && let Some(Part::Lit(s)) = parts.last_mut()
            {
                *s = format!("{}/{p}", s.trim_end_matches('/'));
            }
            // ccache only GETs and PUTs; a WebDAV server refuses a PUT into a missing
            // collection, and `flat` needs only the base collection.
            if matches!(r.store, Store::Webdav(_)) {
                attrs.push(("layout".into(), "flat".into()));
            }
            token_env = d.token_env.as_deref();
            d.timeout_ms
        }
    };
    if r.read_only {
        attrs.push(("read-only".into(), "true".into()));
    }
    if let Some(t) = timeout_ms {
        attrs.push(("operation-timeout".into(), t.to_string()));
    }
    let mut hidden = Vec::new();
    for (k, v) in &r.extra {
        if !k.starts_with("SCCACHE_") {
            attrs.retain(|(a, _)| a != k);
            if crate::secrets::is_credential_name(k) {
                hidden.push(Part::Lit(format!("|{k}=")));
                hidden.push(Part::Hidden(v.clone()));
            } else {
                attrs.push((k.clone(), v.clone()));
            }
        }
    }
    let mut text = String::new();
    for (k, v) in &attrs {
        text.push_str(&format!("|{k}={v}"));
    }
    let mut token_parts = Vec::new();
    if let Some(t) = token_env
        && !r.extra.contains_key("bearer-token")
    {
        token_parts.push(Part::Lit("|bearer-token=".into()));
        token_parts.push(Part::Secret {
            var: t.to_string(),
            url: false,
        });
    }
    parts.push(Part::Lit(text));
    parts.extend(token_parts);
    parts.extend(hidden);
    Ok(vec![Var {
        name: "CCACHE_REMOTE_STORAGE".into(),
        parts: merge_lits(parts),
    }])
}

/// `scheme://` + `[user:]${PASSWORD}@` + rest, for a URL without its own userinfo.
fn userinfo(ep: &str, user: Option<&str>, password_env: Option<&str>) -> Vec<Part> {
    let (Some(pw), Some(i)) = (password_env, ep.find("://")) else {
        return vec![Part::Lit(ep.into())];
    };
    let (scheme, rest) = ep.split_at(i + 3);
    let mut out = vec![Part::Lit(scheme.into())];
    if let Some(u) = user {
        out.push(Part::Lit(format!("{}:", pct(u))));
    }
    out.push(Part::Secret {
        var: pw.into(),
        url: true,
    });
    out.push(Part::Lit(format!("@{rest}")));
    out
}

fn merge_lits(parts: Vec<Part>) -> Vec<Part> {
    let mut out: Vec<Part> = Vec::new();
    for p in parts {
        match (out.last_mut(), p) {
            (Some(Part::Lit(a)), Part::Lit(b)) => a.push_str(&b),
            (_, Part::Lit(b)) if b.is_empty() => {}
            (_, p) => out.push(p),
        }
    }
    out
}

/// Percent-encode everything but unreserved characters (for URL userinfo).
fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Resolve references from the environment, for the tool's child process. A reference
/// to an unset variable drops the whole variable (and is logged by name, never value).
pub(crate) fn resolve(vars: &[Var]) -> Vec<(String, OsString)> {
    let mut out = Vec::new();
    'vars: for v in vars {
        let mut val = String::new();
        for p in &v.parts {
            match p {
                Part::Lit(s) | Part::Hidden(s) => val.push_str(s),
                Part::Secret { var, .. } | Part::Require(var) => match std::env::var(var) {
                    Ok(s) if !s.is_empty() => match p {
                        Part::Secret { url: true, .. } => val.push_str(&pct(&s)),
                        Part::Secret { .. } => val.push_str(&s),
                        _ => {}
                    },
                    _ => {
                        log::warn!(
                            "remote cache: environment variable {var} (for {}) is not set; {} left out",
                            v.name,
                            v.name
                        );
                        crate::stats::causes::note(
                            "remote.secret_unset",
                            format!(
                                "the remote cache's variable {var} is not set in the build's environment, so {} was left out: compiles used the local cache only",
                                v.name
                            ),
                        );
                        continue 'vars;
                    }
                },
            }
        }
        out.push((v.name.clone(), OsString::from(val)));
    }
    out
}

/// The resolved remote variables for `tool`, or nothing (logged) when there is no remote
/// or the tool cannot serve it.
/// For ccache, `exe` is the ccache that runs (whether it starts storage helpers); without
/// one, its built-in clients are assumed.
pub(crate) fn tool_env(
    tool: Tool,
    cfg: &Config,
    exe: Option<&std::path::Path>,
) -> Vec<(String, OsString)> {
    let Some(r) = &cfg.remote.value else {
        return Vec::new();
    };
    let vars = match tool {
        Tool::Sccache => Ok(sccache_vars(r)),
        Tool::Ccache => {
            let helpers = exe.is_some_and(storage_helper::ccache_has_helpers);
            let helper = if helpers {
                storage_helper::helper_path()
            } else {
                Err(String::new())
            };
            ccache_vars_via(r, helper, helpers)
        }
    };
    match vars {
        Ok(vars) => resolve(&vars),
        Err(u) => {
            log::warn!(
                "remote cache ignored: {} ({})",
                u.message,
                cfg.remote.origin
            );
            crate::stats::causes::note(
                "remote.unusable",
                format!(
                    "the remote cache was ignored: {} ({})",
                    u.message, cfg.remote.origin
                ),
            );
            Vec::new()
        }
    }
}

/// `host:port` pairs to probe before starting a server for `r` (an unreachable remote
/// would make sccache's start wait 10 s for redis and memcached).
pub(crate) fn probe_targets(r: &Remote) -> Vec<(String, u16)> {
    let mut out = Vec::new();
    let default_port = |scheme: &str| match scheme {
        "redis" | "rediss" => Some(6379),
        "tcp" | "memcache" => Some(11211),
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    let mut urls: Vec<String> = r.endpoints().to_vec();
    if let Store::Azure {
        connection_string_env: var,
        ..
    } = &r.store
        && let Ok(cs) = std::env::var(var)
        && let Some(be) = cs
            .split(';')
            .find_map(|kv| kv.strip_prefix("BlobEndpoint="))
    {
        urls.push(be.to_string());
    }
    for u in urls {
        let Some((scheme, rest)) = u.split_once("://") else {
            continue;
        };
        let hostport = rest.split(['/', '?']).next().unwrap_or("");
        let hostport = hostport.rsplit('@').next().unwrap_or("");
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => match p.parse() {
                Ok(p) => (h, Some(p)),
                Err(_) => (hostport, default_port(scheme)),
            },
            _ => (hostport, default_port(scheme)),
        };
        if let Some(port) = port
            && !host.is_empty()
        {
            out.push((host.trim_matches(['[', ']']).to_string(), port));
        }
    }
    out
}

/// Can every target be reached within `timeout`? `Err` names the first that cannot.
pub(crate) fn probe(targets: &[(String, u16)], timeout: Duration) -> Result<(), String> {
    for (host, port) in targets {
        let addrs: Vec<_> = (host.as_str(), *port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {host}:{port}: {e}"))?
            .collect();
        if !addrs
            .iter()
            .any(|a| TcpStream::connect_timeout(a, timeout).is_ok())
        {
            return Err(format!("{host}:{port} does not accept connections"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::remote::{FileRemote, from_file};
    use std::path::Path;

    fn remote(toml_text: &str) -> Remote {
        let f: FileRemote = toml::from_str(toml_text).expect("toml");
        from_file(f, Path::new("/p")).expect("valid")
    }

    fn render(v: &Var) -> String {
        v.parts
            .iter()
            .map(|p| match p {
                Part::Lit(s) => s.clone(),
                Part::Hidden(_) => "(hidden)".into(),
                Part::Secret { var, .. } => format!("${{{var}}}"),
                Part::Require(_) => String::new(),
            })
            .collect()
    }

    #[test]
    fn ccache_redis_url_with_password_db_and_attributes() {
        let r = remote(
            "type = \"redis\"\nendpoint = \"redis://h:6379\"\npassword_env = \"PW\"\ndb = 3\nread_only = true\ntimeout_ms = 500\n",
        );
        let v = ccache_builtin_vars(&r).expect("ccache serves redis");
        assert_eq!(
            render(&v[0]),
            "redis://${PW}@h:6379/3|read-only=true|operation-timeout=500"
        );
    }

    #[test]
    fn ccache_webdav_is_flat_and_https_or_s3_are_refused() {
        let r = remote(
            "type = \"webdav\"\nendpoint = \"http://h/c\"\nusername = \"u\"\npassword_env = \"PW\"\nprefix = \"team\"\n",
        );
        let v = ccache_builtin_vars(&r).expect("ccache serves http webdav");
        assert_eq!(render(&v[0]), "http://u:${PW}@h/c/team|layout=flat");
        let https = remote("type = \"webdav\"\nendpoint = \"https://h/c\"\n");
        assert!(ccache_builtin_vars(&https).is_err());
        let s3 = remote("type = \"s3\"\nbucket = \"b\"\n");
        assert!(
            ccache_builtin_vars(&s3)
                .expect_err("no s3")
                .fix
                .contains("sccache")
        );
        assert!(vars_for(Tool::Sccache, &s3).is_ok());
    }

    #[test]
    fn sccache_gcs_defaults_to_read_write_and_extra_overrides() {
        let r = remote(
            "type = \"gcs\"\nbucket = \"b\"\nprefix = \"/p/\"\nextra = { SCCACHE_GCS_SERVICE_ACCOUNT = \"sa\" }\n",
        );
        let v: Vec<String> = sccache_vars(&r)
            .iter()
            .map(|v| format!("{}={}", v.name, render(v)))
            .collect();
        assert!(
            v.contains(&"SCCACHE_GCS_RW_MODE=READ_WRITE".to_string()),
            "{v:?}"
        );
        assert!(v.contains(&"SCCACHE_GCS_KEY_PREFIX=p".to_string()), "{v:?}");
        assert!(
            v.contains(&"SCCACHE_GCS_SERVICE_ACCOUNT=sa".to_string()),
            "{v:?}"
        );
    }

    #[test]
    fn sccache_table_reads_the_keys_each_kind_takes() {
        use crate::config::remote::COMMON_KEYS;
        for kind in RemoteKind::ALL {
            let spec = kind.spec();
            let read: Vec<&str> = sccache_table(kind)
                .iter()
                .map(|(_, from)| match from {
                    Source::Key(k) => k,
                    Source::Prefix => "prefix",
                    Source::EndpointNoSlash => "endpoint",
                    Source::UseSsl => "use_ssl",
                    Source::RwMode => "read_only",
                })
                .collect();
            for k in &read {
                assert!(
                    COMMON_KEYS.contains(k) || spec.takes(k),
                    "{} {k}",
                    kind.name()
                );
            }
            // sccache 0.16 has no timeout for remote storage (`config check` says so).
            let unread: Vec<&str> = spec
                .keys()
                .map(|k| k.short())
                .filter(|k| !read.contains(k))
                .collect();
            assert!(
                unread.iter().all(|k| *k == "timeout_ms"),
                "{}: {unread:?}",
                kind.name()
            );
        }
    }

    #[test]
    fn sccache_s3_variables_in_order_with_secrets_as_references() {
        let r = remote(
            "type = \"s3\"\nbucket = \"b\"\nregion = \"r\"\nendpoint = \"https://h:9000\"\nprefix = \"/p/\"\naccess_key_env = \"AK\"\nsecret_key_env = \"SK\"\nsession_token_env = \"ST\"\nread_only = true\n",
        );
        let v: Vec<String> = sccache_vars(&r)
            .iter()
            .map(|v| format!("{}={}", v.name, render(v)))
            .collect();
        assert_eq!(
            v,
            [
                "SCCACHE_BUCKET=b",
                "SCCACHE_REGION=r",
                "SCCACHE_ENDPOINT=https://h:9000",
                "SCCACHE_S3_USE_SSL=true",
                "SCCACHE_S3_KEY_PREFIX=p",
                "AWS_ACCESS_KEY_ID=${AK}",
                "AWS_SECRET_ACCESS_KEY=${SK}",
                "AWS_SESSION_TOKEN=${ST}",
                "SCCACHE_S3_RW_MODE=READ_ONLY",
            ]
        );
    }

    #[test]
    fn probe_targets_parse_urls() {
        let r = remote("type = \"memcached\"\nendpoint = [\"tcp://10.0.0.1:11311\"]\n");
        assert_eq!(probe_targets(&r), vec![("10.0.0.1".into(), 11311)]);
        let r = remote("type = \"redis\"\nendpoint = \"redis://u@cache\"\n");
        assert_eq!(probe_targets(&r), vec![("cache".into(), 6379)]);
    }

    #[test]
    fn literal_password_in_url_is_detected() {
        use crate::config::remote::url_has_password;
        assert!(url_has_password("http://u:pw@h/x"));
        assert!(url_has_password("redis://pw@h:1"));
        assert!(!url_has_password("http://h/x@y"));
        assert!(!url_has_password("http://u@h/x"));
    }
}
