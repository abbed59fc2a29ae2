//! The diagnostics log. Never writes to stdout or stderr: configure scripts read the
//! compiler's output, so the log goes to a file (`TOOLCHAINKIT_LOG_FILE`, default
//! `toolchainkit.log` in the state directory). The file must be the user's own regular
//! file (a planted symlink is not followed).
//!
//! Without `TOOLCHAINKIT_LOG`, warnings are logged all the same (why a compile fell
//! back, a remote left out, a server without its remote): the file is opened only when
//! one is written, so a healthy compile touches nothing, and it is bounded (moved to
//! `toolchainkit.log.1` past `DEFAULT_MAX_BYTES`). `TOOLCHAINKIT_LOG=debug` (or `info`,
//! ...) logs more, as before.

use std::io::Write;
use std::path::PathBuf;

use crate::paths;

/// The default log's size bound; the previous one is kept as `.1`.
pub(crate) const DEFAULT_MAX_BYTES: u64 = 1 << 20;

/// The default logger: warnings only, the file opened per record (they are rare).
struct DefaultLog;

impl log::Log for DefaultLog {
    fn enabled(&self, meta: &log::Metadata<'_>) -> bool {
        meta.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let path = log_file();
        if paths::var_nonempty("TOOLCHAINKIT_LOG_FILE").is_none()
            && crate::private::own_dir(&paths::state_dir()).is_err()
        {
            return;
        }
        if std::fs::symlink_metadata(&path)
            .is_ok_and(|m| m.is_file() && m.len() > DEFAULT_MAX_BYTES)
        {
            let mut old = path.clone().into_os_string();
            old.push(".1");
            let _ = std::fs::rename(&path, old);
        }
        let Ok(mut file) =
            crate::private::open_or_create_own(&path, crate::private::Access::Append)
        else {
            return;
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let _ = writeln!(
            file,
            "{}.{:03} [{}] {} {}: {}",
            now.as_secs(),
            now.subsec_millis(),
            std::process::id(),
            record.level(),
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {}
}

/// The file the log is written to.
pub(crate) fn log_file() -> PathBuf {
    paths::var_nonempty("TOOLCHAINKIT_LOG_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| paths::state_dir().join("toolchainkit.log"))
}

/// Initialise logging: at `TOOLCHAINKIT_LOG`'s level (e.g. `debug`, `info`, `warn`)
/// when it is set, else the default warnings-only log (no I/O until a warning).
pub(crate) fn init() {
    let Some(level) = std::env::var_os("TOOLCHAINKIT_LOG") else {
        static DEFAULT: DefaultLog = DefaultLog;
        if log::set_logger(&DEFAULT).is_ok() {
            log::set_max_level(log::LevelFilter::Warn);
        }
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
