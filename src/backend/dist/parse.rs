//! Where one compile ran, as a distribution engine tells it (`Observed`, and `Noted` with
//! the hosts that failed it before), read from the engine's log of that invocation,
//! with whether the engine failed on its own.

use crate::config::dist::parse_distcc_host;

/// Where the engine says one compile ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// On this build host (its label: `HOST`, `HOST:PORT`, `USER@HOST`).
    Remote(String),
    /// On this machine, by the engine's choice (a `localhost` slot, a non-distributable
    /// job such as a link).
    Local,
    /// Meant to go remote, ran locally: why (`host_failed`, `no_host`, `no_daemon`,
    /// `remote_failed`, `distcc_missing`, ...) and the host that failed, when named.
    Fallback(String, Option<String>),
    /// The engine ran but its log says neither.
    Unobserved,
}

impl Observed {
    /// The key in the dist stats file.
    pub fn key(&self) -> String {
        let clean = |s: &str| s.replace(|c: char| c.is_whitespace() || c == '@', "_");
        match self {
            Observed::Remote(h) => format!("remote.{}", clean(h)),
            Observed::Local => "local".into(),
            Observed::Fallback(r, None) => format!("fallback.{r}"),
            Observed::Fallback(r, Some(h)) => format!("fallback.{r}@{}", clean(h)),
            Observed::Unobserved => "unobserved".into(),
        }
    }
}

/// What one invocation noted: where the compile ran, and the hosts that failed it before
/// (distcc moves a compile whose host fails to another host). Carried back to `invoke`
/// in `Ran::dist` and recorded by `record`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Noted {
    pub observed: Observed,
    pub failed: Vec<String>,
}

impl Noted {
    /// Where the compile ran, no host having failed it before.
    pub fn at(observed: Observed) -> Noted {
        Noted {
            observed,
            failed: Vec::new(),
        }
    }
}

/// The label distcc's log uses for a host (`10.0.0.2/4,lzo` -> `10.0.0.2`).
fn distcc_label(hostdef: &str) -> String {
    match parse_distcc_host(hostdef) {
        Ok(h) => h.label(),
        Err(_) => hostdef
            .split(['/', ','])
            .next()
            .unwrap_or(hostdef)
            .to_string(),
    }
}

/// Read distcc's log of one invocation (`DISTCC_LOG`: its INFO level and above).
///
/// - `compile FILE on HOST completed ok` / `... failed`: where the compile ran;
/// - `failed to distribute FILE to HOST, running locally instead`: HOST failed (down,
///   refused the compiler, died mid-compile, timed out);
/// - `failed to distribute, running locally instead`: no host could be had (all backed
///   off after earlier failures, or the slot locks failed).
///
/// - `exec on HOST: ...`: an attempt on HOST; distcc moves a compile whose host fails
///   (refused, reset, died mid-compile) to another host, so every attempted host but
///   the one that compiled it failed it.
///
/// Returns the observation, whether distcc failed on its own (it ran no compile), and
/// the hosts that failed the compile.
pub fn parse_distcc_log(text: &str) -> (Observed, bool, Vec<String>) {
    let mut attempts: Vec<String> = Vec::new();
    let mut ran_on: Option<String> = None;
    let mut failed_host: Option<String> = None;
    let mut no_host = false;
    let mut error = false;
    for line in text.lines() {
        let body = line.split_once("] ").map_or(line, |(_, b)| b);
        let body = body
            .strip_prefix("Warning: ")
            .or_else(|| body.strip_prefix("ERROR: "))
            .unwrap_or(body);
        let body = match body.strip_prefix('(') {
            Some(rest) => rest
                .split_once(") ")
                .map_or(body, |(_, b)| b)
                .trim_start_matches("Warning: ")
                .trim_start_matches("ERROR: "),
            None => body,
        };
        if line.contains("ERROR") {
            error = true;
        }
        if let Some(rest) = body.strip_prefix("exec on ")
            && let Some((h, _)) = rest.split_once(": ")
        {
            let h = distcc_label(h);
            if h != "localhost" && !attempts.contains(&h) {
                attempts.push(h);
            }
        } else if let Some(rest) = body.strip_prefix("compile ")
            && let Some((_, after)) = rest.rsplit_once(" on ")
        {
            let host = after
                .strip_suffix(" completed ok")
                .or_else(|| after.strip_suffix(" failed"))
                .or_else(|| after.split_once(" failed with exit code").map(|(h, _)| h))
                .or_else(|| after.split_once(": ").map(|(h, _)| h));
            if let Some(h) = host {
                ran_on = Some(h.to_string());
            }
        } else if let Some(rest) = body.strip_prefix("failed to distribute ") {
            if let Some((_, tail)) = rest.rsplit_once(" to ")
                && let Some(h) = tail.strip_suffix(", running locally instead")
            {
                failed_host = Some(distcc_label(h));
            }
        } else if body.starts_with("failed to distribute, running locally instead") {
            no_host = true;
        }
    }
    let observed = match (&failed_host, no_host, &ran_on) {
        (Some(h), _, _) => Observed::Fallback("host_failed".into(), Some(h.clone())),
        (None, true, _) => Observed::Fallback("no_host".into(), None),
        (None, false, Some(h)) if h == "localhost" => Observed::Local,
        (None, false, Some(h)) => Observed::Remote(distcc_label(h)),
        (None, false, None) => Observed::Unobserved,
    };
    let engine_failed = ran_on.is_none() && error;
    let done_on = ran_on.as_deref().map(distcc_label);
    let failed = attempts
        .into_iter()
        .filter(|h| Some(h) != done_on.as_ref())
        .collect();
    (observed, engine_failed, failed)
}

