//! The build timeline as a picture without Perfetto: a standalone SVG (`trace --svg`) or an
//! HTML page holding it plus the slowest invocations (`trace --html`), to attach to a CI
//! run.
//!
//! Layout: a title with the build's start (UTC), the summary line, a legend with counts,
//! a time axis in seconds from the build's start with grid lines, then one row per lane
//! with one bar per invocation, filled with its outcome class's colour (`Class::color`).
//! Each bar carries a `<title>` (the browser's tooltip: file, outcome, duration, exit code)
//! and `class="ev CLASS"` / `data-outcome` attributes so tools can read the picture back.
//! The tooltip is not all: a picture viewed without hovering (a PNG, a CI artifact) still
//! shows each bar's file and outcome (`a.c · miss`, `b.c · fallback.ccache_failed`: why
//! it is red), inside the bar when it fits, else in the free space after it on its lane.
//! The HTML page names files relative to the directory they share, lists the slowest
//! invocations and every one the cache did not serve, with its outcome.
//! Every text from the trace is XML-escaped, and characters XML 1.0 cannot hold are
//! replaced, so any file name yields a well-formed document.

use std::fmt::Write as _;

use super::timeline::{Class, Timeline, format_utc};

const WIDTH: f64 = 1200.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 24.0;
const LANES_TOP: f64 = 112.0;
const ROW: f64 = 22.0;
const BAR: f64 = 18.0;
/// Average advance of the 11 px sans-serif used in bars, for fitting labels.
const CHAR_W: f64 = 6.4;
/// Lines under the picture for bars too short for their label, at most.
const MAX_NOTES: usize = 20;
const NOTE_ROW: f64 = 16.0;

/// Text for XML character data and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A tick step of 1, 2 or 5 × 10^k seconds giving at most about 10 ticks.
fn tick_step(wall_s: f64) -> f64 {
    let rough = (wall_s / 8.0).max(1e-6);
    let mag = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * mag)
}

fn seconds(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize
    };
    format!("{v:.decimals$}")
}

fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// What a bar says: its file and, but for hits and misses, the outcome key in full (the
/// reason: `uncacheable.called_for_link`, `fallback.ccache_failed`); a miss says why it
/// missed when it was explained (`a.c · miss: header`).
pub(crate) fn bar_label(p: &super::timeline::Placed) -> String {
    let name = basename(p.event.label());
    match (p.class, &p.event.cause) {
        (Class::Miss, Some(c)) => format!("{name} · miss: {c}"),
        (Class::Hit | Class::Miss, _) => format!("{name} · {}", p.class.label()),
        _ => format!("{name} · {}", p.event.outcome),
    }
}

/// The directory every path in `paths` is below (`/`-separated), if any but the root.
pub(crate) fn common_dir<'a>(paths: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut common: Option<Vec<&str>> = None;
    for p in paths {
        if !p.starts_with('/') {
            return None;
        }
        let dirs: Vec<&str> = p.split('/').collect();
        let dirs = &dirs[..dirs.len().saturating_sub(1)];
        common = Some(match common {
            None => dirs.to_vec(),
            Some(c) => c
                .iter()
                .zip(dirs)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| *a)
                .collect(),
        });
    }
    let c = common?.join("/");
    (!c.is_empty()).then_some(c)
}

/// `path` relative to `base` (a directory it is below), else as it is.
pub(crate) fn relative<'a>(path: &'a str, base: Option<&str>) -> &'a str {
    base.and_then(|b| path.strip_prefix(b))
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(path)
}

/// `text` cut to about `width` pixels, or `None` when not even a few characters fit.
fn fit(text: &str, width: f64) -> Option<String> {
    let room = ((width - 6.0) / CHAR_W).floor();
    if room < 3.0 {
        return None;
    }
    let room = room as usize;
    let n = text.chars().count();
    if n <= room {
        return Some(text.to_string());
    }
    let mut cut: String = text.chars().take(room - 1).collect();
    cut.push('…');
    Some(cut)
}

