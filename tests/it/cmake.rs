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

/// The crates a tiny `cc`-crate project needs, from toolchainkit's own lockfile and the
/// registry cache that built toolchainkit, unpacked as a Cargo directory source: the
/// build runs offline and never touches the shared Cargo home.
fn vendor_cc_crate(w: &World) -> Option<std::path::PathBuf> {
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"))
        .expect("Cargo.lock");
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
    let cache = std::fs::read_dir(cargo_home.join("registry/cache"))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .next()?;
    let vendor = w.root().join("vendor");
    std::fs::create_dir_all(&vendor).expect("mkdir");
    for name in ["cc", "find-msvc-tools", "shlex"] {
        let block = lock
            .split("[[package]]")
            .find(|b| b.contains(&format!("\nname = \"{name}\"\n")))?;
        let field = |k: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{k} = \"")))
                .map(|v| v.trim_end_matches('"').to_string())
        };
        let (version, sum) = (field("version")?, field("checksum")?);
        let krate = cache.join(format!("{name}-{version}.crate"));
        if !krate.is_file() {
            return None;
        }
        w.test_bare("tar")
            .arg("xzf")
            .arg(&krate)
            .arg("-C")
            .arg(&vendor)
            .stderr("")
            .run();
        std::fs::write(
            vendor.join(format!("{name}-{version}/.cargo-checksum.json")),
            format!("{{\"files\":{{}},\"package\":\"{sum}\"}}"),
        )
        .expect("checksum file");
    }
    Some(vendor)
}

/// Issue 26.7: a Cargo build script that compiles C with the `cc` crate gives the same
/// object through toolchainkit as without it, with `CC="toolchainkit cc"` and with
/// `toolchainkit run -- cargo build` (no shims in PATH, no CC). The crate probes the
/// first word of CC alone (`toolchainkit -E detect_compiler_family.c`, then a flag check
/// of `-mno-omit-leaf-frame-pointer`): both must work, or the flag is silently dropped
/// and the object differs. Real cargo, the real cc crate, real gcc and ccache.
#[test]
fn cargo_build_with_the_cc_crate_gives_the_bare_object_through_toolchainkit() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let Some(vendor) = vendor_cc_crate(&w) else {
        if skip(
            "the cc crate is not in the registry cache",
            "build toolchainkit once (`cargo build`) so its dependencies are cached",
        ) {
            return;
        }
        unreachable!()
    };
    let cargo = std::env::var_os("CARGO").map_or_else(|| "cargo".into(), std::path::PathBuf::from);
    let rustc = cargo.with_file_name("rustc");
    let home = w.root().join("cargo-home");
    std::fs::create_dir_all(&home).expect("mkdir");
    std::fs::write(
        home.join("config.toml"),
        format!(
            "[source.crates-io]\nreplace-with = \"vendored\"\n[source.vendored]\ndirectory = \"{}\"\n",
            vendor.display()
        ),
    )
    .expect("cargo config");
    let cc_version = {
        let lock =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"))
                .expect("Cargo.lock");
        lock.split("[[package]]")
            .find(|b| b.contains("\nname = \"cc\"\n"))
            .and_then(|b| b.lines().find_map(|l| l.strip_prefix("version = \"")))
            .map(|v| v.trim_end_matches('"').to_string())
            .expect("cc in Cargo.lock")
    };
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write(
        "demo/Cargo.toml",
        format!(
            "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[build-dependencies]\ncc = \"={cc_version}\"\n"
        ),
    );
    w.write(
        "demo/build.rs",
        "fn main() { cc::Build::new().file(\"src/hello.c\").compile(\"hello\"); }\n",
    );
    w.write(
        "demo/src/hello.c",
        "int demo_add(int a, int b) { return a + b; }\n",
    );
    w.write(
        "demo/src/lib.rs",
        "unsafe extern \"C\" { pub fn demo_add(a: i32, b: i32) -> i32; }\n",
    );
    let bin_dir = w.root().join("bin");
    std::fs::create_dir_all(&bin_dir).expect("mkdir");
    std::os::unix::fs::symlink(bin(), bin_dir.join("toolchainkit")).expect("link");
    w.path_front.push(bin_dir);
    for (k, v) in [
        ("CARGO_HOME", home.as_os_str()),
        ("RUSTC", rustc.as_os_str()),
        ("CC_ENABLE_DEBUG_OUTPUT", "1".as_ref()),
        ("CARGO_TERM_COLOR", "never".as_ref()),
    ] {
        w.set_env(k, v);
    }
    let demo = w.work.join("demo");
    let object = |w: &World| -> (Vec<u8>, String) {
        let build = demo.join("target/debug/build");
        let out = std::fs::read_dir(&build)
            .expect("build dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.join("out").is_dir())
            .expect("the build script's OUT_DIR");
        let obj = walk(&out.join("out"))
            .into_iter()
            .find(|p| {
                p.extension().is_some_and(|e| e == "o")
                    && !p.to_string_lossy().contains("flag_check")
            })
            .expect("the object");
        let log = std::fs::read_to_string(out.join("output")).expect("build script output");
        let _ = w;
        (read(&obj), log)
    };
    let build = |w: &World, t: Test| {
        t.args(["build", "--offline", "--quiet"])
            .current_dir(&demo)
            .timeout(std::time::Duration::from_secs(300))
            .run();
        let got = object(w);
        w.test(&cargo)
            .args(["clean", "--offline", "--quiet", "-p", "demo"])
            .current_dir(&demo)
            .run();
        got
    };
    // The compile of the object itself, as the crate logged it.
    let compile_line = |log: &str| -> String {
        log.lines()
            .find(|l| l.starts_with("running: ") && l.ends_with("\"src/hello.c\""))
            .unwrap_or_else(|| panic!("no compile of hello.c: {log}"))
            .to_string()
    };
    let (bare, bare_log) = build(&w, w.test(&cargo).env("CC", "cc"));
    assert!(
        compile_line(&bare_log).contains("-mno-omit-leaf-frame-pointer"),
        "{bare_log}"
    );
    let (through, log) = build(&w, w.test(&cargo).env("CC", "toolchainkit cc"));
    assert!(
        compile_line(&log).contains("-mno-omit-leaf-frame-pointer")
            && !log.contains("unexpected argument"),
        "{log}"
    );
    assert!(
        through == bare,
        "CC=\"toolchainkit cc\": the object differs from the bare build"
    );
    let s = w.stats();
    assert_eq!(
        s["misses"], 2,
        "the flag check and the object, through ccache: {s}"
    );
    assert!(
        s["uncacheable_reasons"]["called_for_preprocessing"].as_u64() >= Some(1),
        "the -E probe went through toolchainkit: {s}"
    );
    // `toolchainkit run -- cargo build`, without CC and without shims in PATH: its shims
    // route `cc` through toolchainkit; the object is the same, now a hit.
    let (run, _) = build(
        &w,
        w.toolchainkit()
            .arg("run")
            .arg("--")
            .arg(&cargo)
            .env_remove("CC"),
    );
    assert!(
        run == bare,
        "toolchainkit run: the object differs from the bare build"
    );
    let s = w.stats();
    assert_eq!(
        (s["misses"].as_u64(), s["hits"].as_u64()),
        (Some(2), Some(2)),
        "{s}"
    );
}

/// Every file below `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
        {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
