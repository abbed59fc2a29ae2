//! `remote.helper`: with ccache and a remote, whether ccache starts storage helpers, and
//! whether toolchainkit's helper starts and the remote answers through it. The check
//! starts a helper of its own on a private socket (so a running one is not disturbed),
//! asks it whether a key exists (one request to the remote, with the helper's timeout)
//! and stops it.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Check, Ctx};
use crate::backend::storage_helper::{self, Entry};
use crate::config::Tool;

/// How long the helper gets to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(5);

pub fn checks(ctx: &Ctx) -> Vec<Check> {
    let (Some(r), Some((Tool::Ccache, exe))) = (&ctx.cfg.remote.value, &ctx.choice.tool) else {
        return Vec::new();
    };
    let needs = storage_helper::needs_helper(r);
    if !storage_helper::ccache_has_helpers(exe) {
        return vec![if needs {
            Check::problem(
                "remote.helper",
                format!(
                    "{} starts no storage helpers (no `crsh-storage` in `ccache --version`): this {} remote is ignored, compiles use the local cache",
                    exe.display(),
                    r.kind().name()
                ),
                "install ccache 4.13 or newer (`toolchainkit tool install ccache`)",
            )
        } else {
            Check::ok(
                "remote.helper",
                format!(
                    "{} starts no storage helpers: its built-in {} client is used",
                    exe.display(),
                    r.kind().name()
                ),
            )
        }];
    }
    let helper = match storage_helper::helper_path() {
        Ok(h) => h,
        Err(why) => {
            let msg = format!("ccache would use toolchainkit's storage helper, but {why}");
            let fix = "install toolchainkit with `cargo install --locked --path .`";
            return vec![if needs {
                Check::problem("remote.helper", msg, fix)
            } else {
                Check::warn("remote.helper", msg, fix)
            }];
        }
    };
    let entry = match storage_helper::entry(r, &helper) {
        Ok(e) => e,
        Err(u) => {
            return vec![Check::problem("remote.helper", u.message, u.fix)];
        }
    };
    match try_helper(&helper, &entry) {
        Ok(answer) => vec![Check::ok(
            "remote.helper",
            format!(
                "ccache starts {}; the {} remote answered through it ({answer})",
                helper.display(),
                r.kind().name()
            ),
        )],
        Err(why) => vec![Check::problem(
            "remote.helper",
            format!(
                "the {} remote did not answer through {}: {why} (compiles still work, without the shared cache)",
                r.kind().name(),
                helper.display()
            ),
            "check the endpoint, the bucket/container and the credentials' variables (`toolchainkit config check`)",
        )],
    }
}

/// Start the helper on a private socket, ask it whether a key exists, stop it.
fn try_helper(helper: &Path, entry: &Entry) -> Result<String, String> {
    let dir = crate::private::own_dir(&crate::paths::runtime_dir())
        .map_err(|e| format!("runtime directory: {e}"))?;
    let sock = dir.join(format!("doctor-helper-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&sock);
    let mut cmd = Command::new(helper);
    cmd.env("CRSH_IPC_ENDPOINT", &sock)
        .env("CRSH_URL", &entry.url)
        .env("CRSH_IDLE_TIMEOUT", "10")
        .env("CRSH_NUM_ATTR", entry.attrs.len().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (i, (k, v)) in entry.attrs.iter().enumerate() {
        cmd.env(format!("CRSH_ATTR_KEY_{i}"), k)
            .env(format!("CRSH_ATTR_VALUE_{i}"), v);
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot start it: {e}"))?;
    let result = ask(&sock, &mut child);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&sock);
    result
}

fn ask(sock: &Path, child: &mut std::process::Child) -> Result<String, String> {
    let deadline = Instant::now() + START_TIMEOUT;
    let mut s = loop {
        match UnixStream::connect(sock) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => {
                if let Ok(Some(st)) = child.try_wait() {
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        let _ = e.read_to_string(&mut err);
                    }
                    return Err(format!("it exited ({st}): {}", err.trim()));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(format!("it did not listen within 5 s: {e}")),
        }
    };
    let timeout = Duration::from_millis(storage_helper::DEFAULT_TIMEOUT_MS + 5_000);
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut greeting = [0u8; 2];
    s.read_exact(&mut greeting)
        .map_err(|e| format!("no greeting: {e}"))?;
    let mut caps = vec![0u8; usize::from(greeting[1])];
    s.read_exact(&mut caps)
        .map_err(|e| format!("no greeting: {e}"))?;
    if greeting[0] != 1 || !caps.contains(&0x02) {
        return Err(format!("unexpected greeting {greeting:?} {caps:?}"));
    }
    // exists(20 zero bytes): a key no compile produces.
    let mut req = vec![0x05, 20];
    req.extend_from_slice(&[0u8; 20]);
    s.write_all(&req).map_err(|e| e.to_string())?;
    let mut status = [0u8; 1];
    s.read_exact(&mut status)
        .map_err(|e| format!("no answer: {e}"))?;
    match status[0] {
        0x00 => Ok("a lookup took its round trip".into()),
        0x02 => {
            let mut len = [0u8; 1];
            s.read_exact(&mut len).map_err(|e| e.to_string())?;
            let mut msg = vec![0u8; usize::from(len[0])];
            s.read_exact(&mut msg).map_err(|e| e.to_string())?;
            Err(crate::escape::text(&String::from_utf8_lossy(&msg)).into_owned())
        }
        other => Err(format!("unexpected answer 0x{other:02x}")),
    }
}
