//! sccache as a first-class backend: the native client against the sccache client and
//! the bare compiler (bytes, exit codes, signals, colour on a pty and off it), faults
//! (servers killed between and during compiles, a stale socket, a version off the
//! allowlist, sccache's own fatal errors), and credentials kept out of compile requests
//! and the server's log. Real gcc, real sccache servers started by the shim.

use crate::common;
use crate::servers;

use std::fs;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

const WARN_C: &str = "int f(int x) { int unused; return x; }\n#warning from the preprocessor\n";
const BAD_C: &str = "int g(void) { return nope; }\n";

/// A world with shims, `tool = "sccache"` and a project cache dir.
fn sccache_world() -> (World, PathBuf) {
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"sccache\"\ndir = \"cache\"\n");
    (w, shims)
}

/// `toolchainkit gcc ARGS` with the given client.
fn tk_gcc(w: &World, client: &str, args: &[&str]) -> Command {
    let mut c = w.tk();
    c.arg("gcc")
        .args(args)
        .env("TOOLCHAINKIT_SCCACHE_CLIENT", client);
    c
}

/// `toolchainkit gcc ARGS` with the given sccache client, as a checked command.
fn compile(w: &World, client: &str, args: &[&str]) -> Test {
    w.toolchainkit()
        .arg("gcc")
        .args(args)
        .env("TOOLCHAINKIT_SCCACHE_CLIENT", client)
}

/// The sccache client itself on the shim's server: `sccache /usr/bin/gcc ARGS`.
fn bare_sccache(w: &World, args: &[&str]) -> Command {
    let socks = w.sccache_sockets();
    assert_eq!(socks.len(), 1, "{socks:?}");
    let mut c = w.cmd(sccache());
    c.arg("/usr/bin/gcc")
        .args(args)
        .env("SCCACHE_SERVER_UDS", &socks[0])
        .env("SCCACHE_DIR", w.work.join("cache/sccache"));
    c
}

// Raw: the same commands also run on a pty (`on_pty`) or after a `pre_exec` fchdir.
fn output(mut c: Command) -> Output {
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run")
}

/// The pid of the sccache server listening on `sock` (found by its environment).
fn server_pid(sock: &Path) -> Option<i32> {
    let want = format!("SCCACHE_SERVER_UDS={}", sock.display());
    for e in fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let comm = fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        if comm.trim() != "sccache" {
            continue;
        }
        let env = fs::read(e.path().join("environ")).unwrap_or_default();
        if env.split(|&b| b == 0).any(|kv| kv == want.as_bytes()) {
            return Some(pid);
        }
    }
    None
}

/// SIGKILL the server on `sock` and wait until it is gone.
fn kill_server(sock: &Path) {
    let pid = server_pid(sock).expect("the server's pid");
    // SAFETY: signalling a process this test's shim started.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run `cmd` with stdout and stderr on a new pty; return its status and what the pty
/// showed.
fn on_pty(mut cmd: Command) -> (std::process::ExitStatus, Vec<u8>) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills the two descriptors; the other arguments may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty");
    // SAFETY: both descriptors were just created and are owned here.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let out = slave.try_clone().expect("dup");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(slave));
    let mut child = cmd.spawn().expect("spawn on pty");
    drop(cmd);
    let mut got = Vec::new();
    let mut f = fs::File::from(master);
    let mut buf = [0u8; 4096];
    loop {
        match f.read(&mut buf) {
            Ok(0) | Err(_) => break, // EIO once every slave is closed
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    (child.wait().expect("wait"), got)
}

/// Native client, sccache client (through the shim and bare) and the bare compiler on
/// the same words: exit codes, stdout, stderr and objects.
#[test]
fn native_client_matches_the_sccache_client_and_the_bare_compiler() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, _shims) = sccache_world();
    w.write("hello.c", HELLO_C);
    w.write("warn.c", WARN_C);
    w.write("bad.c", BAD_C);
    let cases: &[(&[&str], Option<&str>)] = &[
        (&["-c", "hello.c", "-o", "OUT"], Some("OUT")),
        (&["-c", "warn.c", "-Wall", "-o", "OUT"], Some("OUT")),
        (
            &[
                "-c",
                "warn.c",
                "-Wall",
                "-fdiagnostics-color=always",
                "-o",
                "OUT",
            ],
            Some("OUT"),
        ),
        (&["-c", "bad.c", "-o", "OUT"], None),
        (&["-E", "hello.c"], None),
        // sccache itself writes a file named `-` here (gcc refuses): not compared with
        // the bare sccache client.
        (&["-c", "hello.c", "-o", "-"], None),
    ];
    for (args, obj) in cases {
        // The same output name for every variant (it is in the cache key of nothing,
        // but keeps each variant's run identical).
        let words = |tag: &str| -> Vec<String> {
            args.iter()
                .map(|a| {
                    if *a == "OUT" {
                        format!("{tag}.o")
                    } else {
                        a.to_string()
                    }
                })
                .collect()
        };
        let bare = output({
            let mut c = w.bare("gcc");
            c.args(words("bare"));
            c
        });
        let want_obj = obj.map(|_| read(&w.work.join("bare.o")));
        // Twice each: a miss, then a hit served from the cache.
        for round in 0..2 {
            let variants: &[&str] = if args.contains(&"-") {
                &["native", "process"]
            } else {
                &["native", "process", "sccache"]
            };
            for &variant in variants {
                let tag = format!("{variant}{round}");
                let wv = words(&tag);
                let wv: Vec<&str> = wv.iter().map(String::as_str).collect();
                let got = output(match variant {
                    "sccache" => bare_sccache(&w, &wv),
                    client => tk_gcc(&w, client, &wv),
                });
                let ctx = format!("{variant} round {round} {args:?}");
                assert_eq!(
                    got.status.code(),
                    bare.status.code(),
                    "{ctx}\n{}",
                    describe(&got)
                );
                assert_eq!(
                    String::from_utf8_lossy(&got.stdout),
                    String::from_utf8_lossy(&bare.stdout),
                    "{ctx}: stdout"
                );
                assert_eq!(
                    String::from_utf8_lossy(&got.stderr),
                    String::from_utf8_lossy(&bare.stderr).replace("bare.o", &format!("{tag}.o")),
                    "{ctx}: stderr"
                );
                if let Some(want) = &want_obj {
                    assert_eq!(&read(&w.work.join(format!("{tag}.o"))), want, "{ctx}");
                }
            }
        }
    }
    // `-c -o -` went to the compiler directly (sccache would write a file named `-`).
    assert!(!w.work.join("-").exists());
    let s = w.stats();
    assert_eq!(
        s["uncacheable_reasons"]["output_to_stdout"].as_u64(),
        Some(4),
        "{s}"
    );
    // Through the shim: 3 cacheable compiles x 2 clients x 2 rounds; the misses come
    // first (one per compile and client, the second client of round 0 already hits).
    assert_eq!(
        s["hits"].as_u64().unwrap_or(0) + s["misses"].as_u64().unwrap_or(0),
        12,
        "{s}"
    );
    assert_eq!(s["misses"].as_u64(), Some(3), "{s}");
}

