//! The `toolchainkit` binary: all behaviour lives in the library crate.

fn main() {
    toolchainkit::main_entry()
}
