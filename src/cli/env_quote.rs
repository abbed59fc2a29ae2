//! Writing `toolchainkit env` values so that reading them back runs nothing: every byte of
//! a value is data in every format, and only the secret references (`${VAR}`) expand, in
//! the formats whose reader expands them.
//!
//! A value is literal bytes and references ([`Piece`]). The rule per format:
//!
//! - `sh`: `export NAME=` + literals in single quotes (`'` written `'\''`) + references as
//!   `"${VAR}"`. Inside single quotes a POSIX shell gives every byte but `'` its literal
//!   meaning, newlines, carriage returns and non-UTF-8 bytes included; a double-quoted
//!   parameter expansion is not split, globbed or evaluated again.
//! - `fish`: `set -gx -- NAME` + literals in single quotes (`\` and `'` escaped with `\`,
//!   the only escapes fish reads there) + references as `"$VAR"`. `--` ends `set`'s options,
//!   so a value starting with `-` is not one. fish keeps non-UTF-8 bytes as they are.
//! - `dotenv`: one `NAME='...'` or `NAME="..."` line read the same way by `set -a; . FILE`
//!   (POSIX sh) and by python-dotenv. python-dotenv expands `${...}` even in single quotes,
//!   reads `\\` and `\'` escapes there, knows no `\$` or `` \` `` in double quotes and turns
//!   a carriage return into a newline, so: single quotes when the value has no `'`, `\` or
//!   `${`; else double quotes (escaping `\` and `"`) when it has no `$` or backtick;
//!   references only in double quotes; a value neither form can carry (or with a carriage
//!   return or non-UTF-8 bytes) is refused, naming the variable.
//! - `powershell`: `$env:NAME = ''` + ` + ` terms: printable ASCII in single quotes (`'`
//!   doubled), every other character as `[char]0xHHHH` (UTF-16 units), references as
//!   `$env:VAR`. The output is pure ASCII, so neither the script's encoding nor
//!   PowerShell's typographic quotes (U+2018..U+201B also end a single-quoted string) can
//!   change its meaning; a single-quoted string expands nothing. Non-UTF-8 is refused.
//! - `github` (the `$GITHUB_ENV` file): `NAME<<DELIM`, the value, `DELIM`, with a random
//!   delimiter that does not occur in the value. The runner expands nothing, so a value
//!   with a reference is left out (the caller says how to set it). Non-UTF-8 and a value
//!   ending in a carriage return (the Windows runner would drop it) are refused.
//! - `json`: data, not code; `parts` keeps literals and references apart. Non-UTF-8 is
//!   refused.
//!
//! Everywhere: a NUL byte cannot be in an environment variable and is refused, and a
//! name must be `[A-Za-z_][A-Za-z0-9_]*`.

use std::fmt::Write as _;

/// One piece of a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Literal bytes (a path may not be UTF-8).
    Bytes(Vec<u8>),
    /// The value of this environment variable (a secret), expanded by the reader.
    Ref(String),
}

/// One variable to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub name: String,
    pub pieces: Vec<Piece>,
}

impl Entry {
    pub(crate) fn refs(&self) -> Vec<&str> {
        self.pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Ref(v) => Some(v.as_str()),
                Piece::Bytes(_) => None,
            })
            .collect()
    }

    fn literal_bytes(&self) -> impl Iterator<Item = &[u8]> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Bytes(b) => Some(b.as_slice()),
            Piece::Ref(_) => None,
        })
    }

    /// The literal pieces as text, or why not.
    fn utf8_pieces(&self, format: &str) -> Result<Vec<Utf8Piece<'_>>, String> {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Bytes(b) => std::str::from_utf8(b).map(Utf8Piece::Text).map_err(|_| {
                    self.refuse(
                        format,
                        "its value is not valid UTF-8 (a non-UTF-8 path), which this format cannot carry; use --format sh or fish",
                    )
                }),
                Piece::Ref(v) => Ok(Utf8Piece::Ref(v)),
            })
            .collect()
    }

    fn refuse(&self, format: &str, why: &str) -> String {
        format!("cannot write `{}` as {format}: {why}", self.name)
    }
}

