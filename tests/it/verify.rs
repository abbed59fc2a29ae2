//! Sampled verification of cache hits (`[cache] verify`, `toolchainkit run --verify`),
//! with real gcc, ccache and sccache (native and process clients, launcher and masquerade
//! modes) and a real redis-server:
//! - a "compiler" whose output changes where the tool cannot see it (a wrapper script
//!   adding a `-D` value read from a file; ccache with `compiler_check = "string:fixed"`,
//!   sccache in direct mode): the stale hit is caught (`verify.mismatch`), the object in
//!   the build directory equals a bare compile, `stats`, `doctor` and the trace say so;
//!   with `strict` the compile fails with the message and the wrong object is gone;
//! - two valid remote entries swapped on the Redis server (sccache, and ccache without its
//!   direct mode): caught, named as a remote hit where the tool says so;
//! - `__DATE__`/`__TIME__` with ccache's `time_macros` sloppiness, the entry made on
//!   another day: `verify.nondeterministic`, not a mismatch;
//! - a normal build with `verify = 1.0`: every hit `verify.ok`, objects and depfiles equal
//!   to a bare build, the hit's exit code and (empty) output; a shape that cannot be
//!   redirected is counted `verify.skipped.<why>`;
//! - `verify = 0`: nothing is checked.

use crate::common;
use crate::servers;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::Value;

fn skip_without_tools() -> bool {
    skip_unless(&[Need::tools(), Need::compilers()])
}

fn gcc_path() -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", "command -v gcc"])
        .env("PATH", system_path())
        .output()
        .expect("sh");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// A "compiler" (`<root>/wrap/gcc`) that adds `-DV=<contents of <root>/value>` to every
/// compile: its output changes while its path, size, mtime and content stay the same.
fn wrapper(w: &World, value: &str) -> PathBuf {
    let wrap = w.root().join("wrap/gcc");
    w.script(
        &wrap,
        &format!(
            "#!/bin/sh\nexec {} -DV=$(cat {}) \"$@\"\n",
            gcc_path().display(),
            w.root().join("value").display()
        ),
    );
    set_value(w, value);
    wrap
}

fn set_value(w: &World, value: &str) {
    std::fs::write(w.root().join("value"), value).expect("value");
}

/// The object and depfile a bare gcc writes for `args` with `-DV=value`, read back (the
/// files in the project are left as they were).
fn bare(w: &World, value: &str, args: &[&str], outputs: &[&str]) -> Vec<Vec<u8>> {
    let keep: Vec<Option<Vec<u8>>> = outputs
        .iter()
        .map(|o| std::fs::read(w.work.join(o)).ok())
        .collect();
    w.test_bare("gcc")
        .arg(format!("-DV={value}"))
        .args(args)
        .silent()
        .run();
    let fresh = outputs.iter().map(|o| read(&w.work.join(o))).collect();
    for (o, k) in outputs.iter().zip(keep) {
        match k {
            Some(bytes) => std::fs::write(w.work.join(o), bytes).expect("restore"),
            None => {
                let _ = std::fs::remove_file(w.work.join(o));
            }
        }
    }
    fresh
}

fn count(stats: &Value, key: &str) -> u64 {
    stats["outcomes"][key]["count"].as_u64().unwrap_or(0)
}

