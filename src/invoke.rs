//! The hot path: one compile, start to exit status.
//!
//! Find the config, resolve the real compiler, pick the tool, run exactly one child (the
//! tool or the compiler), record the outcome, exit as the compiler did. Nothing is printed
//! on success; the only hard errors are invalid configuration (exit 78) and no real
//! compiler / a wrapper loop (exit 127).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::backend::{self, Job, Ran};
use crate::config::{self, Config, Tool};
use crate::mode::{self, Call};
use crate::outcome::Outcome;
use crate::resolve::{self, SelfId};
use crate::{EXIT_CONFIG, EXIT_NOT_FOUND, logging, names, process, stats};

/// The re-entry guard: set in every child's environment to the nesting depth.
pub const GUARD: &str = "TOOLCHAINKIT_GUARD";
/// Nesting beyond this is a wrapper loop.
const MAX_DEPTH: u32 = 2;

fn fail(code: i32, msg: impl std::fmt::Display) -> ! {
    // Failure only (never on success): names in it are shown escaped, its lines kept.
    eprintln!(
        "{}",
        crate::escape::lines(&format!("toolchainkit: error: {msg}"))
    );
    std::process::exit(code)
}

/// Run one compile and exit the way the compiler did.
pub fn run(call: Call) -> ! {
    logging::init();
    let start = Instant::now();
    process::install_forwarding();
    let depth: u32 = std::env::var(GUARD)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if depth > MAX_DEPTH {
        fail(
            EXIT_NOT_FOUND,
            format_args!(
                "recursion detected: toolchainkit was re-entered {depth} times for `{}`; a wrapper in PATH \
                 leads back to toolchainkit\nhint: run `toolchainkit which {}` to see the resolution chain",
                call.compiler.to_string_lossy(),
                names::basename(&call.compiler).to_string_lossy()
            ),
        );
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let path_var = std::env::var_os("PATH");
    let me = SelfId::current();
    let res = match resolve::resolve(&call.compiler, path_var.as_deref(), &cwd, me) {
        Ok(r) => r,
        Err(nf) => fail(EXIT_NOT_FOUND, nf),
    };
    let mut env: Vec<(OsString, OsString)> = vec![(GUARD.into(), (depth + 1).to_string().into())];
    let shim_dirs = child_path_removals(&call.compiler, &res, path_var.as_deref(), &cwd, me);
    if let Some(pv) = &path_var
        && !shim_dirs.is_empty()
    {
        env.push(("PATH".into(), resolve::path_without(pv, &shim_dirs, &cwd)));
    }
    // argv[0] for a direct run: the name as typed (so `gcc -v` prints what bare gcc
    // prints), or the real path when the word was a path to a wrapper.
    let arg0: OsString = if mode::is_path(&call.compiler) {
        res.real.clone().into_os_string()
    } else {
        call.compiler.clone()
    };
    let cfg_result = if depth > 0 {
        None
    } else {
        let parsed = crate::args::parse(&call.args);
        Some(config::load(config::Place {
            cwd: &cwd,
            output_dir: parsed.output_dir(),
            source_dir: parsed.source_dir(),
        }))
    };
    let cfg = match cfg_result {
        None => Config::default(),
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            // Every problem of the file, as `config check` lists them: the one hard error.
            eprint!("{}", crate::escape::lines(&e.render()));
            std::process::exit(EXIT_CONFIG)
        }
    };
    let job = Job {
        real: &res.real,
        arg0: &arg0,
        args: &call.args,
        env,
        cfg: &cfg,
        cwd: &cwd,
    };
    if depth > 0 {
        // Called from inside a cache tool or compiler we started: never cache twice.
        log::info!(
            "nested invocation (depth {depth}): running {} directly",
            res.real.display()
        );
        exit_direct(&job);
    }
    let ran = match dispatch(&job, &call, path_var.as_deref(), &cwd) {
        Ok(r) => r,
        Err(e) => fail(
            EXIT_NOT_FOUND,
            format_args!("cannot run the compiler {}: {e}", res.real.display()),
        ),
    };
    let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
    // A miss or an uncacheable compile gets its record (never a hit: one `match`).
    let cause = if crate::explain::wanted(&ran.outcome) {
        backend::choose(&cfg, path_var.as_deref(), &cwd)
            .tool
            .and_then(|(tool, exe)| {
                crate::explain::after_compile(&crate::explain::Finished {
                    cfg: &cfg,
                    tool,
                    exe: &exe,
                    real: &res.real,
                    args: &call.args,
                    cwd: &cwd,
                    outcome: &ran.outcome,
                    status: ran.status,
                    nanos,
                })
            })
    } else {
        None
    };
    // `[cache] verify`: a sampled hit is checked against a fresh compile (after `nanos`,
    // so the hit's own time stays the hit's).
    let checked = crate::verify::after(&job, &ran);
    let verdict = checked.as_ref().map(|c| c.verdict.key());
    record(
        &cfg,
        (&ran.outcome, cause, verdict.as_deref()),
        nanos,
        &call,
        &res.real,
        ran.status,
    );
    if let Some(c) = checked {
        crate::verify::record(&cfg, &c);
        if let Some(msg) = c.fail {
            fail(1, msg);
        }
    }
    process::exit_like(ran.status)
}

