//! The management CLI (`toolchainkit SUBCOMMAND`): the only code that parses with clap.
//!
//! Errors print as `toolchainkit: error: <cause chain>` and exit 1; an invalid
//! configuration prints every problem and exits 78, as on the compile path; usage errors
//! exit 2 (clap), a command that cannot be found or run 127.

mod cache;
mod cache_trim;
mod ci;
mod ci_key;
mod cmake;
mod config;
mod container_args;
mod dist;
mod doctor;
mod env;
mod env_quote;
mod explain;
mod gate;
mod manual;
mod run;
mod server;
mod shims;
mod stats;
mod stats_all;
mod tool;
mod trust;
mod which;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "toolchainkit",
    version,
    about = "A compiler-wrapper shim that forwards C/C++ compiles to sccache or ccache",
    long_about = "A compiler-wrapper shim that forwards C/C++ compiles to sccache or ccache.\n\n\
        Compile modes:\n  \
        masquerade  a symlink named cc, c++, gcc, ... pointing at toolchainkit, first in PATH\n  \
        launcher    toolchainkit COMPILER ARGS...  (or toolchainkit -- COMPILER ARGS...)\n\n\
        Configuration: .toolchainkit.toml in the project (or a parent directory).",
    disable_help_subcommand = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Print this help, or a subcommand's (`toolchainkit help stats`).
    Help {
        /// The subcommand (and its subcommands) to describe.
        command: Vec<String>,
    },
    /// Show every effective setting and where it came from; `config check` validates.
    Config {
        #[command(subcommand)]
        action: Option<ConfigAction>,
    },
    /// Trust a project file: its settings that run a program or send a credential apply.
    ///
    /// PATH is the project file, or a directory whose nearest project file is meant
    /// (default: the working directory). The file's content is recorded: a change to it
    /// withholds those settings again until it is trusted again.
    #[command(group(clap::ArgGroup::new("how").args(["revoke", "list"])))]
    Trust {
        path: Option<PathBuf>,
        /// Withdraw the trust of PATH.
        #[arg(long)]
        revoke: bool,
        /// List the trusted files and directories.
        #[arg(long, conflicts_with = "path")]
        list: bool,
    },
    /// Show how a compiler name resolves: PATH candidates, skipped wrappers, the tool.
    Which {
        /// Compiler name (cc, g++, clang, ...) or path.
        name: OsString,
    },
    /// Manage compiler-name symlinks (masquerade mode).
    Shims {
        #[command(subcommand)]
        action: ShimsAction,
    },
    /// Show this project's cache statistics.
    ///
    /// `--since-mark` shows one build's (since `--mark`), `--all` every project's.
    #[command(group(clap::ArgGroup::new("action").args(["zero", "mark", "since_mark", "all"])))]
    Stats {
        /// One JSON object instead of the table.
        #[arg(long)]
        json: bool,
        /// Reset the counters, and those of this project's sccache server.
        #[arg(long, short = 'z')]
        zero: bool,
        /// Remember the counters now (before a build; then `--since-mark` after it).
        #[arg(long)]
        mark: bool,
        /// One line for a CI log: invocations, hits, misses, hit rate and time saved
        /// since `--mark`.
        #[arg(long)]
        since_mark: bool,
        /// Every project's stats file, with its project directory, and the totals.
        #[arg(long)]
        all: bool,
        /// With --since-mark: exit 3 when the build's hit rate is below PCT, listing the
        /// missed objects.
        #[arg(long, value_name = "PCT", requires = "since_mark", value_parser = parse_pct)]
        require_hit_rate: Option<f64>,
        /// With --since-mark: exit 3 when any compile of the build missed (a clean
        /// rebuild that must be all hits), listing the missed objects.
        #[arg(long, requires = "since_mark")]
        fail_on_miss: bool,
    },
    /// Why did these compiles miss? Per object, the cause and the difference.
    ///
    /// Causes: cold, args, source, header, compiler, env, evicted, unknown. Without
    /// OUTPUT or a flag: the misses of the last build that compiled anything.
    #[command(group(clap::ArgGroup::new("which").args(["outputs", "last_build", "since_mark"])))]
    Explain {
        /// Object files to explain (as the build names them, or as the records do).
        #[arg(value_name = "OUTPUT")]
        outputs: Vec<PathBuf>,
        /// The misses of the last build (the one that wrote the newest record).
        #[arg(long)]
        last_build: bool,
        /// The misses since `toolchainkit stats --mark`.
        #[arg(long)]
        since_mark: bool,
        /// A JSON array of {output, cause, detail, ...} instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show the build trace as a timeline: Chrome trace-event JSON (Perfetto), SVG or HTML.
    #[command(group(clap::ArgGroup::new("output").required(true).multiple(true).args(["chrome", "svg", "html", "markdown"])))]
    Trace {
        /// Write Chrome trace-event JSON to this file (open in ui.perfetto.dev).
        #[arg(long, value_name = "FILE")]
        chrome: Option<PathBuf>,
        /// Write a standalone SVG picture of the timeline to this file.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// Write an HTML page (the picture and the slowest invocations) to this file.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Append a Markdown summary (a CI job's summary page: `$GITHUB_STEP_SUMMARY`).
        #[arg(long, value_name = "FILE")]
        markdown: Option<PathBuf>,
        /// Only the last build: the invocations after the last idle gap longer than --gap.
        #[arg(long)]
        last_build: bool,
        /// Only invocations that started at or after TIME: Unix seconds or
        /// YYYY-MM-DDTHH:MM:SS (UTC).
        #[arg(long, value_name = "TIME", value_parser = parse_since, conflicts_with = "since_mark")]
        since: Option<u64>,
        /// Only the build since `stats --mark` (or `ci start`), as `stats --since-mark`.
        #[arg(long)]
        since_mark: bool,
        /// Idle seconds that separate two builds.
        #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_gap)]
        gap: u64,
        /// Trace file to read (default: this project's).
        #[arg(long, value_name = "TRACE")]
        input: Option<PathBuf>,
    },
    /// This project's cache, through its tool: show, zero, clean, size [SIZE].
    Cache {
        #[command(subcommand)]
        action: CacheAction,
        /// The tool (default: the one the configuration uses).
        #[arg(long, value_enum, global = true)]
        tool: Option<ToolArg>,
    },
    /// CI in a few steps: `ci key`, `ci start` before the build, `ci summary` after it.
    Ci {
        #[command(subcommand)]
        action: CiAction,
    },
    /// The sccache server toolchainkit runs for this project's settings.
    Server {
        #[command(subcommand)]
        action: ServerAction,
    },
    /// Print the variables the configured tool needs (for CI jobs that run it without
    /// the shim); secrets only as references to the variables holding them.
    Env {
        #[arg(long, value_enum, default_value = "sh")]
        format: env::Format,
        /// The tool to describe (default: the one the configuration uses).
        #[arg(long, value_enum)]
        tool: Option<ToolArg>,
    },
    /// Print CMake arguments that set toolchainkit as the compiler launcher.
    Cmake {
        /// Write an initial-cache script for `cmake -C FILE` instead.
        #[arg(long, value_name = "FILE")]
        write: Option<PathBuf>,
        /// Also set CMAKE_CUDA_COMPILER_LAUNCHER.
        #[arg(long)]
        cuda: bool,
        /// Also set CMAKE_OBJC_COMPILER_LAUNCHER and CMAKE_OBJCXX_COMPILER_LAUNCHER.
        #[arg(long)]
        objc: bool,
    },
    /// Print `docker run`/`podman run` arguments sharing the host cache with a container.
    ContainerArgs {
        #[arg(long, value_enum, default_value = "docker")]
        engine: container_args::Engine,
        /// The container user's home directory; the cache is mounted at DIR/.cache/TOOL.
        #[arg(long, value_name = "DIR", default_value = "/root")]
        target_home: PathBuf,
        /// The tool (default: the one the configuration uses).
        #[arg(long, value_enum)]
        tool: Option<ToolArg>,
    },
    /// Check the whole setup: one line per check, exit 1 when any is a problem.
    Doctor {
        /// One JSON object instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Distributed compilation ([dist]): hosts, slots, recent remote share.
    Dist {
        #[command(subcommand)]
        action: DistAction,
    },
    /// Install or list the cache tools toolchainkit manages.
    Tool {
        #[command(subcommand)]
        action: ToolAction,
    },
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Run a command (a whole build) with this project's configuration pinned for every
    /// compile in it, wherever they run (TOOLCHAINKIT_CONFIG).
    Run {
        /// Check every cache hit of this build against a fresh compile (`all`, the
        /// default), or fail a compile whose hit differs (`strict`): TOOLCHAINKIT_VERIFY.
        #[arg(long, value_name = "HOW", num_args = 0..=1, default_missing_value = "all", value_parser = ["all", "strict"])]
        verify: Option<String>,
        /// The command and its arguments, e.g. `-- cargo build`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        command: Vec<OsString>,
    },
    /// Print the manual page (roff), or write one page per command into DIR.
    Man {
        /// Write toolchainkit.1 and toolchainkit-COMMAND.1 into this directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum ToolAction {
    /// Download a tool's official PyPI wheel, verify its SHA-256, install the binary.
    Install {
        tool: ToolArg,
        /// Version to install (default: the version toolchainkit pins).
        #[arg(long)]
        version: Option<String>,
        /// Install into DIR/bin instead of the managed tools directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Expected SHA-256 of the wheel (for versions toolchainkit has no pin for).
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
        /// Install a version without a pinned or given hash, unchecked.
        #[arg(long)]
        allow_unverified: bool,
    },
    /// Show the managed tools and what PATH provides.
    List,
}

/// A cache tool named on the command line (`--tool`, `tool install`).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ToolArg {
    Sccache,
    Ccache,
}

impl From<ToolArg> for crate::config::Tool {
    fn from(t: ToolArg) -> Self {
        match t {
            ToolArg::Sccache => crate::config::Tool::Sccache,
            ToolArg::Ccache => crate::config::Tool::Ccache,
        }
    }
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Validate the configuration and list every problem (exit 0 when valid).
    Check {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ShimsAction {
    /// Create symlinks named like compilers in DIR, pointing at this binary.
    Install {
        dir: PathBuf,
        /// Extra names, comma-separated (e.g. --names gcc-12,x86_64-linux-gnu-gcc).
        #[arg(long, value_delimiter = ',')]
        names: Vec<String>,
        /// Replace existing files of the same names.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
enum DistAction {
    /// The engine, every host or scheduler and whether it answers, slots, remote share.
    Status {
        /// One JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum CacheAction {
    /// The tool's statistics for this cache (ccache -s, sccache --show-stats).
    Show,
    /// Empty the cache (ccache -C; for sccache only a configured cache.dir).
    Clean,
    /// Zero the tool's counters (ccache -z, sccache --zero-stats).
    Zero,
    /// Show the maximum size and the disk usage, or set it (ccache -M SIZE).
    Size {
        /// The new maximum, in ccache's syntax (20G, 500M).
        size: Option<String>,
    },
    /// Before CI saves the cache: remove what the build since `stats --mark` did not use
    /// (ccache's eviction by age; sccache's disk cache with its server stopped), and/or
    /// the oldest entries down to a size; bytes and files before and after.
    Trim {
        /// Remove the entries no compile used since the mark.
        #[arg(long)]
        unused_since_mark: bool,
        /// Then remove the oldest entries until the cache fits SIZE (500M, 2G, 1.5Gi).
        #[arg(long, value_name = "SIZE")]
        max_size: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum CiAction {
    /// Print a cache key that changes exactly when cached results could no longer be
    /// reused (OS, architecture, compilers, tool and their versions, settings).
    Key {
        /// Print the prefixes to fall back to instead: this branch's, the default
        /// branch's, any.
        #[arg(long)]
        restore_keys: bool,
        /// Also print every input of the key to stderr.
        #[arg(long)]
        explain: bool,
        /// Another compiler to include (cc, c++, gcc, g++, clang, clang++, CC and CXX
        /// always are).
        #[arg(long, value_name = "NAME")]
        compiler: Vec<OsString>,
    },
    /// Before the build: set the job's variables (cache dir, stats and trace in it, path
    /// rewriting to the checkout) in $GITHUB_ENV or as `export` lines, zero the tool's
    /// counters, mark the stats.
    Start {
        /// The directory CI saves and restores (default: cache.dir).
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// After the build: a Markdown summary of it, appended to $GITHUB_STEP_SUMMARY when
    /// set, else printed.
    Summary {
        /// Also write the build's timeline (SVG and HTML) into DIR.
        #[arg(long, value_name = "DIR")]
        timeline: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum ServerAction {
    /// Is the server for this project's settings running?
    Status,
    /// Stop the server for this project's settings.
    Stop,
}

/// Run the management CLI; returns the exit code.
pub fn run(args: Vec<OsString>) -> i32 {
    // A closed pipe (`toolchainkit stats | head`) ends us quietly instead of panicking.
    // SAFETY: restoring the default SIGPIPE action is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    crate::logging::init();
    if let Some(code) = habit(&args) {
        return code;
    }
    if let Some(code) = unknown_subcommand(&args) {
        return code;
    }
    let cli = match Cli::try_parse_from(std::iter::once(OsString::from("toolchainkit")).chain(args))
    {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    let result = match cli.command {
        None => help(&[]),
        Some(Cmd::Help { command }) => help(&command),
        Some(Cmd::Config { action: None }) => config::show(),
        Some(Cmd::Config {
            action: Some(ConfigAction::Check { json }),
        }) => config::check(json),
        Some(Cmd::Trust { path, revoke, list }) => trust::run(path.as_deref(), revoke, list),
        Some(Cmd::Which { name }) => which::run(&name),
        Some(Cmd::Shims {
            action: ShimsAction::Install { dir, names, force },
        }) => shims::install(&dir, &names, force),
        Some(Cmd::Stats {
            json,
            zero,
            mark,
            since_mark,
            all,
            require_hit_rate,
            fail_on_miss,
        }) => {
            use stats::Action;
            let action = match (zero, mark, since_mark, all) {
                (true, ..) => Action::Zero,
                (_, true, ..) => Action::Mark,
                (_, _, true, _) => Action::SinceMark,
                (.., true) => Action::All,
                _ => Action::Show,
            };
            stats::run(
                action,
                json,
                &gate::Gates {
                    require_hit_rate,
                    fail_on_miss,
                },
            )
        }
        Some(Cmd::Explain {
            outputs,
            last_build,
            since_mark,
            json,
        }) => explain::run(outputs, last_build, since_mark, json),
        Some(Cmd::Trace {
            chrome,
            svg,
            html,
            markdown,
            last_build,
            since,
            since_mark,
            gap,
            input,
        }) => stats::trace(stats::TraceArgs {
            chrome,
            svg,
            html,
            markdown,
            input,
            since_mark,
            pick: crate::stats::trace::timeline::Pick {
                since_us: since,
                last_build,
                gap_us: gap,
            },
        }),
        Some(Cmd::Cache { action, tool }) => cache::run(
            match action {
                CacheAction::Show => cache::Action::Show,
                CacheAction::Clean => cache::Action::Clean,
                CacheAction::Zero => cache::Action::Zero,
                CacheAction::Size { size } => cache::Action::Size(size),
                CacheAction::Trim {
                    unused_since_mark,
                    max_size,
                } => cache::Action::Trim {
                    unused_since_mark,
                    max_size,
                },
            },
            tool.map(Into::into),
        ),
        Some(Cmd::Ci { action }) => match action {
            CiAction::Key {
                restore_keys,
                explain,
                compiler,
            } => ci_key::run(restore_keys, explain, &compiler),
            CiAction::Start { cache_dir } => ci::start(cache_dir.as_deref()),
            CiAction::Summary { timeline } => ci::summary(timeline.as_deref()),
        },
        Some(Cmd::Server { action }) => match action {
            ServerAction::Status => server::status(),
            ServerAction::Stop => server::stop(),
        },
        Some(Cmd::Env { format, tool }) => env::run(format, tool.map(Into::into)),
        Some(Cmd::Cmake { write, cuda, objc }) => cmake::run(write, cuda, objc),
        Some(Cmd::ContainerArgs {
            engine,
            target_home,
            tool,
        }) => container_args::run(engine, &target_home, tool.map(Into::into)),
        Some(Cmd::Doctor { json }) => doctor::run(json),
        Some(Cmd::Dist {
            action: DistAction::Status { json },
        }) => dist::status(json),
        Some(Cmd::Tool { action }) => match action {
            ToolAction::Install {
                tool,
                version,
                dir,
                sha256,
                allow_unverified,
            } => tool::install(
                tool.into(),
                version.as_deref(),
                dir.as_deref(),
                sha256.as_deref(),
                allow_unverified,
            ),
            ToolAction::List => tool::list(),
        },
        Some(Cmd::Completions { shell }) => {
            use clap::CommandFactory;
            manual::completions(Cli::command(), shell)
        }
        Some(Cmd::Run { verify, command }) => run::run(&command, verify.as_deref()),
        Some(Cmd::Man { dir }) => {
            use clap::CommandFactory;
            manual::man(Cli::command(), dir.as_deref())
        }
    };
    result.unwrap_or_else(|e| report(&e))
}

/// `toolchainkit help [COMMAND...]`: the long help of the tool or of one subcommand
/// (`help cache size`), as `toolchainkit COMMAND --help` prints it.
fn help(words: &[String]) -> anyhow::Result<i32> {
    use clap::CommandFactory;
    let mut at = Cli::command();
    at.build();
    for (i, w) in words.iter().enumerate() {
        let Some(next) = at.find_subcommand(w).cloned() else {
            let place = match i {
                0 => "toolchainkit".to_string(),
                _ => format!("toolchainkit {}", words[..i].join(" ")),
            };
            let names: Vec<&str> = at
                .get_subcommands()
                .map(clap::Command::get_name)
                .filter(|n| *n != "help")
                .collect();
            let hint = crate::config::suggest(w, &names, "");
            eprintln!(
                "toolchainkit: error: `{place}` has no subcommand `{w}`{}{hint}\n\
                 hint: `toolchainkit help` lists the subcommands",
                if hint.is_empty() { "" } else { "; " },
            );
            return Ok(2);
        };
        at = next;
    }
    if words.is_empty() {
        at.print_long_help()?;
        return Ok(0);
    }
    // Exactly what `toolchainkit WORDS... --help` prints.
    let argv = std::iter::once("toolchainkit")
        .chain(words.iter().map(String::as_str))
        .chain(std::iter::once("--help"));
    match Cli::try_parse_from(argv) {
        Err(e) => {
            e.print()?;
            Ok(0)
        }
        Ok(_) => Ok(0),
    }
}

/// ccache's and sccache's own management flags (`toolchainkit -s`, `-z`, `-C`, `-M 2G`,
/// `--show-stats`, ...): what a daily user of those tools types first. Each names the
/// toolchainkit command that does it, and exits 2 (a usage error) without doing
/// anything. Not aliases on purpose: `-s` has two answers here (this project's
/// per-invocation counts, or the tool's own counters), `-C` empties a cache, and a flag
/// that quietly did something other than the tool it comes from would mislead.
fn habit(args: &[OsString]) -> Option<i32> {
    let first = args.first()?.to_str()?;
    let (flag, value) = match first.split_once('=') {
        Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
        _ => (first, None),
    };
    let value = value.or_else(|| args.get(1).and_then(|v| v.to_str()).map(str::to_string));
    let size = value.as_deref().unwrap_or("SIZE");
    let (tool, instead) = match flag {
        "-s" | "--show-stats" => (
            "a ccache and sccache",
            "`toolchainkit stats` (this project's invocations, hit by hit) or \
             `toolchainkit cache show` (the tool's own counters for this project's cache)"
                .to_string(),
        ),
        "--print-stats" => ("a ccache", "`toolchainkit stats --json`".into()),
        "-z" | "--zero-stats" => (
            "a ccache and sccache",
            "`toolchainkit stats --zero` (ours and the tool's counters)".into(),
        ),
        "-C" | "--clear" => ("a ccache", "`toolchainkit cache clean`".into()),
        "-M" | "--max-size" => ("a ccache", format!("`toolchainkit cache size {size}`")),
        "-p" | "--show-config" => ("a ccache", "`toolchainkit config`".into()),
        "--stop-server" => ("an sccache", "`toolchainkit server stop`".into()),
        "--start-server" => (
            "an sccache",
            "none needed: the first compile through toolchainkit starts this project's server \
             (`toolchainkit server status` shows it)"
                .into(),
        ),
        "--dist-status" => ("an sccache", "`toolchainkit dist status`".into()),
        _ => return None,
    };
    eprintln!(
        "toolchainkit: error: `{flag}` is {tool} option; in toolchainkit: {instead}\n\
         hint: `toolchainkit help` lists the subcommands"
    );
    Some(2)
}

/// A first word that is neither a subcommand nor a flag (`mode::classify` hands words
/// that do not name a compiler to the CLI): say so, suggest the nearest subcommand and
/// how to run a compiler of that name, and exit 2 (a usage error) without running it.
fn unknown_subcommand(args: &[OsString]) -> Option<i32> {
    let first = args.first()?;
    let word = first.to_string_lossy();
    if word.starts_with('-') || crate::mode::SUBCOMMANDS.contains(&word.as_ref()) {
        return None;
    }
    let hint = crate::config::suggest(&word, crate::mode::SUBCOMMANDS, "");
    eprintln!(
        "toolchainkit: error: unknown subcommand `{word}`{}{hint}\n\
         hint: `toolchainkit help` lists the subcommands; to run a compiler named `{word}` \
         through the cache, give its path or use `toolchainkit -- {word} ARGS...`",
        if hint.is_empty() { "" } else { "; " },
    );
    Some(2)
}

/// `--since`: Unix seconds or a UTC time, to microseconds.
fn parse_since(s: &str) -> Result<u64, String> {
    crate::stats::trace::timeline::parse_time(s)
}

/// `--require-hit-rate`: a percentage from 0 to 100.
fn parse_pct(s: &str) -> Result<f64, String> {
    s.trim_end_matches('%')
        .parse::<f64>()
        .ok()
        .filter(|p| (0.0..=100.0).contains(p))
        .ok_or_else(|| format!("`{s}` is not a percentage from 0 to 100"))
}

/// `--gap`: non-negative seconds (fractions allowed), to microseconds.
fn parse_gap(s: &str) -> Result<u64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|g| g.is_finite() && *g >= 0.0)
        .map(|g| (g * 1e6) as u64)
        .ok_or_else(|| format!("`{s}` is not a number of seconds"))
}

/// The working directory and its effective configuration, or the configuration's
/// problems (`run` turns them into exit 78).
fn load_config() -> anyhow::Result<(PathBuf, crate::config::Config)> {
    let cwd = std::env::current_dir()?;
    let cfg = crate::config::load(crate::config::Place::cwd(&cwd))?;
    Ok((cwd, cfg))
}

/// The one place a management command's error becomes output and an exit code: an
/// invalid configuration prints every problem and exits 78 (`EXIT_CONFIG`), as a compile
/// does; anything else prints its cause chain and exits 1.
fn report(e: &anyhow::Error) -> i32 {
    match e.downcast_ref::<crate::config::ConfigErrors>() {
        Some(problems) => {
            eprint!("{}", crate::escape::lines(&problems.render()));
            crate::EXIT_CONFIG
        }
        None => {
            eprintln!(
                "{}",
                crate::escape::lines(&format!("toolchainkit: error: {e:#}"))
            );
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// `mode::SUBCOMMANDS` decides management vs launcher mode before clap runs; it must
    /// name exactly the subcommands clap knows, or a new subcommand would run as a compiler.
    #[test]
    fn subcommand_list_mirrors_the_clap_definition() {
        let cmd = Cli::command();
        let mut clap_names: Vec<String> = cmd
            .get_subcommands()
            .flat_map(|s| std::iter::once(s.get_name()).chain(s.get_all_aliases()))
            .map(str::to_string)
            .collect();
        clap_names.sort();
        let mut ours: Vec<String> = crate::mode::SUBCOMMANDS
            .iter()
            .map(|s| s.to_string())
            .collect();
        ours.sort();
        assert_eq!(ours, clap_names, "src/mode.rs SUBCOMMANDS vs the clap enum");
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// clap_complete (4.6) puts a possible value's help inside double quotes in the fish
    /// script without escaping `"`, `$` or backticks: such help would run as code when
    /// the completions are sourced. Keep those characters out of it.
    #[test]
    fn possible_value_help_is_safe_in_completion_scripts() {
        fn walk(cmd: &clap::Command, bad: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                for v in arg.get_possible_values() {
                    let help = v.get_help().map(ToString::to_string).unwrap_or_default();
                    if help.contains(['"', '$', '`', '\'', '\\']) {
                        bad.push(format!("{} {}: {help}", cmd.get_name(), v.get_name()));
                    }
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, bad);
            }
        }
        let mut bad = Vec::new();
        walk(&Cli::command(), &mut bad);
        assert!(bad.is_empty(), "{bad:#?}");
    }
}
