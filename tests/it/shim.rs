//! The compiler shim end to end: real gcc/g++, real ccache and sccache, both modes.

use crate::common;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

/// Reference object built by the bare compiler.
fn reference(w: &World, compiler: &str, src: &str, out: &str) -> Vec<u8> {
    w.test_bare(compiler).args(["-c", src, "-o", out]).run();
    read(&w.work.join(out))
}

#[derive(Clone, Copy, Debug)]
enum How {
    Masquerade,
    Launcher,
}

/// A compile command through the shim in the given mode.
fn through(w: &World, how: How, shims: &Path, compiler: &str) -> Test {
    match how {
        How::Masquerade => w.test_shim(shims, compiler),
        How::Launcher => w.toolchainkit().arg(format!("/usr/bin/{compiler}")),
    }
}

#[test]
fn ccache_miss_then_hit_identical_objects_both_modes() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    for how in [How::Masquerade, How::Launcher] {
        let (w, shims) = World::with_shims();
        w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
        w.write("hello.c", HELLO_C);
        let want = reference(&w, "gcc", "hello.c", "ref.o");
        for _ in 0..2 {
            through(&w, how, &shims, "gcc")
                .args(["-c", "hello.c", "-o", "hello.o"])
                .silent()
                .run();
            assert_eq!(
                read(&w.work.join("hello.o")),
                want,
                "{how:?}: object differs from a direct build"
            );
            assert_eq!(
                mode(&w.work.join("hello.o")),
                mode(&w.work.join("ref.o")),
                "{how:?}: file mode differs"
            );
        }
        let s = w.stats();
        assert_eq!(
            (
                s["invocations"].as_u64(),
                s["misses"].as_u64(),
                s["hits"].as_u64()
            ),
            (Some(2), Some(1), Some(1)),
            "{how:?}: {s}"
        );
        assert_eq!(s["hit_rate"].as_f64(), Some(50.0));
        let c = w.ccache_counters(&w.work.join("cache/ccache"));
        assert_eq!(
            c.get("cache_miss"),
            Some(&1),
            "{how:?}: ccache's own counters: {c:?}"
        );
        assert_eq!(
            c.get("direct_cache_hit"),
            Some(&1),
            "{how:?}: ccache's own counters: {c:?}"
        );
    }
}

/// Write hello.c and util.cpp, build references with the bare `cc`/`cxx`, then compile
/// both twice through the shim: each time the objects are byte-identical to the
/// references and hello.o has the reference's file mode.
fn c_and_cxx_twice_match_bare(w: &World, how: How, shims: &Path, cc: &str, cxx: &str, ctx: &str) {
    w.write("hello.c", HELLO_C);
    w.write("util.cpp", UTIL_CPP);
    let want = reference(w, cc, "hello.c", "ref.o");
    let want_cpp = reference(w, cxx, "util.cpp", "ref-util.o");
    for _ in 0..2 {
        through(w, how, shims, cc)
            .args(["-c", "hello.c", "-o", "hello.o"])
            .silent()
            .run();
        through(w, how, shims, cxx)
            .args(["-c", "util.cpp", "-o", "util.o"])
            .silent()
            .run();
        assert_eq!(read(&w.work.join("hello.o")), want, "{ctx}");
        assert_eq!(read(&w.work.join("util.o")), want_cpp, "{ctx}");
        assert_eq!(
            mode(&w.work.join("hello.o")),
            mode(&w.work.join("ref.o")),
            "{ctx}: file mode (sccache writes 0640)"
        );
    }
}

