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
    if skip_unless(&[Need::compilers()]) {
        return;
    }
    let w = World::new();
    w.write("f", "12345");
    for (typo, want) in [("stat", "stats"), ("doctr", "doctor"), ("confg", "config")] {
        let out = w
            .toolchainkit()
            .args([typo, "-c", "%s", "f"])
            .status(2)
            .stdout("")
            .run();
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
    w.toolchainkit()
        .args(["python3", "-c", "print(1)"])
        .status(2)
        .stdout("")
        .stderr_contains("unknown subcommand `python3`")
        .run();
    // Forced with `--`, or by path, the program runs (uncached: it is no compiler).
    let out = w.toolchainkit().args(["--", "stat", "-c", "%s", "f"]).run();
    assert_eq!(text(&out.stdout).trim(), "5");
    let out = w
        .toolchainkit()
        .args(["/usr/bin/stat", "-c", "%s", "f"])
        .run();
    assert_eq!(text(&out.stdout).trim(), "5");
    // A known compiler name is a compiler.
    w.write("a.c", HELLO_C);
    w.toolchainkit().args(["gcc", "-c", "a.c"]).silent().run();
    assert!(w.work.join("a.o").is_file());
}

fn compile(w: &World, shims: &std::path::Path, src: &str) {
    w.test_shim(shims, "gcc").args(["-c", src]).silent().run();
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
    w.toolchainkit()
        .args(["server", "status"])
        .status(1)
        .stdout_contains("not running (would use ")
        .run();
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

    let out = w.toolchainkit().args(["server", "status"]).run();
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
    let asked = w.test("sh").args(["-c", query]).run();
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
    let run = |args: &[&str]| w.toolchainkit().arg("cache").args(args);
    let show = run(&["show"]).stdout_text();
    assert!(
        show.contains(&format!("ccache cache: {}", dir.display()))
            && show.contains("Hits:               1 /   2"),
        "{show}"
    );
    run(&["zero"]).run();
    let c = w.ccache_counters(&dir);
    assert_eq!((c["direct_cache_hit"], c["cache_miss"]), (0, 0), "{c:?}");
    let size = run(&["size"]).stdout_text();
    assert!(
        size.contains("maximum size: 5.0 GiB") && size.contains("on disk:"),
        "{size}"
    );
    run(&["size", "2G"]).run();
    let conf = String::from_utf8_lossy(&read(&dir.join("ccache.conf"))).into_owned();
    assert!(conf.contains("max_size = 2G"), "{conf}");
    run(&["clean"]).run();
    compile(&w, &shims, "a.c");
    let c = w.ccache_counters(&dir);
    assert_eq!(
        (c["direct_cache_hit"], c["cache_miss"]),
        (0, 1),
        "emptied: {c:?}"
    );
    // With size_gb configured, that setting wins over ccache.conf: refused, and why.
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\nsize_gb = 1\n");
    run(&["size", "3G"])
        .status(1)
        .stderr_contains("size_gb = 1")
        .run();
    let size = run(&["size"]).stdout_text();
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
    let run = |args: &[&str]| w.toolchainkit().arg("cache").args(args);
    let show = run(&["show"]).stdout_text();
    assert!(
        show.lines()
            .any(|l| l.starts_with("Cache hits ") && l.trim_end().ends_with(" 1")),
        "{show}"
    );
    run(&["zero"]).run();
    let sock = w.sccache_sockets().pop().expect("server");
    assert_eq!(
        w.sccache_stats(&sock)["stats"]["compile_requests"].as_u64(),
        Some(0)
    );
    let size = run(&["size"]).stdout_text();
    assert!(
        size.contains("maximum size: 10 GiB (sccache's default)") && size.contains("on disk:"),
        "{size}"
    );
    run(&["size", "5G"])
        .status(1)
        .stderr_contains("size_gb")
        .run();
    let (files, _) = count_files(&dir);
    assert!(files > 0, "the cache holds the object");
    let clean = run(&["clean"]).stdout_text();
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
    run(&["clean"])
        .status(1)
        .stderr_contains("not this project's configured `cache.dir`")
        .run();
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
    // The project file is the user's own: its remote (with a credential) applies.
    w.trust_project();
    let secret = "s3cr3t-redis-pw-77";
    w.env
        .push(("BUILD_CACHE_REDIS_PASSWORD".into(), secret.into()));
    let remote = "[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:6390\"\npassword_env = \"BUILD_CACHE_REDIS_PASSWORD\"\n";
    w.config(&format!(
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\nsize_gb = 2\n{remote}"
    ));
    let out = w.toolchainkit().arg("container-args").run();
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
    let out = w.toolchainkit().arg("container-args").run();
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
    let report = w
        .toolchainkit()
        .arg("doctor")
        .env("CI", "true")
        .any_status()
        .stdout_text();
    let before = line_of(&report, "container");
    assert!(
        before.starts_with("warning") && before.contains("container-args"),
        "{report}"
    );
    let args = text(&w.toolchainkit().arg("container-args").run().stdout);
    let mut doctor = w.toolchainkit().arg("doctor").env("CI", "true");
    for (k, v) in env_args(&args) {
        if let Some(v) = v {
            doctor = doctor.env(k, v);
        }
    }
    let report = doctor.any_status().stdout_text();
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
    let report = w.toolchainkit().arg("doctor").status(1).stdout_text();
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
    let report = w.toolchainkit().arg("doctor").status(1).stdout_text();
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
    let out = Test::new(user.cmd("/bin/sh", &env), &proj)
        .args(["-c", "umask 022; exec \"$0\" doctor"])
        .arg(&bin)
        .current_dir(&proj)
        .any_status()
        .run();
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
    // `toolchainkit gcc` finds the real gcc before it reads the configuration.
    if skip_unless(&[Need::compilers()]) {
        return;
    }
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

/// Issue 26.3: what a daily ccache/sccache user types first (`toolchainkit -s`, `-z`,
/// `-C`, `-M 2G`, `--show-stats`, `--zero-stats`, `--stop-server`) names the toolchainkit
/// command that does it, exits 2 and does nothing (not clap's bare "unexpected argument").
#[test]
fn ccache_and_sccache_options_name_the_toolchainkit_command_and_do_nothing() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write("a.c", HELLO_C);
    compile(&w, &shims, "a.c");
    let dir = w.work.join("cache/ccache");
    for (args, says) in [
        (
            &["-s"][..],
            "`-s` is a ccache and sccache option; in toolchainkit: `toolchainkit stats`",
        ),
        (&["--show-stats"], "`toolchainkit cache show`"),
        (&["-z"], "`toolchainkit stats --zero`"),
        (&["--zero-stats"], "`toolchainkit stats --zero`"),
        (
            &["-C"],
            "`-C` is a ccache option; in toolchainkit: `toolchainkit cache clean`",
        ),
        (&["--clear"], "`toolchainkit cache clean`"),
        (&["-M", "2G"], "`toolchainkit cache size 2G`"),
        (&["--max-size=3G"], "`toolchainkit cache size 3G`"),
        (&["-p"], "`toolchainkit config`"),
        (
            &["--stop-server"],
            "`--stop-server` is an sccache option; in toolchainkit: `toolchainkit server stop`",
        ),
        (
            &["--start-server"],
            "the first compile through toolchainkit starts",
        ),
    ] {
        w.toolchainkit()
            .args(args)
            .status(2)
            .stdout("")
            .stderr_contains(says)
            .stderr_contains("hint: `toolchainkit help` lists the subcommands")
            .stderr_lacks("unexpected argument")
            .run();
    }
    // Nothing was done: the miss is still counted, the cache still full, its size unset.
    let c = w.ccache_counters(&dir);
    assert_eq!(c["cache_miss"], 1, "{c:?}");
    let conf = std::fs::read_to_string(dir.join("ccache.conf")).unwrap_or_default();
    assert!(!conf.contains("max_size"), "{conf}");
    assert_eq!(w.stats()["misses"], 1);
}

