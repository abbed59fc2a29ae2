//! The `toolchainkit` binary: all behaviour lives in the library crate.
//!
//! `no_main`: the binary starts at C `main`, skipping std's runtime set-up. That set-up
//! reads `/proc/self/maps` to place a guard for the main thread's stack (a fifth of the
//! instructions of a cached compile through the shim) and ignores `SIGPIPE`, which the
//! compiler's children then had to have reset. Without it the shim and the compiler it
//! runs see `SIGPIPE` exactly as the build system left it. Arguments and the environment
//! are still read through `std::env`, which glibc targets fill before `main`.
#![no_main]

#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    toolchainkit::main_entry()
}
