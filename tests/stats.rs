//! Per-invocation stats: exact under load, crash safe, never in the compile's way.

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A stats file in the current format whose two slots both fail their checksum.
fn two_bad_slots() -> Vec<u8> {
    let mut bytes = format!("{:<63}\n", "toolchainkit-stats 2 4096").into_bytes();
    for seq in [1, 2] {
        let mut slot = format!("{seq} 14 0000000000000000\ninvocations 5\n").into_bytes();
        slot.resize(4096, 0);
        bytes.extend(slot);
    }
    bytes
}

fn stats_file(w: &World) -> PathBuf {
    PathBuf::from(w.stats()["file"].as_str().expect("file").to_string())
}

#[test]
fn exact_totals_under_32_concurrent_processes() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    // 16 sources: each worker compiles them (miss first, then hits) and links.
    for i in 0..16 {
        w.write(
            &format!("s{i}.c"),
            format!("int s{i}(int x) {{ return x * {i}; }}\n"),
        );
    }
    w.write("main.c", "int main(void) { return 0; }\n");
    ok(w.bare("gcc")
        .args(["-c", "main.c", "-o", "main.o"])
        .output()
        .expect("main.o"));
    const WORKERS: usize = 32;
    const PER_WORKER: usize = 63; // 32 x 63 = 2016 invocations
    // Each worker is one shell process running its share of compiles and links in sequence.
    let mut script = String::from("#!/bin/sh\nset -e\nw=$1\nmkdir -p out$w\ni=0\n");
    script.push_str(&format!(
        "while [ $i -lt {PER_WORKER} ]; do\n  s=$((i % 16))\n  if [ $((i % 9)) -eq 8 ]; then gcc main.o -o out$w/prog$i; else gcc -c s$s.c -o out$w/s$s.o; fi\n  i=$((i+1))\ndone\n"
    ));
    let runner = w.root().join("worker.sh");
    w.script(&runner, &script);
    let mut children = Vec::new();
    for k in 0..WORKERS {
        children.push(
            w.cmd("sh")
                .arg(&runner)
                .arg(k.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn worker"),
        );
    }
    for c in children {
        silent(c.wait_with_output().expect("worker"));
    }
    let s = w.stats();
    let total = (WORKERS * PER_WORKER) as u64;
    assert_eq!(s["invocations"].as_u64(), Some(total), "{s}");
    let c = w.ccache_counters(&w.work.join("cache/ccache"));
    let ccache_hits = c["direct_cache_hit"] + c["preprocessed_cache_hit"];
    assert_eq!(
        s["hits"].as_u64(),
        Some(ccache_hits),
        "ours vs ccache's: {s} {c:?}"
    );
    assert_eq!(
        s["misses"].as_u64(),
        Some(c["cache_miss"]),
        "ours vs ccache's: {s} {c:?}"
    );
    let links = (WORKERS * (0..PER_WORKER).filter(|i| i % 9 == 8).count()) as u64;
    assert_eq!(
        s["uncacheable_reasons"]["not_a_compile"].as_u64(),
        Some(links),
        "{s}"
    );
    assert_eq!(
        s["hits"].as_u64().unwrap_or(0) + s["misses"].as_u64().unwrap_or(0) + links,
        total,
        "every invocation has exactly one outcome: {s}"
    );
    // The file stays small: it does not grow with the number of invocations.
    let size = fs::metadata(stats_file(&w)).expect("stats file").len();
    // Header and two 4 KiB slots: fixed, whatever the number of invocations.
    assert!(size <= 64 + 2 * 4096, "stats file is {size} bytes");
}

#[test]
fn ccache_outcomes_are_distinguished() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, shims) = {
        let mut w = World::new();
        let s = w.install_shims("shims");
        w.path_front.push(s.clone());
        (w, s)
    };
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write("a.c", HELLO_C);
    w.write("b.c", LIB_C);
    w.write("bad.c", "int f(void) { return nope; }\n");
    let gcc = |args: &[&str]| w.cmd(shims.join("gcc")).args(args).output().expect("run");
    silent(gcc(&["-c", "a.c"]));
    silent(gcc(&["-c", "a.c"]));
    // Preprocessed hit: direct mode off for one compile of the same source.
    silent(
        w.cmd(shims.join("gcc"))
            .env("CCACHE_NODIRECT", "1")
            .args(["-c", "a.c"])
            .output()
            .expect("run"),
    );
    silent(gcc(&["-c", "a.c", "b.c"]));
    ok(gcc(&["-E", "b.c"]));
    assert_eq!(gcc(&["-c", "bad.c"]).status.code(), Some(1));
    let s = w.stats();
    assert_eq!(s["hits_by_kind"]["direct_local"].as_u64(), Some(1), "{s}");
    assert_eq!(
        s["hits_by_kind"]["preprocessed_local"].as_u64(),
        Some(1),
        "{s}"
    );
    assert_eq!(s["misses"].as_u64(), Some(1), "{s}");
    let reasons = &s["uncacheable_reasons"];
    assert_eq!(reasons["multiple_source_files"].as_u64(), Some(1), "{s}");
    assert_eq!(reasons["called_for_preprocessing"].as_u64(), Some(1), "{s}");
    assert!(
        reasons["compile_failed"].as_u64() == Some(1)
            || reasons["preprocessor_error"].as_u64() == Some(1),
        "{s}"
    );
    assert_eq!(s["invocations"].as_u64(), Some(6));
}

