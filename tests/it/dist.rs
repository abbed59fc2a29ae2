//! Distributed compilation end to end, with the real engines: distccd on three namespaced
//! hosts, a host killed in the middle of a `-j` build, icecream (scheduler and daemons in
//! namespaces), sccache-dist (scheduler and a bubblewrap build server on loopback), and
//! bad input. The project is the zstd library (the sources `benches/compare.sh` uses,
//! fetched once into `target/bench-src` by `scripts/setup-tools.sh`) plus one C++ file,
//! built with CMake + Ninja through the shim; every object is compared with a bare build.

use crate::common;
use crate::netns;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use netns::Lab;

const ZSTD_CRATE_VERSION: &str = "2.0.16+zstd.1.5.7";
const ZSTD_CRATE_SHA256: &str = "91e19ebc2adc8f83e43039e79776e3fda8ca919132d68a1fed6a5faca2683748";

/// The zstd-sys crate archive, fetched by `scripts/setup-tools.sh` (checksum pinned).
fn zstd_crate_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-src")
        .join(format!("zstd-sys-{ZSTD_CRATE_VERSION}.crate"))
}

/// What a build of the zstd project through a distribution engine needs: root (for the
/// network namespaces), the pinned tools, the compilers, cmake, ninja, the zstd sources
/// and the engine's own programs.
fn build_needs(engine: impl IntoIterator<Item = Need>) -> Vec<Need> {
    let mut needs = vec![
        Need::root(),
        Need::tools(),
        Need::compilers(),
        Need::program("cmake", "cmake"),
        Need::program("ninja", "ninja-build"),
        Need::file(&zstd_crate_path(), "run `bash scripts/setup-tools.sh`"),
    ];
    needs.extend(engine);
    needs
}

fn zstd_crate() -> PathBuf {
    let p = zstd_crate_path();
    assert!(
        p.is_file(),
        "{} is missing: run `bash scripts/setup-tools.sh` (it downloads the zstd sources once)",
        p.display()
    );
    use sha2::Digest;
    let hex: String = sha2::Sha256::digest(read(&p))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hex, ZSTD_CRATE_SHA256, "checksum of {}", p.display());
    p
}

/// Unpack zstd into the project and write its CMakeLists (zstd's C library and one C++
/// file). Returns the number of translation units.
fn project(w: &World) -> usize {
    w.test("tar")
        .arg("-xzf")
        .arg(zstd_crate())
        .arg("-C")
        .arg(&w.work)
        .run();
    let zstd = w.work.join(format!("zstd-sys-{ZSTD_CRATE_VERSION}/zstd"));
    let mut n = 1;
    for d in ["common", "compress", "decompress", "dictBuilder"] {
        n += fs::read_dir(zstd.join("lib").join(d))
            .expect("zstd dir")
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "c"))
            .count();
    }
    w.write("util.cpp", UTIL_CPP);
    let z = zstd.display();
    w.write(
        "CMakeLists.txt",
        format!(
            "cmake_minimum_required(VERSION 3.16)\nproject(zstd_dist C CXX)\n\
             file(GLOB SRC {z}/lib/common/*.c {z}/lib/compress/*.c {z}/lib/decompress/*.c {z}/lib/dictBuilder/*.c)\n\
             add_library(zstd STATIC ${{SRC}})\n\
             target_compile_definitions(zstd PRIVATE ZSTD_DISABLE_ASM ZSTD_MULTITHREAD=0)\n\
             target_include_directories(zstd PRIVATE {z}/lib {z}/lib/common)\n\
             add_library(util STATIC util.cpp)\n"
        ),
    );
    n
}

fn configure(w: &World, build: &str, launcher: bool) {
    require("cmake", "cmake");
    require("ninja", "ninja-build");
    let mut t = w
        .test("cmake")
        .args([
            "-S",
            ".",
            "-B",
            build,
            "-G",
            "Ninja",
            "-DCMAKE_BUILD_TYPE=Release",
        ])
        .args([
            "-DCMAKE_C_COMPILER=/usr/bin/gcc",
            "-DCMAKE_CXX_COMPILER=/usr/bin/g++",
        ]);
    if launcher {
        t = t
            .arg(format!("-DCMAKE_C_COMPILER_LAUNCHER={}", bin().display()))
            .arg(format!("-DCMAKE_CXX_COMPILER_LAUNCHER={}", bin().display()));
    }
    t.run();
}

