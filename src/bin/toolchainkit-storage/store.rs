//! The remote store behind the helper: an OpenDAL operator built from the attributes
//! toolchainkit wrote into ccache's `remote_storage` entry (`@service=s3 @o.bucket=...`),
//! each operation bounded by a timeout, and a short pause after a failure so that a
//! remote that is down or never answers costs one wait, not one per compile.
//!
//! Attributes (all set by toolchainkit; none holds a secret):
//! - `service`: the OpenDAL service (`s3`, `gcs`, `azblob`, `webdav`, `redis`, `memcached`);
//! - `o.NAME=VALUE`: the service's option `NAME`;
//! - `e.NAME=VAR`: option `NAME` is the value of environment variable `VAR` (credentials:
//!   the helper's environment is the only place a value is read from);
//! - `layout`: `flat` (`HEX`), `subdirs` (`HE/X...`, ccache's HTTP default) or `redis`
//!   (`ccache:HEX`, ccache's Redis keys), so entries written by ccache's own HTTP and Redis
//!   clients stay found;
//! - `timeout-ms`: the bound of one operation; `read-only`: nothing is written.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use opendal::{ErrorKind, Operator};

use crate::proto::Reply;

/// The bound of one remote operation unless `timeout-ms` says otherwise (ccache's own
/// default data timeout).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// After a failure to reach the remote, requests fail at once for this long.
pub const PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Flat,
    Subdirs,
    Redis,
}

#[derive(Debug)]
pub struct Settings {
    pub service: String,
    pub options: Vec<(String, String)>,
    pub layout: Layout,
    pub timeout: Duration,
    pub read_only: bool,
}

impl Settings {
    /// From ccache's attributes; `env` looks a variable up (`std::env::var` outside tests).
    /// The error names the attribute or variable, never a value.
    pub fn from_attributes(
        attrs: &[(String, String)],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, String> {
        let mut s = Settings {
            service: String::new(),
            options: Vec::new(),
            layout: Layout::Flat,
            timeout: DEFAULT_TIMEOUT,
            read_only: false,
        };
        for (k, v) in attrs {
            if let Some(name) = k.strip_prefix("o.") {
                s.options.push((name.to_string(), v.clone()));
            } else if let Some(name) = k.strip_prefix("e.") {
                match env(v) {
                    Some(val) if !val.is_empty() => s.options.push((name.to_string(), val)),
                    _ => return Err(format!("environment variable {v} (for {name}) is not set")),
                }
            } else {
                match k.as_str() {
                    "service" => s.service = v.clone(),
                    "layout" => {
                        s.layout = match v.as_str() {
                            "flat" => Layout::Flat,
                            "subdirs" => Layout::Subdirs,
                            "redis" => Layout::Redis,
                            _ => return Err(format!("unknown layout {v:?}")),
                        }
                    }
                    "timeout-ms" => {
                        let ms: u64 = v.parse().map_err(|_| format!("bad timeout-ms {v:?}"))?;
                        s.timeout = Duration::from_millis(ms.max(1));
                    }
                    "read-only" => s.read_only = v == "true",
                    // ccache's own properties are not ours to read.
                    _ => {}
                }
            }
        }
        if s.service.is_empty() {
            return Err("no `service` attribute".into());
        }
        Ok(s)
    }

    pub fn operator(&self) -> Result<Operator, String> {
        let opts = || self.options.iter().cloned();
        let op = if self.service == "azblob"
            && let Some((_, cs)) = self.options.iter().find(|(k, _)| k == "connection_string")
        {
            // A connection string carries account, key and endpoint in one value.
            let mut b = opendal::services::Azblob::from_connection_string(cs)
                .map_err(|e| format!("azure connection string: {}", e.kind()))?;
            for (k, v) in &self.options {
                match k.as_str() {
                    "container" => b = b.container(v),
                    "root" => b = b.root(v),
                    _ => {}
                }
            }
            Operator::new(b).map(|o| o.finish())
        } else {
            Operator::via_iter(self.service.as_str(), opts())
        };
        op.map_err(|e| format!("{} store: {}", self.service, e))
    }
}

/// The path of a key (ccache's binary digest) in the store.
pub fn path_of(layout: Layout, key: &[u8]) -> String {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    match layout {
        Layout::Flat => hex,
        Layout::Subdirs if hex.len() > 2 => format!("{}/{}", &hex[..2], &hex[2..]),
        Layout::Subdirs => hex,
        Layout::Redis => format!("ccache:{hex}"),
    }
}

/// `host:port` of a redis or memcached endpoint (`redis://h:p/...`, `tcp://h:p`): their
/// clients keep retrying a refused connection until the pool's own timeout, so the helper
/// tries one TCP connection itself first and fails at once when it is refused.
fn probe_target(service: &str, options: &[(String, String)]) -> Option<String> {
    if !matches!(service, "redis" | "memcached") {
        return None;
    }
    let ep = options.iter().find(|(k, _)| k == "endpoint")?.1.as_str();
    let rest = ep.split_once("://").map_or(ep, |(_, r)| r);
    let hostport = rest.split('/').next()?.rsplit('@').next()?;
    let default = if service == "redis" { 6379 } else { 11211 };
    Some(
        if hostport
            .rsplit_once(':')
            .is_some_and(|(h, _)| !h.ends_with(']') || h.starts_with('['))
            && !hostport.ends_with(']')
        {
            hostport.to_string()
        } else {
            format!("{hostport}:{default}")
        },
    )
}

pub struct Store {
    op: Operator,
    probe: Option<String>,
    /// An operation succeeded since the last failure (no probe needed).
    verified: std::sync::atomic::AtomicBool,
    layout: Layout,
    timeout: Duration,
    pub read_only: bool,
    paused_until: Mutex<Option<Instant>>,
    last_error: Mutex<Option<String>>,
}

enum Failure {
    /// The store answered: the key is not there.
    NotFound,
    /// The store could not be reached or did not answer in time.
    Unreachable(String),
    /// The store answered with an error.
    Refused(String),
}

impl Store {
    pub fn new(s: &Settings) -> Result<Store, String> {
        Ok(Store {
            op: s.operator()?,
            probe: probe_target(&s.service, &s.options),
            verified: std::sync::atomic::AtomicBool::new(false),
            layout: s.layout,
            timeout: s.timeout,
            read_only: s.read_only,
            paused_until: Mutex::new(None),
            last_error: Mutex::new(None),
        })
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|g| g.clone())
    }