/// A compiler killed by a signal: the native path dies of the same signal, as the bare
/// compiler does; the sccache client prints its own line and exits 254 (its `-2`).
#[test]
fn a_compiler_killed_by_a_signal() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, _shims) = sccache_world();
    w.write("killme.c", HELLO_C);
    let cc = w.root().join("sig/gcc");
    w.script(
        &cc,
        "#!/bin/sh\ncase \"$*\" in *killme*) kill -SEGV $$;; esac\nexec /usr/bin/gcc \"$@\"\n",
    );
    let bare = output({
        let mut c = w.bare(&cc);
        c.args(["-c", "killme.c", "-o", "k.o"]);
        c
    });
    assert_eq!(bare.status.signal(), Some(libc::SIGSEGV));
    let mut c = w.tk();
    c.arg(&cc)
        .args(["-c", "killme.c", "-o", "k.o"])
        .env("TOOLCHAINKIT_SCCACHE_CLIENT", "native");
    let native = output(c);
    assert_eq!(
        native.status.signal(),
        Some(libc::SIGSEGV),
        "{}",
        describe(&native)
    );
    assert_eq!(
        (&native.stdout, &native.stderr),
        (&bare.stdout, &bare.stderr)
    );
    let mut c = w.tk();
    c.arg(&cc)
        .args(["-c", "killme.c", "-o", "k.o"])
        .env("TOOLCHAINKIT_SCCACHE_CLIENT", "process");
    let process = output(c);
    assert_eq!(process.status.code(), Some(254), "{}", describe(&process));
    assert_eq!(
        String::from_utf8_lossy(&process.stdout),
        "sccache: Compiler killed by signal 11\n"
    );
    // The wrapper dies in sccache's preprocessing step: sccache's `cache error`.
    let s = w.stats();
    assert_eq!(
        s["uncacheable_reasons"]["preprocessor_error"].as_u64(),
        Some(2),
        "{s}"
    );
}

