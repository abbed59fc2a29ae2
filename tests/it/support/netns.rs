//! Build hosts for the distribution tests: network namespaces on a private bridge.
//!
//! A `Lab` creates a bridge `tkdbr0` (10.213.201.1/24) in the test's own namespace and N
//! namespaces `tkd-1` ... `tkd-N`, each joined to the bridge by a veth pair and given
//! 10.213.201.(10+i). These addresses exist only inside this machine, on links the test
//! made; nothing else on any network is ever contacted. One daemon per namespace is
//! started in the foreground in its own process group (`ip netns exec NS PROGRAM`), so it
//! can be killed as a whole. `Drop` kills every daemon's process group and every process
//! left in the namespaces, then deletes the namespaces and the bridge, also when the test
//! fails. Labs are serialised across threads and processes by a lock file, and each new
//! lab first sweeps whatever a killed earlier run left with the `tkd` prefix.

use std::fs::{self, File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Namespace names are `tkd-<i>`; veths `tkdv<i>`; the bridge `tkdbr0`.
pub const PREFIX: &str = "tkd";
const BRIDGE: &str = "tkdbr0";
const NET: &str = "10.213.201";
const LOCK: &str = "/tmp/toolchainkit-test-netns.lock";

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ip: {e} (apt-get install iproute2)"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn must(args: &[&str]) {
    if let Err(e) = ip(args) {
        panic!("{e}");
    }
}

fn list(args: &[&str]) -> Vec<String> {
    Command::new("ip")
        .args(args)
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn kill_group(pid: i32, sig: i32) {
    if pid > 0 {
        // SAFETY: signalling a process group this test created.
        unsafe {
            libc::kill(-pid, sig);
        }
    }
}

/// Kill every process inside namespace `ns` (a daemon's forked children included).
fn kill_inside(ns: &str) {
    for line in list(&["netns", "pids", ns]) {
        if let Ok(pid) = line.trim().parse::<i32>() {
            // SAFETY: a process in a namespace this test (or an earlier run) created.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// Remove namespaces, veths and the bridge with our prefix (left by a crashed run).
fn sweep() {
    for line in list(&["netns", "list"]) {
        let name = line.split_whitespace().next().unwrap_or("");
        if name.starts_with(&format!("{PREFIX}-")) {
            kill_inside(name);
            let _ = ip(&["netns", "del", name]);
        }
    }
    for line in list(&["-o", "link", "show"]) {
        // "12: tkdv1@if2: <...>"
        if let Some(name) = line.split(": ").nth(1) {
            let name = name.split('@').next().unwrap_or(name);
            if name.starts_with(&format!("{PREFIX}v")) || name == BRIDGE {
                let _ = ip(&["link", "del", name]);
            }
        }
    }
}

/// A daemon running in one namespace.
pub struct Daemon {
    pub name: String,
    pub host: usize,
    pub log: PathBuf,
    child: Option<Child>,
}

impl Daemon {
    /// Kill the daemon's whole process group and reap it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_group(c.id() as i32, libc::SIGKILL);
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A set of namespaced hosts and their daemons.
pub struct Lab {
    _lock: File,
    pub hosts: usize,
    pub dir: tempfile::TempDir,
    pub daemons: Vec<Daemon>,
}

impl Lab {
    /// The address of this machine on the lab bridge.
    pub fn gateway() -> String {
        format!("{NET}.1")
    }

    /// The address of host `i` (1-based).
    pub fn addr(i: usize) -> String {
        format!("{NET}.{}", 10 + i)
    }

    /// The lab's subnet, for daemons' allow lists.
    pub fn cidr() -> String {
        format!("{NET}.0/24")
    }

    pub fn ns(i: usize) -> String {
        format!("{PREFIX}-{i}")
    }

    /// Create `hosts` namespaces on a fresh bridge.
    pub fn new(hosts: usize) -> Lab {
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(LOCK)
            .expect("open the lab lock file");
        // SAFETY: flock on a descriptor we own; blocks until other labs are gone.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "cannot lock {LOCK}");
        sweep();
        let dir = tempfile::Builder::new()
            .prefix("tk-lab-")
            .tempdir()
            .expect("lab dir");
        // Daemons drop root for their own users: let them write their logs and sockets.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).expect("chmod lab");
        let lab = Lab {
            _lock: lock,
            hosts,
            dir,
            daemons: Vec::new(),
        };
        must(&["link", "add", BRIDGE, "type", "bridge"]);
        must(&[
            "addr",
            "add",
            &format!("{}/24", Lab::gateway()),
            "dev",
            BRIDGE,
        ]);
        must(&["link", "set", BRIDGE, "up"]);
        for i in 1..=hosts {
            let ns = Lab::ns(i);
            let veth = format!("{PREFIX}v{i}");
            must(&["netns", "add", &ns]);
            must(&[
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ]);
            must(&["link", "set", &veth, "master", BRIDGE, "up"]);
            must(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/24", Lab::addr(i)),
                "dev",
                "eth0",
            ]);
            must(&["-n", &ns, "link", "set", "eth0", "up"]);
            must(&["-n", &ns, "link", "set", "lo", "up"]);
        }
        lab
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Start `program ARGS` in host `host`'s namespace, in the foreground and in its own
    /// process group, its stdout and stderr in `<lab>/<name>.out`. Returns its index.
    pub fn spawn(
        &mut self,
        host: usize,
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(&str, String)],
    ) -> usize {
        let log = self.path(&format!("{name}.out"));
        let out = File::create(&log).expect("daemon log");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &Lab::ns(host)])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .current_dir(self.dir.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        // SAFETY: setsid is async-signal-safe; the child leads its own process group.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        self.daemons.push(Daemon {
            name: name.to_string(),
            host,
            log,
            child: Some(child),
        });
        self.daemons.len() - 1
    }

    /// Wait until `ok` holds, or fail with every daemon's output.
    pub fn wait_for(&self, what: &str, secs: u64, mut ok: impl FnMut(&Lab) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if ok(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{what}: not ready after {secs} s\n{}", self.report());
    }

    /// Every daemon's output, for failure messages.
    pub fn report(&self) -> String {
        let mut s = String::new();
        for d in &self.daemons {
            s.push_str(&format!(
                "--- {} (host {}) {} ---\n{}\n",
                d.name,
                d.host,
                d.log.display(),
                d.log_text()
            ));
        }
        // Daemons that write their own log files (`-l FILE`) into the lab directory.
        for e in fs::read_dir(self.dir.path())
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
        {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "log") {
                let text = fs::read_to_string(&p).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                s.push_str(&format!("--- {} (last 40 lines) ---\n", p.display()));
                for l in tail.into_iter().rev() {
                    s.push_str(l);
                    s.push('\n');
                }
            }
        }
        s
    }

    /// Is something listening on `addr:port`?
    pub fn tcp_up(addr: &str, port: u16) -> bool {
        let Ok(a) = format!("{addr}:{port}").parse::<std::net::SocketAddr>() else {
            return false;
        };
        std::net::TcpStream::connect_timeout(&a, Duration::from_millis(300)).is_ok()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for d in &mut self.daemons {
            d.kill();
        }
        for i in 1..=self.hosts {
            kill_inside(&Lab::ns(i));
        }
        sweep();
    }
}
