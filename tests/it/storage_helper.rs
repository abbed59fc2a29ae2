//! ccache's storage helper (`toolchainkit-storage`) under load and failure, against real
//! servers on 127.0.0.1 and the real ccache 4.14.2 (and Debian's ccache 4.7.5, which
//! starts no helpers). For every remote type (redis, memcached, s3, webdav, gcs, azure):
//! - 16 concurrent compiles are served by one helper, and `server stop` stops it;
//! - the server killed in the middle of a `make -j8` build: the build succeeds, every
//!   object equals the bare compiler's, a failing compile keeps gcc's output and status.
//!
//! And: a remote that accepts and never answers (compiles succeed, counted as remote
//! errors); a helper idling out by itself; `doctor`'s check; an older ccache keeping its
//! built-in redis client and unable to reach S3 (said in stats).

use crate::common;
use crate::remote::{assert_no_cmdline_holds, helpers_of, procs_environ};
use crate::servers;
use servers::repo;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;

fn needs(kind: &str) -> bool {
    let mut n = vec![Need::tools(), Need::compilers()];
    n.extend(servers::needs(kind));
    skip_unless(&n)
}

const SECRET: &str = "pw-storage-helper-test";

/// A server of `kind` and the `[cache.remote]` lines and environment that reach it (with a
/// credential by variable where the type has one).
fn remote_for(kind: &str, dir: &Path) -> (servers::Server, String, Vec<(String, String)>) {
    let mut env = Vec::new();
    let (s, toml) = match kind {
        "redis" => {
            let s = servers::redis(dir, SECRET);
            env.push(("TK_REDIS_PW".into(), SECRET.into()));
            let t = format!(
                "type = \"redis\"\nendpoint = \"redis://127.0.0.1:{}\"\npassword_env = \"TK_REDIS_PW\"\ndb = 2\n",
                s.port
            );
            (s, t)
        }
        "memcached" => {
            let s = servers::memcached(dir);
            let t = format!(
                "type = \"memcached\"\nendpoint = [\"tcp://127.0.0.1:{}\"]\n",
                s.port
            );
            (s, t)
        }
        "s3" => {
            let s = servers::s3(dir);
            env.push(("TK_S3_KEY".into(), "AKIATOOLCHAINKIT".into()));
            env.push(("TK_S3_SECRET".into(), SECRET.into()));
            let t = format!(
                "type = \"s3\"\nbucket = \"tkbucket\"\nendpoint = \"http://127.0.0.1:{}\"\naccess_key_env = \"TK_S3_KEY\"\nsecret_key_env = \"TK_S3_SECRET\"\n",
                s.port
            );
            (s, t)
        }
        "webdav" => {
            let s = servers::webdav(dir, "builder", SECRET);
            env.push(("TK_DAV_PW".into(), SECRET.into()));
            let t = format!(
                "type = \"webdav\"\nendpoint = \"http://127.0.0.1:{}/\"\nusername = \"builder\"\npassword_env = \"TK_DAV_PW\"\n",
                s.port
            );
            (s, t)
        }
        "gcs" => {
            let s = servers::gcs(dir);
            let t = "type = \"gcs\"\nbucket = \"tkbucket\"\nextra = { allow_anonymous = \"true\", disable_vm_metadata = \"true\", disable_config_load = \"true\" }\n".to_string();
            (s, t)
        }
        "azure" => {
            let s = servers::azurite(dir);
            env.push((
                "TK_AZ_CS".into(),
                s.secret.clone().expect("connection string"),
            ));
            let t =
                "type = \"azure\"\ncontainer = \"tkcache\"\nconnection_string_env = \"TK_AZ_CS\"\n"
                    .to_string();
            (s, t)
        }
        other => panic!("no remote type {other}"),
    };
    env.extend(s.client_env.iter().cloned());
    (s, toml, env)
}

/// A world whose compiles use ccache with `remote` (its credentials set), ccache's log on.
fn world_with(remote: &str, env: &[(String, String)], extra_toml: &str) -> (World, PathBuf) {
    let (mut w, shims) = World::with_shims();
    w.trust_project();
    let r = w.root().to_path_buf();
    std::fs::create_dir_all(r.join("state")).expect("state");
    w.set_env("CCACHE_LOGFILE", r.join("state/ccache.log"));
    w.set_env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in env {
        w.set_env(k, v);
    }
    w.config(&format!(
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n\n[cache.remote]\n{remote}{extra_toml}"
    ));
    (w, shims)
}

