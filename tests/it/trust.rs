//! Issue 19, item 3: a project file of your own (as after `git clone`) runs no program and
//! sends no credential until you trust it (`toolchainkit trust`), or its directory is in
//! `TOOLCHAINKIT_TRUSTED_DIRS`. Until then the compile still works, without those settings,
//! and `stats`, `doctor`, `config` and `config check` say what was withheld and how to
//! trust it. A change to the file withholds them again. Real gcc, ccache, sccache and a
//! real redis-server.

use crate::common;
use crate::servers;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Reports that must name a withheld `key` and the command that trusts `file`.
fn assert_reported(w: &World, key: &str, file: &Path) {
    let cmd = format!("toolchainkit trust {}", file.display());
    for args in [
        &["stats"][..],
        &["doctor"],
        &["config"],
        &["config", "check"],
    ] {
        let out = w.toolchainkit().args(args).any_status().run();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.lines()
                .any(|l| l.contains(&format!("`{key}`")) && l.contains("withheld")),
            "`toolchainkit {}` does not say `{key}` is withheld:\n{text}",
            args.join(" ")
        );
        assert!(
            text.contains(&cmd),
            "`toolchainkit {}` does not give `{cmd}`:\n{text}",
            args.join(" ")
        );
    }
    let out = w.toolchainkit().args(["config", "check", "--json"]).json();
    assert!(
        out["withheld"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["key"] == key)),
        "{out}"
    );
    assert_eq!(out["valid"], true, "withheld is not invalid: {out}");
}

/// Nothing of `key` is withheld any more.
fn assert_not_reported(w: &World) {
    let out = w.toolchainkit().args(["config", "check", "--json"]).json();
    assert_eq!(out["withheld"], serde_json::json!([]), "{out}");
}

fn gcc_object(w: &World, src: &str) -> Vec<u8> {
    let out = w.root().join("reference.o");
    w.test_bare("gcc").args(["-c", src, "-o"]).arg(&out).run();
    let b = read(&out);
    let _ = fs::remove_file(&out);
    b
}

/// Compile `src` to `obj` as a build would: through the masquerade shim or the launcher,
/// silently, the object identical to gcc's own.
fn compile(w: &World, shims: &Path, masquerade: bool, src: &str, obj: &str) {
    let t = if masquerade {
        w.test_shim(shims, "gcc")
    } else {
        w.toolchainkit().arg("gcc")
    };
    t.args(["-c", src, "-o", obj]).silent().run();
    assert_eq!(
        read(&w.work.join(obj)),
        gcc_object(w, src),
        "{obj}: not gcc's object"
    );
}

#[test]
fn a_compiler_check_command_runs_only_once_the_file_is_trusted() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    let marker = w.root().join("MARKER");
    let text = format!(
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n\n[ccache]\ncompiler_check = \"/usr/bin/touch {}\"\n",
        marker.display()
    );
    w.config(&text);
    let file = w.work.join(".toolchainkit.toml");
    let mut n = 0;
    let mut next_src = |w: &World| {
        n += 1;
        let name = format!("s{n}.c");
        w.write(&name, format!("int f{n}(void) {{ return {n}; }}\n"));
        name
    };

    // Not trusted: neither mode runs it; the compile is cached all the same.
    for masquerade in [true, false] {
        let src = next_src(&w);
        compile(&w, &shims, masquerade, &src, "out.o");
        assert!(!marker.exists(), "compiler_check ran untrusted");
    }
    // `toolchainkit run` pins the file it found; that does not make it trusted.
    let src = next_src(&w);
    w.toolchainkit()
        .args(["run", "--", "gcc", "-c", &src, "-o", "run.o"])
        .silent()
        .run();
    assert!(w.work.join("run.o").is_file());
    assert!(!marker.exists(), "compiler_check ran untrusted under `run`");
    assert!(
        w.stats()["misses"].as_u64().unwrap_or(0) >= 3,
        "cached without the setting"
    );
    assert_reported(&w, "ccache.compiler_check", &file);

    // Trusted: it runs, in both modes.
    w.toolchainkit()
        .arg("trust")
        .stdout_contains("trusted ")
        .stdout_contains("now in effect: ccache.compiler_check")
        .run();
    assert_not_reported(&w);
    for masquerade in [true, false] {
        let _ = fs::remove_file(&marker);
        let src = next_src(&w);
        compile(&w, &shims, masquerade, &src, "out.o");
        assert!(marker.exists(), "compiler_check did not run once trusted");
    }
    let _ = fs::remove_file(&marker);
    let src = next_src(&w);
    w.toolchainkit()
        .args(["run", "--", "gcc", "-c", &src, "-o", "run.o"])
        .silent()
        .run();
    assert!(marker.exists(), "trusted, it runs under `run` too");

    // Changed after it was trusted: withheld again until trusted again.
    fs::write(&file, format!("{text}# edited\n")).expect("edit");
    for masquerade in [true, false] {
        let _ = fs::remove_file(&marker);
        let src = next_src(&w);
        compile(&w, &shims, masquerade, &src, "out.o");
        assert!(!marker.exists(), "ran after the file changed");
    }
    assert_reported(&w, "ccache.compiler_check", &file);
    w.toolchainkit()
        .args(["trust", "--list"])
        .stdout_contains("changed since it was trusted")
        .run();
    w.toolchainkit().args(["trust"]).arg(&w.work).run();
    let src = next_src(&w);
    compile(&w, &shims, true, &src, "out.o");
    assert!(marker.exists(), "trusted again");

    // Revoked: withheld.
    w.toolchainkit()
        .args(["trust", "--revoke"])
        .stdout_contains("no longer trusted")
        .run();
    let _ = fs::remove_file(&marker);
    let src = next_src(&w);
    compile(&w, &shims, false, &src, "out.o");
    assert!(!marker.exists(), "ran after revoke");

    // TOOLCHAINKIT_TRUSTED_DIRS: the one line for a CI job over its own repository.
    w.set_env("TOOLCHAINKIT_TRUSTED_DIRS", w.work.clone());
    assert_not_reported(&w);
    for masquerade in [true, false] {
        let _ = fs::remove_file(&marker);
        let src = next_src(&w);
        compile(&w, &shims, masquerade, &src, "out.o");
        assert!(
            marker.exists(),
            "TOOLCHAINKIT_TRUSTED_DIRS did not trust it"
        );
    }
}

