//! `config check`, `env`, `cmake` and `container-args`: run the real binary in a private
//! environment; `cmake` is proven by configuring and building a real CMake project with
//! Ninja and seeing cache hits on the rebuild.

use crate::common;

use std::path::{Path, PathBuf};

use common::*;

#[test]
fn config_check_lists_every_problem_with_file_key_and_fix() {
    let old = old_ccache();
    if skip_unless(&[Need::file(&old, "bash scripts/setup-tools.sh")]) {
        return;
    }
    let mut w = World::new();
    // The project file is the user's own: its remote (with a credential) applies.
    w.trust_project();
    // A ccache that starts no storage helpers cannot reach S3 (the pinned one can).
    w.set_env("TOOLCHAINKIT_CCACHE_PATH", &old);
    w.config(
        "[cache]\ntool = \"ccache\"\n\n[cache.remote]\ntype = \"s3\"\nbucket = \"b\"\n\
         endpoint = \"http://admin:hunter2@127.0.0.1:9000\"\nsecret_key_env = \"TK_UNSET_SECRET\"\ndb = 4\n",
    );
    let v = w
        .toolchainkit()
        .args(["config", "check", "--json"])
        .status(78)
        .stdout_lacks("hunter2")
        .stderr_lacks("hunter2")
        .json();
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

    w.config(
        "[cache]\ntool = \"sccache\"\n\n[cache.remote]\ntype = \"s3\"\nbucket = \"b\"\nsecret_key_env = \"TK_SET_SECRET\"\n",
    );
    w.toolchainkit()
        .args(["config", "check"])
        .env("TK_SET_SECRET", "v")
        .stderr("")
        .run();

    // A setting the chosen tool would silently ignore is a problem too; compiles still
    // work without it, so it degrades (exit 1) rather than stops them (78).
    w.config(
        "[cache]\ntool = \"ccache\"\n\n[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:6379\"\nttl = 60\n",
    );
    let out = w.toolchainkit().args(["config", "check"]).status(1).run();
    assert!(
        describe(&out).contains("`cache.remote.ttl`"),
        "{}",
        describe(&out)
    );
}

