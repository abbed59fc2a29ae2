//! Why a compile missed: the new record against the one it replaces, as a cause word and
//! the difference in a person's words (`+ -DNDEBUG`, `- -O2 / + -O3`, `header
//! include/foo.h changed`, `compiler /usr/bin/gcc: 12.2.0 → 13.1.0 (binary changed)`).
//!
//! Order when several inputs changed (all are listed in the detail): `compiler`, `args`,
//! `env`, `source`, `header`. Nothing changed: `evicted` when the earlier compile was
//! stored (the cache lost it), `cold` when it was not cacheable then, and `unknown` when
//! toolchainkit could not see everything the tool hashes (no depfile: headers unknown).

use super::record::Record;

/// The causes, in the order they are tried.
pub(crate) const CAUSES: &[&str] = &[
    "cold", "compiler", "args", "env", "source", "header", "evicted", "unknown",
];

/// A one-line hint per cause, for `stats` and `explain`.
pub(crate) fn hint(cause: &str) -> &'static str {
    match cause {
        "cold" => {
            "first compile of these outputs in this cache (a new cache, or a record not restored with it)"
        }
        "compiler" => {
            "the compiler binary changed (a new runner image or toolchain update); pin it, or use [ccache] compiler_check = \"content\" when only its mtime changes"
        }
        "args" => {
            "compile flags differ; when only absolute paths differ, set [ccache] base_dir / [sccache] basedirs to the checkout"
        }
        "env" => "a variable the tool hashes changed; set it the same way in every job",
        "source" => "sources changed",
        "header" => "a header changed",
        "evicted" => {
            "identical inputs were cached before: the cache lost them (too small, cleared, or not restored); raise [cache] size_gb or restore the cache"
        }
        _ => {
            "identical as far as toolchainkit can see; run the build with -MD so headers are recorded"
        }
    }
}

