//! The documentation names every configuration key and every subcommand: the lists in
//! `README.md` and `docs/configuration.md` are checked against the schema and the CLI's
//! own lists, so a key or a subcommand cannot be added without being documented.

use crate::common::Test;
use toolchainkit::config::keys::{self, KEYS, Ty};

fn read(rel: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// Every declared key that is not a table: (dotted, its own name).
fn keys(out: &mut Vec<(String, String)>) {
    for k in KEYS.iter().filter(|k| !matches!(k.ty, Ty::Table)) {
        out.push((k.name.to_string(), k.short().to_string()));
    }
}

#[test]
fn every_config_key_is_in_the_reference_and_the_readme() {
    let reference = read("docs/configuration.md");
    let readme = read("README.md");
    let mut all = Vec::new();
    keys(&mut all);
    assert!(all.len() > 30, "the schema walk found {} keys", all.len());
    let mut missing = Vec::new();
    for (dotted, name) in &all {
        if !reference.contains(&format!("`{dotted}`")) {
            missing.push(format!("docs/configuration.md lacks `{dotted}`"));
        }
        if !readme.contains(name.as_str()) {
            missing.push(format!("README.md lacks `{name}` ({dotted})"));
        }
    }
    for table in keys::children("") {
        if !readme.contains(&format!("[{}", table.name)) {
            missing.push(format!("README.md lacks the table [{}]", table.name));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn every_subcommand_is_in_the_readme() {
    let readme = read("README.md");
    let commands = read("docs/commands.md");
    let missing: Vec<&str> = toolchainkit::mode::SUBCOMMANDS
        .iter()
        .copied()
        .filter(|s| !readme.contains(&format!("`toolchainkit {s}")))
        .collect();
    assert!(missing.is_empty(), "README.md lacks: {missing:?}");
    assert!(
        commands.contains("toolchainkit"),
        "docs/commands.md is empty"
    );
}

#[test]
fn every_environment_variable_is_in_the_reference() {
    let reference = read("docs/configuration.md");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut vars = std::collections::BTreeSet::new();
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read src") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).expect("read source");
                for piece in text.split("\"TOOLCHAINKIT_").skip(1) {
                    let name: String = piece
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                        .collect();
                    if piece[name.len()..].starts_with('"') {
                        vars.insert(format!("TOOLCHAINKIT_{name}"));
                    }
                }
            }
        }
    }
    // Internal: the re-entry guard the shim sets for its own children.
    vars.remove("TOOLCHAINKIT_GUARD");
    assert!(vars.len() > 15, "found only {vars:?}");
    let missing: Vec<&String> = vars
        .iter()
        .filter(|v| !reference.contains(&format!("`{v}")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md lacks {missing:?}"
    );
}

/// The manual page's EXIT STATUS, ENVIRONMENT and FILES sections (issue 26.3) say what
/// the docs' tables say: every exit code of docs/commands.md, every `TOOLCHAINKIT_*`
/// variable of docs/configuration.md, and the files the README names.
#[test]
fn the_manual_page_has_the_exit_codes_variables_and_files_of_the_docs() {
    let cwd = std::env::current_dir().expect("cwd");
    let page = Test::new(
        std::process::Command::new(env!("CARGO_BIN_EXE_toolchainkit")),
        &cwd,
    )
    .arg("man")
    .stdout_text()
    .replace("\\-", "-");
    let section = |title: &str| -> String {
        let start = page
            .find(&format!(".SH \"{title}\""))
            .unwrap_or_else(|| panic!("no {title} section:\n{page}"));
        let rest = &page[start + 4..];
        rest[..rest.find("\n.SH ").unwrap_or(rest.len())].to_string()
    };
    let terms = |sec: &str| -> Vec<String> {
        sec.split(".TP\n\\fB")
            .skip(1)
            .filter_map(|t| t.split("\\fR").next())
            .map(|t| t.trim_start_matches("\\&").to_string())
            .collect()
    };
    let commands = read("docs/commands.md");
    let table = commands
        .split("Exit codes, the same for every command")
        .nth(1)
        .expect("docs/commands.md has the exit code table");
    let doc_codes: Vec<String> = table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.split('|').nth(1).map(|c| c.trim().to_string()))
        .filter(|c| c.parse::<u32>().is_ok())
        .collect();
    assert!(doc_codes.len() >= 5, "{doc_codes:?}");
    assert_eq!(terms(&section("EXIT STATUS")), doc_codes);
    let reference = read("docs/configuration.md");
    let env_table = reference
        .split("## Environment variables")
        .nth(1)
        .expect("the variables table");
    let mut doc_vars: Vec<String> = env_table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .flat_map(|l| {
            let cell = l.split('|').nth(1).unwrap_or("").to_string();
            cell.split('`')
                .filter(|w| w.starts_with("TOOLCHAINKIT_"))
                .map(|w| w.split('=').next().unwrap_or(w).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    doc_vars.sort();
    let mut man_vars: Vec<String> = terms(&section("ENVIRONMENT"))
        .into_iter()
        .filter(|t| t.starts_with("TOOLCHAINKIT_"))
        .collect();
    man_vars.sort();
    assert_eq!(
        man_vars, doc_vars,
        "man page ENVIRONMENT vs docs/configuration.md"
    );
    let files = terms(&section("FILES"));
    for f in [
        ".toolchainkit.toml",
        "$XDG_CONFIG_HOME/toolchainkit/config.toml",
    ] {
        assert!(files.iter().any(|t| t == f), "FILES lacks {f}: {files:?}");
    }
}

/// Every check `doctor` can print is in the troubleshooting table (or, for `dist.*`, in
/// docs/distributed.md): the names are read from the source, where each is a literal.
#[test]
fn every_doctor_check_is_in_the_troubleshooting_table() {
    let docs = read("docs/troubleshooting.md") + &read("docs/distributed.md");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/doctor");
    let mut names = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(&dir).expect("src/doctor") {
        let text = std::fs::read_to_string(e.expect("entry").path()).expect("source");
        // Unit tests use made-up names.
        let text = text.split("#[cfg(test)]").next().unwrap_or("");
        for ctor in [
            "Check::ok(",
            "Check::warn(",
            "Check::problem(",
            "Check::new(",
        ] {
            for piece in text.split(ctor).skip(1) {
                if let Some(lit) = piece.trim_start().strip_prefix('"') {
                    names.insert(lit.split('"').next().unwrap_or("").to_string());
                }
            }
        }
        for piece in text.split("(\"dirs.").skip(1) {
            names.insert(format!("dirs.{}", piece.split('"').next().unwrap_or("")));
        }
    }
    assert!(names.len() > 15, "{names:?}");
    assert!(names.contains("stats.outside") && names.contains("dirs.state"));
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !docs.contains(&format!("`{n}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/troubleshooting.md lacks {missing:?}"
    );
}

/// Every key `stats --json` prints in a project (and the optional ones it adds) is in
/// the JSON table of docs/statistics.md.
#[test]
fn every_stats_json_key_is_in_the_statistics_reference() {
    let docs = read("docs/statistics.md");
    let tmp = tempfile::tempdir().expect("tempdir");
    let proj = tmp.path().join("proj");
    std::fs::create_dir_all(&proj).expect("mkdir");
    std::fs::write(
        proj.join(".toolchainkit.toml"),
        "[cache]\ntool = \"none\"\n",
    )
    .expect("write");
    let r = tmp.path();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_toolchainkit"));
    cmd.env_clear();
    let v = Test::new(cmd, &proj)
        .args(["stats", "--json"])
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", r.join("home"))
        .env("XDG_CONFIG_HOME", r.join("config"))
        .env("XDG_STATE_HOME", r.join("state"))
        .env("XDG_DATA_HOME", r.join("data"))
        .env("XDG_RUNTIME_DIR", r.join("run"))
        .env("TMPDIR", r)
        .current_dir(&proj)
        .json();
    let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    assert!(keys.iter().any(|k| k == "outside_project"), "{keys:?}");
    let src = read("src/cli/stats.rs");
    for piece in src.split("v[\"").skip(1) {
        keys.push(piece.split('"').next().unwrap_or("").to_string());
    }
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| !docs.contains(&format!("`{k}`")))
        .collect();
    assert!(missing.is_empty(), "docs/statistics.md lacks {missing:?}");
}
