//! Faults found by real builds and adversarial tests: closed standard descriptors,
//! signals while no child runs, tools disabled by the user's own variables, introspection
//! output, non-UTF-8 source names. Each test is named after what it regresses.

use crate::common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

fn world(tool: &str) -> (World, PathBuf) {
    let (w, shims) = World::with_shims();
    w.config(&format!("[cache]\ntool = \"{tool}\"\ndir = \"cache\"\n"));
    (w, shims)
}

/// A source whose preprocessed output is far larger than a pipe's buffer.
fn big_source(w: &World) {
    let mut s = String::from("int x0;\n");
    for i in 1..20_000 {
        s.push_str(&format!("int x{i} = {i};\n"));
    }
    w.write("big.c", s);
}

/// Issue: the binary starts at C `main`, so closed descriptors 0-2 stayed closed; with 0
/// and 1 closed ccache's stats-log pipe became descriptor 1, the compiler's output went
/// into it and the compile hung. Each of 0/1/2 closed and all three, both tools, both
/// modes: the outcome is the bare compiler's, promptly.
#[test]
fn closed_standard_descriptors_never_hang_and_match_the_bare_compiler() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("sh", "dash"),
    ]) {
        return;
    }
    for tool in ["ccache", "sccache"] {
        let (w, shims) = world(tool);
        w.write("a.c", LIB_C);
        big_source(&w);
        for close in ["<&-", ">&-", "2>&-", "<&- >&-", "<&- >&- 2>&-"] {
            for args in [&["-c", "a.c", "-o", "a.o"][..], &["-E", "big.c"]] {
                let script = format!("exec \"$@\" {close}");
                // A hang fails the test after a minute (the builder kills the group).
                let run = |t: Test| t.any_status().timeout(Duration::from_secs(60)).run();
                let want = run(w
                    .test_bare("sh")
                    .args(["-c", &script, "sh", "gcc"])
                    .args(args));
                for launcher in [false, true] {
                    let mut t = w.test("sh").args(["-c", &script, "sh"]);
                    t = if launcher {
                        t.arg(bin()).arg("gcc")
                    } else {
                        t.arg(shims.join("gcc"))
                    };
                    let got = run(t.args(args));
                    let ctx = format!("{tool} {close} {args:?} launcher={launcher}");
                    assert_eq!(
                        got.status.code(),
                        want.status.code(),
                        "{ctx}: exit code\n{}",
                        describe(&got)
                    );
                    assert_eq!(got.stdout, want.stdout, "{ctx}: stdout");
                    assert_eq!(
                        String::from_utf8_lossy(&got.stderr),
                        String::from_utf8_lossy(&want.stderr),
                        "{ctx}: stderr"
                    );
                }
            }
        }
    }
}

fn socket_of(w: &World) -> PathBuf {
    let out = w
        .toolchainkit()
        .args(["server", "status"])
        .status(1)
        .stderr("")
        .run();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    PathBuf::from(
        text.split("would use ")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .unwrap_or_else(|| panic!("no socket: {}", describe(&out))),
    )
}

/// Issue: SIGINT and SIGTERM were stored while no child ran (waiting for the sccache start
/// lock held by another process) and only killed the fallback compiler a minute later.
/// A signal with no child must end the shim promptly, as that signal.
#[test]
fn a_signal_while_no_child_runs_ends_the_shim_promptly() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("sh", "dash"),
    ]) {
        return;
    }
    use fs2::FileExt;
    let (w, shims) = world("sccache");
    w.write("a.c", LIB_C);
    let sock = socket_of(&w);
    fs::create_dir_all(sock.parent().expect("dir")).expect("mkdir");
    let lock = fs::File::create(sock.with_extension("lock")).expect("lock file");
    lock.lock_exclusive().expect("hold the start lock");
    let lock_path = sock.with_extension("lock");
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let running = w
            .test_shim(&shims, "cc")
            .args(["-c", "a.c", "-o", "a.o"])
            .signal(sig)
            .stdout("")
            .stderr("")
            .timeout(Duration::from_secs(60))
            .spawn();
        let pid = running.id();
        // It waits for the start lock once it has the lock file open.
        wait_until(
            "the shim opens the start lock",
            Duration::from_secs(30),
            || has_open(pid, &lock_path),
        );
        let sent = Instant::now();
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(pid as i32, sig);
        }
        running.finish();
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "signal {sig} ignored while waiting for the lock: {:?}",
            sent.elapsed()
        );
    }
    FileExt::unlock(&lock).expect("unlock");
}

