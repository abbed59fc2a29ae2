//! The project's configuration reaches every compile of a real build, wherever the build
//! runs it: Cargo's `cc` crate compiling a dependency outside the project (found by the
//! output directory under the project's `target/`), an out-of-tree autotools-style build
//! (found by the source directory), `toolchainkit run` pinning it for a whole build, and
//! the local tool settings of `[ccache]` / `[sccache]`. Each is checked by the tool's own
//! counters in the project's cache directory.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;

fn ccache_misses_and_hits(w: &World, cache: &Path) -> (u64, u64) {
    let c = w.ccache_counters(cache);
    (
        c.get("cache_miss").copied().unwrap_or(0),
        c.get("direct_cache_hit").copied().unwrap_or(0)
            + c.get("preprocessed_cache_hit").copied().unwrap_or(0),
    )
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("CARGO_HOME or HOME")
}

/// Issue: Cargo's `cc` crate compiles in the dependency's directory (the registry), so the
/// project file was silently ignored and compiles went to `default.stats` with the
/// default tool. The output directory (`$OUT_DIR` under the project's `target/`) finds it.
#[test]
fn cargo_cc_crate_dependency_outside_the_project_uses_the_project_configuration() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("cargo", "cargo"),
    ]) {
        return;
    }
    let (mut w, _shims) = World::with_shims();
    if let Some(dir) = which::which("cargo")
        .ok()
        .and_then(|c| c.parent().map(Path::to_path_buf))
    {
        w.path_front.push(dir);
    }
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    // The dependency lives outside the project, as a registry crate does.
    let sys = w.root().join("registry/src/csys");
    fs::create_dir_all(sys.join("csrc")).expect("mkdir");
    fs::create_dir_all(sys.join("src")).expect("mkdir");
    fs::write(
        sys.join("Cargo.toml"),
        "[package]\nname = \"csys\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n\n[build-dependencies]\ncc = \"=1.11.1\"\n",
    )
    .expect("write");
    fs::write(
        sys.join("build.rs"),
        "fn main() { cc::Build::new().file(\"csrc/twice.c\").compile(\"twice\"); }\n",
    )
    .expect("write");
    fs::write(sys.join("csrc/twice.c"), LIB_C).expect("write");
    fs::write(
        sys.join("src/lib.rs"),
        "unsafe extern \"C\" { pub fn twice(x: i32) -> i32; }\n",
    )
    .expect("write");
    w.write(
        "Cargo.toml",
        format!(
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ncsys = {{ path = \"{}\" }}\n\n[workspace]\n",
            sys.display()
        ),
    );
    w.write(
        "src/main.rs",
        "fn main() { println!(\"{}\", unsafe { csys::twice(21) }); }\n",
    );
    let cargo = |args: &[&str]| {
        w.test("cargo")
            .args(args)
            .args(["--offline", "--quiet"])
            .env("CARGO_HOME", cargo_home())
            .env("CARGO_TARGET_DIR", w.work.join("target"))
            .env("CC", "cc")
            .env_remove("RUSTFLAGS")
            .run()
    };
    let out = cargo(&["run"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
    // The cc crate (pinned above) compiles the library and one probe: both go to the
    // project's cache.
    let cache = w.work.join("cache/ccache");
    let (misses, hits) = ccache_misses_and_hits(&w, &cache);
    assert_eq!((misses, hits), (2, 0), "the project's cache");
    cargo(&["clean", "-p", "csys"]);
    cargo(&["build"]);
    assert_eq!(ccache_misses_and_hits(&w, &cache), (misses, misses));
    let s = w.stats();
    assert_eq!(
        (s["misses"].as_u64(), s["hits"].as_u64()),
        (Some(misses), Some(misses)),
        "{s}"
    );
    // Only the cc crate's `cc --version` probes (no source, no output: nothing ties them
    // to a project) land in default.stats; no compile does.
    let d = w.root().join("state/toolchainkit/stats/default.stats");
    assert!(d.is_file(), "the cc crate's probes are counted somewhere");
    let v = w
        .toolchainkit()
        .env("TOOLCHAINKIT_STATS_FILE", &d)
        .args(["stats", "--json"])
        .any_status()
        .json();
    assert_eq!(
        v["invocations"].as_u64(),
        v["uncacheable_reasons"]["not_a_compile"].as_u64(),
        "{v}"
    );
}

/// Issue: an out-of-tree build runs in a build directory outside the checkout. The source
/// file's directory finds the project.
#[test]
fn out_of_tree_build_uses_the_project_configuration() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write("src/lib.c", LIB_C);
    w.write("src/hello.c", HELLO_C);
    let build = w.root().join("build-out");
    fs::create_dir_all(&build).expect("mkdir");
    // What an autotools makefile runs from the build directory.
    let rel = "../proj/src";
    for _ in 0..2 {
        for f in ["lib", "hello"] {
            w.test(shims.join("gcc"))
                .current_dir(&build)
                .args(["-DHAVE_CONFIG_H", "-I.", "-I../proj/src", "-c", "-o"])
                .arg(format!("{f}.o"))
                .arg(format!("{rel}/{f}.c"))
                .silent()
                .run();
        }
    }
    let cache = w.work.join("cache/ccache");
    assert_eq!(ccache_misses_and_hits(&w, &cache), (2, 2));
}

/// `toolchainkit run -- CMD` pins the project's configuration for every compile of the
/// command, even where nothing else could find it.
#[test]
fn run_pins_the_configuration_for_a_whole_build() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("sh", "dash"),
    ]) {
        return;
    }
    let (w, _shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    let elsewhere = w.root().join("generated");
    fs::create_dir_all(&elsewhere).expect("mkdir");
    fs::write(elsewhere.join("gen.c"), LIB_C).expect("write");
    let script = format!(
        "cd {} && cc -c gen.c -o gen.o && cc -c gen.c -o gen2.o",
        elsewhere.display()
    );
    w.toolchainkit()
        .args(["run", "--", "sh", "-c", &script])
        .silent()
        .run();
    let cache = w.work.join("cache/ccache");
    assert_eq!(ccache_misses_and_hits(&w, &cache), (1, 1));
    // `stats` and `doctor` in the project have nothing to flag yet.
    w.toolchainkit()
        .arg("stats")
        .stdout_lacks("outside any project")
        .run();
    // Without `run`, the same build finds no project and uses the defaults: flagged by
    // `stats` and `doctor` in the project, naming where they ran.
    w.test("sh").args(["-c", &script]).run();
    assert_eq!(ccache_misses_and_hits(&w, &cache), (1, 1), "unchanged");
    let want = format!(
        "2 compile(s) around this project's last build ran outside any project (no .toolchainkit.toml found from their directories; the last in {}, compiling {}, started by `sh`)",
        elsewhere.display(),
        elsewhere.join("gen.c").display()
    );
    w.toolchainkit()
        .arg("stats")
        .stdout_contains(format!("notice: {want}"))
        .run();
    let j = w.toolchainkit().args(["stats", "--json"]).json();
    assert_eq!(j["outside_project"][0]["count"].as_u64(), Some(2), "{j}");
    assert_eq!(j["outside_project"][0]["started_by"], "sh", "{j}");
    assert_eq!(
        j["outside_project"][0]["source"],
        elsewhere.join("gen.c").display().to_string(),
        "{j}"
    );
    // They belong to the build they ran beside, not to every project: a fresh project
    // (nothing recorded yet) and one whose last build was an hour before show none.
    let fresh = w.root().join("fresh");
    fs::create_dir_all(&fresh).expect("mkdir");
    fs::write(
        fresh.join(".toolchainkit.toml"),
        "[cache]\ntool = \"ccache\"\n",
    )
    .expect("write");
    w.toolchainkit()
        .arg("stats")
        .current_dir(&fresh)
        .stdout_lacks("outside any project")
        .run();
    let fj = w
        .toolchainkit()
        .args(["stats", "--json"])
        .current_dir(&fresh)
        .json();
    assert_eq!(fj["outside_project"], serde_json::json!([]), "{fj}");
    let stats_file = std::path::PathBuf::from(j["file"].as_str().expect("file"));
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    fs::File::options()
        .append(true)
        .open(&stats_file)
        .and_then(|f| f.set_modified(hour_ago))
        .expect("set the stats file's time");
    let doc = w.toolchainkit().arg("doctor").any_status().stdout_text();
    assert!(
        doc.lines()
            .any(|l| l.starts_with("ok") && l.contains("stats.outside")),
        "{doc}"
    );
    w.toolchainkit()
        .arg("stats")
        .stdout_lacks("outside any project")
        .run();
    fs::File::options()
        .append(true)
        .open(&stats_file)
        .and_then(|f| f.set_modified(std::time::SystemTime::now()))
        .expect("set the stats file's time");
    let doc = w.toolchainkit().arg("doctor").any_status().stdout_text();
    assert!(
        doc.lines()
            .any(|l| l.starts_with("warning") && l.contains("stats.outside") && l.contains(&want)),
        "{doc}"
    );
    // Outside any project there is nothing to pin: said, and nothing runs.
    w.toolchainkit()
        .current_dir(&elsewhere)
        .args(["run", "--", "touch", "ran"])
        .status(2)
        .run();
    assert!(!elsewhere.join("ran").exists());
}

