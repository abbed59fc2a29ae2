//! Every miss explained, on a real CMake + Ninja project with a header shared by two of
//! its three files, for ccache and sccache, in launcher and masquerade mode: the causes
//! counted in `stats` and listed by `explain` agree exactly with the tool's own counters.
//!
//! One sequence per tool and mode: cold build (all `cold`); a header touched without a
//! change (no miss); that header changed (the two files that include it, `header` naming
//! it); a `-D` added in CMake (`args` with the flag); another compiler binary
//! (`compiler`); a variable the tool hashes changed (`env`); the cache cleared (`ccache
//! -C`, sccache's directory removed with its server stopped: `evicted`); the cache
//! directory copied to a fresh HOME with the checkout at another path (`base_dir`): hits,
//! then a changed compiler: `compiler`. A second test per tool: a cache too small for the
//! build (`evicted`, and the hint names `size_gb`).

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

const CMAKELISTS: &str = "cmake_minimum_required(VERSION 3.13)\nproject(explained C)\n\
    add_library(parts STATIC a.c b.c c.c)\ntarget_include_directories(parts PRIVATE include)\n";

fn needs() -> bool {
    skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("cmake", "cmake"),
        Need::program("ninja", "ninja-build"),
    ])
}

/// The real gcc behind a script named `cc` in `<root>/tc`: "another compiler binary" is
/// another script (a new runner image's compiler, as the tools see it: new content, size
/// and mtime).
fn write_compiler(w: &World, generation: u32) -> PathBuf {
    let dir = w.root().join("tc");
    let cc = dir.join("cc");
    let gcc = require("gcc", "gcc");
    let tmp = dir.join(".cc.new");
    w.script(
        &tmp,
        &format!(
            "#!/bin/sh\n# compiler generation {generation}\nexec {} \"$@\"\n",
            gcc.display()
        ),
    );
    std::fs::rename(&tmp, &cc).expect("replace the compiler");
    cc
}

fn write_project(w: &World) {
    w.write("CMakeLists.txt", CMAKELISTS);
    w.write("include/shared.h", "#define SHARED 1\n");
    // `EXTRA` changes every object (an unused `-D` would not: both tools hash the
    // preprocessed source, not the preprocessor's options).
    let extra = "#ifdef EXTRA\nint extra_@ = EXTRA;\n#endif\n";
    w.write(
        "a.c",
        format!(
            "#include \"shared.h\"\n{}int a(void) {{ return SHARED; }}\n",
            extra.replace('@', "a")
        ),
    );
    w.write(
        "b.c",
        format!(
            "#include \"shared.h\"\n{}int b(void) {{ return SHARED + 1; }}\n",
            extra.replace('@', "b")
        ),
    );
    w.write(
        "c.c",
        format!("{}int c(void) {{ return 3; }}\n", extra.replace('@', "c")),
    );
    // The checkout is the base directory, so a copy at another path hits.
    w.config(
        "[cache]\ntool = \"TOOL\"\n\n[stats]\ntrace = true\n\n[ccache]\nbase_dir = \".\"\n\n[sccache]\nbasedirs = [\".\"]\n"
            .replace("TOOL", tool_of(w))
            .as_str(),
    );
}

fn tool_of(w: &World) -> &'static str {
    if w.env
        .iter()
        .any(|(k, v)| k == "TK_TEST_TOOL" && v == "sccache")
    {
        "sccache"
    } else {
        "ccache"
    }
}

fn cache_dir(w: &World) -> PathBuf {
    w.root().join("home").join("cache")
}

/// A world for `tool` in `launcher` or masquerade mode, compiling with `<root>/tc/cc`.
fn world(tool: &str, launcher: bool) -> World {
    let mut w = World::new();
    w.set_env("TK_TEST_TOOL", tool);
    w.set_env("TOOLCHAINKIT_CACHE_DIR", cache_dir(&w));
    w.set_env("LANG", "C");
    if !launcher {
        let shims = w.install_shims("shims");
        w.path_front.push(shims);
    }
    w.path_front.push(w.root().join("tc"));
    w
}

