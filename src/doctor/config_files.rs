//! Which configuration files are in effect, and whether they validate.

use super::{Check, Ctx};
use crate::config;
use crate::paths;

pub(crate) fn checks(ctx: &Ctx) -> Vec<Check> {
    let mut out = Vec::new();
    for i in &ctx.cfg.ignored {
        out.push(Check::problem(
            "config.ignored",
            format!(
                "{} is ignored: {} (compiles here use {})",
                i.path.display(),
                i.why,
                if ctx.cfg.project_file.is_some() {
                    "the other files"
                } else {
                    "the user file and the built-in defaults"
                }
            ),
            config::trust::fix_for(&i.path),
        ));
    }
    if let Some(p) = &ctx.cfg.project_file {
        for w in &ctx.cfg.withheld {
            out.push(Check::warn(
                "config.withheld",
                format!(
                    "`{}` of {} is withheld: it {} (the file is not trusted; compiles here go on without it)",
                    w.key,
                    p.display(),
                    w.why
                ),
                format!(
                    "if you trust this file, run `{}` (or list its directory in {})",
                    config::approval::trust_command(p),
                    config::trust::TRUSTED_DIRS_VAR
                ),
            ));
        }
    }
    if let Some(errors) = &ctx.cfg_error {
        for e in errors {
            out.push(Check::problem(
                "config",
                format!(
                    "invalid configuration (compiles fail with exit 78): {}",
                    e.headline()
                ),
                e.hint.clone().unwrap_or_else(|| {
                    "correct the file; `toolchainkit config check` lists every error".into()
                }),
            ));
        }
        out.push(Check::warn(
            "config",
            "the checks below use the built-in defaults",
            "fix the configuration and run doctor again",
        ));
        return out;
    }
    if let Some((path, problems)) = &ctx.cfg.invalid_user_file {
        for e in problems {
            out.push(Check::problem(
                "config.user",
                format!(
                    "{} is invalid and left out (compiles still work, without its settings): {}",
                    path.display(),
                    e.headline()
                ),
                e.hint.clone().unwrap_or_else(|| {
                    "correct the file; `toolchainkit config check` lists every error".into()
                }),
            ));
        }
    }
    match &ctx.cfg.user_file {
        Some(f) => out.push(Check::ok("config.user", format!("{} (valid)", f.display()))),
        None if ctx.cfg.invalid_user_file.is_some() => {}
        None => out.push(Check::ok(
            "config.user",
            format!(
                "none ({} does not exist)",
                paths::user_config_file().display()
            ),
        )),
    }
    match &ctx.cfg.project_file {
        Some(f) => out.push(Check::ok(
            "config.project",
            format!("{} (valid)", f.display()),
        )),
        None => out.push(Check::ok(
            "config.project",
            format!(
                "none: no {} in {} or its parents (built-in defaults and the user file apply)",
                config::PROJECT_FILE,
                ctx.cwd.display()
            ),
        )),
    }
    out
}
