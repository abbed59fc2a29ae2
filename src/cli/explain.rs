//! `toolchainkit explain [OUTPUT...] [--last-build] [--since-mark] [--json]`: the cause of
//! each miss and the difference, from the records kept with the cache (see `explain`).
//!
//! Exit status: 0, or 1 when a named OUTPUT has no record (it was a hit, or it was not
//! compiled through toolchainkit into this cache).

use std::path::PathBuf;

use crate::explain::report::{self, Pick};
use crate::stats::{self, mark};

/// `_last_build`: `--last-build` is also what no OUTPUT and no flag mean (clap keeps the
/// three exclusive), so it changes nothing here.
pub fn run(
    outputs: Vec<PathBuf>,
    _last_build: bool,
    since_mark: bool,
    json: bool,
) -> anyhow::Result<i32> {
    let (cwd, cfg) = super::load_config()?;
    let how = if !outputs.is_empty() {
        Pick::Outputs(outputs)
    } else if since_mark {
        let path = stats::stats_path(&cfg);
        match mark::load_mark(&path) {
            Some(m) => Pick::Since(m.marked_at_us),
            None => {
                eprintln!(
                    "toolchainkit: note: no mark set (`toolchainkit stats --mark`); showing every recorded miss"
                );
                Pick::Since(0)
            }
        }
    } else {
        Pick::LastBuild
    };
    let (records, missing) = report::pick(&cfg, &cwd, &how);
    if json {
        let v: Vec<serde_json::Value> = records.iter().map(|r| report::to_json(&cfg, r)).collect();
        println!("{}", serde_json::Value::Array(v));
    } else {
        if records.is_empty() && missing.is_empty() {
            println!("no miss recorded (hits are not recorded; the records live with the cache)");
        }
        for r in &records {
            println!("{}", report::to_text(&cfg, r));
        }
        if let Some(words) = report::causes_words(&count(&records)) {
            println!(
                "{} miss(es): {words}",
                records.iter().filter(|r| r.stored).count()
            );
        }
    }
    for m in &missing {
        eprintln!(
            "toolchainkit: {}: no miss recorded (a hit, or not compiled through toolchainkit into this cache)",
            m.display()
        );
    }
    Ok(if missing.is_empty() { 0 } else { 1 })
}

fn count(records: &[crate::explain::record::Record]) -> std::collections::BTreeMap<String, u64> {
    let mut m = std::collections::BTreeMap::new();
    for r in records.iter().filter(|r| r.stored) {
        *m.entry(r.cause.clone()).or_insert(0) += 1;
    }
    m
}