fn configure(w: &World, launcher: bool, flags: &str) {
    let mut c = w
        .test("cmake")
        .args(["-S", ".", "-B", "build", "-G", "Ninja"])
        .arg(format!("-DCMAKE_C_FLAGS={flags}"));
    let first = !w.work.join("build/CMakeCache.txt").exists();
    if launcher && first {
        c = c
            .arg(format!(
                "-DCMAKE_C_COMPILER={}",
                w.root().join("tc/cc").display()
            ))
            .arg(format!("-DCMAKE_C_COMPILER_LAUNCHER={}", bin().display()));
    } else if first {
        c = c.env("CC", "cc");
    }
    c.stderr("").run();
}

/// (hits, misses) by the tool's own counters, summed over every sccache server of the
/// world that still answers.
fn tool_counts(w: &World) -> (u64, u64) {
    if tool_of(w) == "ccache" {
        let c = w.ccache_counters(&cache_dir(w).join("ccache"));
        let get = |k: &str| c.get(k).copied().unwrap_or(0);
        return (
            get("direct_cache_hit") + get("preprocessed_cache_hit"),
            get("cache_miss"),
        );
    }
    let mut total = (0, 0);
    for sock in w.sccache_sockets() {
        let out = w
            .test(sccache())
            .args(["--show-stats", "--stats-format=json"])
            .env("SCCACHE_SERVER_UDS", &sock)
            .any_status()
            .run();
        if let Ok(st) = serde_json::from_slice::<serde_json::Value>(&out.stdout)
            && out.status.success()
        {
            total.0 += sccache_total(&st, "cache_hits");
            total.1 += sccache_total(&st, "cache_misses");
        }
    }
    total
}

fn causes(w: &World) -> BTreeMap<String, u64> {
    let s = w.stats();
    s["miss_causes"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().expect("count")))
                .collect()
        })
        .unwrap_or_default()
}

/// What one build did: the tool's (hits, misses), our causes, `explain --last-build`.
struct Built {
    hits: u64,
    misses: u64,
    causes: BTreeMap<String, u64>,
    explained: Vec<serde_json::Value>,
}

fn build(w: &World, clean: bool) -> Built {
    if clean {
        w.test("cmake")
            .args(["--build", "build", "--target", "clean"])
            .stderr("")
            .run();
    }
    let (t0, c0) = (tool_counts(w), causes(w));
    w.test("cmake")
        .args(["--build", "build", "-j2"])
        .stderr("")
        .run();
    let (t1, c1) = (tool_counts(w), causes(w));
    let mut delta = BTreeMap::new();
    for (k, v) in &c1 {
        let d = v - c0.get(k).copied().unwrap_or(0);
        if d > 0 {
            delta.insert(k.clone(), d);
        }
    }
    let explained = w
        .toolchainkit()
        .args(["explain", "--last-build", "--json"])
        .stderr("")
        .json();
    Built {
        hits: t1.0 - t0.0,
        misses: t1.1 - t0.1,
        causes: delta,
        explained: explained.as_array().cloned().unwrap_or_default(),
    }
}

/// The build missed exactly `outputs` (by their source name) for `cause`, by the tool's
/// counters, by our counted causes and by `explain --last-build`; each explanation holds
/// `detail`.
#[track_caller]
fn expect(b: &Built, cause: &str, outputs: &[&str], detail: &str) {
    let n = outputs.len() as u64;
    assert_eq!(
        b.misses, n,
        "the tool's misses ({cause}); hits {}, causes {:?}, explained {:?}",
        b.hits, b.causes, b.explained
    );
    assert_eq!(
        b.causes,
        BTreeMap::from([(cause.to_string(), n)]),
        "counted causes"
    );
    let mut got: Vec<String> = b
        .explained
        .iter()
        .map(|e| {
            let out = e["output"].as_str().expect("output").to_string();
            assert_eq!(e["cause"], cause, "{e}");
            let details: Vec<&str> = e["detail"]
                .as_array()
                .expect("detail")
                .iter()
                .filter_map(|d| d.as_str())
                .collect();
            assert!(
                details.iter().any(|d| d.contains(detail)),
                "{out}: {detail:?} in {details:?}"
            );
            out
        })
        .collect();
    got.sort();
    let want: Vec<String> = outputs
        .iter()
        .map(|s| format!("build/CMakeFiles/parts.dir/{s}.o"))
        .collect();
    assert_eq!(got, want, "explained outputs");
}