#[test]
fn sccache_miss_then_hit_identical_objects_and_modes_both_modes() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    for how in [How::Masquerade, How::Launcher] {
        let (w, shims) = World::with_shims();
        w.config("[cache]\ntool = \"sccache\"\ndir = \"cache\"\n");
        c_and_cxx_twice_match_bare(&w, how, &shims, "gcc", "g++", &format!("{how:?}"));
        let socks = w.sccache_sockets();
        assert_eq!(
            socks.len(),
            1,
            "one server for one configuration: {socks:?}"
        );
        let st = w.sccache_stats(&socks[0]);
        let total = sccache_total(&st, "cache_hits");
        assert_eq!(total, 2, "{how:?}: sccache's own stats: {st}");
        let loc = st["cache_location"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            loc.contains(&w.work.join("cache/sccache").display().to_string()),
            "server uses the configured dir: {loc}"
        );
        let s = w.stats();
        assert_eq!(
            (s["misses"].as_u64(), s["hits"].as_u64()),
            (Some(2), Some(2)),
            "{how:?}: observed per compile, equal to sccache's own counters: {s}"
        );
        assert_eq!(s["hits_by_kind"]["sccache"].as_u64(), Some(2), "{s}");
        // Compile and link in one step (as configure's checks do): sccache runs it
        // without caching, and the executable keeps the linker's mode.
        through(&w, how, &shims, "gcc")
            .args(["hello.c", "-o", "prog"])
            .silent()
            .run();
        w.test_bare("gcc").args(["hello.c", "-o", "ref-prog"]).run();
        let prog = mode(&w.work.join("prog"));
        assert_eq!(prog, mode(&w.work.join("ref-prog")), "{how:?}");
        assert_ne!(prog & 0o111, 0, "{how:?}: the executable is executable");
        w.test(w.work.join("prog")).run();
    }
}

#[test]
fn resolution_skips_every_wrapper() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    let farm = w.install_shims("farm");
    // A ccache masquerade directory and a symlink to sccache named gcc.
    let ccdir = w.root().join("lib/ccache");
    std::fs::create_dir_all(&ccdir).expect("mkdir");
    std::os::unix::fs::symlink(ccache(), ccdir.join("gcc")).expect("link");
    let sclinks = w.root().join("sclinks");
    std::fs::create_dir_all(&sclinks).expect("mkdir");
    std::os::unix::fs::symlink(sccache(), sclinks.join("gcc")).expect("link");
    w.path_front = vec![
        shims.clone(),
        ccdir.clone(),
        shims.clone(),
        farm.clone(),
        sclinks.clone(),
    ];
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    let out = w.toolchainkit().args(["which", "gcc"]).run();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("real compiler: /usr/bin/gcc"), "{text}");
    assert!(text.contains("toolchainkit shim"), "{text}");
    assert!(text.contains("symlink to wrapper `ccache`"), "{text}");
    assert!(text.contains("symlink to wrapper `sccache`"), "{text}");
    // A compile through this PATH is cached exactly once.
    w.write("hello.c", HELLO_C);
    w.test(shims.join("gcc"))
        .args(["-c", "hello.c"])
        .silent()
        .run();
    let c = w.ccache_counters(&w.work.join("cache/ccache"));
    assert_eq!(c.get("cache_miss"), Some(&1), "{c:?}");
    assert_eq!(w.stats()["misses"].as_u64(), Some(1));
}

#[test]
fn launcher_unwraps_wrapper_paths_without_double_caching() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    let ccdir = w.root().join("usr-lib/ccache");
    std::fs::create_dir_all(&ccdir).expect("mkdir");
    std::os::unix::fs::symlink(ccache(), ccdir.join("gcc")).expect("link");
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write("hello.c", HELLO_C);
    let want = reference(&w, "gcc", "hello.c", "ref.o");
    for (i, wrapper) in [shims.join("gcc"), ccdir.join("gcc")].iter().enumerate() {
        w.toolchainkit()
            .arg(wrapper)
            .args(["-c", "hello.c", "-o", "hello.o"])
            .silent()
            .run();
        assert_eq!(read(&w.work.join("hello.o")), want);
        let c = w.ccache_counters(&w.work.join("cache/ccache"));
        let seen = c.get("cache_miss").unwrap_or(&0) + c.get("direct_cache_hit").unwrap_or(&0);
        assert_eq!(
            seen,
            i as u64 + 1,
            "each compile is seen by ccache exactly once: {c:?}"
        );
    }
    // `toolchainkit ccache gcc ...` peels the wrapper word too.
    w.toolchainkit()
        .args(["ccache", "gcc", "-c", "hello.c", "-o", "hello.o"])
        .silent()
        .run();
    assert_eq!(w.stats()["invocations"].as_u64(), Some(3));
}

#[test]
fn no_real_compiler_lists_search_and_exits_127() {
    let (mut w, shims) = World::with_shims();
    w.tools_in_path = false;
    let out = w
        .test(shims.join("gcc"))
        .env("PATH", &shims)
        .args(["-c", "x.c"])
        .status(127)
        .stderr_contains("no real compiler `gcc`")
        .run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no real compiler `gcc`"), "{err}");
    assert!(
        err.contains("searched:") && err.contains("skipped:") && err.contains("toolchainkit shim"),
        "{err}"
    );
}

