//! Reaching an sccache server of ours, and noticing one that is wedged.
//!
//! A socket is used only in a runtime directory private to this user (one `lstat`:
//! a real directory, owned by us, mode 0700; `private::check_private_dir`) and only when
//! the process listening on it runs as this user (`SO_PEERCRED` on the connection, one
//! `getsockopt`): another user's directory, or a listener someone else started, never
//! sees a compile request. The connection is made within `CONNECT_TIMEOUT` (a stopped
//! server's full connection queue would block `connect` for ever).
//!
//! A server that stops answering must not hang the build: before it has accepted a
//! compile the wait is bounded (`HANDSHAKE_TIMEOUT`); after it has, a long compile is
//! legitimate, so the server's liveness is watched instead (`Watchdog`): a server that
//! is gone, or stopped (`/proc/PID/stat` state `T`/`t`) for `STOP_GRACE` with none of
//! its children still running, is given up on. The checks run only while a reply is
//! late (every `TICK`), never on a compile that is answered at once.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::{paths, private};

/// How long connecting to a server's socket may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a server may take to accept a compile (sccache replies `CompileStarted` once
/// it knows the compiler: the first compile of a compiler runs it once to detect it).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a server may stay stopped before it is given up on.
pub const STOP_GRACE: Duration = Duration::from_millis(500);
/// How often a late reply's server is looked at.
pub const TICK: Duration = Duration::from_millis(100);

/// The process listening on a socket (`SO_PEERCRED`: the credentials it had when it
/// called `listen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub pid: i32,
    pub uid: u32,
}

/// What connecting to a server's socket found.
#[derive(Debug)]
pub enum Reach {
    /// A server of ours answers the connection (the stream is non-blocking).
    Up(UnixStream, Peer),
    /// Nothing listens there (or the directory does not exist yet).
    Down(io::Error),
    /// The directory or the listener is not ours: never to be used, never to be
    /// replaced by a server of ours.
    Refused(String),
    /// The server does not take connections (its queue stays full).
    Wedged(String),
}

/// The longest socket path a unix socket address holds (`sun_path` less its NUL).
pub fn max_socket_path() -> usize {
    // SAFETY: a plain C struct, zeroed.
    let addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_path.len() - 1
}

/// Why `sock` cannot be a unix socket address, if it cannot.
pub fn path_too_long(sock: &Path) -> Option<String> {
    let n = sock.as_os_str().len();
    (n > max_socket_path()).then(|| {
        format!(
            "the socket path {} is {n} bytes, more than the {} a unix socket address holds",
            sock.display(),
            max_socket_path()
        )
    })
}

/// Connect to `sock` within `timeout`, non-blocking.
pub fn connect_within(sock: &Path, timeout: Duration) -> io::Result<UnixStream> {
    let bytes = sock.as_os_str().as_bytes();
    // SAFETY: a plain C struct, zeroed, then filled within its bounds.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    if bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            path_too_long(sock).unwrap_or_else(|| "socket path holds a NUL byte".into()),
        ));
    }
    for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    let len = (std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1) as libc::socklen_t;
    // SAFETY: socket takes plain integers.
    let fd = unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a descriptor just created and owned by nobody else.
    let stream = unsafe { UnixStream::from_raw_fd(fd) };
    let deadline = Instant::now() + timeout;
    loop {
        // SAFETY: a valid socket and an address of `len` bytes.
        let r = unsafe { libc::connect(fd, (&raw const addr).cast::<libc::sockaddr>(), len) };
        if r == 0 {
            return Ok(stream);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            // A unix socket whose listener's queue is full (the listener does not accept).
            Some(libc::EAGAIN) => {
                if Instant::now() >= deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "the server did not take the connection within {} s (its queue stays full)",
                            timeout.as_secs()
                        ),
                    ));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            _ => return Err(e),
        }
    }
}