#[test]
fn user_ccache_statslog_keeps_receiving_lines() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write("a.c", HELLO_C);
    let user_log = w.root().join("my-statslog");
    w.env
        .push(("CCACHE_STATSLOG".into(), user_log.display().to_string()));
    silent(
        w.cmd(shims.join("gcc"))
            .args(["-c", "a.c"])
            .output()
            .expect("run"),
    );
    silent(
        w.cmd(shims.join("gcc"))
            .args(["-c", "a.c"])
            .output()
            .expect("run"),
    );
    let text = String::from_utf8_lossy(&read(&user_log)).into_owned();
    assert!(
        text.contains("cache_miss") && text.contains("direct_cache_hit"),
        "{text}"
    );
    // No private log files are left behind.
    let tmp = w.root().join("state/toolchainkit/tmp");
    let left: Vec<_> = fs::read_dir(&tmp)
        .map(|d| d.filter_map(Result::ok).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn json_schema_zero_and_table() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    let s = w.stats();
    assert_eq!(s["invocations"].as_u64(), Some(0));
    assert!(s["hit_rate"].is_null(), "{s}");
    for key in [
        "invocations",
        "hits",
        "misses",
        "uncacheable",
        "fallbacks",
        "errors",
    ] {
        assert!(s[key].is_u64(), "{key} missing: {s}");
    }
    w.config("[cache]\ntool = \"none\"\n");
    w.write("a.c", HELLO_C);
    silent(
        w.cmd(shims.join("gcc"))
            .args(["-c", "a.c"])
            .output()
            .expect("run"),
    );
    let s = w.stats();
    assert_eq!(
        (
            s["fallbacks"].as_u64(),
            s["fallback_reasons"]["tool_none"].as_u64()
        ),
        (Some(1), Some(1)),
        "{s}"
    );
    let table = ok(w.tk().arg("stats").output().expect("stats"));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("stats file:")
            && text.contains("fallback.tool_none")
            && text.contains("hit rate:"),
        "{text}"
    );
    let z = ok(w.tk().args(["stats", "--zero"]).output().expect("zero"));
    assert!(String::from_utf8_lossy(&z.stdout).contains("statistics zeroed"));
    assert_eq!(w.stats()["invocations"].as_u64(), Some(0));
}

#[test]
fn configured_stats_file_is_used() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    w.config("[cache]\ntool = \"none\"\n[stats]\nfile = \"my-stats\"\n");
    w.write("a.c", HELLO_C);
    silent(
        w.cmd(shims.join("gcc"))
            .args(["-c", "a.c"])
            .output()
            .expect("run"),
    );
    let file = w.work.join("my-stats");
    let stats = toolchainkit::stats::load(&file)
        .expect("readable")
        .expect("the configured file holds the record");
    assert_eq!(stats.invocations, 1);
    let v = w.stats();
    assert_eq!(v["file"].as_str(), Some(file.to_str().expect("utf-8")));
    assert_eq!(v["invocations"].as_u64(), Some(1));
    let default_dir = w.root().join("state").join("toolchainkit").join("stats");
    let unused = fs::read_dir(&default_dir).map_or(0, |d| {
        d.filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".stats"))
            .count()
    });
    assert_eq!(unused, 0, "the default location stays unused");
}

