//! `[dist]`: distributed compilation through an existing engine (distcc, icecream or
//! sccache-dist), as written in a config file, validated, and checked against the cache
//! tool it must run with.
//!
//! The engines do the distributing; this module only knows their settings: distcc's host
//! specifications (`HOST[:PORT][/LIMIT][,lzo][,cpp][,auth]`, `@HOST` for SSH, `localhost`),
//! icecream's scheduler (`HOST[:PORT]`), sccache-dist's scheduler URL and the *name* of the
//! variable holding its client token (never the token). Combinations that cannot work
//! (sccache with distcc, ccache with sccache-dist, ccache with distcc's pump mode) are
//! configuration errors naming the file, the line of `engine` and a fix. How each engine
//! is wired into a compile lives in `crate::backend::dist`.

use serde::Deserialize;

use std::fmt;

use super::error::At;
pub use super::kinds::Engine;
use super::{Config, ConfigError, Origin, Tool, ToolChoice};

/// `[dist]` as written in a file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileDist {
    pub engine: Option<Engine>,
    pub hosts: Option<Vec<String>>,
    pub scheduler: Option<String>,
    pub scheduler_url: Option<String>,
    pub auth_token_env: Option<String>,
    pub local_slots: Option<u32>,
    pub io_timeout_secs: Option<u32>,
}

/// How a distcc host is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// `localhost`: compiled on this machine, counted against the host's limit.
    Local,
    /// Plain TCP to distccd (unauthenticated unless `,auth`).
    Tcp { host: String, port: u16 },
    /// `[USER]@HOST[:COMMAND]`: distccd started over SSH (authenticated, encrypted).
    Ssh { user: Option<String>, host: String },
}

/// One parsed distcc host specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistccHost {
    /// As written in the file (this is what `DISTCC_HOSTS` receives).
    pub spec: String,
    pub reach: Reach,
    /// `/LIMIT`: concurrent jobs for this host (distcc's default is 2 for TCP hosts).
    pub limit: Option<u32>,
    pub lzo: bool,
    /// `,cpp`: pump mode (preprocessing on the host; needs `pump` around the build).
    pub cpp: bool,
    /// `,auth`: GSS-API authentication.
    pub auth: bool,
}

impl DistccHost {
    /// The host as distcc names it in its log (`HOST`, `HOST:PORT` when not 3632,
    /// `USER@HOST`, `localhost`): the key per-host statistics are kept under.
    pub(crate) fn label(&self) -> String {
        match &self.reach {
            Reach::Local => "localhost".into(),
            Reach::Tcp { host, port } if *port == DISTCC_PORT => host.clone(),
            Reach::Tcp { host, port } => format!("{host}:{port}"),
            Reach::Ssh {
                user: Some(u),
                host,
            } => format!("{u}@{host}"),
            Reach::Ssh { user: None, host } => format!("@{host}"),
        }
    }
}

/// distccd's default port.
pub(crate) const DISTCC_PORT: u16 = 3632;
/// icecc-scheduler's default port (its text interface is the next one).
pub(crate) const ICECC_SCHEDULER_PORT: u16 = 8765;
/// distcc's own default I/O timeout, set explicitly so it is bounded and visible.
pub(crate) const DEFAULT_IO_TIMEOUT_SECS: u32 = 300;

/// A validated `[dist]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dist {
    pub engine: Engine,
    pub hosts: Vec<DistccHost>,
    /// icecc: `(host, port)` of icecc-scheduler.
    pub scheduler: Option<(String, u16)>,
    /// sccache-dist: the scheduler's URL.
    pub scheduler_url: Option<String>,
    /// sccache-dist: the variable holding the client token.
    pub auth_token_env: Option<String>,
    pub local_slots: Option<u32>,
    pub io_timeout_secs: u32,
}

impl Dist {
    /// Is distribution on at all?
    pub(crate) fn active(&self) -> bool {
        self.engine != Engine::None
    }
}

