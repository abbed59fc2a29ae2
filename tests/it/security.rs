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
    victim
        .test(b.shims.join("cc"), &env)
        .args(["-c", "f.c", "-o", "f.o"])
        .current_dir(&proj)
        .silent()
        .run();
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

    let text = victim
        .test(&b.bin, &env)
        .arg("doctor")
        .current_dir(&proj)
        .status(1)
        .stdout_text();
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
    victim
        .test(b.shims.join("cc"), &env)
        .args(["-c", "f.c", "-o", "f.o"])
        .current_dir(&proj)
        .silent()
        .run();
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

    let text = victim
        .test(&b.bin, &env)
        .arg("doctor")
        .current_dir(&proj)
        .any_status()
        .stdout_text();
    let ignored = lines_with(&text, "problem", "config.ignored");
    assert!(
        ignored.len() == 1
            && ignored[0].contains(&format!("owned by uid {}", attacker.uid))
            && ignored[0].contains("TOOLCHAINKIT_TRUSTED_DIRS"),
        "{text}"
    );
    victim
        .test(&b.bin, &env)
        .arg("config")
        .current_dir(&proj)
        .any_status()
        .stdout_contains("ignored:")
        .run();

    // The control: trusting the directory on purpose obeys the file, so the trap above
    // is real (its prefix command runs).
    let mut trusted = env.to_vec();
    trusted.push(("TOOLCHAINKIT_TRUSTED_DIRS", shared.display().to_string()));
    victim
        .test(b.shims.join("cc"), &trusted)
        .args(["-c", "f.c", "-o", "g.o"])
        .current_dir(&proj)
        .any_status()
        .run();
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
        u.test(&b.bin, &env)
            .arg("config")
            .current_dir(&proj)
            .any_status()
            .stdout_text()
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
    let text = victim
        .test(&b.bin, &env)
        .args(["server", "status"])
        .current_dir(&proj)
        .any_status()
        .stdout_text();
    let sock = PathBuf::from(
        text.split("would use ")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .unwrap_or_else(|| panic!("no socket in {text}")),
    );
    let dir = sock.parent().expect("runtime dir").to_path_buf();
    assert!(dir.starts_with(&tmp), "{}", dir.display());
    fs::create_dir_all(&dir).expect("mkdir");
    symlink(vhome.join("precious.txt"), sock.with_extension("log")).expect("plant log");
    let listener = UnixListener::bind(&sock).expect("bind the victim's socket");
    listener.set_nonblocking(true).expect("nonblocking");
    attacker.own(&dir);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).expect("chmod");

    victim
        .test(b.shims.join("cc"), &env)
        .args(["-c", "f.c", "-o", "f.o"])
        .current_dir(&proj)
        .silent()
        .run();
    assert_eq!(read(&proj.join("f.o")), want);
    assert!(
        listener.accept().is_err(),
        "a request reached the planted socket"
    );
    assert_eq!(
        fs::read_to_string(vhome.join("precious.txt")).expect("precious"),
        "keep me\n"
    );
    let s = victim
        .test(&b.bin, &env)
        .args(["stats", "--json"])
        .current_dir(&proj)
        .any_status()
        .json();
    assert_eq!(
        s["fallback_reasons"]["sccache_server_unavailable"].as_u64(),
        Some(1),
        "{s}"
    );
    let text = victim
        .test(&b.bin, &env)
        .arg("doctor")
        .current_dir(&proj)
        .any_status()
        .stdout_text();
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
    victim
        .test(b.shims.join("cc"), &env)
        .args(["-c", "f.c", "-o", "f.o"])
        .current_dir(&proj)
        .silent()
        .run();
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
    // The server record lives only while its server runs (`server stop` removes it).
    let records: Vec<PathBuf> = fs::read_dir(run.join("toolchainkit"))
        .expect("runtime dir")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "info"))
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(mode(&records[0]) & 0o777, 0o600, "{}", records[0].display());
    victim
        .test(&b.bin, &env)
        .args(["server", "stop"])
        .current_dir(&proj)
        .run();
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

