//! `config check`, `env`, `cmake` and `container-args`: run the real binary in a private
//! environment; `cmake` is proven by configuring and building a real CMake project with
//! Ninja and seeing cache hits on the rebuild.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_toolchainkit");

fn tools_dir() -> PathBuf {
    let d = std::env::var_os("TOOLCHAINKIT_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-tools/bin"));
    assert!(
        d.join("ccache").exists(),
        "ccache not found in {}: run bash scripts/setup-tools.sh",
        d.display()
    );
    d
}

struct Env {
    dir: tempfile::TempDir,
    runtime: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("tk-cmds")
            .tempdir()
            .expect("tmp");
        let runtime = tempfile::Builder::new()
            .prefix("tkc")
            .tempdir_in("/tmp")
            .expect("runtime");
        for d in ["home", "config", "state", "data", "proj"] {
            std::fs::create_dir_all(dir.path().join(d)).expect("dirs");
        }
        Env { dir, runtime }
    }
    fn proj(&self) -> PathBuf {
        self.dir.path().join("proj")
    }
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            if ["TOOLCHAINKIT_", "CCACHE_", "SCCACHE_"]
                .iter()
                .any(|p| k.starts_with(p))
            {
                c.env_remove(&k);
            }
        }
        let p = self.dir.path();
        c.env("HOME", p.join("home"))
            .env("XDG_CONFIG_HOME", p.join("config"))
            .env("XDG_STATE_HOME", p.join("state"))
            .env("XDG_DATA_HOME", p.join("data"))
            .env("XDG_CACHE_HOME", p.join("home/.cache"))
            .env("XDG_RUNTIME_DIR", self.runtime.path())
            .env("PATH", format!("{}:/usr/bin:/bin", tools_dir().display()))
            .current_dir(self.proj());
        c
    }
    fn tk(&self, args: &[&str]) -> Output {
        self.cmd(BIN).args(args).output().expect("run toolchainkit")
    }
    fn config(&self, text: &str) {
        std::fs::write(self.proj().join(".toolchainkit.toml"), text).expect("config");
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn config_check_lists_every_problem_with_file_key_and_fix() {
    let e = Env::new();
    e.config(
        "[cache]\ntool = \"ccache\"\n\n[cache.remote]\ntype = \"s3\"\nbucket = \"b\"\n\
         endpoint = \"http://admin:hunter2@127.0.0.1:9000\"\nsecret_key_env = \"TK_UNSET_SECRET\"\ndb = 4\n",
    );
    let out = e.tk(&["config", "check", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!text(&out).contains("hunter2"), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["valid"], false);
    let problems = v["problems"].as_array().expect("list");
    let keys: Vec<&str> = problems.iter().filter_map(|p| p["key"].as_str()).collect();
    for want in [
        "cache.remote.db",
        "cache.remote.endpoint",
        "cache.remote.secret_key_env",
        "cache.tool",
    ] {
        assert!(keys.contains(&want), "{want} missing from {v}");
    }
    for p in problems {
        assert!(
            p["file"]
                .as_str()
                .is_some_and(|f| f.ends_with(".toolchainkit.toml")),
            "{p}"
        );
        assert!(p["fix"].as_str().is_some_and(|f| !f.is_empty()), "{p}");
    }
    let tool = problems
        .iter()
        .find(|p| p["key"] == "cache.tool")
        .expect("tool problem");
    assert!(
        tool["message"]
            .as_str()
            .unwrap_or("")
            .contains("sccache can"),
        "{tool}"
    );

    e.config(
        "[cache]\ntool = \"sccache\"\n\n[cache.remote]\ntype = \"s3\"\nbucket = \"b\"\nsecret_key_env = \"TK_SET_SECRET\"\n",
    );
    let out = e
        .cmd(BIN)
        .args(["config", "check"])
        .env("TK_SET_SECRET", "v")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // A setting the chosen tool would silently ignore is a problem too.
    e.config(
        "[cache]\ntool = \"ccache\"\n\n[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:6379\"\nttl = 60\n",
    );
    let out = e.tk(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("`cache.remote.ttl`"), "{}", text(&out));
}

#[test]
fn env_prints_secret_references_never_values() {
    let e = Env::new();
    e.config(
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n\n[cache.remote]\ntype = \"redis\"\n\
         endpoint = \"redis://127.0.0.1:6379\"\npassword_env = \"TK_PW\"\nread_only = true\n",
    );
    let secret = "pw-not-to-be-printed";
    for (format, reference) in [
        ("sh", "\"${TK_PW}\""),
        ("fish", "\"$TK_PW\""),
        ("powershell", "$env:TK_PW"),
        ("dotenv", "${TK_PW}"),
        ("json", "${TK_PW}"),
    ] {
        let out = e
            .cmd(BIN)
            .args(["env", "--format", format])
            .env("TK_PW", secret)
            .output()
            .expect("run");
        let t = text(&out);
        assert!(out.status.success(), "{t}");
        assert!(!t.contains(secret), "{format}: {t}");
        assert!(t.contains(reference), "{format}: {t}");
        assert!(t.contains("CCACHE_REMOTE_STORAGE"), "{format}: {t}");
        assert!(t.contains("read-only=true"), "{format}: {t}");
    }
    // The sh output, evaluated, gives ccache the URL with the password.
    let out = e.tk(&["env", "--format", "sh"]);
    let script = format!(
        "{}\nprintf %s \"$CCACHE_REMOTE_STORAGE\"",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("TK_PW", "p")
        .output()
        .expect("sh");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "redis://p@127.0.0.1:6379|read-only=true"
    );
    // sccache for the same remote: its own variables.
    let out = e.tk(&["env", "--tool", "sccache", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let names: Vec<&str> = v["variables"]
        .as_array()
        .expect("vars")
        .iter()
        .filter_map(|x| x["name"].as_str())
        .collect();
    for n in [
        "SCCACHE_REDIS_ENDPOINT",
        "SCCACHE_REDIS_PASSWORD",
        "SCCACHE_REDIS_RW_MODE",
    ] {
        assert!(names.contains(&n), "{v}");
    }
}

fn copy_example(to: &Path) {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/hello");
    std::fs::create_dir_all(to).expect("src dir");
    for f in [
        "CMakeLists.txt",
        "hello.c",
        "greet.c",
        "greet.h",
        "util.cpp",
    ] {
        std::fs::copy(src.join(f), to.join(f)).expect("copy example");
    }
}

fn run_ok(c: &mut Command) -> Output {
    let out = c.output().expect("run");
    assert!(out.status.success(), "{c:?}: {}", text(&out));
    out
}

#[test]
fn cmake_launcher_arguments_build_a_real_project_with_hits_on_rebuild() {
    let e = Env::new();
    e.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    let src = e.proj().join("src");
    copy_example(&src);
    let init = e.proj().join("init.cmake");
    run_ok(e.cmd(BIN).args(["cmake", "--write"]).arg(&init));
    let script = std::fs::read_to_string(&init).expect("init script");
    let exe = std::fs::canonicalize(BIN).expect("bin");
    assert!(
        script.contains(&format!(
            "CMAKE_CXX_COMPILER_LAUNCHER \"{}\"",
            exe.display()
        )),
        "{script}"
    );
    // First build: the initial-cache script.
    run_ok(
        e.cmd("cmake")
            .args(["-G", "Ninja", "-C"])
            .arg(&init)
            .arg("-S")
            .arg(&src)
            .arg("-B")
            .arg(e.proj().join("b1")),
    );
    run_ok(e.cmd("cmake").arg("--build").arg(e.proj().join("b1")));
    let cache = std::fs::read_to_string(e.proj().join("b1/CMakeCache.txt")).expect("cache");
    assert!(
        cache.contains(&format!(
            "CMAKE_C_COMPILER_LAUNCHER:STRING={}",
            exe.display()
        )),
        "launcher not set"
    );
    // Second build, fresh build dir: the -D arguments; every compile is a hit.
    let out = run_ok(e.cmd(BIN).arg("cmake"));
    let args: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(args.len(), 2, "{args:?}");
    run_ok(
        e.cmd("cmake")
            .args(["-G", "Ninja"])
            .args(&args)
            .arg("-S")
            .arg(&src)
            .arg("-B")
            .arg(e.proj().join("b2")),
    );
    run_ok(e.cmd("cmake").arg("--build").arg(e.proj().join("b2")));
    let out = run_ok(e.cmd(BIN).args(["stats", "--json"]));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stats");
    assert_eq!(v["misses"], 3, "{v}");
    assert_eq!(v["hits"], 3, "{v}");
    let hello = run_ok(&mut Command::new(e.proj().join("b2/hello")));
    assert_eq!(
        String::from_utf8_lossy(&hello.stdout),
        "hello from a cached build\n"
    );
}

#[test]
fn container_args_mount_a_host_directory_that_exists() {
    let e = Env::new();
    e.config("[cache]\ntool = \"ccache\"\ndir = \"shared-cache\"\n");
    let host = e.proj().join("shared-cache/ccache");
    assert!(!host.exists());
    let out = e.tk(&[
        "container-args",
        "--engine",
        "podman",
        "--target-home",
        "/home/dev",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(host.is_dir(), "the host directory was not created");
    let host = std::fs::canonicalize(&host).expect("canon");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim(),
        format!(
            "--volume={}:/home/dev/.cache/ccache:z --env=CCACHE_DIR=/home/dev/.cache/ccache --env=CCACHE_COMPILERCHECK=content",
            host.display()
        )
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("user ID"),
        "{}",
        text(&out)
    );

    // sccache, docker, default cache location under XDG_CACHE_HOME.
    e.config("[cache]\ntool = \"sccache\"\n");
    let out = e.tk(&["container-args"]);
    assert!(out.status.success(), "{}", text(&out));
    let host = e.dir.path().join("home/.cache/sccache");
    assert!(host.is_dir());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!(
        "--volume={}:/root/.cache/sccache --env=SCCACHE_DIR=/root/.cache/sccache",
        std::fs::canonicalize(&host).expect("canon").display()
    )));

    // A cache directory that cannot be created: an error, and no arguments at all.
    std::fs::write(e.proj().join("blocker"), "a file").expect("file");
    e.config("[cache]\ntool = \"ccache\"\ndir = \"blocker/cache\"\n");
    let out = e.tk(&["container-args"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(out.stdout.is_empty(), "{}", text(&out));
    // A relative target home is refused.
    e.config("[cache]\ntool = \"ccache\"\ndir = \"c2\"\n");
    let out = e.tk(&["container-args", "--target-home", "rel"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}
