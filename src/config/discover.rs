//! Finding the project file: `$TOOLCHAINKIT_CONFIG`, else the nearest `.toolchainkit.toml`
//! walking up from the working directory, else from the directory of the compile's output
//! file, else from the directory of its source file. The last two find the project when a
//! build runs its compiles elsewhere: a Cargo build script compiles in
//! `~/.cargo/registry/src/...` with `-o $OUT_DIR/...` under the workspace's `target/`; an
//! out-of-tree autotools build compiles `../src/x.c` in a build directory outside the
//! checkout. One `stat` per directory level, and only when the earlier places had none.

use std::path::{Path, PathBuf};

use crate::paths;

/// The project configuration file name looked for in each directory.
pub const PROJECT_FILE: &str = ".toolchainkit.toml";

/// The variable that names the project file explicitly.
pub(crate) const CONFIG_VAR: &str = "TOOLCHAINKIT_CONFIG";

/// Where to look for the project file.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub cwd: &'a Path,
    /// The directory the compile writes its output to (`-o DIR/x.o`), if known.
    pub output_dir: Option<&'a Path>,
    /// The directory of the compile's source file (`../src/x.c`), if known.
    pub source_dir: Option<&'a Path>,
}

impl<'a> Place<'a> {
    /// Just the working directory (management commands).
    pub fn cwd(cwd: &'a Path) -> Place<'a> {
        Place {
            cwd,
            output_dir: None,
            source_dir: None,
        }
    }
}

/// The nearest project file at or above `start`.
pub(crate) fn nearest(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    let mut candidate = PathBuf::with_capacity(start.as_os_str().len() + PROJECT_FILE.len() + 2);
    while let Some(d) = dir {
        candidate.clear();
        candidate.push(d);
        candidate.push(PROJECT_FILE);
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}

/// Set (to `1`) by `toolchainkit run` beside the `TOOLCHAINKIT_CONFIG` it pins when that
/// file was found, not named by the user: it is then judged like any found project file
/// (owner and mode, trust), not as the user's explicit choice.
pub(crate) const FOUND_VAR: &str = "TOOLCHAINKIT_CONFIG_FOUND";

/// The project file for `place`, and whether it was named explicitly (by the user, not
/// pinned by `toolchainkit run` after finding it).
pub fn project_file(place: Place<'_>) -> Option<(PathBuf, bool)> {
    if let Some(p) = paths::var_nonempty(CONFIG_VAR) {
        let p = PathBuf::from(p);
        return Some((
            if p.is_absolute() {
                p
            } else {
                place.cwd.join(p)
            },
            paths::var_nonempty(FOUND_VAR).is_none(),
        ));
    }
    if let Some(found) = nearest(place.cwd) {
        return Some((found, false));
    }
    [place.output_dir, place.source_dir]
        .into_iter()
        .flatten()
        .find_map(|d| {
            let d = if d.is_absolute() {
                d.to_path_buf()
            } else {
                place.cwd.join(d)
            };
            // `../src` walked up lexically would visit the build directory again.
            nearest(&std::fs::canonicalize(&d).unwrap_or(d))
        })
        .map(|f| (f, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_directory_first_then_the_output_directory() {
        let t = tempfile::tempdir().expect("tempdir");
        let proj = t.path().join("proj");
        let reg = t.path().join("registry/src/crate");
        let out = proj.join("target/debug/build/x/out");
        std::fs::create_dir_all(&reg).expect("mkdir");
        std::fs::create_dir_all(&out).expect("mkdir");
        std::fs::write(proj.join(PROJECT_FILE), "").expect("write");
        let found = project_file(Place {
            cwd: &reg,
            output_dir: Some(&out),
            source_dir: None,
        });
        assert_eq!(found, Some((proj.join(PROJECT_FILE), false)));
        std::fs::create_dir_all(proj.join("src")).expect("mkdir");
        let proj = std::fs::canonicalize(&proj).expect("canonical");
        let build = t.path().join("build-out");
        std::fs::create_dir_all(&build).expect("mkdir");
        let found = project_file(Place {
            cwd: &build,
            output_dir: None,
            source_dir: Some(Path::new("../proj/src")),
        });
        assert_eq!(found, Some((proj.join(PROJECT_FILE), false)));
        assert_eq!(project_file(Place::cwd(&reg)), None);
        let inner = reg.join(PROJECT_FILE);
        std::fs::write(&inner, "").expect("write");
        let found = project_file(Place {
            cwd: &reg,
            output_dir: Some(&out),
            source_dir: None,
        });
        assert_eq!(found, Some((inner, false)), "the working directory wins");
    }
}
