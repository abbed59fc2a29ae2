//! `toolchainkit config check`: every problem with the configuration in effect for a
//! place, the files' own problems first, then the effective remote's (referenced variables
//! set, a key file present, the chosen tool able to serve it, no setting that tool would
//! ignore).
//!
//! Which tool will run, and whether a tool can serve a remote, are the backend's answers;
//! the caller passes them in ([`Tools`]), so `config` does not depend on `backend`.

use super::remote::{Remote, RemoteKind, Unsupported};
use super::{Config, ConfigError, Place, Tool, ToolChoice};

/// What the caller knows about the cache tools.
pub(crate) struct Tools<'a> {
    /// The tool that will run for a configuration, if any.
    pub chosen: &'a dyn Fn(&Config) -> Option<Tool>,
    /// Whether `tool` can serve remote `r`, or why not.
    pub serves: &'a dyn Fn(Tool, &Remote) -> Result<(), Unsupported>,
}

fn effective_error(cfg: &Config, key: &str, msg: String, fix: String) -> ConfigError {
    cfg.error_at(key, &cfg.remote.origin, msg, fix)
}

/// Every problem with the configuration in effect for `place`: the files' problems, then
/// the effective remote's.
pub(crate) fn check_all(place: Place<'_>, tools: &Tools<'_>) -> Vec<ConfigError> {
    let (mut problems, cfg) = super::check(place);
    let Some(r) = &cfg.remote.value else {
        return problems;
    };
    for (field, var) in r.env_refs() {
        if crate::paths::var_nonempty(var).is_none() {
            problems.push(effective_error(
                &cfg,
                &format!("cache.remote.{field}"),
                format!("environment variable `{var}` is not set (or empty)"),
                format!("set `{var}` in the build's environment (e.g. a CI secret)"),
            ));
        }
    }
    if let Some(k) = r.key_path()
        && !k.is_file()
    {
        problems.push(effective_error(
            &cfg,
            "cache.remote.key_path",
            format!("no such file: {}", k.display()),
            "point key_path at the service-account JSON key (relative to the config file)".into(),
        ));
    }
    let tool = match cfg.tool.value {
        ToolChoice::Sccache => Some(Tool::Sccache),
        ToolChoice::Ccache => Some(Tool::Ccache),
        _ => (tools.chosen)(&cfg),
    };
    if let Some(tool) = tool
        && let Err(u) = (tools.serves)(tool, r)
    {
        let can: Vec<&str> = Tool::ALL
            .into_iter()
            .filter(|t| (tools.serves)(*t, r).is_ok())
            .map(Tool::name)
            .collect();
        let key = if cfg.tool.value == ToolChoice::Auto {
            "cache.remote.type"
        } else {
            "cache.tool"
        };
        problems.push(effective_error(
            &cfg,
            key,
            format!(
                "{} cannot serve this remote (type = \"{}\"): {}; {} can",
                tool.name(),
                r.kind().name(),
                u.message,
                can.join(", ")
            ),
            u.fix,
        ));
    }
    let set = |key: &str| r.get(key).is_some();
    let ignored = match tool {
        Some(Tool::Sccache) if set("timeout_ms") => Some((
            "timeout_ms",
            "sccache 0.16 has no timeout setting for remote storage",
        )),
        Some(Tool::Ccache) if set("ttl") => {
            Some(("ttl", "ccache's remote storage has no expiry setting"))
        }
        Some(Tool::Ccache) if set("username") && !set("password_env") => Some((
            "username",
            "ccache sends a user name only together with a password",
        )),
        _ => None,
    };
    if let Some((field, why)) = ignored {
        problems.push(effective_error(
            &cfg,
            &format!("cache.remote.{field}"),
            format!("{why}: the setting would be ignored"),
            format!("remove `{field}` (or use the other tool)"),
        ));
    }
    if let Some(t) = tool
        && r.kind() == RemoteKind::Memcached
        && r.endpoints().len() > 1
    {
        problems.push(effective_error(
            &cfg,
            "cache.remote.endpoint",
            format!("{} uses one memcached endpoint", t.name()),
            "list a single endpoint".into(),
        ));
    }
    problems
}
