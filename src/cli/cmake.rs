//! `toolchainkit cmake`: the `-D` arguments, or an initial-cache script for `cmake -C`,
//! that make CMake compile through toolchainkit as its compiler launcher.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The languages to set a launcher for.
pub fn languages(cuda: bool, objc: bool) -> Vec<&'static str> {
    let mut l = vec!["C", "CXX"];
    if cuda {
        l.push("CUDA");
    }
    if objc {
        l.extend(["OBJC", "OBJCXX"]);
    }
    l
}

/// This binary's absolute, canonical path.
pub fn self_path() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find toolchainkit's own path")?;
    Ok(std::fs::canonicalize(&exe).unwrap_or(exe))
}

fn cmake_string(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('$', "\\$")
    )
}

/// The initial-cache script.
pub fn script(exe: &Path, langs: &[&str]) -> String {
    let mut out =
        String::from("# Initial cache for `cmake -C THIS_FILE`: compile through toolchainkit.\n");
    let p = cmake_string(&exe.display().to_string());
    for l in langs {
        out.push_str(&format!(
            "set(CMAKE_{l}_COMPILER_LAUNCHER {p} CACHE STRING \"Compiler launcher for {l} (toolchainkit)\")\n"
        ));
    }
    out
}

pub fn run(write: Option<PathBuf>, cuda: bool, objc: bool) -> anyhow::Result<i32> {
    let exe = self_path()?;
    let langs = languages(cuda, objc);
    match write {
        Some(file) => {
            crate::outfile::write(&file, script(&exe, &langs).as_bytes())
                .with_context(|| format!("cannot write {}", crate::escape::path(&file)))?;
            crate::outln!(
                "wrote {}; use: cmake -C {} ...",
                crate::escape::path(&file),
                crate::escape::shell_word(&file.to_string_lossy())
            );
        }
        None => {
            let args: Vec<String> = langs
                .iter()
                .map(|l| {
                    crate::escape::shell_word(&format!(
                        "-DCMAKE_{l}_COMPILER_LAUNCHER={}",
                        exe.display()
                    ))
                })
                .collect();
            println!("{}", args.join(" "));
        }
    }
    Ok(0)
}
