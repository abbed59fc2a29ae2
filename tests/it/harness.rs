//! The test harness itself (`tests/common`): what no test process may leave behind and
//! what no test command may inherit. A test process is killed for real (SIGKILL, as a
//! timeout would) and its server must die with it while the daemon it left is swept; a
//! command's environment is checked against a caller's full of tool, CI and proxy
//! variables; the `Test` builder fails with the whole story.

use crate::common;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const CHILD_VAR: &str = "TK_HARNESS_CHILD";

/// Run one `#[ignore]`d helper of this file in a separate test process.
fn helper(name: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().expect("test binary"));
    c.args([
        "--ignored",
        "--exact",
        &format!("harness::{name}"),
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_VAR, "1")
    .stdin(Stdio::null());
    // Whatever happens to this test, the helper does not outlive it.
    procs::own_group_dying_with_parent(&mut c);
    c
}

/// Helper: a test process with a server (its own process group, dying with it) and a
/// daemon (detached with setsid, as a sccache server is), printing both pids, then
/// waiting to be killed.
#[test]
#[ignore = "run by a_killed_test_process_leaves_nothing_behind"]
fn helper_owner_of_a_server_and_a_daemon() {
    assert!(std::env::var_os(CHILD_VAR).is_some(), "a helper");
    let w = World::new();
    let mut server = Command::new("sleep");
    server.arg("600").stdin(Stdio::null());
    scrub(&mut server);
    procs::own_group_dying_with_parent(&mut server);
    let mut server = server.spawn().expect("server");
    let daemon = w
        .test("sh")
        .args([
            "-c",
            "setsid sleep 600 </dev/null >/dev/null 2>&1 & echo $!",
        ])
        .stderr("")
        .stdout_text();
    println!(
        "pids {} {} {}",
        server.id(),
        daemon.trim(),
        w.root().display()
    );
    std::thread::sleep(Duration::from_secs(600));
    // Not reached: the test kills this process first.
    let _ = server.kill();
    let _ = server.wait();
}

/// SIGKILL a test process (as a hung suite's timeout does): its server dies at once with
/// it; the daemon it left (not its child any more) dies at the next sweep, which also
/// removes the dead process's world.
#[test]
fn a_killed_test_process_leaves_nothing_behind() {
    if skip_unless(&[
        Need::program("sh", "dash"),
        Need::program("setsid", "util-linux"),
    ]) {
        return;
    }
    let mut child = helper("helper_owner_of_a_server_and_a_daemon")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("helper");
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    // libtest prints `test NAME ... ` before the helper's own output on the same line.
    let pids = loop {
        line.clear();
        assert!(
            out.read_line(&mut line).expect("read") > 0,
            "the helper ended without its pids"
        );
        if let Some(i) = line.find("pids ") {
            break line[i..].to_string();
        }
    };
    let f: Vec<&str> = pids.split_whitespace().collect();
    let server: i32 = f[1].parse().expect("server pid");
    let daemon: i32 = f[2].parse().expect("daemon pid");
    let root = std::path::PathBuf::from(f[3]);
    assert!(procs::alive(server) && procs::alive(daemon) && root.is_dir());
    child.kill().expect("SIGKILL the test process");
    child.wait().expect("reap");
    wait_until(
        "the server dies with its test process",
        Duration::from_secs(10),
        || !procs::alive(server),
    );
    assert!(procs::alive(daemon), "the daemon outlived its test process");
    // The sweep kills the daemon: at once, or (should its dead owner still show in
    // /proc for a moment) at a sweep soon after; it must be the sweep that does it.
    let mut killed = Vec::new();
    wait_until(
        "the daemon is swept and dies",
        Duration::from_secs(10),
        || {
            killed.extend(procs::sweep());
            !procs::alive(daemon)
        },
    );
    assert!(killed.contains(&daemon), "{killed:?}");
    assert!(!root.exists(), "the dead test process's world is left");
}

/// A stopped group is gone entirely, every member, not only its leader.
#[test]
fn stop_group_kills_every_member() {
    if skip_unless(&[Need::program("sh", "dash")]) {
        return;
    }
    let mut c = Command::new("sh");
    c.args(["-c", "trap '' TERM; sleep 600 & sleep 600 & wait"])
        .stdin(Stdio::null());
    scrub(&mut c);
    procs::own_group_dying_with_parent(&mut c);
    let mut child = c.spawn().expect("group");
    let pgid = child.id() as i32;
    wait_until("three members", Duration::from_secs(10), || {
        procs::group_members(pgid).len() == 3
    });
    procs::stop_group(&mut child, Duration::from_millis(200));
    assert_eq!(procs::group_members(pgid), Vec::<i32>::new());
}

