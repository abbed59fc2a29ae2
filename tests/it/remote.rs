//! Remote caches end to end, against real servers on 127.0.0.1, for every backend each
//! tool supports (sccache: redis, memcached, s3, webdav, gcs, azure; ccache, through
//! toolchainkit-storage, its storage helper: the same six). Each test:
//! 1. machine A (own cache dir, own XDG dirs) builds a small C/C++ project through the
//!    shim: misses, stored on the remote;
//! 2. machine B (fresh, empty cache dir, same remote, `read_only = true`; for ccache the
//!    checkout at another path with `base_dir` set) builds it: the tool's own statistics
//!    show remote hits, the objects equal A's (`cmp`), and a new file's miss writes
//!    nothing to the remote (server-side entry count);
//! 3. the server is stopped: machine C's build still succeeds, with nothing on stderr,
//!    and the failure shows in `toolchainkit stats`;
//! 4. the credential's value appears in no output, log, stats or trace file, and in no
//!    process's command line (the storage helpers are still running then).

use crate::common;
use crate::servers;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::*;
use serde_json::Value;
use servers::Server;

/// Skip (outside strict runs) unless the tools, the compilers and the server are here.
fn skip_without(kind: &str) -> bool {
    let mut needs = vec![Need::tools(), Need::compilers()];
    needs.extend(servers::needs(kind));
    skip_unless(&needs)
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

/// One build machine: a world of its own (HOME, XDG dirs, runtime dir) with its own cache
/// dir, the debug log on, and everything it printed kept for the secret scan.
struct Machine {
    w: World,
    outputs: Vec<u8>,
}

impl Machine {
    fn new(extra: &[(String, String)]) -> Machine {
        let mut w = World::new();
        let r = w.root().to_path_buf();
        // The logs' directory exists before the first compile (ccache fails on a log file
        // it cannot create).
        std::fs::create_dir_all(r.join("state")).expect("state dir");
        w.set_env("TOOLCHAINKIT_CACHE_DIR", r.join("cache"));
        w.set_env("TOOLCHAINKIT_LOG", "debug");
        w.set_env("TOOLCHAINKIT_LOG_FILE", r.join("state/tk.log"));
        w.set_env("CCACHE_LOGFILE", r.join("state/ccache.log"));
        w.set_env("AWS_EC2_METADATA_DISABLED", "true");
        w.env.extend(extra.iter().cloned());
        Machine {
            w,
            outputs: Vec::new(),
        }
    }

    fn root(&self) -> &Path {
        self.w.root()
    }

    /// `toolchainkit ARGS` in `cwd` with `config`, with a hang guard.
    fn tk(&self, cwd: &Path, config: &Path) -> Test {
        self.w
            .toolchainkit()
            .env("TOOLCHAINKIT_CONFIG", config)
            .current_dir(cwd)
            .timeout(Duration::from_secs(120))
    }

    /// Keep a command's output for the secret scan.
    fn keep(&mut self, out: Output) -> Output {
        self.outputs.extend_from_slice(&out.stdout);
        self.outputs.extend_from_slice(&out.stderr);
        out
    }

    /// Compile `src` to `obj` through the shim (launcher mode); must succeed silently.
    fn compile(&mut self, proj: &Path, config: &Path, compiler: &str, src: &str, obj: &str) {
        let _ = std::fs::remove_file(proj.join(obj));
        self.keep(
            self.tk(proj, config)
                .args([compiler, "-c", src, "-o", obj])
                .silent()
                .run(),
        );
        assert!(proj.join(obj).is_file(), "{obj} not written");
    }

    /// Build a.c and b.cpp; keep the objects in this machine's root.
    fn build(&mut self, proj: &Path, config: &Path) {
        self.compile(proj, config, "gcc", "a.c", "a.o");
        self.compile(proj, config, "g++", "b.cpp", "b.o");
        for o in ["a.o", "b.o"] {
            std::fs::copy(proj.join(o), self.root().join(o)).expect("keep object");
        }
    }

    fn stats(&mut self, proj: &Path, config: &Path) -> Value {
        let out = self.keep(
            self.tk(proj, config)
                .args(["stats", "--json"])
                .stderr("")
                .run(),
        );
        serde_json::from_slice(&out.stdout).expect("stats json")
    }

    fn same_objects(&self, other: &Machine) {
        for o in ["a.o", "b.o"] {
            let a = std::fs::read(self.root().join(o)).expect("object");
            let b = std::fs::read(other.root().join(o)).expect("object");
            assert!(
                a == b,
                "{o} differs between {} and {}",
                self.root().display(),
                other.root().display()
            );
        }
    }

    /// Fail if `secret` appears in anything this machine printed or wrote.
    fn assert_no_secret(&self, secret: &str) {
        assert!(
            !String::from_utf8_lossy(&self.outputs).contains(secret),
            "the secret was printed"
        );
        for dir in [self.root(), self.w.run.path()] {
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

/// The whole scenario for one tool and one server; `stored` is how many entries the
/// remote holds after A's two compiles: ccache stores two per compile (the manifest of
/// its direct mode and the result); sccache one per compile and its write check
/// (`.sccache_check`) when it starts read-write.
fn scenario(
    tool: &str,
    mut server: Server,
    remote_toml: &str,
    secret_env: &[(String, String)],
    stored: usize,
) {
    let test = server.dir.parent().expect("test dir").to_path_buf();
    let proj = test.join("proj");
    project(&proj);
    // ccache: B's checkout is at another path, `base_dir` making the paths relative.
    let proj_b = if tool == "ccache" {
        test.join("elsewhere/checkout")
    } else {
        proj.clone()
    };
    project(&proj_b);
    let tool_table = if tool == "ccache" {
        "[ccache]\nbase_dir = \".\"\n\n"
    } else {
        ""
    };
    let write_cfg = |dir: &Path, name: &str, ro: bool| -> PathBuf {
        let p = dir.join(name);
        std::fs::write(
            &p,
            format!(
                "[cache]\ntool = \"{tool}\"\n\n{tool_table}[stats]\ntrace = true\n\n[cache.remote]\n{remote_toml}read_only = {ro}\n"
            ),
        )
        .expect("config");
        p
    };
    let rw = write_cfg(&proj, "rw.toml", false);
    let ro = write_cfg(&proj_b, "ro.toml", true);
    let mut env = secret_env.to_vec();
    env.extend(server.client_env.iter().cloned());

    // `config check` accepts it.
    let mut a = Machine::new(&env);
    a.keep(a.tk(&proj, &rw).args(["config", "check"]).stderr("").run());

    // 1. A: misses, stored remotely.
    a.build(&proj, &rw);
    let sa = a.stats(&proj, &rw);
    assert_eq!(
        server.entries(),
        stored,
        "the remote's entries after A's build"
    );
    assert_eq!(sa["misses"], 2, "{sa}");
    if tool == "ccache" {
        // Through toolchainkit's storage helper, which ccache started.
        let log = std::fs::read_to_string(a.root().join("state/ccache.log")).expect("ccache log");
        assert!(
            log.contains("Storage helper: toolchainkit-storage"),
            "ccache did not use the storage helper:\n{log}"
        );
    }
    if tool == "sccache" {
        assert_eq!(sccache_stat(&sa, "cache_misses"), 2, "{sa}");
        assert_eq!(sccache_stat(&sa, "cache_writes"), 2, "{sa}");
    }

    // 2 + 4. B: fresh local cache, read-only: remote hits, identical objects, and a new
    // file's miss is not written to the remote.
    let mut b = Machine::new(&env);
    b.build(&proj_b, &ro);
    b.compile(&proj_b, &ro, "gcc", "c.c", "c.o");
    let sb = b.stats(&proj_b, &ro);
    if tool == "ccache" {
        let remote_hits = sb["hits_by_kind"]["direct_remote"].as_u64().unwrap_or(0)
            + sb["hits_by_kind"]["preprocessed_remote"]
                .as_u64()
                .unwrap_or(0);
        assert_eq!(remote_hits, 2, "{sb}");
        assert_eq!(sb["misses"], 1, "{sb}");
        // ccache's own counters agree: two remote hits, the new file's miss not written.
        let c = b.w.ccache_counters(&b.root().join("cache/ccache"));
        assert_eq!(c.get("remote_storage_hit").copied(), Some(2), "{c:?}");
        assert_eq!(
            c.get("remote_storage_write").copied().unwrap_or(0),
            0,
            "{c:?}"
        );
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
    b.keep(b.tk(&proj_b, &ro).arg("config").stderr("").run());
    b.keep(
        b.tk(&proj_b, &ro)
            .args(["env", "--format", "json"])
            .stderr("")
            .run(),
    );

    // 3. The server is gone: C still builds, silently, and says so in stats.
    server.stop();
    let mut c = Machine::new(&env);
    c.build(&proj, &rw);
    a.same_objects(&c);
    let sc = c.stats(&proj, &rw);
    if tool == "ccache" {
        assert_eq!(sc["outcomes"]["miss.remote_error"]["count"], 2, "{sc}");
    } else {
        // Local-only, and still observed per compile.
        assert_eq!(sc["misses"], 2, "{sc}");
        assert!(sc["sccache_server_local_only"].is_string(), "{sc}");
        c.keep(
            c.tk(&proj, &rw)
                .args(["server", "status"])
                .stdout_contains("without its remote cache")
                .run(),
        );
    }

    // 5. No credential value anywhere, nor in any command line while the helpers run.
    if let Some(secret) = &server.secret {
        let needle = secret_needle(secret);
        for m in [&a, &b, &c] {
            m.assert_no_secret(needle);
        }
        assert_no_cmdline_holds(needle);
        for pid in helpers_of(&[&a.w, &b.w, &c.w]) {
            for (k, v) in procs_environ(pid) {
                assert!(
                    !(k.starts_with("CRSH_") || k.starts_with("CCACHE_")) || !v.contains(needle),
                    "the secret is in the helper's {k}"
                );
            }
        }
    }
}

/// Fail if any process's command line holds `secret`.
pub fn assert_no_cmdline_holds(secret: &str) {
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            assert!(
                !String::from_utf8_lossy(&cmd).contains(secret),
                "the secret is in the command line of process {}",
                e.file_name().to_string_lossy()
            );
        }
    }
}

/// The storage helpers running for these worlds (by their runtime directory).
pub fn helpers_of(worlds: &[&World]) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let is_helper = std::fs::read_link(e.path().join("exe"))
            .is_ok_and(|x| x.file_name().is_some_and(|n| n == "toolchainkit-storage"));
        if !is_helper {
            continue;
        }
        let env = procs_environ(pid);
        let endpoint = env
            .iter()
            .find(|(k, _)| k == "CRSH_IPC_ENDPOINT")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if worlds
            .iter()
            .any(|w| endpoint.starts_with(&*w.run.path().to_string_lossy()))
        {
            out.push(pid);
        }
    }
    out
}

/// A process's environment (empty when it is gone or not ours).
pub fn procs_environ(pid: u32) -> Vec<(String, String)> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// The part of a credential to look for (the key inside a connection string).
fn secret_needle(secret: &str) -> &str {
    secret
        .split(';')
        .find_map(|kv| kv.strip_prefix("AccountKey="))
        .unwrap_or(secret)
}

/// The test's own directory (server data and the shared project), cleaned up with it.
fn test_dir() -> World {
    World::new()
}

/// A secret value no other test uses.
fn secret(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{name}-{}-{nanos}", std::process::id())
}

#[test]
fn sccache_redis() {
    if skip_without("redis") {
        return;
    }
    let t = test_dir();
    let pw = secret("redispw");
    let s = servers::redis(&t.root().join("server"), &pw);
    let toml = format!(
        "type = \"redis\"\nendpoint = \"redis://127.0.0.1:{}\"\npassword_env = \"TK_REDIS_PW\"\ndb = 2\nprefix = \"tk/\"\nttl = 3600\n",
        s.port
    );
    scenario("sccache", s, &toml, &[("TK_REDIS_PW".into(), pw)], 3);
}

#[test]
fn ccache_redis() {
    if skip_without("redis") {
        return;
    }
    let t = test_dir();
    let pw = secret("redispw");
    let s = servers::redis(&t.root().join("server"), &pw);
    let toml = format!(
        "type = \"redis\"\nendpoint = \"redis://127.0.0.1:{}\"\npassword_env = \"TK_REDIS_PW\"\ndb = 2\ntimeout_ms = 2000\n",
        s.port
    );
    scenario("ccache", s, &toml, &[("TK_REDIS_PW".into(), pw)], 4);
}

#[test]
fn sccache_memcached() {
    if skip_without("memcached") {
        return;
    }
    let t = test_dir();
    let s = servers::memcached(&t.root().join("server"));
    let toml = format!(
        "type = \"memcached\"\nendpoint = [\"tcp://127.0.0.1:{}\"]\nprefix = \"tk\"\nttl = 3600\n",
        s.port
    );
    scenario("sccache", s, &toml, &[], 3);
}

/// S3 (moto), with its key pair by variable; `stored`: the entries after A's build.
fn s3_scenario(tool: &str, stored: usize) {
    if skip_without("s3") {
        return;
    }
    let t = test_dir();
    let sk = secret("s3secret");
    let mut s = servers::s3(&t.root().join("server"));
    s.secret = Some(sk.clone());
    let toml = format!(
        "type = \"s3\"\nbucket = \"tkbucket\"\nregion = \"us-east-1\"\nendpoint = \"http://127.0.0.1:{}\"\nuse_ssl = false\nprefix = \"team-a/\"\naccess_key_env = \"TK_S3_KEY\"\nsecret_key_env = \"TK_S3_SECRET\"\n",
        s.port
    );
    scenario(
        tool,
        s,
        &toml,
        &[
            ("TK_S3_KEY".into(), "AKIATOOLCHAINKIT".into()),
            ("TK_S3_SECRET".into(), sk),
        ],
        stored,
    );
}

#[test]
fn sccache_s3() {
    s3_scenario("sccache", 3);
}

#[test]
fn ccache_s3() {
    s3_scenario("ccache", 4);
}

#[test]
fn ccache_memcached() {
    if skip_without("memcached") {
        return;
    }
    let t = test_dir();
    let s = servers::memcached(&t.root().join("server"));
    let toml = format!(
        "type = \"memcached\"\nendpoint = [\"tcp://127.0.0.1:{}\"]\nprefix = \"tk\"\n",
        s.port
    );
    scenario("ccache", s, &toml, &[], 4);
}

#[test]
fn ccache_gcs() {
    if skip_without("gcs") {
        return;
    }
    let t = test_dir();
    let s = servers::gcs(&t.root().join("server"));
    // fake-gcs-server checks no token: OpenDAL is told to send none (and to ask no
    // metadata server for one).
    let toml = "type = \"gcs\"\nbucket = \"tkbucket\"\nprefix = \"tk\"\nextra = { allow_anonymous = \"true\", disable_vm_metadata = \"true\", disable_config_load = \"true\" }\n";
    scenario("ccache", s, toml, &[], 4);
}

#[test]
fn sccache_webdav() {
    if skip_without("webdav") {
        return;
    }
    let t = test_dir();
    let pw = secret("davpw");
    let s = servers::webdav(&t.root().join("server"), "builder", &pw);
    let toml = format!(
        "type = \"webdav\"\nendpoint = \"http://127.0.0.1:{}/\"\nusername = \"builder\"\npassword_env = \"TK_DAV_PW\"\nprefix = \"sc\"\n",
        s.port
    );
    scenario("sccache", s, &toml, &[("TK_DAV_PW".into(), pw)], 3);
}

#[test]
fn ccache_webdav() {
    if skip_without("webdav") {
        return;
    }
    let t = test_dir();
    let pw = secret("davpw");
    let s = servers::webdav(&t.root().join("server"), "builder", &pw);
    let toml = format!(
        "type = \"webdav\"\nendpoint = \"http://127.0.0.1:{}/ccache\"\nusername = \"builder\"\npassword_env = \"TK_DAV_PW\"\ntimeout_ms = 2000\nextra = {{ connect-timeout = \"300\" }}\n",
        s.port
    );
    scenario("ccache", s, &toml, &[("TK_DAV_PW".into(), pw)], 4);
}

/// Azure Blob (azurite), with its connection string by variable.
fn azure_scenario(tool: &str, stored: usize) {
    if skip_without("azure") {
        return;
    }
    let t = test_dir();
    let s = servers::azurite(&t.root().join("server"));
    let cs = s.secret.clone().expect("connection string");
    let toml = "type = \"azure\"\ncontainer = \"tkcache\"\nconnection_string_env = \"TK_AZ_CS\"\nprefix = \"tk\"\n";
    scenario(tool, s, toml, &[("TK_AZ_CS".into(), cs)], stored);
}

#[test]
fn sccache_azure() {
    azure_scenario("sccache", 3);
}

#[test]
fn ccache_azure() {
    azure_scenario("ccache", 4);
}

#[test]
fn sccache_gcs() {
    if skip_without("gcs") {
        return;
    }
    let t = test_dir();
    let s = servers::gcs(&t.root().join("server"));
    let toml = format!(
        "type = \"gcs\"\nbucket = \"tkbucket\"\nprefix = \"tk\"\nextra = {{ SCCACHE_GCS_CREDENTIALS_URL = \"http://127.0.0.1:{}/token\" }}\n",
        s.port
    );
    scenario("sccache", s, &toml, &[], 3);
}

/// Issue 26.1: a remote whose password variable is unset is no silent plain miss. With
/// ccache against a real redis that needs the password: the compile works (local cache
/// only) and the cause, naming the variable (never a value), is in `stats`, in `stats
/// --json` (`notices`, `degraded`), on the `--since-mark` lines and in `doctor`, and in
/// the default log without any debug switch. With the variable set, the remote is used.
#[test]
fn an_unset_password_variable_reaches_stats_json_since_mark_doctor_and_the_log() {
    if skip_without("redis") {
        return;
    }
    let t = test_dir();
    let pw = secret("redispw");
    let s = servers::redis(&t.root().join("server"), &pw);
    let (mut w, shims) = World::with_shims();
    // The user's own project file, trusted: its remote's credential is looked for.
    w.trust_project();
    w.config(&format!(
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n\n[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:{}\"\npassword_env = \"TK_REDIS_PW\"\n",
        s.port
    ));
    project(&w.work);
    w.toolchainkit().args(["stats", "--mark"]).run();
    w.test_shim(&shims, "cc").args(["-c", "a.c"]).silent().run();
    let cause = "the remote cache's variable TK_REDIS_PW is not set in the build's environment";
    w.toolchainkit()
        .arg("stats")
        .stderr("")
        .stdout_contains("notice: compiles ran degraded: remote.secret_unset: ")
        .stdout_contains(cause)
        .run();
    let j = w.stats();
    assert!(j["notices"].to_string().contains(cause), "{j}");
    assert_eq!(j["degraded"][0]["kind"], "remote.secret_unset", "{j}");
    assert_eq!(j["degraded"][0]["count"], 1, "{j}");
    let line = w
        .toolchainkit()
        .args(["stats", "--since-mark"])
        .stderr("")
        .stdout_text();
    assert!(
        line.contains("toolchainkit: degraded: remote.secret_unset: ") && line.contains(cause),
        "{line}"
    );
    let m = w
        .toolchainkit()
        .args(["stats", "--since-mark", "--json"])
        .json();
    assert_eq!(m["degraded"][0]["kind"], "remote.secret_unset", "{m}");
    let doc = w.toolchainkit().arg("doctor").any_status().stdout_text();
    assert!(
        doc.lines()
            .any(|l| l.starts_with("warning") && l.contains("stats.degraded") && l.contains(cause)),
        "{doc}"
    );
    let log = std::fs::read_to_string(w.root().join("state/toolchainkit/toolchainkit.log"))
        .expect("the default log exists without TOOLCHAINKIT_LOG");
    assert!(
        log.contains("TK_REDIS_PW") && log.contains(" WARN "),
        "{log}"
    );
    // Set: the remote takes the compile (ccache's own remote counters), no new cause.
    w.set_env("TK_REDIS_PW", &pw);
    w.test_shim(&shims, "cc").args(["-c", "c.c"]).silent().run();
    let c = w.ccache_counters(&w.work.join("cache/ccache"));
    assert!(
        c.get("remote_storage_write").copied().unwrap_or(0) >= 1,
        "{c:?}"
    );
    assert_eq!(w.stats()["degraded"][0]["count"], 1);
    for f in [log, line, j.to_string(), doc] {
        assert!(!f.contains(&pw), "the password was printed");
    }
    // `stats --zero` forgets the causes with the counters.
    w.toolchainkit().args(["stats", "--zero"]).run();
    assert_eq!(w.stats()["degraded"], serde_json::json!([]));
    drop(s);
}

/// Issue 26.1: an sccache server running without its remote shows in `stats --json`'s
/// `notices` (it was `[]`) and as a degradation with its cause, as in the text.
#[test]
fn an_sccache_server_without_its_remote_reaches_stats_json() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let closed = ClosedPort::new();
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    w.config(&format!(
        "[cache]\ntool = \"sccache\"\ndir = \"cache\"\n\n[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:{}\"\n",
        closed.port
    ));
    project(&w.work);
    w.test_shim(&shims, "cc").args(["-c", "a.c"]).silent().run();
    let text = w.toolchainkit().arg("stats").stderr("").stdout_text();
    let j = w.stats();
    w.toolchainkit().args(["server", "stop"]).run();
    assert!(
        text.contains("notice: compiles ran degraded: sccache.local_only: the sccache server runs without its remote cache"),
        "{text}"
    );
    assert!(
        j["notices"]
            .to_string()
            .contains("without its remote cache"),
        "{j}"
    );
    assert_eq!(j["degraded"][0]["kind"], "sccache.local_only", "{j}");
}
