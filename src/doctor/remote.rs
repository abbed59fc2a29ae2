//! `[cache.remote]`: every endpoint answers a connection within a short timeout, and every
//! referenced credential variable is set. Values of credentials are never printed.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::{Check, Ctx};
use crate::config::remote::{RemoteKind, redact_url};

/// How long an endpoint gets to accept a connection.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Where to connect for an endpoint URL (pure): a TCP `host:port`, or a unix socket path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Tcp(String, u16),
    Unix(String),
}

pub(crate) fn target(kind: RemoteKind, url: &str) -> Option<Target> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.ends_with("unix") {
        let path = rest.split(['?', '#']).next().unwrap_or(rest);
        return Some(Target::Unix(path.to_string()));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let default_port = match scheme {
        "redis" | "rediss" => 6379,
        "tcp" | "udp" | "memcache" if kind == RemoteKind::Memcached => 11211,
        "https" => 443,
        _ => 80,
    };
    let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
        let (h, after) = h.split_once(']')?;
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
        (h.to_string(), port.unwrap_or(default_port))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()?),
            None => (hostport.to_string(), default_port),
        }
    };
    (!host.is_empty()).then_some(Target::Tcp(host, port))
}

fn probe(t: &Target) -> Result<(), String> {
    match t {
        Target::Unix(p) => std::os::unix::net::UnixStream::connect(p)
            .map(drop)
            .map_err(|e| e.to_string()),
        Target::Tcp(host, port) => {
            let addrs: Vec<_> = (host.as_str(), *port)
                .to_socket_addrs()
                .map_err(|e| format!("cannot resolve {host}: {e}"))?
                .collect();
            let mut last = String::from("no address");
            for a in addrs {
                match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
                    Ok(_) => return Ok(()),
                    Err(e) => last = e.to_string(),
                }
            }
            Err(last)
        }
    }
}

pub(crate) fn checks(ctx: &Ctx) -> Vec<Check> {
    let Some(r) = &ctx.cfg.remote.value else {
        return vec![Check::ok("remote", "no [cache.remote] configured")];
    };
    let mut out = Vec::new();
    if r.endpoints().is_empty() {
        out.push(Check::ok(
            "remote",
            format!(
                "type = \"{}\" with the provider's default endpoint (not probed)",
                r.kind().name()
            ),
        ));
    }
    for e in r.endpoints() {
        let shown = redact_url(e);
        let Some(t) = target(r.kind(), e) else {
            out.push(Check::problem(
                "remote.endpoint",
                format!("cannot tell where to connect for {shown}"),
                "write the endpoint as scheme://host:port",
            ));
            continue;
        };
        match probe(&t) {
            Ok(()) => out.push(Check::ok(
                "remote.endpoint",
                format!("{shown} accepts connections"),
            )),
            Err(why) => out.push(Check::problem(
                "remote.endpoint",
                format!(
                    "{shown} does not accept a connection within {} s: {why} (compiles still work, without the shared cache)",
                    CONNECT_TIMEOUT.as_secs()
                ),
                "start the server or fix cache.remote.endpoint; check firewalls and VPN",
            )),
        }
    }
    for (key, var) in r.env_refs() {
        if std::env::var_os(var).is_some_and(|v| !v.is_empty()) {
            out.push(Check::ok(
                "remote.credentials",
                format!("{var} (cache.remote.{key}) is set"),
            ));
        } else {
            out.push(Check::problem(
                "remote.credentials",
                format!("{var} (cache.remote.{key}) is not set: the remote refuses or ignores this build"),
                format!("export {var} in the build's environment (from your secret store)"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = |k, u| target(k, u);
        assert_eq!(
            t(RemoteKind::Redis, "redis://u:p@cache:7000/0"),
            Some(Target::Tcp("cache".into(), 7000))
        );
        assert_eq!(
            t(RemoteKind::Redis, "redis://cache"),
            Some(Target::Tcp("cache".into(), 6379))
        );
        assert_eq!(
            t(RemoteKind::Memcached, "tcp://10.0.0.1"),
            Some(Target::Tcp("10.0.0.1".into(), 11211))
        );
        assert_eq!(
            t(RemoteKind::Http, "https://h.example/ccache"),
            Some(Target::Tcp("h.example".into(), 443))
        );
        assert_eq!(
            t(RemoteKind::Http, "http://[::1]:8080/x"),
            Some(Target::Tcp("::1".into(), 8080))
        );
        assert_eq!(
            t(RemoteKind::Redis, "redis+unix:///run/redis.sock"),
            Some(Target::Unix("/run/redis.sock".into()))
        );
        assert_eq!(t(RemoteKind::Redis, "nonsense"), None);
    }
}