#[test]
fn reentry_guard_breaks_a_loop_with_a_clear_error() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    // A "compiler" that calls toolchainkit again: a loop no path check can see.
    let loopdir = w.root().join("loop");
    w.script(
        &loopdir.join("gcc"),
        &format!("#!/bin/sh\nexec {} gcc \"$@\"\n", bin().display()),
    );
    w.test(shims.join("gcc"))
        .env("PATH", format!("{}:{}", shims.display(), loopdir.display()))
        .env("TOOLCHAINKIT_TOOL", "none")
        .args(["-c", "x.c"])
        .status(127)
        .stderr_contains("recursion detected")
        .run();
}

#[test]
fn fake_compiler_receives_exact_argv_env_and_stdin() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, _shims) = World::with_shims();
    let fake = w.root().join("fake/bin/gcc");
    let log = w.root().join("argv.bin");
    w.script(
        &fake,
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > {log}\nprintf '%s' \"$TOOLCHAINKIT_GUARD\" > {log}.guard\ncat > {log}.stdin\nprintf out; printf err >&2; exit 7\n",
            log = log.display()
        ),
    );
    let weird = OsString::from_vec(vec![b'-', b'D', b'X', b'=', 0xff, 0xfe, b' ', b'"']);
    for tool in ["none", "ccache"] {
        w.toolchainkit()
            .arg(&fake)
            .arg(&weird)
            .args(["-c", "a b.c", ""])
            .env("TOOLCHAINKIT_TOOL", tool)
            .stdin(&b"\x00input bytes\xff"[..])
            .status(7)
            .stdout("out")
            .stderr("err")
            .run();
        let mut want = weird.clone().into_vec();
        want.extend_from_slice(b"\0-c\0a b.c\0\0");
        assert_eq!(read(&log), want, "{tool}: argv bytes");
        assert_eq!(
            read(&PathBuf::from(format!("{}.guard", log.display()))),
            b"1",
            "{tool}: the guard reaches the child"
        );
        if tool == "none" {
            assert_eq!(
                read(&PathBuf::from(format!("{}.stdin", log.display()))),
                b"\x00input bytes\xff"
            );
        }
    }
}

/// Run the same words bare and through the shim (each tool, both modes) and compare.
#[test]
fn fidelity_matches_the_bare_compiler() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.write("hello.c", HELLO_C);
    w.write("lib.c", LIB_C);
    w.write("bad.c", "int main(void) { return undefined_symbol; }\n");
    w.write("args.rsp", "-c lib.c -o rsp.o -DFROM_RSP=1\n");
    w.write(
        "nonutf.c",
        "#define S(x) #x\n#define T(x) S(x)\nconst char *s = T(VAL);\n",
    );
    type Case<'a> = (Vec<OsString>, Option<&'a [u8]>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (vec!["--version".into()], None, vec![]),
        (vec!["-v".into()], None, vec![]),
        (vec!["-E".into(), "hello.c".into()], None, vec![]),
        (
            vec![
                "-c".into(),
                "-x".into(),
                "c".into(),
                "-".into(),
                "-o".into(),
                "stdin.o".into(),
            ],
            Some(LIB_C.as_bytes()),
            vec!["stdin.o"],
        ),
        (
            vec!["-E".into(), "lib.c".into(), "-o".into(), "-".into()],
            None,
            vec![],
        ),
        (vec!["@args.rsp".into()], None, vec!["rsp.o"]),
        (
            vec!["-c".into(), "bad.c".into(), "-o".into(), "bad.o".into()],
            None,
            vec![],
        ),
        (
            vec!["hello.c".into(), "-o".into(), "prog".into()],
            None,
            vec!["prog"],
        ),
        (
            vec![
                "-c".into(),
                OsString::from_vec(b"-DVAL=\xff\xfe".to_vec()),
                "nonutf.c".into(),
                "-o".into(),
                "nonutf.o".into(),
            ],
            None,
            vec!["nonutf.o"],
        ),
    ];
    let run = |mut c: Command, stdin: Option<&[u8]>| {
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn");
        {
            use std::io::Write;
            let mut si = child.stdin.take().expect("stdin");
            if let Some(b) = stdin {
                si.write_all(b).expect("stdin write");
            }
        }
        child.wait_with_output().expect("wait")
    };
    for (args, stdin, files) in &cases {
        let bare = run(
            {
                let mut c = w.bare("gcc");
                c.args(args);
                c
            },
            *stdin,
        );
        let bare_files: Vec<Vec<u8>> = files.iter().map(|f| read(&w.work.join(f))).collect();
        for tool in ["none", "ccache", "sccache"] {
            w.config(&format!("[cache]\ntool = \"{tool}\"\ndir = \"cache\"\n"));
            for how in [How::Masquerade, How::Launcher] {
                for f in files {
                    let _ = std::fs::remove_file(w.work.join(f));
                }
                let mut c = match how {
                    How::Masquerade => w.shim(&shims, "gcc"),
                    How::Launcher => {
                        let mut c = w.tk();
                        c.arg("gcc");
                        c
                    }
                };
                c.args(args);
                let got = run(c, *stdin);
                let ctx = format!("{tool} {how:?} {args:?}");
                assert_eq!(
                    got.status.code(),
                    bare.status.code(),
                    "{ctx}: exit code\n{}",
                    describe(&got)
                );
                assert_eq!(
                    String::from_utf8_lossy(&got.stdout),
                    String::from_utf8_lossy(&bare.stdout),
                    "{ctx}: stdout"
                );
                assert_eq!(
                    String::from_utf8_lossy(&got.stderr),
                    String::from_utf8_lossy(&bare.stderr),
                    "{ctx}: stderr"
                );
                for (f, want) in files.iter().zip(&bare_files) {
                    assert_eq!(&read(&w.work.join(f)), want, "{ctx}: {f} differs");
                }
            }
        }
    }
}