/// The process listening on the other end of `s`.
pub fn peer_of(s: &UnixStream) -> io::Result<Peer> {
    // SAFETY: a plain C struct, zeroed.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `cred`.
    let r = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast::<libc::c_void>(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Peer {
        pid: cred.pid,
        uid: cred.uid,
    })
}

/// Connect to the server on `sock`: only in a private directory of ours, only to a
/// listener of ours (see the module comment).
pub fn reach(sock: &Path) -> Reach {
    let dir = sock.parent().unwrap_or(Path::new("/"));
    if let Err(e) = private::check_private_dir(dir) {
        if e.kind() == io::ErrorKind::NotFound {
            return Reach::Down(e);
        }
        return Reach::Refused(format!("runtime directory refused: {e}"));
    }
    let stream = match connect_within(sock, CONNECT_TIMEOUT) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::TimedOut => return Reach::Wedged(e.to_string()),
        Err(e) => return Reach::Down(e),
    };
    match peer_of(&stream) {
        Ok(p) if p.uid == paths::uid() => Reach::Up(stream, p),
        Ok(p) => Reach::Refused(format!(
            "{}: the process listening there (pid {}) runs as uid {}, not as you (uid {})",
            sock.display(),
            p.pid,
            p.uid,
            paths::uid()
        )),
        Err(e) => Reach::Refused(format!("{}: cannot tell who listens: {e}", sock.display())),
    }
}

/// The state of a process, from `/proc/PID/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    Running,
    /// Stopped by a signal (`T`) or by a tracer (`t`).
    Stopped,
    /// Gone, or a zombie.
    Gone,
}

/// The state letter of `/proc/PID/stat` (the field after the parenthesised name).
pub fn state_of_stat(stat: &str) -> Option<char> {
    stat.rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next())
        .and_then(|s| s.chars().next())
}

pub fn live(pid: i32) -> Live {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Live::Gone;
    };
    match state_of_stat(&stat) {
        Some('T' | 't') => Live::Stopped,
        Some('Z' | 'X') | None => Live::Gone,
        Some(_) => Live::Running,
    }
}

/// Does `pid` have a child that is still running (a compiler it started)? From
/// `/proc/PID/task/*/children`, or, where the kernel lacks those files, from the parent
/// pid of every process in `/proc`.
pub fn has_running_child(pid: i32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    for t in tasks.filter_map(Result::ok) {
        let Ok(kids) = std::fs::read_to_string(t.path().join("children")) else {
            return any_child_by_ppid(pid);
        };
        for k in kids
            .split_whitespace()
            .filter_map(|k| k.parse::<i32>().ok())
        {
            if live(k) != Live::Gone {
                return true;
            }
        }
    }
    false
}

/// The ppid of a `/proc/PID/stat` (the field after the state).
pub fn ppid_of_stat(stat: &str) -> Option<i32> {
    stat.rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().nth(1))
        .and_then(|p| p.parse().ok())
}

fn any_child_by_ppid(pid: i32) -> bool {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return true;
    };
    rd.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .any(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|st| {
                ppid_of_stat(&st) == Some(pid) && !matches!(state_of_stat(&st), Some('Z' | 'X'))
            })
        })
}

/// Why a server is given up on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GiveUp {
    Stopped(String),
    Gone(String),
}

impl std::fmt::Display for GiveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GiveUp::Stopped(s) | GiveUp::Gone(s) => f.write_str(s),
        }
    }
}

/// Watches a server while a reply is late.
#[derive(Debug)]
pub struct Watchdog {
    pid: i32,
    stopped_since: Option<Instant>,
}

impl Watchdog {
    pub fn new(pid: i32) -> Watchdog {
        Watchdog {
            pid,
            stopped_since: None,
        }
    }

