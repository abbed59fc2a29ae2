//! `Test`: one command run in a test's world, built up and then checked as a whole, in the
//! style of just's test builder.
//!
//! ```ignore
//! w.toolchainkit()
//!     .args(["config", "check"])
//!     .env("TK_SECRET", "v")
//!     .status(1)
//!     .stdout_contains("cache.tool")
//!     .stderr("")
//!     .run();
//! ```
//!
//! The expected exit status is 0 unless `.status(n)`, `.signal(s)` or `.any_status()` says
//! otherwise; stdout and stderr are checked against every expectation given (exact bytes,
//! contains, lacks). All of them are checked together after the command ends, and a
//! failure shows the command, its working directory, what the test added to the world's
//! environment, the status and both streams. A command that runs longer than its timeout
//! (default 10 minutes) is killed with its whole process group and fails the test.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

/// How a test expects the command to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Code(i32),
    Signal(i32),
    Any,
}

/// One expectation on stdout or stderr.
#[derive(Clone, Debug)]
enum Expect {
    Exact(Vec<u8>),
    Contains(String),
    Lacks(String),
}

/// A command to run once, with what its outcome must be.
#[must_use = "a Test does nothing until `.run()` (or `.spawn()`)"]
pub struct Test {
    cmd: Command,
    shown: Vec<OsString>,
    cwd: PathBuf,
    added_env: Vec<(OsString, Option<OsString>)>,
    stdin: Option<Vec<u8>>,
    status: Status,
    stdout: Vec<Expect>,
    stderr: Vec<Expect>,
    timeout: Duration,
}

impl Test {
    /// Wrap a prepared command (a `World::cmd`) whose working directory is `cwd`.
    pub fn new(cmd: Command, cwd: &Path) -> Test {
        let shown = vec![cmd.get_program().to_os_string()];
        Test {
            cmd,
            shown,
            cwd: cwd.to_path_buf(),
            added_env: Vec::new(),
            stdin: None,
            status: Status::Code(0),
            stdout: Vec::new(),
            stderr: Vec::new(),
            timeout: Duration::from_secs(600),
        }
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Test {
        self.cmd.arg(a.as_ref());
        self.shown.push(a.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Test
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    /// `argv[0]` as the program sees it (a shim found through PATH by its bare name).
    pub fn arg0(mut self, name: impl AsRef<OsStr>) -> Test {
        self.cmd.arg0(name.as_ref());
        self.shown[0] = name.as_ref().to_os_string();
        self
    }

    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Test {
        self.cmd.env(k.as_ref(), v.as_ref());
        self.added_env
            .push((k.as_ref().to_os_string(), Some(v.as_ref().to_os_string())));
        self
    }

    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Test {
        self.cmd.env_remove(k.as_ref());
        self.added_env.push((k.as_ref().to_os_string(), None));
        self
    }

    pub fn current_dir(mut self, d: impl AsRef<Path>) -> Test {
        self.cmd.current_dir(d.as_ref());
        self.cwd = d.as_ref().to_path_buf();
        self
    }

    /// Bytes for the command's stdin (default: `/dev/null`).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Test {
        self.stdin = Some(bytes.into());
        self
    }

    /// Expect exit code `code` (default 0).
    pub fn status(mut self, code: i32) -> Test {
        self.status = Status::Code(code);
        self
    }

    /// Expect death by signal `sig`.
    pub fn signal(mut self, sig: i32) -> Test {
        self.status = Status::Signal(sig);
        self
    }

    /// Any exit status (for a command whose status the test compares itself).
    pub fn any_status(mut self) -> Test {
        self.status = Status::Any;
        self
    }

    /// stdout must be exactly these bytes.
    pub fn stdout(mut self, want: impl AsRef<[u8]>) -> Test {
        self.stdout.push(Expect::Exact(want.as_ref().to_vec()));
        self
    }

    /// stderr must be exactly these bytes.
    pub fn stderr(mut self, want: impl AsRef<[u8]>) -> Test {
        self.stderr.push(Expect::Exact(want.as_ref().to_vec()));
        self
    }

    pub fn stdout_contains(mut self, s: impl Into<String>) -> Test {
        self.stdout.push(Expect::Contains(s.into()));
        self
    }

    pub fn stderr_contains(mut self, s: impl Into<String>) -> Test {
        self.stderr.push(Expect::Contains(s.into()));
        self
    }

    pub fn stdout_lacks(mut self, s: impl Into<String>) -> Test {
        self.stdout.push(Expect::Lacks(s.into()));
        self
    }

    pub fn stderr_lacks(mut self, s: impl Into<String>) -> Test {
        self.stderr.push(Expect::Lacks(s.into()));
        self
    }

    /// Success with nothing on stdout or stderr: the compile path's promise.
    pub fn silent(self) -> Test {
        self.status(0).stdout("").stderr("")
    }

    pub fn timeout(mut self, t: Duration) -> Test {
        self.timeout = t;
        self
    }

    /// Run, check everything, and return the output.
    #[track_caller]
    pub fn run(self) -> Output {
        let running = self.spawn();
        running.finish()
    }

    /// Run and return stdout as text (after all checks).
    #[track_caller]
    pub fn stdout_text(self) -> String {
        String::from_utf8_lossy(&self.run().stdout).into_owned()
    }

    /// Run and parse stdout as JSON (after all checks).
    #[track_caller]
    pub fn json(self) -> serde_json::Value {
        let out = self.run();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Start the command; `Running::finish` waits and checks. Dropping a `Running`
    /// without finishing kills its process group.
    #[track_caller]
    pub fn spawn(mut self) -> Running {
        self.cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // The command starts with the default action for the signals a build's shell
        // leaves at default, whatever the test runner inherited: a suite started in the
        // background of a non-interactive shell has SIGINT and SIGQUIT ignored, and an
        // ignored signal stays ignored through the shim by design. Tests that want one
        // ignored set it themselves (`sh -c "trap '' INT; exec ..."`).
        // SAFETY: between fork and exec the closure only calls signal(2), which is
        // async-signal-safe.
        unsafe {
            self.cmd.pre_exec(|| {
                for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP] {
                    libc::signal(sig, libc::SIG_DFL);
                }
                Ok(())
            });
        }
        let mut child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.command_line()));
        if let (Some(bytes), Some(mut pipe)) = (self.stdin.take(), child.stdin.take()) {
            std::thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            });
        }
        Running {
            child: Some(child),
            test: self,
        }
    }

    fn command_line(&self) -> String {
        self.shown
            .iter()
            .map(|a| shell_word(&a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The report printed when the command does not do what the test expects.
    fn report(&self, problems: &[String], status: Option<ExitStatus>, out: &Output) -> String {
        let env: Vec<String> = self
            .added_env
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{}={}", k.to_string_lossy(), v.to_string_lossy()),
                None => format!("-u {}", k.to_string_lossy()),
            })
            .collect();
        format!(
            "{}\ncommand: {}\ncwd: {}\nenv (besides the world's): {}\nstatus: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            problems.join("\n"),
            self.command_line(),
            self.cwd.display(),
            if env.is_empty() {
                "-".to_string()
            } else {
                env.join(" ")
            },
            status.map_or("killed after the timeout".to_string(), |s| format!("{s}")),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        )
    }
}