/// A host name or address as the engines accept it: letters, digits, `.`, `-`, `_`, or an
/// IPv6 address in brackets.
fn valid_hostname(h: &str) -> bool {
    if let Some(inner) = h.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return !inner.is_empty() && inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !h.is_empty()
        && h.len() <= 253
        && !h.starts_with(['-', '.'])
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

fn parse_port(p: &str) -> Option<u16> {
    p.parse::<u16>().ok().filter(|&p| p > 0)
}

/// Split `HOST[:PORT]`, where HOST may be a bracketed IPv6 address.
fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    if s.starts_with('[') {
        let end = s.find(']')?;
        let (h, rest) = s.split_at(end + 1);
        return match rest {
            "" => Some((h, None)),
            r => Some((h, Some(r.strip_prefix(':')?))),
        };
    }
    match s.split_once(':') {
        Some((h, p)) => Some((h, Some(p))),
        None => Some((s, None)),
    }
}

/// What is wrong with a value of `[dist]`: a distcc host, icecream's scheduler, the
/// sccache-dist scheduler's URL. `validate` makes it the message of a `ConfigError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Invalid {
    EmptyHost,
    Space(String),
    DistccOption(String),
    UnknownOption {
        option: String,
        spec: String,
    },
    PumpWithoutLzo(String),
    Limit {
        limit: String,
        spec: String,
    },
    User {
        user: String,
        spec: String,
    },
    EmptyCommand(String),
    Host {
        host: String,
        spec: String,
    },
    Unreadable(String),
    DistccPort {
        port: String,
        spec: String,
    },
    NotHostPort(String),
    Port {
        port: String,
        spec: String,
    },
    NotUrl(String),
    Scheme {
        url: String,
        scheme: String,
    },
    /// The URL, its credentials hidden.
    Credentials(String),
    NoHost(String),
    UrlPort {
        url: String,
        port: String,
    },
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::EmptyHost => write!(f, "an empty host"),
            Invalid::Space(s) => write!(f, "`{s}` contains a space: give one host per list item"),
            Invalid::DistccOption(s) => write!(
                f,
                "`{s}` is a distcc option, not a host: write `local_slots = N` for --localslots, and list the hosts explicitly instead of +zeroconf"
            ),
            Invalid::UnknownOption { option, spec } => write!(
                f,
                "unknown option `{option}` in `{spec}` (distcc knows lzo, cpp, auth, auth=NAME)"
            ),
            Invalid::PumpWithoutLzo(s) => write!(
                f,
                "`{s}`: pump mode (,cpp) requires compression: write `,lzo,cpp`"
            ),
            Invalid::Limit { limit, spec } => write!(
                f,
                "bad job limit `/{limit}` in `{spec}` (a number from 1 to 1024)"
            ),
            Invalid::User { user, spec } => write!(f, "bad user name `{user}` in `{spec}`"),
            Invalid::EmptyCommand(s) => write!(f, "`{s}`: empty command after `:`"),
            Invalid::Host { host, spec } => write!(f, "bad host name `{host}` in `{spec}`"),
            Invalid::Unreadable(s) => write!(f, "cannot read `{s}`"),
            Invalid::DistccPort { port, spec } => write!(
                f,
                "bad port `{port}` in `{spec}` (a number from 1 to 65535; distccd listens on 3632)"
            ),
            Invalid::NotHostPort(s) => write!(f, "`{s}` is not HOST or HOST:PORT"),
            Invalid::Port { port, spec } => write!(f, "bad port `{port}` in `{spec}`"),
            Invalid::NotUrl(u) => write!(f, "`{u}` is not a URL"),
            Invalid::Scheme { url, scheme } => write!(
                f,
                "`{url}` has scheme `{scheme}`; sccache-dist speaks http or https"
            ),
            Invalid::Credentials(u) => write!(
                f,
                "`{u}` carries credentials; the token belongs in the variable named by auth_token_env"
            ),
            Invalid::NoHost(u) => write!(f, "`{u}` has no valid host"),
            Invalid::UrlPort { url, port } => write!(f, "`{url}` has a bad port `{port}`"),
        }
    }
}

