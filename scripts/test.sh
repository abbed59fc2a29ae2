#!/usr/bin/env bash
# The whole test suite: pinned tools, formatting, lints, then every test against real
# gcc/g++, ccache, sccache, CMake and servers on 127.0.0.1; then a check that nothing the
# tests started (servers, sccache servers, daemons) is still running.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
bash scripts/setup-tools.sh
export TOOLCHAINKIT_TEST_TOOLS="$ROOT/.venv-tools/bin"
# Nothing may skip here: a test that lacks what it needs fails.
export TOOLCHAINKIT_TEST_STRICT=1
# Every process the tests start inherits this mark (the harness's environment scrub keeps
# it, and so does the environment the shim gives a sccache server).
export TK_TEST_RUN="$$-$(date +%s%N)"
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo build --release
# The tests run against the release profile's optimisation without its whole-program LTO
# and single codegen unit: the one integration test binary then builds in minutes, not
# in a quarter of an hour on two cores. The binary shipped is the one built just above.
CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo test --release -- --test-threads="${TEST_THREADS:-2}"

# No server or daemon may outlive the suite. Processes still marked with this run are
# leftovers; a stopped sccache server may take a moment to exit, so look again for up to
# 10 s before failing.
run="$TK_TEST_RUN"
export -n TK_TEST_RUN
leftovers() {
    local p
    for p in /proc/[0-9]*; do
        if { tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -qx "TK_TEST_RUN=$run"; then
            echo "${p#/proc/}"
        fi
    done
}
for _ in $(seq 50); do
    left="$(leftovers)"
    [ -z "$left" ] && break
    sleep 0.2
done
if [ -n "$left" ]; then
    echo "test.sh: processes started by the tests are still running:" >&2
    # shellcheck disable=SC2086
    ps -o pid,ppid,pgid,etime,args -p "$(echo $left | tr ' ' ',')" >&2 || true
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
    exit 1
fi
echo "test.sh: no test server or daemon is left running"
