//! Sampled verification of cache hits (`[cache] verify`, `TOOLCHAINKIT_VERIFY`,
//! `toolchainkit run --verify`): was this hit right?
//!
//! ccache and sccache trust every hit. For a sampled hit, after the tool has delivered it,
//! the real compiler runs the same command once more with its outputs redirected into a
//! private temporary directory, and the delivered outputs are compared byte for byte
//! with the fresh ones:
//!
//! - equal: `verify.ok`;
//! - different: the compiler runs a second time; if the two fresh compiles differ from
//!   each other the compile is not reproducible (`__DATE__`, `__TIME__`, random seeds):
//!   `verify.nondeterministic`, no alarm; if they agree the hit was wrong:
//!   `verify.mismatch`, the fresh outputs replace the delivered ones (or, with
//!   `verify = "strict"`, the delivered ones are removed and the compile fails);
//! - a command whose outputs cannot be redirected exactly (a `.dwo` or `.gcno` whose name
//!   the object records, a response file, extra dump files) is not sampled:
//!   `verify.skipped.<why>`.
//!
//! The exit code, stdout and stderr of a verified compile stay those of the hit (the fresh
//! compiles' output is discarded). An unsampled hit costs one comparison of a number:
//! the sampling draws on the clock and the pid, no system call, no file.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::backend::{Job, Ran};
use crate::config::{Config, Verify};
use crate::outcome::{Outcome, Storage};
use crate::private::{self, Access};

/// What the check of one hit found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Mismatch,
    Nondeterministic,
    /// Not checked: the command's outputs cannot be redirected exactly (why).
    Skipped(&'static str),
}

impl Verdict {
    /// The stats key (`verify.ok`, `verify.skipped.response_file`, ...).
    pub fn key(&self) -> String {
        match self {
            Verdict::Ok => "verify.ok".into(),
            Verdict::Mismatch => "verify.mismatch".into(),
            Verdict::Nondeterministic => "verify.nondeterministic".into(),
            Verdict::Skipped(why) => format!("verify.skipped.{why}"),
        }
    }
}

/// The check of one hit: its verdict, what it cost, and the message that fails the
/// compile (`verify = "strict"` and a mismatch).
#[derive(Debug)]
pub struct Checked {
    pub verdict: Verdict,
    pub nanos: u64,
    pub fail: Option<String>,
    /// A mismatch, for the events file next to the stats file.
    pub event: Option<Event>,
}

/// One mismatch, as `stats` and `doctor` show it (one JSON line in `STATS.verify`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    /// Unix seconds.
    pub at: u64,
    pub object: String,
    pub tool: String,
    /// `local`, `remote`, or `unknown` (sccache does not say where a hit came from).
    pub storage: String,
    pub compiler: String,
    /// What differed (`a.o`, `a.d`, or the compiler failing where the hit succeeded).
    pub differs: String,
    /// What was done: the fresh outputs put in place, or the compile failed.
    pub action: String,
}

/// Is this hit to be checked? The one question an unsampled hit pays for.
fn sampled(v: Verify) -> bool {
    match v {
        Verify::Strict => true,
        Verify::Fraction(f) if f <= 0.0 => false,
        Verify::Fraction(f) if f >= 1.0 => true,
        Verify::Fraction(f) => draw() < f,
    }
}

/// A number in `[0, 1)` from the clock's nanoseconds and the pid (a vDSO clock read, no
/// system call), mixed by splitmix64: independent enough across the compiles of a build.
fn draw() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut z = nanos ^ (u64::from(std::process::id()) << 32);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// After the tool delivered `ran`: check it if it is a successful hit and sampled.
pub fn after(job: &Job<'_>, ran: &Ran) -> Option<Checked> {
    if !sampled(job.cfg.verify.value) || !ran.status.success() {
        return None;
    }
    let (tool, storage) = match &ran.outcome {
        Outcome::Hit(_, Storage::Local) => ("ccache", "local"),
        Outcome::Hit(_, Storage::Remote) => ("ccache", "remote"),
        Outcome::ToolHit(t) => (*t, "unknown"),
        _ => return None,
    };
    let start = Instant::now();
    let (verdict, fail, event) = match check(job, tool, storage) {
        Ok(found) => found,
        Err(e) => {
            log::warn!("cannot verify the hit: {e}");
            (Verdict::Skipped("io_error"), None, None)
        }
    };
    let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
    log::info!("verified hit: {}", verdict.key());
    Some(Checked {
        verdict,
        nanos,
        fail,
        event,
    })
}

