//! `toolchainkit doctor`: each check on a healthy setup (ok) and on a broken one (named,
//! with its fix), with real files, real PATHs, the real ccache/sccache and real sockets.

use crate::common;

use std::path::{Path, PathBuf};

use common::*;

const CCACHE_PROJECT: &str = "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n";

/// The tools and the compilers every doctor test looks at.
fn skip_here() -> bool {
    skip_unless(&[Need::tools(), Need::compilers()])
}

/// Shims first in PATH, then the tools, then the system compilers; a ccache project.
fn healthy() -> World {
    let mut w = World::new();
    let shims = w.install_shims("shims");
    let t = tools_dir();
    w.set_path(&[&shims, &t, Path::new("/usr/bin"), Path::new("/bin")]);
    w.write(".toolchainkit.toml", CCACHE_PROJECT);
    w
}

/// `toolchainkit doctor` with the exit code `code` (0: no problem, 1: problems): its
/// report (nothing on stderr).
fn doctor(w: &World, code: i32) -> String {
    w.toolchainkit()
        .arg("doctor")
        .status(code)
        .stderr("")
        .stdout_text()
}

/// The report line of check `name` (the first one), for assertions.
fn line<'a>(report: &'a str, name: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no `{name}` line in:\n{report}"))
}

fn level(report: &str, name: &str) -> String {
    line(report, name)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn healthy_setup_reports_no_problem() {
    if skip_here() {
        return;
    }
    let w = healthy();
    let r = doctor(&w, 0);
    assert!(!r.contains("\nproblem"), "{r}");
    assert_eq!(level(&r, "config.project"), "ok", "{r}");
    assert!(line(&r, "config.project").contains(".toolchainkit.toml (valid)"));
    for name in ["path.cc", "path.gcc", "path.c++", "path.g++"] {
        assert!(line(&r, name).contains("masquerade active"), "{r}");
    }
    assert!(
        line(&r, "path.cc").contains("real compiler /usr/bin/cc"),
        "{r}"
    );
    assert_eq!(level(&r, "double-caching"), "ok", "{r}");
    assert!(line(&r, "tool").contains("ccache at"), "{r}");
    assert!(line(&r, "tool.ccache").contains("ccache 4.14.2"), "{r}");
    assert_eq!(level(&r, "cache-dir"), "ok", "{r}");
    assert_eq!(level(&r, "stats"), "ok", "{r}");
    assert_eq!(level(&r, "stats.lock"), "ok", "{r}");
    assert_eq!(level(&r, "remote"), "ok", "{r}");
    // JSON: the same checks, machine-readable, one for each line of the report.
    let v = w
        .toolchainkit()
        .args(["doctor", "--json"])
        .stderr("")
        .json();
    assert_eq!(v["problems"], 0, "{v}");
    let checks = v["checks"].as_array().expect("checks");
    let lines: Vec<&str> = r
        .lines()
        .filter(|l| {
            ["ok", "skip", "warning", "problem"]
                .contains(&l.split_whitespace().next().unwrap_or(""))
        })
        .collect();
    assert_eq!(checks.len(), lines.len(), "{v}\n{r}");
    for (c, l) in checks.iter().zip(&lines) {
        let mut words = l.split_whitespace();
        assert_eq!(c["level"].as_str(), words.next(), "{c} vs {l}");
        assert_eq!(c["name"].as_str(), words.next(), "{c} vs {l}");
    }
}

/// A directory of real compilers under the given names (symlinks to the system's gcc
/// and g++), to build a PATH whose compilers the test chooses.
fn system_compilers(w: &World, names: &[(&str, &str)]) -> PathBuf {
    let dir = w.root().join("sys");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for (name, real) in names {
        let to = dir.join(name);
        let _ = std::fs::remove_file(&to);
        std::os::unix::fs::symlink(require(real, "gcc g++"), to).expect("symlink");
    }
    dir
}

#[test]
fn compiler_names_without_a_compiler_are_skipped_not_problems() {
    if skip_here() {
        return;
    }
    let mut w = healthy();
    let shims = w.root().join("shims");
    let gnu = [
        ("cc", "gcc"),
        ("gcc", "gcc"),
        ("c++", "g++"),
        ("g++", "g++"),
    ];
    let sys = system_compilers(&w, &gnu);
    // A shim for clang but no real clang: compiles with clang would fail, a warning.
    w.set_path(&[&shims, &tools_dir(), &sys]);
    let r = doctor(&w, 0);
    for name in ["path.clang", "path.clang++"] {
        let l = line(&r, name);
        assert!(
            l.starts_with("warning") && l.contains("no real `clang"),
            "{r}"
        );
        assert!(l.contains(&format!("remove {}", shims.display())), "{l}");
    }
    assert!(line(&r, "path.gcc").contains("masquerade active"), "{r}");
    // Neither a shim nor a compiler: nothing to check, skipped.
    for n in ["clang", "clang++"] {
        std::fs::remove_file(shims.join(n)).expect("rm shim");
    }
    let r = doctor(&w, 0);
    for name in ["path.clang", "path.clang++"] {
        let l = line(&r, name);
        assert!(l.starts_with("skip") && l.contains("installed"), "{r}");
    }
    // A real clang behind the shim resolves like gcc.
    w.install_shims("shims");
    let sys = system_compilers(&w, &[("clang", "gcc"), ("clang++", "g++")]);
    let r = doctor(&w, 0);
    for name in ["path.clang", "path.clang++"] {
        let l = line(&r, name);
        assert!(
            l.starts_with("ok") && l.contains("masquerade active"),
            "{r}"
        );
        assert!(l.contains(&sys.display().to_string()), "{l}");
    }
}

#[test]
fn shim_after_usr_bin_is_a_problem() {
    if skip_here() {
        return;
    }
    let mut w = healthy();
    let shims = w.root().join("shims");
    w.set_path(&[
        Path::new("/usr/bin"),
        &shims,
        &tools_dir(),
        Path::new("/bin"),
    ]);
    let r = doctor(&w, 1);
    let l = line(&r, "path.cc");
    assert!(l.starts_with("problem"), "{r}");
    assert!(l.contains("masquerade inactive"), "{l}");
    assert!(
        l.contains(&format!(
            "hint: put {} before /usr/bin in PATH",
            shims.display()
        )),
        "{l}"
    );
}

#[test]
fn ccache_masquerade_before_the_shim_is_double_caching() {
    if skip_here() {
        return;
    }
    let mut w = healthy();
    let shims = w.root().join("shims");
    let masq = w.ccache_masquerade("ccache-masq");
    w.set_path(&[
        &masq,
        &shims,
        &tools_dir(),
        Path::new("/usr/bin"),
        Path::new("/bin"),
    ]);
    let r = doctor(&w, 1);
    let l = line(&r, "path.cc");
    assert!(l.contains("double caching"), "{l}");
    assert!(
        l.contains(&format!("hint: remove {} from PATH", masq.display())),
        "{l}"
    );
    // After the shim it is skipped, but still a second cache for direct compiler calls.
    w.set_path(&[
        &shims,
        &masq,
        &tools_dir(),
        Path::new("/usr/bin"),
        Path::new("/bin"),
    ]);
    let r = doctor(&w, 0);
    assert!(line(&r, "path.cc").contains("masquerade active"), "{r}");
    assert!(line(&r, "path.cc").contains("ccache wrapper"), "{r}");
    let l = line(&r, "double-caching");
    assert!(l.starts_with("warning"), "{r}");
    assert!(l.contains(&masq.display().to_string()), "{l}");
}

#[test]
fn invalid_config_is_a_problem_naming_the_file() {
    if skip_here() {
        return;
    }
    let w = healthy();
    let f = w.write(".toolchainkit.toml", "[cache]\ntool = \"sccachee\"\n");
    let r = doctor(&w, 1);
    let l = line(&r, "config");
    assert!(l.starts_with("problem"), "{r}");
    assert!(l.contains(&f.display().to_string()), "{l}");
    assert!(l.contains("cache.tool"), "{l}");
}

#[test]
fn missing_tool_is_a_warning_with_the_install_command() {
    if skip_here() {
        return;
    }
    let mut w = healthy();
    let shims = w.root().join("shims");
    w.set_path(&[&shims, Path::new("/usr/bin"), Path::new("/bin")]);
    w.write(".toolchainkit.toml", "[cache]\ndir = \"cache\"\n");
    let r = doctor(&w, 0);
    let l = line(&r, "tool");
    assert!(l.starts_with("warning"), "{r}");
    assert!(l.contains("toolchainkit tool install sccache"), "{l}");
    // With install = true the first compile installs it: not a warning.
    w.write(
        ".toolchainkit.toml",
        "[cache]\ndir = \"cache\"\ninstall = true\n",
    );
    let r = doctor(&w, 0);
    let l = line(&r, "tool");
    assert!(
        l.starts_with("ok") && l.contains("the first compile installs sccache"),
        "{r}"
    );
}

#[test]
fn cache_dir_that_is_a_file_is_a_problem() {
    if skip_here() {
        return;
    }
    let w = healthy();
    w.write("cache/ccache", "not a directory");
    let r = doctor(&w, 1);
    let l = line(&r, "cache-dir");
    assert!(
        l.starts_with("problem") && l.contains("is not a directory"),
        "{r}"
    );
}

#[test]
fn size_beyond_free_space_is_a_warning() {
    if skip_here() {
        return;
    }
    let w = healthy();
    w.write(
        ".toolchainkit.toml",
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\nsize_gb = 1000000\n",
    );
    let r = doctor(&w, 0);
    let l = line(&r, "cache-dir.space");
    assert!(
        l.starts_with("warning") && l.contains("less than size_gb"),
        "{r}"
    );
    let r = doctor(&healthy(), 0);
    assert_eq!(level(&r, "cache-dir.space"), "ok", "{r}");
}

#[test]
fn shared_cache_with_a_restrictive_umask_is_a_warning() {
    if skip_here() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let w = healthy();
    let dir = w.work.join("cache/ccache");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o2775)).expect("chmod");
    let doctor_with_umask = |mask: &str| {
        w.test("/bin/sh")
            .args(["-c", &format!("umask {mask}; exec \"$0\" doctor")])
            .arg(bin())
            .stderr("")
            .stdout_text()
    };
    let r = doctor_with_umask("022");
    let l = line(&r, "cache-dir.sharing");
    assert!(l.starts_with("warning") && l.contains("umask 022"), "{r}");
    assert!(l.contains("umask = 002"), "{l}");
    let r = doctor_with_umask("002");
    assert_eq!(level(&r, "cache-dir.sharing"), "ok", "{r}");
    // Another user's private cache (needs root to give the directory away).
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } == 0 {
        use std::os::unix::ffi::OsStrExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).expect("path");
        // SAFETY: `c` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0, "chown");
        let r = doctor_with_umask("002");
        let l = line(&r, "cache-dir.sharing");
        assert!(
            l.starts_with("warning") && l.contains("owned by uid 65534"),
            "{r}"
        );
    }
}

