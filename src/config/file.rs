//! A configuration file as deserialized, after `schema::check` found no problem in it.
//! Field names and types mirror `schema`; values are not yet resolved against the file's
//! directory or layered (that is `super::apply_text`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use super::remote::FileRemote;
use super::{Tool, ToolChoice};

/// A number written as a TOML integer or float.
#[derive(Debug, Clone, Copy)]
pub struct Number(pub f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub cache: Option<FileCache>,
    pub stats: Option<FileStats>,
    pub trust: Option<FileTrust>,
    pub ccache: Option<FileCcache>,
    pub sccache: Option<FileSccache>,
    pub dist: Option<super::dist::FileDist>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTrust {
    pub dirs: Option<Vec<PathBuf>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCache {
    pub enabled: Option<bool>,
    pub tool: Option<ToolChoice>,
    pub prefer: Option<Vec<Tool>>,
    pub dir: Option<PathBuf>,
    pub size_gb: Option<Number>,
    pub install: Option<bool>,
    pub sccache_client: Option<super::SccacheClient>,
    pub remote: Option<FileRemote>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStats {
    pub file: Option<PathBuf>,
    pub trace: Option<bool>,
    pub trace_max_mb: Option<u64>,
}

/// `[ccache]`: ccache's own settings that projects set every day.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCcache {
    pub base_dir: Option<PathBuf>,
    pub compiler_check: Option<String>,
    pub sloppiness: Option<Vec<String>>,
    pub hash_dir: Option<bool>,
    pub compression: Option<bool>,
    pub compression_level: Option<i64>,
}

/// `[sccache]`: sccache's own settings that projects set every day.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSccache {
    pub basedirs: Option<Vec<PathBuf>>,
    pub direct: Option<bool>,
}

/// Extra `extra` keys are free-form strings.
pub type Extra = BTreeMap<String, String>;
