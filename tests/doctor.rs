//! `toolchainkit doctor`: each check on a healthy setup (ok) and on a broken one (named,
//! with its fix), with real files, real PATHs, the real ccache/sccache and real sockets.

mod doctor_support;

use std::net::TcpListener;
use std::path::Path;

use doctor_support::{World, level, line, text, tools};

const CCACHE_PROJECT: &str = "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n";

fn healthy() -> World {
    let mut w = World::new();
    let shims = w.shims("shims");
    let t = tools();
    w.set_path(&[&shims, &t, Path::new("/usr/bin"), Path::new("/bin")]);
    w.write(".toolchainkit.toml", CCACHE_PROJECT);
    w
}

#[test]
fn healthy_setup_reports_no_problem() {
    let w = healthy();
    let (code, r) = w.doctor();
    assert_eq!(code, 0, "{r}");
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
    // JSON: the same checks, machine-readable.
    let out = w.run(&["doctor", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["problems"], 0, "{v}");
    assert!(v["checks"].as_array().is_some_and(|a| a.len() > 10), "{v}");
}

#[test]
fn compiler_names_without_a_compiler_are_skipped_not_problems() {
    let w = healthy();
    let (_, r) = w.doctor();
    // No clang on the test machines (when there is one, it must resolve like gcc).
    if Path::new("/usr/bin/clang").exists() {
        assert!(line(&r, "path.clang").contains("masquerade active"), "{r}");
    } else {
        assert_eq!(level(&r, "path.clang"), "warning", "{r}");
        assert!(line(&r, "path.clang").contains("no real `clang`"), "{r}");
    }
}

#[test]
fn shim_after_usr_bin_is_a_problem() {
    let mut w = healthy();
    let shims = w.root().join("shims");
    w.set_path(&[Path::new("/usr/bin"), &shims, &tools(), Path::new("/bin")]);
    let (code, r) = w.doctor();
    assert_eq!(code, 1, "{r}");
    let l = line(&r, "path.cc");
    assert!(l.starts_with("problem"), "{r}");
    assert!(l.contains("masquerade inactive"), "{l}");
    assert!(
        l.contains(&format!(
            "fix: put {} before /usr/bin in PATH",
            shims.display()
        )),
        "{l}"
    );
}

#[test]
fn ccache_masquerade_before_the_shim_is_double_caching() {
    let mut w = healthy();
    let shims = w.root().join("shims");
    let masq = w.ccache_masquerade("ccache-masq");
    w.set_path(&[
        &masq,
        &shims,
        &tools(),
        Path::new("/usr/bin"),
        Path::new("/bin"),
    ]);
    let (code, r) = w.doctor();
    assert_eq!(code, 1, "{r}");
    let l = line(&r, "path.cc");
    assert!(l.contains("double caching"), "{l}");
    assert!(
        l.contains(&format!("fix: remove {} from PATH", masq.display())),
        "{l}"
    );
    // After the shim it is skipped, but still a second cache for direct compiler calls.
    w.set_path(&[
        &shims,
        &masq,
        &tools(),
        Path::new("/usr/bin"),
        Path::new("/bin"),
    ]);
    let (code, r) = w.doctor();
    assert_eq!(code, 0, "{r}");
    assert!(line(&r, "path.cc").contains("masquerade active"), "{r}");
    assert!(line(&r, "path.cc").contains("ccache wrapper"), "{r}");
    let l = line(&r, "double-caching");
    assert!(l.starts_with("warning"), "{r}");
    assert!(l.contains(&masq.display().to_string()), "{l}");
}

#[test]
fn invalid_config_is_a_problem_naming_the_file() {
    let w = healthy();
    let f = w.write(".toolchainkit.toml", "[cache]\ntool = \"sccachee\"\n");
    let (code, r) = w.doctor();
    assert_eq!(code, 1, "{r}");
    let l = line(&r, "config");
    assert!(l.starts_with("problem"), "{r}");
    assert!(l.contains(&f.display().to_string()), "{l}");
    assert!(l.contains("cache.tool"), "{l}");
}

#[test]
fn missing_tool_is_a_warning_with_the_install_command() {
    let mut w = healthy();
    let shims = w.root().join("shims");
    w.set_path(&[&shims, Path::new("/usr/bin"), Path::new("/bin")]);
    w.write(".toolchainkit.toml", "[cache]\ndir = \"cache\"\n");
    let (code, r) = w.doctor();
    assert_eq!(code, 0, "{r}");
    let l = line(&r, "tool");
    assert!(l.starts_with("warning"), "{r}");
    assert!(l.contains("toolchainkit tool install sccache"), "{l}");
    // With install = true the first compile installs it: not a warning.
    w.write(
        ".toolchainkit.toml",
        "[cache]\ndir = \"cache\"\ninstall = true\n",
    );
    let (_, r) = w.doctor();
    let l = line(&r, "tool");
    assert!(
        l.starts_with("ok") && l.contains("the first compile installs sccache"),
        "{r}"
    );
}

#[test]
fn cache_dir_that_is_a_file_is_a_problem() {
    let w = healthy();
    w.write("cache/ccache", "not a directory");
    let (code, r) = w.doctor();
    assert_eq!(code, 1, "{r}");
    let l = line(&r, "cache-dir");
    assert!(
        l.starts_with("problem") && l.contains("is not a directory"),
        "{r}"
    );
}

#[test]
fn size_beyond_free_space_is_a_warning() {
    let w = healthy();
    w.write(
        ".toolchainkit.toml",
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\nsize_gb = 1000000\n",
    );
    let (code, r) = w.doctor();
    assert_eq!(code, 0, "{r}");
    let l = line(&r, "cache-dir.space");
    assert!(
        l.starts_with("warning") && l.contains("less than size_gb"),
        "{r}"
    );
    let (_, r) = healthy().doctor();
    assert_eq!(level(&r, "cache-dir.space"), "ok", "{r}");
}

#[test]
fn shared_cache_with_a_restrictive_umask_is_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let w = healthy();
    let dir = w.project.join("cache/ccache");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o2775)).expect("chmod");
    let doctor_with_umask = |mask: &str| {
        let out = w
            .cmd(Path::new("/bin/sh"))
            .args([
                "-c",
                &format!("umask {mask}; exec \"$0\" doctor"),
                doctor_support::BIN,
            ])
            .output()
            .expect("sh");
        text(&out)
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
    let mut w = healthy();
    w.env("CI", "true");
    let (code, r) = w.doctor();
    assert_eq!(code, 0, "{r}");
    let l = line(&r, "container");
    assert!(l.starts_with("warning"), "{r}");
    assert!(
        l.contains("CI is set") && l.contains("compiler_check = mtime"),
        "{l}"
    );
    assert!(l.contains("CCACHE_COMPILERCHECK=content"), "{l}");
    w.env("CCACHE_COMPILERCHECK", "content");
    let (_, r) = w.doctor();
    let l = line(&r, "container");
    assert!(
        l.starts_with("ok") && l.contains("compiler_check = content"),
        "{r}"
    );
}

