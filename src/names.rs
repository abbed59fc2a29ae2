//! Names of programs, as facts: toolchainkit's own name, the wrappers launcher mode peels
//! off and the compiler search skips, the compiler names the cache tools understand, and
//! the compiler names a shim directory holds by default. Pure: no I/O.
//!
//! Every module that asks "what is this program?" asks here (`mode` when it classifies
//! argv, `resolve` when it skips wrappers, `doctor` when it checks the shims, `cli` when it
//! installs them), so none of them has to reach into another for a list.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// The compiler names `toolchainkit shims install` links (and `doctor` checks).
pub(crate) const DEFAULT_SHIMS: &[&str] = &["cc", "c++", "gcc", "g++", "clang", "clang++"];

/// Names of programs that wrap a compiler; launcher mode peels them off the front
/// (`toolchainkit ccache gcc -c x.c` caches once, through toolchainkit's choice).
pub(crate) const WRAPPER_NAMES: &[&str] = &["toolchainkit", "ccache", "sccache", "distcc", "icecc"];

/// True when `name` (a basename) is the toolchainkit binary itself.
pub(crate) fn is_own_name(name: &OsStr) -> bool {
    let b = name.as_bytes();
    b == b"toolchainkit" || b.starts_with(b"toolchainkit.") || b.starts_with(b"toolchainkit-")
}

/// True when the basename of `word` is one of the known wrapper programs.
pub(crate) fn is_wrapper_name(word: &OsStr) -> bool {
    let base = basename(word);
    is_own_name(base)
        || WRAPPER_NAMES
            .iter()
            .any(|w| base.as_bytes() == w.as_bytes())
}

/// The last path component of `word` (the whole word when it has no `/`).
pub(crate) fn basename(word: &OsStr) -> &OsStr {
    let b = word.as_bytes();
    match b.iter().rposition(|&c| c == b'/') {
        Some(i) => OsStr::from_bytes(&b[i + 1..]),
        None => word,
    }
}

/// The host compiler names nvcc may run by itself (`gcc`/`g++` by default, `-ccbin`'s
/// choice, `cc`/`c++`, clang): the shim directories holding any of them leave nvcc's
/// `PATH`, so its own host compiles never re-enter toolchainkit.
pub(crate) const NVCC_HOST_NAMES: &[&str] = DEFAULT_SHIMS;

/// True when `name` (a path or a basename) is CUDA's compiler driver: `nvcc`, or a
/// versioned/prefixed `nvcc` (`nvcc-13`, `x86_64-linux-nvcc`).
pub(crate) fn is_nvcc(name: &OsStr) -> bool {
    compiler_stem(name) == "nvcc"
}

/// The driver name under a cross prefix and a version suffix: `x86_64-linux-gnu-gcc-12`
/// -> `gcc`, `clang++-16` -> `clang++`.
fn compiler_stem(name: &OsStr) -> std::borrow::Cow<'_, str> {
    let base = basename(name).to_string_lossy();
    let cut = |base: &str| -> std::ops::Range<usize> {
        // Strip a version suffix: gcc-12, clang-16, g++-12, clang++-16.
        let end = match base.rfind('-') {
            Some(i)
                if base[i + 1..]
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.')
                    && i + 1 < base.len() =>
            {
                i
            }
            _ => base.len(),
        };
        let start = base[..end].rfind('-').map_or(0, |i| i + 1);
        start..end
    };
    match base {
        std::borrow::Cow::Borrowed(b) => std::borrow::Cow::Borrowed(&b[cut(b)]),
        std::borrow::Cow::Owned(b) => std::borrow::Cow::Owned(b[cut(&b)].to_string()),
    }
}

/// Is this compiler something the cache tools understand (gcc, clang and their
/// cross/versioned names)? Others run directly: sccache fails outright on `ar` or an
/// unknown driver.
pub(crate) fn is_known_compiler(name: &OsStr) -> bool {
    matches!(
        compiler_stem(name).as_ref(),
        "cc" | "c++"
            | "gcc"
            | "g++"
            | "clang"
            | "clang++"
            | "nvcc"
            | "icc"
            | "icpc"
            | "icx"
            | "icpx"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_compilers() {
        for n in [
            "cc",
            "gcc",
            "/usr/bin/g++",
            "clang++-16",
            "x86_64-linux-gnu-gcc-12",
            "c++",
            "clang",
        ] {
            assert!(is_known_compiler(OsStr::new(n)), "{n}");
        }
        for n in ["ar", "ld", "python3", "my-tool"] {
            assert!(!is_known_compiler(OsStr::new(n)), "{n}");
        }
    }

    #[test]
    fn nvcc_names() {
        for n in [
            "nvcc",
            "/usr/local/cuda/bin/nvcc",
            "nvcc-13.5",
            "x86_64-linux-nvcc",
        ] {
            assert!(is_nvcc(OsStr::new(n)), "{n}");
            assert!(is_known_compiler(OsStr::new(n)), "{n}");
        }
        for n in ["gcc", "nvc++", "nvcc.sh", "/opt/nvcc/bin/gcc", "mynvcc"] {
            assert!(!is_nvcc(OsStr::new(n)), "{n}");
        }
    }
}