/// How one command is re-run with its outputs in a private directory.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    /// The arguments with every output redirected.
    args: Vec<OsString>,
    /// Each delivered output and its name below the private directory.
    outputs: Vec<(PathBuf, PathBuf)>,
}

/// Flags whose outputs cannot be redirected exactly, and the reason counted for them.
fn unredirectable(arg: &[u8]) -> Option<&'static str> {
    let starts = |p: &[u8]| arg.starts_with(p);
    Some(match arg {
        // The object records the name of its `.dwo` / `.gcda` beside it.
        _ if starts(b"-gsplit-dwarf") => "split_dwarf",
        b"--coverage" | b"-ftest-coverage" | b"-fprofile-arcs" => "coverage",
        _ if starts(b"-fprofile-generate") || starts(b"-fprofile-instr-generate") => "coverage",
        _ if starts(b"-save-temps") => "save_temps",
        _ if starts(b"-fdump-")
            || starts(b"-fstack-usage")
            || starts(b"-fcallgraph-info")
            || starts(b"-aux-info")
            || starts(b"-fopt-info")
            || starts(b"-ftime-trace")
            || starts(b"-MJ")
            || starts(b"-Wa,")
            || starts(b"--serialize-diagnostics")
            || starts(b"-fdiagnostics-format=sarif-file")
            || starts(b"-fdiagnostics-add-output")
            || starts(b"-dumpdir")
            || starts(b"-dumpbase") =>
        {
            "extra_output"
        }
        // clang's spellings: the object records the command line, `-o` included (gcc's
        // `-frecord-gcc-switches` leaves `-o` out).
        _ if starts(b"-frecord-command-line") || starts(b"-grecord-command-line") => {
            "records_arguments"
        }
        // A depfile named to the preprocessor directly (`-Wp,-MD,FILE`, the Linux kernel's
        // way): it would name the redirected object, in the build's own file.
        _ if (starts(b"-Wp,") && arg.windows(2).any(|w| w == b"-M"))
            || arg == b"-Xpreprocessor" =>
        {
            "extra_output"
        }
        b"-" => "stdin",
        _ => return None,
    })
}

/// The redirected command for `args` (`parsed` is what they say), every output at
/// `dir/N/NAME`, or why there is none.
fn plan(
    args: &[OsString],
    parsed: &crate::args::Args<'_>,
    dir: &Path,
) -> Result<Plan, &'static str> {
    if parsed.response_file {
        return Err("response_file");
    }
    if !parsed.compile_only || parsed.preprocess_only {
        return Err("not_a_compile");
    }
    if parsed.sources.len() != 1 {
        return Err("not_one_source");
    }
    if parsed.output.is_some_and(|o| o.as_bytes() == b"-") {
        return Err("output_to_stdout");
    }
    if let Some(why) = args.iter().find_map(|a| unredirectable(a.as_bytes())) {
        return Err(why);
    }
    let has = |p: &[u8]| args.iter().any(|a| a.as_bytes().starts_with(p));
    if has(b"-flto") && !has(b"-fno-lto") && !has(b"-frandom-seed") {
        // gcc draws a random seed for every LTO object: no two compiles agree.
        return Err("lto_random_seed");
    }
    let object = parsed.object().ok_or("no_object")?;
    // `-MF` without `-MD`/`-MMD` writes nothing on a compile: it is left as it is.
    let depfile = parsed.dep_md.then(|| {
        parsed
            .depfile
            .map_or_else(|| object.with_extension("d"), PathBuf::from)
    });
    let private_name = |n: usize, p: &Path| {
        dir.join(n.to_string())
            .join(p.file_name().unwrap_or(OsStr::new("out")))
    };
    let fresh_object = private_name(0, &object);
    let fresh_dep = depfile.as_ref().map(|d| private_name(1, d));
    let mut out: Vec<OsString> = Vec::with_capacity(args.len() + 4);
    let mut has_target = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let b = a.as_bytes();
        match b {
            b"-o" => {
                it.next();
                out.push("-o".into());
                out.push(fresh_object.clone().into_os_string());
            }
            b"-MF" if fresh_dep.is_some() => {
                it.next();
                out.push("-MF".into());
                out.extend(fresh_dep.clone().map(PathBuf::into_os_string));
            }
            b"-MT" | b"-MQ" => {
                has_target = true;
                out.push(a.clone());
                out.extend(it.next().cloned());
            }
            _ if b.starts_with(b"-MT") || b.starts_with(b"-MQ") => {
                has_target = true;
                out.push(a.clone());
            }
            _ if b.starts_with(b"-o") => {
                let mut o = OsString::from("-o");
                o.push(&fresh_object);
                out.push(o);
            }
            _ if b.starts_with(b"-MF") && fresh_dep.is_some() => {
                let mut o = OsString::from("-MF");
                o.extend(fresh_dep.clone().map(PathBuf::into_os_string));
                out.push(o);
            }
            _ => out.push(a.clone()),
        }
    }
    if parsed.output.is_none() {
        out.push("-o".into());
        out.push(fresh_object.clone().into_os_string());
    }
    let mut outputs = vec![(object.clone(), fresh_object)];
    if let (Some(d), Some(fd)) = (depfile, fresh_dep) {
        if parsed.depfile.is_none() {
            // `-MD` names its file after the object: name the redirected one exactly.
            out.push("-MF".into());
            out.push(fd.clone().into_os_string());
        }
        if !has_target {
            // The driver names the object in the depfile (`-MQ OBJECT`, gcc's specs):
            // name the delivered one, not the redirected one.
            out.push("-MQ".into());
            out.push(object.into_os_string());
        }
        outputs.push((d, fd));
    }
    Ok(Plan { args: out, outputs })
}