#[test]
fn corrupt_or_locked_stats_file_is_named() {
    use fs2::FileExt;
    let w = healthy();
    w.write(
        ".toolchainkit.toml",
        &format!("{CCACHE_PROJECT}[stats]\nfile = \"stats.json\"\n"),
    );
    // A damaged file of ours: the next compile moves it aside.
    w.write(
        "stats.json",
        &format!(
            "{:<63}\n1 5 0000000000000000\nbroken",
            "toolchainkit-stats 2 4096"
        ),
    );
    let (code, r) = w.doctor();
    assert_eq!(code, 0, "{r}");
    let l = line(&r, "stats");
    assert!(l.starts_with("warning") && l.contains("is corrupt"), "{r}");
    // Somebody else's file: never touched, so nothing is counted: a problem.
    w.write("stats.json", "{ not json");
    let (code, r) = w.doctor();
    assert_eq!(code, 1, "{r}");
    let l = line(&r, "stats");
    assert!(
        l.starts_with("problem") && l.contains("not a toolchainkit stats file"),
        "{r}"
    );
    w.write("stats.json", "");
    std::fs::remove_file(w.project.join("stats.json")).expect("rm");
    let lock = std::fs::File::create(w.project.join("stats.json.lock")).expect("lock file");
    lock.lock_exclusive().expect("lock");
    let (_, r) = w.doctor();
    let l = line(&r, "stats.lock");
    assert!(
        l.starts_with("warning") && l.contains("held for more than"),
        "{r}"
    );
    FileExt::unlock(&lock).expect("unlock");
    let (_, r) = w.doctor();
    assert_eq!(level(&r, "stats.lock"), "ok", "{r}");
}

