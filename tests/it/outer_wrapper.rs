//! An outer ccache/sccache in front of the shim ("ccache gcc", Meson's "sccache cc"):
//! detected by the shim from its parent process, never cached twice, counted, explained
//! by `stats` and `doctor`; and the Meson recipe (`CC=cc`) that makes the shim the only
//! cache layer. Real Meson, Ninja, gcc, ccache and sccache.

use crate::common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::*;

/// Stops the outer sccache server a test starts (its own socket), even on failure.
struct OuterSccache {
    sock: PathBuf,
}

impl Drop for OuterSccache {
    fn drop(&mut self) {
        let Some(tools) = pinned_tools() else { return };
        let _ = Command::new(tools.join("sccache"))
            .arg("--stop-server")
            .env("SCCACHE_SERVER_UDS", &self.sock)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn doctor(w: &World) -> String {
    w.toolchainkit().arg("doctor").any_status().stdout_text()
}

fn lines_of<'a>(report: &'a str, check: &str) -> Vec<&'a str> {
    report
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some(check))
        .collect()
}

#[test]
fn an_outer_ccache_runs_the_real_compiler_once_and_is_counted() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, _shims) = World::with_shims();
    // The project asks for sccache: had the shim cached too, a server would start.
    w.config("[cache]\ntool = \"sccache\"\ndir = \"cache\"\n");
    w.write("a.c", HELLO_C);
    w.test_bare("gcc").args(["-c", "a.c", "-o", "ref.o"]).run();
    let outer_dir = w.root().join("outer-ccache");
    // `ccache gcc`: ccache finds `gcc` in PATH, which is the shim.
    for _ in 0..2 {
        w.test(ccache())
            .env("CCACHE_DIR", &outer_dir)
            .args(["gcc", "-c", "a.c", "-o", "a.o"])
            .silent()
            .run();
        assert_eq!(read(&w.work.join("a.o")), read(&w.work.join("ref.o")));
    }
    let c = w.ccache_counters(&outer_dir);
    assert_eq!((c["cache_miss"], c["direct_cache_hit"]), (1, 1), "{c:?}");
    assert!(
        w.sccache_sockets().is_empty(),
        "the shim never cached a second time"
    );
    let s = w.stats();
    let outer = s["uncacheable_reasons"]["outer_ccache"]
        .as_u64()
        .unwrap_or(0);
    assert!(outer >= 1, "the miss's compile reached the shim: {s}");
    assert_eq!(s["invocations"].as_u64(), Some(outer), "{s}");
    assert_eq!(s["outer_wrapper"]["ccache"].as_u64(), Some(outer), "{s}");
    assert!(
        s["uncacheable_reasons"]["called_for_preprocessing"].is_null(),
        "{s}"
    );
    let table = w.toolchainkit().arg("stats").stdout_text();
    assert!(
        table.contains("through an outer ccache") && table.contains("CC=cc"),
        "{table}"
    );
    let report = doctor(&w);
    let l = lines_of(&report, "outer-wrapper");
    assert!(
        l.iter()
            .any(|l| l.starts_with("warning") && l.contains("outer ccache") && l.contains("CC=cc")),
        "{report}"
    );
}

fn meson_project(w: &World) {
    w.write(
        "meson.build",
        "project('m', 'c')\nexecutable('m', 'main.c', 'lib.c', 'more.c')\n",
    );
    w.write(
        "main.c",
        "int twice(int);\nint more(int);\nint main(void) { return twice(more(0)); }\n",
    );
    w.write("lib.c", LIB_C);
    w.write("more.c", "int more(int x) { return x + 1; }\n");
}

#[test]
fn meson_with_sccache_in_path_is_detected_and_cc_equals_cc_fixes_it() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("meson", "meson"),
        Need::program("ninja", "ninja-build"),
    ]) {
        return;
    }
    let (mut w, _shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    meson_project(&w);
    // Meson 1.x finds sccache in PATH (the tools directory) and puts it in front of `cc`.
    let outer = OuterSccache {
        sock: w.run.path().join("outer.sock"),
    };
    w.env.push((
        "SCCACHE_SERVER_UDS".into(),
        outer.sock.display().to_string(),
    ));
    w.env.push((
        "SCCACHE_DIR".into(),
        w.root().join("outer-sccache").display().to_string(),
    ));
    w.test("meson").args(["setup", "b"]).run();
    let ninja = std::fs::read_to_string(w.work.join("b/build.ninja")).expect("build.ninja");
    assert!(
        ninja.contains(" command = sccache cc "),
        "Meson put sccache in front of cc"
    );
    // Meson's own probes at setup (`cc -E -dM -`, `cc --version`) call the compiler
    // without sccache; the build is what goes through it.
    w.toolchainkit().args(["stats", "--zero"]).run();
    w.test("ninja").args(["-C", "b"]).run();
    let s = w.stats();
    let through = s["uncacheable_reasons"]["outer_sccache"]
        .as_u64()
        .unwrap_or(0);
    assert!(through >= 3, "the three compiles came through sccache: {s}");
    assert!(
        s["uncacheable_reasons"]["called_for_preprocessing"].is_null(),
        "sccache's preprocessor runs are counted as the outer wrapper's: {s}"
    );
    assert_eq!(s["misses"].as_u64(), Some(0), "never cached twice: {s}");
    let link = s["uncacheable_reasons"]["not_a_compile"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(
        s["invocations"].as_u64(),
        Some(through + link),
        "compiles through sccache, and the link: {s}"
    );
    let outer_stats = w.sccache_stats(&outer.sock);
    assert_eq!(
        sccache_total(&outer_stats, "cache_misses"),
        3,
        "{outer_stats}"
    );
    let c = w.ccache_counters(&w.work.join("cache/ccache"));
    assert_eq!(c.get("cache_miss").copied().unwrap_or(0), 0, "{c:?}");
    let report = doctor(&w);
    let l = lines_of(&report, "outer-wrapper");
    assert!(
        l.iter()
            .any(|l| l.starts_with("warning") && l.contains("outer sccache")),
        "{report}"
    );
    assert!(
        l.iter().any(|l| l.contains("build directory")
            && l.contains("`sccache cc`")
            && l.contains("CC=cc")),
        "{report}"
    );

    // The recipe: CC=cc, and the shim is the only cache layer.
    std::fs::remove_dir_all(w.work.join("b")).expect("rm b");
    w.toolchainkit().args(["stats", "--zero"]).run();
    w.test("meson").args(["setup", "b"]).env("CC", "cc").run();
    w.test("ninja").args(["-C", "b"]).run();
    w.test("ninja").args(["-C", "b", "clean"]).run();
    w.test("ninja").args(["-C", "b"]).run();
    let s = w.stats();
    assert_eq!(
        (s["misses"].as_u64(), s["hits"].as_u64()),
        (Some(3), Some(3)),
        "{s}"
    );
    assert!(
        s["outer_wrapper"].as_object().is_some_and(|m| m.is_empty()),
        "{s}"
    );
    let c = w.ccache_counters(&w.work.join("cache/ccache"));
    assert_eq!((c["cache_miss"], c["direct_cache_hit"]), (3, 3), "{c:?}");
    let report = doctor(&w);
    assert!(
        lines_of(&report, "outer-wrapper")
            .iter()
            .all(|l| l.starts_with("ok")),
        "{report}"
    );
    let bin = w.work.join("b/m");
    assert!(
        Command::new(&bin)
            .status()
            .is_ok_and(|s| s.code() == Some(2))
    );
    drop(outer);
}