#[test]
fn corrupt_file_is_moved_aside_and_mentioned_once() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    w.config("[cache]\ntool = \"none\"\n");
    w.write("a.c", HELLO_C);
    let path = stats_file(&w);
    let ours: [Vec<u8>; 3] = [
        b"{\"version\":99,\"since\":0,\"invocations\":5,\"outcomes\":{}}".to_vec(),
        // The current format's header with both slots' checksums wrong.
        two_bad_slots(),
        // A header from a future format version.
        format!("{:<63}\n", "toolchainkit-stats 9 4096").into_bytes(),
    ];
    // All within the same second: each one is kept under its own name.
    for garbage in &ours {
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, garbage).expect("corrupt");
        silent(
            w.cmd(shims.join("gcc"))
                .args(["-c", "a.c"])
                .output()
                .expect("run"),
        );
        let first = ok(w.tk().arg("stats").output().expect("stats"));
        let text = String::from_utf8_lossy(&first.stdout);
        assert!(
            text.contains("notice: the stats file was") && text.contains("invocations:    1"),
            "{text}"
        );
        let again = ok(w.tk().arg("stats").output().expect("stats"));
        assert!(
            !String::from_utf8_lossy(&again.stdout).contains("notice:"),
            "mentioned once only"
        );
    }
    let mut aside: Vec<Vec<u8>> = fs::read_dir(path.parent().expect("parent"))
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .map(|e| read(&e.path()))
        .collect();
    aside.sort();
    let mut want: Vec<Vec<u8>> = ours.to_vec();
    want.sort();
    assert_eq!(
        aside, want,
        "every damaged file of ours is kept aside, none lost"
    );
}

#[test]
fn a_file_that_is_not_ours_at_the_stats_path_is_never_touched() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    w.config("[cache]\ntool = \"none\"\n");
    w.write("a.c", HELLO_C);
    let path = stats_file(&w);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    for foreign in [&b"\x00\x01garbage{"[..], b"", b"export PATH=/usr/bin\n"] {
        fs::write(&path, foreign).expect("plant");
        silent(
            w.cmd(shims.join("gcc"))
                .args(["-c", "a.c"])
                .output()
                .expect("run"),
        );
        assert_eq!(read(&path), foreign, "left exactly as it was");
        let out = w.tk().arg("stats").output().expect("stats");
        assert!(!out.status.success(), "{}", describe(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("not a toolchainkit stats file"),
            "{}",
            describe(&out)
        );
        let doc = w.tk().arg("doctor").output().expect("doctor");
        let text = String::from_utf8_lossy(&doc.stdout);
        assert!(
            text.lines()
                .any(|l| l.starts_with("problem") && l.contains("not a toolchainkit stats file")),
            "{text}"
        );
    }
    let moved = fs::read_dir(path.parent().expect("parent"))
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .count();
    assert_eq!(moved, 0, "nothing of somebody else's is moved aside");
}

#[test]
fn sigkill_while_holding_the_lock_leaves_a_usable_file() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    w.config("[cache]\ntool = \"none\"\n");
    w.write("a.c", HELLO_C);
    silent(
        w.cmd(shims.join("gcc"))
            .args(["-c", "a.c"])
            .output()
            .expect("run"),
    );
    let path = stats_file(&w);
    let lock = PathBuf::from(format!("{}.lock", path.display()));
    // A process that takes the lock (flock(2), as fs2 does) and is killed holding it,
    // leaving a half-written temp file behind.
    fs::write(
        format!("{}.tmp.999999", path.display()),
        b"{\"version\":1,\"inv",
    )
    .expect("torn temp");
    let mut holder = Command::new("flock")
        .arg("-o")
        .arg(&lock)
        .args(["sleep", "5"])
        .spawn()
        .expect("flock (util-linux)");
    std::thread::sleep(Duration::from_millis(200));
    holder.kill().expect("SIGKILL");
    holder.wait().expect("reap");
    silent(
        w.cmd(shims.join("gcc"))
            .args(["-c", "a.c"])
            .output()
            .expect("run"),
    );
    assert_eq!(w.stats()["invocations"].as_u64(), Some(2));
}

#[test]
fn a_lock_held_too_long_never_hangs_the_compile() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    w.config("[cache]\ntool = \"none\"\n");
    w.write("a.c", HELLO_C);
    silent(
        w.cmd(shims.join("gcc"))
            .args(["-c", "a.c"])
            .output()
            .expect("run"),
    );
    let path = stats_file(&w);
    let lock = PathBuf::from(format!("{}.lock", path.display()));
    let mut holder = Command::new("flock")
        .arg("-o")
        .arg(&lock)
        .args(["sleep", "8"])
        .spawn()
        .expect("flock");
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    silent(
        w.cmd(shims.join("gcc"))
            .args(["-c", "a.c", "-o", "late.o"])
            .output()
            .expect("run"),
    );
    let waited = start.elapsed();
    assert!(w.work.join("late.o").is_file());
    holder.kill().expect("kill holder");
    holder.wait().expect("reap");
    // The late record is folded in by the next reader and reported as such.
    let s = w.stats();
    assert_eq!(s["invocations"].as_u64(), Some(2), "{s}");
    assert_eq!(s["late_records"].as_u64(), Some(1), "{s}");
    // Bounded: the compile went on (a generous bound, not a benchmark).
    assert!(
        waited < Duration::from_secs(30),
        "compile waited {waited:?}"
    );
}