/// Issue 19, item 6: `trace --html/--svg/--chrome PATH` and `cmake --write PATH` followed a
/// symlink another user planted in a group-shared directory and overwrote the victim's own
/// file. Now each writes a new file beside PATH and renames it over PATH; a link at PATH
/// is followed only when it is the user's own, a file of somebody else's is not replaced.
#[test]
fn outputs_named_on_the_command_line_refuse_a_planted_symlink() {
    if skip_unless(&[Need::root(), Need::tools(), Need::compilers()]) {
        return;
    }
    let b = Box::new();
    let victim = User::create('v', &b.path().join("vhome"));
    let attacker = User::create('a', Path::new("/nonexistent"));
    let vhome = b.dir_of(&victim, "vhome");
    let proj = b.dir_of(&victim, "proj");
    write_as(&victim, &proj.join("f.c"), LIB_C, 0o644);
    write_as(
        &victim,
        &proj.join(".toolchainkit.toml"),
        "[cache]\ntool = \"none\"\n\n[stats]\ntrace = true\n",
        0o644,
    );
    let precious = vhome.join("precious.txt");
    write_as(&victim, &precious, "keep me\n", 0o644);
    // A directory both users may write (no sticky bit, as a group-shared one).
    let shared = b.path().join("shared");
    fs::create_dir_all(&shared).expect("mkdir");
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).expect("chmod");
    let plant = |name: &str| {
        let at = shared.join(name);
        symlink(&precious, &at).expect("plant");
        std::os::unix::fs::lchown(&at, Some(attacker.uid), Some(attacker.gid)).expect("lchown");
        at
    };
    let env = [
        ("PATH", format!("{}:/usr/bin:/bin", b.shims.display())),
        ("HOME", vhome.display().to_string()),
    ];
    let tk = |args: &[&std::ffi::OsStr]| victim.test(&b.bin, &env).args(args).current_dir(&proj);
    victim
        .test(b.shims.join("cc"), &env)
        .args(["-c", "f.c", "-o", "f.o"])
        .current_dir(&proj)
        .silent()
        .run();

    for (flag, name) in [
        ("--html", "t.html"),
        ("--svg", "t.svg"),
        ("--chrome", "t.json"),
        ("--write", "tk.cmake"),
    ] {
        let link = plant(name);
        let cmd = if flag == "--write" { "cmake" } else { "trace" };
        tk(&[cmd.as_ref(), flag.as_ref(), link.as_os_str()])
            .status(1)
            .stderr_contains(format!("a symlink owned by uid {}", attacker.uid))
            .run();
        assert_eq!(
            fs::read_to_string(&precious).expect("precious"),
            "keep me\n",
            "{cmd} {flag} wrote through the planted link"
        );
        assert!(
            fs::symlink_metadata(&link)
                .expect("link")
                .file_type()
                .is_symlink(),
            "the planted link is left as it is"
        );

        // Somebody else's regular file there is not replaced either.
        let theirs = shared.join(format!("theirs-{name}"));
        write_as(&attacker, &theirs, "theirs\n", 0o666);
        tk(&[cmd.as_ref(), flag.as_ref(), theirs.as_os_str()])
            .status(1)
            .run();
        assert_eq!(fs::read_to_string(&theirs).expect("theirs"), "theirs\n");

        // The victim's own link is followed, and a plain path is written anew.
        let own = shared.join(format!("own-{name}"));
        let target = vhome.join(format!("out-{name}"));
        symlink(&target, &own).expect("own link");
        std::os::unix::fs::lchown(&own, Some(victim.uid), Some(victim.gid)).expect("lchown");
        tk(&[cmd.as_ref(), flag.as_ref(), own.as_os_str()]).run();
        assert!(fs::metadata(&target).expect("written via own link").len() > 0);
        let plain = shared.join(format!("plain-{name}"));
        tk(&[cmd.as_ref(), flag.as_ref(), plain.as_os_str()]).run();
        let m = fs::metadata(&plain).expect("plain");
        assert_eq!(m.uid(), victim.uid);
        assert_eq!(
            m.mode() & 0o777,
            0o644,
            "the umask's mode, as a plain write gives"
        );
    }
    let left: Vec<_> = fs::read_dir(&shared)
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// How a planted listener treats a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trap {
    /// Reads the request and answers for the compiler: exit 0, no object, escapes on
    /// stderr.
    Answers,
    /// Reads the request and never answers.
    Silent,
}