/// Parse one distcc host specification (distcc(1), HOST SPECIFICATIONS), or say what is
/// wrong with it.
pub(crate) fn parse_distcc_host(spec: &str) -> Result<DistccHost, Invalid> {
    let s = spec.trim();
    if s.is_empty() {
        return Err(Invalid::EmptyHost);
    }
    if s.contains(char::is_whitespace) {
        return Err(Invalid::Space(s.into()));
    }
    if s.starts_with("--") || s.starts_with('+') {
        return Err(Invalid::DistccOption(s.into()));
    }
    // Options after the first comma; then /LIMIT.
    let (main, opts) = match s.split_once(',') {
        Some((m, o)) => (m, Some(o)),
        None => (s, None),
    };
    let (mut lzo, mut cpp, mut auth) = (false, false, false);
    for o in opts.into_iter().flat_map(|o| o.split(',')) {
        match o {
            "lzo" => lzo = true,
            "cpp" => cpp = true,
            "auth" => auth = true,
            _ if o.starts_with("auth=") && o.len() > 5 => auth = true,
            _ => {
                return Err(Invalid::UnknownOption {
                    option: o.into(),
                    spec: s.into(),
                });
            }
        }
    }
    if cpp && !lzo {
        return Err(Invalid::PumpWithoutLzo(s.into()));
    }
    let parse_limit = |l: &str| -> Result<u32, Invalid> {
        l.parse::<u32>()
            .ok()
            .filter(|&n| n > 0 && n <= 1024)
            .ok_or_else(|| Invalid::Limit {
                limit: l.into(),
                spec: s.into(),
            })
    };
    let bad_host = |host: &str| Invalid::Host {
        host: host.into(),
        spec: s.into(),
    };
    if let Some(rest) = main.strip_prefix('@').or_else(|| {
        main.split_once('@')
            .filter(|(u, _)| !u.contains(['/', ':']))
            .map(|(_, r)| r)
    }) {
        // SSH: [USER]@HOST[/LIMIT][:COMMAND]
        let user = main
            .split_once('@')
            .map(|(u, _)| u)
            .filter(|u| !u.is_empty());
        if let Some(u) = user
            && !u
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        {
            return Err(Invalid::User {
                user: u.into(),
                spec: s.into(),
            });
        }
        let (hl, _command) = match rest.split_once(':') {
            Some((a, c)) if !c.is_empty() => (a, Some(c)),
            Some(_) => return Err(Invalid::EmptyCommand(s.into())),
            None => (rest, None),
        };
        let (host, limit) = match hl.split_once('/') {
            Some((h, l)) => (h, Some(parse_limit(l)?)),
            None => (hl, None),
        };
        if !valid_hostname(host) {
            return Err(bad_host(host));
        }
        return Ok(DistccHost {
            spec: s.to_string(),
            reach: Reach::Ssh {
                user: user.map(str::to_string),
                host: host.to_string(),
            },
            limit,
            lzo,
            cpp,
            auth,
        });
    }
    // TCP: HOST[:PORT][/LIMIT], or the old order HOST[/LIMIT][:PORT]; `localhost[/LIMIT]`.
    let (hp, limit) = match main.split_once('/') {
        Some((h, rest)) => {
            // old style: HOST/LIMIT:PORT
            match rest.split_once(':') {
                Some((l, p)) => (format!("{h}:{p}"), Some(parse_limit(l)?)),
                None => (h.to_string(), Some(parse_limit(rest)?)),
            }
        }
        None => (main.to_string(), None),
    };
    let (host, port) = split_host_port(&hp).ok_or_else(|| Invalid::Unreadable(s.into()))?;
    if !valid_hostname(host) {
        return Err(bad_host(host));
    }
    let port = match port {
        None => DISTCC_PORT,
        Some(p) => parse_port(p).ok_or_else(|| Invalid::DistccPort {
            port: p.into(),
            spec: s.into(),
        })?,
    };
    let reach = if host == "localhost" && port == DISTCC_PORT && !hp.contains(':') {
        Reach::Local
    } else {
        Reach::Tcp {
            host: host.to_string(),
            port,
        }
    };
    Ok(DistccHost {
        spec: s.to_string(),
        reach,
        limit,
        lzo,
        cpp,
        auth,
    })
}

