//! The chosen cache tool: where it was found, its version and whether that is new enough;
//! for sccache, whether the server for this configuration runs and where it caches.
//!
//! Minimum versions, for what toolchainkit relies on:
//! - ccache 4.4: the release that added the stats log (`stats_log`/`CCACHE_STATSLOG`,
//!   ccache's NEWS for 4.4), which is how `outcome` learns each invocation's result;
//!   remote hits are named `remote_storage_hit` from 4.8 (4.4 to 4.7 say
//!   `secondary_storage_hit`, counted as a local hit).
//! - sccache 0.8.2: the first release with `SCCACHE_SERVER_UDS` (mozilla/sccache#2206),
//!   which gives each configuration its own server.

use std::path::Path;
use std::process::Command;

use super::{Check, Ctx};
use crate::backend::sccache::{native, server};
use crate::config::{SccacheClient, Tool, ToolChoice};
use crate::managed::version_of;

/// The first `X.Y[.Z]` in a `--version` output.
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let first = text.lines().next()?;
    for word in first.split_whitespace() {
        let w = word.trim_start_matches('v');
        let mut parts = w.split(['.', '-', '+']);
        let (Some(a), Some(b)) = (parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(a), Ok(b)) = (a.parse(), b.parse()) else {
            continue;
        };
        let c = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
        return Some((a, b, c));
    }
    None
}

fn show(v: (u32, u32, u32)) -> String {
    format!("{}.{}.{}", v.0, v.1, v.2)
}

/// The verdict on a tool's version (pure).
pub fn judge_version(tool: Tool, exe: &Path, output: &str) -> Check {
    let min = tool.minimum_version();
    let name = format!("tool.{}", tool.name());
    match parse_version(output) {
        None => Check::warn(
            name,
            format!("{}: cannot read a version from `--version`", exe.display()),
            format!("install a {} >= {}", tool.name(), show(min)),
        ),
        Some(v) if v < min => Check::problem(
            name,
            format!(
                "{} is {} {}, older than {} (toolchainkit needs {})",
                exe.display(),
                tool.name(),
                show(v),
                show(min),
                match tool {
                    Tool::Ccache => "its per-invocation stats log",
                    Tool::Sccache => "SCCACHE_SERVER_UDS",
                }
            ),
            format!(
                "`toolchainkit tool install {}` (or upgrade it)",
                tool.name()
            ),
        ),
        Some(v) if tool == Tool::Ccache && v < (4, 8, 0) => Check::warn(
            name,
            format!(
                "{} is ccache {}: remote hits are counted as local before 4.8",
                exe.display(),
                show(v)
            ),
            "`toolchainkit tool install ccache` (or upgrade it)",
        ),
        Some(v) => Check::ok(
            name,
            format!(
                "{} {} at {} (>= {})",
                tool.name(),
                show(v),
                exe.display(),
                show(min)
            ),
        ),
    }
}

pub fn checks(ctx: &Ctx) -> Vec<Check> {
    let cfg = &ctx.cfg;
    if !cfg.enabled.value || cfg.tool.value == ToolChoice::None {
        return vec![Check::ok(
            "tool",
            format!("no cache tool: {}", ctx.choice.why),
        )];
    }
    let Some((tool, exe)) = &ctx.choice.tool else {
        if let Some(t) = crate::managed::first_use::wanted(cfg) {
            return vec![Check::ok(
                "tool",
                format!(
                    "{}; install = true ({}): the first compile installs {} into {}",
                    ctx.choice.why,
                    cfg.install.origin,
                    t.name(),
                    crate::managed::bin_dir(None).display()
                ),
            )];
        }
        if let Some(w) = configured(cfg.tool.value) {
            return vec![missing_configured(w, &cfg.tool.origin.to_string(), None)];
        }
        let want = cfg.prefer.value.first().map_or("sccache", |t| t.name());
        return vec![Check::warn(
            "tool",
            format!(
                "{}: every compile runs uncached (counted as a fallback)",
                ctx.choice.why
            ),
            format!(
                "`toolchainkit tool install {want}`, install it into PATH, or set `install = true` in [cache]"
            ),
        )];
    };
    let mut out = Vec::new();
    let mut found = Check::ok(
        "tool",
        format!("{} at {} ({})", tool.name(), exe.display(), ctx.choice.why),
    );
    if let Some(w) = configured(cfg.tool.value)
        && w != *tool
    {
        found = missing_configured(
            w,
            &cfg.tool.origin.to_string(),
            Some(&format!("{} at {}", tool.name(), exe.display())),
        );
    }
    out.push(found);
    match version_of(exe) {
        Ok(text) => out.push(judge_version(*tool, exe, &text)),
        Err(e) => out.push(Check::problem(
            format!("tool.{}", tool.name()),
            e.to_string(),
            format!("reinstall {}", tool.name()),
        )),
    }
    if *tool == Tool::Sccache {
        out.push(sccache_server(ctx, exe));
        out.push(sccache_client(ctx, exe));
    }
    out
}