#[test]
fn signals_pass_through_both_ways() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, _shims) = World::with_shims();
    // A compiler that dies of SIGSEGV makes the shim die of SIGSEGV.
    let segv = w.root().join("sig/gcc");
    w.script(&segv, "#!/bin/sh\nkill -SEGV $$\n");
    w.toolchainkit()
        .arg(&segv)
        .args(["-c", "x.c"])
        .env("TOOLCHAINKIT_TOOL", "none")
        .signal(libc::SIGSEGV)
        .run();
    // SIGTERM sent to the shim reaches the compiler.
    let slow = w.root().join("slow/gcc");
    let marker = w.root().join("got-term");
    let started = w.root().join("started");
    w.script(
        &slow,
        &format!(
            "#!/bin/sh\ntrap 'echo term > {m}; exit 143' TERM\ntouch {s}\ni=0\nwhile [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done\nexit 0\n",
            m = marker.display(),
            s = started.display()
        ),
    );
    let mut child = w
        .tk()
        .arg(&slow)
        .args(["-c", "x.c"])
        .env("TOOLCHAINKIT_TOOL", "none")
        .spawn()
        .expect("spawn");
    wait_until(
        "the fake compiler starts",
        std::time::Duration::from_secs(30),
        || started.exists(),
    );
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(143), "{status:?}");
    assert_eq!(read(&marker), b"term\n");
}