fn copy_tree(from: &Path, to: &Path) {
    let st = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(st.success(), "cp -a {} {}", from.display(), to.display());
}

fn stop_sccache(w: &World) {
    if tool_of(w) == "sccache" {
        w.toolchainkit().args(["server", "stop"]).any_status().run();
        for sock in w.sccache_sockets() {
            let _ = Command::new(sccache())
                .arg("--stop-server")
                .env("SCCACHE_SERVER_UDS", &sock)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        wait_until(
            "the sccache servers stopped",
            std::time::Duration::from_secs(20),
            || w.daemons().is_empty(),
        );
    }
}

fn every_miss_explained(tool: &str, launcher: bool) {
    let w = world(tool, launcher);
    write_compiler(&w, 1);
    write_project(&w);
    configure(&w, launcher, "");

    // Cold: every object is `cold`.
    let b = build(&w, false);
    expect(&b, "cold", &["a.c", "b.c", "c.c"], "no earlier compile");

    // A header touched without a change: rebuilt, served from the cache, no miss.
    let h = w.work.join("include/shared.h");
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&h)
        .and_then(|f| f.set_modified(later))
        .expect("touch the header");
    let b = build(&w, false);
    assert_eq!((b.hits, b.misses), (2, 0), "touched header: two hits");
    assert!(b.causes.is_empty(), "{:?}", b.causes);

    // The shared header changed: exactly its two includers miss, naming it.
    w.write("include/shared.h", "#define SHARED 2\n");
    let b = build(&w, false);
    expect(
        &b,
        "header",
        &["a.c", "b.c"],
        "header include/shared.h changed",
    );

    // A `-D` added in CMake: every object, with the flag.
    configure(&w, launcher, "-DEXTRA=1");
    let b = build(&w, false);
    expect(&b, "args", &["a.c", "b.c", "c.c"], "+ -DEXTRA=1");

    // Another compiler binary at the same path.
    write_compiler(&w, 2);
    let b = build(&w, true);
    expect(&b, "compiler", &["a.c", "b.c", "c.c"], "binary changed");

    // A variable the tool hashes: ccache the locale, sccache its cache buster.
    let (var, value) = if tool == "ccache" {
        ("LANG", "C.UTF-8")
    } else {
        ("SCCACHE_C_CUSTOM_CACHE_BUSTER", "2")
    };
    let mut w = w;
    w.set_env(var, value);
    stop_sccache(&w); // a server reads its environment once
    let b = build(&w, true);
    expect(
        &b,
        "env",
        &["a.c", "b.c", "c.c"],
        &format!("env {var} changed"),
    );

    // The cache cleared.
    if tool == "ccache" {
        w.test(ccache())
            .arg("-C")
            .env("CCACHE_DIR", cache_dir(&w).join("ccache"))
            .stderr("")
            .run();
    } else {
        stop_sccache(&w);
        std::fs::remove_dir_all(cache_dir(&w).join("sccache")).expect("remove sccache's dir");
    }
    let b = build(&w, true);
    expect(
        &b,
        "evicted",
        &["a.c", "b.c", "c.c"],
        "identical inputs were stored on",
    );
    let text = w.toolchainkit().args(["stats"]).stderr("").stdout_text();
    assert!(
        text.contains("miss causes:") && text.contains("3 evicted"),
        "{text}"
    );

    // The cache directory copied to a fresh HOME, the checkout at another path.
    stop_sccache(&w);
    let mut w2 = world(tool, launcher);
    w2.set_env(var, value);
    copy_tree(&cache_dir(&w), &cache_dir(&w2));
    std::fs::create_dir_all(w2.root().join("tc")).expect("mkdir");
    copy_tree(&w.root().join("tc/cc"), &w2.root().join("tc/cc"));
    for f in ["CMakeLists.txt", "a.c", "b.c", "c.c", ".toolchainkit.toml"] {
        std::fs::copy(w.work.join(f), w2.work.join(f)).expect("copy the checkout");
    }
    copy_tree(&w.work.join("include"), &w2.work.join("include"));
    assert_ne!(w.work, w2.work);
    configure(&w2, launcher, "-DEXTRA=1");
    let b = build(&w2, false);
    assert_eq!(
        (b.hits, b.misses),
        (3, 0),
        "the copied cache at another path: hits"
    );
    assert!(b.causes.is_empty(), "{:?}", b.causes);
    write_compiler(&w2, 3);
    let b = build(&w2, true);
    expect(&b, "compiler", &["a.c", "b.c", "c.c"], "binary changed");
    stop_sccache(&w2);
}

