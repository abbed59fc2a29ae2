//! The documentation names every configuration key and every subcommand: the lists in
//! `README.md` and `docs/configuration.md` are checked against the schema and the CLI's
//! own lists, so a key or a subcommand cannot be added without being documented.

use toolchainkit::config::schema::{Field, ROOT, Ty};

fn read(rel: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

fn keys(prefix: &str, fields: &[Field], out: &mut Vec<(String, String)>) {
    for f in fields {
        let dotted = if prefix.is_empty() {
            f.name.to_string()
        } else {
            format!("{prefix}.{}", f.name)
        };
        match f.ty {
            Ty::Table(inner) => keys(&dotted, inner, out),
            _ => out.push((dotted, f.name.to_string())),
        }
    }
}

#[test]
fn every_config_key_is_in_the_reference_and_the_readme() {
    let reference = read("docs/configuration.md");
    let readme = read("README.md");
    let mut all = Vec::new();
    keys("", ROOT, &mut all);
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
    for table in ROOT {
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
