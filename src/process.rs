//! Running the one child of an invocation: signal forwarding, waiting, and exiting exactly
//! as the child did (same code, or death by the same signal).

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};

static CHILD: AtomicI32 = AtomicI32::new(0);
/// The last forwarded signal that arrived while a child ran (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

const FORWARDED: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

extern "C" fn on_signal(sig: libc::c_int) {
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        RECEIVED.store(sig, Ordering::SeqCst);
        // SAFETY: kill is async-signal-safe.
        unsafe {
            libc::kill(pid, sig);
        }
        return;
    }
    // No child runs (waiting for a lock, starting a server, recording stats): end now, as
    // the signal would have ended us. The signal is blocked while this handler runs, so
    // the raised one is delivered, with the default action, as soon as it returns.
    // SAFETY: sigaction and raise are async-signal-safe; the struct is fully set.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
        libc::raise(sig);
    }
}

/// Make SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to the shim reach its child, and end the
/// shim promptly when one arrives while no child runs. A signal the build system set to
/// be ignored stays ignored (for the shim and, across exec, for the compiler).
pub(crate) fn install_forwarding() {
    for sig in FORWARDED {
        // SAFETY: querying and setting a disposition with fully initialised structs; the
        // handler only calls async-signal-safe functions.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
            {
                continue;
            }
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

fn forwarded_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise the set we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in FORWARDED {
            libc::sigaddset(&mut set, sig);
        }
        set
    }
}

/// Spawn `cmd`, register it for signal forwarding, and return the child. The forwarded
/// signals are held back from just before the spawn until the child is registered, so one
/// that arrives in between reaches the child instead of ending the shim without it (the
/// child itself starts with no signal blocked: std resets its mask).
pub(crate) fn spawn(cmd: &mut Command) -> io::Result<Child> {
    let set = forwarded_set();
    // SAFETY: blocking and restoring signals of this (single-threaded) process.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old);
    }
    let spawned = cmd.spawn();
    if let Ok(child) = &spawned {
        CHILD.store(i32::try_from(child.id()).unwrap_or(0), Ordering::SeqCst);
    }
    // SAFETY: as above.
    unsafe {
        libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
    spawned
}

/// Wait for a spawned child and unregister it.
pub(crate) fn wait(mut child: Child) -> io::Result<ExitStatus> {
    let status = child.wait();
    CHILD.store(0, Ordering::SeqCst);
    status
}

/// Spawn and wait.
pub(crate) fn run(cmd: &mut Command) -> io::Result<ExitStatus> {
    wait(spawn(cmd)?)
}

/// How long a child that was sent a forwarded signal may take to die of it before it is
/// killed (`run_watched`).
pub(crate) const SIGNAL_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// What `run_watched` saw.
#[derive(Debug)]
pub(crate) struct Watched {
    pub status: ExitStatus,
    /// The child's stderr, when it was captured.
    pub stderr: Option<Vec<u8>>,
    /// Why the child was killed by `check`, if it was.
    pub gave_up: Option<String>,
}