fn build(w: &World, build: &str, jobs: u32) -> Output {
    w.test("ninja")
        .args(["-C", build, &format!("-j{jobs}")])
        .run()
}

/// Every object file of a build directory, by path relative to it.
fn objects(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, d: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in fs::read_dir(d).into_iter().flatten().filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else if p.extension().is_some_and(|x| x == "o") {
                let rel = p.strip_prefix(base).expect("under base").to_path_buf();
                out.insert(rel, read(&p));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn assert_same_objects(reference: &Path, built: &Path, n: usize) {
    let a = objects(reference);
    let b = objects(built);
    assert_eq!(a.len(), n, "objects in the bare build");
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same objects"
    );
    for (k, v) in &a {
        assert!(
            b[k] == *v,
            "{} differs from the bare build's object",
            k.display()
        );
    }
}

/// The shim's stderr for the build must be what a bare build prints (nothing for zstd).
fn assert_quiet_like(bare: &Output, built: &Output) {
    assert_eq!(
        String::from_utf8_lossy(&built.stderr),
        String::from_utf8_lossy(&bare.stderr),
        "stderr of the build through the shim differs from the bare build's"
    );
    let out = String::from_utf8_lossy(&built.stdout);
    for word in [
        "distcc",
        "icecc",
        "ICECC",
        "sccache",
        "toolchainkit",
        "Warning",
    ] {
        assert!(!out.contains(word), "`{word}` in the build output:\n{out}");
    }
}

fn distccd(lab: &mut Lab, host: usize, jobs: u32) -> usize {
    let prog = require("distccd", "distcc");
    let args: Vec<String> = [
        "--no-detach",
        "--daemon",
        "--allow",
        &Lab::cidr(),
        "--listen",
        &Lab::addr(host),
        "--log-stderr",
        "--log-level",
        "info",
        "--jobs",
        &jobs.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let i = lab.spawn(host, &format!("distccd-{host}"), &prog, &args, &[]);
    lab.wait_for("distccd listening", 20, |_| {
        Lab::tcp_up(&Lab::addr(host), 3632)
    });
    i
}

/// Compiles a distccd served successfully (its `dcc_job_summary` lines).
fn served(lab: &Lab, daemon: usize) -> usize {
    lab.daemons[daemon]
        .log_text()
        .lines()
        .filter(|l| l.contains("COMPILE_OK"))
        .count()
}

fn dist_json(w: &World) -> serde_json::Value {
    w.stats()["dist"].clone()
}

fn count(v: &serde_json::Value, key: &str) -> u64 {
    v[key]["count"].as_u64().unwrap_or(0)
}

fn distcc_config(hosts: &[usize], extra: &str) -> String {
    let list: Vec<String> = hosts
        .iter()
        .map(|h| format!("\"{}/2\"", Lab::addr(*h)))
        .collect();
    format!(
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n\n[dist]\nengine = \"distcc\"\nhosts = [{}]\nio_timeout_secs = 60\n{extra}",
        list.join(", ")
    )
}

#[test]
fn distcc_three_hosts_misses_go_remote_hits_stay_local() {
    if skip_unless(&build_needs([Need::program("distccd", "distcc")])) {
        return;
    }
    let mut lab = Lab::new(3);
    let d: Vec<usize> = (1..=3).map(|h| distccd(&mut lab, h, 2)).collect();
    let w = World::new();
    let n = project(&w);
    w.config(&distcc_config(&[1, 2, 3], ""));
    configure(&w, "bare", false);
    let bare = build(&w, "bare", 6);
    configure(&w, "tk", true);
    let built = build(&w, "tk", 6);
    assert_quiet_like(&bare, &built);
    assert_same_objects(&w.work.join("bare"), &w.work.join("tk"), n);

    // The daemons compiled them, on at least two hosts.
    let per_host: Vec<usize> = d.iter().map(|&i| served(&lab, i)).collect();
    assert_eq!(
        per_host.iter().sum::<usize>(),
        n,
        "every miss compiled remotely: {per_host:?}\n{}",
        lab.report()
    );
    assert!(
        per_host.iter().filter(|&&c| c > 0).count() >= 2,
        "compiles on at least two hosts: {per_host:?}"
    );
    // toolchainkit saw the same, per host; ccache saw misses.
    let st = w.stats();
    let dist = &st["dist"];
    assert_eq!(dist["engine"], "distcc");
    assert_eq!(count(dist, "remote"), n as u64, "{dist:#}");
    assert_eq!(count(dist, "fallback"), 0, "{dist:#}");
    assert_eq!(count(dist, "local"), 0, "{dist:#}");
    for (i, &c) in per_host.iter().enumerate() {
        let h = Lab::addr(i + 1);
        assert_eq!(
            dist["hosts"][&h]["count"].as_u64().unwrap_or(0),
            c as u64,
            "host {h}: {dist:#}"
        );
    }
    assert_eq!(st["misses"].as_u64(), Some(n as u64), "{st:#}");

    // A clean rebuild: all local ccache hits, nothing sent to any host.
    w.test("ninja").args(["-C", "tk", "-t", "clean"]).run();
    let again = build(&w, "tk", 6);
    assert_quiet_like(&bare, &again);
    assert_same_objects(&w.work.join("bare"), &w.work.join("tk"), n);
    let st = w.stats();
    assert_eq!(st["hits"].as_u64(), Some(n as u64), "{st:#}");
    assert_eq!(
        count(&st["dist"], "remote"),
        n as u64,
        "no new remote compile"
    );
    assert_eq!(st["dist"]["compiles"].as_u64(), Some(n as u64));
    let after: Vec<usize> = d.iter().map(|&i| served(&lab, i)).collect();
    assert_eq!(after, per_host, "the daemons got nothing on the rebuild");

    // tool = "none": every compile goes through distcc.
    w.write("extra.c", LIB_C);
    w.toolchainkit()
        .args(["/usr/bin/gcc", "-c", "extra.c", "-o", "extra.o"])
        .env("TOOLCHAINKIT_TOOL", "none")
        .silent()
        .run();
    let reference = w.work.join("extra-bare.o");
    w.test_bare("gcc")
        .args(["-c", "extra.c", "-o"])
        .arg(&reference)
        .run();
    assert_eq!(read(&w.work.join("extra.o")), read(&reference));
    let st = w.stats();
    assert_eq!(st["forwarded_tools"]["distcc"].as_u64(), Some(1), "{st:#}");
    assert_eq!(count(&st["dist"], "remote"), n as u64 + 1);
    let total: usize = d.iter().map(|&i| served(&lab, i)).sum();
    assert_eq!(total, n + 1);

    // doctor: every host accepts gcc and runs the same version; plain TCP is flagged.
    let v = w
        .toolchainkit()
        .args(["doctor", "--json"])
        .any_status()
        .json();
    let checks = v["checks"].as_array().expect("checks");
    let level = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["level"].as_str().unwrap_or("").to_string())
    };
    for h in 1..=3 {
        let a = Lab::addr(h);
        assert_eq!(
            level(&format!("dist.host.{a}")).as_deref(),
            Some("ok"),
            "{v:#}"
        );
        assert_eq!(
            level(&format!("dist.security.{a}")).as_deref(),
            Some("warning"),
            "{v:#}"
        );
    }
    // dist status: every host up, the share is 100 %.
    let out = w.toolchainkit().args(["dist", "status", "--json"]).run();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["remote_share"].as_f64(), Some(100.0), "{v:#}");
    for h in v["hosts"].as_array().expect("hosts") {
        assert_eq!(h["state"], "up", "{v:#}");
    }
}

