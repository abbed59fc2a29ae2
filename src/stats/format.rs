//! The on-disk format of the stats file: a header line and two checksummed slots.
//!
//! ```text
//! offset 0           "toolchainkit-stats 2 SLOT\n", padded with spaces to 64 bytes
//! offset 64          slot 0 (SLOT bytes)
//! offset 64 + SLOT   slot 1 (SLOT bytes)
//! a slot             "SEQ LEN FNV\n" then LEN bytes of body (FNV: FNV-1a 64 of the body, hex)
//! the body           "since N", "invocations N", "late_records N", one line
//!                    "o KEY COUNT NANOS" per outcome and "n TEXT" per notice
//! ```
//!
//! The file's content is the valid slot (length and checksum match) with the highest
//! sequence number. A writer fills the other slot, so a torn write can only damage the
//! record that was not the newest. Files written by earlier versions (one JSON document)
//! are read as they are and rewritten in this format by the next writer.

use std::collections::BTreeMap;

use super::{Bucket, Stats, VERSION};

/// The first bytes of every file in this format.
pub(crate) const MAGIC: &str = "toolchainkit-stats 2";
/// Length of the header line, padding included.
pub(crate) const HEADER_LEN: usize = 64;
/// The smallest slot; a slot grows (by rewriting the whole file) when a body outgrows it.
pub(crate) const MIN_SLOT: usize = 4096;
/// The largest slot. A body holds one line per outcome kind and per notice (a few KiB in
/// practice); nothing valid comes near this.
pub(crate) const MAX_SLOT: usize = 1 << 20;
/// The largest file a valid stats file can be, in either format: a bigger file at a stats
/// path is judged from its first bytes and never read whole (a multi-GB file would cost
/// every compile its size in memory and time).
pub(crate) const MAX_FILE: u64 = (HEADER_LEN + 2 * MAX_SLOT) as u64;
/// Longest slot record header: two u64s, 16 hex digits, separators.
const RECORD_HEADER_MAX: usize = 20 + 1 + 20 + 1 + 16 + 1;

/// Where the newest record of a slot file is, and its sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub slot: usize,
    pub newest: usize,
    pub seq: u64,
}

/// What a file's bytes hold.
#[derive(Debug)]
pub(crate) enum Decoded {
    /// No bytes (a file created but never written).
    Empty,
    Slots(Stats, Layout),
    /// A file written by an earlier version, as one JSON document.
    Legacy(Stats),
    /// Neither: why.
    Corrupt(String),
}

/// FNV-1a, 64 bits: detects a torn or stale slot; not a cryptographic digest.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Byte offset of slot `idx` (0 or 1).
pub(crate) fn slot_offset(slot: usize, idx: usize) -> u64 {
    (HEADER_LEN + idx * slot) as u64
}

/// Does a record with a body of `len` bytes fit in a slot?
pub(crate) fn fits(slot: usize, len: usize) -> bool {
    len + RECORD_HEADER_MAX <= slot
}

/// The slot size for a new file whose body is `len` bytes: room to grow at least 2x.
pub(crate) fn slot_size_for(len: usize) -> usize {
    (2 * (len + RECORD_HEADER_MAX))
        .next_power_of_two()
        .max(MIN_SLOT)
}

/// The body text of `stats`.
pub(crate) fn encode_body(stats: &Stats) -> Vec<u8> {
    use std::fmt::Write;
    let mut s = String::with_capacity(64 + 48 * stats.outcomes.len());
    let _ = writeln!(s, "since {}", stats.since);
    let _ = writeln!(s, "invocations {}", stats.invocations);
    let _ = writeln!(s, "late_records {}", stats.late_records);
    for (k, b) in &stats.outcomes {
        let _ = writeln!(s, "o {k} {} {}", b.count, b.nanos);
    }
    for (c, n) in &stats.causes {
        let _ = writeln!(s, "c {c} {n}");
    }
    for n in &stats.notices {
        let _ = writeln!(s, "n {}", n.replace(['\n', '\r'], " "));
    }
    s.into_bytes()
}

/// One slot's record: header line and body.
pub(crate) fn record(seq: u64, body: &[u8]) -> Vec<u8> {
    let mut r = format!("{seq} {} {:016x}\n", body.len(), fnv1a(body)).into_bytes();
    r.extend_from_slice(body);
    r
}

