//! nvcc (CUDA 13.5 from NVIDIA's PyPI wheels, host compiler the system gcc) through
//! toolchainkit: masquerade and launcher, miss then hit with ccache, `tool = "sccache"` and
//! `"auto"` routed away from sccache (which cannot compile with this nvcc), failing
//! compiles, introspection, nvcc's own host-compiler calls, and the CMake CUDA example.
//!
//! nvcc embeds the names of its temporary files (`tmpxft_<pid>_<counter>`, hex) in every
//! object, so two bare compiles of one file already differ; objects are compared with
//! those hex digits masked (`masked`).

use crate::common;

use std::path::{Path, PathBuf};

use common::*;

/// The pinned nvcc's directory (`TOOLCHAINKIT_TEST_CUDA`, else `.venv-cuda/cuda/bin`).
fn cuda_bin() -> PathBuf {
    std::env::var_os("TOOLCHAINKIT_TEST_CUDA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-cuda/cuda/bin"))
}

fn nvcc() -> PathBuf {
    cuda_bin().join("nvcc")
}

fn need_cuda() -> Need {
    Need::file(
        &nvcc(),
        &format!(
            "run `{SETUP}` (installs nvcc from the nvidia-cuda-nvcc wheel) or set TOOLCHAINKIT_TEST_CUDA"
        ),
    )
}

/// What an nvcc test needs.
#[must_use]
fn skip_without_cuda() -> bool {
    skip_unless(&[Need::tools(), Need::compilers(), need_cuda()])
}

const KERNEL_CU: &str = "__global__ void add(float *a, const float *b, int n) {\n    int i = blockIdx.x * blockDim.x + threadIdx.x;\n    if (i < n) a[i] += b[i];\n}\nvoid launch(float *a, const float *b, int n) { add<<<(n + 255) / 256, 256>>>(a, b, n); }\n";

const BROKEN_CU: &str = "__global__ void k(int *p) { *p = undeclared_name; }\n";

/// `bytes` with the hex digits of every `tmpxft_XXXXXXXX_XXXXXXXX` replaced by `x`: the
/// one part of an nvcc object (or `--dryrun` listing) that changes from run to run.
fn masked(bytes: &[u8]) -> Vec<u8> {
    const TAG: &[u8] = b"tmpxft_";
    let mut out = bytes.to_vec();
    let mut i = 0;
    while let Some(at) = out[i..].windows(TAG.len()).position(|w| w == TAG) {
        let start = i + at + TAG.len();
        let end = (start + 17).min(out.len());
        for b in &mut out[start..end] {
            if b.is_ascii_hexdigit() {
                *b = b'x';
            }
        }
        i = end;
    }
    out
}

/// A world whose PATH holds the pinned nvcc, with toolchainkit's shims installed (and
/// first in PATH) after nvcc is in PATH: `nvcc` is among them.
fn world_with_nvcc_shims() -> (World, PathBuf) {
    let mut w = World::new();
    w.path_front.push(cuda_bin());
    let shims = w.install_shims("shims");
    assert!(
        std::fs::symlink_metadata(shims.join("nvcc")).is_ok(),
        "shims install links nvcc when a real nvcc is in PATH"
    );
    w.path_front.insert(0, shims.clone());
    (w, shims)
}

/// Compile `src` with the bare nvcc into `out`; the object's bytes.
fn bare_object(w: &World, src: &str, out: &str) -> Vec<u8> {
    w.test_bare(nvcc())
        .args(["-c", src, "-o", out])
        .silent()
        .run();
    read(&w.work.join(out))
}

fn count(s: &serde_json::Value, key: &str) -> u64 {
    s[key].as_u64().unwrap_or(0)
}

/// The private log of a world's compiles, switched on for every command.
fn log_to(w: &mut World) -> PathBuf {
    let log = w.root().join("toolchainkit.log");
    w.set_env("TOOLCHAINKIT_LOG", "info");
    w.set_env("TOOLCHAINKIT_LOG_FILE", &log);
    log
}

fn log_text(log: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(log).unwrap_or_default()).into_owned()
}