/// Parse icecream's `scheduler = "HOST[:PORT]"`.
pub(crate) fn parse_scheduler(s: &str) -> Result<(String, u16), Invalid> {
    let (host, port) = split_host_port(s.trim()).ok_or_else(|| Invalid::Unreadable(s.into()))?;
    if !valid_hostname(host) {
        return Err(Invalid::NotHostPort(s.into()));
    }
    let port = match port {
        None => ICECC_SCHEDULER_PORT,
        Some(p) => parse_port(p).ok_or_else(|| Invalid::Port {
            port: p.into(),
            spec: s.into(),
        })?,
    };
    Ok((host.to_string(), port))
}

/// Check sccache-dist's `scheduler_url`: `http://` or `https://`, a host, no credentials.
pub(crate) fn check_scheduler_url(u: &str) -> Result<(), Invalid> {
    let Some((scheme, rest)) = u.split_once("://") else {
        return Err(Invalid::NotUrl(u.into()));
    };
    if scheme != "http" && scheme != "https" {
        return Err(Invalid::Scheme {
            url: u.into(),
            scheme: scheme.into(),
        });
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(Invalid::Credentials(super::remote::redact_url(u)));
    }
    let (host, port) = split_host_port(authority).ok_or_else(|| Invalid::NotUrl(u.into()))?;
    if !valid_hostname(host) {
        return Err(Invalid::NoHost(u.into()));
    }
    if let Some(p) = port
        && parse_port(p).is_none()
    {
        return Err(Invalid::UrlPort {
            url: u.into(),
            port: p.into(),
        });
    }
    Ok(())
}