enum Utf8Piece<'a> {
    Text(&'a str),
    Ref(&'a str),
}

/// True for a portable environment variable name.
pub(crate) fn is_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// What holds for every format: a name, no NUL, references to valid names.
pub(crate) fn check(e: &Entry) -> Result<(), String> {
    if !is_name(&e.name) {
        return Err(format!(
            "cannot print `{}`: not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
            e.name.escape_debug()
        ));
    }
    if e.literal_bytes().any(|b| b.contains(&0)) {
        return Err(format!(
            "cannot print `{}`: its value contains a NUL byte, which no environment variable can hold (check the setting it comes from with `toolchainkit config`)",
            e.name
        ));
    }
    if let Some(bad) = e.refs().into_iter().find(|r| !is_name(r)) {
        return Err(format!(
            "cannot print `{}`: it references `{}`, which is not an environment variable name",
            e.name,
            bad.escape_debug()
        ));
    }
    Ok(())
}

/// `export NAME='...'"${VAR}"...`
pub(crate) fn sh(e: &Entry) -> Result<Vec<u8>, String> {
    check(e)?;
    let mut out = format!("export {}=", e.name).into_bytes();
    if e.pieces.is_empty() {
        out.extend_from_slice(b"''");
    }
    for p in &e.pieces {
        match p {
            Piece::Bytes(b) => {
                out.push(b'\'');
                for &c in b {
                    if c == b'\'' {
                        out.extend_from_slice(b"'\\''");
                    } else {
                        out.push(c);
                    }
                }
                out.push(b'\'');
            }
            Piece::Ref(v) => out.extend_from_slice(format!("\"${{{v}}}\"").as_bytes()),
        }
    }
    out.push(b'\n');
    Ok(out)
}

/// `set -gx -- NAME '...'"$VAR"...`
pub(crate) fn fish(e: &Entry) -> Result<Vec<u8>, String> {
    check(e)?;
    let mut out = format!("set -gx -- {} ", e.name).into_bytes();
    if e.pieces.is_empty() {
        out.extend_from_slice(b"''");
    }
    for p in &e.pieces {
        match p {
            Piece::Bytes(b) => {
                out.push(b'\'');
                for &c in b {
                    if c == b'\'' || c == b'\\' {
                        out.push(b'\\');
                    }
                    out.push(c);
                }
                out.push(b'\'');
            }
            Piece::Ref(v) => out.extend_from_slice(format!("\"${v}\"").as_bytes()),
        }
    }
    out.push(b'\n');
    Ok(out)
}

/// `NAME='...'` or `NAME="...${VAR}..."`, read alike by POSIX sh and python-dotenv.
pub(crate) fn dotenv(e: &Entry) -> Result<Vec<u8>, String> {
    check(e)?;
    let pieces = e.utf8_pieces("dotenv")?;
    let text: String = pieces
        .iter()
        .filter_map(|p| match p {
            Utf8Piece::Text(t) => Some(*t),
            Utf8Piece::Ref(_) => None,
        })
        .collect();
    if text.contains('\r') {
        return Err(e.refuse(
            "dotenv",
            "its value holds a carriage return, which dotenv readers turn into a newline; use --format sh or json",
        ));
    }
    let has_refs = !e.refs().is_empty();
    let single_ok = !has_refs && !text.contains(['\'', '\\']) && !text.contains("${");
    let double_ok = !text.contains(['$', '`']);
    let mut out = format!("{}=", e.name);
    if single_ok {
        out.push('\'');
        out.push_str(&text);
        out.push('\'');
    } else if double_ok {
        out.push('"');
        for p in &pieces {
            match p {
                Utf8Piece::Text(t) => {
                    for c in t.chars() {
                        if c == '\\' || c == '"' {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                }
                Utf8Piece::Ref(v) => {
                    let _ = write!(out, "${{{v}}}");
                }
            }
        }
        out.push('"');
    } else {
        let why = if has_refs {
            "it references a secret, which needs double quotes, and its text holds `$` or a backtick, which sh and dotenv parsers read differently there; use --format sh or json"
        } else {
            "its value holds both a quote or backslash (or `${`) and a `$` or backtick, which sh and dotenv parsers cannot be made to read alike; use --format sh or json"
        };
        return Err(e.refuse("dotenv", why));
    }
    out.push('\n');
    Ok(out.into_bytes())
}

/// `$env:NAME = '' + '...' + [char]0x000A + $env:VAR`, pure ASCII.
pub(crate) fn powershell(e: &Entry) -> Result<Vec<u8>, String> {
    check(e)?;
    let pieces = e.utf8_pieces("PowerShell")?;
    let mut terms: Vec<String> = Vec::new();
    for p in &pieces {
        match p {
            Utf8Piece::Text(t) => {
                let mut run = String::new();
                for c in t.chars() {
                    if (' '..='~').contains(&c) {
                        if c == '\'' {
                            run.push('\'');
                        }
                        run.push(c);
                    } else {
                        if !run.is_empty() {
                            terms.push(format!("'{run}'"));
                            run.clear();
                        }
                        let mut units = [0u16; 2];
                        for u in c.encode_utf16(&mut units) {
                            terms.push(format!("[char]0x{u:04X}"));
                        }
                    }
                }
                if !run.is_empty() {
                    terms.push(format!("'{run}'"));
                }
            }
            Utf8Piece::Ref(v) => terms.push(format!("$env:{v}")),
        }
    }
    // A leading string makes every `+` a string concatenation ([char] + [char] adds).
    if !terms.first().is_some_and(|t| t.starts_with('\'')) {
        terms.insert(0, "''".into());
    }
    Ok(format!("$env:{} = {}\n", e.name, terms.join(" + ")).into_bytes())
}

/// `NAME<<DELIM` + value + `DELIM`, or `None` for a value that references a secret.
/// `random` gives fresh hex for delimiters.
pub(crate) fn github(
    e: &Entry,
    random: &mut dyn FnMut() -> String,
) -> Result<Option<Vec<u8>>, String> {
    check(e)?;
    if !e.refs().is_empty() {
        return Ok(None);
    }
    let pieces = e.utf8_pieces("a GitHub env file")?;
    let mut value = String::new();
    for p in &pieces {
        if let Utf8Piece::Text(t) = p {
            value.push_str(t);
        }
    }
    if value.ends_with('\r') {
        return Err(e.refuse(
            "a GitHub env file",
            "its value ends with a carriage return, which the runner on Windows drops; use --format sh",
        ));
    }
    let delim = loop {
        let d = format!("TOOLCHAINKIT_EOF_{}", random());
        if !value.contains(&d) {
            break d;
        }
    };
    Ok(Some(
        format!("{}<<{delim}\n{value}\n{delim}\n", e.name).into_bytes(),
    ))
}

/// `{"name", "value", "secret_refs", "parts"}`: `value` shows references as `${VAR}`;
/// `parts` (`{"text": ...}` or `{"env": VAR}`) is exact.
pub(crate) fn json(e: &Entry) -> Result<serde_json::Value, String> {
    check(e)?;
    let pieces = e.utf8_pieces("JSON")?;
    let mut shown = String::new();
    let mut parts = Vec::new();
    for p in &pieces {
        match p {
            Utf8Piece::Text(t) => {
                shown.push_str(t);
                parts.push(serde_json::json!({ "text": t }));
            }
            Utf8Piece::Ref(v) => {
                let _ = write!(shown, "${{{v}}}");
                parts.push(serde_json::json!({ "env": v }));
            }
        }
    }
    Ok(serde_json::json!({
        "name": e.name,
        "value": shown,
        "secret_refs": e.refs(),
        "parts": parts,
    }))
}

/// Fresh random hex (16 bytes) for heredoc delimiters.
pub(crate) fn random_hex() -> String {
    use std::io::Read;
    let mut buf = [0u8; 16];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_ok();
    if !ok {
        // Unpredictable enough for a delimiter that is also checked against the value.
        use sha2::Digest;
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let h = sha2::Sha256::digest(format!("{t:?}{}", std::process::id()));
        buf.copy_from_slice(&h[..16]);
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(name: &str, v: &[u8]) -> Entry {
        Entry {
            name: name.into(),
            pieces: vec![Piece::Bytes(v.to_vec())],
        }
    }

    fn s(b: Vec<u8>) -> String {
        String::from_utf8(b).expect("utf8")
    }

    #[test]
    fn sh_quotes_every_byte() {
        assert_eq!(
            s(sh(&lit("A", b"it's $(x) `y` \\ \"z\"\n")).expect("sh")),
            "export A='it'\\''s $(x) `y` \\ \"z\"\n'\n"
        );
        let e = Entry {
            name: "U".into(),
            pieces: vec![
                Piece::Bytes(b"redis://".to_vec()),
                Piece::Ref("PW".into()),
                Piece::Bytes(b"@h:1".to_vec()),
            ],
        };
        assert_eq!(
            s(sh(&e).expect("sh")),
            "export U='redis://'\"${PW}\"'@h:1'\n"
        );
        assert_eq!(
            sh(&lit("A", b"\xff'")).expect("sh"),
            b"export A='\xff'\\'''\n"
        );
        assert_eq!(
            s(sh(&Entry {
                name: "E".into(),
                pieces: vec![]
            })
            .expect("sh")),
            "export E=''\n"
        );
    }

    #[test]
    fn nul_and_bad_names_are_refused_everywhere() {
        let nul = lit("SCCACHE_BUCKET", b"a\0b");
        for r in [
            sh(&nul),
            fish(&nul),
            dotenv(&nul),
            powershell(&nul),
            json(&nul).map(|_| Vec::new()),
            github(&nul, &mut || "00".into()).map(|_| Vec::new()),
        ] {
            let err = r.expect_err("NUL refused");
            assert!(
                err.contains("`SCCACHE_BUCKET`") && err.contains("NUL"),
                "{err}"
            );
        }
        assert!(sh(&lit("A=B", b"x")).is_err());
        assert!(sh(&lit("$(x)", b"x")).is_err());
        let bad_ref = Entry {
            name: "A".into(),
            pieces: vec![Piece::Ref("X;rm".into())],
        };
        assert!(sh(&bad_ref).is_err());
    }

    #[test]
    fn fish_escapes_backslash_and_quote_and_ends_options() {
        assert_eq!(
            s(fish(&lit("A", b"-e 'q' \\ $x")).expect("fish")),
            "set -gx -- A '-e \\'q\\' \\\\ $x'\n"
        );
    }

    #[test]
    fn dotenv_picks_a_form_both_readers_agree_on() {
        let d = |v: &[u8]| dotenv(&lit("A", v)).map(s);
        assert_eq!(d(b"/a b/$(x) `y`").as_deref(), Ok("A='/a b/$(x) `y`'\n"));
        assert_eq!(
            d(b"it's \\ \"q\"").as_deref(),
            Ok("A=\"it's \\\\ \\\"q\\\"\"\n")
        );
        assert_eq!(d(b"l1\nl2").as_deref(), Ok("A='l1\nl2'\n"));
        for refused in [
            &b"${HOME}"[..],
            b"${HOME}\\",
            b"it's $x",
            b"a\\`b`",
            b"cr\r",
            b"\xff",
        ] {
            let err = d(refused).expect_err("refused");
            assert!(err.contains("`A`"), "{err}");
        }
        let e = Entry {
            name: "U".into(),
            pieces: vec![
                Piece::Bytes(b"redis://".to_vec()),
                Piece::Ref("PW".into()),
                Piece::Bytes(b"@h\"".to_vec()),
            ],
        };
        assert_eq!(
            s(dotenv(&e).expect("dotenv")),
            "U=\"redis://${PW}@h\\\"\"\n"
        );
    }

    #[test]
    fn powershell_is_ascii_with_doubled_quotes() {
        let e = Entry {
            name: "A".into(),
            pieces: vec![
                Piece::Bytes("’; x ' \n é😀".as_bytes().to_vec()),
                Piece::Ref("PW".into()),
            ],
        };
        let out = s(powershell(&e).expect("ps"));
        assert_eq!(
            out,
            "$env:A = '' + [char]0x2019 + '; x '' ' + [char]0x000A + ' ' + [char]0x00E9 + [char]0xD83D + [char]0xDE00 + $env:PW\n"
        );
        assert!(out.is_ascii());
        assert_eq!(
            s(powershell(&lit("A", b"plain")).expect("ps")),
            "$env:A = 'plain'\n"
        );
        assert!(powershell(&lit("A", b"\xff")).is_err());
    }

    #[test]
    fn github_heredoc_with_a_delimiter_not_in_the_value() {
        let mut n = 0;
        let mut rnd = || {
            n += 1;
            format!("{n}")
        };
        let out = github(&lit("A", b"x TOOLCHAINKIT_EOF_1\ny"), &mut rnd)
            .expect("github")
            .expect("printed");
        assert_eq!(
            s(out),
            "A<<TOOLCHAINKIT_EOF_2\nx TOOLCHAINKIT_EOF_1\ny\nTOOLCHAINKIT_EOF_2\n"
        );
        let with_ref = Entry {
            name: "A".into(),
            pieces: vec![Piece::Ref("PW".into())],
        };
        assert_eq!(github(&with_ref, &mut rnd), Ok(None));
        assert!(github(&lit("A", b"x\r"), &mut rnd).is_err());
        assert!(github(&lit("A", b"\xfe"), &mut rnd).is_err());
        assert_eq!(random_hex().len(), 32);
        assert_ne!(random_hex(), random_hex());
    }

    #[test]
    fn json_keeps_parts_apart() {
        let e = Entry {
            name: "U".into(),
            pieces: vec![
                Piece::Bytes(b"${NOT_A_REF}".to_vec()),
                Piece::Ref("PW".into()),
            ],
        };
        let v = json(&e).expect("json");
        assert_eq!(v["value"], "${NOT_A_REF}${PW}");
        assert_eq!(
            v["parts"],
            serde_json::json!([{"text": "${NOT_A_REF}"}, {"env": "PW"}])
        );
        assert!(json(&lit("A", b"\xff")).is_err());
    }
}
