//! Real builds of the bundled example: CMake + Ninja with the launcher variables and in
//! masquerade, make, meson, and autoconf's `./configure && make`, for ccache and sccache.
//! A cold build populates the cache, a clean rebuild is served from it, checked with the
//! tool's own statistics.

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
            let hits = sccache_total(&st, "cache_hits");
            assert!(hits >= 3, "sccache's own counters: {st}");
        }
    }
}

#[test]
fn cmake_launcher_ccache() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("cmake", "cmake"),
        Need::program("ninja", "ninja-build"),
    ]) {
        return;
    }
    cold_then_warm(&World::new(), "ccache", true);
}

#[test]
fn cmake_launcher_sccache() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("cmake", "cmake"),
        Need::program("ninja", "ninja-build"),
    ]) {
        return;
    }
    cold_then_warm(&World::new(), "sccache", true);
}

#[test]
fn cmake_masquerade_ccache() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("cmake", "cmake"),
        Need::program("ninja", "ninja-build"),
    ]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims);
    cold_then_warm(&w, "ccache", false);
}

#[test]
fn cmake_masquerade_sccache() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("cmake", "cmake"),
        Need::program("ninja", "ninja-build"),
    ]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims);
    cold_then_warm(&w, "sccache", false);
}

#[test]
fn make_masquerade_with_the_bundled_makefile() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("make", "make"),
    ]) {
        return;
    }
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
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("meson", "meson"),
        Need::program("ninja", "ninja-build"),
    ]) {
        return;
    }
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

const CONFIGURE_AC: &str = "AC_INIT([hello], [1.0])
AC_PROG_CC
AC_PROG_CXX
AC_CONFIG_FILES([Makefile])
AC_OUTPUT
";

const MAKEFILE_IN: &str = "CC = @CC@
CXX = @CXX@
CFLAGS = @CFLAGS@
CXXFLAGS = @CXXFLAGS@
OBJS = hello.o greet.o util.o

hello: $(OBJS)
\t$(CXX) -o $@ $(OBJS)

%.o: %.c greet.h
\t$(CC) $(CFLAGS) -c $< -o $@

%.o: %.cpp
\t$(CXX) $(CXXFLAGS) -c $< -o $@

clean:
\trm -f hello $(OBJS)
";

/// An autoconf project in `dir`: the example's sources, configure.ac, Makefile.in, and
/// the `configure` script generated by the real autoconf.
fn autoconf_project(w: &World, dir: &Path) {
    require("autoconf", "autoconf");
    std::fs::create_dir_all(dir).expect("mkdir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello");
    for f in ["hello.c", "greet.c", "greet.h", "util.cpp"] {
        std::fs::copy(src.join(f), dir.join(f)).expect("copy example");
    }
    std::fs::write(dir.join("configure.ac"), CONFIGURE_AC).expect("configure.ac");
    std::fs::write(dir.join("Makefile.in"), MAKEFILE_IN).expect("Makefile.in");
    ok(w.cmd("autoconf")
        .current_dir(dir)
        .output()
        .expect("autoconf"));
}

/// `./configure && make` with the shims first in PATH: configure prints exactly what it
/// prints with the bare compilers (its checks read the compiler's output and exit codes),
/// its checks go through the shim, and a clean rebuild is served from the cache.
fn configure_and_make(tool: &str) {
    let mut w = World::new();
    let bare = w.work.join("bare");
    autoconf_project(&w, &bare);
    let reference = ok(w
        .cmd("./configure")
        .current_dir(&bare)
        .env("PATH", system_path())
        .output()
        .expect("configure, bare"));

    let shims = w.install_shims("shims");
    w.path_front.push(shims);
    w.config(&format!("[cache]\ntool = \"{tool}\"\ndir = \"cache\"\n"));
    let proj = w.work.join("proj");
    autoconf_project(&w, &proj);
    let through = ok(w
        .cmd("./configure")
        .current_dir(&proj)
        .output()
        .expect("configure, through the shim"));
    let text = String::from_utf8_lossy(&through.stdout);
    assert_eq!(
        text,
        String::from_utf8_lossy(&reference.stdout),
        "configure's output differs through the shim"
    );
    assert_eq!(
        through.stderr, reference.stderr,
        "configure's stderr differs"
    );
    assert!(
        text.contains("checking whether the C compiler works... yes"),
        "{text}"
    );
    let after_configure = w.stats()["invocations"].as_u64().unwrap_or(0);
    assert!(
        after_configure >= 5,
        "configure's compiler checks went through the shim: {after_configure}"
    );

    for _ in 0..2 {
        ok(w.cmd("make")
            .args(["-s", "clean"])
            .current_dir(&proj)
            .output()
            .expect("make clean"));
        silent(
            w.cmd("make")
                .arg("-s")
                .current_dir(&proj)
                .output()
                .expect("make"),
        );
    }
    let run = ok(w.cmd(proj.join("hello")).output().expect("run the program"));
    assert!(!run.stdout.is_empty());
    let s = w.stats();
    assert_eq!(
        s["invocations"].as_u64(),
        Some(after_configure + 8),
        "two builds of 3 compiles and a link: {s}"
    );
    if tool == "ccache" {
        assert!(s["hits"].as_u64() >= Some(3), "{s}");
    } else {
        let sock = w.sccache_sockets().pop().expect("an sccache server");
        let own = w.sccache_stats(&sock);
        let hits = sccache_total(&own, "cache_hits");
        assert!(hits >= 3, "sccache's own counters: {own}");
    }
}

#[test]
fn autoconf_configure_and_make_masquerade_ccache() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("autoconf", "autoconf"),
        Need::program("make", "make"),
    ]) {
        return;
    }
    configure_and_make("ccache");
}

#[test]
fn autoconf_configure_and_make_masquerade_sccache() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("autoconf", "autoconf"),
        Need::program("make", "make"),
    ]) {
        return;
    }
    configure_and_make("sccache");
}
