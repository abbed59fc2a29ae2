//! The integration tests: one binary, one module per area (`cargo test --test it AREA::`).
//! Each module's opening says what it covers; `common` is the shared harness and `support`
//! the real servers and network namespaces some areas start.

mod common;
#[path = "support/netns.rs"]
mod netns;
#[path = "support/servers.rs"]
mod servers;

mod ci;
mod cli_ux;
mod cmake;
mod completions;
mod conformance;
mod cuda;
mod discovery;
mod dist;
mod docs;
mod doctor;
mod env_inert;
mod escapes;
mod explain;
mod faults;
mod harness;
mod outer_wrapper;
mod remote;
mod remote_commands;
mod sccache;
mod secrets;
mod security;
mod shim;
mod stats;
mod stats_summary;
mod storage_helper;
mod tool_install;
mod trace_timeline;
mod trust;
mod verify;
