#!/usr/bin/env bash
# The whole test suite: pinned tools, formatting, lints, then every test against real
# gcc/g++, ccache, sccache, CMake and servers on 127.0.0.1.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
bash scripts/setup-tools.sh
export TOOLCHAINKIT_TEST_TOOLS="$ROOT/.venv-tools/bin"
# Nothing may skip here: a test that lacks what it needs fails.
export TOOLCHAINKIT_TEST_STRICT=1
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo build --release
cargo test --release -- --test-threads="${TEST_THREADS:-2}"