/// A signal the build system set to be ignored stays ignored, for the shim and for the
/// compiler, as without the shim: SIGINT arrives while the compiler runs.
#[test]
fn an_ignored_signal_stays_ignored() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("sh", "dash"),
    ]) {
        return;
    }
    let (w, _shims) = world("none");
    let fake = w.root().join("fake/gcc");
    let (started, go) = (w.root().join("started"), w.root().join("go"));
    w.script(
        &fake,
        &format!(
            "#!/bin/sh\n: > {}\nwhile [ ! -e {} ]; do sleep 0.01; done\necho done\n",
            started.display(),
            go.display()
        ),
    );
    let running = w
        .test("sh")
        .args(["-c", "trap '' INT; exec \"$@\"", "sh"])
        .arg(bin())
        .arg(&fake)
        .args(["-c", "x.c"])
        .stdout("done\n")
        .stderr("")
        .timeout(Duration::from_secs(60))
        .spawn();
    wait_until("the compiler starts", Duration::from_secs(30), || {
        started.exists()
    });
    // SAFETY: signalling our own child (the shim: sh exec'd it).
    unsafe {
        libc::kill(running.id() as i32, libc::SIGINT);
    }
    fs::write(&go, "").expect("go");
    running.finish();
}

/// A fake `gcc` that counts its runs and fails or succeeds as told.
fn counting_gcc(w: &World, fail: bool) -> (PathBuf, PathBuf) {
    let count = w.root().join("runs");
    let _ = fs::remove_file(&count);
    let gcc = w
        .root()
        .join(if fail { "failing" } else { "working" })
        .join("gcc");
    let body = if fail {
        "echo 'x.c:1: error: nope' >&2\nexit 1\n"
    } else {
        ": > x.o\nexit 0\n"
    };
    w.script(
        &gcc,
        &format!("#!/bin/sh\necho run >> {}\n{body}", count.display()),
    );
    (gcc, count)
}

fn runs(count: &Path) -> usize {
    fs::read_to_string(count).map_or(0, |t| t.lines().count())
}

/// Issue: with `CCACHE_DISABLE=1` (meson sets it for configure checks) a failing compile
/// ran twice and was counted as `fallback.ccache_failed`, a successful one as
/// `error.no_result_recorded`. Also `disable = true` in ccache's own configuration.
#[test]
fn a_disabled_ccache_never_runs_a_compile_twice() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("sh", "dash"),
    ]) {
        return;
    }
    let (mut w, _) = world("ccache");
    w.write("x.c", LIB_C);
    for fail in [true, false] {
        let (gcc, count) = counting_gcc(&w, fail);
        w.env = vec![("CCACHE_DISABLE".into(), "1".into())];
        let out = w
            .toolchainkit()
            .arg(&gcc)
            .args(["-c", "x.c"])
            .status(i32::from(fail))
            .run();
        assert_eq!(runs(&count), 1, "compiled once");
        if fail {
            assert_eq!(
                String::from_utf8_lossy(&out.stderr)
                    .matches("error: nope")
                    .count(),
                1
            );
        }
    }
    let s = w.stats();
    assert_eq!(
        s["uncacheable_reasons"]["disabled_by_env"].as_u64(),
        Some(2),
        "{s}"
    );
    // ccache.conf says disable = true: ccache runs the compiler itself, records nothing.
    w.env.clear();
    w.write("cache/ccache/ccache.conf", "disable = true\n");
    for fail in [true, false] {
        let (gcc, count) = counting_gcc(&w, fail);
        w.toolchainkit()
            .arg(&gcc)
            .args(["-c", "x.c"])
            .status(i32::from(fail))
            .run();
        assert_eq!(runs(&count), 1, "compiled once");
    }
    let s = w.stats();
    assert_eq!(
        s["uncacheable_reasons"]["disabled_by_ccache_conf"].as_u64(),
        Some(2),
        "{s}"
    );
    assert_eq!(s["fallbacks"].as_u64(), Some(0), "{s}");
    assert_eq!(s["errors"].as_u64(), Some(0), "{s}");
}