/// A listener planted at the victim's socket path (world-connectable), recording what
/// it is sent.
struct Planted {
    got: Arc<Mutex<Vec<u8>>>,
    connections: Arc<Mutex<u32>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A frame as sccache 0.16 writes one: 4-byte big-endian length, then the body.
fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

impl Planted {
    fn bind(sock: &Path, trap: Trap) -> Planted {
        let l = UnixListener::bind(sock).expect("bind the victim's socket");
        fs::set_permissions(sock, fs::Permissions::from_mode(0o777)).expect("chmod");
        l.set_nonblocking(true).expect("nonblocking");
        let got = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, c, s) = (got.clone(), connections.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !s.load(Ordering::SeqCst) {
                let Ok((mut conn, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                *c.lock().expect("lock") += 1;
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                let mut len = [0u8; 4];
                if conn.read_exact(&mut len).is_err() {
                    continue;
                }
                let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
                let _ = conn.read_exact(&mut body);
                g.lock().expect("lock").extend_from_slice(&body);
                if trap == Trap::Silent {
                    held.push(conn);
                    continue;
                }
                use std::io::Write;
                // Response::Compile(CompileStarted), then Response::CompileFinished
                // { retcode: Some(0), signal: None, stdout: [], stderr: ESC..., On }.
                let started = frame(&[0, 0, 0, 0, 0, 0, 0, 0]);
                let mut fin = vec![5, 0, 0, 0, 1, 0, 0, 0, 0, 0];
                let evil = b"\x1b]0;PWN\x07\x1b[31mRED\n";
                fin.extend_from_slice(&0u64.to_le_bytes());
                fin.extend_from_slice(&(evil.len() as u64).to_le_bytes());
                fin.extend_from_slice(evil);
                fin.extend_from_slice(&1u32.to_le_bytes());
                let _ = conn.write_all(&started);
                let _ = conn.write_all(&frame(&fin));
            }
        });
        Planted {
            got,
            connections,
            stop,
            thread: Some(thread),
        }
    }