/// Issue 26.3: `toolchainkit help stats` is `toolchainkit stats --help` (it was exit 2),
/// down to nested subcommands; an unknown word is a usage error with a suggestion.
#[test]
fn help_with_a_subcommand_prints_that_subcommands_help() {
    let w = World::new();
    for (words, flag) in [
        (&["stats"][..], &["stats", "--help"][..]),
        (&["cache", "size"], &["cache", "size", "--help"]),
        (&["config", "check"], &["config", "check", "--help"]),
    ] {
        let want = w.toolchainkit().args(flag).stderr("").stdout_text();
        assert!(want.contains("Usage: toolchainkit "), "{want}");
        w.toolchainkit()
            .arg("help")
            .args(words)
            .stderr("")
            .stdout(want)
            .run();
    }
    w.toolchainkit()
        .args(["help", "stat"])
        .status(2)
        .stdout("")
        .stderr_contains("`toolchainkit` has no subcommand `stat`; did you mean `stats`?")
        .run();
    w.toolchainkit()
        .args(["help", "cache", "siz"])
        .status(2)
        .stdout("")
        .stderr_contains("`toolchainkit cache` has no subcommand `siz`; did you mean `size`?")
        .run();
}

/// Issue 26.3: `stats --zero` zeroes the tool's own counters for ccache as it does for
/// sccache's server, so `cache show` and `stats` start from zero together.
#[test]
fn stats_zero_zeroes_ccaches_own_counters_too() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write("a.c", HELLO_C);
    let dir = w.work.join("cache/ccache");
    compile(&w, &shims, "a.c");
    compile(&w, &shims, "a.c");
    let c = w.ccache_counters(&dir);
    assert_eq!((c["direct_cache_hit"], c["cache_miss"]), (1, 1), "{c:?}");
    w.toolchainkit()
        .args(["stats", "--zero"])
        .stderr("")
        .stdout_contains("statistics zeroed")
        .stdout_contains(format!(
            "ccache's counters zeroed too (its cache {})",
            dir.display()
        ))
        .run();
    let c = w.ccache_counters(&dir);
    assert_eq!((c["direct_cache_hit"], c["cache_miss"]), (0, 0), "{c:?}");
    assert_eq!(w.stats()["invocations"], 0);
    // The cache itself is kept: the next compile is a hit, in both counts.
    compile(&w, &shims, "a.c");
    let c = w.ccache_counters(&dir);
    assert_eq!((c["direct_cache_hit"], c["cache_miss"]), (1, 0), "{c:?}");
    // No ccache directory yet: nothing is created to be zeroed, and nothing is said.
    w.config("[cache]\ntool = \"ccache\"\ndir = \"other\"\n");
    w.toolchainkit()
        .args(["stats", "--zero"])
        .stderr("")
        .stdout_lacks("ccache's counters")
        .run();
    assert!(!w.work.join("other").exists());
}

