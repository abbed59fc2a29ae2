//! Criterion benches of the compile hot path's parts, in process, through the library's
//! public API: config discovery and loading, compiler resolution with wrappers to skip,
//! the locked stats update (alone and with 8 concurrent writers), the ccache outcome read,
//! the sccache outcome read and native request, what sccache fidelity adds, and the cost
//! of starting the one child (posix_spawn as used, versus fork + exec).
//!
//! Run with `cargo bench --bench hotpath`. Every fixture lives in a temporary directory;
//! `HOME` and the XDG directories point into it so no user file is read or written.

use std::ffi::OsString;
use std::fs;
use std::hint::black_box;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use toolchainkit::{config, outcome, resolve, stats};

/// A private environment: nothing from the user's configuration leaks in.
fn isolate(root: &Path) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("TOOLCHAINKIT_") || k.starts_with("CCACHE_") || k.starts_with("SCCACHE_") {
            // SAFETY: set-up runs before criterion starts any thread.
            unsafe { std::env::remove_var(k.as_ref()) };
        }
    }
    for (k, sub) in [
        ("HOME", "home"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_RUNTIME_DIR", "run"),
    ] {
        // SAFETY: as above.
        unsafe { std::env::set_var(k, root.join(sub)) };
    }
}

/// `root/d1/d2/.../dN`, created.
fn nested(root: &Path, depth: usize) -> PathBuf {
    let mut p = root.to_path_buf();
    for i in 1..=depth {
        p.push(format!("d{i}"));
    }
    fs::create_dir_all(&p).expect("create nested dirs");
    p
}

fn bench_config(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    isolate(tmp.path());
    let mut g = c.benchmark_group("config");
    let none = nested(&tmp.path().join("none"), 20);
    g.bench_function("discover/no_file_depth20", |b| {
        b.iter(|| config::discover::project_file(config::Place::cwd(black_box(&none))))
    });
    for up in [1usize, 5, 20] {
        let root = tmp.path().join(format!("up{up}"));
        let cwd = nested(&root, up);
        fs::write(
            root.join(config::PROJECT_FILE),
            "[cache]\ntool = \"ccache\"\n",
        )
        .expect("write project file");
        g.bench_function(format!("discover/file_{up}_up"), |b| {
            b.iter(|| config::discover::project_file(config::Place::cwd(black_box(&cwd))))
        });
        g.bench_function(format!("load/file_{up}_up"), |b| {
            b.iter(|| config::load(config::Place::cwd(black_box(&cwd))).expect("valid config"))
        });
    }
    g.bench_function("load/no_file", |b| {
        b.iter(|| config::load(config::Place::cwd(black_box(&none))).expect("valid config"))
    });
    g.finish();
}

/// A `PATH` of `len` entries: a toolchainkit shim directory, a ccache masquerade
/// directory (symlinks to ccache), empty directories, and last the real compiler.
fn path_of(root: &Path, len: usize) -> OsString {
    let shims = root.join("shims");
    let farm = root.join("lib/ccache");
    let tools = root.join("tools");
    let real = root.join("real");
    for d in [&shims, &farm, &tools, &real] {
        fs::create_dir_all(d).expect("create dir");
    }
    let ccache = tools.join("ccache");
    if !ccache.exists() {
        fs::write(&ccache, "#!/bin/sh\n").expect("write ccache stand-in");
        fs::set_permissions(&ccache, fs::Permissions::from_mode(0o755)).expect("chmod");
        symlink(env!("CARGO_BIN_EXE_toolchainkit"), shims.join("cc")).expect("shim link");
        symlink(&ccache, farm.join("cc")).expect("farm link");
        symlink("/usr/bin/cc", real.join("cc")).expect("real cc link");
    }
    let mut dirs = vec![shims, farm];
    for i in 0..len.saturating_sub(3) {
        let d = root.join(format!("empty{i}"));
        fs::create_dir_all(&d).expect("create dir");
        dirs.push(d);
    }
    dirs.push(real);
    std::env::join_paths(dirs).expect("join PATH")
}

fn bench_resolve(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let me = resolve::SelfId::current();
    let cwd = tmp.path().to_path_buf();
    let mut g = c.benchmark_group("resolve");
    for len in [5usize, 50] {
        let pv = path_of(tmp.path(), len);
        let name = OsString::from("cc");
        let r = resolve::search(&name, Some(&pv), &cwd, me).expect("real cc found");
        assert_eq!(r.skipped.len(), 2, "both wrappers skipped");
        g.bench_function(format!("search/path_{len}"), |b| {
            b.iter(|| resolve::search(black_box(&name), Some(&pv), &cwd, me))
        });
        let shim = tmp.path().join("lib/ccache/cc").into_os_string();
        g.bench_function(format!("resolve/masquerade_link_path_{len}"), |b| {
            b.iter(|| resolve::resolve(black_box(&shim), Some(&pv), &cwd, me))
        });
    }
    g.bench_function("self_id", |b| b.iter(resolve::SelfId::current));
    g.finish();
}