/// Helper: print the environment a world's command gets.
#[test]
#[ignore = "run by no_test_command_inherits_tool_ci_or_proxy_settings"]
fn helper_print_a_commands_environment() {
    assert!(std::env::var_os(CHILD_VAR).is_some(), "a helper");
    let w = World::new();
    let env = w.test("env").arg("-0").stderr("").run().stdout;
    // On a line of its own (libtest has printed `test NAME ... ` without a newline).
    println!("\nroot {}", w.root().display());
    for e in env.split(|&b| b == 0).filter(|e| !e.is_empty()) {
        println!("env {}", String::from_utf8_lossy(e).replace('\n', "\\n"));
    }
}

/// Whatever the suite runs in, a test command sees the world's HOME, XDG dirs and TMPDIR,
/// and none of the caller's toolchainkit, ccache, sccache, CI, cloud, compiler or proxy
/// settings.
#[test]
fn no_test_command_inherits_tool_ci_or_proxy_settings() {
    if skip_unless(&[Need::program("env", "coreutils")]) {
        return;
    }
    let caller = [
        ("TOOLCHAINKIT_TOOL", "ccache"),
        ("CCACHE_DIR", "/caller/ccache"),
        ("SCCACHE_DIR", "/caller/sccache"),
        ("DISTCC_HOSTS", "caller"),
        ("CI", "true"),
        ("GITHUB_ACTIONS", "true"),
        ("GITLAB_CI", "true"),
        ("JENKINS_URL", "http://caller"),
        ("AWS_ACCESS_KEY_ID", "caller"),
        ("XDG_CONFIG_DIRS", "/caller/xdg"),
        ("HOME", "/caller/home"),
        ("TMPDIR", "/tmp"),
        ("CC", "caller-cc"),
        ("CFLAGS", "-Dcaller"),
        ("MAKEFLAGS", "-j99"),
        ("https_proxy", "http://caller:3128"),
        ("NO_PROXY", "caller"),
    ];
    let out = helper("helper_print_a_commands_environment")
        .envs(caller)
        .output()
        .expect("helper");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", describe(&out));
    let root = text
        .lines()
        .find_map(|l| l.strip_prefix("root "))
        .expect("root line");
    let env: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("env ")?.split_once('='))
        .collect();
    let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
    for (k, v) in caller {
        if k != "HOME" && k != "TMPDIR" {
            assert_eq!(get(k), None, "{k}={v} reached the command: {env:?}");
        }
    }
    for (k, dir) in [
        ("HOME", "home"),
        ("TMPDIR", "tmp"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache-home"),
    ] {
        assert_eq!(get(k), Some(format!("{root}/{dir}").as_str()), "{k}");
    }
    assert!(get("XDG_RUNTIME_DIR").is_some_and(|d| d.starts_with("/tmp/tkr")));
    assert!(
        get(procs::OWNER_VAR).is_some_and(|p| p.parse::<u32>().is_ok()),
        "every command carries its owner"
    );
}

/// A command that does not do what the test expects fails with the command, its working
/// directory, the environment the test added, the status and both streams.
#[test]
fn a_failing_command_reports_everything() {
    if skip_unless(&[Need::program("sh", "dash")]) {
        return;
    }
    let w = World::new();
    let failed = std::panic::catch_unwind(|| {
        w.test("sh")
            .args(["-c", "echo out; echo err >&2; exit 3"])
            .env("TK_SHOWN", "yes")
            .stdout("out\n")
            .run()
    });
    let msg = failed.expect_err("exit 3 where 0 is expected must fail");
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    for want in [
        "expected exit code 0",
        "command: sh -c 'echo out; echo err >&2; exit 3'",
        &format!("cwd: {}", w.work.display()),
        "TK_SHOWN=yes",
        "exit status: 3",
        "--- stdout ---\nout\n",
        "--- stderr ---\nerr\n",
    ] {
        assert!(msg.contains(want), "{want:?} missing from:\n{msg}");
    }
    // And a hang is killed with its process group and fails.
    let hung = std::panic::catch_unwind(|| {
        w.test("sh")
            .args(["-c", "sleep 600 & wait"])
            .timeout(Duration::from_millis(300))
            .run()
    });
    let msg = hung.expect_err("a hang must fail");
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("did not finish within"), "{msg}");
    // The report shows what the group was doing: the shell and its sleep, with masks.
    for want in ["Name:\tsh", "Name:\tsleep", "SigIgn:", "wchan"] {
        assert!(msg.contains(want), "{want:?} missing from:\n{msg}");
    }
}

/// `ClosedPort` refuses connections for as long as it lives.
#[test]
fn a_closed_port_refuses() {
    let p = ClosedPort::new();
    let err = TcpStream::connect(("127.0.0.1", p.port)).expect_err("refused");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}
