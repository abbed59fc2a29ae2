//! `toolchainkit completions SHELL` and `toolchainkit man [--dir DIR]`: shell completion
//! scripts and manual pages, generated from the clap definitions so they never drift from
//! the parser (`clap_complete`, `clap_mangen`). Only the management CLI is described:
//! compile modes take the compiler's own arguments. The main page adds EXIT STATUS,
//! ENVIRONMENT and FILES from the tables below (`tests/docs.rs` holds them equal to the
//! ones in docs/commands.md and docs/configuration.md).

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Print the completion script for `shell`.
pub(crate) fn completions(
    mut cmd: clap::Command,
    shell: clap_complete::Shell,
) -> anyhow::Result<i32> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "toolchainkit", &mut out);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(0)
}

/// Exit codes, the same for every command and for a compile.
pub(crate) const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "Done (config check: valid; doctor: no problem). A compile exits with the compiler's own code, or dies of its signal.",
    ),
    (
        "1",
        "The command's own failure, printed as `toolchainkit: error: ...`; doctor with a problem, config check with problems that leave compiles working (degraded), server status with no server, dist status with a host down.",
    ),
    (
        "2",
        "A usage error: an unknown subcommand or option, a ccache or sccache option (the message names the toolchainkit command).",
    ),
    (
        "3",
        "A gate failed: stats --since-mark with --require-hit-rate PCT below PCT, or --fail-on-miss with a miss (the missed objects on stderr).",
    ),
    (
        "78",
        "Invalid configuration (EX_CONFIG): every command that reads it and every compile print each problem with file, line, column, key and a hint.",
    ),
    (
        "127",
        "run: the command cannot be run; a compile: no real compiler, or a wrapper loop.",
    ),
];

/// The environment variables toolchainkit reads (and those it follows from others).
pub(crate) const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "TOOLCHAINKIT_CONFIG",
        "Use this project file instead of searching (toolchainkit run sets it).",
    ),
    ("TOOLCHAINKIT_NO_USER_CONFIG", "1: ignore the user file."),
    (
        "TOOLCHAINKIT_DISABLE",
        "1: caching off, the real compiler runs directly.",
    ),
    ("TOOLCHAINKIT_TOOL", "Overrides cache.tool."),
    (
        "TOOLCHAINKIT_PREFER",
        "Overrides cache.prefer (sccache,ccache).",
    ),
    ("TOOLCHAINKIT_CACHE_DIR", "Overrides cache.dir."),
    ("TOOLCHAINKIT_CACHE_SIZE_GB", "Overrides cache.size_gb."),
    (
        "TOOLCHAINKIT_SCCACHE_CLIENT",
        "Overrides cache.sccache_client (native or process).",
    ),
    ("TOOLCHAINKIT_STATS_FILE", "Overrides stats.file."),
    ("TOOLCHAINKIT_TRACE", "Overrides stats.trace."),
    (
        "TOOLCHAINKIT_VERIFY",
        "Overrides cache.verify: the fraction of hits checked against a fresh compile (0 to 1), or strict.",
    ),
    (
        "TOOLCHAINKIT_DEFAULT_BRANCH",
        "The default branch for ci key --restore-keys and read_only = \"auto\" on GitHub (the action sets it from the event).",
    ),
    (
        "TOOLCHAINKIT_DIST_ENGINE",
        "none: distribution off for one build.",
    ),
    ("TOOLCHAINKIT_CCACHE_PATH", "Use this ccache binary."),
    ("TOOLCHAINKIT_SCCACHE_PATH", "Use this sccache binary."),
    ("TOOLCHAINKIT_DISTCC_PATH", "Use this distcc binary."),
    ("TOOLCHAINKIT_ICECC_PATH", "Use this icecc binary."),
    (
        "TOOLCHAINKIT_TRUSTED_DIRS",
        "Colon-separated directories whose project files are trusted: used whoever owns them, and their settings that run a program or send a credential apply (*: all).",
    ),
    (
        "TOOLCHAINKIT_CONFIG_FOUND",
        "Set by toolchainkit run beside the TOOLCHAINKIT_CONFIG it pins when it found the file: judged like a found file (owner, mode, trust).",
    ),
    (
        "TOOLCHAINKIT_RUNTIME_DIR",
        "Where sccache server sockets live (yours, mode 0700).",
    ),
    (
        "TOOLCHAINKIT_STATS_LOCK_WAIT_MS",
        "How long a compile waits for the stats lock before writing to the side file (default 2000).",
    ),
    (
        "TOOLCHAINKIT_PYTHON",
        "The Python whose pip tool install uses (default python3).",
    ),
    (
        "TOOLCHAINKIT_LOG",
        "The diagnostics log's level (e.g. debug); without it warnings are logged, kept under 1 MiB. Never written to stderr.",
    ),
    ("TOOLCHAINKIT_LOG_FILE", "The diagnostics log's file."),
    (
        "XDG_CONFIG_HOME, XDG_STATE_HOME, XDG_DATA_HOME, XDG_RUNTIME_DIR",
        "Where the user file, the state, managed tools and sockets live (see FILES).",
    ),
    (
        "CC, CXX",
        "When toolchainkit is run with compiler arguments but no compiler (as the cc crate probes CC=\"toolchainkit cc\"), the compiler named after toolchainkit in CC (C) or CXX (C++); else cc or c++.",
    ),
];