/// Masquerade with ccache: a miss, then a hit, each one outcome by toolchainkit's stats and
/// by ccache's own counters; both objects equal the bare compile's (masked); nothing printed.
#[test]
fn nvcc_masquerade_ccache_miss_then_hit() {
    if skip_without_cuda() {
        return;
    }
    let (w, shims) = world_with_nvcc_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write("k.cu", KERNEL_CU);
    let bare = bare_object(&w, "k.cu", "bare.o");
    for round in 0..2 {
        w.test_shim(&shims, "nvcc")
            .args(["-c", "k.cu", "-o", "k.o"])
            .silent()
            .run();
        assert_eq!(
            masked(&read(&w.work.join("k.o"))),
            masked(&bare),
            "round {round}: the object differs from bare nvcc's beyond its tmpxft names"
        );
        let s = w.stats();
        assert_eq!(
            (
                count(&s, "invocations"),
                count(&s, "hits"),
                count(&s, "misses")
            ),
            (round + 1, round, 1),
            "round {round}: {s}"
        );
    }
    let c = w.ccache_counters(&w.work.join("cache/ccache"));
    let get = |k: &str| c.get(k).copied().unwrap_or(0);
    assert_eq!(
        (
            get("direct_cache_hit") + get("preprocessed_cache_hit"),
            get("cache_miss")
        ),
        (1, 1),
        "ccache's own counters: {c:?}"
    );
    // doctor: nvcc reaches the shim first, and its compiles go to ccache.
    let r = w.toolchainkit().arg("doctor").any_status().stdout_text();
    let line = |name: &str| {
        r.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("path.nvcc").starts_with("ok") && line("path.nvcc").contains("masquerade active"),
        "{r}"
    );
    assert!(
        line("nvcc.tool").starts_with("ok") && line("nvcc.tool").contains("go to ccache"),
        "{r}"
    );
}

/// Launcher mode (`toolchainkit nvcc`, as CMake's CUDA launcher runs it) with host-compiler
/// shims first in PATH and no nvcc among them: nvcc's own gcc/g++ calls run the real gcc,
/// never re-entering toolchainkit, and the compile misses then hits.
#[test]
fn nvcc_launcher_host_compiles_do_not_reenter_the_shims() {
    if skip_without_cuda() {
        return;
    }
    let mut w = World::new();
    // Host-compiler shims only (an nvcc shim would take its directory out of nvcc's PATH
    // by itself).
    let shims = w.install_shims("shims");
    let _ = std::fs::remove_file(shims.join("nvcc"));
    w.path_front.push(shims);
    w.path_front.push(cuda_bin());
    let log = log_to(&mut w);
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write("k.cu", KERNEL_CU);
    let bare = bare_object(&w, "k.cu", "bare.o");
    for round in 0..2 {
        w.toolchainkit()
            .args(["nvcc", "-c", "k.cu", "-o", "k.o"])
            .silent()
            .run();
        assert_eq!(masked(&read(&w.work.join("k.o"))), masked(&bare));
        let s = w.stats();
        assert_eq!((count(&s, "hits"), count(&s, "misses")), (round, 1), "{s}");
    }
    let text = log_text(&log);
    assert!(
        !text.contains("nested invocation"),
        "nvcc's host compiles went through the shims:\n{text}"
    );
}

