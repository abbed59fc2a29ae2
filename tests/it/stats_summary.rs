//! Stats a user can trust at a glance: `--zero` resets sccache's counters too, a one-line
//! summary per build (`--mark` / `--since-mark`), every project at once (`--all`, with
//! old files still read), and "time saved" shown whenever there are hits, with its basis.
//! Real builds through the shims with the real ccache and sccache.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;

/// Compile each source with `gcc -c` through the shim, in `dir`.
fn build(w: &World, shims: &Path, dir: &Path, sources: &[&str]) {
    for src in sources {
        w.test_shim(shims, "gcc")
            .current_dir(dir)
            .args(["-c", src])
            .silent()
            .run();
    }
}

fn sources(w: &World, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let name = format!("s{i}.c");
            w.write(&name, format!("int s{i}(int x) {{ return x + {i}; }}\n"));
            name
        })
        .collect()
}

#[test]
fn zero_resets_the_sccache_servers_counters_so_the_rebuild_is_all_that_shows() {
    if common::skip_unless(&[common::Need::tools()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"sccache\"\ndir = \"cache\"\n");
    let srcs = sources(&w, 3);
    let srcs: Vec<&str> = srcs.iter().map(String::as_str).collect();
    build(&w, &shims, &w.work, &srcs);
    let socks = w.sccache_sockets();
    assert_eq!(socks.len(), 1, "{socks:?}");
    let before = w.sccache_stats(&socks[0]);
    assert_eq!(sccache_total(&before, "cache_misses"), 3, "{before}");

    let z = w.toolchainkit().args(["stats", "--zero"]).stdout_text();
    assert!(
        z.contains("statistics zeroed") && z.contains("sccache's counters zeroed too"),
        "{z}"
    );
    let zeroed = w.sccache_stats(&socks[0]);
    assert_eq!(
        zeroed["stats"]["compile_requests"].as_u64(),
        Some(0),
        "{zeroed}"
    );

    build(&w, &shims, &w.work, &srcs);
    let after = w.sccache_stats(&socks[0]);
    assert_eq!(
        after["stats"]["compile_requests"].as_u64(),
        Some(3),
        "{after}"
    );
    assert_eq!(sccache_total(&after, "cache_hits"), 3, "{after}");
    assert_eq!(sccache_total(&after, "cache_misses"), 0, "{after}");
    let s = w.stats();
    assert_eq!(s["invocations"].as_u64(), Some(3), "{s}");
    // Our own hit rate, wherever sccache's per-compile outcomes are counted: the rebuild.
    if s["hits"].as_u64().unwrap_or(0) + s["misses"].as_u64().unwrap_or(0) > 0 {
        assert_eq!(s["hit_rate"].as_f64(), Some(100.0), "{s}");
    }
    let table = w.toolchainkit().arg("stats").stdout_text();
    assert!(
        table.contains("hit rate             100.0 %")
            && table.contains("since it started or the last `stats --zero`"),
        "sccache's own shown counters cover the rebuild only:\n{table}"
    );
}

#[test]
fn mark_then_since_mark_prints_one_line_per_build() {
    if common::skip_unless(&[common::Need::tools()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    let srcs = sources(&w, 2);
    let srcs: Vec<&str> = srcs.iter().map(String::as_str).collect();
    w.write("main.c", "int main(void) { return 0; }\n");
    // Without a mark: everything so far, and it says so.
    let line = w
        .toolchainkit()
        .args(["stats", "--since-mark"])
        .stdout_text();
    assert!(
        line.contains("0 invocations") && line.contains("no mark set"),
        "{line}"
    );

    let m = w.toolchainkit().args(["stats", "--mark"]).stdout_text();
    assert!(m.contains("marked at 0 invocations"), "{m}");
    build(&w, &shims, &w.work, &srcs);
    let line = w
        .toolchainkit()
        .args(["stats", "--since-mark"])
        .stdout_text();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.starts_with(
            "toolchainkit: 2 invocations, 0 hits, 2 misses, hit rate 0.0 %, time saved 0.0 s"
        ) && line.contains("since the mark at "),
        "{line}"
    );

    // The CI pattern: mark before the build, one line after it.
    w.toolchainkit().args(["stats", "--mark"]).run();
    build(&w, &shims, &w.work, &srcs);
    w.test_shim(&shims, "gcc")
        .args(["main.c", "s0.o", "s1.o", "-o", "prog"])
        .run();
    let line = w
        .toolchainkit()
        .args(["stats", "--since-mark"])
        .stdout_text();
    assert!(
        line.starts_with(
            "toolchainkit: 3 invocations, 2 hits, 0 misses, hit rate 100.0 %, time saved "
        ) && line.contains("(average miss time), 1 uncacheable; since the mark at "),
        "{line}"
    );
    let v: serde_json::Value = w
        .toolchainkit()
        .args(["stats", "--since-mark", "--json"])
        .json();
    assert_eq!(
        (
            v["window"].as_str(),
            v["invocations"].as_u64(),
            v["hits"].as_u64(),
            v["misses"].as_u64()
        ),
        (Some("since_mark"), Some(3), Some(2), Some(0)),
        "{v}"
    );
    assert_eq!(v["time_saved_basis"].as_str(), Some("average"), "{v}");
    assert!(
        v["time_saved_how"]
            .as_str()
            .is_some_and(|h| h.contains("the project's average miss time")),
        "no miss in this build: the project's average serves: {v}"
    );
    assert!(
        v["time_saved_secs"].as_f64().is_some_and(|t| t > 0.0),
        "{v}"
    );
    // The tool's own counters agree: 2 misses, then 2 hits.
    let c = w.ccache_counters(&w.work.join("cache/ccache"));
    assert_eq!((c["cache_miss"], c["direct_cache_hit"]), (2, 2), "{c:?}");

    // Zeroed after the mark: the window is what came since the zero, and says so.
    w.toolchainkit().args(["stats", "--zero"]).run();
    build(&w, &shims, &w.work, &srcs[..1]);
    let line = w
        .toolchainkit()
        .args(["stats", "--since-mark"])
        .stdout_text();
    assert!(
        line.starts_with("toolchainkit: 1 invocations, 1 hits, 0 misses")
            && line.contains("since the counters were zeroed"),
        "{line}"
    );
}

#[test]
fn time_saved_is_shown_whenever_there_are_hits_and_says_on_what_it_rests() {
    if common::skip_unless(&[common::Need::tools()]) {
        return;
    }
    // 1. Zero after filling the cache: the misses counted before the zero still serve.
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write("a.c", HELLO_C);
    build(&w, &shims, &w.work, &["a.c"]);
    w.toolchainkit().args(["stats", "--zero"]).run();
    build(&w, &shims, &w.work, &["a.c"]);
    let s = w.stats();
    assert_eq!(
        (s["hits"].as_u64(), s["misses"].as_u64()),
        (Some(1), Some(0)),
        "{s}"
    );
    assert_eq!(s["time_saved_basis"].as_str(), Some("average"), "{s}");
    assert!(
        s["time_saved_how"]
            .as_str()
            .is_some_and(|h| h.contains("before the last `stats --zero`")),
        "{s}"
    );
    let table = w.toolchainkit().arg("stats").stdout_text();
    assert!(table.contains("time saved:     "), "{table}");

    // 2. A hit with no miss ever recorded: said, not hidden.
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write("a.c", HELLO_C);
    // The cache is filled by a build counted in another stats file.
    w.test_shim(&shims, "gcc")
        .env("TOOLCHAINKIT_STATS_FILE", w.root().join("elsewhere.stats"))
        .args(["-c", "a.c"])
        .silent()
        .run();
    build(&w, &shims, &w.work, &["a.c"]);
    let s = w.stats();
    assert_eq!(s["hits"].as_u64(), Some(1), "{s}");
    assert!(s["time_saved_secs"].is_null(), "{s}");
    assert_eq!(s["time_saved_basis"].as_str(), Some("no_miss_recorded"));
    let table = w.toolchainkit().arg("stats").stdout_text();
    assert!(
        table.contains("time saved:     unknown: 1 hits, but no miss has been recorded"),
        "{table}"
    );

    // 3. With the trace on: each hit against the recorded miss of the same compile.
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n[stats]\ntrace = true\n");
    w.write("a.c", HELLO_C);
    w.write("b.c", LIB_C);
    build(&w, &shims, &w.work, &["a.c", "b.c"]);
    w.toolchainkit().args(["stats", "--zero"]).run();
    build(&w, &shims, &w.work, &["a.c", "b.c"]);
    let s = w.stats();
    assert_eq!(s["time_saved_basis"].as_str(), Some("per_compile"), "{s}");
    assert!(
        s["time_saved_how"]
            .as_str()
            .is_some_and(|h| h.contains("each of the 2 hits against the recorded miss")),
        "{s}"
    );
}

#[test]
fn all_lists_every_projects_file_with_its_path_and_totals() {
    if common::skip_unless(&[common::Need::tools()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write("a.c", HELLO_C);
    build(&w, &shims, &w.work, &["a.c", "a.c"]);
    let other = w.root().join("other-project");
    fs::create_dir_all(&other).expect("mkdir");
    fs::write(
        other.join(".toolchainkit.toml"),
        "[cache]\ntool = \"none\"\n",
    )
    .expect("config");
    fs::write(other.join("b.c"), LIB_C).expect("source");
    build(&w, &shims, &other, &["b.c"]);
    // A file written before project names were recorded: the earlier JSON format.
    let dir = w.root().join("state/toolchainkit/stats");
    fs::write(
        dir.join("00112233aabbccdd.stats"),
        r#"{"version":1,"since":1700000000,"invocations":4,"outcomes":{"miss":{"count":1,"nanos":900000000},"hit.direct.local":{"count":3,"nanos":30000000}}}"#,
    )
    .expect("legacy file");

    let text = w.toolchainkit().args(["stats", "--all"]).stdout_text();
    let proj = fs::canonicalize(&w.work).expect("canon");
    let other = fs::canonicalize(&other).expect("canon");
    let line_of = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle}:\n{text}"))
            .to_string()
    };
    let mine = line_of(&format!("  {}", proj.display()));
    assert!(mine.contains("50.0 %"), "one miss, one hit: {mine}");
    assert!(line_of(&format!("  {}", other.display())).contains("n/a"));
    let legacy = line_of("00112233aabbccdd.stats");
    assert!(
        legacy.contains("75.0 %") && legacy.contains("unknown: recorded before"),
        "{legacy}"
    );
    let total = line_of("total (3 files)");
    assert!(total.contains(" 7 "), "2 + 1 + 4 invocations: {total}");

    let v: serde_json::Value = w.toolchainkit().args(["stats", "--all", "--json"]).json();
    assert_eq!(v["total"]["invocations"].as_u64(), Some(7), "{v}");
    assert_eq!(v["total"]["hits"].as_u64(), Some(4), "{v}");
    let files = v["files"].as_array().expect("files");
    assert_eq!(files.len(), 3, "{v}");
    assert!(
        files.iter().any(|f| f["project"].as_str() == proj.to_str()),
        "{v}"
    );

    // A project's file without its name gets it from `toolchainkit stats` there.
    let file = PathBuf::from(w.stats()["file"].as_str().expect("file"));
    let named = PathBuf::from(format!("{}.project", file.display()));
    assert_eq!(
        fs::read(&named).expect("project name"),
        proj.as_os_str().as_encoded_bytes()
    );
    fs::remove_file(&named).expect("rm");
    w.toolchainkit().arg("stats").run();
    assert_eq!(
        fs::read(&named).expect("named again"),
        proj.as_os_str().as_encoded_bytes()
    );
}
