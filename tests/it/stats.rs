//! Per-invocation stats: exact under load, crash safe, never in the compile's way.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
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
    exact_totals_under_32_concurrent_processes_with("ccache");
}

/// The same with sccache: per-compile outcomes read from its server's log equal its own
/// counters, with 32 workers compiling the same 16 object names at once.
#[test]
fn exact_totals_under_32_concurrent_processes_sccache() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    exact_totals_under_32_concurrent_processes_with("sccache");
}

fn exact_totals_under_32_concurrent_processes_with(tool: &str) {
    let (w, _shims) = World::with_shims();
    w.config(&format!("[cache]\ntool = \"{tool}\"\ndir = \"cache\"\n"));
    // 16 sources: each worker compiles them (miss first, then hits) and links.
    for i in 0..16 {
        w.write(
            &format!("s{i}.c"),
            format!("int s{i}(int x) {{ return x * {i}; }}\n"),
        );
    }
    w.write("main.c", "int main(void) { return 0; }\n");
    w.test_bare("gcc")
        .args(["-c", "main.c", "-o", "main.o"])
        .run();
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
    let (tool_hits, tool_misses) = if tool == "ccache" {
        let c = w.ccache_counters(&w.work.join("cache/ccache"));
        (
            c["direct_cache_hit"] + c["preprocessed_cache_hit"],
            c["cache_miss"],
        )
    } else {
        let socks = w.sccache_sockets();
        assert_eq!(socks.len(), 1, "{socks:?}");
        let st = w.sccache_stats(&socks[0]);
        (
            sccache_total(&st, "cache_hits"),
            sccache_total(&st, "cache_misses"),
        )
    };
    assert_eq!(s["hits"].as_u64(), Some(tool_hits), "ours vs {tool}'s: {s}");
    assert_eq!(
        s["misses"].as_u64(),
        Some(tool_misses),
        "ours vs {tool}'s: {s}"
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
    let gcc = |args: &[&str]| w.test(shims.join("gcc")).args(args);
    gcc(&["-c", "a.c"]).silent().run();
    gcc(&["-c", "a.c"]).silent().run();
    // Preprocessed hit: direct mode off for one compile of the same source.
    w.test(shims.join("gcc"))
        .env("CCACHE_NODIRECT", "1")
        .args(["-c", "a.c"])
        .silent()
        .run();
    gcc(&["-c", "a.c", "b.c"]).silent().run();
    gcc(&["-E", "b.c"]).run();
    gcc(&["-c", "bad.c"]).status(1).run();
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
    // An undeclared identifier: preprocessing succeeds, the compile fails.
    assert_eq!(reasons["compile_failed"].as_u64(), Some(1), "{s}");
    assert!(reasons["preprocessor_error"].is_null(), "{s}");
    assert_eq!(s["invocations"].as_u64(), Some(6), "{s}");
}

#[test]
fn user_ccache_statslog_keeps_receiving_lines() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (mut w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write("a.c", HELLO_C);
    let user_log = w.root().join("my-statslog");
    w.env
        .push(("CCACHE_STATSLOG".into(), user_log.display().to_string()));
    w.test(shims.join("gcc")).args(["-c", "a.c"]).silent().run();
    w.test(shims.join("gcc")).args(["-c", "a.c"]).silent().run();
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
    let (w, shims) = World::with_shims();
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
    w.test(shims.join("gcc")).args(["-c", "a.c"]).silent().run();
    let s = w.stats();
    assert_eq!(
        (
            s["fallbacks"].as_u64(),
            s["fallback_reasons"]["tool_none"].as_u64()
        ),
        (Some(1), Some(1)),
        "{s}"
    );
    let table = w.toolchainkit().arg("stats").run();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("stats file:")
            && text.contains("fallback.tool_none")
            && text.contains("hit rate:"),
        "{text}"
    );
    let z = w.toolchainkit().args(["stats", "--zero"]).run();
    assert!(String::from_utf8_lossy(&z.stdout).contains("statistics zeroed"));
    assert_eq!(w.stats()["invocations"].as_u64(), Some(0));
}