/// Every problem of a `[dist]` table on its own, all at once (for `config check`).
pub(crate) fn validate(f: &FileDist, at: &At<'_>) -> Vec<ConfigError> {
    let err = |key: &str, msg: String, hint: &str| at.key(&format!("dist.{key}"), msg, hint);
    let mut out = Vec::new();
    let Some(engine) = f.engine else {
        out.push(err(
            "engine",
            "missing: [dist] needs an engine".into(),
            "add `engine = \"distcc\"` (or icecc, sccache-dist, none)",
        ));
        return out;
    };
    let used: Vec<&str> = super::keys::children("dist")
        .filter(|k| !k.used_by.is_empty() && k.used(engine.name()))
        .map(super::keys::Key::short)
        .collect();
    let present = [
        ("hosts", f.hosts.is_some()),
        ("scheduler", f.scheduler.is_some()),
        ("scheduler_url", f.scheduler_url.is_some()),
        ("auth_token_env", f.auth_token_env.is_some()),
        ("local_slots", f.local_slots.is_some()),
        ("io_timeout_secs", f.io_timeout_secs.is_some()),
    ];
    for (key, set) in present {
        if set && engine != Engine::None && !used.contains(&key) {
            let why = match (engine, key) {
                (Engine::Icecc, "local_slots") => {
                    "icecream's local job count is the local iceccd's (`iceccd -m N`, ICECC_MAX_JOBS in /etc/icecc/icecc.conf)"
                }
                (Engine::SccacheDist, "local_slots") => {
                    "sccache-dist has no client-side slot setting (the build servers' own CPUs decide)"
                }
                _ => "it belongs to another engine",
            };
            out.push(err(
                key,
                format!("not used by engine = \"{}\": {why}", engine.name()),
                &format!(
                    "remove it; engine = \"{}\" takes {}",
                    engine.name(),
                    if used.is_empty() {
                        "no other key".to_string()
                    } else {
                        used.join(", ")
                    }
                ),
            ));
        }
    }
    match engine {
        Engine::None => {}
        Engine::Distcc => match &f.hosts {
            None => out.push(err(
                "hosts",
                "required for engine = \"distcc\"".into(),
                "add `hosts = [\"buildbox1/8\", \"buildbox2:3632/8,lzo\"]`",
            )),
            Some(h) if h.is_empty() => out.push(err(
                "hosts",
                "an empty list: distcc would compile everything locally".into(),
                "list at least one host, e.g. `hosts = [\"buildbox1/8\"]`",
            )),
            Some(hosts) => {
                for h in hosts {
                    if let Err(e) = parse_distcc_host(h) {
                        out.push(err(
                            "hosts",
                            e.to_string(),
                            "write each host as HOST[:PORT][/LIMIT][,lzo], @HOST[/LIMIT] for SSH, or localhost[/LIMIT] (distcc(1), HOST SPECIFICATIONS)",
                        ));
                    }
                }
            }
        },
        Engine::Icecc => match &f.scheduler {
            None => out.push(err(
                "scheduler",
                "required for engine = \"icecc\"".into(),
                "add `scheduler = \"sched.example:8765\"` (the icecc-scheduler your iceccd is connected to)",
            )),
            Some(s) => {
                if let Err(e) = parse_scheduler(s) {
                    out.push(err(
                        "scheduler",
                        e.to_string(),
                        "write it as HOST or HOST:PORT, e.g. `scheduler = \"sched.example:8765\"`",
                    ));
                }
            }
        },
        Engine::SccacheDist => {
            match &f.scheduler_url {
                None => out.push(err(
                    "scheduler_url",
                    "required for engine = \"sccache-dist\"".into(),
                    "add `scheduler_url = \"https://sched.example:10600\"`",
                )),
                Some(u) => {
                    if let Err(e) = check_scheduler_url(u) {
                        out.push(err(
                            "scheduler_url",
                            e.to_string(),
                            "write it as a URL, e.g. `scheduler_url = \"https://sched.example:10600\"`",
                        ));
                    }
                }
            }
            if let Some(v) = &f.auth_token_env
                && !super::remote::is_env_name(v)
            {
                out.push(err(
                    "auth_token_env",
                    "must be the name of an environment variable that holds the token, not the token".into(),
                    "write e.g. `auth_token_env = \"SCCACHE_DIST_TOKEN\"` and set that variable",
                ));
            }
        }
    }
    if f.local_slots.is_some_and(|n| n > 1024) {
        out.push(err(
            "local_slots",
            "must be from 0 to 1024".into(),
            "e.g. `local_slots = 2`",
        ));
    }
    if f.io_timeout_secs == Some(0) {
        out.push(err(
            "io_timeout_secs",
            "must be a positive number of seconds".into(),
            "e.g. `io_timeout_secs = 300` (distcc's default); it bounds how long a compile waits for a silent host",
        ));
    }
    out
}

/// A `[dist]` table as the configuration holds it, without validation (`validate` lists
/// every problem): unparseable parts are dropped.
pub(crate) fn from_file_unchecked(f: FileDist) -> Dist {
    Dist {
        engine: f.engine.unwrap_or(Engine::None),
        hosts: f
            .hosts
            .unwrap_or_default()
            .iter()
            .filter_map(|h| parse_distcc_host(h).ok())
            .collect(),
        scheduler: f.scheduler.as_deref().and_then(|s| parse_scheduler(s).ok()),
        scheduler_url: f.scheduler_url,
        auth_token_env: f.auth_token_env,
        local_slots: f.local_slots,
        io_timeout_secs: f.io_timeout_secs.unwrap_or(DEFAULT_IO_TIMEOUT_SECS),
    }
}