#[test]
fn remote_endpoint_and_credentials() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let open = listener.local_addr().expect("addr").port();
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").expect("listen");
        l.local_addr().expect("addr").port()
    };
    let mut w = healthy();
    let remote = |port: u16| {
        format!(
            "{CCACHE_PROJECT}[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:{port}\"\npassword_env = \"TK_TEST_REDIS_PASSWORD\"\n"
        )
    };
    w.write(".toolchainkit.toml", &remote(closed));
    let (code, r) = w.doctor();
    assert_eq!(code, 1, "{r}");
    let l = line(&r, "remote.endpoint");
    assert!(l.starts_with("problem"), "{r}");
    assert!(l.contains(&format!("127.0.0.1:{closed}")), "{l}");
    let l = line(&r, "remote.credentials");
    assert!(
        l.starts_with("problem") && l.contains("TK_TEST_REDIS_PASSWORD"),
        "{r}"
    );

    w.write(".toolchainkit.toml", &remote(open));
    w.env("TK_TEST_REDIS_PASSWORD", "s3cr3t-value");
    let (code, r) = w.doctor();
    assert_eq!(code, 0, "{r}");
    assert!(
        line(&r, "remote.endpoint").contains("accepts connections"),
        "{r}"
    );
    assert_eq!(level(&r, "remote.credentials"), "ok", "{r}");
    assert!(!r.contains("s3cr3t-value"), "a secret was printed:\n{r}");
    let json = text(&w.run(&["doctor", "--json"]));
    assert!(
        !json.contains("s3cr3t-value"),
        "a secret was printed:\n{json}"
    );
    drop(listener);
}

#[test]
fn sccache_server_with_another_cache_location_is_a_problem() {
    let w = healthy();
    w.write(
        ".toolchainkit.toml",
        "[cache]\ntool = \"sccache\"\ndir = \"cache\"\n",
    );
    let (code, r) = w.doctor();
    assert_eq!(code, 0, "{r}");
    assert!(line(&r, "sccache.server").contains("no server"), "{r}");
    assert!(line(&r, "tool.sccache").contains("sccache 0.16.0"), "{r}");
    // A compile starts the server for this configuration: doctor finds it, same dir.
    w.write("a.c", "int a(void) { return 1; }\n");
    let out = w
        .cmd(Path::new(doctor_support::BIN))
        .args(["gcc", "-c", "a.c", "-o", "a.o"])
        .output()
        .expect("compile");
    assert!(out.status.success(), "{}", text(&out));
    let (code, r) = w.doctor();
    assert_eq!(code, 0, "{r}");
    let l = line(&r, "sccache.server");
    assert!(l.starts_with("ok") && l.contains("running on"), "{r}");
    assert!(
        l.contains(&w.project.join("cache/sccache").display().to_string()),
        "{l}"
    );
    // Replace it with a server on the same socket that caches elsewhere.
    let stop = w.run(&["server", "stop"]);
    assert!(stop.status.success(), "{}", text(&stop));
    let status = text(&w.run(&["server", "status"]));
    let sock = status
        .lines()
        .find_map(|l| l.split("would use ").nth(1))
        .and_then(|s| s.trim().strip_suffix(')'))
        .unwrap_or_else(|| panic!("no socket in: {status}"))
        .to_string();
    let elsewhere = w.root().join("elsewhere");
    let started = w
        .cmd(&tools().join("sccache"))
        .arg("--start-server")
        .env("SCCACHE_SERVER_UDS", &sock)
        .env("SCCACHE_DIR", &elsewhere)
        .output()
        .expect("start sccache");
    assert!(started.status.success(), "{}", text(&started));
    let (code, r) = w.doctor();
    assert_eq!(code, 1, "{r}");
    let l = line(&r, "sccache.server");
    assert!(l.starts_with("problem"), "{r}");
    assert!(l.contains(&elsewhere.display().to_string()), "{l}");
    assert!(l.contains("toolchainkit server stop"), "{l}");
}