#[test]
fn configured_stats_file_is_used() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"none\"\n[stats]\nfile = \"my-stats\"\n");
    w.write("a.c", HELLO_C);
    w.test(shims.join("gcc")).args(["-c", "a.c"]).silent().run();
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
    let (w, shims) = World::with_shims();
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
        w.test(shims.join("gcc")).args(["-c", "a.c"]).silent().run();
        let first = w.toolchainkit().arg("stats").run();
        let text = String::from_utf8_lossy(&first.stdout);
        assert!(
            text.contains("notice: the stats file was") && text.contains("invocations:    1"),
            "{text}"
        );
        let again = w.toolchainkit().arg("stats").run();
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
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"none\"\n");
    w.write("a.c", HELLO_C);
    let path = stats_file(&w);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    for foreign in [&b"\x00\x01garbage{"[..], b"", b"export PATH=/usr/bin\n"] {
        fs::write(&path, foreign).expect("plant");
        w.test(shims.join("gcc")).args(["-c", "a.c"]).silent().run();
        assert_eq!(read(&path), foreign, "left exactly as it was");
        let out = w
            .toolchainkit()
            .arg("stats")
            .any_status()
            .stderr_contains("not a toolchainkit stats file")
            .run();
        assert!(!out.status.success(), "{}", describe(&out));
        let text = w.toolchainkit().arg("doctor").any_status().stdout_text();
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

/// Run `cmd` to its end: its exit status, wall time and peak resident memory in KiB (from
/// the kernel's accounting of that one child, `wait4`).
// The child is reaped by `wait4`, which std's `Child` cannot do while keeping the usage.
#[allow(clippy::zombie_processes)]
fn run_measured(mut cmd: std::process::Command) -> (i32, Duration, u64) {
    let t = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, filling the two out-parameters.
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(r, child.id() as i32, "wait4");
    (
        libc::WEXITSTATUS(status),
        t.elapsed(),
        usage.ru_maxrss as u64,
    )
}

/// Issue 19: a 2 GB file at the stats path made every compile take 13.6 s and 2.1 GB of
/// memory (the whole file was read). A file larger than a valid stats file can be is now
/// judged by its header alone: ours (here a real stats file grown to 6 GiB, sparse) is
/// moved aside without being read and counting restarts; the compile stays small and fast.
#[test]
fn a_huge_file_at_the_stats_path_is_not_read_and_counts_recover() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    w.config("[cache]\ntool = \"none\"\n");
    w.write("a.c", HELLO_C);
    let compile = |w: &World| {
        let mut c = w.cmd(shims.join("gcc"));
        c.args(["-c", "a.c"]);
        c
    };
    let (code, _, baseline_kib) = run_measured(compile(&w));
    assert_eq!(code, 0);
    let path = stats_file(&w);
    const HUGE: u64 = 6 << 30;
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open the stats file")
        .set_len(HUGE)
        .expect("grow it sparse");

    let (code, took, kib) = run_measured(compile(&w));
    assert_eq!(code, 0, "the compile succeeds");
    assert!(
        kib < baseline_kib + 16 * 1024,
        "peak memory {kib} KiB against {baseline_kib} KiB with a small file: the file was read"
    );
    assert!(took < Duration::from_secs(5), "the compile took {took:?}");
    let aside: Vec<PathBuf> = fs::read_dir(path.parent().expect("parent"))
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .map(|e| e.path())
        .collect();
    assert_eq!(aside.len(), 1, "moved aside: {aside:?}");
    assert_eq!(fs::metadata(&aside[0]).expect("aside").len(), HUGE);
    assert!(
        fs::metadata(&path).expect("new stats file").len() < 1 << 20,
        "a new, small file"
    );
    let out = w.toolchainkit().arg("stats").run();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("larger than a stats file can be"),
        "the notice says why: {text}"
    );
    let s = w.stats();
    assert_eq!(s["invocations"], 1, "{s}");

    // Somebody else's huge file (not ours from its first byte) is left as it is, unread.
    let _ = fs::remove_file(&aside[0]);
    fs::remove_file(&path).expect("rm");
    fs::File::create(&path)
        .expect("create")
        .set_len(HUGE)
        .expect("sparse");
    let (code, took, kib) = run_measured(compile(&w));
    assert_eq!(code, 0);
    assert!(kib < baseline_kib + 16 * 1024, "peak memory {kib} KiB");
    assert!(took < Duration::from_secs(5), "the compile took {took:?}");
    assert_eq!(fs::metadata(&path).expect("left").len(), HUGE);
    let (code, took, kib) = run_measured({
        let mut c = w.tk();
        c.arg("stats");
        c
    });
    assert_ne!(code, 0, "stats refuses the file");
    assert!(kib < baseline_kib + 16 * 1024 && took < Duration::from_secs(5));
    fs::remove_file(&path).expect("rm");
}

