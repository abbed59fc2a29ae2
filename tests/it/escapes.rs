//! Issue 19, item 4: names with control characters (a project directory named
//! `esc\e]0;PWN\a\e[31mRED\nFAKE-LINE`) reach no report raw: every human-readable output
//! shows them escaped, one line stays one line, and the JSON outputs keep them exact.

use crate::common;

use std::ffi::OsStr;
use std::path::Path;

use common::*;

const NAME: &str = "esc\x1b]0;PWN\x07\x1b[31mRED\nFAKE-LINE";
const SHOWN: &str = "esc\\e]0;PWN\\a\\e[31mRED\\nFAKE-LINE";

/// No raw control byte but newline and tab, and no line forged by the name.
fn assert_inert(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !bytes
            .iter()
            .any(|&b| (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f),
        "{what}: a raw control character reached the output:\n{text:?}"
    );
    assert!(
        !text.contains("\u{9b}"),
        "{what}: a raw C1 control reached the output"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("FAKE-LINE")),
        "{what}: the name forged a line:\n{text}"
    );
}

fn run(w: &World, dir: &Path, args: &[&str]) -> std::process::Output {
    w.toolchainkit()
        .args(args)
        .current_dir(dir)
        .any_status()
        .run()
}

#[test]
fn control_characters_in_a_project_name_reach_no_report_raw() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    let mut w = World::new();
    let shims = w.install_shims("shims");
    w.path_front.push(shims.clone());
    let proj = w.work.join(NAME);
    std::fs::create_dir_all(&proj).expect("mkdir");
    std::fs::write(
        proj.join(".toolchainkit.toml"),
        "[cache]\ntool = \"sccache\"\ndir = \"cache\"\n\n[ccache]\ncompiler_check = \"/bin/true\"\n\n[stats]\ntrace = true\n",
    )
    .expect("config");
    std::fs::write(proj.join("a.c"), LIB_C).expect("a.c");
    w.test_shim(&shims, "cc")
        .args(["-c", "a.c", "-o", "a.o"])
        .current_dir(&proj)
        .silent()
        .run();
    w.toolchainkit()
        .args(["gcc", "-c", "a.c", "-o", "b.o"])
        .current_dir(&proj)
        .silent()
        .run();

    let html = proj.join("t.html");
    let cmake = proj.join("tk.cmake");
    let mut seen_escaped = 0;
    for args in [
        vec!["stats"],
        vec!["stats", "--all"],
        vec!["stats", "--mark"],
        vec!["stats", "--since-mark"],
        vec!["doctor"],
        vec!["config"],
        vec!["config", "check"],
        vec!["which", "cc"],
        vec!["server", "status"],
        vec!["cache", "size"],
        vec!["dist", "status"],
        vec!["trust", "--list"],
        vec!["trace", "--html", html.to_str().expect("utf-8")],
        vec!["cmake", "--write", cmake.to_str().expect("utf-8")],
        vec!["trust"],
        vec!["trust", "--list"],
        vec!["trust", "--revoke"],
    ] {
        let out = run(&w, &proj, &args);
        let what = format!("toolchainkit {}", args.join(" ").replace(NAME, "NAME"));
        assert_inert(&format!("{what} (stdout)"), &out.stdout);
        assert_inert(&format!("{what} (stderr)"), &out.stderr);
        let both = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
        if String::from_utf8_lossy(&both).contains(SHOWN) {
            seen_escaped += 1;
        }
    }
    assert!(
        seen_escaped >= 12,
        "the name is shown, escaped, by most reports ({seen_escaped})"
    );

    // JSON stays exact.
    let s = w
        .toolchainkit()
        .args(["stats", "--json"])
        .current_dir(&proj)
        .json();
    assert!(
        s["project"]
            .as_str()
            .is_some_and(|p| p.ends_with(&format!("/{NAME}"))),
        "{s}"
    );
    let d = w
        .toolchainkit()
        .args(["doctor", "--json"])
        .current_dir(&proj)
        .any_status()
        .json();
    assert!(d.to_string().contains("\\u001b]0;PWN\\u0007"), "{d}");

    // An error message names the directory escaped too.
    let out = w
        .toolchainkit()
        .args(["trust"])
        .arg(proj.join(OsStr::new("missing\x1b[2J")))
        .current_dir(&proj)
        .any_status()
        .run();
    assert_inert("trust on a missing file", &out.stderr);
}

/// A compile that stops on an invalid project file names the file escaped, each problem
/// on its own line and its hint on the next.
#[test]
fn an_invalid_file_in_such_a_directory_is_named_escaped_by_the_compile() {
    if skip_unless(&[Need::compilers()]) {
        return;
    }
    let w = World::new();
    let proj = w.work.join(NAME);
    std::fs::create_dir_all(&proj).expect("mkdir");
    std::fs::write(proj.join(".toolchainkit.toml"), "[cache]\ntol = 1\n").expect("config");
    std::fs::write(proj.join("a.c"), LIB_C).expect("a.c");
    let out = w
        .toolchainkit()
        .args(["gcc", "-c", "a.c", "-o", "a.o"])
        .current_dir(&proj)
        .status(78)
        .run();
    assert_inert("the compile's error", &out.stderr);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.lines().next().is_some_and(|l| l.contains(SHOWN)),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("hint: ")), "{text}");
    let out = run(&w, &proj, &["config", "check"]);
    assert_inert("config check", &out.stdout);
}