#[test]
fn distcc_host_killed_mid_build_falls_back_locally() {
    if skip_unless(&build_needs([Need::program("distccd", "distcc")])) {
        return;
    }
    let mut lab = Lab::new(2);
    let victim = distccd(&mut lab, 1, 2);
    let _other = distccd(&mut lab, 2, 2);
    let w = World::new();
    let n = project(&w);
    w.config(&distcc_config(&[1, 2], ""));
    configure(&w, "bare", false);
    let bare = build(&w, "bare", 4);
    configure(&w, "tk", true);
    let child: Child = w
        .cmd("ninja")
        .args(["-C", "tk", "-j4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ninja");
    // Kill host 1 (its whole process group) as soon as it is compiling something.
    let deadline = Instant::now() + Duration::from_secs(60);
    // (`compile from` is a job's request; the readiness probe only connected.)
    while !lab.daemons[victim].log_text().contains("compile from") {
        assert!(
            Instant::now() < deadline,
            "host 1 never got a job\n{}",
            lab.report()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    lab.daemons[victim].kill();
    let built = child.wait_with_output().expect("ninja");
    let built = ok(built);
    assert_quiet_like(&bare, &built);
    assert_same_objects(&w.work.join("bare"), &w.work.join("tk"), n);
    let dist = dist_json(&w);
    // distcc moves a compile whose host dies to another host (or, with none left, to
    // this machine): each such compile is counted, and host 1 is named.
    assert!(
        count(&dist, "fallback") + dist["retried"].as_u64().unwrap_or(0) >= 1,
        "the compiles host 1 lost are counted: {dist:#}"
    );
    assert!(
        dist["failed_hosts"][Lab::addr(1)].as_u64().unwrap_or(0) >= 1,
        "host 1 named as the failed host: {dist:#}"
    );
    assert_eq!(
        count(&dist, "remote") + count(&dist, "fallback") + count(&dist, "local"),
        n as u64,
        "every compile accounted for: {dist:#}"
    );
    // dist status says host 1 is down.
    // A host is down: exit 1.
    let v = w
        .toolchainkit()
        .args(["dist", "status", "--json"])
        .status(1)
        .json();
    assert!(
        v["hosts"][0]["state"]
            .as_str()
            .unwrap_or("")
            .starts_with("down"),
        "{v:#}"
    );
    assert_eq!(v["hosts"][1]["state"], "up", "{v:#}");
}

/// Start icecc-scheduler in host 1, remote iceccd in hosts 2 and 3, the local (client)
/// daemon with `--no-remote` in host 4; returns (remote daemon indexes, client socket).
fn icecream(lab: &mut Lab) -> (Vec<usize>, PathBuf) {
    let sched = require("icecc-scheduler", "icecc");
    let iceccd = require("iceccd", "icecc");
    let net = "tktest".to_string();
    lab.spawn(
        1,
        "scheduler",
        &sched,
        &[
            "-p".into(),
            "8765".into(),
            "-n".into(),
            net.clone(),
            "-l".into(),
            lab.path("scheduler.log").display().to_string(),
            "-vvv".into(),
        ],
        &[],
    );
    let s = format!("{}:8765", Lab::addr(1));
    let idle = lab.path("idle-proc-stat");
    fs::write(
        &idle,
        "cpu  100 0 100 100000 0 0 0 0 0 0\ncpu0 50 0 50 50000 0 0 0 0 0 0\n",
    )
    .expect("idle stat");
    let mut remotes = Vec::new();
    for (host, name, extra) in [
        (2, "remote1", None),
        (3, "remote2", None),
        (4, "client", Some("--no-remote")),
    ] {
        let sock = lab.path(&format!("{name}.sock"));
        let mut args: Vec<String> = vec![
            "-s".into(),
            s.clone(),
            "-n".into(),
            net.clone(),
            "-N".into(),
            name.into(),
            "-b".into(),
            lab.path(&format!("envs-{name}")).display().to_string(),
            "-l".into(),
            lab.path(&format!("{name}.log")).display().to_string(),
            "-m".into(),
            "2".into(),
            "-vvv".into(),
        ];
        args.extend(extra.map(String::from));
        // icecc-scheduler gives no job to a daemon whose CPU is busy (load >= 1000 of
        // 1000). These "hosts" share this machine's two cores with the client's own
        // compiles (and the other tests'), so each daemon sees a /proc/stat of an idle
        // machine (constant counters), as a real build host with its own CPUs would.
        // The mount is private to the daemon's mount namespace.
        let quoted: Vec<String> = std::iter::once(iceccd.display().to_string())
            .chain(args)
            .map(|a| format!("'{}'", a.replace('\'', "")))
            .collect();
        let script = format!(
            "mount --bind '{}' /proc/stat && exec {}",
            idle.display(),
            quoted.join(" ")
        );
        let i = lab.spawn(
            host,
            name,
            Path::new("/bin/sh"),
            &["-c".into(), script],
            &[("ICECC_TEST_SOCKET", sock.display().to_string())],
        );
        if extra.is_none() {
            remotes.push(i);
        }
    }
    let log = lab.path("scheduler.log");
    lab.wait_for("three iceccd logged in to the scheduler", 60, |_| {
        fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("login ")
            .count()
            >= 3
    });
    (remotes, lab.path("client.sock"))
}

fn remote_compiles(lab: &Lab, name: &str) -> usize {
    fs::read_to_string(lab.path(&format!("{name}.log")))
        .unwrap_or_default()
        .matches("Remote compilation completed with exit code 0")
        .count()
}

#[test]
fn icecream_scheduler_and_two_daemons() {
    if skip_unless(&build_needs([
        Need::program("icecc-scheduler", "icecc"),
        Need::program("iceccd", "icecc"),
    ])) {
        return;
    }
    let mut lab = Lab::new(4);
    let (_remotes, sock) = icecream(&mut lab);
    let mut w = World::new();
    let n = project(&w);
    w.env
        .push(("ICECC_TEST_SOCKET".into(), sock.display().to_string()));
    // The user's own icecc log keeps receiving the client's lines (and shows them here).
    let client_log = w.root().join("icecc-client.log");
    w.env
        .push(("ICECC_LOGFILE".into(), client_log.display().to_string()));
    w.config(&format!(
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n\n[dist]\nengine = \"icecc\"\nscheduler = \"{}:8765\"\n",
        Lab::addr(1)
    ));
    configure(&w, "bare", false);
    let bare = build(&w, "bare", 4);
    configure(&w, "tk", true);
    let built = build(&w, "tk", 4);
    assert_quiet_like(&bare, &built);
    assert_same_objects(&w.work.join("bare"), &w.work.join("tk"), n);
    let (r1, r2) = (
        remote_compiles(&lab, "remote1"),
        remote_compiles(&lab, "remote2"),
    );
    let dist = dist_json(&w);
    assert_eq!(dist["engine"], "icecc");
    assert_eq!(
        count(&dist, "remote"),
        (r1 + r2) as u64,
        "toolchainkit counted what the daemons did: {dist:#}\n{}",
        lab.report()
    );
    assert!(
        r1 + r2 >= n / 2,
        "most compiles ran on the remote daemons ({r1} + {r2} of {n}): {dist:#}\n{}\n{}",
        fs::read_to_string(&client_log)
            .unwrap_or_default()
            .lines()
            .take(60)
            .collect::<Vec<_>>()
            .join("\n"),
        lab.report()
    );
    assert!(r1 > 0 && r2 > 0, "both daemons compiled: {r1}, {r2}");
    for (i, name) in [(2, "remote1"), (3, "remote2")] {
        assert_eq!(
            dist["hosts"][Lab::addr(i)]["count"].as_u64().unwrap_or(0),
            remote_compiles(&lab, name) as u64,
            "{dist:#}"
        );
    }
    let out = w.toolchainkit().args(["dist", "status", "--json"]).run();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["hosts"].as_array().map(Vec::len), Some(3), "{v:#}");
}

/// A process group started for a test, killed on drop.
struct Proc(Option<Child>);

impl Proc {
    fn start(cmd: &mut Command, log: &Path) -> Proc {
        use std::os::unix::process::CommandExt;
        let f = fs::File::create(log).expect("log");
        // SAFETY: setsid in the child only.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let c = cmd
            .stdin(Stdio::null())
            .stdout(f.try_clone().expect("log"))
            .stderr(f)
            .spawn()
            .expect("start");
        Proc(Some(c))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            // SAFETY: our own process group.
            unsafe {
                libc::kill(-(c.id() as i32), libc::SIGKILL);
            }
            let _ = c.wait();
        }
    }
}

fn random_token() -> String {
    let mut b = [0u8; 16];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .expect("urandom");
    format!(
        "tkdist{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[test]
fn sccache_dist_scheduler_and_bubblewrap_server() {
    if skip_unless(&build_needs([Need::program("bwrap", "bubblewrap")])) {
        return;
    }
    let bwrap = require("bwrap", "bubblewrap");
    let sd = tools_dir().join("sccache-dist");
    assert!(
        sd.is_file(),
        "{} missing: bash scripts/setup-tools.sh",
        sd.display()
    );
    let mut w = World::new();
    // The project file is the user's own: its token reaches its scheduler.
    w.trust_project();
    let n = project(&w);
    let dir = w.root().join("sd");
    fs::create_dir_all(&dir).expect("dir");
    let token = random_token();
    let run = |args: &[&str]| -> String {
        Test::new(Command::new(&sd), &w.work)
            .args(args)
            .stdout_text()
            .trim()
            .to_string()
    };
    let key = run(&["auth", "generate-jwt-hs256-key"]);
    let (sport, bport) = (free_port(), free_port());
    // `--secret-key=KEY` in one word: a generated key may start with `-`.
    let server_token = run(&[
        "auth",
        "generate-jwt-hs256-server-token",
        &format!("--secret-key={key}"),
        "--server",
        &format!("127.0.0.1:{bport}"),
    ]);
    fs::write(
        dir.join("scheduler.toml"),
        format!(
            "public_addr = \"127.0.0.1:{sport}\"\n[client_auth]\ntype = \"token\"\ntoken = \"{token}\"\n[server_auth]\ntype = \"jwt_hs256\"\nsecret_key = \"{key}\"\n"
        ),
    )
    .expect("scheduler config");
    fs::write(
        dir.join("server.toml"),
        format!(
            "cache_dir = \"{d}/toolchains\"\npublic_addr = \"127.0.0.1:{bport}\"\nscheduler_url = \"http://127.0.0.1:{sport}\"\n\
             [builder]\ntype = \"overlay\"\nbuild_dir = \"{d}/build\"\nbwrap_path = \"{b}\"\n\
             [scheduler_auth]\ntype = \"jwt_token\"\ntoken = \"{server_token}\"\n",
            d = dir.display(),
            b = bwrap.display()
        ),
    )
    .expect("server config");
    let _scheduler = Proc::start(
        Command::new(&sd)
            .args(["scheduler", "--config"])
            .arg(dir.join("scheduler.toml"))
            .env("SCCACHE_NO_DAEMON", "1")
            .env("SCCACHE_LOG", "info"),
        &dir.join("scheduler.log"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !Lab::tcp_up("127.0.0.1", sport) {
        assert!(
            Instant::now() < deadline,
            "scheduler did not start: {}",
            fs::read_to_string(dir.join("scheduler.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _server = Proc::start(
        Command::new(&sd)
            .args(["server", "--config"])
            .arg(dir.join("server.toml"))
            .env("SCCACHE_NO_DAEMON", "1")
            .env("SCCACHE_LOG", "info"),
        &dir.join("server.log"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !fs::read_to_string(dir.join("server.log"))
        .unwrap_or_default()
        .contains("Server connected to scheduler")
    {
        assert!(
            Instant::now() < deadline,
            "build server did not connect: {}",
            fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    w.env.push(("TK_TEST_DIST_TOKEN".into(), token.clone()));
    w.env.push(("TOOLCHAINKIT_LOG".into(), "debug".into()));
    w.env.push(("SCCACHE_LOG".into(), "debug".into()));
    w.env.push(("TOOLCHAINKIT_TRACE".into(), "1".into()));
    w.config(&format!(
        "[cache]\ntool = \"sccache\"\ndir = \"cache\"\n\n[dist]\nengine = \"sccache-dist\"\nscheduler_url = \"http://127.0.0.1:{sport}\"\nauth_token_env = \"TK_TEST_DIST_TOKEN\"\n"
    ));
    configure(&w, "bare", false);
    let bare = build(&w, "bare", 4);
    configure(&w, "tk", true);
    // With SCCACHE_LOG=debug the sccache client logs on the build's stderr (the user
    // asked for it), and the server started by toolchainkit logs everything it does:
    // this build is for the token scan; the next one, without it, for silence.
    let built = build(&w, "tk", 4);
    assert_same_objects(&w.work.join("bare"), &w.work.join("tk"), n);
    assert_eq!(w.sccache_sockets().len(), 1, "one server");
    let first = dist_compiles(&w);
    // How many go remote depends on the machine's load (sccache compiles locally when the
    // scheduler is slow to answer); some must.
    assert!(
        first >= 1,
        "sccache distributed no compile ({first} of {n})\n{}\n{}\n{}",
        fs::read_to_string(dir.join("server.log")).unwrap_or_default(),
        w.sccache_stats(&w.sccache_sockets()[0]),
        w.stats()
    );
    // The client config with the token is gone once the server has read it.
    let left: Vec<PathBuf> = fs::read_dir(w.run.path().join("toolchainkit"))
        .expect("runtime dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".toml"))
        .collect();
    assert!(left.is_empty(), "client config left behind: {left:?}");

    // The token appears in no output and no log.
    let mut texts: Vec<(String, Vec<u8>)> = vec![
        ("build stdout".into(), built.stdout.clone()),
        ("build stderr".into(), built.stderr.clone()),
    ];
    for args in [
        vec!["stats"],
        vec!["stats", "--json"],
        vec!["config"],
        vec!["config", "check"],
        vec!["doctor"],
        vec!["dist", "status"],
        vec!["dist", "status", "--json"],
        vec!["env"],
    ] {
        let out = w.toolchainkit().args(&args).any_status().run();
        texts.push((format!("toolchainkit {}", args.join(" ")), out.stdout));
        texts.push((
            format!("toolchainkit {} (stderr)", args.join(" ")),
            out.stderr,
        ));
    }
    let st = w.stats();
    assert_eq!(st["dist"]["engine"], "sccache-dist");
    assert!(
        st["dist"]["sccache"]["dist_compiles"].is_object(),
        "stats shows sccache's dist counters: {st:#}"
    );
    fn collect(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
        {
            let p = e.path();
            if p.is_dir() {
                collect(&p, out);
            } else if let Ok(b) = fs::read(&p) {
                out.push((p.display().to_string(), b));
            }
        }
    }
    collect(&w.root().join("state"), &mut texts);
    collect(w.run.path(), &mut texts);
    assert!(
        texts.iter().any(|(n, _)| n.ends_with("toolchainkit.log")),
        "the debug log was written"
    );
    for (name, bytes) in &texts {
        assert!(
            !String::from_utf8_lossy(bytes).contains(&token),
            "the token appears in {name}"
        );
    }

    // Without SCCACHE_LOG, into an empty cache (so every compile misses again): the build
    // prints what a bare build prints, and the compiles are distributed again.
    w.env.retain(|(k, _)| k != "SCCACHE_LOG");
    w.env.push((
        "TOOLCHAINKIT_CACHE_DIR".into(),
        w.root().join("cache2").display().to_string(),
    ));
    configure(&w, "tk2", true);
    let built = build(&w, "tk2", 4);
    assert_quiet_like(&bare, &built);
    assert_same_objects(&w.work.join("bare"), &w.work.join("tk2"), n);
    assert_eq!(
        w.sccache_sockets().len(),
        2,
        "a second server for the other settings"
    );
    let again = dist_compiles(&w);
    assert!(
        again > first,
        "the second build was distributed too ({again} in all, {first} before)"
    );
}

/// sccache's `dist_compiles`, summed over every server this world started.
fn dist_compiles(w: &World) -> u64 {
    w.sccache_sockets()
        .iter()
        .map(|s| {
            w.sccache_stats(s)["stats"]["dist_compiles"]
                .as_object()
                .map_or(0, |m| {
                    m.values()
                        .filter_map(serde_json::Value::as_u64)
                        .sum::<u64>()
                })
        })
        .sum()
}

#[test]
fn bad_dist_input_is_a_config_error_and_a_missing_engine_a_fallback() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let w = World::new();
    w.write("a.c", LIB_C);
    let compile = |w: &World| {
        w.toolchainkit()
            .args(["/usr/bin/gcc", "-c", "a.c", "-o", "a.o"])
    };
    let cases: &[(&str, &str, u32, &str)] = &[
        (
            "[cache]\ntool = \"ccache\"\n[dist]\nengine = \"distc\"\nhosts = [\"a\"]\n",
            "dist.engine",
            4,
            "did you mean `distcc`?",
        ),
        (
            "[cache]\ntool = \"ccache\"\n[dist]\nengine = \"distcc\"\nhosts = [\"box:99999/4\"]\n",
            "dist.hosts",
            5,
            "HOST[:PORT][/LIMIT]",
        ),
        (
            "[cache]\ntool = \"ccache\"\n[dist]\nengine = \"distcc\"\nhosts = [\"box/4,zip\"]\n",
            "dist.hosts",
            5,
            "unknown option",
        ),
        (
            "[cache]\ntool = \"sccache\"\n[dist]\nengine = \"sccache-dist\"\nscheduler_url = \"sched.example:10600\"\n",
            "dist.scheduler_url",
            5,
            "not a URL",
        ),
        (
            "[cache]\ntool = \"sccache\"\n[dist]\nengine = \"distcc\"\nhosts = [\"box/4\"]\n",
            "dist.engine",
            4,
            "tool = \\\"ccache\\\"",
        ),
        (
            "[cache]\ntool = \"ccache\"\n[dist]\nengine = \"sccache-dist\"\nscheduler_url = \"https://s:1\"\n",
            "dist.engine",
            4,
            "tool = \\\"sccache\\\"",
        ),
        (
            "[cache]\ntool = \"ccache\"\n[dist]\nengine = \"distcc\"\nhosts = [\"box/4,lzo,cpp\"]\n",
            "dist.engine",
            4,
            "pump",
        ),
        (
            "[cache]\ntool = \"ccache\"\n[dist]\nengine = \"icecc\"\nscheduler = \"s\"\nlocal_slots = 2\n",
            "dist.local_slots",
            6,
            "iceccd -m",
        ),
    ];
    for (toml, key, line, words) in cases {
        w.config(toml);
        let out = compile(&w).status(78).run();
        let err = String::from_utf8_lossy(&out.stderr);
        let file = w.work.join(".toolchainkit.toml");
        assert!(
            err.contains(&format!("{}:{line}:", file.display()))
                && err.contains(&format!("`{key}`")),
            "file:line and key in the message for\n{toml}\n{err}"
        );
        let words = words.replace("\\\"", "\"");
        assert!(err.contains(&words), "`{words}` in\n{err}");
        assert!(err.contains("hint: "), "a fix in\n{err}");
        let v = w
            .toolchainkit()
            .args(["config", "check", "--json"])
            .status(78)
            .json();
        assert!(
            v["problems"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["key"] == *key)),
            "config check names {key}: {v:#}"
        );
    }

    // The engine's binary is missing: the compile succeeds locally, silently, and the
    // fallback is counted; with ccache only a miss would have used it.
    let reference = w.work.join("ref.o");
    w.test_bare("gcc")
        .args(["-c", "a.c", "-o"])
        .arg(&reference)
        .run();
    let mut w = w;
    w.env.push((
        "TOOLCHAINKIT_DISTCC_PATH".into(),
        "/nonexistent/distcc".into(),
    ));
    w.config(
        "[cache]\ntool = \"none\"\n[dist]\nengine = \"distcc\"\nhosts = [\"10.213.201.99/2\"]\n",
    );
    compile(&w).silent().run();
    assert_eq!(read(&w.work.join("a.o")), read(&reference));
    let st = w.stats();
    assert_eq!(
        st["fallback_reasons"]["distcc_missing"].as_u64(),
        Some(1),
        "{st:#}"
    );
    assert_eq!(
        st["dist"]["fallback_reasons"]["distcc_missing"].as_u64(),
        Some(1),
        "{st:#}"
    );
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n[dist]\nengine = \"distcc\"\nhosts = [\"10.213.201.99/2\"]\n");
    compile(&w).silent().run();
    assert_eq!(read(&w.work.join("a.o")), read(&reference));
    compile(&w).silent().run(); // a hit: no engine involved, nothing counted for distribution
    let st = w.stats();
    assert_eq!(st["misses"].as_u64(), Some(1), "{st:#}");
    assert_eq!(st["hits"].as_u64(), Some(1), "{st:#}");
    assert_eq!(
        st["dist"]["fallback_reasons"]["distcc_missing"].as_u64(),
        Some(2),
        "{st:#}"
    );
    // TOOLCHAINKIT_DIST_ENGINE=none turns distribution off; a bad value is an error.
    w.toolchainkit()
        .args(["/usr/bin/gcc", "-c", "a.c", "-o", "a.o"])
        .env("TOOLCHAINKIT_DIST_ENGINE", "distccc")
        .status(78)
        .stderr_contains("TOOLCHAINKIT_DIST_ENGINE")
        .run();
    w.toolchainkit()
        .args(["config"])
        .env("TOOLCHAINKIT_DIST_ENGINE", "none")
        .any_status()
        .stdout_contains("dist.engine = \"none\"")
        .run();
}
