//! Hits lost to a path difference: the cache was filled from a checkout at another path
//! and paths are not rewritten (`[ccache] base_dir`, `[sccache] basedirs`, or their
//! variables), so every compile that names its source by absolute path (CMake does)
//! hashes differently and misses. Seen in the build trace: a miss of `NEW/rel` after an
//! earlier compile of `OLD/rel`. (Sources named relative to the working directory, as
//! make does, carry no root and are not judged here.)

use std::collections::BTreeMap;
use std::path::Path;

use super::{Check, Ctx};
use crate::stats::trace::{Event, timeline};

/// The misses under `project` whose source was compiled earlier under another root
/// (pure): (count, an example old path, its new path).
pub(crate) fn moved_misses(project: &Path, events: &[Event]) -> Option<(usize, String, String)> {
    // rel -> an absolute source path outside `project` that ends in it.
    let mut elsewhere: BTreeMap<&str, &str> = BTreeMap::new();
    let mut count = 0;
    let mut example = None;
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by_key(|e| e.start_us);
    for e in sorted {
        let Some(src) = e.source.as_deref().filter(|s| s.starts_with('/')) else {
            continue;
        };
        match Path::new(src).strip_prefix(project) {
            Ok(rel) => {
                let Some(rel) = rel.to_str() else { continue };
                if timeline::Class::of(&e.outcome) != timeline::Class::Miss {
                    continue;
                }
                let old = elsewhere
                    .iter()
                    .find(|(r, _)| **r == rel)
                    .map(|(_, old)| old.to_string());
                if let Some(old) = old {
                    count += 1;
                    example.get_or_insert((old, src.to_string()));
                }
            }
            Err(_) => {
                // Index every suffix of the path: which part is the checkout is unknown.
                let mut rest = src;
                while let Some(i) = rest.find('/') {
                    rest = &rest[i + 1..];
                    if !rest.is_empty() {
                        elsewhere.entry(rest).or_insert(src);
                    }
                }
            }
        }
    }
    example.map(|(old, new)| (count, old, new))
}

/// Whether paths are rewritten for `tool`.
fn rewritten(ctx: &Ctx) -> bool {
    ctx.cfg.ccache.value.base_dir.is_some()
        || ctx.cfg.sccache.value.basedirs.is_some()
        || crate::paths::var_nonempty("CCACHE_BASEDIR").is_some()
        || crate::paths::var_nonempty("SCCACHE_BASEDIRS").is_some()
}

pub(crate) fn checks(ctx: &Ctx) -> Vec<Check> {
    let Some(project) = ctx.cfg.project_dir() else {
        return Vec::new();
    };
    let project = std::fs::canonicalize(project).unwrap_or_else(|_| project.to_path_buf());
    let path = crate::stats::stats_path(&ctx.cfg);
    let Some(events) = crate::stats::trace::read_events(&path) else {
        return Vec::new();
    };
    match moved_misses(&project, &events) {
        Some((n, old, new)) if !rewritten(ctx) => vec![Check::warn(
            "paths",
            format!(
                "{n} miss(es) of sources compiled before at another path ({old}, now {new}): the cache was filled from another checkout and paths are not rewritten"
            ),
            "set `[ccache] base_dir = \".\"` / `[sccache] basedirs = [\".\"]` in the project file (or run `toolchainkit ci start`, which sets them to the checkout)",
        )],
        Some((n, old, new)) => vec![Check::warn(
            "paths",
            format!(
                "{n} miss(es) of sources compiled before at another path ({old}, now {new}), although paths are rewritten"
            ),
            "make base_dir / basedirs cover both checkouts; with -g, also set `[ccache] hash_dir = false` (ccache hashes the working directory into debug info)",
        )],
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(start: u64, outcome: &str, src: &str) -> Event {
        Event {
            start_us: start,
            dur_us: 1,
            pid: 1,
            compiler: "cc".into(),
            outcome: outcome.into(),
            exit: 0,
            source: Some(src.into()),
            output: None,
            cause: None,
            verify: None,
        }
    }

    #[test]
    fn a_miss_of_a_source_seen_at_another_root_is_a_moved_path() {
        let events = [
            ev(1, "miss", "/ci/run-1/proj/src/a.c"),
            ev(2, "miss", "/ci/run-1/proj/src/b.c"),
            ev(3, "miss", "/ci/run-2/proj/src/a.c"),
            ev(4, "hit.direct.local", "/ci/run-2/proj/src/b.c"),
            ev(5, "miss", "/ci/run-2/proj/src/new.c"),
        ];
        assert_eq!(
            moved_misses(Path::new("/ci/run-2/proj"), &events),
            Some((
                1,
                "/ci/run-1/proj/src/a.c".to_string(),
                "/ci/run-2/proj/src/a.c".to_string()
            ))
        );
        assert_eq!(
            moved_misses(Path::new("/ci/run-1/proj"), &events[..2]),
            None
        );
    }
}
