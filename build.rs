//! Links the `toolchainkit` binary statically on Linux with glibc, when the C toolchain
//! has the static archives for it.
//!
//! The shim starts on every compile, and a dynamically linked start spends about half of
//! its instructions in `ld.so` (loading and relocating `libc.so` and `libgcc_s.so`). A
//! static-pie binary starts without it: about 0.25 ms less per compile here (see the
//! README's Performance section).
//!
//! `-C target-feature=+crt-static` does this properly but only with an explicit
//! `--target` (otherwise it also applies to proc-macro crates, which cannot be static),
//! so a plain `cargo build` / `cargo install --path .` could not use it. Instead, for the
//! binary only, this script asks the C driver for a static-pie link and gives the linker
//! a search directory in which `libc.so`, `libgcc_s.so`, ... are linker scripts naming
//! the static archives. The libraries and tests keep the normal dynamic link.
//!
//! `TOOLCHAINKIT_LINK=dynamic` turns this off; so does a C driver without `rcrt1.o`
//! (the static-pie start file) or any missing archive: then the binary is linked
//! dynamically, as usual, with a `cargo:warning` saying why.
//!
//! The driver asked is the one rustc links with: `RUSTC_LINKER` when a linker is
//! configured, else `CC`, else `cc`. Each of those variables is a rerun trigger.

use std::env;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// The libraries Rust's standard library links on linux-gnu, and the archives standing
/// in for each. glibc 2.34+ keeps empty `libpthread.a`, `libdl.a`, ... for compatibility.
const LIBS: &[(&str, &[&str])] = &[
    ("gcc_s", &["libgcc_eh.a", "libgcc.a"]),
    ("util", &["libutil.a"]),
    ("rt", &["librt.a"]),
    ("pthread", &["libpthread.a"]),
    ("m", &["libm.a"]),
    ("dl", &["libdl.a"]),
    ("c", &["libc.a", "libgcc_eh.a", "libgcc.a"]),
];

fn main() {
    for v in ["TOOLCHAINKIT_LINK", "CC", "RUSTC_LINKER"] {
        println!("cargo:rerun-if-env-changed={v}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    let var = |k: &str| env::var(k).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("CARGO_CFG_TARGET_FEATURE")
            .split(',')
            .any(|f| f == "crt-static")
        || var("TOOLCHAINKIT_LINK") == "dynamic"
    {
        return;
    }
    let Some(out) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    let cc = env::var("RUSTC_LINKER")
        .or_else(|_| env::var("CC"))
        .ok()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "cc".into());
    let find = |name: &str| -> Option<PathBuf> {
        let out = Command::new(&cc)
            .arg(format!("-print-file-name={name}"))
            .output()
            .ok()?;
        let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
        // The driver echoes the bare name back when it does not find the file.
        (path.is_absolute() && path.is_file()).then_some(path)
    };
    // `-static-pie` starts from rcrt1.o; a driver without it (an old glibc, a C library
    // packaged without it) fails the link instead of falling back.
    if find("rcrt1.o").is_none() {
        println!(
            "cargo:warning=toolchainkit: `{cc}` finds no rcrt1.o (static-pie start file), \
             linking dynamically (a static binary starts faster; install glibc's static \
             development files, e.g. libc6-dev)"
        );
        return;
    }
    let dir = out.join("static-link");
    if fs::create_dir_all(&dir).is_err() {
        return;
    }
    for (lib, archives) in LIBS {
        let mut paths = Vec::new();
        for a in *archives {
            match find(a) {
                Some(p) => paths.push(format!("\"{}\"", p.display())),
                None => {
                    println!(
                        "cargo:warning=toolchainkit: {a} not found, linking dynamically \
                         (a static binary starts faster; install the C library's static \
                         archives, e.g. libc6-dev)"
                    );
                    return;
                }
            }
        }
        let script = format!("GROUP ( {} )\n", paths.join(" "));
        if fs::write(dir.join(format!("lib{lib}.so")), script).is_err() {
            return;
        }
    }
    println!("cargo:rustc-link-arg-bins=-static-pie");
    println!("cargo:rustc-link-arg-bins=-L{}", dir.display());
}