/// Replace gcc's temporary file names (`/tmp/ccAbCdEf.s`) so two runs compare.
fn normalize(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let mut out = String::new();
    let mut rest: &str = &text;
    while let Some(i) = rest.find("/cc") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let n = rest
            .char_indices()
            .take_while(|(_, c)| c.is_ascii_alphanumeric())
            .count();
        if n == 6 {
            out.push_str("XXXXXX");
            rest = &rest[6..];
        }
    }
    out.push_str(rest);
    out
}

/// Issue: ccache alters `-v` compiles (adds `-fdiagnostics-color=always`, reorders
/// arguments), and CMake's compiler ABI probe parses exactly that stderr. Introspection
/// runs the real compiler directly: stderr equals the bare compiler's, both tools, both
/// modes.
#[test]
fn verbose_and_introspection_output_is_the_bare_compilers() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("sh", "dash"),
    ]) {
        return;
    }
    for tool in ["ccache", "sccache"] {
        let (w, shims) = world(tool);
        w.write("x.c", LIB_C);
        for args in [
            &["-v", "-c", "x.c", "-o", "x.o"][..],
            &["-###", "-c", "x.c", "-o", "x.o"],
            &["-print-prog-name=cc1"],
            &["-dumpmachine"],
        ] {
            let want = w.test_bare("cc").args(args).any_status().run();
            for launcher in [false, true] {
                let got = if launcher {
                    w.toolchainkit().arg("cc").args(args)
                } else {
                    w.test_shim(&shims, "cc").args(args)
                }
                .any_status()
                .run();
                assert_eq!(got.status.code(), want.status.code(), "{args:?}");
                assert_eq!(
                    normalize(&got.stderr),
                    normalize(&want.stderr),
                    "{tool} {args:?} launcher={launcher}"
                );
                assert_eq!(got.stdout, want.stdout, "{tool} {args:?}");
            }
        }
        let s = w.stats();
        assert_eq!(
            s["uncacheable_reasons"]["introspection"].as_u64(),
            Some(8),
            "{s}"
        );
    }
}

