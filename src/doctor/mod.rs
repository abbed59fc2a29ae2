//! `toolchainkit doctor`: every check of a setup, each a small function returning lines.
//!
//! One file per group of checks. Each group reads the shared `Ctx` (working directory,
//! `PATH`, effective configuration) and returns `Check`s; where it can, the decision is a
//! pure function of values read before, so it is unit-tested without touching the system.
//! Nothing here runs on the compile hot path.

pub mod cache_dir;
pub mod config_files;
pub mod container;
pub mod dirs;
pub mod dist;
pub mod moved_paths;
pub mod nvcc;
pub mod outer;
pub mod path;
pub mod remote;
pub mod stats_file;
pub mod storage_helper;
pub mod tool;

use std::ffi::OsString;
use std::path::PathBuf;

use serde::Serialize;

use crate::backend::{self, Choice};
use crate::config::{self, Config, ConfigErrors};
use crate::resolve::SelfId;

/// How a check came out. `Skip` is for something that does not apply here (a compiler
/// name with no compiler installed); only `Problem` makes `doctor` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Skip,
    Warning,
    Problem,
}

impl Level {
    pub fn label(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Skip => "skip",
            Level::Warning => "warning",
            Level::Problem => "problem",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    /// Short name of what was checked (`config`, `path.cc`, `cache-dir`, ...).
    pub name: String,
    pub level: Level,
    pub message: String,
    /// What to do about it, for warnings and problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn new(name: impl Into<String>, level: Level, message: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            level,
            message: message.into(),
            fix: None,
        }
    }
    pub fn ok(name: impl Into<String>, message: impl Into<String>) -> Check {
        Check::new(name, Level::Ok, message)
    }
    pub fn warn(
        name: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check::new(name, Level::Warning, message).with_fix(fix)
    }
    pub fn problem(
        name: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check::new(name, Level::Problem, message).with_fix(fix)
    }
    pub fn with_fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

/// What every group of checks reads.
pub struct Ctx {
    pub cwd: PathBuf,
    pub path_var: Option<OsString>,
    pub me: Option<SelfId>,
    /// The effective configuration (defaults when it does not load).
    pub cfg: Config,
    /// Why the configuration did not load (every problem of the first invalid layer).
    pub cfg_error: Option<ConfigErrors>,
    /// The tool compiles would use now.
    pub choice: Choice,
}

impl Ctx {
    /// Read the environment of this process.
    pub fn from_env() -> Ctx {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let path_var = std::env::var_os("PATH");
        let (cfg, cfg_error) = match config::load(config::Place::cwd(&cwd)) {
            Ok(c) => (c, None),
            Err(e) => (Config::default(), Some(e)),
        };
        let choice = backend::choose(&cfg, path_var.as_deref(), &cwd);
        Ctx {
            cwd,
            path_var,
            me: SelfId::current(),
            cfg,
            cfg_error,
            choice,
        }
    }
}

/// Run every check, in report order.
pub fn run_all(ctx: &Ctx) -> Vec<Check> {
    let mut out = Vec::new();
    out.extend(config_files::checks(ctx));
    out.extend(dirs::checks(ctx));
    out.extend(path::checks(ctx));
    out.extend(nvcc::checks(ctx));
    out.extend(outer::checks(ctx));
    out.extend(tool::checks(ctx));
    out.extend(cache_dir::checks(ctx));
    out.extend(container::checks(ctx));
    out.extend(stats_file::checks(ctx));
    out.extend(crate::verify::doctor_checks(&ctx.cfg));
    out.extend(moved_paths::checks(ctx));
    out.extend(remote::checks(ctx));
    out.extend(storage_helper::checks(ctx));
    out.extend(dist::checks(ctx));
    out
}

/// The exit code for a report: 1 when any check is a problem.
pub fn exit_code(checks: &[Check]) -> i32 {
    i32::from(checks.iter().any(|c| c.level == Level::Problem))
}

/// Whether the text report may use colour: stdout is a terminal, `NO_COLOR` is unset
/// or empty (no-color.org) and `TERM` is not `dumb`. Pipes, files and CI logs get none.
pub fn colour_wanted() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

/// The SGR colour of a level's label: problems red, warnings yellow, ok green.
fn colour_of(level: Level) -> Option<&'static str> {
    match level {
        Level::Ok => Some("32"),
        Level::Skip => None,
        Level::Warning => Some("33"),
        Level::Problem => Some("1;31"),
    }
}

/// The report as text: one line per check, then a summary line; with `colour`, each
/// level label in its colour (the text is the same without it).
pub fn render_text(checks: &[Check], colour: bool) -> String {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut s = String::new();
    for c in checks {
        let label = format!("{:<8}", c.level.label());
        let label = match colour_of(c.level).filter(|_| colour) {
            Some(sgr) => {
                let bare = label.trim_end();
                format!("\x1b[{sgr}m{bare}\x1b[0m{}", &label[bare.len()..])
            }
            None => label,
        };
        // One line per check: a name with control characters in a message cannot forge
        // another line or reach the terminal raw (the JSON keeps them exact).
        s.push_str(&format!(
            "{label} {:<width$}  {}",
            c.name,
            crate::escape::text(&c.message)
        ));
        if let Some(f) = &c.fix {
            s.push_str(&format!(" -> hint: {}", crate::escape::text(f)));
        }
        s.push('\n');
    }
    let problems = checks.iter().filter(|c| c.level == Level::Problem).count();
    let warnings = checks.iter().filter(|c| c.level == Level::Warning).count();
    s.push_str(&format!(
        "{problems} problem{}, {warnings} warning{}\n",
        if problems == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" }
    ));
    s
}

/// The report as one JSON object.
pub fn render_json(checks: &[Check]) -> String {
    let problems = checks.iter().filter(|c| c.level == Level::Problem).count();
    let warnings = checks.iter().filter(|c| c.level == Level::Warning).count();
    let v = serde_json::json!({
        "checks": checks,
        "problems": problems,
        "warnings": warnings,
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_counts_only_problems() {
        let mut v = vec![
            Check::ok("a", "fine"),
            Check::warn("b", "meh", "do x"),
            Check::new("c", Level::Skip, "n/a"),
        ];
        assert_eq!(exit_code(&v), 0);
        v.push(Check::problem("d", "broken", "do y"));
        assert_eq!(exit_code(&v), 1);
        let text = render_text(&v, false);
        assert!(text.contains("problem  d  broken -> hint: do y"), "{text}");
        assert!(text.ends_with("1 problem, 1 warning\n"), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
        let coloured = render_text(&v, true);
        assert!(
            coloured.contains("\x1b[1;31mproblem\x1b[0m  d  broken"),
            "{coloured}"
        );
        assert!(coloured.contains("\x1b[33mwarning\x1b[0m  b"), "{coloured}");
        assert_eq!(strip_ansi_escapes::strip_str(&coloured), text);
    }
}
