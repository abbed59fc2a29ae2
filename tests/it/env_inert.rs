//! `toolchainkit env` output is inert for every byte (issue 12, item 4): hostile values put
//! into a real `.toolchainkit.toml` (remote bucket, region, endpoint, prefix, `extra`, the
//! cache directory) and a non-UTF-8 cache directory and project path are printed in every
//! format, then read back by the real consumers — dash and bash (`set -a; . FILE`), fish
//! (`source`), python-dotenv — and by a port of GitHub's runner parser and a strict
//! evaluator of the PowerShell subset toolchainkit writes. No payload may create a file,
//! the values read back must equal the configured ones byte for byte, the secret reference
//! must expand (to a hostile secret, still inert) where the format expands references, and
//! a value a format cannot carry (NUL anywhere, non-UTF-8 in dotenv/PowerShell/GitHub/JSON,
//! what sh and dotenv parsers read differently) is refused with the variable's name.

use crate::common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

const FORMATS: [&str; 6] = ["sh", "fish", "dotenv", "powershell", "github", "json"];
const SECRET_VAR: &str = "TK_TEST_SECRET";

type Env = BTreeMap<String, Vec<u8>>;

/// A hostile value, and whether dotenv can carry it in the sccache (no reference around
/// it) and the ccache (inside a value with a reference) configuration.
struct Case {
    value: String,
    dotenv_plain: bool,
    dotenv_with_ref: bool,
}

fn cases(m: &Path) -> Vec<Case> {
    let m = m.display();
    let c = |value: String, dotenv_plain, dotenv_with_ref| Case {
        value,
        dotenv_plain,
        dotenv_with_ref,
    };
    vec![
        c(format!("`touch {m}/backtick`"), true, false),
        c(format!("$(touch {m}/dollar-paren)"), true, false),
        c("${IFS}$HOME${PATH:+x}$((1+1))".into(), false, false),
        c("it's 'single' and \"double\"".into(), true, true),
        c(
            format!("back\\slash \\\\ \\n \\' \\\" \\$(touch {m}/bs) end\\"),
            false,
            false,
        ),
        c("line1\nline2\n".into(), true, true),
        c(format!("cr\rcrlf\r\n$(touch {m}/cr)"), false, false),
        c("-n".into(), true, true),
        c("--help".into(), true, true),
        c("=leading equals".into(), true, true),
        c(format!("; touch {m}/semicolon #"), true, true),
        c(
            format!("\u{2019}; touch {m}/smartquote; \u{2018}\u{201c}x\u{201d}"),
            true,
            true,
        ),
        c("%PATH% !x! ^& tab\there é ✓ 😀".into(), true, true),
        c(
            format!("}}\"'`$;|&<>*?[]~# $(touch {m}/mix) {{}}"),
            false,
            false,
        ),
        c(
            "TOOLCHAINKIT_EOF_\nTOOLCHAINKIT_EOF_x\nEOF\n".into(),
            true,
            true,
        ),
    ]
}

/// The secret the reference points at: hostile too, and it must stay data.
fn secret(m: &Path) -> String {
    format!(
        "s3cr$t `touch {0}/secret` $(touch {0}/secret2) '\"\\ ${{HOME}}",
        m.display()
    )
}

fn toml_str(v: &str) -> String {
    toml::Value::String(v.to_string()).to_string()
}

fn sccache_config(v: &str) -> String {
    let t = toml_str(v);
    let ep = toml_str(&format!("http://127.0.0.1:9/{v}"));
    format!(
        "[cache]\ntool = \"sccache\"\ndir = {t}\nsize_gb = 1\n\n[cache.remote]\ntype = \"s3\"\n\
         bucket = {t}\nregion = {t}\nendpoint = {ep}\nprefix = {t}\naccess_key_env = \"{SECRET_VAR}\"\n\
         extra = {{ SCCACHE_S3_SERVER_SIDE_ENCRYPTION = {t} }}\n"
    )
}