/// Issue 26.3: `doctor` colours its level labels on a terminal (under `script`, a real
/// pty), never into a pipe, and not with `NO_COLOR` set.
#[test]
fn doctor_colours_its_levels_on_a_terminal_only() {
    if skip_unless(&[Need::program("script", "util-linux")]) {
        return;
    }
    let w = World::new();
    // A configured tool that is missing is a problem line.
    w.config("[cache]\ntool = \"ccache\"\n");
    let mut w = w;
    w.tools_in_path = false;
    let piped = w.toolchainkit().arg("doctor").status(1).stdout_text();
    assert!(piped.contains("problem "), "{piped}");
    assert!(!piped.contains('\x1b'), "{piped}");
    let on_tty = |no_color: Option<&str>| {
        let mut t =
            w.test("script")
                .args(["-qec", &format!("{} doctor", bin().display()), "/dev/null"]);
        t = t.env("TERM", "xterm");
        if let Some(v) = no_color {
            t = t.env("NO_COLOR", v);
        }
        t.any_status().stdout_text()
    };
    let shown = on_tty(None);
    assert!(shown.contains("\x1b[1;31mproblem\x1b[0m "), "{shown:?}");
    assert!(shown.contains("\x1b[32mok\x1b[0m "), "{shown:?}");
    let plain = on_tty(Some("1"));
    assert!(plain.contains("problem "), "{plain:?}");
    assert!(!plain.contains('\x1b'), "{plain:?}");
}