/// Colour: on a pty and off it, the native client writes what the sccache client writes
/// (raw when the arguments ask for colour or the stream is a terminal, escapes removed
/// otherwise); with an explicit `-fdiagnostics-color` both equal the bare compiler.
#[test]
fn colour_on_a_pty_and_off_it() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (mut w, _shims) = sccache_world();
    w.env.push(("TERM".into(), "xterm-256color".into()));
    w.write("warn.c", WARN_C);
    // Start the server so the bare sccache client has one.
    compile(&w, "native", &["-c", "warn.c", "-o", "first.o"]).run();
    for flag in [
        None,
        Some("-fdiagnostics-color=always"),
        Some("-fdiagnostics-color=never"),
    ] {
        let args = |o: &str| -> Vec<String> {
            let mut v = vec!["-c".to_string(), "warn.c".into(), "-Wall".into()];
            v.extend(flag.map(str::to_string));
            v.extend(["-o".to_string(), o.to_string()]);
            v
        };
        let strs = |v: &[String]| v.to_vec();
        for pty in [true, false] {
            let run = |c: Command| -> (Option<i32>, Vec<u8>) {
                if pty {
                    let (st, out) = on_pty(c);
                    (st.code(), out)
                } else {
                    let o = output(c);
                    let mut b = o.stdout;
                    b.extend(o.stderr);
                    (o.status.code(), b)
                }
            };
            let a = args("x.o");
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            let native = run(tk_gcc(&w, "native", &a));
            let process = run(tk_gcc(&w, "process", &a));
            let client = run(bare_sccache(&w, &a));
            let bare = run({
                let mut c = w.bare("gcc");
                c.args(strs(&args("x.o")));
                c
            });
            // gcc on a terminal also links option names to its manual (OSC 8); on the
            // server's pipes it does not.
            let bare_no_urls = run({
                let mut c = w.bare("gcc");
                c.args(strs(&args("x.o"))).arg("-fdiagnostics-urls=never");
                c
            });
            let ctx = format!("flag {flag:?}, pty {pty}");
            assert_eq!(
                native, process,
                "{ctx}: native vs the sccache client (shim)"
            );
            assert_eq!(native, client, "{ctx}: native vs the bare sccache client");
            assert_eq!(native.0, Some(0), "{ctx}");
            let has_colour = |b: &[u8]| b.windows(2).any(|w| w == b"\x1b[");
            match (flag, pty) {
                // The server runs gcc on pipes: in auto mode it writes no colour, and
                // neither client adds any. The bare compiler on a terminal colours.
                (None, true) => {
                    assert!(has_colour(&bare.1), "{ctx}: bare gcc colours on a pty");
                    assert!(!has_colour(&native.1), "{ctx}");
                }
                (Some(_), true) => {
                    assert_ne!(native, bare, "{ctx}: links on a pty");
                    assert_eq!(native, bare_no_urls, "{ctx}: native vs the bare compiler");
                }
                _ => assert_eq!(native, bare, "{ctx}: native vs the bare compiler"),
            }
            if flag == Some("-fdiagnostics-color=always") {
                assert!(has_colour(&native.1), "{ctx}: colour passes through");
            }
        }
    }
}

/// The server killed between compiles, a stale socket: the next compile starts a new
/// server and builds silently.
#[test]
fn server_killed_between_compiles_and_a_stale_socket() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, _shims) = sccache_world();
    w.write("hello.c", HELLO_C);
    let want = {
        w.test_bare("gcc")
            .args(["-c", "hello.c", "-o", "ref.o"])
            .run();
        read(&w.work.join("ref.o"))
    };
    for client in ["native", "process"] {
        compile(&w, client, &["-c", "hello.c", "-o", "a.o"])
            .silent()
            .run();
        let socks = w.sccache_sockets();
        kill_server(&socks[0]);
        compile(&w, client, &["-c", "hello.c", "-o", "b.o"])
            .silent()
            .run();
        assert_eq!(read(&w.work.join("b.o")), want, "{client}");
        // A stale socket: the file is there, nothing listens.
        w.toolchainkit().args(["server", "stop"]).run();
        let _ = fs::remove_file(&socks[0]);
        drop(std::os::unix::net::UnixListener::bind(&socks[0]).expect("bind"));
        assert!(socks[0].exists());
        compile(&w, client, &["-c", "hello.c", "-o", "c.o"])
            .silent()
            .run();
        assert_eq!(read(&w.work.join("c.o")), want, "{client}");
    }
    let s = w.stats();
    assert_eq!(s["invocations"].as_u64(), Some(6), "{s}");
    assert_eq!(s["fallbacks"].as_u64(), Some(0), "{s}");
    assert_eq!(s["misses"].as_u64(), Some(1), "{s}");
    assert_eq!(
        s["hits"].as_u64(),
        Some(5),
        "the disk cache outlives servers: {s}"
    );
}

/// The server killed while it runs a compile: the compile is not sent again; the real
/// compiler runs once, silently, and the invocation is counted as a fallback. The
/// sccache client's "server looks like it shut down" warning never reaches the build.
#[test]
fn server_killed_during_a_compile() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, _shims) = sccache_world();
    w.write("hello.c", HELLO_C);
    w.test_bare("gcc")
        .args(["-c", "hello.c", "-o", "ref.o"])
        .run();
    let want = read(&w.work.join("ref.o"));
    // A gcc that announces the compile step (not sccache's -E probes) and sleeps first.
    let cc = w.root().join("slow/gcc");
    let marker = w.root().join("compiling");
    w.script(
        &cc,
        &format!(
            "#!/bin/sh\ncase \" $* \" in *\" -E \"*) ;; *) echo $$ > {m}.tmp; mv {m}.tmp {m}; sleep 3;; esac\nexec /usr/bin/gcc \"$@\"\n",
            m = marker.display()
        ),
    );
    for client in ["native", "process"] {
        let _ = fs::remove_file(&marker);
        let out_name = format!("{client}.o");
        let mut c = w.tk();
        c.arg(&cc)
            .args(["-c", "hello.c", "-o", &out_name])
            .env("TOOLCHAINKIT_SCCACHE_CLIENT", client)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = c.spawn().expect("spawn");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !marker.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let wrapper: i32 = fs::read_to_string(&marker)
            .expect("the compile started")
            .trim()
            .parse()
            .expect("pid");
        let socks = w.sccache_sockets();
        kill_server(&socks[0]);
        // The server's compile dies with it.
        // SAFETY: signalling the compiler the server had started.
        unsafe {
            libc::kill(wrapper, libc::SIGKILL);
        }
        let got = child.wait_with_output().expect("wait");
        silent(got);
        assert_eq!(read(&w.work.join(&out_name)), want, "{client}");
    }
    let s = w.stats();
    assert_eq!(
        s["fallback_reasons"]["sccache_connection_lost"].as_u64(),
        Some(2),
        "{s}"
    );
}