/// `tool = "sccache"` (native and process clients) and `"auto"`: the compile succeeds,
/// served by ccache, the next tool of `prefer`; no sccache server is started.
#[test]
fn nvcc_with_tool_sccache_or_auto_goes_to_ccache() {
    if skip_without_cuda() {
        return;
    }
    for (tool, client) in [
        ("sccache", "native"),
        ("sccache", "process"),
        ("auto", "native"),
    ] {
        let (w, shims) = world_with_nvcc_shims();
        w.config(&format!(
            "[cache]\ntool = \"{tool}\"\nsccache_client = \"{client}\"\ndir = \"cache\"\n"
        ));
        w.write("k.cu", KERNEL_CU);
        let bare = bare_object(&w, "k.cu", "bare.o");
        w.test_shim(&shims, "nvcc")
            .args(["-c", "k.cu", "-o", "k.o"])
            .silent()
            .run();
        assert_eq!(
            masked(&read(&w.work.join("k.o"))),
            masked(&bare),
            "{tool}/{client}"
        );
        let s = w.stats();
        assert_eq!(
            (count(&s, "invocations"), count(&s, "misses")),
            (1, 1),
            "{tool}/{client}: {s}"
        );
        let c = w.ccache_counters(&w.work.join("cache/ccache"));
        assert_eq!(
            c.get("cache_miss").copied(),
            Some(1),
            "{tool}/{client}: {c:?}"
        );
        assert_eq!(
            w.sccache_sockets(),
            Vec::<PathBuf>::new(),
            "{tool}/{client}"
        );
        assert_eq!(w.daemons(), Vec::<i32>::new(), "{tool}/{client}");
        w.toolchainkit()
            .args(["which", "nvcc"])
            .stdout_contains("cache tool: ccache")
            .stdout_contains("mozilla/sccache#2722")
            .stderr("")
            .run();
    }
}

/// Only sccache to choose from: nvcc runs directly, succeeds, and is counted
/// `uncacheable.nvcc_needs_ccache`; `which` and `doctor` say so.
#[test]
fn nvcc_with_only_sccache_runs_directly() {
    if skip_without_cuda() {
        return;
    }
    let (w, shims) = world_with_nvcc_shims();
    w.config("[cache]\ntool = \"sccache\"\nprefer = [\"sccache\"]\ndir = \"cache\"\n");
    w.write("k.cu", KERNEL_CU);
    let bare = bare_object(&w, "k.cu", "bare.o");
    w.test_shim(&shims, "nvcc")
        .args(["-c", "k.cu", "-o", "k.o"])
        .silent()
        .run();
    assert_eq!(masked(&read(&w.work.join("k.o"))), masked(&bare));
    let s = w.stats();
    assert_eq!(
        s["uncacheable_reasons"]["nvcc_needs_ccache"].as_u64(),
        Some(1),
        "{s}"
    );
    assert_eq!(w.sccache_sockets(), Vec::<PathBuf>::new());
    w.toolchainkit()
        .args(["which", "nvcc"])
        .stdout_contains("cache tool: none, counted uncacheable.nvcc_needs_ccache")
        .stderr("")
        .run();
    let doctor = w
        .toolchainkit()
        .args(["doctor", "--json"])
        .any_status()
        .json();
    let check = doctor["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "nvcc.tool"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(check["level"], "warning", "{doctor}");
    assert!(
        check["message"]
            .as_str()
            .is_some_and(|m| m.contains("uncached")),
        "{check}"
    );
}

/// A compile nvcc rejects: through toolchainkit (ccache, and `tool = "sccache"` routed)
/// it keeps nvcc's exit code, stdout and diagnostics byte for byte.
#[test]
fn failing_nvcc_compile_keeps_exit_code_and_diagnostics() {
    if skip_without_cuda() {
        return;
    }
    for tool in ["ccache", "sccache"] {
        let (w, shims) = world_with_nvcc_shims();
        w.config(&format!("[cache]\ntool = \"{tool}\"\ndir = \"cache\"\n"));
        w.write("bad.cu", BROKEN_CU);
        let bare = w
            .test_bare(nvcc())
            .args(["-c", "bad.cu", "-o", "bad.o"])
            .any_status()
            .run();
        let code = bare.status.code().expect("an exit code");
        assert_ne!(code, 0, "the broken file compiles");
        assert!(
            String::from_utf8_lossy(&bare.stderr).contains("undeclared_name"),
            "{}",
            describe(&bare)
        );
        w.test_shim(&shims, "nvcc")
            .args(["-c", "bad.cu", "-o", "bad.o"])
            .status(code)
            .stdout(&bare.stdout)
            .stderr(&bare.stderr)
            .run();
        assert!(!w.work.join("bad.o").exists(), "{tool}");
    }
}

/// `nvcc --version` and `nvcc --dryrun` run directly: what they print is bare nvcc's (the
/// dry run's temporary names masked), and they count as not a compile / introspection.
#[test]
fn nvcc_introspection_runs_directly() {
    if skip_without_cuda() {
        return;
    }
    let (w, shims) = world_with_nvcc_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write("k.cu", KERNEL_CU);
    let version = w.test_bare(nvcc()).arg("--version").stderr("").run();
    w.test_shim(&shims, "nvcc")
        .arg("--version")
        .stdout(&version.stdout)
        .stderr("")
        .run();
    let dry = ["--dryrun", "-c", "k.cu", "-o", "k.o"];
    let bare = w.test_bare(nvcc()).args(dry).stdout("").run();
    let ours = w.test_shim(&shims, "nvcc").args(dry).stdout("").run();
    // The dry run lists the PATH nvcc gives its sub-commands: the shim directory is not in it.
    let text = String::from_utf8_lossy(&ours.stderr).into_owned();
    assert!(!text.contains(&format!("{}:", shims.display())), "{text}");
    let sub_commands = |b: &[u8]| -> Vec<Vec<u8>> {
        masked(b)
            .split(|&c| c == b'\n')
            .filter(|l| !l.starts_with(b"#$ PATH="))
            .map(<[u8]>::to_vec)
            .collect()
    };
    assert_eq!(sub_commands(&ours.stderr), sub_commands(&bare.stderr));
    assert!(!w.work.join("k.o").exists());
    let s = w.stats();
    assert_eq!(
        s["uncacheable_reasons"]["introspection"].as_u64(),
        Some(1),
        "{s}"
    );
    assert_eq!(
        s["uncacheable_reasons"]["not_a_compile"].as_u64(),
        Some(1),
        "{s}"
    );
}

/// No nvcc installed: no nvcc shim, `which nvcc` says so, `doctor` has nothing to check.
#[test]
fn no_nvcc_installed() {
    if skip_unless(&[Need::compilers()]) {
        return;
    }
    // A PATH of the shims and the host compilers only, whatever else this machine has.
    let mut w = World::new();
    let sys = w.root().join("sys");
    std::fs::create_dir_all(&sys).expect("mkdir");
    for (name, real) in [
        ("cc", "gcc"),
        ("gcc", "gcc"),
        ("c++", "g++"),
        ("g++", "g++"),
    ] {
        std::os::unix::fs::symlink(require(real, "gcc g++"), sys.join(name)).expect("symlink");
    }
    let shims = w.root().join("shims");
    w.set_path(&[&shims, &sys]);
    let shims = w.install_shims("shims");
    assert!(std::fs::symlink_metadata(shims.join("nvcc")).is_err());
    w.toolchainkit()
        .args(["which", "nvcc"])
        .status(127)
        .stdout_contains("no real compiler `nvcc` found in PATH")
        .stderr("")
        .run();
    let doctor = w
        .toolchainkit()
        .args(["doctor", "--json"])
        .any_status()
        .json();
    for name in ["path.nvcc", "nvcc.tool"] {
        let check = doctor["checks"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["name"] == name))
            .cloned()
            .unwrap_or_default();
        assert_eq!(check["level"], "skip", "{name}: {doctor}");
    }
}