/// Issue: a non-UTF-8 source name through ccache was counted `error.no_result_recorded`
/// and the user's own `CCACHE_STATSLOG` got no line.
#[test]
fn a_non_utf8_source_name_through_ccache_is_counted_and_logged() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("sh", "dash"),
    ]) {
        return;
    }
    use std::os::unix::ffi::OsStrExt;
    let (mut w, shims) = world("ccache");
    let name = std::ffi::OsStr::from_bytes(b"a\xff.c");
    fs::write(w.work.join(name), LIB_C).expect("write");
    let user_log = w.root().join("user.statslog");
    w.env
        .push(("CCACHE_STATSLOG".into(), user_log.display().to_string()));
    for _ in 0..2 {
        w.test_shim(&shims, "cc")
            .arg("-c")
            .arg(name)
            .args(["-o", "a.o"])
            .silent()
            .run();
    }
    let s = w.stats();
    assert_eq!(
        (s["misses"].as_u64(), s["hits"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    let log = read(&user_log);
    assert_eq!(
        log.windows(4).filter(|w| *w == b"# a\xff").count(),
        2,
        "{}",
        String::from_utf8_lossy(&log)
    );
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&user_log)
        .expect("log");
    f.write_all(b"").expect("still a normal file");
}

/// Issue: `stats.file = "/tmp"` created `/tmp.lock` at `/`; empty paths, `size_gb = 1e300`,
/// `trace_max_mb = 0` and `redis://127.0.0.1:99999` were accepted. Each is refused with
/// exit 78 naming the file, line and key, and nothing is created.
#[test]
fn bad_values_are_refused_with_file_line_and_key() {
    if skip_unless(&[Need::compilers()]) {
        return;
    }
    let (w, shims) = world("none");
    w.write("a.c", LIB_C);
    let dir = w.root().join("a-directory");
    fs::create_dir_all(&dir).expect("mkdir");
    let cases = [
        (
            format!("[stats]\nfile = \"{}\"\n", dir.display()),
            ":2:",
            "`stats.file`",
        ),
        ("[stats]\nfile = \"\"\n".to_string(), ":2:", "`stats.file`"),
        ("[cache]\ndir = \"\"\n".to_string(), ":2:", "`cache.dir`"),
        (
            "[cache]\nsize_gb = 1e300\n".to_string(),
            ":2:",
            "`cache.size_gb`",
        ),
        (
            "[stats]\ntrace_max_mb = 0\n".to_string(),
            ":2:",
            "`stats.trace_max_mb`",
        ),
        (
            "[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:99999\"\n"
                .to_string(),
            ":3:",
            "`cache.remote.endpoint`",
        ),
        ("[cach]\ntool = \"ccache\"\n".to_string(), ":1:", "`cach`"),
        ("cache.tol = 1\n".to_string(), ":1:", "`cache.tol`"),
        ("[cache]\ntool = 1\n".to_string(), ":2:", "`cache.tool`"),
        (
            "[cache.remote]\nendpoint = \"redis://h\"\n".to_string(),
            ":1:",
            "`cache.remote.type`",
        ),
    ];
    for (text, line, key) in &cases {
        w.config(text);
        let out = w
            .test_shim(&shims, "cc")
            .args(["-c", "a.c"])
            .status(78)
            .run();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(".toolchainkit.toml")
                && err.contains(line)
                && err.contains(key)
                && err.contains("hint: "),
            "{text}\n{err}"
        );
        assert!(
            !err.contains("variant") && !err.contains("untagged"),
            "{err}"
        );
    }
    let mut lock = dir.into_os_string();
    lock.push(".lock");
    assert!(
        !Path::new(&lock).exists(),
        "nothing created next to a directory"
    );
    // `config check` lists every problem of a file, not the first.
    w.config("[cach]\n[cache]\ntool = 1\nsize_gb = 0\n[stats]\ntrace_max_mb = 0\nfile = \"\"\n");
    let v = w
        .toolchainkit()
        .args(["config", "check", "--json"])
        .any_status()
        .json();
    let keys: Vec<&str> = v["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["key"].as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "cach",
            "cache.tool",
            "cache.size_gb",
            "stats.trace_max_mb",
            "stats.file"
        ],
        "{v}"
    );
}

/// Issue: a FIFO as the stats file hung the compile forever (holding the lock), and
/// `stats`, `doctor` and `stats --zero` hung too. Nothing blocks on a file that is not a
/// regular file: the compile succeeds promptly and the commands say what is wrong.
#[test]
fn a_fifo_where_a_stats_file_belongs_never_hangs_anything() {
    if skip_unless(&[Need::compilers()]) {
        return;
    }
    for (what, suffix) in [
        ("stats file", ""),
        ("lock", ".lock"),
        ("trace", ".trace.jsonl"),
    ] {
        let (w, shims) = world("none");
        w.config("[cache]\ntool = \"none\"\n\n[stats]\nfile = \"s.stats\"\ntrace = true\n");
        w.write("a.c", LIB_C);
        let fifo = w.work.join(if suffix == ".trace.jsonl" {
            "s.trace.jsonl".to_string()
        } else {
            format!("s.stats{suffix}")
        });
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a valid path; mkfifo reports failure in its result.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let limit = Duration::from_secs(20);
        w.test_shim(&shims, "cc")
            .args(["-c", "a.c", "-o", "a.o"])
            .timeout(limit)
            .silent()
            .run();
        for args in [&["stats"][..], &["stats", "--zero"], &["doctor"]] {
            let out = w
                .toolchainkit()
                .args(args)
                .any_status()
                .timeout(limit)
                .run();
            if suffix.is_empty() || suffix == ".lock" {
                assert!(!out.status.success(), "{what} {args:?}: {}", describe(&out));
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(
                    text.contains("not a regular file"),
                    "{what} {args:?}: {text}"
                );
            }
        }
    }
}

