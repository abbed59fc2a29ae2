//! `toolchainkit-storage`: ccache's remote storage helper for S3, GCS, Azure Blob,
//! WebDAV/HTTP, Redis and memcached. ccache 4.13+ starts it (the `helper=` property that
//! toolchainkit writes into `CCACHE_REMOTE_STORAGE`) with `CRSH_IPC_ENDPOINT`, `CRSH_URL`,
//! `CRSH_IDLE_TIMEOUT` and the entry's `@attributes` in its environment; it listens on the
//! Unix socket, serves every ccache process of the same settings, and exits after the idle
//! timeout. The shim never links this code: the runtime and the storage clients stay off
//! the compile path.

mod proto;
mod store;

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};

use proto::{Reply, Request};
use store::{Settings, Store};

const USAGE: &str = "toolchainkit-storage: ccache's remote storage helper; ccache starts it (CRSH_IPC_ENDPOINT, CRSH_URL, CRSH_IDLE_TIMEOUT and CRSH_ATTR_* in the environment)";

fn main() {
    let arg = std::env::args_os().nth(1);
    match arg.as_ref().and_then(|a| a.to_str()) {
        Some("--version" | "-V") => {
            println!("toolchainkit-storage {}", env!("CARGO_PKG_VERSION"));
            return;
        }
        Some("--help" | "-h") => {
            println!("{USAGE}");
            return;
        }
        _ => {}
    }
    let Some(endpoint) = std::env::var_os("CRSH_IPC_ENDPOINT") else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let endpoint = std::path::PathBuf::from(endpoint);
    let idle = std::env::var("CRSH_IDLE_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(600);
    if let Err(e) = serve(&endpoint, idle) {
        eprintln!("toolchainkit-storage: {e}");
        std::process::exit(1);
    }
}

/// ccache's `@key=value` attributes, in order.
fn attributes() -> Vec<(String, String)> {
    let n: usize = std::env::var("CRSH_NUM_ATTR")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (0..n.min(1000))
        .filter_map(|i| {
            let k = std::env::var(format!("CRSH_ATTR_KEY_{i}")).ok()?;
            let v = std::env::var(format!("CRSH_ATTR_VALUE_{i}")).unwrap_or_default();
            Some((k, v))
        })
        .collect()
}

/// The socket's directory must be the user's own and writable by nobody else, and the
/// socket's name free or taken by a dead helper's socket of the same user.
fn prepare_endpoint(endpoint: &Path) -> Result<(), String> {
    let uid = unsafe { libc::geteuid() };
    let dir = endpoint
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .ok_or_else(|| format!("{}: no directory", endpoint.display()))?;
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !meta.is_dir() || meta.uid() != uid || meta.permissions().mode() & 0o022 != 0 {
        return Err(format!(
            "{}: not a directory of this user writable by nobody else",
            dir.display()
        ));
    }
    match std::fs::symlink_metadata(endpoint) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("{}: {e}", endpoint.display())),
        Ok(m) if m.file_type().is_socket() && m.uid() == uid => {
            // ccache holds its spawn lock and could not connect: a dead helper's socket.
            if std::os::unix::net::UnixStream::connect(endpoint).is_ok() {
                return Err(format!("{}: another helper listens", endpoint.display()));
            }
            std::fs::remove_file(endpoint).map_err(|e| format!("{}: {e}", endpoint.display()))
        }
        Ok(_) => Err(format!(
            "{}: exists and is not this user's socket",
            endpoint.display()
        )),
    }
}

struct Shared {
    /// The store, or why there is none (every request is then answered with the reason).
    store: Result<Store, String>,
    url: String,
    active: AtomicUsize,
    /// Milliseconds since `start` of the last request or connection.
    last: AtomicU64,
    start: Instant,
}

impl Shared {
    fn touch(&self) {
        self.last
            .store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

fn serve(endpoint: &Path, idle_secs: u64) -> Result<(), String> {
    // The socket is created with mode 0600 (the spec's umask 077).
    unsafe { libc::umask(0o077) };
    prepare_endpoint(endpoint)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    rt.block_on(async {
        let listener =
            UnixListener::bind(endpoint).map_err(|e| format!("{}: {e}", endpoint.display()))?;
        let store = Settings::from_attributes(&attributes(), |v| std::env::var(v).ok())
            .and_then(|s| Store::new(&s));
        let shared = Arc::new(Shared {
            store,
            url: std::env::var("CRSH_URL").unwrap_or_default(),
            active: AtomicUsize::new(0),
            last: AtomicU64::new(0),
            start: Instant::now(),
        });
        let idle = Duration::from_secs(idle_secs);
        let tick = Duration::from_millis(500).min(idle.max(Duration::from_millis(100)));
        loop {
            tokio::select! {
                conn = listener.accept() => {
                    if let Ok((stream, _)) = conn {
                        shared.touch();
                        shared.active.fetch_add(1, Ordering::Relaxed);
                        let s = Arc::clone(&shared);
                        tokio::spawn(async move {
                            let _ = session(stream, &s).await;
                            s.active.fetch_sub(1, Ordering::Relaxed);
                            s.touch();
                        });
                    }
                }
                _ = tokio::time::sleep(tick) => {
                    if idle_secs > 0
                        && shared.active.load(Ordering::Relaxed) == 0
                        && shared.idle_for() >= idle
                    {
                        break;
                    }
                }
            }
        }
        let _ = std::fs::remove_file(endpoint);
        Ok(())
    })
}

/// One ccache process's connection: the greeting, then its requests in turn.
async fn session(mut stream: UnixStream, shared: &Shared) -> std::io::Result<()> {
    stream.write_all(&proto::greeting()).await?;
    while let Some(req) = proto::read_request(&mut stream).await? {
        shared.touch();
        let reply = match (req, &shared.store) {
            (Request::Stop, _) => {
                let _ = stream.write_all(&proto::encode(&Reply::Ok)).await;
                std::process::exit(0);
            }
            (Request::Info, store) => info(shared, store),
            (_, Err(why)) => Reply::Err(why.clone()),
            (Request::Get(k), Ok(s)) => s.get(&k).await,
            (Request::Exists(k), Ok(s)) => s.exists(&k).await,
            (Request::Put { key, value, .. }, Ok(s)) => s.put(&key, value).await,
            (Request::Remove(k), Ok(s)) => s.remove(&k).await,
        };
        shared.touch();
        stream.write_all(&proto::encode(&reply)).await?;
    }
    Ok(())
}

fn info(shared: &Shared, store: &Result<Store, String>) -> Reply {
    let mut diagnostics = Vec::new();
    match store {
        Ok(s) => {
            if s.read_only {
                diagnostics.push("read-only: nothing is written".into());
            }
            if let Some(e) = s.last_error() {
                diagnostics.push(format!("last error: {e}"));
            }
        }
        Err(why) => diagnostics.push(format!("unusable: {why}")),
    }
    Reply::Info {
        identity: format!(
            "toolchainkit-storage {} (OpenDAL) for {}",
            env!("CARGO_PKG_VERSION"),
            shared.url
        ),
        diagnostics,
    }
}