    fn paused(&self) -> Option<Duration> {
        let until = (*self.paused_until.lock().ok()?)?;
        until.checked_duration_since(Instant::now())
    }

    async fn run<T>(
        &self,
        what: &str,
        fut: impl std::future::Future<Output = opendal::Result<T>>,
    ) -> Result<T, Failure> {
        if let Some(left) = self.paused() {
            return Err(Failure::Unreachable(format!(
                "remote unavailable after an earlier failure; retried in {} s",
                left.as_secs() + 1
            )));
        }
        use std::sync::atomic::Ordering;
        let refused = match &self.probe {
            Some(target) if !self.verified.load(Ordering::Relaxed) => {
                match tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(target))
                    .await
                {
                    Ok(Ok(_)) => None,
                    Ok(Err(e)) => Some(format!("{what}: cannot connect to {target}: {e}")),
                    Err(_) => Some(format!(
                        "{what}: {target} accepted no connection within {} ms",
                        self.timeout.as_millis()
                    )),
                }
            }
            _ => None,
        };
        let outcome = match refused {
            Some(m) => Err(m),
            None => tokio::time::timeout(self.timeout, fut)
                .await
                .map_err(|_| format!("{what}: no answer within {} ms", self.timeout.as_millis())),
        };
        let failure = match outcome {
            Ok(Ok(v)) => {
                self.verified.store(true, Ordering::Relaxed);
                return Ok(v);
            }
            Err(m) => Failure::Unreachable(m),
            Ok(Err(e)) if e.kind() == ErrorKind::NotFound => {
                self.verified.store(true, Ordering::Relaxed);
                return Err(Failure::NotFound);
            }
            Ok(Err(e)) if is_unreachable(&e) => Failure::Unreachable(format!("{what}: {e}")),
            Ok(Err(e)) => Failure::Refused(format!("{what}: {e}")),
        };
        self.verified.store(false, Ordering::Relaxed);
        if let Failure::Unreachable(m) | Failure::Refused(m) = &failure
            && let Ok(mut g) = self.last_error.lock()
        {
            *g = Some(m.clone());
        }
        if matches!(failure, Failure::Unreachable(_))
            && let Ok(mut g) = self.paused_until.lock()
        {
            *g = Some(Instant::now() + PAUSE_AFTER_FAILURE);
        }
        Err(failure)
    }

    pub async fn get(&self, key: &[u8]) -> Reply {
        let path = path_of(self.layout, key);
        match self.run("get", self.op.read(&path)).await {
            Ok(buf) => Reply::Value(buf.to_vec()),
            Err(Failure::NotFound) => Reply::Noop,
            Err(Failure::Unreachable(m) | Failure::Refused(m)) => Reply::Err(m),
        }
    }

    pub async fn exists(&self, key: &[u8]) -> Reply {
        let path = path_of(self.layout, key);
        match self.run("exists", self.op.exists(&path)).await {
            Ok(b) => Reply::Exists(b),
            Err(Failure::NotFound) => Reply::Exists(false),
            Err(Failure::Unreachable(m) | Failure::Refused(m)) => Reply::Err(m),
        }
    }

    pub async fn put(&self, key: &[u8], value: Vec<u8>) -> Reply {
        if self.read_only {
            return Reply::Noop;
        }
        let path = path_of(self.layout, key);
        match self.run("put", self.op.write(&path, value)).await {
            Ok(_) => Reply::Ok,
            Err(Failure::NotFound) => Reply::Noop,
            Err(Failure::Unreachable(m) | Failure::Refused(m)) => Reply::Err(m),
        }
    }

    pub async fn remove(&self, key: &[u8]) -> Reply {
        if self.read_only {
            return Reply::Noop;
        }
        let path = path_of(self.layout, key);
        match self.run("remove", self.op.delete(&path)).await {
            Ok(()) => Reply::Ok,
            Err(Failure::NotFound) => Reply::Noop,
            Err(Failure::Unreachable(m) | Failure::Refused(m)) => Reply::Err(m),
        }
    }
}