#[test]
fn ci_job_with_ccache_mtime_check_is_a_warning() {
    if skip_here() {
        return;
    }
    let mut w = healthy();
    w.set_env("CI", "true");
    let r = doctor(&w, 0);
    let l = line(&r, "container");
    assert!(l.starts_with("warning"), "{r}");
    assert!(
        l.contains("CI is set") && l.contains("compiler_check = mtime"),
        "{l}"
    );
    assert!(
        l.contains("`compiler_check = \"content\"` under [ccache] in .toolchainkit.toml")
            && !l.contains("ccache.conf")
            && !l.contains("CCACHE_COMPILERCHECK"),
        "{l}"
    );
    w.set_env("CCACHE_COMPILERCHECK", "content");
    let r = doctor(&w, 0);
    let l = line(&r, "container");
    assert!(
        l.starts_with("ok") && l.contains("compiler_check = content"),
        "{r}"
    );
}

#[test]
fn corrupt_or_locked_stats_file_is_named() {
    if skip_here() {
        return;
    }
    use fs2::FileExt;
    let w = healthy();
    w.write(
        ".toolchainkit.toml",
        format!("{CCACHE_PROJECT}[stats]\nfile = \"stats.json\"\n"),
    );
    // A damaged file of ours: the next compile moves it aside.
    w.write(
        "stats.json",
        format!(
            "{:<63}\n1 5 0000000000000000\nbroken",
            "toolchainkit-stats 2 4096"
        ),
    );
    let r = doctor(&w, 0);
    let l = line(&r, "stats");
    assert!(l.starts_with("warning") && l.contains("is corrupt"), "{r}");
    // Somebody else's file: never touched, so nothing is counted: a problem.
    w.write("stats.json", "{ not json");
    let r = doctor(&w, 1);
    let l = line(&r, "stats");
    assert!(
        l.starts_with("problem") && l.contains("not a toolchainkit stats file"),
        "{r}"
    );
    w.write("stats.json", "");
    std::fs::remove_file(w.work.join("stats.json")).expect("rm");
    let lock = std::fs::File::create(w.work.join("stats.json.lock")).expect("lock file");
    lock.lock_exclusive().expect("lock");
    let r = doctor(&w, 0);
    let l = line(&r, "stats.lock");
    assert!(
        l.starts_with("warning") && l.contains("held for more than"),
        "{r}"
    );
    FileExt::unlock(&lock).expect("unlock");
    let r = doctor(&w, 0);
    assert_eq!(level(&r, "stats.lock"), "ok", "{r}");
}