/// A server of a version not on the allowlist: compiles go through the sccache client
/// process (proved by counting the sccache processes), the build succeeds, outcomes are
/// still observed, and `doctor` and the log say why. A 0.16.0 server's hits start no
/// sccache process at all.
#[test]
fn versions_off_the_allowlist_use_the_sccache_client() {
    let other = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-sccache-other/bin/sccache");
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::file(
            &other,
            "the second sccache version (0.15.0): run `bash scripts/setup-tools.sh`",
        ),
    ]) {
        return;
    }
    for (real, native) in [(other, false), (sccache(), true)] {
        let (mut w, _shims) = sccache_world();
        // A wrapper that counts how often the sccache binary runs, and why.
        let calls = w.root().join("calls");
        let counted = w.root().join("counted/sccache");
        w.script(
            &counted,
            &format!(
                "#!/bin/sh\necho \"$1\" >> {}\nexec {} \"$@\"\n",
                calls.display(),
                real.display()
            ),
        );
        let log = w.root().join("tk.log");
        w.env.push((
            "TOOLCHAINKIT_SCCACHE_PATH".into(),
            counted.display().to_string(),
        ));
        w.env.push(("TOOLCHAINKIT_LOG".into(), "info".into()));
        w.env
            .push(("TOOLCHAINKIT_LOG_FILE".into(), log.display().to_string()));
        let stop = StopServers(&w);
        w.write("hello.c", HELLO_C);
        for o in ["a.o", "b.o", "c.o"] {
            compile(&w, "native", &["-c", "hello.c", "-o", o])
                .silent()
                .run();
        }
        let calls = fs::read_to_string(&calls).unwrap_or_default();
        let compiles = calls.lines().filter(|l| *l == "/usr/bin/gcc").count();
        // 0.16.0 names the object in every result line; 0.15.0 logs its hits without
        // it, so they cannot be told apart from another compile's: not invented.
        let s = w.stats();
        let want = if native { (1, 2, 0) } else { (1, 0, 2) };
        assert_eq!(
            (
                s["misses"].as_u64(),
                s["hits"].as_u64(),
                s["forwarded"].as_u64()
            ),
            (Some(want.0), Some(want.1), Some(want.2)),
            "native {native}: {s}"
        );
        let text = String::from_utf8_lossy(&read(&log)).into_owned();
        let doctor = w.toolchainkit().args(["doctor"]).any_status().stdout_text();
        if native {
            assert_eq!(compiles, 0, "no sccache client process: {calls}");
            assert!(
                doctor.contains("native, the server runs sccache 0.16.0"),
                "{doctor}"
            );
        } else {
            assert_eq!(compiles, 3, "{calls}");
            assert!(
                text.contains("sccache 0.15.0 is not on the native client's allowlist"),
                "{text}"
            );
            assert!(
                doctor.contains("sccache 0.15.0 is not on the native client's allowlist"),
                "{doctor}"
            );
        }
        drop(stop);
    }
}

/// Stops the project's server with its own binary (a server of another version may not
/// understand the pinned client's shutdown request), even when the test fails.
struct StopServers<'a>(&'a World);

impl Drop for StopServers<'_> {
    fn drop(&mut self) {
        // Raw: a panic in a drop that runs while unwinding would abort the run.
        let _ = self.0.tk().args(["server", "stop"]).output();
    }
}

