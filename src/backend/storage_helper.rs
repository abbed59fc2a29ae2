//! ccache with every remote: the `CCACHE_REMOTE_STORAGE` entry that makes ccache (4.13+,
//! `crsh-storage` in `ccache --version`) start toolchainkit's storage helper,
//! `toolchainkit-storage`, installed beside this binary; and whether a ccache binary
//! supports helpers (asked once per binary, remembered in the state directory).
//!
//! The entry names the helper (`helper=`, percent-encoded) and describes the store in
//! `@attributes` the helper reads (`store.rs` of `toolchainkit-storage`): OpenDAL options
//! as `@o.NAME=VALUE` and credentials only as the *names* of the variables that hold them
//! (`@e.NAME=VAR`). No secret value is written into the entry, an argv, a log or stats: the
//! helper reads it from its own environment, which ccache passes on.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::remote::{Part, Var};
use crate::config::remote::{Remote, Store, Unsupported};
use crate::private;

/// The helper's file name.
pub const HELPER: &str = "toolchainkit-storage";
/// One remote operation's bound in the helper unless `timeout_ms` says otherwise.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// ccache's own per-read and per-request bounds are the helper's plus this margin, so the
/// helper's clearer error arrives first.
const CCACHE_MARGIN_MS: u64 = 2_000;

/// `toolchainkit-storage` beside the running binary, if it is there.
pub fn helper_path() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate toolchainkit: {e}"))?;
    let p = exe.with_file_name(HELPER);
    match std::fs::metadata(&p) {
        Ok(m) if m.is_file() && m.mode() & 0o111 != 0 => Ok(p),
        _ => Err(format!(
            "{HELPER} is not installed beside {}",
            exe.display()
        )),
    }
}

/// Does this ccache start storage helpers? Read from `ccache --version`'s feature list once
/// per binary (by device, inode, size and mtime) and remembered in the state directory.
pub fn ccache_has_helpers(exe: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(exe) else {
        return false;
    };
    let id = format!(
        "{:032x}",
        xxhash_rust::xxh3::xxh3_128(
            format!(
                "{}\0{}\0{}\0{}\0{}.{}",
                exe.display(),
                meta.dev(),
                meta.ino(),
                meta.size(),
                meta.mtime(),
                meta.mtime_nsec()
            )
            .as_bytes()
        )
    );
    let dir = private::own_state_subdir("ccache-features").ok();
    if let Some(d) = &dir {
        for (suffix, answer) in [("helpers", true), ("builtin", false)] {
            if std::fs::symlink_metadata(d.join(format!("{id}.{suffix}"))).is_ok() {
                return answer;
            }
        }
    }
    let answer = std::process::Command::new(exe)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.starts_with("Features:") && l.split(' ').any(|f| f == "crsh-storage"))
        });
    if let Some(d) = &dir
        && let Ok((_, tmp)) = private::create_unique(d, ".tmp")
    {
        let name = d.join(format!(
            "{id}.{}",
            if answer { "helpers" } else { "builtin" }
        ));
        if private::rename_noreplace(&tmp, &name).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    answer
}

/// Does this remote reach ccache only through a helper (ccache has no client of its own)?
pub fn needs_helper(r: &Remote) -> bool {
    match &r.store {
        Store::S3 { .. } | Store::Gcs { .. } | Store::Azure { .. } | Store::Memcached { .. } => {
            true
        }
        Store::Redis { endpoint, .. } => endpoint.starts_with("rediss://"),
        Store::Http(d) | Store::Webdav(d) => d.endpoint.starts_with("https://"),
    }
}

/// ccache's properties (and the attribute names it passes on as they are) that `extra`
/// may set; every other `extra` key is an OpenDAL option of the store.
const CCACHE_PROPERTIES: [&str; 9] = [
    "idle-timeout",
    "connect-timeout",
    "operation-timeout",
    "keep-alive",
    "layout",
    "header",
    "umask",
    "update-mtime",
    "shards",
];