#[test]
fn fails_open_when_the_tool_fails() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (mut w, shims) = World::with_shims();
    w.write("hello.c", HELLO_C);
    let want = reference(&w, "gcc", "hello.c", "ref.o");
    // 1. sccache's server cannot start (unreachable remote): compile directly.
    w.config("[cache]\ntool = \"sccache\"\ndir = \"cache\"\n");
    w.env.push((
        "SCCACHE_WEBDAV_ENDPOINT".into(),
        "http://127.0.0.1:9".into(),
    ));
    w.test(shims.join("gcc"))
        .args(["-c", "hello.c", "-o", "a.o"])
        .silent()
        .run();
    assert_eq!(read(&w.work.join("a.o")), want);
    w.env.clear();
    // 2. sccache on a driver it does not understand: the sccache client exits 2 on its
    // own; the native client hears `UnsupportedCompiler`. Both compile directly.
    let odd = w.root().join("odd/gcc");
    w.script(&odd, "#!/bin/sh\nfor a; do last=$a; done\nwhile [ $# -gt 0 ]; do [ \"$1\" = -o ] && out=$2; shift; done\n[ -n \"$out\" ] && echo built > \"$out\"\nexit 0\n");
    for client in ["process", "native"] {
        let _ = std::fs::remove_file(w.work.join("odd.o"));
        w.toolchainkit()
            .arg(&odd)
            .args(["-c", "hello.c", "-o", "odd.o"])
            .env("TOOLCHAINKIT_SCCACHE_CLIENT", client)
            .silent()
            .run();
        assert_eq!(read(&w.work.join("odd.o")), b"built\n", "{client}");
    }
    // 3. ccache refuses a remote scheme it cannot serve.
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.env
        .push(("CCACHE_REMOTE_STORAGE".into(), "s3://bucket".into()));
    w.test(shims.join("gcc"))
        .args(["-c", "hello.c", "-o", "b.o"])
        .silent()
        .run();
    assert_eq!(read(&w.work.join("b.o")), want);
    w.env.clear();
    // 4. ccache cannot create its cache directory.
    w.write("blocker", "a file where a directory should be");
    w.config("[cache]\ntool = \"ccache\"\ndir = \"blocker/sub\"\n");
    w.test(shims.join("gcc"))
        .args(["-c", "hello.c", "-o", "c.o"])
        .silent()
        .run();
    assert_eq!(read(&w.work.join("c.o")), want);
    let s = w.stats();
    let reasons = &s["fallback_reasons"];
    assert_eq!(
        reasons["sccache_server_unavailable"].as_u64(),
        Some(1),
        "{s}"
    );
    assert_eq!(reasons["sccache_failed"].as_u64(), Some(1), "{s}");
    assert_eq!(
        s["uncacheable_reasons"]["unsupported_compiler"].as_u64(),
        Some(1),
        "{s}"
    );
    assert_eq!(reasons["ccache_failed"].as_u64(), Some(2), "{s}");
    // 5. ar through the shim (forced with `--`: `ar` is no compiler name) is not given
    // to a cache tool at all.
    w.config("[cache]\ntool = \"sccache\"\ndir = \"cache\"\n");
    w.toolchainkit()
        .args(["--", "ar", "rcs", "libx.a", "ref.o"])
        .silent()
        .run();
    assert!(w.work.join("libx.a").is_file());
}

#[test]
fn tool_falls_through_prefer_and_to_the_bare_compiler() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (mut w, shims) = World::with_shims();
    w.tools_in_path = false;
    w.write("hello.c", HELLO_C);
    // sccache asked for but absent; ccache available by explicit path: used.
    w.config("[cache]\ntool = \"sccache\"\ndir = \"cache\"\n");
    w.env.push((
        "TOOLCHAINKIT_CCACHE_PATH".into(),
        ccache().display().to_string(),
    ));
    let out = w.toolchainkit().args(["which", "gcc"]).run();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("cache tool: ccache"),
        "{}",
        describe(&out)
    );
    w.test(shims.join("gcc"))
        .args(["-c", "hello.c"])
        .silent()
        .run();
    assert_eq!(w.stats()["misses"].as_u64(), Some(1));
    // Nothing installed: the real compiler runs, counted as a fallback.
    w.env.clear();
    w.test(shims.join("gcc"))
        .args(["-c", "hello.c", "-o", "n.o"])
        .silent()
        .run();
    assert!(w.work.join("n.o").is_file());
    assert_eq!(
        w.stats()["fallback_reasons"]["no_tool_found"].as_u64(),
        Some(1)
    );
}