#[test]
fn remote_endpoint_and_credentials() {
    let mut needs = vec![Need::tools(), Need::compilers()];
    needs.extend(crate::servers::needs("redis"));
    if skip_unless(&needs) {
        return;
    }
    // A real redis with the password: `remote.helper` asks it through the storage helper.
    let t = World::new();
    let server = crate::servers::redis(&t.root().join("server"), "s3cr3t-value");
    let open = server.port;
    // Held (bound, not listening) for the whole test: refused, and no other test can
    // start listening on it meanwhile.
    let closed_port = ClosedPort::new();
    let closed = closed_port.port;
    let mut w = healthy();
    // The project file is the user's own: its remote (with a credential) applies.
    w.trust_project();
    let remote = |port: u16| {
        format!(
            "{CCACHE_PROJECT}[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:{port}\"\npassword_env = \"TK_TEST_REDIS_PASSWORD\"\n"
        )
    };
    w.write(".toolchainkit.toml", remote(closed));
    let r = doctor(&w, 1);
    let l = line(&r, "remote.endpoint");
    assert!(l.starts_with("problem"), "{r}");
    assert!(l.contains(&format!("127.0.0.1:{closed}")), "{l}");
    let l = line(&r, "remote.credentials");
    assert!(
        l.starts_with("problem") && l.contains("TK_TEST_REDIS_PASSWORD"),
        "{r}"
    );

    w.write(".toolchainkit.toml", remote(open));
    w.set_env("TK_TEST_REDIS_PASSWORD", "s3cr3t-value");
    let r = doctor(&w, 0);
    assert!(
        line(&r, "remote.endpoint").contains("accepts connections"),
        "{r}"
    );
    assert_eq!(level(&r, "remote.credentials"), "ok", "{r}");
    assert_eq!(level(&r, "remote.helper"), "ok", "{r}");
    assert!(!r.contains("s3cr3t-value"), "a secret was printed:\n{r}");
    w.toolchainkit()
        .args(["doctor", "--json"])
        .stdout_lacks("s3cr3t-value")
        .stderr("")
        .run();
    drop(server);
    drop(closed_port);
}

