//! The build timeline as Markdown for a CI job's summary page (`trace --markdown FILE`,
//! appended, as GitHub Actions' `$GITHUB_STEP_SUMMARY` expects): the summary line, the
//! count per outcome class, every invocation the cache did not serve with its outcome
//! (why a bar would be red), and the slowest ones; files relative to the directory they
//! all share. Every text from the trace is escaped so a file name cannot add markup.

use std::fmt::Write as _;

use super::svg::{common_dir, relative};
use super::timeline::{Class, Placed, Timeline, format_utc};

/// How many rows each table shows at most.
const MAX_ROWS: usize = 30;

/// Text for a Markdown table cell: no line breaks, no markup.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The Markdown document.
pub(crate) fn markdown(t: &Timeline) -> String {
    let s = t.summary();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "### toolchainkit build, started {} UTC\n\n{}\n",
        format_utc(t.start_us / 1_000_000),
        cell(&s.line())
    );
    o.push_str("| outcome | invocations |\n|---|---:|\n");
    for c in Class::ALL {
        let n = s.counts[c as usize];
        if n > 0 {
            let _ = writeln!(o, "| {} | {n} |", c.label());
        }
    }
    let base = common_dir(t.placed.iter().map(|p| p.event.label()));
    if let Some(b) = &base {
        let _ = writeln!(o, "\nFiles relative to {}.", cell(b));
    }
    let table = |o: &mut String, title: &str, rows: &[&Placed]| {
        let _ = writeln!(
            o,
            "\n**{title}** ({})\n\n| seconds | outcome | file |\n|---:|---|---|",
            rows.len()
        );
        for p in rows.iter().take(MAX_ROWS) {
            let _ = writeln!(
                o,
                "| {:.3} | {} | {} |",
                p.event.dur_us as f64 / 1e6,
                cell(&match &p.event.cause {
                    Some(c) => format!("{}: {c}", p.event.outcome),
                    None => p.event.outcome.clone(),
                }),
                cell(relative(p.event.label(), base.as_deref()))
            );
        }
        if rows.len() > MAX_ROWS {
            let _ = writeln!(o, "\n... and {} more.", rows.len() - MAX_ROWS);
        }
    };
    let unserved: Vec<&Placed> = t.placed.iter().filter(|p| p.class != Class::Hit).collect();
    if !unserved.is_empty() {
        table(&mut o, "Not served from the cache, with why", &unserved);
    }
    let mut slow: Vec<&Placed> = t.placed.iter().collect();
    slow.sort_by_key(|p| std::cmp::Reverse(p.event.dur_us));
    slow.truncate(10);
    table(&mut o, "Slowest", &slow);
    o
}

#[cfg(test)]
mod tests {
    use super::super::Event;
    use super::super::timeline::lay_out;
    use super::*;

    #[test]
    fn names_outcomes_and_relative_files_and_escapes_names() {
        let ev = |start: u64, outcome: &str, source: &str| Event {
            start_us: start,
            dur_us: 250_000,
            pid: 1,
            compiler: "/usr/bin/gcc".into(),
            outcome: outcome.into(),
            exit: 0,
            source: Some(source.into()),
            output: None,
            cause: None,
            verify: None,
        };
        let t = lay_out(vec![
            ev(1_000_000, "hit.direct.local", "/src/p/a.c"),
            ev(1_100_000, "fallback.ccache_failed", "/src/p/sub/b|<x>.c"),
        ]);
        let md = markdown(&t);
        assert!(md.starts_with("### toolchainkit build, started "), "{md}");
        assert!(md.contains("| hit | 1 |\n| fallback | 1 |"), "{md}");
        assert!(md.contains("Files relative to /src/p."), "{md}");
        assert!(
            md.contains("**Not served from the cache, with why** (1)"),
            "{md}"
        );
        assert!(
            md.contains("| 0.250 | fallback.ccache\\_failed | sub/b\\|\\<x\\>.c |"),
            "{md}"
        );
        assert!(md.contains("**Slowest** (2)"), "{md}");
    }
}