/// The `verify.*` keys counted, with their counts.
fn verify_keys(stats: &Value) -> Vec<(String, u64)> {
    stats["outcomes"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.starts_with("verify."))
                .map(|(k, v)| (k.clone(), v["count"].as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

const A_C: &str = "int v = V;\nint f(void) { return v + 1; }\n";
const ARGS: &[&str] = &["-c", "a.c", "-o", "a.o", "-MD"];

/// The stale-hit scenario for one tool: compile with V=1 (a miss), change V to 2 behind
/// the tool's back, compile again (a hit of the V=1 entry), checked.
fn stale(w: &World, run_args: &[&str]) -> std::process::Output {
    stale_via(w, None, run_args)
}

/// `stale` in launcher mode (`toolchainkit WRAPPER ARGS`), or in masquerade mode when
/// `shims` is given (the shim `gcc` first in PATH, the wrapper directory after it).
fn stale_via(w: &World, shims: Option<&Path>, run_args: &[&str]) -> std::process::Output {
    let wrap = wrapper(w, "1");
    w.write("a.c", A_C);
    let compile = || match shims {
        Some(s) => w.test_shim(s, "gcc").args(ARGS),
        None => w.toolchainkit().args(run_args).arg(&wrap).args(ARGS),
    };
    compile().silent().run();
    set_value(w, "2");
    compile().any_status().run()
}

/// Check a caught stale hit: the build has V=2's objects, stats/doctor/trace name it.
fn assert_caught(w: &World, tool: &str, hit_key: &str) {
    let want = bare(w, "2", ARGS, &["a.o", "a.d"]);
    assert!(read(&w.work.join("a.o")) == want[0], "a.o is not V=2's");
    assert!(
        read(&w.work.join("a.d")) == want[1],
        "a.d differs from bare gcc's"
    );
    let s = w.stats();
    assert_eq!(count(&s, hit_key), 1, "the second compile was a hit: {s}");
    assert_eq!(verify_keys(&s), [("verify.mismatch".to_string(), 1)], "{s}");
    assert_eq!(s["invocations"], 2, "a check is no invocation: {s}");
    let ev = &s["verify"]["mismatches"][0];
    assert_eq!(ev["object"], "a.o", "{s}");
    assert_eq!(ev["tool"], tool, "{s}");
    let text = w.toolchainkit().arg("stats").stderr("").stdout_text();
    assert!(
        text.contains("problem: 1 cache hit(s) differed from a fresh compile")
            && text.contains("compiler_check"),
        "{text}"
    );
    let doc = w.toolchainkit().arg("doctor").any_status().run();
    let doc = String::from_utf8_lossy(&doc.stdout);
    assert!(
        doc.lines()
            .any(|l| l.contains("verify") && l.contains("differed from a fresh compile")),
        "{doc}"
    );
    let trace = std::fs::read_dir(w.root().join("state/toolchainkit/stats"))
        .expect("stats dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".trace.jsonl"))
        .expect("trace file");
    let lines = String::from_utf8_lossy(&read(&trace)).into_owned();
    assert!(
        lines
            .lines()
            .last()
            .unwrap_or("")
            .contains("\"verify\":\"verify.mismatch\""),
        "{lines}"
    );
}

#[test]
fn ccache_stale_hit_is_caught_and_the_build_gets_the_fresh_object() {
    if skip_without_tools() {
        return;
    }
    for masquerade in [false, true] {
        let (mut w, shims) = World::with_shims();
        w.path_front.push(w.root().join("wrap"));
        w.config(
            "[cache]\ntool = \"ccache\"\ndir = \"cache\"\nverify = 1.0\n\n[ccache]\ncompiler_check = \"string:fixed\"\n\n[stats]\ntrace = true\n",
        );
        let out = stale_via(&w, masquerade.then_some(shims.as_path()), &[]);
        assert!(out.status.success(), "{}", describe(&out));
        assert!(
            out.stdout.is_empty() && out.stderr.is_empty(),
            "{}",
            describe(&out)
        );
        assert_caught(&w, "ccache", "hit.direct.local");
        let ev = &w.stats()["verify"]["mismatches"][0];
        assert_eq!(
            ev["storage"], "local",
            "ccache says where the hit came from"
        );
        assert!(
            ev["compiler"]
                .as_str()
                .is_some_and(|c| c.ends_with("wrap/gcc")),
            "masquerade {masquerade}: {ev}"
        );
    }
}

#[test]
fn sccache_stale_hit_is_caught_native_and_process_clients() {
    if skip_without_tools() {
        return;
    }
    for client in ["native", "process"] {
        let mut w = World::new();
        w.set_env("TOOLCHAINKIT_SCCACHE_CLIENT", client);
        // Direct mode: sccache hashes the command and the sources, not the wrapper's -D.
        w.config(
            "[cache]\ntool = \"sccache\"\ndir = \"cache\"\nverify = 1.0\n\n[sccache]\ndirect = true\n\n[stats]\ntrace = true\n",
        );
        let out = stale(&w, &[]);
        assert!(out.status.success(), "{client}: {}", describe(&out));
        assert!(out.stderr.is_empty(), "{client}: {}", describe(&out));
        assert_caught(&w, "sccache", "hit.sccache");
    }
}

#[test]
fn strict_fails_the_compile_and_removes_the_wrong_object() {
    if skip_without_tools() {
        return;
    }
    // The configuration's `strict`, and `run --verify=strict` over a `verify = 0` file.
    for (cfg, run_args) in [
        ("verify = \"strict\"\n", &[][..]),
        ("verify = 0\n", &["run", "--verify=strict", "--"][..]),
    ] {
        let w = World::new();
        w.config(&format!(
            "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n{cfg}\n[ccache]\ncompiler_check = \"string:fixed\"\n"
        ));
        let bin = bin().display().to_string();
        let run_args: Vec<&str> = match run_args {
            [] => Vec::new(),
            r => r.iter().copied().chain([bin.as_str()]).collect(),
        };
        let out = stale(&w, &run_args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{cfg}: {}", describe(&out));
        assert!(
            err.starts_with("toolchainkit: error: the cache hit for a.o (ccache, local storage) differs from a fresh compile")
                && err.contains("verify = \"strict\"")
                && err.contains("hint: "),
            "{err}"
        );
        assert!(!w.work.join("a.o").exists(), "the wrong object is left");
        let s = w.stats();
        assert_eq!(verify_keys(&s), [("verify.mismatch".to_string(), 1)], "{s}");
    }
}

#[test]
fn run_verify_checks_every_hit_of_one_build() {
    if skip_without_tools() {
        return;
    }
    let w = World::new();
    w.config(
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n\n[ccache]\ncompiler_check = \"string:fixed\"\n",
    );
    // Without it (verify = 0, the default), the stale hit goes unnoticed.
    let out = stale(&w, &[]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(read(&w.work.join("a.o")) != bare(&w, "2", ARGS, &["a.o"])[0]);
    assert!(verify_keys(&w.stats()).is_empty());
    let bin = bin().display().to_string();
    w.toolchainkit()
        .args(["run", "--verify", "--", &bin])
        .arg(w.root().join("wrap/gcc"))
        .args(ARGS)
        .silent()
        .run();
    assert!(read(&w.work.join("a.o")) == bare(&w, "2", ARGS, &["a.o"])[0]);
    assert_eq!(
        verify_keys(&w.stats()),
        [("verify.mismatch".to_string(), 1)]
    );
}

#[test]
fn time_macros_are_nondeterministic_not_a_mismatch() {
    if skip_without_tools() {
        return;
    }
    let w = World::new();
    w.config(
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\nverify = 1.0\n\n[ccache]\nsloppiness = [\"time_macros\"]\n",
    );
    w.write("t.c", "const char *built = __DATE__ \" \" __TIME__;\n");
    let args = ["gcc", "-c", "t.c", "-o", "t.o"];
    // The entry is made on another day (1971-01-01, as gcc reads the clock for its time
    // macros); ccache's `time_macros` sloppiness serves it today. Two compiles now agree
    // with each other, so only a check at another time tells that the compile is not
    // reproducible.
    w.toolchainkit()
        .args(args)
        .env("SOURCE_DATE_EPOCH", "31536000")
        .silent()
        .run();
    let delivered_before = read(&w.work.join("t.o"));
    w.toolchainkit().args(args).silent().run();
    let s = w.stats();
    assert_eq!(count(&s, "hit.direct.local"), 1, "{s}");
    assert_eq!(
        verify_keys(&s),
        [("verify.nondeterministic".to_string(), 1)],
        "{s}"
    );
    assert!(
        read(&w.work.join("t.o")) == delivered_before,
        "a nondeterministic compile keeps the hit's object"
    );
    let doc = w.toolchainkit().arg("doctor").any_status().run();
    let doc = String::from_utf8_lossy(&doc.stdout);
    assert!(doc.contains("not reproducible"), "{doc}");
}

/// A normal build: three files with depfiles, compiled twice; the second pass all hits.
fn normal_build(w: &World, shims: Option<&Path>) {
    w.write("a.c", "int a(void) { return 1; }\n");
    w.write("inc/h.h", "#define H 3\n");
    w.write("b.c", "#include \"inc/h.h\"\nint b(void) { return H; }\n");
    w.write(
        "c.cpp",
        "#include <string>\nint c() { return static_cast<int>(std::string(\"x\").size()); }\n",
    );
    let units: [(&str, &[&str]); 3] = [
        ("gcc", &["-O2", "-c", "a.c", "-o", "obj/a.o", "-MD"]),
        (
            "gcc",
            &["-g", "-c", "b.c", "-MMD", "-MF", "obj/b.dep", "-MT", "b"],
        ),
        ("g++", &["-c", "c.cpp", "-o", "obj/c.o"]),
    ];
    std::fs::create_dir_all(w.work.join("obj")).expect("obj");
    for _pass in 0..2 {
        for (cc, args) in units {
            let t = match shims {
                Some(s) => w.test_shim(s, cc),
                None => w.toolchainkit().arg(cc),
            };
            t.args(args).silent().run();
        }
    }
    let built: Vec<Vec<u8>> = ["obj/a.o", "obj/a.d", "b.o", "obj/b.dep", "obj/c.o"]
        .iter()
        .map(|o| read(&w.work.join(o)))
        .collect();
    for (cc, args) in units {
        w.test_bare(cc).args(args).silent().run();
    }
    for (i, o) in ["obj/a.o", "obj/a.d", "b.o", "obj/b.dep", "obj/c.o"]
        .iter()
        .enumerate()
    {
        assert!(
            read(&w.work.join(o)) == built[i],
            "{o} differs from a bare build"
        );
    }
}

#[test]
fn normal_build_all_ok_objects_identical_every_client_and_mode() {
    if skip_without_tools() {
        return;
    }
    for (tool, client, masquerade) in [
        ("ccache", "native", false),
        ("sccache", "native", true),
        ("sccache", "process", false),
    ] {
        let (mut w, shims) = World::with_shims();
        w.set_env("TOOLCHAINKIT_SCCACHE_CLIENT", client);
        w.config(&format!(
            "[cache]\ntool = \"{tool}\"\ndir = \"cache\"\nverify = 1.0\n"
        ));
        normal_build(&w, masquerade.then_some(shims.as_path()));
        let s = w.stats();
        assert_eq!(s["hits"], 3, "{tool}/{client}: {s}");
        assert_eq!(
            verify_keys(&s),
            [("verify.ok".to_string(), 3)],
            "{tool}/{client}: {s}"
        );
        assert_eq!(s["verify"]["ok"], 3, "{s}");
        let scratch = w.root().join("state/toolchainkit/verify");
        let left: Vec<_> = std::fs::read_dir(&scratch)
            .expect("the private scratch directory")
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "scratch compiles left behind: {left:?}");
        assert_eq!(
            mode(&scratch) & 0o777,
            0o700,
            "the scratch directory is private"
        );
        assert!(
            s["verify"]["avg_ms"].as_f64().is_some_and(|ms| ms > 0.0),
            "{s}"
        );
    }
}

#[test]
fn unredirectable_shapes_are_skipped_and_nothing_is_checked_at_zero() {
    if skip_without_tools() {
        return;
    }
    let w = World::new();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\nverify = 1.0\n");
    w.write("s.c", "int s(int x) { return x * 2; }\n");
    let args = ["gcc", "-g", "-gsplit-dwarf", "-c", "s.c", "-o", "s.o"];
    for _ in 0..2 {
        w.toolchainkit().args(args).silent().run();
    }
    let s = w.stats();
    assert_eq!(s["hits"], 1, "{s}");
    assert_eq!(
        verify_keys(&s),
        [("verify.skipped.split_dwarf".to_string(), 1)],
        "{s}"
    );
    // verify = 0 (via the environment over the file): a hit, no check.
    w.toolchainkit()
        .args(args)
        .env("TOOLCHAINKIT_VERIFY", "0")
        .silent()
        .run();
    let s = w.stats();
    assert_eq!(s["hits"], 2, "{s}");
    assert_eq!(s["verify"]["checked"], 1, "{s}");
    // An invalid value is the one hard error, naming the variable.
    w.toolchainkit()
        .args(args)
        .env("TOOLCHAINKIT_VERIFY", "sometimes")
        .status(78)
        .stderr_contains("TOOLCHAINKIT_VERIFY")
        .run();
}

#[test]
fn redis_entries_swapped_on_the_server_are_caught() {
    let mut needs = vec![Need::tools(), Need::compilers()];
    needs.extend(servers::needs("redis"));
    if skip_unless(&needs) {
        return;
    }
    swapped("sccache", "hit.sccache", "unknown");
    // ccache without its direct mode stores one entry per compile (no manifest), so the
    // two keys on the server are the two results.
    swapped("ccache", "hit.preprocessed.remote", "remote");
}

/// Machine A stores a.c's and b.c's objects on the server; the two entries are swapped
/// there; machine B (empty local cache, the remote read-only) compiles a.c: caught.
fn swapped(tool: &str, hit_key: &str, storage: &str) {
    let mut w = World::new();
    if tool == "ccache" {
        w.set_env("CCACHE_NODIRECT", "1");
    }
    let pw = format!("verify-{}", std::process::id());
    let server = servers::redis(&w.root().join("server"), &pw);
    w.set_env("TK_REDIS_PW", &pw);
    let cfg = |ro: bool| {
        format!(
            "[cache]\ntool = \"{tool}\"\nverify = 1.0\n\n[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:{}\"\npassword_env = \"TK_REDIS_PW\"\ndb = 2\ntimeout_ms = 2000\nread_only = {ro}\n",
            server.port
        )
    };
    let rw = w.write("rw.toml", cfg(false));
    let ro = w.write("ro.toml", cfg(true));
    w.write("a.c", "int a(void) { return 1; }\n");
    w.write("b.c", "int b(void) { return 2; }\n");
    let compile = |cfg: &Path, cache: &str, src: &str| {
        w.toolchainkit()
            .env("TOOLCHAINKIT_CONFIG", cfg)
            .env("TOOLCHAINKIT_CACHE_DIR", w.root().join(cache))
            .args(["gcc", "-c", src])
            .timeout(Duration::from_secs(120))
            .silent()
            .run();
    };
    // Machine A stores both.
    compile(&rw, "cache-a", "a.c");
    compile(&rw, "cache-a", "b.c");
    let cli = |args: &[&str]| -> String {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &server.port.to_string()])
            .args(["--no-auth-warning", "-a", &pw, "-n", "2"])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let keys: Vec<String> = cli(&["--scan"])
        .lines()
        .filter(|k| !k.contains("sccache_check"))
        .map(str::to_string)
        .collect();
    assert_eq!(keys.len(), 2, "{tool}: {keys:?}");
    // Swap them: both stay valid entries, each under the other's key.
    cli(&["rename", &keys[0], "tk-swap"]);
    cli(&["rename", &keys[1], &keys[0]]);
    cli(&["rename", "tk-swap", &keys[1]]);
    // Machine B: empty local cache, the remote read-only.
    let _ = std::fs::remove_file(w.work.join("a.o"));
    compile(&ro, "cache-b", "a.c");
    let want = bare(&w, "0", &["-c", "a.c"], &["a.o"]);
    assert!(read(&w.work.join("a.o")) == want[0], "a.o is b's object");
    let s = w
        .toolchainkit()
        .env("TOOLCHAINKIT_CONFIG", &ro)
        .env("TOOLCHAINKIT_CACHE_DIR", w.root().join("cache-b"))
        .args(["stats", "--json"])
        .json();
    assert_eq!(count(&s, hit_key), 1, "{tool}: a remote hit: {s}");
    assert_eq!(
        verify_keys(&s),
        [("verify.mismatch".to_string(), 1)],
        "{tool}: {s}"
    );
    assert_eq!(s["verify"]["mismatches"][0]["storage"], storage, "{s}");
    drop(server);
}