/// sccache's own failures, in both clients: an unusable cache directory, a read-only
/// `$XDG_CACHE_HOME` with no cache configured, a working directory deeper than
/// `PATH_MAX`. The compile succeeds with the real compiler, silently, recorded.
#[test]
fn sccache_fatal_errors_fall_back_to_the_compiler() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("unshare", "util-linux"),
    ]) {
        return;
    }
    if skip_unless_root() {
        return;
    }
    for client in ["native", "process"] {
        // 1. The configured cache directory cannot be created.
        let (mut w, _shims) = sccache_world();
        w.env
            .push(("TOOLCHAINKIT_SCCACHE_CLIENT".into(), client.into()));
        w.write("hello.c", HELLO_C);
        w.write("blocker", "a file where a directory should be");
        w.config("[cache]\ntool = \"sccache\"\ndir = \"blocker/sub\"\n");
        w.test_bare("gcc")
            .args(["-c", "hello.c", "-o", "ref.o"])
            .run();
        let want = read(&w.work.join("ref.o"));
        w.toolchainkit()
            .args(["gcc", "-c", "hello.c", "-o", "a.o"])
            .silent()
            .run();
        assert_eq!(read(&w.work.join("a.o")), want, "{client}");
        // 2. No cache configured and the default location read-only (a private mount
        // namespace holds the read-only bind mount; the server started inside keeps it).
        w.config("[cache]\ntool = \"sccache\"\n");
        let cache_home = w.root().join("cache-home");
        fs::create_dir_all(&cache_home).expect("cache home");
        w.test("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "mount --bind -o ro {d} {d} && exec {tk} gcc -c hello.c -o b.o",
                d = cache_home.display(),
                tk = bin().display()
            ))
            .silent()
            .run();
        assert_eq!(read(&w.work.join("b.o")), want, "{client}");
        let s = w.stats();
        assert_eq!(
            s["fallback_reasons"]["sccache_failed"].as_u64(),
            Some(2),
            "{client}: {s}"
        );
        w.toolchainkit().args(["server", "stop"]).any_status().run();
        drop(w);

        // 3. A directory 4,000 levels deep (its path is longer than PATH_MAX).
        let (mut w, _shims) = sccache_world();
        w.env
            .push(("TOOLCHAINKIT_SCCACHE_CLIENT".into(), client.into()));
        let deep = deep_dir(&w.work, 4000);
        let mk = |fd: &OwnedFd, name: &str, body: &str| {
            let c = std::ffi::CString::new(name).expect("name");
            // SAFETY: openat relative to a directory descriptor we own.
            let f = unsafe {
                libc::openat(
                    fd.as_raw_fd(),
                    c.as_ptr(),
                    libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC,
                    0o644,
                )
            };
            assert!(f >= 0, "create {name}");
            // SAFETY: f was just opened.
            let mut f = unsafe { fs::File::from_raw_fd(f) };
            use std::io::Write;
            f.write_all(body.as_bytes()).expect("write");
        };
        mk(&deep, "hello.c", HELLO_C);
        let in_deep = |mut c: Command| -> Output {
            let fd = deep.as_raw_fd();
            // SAFETY: fchdir is async-signal-safe; fd stays open in the parent.
            unsafe {
                c.pre_exec(move || {
                    if libc::fchdir(fd) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
            output(c)
        };
        let bare = in_deep({
            let mut c = w.bare("gcc");
            c.args(["-c", "hello.c", "-o", "ref.o"]);
            c
        });
        ok(bare);
        let got = in_deep({
            let mut c = w.tk();
            c.args(["gcc", "-c", "hello.c", "-o", "a.o"]);
            c
        });
        silent(got);
        let read_deep = |name: &str| {
            let c = std::ffi::CString::new(name).expect("name");
            // SAFETY: openat relative to a directory descriptor we own.
            let f = unsafe { libc::openat(deep.as_raw_fd(), c.as_ptr(), libc::O_RDONLY) };
            assert!(f >= 0, "open {name}");
            // SAFETY: f was just opened.
            let mut f = unsafe { fs::File::from_raw_fd(f) };
            let mut b = Vec::new();
            f.read_to_end(&mut b).expect("read");
            b
        };
        assert_eq!(read_deep("a.o"), read_deep("ref.o"), "{client}");
        let s = w.stats();
        assert_eq!(s["invocations"].as_u64(), Some(1), "{s}");
        assert_eq!(s["hits"].as_u64(), Some(0), "{s}");
        assert_eq!(s["misses"].as_u64(), Some(0), "{s}");
        assert!(
            s["fallbacks"].as_u64() == Some(1) || s["uncacheable"].as_u64() == Some(1),
            "{client}: recorded as sccache's failure: {s}"
        );
        // The deep tree is removed by the world's temporary directory.
    }
}

/// A directory `levels` deep under `base`, made with `mkdirat`/`openat` (its path is too
/// long for `mkdir -p`). Returns a descriptor of the deepest one.
fn deep_dir(base: &Path, levels: usize) -> OwnedFd {
    let d = std::ffi::CString::new("d").expect("name");
    let start = std::ffi::CString::new(base.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: open of a directory path.
    let mut fd = unsafe { libc::open(start.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
    assert!(fd >= 0);
    for _ in 0..levels {
        // SAFETY: mkdirat and openat relative to the descriptor we hold; the old one is
        // closed once the next is open.
        unsafe {
            libc::mkdirat(fd, d.as_ptr(), 0o755);
            let next = libc::openat(fd, d.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
            assert!(next >= 0, "openat");
            libc::close(fd);
            fd = next;
        }
    }
    // SAFETY: fd is open and owned here.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Credentials never reach a compile request (the preprocessor and compiler the server
/// runs for it get the request's environment; its compiler-detection probe also sees
/// the server's own start environment, which is not the request's) nor the server's log: a credential by its name, and one only the
/// project's `password_env` names. Both clients; the redis cache still serves hits.
#[test]
fn credentials_stay_out_of_requests_and_the_log() {
    let mut needs = vec![Need::tools(), Need::compilers()];
    needs.extend(servers::needs("redis"));
    if skip_unless(&needs) {
        return;
    }
    let (mut w, _shims) = sccache_world();
    // The project file is the user's own: its remote (with a credential) applies.
    w.trust_project();
    let pw = format!("pw-{}-secret", std::process::id());
    let redis = servers::redis(&w.root().join("redis"), &pw);
    w.config(&format!(
        "[cache]\ntool = \"sccache\"\ndir = \"cache\"\n[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:{}\"\npassword_env = \"TK_REDIS_P\"\n",
        redis.port
    ));
    // TK_REDIS_P is not named like a credential; GITHUB_TOKEN is.
    w.env.push(("TK_REDIS_P".into(), pw.clone()));
    w.env.push(("GITHUB_TOKEN".into(), format!("{pw}-gh")));
    w.write("hello.c", HELLO_C);
    let envs = w.root().join("envs");
    fs::create_dir_all(&envs).expect("envs");
    let cc = w.root().join("envdump/gcc");
    w.script(
        &cc,
        &format!(
            "#!/bin/sh\ncase \"$*\" in *hello.c*) env > {}/env-$$;; esac\nexec /usr/bin/gcc \"$@\"\n",
            envs.display()
        ),
    );
    for client in ["native", "process", "native"] {
        w.toolchainkit()
            .arg(&cc)
            .args(["-c", "hello.c", "-o", "hello.o"])
            .env("TOOLCHAINKIT_SCCACHE_CLIENT", client)
            .silent()
            .run();
    }
    let s = w.stats();
    assert_eq!(
        (s["misses"].as_u64(), s["hits"].as_u64()),
        (Some(1), Some(2)),
        "{s}"
    );
    let dumps = fs::read_dir(&envs).expect("envs").count();
    assert!(dumps >= 2, "the server ran the compiler ({dumps} dumps)");
    let mut scanned = 0;
    for dir in [envs.as_path(), w.run.path(), &w.root().join("state")] {
        scanned += scan_for(dir, &pw);
    }
    assert!(scanned > 3, "scanned {scanned} files");
    let log = fs::read_dir(w.run.path().join("toolchainkit"))
        .expect("runtime dir")
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "log"))
        .expect("the server log");
    let text = fs::read_to_string(log.path()).expect("log");
    assert!(text.contains("compile result: cache hit"), "{text}");
    assert!(
        text.lines()
            .filter(|l| l.contains("sccache::server"))
            .all(|l| l.contains("]: compile result: ")),
        "only compile results are logged: {text}"
    );
}

/// Every file under `dir` must not contain `secret`; returns how many were read.
fn scan_for(dir: &Path, secret: &str) -> usize {
    let mut n = 0;
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            n += scan_for(&p, secret);
        } else if let Ok(b) = fs::read(&p) {
            n += 1;
            let text = String::from_utf8_lossy(&b);
            assert!(
                !text.contains(secret),
                "the secret reached {}: {:?}",
                p.display(),
                text.lines()
                    .filter(|l| l.contains(secret))
                    .collect::<Vec<_>>()
            );
        }
    }
    n
}

/// The switch: shown by `config` with its origin, validated with file/line/key, and the
/// environment overrides the file.
#[test]
fn the_sccache_client_switch() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, _shims) = sccache_world();
    let text = w.toolchainkit().arg("config").stdout_text();
    assert!(
        text.lines()
            .any(|l| l.starts_with("cache.sccache_client = \"native\"") && l.ends_with("# default")),
        "{text}"
    );
    w.config("[cache]\ntool = \"sccache\"\nsccache_client = \"process\"\n");
    let text = w.toolchainkit().arg("config").stdout_text();
    assert!(
        text.contains("cache.sccache_client = \"process\""),
        "{text}"
    );
    let text = w
        .toolchainkit()
        .arg("config")
        .env("TOOLCHAINKIT_SCCACHE_CLIENT", "native")
        .stdout_text();
    assert!(
        text.lines()
            .any(|l| l.starts_with("cache.sccache_client = \"native\"")
                && l.contains("environment TOOLCHAINKIT_SCCACHE_CLIENT")),
        "{text}"
    );
    w.config("[cache]\ntool = \"sccache\"\nsccache_client = \"nativ\"\n");
    w.write("a.c", HELLO_C);
    let out = w.toolchainkit().args(["gcc", "-c", "a.c"]).status(78).run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(".toolchainkit.toml:3:")
            && err.contains("`cache.sccache_client`")
            && err.contains("did you mean `native`?"),
        "{err}"
    );
    w.config("[cache]\ntool = \"sccache\"\n");
    w.toolchainkit()
        .args(["gcc", "-c", "a.c"])
        .env("TOOLCHAINKIT_SCCACHE_CLIENT", "fast")
        .status(78)
        .stderr_contains("TOOLCHAINKIT_SCCACHE_CLIENT")
        .run();
}