/// Percent-encode what would end a value in ccache's `remote_storage` syntax (space, tab,
/// `|`) and `%` itself; ccache decodes every value.
fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ' ' | '\t' | '|' | '%' | '"' | '\n' | '\r' => {
                out.push_str(&format!("%{:02X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// `scheme://host[:port]` and the path (without a trailing slash) of a URL.
fn split_url(url: &str) -> (String, String) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), String::new());
    };
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    // Userinfo never travels in the entry (credentials come by variable).
    let hostport = hostport.rsplit('@').next().unwrap_or(hostport);
    (
        format!("{scheme}://{hostport}"),
        path.trim_end_matches('/').to_string(),
    )
}

/// The helper's root for the store: `/` + path + prefix, without doubled slashes.
fn root(path: &str, prefix: Option<&str>) -> String {
    let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if let Some(p) = prefix {
        parts.extend(p.split('/').filter(|p| !p.is_empty()));
    }
    format!("/{}", parts.join("/"))
}

/// One `remote_storage` entry for the helper: the URL, ccache's own properties, and the
/// attributes the helper reads (`o.`/`e.` names included), all values unencoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub url: String,
    pub props: Vec<(String, String)>,
    pub attrs: Vec<(String, String)>,
    /// The variables the helper reads credentials from.
    pub requires: Vec<String>,
}

impl Entry {
    /// ccache's `remote_storage` syntax: space-separated, values percent-encoded.
    pub fn render(&self) -> String {
        let mut text = pct(&self.url);
        for (k, v) in &self.props {
            text.push_str(&format!(" {k}={}", pct(v)));
        }
        for (k, v) in &self.attrs {
            text.push_str(&format!(" @{k}={}", pct(v)));
        }
        text
    }
}

/// ccache's `CCACHE_REMOTE_STORAGE` for `r` through the helper at `helper`.
pub fn ccache_vars(r: &Remote, helper: &Path) -> Result<Vec<Var>, Unsupported> {
    let e = entry(r, helper)?;
    let mut parts = vec![Part::Lit(e.render())];
    parts.extend(e.requires.into_iter().map(Part::Require));
    Ok(vec![Var {
        name: "CCACHE_REMOTE_STORAGE".into(),
        parts,
    }])
}