/// A world whose compiles use ccache with a redis remote on `port` (password by variable,
/// database 2, where `Server::entries` counts).
fn ccache_world(port: u16, extra_toml: &str) -> (World, PathBuf) {
    world_with(
        &format!(
            "type = \"redis\"\nendpoint = \"redis://127.0.0.1:{port}\"\npassword_env = \"TK_REDIS_PW\"\ndb = 2\n"
        ),
        &[("TK_REDIS_PW".into(), SECRET.into())],
        extra_toml,
    )
}

fn sources(dir: &Path, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let name = format!("f{i:02}.c");
            std::fs::write(
                dir.join(&name),
                format!("int f{i}(int x) {{ return x * {i} + {}; }}\n", i * 7),
            )
            .expect("source");
            name
        })
        .collect()
}

fn sixteen_concurrent_compiles(kind: &str) {
    if needs(kind) {
        return;
    }
    let t = World::new();
    let (s, remote, env) = remote_for(kind, &t.root().join("server"));
    let (w, shims) = world_with(&remote, &env, "");
    let files = sources(&w.work, 16);
    let running: Vec<_> = files
        .iter()
        .map(|f| {
            w.test_shim(&shims, "cc")
                .args(["-c", f.as_str()])
                .silent()
                .spawn()
        })
        .collect();
    for r in running {
        silent(r.finish());
    }
    let helpers = helpers_of(&[&w]);
    assert_eq!(
        helpers.len(),
        1,
        "{kind}: one helper serves them all: {helpers:?}"
    );
    let c = w.ccache_counters(&w.work.join("cache/ccache"));
    // Each compile stores its result and its manifest.
    assert_eq!(
        c.get("remote_storage_write").copied(),
        Some(32),
        "{kind}: {c:?}"
    );
    assert_eq!(s.entries(), 32, "{kind}");
    assert_eq!(
        c.get("remote_storage_error").copied().unwrap_or(0),
        0,
        "{kind}: {c:?}"
    );
    assert_no_cmdline_holds(SECRET);
    w.toolchainkit()
        .args(["server", "stop"])
        .stdout_contains("stopped the storage helper")
        .run();
    wait_until("the helper exits", Duration::from_secs(10), || {
        helpers_of(&[&w]).is_empty()
    });
    drop(s);
}

