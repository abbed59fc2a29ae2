//! Opt-in diagnostics log. Never writes to stdout or stderr: configure scripts read the
//! compiler's output, so the log goes to a file (`TOOLCHAINKIT_LOG_FILE`, default
//! `toolchainkit.log` in the state directory) and only when `TOOLCHAINKIT_LOG` names a level.
//! The file must be the user's own regular file (a planted symlink is not followed).

use std::path::PathBuf;

use crate::paths;

/// The file the log is written to.
pub fn log_file() -> PathBuf {
    paths::var_nonempty("TOOLCHAINKIT_LOG_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| paths::state_dir().join("toolchainkit.log"))
}

/// Initialise logging if `TOOLCHAINKIT_LOG` is set (e.g. `debug`, `info`, `warn`).
/// Costs one environment lookup when it is not.
pub fn init() {
    let Some(level) = std::env::var_os("TOOLCHAINKIT_LOG") else {
        return;
    };
    let level = level.to_string_lossy().into_owned();
    let path = log_file();
    if paths::var_nonempty("TOOLCHAINKIT_LOG_FILE").is_none()
        && crate::private::own_dir(&paths::state_dir()).is_err()
    {
        return;
    }
    let Ok(file) = crate::private::open_or_create_own(&path, crate::private::Access::Append) else {
        return;
    };
    let pid = std::process::id();
    let _ = env_logger::Builder::new()
        .parse_filters(&level)
        .format(move |buf, record| {
            use std::io::Write;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            writeln!(
                buf,
                "{}.{:03} [{}] {} {}: {}",
                now.as_secs(),
                now.subsec_millis(),
                pid,
                record.level(),
                record.target(),
                record.args()
            )
        })
        .target(env_logger::Target::Pipe(Box::new(file)))
        .try_init();
}