fn bench_stats(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut g = c.benchmark_group("stats");
    let path = tmp.path().join("alone.json");
    g.bench_function("record/uncontended", |b| {
        b.iter(|| stats::record(&path, black_box("hit.direct.local"), 1_000_000))
    });
    let path8 = tmp.path().join("eight.json");
    // Eight threads record concurrently; the figure is wall time / records, so it is
    // directly comparable with the uncontended cost of one record.
    g.bench_function("record/8_writers_per_record", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..8 {
                    s.spawn(|| {
                        for _ in 0..iters.div_ceil(8) {
                            stats::record(&path8, "hit.direct.local", 1_000_000).expect("record");
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    // Absent when a filter skipped the writers.
    if let Some(loaded) = stats::load(&path8).expect("load") {
        assert_eq!(
            loaded.invocations, loaded.outcomes["hit.direct.local"].count,
            "no count lost"
        );
    }
    g.bench_function("load", |b| b.iter(|| stats::load(black_box(&path))));
    g.finish();
}

fn bench_outcome(c: &mut Criterion) {
    let hit = "# /src/x.c\ndirect_cache_hit\nlocal_storage_read_hit\nlocal_storage_hit\n";
    let miss = "# /src/x.c\ncache_miss\ndirect_cache_miss\nlocal_storage_miss\npreprocessed_cache_miss\nlocal_storage_write\n";
    let mut g = c.benchmark_group("outcome");
    g.bench_function("ccache_statslog/hit", |b| {
        b.iter(|| outcome::from_ccache_statslog(black_box(hit)))
    });
    g.bench_function("ccache_statslog/miss", |b| {
        b.iter(|| outcome::from_ccache_statslog(black_box(miss)))
    });
    g.finish();
}

/// The sccache outcome read: lock the basename, note the log's end, then read the line
/// written meanwhile (one line appended per iteration, as the server does); and the
/// native client's request encoding and reply decoding.
fn bench_sccache(c: &mut Criterion) {
    use std::io::Write;
    use toolchainkit::backend::sccache::{log as sccache_log, wire};
    let tmp = tempfile::tempdir().expect("tempdir");
    let sock = tmp.path().join("s.sock");
    let log = sccache_log::log_path(&sock);
    fs::write(&log, b"").expect("log");
    let mut f = fs::OpenOptions::new().append(true).open(&log).expect("log");
    let line = b"[2026-11-28T18:34:20Z DEBUG sccache::server] [x.o]: compile result: cache hit\n";
    let mut g = c.benchmark_group("sccache");
    g.bench_function("outcome_watch/begin_append_finish", |b| {
        b.iter(|| {
            let w = sccache_log::Watch::begin(&sock, "x.o").expect("watch");
            f.write_all(line).expect("append");
            black_box(w.finish())
        })
    });
    let args: Vec<OsString> = ["-c", "x.c", "-o", "x.o", "-O2", "-DNDEBUG"]
        .iter()
        .map(OsString::from)
        .collect();
    let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    g.bench_function("native/encode_request", |b| {
        b.iter(|| {
            wire::encode_compile(black_box(&wire::Compile {
                exe: "/usr/bin/cc".as_ref(),
                cwd: "/src/project".as_ref(),
                args: &args,
                env_vars: &env,
            }))
        })
    });
    let reply = wire::encode_response(&wire::Response::Finished(wire::CompileFinished {
        retcode: Some(0),
        signal: None,
        stdout: Vec::new(),
        stderr: b"x.c:1:1: warning: something\n".to_vec(),
        color_mode: wire::ColorMode::Auto,
    }));
    g.bench_function("native/decode_reply", |b| {
        b.iter(|| wire::decode_response(black_box(&reply[4..])))
    });
    g.finish();
}

/// What a compile through sccache adds for fidelity (`backend::fidelity`): the argument
/// check (borrowed for explicit `-MF` as CMake writes it, a copy for gcc's default
/// depfile), the locale read, and the mode repair of an object and its depfile.
fn bench_fidelity(c: &mut Criterion) {
    use toolchainkit::backend::{self, fidelity};
    let words = |v: &[&str]| -> Vec<OsString> { v.iter().map(OsString::from).collect() };
    let cmake = words(&[
        "-DNDEBUG",
        "-Iinc",
        "-O2",
        "-MD",
        "-MT",
        "obj/x.o",
        "-MF",
        "obj/x.o.d",
        "-o",
        "obj/x.o",
        "-c",
        "x.c",
    ]);
    let make = words(&["-MMD", "-MP", "-Iinc", "-O2", "-c", "x.c", "-o", "obj/x.o"]);
    let mut g = c.benchmark_group("fidelity");
    g.bench_function("for_sccache/explicit_mf", |b| {
        b.iter(|| {
            let a = black_box(&cmake);
            fidelity::for_sccache(a, &toolchainkit::args::parse(a)).len()
        })
    });
    g.bench_function("for_sccache/default_depfile", |b| {
        b.iter(|| {
            let a = black_box(&make);
            fidelity::for_sccache(a, &toolchainkit::args::parse(a)).len()
        })
    });
    g.bench_function("locale_buster/env", |b| {
        b.iter(|| fidelity::locale_buster(|k| std::env::var_os(k)))
    });
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(tmp.path().join("obj")).expect("mkdir");
    for f in ["obj/x.o", "obj/x.d"] {
        fs::write(tmp.path().join(f), b"x").expect("write");
    }
    g.bench_function("fix_output_modes/object_and_depfile", |b| {
        b.iter(|| {
            backend::fix_output_modes(&toolchainkit::args::parse(black_box(&make)), tmp.path())
        })
    });
    g.finish();
}

/// The outer-wrapper check every compile makes: `getppid` and one `readlink` of
/// `/proc/PPID/exe` (the parent here is cargo or a shell, not a cache tool).
fn bench_outer(c: &mut Criterion) {
    let mut g = c.benchmark_group("outer");
    g.bench_function("parent_cache_tool", |b| {
        b.iter(toolchainkit::outer::parent_cache_tool)
    });
    g.finish();
}

/// What starting the one child costs: std's `Command` (posix_spawn, a vfork-style clone)
/// versus a classic fork + exec (forced by a `pre_exec` hook). Both run `/bin/true`.
fn bench_spawn(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("posix_spawn_wait/true", |b| {
        b.iter(|| Command::new("/bin/true").status().expect("run /bin/true"))
    });
    g.bench_function("fork_exec_wait/true", |b| {
        b.iter(|| {
            let mut cmd = Command::new("/bin/true");
            // SAFETY: the hook does nothing; it only makes std use fork + exec.
            unsafe { cmd.pre_exec(|| Ok(())) };
            cmd.status().expect("run /bin/true")
        })
    });
    g.finish();
}

/// What a miss adds after its compile: the record (compiler identity from the memo,
/// source and 60 headers of 8 KiB hashed from a depfile, the previous record read and
/// compared) and its write; the write of an 8 KB record alone; and the one `match` a
/// hit costs.
fn bench_explain(c: &mut Criterion) {
    use std::os::unix::process::ExitStatusExt;
    use toolchainkit::explain;
    let tmp = tempfile::tempdir().expect("tempdir");
    isolate(tmp.path());
    let proj = tmp.path().join("proj");
    let inc = proj.join("include");
    fs::create_dir_all(&inc).expect("mkdir");
    let mut dep = String::from("a.o: src.c");
    for i in 0..60 {
        let h = inc.join(format!("h{i}.h"));
        fs::write(&h, vec![b'x'; 8192]).expect("header");
        dep.push_str(&format!(" \\\n {}", h.display()));
    }
    dep.push('\n');
    fs::write(proj.join("src.c"), vec![b'y'; 16384]).expect("source");
    fs::write(proj.join("a.o.d"), dep).expect("depfile");
    fs::write(proj.join("a.o"), vec![0u8; 20000]).expect("object");
    let mut cfg = config::Config::default();
    cfg.dir.value = Some(tmp.path().join("cache"));
    let args: Vec<OsString> = [
        "-Iinclude",
        "-O2",
        "-MD",
        "-MT",
        "a.o",
        "-MF",
        "a.o.d",
        "-o",
        "a.o",
        "-c",
        "src.c",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    let real = PathBuf::from("/usr/bin/cc");
    let exe = PathBuf::from("/usr/bin/true");
    let miss = outcome::Outcome::Miss;
    let hit = outcome::Outcome::Hit(outcome::HitKind::Direct, outcome::Storage::Local);
    let parsed = toolchainkit::args::parse(&args);
    let finished = |o| explain::Finished {
        cfg: &cfg,
        tool: config::Tool::Ccache,
        exe: &exe,
        real: &real,
        args: &args,
        parsed: &parsed,
        cwd: &proj,
        outcome: o,
        status: std::process::ExitStatus::from_raw(0),
        nanos: 100_000_000,
    };
    let mut g = c.benchmark_group("explain");
    g.bench_function("miss_record_60_headers", |b| {
        b.iter(|| explain::after_compile(black_box(&finished(&miss))))
    });
    let rec = explain::record::Record {
        output: "build/x.o".into(),
        detail: vec!["x".repeat(8000)],
        ..explain::record::Record::default()
    };
    let store = tmp.path().join("store");
    g.bench_function("save_record", |b| {
        b.iter(|| explain::store::save(&store, black_box(&rec), explain::store::SHARD_BYTES))
    });
    g.bench_function("hit_check", |b| {
        b.iter(|| explain::after_compile(black_box(&finished(&hit))))
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_explain,
    bench_config,
    bench_resolve,
    bench_stats,
    bench_outcome,
    bench_sccache,
    bench_fidelity,
    bench_outer,
    bench_spawn
);
criterion_main!(benches);