/// Issue: closing every descriptor in the sccache server's `pre_exec` also closed std's
/// exec-error pipe, so a binary that cannot be executed came back as "killed by signal
/// 6". Now the real error is reported (in the log), and the compile still succeeds.
#[test]
fn an_unexecutable_sccache_reports_its_exec_error() {
    if skip_unless(&[Need::compilers()]) {
        return;
    }
    let (mut w, shims) = world("sccache");
    w.write("a.c", LIB_C);
    // A real program whose ELF interpreter does not exist: exec fails with ENOENT.
    let broken = w.root().join("broken/sccache");
    fs::create_dir_all(broken.parent().expect("dir")).expect("mkdir");
    w.write("main.c", "int main(void) { return 0; }\n");
    w.test_bare("gcc")
        .args(["main.c", "-Wl,--dynamic-linker=/nonexistent/ld.so", "-o"])
        .arg(&broken)
        .run();
    let log = w.root().join("tk.log");
    w.env = vec![
        (
            "TOOLCHAINKIT_SCCACHE_PATH".into(),
            broken.display().to_string(),
        ),
        ("TOOLCHAINKIT_LOG".into(), "debug".into()),
        ("TOOLCHAINKIT_LOG_FILE".into(), log.display().to_string()),
    ];
    w.test_shim(&shims, "cc")
        .args(["-c", "a.c", "-o", "a.o"])
        .silent()
        .run();
    let text = String::from_utf8_lossy(&read(&log)).into_owned();
    assert!(text.contains("No such file or directory"), "{text}");
    assert!(!text.contains("signal"), "{text}");
    let s = w.stats();
    assert_eq!(
        s["fallback_reasons"]["sccache_server_unavailable"].as_u64(),
        Some(1),
        "{s}"
    );
}

