//! Remote caches end to end, against real servers on 127.0.0.1, for every backend each
//! tool supports (sccache: redis, memcached, s3, webdav, gcs, azure; ccache: redis,
//! webdav). Each test:
//! 1. machine A (own cache dir, own XDG dirs) builds a small C/C++ project through the
//!    shim: misses, stored on the remote;
//! 2. machine B (fresh, empty cache dir, same remote, `read_only = true`) builds it: the
//!    tool's own statistics show remote hits, the objects equal A's (`cmp`), and a new
//!    file's miss writes nothing to the remote (server-side entry count);
//! 3. the server is stopped: machine C's build still succeeds, with nothing on stderr,
//!    and the failure shows in `toolchainkit stats`;
//! 4. the credential's value appears in no output, log, stats or trace file.

#[path = "support/servers.rs"]
mod servers;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use servers::Server;

const BIN: &str = env!("CARGO_BIN_EXE_toolchainkit");

fn tools_dir() -> PathBuf {
    let d = std::env::var_os("TOOLCHAINKIT_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| servers::repo().join(".venv-tools/bin"));
    for t in ["ccache", "sccache"] {
        assert!(
            d.join(t).exists(),
            "{} not found in {}: run bash scripts/setup-tools.sh",
            t,
            d.display()
        );
    }
    d
}

/// The shared project: two files built by A, a third only by B.
fn project(dir: &Path) {
    std::fs::create_dir_all(dir).expect("project");
    std::fs::write(dir.join("a.c"), "int answer(void) { return 42; }\n").expect("a.c");
    std::fs::write(
        dir.join("b.cpp"),
        "#include <string>\nint len() { return static_cast<int>(std::string(\"remote\").size()); }\n",
    )
    .expect("b.cpp");
    std::fs::write(dir.join("c.c"), "int other(int x) { return x * 7; }\n").expect("c.c");
}

/// One build machine: its own HOME, XDG dirs, runtime dir and cache dir.
struct Machine {
    root: PathBuf,
    runtime: tempfile::TempDir,
    env: Vec<(String, String)>,
    outputs: Vec<u8>,
}

impl Machine {
    fn new(test: &Path, name: &str, extra: &[(String, String)]) -> Machine {
        let root = test.join(name);
        for d in ["home", "config", "state", "data", "cache"] {
            std::fs::create_dir_all(root.join(d)).expect("dirs");
        }
        let runtime = tempfile::Builder::new()
            .prefix("tkr")
            .tempdir_in("/tmp")
            .expect("runtime dir");
        let s = |p: PathBuf| p.display().to_string();
        let mut env = vec![
            ("HOME".into(), s(root.join("home"))),
            ("XDG_CONFIG_HOME".into(), s(root.join("config"))),
            ("XDG_STATE_HOME".into(), s(root.join("state"))),
            ("XDG_DATA_HOME".into(), s(root.join("data"))),
            ("XDG_RUNTIME_DIR".into(), s(runtime.path().to_path_buf())),
            ("TOOLCHAINKIT_CACHE_DIR".into(), s(root.join("cache"))),
            ("TOOLCHAINKIT_LOG".into(), "debug".into()),
            ("TOOLCHAINKIT_LOG_FILE".into(), s(root.join("state/tk.log"))),
            ("CCACHE_LOGFILE".into(), s(root.join("state/ccache.log"))),
            (
                "PATH".into(),
                format!("{}:/usr/bin:/bin", tools_dir().display()),
            ),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ];
        env.extend(extra.iter().cloned());
        Machine {
            root,
            runtime,
            env,
            outputs: Vec::new(),
        }
    }

    fn command(&self, cwd: &Path, config: &Path) -> Command {
        let mut c = Command::new(BIN);
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            let up = k.to_ascii_uppercase();
            if ["TOOLCHAINKIT_", "CCACHE_", "SCCACHE_", "AWS_", "AZURE_"]
                .iter()
                .any(|p| up.starts_with(p))
                || up.ends_with("_PROXY")
                || up == "SSL_CERT_FILE"
            {
                c.env_remove(&k);
            }
        }
        c.envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("TOOLCHAINKIT_CONFIG", config)
            .current_dir(cwd)
            .stdin(Stdio::null());
        c
    }

    /// Run toolchainkit with a hang guard; keep its output for the secret scan.
    fn run(&mut self, cwd: &Path, config: &Path, args: &[&str]) -> Output {
        let mut c = self.command(cwd, config);
        c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn toolchainkit");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("toolchainkit {args:?} did not finish in 120 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().expect("output");
        self.outputs.extend_from_slice(&out.stdout);
        self.outputs.extend_from_slice(&out.stderr);
        out
    }

    /// Compile `src` to `obj` through the shim (launcher mode); must succeed silently.
    fn compile(&mut self, proj: &Path, config: &Path, compiler: &str, src: &str, obj: &str) {
        let _ = std::fs::remove_file(proj.join(obj));
        let out = self.run(proj, config, &[compiler, "-c", src, "-o", obj]);
        assert!(
            out.status.success(),
            "{compiler} {src} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty() && out.stdout.is_empty(),
            "the compile printed something: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(proj.join(obj).is_file(), "{obj} not written");
    }

    /// Build a.c and b.cpp; keep the objects under `name`.
    fn build(&mut self, proj: &Path, config: &Path) {
        self.compile(proj, config, "gcc", "a.c", "a.o");
        self.compile(proj, config, "g++", "b.cpp", "b.o");
        for o in ["a.o", "b.o"] {
            std::fs::copy(proj.join(o), self.root.join(o)).expect("keep object");
        }
    }

    fn stats(&mut self, proj: &Path, config: &Path) -> Value {
        let out = self.run(proj, config, &["stats", "--json"]);
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).expect("stats json")
    }

    fn same_objects(&self, other: &Machine) {
        for o in ["a.o", "b.o"] {
            let a = std::fs::read(self.root.join(o)).expect("object");
            let b = std::fs::read(other.root.join(o)).expect("object");
            assert!(
                a == b,
                "{o} differs between {} and {}",
                self.root.display(),
                other.root.display()
            );
        }
    }

    /// Fail if `secret` appears in anything this machine printed or wrote.
    fn assert_no_secret(&self, secret: &str) {
        assert!(
            !String::from_utf8_lossy(&self.outputs).contains(secret),
            "the secret was printed"
        );
        for dir in [self.root.as_path(), self.runtime.path()] {
            scan(dir, secret);
        }
    }
}