/// A private directory for one fresh compile, removed with it.
struct Scratch(PathBuf);

impl Scratch {
    fn new(plan: &Plan, base: &Path, name: &Path) -> io::Result<Scratch> {
        let mut b = fs::DirBuilder::new();
        b.mode(0o700);
        b.create(base.join(name))?;
        let s = Scratch(base.join(name));
        for (_, fresh) in &plan.outputs {
            if let Some(d) = fresh.parent()
                && !d.exists()
            {
                b.create(d)?;
            }
        }
        Ok(s)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A fresh, unused name below `base` (`PID.NANOS.N`).
fn fresh_name(base: &Path) -> PathBuf {
    let pid = std::process::id();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (0..64u32)
        .map(|n| PathBuf::from(format!("{pid}.{nanos}.{n}")))
        .find(|n| !base.join(n).exists())
        .unwrap_or_else(|| PathBuf::from(format!("{pid}.{nanos}")))
}

/// Run the real compiler on the redirected command; its output is discarded. `clock`:
/// the `SOURCE_DATE_EPOCH` to compile at instead of the environment's.
fn compile(job: &Job<'_>, args: &[OsString], clock: Option<u64>) -> io::Result<bool> {
    let mut cmd = Command::new(job.real);
    cmd.arg0(job.arg0)
        .args(args)
        .envs(job.env.iter().map(|(k, v)| (k, v)));
    if let Some(t) = clock {
        cmd.env("SOURCE_DATE_EPOCH", t.to_string());
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SIGINT and the like reach it as they reach any child of the shim; a check ended by
    // one ends the shim the same way (the build is being stopped).
    let status = crate::process::run(&mut cmd)?;
    if let Some(sig) = status.signal()
        && [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT].contains(&sig)
    {
        crate::process::exit_like(status);
    }
    Ok(status.success())
}

/// A `SOURCE_DATE_EPOCH` whose date and time of day differ from now's: 1970-01-01, twelve
/// hours from the time of day now.
fn other_clock() -> u64 {
    (crate::stats::now_secs() % 86_400 + 43_200) % 86_400
}

/// The first of `a` that differs from its counterpart in `b` (or cannot be read).
fn first_difference(a: &[PathBuf], b: &[PathBuf]) -> Option<String> {
    a.iter().zip(b).find_map(|(x, y)| {
        let (x_bytes, y_bytes) = (fs::read(x).ok(), fs::read(y).ok());
        (x_bytes.is_none() || x_bytes != y_bytes).then(|| {
            x.file_name().map_or_else(
                || x.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
    })
}

/// The directory for scratch compiles: private to this user, in the state directory.
/// Scratch directories an hour old are left by a shim that was killed during its check:
/// they go (a directory listing per sampled hit, next to a whole compile).
fn scratch_base() -> io::Result<PathBuf> {
    let base = private::own_state_subdir("verify")?;
    if let Ok(rd) = fs::read_dir(&base) {
        for e in rd.flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600);
            if old {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
    Ok(base)
}

type Found = (Verdict, Option<String>, Option<Event>);

fn check(job: &Job<'_>, tool: &str, storage: &str) -> io::Result<Found> {
    let base = scratch_base()?;
    let name1 = fresh_name(&base);
    let p1 = match plan(job.args, job.parsed, &base.join(&name1)) {
        Ok(p) => p,
        Err(why) => return Ok((Verdict::Skipped(why), None, None)),
    };
    let s1 = Scratch::new(&p1, &base, &name1)?;
    let ok1 = compile(job, &p1.args, None)?;
    let delivered: Vec<PathBuf> = p1.outputs.iter().map(|(d, _)| job.cwd.join(d)).collect();
    let fresh1: Vec<PathBuf> = p1.outputs.iter().map(|(_, f)| f.clone()).collect();
    let first = if ok1 {
        first_difference(&delivered, &fresh1)
    } else {
        Some(String::new())
    };
    let Some(what) = first else {
        return Ok((Verdict::Ok, None, None));
    };
    // Once more, at another time: a compile that differs from itself is not reproducible
    // (`__DATE__`, `__TIME__`, random seeds), not poisoned. The clock moves to
    // 1970-01-01 at a time of day half a day from now (`SOURCE_DATE_EPOCH`, which gcc and
    // clang read for their time macros): a hit served from an entry compiled yesterday
    // with ccache's `time_macros` sloppiness differs from today's compiles, and a second
    // compile in the same second as the first would not show it.
    let name2 = fresh_name(&base);
    let p2 = match plan(job.args, job.parsed, &base.join(&name2)) {
        Ok(p) => p,
        Err(why) => return Ok((Verdict::Skipped(why), None, None)),
    };
    let _s2 = Scratch::new(&p2, &base, &name2)?;
    let ok2 = compile(job, &p2.args, Some(other_clock()))?;
    let fresh2: Vec<PathBuf> = p2.outputs.iter().map(|(_, f)| f.clone()).collect();
    if ok1 != ok2 || (ok1 && first_difference(&fresh1, &fresh2).is_some()) {
        return Ok((Verdict::Nondeterministic, None, None));
    }
    let object = p1.outputs[0].0.display().to_string();
    let strict = job.cfg.verify.value == Verify::Strict;
    let compiler = job.real.display().to_string();
    let differs = if ok1 {
        format!("{what} differs")
    } else {
        "the compiler fails on this command; the cache delivered a success".into()
    };
    let (action, fail) = if strict {
        for d in &delivered {
            let _ = fs::remove_file(d);
        }
        (
            "compile failed (verify = \"strict\"), the delivered outputs removed".to_string(),
            Some(format!(
                "the cache hit for {object} ({tool}, {storage} storage) differs from a fresh compile \
                 ({differs}); verify = \"strict\" fails this compile and removed what the cache delivered\n\
                 hint: {}",
                fix(tool)
            )),
        )
    } else if ok1 {
        for (d, f) in delivered.iter().zip(&fresh1) {
            replace(f, d)?;
        }
        (
            "the fresh outputs replaced the delivered ones".to_string(),
            None,
        )
    } else {
        (
            "the delivered outputs kept (no fresh outputs to put in place)".to_string(),
            None,
        )
    };
    drop(s1);
    log::warn!(
        "verify: the cache hit for {object} ({tool}, {storage} storage) differs from a fresh compile ({differs}): {action}"
    );
    let event = Event {
        at: crate::stats::now_secs(),
        object,
        tool: tool.into(),
        storage: storage.into(),
        compiler,
        differs,
        action,
    };
    Ok((Verdict::Mismatch, fail, Some(event)))
}

/// Put the fresh output `fresh` in place of `dest`: copied beside it, renamed over it.
fn replace(fresh: &Path, dest: &Path) -> io::Result<()> {
    let dir = dest
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = dest
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let (mut f, tmp) = private::create_unique(dir, &format!(".{name}.verify"))?;
    let result = fs::read(fresh)
        .and_then(|bytes| f.write_all(&bytes))
        .and_then(|()| {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(fresh)?.permissions().mode();
            fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))
        })
        .and_then(|()| fs::rename(&tmp, dest));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// What to do about a wrong hit, per tool.
pub fn fix(tool: &str) -> String {
    let clear = match tool {
        "ccache" => {
            "clear the entry (`ccache --recache` for that compile) or the cache (`toolchainkit cache clear`)"
        }
        _ => "clear the cache (`toolchainkit cache clear`; for a remote, its entries)",
    };
    format!(
        "{clear}; check `compiler_check` (a compiler update it cannot see serves old objects); \
         make the remote read-only (`read_only = true`) for jobs that are not trusted to write it"
    )
}

/// The file next to a stats file that holds the last mismatches.
pub fn events_path(stats_path: &Path) -> PathBuf {
    let mut s = stats_path.as_os_str().to_os_string();
    s.push(".verify");
    PathBuf::from(s)
}

/// The events file is kept below this size: the oldest half goes when it is reached.
const EVENTS_MAX: u64 = 64 * 1024;

/// Append a mismatch to the events file (a private file of this user's).
pub fn note_event(stats_path: &Path, ev: &Event) {
    let path = events_path(stats_path);
    let Ok(mut line) = serde_json::to_vec(ev) else {
        return;
    };
    line.push(b'\n');
    if fs::symlink_metadata(&path).is_ok_and(|m| m.len() >= EVENTS_MAX)
        && let Ok(old) = private::read_own(&path)
    {
        let keep = &old[old.len() / 2..];
        let keep = keep
            .iter()
            .position(|&b| b == b'\n')
            .map_or(&[][..], |i| &keep[i + 1..]);
        if let Ok(mut f) = private::open_own(&path, Access::ReadWrite) {
            let _ = f.set_len(0);
            let _ = f.write_all(keep);
        }
    }
    match private::open_or_create_own(&path, Access::Append) {
        Ok(mut f) => {
            let _ = f.write_all(&line);
        }
        Err(e) => log::warn!("cannot note the mismatch in {}: {e}", path.display()),
    }
}

/// The mismatches noted next to a stats file, oldest first.
pub fn events(stats_path: &Path) -> Vec<Event> {
    private::read_own(&events_path(stats_path))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Record the check with the invocation's stats, and note a mismatch.
pub fn record(cfg: &Config, c: &Checked) {
    let path = crate::stats::stats_path(cfg);
    if let Err(e) = crate::stats::note(&path, &c.verdict.key(), c.nanos, crate::stats::lock_wait())
    {
        log::warn!(
            "cannot record {} in {}: {e}",
            c.verdict.key(),
            path.display()
        );
    }
    if let Some(ev) = &c.event {
        note_event(&path, ev);
    }
}

/// The verification counters of `s`, for `stats --json`.
pub fn to_json(s: &crate::stats::Stats, stats_path: &Path) -> serde_json::Value {
    let count = |k: &str| s.outcomes.get(k).map_or(0, |b| b.count);
    let skipped: serde_json::Map<String, serde_json::Value> = s
        .outcomes
        .iter()
        .filter_map(|(k, b)| {
            k.strip_prefix("verify.skipped.")
                .map(|r| (r.to_string(), serde_json::json!(b.count)))
        })
        .collect();
    let checked = s.sum("verify.");
    serde_json::json!({
        "checked": checked.count,
        "ok": count("verify.ok"),
        "mismatch": count("verify.mismatch"),
        "nondeterministic": count("verify.nondeterministic"),
        "skipped": skipped,
        "avg_ms": (checked.count > 0).then(|| checked.nanos as f64 / checked.count as f64 / 1e6),
        "mismatches": if count("verify.mismatch") > 0 { events(stats_path) } else { Vec::new() },
    })
}

/// One line of the verification counters for `stats` (none when nothing was checked).
pub fn summary(s: &crate::stats::Stats) -> Option<String> {
    let count = |k: &str| s.outcomes.get(k).map_or(0, |b| b.count);
    let checked = s.sum("verify.");
    (checked.count > 0).then(|| {
        format!(
            "{} ok, {} mismatch, {} nondeterministic, {} skipped (of {} checked hits, {:.1} ms each)",
            count("verify.ok"),
            count("verify.mismatch"),
            count("verify.nondeterministic"),
            s.sum("verify.skipped.").count,
            checked.count,
            checked.nanos as f64 / checked.count as f64 / 1e6
        )
    })
}

/// The problem to show when a verified hit was wrong: how many, the last one, the fix.
pub fn problem(s: &crate::stats::Stats, stats_path: &Path) -> Option<(String, String)> {
    let n = s.outcomes.get("verify.mismatch").map_or(0, |b| b.count);
    if n == 0 {
        return None;
    }
    let last = events(stats_path).pop();
    let what = match &last {
        Some(e) => format!(
            "; the last: {} ({}, {} storage, {}): {}",
            e.object, e.tool, e.storage, e.differs, e.action
        ),
        None => String::new(),
    };
    let tool = last.as_ref().map_or("", |e| e.tool.as_str());
    Some((
        format!("{n} cache hit(s) differed from a fresh compile of the same command{what}"),
        fix(tool),
    ))
}

/// `doctor`'s check: the setting, and any wrong hit found since the counters started.
pub fn doctor_checks(cfg: &Config) -> Vec<crate::doctor::Check> {
    use crate::doctor::Check;
    let path = crate::stats::stats_path(cfg);
    let setting = format!(
        "verify = {} ({})",
        cfg.verify.value.describe(),
        cfg.verify.origin
    );
    let Ok(Some(s)) = crate::stats::load(&path) else {
        return vec![Check::ok("verify", setting)];
    };
    if let Some((msg, fix)) = problem(&s, &path) {
        return vec![Check::problem("verify", msg, fix)];
    }
    let nondet = s
        .outcomes
        .get("verify.nondeterministic")
        .map_or(0, |b| b.count);
    if nondet > 0 {
        return vec![Check::warn(
            "verify",
            format!(
                "{nondet} verified compile(s) are not reproducible: two fresh compiles of the same command differ (__DATE__, __TIME__, random seeds), so their hits cannot be checked"
            ),
            "set SOURCE_DATE_EPOCH for the build, or drop __DATE__/__TIME__ from the sources",
        )];
    }
    vec![Check::ok(
        "verify",
        match summary(&s) {
            Some(line) => format!("{setting}; {line}"),
            None => setting,
        },
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(args: &[OsString], dir: &Path) -> Result<Plan, &'static str> {
        plan(args, &crate::args::parse(args), dir)
    }

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn strs(v: &[OsString]) -> Vec<String> {
        v.iter().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn outputs_are_redirected_exactly() {
        let d = Path::new("/p");
        let p = plan_of(&os(&["-O2", "-c", "src/a.c", "-o", "obj/a.o"]), d).expect("plan");
        assert_eq!(strs(&p.args), ["-O2", "-c", "src/a.c", "-o", "/p/0/a.o"]);
        assert_eq!(
            p.outputs,
            [(PathBuf::from("obj/a.o"), PathBuf::from("/p/0/a.o"))]
        );

        let p = plan_of(&os(&["-c", "a.c", "-MD", "-oa.o"]), d).expect("plan");
        assert_eq!(
            strs(&p.args),
            [
                "-c",
                "a.c",
                "-MD",
                "-o/p/0/a.o",
                "-MF",
                "/p/1/a.d",
                "-MQ",
                "a.o"
            ]
        );
        let p =
            plan_of(&os(&["-c", "a.c", "-MMD", "-MF", "d/a.dep", "-MT", "x"]), d).expect("plan");
        assert_eq!(
            strs(&p.args),
            [
                "-c",
                "a.c",
                "-MMD",
                "-MF",
                "/p/1/a.dep",
                "-MT",
                "x",
                "-o",
                "/p/0/a.o"
            ]
        );
        assert_eq!(
            p.outputs[1],
            (PathBuf::from("d/a.dep"), PathBuf::from("/p/1/a.dep"))
        );
    }

    #[test]
    fn what_cannot_be_redirected_is_named() {
        let d = Path::new("/p");
        for (args, why) in [
            (&["-c", "a.c", "-gsplit-dwarf"][..], "split_dwarf"),
            (&["-c", "a.c", "--coverage"], "coverage"),
            (&["-c", "a.c", "-save-temps=obj"], "save_temps"),
            (&["-c", "a.c", "-fstack-usage"], "extra_output"),
            (&["-c", "a.c", "-flto"], "lto_random_seed"),
            (&["-c", "a.c", "-Wp,-MD,.a.o.d"], "extra_output"),
            (&["-c", "a.c", "-frecord-command-line"], "records_arguments"),
            (&["@args.rsp"], "response_file"),
            (&["-c", "a.c", "b.c"], "not_one_source"),
            (&["-c", "a.c", "-o", "-"], "output_to_stdout"),
            (&["a.c", "-o", "prog"], "not_a_compile"),
        ] {
            assert_eq!(plan_of(&os(args), d), Err(why), "{args:?}");
        }
    }

    #[test]
    fn sampling() {
        assert!(!sampled(Verify::Fraction(0.0)));
        assert!(sampled(Verify::Fraction(1.0)));
        assert!(sampled(Verify::Strict));
        let n = (0..20_000)
            .filter(|_| sampled(Verify::Fraction(0.1)))
            .count();
        assert!((1_000..3_000).contains(&n), "{n} of 20000 at 0.1");
    }
}
