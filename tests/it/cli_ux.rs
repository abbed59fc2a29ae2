//! The CLI a ccache/sccache user expects: a mistyped subcommand runs nothing, `server
//! status` says where the server is and how to ask it, `cache show|clean|zero|size`
//! through the configured tool, `container-args` with everything a container needs, and
//! `doctor`'s verdicts on a missing configured tool, a root-owned cache and a container
//! set up by `container-args`. The real binary, gcc, ccache and sccache.

use crate::common;

use common::*;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_mistyped_subcommand_runs_no_program_and_suggests_the_right_one() {
    let w = World::new();
    w.write("f", "12345");
    for (typo, want) in [("stat", "stats"), ("doctr", "doctor"), ("confg", "config")] {
        let out = w.tk().args([typo, "-c", "%s", "f"]).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        assert!(out.stdout.is_empty(), "nothing ran: {}", describe(&out));
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!(
                "unknown subcommand `{typo}`; did you mean `{want}`?"
            )) && err.contains(&format!("toolchainkit -- {typo} ARGS")),
            "{err}"
        );
        assert!(!err.contains("no real compiler"), "{err}");
    }
    // Far from every subcommand: no suggestion, still no program run.
    let out = w
        .tk()
        .args(["python3", "-c", "print(1)"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(out.stdout.is_empty() && text(&out.stderr).contains("unknown subcommand `python3`"));
    // Forced with `--`, or by path, the program runs (uncached: it is no compiler).
    let out = ok(w
        .tk()
        .args(["--", "stat", "-c", "%s", "f"])
        .output()
        .expect("run"));
    assert_eq!(text(&out.stdout).trim(), "5");
    let out = ok(w
        .tk()
        .args(["/usr/bin/stat", "-c", "%s", "f"])
        .output()
        .expect("run"));
    assert_eq!(text(&out.stdout).trim(), "5");
    // A known compiler name is a compiler.
    w.write("a.c", HELLO_C);
    silent(w.tk().args(["gcc", "-c", "a.c"]).output().expect("gcc"));
    assert!(w.work.join("a.o").is_file());
}

fn compile(w: &World, shims: &std::path::Path, src: &str) {
    silent(
        w.shim(shims, "gcc")
            .args(["-c", src])
            .output()
            .expect("compile"),
    );
}

#[test]
fn server_status_shows_socket_pid_uptime_and_query_and_cleans_stale_sockets() {
    use fs2::FileExt;
    use std::os::unix::net::UnixListener;
    if common::skip_unless(&[common::Need::tools()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"sccache\"\ndir = \"cache\"\n");
    w.write("a.c", HELLO_C);
    let out = w.tk().args(["server", "status"]).output().expect("status");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains("not running (would use "),
        "{}",
        describe(&out)
    );
    compile(&w, &shims, "a.c");
    let sock = w.sccache_sockets().pop().expect("a server");
    let rt = sock.parent().expect("runtime dir").to_path_buf();
    // Stale sockets: ours and nothing answering (removed), ours with the start lock
    // held (kept: a server may be starting), and a name that is not ours (kept).
    let bind_and_drop = |name: &str| {
        let p = rt.join(name);
        drop(UnixListener::bind(&p).expect("bind"));
        p
    };
    let stale = bind_and_drop("sccache-0123456789abcdef.sock");
    let starting = bind_and_drop("sccache-fedcba9876543210.sock");
    let foreign = bind_and_drop("other.sock");
    let lock = std::fs::File::create(rt.join("sccache-fedcba9876543210.lock")).expect("lock");
    lock.lock_exclusive().expect("flock");

    let out = ok(w.tk().args(["server", "status"]).output().expect("status"));
    let t = text(&out.stdout);
    assert!(t.contains(&format!("socket:    {}", sock.display())), "{t}");
    assert!(
        t.contains(&format!(
            "removed a stale socket (no server answered): {}",
            stale.display()
        )),
        "{t}"
    );
    assert!(!stale.exists(), "{t}");
    assert!(starting.exists() && foreign.exists(), "{t}");
    drop(lock);
    let pid: u32 = t
        .lines()
        .find_map(|l| l.trim().strip_prefix("pid:"))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid: {t}"));
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("the server runs");
    assert_eq!(
        exe.file_name().and_then(|n| n.to_str()),
        Some("sccache"),
        "{t}"
    );
    assert!(t.contains("uptime:    ") && t.contains(" s\n"), "{t}");
    let query = t
        .lines()
        .find_map(|l| l.trim().strip_prefix("query it:"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no query command: {t}"));
    assert!(
        query.starts_with(&format!("SCCACHE_SERVER_UDS={} ", sock.display())),
        "{t}"
    );
    // The printed command really asks this server: one compile request so far.
    let asked = ok(w.cmd("sh").args(["-c", query]).output().expect("query"));
    let said = text(&asked.stdout);
    assert!(
        said.lines()
            .any(|l| l.starts_with("Compile requests") && l.trim_end().ends_with(" 1")),
        "{said}"
    );
}

#[test]
fn cache_commands_go_through_ccache_for_the_projects_cache() {
    if common::skip_unless(&[common::Need::tools()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write("a.c", HELLO_C);
    let dir = w.work.join("cache/ccache");
    compile(&w, &shims, "a.c");
    compile(&w, &shims, "a.c");
    let run = |args: &[&str]| w.tk().arg("cache").args(args).output().expect("cache");
    let show = text(&ok(run(&["show"])).stdout);
    assert!(
        show.contains(&format!("ccache cache: {}", dir.display()))
            && show.contains("Hits:               1 /   2"),
        "{show}"
    );
    ok(run(&["zero"]));
    let c = w.ccache_counters(&dir);
    assert_eq!((c["direct_cache_hit"], c["cache_miss"]), (0, 0), "{c:?}");
    let size = text(&ok(run(&["size"])).stdout);
    assert!(
        size.contains("maximum size: 5.0 GiB") && size.contains("on disk:"),
        "{size}"
    );
    ok(run(&["size", "2G"]));
    let conf = String::from_utf8_lossy(&read(&dir.join("ccache.conf"))).into_owned();
    assert!(conf.contains("max_size = 2G"), "{conf}");
    ok(run(&["clean"]));
    compile(&w, &shims, "a.c");
    let c = w.ccache_counters(&dir);
    assert_eq!(
        (c["direct_cache_hit"], c["cache_miss"]),
        (0, 1),
        "emptied: {c:?}"
    );
    // With size_gb configured, that setting wins over ccache.conf: refused, and why.
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\nsize_gb = 1\n");
    let out = run(&["size", "3G"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("size_gb = 1"),
        "{}",
        describe(&out)
    );
    let size = text(&ok(run(&["size"])).stdout);
    assert!(
        size.contains("maximum size: 1.0 GiB (size_gb = 1"),
        "{size}"
    );
}

#[test]
fn cache_commands_for_sccache_and_clean_only_a_configured_cache_dir() {
    if common::skip_unless(&[common::Need::tools()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"sccache\"\ndir = \"cache\"\n");
    w.write("a.c", HELLO_C);
    let dir = w.work.join("cache/sccache");
    compile(&w, &shims, "a.c");
    compile(&w, &shims, "a.c");
    let run = |args: &[&str]| w.tk().arg("cache").args(args).output().expect("cache");
    let show = text(&ok(run(&["show"])).stdout);
    assert!(
        show.lines()
            .any(|l| l.starts_with("Cache hits ") && l.trim_end().ends_with(" 1")),
        "{show}"
    );
    ok(run(&["zero"]));
    let sock = w.sccache_sockets().pop().expect("server");
    assert_eq!(
        w.sccache_stats(&sock)["stats"]["compile_requests"].as_u64(),
        Some(0)
    );
    let size = text(&ok(run(&["size"])).stdout);
    assert!(
        size.contains("maximum size: 10 GiB (sccache's default)") && size.contains("on disk:"),
        "{size}"
    );
    let out = run(&["size", "5G"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stderr).contains("size_gb"), "{}", describe(&out));
    let (files, _) = count_files(&dir);
    assert!(files > 0, "the cache holds the object");
    let clean = text(&ok(run(&["clean"])).stdout);
    assert!(clean.contains("stopped the sccache server"), "{clean}");
    assert_eq!(count_files(&dir).0, 0, "{clean}");
    assert!(dir.is_dir(), "the directory itself stays");
    compile(&w, &shims, "a.c");
    let stats = w.sccache_stats(&w.sccache_sockets().pop().expect("server"));
    assert_eq!(sccache_total(&stats, "cache_misses"), 1, "emptied: {stats}");

    // sccache's default directory is not the project's to empty.
    w.config("[cache]\ntool = \"sccache\"\n");
    compile(&w, &shims, "a.c");
    let default = w.root().join("cache-home/sccache");
    let before = count_files(&default).0;
    assert!(before > 0);
    let out = run(&["clean"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("not this project's configured `cache.dir`"),
        "{}",
        describe(&out)
    );
    assert_eq!(count_files(&default).0, before, "left untouched");
}

fn count_files(dir: &std::path::Path) -> (usize, u64) {
    let mut n = 0;
    let mut bytes = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let m = e.path().symlink_metadata().expect("stat");
            if m.is_dir() {
                stack.push(e.path());
            } else {
                n += 1;
                bytes += m.len();
            }
        }
    }
    (n, bytes)
}

/// The `--env=` arguments of a `container-args` line: (name, value if given).
fn env_args(line: &str) -> Vec<(String, Option<String>)> {
    line.split_whitespace()
        .filter_map(|a| a.strip_prefix("--env="))
        .map(|a| match a.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (a.to_string(), None),
        })
        .collect()
}

#[test]
fn container_args_pass_size_compiler_check_and_the_remote_by_reference() {
    let mut w = World::new();
    let secret = "s3cr3t-redis-pw-77";
    w.env
        .push(("BUILD_CACHE_REDIS_PASSWORD".into(), secret.into()));
    let remote = "[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:6390\"\npassword_env = \"BUILD_CACHE_REDIS_PASSWORD\"\n";
    w.config(&format!(
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\nsize_gb = 2\n{remote}"
    ));
    let out = ok(w
        .tk()
        .arg("container-args")
        .output()
        .expect("container-args"));
    let (line, notes) = (text(&out.stdout), text(&out.stderr));
    assert!(
        !line.contains(secret) && !notes.contains(secret),
        "{line}\n{notes}"
    );
    let env = env_args(&line);
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        get("CCACHE_DIR"),
        Some(Some("/root/.cache/ccache".into())),
        "{line}"
    );
    assert_eq!(get("CCACHE_MAXSIZE"), Some(Some("2048Mi".into())), "{line}");
    assert_eq!(
        get("CCACHE_COMPILERCHECK"),
        Some(Some("content".into())),
        "{line}"
    );
    assert_eq!(
        get("CCACHE_REMOTE_STORAGE"),
        Some(None),
        "by name only: {line}"
    );
    assert!(
        notes.contains("--env=CCACHE_REMOTE_STORAGE passes CCACHE_REMOTE_STORAGE by name")
            && notes.contains("BUILD_CACHE_REDIS_PASSWORD")
            && notes.contains("loopback"),
        "{notes}"
    );
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        assert!(
            !notes.contains("--user 0:0") && notes.contains("no --user is needed"),
            "{notes}"
        );
    } else {
        assert!(notes.contains("--user "), "{notes}");
    }
    // sccache: the endpoint as a value, the password by name, the size in its syntax.
    w.config(&format!(
        "[cache]\ntool = \"sccache\"\ndir = \"cache\"\nsize_gb = 2\n{remote}"
    ));
    let out = ok(w
        .tk()
        .arg("container-args")
        .output()
        .expect("container-args"));
    let line = text(&out.stdout);
    let env = env_args(&line);
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        get("SCCACHE_CACHE_SIZE"),
        Some(Some("2048M".into())),
        "{line}"
    );
    assert_eq!(
        get("SCCACHE_REDIS_ENDPOINT"),
        Some(Some("redis://127.0.0.1:6390".into())),
        "{line}"
    );
    assert_eq!(get("SCCACHE_REDIS_PASSWORD"), Some(None), "{line}");
    assert!(get("CCACHE_COMPILERCHECK").is_none(), "{line}");
}

#[test]
fn doctor_in_a_container_set_up_by_container_args_has_no_compiler_check_warning() {
    if common::skip_unless(&[common::Need::tools()]) {
        return;
    }
    let (mut w, _shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.env.push(("CI".into(), "true".into()));
    let line_of = |report: &str, check: &str| {
        report
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(check))
            .unwrap_or_else(|| panic!("no {check}: {report}"))
            .to_string()
    };
    let report = text(
        &w.tk()
            .arg("doctor")
            .env("CI", "true")
            .output()
            .expect("doctor")
            .stdout,
    );
    let before = line_of(&report, "container");
    assert!(
        before.starts_with("warning") && before.contains("container-args"),
        "{report}"
    );
    let args = text(&ok(w.tk().arg("container-args").output().expect("args")).stdout);
    let mut doctor = w.tk();
    doctor.arg("doctor").env("CI", "true");
    for (k, v) in env_args(&args) {
        if let Some(v) = v {
            doctor.env(k, v);
        }
    }
    let report = text(&doctor.output().expect("doctor").stdout);
    let after = line_of(&report, "container");
    assert!(
        after.starts_with("ok") && after.contains("compiler_check = content"),
        "{report}"
    );
}

#[test]
fn doctor_calls_a_missing_configured_tool_a_problem_naming_it() {
    if common::skip_unless(&[common::Need::tools()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.tools_in_path = false;
    // Only sccache is installed.
    let only = w.root().join("only-sccache");
    std::fs::create_dir_all(&only).expect("mkdir");
    std::os::unix::fs::symlink(sccache(), only.join("sccache")).expect("symlink");
    w.path_front = vec![shims, only];
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    let out = w.tk().arg("doctor").output().expect("doctor");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let report = text(&out.stdout);
    let l = report
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("tool"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        l.starts_with("problem")
            && l.contains("tool = \"ccache\"")
            && l.contains("ccache is not installed")
            && l.contains("compiles use sccache")
            && l.contains("toolchainkit tool install ccache"),
        "{l}"
    );
    // Nothing installed at all: still a problem, naming ccache.
    w.path_front.truncate(1);
    let out = w.tk().arg("doctor").output().expect("doctor");
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.lines().any(|l| l.starts_with("problem")
            && l.contains("tool = \"ccache\"")
            && l.contains("every compile runs uncached")),
        "{report}"
    );
}

#[test]
fn doctor_on_a_root_owned_cache_points_at_the_owner_not_the_umask() {
    use common::users::{User, install_copy, shared_root};
    use std::os::unix::fs::PermissionsExt;
    if common::skip_unless(&[common::Need::root(), common::Need::tools()]) {
        return;
    }
    let root = shared_root();
    let bin = install_copy(&bin(), &root.path().join("bin"));
    install_copy(&ccache(), &root.path().join("bin"));
    let home = root.path().join("home");
    let user = User::create('d', &home);
    let proj = root.path().join("proj");
    std::fs::create_dir_all(proj.join("cache/ccache")).expect("mkdir");
    std::fs::write(
        proj.join(".toolchainkit.toml"),
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n",
    )
    .expect("config");
    for d in [&proj, &proj.join("cache"), &proj.join("cache/ccache")] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    std::fs::set_permissions(
        proj.join(".toolchainkit.toml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    std::fs::create_dir_all(&home).expect("home");
    user.own(&home);
    let env = [
        ("HOME", home.display().to_string()),
        (
            "PATH",
            format!("{}:/usr/bin:/bin", root.path().join("bin").display()),
        ),
    ];
    let out = user
        .cmd("/bin/sh", &env)
        .args(["-c", "umask 022; exec \"$0\" doctor"])
        .arg(&bin)
        .current_dir(&proj)
        .output()
        .expect("doctor as the user");
    let report = text(&out.stdout);
    let l = report
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("cache-dir.sharing"))
        .unwrap_or_else(|| panic!("{}", describe(&out)));
    assert!(
        l.starts_with("warning") && l.contains("owned by root (uid 0)") && l.contains("chown"),
        "{l}"
    );
    assert!(
        !l.contains("umask"),
        "a umask cannot make root's directory writable: {l}"
    );
}

/// An invalid configuration is the one hard error, and it looks the same everywhere: every
/// management command that needs the configuration and the compile itself exit 78
/// (`EX_CONFIG`) and print every problem of the file, each as `toolchainkit: error:
/// FILE:LINE:COL: `KEY`: ...` with its `hint:` line; `config check` lists them on stdout
/// and exits 78 too.
#[test]
fn an_invalid_configuration_exits_78_from_every_command_and_lists_every_problem() {
    let w = World::new();
    w.config("[cache]\ntool = \"sccach\"\nsize_gb = 0\n");
    w.write("a.c", HELLO_C);
    let file = w.work.join(".toolchainkit.toml");
    // Line and column of the value, the dotted key.
    let at = |line: u32, col: u32, key: &str| {
        format!(
            "toolchainkit: error: {}:{line}:{col}: `{key}`: ",
            file.display()
        )
    };
    let both = |t: Test| {
        t.status(78)
            .stdout("")
            .stderr_contains(at(2, 8, "cache.tool"))
            .stderr_contains("hint: did you mean `sccache`?")
            .stderr_contains(at(3, 11, "cache.size_gb"))
            .run()
    };
    for args in [
        &["stats"][..],
        &["stats", "--json"],
        &["env"],
        &["config"],
        &["which", "cc"],
        &["dist", "status"],
        &["server", "status"],
        &["cache", "show"],
        &["container-args"],
        &["trace", "--svg", "t.svg"],
        &["run", "--", "true"],
    ] {
        let out = both(w.toolchainkit().args(args));
        let err = text(&out.stderr);
        assert_eq!(
            err.matches("toolchainkit: error: ").count(),
            2,
            "{args:?}\n{err}"
        );
        assert_eq!(err.matches("\nhint: ").count(), 2, "{args:?}\n{err}");
    }
    // The compile path, launcher and masquerade: the same two problems, no object.
    let shims = w.install_shims("shims");
    both(w.toolchainkit().args(["gcc", "-c", "a.c"]));
    both(w.test_shim(&shims, "gcc").args(["-c", "a.c"]));
    assert!(!w.work.join("a.o").exists());
    // `config check`: the same problems, listed on stdout, and exit 78.
    let listed = w
        .toolchainkit()
        .args(["config", "check"])
        .status(78)
        .stderr("")
        .stdout_contains(format!("problem: {}:2:8: `cache.tool`", file.display()))
        .stdout_contains(format!("problem: {}:3:11: `cache.size_gb`", file.display()))
        .stdout_contains("2 problem(s)")
        .stdout_text();
    assert_eq!(listed.matches("\nhint: ").count(), 2, "{listed}");
    let v = w
        .toolchainkit()
        .args(["config", "check", "--json"])
        .status(78)
        .json();
    assert_eq!(v["valid"], false, "{v}");
    // Valid again: 0 everywhere.
    w.config("[cache]\ntool = \"none\"\n");
    w.toolchainkit()
        .args(["config", "check"])
        .stdout("configuration is valid\n")
        .run();
    w.toolchainkit().args(["gcc", "-c", "a.c"]).stderr("").run();
    assert!(w.work.join("a.o").exists());
}