/// The difference of two argument lists: `+ X`, `- X`, and `- X / + Y` for a changed one.
pub(crate) fn arg_diff(old: &[String], new: &[String]) -> Vec<String> {
    let (n, m) = (old.len(), new.len());
    // Longest common subsequence table.
    let mut l = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            l[i][j] = if old[i] == new[j] {
                l[i + 1][j + 1] + 1
            } else {
                l[i + 1][j].max(l[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut removed: Vec<&str> = Vec::new();
    let mut added: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    let flush = |removed: &mut Vec<&str>, added: &mut Vec<&str>, out: &mut Vec<String>| {
        let pairs = removed.len().min(added.len());
        for k in 0..pairs {
            out.push(format!("- {} / + {}", removed[k], added[k]));
        }
        out.extend(removed[pairs..].iter().map(|r| format!("- {r}")));
        out.extend(added[pairs..].iter().map(|a| format!("+ {a}")));
        removed.clear();
        added.clear();
    };
    while i < n || j < m {
        if i < n && j < m && old[i] == new[j] {
            flush(&mut removed, &mut added, &mut out);
            i += 1;
            j += 1;
        } else if j < m && (i == n || l[i][j + 1] >= l[i + 1][j]) {
            added.push(&new[j]);
            j += 1;
        } else {
            removed.push(&old[i]);
            i += 1;
        }
    }
    flush(&mut removed, &mut added, &mut out);
    out
}

fn utc_minutes(us: u64) -> String {
    let t = crate::stats::trace::timeline::format_utc(us / 1_000_000);
    t.get(..16).unwrap_or(&t).to_string()
}

fn compiler_words(old: &Record, new: &Record) -> Option<String> {
    let (o, n) = (&old.compiler, &new.compiler);
    let name = if o.path == n.path {
        n.path.clone()
    } else {
        format!("{} → {}", o.path, n.path)
    };
    if o.hash != n.hash {
        return Some(match (&o.version, &n.version) {
            (Some(a), Some(b)) if a != b => format!("compiler {name}: {a} → {b} (binary changed)"),
            (Some(_), Some(_)) => format!(
                "compiler {name}: binary changed ({} → {} bytes, same version string)",
                o.size, n.size
            ),
            _ => format!(
                "compiler {name}: binary changed ({} → {} bytes)",
                o.size, n.size
            ),
        });
    }
    if o.path != n.path {
        // Another path to identical content: the tools hash the content (and ccache the
        // mtime), not the path.
        return None;
    }
    // Only ccache with `compiler_check = mtime` (its default) sees a new mtime alone.
    let mtime_checked =
        new.tool == "ccache" && new.compiler_check.as_deref().is_none_or(|c| c == "mtime");
    (mtime_checked && (o.mtime_ns != n.mtime_ns || o.size != n.size)).then(|| {
        format!(
            "compiler {}: modification time changed, content identical (ccache's compiler_check = mtime sees it; \"content\" would not)",
            n.path
        )
    })
}

/// The cause of `new`'s miss and its detail, against `old` (the record it replaces).
pub(crate) fn classify(old: Option<&Record>, new: &Record) -> (&'static str, Vec<String>) {
    let Some(old) = old else {
        return (
            "cold",
            vec![format!(
                "no earlier compile of {} recorded in this cache",
                new.output
            )],
        );
    };
    let mut found: Vec<(&'static str, String)> = Vec::new();
    if let Some(w) = compiler_words(old, new) {
        found.push(("compiler", w));
    }
    for d in arg_diff(&old.args, &new.args) {
        found.push(("args", d));
    }
    if old.cwd != new.cwd {
        found.push((
            "args",
            format!(
                "working directory {} → {} (hashed because of -g)",
                old.cwd.as_deref().unwrap_or("(not hashed)"),
                new.cwd.as_deref().unwrap_or("(not hashed)")
            ),
        ));
    }
    if let (Some(o), Some(n)) = (&old.source, &new.source)
        && o.path != n.path
    {
        found.push(("args", format!("source path {} → {}", o.path, n.path)));
    }
    for (k, v) in &new.env {
        let was = old.env.get(k).cloned().flatten();
        if &was != v {
            let show = |x: &Option<String>| x.clone().unwrap_or_else(|| "unset".into());
            found.push((
                "env",
                format!("env {k} changed ({} → {})", show(&was), show(v)),
            ));
        }
    }
    match (&old.source, &new.source) {
        (Some(o), Some(n)) if o.hash != n.hash => {
            found.push(("source", format!("source {} changed", n.path)));
        }
        _ => {}
    }
    let mut headers_unknown = false;
    match (&old.headers, &new.headers) {
        (Some(o), Some(n)) => {
            for (h, hash) in n {
                match o.get(h) {
                    Some(was) if was != hash => {
                        found.push(("header", format!("header {h} changed")));
                    }
                    None => found.push(("header", format!("header {h} added"))),
                    _ => {}
                }
            }
            for h in o.keys().filter(|h| !n.contains_key(*h)) {
                found.push(("header", format!("header {h} no longer included")));
            }
        }
        _ => headers_unknown = true,
    }
    if !old.stored {
        // Nothing was stored for the record this one replaces: the cache never had it.
        let reason = old.reason.as_deref().unwrap_or("uncacheable");
        let mut d = vec![format!("the last compile of it was not cached ({reason})")];
        if !found.is_empty() {
            d[0].push_str("; since then:");
        }
        d.extend(found.into_iter().map(|(_, w)| w));
        return ("cold", d);
    }
    if let Some(first) = CAUSES.iter().find(|c| found.iter().any(|(f, _)| f == *c)) {
        return (first, found.into_iter().map(|(_, d)| d).collect());
    }
    let mut unseen = Vec::new();
    if !old.tool_id.is_empty() && old.tool_id != new.tool_id {
        unseen.push(format!(
            "{} itself changed ({} → {}): a new version may hash differently",
            new.tool, old.tool_id, new.tool_id
        ));
    }
    if old.tool_settings != new.tool_settings {
        unseen.push(format!(
            "{} settings changed ([{}] {} → {})",
            new.tool,
            new.tool,
            if old.tool_settings.is_empty() {
                "defaults".into()
            } else {
                old.tool_settings.join(", ")
            },
            if new.tool_settings.is_empty() {
                "defaults".into()
            } else {
                new.tool_settings.join(", ")
            }
        ));
    }
    if !unseen.is_empty() {
        let mut d = vec![
            "identical inputs as far as toolchainkit can see, but the tool's key may have changed:"
                .to_string(),
        ];
        d.extend(unseen);
        return ("unknown", d);
    }
    if headers_unknown {
        return (
            "unknown",
            vec![
                "identical as far as toolchainkit can see; the headers are unknown (no depfile: compile with -MD to record them)".into(),
            ],
        );
    }
    (
        "evicted",
        vec![format!(
            "evicted: identical inputs were stored on {} UTC",
            utc_minutes(old.end_us)
        )],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn argument_differences_in_words() {
        assert_eq!(
            arg_diff(&v(&["-O2", "-c"]), &v(&["-DNDEBUG", "-O2", "-c"])),
            ["+ -DNDEBUG"]
        );
        assert_eq!(
            arg_diff(&v(&["-O2", "-c"]), &v(&["-O3", "-c"])),
            ["- -O2 / + -O3"]
        );
        assert_eq!(arg_diff(&v(&["-g", "-c"]), &v(&["-c"])), ["- -g"]);
        assert!(arg_diff(&v(&["-c"]), &v(&["-c"])).is_empty());
    }

    #[test]
    fn causes_in_order() {
        let mut a = Record {
            tool: "ccache".into(),
            output: "a.o".into(),
            stored: true,
            headers: Some([("x.h".to_string(), "1".to_string())].into()),
            ..Record::default()
        };
        assert_eq!(classify(None, &a).0, "cold");
        let same = a.clone();
        assert_eq!(classify(Some(&same), &a).0, "evicted");
        a.headers = Some([("x.h".to_string(), "2".to_string())].into());
        assert_eq!(
            classify(Some(&same), &a),
            ("header", vec!["header x.h changed".to_string()])
        );
        a.args = vec!["-DX".into()];
        assert_eq!(classify(Some(&same), &a).0, "args");
        let mut b = same.clone();
        b.headers = None;
        assert_eq!(classify(Some(&same), &b).0, "unknown");
        let mut c = same.clone();
        c.compiler.mtime_ns = 5;
        assert_eq!(classify(Some(&same), &c).0, "compiler");
        c.tool = "sccache".into();
        assert_eq!(classify(Some(&same), &c).0, "evicted");
        let mut d = same.clone();
        d.tool_id = "/usr/bin/ccache 1 2".into();
        let mut e = same.clone();
        e.tool_id = "/usr/bin/ccache 1 3".into();
        assert_eq!(classify(Some(&d), &e).0, "unknown", "a new tool binary");
        e.tool_id = d.tool_id.clone();
        e.tool_settings = vec!["sloppiness = time_macros".into()];
        let (cause, detail) = classify(Some(&d), &e);
        assert_eq!(cause, "unknown");
        assert!(detail[1].contains("sloppiness = time_macros"), "{detail:?}");
    }
}
