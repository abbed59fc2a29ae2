//! sccache's client/server wire format, written by hand: the one request the native client
//! sends (`Request::Compile`) and the two replies it reads (`Response::Compile`,
//! `Response::CompileFinished`).
//!
//! Checked against sccache 0.16.0 (`src/protocol.rs`, `src/util.rs`
//! `write_length_prefixed_bincode`, `src/client.rs` `read_one_response`, the server's
//! `LengthDelimitedCodec`): each message is a 4-byte big-endian length, then the value as
//! `bincode::serialize` (bincode 1's free functions) writes it: little-endian fixed-width
//! integers, enum variants as a `u32` index, `Option` as a `u8` tag (0 `None`, 1 `Some`),
//! sequences, strings and byte vectors as a `u64` length then the items, structs and
//! tuples as their fields in order. serde writes an `OsString` on unix as the newtype
//! variant `Unix` (index 0) of an enum holding its bytes (`Windows` is index 1).
//!
//! The variant indices are those of 0.16.0 (`Request::Compile` = 4, `Response::Compile` = 0,
//! `Response::CompileFinished` = 5, `CompileResponse` `CompileStarted` / `UnhandledCompile`
//! / `UnsupportedCompiler` = 0 / 1 / 2, `ColorMode` `Off` / `On` / `Auto` = 0 / 1 / 2).
//! They have moved before (0.7.7 inserted a variant), which is why only versions on
//! `native::ALLOWED_VERSIONS` are spoken to this way.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// `Request::Compile`'s variant index.
const REQUEST_COMPILE: u32 = 4;
/// `Response::Compile`'s variant index.
const RESPONSE_COMPILE: u32 = 0;
/// `Response::CompileFinished`'s variant index.
const RESPONSE_COMPILE_FINISHED: u32 = 5;
/// The `Unix` variant of serde's `OsString` representation.
const OS_STRING_UNIX: u32 = 0;
/// The server refuses frames longer than this unless `SCCACHE_MAX_FRAME_LENGTH` says
/// otherwise (tokio's `LengthDelimitedCodec` default: 8 MiB).
pub const MAX_FRAME: usize = 8 * 1024 * 1024;

/// A compile request, as the sccache client builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compile<'a> {
    /// The compiler, absolute.
    pub exe: &'a OsStr,
    pub cwd: &'a OsStr,
    pub args: &'a [OsString],
    pub env_vars: &'a [(OsString, OsString)],
}

/// The server's first reply to a compile request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileResponse {
    /// The server runs the compile; a `CompileFinished` follows.
    Started,
    /// The server will not run it (not a compile it can cache): the client compiles.
    Unhandled,
    /// The server does not know this compiler; the text says why.
    UnsupportedCompiler(OsString),
}

/// `ColorMode`: what the compile's arguments say about colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    Off,
    On,
    Auto,
}

/// The result of a compile the server ran or served from its cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileFinished {
    pub retcode: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub color_mode: ColorMode,
}

/// A reply the native client reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Compile(CompileResponse),
    Finished(CompileFinished),
}

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes end before the value does.
    Truncated,
    /// A variant index or tag this client does not know (another response, another
    /// version).
    Unexpected(&'static str, u32),
    /// Bytes left over after the value.
    Trailing(usize),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Truncated => write!(f, "message ends early"),
            DecodeError::Unexpected(what, v) => write!(f, "unexpected {what} {v}"),
            DecodeError::Trailing(n) => write!(f, "{n} bytes after the message"),
        }
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u64).to_le_bytes());
    out.extend_from_slice(b);
}

fn put_os(out: &mut Vec<u8>, s: &OsStr) {
    put_u32(out, OS_STRING_UNIX);
    put_bytes(out, s.as_bytes());
}