/// A started `Test`.
#[must_use = "a Running command must be finished (or it is killed when dropped)"]
pub struct Running {
    child: Option<Child>,
    test: Test,
}

impl Running {
    /// The process id (also its process group id).
    pub fn id(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Wait (at most the timeout), then check status, stdout and stderr together.
    #[track_caller]
    pub fn finish(mut self) -> Output {
        let child = self.child.take().expect("running");
        let pgid = child.id() as i32;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let (out, timed_out) = match rx.recv_timeout(self.test.timeout) {
            Ok(out) => (out.expect("wait"), None),
            Err(_) => {
                let seen = group_snapshot(pgid);
                super::procs::kill_group(pgid, libc::SIGKILL);
                (rx.recv().expect("wait").expect("wait"), Some(seen))
            }
        };
        let t = &self.test;
        let mut problems = Vec::new();
        if let Some(seen) = &timed_out {
            problems.push(format!(
                "did not finish within {:?}; its process group then:\n{seen}",
                t.timeout
            ));
        } else {
            match t.status {
                Status::Code(c) if out.status.code() != Some(c) => {
                    problems.push(format!("expected exit code {c}"));
                }
                Status::Signal(s) if out.status.signal() != Some(s) => {
                    problems.push(format!("expected death by signal {s}"));
                }
                _ => {}
            }
        }
        for (name, got, want) in [
            ("stdout", &out.stdout, &t.stdout),
            ("stderr", &out.stderr, &t.stderr),
        ] {
            for e in want {
                match e {
                    Expect::Exact(w) if got != w => problems.push(format!(
                        "{name} differs; expected exactly:\n{}",
                        String::from_utf8_lossy(w)
                    )),
                    Expect::Contains(s) if !String::from_utf8_lossy(got).contains(s.as_str()) => {
                        problems.push(format!("{name} lacks {s:?}"));
                    }
                    Expect::Lacks(s) if String::from_utf8_lossy(got).contains(s.as_str()) => {
                        problems.push(format!("{name} must not contain {s:?}"));
                    }
                    _ => {}
                }
            }
        }
        if !problems.is_empty() {
            panic!(
                "{}",
                t.report(&problems, timed_out.is_none().then_some(out.status), &out)
            );
        }
        out
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            super::procs::kill_group(c.id() as i32, libc::SIGKILL);
            let _ = c.wait();
        }
    }
}

/// A word as a shell would need it quoted (for showing a command line).
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// What each process of group `pgid` is doing (for a command that did not finish): its
/// state, where it waits, and its signal masks, from `/proc`.
fn group_snapshot(pgid: i32) -> String {
    let mut lines = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return "(no /proc)".into();
    };
    for e in rd.filter_map(Result::ok) {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the ')'.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = after.split_whitespace().collect();
        if fields.get(2).and_then(|g| g.parse::<i32>().ok()) != Some(pgid) {
            continue;
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let keep: Vec<&str> = status
            .lines()
            .filter(|l| {
                [
                    "Name:", "State:", "SigPnd:", "ShdPnd:", "SigBlk:", "SigIgn:", "SigCgt:",
                ]
                .iter()
                .any(|k| l.starts_with(k))
            })
            .collect();
        let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
        lines.push(format!("  pid {pid} wchan {wchan}: {}", keep.join(" | ")));
    }
    if lines.is_empty() {
        "  (no process left in the group)".into()
    } else {
        lines.join("\n")
    }
}
