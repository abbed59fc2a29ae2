//! `toolchainkit which NAME`: the whole resolution chain for a compiler name.

use std::ffi::OsStr;

use crate::backend;
use crate::resolve::{self, SelfId};

pub(crate) fn run(name: &OsStr) -> anyhow::Result<i32> {
    let (cwd, cfg) = super::load_config()?;
    let path_var = std::env::var_os("PATH");
    let me = SelfId::current();
    crate::outln!("compiler: {}", name.to_string_lossy());
    if let Some(pv) = &path_var
        && !crate::mode::is_path(name)
    {
        let mut found = false;
        for dir in std::env::split_paths(pv) {
            let cand = dir.join(name);
            if std::fs::symlink_metadata(&cand).is_err() {
                continue;
            }
            match resolve::check_candidate(&cand, me) {
                Ok(()) if !found => {
                    found = true;
                    crate::outln!("  candidate: {} (real compiler: used)", cand.display());
                }
                Ok(()) => crate::outln!(
                    "  candidate: {} (real compiler, later in PATH: not used)",
                    cand.display()
                ),
                Err(why) => crate::outln!("  candidate: {} (skipped: {why})", cand.display()),
            }
        }
    }
    let code = match resolve::resolve(name, path_var.as_deref(), &cwd, me) {
        Ok(r) => {
            // The PATH candidates are listed above with why each was skipped; a path
            // given as the name (a wrapper link) is not among them.
            if crate::mode::is_path(name) {
                for s in &r.skipped {
                    crate::outln!("  skipped:   {} ({})", s.path.display(), s.reason);
                }
            }
            crate::outln!("real compiler: {}", r.real.display());
            if crate::names::is_nvcc(name) || crate::names::is_nvcc(r.real.as_os_str()) {
                let host = path_var.as_deref().map_or_else(Vec::new, |pv| {
                    resolve::shim_dirs_for(crate::names::NVCC_HOST_NAMES, pv, &cwd, me)
                });
                if !host.is_empty() {
                    let dirs: Vec<String> = host.iter().map(|d| d.display().to_string()).collect();
                    crate::outln!(
                        "host compiler: nvcc runs gcc/g++ (or -ccbin's) from PATH without the shim directories {}",
                        dirs.join(", ")
                    );
                }
            }
            if !r.shim_dirs.is_empty() {
                let dirs: Vec<String> = r
                    .shim_dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect();
                crate::outln!(
                    "masquerade: active (shim directories removed from the child's PATH: {})",
                    dirs.join(", ")
                );
            }
            0
        }
        Err(nf) => {
            crate::outln!("{nf}");
            crate::EXIT_NOT_FOUND
        }
    };
    // The tool this compiler gets (nvcc never goes to sccache), as a compile would choose.
    let real = resolve::resolve(name, path_var.as_deref(), &cwd, me)
        .map(|r| r.real)
        .unwrap_or_default();
    let choice = backend::choose_for(&cfg, name, &real, path_var.as_deref(), &cwd);
    match &choice.tool {
        Some((t, p)) => crate::outln!(
            "cache tool: {} at {} ({})",
            t.name(),
            p.display(),
            choice.why
        ),
        None => match choice.uncacheable {
            Some(reason) => crate::outln!(
                "cache tool: none, counted uncacheable.{reason} ({})",
                choice.why
            ),
            None => crate::outln!("cache tool: none ({})", choice.why),
        },
    }
    if choice.tool.is_some() && !crate::names::is_known_compiler(name) {
        crate::outln!(
            "note: `{}` is not a known C/C++ compiler name; it runs uncached",
            name.to_string_lossy()
        );
    }
    Ok(code)
}
