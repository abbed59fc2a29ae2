//! One list of what is a credential, used everywhere: every credential-shaped setting (each
//! `*_env` reference of every remote type, and credentials written literally in `extra`)
//! goes through every command and through real compiles with both tools, with the debug
//! log and the trace on; no secret value may appear in any output, log, stats, trace or
//! server file.

use crate::common;

use std::fs;
use std::path::Path;

use common::*;

/// A remote table, the variables it references with their secret values, and the
/// credentials written literally in it.
type Case = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    Vec<&'static str>,
);

fn remotes() -> Vec<Case> {
    vec![
        (
            "type = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:1\"\naccess_key_env = \"TK_AK\"\nsecret_key_env = \"TK_SK\"\nsession_token_env = \"TK_ST\"\nextra = { SCCACHE_S3_ACCESS_KEY = \"AKIALITERAL0000SECRET\", SCCACHE_S3_SERVER_SIDE_ENCRYPTION = \"true\" }\n",
            vec![
                ("TK_AK", "AKIAREFERENCED000000"),
                ("TK_SK", "sk-referenced-secret-value-1"),
                ("TK_ST", "st-referenced-session-token-2"),
            ],
            vec!["AKIALITERAL0000SECRET"],
        ),
        (
            "type = \"redis\"\nendpoint = \"redis://127.0.0.1:1\"\nusername = \"u\"\npassword_env = \"TK_PW\"\n",
            vec![("TK_PW", "pw-referenced-redis-secret-3")],
            vec![],
        ),
        (
            "type = \"webdav\"\nendpoint = \"http://127.0.0.1:1/dav\"\nusername = \"u\"\npassword_env = \"TK_DAVPW\"\ntoken_env = \"TK_DAVTOK\"\nextra = { bearer-token = \"literal-bearer-token-4\", SCCACHE_WEBDAV_TOKEN = \"literal-webdav-token-5\" }\n",
            vec![
                ("TK_DAVPW", "pw-referenced-dav-secret-6"),
                ("TK_DAVTOK", "tok-referenced-dav-secret-7"),
            ],
            vec!["literal-bearer-token-4", "literal-webdav-token-5"],
        ),
        (
            "type = \"azure\"\ncontainer = \"c\"\nconnection_string_env = \"TK_AZ\"\n",
            vec![(
                "TK_AZ",
                "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=azkey-referenced-8;BlobEndpoint=http://127.0.0.1:1/a;",
            )],
            vec![],
        ),
    ]
}

fn scan_tree(dir: &Path, skip: &Path, secrets: &[&str]) -> usize {
    let mut n = 0;
    let Ok(rd) = fs::read_dir(dir) else {
        return 0;
    };
    for e in rd.filter_map(Result::ok) {
        let p = e.path();
        let Ok(m) = fs::symlink_metadata(&p) else {
            continue;
        };
        if m.is_dir() {
            n += scan_tree(&p, skip, secrets);
        } else if m.is_file() && p != skip {
            n += 1;
            let bytes = fs::read(&p).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            for s in secrets {
                assert!(!text.contains(s), "{s} found in {}", p.display());
            }
        }
    }
    n
}

#[test]
fn no_credential_reaches_any_output_log_stats_or_trace() {
    if skip_unless(&[Need::tools(), Need::compilers()]) {
        return;
    }
    for (table, refs, literals) in remotes() {
        let (mut w, shims) = World::with_shims();
        // The project file is the user's own: its remote (with a credential) applies.
        w.trust_project();
        for (k, v) in &refs {
            w.env.push(((*k).to_string(), (*v).to_string()));
        }
        w.env.push(("TOOLCHAINKIT_LOG".into(), "debug".into()));
        w.write("a.c", HELLO_C);
        let mut secrets: Vec<&str> = refs.iter().map(|(_, v)| *v).collect();
        secrets.extend(literals.iter().copied());
        // The Azure connection string's key is a secret inside the secret.
        secrets.push("azkey-referenced-8");
        let mut outputs = Vec::new();
        for tool in ["sccache", "ccache"] {
            w.config(&format!(
                "[cache]\ntool = \"{tool}\"\ndir = \"cache\"\n\n[stats]\ntrace = true\n\n[cache.remote]\n{table}"
            ));
            let mut cmds: Vec<Vec<&str>> = vec![
                vec!["config"],
                vec!["config", "check"],
                vec!["config", "check", "--json"],
                vec!["doctor"],
                vec!["doctor", "--json"],
                vec!["server", "status"],
                vec!["cmake"],
                vec!["container-args"],
                vec!["which", "cc"],
            ];
            for f in ["sh", "fish", "powershell", "dotenv", "json"] {
                cmds.push(vec!["env", "--format", f]);
                cmds.push(vec!["env", "--format", f, "--tool", "sccache"]);
            }
            for args in &cmds {
                outputs.push((
                    args.join(" "),
                    w.toolchainkit().args(args).any_status().run(),
                ));
            }
            let out = w
                .test_shim(&shims, "cc")
                .args(["-c", "a.c", "-o", "a.o"])
                .run();
            outputs.push((format!("cc through {tool}"), out));
            for args in [vec!["stats"], vec!["stats", "--json"]] {
                outputs.push((
                    args.join(" "),
                    w.toolchainkit().args(&args).any_status().run(),
                ));
            }
        }
        for (what, out) in &outputs {
            for s in &secrets {
                for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                    assert!(
                        !String::from_utf8_lossy(bytes).contains(s),
                        "`{what}` printed {s} on {stream}\n{}",
                        describe(out)
                    );
                }
            }
        }
        let scanned = scan_tree(w.root(), &w.work.join(".toolchainkit.toml"), &secrets)
            + scan_tree(w.run.path(), Path::new("/"), &secrets);
        assert!(scanned > 5, "only {scanned} files scanned");
        // The scan covered what matters: the log, the stats file and the trace exist.
        let state = w.root().join("state/toolchainkit");
        assert!(state.join("toolchainkit.log").is_file());
        let stats_dir = state.join("stats");
        let names: Vec<String> = fs::read_dir(&stats_dir)
            .expect("stats dir")
            .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
            .collect();
        assert!(
            names.iter().any(|n| n.ends_with(".stats"))
                && names.iter().any(|n| n.contains("trace")),
            "{names:?}"
        );
    }
}
