//! A configuration file after `schema::check` found no problem in it: the document as
//! written, with `[cache.remote]` and `[dist]` taken out and deserialized for their modules
//! (`super::remote`, `super::dist`). `super::apply_text` applies it key by key through
//! `super::keys::KEYS`; `super::approval` reads it for the settings it gates and strips those
//! it withholds.

use std::path::PathBuf;

use serde::Deserialize;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::dist::FileDist;
use super::keys::Key;
use super::remote::FileRemote;

/// A checked file.
pub(crate) struct FileConfig<'a> {
    doc: DeTable<'a>,
    pub remote: Option<FileRemote>,
    pub dist: Option<FileDist>,
}

impl<'a> FileConfig<'a> {
    /// Take `[cache.remote]` and `[dist]` out of a checked document and deserialize them.
    pub(crate) fn new(mut doc: DeTable<'a>) -> Result<Self, toml::de::Error> {
        let remote = match doc.get_mut("cache").map(|c| c.get_mut()) {
            Some(DeValue::Table(cache)) => cache.remove("remote"),
            _ => None,
        };
        let remote = remote
            .map(|r| FileRemote::deserialize(ValueDeserializer::from(r)))
            .transpose()?;
        let dist = doc
            .remove("dist")
            .map(|d| FileDist::deserialize(ValueDeserializer::from(d)))
            .transpose()?;
        Ok(FileConfig { doc, remote, dist })
    }

    /// The top level of the document.
    pub(crate) fn top(&self) -> &DeTable<'a> {
        &self.doc
    }

    /// The table `name` (a top-level one, not `[cache.remote]`), if written.
    pub(crate) fn table(&self, name: &str) -> Option<&DeTable<'a>> {
        match name {
            "" => Some(&self.doc),
            _ => self.doc.get(name)?.get_ref().as_table(),
        }
    }

    /// The value of `key` as written (not a key of `[cache.remote]` nor `[dist]`).
    pub(crate) fn get(&self, key: &Key) -> Option<&DeValue<'a>> {
        Some(self.table(key.table())?.get(key.short())?.get_ref())
    }

    /// Remove dotted `key` (a key of a table, or a table), as if it were not written.
    pub(crate) fn remove(&mut self, key: &str) {
        match key {
            "cache.remote" => self.remote = None,
            "dist" => self.dist = None,
            _ => match key.split_once('.') {
                None => drop(self.doc.remove(key)),
                Some((table, k)) => {
                    if let Some(DeValue::Table(t)) = self.doc.get_mut(table).map(|t| t.get_mut()) {
                        t.remove(k);
                    }
                }
            },
        }
    }
}

/// `[ccache]`: ccache's own settings that projects set every day, paths resolved.
#[derive(Debug, Default, Clone)]
pub struct FileCcache {
    pub base_dir: Option<PathBuf>,
    pub compiler_check: Option<String>,
    pub sloppiness: Option<Vec<String>>,
    pub hash_dir: Option<bool>,
    pub compression: Option<bool>,
    pub compression_level: Option<i64>,
}

/// `[sccache]`: sccache's own settings that projects set every day, paths resolved.
#[derive(Debug, Default, Clone)]
pub struct FileSccache {
    pub basedirs: Option<Vec<PathBuf>>,
    pub direct: Option<bool>,
}