/// The files toolchainkit reads and writes.
pub(crate) const FILES: &[(&str, &str)] = &[
    (
        ".toolchainkit.toml",
        "The project file: the nearest one walking up from the working directory (else from the output or source file's directory).",
    ),
    (
        "$XDG_CONFIG_HOME/toolchainkit/config.toml",
        "The user file (default ~/.config/toolchainkit/config.toml).",
    ),
    (
        "$XDG_STATE_HOME/toolchainkit/stats/",
        "Per-project stats files, marks and traces (default ~/.local/state/toolchainkit).",
    ),
    (
        "$XDG_STATE_HOME/toolchainkit/toolchainkit.log",
        "The diagnostics log.",
    ),
    (
        "$XDG_DATA_HOME/toolchainkit/tools/",
        "Tools installed by toolchainkit tool install (default ~/.local/share/toolchainkit).",
    ),
    (
        "$XDG_RUNTIME_DIR/toolchainkit/",
        "sccache server sockets and their start locks (else $TMPDIR/toolchainkit-UID).",
    ),
];

/// Text as roff: backslashes and a leading dot or quote escaped.
fn roff_text(s: &str) -> String {
    let s = s.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with(['.', '\'']) {
        format!("\\&{s}")
    } else {
        s
    }
}

/// The sections clap_mangen has no data for, in roff.
pub(crate) fn extra_sections() -> String {
    let mut out = String::new();
    for (title, rows) in [
        ("EXIT STATUS", EXIT_STATUS),
        ("ENVIRONMENT", ENVIRONMENT),
        ("FILES", FILES),
    ] {
        out.push_str(&format!(".SH \"{title}\"\n"));
        for (term, text) in rows {
            out.push_str(&format!(
                ".TP\n\\fB{}\\fR\n{}\n",
                roff_text(term),
                roff_text(text)
            ));
        }
    }
    out
}

/// The main page: clap_mangen's sections, then ours before VERSION.
fn main_page(cmd: clap::Command) -> anyhow::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd);
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    man.render_subcommands_section(&mut out)?;
    out.extend_from_slice(extra_sections().as_bytes());
    man.render_version_section(&mut out)?;
    man.render_authors_section(&mut out)?;
    Ok(out)
}

/// Print the main page (roff), or write it and one page per subcommand into `dir`.
pub(crate) fn man(cmd: clap::Command, dir: Option<&Path>) -> anyhow::Result<i32> {
    match dir {
        None => {
            let out = main_page(cmd)?;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&out)?;
            stdout.flush()?;
        }
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            clap_mangen::generate_to(cmd.clone(), d)
                .with_context(|| format!("cannot write manual pages into {}", d.display()))?;
            let main = d.join("toolchainkit.1");
            std::fs::write(&main, main_page(cmd)?)
                .with_context(|| format!("cannot write {}", main.display()))?;
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