#[test]
fn explain_ccache_launcher() {
    if needs() {
        return;
    }
    every_miss_explained("ccache", true);
}

#[test]
fn explain_ccache_masquerade() {
    if needs() {
        return;
    }
    every_miss_explained("ccache", false);
}

#[test]
fn explain_sccache_launcher() {
    if needs() {
        return;
    }
    every_miss_explained("sccache", true);
}

#[test]
fn explain_sccache_masquerade() {
    if needs() {
        return;
    }
    every_miss_explained("sccache", false);
}

/// A cache too small for the build: three objects of 400 KiB of random bytes each
/// (nothing to compress) against a 1 MiB cache. The rebuild misses what the cache evicted; each
/// miss is `evicted`, exactly as many as the tool's misses, and the hint names `size_gb`.
fn too_small(tool: &str) {
    let w = world(tool, true);
    write_compiler(&w, 1);
    w.write(
        "CMakeLists.txt",
        "cmake_minimum_required(VERSION 3.13)\nproject(big C)\nadd_library(parts STATIC a.c b.c c.c)\n",
    );
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for name in ["a", "b", "c"] {
        let blob: Vec<u8> = (0..400 * 1024)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 24) as u8
            })
            .collect();
        // A string of escapes: ccache refuses `.incbin` (unsupported_code_directive).
        let body: String = blob.iter().map(|b| format!("\\x{b:02x}")).collect();
        w.write(
            &format!("{name}.c"),
            format!("const char blob_{name}[] = \"{body}\";\nint {name}(void) {{ return 1; }}\n"),
        );
    }
    w.config(&format!("[cache]\ntool = \"{tool}\"\nsize_gb = 0.001\n"));
    configure(&w, true, "");
    let (t0, _) = (tool_counts(&w), ());
    w.test("cmake")
        .args(["--build", "build", "-j1"])
        .stderr("")
        .run();
    assert_eq!(tool_counts(&w).1 - t0.1, 3, "cold build: three misses");
    if tool == "ccache" {
        // ccache trims to its size in its cleanup (per directory as it goes, or `ccache
        // -c`, as a CI job does before saving the cache); sccache evicts on every store.
        w.test(ccache())
            .arg("-c")
            .env("CCACHE_DIR", cache_dir(&w).join("ccache"))
            .env("CCACHE_MAXSIZE", "1Mi")
            .stderr("")
            .run();
    }
    w.test("cmake")
        .args(["--build", "build", "--target", "clean"])
        .stderr("")
        .run();
    let (t1, c1) = (tool_counts(&w), causes(&w));
    w.test("cmake")
        .args(["--build", "build", "-j1"])
        .stderr("")
        .run();
    let (t2, c2) = (tool_counts(&w), causes(&w));
    let misses = t2.1 - t1.1;
    assert!(
        misses >= 1,
        "a 1 MiB cache cannot hold 1.2 MiB of objects: {misses} misses"
    );
    let evicted = c2.get("evicted").copied().unwrap_or(0) - c1.get("evicted").copied().unwrap_or(0);
    assert_eq!(
        evicted, misses,
        "every miss of the rebuild is an eviction: {c2:?}"
    );
    assert_eq!(
        c2.values().sum::<u64>() - c1.values().sum::<u64>(),
        misses,
        "no other cause: {c2:?}"
    );
    let text = w.toolchainkit().args(["stats"]).stderr("").stdout_text();
    assert!(
        text.contains("miss causes:")
            && text.contains(&format!("{evicted} evicted"))
            && text.contains("raise [cache] size_gb"),
        "{text}"
    );
    let v = w
        .toolchainkit()
        .args(["explain", "--last-build", "--json"])
        .stderr("")
        .json();
    let list = v.as_array().expect("array");
    assert_eq!(list.len() as u64, misses, "{v}");
    for e in list {
        assert_eq!(e["cause"], "evicted", "{e}");
        let d = e["detail"][0].as_str().expect("detail");
        assert!(
            d.contains("raise [cache] size_gb") && d.contains("of 0.0010 GB"),
            "{d}"
        );
    }
    stop_sccache(&w);
}

