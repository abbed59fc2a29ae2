//! Real CMake + Ninja builds of the bundled example: launcher variables and masquerade,
//! for ccache and sccache. A cold build populates the cache, a clean rebuild is served
//! from it, checked with the tool's own statistics.

mod common;

use std::path::Path;

use common::*;

fn copy_example(w: &World) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello");
    for f in [
        "CMakeLists.txt",
        "hello.c",
        "greet.c",
        "greet.h",
        "util.cpp",
    ] {
        std::fs::copy(src.join(f), w.work.join(f)).expect("copy example");
    }
}

/// Configure and build in `build/`, then wipe it and build again; returns nothing but
/// asserts the rebuild was served from the cache.
fn cold_then_warm(w: &World, tool: &str, launcher: bool) {
    require("cmake", "cmake");
    require("ninja", "ninja-build");
    copy_example(w);
    w.config(&format!("[cache]\ntool = \"{tool}\"\ndir = \"cache\"\n"));
    for round in 0..2 {
        let build = w.work.join("build");
        let _ = std::fs::remove_dir_all(&build);
        let mut configure = w.cmd("cmake");
        configure.args(["-S", ".", "-B", "build", "-G", "Ninja"]);
        if launcher {
            configure
                .arg(format!("-DCMAKE_C_COMPILER_LAUNCHER={}", bin().display()))
                .arg(format!("-DCMAKE_CXX_COMPILER_LAUNCHER={}", bin().display()));
        } else {
            configure.env("CC", "cc").env("CXX", "c++");
        }
        ok(configure.output().expect("cmake configure"));
        ok(w.cmd("cmake")
            .args(["--build", "build", "-j2"])
            .output()
            .expect("cmake build"));
        let run = ok(w.cmd(build.join("hello")).output().expect("run hello"));
        assert_eq!(
            String::from_utf8_lossy(&run.stdout),
            "hello from a cached build\n"
        );
        let _ = round;
    }
    // Three translation units: the rebuild hits for all three.
    match tool {
        "ccache" => {
            let c = w.ccache_counters(&w.work.join("cache/ccache"));
            let hits = c.get("direct_cache_hit").unwrap_or(&0)
                + c.get("preprocessed_cache_hit").unwrap_or(&0);
            assert!(
                hits >= 3 && c.get("cache_miss") >= Some(&3),
                "ccache's own counters: {c:?}"
            );
            let s = w.stats();
            assert!(s["hits"].as_u64() >= Some(3), "{s}");
        }
        _ => {
            let socks = w.sccache_sockets();
            assert_eq!(socks.len(), 1, "{socks:?}");
            let st = w.sccache_stats(&socks[0]);
            let hits: u64 = st["stats"]["cache_hits"]["counts"]
                .as_object()
                .map(|m| m.values().filter_map(|v| v.as_u64()).sum())
                .unwrap_or(0);
            assert!(hits >= 3, "sccache's own counters: {st}");
        }
    }
}

#[test]
fn cmake_launcher_ccache() {
    cold_then_warm(&World::new(), "ccache", true);
}

#[test]
fn cmake_launcher_sccache() {
    cold_then_warm(&World::new(), "sccache", true);
}

#[test]
fn cmake_masquerade_ccache() {
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims);
    cold_then_warm(&w, "ccache", false);
}

#[test]
fn cmake_masquerade_sccache() {
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims);
    cold_then_warm(&w, "sccache", false);
}

#[test]
fn make_masquerade_with_the_bundled_makefile() {
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello");
    for f in ["Makefile", "hello.c", "greet.c", "greet.h", "util.cpp"] {
        std::fs::copy(src.join(f), w.work.join(f)).expect("copy example");
    }
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    for _ in 0..2 {
        ok(w.cmd("make")
            .args(["-s", "clean"])
            .output()
            .expect("make clean"));
        silent(
            w.cmd("make")
                .args(["-s", "CC=cc", "CXX=c++"])
                .output()
                .expect("make"),
        );
    }
    let s = w.stats();
    assert_eq!(s["misses"].as_u64(), Some(3), "{s}");
    assert_eq!(s["hits"].as_u64(), Some(3), "{s}");
    assert_eq!(
        s["uncacheable_reasons"]["not_a_compile"].as_u64(),
        Some(2),
        "two link steps: {s}"
    );
}

#[test]
fn meson_masquerade_ccache() {
    require("meson", "meson");
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello");
    for f in ["meson.build", "hello.c", "greet.c", "greet.h", "util.cpp"] {
        std::fs::copy(src.join(f), w.work.join(f)).expect("copy example");
    }
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    for _ in 0..2 {
        let _ = std::fs::remove_dir_all(w.work.join("build"));
        ok(w.cmd("meson")
            .args(["setup", "build"])
            .env("CC", "cc")
            .env("CXX", "c++")
            .output()
            .expect("meson setup"));
        ok(w.cmd("ninja")
            .args(["-C", "build"])
            .output()
            .expect("ninja"));
    }
    let c = w.ccache_counters(&w.work.join("cache/ccache"));
    let hits =
        c.get("direct_cache_hit").unwrap_or(&0) + c.get("preprocessed_cache_hit").unwrap_or(&0);
    assert!(hits >= 3, "ccache's own counters: {c:?}");
    assert!(w.stats()["hits"].as_u64() >= Some(3));
}