/// A whole new file: header, `rec` in slot 0, slot 1 zeroed (so later writes never extend
/// the file).
pub(crate) fn whole_file(slot: usize, rec: &[u8]) -> Vec<u8> {
    let mut out = format!("{MAGIC} {slot}").into_bytes();
    out.resize(HEADER_LEN - 1, b' ');
    out.push(b'\n');
    out.extend_from_slice(rec);
    out.resize(HEADER_LEN + 2 * slot, 0);
    out
}

fn parse_body(body: &str) -> Option<Stats> {
    let mut s = Stats {
        version: VERSION,
        since: 0,
        invocations: 0,
        outcomes: BTreeMap::new(),
        late_records: 0,
        notices: Vec::new(),
        causes: BTreeMap::new(),
    };
    for line in body.lines() {
        let (tag, rest) = line.split_once(' ')?;
        match tag {
            "since" => s.since = rest.parse().ok()?,
            "invocations" => s.invocations = rest.parse().ok()?,
            "late_records" => s.late_records = rest.parse().ok()?,
            "o" => {
                let mut it = rest.split(' ');
                let (k, c, n) = (it.next()?, it.next()?, it.next()?);
                let bucket = Bucket {
                    count: c.parse().ok()?,
                    nanos: n.parse().ok()?,
                };
                s.outcomes.insert(k.to_string(), bucket);
            }
            "c" => {
                let (c, n) = rest.split_once(' ')?;
                s.causes.insert(c.to_string(), n.parse().ok()?);
            }
            "n" => s.notices.push(rest.to_string()),
            _ => return None,
        }
    }
    Some(s)
}

fn parse_slot(bytes: &[u8]) -> Option<(u64, Stats)> {
    let nl = bytes
        .iter()
        .take(RECORD_HEADER_MAX)
        .position(|&b| b == b'\n')?;
    let head = std::str::from_utf8(&bytes[..nl]).ok()?;
    let mut it = head.split(' ');
    let seq: u64 = it.next()?.parse().ok()?;
    let len: usize = it.next()?.parse().ok()?;
    let sum = u64::from_str_radix(it.next()?, 16).ok()?;
    let body = bytes.get(nl + 1..nl + 1 + len)?;
    if fnv1a(body) != sum {
        return None;
    }
    Some((seq, parse_body(std::str::from_utf8(body).ok()?)?))
}

/// Were these bytes written by toolchainkit (any format version, intact or not)? The
/// slot format's header word, or a JSON document with the stats schema's own keys. Only
/// such a file is ever moved aside; anything else at a stats path is left untouched.
pub(crate) fn is_ours(bytes: &[u8]) -> bool {
    let name = MAGIC.split_once(' ').map_or(MAGIC, |(n, _)| n);
    if bytes.starts_with(format!("{name} ").as_bytes()) {
        return true;
    }
    bytes.first() == Some(&b'{')
        && serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(bytes).is_ok_and(
            |m| {
                ["version", "since", "invocations", "outcomes"]
                    .iter()
                    .all(|k| m.contains_key(*k))
            },
        )
}

/// Interpret a stats file's bytes.
pub(crate) fn decode(bytes: &[u8]) -> Decoded {
    if bytes.is_empty() {
        return Decoded::Empty;
    }
    if bytes.len() as u64 > MAX_FILE {
        return Decoded::Corrupt(too_large(bytes.len() as u64));
    }
    if bytes[0] == b'{' {
        return match serde_json::from_slice::<Stats>(bytes) {
            Ok(s) if s.version == VERSION => Decoded::Legacy(s),
            Ok(s) => Decoded::Corrupt(format!("unsupported version {}", s.version)),
            Err(e) => Decoded::Corrupt(format!("unreadable ({e})")),
        };
    }
    // "toolchainkit-stats FORMAT SLOT", padded.
    let (name, format) = MAGIC.split_once(' ').unwrap_or((MAGIC, ""));
    let header = bytes
        .get(..HEADER_LEN)
        .and_then(|h| std::str::from_utf8(h).ok());
    let mut words = header.unwrap_or_default().split_whitespace();
    let slot = match (words.next(), words.next(), words.next()) {
        (Some(n), Some(f), Some(slot)) if n == name && f == format => slot
            .parse::<usize>()
            .ok()
            .filter(|&s| (MIN_SLOT..=MAX_SLOT).contains(&s) && s.is_power_of_two()),
        (Some(n), Some(f), _) if n == name && f != format => {
            return Decoded::Corrupt(format!("unsupported format {f}"));
        }
        _ => None,
    };
    let Some(slot) = slot else {
        return Decoded::Corrupt("unreadable (not a toolchainkit stats file)".into());
    };
    let mut best: Option<(u64, usize, Stats)> = None;
    for idx in 0..2 {
        let off = HEADER_LEN + idx * slot;
        let Some(bytes) = bytes.get(off..(off + slot).min(bytes.len())) else {
            continue;
        };
        if let Some((seq, stats)) = parse_slot(bytes)
            && best.as_ref().is_none_or(|(b, _, _)| seq > *b)
        {
            best = Some((seq, idx, stats));
        }
    }
    match best {
        Some((seq, newest, stats)) => Decoded::Slots(stats, Layout { slot, newest, seq }),
        None => Decoded::Corrupt("unreadable (no intact record)".into()),
    }
}

