//! Real builds of the bundled example: CMake + Ninja with the launcher variables and in
//! masquerade, make, meson, and autoconf's `./configure && make`, for ccache and sccache.
//! A cold build populates the cache, a clean rebuild is served from it, checked with the
//! tool's own statistics.

use crate::common;

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

/// (hits, misses) by the tool's own counters: ccache's for the project's cache dir, or
/// sccache's for the one server of this world (none yet: zero).
fn tool_counts(w: &World, tool: &str) -> (u64, u64) {
    if tool == "ccache" {
        let c = w.ccache_counters(&w.work.join("cache/ccache"));
        let get = |k: &str| c.get(k).copied().unwrap_or(0);
        (
            get("direct_cache_hit") + get("preprocessed_cache_hit"),
            get("cache_miss"),
        )
    } else {
        let socks = w.sccache_sockets();
        assert!(
            socks.len() <= 1,
            "one server for one configuration: {socks:?}"
        );
        socks.first().map_or((0, 0), |s| {
            let st = w.sccache_stats(s);
            (
                sccache_total(&st, "cache_hits"),
                sccache_total(&st, "cache_misses"),
            )
        })
    }
}

/// (hits, misses) in toolchainkit's own stats.
fn our_counts(w: &World) -> (u64, u64) {
    let s = w.stats();
    (
        s["hits"].as_u64().expect("hits"),
        s["misses"].as_u64().expect("misses"),
    )
}

/// The change from `before` to `after`.
fn delta(before: (u64, u64), after: (u64, u64)) -> (u64, u64) {
    (after.0 - before.0, after.1 - before.1)
}

/// Configure and build in `build/`, then wipe it and build again: the first build misses
/// its three translation units and the second hits all three, exactly, by the tool's own
/// counters (and by ours for ccache), counted from after each configure step.
fn cold_then_warm(w: &World, tool: &str, launcher: bool) {
    copy_example(w);
    w.config(&format!("[cache]\ntool = \"{tool}\"\ndir = \"cache\"\n"));
    for round in 0..2 {
        let build = w.work.join("build");
        let _ = std::fs::remove_dir_all(&build);
        let mut configure = w
            .test("cmake")
            .args(["-S", ".", "-B", "build", "-G", "Ninja"]);
        if launcher {
            configure = configure
                .arg(format!("-DCMAKE_C_COMPILER_LAUNCHER={}", bin().display()))
                .arg(format!("-DCMAKE_CXX_COMPILER_LAUNCHER={}", bin().display()));
        } else {
            configure = configure.env("CC", "cc").env("CXX", "c++");
        }
        configure.stderr("").run();
        let (tool_before, ours_before) = (tool_counts(w, tool), our_counts(w));
        w.test("cmake")
            .args(["--build", "build", "-j2"])
            .stderr("")
            .run();
        // Three translation units: all missed, then all hit.
        let want = if round == 0 { (0, 3) } else { (3, 0) };
        let got = delta(tool_before, tool_counts(w, tool));
        assert_eq!(got, want, "round {round}: {tool}'s own (hits, misses)");
        if tool == "ccache" {
            let ours = delta(ours_before, our_counts(w));
            assert_eq!(ours, want, "round {round}: toolchainkit's (hits, misses)");
        }
        w.test(build.join("hello"))
            .stdout("hello from a cached build\n")
            .stderr("")
            .run();
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
        w.test("make").args(["-s", "clean"]).silent().run();
        w.test("make")
            .args(["-s", "CC=cc", "CXX=c++"])
            .silent()
            .run();
    }
    let s = w.stats();
    assert_eq!(s["misses"].as_u64(), Some(3), "{s}");
    assert_eq!(s["hits"].as_u64(), Some(3), "{s}");
    assert_eq!(
        tool_counts(&w, "ccache"),
        (3, 3),
        "ccache's own (hits, misses)"
    );
    assert_eq!(
        s["uncacheable_reasons"]["not_a_compile"].as_u64(),
        Some(2),
        "two link steps: {s}"
    );
    assert_eq!(s["invocations"].as_u64(), Some(8), "{s}");
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
    for round in 0..2 {
        let _ = std::fs::remove_dir_all(w.work.join("build"));
        w.test("meson")
            .args(["setup", "build"])
            .env("CC", "cc")
            .env("CXX", "c++")
            .stderr("")
            .run();
        // Counted from after meson's own compiler checks: the three translation units
        // miss, then hit, exactly.
        let (tool_before, ours_before) = (tool_counts(&w, "ccache"), our_counts(&w));
        w.test("ninja").args(["-C", "build"]).stderr("").run();
        let want = if round == 0 { (0, 3) } else { (3, 0) };
        assert_eq!(
            delta(tool_before, tool_counts(&w, "ccache")),
            want,
            "round {round}: ccache's own (hits, misses)"
        );
        assert_eq!(
            delta(ours_before, our_counts(&w)),
            want,
            "round {round}: toolchainkit's (hits, misses)"
        );
    }
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
    std::fs::create_dir_all(dir).expect("mkdir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello");
    for f in ["hello.c", "greet.c", "greet.h", "util.cpp"] {
        std::fs::copy(src.join(f), dir.join(f)).expect("copy example");
    }
    std::fs::write(dir.join("configure.ac"), CONFIGURE_AC).expect("configure.ac");
    std::fs::write(dir.join("Makefile.in"), MAKEFILE_IN).expect("Makefile.in");
    w.test("autoconf").current_dir(dir).stdout("").run();
}

