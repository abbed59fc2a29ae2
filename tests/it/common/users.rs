//! Real second users for the security tests: created with `useradd`, used through
//! `Command::uid`/`gid` (`User::cmd`, or `User::test` for a checked command), removed
//! (with every process they still run) when dropped. Names carry the creating test
//! process's pid, so users left by a killed run are removed by the next run's first
//! `User::create`.

use super::Test;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);
static SWEEP: Once = Once::new();

const PREFIX: &str = "tku";

/// A user that exists for the duration of one test.
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

fn run(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn remove(name: &str, uid: Option<u32>) {
    if let Some(uid) = uid {
        let _ = run(Command::new("pkill")
            .args(["-KILL", "-U"])
            .arg(uid.to_string()));
    }
    let _ = run(Command::new("userdel").arg("-f").arg(name));
    let _ = run(Command::new("groupdel").arg(name));
}

/// Remove users (and their processes) left behind by test runs that no longer exist.
fn sweep() {
    let Ok(text) = std::fs::read_to_string("/etc/passwd") else {
        return;
    };
    for line in text.lines() {
        let f: Vec<&str> = line.split(':').collect();
        let Some(rest) = f.first().and_then(|n| n.strip_prefix(PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('x').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            remove(f[0], f.get(2).and_then(|u| u.parse().ok()));
        }
    }
}

fn id(flag: &str, name: &str) -> u32 {
    let out = Command::new("id")
        .arg(flag)
        .arg(name)
        .output()
        .expect("run id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("id {flag} {name}: {out:?}"))
}

impl User {
    /// Create a user with its own private group and the given home directory entry (the
    /// directory itself is not created).
    pub fn create(role: char, home: &Path) -> User {
        SWEEP.call_once(sweep);
        let name = format!(
            "{PREFIX}{}x{}{role}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        let ok = run(Command::new("useradd")
            .args(["--no-create-home", "--user-group", "--shell", "/bin/sh"])
            .arg("--home-dir")
            .arg(home)
            .arg(&name));
        assert!(
            ok,
            "useradd {name} failed (run as root with useradd installed)"
        );
        let uid = id("-u", &name);
        let gid = id("-g", &name);
        User { name, uid, gid }
    }

    /// A command run as this user with exactly `env` (and nothing else) in its
    /// environment.
    pub fn cmd(&self, program: impl AsRef<std::ffi::OsStr>, env: &[(&str, String)]) -> Command {
        let mut c = Command::new(program);
        c.uid(self.uid)
            .gid(self.gid)
            .env_clear()
            .stdin(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    /// `cmd` as a checked command (`Test`); give it its directory with `.current_dir`.
    pub fn test(&self, program: impl AsRef<std::ffi::OsStr>, env: &[(&str, String)]) -> Test {
        let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
        Test::new(self.cmd(program, env), &cwd)
    }

    /// `chown -R` a path to this user.
    pub fn own(&self, path: &Path) {
        assert!(
            run(Command::new("chown")
                .arg("-R")
                .arg(format!("{}:{}", self.uid, self.gid))
                .arg(path)),
            "chown {}",
            path.display()
        );
    }
}

impl Drop for User {
    fn drop(&mut self) {
        remove(&self.name, Some(self.uid));
    }
}

/// A directory tree the test users can reach: `root` is world-traversable (0755) and owned
/// by root, whatever the umask and wherever the checkout lives.
pub fn shared_root() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::Builder::new()
        .prefix("tksec")
        .tempdir_in("/tmp")
        .expect("tempdir");
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    t
}

/// Copy a program into `dir` (mode 0755) so that users who cannot reach the checkout can
/// run it; returns the copy.
pub fn install_copy(program: &Path, dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let to = dir.join(program.file_name().expect("file name"));
    std::fs::copy(program, &to).expect("copy program");
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    to
}