/// `[ccache]` and `[sccache]`: the settings users set every day, typed, validated, shown
/// by `config`, and given to the tool. `base_dir` lets a second checkout at another path
/// hit what the first one compiled.
#[test]
fn local_tool_settings_reach_the_tools() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    let shared = w.root().join("shared-cache");
    let toml = format!(
        "[cache]\ntool = \"ccache\"\ndir = \"{}\"\n\n[ccache]\nbase_dir = \".\"\ncompiler_check = \"content\"\nsloppiness = [\"pch_defines\", \"time_macros\"]\nhash_dir = false\ncompression_level = 3\n\n[sccache]\nbasedirs = [\".\"]\ndirect = true\n",
        shared.display()
    );
    let checkouts = [w.root().join("checkout-a"), w.root().join("checkout-b")];
    for c in &checkouts {
        fs::create_dir_all(c.join("src")).expect("mkdir");
        fs::write(c.join(".toolchainkit.toml"), &toml).expect("write");
        fs::write(c.join("src/lib.c"), LIB_C).expect("write");
    }
    for c in &checkouts {
        // Absolute paths in the arguments, as CMake writes them.
        w.test(shims.join("gcc"))
            .current_dir(c)
            .arg("-c")
            .arg(c.join("src/lib.c"))
            .args(["-o", "lib.o"])
            .silent()
            .run();
    }
    assert_eq!(ccache_misses_and_hits(&w, &shared.join("ccache")), (1, 1));
    let cfg = w
        .toolchainkit()
        .current_dir(&checkouts[0])
        .arg("config")
        .run();
    let text = String::from_utf8_lossy(&cfg.stdout);
    for line in [
        format!("ccache.base_dir = \"{}\"", checkouts[0].display()),
        "ccache.compiler_check = \"content\"".into(),
        "ccache.sloppiness = [\"pch_defines\", \"time_macros\"]".into(),
        "ccache.hash_dir = false".into(),
        "ccache.compression_level = 3".into(),
        "sccache.direct = true".into(),
    ] {
        assert!(text.contains(&line), "{line}\n{text}");
    }
    for (tool, want) in [
        (
            "ccache",
            vec![
                "CCACHE_COMPILERCHECK='content'",
                "CCACHE_SLOPPINESS='pch_defines,time_macros'",
                "CCACHE_NOHASHDIR='1'",
                "CCACHE_COMPRESSLEVEL='3'",
            ],
        ),
        (
            "sccache",
            vec!["SCCACHE_DIRECT='true'", "SCCACHE_BASEDIRS="],
        ),
    ] {
        let out = w
            .toolchainkit()
            .current_dir(&checkouts[0])
            .args(["env", "--tool", tool])
            .run();
        let text = String::from_utf8_lossy(&out.stdout);
        for v in want {
            assert!(text.contains(v), "{v}\n{text}");
        }
    }
    // A word ccache does not know is refused at its line.
    fs::write(
        checkouts[0].join(".toolchainkit.toml"),
        "[ccache]\nsloppiness = [\"time_macro\"]\n",
    )
    .expect("write");
    let out = w
        .toolchainkit()
        .current_dir(&checkouts[0])
        .arg("config")
        .status(78)
        .run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":2:") && err.contains("`ccache.sloppiness`"),
        "{err}"
    );
}
