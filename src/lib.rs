//! toolchainkit: a compiler-wrapper shim that forwards C/C++ compiles to sccache or ccache.
//!
//! `main_entry` decides between the three modes (see `mode`): masquerade and launcher
//! run the compile hot path in `invoke`; management runs the CLI in `cli`, which is the
//! only place that parses arguments with clap.

pub mod args;
pub mod backend;
pub(crate) mod cli;
pub mod config;
pub(crate) mod doctor;
pub(crate) mod escape;
pub mod explain;
pub(crate) mod invoke;
pub(crate) mod logging;
pub(crate) mod managed;
pub mod mode;
pub(crate) mod names;
pub mod outcome;
pub mod outer;
pub(crate) mod outfile;
pub(crate) mod paths;
pub(crate) mod private;
pub(crate) mod process;
pub mod resolve;
pub(crate) mod secrets;
pub mod stats;
pub(crate) mod userdb;
pub(crate) mod verify;

use std::ffi::OsString;

/// Exit code for invalid user configuration (sysexits' `EX_CONFIG`).
pub const EXIT_CONFIG: i32 = 78;
/// Exit code when no real compiler can be found, or a wrapper loop is detected.
pub const EXIT_NOT_FOUND: i32 = 127;

/// Entry point shared by the binary and the tests: classify argv and run that mode.
pub fn main_entry() -> ! {
    process::occupy_closed_std_fds();
    let argv: Vec<OsString> = std::env::args_os().collect();
    match mode::classify(argv) {
        mode::Mode::Compile(mut call) => {
            if call.how == mode::Invoked::Implicit {
                call.compiler = mode::implicit_compiler(
                    &call.args,
                    std::env::var_os("CC").as_deref(),
                    std::env::var_os("CXX").as_deref(),
                );
            }
            invoke::run(call)
        }
        mode::Mode::Management(args) => std::process::exit(cli::run(args)),
    }
}
