//! The hot path: one compile, start to exit status.
//!
//! Find the config, resolve the real compiler, parse the arguments once (`Job::parsed`),
//! take the route `backend::route` decides, run exactly one child (the tool or the
//! compiler), record what it returned (`Ran`: the outcome, the tool, what distribution
//! noted), exit as the compiler did. Nothing is printed on success; the only hard errors
//! are invalid configuration (exit 78) and no real compiler / a wrapper loop (exit 127).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::backend::route::Route;
use crate::backend::{self, Job, Ran};
use crate::config::{self, Config, Tool};
use crate::mode::{self, Call};
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
    // The arguments, parsed once for everything the compile path asks of them.
    let parsed = crate::args::parse(&call.args);
    let cfg_result = (depth == 0).then(|| {
        config::load(config::Place {
            cwd: &cwd,
            output_dir: parsed.output_dir(),
            source_dir: parsed.source_dir(),
        })
    });
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
        compiler: &call.compiler,
        arg0: &arg0,
        args: &call.args,
        parsed: &parsed,
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
    let ran = match dispatch(&job, path_var.as_deref()) {
        Ok(r) => r,
        Err(e) => fail(
            EXIT_NOT_FOUND,
            format_args!("cannot run the compiler {}: {e}", res.real.display()),
        ),
    };
    let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
    // A miss or an uncacheable compile gets its record (never a hit: one `match`).
    let cause = match &ran.tool {
        Some((tool, exe)) if crate::explain::wanted(&ran.outcome) => {
            crate::explain::after_compile(&crate::explain::Finished {
                cfg: &cfg,
                tool: *tool,
                exe,
                real: &res.real,
                args: &call.args,
                parsed: &parsed,
                cwd: &cwd,
                outcome: &ran.outcome,
                status: ran.status,
                nanos,
            })
        }
        _ => None,
    };
    // `[cache] verify`: a sampled hit is checked against a fresh compile (after `nanos`,
    // so the hit's own time stays the hit's).
    let checked = crate::verify::after(&job, &ran);
    let verdict = checked.as_ref().map(|c| c.verdict.key());
    record(
        &cfg,
        &ran,
        (cause, verdict.as_deref()),
        nanos,
        &parsed,
        &res.real,
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

/// Run this job the way `backend::route` decides.
fn dispatch(job: &Job<'_>, path_var: Option<&std::ffi::OsStr>) -> std::io::Result<Ran> {
    let (route, noted) = backend::route::decide(job, path_var);
    let ran = match route {
        Route::Direct { outcome, chosen } => Ran {
            tool: chosen,
            ..Ran::new(backend::run_direct(job)?, outcome)
        },
        Route::DistOnly { served, otherwise } => {
            match backend::dist::run_without_cache(job, path_var, served) {
                Some(ran) => ran?,
                None => Ran::new(backend::run_direct(job)?, otherwise),
            }
        }
        Route::Tool(tool, exe) => {
            let ran = match tool {
                Tool::Ccache => backend::ccache::run(&exe, job),
                Tool::Sccache => backend::sccache::run(&exe, job),
            }?;
            Ran {
                tool: Some((tool, exe)),
                ..ran
            }
        }
    };
    // What the tool's run noted wins over what was noted before it ran.
    Ok(match ran.dist {
        Some(_) => ran,
        None => ran.noted(noted),
    })
}

/// Add this invocation to the project's stats (and trace): its outcome with a miss's cause
/// and a checked hit's verdict; then, with `[dist]`, where the compile ran to the dist
/// stats file. Never fails the compile.
fn record(
    cfg: &Config,
    ran: &Ran,
    (cause, verify): (Option<&str>, Option<&str>),
    nanos: u64,
    parsed: &crate::args::Args<'_>,
    real: &Path,
) {
    let path = stats::stats_path(cfg);
    let key = ran.outcome.key();
    let status = ran.status;
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
                    parsed,
                    real,
                    status,
                );
            }
            if outside && let Ok(cwd) = std::env::current_dir() {
                let source = parsed.sources.first().copied();
                let origin = crate::stats::outside::Origin::of(&cwd, source);
                let _ = crate::stats::outside::note(p, &cwd, origin);
            }
        },
    );
    if let Err(e) = result {
        log::warn!("cannot record stats in {}: {e}", path.display());
    }
    crate::backend::dist::record(cfg, ran.dist.as_ref(), nanos);
}