/// Could `cfg` run this tool? (`auto` may pick any tool of `prefer`.)
fn may_use(cfg: &Config, tool: Tool) -> bool {
    match cfg.tool.value {
        ToolChoice::Sccache => tool == Tool::Sccache,
        ToolChoice::Ccache => tool == Tool::Ccache,
        ToolChoice::None => false,
        ToolChoice::Auto => cfg.prefer.value.contains(&tool),
    }
}

/// The engine against the cache tool: the one check that needs every layer. The error
/// points at the line of `engine` in the file that set `[dist]`.
pub(crate) fn check_combination(cfg: &Config) -> Result<(), ConfigError> {
    let Some(d) = cfg.dist.value.as_ref().filter(|d| d.active()) else {
        return Ok(());
    };
    if !cfg.enabled.value {
        return Ok(());
    }
    let tool = format!("tool = \"{}\" ({})", cfg.tool.value.name(), cfg.tool.origin);
    let problem: Option<(String, String)> = match d.engine {
        Engine::None => None,
        Engine::Distcc | Engine::Icecc if may_use(cfg, Tool::Sccache) => Some((
            format!(
                "engine = \"{}\" cannot run under sccache ({tool}{}): sccache has no prefix command, it distributes only to sccache-dist",
                d.engine.name(),
                if cfg.tool.value == ToolChoice::Auto { ", which may pick sccache" } else { "" }
            ),
            format!(
                "set `tool = \"ccache\"` in [cache] (ccache sends its misses through {}), or `tool = \"none\"` to distribute every compile uncached; or use engine = \"sccache-dist\" with sccache",
                d.engine.name()
            ),
        )),
        Engine::Distcc if d.hosts.iter().any(|h| h.cpp) && may_use(cfg, Tool::Ccache) => Some((
            format!("distcc's pump mode (`,cpp` in hosts) cannot run under ccache ({tool}): ccache gives distcc one compile at a time, and pump needs the include server of a `pump make` around the whole build"),
            "remove `,cpp` from the hosts (plain distcc with `,lzo` works with ccache), or set `tool = \"none\"` and run the build under `pump`".into(),
        )),
        Engine::SccacheDist if cfg.tool.value == ToolChoice::None || may_use(cfg, Tool::Ccache) => Some((
            format!("engine = \"sccache-dist\" needs sccache as the cache tool ({tool}): only the sccache server talks to a sccache-dist scheduler"),
            "set `tool = \"sccache\"` in [cache]; or use engine = \"distcc\" or \"icecc\" with ccache".into(),
        )),
        _ => None,
    };
    let Some((message, hint)) = problem else {
        return Ok(());
    };
    Err(match &cfg.dist.origin {
        Origin::Env(v) => ConfigError::env(v, message, &hint),
        origin => cfg.error_at("dist.engine", origin, message, hint),
    })
}