fn ccache_config(v: &str) -> String {
    let t = toml_str(v);
    let ep = toml_str(&format!("redis://127.0.0.1:9/{v}"));
    format!(
        "[cache]\ntool = \"ccache\"\ndir = {t}\n\n[cache.remote]\ntype = \"redis\"\n\
         endpoint = {ep}\npassword_env = \"{SECRET_VAR}\"\nextra = {{ connect-timeout = {t} }}\n"
    )
}

/// `toolchainkit env --format F` in `dir`.
fn env_out(w: &World, dir: &Path, format: &str, extra_env: &[(&str, &OsStr)]) -> Output {
    let mut c = w.tk();
    c.args(["env", "--format", format]).current_dir(dir);
    for (k, v) in extra_env {
        c.env(k, v);
    }
    c.output().expect("toolchainkit env")
}

/// `NAME=VALUE\0...` (from `env -0`) as a map.
fn parse_env0(bytes: &[u8]) -> Env {
    bytes
        .split(|&b| b == 0)
        .filter(|e| !e.is_empty())
        .filter_map(|e| {
            let i = e.iter().position(|&b| b == b'=')?;
            Some((
                String::from_utf8_lossy(&e[..i]).into_owned(),
                e[i + 1..].to_vec(),
            ))
        })
        .collect()
}

/// The variables a real reader sets from `file`.
fn read_back(w: &World, format: &str, file: &Path, scratch: &Path, secret: &str) -> Env {
    let run = |mut c: std::process::Command| -> Vec<u8> {
        let out = c
            .current_dir(scratch)
            .env(SECRET_VAR, secret)
            .output()
            .expect("reader");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "reader of {format} failed\n{}\n--- file ---\n{}",
            describe(&out),
            String::from_utf8_lossy(&read(file))
        );
        out.stdout
    };
    match format {
        "sh" | "dotenv-sh" | "dotenv-bash" => {
            let shell = if format == "dotenv-bash" {
                "bash"
            } else {
                "sh"
            };
            let mut c = w.cmd(shell);
            c.args(["-c", "set -a; . \"$1\"; env -0", "sh"]).arg(file);
            parse_env0(&run(c))
        }
        "bash" => {
            let mut c = w.cmd("bash");
            c.args(["-c", "set -a; . \"$1\"; env -0", "bash"]).arg(file);
            parse_env0(&run(c))
        }
        "fish" => {
            let fish = require("fish", "fish");
            let mut c = w.cmd(fish);
            c.args(["--no-config", "-c", "source $TK_ENV_FILE; env -0"])
                .env("TK_ENV_FILE", file);
            parse_env0(&run(c))
        }
        "dotenv-python" => {
            let mut c = w.cmd(dotenv_python());
            c.args([
                "-c",
                "import json, sys\nfrom dotenv import dotenv_values\nsys.stdout.write(json.dumps(dotenv_values(sys.argv[1])))",
            ])
            .arg(file);
            let v: BTreeMap<String, Option<String>> =
                serde_json::from_slice(&run(c)).expect("python-dotenv json");
            v.into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default().into_bytes()))
                .collect()
        }
        "github" => {
            // Appended to a file that already holds a variable, as $GITHUB_ENV would.
            let mut text = b"EXISTING=kept\n".to_vec();
            text.extend(read(file));
            let text = String::from_utf8(text).expect("the runner reads UTF-8");
            let mut env = github_env_file(&text).expect("GitHub's parser accepts it");
            assert_eq!(env.remove("EXISTING").as_deref(), Some(&b"kept"[..]));
            env
        }
        "powershell" => powershell_eval(&String::from_utf8_lossy(&read(file)), secret),
        "json" => {
            let doc: serde_json::Value = serde_json::from_slice(&read(file)).expect("json");
            let mut env = Env::new();
            for v in doc["variables"].as_array().expect("variables") {
                let mut val = Vec::new();
                for p in v["parts"].as_array().expect("parts") {
                    if let Some(t) = p["text"].as_str() {
                        val.extend_from_slice(t.as_bytes());
                    } else {
                        assert_eq!(p["env"], SECRET_VAR, "{v}");
                        val.extend_from_slice(secret.as_bytes());
                    }
                }
                env.insert(v["name"].as_str().expect("name").to_string(), val);
            }
            env
        }
        other => panic!("no reader for {other}"),
    }
}