fn scan(dir: &Path, secret: &str) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            scan(&p, secret);
        } else if let Ok(bytes) = std::fs::read(&p) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "the secret was written to {}",
                p.display()
            );
        }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        // Stop every sccache server this machine started.
        let sccache = tools_dir().join("sccache");
        let dir = self.runtime.path().join("toolchainkit");
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "sock") {
                    let _ = Command::new(&sccache)
                        .arg("--stop-server")
                        .env("SCCACHE_SERVER_UDS", &p)
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status();
                }
            }
        }
    }
}

fn total(v: &Value) -> u64 {
    if let Some(n) = v.as_u64() {
        return n;
    }
    v.get("counts")
        .and_then(Value::as_object)
        .map_or(0, |m| m.values().filter_map(Value::as_u64).sum())
}

fn sccache_stat(stats: &Value, key: &str) -> u64 {
    total(&stats["sccache_server_stats"]["stats"][key])
}

/// The whole scenario for one tool and one server.
fn scenario(tool: &str, mut server: Server, remote_toml: &str, secret_env: &[(String, String)]) {
    let test = server.dir.parent().expect("test dir").to_path_buf();
    let proj = test.join("proj");
    project(&proj);
    let write_cfg = |name: &str, ro: bool| -> PathBuf {
        let p = proj.join(name);
        std::fs::write(
            &p,
            format!(
                "[cache]\ntool = \"{tool}\"\n\n[stats]\ntrace = true\n\n[cache.remote]\n{remote_toml}read_only = {ro}\n"
            ),
        )
        .expect("config");
        p
    };
    let rw = write_cfg("rw.toml", false);
    let ro = write_cfg("ro.toml", true);
    let mut env = secret_env.to_vec();
    env.extend(server.client_env.iter().cloned());

    // `config check` accepts it.
    let mut a = Machine::new(&test, "machine-a", &env);
    let out = a.run(&proj, &rw, &["config", "check"]);
    assert!(
        out.status.success(),
        "config check: {}",
        String::from_utf8_lossy(&out.stdout)
    );

    // 1. A: misses, stored remotely.
    a.build(&proj, &rw);
    let sa = a.stats(&proj, &rw);
    let stored = server.entries();
    assert!(
        stored >= 2,
        "the remote holds {stored} entries after A's build"
    );
    assert_eq!(sa["misses"], 2, "{sa}");
    if tool == "sccache" {
        assert_eq!(sccache_stat(&sa, "cache_misses"), 2, "{sa}");
        assert_eq!(sccache_stat(&sa, "cache_writes"), 2, "{sa}");
    }

    // 2 + 4. B: fresh local cache, read-only: remote hits, identical objects, and a new
    // file's miss is not written to the remote.
    let mut b = Machine::new(&test, "machine-b", &env);
    b.build(&proj, &ro);
    b.compile(&proj, &ro, "gcc", "c.c", "c.o");
    let sb = b.stats(&proj, &ro);
    if tool == "ccache" {
        let remote_hits = sb["hits_by_kind"]["direct_remote"].as_u64().unwrap_or(0)
            + sb["hits_by_kind"]["preprocessed_remote"]
                .as_u64()
                .unwrap_or(0);
        assert_eq!(remote_hits, 2, "{sb}");
        assert_eq!(sb["misses"], 1, "{sb}");
    } else {
        // Per compile, from the server's log: two hits and the new file's miss.
        assert_eq!(sb["hits_by_kind"]["sccache"], 2, "{sb}");
        assert_eq!(sb["misses"], 1, "{sb}");
        assert_eq!(sccache_stat(&sb, "cache_hits"), 2, "{sb}");
        assert_eq!(sccache_stat(&sb, "cache_misses"), 1, "{sb}");
        assert_eq!(sccache_stat(&sb, "cache_writes"), 0, "{sb}");
    }
    a.same_objects(&b);
    assert_eq!(
        server.entries(),
        stored,
        "a read-only build wrote to the remote"
    );
    let out = b.run(&proj, &ro, &["config"]);
    assert!(out.status.success());
    let out = b.run(&proj, &ro, &["env", "--format", "json"]);
    assert!(out.status.success());

    // 3. The server is gone: C still builds, silently, and says so in stats.
    server.stop();
    let mut c = Machine::new(&test, "machine-c", &env);
    c.build(&proj, &rw);
    a.same_objects(&c);
    let sc = c.stats(&proj, &rw);
    if tool == "ccache" {
        assert_eq!(sc["outcomes"]["miss.remote_error"]["count"], 2, "{sc}");
    } else {
        // Local-only, and still observed per compile.
        assert_eq!(sc["misses"], 2, "{sc}");
        assert!(sc["sccache_server_local_only"].is_string(), "{sc}");
        let out = c.run(&proj, &rw, &["server", "status"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("without its remote cache"), "{text}");
    }

    // 5. No credential value anywhere.
    if let Some(secret) = &server.secret {
        let needle = secret_needle(secret);
        for m in [&a, &b, &c] {
            m.assert_no_secret(needle);
        }
    }
}

/// The part of a credential to look for (the key inside a connection string).
fn secret_needle(secret: &str) -> &str {
    secret
        .split(';')
        .find_map(|kv| kv.strip_prefix("AccountKey="))
        .unwrap_or(secret)
}

fn test_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("tk-remote")
        .tempdir()
        .expect("temp dir")
}

