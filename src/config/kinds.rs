//! The kinds a key's declaration can name: the types of remote store and the distribution
//! engines. Their own module, so that `keys` (which says which kinds use a key), `remote`
//! and `dist` (which ask `keys`) all depend on it and not on each other.

use serde::Deserialize;

/// The kinds of remote store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RemoteKind {
    S3,
    Redis,
    Gcs,
    Http,
    Webdav,
    Memcached,
    Azure,
}

impl RemoteKind {
    pub(crate) const ALL: [RemoteKind; 7] = [
        RemoteKind::S3,
        RemoteKind::Redis,
        RemoteKind::Gcs,
        RemoteKind::Http,
        RemoteKind::Webdav,
        RemoteKind::Memcached,
        RemoteKind::Azure,
    ];

    pub(crate) const fn name(self) -> &'static str {
        match self {
            RemoteKind::S3 => "s3",
            RemoteKind::Redis => "redis",
            RemoteKind::Gcs => "gcs",
            RemoteKind::Http => "http",
            RemoteKind::Webdav => "webdav",
            RemoteKind::Memcached => "memcached",
            RemoteKind::Azure => "azure",
        }
    }

    pub(crate) const NAMES: [&'static str; 7] = [
        RemoteKind::ALL[0].name(),
        RemoteKind::ALL[1].name(),
        RemoteKind::ALL[2].name(),
        RemoteKind::ALL[3].name(),
        RemoteKind::ALL[4].name(),
        RemoteKind::ALL[5].name(),
        RemoteKind::ALL[6].name(),
    ];
}

/// `dist.engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    None,
    Distcc,
    Icecc,
    SccacheDist,
}

impl Engine {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Engine::None => "none",
            Engine::Distcc => "distcc",
            Engine::Icecc => "icecc",
            Engine::SccacheDist => "sccache-dist",
        }
    }

    const ALL: [Engine; 4] = [
        Engine::None,
        Engine::Distcc,
        Engine::Icecc,
        Engine::SccacheDist,
    ];
    pub(crate) const NAMES: [&'static str; 4] = [
        Engine::ALL[0].name(),
        Engine::ALL[1].name(),
        Engine::ALL[2].name(),
        Engine::ALL[3].name(),
    ];

    pub(crate) fn parse(s: &str) -> Option<Engine> {
        Engine::ALL.into_iter().find(|e| e.name() == s)
    }
}