/// GitHub Actions' runner (`SetEnvFileCommand`, Linux line endings), ported line by line:
/// `NAME=VALUE`, or `NAME<<DELIMITER` and lines up to one equal to the delimiter, the
/// newline before it not part of the value. Nothing is expanded.
fn github_env_file(text: &str) -> Result<Env, String> {
    fn read_line<'a>(text: &'a str, idx: &mut usize) -> Option<(&'a str, Option<&'static str>)> {
        if *idx >= text.len() {
            return None;
        }
        let start = *idx;
        match text[start..].find('\n') {
            None => {
                *idx = text.len();
                Some((&text[start..], None))
            }
            Some(lf) => {
                *idx = start + lf + 1;
                Some((&text[start..start + lf], Some("\n")))
            }
        }
    }
    let mut env = Env::new();
    let mut idx = 0;
    while let Some((line, _)) = read_line(text, &mut idx) {
        if line.is_empty() {
            continue;
        }
        let eq = line.find('=');
        let hd = line.find("<<");
        match (eq, hd) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                env.insert(line[..e].to_string(), line.as_bytes()[e + 1..].to_vec());
            }
            (e, Some(h)) if e.is_none_or(|e| h < e) => {
                let (name, delim) = (&line[..h], &line[h + 2..]);
                if name.is_empty() || delim.is_empty() {
                    return Err(format!("empty name or delimiter: {line}"));
                }
                let (start, mut end) = (idx, idx);
                loop {
                    match read_line(text, &mut idx) {
                        None => return Err(format!("delimiter {delim} not found")),
                        Some((l, _)) if l == delim => break,
                        Some((_, None)) => return Err("EOF marker missing new line".into()),
                        Some((_, Some(nl))) => end = idx - nl.len(),
                    }
                }
                let value = if end > start { &text[start..end] } else { "" };
                env.insert(name.to_string(), value.as_bytes().to_vec());
            }
            _ => return Err(format!("invalid format: {line}")),
        }
    }
    Ok(env)
}

/// A strict evaluator of the PowerShell toolchainkit writes, and nothing more:
/// `$env:NAME = TERM (+ TERM)*` with TERM one of a single-quoted string of printable ASCII
/// (`''` is a quote), `[char]0xHHHH`, or `$env:VAR`; `#` comment lines. Anything else fails
/// the test, so an output PowerShell could read differently cannot pass.
fn powershell_eval(text: &str, secret: &str) -> Env {
    assert!(text.is_ascii(), "PowerShell output must be ASCII: {text}");
    let mut env = Env::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let rest = line.strip_prefix("$env:").expect("assignment");
        let (name, mut expr) = rest.split_once(" = ").expect("` = `");
        assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        let mut units: Vec<u16> = Vec::new();
        loop {
            if let Some(r) = expr.strip_prefix('\'') {
                let mut chars = r.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    assert!(
                        (' '..='~').contains(&c),
                        "non-printable in a literal: {line}"
                    );
                    if c == '\'' {
                        if r[i + 1..].starts_with('\'') {
                            units.push(u16::from(b'\''));
                            chars.next();
                        } else {
                            end = Some(i + 1);
                            break;
                        }
                    } else {
                        units.push(c as u16);
                    }
                }
                expr = &r[end.expect("closing quote")..];
            } else if let Some(r) = expr.strip_prefix("[char]0x") {
                let hex = &r[..4];
                units.push(u16::from_str_radix(hex, 16).expect("hex"));
                expr = &r[4..];
            } else if let Some(r) = expr.strip_prefix("$env:") {
                let n = r
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(r.len());
                assert_eq!(&r[..n], SECRET_VAR);
                units.extend(secret.encode_utf16());
                expr = &r[n..];
            } else {
                panic!("unexpected term in {line}");
            }
            if expr.is_empty() {
                break;
            }
            expr = expr.strip_prefix(" + ").expect("` + ` between terms");
        }
        let s = String::from_utf16(&units).expect("valid UTF-16");
        env.insert(name.to_string(), s.into_bytes());
    }
    env
}