/// Issue 26.5: `server status` with ccache configured does not promise that a compile
/// starts an sccache server; `server stop` removes the socket it leaves, so the next
/// `status` finds nothing stale to remove.
#[test]
fn server_status_and_stop_say_what_really_happens() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\n");
    w.toolchainkit()
        .args(["server", "status"])
        .status(1)
        .stderr("")
        .stdout_contains("not running (would use ")
        .stdout_contains("this project's compiles use ccache (project file ")
        .stdout_contains("so no compile starts an sccache server")
        .stdout_lacks("starts it")
        .run();
    w.config("[cache]\ntool = \"sccache\"\ndir = \"cache\"\n");
    w.toolchainkit()
        .args(["server", "status"])
        .status(1)
        .stdout_contains("the first compile through toolchainkit starts it")
        .run();
    w.write("a.c", HELLO_C);
    compile(&w, &shims, "a.c");
    let sock = w.sccache_sockets().pop().expect("a server");
    w.toolchainkit()
        .args(["server", "stop"])
        .stderr("")
        .stdout(format!("stopped the server on {}\n", sock.display()))
        .run();
    assert!(!sock.exists(), "{} is left behind", sock.display());
    w.toolchainkit()
        .args(["server", "status"])
        .status(1)
        .stdout_lacks("stale")
        .stdout_contains("not running")
        .run();
}

/// Issue 26.5: `config` labels a key no layer set as a default even inside a table a
/// file has, prints `base_dir = "."` as the project directory itself (and gives ccache
/// that), and does not pad every line out to the longest value.
#[test]
fn config_shows_true_origins_clean_paths_and_short_lines() {
    let w = World::new();
    w.config("[cache]\ntool = \"ccache\"\n\n[ccache]\nbase_dir = \".\"\n");
    let file = w.work.join(".toolchainkit.toml");
    let out = w.toolchainkit().arg("config").stderr("").stdout_text();
    let line = |key: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("no {key}: {out}"))
            .to_string()
    };
    let base = line("ccache.base_dir");
    assert!(
        base.contains(&format!("= \"{}\"", w.work.display()))
            && base.ends_with(&format!("# project file {}", file.display())),
        "{base}"
    );
    for key in [
        "ccache.compiler_check",
        "ccache.sloppiness",
        "sccache.direct",
    ] {
        let l = line(key);
        assert!(l.ends_with("# default"), "{l}");
    }
    // Short rows line up at a column of their own; a long value (the stats path) does
    // not widen the others.
    let l = line("cache.enabled");
    assert!(l.len() < 60, "padded to {}: {l:?}", l.len());
    let env = w.toolchainkit().args(["env"]).stderr("").stdout_text();
    assert!(
        env.contains(&format!("CCACHE_BASEDIR={}\n", w.work.display()))
            || env.contains(&format!("CCACHE_BASEDIR='{}'\n", w.work.display())),
        "{env}"
    );
}