/// The SVG element (with its XML namespace, so it stands alone or inside HTML).
pub(crate) fn svg(t: &Timeline) -> String {
    let s = t.summary();
    let wall_us = (t.end_us - t.start_us).max(1);
    let wall_s = wall_us as f64 / 1e6;
    let plot_w = WIDTH - LEFT - RIGHT;
    let lanes_h = t.lanes.max(1) as f64 * ROW;
    let x_of = |us: u64| LEFT + (us - t.start_us) as f64 / wall_us as f64 * plot_w;
    // Where the next bar on each lane starts: a label that does not fit in its bar may
    // use the space up to it.
    let mut next_on_lane = vec![u64::MAX; t.placed.len()];
    {
        let mut order: Vec<usize> = (0..t.placed.len()).collect();
        order.sort_by_key(|&i| (t.placed[i].lane, t.placed[i].event.start_us));
        for pair in order.windows(2) {
            if t.placed[pair[0]].lane == t.placed[pair[1]].lane {
                next_on_lane[pair[0]] = t.placed[pair[1]].event.start_us;
            }
        }
    }
    // Each bar's label and where it goes: inside the bar, else after it on its lane; a
    // bar that is not a hit and has room for neither is listed under the picture.
    let placed_labels: Vec<Option<(String, f64, &str)>> = t
        .placed
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x0 = x_of(p.event.start_us);
            let w = (x_of(p.event.end_us()) - x0 - 1.0).max(1.0);
            let label = bar_label(p);
            if let Some(text) = fit(&label, w).filter(|f| !f.ends_with('…')) {
                return Some((text, x0 + 3.0, "#ffffff"));
            }
            let end = match next_on_lane[i] {
                u64::MAX => WIDTH - RIGHT,
                s => x_of(s),
            };
            fit(&label, end - (x0 + w) - 2.0)
                .map(|text| (text, x0 + w + 3.0, "#212529"))
                .or_else(|| fit(&label, w).map(|text| (text, x0 + 3.0, "#ffffff")))
        })
        .collect();
    let unlabeled: Vec<usize> = (0..t.placed.len())
        .filter(|&i| placed_labels[i].is_none() && t.placed[i].class != Class::Hit)
        .collect();
    let unlabeled_hits = (0..t.placed.len())
        .filter(|&i| placed_labels[i].is_none() && t.placed[i].class == Class::Hit)
        .count();
    let notes = unlabeled.len().min(MAX_NOTES)
        + usize::from(unlabeled.len() > MAX_NOTES || unlabeled_hits > 0);
    let height = LANES_TOP + lanes_h + 44.0 + notes as f64 * NOTE_ROW;
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">"#
    );
    let title = format!(
        "toolchainkit build timeline, started {} UTC",
        format_utc(t.start_us / 1_000_000)
    );
    let _ = writeln!(o, "<title>{}</title>", escape(&title));
    let _ = writeln!(
        o,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        o,
        r##"<text x="{LEFT}" y="24" font-size="16" font-weight="bold" fill="#212529">{}</text>"##,
        escape(&title)
    );
    let _ = writeln!(
        o,
        r##"<text class="summary" x="{LEFT}" y="46" font-size="13" fill="#212529">{}</text>"##,
        escape(&s.line())
    );
    // Legend: hit and miss always, the other classes when present.
    let mut x = LEFT;
    for c in Class::ALL {
        let n = s.count(c);
        if n == 0 && !matches!(c, Class::Hit | Class::Miss) {
            continue;
        }
        let label = format!("{} ({n})", c.label());
        let _ = writeln!(
            o,
            r##"<g class="legend"><rect x="{x}" y="60" width="14" height="14" fill="{}"/><text x="{}" y="72" font-size="12" fill="#212529">{}<title>{}</title></text></g>"##,
            c.color(),
            x + 19.0,
            escape(&label),
            escape(c.meaning())
        );
        x += 19.0 + label.chars().count() as f64 * 7.2 + 18.0;
    }
    // Lane rows.
    for lane in 0..t.lanes {
        let y = LANES_TOP + lane as f64 * ROW;
        if lane % 2 == 1 {
            let _ = writeln!(
                o,
                r##"<rect x="{LEFT}" y="{y}" width="{plot_w}" height="{ROW}" fill="#f1f3f5"/>"##
            );
        }
        let _ = writeln!(
            o,
            r##"<text x="{}" y="{}" font-size="11" fill="#495057" text-anchor="end">lane {}</text>"##,
            LEFT - 6.0,
            y + ROW / 2.0 + 4.0,
            lane + 1
        );
    }
    // Time axis and grid.
    let step = tick_step(wall_s);
    let axis_y = LANES_TOP - 8.0;
    let mut k = 0.0f64;
    while k * step <= wall_s * 1.000_001 {
        let v = k * step;
        let gx = LEFT + v / wall_s * plot_w;
        let _ = writeln!(
            o,
            r##"<line class="tick" x1="{gx:.2}" y1="{}" x2="{gx:.2}" y2="{}" stroke="#dee2e6" stroke-width="1"/><text x="{gx:.2}" y="{axis_y}" font-size="11" fill="#495057" text-anchor="middle">{}</text>"##,
            LANES_TOP - 4.0,
            LANES_TOP + lanes_h,
            seconds(v, step)
        );
        k += 1.0;
    }
    // Bars.
    for (i, p) in t.placed.iter().enumerate() {
        let e = &p.event;
        let x0 = x_of(e.start_us);
        // A pixel between back-to-back bars on one lane keeps them apart.
        let w = (x_of(e.end_us()) - x0 - 1.0).max(1.0);
        let y = LANES_TOP + p.lane as f64 * ROW + (ROW - BAR) / 2.0;
        let tip = format!(
            "{}\n{} ({}), {:.3} s, exit {}{}{}\ncompiler: {}",
            e.label(),
            p.class.label(),
            e.outcome,
            e.dur_us as f64 / 1e6,
            e.exit,
            e.cause
                .as_deref()
                .map(|c| format!("\nwhy it missed: {c} (`toolchainkit explain` says more)"))
                .unwrap_or_default(),
            e.output
                .as_deref()
                .map(|out| format!("\noutput: {out}"))
                .unwrap_or_default(),
            e.compiler
        );
        let _ = write!(
            o,
            r#"<g class="ev {}" data-outcome="{}"><rect x="{x0:.2}" y="{y:.2}" width="{w:.2}" height="{BAR}" fill="{}"/><title>{}</title>"#,
            p.class.label(),
            escape(&e.outcome),
            p.class.color(),
            escape(&tip)
        );
        if let Some((text, x, fill)) = &placed_labels[i] {
            let _ = write!(
                o,
                r##"<text class="label" x="{x:.2}" y="{:.2}" font-size="11" fill="{fill}">{}</text>"##,
                y + BAR - 5.0,
                escape(text)
            );
        }
        o.push_str("</g>\n");
    }
    let _ = writeln!(
        o,
        r##"<text x="{}" y="{}" font-size="11" fill="#495057" text-anchor="middle">seconds since the build started; one row per lane (a lane is free again when its compile ends)</text>"##,
        LEFT + plot_w / 2.0,
        LANES_TOP + lanes_h + 28.0
    );
    // The bars too short for their label, that are not hits: listed, so a picture
    // viewed without hovering still says what they were.
    let mut y = LANES_TOP + lanes_h + 28.0 + NOTE_ROW;
    for &i in unlabeled.iter().take(MAX_NOTES) {
        let p = &t.placed[i];
        let _ = writeln!(
            o,
            r##"<text class="note" x="{LEFT}" y="{y:.2}" font-size="11" fill="#212529"><tspan fill="{}">&#9632;</tspan> lane {}, {} s: {}</text>"##,
            p.class.color(),
            p.lane + 1,
            seconds((p.event.start_us - t.start_us) as f64 / 1e6, 0.01),
            escape(&bar_label(p))
        );
        y += NOTE_ROW;
    }
    if unlabeled.len() > MAX_NOTES || unlabeled_hits > 0 {
        let more = unlabeled.len().saturating_sub(MAX_NOTES);
        let _ = writeln!(
            o,
            r##"<text class="note" x="{LEFT}" y="{y:.2}" font-size="11" fill="#495057">{} more bar(s) too short for a label ({more} not served from the cache, {unlabeled_hits} hit(s)); trace --html lists every one not served from the cache</text>"##,
            more + unlabeled_hits
        );
    }
    o.push_str("</svg>\n");
    o
}