/// The directories to take out of the children's `PATH`: those holding a shim of this
/// compiler's name, and for nvcc those holding a shim of any host compiler name, so that
/// nvcc's own `gcc`/`g++` calls run the real host compiler.
fn child_path_removals<'r>(
    compiler: &std::ffi::OsStr,
    res: &'r resolve::Resolution,
    path_var: Option<&std::ffi::OsStr>,
    cwd: &Path,
    me: Option<SelfId>,
) -> std::borrow::Cow<'r, [PathBuf]> {
    let Some(pv) = path_var else {
        return std::borrow::Cow::Borrowed(&res.shim_dirs);
    };
    if !(names::is_nvcc(compiler) || names::is_nvcc(res.real.as_os_str())) {
        return std::borrow::Cow::Borrowed(&res.shim_dirs);
    }
    let mut dirs = res.shim_dirs.clone();
    for d in resolve::shim_dirs_for(names::NVCC_HOST_NAMES, pv, cwd, me) {
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    std::borrow::Cow::Owned(dirs)
}

fn exit_direct(job: &Job<'_>) -> ! {
    match backend::run_direct(job) {
        Ok(status) => process::exit_like(status),
        Err(e) => fail(
            EXIT_NOT_FOUND,
            format_args!("cannot run the compiler {}: {e}", job.real.display()),
        ),
    }
}

/// Choose how this job runs and run it.
fn dispatch(
    job: &Job<'_>,
    call: &Call,
    path_var: Option<&std::ffi::OsStr>,
    cwd: &Path,
) -> std::io::Result<Ran> {
    let direct = |outcome: Outcome| -> std::io::Result<Ran> {
        Ok(Ran {
            status: backend::run_direct(job)?,
            outcome,
        })
    };
    let mut choice = backend::choose_for(job.cfg, &call.compiler, job.real, path_var, cwd);
    // `install = true`: only when no tool was found, and only for a real compile.
    let parsed = crate::args::parse(job.args);
    if choice.tool.is_none()
        && choice.uncacheable.is_none()
        && job.cfg.install.value
        && parsed.may_compile
        && let Some(t) = crate::managed::first_use::wanted(job.cfg)
        && let Some(p) = crate::managed::first_use::ensure(t)
    {
        choice.tool = Some((t, p));
    }
    let Some((tool, exe)) = choice.tool else {
        if let Some(reason) = choice.uncacheable {
            // A tool is there but cannot serve this compiler (nvcc without ccache).
            return direct(not_cached(&parsed).unwrap_or(Outcome::Uncacheable(reason.into())));
        }
        let reason = if !job.cfg.enabled.value {
            "disabled"
        } else if job.cfg.tool.value == config::ToolChoice::None {
            "tool_none"
        } else {
            "no_tool_found"
        };
        // [dist] distcc/icecc without a cache tool: the engine runs every compile.
        if job.cfg.enabled.value
            && parsed.may_compile
            && !parsed.introspection
            && !parsed.preprocess_only
            && (crate::names::is_known_compiler(&call.compiler)
                || crate::names::is_known_compiler(job.real.as_os_str()))
        {
            let served = if reason == "tool_none" {
                Outcome::Forwarded(match backend::dist::active(job.cfg).map(|d| d.engine) {
                    Some(config::dist::Engine::Icecc) => "icecc",
                    _ => "distcc",
                })
            } else {
                Outcome::Fallback(reason.into())
            };
            if let Some(ran) = backend::dist::run_without_cache(job, path_var, served) {
                return ran;
            }
        }
        return direct(Outcome::Fallback(reason.into()));
    };
    if let Some(outer) = crate::outer::parent_cache_tool() {
        // "sccache cc" (Meson's default when CC is unset): the outer tool caches this
        // compile already; caching it again here would store it twice.
        return direct(Outcome::Uncacheable(crate::outer::key_reason(outer)));
    }
    if let Some(outcome) = not_cached(&parsed) {
        return direct(outcome);
    }
    if !crate::names::is_known_compiler(&call.compiler)
        && !crate::names::is_known_compiler(job.real.as_os_str())
    {
        return direct(Outcome::Uncacheable("unsupported_compiler".into()));
    }
    if tool == Tool::Ccache && backend::ccache::disabled_by_env() {
        // ccache would run the compiler itself and record nothing (meson sets
        // CCACHE_DISABLE for its configure checks): run it here, once.
        return direct(Outcome::Uncacheable("disabled_by_env".into()));
    }
    if tool == Tool::Sccache && job.args.iter().any(|a| a.to_str().is_none()) {
        // sccache turns non-UTF-8 arguments into U+FFFD before compiling: the object
        // would differ from a direct build. Such compiles run directly.
        return direct(Outcome::Uncacheable("non_utf8_argument".into()));
    }
    if let Some(d) = backend::dist::active(job.cfg)
        && !backend::dist::fits(d.engine, Some(tool))
    {
        // The configured tool fell through `prefer` to one this engine cannot serve.
        backend::dist::note(backend::dist::Observed::Fallback(
            format!(
                "{}_unusable_with_{}",
                d.engine.name().replace('-', "_"),
                tool.name()
            ),
            None,
        ));
    }
    match tool {
        Tool::Ccache => backend::ccache::run(&exe, job),
        Tool::Sccache => backend::sccache::run(&exe, job),
    }
}