/// On a terminal the sccache client's stderr is not captured: its fatal error (exit 254)
/// is still told from the compiler's (no result line, no output written) and the real
/// compiler runs. Its message stays visible above (README, Known limitations).
#[test]
fn a_fatal_error_on_a_terminal_falls_back_too() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, _shims) = sccache_world();
    w.write("hello.c", HELLO_C);
    w.write("blocker", "a file where a directory should be");
    w.config("[cache]\ntool = \"sccache\"\ndir = \"blocker/sub\"\n");
    w.test_bare("gcc")
        .args(["-c", "hello.c", "-o", "ref.o"])
        .run();
    for client in ["process", "native"] {
        let (status, shown) = on_pty(tk_gcc(&w, client, &["-c", "hello.c", "-o", "a.o"]));
        assert_eq!(
            status.code(),
            Some(0),
            "{client}: {}",
            String::from_utf8_lossy(&shown)
        );
        assert_eq!(read(&w.work.join("a.o")), read(&w.work.join("ref.o")));
        if client == "native" {
            assert!(shown.is_empty(), "{}", String::from_utf8_lossy(&shown));
        }
        let _ = fs::remove_file(w.work.join("a.o"));
    }
    let s = w.stats();
    assert_eq!(
        s["fallback_reasons"]["sccache_failed"].as_u64(),
        Some(2),
        "{s}"
    );
}

