//! The stats file: writable, its lock obtainable within the compile path's bound, not
//! corrupt. The file is replaced by rename, so its directory is what must be writable.

use std::path::Path;

use super::{Check, Ctx};
use crate::stats;

fn writable(path: &Path) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    stats::prepare_dir(path).map_err(|e| e.to_string())?;
    let (mut f, probe) = crate::private::create_unique(dir, ".toolchainkit-doctor")
        .map_err(|e| format!("{} is not writable: {e}", dir.display()))?;
    // As much as a stats file takes: an empty file fits on a full file system, a record
    // does not.
    use std::io::Write;
    let written = f
        .write_all(&[0u8; 2 * crate::stats::format::MIN_SLOT + crate::stats::format::HEADER_LEN])
        .and_then(|()| f.sync_all());
    let _ = std::fs::remove_file(&probe);
    written.map_err(|e| format!("{} cannot take a stats file: {e}", dir.display()))
}

pub(crate) fn checks(ctx: &Ctx) -> Vec<Check> {
    let path = stats::stats_path(&ctx.cfg);
    let mut out = Vec::new();
    if let Err(e) = writable(&path) {
        out.push(Check::problem(
            "stats",
            format!(
                "stats file {}: {e} (invocations are not counted)",
                path.display()
            ),
            "make the state directory writable, or set [stats] file",
        ));
        return out;
    }
    match stats::load(&path) {
        Ok(Some(s)) => out.push(Check::ok(
            "stats",
            format!(
                "{} ({} invocations recorded)",
                path.display(),
                s.invocations
            ),
        )),
        Ok(None) => out.push(Check::ok(
            "stats",
            format!("{} (no invocation recorded yet)", path.display()),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => out.push(Check::problem(
            "stats",
            e.to_string(),
            format!(
                "move {} away if it is yours, or set [stats] file to another path",
                path.display()
            ),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => out.push(Check::problem(
            "stats",
            format!("{e} (compiles are not counted)"),
            "remove it if it is not yours (another user may have planted it), or set [stats] file",
        )),
        Err(e) => out.push(Check::warn(
            "stats",
            format!(
                "{} is corrupt ({e}); the next compile moves it aside and restarts counting",
                path.display()
            ),
            "`toolchainkit stats --zero` to start over now",
        )),
    }
    match stats::probe_lock(&path, stats::lock_wait()) {
        Ok(true) => out.push(Check::ok(
            "stats.lock",
            format!("lock obtained within {} ms", stats::lock_wait().as_millis()),
        )),
        Ok(false) => out.push(Check::warn(
            "stats.lock",
            format!(
                "{}.lock is held for more than {} ms: compiles record into the side file instead",
                path.display(),
                stats::lock_wait().as_millis()
            ),
            "find the process holding it (`fuser` on the .lock file) and end it",
        )),
        Err(e) => out.push(Check::problem(
            "stats.lock",
            format!("cannot open {}.lock: {e}", path.display()),
            "make the state directory writable",
        )),
    }
    let day_ago = stats::now_secs().saturating_sub(86_400);
    let causes = stats::causes::since(&path, day_ago);
    if causes.is_empty() {
        out.push(Check::ok(
            "stats.degraded",
            "no compile ran degraded in the last day",
        ));
    }
    for c in causes {
        out.push(Check::warn(
            "stats.degraded",
            format!(
                "compiles ran degraded (they worked, without a cache or its remote): {}",
                stats::causes::describe(&c)
            ),
            "fix the cause named; `toolchainkit stats` counts these compiles",
        ));
    }
    if ctx.cfg.project_file.is_some() {
        let outside = stats::outside::near(&stats::default_path(), &path);
        out.push(match stats::outside::advice(&outside) {
            Some(a) => Check::warn(
                "stats.outside",
                a,
                "pin the project's configuration for the build (`toolchainkit run -- make`, `toolchainkit run -- cargo build`), or set TOOLCHAINKIT_CONFIG in the build's environment",
            ),
            None => Check::ok(
                "stats.outside",
                "no compile ran outside a project around this project's last build",
            ),
        });
    }
    out
}
