//! The native sccache client: the shim sends the compile request over the server's unix
//! socket itself instead of starting the sccache client process (a 22 MB binary that
//! loads its configuration and builds an async runtime: about 80 % of a sccache hit).
//!
//! It does what the sccache 0.16 client does (`src/cmdline.rs`, `src/commands.rs`): the
//! request carries the absolute compiler, the working directory, the arguments byte for
//! byte and the environment minus the variables the client leaves out (`CLIENT_DROPS`);
//! stdout and stderr are written as `handle_compile_finished` writes them (unchanged when
//! `color_mode` is `On`, or when the stream is a terminal, `TERM` is not `dumb` and
//! `color_mode` is not `Off`; otherwise with ANSI escapes removed by the same
//! `strip-ansi-escapes` crate). Unlike the client it never sends a credential (see
//! `request_env`), and where the client would print a message of its own (a compiler
//! killed by a signal, a server gone) the caller does what the bare compiler would have
//! done.
//!
//! Only versions on `ALLOWED_VERSIONS` are spoken to: the wire format is sccache's
//! internal bincode encoding and has changed between releases. A version is added by
//! adding it here and running `tests/it/sccache.rs` (`native_client_matches_the_sccache_client`
//! and the fault tests) against that version's binary.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;
use std::time::Instant;

use super::conn::{self, Watchdog};
use super::wire::{self, ColorMode, CompileFinished, CompileResponse, Response};

/// sccache versions whose wire format this client has been proven against.
pub const ALLOWED_VERSIONS: &[&str] = &["0.16.0"];

/// The variables the sccache client leaves out of a compile request (`cmdline.rs`).
pub const CLIENT_DROPS: &[&str] = &[
    "LD_PRELOAD",
    "RUNNING_UNDER_RR",
    "HOSTNAME",
    "PWD",
    "HOST",
    "RPM_BUILD_ROOT",
    "SOURCE_DATE_EPOCH",
    "RPM_PACKAGE_RELEASE",
    "MINICOM",
    "DESTDIR",
    "RPM_PACKAGE_VERSION",
    "CARGO_MAKEFLAGS",
];

/// The largest reply accepted (the server's own limit is 8 MiB unless configured).
const MAX_REPLY: usize = 1 << 30;

/// The environment a compile request carries: this process's environment with
/// `overrides` applied (what the sccache client's own environment would have been),
/// without the client's dropped variables and without any credential: a name
/// `is_credential_var` calls one, or one of `secret_names` (the variables the project's
/// remote settings name). Sorted by name, as `std::process::Command` passes an
/// environment it changed, so the request equals the one the client process would send.
pub fn request_env(
    overrides: &[(OsString, OsString)],
    removed: &[&str],
    secret_names: &[String],
) -> Vec<(OsString, OsString)> {
    let mut vars: BTreeMap<OsString, OsString> = std::env::vars_os().collect();
    for (k, v) in overrides {
        vars.insert(k.clone(), v.clone());
    }
    for r in removed {
        vars.remove(OsStr::new(r));
    }
    vars.into_iter()
        .filter(|(k, _)| !CLIENT_DROPS.iter().any(|d| k == d) && !is_secret(k, secret_names))
        .collect()
}

/// Is `name` a credential: by its name, or because the project's remote names it?
pub fn is_secret(name: &OsStr, secret_names: &[String]) -> bool {
    crate::secrets::is_credential_var(name) || secret_names.iter().any(|s| name == s.as_str())
}

/// How far a native request got.
#[derive(Debug)]
pub enum Attempt {
    /// The server did not take the compile (nothing ran): the caller may use the
    /// process path.
    NotAccepted(String),
    /// The server took the compile and finished it.
    Finished(CompileFinished),
    /// The server will not run this compile: the caller runs the compiler.
    Unhandled,
    /// The server does not know this compiler.
    Unsupported(OsString),
    /// The server took the compile, then the connection broke, the reply was not
    /// understood, or the server stopped. The compile must not be sent again.
    Lost(String),
    /// The server did not accept the compile in time, or is stopped or gone: the caller
    /// runs the compiler (the sccache client would wait for the same server).
    Unresponsive(String),
}

fn read_frame(
    s: &mut UnixStream,
    dog: &mut Watchdog,
    started: bool,
    deadline: Option<Instant>,
) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    conn::read_exact(s, &mut len, dog, started, deadline)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_REPLY {
        return Err(io::Error::other(format!("reply of {len} bytes")));
    }
    let mut body = vec![0u8; len];
    conn::read_exact(s, &mut body, dog, started, deadline)?;
    Ok(body)
}