/// SIGCONT a stopped server when the test ends, however it ends (the world then stops
/// it).
struct Resume(i32);

impl Drop for Resume {
    fn drop(&mut self) {
        // SAFETY: signalling a server this test's shim started.
        unsafe {
            libc::kill(self.0, libc::SIGCONT);
        }
    }
}

/// SIGSTOP the server on `sock` and wait until it is stopped.
fn stop_server_process(sock: &Path) -> Resume {
    let pid = server_pid(sock).expect("the server's pid");
    // SAFETY: signalling a server this test's shim started.
    unsafe {
        libc::kill(pid, libc::SIGSTOP);
    }
    wait_until("the server stops", Duration::from_secs(10), || {
        procs::stat(pid).is_some_and(|(s, _, _)| s == 'T')
    });
    Resume(pid)
}

/// The children of `pid` whose command is `comm`.
fn children_named(pid: u32, comm: &str) -> Vec<i32> {
    procs::all_pids()
        .into_iter()
        .filter(|&p| procs::stat(p).is_some_and(|(_, ppid, _)| ppid == pid as i32))
        .filter(|&p| fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == comm))
        .collect()
}

/// Issue 19 item 2: a stopped (SIGSTOP) sccache server hung every compile for ever, with
/// either client. Now the compile that the server has not accepted runs the compiler
/// directly (counted as `fallback.sccache_server_unresponsive`), in well under the time a
/// hang would take; and SIGTERM to the shim (a CI cancel) ends it promptly, of SIGTERM,
/// with either client.
#[test]
fn a_stopped_server_does_not_hang_the_build() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, _shims) = sccache_world();
    w.write("hello.c", HELLO_C);
    w.test_bare("gcc")
        .args(["-c", "hello.c", "-o", "ref.o"])
        .run();
    let want = read(&w.work.join("ref.o"));
    // A server that runs and has served a compile.
    compile(&w, "native", &["-c", "hello.c", "-o", "warm.o"])
        .silent()
        .run();
    let socks = w.sccache_sockets();
    assert_eq!(socks.len(), 1, "{socks:?}");
    let _resume = stop_server_process(&socks[0]);
    for client in ["native", "process"] {
        let out_name = format!("{client}.o");
        let t = Instant::now();
        compile(&w, client, &["-c", "hello.c", "-o", &out_name])
            .timeout(Duration::from_secs(30))
            .silent()
            .run();
        assert!(
            t.elapsed() < Duration::from_secs(8),
            "{client}: {:?}",
            t.elapsed()
        );
        assert_eq!(read(&w.work.join(&out_name)), want, "{client}");
    }
    let s = w.stats();
    assert_eq!(
        s["fallback_reasons"]["sccache_server_unresponsive"].as_u64(),
        Some(2),
        "{s}"
    );

    // SIGTERM while the shim waits for the stopped server.
    for client in ["native", "process"] {
        let running = compile(&w, client, &["-c", "hello.c", "-o", "term.o"])
            .timeout(Duration::from_secs(30))
            .signal(libc::SIGTERM)
            .spawn();
        let shim = running.id();
        if client == "process" {
            wait_until("the sccache client runs", Duration::from_secs(10), || {
                !children_named(shim, "sccache").is_empty()
            });
        } else {
            std::thread::sleep(Duration::from_millis(200));
        }
        let t = Instant::now();
        // SAFETY: signalling the shim this test started.
        unsafe {
            libc::kill(shim as i32, libc::SIGTERM);
        }
        running.finish();
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "{client}: SIGTERM took {:?}",
            t.elapsed()
        );
    }
}