/// Where a writer was when it was killed, judged while it was stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Before its compiler ran (no child, no object): it has recorded nothing.
    Starting,
    /// Its compiler had not been reaped (a child, alive or zombie): nothing recorded.
    Compiling,
    /// Compiler reaped, object written: recording, or about to exit. Its record may or
    /// may not have landed; its line in the trace (written under the lock after the
    /// stats) says it did.
    Recording,
}

/// The children (any state) of process `pid`, from `/proc/PID/task/PID/children`.
fn children(pid: u32) -> Vec<u32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|t| {
            t.split_whitespace()
                .filter_map(|c| c.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Does `pid` hold an flock on the file with inode `ino` (`/proc/locks`)?
fn holds_lock(pid: u32, ino: u64) -> bool {
    fs::read_to_string("/proc/locks").is_ok_and(|t| {
        t.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 5
                && f[1] == "FLOCK"
                && f[4] == pid.to_string()
                && f[5].rsplit(':').next() == Some(&ino.to_string())
        })
    })
}

/// SIGSTOP `pid` and wait until it is stopped (or has exited).
fn stop(pid: u32) {
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(pid as i32, libc::SIGSTOP);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while procs::stat(pid as i32).is_some_and(|(s, _, _)| s != 'T' && s != 'Z') {
        assert!(Instant::now() < deadline, "writer {pid} did not stop");
        std::thread::yield_now();
    }
}

/// xorshift64: the kill instants, reproducible from the seed printed on failure.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Kill the stopped writer `child` and judge it by how it ended: `Ok` killed (where it
/// was, whether it held the lock), `Err` completed (it exited before the stop took).
fn kill_and_judge(
    child: &mut std::process::Child,
    phase: Phase,
    locked: bool,
) -> Result<(u32, Phase, bool), u32> {
    use std::os::unix::process::ExitStatusExt;
    let pid = child.id();
    // SAFETY: signalling our own child, then its process group (its compiler).
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
    }
    let st = child.wait().expect("reap");
    procs::kill_group(pid as i32, libc::SIGKILL);
    if st.signal() == Some(libc::SIGKILL) {
        Ok((pid, phase, locked))
    } else {
        assert!(st.success(), "writer {pid}: {st:?}");
        Err(pid)
    }
}

/// Where the stopped writer `pid`, compiling to `obj`, is.
fn phase_of(pid: u32, obj: &Path) -> Phase {
    if !children(pid).is_empty() {
        Phase::Compiling
    } else if obj.exists() {
        Phase::Recording
    } else {
        Phase::Starting
    }
}

