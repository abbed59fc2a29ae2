#!/usr/bin/env bash
# Quick start: build toolchainkit, get the pinned cache tools, and build examples/hello
# twice through the shim (masquerade mode) so the second build is served from the cache.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
bash scripts/setup-tools.sh --demo
cargo build --release --quiet
export PATH="$ROOT/shims:$ROOT/.venv-tools/bin:$PATH"
cd examples/hello
toolchainkit() { "$ROOT/target/release/toolchainkit" "$@"; }
toolchainkit stats --zero >/dev/null
for build in cold warm; do
    make -s clean
    start=$(date +%s%N)
    make -s CC=cc CXX=c++
    end=$(date +%s%N)
    echo "== $build build: $(( (end - start) / 1000000 )) ms, ./hello says: $(./hello)"
done
toolchainkit which cc
toolchainkit stats
toolchainkit server stop >/dev/null 2>&1 || true