/// The invocations no tool caches, whatever the tool: run once, directly, counted so.
fn not_cached(parsed: &crate::args::Args<'_>) -> Option<Outcome> {
    if parsed.introspection {
        // `-v`, `-###`, `-print-*`, `-dump*`, nvcc's `--dryrun`: build systems parse exactly
        // what the bare compiler prints (CMake's ABI probe reads `-v`), and a cache tool
        // changes it.
        return Some(Outcome::Uncacheable("introspection".into()));
    }
    if !parsed.may_compile {
        return Some(Outcome::Uncacheable("not_a_compile".into()));
    }
    if parsed.preprocess_only {
        // Neither tool caches `-E`/`-M`/`-MM` (ccache: called_for_preprocessing, sccache:
        // an unhandled compile its client runs itself): run it once, here.
        return Some(Outcome::Uncacheable("called_for_preprocessing".into()));
    }
    None
}

/// Add this invocation to the project's stats (and trace): its outcome with a miss's cause
/// and a checked hit's verdict. Never fails the compile.
fn record(
    cfg: &Config,
    (outcome, cause, verify): (&Outcome, Option<&str>, Option<&str>),
    nanos: u64,
    call: &Call,
    real: &Path,
    status: std::process::ExitStatus,
) {
    let path = stats::stats_path(cfg);
    let key = outcome.key();
    let trace = cfg.trace.value;
    let project = cfg.project_dir();
    // A compile (not a probe such as `cc --version`) that found no project file.
    let outside = project.is_none()
        && cfg.stats_file.value.is_none()
        && !matches!(
            key.as_str(),
            "uncacheable.not_a_compile" | "uncacheable.introspection"
        );
    let noted = stats::causes::take();
    let result = stats::record_in(
        &path,
        project,
        &key,
        cause,
        nanos,
        stats::lock_wait(),
        |p| {
            if let Err(e) = stats::causes::record(p, &noted) {
                log::warn!("cannot record why the compile ran degraded: {e}");
            }
            if trace {
                crate::stats::trace::append(
                    p,
                    cfg,
                    (&key, cause, verify),
                    nanos,
                    call,
                    real,
                    status,
                );
            }
            if outside && let Ok(cwd) = std::env::current_dir() {
                let source = crate::args::parse(&call.args).sources.first().copied();
                let origin = crate::stats::outside::Origin::of(&cwd, source);
                let _ = crate::stats::outside::note(p, &cwd, origin);
            }
        },
    );
    if let Err(e) = result {
        log::warn!("cannot record stats in {}: {e}", path.display());
    }
    crate::backend::dist::record(cfg, nanos);
}
