//! Containers and fresh CI images: ccache's default `compiler_check = mtime` hashes the
//! compiler's size and modification time, which differ in every freshly built image, so
//! every build misses. `compiler_check = content` fixes it. sccache hashes the compiler's
//! content already.

use std::process::Command;

use super::{Check, Ctx};
use crate::backend::ccache;
use crate::config::Tool;

/// CI environment variables set by the common CI services.
const CI_VARS: &[&str] = &[
    "CI",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "BUILDKITE",
    "JENKINS_URL",
    "TF_BUILD",
    "CIRCLECI",
];

/// Signs of a container or CI job (pure): marker files present, `/proc/1/cgroup`, and
/// a lookup of environment variables.
pub fn signals(
    dockerenv: bool,
    containerenv: bool,
    cgroup: &str,
    var: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    if dockerenv {
        out.push("/.dockerenv".to_string());
    }
    if containerenv {
        out.push("/run/.containerenv".to_string());
    }
    for word in ["docker", "kubepods", "containerd", "libpod", "lxc"] {
        if cgroup.contains(word) {
            out.push(format!("cgroup mentions {word}"));
            break;
        }
    }
    for v in CI_VARS {
        if var(v).is_some_and(|x| !x.is_empty() && x != "false" && x != "0") {
            out.push(format!("{v} is set"));
        }
    }
    out
}

fn detect() -> Vec<String> {
    signals(
        std::path::Path::new("/.dockerenv").exists(),
        std::path::Path::new("/run/.containerenv").exists(),
        &std::fs::read_to_string("/proc/1/cgroup").unwrap_or_default(),
        |v| std::env::var(v).ok(),
    )
}

/// ccache's effective `compiler_check` with toolchainkit's environment (`ccache -k`).
fn ccache_compiler_check(ctx: &Ctx, exe: &std::path::Path) -> Option<String> {
    let out = Command::new(exe)
        .args(["-k", "compiler_check"])
        .envs(ccache::env(&ctx.cfg, None))
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub fn checks(ctx: &Ctx) -> Vec<Check> {
    let found = detect();
    if found.is_empty() {
        return vec![Check::ok("container", "not a container or CI job")];
    }
    let why = found.join(", ");
    match &ctx.choice.tool {
        Some((Tool::Ccache, exe)) => match ccache_compiler_check(ctx, exe).as_deref() {
            Some("mtime") | None => vec![Check::warn(
                "container",
                format!(
                    "container or CI job ({why}) with ccache's compiler_check = mtime: the compiler's mtime differs in every fresh image, so every build misses"
                ),
                "set `compiler_check = \"content\"` under [ccache] in .toolchainkit.toml (every compile of the project gets it; `docker run $(toolchainkit container-args)` passes it on)",
            )],
            Some(v) => vec![Check::ok(
                "container",
                format!("container or CI job ({why}); ccache compiler_check = {v}"),
            )],
        },
        Some(_) => vec![Check::ok(
            "container",
            format!("container or CI job ({why}); sccache hashes the compiler's content"),
        )],
        None => vec![Check::ok(
            "container",
            format!("container or CI job ({why}); no cache tool in use"),
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection() {
        assert!(signals(false, false, "0::/\n", |_| None).is_empty());
        assert_eq!(signals(true, false, "", |_| None), vec!["/.dockerenv"]);
        assert_eq!(
            signals(false, false, "1:cpu:/kubepods/x\n", |_| None),
            vec!["cgroup mentions kubepods"]
        );
        assert_eq!(
            signals(false, false, "", |v| (v == "CI").then(|| "true".into())),
            vec!["CI is set"]
        );
        assert!(signals(false, false, "", |v| (v == "CI").then(|| "false".into())).is_empty());
    }
}