/// The python with python-dotenv that scripts/setup-tools.sh installs.
fn dotenv_python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-dotenv/bin/python");
    assert!(
        p.is_file(),
        "python-dotenv's venv is missing at {}: run `bash scripts/setup-tools.sh`",
        p.display()
    );
    p
}

/// What each format's readers are.
fn readers(format: &str) -> Vec<&'static str> {
    match format {
        "sh" => vec!["sh", "bash"],
        "fish" => vec!["fish"],
        "dotenv" => vec!["dotenv-sh", "dotenv-bash", "dotenv-python"],
        "powershell" => vec!["powershell"],
        "github" => vec!["github"],
        "json" => vec!["json"],
        _ => unreachable!(),
    }
}

/// The variables of `expected` that `got` must hold, byte for byte.
fn assert_round_trip(expected: &Env, got: &Env, what: &str) {
    for (k, v) in expected {
        assert_eq!(
            got.get(k).map(|g| String::from_utf8_lossy(g).into_owned()),
            Some(String::from_utf8_lossy(v).into_owned()),
            "{what}: {k}"
        );
        assert_eq!(got.get(k), Some(v), "{what}: {k} (bytes)");
    }
}

fn assert_nothing_ran(marker: &Path, scratch: &Path, what: &str) {
    let made: Vec<_> = fs::read_dir(marker)
        .expect("marker dir")
        .chain(fs::read_dir(scratch).expect("scratch dir"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    assert!(
        made.is_empty(),
        "{what}: a payload ran and created {made:?}"
    );
}

/// Print every format for the config in `proj`, read each back, compare with `expected`
/// (or the refusal `refused` predicts), and check nothing ran.
#[allow(clippy::too_many_arguments)]
fn check_all_formats(
    w: &World,
    proj: &Path,
    extra_env: &[(&str, &OsStr)],
    expected: &Env,
    with_ref: &[&str],
    refused: &dyn Fn(&str) -> bool,
    marker: &Path,
    label: &str,
) {
    let scratch = w.root().join("scratch");
    fs::create_dir_all(&scratch).expect("scratch");
    let secret = secret(marker);
    for format in FORMATS {
        let what = format!("{label}, --format {format}");
        let out = env_out(w, proj, format, extra_env);
        if refused(format) {
            assert_eq!(
                out.status.code(),
                Some(1),
                "{what} must be refused\n{}",
                describe(&out)
            );
            assert!(
                out.stdout.is_empty(),
                "{what}: nothing printed when refused"
            );
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("toolchainkit: error: cannot") && err.contains('`'),
                "{what}: the error names the variable\n{err}"
            );
            continue;
        }
        assert!(out.status.success(), "{what}\n{}", describe(&out));
        let file = w.root().join(format!("out.{format}"));
        fs::write(&file, &out.stdout).expect("write output");
        let mut want = expected.clone();
        if format == "github" {
            // References cannot be expanded there: those variables are left out, said on stderr.
            for name in with_ref {
                want.remove(*name);
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(
                    err.contains(&format!("{name} is left out")) && err.contains(SECRET_VAR),
                    "{what}\n{err}"
                );
            }
        } else {
            assert!(out.stderr.is_empty(), "{what}\n{}", describe(&out));
        }
        for reader in readers(format) {
            let got = read_back(w, reader, &file, &scratch, &secret);
            assert_round_trip(&want, &got, &format!("{what}, read by {reader}"));
            if format == "github" {
                for name in with_ref {
                    assert!(!got.contains_key(*name), "{what}: {name} must be left out");
                }
            }
            assert_nothing_ran(marker, &scratch, &format!("{what}, read by {reader}"));
        }
    }
}

#[test]
fn hostile_config_values_are_inert_in_every_format() {
    if skip_unless(&[
        Need::program("sh", "dash"),
        Need::program("bash", "bash"),
        Need::program("fish", "fish"),
        Need::file(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-dotenv/bin/python"),
            "run `bash scripts/setup-tools.sh`",
        ),
    ]) {
        return;
    }
    let old_ccache = crate::servers::repo().join(".tools/ccache-4.7/usr/bin/ccache");
    if skip_unless(&[Need::file(&old_ccache, "run `bash scripts/setup-tools.sh`")]) {
        return;
    }
    let mut w = World::new();
    // The project file is the user's own: its remote (with a credential) applies.
    w.trust_project();
    // A ccache without storage helpers: its URL carries the password, the hardest value
    // to print inertly (the helper's entry names the variable instead).
    w.set_env("TOOLCHAINKIT_CCACHE_PATH", &old_ccache);
    let marker = w.root().join("pwned");
    fs::create_dir_all(&marker).expect("marker");
    let secret = secret(&marker);
    for (i, case) in cases(&marker).into_iter().enumerate() {
        let v = &case.value;
        // sccache with S3: the value alone in several variables, beside a bare reference.
        let proj = w.root().join(format!("s{i}"));
        fs::create_dir_all(&proj).expect("proj");
        fs::write(proj.join(".toolchainkit.toml"), sccache_config(v)).expect("config");
        let json = env_out(&w, &proj, "json", &[]);
        let json = ok(json);
        let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
        assert_eq!(doc["tool"], "sccache");
        let mut expected = Env::new();
        let mut put = |k: &str, val: String| {
            expected.insert(k.to_string(), val.into_bytes());
        };
        put("SCCACHE_DIR", format!("{}/{v}/sccache", proj.display()));
        put("SCCACHE_CACHE_SIZE", "1024M".into());
        put("SCCACHE_BUCKET", v.clone());
        put("SCCACHE_REGION", v.clone());
        put("SCCACHE_ENDPOINT", format!("http://127.0.0.1:9/{v}"));
        put("SCCACHE_S3_KEY_PREFIX", v.trim_matches('/').to_string());
        put("SCCACHE_S3_SERVER_SIDE_ENCRYPTION", v.clone());
        put("AWS_ACCESS_KEY_ID", secret.clone());
        let plain = case.dotenv_plain;
        check_all_formats(
            &w,
            &proj,
            &[],
            &expected,
            &["AWS_ACCESS_KEY_ID"],
            &|f| f == "dotenv" && !plain,
            &marker,
            &format!("case {i} {v:?} (sccache)"),
        );

        // ccache with redis: the value around a reference in one URL.
        let proj = w.root().join(format!("c{i}"));
        fs::create_dir_all(&proj).expect("proj");
        fs::write(proj.join(".toolchainkit.toml"), ccache_config(v)).expect("config");
        let mut expected = Env::new();
        expected.insert(
            "CCACHE_DIR".into(),
            format!("{}/{v}/ccache", proj.display()).into_bytes(),
        );
        expected.insert(
            "CCACHE_REMOTE_STORAGE".into(),
            format!("redis://{secret}@127.0.0.1:9/{v}|connect-timeout={v}").into_bytes(),
        );
        let with_ref = case.dotenv_with_ref;
        check_all_formats(
            &w,
            &proj,
            &[],
            &expected,
            &["CCACHE_REMOTE_STORAGE"],
            &|f| f == "dotenv" && !with_ref,
            &marker,
            &format!("case {i} {v:?} (ccache)"),
        );
    }
}

#[test]
fn nul_in_a_value_is_refused_naming_the_variable() {
    let mut w = World::new();
    // The project file is the user's own: its remote (with a credential) applies.
    w.trust_project();
    fs::write(
        w.work.join(".toolchainkit.toml"),
        sccache_config("ok").replace(
            "SCCACHE_S3_SERVER_SIDE_ENCRYPTION = \"ok\"",
            "SCCACHE_S3_SERVER_SIDE_ENCRYPTION = \"a\\u0000b\"",
        ),
    )
    .expect("config");
    for format in FORMATS {
        let out = env_out(&w, &w.work, format, &[]);
        assert_eq!(out.status.code(), Some(1), "{format}\n{}", describe(&out));
        assert!(out.stdout.is_empty(), "{format}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("`SCCACHE_S3_SERVER_SIDE_ENCRYPTION`") && err.contains("NUL byte"),
            "{format}: {err}"
        );
    }
}

#[test]
fn non_utf8_paths_keep_their_bytes_where_the_format_can_carry_them() {
    if skip_unless(&[
        Need::program("sh", "dash"),
        Need::program("bash", "bash"),
        Need::program("fish", "fish"),
        Need::file(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-dotenv/bin/python"),
            "run `bash scripts/setup-tools.sh`",
        ),
    ]) {
        return;
    }
    let mut w = World::new();
    // The project file is the user's own: its remote (with a credential) applies.
    w.trust_project();
    let marker = w.root().join("pwned");
    fs::create_dir_all(&marker).expect("marker");
    // A cache dir (from the environment) and a project directory (for a GCS key file
    // relative to the config) whose names are not UTF-8 and try to break out of quotes.
    let mut raw_dir = w.root().as_os_str().as_bytes().to_vec();
    raw_dir.extend_from_slice(b"/cache\xff\xfe'`touch ");
    raw_dir.extend_from_slice(marker.as_os_str().as_bytes());
    raw_dir.extend_from_slice(b"/nu`\xe2\x80'$(touch x)");
    let cache_dir = OsStr::from_bytes(&raw_dir);
    let mut proj_name = b"proj\xc3'\"\\\n".to_vec();
    proj_name.push(0xff);
    let proj = w.root().join(OsStr::from_bytes(&proj_name));
    fs::create_dir_all(&proj).expect("proj");
    fs::write(proj.join("key.json"), "{}").expect("key");
    fs::write(
        proj.join(".toolchainkit.toml"),
        "[cache]\ntool = \"sccache\"\n\n[cache.remote]\ntype = \"gcs\"\nbucket = \"b\"\nkey_path = \"key.json\"\n",
    )
    .expect("config");
    let mut expected = Env::new();
    let mut dir = raw_dir.clone();
    dir.extend_from_slice(b"/sccache");
    expected.insert("SCCACHE_DIR".into(), dir);
    let mut key = proj.as_os_str().as_bytes().to_vec();
    key.extend_from_slice(b"/key.json");
    expected.insert("SCCACHE_GCS_KEY_PATH".into(), key);
    expected.insert("SCCACHE_GCS_BUCKET".into(), b"b".to_vec());
    check_all_formats(
        &w,
        &proj,
        &[("TOOLCHAINKIT_CACHE_DIR", cache_dir)],
        &expected,
        &[],
        &|f| !matches!(f, "sh" | "fish"),
        &marker,
        "non-UTF-8 cache dir and project path",
    );
    // The refusal says why.
    let out = env_out(&w, &proj, "json", &[("TOOLCHAINKIT_CACHE_DIR", cache_dir)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`SCCACHE_DIR`") && err.contains("not valid UTF-8"),
        "{err}"
    );
}

#[test]
fn github_parser_port_follows_the_runner() {
    // The port itself, on the runner's documented examples.
    let env = github_env_file("A=1\nB<<EOF\nx\ny\nEOF\n\nC<<E\nE\nD=a=b<<c\n").expect("parse");
    assert_eq!(env["A"], b"1");
    assert_eq!(env["B"], b"x\ny");
    assert_eq!(env["C"], b"");
    assert_eq!(env["D"], b"a=b<<c");
    assert!(github_env_file("B<<EOF\nx\n").is_err());
    assert!(github_env_file("just text\n").is_err());
}
