//! `toolchainkit trace`: a real `make -j4` build through the shims, traced, shown as Chrome
//! JSON on reused lanes with metadata, picked by `--last-build` and `--since`, and drawn as
//! an SVG that a real XML parser accepts and headless Chromium renders with hits and misses
//! in their colours.

use crate::common;

use std::fs;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;

const SOURCES: usize = 8;

const MAKEFILE: &str = "OBJS = main.o $(patsubst %.c,%.o,$(wildcard s*.c))\n\
prog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n\
%.o: %.c\n\t$(CC) -O1 -c $< -o $@\n\
clean:\n\trm -f *.o prog\n";

fn source(i: usize, extra: &str) -> String {
    format!(
        "#include <stdio.h>\n#include <string.h>\n#include <stdlib.h>\nint s{i}(int x) {{ return x * {i}; }}\n{extra}"
    )
}

/// A project built twice with `make -j4` through the shims, the second time after a clean
/// and with two sources changed; returns the Unix second between the two builds.
fn two_builds(w: &mut World) -> u64 {
    require("make", "make");
    let shims = w.install_shims("shims");
    w.path_front.push(shims);
    w.config("[cache]\ntool = \"ccache\"\ndir = \"cache\"\n[stats]\ntrace = true\n");
    w.write("Makefile", MAKEFILE);
    w.write("main.c", "int main(void) { return 0; }\n");
    for i in 0..SOURCES {
        w.write(&format!("s{i}.c"), source(i, ""));
    }
    let make = |w: &World, args: &[&str]| {
        w.test("make").args(["-s", "CC=cc"]).args(args).run();
    };
    make(w, &["-j4"]);
    make(w, &["clean"]);
    // An idle gap longer than --gap 2, with a whole second boundary inside it.
    std::thread::sleep(Duration::from_millis(2500));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let between = now.ceil() as u64;
    while SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
        < between as f64 + 0.2
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    w.write("s2.c", source(2, "int changed2(void) { return 2; }\n"));
    w.write("s5.c", source(5, "int changed5(void) { return 5; }\n"));
    make(w, &["-j4"]);
    between
}