/// The compiler invocations configure logged (`configure:LINE: gcc ...` in config.log).
fn logged_compiler_runs(config_log: &Path) -> u64 {
    String::from_utf8_lossy(&read(config_log))
        .lines()
        .filter_map(|l| l.strip_prefix("configure:"))
        .filter_map(|l| l.split_once(": ").map(|(_, cmd)| cmd))
        .filter(|cmd| {
            ["gcc", "g++", "cc", "c++"].contains(&cmd.split_whitespace().next().unwrap_or(""))
        })
        .count() as u64
}

/// `./configure && make` with the shims first in PATH: configure prints exactly what it
/// prints with the bare compilers (its checks read the compiler's output and exit codes),
/// every compiler run it logs goes through the shim, and a clean rebuild is served from
/// the cache.
fn configure_and_make(tool: &str) {
    let mut w = World::new();
    let bare = w.work.join("bare");
    autoconf_project(&w, &bare);
    let reference = w
        .test("./configure")
        .current_dir(&bare)
        .env("PATH", system_path())
        .run();

    let shims = w.install_shims("shims");
    w.path_front.push(shims);
    w.config(&format!("[cache]\ntool = \"{tool}\"\ndir = \"cache\"\n"));
    let proj = w.work.join("proj");
    autoconf_project(&w, &proj);
    let through = w
        .test("./configure")
        .current_dir(&proj)
        .stdout(&reference.stdout)
        .stderr(&reference.stderr)
        .stdout_contains("checking whether the C compiler works... yes")
        .run();
    let after_configure = w.stats()["invocations"].as_u64().expect("invocations");
    let logged = logged_compiler_runs(&proj.join("config.log"));
    assert_eq!(
        after_configure,
        logged,
        "every compiler run configure logged went through the shim, and nothing else\n{}",
        String::from_utf8_lossy(&through.stdout)
    );
    assert_eq!(logged, logged_compiler_runs(&bare.join("config.log")));

    for round in 0..2 {
        w.test("make")
            .args(["-s", "clean"])
            .current_dir(&proj)
            .silent()
            .run();
        let tool_before = tool_counts(&w, tool);
        w.test("make").arg("-s").current_dir(&proj).silent().run();
        let want = if round == 0 { (0, 3) } else { (3, 0) };
        assert_eq!(
            delta(tool_before, tool_counts(&w, tool)),
            want,
            "round {round}: {tool}'s own (hits, misses)"
        );
    }
    w.test(proj.join("hello"))
        .stdout("hello from a cached build\n")
        .stderr("")
        .run();
    let s = w.stats();
    assert_eq!(
        s["invocations"].as_u64(),
        Some(after_configure + 8),
        "two builds of 3 compiles and a link: {s}"
    );
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

const MAKEFILE_IN_VPATH: &str = "srcdir = @srcdir@
VPATH = @srcdir@
CC = @CC@
CXX = @CXX@
CFLAGS = @CFLAGS@
CXXFLAGS = @CXXFLAGS@
OBJS = hello.o greet.o util.o

hello: $(OBJS)
\t$(CXX) -o $@ $(OBJS)

%.o: %.c greet.h
\t$(CC) $(CFLAGS) -I$(srcdir) -c $< -o $@

%.o: %.cpp
\t$(CXX) $(CXXFLAGS) -c $< -o $@

clean:
\trm -f $(OBJS) hello
";

/// Issue: an out-of-tree build compiles in a build directory outside the checkout, and the
/// project file was silently ignored. `../proj/configure && make` from a directory outside
/// the project, and `meson setup ../build-m`, now use the project's configuration: its
/// cache directory's own counters show every translation unit missing, then hitting.
#[test]
fn out_of_tree_autotools_and_meson_builds_use_the_project_configuration() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("autoconf", "autoconf"),
        Need::program("make", "make"),
        Need::program("meson", "meson"),
        Need::program("ninja", "ninja-build"),
    ]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims);
    autoconf_project(&w, &w.work);
    std::fs::write(w.work.join("Makefile.in"), MAKEFILE_IN_VPATH).expect("Makefile.in");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello/meson.build"),
        w.work.join("meson.build"),
    )
    .expect("meson.build");
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    let out_of_tree = w.root().join("build-at");
    std::fs::create_dir_all(&out_of_tree).expect("mkdir");
    w.test("sh")
        .args(["-c", "../proj/configure"])
        .current_dir(&out_of_tree)
        .stderr("")
        .run();
    for round in 0..2 {
        let before = tool_counts(&w, "ccache");
        w.test("make")
            .args(["-s"])
            .current_dir(&out_of_tree)
            .stderr("")
            .run();
        let want = if round == 0 { (0, 3) } else { (3, 0) };
        assert_eq!(
            delta(before, tool_counts(&w, "ccache")),
            want,
            "autotools round {round}: the project's cache (hits, misses)"
        );
        w.test("make")
            .args(["-s", "clean"])
            .current_dir(&out_of_tree)
            .run();
    }
    let meson_dir = w.root().join("build-m");
    for round in 0..2 {
        let _ = std::fs::remove_dir_all(&meson_dir);
        w.test("meson")
            .arg("setup")
            .arg(&meson_dir)
            .env("CC", "cc")
            .env("CXX", "c++")
            .stderr("")
            .run();
        let before = tool_counts(&w, "ccache");
        w.test("ninja").arg("-C").arg(&meson_dir).stderr("").run();
        // The same three translation units: they hit what the autotools build stored
        // unless meson's flags differ, so count misses and hits together.
        let (h, m) = delta(before, tool_counts(&w, "ccache"));
        assert_eq!(h + m, 3, "meson round {round}: the project's cache");
        if round == 1 {
            assert_eq!((h, m), (3, 0), "meson round 1: all hits");
        }
    }
}