/// Issue: a writer that timed out on the stats lock appended to the side file without a
/// lock while the lock holder read it and then deleted it: records could be lost. Forced
/// here: a lock wait of 1 ms makes most of 32 concurrent writers take the side file while
/// others fold it; every invocation is counted.
#[test]
fn the_side_file_hand_off_loses_no_record_under_32_way_contention() {
    let (mut w, shims) = world("none");
    w.env
        .push(("TOOLCHAINKIT_STATS_LOCK_WAIT_MS".into(), "1".into()));
    // A compiler that does nothing, so the stats record is the contended part.
    let fake = w.root().join("fake/cc");
    w.script(&fake, "#!/bin/sh\nexit 0\n");
    const WORKERS: usize = 32;
    const EACH: usize = 25;
    let script = format!(
        "i=0; while [ $i -lt {EACH} ]; do \"$0\" \"$1\" -c x.c || exit 1; i=$((i+1)); done"
    );
    // Hold the lock for the first part of the run: every writer meanwhile takes the side
    // file; after it is released, writers fold the side file while others still append.
    let stats = PathBuf::from(w.stats()["file"].as_str().expect("file"));
    let mut lock_name = stats.into_os_string();
    lock_name.push(".lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_name)
        .expect("lock file");
    fs2::FileExt::lock_exclusive(&lock).expect("hold the lock");
    let children: Vec<_> = (0..WORKERS)
        .map(|_| {
            w.cmd("sh")
                .args(["-c", &script])
                .arg(bin())
                .arg(&fake)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    fs2::FileExt::unlock(&lock).expect("release");
    for c in children {
        silent(c.wait_with_output().expect("worker"));
    }
    // `stats` folds what is still in the side file.
    let s = w.stats();
    assert_eq!(
        s["invocations"].as_u64(),
        Some((WORKERS * EACH) as u64),
        "{s}"
    );
    assert!(
        s["late_records"].as_u64().unwrap_or(0) > 0,
        "the side file was used: {s}"
    );
    let _ = shims;
}

/// A file system mounted for one test (tmpfs of a given size), unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        fs::create_dir_all(dir).expect("mkdir");
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(dir.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Issue: on a full stats file system each compile left a `…stats.tmp.PID` file behind and
/// `doctor` said ok. The compile still succeeds, nothing is left, and doctor says why
/// nothing is counted.
#[test]
fn a_full_stats_file_system_leaves_nothing_behind_and_doctor_says_so() {
    if skip_unless(&[Need::root(), Need::compilers()]) {
        return;
    }
    let (w, shims) = world("none");
    let full = w.root().join("full");
    let Some(_mount) = Mount::tmpfs(&full, "64k") else {
        assert!(!strict(), "cannot mount a tmpfs for the test");
        return;
    };
    // Fill it.
    let mut f = fs::File::create(full.join("filler")).expect("filler");
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    drop(f);
    w.config(&format!(
        "[cache]\ntool = \"none\"\n\n[stats]\nfile = \"{}\"\n",
        full.join("s.stats").display()
    ));
    w.write("a.c", LIB_C);
    for _ in 0..3 {
        w.test_shim(&shims, "cc")
            .args(["-c", "a.c", "-o", "a.o"])
            .silent()
            .run();
    }
    let left: Vec<String> = fs::read_dir(&full)
        .expect("list")
        .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
        .filter(|n| n != "filler" && n != "s.stats.lock")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let out = w.toolchainkit().arg("doctor").any_status().run();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("problem") && l.contains("No space left on device")),
        "{text}"
    );
}

/// Issue: the runtime directory accumulated the sockets of servers that had exited. A
/// server start sweeps the stale ones (and their logs and records), never a live one.
#[test]
fn stale_sockets_are_swept_when_a_server_starts() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, shims) = world("sccache");
    w.write("a.c", LIB_C);
    w.test_shim(&shims, "cc")
        .args(["-c", "a.c", "-o", "a.o"])
        .silent()
        .run();
    let first = w.sccache_sockets();
    assert_eq!(first.len(), 1, "{first:?}");
    let sock = first[0].clone();
    // Kill that server hard: its socket file stays behind.
    let want = format!("SCCACHE_SERVER_UDS={}", sock.display());
    let mut killed = 0;
    for e in fs::read_dir("/proc").expect("proc").filter_map(Result::ok) {
        let Ok(env) = fs::read(e.path().join("environ")) else {
            continue;
        };
        if env.split(|&b| b == 0).any(|v| v == want.as_bytes())
            && let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<i32>().ok())
        {
            // SAFETY: signalling a process this test started.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            killed += 1;
        }
    }
    assert!(killed >= 1, "no server found for {}", sock.display());
    wait_until("the server is gone", Duration::from_secs(10), || {
        std::os::unix::net::UnixStream::connect(&sock).is_err()
    });
    assert!(sock.exists(), "the dead server's socket stays until swept");
    // Another configuration starts another server: the dead one's files go.
    w.config("[cache]\ntool = \"sccache\"\ndir = \"cache\"\nsize_gb = 2\n");
    w.test_shim(&shims, "cc")
        .args(["-c", "a.c", "-o", "a.o"])
        .silent()
        .run();
    assert!(!sock.exists(), "stale socket swept");
    assert!(!sock.with_extension("log").exists(), "its log swept");
    assert!(!sock.with_extension("info").exists(), "its record swept");
    let now = w.sccache_sockets();
    assert_eq!(now.len(), 1, "{now:?}");
    assert!(std::os::unix::net::UnixStream::connect(&now[0]).is_ok());
}