fn pidfd_open(pid: u32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags; it returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    let fd = libc::c_int::try_from(fd).ok().filter(|&fd| fd >= 0)?;
    // SAFETY: a descriptor just returned to us.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// Die of `sig` now (after a child was made to die of it too).
fn die_of(sig: libc::c_int) -> ! {
    exit_like(ExitStatus::from_raw(sig & 0x7f))
}

/// Spawn `cmd` (its stderr captured when `capture`) and wait for it, waking every `tick`
/// while it runs to call `check`: when `check` says why, the child is killed and its
/// status returned with the reason. A forwarded signal the child does not die of within
/// `SIGNAL_GRACE` gets it killed, and the shim dies of the signal. The wait itself is a
/// `poll` on a pidfd, so a child that exits is seen at once. Where pidfds are missing
/// (Linux before 5.3), a plain wait without `check`.
pub(crate) fn run_watched(
    cmd: &mut Command,
    capture: bool,
    tick: std::time::Duration,
    mut check: impl FnMut() -> Option<String>,
) -> io::Result<Watched> {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    if capture {
        cmd.stderr(std::process::Stdio::piped());
    }
    let mut child = spawn(cmd)?;
    let mut err = child.stderr.take();
    let mut buf = Vec::new();
    let Some(pidfd) = pidfd_open(child.id()) else {
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_end(&mut buf);
        }
        let status = wait(child)?;
        return Ok(Watched {
            status,
            stderr: capture.then_some(buf),
            gave_up: None,
        });
    };
    let mut signalled: Option<std::time::Instant> = None;
    let mut gave_up = None;
    let mut chunk = [0u8; 8192];
    loop {
        let mut fds = [
            libc::pollfd {
                fd: pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: err.as_ref().map_or(-1, |e| e.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: poll on two pollfds we own (a negative fd is ignored).
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, tick.as_millis() as libc::c_int) };
        if r > 0
            && fds[1].revents != 0
            && let Some(e) = err.as_mut()
        {
            match e.read(&mut chunk) {
                Ok(0) | Err(_) => err = None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        if r > 0 && fds[0].revents != 0 {
            break;
        }
        let sig = RECEIVED.load(Ordering::SeqCst);
        if sig != 0 {
            let since = *signalled.get_or_insert_with(std::time::Instant::now);
            if since.elapsed() >= SIGNAL_GRACE {
                let _ = child.kill();
                let _ = wait(child);
                die_of(sig);
            }
            continue;
        }
        if r == 0
            && let Some(why) = check()
        {
            let _ = child.kill();
            gave_up = Some(why);
            break;
        }
    }
    if let Some(mut e) = err {
        let _ = e.read_to_end(&mut buf);
    }
    let status = wait(child)?;
    Ok(Watched {
        status,
        stderr: capture.then_some(buf),
        gave_up,
    })
}

/// How long a management command waits for an sccache query (`--show-stats`,
/// `--stop-server`, ...): a stopped or wedged server never answers, and sccache's client
/// has no timeout of its own.
pub(crate) const QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `cmd.output()`, but the child is killed after `timeout` (then `None`). stdin is
/// `/dev/null`; stdout and stderr are captured.
pub(crate) fn output_within(
    cmd: &mut Command,
    timeout: std::time::Duration,
) -> Option<std::process::Output> {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
    let readers = [
        std::thread::spawn(move || {
            let mut b = Vec::new();
            if let Some(o) = out.as_mut() {
                let _ = o.read_to_end(&mut b);
            }
            b
        }),
        std::thread::spawn(move || {
            let mut b = Vec::new();
            if let Some(e) = err.as_mut() {
                let _ = e.read_to_end(&mut b);
            }
            b
        }),
    ];
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let [o, e] = readers;
    let stdout = o.join().unwrap_or_default();
    let stderr = e.join().unwrap_or_default();
    status.map(|status| std::process::Output {
        status,
        stdout,
        stderr,
    })
}

/// Exit the way `status` says the child did: its exit code, or death by its signal.
pub(crate) fn exit_like(status: ExitStatus) -> ! {
    if let Some(sig) = status.signal() {
        // SAFETY: resetting a signal to its default action, disabling core files (the
        // child already dumped one if it was going to), unblocking and raising it are
        // all well defined; if the signal does not terminate us we exit below.
        unsafe {
            let rl = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &rl);
            libc::signal(sig, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, sig);
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::raise(sig);
        }
        std::process::exit(128 + sig);
    }
    std::process::exit(status.code().unwrap_or(1))
}

/// Occupy any of descriptors 0, 1 and 2 that the shim was started without (closed), as
/// std's runtime would, so that no pipe or file the shim opens lands on them (a ccache
/// stats-log pipe on descriptor 1 would receive the compiler's output and hang the
/// compile). They are opened on `/dev/null` close-on-exec: the compiler still starts
/// with them closed, exactly as it would without the shim.
pub(crate) fn occupy_closed_std_fds() {
    let mut fds = [
        libc::pollfd {
            fd: 0,
            events: 0,
            revents: 0,
        },
        libc::pollfd {
            fd: 1,
            events: 0,
            revents: 0,
        },
        libc::pollfd {
            fd: 2,
            events: 0,
            revents: 0,
        },
    ];
    // SAFETY: poll reads and writes the three-element array we own; timeout 0.
    if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } < 0 {
        return;
    }
    for p in fds {
        if p.revents & libc::POLLNVAL != 0 {
            // SAFETY: open of a constant path; the lowest free descriptor, which is this
            // closed one because lower ones were filled first, is taken.
            let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
            if fd != p.fd && fd >= 0 {
                // Not where it was meant to go (cannot happen with ascending order).
                // SAFETY: closing the descriptor just opened.
                unsafe {
                    libc::close(fd);
                }
            }
        }
    }
}

/// The process umask, read without changing it for longer than two syscalls.
pub(crate) fn umask() -> u32 {
    // SAFETY: umask cannot fail; we restore the old value immediately. The shim is
    // single-threaded on the compile path.
    unsafe {
        let old = libc::umask(0o022);
        libc::umask(old);
        old as u32
    }
}

/// True when file descriptor 2 is a terminal.
pub(crate) fn stderr_is_tty() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stderr())
}

/// Mark every descriptor from `first` up close-on-exec (in a child between fork and exec:
/// only async-signal-safe calls). Closing them instead would also close std's own
/// exec-error pipe, and a failed exec would come back as a crash instead of its error.
/// `close_range(CLOSE_RANGE_CLOEXEC)` where the kernel has it (Linux 5.11+), else one
/// `fcntl` per possible descriptor up to the soft limit (at most 65,536).
pub(crate) fn cloexec_from(first: libc::c_int) {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range takes plain integers; failure is reported through the result.
    let done = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    } == 0;
    if done {
        return;
    }
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct we own.
    let max = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        lim.rlim_cur.min(65_536) as libc::c_int
    } else {
        1024
    };
    for fd in first..max {
        // SAFETY: fcntl on a descriptor number; EBADF for unused ones is harmless.
        unsafe {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
}
