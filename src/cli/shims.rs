//! `toolchainkit shims install DIR`: compiler-name symlinks to this binary.

use std::path::Path;

pub fn install(dir: &Path, extra: &[String], force: bool) -> anyhow::Result<i32> {
    use anyhow::Context;
    let exe = std::env::current_exe().context("cannot find the toolchainkit binary")?;
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut names: Vec<&str> = crate::names::DEFAULT_SHIMS.to_vec();
    names.extend(extra.iter().map(String::as_str).filter(|n| !n.is_empty()));
    for name in names {
        if name.contains('/') || crate::names::is_own_name(std::ffi::OsStr::new(name)) {
            anyhow::bail!("`{name}` is not a compiler name");
        }
        let link = dir.join(name);
        if let Ok(meta) = std::fs::symlink_metadata(&link) {
            let ours =
                meta.file_type().is_symlink() && std::fs::read_link(&link).is_ok_and(|t| t == exe);
            if ours {
                crate::outln!("{} (already installed)", link.display());
                continue;
            }
            if !force {
                anyhow::bail!(
                    "{} exists and is not a toolchainkit shim (use --force to replace it)",
                    link.display()
                );
            }
            std::fs::remove_file(&link)
                .with_context(|| format!("cannot replace {}", link.display()))?;
        }
        std::os::unix::fs::symlink(&exe, &link)
            .with_context(|| format!("cannot create {}", link.display()))?;
        crate::outln!("{} -> {}", link.display(), exe.display());
    }
    crate::outln!(
        "put {} first in PATH to compile through toolchainkit",
        dir.display()
    );
    Ok(0)
}