/// Issue 26.5: a compiler given by a path that is not there is not "not found in PATH
/// (0 directories searched)": the message says what is at the path.
#[test]
fn a_missing_compiler_path_says_what_is_at_the_path() {
    let w = World::new();
    w.write("a.c", HELLO_C);
    for (word, what) in [
        ("/usr/bin/nonexist-cc", "/usr/bin/nonexist-cc: no such file"),
        ("./a.c", "a.c: not an executable file"),
    ] {
        w.toolchainkit()
            .args([word, "-c", "a.c"])
            .status(127)
            .stdout("")
            .stderr_contains(format!("no real compiler at `{word}` ("))
            .stderr_contains(what)
            .stderr_contains("hint: check the path")
            .stderr_lacks("directories searched")
            .stderr_lacks("put its directory in PATH")
            .run();
    }
}

/// Issue 26.7: `toolchainkit -E x.c` (compiler flags first, no compiler word, as the `cc`
/// crate probes `CC="toolchainkit cc"`) is a compile with the compiler after
/// `toolchainkit` in CC, else `cc`: the output of the bare compiler, not clap's error.
#[test]
fn compiler_flags_without_a_compiler_word_compile_with_cc() {
    if skip_unless(&[Need::compilers()]) {
        return;
    }
    let w = World::new();
    w.config("[cache]\ntool = \"none\"\n");
    w.write("x.c", "#ifdef __GNUC__\nint gnu;\n#endif\nint x;\n");
    let bare = w
        .test_bare("cc")
        .args(["-E", "x.c"])
        .stderr("")
        .stdout_text();
    assert!(bare.contains("\nint gnu;\n"), "{bare}");
    w.toolchainkit()
        .args(["-E", "x.c"])
        .stderr("")
        .stdout(bare.clone())
        .run();
    w.toolchainkit()
        .args(["-E", "x.c"])
        .env("CC", "toolchainkit gcc")
        .stderr("")
        .stdout(bare)
        .run();
    // The compiler after toolchainkit in CC is the one that runs: a missing one says so.
    w.toolchainkit()
        .args(["-E", "x.c"])
        .env("CC", "toolchainkit no-such-cc-1")
        .status(127)
        .stderr_contains("no real compiler `no-such-cc-1` found in PATH")
        .run();
    // `-c` through the shim's compile path: the object a bare compile makes.
    w.toolchainkit()
        .args(["-c", "x.c", "-o", "tk.o"])
        .stderr("")
        .run();
    w.test_bare("cc").args(["-c", "x.c", "-o", "bare.o"]).run();
    assert_eq!(read(&w.work.join("tk.o")), read(&w.work.join("bare.o")));
    let s = w.stats();
    assert_eq!(s["invocations"], 3, "two -E and one -c, counted: {s}");
}

/// Issue 26.7: compiles ccache cannot cache because of a precompiled header come with the
/// sloppiness ccache needs for them, in `stats` and `stats --json` alike; with it set, the
/// hint goes and the same compiles hit. Real gcc and ccache.
#[test]
fn a_precompiled_header_ccache_cannot_use_comes_with_its_sloppiness_hint() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write(
        "all.h",
        "#include <stdio.h>\nstatic inline int one(void) { return 1; }\n",
    );
    w.write(
        "a.c",
        "int main(void) { printf(\"%d\\n\", one()); return 0; }\n",
    );
    let pch = |w: &World| {
        w.test_shim(&shims, "gcc")
            .args(["-x", "c-header", "all.h", "-o", "all.h.gch"])
            .silent()
            .run();
    };
    let use_it = |w: &World| {
        w.test_shim(&shims, "gcc")
            .args(["-include", "all.h", "-c", "a.c", "-o", "a.o"])
            .silent()
            .run();
    };
    pch(&w);
    use_it(&w);
    let s = w.stats();
    assert_eq!(
        s["uncacheable_reasons"]["could_not_use_precompiled_header"], 2,
        "making the header and using it: {s}"
    );
    let want = "set `sloppiness = [\"pch_defines\", \"time_macros\", \"include_file_mtime\", \"include_file_ctime\"]` under [ccache]";
    let notices = s["notices"].to_string();
    assert!(notices.contains("could_not_use_precompiled_header"), "{s}");
    assert!(notices.contains(&want.replace('"', "\\\"")), "{notices}");
    w.toolchainkit()
        .arg("stats")
        .stderr("")
        .stdout_contains(
            "notice: 2 compile(s) counted uncacheable.could_not_use_precompiled_header",
        )
        .stdout_contains(want)
        .run();
    // With the sloppiness: no hint, and the compile using the header is cached.
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n\n[ccache]\nsloppiness = [\"pch_defines\", \"time_macros\", \"include_file_mtime\", \"include_file_ctime\"]\n");
    pch(&w);
    use_it(&w);
    std::fs::remove_file(w.work.join("a.o")).expect("rm");
    let before = w.stats()["hits"].as_u64();
    use_it(&w);
    let s = w.stats();
    assert!(!s["notices"].to_string().contains("precompiled"), "{s}");
    assert_eq!(s["hits"].as_u64(), before.map(|h| h + 1), "{s}");
}

