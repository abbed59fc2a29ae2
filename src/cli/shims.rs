//! `toolchainkit shims install DIR`: compiler-name symlinks to this binary.

use std::path::Path;

pub(crate) fn install(dir: &Path, extra: &[String], force: bool) -> anyhow::Result<i32> {
    use anyhow::Context;
    let exe = std::env::current_exe().context("cannot find the toolchainkit binary")?;
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut names: Vec<&str> = crate::names::DEFAULT_SHIMS.to_vec();
    if real_nvcc_in_path() {
        // CUDA's driver, only where it is installed: a shim with nothing behind it would
        // turn "nvcc: command not found" (which CMake's CUDA probe expects) into exit 127.
        names.push("nvcc");
    }
    for n in extra.iter().map(String::as_str) {
        if !n.is_empty() && !names.contains(&n) {
            names.push(n);
        }
    }
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

/// Whether `PATH` leads to a real nvcc (not one of our shims, not another wrapper).
fn real_nvcc_in_path() -> bool {
    let cwd = std::env::current_dir().unwrap_or_else(|_| std::path::PathBuf::from("/"));
    let path_var = std::env::var_os("PATH");
    crate::resolve::search(
        std::ffi::OsStr::new("nvcc"),
        path_var.as_deref(),
        &cwd,
        crate::resolve::SelfId::current(),
    )
    .is_ok()
}