#[test]
fn explain_cache_too_small_ccache() {
    if needs() {
        return;
    }
    too_small("ccache");
}

#[test]
fn explain_cache_too_small_sccache() {
    if needs() {
        return;
    }
    too_small("sccache");
}

/// An uncacheable compile gets a record with its reason; the next compile that misses
/// is `cold` (nothing was stored for it), against the tool's own counters.
#[test]
fn an_uncacheable_compile_is_recorded_with_its_reason() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let w = World::new();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write("x.c", "int x(void) { return 1; }\n");
    let counters = || {
        let c = w.ccache_counters(&w.work.join("cache/ccache"));
        (
            c.get("cache_miss").copied().unwrap_or(0),
            c.get("unsupported_compiler_option").copied().unwrap_or(0),
        )
    };
    // ccache does not cache `-save-temps`.
    w.toolchainkit()
        .args(["gcc", "-save-temps", "-c", "x.c", "-o", "x.o"])
        .stderr("")
        .run();
    assert_eq!(counters(), (0, 1), "ccache: uncacheable");
    let v = w
        .toolchainkit()
        .args(["explain", "x.o", "--json"])
        .stderr("")
        .json();
    assert_eq!(v[0]["output"], "x.o", "{v}");
    assert_eq!(v[0]["cached"], false, "{v}");
    assert_eq!(
        v[0]["uncacheable_reason"], "unsupported_compiler_option",
        "{v}"
    );
    w.toolchainkit()
        .args(["gcc", "-c", "x.c", "-o", "x.o"])
        .stderr("")
        .run();
    assert_eq!(counters(), (1, 1), "ccache: one miss");
    let v = w
        .toolchainkit()
        .args(["explain", "x.o", "--json"])
        .stderr("")
        .json();
    assert_eq!(v[0]["cause"], "cold", "{v}");
    let detail = v[0]["detail"].to_string();
    assert!(
        detail.contains("not cached (unsupported_compiler_option)")
            && detail.contains("- -save-temps"),
        "{detail}"
    );
    assert_eq!(w.stats()["miss_causes"]["cold"], 1);
    // A named output without a record: exit 1, said on stderr.
    w.toolchainkit()
        .args(["explain", "nothing.o"])
        .status(1)
        .stdout("")
        .stderr_contains("nothing.o: no miss recorded")
        .run();
}

/// A credential-like argument is kept only as a hash: its value is in no record, no
/// explanation and no stats; `stats --since-mark` names the causes.
#[test]
fn a_credential_argument_is_stored_hashed() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let w = World::new();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write("x.c", "const char *t = API_TOKEN;\n");
    w.toolchainkit().args(["stats", "--mark"]).stderr("").run();
    for value in ["\"s3cr3t-one\"", "\"s3cr3t-two\""] {
        w.toolchainkit()
            .args([
                "gcc",
                &format!("-DAPI_TOKEN={value}"),
                "-c",
                "x.c",
                "-o",
                "x.o",
            ])
            .stderr("")
            .run();
    }
    let v = w
        .toolchainkit()
        .args(["explain", "x.o", "--json"])
        .stderr("")
        .json();
    assert_eq!(v[0]["cause"], "args", "{v}");
    let detail = v[0]["detail"][0].as_str().expect("detail");
    assert!(
        detail.starts_with("- -DAPI_TOKEN=<hashed ") && detail.contains("/ + -DAPI_TOKEN=<hashed "),
        "{detail}"
    );
    let mut stack = vec![w.work.join("cache/explain"), w.root().join("state")];
    let mut files = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("list") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files += 1;
                let text = String::from_utf8_lossy(&std::fs::read(&p).expect("read")).into_owned();
                assert!(!text.contains("s3cr3t"), "{} holds the value", p.display());
            }
        }
    }
    assert!(
        files >= 3,
        "records, the compiler memo and the stats were read"
    );
    w.toolchainkit()
        .args(["stats", "--since-mark"])
        .stderr("")
        .stdout_contains("2 misses")
        .stdout_contains("misses by cause: 1 args, 1 cold")
        .run();
}
