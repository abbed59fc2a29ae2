#!/usr/bin/env bash
# The warm rebuild of examples/cuda (three .cu files and a C++ host file, CMake + Ninja
# -j2, sm_75) with a full cache: ccache as CMake's launcher directly vs toolchainkit as
# the launcher (nvcc's compiles go to ccache), and bare sccache as the launcher, which
# cannot build it with nvcc 13.5 (see docs/cuda.md): its row says so instead of a time.
# Each run is `ninja -t clean` then `ninja`: 4 hits and the link.
#
# Usage: bash benches/cuda.sh
#   RUNS=10 WARMUP=2   hyperfine runs
#   TK_BIN=path        benchmark this toolchainkit binary (default: cargo build --release)
# Needs hyperfine, cmake, ninja, gcc, the pinned ccache and sccache and nvcc
# (`bash scripts/setup-tools.sh`). Not run by CI: timings need a quiet machine.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${RUNS:-10}"
WARMUP="${WARMUP:-2}"
TOOLS="${TOOLCHAINKIT_TEST_TOOLS:-$ROOT/.venv-tools/bin}"
CUDA_BIN="${TOOLCHAINKIT_TEST_CUDA:-$ROOT/.venv-cuda/cuda/bin}"
die() { echo "cuda.sh: $*" >&2; exit 1; }
for t in hyperfine cmake ninja; do
    command -v "$t" >/dev/null || die "$t is missing (bash scripts/setup-tools.sh installs it)"
done
[ -x "$TOOLS/ccache" ] && [ -x "$TOOLS/sccache" ] || die "no ccache/sccache in $TOOLS: run bash scripts/setup-tools.sh"
[ -x "$CUDA_BIN/nvcc" ] || die "no nvcc in $CUDA_BIN: run bash scripts/setup-tools.sh"
if [ -z "${TK_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release -q)
    TK_BIN="$ROOT/target/release/toolchainkit"
fi

WORK="$(mktemp -d)"
SCCACHE_PID_DIR="$WORK/run"
cleanup() {
    SCCACHE_SERVER_UDS="$WORK/sccache.sock" "$TOOLS/sccache" --stop-server >/dev/null 2>&1 || true
    # Two clients of one `ninja -j2` can each start a server; stop every sccache server of
    # this run's socket, by its pid.
    local p exe
    exe="$(readlink -f "$TOOLS/sccache")"
    for p in /proc/[0-9]*; do
        [ "$(readlink -f "$p/exe" 2>/dev/null)" = "$exe" ] || continue
        if tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qxF "SCCACHE_SERVER_UDS=$WORK/sccache.sock"; then
            kill "${p#/proc/}" 2>/dev/null || true
        fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$SCCACHE_PID_DIR" && chmod 700 "$SCCACHE_PID_DIR"
cp -r "$ROOT/examples/cuda" "$WORK/src"
# A private world: no user configuration, caches and state under $WORK.
export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/config" XDG_STATE_HOME="$WORK/state"
export XDG_RUNTIME_DIR="$SCCACHE_PID_DIR" CCACHE_DIR="$WORK/ccache" SCCACHE_DIR="$WORK/sccache"
export SCCACHE_SERVER_UDS="$WORK/sccache.sock"
export PATH="$CUDA_BIN:$TOOLS:/usr/local/bin:/usr/bin:/bin"
mkdir -p "$HOME"
printf '[cache]\ntool = "ccache"\ndir = "%s/tk-cache"\n' "$WORK" >"$WORK/src/.toolchainkit.toml"

configure() { # build-dir launcher
    cmake -S "$WORK/src" -B "$1" -G Ninja -DCMAKE_CUDA_ARCHITECTURES=75 \
        -DCMAKE_CUDA_COMPILER="$CUDA_BIN/nvcc" \
        -DCMAKE_CUDA_COMPILER_LAUNCHER="$2" -DCMAKE_CXX_COMPILER_LAUNCHER="$2" >/dev/null
}

configure "$WORK/b-ccache" "$TOOLS/ccache"
configure "$WORK/b-tk" "$TK_BIN"
configure "$WORK/b-sccache" "$TOOLS/sccache"
# Fill the caches (cold builds).
ninja -C "$WORK/b-ccache" >/dev/null
(cd "$WORK/src" && ninja -C "$WORK/b-tk" >/dev/null)
sccache_row="builds"
if ! ninja -C "$WORK/b-sccache" >"$WORK/sccache.log" 2>&1; then
    sccache_row="fails: $(grep -m1 -E 'fatal|error' "$WORK/sccache.log" || echo 'see ninja output')"
fi

cd "$WORK/src"
hyperfine -N --runs "$RUNS" --warmup "$WARMUP" --export-json "$WORK/h.json" \
    --prepare "ninja -C $WORK/b-ccache -t clean" -n "bare ccache" "ninja -C $WORK/b-ccache" \
    --prepare "ninja -C $WORK/b-tk -t clean" -n "toolchainkit (ccache)" "ninja -C $WORK/b-tk"
# Every warm toolchainkit build was served from the cache: its own count, to check.
(cd "$WORK/src" && "$TK_BIN" stats | grep -E '^(invocations|hit rate)')
python3 - "$WORK/h.json" "$sccache_row" <<'EOF'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
base = r["bare ccache"]
print("\n| warm rebuild of examples/cuda (4 hits + link) | median | vs bare ccache |")
print("|---|---:|---:|")
for name, t in r.items():
    print(f"| {name} | {t * 1000:.0f} ms | {t / base:.2f} |")
print(f"| bare sccache | {sys.argv[2]} | |")
EOF