#[test]
fn env_prints_secret_references_never_values() {
    if skip_unless(&[Need::program("sh", "dash")]) {
        return;
    }
    let mut w = World::new();
    // The project file is the user's own: its remote (with a credential) applies.
    w.trust_project();
    w.config(
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n\n[cache.remote]\ntype = \"redis\"\n\
         endpoint = \"redis://127.0.0.1:6379\"\npassword_env = \"TK_PW\"\nread_only = true\n",
    );
    let secret = "pw-not-to-be-printed";
    // The pinned ccache starts the storage helper, which reads the password from the
    // variable itself: the entry names the variable and holds no value, nor a reference.
    let sh = w
        .toolchainkit()
        .args(["env", "--format", "sh"])
        .env("TK_PW", secret)
        .stdout_lacks(secret)
        .stdout_lacks("${TK_PW}")
        .stdout_contains("@e.password=TK_PW")
        .stdout_contains(" helper=")
        .stdout_contains(" read-only=true")
        .stderr("")
        .stdout_text();
    w.test("sh")
        .arg("-c")
        .arg(format!("{sh}\nprintf %s \"$CCACHE_REMOTE_STORAGE\""))
        .env("TK_PW", "p")
        .stdout_contains("redis://127.0.0.1:6379/0 helper=")
        .stdout_lacks("p@")
        .stderr("")
        .run();
    // A ccache without helpers takes the password in its URL: printed as a reference.
    let old = old_ccache();
    if skip_unless(&[Need::file(&old, "bash scripts/setup-tools.sh")]) {
        return;
    }
    w.set_env("TOOLCHAINKIT_CCACHE_PATH", &old);
    for (format, reference) in [
        ("sh", "\"${TK_PW}\""),
        ("fish", "\"$TK_PW\""),
        ("powershell", "$env:TK_PW"),
        ("dotenv", "${TK_PW}"),
        ("json", "${TK_PW}"),
    ] {
        w.toolchainkit()
            .args(["env", "--format", format])
            .env("TK_PW", secret)
            .stdout_lacks(secret)
            .stdout_contains(reference)
            .stdout_contains("CCACHE_REMOTE_STORAGE")
            .stdout_contains("read-only=true")
            .stderr("")
            .run();
    }
    // The sh output, evaluated, gives ccache the URL with the password.
    let sh = w
        .toolchainkit()
        .args(["env", "--format", "sh"])
        .stderr("")
        .stdout_text();
    w.test("sh")
        .arg("-c")
        .arg(format!("{sh}\nprintf %s \"$CCACHE_REMOTE_STORAGE\""))
        .env("TK_PW", "p")
        .stdout("redis://p@127.0.0.1:6379|read-only=true")
        .stderr("")
        .run();
    // sccache for the same remote: its own variables.
    let v = w
        .toolchainkit()
        .args(["env", "--tool", "sccache", "--format", "json"])
        .stderr("")
        .json();
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

/// Debian's ccache 4.7.5, which starts no storage helpers (unpacked by setup-tools).
fn old_ccache() -> PathBuf {
    crate::servers::repo().join(".tools/ccache-4.7/usr/bin/ccache")
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

#[test]
fn cmake_launcher_arguments_build_a_real_project_with_hits_on_rebuild() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("cmake", "cmake"),
        Need::program("ninja", "ninja-build"),
    ]) {
        return;
    }
    let w = World::new();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    let src = w.work.join("src");
    copy_example(&src);
    let init = w.work.join("init.cmake");
    w.toolchainkit().args(["cmake", "--write"]).arg(&init).run();
    let script = std::fs::read_to_string(&init).expect("init script");
    let exe = std::fs::canonicalize(bin()).expect("bin");
    assert!(
        script.contains(&format!(
            "CMAKE_CXX_COMPILER_LAUNCHER \"{}\"",
            exe.display()
        )),
        "{script}"
    );
    // First build: the initial-cache script.
    w.test("cmake")
        .args(["-G", "Ninja", "-C"])
        .arg(&init)
        .arg("-S")
        .arg(&src)
        .arg("-B")
        .arg(w.work.join("b1"))
        .run();
    w.test("cmake")
        .arg("--build")
        .arg(w.work.join("b1"))
        .stderr("")
        .run();
    let cache = std::fs::read_to_string(w.work.join("b1/CMakeCache.txt")).expect("cache");
    assert!(
        cache.contains(&format!(
            "CMAKE_C_COMPILER_LAUNCHER:STRING={}",
            exe.display()
        )),
        "launcher not set"
    );
    let first = w.stats();
    assert_eq!(
        (first["misses"].as_u64(), first["hits"].as_u64()),
        (Some(3), Some(0)),
        "{first}"
    );
    // Second build, fresh build dir: the -D arguments; every compile is a hit.
    let printed = w.toolchainkit().arg("cmake").stderr("").stdout_text();
    let args: Vec<&str> = printed.split_whitespace().collect();
    assert_eq!(args.len(), 2, "{args:?}");
    w.test("cmake")
        .args(["-G", "Ninja"])
        .args(&args)
        .arg("-S")
        .arg(&src)
        .arg("-B")
        .arg(w.work.join("b2"))
        .run();
    w.test("cmake")
        .arg("--build")
        .arg(w.work.join("b2"))
        .stderr("")
        .run();
    let v = w.stats();
    assert_eq!(v["misses"], 3, "{v}");
    assert_eq!(v["hits"], 3, "{v}");
    w.test(w.work.join("b2/hello"))
        .stdout("hello from a cached build\n")
        .stderr("")
        .run();
}

#[test]
fn container_args_mount_a_host_directory_that_exists() {
    let w = World::new();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"shared-cache\"\n");
    let host = w.work.join("shared-cache/ccache");
    assert!(!host.exists());
    let out = w
        .toolchainkit()
        .args(["container-args", "--engine", "podman"])
        .args(["--target-home", "/home/dev"])
        .stderr_contains("user ID")
        .run();
    assert!(host.is_dir(), "the host directory was not created");
    let host = std::fs::canonicalize(&host).expect("canon");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "--volume={}:/home/dev/.cache/ccache:z --env=CCACHE_DIR=/home/dev/.cache/ccache --env=CCACHE_COMPILERCHECK=content\n",
            host.display()
        )
    );

    // sccache, docker, default cache location under XDG_CACHE_HOME.
    w.config("[cache]\ntool = \"sccache\"\n");
    let out = w.toolchainkit().arg("container-args").run();
    let host = w.root().join("cache-home/sccache");
    assert!(host.is_dir());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!(
        "--volume={}:/root/.cache/sccache --env=SCCACHE_DIR=/root/.cache/sccache",
        std::fs::canonicalize(&host).expect("canon").display()
    )));

    // A cache directory that cannot be created: an error, and no arguments at all.
    std::fs::write(w.work.join("blocker"), "a file").expect("file");
    w.config("[cache]\ntool = \"ccache\"\ndir = \"blocker/cache\"\n");
    w.toolchainkit()
        .arg("container-args")
        .status(1)
        .stdout("")
        .stderr_contains("toolchainkit: error:")
        .run();
    // A relative target home is refused.
    w.config("[cache]\ntool = \"ccache\"\ndir = \"c2\"\n");
    w.toolchainkit()
        .args(["container-args", "--target-home", "rel"])
        .status(1)
        .stdout("")
        .run();
}