/// How compiles reach the sccache server: the native client or the sccache process.
fn sccache_client(ctx: &Ctx, exe: &Path) -> Check {
    let cfg = &ctx.cfg;
    let sock = server::socket_for(exe, &server::env(cfg));
    let setting = format!(
        "sccache_client = \"{}\" ({})",
        cfg.sccache_client.value.name(),
        cfg.sccache_client.origin
    );
    if cfg.sccache_client.value == SccacheClient::Process {
        return Check::ok(
            "sccache.client",
            format!("{setting}: every compile starts the sccache client"),
        );
    }
    if !server::server_up(&sock) {
        return Check::ok(
            "sccache.client",
            format!(
                "{setting}: the shim sends compiles itself once a server of an allowed version ({}) runs",
                native::ALLOWED_VERSIONS.join(", ")
            ),
        );
    }
    match server::client_for(cfg, exe, &sock) {
        Ok(v) => Check::ok(
            "sccache.client",
            format!("{setting}: native, the server runs sccache {v}"),
        ),
        Err(why) => Check::warn(
            "sccache.client",
            format!("{setting}, but compiles start the sccache client: {why}"),
            format!(
                "use sccache {} for the native client (`toolchainkit server stop` restarts the server)",
                native::ALLOWED_VERSIONS.join(" or ")
            ),
        ),
    }
}

/// The tool a configuration names explicitly (`tool = "ccache"`), if it does.
fn configured(choice: ToolChoice) -> Option<Tool> {
    match choice {
        ToolChoice::Sccache => Some(Tool::Sccache),
        ToolChoice::Ccache => Some(Tool::Ccache),
        ToolChoice::Auto | ToolChoice::None => None,
    }
}

/// The configuration names a tool that is not installed: a problem (pure), since the
/// project asked for that tool and gets another one or none (`instead`).
pub fn missing_configured(tool: Tool, origin: &str, instead: Option<&str>) -> Check {
    let n = tool.name();
    Check::problem(
        "tool",
        format!(
            "tool = \"{n}\" ({origin}) but {n} is not installed: {}",
            match instead {
                Some(other) => format!("compiles use {other} instead, with another cache"),
                None => "every compile runs uncached (counted as a fallback)".to_string(),
            }
        ),
        format!(
            "`toolchainkit tool install {n}`, install {n} into PATH, or set `install = true` in [cache]"
        ),
    )
}

/// `cache_location` of `sccache --show-stats --stats-format=json`: `Local disk: "DIR"`.
pub fn local_dir_of(location: &str) -> Option<&str> {
    let rest = location.strip_prefix("Local disk: ")?;
    Some(rest.trim_matches('"'))
}

