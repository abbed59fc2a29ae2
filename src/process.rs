//! Running the one child of an invocation: signal forwarding, waiting, and exiting exactly
//! as the child did (same code, or death by the same signal).

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};

static CHILD: AtomicI32 = AtomicI32::new(0);
static PENDING: AtomicI32 = AtomicI32::new(0);

const FORWARDED: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

extern "C" fn forward(sig: libc::c_int) {
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe {
            libc::kill(pid, sig);
        }
    } else {
        PENDING.store(sig, Ordering::SeqCst);
    }
}

/// Make SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to the shim reach its child.
pub fn install_forwarding() {
    for sig in FORWARDED {
        // SAFETY: a zeroed sigaction with a valid handler and empty mask is well formed;
        // the handler only calls async-signal-safe functions.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = forward as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Spawn `cmd`, register it for signal forwarding, and return the child.
pub fn spawn(cmd: &mut Command) -> io::Result<Child> {
    let child = cmd.spawn()?;
    let pid = i32::try_from(child.id()).unwrap_or(0);
    CHILD.store(pid, Ordering::SeqCst);
    let pending = PENDING.swap(0, Ordering::SeqCst);
    if pending != 0 && pid > 0 {
        // SAFETY: plain kill of our own child.
        unsafe {
            libc::kill(pid, pending);
        }
    }
    Ok(child)
}

/// Wait for a spawned child and unregister it.
pub fn wait(mut child: Child) -> io::Result<ExitStatus> {
    let status = child.wait();
    CHILD.store(0, Ordering::SeqCst);
    status
}

/// Spawn and wait.
pub fn run(cmd: &mut Command) -> io::Result<ExitStatus> {
    wait(spawn(cmd)?)
}

/// Exit the way `status` says the child did: its exit code, or death by its signal.
pub fn exit_like(status: ExitStatus) -> ! {
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

/// The process umask, read without changing it for longer than two syscalls.
pub fn umask() -> u32 {
    // SAFETY: umask cannot fail; we restore the old value immediately. The shim is
    // single-threaded on the compile path.
    unsafe {
        let old = libc::umask(0o022);
        libc::umask(old);
        old as u32
    }
}

/// True when file descriptor 2 is a terminal.
pub fn stderr_is_tty() -> bool {
    // SAFETY: isatty on a constant fd.
    unsafe { libc::isatty(2) == 1 }
}

/// Mark every descriptor from `first` up close-on-exec (in a child between fork and exec:
/// only async-signal-safe calls). Closing them instead would also close std's own
/// exec-error pipe, and a failed exec would come back as a crash instead of its error.
/// `close_range(CLOSE_RANGE_CLOEXEC)` where the kernel has it (Linux 5.11+), else one
/// `fcntl` per possible descriptor up to the soft limit (at most 65,536).
pub fn cloexec_from(first: libc::c_int) {
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
