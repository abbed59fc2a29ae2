//! Conformance: the invocation shapes where a cache tool is known to differ from the bare
//! compiler (sccache 0.16: a depfile missing on a hit, secondary outputs written 0640,
//! diagnostics of another locale replayed, a failing compile's diagnostics taken from its
//! preprocessor), each compiled bare and then twice through toolchainkit, cold and warm,
//! with ccache and with sccache through both clients, in masquerade and launcher mode.
//! Exit code, stdout, stderr and every file left behind (its bytes and its mode) must be
//! the bare compiler's, and every warm compile that can be cached must be a hit.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use common::*;

/// One invocation shape.
struct Shape {
    name: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    /// Compare the files' bytes (else their sizes: gcc writes a time stamp into the
    /// `.gcno` and the object of every `--coverage` compile).
    bytes: bool,
    /// Cacheable: the warm compile must be a hit.
    cached: bool,
}

const SHAPES: &[Shape] = &[
    Shape {
        // gcc's default depfile (no -MF) beside the object: written on a hit too.
        name: "depfile_without_mf",
        args: &[
            "-MMD",
            "-MP",
            "-Iinc",
            "-c",
            "uses_hdr.c",
            "-o",
            "obj/uses_hdr.o",
        ],
        env: &[],
        bytes: true,
        cached: true,
    },
    Shape {
        name: "split_dwarf",
        args: &["-gsplit-dwarf", "-c", "sd.c", "-o", "sd.o"],
        env: &[],
        bytes: true,
        cached: true,
    },
    Shape {
        name: "coverage",
        args: &["--coverage", "-c", "cov.c", "-o", "cov.o"],
        env: &[],
        bytes: false,
        cached: true,
    },
    Shape {
        name: "wp_depfile",
        args: &["-Iinc", "-Wp,-MD,wp.d", "-c", "wp.c", "-o", "wp.o"],
        env: &[],
        bytes: true,
        cached: true,
    },
    Shape {
        // A CI job's locale, then a developer's: each sees its own quotes.
        name: "locale_c",
        args: &["-Wall", "-c", "warn.c", "-o", "warn.o"],
        env: &[("LC_ALL", "C")],
        bytes: true,
        cached: true,
    },
    Shape {
        name: "locale_c_utf8",
        args: &["-Wall", "-c", "warn.c", "-o", "warn.o"],
        env: &[("LC_ALL", "C.UTF-8")],
        bytes: true,
        cached: true,
    },
    Shape {
        // The error surfaces in sccache's preprocessing step, without `In function`.
        name: "failing_in_the_preprocessor",
        args: &[
            "-std=c89",
            "-pedantic-errors",
            "-c",
            "cxx_comment.c",
            "-o",
            "cxx.o",
        ],
        env: &[],
        bytes: true,
        cached: false,
    },
    Shape {
        // A failing compile leaves its depfile behind, with gcc's mode.
        name: "failing_with_depfile",
        args: &["-MMD", "-c", "bad.c", "-o", "obj/bad.o"],
        env: &[],
        bytes: true,
        cached: false,
    },
];

const SOURCES: &[(&str, &str)] = &[
    ("inc/hdr.h", "#define HDR 1\n"),
    (
        "uses_hdr.c",
        "#include \"hdr.h\"\nint uses(void) { return HDR; }\n",
    ),
    ("wp.c", "#include \"hdr.h\"\nint wp(void) { return HDR; }\n"),
    ("sd.c", "int sd(int x) { return x + 1; }\n"),
    ("cov.c", "int cov(int x) { return x ? 2 : 3; }\n"),
    ("warn.c", "int f(int x) { int unused; return x; }\n"),
    (
        "cxx_comment.c",
        "int c89(void) {\n  // a C++ comment\n  return 0;\n}\n",
    ),
    ("bad.c", "int g(void) { return nope; }\n"),
];

#[derive(Clone, Copy, Debug)]
enum How {
    Masquerade,
    Launcher,
}

/// Every file the compiles left in the project, relative path -> (mode, bytes); the
/// sources, the project file and the cache are not outputs.
fn left(w: &World) -> BTreeMap<String, (u32, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (u32, Vec<u8>)>) {
        for e in fs::read_dir(dir).expect("read_dir").flatten() {
            let p = e.path();
            let rel = p
                .strip_prefix(root)
                .expect("under the project")
                .to_string_lossy()
                .into_owned();
            if rel == "cache" || rel == ".toolchainkit.toml" || SOURCES.iter().any(|s| s.0 == rel) {
                continue;
            }
            let m = fs::symlink_metadata(&p).expect("stat");
            if m.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(rel, (m.permissions().mode() & 0o777, read(&p)));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&w.work, &w.work, &mut out);
    out
}