fn sccache_server(ctx: &Ctx, exe: &Path) -> Check {
    let env = server::env(&ctx.cfg);
    let sock = server::socket_for(exe, &env);
    if let Some(why) = crate::backend::sccache::conn::path_too_long(&sock) {
        return Check::problem(
            "sccache.server",
            format!("{why}: no server can listen there, so every compile runs without sccache"),
            "set TOOLCHAINKIT_RUNTIME_DIR (or XDG_RUNTIME_DIR, or TMPDIR) to a shorter directory",
        );
    }
    if let Some(why) = server::refusal(&sock) {
        return Check::problem(
            "sccache.server",
            format!("{why}: compiles run without sccache and never use that socket"),
            "remove that directory (it is not yours) or set TOOLCHAINKIT_RUNTIME_DIR to a private directory",
        );
    }
    if !server::server_up(&sock) {
        return Check::ok(
            "sccache.server",
            format!(
                "no server for this configuration yet ({}); the first compile starts it",
                sock.display()
            ),
        );
    }
    if server::is_stopped(&sock) {
        return Check::problem(
            "sccache.server",
            format!(
                "the server on {} is stopped (SIGSTOP): compiles run the compiler directly",
                sock.display()
            ),
            "`kill -CONT` it, or `toolchainkit server stop` (kills it); the next compile starts a fresh one",
        );
    }
    let out = crate::process::output_within(
        Command::new(exe)
            .args(["--show-stats", "--stats-format=json"])
            .env("SCCACHE_SERVER_UDS", &sock)
            .env_remove("SCCACHE_SERVER_PORT"),
        crate::process::QUERY_TIMEOUT,
    );
    let json: Option<serde_json::Value> = out
        .filter(|o| o.status.success())
        .and_then(|o| serde_json::from_slice(&o.stdout).ok());
    let Some(json) = json else {
        return Check::problem(
            "sccache.server",
            format!("a server listens on {} but does not answer", sock.display()),
            "`toolchainkit server stop`; the next compile starts a fresh one",
        );
    };
    let location = json
        .get("cache_location")
        .and_then(|v| v.as_str())
        .unwrap_or("unknown");
    let expected = ctx.cfg.tool_dir(Tool::Sccache);
    match (expected, local_dir_of(location)) {
        (Some(want), Some(have)) if Path::new(have) != want => Check::problem(
            "sccache.server",
            format!(
                "the server on {} caches in {have}, not the configured {}",
                sock.display(),
                want.display()
            ),
            "`toolchainkit server stop`; the next compile starts one with this configuration",
        ),
        (Some(want), None) => Check::warn(
            "sccache.server",
            format!(
                "the server on {} uses {location}, not the configured {}",
                sock.display(),
                want.display()
            ),
            "`toolchainkit server stop`",
        ),
        _ => Check::ok(
            "sccache.server",
            format!("running on {} ({location})", sock.display()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("ccache version 4.14.2\n..."),
            Some((4, 14, 2))
        );
        assert_eq!(parse_version("sccache 0.16.0\n"), Some((0, 16, 0)));
        assert_eq!(parse_version("ccache version 3.7\n"), Some((3, 7, 0)));
        assert_eq!(parse_version("nothing here"), None);
        let exe = Path::new("/x/ccache");
        assert_eq!(
            judge_version(Tool::Ccache, exe, "ccache version 3.7.12").level,
            super::super::Level::Problem
        );
        assert_eq!(
            judge_version(Tool::Ccache, exe, "ccache version 4.3").level,
            super::super::Level::Problem
        );
        assert_eq!(
            judge_version(Tool::Ccache, exe, "ccache version 4.6").level,
            super::super::Level::Warning
        );
        assert_eq!(
            judge_version(Tool::Sccache, exe, "sccache 0.8.1").level,
            super::super::Level::Problem
        );
        assert_eq!(
            judge_version(Tool::Sccache, exe, "sccache 0.16.0").level,
            super::super::Level::Ok
        );
        assert_eq!(local_dir_of("Local disk: \"/a/b\""), Some("/a/b"));
    }

    #[test]
    fn a_configured_tool_that_is_missing_is_a_problem_naming_it() {
        let c = missing_configured(Tool::Ccache, "project file /p/.toolchainkit.toml", None);
        assert_eq!(c.level, super::super::Level::Problem);
        assert!(
            c.message.starts_with("tool = \"ccache\" (project file"),
            "{}",
            c.message
        );
        assert!(
            c.message.contains("ccache is not installed"),
            "{}",
            c.message
        );
        assert!(
            c.fix
                .as_deref()
                .is_some_and(|f| f.contains("tool install ccache"))
        );
        let c = missing_configured(Tool::Sccache, "default", Some("ccache at /x/ccache"));
        assert!(
            c.message
                .contains("compiles use ccache at /x/ccache instead"),
            "{}",
            c.message
        );
    }
}