/// Send one compile request on a connected (non-blocking) stream to the server `peer`
/// and read the replies: the request and the first reply within
/// `conn::HANDSHAKE_TIMEOUT`, the result for as long as the server is alive and not
/// stopped (see `conn`).
pub fn compile(mut stream: UnixStream, peer: conn::Peer, req: &wire::Compile<'_>) -> Attempt {
    let mut dog = Watchdog::new(peer.pid);
    let deadline = Some(Instant::now() + conn::HANDSHAKE_TIMEOUT);
    let unresponsive = |e: &io::Error| e.kind() == io::ErrorKind::TimedOut;
    let frame = wire::encode_compile(req);
    if let Err(e) = conn::write_all(&mut stream, &frame, &mut dog, deadline) {
        if unresponsive(&e) {
            return Attempt::Unresponsive(format!("sending the request: {e}"));
        }
        return Attempt::NotAccepted(format!("sending the request: {e}"));
    }
    let first = match read_frame(&mut stream, &mut dog, false, deadline) {
        Ok(b) => b,
        Err(e) if unresponsive(&e) => {
            return Attempt::Unresponsive(format!("waiting for the first reply: {e}"));
        }
        Err(e) => return Attempt::NotAccepted(format!("reading the first reply: {e}")),
    };
    match wire::decode_response(&first) {
        Ok(Response::Compile(CompileResponse::Started)) => {}
        Ok(Response::Compile(CompileResponse::Unhandled)) => return Attempt::Unhandled,
        Ok(Response::Compile(CompileResponse::UnsupportedCompiler(why))) => {
            return Attempt::Unsupported(why);
        }
        Ok(other) => return Attempt::NotAccepted(format!("unexpected first reply {other:?}")),
        Err(e) => return Attempt::NotAccepted(format!("first reply: {e}")),
    }
    let second = match read_frame(&mut stream, &mut dog, true, None) {
        Ok(b) => b,
        Err(e) => return Attempt::Lost(format!("reading the result: {e}")),
    };
    match wire::decode_response(&second) {
        Ok(Response::Finished(f)) => Attempt::Finished(f),
        Ok(other) => Attempt::Lost(format!("unexpected result {other:?}")),
        Err(e) => Attempt::Lost(format!("result: {e}")),
    }
}

/// sccache's fatal-error reply: not the compiler's result (a compiler cannot exit -2).
pub fn is_fatal(f: &CompileFinished) -> bool {
    f.retcode == Some(-2) && f.stderr.starts_with(b"sccache: encountered fatal error")
}

/// Whether descriptor 1 or 2 is a terminal.
fn is_tty(fd: libc::c_int) -> bool {
    use std::io::IsTerminal;
    if fd == 1 {
        std::io::stdout().is_terminal()
    } else {
        std::io::stderr().is_terminal()
    }
}

/// Write `data` to descriptor `fd` as the sccache client's `write_output` does.
fn write_output(fd: libc::c_int, data: &[u8], mode: ColorMode, dumb_term: bool) {
    if data.is_empty() {
        return;
    }
    let raw = mode == ColorMode::On || (!dumb_term && is_tty(fd) && mode != ColorMode::Off);
    // SAFETY: fd 1 or 2, borrowed for the write and never closed (ManuallyDrop).
    let mut out = ManuallyDrop::new(unsafe { File::from_raw_fd(fd) });
    let _ = if raw {
        out.write_all(data)
    } else {
        out.write_all(&strip_ansi_escapes::strip(data))
    };
}

/// Write a finished compile's stdout, then its stderr.
pub fn write_outputs(f: &CompileFinished) {
    let dumb_term = std::env::var_os("TERM").is_some_and(|v| v == "dumb");
    write_output(1, &f.stdout, f.color_mode, dumb_term);
    write_output(2, &f.stderr, f.color_mode, dumb_term);
}

/// The wait status the compile ended with, for `process::exit_like`.
pub fn status_of(f: &CompileFinished) -> Option<std::process::ExitStatus> {
    use std::os::unix::process::ExitStatusExt;
    match (f.retcode, f.signal) {
        (Some(code), _) => Some(ExitStatusExt::from_raw((code & 0xff) << 8)),
        (None, Some(sig)) => Some(ExitStatusExt::from_raw(sig & 0x7f)),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_env_drops_what_the_client_drops_and_every_credential() {
        let over = vec![
            (OsString::from("PWD"), OsString::from("/x")),
            (OsString::from("SCCACHE_DIR"), OsString::from("/c")),
            (
                OsString::from("SCCACHE_REDIS_PASSWORD"),
                OsString::from("pw"),
            ),
            (OsString::from("MY_PW_VAR"), OsString::from("pw2")),
            (OsString::from("ZZ_LAST"), OsString::from("1")),
        ];
        let env = request_env(&over, &["SCCACHE_SERVER_PORT"], &["MY_PW_VAR".into()]);
        let names: Vec<&OsStr> = env.iter().map(|(k, _)| k.as_os_str()).collect();
        assert!(names.contains(&OsStr::new("SCCACHE_DIR")));
        assert!(names.contains(&OsStr::new("ZZ_LAST")));
        for gone in [
            "PWD",
            "SCCACHE_REDIS_PASSWORD",
            "MY_PW_VAR",
            "SCCACHE_SERVER_PORT",
        ] {
            assert!(!names.contains(&OsStr::new(gone)), "{gone}");
        }
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "sorted by name");
    }

    #[test]
    fn statuses() {
        let f = |retcode, signal| CompileFinished {
            retcode,
            signal,
            stdout: Vec::new(),
            stderr: Vec::new(),
            color_mode: ColorMode::Auto,
        };
        assert_eq!(status_of(&f(Some(0), None)).and_then(|s| s.code()), Some(0));
        assert_eq!(status_of(&f(Some(1), None)).and_then(|s| s.code()), Some(1));
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status_of(&f(None, Some(9))).and_then(|s| s.signal()),
            Some(9)
        );
        assert!(status_of(&f(None, None)).is_none());
        let mut fatal = f(Some(-2), None);
        fatal.stderr = b"sccache: encountered fatal error\nsccache: error: x\n".to_vec();
        assert!(is_fatal(&fatal));
        assert!(!is_fatal(&f(Some(-2), None)));
    }
}