fn secret(name: &str) -> String {
    format!("{name}-{}-{}", std::process::id(), servers::free_port())
}

#[test]
fn sccache_redis() {
    let t = test_dir();
    let pw = secret("redispw");
    let s = servers::redis(&t.path().join("server"), &pw);
    let toml = format!(
        "type = \"redis\"\nendpoint = \"redis://127.0.0.1:{}\"\npassword_env = \"TK_REDIS_PW\"\ndb = 2\nprefix = \"tk/\"\nttl = 3600\n",
        s.port
    );
    scenario("sccache", s, &toml, &[("TK_REDIS_PW".into(), pw)]);
}

#[test]
fn ccache_redis() {
    let t = test_dir();
    let pw = secret("redispw");
    let s = servers::redis(&t.path().join("server"), &pw);
    let toml = format!(
        "type = \"redis\"\nendpoint = \"redis://127.0.0.1:{}\"\npassword_env = \"TK_REDIS_PW\"\ndb = 2\ntimeout_ms = 2000\n",
        s.port
    );
    scenario("ccache", s, &toml, &[("TK_REDIS_PW".into(), pw)]);
}

#[test]
fn sccache_memcached() {
    let t = test_dir();
    let s = servers::memcached(&t.path().join("server"));
    let toml = format!(
        "type = \"memcached\"\nendpoint = [\"tcp://127.0.0.1:{}\"]\nprefix = \"tk\"\nttl = 3600\n",
        s.port
    );
    scenario("sccache", s, &toml, &[]);
}