/// Read icecc's log of one invocation (`ICECC_DEBUG=debug`).
///
/// - `Have to use host HOST:PORT`: the scheduler gave this compile to HOST;
/// - `local build forced by remote exception`, `got exception`: that host failed, the
///   compile ran locally;
/// - `no local daemon found`, `daemon can't determine native environment`: nothing could
///   be distributed;
/// - `<building_local>`, `building myself`: the engine compiled locally by choice.
pub fn parse_icecc_log(text: &str) -> (Observed, bool) {
    let mut host: Option<String> = None;
    let mut remote_failed = false;
    let mut no_daemon = false;
    let mut no_env = false;
    let mut local = false;
    let mut any = false;
    for line in text.lines() {
        let body = line.split_once(": ").map_or(line, |(_, b)| b);
        // Drop the timestamp's own ": " (ICECC[pid] 2026-01-01 10:00:00: message).
        let body = body.split_once(": ").map_or(body, |(a, b)| {
            if a.chars().all(|c| c.is_ascii_digit()) {
                b
            } else {
                body
            }
        });
        any = true;
        if let Some(rest) = body.strip_prefix("Have to use host ") {
            let hp = rest.split_whitespace().next().unwrap_or(rest);
            let h = hp.rsplit_once(':').map_or(hp, |(h, _)| h);
            host = Some(h.to_string());
        } else if body.contains("local build forced by remote exception")
            || body.starts_with("got exception")
        {
            remote_failed = true;
        } else if body.starts_with("no local daemon found") {
            no_daemon = true;
        } else if body.starts_with("daemon can't determine native environment") {
            no_env = true;
        } else if body.starts_with("<building_local>") || body.starts_with("building myself") {
            local = true;
        }
    }
    let observed = if remote_failed {
        Observed::Fallback("remote_failed".into(), host.clone())
    } else if no_daemon {
        Observed::Fallback("no_daemon".into(), None)
    } else if no_env {
        Observed::Fallback("no_environment".into(), None)
    } else if let Some(h) = host.filter(|h| h != "127.0.0.1") {
        Observed::Remote(h)
    } else if local {
        Observed::Local
    } else {
        Observed::Unobserved
    };
    (observed, !any)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REMOTE_OK: &str = "distcc[24] compile from a.c to a.o\n\
        distcc[24] exec on 10.213.77.2/2: /usr/bin/gcc -c a.c -o a.o\n\
        distcc[24] cpp a.c on localhost completed ok\n\
        distcc[24] 146 bytes from a.c compiled on 10.213.77.2 in 0.0789s, rate 2kB/s\n\
        distcc[24] compile a.c on 10.213.77.2/2 completed ok\n";

    #[test]
    fn distcc_logs() {
        assert_eq!(
            parse_distcc_log(REMOTE_OK),
            (Observed::Remote("10.213.77.2".into()), false, vec![])
        );
        let moved = "distcc[9] exec on 10.0.0.2/2: /usr/bin/gcc -c a.c -o a.o\n\
            distcc[9] (dcc_readx) ERROR: unexpected eof on fd6\n\
            distcc[9] exec on 10.0.0.3:3700/2: /usr/bin/gcc -c a.c -o a.o\n\
            distcc[9] compile a.c on 10.0.0.3:3700/2 completed ok\n";
        assert_eq!(
            parse_distcc_log(moved),
            (
                Observed::Remote("10.0.0.3:3700".into()),
                false,
                vec!["10.0.0.2".to_string()]
            )
        );
        let refused = "distcc[1] (dcc_r_result_header) ERROR: server provided no answer.\n\
            distcc[1] 146 bytes from a.c compiled on 10.213.77.2 in 0.0181s, rate 8kB/s\n\
            distcc[1] Warning: failed to distribute a.c to 10.213.77.2:3999/2,lzo, running locally instead\n\
            distcc[1] compile a.c on localhost completed ok\n";
        assert_eq!(
            parse_distcc_log(refused),
            (
                Observed::Fallback("host_failed".into(), Some("10.213.77.2:3999".into())),
                false,
                vec![]
            )
        );
        let backed_off = "distcc[1] (dcc_build_somewhere) Warning: failed to distribute, running locally instead\n\
            distcc[1] compile a.c on localhost completed ok\n";
        assert_eq!(
            parse_distcc_log(backed_off).0,
            Observed::Fallback("no_host".into(), None)
        );
        let local = "distcc[1] compile a.c on localhost completed ok\n";
        assert_eq!(parse_distcc_log(local).0, Observed::Local);
        let failed = "distcc[1] ERROR: compile bad.c on localhost failed\n";
        assert_eq!(parse_distcc_log(failed), (Observed::Local, false, vec![]));
        let own = "distcc[1] (dcc_lock_one) ERROR: failed to lock\n";
        assert_eq!(parse_distcc_log(own), (Observed::Unobserved, true, vec![]));
    }

    #[test]
    fn icecc_logs() {
        let remote = "ICECC[24750] 2026-11-28 18:28:49: asking for host to use\n\
            ICECC[24750] 2026-11-28 18:28:49: Have to use host 10.213.77.2:10245 - Job ID: 1 - env: x86_64\n\
            ICECC[24750] 2026-11-28 18:28:56: got 382 bytes (34%)\n";
        assert_eq!(
            parse_icecc_log(remote).0,
            Observed::Remote("10.213.77.2".into())
        );
        let failed = "ICECC[1] 2026-11-28 18:28:49: Have to use host 10.0.0.3:10245 - Job ID: 2\n\
            ICECC[1] 2026-11-28 18:28:50: local build forced by remote exception: Error 2\n\
            ICECC[1] 2026-11-28 18:28:50: <building_local>\n";
        assert_eq!(
            parse_icecc_log(failed).0,
            Observed::Fallback("remote_failed".into(), Some("10.0.0.3".into()))
        );
        let nodaemon = "ICECC[1] 2026-11-28 18:28:49: no local daemon found\n";
        assert_eq!(
            parse_icecc_log(nodaemon).0,
            Observed::Fallback("no_daemon".into(), None)
        );
        assert!(parse_icecc_log("").1);
    }

    #[test]
    fn keys() {
        assert_eq!(Observed::Remote("10.0.0.2".into()).key(), "remote.10.0.0.2");
        assert_eq!(
            Observed::Fallback("host_failed".into(), Some("me@box".into())).key(),
            "fallback.host_failed@me_box"
        );
    }
}