/// Why a file of `len` bytes is not a valid stats file.
pub(crate) fn too_large(len: u64) -> String {
    format!("{len} bytes, larger than a stats file can be ({MAX_FILE} bytes)")
}

/// Read what a valid stats file can hold from `file`: all of it, or, for a larger file,
/// only its first bytes (enough for `is_ours` to recognise the header) and `Some(len)`.
/// Memory and time are bounded by `MAX_FILE` whatever lies at the path.
pub(crate) fn read_bounded(file: &mut std::fs::File) -> std::io::Result<(Vec<u8>, Option<u64>)> {
    use std::io::Read;
    let len = file.metadata()?.len();
    if len > MAX_FILE {
        let mut head = vec![0; HEADER_LEN];
        let n = file.read(&mut head)?;
        head.truncate(n);
        return Ok((head, Some(len)));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // A file that grows while it is read is still cut at the bound.
    file.take(MAX_FILE + 1).read_to_end(&mut bytes)?;
    Ok((bytes, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Stats {
        let mut s = Stats {
            since: 1_700_000_000,
            ..Stats::default()
        };
        s.add("hit.direct.local", 1_500_000);
        s.add("miss", 40_000_000);
        s.add("uncacheable.called_for_link", 3);
        s.late_records = 2;
        s.notices.push("moved aside\nand restarted".into());
        s
    }

    fn file_with(seq: u64, s: &Stats) -> (Vec<u8>, usize) {
        let body = encode_body(s);
        let slot = slot_size_for(body.len());
        (whole_file(slot, &record(seq, &body)), slot)
    }

    #[test]
    fn round_trip() {
        let s = sample();
        let (bytes, slot) = file_with(7, &s);
        assert_eq!(bytes.len(), HEADER_LEN + 2 * slot);
        let Decoded::Slots(got, layout) = decode(&bytes) else {
            panic!("not decoded")
        };
        let mut want = s.clone();
        want.notices = vec!["moved aside and restarted".into()];
        assert_eq!(got, want);
        assert_eq!(
            layout,
            Layout {
                slot,
                newest: 0,
                seq: 7
            }
        );
    }

    #[test]
    fn newest_intact_slot_wins_and_a_torn_one_is_ignored() {
        let mut s = sample();
        let (mut bytes, slot) = file_with(1, &s);
        s.add("miss", 1);
        let rec = record(2, &encode_body(&s));
        let off = slot_offset(slot, 1) as usize;
        bytes[off..off + rec.len()].copy_from_slice(&rec);
        let Decoded::Slots(got, layout) = decode(&bytes) else {
            panic!("not decoded")
        };
        assert_eq!((layout.newest, layout.seq, got.invocations), (1, 2, 4));
        // Tear the newest record: the older one is read instead.
        bytes[off + rec.len() - 3] ^= 0x55;
        let Decoded::Slots(got, layout) = decode(&bytes) else {
            panic!("not decoded")
        };
        assert_eq!((layout.newest, layout.seq, got.invocations), (0, 1, 3));
    }

    #[test]
    fn legacy_empty_and_garbage() {
        let s = sample();
        let json = serde_json::to_vec(&s).expect("json");
        assert!(matches!(decode(&json), Decoded::Legacy(got) if got == s));
        assert!(matches!(decode(b""), Decoded::Empty));
        assert!(matches!(decode(b"garbage"), Decoded::Corrupt(_)));
        assert!(matches!(decode(b"{\"version\":"), Decoded::Corrupt(_)));
        let (mut bytes, _) = file_with(1, &s);
        bytes[HEADER_LEN + 30] ^= 0x55;
        assert!(matches!(decode(&bytes), Decoded::Corrupt(_)));
    }

    #[test]
    fn slots_grow_for_large_bodies() {
        assert_eq!(slot_size_for(10), MIN_SLOT);
        let big = slot_size_for(5000);
        assert!(big >= 10_000 && big.is_power_of_two());
        assert!(fits(big, 5000) && !fits(MIN_SLOT, 5000));
    }
}