#[test]
fn sccache_s3() {
    let t = test_dir();
    let sk = secret("s3secret");
    let mut s = servers::s3(&t.path().join("server"));
    s.secret = Some(sk.clone());
    let toml = format!(
        "type = \"s3\"\nbucket = \"tkbucket\"\nregion = \"us-east-1\"\nendpoint = \"http://127.0.0.1:{}\"\nuse_ssl = false\nprefix = \"team-a/\"\naccess_key_env = \"TK_S3_KEY\"\nsecret_key_env = \"TK_S3_SECRET\"\n",
        s.port
    );
    scenario(
        "sccache",
        s,
        &toml,
        &[
            ("TK_S3_KEY".into(), "AKIATOOLCHAINKIT".into()),
            ("TK_S3_SECRET".into(), sk),
        ],
    );
}

#[test]
fn sccache_webdav() {
    let t = test_dir();
    let pw = secret("davpw");
    let s = servers::webdav(&t.path().join("server"), "builder", &pw);
    let toml = format!(
        "type = \"webdav\"\nendpoint = \"http://127.0.0.1:{}/\"\nusername = \"builder\"\npassword_env = \"TK_DAV_PW\"\nprefix = \"sc\"\n",
        s.port
    );
    scenario("sccache", s, &toml, &[("TK_DAV_PW".into(), pw)]);
}

#[test]
fn ccache_webdav() {
    let t = test_dir();
    let pw = secret("davpw");
    let s = servers::webdav(&t.path().join("server"), "builder", &pw);
    let toml = format!(
        "type = \"webdav\"\nendpoint = \"http://127.0.0.1:{}/ccache\"\nusername = \"builder\"\npassword_env = \"TK_DAV_PW\"\ntimeout_ms = 2000\nextra = {{ connect-timeout = \"300\" }}\n",
        s.port
    );
    scenario("ccache", s, &toml, &[("TK_DAV_PW".into(), pw)]);
}

#[test]
fn sccache_azure() {
    let t = test_dir();
    let s = servers::azurite(&t.path().join("server"));
    let cs = s.secret.clone().expect("connection string");
    let toml = "type = \"azure\"\ncontainer = \"tkcache\"\nconnection_string_env = \"TK_AZ_CS\"\nprefix = \"tk\"\n";
    scenario("sccache", s, toml, &[("TK_AZ_CS".into(), cs)]);
}

#[test]
fn sccache_gcs() {
    let t = test_dir();
    let s = servers::gcs(&t.path().join("server"));
    let toml = format!(
        "type = \"gcs\"\nbucket = \"tkbucket\"\nprefix = \"tk\"\nextra = {{ SCCACHE_GCS_CREDENTIALS_URL = \"http://127.0.0.1:{}/token\" }}\n",
        s.port
    );
    scenario("sccache", s, &toml, &[]);
}