/// Connections redis-server has accepted so far (this query's own included).
fn redis_connections(port: u16, pw: &str) -> u64 {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["--no-auth-warning", "-a", pw, "info", "stats"])
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("total_connections_received:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("total_connections_received")
}

fn redis_keys(port: u16, pw: &str) -> u64 {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["--no-auth-warning", "-a", pw, "dbsize"])
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("dbsize")
}

/// A project file pointing at a remote with `password_env = "GITHUB_TOKEN"`: untrusted, the
/// remote is never contacted (so never receives `AUTH <token>`), by ccache or by sccache
/// through either client, masquerade or launcher; the compile is cached locally. Once the
/// file is trusted the same compiles do reach it and store there (so the first half could
/// have failed).
#[test]
fn an_untrusted_remote_never_receives_the_credential() {
    let mut needs = vec![Need::tools(), Need::compilers()];
    needs.extend(servers::needs("redis"));
    if skip_unless(&needs) {
        return;
    }
    let token = format!("ghp_{}victimtoken0123456789", std::process::id());
    for (tool, client) in [
        ("ccache", "native"),
        ("sccache", "native"),
        ("sccache", "process"),
    ] {
        let mut w = World::new();
        let shims = w.install_shims("shims");
        w.path_front.push(shims.clone());
        let redis = servers::redis(&w.root().join("redis"), &token);
        w.env.push(("GITHUB_TOKEN".into(), token.clone()));
        w.env
            .push(("TOOLCHAINKIT_SCCACHE_CLIENT".into(), client.into()));
        w.config(&format!(
            "[cache]\ntool = \"{tool}\"\ndir = \"cache\"\n\n[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:{}\"\npassword_env = \"GITHUB_TOKEN\"\n",
            redis.port
        ));
        let file = w.work.join(".toolchainkit.toml");
        let before = redis_connections(redis.port, &token);
        for (i, masquerade) in [true, false].into_iter().enumerate() {
            let src = format!("u{i}.c");
            w.write(&src, format!("int u{i}(void) {{ return {i}; }}\n"));
            compile(&w, &shims, masquerade, &src, "out.o");
        }
        let after = redis_connections(redis.port, &token);
        assert_eq!(
            after - before,
            1,
            "{tool}/{client}: the untrusted file's remote was contacted"
        );
        let s = w.stats();
        assert!(
            s["misses"].as_u64().unwrap_or(0) >= 1,
            "{tool}/{client}: cached locally: {s}"
        );
        assert_reported(&w, "cache.remote", &file);
        // Nor do `env` and `container-args` hand it on; they say why on stderr.
        for cmd in ["env", "container-args"] {
            w.toolchainkit()
                .arg(cmd)
                .stderr_contains("`cache.remote`")
                .stdout_lacks("GITHUB_TOKEN")
                .run();
        }
        // `doctor` does not probe a withheld remote either.
        let probe = redis_connections(redis.port, &token);
        assert_eq!(
            probe - after,
            1,
            "{tool}/{client}: a report contacted the withheld remote"
        );
        assert_eq!(redis_keys(redis.port, &token), 0, "{tool}/{client}");

        w.toolchainkit().arg("trust").arg(&file).run();
        for (i, masquerade) in [true, false].into_iter().enumerate() {
            let src = format!("t{i}.c");
            w.write(&src, format!("int t{i}(void) {{ return {i} + 7; }}\n"));
            compile(&w, &shims, masquerade, &src, "out.o");
        }
        assert!(
            redis_keys(redis.port, &token) > 0,
            "{tool}/{client}: trusted, the remote is used"
        );
    }
}

