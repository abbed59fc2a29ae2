//! Test harness shared by the doctor and tool tests: a private temp world (HOME, XDG
//! directories, a short runtime dir), the real binary, and the pinned real tools.

#![allow(dead_code)]

use std::ffi::OsString;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_toolchainkit");

/// The directory of the pinned ccache/sccache; fails loudly when they are missing.
pub fn tools() -> PathBuf {
    let dir = std::env::var_os("TOOLCHAINKIT_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-tools/bin"));
    for t in ["ccache", "sccache"] {
        assert!(
            dir.join(t).is_file(),
            "{t} not found in {}: run bash scripts/setup-tools.sh",
            dir.display()
        );
    }
    dir
}

pub struct World {
    pub tmp: tempfile::TempDir,
    /// The project directory (working directory of every command).
    pub project: PathBuf,
    pub path: OsString,
    pub extra_env: Vec<(String, String)>,
}

impl World {
    pub fn new() -> World {
        // Short, because sccache's unix socket lives under XDG_RUNTIME_DIR.
        let tmp = tempfile::Builder::new()
            .prefix("tkd")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let project = tmp.path().join("p");
        for d in ["p", "home", "cfg", "state", "data", "run"] {
            std::fs::create_dir_all(tmp.path().join(d)).expect("mkdir");
        }
        World {
            tmp,
            project,
            path: OsString::from("/usr/bin:/bin"),
            extra_env: Vec::new(),
        }
    }

    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// Create compiler-name shims in `ROOT/name` with `toolchainkit shims install`.
    pub fn shims(&self, name: &str) -> PathBuf {
        let dir = self.root().join(name);
        let out = self.run(&["shims", "install", dir.to_str().expect("utf-8")]);
        assert!(out.status.success(), "shims install: {}", text(&out));
        dir
    }

    /// A fake ccache masquerade directory: compiler names as symlinks to the real ccache.
    pub fn ccache_masquerade(&self, name: &str) -> PathBuf {
        let dir = self.root().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        for n in ["cc", "c++", "gcc", "g++"] {
            symlink(tools().join("ccache"), dir.join(n)).expect("symlink");
        }
        dir
    }

    pub fn set_path(&mut self, dirs: &[&Path]) {
        self.path = std::env::join_paths(dirs).expect("join PATH");
    }

    pub fn write(&self, rel: &str, body: &str) -> PathBuf {
        let p = self.project.join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(&p, body).expect("write");
        p
    }

    pub fn env(&mut self, k: &str, v: &str) {
        self.extra_env.push((k.into(), v.into()));
    }

    pub fn cmd(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if k.starts_with("TOOLCHAINKIT_")
                || k.starts_with("CCACHE_")
                || k.starts_with("SCCACHE_")
                || [
                    "CI",
                    "GITHUB_ACTIONS",
                    "GITLAB_CI",
                    "BUILDKITE",
                    "JENKINS_URL",
                    "TF_BUILD",
                    "CIRCLECI",
                ]
                .contains(&k.as_ref())
            {
                c.env_remove(k.as_ref());
            }
        }
        let r = self.root();
        c.current_dir(&self.project)
            .env("HOME", r.join("home"))
            .env("XDG_CONFIG_HOME", r.join("cfg"))
            .env("XDG_STATE_HOME", r.join("state"))
            .env("XDG_DATA_HOME", r.join("data"))
            .env("XDG_CACHE_HOME", r.join("home/.cache"))
            .env("XDG_RUNTIME_DIR", r.join("run"))
            .env("PATH", &self.path);
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(Path::new(BIN))
            .args(args)
            .output()
            .expect("run toolchainkit")
    }

    /// `toolchainkit doctor`: (exit code, stdout).
    pub fn doctor(&self) -> (i32, String) {
        let out = self.run(&["doctor"]);
        (out.status.code().unwrap_or(-1), text(&out))
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // Stop any sccache server this world's configuration started.
        let _ = self.cmd(Path::new(BIN)).args(["server", "stop"]).output();
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The report line of check `name` (the first one), for assertions.
pub fn line<'a>(report: &'a str, name: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no `{name}` line in:\n{report}"))
}

pub fn level(report: &str, name: &str) -> String {
    line(report, name)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}
