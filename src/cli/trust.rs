//! `toolchainkit trust [PATH]`, `trust --revoke [PATH]`, `trust --list`: approve a project
//! file's settings that run a program or send a credential (see `config::approval`).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::config::{self, approval, trust};
use crate::escape;

/// The project file PATH means: the file itself, or the nearest project file at or above
/// a directory (default: the working directory).
fn project_file(path: Option<&Path>) -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    let start = match path {
        Some(p) if p.is_absolute() => p.to_path_buf(),
        Some(p) => cwd.join(p),
        None => cwd,
    };
    if start.is_dir() {
        return config::discover::nearest(&start).with_context(|| {
            format!(
                "no {} in {} or its parents",
                config::PROJECT_FILE,
                escape::path(&start)
            )
        });
    }
    Ok(start)
}

/// How a PATH was meant, for `--revoke` of a file that is gone.
fn named(path: Option<&Path>) -> anyhow::Result<PathBuf> {
    match project_file(path) {
        Ok(p) => Ok(p),
        Err(e) => match path {
            Some(p) if !p.exists() => Ok(std::env::current_dir()?.join(p)),
            _ => Err(e),
        },
    }
}

pub fn run(path: Option<&Path>, revoke: bool, list: bool) -> anyhow::Result<i32> {
    if list {
        return show_list();
    }
    if revoke {
        let p = named(path)?;
        if approval::revoke(&p)? {
            crate::outln!("no longer trusted: {}", escape::path(&p));
        } else {
            crate::outln!("{} was not trusted", escape::path(&p));
        }
        return Ok(0);
    }
    let p = project_file(path)?;
    let (mut dirs, all) = trust::env_trusted_dirs();
    if let Ok(cfg) = config::load(config::Place::cwd(p.parent().unwrap_or(Path::new("/")))) {
        dirs.extend(cfg.trusted_dirs.value);
    }
    let text = match trust::read(&p, &dirs, all, false)
        .with_context(|| format!("cannot read {}", escape::path(&p)))?
    {
        trust::Outcome::Trusted(t) => t,
        trust::Outcome::Ignored(why) => bail!(
            "{} is not used at all: {why}\nhint: {}",
            escape::path(&p),
            escape::text(&trust::fix_for(&p))
        ),
    };
    let risky = match config::risky_settings(&p, &text) {
        Ok(r) => r,
        Err(problems) => {
            for e in &problems {
                crate::errln!("problem: {}", escape::text(&e.to_string()));
            }
            bail!(
                "{} is not valid: not trusted (fix it, then trust it)",
                escape::path(&p)
            );
        }
    };
    let rec = approval::approve(&p, &text)?;
    crate::outln!(
        "trusted {} (sha256 {})",
        escape::path(&rec.path),
        rec.sha256.get(..16).unwrap_or(&rec.sha256)
    );
    if risky.is_empty() {
        crate::outln!(
            "it has no setting that runs a program or sends a credential; a change to the file needs trusting again"
        );
    }
    for w in &risky {
        crate::outln!("now in effect: {} ({})", w.key, escape::text(&w.why));
    }
    Ok(0)
}

fn show_list() -> anyhow::Result<i32> {
    let (dirs, all) = trust::env_trusted_dirs();
    if all {
        crate::outln!("every directory: {}=*", trust::TRUSTED_DIRS_VAR);
    }
    for d in &dirs {
        crate::outln!(
            "directory {} ({})",
            escape::path(d),
            trust::TRUSTED_DIRS_VAR
        );
    }
    let records = match approval::read_records() {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => bail!("{}", escape::text(&e.to_string())),
    };
    if records.is_empty() && dirs.is_empty() && !all {
        crate::outln!("no trusted project files");
    }
    for r in &records {
        let state = match trust::read(&r.path, &[], true, true) {
            Ok(trust::Outcome::Trusted(text)) if approval::digest(&text) == r.sha256 => "trusted",
            Ok(_) => "changed since it was trusted: its gated settings are withheld",
            Err(_) => "missing or unreadable",
        };
        crate::outln!("{}  {state}", escape::path(&r.path));
    }
    Ok(0)
}