/// The trust record is the user's own file: a link, another mode or a foreign record is
/// not believed.
#[test]
fn the_trust_record_must_be_private() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    let marker = w.root().join("MARKER");
    w.config(&format!(
        "[cache]\ntool = \"ccache\"\ndir = \"cache\"\n\n[ccache]\ncompiler_check = \"/usr/bin/touch {}\"\n",
        marker.display()
    ));
    w.write("a.c", LIB_C);
    w.toolchainkit().arg("trust").run();
    let record: PathBuf = w.root().join("state/toolchainkit/trusted");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode(&record) & 0o777, 0o600, "created 0600");
    compile(&w, &shims, true, "a.c", "a.o");
    assert!(marker.exists());

    // Opened to others: not believed.
    fs::set_permissions(&record, fs::Permissions::from_mode(0o644)).expect("chmod");
    let _ = fs::remove_file(&marker);
    compile(&w, &shims, true, "a.c", "a.o");
    assert!(!marker.exists(), "a 0644 record was believed");

    // A symlink to a record elsewhere: not followed.
    let elsewhere = w.root().join("elsewhere");
    fs::rename(&record, &elsewhere).expect("move");
    fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o600)).expect("chmod");
    std::os::unix::fs::symlink(&elsewhere, &record).expect("link");
    compile(&w, &shims, true, "a.c", "a.o");
    assert!(!marker.exists(), "a symlinked record was followed");
}

/// A cloned repository can also bring its cache directory, with a `ccache.conf` that
/// ccache reads from there (`compiler_check`, `prefix_command`, `compiler` name programs):
/// it is the project's setting too, withheld until the project file is trusted.
#[test]
fn a_ccache_conf_that_came_with_the_project_cache_dir_runs_nothing_until_trusted() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    let marker = w.root().join("MARKER");
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    w.write(
        "cache/ccache/ccache.conf",
        format!("compiler_check = /usr/bin/touch {}\n", marker.display()),
    );
    let file = w.work.join(".toolchainkit.toml");
    for (i, masquerade) in [true, false].into_iter().enumerate() {
        let src = format!("c{i}.c");
        w.write(&src, format!("int c{i}(void) {{ return {i}; }}\n"));
        compile(&w, &shims, masquerade, &src, "out.o");
        assert!(!marker.exists(), "the project's ccache.conf ran a program");
    }
    assert_reported(&w, "ccache.conf", &file);
    w.toolchainkit().arg("trust").run();
    w.write("c9.c", "int c9(void) { return 9; }\n");
    compile(&w, &shims, true, "c9.c", "out.o");
    assert!(
        marker.exists(),
        "trusted, the project's ccache.conf applies"
    );
}

/// A remote without any `*_env` in an untrusted file still must not receive a credential
/// sccache finds in the environment itself (`SCCACHE_REDIS_PASSWORD`): it is withheld
/// too. Trusted, sccache does authenticate with it, so the first half could fail.
#[test]
fn an_untrusted_remote_gets_no_credential_from_the_environment_either() {
    let mut needs = vec![Need::tools(), Need::compilers()];
    needs.extend(servers::needs("redis"));
    if skip_unless(&needs) {
        return;
    }
    let token = format!("ambient-{}-redis-secret", std::process::id());
    let (mut w, shims) = World::with_shims();
    let redis = servers::redis(&w.root().join("redis"), &token);
    w.env.push(("SCCACHE_REDIS_PASSWORD".into(), token.clone()));
    w.config(&format!(
        "[cache]\ntool = \"sccache\"\ndir = \"cache\"\n\n[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:{}\"\n",
        redis.port
    ));
    let file = w.work.join(".toolchainkit.toml");
    let before = redis_connections(redis.port, &token);
    for (i, masquerade) in [true, false].into_iter().enumerate() {
        let src = format!("e{i}.c");
        w.write(&src, format!("int e{i}(void) {{ return {i}; }}\n"));
        compile(&w, &shims, masquerade, &src, "out.o");
    }
    let after = redis_connections(redis.port, &token);
    assert_eq!(
        after - before,
        1,
        "the untrusted file's remote was contacted"
    );
    assert_reported(&w, "cache.remote", &file);

    w.set_env("TOOLCHAINKIT_TRUSTED_DIRS", w.work.clone());
    w.write("e9.c", "int e9(void) { return 9; }\n");
    compile(&w, &shims, true, "e9.c", "out.o");
    assert!(
        redis_keys(redis.port, &token) > 0,
        "trusted, sccache uses the remote with the environment's password"
    );
}