#[test]
fn sccache_server_with_another_cache_location_is_a_problem() {
    if skip_here() {
        return;
    }
    let w = healthy();
    w.write(
        ".toolchainkit.toml",
        "[cache]\ntool = \"sccache\"\ndir = \"cache\"\n",
    );
    let r = doctor(&w, 0);
    assert!(line(&r, "sccache.server").contains("no server"), "{r}");
    assert!(line(&r, "tool.sccache").contains("sccache 0.16.0"), "{r}");
    // A compile starts the server for this configuration: doctor finds it, same dir.
    w.write("a.c", "int a(void) { return 1; }\n");
    w.toolchainkit()
        .args(["gcc", "-c", "a.c", "-o", "a.o"])
        .silent()
        .run();
    let r = doctor(&w, 0);
    let l = line(&r, "sccache.server");
    assert!(l.starts_with("ok") && l.contains("running on"), "{r}");
    assert!(
        l.contains(&w.work.join("cache/sccache").display().to_string()),
        "{l}"
    );
    // Replace it with a server on the same socket that caches elsewhere.
    w.toolchainkit().args(["server", "stop"]).stderr("").run();
    let status = w
        .toolchainkit()
        .args(["server", "status"])
        .status(1)
        .stderr("")
        .stdout_text();
    let sock = status
        .lines()
        .find_map(|l| l.split("would use ").nth(1))
        .and_then(|s| s.trim().strip_suffix(')'))
        .unwrap_or_else(|| panic!("no socket in: {status}"))
        .to_string();
    let elsewhere = w.root().join("elsewhere");
    w.test(sccache())
        .arg("--start-server")
        .env("SCCACHE_SERVER_UDS", &sock)
        .env("SCCACHE_DIR", &elsewhere)
        .run();
    let r = doctor(&w, 1);
    let l = line(&r, "sccache.server");
    assert!(l.starts_with("problem"), "{r}");
    assert!(l.contains(&elsewhere.display().to_string()), "{l}");
    assert!(l.contains("toolchainkit server stop"), "{l}");
}
