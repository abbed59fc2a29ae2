//! Asking distribution hosts and schedulers whether they are there (for `doctor` and
//! `dist status`, never the compile path): a TCP connection with a 1 s timeout, and
//! icecc-scheduler's text interface (its port + 1), whose `listcs` lists the compile
//! servers with their job slots and load.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long a host or scheduler gets to accept a connection.
const CONNECT: Duration = Duration::from_secs(1);

/// Can a TCP connection to `host:port` be made within `CONNECT`?
pub fn probe_tcp(host: &str, port: u16) -> Result<(), String> {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<_> = (h, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let mut last = "no address".to_string();
    for a in addrs {
        match TcpStream::connect_timeout(&a, CONNECT) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// One compile server as icecc-scheduler's text interface lists it (`listcs`).
#[derive(Debug, Clone, PartialEq)]
pub struct IceHost {
    pub name: String,
    pub addr: String,
    pub jobs: String,
    pub load: String,
}

/// Parse a `listcs` line: ` NAME (IP:PORT) [PLATFORM] speed=S jobs=A/B load=L`.
pub fn parse_listcs_line(line: &str) -> Option<IceHost> {
    let l = line.trim();
    let (name, rest) = l.split_once(" (")?;
    let (addr, rest) = rest.split_once(')')?;
    if !rest.contains("jobs=") || name.starts_with("200") {
        return None; // the greeting, or a summary line
    }
    let field = |k: &str| {
        rest.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .unwrap_or("")
            .to_string()
    };
    Some(IceHost {
        name: name.to_string(),
        addr: addr.to_string(),
        jobs: field("jobs="),
        load: field("load="),
    })
}

/// Ask icecc-scheduler's text interface (its port + 1) for its compile servers.
pub fn icecc_listcs(host: &str, port: u16) -> Result<Vec<IceHost>, String> {
    let text_port = port.checked_add(1).ok_or("bad port")?;
    let addr = (host, text_port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or("no address")?;
    let stream = TcpStream::connect_timeout(&addr, CONNECT).map_err(|e| e.to_string())?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(3)));
    let mut w = stream.try_clone().map_err(|e| e.to_string())?;
    w.write_all(b"listcs\r\n").map_err(|e| e.to_string())?;
    let mut hosts = Vec::new();
    for line in BufReader::new(stream).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line.starts_with("200 done") {
            let _ = w.write_all(b"quit\r\n");
            return Ok(hosts);
        }
        if line.starts_with("  ") {
            continue; // a job of the server above
        }
        if let Some(h) = parse_listcs_line(&line) {
            hosts.push(h);
        }
    }
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listcs_lines() {
        let h = parse_listcs_line(
            " remote1 (10.213.201.12:10245) [x86_64] speed=97.73 jobs=0/2 load=0",
        )
        .expect("parsed");
        assert_eq!(h.name, "remote1");
        assert_eq!(h.addr, "10.213.201.12:10245");
        assert_eq!(h.jobs, "0/2");
        assert_eq!(h.load, "0");
        assert!(parse_listcs_line("200 done").is_none());
        assert!(
            parse_listcs_line("200-ICECC 1.4.0: 71s uptime, 3 hosts, 0 jobs in queue (31 total)")
                .is_none()
        );
    }
}
