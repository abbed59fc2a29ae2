//! The CLI a ccache/sccache user expects: a mistyped subcommand runs nothing, `server
//! status` says where the server is and how to ask it, `cache show|clean|zero|size`
//! through the configured tool, `container-args` with everything a container needs, and
//! `doctor`'s verdicts on a missing configured tool, a root-owned cache and a container
//! set up by `container-args`. The real binary, gcc, ccache and sccache.

mod common;

use std::path::PathBuf;

use common::*;

fn with_shims() -> (World, PathBuf) {
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    (w, shims)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_mistyped_subcommand_runs_no_program_and_suggests_the_right_one() {
    let w = World::new();
    w.write("f", "12345");
    for (typo, want) in [("stat", "stats"), ("doctr", "doctor"), ("confg", "config")] {
        let out = w.tk().args([typo, "-c", "%s", "f"]).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        assert!(out.stdout.is_empty(), "nothing ran: {}", describe(&out));
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!(
                "unknown subcommand `{typo}`; did you mean `{want}`?"
            )) && err.contains(&format!("toolchainkit -- {typo} ARGS")),
            "{err}"
        );
        assert!(!err.contains("no real compiler"), "{err}");
    }
    // Far from every subcommand: no suggestion, still no program run.
    let out = w
        .tk()
        .args(["python3", "-c", "print(1)"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(out.stdout.is_empty() && text(&out.stderr).contains("unknown subcommand `python3`"));
    // Forced with `--`, or by path, the program runs (uncached: it is no compiler).
    let out = ok(w
        .tk()
        .args(["--", "stat", "-c", "%s", "f"])
        .output()
        .expect("run"));
    assert_eq!(text(&out.stdout).trim(), "5");
    let out = ok(w
        .tk()
        .args(["/usr/bin/stat", "-c", "%s", "f"])
        .output()
        .expect("run"));
    assert_eq!(text(&out.stdout).trim(), "5");
    // A known compiler name is a compiler.
    w.write("a.c", HELLO_C);
    silent(w.tk().args(["gcc", "-c", "a.c"]).output().expect("gcc"));
    assert!(w.work.join("a.o").is_file());
}