fn trace(w: &World, args: &[&str]) -> String {
    let out = w.toolchainkit().arg("trace").args(args).run();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn chrome(w: &World, args: &[&str]) -> serde_json::Value {
    let path = w.root().join("trace.json");
    let _ = fs::remove_file(&path);
    trace(
        w,
        &[&["--chrome", path.to_str().expect("utf8")], args].concat(),
    );
    serde_json::from_slice(&read(&path)).expect("chrome json")
}

fn x_events(doc: &serde_json::Value) -> Vec<serde_json::Value> {
    doc["traceEvents"]
        .as_array()
        .expect("traceEvents")
        .iter()
        .filter(|e| e["ph"] == "X")
        .cloned()
        .collect()
}

fn num(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// The most invocations running at one instant, computed from the events alone.
fn peak_parallelism(x: &[serde_json::Value]) -> usize {
    let mut edges: Vec<(u64, i32)> = Vec::new();
    for e in x {
        edges.push((num(e, "ts"), 1));
        edges.push((num(e, "ts") + num(e, "dur"), -1));
    }
    // Ends before starts at the same instant: a lane is free when its compile has ended.
    edges.sort_by_key(|&(t, d)| (t, d));
    let (mut cur, mut peak) = (0i32, 0i32);
    for (_, d) in edges {
        cur += d;
        peak = peak.max(cur);
    }
    peak as usize
}

#[test]
fn make_j4_build_on_reused_lanes_picked_by_last_build_and_since() {
    if skip_unless(&[
        Need::tools(),
        Need::compilers(),
        Need::program("make", "make"),
        Need::program("chromium", "chromium"),
    ]) {
        return;
    }
    let mut w = World::new();
    let between = two_builds(&mut w);
    let gap = ["--gap", "2"];

    // Everything: both builds, 2 × (9 compiles + 1 link).
    let all = x_events(&chrome(&w, &gap));
    assert_eq!(all.len(), 20, "{all:#?}");

    let doc = chrome(&w, &[&gap[..], &["--last-build"]].concat());
    let x = x_events(&doc);
    assert_eq!(x.len(), 10, "{x:#?}");
    let classes: Vec<&str> = x
        .iter()
        .map(|e| {
            e["name"]
                .as_str()
                .and_then(|n| n.split(' ').next())
                .expect("name")
        })
        .collect();
    let count = |c: &str| classes.iter().filter(|&&k| k == c).count();
    assert_eq!(
        (count("hit"), count("miss"), count("uncacheable")),
        (7, 2, 1),
        "{x:#?}"
    );
    for e in &x {
        let name = e["name"].as_str().expect("name");
        let want = match name.split(' ').next() {
            Some("hit") => "good",
            Some("miss") => "terrible",
            _ => "bad",
        };
        assert_eq!(e["cname"], want, "{e}");
        if name.starts_with("miss") {
            assert!(name == "miss s2.c" || name == "miss s5.c", "{name}");
        }
    }
    // Lanes: as many as the build's peak parallelism (at most -j4), never overlapping.
    let mut tids: Vec<u64> = x.iter().map(|e| num(e, "tid")).collect();
    tids.sort_unstable();
    tids.dedup();
    assert_eq!(tids.len(), peak_parallelism(&x), "{x:#?}");
    assert!(tids.len() <= 4 && tids.len() < x.len(), "{tids:?}");
    assert_eq!(tids, (1..=tids.len() as u64).collect::<Vec<_>>());
    for tid in &tids {
        let mut on: Vec<(u64, u64)> = x
            .iter()
            .filter(|e| num(e, "tid") == *tid)
            .map(|e| (num(e, "ts"), num(e, "ts") + num(e, "dur")))
            .collect();
        on.sort_unstable();
        assert!(
            on.windows(2).all(|p| p[0].1 <= p[1].0),
            "lane {tid}: {on:?}"
        );
    }
    assert_eq!(x.iter().map(|e| num(e, "ts")).min(), Some(0));
    // Metadata: the process and every lane are named.
    let meta: Vec<&serde_json::Value> = doc["traceEvents"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["ph"] == "M")
        .collect();
    let process: Vec<_> = meta
        .iter()
        .filter(|e| e["name"] == "process_name")
        .collect();
    assert_eq!(process.len(), 1);
    assert!(
        process[0]["args"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("toolchainkit build, started ")),
        "{process:?}"
    );
    for tid in &tids {
        assert!(
            meta.iter().any(|e| e["name"] == "thread_name"
                && e["tid"] == *tid
                && e["args"]["name"] == format!("lane {tid}")),
            "lane {tid} unnamed: {meta:?}"
        );
    }

    // --since: Unix seconds and a UTC time pick the second build too.
    assert_eq!(
        x_events(&chrome(&w, &["--since", &between.to_string()])).len(),
        10
    );
    let utc = w
        .test("date")
        .args(["-u", "-d", &format!("@{between}"), "+%Y-%m-%dT%H:%M:%S"])
        .stdout_text()
        .trim()
        .to_string();
    assert_eq!(x_events(&chrome(&w, &["--since", &utc])).len(), 10, "{utc}");
    let early = (between - 3600).to_string();
    assert_eq!(x_events(&chrome(&w, &["--since", &early])).len(), 20);
    w.toolchainkit()
        .args(["trace", "--svg", "x.svg", "--since"])
        .arg((between + 3600).to_string())
        .status(1)
        .stderr_contains("no invocations to show")
        .run();
    w.toolchainkit()
        .args(["trace", "--svg", "x.svg", "--since", "last tuesday"])
        .status(2)
        .run();

    // The SVG: well-formed XML with a bar per invocation, classes, legend and summary.
    let svg_path = w.root().join("build.svg");
    let html_path = w.root().join("build.html");
    let printed = trace(
        &w,
        &[
            "--last-build",
            "--gap",
            "2",
            "--svg",
            svg_path.to_str().expect("utf8"),
            "--html",
            html_path.to_str().expect("utf8"),
        ],
    );
    let summary = "10 invocations: 7 hits, 2 misses, 1 uncacheable; hit rate 77.8 %";
    assert!(printed.contains(summary), "{printed}");
    assert!(printed.contains("the last of 2 build(s)"), "{printed}");
    let text = String::from_utf8(read(&svg_path)).expect("utf8 svg");
    let doc = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let bars = |class: &str| {
        doc.descendants()
            .filter(|n| n.attribute("class") == Some(class))
            .count()
    };
    assert_eq!(
        (bars("ev hit"), bars("ev miss"), bars("ev uncacheable")),
        (7, 2, 1)
    );
    let summary_text: String = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("summary"))
        .and_then(|n| n.text())
        .expect("summary line")
        .to_string();
    assert!(summary_text.starts_with(summary), "{summary_text}");
    // The legend: hit and miss always, uncacheable because there is one, with counts.
    let legend: Vec<String> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("legend"))
        .filter_map(|g| g.descendants().find(|n| n.has_tag_name("text")))
        .filter_map(|t| t.text().map(str::to_string))
        .collect();
    assert_eq!(legend, ["hit (7)", "miss (2)", "uncacheable (1)"]);
    assert!(
        doc.descendants()
            .any(|n| n.attribute("class") == Some("tick"))
    );
    let html = String::from_utf8(read(&html_path)).expect("utf8 html");
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("Slowest invocations"));

    // A real browser draws it: not blank, hits and misses in their colours.
    let height: u32 = root
        .attribute("height")
        .and_then(|h| h.parse::<f64>().ok())
        .expect("height") as u32;
    let png = w.root().join("build.png");
    screenshot(&w, &svg_path, &png, 1200, height);
    let (px, width) = decode_png(&png);
    let near = |p: [u8; 3], c: [u8; 3]| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) <= 3);
    let hit = px.iter().filter(|p| near(**p, [0x2f, 0x9e, 0x44])).count();
    let miss = px.iter().filter(|p| near(**p, [0xe0, 0x31, 0x31])).count();
    let white = px.iter().filter(|p| **p == [255, 255, 255]).count();
    assert!(
        hit > 200 && miss > 100,
        "hit {hit} and miss {miss} pixels in a {width}-wide screenshot ({})",
        png.display()
    );
    assert!(white < px.len() * 99 / 100, "the screenshot is blank");
}