/// The entry for `r` through the helper at `helper`.
pub fn entry(r: &Remote, helper: &Path) -> Result<Entry, Unsupported> {
    let mut o: Vec<(String, String)> = Vec::new();
    let mut e: Vec<(String, String)> = Vec::new();
    let mut opt = |k: &str, v: &str| o.push((k.to_string(), v.to_string()));
    let prefix = r.prefix.as_deref();
    let (service, layout, url, timeout_ms) = match &r.store {
        Store::S3 {
            bucket,
            region,
            endpoint,
            use_ssl,
            keys,
        } => {
            opt("bucket", bucket);
            opt("region", region.as_deref().unwrap_or("us-east-1"));
            if let Some(ep) = endpoint {
                let ep = if ep.contains("://") {
                    ep.clone()
                } else if *use_ssl == Some(false) {
                    format!("http://{ep}")
                } else {
                    format!("https://{ep}")
                };
                opt("endpoint", ep.trim_end_matches('/'));
            }
            opt("root", &root("", prefix));
            for (name, var) in [
                ("access_key_id", &keys.access_key_env),
                ("secret_access_key", &keys.secret_key_env),
                ("session_token", &keys.session_token_env),
            ] {
                if let Some(v) = var {
                    e.push((name.into(), v.clone()));
                }
            }
            let url = format!("s3://{bucket}{}", root("", prefix).trim_end_matches('/'));
            ("s3", "flat", url, None)
        }
        Store::Gcs { bucket, key_path } => {
            opt("bucket", bucket);
            opt("root", &root("", prefix));
            if let Some(k) = key_path {
                let Some(k) = k.to_str() else {
                    return Err(Unsupported {
                        message: "the GCS key path is not UTF-8".into(),
                        fix: "move the key file to a path of UTF-8 characters".into(),
                    });
                };
                opt("credential_path", k);
            }
            let url = format!("gs://{bucket}{}", root("", prefix).trim_end_matches('/'));
            ("gcs", "flat", url, None)
        }
        Store::Azure {
            container,
            connection_string_env,
        } => {
            opt("container", container);
            opt("root", &root("", prefix));
            e.push(("connection_string".into(), connection_string_env.clone()));
            let url = format!(
                "azblob://{container}{}",
                root("", prefix).trim_end_matches('/')
            );
            ("azblob", "flat", url, None)
        }
        Store::Memcached {
            endpoints, login, ..
        } => {
            let ep = endpoints.first().map(String::as_str).unwrap_or_default();
            let (base, _) = split_url(ep);
            opt("endpoint", &base);
            opt("root", &root("", prefix));
            if let Some(u) = &login.username {
                opt("username", u);
            }
            if let Some(p) = &login.password_env {
                e.push(("password".into(), p.clone()));
            }
            ("memcached", "flat", base, None)
        }
        Store::Redis {
            endpoint,
            login,
            db,
            timeout_ms,
            ..
        } => {
            let (base, path) = split_url(endpoint);
            let db = db
                .or_else(|| path.trim_matches('/').parse().ok())
                .unwrap_or(0);
            opt("endpoint", &base);
            opt("db", &db.to_string());
            opt("root", &root("", prefix));
            if let Some(u) = &login.username {
                opt("username", u);
            }
            if let Some(p) = &login.password_env {
                e.push(("password".into(), p.clone()));
            }
            ("redis", "redis", format!("{base}/{db}"), *timeout_ms)
        }
        Store::Http(d) | Store::Webdav(d) => {
            let (base, path) = split_url(&d.endpoint);
            opt("endpoint", &base);
            opt("root", &root(&path, prefix));
            if let Some(u) = &d.login.username {
                opt("username", u);
            }
            if let Some(p) = &d.login.password_env {
                e.push(("password".into(), p.clone()));
            }
            if let Some(t) = &d.token_env {
                e.push(("token".into(), t.clone()));
            }
            // The layouts toolchainkit gave ccache's own HTTP client: what it stored stays
            // found (WebDAV flat: a PUT needs no collection made first).
            let layout = if matches!(r.store, Store::Webdav(_)) {
                "flat"
            } else {
                "subdirs"
            };
            ("webdav", layout, format!("{base}{path}"), d.timeout_ms)
        }
    };
    let timeout_ms = timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    let mut props: Vec<(String, String)> = vec![
        ("helper".into(), helper.display().to_string()),
        (
            "data-timeout".into(),
            format!("{}ms", timeout_ms + CCACHE_MARGIN_MS),
        ),
        (
            "request-timeout".into(),
            format!("{}ms", timeout_ms + CCACHE_MARGIN_MS),
        ),
    ];
    if r.read_only {
        props.push(("read-only".into(), "true".into()));
    }
    let mut attrs: Vec<(String, String)> = vec![
        ("service".into(), service.into()),
        ("layout".into(), layout.into()),
        ("timeout-ms".into(), timeout_ms.to_string()),
    ];
    if r.read_only {
        attrs.push(("read-only".into(), "true".into()));
    }
    for (k, v) in &r.extra {
        if k.starts_with("SCCACHE_") {
            continue;
        }
        if crate::secrets::is_credential_name(k) {
            return Err(Unsupported {
                message: format!(
                    "`extra.{k}` holds a credential, which would have to be written into ccache's configuration to reach the storage helper"
                ),
                fix: "name the credential's environment variable with the `*_env` keys instead"
                    .into(),
            });
        }
        if k == "layout" {
            attrs.retain(|(a, _)| a != "layout");
            attrs.push(("layout".into(), v.clone()));
        } else if CCACHE_PROPERTIES.contains(&k.as_str()) {
            props.push((k.clone(), v.clone()));
        } else {
            o.retain(|(a, _)| a != k);
            o.push((k.clone(), v.clone()));
        }
    }
    let requires = e.iter().map(|(_, var)| var.clone()).collect();
    attrs.extend(o.into_iter().map(|(k, v)| (format!("o.{k}"), v)));
    attrs.extend(e.into_iter().map(|(k, v)| (format!("e.{k}"), v)));
    Ok(Entry {
        url,
        props,
        attrs,
        requires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::remote::{FileRemote, from_file};

    fn remote(toml_text: &str) -> Remote {
        let f: FileRemote = toml::from_str(toml_text).expect("toml");
        from_file(f, Path::new("/p")).expect("valid")
    }

    fn entry(toml_text: &str) -> (String, Vec<String>) {
        let v = ccache_vars(
            &remote(toml_text),
            Path::new("/opt/tk bin/toolchainkit-storage"),
        )
        .expect("served");
        let mut text = String::new();
        let mut required = Vec::new();
        for p in &v[0].parts {
            match p {
                Part::Lit(s) => text.push_str(s),
                Part::Require(var) => required.push(var.clone()),
                other => panic!("unexpected part {other:?}"),
            }
        }
        (text, required)
    }

    #[test]
    fn s3_names_its_credentials_by_variable_and_the_helper_by_path() {
        let (text, required) = entry(
            "type = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:9000\"\nuse_ssl = false\nprefix = \"team-a/\"\naccess_key_env = \"K\"\nsecret_key_env = \"S\"\nread_only = true\n",
        );
        assert_eq!(
            text,
            "s3://b/team-a helper=/opt/tk%20bin/toolchainkit-storage data-timeout=12000ms request-timeout=12000ms read-only=true \
@service=s3 @layout=flat @timeout-ms=10000 @read-only=true @o.bucket=b @o.region=us-east-1 \
@o.endpoint=http://127.0.0.1:9000 @o.root=/team-a @e.access_key_id=K @e.secret_access_key=S"
        );
        assert_eq!(required, ["K", "S"]);
    }

    #[test]
    fn redis_and_http_keep_the_keys_ccache_s_own_clients_wrote() {
        let (text, required) = entry(
            "type = \"redis\"\nendpoint = \"redis://h:6379\"\npassword_env = \"PW\"\ndb = 3\ntimeout_ms = 500\n",
        );
        assert!(text.starts_with("redis://h:6379/3 helper="), "{text}");
        assert!(text.contains(" data-timeout=2500ms "), "{text}");
        assert!(
            text.contains("@layout=redis") && text.contains("@o.db=3 @o.root=/ @e.password=PW"),
            "{text}"
        );
        assert!(!text.contains("PW@"), "{text}");
        assert_eq!(required, ["PW"]);
        let (text, _) =
            entry("type = \"http\"\nendpoint = \"http://h:8080/cache/\"\nprefix = \"x\"\n");
        assert!(
            text.starts_with("http://h:8080/cache helper=")
                && text.contains("@layout=subdirs")
                && text.contains("@o.endpoint=http://h:8080 @o.root=/cache/x"),
            "{text}"
        );
        let (text, _) = entry(
            "type = \"webdav\"\nendpoint = \"https://h/dav\"\nextra = { connect-timeout = \"300\", disable_copy = \"true\" }\n",
        );
        assert!(
            text.contains(" connect-timeout=300 ")
                && text.contains("@layout=flat")
                && text.contains("@o.disable_copy=true"),
            "{text}"
        );
    }

    #[test]
    fn a_literal_credential_in_extra_is_refused_not_written() {
        let r = remote(
            "type = \"webdav\"\nendpoint = \"http://h/dav\"\nextra = { bearer-token = \"abc\" }\n",
        );
        let e = ccache_vars(&r, Path::new("/h")).expect_err("refused");
        assert!(e.message.contains("extra.bearer-token"), "{e:?}");
        assert!(!e.message.contains("abc"));
    }
}