fn killed_in_the_middle_of_a_parallel_build(kind: &str) {
    if needs(kind) || skip_unless(&[Need::program("make", "make")]) {
        return;
    }
    let t = World::new();
    let (mut s, remote, env) = remote_for(kind, &t.root().join("server"));
    let (w, _shims) = world_with(&remote, &env, "");
    let files = sources(&w.work, 40);
    let objs: Vec<String> = files.iter().map(|f| f.replace(".c", ".o")).collect();
    std::fs::write(
        w.work.join("Makefile"),
        format!("all: {}\n%.o: %.c\n\tcc -O2 -c $< -o $@\n", objs.join(" ")),
    )
    .expect("Makefile");
    // `cc` is the masquerade shim, first in PATH.
    let build = w.test("make").args(["-j8", "-s"]).silent().spawn();
    wait_until("a first object", Duration::from_secs(60), || {
        objs.iter().any(|o| w.work.join(o).exists())
    });
    s.stop();
    silent(build.finish());
    for (src, obj) in files.iter().zip(&objs) {
        let bare = w.work.join(format!("{obj}.bare"));
        w.test_bare("cc")
            .args(["-O2", "-c", src.as_str(), "-o"])
            .arg(&bare)
            .silent()
            .run();
        assert!(
            read(&w.work.join(obj)) == read(&bare),
            "{kind}: {obj} differs from the bare compiler's"
        );
    }
    // A failing compile after the remote died: gcc's own status and diagnostics.
    std::fs::write(w.work.join("bad.c"), "int f(void) { return undeclared; }\n").expect("bad.c");
    let bare = w
        .test_bare("cc")
        .args(["-c", "bad.c", "-o", "bad.o"])
        .status(1)
        .run();
    let shim = w
        .test("cc")
        .args(["-c", "bad.c", "-o", "bad.o"])
        .status(1)
        .run();
    assert_eq!(shim.stderr, bare.stderr);
    assert_eq!(shim.stdout, bare.stdout);
    let st = w.stats();
    assert!(
        st["outcomes"]["miss.remote_error"]["count"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "{kind}: {st}"
    );
}

macro_rules! per_kind {
    ($($kind:ident),*) => {
        mod sixteen_concurrent_compiles_share_one_helper_and_server_stop_stops_it {
            $(#[test] fn $kind() { super::sixteen_concurrent_compiles(stringify!($kind)); })*
        }
        mod a_server_killed_in_the_middle_of_a_make_j8_build_never_fails_it {
            $(#[test] fn $kind() { super::killed_in_the_middle_of_a_parallel_build(stringify!($kind)); })*
        }
    };
}
per_kind!(redis, memcached, s3, webdav, gcs, azure);

/// A TCP listener that accepts connections and never answers (held until dropped).
struct Silent {
    port: u16,
    _keep: std::thread::JoinHandle<()>,
}

impl Silent {
    fn start() -> Silent {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let keep = std::thread::spawn(move || {
            let mut held = Vec::new();
            for c in l.incoming().flatten() {
                held.push(c);
            }
        });
        Silent { port, _keep: keep }
    }
}

#[test]
fn a_remote_that_accepts_and_never_answers_costs_compiles_nothing_but_a_bounded_wait() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let silent_server = Silent::start();
    let (w, shims) = ccache_world(silent_server.port, "timeout_ms = 500\n");
    sources(&w.work, 3);
    for f in ["f00.c", "f01.c", "f02.c"] {
        // Launcher and masquerade alike.
        w.test_shim(&shims, "cc").args(["-c", f]).silent().run();
    }
    w.toolchainkit()
        .args(["gcc", "-c", "f00.c", "-o", "again.o"])
        .silent()
        .run();
    assert!(read(&w.work.join("again.o")) == read(&w.work.join("f00.o")));
    let st = w.stats();
    assert_eq!(st["outcomes"]["miss.remote_error"]["count"], 4, "{st}");
    // The log says why (the helper's words reach ccache's log).
    let log = std::fs::read_to_string(w.root().join("state/ccache.log")).expect("log");
    assert!(
        log.contains("no answer within 500 ms")
            || log.contains("remote unavailable after an earlier failure"),
        "{log}"
    );
}

#[test]
fn an_older_ccache_keeps_its_builtin_redis_client_and_cannot_reach_s3() {
    if needs("redis") {
        return;
    }
    let old = repo().join(".tools/ccache-4.7/usr/bin/ccache");
    if skip_unless(&[Need::file(&old, "bash scripts/setup-tools.sh")]) {
        return;
    }
    let t = World::new();
    let s = servers::redis(&t.root().join("server"), SECRET);
    let (mut w, shims) = ccache_world(s.port, "");
    w.set_env("TOOLCHAINKIT_CCACHE_PATH", &old);
    sources(&w.work, 1);
    w.test_shim(&shims, "cc")
        .args(["-c", "f00.c"])
        .silent()
        .run();
    assert!(helpers_of(&[&w]).is_empty(), "ccache 4.7 starts no helper");
    assert_eq!(
        s.entries(),
        2,
        "the built-in redis client stored the entries"
    );
    // S3 needs a helper: the compile works locally and stats say why.
    w.config(
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n\n[cache.remote]\ntype = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:9\"\n",
    );
    w.test_shim(&shims, "cc")
        .args(["-c", "f00.c", "-o", "s3.o"])
        .silent()
        .run();
    let st = w.stats();
    assert_eq!(st["degraded"][0]["kind"], "remote.unusable", "{st}");
    assert!(
        st["degraded"][0]["cause"]
            .to_string()
            .contains("crsh-storage"),
        "{st}"
    );
}

#[test]
fn a_helper_idles_out_by_itself() {
    if needs("redis") {
        return;
    }
    let t = World::new();
    let s = servers::redis(&t.root().join("server"), SECRET);
    // ccache's own `idle-timeout` property, passed through `extra`.
    let (w, shims) = ccache_world(s.port, "extra = { idle-timeout = \"1s\" }\n");
    sources(&w.work, 1);
    w.test_shim(&shims, "cc")
        .args(["-c", "f00.c"])
        .silent()
        .run();
    let env: Vec<_> = helpers_of(&[&w])
        .into_iter()
        .flat_map(procs_environ)
        .filter(|(k, _)| k == "CRSH_IDLE_TIMEOUT")
        .collect();
    assert_eq!(env, [("CRSH_IDLE_TIMEOUT".to_string(), "1".to_string())]);
    wait_until("the idle helper exits", Duration::from_secs(10), || {
        helpers_of(&[&w]).is_empty()
    });
    assert_eq!(s.entries(), 2);
}

#[test]
fn doctor_starts_the_helper_and_asks_the_remote() {
    if needs("redis") {
        return;
    }
    let t = World::new();
    let mut s = servers::redis(&t.root().join("server"), SECRET);
    let (w, _shims) = ccache_world(s.port, "");
    let up = w.toolchainkit().arg("doctor").any_status().stdout_text();
    assert!(
        up.lines().any(|l| l.starts_with("ok")
            && l.contains("remote.helper")
            && l.contains("the redis remote answered through it")),
        "{up}"
    );
    s.stop();
    let down = w.toolchainkit().arg("doctor").status(1).stdout_text();
    assert!(
        down.lines().any(|l| l.starts_with("problem")
            && l.contains("remote.helper")
            && l.contains("Connection refused")),
        "{down}"
    );
    assert!(!up.contains(SECRET) && !down.contains(SECRET));
    assert!(
        helpers_of(&[&w]).is_empty(),
        "doctor stops the helper it started"
    );
}

/// The shim that runs on every compile links neither the async runtime nor the storage
/// clients: they are the helper's alone.
#[test]
fn the_shim_links_no_runtime_and_no_storage_client() {
    let has = |bin: &Path, needle: &[u8]| read(bin).windows(needle.len()).any(|w| w == needle);
    let helper = bin().with_file_name("toolchainkit-storage");
    for needle in [&b"opendal"[..], b"tokio"] {
        assert!(has(&helper, needle), "the helper should hold {needle:?}");
        assert!(
            !has(&bin(), needle),
            "the shim links {}",
            String::from_utf8_lossy(needle)
        );
    }
}

/// The helper listens only in a directory that is the user's own and writable by nobody
/// else, never through a symlink, and never over a file that is not its user's socket.
#[test]
fn the_helper_refuses_a_shared_or_linked_socket_directory() {
    let t = World::new();
    let helper = bin().with_file_name("toolchainkit-storage");
    let start = |endpoint: &Path| {
        t.test(&helper)
            .env("CRSH_IPC_ENDPOINT", endpoint)
            .env("CRSH_URL", "redis://127.0.0.1:9")
            .env("CRSH_IDLE_TIMEOUT", "1")
            .env("CRSH_NUM_ATTR", "1")
            .env("CRSH_ATTR_KEY_0", "service")
            .env("CRSH_ATTR_VALUE_0", "redis")
            .timeout(Duration::from_secs(20))
    };
    let shared = t.root().join("shared");
    std::fs::create_dir(&shared).expect("dir");
    std::fs::set_permissions(
        &shared,
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .expect("chmod");
    start(&shared.join("s"))
        .status(1)
        .stderr_contains("writable by nobody else")
        .run();
    assert!(!shared.join("s").exists());
    let private = t.root().join("private");
    std::fs::create_dir(&private).expect("dir");
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .expect("chmod");
    let link = t.root().join("link");
    std::os::unix::fs::symlink(&private, &link).expect("symlink");
    start(&link.join("s"))
        .status(1)
        .stderr_contains("writable by nobody else")
        .run();
    std::fs::write(private.join("file"), "not a socket").expect("file");
    start(&private.join("file"))
        .status(1)
        .stderr_contains("not this user's socket")
        .run();
    // A private directory is fine: the helper listens (mode 0600) and idles out after 1 s.
    start(&private.join("ok")).status(0).stderr("").run();
}