/// The whole frame for a compile request: length prefix and body.
pub fn encode_compile(c: &Compile<'_>) -> Vec<u8> {
    let size = 4
        + 4
        + 12
        + c.exe.len()
        + 12
        + c.cwd.len()
        + 8
        + c.args.iter().map(|a| 12 + a.len()).sum::<usize>()
        + 8
        + c.env_vars
            .iter()
            .map(|(k, v)| 24 + k.len() + v.len())
            .sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&[0; 4]);
    put_u32(&mut out, REQUEST_COMPILE);
    put_os(&mut out, c.exe);
    put_os(&mut out, c.cwd);
    out.extend_from_slice(&(c.args.len() as u64).to_le_bytes());
    for a in c.args {
        put_os(&mut out, a);
    }
    out.extend_from_slice(&(c.env_vars.len() as u64).to_le_bytes());
    for (k, v) in c.env_vars {
        put_os(&mut out, k);
        put_os(&mut out, v);
    }
    let len = u32::try_from(out.len() - 4).unwrap_or(u32::MAX);
    out[..4].copy_from_slice(&len.to_be_bytes());
    out
}

/// A cursor over a frame's body.
struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.b.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(self.u32()? as i32)
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn bytes(&mut self) -> Result<Vec<u8>, DecodeError> {
        let n = self.u64()?;
        let n = usize::try_from(n).map_err(|_| DecodeError::Truncated)?;
        Ok(self.take(n)?.to_vec())
    }
    fn os(&mut self) -> Result<OsString, DecodeError> {
        match self.u32()? {
            OS_STRING_UNIX => Ok(OsString::from_vec(self.bytes()?)),
            v => Err(DecodeError::Unexpected("OsString variant", v)),
        }
    }
    fn opt_i32(&mut self) -> Result<Option<i32>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.i32()?)),
            t => Err(DecodeError::Unexpected("Option tag", u32::from(t))),
        }
    }
}

/// Decode a frame's body (without its length prefix).
pub fn decode_response(body: &[u8]) -> Result<Response, DecodeError> {
    let mut r = Reader { b: body };
    let resp = match r.u32()? {
        RESPONSE_COMPILE => Response::Compile(match r.u32()? {
            0 => CompileResponse::Started,
            1 => CompileResponse::Unhandled,
            2 => CompileResponse::UnsupportedCompiler(r.os()?),
            v => return Err(DecodeError::Unexpected("CompileResponse variant", v)),
        }),
        RESPONSE_COMPILE_FINISHED => Response::Finished(CompileFinished {
            retcode: r.opt_i32()?,
            signal: r.opt_i32()?,
            stdout: r.bytes()?,
            stderr: r.bytes()?,
            color_mode: match r.u32()? {
                0 => ColorMode::Off,
                1 => ColorMode::On,
                2 => ColorMode::Auto,
                v => return Err(DecodeError::Unexpected("ColorMode variant", v)),
            },
        }),
        v => return Err(DecodeError::Unexpected("Response variant", v)),
    };
    // bincode's free functions allow trailing bytes; a well-formed reply has none, so
    // any would mean this is not the format we think it is.
    if !r.b.is_empty() {
        return Err(DecodeError::Trailing(r.b.len()));
    }
    Ok(resp)
}