#[test]
fn older_lines_are_read_and_unreadable_ones_skipped() {
    let w = World::new();
    let input = w.root().join("old.trace.jsonl");
    // A line as every version so far wrote it, one without the optional file names,
    // one from a future version with an extra field, and a torn line.
    let lines = [
        r#"{"start_us":1700000000000000,"dur_us":250000,"pid":10,"compiler":"/usr/bin/gcc","outcome":"miss","exit":0,"source":"a.c","output":"a.o"}"#,
        r#"{"start_us":1700000000100000,"dur_us":20000,"pid":11,"compiler":"/usr/bin/gcc","outcome":"hit.direct.local","exit":0}"#,
        r#"{"start_us":1700000000300000,"dur_us":20000,"pid":12,"compiler":"/usr/bin/gcc","outcome":"hit.direct.local","exit":0,"source":"c.c","output":null,"future_field":[1,2]}"#,
        r#"{"start_us":17000000004"#,
    ];
    fs::write(&input, lines.join("\n") + "\n").expect("write");
    let rotated = input.with_extension("jsonl.1");
    fs::write(
        &rotated,
        r#"{"start_us":1699999000000000,"dur_us":1000,"pid":9,"compiler":"/usr/bin/cc","outcome":"fallback.no_tool_found","exit":0,"source":"z.c","output":"z.o"}"#.to_string() + "\n",
    )
    .expect("write");
    let out_path = w.root().join("t.json");
    let out = w
        .toolchainkit()
        .args(["trace", "--chrome"])
        .arg(&out_path)
        .arg("--input")
        .arg(&input)
        .run();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 line(s)"),
        "{}",
        describe(&out)
    );
    let doc: serde_json::Value = serde_json::from_slice(&read(&out_path)).expect("json");
    let x = x_events(&doc);
    assert_eq!(x.len(), 4, "{x:#?}");
    assert_eq!(x[0]["name"], "fallback z.c");
    assert_eq!(
        x[2]["name"], "hit /usr/bin/gcc",
        "no file names: the compiler"
    );
    // Two lanes: a.c overlaps the hit at 0.1 s; c.c starts after both ended.
    let tids: Vec<u64> = x.iter().map(|e| num(e, "tid")).collect();
    assert_eq!(tids, vec![1, 1, 2, 1]);
    // With the default 10 s gap the rotated line (1000 s earlier) is its own build.
    let last = w.root().join("last.json");
    w.toolchainkit()
        .args(["trace", "--last-build", "--chrome"])
        .arg(&last)
        .arg("--input")
        .arg(&input)
        .run();
    let doc: serde_json::Value = serde_json::from_slice(&read(&last)).expect("json");
    assert_eq!(x_events(&doc).len(), 3);
}

/// Headless Chromium screenshot of `page`, in its own process group, killed with the
/// group when it takes too long or the test fails.
fn screenshot(w: &World, page: &Path, png: &Path, width: u32, height: u32) {
    let chromium = require("chromium", "chromium");
    let profile = w.root().join("chromium-profile");
    struct Group(Child);
    impl Drop for Group {
        fn drop(&mut self) {
            // SAFETY: kill(2) on our own child's process group.
            unsafe {
                libc::kill(-(self.0.id() as i32), libc::SIGKILL);
            }
            let _ = self.0.wait();
        }
    }
    // The world's scrubbed environment; its own process group, killed whole when the
    // test is done (or fails), and killed by the kernel if this test process dies. Its
    // output goes to a file (a pipe nobody reads could fill up and stall it).
    let log_path = w.root().join("chromium.log");
    let log = fs::File::create(&log_path).expect("log");
    let mut cmd = w.cmd(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--screenshot={}", png.display()))
    .arg(format!("--window-size={width},{height}"))
    .arg(format!("file://{}", page.display()))
    .stdin(Stdio::null())
    .stdout(log.try_clone().expect("log"))
    .stderr(log);
    procs::own_group_dying_with_parent(&mut cmd);
    let mut g = Group(cmd.spawn().expect("start chromium"));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = g.0.try_wait().expect("wait chromium") {
            assert!(
                status.success(),
                "chromium failed: {status:?}\n{}",
                String::from_utf8_lossy(&read(&log_path))
            );
            break;
        }
        assert!(Instant::now() < deadline, "chromium took over 120 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(g);
    assert!(png.is_file(), "no screenshot at {}", png.display());
}

/// RGB pixels of a PNG and its width.
fn decode_png(path: &Path) -> (Vec<[u8; 3]>, u32) {
    let file = fs::File::open(path).expect("open png");
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("png size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let channels = info.color_type.samples();
    let px = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|c| match channels {
            1 | 2 => [c[0], c[0], c[0]],
            _ => [c[0], c[1], c[2]],
        })
        .collect();
    (px, info.width)
}
