//! `toolchainkit completions SHELL` and `toolchainkit man [--dir DIR]`: shell completion
//! scripts and manual pages, generated from the clap definitions so they never drift from
//! the parser (`clap_complete`, `clap_mangen`). Only the management CLI is described:
//! compile modes take the compiler's own arguments.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Print the completion script for `shell`.
pub fn completions(mut cmd: clap::Command, shell: clap_complete::Shell) -> anyhow::Result<i32> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "toolchainkit", &mut out);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(0)
}

/// Print the main page (roff), or write it and one page per subcommand into `dir`.
pub fn man(cmd: clap::Command, dir: Option<&Path>) -> anyhow::Result<i32> {
    match dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&out)?;
            stdout.flush()?;
        }
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            clap_mangen::generate_to(cmd, d)
                .with_context(|| format!("cannot write manual pages into {}", d.display()))?;
            let mut names: Vec<String> = std::fs::read_dir(d)?
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("toolchainkit") && n.ends_with(".1"))
                .collect();
            names.sort();
            println!(
                "wrote {} manual page(s) to {}: {}",
                names.len(),
                d.display(),
                names.join(" ")
            );
        }
    }
    Ok(0)
}