/// A standalone SVG file.
pub(crate) fn standalone(t: &Timeline) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}", svg(t))
}

/// An HTML page: the picture, then the slowest invocations.
pub(crate) fn html(t: &Timeline) -> String {
    let title = format!(
        "toolchainkit build timeline, started {} UTC",
        format_utc(t.start_us / 1_000_000)
    );
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>body{{font-family:sans-serif;margin:16px;color:#212529}}table{{border-collapse:collapse}}td,th{{padding:2px 10px;text-align:left;border-bottom:1px solid #dee2e6}}td.n{{text-align:right}}</style>\n</head>\n<body>",
        escape(&title)
    );
    o.push_str(&svg(t));
    let base = common_dir(t.placed.iter().map(|p| p.event.label()));
    if let Some(b) = &base {
        let _ = writeln!(o, "<p>Files relative to <code>{}</code>.</p>", escape(b));
    }
    let row = |o: &mut String, p: &super::timeline::Placed| {
        let _ = writeln!(
            o,
            "<tr><td class=\"n\">{:.3}</td><td><span style=\"color:{}\">&#9632;</span> {}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            p.event.dur_us as f64 / 1e6,
            p.class.color(),
            escape(&p.event.outcome),
            escape(relative(p.event.label(), base.as_deref())),
            p.lane + 1
        );
    };
    let head = "<table>\n<tr><th>seconds</th><th>outcome</th><th>file</th><th>lane</th></tr>";
    let mut slow: Vec<_> = t.placed.iter().collect();
    slow.sort_by_key(|p| std::cmp::Reverse(p.event.dur_us));
    let _ = writeln!(o, "<h2>Slowest invocations</h2>\n{head}");
    for p in slow.iter().take(20) {
        row(&mut o, p);
    }
    o.push_str("</table>\n");
    let unserved: Vec<_> = t
        .placed
        .iter()
        .filter(|p| !matches!(p.class, Class::Hit))
        .collect();
    if !unserved.is_empty() {
        let _ = writeln!(
            o,
            "<h2>Not served from the cache ({}), with why</h2>\n{head}",
            unserved.len()
        );
        for p in unserved {
            row(&mut o, p);
        }
        o.push_str("</table>\n");
    }
    o.push_str("</body>\n</html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::super::Event;
    use super::super::timeline::lay_out;
    use super::*;

    #[test]
    fn escapes_markup_and_impossible_characters() {
        assert_eq!(
            escape("a<b>&\"'\u{1}\u{FFFF}é"),
            "a&lt;b&gt;&amp;&quot;&apos;\u{FFFD}\u{FFFD}é"
        );
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(10.0), 2.0);
        assert_eq!(tick_step(3.0), 0.5);
        assert_eq!(tick_step(100.0), 20.0);
        assert_eq!(seconds(1.5, 0.5), "1.5");
        assert_eq!(seconds(20.0, 20.0), "20");
    }

    #[test]
    fn labels_fit_their_bars() {
        assert_eq!(fit("main.c", 100.0).as_deref(), Some("main.c"));
        assert_eq!(
            fit("a_very_long_file_name.c", 60.0).as_deref(),
            Some("a_very_…")
        );
        assert_eq!(fit("main.c", 20.0), None);
    }

    fn event(start_s: f64, dur_s: f64, outcome: &str, source: &str) -> Event {
        Event {
            start_us: (start_s * 1e6) as u64,
            dur_us: (dur_s * 1e6) as u64,
            pid: 1,
            compiler: "/usr/bin/gcc".into(),
            outcome: outcome.into(),
            exit: 0,
            source: Some(source.into()),
            output: None,
            cause: None,
            verify: None,
        }
    }

    /// Issue 26.6: every bar names its file and outcome in the picture itself: inside
    /// when it fits, else after the bar on its lane; a red bar says why.
    #[test]
    fn short_bars_keep_their_file_and_outcome_in_the_picture() {
        let texts = |doc: &str, class: &str| -> Vec<String> {
            let parsed = roxmltree::Document::parse(doc).expect("xml");
            parsed
                .descendants()
                .filter(|n| n.attribute("class") == Some(class))
                .map(|n| {
                    n.descendants()
                        .filter(|d| d.is_text())
                        .filter_map(|d| d.text())
                        .collect::<String>()
                })
                .collect()
        };
        // Room after the short bars: their labels go there.
        // A miss that was explained says why, on the bar and in its tooltip.
        let mut why = event(0.0, 10.0, "miss", "/src/proj/lib/shared_user.c");
        why.cause = Some("header".into());
        let explained = svg(&lay_out(vec![why]));
        assert!(
            texts(&explained, "label")
                .iter()
                .any(|l| l == "shared_user.c · miss: header"),
            "{explained}"
        );
        assert!(explained.contains("why it missed: header"), "{explained}");
        let t = lay_out(vec![
            event(0.0, 10.0, "miss", "/src/proj/lib/long_running.c"),
            event(10.0, 0.05, "hit.direct.local", "/src/proj/lib/tiny.c"),
            event(15.0, 0.05, "fallback.ccache_failed", "/src/proj/app/main.c"),
            event(0.0, 20.0, "miss", "/src/proj/app/big.c"),
        ]);
        let labels = texts(&svg(&t), "label");
        for want in [
            "long_running.c · miss",
            "tiny.c · hit",
            "main.c · fallback.ccache_failed",
            "big.c · miss",
        ] {
            assert!(labels.iter().any(|l| l == want), "{want}: {labels:?}");
        }
        assert!(texts(&svg(&t), "note").is_empty());
        // No room: the red one is listed under the picture, the hit counted.
        let crowded = lay_out(vec![
            event(0.0, 20.0, "miss", "/src/proj/lib/long_running.c"),
            event(20.0, 0.05, "hit.direct.local", "/src/proj/lib/tiny.c"),
            event(20.1, 0.05, "fallback.ccache_failed", "/src/proj/app/main.c"),
        ]);
        let notes = texts(&svg(&crowded), "note");
        assert!(
            notes
                .iter()
                .any(|n| n.ends_with("lane 1, 20.10 s: main.c · fallback.ccache_failed")),
            "{notes:?}"
        );
        assert!(
            notes.iter().any(|n| n.starts_with(
                "1 more bar(s) too short for a label (0 not served from the cache, 1 hit(s))"
            )),
            "{notes:?}"
        );
        let page = html(&t);
        assert!(
            page.contains("Files relative to <code>/src/proj</code>"),
            "{page}"
        );
        assert!(page.contains("<td>app/main.c</td>"), "{page}");
        assert!(!page.contains("<td>/src/proj/"), "{page}");
        assert!(
            page.contains("Not served from the cache (3), with why"),
            "{page}"
        );
        assert_eq!(
            common_dir(["/a/b/c.c", "/a/d.c"].into_iter()).as_deref(),
            Some("/a")
        );
        assert_eq!(common_dir(["/x.c", "/y.c"].into_iter()), None);
        assert_eq!(common_dir(["rel.c"].into_iter()), None);
    }

    #[test]
    fn hostile_names_stay_text() {
        let t = lay_out(vec![Event {
            start_us: 1_000_000,
            dur_us: 500_000,
            pid: 7,
            compiler: "/usr/bin/gcc".into(),
            outcome: "miss".into(),
            exit: 0,
            source: Some("</text><script>alert(1)</script>\u{7}.c".into()),
            output: Some("a&b.o".into()),
            cause: None,
            verify: None,
        }]);
        let doc = svg(&t);
        assert!(!doc.contains("<script>"), "{doc}");
        assert!(doc.contains("&lt;/text&gt;&lt;script&gt;"));
        let page = html(&t);
        assert!(!page.contains("<script>"));
    }
}
