//! sccache-dist: the client config (`SCCACHE_CONF`) the sccache server started for the
//! project reads. Its *name* is a hash of the settings without the token, and it is part
//! of the server's environment, so the dist settings are part of the server's identity
//! (its socket hash) and the token is not. The file is written with mode 0600 just
//! before the server starts and removed once it has read it.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::config::dist::Engine;
use crate::paths;

/// The client config the sccache server for this configuration reads: computed from
/// the configuration where it is needed (its name for the server's environment, its
/// content when a server starts), never kept between the two.
#[derive(Debug, Clone)]
pub struct Conf {
    pub path: PathBuf,
    scheduler_url: String,
    token_var: Option<String>,
    cache_dir: PathBuf,
}

/// sccache-dist's toolchain cache: `cache.dir/sccache-dist` when configured, else in the
/// state directory.
fn sccache_dist_cache_dir(cfg: &Config) -> PathBuf {
    cfg.dir
        .value
        .as_ref()
        .map(|d| d.join("sccache-dist"))
        .unwrap_or_else(|| paths::state_dir().join("sccache-dist"))
}

/// The client config for `engine = "sccache-dist"`, named after a hash of the settings
/// (scheduler, the token's variable *name*, the toolchain cache); `None` for any other
/// engine or without a scheduler.
pub fn conf(cfg: &Config) -> Option<Conf> {
    let d = cfg
        .dist
        .value
        .as_ref()
        .filter(|d| d.active() && d.engine == Engine::SccacheDist)?;
    let url = d.scheduler_url.clone()?;
    let cache_dir = sccache_dist_cache_dir(cfg);
    let mut h = Sha256::new();
    h.update(url.as_bytes());
    h.update([0]);
    h.update(d.auth_token_env.as_deref().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(cache_dir.as_os_str().as_encoded_bytes());
    let hex = paths::short_hex(&h.finalize());
    Some(Conf {
        path: paths::runtime_dir().join(format!("sccache-dist-{hex}.toml")),
        scheduler_url: url,
        token_var: d.auth_token_env.clone(),
        cache_dir,
    })
}

/// The variables the sccache server needs for `engine = "sccache-dist"`: `SCCACHE_CONF`
/// naming the client config (`conf`), so that its settings are part of the server's
/// identity.
pub fn sccache_env(cfg: &Config) -> Vec<(String, OsString)> {
    conf(cfg).map_or_else(Vec::new, |c| {
        vec![("SCCACHE_CONF".into(), c.path.into_os_string())]
    })
}

/// The client config file, removed when dropped (after the server has read it).
#[derive(Debug)]
pub struct ConfGuard(PathBuf);

impl Drop for ConfGuard {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Write the sccache-dist client config of `cfg` that a server about to start with `env`
/// will read, if `env` names it. The token is read from its variable here and written
/// only into this 0600 file, which is removed when the guard is dropped.
pub fn write_sccache_conf(cfg: &Config, env: &[(String, OsString)]) -> Option<ConfGuard> {
    let named = env.iter().find(|(k, _)| k == "SCCACHE_CONF")?;
    let pending = conf(cfg)?;
    if Path::new(&named.1) != pending.path {
        return None;
    }
    let mut text = format!(
        "# written by toolchainkit for the sccache server it starts; removed once read\n[dist]\nscheduler_url = {}\ncache_dir = {}\ntoolchains = []\n",
        toml_str(&pending.scheduler_url),
        toml_str(&pending.cache_dir.to_string_lossy())
    );
    if let Some(var) = &pending.token_var
        && let Some(token) = std::env::var_os(var)
    {
        text.push_str("\n[dist.auth]\ntype = \"token\"\ntoken = ");
        text.push_str(&toml_str(&token.to_string_lossy()));
        text.push('\n');
    }
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = fs::remove_file(&pending.path);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&pending.path)
        .ok()?;
    f.write_all(text.as_bytes()).ok()?;
    Some(ConfGuard(pending.path))
}