#[test]
fn invalid_config_is_a_hard_error_with_file_line_key_and_hint() {
    if skip_unless(&[Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.write("hello.c", HELLO_C);
    let cases = [
        (
            "[cache]\nenabled = true\ntol = \"ccache\"\n",
            ":3:",
            "`cache.tol`",
            "did you mean `tool`?",
        ),
        (
            "[cache]\ntool = \"sccach\"\n",
            ":2:",
            "`cache.tool`",
            "did you mean `sccache`?",
        ),
        (
            "[cache]\nsize_gb = \"big\"\n",
            ":2:",
            "`cache.size_gb`",
            "hint:",
        ),
        ("[cache\n", ":1:", "", "hint:"),
    ];
    for (text, line, key, hint) in cases {
        w.config(text);
        for out in [
            w.test(shims.join("gcc")).args(["-c", "hello.c"]),
            w.toolchainkit().arg("config"),
        ]
        .map(|t| t.status(78).run())
        {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.starts_with("toolchainkit: error: "), "{err}");
            assert!(
                err.contains(".toolchainkit.toml")
                    && err.contains(line)
                    && err.contains(key)
                    && err.contains(hint),
                "{text:?}: {err}"
            );
        }
    }
    w.config("[cache]\ntool = \"ccache\"\n");
    w.test(shims.join("gcc"))
        .env("TOOLCHAINKIT_TOOL", "cc-ache")
        .args(["-c", "hello.c"])
        .status(78)
        .stderr_contains("TOOLCHAINKIT_TOOL")
        .run();
}

#[test]
fn config_layers_and_origins() {
    let w = World::new();
    let user = w.root().join("config/toolchainkit/config.toml");
    std::fs::create_dir_all(user.parent().expect("parent")).expect("mkdir");
    std::fs::write(&user, "[cache]\ntool = \"ccache\"\nsize_gb = 3\n").expect("write");
    w.config("[cache]\ntool = \"none\"\ndir = \"c\"\n");
    std::fs::create_dir_all(w.work.join("sub/deeper")).expect("mkdir");
    let text = w
        .toolchainkit()
        .arg("config")
        .current_dir(w.work.join("sub/deeper"))
        .stdout_text();
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("cache.tool = \"none\"").contains("project file"),
        "{text}"
    );
    assert!(line("cache.size_gb = 3").contains("user file"), "{text}");
    assert!(
        line("cache.dir = ").contains(&w.work.join("c").display().to_string()),
        "relative to the file: {text}"
    );
    assert!(line("cache.enabled = true").contains("default"), "{text}");
    let text = w
        .toolchainkit()
        .arg("config")
        .env("TOOLCHAINKIT_TOOL", "sccache")
        .stdout_text();
    assert!(
        text.lines()
            .any(|l| l.starts_with("cache.tool = \"sccache\"")
                && l.contains("environment TOOLCHAINKIT_TOOL")),
        "{text}"
    );
    let text = w
        .toolchainkit()
        .arg("config")
        .env("TOOLCHAINKIT_DISABLE", "1")
        .stdout_text();
    assert!(
        text.lines()
            .any(|l| l.starts_with("cache.enabled = false") && l.contains("TOOLCHAINKIT_DISABLE")),
        "{text}"
    );
}

#[test]
fn sccache_servers_are_per_settings_and_started_once_under_parallel_load() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.write(
        "a/.toolchainkit.toml",
        "[cache]\ntool = \"sccache\"\ndir = \"cache\"\n",
    );
    w.write(
        "b/.toolchainkit.toml",
        "[cache]\ntool = \"sccache\"\ndir = \"cache\"\nsize_gb = 2\n",
    );
    for p in ["a", "b"] {
        for i in 0..6 {
            w.write(
                &format!("{p}/f{i}.c"),
                format!("int f{i}(void) {{ return {i}; }}\n"),
            );
        }
    }
    let mut children = Vec::new();
    for p in ["a", "b"] {
        for i in 0..6 {
            children.push(
                w.cmd(shims.join("gcc"))
                    .current_dir(w.work.join(p))
                    .args(["-c", &format!("f{i}.c")])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn"),
            );
        }
    }
    for c in children {
        silent(c.wait_with_output().expect("wait"));
    }
    let socks = w.sccache_sockets();
    assert_eq!(
        socks.len(),
        2,
        "one server per distinct settings: {socks:?}"
    );
    let mut locations = Vec::new();
    for s in &socks {
        let st = w.sccache_stats(s);
        assert_eq!(st["stats"]["compile_requests"].as_u64(), Some(6), "{st}");
        locations.push(
            st["cache_location"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    locations.sort();
    assert!(
        locations[0].contains("/a/cache/sccache") && locations[1].contains("/b/cache/sccache"),
        "{locations:?}"
    );
}

#[test]
fn toolchainkit_version_and_help() {
    let w = World::new();
    let out = w.toolchainkit().arg("--version").run();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("toolchainkit {}", env!("CARGO_PKG_VERSION"))
    );
    let out = w.toolchainkit().arg("help").run();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "masquerade",
        "launcher",
        "config",
        "which",
        "shims",
        "stats",
    ] {
        assert!(text.contains(word), "help lacks {word}: {text}");
    }
}