/// Issue 19 item 2: a socket of ours whose listener accepts and never answers (a wedged
/// server) hung the native client for ever. It now waits for the server to accept the
/// compile at most `HANDSHAKE_TIMEOUT` (10 s), then runs the compiler.
#[test]
fn a_silent_listener_does_not_hang_the_native_client() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, _shims) = sccache_world();
    w.write("hello.c", HELLO_C);
    w.test_bare("gcc")
        .args(["-c", "hello.c", "-o", "ref.o"])
        .run();
    let want = read(&w.work.join("ref.o"));
    let text = w
        .toolchainkit()
        .args(["server", "status"])
        .status(1)
        .stdout_text();
    let sock = PathBuf::from(
        text.split("would use ")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .unwrap_or_else(|| panic!("no socket in {text}")),
    );
    use std::os::unix::fs::PermissionsExt;
    let dir = sock.parent().expect("dir");
    fs::create_dir_all(dir).expect("mkdir");
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).expect("chmod");
    // The record of a server of the allowed version, so the native client speaks to it.
    let exe = sccache();
    let m = fs::metadata(&exe).expect("sccache");
    use std::os::unix::fs::MetadataExt;
    let info = sock.with_extension("info");
    fs::write(
        &info,
        format!(
            "version {SCCACHE_VERSION}\nsize {}\nmtime {}\nexe {}\n",
            m.len(),
            i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            exe.display()
        ),
    )
    .expect("record");
    fs::set_permissions(&info, fs::Permissions::from_mode(0o600)).expect("chmod");
    let listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    let doctor = w
        .toolchainkit()
        .arg("doctor")
        .any_status()
        .timeout(Duration::from_secs(30))
        .stdout_text();
    assert!(
        doctor.contains("native, the server runs sccache"),
        "the native client is the one tested\n{doctor}"
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s2 = stop.clone();
    listener.set_nonblocking(true).expect("nonblocking");
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        while !s2.load(std::sync::atomic::Ordering::SeqCst) {
            match listener.accept() {
                Ok((c, _)) => held.push(c),
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    let t = Instant::now();
    let result = std::panic::catch_unwind(|| {
        compile(&w, "native", &["-c", "hello.c", "-o", "f.o"])
            .timeout(Duration::from_secs(40))
            .silent()
            .run();
    });
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = holder.join();
    assert!(result.is_ok(), "the compile hung or failed");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(25),
        "{took:?}"
    );
    assert_eq!(read(&w.work.join("f.o")), want);
    let s = w.stats();
    assert_eq!(
        s["fallback_reasons"]["sccache_server_unresponsive"].as_u64(),
        Some(1),
        "{s}"
    );
}

/// Issue 19 item 7: a server started without its remote (the remote refuses
/// connections) was handed the remote's credentials all the same: inherited `SCCACHE_*`
/// and `AWS_*` secrets and the variable `password_env` names. A local-only server holds
/// none of them.
#[test]
fn a_local_only_server_holds_no_credential() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let closed = ClosedPort::new();
    let (mut w, _shims) = sccache_world();
    // Trusted, so the remote (and its credential) would apply if it were reachable.
    w.trust_project();
    w.config(&format!(
        "[cache]\ntool = \"sccache\"\ndir = \"cache\"\n\n[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:{}\"\npassword_env = \"TK_REMOTE_PW\"\n",
        closed.port
    ));
    let secrets = [
        ("TK_REMOTE_PW", "referenced-pw-0123456789"),
        ("SCCACHE_REDIS_PASSWORD", "inherited-sccache-pw-42"),
        ("AWS_SECRET_ACCESS_KEY", "inherited-aws-secret-77"),
    ];
    for (k, v) in secrets {
        w.set_env(k, v);
    }
    w.write("hello.c", HELLO_C);
    compile(&w, "native", &["-c", "hello.c", "-o", "hello.o"])
        .silent()
        .run();
    let s = w.stats();
    assert!(s["sccache_server_local_only"].is_string(), "{s}");
    let servers = w.daemons();
    assert_eq!(servers.len(), 1, "{servers:?}");
    let environ = fs::read(format!("/proc/{}/environ", servers[0])).expect("environ");
    let text = String::from_utf8_lossy(&environ);
    for (k, v) in secrets {
        assert!(!text.contains(v), "the local-only server holds {k}");
    }
    drop(closed);
}

/// Issue 19 item 7: with a socket path over the 107 bytes a unix socket address holds,
/// `doctor` said the server was fine and the first compile would start it (the compile
/// itself falls back). It is a problem, named with its length and the fix.
#[test]
fn doctor_names_a_socket_path_too_long_for_a_unix_socket() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (mut w, _shims) = sccache_world();
    let long = w.root().join("r".repeat(100));
    fs::create_dir_all(&long).expect("mkdir");
    w.set_env("TOOLCHAINKIT_RUNTIME_DIR", &long);
    w.write("hello.c", HELLO_C);
    compile(&w, "native", &["-c", "hello.c", "-o", "hello.o"])
        .silent()
        .run();
    let s = w.stats();
    assert_eq!(
        s["fallback_reasons"]["sccache_server_unavailable"].as_u64(),
        Some(1),
        "{s}"
    );
    let doctor = w
        .toolchainkit()
        .arg("doctor")
        .status(1)
        .timeout(Duration::from_secs(60))
        .stdout_text();
    let line = doctor
        .lines()
        .find(|l| l.contains("sccache.server"))
        .unwrap_or_else(|| panic!("{doctor}"));
    assert!(
        line.starts_with("problem") && line.contains("more than the 107"),
        "{doctor}"
    );
}