#[test]
fn unwritable_stats_location_never_fails_the_compile() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    w.write("blocker", "not a directory");
    w.config(
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n[stats]\nfile = \"blocker/stats.json\"\n",
    );
    w.write("a.c", HELLO_C);
    w.write("bad.c", "int f(void) { return nope; }\n");
    silent(
        w.cmd(shims.join("gcc"))
            .args(["-c", "a.c"])
            .output()
            .expect("run"),
    );
    let bare = w.bare("gcc").args(["-c", "bad.c"]).output().expect("bare");
    let got = w
        .cmd(shims.join("gcc"))
        .args(["-c", "bad.c"])
        .output()
        .expect("run");
    assert_eq!(
        (got.status.code(), &got.stdout, &got.stderr),
        (bare.status.code(), &bare.stdout, &bare.stderr)
    );
    // The problem is in the log, never on stderr.
    let log = w.root().join("tk.log");
    w.env.push(("TOOLCHAINKIT_LOG".into(), "warn".into()));
    w.env
        .push(("TOOLCHAINKIT_LOG_FILE".into(), log.display().to_string()));
    silent(
        w.cmd(shims.join("gcc"))
            .args(["-c", "a.c"])
            .output()
            .expect("run"),
    );
    let text = String::from_utf8_lossy(&read(&log)).into_owned();
    assert!(text.contains("cannot record stats"), "{text}");
}

#[test]
fn trace_lines_and_chrome_export() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n[stats]\ntrace = true\n");
    w.write("a.c", HELLO_C);
    w.write("b.c", LIB_C);
    for src in ["a.c", "b.c", "a.c"] {
        silent(
            w.cmd(shims.join("gcc"))
                .args(["-c", src, "-DSECRET_TOKEN=hunter2"])
                .output()
                .expect("run"),
        );
    }
    let trace = stats_file(&w).with_extension("trace.jsonl");
    let text = String::from_utf8_lossy(&read(&trace)).into_owned();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0]["source"].as_str(), Some("a.c"));
    assert_eq!(lines[0]["outcome"].as_str(), Some("miss"));
    assert_eq!(lines[2]["outcome"].as_str(), Some("hit.direct.local"));
    assert_eq!(lines[2]["exit"].as_i64(), Some(0));
    assert!(!text.contains("hunter2"), "arguments are not traced");
    let chrome = w.root().join("trace.json");
    ok(w.tk()
        .args(["trace", "--chrome"])
        .arg(&chrome)
        .output()
        .expect("trace"));
    let doc: serde_json::Value = serde_json::from_slice(&read(&chrome)).expect("chrome json");
    let events: Vec<&serde_json::Value> = doc["traceEvents"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["ph"] == "X")
        .collect();
    assert_eq!(events.len(), 3);
    assert!(events[0]["dur"].as_u64().is_some() && events[0]["ts"].as_u64().is_some());
    // The size cap rotates the file.
    w.config("[cache]\ntool = \"none\"\n[stats]\ntrace = true\ntrace_max_mb = 0\n");
    silent(
        w.cmd(shims.join("gcc"))
            .args(["-c", "a.c"])
            .output()
            .expect("run"),
    );
    assert!(trace.with_extension("jsonl.1").is_file(), "rotated");
    assert_eq!(String::from_utf8_lossy(&read(&trace)).lines().count(), 1);
}

#[test]
fn sccache_invocations_are_forwarded_and_its_counters_shown_labelled() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    w.config("[cache]\ntool = \"sccache\"\ndir = \"cache\"\n");
    w.write("a.c", HELLO_C);
    silent(
        w.cmd(shims.join("gcc"))
            .args(["-c", "a.c"])
            .output()
            .expect("run"),
    );
    silent(
        w.cmd(shims.join("gcc"))
            .args(["-c", "a.c"])
            .output()
            .expect("run"),
    );
    let s = w.stats();
    assert_eq!(s["forwarded_tools"]["sccache"].as_u64(), Some(2), "{s}");
    assert_eq!(
        (s["hits"].as_u64(), s["misses"].as_u64()),
        (Some(0), Some(0)),
        "never invented: {s}"
    );
    assert!(s["hit_rate"].is_null());
    assert!(
        s["sccache_server_stats"]["stats"]["compile_requests"].as_u64() == Some(2),
        "{s}"
    );
    let table = String::from_utf8_lossy(&ok(w.tk().arg("stats").output().expect("stats")).stdout)
        .into_owned();
    assert!(table.contains("sccache's own counters"), "{table}");
    assert!(
        table.contains("hit rate:       n/a (sccache reports no per-compile result"),
        "{table}"
    );
    // One miss, then one hit, by sccache's own counters: its hit rate, labelled as its own.
    assert!(
        table.contains("hit rate             50.0 %  (cache_hits / (cache_hits + cache_misses)"),
        "{table}"
    );
}