/// A failure to reach the store at all (refused or reset connection, DNS, TLS), as
/// opposed to an answer that says no.
fn is_unreachable(e: &opendal::Error) -> bool {
    e.is_temporary() || matches!(e.kind(), ErrorKind::Unexpected | ErrorKind::RateLimited)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn redis_and_memcached_endpoints_are_probed_first() {
        let o = |ep: &str| vec![("endpoint".to_string(), ep.to_string())];
        assert_eq!(
            probe_target("redis", &o("redis://127.0.0.1:6380/2")).as_deref(),
            Some("127.0.0.1:6380")
        );
        assert_eq!(
            probe_target("redis", &o("rediss://u@h")).as_deref(),
            Some("h:6379")
        );
        assert_eq!(
            probe_target("memcached", &o("tcp://[::1]:11311")).as_deref(),
            Some("[::1]:11311")
        );
        assert_eq!(probe_target("s3", &o("http://h:9000")), None);
    }

    #[test]
    fn keys_are_laid_out_as_ccache_s_own_clients_lay_them_out() {
        let key = [0xab, 0xcd, 0x01];
        assert_eq!(path_of(Layout::Flat, &key), "abcd01");
        assert_eq!(path_of(Layout::Subdirs, &key), "ab/cd01");
        assert_eq!(path_of(Layout::Redis, &key), "ccache:abcd01");
    }

    #[test]
    fn options_come_from_attributes_and_credentials_from_the_environment_only() {
        let env = |v: &str| (v == "TK_SECRET").then(|| "s3cr3t".to_string());
        let s = Settings::from_attributes(
            &attrs(&[
                ("service", "s3"),
                ("o.bucket", "b"),
                ("e.secret_access_key", "TK_SECRET"),
                ("layout", "subdirs"),
                ("timeout-ms", "1500"),
                ("read-only", "true"),
                ("data-timeout", "3s"),
            ]),
            env,
        )
        .expect("settings");
        assert_eq!(s.service, "s3");
        assert_eq!(
            s.options,
            vec![
                ("bucket".to_string(), "b".to_string()),
                ("secret_access_key".to_string(), "s3cr3t".to_string())
            ]
        );
        assert_eq!(s.layout, Layout::Subdirs);
        assert_eq!(s.timeout, Duration::from_millis(1500));
        assert!(s.read_only);
        // An unset variable is named, and its (absent) value is never guessed.
        let e = Settings::from_attributes(
            &attrs(&[("service", "s3"), ("e.access_key_id", "TK_UNSET")]),
            env,
        )
        .expect_err("unset");
        assert!(e.contains("TK_UNSET"), "{e}");
        assert!(Settings::from_attributes(&attrs(&[("o.bucket", "b")]), env).is_err());
    }
}