    fn seen(&self) -> (u32, Vec<u8>) {
        (
            *self.connections.lock().expect("lock"),
            self.got.lock().expect("lock").clone(),
        )
    }
}

impl Drop for Planted {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Issue 19 item 1: the other user creates `/tmp/toolchainkit-<victim uid>` (mode 0777)
/// before the victim's first compile, writes a server record naming the real sccache
/// (as a regular file or as a FIFO) and listens on the victim's socket, answering for
/// the compiler or never answering. With either client, the victim's compile must not
/// connect (the request carries its arguments and environment), must not hang, and
/// must produce the real object; `server status` and `doctor` say the directory is
/// refused, and neither hangs on the FIFO.
#[test]
fn a_squatted_runtime_directory_never_sees_a_request() {
    if skip_unless(&[Need::root(), Need::tools(), Need::compilers()]) {
        return;
    }
    let b = Box::new();
    let victim = User::create('v', &b.path().join("vhome"));
    let attacker = User::create('a', Path::new("/nonexistent"));
    let vhome = b.dir_of(&victim, "vhome");
    let proj = b.dir_of(&victim, "proj");
    write_as(&victim, &proj.join("f.c"), LIB_C, 0o644);
    let want = bare_object(&proj, "f.c");
    let exe = b.tools.join("sccache");
    let m = fs::metadata(&exe).expect("sccache");
    let record = format!(
        "version {SCCACHE_VERSION}\nsize {}\nmtime {}\nexe {}\n",
        m.len(),
        i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        exe.display()
    );
    let mut case = 0;
    let mut failed = Vec::new();
    for client in ["native", "process"] {
        for (trap, fifo) in [
            (Trap::Answers, false),
            (Trap::Silent, false),
            (Trap::Answers, true),
        ] {
            case += 1;
            let what = format!("{client} client, listener {trap:?}, record a FIFO: {fifo}");
            write_as(
                &victim,
                &proj.join(".toolchainkit.toml"),
                &format!("[cache]\ntool = \"sccache\"\nsccache_client = \"{client}\"\n"),
                0o644,
            );
            let tmp = b.sticky(&format!("tmp{case}"));
            let env = [
                (
                    "PATH",
                    format!("{}:{}:/usr/bin:/bin", b.shims.display(), b.tools.display()),
                ),
                ("HOME", vhome.display().to_string()),
                ("TMPDIR", tmp.display().to_string()),
                ("GITHUB_TOKEN", TOKEN.to_string()),
            ];
            let tk = |args: &[&str]| {
                Test::new(victim.cmd(&b.bin, &env), &proj)
                    .current_dir(&proj)
                    .args(args)
                    .timeout(Duration::from_secs(20))
            };
            // The socket name is computable; `server status` prints it.
            let text = tk(&["server", "status"]).status(1).stdout_text();
            let sock = PathBuf::from(
                text.split("would use ")
                    .nth(1)
                    .and_then(|s| s.split(')').next())
                    .unwrap_or_else(|| panic!("no socket in {text}")),
            );
            let dir = sock.parent().expect("runtime dir").to_path_buf();
            assert_eq!(dir, tmp.join(format!("toolchainkit-{}", victim.uid)));
            fs::create_dir(&dir).expect("mkdir");
            let info = sock.with_extension("info");
            if fifo {
                let c = std::ffi::CString::new(info.as_os_str().as_encoded_bytes()).expect("cstr");
                // SAFETY: a valid path; mkfifo reports failure in its result.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0);
            } else {
                write_as(&attacker, &info, &record, 0o644);
            }
            let planted = Planted::bind(&sock, trap);
            attacker.own(&dir);
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).expect("chmod");

            let _ = fs::remove_file(proj.join("f.o"));
            // Every case runs, and the failures are reported together.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Test::new(victim.cmd(b.shims.join("cc"), &env), &proj)
                    .current_dir(&proj)
                    .args(["-c", "f.c", "-o", "f.o"])
                    .timeout(Duration::from_secs(20))
                    .silent()
                    .run();
                assert!(
                    proj.join("f.o").exists() && read(&proj.join("f.o")) == want,
                    "{what}: the compile is the compiler's"
                );
                let s = tk(&["stats", "--json"]).json();
                assert_eq!(
                    s["fallback_reasons"]["sccache_server_unavailable"].as_u64(),
                    Some(case - failed.len() as u64),
                    "{what}: {s}"
                );
                tk(&["server", "status"])
                    .status(2)
                    .stdout_contains("refused: runtime directory refused")
                    .stdout_contains(format!("owned by uid {}", attacker.uid))
                    .stdout_lacks("running")
                    .run();
                let doc = tk(&["doctor"]).status(1).stdout_text();
                assert!(
                    lines_with(&doc, "problem", "sccache.server")
                        .iter()
                        .any(|l| l.contains("runtime directory refused")),
                    "{what}: {doc}"
                );
                let (connections, got) = planted.seen();
                assert_eq!(
                    connections, 0,
                    "{what}: the victim connected to the planted socket"
                );
                assert!(got.is_empty(), "{what}: a request reached the attacker");
            }));
            if result.is_err() {
                failed.push(what);
            }
        }
    }
    assert!(failed.is_empty(), "failed: {failed:#?}");
}