    /// Look at the server once: `Some` when it is to be given up on. `started`: the
    /// server has accepted the compile (then a stopped server is waited for while a
    /// compiler it started still runs, so no second compiler writes the same output).
    pub fn check(&mut self, started: bool) -> Option<GiveUp> {
        match live(self.pid) {
            Live::Running => {
                self.stopped_since = None;
                None
            }
            Live::Gone => Some(GiveUp::Gone(format!(
                "the sccache server (pid {}) is gone",
                self.pid
            ))),
            Live::Stopped => {
                let since = *self.stopped_since.get_or_insert_with(Instant::now);
                (since.elapsed() >= STOP_GRACE && !(started && has_running_child(self.pid))).then(
                    || {
                        GiveUp::Stopped(format!(
                            "the sccache server (pid {}) is stopped (state T)",
                            self.pid
                        ))
                    },
                )
            }
        }
    }
}

/// Wait until `s` is ready for `events` (`POLLIN`, `POLLOUT`), looking at the server
/// every `TICK` while it is not: an error of kind `TimedOut` when `deadline` passed or
/// the watchdog gives up.
pub fn wait_ready(
    s: &UnixStream,
    events: libc::c_short,
    dog: &mut Watchdog,
    started: bool,
    deadline: Option<Instant>,
) -> io::Result<()> {
    loop {
        let mut p = libc::pollfd {
            fd: s.as_raw_fd(),
            events,
            revents: 0,
        };
        // SAFETY: poll on one pollfd we own.
        let r = unsafe { libc::poll(&mut p, 1, TICK.as_millis() as libc::c_int) };
        if r > 0 {
            return Ok(());
        }
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if let Some(d) = deadline
            && Instant::now() >= d
        {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the sccache server did not accept the compile within {} s",
                    HANDSHAKE_TIMEOUT.as_secs()
                ),
            ));
        }
        if let Some(why) = dog.check(started) {
            return Err(io::Error::new(io::ErrorKind::TimedOut, why.to_string()));
        }
    }
}

/// `write_all` on a non-blocking stream, with `wait_ready` between writes.
pub fn write_all(
    s: &mut UnixStream,
    mut buf: &[u8],
    dog: &mut Watchdog,
    deadline: Option<Instant>,
) -> io::Result<()> {
    use std::io::Write;
    while !buf.is_empty() {
        match s.write(buf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait_ready(s, libc::POLLOUT, dog, false, deadline)?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `read_exact` on a non-blocking stream, with `wait_ready` while nothing comes.
pub fn read_exact(
    s: &mut UnixStream,
    mut buf: &mut [u8],
    dog: &mut Watchdog,
    started: bool,
    deadline: Option<Instant>,
) -> io::Result<()> {
    use std::io::Read;
    while !buf.is_empty() {
        match s.read(buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => buf = &mut buf[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait_ready(s, libc::POLLIN, dog, started, deadline)?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_states_and_path_limits() {
        assert_eq!(state_of_stat("42 (sccache) S 1 42"), Some('S'));
        assert_eq!(state_of_stat("42 (a) b) T 1 42"), Some('T'));
        assert_eq!(state_of_stat("garbage"), None);
        assert_eq!(ppid_of_stat("42 (a) b) T 17 42"), Some(17));
        // A child that runs is found both ways.
        let me = std::process::id() as i32;
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep");
        assert!(has_running_child(me) && any_child_by_ppid(me));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(live(std::process::id() as i32), Live::Running);
        assert_eq!(max_socket_path(), 107);
        assert!(path_too_long(Path::new(&"/x".repeat(54))).is_some());
        assert!(path_too_long(Path::new(&"/x".repeat(53))).is_none());
    }

    #[test]
    fn a_listener_is_reached_and_known_by_its_uid() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let sock = t.path().join("s.sock");
        let _l = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
        match reach(&sock) {
            Reach::Up(_, p) => {
                assert_eq!(p.uid, paths::uid());
                assert_eq!(p.pid, std::process::id() as i32);
            }
            other => panic!("{other:?}"),
        }
        std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert!(
            matches!(reach(&sock), Reach::Refused(_)),
            "a directory others can read"
        );
        assert!(matches!(
            reach(&t.path().join("missing/s.sock")),
            Reach::Down(_)
        ));
    }
}