/// Encode a reply the way the server does (for tests of the decoder and of the client).
pub fn encode_response(resp: &Response) -> Vec<u8> {
    let mut out = vec![0; 4];
    match resp {
        Response::Compile(c) => {
            put_u32(&mut out, RESPONSE_COMPILE);
            match c {
                CompileResponse::Started => put_u32(&mut out, 0),
                CompileResponse::Unhandled => put_u32(&mut out, 1),
                CompileResponse::UnsupportedCompiler(s) => {
                    put_u32(&mut out, 2);
                    put_os(&mut out, s);
                }
            }
        }
        Response::Finished(f) => {
            put_u32(&mut out, RESPONSE_COMPILE_FINISHED);
            for o in [f.retcode, f.signal] {
                match o {
                    None => out.push(0),
                    Some(v) => {
                        out.push(1);
                        out.extend_from_slice(&v.to_le_bytes());
                    }
                }
            }
            put_bytes(&mut out, &f.stdout);
            put_bytes(&mut out, &f.stderr);
            put_u32(
                &mut out,
                match f.color_mode {
                    ColorMode::Off => 0,
                    ColorMode::On => 1,
                    ColorMode::Auto => 2,
                },
            );
        }
    }
    let len = u32::try_from(out.len() - 4).unwrap_or(u32::MAX);
    out[..4].copy_from_slice(&len.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes `bincode::serialize(&Request::Compile(Compile { exe: "/cc", cwd: "/w",
    /// args: ["-c"], env_vars: [("A", "b")] }))` produces, written out field by field.
    #[test]
    fn compile_request_bytes() {
        let args = vec![OsString::from("-c")];
        let env = vec![(OsString::from("A"), OsString::from("b"))];
        let frame = encode_compile(&Compile {
            exe: OsStr::new("/cc"),
            cwd: OsStr::new("/w"),
            args: &args,
            env_vars: &env,
        });
        let mut want: Vec<u8> = Vec::new();
        want.extend([4, 0, 0, 0]); // Request::Compile
        want.extend([0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]); // Unix, len 3
        want.extend(b"/cc");
        want.extend([0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
        want.extend(b"/w");
        want.extend([1, 0, 0, 0, 0, 0, 0, 0]); // one arg
        want.extend([0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
        want.extend(b"-c");
        want.extend([1, 0, 0, 0, 0, 0, 0, 0]); // one pair
        want.extend([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        want.extend(b"A");
        want.extend([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        want.extend(b"b");
        assert_eq!(&frame[..4], &(want.len() as u32).to_be_bytes());
        assert_eq!(&frame[4..], &want[..]);
    }

    #[test]
    fn non_utf8_bytes_pass_unchanged() {
        let args = vec![OsString::from_vec(vec![0xff, 0xfe])];
        let frame = encode_compile(&Compile {
            exe: OsStr::new("/cc"),
            cwd: OsStr::new("/"),
            args: &args,
            env_vars: &[],
        });
        assert!(frame.windows(2).any(|w| w == [0xff, 0xfe]));
    }

    #[test]
    fn replies_round_trip() {
        let cases = [
            Response::Compile(CompileResponse::Started),
            Response::Compile(CompileResponse::Unhandled),
            Response::Compile(CompileResponse::UnsupportedCompiler("no idea".into())),
            Response::Finished(CompileFinished {
                retcode: Some(1),
                signal: None,
                stdout: b"out".to_vec(),
                stderr: b"\x1b[01;31merror\x1b[0m".to_vec(),
                color_mode: ColorMode::On,
            }),
            Response::Finished(CompileFinished {
                retcode: None,
                signal: Some(9),
                stdout: Vec::new(),
                stderr: Vec::new(),
                color_mode: ColorMode::Auto,
            }),
            Response::Finished(CompileFinished {
                retcode: Some(-2),
                signal: None,
                stdout: Vec::new(),
                stderr: b"sccache: encountered fatal error\n".to_vec(),
                color_mode: ColorMode::Off,
            }),
        ];
        for c in cases {
            let frame = encode_response(&c);
            let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
            assert_eq!(len, frame.len() - 4);
            assert_eq!(decode_response(&frame[4..]), Ok(c));
        }
    }

    #[test]
    fn compile_started_is_eight_bytes() {
        // Response::Compile (0) then CompileResponse::CompileStarted (0).
        assert_eq!(
            decode_response(&[0, 0, 0, 0, 0, 0, 0, 0]),
            Ok(Response::Compile(CompileResponse::Started))
        );
    }

    #[test]
    fn malformed_replies_are_errors() {
        // Response::Stats (2) is not something a compile gets.
        assert_eq!(
            decode_response(&[2, 0, 0, 0]),
            Err(DecodeError::Unexpected("Response variant", 2))
        );
        assert_eq!(
            decode_response(&[0, 0, 0, 0, 7, 0, 0, 0]),
            Err(DecodeError::Unexpected("CompileResponse variant", 7))
        );
        assert_eq!(decode_response(&[0, 0, 0]), Err(DecodeError::Truncated));
        assert_eq!(
            decode_response(&[0, 0, 0, 0, 0, 0, 0, 0, 9]),
            Err(DecodeError::Trailing(1))
        );
        // A byte vector that claims more bytes than there are.
        let mut b = vec![5, 0, 0, 0, 0, 0];
        b.extend(u64::MAX.to_le_bytes());
        assert_eq!(decode_response(&b), Err(DecodeError::Truncated));
        // An Option tag that is neither 0 nor 1.
        assert_eq!(
            decode_response(&[5, 0, 0, 0, 2]),
            Err(DecodeError::Unexpected("Option tag", 2))
        );
    }
}