/// Remove every output, so the next compile starts from the sources alone.
fn clean(w: &World) {
    for rel in left(w).keys() {
        fs::remove_file(w.work.join(rel)).expect("remove an output");
    }
}

fn run(mut t: Test, shape: &Shape) -> Output {
    t = t.args(shape.args);
    for (k, v) in shape.env {
        t = t.env(k, v);
    }
    t.any_status().run()
}

/// What a compile produced, in a form to compare: files by mode and bytes (or size).
type Seen = (Option<i32>, String, String, BTreeMap<String, String>);

fn result(out: &Output, files: BTreeMap<String, (u32, Vec<u8>)>, shape: &Shape) -> Seen {
    let files = files
        .into_iter()
        .map(|(k, (mode, b))| {
            let shown = if shape.bytes {
                format!("mode {mode:04o}, {} bytes, fnv {:x}", b.len(), fnv(&b))
            } else {
                format!("mode {mode:04o}, {} bytes", b.len())
            };
            (k, shown)
        })
        .collect();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        files,
    )
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn hits(w: &World) -> u64 {
    w.stats()["hits"].as_u64().unwrap_or(0)
}

/// Every shape bare, then cold and warm through toolchainkit with `tool` (and the sccache
/// `client`) in mode `how`, in a world of its own: the differences found.
fn conform(tool: &str, client: &str, how: How) -> Vec<String> {
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    w.config(&format!(
        "[cache]\ntool = \"{tool}\"\ndir = \"cache\"\nsccache_client = \"{client}\"\n"
    ));
    for (rel, text) in SOURCES {
        w.write(rel, text);
    }
    fs::create_dir_all(w.work.join("obj")).expect("mkdir obj");
    // The bare compiler's result for each shape, in this same directory (debug
    // information names it).
    let want: Vec<Seen> = SHAPES
        .iter()
        .map(|shape| {
            clean(&w);
            let out = run(w.test_bare("gcc"), shape);
            result(&out, left(&w), shape)
        })
        .collect();
    let mut failures = Vec::new();
    for round in ["cold", "warm"] {
        for (shape, want) in SHAPES.iter().zip(&want) {
            clean(&w);
            let before = (round == "warm" && shape.cached).then(|| hits(&w));
            let t = match how {
                How::Masquerade => w.test_shim(&shims, "gcc"),
                How::Launcher => w.toolchainkit().arg("/usr/bin/gcc"),
            };
            let out = run(t, shape);
            let got = result(&out, left(&w), shape);
            let ctx = format!("{tool} {client} {how:?} {round} {}", shape.name);
            for (what, differs) in [
                ("exit code", got.0 != want.0),
                ("stdout", got.1 != want.1),
                ("stderr", got.2 != want.2),
                ("the files left, with their modes", got.3 != want.3),
            ] {
                if differs {
                    failures.push(format!(
                        "{ctx}: {what}\n  bare:    {want:?}\n  through: {got:?}"
                    ));
                }
            }
            if let Some(before) = before
                && hits(&w) != before + 1
            {
                failures.push(format!("{ctx}: the warm compile is not a cache hit"));
            }
        }
    }
    let s = w.stats();
    // The failed preprocessor, counted as before (sccache: its `cache error`); the
    // compiler ran directly.
    if tool == "sccache" && s["uncacheable_reasons"]["preprocessor_error"].as_u64() != Some(2) {
        failures.push(format!(
            "{tool} {client} {how:?}: two uncacheable.preprocessor_error: {s}"
        ));
    }
    failures
}

/// Both modes with `tool` (and `client`): no difference from bare gcc.
fn conform_both_modes(tool: &str, client: &str) {
    let failures: Vec<String> = [How::Masquerade, How::Launcher]
        .into_iter()
        .flat_map(|how| conform(tool, client, how))
        .collect();
    assert!(
        failures.is_empty(),
        "{} differences from bare gcc:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn needs() -> bool {
    skip_unless(&[Need::tools(), Need::compilers()])
}

#[test]
fn sccache_native_client_shapes_match_bare_gcc() {
    if needs() {
        return;
    }
    conform_both_modes("sccache", "native");
}

#[test]
fn sccache_process_client_shapes_match_bare_gcc() {
    if needs() {
        return;
    }
    conform_both_modes("sccache", "process");
}

#[test]
fn ccache_shapes_match_bare_gcc() {
    if needs() {
        return;
    }
    conform_both_modes("ccache", "native");
}
