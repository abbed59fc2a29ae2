//! ccache's storage helper protocol, version 1 (`doc/remote_storage_helper_spec.md` in
//! ccache's repository; checked against the client of ccache 4.14.2,
//! `src/ccache/storage/remote/client.cpp`): a greeting, then requests each answered in
//! turn. Integers are in host byte order (client and helper share the host).

use tokio::io::{AsyncRead, AsyncReadExt};

pub const PROTOCOL_VERSION: u8 = 0x01;
/// get/put/remove, info, exists.
pub const CAPABILITIES: [u8; 3] = [0x00, 0x01, 0x02];

/// The largest value accepted in a put (ccache's results are far smaller; a length past
/// this is a broken or hostile client, not a cache entry).
pub const MAX_VALUE: u64 = 1 << 31;

#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    Get(Vec<u8>),
    Put {
        key: Vec<u8>,
        overwrite: bool,
        value: Vec<u8>,
    },
    Remove(Vec<u8>),
    Stop,
    Info,
    Exists(Vec<u8>),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// `<ok>` (put, remove, stop).
    Ok,
    /// `<ok> <value>` (get).
    Value(Vec<u8>),
    /// `<noop>`: get: not found; put: not stored; remove: not removed.
    Noop,
    /// `<err> <msg>`.
    Err(String),
    /// `<ok> <bool>` (exists).
    Exists(bool),
    /// `<server_identity> <diagnostics>` (info; no status byte).
    Info {
        identity: String,
        diagnostics: Vec<String>,
    },
}

/// `<greeting> ::= <protocol_ver> <cap_len> <cap>*`.
pub fn greeting() -> Vec<u8> {
    let mut g = vec![PROTOCOL_VERSION, CAPABILITIES.len() as u8];
    g.extend_from_slice(&CAPABILITIES);
    g
}

/// The next request, or `None` when the client closed the connection between requests.
/// An unknown request code or an oversized value is an error (the connection ends).
pub async fn read_request<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Option<Request>> {
    let mut code = [0u8; 1];
    match r.read_exact(&mut code).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    Ok(Some(match code[0] {
        0x00 => Request::Get(read_key(r).await?),
        0x01 => {
            let key = read_key(r).await?;
            let flags = r.read_u8().await?;
            let len = read_u64_ne(r).await?;
            if len > MAX_VALUE {
                return Err(invalid(format!("value of {len} bytes refused")));
            }
            let mut value = vec![0u8; len as usize];
            r.read_exact(&mut value).await?;
            Request::Put {
                key,
                overwrite: flags & 1 == 1,
                value,
            }
        }
        0x02 => Request::Remove(read_key(r).await?),
        0x03 => Request::Stop,
        0x04 => Request::Info,
        0x05 => Request::Exists(read_key(r).await?),
        other => return Err(invalid(format!("unknown request 0x{other:02x}"))),
    }))
}

async fn read_key<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Vec<u8>> {
    let len = r.read_u8().await?;
    let mut key = vec![0u8; usize::from(len)];
    r.read_exact(&mut key).await?;
    Ok(key)
}

fn invalid(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

/// A `<u64>` in host byte order.
async fn read_u64_ne<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b).await?;
    Ok(u64::from_ne_bytes(b))
}

/// A `<msg>`: at most 255 bytes of UTF-8, cut at a character boundary.
fn push_msg(out: &mut Vec<u8>, msg: &str) {
    let mut end = msg.len().min(255);
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    out.push(end as u8);
    out.extend_from_slice(&msg.as_bytes()[..end]);
}

pub fn encode(reply: &Reply) -> Vec<u8> {
    let mut out = Vec::new();
    match reply {
        Reply::Ok => out.push(0x00),
        Reply::Value(v) => {
            out.reserve(9 + v.len());
            out.push(0x00);
            out.extend_from_slice(&(v.len() as u64).to_ne_bytes());
            out.extend_from_slice(v);
        }
        Reply::Noop => out.push(0x01),
        Reply::Err(m) => {
            out.push(0x02);
            push_msg(&mut out, m);
        }
        Reply::Exists(b) => out.extend_from_slice(&[0x00, u8::from(*b)]),
        Reply::Info {
            identity,
            diagnostics,
        } => {
            push_msg(&mut out, identity);
            let n = diagnostics.len().min(255);
            out.push(n as u8);
            for d in &diagnostics[..n] {
                push_msg(&mut out, d);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> std::io::Result<Option<Request>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(std::io::Error::other)?;
        let mut r = bytes;
        rt.block_on(read_request(&mut r))
    }

    #[test]
    fn requests_as_ccache_4_14_sends_them() {
        assert_eq!(
            parse(&[0x00, 2, 0xab, 0xcd]).ok().flatten(),
            Some(Request::Get(vec![0xab, 0xcd]))
        );
        let mut put = vec![0x01, 1, 0x07, 0x01];
        put.extend_from_slice(&3u64.to_ne_bytes());
        put.extend_from_slice(b"xyz");
        assert_eq!(
            parse(&put).ok().flatten(),
            Some(Request::Put {
                key: vec![7],
                overwrite: true,
                value: b"xyz".to_vec()
            })
        );
        assert_eq!(
            parse(&[0x05, 1, 9]).ok().flatten(),
            Some(Request::Exists(vec![9]))
        );
        assert_eq!(parse(&[0x03]).ok().flatten(), Some(Request::Stop));
        assert_eq!(parse(&[0x04]).ok().flatten(), Some(Request::Info));
        assert_eq!(
            parse(&[0x02, 1, 1]).ok().flatten(),
            Some(Request::Remove(vec![1]))
        );
        // A clean close between requests; a cut request and an unknown code are errors.
        assert!(matches!(parse(&[]), Ok(None)));
        assert!(parse(&[0x00, 4, 1]).is_err());
        assert!(parse(&[0x09]).is_err());
        let mut huge = vec![0x01, 0, 0];
        huge.extend_from_slice(&(MAX_VALUE + 1).to_ne_bytes());
        assert!(parse(&huge).is_err());
    }

    #[test]
    fn replies_and_greeting_encode_as_the_spec_says() {
        assert_eq!(greeting(), vec![1, 3, 0, 1, 2]);
        assert_eq!(encode(&Reply::Ok), vec![0]);
        assert_eq!(encode(&Reply::Noop), vec![1]);
        let mut v = vec![0];
        v.extend_from_slice(&2u64.to_ne_bytes());
        v.extend_from_slice(b"hi");
        assert_eq!(encode(&Reply::Value(b"hi".to_vec())), v);
        assert_eq!(encode(&Reply::Exists(true)), vec![0, 1]);
        assert_eq!(encode(&Reply::Err("no".into())), vec![2, 2, b'n', b'o']);
        // Messages are cut to 255 bytes at a character boundary.
        let long = "é".repeat(200);
        let e = encode(&Reply::Err(long));
        assert_eq!(e[1], 254);
        assert_eq!(e.len(), 256);
        assert_eq!(
            encode(&Reply::Info {
                identity: "t".into(),
                diagnostics: vec!["d".into()]
            }),
            vec![1, b't', 1, 1, b'd']
        );
    }
}