#[test]
fn masquerade_through_hard_link_copy_and_relative_path() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let w = World::new();
    w.write("hello.c", HELLO_C);
    let want = reference(&w, "gcc", "hello.c", "ref.o");
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    let hard = w.root().join("hard");
    let copy = w.root().join("copy");
    std::fs::create_dir_all(&hard).expect("mkdir");
    std::fs::create_dir_all(&copy).expect("mkdir");
    // A copy of the binary named gcc, and a hard link to that copy (on the same file
    // system whatever the checkout's, so the hard link is always made and tested).
    std::fs::copy(bin(), copy.join("gcc")).expect("copy binary");
    std::fs::hard_link(copy.join("gcc"), hard.join("gcc")).expect("hard link");
    let dirs = [copy.clone(), hard.clone()];
    for (i, dir) in dirs.iter().enumerate() {
        let out = format!("o{i}.o");
        w.test(dir.join("gcc"))
            .env(
                "PATH",
                format!(
                    "{}:{}:{}",
                    dir.display(),
                    tools_dir().display(),
                    system_path()
                ),
            )
            .args(["-c", "hello.c", "-o", &out])
            .silent()
            .run();
        assert_eq!(read(&w.work.join(&out)), want, "{}", dir.display());
    }
    // Relative path to a shim, from the project directory.
    let shims = w.install_shims("proj/rel-shims");
    assert!(shims.starts_with(&w.work));
    w.test("./rel-shims/gcc")
        .args(["-c", "hello.c", "-o", "rel.o"])
        .silent()
        .run();
    assert_eq!(read(&w.work.join("rel.o")), want);
    assert_eq!(
        w.stats()["invocations"].as_u64(),
        Some(dirs.len() as u64 + 1)
    );
}

/// The sccache server the shim starts outlives the compile: it must not keep descriptors
/// the build gave the compiler. Here the build's stdout pipe is also open on fd 5 (as
/// configure's `exec 6>&1` / `5>>config.log` do); the reader must see EOF when the
/// compile is done, not when the server exits ten minutes later.
#[test]
fn sccache_server_does_not_keep_the_builds_descriptors() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"sccache\"\ndir = \"cache\"\n");
    w.write("hello.c", HELLO_C);
    let mut child = w
        .cmd("bash")
        .arg("-c")
        .arg(format!(
            "exec 5>&1; {} -c hello.c -o hello.o; echo compiled",
            shims.join("gcc").display()
        ))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        let _ = tx.send(text);
    });
    assert!(child.wait().expect("wait").success());
    assert_eq!(w.sccache_sockets().len(), 1, "the shim started a server");
    // A bound on liveness, not a timing measurement: EOF arrives at once when no other
    // process holds the pipe; a leaked descriptor holds it for the server's lifetime.
    let text = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the build's pipe reached EOF: no server holds it");
    assert_eq!(text, "compiled\n");
}

/// clang and clang++ through both tools, in both modes: objects identical to bare clang's,
/// a hit on the second compile by the tool's own counters, and nothing printed.
#[test]
fn clang_through_ccache_and_sccache_identical_objects() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("clang", "clang"),
    ]) {
        return;
    }
    for tool in ["ccache", "sccache"] {
        for how in [How::Masquerade, How::Launcher] {
            let (w, shims) = World::with_shims();
            w.config(&format!("[cache]\ntool = \"{tool}\"\ndir = \"cache\"\n"));
            let ctx = format!("{tool} {how:?}");
            c_and_cxx_twice_match_bare(&w, how, &shims, "clang", "clang++", &ctx);
            let s = w.stats();
            assert_eq!(s["invocations"].as_u64(), Some(4), "{tool} {how:?}: {s}");
            assert_eq!(
                (s["misses"].as_u64(), s["hits"].as_u64()),
                (Some(2), Some(2)),
                "{tool} {how:?}: {s}"
            );
            if tool == "ccache" {
                let c = w.ccache_counters(&w.work.join("cache/ccache"));
                assert_eq!(c.get("direct_cache_hit"), Some(&2), "{how:?}: {c:?}");
            } else {
                let socks = w.sccache_sockets();
                let st = w.sccache_stats(&socks[0]);
                let hits = sccache_total(&st, "cache_hits");
                assert_eq!(hits, 2, "{how:?}: sccache's own counters: {st}");
            }
        }
    }
}