/// Unmounts a bind mount when dropped, even when the test fails.
struct BindMount(PathBuf);

impl BindMount {
    /// `dir` bind-mounted on itself, read-only (root only).
    fn read_only(dir: &Path) -> BindMount {
        let run = |args: &[&str]| {
            Test::new(std::process::Command::new("mount"), dir)
                .args(args)
                .arg(dir)
                .arg(dir)
                .run();
        };
        run(&["--bind"]);
        let m = BindMount(dir.to_path_buf());
        run(&["-o", "remount,bind,ro"]);
        m
    }
}

impl Drop for BindMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Issue 26.1: a read-only cache directory (a real read-only bind mount) makes ccache
/// fail on its own; off a terminal its message is hidden so the compile's output stays
/// exact, and the real cause (`Read-only file system`) now reaches `stats`, `stats
/// --json`, the `--since-mark` lines, `doctor` and the default log. Healthy compiles
/// before it wrote no log at all.
#[test]
fn a_read_only_cache_dir_names_its_cause_in_stats_since_mark_doctor_and_the_log() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::root(),
        Need::program("mount", "mount"),
    ]) {
        return;
    }
    let (w, shims) = world("ccache");
    w.write("a.c", "int a(void) { return 1; }\n");
    w.write("b.c", "int b(void) { return 2; }\n");
    let log = w.root().join("state/toolchainkit/toolchainkit.log");
    w.test_shim(&shims, "cc").args(["-c", "a.c"]).silent().run();
    w.test_shim(&shims, "cc").args(["-c", "a.c"]).silent().run();
    assert_eq!(w.stats()["hits"], 1);
    assert!(!log.exists(), "a healthy miss and hit log nothing");
    w.toolchainkit().args(["stats", "--mark"]).run();
    // A cache directory ccache has not set up yet, read-only (as on a CI runner with a
    // read-only cache volume).
    w.config("[cache]\ntool = \"ccache\"\ndir = \"rocache\"\n");
    let cache = w.work.join("rocache/ccache");
    fs::create_dir_all(&cache).expect("mkdir");
    let mount = BindMount::read_only(&cache);
    w.test_shim(&shims, "cc").args(["-c", "b.c"]).silent().run();
    let bare = w.test_bare("cc").args(["-c", "b.c", "-o", "bare.o"]).run();
    assert!(bare.status.success());
    assert_eq!(read(&w.work.join("b.o")), read(&w.work.join("bare.o")));
    let text = w.toolchainkit().arg("stats").stderr("").stdout_text();
    let j = w.stats();
    let line = w
        .toolchainkit()
        .args(["stats", "--since-mark"])
        .stdout_text();
    let doc = w.toolchainkit().arg("doctor").any_status().stdout_text();
    drop(mount);
    let cause = "Read-only file system";
    assert!(
        text.contains(
            "notice: compiles ran degraded: fallback.ccache_failed: ccache failed on its own"
        ) && text.contains(cause),
        "{text}"
    );
    assert_eq!(j["fallback_reasons"]["ccache_failed"], 1, "{j}");
    assert_eq!(j["degraded"][0]["kind"], "fallback.ccache_failed", "{j}");
    assert!(j["degraded"][0]["cause"].to_string().contains(cause), "{j}");
    assert!(j["notices"].to_string().contains(cause), "{j}");
    assert!(
        line.contains("1 fallback")
            && line.contains("toolchainkit: degraded: fallback.ccache_failed: ")
            && line.contains(cause),
        "{line}"
    );
    assert!(
        doc.lines()
            .any(|l| l.starts_with("warning") && l.contains("stats.degraded") && l.contains(cause)),
        "{doc}"
    );
    let logged = fs::read_to_string(&log).expect("the default log");
    assert!(logged.contains(cause), "{logged}");
}