// ---- The CMake CUDA example -------------------------------------------------------

const EXAMPLE: &[&str] = &[
    "CMakeLists.txt",
    "vecops.h",
    "add.cu",
    "scale.cu",
    "reduce.cu",
    "main.cpp",
];
const OBJECTS: &[&str] = &["add.cu.o", "scale.cu.o", "reduce.cu.o", "main.cpp.o"];

fn copy_example(w: &World) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cuda");
    for f in EXAMPLE {
        std::fs::copy(src.join(f), w.work.join(f)).expect("copy example");
    }
}

fn objects(w: &World) -> Vec<Vec<u8>> {
    let dir = w.work.join("build/CMakeFiles/vecops.dir");
    OBJECTS
        .iter()
        .map(|o| masked(&read(&dir.join(o))))
        .collect()
}

/// Configure `build/` bare, with the launchers, or in masquerade (the shims first in PATH).
fn configure(w: &World, how: &str) {
    let _ = std::fs::remove_dir_all(w.work.join("build"));
    let configure = w.test("cmake").args([
        "-S",
        ".",
        "-B",
        "build",
        "-G",
        "Ninja",
        "-DCMAKE_CUDA_ARCHITECTURES=75",
    ]);
    let configure = match how {
        "bare" => configure
            .env("PATH", bare_path())
            .arg(format!("-DCMAKE_CUDA_COMPILER={}", nvcc().display())),
        "launcher" => {
            let launcher = |l: &str| format!("-DCMAKE_{l}_COMPILER_LAUNCHER={}", bin().display());
            configure
                .arg(format!("-DCMAKE_CUDA_COMPILER={}", nvcc().display()))
                .args([launcher("CUDA"), launcher("CXX")])
        }
        _ => configure.env("CXX", "c++").env("CUDACXX", "nvcc"),
    };
    configure.stderr("").run();
}