/// The `config` display rows of `[dist]`: (key, value).
pub(crate) fn describe(d: &Dist) -> Vec<(String, String)> {
    let mut out = vec![("engine".to_string(), format!("\"{}\"", d.engine.name()))];
    match d.engine {
        Engine::None => {}
        Engine::Distcc => {
            let hosts: Vec<String> = d.hosts.iter().map(|h| format!("\"{}\"", h.spec)).collect();
            out.push(("hosts".into(), format!("[{}]", hosts.join(", "))));
            out.push((
                "local_slots".into(),
                d.local_slots
                    .map_or("(unset: no localhost in the host list)".into(), |n| {
                        n.to_string()
                    }),
            ));
            out.push(("io_timeout_secs".into(), d.io_timeout_secs.to_string()));
        }
        Engine::Icecc => {
            if let Some((h, p)) = &d.scheduler {
                out.push(("scheduler".into(), format!("\"{h}:{p}\"")));
            }
        }
        Engine::SccacheDist => {
            if let Some(u) = &d.scheduler_url {
                out.push(("scheduler_url".into(), format!("\"{u}\"")));
            }
            out.push((
                "auth_token_env".into(),
                d.auth_token_env.as_ref().map_or(
                    "(unset: sccache's insecure default token)".into(),
                    |v| {
                        format!(
                            "\"{v}\" ({})",
                            if crate::paths::var_nonempty(v).is_some() {
                                "set"
                            } else {
                                "not set"
                            }
                        )
                    },
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(f: &FileDist) -> Vec<String> {
        let pos = crate::config::error::Positions::new();
        let at = At {
            path: std::path::Path::new("f.toml"),
            text: "",
            pos: &pos,
        };
        validate(f, &at).into_iter().filter_map(|e| e.key).collect()
    }

    fn host(s: &str) -> DistccHost {
        parse_distcc_host(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn distcc_host_forms() {
        let h = host("buildbox1/8");
        assert_eq!(
            h.reach,
            Reach::Tcp {
                host: "buildbox1".into(),
                port: 3632
            }
        );
        assert_eq!(h.limit, Some(8));
        let h = host("buildbox2:3700/8,lzo");
        assert_eq!(
            (h.reach.clone(), h.limit, h.lzo, h.cpp),
            (
                Reach::Tcp {
                    host: "buildbox2".into(),
                    port: 3700
                },
                Some(8),
                true,
                false
            )
        );
        assert_eq!(h.label(), "buildbox2:3700");
        assert_eq!(host("box/4:3700").label(), "box:3700");
        assert_eq!(host("localhost/2").reach, Reach::Local);
        assert_eq!(host("10.0.0.2").label(), "10.0.0.2");
        let h = host("me@box/6:/usr/bin/distccd,lzo");
        assert_eq!(
            h.reach,
            Reach::Ssh {
                user: Some("me".into()),
                host: "box".into()
            }
        );
        assert_eq!(h.limit, Some(6));
        assert_eq!(host("@box").label(), "@box");
        assert!(host("box,lzo,cpp").cpp);
        assert!(host("box,auth=distccd").auth);
        assert_eq!(
            host("[::1]:3632/2").reach,
            Reach::Tcp {
                host: "[::1]".into(),
                port: 3632
            }
        );
    }

    #[test]
    fn distcc_host_errors() {
        for bad in [
            "",
            "box:0",
            "box:99999",
            "box/0",
            "box/x",
            "box,zip",
            "box,cpp",
            "bad host",
            "--localslots=4",
            "+zeroconf",
            "b@d@host",
            "ho$t",
            "@",
            "[::1",
        ] {
            assert!(
                parse_distcc_host(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn scheduler_and_url() {
        assert_eq!(
            parse_scheduler("sched.example").expect("ok"),
            ("sched.example".into(), 8765)
        );
        assert_eq!(
            parse_scheduler("10.1.2.3:9000").expect("ok"),
            ("10.1.2.3".into(), 9000)
        );
        assert!(parse_scheduler("sched:port").is_err());
        assert!(parse_scheduler("http://sched").is_err());
        assert!(check_scheduler_url("https://sched.example:10600").is_ok());
        assert!(check_scheduler_url("http://127.0.0.1:10600/").is_ok());
        assert!(check_scheduler_url("sched.example:10600").is_err());
        assert!(check_scheduler_url("ftp://sched").is_err());
        assert!(check_scheduler_url("https://user:pw@sched").is_err());
        assert!(check_scheduler_url("https://").is_err());
    }

    #[test]
    fn keys_of_other_engines_are_errors() {
        let f = FileDist {
            engine: Some(Engine::Icecc),
            scheduler: Some("s".into()),
            local_slots: Some(2),
            hosts: Some(vec!["a".into()]),
            ..FileDist::default()
        };
        let keys: Vec<String> = problems(&f);
        assert_eq!(keys, vec!["dist.hosts", "dist.local_slots"]);
        let f = FileDist {
            engine: Some(Engine::SccacheDist),
            scheduler_url: Some("https://s".into()),
            auth_token_env: Some("abc def".into()),
            ..FileDist::default()
        };
        let keys: Vec<String> = problems(&f);
        assert_eq!(keys, vec!["dist.auth_token_env"]);
    }
}
