//! Process hygiene for everything the tests start: nothing may outlive the suite.
//!
//! - Every command a `World` or a test server starts carries `TK_TEST_OWNER=<pid of the
//!   test process>` in its environment (inherited by everything it starts in turn, sccache
//!   servers included, since the name is no credential).
//! - Servers run in their own process group and die with the test thread that started
//!   them (`PR_SET_PDEATHSIG`), so `stop` kills the whole group and a test process killed
//!   by a timeout takes its servers with it.
//! - What daemonizes (a sccache server started by the shim) escapes both; `sweep`, run
//!   once per test process before its first world or server, kills every process whose
//!   owner is gone and removes the temporary directories of dead test processes.
//!
//! A process is only ever killed when its marked owner no longer exists, so test
//! processes running side by side (other checkouts on the same machine) are never
//! touched. `scripts/test.sh` checks after the suite that no marked process is left.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Once;
use std::time::{Duration, Instant};

/// The environment variable naming the test process that started a process.
pub const OWNER_VAR: &str = "TK_TEST_OWNER";

/// Prefixes (followed by the owner's pid and `-`) of the temporary directories a test
/// process creates: world roots in the temp dir and short runtime dirs in `/tmp`.
pub const ROOT_PREFIX: &str = "tk-test-";
pub const RUNTIME_PREFIX: &str = "tkr";

/// This test process's id, as written into `OWNER_VAR`.
pub fn owner() -> String {
    std::process::id().to_string()
}

/// Mark `cmd` as started by this test process.
pub fn mark(cmd: &mut Command) {
    cmd.env(OWNER_VAR, owner());
}

/// Make the child die (SIGKILL) when the thread that spawns it exits, and run it in a
/// process group of its own (its id is the child's pid) so that it can be killed whole.
pub fn own_group_dying_with_parent(cmd: &mut Command) {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    cmd.process_group(0);
    // SAFETY: the closure only makes async-signal-safe system calls (prctl, getppid,
    // raise) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent died before the prctl: nobody would ever kill this child.
            if libc::getppid() != parent {
                libc::raise(libc::SIGKILL);
            }
            Ok(())
        });
    }
}

/// Send `sig` to process group `pgid`.
pub fn kill_group(pgid: i32, sig: i32) {
    if pgid > 1 {
        // SAFETY: kill(2) on a process group this test created.
        unsafe {
            libc::kill(-pgid, sig);
        }
    }
}

/// `(state, ppid, pgrp)` from `/proc/PID/stat` (the command name may hold spaces
/// and parentheses, so fields are counted after the last `)`).
pub fn stat(pid: i32) -> Option<(char, i32, i32)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    let pgrp = f.next()?.parse().ok()?;
    Some((state, ppid, pgrp))
}

/// Every process id in `/proc`.
pub fn all_pids() -> Vec<i32> {
    fs::read_dir("/proc")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The live (not zombie) members of process group `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|&p| stat(p).is_some_and(|(state, _, g)| g == pgid && state != 'Z'))
        .collect()
}

/// Is process `pid` alive (and not a zombie)?
pub fn alive(pid: i32) -> bool {
    stat(pid).is_some_and(|(state, _, _)| state != 'Z')
}

/// Stop a process group started with `own_group_dying_with_parent`: SIGTERM, up to
/// `grace` for the leader to exit, then SIGKILL to the whole group, and wait until no
/// member is left. Panics if one survives SIGKILL for 10 s.
pub fn stop_group(child: &mut Child, grace: Duration) {
    let pgid = child.id() as i32;
    kill_group(pgid, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    kill_group(pgid, libc::SIGKILL);
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = group_members(pgid);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes {left:?} of group {pgid} survived SIGKILL"
        );
        kill_group(pgid, libc::SIGKILL);
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The value of `var` in process `pid`'s initial environment.
pub fn environ_var(pid: i32, var: &str) -> Option<Vec<u8>> {
    let bytes = fs::read(format!("/proc/{pid}/environ")).ok()?;
    let prefix = format!("{var}=");
    bytes
        .split(|&b| b == 0)
        .find_map(|e| e.strip_prefix(prefix.as_bytes()).map(<[u8]>::to_vec))
}

/// TCP ports on which any of `pids` listens (from `/proc/net/tcp{,6}` and their
/// descriptors): to tell our server's listener from another process's on the same port.
pub fn listening_ports(pids: &[i32]) -> Vec<u16> {
    let mut inodes = std::collections::HashSet::new();
    for pid in pids {
        let Ok(rd) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for e in rd.filter_map(Result::ok) {
            if let Ok(target) = fs::read_link(e.path()) {
                let t = target.to_string_lossy();
                if let Some(n) = t.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) {
                    inodes.insert(n.to_string());
                }
            }
        }
    }
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            if f.len() > 9
                && f[3] == "0A"
                && inodes.contains(f[9])
                && let Some(port) = f[1]
                    .rsplit(':')
                    .next()
                    .and_then(|h| u16::from_str_radix(h, 16).ok())
            {
                ports.push(port);
            }
        }
    }
    ports
}

static SWEEP: Once = Once::new();

/// Once per test process: clean up after test processes that died without cleaning up.
pub fn sweep_once() {
    SWEEP.call_once(|| {
        sweep();
    });
}

/// Kill every process marked with an owner that no longer exists, and remove the
/// temporary directories of dead owners. Returns the pids killed.
pub fn sweep() -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut killed = Vec::new();
    for pid in all_pids() {
        if pid == me {
            continue;
        }
        let Some(owner) = environ_var(pid, OWNER_VAR) else {
            continue;
        };
        let Some(owner) = std::str::from_utf8(&owner)
            .ok()
            .and_then(|o| o.parse::<i32>().ok())
        else {
            continue;
        };
        if owner != me && !Path::new(&format!("/proc/{owner}")).exists() {
            // SAFETY: kill(2) on a process a dead test process left behind.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            killed.push(pid);
        }
    }
    let temp = std::env::temp_dir();
    for (dir, prefix) in [
        (temp.as_path(), ROOT_PREFIX),
        (Path::new("/tmp"), ROOT_PREFIX),
        (Path::new("/tmp"), RUNTIME_PREFIX),
    ] {
        remove_dead_owners_dirs(dir, prefix, me);
    }
    killed
}

/// Remove `DIR/PREFIX<pid>-*` for every pid that no longer exists.
fn remove_dead_owners_dirs(dir: &Path, prefix: &str, me: i32) {
    let Ok(rd) = fs::read_dir(dir) else {
        return;
    };
    for e in rd.filter_map(Result::ok) {
        let name = e.file_name();
        let Some(pid) = owner_of_dir(&name, prefix) else {
            continue;
        };
        if pid != me && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// The owner pid in a directory name `PREFIX<pid>-...`.
pub fn owner_of_dir(name: &OsStr, prefix: &str) -> Option<i32> {
    let rest = name.to_str()?.strip_prefix(prefix)?;
    let (pid, _) = rest.split_once('-')?;
    pid.parse().ok()
}