/// The system PATH with nvcc's directory: no shims, no tools.
fn bare_path() -> String {
    format!("{}:{}", cuda_bin().display(), system_path())
}

/// Build what `configure` set up; the program runs.
fn compile(w: &World, how: &str) {
    let mut b = w.test("cmake").args(["--build", "build", "-j2"]);
    if how == "bare" {
        b = b.env("PATH", bare_path());
    }
    b.stderr("").run();
    w.test(w.work.join("build/vecops"))
        .stdout_contains("vecops built")
        .stderr("")
        .run();
}

/// Bare, then through toolchainkit twice: every build succeeds, the objects equal the bare
/// build's (masked), the warm rebuild is all hits, and toolchainkit's hits and misses equal
/// the tools' own counters.
fn cmake_cold_then_warm(how: &str, tool: &str) {
    let (w, _shims) = world_with_nvcc_shims();
    copy_example(&w);
    w.config(&format!("[cache]\ntool = \"{tool}\"\ndir = \"cache\"\n"));
    configure(&w, "bare");
    compile(&w, "bare");
    let bare = objects(&w);
    for round in 0..2u64 {
        configure(&w, how);
        let before = w.stats();
        let tools_before = tool_counts(&w);
        compile(&w, how);
        assert_eq!(objects(&w), bare, "{how}/{tool} round {round}");
        let after = w.stats();
        let d = |k: &str| count(&after, k) - count(&before, k);
        let want = if round == 0 { (0, 4) } else { (4, 0) };
        assert_eq!(
            (d("hits"), d("misses")),
            want,
            "{how}/{tool} round {round}: {after}"
        );
        assert_eq!(d("errors") + d("fallbacks"), 0, "{after}");
        let tools = tool_counts(&w);
        assert_eq!(
            (tools.0 - tools_before.0, tools.1 - tools_before.1),
            want,
            "{how}/{tool} round {round}: the tools' own (hits, misses)"
        );
    }
}

/// (hits, misses) by the tools' own counters: ccache's (nvcc's compiles, and with
/// `tool = "ccache"` the host file's) plus the one sccache server's (the host file's with
/// `tool = "sccache"`).
fn tool_counts(w: &World) -> (u64, u64) {
    let c = w.ccache_counters(&w.work.join("cache/ccache"));
    let get = |k: &str| c.get(k).copied().unwrap_or(0);
    let mut counts = (
        get("direct_cache_hit") + get("preprocessed_cache_hit"),
        get("cache_miss"),
    );
    let socks = w.sccache_sockets();
    assert!(
        socks.len() <= 1,
        "one server for one configuration: {socks:?}"
    );
    if let Some(sock) = socks.first() {
        let st = w.sccache_stats(sock);
        counts.0 += sccache_total(&st, "cache_hits");
        counts.1 += sccache_total(&st, "cache_misses");
    }
    counts
}

#[test]
fn cmake_cuda_launcher_ccache() {
    if skip_without_cuda()
        || skip_unless(&[
            Need::program("cmake", "cmake"),
            Need::program("ninja", "ninja-build"),
        ])
    {
        return;
    }
    cmake_cold_then_warm("launcher", "ccache");
}

#[test]
fn cmake_cuda_masquerade_sccache() {
    if skip_without_cuda()
        || skip_unless(&[
            Need::program("cmake", "cmake"),
            Need::program("ninja", "ninja-build"),
        ])
    {
        return;
    }
    cmake_cold_then_warm("masquerade", "sccache");
}