/// Issue 26.2: a typo in the *user* file no longer stops every compile of every project
/// (bare ccache compiles with `max_sizee` in ccache.conf): the file is left out, the
/// compile works, and `stats`, `stats --json`, `doctor` and `config` say so loudly. An
/// invalid project file stays the hard error. `config check` tells the two apart: 78 when
/// a problem stops compiles, 1 when they still work (this file, an unset secret).
#[test]
fn an_invalid_user_file_is_left_out_loudly_and_config_check_tells_fatal_from_degraded() {
    if skip_unless(&[Need::compilers()]) {
        return;
    }
    let (mut w, shims) = World::with_shims();
    let user = w.root().join("config/toolchainkit/config.toml");
    std::fs::create_dir_all(user.parent().expect("dir")).expect("mkdir");
    std::fs::write(&user, "[cache]\nsize_gbb = 2\n").expect("write");
    w.config("[cache]\ntool = \"none\"\n");
    w.write("a.c", HELLO_C);
    w.test_shim(&shims, "gcc")
        .args(["-c", "a.c"])
        .silent()
        .run();
    assert!(w.work.join("a.o").is_file());
    let at = format!(
        "{}:2:1: `cache.size_gbb`: unknown key `size_gbb`",
        user.display()
    );
    let notice = format!(
        "the user file {} is invalid and left out of every compile's configuration",
        user.display()
    );
    w.toolchainkit()
        .arg("stats")
        .stderr("")
        .stdout_contains(format!("notice: {notice}"))
        .stdout_contains(&at)
        .run();
    let s = w.stats();
    assert!(s["notices"].to_string().contains(&notice), "{s}");
    assert_eq!(s["invocations"], 1, "{s}");
    let doc = w
        .toolchainkit()
        .arg("doctor")
        .status(1)
        .stdout_contains("problem  config.user")
        .stdout_contains(&at)
        .stdout_contains("did you mean `size_gb`?")
        .stdout_text();
    assert!(!doc.contains("compiles fail with exit 78"), "{doc}");
    w.toolchainkit()
        .arg("config")
        .stderr("")
        .stdout_contains(format!(
            "user file:    {} (INVALID, left out",
            user.display()
        ))
        .stdout_contains(format!("  invalid:    {at}"))
        .run();
    w.toolchainkit()
        .args(["config", "check"])
        .status(1)
        .stderr("")
        .stdout_contains(format!("degraded: {at}"))
        .stdout_contains("1 problem(s), none stops a compile")
        .run();
    let v = w
        .toolchainkit()
        .args(["config", "check", "--json"])
        .status(1)
        .json();
    assert_eq!(v["status"], "degraded", "{v}");
    assert_eq!(v["problems"][0]["fatal"], false, "{v}");
    // An unset secret of a trusted project file degrades too (an untrusted file's
    // remote is withheld, so its secret is not looked for).
    std::fs::remove_file(&user).expect("rm");
    w.trust_project();
    w.config(
        "[cache]\ntool = \"ccache\"\n\n[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:6379\"\npassword_env = \"TK_UNSET_PASSWORD\"\n",
    );
    w.toolchainkit()
        .args(["config", "check"])
        .status(1)
        .stdout_contains("degraded: ")
        .stdout_contains("TK_UNSET_PASSWORD")
        .run();
    // An invalid project file stops compiles and is fatal for `config check`.
    std::fs::write(&user, "[cache]\nsize_gbb = 2\n").expect("write");
    w.config("[cache]\ntool = \"sccach\"\n");
    w.test_shim(&shims, "gcc")
        .args(["-c", "a.c"])
        .status(78)
        .stderr_contains("`cache.tool`")
        .run();
    let v = w
        .toolchainkit()
        .args(["config", "check", "--json"])
        .status(78)
        .json();
    assert_eq!(v["status"], "invalid", "{v}");
    let fatal: Vec<bool> = v["problems"]
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["fatal"].as_bool().unwrap_or(true))
        .collect();
    assert_eq!(
        fatal,
        [false, true],
        "the user file's, then the project's: {v}"
    );
}

