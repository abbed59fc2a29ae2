//! Shell completions and manual pages generated from the clap definitions: bash and fish
//! really complete subcommands, options and values; zsh loads the function; the manual
//! pages render with groff and man without a warning.

use crate::common;

use std::fs;
use std::path::Path;

use common::*;

/// Run `shell -c script` in the test's world; stdout, with nothing on stderr.
fn shell(w: &World, shell: &Path, args: &[&str], script: &str) -> String {
    w.test(shell)
        .args(args)
        .arg("-c")
        .arg(script)
        .env("TK", bin())
        .stderr("")
        .stdout_text()
}

#[test]
fn bash_completes_subcommands_options_and_values() {
    if skip_unless(&[Need::program("bash", "bash")]) {
        return;
    }
    let w = World::new();
    let bash = require("bash", "bash");
    // bash calls the function with the command, the current word and the previous word.
    let complete = |words: &str, cword: usize, cur: &str, prev: &str| {
        shell(
            &w,
            &bash,
            &["--norc", "--noprofile"],
            &format!(
                "source <(\"$TK\" completions bash); COMP_WORDS=({words}); COMP_CWORD={cword}; \
                 _toolchainkit toolchainkit '{cur}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\""
            ),
        )
    };
    assert_eq!(
        complete("toolchainkit sta", 1, "sta", "toolchainkit"),
        "stats\n"
    );
    assert_eq!(
        complete("toolchainkit co", 1, "co", "toolchainkit"),
        "config\ncontainer-args\ncompletions\n"
    );
    assert_eq!(
        complete("toolchainkit trace --la", 2, "--la", "trace"),
        "--last-build\n"
    );
    assert_eq!(
        complete("toolchainkit env --format ''", 3, "", "--format"),
        "sh\nfish\npowershell\ndotenv\ngithub\njson\n"
    );
    assert_eq!(
        complete("toolchainkit completions ''", 2, "", "completions"),
        "-h\n--help\nbash\nelvish\nfish\npowershell\nzsh\n"
    );
}

#[test]
fn fish_completes_with_descriptions() {
    if skip_unless(&[Need::program("fish", "fish")]) {
        return;
    }
    let w = World::new();
    let fish = require("fish", "fish");
    let out = shell(
        &w,
        &fish,
        &["--no-config"],
        "function toolchainkit; \"$TK\" $argv; end; \"$TK\" completions fish | source; \
         complete -C 'toolchainkit sta'; complete -C 'toolchainkit env --format '; \
         complete -C 'toolchainkit trace --si'",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.contains(&"stats\tShow this project's cache statistics"),
        "{out}"
    );
    for f in ["sh", "fish", "powershell", "dotenv", "github", "json"] {
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("{f}\t"))),
            "{f}: {out}"
        );
    }
    assert!(lines.iter().any(|l| l.starts_with("--since\t")), "{out}");
}

#[test]
fn zsh_loads_the_completion_function() {
    if skip_unless(&[Need::program("zsh", "zsh")]) {
        return;
    }
    let w = World::new();
    let zsh = require("zsh", "zsh");
    let out = shell(
        &w,
        &zsh,
        &["-f"],
        "autoload -U compinit; compinit -u -D; source <(\"$TK\" completions zsh); whence -w _toolchainkit",
    );
    assert_eq!(out, "_toolchainkit: function\n");
}

#[test]
fn manual_pages_render_without_warnings() {
    if skip_unless(&[
        Need::program("groff", "groff-base"),
        Need::program("man", "man-db"),
    ]) {
        return;
    }
    let w = World::new();
    let groff = require("groff", "groff-base");
    let man = require("man", "man-db");
    let page = w.root().join("toolchainkit.1");
    let out = w.toolchainkit().arg("man").run();
    fs::write(&page, &out.stdout).expect("write page");
    let dir = w.root().join("man1");
    let out = w.toolchainkit().args(["man", "--dir"]).arg(&dir).run();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("toolchainkit-trace.1"),
        "{}",
        describe(&out)
    );
    assert_eq!(read(&dir.join("toolchainkit.1")), read(&page));
    for entry in fs::read_dir(&dir).expect("man dir") {
        let p = entry.expect("entry").path();
        // -ww: every warning; -z: no output, only the diagnostics.
        w.test(&groff)
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(&p)
            .stderr("")
            .run();
    }
    let render = |p: &Path| {
        let out = w
            .test(&man)
            .arg("-l")
            .arg(p)
            .env("MANWIDTH", "100")
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .run();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let main = render(&page);
    for want in [
        "NAME",
        "SYNOPSIS",
        "toolchainkit-trace(1)",
        "toolchainkit-env(1)",
        "masquerade",
    ] {
        assert!(main.contains(want), "{want}:\n{main}");
    }
    let trace = render(&dir.join("toolchainkit-trace.1"));
    for want in ["--last-build", "--since", "--svg", "--html", "--chrome"] {
        assert!(trace.contains(want), "{want}:\n{trace}");
    }
}