/// Real writers (`toolchainkit gcc -c` compiles recording their outcome), many at once,
/// SIGKILLed at random instants of their lives, and others stepped through theirs and
/// killed while they hold the stats lock or right around it. Each killed writer is first
/// stopped, to see where it was. Meanwhile a reader takes the lock again and again and
/// decodes the file: it must always be readable, never going back. At the end the count
/// is exact: every writer that exited normally is counted, none that died before its
/// compiler was reaped is, and the rest are counted exactly when their trace line says
/// they recorded (a record lands before its trace line, so only a kill between the two
/// can differ: that many are allowed either way).
#[test]
fn sigkill_of_writers_at_any_instant_leaves_a_readable_exact_file() {
    if skip_unless(&[Need::compilers()]) {
        return;
    }
    use fs2::FileExt;
    use std::os::unix::process::CommandExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    let w = World::new();
    w.config("[cache]\ntool = \"none\"\n[stats]\ntrace = true\n");
    w.write("a.c", LIB_C);
    let writer = |name: &str| {
        let mut c = w.tk();
        c.args(["gcc", "-c", "a.c", "-o", name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        c
    };
    // Calibration, and the stats file in its slot format before any kill.
    let mut lives = Vec::new();
    for i in 0..4 {
        let t = Instant::now();
        let st = writer(&format!("c{i}.o")).status().expect("writer");
        assert!(st.success());
        lives.push(t.elapsed());
    }
    lives.sort();
    let life = lives[2].as_micros() as u64;
    let path = stats_file(&w);
    let before = w.stats()["invocations"].as_u64().expect("invocations");
    assert_eq!(before, 4);
    let lock_path = PathBuf::from(format!("{}.lock", path.display()));
    let ino = {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(&lock_path).expect("lock file").ino()
    };
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    const RANDOM: usize = 180;
    /// Stepped writers are started until this many were killed holding the lock.
    const LOCKED_KILLS: usize = 5;
    const STEPPED_MAX: usize = 500;
    const AT_ONCE: usize = 10;
    let done = AtomicBool::new(false);
    let mut results: Vec<Result<(u32, Phase, bool), u32>> = Vec::new();
    let (reads, stepped) = std::thread::scope(|scope| {
        // The reader: under the lock, the file always decodes and never goes back.
        let reader = scope.spawn(|| {
            let lock = fs::File::open(&lock_path).expect("lock file");
            let (mut reads, mut last) = (0u64, 0u64);
            while !done.load(Ordering::SeqCst) {
                lock.lock_exclusive().expect("lock");
                let got = toolchainkit::stats::load(&path);
                FileExt::unlock(&lock).expect("unlock");
                let n = match got {
                    Ok(Some(s)) => s.invocations,
                    other => panic!("read {reads}: the stats file is unreadable: {other:?}"),
                };
                assert!(n >= last, "went back from {last} to {n}");
                last = n;
                reads += 1;
                std::thread::sleep(Duration::from_micros(300));
            }
            reads
        });
        // The stepper: one writer at a time, run for a random moment (up to 300 µs while
        // it compiles, 40 µs once it records), stopped and looked at, until it is seen
        // holding the lock (or, by chance, while recording around it): then killed. As
        // many as it takes to kill LOCKED_KILLS of them holding the lock.
        let stepper = scope.spawn(|| {
            let mut rng = Rng(seed.rotate_left(32) | 1);
            let mut out = Vec::new();
            let mut k = 0;
            while out
                .iter()
                .filter(|r: &&Result<(u32, Phase, bool), u32>| matches!(r, Ok((_, _, true))))
                .count()
                < LOCKED_KILLS
            {
                assert!(
                    k < STEPPED_MAX,
                    "no writer was seen holding the lock in {k} tries"
                );
                k += 1;
                let obj = w.work.join(format!("s{k}.o"));
                let mut child = writer(&format!("s{k}.o")).spawn().expect("spawn");
                let pid = child.id();
                let deadline = Instant::now() + Duration::from_secs(60);
                let mut phase = Phase::Starting;
                let locked = loop {
                    // Long steps while it compiles, short ones once it records.
                    let step = if phase == Phase::Recording { 40 } else { 300 };
                    std::thread::sleep(Duration::from_micros(rng.below(step)));
                    stop(pid);
                    phase = phase_of(pid, &obj);
                    let locked = holds_lock(pid, ino);
                    if !procs::alive(pid as i32)
                        || locked
                        || (phase == Phase::Recording && rng.below(8) == 0)
                        || Instant::now() > deadline
                    {
                        break locked;
                    }
                    // SAFETY: signalling our own child.
                    unsafe {
                        libc::kill(pid as i32, libc::SIGCONT);
                    }
                };
                out.push(kill_and_judge(&mut child, phase, locked));
            }
            out
        });
        // The others, AT_ONCE at a time: killed at a random instant within one and a
        // half typical lives (or completed before).
        let mut rng = Rng(seed);
        let mut running: Vec<(std::process::Child, PathBuf, Instant)> = Vec::new();
        let mut started = 0;
        while started < RANDOM || !running.is_empty() {
            while started < RANDOM && running.len() < AT_ONCE {
                let name = format!("o{started}.o");
                let at = Instant::now() + Duration::from_micros(rng.below(life * 3 / 2));
                running.push((writer(&name).spawn().expect("spawn"), w.work.join(name), at));
                started += 1;
            }
            let mut i = 0;
            while i < running.len() {
                let (child, obj, at) = &mut running[i];
                let pid = child.id();
                if let Some(st) = child.try_wait().expect("wait") {
                    assert!(st.success(), "writer {pid}: {st:?}");
                    results.push(Err(pid));
                } else if Instant::now() >= *at {
                    stop(pid);
                    let (phase, locked) = (phase_of(pid, obj), holds_lock(pid, ino));
                    results.push(kill_and_judge(child, phase, locked));
                } else {
                    i += 1;
                    continue;
                }
                running.swap_remove(i);
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let stepped = stepper.join().expect("stepper");
        done.store(true, Ordering::SeqCst);
        (
            reader.join().expect("the reader saw every state readable"),
            stepped,
        )
    });
    let stepped_count = stepped.len();
    results.extend(stepped);
    let completed: Vec<u32> = results.iter().filter_map(|r| r.err()).collect();
    let killed: Vec<(u32, Phase, bool)> = results.iter().filter_map(|r| r.ok()).collect();

    // The file is ours, intact, and nothing was moved aside or left behind.
    let s = w.stats();
    assert_eq!(s["notices"], serde_json::json!([]), "{s}");
    let stem = path
        .file_stem()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let names: Vec<String> = fs::read_dir(path.parent().expect("dir"))
        .expect("stats dir")
        .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
        .collect();
    for n in &names {
        assert!(
            n.starts_with(&stem) && !n.contains("corrupt") && !n.contains("tmp"),
            "{names:?}"
        );
    }
    // Who recorded, by the trace: each pid at most once.
    let trace = String::from_utf8_lossy(&read(&path.with_extension("trace.jsonl"))).into_owned();
    let mut traced = std::collections::HashMap::new();
    for l in trace.lines() {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(l) {
            *traced
                .entry(v["pid"].as_u64().unwrap_or(0) as u32)
                .or_insert(0) += 1;
        }
    }
    assert!(traced.values().all(|&n| n == 1), "{traced:?}");
    for pid in &completed {
        assert!(
            traced.contains_key(pid),
            "completed writer {pid} not traced"
        );
    }
    for (pid, phase, _) in &killed {
        assert!(
            *phase == Phase::Recording || !traced.contains_key(pid),
            "writer {pid} killed while {phase:?} recorded a line"
        );
    }
    let count = |p: Phase| killed.iter().filter(|k| k.1 == p).count();
    let killed_traced = killed.iter().filter(|k| traced.contains_key(&k.0)).count();
    // Killed while recording without a trace line: recorded or not, undecidable.
    let window = killed
        .iter()
        .filter(|k| k.1 == Phase::Recording && !traced.contains_key(&k.0))
        .count() as u64;
    let got = s["invocations"].as_u64().expect("invocations") - before;
    let low = (completed.len() + killed_traced) as u64;
    let report = format!(
        "seed {seed}: {} writers, {} completed, {} killed (starting {}, compiling {}, \
         recording {}, holding the lock {}), {killed_traced} of them traced, {reads} reads; \
         invocations +{got}",
        results.len(),
        completed.len(),
        killed.len(),
        count(Phase::Starting),
        count(Phase::Compiling),
        count(Phase::Recording),
        killed.iter().filter(|k| k.2).count(),
    );
    assert!(
        (low..=low + window).contains(&got),
        "expected {low}..={}: {report}",
        low + window
    );
    // The test did what it says: kills at many points, in the lock too, and completions.
    // (The kill instants follow lives calibrated before the run; on a loaded machine the
    // writers run faster or slower than that, so the bounds leave room: 40 of 180 killed
    // while compiling was seen with 161 completions.)
    assert_eq!(results.len(), RANDOM + stepped_count, "{report}");
    assert!(
        count(Phase::Compiling) >= RANDOM / 10 && completed.len() >= RANDOM / 8,
        "{report}"
    );
    assert!(
        killed.iter().filter(|k| k.2).count() >= LOCKED_KILLS,
        "{report}"
    );
    assert!(reads > 10, "{report}");
    eprintln!("{report}");
}

/// A lock held by another process for longer than the bounded wait: the compile goes on
/// and its record goes through the side file. The lock is held in this process (fs2, as
/// toolchainkit takes it), so nothing is left running whatever happens.
#[test]
fn a_lock_held_too_long_never_hangs_the_compile() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    use fs2::FileExt;
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"none\"\n");
    w.write("a.c", HELLO_C);
    w.test(shims.join("gcc")).args(["-c", "a.c"]).silent().run();
    let path = stats_file(&w);
    let lock = fs::File::open(format!("{}.lock", path.display())).expect("lock file");
    lock.lock_exclusive().expect("hold the lock");
    let start = Instant::now();
    w.test(shims.join("gcc"))
        .args(["-c", "a.c", "-o", "late.o"])
        .silent()
        .run();
    let waited = start.elapsed();
    assert!(w.work.join("late.o").is_file());
    FileExt::unlock(&lock).expect("unlock");
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
    let (mut w, shims) = World::with_shims();
    w.write("blocker", "not a directory");
    w.config(
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n[stats]\nfile = \"blocker/stats.json\"\n",
    );
    w.write("a.c", HELLO_C);
    w.write("bad.c", "int f(void) { return nope; }\n");
    w.test(shims.join("gcc")).args(["-c", "a.c"]).silent().run();
    let bare = w.test_bare("gcc").args(["-c", "bad.c"]).any_status().run();
    let got = w
        .test(shims.join("gcc"))
        .args(["-c", "bad.c"])
        .any_status()
        .run();
    assert_eq!(
        (got.status.code(), &got.stdout, &got.stderr),
        (bare.status.code(), &bare.stdout, &bare.stderr)
    );
    // The problem is in the log, never on stderr.
    let log = w.root().join("tk.log");
    w.env.push(("TOOLCHAINKIT_LOG".into(), "warn".into()));
    w.env
        .push(("TOOLCHAINKIT_LOG_FILE".into(), log.display().to_string()));
    w.test(shims.join("gcc")).args(["-c", "a.c"]).silent().run();
    let text = String::from_utf8_lossy(&read(&log)).into_owned();
    assert!(text.contains("cannot record stats"), "{text}");
}

#[test]
fn trace_lines_and_chrome_export() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n[stats]\ntrace = true\n");
    w.write("a.c", HELLO_C);
    w.write("b.c", LIB_C);
    for src in ["a.c", "b.c", "a.c"] {
        w.test(shims.join("gcc"))
            .args(["-c", src, "-DSECRET_TOKEN=hunter2"])
            .silent()
            .run();
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
    w.toolchainkit()
        .args(["trace", "--chrome"])
        .arg(&chrome)
        .run();
    let doc: serde_json::Value = serde_json::from_slice(&read(&chrome)).expect("chrome json");
    let events: Vec<&serde_json::Value> = doc["traceEvents"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["ph"] == "X")
        .collect();
    assert_eq!(events.len(), 3);
    assert!(events[0]["dur"].as_u64().is_some() && events[0]["ts"].as_u64().is_some());
    // The size cap rotates the file (a cap of 0 is refused: 1 MiB is the smallest).
    w.config("[cache]\ntool = \"none\"\n[stats]\ntrace = true\ntrace_max_mb = 1\n");
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&trace)
        .expect("trace");
    std::io::Write::write_all(&mut f, &vec![b'#'; 1024 * 1024]).expect("pad");
    std::io::Write::write_all(&mut f, b"\n").expect("pad");
    drop(f);
    w.test(shims.join("gcc")).args(["-c", "a.c"]).silent().run();
    assert!(trace.with_extension("jsonl.1").is_file(), "rotated");
    assert_eq!(String::from_utf8_lossy(&read(&trace)).lines().count(), 1);
}

#[test]
fn sccache_outcomes_per_compile_and_its_own_counters_beside_them() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"sccache\"\ndir = \"cache\"\n");
    w.write("a.c", HELLO_C);
    w.write("bad.c", "int f(void) { return nope; }\n");
    w.write("nohdr.c", "#include \"missing.h\"\n");
    for _ in 0..2 {
        w.test(shims.join("gcc")).args(["-c", "a.c"]).silent().run();
    }
    w.test(shims.join("gcc"))
        .args(["-c", "a.c", "-o", "nc.o"])
        .env("SCCACHE_NO_CACHE", "1")
        .silent()
        .run();
    for (src, code) in [("bad.c", 1), ("nohdr.c", 1)] {
        w.test(shims.join("gcc"))
            .args(["-c", src])
            .status(code)
            .run();
    }
    w.test(shims.join("gcc")).args(["-E", "a.c"]).run();
    let s = w.stats();
    assert_eq!(
        (s["hits"].as_u64(), s["misses"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    assert_eq!(s["hit_rate"].as_f64(), Some(50.0), "{s}");
    let reasons = &s["uncacheable_reasons"];
    assert_eq!(reasons["disabled_by_env"].as_u64(), Some(1), "{s}");
    assert_eq!(reasons["compile_failed"].as_u64(), Some(1), "{s}");
    assert_eq!(reasons["preprocessor_error"].as_u64(), Some(1), "{s}");
    assert_eq!(reasons["called_for_preprocessing"].as_u64(), Some(1), "{s}");
    assert_eq!(s["forwarded"].as_u64(), Some(0), "{s}");
    assert_eq!(s["invocations"].as_u64(), Some(6), "{s}");
    // sccache's own counters agree.
    let st = &s["sccache_server_stats"];
    assert_eq!(sccache_total(st, "cache_hits"), 1, "{s}");
    assert_eq!(sccache_total(st, "cache_misses"), 1, "{s}");
    let table = String::from_utf8_lossy(&w.toolchainkit().arg("stats").run().stdout).into_owned();
    assert!(
        table.contains("hit rate:       50.0 %  (1 hits, 1 misses)")
            && table.contains("hit.sccache")
            && table.contains("sccache's own counters"),
        "reads like the ccache table: {table}"
    );
}