/// Issue 26.6: `trace --markdown FILE` appends a summary a CI job's summary page shows
/// (`$GITHUB_STEP_SUMMARY`): counts per outcome, every compile the cache did not serve
/// with its outcome, files relative to their shared directory; and the SVG names each
/// bar's file and outcome without hovering.
#[test]
fn trace_markdown_appends_a_ci_summary_and_the_svg_labels_its_bars() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n\n[stats]\ntrace = true\n");
    w.write("src/a.c", HELLO_C);
    // A second between the invocations (well under the 10 s gap that splits builds):
    // each bar then has room after it on its lane for its label, however long each
    // compile took on a loaded machine.
    let pause = || std::thread::sleep(std::time::Duration::from_secs(1));
    for _ in 0..2 {
        w.test_shim(&shims, "gcc")
            .args(["-c", "src/a.c", "-o", "a.o"])
            .silent()
            .run();
        pause();
    }
    w.test_shim(&shims, "gcc")
        .args(["a.o", "-o", "app"])
        .silent()
        .run();
    let summary = w.root().join("summary.md");
    std::fs::write(&summary, "earlier step\n").expect("write");
    w.toolchainkit()
        .args(["trace", "--markdown"])
        .arg(&summary)
        .stderr("")
        .stdout_contains(format!(
            "appended a Markdown summary to {}",
            summary.display()
        ))
        .run();
    let md = std::fs::read_to_string(&summary).expect("read");
    assert!(
        md.starts_with("earlier step\n### toolchainkit build, started "),
        "{md}"
    );
    assert!(
        md.contains("| hit | 1 |\n| miss | 1 |\n| uncacheable | 1 |"),
        "{md}"
    );
    assert!(
        md.contains("**Not served from the cache, with why** (2)")
            && md.contains("| miss: cold | src/a.c |")
            && md.contains("uncacheable.not\\_a\\_compile"),
        "{md}"
    );
    // No absolute paths in the rows (these were given relative; absolute ones are made
    // relative to the directory they share, see the unit tests).
    assert!(
        !md.lines()
            .any(|l| l.starts_with("| ") && l.contains(&format!("{}/src", w.work.display()))),
        "{md}"
    );
    let svg = w.root().join("t.svg");
    w.toolchainkit().args(["trace", "--svg"]).arg(&svg).run();
    let doc = std::fs::read_to_string(&svg).expect("svg");
    // Each bar carries its file and outcome without hovering (the explained miss its
    // cause too).
    assert!(
        doc.contains("a.c · hit") && doc.contains("a.c · miss: cold"),
        "{doc}"
    );
}
